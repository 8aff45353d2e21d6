/* node_permit_int: what the permit loop (node_permit.c) shares with its
 * movement side (node_permit_mv.c). Internal to the two files. */
#ifndef EPORT_NODE_PERMIT_INT_H
#define EPORT_NODE_PERMIT_INT_H

#include <stddef.h>

#include "node_int.h"
#include "pmwire.h"
#include "store_pmq.h"

/* The permit loop's batch arena (reset every batch). */
arena_t *np_arena(node *n);

/* printf into the arena; NULL when out of memory. */
char *np_fmt(arena_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Store answers a[0..k) and act on what they mean for movements. */
int np_store_answers(node *n, store_pmq_ans *a, size_t k, err_t *e);
/* Answers this node decided itself (no envelope): encoded, then stored
 * as np_store_answers. */
int np_answer_local(node *n, const char *const *rids, pm_ans *ans, size_t k,
                    err_t *e);

/* node_permit_mv.c: answer ans (to request rid, about movement ref; frame
 * the home's envelope, NULL when this node is the home) moves ref's gate,
 * becomes a `permit` event of its history, and a refusal cancels it. */
void np_mv_answered(node *n, const char *ref, const char *rid,
                    const pm_ans *ans, const void *frame, size_t frame_n);
/* The same for a request answered before (a batch handled again after a
 * crash): the stored answer is acted on again, each effect once. */
void np_mv_answered_again(node *n, const char *rid, arena_t *a);
/* Every NP_TICK_MS: reservations expired (home), and with
 * permits.unreachable refuse the movements' requests past
 * answer_timeout_s answered home-unreachable. */
void np_tick(node *n, int64_t now);

#endif
