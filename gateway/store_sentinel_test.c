/* Unit tests for store_sentinel and the store following its primary:
 * sentinel:// URLs good and bad; against real processes (tests/redis.h):
 * a primary P, its replica R, a replica X of nobody, a sentinel G
 * watching P and a stale sentinel S that names X as the primary; a
 * connect through the sentinels, a READONLY reply dropping the
 * connection, and a failover (P killed) that the same store, and its
 * doorbell, follow to R. Skipped without redis-server and
 * redis-sentinel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <poll.h>

#include "../tests/redis.h"
#include "err.h"
#include "store.h"
#include "store_sentinel.h"

#define NAME "eportm"

static struct {
    int on;                         /* processes running */
    char dir[256];
    int p, r, x, g, s, dead;        /* ports; dead: nobody listens */
    pid_t pp, rp, xp, gp, sp;
    char purl[64], rurl[64], xurl[64];
} g;

/* ---- processes ---- */

static int start_servers(void)
{
    int dead2 = test_redis_free_port();
    if (test_redis_start_at(g.dir, 0, &g.p, g.purl, &g.pp) < 0 ||
        test_redis_start_at(g.dir, g.p, &g.r, g.rurl, &g.rp) < 0 ||
        test_redis_start_at(g.dir, dead2, &g.x, g.xurl, &g.xp) < 0)
        return -1;
    if (test_redis_sentinel_start(g.dir, NAME, g.p, 1000, 3000, &g.g,
                                  &g.gp) < 0 ||
        test_redis_sentinel_start(g.dir, NAME, g.x, 60000, 60000, &g.s,
                                  &g.sp) < 0)
        return -1;
    for (int i = 0; i < 200; i++) { /* G must know R before P goes */
        if (test_redis_sentinel_replicas(g.g, NAME) >= 1)
            return 0;
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    }
    return -1;
}

static int group_teardown(void **state);

