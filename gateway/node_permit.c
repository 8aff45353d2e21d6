/* Permits in eportd's loop (node_permit.h): requests out, requests in
 * (this node a permit's home), answers in; expiries and timeouts. The
 * movement side of answers is node_permit_mv.c's. Positions in v1:pmreq
 * and v1:pmin are saved after a batch's effects, so a crash handles a
 * batch again: every effect is idempotent or under a derived id. */
#include "node_int.h"
#include "node_permit.h"
#include "node_permit_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "node_cbec.h"
#include "store_pm.h"
#include "store_pmq.h"

#define NP_ARENA_MAX (64u << 20)
#define NP_POLL_MS 2           /* the queues read at least this often */
#define NP_TICK_MS 1000        /* expiries and timeouts */
#define NP_RETRY_MS 500        /* after a store error */
#define NP_IN_ENVS 32          /* envelopes read from v1:pmin a turn */
#define NP_SEND_MAX 64         /* requests in one envelope: an answer
                                  envelope is a movement's evidence, so
                                  it stays a few kB */

struct node_pm {
    arena_t a;                 /* one batch */
    store_pos req_pos, in_pos;
    int known;                 /* positions read from Redis */
    int64_t next_poll_ms, next_tick_ms;
};

/* A request of the batch: from v1:pmreq (ours, to send or apply) or from
 * v1:pmin (a neighbour's, this node its home). */
typedef struct np_req {
    const char *rid, *by;      /* request id; the requesting node */
    const char *env_id;        /* the envelope it came in (home side) */
    pm_req *q;                 /* 1.6 kB: in the arena, one per request */
    const void *p;             /* its payload */
    size_t n;
    uint64_t created_ms;
    char home[3];
} np_req;

typedef struct np_batch {
    node *n;
    np_req *req;
    size_t nreq, req_cap;
    store_pmq_ans *ans;        /* answers delivered (ans[i].ans in arena) */
    size_t nans, ans_cap;
    store_pos last;
} np_batch;

/* The node id of region's member: a configured peer, else a route
 * destination of that region; NULL when the federation has none. */
static const char *np__home_node(node *n, const char *region)
{
    const cfg *c = n->cfg;
    for (size_t i = 0; i < c->npeers; i++)
        if (!strcmp(c->peers[i].region, region))
            return c->peers[i].id;
    for (size_t i = 0; i < c->nroutes; i++) {
        const char *r = node_region_of(n, c->routes[i].dest);
        if (r && !strcmp(r, region))
            return c->routes[i].dest;
    }
    return NULL;
}

static void *np__copy(arena_t *a, const void *p, size_t n)
{
    void *c = arena_alloc(a, n ? n : 1);
    if (c)
        memcpy(c, p, n);
    return c;
}

/* ---- answers: stored, then what they mean for a movement ---- */

/* After answers are stored: a movement's gate moves (a replay finds the
 * answer stored before and acts on the stored one, which is the same or
 * the timeout's that came first). */
static void np__after_answers(node *n, const store_pmq_ans *a,
                              const store_pmq_res *res, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        if (res[i].rc == 0 && a[i].ans->op == PM_OP_RESERVE &&
            node_cbec_is_allowance(a[i].ans->permit))
            met_add(MET_CBEC_SETS, a[i].ans->code == PM_C_OK ? "allowance_drawn"
                                                            : "allowance_refused", 1);
        if (res[i].rc == 0 && res[i].for_ref[0])
            np_mv_answered(n, res[i].for_ref, a[i].rid, a[i].ans, a[i].frame,
                           a[i].frame_n);
        else if (res[i].rc == 1)
            np_mv_answered_again(n, a[i].rid, &n->pm->a);
        else if (res[i].rc < 0)
            log_event(LOG_WARN, "permit_answer", "rid=%s permit=%s msg=%s",
                      a[i].rid, a[i].ans->permit, log_q(res[i].msg));
    }
}

int np_store_answers(node *n, store_pmq_ans *a, size_t k, err_t *e)
{
    store_pmq_res *res = arena_zalloc(&n->pm->a, (k ? k : 1) * sizeof *res);
    if (!res)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    for (size_t i = 0; i < k; i += STORE_PMQ_BATCH) {
        size_t m = k - i < STORE_PMQ_BATCH ? k - i : STORE_PMQ_BATCH;
        if (store_pmq_answer_many(n->st, a + i, m, res + i, e) < 0)
            return ERR_IO;
    }
    np__after_answers(n, a, res, k);
    return 0;
}

/* Answers this node decided itself (home here, no home, a timeout):
 * their payloads, then stored like any. */
