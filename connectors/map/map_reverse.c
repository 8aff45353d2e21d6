/* The reverse runner: a canonical record back to a local syntax tree with
 * the same table that reads it, so a mapping is written once and serves
 * both directions. Each rule with a source path writes its canonical value
 * there, undoing its transforms (code list, date, unit, decimal mark); a
 * field is written by the first rule that targets it. A `const` rule
 * writes its constant. This file walks the structure (groups and their
 * elements, split documents' head, records and trailer); the values are
 * map_reverse_field.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_reverse_int.h"

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
        rc = rules[i].kind == MR_FIELD ? mrv_field(v, &rules[i], s, base, w)
             : rules[i].kind == MR_CONST ? mrv_const(v, &rules[i], s)
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
        rc = ru->kind == MR_FIELD ? mrv_field(v, ru, s, r, w)
             : ru->kind == MR_CONST ? mrv_const(v, ru, s)
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
