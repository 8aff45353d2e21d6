/* Unit tests for msgid: the ULID layout against the specification's
 * example, strict ordering within one millisecond and across a clock step
 * back, exhaustion of the random part, uniqueness across threads and a
 * fork, every refusal of msgid_parse, and derived (deterministic) ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "msgid.h"

static const unsigned char zeros[MSGID_RAND_BYTES];

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The ULID specification's example time, 1469918176385 = 01ARYZ6S41. */
static void test_layout(void **state)
{
    (void)state;
    msgid_gen g = {0};
    char id[MSGID_LEN + 1];
    assert_int_equal(msgid_next(&g, 1469918176385ull, zeros, id, NULL), 0);
    assert_string_equal(id, "01ARYZ6S410000000000000000");
    unsigned char ones[MSGID_RAND_BYTES];
    memset(ones, 0xff, sizeof ones);
    msgid_gen g2 = {0};
    assert_int_equal(msgid_next(&g2, MSGID_MAX_MS, ones, id, NULL), 0);
    assert_string_equal(id, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    uint64_t ms = 0;
    assert_int_equal(msgid_parse(id, &ms, NULL), 0);
    assert_true(ms == MSGID_MAX_MS);
    err_t e;
    assert_int_equal(msgid_next(&g2, MSGID_MAX_MS + 1, ones, id, &e),
                     ERR_INVALID);
}

static void test_new_format(void **state)
{
    (void)state;
    char id[MSGID_LEN + 1];
    err_t e;
    uint64_t before = now_ms();
    assert_int_equal(msgid_new(id, &e), 0);
    uint64_t after = now_ms();
    assert_int_equal(strlen(id), MSGID_LEN);
    assert_int_equal(strspn(id, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"),
                     MSGID_LEN);
    uint64_t ms = 0;
    assert_int_equal(msgid_parse(id, &ms, &e), 0);
    assert_true(ms >= before && ms <= after);
    uint64_t t = 0;
    assert_int_equal(msgid_time(id, &t), 0);
    assert_true(t == ms);
}

static void test_same_ms_increments(void **state)
{
    (void)state;
    msgid_gen g = {0};
    unsigned char r[MSGID_RAND_BYTES] = {0};
    r[MSGID_RAND_BYTES - 1] = 0xfe;
    char a[MSGID_LEN + 1], b[MSGID_LEN + 1], c[MSGID_LEN + 1];
    assert_int_equal(msgid_next(&g, 1000, r, a, NULL), 0);
    assert_int_equal(msgid_next(&g, 1000, zeros, b, NULL), 0);
    assert_int_equal(msgid_next(&g, 1000, zeros, c, NULL), 0); /* carry */
    assert_true(strcmp(a, b) < 0 && strcmp(b, c) < 0);
    assert_string_equal(a + 10, "000000000000007Y");
    assert_string_equal(b + 10, "000000000000007Z");
    assert_string_equal(c + 10, "0000000000000080");
}

static void test_clock_back_keeps_order(void **state)
{
    (void)state;
    msgid_gen g = {0};
    char a[MSGID_LEN + 1], b[MSGID_LEN + 1];
    unsigned char r[MSGID_RAND_BYTES];
    memset(r, 0x55, sizeof r);
    assert_int_equal(msgid_next(&g, 5000, r, a, NULL), 0);
    assert_int_equal(msgid_next(&g, 4000, zeros, b, NULL), 0);
    assert_true(strcmp(a, b) < 0);
    uint64_t ms;
    assert_int_equal(msgid_time(b, &ms), 0);
    assert_true(ms == 5000); /* the later time is kept */
    assert_int_equal(msgid_next(&g, 5001, zeros, b, NULL), 0);
    assert_int_equal(msgid_time(b, &ms), 0);
    assert_true(ms == 5001); /* fresh random part once time moves on */
    assert_string_equal(b + 10, "0000000000000000");
}

static void test_exhausted(void **state)
{
    (void)state;
    msgid_gen g = {0};
    unsigned char ones[MSGID_RAND_BYTES];
    memset(ones, 0xff, sizeof ones);
    char a[MSGID_LEN + 1], b[MSGID_LEN + 1];
    err_t e;
    assert_int_equal(msgid_next(&g, 7, ones, a, &e), 0);
    assert_int_equal(msgid_next(&g, 7, zeros, b, &e), ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "exhausted"));
    assert_int_equal(msgid_next(&g, 8, zeros, b, &e), 0);
    assert_true(strcmp(a, b) < 0);
}

static void test_new_monotonic(void **state)
{
    (void)state;
    enum { N = 20000 };
    char prev[MSGID_LEN + 1], id[MSGID_LEN + 1];
    assert_int_equal(msgid_new(prev, NULL), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(msgid_new(id, NULL), 0);
        if (strcmp(prev, id) >= 0)
            fail_msg("id %d not increasing: %s then %s", i, prev, id);
        memcpy(prev, id, sizeof id);
    }
}

enum { THREADS = 4, PER_THREAD = 5000 };
static char thread_ids[THREADS * PER_THREAD][MSGID_LEN + 1];

static void *thread_main(void *arg)
{
    size_t t = (size_t)(uintptr_t)arg;
    for (size_t i = 0; i < PER_THREAD; i++)
        if (msgid_new(thread_ids[t * PER_THREAD + i], NULL) != 0)
            return arg;
    return NULL;
}

static int cmp_id(const void *x, const void *y)
{
    return strcmp(x, y);
}

static void test_threads_unique(void **state)
{
    (void)state;
    pthread_t th[THREADS];
    for (size_t t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, thread_main,
                                        (void *)(uintptr_t)t), 0);
    for (size_t t = 0; t < THREADS; t++) {
        void *ret = (void *)1;
        pthread_join(th[t], &ret);
        assert_null(ret);
    }
    qsort(thread_ids, THREADS * PER_THREAD, sizeof thread_ids[0], cmp_id);
    for (size_t i = 1; i < THREADS * PER_THREAD; i++)
        if (strcmp(thread_ids[i - 1], thread_ids[i]) == 0)
            fail_msg("duplicate id %s", thread_ids[i]);
}

