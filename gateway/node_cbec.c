/* node_cbec: cross-border e-commerce documents at a node (see
 * node_cbec.h). A set's verdict is decided on what the set holds when it
 * is read and recorded only if nothing was attached since; otherwise it
 * is read and decided again, so two documents of one parcel taken at once
 * (a local one and a peer's, or two instances) always end with the
 * verdict of the set as it is. */
#include "node_cbec_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbec_route.h"
#include "log.h"
#include "metrics.h"
#include "model_pack.h"
#include "msgid.h"

#define CB_ARENA_MAX (64u << 20)
#define CB_POLL_MS 50       /* v1:in read at least this often */
#define CB_EXPIRE_MS 1000   /* time limits looked at this often */
#define CB_EXPIRE_BATCH 256
#define CB_TRIES 8          /* reads of a set that keeps changing */
#define CB_WHY_MAX 2048

static const char *const cb__outcomes[] = {"attached", "same", "duplicate",
                                           "conflict", "parked", "closed"};

/* ---- documents sealed at rest (cbec_seal.h) ---- */

/* The data keys, read once; NULL when none is configured. */
static const cbec_seal_keys *cb__seal_keys(node *n, err_t *e)
{
    struct node_cb *cb = node_cbec__get(n);
    if (!cb)
        return NULL;
    if (!cb->seal_loaded) {
        err_t le;
        int rc = cbec_seal_load(n->cfg->cbec.data_key, n->cfg->cbec.data_key_old,
                                &cb->seal, &le);
        cb->seal_loaded = rc ? 0 : 1; /* a key file put right is read next time */
        if (rc) {
            log_event(LOG_ERROR, "cbec_seal", "msg=%s", log_q(le.msg));
            err_set(e, rc, "%s", le.msg);
        }
    }
    return cb->seal_loaded > 0 && (cb->seal.has_cur || cb->seal.has_old)
               ? &cb->seal : NULL;
}

/* ---- checking a set ---- */

int node_cbec__unpack(node *n, const store_cbec_set *s, arena_t *a,
                      cbec_set *out, err_t *e)
{
    const cbec_seal_keys *k = cb__seal_keys(n, e);
    memset(out, 0, sizeof *out);
    for (int d = 0; d < CBEC__DOCS; d++) {
        model_record *r;
        const void *p = s->doc[d].rec;
        size_t pn = s->doc[d].len;
        if (!p)
            continue;
        if ((k && cbec_open(k, p, pn, a, &p, &pn, e) < 0) ||
            model_unpack(p, pn, a, &r, e) < 0)
            return err_wrap(e, "cbec: order %s: %s %s", s->order_no,
                            cbec_doc_name((cbec_doc)d), s->doc[d].id);
        out->doc[d] = r;
    }
    return 0;
}

/* The verdict's why: the mismatches, or what is still awaited. */
static void cb__why(const cbec_verdict *v, char *why, size_t n)
{
    char missing[64];
    if (v->n) {
        cbec_verdict_text(v, why, n);
        return;
    }
    cbec_missing_text(v->present, missing, sizeof missing);
    snprintf(why, n, "%s%s", missing[0] ? "awaiting " : "", missing);
}

/* The set as it stands, checked and its verdict recorded (*s read, v). */
static int cb__decide(node *n, store_cbec_set *s, cbec_set *cs,
                      cbec_verdict *v, char *why, arena_t *a, err_t *e)
{
    cbec_opts o = {(double)n->cfg->cbec.tolerance_fen / 100.0};
    int rc = node_cbec__unpack(n, s, a, cs, e);
    if (rc < 0)
        return rc;
    cbec_match(cs, &o, v);
    cb__why(v, why, CB_WHY_MAX);
    return store_cbec_settle(n->st, s->order_no, s->n, cbec_verdict_state(v),
                             why, node__now_ms(), e);
}

/* A set no document changes any more (store_cbec's closed states): its
 * verdict stands, and settling it again would be refused. */
