/* The reverse runner: a canonical record back to a local syntax tree with
 * the same table that reads it, so a mapping is written once and serves
 * both directions. Each rule with a source path writes its canonical value
 * there, undoing its transforms (code list, date, unit, decimal mark); a
 * field is written by the first rule that targets it. A `const` rule
 * writes its constant. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_int.h"
#include "xform.h"

typedef struct mrev {
    const map_def *d;
    arena_t *a;
    err_t *e;
    int json;
    uint8_t *done[MO__COUNT]; /* per array: elements already written */
    const char *join;         /* the join of the rule being written */
    int dry;                  /* claim fields and elements, write nothing */
} mrev;

typedef struct mwritten { /* fields already written for one object */
    uint64_t bits[2];
} mwritten;

static int mv__mark(mwritten *w, const model_field *f)
{
    size_t i = (size_t)(f - model_fields);
    uint64_t bit = 1ull << (i % 64);
    if (w->bits[i / 64] & bit)
        return 1;
    w->bits[i / 64] |= bit;
    return 0;
}

/* flags: TN_NUM or TN_BOOL, which only JSON writes differently. */
static int mv__set(mrev *v, tnode *leaf, const char *text, int flags)
{
    if (!leaf->value && leaf->kids && v->d->flat)
        leaf = leaf->kids; /* a whole EDIFACT element: its first component */
    leaf->value = arena_strdup(v->a, text);
    leaf->vlen = (uint32_t)strlen(text);
    if (v->json)
        leaf->flags |= flags;
    return leaf->value ? 0 : err_set(v->e, ERR_NOMEM, "out of memory");
}

#define MV_COMPONENT 35 /* an..35: names, streets (C080, C059) */

/* Where the next component of text ends: at a separator, packing words up
 * to MV_COMPONENT characters when the separator is a space (a name that
 * was split over components only for length), else at every separator
 * (PCI marks, one per line). */
/* Characters (not bytes) in p[0..n): an..35 counts characters. */
static size_t mv__chars(const char *p, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)p[i] & 0xC0) != 0x80;
    return c;
}

static size_t mv__part(const char *p, const char *sep)
{
    size_t sl = strlen(sep), n = strlen(p);
    if (!sl)
        return n;
    const char *q = strstr(p, sep);
    if (strcmp(sep, " ") != 0 || !q)
        return q ? (size_t)(q - p) : n;
    size_t best = (size_t)(q - p);
    while (q && mv__chars(p, (size_t)(q - p)) <= MV_COMPONENT) {
        best = (size_t)(q - p);
        q = strstr(q + sl, sep);
    }
    return mv__chars(p, n) <= MV_COMPONENT ? n : best;
}

/* The inverse of `join` over an EDIFACT element: the joined text goes back
 * over the element's components. */
static int mv__unjoin(mrev *v, tnode *el, const char *text, const char *sep)
{
    size_t sl = strlen(sep);
    tnode *c = el->kids;
    for (const char *p = text;;) {
        size_t n = mv__part(p, sep);
        if (!c && !(c = tree_add_new(v->a, el, "", "")))
            return err_set(v->e, ERR_NOMEM, "out of memory");
        c->value = arena_strndup(v->a, p, n);
        c->vlen = (uint32_t)n;
        if (!c->value)
            return err_set(v->e, ERR_NOMEM, "out of memory");
        if (!p[n])
            return 0;
        p += n + sl;
        c = c->next;
    }
}

static int mv__write(mrev *v, const mpath *p, mscope *s, const char *text,
                     int fresh, int num)
{
    tnode *made = NULL, *leaf = mpath_make(p, s, v->a, fresh, &made);
    if (!leaf)
        return err_set(v->e, ERR_NOMEM, "out of memory");
    if (v->join && v->d->flat && !leaf->value && leaf->kids)
        return mv__unjoin(v, leaf, text, v->join);
    return mv__set(v, leaf, text, num);
}

/* ---- undoing transforms ---- */

