/* eportctl map --explain FILE: how each record of a file was made, for a
 * mapping author looking for why a field is missing or wrong
 * (docs/mapping-tutorial.md). Per message: the table chosen, then each
 * value the record got with the rule (its line in the table), the source
 * path and position and the transforms; then every value of the message
 * no rule copied into the record ("not mapped"), which is where a missing
 * field usually hides. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_map_int.h"
#include "map.h"
#include "model_json.h"

#define CMX_SEEN_MAX 65536   /* values remembered as used, per message */

typedef struct cmx {
    const tnode *seen[CMX_SEEN_MAX];
    size_t nseen;
    const char *file;
    const char *format; /* the codec's name: how a position is named */
    const tnode *root;  /* the message's, where a node's path starts */
    int flat;
} cmx;

static int cmx__used(const cmx *x, const tnode *n)
{
    for (size_t i = 0; i < x->nseen; i++)
        if (x->seen[i] == n)
            return 1;
    return 0;
}

/* The path of want below t as the mapping language writes it from the
 * top ("/Head/NoticeNo", "/Container/Tare/@unit"), into out; 0 when want
 * is not below t. */
static int cmx__path(const tnode *t, const tnode *want, char *out, size_t n,
                     size_t len, int depth)
{
    for (const tnode *k = t->kids; k && depth < 64; k = k->next) {
        int w = snprintf(out + len, n - len, "/%s", k->name);
        if (w < 0 || len + (size_t)w >= n)
            return 0;
        if (k == want || cmx__path(k, want, out, n, len + (size_t)w,
                                   depth + 1))
            return 1;
        out[len] = '\0';
    }
    return 0;
}

/* "segment 3 (BGM) element 2 component 1 at FILE:4", "segment 6 (CNI)
 * at FILE:8", "element /Head/NoticeNo at FILE:6:5", "attribute
 * /Container/Tare/@unit at ...", "column 'voyage' at FILE:2:1" (a CSV
 * cell, in the row of that line), "member /from/locode at ...". */
static void cmx__where(const cmx *x, const tnode *at, const tnode *leaf,
                       char *out, size_t n)
{
    if (!at) {
        snprintf(out, n, "a constant");
        return;
    }
    if (!x->flat) {
        char path[512] = "";
        const char *what = at->flags & TN_ATTR ? "attribute"
                           : !strcmp(x->format, "json") ? "member"
                           : !strcmp(x->format, "xml") ? "element" : "field";
        if (!strcmp(x->format, "csv"))
            snprintf(out, n, "column '%s' at %s:%u:%u", at->name, x->file,
                     at->line, at->col);
        else if (x->root && cmx__path(x->root, at, path, sizeof path, 0, 0))
            snprintf(out, n, "%s %s at %s:%u:%u", what, path, x->file,
                     at->line, at->col);
        else
            snprintf(out, n, "%s '%s' at %s:%u:%u", what, at->name, x->file,
                     at->line, at->col);
        return;
    }
    uint32_t e = 1;
    for (const tnode *el = leaf && leaf != at ? at->kids : NULL; el;
         el = el->next, e++) {
        uint32_t c = 1;
        if (el == leaf) {
            snprintf(out, n, "segment %u (%s) element %u at %s:%u", at->seq,
                     at->name, e, x->file, at->line);
            return;
        }
        for (const tnode *cp = el->kids; cp; cp = cp->next, c++)
            if (cp == leaf) {
                snprintf(out, n, "segment %u (%s) element %u component %u "
                         "at %s:%u", at->seq, at->name, e, c, x->file,
                         at->line);
                return;
            }
    }
    snprintf(out, n, "segment %u (%s) at %s:%u", at->seq, at->name, x->file,
             at->line);
}

/* How many bytes of v to show: at most max, cut between UTF-8
 * characters. */
static int cmx__cut(const char *v, size_t len, size_t max)
{
    size_t cut = len > max ? max : len;
    while (cut < len && cut && ((unsigned char)v[cut] & 0xC0) == 0x80)
        cut--;
    return (int)cut;
}

