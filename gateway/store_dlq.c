/* store_dlq: the node's dead letters, one stream (v1:dlq). */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- dead letters ---- */

int store_dlq_add(store *st, const char *reason, const char *where,
                  const void *frame, size_t n, char id_out[STORE_ID_MAX],
                  err_t *e)
{
    char key[ST_KEY_MAX], at[24];
    st_key(st, key, "dlq", NULL, e);
    snprintf(at, sizeof at, "%lld", (long long)st_now_ms());
    st_args a = {0};
    st_arg_s(&a, "XADD"), st_arg_s(&a, key), st_arg_s(&a, "*");
    st_arg_s(&a, "v"), st_arg_s(&a, "1"), st_arg_s(&a, "reason"), st_arg_s(&a, reason);
    st_arg_s(&a, "where"), st_arg_s(&a, where), st_arg_s(&a, "at"), st_arg_s(&a, at);
    st_arg_s(&a, "frame"), st_arg_b(&a, frame, n);
    redisReply *r;
    int rc = st_cmd(st, &a, REDIS_REPLY_STRING, &r, e);
    if (rc < 0)
        return rc;
    rc = st_copy_id(st, r, id_out, e);
    freeReplyObject(r);
    return rc;
}

int64_t store_dlq_len(store *st, err_t *e)
{
    return st_xlen(st, "dlq", NULL, e);
}

/* One dead letter out of [id, [field, value, ...]]. */
static int st_dlq_entry(store *st, const redisReply *en, store_dlq_entry *d,
                        err_t *e)
{
    if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
        en->element[0]->type != REDIS_REPLY_STRING)
        return err_set(e, ERR_IO, "redis %s: dlq: malformed entry", st->url);
    const redisReply *f = en->element[1], *fr = st_field(f, "frame"),
                     *re = st_field(f, "reason"), *wh = st_field(f, "where"),
                     *at = st_field(f, "at");
    if (!fr || !re || !wh || !at)
        return err_set(e, ERR_INVALID, "redis %s: dlq entry %s: a field of "
                       "v1 is missing", st->url, en->element[0]->str);
    *d = (store_dlq_entry){en->element[0]->str, re->str, wh->str,
                           strtoll(at->str, NULL, 10), fr->str, fr->len};
    return 0;
}

/* XRANGE over the DLQ from lo to hi. */
static int st_dlq_range(store *st, const char *lo, const char *hi,
                        size_t count, redisReply **out, err_t *e)
{
    char key[ST_KEY_MAX], cnt[24];
    st_key(st, key, "dlq", NULL, e);
    snprintf(cnt, sizeof cnt, "%zu", count ? count : 1);
    st_args a = {0};
    st_arg_s(&a, "XRANGE"), st_arg_s(&a, key), st_arg_s(&a, lo), st_arg_s(&a, hi);
    st_arg_s(&a, "COUNT"), st_arg_s(&a, cnt);
    return st_cmd(st, &a, REDIS_REPLY_ARRAY, out, e);
}

int store_dlq_list(store *st, size_t count, store_dlq_fn fn, void *ctx,
                   err_t *e)
{
    redisReply *r;
    int rc = st_dlq_range(st, "-", "+", count, &r, e), n = 0;
    for (size_t i = 0; rc == 0 && i < r->elements; i++, n++) {
        store_dlq_entry d;
        if ((rc = st_dlq_entry(st, r->element[i], &d, e)) == 0 &&
            (rc = fn(ctx, &d, e)) < 0)
            err_wrap(e, "dlq entry %s", d.id);
    }
    if (r)
        freeReplyObject(r);
    return rc < 0 ? rc : n;
}

int store_dlq_get(store *st, const char *id, buf_t *frame, err_t *e)
{
    redisReply *r;
    int rc = st_dlq_range(st, id, id, 1, &r, e);
    if (rc < 0)
        return rc;
    store_dlq_entry d;
    if (r->elements == 0)
        rc = err_set(e, ERR_NOTFOUND, "dlq entry %s: not found", id);
    else if ((rc = st_dlq_entry(st, r->element[0], &d, e)) == 0 &&
             buf_add(frame, d.frame, d.n) < 0)
        rc = err_set(e, ERR_TOOBIG, "dlq entry %s: frame of %zu bytes does "
                     "not fit the buffer", id, d.n);
    freeReplyObject(r);
    return rc;
}

int store_dlq_del(store *st, const char *id, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, "dlq", NULL, e);
    st_args a = {0};
    st_arg_s(&a, "XDEL"), st_arg_s(&a, key), st_arg_s(&a, id);
    redisReply *r;
    int rc = st_cmd(st, &a, REDIS_REPLY_INTEGER, &r, e);
    if (rc < 0)
        return rc;
    if (r->integer == 0)
        rc = err_set(e, ERR_NOTFOUND, "dlq entry %s: not found", id);
    freeReplyObject(r);
    return rc;
}
