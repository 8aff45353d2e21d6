/* node_permit: permits in eportd's loop (docs/permits.md).
 *
 * As a permit's home: requests delivered to v1:pmin are applied in order
 * (store_pm_apply, one script a batch) and answered with signed
 * `permit-res` messages under ids derived from the requests', so a crash
 * that makes the loop handle a batch again draws nothing twice
 * (reservations are idempotent per key) and sends no second answer. Held
 * reservations past permits.reserve_ttl_s expire here.
 *
 * As a requester: requests queued in v1:pmreq (by the HTTP API, eportctl
 * or a movement declared here) are signed and sent to each permit's home
 * (or applied at once when the home is this node); answers delivered to
 * v1:pmin are stored as evidence (store_pmq_answer_many) and, for a
 * movement, move its permit gate: the release waits until every cited
 * permit is reserved; a refusal (or, with permits.unreachable refuse, a
 * home silent for answer_timeout_s) cancels the declaration with the
 * reason; each answer becomes a `permit` event (MV15) in the movement's
 * signed history; the release confirms, a cancellation returns.
 *
 * The node is borrowed. One thread (the loop's). */
#ifndef EPORT_NODE_PERMIT_H
#define EPORT_NODE_PERMIT_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "node.h"

struct ledger_result;

/* The loop's turn: requests sent, delivered permit envelopes handled,
 * and every second expiries and timeouts. Returns how many entries it
 * read (a full batch: more are waiting). */
#define NODE_PERMIT_BATCH 256
int node_permit_drain(node *n, int64_t now);
void node_permit_close(node *n);

/* The release gate's permit half for movement ref (this node its
 * departure): 0 when its declaration cites no permit or every cited one
 * is reserved; ERR_AGAIN "awaiting permit verification: CQ-X (home CQ)"
 * while any answer is missing; ERR_DENIED "permit CQ-X refused:
 * revoked: ..." when one was refused. */
int node_permit_gate(node *n, const char *ref, err_t *e);

/* The ledger applied (or, replaying, found again) r, an event of a
 * movement declared here: declared queues a reserve per cited permit,
 * released a confirm per reservation, cancelled and rejected a cancel;
 * each under an id derived from the movement, so once. Returns 0 or the
 * store's error (the ledger then handles the batch again). */
int node_permit_mv_event(node *n, const struct ledger_result *r);

/* A permit record r (its canonical msgpack rec/len) from this node's
 * issuing authority: its ledger opened (or its status changed) here, the
 * home (store_pm_issue). 0 issued (detail: "permit CQ-X issued" or "...
 * unchanged"/"... now suspended", in a), or the refusal (detail says
 * why: ERR_INVALID, ERR_CONFLICT, ERR_PHASE) or the store's error. */
struct model_record;
int node_permit_issue(node *n, const struct model_record *r, const void *rec,
                      size_t len, arena_t *a, const char **detail, err_t *e);

#endif
