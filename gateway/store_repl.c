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

/* ---- INFO replication text ---- */

void store_repl_str(const char *info, const char *name, char *out,
                    size_t cap)
{
    size_t n = strlen(name);
    out[0] = '\0';
    for (const char *p = info; p && *p; p = strchr(p, '\n')) {
        p += *p == '\n';
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            size_t len = strcspn(p + n + 1, "\r\n");
            snprintf(out, cap, "%.*s", (int)len, p + n + 1);
            return;
        }
    }
}

int64_t store_repl_num(const char *info, const char *name)
{
    char v[32], *end;
    store_repl_str(info, name, v, sizeof v);
    long long x = strtoll(v, &end, 10);
    return v[0] && *end == '\0' ? (int64_t)x : -1;
}

/* "key=value" of a "slaveN:ip=...,port=...,state=...,offset=...,lag=..."
 * line (ending at eol) into out. */
static void repl__kv(const char *line, const char *eol, const char *key,
                     char *out, size_t cap)
{
    size_t n = strlen(key);
    out[0] = '\0';
    for (const char *p = line; p && p < eol; p = strchr(p, ',')) {
        p += *p == ',';
        if (strncmp(p, key, n) == 0 && p[n] == '=') {
            size_t len = strcspn(p + n + 1, ",\r\n");
            snprintf(out, cap, "%.*s", (int)len, p + n + 1);
            return;
        }
    }
}

static void repl__replica(const char *line, store_repl_replica *r)
{
    const char *eol = line + strcspn(line, "\r\n");
    char ip[STORE_SENTINEL_HOST], port[16], num[32];
    repl__kv(line, eol, "ip", ip, sizeof ip);
    repl__kv(line, eol, "port", port, sizeof port);
    snprintf(r->addr, sizeof r->addr, "%s:%s", ip, port);
    repl__kv(line, eol, "state", r->state, sizeof r->state);
    repl__kv(line, eol, "offset", num, sizeof num);
    r->offset = num[0] ? strtoll(num, NULL, 10) : -1;
    repl__kv(line, eol, "lag", num, sizeof num);
    r->lag_s = num[0] ? strtoll(num, NULL, 10) : -1;
}

size_t store_repl_replicas(const char *info, store_repl_replica *out,
                           size_t max)
{
    size_t k = 0;
    const char *p = info;
    while (k < max && (p = strstr(p, "\nslave")) != NULL) {
        p++;
        size_t d = strspn(p + 5, "0123456789");
        if (d > 0 && p[5 + d] == ':')
            repl__replica(p + 6 + d, &out[k++]);
    }
    return k;
}

/* The replicas online and heard from within STORE_REPL_FRESH_S (a replica
 * cut off is still "connected" until repl-timeout, 60 s by default), and
 * the lowest offset among those. */
static int64_t repl__fresh(const char *info, int64_t *lowest)
{
    store_repl_replica r[STORE_REPL_MAX];
    size_t n = store_repl_replicas(info, r, STORE_REPL_MAX);
    int64_t k = 0, lo = -1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(r[i].state, "online") || r[i].offset < 0 ||
            r[i].lag_s < 0 || r[i].lag_s > STORE_REPL_FRESH_S)
            continue;
        lo = lo < 0 || r[i].offset < lo ? r[i].offset : lo;
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
    out->offset = store_repl_num(t, "master_repl_offset");
    int64_t lo;
    out->replicas = repl__fresh(t, &lo);
    out->lag_bytes = lo >= 0 && out->offset >= lo ? out->offset - lo : 0;
    freeReplyObject(r);
    return 0;
}
