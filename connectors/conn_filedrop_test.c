/* Unit tests for the file drop (conn_filedrop.c): its thread running
 * against a private redis-server (tests/redis.h) and the repository's
 * mapping tables. A partly written .tmp is left alone until renamed; a
 * malformed file goes to error/ with `NAME:LINE:COL: error:` lines in
 * .err; the same file dropped again goes to done/NAME.1 and stores
 * nothing twice; files there before the start are taken by the first
 * scan; with Redis unreachable a file stays in the inbox; an oversized
 * file is refused. Each test has its own inbox and key prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "../tests/conn_fixture.h"
#include "conn.h"
#include "store_local.h"

#define GOOD "mappings/samples/iftmin-rail/cq-rail-01.edi" /* 3 records */
#define BAD "mappings/samples/bad/truncated.edi"

typedef struct fx {
    cfg *c;
    conn_in in;
    atomic_int stop;
    pthread_t t;
    int running;
    char dir[512];
    store *st;
} fx;

static cfg *load_cfg(const char *name, const char *url, const char *dir)
{
    return conn_fixture_cfg(name, 8101,
        "redis: {url: '%s', prefix: '%s:', timeout_ms: 500}\n"
        "connectors:\n  - {name: drop, type: filedrop, dir: '%s', "
        "client: edi}\n"
        "clients:\n  - {id: edi, connector: drop, kinds: ['*'], "
        "parties: ['*']}\n"
        "log: {level: error, file: '-'}\n",
        url, name, dir);
}

static void *run_main(void *p)
{
    fx *x = p;
    conn_filedrop_ops.run(&x->in);
    return NULL;
}

static void fx_start(fx *x)
{
    err_t e;
    if (conn_filedrop_ops.open(&x->in, &e))
        fail_msg("open: %s", e.msg);
    assert_int_equal(pthread_create(&x->t, NULL, run_main, x), 0);
    x->running = 1;
}

/* url NULL: the test's Redis. */
static void fx_init(fx *x, const char *name, const char *url)
{
    if (!g_url[0])
        skip();
    memset(x, 0, sizeof *x);
    snprintf(x->dir, sizeof x->dir, "%s/%s", g_tmp, name);
    x->c = load_cfg(name, url ? url : g_url, x->dir);
    x->in = (conn_in){x->c, &x->c->connectors[0], g_maps, &x->stop, NULL};
    x->st = conn_fixture_store(name);
}

static void fx_close(fx *x)
{
    atomic_store(&x->stop, 1);
    if (x->running)
        pthread_join(x->t, NULL);
    conn_filedrop_ops.close(&x->in);
    store_close(x->st);
    cfg_free(x->c);
}

static int64_t stored(fx *x)
{
    err_t e;
    return store_local_len(x->st, &e);
}

static int exists(const fx *x, const char *rel)
{
    char p[1100];
    snprintf(p, sizeof p, "%s/%s", x->dir, rel);
    return access(p, F_OK) == 0;
}

/* Waits up to 5 s for rel to exist (or, with gone, to be gone). */
static int wait_file(const fx *x, const char *rel, int gone)
{
    for (int i = 0; i < 100; i++) {
        if (exists(x, rel) != gone)
            return 1;
        usleep(50000);
    }
    return 0;
}

static void write_at(const fx *x, const char *rel, const char *p, size_t n,
                     const char *mode)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", x->dir, rel);
    FILE *f = fopen(path, mode);
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Writes sample as rel.tmp, then renames it to rel (the convention). */
static void drop(const fx *x, const char *rel, const char *sample)
{
    static char buf[1 << 16];
    char a[1100], b[1100];
    size_t n = conn_fixture_read(sample, buf, sizeof buf);
    snprintf(a, sizeof a, "%s/%s.tmp", x->dir, rel);
    snprintf(b, sizeof b, "%s/%s", x->dir, rel);
    write_at(x, strrchr(a, '/') + 1, buf, n, "wb");
    assert_int_equal(rename(a, b), 0);
}

/* ---- the tests ---- */

