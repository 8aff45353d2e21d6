/* store_mv: the movement ledger's records in Redis (key schema v1 in
 * docs/store.md, "Movements"). Event-sourced: per movement an append-only
 * log of the signed envelopes applied, in the order applied, and the state
 * derived from them, changed together by one Lua script that also keeps
 * the indexes, so that a check and its write are one step and two eportd
 * instances of one node cannot both apply.
 *
 *   v1:mv:<ref>          hash  v=1, st=<mv_state wire form>, n=<events>,
 *                              phase=<name>, dep=<region>
 *   v1:mv:<ref>:log      list  envelope frames, in the order applied
 *   v1:mv:<ref>:ids      set   message ids applied (applying twice = once)
 *   v1:mv:<ref>:park     hash  id -> frame: events whose prev is not here
 *   v1:mv:<ref>:refused  hash  id -> why the ledger refused that event
 *   v1:mv:all            zset  ref by declared time (ms)
 *   v1:mv:phase:<phase>  set   refs in that phase
 *   v1:claim:<key>       zset  refs claiming a document or container,
 *                              by declared time; ties by ref (zset order)
 *   v1:mvidx:<key>       set   every ref that ever named it (trace)
 *   v1:mv:limit          zset  ref by time limit (ms): released here as
 *                              departure, not arrived yet
 *   v1:mv:claimwait      zset  ref by declared time: declared here, claim
 *                              not settled yet
 *   v1:mv:seq:<yy>       int   reference sequence of the year
 *   v1:ledger:pos        str   position in v1:mvin the ledger has applied
 *   v1:alerts            stream alerts (kind, ref, region, msg, at)
 *
 * A claim key is "c:<container>" or "d:<doc type>:<doc number>"; 1-128
 * bytes without spaces or control characters.
 * All functions return 0 (or a count) or a negative ERR_*; messages start
 * "redis <url>:" as in store.h. Pointers handed to callbacks are valid
 * during the call only. */
#ifndef EPORT_STORE_MV_H
#define EPORT_STORE_MV_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "store.h"

#define STORE_MV_KEY_MAX 128
#define STORE_MV_BATCH 256      /* ops or loads per call, at most */
#define STORE_MV_NKEYS_MAX 128  /* claim or index keys of one op, at most */

/* The node id of this store (node.id, 2-32 of A-Z 0-9 -): the origin
 * store_mv_submit writes on the records it delivers to the node itself
 * (v1:mvin, as the link script does for received ones). Call once after
 * store_open; store_mv_submit is ERR_USAGE until it is set. */
int store_mv_node(store *st, const char *node_id, err_t *e);

/* What the ledger knows of one movement before applying event id. */
typedef struct store_mv_cur {
    int found;           /* the movement exists here */
    int64_t n;           /* its event count (the CAS version), 0 if new */
    int has_id;          /* id already applied: a duplicate */
    int has_prev;        /* prev (if any was asked) applied here; 1 when
                            no prev was asked (nothing is missing) */
    const void *state;   /* wire form of the state (found), in the
                            caller's buffer given to load */
    size_t state_n;
} store_mv_cur;

typedef struct store_mv_key {
    const char *ref, *id, *prev;  /* prev NULL: not asked */
} store_mv_key;

/* For each key (n <= STORE_MV_BATCH), pipelined in one round trip:
 * HMGET st n, SISMEMBER ids id, SISMEMBER ids prev. State bytes are
 * appended to buf (which must not be touched until cur[] is used). */
int store_mv_load(store *st, const store_mv_key *keys, size_t n,
                  store_mv_cur *cur, buf_t *buf, err_t *e);

/* One event applied: all of it in one script call, only if the stored
 * event count is still expect_n and id is not in ids. */
typedef struct store_mv_op {
    const char *ref, *id;
    const void *frame; size_t frame_n;  /* RPUSH log */
    int64_t expect_n;                    /* CAS on hash field n */
    const void *state; size_t state_n;   /* new st; n = expect_n + 1 */
    const char *phase_old, *phase_new;   /* names; old NULL when new (the
                                            script moves the ref from the
                                            phase stored in the hash, so
                                            old is only checked) */
    const char *dep;                     /* departure region (new only) */
    int64_t declared_ms;                 /* ZADD mv:all NX (new only) */
    const char *const *idx; size_t nidx; /* new only: SADD mvidx:<k> ref
                                            (container/document keys) */
    int limit_op; int64_t limit_ms;      /* 1: ZADD mv:limit, -1: ZREM */
    int claimwait_op;                    /* 1: ZADD mv:claimwait
                                            declared_ms, -1: ZREM */
    int unpark;                          /* HDEL park id */
} store_mv_op;

typedef enum { STORE_MV_APPLIED, STORE_MV_DUP, STORE_MV_STALE } store_mv_res;

/* Apply ops (n <= STORE_MV_BATCH) in order, pipelined; res[i] says what
 * op i did: APPLIED, DUP (id was applied before: nothing done but the
 * unpark), STALE (n had moved on: nothing done; reload and decide again).
 * ERR_INVALID before anything is sent when an op is malformed. */
int store_mv_apply(store *st, const store_mv_op *ops, size_t n,
                   store_mv_res *res, err_t *e);

