/* pmwire: the permit operations between nodes (docs/permits.md): a
 * request any node sends a permit's home (verify, reserve, confirm,
 * cancel, return), and the home's answer. Each is the payload of a signed
 * federation envelope: PM_REQ_TYPE from the requester to the home,
 * PM_ANS_TYPE back, so the home's signature vouches for every answer and
 * the requester keeps it as evidence (the movement's history).
 *
 * Permit ids: the home region, a hyphen and the issuing authority's
 * number: "CQ-26AIL000123" (3 + 1..40 characters of A-Z 0-9 - _ after
 * the hyphen; upper case only). The region routes the request; an
 * authority's numbers are unique within its region only.
 *
 * Amounts are unsigned integers in thousandths of their unit (quantity
 * 12.5 KGM = 12500, value 1,000.00 USD = 1000000): msgpack has one
 * canonical spelling of an integer, not of a float, and balances must add
 * up exactly.
 *
 * Wire forms, version 1: msgpack maps whose keys are in exactly the order
 * below, present only when set ("v" first); readers refuse unknown,
 * repeated and out-of-order keys, non-shortest headers and trailing
 * bytes (mpread), like movement events.
 *
 *   request: v (uint 1) id (str: the request id, a message id) op (str)
 *            permit (str) key (str) lines (array of [line uint, qty uint,
 *            value uint]) holder (str) at (uint ms)
 *   answer:  v (uint 1) req (str: the request's message id) op permit key
 *            code (str: "ok" or a refusal code) text (str) status (str)
 *            kind (str) usage (str) from (uint ms) to (uint ms) rsv (str:
 *            the reservation's state) lines (array of [line, qty_left,
 *            value_left]) at (uint ms)
 *
 * An envelope carries a batch: its payload is a msgpack array of 1 to
 * PM_BATCH_MAX bins, each one request (or answer) in the form above, so
 * that thousands of operations a second cost a few envelopes, not one
 * each. An answer batch answers one request batch, item for item by id.
 *
 * Ownership: structs borrow their strings; the decoders copy into the
 * arena they are given. */
#ifndef EPORT_PMWIRE_H
#define EPORT_PMWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "err.h"

#define PMWIRE_VERSION 1
#define PM_REQ_TYPE "permit-op"   /* envelope type of a request */
#define PM_ANS_TYPE "permit-res"  /* envelope type of an answer */
#define PM_ID_MAX 44              /* "RR-" + 40 */
#define PM_KEY_MAX 70             /* a reservation key: a movement ref, a
                                     declaration number: printable ASCII,
                                     no space */
#define PM_LINES_MAX 64           /* lines of a permit, of a request */
#define PM_TEXT_MAX 512           /* bytes of an answer's text */
#define PM_STR_MAX 70             /* any other string */
#define PM_MAX_BYTES 16384        /* a payload, at most */

/* Operations. Numbers are stable (stored). */
#define PM_OPS(X)                                                         \
    X(VERIFY, 1, "verify")   /* valid? balances; changes nothing */        \
    X(RESERVE, 2, "reserve") /* hold amounts under key (idempotent) */     \
    X(CONFIRM, 3, "confirm") /* the reservation becomes a write-off */     \
    X(CANCEL, 4, "cancel")   /* the reservation is returned */           \
    X(RETURN, 5, "return")   /* part of a write-off given back (goods     \
                                returned after release) */

typedef enum pm_op {
#define PM__OPENUM(name, num, text) PM_OP_##name = num,
    PM_OPS(PM__OPENUM)
#undef PM__OPENUM
    PM_OP_END
} pm_op;
const char *pm_op_name(pm_op op);              /* "?" if unknown */
int pm_op_parse(const char *s, pm_op *out);    /* ERR_CODE if unknown */

/* Answer codes: "ok" and the refusals, each distinct so that a declarant
 * is told exactly why (docs/permits.md, "Refusals"). The last two are
 * never sent by a home: the requester writes them itself. */
#define PM_CODES(X)                                                        \
    X(OK, "ok", "")                                                        \
    X(UNKNOWN, "unknown-permit", "no such permit at its home")             \
    X(REVOKED, "revoked", "the issuer revoked the permit")                 \
    X(SUSPENDED, "suspended", "the issuer suspended the permit")           \
    X(EXPIRED, "expired", "past the permit's validity")                    \
    X(NOT_YET_VALID, "not-yet-valid", "before the permit's validity")      \
    X(EXHAUSTED, "exhausted", "nothing left to draw")                      \
    X(INSUFFICIENT, "insufficient", "less left than requested")            \
    X(UNKNOWN_LINE, "unknown-line", "the permit has no such line")         \
    X(HOLDER, "holder-mismatch", "the permit is another holder's")         \
    X(KEY_REUSE, "key-reuse", "key reserved before with other amounts")    \
    X(NO_RESERVATION, "no-reservation", "nothing reserved under key")      \
    X(RSV_EXPIRED, "reservation-expired", "the reservation expired")       \
    X(RSV_CANCELLED, "reservation-cancelled", "the reservation was "       \
      "cancelled")                                                         \
    X(CONFIRMED, "already-confirmed", "written off: cannot be cancelled")  \
    X(BAD_REQUEST, "bad-request", "the request breaks the rules")         \
    X(FORGED, "forged", "answer not signed by the permit's home")          \
    X(UNREACHABLE, "home-unreachable", "the home did not answer in time")

