/* The inbound half of the peer links: frames read from the ROUTER a
 * batch at a time, each checked in the order of docs/protocol.md section
 * 9, its effect (deliver, forward, receipt home, dead letter) applied
 * with the link position by the link script, and then one link ack per
 * peer. Nothing is acknowledged before Redis holds it: if the store
 * fails, no ack goes out and the sender resends.
 *
 * A batch's link runs go to Redis on the node's second connection
 * (n->st_in) and are collected one turn later: while Redis applies batch
 * k, this thread sends, reads acks and checks batch k+1, so the node and
 * its Redis work at once instead of in turn. At most one batch is in
 * flight; its acks go out only after its results are in. */
#include "node_in.h"

#include <string.h>

#include "log.h"
#include "metrics.h"

/* Copies of a frame's parts into the batch arena. */
static int in__copy(node *n, in_item *it, const link_in *in)
{
    it->body = arena_alloc(&n->arena, in->bn ? in->bn : 1);
    if (!it->body)
        return -1;
    memcpy(it->body, in->body, in->bn);
    it->bn = in->bn;
    memcpy(it->rid, in->rid, in->rid_len);
    it->rid_len = in->rid_len;
    return 0;
}

/* A frame that cannot take a link position (wrong shape, no readable
 * header, a peer no longer configured): dead-lettered, never acked. */
static void in__dlq_raw(node *n, const link_in *in, const char *reason,
                        const char *why)
{
    char id[STORE_ID_MAX];
    err_t e;
    size_t cap = (size_t)n->cfg->delivery.max_frame_bytes;
    log_event(LOG_WARN, "refused", "reason=%s peer=%s msg=%s", reason,
              log_q(in->peer), log_q(why));
    if (store_dlq_add(n->st, reason, why, in->body ? in->body : "",
                      in->bn < cap ? in->bn : cap, id, &e) < 0)
        log_event(LOG_ERROR, "dlq_write", "msg=%s", log_q(e.msg));
}

/* Where a frame stands on its link before any work: old, out of order,
 * or next in line (then the chain moves on to it). */
static void in__place(in_item *it, node_peer *p)
{
    if (lpos_cmp(it->pos, p->in_chain) <= 0)
        it->kind = IN_OLD;
    else if (lpos_cmp(it->prev, p->in_chain) != 0)
        it->kind = IN_GAP;
    else {
        it->kind = IN_OP;
        p->in_chain = it->pos;
    }
}

static int in__link_last(node *n, node_peer *p)
{
    if (p->in_known)
        return 0;
    node_in_settle(n); /* read it after the batch in flight, not before */
    store_pos sp;
    err_t e;
    if (store_link_last(n->st_in, p->id, &sp, &e) < 0) {
        log_event(LOG_ERROR, "store", "op=link_last peer=%s msg=%s", p->id,
                  log_q(e.msg));
        return -1;
    }
    p->in_last = p->in_chain = (lpos){ sp.ms, sp.seq };
    p->in_known = 1;
    return 0;
}

/* A frame that follows more than we know of: another instance of this
 * node may have taken the link's frames meanwhile (the sender moved
 * between instances), so read the position again, once a round, rather
 * than ask for a resend of what is already stored. */
static int in__fresh(node *n, node_peer *p, lpos prev)
{
    if (lpos_cmp(prev, p->in_chain) <= 0 || p->in_reread == n->in_round)
        return 0;
    p->in_reread = n->in_round;
    p->in_known = 0;
    return in__link_last(n, p);
}