static int mv__date(mrev *v, const mrule *ru, mscope *s, const char *iso,
                    char *out, size_t n)
{
    const char *used = NULL;
    char local[XFORM_ISO_MAX];
    /* the sender's clock: a time with another offset is the same instant
     * in its zone, since most formats keep only the local digits */
    if (v->d->has_zone) {
        if (xform_zone_convert(iso, v->d->zone_min, local, sizeof local, v->e))
            return v->e->code;
        iso = local;
    }
    if (ru->date == MD_PATTERN)
        return xform_iso_to_pattern(ru->date_arg, iso, out, n, v->e);
    if (ru->date == MD_ISO)
        return snprintf(out, n, "%s", iso) < 0;
    const char *code = ru->date == MD_EDI ? ru->date_arg : NULL;
    int rc = xform_iso_to_edi(iso, code, out, n, &used, v->e);
    if (!rc && ru->date == MD_EDI_FROM && used)
        rc = mv__write(v, &ru->date_from, s, used, 0, 0);
    return rc;
}

static int mv__text(mrev *v, const mrule *ru, mscope *s, const char *in,
                    char *out, size_t n)
{
    if (ru->codes) {
        const char *k = mcodes_key_of(ru->codes, in);
        if (!k && ru->unknown == MU_ERROR)
            return err_set(v->e, ERR_CODE, "%s: no local code for '%s' in "
                           "code list %s", ru->to_text, in,
                           mcodes_name(ru->codes));
        in = k ? k : in;
    }
    if (ru->date)
        return mv__date(v, ru, s, in, out, n);
    snprintf(out, n, "%s", in);
    return 0;
}

static int mv__number(mrev *v, const mrule *ru, mscope *s, double x,
                      char *out, size_t n)
{
    if (ru->unit_table) {
        const char *code = ru->unit_code;
        if (ru->has_unit_from)
            code = mcodes_key_of(ru->unit_table, "1"); /* the base unit */
        double f;
        if (mcodes_factor(ru->unit_table, code, &f) || f == 0)
            return err_set(v->e, ERR_CODE, "%s: unit table %s has no base "
                           "unit (factor 1)", ru->to_text,
                           mcodes_name(ru->unit_table));
        x /= f;
        if (ru->has_unit_from) {
            int rc = mv__write(v, &ru->unit_from, s, code, 0, 0);
            if (rc)
                return rc;
        }
    }
    if (xform_number_text(x, ru->decimal ? ru->decimal : '.', out, n))
        return err_set(v->e, ERR_INVALID, "%s: %g cannot be written as a "
                       "decimal number", ru->to_text, x);
    return 0;
}

/* ---- rules ---- */

static int mv__same_text(void *ctx, const mhit *h)
{
    return strcmp(mhit_text(h), ctx) == 0;
}

/* Whether a list item is already at its path in a tree format: a CSV row
 * whose container number fills both equipment[].number and the goods'
 * equipment_refs[] has one container_no cell, not two. EDIFACT lists are
 * segments (SEL per seal) and always written. */
static int mv__already(const mrev *v, const mpath *p, const mscope *s,
                       const char *text)
{
    return !v->d->flat && mpath_each(p, s, mv__same_text, (void *)text) == 1;
}

static int mv__list(mrev *v, const mrule *ru, mscope *s,
                    const model_strlist *l)
{
    char text[MAP_VALUE_MAX / 16];
    int rc = 0;
    if (ru->split) {
        buf_t b;
        buf_init(&b, MAP_VALUE_MAX);
        for (uint32_t i = 0; i < l->n; i++)
            buf_printf(&b, "%s%s", i ? ru->split : "", l->v[i]);
        rc = l->n ? mv__write(v, &ru->from, s, b.p, 0, 0) : 0;
        buf_free(&b);
        return rc;
    }
    for (uint32_t i = 0; i < l->n && !rc; i++)
        if (!(rc = mv__text(v, ru, s, l->v[i], text, sizeof text)) &&
            !mv__already(v, &ru->from, s, text))
            rc = mv__write(v, &ru->from, s, text, 1, 0);
    return rc;
}

/* A rule {from: P, value: V} read "V when P is present"; written back, a
 * record holding V gets P made (with its qualifiers), so mandatory
 * structure such as a CNI group or a status segment comes back. */
static int mv__flag(mrev *v, const mrule *ru, mscope *s, const void *base,
                    mwritten *w)
{
    const char *x = ru->field->type == MF_STR
                        ? *model_str_at((void *)base, ru->field) : NULL;
    if (!x || strcmp(x, ru->value) != 0 || mv__mark(w, ru->field))
        return 0;
    tnode *made = NULL;
    if (!mpath_make(&ru->from, s, v->a, 0, &made))
        return err_set(v->e, ERR_NOMEM, "out of memory");
    return 0;
}

