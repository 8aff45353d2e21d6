/* eportctl new-mapping --from SAMPLE: a starting mapping table for a
 * format nobody has mapped yet (docs/mapping-tutorial.md). The sample is
 * parsed with the codec its content names; the table gets its header
 * (name, format, a `match` from the message's envelope or root) and, as
 * comments under `fields:`, one line per value the first message holds,
 * its path in the mapping language and the value itself, for the author
 * to turn into rules. Once its kind is chosen (--kind, or the TODO
 * replaced) the table loads (`eportctl lint`); it maps nothing until its
 * rules are filled in. */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "ctl.h"

#define NM_USAGE "eportctl new-mapping --from SAMPLE [--name NAME] " \
    "[--kind KIND]"
#define NM_LINES_MAX 2000   /* value lines written; the rest counted */
#define NM_DEPTH_MAX 32

typedef struct nm {
    FILE *out;
    int flat;               /* edifact: SEG.E.C paths */
    unsigned lines, skipped;
} nm;

/* A value as a short YAML comment: one line, at most 60 bytes, cut
 * between characters (a UTF-8 sequence cut in two makes the whole file
 * unreadable to the YAML parser, comments included). */
static void nm__value(FILE *f, const char *v)
{
    size_t len = strlen(v), cut = len > 60 ? 60 : len;
    while (cut < len && cut && ((unsigned char)v[cut] & 0xC0) == 0x80)
        cut--;
    fputs("  # \"", f);
    for (size_t i = 0; i < cut; i++)
        fputc(v[i] == '\n' || v[i] == '\r' ? ' ' : v[i], f);
    fputs(cut < len ? "...\"\n" : "\"\n", f);
}

/* A path as a YAML scalar: plain when YAML reads it back as written,
 * else double-quoted (a root attribute "@version", a JSON key with
 * ": " or "#" in it). */
static void nm__path(FILE *f, const char *p)
{
    int plain = *p && *p != '-';
    for (const char *c = p; *c && plain; c++)
        plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                (*c >= '0' && *c <= '9') || (unsigned char)*c >= 0x80 ||
                strchr("_./+-", *c) || (*c == '@' && c != p);
    if (plain) {
        fputs(p, f);
        return;
    }
    fputc('"', f);
    for (const char *c = p; *c; c++) {
        if (*c == '"' || *c == '\\')
            fputc('\\', f);
        if ((unsigned char)*c < 0x20)
            fprintf(f, "\\x%02x", (unsigned char)*c);
        else
            fputc(*c, f);
    }
    fputc('"', f);
}

/* One commented rule. Its target is a quoted "?" so that a rule
 * uncommented without a target is reported by `eportctl lint` as the
 * rule it is ("'?' is not a canonical field"), not as a YAML syntax
 * error that hides every later problem. */
static void nm__line(nm *n, const char *path, const char *value)
{
    if (n->lines++ >= NM_LINES_MAX) {
        n->skipped++;
        return;
    }
    fputs("  # - to: \"?\"\n  #   from: ", n->out);
    nm__path(n->out, path);
    nm__value(n->out, value);
}

/* EDIFACT: each non-empty component of a segment, qualified by element
 * 1 component 1 when that looks like a code (DTM+137.1.2). */
