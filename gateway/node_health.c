/* node_health: the health feed (docs/operations.md, "National center").
 * Every health.interval_ms a node writes what the center wants to know
 * of it (fed_health.h: its links, queues and counters) and submits it as
 * a signed `health` message to ledger.national, durably and receipted
 * like any message. One at a time: while the last one has no receipt
 * (the center or the way to it is down) no new one is queued, so a
 * center away for a day does not come back to a day of stale health;
 * after FED_FRESH_MS one is queued all the same, in case the receipt
 * went astray. The national center keeps its own health directly and
 * runs its view of the federation here (fed_step). */
#include "node_int.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "store_local.h"

static uint64_t nh__len(int64_t n)
{
    return n > 0 ? (uint64_t)n : 0;
}

static void nh__peers(node *n, fed_health *h)
{
    err_t e;
    for (size_t i = 0; i < n->npeers && h->npeers < FED_HEALTH_PEERS_MAX;
         i++) {
        const node_peer *p = &n->peers[i];
        fed_hpeer *o = &h->peers[h->npeers++];
        snprintf(o->id, sizeof o->id, "%s", p->id);
        o->up = p->up ? 1 : 0;
        o->outbox = nh__len(store_outbox_len(n->st, p->id, &e));
        o->awaiting = p->nsent;
        o->last_ack_ms = p->last_ack_ms > 0 ? (uint64_t)p->last_ack_ms : 0;
        h->sent += p->sent;
    }
}

/* Queue depths and the counters of metrics.h, summed over connectors. */
static void nh__local(node *n, fed_health *h)
{
    err_t e;
    h->local = nh__len(store_local_len(n->st, &e));
    h->await = nh__len(store_await_len(n->st, &e));
    h->dlq = nh__len(store_dlq_len(n->st, &e));
    for (size_t i = 0; i < n->cfg->nconnectors; i++) {
        const cfg_connector *cc = &n->cfg->connectors[i];
        if (cc->out != CFG_OUT_NONE)
            h->lout += nh__len(store_lout_len(n->st, cc->name, &e));
        h->in += nh__len(met_get(MET_IN, cc->name));
        h->out += nh__len(met_get(MET_OUT, cc->name));
        h->refused += nh__len(met_get(MET_REFUSED, cc->name));
    }
}

static void nh__build(node *n, int64_t now, fed_health *h)
{
    memset(h, 0, sizeof *h);
    snprintf(h->node, sizeof h->node, "%s", n->cfg->node.id);
    snprintf(h->region, sizeof h->region, "%s", n->cfg->node.region);
    h->at_ms = (uint64_t)now;
    nh__peers(n, h);
    nh__local(n, h);
    h->delivered = n->delivered;
    h->forwarded = n->forwarded;
    h->sig_failures = n->sig_failures;
    h->peer_refused = n->refused;
}

static int nh__count(void *ctx, const char *from, const void *frame,
                     size_t len, err_t *e)
{
    (void)ctx, (void)from, (void)frame, (void)len, (void)e;
    return 0;
}

/* May the next one go: none waiting, its receipt home, or too old. */
static int nh__may_send(node *n, int64_t now)
{
    err_t e;
    if (!n->health_id[0] || now - n->health_sent_ms > FED_FRESH_MS)
        return 1;
    return store_rcpt_list(n->st, n->health_id, nh__count, NULL, &e) > 0;
}

static void nh__fail(const char *op, const err_t *e)
{
    static log_gate gate;
    unsigned long long held;
    if (log_gate_pass(&gate, 10000, &held))
        log_event(LOG_WARN, "health", "op=%s suppressed=%llu msg=%s", op,
                  held, log_q(e->msg));
}

static void nh__send(node *n, const char *to, const buf_t *b, int64_t now)
{
    err_t e;
    char id[MSGID_LEN + 1];
    if (!nh__may_send(n, now))
        return;
    if (node_submit(n, FED_HEALTH_TYPE, &to, 1, NULL, b->p, b->len, id,
                    &e) < 0) {
        nh__fail("submit", &e);
        return;
    }
    memcpy(n->health_id, id, sizeof id);
    n->health_sent_ms = now;
    log_event(LOG_DEBUG, "health_sent", "id=%s to=%s", id, to);
}

void node_health_tick(node *n, int64_t now)
{
    int national = n->cfg->node.role == CFG_ROLE_NATIONAL;
    if (national)
        fed_step(&n->fed, n->st, n->cfg, now);
    if (now < n->next_health_ms)
        return;
    n->next_health_ms = now + n->cfg->health.interval_ms;
    const char *to = n->cfg->ledger.national;
    int self = !*to || !strcmp(to, n->cfg->node.id);
    if (self && !national)
        return; /* no national center: nobody to tell */
    static fed_health h; /* 4 KiB; the loop is one thread */
    nh__build(n, now, &h);
    buf_t b;
    buf_init(&b, FED_HEALTH_MAX_BYTES);
    err_t e;
    if (fed_health_encode(&h, &b, &e) < 0)
        nh__fail("encode", &e);
    else if (national && fed_apply(n->st, &h, b.p, b.len, NULL, now, &e) < 0)
        nh__fail("keep", &e);
    else if (!national)
        nh__send(n, to, &b, now);
    buf_free(&b);
}