static void cmx__hit(void *ctx, const map_trace_hit *h)
{
    cmx *x = ctx;
    char where[256];
    if (h->leaf && x->nseen < CMX_SEEN_MAX)
        x->seen[x->nseen++] = h->leaf;
    if (h->node && x->nseen < CMX_SEEN_MAX)
        x->seen[x->nseen++] = h->node;
    cmx__where(x, h->node, h->leaf, where, sizeof where);
    printf("  %s = \"%s\"\n      rule line %u%s%s, %s%s%s\n", h->to,
           h->value ? h->value : "", h->rule_line, h->from ? " from " : "",
           h->from ? h->from : "", where, *h->xform ? ", " : "", h->xform);
}

/* EDIFACT: a segment's qualifier (element 1 component 1) is what a rule
 * path's +Q reads, so it counts as used when the segment is. */
static int cmx__qualifier(const cmx *x, const tnode *seg, const tnode *k)
{
    return seg && seg->kids && k == seg->kids->kids && cmx__used(x, seg);
}

/* Every value below t no rule took (an element taken whole, by a join,
 * takes its components with it). */
static void cmx__unmapped_node(cmx *x, const tnode *t, const tnode *seg)
{
    char where[256];
    for (const tnode *k = t->kids; k; k = k->next) {
        int used = cmx__used(x, k);
        if (k->value && k->vlen && !used && !cmx__qualifier(x, seg, k)) {
            cmx__where(x, seg ? seg : k, seg ? k : NULL, where, sizeof where);
            int cut = cmx__cut(k->value, k->vlen, 60);
            printf("  not mapped: %s: \"%.*s%s\"\n", where, cut, k->value,
                   (uint32_t)cut < k->vlen ? "..." : "");
        }
        if (!used || !seg)
            cmx__unmapped_node(x, k, seg ? seg : x->flat ? k : NULL);
    }
}

static int cmx__record(void *ctx, const codec_msg *m, model_record *r)
{
    (void)ctx, (void)m, (void)r;
    return 0;
}

/* One message: its table, the values set, the values left. */
static int cmx__message(cmx *x, const map_set *s, const map_def *forced,
                        codec_batch *b, codec_msg *m, arena_t *a)
{
    err_t e;
    const map_def *d = forced ? forced : map_set_select(s, m, x->file, &e);
    printf("message %u (%s) at %s:%u: ", m->index + 1,
           m->meta.message_type ? m->meta.message_type : "?", x->file,
           m->line);
    if (!m->root || !d) {
        printf("%s\n", !m->root ? "could not be parsed" : e.msg);
        return CTL_DATAERR;
    }
    printf("table %s\n", map_def_name(d));
    x->nseen = 0;
    x->root = m->root;
    int rc = map_apply_traced(d, b, m, a, cmx__record, x, cmx__hit, x);
    for (const codec_diag *g = m->diags; g; g = g->next)
        printf("  problem: %s:%u:%u: %s\n", x->file, g->line, g->col, g->msg);
    cmx__unmapped_node(x, m->root, NULL);
    return rc ? CTL_DATAERR : CTL_OK;
}

int cm_explain(const char *file, const map_set *s, const map_def *forced,
               const buf_t *in)
{
    static cmx x; /* the seen set is large; one explain at a time */
    const map_def *d = forced ? forced : map_set_by_filename(s, file);
    const codec_ops *ops = d ? codec_find(map_def_format(d))
                             : codec_sniff(in->p ? in->p : "", in->len);
    if (!ops || !ops->parse) {
        fprintf(stderr, "%s: error: cannot tell the format of this input "
                "(name a mapping with --map)\n", file);
        return CTL_DATAERR;
    }
    arena_t a;
    arena_init(&a, (size_t)1 << 30);
    codec_batch b = {0};
    codec_opts none = {0};
    err_t e;
    int rc = ops->parse(in->p ? in->p : "", in->len,
                        d ? map_def_codec_opts(d) : &none, &a, &b, &e);
    x.file = file, x.flat = !strcmp(ops->name, "edifact");
    x.format = ops->name;
    int status = rc ? CTL_DATAERR : CTL_OK;
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    for (codec_msg *m = rc ? NULL : b.msgs; m; m = m->next)
        if (cmx__message(&x, s, forced, &b, m, &a) != CTL_OK)
            status = CTL_DATAERR;
    arena_free(&a);
    return status;
}
