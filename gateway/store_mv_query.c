/* store_mv_query: the movement ledger's reads and small writes
 * (store_mv.h): parked events, the log, refusals, state, claims and
 * indexes, lists by phase and by due time, reference sequences, the
 * ledger's position and alerts. The writes that must go with a check
 * are scripts (store_mv_lua.c); the rest are single commands. */
#include "store_int.h"
#include "store_mv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MV_ALERTS_MAX "100000"   /* XADD MAXLEN ~ of v1:alerts */

/* One command whose reply must be of type want (or nil when nil_ok). */
static int mvq_cmd(store *st, const st_args *a, int want, int nil_ok,
                   redisReply **out, err_t *e)
{
    int rc = st_cmd(st, a, -1, out, e);
    if (rc < 0 || (*out)->type == want ||
        (nil_ok && (*out)->type == REDIS_REPLY_NIL))
        return rc;
    freeReplyObject(*out);
    *out = NULL;
    return err_set(e, ERR_IO, "redis %s: %s %.*s: unexpected reply type",
                   st->url, a->v[0], (int)a->l[1], a->v[1]);
}

static int mvq_malformed(store *st, const char *key, err_t *e)
{
    return err_set(e, ERR_IO, "redis %s: %s: malformed reply", st->url, key);
}

/* ---- parked events, log, refusals ---- */

int store_mv_park(store *st, const char *ref, const char *id,
                  const void *frame, size_t n, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_mv_key(st, key, ref, ":park", e);
    if (rc == 0 && !st_name_ok(id))
        rc = err_set(e, ERR_INVALID, "redis %s: %s: bad id", st->url, key);
    if (rc < 0)
        return rc;
    st_args a = {0};
    st_arg_s(&a, "HSET"), st_arg_s(&a, key), st_arg_s(&a, id);
    st_arg_b(&a, frame, n);
    redisReply *r;
    if ((rc = mvq_cmd(st, &a, REDIS_REPLY_INTEGER, 0, &r, e)) == 0)
        freeReplyObject(r);
    return rc;
}

/* HGETALL key, each pair to fn as (name, value bytes); returns pairs. */
static int mvq_pairs(store *st, const char *key, store_mv_frame_fn fn,
                     void *ctx, err_t *e)
{
    st_args a = {0};
    st_arg_s(&a, "HGETALL"), st_arg_s(&a, key);
    redisReply *r = NULL;
    int rc = mvq_cmd(st, &a, REDIS_REPLY_ARRAY, 0, &r, e);
    size_t i = 0;
    for (; rc == 0 && i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            rc = mvq_malformed(st, key, e);
        else if ((rc = fn(ctx, k->str, v->str, v->len, e)) < 0)
            err_wrap(e, "%s %s", key, k->str);
    }
    if (r)
        freeReplyObject(r);
    return rc < 0 ? rc : (int)(i / 2);
}

int store_mv_parked(store *st, const char *ref, store_mv_frame_fn fn,
                    void *ctx, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_mv_key(st, key, ref, ":park", e);
    return rc < 0 ? rc : mvq_pairs(st, key, fn, ctx, e);
}

/* Log entries 0..stop of ref (LRANGE; stop -1: all of them). */
static int mvq__log(store *st, const char *ref, const char *stop,
                    store_mv_frame_fn fn, void *ctx, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_mv_key(st, key, ref, ":log", e);
    if (rc < 0)
        return rc;
    st_args a = {0};
    st_arg_s(&a, "LRANGE"), st_arg_s(&a, key), st_arg_s(&a, "0");
    st_arg_s(&a, stop);
    redisReply *r = NULL;
    rc = mvq_cmd(st, &a, REDIS_REPLY_ARRAY, 0, &r, e);
    size_t i = 0;
    for (; rc == 0 && i < r->elements; i++) {
        const redisReply *f = r->element[i];
        if (f->type != REDIS_REPLY_STRING)
            rc = mvq_malformed(st, key, e);
        else if ((rc = fn(ctx, "", f->str, f->len, e)) < 0)
            err_wrap(e, "%s entry %zu", key, i);
    }
    if (r)
        freeReplyObject(r);
    return rc < 0 ? rc : (int)i;
}

