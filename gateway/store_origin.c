/* store_origin: what the origin of a message keeps until every destination
 * has receipted it: sent:<id> (frame, attempts, destinations still
 * missing, created), the await zset of resend times, and the receipts
 * that came home (rcpt:<id>, written by the link script). */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: 1 sent, 2 await, 3.. hop outboxes; ARGV: 1 id, 2 frame, 3 wait,
 * 4 created, 5 first retry, 6 the wake channel, 7 the once key
 * (seen:<id>, or "" for none), 8 its TTL in ms. An id already held is
 * left alone, so that a retried submit cannot enqueue the message twice;
 * with a once key, neither is an id submitted before whose receipts all
 * came home (sent:<id> gone): the key outlives it. */
static const st_script st_lua_submit = {ST_LUA_SUBMIT,
    ST_LUA_SUBMIT_FN
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end\n"
    "if ARGV[7] ~= '' and redis.call('EXISTS', ARGV[7]) == 1 then\n"
    "  return 1\n"
    "end\n"
    "submit(KEYS[1], KEYS[2], 3, #KEYS, ARGV[1], ARGV[2], ARGV[3], ARGV[4],"
    " ARGV[5])\n"
    "if ARGV[7] ~= '' then\n"
    "  redis.call('HSET', ARGV[7], 'v', '1', 'self', '1')\n"
    "  redis.call('PEXPIRE', ARGV[7], ARGV[8])\n"
    "end\n"
    "redis.call('PUBLISH', ARGV[6], '1')\n"
    "return 0\n"};

/* KEYS: 1 await; ARGV: 1 now, 2 count, 3 prefix of sent keys. Reads each
 * due message's hash in the same script (one round trip); an await entry
 * whose hash is gone is stale and removed. The sent keys are built here
 * rather than declared: the ids are only known inside. */
static const st_script st_lua_due = {ST_LUA_DUE,
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1],"
    " 'LIMIT', 0, ARGV[2])\n"
    "local out = {}\n"
    "for _, id in ipairs(ids) do\n"
    "  local h = redis.call('HMGET', ARGV[3] .. id, 'f', 'wait', 'attempts',"
    " 'created')\n"
    "  if h[1] then\n"
    "    out[#out + 1] = {id, h[1], h[2] or '', h[3] or '0', h[4] or '0'}\n"
    "  else\n"
    "    redis.call('ZREM', KEYS[1], id)\n"
    "  end\n"
    "end\n"
    "return out\n"};

/* KEYS: 1 sent, 2 await; ARGV: 1 id, 2 next. Never re-adds an id whose
 * last receipt arrived between due and reschedule. */
static const st_script st_lua_resched = {ST_LUA_RESCHED,
    "if redis.call('EXISTS', KEYS[1]) == 0 then\n"
    "  redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "  return 0\n"
    "end\n"
    "redis.call('HINCRBY', KEYS[1], 'attempts', 1)\n"
    "redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])\n"
    "return 1\n"};

/* KEYS: 1 sent, 2 await; ARGV: 1 id */
static const st_script st_lua_drop = {ST_LUA_DROP,
    "local n = redis.call('DEL', KEYS[1])\n"
    "n = n + redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "return n > 0 and 1 or 0\n"};

/* Distinct names of list joined by spaces into out; ERR_INVALID for a bad
 * name or too many (or none, unless empty_ok). */
static int st_join(store *st, const char *what, const char *const *list,
                   size_t n, int empty_ok, char *out, size_t cap, err_t *e)
{
    size_t len = 0;
    out[0] = '\0';
    if ((n == 0 && !empty_ok) || n > STORE_FWD_MAX)
        return err_set(e, ERR_INVALID, "redis %s: submit: %zu %s, want 1-%d",
                       st->url, n, what, STORE_FWD_MAX);
    for (size_t i = 0; i < n; i++) {
        if (!st_name_ok(list[i]))
            return err_set(e, ERR_INVALID, "redis %s: submit: bad %s name",
                           st->url, what);
        len += (size_t)snprintf(out + len, cap - len, "%s%s",
                                len ? " " : "", list[i]);
    }
    return 0;
}

static int st_seen_before(const char *const *list, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(list[j], list[i]) == 0)
            return 1;
    return 0;
}