static int cb__closed(const store_cbec_set *s)
{
    static const char *const closed[] = {"expired", "withdrawn", "released",
                                         "rejected"};
    for (size_t i = 0; i < sizeof closed / sizeof closed[0]; i++)
        if (!strcmp(s->state, closed[i]))
            return 1;
    return 0;
}

/* seen: the set as the attach read it (NULL: read it here); later tries
 * read it again. */
static int cb__check(node *n, const char *order_no, const store_cbec_set *seen,
                     arena_t *a, node_cbec_res *out, err_t *e)
{
    char *why = arena_alloc(a, CB_WHY_MAX);
    if (!why)
        return err_set(e, ERR_NOMEM, "cbec: out of memory");
    for (int t = 0; t < CB_TRIES; t++) {
        store_cbec_set s;
        cbec_set cs;
        cbec_verdict v;
        int rc = 0;
        if (t == 0 && seen)
            s = *seen;
        else
            rc = store_cbec_get(n->st, order_no, a, &s, e);
        if (rc == 0 && cb__closed(&s)) {
            out->state = s.state, out->detail = s.why;
            return 0;
        }
        if (rc == 0 && (rc = cb__decide(n, &s, &cs, &v, why, a, e)) == 1) {
            out->state = cbec_verdict_state(&v), out->detail = why;
            if (strcmp(s.state, out->state) && strcmp(out->state, "awaiting"))
                met_add(MET_CBEC_SETS, out->state, 1);
            /* the verdict is recorded: a crash now leaves the allowance
             * undrawn, which the next document or a retry draws (the
             * request id is derived from the set) */
            if (!strcmp(out->state, "matched") && !s.arid)
                return node_cbec__allow(n, &s, &cs, a, e);
            return 0;
        }
        if (rc < 0)
            return rc;
    }
    return err_set(e, ERR_AGAIN, "cbec: the set of order %s kept changing "
                   "while it was checked", order_no);
}

int node_cbec_is_ours(const model_record *r)
{
    return cbec_doc_of(r) >= 0 || node_cbec__is_act(r);
}

/* ---- taking a document ---- */

static void cb__stopped(const store_cbec_res *res, cbec_doc d,
                        const char *key, arena_t *a, node_cbec_res *out)
{
    if (res->outcome == STORE_CBEC_PARKED) {
        out->state = "parked";
        out->detail = arena_printf(a, "waybill %s waits for the inventory "
                                   "list naming it", key);
    } else if (res->outcome == STORE_CBEC_CONFLICT) {
        out->state = "conflict";
        out->detail = arena_printf(a, "order %s has another %s (record %s): "
                                   "send a change to replace it", res->order_no,
                                   cbec_doc_name(d), res->other);
    } else {
        out->state = "closed";
        out->detail = arena_printf(a, "order %s is closed: %s", res->order_no,
                                   res->other ? res->other : "");
    }
}

static int cb__put(const model_record *r, cbec_doc d, const char *id,
                   const void *rec, size_t len, store_cbec_put *p, err_t *e)
{
    const char *key = d == CBEC_WAYBILL ? r->cbec.logistics_no : r->cbec.order_no;
    if (!key)
        return err_set(e, ERR_REQUIRED, "cbec: %s %s has no %s",
                       cbec_doc_name(d), id, d == CBEC_WAYBILL
                       ? "cbec.logistics_no (waybill number)"
                       : "cbec.order_no (order number)");
    *p = (store_cbec_put){d, key, id,
                          d == CBEC_INVENTORY ? r->cbec.logistics_no : NULL,
                          rec, len, r->document.function &&
                          !strcmp(r->document.function, "change"),
                          d == CBEC_INVENTORY ? r->document.number : NULL};
    return 0;
}

static int cb__transient(int rc)
{
    return rc == ERR_IO || rc == ERR_NOMEM || rc == ERR_AGAIN;
}