/* ---- claims (docs/clearance.md, "No double declaration") ----
 * Claims are written where a declaration is stored, never later: by the
 * link script as it stores a received "mv" envelope (store_effect.claim,
 * store.h) and by store_mv_submit as the departure submits its own, each
 * in the same script as the receipt or the outbox entries. That is what
 * makes the release gate sound: a node either had the other claim when it
 * submitted its own (and refused to), or its own claim is ahead of its
 * receipt for the other on the link. */
typedef struct store_mv_claim {
    const char *ref;                 /* the claiming movement */
    int64_t score;                   /* its declared time, ms */
    const char *const *keys; size_t nkeys; /* claim keys */
    int add;                         /* 1: ZADD (declared); 0: ZREM
                                        (cancelled, rejected, written_off) */
} store_mv_claim;

/* store_submit (store.h) of an event this node authored, in one script
 * with: XADD v1:mvin (the node delivers it to itself, so its own ledger
 * applies it in order with what it receives) and the claim part. With
 * claim->add, first checks every key: if another ref already claims one,
 * nothing is done and ERR_CONFLICT names it ("container MSCU1234565 is
 * already declared as movement 26SC...") with its ref in winner. ndests
 * may be 0 (only the node itself). Returns 0, or 1 when msg_id was
 * already submitted (nothing changed). */
int store_mv_submit(store *st, const char *msg_id, const void *frame,
                    size_t n, const char *const *hops, size_t nhops,
                    const char *const *dests, size_t ndests,
                    int64_t created_ms, int64_t first_retry_at_ms,
                    const store_mv_claim *claim, char winner[32], err_t *e);

/* Keep the frame of event id until its prev is applied. */
int store_mv_park(store *st, const char *ref, const char *id,
                  const void *frame, size_t n, err_t *e);
typedef int (*store_mv_frame_fn)(void *ctx, const char *id, const void *frame,
                                 size_t n, err_t *e);
/* Parked events of ref (id, frame). Returns how many. */
int store_mv_parked(store *st, const char *ref, store_mv_frame_fn fn,
                    void *ctx, err_t *e);
/* The log of ref, oldest first (id is "" : the frame carries it). */
int store_mv_log(store *st, const char *ref, store_mv_frame_fn fn, void *ctx,
                 err_t *e);
/* Its first entry only (the declaration): 1, or 0 when there is no log. */
int store_mv_log_first(store *st, const char *ref, store_mv_frame_fn fn,
                       void *ctx, err_t *e);
/* The ledger refused event id of ref: HSET v1:mv:<ref>:refused id msg
 * (kept for mvact_wait and trace, TTL none) and XADD the frame to the DLQ
 * as "ledger-refused" with where = msg, and HDEL it from the park, in one
 * script. Returns 0, or 1 when the refusal was already recorded (nothing
 * written again but the park removal). */
int store_mv_refuse(store *st, const char *ref, const char *id,
                    const char *msg, const void *frame, size_t n, err_t *e);
/* What became of event id of ref: 1 applied (in ids), 2 refused (msg
 * appended to why), 0 neither yet. */
int store_mv_outcome(store *st, const char *ref, const char *id, buf_t *why,
                     err_t *e);
typedef int (*store_mv_kv_fn)(void *ctx, const char *id, const char *msg,
                              err_t *e);
/* Refusals recorded for ref. Returns how many. */
int store_mv_refusals(store *st, const char *ref, store_mv_kv_fn fn,
                      void *ctx, err_t *e);

/* Current state of one movement: appended to out; ERR_NOTFOUND. */
int store_mv_state(store *st, const char *ref, buf_t *out, err_t *e);

typedef int (*store_mv_ref_fn)(void *ctx, const char *ref, int64_t score,
                               err_t *e);
/* Refs claiming key, first (the winner) first. Returns how many. */
int store_mv_claims(store *st, const char *key, store_mv_ref_fn fn, void *ctx,
                    err_t *e);
/* Every ref that ever named key (score 0). */
int store_mv_index(store *st, const char *key, store_mv_ref_fn fn, void *ctx,
                   err_t *e);
/* Refs in phase (NULL: all, by declared time), up to count. A phase is
 * listed in ref order with score 0. */
int store_mv_list(store *st, const char *phase, size_t count,
                  store_mv_ref_fn fn, void *ctx, err_t *e);
/* Refs of zset "limit" or "claimwait" with score <= upto, earliest first,
 * up to count. */
int store_mv_due(store *st, const char *which, int64_t upto, size_t count,
                 store_mv_ref_fn fn, void *ctx, err_t *e);

/* count fresh reference sequence numbers of year yy: the first goes to
 * *first (INCRBY). */
int store_mv_next_seq(store *st, unsigned yy, uint64_t count,
                      uint64_t *first, err_t *e);

/* Position in v1:mvin up to which the ledger has applied records. */
int store_ledger_pos_get(store *st, store_pos *out, err_t *e);
int store_ledger_pos_set(store *st, store_pos pos, err_t *e);

/* XADD v1:alerts (capped at ~100000 entries): kind (node-down,
 * movement-overdue, discrepancy, double-declaration, ...), ref may be "". */
int store_alert_add(store *st, const char *kind, const char *ref,
                    const char *region, const char *msg, err_t *e);
typedef int (*store_alert_fn)(void *ctx, const char *id, const char *kind,
                              const char *ref, const char *region,
                              const char *msg, int64_t at, err_t *e);
/* The count newest alerts, newest first. */
int store_alert_list(store *st, size_t count, store_alert_fn fn, void *ctx,
                     err_t *e);

#endif