static void test_partial_then_renamed(void **state)
{
    (void)state;
    fx x;
    static char buf[1 << 16];
    fx_init(&x, "d1", NULL);
    fx_start(&x);
    size_t n = conn_fixture_read(GOOD, buf, sizeof buf);
    write_at(&x, "rail.edi.tmp", buf, n / 2, "wb"); /* half written */
    usleep(700000);
    assert_true(exists(&x, "rail.edi.tmp"));
    assert_false(exists(&x, "done/rail.edi.tmp"));
    assert_false(exists(&x, "error/rail.edi.tmp"));
    assert_int_equal(stored(&x), 0);
    write_at(&x, "rail.edi.tmp", buf + n / 2, n - n / 2, "ab");
    char a[1100], b[1100];
    snprintf(a, sizeof a, "%s/rail.edi.tmp", x.dir);
    snprintf(b, sizeof b, "%s/rail.edi", x.dir);
    assert_int_equal(rename(a, b), 0);
    assert_true(wait_file(&x, "done/rail.edi", 0));
    assert_false(exists(&x, "rail.edi"));
    assert_int_equal(stored(&x), 3);
    fx_close(&x);
}

static void test_malformed_to_error(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, "d2", NULL);
    fx_start(&x);
    drop(&x, "bad.edi", BAD);
    assert_true(wait_file(&x, "error/bad.edi", 0));
    assert_true(exists(&x, "error/bad.edi.err"));
    assert_false(exists(&x, "bad.edi"));
    char path[1100], line[1024];
    snprintf(path, sizeof path, "%s/error/bad.edi.err", x.dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned l, c;
        char rest[16];
        if (sscanf(line, "bad.edi:%u:%u: %7s", &l, &c, rest) != 3 ||
            strcmp(rest, "error:"))
            fail_msg("not NAME:LINE:COL: error: ...: %s", line);
        lines++;
    }
    fclose(f);
    assert_true(lines >= 1);
    assert_int_equal(stored(&x), 0);
    fx_close(&x);
}

static void test_same_file_again_is_dup(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, "d3", NULL);
    fx_start(&x);
    drop(&x, "w.edi", GOOD);
    assert_true(wait_file(&x, "done/w.edi", 0));
    drop(&x, "w.edi", GOOD); /* the sender sends it twice */
    assert_true(wait_file(&x, "done/w.edi.1", 0));
    assert_int_equal(stored(&x), 3);
    drop(&x, "bad.edi", BAD);
    assert_true(wait_file(&x, "error/bad.edi", 0));
    drop(&x, "bad.edi", BAD);
    assert_true(wait_file(&x, "error/bad.edi.1", 0));
    assert_true(exists(&x, "error/bad.edi.1.err"));
    fx_close(&x);
}

static void test_present_before_start(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, "d4", NULL);
    mkdir(x.dir, 0775);
    drop(&x, "old.edi", GOOD);
    char p[1100];
    snprintf(p, sizeof p, "%s/old.edi", x.dir);
    struct timespec ts[2] = {{time(NULL) - 60, 0}, {time(NULL) - 60, 0}};
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0); /* settled */
    fx_start(&x);
    assert_true(wait_file(&x, "done/old.edi", 0));
    assert_int_equal(stored(&x), 3);
    fx_close(&x);
}

static void test_redis_down_leaves_file(void **state)
{
    (void)state;
    fx x;
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", test_redis_free_port());
    fx_init(&x, "d5", url);
    fx_start(&x);
    drop(&x, "wait.edi", GOOD);
    usleep(1500000);
    assert_true(exists(&x, "wait.edi"));
    assert_false(exists(&x, "error/wait.edi"));
    assert_false(exists(&x, "done/wait.edi"));
    fx_close(&x);
}

static void test_oversized_refused(void **state)
{
    (void)state;
    fx x;
    fx_init(&x, "d6", NULL);
    fx_start(&x);
    char a[1100], b[1100];
    snprintf(a, sizeof a, "%s/big.edi.tmp", x.dir);
    snprintf(b, sizeof b, "%s/big.edi", x.dir);
    int fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0664);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, ((off_t)64 << 20) + 1), 0);
    close(fd);
    assert_int_equal(rename(a, b), 0);
    assert_true(wait_file(&x, "error/big.edi.err", 0));
    assert_true(exists(&x, "error/big.edi"));
    char path[1100], line[512] = {0};
    snprintf(path, sizeof path, "%s/error/big.edi.err", x.dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_non_null(strstr(line, "big.edi:0:0: error: "));
    assert_non_null(strstr(line, "64 MiB"));
    assert_int_equal(stored(&x), 0);
    fx_close(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partial_then_renamed),
        cmocka_unit_test(test_malformed_to_error),
        cmocka_unit_test(test_same_file_again_is_dup),
        cmocka_unit_test(test_present_before_start),
        cmocka_unit_test(test_redis_down_leaves_file),
        cmocka_unit_test(test_oversized_refused),
    };
    return cmocka_run_group_tests_name("conn_filedrop", tests,
                                       conn_fixture_setup,
                                       conn_fixture_teardown);
}