/* A rule read only `when` a condition held: what the record holds came
 * with it, so writing the value back makes the condition hold too, or the
 * message would not read the same. `equals` and `in` (its first value)
 * are written where the path has no value yet (a later rule that writes
 * there still wins); `exists: true` makes the node. `not`, `exists:
 * false` and `matches` name no value to write: left alone. */
static int mv__when(mrev *v, const mcond *c, mscope *s)
{
    for (; c; c = c->next) {
        if (c->op != MC_EQ && c->op != MC_IN && c->op != MC_EXISTS)
            continue;
        tnode *made = NULL, *leaf = mpath_make(&c->path, s, v->a, 0, &made);
        if (!leaf)
            return err_set(v->e, ERR_NOMEM, "out of memory");
        const tnode *t = !leaf->value && leaf->kids && v->d->flat
                             ? leaf->kids : leaf; /* what mv__set fills */
        if (c->op == MC_EXISTS || (t->value && t->vlen) || !c->nvals ||
            (!v->d->flat && leaf->kids))
            continue;
        if (mv__set(v, leaf, c->vals[0], 0))
            return v->e->code;
    }
    return 0;
}

/* Whether text is a JSON number ("-12.5e3"): what a bare `const` writes
 * unquoted in JSON. */
static int mv__json_number(const char *p)
{
    p += *p == '-';
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        p += strspn(p, "0123456789");
    else
        return 0;
    if (*p == '.' && p[1] >= '0' && p[1] <= '9')
        p += 1 + strspn(p + 1, "0123456789");
    if (*p == 'e' || *p == 'E') {
        p += 1 + (p[1] == '+' || p[1] == '-');
        if (*p < '0' || *p > '9')
            return 0;
        p += strspn(p, "0123456789");
    }
    return !*p;
}

/* How a field rule's text goes into JSON: a number field as a number; with
 * `bare: true`, true/false as a boolean and a number's text as a number
 * (DCSA's isShipperOwned through a code list); else a string. */
static int mv__flags(const mrule *ru, const char *text)
{
    if (ru->field->type == MF_NUM)
        return TN_NUM;
    if (ru->bare && (!strcmp(text, "true") || !strcmp(text, "false")))
        return TN_BOOL;
    return ru->bare && mv__json_number(text) ? TN_NUM : 0;
}

static int mv__field(mrev *v, const mrule *ru, mscope *s, const void *base,
                     mwritten *w)
{
    char text[MAP_VALUE_MAX / 16];
    void *b = (void *)base;
    if (!ru->has_from || ru->from.kind != MP_TREE)
        return 0; /* constants and #index have no place to go back to */
    if (v->dry)
        return mv__mark(w, ru->field), 0;
    if (ru->value) /* "set when from is there": put it there if it holds */
        return mv__flag(v, ru, s, base, w);
    if (mv__mark(w, ru->field))
        return 0;
    int rc = 0;
    if (ru->field->type == MF_STRLIST)
        return mv__list(v, ru, s, model_strlist_at(b, ru->field));
    if (ru->field->type == MF_NUM) {
        model_num *x = model_num_at(b, ru->field);
        if (!x->set)
            return 0;
        rc = mv__number(v, ru, s, x->v, text, sizeof text);
    } else {
        const char *x = *model_str_at(b, ru->field);
        if (!x)
            return 0;
        rc = mv__text(v, ru, s, x, text, sizeof text);
    }
    v->join = ru->join;
    rc = rc ? rc : mv__write(v, &ru->from, s, text, 0, mv__flags(ru, text));
    if (!rc && ru->when)
        rc = mv__when(v, ru->when, s);
    v->join = NULL;
    return rc;
}

/* {from: P, const: V}: V at P, whatever the record holds (a format's
 * fixed values: a message type, a version, a JSON event type). In JSON an
 * unquoted true/false or number is written bare. */
static int mv__const(mrev *v, const mrule *ru, mscope *s)
{
    if (v->dry)
        return 0;
    tnode *made = NULL, *leaf = mpath_make(&ru->from, s, v->a, 0, &made);
    if (!leaf || mv__set(v, leaf, ru->cval, 0))
        return err_set(v->e, ERR_NOMEM, "out of memory");
    if (v->json && ru->cplain && (!strcmp(ru->cval, "true") ||
                                  !strcmp(ru->cval, "false")))
        leaf->flags |= TN_BOOL;
    else if (v->json && ru->cplain && mv__json_number(ru->cval))
        leaf->flags |= TN_NUM;
    return 0;
}

