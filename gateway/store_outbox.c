/* store_outbox: the per-peer outbox streams: appending, the consumer-group
 * reads of the first design, and the link sender's ordered reads after a
 * position and trims up to what the peer acknowledged. */
#include "store_int.h"

#include <stdio.h>
#include <string.h>

/* KEYS[1] stream; ARGV group, id */
static const st_script st_lua_ack = {ST_LUA_ACK,
    "local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "return n\n"};

/* Hands each entry of list ([id, [field, value, ...]] ...) to fn. Entries
 * deleted while pending come back without fields and are skipped. */
static int st_entries(store *st, const char *key, const redisReply *list,
                      store_entry_fn fn, void *ctx, err_t *e)
{
    int n = 0;
    for (size_t i = 0; list && i < list->elements; i++) {
        const redisReply *en = list->element[i], *fields;
        int rc = st_entry(st, key, en, &fields, e);
        if (rc < 0)
            return rc;
        if (!fields)
            continue;
        const redisReply *f = st_field(fields, "frame");
        if (!f)
            return err_set(e, ERR_INVALID, "redis %s: %s entry %s: no frame",
                           st->url, key, en->element[0]->str);
        if (fn(ctx, en->element[0]->str, f->str, f->len, e) < 0)
            return err_wrap(e, "%s entry %s", key, en->element[0]->str);
        n++;
    }
    return n;
}

/* ---- outbox ---- */

int store_outbox_add(store *st, const char *peer, const void *frame,
                     size_t n, char id_out[STORE_ID_MAX], err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "outbox", peer, e);
    if (rc < 0)
        return rc;
    /* no MAXLEN: an outbox entry is only ever removed by its ack */
    st_args a = {0};
    st_arg_s(&a, "XADD"), st_arg_s(&a, key), st_arg_s(&a, "*");
    st_arg_s(&a, "v"), st_arg_s(&a, "1"), st_arg_s(&a, "frame"), st_arg_b(&a, frame, n);
    redisReply *r;
    if ((rc = st_cmd(st, &a, REDIS_REPLY_STRING, &r, e)) < 0)
        return rc;
    rc = st_copy_id(st, r, id_out, e);
    freeReplyObject(r);
    return rc;
}

int store_outbox_group(store *st, const char *peer, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "outbox", peer, e);
    if (rc < 0)
        return rc;
    st_args a = {0};
    st_arg_s(&a, "XGROUP"), st_arg_s(&a, "CREATE"), st_arg_s(&a, key);
    st_arg_s(&a, ST_GROUP), st_arg_s(&a, "0"), st_arg_s(&a, "MKSTREAM");
    a.what = key;
    redisReply *r;
    if ((rc = st_raw(st, &a, &r, e)) < 0)
        return rc;
    /* another instance may have created it first: that is success */
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) == 0) {
        freeReplyObject(r);
        return 0;
    }
    if ((rc = st_check(st, &a, -1, &r, e)) == 0)
        freeReplyObject(r);
    return rc;
}

/* XREADGROUP reply: nil on timeout, else [[key, entries]]. */
static int st_read_reply(store *st, const char *key, const redisReply *r,
                         store_entry_fn fn, void *ctx, err_t *e)
{
    if (r->type == REDIS_REPLY_NIL || r->elements == 0)
        return 0;
    const redisReply *s = r->element[0];
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2)
        return err_set(e, ERR_IO, "redis %s: %s: malformed read reply",
                       st->url, key);
    return st_entries(st, key, s->element[1], fn, ctx, e);
}

int store_outbox_read(store *st, const char *peer, const char *consumer,
                      size_t count, int64_t block_ms, store_entry_fn fn,
                      void *ctx, err_t *e)
{
    char key[ST_KEY_MAX], cnt[24], blk[24];
    int rc = st_key(st, key, "outbox", peer, e);
    if (rc == 0 && !st_name_ok(consumer))
        rc = err_set(e, ERR_INVALID, "redis %s: bad consumer name", st->url);
    if (rc < 0)
        return rc;
    snprintf(cnt, sizeof cnt, "%zu", count ? count : 1);
    snprintf(blk, sizeof blk, "%lld", (long long)block_ms);
    st_args a = {.what = key};
    st_arg_s(&a, "XREADGROUP"), st_arg_s(&a, "GROUP"), st_arg_s(&a, ST_GROUP);
    st_arg_s(&a, consumer), st_arg_s(&a, "COUNT"), st_arg_s(&a, cnt);
    if (block_ms > 0)
        st_arg_s(&a, "BLOCK"), st_arg_s(&a, blk);
    st_arg_s(&a, "STREAMS"), st_arg_s(&a, key), st_arg_s(&a, ">");
    /* the wait must not count against the command timeout */
    if (block_ms > 0 && (rc = st_ready(st, e)) < 0)
        return rc;
    if (block_ms > 0)
        st_extend_timeout(st, block_ms);
    redisReply *r;
    rc = st_cmd(st, &a, -1, &r, e);
    st_extend_timeout(st, 0);
    if (rc < 0)
        return rc;
    rc = st_read_reply(st, key, r, fn, ctx, e);
    freeReplyObject(r);
    return rc;
}

