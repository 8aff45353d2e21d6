/* store_pmq_read: the requesting side's reads (store_pmq.h): waiting
 * for an answer and reading one, the lists (waiting, by permit), a
 * permit's newest answer, and a movement's permit gate. Writes of
 * requests and answers: store_pmq.c. */
#include "store_pmq_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The envelope an answer names (its 'af': an id, "" none) into out;
 * nothing when none or when it expired. */
static int pmq_frame_get(store *st, const redisReply *af, buf_t *out,
                         err_t *e)
{
    char key[ST_KEY_MAX];
    if (!out || af->type != REDIS_REPLY_STRING || !af->len)
        return 0;
    if (!st_name_ok(af->str) || st_key(st, key, "pmf", af->str, e) < 0)
        return err_set(e, ERR_IO, "redis %s: answer frame id \"%.64s\": "
                       "not an id", st->url, af->str);
    st_args a = {0};
    st_arg_s(&a, "GET"), st_arg_s(&a, key);
    redisReply *r;
    int rc = pmq_cmd(st, &a, REDIS_REPLY_STRING, 1, &r, e);
    if (rc == 0)
        rc = pmq_bytes(st, key, r, out, e);
    if (rc == 0)
        freeReplyObject(r);
    return rc;
}

/* ---- waiting for an answer, reading one ---- */

/* HGET st of request hash key: ERR_NOTFOUND when it is not there. */
static int pmq_answered(store *st, const char *key, const char *rid,
                        int *answered, err_t *e)
{
    st_args a = {0};
    st_arg_s(&a, "HGET"), st_arg_s(&a, key), st_arg_s(&a, "st");
    redisReply *r;
    int rc = pmq_cmd(st, &a, REDIS_REPLY_STRING, 1, &r, e);
    if (rc < 0)
        return rc;
    if (r->type == REDIS_REPLY_NIL)
        rc = err_set(e, ERR_NOTFOUND, "redis %s: request %s: not found "
                     "(never queued, or expired)", st->url, rid);
    else
        *answered = strcmp(r->str, "answered") == 0;
    freeReplyObject(r);
    return rc;
}

/* BLPOP pmdone:<rid> for up to ms; the socket waits as long. */
static int pmq_blpop(store *st, const char *key, int64_t ms, err_t *e)
{
    char secs[32];
    snprintf(secs, sizeof secs, "%lld.%03lld", (long long)(ms / 1000),
             (long long)(ms % 1000));
    st_args a = {0};
    st_arg_s(&a, "BLPOP"), st_arg_s(&a, key), st_arg_s(&a, secs);
    redisReply *r;
    st_extend_timeout(st, ms);
    int rc = pmq_cmd(st, &a, REDIS_REPLY_ARRAY, 1, &r, e);
    st_extend_timeout(st, 0);
    if (rc < 0)
        return rc;
    if (r->type == REDIS_REPLY_NIL)
        rc = err_set(e, ERR_AGAIN, "redis %s: %s: no answer within %lld ms",
                     st->url, key, (long long)ms);
    freeReplyObject(r);
    return rc;
}

/* The state first: the one element pushed with the answer may be gone
 * (another waiter took it, or it expired), and an answer stored after
 * the look pushes one the BLPOP then finds, so none is missed. */
int store_pmq_wait(store *st, const char *rid, int64_t ms, err_t *e)
{
    char key[ST_KEY_MAX], done[ST_KEY_MAX];
    int answered = 0, rc = st_key(st, key, "pmq", rid, e);
    if (rc == 0)
        rc = pmq_answered(st, key, rid, &answered, e);
    if (rc < 0 || answered)
        return rc;
    if (ms <= 0)
        return err_set(e, ERR_AGAIN, "redis %s: request %s: not answered",
                       st->url, rid);
    st_key(st, done, "pmdone", rid, e);
    /* capped: the socket timeout adds ms to the command's */
    return pmq_blpop(st, done, ms > 86400000 ? 86400000 : ms, e);
}

static const char *const pmq_view_fields[] = {
    "st", "op", "permit", "key", "for", "code", "at", "done", "ans", "af"};
#define PMQ_VIEW_N (sizeof pmq_view_fields / sizeof *pmq_view_fields)