/* What to attach for document d (r, sealed when a data key is set). */
static int cb__prepare(node *n, const node_cbec_doc *doc, cbec_doc d,
                       arena_t *a, store_cbec_put *p, err_t *e)
{
    int rc = cb__put(doc->r, d, doc->id, doc->rec, doc->len, p, e);
    const cbec_seal_keys *k = rc == 0 ? cb__seal_keys(n, e) : NULL;
    if (rc == 0 && n->cfg->cbec.data_key && !(k && k->has_cur))
        rc = err_set(e, ERR_AGAIN, "cbec: cbec.data_key cannot be read: "
                     "documents wait rather than be kept unsealed");
    if (rc == 0 && k && k->has_cur)
        rc = cbec_seal(k, doc->rec, doc->len, a, &p->rec, &p->len, e);
    return rc;
}

static void cb__log(const node_cbec_doc *doc, const char *what,
                    const char *outcome, const node_cbec_res *o)
{
    log_event(LOG_INFO, "cbec_document", "id=%s doc=%s order=%s outcome=%s "
              "state=%s detail=%s", doc->id, what, o->order_no ? o->order_no : "-",
              outcome, o->state ? o->state : "-",
              log_q(o->detail ? o->detail : ""));
}

/* Whether a later result of the batch (after j) is of the same set: that
 * one, seeing every document of the batch, decides for both. */
static ptrdiff_t cb__later(const store_cbec_res *res, size_t j, size_t m)
{
    for (size_t l = m; l-- > j + 1;)
        if (res[l].outcome < STORE_CBEC_CONFLICT &&
            !strcmp(res[l].order_no, res[j].order_no))
            return (ptrdiff_t)l;
    return -1;
}

/* The batch's attached documents decided, a set once (its last). */
static int cb__decide_all(node *n, const node_cbec_doc *docs, const size_t *at,
                          const store_cbec_put *puts, store_cbec_res *res,
                          size_t m, arena_t *a, node_cbec_res *out, err_t *e)
{
    for (size_t j = m; j-- > 0;) {
        node_cbec_res *o = &out[at[j]];
        ptrdiff_t l = cb__later(res, j, m);
        o->order_no = res[j].order_no;
        met_add(MET_CBEC_DOCS, cb__outcomes[res[j].outcome], 1);
        if (res[j].outcome >= STORE_CBEC_CONFLICT)
            cb__stopped(&res[j], puts[j].doc, puts[j].key, a, o);
        else if (l >= 0)
            o->state = out[at[l]].state, o->detail = out[at[l]].detail;
        else {
            int rc = cb__check(n, res[j].order_no, res[j].has_set ? &res[j].set
                                                                  : NULL, a, o, e);
            if (rc < 0)
                return rc;
        }
        cb__log(&docs[at[j]], cbec_doc_name(puts[j].doc),
                cb__outcomes[res[j].outcome], o);
    }
    return 0;
}

/* A document the batch does not attach: an act, or one refused. */
static int cb__single(node *n, const node_cbec_doc *doc, arena_t *a,
                      node_cbec_res *o, int *rc_out, err_t *e)
{
    int rc;
    if (node_cbec__is_act(doc->r)) {
        if ((rc = node_cbec__act(n, doc->r, a, o, e)) == 0)
            log_event(LOG_INFO, "cbec_act", "id=%s order=%s state=%s detail=%s",
                      doc->id, o->order_no ? o->order_no : "-", o->state,
                      log_q(o->detail ? o->detail : ""));
    } else {
        rc = err_set(e, ERR_INVALID, "cbec: record %s is no order, payment, "
                     "parcel waybill or inventory list", doc->id);
    }
    if (rc < 0 && !cb__transient(rc))
        *rc_out = rc, o->detail = arena_strdup(a, e->msg), rc = 0;
    return rc;
}

