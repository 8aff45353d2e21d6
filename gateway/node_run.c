/* The node's loop: one thread, one zmq_poll (inside link_wait) over the
 * ROUTER and the DEALERs, and timers for resends, receipts and status.
 * Each turn: inbound frames (stored, then acked), acks of what we sent,
 * then new frames out; then the ledger, and the records local systems
 * handed in (node_local.c). SIGTERM lets the frames in flight be acked
 * for a moment, then returns; SIGHUP reloads peers, routes and the CRL
 * (and, through node_on_reload's hook, eportd's connectors). */
#include "node_int.h"

#include <stdlib.h>
#include <string.h>

#include "fdir_node.h"
#include "log.h"
#include "node_cbec.h"
#include "node_permit.h"
#include "store_mv.h"

/* How late a new outbox entry is noticed when its doorbell was missed
 * (the store's pub/sub connection down): normally it wakes us at once. */
#define RUN_IDLE_MS 20

void node_stop(node *n)
{
    n->stop = 1;
}

void node_reload(node *n)
{
    n->reload = 1;
}

void node_on_reload(node *n, node_reload_fn fn, void *ctx)
{
    n->on_reload = fn;
    n->on_reload_ctx = ctx;
}

/* Anything read from an outbox but not yet sent to a peer that is up? */
static int run__pending(const node *n)
{
    for (size_t i = 0; i < n->npeers; i++)
        if (n->peers[i].up && n->peers[i].nsent < n->peers[i].count)
            return 1;
    return 0;
}

static void run__turn(node *n, int64_t wait_ms)
{
    err_t e;
    if (n->wake)
        link_watch_fd(n->link, store_wake_fd(n->wake));
    if (link_wait(n->link, wait_ms, &e) < 0)
        log_event(LOG_ERROR, "poll", "msg=%s", log_q(e.msg));
    if (n->wake && link_fd_ready(n->link) &&
        store_wake_drain(n->wake, &e) < 0)
        log_event(LOG_WARN, "wake", "msg=%s", log_q(e.msg));
    /* one batch per turn: a busy inbound side must not starve sending
     * (receipts would pile up until the inbound traffic stops) */
    n->busy = node_in_drain(n) == NODE_IN_BATCH;
    node_out_acks(n);
}

/* What a reload cannot change without a restart. */
static int run__same_base(const cfg *a, const cfg *b)
{
    return !strcmp(a->node.id, b->node.id) &&
           !strcmp(a->node.listen, b->node.listen) &&
           !strcmp(a->redis.url, b->redis.url) &&
           !strcmp(a->redis.prefix, b->redis.prefix);
}

static void run__reload(node *n)
{
    cfg *c = NULL;
    err_t e;
    if (cfg_load(n->cfg->path, &c, &e) < 0) {
        log_event(LOG_ERROR, "reload", "msg=%s", log_q(c ? cfg_problems(c)
                                                         : e.msg));
        cfg_free(c);
        return;
    }
    if (!run__same_base(n->cfg, c))
        log_event(LOG_WARN, "reload", "msg=%s", log_q("node, listen and "
                  "redis keys need a restart; keeping the running ones"));
    node_in_settle(n); /* its runs point at the peers about to go */
    node_teardown_links(n);
    node_ha_close(n); /* its job numbers follow the peers about to go */
    cfg *old = n->cfg;
    n->cfg = c;
    int rc = node_setup_pki(n, &e);
    if (rc == 0)
        rc = node_setup_peers(n, &e);
    if (rc == 0)
        rc = node_setup_links(n, &e);
    if (rc < 0)
        log_event(LOG_ERROR, "reload", "msg=%s", log_q(e.msg));
    else
        log_event(LOG_INFO, "reloaded", "peers=%zu", n->npeers);
    if (node_setup_maps(n, &e) < 0)
        log_event(LOG_ERROR, "reload", "msg=%s", log_q(e.msg));
    if (n->on_reload) /* eportd's connectors borrow the cfg: move them */
        n->on_reload(n->on_reload_ctx, old, n->cfg);
    cfg_free(old);
}

static void run__drain(node *n)
{
    int64_t until = node__now_ms() + NODE_DRAIN_MS;
    for (;;) {
        size_t inflight = 0;
        for (size_t i = 0; i < n->npeers; i++)
            inflight += n->peers[i].up ? n->peers[i].nsent : 0;
        if (inflight == 0 || node__now_ms() >= until)
            break;
        run__turn(n, 10);
    }
}

/* The jobs one instance of the node does at a time (node_ha.c). */
static void run__jobs(node *n, int64_t now)
{
    if (node_ha_owns(n, NODE_JOB_AWAIT))
        node_await_tick(n, now);
    if (node_ha_owns(n, NODE_JOB_REPLAY))
        node_replay_tick(n, now);
    if (node_ha_owns(n, NODE_JOB_HEALTH))
        node_health_tick(n, now); /* health feed; the national center */
    n->lg_busy = n->lc_busy = n->pm_busy = 0;
    if (!node_ha_owns(n, NODE_JOB_LEDGER)) {
        n->pm_wake = 0; /* the owner's turn, not ours */
        return;
    }
    n->lg_busy = node_ledger_drain(n, now) == STORE_MV_BATCH;
    node_ledger_tick(n, now);
    n->lc_busy = node_local_drain(n, now) == NODE_LOCAL_BATCH;
    n->lc_busy |= node_cbec_drain(n, now) == NODE_CBEC_BATCH;
    n->pm_busy = node_permit_drain(n, now) == NODE_PERMIT_BATCH;
}

int node_run(node *n, err_t *e)
{
    if (n->flags & NODE_OFFLINE)
        return err_set(e, ERR_USAGE, "node_run: node opened offline");
    log_event(LOG_INFO, "start", "listen=%s peers=%zu redis=%s",
              link_endpoint(n->link), n->npeers, log_q(n->cfg->redis.url));
    while (!n->stop) {
        if (n->reload) {
            n->reload = 0;
            run__reload(n);
        }
        fdir_node_tick(n); /* a newer signed federation directory */
        run__turn(n, run__pending(n) || n->busy || n->lg_busy ||
                         n->lc_busy || n->pm_busy || n->pm_wake ||
                         n->in_flight ? 0 : RUN_IDLE_MS);
        node_ha_tick(n, node__now_ms());
        node_out_pump(n);
        int64_t now = node__now_ms();
        node_out_timers(n, now);
        run__jobs(n, now);
        node_status_write(n);
    }
    run__drain(n);
    node_in_settle(n);
    node_ha_release(n); /* the other instances take over at once */
    log_event(LOG_INFO, "stop", "delivered=%llu forwarded=%llu refused=%llu "
              "receipts=%llu", (unsigned long long)n->delivered,
              (unsigned long long)n->forwarded,
              (unsigned long long)n->refused,
              (unsigned long long)n->receipts);
    return 0;
}
