/* store_fed: the Redis side of the national center's keys (v1:fed:*, see
 * fed.h) and the reads of the ledger's keys its figures need: part of the
 * store (it uses the store's internals, as the other store_*.c files do)
 * serving the fed module (its functions are fed_store_*, declared in
 * fed_int.h). Writers that must be atomic are small Lua scripts sent
 * with EVAL: they run a few times a second at most, so the script cache
 * is not worth its bookkeeping here. */
#include "fed_int.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FS_LEDGER_BATCH 50   /* ledger alerts counted per script */

/* KEYS node, hist, nodes, in; ARGV at now fresh entry h region hist
 * histmax node. Replies 1 newer (kept), 0 older. */
static const char fs__lua_apply[] =
    "local at = tonumber(ARGV[1])\n"
    "local cur = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')\n"
    "local newer = at > cur\n"
    "if newer then\n"
    "  redis.call('HSET', KEYS[1], 'v', '1', 'at', ARGV[1], 'region',"
    " ARGV[6], 'h', ARGV[5])\n"
    "  redis.call('LPUSH', KEYS[2], ARGV[7])\n"
    "  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[8]) - 1)\n"
    "end\n"
    "if ARGV[3] == '1' then\n"
    "  local seen = tonumber(redis.call('HGET', KEYS[1], 'seen') or '0')\n"
    "  if tonumber(ARGV[2]) > seen then\n"
    "    redis.call('HSET', KEYS[1], 'seen', ARGV[2])\n"
    "  end\n"
    "end\n"
    "redis.call('SADD', KEYS[3], ARGV[9])\n"
    "if ARGV[4] ~= '' then redis.call('XDEL', KEYS[4], ARGV[4]) end\n"
    "if newer then return 1 end\n"
    "return 0\n";

/* KEYS alerts, log; ARGV id json raise max. Replies 1 changed, 0 not. */
static const char fs__lua_alert[] =
    "if ARGV[3] == '1' then\n"
    "  if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end\n"
    "  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "elseif redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then\n"
    "  return 0\n"
    "end\n"
    "local ev = 'cleared'\n"
    "if ARGV[3] == '1' then ev = 'raised' end\n"
    "redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'v', '1',"
    " 'ev', ev, 'id', ARGV[1], 'j', ARGV[2])\n"
    "return 1\n";

/* KEYS counts, apos; ARGV pos field... */
static const char fs__lua_counted[] =
    "for i = 2, #ARGV do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end\n"
    "redis.call('SET', KEYS[2], ARGV[1])\n"
    "return 1\n";

/* ---- helpers ---- */

static void fs__eval(st_args *a, const char *what, const char *src,
                     const char *nkeys)
{
    *a = (st_args){.what = what};
    st_arg_s(a, "EVAL"), st_arg_s(a, src), st_arg_s(a, nkeys);
}

static int fs__int(store *st, const st_args *a, long long *out, err_t *e)
{
    redisReply *r;
    int rc = st_cmd(st, a, REDIS_REPLY_INTEGER, &r, e);
    if (rc < 0)
        return rc;
    *out = r->integer;
    freeReplyObject(r);
    return 0;
}

/* Each string of an array reply (nil elements skipped). */
static int fs__strings(store *st, const st_args *a, fed_str_fn fn, void *ctx,
                       err_t *e)
{
    redisReply *r;
    int rc = st_cmd(st, a, REDIS_REPLY_ARRAY, &r, e);
    int n = 0;
    for (size_t i = 0; rc == 0 && i < r->elements; i++) {
        const redisReply *s = r->element[i];
        if (s->type == REDIS_REPLY_STRING && (rc = fn(ctx, s->str, s->len, e))
            == 0)
            n++;
    }
    if (r)
        freeReplyObject(r);
    return rc < 0 ? rc : n;
}

/* Each pair of a HGETALL reply. */
static int fs__pairs(store *st, const st_args *a, store_kv_fn fn, void *ctx,
                     err_t *e)
{
    redisReply *r;
    int rc = st_cmd(st, a, REDIS_REPLY_ARRAY, &r, e);
    int n = 0;
    for (size_t i = 0; rc == 0 && i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if ((rc = fn(ctx, k->str, v->str, e)) == 0)
            n++;
    }
    if (r)
        freeReplyObject(r);
    return rc < 0 ? rc : n;
}

/* ---- positions ---- */

int fed_store_pos(store *st, const char *which, store_pos *out, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, "fed", which, e);
    return st_pos_get(st, key, out, e);
}

int fed_store_pos_set(store *st, const char *which, store_pos p, err_t *e)
{
    char key[ST_KEY_MAX], id[STORE_ID_MAX];
    st_key(st, key, "fed", which, e);
    store_pos_format(p, id);
    st_args a = {0};
    st_arg_s(&a, "SET"), st_arg_s(&a, key), st_arg_s(&a, id);
    redisReply *r;
    int rc = st_cmd(st, &a, REDIS_REPLY_STATUS, &r, e);
    if (rc == 0)
        freeReplyObject(r);
    return rc;
}

