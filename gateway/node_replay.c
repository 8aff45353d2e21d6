/* Replay of dead letters (`eportctl dlq replay ID`): the frame is queued
 * on the node's "replay" stream and checked here again from the start,
 * as if it had just arrived from the last node of its route, now that
 * the cause (a missing certificate, a stale CRL) may be fixed. The
 * stream's positions go through the same once-only link script, so a
 * replayed frame takes effect once even if the node dies meanwhile. */
#include "node_in.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

#define REPLAY_STREAM "replay"
#define REPLAY_BATCH 16
#define REPLAY_TICK_MS 250

typedef struct replay_ctx {
    node *n;
    in_batch *b;
    lpos chain;
} replay_ctx;

/* The link peer a replayed frame is checked as coming from: the last
 * hop of its route, when it decodes. */
static void replay__peer(node *n, in_item *it)
{
    node_peer *p = arena_zalloc(&n->arena, sizeof *p);
    env *v;
    err_t e;
    it->peer = p;
    if (!p)
        return;
    snprintf(p->id, sizeof p->id, "%s", REPLAY_STREAM);
    if (env_decode(it->body, it->bn, &n->arena, &v, &e) == 0)
        snprintf(p->id, sizeof p->id, "%s", v->route[v->nroute - 1]);
}

static int replay__one(void *ctx, store_pos pos, const void *frame, size_t len,
                       err_t *e)
{
    replay_ctx *r = ctx;
    in_item *it = &r->b->items[r->b->n];
    memset(it, 0, sizeof *it);
    it->body = arena_alloc(&r->n->arena, len ? len : 1);
    if (!it->body)
        return err_set(e, ERR_NOMEM, "replay: no room for the frame");
    memcpy(it->body, frame, len);
    it->bn = len;
    it->prev = r->chain;
    it->pos = r->chain = (lpos){ pos.ms, pos.seq };
    it->kind = IN_OP;
    replay__peer(r->n, it);
    if (!it->peer)
        return err_set(e, ERR_NOMEM, "replay: out of memory");
    r->b->n++;
    return 0;
}

static void replay__apply(node *n, in_batch *b)
{
    store_link_op ops[REPLAY_BATCH];
    store_link_result res[REPLAY_BATCH];
    for (size_t i = 0; i < b->n; i++)
        in_check(n, &b->items[i]);
    node__seal_all(n, b);
    for (size_t i = 0; i < b->n; i++) {
        in_item *it = &b->items[i];
        if (it->kind != IN_OP) {
            b->n = i; /* a receipt could not be sealed: stop before it */
            break;
        }
        ops[i] = (store_link_op){ { it->prev.ms, it->prev.seq },
                                  { it->pos.ms, it->pos.seq }, &it->fx };
    }
    if (b->n == 0)
        return;
    err_t e;
    if (store_link_apply(n->st, REPLAY_STREAM, ops, b->n, res, &e) < 0) {
        log_event(LOG_ERROR, "store", "op=replay msg=%s", log_q(e.msg));
        return;
    }
    for (size_t i = 0; i < b->n; i++) {
        in_after(n, &b->items[i], &res[i]);
        if (res[i].status == STORE_LINK_DONE && !b->items[i].code)
            log_event(LOG_INFO, "replayed", "id=%s", b->items[i].v ?
                      b->items[i].v->id : "-");
    }
    if (store_outbox_trim_upto(n->st, REPLAY_STREAM, res[b->n - 1].last,
                               &e) < 0)
        log_event(LOG_ERROR, "store", "op=replay_trim msg=%s", log_q(e.msg));
}

void node_replay_tick(node *n, int64_t now)
{
    if (now < n->next_replay_ms)
        return;
    n->next_replay_ms = now + REPLAY_TICK_MS;
    in_item items[REPLAY_BATCH];
    in_batch b = { .items = items };
    store_pos last;
    err_t e;
    if (store_link_last(n->st, REPLAY_STREAM, &last, &e) < 0)
        return;
    replay_ctx r = { n, &b, { last.ms, last.seq } };
    if (store_outbox_after(n->st, REPLAY_STREAM, last, REPLAY_BATCH,
                           replay__one, &r, &e) < 0)
        log_event(LOG_ERROR, "store", "op=replay_read msg=%s", log_q(e.msg));
    if (b.n)
        replay__apply(n, &b);
    arena_reset(&n->arena);
}