int np_answer_local(node *n, const char *const *rids, pm_ans *ans, size_t k,
                    err_t *e)
{
    arena_t *a = &n->pm->a;
    store_pmq_ans *sa = arena_zalloc(a, (k ? k : 1) * sizeof *sa);
    if (!sa)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    for (size_t i = 0; i < k; i++) {
        buf_t b;
        buf_init(&b, PM_MAX_BYTES);
        int rc = pm_ans_encode(&ans[i], &b, e);
        void *p = rc == 0 ? np__copy(a, b.p, b.len) : NULL;
        sa[i] = (store_pmq_ans){rids[i], &ans[i], p, b.len, NULL, 0, NULL};
        buf_free(&b);
        if (!p)
            return rc < 0 ? rc : err_set(e, ERR_NOMEM, "permits: no memory");
    }
    return np_store_answers(n, sa, k, e);
}

/* ---- this node as the home: apply, answer ---- */

/* The length of the run of ops from ops[0] of one sort (buyers'
 * allowances or not), at most STORE_PM_BATCH. */
static size_t np__run(const store_pm_op *ops, size_t k)
{
    int allow = node_cbec_is_allowance(ops[0].q->permit);
    size_t m = 1;
    while (m < k && m < STORE_PM_BATCH &&
           node_cbec_is_allowance(ops[m].q->permit) == allow)
        m++;
    return m;
}

static int np__apply(node *n, np_req **rq, size_t k, pm_ans *out, err_t *e)
{
    store_pm_op *ops = arena_zalloc(&n->pm->a, (k ? k : 1) * sizeof *ops);
    if (!ops)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    for (size_t i = 0; i < k; i++)
        ops[i] = (store_pm_op){rq[i]->q, rq[i]->rid, rq[i]->by};
    int64_t now = node__now_ms(), ttl = n->cfg->permits.reserve_ttl_s * 1000;
    for (size_t i = 0, m; i < k; i += m) {
        m = np__run(ops + i, k - i);
        int allow = node_cbec_is_allowance(ops[i].q->permit);
        /* a buyer's allowance is opened on first use; what a parcel holds
         * stays held until its release confirms or its withdrawal
         * returns it */
        if (allow && node_cbec_allow_open(n, ops + i, m, e) < 0)
            return e->code;
        if (store_pm_apply(n->st, ops + i, m, now, allow ? NODE_CBEC_HOLD_MS : ttl,
                           &n->pm->a, out + i, e) < 0)
            return ERR_IO;
    }
    return 0;
}

/* The payload of a batch envelope: items[i] each pl[i][0..len[i]). */
static int np__batch(arena_t *a, const void *const *pl, const size_t *len,
                     size_t k, const void **out, size_t *out_n, err_t *e)
{
    pm_item it[NP_SEND_MAX];
    buf_t b;
    for (size_t i = 0; i < k; i++)
        it[i] = (pm_item){pl[i], len[i]};
    buf_init(&b, PM_BATCH_MAX_BYTES);
    int rc = pm_batch_encode(it, k, &b, e);
    *out = rc == 0 ? np__copy(a, b.p, b.len) : NULL;
    *out_n = b.len;
    buf_free(&b);
    if (rc == 0 && !*out)
        rc = err_set(e, ERR_NOMEM, "permits: out of memory");
    return rc;
}

/* One envelope of type to dest carrying the batch, under an id derived
 * from key: a batch decided again after a crash goes out once. */
static int np__submit(node *n, const char *type, const char *dest,
                      uint64_t ms, const char *key, const void *const *pl,
                      const size_t *len, size_t k, err_t *e)
{
    const void *p;
    size_t pn;
    char id[MSGID_LEN + 1];
    const char *as = id;
    int dup = 0;
    int rc = np__batch(&n->pm->a, pl, len, k, &p, &pn, e);
    if (rc == 0)
        rc = msgid_derive(ms, key, strlen(key), id, e);
    if (rc == 0)
        rc = node_submit_as(n, type, &dest, 1, NULL, &p, &pn, 1, &as, &dup, e);
    return rc;
}

/* The answers to one request envelope, in one envelope back: its id is
 * derived from the request envelope's, so answering again is a dup. */
