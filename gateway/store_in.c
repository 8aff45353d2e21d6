/* store_in: reading what the node keeps for others to look at: the records
 * delivered to this node (stream v1:in, written by the link script) and
 * the per-peer link status hashes eportctl shows. */
#include "store_int.h"

#include <stdio.h>
#include <string.h>

typedef struct st__in_cb {
    store_in_fn fn;
    void *ctx;
} st__in_cb;

/* One XRANGE entry of v1:in for fn. */
static int st_in_entry(store *st, const char *key, const redisReply *en,
                       void *arg, err_t *e)
{
    const st__in_cb *c = arg;
    const redisReply *fields, *f, *id, *origin;
    store_pos p;
    int rc = st_entry(st, key, en, &fields, e);
    if (rc < 0)
        return rc;
    const char *sid = en->element[0]->str;
    if (store_pos_parse(sid, &p) < 0)
        return err_set(e, ERR_IO, "redis %s: %s: bad stream id %s", st->url,
                       key, sid);
    if (!(f = st_field(fields, "f")) || !(id = st_field(fields, "id")) ||
        !(origin = st_field(fields, "origin")))
        return err_set(e, ERR_INVALID, "redis %s: %s entry %s: a field of "
                       "v1 is missing", st->url, key, sid);
    if (c->fn(c->ctx, p, id->str, origin->str, f->str, f->len, e) < 0)
        return err_wrap(e, "%s entry %s", key, sid);
    return 0;
}

int st_in_after(store *st, const char *kind, store_pos after, size_t count,
                store_in_fn fn, void *ctx, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, kind, NULL, e);
    st__in_cb c = {fn, ctx};
    return st_xrange_each(st, key, after, count, st_in_entry, &c, e);
}

int store_in_after(store *st, store_pos after, size_t count, store_in_fn fn,
                   void *ctx, err_t *e)
{
    return st_in_after(st, "in", after, count, fn, ctx, e);
}

int store_mvin_after(store *st, store_pos after, size_t count,
                     store_in_fn fn, void *ctx, err_t *e)
{
    return st_in_after(st, "mvin", after, count, fn, ctx, e);
}

int64_t store_in_len(store *st, err_t *e)
{
    return st_xlen(st, "in", NULL, e);
}

/* ---- peer link status ---- */

int store_peer_status_set(store *st, const char *peer, const char *const *kv,
                          size_t nkv, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "peer", peer, e);
    if (rc < 0)
        return rc;
    if (nkv % 2 || nkv > STORE_KV_MAX)
        return err_set(e, ERR_INVALID, "redis %s: %s: %zu strings, want an "
                       "even number up to %d", st->url, key, nkv,
                       STORE_KV_MAX);
    st_args a = {0};
    st_arg_s(&a, "HSET"), st_arg_s(&a, key), st_arg_s(&a, "v");
    st_arg_s(&a, "1");
    for (size_t i = 0; i < nkv; i++) {
        if (!kv[i])
            return err_set(e, ERR_INVALID, "redis %s: %s: string %zu is "
                           "NULL", st->url, key, i);
        st_arg_s(&a, kv[i]);
    }
    redisReply *r;
    if ((rc = st_cmd(st, &a, REDIS_REPLY_INTEGER, &r, e)) < 0)
        return rc;
    freeReplyObject(r);
    return 0;
}

int store_peer_status_get(store *st, const char *peer, store_kv_fn fn,
                          void *ctx, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "peer", peer, e), n = 0;
    if (rc < 0)
        return rc;
    st_args a = {0};
    st_arg_s(&a, "HGETALL"), st_arg_s(&a, key);
    redisReply *r;
    if ((rc = st_cmd(st, &a, REDIS_REPLY_ARRAY, &r, e)) < 0)
        return rc;
    for (size_t i = 0; rc == 0 && i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            rc = err_set(e, ERR_IO, "redis %s: %s: malformed reply", st->url,
                         key);
        else if (strcmp(k->str, "v") == 0)
            continue;
        else if ((rc = fn(ctx, k->str, v->str, e)) < 0)
            err_wrap(e, "%s field %s", key, k->str);
        else
            n++;
    }
    freeReplyObject(r);
    return rc < 0 ? rc : n;
}
