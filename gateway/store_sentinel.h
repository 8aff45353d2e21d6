/* store_sentinel: finds the current Redis primary through Redis Sentinel,
 * so that a store follows its primary across a failover. For a store URL
 * sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB], every (re)connect asks
 * the sentinels in turn (the one that answered last time first)
 * `SENTINEL get-master-addr-by-name MASTER`, connects to the address
 * named and keeps that connection only if `ROLE` says `master`: a stale
 * answer or a just-demoted primary is never written to. store.c's URL
 * parser and its connections (the store's own and the doorbell's) call
 * it; config_table.c checks redis.url with it. docs/store.md,
 * "Connection". */
#ifndef EPORT_STORE_SENTINEL_H
#define EPORT_STORE_SENTINEL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define STORE_SENTINEL_MAX 8        /* sentinels in one URL */
#define STORE_SENTINEL_MS 500       /* connect and command timeout of a
                                       sentinel */
#define STORE_SENTINEL_HOST 256     /* host buffers, NUL included */
#define STORE_SENTINEL_ADDR_MAX (STORE_SENTINEL_HOST + 8) /* "host:port" */
#define STORE_SENTINEL_FORM "sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB]"

typedef struct store_sentinel_at {
    char host[STORE_SENTINEL_HOST];
    int port;
} store_sentinel_at;

/* A parsed sentinel:// URL and what discovery remembers. */
typedef struct store_sentinel {
    store_sentinel_at at[STORE_SENTINEL_MAX];
    int n;                  /* sentinels in at, 1..STORE_SENTINEL_MAX */
    int good;               /* the one that last named a primary: asked
                               first next time */
    char master[65];        /* the Sentinel master name */
    int db;                 /* database to SELECT, 0 by default */
} store_sentinel;

struct redisContext;

/* 1 when url is of the sentinel:// form (well-formed or not), else 0. */
int store_sentinel_is(const char *url);

/* Checks and splits url into *out: 1-8 sentinels HOST:PORT (a host name
 * or IPv4 address, port 1-65535), MASTER 1-64 of A-Z a-z 0-9 . _ -, DB
 * 0-65535. ERR_CONFIG "redis <url>: ..." saying what is wrong. */
int store_sentinel_parse(const char *url, store_sentinel *out, err_t *e);

/* The same check for the configuration (a cfg check function): 0, or
 * ERR_CONFIG with the reason in why. */
int store_sentinel_check(const char *url, char *why, size_t n);

/* Connects to the current primary of s: asks each sentinel in turn,
 * starting with s->good, connects to the address it names (within
 * connect_ms, which also becomes the socket timeout) and checks ROLE;
 * the first that gives a master wins and becomes s->good. *out is the
 * hiredis connection (the caller frees it with redisFree), addr its
 * "host:port". ERR_IO "redis <url>: <what>: no primary for master M:"
 * followed by each sentinel asked and why it gave none. */
int store_sentinel_connect(store_sentinel *s, const char *url,
                           const char *what, int64_t connect_ms,
                           struct redisContext **out,
                           char addr[STORE_SENTINEL_ADDR_MAX], err_t *e);

#endif
