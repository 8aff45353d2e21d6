/* store_inbox: the standalone inbox dedupe (docs/protocol.md section 7);
 * the node applies the same rule inside its link script (store_link.c). */
#include "store_int.h"

#include <stdio.h>
#include <string.h>

/* KEYS[1] seen key; ARGV digest, receipt, ttl ms */
static const st_script st_lua_inbox = {ST_LUA_INBOX,
    "local v = redis.call('HMGET', KEYS[1], 'digest', 'receipt')\n"
    "if v[1] then return {1, v[1], v[2] or ''} end\n"
    "redis.call('HSET', KEYS[1], 'v', '1', 'digest', ARGV[1],"
    " 'receipt', ARGV[2])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
    "return {0}\n"};

/* ---- inbox dedupe ---- */

/* Reply [1, digest, receipt]: the id was held; compare and hand back. */
static int st_inbox_held(store *st, const char *msg_id, const redisReply *r,
                         const unsigned char *digest, buf_t *orig, err_t *e)
{
    if (r->elements != 3 || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[2]->type != REDIS_REPLY_STRING)
        return err_set(e, ERR_IO, "redis %s: inbox %s: malformed reply",
                       st->url, msg_id);
    const redisReply *d = r->element[1], *rc = r->element[2];
    if (d->len != STORE_DIGEST_LEN || memcmp(d->str, digest, d->len) != 0)
        return err_set(e, ERR_INVALID, "inbox %s: id reuse with a different "
                       "payload", msg_id);
    if (orig && rc->len && buf_add(orig, rc->str, rc->len) < 0)
        return err_set(e, ERR_TOOBIG, "inbox %s: original receipt (%zu "
                       "bytes) does not fit the buffer", msg_id,
                       (size_t)rc->len);
    return 0;
}

int store_inbox_apply(store *st, const char *msg_id,
                      const unsigned char digest[STORE_DIGEST_LEN],
                      const void *receipt, size_t n, int64_t ttl_ms,
                      int *dup, buf_t *original_receipt, err_t *e)
{
    char key[ST_KEY_MAX], ttl[24];
    int rc = st_key(st, key, "seen", msg_id, e);
    if (rc == 0 && ttl_ms < 1)
        rc = err_set(e, ERR_INVALID, "inbox %s: ttl %lld ms must be "
                     "positive", msg_id, (long long)ttl_ms);
    if (rc < 0)
        return rc;
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
    st_args a = {.what = key};
    st_arg_s(&a, "EVALSHA"), st_arg_s(&a, ""), st_arg_s(&a, "1"), st_arg_s(&a, key);
    st_arg_b(&a, digest, STORE_DIGEST_LEN), st_arg_b(&a, receipt, n);
    st_arg_s(&a, ttl);
    redisReply *r;
    if ((rc = st_eval(st, &st_lua_inbox, &a, &r, e)) < 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER)
        rc = err_set(e, ERR_IO, "redis %s: inbox %s: malformed reply",
                     st->url, msg_id);
    else if ((*dup = (int)r->element[0]->integer) == 1)
        rc = st_inbox_held(st, msg_id, r, digest, original_receipt, e);
    freeReplyObject(r);
    return rc;
}

