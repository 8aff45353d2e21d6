/* ledger: the apply engine of the movement ledger (docs/clearance.md,
 * "Causal order"). It takes a batch of movement events in the order this
 * node stored them (v1:mvin) and, for each, decides with the rules of
 * mvrule what becomes of it, then writes that through store_mv:
 *
 *   duplicate  the id is applied already: nothing;
 *   skipped    the movement is unknown here and this node is neither on
 *              its itinerary nor the national center: nothing (members
 *              off the itinerary only keep the claims, at store time);
 *   parked     its prev is not applied here yet: kept until it is;
 *   refused    the rules say no: recorded (v1:mv:<ref>:refused, DLQ);
 *   applied    the new state, with the indexes the transition moves
 *              (CAS on the event count; STALE: reloaded and decided
 *              again).
 * Several events of one movement in a batch are chained on an in-memory
 * state; after the batch, parked events whose prev is now applied are
 * applied (and so on, a few generations deep).
 *
 * No I/O but store_mv.h. The caller (eportd's node_ledger.c) reads
 * v1:mvin, says who authored each event (the verified signer's region) and
 * acts on the results through the hook (alerts, automatic steps).
 *
 * Ownership: items, their events and frames are borrowed for the call;
 * everything the engine makes lives in the arena given (not reset by the
 * engine), so results handed to the hook stay valid until the caller
 * resets it. */
#ifndef EPORT_LEDGER_H
#define EPORT_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "mvev.h"
#include "mvrule.h"
#include "store.h"

#define LEDGER_KEYS_MAX (MV_DOC_MAX + MV_CTR_MAX)
#define LEDGER_ROUNDS 8   /* generations of parked children per batch */
#define LEDGER_RETRIES 4  /* CAS retries of one event (another instance) */

/* One event to apply. */
typedef struct ledger_item {
    const char *id;          /* the envelope's message id */
    const char *author;      /* region of the envelope's verified signer */
    const mv_event *ev;      /* its decoded payload */
    const void *frame;       /* the envelope as stored (appended to the */
    size_t frame_n;          /* movement's log) */
    int from_park;           /* taken from v1:mv:<ref>:park */
} ledger_item;

typedef enum {
    LEDGER_APPLIED, LEDGER_DUP, LEDGER_SKIPPED, LEDGER_PARKED,
    LEDGER_REFUSED
} ledger_outcome;
const char *ledger_outcome_name(ledger_outcome o);

typedef struct ledger_result {
    ledger_outcome outcome;
    const ledger_item *item;
    const mv_state *before;  /* APPLIED, REFUSED: NULL when new here */
    const mv_state *after;   /* APPLIED: the state now stored */
    const err_t *why;        /* REFUSED: the rule's code and message */
} ledger_result;

/* Called once per item decided (parked children that stay parked are
 * not reported again); pointers valid until the arena is reset. */
typedef void (*ledger_hook_fn)(void *ctx, const ledger_result *r);

/* Who authored an envelope of signer (node id): its region, or NULL
 * when unknown (the event is then refused). For parked children. */
typedef const char *(*ledger_author_fn)(void *ctx, const char *signer);

typedef struct ledger {
    store *st;
    const char *region;      /* this node's region */
    int national;            /* this node is the national center */
    int64_t period_ms;       /* ledger.time_limit_h: an enquiry re-arms
                                the limit by this much at the departure */
    ledger_hook_fn hook; void *hook_ctx;
    ledger_author_fn author; void *author_ctx;
} ledger;

/* Apply items[0..n) (n <= STORE_MV_BATCH) in order, then the parked
 * children they unblock. 0, or a store error (nothing is lost: applying
 * again is idempotent, so the caller keeps its position and retries). */
int ledger_apply(const ledger *l, const ledger_item *items, size_t n,
                 arena_t *a, err_t *e);

/* The claim (and index) keys of a movement: "c:<container>" per
 * container, "d:<doc type>:<doc number>" per document, in the event's
 * order; bytes Redis keys cannot hold here (space, control characters)
 * become '_', the same at every node. keys has LEDGER_KEYS_MAX slots;
 * strings in a. */
int ledger_keys(const mv_event *data, arena_t *a, const char **keys,
                size_t *nkeys, err_t *e);

/* The envelope of a v1:mvin record, decoded into a, with its movement
 * event: 0, 1 when it is not a movement (type other than "mv"), or
 * ERR_* when it does not decode. */
struct env;
int ledger_decode(const void *frame, size_t n, arena_t *a, struct env **v,
                  mv_event *ev, err_t *e);

#endif
