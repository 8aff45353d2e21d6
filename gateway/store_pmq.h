/* store_pmq: the requesting side of permit operations (docs/permits.md):
 * requests queued for the node's loop to sign and send to each permit's
 * home, the answers that came back (kept as evidence, with the home's
 * signed envelope), the last answer seen per permit (a node's view of a
 * permit homed elsewhere), and per movement the permits its declaration
 * cites and where each stands (the release gate). Key schema v1 in
 * docs/store.md, "Permits":
 *
 *   v1:pmreq             stream requests to send, in order: v=1, rid,
 *                               q (request payload, pmwire)
 *   v1:pmreq:pos         str    position in v1:pmreq the loop has sent
 *   v1:pmq:<rid>         hash   v=1, op, permit, key, for (movement ref or
 *                               ""), st (queued answered), q, at (queued),
 *                               code, ans (answer payload), af (the id
 *                               of the home's answer envelope; "" when
 *                               this node is the home), done (ms); kept 7
 *                               days after the answer
 *   v1:pmf:<id>          str    a home's answer envelope (a batch: many
 *                               answers name it); kept 7 days
 *   v1:pmwait            zset   rid by queued time while unanswered
 *   v1:pmdone:<rid>      list   one element pushed with the answer, for
 *                               waiters (BLPOP); expires after 60 s
 *   v1:pmq:by:<permit>   zset   rid by queued time: this node's requests
 *                               about a permit (its history here)
 *   v1:pmc:<permit>      hash   v=1, the newest answer about it: ans, af,
 *                               code, at (the home's decision time), rid
 *   v1:pmin              stream permit envelopes delivered to this node
 *                               (requests as home, answers as requester):
 *                               v=1, f (frame), id, origin; written by the
 *                               link script
 *   v1:pm:pos            str    position in v1:pmin handled
 *   v1:mv:<ref>:pm       hash   a movement's cited permits: permit id ->
 *                               pending | reserved | confirmed |
 *                               cancelled | refused <code>: <text>
 *
 * All functions return 0 (or a count) or a negative ERR_*; messages start
 * "redis <url>:" as in store.h. Callbacks' pointers are valid during the
 * call only. */
#ifndef EPORT_STORE_PMQ_H
#define EPORT_STORE_PMQ_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "pmwire.h"
#include "store.h"

#define STORE_PMQ_BATCH 256
#define STORE_PMQ_DONE_TTL_MS 60000LL
#define STORE_PMQ_KEEP_MS (7LL * 86400000)

/* ---- requests ---- */

/* Queue request q (encoded here) under request id rid (a message id: a
 * fresh one, or msgid_derive's for what the node decides again after a
 * crash) for the loop; for_ref the movement it is for, or NULL. Returns
 * 0 queued, 1 rid was queued before (nothing written). */
int store_pmq_add(store *st, const char *rid, const pm_req *q,
                  const char *for_ref, int64_t now_ms, err_t *e);

typedef int (*store_pmq_req_fn)(void *ctx, store_pos pos, const char *rid,
                                const void *q, size_t n, err_t *e);
/* Queued requests after position (exclusive), oldest first, up to count:
 * how many were read. */
int store_pmq_after(store *st, store_pos after, size_t count,
                    store_pmq_req_fn fn, void *ctx, err_t *e);
int store_pmq_pos_get(store *st, store_pos *out, err_t *e);
int store_pmq_pos_set(store *st, store_pos pos, err_t *e);

/* ---- delivered permit envelopes (v1:pmin) ---- */

/* Entries of v1:pmin after position, as store_in_after. */
int store_pmin_after(store *st, store_pos after, size_t count,
                     store_in_fn fn, void *ctx, err_t *e);
int store_pmin_pos_get(store *st, store_pos *out, err_t *e);
int store_pmin_pos_set(store *st, store_pos pos, err_t *e);
/* Put a frame into v1:pmin as the link script does (a request this node
 * must answer as home that did not come over a link; tests). */