static int mv__rules(mrev *v, const mrule *rules, uint32_t n, mscope *s,
                     const void *base, mwritten *w);

typedef struct mnth {
    uint32_t want, seen;
    tnode *found;
} mnth;

static int mv__nth_cb(void *ctx, const mhit *h)
{
    mnth *x = ctx;
    if (x->seen++ != x->want)
        return 0;
    x->found = (tnode *)h->node;
    return 1;
}

/* Instance i reuses the i-th existing match (CSV rows already holding the
 * header fields), else it is made anew. */
static tnode *mv__instance(mrev *v, const mrule *ru, mscope *s, uint32_t i)
{
    mnth x = {i, 0, NULL};
    mpath_each(&ru->each, s, mv__nth_cb, &x);
    tnode *made = x.found;
    if (!made && !mpath_make(&ru->each, s, v->a, 1, &made))
        return NULL;
    if (v->json)
        made->flags |= TN_OBJ; /* an array only where the path says [] */
    return made;
}

/* Whether element el carries the constants this group sets (a group for
 * NAD+CZ sets role consignor): several groups may fill one array, and each
 * writes back only its own elements. Only unconditional constants count:
 * one under a `when` ({to: id_agency, value: USCC, when: ...}) is what the
 * element was read to be when its condition held, derived from the
 * source, not what makes it the group's; two of them on one field, or an
 * element holding neither, must not leave the group's element unwritten. */
static int mv__belongs(const mrule *ru, const void *el)
{
    for (uint32_t i = 0; i < ru->nrules; i++) {
        const mrule *k = &ru->rules[i];
        if (k->kind != MR_FIELD || k->has_from || !k->value || k->when ||
            k->field->type != MF_STR)
            continue;
        const char *x = *model_str_at((void *)el, k->field);
        if (!x || strcmp(x, k->value) != 0)
            return 0;
    }
    return 1;
}

/* Elements of each array already written by an earlier group. */
static uint8_t *mv__done(mrev *v, const model_field *f, uint32_t n)
{
    if (!v->done[f->elem])
        v->done[f->elem] = arena_zalloc(v->a, n + 1);
    return v->done[f->elem];
}

/* Whether elements after i remain for this group (each: . has room for
 * one; more must be refused, not dropped). */
static int mv__more(const mrule *ru, const void *base, const uint8_t *done,
                    uint32_t i, uint32_t n)
{
    for (uint32_t j = i + 1; j < n; j++)
        if (!done[j] && mv__belongs(ru, model_array_at((void *)base,
                                                       ru->field, j)))
            return 1;
    return 0;
}

static int mv__each(mrev *v, const mrule *ru, mscope *s, const void *base,
                    mwritten *w)
{
    (void)w;
    uint32_t n = model_array_len((void *)base, ru->field), k = 0;
    uint8_t *done = mv__done(v, ru->field, n);
    if (!done)
        return err_set(v->e, ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        const void *el = model_array_at((void *)base, ru->field, i);
        if (done[i] || !mv__belongs(ru, el))
            continue;
        done[i] = 1;
        if (v->dry)
            continue;
        tnode *t = mv__instance(v, ru, s, k++);
        if (!t)
            return err_set(v->e, ERR_NOMEM, "out of memory");
        mscope in = {t, t->kids, NULL, k, NULL, s->top, 0, 0};
        if (ru->each.kind == MP_SELF) { /* the scope itself, as read */
            in = *s;
            in.index = k;
        } else if (v->d->flat)
            in = (mscope){s->parent, t, NULL, k, NULL, s->top, 0, 0};
        mwritten iw = {{0, 0}};
        int rc = mv__rules(v, ru->rules, ru->nrules, &in, el, &iw);
        if (rc)
            return rc;
        if (ru->each.kind == MP_SELF && mv__more(ru, base, done, i, n))
            return err_set(v->e, ERR_TOOBIG, "%s: the record has more than "
                           "one element but 'each: .' writes one (a split "
                           "record holds one)", ru->field->path);
    }
    return 0;
}