int node_cbec_take_many(node *n, const node_cbec_doc *docs, size_t k,
                        arena_t *a, node_cbec_res *out, int *rcs, err_t *e)
{
    store_cbec_put *puts = arena_alloc(a, (k ? k : 1) * sizeof *puts);
    store_cbec_res *res = arena_alloc(a, (k ? k : 1) * sizeof *res);
    size_t *at = arena_alloc(a, (k ? k : 1) * sizeof *at), m = 0;
    int rc = puts && res && at ? 0 : err_set(e, ERR_NOMEM, "cbec: out of memory");
    for (size_t i = 0; rc == 0 && i < k; i++) {
        int d = cbec_doc_of(docs[i].r);
        memset(&out[i], 0, sizeof out[i]);
        rcs[i] = 0;
        if (d < 0) {
            rc = cb__single(n, &docs[i], a, &out[i], &rcs[i], e);
        } else if ((rc = cb__prepare(n, &docs[i], (cbec_doc)d, a, &puts[m], e)) == 0) {
            at[m++] = i;
        } else if (!cb__transient(rc)) {
            rcs[i] = rc, out[i].detail = arena_strdup(a, e->msg), rc = 0;
        }
    }
    int64_t lim = n->cfg->cbec.match_timeout_s * 1000;
    for (size_t j = 0; rc == 0 && j < m; j += STORE_CBEC_ATTACH_MAX) {
        size_t c = m - j < STORE_CBEC_ATTACH_MAX ? m - j : STORE_CBEC_ATTACH_MAX;
        rc = store_cbec_attach_many(n->st, puts + j, c, node__now_ms(), lim, a,
                                    res + j, e);
    }
    return rc < 0 ? rc : cb__decide_all(n, docs, at, puts, res, m, a, out, e);
}

/* The id a document is sent under to dest: derived from its own, so a
 * dispatch done again after a crash sends it once. */
static int cb__fwd_id(const char *id, const char *dest, char *out, err_t *e)
{
    uint64_t ms;
    char k[160];
    if (msgid_parse(id, &ms, e) < 0)
        return err_wrap(e, "cbec: local message %s", id);
    int len = snprintf(k, sizeof k, "eport cbec %s %s", id, dest);
    return msgid_derive(ms, k, (size_t)len, out, e);
}

int node_cbec_forward(node *n, const char *id, const void *rec, size_t len,
                      const model_record *r, arena_t *a, node_cbec_res *out,
                      err_t *e)
{
    int row, dup = 0;
    const char *dest = cbec_route(n->cfg, r, &row);
    if (!strcmp(dest, n->cfg->node.id))
        return 1;
    memset(out, 0, sizeof *out);
    int rc = cb__fwd_id(id, dest, out->fwd, e);
    const void *p[1] = {rec};
    const char *ids[1] = {out->fwd};
    if (rc == 0)
        rc = node_submit_as(n, "record", &dest, 1, NULL, p, &len, 1, ids,
                            &dup, e);
    if (rc < 0)
        return rc;
    met_add(MET_CBEC_DOCS, "forwarded", 1);
    out->order_no = r->cbec.order_no, out->state = "forwarded", out->dest = dest;
    out->detail = row >= 0 ? arena_printf(a, "matched at %s (cbec_routes[%d])",
                                          dest, row)
                           : arena_printf(a, "matched at %s (cbec.clearing)", dest);
    return 0;
}

/* ---- documents peers sent, and time limits ---- */

/* One read of v1:in: its documents gathered (in the node's arena, reset
 * per read), then taken together. */
typedef struct cb_rd {
    node *n;
    node_cbec_doc docs[NODE_CBEC_BATCH];
    const char *origin[NODE_CBEC_BATCH];
    size_t k;
    store_pos last; /* the last entry read */
} cb_rd;

static int cb__entry(void *ctx, store_pos pos, const char *id,
                     const char *origin, const void *frame, size_t nb,
                     err_t *e)
{
    cb_rd *rd = ctx;
    arena_t *a = &rd->n->cb->a;
    env *v;
    model_record *r;
    err_t de;
    rd->last = pos;
    if (rd->k < NODE_CBEC_BATCH && env_decode(frame, nb, a, &v, &de) == 0 &&
        !strcmp(v->type, "record") &&
        model_unpack((const char *)v->payload, v->payload_len, a, &r, &de) == 0 &&
        node_cbec_is_ours(r)) {
        const char *cid = arena_strdup(a, id), *corg = arena_strdup(a, origin);
        if (!cid || !corg)
            return err_set(e, ERR_NOMEM, "cbec: out of memory");
        rd->origin[rd->k] = corg;
        rd->docs[rd->k++] = (node_cbec_doc){cid, v->payload, v->payload_len, r};
    }
    return 0;
}

