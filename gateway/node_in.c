/* The inbound half of the peer links: frames read from the ROUTER a
 * batch at a time, each checked in the order of docs/protocol.md section
 * 9, its effect (deliver, forward, receipt home, dead letter) applied
 * with the link position in one Lua script per frame, pipelined, and
 * then one link ack per peer. Nothing is acknowledged before Redis
 * holds it: if the store fails, no ack goes out and the sender resends. */
#include "node_in.h"

#include <string.h>

#include "log.h"

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
    store_pos sp;
    err_t e;
    if (store_link_last(n->st, p->id, &sp, &e) < 0) {
        log_event(LOG_ERROR, "store", "op=link_last peer=%s msg=%s", p->id,
                  log_q(e.msg));
        return -1;
    }
    p->in_last = p->in_chain = (lpos){ sp.ms, sp.seq };
    p->in_known = 1;
    return 0;
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
    if (in__link_last(n, p) < 0)
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

/* The ops of one peer's frames, in order, and their results. */
static int in__apply_peer(node *n, in_batch *b, node_peer *p)
{
    store_link_op ops[NODE_IN_BATCH];
    size_t map[NODE_IN_BATCH], k = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->items[i].peer == p && b->items[i].kind == IN_OP) {
            in_item *it = &b->items[i];
            ops[k] = (store_link_op){ { it->prev.ms, it->prev.seq },
                                      { it->pos.ms, it->pos.seq }, &it->fx };
            map[k++] = i;
        }
    if (k == 0)
        return 0;
    store_link_result res[NODE_IN_BATCH];
    err_t e;
    if (store_link_apply(n->st, p->id, ops, k, res, &e) < 0) {
        log_event(LOG_ERROR, "store", "op=link_apply peer=%s frames=%zu "
                  "msg=%s", p->id, k, log_q(e.msg));
        p->in_known = 0; /* re-read the position once Redis is back */
        return -1;
    }
    int64_t replicas = n->cfg->redis.wait_replicas;
    if (replicas > 0 && store_wait_replicas(n->st, replicas,
                                            n->cfg->redis.timeout_ms, &e) < 0) {
        /* applied here but not yet safe: no ack, the sender resends and
         * finds the frames OLD once the replicas have caught up */
        log_event(LOG_WARN, "replicas", "peer=%s msg=%s", p->id, log_q(e.msg));
        p->in_known = 0;
        return -1;
    }
    for (size_t j = 0; j < k; j++)
        in_after(n, &b->items[map[j]], &res[j]);
    p->in_last = (lpos){ res[k - 1].last.ms, res[k - 1].last.seq };
    p->in_chain = p->in_last;
    return res[k - 1].status == STORE_LINK_GAP;
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

static void in__finish(node *n, in_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->items[i].kind == IN_OP)
            in_check(n, &b->items[i]);
    node__seal_all(n, b);
    for (size_t i = 0; i < n->npeers; i++) {
        node_peer *p = &n->peers[i];
        size_t mine = 0;
        for (size_t j = 0; j < b->n; j++)
            mine += b->items[j].peer == p;
        if (!mine)
            continue;
        int gap = in__apply_peer(n, b, p);
        if (gap >= 0)
            in__ack(n, b, p, gap);
    }
}

int node_in_drain(node *n)
{
    in_batch b = { 0 };
    b.items = arena_alloc(&n->arena, NODE_IN_BATCH * sizeof *b.items);
    if (!b.items)
        return 0;
    link_in in;
    err_t e;
    int more = 1;
    while (more && link_recv_in(n->link, &in, &e) == 1)
        more = in__take(n, &b, &in);
    in__finish(n, &b);
    int got = (int)b.n;
    arena_reset(&n->arena);
    return got;
}