static int mv__rules(mrev *v, const mrule *rules, uint32_t n, mscope *s,
                     const void *base, mwritten *w)
{
    int rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        rc = rules[i].kind == MR_FIELD ? mv__field(v, &rules[i], s, base, w)
             : rules[i].kind == MR_CONST ? mv__const(v, &rules[i], s)
                                         : mv__each(v, &rules[i], s, base, w);
    }
    return rc;
}

/* ---- the message around the tree ---- */

static int mv__literal(const char *pattern)
{
    return pattern && !strpbrk(pattern, "*?[");
}

static const char *mv__root_name(const map_def *d)
{
    if (d->flat)
        return d->out_type ? d->out_type : d->match.message_type;
    if (strcmp(d->format, "xml") == 0)
        return d->match.root ? d->match.root : "Document";
    return strcmp(d->format, "json") == 0 ? "" : "file";
}

static void mv__meta(const map_def *d, const model_record *r, codec_meta *m)
{
    m->format = d->format;
    m->message_type = d->out_type ? d->out_type
                      : mv__literal(d->match.message_type) ? d->match.message_type
                      : r->source.message_type;
    m->version = d->out_version ? d->out_version
                 : mv__literal(d->match.version) ? d->match.version
                 : r->source.version;
    m->agency = d->out_agency ? d->out_agency : d->flat ? "UN" : NULL;
    m->association = d->out_association;
    m->sender = r->source.sender;
    m->recipient = r->source.recipient;
    m->interchange_ref = r->source.interchange_ref;
    m->message_ref = r->source.message_ref;
    m->ns = mv__literal(d->match.ns) ? d->match.ns : NULL;
    if (!m->ns && !d->flat && strcmp(d->format, "xml") == 0 &&
        r->source.version && strchr(r->source.version, ':'))
        m->ns = r->source.version; /* read from the namespace (map_run.c) */
}

/* A message as map_reverse makes it: for a split table, later calls add
 * records to it, and what they need to know of the document is kept
 * beside it (*out points at m, the first member: the caller hands back
 * what an earlier call made). */
typedef struct mvdoc {
    codec_msg m;
    tnode *holder;  /* the node the records' elements are children of */
    tnode *trailer; /* its first child written by the trailer, or NULL */
    tnode *before;  /* the child just before the trailer: the last record's */
} mvdoc;

static codec_msg *mv__message(const map_def *d, const model_record *r,
                              arena_t *a)
{
    mvdoc *doc = arena_zalloc(a, sizeof *doc);
    codec_msg *m = doc ? &doc->m : NULL;
    const char *rn = mv__root_name(d);
    if (!m || !(m->root = tree_new(a, rn ? rn : "", NULL)))
        return NULL;
    mv__meta(d, r, &m->meta);
    if (strcmp(d->format, "json") == 0)
        m->root->flags |= TN_OBJ;
    if (m->meta.ns && !d->flat) {
        tnode *x = tree_add_new(a, m->root, "@xmlns", m->meta.ns);
        if (!x)
            return NULL;
        x->flags |= TN_ATTR;
    }
    return m;
}

static int mv__rooted(const mrule *ru)
{
    return ru->kind == MR_EACH ? ru->each.rooted
                               : ru->has_from && ru->from.rooted;
}

enum { MV_HEAD, MV_RECORD, MV_TRAILER };

/* One part of a split record's rules: the document's head (rules from
 * the root), the record's own, or the document's trailer (rules from the
 * root the table states after every rule inside the record: mrule
 * trailer, map_compile.c). */
static int mv__pass(mrev *v, int pass, mscope *s, const model_record *r,
                    mwritten *w)
{
    int rc = 0;
    for (uint32_t i = 0; i < v->d->nrules && !rc; i++) {
        const mrule *ru = &v->d->rules[i];
        int part = !mv__rooted(ru) ? MV_RECORD
                   : ru->trailer   ? MV_TRAILER
                                   : MV_HEAD;
        if (part != pass)
            continue;
        rc = ru->kind == MR_FIELD ? mv__field(v, ru, s, r, w)
             : ru->kind == MR_CONST ? mv__const(v, ru, s)
                                    : mv__each(v, ru, s, r, w);
    }
    return rc;
}

/* The node whose children the split path's items are: the element the
 * steps before the first one made anew lead to (the root for `Order`,
 * Declaration for `Declaration/Consignment`). It exists: the first item
 * was just made under it. */
