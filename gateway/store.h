/* store: the node's durable state in Redis (hiredis), under the node's key
 * prefix, so that everything survives a restart and two eportd instances
 * of one node can share it. Key schema (versioned "v1"): docs/store.md.
 *
 * - outbox per peer: a Redis Stream; read in order after a position by the
 *   link sender (store_outbox_after) and trimmed up to what the peer
 *   acknowledged, or read through one consumer group (store_outbox_read);
 * - link positions, delivered records, the inbox dedupe and receipts that
 *   came home are written by the link script, one call per run of
 *   received frames, so a frame's effect and the link position that says
 *   "handled" can never disagree (store_link_apply, or send and collect
 *   to let the caller work while Redis applies);
 * - the origin's sent messages awaiting receipts (store_submit, await);
 * - dead letters: one Stream with the reason, where and the frame;
 * - peer link status for eportctl.
 *
 * A store is one connection and is not thread-safe. A transport failure
 * drops the connection and the next call reconnects; so does an error
 * reply READONLY, LOADING or MASTERDOWN (the server is no longer, or not
 * yet, the primary). With a sentinel:// URL every connect asks Sentinel
 * where the primary is (store_sentinel.h), so the store follows it across
 * a failover. Every message names the URL. All functions return 0 (or a
 * count) or a negative ERR_*. */
#ifndef EPORT_STORE_H
#define EPORT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

typedef struct store store;

#define STORE_ID_MAX 64            /* stream id buffers, NUL included */
#define STORE_DIGEST_LEN 32        /* SHA-256 of a payload */
#define STORE_CONNECT_MS 2000      /* connect timeout */
#define STORE_COMMAND_MS 2000      /* default command timeout */

/* Connects to url (redis://HOST[:PORT][/DB], unix:/PATH or
 * sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB], the primary Sentinel
 * names for MASTER); prefix is put before every key (e.g. "eport:CQ:").
 * *out is owned by the caller and released with store_close. ERR_CONFIG
 * for a bad url or prefix, ERR_IO when Redis cannot be reached (or no
 * sentinel names a primary whose ROLE is master). */
int store_open(const char *url, const char *prefix, store **out, err_t *e);
void store_close(store *st);

/* "host:port" of the Redis primary the store is connected to ("unix:/PATH"
 * for a unix: URL); "" while disconnected. */
const char *store_primary(const store *st);
/* How many times a new connection went to another address than the
 * connection before it: the primary moved (a Sentinel failover). */
uint64_t store_failovers(const store *st);
/* Connections made so far (1 after store_open): when it changes, the
 * connection was replaced and nothing pending on the old one will come. */
uint64_t store_conn_gen(const store *st);

/* Timeout of one command (redis.timeout_ms), 1 to 600000 ms. */
int store_set_timeout(store *st, int64_t ms, err_t *e);

/* Called for each stream entry read; a negative return stops the read and
 * is returned (the entry stays pending, so nothing is lost). */
typedef int (*store_entry_fn)(void *ctx, const char *id, const void *frame,
                              size_t n, err_t *e);

/* Appends a frame to the peer's outbox; its stream id goes to id_out. */
int store_outbox_add(store *st, const char *peer, const void *frame,
                     size_t n, char id_out[STORE_ID_MAX], err_t *e);
/* Creates the peer's consumer group (and stream) if missing. */
int store_outbox_group(store *st, const char *peer, err_t *e);
/* Delivers up to count entries never given to any consumer of the group,
 * oldest first, waiting up to block_ms (0: do not wait) for the first.
 * Returns how many were delivered. */
int store_outbox_read(store *st, const char *peer, const char *consumer,
                      size_t count, int64_t block_ms, store_entry_fn fn,
                      void *ctx, err_t *e);
/* Acknowledges and deletes one entry (atomically); returns 1 when it was
 * pending, 0 when it was already acknowledged. */
int store_outbox_ack(store *st, const char *peer, const char *stream_id,
                     err_t *e);
/* Moves up to count entries pending for longer than min_idle_ms, whoever
 * holds them, to consumer and delivers them; returns how many. */
int store_outbox_claim(store *st, const char *peer, const char *consumer,
                       int64_t min_idle_ms, size_t count, store_entry_fn fn,
                       void *ctx, err_t *e);
/* Entries still in the outbox (pending or not yet read). */
int64_t store_outbox_len(store *st, const char *peer, err_t *e);

