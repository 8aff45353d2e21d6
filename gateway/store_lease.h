/* store_lease: which instance of a node owns which piece of work.
 *
 * Two or more eportd instances of one region share one Redis. Most of
 * what they do is safe to do twice (every effect is a checked script),
 * but some work must have one owner at a time to be done well: a peer
 * link's outbox is one ordered stream (two senders would each send every
 * frame), and the ledger, local dispatch, permits and resend scans would
 * race each other into STALE retries. Each such job is a lease in Redis,
 * v1:lease:<job> = instance, with a TTL. The owner renews it; when an
 * instance dies its leases expire after ttl and a survivor takes them
 * (the "claim" after a configured idle time). Live instances announce
 * themselves in v1:inst (a zset scored by expiry), so work is shared:
 * each holds at most ceil(jobs / live instances) and gives back the rest
 * for the others to take.
 *
 * Time comes from Redis (TIME in the script), so instances on machines
 * with skewed clocks agree. Holding a lease is judged locally and
 * conservatively: only until two thirds of ttl after the round that
 * renewed it was sent, so an instance cut off from Redis (or paused)
 * stops before its lease can have passed to another instance. */
#ifndef EPORT_STORE_LEASE_H
#define EPORT_STORE_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_LEASE_JOBS_MAX 48

/* The one timing rule of every holder: a round every third of ttl, and
 * acting on what a round gave only until two thirds of ttl after it was
 * sent (a round delayed by one third still renews in time; one delayed
 * longer stops the holder before its lease can pass to another). */
static inline int64_t store_lease_next_round(int64_t sent_ms, int64_t ttl)
{
    return sent_ms + ttl / 3;
}

static inline int64_t store_lease_acts_until(int64_t sent_ms, int64_t ttl)
{
    return sent_ms + ttl - ttl / 3;
}

/* A job's state after a round. */
typedef enum {
    STORE_LEASE_NONE = 0,  /* another instance has it, or it is free */
    STORE_LEASE_HELD = 1,  /* ours, renewed */
    STORE_LEASE_TAKEN = 2, /* ours now, and the last owner was another
                              instance: a takeover (a claim) */
} store_lease_state;

/* One round for instance me over jobs[0..n): announce me as live for
 * ttl_ms, renew what it holds (up to its share), give back the rest, take
 * free jobs up to its share. state[i] says each job's outcome. live_out
 * (may be NULL) gets the number of live instances. Names are 1-64 of
 * A-Z a-z 0-9 - _ . (ERR_INVALID otherwise). */
int store_lease_round(store *st, const char *me, int64_t ttl_ms,
                      const char *const *jobs, size_t n,
                      store_lease_state *state, int64_t *live_out, err_t *e);

/* Give back every job of jobs[0..n) that me holds (a clean stop: the
 * others take them at once instead of after ttl). */
int store_lease_release(store *st, const char *me, const char *const *jobs,
                        size_t n, err_t *e);

/* Who holds job: its instance name into out ("" when free). */
int store_lease_owner(store *st, const char *job, char *out, size_t cap,
                      err_t *e);

#endif
