/* The outbound half of each peer link (docs/protocol.md section 6): the
 * peer's outbox read in order into a window, sent with [prev, pos]
 * headers, dropped when acknowledged, and resent from the receiver's
 * last position after a gap, a timeout or a reconnect. */
#include "node_int.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "store_repl.h"

#define NODE_LOG_GATE_MS 1000 /* a repeated failure: one line a second */

static const lpos lpos_zero;

static store_pos node__sp(lpos p)
{
    return (store_pos){ p.ms, p.seq };
}

void node_out_free(node_peer *p)
{
    for (size_t i = 0; i < p->count; i++)
        free(p->win[i].frame);
    free(p->win);
    p->win = NULL;
    p->count = p->nsent = p->cap = p->bytes = 0;
}

void node_out_reset(node_peer *p)
{
    node_out_free(p);
    p->read_upto = p->prev = p->acked = p->gap_at = p->safe = lpos_zero;
    p->rto_ms = 0;
}

/* Frames on the wire go back to "read only": the next pump sends them
 * again, the first one following what the receiver has. */
static void node__rewind(node_peer *p, lpos after, const char *why)
{
    if (p->nsent)
        log_event(LOG_DEBUG, "resend", "peer=%s frames=%zu why=%s", p->id,
                  p->nsent, why);
    p->resent += p->nsent;
    p->nsent = 0;
    p->prev = after;
}

typedef struct fill_ctx {
    node_peer *p;
    size_t max_bytes;
} fill_ctx;

static int node__fill_one(void *ctx, store_pos pos, const void *frame,
                          size_t n, err_t *e)
{
    fill_ctx *f = ctx;
    node_peer *p = f->p;
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        node_win *w = realloc(p->win, cap * sizeof *w);
        if (!w)
            return err_set(e, ERR_NOMEM, "outbox window: out of memory");
        p->win = w, p->cap = cap;
    }
    unsigned char *copy = malloc(n ? n : 1);
    if (!copy)
        return err_set(e, ERR_NOMEM, "outbox window: out of memory");
    memcpy(copy, frame, n);
    p->win[p->count++] = (node_win){ { pos.ms, pos.seq }, copy, n };
    p->bytes += n;
    p->read_upto = (lpos){ pos.ms, pos.seq };
    return 0;
}

static void node__fill(node *n, node_peer *p)
{
    size_t window = (size_t)n->cfg->delivery.window;
    if (p->count >= window || p->bytes >= NODE_WIN_BYTES)
        return;
    fill_ctx f = { p, NODE_WIN_BYTES };
    err_t e;
    static log_gate gate; /* Redis down: one line a second, not a turn */
    unsigned long long held;
    if (store_outbox_after(n->st, p->id, node__sp(p->read_upto),
                           window - p->count, node__fill_one, &f, &e) < 0 &&
        log_gate_pass(&gate, NODE_LOG_GATE_MS, &held))
        log_event(LOG_ERROR, "outbox_read", "peer=%s suppressed=%llu msg=%s",
                  p->id, held, log_q(e.msg));
}

static void node__send(node *n, node_peer *p, int64_t now)
{
    unsigned char hdr[LFRAME_MAX];
    size_t hn;
    err_t e;
    size_t before = p->nsent;
    if (p->nsent == 0 && p->count > 0)
        p->progress_ms = now; /* the resend timer starts with the first */
    while (p->nsent < p->count &&
           lpos_cmp(p->win[p->nsent].pos, p->safe) <= 0) {
        node_win *w = &p->win[p->nsent];
        if (lframe_hdr_encode(p->prev, w->pos, hdr, &hn, &e) < 0 ||
            link_send(n->link, p->link, hdr, hn, w->frame, w->n, &e) < 0)
            break; /* ERR_AGAIN: peer down or queue full; try later */
        p->prev = w->pos;
        p->nsent++;
        p->sent++;
    }
    if (p->nsent > before)
        met_add(MET_PEER_OUT, p->id, p->nsent - before);
}

static void node__updown(node_peer *p, int up)
{
    if (up == p->up)
        return;
    p->up = up;
    p->stall_from = node__now_ms();
    log_event(up ? LOG_INFO : LOG_WARN, up ? "link_up" : "link_down",
              "peer=%s inflight=%zu", p->id, p->nsent);
    /* frames on a dropped connection may be lost: send them again */
    node__rewind(p, p->acked, "reconnect");
}

/* With redis.wait_replicas, frames read are sent only once the replicas
 * hold them (store_repl.h: one barrier for every peer's new frames), so
 * that a Redis failover cannot take back what a peer already has. */