/* Deduplication of one received message (docs/protocol.md section 7):
 * the first time, records {digest, receipt} for ttl_ms and sets *dup = 0;
 * afterwards sets *dup = 1 and appends the receipt stored then to
 * original_receipt (empty if none was kept). An id already held with
 * another digest: *dup = 1, ERR_INVALID "id reuse with a different
 * payload". One Lua script, so two instances cannot both apply. */
int store_inbox_apply(store *st, const char *msg_id,
                      const unsigned char digest[STORE_DIGEST_LEN],
                      const void *receipt, size_t n, int64_t ttl_ms,
                      int *dup, buf_t *original_receipt, err_t *e);

/* One dead letter as read back; pointers valid during the callback. */
typedef struct store_dlq_entry {
    const char *id, *reason, *where;
    int64_t at;             /* ms since the epoch, when dead-lettered */
    const void *frame;
    size_t n;
} store_dlq_entry;
typedef int (*store_dlq_fn)(void *ctx, const store_dlq_entry *d, err_t *e);

int store_dlq_add(store *st, const char *reason, const char *where,
                  const void *frame, size_t n, char id_out[STORE_ID_MAX],
                  err_t *e);
/* The count oldest dead letters; returns how many were delivered. */
int store_dlq_list(store *st, size_t count, store_dlq_fn fn, void *ctx,
                   err_t *e);
/* Appends the frame of dead letter id to frame; ERR_NOTFOUND if absent. */
int store_dlq_get(store *st, const char *id, buf_t *frame, err_t *e);
/* Deletes dead letter id; ERR_NOTFOUND if absent. */
int store_dlq_del(store *st, const char *id, err_t *e);
/* Dead letters held (XLEN v1:dlq), or < 0. */
int64_t store_dlq_len(store *st, err_t *e);

/* ---- doorbell (pub/sub) ---- */

/* A subscription to <prefix>v1:wake, where store_submit publishes: the
 * daemon polls its fd with its sockets to send new messages at once. It
 * borrows st (which must outlive it) and dials its own connection. */
typedef struct store_wake store_wake;
int store_wake_open(store *st, store_wake **out, err_t *e);
void store_wake_close(store_wake *w);
/* The socket to poll for reading, redialling if the connection was lost;
 * -1 while Redis cannot be reached. */
int store_wake_fd(store_wake *w);
/* Read what is waiting (call when the fd is readable): the number of
 * notifications; ERR_IO drops the connection (the next fd call redials). */
int store_wake_drain(store_wake *w, err_t *e);

/* ---- replicas ---- */

/* WAIT: block until n replicas hold every write made so far on this
 * connection, at most timeout_ms. Returns how many did (0 when n <= 0);
 * ERR_IO when fewer than n did in time: the caller must not acknowledge
 * (redis.wait_replicas, docs/store.md). */
int store_wait_replicas(store *st, int64_t n, int64_t timeout_ms, err_t *e);

/* ---- positions ---- */

/* A position in a stream = its Redis stream id "ms-seq". [0,0] is "before
 * everything". */
typedef struct store_pos { uint64_t ms, seq; } store_pos;
/* Strict "ms-seq" of two decimal uint64; 0 or ERR_SYNTAX. */
int store_pos_parse(const char *id, store_pos *out);
void store_pos_format(store_pos p, char out[STORE_ID_MAX]);
/* <0, 0, >0 like strcmp. */
int store_pos_cmp(store_pos a, store_pos b);

/* ---- sender side of a link ---- */

/* Called per outbox entry; a negative return stops the read and is
 * returned. frame is valid during the call. */
typedef int (*store_pos_entry_fn)(void *ctx, store_pos pos, const void *frame,
                                  size_t n, err_t *e);
/* Entries of outbox:<peer> after position `after` (exclusive), oldest
 * first, at most count (XRANGE; no consumer group). Returns how many. */
int store_outbox_after(store *st, const char *peer, store_pos after,
                       size_t count, store_pos_entry_fn fn, void *ctx,
                       err_t *e);
/* Deletes every entry of outbox:<peer> at or before upto (the receiver
 * acknowledged them): one XTRIM MINID. Returns how many were deleted. */
int store_outbox_trim_upto(store *st, const char *peer, store_pos upto,
                           err_t *e);

/* ---- receiver side of a link ---- */

#define STORE_FWD_MAX 32        /* forward peers of one effect */
#define STORE_PIPE_MAX 1024     /* link ops store_link_apply sends per
                                   round trip */

/* What handling one received frame does, applied by one Lua script
 * together with the link position check. Every pointer is borrowed for
 * the call; unused parts are NULL / 0. */
