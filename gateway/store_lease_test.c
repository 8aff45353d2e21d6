/* Unit tests for leases against a private redis-server: one instance
 * takes every job; a second one gets its share as the first gives back
 * the rest; a dead instance's jobs pass to the survivor after ttl and are
 * reported as takeovers; a release hands them over at once; bad names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <time.h>

#include "store_lease.h"
#include "store_test_util.h"

static const char *const jobs[] = {"out.SC", "out.SN", "ledger", "local"};
#define NJ 4

static int held(const store_lease_state *s)
{
    int k = 0;
    for (int i = 0; i < NJ; i++)
        k += s[i] != STORE_LEASE_NONE;
    return k;
}

static void round_of(store *st, const char *me, int64_t ttl,
                     store_lease_state *s, int64_t *live)
{
    err_t e = {0};
    if (store_lease_round(st, me, ttl, jobs, NJ, s, live, &e) != 0)
        fail_msg("store_lease_round: %s", e.msg);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_share(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "l1:");
    store_lease_state a[NJ], b[NJ];
    int64_t live;
    round_of(st, "a", 60000, a, &live);
    assert_int_equal(live, 1);
    assert_int_equal(held(a), NJ); /* alone: everything */
    assert_int_equal(a[0], STORE_LEASE_HELD); /* first owner: no takeover */
    round_of(st, "b", 60000, b, &live);
    assert_int_equal(live, 2);
    assert_int_equal(held(b), 0); /* all held by a still */
    round_of(st, "a", 60000, a, NULL);
    assert_int_equal(held(a), 2); /* a gives back beyond its share */
    assert_int_equal(a[0], STORE_LEASE_HELD);
    assert_int_equal(a[2], STORE_LEASE_NONE);
    round_of(st, "b", 60000, b, NULL);
    assert_int_equal(held(b), 2);
    assert_int_equal(b[2], STORE_LEASE_TAKEN); /* a had it before */
    assert_int_equal(b[0], STORE_LEASE_NONE);
    char who[64];
    err_t e = {0};
    assert_int_equal(store_lease_owner(st, "ledger", who, sizeof who, &e), 0);
    assert_string_equal(who, "b");
    assert_int_equal(store_lease_owner(st, "out.SC", who, sizeof who, &e), 0);
    assert_string_equal(who, "a");
    store_close(st);
}

static void test_dead_instance(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "l2:");
    store_lease_state a[NJ], b[NJ];
    int64_t live;
    round_of(st, "a", 300, a, NULL);
    round_of(st, "b", 300, b, NULL);
    assert_int_equal(held(b), 0);
    sleep_ms(450); /* a stops renewing: dead */
    round_of(st, "b", 300, b, &live);
    assert_int_equal(live, 1);
    assert_int_equal(held(b), NJ);
    for (int i = 0; i < NJ; i++)
        assert_int_equal(b[i], STORE_LEASE_TAKEN);
    round_of(st, "b", 300, b, NULL); /* renewing is not taking again */
    assert_int_equal(b[1], STORE_LEASE_HELD);
    store_close(st);
}

static void test_release(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "l3:");
    store_lease_state a[NJ], b[NJ];
    err_t e = {0};
    round_of(st, "a", 60000, a, NULL);
    round_of(st, "b", 60000, b, NULL);
    assert_int_equal(store_lease_release(st, "a", jobs, NJ, &e), 0);
    int64_t live;
    round_of(st, "b", 60000, b, &live);
    assert_int_equal(live, 1); /* a left v1:inst too */
    assert_int_equal(held(b), NJ);
    char who[64];
    assert_int_equal(store_lease_owner(st, "out.SN", who, sizeof who, &e), 0);
    assert_string_equal(who, "b");
    store_close(st);
}

static void test_bad_names(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "l4:");
    store_lease_state s[2];
    const char *bad[] = {"ok", "no spaces"};
    err_t e = {0};
    assert_int_equal(store_lease_round(st, "a", 1000, bad, 2, s, NULL, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "no spaces"));
    assert_int_equal(store_lease_round(st, "a b", 1000, jobs, NJ, s, NULL,
                                       &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "instance name"));
    assert_int_equal(store_lease_round(st, "a", 0, jobs, NJ, s, NULL, &e),
                     ERR_INVALID);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_share),
        cmocka_unit_test(test_dead_instance),
        cmocka_unit_test(test_release),
        cmocka_unit_test(test_bad_names),
    };
    return cmocka_run_group_tests(tests, stu_group_setup, stu_group_teardown);
}