/* KEYS of a submit: sent, await, then one outbox per distinct hop. */
static int st_submit_keys(store *st, const char *msg_id,
                          const char *const *hops, size_t nhops,
                          st_submit_buf *b, st_args *a, err_t *e)
{
    size_t nk = 2;
    int rc = st_key(st, b->keys[0], "sent", msg_id, e);
    if (rc == 0)
        rc = st_key(st, b->keys[1], "await", NULL, e);
    for (size_t i = 0; rc == 0 && i < nhops; i++)
        if (!st_seen_before(hops, i))
            rc = st_key(st, b->keys[nk++], "outbox", hops[i], e);
    if (rc < 0)
        return rc;
    snprintf(b->nk, sizeof b->nk, "%zu", nk);
    st_arg_s(a, b->nk);
    for (size_t i = 0; i < nk; i++)
        st_arg_s(a, b->keys[i]);
    return 0;
}

int st_submit_args(store *st, const char *msg_id, const void *frame,
                   size_t n, const char *const *hops, size_t nhops,
                   const char *const *dests, size_t ndests,
                   int64_t created_ms, int64_t first_retry_at_ms,
                   int empty_ok, st_submit_buf *b, st_args *a, err_t *e)
{
    char scratch[sizeof b->wait];
    int empty = empty_ok && ndests == 0 && nhops == 0;
    int rc = st_join(st, "destinations", dests, ndests, empty, b->wait,
                     sizeof b->wait, e);
    if (rc == 0)
        rc = st_join(st, "hops", hops, nhops, empty, scratch, sizeof scratch,
                     e);
    if (rc == 0)
        rc = st_submit_keys(st, msg_id, hops, nhops, b, a, e);
    if (rc < 0)
        return rc;
    snprintf(b->created, sizeof b->created, "%lld", (long long)created_ms);
    snprintf(b->retry, sizeof b->retry, "%lld", (long long)first_retry_at_ms);
    st_arg_s(a, msg_id), st_arg_b(a, frame, n), st_arg_s(a, b->wait);
    st_arg_s(a, b->created), st_arg_s(a, b->retry);
    st_key(st, b->chan, "wake", NULL, e);
    st_arg_s(a, b->chan);
    return 0;
}

int store_submit(store *st, const char *msg_id, const void *frame, size_t n,
                 const char *const *hops, size_t nhops,
                 const char *const *dests, size_t ndests, int64_t created_ms,
                 int64_t first_retry_at_ms, err_t *e)
{
    st_submit_buf b;
    st_args a = {.what = "submit"};
    st_arg_s(&a, "EVALSHA"), st_arg_s(&a, "");
    int rc = st_submit_args(st, msg_id, frame, n, hops, nhops, dests, ndests,
                            created_ms, first_retry_at_ms, 0, &b, &a, e);
    if (rc < 0)
        return rc;
    st_arg_s(&a, ""), st_arg_s(&a, "0"); /* no once key */
    redisReply *r;
    if ((rc = st_eval(st, &st_lua_submit, &a, &r, e)) < 0)
        return err_wrap(e, "message %s", msg_id);
    rc = r->type == REDIS_REPLY_INTEGER ? (int)r->integer
       : err_set(e, ERR_IO, "redis %s: submit %s: unexpected reply", st->url,
                 msg_id);
    freeReplyObject(r);
    return rc;
}

/* ---- many at once, pipelined ---- */

#define ST_SUB_TODO (-1)
#define ST_SUB_NOSCRIPT (-2)