static int group_setup(void **state)
{
    (void)state;
    if (!test_redis_installed() || !test_redis_have("redis-sentinel"))
        return 0;
    const char *base = getenv("TMPDIR");
    snprintf(g.dir, sizeof g.dir, "%s/sentestXXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(g.dir))
        return -1;
    g.on = 1;
    g.dead = test_redis_free_port();
    if (start_servers() < 0) {
        fprintf(stderr, "store_sentinel_test: servers did not start\n");
        group_teardown(state); /* cmocka does not after a failed setup */
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (!g.on)
        return 0;
    test_redis_stop(g.sp), test_redis_stop(g.gp);
    test_redis_stop(g.xp), test_redis_stop(g.rp), test_redis_stop(g.pp);
    test_redis_rmdir(g.dir);
    return 0;
}

static void need_servers(void)
{
    if (!g.on)
        skip();
}

static void url_of(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

/* ---- URLs ---- */

static void test_parse_good(void **state)
{
    (void)state;
    store_sentinel s;
    err_t e = {0};
    assert_int_equal(store_sentinel_parse("sentinel://127.0.0.1:26379/m",
                                          &s, &e), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.at[0].host, "127.0.0.1");
    assert_int_equal(s.at[0].port, 26379);
    assert_string_equal(s.master, "m");
    assert_int_equal(s.db, 0);
    assert_int_equal(store_sentinel_parse("sentinel://a.example:1,b-2:26380,"
                                          "10.0.0.3:65535/my_master.x-1/15",
                                          &s, &e), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.at[1].host, "b-2");
    assert_int_equal(s.at[2].port, 65535);
    assert_string_equal(s.master, "my_master.x-1");
    assert_int_equal(s.db, 15);
    const char *eight = "sentinel://a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8/m/0";
    assert_int_equal(store_sentinel_parse(eight, &s, &e), 0);
    assert_int_equal(s.n, 8);
    char why[384];
    assert_int_equal(store_sentinel_check(eight, why, sizeof why), 0);
    assert_true(store_sentinel_is("sentinel://x"));
    assert_false(store_sentinel_is("redis://127.0.0.1:6379"));
    assert_false(store_sentinel_is(NULL));
}

static const struct { const char *url, *why; } bad_urls[] = {
    {"sentinel://", "no /MASTER after the sentinels"},
    {"sentinel://h:1", "no /MASTER after the sentinels"},
    {"sentinel:///m", "no sentinel HOST:PORT"},
    {"sentinel://h/m", "sentinel 1 'h': want :PORT"},
    {"sentinel://h:0/m", "sentinel 1 'h:0': want :PORT"},
    {"sentinel://h:65536/m", "want :PORT, 1-65535"},
    {"sentinel://h:12x/m", "want :PORT"},
    {"sentinel://:26379/m", "sentinel 1 ':26379': want a host name"},
    {"sentinel://user:pw@h:1/m", "no credentials"},
    {"sentinel://[::1]:26379/m", "no IPv6"},
    {"sentinel://h:1,,h:2/m", "sentinel 2 is empty"},
    {"sentinel://h:1,/m", "sentinel 2 is empty"},
    {"sentinel://a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9/m", "more than 8"},
    {"sentinel://h:1/", "master name '': want 1-64"},
    {"sentinel://h:1/bad name", "master name 'bad name'"},
    {"sentinel://h:1/m23456789012345678901234567890123456789012345678901"
     "2345678901234x", "master name"},
    {"sentinel://h:1/m/", "database '': want 0-65535"},
    {"sentinel://h:1/m/x", "database 'x'"},
    {"sentinel://h:1/m/65536", "database '65536'"},
    {"sentinel://h:1/m/1/2", "database '1/2'"},
};

static void test_parse_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++) {
        const char *url = bad_urls[i].url;
        store_sentinel s;
        err_t e = {0};
        char why[384], head[300];
        assert_int_equal(store_sentinel_parse(url, &s, &e), ERR_CONFIG);
        snprintf(head, sizeof head, "redis %s: want " STORE_SENTINEL_FORM
                 ": ", url);
        if (strncmp(e.msg, head, strlen(head)) || !strstr(e.msg,
                                                          bad_urls[i].why))
            fail_msg("%s: got \"%s\", want \"%s\"", url, e.msg,
                     bad_urls[i].why);
        assert_int_equal(store_sentinel_check(url, why, sizeof why),
                         ERR_CONFIG);
        assert_non_null(strstr(why, bad_urls[i].why));
        assert_int_equal(strncmp(why, "'sentinel://", 12), 0);
        store *st = NULL;
        assert_int_equal(store_open(url, "p:", &st, &e), ERR_CONFIG);
        assert_null(st);
    }
}

/* ---- through the sentinels ---- */

static void test_connect_through_sentinels(void **state)
{
    (void)state;
    need_servers();
    char url[256], want[64];
    url_of(url, sizeof url, "sentinel://127.0.0.1:%d,127.0.0.1:%d,"
           "127.0.0.1:%d/" NAME, g.dead, g.s, g.g);
    store *st = NULL;
    err_t e = {0};
    if (store_open(url, "c:", &st, &e) != 0)
        fail_msg("store_open: %s", e.msg);
    snprintf(want, sizeof want, "127.0.0.1:%d", g.p);
    assert_string_equal(store_primary(st), want);
    assert_int_equal(store_failovers(st), 0);
    assert_int_equal(store_conn_gen(st), 1);
    char id[STORE_ID_MAX];
    assert_int_equal(store_dlq_add(st, "r", "w", "f", 1, id, &e), 0);
    store_close(st);
}

/* The sentinel that named the primary is remembered. */
static void test_round_remembers(void **state)
{
    (void)state;
    need_servers();
    char url[256];
    store_sentinel s;
    err_t e = {0};
    struct redisContext *c = NULL, *c2 = NULL;
    char addr[STORE_SENTINEL_ADDR_MAX];
    url_of(url, sizeof url, "sentinel://127.0.0.1:%d,127.0.0.1:%d,"
           "127.0.0.1:%d/" NAME, g.dead, g.s, g.g);
    assert_int_equal(store_sentinel_parse(url, &s, &e), 0);
    assert_int_equal(store_sentinel_connect(&s, url, "connect", 2000, &c,
                                            addr, &e), 0);
    assert_int_equal(s.good, 2); /* G: asked first next time */
    assert_int_equal(store_sentinel_connect(&s, url, "connect", 2000, &c2,
                                            addr, &e), 0);
    assert_int_equal(s.good, 2);
    redisFree(c);
    redisFree(c2);
}

/* None gives a master: each is named with why, from s.good on. */
static void test_round_reasons(void **state)
{
    (void)state;
    need_servers();
    char url[256];
    store_sentinel s;
    err_t e = {0};
    struct redisContext *c = NULL;
    char addr[STORE_SENTINEL_ADDR_MAX];
    url_of(url, sizeof url, "sentinel://127.0.0.1:%d,127.0.0.1:%d/" NAME,
           g.dead, g.s);
    assert_int_equal(store_sentinel_parse(url, &s, &e), 0);
    s.good = 1;
    assert_int_equal(store_sentinel_connect(&s, url, "connect", 2000, &c,
                                            addr, &e), ERR_IO);
    char want[300];
    snprintf(want, sizeof want, "redis %s: connect: no primary for master "
             NAME ": sentinel 127.0.0.1:%d: names 127.0.0.1:%d: ROLE says "
             "slave, not master; sentinel 127.0.0.1:%d: connect: ", url, g.s,
             g.x, g.dead);
    if (strncmp(e.msg, want, strlen(want)))
        fail_msg("got \"%s\"\nwant \"%s...\"", e.msg, want);
    /* a master name the sentinel does not know */
    url_of(url, sizeof url, "sentinel://127.0.0.1:%d/nosuch", g.g);
    store *st = NULL;
    assert_int_equal(store_open(url, "c:", &st, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "does not know master nosuch"));
}

/* A write to a replica: READONLY, and the connection is dropped (the
 * next call connects again), by single commands, scripts and pipelines
 * alike. */
static void test_readonly_drops(void **state)
{
    (void)state;
    need_servers();
    store *st = NULL;
    err_t e = {0};
    char id[STORE_ID_MAX];
    if (store_open(g.xurl, "ro:", &st, &e) != 0)
        fail_msg("store_open: %s", e.msg);
    assert_int_equal(store_dlq_add(st, "r", "w", "f", 1, id, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "READONLY"));
    assert_string_equal(store_primary(st), "");
    assert_int_equal(store_dlq_len(st, &e), 0); /* reads: reconnected */
    assert_int_equal(store_conn_gen(st), 2);
    assert_string_not_equal(store_primary(st), "");
    const char *hop = "PEER";
    assert_true(store_submit(st, "01RO", "f", 1, &hop, 1, &hop, 1, 1, 2,
                             &e) < 0);
    assert_non_null(strstr(e.msg, "READONLY"));
    assert_string_equal(store_primary(st), "");
    store_link_op op = {.prev = {0, 0}, .pos = {1, 0}};
    store_link_result res;
    assert_true(store_link_apply(st, "PEER", &op, 1, &res, &e) < 0);
    assert_non_null(strstr(e.msg, "READONLY"));
    assert_string_equal(store_primary(st), "");
    assert_int_equal(store_failovers(st), 0); /* always the same address */
    store_close(st);
}

/* ---- the failover ---- */

/* Writes until one succeeds (the new primary found), at most ~15 s; how
 * many failed meanwhile. */
static int write_until_ok(store *st, char *last, size_t n)
{
    char id[STORE_ID_MAX];
    err_t e = {0};
    for (int i = 0; i < 150; i++) {
        if (store_dlq_add(st, "after", "w", "f", 1, id, &e) == 0)
            return i;
        snprintf(last, n, "%s", e.msg);
        nanosleep(&(struct timespec){0, 100000000}, NULL);
    }
    fail_msg("no write succeeded after the failover: %s", last);
    return -1;
}

static void wake_rings(store *st, store_wake *w)
{
    err_t e = {0};
    int fd = store_wake_fd(w);
    assert_true(fd >= 0);
    const char *hop = "PEER";
    assert_int_equal(store_submit(st, "01WAKE", "f", 1, &hop, 1, &hop, 1, 1,
                                  2, &e), 0);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 2000), 1);
    assert_true(store_wake_drain(w, &e) >= 1);
}

