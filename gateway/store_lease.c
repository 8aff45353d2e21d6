/* store_lease: one owner at a time for each job of a node's instances
 * (see store_lease.h). One script per round for every job, so that what
 * an instance holds, renews, gives back and takes is decided on one view
 * of the leases, never half of one. */
#include "store_lease.h"

#include <stdio.h>
#include <string.h>

#include "store_int.h"

/* ARGV: 1 key base "<prefix>v1:", 2 me, 3 ttl ms, 4 "1" round / "0"
 * release, 5.. jobs. A round: me is live until now + ttl in v1:inst
 * (expired instances leave it); share = ceil(jobs / live); leases of me
 * are renewed in job order up to share and the rest deleted; free ones
 * are taken in job order up to share, and v1:leases (job -> last owner)
 * tells whether a take is a takeover. Returns {live, state...}. */
static const st_script st_lua_lease = {ST_LUA_LEASE,
    "local base, me, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local inst, last = base .. 'inst', base .. 'leases'\n"
    "if ARGV[4] == '1' then\n"
    "  redis.call('ZADD', inst, now + ttl, me)\n"
    "else\n"
    "  redis.call('ZREM', inst, me)\n"
    "end\n"
    "redis.call('ZREMRANGEBYSCORE', inst, '-inf', now)\n"
    "local live = redis.call('ZCARD', inst)\n"
    "local jobs = #ARGV - 4\n"
    "local share = ARGV[4] == '1' and math.ceil(jobs / math.max(live, 1))"
    " or 0\n"
    "local out, kept, free = {live}, 0, {}\n"
    "for i = 1, jobs do\n"
    "  local k = base .. 'lease:' .. ARGV[i + 4]\n"
    "  local v = redis.call('GET', k)\n"
    "  out[i + 1] = 0\n"
    "  if v == me and kept < share then\n"
    "    redis.call('PEXPIRE', k, ttl)\n"
    "    kept, out[i + 1] = kept + 1, 1\n"
    "  elseif v == me then\n"
    "    redis.call('DEL', k)\n"
    "  elseif not v then\n"
    "    free[#free + 1] = i\n"
    "  end\n"
    "end\n"
    "for _, i in ipairs(free) do\n"
    "  if kept >= share then break end\n"
    "  local job = ARGV[i + 4]\n"
    "  redis.call('SET', base .. 'lease:' .. job, me, 'PX', ttl)\n"
    "  local was = redis.call('HGET', last, job)\n"
    "  redis.call('HSET', last, job, me)\n"
    "  kept, out[i + 1] = kept + 1, (was and was ~= me) and 2 or 1\n"
    "end\n"
    "return out\n"};

static int lease__args(store *st, st_args *a, const char *me, int64_t ttl,
                       int round, const char *const *jobs, size_t n,
                       char base[ST_KEY_MAX], char ttlb[24], err_t *e)
{
    if (!st_name_ok(me))
        return err_set(e, ERR_INVALID, "redis %s: lease: instance name "
                       "\"%.64s\": want 1-64 of A-Z a-z 0-9 - _ .", st->url,
                       me ? me : "");
    if (n > STORE_LEASE_JOBS_MAX)
        return err_set(e, ERR_INVALID, "redis %s: lease: %zu jobs, at most "
                       "%d", st->url, n, STORE_LEASE_JOBS_MAX);
    snprintf(base, ST_KEY_MAX, "%sv1:", st->prefix);
    snprintf(ttlb, 24, "%lld", (long long)ttl);
    st_arg_s(a, "EVALSHA"), st_arg_s(a, ""), st_arg_s(a, "0");
    st_arg_s(a, base), st_arg_s(a, me), st_arg_s(a, ttlb);
    st_arg_s(a, round ? "1" : "0");
    for (size_t i = 0; i < n; i++) {
        if (!st_name_ok(jobs[i]))
            return err_set(e, ERR_INVALID, "redis %s: lease: job name "
                           "\"%.64s\": want 1-64 of A-Z a-z 0-9 - _ .",
                           st->url, jobs[i] ? jobs[i] : "");
        st_arg_s(a, jobs[i]);
    }
    return 0;
}

static int lease__run(store *st, const char *me, int64_t ttl, int round,
                      const char *const *jobs, size_t n, redisReply **r,
                      err_t *e)
{
    char base[ST_KEY_MAX], ttlb[24];
    st_args a = {.what = "lease"};
    int rc = lease__args(st, &a, me, ttl, round, jobs, n, base, ttlb, e);
    if (rc < 0)
        return rc;
    if ((rc = st_eval(st, &st_lua_lease, &a, r, e)) < 0)
        return rc;
    if ((*r)->type != REDIS_REPLY_ARRAY || (*r)->elements != n + 1) {
        freeReplyObject(*r);
        return err_set(e, ERR_IO, "redis %s: lease: unexpected reply",
                       st->url);
    }
    return 0;
}

int store_lease_round(store *st, const char *me, int64_t ttl_ms,
                      const char *const *jobs, size_t n,
                      store_lease_state *state, int64_t *live_out, err_t *e)
{
    if (ttl_ms < 1)
        return err_set(e, ERR_INVALID, "redis %s: lease: ttl %lld ms",
                       st->url, (long long)ttl_ms);
    redisReply *r;
    int rc = lease__run(st, me, ttl_ms, 1, jobs, n, &r, e);
    if (rc < 0)
        return rc;
    if (live_out)
        *live_out = r->element[0]->integer;
    for (size_t i = 0; i < n; i++)
        state[i] = (store_lease_state)r->element[i + 1]->integer;
    freeReplyObject(r);
    return 0;
}

int store_lease_release(store *st, const char *me, const char *const *jobs,
                        size_t n, err_t *e)
{
    redisReply *r;
    int rc = lease__run(st, me, 1, 0, jobs, n, &r, e);
    if (rc == 0)
        freeReplyObject(r);
    return rc;
}

int store_lease_owner(store *st, const char *job, char *out, size_t cap,
                      err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "lease", job, e);
    if (rc < 0)
        return rc;
    st_args a = {0};
    st_arg_s(&a, "GET"), st_arg_s(&a, key);
    redisReply *r;
    if ((rc = st_cmd(st, &a, -1, &r, e)) < 0)
        return rc;
    snprintf(out, cap, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return 0;
}
