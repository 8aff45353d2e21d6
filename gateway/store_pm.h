/* store_pm: the electronic ledger of permits at their home node (key
 * schema v1 in docs/store.md, "Permits"; the rules in docs/permits.md).
 * Every check and its draw-down are one Lua script, so concurrent
 * requests from any number of regions, and two eportd instances of one
 * node, can never overdraw a permit: Redis runs one script at a time.
 *
 *   v1:pm:<id>          hash  v=1, the permit as issued (pm_permit's
 *                             fields: number kind usage status authority
 *                             region holder holder_name from to nl, ln
 *                             (the line numbers in issue order, "1,2"),
 *                             per line i: hs<i> desc<i> un<i> cu<i> q<i>
 *                             v<i>, i its number (goods[].seq), not its
 *                             position), the balances (bucket 0 = the
 *                             permit as a whole, i = line i: q0 v0 bucket
 *                             0's totals, qu<b> vu<b> used, qr<b> vr<b>
 *                             reserved, lines' only for per_line; uses =
 *                             reservations held or written off), why (the
 *                             last status change's reason), issued,
 *                             updated (ms), rec (the canonical record as
 *                             issued, msgpack)
 *   v1:pm:<id>:r:<key>  hash  v=1, a reservation: st (reserved confirmed
 *                             cancelled expired), lines "<line>:<qty>:
 *                             <value>[,...]", by (requesting node), req
 *                             (request id), holder, at, exp, done (ms),
 *                             ret (what was given back since, as lines)
 *   v1:pm:<id>:h        stream the permit's history, oldest first: v=1,
 *                             op (issue verify reserve confirm cancel
 *                             expire suspend revoke reinstate), key, by
 *                             ("issuer" for issue, "" for expire), req,
 *                             code ("" for the issuer's acts), text ("":
 *                             the code's default), left (as an answer's,
 *                             "<b>:<qty>:<value>,..."), at; capped at
 *                             ~10000 entries; one per operation on a
 *                             permit issued here (verify too), none for
 *                             unknown-permit or bad-request
 *   v1:pm:all           zset  id by issued time
 *   v1:pm:exp           zset  "<id> <key>" by expiry of a reservation
 *                             still held
 *   v1:pm:pos           str   position in v1:pmin the permit loop has
 *                             handled (store_pmq.h)
 *
 * Balances: for usage single_use the permit is drawn once (uses 0 or 1);
 * quantity and value draw bucket 0 against the sum of the lines' totals;
 * per_line draws each requested line against its own totals (quantity
 * and value where the line has them). A request's line 0 under per_line
 * means line 1 when the permit has one line, else unknown-line.
 *
 * Only what the permit limits is drawn and counted: quantity under usage
 * quantity (bucket 0's value total is 0), value under value, a line's
 * quantity or value under per_line only where the line has one; a
 * single-use permit's bucket 0 is one use, quantity 1000 (the "one use"
 * of a whole citation), drawn whatever the request's amounts. A reserve
 * that would draw nothing the permit limits (a value on a quantity
 * permit) is refused bad-request. Bucket 0 of a per_line permit is the
 * sum of its lines, kept for show. A left shows 0 for a dimension the
 * permit does not limit. Amounts and their sums are at most 2^53 (the
 * scripts' numbers are doubles); more is ERR_INVALID at issue and
 * bad-request in a request.
 *
 * A reservation lapses at its expiry: the first operation that meets it
 * after that (or store_pm_expire, whichever comes first) returns it to
 * the balance once, with an "expire" entry, and it answers as expired.
 *
 * All functions return 0 (or a count) or a negative ERR_*; messages start
 * "redis <url>:" as in store.h. Strings of results are in the arena given
 * (valid until it is reset); callbacks' pointers during the call only. */
#ifndef EPORT_STORE_PM_H
#define EPORT_STORE_PM_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "pmrec.h"
#include "pmwire.h"
#include "store.h"

#define STORE_PM_BATCH 256      /* operations of one store_pm_apply */
#define STORE_PM_HIST_CAP 10000 /* history entries kept per permit */

/* Open the ledger of permit p (issued here; rec/rec_n its canonical
 * record, kept for show) at now_ms. Issuing the same permit again changes
 * nothing (*created = 0); one whose status differs changes only the
 * status (the issuer's system suspending, revoking or reinstating it, a
 * history entry by "issuer"); any other difference (lines, validity,
 * usage, holder) is ERR_CONFLICT "permit CQ-X exists with other lines:
 * issue a new number": balances are never re-based. A revoked permit
 * stays revoked (ERR_PHASE). */
int store_pm_issue(store *st, const pm_permit *p, const void *rec,
                   size_t rec_n, int64_t now_ms, int *created, err_t *e);

/* The issuer's act on permit id: status "suspended", "revoked" or
 * "valid" (reinstate a suspended one), why its reason (may be NULL), by
 * who did it (an operator, "issuer"). ERR_NOTFOUND unknown; ERR_PHASE
 * from revoked (final) or to the status it has. */
int store_pm_set_status(store *st, const char *id, const char *status,
                        const char *why, const char *by, int64_t now_ms,
                        err_t *e);

/* One operation to apply: q as decoded, req_id the id of the message
 * that carried it (or the local request's id), by the requesting node. */
typedef struct store_pm_op {
    const pm_req *q;
    const char *req_id;
    const char *by;
} store_pm_op;