/* Parent and child make ids right after the fork, usually in the same ms:
 * they must still differ (the child draws a fresh random part). */
static void test_fork_unique(void **state)
{
    (void)state;
    char before[MSGID_LEN + 1], mine[MSGID_LEN + 1], child[MSGID_LEN + 1];
    assert_int_equal(msgid_new(before, NULL), 0);
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char id[MSGID_LEN + 1] = {0};
        msgid_new(id, NULL);
        ssize_t w = write(fd[1], id, MSGID_LEN);
        _exit(w == MSGID_LEN ? 0 : 1);
    }
    assert_int_equal(msgid_new(mine, NULL), 0);
    memset(child, 0, sizeof child);
    assert_int_equal(read(fd[0], child, MSGID_LEN), MSGID_LEN);
    int st = 0;
    waitpid(pid, &st, 0);
    close(fd[0]);
    close(fd[1]);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_string_not_equal(mine, child);
}

static void parse_bad(const char *s, const char *part)
{
    err_t e;
    err_clear(&e);
    uint64_t ms = 42;
    int rc = msgid_parse(s, &ms, &e);
    if (rc != ERR_INVALID || !strstr(e.msg, part))
        fail_msg("'%s': rc %d, message '%s' lacks '%s'", s ? s : "(null)",
                 rc, e.msg, part);
    assert_int_equal(msgid_time(s, &ms), ERR_INVALID);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    parse_bad(NULL, "missing");
    parse_bad("", "0 characters");
    parse_bad("01ARYZ6S41TSV4RRFFQ69G5FA", "25 characters");
    parse_bad("01ARYZ6S41TSV4RRFFQ69G5FAVX", "longer than 26");
    parse_bad("01aryz6s41tsv4rrffq69g5fav", "character 3");
    parse_bad("01ARYZ6S41TSV4RRFFQ69G5FAI", "character 26");
    parse_bad("01ARYZ6S41TSV4RRFFQ69G5FAL", "character 26");
    parse_bad("O1ARYZ6S41TSV4RRFFQ69G5FAV", "character 1");
    parse_bad("01ARYZ6S41USV4RRFFQ69G5FAV", "character 11");
    parse_bad("01ARYZ6S41 SV4RRFFQ69G5FAV", "character 11");
    parse_bad("81ARYZ6S41TSV4RRFFQ69G5FAV", "first character above 7");
    uint64_t ms = 0;
    assert_int_equal(msgid_parse("01ARYZ6S41TSV4RRFFQ69G5FAV", &ms, NULL), 0);
    assert_true(ms == 1469918176385ull);
    assert_int_equal(msgid_parse("01ARYZ6S41TSV4RRFFQ69G5FAV", NULL, NULL), 0);
}

/* Exactly the 32 canonical digits are accepted, in any position but the
 * first (which holds only 3 bits): every other byte, lower case and the
 * I L O U aliases included, is refused. */
static void test_every_byte(void **state)
{
    (void)state;
    const char *alpha = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    char id[MSGID_LEN + 1];
    err_t e;
    for (int c = 1; c < 256; c++) {
        memset(id, '0', MSGID_LEN);
        id[MSGID_LEN] = '\0';
        id[5] = (char)c;
        int want = strchr(alpha, c) != NULL;
        if ((msgid_parse(id, NULL, &e) == 0) != want)
            fail_msg("byte 0x%02x: %s", c, want ? "refused" : "accepted");
    }
}

/* Derived ids: valid, the time kept, the same for the same key, another
 * for a key one byte apart. */
static void test_derive(void **state)
{
    (void)state;
    char a[MSGID_LEN + 1], b[MSGID_LEN + 1], c[MSGID_LEN + 1];
    uint64_t ms = 0;
    assert_int_equal(msgid_derive(1469918176385ull, "26CQ1 arrived SH", 16,
                                  a, NULL), 0);
    assert_int_equal(msgid_parse(a, &ms, NULL), 0);
    assert_int_equal(ms, 1469918176385ull);
    assert_memory_equal(a, "01ARYZ6S41", 10);
    assert_int_equal(msgid_derive(1469918176385ull, "26CQ1 arrived SH", 16,
                                  b, NULL), 0);
    assert_string_equal(a, b);
    assert_int_equal(msgid_derive(1469918176385ull, "26CQ1 arrived SN", 16,
                                  c, NULL), 0);
    assert_string_not_equal(a, c);
    assert_memory_equal(c, "01ARYZ6S41", 10);
    err_t e;
    assert_int_equal(msgid_derive(MSGID_MAX_MS + 1, "k", 1, c, &e),
                     ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_new_format),
        cmocka_unit_test(test_same_ms_increments),
        cmocka_unit_test(test_clock_back_keeps_order),
        cmocka_unit_test(test_exhausted),
        cmocka_unit_test(test_new_monotonic),
        cmocka_unit_test(test_threads_unique),
        cmocka_unit_test(test_fork_unique),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_derive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