int store_outbox_ack(store *st, const char *peer, const char *stream_id,
                     err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "outbox", peer, e);
    if (rc < 0)
        return rc;
    st_args a = {.what = key};
    st_arg_s(&a, "EVALSHA"), st_arg_s(&a, ""), st_arg_s(&a, "1"), st_arg_s(&a, key);
    st_arg_s(&a, ST_GROUP), st_arg_s(&a, stream_id);
    redisReply *r;
    if ((rc = st_eval(st, &st_lua_ack, &a, &r, e)) < 0)
        return rc;
    rc = r->type == REDIS_REPLY_INTEGER ? (int)r->integer
       : err_set(e, ERR_IO, "redis %s: ack %s: unexpected reply", st->url, key);
    freeReplyObject(r);
    return rc;
}

int store_outbox_claim(store *st, const char *peer, const char *consumer,
                       int64_t min_idle_ms, size_t count, store_entry_fn fn,
                       void *ctx, err_t *e)
{
    char key[ST_KEY_MAX], idle[24], cnt[24];
    int rc = st_key(st, key, "outbox", peer, e);
    if (rc == 0 && !st_name_ok(consumer))
        rc = err_set(e, ERR_INVALID, "redis %s: bad consumer name", st->url);
    if (rc < 0)
        return rc;
    snprintf(idle, sizeof idle, "%lld", (long long)min_idle_ms);
    snprintf(cnt, sizeof cnt, "%zu", count ? count : 1);
    st_args a = {.what = key};
    st_arg_s(&a, "XAUTOCLAIM"), st_arg_s(&a, key), st_arg_s(&a, ST_GROUP);
    st_arg_s(&a, consumer), st_arg_s(&a, idle), st_arg_s(&a, "0-0");
    st_arg_s(&a, "COUNT"), st_arg_s(&a, cnt);
    redisReply *r;
    if ((rc = st_cmd(st, &a, REDIS_REPLY_ARRAY, &r, e)) < 0)
        return rc;
    /* [next cursor, entries, (7.0+) deleted ids] */
    rc = r->elements < 2 ? err_set(e, ERR_IO, "redis %s: %s: malformed claim "
                                   "reply", st->url, key)
                         : st_entries(st, key, r->element[1], fn, ctx, e);
    freeReplyObject(r);
    return rc;
}

int64_t store_outbox_len(store *st, const char *peer, err_t *e)
{
    return st_xlen(st, "outbox", peer, e);
}


/* ---- the link sender ---- */

typedef struct st__pos_cb {
    store_pos_entry_fn fn;
    void *ctx;
} st__pos_cb;

/* One XRANGE entry of an outbox as (pos, frame) for fn. */
static int st_pos_entry(store *st, const char *key, const redisReply *en,
                        void *arg, err_t *e)
{
    const st__pos_cb *c = arg;
    const redisReply *fields, *f;
    store_pos p;
    int rc = st_entry(st, key, en, &fields, e);
    if (rc < 0)
        return rc;
    if (store_pos_parse(en->element[0]->str, &p) < 0)
        return err_set(e, ERR_IO, "redis %s: %s: bad stream id %s", st->url,
                       key, en->element[0]->str);
    if (!(f = st_field(fields, "frame")))
        return err_set(e, ERR_INVALID, "redis %s: %s entry %s: no frame",
                       st->url, key, en->element[0]->str);
    if ((rc = c->fn(c->ctx, p, f->str, f->len, e)) < 0)
        return err_wrap(e, "%s entry %s", key, en->element[0]->str);
    return 0;
}

int store_outbox_after(store *st, const char *peer, store_pos after,
                       size_t count, store_pos_entry_fn fn, void *ctx,
                       err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "outbox", peer, e);
    if (rc < 0)
        return rc;
    st__pos_cb c = {fn, ctx};
    return st_xrange_each(st, key, after, count, st_pos_entry, &c, e);
}

/* Every entry at or before upto goes: XTRIM MINID of the id just after
 * it (exact, so nothing at or after that id is touched). One command,
 * and no entry is read back, unlike an XRANGE and XDEL of the ids. */
int store_outbox_trim_upto(store *st, const char *peer, store_pos upto,
                           err_t *e)
{
    char key[ST_KEY_MAX], id[STORE_ID_MAX];
    int rc = st_key(st, key, "outbox", peer, e);
    if (rc < 0)
        return rc;
    int all = upto.ms == UINT64_MAX && upto.seq == UINT64_MAX;
    store_pos next = upto.seq == UINT64_MAX ? (store_pos){upto.ms + 1, 0}
                                            : (store_pos){upto.ms, upto.seq + 1};
    store_pos_format(next, id);
    st_args a = {.what = key};
    st_arg_s(&a, "XTRIM"), st_arg_s(&a, key);
    st_arg_s(&a, all ? "MAXLEN" : "MINID"), st_arg_s(&a, all ? "0" : id);
    redisReply *r;
    if ((rc = st_cmd(st, &a, REDIS_REPLY_INTEGER, &r, e)) < 0)
        return rc;
    rc = (int)r->integer;
    freeReplyObject(r);
    return rc;
}
