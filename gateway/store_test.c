/* Unit tests for store against a private redis-server (tests/redis.h):
 * outbox order, persistence, consumer groups and claims; inbox dedupe;
 * dead letters; prefix isolation; and a Redis that goes away mid-test.
 * Each test uses its own key prefix, so they share one server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../tests/redis.h"
#include "buf.h"
#include "err.h"
#include "store.h"

static char g_url[64];      /* "" when redis-server is not installed */
static pid_t g_pid = -1;

static int group_setup(void **state)
{
    (void)state;
    int rc = test_redis_start(g_url, &g_pid);
    if (rc == 1)
        g_url[0] = '\0';
    return rc < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    test_redis_stop(g_pid);
    return 0;
}

static store *open_or_skip(const char *prefix)
{
    if (!g_url[0])
        skip();
    store *st = NULL;
    err_t e = {0};
    int rc = store_open(g_url, prefix, &st, &e);
    if (rc != 0)
        fail_msg("store_open: %s", e.msg);
    return st;
}

/* Collects what a read or claim delivers. */
typedef struct seen {
    int n;
    char id[16][STORE_ID_MAX];
    char frame[16][32];
} seen;

static int collect(void *ctx, const char *id, const void *frame, size_t n,
                   err_t *e)
{
    (void)e;
    seen *s = ctx;
    assert_true(s->n < 16 && n < 32);
    snprintf(s->id[s->n], STORE_ID_MAX, "%s", id);
    memcpy(s->frame[s->n], frame, n);
    s->frame[s->n][n] = '\0';
    s->n++;
    return 0;
}

static void add(store *st, const char *peer, const char *frame)
{
    char id[STORE_ID_MAX];
    err_t e = {0};
    assert_int_equal(store_outbox_add(st, peer, frame, strlen(frame), id, &e),
                     0);
    assert_true(strchr(id, '-') != NULL);
}

static void test_outbox_order_and_reconnect(void **state)
{
    (void)state;
    store *st = open_or_skip("t1:");
    err_t e = {0};
    seen s = {0};
    assert_int_equal(store_outbox_group(st, "SC", &e), 0);
    assert_int_equal(store_outbox_group(st, "SC", &e), 0); /* idempotent */
    add(st, "SC", "f0"), add(st, "SC", "f1"), add(st, "SC", "f2");
    store_close(st);
    st = open_or_skip("t1:");
    assert_int_equal(store_outbox_read(st, "SC", "a", 2, 0, collect, &s, &e),
                     2);
    assert_string_equal(s.frame[0], "f0");
    assert_string_equal(s.frame[1], "f1");
    assert_int_equal(store_outbox_ack(st, "SC", s.id[0], &e), 1);
    assert_int_equal(store_outbox_ack(st, "SC", s.id[1], &e), 1);
    assert_int_equal(store_outbox_ack(st, "SC", s.id[1], &e), 0);
    store_close(st);
    st = open_or_skip("t1:");
    s.n = 0;
    assert_int_equal(store_outbox_read(st, "SC", "a", 10, 0, collect, &s, &e),
                     1);
    assert_string_equal(s.frame[0], "f2");
    assert_int_equal(store_outbox_len(st, "SC", &e), 1);
    assert_int_equal(store_outbox_ack(st, "SC", s.id[0], &e), 1);
    assert_int_equal(store_outbox_len(st, "SC", &e), 0);
    /* nothing new: a short blocking read times out with 0 */
    assert_int_equal(store_outbox_read(st, "SC", "a", 1, 50, collect, &s, &e),
                     0);
    store_close(st);
}

static void test_outbox_binary_frame(void **state)
{
    (void)state;
    store *st = open_or_skip("t2:");
    err_t e = {0};
    char id[STORE_ID_MAX];
    seen s = {0};
    assert_int_equal(store_outbox_group(st, "SC", &e), 0);
    assert_int_equal(store_outbox_add(st, "SC", "a\0b", 3, id, &e), 0);
    assert_int_equal(store_outbox_read(st, "SC", "a", 1, 0, collect, &s, &e),
                     1);
    assert_memory_equal(s.frame[0], "a\0b", 3);
    assert_string_equal(s.id[0], id);
    assert_int_equal(store_outbox_add(st, "S:C", "x", 1, id, &e),
                     ERR_INVALID);
    store_close(st);
}

static void test_two_consumers_disjoint(void **state)
{
    (void)state;
    store *a = open_or_skip("t3:"), *b = open_or_skip("t3:");
    err_t e = {0};
    seen sa = {0}, sb = {0};
    assert_int_equal(store_outbox_group(a, "SC", &e), 0);
    assert_int_equal(store_outbox_group(b, "SC", &e), 0);
    add(a, "SC", "f0"), add(a, "SC", "f1"), add(b, "SC", "f2");
    add(b, "SC", "f3");
    assert_int_equal(store_outbox_read(a, "SC", "a", 2, 0, collect, &sa, &e),
                     2);
    assert_int_equal(store_outbox_read(b, "SC", "b", 9, 0, collect, &sb, &e),
                     2);
    assert_string_equal(sa.frame[0], "f0");
    assert_string_equal(sa.frame[1], "f1");
    assert_string_equal(sb.frame[0], "f2");
    assert_string_equal(sb.frame[1], "f3");
    store_close(a);
    store_close(b);
}

