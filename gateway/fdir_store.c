/* The last good federation directory in the node's Redis (hash v1:fdir:
 * v, serial, bytes, sig), so that a node restarting while the national
 * center is out of reach starts on it, and so that a rolled-back copy is
 * refused across restarts too. The copy is verified again on every load:
 * Redis is not trusted with the directory, only with keeping it.
 *
 * These two functions use the store's internals (store_int.h) the way
 * store_*.c do; they belong with the store and may move there. */
#include "fdir.h"
#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>

int fdir_cache_save(store *st, const fdir_doc *d, err_t *e)
{
    char key[ST_KEY_MAX], serial[24];
    int rc = st_key(st, key, "fdir", NULL, e);
    if (rc < 0)
        return rc;
    snprintf(serial, sizeof serial, "%" PRIu64, d->serial);
    st_args a = {0};
    st_arg_s(&a, "HSET"), st_arg_s(&a, key);
    st_arg_s(&a, "v"), st_arg_s(&a, "1");
    st_arg_s(&a, "serial"), st_arg_s(&a, serial);
    st_arg_s(&a, "bytes"), st_arg_b(&a, d->bytes, d->nbytes);
    st_arg_s(&a, "sig"), st_arg_b(&a, d->sig, d->nsig);
    redisReply *r;
    if ((rc = st_cmd(st, &a, REDIS_REPLY_INTEGER, &r, e)) < 0)
        return rc;
    freeReplyObject(r);
    return 0;
}

static int fdir__copy(const redisReply *r, buf_t *out, const char *key,
                      err_t *e)
{
    buf_reset(out);
    if (buf_add(out, r->str, r->len) < 0)
        return err_set(e, ERR_TOOBIG, "%s: %zu bytes, more than %zu", key,
                       (size_t)r->len, out->max);
    return 0;
}

int fdir_cache_load(store *st, buf_t *bytes, buf_t *sig, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "fdir", NULL, e);
    if (rc < 0)
        return rc;
    st_args a = {0};
    st_arg_s(&a, "HMGET"), st_arg_s(&a, key);
    st_arg_s(&a, "bytes"), st_arg_s(&a, "sig");
    redisReply *r;
    if ((rc = st_cmd(st, &a, REDIS_REPLY_ARRAY, &r, e)) < 0)
        return rc;
    if (r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING)
        rc = err_set(e, ERR_NOTFOUND, "redis %s: no federation directory "
                     "kept (%s)", st->url, key);
    if (rc == 0)
        rc = fdir__copy(r->element[0], bytes, key, e);
    if (rc == 0)
        rc = fdir__copy(r->element[1], sig, key, e);
    freeReplyObject(r);
    return rc;
}
