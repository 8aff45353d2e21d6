/* store_test_util: what the store_*_test.c suites share: one private
 * redis-server per suite (tests/redis.h), opening a store on it or
 * skipping when redis-server is missing, a raw connection to it,
 * restarting a server on the same port, and collectors for the store's
 * callbacks. Header-only; include after cmocka.h. */
#ifndef EPORT_STORE_TEST_UTIL_H
#define EPORT_STORE_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/redis.h"
#include "store.h"

static char g_url[64];      /* "" when redis-server is not installed */
static pid_t g_pid = -1;

static int stu_group_setup(void **state)
{
    (void)state;
    int rc = test_redis_start(g_url, &g_pid);
    if (rc == 1)
        g_url[0] = '\0';
    return rc < 0 ? -1 : 0;
}

static int stu_group_teardown(void **state)
{
    (void)state;
    test_redis_stop(g_pid);
    return 0;
}

static inline store *stu_open(const char *url, const char *prefix)
{
    if (!url[0])
        skip();
    store *st = NULL;
    err_t e = {0};
    if (store_open(url, prefix, &st, &e) != 0)
        fail_msg("store_open: %s", e.msg);
    return st;
}

/* A raw connection to the test server, to look behind the store. */
static inline redisContext *stu_raw(void)
{
    const char *colon = strrchr(g_url, ':');
    redisContext *c = redisConnect("127.0.0.1", atoi(colon + 1));
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    return c;
}

/* The integer reply of fmt with one string a, on c (stu_raw). */
static inline long long stu_int(redisContext *c, const char *fmt,
                                const char *a)
{
    redisReply *r = redisCommand(c, fmt, a);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

/* A fresh redis-server (empty, no scripts) on url's port, as after a
 * restart; 0 or -1. */
static inline int stu_redis_restart(const char *url, pid_t *pid)
{
    const char *colon = strrchr(url, ':');
    int port = colon ? atoi(colon + 1) : 0;
    pid_t child = port > 0 ? fork() : -1;
    if (child < 0)
        return -1;
    if (child == 0)
        test_redis_exec(port);
    for (int i = 0; i < 100; i++) {
        if (test_redis_pings(port)) {
            *pid = child;
            return 0;
        }
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    }
    test_redis_stop(child);
    return -1;
}

/* What store_outbox_after / store_in_after deliver. */
typedef struct stu_seen {
    int n;
    store_pos pos[1100];
    char frame[1100][32];
    char id[1100][32], origin[1100][16];
} stu_seen;

static inline void stu_keep(stu_seen *s, store_pos p, const void *frame,
                            size_t n)
{
    assert_true(s->n < 1100 && n < 32);
    s->pos[s->n] = p;
    memcpy(s->frame[s->n], frame, n);
    s->frame[s->n][n] = '\0';
    s->n++;
}

static inline int stu_pos_entry(void *ctx, store_pos p, const void *frame,
                                size_t n, err_t *e)
{
    (void)e;
    stu_keep(ctx, p, frame, n);
    return 0;
}

static inline int stu_in_entry(void *ctx, store_pos p, const char *id,
                               const char *origin, const void *frame,
                               size_t n, err_t *e)
{
    (void)e;
    stu_seen *s = ctx;
    snprintf(s->id[s->n], sizeof s->id[0], "%s", id);
    snprintf(s->origin[s->n], sizeof s->origin[0], "%s", origin);
    stu_keep(s, p, frame, n);
    return 0;
}

static inline int64_t stu_outbox_count(store *st, const char *peer)
{
    err_t e = {0};
    int64_t n = store_outbox_len(st, peer, &e);
    if (n < 0)
        fail_msg("store_outbox_len: %s", e.msg);
    return n;
}

#endif