int store_pmin_add(store *st, const char *id, const char *origin,
                   const void *frame, size_t n, err_t *e);

/* ---- answers ---- */

typedef struct store_pmq_ans {
    const char *rid;          /* the request answered (ans->req) */
    const pm_ans *ans;
    const void *payload;      /* ans's wire form */
    size_t payload_n;
    const void *frame;        /* the home's signed envelope; NULL when the
                                 home is this node */
    size_t frame_n;
    const char *frame_id;     /* its message id (a batch envelope answers
                                 many: stored once, v1:pmf:<id>); set
                                 exactly when frame is */
} store_pmq_ans;

/* Result of one answer: 0 stored (for_ref = the request's movement, ""
 * none), 1 the request was answered before (nothing written),
 * ERR_NOTFOUND no such request here, ERR_CONFLICT the answer names
 * another permit, operation or key than the request (msg says which). */
typedef struct store_pmq_res {
    int rc;
    char for_ref[PM_KEY_MAX + 1];
    char msg[256];
} store_pmq_res;

/* Store answers a[0..n) (n <= STORE_PMQ_BATCH), each atomically with
 * the end of its wait (v1:pmwait, v1:pmdone:<rid>) and the permit's
 * newest answer (v1:pmc:<permit>, only when at is newer), pipelined.
 * res[i] per answer; an error return means Redis failed (some may be
 * stored: storing them all again is safe). */
int store_pmq_answer_many(store *st, const store_pmq_ans *a, size_t n,
                          store_pmq_res *res, err_t *e);

/* Wait up to ms for rid's answer (BLPOP on v1:pmdone:<rid>): 0 answered,
 * ERR_AGAIN not in time. The caller then reads it (store_pmq_get). */
int store_pmq_wait(store *st, const char *rid, int64_t ms, err_t *e);

/* A request as kept here: state "queued" or "answered"; the answer's
 * payload and the home's frame into the buffers (empty while queued). */
typedef struct store_pmq_view {
    char op[16], permit[PM_ID_MAX + 1], key[PM_KEY_MAX + 1];
    char for_ref[PM_KEY_MAX + 1], state[16], code[32];
    int64_t at_ms, done_ms;
} store_pmq_view;
int store_pmq_get(store *st, const char *rid, store_pmq_view *out,
                  buf_t *ans, buf_t *frame, err_t *e);

typedef int (*store_pmq_rid_fn)(void *ctx, const char *rid, int64_t at_ms,
                                err_t *e);
/* Requests unanswered since before before_ms, oldest first, up to count
 * (for the timeout of permits.unreachable refuse, and for show). */
int store_pmq_waiting(store *st, int64_t before_ms, size_t count,
                      store_pmq_rid_fn fn, void *ctx, err_t *e);
int64_t store_pmq_waiting_len(store *st, err_t *e);
/* This node's requests about permit, oldest first, up to count. */
int store_pmq_by_permit(store *st, const char *permit, size_t count,
                        store_pmq_rid_fn fn, void *ctx, err_t *e);

/* The newest answer this node holds about permit (v1:pmc): payload and
 * frame into the buffers; ERR_NOTFOUND none. */
int store_pmq_cached(store *st, const char *permit, buf_t *ans, buf_t *frame,
                     err_t *e);

/* ---- a movement's cited permits (v1:mv:<ref>:pm) ---- */

/* Record that ref cites permits[0..n) (each "pending" unless already
 * there: idempotent). */
int store_pmq_gate_open(store *st, const char *ref,
                        const char *const *permits, size_t n, err_t *e);
/* Set permit's state for ref ("reserved", "refused <code>: <text>"...). */
int store_pmq_gate_set(store *st, const char *ref, const char *permit,
                       const char *state, err_t *e);
typedef int (*store_pmq_gate_fn)(void *ctx, const char *permit,
                                 const char *state, err_t *e);
/* The permits ref cites with their states: how many (0: none cited). */
int store_pmq_gate_get(store *st, const char *ref, store_pmq_gate_fn fn,
                       void *ctx, err_t *e);

#endif