static int np__send_answers(node *n, np_req **rq, pm_ans *ans, size_t k,
                            err_t *e)
{
    arena_t *a = &n->pm->a;
    const void **pl = arena_zalloc(a, k * sizeof *pl);
    size_t *len = arena_zalloc(a, k * sizeof *len);
    if (!pl || !len)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    for (size_t i = 0; i < k; i++) {
        buf_t b;
        buf_init(&b, PM_MAX_BYTES);
        int rc = pm_ans_encode(&ans[i], &b, e);
        pl[i] = rc == 0 ? np__copy(a, b.p, b.len) : NULL;
        len[i] = b.len;
        buf_free(&b);
        if (rc == 0 && !pl[i])
            rc = err_set(e, ERR_NOMEM, "permits: out of memory");
        if (rc < 0)
            return rc;
    }
    char key[160];
    snprintf(key, sizeof key, "eport permit-answer %s %s", n->cfg->node.id,
             rq[0]->env_id);
    return np__submit(n, PM_ANS_TYPE, rq[0]->by, rq[0]->created_ms, key, pl,
                      len, k, e);
}

/* Requests from neighbours (this node their permits' home), applied in
 * order, then answered per request envelope. */
static int np__serve(node *n, np_batch *b, err_t *e)
{
    size_t k = 0;
    np_req **rq = arena_zalloc(&n->pm->a, (b->nreq + 1) * sizeof *rq);
    pm_ans *ans = arena_zalloc(&n->pm->a, (b->nreq + 1) * sizeof *ans);
    if (!rq || !ans)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    for (size_t i = 0; i < b->nreq; i++)
        rq[k++] = &b->req[i];
    if (!k || np__apply(n, rq, k, ans, e) < 0)
        return k ? ERR_IO : 0;
    for (size_t i = 0; i < k;) {
        size_t j = i + 1;
        while (j < k && !strcmp(rq[j]->env_id, rq[i]->env_id))
            j++;
        if (np__send_answers(n, rq + i, ans + i, j - i, e) < 0)
            return ERR_IO;
        i = j;
    }
    return 0;
}

/* ---- v1:pmin: requests to serve and answers to keep ---- */

static int np__in_req(np_batch *b, const env *v, const pm_item *it,
                     size_t k, err_t *e)
{
    arena_t *a = &b->n->pm->a;
    const char *eid = arena_strdup(a, v->id), *by = arena_strdup(a, v->origin);
    if (!eid || !by)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    for (size_t i = 0; i < k; i++) {
        np_req *r = &b->req[b->nreq];
        *r = (np_req){.by = by, .env_id = eid, .p = it[i].p, .n = it[i].n,
                      .created_ms = v->created_ms,
                      .q = arena_alloc(a, sizeof *r->q)};
        if (!r->q)
            return err_set(e, ERR_NOMEM, "permits: out of memory");
        if (pm_req_decode(it[i].p, it[i].n, a, r->q, e) < 0 || !r->q->id)
            return 1; /* checked when delivered: said, and skipped */
        r->rid = r->q->id;
        pm_id_region(r->q->permit, r->home);
        b->nreq++;
    }
    return 0;
}

/* Answers keep the whole envelope (frame, stored once under its id) as
 * the home's signed word for each. */
static int np__in_ans(np_batch *b, const env *v, const pm_item *it,
                      size_t k, const void *frame, size_t len, err_t *e)
{
    arena_t *a = &b->n->pm->a;
    const char *fid = arena_strdup(a, v->id);
    pm_ans *ans = arena_alloc(a, (k ? k : 1) * sizeof *ans);
    if (!ans || !fid)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    for (size_t i = 0; i < k; i++) {
        if (pm_ans_decode(it[i].p, it[i].n, a, &ans[i], e) < 0)
            return 1;
        b->ans[b->nans++] = (store_pmq_ans){ans[i].req, &ans[i], it[i].p,
                                            it[i].n, frame, len, fid};
    }
    return 0;
}

/* Room for k more requests or answers in the batch: the arrays grow
 * with what comes (a fixed worst case of 32 full envelopes would be
 * megabytes to clear at every poll). */
static int np__room(np_batch *b, int req, size_t k, err_t *e)
{
    size_t have = req ? b->nreq : b->nans, cap = req ? b->req_cap : b->ans_cap;
    if (have + k <= cap)
        return 0;
    size_t ncap = 2 * (have + k), sz = req ? sizeof *b->req : sizeof *b->ans;
    void *p = arena_alloc(&b->n->pm->a, ncap * sz);
    if (!p)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    if (have)
        memcpy(p, req ? (void *)b->req : (void *)b->ans, have * sz);
    if (req)
        b->req = p, b->req_cap = ncap;
    else
        b->ans = p, b->ans_cap = ncap;
    return 0;
}