typedef enum pm_code {
#define PM__CENUM(name, text, why) PM_C_##name,
    PM_CODES(PM__CENUM)
#undef PM__CENUM
    PM_C_END
} pm_code;
const char *pm_code_name(pm_code c);           /* "?" if unknown */
const char *pm_code_why(pm_code c);            /* the default text */
int pm_code_parse(const char *s, pm_code *out); /* ERR_CODE if unknown */

/* A permit id's syntax: 0, or ERR_INVALID "permit id 'x': <why>". */
int pm_id_check(const char *id, err_t *e);
/* The home region of a valid id (its first two characters). */
void pm_id_region(const char *id, char out[3]);

typedef struct pm_amount {
    uint32_t line;           /* 1-based permit line; 0: the permit as a
                                whole (quantity- and value-limited rules) */
    uint64_t qty, value;     /* thousandths; 0: not requested */
} pm_amount;

typedef struct pm_req {
    const char *id;          /* the request id (a message id): what the
                                answer's req names; set by store_pmq_add */
    pm_op op;
    const char *permit;
    const char *key;         /* required but for verify (NULL) */
    pm_amount lines[PM_LINES_MAX];
    uint32_t nlines;         /* reserve: at least 1 */
    const char *holder;      /* the declarant's id, checked against the
                                permit's holder when both are set; NULL */
    uint64_t at_ms;
} pm_req;

typedef struct pm_ans {
    const char *req;         /* message id of the request answered */
    pm_op op;
    const char *permit;
    const char *key;         /* as in the request; NULL for verify */
    pm_code code;
    const char *text;        /* why, for people; NULL when ok */
    const char *status;      /* valid suspended revoked exhausted expired;
                                NULL for unknown-permit */
    const char *kind, *usage; /* the permit's (model.md code lists) */
    uint64_t from_ms, to_ms; /* validity; 0: not known */
    const char *rsv;         /* reserved confirmed cancelled expired; NULL:
                                no reservation under key */
    pm_amount left[PM_LINES_MAX]; /* balances after the operation: line 0
                                     for the permit as a whole, else per
                                     line */
    uint32_t nleft;
    uint64_t at_ms;          /* when the home decided */
} pm_ans;

/* Field rules (op and required keys, id and key syntax, line numbers
 * distinct, caps): 0 or ERR_INVALID naming the field. */
int pm_req_validate(const pm_req *q, err_t *e);
int pm_ans_validate(const pm_ans *a, err_t *e);

/* Append the wire form (validated first) to out; nothing on failure. */
int pm_req_encode(const pm_req *q, buf_t *out, err_t *e);
int pm_ans_encode(const pm_ans *a, buf_t *out, err_t *e);

/* Read exactly p[0..n) into *out (zeroed first), validated. ERR_SYNTAX,
 * ERR_UNSUPPORTED (another version) or ERR_INVALID, each "permit request:
 * key \"lines\" entry 2: <why>". */
int pm_req_decode(const void *p, size_t n, arena_t *a, pm_req *out,
                  err_t *e);
int pm_ans_decode(const void *p, size_t n, arena_t *a, pm_ans *out,
                  err_t *e);

/* ---- batches: one envelope's payload ---- */

#define PM_BATCH_MAX 256
#define PM_BATCH_MAX_BYTES (PM_BATCH_MAX * (PM_MAX_BYTES + 3) + 3)

typedef struct pm_item {
    const unsigned char *p;  /* one request or answer's wire form */
    size_t n;
} pm_item;

/* Append the batch of items[0..k) (1 <= k <= PM_BATCH_MAX, each at most
 * PM_MAX_BYTES) to out; nothing on failure. */
int pm_batch_encode(const pm_item *items, size_t k, buf_t *out, err_t *e);
/* The items of batch p[0..n) into items (borrowed from p), at most max:
 * *k of them. ERR_SYNTAX / ERR_INVALID / ERR_TOOBIG "permit batch: ...";
 * the items themselves are read with pm_req_decode / pm_ans_decode. */
int pm_batch_split(const void *p, size_t n, pm_item *items, size_t max,
                   size_t *k, err_t *e);

/* Amount text for people and JSON: 12500 -> "12.5", 3 -> "0.003". */
void pm_amount_fmt(uint64_t thousandths, char out[32]);
/* Parse "12.5" (at most 3 decimals, no sign, no exponent) into
 * thousandths: 0 or ERR_INVALID. */
int pm_amount_parse(const char *s, uint64_t *out, err_t *e);

#endif