/* ---- node records ---- */

int fed_store_apply(store *st, const fed_health *h, const void *p, size_t n,
                    const char *entry, int64_t now, int fresh,
                    const char *hist, err_t *e)
{
    char kn[ST_KEY_MAX], kh[ST_KEY_MAX], ks[ST_KEY_MAX], ki[ST_KEY_MAX];
    char at[24], nw[24], max[16];
    int rc = st_key(st, kn, "fed:node", h->node, e);
    rc = rc ? rc : st_key(st, kh, "fed:hist", h->node, e);
    if (rc)
        return rc;
    st_key(st, ks, "fed:nodes", NULL, e);
    st_key(st, ki, "in", NULL, e);
    snprintf(at, sizeof at, "%llu", (unsigned long long)h->at_ms);
    snprintf(nw, sizeof nw, "%lld", (long long)now);
    snprintf(max, sizeof max, "%d", FED_HIST_MAX);
    st_args a;
    fs__eval(&a, "EVAL fed_apply", fs__lua_apply, "4");
    st_arg_s(&a, kn), st_arg_s(&a, kh), st_arg_s(&a, ks), st_arg_s(&a, ki);
    st_arg_s(&a, at), st_arg_s(&a, nw), st_arg_s(&a, fresh ? "1" : "0");
    st_arg_s(&a, entry ? entry : ""), st_arg_b(&a, p, n);
    st_arg_s(&a, h->region), st_arg_s(&a, hist), st_arg_s(&a, max);
    st_arg_s(&a, h->node);
    long long got = 0;
    rc = fs__int(st, &a, &got, e);
    return rc < 0 ? rc : (int)got;
}

int fed_store_members(store *st, fed_str_fn fn, void *ctx, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, "fed:nodes", NULL, e);
    st_args a = {0};
    st_arg_s(&a, "SMEMBERS"), st_arg_s(&a, key);
    return fs__strings(st, &a, fn, ctx, e);
}

int fed_store_node(store *st, const char *id, int64_t *seen, buf_t *h,
                   err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "fed:node", id, e);
    if (rc)
        return rc;
    st_args a = {0};
    st_arg_s(&a, "HMGET"), st_arg_s(&a, key), st_arg_s(&a, "seen");
    st_arg_s(&a, "h");
    redisReply *r;
    if ((rc = st_cmd(st, &a, REDIS_REPLY_ARRAY, &r, e)) < 0)
        return rc;
    const redisReply *s = r->elements == 2 ? r->element[0] : NULL;
    const redisReply *p = r->elements == 2 ? r->element[1] : NULL;
    *seen = s && s->type == REDIS_REPLY_STRING ? strtoll(s->str, NULL, 10)
                                               : 0;
    int found = p && p->type == REDIS_REPLY_STRING;
    if (found && buf_add(h, p->str, p->len) < 0)
        rc = err_set(e, ERR_TOOBIG, "redis %s: %s: health of %zu bytes",
                     st->url, key, p->len);
    freeReplyObject(r);
    return rc < 0 ? rc : found;
}

int fed_store_hist(store *st, const char *id, size_t count, fed_str_fn fn,
                   void *ctx, err_t *e)
{
    char key[ST_KEY_MAX], last[24];
    int rc = st_key(st, key, "fed:hist", id, e);
    if (rc)
        return rc;
    snprintf(last, sizeof last, "%lld", (long long)count - 1);
    st_args a = {0};
    st_arg_s(&a, "LRANGE"), st_arg_s(&a, key), st_arg_s(&a, "0");
    st_arg_s(&a, last);
    return fs__strings(st, &a, fn, ctx, e);
}

/* ---- alerts ---- */

int fed_store_alerts(store *st, store_kv_fn fn, void *ctx, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, "fed:alerts", NULL, e);
    st_args a = {0};
    st_arg_s(&a, "HGETALL"), st_arg_s(&a, key);
    return fs__pairs(st, &a, fn, ctx, e);
}

int fed_store_alert_set(store *st, const char *id, const char *json,
                        int raise, err_t *e)
{
    char ka[ST_KEY_MAX], kl[ST_KEY_MAX], max[16];
    st_key(st, ka, "fed:alerts", NULL, e);
    st_key(st, kl, "fed:alert_log", NULL, e);
    snprintf(max, sizeof max, "%d", FED_ALERT_LOG_MAX);
    st_args a;
    fs__eval(&a, "EVAL fed_alert", fs__lua_alert, "2");
    st_arg_s(&a, ka), st_arg_s(&a, kl), st_arg_s(&a, id);
    st_arg_s(&a, json), st_arg_s(&a, raise ? "1" : "0"), st_arg_s(&a, max);
    long long got = 0;
    int rc = fs__int(st, &a, &got, e);
    return rc < 0 ? rc : (int)got;
}