/* HMGET's replies (in pmq_view_fields' order) into o and the buffers. */
static int pmq_view(store *st, const char *key, redisReply **f,
                    store_pmq_view *o, buf_t *ans, buf_t *frame, err_t *e)
{
    char at[24], done[24];
    struct { char *p; size_t cap; } to[] = {
        {o->state, sizeof o->state}, {o->op, sizeof o->op},
        {o->permit, sizeof o->permit}, {o->key, sizeof o->key},
        {o->for_ref, sizeof o->for_ref}, {o->code, sizeof o->code},
        {at, sizeof at}, {done, sizeof done}};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof to / sizeof *to; i++)
        rc = pmq_copy(st, key, f[i], to[i].p, to[i].cap, e);
    if (rc == 0)
        rc = pmq_bytes(st, key, f[8], ans, e);
    if (rc == 0)
        rc = pmq_frame_get(st, f[9], frame, e);
    o->at_ms = rc == 0 ? strtoll(at, NULL, 10) : 0;
    o->done_ms = rc == 0 ? strtoll(done, NULL, 10) : 0;
    return rc;
}

int store_pmq_get(store *st, const char *rid, store_pmq_view *out,
                  buf_t *ans, buf_t *frame, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "pmq", rid, e);
    if (rc < 0)
        return rc;
    st_args a = {0};
    st_arg_s(&a, "HMGET"), st_arg_s(&a, key);
    for (size_t i = 0; i < PMQ_VIEW_N; i++)
        st_arg_s(&a, pmq_view_fields[i]);
    redisReply *r;
    if ((rc = pmq_cmd(st, &a, REDIS_REPLY_ARRAY, 0, &r, e)) < 0)
        return rc;
    memset(out, 0, sizeof *out);
    if (r->elements != PMQ_VIEW_N)
        rc = pmq_malformed(st, key, e);
    else if (r->element[0]->type == REDIS_REPLY_NIL)
        rc = err_set(e, ERR_NOTFOUND, "redis %s: request %s: not found "
                     "(never queued, or expired)", st->url, rid);
    else
        rc = pmq_view(st, key, r->element, out, ans, frame, e);
    freeReplyObject(r);
    return rc;
}

/* ---- lists ---- */

/* Runs a (a [member, score, ...] reply) and hands each to fn: how many. */
static int pmq_scored(store *st, const st_args *a, store_pmq_rid_fn fn,
                      void *ctx, err_t *e)
{
    redisReply *r;
    int rc = pmq_cmd(st, a, REDIS_REPLY_ARRAY, 0, &r, e);
    if (rc < 0)
        return rc;
    size_t i = 0;
    for (; rc == 0 && i + 1 < r->elements; i += 2) {
        const redisReply *m = r->element[i], *s = r->element[i + 1];
        if (m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING)
            rc = pmq_malformed(st, a->v[1], e);
        else if ((rc = fn(ctx, m->str, strtoll(s->str, NULL, 10), e)) < 0)
            err_wrap(e, "%s %s", a->v[1], m->str);
    }
    freeReplyObject(r);
    return rc < 0 ? rc : (int)(i / 2);
}

int store_pmq_waiting(store *st, int64_t before_ms, size_t count,
                      store_pmq_rid_fn fn, void *ctx, err_t *e)
{
    char key[ST_KEY_MAX], hi[24], cnt[24];
    st_key(st, key, "pmwait", NULL, e);
    snprintf(hi, sizeof hi, "(%lld", (long long)before_ms);
    snprintf(cnt, sizeof cnt, "%zu", count ? count : 1);
    st_args a = {0};
    st_arg_s(&a, "ZRANGEBYSCORE"), st_arg_s(&a, key), st_arg_s(&a, "-inf");
    st_arg_s(&a, hi), st_arg_s(&a, "WITHSCORES"), st_arg_s(&a, "LIMIT");
    st_arg_s(&a, "0"), st_arg_s(&a, cnt);
    return pmq_scored(st, &a, fn, ctx, e);
}

int64_t store_pmq_waiting_len(store *st, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, "pmwait", NULL, e);
    return st_count(st, "ZCARD", key, e);
}

