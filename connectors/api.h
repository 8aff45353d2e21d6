/* api: the node's HTTP API (docs/connectors.md, docs/api.yaml) on
 * libmicrohttpd: local systems POST their messages in their own formats
 * (translated and stored through ingest, acknowledged 202 only once
 * durable), and anyone allowed reads message status, movements, traces,
 * the event feed, health and metrics. JSON everywhere; errors are
 * {"error": {"code", "status", "message", "problems"}}.
 *
 * Threads: libmicrohttpd's own polling threads (a pool of api.threads);
 * each worker thread lazily opens its own ingest (and so its own Redis
 * connection), freed by api_stop. A worker translates a submission and
 * suspends it; one commit thread stores the records of every submission
 * waiting, a client's together in one intake call (api_commit.c), and
 * resumes them. The long polls of GET /v1/events are suspended likewise
 * and answered by one waiter thread, so a tail does not hold a worker.
 * Nothing here touches the node: only Redis, the cfg and the mapping
 * tables (read-only) and the metrics.
 *
 * Ownership: c and maps are borrowed and must outlive api_stop. */
#ifndef EPORT_API_H
#define EPORT_API_H

#include "config.h"
#include "err.h"
#include "map.h"

typedef struct api api;

/* Listen on c->node.http (HOST:PORT; port 0 picks a free one, see
 * api_port) and serve until api_stop. ERR_CONFIG for an address that
 * does not parse, ERR_IO when it cannot be bound (both name it). */
int api_start(const cfg *c, const map_set *maps, api **out, err_t *e);
/* Stop accepting, finish the requests in hand, join the threads, close
 * every worker's ingest. a may be NULL. */
void api_stop(api *a);
/* The port listened on. */
int api_port(const api *a);

#endif