static tnode *mv__holder(mrev *v, mscope *s)
{
    const mpath *p = &v->d->split;
    uint32_t from = p->nsteps ? p->nsteps - 1 : 0;
    for (uint32_t si = 0; si < p->nsteps; si++)
        if (p->steps[si].list)
            from = si;
    if (p->kind != MP_TREE || !from)
        return s->parent;
    mpath pre = *p;
    pre.nsteps = from;
    pre.elem = pre.comp = 0;
    tnode *made = NULL;
    return mpath_make(&pre, s, v->a, 0, &made) ? made : NULL;
}

/* A later record was written at the end of the holder, after the
 * trailer (what follows old): it goes before the trailer. */
static void mv__before_trailer(mvdoc *doc, tnode *old)
{
    tnode *h = doc->holder, *run = old ? old->next : NULL, *end = h->last;
    if (!doc->trailer || !run)
        return;
    old->next = NULL;
    h->last = old;
    end->next = doc->trailer;
    doc->before->next = run;
    doc->before = end;
}

/* A split record: its document's head (paths from the root) is written
 * before the record's own node, its trailer after, as the table orders
 * them; the next records find them there, and go between the last record
 * and the trailer. */
static int mv__split(mrev *v, mvdoc *doc, const model_record *r, int first)
{
    codec_msg *m = &doc->m;
    mscope s = {m->root, m->root->kids, NULL, 1, NULL, m->root, 0, 0};
    mwritten w = {{0, 0}};
    /* the head and the trailer are the document's, written once, by its
     * first record: later records repeat them (list fields would be
     * written again), so for them those rules only claim their fields
     * and elements */
    v->dry = !first;
    int rc = mv__pass(v, MV_HEAD, &s, r, &w);
    v->dry = 0;
    tnode *old = first ? NULL : doc->holder->last, *item = NULL;
    if (!rc && (!mpath_make(&v->d->split, &s, v->a, 1, &item) || !item))
        rc = err_set(v->e, ERR_NOMEM, "out of memory");
    if (!rc && first && !(doc->holder = mv__holder(v, &s)))
        rc = err_set(v->e, ERR_NOMEM, "out of memory");
    if (rc)
        return rc;
    if (v->json)
        item->flags |= TN_LIST | TN_OBJ; /* a feed's items are an array */
    mscope in = v->d->flat
                    ? (mscope){m->root, item, NULL, 1, NULL, m->root, 0, 0}
                    : (mscope){item, item->kids, NULL, 1, NULL, m->root, 0, 0};
    rc = mv__pass(v, MV_RECORD, &in, r, &w);
    if (!first) {
        /* (what a record refused part way through left stays among the
         * records, as it did before there were trailers) */
        mv__before_trailer(doc, old);
        v->dry = 1;
        rc = rc ? rc : mv__pass(v, MV_TRAILER, &s, r, &w);
        v->dry = 0;
        return rc;
    }
    if (rc)
        return rc;
    tnode *last = doc->holder->last;
    rc = mv__pass(v, MV_TRAILER, &s, r, &w);
    doc->trailer = last ? last->next : NULL;
    doc->before = doc->trailer ? last : NULL;
    return rc;
}

int map_reverse(const map_def *d, const model_record *r, arena_t *a,
                codec_msg **out, err_t *e)
{
    /* a table writes the kind it reads: any other record would come out
     * as a message of the table's type with nothing of its own in it */
    if (d->kind && r->kind && strcmp(d->kind, r->kind))
        return err_set(e, ERR_INVALID, "table %s writes %s records, not %s",
                       d->name, d->kind, r->kind);
    /* a split table's records are items of one document: add to *out */
    int first = !(d->has_split && *out);
    codec_msg *m = first ? mv__message(d, r, a) : *out;
    if (!m)
        return err_set(e, ERR_NOMEM, "out of memory");
    mrev v = {d, a, e, strcmp(d->format, "json") == 0, {0}, NULL, 0};
    int rc;
    if (d->has_split) {
        rc = mv__split(&v, (mvdoc *)m, r, first);
    } else {
        mscope s = {m->root, m->root->kids, NULL, 1, NULL, m->root, 0, 0};
        mwritten w = {{0, 0}};
        rc = mv__rules(&v, d->rules, d->nrules, &s, r, &w);
    }
    if (!rc)
        *out = m;
    return rc;
}