/* Take one frame into the batch; 0 when the batch must end here. */
static int in__take(node *n, in_batch *b, const link_in *in)
{
    node_peer *p = node__peer(n, in->peer);
    err_t e;
    lpos prev, pos;
    if (!p) {
        in__dlq_raw(n, in, "unknown-peer", "frame from a link peer this "
                    "node does not have (removed on reload?)");
        return 1;
    }
    if (in->parts != 2) {
        in__dlq_raw(n, in, "malformed", in->parts < 2 ?
                    "link frame: no envelope after the header" :
                    "link frame: more than 2 parts");
        return 1;
    }
    if (lframe_hdr_decode(in->hdr, in->hn, &prev, &pos, &e) < 0) {
        in__dlq_raw(n, in, "malformed", e.msg);
        return 1;
    }
    if (in__link_last(n, p) < 0 || in__fresh(n, p, prev) < 0)
        return 1; /* not acked: the sender resends */
    in_item *it = &b->items[b->n];
    memset(it, 0, sizeof *it);
    it->peer = p, it->prev = prev, it->pos = pos;
    if (in__copy(n, it, in) < 0)
        return 0; /* arena full: handle what we have first */
    in__place(it, p);
    b->n++;
    return b->n < NODE_IN_BATCH;
}

/* The run of one peer's frames: its ops in order (map: their items). */
static int in__run_make(node *n, in_batch *b, node_peer *p, in_run *r)
{
    memset(r, 0, sizeof *r);
    r->peer = p;
    r->ops = arena_alloc(&n->arena, b->n * sizeof *r->ops);
    r->map = arena_alloc(&n->arena, b->n * sizeof *r->map);
    r->res = arena_alloc(&n->arena, b->n * sizeof *r->res);
    if (!r->ops || !r->map || !r->res)
        return -1;
    for (size_t i = 0; i < b->n; i++)
        if (b->items[i].peer == p && b->items[i].kind == IN_OP) {
            in_item *it = &b->items[i];
            r->ops[r->k] = (store_link_op){ { it->prev.ms, it->prev.seq },
                                            { it->pos.ms, it->pos.seq },
                                            &it->fx };
            r->map[r->k++] = i;
        }
    return 0;
}

/* One run per peer with frames in the batch (with ops or not: each gets
 * its ack). A peer whose run cannot be made gets no ack: it resends. */
static void in__runs(node *n, in_batch *b)
{
    if (b->n == 0)
        return;
    b->runs = arena_alloc(&n->arena, n->npeers * sizeof *b->runs);
    for (size_t i = 0; b->runs && i < n->npeers; i++) {
        node_peer *p = &n->peers[i];
        size_t mine = 0;
        for (size_t j = 0; j < b->n; j++)
            mine += b->items[j].peer == p;
        if (mine && in__run_make(n, b, p, &b->runs[b->nruns]) == 0)
            b->nruns++;
    }
}

static void in__send(node *n, in_run *r)
{
    err_t e;
    if (r->k == 0)
        return;
    if (store_link_send(n->st_in, r->peer->id, r->ops, r->k, &r->pend,
                        &e) < 0) {
        log_event(LOG_ERROR, "store", "op=link_apply peer=%s frames=%zu "
                  "msg=%s", r->peer->id, r->k, log_q(e.msg));
        r->peer->in_known = 0; /* re-read the position once Redis is back */
        return;
    }
    r->sent = 1;
}

/* The results of a run sent: 1 when it ended in a gap, 0, or -1 when
 * nothing may be acked. */
static int in__collect(node *n, in_batch *b, in_run *r)
{
    node_peer *p = r->peer;
    err_t e;
    if (r->k == 0)
        return 0;
    if (!r->sent)
        return -1;
    r->sent = 0;
    if (store_link_collect(n->st_in, r->ops, &r->pend, r->res, &e) < 0) {
        log_event(LOG_ERROR, "store", "op=link_apply peer=%s frames=%zu "
                  "msg=%s", p->id, r->k, log_q(e.msg));
        p->in_known = 0;
        return -1;
    }
    size_t done = 0;
    for (size_t j = 0; j < r->k; j++) {
        in_after(n, &b->items[r->map[j]], &r->res[j]);
        done += r->res[j].status == STORE_LINK_DONE;
    }
    if (done)
        met_add(MET_PEER_IN, p->id, done);
    const store_link_result *last = &r->res[r->k - 1];
    p->in_last = (lpos){ last->last.ms, last->last.seq };
    if (last->status != STORE_LINK_DONE)
        p->in_chain = p->in_last; /* Redis knows better than our chain */
    return last->status == STORE_LINK_GAP;
}