int store_mv_log(store *st, const char *ref, store_mv_frame_fn fn, void *ctx,
                 err_t *e)
{
    return mvq__log(st, ref, "-1", fn, ctx, e);
}

int store_mv_log_first(store *st, const char *ref, store_mv_frame_fn fn,
                       void *ctx, err_t *e)
{
    return mvq__log(st, ref, "0", fn, ctx, e);
}

int store_mv_refuse(store *st, const char *ref, const char *id,
                    const char *msg, const void *frame, size_t n, err_t *e)
{
    char key[ST_KEY_MAX], dlq[ST_KEY_MAX], park[ST_KEY_MAX], now[24];
    int rc = st_mv_key(st, key, ref, ":refused", e);
    if (rc == 0)
        rc = st_mv_key(st, park, ref, ":park", e);
    if (rc == 0 && (!st_name_ok(id) || !msg || !*msg))
        rc = err_set(e, ERR_INVALID, "redis %s: %s: bad id or empty message",
                     st->url, key);
    if (rc < 0)
        return rc;
    st_key(st, dlq, "dlq", NULL, e);
    snprintf(now, sizeof now, "%lld", (long long)st_now_ms());
    st_args a = {.what = key};
    st_arg_s(&a, "EVALSHA"), st_arg_s(&a, ""), st_arg_s(&a, "3");
    st_arg_s(&a, key), st_arg_s(&a, dlq), st_arg_s(&a, park);
    st_arg_s(&a, id);
    st_arg_s(&a, msg), st_arg_s(&a, now), st_arg_b(&a, frame, n);
    redisReply *r;
    if ((rc = st_eval(st, &st_lua_mv_refuse, &a, &r, e)) < 0)
        return rc;
    /* 1: recorded before (the ledger then keeps quiet about it) */
    rc = r->type == REDIS_REPLY_INTEGER ? (int)(r->integer == 1)
                                        : mvq_malformed(st, key, e);
    freeReplyObject(r);
    return rc;
}

int store_mv_outcome(store *st, const char *ref, const char *id, buf_t *why,
                     err_t *e)
{
    char ids[ST_KEY_MAX], refused[ST_KEY_MAX];
    int rc = st_mv_key(st, ids, ref, ":ids", e);
    if (rc == 0 && !st_name_ok(id))
        rc = err_set(e, ERR_INVALID, "redis %s: %s: bad id", st->url, ids);
    if (rc < 0)
        return rc;
    st_mv_key(st, refused, ref, ":refused", e);
    st_args a = {0}, b = {0};
    st_arg_s(&a, "SISMEMBER"), st_arg_s(&a, ids), st_arg_s(&a, id);
    redisReply *r;
    if ((rc = mvq_cmd(st, &a, REDIS_REPLY_INTEGER, 0, &r, e)) < 0)
        return rc;
    int applied = r->integer == 1;
    freeReplyObject(r);
    if (applied)
        return 1;
    st_arg_s(&b, "HGET"), st_arg_s(&b, refused), st_arg_s(&b, id);
    if ((rc = mvq_cmd(st, &b, REDIS_REPLY_STRING, 1, &r, e)) < 0)
        return rc;
    rc = r->type == REDIS_REPLY_NIL ? 0 : 2;
    if (rc == 2 && why && buf_add(why, r->str, r->len) < 0)
        rc = err_set(e, ERR_TOOBIG, "redis %s: %s: refusal does not fit the "
                     "buffer", st->url, refused);
    freeReplyObject(r);
    return rc;
}

/* store_mv_kv_fn through store_mv_frame_fn: refusals are text. */
typedef struct mvq_kv { store_mv_kv_fn fn; void *ctx; } mvq_kv;

static int mvq_kv_one(void *ctx, const char *id, const void *msg, size_t n,
                      err_t *e)
{
    (void)n; /* a Redis string reply is NUL-terminated */
    mvq_kv *k = ctx;
    return k->fn(k->ctx, id, msg, e);
}

int store_mv_refusals(store *st, const char *ref, store_mv_kv_fn fn,
                      void *ctx, err_t *e)
{
    char key[ST_KEY_MAX];
    mvq_kv k = {fn, ctx};
    int rc = st_mv_key(st, key, ref, ":refused", e);
    return rc < 0 ? rc : mvq_pairs(st, key, mvq_kv_one, &k, e);
}

