/* The peers' link status in Redis (hash v1:peer:<id>), written about
 * once a second for `eportctl peers` and the national center: a reader
 * needs no connection to the daemon, and sees a dead daemon as a stale
 * `at`. On the same tick, the gauges of GET /metrics (queue depths,
 * links up) and the backlog intake refuses submissions over. */
#include "node_int.h"

#include <stdio.h>

#include "intake.h"
#include "log.h"
#include "metrics.h"
#include "store_local.h"

#define ST_FIELDS 12

static void status__pos(char *out, size_t n, lpos p)
{
    snprintf(out, n, "%llu-%llu", (unsigned long long)p.ms,
             (unsigned long long)p.seq);
}

static void status__peer(node *n, const node_peer *p, int64_t now)
{
    char v[ST_FIELDS][32];
    int64_t oldest = p->count && p->nsent ? now - p->progress_ms : 0;
    snprintf(v[0], 32, "%s", p->up ? "up" : "down");
    snprintf(v[1], 32, "%zu", p->nsent);
    status__pos(v[2], 32, p->acked);
    snprintf(v[3], 32, "%lld", (long long)p->last_ack_ms);
    snprintf(v[4], 32, "%lld", (long long)p->last_receipt_ms);
    snprintf(v[5], 32, "%lld", (long long)oldest);
    snprintf(v[6], 32, "%llu", (unsigned long long)p->sent);
    snprintf(v[7], 32, "%llu", (unsigned long long)p->acks);
    snprintf(v[8], 32, "%llu", (unsigned long long)p->resent);
    status__pos(v[9], 32, p->in_last);
    snprintf(v[10], 32, "%lld", (long long)now);
    snprintf(v[11], 32, "%zu", p->count);
    const char *kv[2 * ST_FIELDS] = {
        "state", v[0], "inflight", v[1], "acked_pos", v[2],
        "last_ack_ms", v[3], "last_receipt_ms", v[4],
        "oldest_unacked_ms", v[5], "sent", v[6], "acks", v[7],
        "resent", v[8], "in_pos", v[9], "at", v[10], "window", v[11],
    };
    err_t e;
    if (store_peer_status_set(n->st, p->id, kv, 2 * ST_FIELDS, &e) < 0)
        log_event(LOG_ERROR, "store", "op=peer_status peer=%s msg=%s", p->id,
                  log_q(e.msg));
}

/* One queue's depth as gauge eport_queue_depth{queue=name}; the depth,
 * or 0 when it cannot be read (the gauge keeps its last value). */
static int64_t status__queue(const char *name, int64_t len)
{
    if (len >= 0)
        met_set(MET_QUEUE, name, len);
    return len > 0 ? len : 0;
}

static void status__gauges(node *n)
{
    err_t e;
    char name[MET_LABEL_MAX];
    int64_t deepest = 0;
    for (size_t i = 0; i < n->npeers; i++) {
        const node_peer *p = &n->peers[i];
        snprintf(name, sizeof name, "outbox:%s", p->id);
        int64_t len = status__queue(name, store_outbox_len(n->st, p->id, &e));
        deepest = len > deepest ? len : deepest;
        met_set(MET_PEER_UP, p->id, p->up);
    }
    for (size_t i = 0; i < n->cfg->nconnectors; i++) {
        const cfg_connector *cc = &n->cfg->connectors[i];
        if (cc->out == CFG_OUT_NONE)
            continue;
        snprintf(name, sizeof name, "lout:%s", cc->name);
        status__queue(name, store_lout_len(n->st, cc->name, &e));
    }
    int64_t local = status__queue("local", store_local_len(n->st, &e));
    status__queue("await", store_await_len(n->st, &e));
    status__queue("dlq", store_dlq_len(n->st, &e));
    intake_set_backlog(local + deepest);
}

void node_status_write(node *n)
{
    int64_t now = node__now_ms();
    if (now < n->next_status_ms)
        return;
    n->next_status_ms = now + NODE_STATUS_TICK_MS;
    /* the link's owner (node_ha.c) speaks for it; the others would say
     * "nothing in flight" */
    for (size_t i = 0; i < n->npeers; i++)
        if (node_ha_owns(n, NODE_JOB_FIXED + (int)i))
            status__peer(n, &n->peers[i], now);
    status__gauges(n);
}
