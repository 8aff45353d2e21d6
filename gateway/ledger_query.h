/* ledger_query: the read side of the movement ledger (docs/clearance.md):
 * a movement's journey (trace), the list of movements (movements) and
 * the re-check of a movement's signed history (verify). The questions an
 * operator or a local e-port user asks, answered from this node's Redis
 * alone, so they work while eportd is down. The answers are structs
 * handed to callbacks, never printed here: eportctl prints them, the
 * HTTP API (connectors/api_query.c) serialises the same structs.
 * Names: lq_.
 *
 * Ownership: everything handed to a callback (events, states, strings)
 * lives in the arena the caller gives, valid until it is reset, unless
 * the function says "valid during the call". The store is borrowed. */
#ifndef EPORT_LEDGER_QUERY_H
#define EPORT_LEDGER_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "mvev.h"
#include "mvrule.h"
#include "store.h"

typedef struct envcheck envcheck; /* envcheck.h */

#define LQ_REFS_MAX 256   /* movements one trace resolves to, at most */
#define LQ_TIME_LEN 32    /* "2026-03-05T10:20:30.123Z" + NUL */

/* ---- trace ---- */

/* One event of the journey, in the order this node applied it. */
typedef struct lq_step {
    uint32_t n;              /* position in the movement's log, from 1 */
    const char *id;          /* the envelope's message id */
    const char *signer;      /* the envelope's signer (node id) */
    const mv_event *ev;      /* the event: at_ms, by (region), type... */
    const char *details;     /* its fields in one line ("itin=CQ>SH
                                ctrs=MSCU1234565[CQ778899] pkgs=40") */
} lq_step;

/* An event of this movement that the ledger refused here. */
typedef struct lq_refusal {
    const char *id, *msg;
} lq_refusal;

typedef struct lq_journey {
    const char *ref;
    mv_state state;          /* as stored here */
    lq_step *steps; size_t nsteps;
    lq_refusal *refusals; size_t nrefusals;
    size_t unreadable;       /* log entries that do not decode (verify
                                says which) */
} lq_journey;

/* The movements `what` names here (those applied here, and those only
 * claiming it here: a member off the itinerary keeps the claims): a
 * movement reference; a container number; a transport document as "TYPE:NUMBER" or its number alone (any
 * document type); or a raw index key "c:..." / "d:...". refs (up to
 * LQ_REFS_MAX, in a) are in the order first found. ERR_NOTFOUND when
 * none; ERR_INVALID for a reference with a bad check character. */
int lq_refs(store *st, const char *what, arena_t *a, const char ***refs,
            size_t *nrefs, err_t *e);

/* The journey of one movement: state, log decoded, refusals.
 * ERR_NOTFOUND "movement 26CQ...: not known at this node". */
int lq_journey_load(store *st, const char *ref, arena_t *a, lq_journey *out,
                    err_t *e);

typedef int (*lq_journey_fn)(void *ctx, const lq_journey *j, err_t *e);
/* lq_refs, then lq_journey_load and fn for each movement found. A
 * movement indexed here but without state (not on its itinerary) is
 * skipped. Returns how many journeys fn was given. */
int lq_trace(store *st, const char *what, arena_t *a, lq_journey_fn fn,
             void *ctx, err_t *e);

/* ---- movements ---- */

typedef struct lq_filter {
    const char *phase;       /* NULL: any (mv_phase_name spelling) */
    const char *region;      /* NULL: any; else on the itinerary */
    size_t count;            /* movements looked at, at most (0: 1000) */
} lq_filter;

/* ref and s valid during the call. */
typedef int (*lq_movement_fn)(void *ctx, const char *ref, const mv_state *s,
                              err_t *e);
/* Movements by declared time (or of one phase), filtered. ERR_CODE for
 * an unknown phase. Returns how many matched. */
int lq_movements(store *st, const lq_filter *f, lq_movement_fn fn,
                 void *ctx, err_t *e);

/* ---- verify ---- */

/* The verdict on one log entry; n == 0 is the last check: the state
 * replayed from the log against the state stored. */
typedef struct lq_check {
    uint32_t n;
    const char *id;          /* NULL: the frame does not decode */
    uint64_t at_ms;          /* the event's time, 0 unknown */
    const char *region;      /* author region, from the certificate */
    const char *event;       /* type name, "?" unknown */
    const char *signer;      /* node id, NULL unknown */
    const char *subject;     /* certificate subject, NULL unknown */
    const char *alg;         /* sig_alg ("ed25519-batch": a batch proof) */
    int ok;
    const char *why;         /* !ok: the first check that failed */
} lq_check;
typedef void (*lq_check_fn)(void *ctx, const lq_check *c);

/* Every check of `eportctl verify` on ref's log, oldest first: envelope
 * decodes, signer's certificate from the federation CA and the signature
 * (batch proofs too), type "mv" and the ref, the event decodes and names
 * the ref, its author region is the certificate's, prev names an earlier
 * entry (none for the first), the rules replayed from nothing accept it;
 * then the replayed state against the stored one. Returns the number of
 * failed checks (0: the history holds), or ERR_* when it cannot tell
 * (Redis, unknown movement). */
int lq_verify(store *st, envcheck *ec, const char *ref, arena_t *a,
              lq_check_fn fn, void *ctx, err_t *e);

/* ---- helpers for whoever renders the answers ---- */

/* ms since the epoch as ISO 8601 UTC with milliseconds; "-" for 0. */
void lq_time(uint64_t ms, char out[LQ_TIME_LEN]);
/* "none" "expected" "passed" "arrived" ("?" otherwise). */
const char *lq_stop_name(int stop);
/* The fields of ev that are set, one line, in a ("" when none). */
const char *lq_details(const mv_event *ev, arena_t *a);
/* First difference between two states (phase, events, holds, stops,
 * times...) as "field: stored X, replayed Y" in a; NULL when equal. */
const char *lq_state_diff(const mv_state *stored, const mv_state *replayed,
                          arena_t *a);

#endif