typedef struct store_effect {
    /* destination part (msg_id NULL when this node is not a destination):
     * dedupe on seen:<msg_id>, then XADD to v1:in (f, id, origin; v1:mvin
     * with ledger) and
     * enqueue our receipt on outbox:<receipt_peer> (next hop to origin) */
    const char *msg_id, *origin;
    const unsigned char *digest;                 /* STORE_DIGEST_LEN */
    const void *frame; size_t frame_n;           /* envelope as received */
    const void *receipt; size_t receipt_n;       /* our signed receipt */
    const char *receipt_peer;
    int64_t seen_ttl_ms;                         /* >= 1 with msg_id */
    int ledger;         /* a movement event: XADD to v1:mvin, the ledger's
                           stream, instead of v1:in (so the ledger reads
                           only what is its own) */
    int permit;         /* a permit request or answer: XADD to v1:pmin,
                           the permit loop's stream (store_pmq.h) */
    /* with msg_id, optional: the claim of a received "mv" declaration
     * (or its end), applied only when the message is new here (not a
     * duplicate, not an id reuse): ZADD claim:<key> score ref (add), or
     * ZREM (store_mv.h, "claims") */
    const struct store_mv_claim *claim;
    /* forwarding part: fwd XADDed to each outbox:<fwd_peers[i]> */
    const void *fwd; size_t fwd_n;
    const char *const *fwd_peers; size_t nfwd;   /* nfwd <= STORE_FWD_MAX */
    /* a receipt that came home (this node is the origin of receipted_id):
     * kept in rcpt:<id> (first one per sender), sender removed from
     * sent:<id>.wait; sent:<id> and its await entry go when none is left */
    const char *receipted_id, *receipt_from;
    const void *rcpt; size_t rcpt_n;
    int64_t rcpt_ttl_ms;                         /* 0: 24 h */
    /* dead letter instead of (or besides) the above */
    const char *dlq_reason, *dlq_where; const void *dlq_frame; size_t dlq_n;
} store_effect;

typedef enum { STORE_LINK_DONE, STORE_LINK_OLD, STORE_LINK_GAP }
    store_link_status;
typedef struct store_link_result {
    store_link_status status;   /* DONE: effect applied, link:<peer> = pos;
                                   OLD: pos <= last, nothing done;
                                   GAP: prev != last, nothing done */
    store_pos last;             /* link:<peer> after the op: what to ack */
    int dup;                    /* DONE as destination, id seen before with
                                   the same digest: destination part NOT
                                   applied again; 1: the original receipt
                                   was re-enqueued on outbox:<receipt_peer>;
                                   2: none kept (or no receipt_peer), nothing
                                   enqueued: send a fresh `duplicate` one.
                                   The forwarding part is applied anyway. */
    int reuse;                  /* DONE as destination, id seen with another
                                   digest: nothing of fx applied; the frame
                                   was dead-lettered "refused: id-reuse"
                                   (the caller sends the refusal) */
} store_link_result;

/* One received frame: its hdr positions and the effect (NULL: none, the
 * link just moves on). */
typedef struct store_link_op {
    store_pos prev, pos;
    const store_effect *fx;
} store_link_op;

/* Applies ops in order for frames from link_peer, in runs of up to 128
 * per script call, pipelined (one round trip per STORE_PIPE_MAX ops);
 * res[i] is op i's result. Each run is atomic, so a failure part-way
 * leaves a prefix applied: retrying the whole batch is safe (applied ops
 * come back OLD). ERR_INVALID before anything is sent when an op is
 * malformed. */
int store_link_apply(store *st, const char *link_peer,
                     const store_link_op *ops, size_t n,
                     store_link_result *res, err_t *e);
/* store_link_apply in two halves, so that the caller can work while
 * Redis applies: store_link_send checks ops as apply does, queues all of
 * them and writes them out without waiting; store_link_collect reads the
 * results into res. ops must stay unchanged until collected. Several runs
 * may be sent before collecting; they are collected in the order sent,
 * and st takes no other command while any is owed (ERR_USAGE). A run
 * whose connection broke meanwhile is ERR_IO at collect (nothing or a
 * prefix applied; the retry rule of store_link_apply holds). */
typedef struct store_link_pending {
    char peer[65];       /* the link peer (copy) */
    size_t n;            /* ops queued */
    size_t calls;        /* replies owed */
    uint64_t conn;       /* the connection that owes them */
} store_link_pending;
int store_link_send(store *st, const char *link_peer, const store_link_op *ops,
                    size_t n, store_link_pending *p, err_t *e);
int store_link_collect(store *st, const store_link_op *ops,
                       store_link_pending *p, store_link_result *res,
                       err_t *e);
