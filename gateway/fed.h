/* fed: the national center's view of the federation (docs/operations.md,
 * "National center"). Provincial nodes send it `health` messages
 * (fed_health.h, gateway/node_health.c); the center, in eportd's loop
 * (fed_step, only with node.role national), takes them from v1:in, keeps
 * the last one of each node and a short history of its counters, follows
 * the ledger's alerts (discrepancies, double declarations, enquiries) and
 * evaluates the alert rules (fed_alert.h) every second. GET /v1/federation
 * and GET /v1/alerts (connectors/api_fed.c) are built here from Redis
 * alone (fed_json_*), so any thread with its own store can answer them.
 *
 * Redis, under the node's prefix (docs/store.md):
 *   v1:fed:pos          v1:in read up to here (health entries are deleted
 *                       from v1:in once kept: they are the center's own)
 *   v1:fed:apos         v1:alerts (the ledger's) read up to here
 *   v1:fed:nodes        set: node ids heard from
 *   v1:fed:node:<id>    hash: v 1, at (the node's time), region, h (the
 *                       last health payload), id (its message id), seen
 *                       (when the last fresh one arrived, center's clock)
 *   v1:fed:hist:<id>    list, newest first, FED_HIST_MAX: "at in out sig
 *                       qdepth qname" per health message
 *   v1:fed:counts       hash: discrepancies conflicts enquiries refused
 *   v1:fed:alerts       hash: alert id -> JSON, the active alerts
 *   v1:fed:alert_log    stream, capped: raised / cleared, with the JSON
 *
 * Ownership: a fed_nc is a plain value (no allocation; zero it first);
 * the store and cfg are borrowed for each call. */
#ifndef EPORT_FED_H
#define EPORT_FED_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "err.h"
#include "fed_alert.h"
#include "fed_health.h"
#include "store.h"

#define FED_FRESH_MS 60000      /* older health moves nothing forward */
#define FED_IN_POLL_MS 200      /* v1:in read this often */
#define FED_EVAL_MS 1000        /* node and link rules */
#define FED_MV_EVAL_MS 5000     /* movement rules (a scan of the ledger) */
#define FED_ALERT_LOG_MAX 1000  /* v1:fed:alert_log, about */

/* The center's loop state. */
typedef struct fed_nc {
    int started;
    int64_t start_ms;
    store_pos pos, apos;
    int pos_known, apos_known;
    int64_t next_in_ms, next_eval_ms, next_mv_ms;
    fed_rules rules;
    char rules_path[4096];     /* alerts.rules as last looked at */
    int rules_have;            /* it was there then */
    struct timespec rules_mtime;
    int64_t next_rules_ms;     /* the file is looked at again then */
} fed_nc;

/* One turn of the center's work at now: health records from v1:in, the
 * ledger's new alerts, the rules when due. Errors are logged (rate
 * limited), never fatal: the next turn tries again. */
void fed_step(fed_nc *f, store *st, const cfg *c, int64_t now);

/* Keep health h (its wire bytes p[0..n)) as received at now: the node's
 * hash and history move forward only for a newer `at`, `seen` only when
 * it is fresh (FED_FRESH_MS). entry: its v1:in id, deleted there (NULL:
 * the center's own). Returns 1 kept, 0 older than the one kept. */
int fed_apply(store *st, const fed_health *h, const void *p, size_t n,
              const char *entry, int64_t now, err_t *e);

/* GET /v1/federation's body (docs/api.yaml; /tmp nc-api contract):
 * nodes, links, movements, clearance, counts. */
int fed_json_federation(store *st, const cfg *c, int64_t now, json_t **out,
                        err_t *e);
/* GET /v1/alerts's body: the active alerts, then (unless active_only)
 * the ones cleared recently, newest first, limit in all. */
int fed_json_alerts(store *st, int active_only, size_t limit, json_t **out,
                    err_t *e);

#endif