/* The envelope's items, with room for them in the batch. */
static int np__items(np_batch *b, const env *v, pm_item **it, size_t *k,
                     err_t *e)
{
    *it = arena_alloc(&b->n->pm->a, PM_BATCH_MAX * sizeof **it);
    if (!*it)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    if (pm_batch_split(v->payload, v->payload_len, *it, PM_BATCH_MAX, k,
                       e) < 0)
        return 1;
    return np__room(b, !strcmp(v->type, PM_REQ_TYPE), *k, e);
}

static int np__in(void *ctx, store_pos pos, const char *id,
                  const char *origin, const void *frame, size_t len,
                  err_t *e)
{
    np_batch *b = ctx;
    arena_t *a = &b->n->pm->a;
    env *v;
    pm_item *it;
    size_t k = 0;
    (void)origin;
    void *copy = np__copy(a, frame, len);
    if (!copy)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    err_t de;
    int rc = env_decode(copy, len, a, &v, &de);
    b->last = pos;
    if (rc == 0)
        rc = np__items(b, v, &it, &k, &de);
    if (rc == 0)
        rc = !strcmp(v->type, PM_REQ_TYPE)
                 ? np__in_req(b, v, it, k, &de)
                 : np__in_ans(b, v, it, k, copy, len, &de);
    if (rc != 0)
        log_event(LOG_ERROR, "permit_skip", "id=%s msg=%s", id,
                  log_q(de.msg));
    return rc < 0 && de.code == ERR_NOMEM ? err_set(e, ERR_NOMEM, "%s",
                                                    de.msg) : 0;
}

static int np__drain_in(node *n, err_t *e)
{
    struct node_pm *pm = n->pm;
    np_batch b = {.n = n, .last = pm->in_pos};
    int got = store_pmin_after(n->st, pm->in_pos, NP_IN_ENVS, np__in, &b, e);
    if (got <= 0)
        return got;
    if (np__serve(n, &b, e) < 0 || np_store_answers(n, b.ans, b.nans, e) < 0 ||
        store_pmin_pos_set(n->st, b.last, e) < 0)
        return ERR_IO;
    pm->in_pos = b.last;
    return got;
}

/* ---- v1:pmreq: our requests, sent to their homes ---- */

static int np__req(void *ctx, store_pos pos, const char *rid, const void *q,
                   size_t len, err_t *e)
{
    np_batch *b = ctx;
    arena_t *a = &b->n->pm->a;
    np_req *r = &b->req[b->nreq];
    b->last = pos;
    *r = (np_req){.rid = arena_strdup(a, rid), .by = b->n->cfg->node.id,
                  .p = np__copy(a, q, len), .n = len,
                  .q = arena_alloc(a, sizeof *r->q)};
    if (!r->rid || !r->p || !r->q)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    err_t de;
    if (pm_req_decode(r->p, len, a, r->q, &de) < 0) {
        log_event(LOG_ERROR, "permit_skip", "rid=%s msg=%s", rid,
                  log_q(de.msg));
        return 0;
    }
    pm_id_region(r->q->permit, r->home);
    b->nreq++;
    return 0;
}

/* Requests for permits of a region with no member: answered here. */
static int np__no_home(node *n, np_req **rq, size_t k, err_t *e)
{
    pm_ans *ans = arena_zalloc(&n->pm->a, k * sizeof *ans);
    const char **rids = arena_zalloc(&n->pm->a, k * sizeof *rids);
    if (!ans || !rids)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    for (size_t i = 0; i < k; i++) {
        const pm_req *q = rq[i]->q;
        rids[i] = rq[i]->rid;
        ans[i] = (pm_ans){.req = rq[i]->rid, .op = q->op, .permit = q->permit,
                          .key = q->key, .code = PM_C_UNKNOWN,
                          .text = np_fmt(&n->pm->a, "no member of "
                                                "region %s in this "
                                                "federation", rq[i]->home),
                          .at_ms = (uint64_t)node__now_ms()};
    }
    return np_answer_local(n, rids, ans, k, e);
}

/* Requests for permits homed here: applied at once, answered locally. */
static int np__self(node *n, np_req **rq, size_t k, err_t *e)
{
    pm_ans *ans = arena_zalloc(&n->pm->a, k * sizeof *ans);
    const char **rids = arena_zalloc(&n->pm->a, k * sizeof *rids);
    if (!ans || !rids)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    for (size_t i = 0; i < k; i++)
        rids[i] = rq[i]->rid;
    if (np__apply(n, rq, k, ans, e) < 0)
        return ERR_IO;
    return np_answer_local(n, rids, ans, k, e);
}

/* Requests to their home, NP_SEND_MAX an envelope; the envelope's id
 * is derived from its first request's, so a batch read again after a
 * crash (the same requests first) goes out once. */
