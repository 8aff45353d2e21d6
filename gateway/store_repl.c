/* store_repl: replication barrier and the primary's view of its replicas
 * (see store_repl.h). */
#include "store_repl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

int store_repl_barrier(store *st, int64_t replicas, int64_t timeout_ms,
                       err_t *e)
{
    if (replicas <= 0)
        return 0;
    char key[ST_KEY_MAX];
    st_key(st, key, "barrier", NULL, e);
    st_args a = {0};
    st_arg_s(&a, "INCR"), st_arg_s(&a, key);
    redisReply *r;
    int rc = st_cmd(st, &a, REDIS_REPLY_INTEGER, &r, e);
    if (rc < 0)
        return rc;
    freeReplyObject(r);
    rc = store_wait_replicas(st, replicas, timeout_ms, e);
    return rc < 0 ? rc : 0;
}

/* "name:value" of INFO text, the value as an integer; -1 when absent. */
static int64_t repl__num(const char *info, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = info; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, name, n) == 0 && p[n] == ':')
            return strtoll(p + n + 1, NULL, 10);
    return -1;
}

/* The slaveN:ip=...,state=online,offset=...,lag=... lines: how many are
 * online and heard from within STORE_REPL_FRESH_S (a replica cut off is
 * still "connected" until repl-timeout, 60 s by default), and the lowest
 * offset among those. */
static int64_t repl__replicas(const char *info, int64_t *lowest)
{
    int64_t k = 0, lo = -1;
    for (const char *p = strstr(info, "\nslave"); p;
         p = strstr(p + 1, "\nslave")) {
        const char *eol = strchr(p + 1, '\n');
        const char *st = strstr(p, ",state=online"), *o = strstr(p, ",offset="),
                   *lag = strstr(p, ",lag=");
        if (!st || !o || !lag || (eol && (st > eol || o > eol || lag > eol)))
            continue;
        if (strtoll(lag + 5, NULL, 10) > STORE_REPL_FRESH_S)
            continue;
        int64_t v = strtoll(o + 8, NULL, 10);
        lo = lo < 0 || v < lo ? v : lo;
        k++;
    }
    *lowest = lo;
    return k;
}

int store_repl_info_get(store *st, store_repl_info *out, err_t *e)
{
    memset(out, 0, sizeof *out);
    st_args a = {.what = "INFO replication"};
    st_arg_s(&a, "INFO"), st_arg_s(&a, "replication");
    redisReply *r;
    int rc = st_cmd(st, &a, -1, &r, e);
    if (rc < 0)
        return rc;
    const char *t = r->type == REDIS_REPLY_STRING ? r->str : "";
    out->primary = strstr(t, "role:master") != NULL;
    out->offset = repl__num(t, "master_repl_offset");
    int64_t lo;
    out->replicas = repl__replicas(t, &lo);
    out->lag_bytes = lo >= 0 && out->offset >= lo ? out->offset - lo : 0;
    freeReplyObject(r);
    return 0;
}