static void test_claim_idle_pending(void **state)
{
    (void)state;
    store *a = open_or_skip("t4:"), *b = open_or_skip("t4:");
    err_t e = {0};
    seen sa = {0}, sb = {0};
    assert_int_equal(store_outbox_group(a, "SC", &e), 0);
    add(a, "SC", "f0"), add(a, "SC", "f1");
    assert_int_equal(store_outbox_read(a, "SC", "a", 5, 0, collect, &sa, &e),
                     2);
    store_close(a); /* "a" dies without acknowledging */
    assert_int_equal(store_outbox_claim(b, "SC", "b", 60000, 10, collect, &sb,
                                        &e), 0);
    nanosleep(&(struct timespec){0, 120000000}, NULL);
    assert_int_equal(store_outbox_claim(b, "SC", "b", 100, 10, collect, &sb,
                                        &e), 2);
    assert_string_equal(sb.frame[0], "f0");
    assert_string_equal(sb.id[1], sa.id[1]);
    assert_int_equal(store_outbox_ack(b, "SC", sb.id[0], &e), 1);
    assert_int_equal(store_outbox_ack(b, "SC", sb.id[1], &e), 1);
    assert_int_equal(store_outbox_len(b, "SC", &e), 0);
    store_close(b);
}

static void test_inbox_dedupe(void **state)
{
    (void)state;
    store *st = open_or_skip("t5:");
    err_t e = {0};
    unsigned char d1[32], d2[32];
    memset(d1, 0xa1, sizeof d1), memset(d2, 0xb2, sizeof d2);
    const char *id = "01JAAAAAAAAAAAAAAAAAAAAAAA";
    int dup = -1;
    buf_t orig;
    buf_init(&orig, 1024);
    assert_int_equal(store_inbox_apply(st, id, d1, "R1\0x", 4, 60000, &dup,
                                       &orig, &e), 0);
    assert_int_equal(dup, 0);
    assert_int_equal(orig.len, 0);
    assert_int_equal(store_inbox_apply(st, id, d1, "R2", 2, 60000, &dup,
                                       &orig, &e), 0);
    assert_int_equal(dup, 1);
    assert_int_equal(orig.len, 4);
    assert_memory_equal(orig.p, "R1\0x", 4);
    assert_int_equal(store_inbox_apply(st, id, d2, "R3", 2, 60000, &dup,
                                       NULL, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "id reuse with a different payload"));
    /* once the record expires the id is new again */
    assert_int_equal(store_inbox_apply(st, "ID2", d1, "R", 1, 30, &dup, NULL,
                                       &e), 0);
    nanosleep(&(struct timespec){0, 100000000}, NULL);
    assert_int_equal(store_inbox_apply(st, "ID2", d1, "R", 1, 30, &dup, NULL,
                                       &e), 0);
    assert_int_equal(dup, 0);
    buf_free(&orig);
    store_close(st);
}

typedef struct dl {
    int n;
    char reason[4][32], where[4][32], frame[4][32];
    int64_t at[4];
} dl;

static int dl_collect(void *ctx, const store_dlq_entry *d, err_t *e)
{
    (void)e;
    dl *l = ctx;
    assert_true(l->n < 4 && d->n < 32);
    snprintf(l->reason[l->n], 32, "%s", d->reason);
    snprintf(l->where[l->n], 32, "%s", d->where);
    memcpy(l->frame[l->n], d->frame, d->n);
    l->frame[l->n][d->n] = '\0';
    l->at[l->n++] = d->at;
    return 0;
}

static void test_dlq(void **state)
{
    (void)state;
    store *st = open_or_skip("t6:");
    err_t e = {0};
    char id1[STORE_ID_MAX], id2[STORE_ID_MAX];
    dl l = {0};
    buf_t f;
    buf_init(&f, 64);
    assert_int_equal(store_dlq_add(st, "undelivered", "outbox SC", "F1", 2,
                                   id1, &e), 0);
    assert_int_equal(store_dlq_add(st, "refused", "peer SC", "F2", 2, id2,
                                   &e), 0);
    assert_int_equal(store_dlq_list(st, 10, dl_collect, &l, &e), 2);
    assert_string_equal(l.reason[0], "undelivered");
    assert_string_equal(l.where[1], "peer SC");
    assert_string_equal(l.frame[1], "F2");
    assert_true(l.at[0] > 1600000000000LL);
    assert_int_equal(store_dlq_get(st, id2, &f, &e), 0);
    assert_string_equal(f.p, "F2");
    assert_int_equal(store_dlq_del(st, id1, &e), 0);
    assert_int_equal(store_dlq_del(st, id1, &e), ERR_NOTFOUND);
    assert_int_equal(store_dlq_get(st, id1, &f, &e), ERR_NOTFOUND);
    l.n = 0;
    assert_int_equal(store_dlq_list(st, 10, dl_collect, &l, &e), 1);
    buf_free(&f);
    store_close(st);
}

