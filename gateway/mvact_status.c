/* mvact_status: operators' status records (IFTSTA, JSON feeds: gate
 * in/out, loaded, discharged, train departed/arrived...) attached to the
 * movements they concern (mvact.h). A record of kind status names its
 * equipment; every open movement here carrying that container, on whose
 * itinerary this node's region is, gets one signed `status` event
 * (docs/clearance.md, MV14) and so shows it in its journey at every
 * region. Equipment under no open movement is reported and skipped:
 * status feeds carry every container a terminal handles, most of them
 * under no transit at all.
 *
 * Used by `eportctl attach` (fresh ids) and by eportd's dispatch of
 * records local systems sent (node_local.c), which may attach a record
 * again after a crash: there each event's id is derived from the local
 * message's id and the movement, so the store's submit refuses the
 * second one. */
#include "mvact.h"

#include <stdio.h>
#include <string.h>

#include "ledger_query.h"
#include "model.h"
#include "mvrule.h"
#include "store_mv.h"

#define MVS_ARENA_MAX (64u << 20)
#define MVS_DONE_MAX 256 /* movements attached for one record */

typedef struct mvs_run {
    node *n;
    arena_t a;
    const model_record *r;
    const char *key;
    int64_t wait_ms;
    mvact_attach_fn fn;
    void *ctx;
    const char *done[MVS_DONE_MAX]; /* refs tried for this record */
    size_t ndone;
    int attached;                   /* events sent or sent before */
} mvs_run;

/* The open movement ref at this node, state in s; 0 if it is not one to
 * attach to (closed, or this region is not on its itinerary); < 0 when
 * the store failed. */
static int mvs__open(mvs_run *x, const char *ref, mv_state *s, err_t *e)
{
    buf_t b;
    buf_init(&b, 1u << 20);
    int rc = store_mv_state(node_store(x->n), ref, &b, e);
    if (rc == 0)
        rc = mv_state_decode(b.p, b.len, &x->a, s, e);
    buf_free(&b);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc < 0)
        return rc == ERR_IO || rc == ERR_NOMEM ? rc : 0;
    if (s->phase == MV_P_CANCELLED || s->phase == MV_P_REJECTED ||
        s->phase == MV_P_WRITTEN_OFF || s->phase == MV_P_NONE)
        return 0;
    return mv_state_stop_of(s, node_cfg(x->n)->node.region) >= 0;
}

/* The id the event for ref goes under: derived from the key, or fresh
 * (as_id empty). */
static int mvs__id(mvs_run *x, const char *ref, char as_id[MSGID_LEN + 1],
                   err_t *e)
{
    as_id[0] = '\0';
    if (!x->key)
        return 0;
    uint64_t ms;
    char k[200];
    if (msgid_parse(x->key, &ms, e) < 0)
        return err_wrap(e, "status of message %s", x->key);
    int len = snprintf(k, sizeof k, "eport status %s %s %s", x->key, ref,
                       node_cfg(x->n)->node.id);
    return msgid_derive(ms, k, (size_t)len, as_id, e);
}

static int mvs__seen(mvs_run *x, const char *ref)
{
    for (size_t i = 0; i < x->ndone; i++)
        if (!strcmp(x->done[i], ref))
            return 1;
    return 0;
}

/* One status event on movement ref (state s); what happened to fn.
 * Returns < 0 only when the store failed (the caller tries again). */
static int mvs__attach(mvs_run *x, const char *ref, const mv_state *s,
                       const char *ctr, err_t *e)
{
    const model_record *r = x->r;
    mv_event ev = {.type = MV_STATUS, .ref = ref, .result = r->status.event,
                   .place = r->status.place, .note = r->status.description};
    char as_id[MSGID_LEN + 1], id[MSGID_LEN + 1] = "";
    int rc = mvs__id(x, ref, as_id, e);
    if (rc == 0)
        rc = mvact_submit_as(x->n, &ev, s, 0, as_id[0] ? as_id : NULL, id, e);
    if (rc == 0 && x->wait_ms > 0)
        rc = mvact_wait(x->n, ref, id, x->wait_ms, e);
    if (x->ndone < MVS_DONE_MAX)
        x->done[x->ndone++] = ref;
    x->attached += rc == 0 || rc == 1;
    mvact_attach at = {ctr, ref, id, rc, rc < 0 ? e : NULL};
    if (x->fn)
        x->fn(x->ctx, &at);
    return rc == ERR_IO || rc == ERR_NOMEM || rc == ERR_AGAIN ? rc : 0;
}

/* Every open movement with container ctr; how many (>= 0), or < 0. */
static int mvs__ctr(mvs_run *x, const char *ctr, err_t *e)
{
    const char **refs;
    size_t nrefs = 0;
    int hits = 0, rc = lq_refs(node_store(x->n), ctr, &x->a, &refs, &nrefs, e);
    if (rc == ERR_NOTFOUND || rc == ERR_INVALID)
        nrefs = 0;
    else if (rc < 0)
        return rc;
    for (size_t k = 0; k < nrefs; k++) {
        mv_state s;
        if (mvs__seen(x, refs[k]) && ++hits)
            continue; /* another container of the record: one event */
        rc = mvs__open(x, refs[k], &s, e);
        if (rc > 0 && ++hits)
            rc = mvs__attach(x, refs[k], &s, ctr, e);
        if (rc < 0)
            return rc;
    }
    if (!hits && x->fn)
        x->fn(x->ctx, &(mvact_attach){ctr, NULL, NULL, 0, NULL});
    return hits;
}

/* The containers a record is about: status.equipment, else equipment[]. */
static size_t mvs__containers(const model_record *r, const char **out)
{
    size_t n = 0;
    if (r->status.equipment)
        out[n++] = r->status.equipment;
    for (uint32_t i = 0; i < r->equipment.n && n < MV_CTR_MAX; i++) {
        const char *no = r->equipment.v[i].number;
        if (no && (!r->status.equipment || strcmp(no, r->status.equipment)))
            out[n++] = no;
    }
    return n;
}

int mvact_status(node *n, const model_record *r, const char *key,
                 int64_t wait_ms, mvact_attach_fn fn, void *ctx, err_t *e)
{
    if (!r->kind || strcmp(r->kind, "status") || !r->status.event)
        return err_set(e, ERR_INVALID, "status record: kind status with "
                       "status.event needed");
    mvs_run x = {.n = n, .r = r, .key = key, .wait_ms = wait_ms, .fn = fn,
                 .ctx = ctx};
    const char *ctrs[MV_CTR_MAX];
    size_t nctr = mvs__containers(r, ctrs);
    int rc = 0;
    arena_init(&x.a, MVS_ARENA_MAX);
    for (size_t i = 0; rc >= 0 && i < nctr; i++)
        rc = mvs__ctr(&x, ctrs[i], e);
    arena_free(&x.a);
    return rc < 0 ? rc : x.attached;
}
