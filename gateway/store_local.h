/* store_local: what local systems hand to this node and what it hands
 * back to them, in Redis (docs/store.md, "Local systems"):
 *
 *   v1:local            stream: records accepted from connectors, in
 *                       order, until eportd has dispatched them
 *   v1:local:pos        string: the last entry dispatched
 *   v1:msg:<id>         hash: one accepted message's status, with TTL
 *   v1:events           stream, capped: the node's event feed (eportctl
 *                       tail, GET /v1/events, the national center)
 *   v1:lout:<conn>      stream: records to deliver to connector conn's
 *                       local system, in order
 *   v1:lout:<conn>:pos  string: the last entry delivered
 *   v1:loutk:<key>      string with TTL: a notification already queued
 *
 * Every writer is one Lua script or one MULTI, so a crash leaves either
 * all of an operation or none of it. Thread use: a store connection
 * belongs to one thread; each connector thread opens its own.
 * Ownership: everything handed to a callback is valid during the call. */
#ifndef EPORT_STORE_LOCAL_H
#define EPORT_STORE_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "msgid.h"
#include "store.h"

#define STORE_LOCAL_BATCH 256   /* records per store_local_accept */
#define STORE_EVENTS_MAX 100000 /* v1:events is trimmed (~) to this */
#define STORE_MSG_TTL_MS (7LL * 86400000) /* v1:msg:<id> lives 7 days */

/* One record accepted from a local system. */
typedef struct store_local_rec {
    const char *id;      /* message id (fresh, or derived: idempotent) */
    const char *conn;    /* connector name */
    const char *client;  /* client id */
    const char *kind;    /* record kind */
    const char *doc;     /* "TYPE:NUMBER" of its document, or "" */
    const void *rec;     /* canonical msgpack (model_pack) */
    size_t rec_len;
} store_local_rec;

/* Accepts n (1..STORE_LOCAL_BATCH) records in one script: for each whose
 * v1:msg:<id> does not exist yet, XADD v1:local, HSET v1:msg:<id>
 * (status accepted, conn, client, kind, doc, at), PEXPIRE, and an
 * `accepted` event; one that exists already is left alone and
 * dup[i] = 1 (a retry of the same input). */
int store_local_accept(store *st, const store_local_rec *recs, size_t n,
                       int *dup, err_t *e);

/* Entries of v1:local after `after` (exclusive), oldest first, up to
 * count; fn gets each (pos, id, conn, client, rec bytes). */
typedef int (*store_local_fn)(void *ctx, store_pos pos, const char *id,
                              const char *conn, const char *client,
                              const void *rec, size_t len, err_t *e);
int store_local_after(store *st, store_pos after, size_t count,
                      store_local_fn fn, void *ctx, err_t *e);
/* v1:local:pos, [0,0] when none. */
int store_local_pos(store *st, store_pos *out, err_t *e);
/* One MULTI: SET v1:local:pos pos, XTRIM v1:local MINID past pos (the
 * dispatched entries go), and the status of each message dispatched
 * (store_msg_set's fields). */
typedef struct store_msg_update {
    const char *id;
    const char *const *kv; /* field, value, field, value... */
    size_t nkv;            /* strings in kv (even) */
} store_msg_update;
int store_local_done(store *st, store_pos pos, const store_msg_update *u,
                     size_t nu, err_t *e);
/* Entries not dispatched yet (XLEN v1:local). */
int64_t store_local_len(store *st, err_t *e);

/* ---- message status ---- */

/* HSET v1:msg:<id> fields (kv as store_msg_update); ERR_NOTFOUND when
 * the message is unknown (expired or never accepted). */
int store_msg_set(store *st, const char *id, const char *const *kv,
                  size_t nkv, err_t *e);
/* Every field of v1:msg:<id> (fn as store_kv_fn, store.h); ERR_NOTFOUND
 * when unknown. */
int store_msg_get(store *st, const char *id, store_kv_fn fn, void *ctx,
                  err_t *e);

/* ---- the event feed ---- */

/* XADD v1:events MAXLEN ~ STORE_EVENTS_MAX * v 1 ev <name> j <json>:
 * json is one JSON object (the event's fields). */
int store_event_add(store *st, const char *name, const char *json,
                    err_t *e);
/* n events in one pipelined round trip (names[i] with jsons[i]). */
int store_event_add_many(store *st, const char *const *names,
                         const char *const *jsons, size_t n, err_t *e);
typedef int (*store_event_fn)(void *ctx, store_pos pos, const char *name,
                              const char *json, err_t *e);
/* Events after `after` (exclusive), up to count; with block_ms > 0 and
 * none waiting, waits up to block_ms for one (XREAD BLOCK). Returns how
 * many. */
int store_event_after(store *st, store_pos after, size_t count,
                      int64_t block_ms, store_event_fn fn, void *ctx,
                      err_t *e);

/* ---- records for local systems (outbound) ---- */

/* Queues canonical record rec (msgpack) for connector conn's local
 * system, as event ev (released, anticipated_arrival, discrepancy,
 * arrived, written_off, message_status), unless key (unique per
 * notification, e.g. "<conn>:<event message id>") was queued before:
 * SET v1:loutk:<key> NX PX 7 days, then XADD v1:lout:<conn>, in one
 * script. Returns 0, or 1 when key was queued before. */
int store_lout_add(store *st, const char *conn, const char *key,
                   const char *ev, const void *rec, size_t len, err_t *e);
/* The same, with the reverse mapping the record is to be written with
 * (a fan-out copy: the agency's format for its kind), instead of the
 * connector's out_mapping; map NULL is store_lout_add. */
int store_lout_add_map(store *st, const char *conn, const char *key,
                       const char *ev, const char *map, const void *rec,
                       size_t len, err_t *e);
/* An entry: map is its mapping, or NULL (the connector's). */
typedef int (*store_lout_fn)(void *ctx, store_pos pos, const char *ev,
                             const char *map, const void *rec, size_t len,
                             err_t *e);
/* Entries of v1:lout:<conn> after v1:lout:<conn>:pos, oldest first, up
 * to count. */
int store_lout_next(store *st, const char *conn, size_t count,
                    store_lout_fn fn, void *ctx, err_t *e);
/* Delivered up to pos: SET v1:lout:<conn>:pos, XTRIM MINID past it. */
int store_lout_done(store *st, const char *conn, store_pos pos, err_t *e);
/* Entries waiting for conn's local system. */
int64_t store_lout_len(store *st, const char *conn, err_t *e);

#endif
