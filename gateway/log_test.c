/* log: lines are key=value, quoted where needed, filtered by level. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static void read_all(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t k = fread(out, 1, n - 1, f);
    out[k] = '\0';
    fclose(f);
}

static void test_line_and_level(void **state)
{
    (void)state;
    char path[] = "/tmp/eport-log-XXXXXX", text[8192];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    err_t e;
    assert_int_equal(log_open(path, LOG_INFO, "CQ", &e), 0);
    log_event(LOG_DEBUG, "hidden", "x=%d", 1);
    log_event(LOG_WARN, "refused", "peer=%s msg=%s", "SC",
              log_q("bad \"sig\"\n"));
    log_close();
    read_all(path, text, sizeof text);
    unlink(path);
    assert_null(strstr(text, "hidden"));
    assert_non_null(strstr(text, " level=warn node=CQ event=refused peer=SC "
                                 "msg=\"bad \\\"sig\\\"\\x0a\"\n"));
    assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text));
}

static void test_quote(void **state)
{
    (void)state;
    assert_string_equal(log_q("plain"), "plain");
    assert_string_equal(log_q(""), "\"\"");
    assert_string_equal(log_q("a=b"), "\"a=b\"");
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[0] = ' ';                /* not plain: quoted, and capped */
    big[sizeof big - 1] = '\0';
    const char *q = log_q(big);
    assert_true(strlen(q) < 512);
}

static void test_long_line_cut(void **state)
{
    (void)state;
    char path[] = "/tmp/eport-log-XXXXXX", text[2 * LOG_LINE_MAX];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    err_t e;
    assert_int_equal(log_open(path, LOG_DEBUG, NULL, &e), 0);
    char *big = malloc(3 * LOG_LINE_MAX);
    memset(big, 'y', 3 * LOG_LINE_MAX - 1);
    big[3 * LOG_LINE_MAX - 1] = '\0';
    log_event(LOG_ERROR, "big", "v=%s", big);
    free(big);
    log_close();
    read_all(path, text, sizeof text);
    unlink(path);
    assert_true(strlen(text) <= LOG_LINE_MAX);
    assert_non_null(strstr(text, "...\n"));
}

/* One line per interval; the ones held back are counted, then reported
 * with the next line and the count starts again. */
static void test_gate(void **state)
{
    (void)state;
    log_gate g = {0};
    unsigned long long held = 99;
    assert_int_equal(log_gate_pass(&g, 60000, &held), 1);
    assert_int_equal(held, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(log_gate_pass(&g, 60000, &held), 0);
    assert_int_equal(g.held, 5);
    g.next_ms = 0; /* the interval is over */
    assert_int_equal(log_gate_pass(&g, 60000, &held), 1);
    assert_int_equal(held, 5);
    assert_int_equal(g.held, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_and_level),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_long_line_cut),
        cmocka_unit_test(test_gate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
