/* store_fan: see store_fan.h. Two scripts, so that a state and its
 * attempt count, and an answer and the copy it answers, never disagree
 * whichever instance of the node writes them. */
#include "store_fan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* KEYS fan; ARGV agency, by, state, mapping, conn, missing, now, ttl,
 * kind. 1 when by sent it already, else 0. */
const st_script st_lua_fan_send = {ST_LUA_FAN_SEND,
    "local a = ARGV[1]\n"
    "if redis.call('HGET', KEYS[1], a .. ':by') == ARGV[2] then return 1 end\n"
    "redis.call('HSETNX', KEYS[1], 'at', ARGV[7])\n"
    "redis.call('HINCRBY', KEYS[1], a .. ':attempt', 1)\n"
    "redis.call('HSET', KEYS[1], 'v', '1', 'kind', ARGV[9], a .. ':by',"
    " ARGV[2], a .. ':state', ARGV[3], a .. ':mapping', ARGV[4], a .. ':conn',"
    " ARGV[5], a .. ':missing', ARGV[6], a .. ':text', '', a .. ':at',"
    " ARGV[7])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[8])\n"
    "return 0\n"};

/* KEYS fan; ARGV agency, state, text, at. -1 when nothing was sent. */
const st_script st_lua_fan_answer = {ST_LUA_FAN_ANSWER,
    "local a = ARGV[1]\n"
    "if redis.call('HEXISTS', KEYS[1], a .. ':state') == 0 then return -1"
    " end\n"
    "redis.call('HSET', KEYS[1], a .. ':state', ARGV[2], a .. ':text',"
    " ARGV[3], a .. ':at', ARGV[4])\n"
    "return 0\n"};

static int fan__int(store *st, const char *key, redisReply *r, err_t *e)
{
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -9;
    freeReplyObject(r);
    if (v == -9)
        return err_set(e, ERR_IO, "redis %s: %s: unexpected reply", st->url,
                       key);
    return (int)v;
}

int store_fan_send(store *st, const char *id, const char *kind,
                   const store_fan_ag *a, const char *by, err_t *e)
{
    char key[ST_KEY_MAX], now[24], ttl[24];
    int rc = st_key(st, key, "fan", id, e);
    if (rc < 0)
        return rc;
    snprintf(now, sizeof now, "%lld", (long long)st_now_ms());
    snprintf(ttl, sizeof ttl, "%lld", 7LL * 86400000);
    st_args x = {.what = key};
    st_arg_s(&x, "EVALSHA"), st_arg_s(&x, ""), st_arg_s(&x, "1");
    st_arg_s(&x, key), st_arg_s(&x, a->agency), st_arg_s(&x, by);
    st_arg_s(&x, a->state), st_arg_s(&x, a->mapping), st_arg_s(&x, a->conn);
    st_arg_s(&x, a->missing), st_arg_s(&x, now), st_arg_s(&x, ttl);
    st_arg_s(&x, kind);
    redisReply *r;
    if ((rc = st_eval(st, &st_lua_fan_send, &x, &r, e)) < 0)
        return rc;
    return fan__int(st, key, r, e);
}

int store_fan_answer(store *st, const char *id, const char *agency,
                     const char *state, const char *text, int64_t at_ms,
                     err_t *e)
{
    char key[ST_KEY_MAX], at[24];
    int rc = st_key(st, key, "fan", id, e);
    if (rc < 0)
        return rc;
    snprintf(at, sizeof at, "%lld", (long long)at_ms);
    st_args x = {.what = key};
    st_arg_s(&x, "EVALSHA"), st_arg_s(&x, ""), st_arg_s(&x, "1");
    st_arg_s(&x, key), st_arg_s(&x, agency), st_arg_s(&x, state);
    st_arg_s(&x, text ? text : ""), st_arg_s(&x, at);
    redisReply *r;
    if ((rc = st_eval(st, &st_lua_fan_answer, &x, &r, e)) < 0)
        return rc;
    if ((rc = fan__int(st, key, r, e)) == -1)
        return err_set(e, ERR_NOTFOUND, "submission %s: nothing was sent to "
                       "agency %s", id, agency);
    return rc;
}

/* The agency named by field f ("A:state" and the like), made or found. */
static store_fan_ag *fan__slot(store_fan_ag *a, size_t max, size_t *n,
                               const char *f, size_t alen)
{
    for (size_t i = 0; i < *n; i++)
        if (strlen(a[i].agency) == alen && !strncmp(a[i].agency, f, alen))
            return &a[i];
    if (*n == max || alen >= sizeof a->agency)
        return NULL;
    store_fan_ag *s = &a[(*n)++];
    memset(s, 0, sizeof *s);
    memcpy(s->agency, f, alen);
    return s;
}

static void fan__field(store_fan_ag *s, const char *sub, const char *v)
{
    struct { const char *name; char *to; size_t cap; } t[] = {
        {"state", s->state, sizeof s->state},
        {"mapping", s->mapping, sizeof s->mapping},
        {"conn", s->conn, sizeof s->conn},
        {"missing", s->missing, sizeof s->missing},
        {"text", s->text, sizeof s->text}, {"by", s->by, sizeof s->by}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(sub, t[i].name))
            snprintf(t[i].to, t[i].cap, "%s", v);
    if (!strcmp(sub, "at"))
        s->at_ms = strtoll(v, NULL, 10);
    else if (!strcmp(sub, "attempt"))
        s->attempt = strtoll(v, NULL, 10);
}

static int fan__cmp(const void *x, const void *y)
{
    return strcmp(((const store_fan_ag *)x)->agency,
                  ((const store_fan_ag *)y)->agency);
}

int store_fan_get(store *st, const char *id, char kind[24], store_fan_ag *a,
                  size_t max, size_t *n, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "fan", id, e);
    *n = 0, kind[0] = '\0';
    if (rc < 0)
        return rc;
    st_args x = {0};
    st_arg_s(&x, "HGETALL"), st_arg_s(&x, key);
    redisReply *r;
    if ((rc = st_cmd(st, &x, REDIS_REPLY_ARRAY, &r, e)) < 0)
        return rc;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *f = r->element[i]->str, *v = r->element[i + 1]->str;
        const char *colon = f ? strchr(f, ':') : NULL;
        store_fan_ag *s = colon && v ? fan__slot(a, max, n, f,
                                                 (size_t)(colon - f)) : NULL;
        if (s)
            fan__field(s, colon + 1, v);
        else if (f && v && !strcmp(f, "kind"))
            snprintf(kind, 24, "%s", v);
    }
    rc = r->elements ? 0 : err_set(e, ERR_NOTFOUND, "message %s: not fanned "
                                   "out (or more than 7 days ago)", id);
    freeReplyObject(r);
    qsort(a, *n, sizeof *a, fan__cmp);
    return rc;
}

const char *store_fan_combined(const store_fan_ag *a, size_t n)
{
    static const char *const order[] = {"rejected", "incomplete", "held",
        "inspection_required", "sent", "pending", "accepted", "released"};
    size_t all = sizeof order / sizeof *order, best = all - 1;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < all && strcmp(a[i].state, order[j]))
            j++;
        j = j == all ? 5 : j; /* a state of no list: still pending */
        best = j < best ? j : best;
    }
    return n == 0 ? "none" : !strcmp(order[best], "sent") ? "pending"
                                                          : order[best];
}
