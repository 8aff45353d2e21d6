/* node_ha: which of the node's jobs this instance owns (store_lease.h),
 * renewed every third of ha.claim_idle_ms; and, on the same tick, the
 * replication gauges of /metrics (role, replicas, lag, failovers).
 *
 * Jobs: the movement ledger (with local dispatch and permits, which feed
 * and follow it), the resend scan, dead-letter replays, the health feed,
 * and one per peer, its outbox ("out.<peer>"). Outboxes are interleaved
 * with the others so that two instances split the sending too. */
#include "node_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "node_permit.h"
#include "store_lease.h"
#include "store_repl.h"

#define HA__NAME_MAX (ENV_NODE_MAX + 8)
#define HA__INFO_MS 2000

static const char *const ha__fixed[NODE_JOB_FIXED] = {
    [NODE_JOB_LEDGER] = "ledger", [NODE_JOB_AWAIT] = "await",
    [NODE_JOB_REPLAY] = "replay", [NODE_JOB_HEALTH] = "health",
};

struct node_ha {
    size_t njobs;
    char names[STORE_LEASE_JOBS_MAX][HA__NAME_MAX];
    int job_of[STORE_LEASE_JOBS_MAX]; /* names[k] is job job_of[k] */
    store_lease_state st[STORE_LEASE_JOBS_MAX]; /* by job number */
    int64_t valid_until, next_ms, next_info_ms, live;
    uint64_t failovers_seen, resynced;
};

static struct node_ha *ha__get(node *n)
{
    if (!n->ha && (n->ha = calloc(1, sizeof *n->ha)))
        n->ha->resynced = n->ha->failovers_seen = store_failovers(n->st);
    return n->ha;
}

/* The job list, fixed jobs and outboxes interleaved. */
static void ha__names(node *n, struct node_ha *h)
{
    size_t k = 0, p = 0, f = 0;
    size_t total = NODE_JOB_FIXED + n->npeers;
    if (total > STORE_LEASE_JOBS_MAX)
        total = STORE_LEASE_JOBS_MAX;
    while (k < total) {
        if (f < NODE_JOB_FIXED && (k % 2 == 0 || p >= n->npeers)) {
            snprintf(h->names[k], HA__NAME_MAX, "%s", ha__fixed[f]);
            h->job_of[k++] = (int)f++;
        } else if (p < n->npeers) {
            snprintf(h->names[k], HA__NAME_MAX, "out.%s", n->peers[p].id);
            h->job_of[k++] = NODE_JOB_FIXED + (int)p++;
        }
    }
    h->njobs = total;
}

int node_ha_owns(const node *n, int job)
{
    const struct node_ha *h = n->ha;
    if (!h || job < 0 || (size_t)job >= h->njobs)
        return 0;
    return h->st[job] != STORE_LEASE_NONE && node__now_ms() < h->valid_until;
}

/* A job lost: what its work keeps in memory goes, so that whoever owns
 * it next (this instance again, later) starts from Redis. */
static void ha__lost(node *n, int job)
{
    if (job == NODE_JOB_LEDGER)
        node_ledger_close(n);
    else if (job >= NODE_JOB_FIXED && (size_t)(job - NODE_JOB_FIXED) <
                                          n->npeers)
        node_out_reset(&n->peers[job - NODE_JOB_FIXED]);
}

static void ha__apply(node *n, struct node_ha *h, const store_lease_state *s,
                      int64_t sent_at)
{
    int64_t idle = n->cfg->ha.claim_idle_ms;
    for (size_t k = 0; k < h->njobs; k++) {
        int job = h->job_of[k];
        int had = h->st[job] != STORE_LEASE_NONE, has = s[k] != STORE_LEASE_NONE;
        if (had && !has)
            ha__lost(n, job);
        if (had != has)
            log_event(LOG_INFO, has ? "job_taken" : "job_given", "job=%s "
                      "instance=%s", h->names[k], n->cfg->node.instance);
        if (s[k] == STORE_LEASE_TAKEN)
            met_add(MET_HA_CLAIMS, h->names[k], 1);
        met_set(MET_HA_JOBS, h->names[k], has);
        h->st[job] = s[k];
    }
    h->valid_until = store_lease_acts_until(sent_at, idle);
}