/* The read's documents taken; a refusal is logged (the peer was told by
 * its receipt that the document arrived; what became of it is here). */
static int cb__take_read(node *n, cb_rd *rd, err_t *e)
{
    arena_t *a = &n->cb->a;
    node_cbec_res *out = arena_alloc(a, (rd->k ? rd->k : 1) * sizeof *out);
    int *rcs = arena_alloc(a, (rd->k ? rd->k : 1) * sizeof *rcs);
    if (!out || !rcs)
        return err_set(e, ERR_NOMEM, "cbec: out of memory");
    int rc = rd->k ? node_cbec_take_many(n, rd->docs, rd->k, a, out, rcs, e) : 0;
    for (size_t i = 0; rc == 0 && i < rd->k; i++)
        if (rcs[i] < 0)
            log_event(LOG_WARN, "cbec_refused", "id=%s origin=%s msg=%s",
                      rd->docs[i].id, rd->origin[i],
                      log_q(out[i].detail ? out[i].detail : ""));
    return rc;
}

static int cb__expired(void *ctx, const char *order_no, const char *why,
                       err_t *e)
{
    (void)ctx, (void)e;
    met_add(MET_CBEC_SETS, "expired", 1);
    log_event(LOG_WARN, "cbec_expired", "order=%s why=%s", order_no, log_q(why));
    return 0;
}

static int cb__in(node *n, err_t *e)
{
    struct node_cb *cb = n->cb;
    if (!cb->pos_known && store_cbec_inpos(n->st, &cb->pos, e) < 0)
        return e->code;
    cb->pos_known = 1;
    arena_reset(&cb->a); /* one read's documents live in it */
    cb_rd *rd = arena_alloc(&cb->a, sizeof *rd);
    if (!rd)
        return err_set(e, ERR_NOMEM, "cbec: out of memory");
    rd->n = n, rd->k = 0, rd->last = cb->pos;
    int got = store_in_after(n->st, cb->pos, NODE_CBEC_BATCH, cb__entry, rd, e);
    if (got > 0 && cb__take_read(n, rd, e) < 0)
        return e->code; /* read again from the same place next turn */
    err_t se;
    if (got > 0 && store_pos_cmp(rd->last, cb->pos) > 0 &&
        store_cbec_inpos_set(n->st, rd->last, &se) == 0)
        cb->pos = rd->last; /* else read again: taking twice is harmless */
    return got;
}

struct node_cb *node_cbec__get(node *n)
{
    if (!n->cb && (n->cb = calloc(1, sizeof *n->cb)))
        arena_init(&n->cb->a, CB_ARENA_MAX);
    return n->cb;
}

int node_cbec_drain(node *n, int64_t now)
{
    struct node_cb *cb = node_cbec__get(n);
    err_t e;
    int got = 0;
    if (!cb)
        return 0;
    if (now >= cb->next_poll_ms) {
        cb->next_poll_ms = now + CB_POLL_MS;
        if ((got = cb__in(n, &e)) < 0) {
            log_event(LOG_ERROR, "cbec_in", "msg=%s", log_q(e.msg));
            cb->pos_known = 0;
            got = 0;
        }
        if (got == NODE_CBEC_BATCH)
            cb->next_poll_ms = now;
    }
    if (now >= cb->next_expire_ms) {
        cb->next_expire_ms = now + CB_EXPIRE_MS;
        int64_t open;
        if (store_cbec_expire(n->st, now, CB_EXPIRE_BATCH, cb__expired, NULL,
                              &e) < 0)
            log_event(LOG_ERROR, "cbec_expire", "msg=%s", log_q(e.msg));
        else if ((open = store_cbec_open(n->st, &e)) >= 0)
            met_set(MET_CBEC_OPEN, "open", open);
    }
    return got;
}

void node_cbec_close(node *n)
{
    if (!n->cb)
        return;
    arena_free(&n->cb->a);
    free(n->cb);
    n->cb = NULL;
}