/* Answers (code, rsv):
 * - reserve, checked in this order: unknown-permit; revoked; suspended;
 *   not-yet-valid / expired (now against from and to, inclusive);
 *   holder-mismatch (both holders set and different); a reservation
 *   under key: with the same lines (whatever their order) its state
 *   (reserved or confirmed: ok; cancelled: reservation-cancelled;
 *   expired: reservation-expired) and nothing drawn, with other lines
 *   key-reuse; unknown-line; bad-request (draws nothing limited); then
 *   single_use: used (uses >= 1): exhausted; else, all lines or none: a
 *   bucket short of what is asked is exhausted when none of the buckets
 *   drawn has anything left, else insufficient (text: which and how
 *   much); else the amounts are held (qr, vr; uses + 1) until now_ms +
 *   ttl_ms, rsv reserved.
 * - confirm: reserved -> confirmed (reserved moves to used), ok;
 *   confirmed: ok, nothing changes; cancelled / expired:
 *   reservation-cancelled / -expired; none: no-reservation. The permit's
 *   status does not block it: a release the home reserved for stands
 *   even if the permit was suspended or revoked since.
 * - cancel: reserved -> cancelled (returned), ok; cancelled: ok;
 *   confirmed: already-confirmed; expired: ok (nothing held), rsv
 *   expired; none: no-reservation.
 * - return: part of a confirmed reservation given back (goods returned
 *   after release): its amounts leave the used balance, ok; more than
 *   the reservation wrote off, all returns under key counted, is
 *   bad-request; a reservation still held is bad-request (cancel it);
 *   cancelled / expired: reservation-cancelled / -expired; none:
 *   no-reservation. The returns are kept beside it (ret).
 * - verify changes nothing but its history entry: the code a reserve
 *   would meet now from status and validity (revoked, suspended,
 *   not-yet-valid, expired) or exhausted, else ok; with a key, rsv.
 * Every answer of a known permit carries the effective status, kind,
 * usage, from, to, rsv (when there is a reservation under key) and left
 * after the operation; text is set for every refusal, NULL for ok. A
 * request that breaks pm_req_validate is answered bad-request here,
 * without reaching Redis; a NULL q, req_id or by refuses the call.
 *
 * Apply ops[0..n) (n <= STORE_PM_BATCH) in order, in one script, at
 * now_ms; a new reservation expires at now_ms + ttl_ms unless confirmed
 * or cancelled. out[i] is the answer to ops[i] (req, op, permit, key,
 * code, text, status, kind, usage, from, to, rsv, left, at = now_ms):
 * refusals are answers (code), not errors. Idempotent per (permit, key):
 * a reserve under a key reserved before with the same amounts answers
 * with that reservation's state and draws nothing; confirm and cancel
 * of a reservation already in that state answer ok. An error (Redis) is
 * returned only when nothing was applied... or everything: the script is
 * atomic. */
int store_pm_apply(store *st, const store_pm_op *ops, size_t n,
                   int64_t now_ms, int64_t ttl_ms, arena_t *a, pm_ans *out,
                   err_t *e);

/* Reservations whose expiry is <= now_ms, up to max: each still held is
 * returned to the balance (state expired, a history entry); returns how
 * many expired. */
int store_pm_expire(store *st, int64_t now_ms, size_t max, err_t *e);

/* A permit as its home keeps it. */
typedef struct store_pm_bal {
    uint32_t bucket;         /* 0: the permit as a whole; i: line i */
    uint64_t qty, value;     /* totals */
    uint64_t qty_used, value_used, qty_rsv, value_rsv;
} store_pm_bal;

typedef struct store_pm_view {
    pm_permit p;
    const char *status;      /* effective: valid suspended revoked, or
                                expired / exhausted when valid but past
                                its validity / with nothing left */
    const char *why;         /* the last status change's reason, or NULL */
    store_pm_bal bal[PM_LINES_MAX + 1];
    uint32_t nbal;           /* bucket 0 first, then lines for per_line */
    uint64_t uses;           /* reservations held or written off */
    int64_t issued_ms, updated_ms;
    const unsigned char *rec; size_t rec_n; /* canonical record */
} store_pm_view;

/* ERR_NOTFOUND when id is not a permit of this node. */
int store_pm_get(store *st, const char *id, int64_t now_ms, arena_t *a,
                 store_pm_view *out, err_t *e);

typedef int (*store_pm_id_fn)(void *ctx, const char *id, int64_t issued_ms,
                              err_t *e);
/* Permits issued here, newest first, up to count: how many. */
int store_pm_list(store *st, size_t count, store_pm_id_fn fn, void *ctx,
                  err_t *e);

/* One history entry (fields as in v1:pm:<id>:h; absent ones ""). */
typedef struct store_pm_hist {
    const char *pos, *op, *key, *by, *req, *code, *text, *left;
    int64_t at_ms;
} store_pm_hist;
typedef int (*store_pm_hist_fn)(void *ctx, const store_pm_hist *h,
                                err_t *e);
/* The history of id, oldest first, up to count (the count oldest kept):
 * how many; 0 for a permit not issued here. */
int store_pm_history(store *st, const char *id, size_t count,
                     store_pm_hist_fn fn, void *ctx, err_t *e);

/* The reservation of id under key: its state and lines text into the
 * arena; ERR_NOTFOUND none. */
int store_pm_reservation(store *st, const char *id, const char *key,
                         arena_t *a, const char **state, const char **lines,
                         err_t *e);

#endif