int store_mv_state(store *st, const char *ref, buf_t *out, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_mv_key(st, key, ref, "", e);
    if (rc < 0)
        return rc;
    st_args a = {0};
    st_arg_s(&a, "HGET"), st_arg_s(&a, key), st_arg_s(&a, "st");
    redisReply *r;
    if ((rc = mvq_cmd(st, &a, REDIS_REPLY_STRING, 1, &r, e)) < 0)
        return rc;
    if (r->type == REDIS_REPLY_NIL)
        rc = err_set(e, ERR_NOTFOUND, "movement %s: not found", ref);
    else if (buf_add(out, r->str, r->len) < 0)
        rc = err_set(e, ERR_TOOBIG, "redis %s: %s: state of %zu bytes does "
                     "not fit the buffer", st->url, key, r->len);
    freeReplyObject(r);
    return rc;
}

/* ---- claims, indexes, lists ---- */

/* Each member of an array reply to fn, with its score when scored
 * ([member, score, ...] of WITHSCORES) or 0. Returns how many. */
static int mvq_refs(store *st, const char *key, const redisReply *r,
                    int scored, store_mv_ref_fn fn, void *ctx, err_t *e)
{
    size_t step = scored ? 2 : 1, i = 0;
    int rc = 0;
    for (; rc == 0 && i + step - 1 < r->elements; i += step) {
        const redisReply *m = r->element[i];
        const redisReply *s = scored ? r->element[i + 1] : NULL;
        if (m->type != REDIS_REPLY_STRING ||
            (s && s->type != REDIS_REPLY_STRING))
            return mvq_malformed(st, key, e);
        int64_t score = s ? strtoll(s->str, NULL, 10) : 0;
        if ((rc = fn(ctx, m->str, score, e)) < 0)
            err_wrap(e, "%s %s", key, m->str);
    }
    return rc < 0 ? rc : (int)(i / step);
}

/* Runs a (an array reply) and hands its refs to fn. */
static int mvq_ref_cmd(store *st, const st_args *a, const char *key,
                       int scored, store_mv_ref_fn fn, void *ctx, err_t *e)
{
    redisReply *r;
    int rc = mvq_cmd(st, a, REDIS_REPLY_ARRAY, 0, &r, e);
    if (rc < 0)
        return rc;
    rc = mvq_refs(st, key, r, scored, fn, ctx, e);
    freeReplyObject(r);
    return rc;
}

/* "<prefix>v1:<kind>:<claim key>" (claim keys are not st_key names). */
static int mvq_claim_key(store *st, char key[ST_KEY_MAX], const char *kind,
                         const char *k, err_t *e)
{
    if (!st_mv_key_ok(k))
        return err_set(e, ERR_INVALID, "redis %s: claim key \"%.128s\": want "
                       "c:... or d:..., no space", st->url, k ? k : "(null)");
    snprintf(key, ST_KEY_MAX, "%sv1:%s:%s", st->prefix, kind, k);
    return 0;
}

/* SORT key ALPHA [LIMIT 0 count]: a set's members in ref order, so that
 * listings do not change from one call to the next. */
static void mvq_sort(st_args *a, const char *key, const char *count)
{
    st_arg_s(a, "SORT"), st_arg_s(a, key), st_arg_s(a, "ALPHA");
    if (count)
        st_arg_s(a, "LIMIT"), st_arg_s(a, "0"), st_arg_s(a, count);
}

/* The refs under claim key k: in zset order with scores (kind "claim")
 * or in ref order (kind "mvidx", a set). */
static int mvq_keyed(store *st, const char *kind, const char *k,
                     store_mv_ref_fn fn, void *ctx, err_t *e)
{
    char z[ST_KEY_MAX];
    int rc = mvq_claim_key(st, z, kind, k, e);
    if (rc < 0)
        return rc;
    int scored = strcmp(kind, "claim") == 0;
    st_args a = {0};
    if (scored) {
        st_arg_s(&a, "ZRANGE"), st_arg_s(&a, z), st_arg_s(&a, "0");
        st_arg_s(&a, "-1"), st_arg_s(&a, "WITHSCORES");
    } else {
        mvq_sort(&a, z, NULL);
    }
    return mvq_ref_cmd(st, &a, z, scored, fn, ctx, e);
}

