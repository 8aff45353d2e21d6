/* metrics: the node's counters, gauges and histograms, rendered in the
 * Prometheus text format (version 0.0.4) for GET /metrics. Families are
 * rows of one table (MET_FAMILIES); a series is a family and one label
 * value (connector, peer, rule, reason, queue or route). Process-wide and
 * thread-safe: any thread adds, the HTTP thread renders. Values are not
 * durable state: a restarted node starts its counters at 0, which
 * Prometheus' rate() expects. */
#ifndef EPORT_METRICS_H
#define EPORT_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "err.h"

/* X(ID, name, type, label, help) */
#define MET_FAMILIES(X)                                                    \
    X(IN, "eport_messages_in_total", COUNTER, "connector",                 \
      "Records accepted from local systems, by connector.")                \
    X(OUT, "eport_messages_out_total", COUNTER, "connector",               \
      "Records delivered to local systems, by connector.")                 \
    X(REFUSED, "eport_messages_refused_total", COUNTER, "connector",       \
      "Local submissions refused (bad input, auth, limits), by connector.")\
    X(PEER_OUT, "eport_peer_messages_out_total", COUNTER, "peer",          \
      "Frames sent to a peer (resends included), by peer.")                \
    X(PEER_IN, "eport_peer_messages_in_total", COUNTER, "peer",            \
      "Frames accepted from a peer, by peer.")                             \
    X(WARNINGS, "eport_warnings_total", COUNTER, "rule",                   \
      "Slips let through by a lenient strictness rule in stored records, "  \
      "by rule (docs/mapping-language.md).")                               \
    X(ERRORS, "eport_errors_total", COUNTER, "reason",                     \
      "Errors by reason (syntax, mapping, auth, rate, backlog, "           \
      "signature, delivery, redis...).")                                   \
    X(QUEUE, "eport_queue_depth", GAUGE, "queue",                          \
      "Entries waiting: outbox:PEER, local (not dispatched), "             \
      "lout:CONNECTOR (for a local system), await (receipts), dlq.")       \
    X(PEER_UP, "eport_peer_up", GAUGE, "peer",                             \
      "1 while the link to the peer is up.")                               \
    X(HTTP_SECONDS, "eport_http_request_seconds", HISTOGRAM, "route",      \
      "HTTP API request time, by route.")                                  \
    X(INTAKE_SECONDS, "eport_intake_seconds", HISTOGRAM, "connector",      \
      "Time from a submission's arrival to its durable storage.")          \
    X(DELIVERY_SECONDS, "eport_delivery_seconds", HISTOGRAM, "connector",  \
      "Time from queueing a record for a local system to its delivery.")   \
    X(HA_JOBS, "eport_ha_jobs_owned", GAUGE, "job",                        \
      "1 while this instance owns the job (ledger, out.PEER...; "          \
      "docs/ha.md).")                                                      \
    X(HA_CLAIMS, "eport_ha_claims_total", COUNTER, "job",                  \
      "Jobs this instance took over from another instance, by job.")      \
    X(REDIS_FAILOVERS, "eport_redis_failovers_total", COUNTER, "redis",    \
      "Times this instance found the Redis primary at a new address.")     \
    X(REDIS_ROLE, "eport_redis_primary", GAUGE, "redis",                   \
      "1 while the Redis this instance uses answers as the primary.")      \
    X(REDIS_REPLICAS, "eport_redis_replicas", GAUGE, "redis",              \
      "Replicas connected to the Redis primary.")                          \
    X(REDIS_LAG, "eport_redis_replication_lag_bytes", GAUGE, "redis",      \
      "How far the furthest-behind replica is, in bytes of the stream.")   \
    X(CBEC_SETS, "eport_cbec_sets_total", COUNTER, "state",                \
      "Cross-border e-commerce parcels' sets decided here, by state "       \
      "(matched, mismatched, expired, released, rejected, withdrawn, "      \
      "returned; allowance_drawn, allowance_refused: the buyer's "          \
      "allowance home's answer; docs/cbec.md).")                            \
    X(CBEC_OPEN, "eport_cbec_sets_open", GAUGE, "state",                   \
      "Cross-border e-commerce sets waiting at this node (awaiting or "     \
      "mismatched, not yet expired).")                                      \
    X(CBEC_DOCS, "eport_cbec_documents_total", COUNTER, "outcome",         \
      "Cross-border e-commerce documents taken here, by outcome "           \
      "(attached, same, duplicate, conflict, parked, closed, forwarded).")

#define MET__ID(id, name, type, label, help) MET_##id,
typedef enum { MET_FAMILIES(MET__ID) MET__COUNT } met_id;
#undef MET__ID

#define MET_SERIES_MAX 1024 /* series in all; past it adds are dropped
                               (counted in eport_errors_total{reason=
                               "metrics_full"}) */
#define MET_LABEL_MAX 80

/* Start (or restart, for tests) the registry; node is a constant label
 * of every series. */
int met_init(const char *node, err_t *e);
void met_add(met_id f, const char *label, uint64_t n);
void met_set(met_id f, const char *label, int64_t v);
/* A histogram observation, in seconds. Buckets: 0.5 ms to 10 s. */
void met_observe(met_id f, const char *label, double seconds);
/* A counter's or gauge's current value (0 when the series is absent). */
int64_t met_get(met_id f, const char *label);
/* Append the exposition text of every family to out. */
int met_render(buf_t *out, err_t *e);

#endif
