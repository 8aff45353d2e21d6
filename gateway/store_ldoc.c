/* store_ldoc: transport records remembered for linking and the
 * references of local declarations (store_ldoc.h; docs/store.md, "Local
 * systems"). Plain commands and one pipelined MULTI: nothing here needs
 * a script, since every write is idempotent on its own. */
#include "store_ldoc.h"
#include "store_int.h"

#include <stdio.h>
#include <string.h>

#define LD_TTL_TEXT "2592000000" /* STORE_LDOC_TTL_MS */

_Static_assert(STORE_LDOC_TTL_MS == 2592000000LL, "LD_TTL_TEXT");
_Static_assert(STORE_LDOC_LINK_MAX + 1 < ST_ARGS_MAX, "MGET fits");

/* ---- remembering ---- */

/* Queues `cmd [key] [arg] [PX more]` and counts it; the first failure
 * sticks (and the store dropped the connection: no half MULTI runs). */
static void ld__queue(store *st, int *rc, int *n, const char *cmd,
                      const char *key, const void *arg, size_t len,
                      const char *more, err_t *e)
{
    st_args a = {0};
    st_arg_s(&a, cmd);
    if (key)
        st_arg_s(&a, key);
    if (arg)
        st_arg_b(&a, arg, len);
    if (more)
        st_arg_s(&a, "PX"), st_arg_s(&a, more);
    if (*rc == 0 && (*rc = st_pipe_add(st, &a, e)) == 0)
        (*n)++;
}

/* Reads n replies; the first error reply (or EXEC's nil) fails it. */
static int ld__replies(store *st, int n, const char *what, err_t *e)
{
    int rc = st_pipe_flush(st, what, e), bad = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        redisReply *r;
        if ((rc = st_pipe_reply(st, what, &r, e)) < 0)
            break;
        int err = r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_NIL;
        for (size_t k = 0; r->type == REDIS_REPLY_ARRAY && k < r->elements; k++)
            err |= r->element[k]->type == REDIS_REPLY_ERROR; /* in EXEC */
        if (err && !bad++)
            err_set(e, ERR_IO, "redis %s: %s: %s", st->url, what,
                    r->type == REDIS_REPLY_ERROR ? r->str
                                                 : "transaction refused");
        freeReplyObject(r);
    }
    return rc < 0 ? rc : bad ? ERR_IO : 0;
}

/* Queues one record's SET and its containers' SADD and PEXPIRE. */
static void ld__put_one(store *st, int *rc, int *n, const store_ldoc_rec *r,
                        err_t *e)
{
    char key[ST_KEY_MAX];
    if (*rc == 0)
        *rc = st_key(st, key, "ldoc", r->id, e);
    ld__queue(st, rc, n, "SET", key, r->rec, r->len, LD_TTL_TEXT, e);
    for (size_t i = 0; i < r->nctrs && i < STORE_LDOC_CTR_MAX; i++) {
        char ck[ST_KEY_MAX];
        if (!st_name_ok(r->ctrs[i]))
            continue; /* not a container number a key can hold */
        st_key(st, ck, "ldoc:c", r->ctrs[i], e);
        ld__queue(st, rc, n, "SADD", ck, r->id, strlen(r->id), NULL, e);
        ld__queue(st, rc, n, "PEXPIRE", ck, LD_TTL_TEXT, strlen(LD_TTL_TEXT),
                  NULL, e);
    }
}

int store_ldoc_put(store *st, const store_ldoc_rec *recs, size_t nrecs,
                   err_t *e)
{
    char what[ST_KEY_MAX + 32];
    int rc = 0, n = 0;
    if (!nrecs)
        return 0;
    snprintf(what, sizeof what, "MULTI SET %sv1:ldoc:%s (%zu)", st->prefix,
             recs[0].id, nrecs);
    ld__queue(st, &rc, &n, "MULTI", NULL, NULL, 0, NULL, e);
    for (size_t i = 0; i < nrecs; i++)
        ld__put_one(st, &rc, &n, &recs[i], e);
    ld__queue(st, &rc, &n, "EXEC", NULL, NULL, 0, NULL, e);
    return rc < 0 ? rc : ld__replies(st, n, what, e);
}

/* ---- linking ---- */

/* SREM ck of the ids whose record is gone (forgotten or expired), so the
 * index does not keep growing with them; a failure only costs a retry of
 * this cleanup the next time. */
static void ld__drop(store *st, const char *ck, const char **gone, size_t n)
{
    st_args a = {0};
    st_arg_s(&a, "SREM"), st_arg_s(&a, ck);
    for (size_t i = 0; i < n; i++)
        st_arg_s(&a, gone[i]);
    redisReply *r;
    err_t e;
    if (n && st_cmd(st, &a, -1, &r, &e) == 0)
        freeReplyObject(r);
}

