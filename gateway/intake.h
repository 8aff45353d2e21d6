/* intake: the core's door for local systems (docs/connectors.md). A
 * connector (HTTP, file drop, ZeroMQ) has translated its input into
 * canonical records; intake checks who sent them (auth), the client's
 * rate and the node's backlog, gives each record a message id and stores
 * them all durably (store_local_accept, then WAIT for redis.wait_replicas)
 * before it returns: only then may the connector acknowledge its sender.
 * eportd's loop dispatches them later (node_local.c).
 *
 * All or nothing: one record refused refuses the whole submission, so a
 * sender never has to work out which half of its file went through.
 *
 * Threads: one intake per thread (it owns a Redis connection); the rate
 * buckets are process-wide and locked. The cfg is borrowed and must
 * outlive the intake. */
#ifndef EPORT_INTAKE_H
#define EPORT_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "model.h"
#include "msgid.h"
#include "store.h"

typedef struct intake intake;

/* Opens a Redis connection of its own (c->redis). */
int intake_open(const cfg *c, intake **out, err_t *e);
void intake_close(intake *in);
/* The intake's store, borrowed (the HTTP API's reads use it). */
store *intake_store(intake *in);

/* One submission: n (1..STORE_LOCAL_BATCH) records of connector conn
 * from client cl. idem, if not NULL, makes it idempotent: record i gets
 * the id msgid_derive(SHA-256 of "<conn>\n<idem>\n<i>"), so the same
 * submission retried (a file picked up again after a crash, an HTTP
 * Idempotency-Key) is stored once; dup[i] says it was there already. */
typedef struct intake_sub {
    const char *conn;
    const cfg_client *cl;
    model_record *const *recs;
    size_t n;
    const char *idem;
} intake_sub;

typedef struct intake_res {
    char (*ids)[MSGID_LEN + 1]; /* n ids, filled on success */
    int *dup;                   /* n flags */
    int64_t retry_after_s;      /* set with ERR_AGAIN */
} intake_res;

/* 0: all stored. ERR_DENIED (auth_allows' message; nothing stored),
 * ERR_AGAIN (client over its rate, or the node's backlog over
 * api.max_backlog; retry_after_s says when), ERR_INVALID (a record the
 * model refuses), or the store's error (ERR_IO: Redis down). Counts
 * eport_messages_in_total / _refused_total, eport_intake_seconds
 * (from t0_ms, the arrival time; 0: now) and the stored records'
 * warnings[] in eport_warnings_total{rule}. */
int intake_accept(intake *in, const intake_sub *s, intake_res *r,
                  int64_t t0_ms, err_t *e);

/* The node's backlog as eportd's loop last measured it (local not yet
 * dispatched + the deepest outbox), read by intake_accept; eportd sets it
 * every status tick (process-wide, atomic). */
void intake_set_backlog(int64_t depth);
int64_t intake_backlog(void);

#endif