static void test_prefix_isolation(void **state)
{
    (void)state;
    store *cq = open_or_skip("eport:CQ:"), *sc = open_or_skip("eport:SC:");
    err_t e = {0};
    unsigned char d1[32] = {1}, d2[32] = {2};
    int dup = -1;
    char id[STORE_ID_MAX];
    dl l = {0};
    add(cq, "XZ", "f0");
    assert_int_equal(store_outbox_len(cq, "XZ", &e), 1);
    assert_int_equal(store_outbox_len(sc, "XZ", &e), 0);
    assert_int_equal(store_inbox_apply(cq, "M1", d1, "R", 1, 60000, &dup,
                                       NULL, &e), 0);
    assert_int_equal(store_inbox_apply(sc, "M1", d2, "R", 1, 60000, &dup,
                                       NULL, &e), 0);
    assert_int_equal(dup, 0);
    assert_int_equal(store_dlq_add(cq, "r", "w", "F", 1, id, &e), 0);
    assert_int_equal(store_dlq_list(sc, 10, dl_collect, &l, &e), 0);
    store_close(cq);
    store_close(sc);
}

static void test_redis_goes_away(void **state)
{
    (void)state;
    if (!g_url[0])
        skip();
    char url[64];
    pid_t pid;
    assert_int_equal(test_redis_start(url, &pid), 0);
    store *st = NULL;
    err_t e = {0};
    char id[STORE_ID_MAX];
    int dup;
    seen s = {0};
    assert_int_equal(store_open(url, "t8:", &st, &e), 0);
    assert_int_equal(store_outbox_add(st, "SC", "f", 1, id, &e), 0);
    test_redis_stop(pid);
    assert_int_equal(store_outbox_add(st, "SC", "f", 1, id, &e), ERR_IO);
    assert_non_null(strstr(e.msg, url));
    assert_int_equal(store_outbox_read(st, "SC", "a", 1, 0, collect, &s, &e),
                     ERR_IO);
    assert_non_null(strstr(e.msg, url));
    assert_int_equal(store_inbox_apply(st, "M", (unsigned char[32]){0}, "R",
                                       1, 1000, &dup, NULL, &e), ERR_IO);
    assert_non_null(strstr(e.msg, url));
    store_close(st);
    assert_int_equal(store_open(url, "t8:", &st, &e), ERR_IO);
    assert_null(st);
    assert_non_null(strstr(e.msg, url));
}

/* No replica: WAIT 1 confirms nothing, so nothing may be acknowledged;
 * WAIT 0 is no wait at all. */
static void test_wait_replicas(void **state)
{
    (void)state;
    store *st = open_or_skip("eport:WAIT:");
    err_t e;
    char id[STORE_ID_MAX];
    assert_int_equal(store_outbox_add(st, "SC", "x", 1, id, &e), 0);
    assert_int_equal(store_wait_replicas(st, 0, 50, &e), 0);
    assert_int_equal(store_wait_replicas(st, 1, 50, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "0 of 1 replicas"));
    store_close(st);
}

static void test_bad_urls(void **state)
{
    (void)state;
    store *st = NULL;
    err_t e = {0};
    assert_int_equal(store_open("http://x", "p:", &st, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "http://x"));
    assert_int_equal(store_open("redis://h:0", "p:", &st, &e), ERR_CONFIG);
    assert_int_equal(store_open("redis://h:6379/x", "p:", &st, &e),
                     ERR_CONFIG);
    assert_int_equal(store_open("redis://h", "a b", &st, &e), ERR_CONFIG);
    assert_int_equal(store_open("unix:/nonexistent/redis.sock", "p:", &st,
                                &e), ERR_IO);
    assert_non_null(strstr(e.msg, "unix:/nonexistent/redis.sock"));
    assert_null(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outbox_order_and_reconnect),
        cmocka_unit_test(test_outbox_binary_frame),
        cmocka_unit_test(test_two_consumers_disjoint),
        cmocka_unit_test(test_claim_idle_pending),
        cmocka_unit_test(test_inbox_dedupe),
        cmocka_unit_test(test_dlq),
        cmocka_unit_test(test_prefix_isolation),
        cmocka_unit_test(test_redis_goes_away),
        cmocka_unit_test(test_wait_replicas),
        cmocka_unit_test(test_bad_urls),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