static int np__send(node *n, np_req **rq, size_t k, err_t *e)
{
    const char *dest = np__home_node(n, rq[0]->home);
    if (!dest)
        return np__no_home(n, rq, k, e);
    const void *pl[NP_SEND_MAX];
    size_t len[NP_SEND_MAX];
    for (size_t i = 0; i < k; i += NP_SEND_MAX) {
        size_t m = k - i < NP_SEND_MAX ? k - i : NP_SEND_MAX;
        for (size_t j = 0; j < m; j++)
            pl[j] = rq[i + j]->p, len[j] = rq[i + j]->n;
        uint64_t ms = 0;
        char key[160];
        msgid_time(rq[i]->rid, &ms);
        snprintf(key, sizeof key, "eport permit-request %s %s %zu",
                 n->cfg->node.id, rq[i]->rid, m);
        if (np__submit(n, PM_REQ_TYPE, dest, ms, key, pl, len, m, e) < 0)
            return ERR_IO;
    }
    return 0;
}

/* The batch's requests grouped by home region (order kept per home). */
static int np__dispatch(node *n, np_batch *b, err_t *e)
{
    np_req **rq = arena_zalloc(&n->pm->a, (b->nreq + 1) * sizeof *rq);
    char *done = arena_zalloc(&n->pm->a, b->nreq + 1);
    if (!rq || !done)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    for (size_t i = 0; i < b->nreq; i++) {
        if (done[i])
            continue;
        size_t k = 0;
        for (size_t j = i; j < b->nreq; j++)
            if (!done[j] && !strcmp(b->req[j].home, b->req[i].home))
                rq[k++] = &b->req[j], done[j] = 1;
        int rc = !strcmp(b->req[i].home, n->cfg->node.region)
                     ? np__self(n, rq, k, e)
                     : np__send(n, rq, k, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int np__drain_req(node *n, err_t *e)
{
    struct node_pm *pm = n->pm;
    np_batch b = {.n = n, .last = pm->req_pos};
    b.req = arena_alloc(&pm->a, STORE_PMQ_BATCH * sizeof *b.req);
    if (!b.req)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    int got = store_pmq_after(n->st, pm->req_pos, STORE_PMQ_BATCH, np__req,
                              &b, e);
    if (got <= 0)
        return got;
    if (np__dispatch(n, &b, e) < 0 || store_pmq_pos_set(n->st, b.last, e) < 0)
        return ERR_IO;
    pm->req_pos = b.last;
    return got;
}

/* ---- the loop's turn ---- */

static int np__open(node *n, err_t *e)
{
    if (!n->pm) {
        n->pm = calloc(1, sizeof *n->pm);
        if (!n->pm)
            return err_set(e, ERR_NOMEM, "permits: out of memory");
        arena_init(&n->pm->a, NP_ARENA_MAX);
    }
    if (n->pm->known)
        return 0;
    if (store_pmq_pos_get(n->st, &n->pm->req_pos, e) < 0 ||
        store_pmin_pos_get(n->st, &n->pm->in_pos, e) < 0)
        return ERR_IO;
    n->pm->known = 1;
    return 0;
}

arena_t *np_arena(node *n)
{
    return &n->pm->a;
}

void node_permit_close(node *n)
{
    if (!n->pm)
        return;
    arena_free(&n->pm->a);
    free(n->pm);
    n->pm = NULL;
}

int node_permit_drain(node *n, int64_t now)
{
    err_t e;
    if (n->cfg->node.role == CFG_ROLE_NATIONAL || np__open(n, &e) < 0)
        return 0;
    struct node_pm *pm = n->pm;
    if (now < pm->next_poll_ms && !n->pm_wake)
        return 0;
    n->pm_wake = 0;
    pm->next_poll_ms = now + NP_POLL_MS;
    arena_reset(&pm->a);
    int a = np__drain_req(n, &e);
    arena_reset(&pm->a);
    int b = a < 0 ? 0 : np__drain_in(n, &e);
    if (a < 0 || b < 0) {
        log_event(LOG_ERROR, "permits", "msg=%s", log_q(e.msg));
        pm->next_poll_ms = now + NP_RETRY_MS;
        return 0;
    }
    if (now >= pm->next_tick_ms) {
        pm->next_tick_ms = now + NP_TICK_MS;
        arena_reset(&pm->a);
        np_tick(n, now);
    }
    int got = a > b ? a : b;
    if (got == NODE_PERMIT_BATCH)
        pm->next_poll_ms = now;
    return got;
}
