/* Unit tests for the connectors' runtime (conn.c) against a private
 * redis-server (tests/redis.h): conn_start runs a file drop with an
 * outbound directory, a ZeroMQ ingress and the HTTP API together; a file
 * dropped is stored and moved, a record queued for the connector is
 * written out, and conn_stop joins every thread promptly. A start that
 * cannot succeed names the connector and the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <dirent.h>

#include "../tests/conn_fixture.h"
#include "conn.h"
#include "store_local.h"

#define GOOD "mappings/samples/iftmin-rail/dui-rail-03.edi"

static cfg *load_cfg(const char *name, const char *conns)
{
    return conn_fixture_cfg(name, test_redis_free_port(),
        "redis: {url: '%s', prefix: '%s:'}\n"
        "connectors:\n%s"
        "clients:\n  - {id: edi, connector: drop, kinds: ['*'], "
        "parties: ['*']}\n",
        g_url, name, conns);
}

static int exists(const char *dir, const char *rel)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return access(p, F_OK) == 0;
}

/* Visible files in dir. */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void copy_in(const char *inbox, const char *name)
{
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "cp %s/%s %s/.%s && mv %s/.%s %s/%s", g_repo,
             GOOD, inbox, name, inbox, name, inbox, name);
    assert_int_equal(system(cmd), 0);
}

static void test_runtime_roundtrip(void **state)
{
    (void)state;
    if (!g_url[0])
        skip();
    char conns[2000], inbox[600], outd[600];
    snprintf(inbox, sizeof inbox, "%s/r1-in", g_tmp);
    snprintf(outd, sizeof outd, "%s/r1-out", g_tmp);
    snprintf(conns, sizeof conns,
             "  - {name: drop, type: filedrop, dir: '%s', client: edi, "
             "out: dir, out_dir: '%s', out_events: [message_status]}\n"
             "  - {name: bulk, type: zmq, listen: 'tcp://127.0.0.1:%d'}\n",
             inbox, outd, test_redis_free_port());
    cfg *c = load_cfg("r1", conns);
    conn_rt *rt;
    err_t e;
    if (conn_start(c, &rt, &e))
        fail_msg("conn_start: %s", e.msg);
    copy_in(inbox, "w.edi");
    for (int i = 0; i < 100 && !exists(inbox, "done/w.edi"); i++)
        usleep(50000);
    assert_true(exists(inbox, "done/w.edi"));
    store *st;
    assert_int_equal(store_open(g_url, "r1:", &st, &e), 0);
    assert_int_equal(store_local_len(st, &e), 1);
    /* a record for the connector's system: msgpack [1, {"kind":"status"}] */
    static const char rec[] = "\x92\x01\x81\xa4kind\xa6status";
    assert_int_equal(store_lout_add(st, "drop", "k1", "message_status", rec,
                                    sizeof rec - 1, &e), 0);
    for (int i = 0; i < 100 && count_files(outd) < 1; i++)
        usleep(50000);
    assert_int_equal(count_files(outd), 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    conn_stop(rt);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 3); /* every thread saw the flag */
    store_close(st);
    cfg_free(c);
}

static void test_start_errors_name_the_connector(void **state)
{
    (void)state;
    if (!g_url[0])
        skip();
    char conns[2000];
    snprintf(conns, sizeof conns,
             "  - {name: drop, type: filedrop, dir: '%s/r2', client: edi, "
             "mapping: no-such-table}\n", g_tmp);
    cfg *c = load_cfg("r2", conns);
    conn_rt *rt;
    err_t e;
    assert_int_equal(conn_start(c, &rt, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "connectors[0] (drop)"));
    assert_non_null(strstr(e.msg, "no-such-table"));
    cfg_free(c);
    snprintf(conns, sizeof conns,
             "  - {name: drop, type: filedrop, dir: /proc/no/such, "
             "client: edi}\n");
    c = load_cfg("r3", conns);
    assert_true(conn_start(c, &rt, &e) < 0);
    assert_non_null(strstr(e.msg, "connectors[0] (drop)"));
    assert_non_null(strstr(e.msg, "/proc/no"));
    cfg_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_roundtrip),
        cmocka_unit_test(test_start_errors_name_the_connector),
    };
    return cmocka_run_group_tests_name("conn", tests, conn_fixture_setup,
                                       conn_fixture_teardown);
}