int store_mv_claims(store *st, const char *key, store_mv_ref_fn fn, void *ctx,
                    err_t *e)
{
    return mvq_keyed(st, "claim", key, fn, ctx, e);
}

int store_mv_index(store *st, const char *key, store_mv_ref_fn fn, void *ctx,
                   err_t *e)
{
    return mvq_keyed(st, "mvidx", key, fn, ctx, e);
}

int store_mv_list(store *st, const char *phase, size_t count,
                  store_mv_ref_fn fn, void *ctx, err_t *e)
{
    char key[ST_KEY_MAX], cnt[24], last[24];
    snprintf(cnt, sizeof cnt, "%zu", count ? count : 1);
    snprintf(last, sizeof last, "%lld", (long long)(count ? count : 1) - 1);
    st_args a = {0};
    if (!phase) {
        st_key(st, key, "mv", "all", e);
        st_arg_s(&a, "ZRANGE"), st_arg_s(&a, key), st_arg_s(&a, "0");
        st_arg_s(&a, last), st_arg_s(&a, "WITHSCORES");
        return mvq_ref_cmd(st, &a, key, 1, fn, ctx, e);
    }
    if (!st_name_ok(phase))
        return err_set(e, ERR_INVALID, "redis %s: phase \"%.64s\": want 1-64 "
                       "of A-Z a-z 0-9 - _ .", st->url, phase);
    snprintf(key, sizeof key, "%sv1:mv:phase:%s", st->prefix, phase);
    mvq_sort(&a, key, cnt);
    return mvq_ref_cmd(st, &a, key, 0, fn, ctx, e);
}

int store_mv_due(store *st, const char *which, int64_t upto, size_t count,
                 store_mv_ref_fn fn, void *ctx, err_t *e)
{
    char key[ST_KEY_MAX], hi[24], cnt[24];
    if (!which || (strcmp(which, "limit") && strcmp(which, "claimwait")))
        return err_set(e, ERR_INVALID, "redis %s: mv due: \"%.16s\": want "
                       "limit or claimwait", st->url, which ? which : "");
    st_key(st, key, "mv", which, e);
    snprintf(hi, sizeof hi, "%lld", (long long)upto);
    snprintf(cnt, sizeof cnt, "%zu", count ? count : 1);
    st_args a = {0};
    st_arg_s(&a, "ZRANGEBYSCORE"), st_arg_s(&a, key), st_arg_s(&a, "-inf");
    st_arg_s(&a, hi), st_arg_s(&a, "WITHSCORES"), st_arg_s(&a, "LIMIT");
    st_arg_s(&a, "0"), st_arg_s(&a, cnt);
    return mvq_ref_cmd(st, &a, key, 1, fn, ctx, e);
}

/* ---- sequences and the ledger's position ---- */

int store_mv_next_seq(store *st, unsigned yy, uint64_t count,
                      uint64_t *first, err_t *e)
{
    char key[ST_KEY_MAX], by[24];
    if (yy > 99 || count < 1 || count > (uint64_t)INT64_MAX)
        return err_set(e, ERR_INVALID, "redis %s: mv seq: year %u, count "
                       "%llu: want 0-99 and at least 1", st->url, yy,
                       (unsigned long long)count);
    snprintf(key, sizeof key, "%sv1:mv:seq:%02u", st->prefix, yy);
    snprintf(by, sizeof by, "%llu", (unsigned long long)count);
    st_args a = {0};
    st_arg_s(&a, "INCRBY"), st_arg_s(&a, key), st_arg_s(&a, by);
    redisReply *r;
    int rc = mvq_cmd(st, &a, REDIS_REPLY_INTEGER, 0, &r, e);
    if (rc < 0)
        return rc;
    *first = (uint64_t)r->integer - count + 1;
    freeReplyObject(r);
    return 0;
}

int store_ledger_pos_get(store *st, store_pos *out, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, "ledger", "pos", e);
    st_args a = {0};
    st_arg_s(&a, "GET"), st_arg_s(&a, key);
    redisReply *r;
    int rc = mvq_cmd(st, &a, REDIS_REPLY_STRING, 1, &r, e);
    if (rc < 0)
        return rc;
    *out = (store_pos){0, 0};
    if (r->type == REDIS_REPLY_STRING && store_pos_parse(r->str, out) < 0)
        rc = err_set(e, ERR_IO, "redis %s: %s: unreadable position \"%.40s\"",
                     st->url, key, r->str);
    freeReplyObject(r);
    return rc;
}

