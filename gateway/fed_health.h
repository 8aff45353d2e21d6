/* fed_health: the `health` message every provincial node sends the
 * national center (docs/protocol.md, "Message types"; docs/operations.md,
 * "National center"): its links to its peers, its queue depths and its
 * counters at one moment. The center keeps the last one per node and a
 * short history of the counters (gateway/fed.h), and judges liveness by
 * when they arrive.
 *
 * Wire form: a msgpack map, version 1, keys in this order (a reader
 * refuses another order, an unknown key, a second "v"): v, node, region,
 * at, peers (array of maps: id, up, outbox, awaiting, last_ack_ms),
 * queues (map: local, await, dlq, lout), counters (map: in, out, refused,
 * delivered, forwarded, sent, sig_failures, peer_refused). Every header in
 * its shortest form (what msgpack-c writes), read with mpread. Keys of
 * the inner maps may be left out (0); a new key needs version 2.
 *
 * Everything is fixed-size: no allocation, nothing to free. */
#ifndef EPORT_FED_HEALTH_H
#define EPORT_FED_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define FED_HEALTH_TYPE "health"  /* the envelope type */
#define FED_HEALTH_VERSION 1
#define FED_HEALTH_PEERS_MAX 64
#define FED_HEALTH_ID_MAX 16      /* node ids (config: 2-16 of A-Z 0-9 -) */
#define FED_HEALTH_MAX_BYTES 8192 /* a payload, at most */
/* How long a destination remembers a health message's id against
 * duplicates, instead of delivery.max_age_ms (7 days): one arrives every
 * few seconds from every node, and a late duplicate is harmless (the
 * center keeps only a newer `at`). */
#define FED_HEALTH_SEEN_TTL_MS (3600LL * 1000)

/* One peer link as the reporting node sees it. */
typedef struct fed_hpeer {
    char id[FED_HEALTH_ID_MAX + 1];
    uint64_t up;            /* 1 while the link is up */
    uint64_t outbox;        /* entries queued for the peer */
    uint64_t awaiting;      /* frames sent, not yet acknowledged */
    uint64_t last_ack_ms;   /* the peer's last link ack; 0: none yet */
} fed_hpeer;

typedef struct fed_health {
    char node[FED_HEALTH_ID_MAX + 1];
    char region[3];
    uint64_t at_ms;         /* when the node wrote it (its clock) */
    fed_hpeer peers[FED_HEALTH_PEERS_MAX];
    uint64_t npeers;
    /* queues */
    uint64_t local;         /* records from local systems not dispatched */
    uint64_t await;         /* own messages awaiting receipts */
    uint64_t dlq;           /* dead letters */
    uint64_t lout;          /* records waiting for local systems (sum) */
    /* counters since the node started (a restart starts them at 0) */
    uint64_t in;            /* records accepted from local systems */
    uint64_t out;           /* records delivered to local systems */
    uint64_t refused;       /* local submissions refused */
    uint64_t delivered;     /* messages from peers delivered here */
    uint64_t forwarded;     /* messages passed on to another node */
    uint64_t sent;          /* frames sent to peers (resends included) */
    uint64_t sig_failures;  /* frames refused for their signature or
                               certificate */
    uint64_t peer_refused;  /* frames from peers refused, any reason */
} fed_health;

/* Append h's wire form to out (nothing on failure). ERR_INVALID when a
 * field breaks the rules fed_health_decode checks. */
int fed_health_encode(const fed_health *h, buf_t *out, err_t *e);
/* Read p[0..n) strictly into *out (zeroed first). ERR_SYNTAX, ERR_INVALID
 * or ERR_UNSUPPORTED (another version) with "health: <where>: <why>". */
int fed_health_decode(const void *p, size_t n, fed_health *out, err_t *e);

/* Checks of the decoded fields: node and peer ids, the region. */
int fed_health_validate(const fed_health *h, err_t *e);

#endif
