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

/* The lowest offset of slaveN:ip=...,offset=...,lag=... lines. */
static int64_t repl__min_replica_offset(const char *info)
{
    int64_t lo = -1;
    for (const char *p = strstr(info, "\nslave"); p; p = strstr(p + 1, "\nslave")) {
        const char *o = strstr(p, ",offset="), *eol = strchr(p + 1, '\n');
        if (!o || (eol && o > eol))
            continue;
        int64_t v = strtoll(o + 8, NULL, 10);
        lo = lo < 0 || v < lo ? v : lo;
    }
    return lo;
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
    out->replicas = repl__num(t, "connected_slaves");
    out->offset = repl__num(t, "master_repl_offset");
    int64_t lo = repl__min_replica_offset(t);
    out->lag_bytes = lo >= 0 && out->offset >= lo ? out->offset - lo : 0;
    out->replicas = out->replicas < 0 ? 0 : out->replicas;
    freeReplyObject(r);
    return 0;
}