int store_ledger_pos_set(store *st, store_pos pos, err_t *e)
{
    char key[ST_KEY_MAX], p[STORE_ID_MAX];
    st_key(st, key, "ledger", "pos", e);
    store_pos_format(pos, p);
    st_args a = {0};
    st_arg_s(&a, "SET"), st_arg_s(&a, key), st_arg_s(&a, p);
    redisReply *r;
    int rc = mvq_cmd(st, &a, REDIS_REPLY_STATUS, 0, &r, e);
    if (rc == 0)
        freeReplyObject(r);
    return rc;
}

/* ---- alerts ---- */

int store_alert_add(store *st, const char *kind, const char *ref,
                    const char *region, const char *msg, err_t *e)
{
    char key[ST_KEY_MAX], at[24];
    st_key(st, key, "alerts", NULL, e);
    if (!st_name_ok(kind) || !ref || !region || !msg)
        return err_set(e, ERR_INVALID, "redis %s: %s: bad kind \"%.64s\" or "
                       "a NULL field", st->url, key, kind ? kind : "(null)");
    snprintf(at, sizeof at, "%lld", (long long)st_now_ms());
    st_args a = {0};
    st_arg_s(&a, "XADD"), st_arg_s(&a, key), st_arg_s(&a, "MAXLEN");
    st_arg_s(&a, "~"), st_arg_s(&a, MV_ALERTS_MAX), st_arg_s(&a, "*");
    st_arg_s(&a, "v"), st_arg_s(&a, "1"), st_arg_s(&a, "kind");
    st_arg_s(&a, kind), st_arg_s(&a, "ref"), st_arg_s(&a, ref);
    st_arg_s(&a, "region"), st_arg_s(&a, region), st_arg_s(&a, "msg");
    st_arg_s(&a, msg), st_arg_s(&a, "at"), st_arg_s(&a, at);
    redisReply *r;
    int rc = mvq_cmd(st, &a, REDIS_REPLY_STRING, 0, &r, e);
    if (rc == 0)
        freeReplyObject(r);
    return rc;
}

/* One XREVRANGE entry of v1:alerts for fn. */
static int mvq_alert(store *st, const char *key, const redisReply *en,
                     store_alert_fn fn, void *ctx, err_t *e)
{
    const redisReply *f, *kind, *ref, *reg, *msg, *at;
    int rc = st_entry(st, key, en, &f, e);
    if (rc < 0)
        return rc;
    const char *id = en->element[0]->str;
    if (!(kind = st_field(f, "kind")) || !(ref = st_field(f, "ref")) ||
        !(reg = st_field(f, "region")) || !(msg = st_field(f, "msg")) ||
        !(at = st_field(f, "at")))
        return err_set(e, ERR_INVALID, "redis %s: %s entry %s: a field of "
                       "v1 is missing", st->url, key, id);
    if (fn(ctx, id, kind->str, ref->str, reg->str, msg->str,
           strtoll(at->str, NULL, 10), e) < 0)
        return err_wrap(e, "%s entry %s", key, id);
    return 0;
}

int store_alert_list(store *st, size_t count, store_alert_fn fn, void *ctx,
                     err_t *e)
{
    char key[ST_KEY_MAX], cnt[24];
    st_key(st, key, "alerts", NULL, e);
    snprintf(cnt, sizeof cnt, "%zu", count ? count : 1);
    st_args a = {0};
    st_arg_s(&a, "XREVRANGE"), st_arg_s(&a, key), st_arg_s(&a, "+");
    st_arg_s(&a, "-"), st_arg_s(&a, "COUNT"), st_arg_s(&a, cnt);
    redisReply *r = NULL;
    int rc = mvq_cmd(st, &a, REDIS_REPLY_ARRAY, 0, &r, e);
    size_t i = 0;
    for (; rc == 0 && i < r->elements; i++)
        rc = mvq_alert(st, key, r->element[i], fn, ctx, e);
    if (r)
        freeReplyObject(r);
    return rc < 0 ? rc : (int)i;
}