/* MGET of the records of ids (an SMEMBERS reply), fn for each found. */
static int ld__records(store *st, const char *ck, const redisReply *ids,
                       store_ldoc_fn fn, void *ctx, err_t *e)
{
    char keys[STORE_LDOC_LINK_MAX][ST_KEY_MAX];
    const char *gone[STORE_LDOC_LINK_MAX];
    size_t k = 0, ngone = 0;
    st_args a = {0};
    st_arg_s(&a, "MGET");
    for (size_t i = 0; i < ids->elements && k < STORE_LDOC_LINK_MAX; i++)
        if (ids->element[i]->type == REDIS_REPLY_STRING &&
            st_key(st, keys[k], "ldoc", ids->element[i]->str, e) == 0)
            st_arg_s(&a, keys[k++]);
    redisReply *r;
    int rc = k ? st_cmd(st, &a, REDIS_REPLY_ARRAY, &r, e) : 0, got = 0;
    for (size_t i = 0; rc == 0 && k && i < r->elements && i < k; i++) {
        const redisReply *v = r->element[i];
        const char *lid = strrchr(keys[i], ':') + 1;
        if (v->type != REDIS_REPLY_STRING)
            gone[ngone++] = lid;
        else if ((rc = fn(ctx, lid, v->str, v->len, e)) == 0)
            got++;
    }
    if (k)
        freeReplyObject(r);
    ld__drop(st, ck, gone, rc == 0 ? ngone : 0);
    return rc < 0 ? rc : got;
}

int store_ldoc_by_ctr(store *st, const char *ctr, store_ldoc_fn fn,
                      void *ctx, err_t *e)
{
    char ck[ST_KEY_MAX];
    if (!st_name_ok(ctr))
        return 0; /* never indexed */
    int rc = st_key(st, ck, "ldoc:c", ctr, e);
    st_args a = {0};
    st_arg_s(&a, "SMEMBERS"), st_arg_s(&a, ck);
    redisReply *ids;
    if (rc == 0)
        rc = st_cmd(st, &a, REDIS_REPLY_ARRAY, &ids, e);
    if (rc < 0)
        return rc;
    rc = ld__records(st, ck, ids, fn, ctx, e);
    freeReplyObject(ids);
    return rc;
}

int store_ldoc_forget(store *st, const char *const *ids, size_t n, err_t *e)
{
    char keys[ST_ARGS_MAX][ST_KEY_MAX];
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n;) {
        st_args a = {0};
        st_arg_s(&a, "DEL");
        for (int k = 0; i < n && k < ST_ARGS_MAX - 1; i++)
            if (st_key(st, keys[k], "ldoc", ids[i], e) == 0)
                st_arg_s(&a, keys[k++]);
        redisReply *r;
        if (a.n > 1 && (rc = st_cmd(st, &a, REDIS_REPLY_INTEGER, &r, e)) == 0)
            freeReplyObject(r);
    }
    return rc;
}

/* ---- the references of local declarations ---- */

int store_ldecl_get(store *st, const char *id, char *ref, size_t cap,
                    err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "ldecl", id, e);
    st_args a = {0};
    st_arg_s(&a, "GET"), st_arg_s(&a, key);
    redisReply *r;
    if (rc == 0)
        rc = st_cmd(st, &a, -1, &r, e);
    if (rc < 0)
        return rc;
    if (r->type == REDIS_REPLY_STRING && r->len < cap)
        memcpy(ref, r->str, r->len + 1);
    else if (r->type == REDIS_REPLY_NIL)
        rc = err_set(e, ERR_NOTFOUND, "redis %s: GET %s: none", st->url, key);
    else
        rc = err_set(e, ERR_IO, "redis %s: GET %s: not a reference", st->url,
                     key);
    freeReplyObject(r);
    return rc;
}

int store_ldecl_claim(store *st, const char *id, char *ref, size_t cap,
                      err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "ldecl", id, e);
    st_args a = {0};
    st_arg_s(&a, "SET"), st_arg_s(&a, key), st_arg_s(&a, ref);
    st_arg_s(&a, "NX"), st_arg_s(&a, "PX"), st_arg_s(&a, LD_TTL_TEXT);
    redisReply *r;
    if (rc == 0)
        rc = st_cmd(st, &a, -1, &r, e);
    if (rc < 0)
        return rc;
    int had = r->type == REDIS_REPLY_NIL;
    freeReplyObject(r);
    if (!had)
        return 0;
    rc = store_ldecl_get(st, id, ref, cap, e);
    return rc < 0 ? rc : 1;
}