/* link:<link_peer>, [0,0] if none. */
int store_link_last(store *st, const char *link_peer, store_pos *out,
                    err_t *e);

/* ---- origin side ---- */

/* Submits a new message atomically (Lua): XADD frame to outbox:<hop> for
 * each distinct hop, HSET sent:<id> (f, attempts 0, wait "<dest> ...",
 * created), ZADD await first_retry_at_ms id. Returns 0, or 1 when id was
 * already submitted (nothing changed, so a retry after ERR_IO is safe). */
int store_submit(store *st, const char *msg_id, const void *frame, size_t n,
                 const char *const *hops, size_t nhops,
                 const char *const *dests, size_t ndests, int64_t created_ms,
                 int64_t first_retry_at_ms, err_t *e);

/* store_submit of count messages to the same hops and destinations,
 * whose ids the caller chose (msgid_derive: a node deciding again after a
 * crash what it sends, e.g. local records forwarded), in one round trip
 * (pipelined, in order). Besides sent:<id>, seen:<id> marks each as
 * submitted for once_ttl_ms (> 0), so it is refused even after every
 * receipt came home and sent:<id> went: res[i] 0 stored, 1 submitted
 * before. On an error some may be stored already: submitting them all
 * again is safe. */
typedef struct store_sub {
    const char *msg_id;
    const void *frame;
    size_t n;
    int64_t created_ms, first_retry_at_ms;
} store_sub;
typedef struct store_sub_to {
    const char *const *hops;
    size_t nhops;
    const char *const *dests;
    size_t ndests;
    int64_t once_ttl_ms;
} store_sub_to;
int store_submit_once_many(store *st, const store_sub *m, size_t count,
                           const store_sub_to *to, int *res, err_t *e);

/* One message due for resending; pointers valid during the call. wait is
 * the space-separated destinations still missing a receipt. */
typedef int (*store_await_fn)(void *ctx, const char *id, const void *frame,
                              size_t n, const char *wait, int64_t attempts,
                              int64_t created_ms, err_t *e);
/* Messages with resend time <= now_ms, earliest first, up to count.
 * Returns how many were delivered. */
int store_await_due(store *st, int64_t now_ms, size_t count,
                    store_await_fn fn, void *ctx, err_t *e);
/* After resending: attempts += 1, resend time = next_at_ms. Returns 1, or
 * 0 when id is no longer awaited (its last receipt came meanwhile). */
int store_await_reschedule(store *st, const char *id, int64_t next_at_ms,
                           err_t *e);
/* Gives up on id: DEL sent:<id>, ZREM await (the caller dead-letters the
 * frame as `undelivered`). Returns 1, or 0 when it was not awaited. */
int store_await_drop(store *st, const char *id, err_t *e);
int64_t store_await_len(store *st, err_t *e);

typedef int (*store_rcpt_fn)(void *ctx, const char *from, const void *frame,
                             size_t n, err_t *e);
/* Receipts kept for id, one per sender. Returns how many. */
int store_rcpt_list(store *st, const char *id, store_rcpt_fn fn, void *ctx,
                    err_t *e);

/* ---- delivered records (stream v1:in) ---- */

typedef int (*store_in_fn)(void *ctx, store_pos pos, const char *id,
                           const char *origin, const void *frame, size_t n,
                           err_t *e);
/* Records after position (exclusive), oldest first, up to count. */
int store_in_after(store *st, store_pos after, size_t count, store_in_fn fn,
                   void *ctx, err_t *e);
int64_t store_in_len(store *st, err_t *e);
/* The same for v1:mvin, the movement events delivered to this node (by
 * the link script with store_effect.ledger, and by store_mv_submit for
 * the node's own), which its ledger applies in order. */
int store_mvin_after(store *st, store_pos after, size_t count,
                     store_in_fn fn, void *ctx, err_t *e);

/* ---- peer link status (hash v1:peer:<peer>) ---- */

#define STORE_KV_MAX 48         /* strings in one status write */
typedef int (*store_kv_fn)(void *ctx, const char *name, const char *value,
                           err_t *e);
/* HSET of kv[0]=kv[1], kv[2]=kv[3], ...: nkv counts the strings (even,
 * at most STORE_KV_MAX). */
int store_peer_status_set(store *st, const char *peer, const char *const *kv,
                          size_t nkv, err_t *e);
/* Every field but the version, in Redis's order. Returns how many. */
int store_peer_status_get(store *st, const char *peer, store_kv_fn fn,
                          void *ctx, err_t *e);

#endif