int store_pmq_by_permit(store *st, const char *permit, size_t count,
                        store_pmq_rid_fn fn, void *ctx, err_t *e)
{
    char key[ST_KEY_MAX], last[24];
    int rc = pm_id_check(permit, e);
    if (rc < 0)
        return err_wrap(e, "redis %s: pmq by permit", st->url);
    st_key(st, key, "pmq:by", permit, e);
    snprintf(last, sizeof last, "%zu", (count ? count : 1) - 1);
    st_args a = {0};
    st_arg_s(&a, "ZRANGE"), st_arg_s(&a, key), st_arg_s(&a, "0");
    st_arg_s(&a, last), st_arg_s(&a, "WITHSCORES");
    return pmq_scored(st, &a, fn, ctx, e);
}

int store_pmq_cached(store *st, const char *permit, buf_t *ans, buf_t *frame,
                     err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = pm_id_check(permit, e);
    if (rc < 0)
        return err_wrap(e, "redis %s: pmq cached", st->url);
    st_key(st, key, "pmc", permit, e);
    st_args a = {0};
    st_arg_s(&a, "HMGET"), st_arg_s(&a, key), st_arg_s(&a, "ans");
    st_arg_s(&a, "af");
    redisReply *r;
    if ((rc = pmq_cmd(st, &a, REDIS_REPLY_ARRAY, 0, &r, e)) < 0)
        return rc;
    if (r->elements != 2)
        rc = pmq_malformed(st, key, e);
    else if (r->element[0]->type != REDIS_REPLY_STRING)
        rc = err_set(e, ERR_NOTFOUND, "redis %s: permit %s: no answer held "
                     "here", st->url, permit);
    else if ((rc = pmq_bytes(st, key, r->element[0], ans, e)) == 0)
        rc = pmq_frame_get(st, r->element[1], frame, e);
    freeReplyObject(r);
    return rc;
}

/* ---- a movement's cited permits ---- */

static int pmq_gate_key(store *st, char key[ST_KEY_MAX], const char *ref,
                        const char *permit, err_t *e)
{
    int rc = st_mv_key(st, key, ref, ":pm", e);
    if (rc == 0 && permit && pm_id_check(permit, e) < 0)
        rc = err_wrap(e, "redis %s: %s", st->url, key);
    return rc;
}

/* HSETNX per permit, pipelined: every reply is read, to stay in step. */
int store_pmq_gate_open(store *st, const char *ref,
                        const char *const *permits, size_t n, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = pmq_gate_key(st, key, ref, NULL, e);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = pmq_gate_key(st, key, ref, permits[i], e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        st_args a = {0};
        st_arg_s(&a, "HSETNX"), st_arg_s(&a, key), st_arg_s(&a, permits[i]);
        st_arg_s(&a, "pending");
        rc = st_pipe_add(st, &a, e);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        redisReply *r;
        if ((rc = st_pipe_reply(st, key, &r, e)) < 0)
            return rc;
        if (r->type != REDIS_REPLY_INTEGER)
            rc = pmq_malformed(st, key, e);
        freeReplyObject(r);
    }
    return rc;
}

int store_pmq_gate_set(store *st, const char *ref, const char *permit,
                       const char *state, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = pmq_gate_key(st, key, ref, permit, e);
    if (rc == 0 && (!state || !*state))
        rc = err_set(e, ERR_INVALID, "redis %s: %s %s: empty state", st->url,
                     key, permit);
    if (rc < 0)
        return rc;
    st_args a = {0};
    st_arg_s(&a, "HSET"), st_arg_s(&a, key), st_arg_s(&a, permit);
    st_arg_s(&a, state);
    return pmq_do(st, &a, REDIS_REPLY_INTEGER, e);
}

int store_pmq_gate_get(store *st, const char *ref, store_pmq_gate_fn fn,
                       void *ctx, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = pmq_gate_key(st, key, ref, NULL, e);
    if (rc < 0)
        return rc;
    st_args a = {0};
    st_arg_s(&a, "HGETALL"), st_arg_s(&a, key);
    redisReply *r;
    if ((rc = pmq_cmd(st, &a, REDIS_REPLY_ARRAY, 0, &r, e)) < 0)
        return rc;
    size_t i = 0;
    for (; rc == 0 && i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            rc = pmq_malformed(st, key, e);
        else if ((rc = fn(ctx, k->str, v->str, e)) < 0)
            err_wrap(e, "%s %s", key, k->str);
    }
    freeReplyObject(r);
    return rc < 0 ? rc : (int)(i / 2);
}