/* Every job is lost at once (Redis out of reach for too long). */
static void ha__drop_all(node *n, struct node_ha *h)
{
    for (size_t k = 0; k < h->njobs; k++)
        if (h->st[h->job_of[k]] != STORE_LEASE_NONE) {
            h->st[h->job_of[k]] = STORE_LEASE_NONE;
            ha__lost(n, h->job_of[k]);
            met_set(MET_HA_JOBS, h->names[k], 0);
        }
}

static void ha__round(node *n, struct node_ha *h, int64_t now)
{
    const char *names[STORE_LEASE_JOBS_MAX];
    store_lease_state s[STORE_LEASE_JOBS_MAX];
    ha__names(n, h);
    for (size_t k = 0; k < h->njobs; k++)
        names[k] = h->names[k];
    err_t e;
    if (store_lease_round(n->st, n->cfg->node.instance,
                          n->cfg->ha.claim_idle_ms, names, h->njobs, s,
                          &h->live, &e) < 0) {
        log_event(LOG_ERROR, "ha", "op=lease msg=%s", log_q(e.msg));
        if (now >= h->valid_until)
            ha__drop_all(n, h);
        return;
    }
    ha__apply(n, h, s, now);
}

static void ha__info(node *n, struct node_ha *h, int64_t now)
{
    if (now < h->next_info_ms)
        return;
    h->next_info_ms = now + HA__INFO_MS;
    store_repl_info ri;
    err_t e;
    uint64_t fo = store_failovers(n->st);
    if (fo > h->failovers_seen) {
        met_add(MET_REDIS_FAILOVERS, "primary", fo - h->failovers_seen);
        log_event(LOG_WARN, "redis_failover", "primary=%s failovers=%llu",
                  store_primary(n->st), (unsigned long long)fo);
        h->failovers_seen = fo;
    }
    if (store_repl_info_get(n->st, &ri, &e) < 0)
        return;
    met_set(MET_REDIS_ROLE, "primary", ri.primary);
    met_set(MET_REDIS_REPLICAS, "primary", ri.replicas);
    met_set(MET_REDIS_LAG, "primary", ri.lag_bytes);
}

/* Redis failed over: the new primary has everything acknowledged, but
 * perhaps not the last writes before the failover, which this process
 * may still hold in memory (outbox frames read, positions, the ledger's
 * view). Forget them all and read again, as after a restart. */
static void ha__resync(node *n, struct node_ha *h)
{
    uint64_t gen = store_failovers(n->st);
    if (gen == h->resynced)
        return;
    h->resynced = gen;
    for (size_t i = 0; i < n->npeers; i++) {
        node_out_reset(&n->peers[i]);
        n->peers[i].in_known = 0;
    }
    node_ledger_close(n);
    h->next_ms = 0; /* and the leases at once */
    log_event(LOG_WARN, "redis_resync", "primary=%s failovers=%llu",
              store_primary(n->st), (unsigned long long)gen);
}

void node_ha_tick(node *n, int64_t now)
{
    struct node_ha *h = ha__get(n);
    if (!h)
        return;
    ha__resync(n, h);
    ha__info(n, h, now);
    if (now < h->next_ms)
        return;
    h->next_ms = store_lease_next_round(now, n->cfg->ha.claim_idle_ms);
    ha__round(n, h, now);
}

void node_ha_release(node *n)
{
    struct node_ha *h = n->ha;
    if (!h)
        return;
    const char *names[STORE_LEASE_JOBS_MAX];
    for (size_t k = 0; k < h->njobs; k++)
        names[k] = h->names[k];
    err_t e;
    if (store_lease_release(n->st, n->cfg->node.instance, names, h->njobs,
                            &e) < 0)
        log_event(LOG_WARN, "ha", "op=release msg=%s", log_q(e.msg));
    memset(h->st, 0, sizeof h->st);
    h->next_ms = 0;
}

void node_ha_close(node *n)
{
    free(n->ha);
    n->ha = NULL;
}