static void test_failover_followed(void **state)
{
    (void)state;
    need_servers();
    char url[256], want[64], last[ERR_MSG_MAX] = "";
    url_of(url, sizeof url, "sentinel://127.0.0.1:%d,127.0.0.1:%d/" NAME,
           g.s, g.g);
    store *st = NULL;
    store_wake *w = NULL;
    err_t e = {0};
    char id[STORE_ID_MAX];
    if (store_open(url, "f:", &st, &e) != 0)
        fail_msg("store_open: %s", e.msg);
    assert_int_equal(store_wake_open(st, &w, &e), 0);
    assert_int_equal(store_dlq_add(st, "before", "w", "f", 1, id, &e), 0);
    assert_int_equal(store_wait_replicas(st, 1, 2000, &e), 1);
    test_redis_kill(g.pp), g.pp = -1;
    int failed = write_until_ok(st, last, sizeof last);
    print_message("failover: %d writes failed first, the last with: %s\n",
                  failed, last);
    assert_true(failed >= 1); /* the old connection's write failed */
    assert_int_equal(strncmp(last, "redis sentinel://", 17), 0);
    snprintf(want, sizeof want, "127.0.0.1:%d", g.r);
    assert_string_equal(store_primary(st), want);
    assert_int_equal(store_failovers(st), 1);
    assert_int_equal(store_dlq_len(st, &e), 2); /* "before" came along */
    wake_rings(st, w);
    store_wake_close(w);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_connect_through_sentinels),
        cmocka_unit_test(test_round_remembers),
        cmocka_unit_test(test_round_reasons),
        cmocka_unit_test(test_readonly_drops),
        cmocka_unit_test(test_failover_followed),
    };
    return cmocka_run_group_tests_name("gateway/store_sentinel", tests,
                                       group_setup, group_teardown);
}