static void node__safe(node *n)
{
    int64_t replicas = n->cfg->redis.wait_replicas;
    int fresh = 0;
    for (size_t i = 0; i < n->npeers; i++)
        fresh |= lpos_cmp(n->peers[i].safe, n->peers[i].read_upto) < 0;
    if (replicas <= 0 || !fresh) {
        for (size_t i = 0; i < n->npeers; i++)
            n->peers[i].safe = n->peers[i].read_upto;
        return;
    }
    lpos upto[LINK_PEERS_MAX];
    for (size_t i = 0; i < n->npeers && i < LINK_PEERS_MAX; i++)
        upto[i] = n->peers[i].read_upto;
    err_t e;
    static log_gate gate;
    unsigned long long held;
    if (store_repl_barrier(n->st, replicas, n->cfg->redis.timeout_ms,
                           &e) < 0) {
        if (log_gate_pass(&gate, NODE_LOG_GATE_MS, &held))
            log_event(LOG_WARN, "replicas", "op=send suppressed=%llu msg=%s",
                      held, log_q(e.msg));
        return;
    }
    for (size_t i = 0; i < n->npeers && i < LINK_PEERS_MAX; i++)
        n->peers[i].safe = upto[i];
}

void node_out_pump(node *n)
{
    int64_t now = node__now_ms();
    for (size_t i = 0; i < n->npeers; i++) {
        node_peer *p = &n->peers[i];
        if (p->link < 0)
            continue;
        node__updown(p, link_peer_up(n->link, p->link));
        if (node_ha_owns(n, NODE_JOB_FIXED + (int)i))
            node__fill(n, p);
    }
    node__safe(n);
    for (size_t i = 0; i < n->npeers; i++)
        if (n->peers[i].link >= 0 && n->peers[i].up)
            node__send(n, &n->peers[i], now);
}

/* Forget the window's frames at or before last: the receiver has them. */
static void node__drop_upto(node_peer *p, lpos last)
{
    size_t k = 0;
    while (k < p->count && lpos_cmp(p->win[k].pos, last) <= 0) {
        p->bytes -= p->win[k].n;
        free(p->win[k].frame);
        k++;
    }
    if (k > 0 && k < p->count) /* win is NULL when empty (a reset) */
        memmove(p->win, p->win + k, (p->count - k) * sizeof *p->win);
    p->count -= k;
    p->nsent = p->nsent > k ? p->nsent - k : 0;
    if (lpos_cmp(p->read_upto, last) < 0)
        p->read_upto = last;
}

static void node__ack(node *n, node_peer *p, lpos last, int gap)
{
    int64_t now = node__now_ms();
    p->acks++;
    p->last_ack_ms = p->stall_from = now;
    if (lpos_cmp(last, p->acked) != 0) {
        err_t e;
        node__drop_upto(p, last);
        if (store_outbox_trim_upto(n->st, p->id, node__sp(last), &e) < 0)
            log_event(LOG_ERROR, "outbox_trim", "peer=%s msg=%s", p->id,
                      log_q(e.msg));
        p->acked = last;
        p->progress_ms = now;
        p->rto_ms = 0;
    }
    /* every frame sent after a gap draws the same gap ack: rewind once */
    if (gap && lpos_cmp(p->gap_at, last) != 0) {
        p->gap_at = last;
        node__rewind(p, last, "gap");
    } else if (!gap) {
        p->gap_at = lpos_zero;
    }
}

void node_out_acks(node *n)
{
    int idx;
    const void *data;
    size_t len;
    err_t e;
    while (link_recv_ack(n->link, &idx, &data, &len, &e) == 1) {
        node_peer *p = NULL;
        for (size_t i = 0; i < n->npeers && !p; i++)
            if (n->peers[i].link == idx)
                p = &n->peers[i];
        lpos last;
        int gap;
        if (!p || lframe_ack_decode(data, len, &last, &gap, &e) < 0) {
            log_event(LOG_WARN, "bad_ack", "peer=%s msg=%s",
                      p ? p->id : "?", log_q(p ? e.msg : "unknown link"));
            continue;
        }
        node__ack(n, p, last, gap);
    }
}

/* Connected, frames in flight, yet no ack for NODE_STALL_MS: the
 * instance we reach is alive but useless (cut off from its Redis, it
 * stores nothing and acks nothing). A peer with other endpoints (other
 * instances of its node) is moved to the next; heartbeats alone would
 * never notice, the connection being fine. */
static void node__stalled(node *n, node_peer *p, int64_t now)
{
    if (!p->up || p->nsent == 0 || now - p->stall_from < NODE_STALL_MS)
        return;
    p->stall_from = now;
    if (link_peer_abandon(n->link, p->link, "no acks") == 1)
        log_event(LOG_WARN, "peer_stalled", "peer=%s inflight=%zu "
                  "since_ms=%d", p->id, p->nsent, NODE_STALL_MS);
}

void node_out_timers(node *n, int64_t now)
{
    const cfg_delivery *d = &n->cfg->delivery;
    for (size_t i = 0; i < n->npeers; i++) {
        node_peer *p = &n->peers[i];
        if (p->rto_ms == 0)
            p->rto_ms = d->retry_initial_ms;
        if (p->link >= 0)
            node__stalled(n, p, now);
        if (p->nsent == 0 || now - p->progress_ms < p->rto_ms)
            continue;
        node__rewind(p, p->acked, "timeout");
        p->gap_at = lpos_zero;
        p->progress_ms = now;
        p->rto_ms = p->rto_ms * 2 < d->retry_max_ms ? p->rto_ms * 2
                                                      : d->retry_max_ms;
    }
}
