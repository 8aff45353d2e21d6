/* conn: the connectors of one eportd (docs/connectors.md): the local
 * systems' ways in (file drop, the HTTP API, ZeroMQ ingress) and out
 * (outbox directory, HTTP webhook, ZeroMQ PUSH). Each transport is one
 * file behind one ops table (after nng's transports), registered in
 * conn.c's tables, so a new transport is one new file and one row.
 *
 * Threads: the runtime runs beside eportd's loop, never inside it: the
 * HTTP API on libmicrohttpd's thread pool, one thread per file drop, per
 * ZeroMQ ingress and per outbound connector. Each thread has its own
 * Redis connection (ingest/intake, or a store for the outbound side);
 * they share only the config and the mapping tables (read-only) and the
 * metrics. They never touch the node: what they accept goes to Redis
 * (v1:local) and eportd's loop takes it from there.
 *
 * Ownership: conn_start borrows the cfg, which must outlive conn_stop
 * (a reload stops the runtime, swaps the cfg, starts a new runtime). */
#ifndef EPORT_CONN_H
#define EPORT_CONN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "map.h"

typedef struct conn_rt conn_rt;

/* What one inbound transport instance (one connector) holds. */
typedef struct conn_in {
    const cfg *cfg;
    const cfg_connector *cc;
    const map_set *maps;      /* the runtime's, read-only */
    atomic_int *stop;         /* the runtime's stop flag */
    void *priv;               /* the transport's own state */
} conn_in;

/* An inbound transport: open binds/creates what it needs (errors at
 * start name the connector and the key); run is the thread body,
 * returning when *stop is set; close frees priv. */
typedef struct conn_in_ops {
    int type;                 /* cfg_conn_type */
    int (*open)(conn_in *c, err_t *e);
    void (*run)(conn_in *c);
    void (*close)(conn_in *c);
} conn_in_ops;

/* One outbound transport instance. */
typedef struct conn_out {
    const cfg *cfg;
    const cfg_connector *cc;
    void *priv;
} conn_out;

/* An outbound transport: send delivers one translated message (name: a
 * file name for it, "<pos>-<event>.<ext>") and returns 0 only once the
 * local system has it (file renamed into place, webhook 2xx, PUSH
 * queued... see each); a negative return is retried later, in order. */
typedef struct conn_out_ops {
    int type;                 /* cfg_out_type */
    const char *ext_default;
    int (*open)(conn_out *o, err_t *e);
    int (*send)(conn_out *o, const char *name, const void *p, size_t n,
                err_t *e);
    void (*close)(conn_out *o);
} conn_out_ops;

extern const conn_in_ops conn_filedrop_ops; /* conn_filedrop.c */
extern const conn_in_ops conn_zmq_ops;      /* conn_zmq.c */
extern const conn_out_ops conn_out_dir_ops; /* out_dir.c */
extern const conn_out_ops conn_out_webhook_ops; /* out_webhook.c */
extern const conn_out_ops conn_out_zmq_ops; /* out_zmq.c */

/* Start every connector of c: load the mapping tables (c->mappings.dir),
 * start the HTTP API on c->node.http (api.h), a thread per file drop and
 * ZeroMQ ingress, and an outbound thread (out.h) per connector with
 * `out`. Errors name the connector ("connectors[1] (rail-drop): dir
 * /x: No such file or directory"). */
int conn_start(const cfg *c, conn_rt **out, err_t *e);
/* Stop accepting, let what is in hand finish, join every thread. */
void conn_stop(conn_rt *rt);

#endif