/* The reply of one pipelined submit into *res (0, 1, or NOSCRIPT). */
static int st_sub_result(store *st, const store_sub *m, const redisReply *r,
                         int *res, err_t *e)
{
    if (r->type == REDIS_REPLY_INTEGER &&
        (r->integer == 0 || r->integer == 1)) {
        *res = (int)r->integer;
        return 0;
    }
    if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
        *res = ST_SUB_NOSCRIPT;
        return 0;
    }
    return err_set(e, ERR_IO, "redis %s: submit %s: %s", st->url, m->msg_id,
                   r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
}

/* Queues every message whose res is TODO (or NOSCRIPT: again), then
 * reads each reply in order. */
static int st_sub_round(store *st, const store_sub *m, size_t count,
                        const store_sub_to *to, int *res, st_submit_buf *b,
                        err_t *e)
{
    char once[ST_KEY_MAX], ttl[24];
    int rc = st_script_load(st, &st_lua_submit, e);
    snprintf(ttl, sizeof ttl, "%lld", (long long)to->once_ttl_ms);
    size_t queued = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        if (res[i] >= 0)
            continue;
        st_args a = {.what = "submit"};
        st_arg_s(&a, "EVALSHA"), st_arg_s(&a, st->sha[ST_LUA_SUBMIT]);
        rc = st_submit_args(st, m[i].msg_id, m[i].frame, m[i].n, to->hops,
                            to->nhops, to->dests, to->ndests, m[i].created_ms,
                            m[i].first_retry_at_ms, 0, b, &a, e);
        if (rc == 0)
            rc = st_key(st, once, "seen", m[i].msg_id, e);
        st_arg_s(&a, once), st_arg_s(&a, ttl);
        if (rc == 0 && (rc = st_pipe_add(st, &a, e)) == 0)
            res[i] = ST_SUB_TODO, queued++; /* hiredis copied the args */
    }
    for (size_t i = 0; i < count && queued; i++) { /* every reply: in step */
        redisReply *r;
        if (res[i] != ST_SUB_TODO)
            continue;
        queued--;
        int rr = st_pipe_reply(st, "submit", &r, e);
        if (rr < 0)
            return rr;
        rr = st_sub_result(st, &m[i], r, &res[i], e);
        rc = rc < 0 ? rc : rr;
        freeReplyObject(r);
    }
    return rc;
}

int store_submit_once_many(store *st, const store_sub *m, size_t count,
                           const store_sub_to *to, int *res, err_t *e)
{
    if (to->once_ttl_ms <= 0)
        return err_set(e, ERR_INVALID, "redis %s: submit: once TTL must be "
                       "> 0 ms", st->url);
    st_submit_buf *b = malloc(sizeof *b);
    if (!b)
        return err_set(e, ERR_NOMEM, "redis %s: submit: out of memory",
                       st->url);
    for (size_t i = 0; i < count; i++)
        res[i] = ST_SUB_NOSCRIPT; /* not sent yet */
    int rc = 0, again = 1;
    for (int round = 0; rc == 0 && again && round < 2; round++) {
        rc = st_sub_round(st, m, count, to, res, b, e);
        again = 0;
        for (size_t i = 0; i < count; i++)
            again |= res[i] == ST_SUB_NOSCRIPT;
        if (again) /* Redis lost its scripts (a restart): load it again */
            st->sha[ST_LUA_SUBMIT][0] = '\0';
    }
    free(b);
    if (rc == 0 && again)
        rc = err_set(e, ERR_IO, "redis %s: submit: the script was lost "
                     "twice", st->url);
    return rc;
}

/* One [id, f, wait, attempts, created] of the due script for fn. */
static int st_due_one(store *st, const redisReply *m, store_await_fn fn,
                      void *ctx, err_t *e)
{
    if (m->type != REDIS_REPLY_ARRAY || m->elements != 5)
        return err_set(e, ERR_IO, "redis %s: await: malformed reply",
                       st->url);
    for (size_t i = 0; i < 5; i++)
        if (m->element[i]->type != REDIS_REPLY_STRING)
            return err_set(e, ERR_IO, "redis %s: await: malformed reply",
                           st->url);
    const redisReply *id = m->element[0], *f = m->element[1];
    int64_t attempts = strtoll(m->element[3]->str, NULL, 10);
    int64_t created = strtoll(m->element[4]->str, NULL, 10);
    if (fn(ctx, id->str, f->str, f->len, m->element[2]->str, attempts,
           created, e) < 0)
        return err_wrap(e, "awaited message %s", id->str);
    return 0;
}

