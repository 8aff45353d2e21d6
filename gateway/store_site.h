/* store_site: the standby site's Redis and its promotion (docs/ha.md,
 * "Standby site").
 *
 * A standby site is a Redis replica on another site, following the
 * primary site's primary, with a cold eportd beside it. When the primary
 * site is lost, an operator promotes it (eportctl site promote): the
 * replica stops replicating (REPLICAOF NO ONE) and becomes a primary, and
 * the promotion is recorded in <prefix>v1:site (v = 1, promoted_at ms,
 * from = the old primary "host:port", offset = the replication offset at
 * promotion), so that anyone can tell later which data this site started
 * from.
 *
 * A promoted server is also fenced: REPLICAOF and SLAVEOF are denied to
 * the default user (ACL), the one eportd and Redis Sentinel use, so that
 * the primary site's Sentinels, should they come back with their old
 * view, cannot turn it into a replica of the old primary again, which
 * would drop everything written since the promotion. Failing back lifts
 * the fence by hand (docs/ha.md, "Failing back").
 *
 * Promotion is refused (ERR_PHASE) when the server is not a replica, when
 * it would refuse every write once promoted (min-replicas-to-write above
 * the replicas it has of its own), and, unless forced, while the primary
 * may still be live: the replication link is up, or the old primary
 * answers at all. Promoting then
 * would give the province two primaries (split brain): each would accept
 * writes the other never sees. */
#ifndef EPORT_STORE_SITE_H
#define EPORT_STORE_SITE_H

#include <stdint.h>

#include "store.h"
#include "store_repl.h"
#include "store_sentinel.h"

#define STORE_SITE_REPLICAS 8      /* replicas of a primary reported */
#define STORE_SITE_PRIMARY_MS 1000 /* connect/command timeout when the old
                                      primary is asked for its offset */

/* A replica of a primary, as the primary's INFO lists it. */
typedef store_repl_replica store_site_replica;

/* What the server says about its replication, and v1:site. Numbers are -1
 * when unknown (not a replica, not given by this Redis). */
typedef struct store_site_state {
    char server[STORE_SENTINEL_ADDR_MAX]; /* the server asked */
    char role[16];            /* ROLE: master, slave, sentinel */
    int replica;              /* 1: role slave */
    int64_t keys;             /* DBSIZE: keys in the database */
    /* a replica: its primary and the link to it (INFO replication) */
    char master[STORE_SENTINEL_ADDR_MAX]; /* master_host:master_port */
    char link[16];            /* master_link_status: up, down */
    int64_t last_io_s;        /* master_last_io_seconds_ago */
    int64_t down_s;           /* master_link_down_since_seconds */
    int sync;                 /* master_sync_in_progress */
    int64_t slave_offset;     /* slave_repl_offset: what it has applied */
    int64_t min_replicas;     /* min-replicas-to-write (CONFIG GET), 0
                                 when unknown: a primary with fewer good
                                 replicas refuses every write */
    int64_t master_offset;    /* master_repl_offset (its own stream) */
    /* a replica: the old primary asked directly (STORE_SITE_PRIMARY_MS) */
    int primary_answers;      /* 1: it answered (even with an error) */
    char primary_role[16];    /* its role, "" when it answered an error */
    int64_t primary_offset;   /* its master_repl_offset */
    int64_t lag_bytes;        /* primary_offset - slave_offset */
    char primary_why[128];    /* why it did not answer */
    /* its own replicas (a replica's: those it would keep once promoted) */
    int nreplicas;            /* connected_slaves (up to the list's size) */
    store_site_replica replicas[STORE_SITE_REPLICAS];
    /* <prefix>v1:site */
    int promoted;             /* 1: the hash is there */
    int64_t promoted_at;      /* ms since the epoch */
    int64_t promoted_offset;
    char from[STORE_SENTINEL_ADDR_MAX];
    /* the fence */
    int replicaof_denied;     /* ACL DRYRUN of REPLICAOF for the default
                                 user: 1 denied, 0 allowed, -1 unknown */
    int64_t demote_tries;     /* REPLICAOF/SLAVEOF refused (ACL LOG): an
                                 old Sentinel trying to demote it */
    /* promotion only: why the fence (ACL SETUSER) or CONFIG REWRITE
     * failed, "" when done; without the rewrite a restart would follow
     * the old primary again */
    char fence_why[160];
    char rewrite_why[160];
} store_site_state;

/* Fills *out from ROLE, INFO replication, the old primary (a replica
 * only) and v1:site; changes nothing. ERR_IO when Redis does not answer. */
int store_site_info(store *st, store_site_state *out, err_t *e);

typedef struct store_site_opts {
    int force;                /* promote even while the primary may live */
    int64_t max_lag_bytes;    /* refuse when the lag is above, or cannot
                                 be known; < 0: no limit */
} store_site_opts;

/* Checks (store_site_info into *out), then REPLICAOF NO ONE, the fence,
 * CONFIG REWRITE (so that a restart keeps both; failures of these two are
 * reported in out->fence_why and out->rewrite_why, not as errors) and
 * HSET v1:site; *out then holds the new state (role master, promoted,
 * the offset). ERR_PHASE, changing nothing, when refused (the message
 * says why); ERR_IO when Redis fails (after REPLICAOF NO ONE: the
 * message says the server was promoted and what failed). */
int store_site_promote(store *st, const store_site_opts *o,
                       store_site_state *out, err_t *e);

#endif