int fed_store_alert_log(store *st, size_t count, store_kv_fn fn, void *ctx,
                        err_t *e)
{
    char key[ST_KEY_MAX], cnt[24];
    st_key(st, key, "fed:alert_log", NULL, e);
    snprintf(cnt, sizeof cnt, "%zu", count ? count : 1);
    st_args a = {0};
    st_arg_s(&a, "XREVRANGE"), st_arg_s(&a, key), st_arg_s(&a, "+");
    st_arg_s(&a, "-"), st_arg_s(&a, "COUNT"), st_arg_s(&a, cnt);
    redisReply *r;
    int rc = st_cmd(st, &a, REDIS_REPLY_ARRAY, &r, e), n = 0;
    for (size_t i = 0; rc == 0 && i < r->elements; i++) {
        const redisReply *f, *ev, *j;
        rc = st_entry(st, key, r->element[i], &f, e);
        if (rc == 0 && (ev = st_field(f, "ev")) && (j = st_field(f, "j")) &&
            (rc = fn(ctx, ev->str, j->str, e)) == 0)
            n++;
    }
    if (r)
        freeReplyObject(r);
    return rc < 0 ? rc : n;
}

/* ---- counts and the ledger's alerts ---- */

int fed_store_counts(store *st, store_kv_fn fn, void *ctx, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, "fed:counts", NULL, e);
    st_args a = {0};
    st_arg_s(&a, "HGETALL"), st_arg_s(&a, key);
    return fs__pairs(st, &a, fn, ctx, e);
}

typedef struct fs__ledger_cb {
    fed_lalert_fn fn;
    void *ctx;
} fs__ledger_cb;

static int fs__ledger_entry(store *st, const char *key, const redisReply *en,
                            void *arg, err_t *e)
{
    const fs__ledger_cb *c = arg;
    const redisReply *f, *kind, *ref, *msg;
    store_pos p;
    int rc = st_entry(st, key, en, &f, e);
    if (rc < 0 || store_pos_parse(en->element[0]->str, &p) < 0)
        return rc < 0 ? rc : err_set(e, ERR_IO, "redis %s: %s: bad stream "
                                     "id", st->url, key);
    kind = st_field(f, "kind"), ref = st_field(f, "ref");
    msg = st_field(f, "msg");
    return c->fn(c->ctx, p, kind ? kind->str : "", ref ? ref->str : "",
                 msg ? msg->str : "", e);
}

int fed_store_ledger_alerts(store *st, store_pos after, size_t count,
                            fed_lalert_fn fn, void *ctx, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, "alerts", NULL, e);
    fs__ledger_cb c = {fn, ctx};
    return st_xrange_each(st, key, after, count, fs__ledger_entry, &c, e);
}

int fed_store_counted(store *st, const char *const *fields, size_t n,
                      store_pos pos, err_t *e)
{
    char kc[ST_KEY_MAX], kp[ST_KEY_MAX], id[STORE_ID_MAX];
    if (n > FS_LEDGER_BATCH)
        return err_set(e, ERR_USAGE, "fed counts: %zu fields, %d at most", n,
                       FS_LEDGER_BATCH);
    st_key(st, kc, "fed:counts", NULL, e);
    st_key(st, kp, "fed", "apos", e);
    store_pos_format(pos, id);
    st_args a;
    fs__eval(&a, "EVAL fed_counted", fs__lua_counted, "2");
    st_arg_s(&a, kc), st_arg_s(&a, kp), st_arg_s(&a, id);
    for (size_t i = 0; i < n; i++)
        st_arg_s(&a, fields[i]);
    long long got;
    return fs__int(st, &a, &got, e);
}

/* ---- the ledger ---- */

typedef struct fs_refs {
    store_mv_ref_fn fn;
    void *ctx;
} fs_refs;

static int fs__ref(void *ctx, const char *s, size_t n, err_t *e)
{
    fs_refs *r = ctx;
    (void)n;
    return r->fn(r->ctx, s, 0, e);
}

int fed_store_recent(store *st, size_t count, store_mv_ref_fn fn, void *ctx,
                     err_t *e)
{
    char key[ST_KEY_MAX], last[24];
    st_key(st, key, "mv", "all", e);
    snprintf(last, sizeof last, "%lld", (long long)(count ? count : 1) - 1);
    st_args a = {0};
    st_arg_s(&a, "ZREVRANGE"), st_arg_s(&a, key), st_arg_s(&a, "0");
    st_arg_s(&a, last);
    fs_refs r = {fn, ctx};
    return fs__strings(st, &a, fs__ref, &r, e);
}

int64_t fed_store_phase_count(store *st, const char *phase, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = phase ? st_key(st, key, "mv:phase", phase, e)
                   : st_key(st, key, "mv", "all", e);
    if (rc)
        return rc;
    return st_count(st, phase ? "SCARD" : "ZCARD", key, e);
}
