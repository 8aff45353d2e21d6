/* Unit tests for the replication module: the INFO replication reader on
 * fixed text; then against a private primary and replica
 * (tests/redis_repl.h): no replicas asked, nothing to wait for; one asked
 * and one in sync, the barrier passes and INFO counts it; the replica
 * gone, the barrier fails naming how many confirmed and the count drops
 * to 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../tests/redis_repl.h"
#include "store_repl.h"

static trepl_pair g;
static int g_ok;

static int setup(void **state)
{
    (void)state;
    int rc = trepl_start(&g);
    g_ok = rc == 0;
    return rc < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_ok)
        trepl_stop(&g);
    return 0;
}

static store *open_primary(void)
{
    if (!g_ok)
        skip();
    store *st = NULL;
    err_t e = {0};
    if (store_open(g.purl, "r1:", &st, &e) != 0)
        fail_msg("store_open: %s", e.msg);
    return st;
}

static void test_barrier_and_info(void **state)
{
    (void)state;
    store *st = open_primary();
    err_t e = {0};
    assert_int_equal(store_repl_barrier(st, 0, 100, &e), 0);
    assert_int_equal(store_repl_barrier(st, 1, 2000, &e), 0);
    store_repl_info ri;
    assert_int_equal(store_repl_info_get(st, &ri, &e), 0);
    assert_int_equal(ri.primary, 1);
    assert_int_equal(ri.replicas, 1);
    assert_true(ri.offset > 0);
    assert_true(ri.lag_bytes >= 0);
    store_close(st);
}

static void test_replica_gone(void **state)
{
    (void)state;
    store *st = open_primary();
    err_t e = {0};
    trepl_kill(&g.rpid);
    /* two asked, none can confirm: the barrier says so within its wait */
    assert_int_equal(store_repl_barrier(st, 2, 200, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "replicas confirmed"));
    store_repl_info ri;
    for (int i = 0; i < 50; i++) { /* the primary notices the link drop */
        assert_int_equal(store_repl_info_get(st, &ri, &e), 0);
        if (ri.replicas == 0)
            break;
        nanosleep(&(struct timespec){0, 100000000}, NULL);
    }
    assert_int_equal(ri.primary, 1);
    assert_int_equal(ri.replicas, 0);
    assert_int_equal(ri.lag_bytes, 0);
    store_close(st);
}

/* The INFO reader alone: fields, numbers, and the replicas' lines. */
static void test_info_text(void **state)
{
    (void)state;
    const char *t = "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n"
                    "slave0:ip=10.0.0.2,port=6379,state=online,offset=420,"
                    "lag=0\r\nslave1:ip=10.0.0.3,port=6380,state="
                    "wait_bgsave,offset=0,lag=31\r\nmaster_repl_offset:"
                    "431\r\nmaster_link_status:up\r\n";
    char v[16];
    store_repl_str(t, "role", v, sizeof v);
    assert_string_equal(v, "master");
    store_repl_str(t, "absent", v, sizeof v);
    assert_string_equal(v, "");
    assert_int_equal(store_repl_num(t, "master_repl_offset"), 431);
    assert_int_equal(store_repl_num(t, "master_link_status"), -1);
    store_repl_replica r[4];
    assert_int_equal(store_repl_replicas(t, r, 4), 2);
    assert_string_equal(r[0].addr, "10.0.0.2:6379");
    assert_string_equal(r[1].state, "wait_bgsave");
    assert_int_equal(r[0].offset, 420);
    assert_int_equal(r[1].lag_s, 31);
    assert_int_equal(store_repl_replicas(t, r, 1), 1); /* capped */
}

static void test_replica_is_not_primary(void **state)
{
    (void)state;
    if (!g_ok)
        skip();
    store *st = NULL;
    err_t e = {0};
    trepl_pair r;
    assert_int_equal(trepl_start(&r), 0);
    assert_int_equal(store_open(r.rurl, "r2:", &st, &e), 0);
    store_repl_info ri;
    assert_int_equal(store_repl_info_get(st, &ri, &e), 0);
    assert_int_equal(ri.primary, 0);
    store_close(st);
    trepl_stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info_text),
        cmocka_unit_test(test_barrier_and_info),
        cmocka_unit_test(test_replica_is_not_primary),
        cmocka_unit_test(test_replica_gone),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
