/* store_cbec: the sets of cross-border e-commerce parcels at their
 * clearing node (docs/cbec.md; key schema v1 in docs/store.md,
 * "Cross-border e-commerce"). A set gathers a parcel's order, payment,
 * waybill and inventory list; each attach is one Lua script, so two
 * documents of one parcel arriving at once (two instances of the node, a
 * peer's and a local system's) never lose one another.
 *
 *   v1:cb:set:<order no>  hash  v=1, state (awaiting matched mismatched
 *                               expired withdrawn released rejected),
 *                               why, first, due, upd (ms), n (attaches
 *                               so far), done (the n the state was
 *                               decided for), lno (the
 *                               inventory list's waybill number), per
 *                               document d (order payment waybill
 *                               inventory): id:<d>, rec:<d> (canonical
 *                               msgpack), at:<d> (ms); the buyer's
 *                               allowance: arid (the reserve request's
 *                               id, store_pmq.h), allow (its permit id
 *                               and amount, or why none is drawn), tax
 *                               (the tax assessed)
 *   v1:cb:wb:<waybill no> hash  v=1, id, rec, at: a waybill whose
 *                               inventory list has not come yet; TTL the
 *                               match time limit
 *   v1:cb:lno:<waybill no> str  the order number of the set whose
 *                               inventory list names that waybill
 *   v1:cb:cop:<number>    str   the order number of the set whose
 *                               inventory list has that number (copNo:
 *                               customs' receipts name it)
 *   v1:cb:due             zset  order numbers of open sets by time limit
 *   v1:cb:inpos           str   v1:in read up to here for documents peers
 *                               sent to be matched here
 *
 * Sets and their lno keys are kept STORE_CBEC_KEEP_MS after their last
 * change. The matching itself is cbec_match's; this module keeps what it
 * is given and the verdict it is told (store_cbec_settle), refusing a
 * verdict about a set that changed since it was read.
 *
 * Functions return 0 (or a count) or a negative ERR_*, messages starting
 * "redis <url>:"; strings of results live in the arena given. */
#ifndef EPORT_STORE_CBEC_H
#define EPORT_STORE_CBEC_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "cbec_match.h"
#include "err.h"
#include "store.h"

#define STORE_CBEC_KEEP_MS (30LL * 86400000)

/* A document to attach: doc's record rec/len, stored under record id;
 * key its order number (a waybill's: its waybill number); lno the
 * inventory list's waybill number (NULL for the others); replace: a
 * change (document.function change) takes the place of the document of
 * its kind already there. Keys and ids are 1-64 of A-Z a-z 0-9 - _ . */
typedef struct store_cbec_put {
    cbec_doc doc;
    const char *key, *id, *lno;
    const void *rec;
    size_t len;
    int replace;
    const char *cop;   /* the inventory list's own number, or NULL */
} store_cbec_put;

typedef enum store_cbec_outcome {
    STORE_CBEC_ATTACHED,  /* stored; the set changed (n) */
    STORE_CBEC_SAME,      /* this record was attached before: nothing */
    STORE_CBEC_DUPLICATE, /* another record, same bytes: nothing */
    STORE_CBEC_CONFLICT,  /* another record of that kind is there (other) */
    STORE_CBEC_PARKED,    /* a waybill kept until its inventory list */
    STORE_CBEC_CLOSED,    /* the set expired or was withdrawn (other: why) */
} store_cbec_outcome;

typedef struct store_cbec_doc {
    const char *id;     /* NULL: not there */
    const void *rec;
    size_t len;
    int64_t at;
} store_cbec_doc;

typedef struct store_cbec_set {
    const char *order_no, *state, *why, *lno;
    const char *arid, *allow;  /* the allowance: request id, what (or NULL) */
    const char *tax;           /* the tax assessed, or NULL */
    int64_t first, due, upd, n, done;
    store_cbec_doc doc[CBEC__DOCS];
} store_cbec_set;

typedef struct store_cbec_res {
    store_cbec_outcome outcome;
    const char *order_no; /* the set's (a parked waybill's number) */
    const char *other;    /* CONFLICT: the id there; CLOSED: its why */
    int64_t n;            /* the set's attaches after this one */
    int has_set;          /* ATTACHED, SAME, DUPLICATE: set is the set as
                             the attach left it (one round trip, not two) */
    store_cbec_set set;
} store_cbec_res;

/* Attach p at now_ms; a set opened by it is due at now_ms + limit_ms. */
int store_cbec_attach(store *st, const store_cbec_put *p, int64_t now_ms,
                      int64_t limit_ms, arena_t *a, store_cbec_res *out,
                      err_t *e);

/* p[0..k) in turn in one script (k <= STORE_CBEC_ATTACH_MAX), out[i] the
 * result of p[i]: a batch of documents costs one round trip. */
#define STORE_CBEC_ATTACH_MAX 8
int store_cbec_attach_many(store *st, const store_cbec_put *p, size_t k,
                           int64_t now_ms, int64_t limit_ms, arena_t *a,
                           store_cbec_res *out, err_t *e);

/* The set of order_no; ERR_NOTFOUND when there is none. */
int store_cbec_get(store *st, const char *order_no, arena_t *a,
                   store_cbec_set *out, err_t *e);

/* Records state and why for the set of order_no as read at n attaches:
 * 1 when recorded, 0 when the set has changed since (read it again) or is
 * closed. A matched set leaves v1:cb:due. */
int store_cbec_settle(store *st, const char *order_no, int64_t n,
                      const char *state, const char *why, int64_t now_ms,
                      err_t *e);

/* Closes every open set due by now_ms (at most max) as expired, its why
 * naming the documents that never came (or the mismatch not corrected);
 * fn gets each. Returns how many. */
typedef int (*store_cbec_expired_fn)(void *ctx, const char *order_no,
                                     const char *why, err_t *e);
int store_cbec_expire(store *st, int64_t now_ms, size_t max,
                      store_cbec_expired_fn fn, void *ctx, err_t *e);

/* Closes the set of order_no as state (withdrawn: before release;
 * released, rejected: customs' answer to a matched set) with why;
 * out->closed 1 when it did, else 0 (out->was says what it is). The
 * allowance draw's request id and what it drew, if any, in out->arid and
 * out->allow (store_cbec_allow_set's). */
typedef struct store_cbec_closed {
    int closed;
    const char *was, *arid, *allow;
} store_cbec_closed;
int store_cbec_close(store *st, const char *order_no, const char *state,
                     const char *why, int64_t now_ms, arena_t *a,
                     store_cbec_closed *out, err_t *e);

/* The order number of the set whose inventory list is number cop;
 * ERR_NOTFOUND when none here. */
int store_cbec_by_cop(store *st, const char *cop, arena_t *a,
                      const char **order_no, err_t *e);

/* Records what the matched set of order_no draws on the buyer's
 * allowance: rid the reserve request queued (NULL: none), what its
 * permit id and amount, or why nothing is drawn; and tax, the tax
 * assessed (NULL: none). */
int store_cbec_allow_set(store *st, const char *order_no, const char *rid,
                         const char *what, const char *tax, err_t *e);

/* How many sets are open (awaiting or mismatched, in v1:cb:due), or < 0. */
int64_t store_cbec_open(store *st, err_t *e);

/* Where this node's reading of v1:in for cbec documents stands
 * (v1:cb:inpos): [0,0] before the first. */
int store_cbec_inpos(store *st, store_pos *out, err_t *e);
int store_cbec_inpos_set(store *st, store_pos p, err_t *e);

#endif
