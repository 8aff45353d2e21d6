/* One record of a message (or one per `split` match) through the rules
 * (map_run.c), and the entry points: map_apply and its variants. */
#include <stdio.h>
#include <string.h>

#include "map_run_int.h"

/* ---- one record ---- */

/* The record's place in its input when the envelope names none (XML,
 * JSON, CSV): "2" for the second message, "2.3" for the third split record
 * of it, so a problem or a receipt can point back to it. */
static char *mr__position(mrun *r, uint32_t split)
{
    char ref[32];
    if (split)
        snprintf(ref, sizeof ref, "%u.%u", r->m->index + 1, split);
    else
        snprintf(ref, sizeof ref, "%u", r->m->index + 1);
    return arena_strdup(r->a, ref);
}

static void mr__source(mrun *r, model_record *rec, uint32_t split)
{
    const codec_meta *mt = &r->m->meta;
    rec->kind = (char *)r->d->kind;
    rec->source.format = (char *)mt->format;
    rec->source.message_type = (char *)mt->message_type;
    /* an XML message's version is its namespace (docs/model.md) */
    rec->source.version = (char *)(mt->version ? mt->version : mt->ns);
    rec->source.sender = (char *)mt->sender;
    rec->source.recipient = (char *)mt->recipient;
    rec->source.interchange_ref = (char *)mt->interchange_ref;
    rec->source.message_ref = mt->message_ref ? (char *)mt->message_ref
                                              : mr__position(r, split);
    rec->source.mapping = (char *)r->d->name;
}

typedef struct msplit {
    mrun *r;
    map_record_fn fn;
    void *ctx;
    uint32_t n;           /* split records so far; 0 when not splitting */
    const tnode *pending; /* edifact: the split segment awaiting its end */
    uint32_t pending_pos; /* its position in ix */
    const mindex *ix;     /* the message's, or NULL */
} msplit;

/* One record from scope s. */
static int mr__record(msplit *sp, mscope *s)
{
    mrun *r = sp->r;
    model_record *rec = model_record_new(r->a);
    if (!rec)
        return ERR_NOMEM;
    int before = r->rc;
    r->rc = 0;
    r->sl.rec = rec;
    r->sl.told = 0;
    mr__source(r, rec, r->d->has_split ? ++sp->n : 0);
    mrun_rules(r, r->d->rules, r->d->nrules, r->d->plan, s, rec);
    int bad = r->rc;
    r->rc = before ? before : bad;
    return bad ? 0 : sp->fn(sp->ctx, r->m, rec);
}

/* A split node's subtree (xml, json, csv rows). */
static int mr__split_node(void *ctx, const mhit *h)
{
    msplit *sp = ctx;
    tnode *n = (tnode *)h->node;
    mscope s = {n, n->kids, NULL, 1, NULL, sp->r->m->root, 0, 0};
    return mr__record(sp, &s);
}

/* EDIFACT segments are flat: a split record is the split segment and what
 * follows it up to the next one (a CUSCAR bill of lading: CNI and its
 * group). Each match closes the previous record. */
static int mr__split_range(msplit *sp, const tnode *end, uint32_t pos)
{
    const tnode *start = sp->pending;
    uint32_t lo = sp->pending_pos;
    sp->pending = end;
    sp->pending_pos = pos;
    if (!start)
        return 0;
    const mindex *ix = sp->ix;
    if (ix && (lo >= ix->n || ix->node[lo] != start || pos > ix->n ||
               (pos < ix->n ? ix->node[pos] : NULL) != end))
        ix = NULL; /* a split path below the segments: no positions */
    mscope s = {sp->r->m->root, (tnode *)start, (tnode *)end, 1, ix,
                sp->r->m->root, lo, pos};
    return mr__record(sp, &s);
}

static int mr__split_flat(void *ctx, const mhit *h)
{
    return mr__split_range(ctx, h->node, h->pos);
}

/* Every record of m: one, or one per split match. */
static int mr__apply(const map_def *d, const strict_set *over,
                     codec_batch *b, codec_msg *m, arena_t *a,
                     map_record_fn fn, void *ctx, map_trace_fn trace,
                     void *tctx)
{
    mrun r = {d, b, m, a, 0, NULL, trace, tctx, {&d->strict, over, NULL, 0}};
    msplit sp = {&r, fn, ctx, 0, NULL, 0, NULL};
    if (!m->root)
        return ERR_SYNTAX;
    mscope s = {m->root, m->root->kids, NULL, 1, NULL, m->root, 0, 0};
    mindex ix;
    if (d->flat && mindex_build(&ix, m->root->kids, m->root->nkids, a) == 0) {
        s.ix = sp.ix = &ix;
        s.hi = ix.n;
    }
    int rc;
    if (d->has_split && d->flat) {
        rc = mpath_each(&d->split, &s, mr__split_flat, &sp);
        if (!rc)
            rc = mr__split_range(&sp, NULL, s.hi);
    } else if (d->has_split) {
        rc = mpath_each(&d->split, &s, mr__split_node, &sp);
    } else {
        rc = mr__record(&sp, &s);
    }
    return rc ? rc : r.rc;
}

int map_apply(const map_def *d, codec_batch *b, codec_msg *m, arena_t *a,
              map_record_fn fn, void *ctx)
{
    return mr__apply(d, NULL, b, m, a, fn, ctx, NULL, NULL);
}

int map_apply_strict(const map_def *d, const strict_set *over,
                     codec_batch *b, codec_msg *m, arena_t *a,
                     map_record_fn fn, void *ctx)
{
    return mr__apply(d, over, b, m, a, fn, ctx, NULL, NULL);
}

int map_apply_traced(const map_def *d, codec_batch *b, codec_msg *m,
                     arena_t *a, map_record_fn fn, void *ctx,
                     map_trace_fn trace, void *tctx)
{
    return mr__apply(d, NULL, b, m, a, fn, ctx, trace, tctx);
}
