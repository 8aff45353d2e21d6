/* The peers' link status in Redis (hash v1:peer:<id>), written about
 * once a second for `eportctl peers` and the national center: a reader
 * needs no connection to the daemon, and sees a dead daemon as a stale
 * `at`. */
#include "node_int.h"

#include <stdio.h>

#include "log.h"

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

void node_status_write(node *n)
{
    int64_t now = node__now_ms();
    if (now < n->next_status_ms)
        return;
    n->next_status_ms = now + NODE_STATUS_TICK_MS;
    for (size_t i = 0; i < n->npeers; i++)
        status__peer(n, &n->peers[i], now);
}