int store_await_due(store *st, int64_t now_ms, size_t count,
                    store_await_fn fn, void *ctx, err_t *e)
{
    char key[ST_KEY_MAX], sent[ST_KEY_MAX], now[24], cnt[24];
    st_key(st, key, "await", NULL, e);
    st_key(st, sent, "sent", NULL, e);
    strcat(sent, ":"); /* "<prefix>v1:sent:" + id, as st_key would make */
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(cnt, sizeof cnt, "%zu", count ? count : 1);
    st_args a = {.what = key};
    st_arg_s(&a, "EVALSHA"), st_arg_s(&a, ""), st_arg_s(&a, "1");
    st_arg_s(&a, key), st_arg_s(&a, now), st_arg_s(&a, cnt);
    st_arg_s(&a, sent);
    redisReply *r;
    int rc = st_eval(st, &st_lua_due, &a, &r, e);
    if (rc < 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY)
        rc = err_set(e, ERR_IO, "redis %s: await: unexpected reply", st->url);
    size_t i = 0;
    for (; rc == 0 && i < r->elements; i++)
        rc = st_due_one(st, r->element[i], fn, ctx, e);
    freeReplyObject(r);
    return rc < 0 ? rc : (int)i;
}

/* Runs one of the two sent/await scripts for id with ARGV id [, arg]. */
static int st_await_op(store *st, const st_script *s, const char *id,
                       const char *arg, err_t *e)
{
    char sent[ST_KEY_MAX], await[ST_KEY_MAX];
    int rc = st_key(st, sent, "sent", id, e);
    if (rc < 0)
        return rc;
    st_key(st, await, "await", NULL, e);
    st_args a = {.what = sent};
    st_arg_s(&a, "EVALSHA"), st_arg_s(&a, ""), st_arg_s(&a, "2");
    st_arg_s(&a, sent), st_arg_s(&a, await), st_arg_s(&a, id);
    if (arg)
        st_arg_s(&a, arg);
    redisReply *r;
    if ((rc = st_eval(st, s, &a, &r, e)) < 0)
        return rc;
    rc = r->type == REDIS_REPLY_INTEGER ? (int)r->integer
       : err_set(e, ERR_IO, "redis %s: %s: unexpected reply", st->url, sent);
    freeReplyObject(r);
    return rc;
}

int store_await_reschedule(store *st, const char *id, int64_t next_at_ms,
                           err_t *e)
{
    char next[24];
    snprintf(next, sizeof next, "%lld", (long long)next_at_ms);
    return st_await_op(st, &st_lua_resched, id, next, e);
}

int store_await_drop(store *st, const char *id, err_t *e)
{
    return st_await_op(st, &st_lua_drop, id, NULL, e);
}

int64_t store_await_len(store *st, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, "await", NULL, e);
    return st_count(st, "ZCARD", key, e);
}

int store_rcpt_list(store *st, const char *id, store_rcpt_fn fn, void *ctx,
                    err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "rcpt", id, e);
    if (rc < 0)
        return rc;
    st_args a = {0};
    st_arg_s(&a, "HGETALL"), st_arg_s(&a, key);
    redisReply *r;
    if ((rc = st_cmd(st, &a, REDIS_REPLY_ARRAY, &r, e)) < 0)
        return rc;
    size_t i = 0;
    for (; rc == 0 && i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            rc = err_set(e, ERR_IO, "redis %s: %s: malformed reply", st->url,
                         key);
        else if ((rc = fn(ctx, k->str, v->str, v->len, e)) < 0)
            err_wrap(e, "%s receipt from %s", key, k->str);
    }
    freeReplyObject(r);
    return rc < 0 ? rc : (int)(i / 2);
}