static void nm__segment(nm *n, const tnode *seg)
{
    const tnode *q = tree_kid(seg, 0);
    const tnode *q1 = q ? tree_kid(q, 0) : NULL;
    int qual = q1 && q1->value && q1->vlen && q1->vlen <= 3 &&
               strspn(q1->value, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") ==
                   q1->vlen && (seg->nkids > 1 || q->nkids > 1);
    char path[160];
    for (uint32_t e = 0; e < seg->nkids; e++) {
        const tnode *el = tree_kid(seg, e);
        for (uint32_t c = 0; el && c < el->nkids; c++) {
            const tnode *cp = tree_kid(el, c);
            if (!cp->value || !cp->vlen || (qual && e == 0 && c == 0))
                continue;
            snprintf(path, sizeof path, "%s%s%s.%u.%u", seg->name,
                     qual ? "+" : "", qual ? q1->value : "", e + 1, c + 1);
            nm__line(n, path, cp->value);
        }
    }
}

/* XML, JSON, CSV, fixed: each leaf by its path of names below the root
 * (attributes as @name). */
static void nm__walk(nm *n, const tnode *t, char *path, size_t len,
                     int depth)
{
    for (const tnode *k = t->kids; k; k = k->next) {
        int w = snprintf(path + len, 512 - len, "%s%s", len ? "/" : "",
                         k->name);
        if (w < 0 || len + (size_t)w >= 512 || depth > NM_DEPTH_MAX)
            continue;
        if (k->value && k->vlen)
            nm__line(n, path, k->value);
        nm__walk(n, k, path, len + (size_t)w, depth + 1);
        path[len] = '\0';
    }
}

static void nm__header(FILE *f, const char *from, const char *name,
                       const char *kind, const codec_msg *m)
{
    const codec_meta *mt = &m->meta;
    fprintf(f, "# Written by `eportctl new-mapping --from %s`: the header "
            "is filled in,\n# each value of the sample's first message is "
            "a commented rule below.\n# Give each one you need a `to:` "
            "(docs/model.md), uncomment it, and\n# check with `eportctl map "
            "--map %s --diff EXPECTED.jsonl SAMPLE`.\n", from, name);
    fprintf(f, "mapping: %s\ndescription: TODO what the table reads, and "
            "from whom\nformat: %s\nkind: %s\nmatch:\n", name, mt->format,
            kind ? kind : "TODO  # waybill manifest declaration response "
            "status permit");
    /* XML: `root`, which the reverse direction writes its root element
     * from (`message_type` chooses the table as well, but a record goes
     * back out under a root named "Document") */
    if (!strcmp(mt->format, "edifact") || !strcmp(mt->format, "xml"))
        fprintf(f, "  %s: %s\n", !strcmp(mt->format, "xml") ? "root"
                : "message_type", mt->message_type ? mt->message_type
                                                   : "TODO");
    if (mt->version && *mt->version && !strcmp(mt->format, "edifact"))
        fprintf(f, "  version: \"%s\"\n", mt->version);
    if (mt->ns && *mt->ns)
        fprintf(f, "  namespace: \"%s\"\n", mt->ns);
    if (strcmp(mt->format, "edifact") && strcmp(mt->format, "xml"))
        fprintf(f, "  filename: \"*.%s\"\n", mt->format);
    fprintf(f, "fields:\n  - to: source.message_type\n    value: %s\n",
            mt->message_type ? mt->message_type : name);
}

static int nm__run(const char *from, const char *name, const char *kind,
                   const buf_t *in)
{
    const codec_ops *ops = codec_sniff(in->p ? in->p : "", in->len);
    if (!ops || !ops->parse) {
        fprintf(stderr, "eportctl: error: %s: cannot tell its format (EDIFACT, "
                "XML, JSON, CSV)\n", from);
        return CTL_DATAERR;
    }
    arena_t a;
    arena_init(&a, (size_t)1 << 30);
    codec_batch b = {0};
    codec_opts none = {0};
    err_t e;
    int rc = ops->parse(in->p, in->len, &none, &a, &b, &e);
    const codec_msg *m = rc == 0 ? b.msgs : NULL;
    if (!m || !m->root) {
        fprintf(stderr, "eportctl: error: %s: %s\n", from, rc ? e.msg
                : "no message could be read from it");
        arena_free(&a);
        return CTL_DATAERR;
    }
    nm n = {stdout, !strcmp(ops->name, "edifact"), 0, 0};
    char path[512] = "";
    nm__header(stdout, from, name, kind, m);
    if (n.flat)
        for (const tnode *s = m->root->kids; s; s = s->next)
            nm__segment(&n, s);
    else
        nm__walk(&n, m->root, path, 0, 0);
    if (n.skipped)
        printf("  # ... %u more values not listed\n", n.skipped);
    arena_free(&a);
    return CTL_OK;
}

int ctl_new_mapping(int argc, char **argv)
{
    const char *from = NULL, *name = NULL, *kind = NULL;
    const ctl_opt opts[] = {{"--from", NULL, &from, NULL, NULL},
                            {"--name", NULL, &name, NULL, NULL},
                            {"--kind", NULL, &kind, NULL, NULL},
                            {0}};
    const char *rest[1];
    int nrest = 0;
    int rc = ctl_opts(argc, argv, 1, opts, rest, 1, &nrest, NM_USAGE);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    if (!from || nrest) {
        fprintf(stderr, "eportctl: error: new-mapping needs --from SAMPLE\n"
                "usage: %s\n", NM_USAGE);
        return CTL_USAGE;
    }
    buf_t in;
    err_t e;
    buf_init(&in, CODEC_MAX_INPUT);
    if (ctl_read_file(from, &in, &e)) {
        fprintf(stderr, "eportctl: %s\n", e.msg);
        buf_free(&in);
        return CTL_NOINPUT;
    }
    rc = nm__run(from, name ? name : "new-table", kind, &in);
    buf_free(&in);
    return rc;
}
