/* store_repl: what Redis replication means to the node. A barrier (is
 * everything written so far, by anyone, on the replicas?) for the moments
 * something leaves the node, and the primary's view of its replicas for
 * /readyz and metrics.
 *
 * Why a barrier and not only WAIT after one's own writes: WAIT covers the
 * writes of its own connection, but the outbound pump sends frames other
 * connections (the ledger, intake, the other instance) wrote. Replication
 * is one ordered stream, so a write of ours that the replicas confirm
 * carries everything written before it: one tiny write and one WAIT make
 * every entry already read safe to send. */
#ifndef EPORT_STORE_REPL_H
#define EPORT_STORE_REPL_H

#include <stdint.h>

#include "store.h"
#include "store_sentinel.h"

/* INCR <prefix>v1:barrier, then WAIT replicas timeout_ms, pipelined. 0
 * when replicas <= 0 (nothing to wait for) or when at least that many
 * confirmed; ERR_IO (naming how many did) otherwise. */
int store_repl_barrier(store *st, int64_t replicas, int64_t timeout_ms,
                       err_t *e);

/* A replica that has not acknowledged for longer than this (seconds, as
 * Redis' own min-replicas-max-lag default) is not counted. */
#define STORE_REPL_FRESH_S 10
#define STORE_REPL_MAX 16 /* replicas of one primary looked at */

typedef struct store_repl_info {
    int primary;        /* 1: role master */
    int64_t replicas;   /* replicas online and heard from within
                           STORE_REPL_FRESH_S */
    int64_t lag_bytes;  /* the furthest-behind replica's lag, in bytes of
                           the replication stream; 0 without replicas */
    int64_t offset;     /* master_repl_offset */
} store_repl_info;

/* ---- INFO replication text (this module is its one reader) ---- */

/* The value of "name:value" into out ("" when absent). */
void store_repl_str(const char *info, const char *name, char *out,
                    size_t cap);
/* The same as an integer; -1 when absent or not a number. */
int64_t store_repl_num(const char *info, const char *name);

/* A replica of a primary, as the primary's "slaveN:..." line lists it. */
typedef struct store_repl_replica {
    char addr[STORE_SENTINEL_ADDR_MAX]; /* "ip:port" */
    char state[16];                     /* online, wait_bgsave, ... */
    int64_t offset, lag_s;              /* -1 when not given */
} store_repl_replica;

/* The primary's replicas into out[0..max); how many were listed. */
size_t store_repl_replicas(const char *info, store_repl_replica *out,
                           size_t max);

/* INFO replication of the server st is connected to. */
int store_repl_info_get(store *st, store_repl_info *out, err_t *e);

#endif