/* One ack per peer, to the connection of its latest frame. */
static void in__ack(node *n, in_batch *b, node_peer *p, int gap)
{
    const in_item *last = NULL;
    for (size_t i = 0; i < b->n; i++)
        if (b->items[i].peer == p) {
            last = &b->items[i];
            gap = gap || (last->kind == IN_GAP &&
                          lpos_cmp(last->pos, p->in_last) > 0);
        }
    unsigned char a[LFRAME_MAX];
    size_t an;
    err_t e;
    if (!last || lframe_ack_encode(p->in_last, gap, a, &an, &e) < 0 ||
        link_reply(n->link, last->rid, last->rid_len, a, an, &e) < 0)
        return;
}

/* With redis.wait_replicas, whether the replicas hold all of b's runs
 * (one WAIT, once nothing else is owed on the connection). */
static int in__replicated(node *n, in_batch *b)
{
    int64_t replicas = n->cfg->redis.wait_replicas;
    err_t e;
    if (replicas <= 0 ||
        store_wait_replicas(n->st_in, replicas, n->cfg->redis.timeout_ms,
                            &e) >= 0)
        return 1;
    /* applied here but not yet safe: no ack, the senders resend and find
     * the frames OLD once the replicas have caught up */
    static log_gate gate; /* a replica down: a line a second, not a batch */
    unsigned long long held;
    if (log_gate_pass(&gate, 1000, &held))
        log_event(LOG_WARN, "replicas", "op=ack suppressed=%llu msg=%s", held,
                  log_q(e.msg));
    for (size_t i = 0; i < b->nruns; i++)
        b->runs[i].peer->in_known = 0;
    return 0;
}

/* Results, then acks, of every run of b. */
static void in__finish(node *n, in_batch *b)
{
    for (size_t i = 0; i < b->nruns; i++)
        b->runs[i].gap = in__collect(n, b, &b->runs[i]);
    if (!in__replicated(n, b))
        return;
    for (size_t i = 0; i < b->nruns; i++)
        if (b->runs[i].gap >= 0)
            in__ack(n, b, b->runs[i].peer, b->runs[i].gap);
}

void node_in_settle(node *n)
{
    in_batch *b = n->in_flight;
    if (!b)
        return;
    n->in_flight = NULL;
    in__finish(n, b);
    arena_reset(&n->in_park);
}

/* b's runs go out; b waits in the parked arena until settled. A batch
 * with nothing for Redis is finished at once. */
static void in__launch(node *n, in_batch *b)
{
    int sent = 0;
    for (size_t i = 0; i < b->nruns; i++) {
        in__send(n, &b->runs[i]);
        sent |= b->runs[i].sent;
    }
    if (!sent) {
        in__finish(n, b);
        arena_reset(&n->arena);
        return;
    }
    arena_t t = n->in_park; /* settled, so empty */
    n->in_park = n->arena;
    n->arena = t;
    n->in_flight = b;
}

int node_in_drain(node *n)
{
    in_batch *b = arena_zalloc(&n->arena, sizeof *b);
    if (b)
        b->items = arena_alloc(&n->arena, NODE_IN_BATCH * sizeof *b->items);
    if (!b || !b->items) {
        node_in_settle(n);
        arena_reset(&n->arena);
        return 0;
    }
    link_in in;
    err_t e;
    int more = 1;
    n->in_round++;
    while (more && link_recv_in(n->link, &in, &e) == 1)
        more = in__take(n, b, &in);
    for (size_t i = 0; i < b->n; i++)
        if (b->items[i].kind == IN_OP)
            in_check(n, &b->items[i]);
    node__seal_all(n, b);
    in__runs(n, b);
    node_in_settle(n); /* the batch before: its results and acks first */
    int got = (int)b->n;
    in__launch(n, b);
    return got;
}
