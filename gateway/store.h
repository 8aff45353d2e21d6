/* store: the node's durable state in Redis (hiredis), under the node's key
 * prefix, so that everything survives a restart and two eportd instances
 * of one node can share it. Key schema (versioned "v1"): docs/store.md.
 *
 * - outbox per peer: a Redis Stream read through one consumer group, so
 *   instances share the work and a survivor claims a dead one's entries;
 *   entries are never trimmed, only deleted once acknowledged;
 * - inbox dedupe: id -> {digest, receipt} written by one Lua script, so
 *   the check and the write are one atomic round trip;
 * - dead letters: one Stream with the reason, where and the frame.
 *
 * A store is one connection and is not thread-safe. A transport failure
 * drops the connection and the next call reconnects; every message names
 * the URL. All functions return 0 (or a count) or a negative ERR_*. */
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

/* Connects to url (redis://HOST[:PORT][/DB] or unix:/PATH); prefix is put
 * before every key (e.g. "eport:CQ:"). *out is owned by the caller and
 * released with store_close. ERR_CONFIG for a bad url or prefix, ERR_IO
 * when Redis cannot be reached. */
int store_open(const char *url, const char *prefix, store **out, err_t *e);
void store_close(store *st);

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

#endif
