/* The origin's end-to-end guarantee (docs/protocol.md section 6): a
 * message whose destinations have not all sent a receipt in time is
 * queued again, byte for byte, towards the missing ones, with a delay
 * that doubles (drawn between half and all of it, so that a node coming
 * back is not met by every resend at once), until it is older than
 * delivery.max_age_ms; then it is dead-lettered as `undelivered`. */
#include "node_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define AWAIT_BATCH 256

typedef struct await_ctx {
    node *n;
    int64_t now;
} await_ctx;

static int64_t await__delay(const cfg_delivery *d, int64_t attempts)
{
    int64_t delay = d->receipt_timeout_ms;
    int64_t cap = d->retry_max_ms > delay ? d->retry_max_ms : delay;
    for (int64_t i = 0; i <= attempts && delay < cap; i++)
        delay *= 2;
    if (delay > cap)
        delay = cap;
    /* seeded per process: nodes restarted together must not resend in
     * step, which is the point of the jitter */
    static unsigned seed;
    if (!seed)
        seed = (unsigned)node__now_ms() ^ ((unsigned)getpid() << 16) ^ 1u;
    return delay / 2 + (int64_t)(rand_r(&seed) % (delay / 2 + 1));
}

/* Queue frame again for the next hops of the space-separated dests
 * whose links are idle; returns how many hops got a copy. */
static int await__requeue(node *n, const char *id, const void *frame,
                          size_t len, const char *wait, err_t *e)
{
    const char *hops[STORE_FWD_MAX];
    size_t nhops = 0;
    char dest[ENV_NODE_MAX + 1];
    for (const char *p = wait; *p;) {
        size_t k = strcspn(p, " ");
        snprintf(dest, sizeof dest, "%.*s", (int)k, p);
        p += k + (p[k] == ' ');
        const cfg_peer *hop = cfg_next_hop(n->cfg, dest);
        size_t j = 0;
        while (hop && j < nhops && strcmp(hops[j], hop->id))
            j++;
        if (hop && j == nhops && nhops < STORE_FWD_MAX)
            hops[nhops++] = hop->id;
        if (!hop)
            log_event(LOG_WARN, "no_route", "id=%s dest=%s", id, dest);
    }
    char sid[STORE_ID_MAX];
    int queued = 0;
    for (size_t j = 0; j < nhops; j++) {
        /* links deliver in order and once: while the first link still has
         * frames queued, the original may be among them, and a copy would
         * only add load where there is already too much */
        const node_peer *p = node__peer(n, hops[j]);
        if (p && p->count > 0)
            continue;
        if (store_outbox_add(n->st, hops[j], frame, len, sid, e) < 0)
            return e->code;
        queued++;
    }
    return queued;
}

static int await__one(void *ctx, const char *id, const void *frame,
                      size_t len, const char *wait, int64_t attempts,
                      int64_t created, err_t *e)
{
    await_ctx *a = ctx;
    node *n = a->n;
    const cfg_delivery *d = &n->cfg->delivery;
    char sid[STORE_ID_MAX], why[300];
    if (a->now - created >= d->max_age_ms) {
        snprintf(why, sizeof why, "no receipt from %s within %lld ms", wait,
                 (long long)d->max_age_ms);
        log_event(LOG_WARN, "undelivered", "id=%s wait=%s", id, log_q(wait));
        if (store_dlq_add(n->st, "undelivered", why, frame, len, sid, e) < 0)
            return e->code;
        return store_await_drop(n->st, id, e) < 0 ? e->code : 0;
    }
    int queued = await__requeue(n, id, frame, len, wait, e);
    if (queued < 0)
        return e->code;
    if (queued > 0)
        log_event(LOG_INFO, "resend", "id=%s wait=%s attempts=%lld", id,
                  log_q(wait), (long long)attempts + 1);
    int64_t next = a->now + await__delay(d, attempts);
    return store_await_reschedule(n->st, id, next, e) < 0 ? e->code : 0;
}

void node_await_tick(node *n, int64_t now)
{
    if (now < n->next_await_ms)
        return;
    n->next_await_ms = now + NODE_AWAIT_TICK_MS;
    await_ctx a = { n, now };
    err_t e;
    static log_gate gate; /* Redis down: one line a second, not a tick */
    unsigned long long held;
    if (store_await_due(n->st, now, AWAIT_BATCH, await__one, &a, &e) < 0 &&
        log_gate_pass(&gate, 1000, &held))
        log_event(LOG_ERROR, "store", "op=await suppressed=%llu msg=%s", held,
                  log_q(e.msg));
}
