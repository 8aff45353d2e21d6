/* Unit tests for store_fan against a private redis-server: a send done
 * once per dispatching message, answers only to what was sent, the
 * status read back sorted, and the combined state's precedence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store_fan.h"
#include "store_test_util.h"

#define SUB "01J9ZK3M5V7Q2X8N4R6T0W1Y3A"
#define FIX "01J9ZK3M5V7Q2X8N4R6T0W1Y3B"

static store_fan_ag line(const char *agency, const char *state,
                         const char *missing)
{
    store_fan_ag a = {0};
    snprintf(a.agency, sizeof a.agency, "%s", agency);
    snprintf(a.state, sizeof a.state, "%s", state);
    snprintf(a.mapping, sizeof a.mapping, "m-%s", agency);
    snprintf(a.conn, sizeof a.conn, "c-%s", agency);
    snprintf(a.missing, sizeof a.missing, "%s", missing);
    return a;
}

static const store_fan_ag *find(const store_fan_ag *a, size_t n,
                                const char *agency)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(a[i].agency, agency))
            return &a[i];
    fail_msg("agency %s not in the status", agency);
    return NULL;
}

static void test_send_answer(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "f1:");
    err_t e = {0};
    store_fan_ag c = line("customs", "sent", ""), m = line("maritime",
        "incomplete", "legs[1].voyage");
    assert_int_equal(store_fan_send(st, SUB, "manifest", &c, SUB, &e), 0);
    assert_int_equal(store_fan_send(st, SUB, "manifest", &m, SUB, &e), 0);
    assert_int_equal(store_fan_send(st, SUB, "manifest", &c, SUB, &e), 1);
    assert_int_equal(store_fan_answer(st, SUB, "customs", "accepted", "ok",
                                      5, &e), 0);
    assert_int_equal(store_fan_answer(st, SUB, "border", "accepted", "", 5,
                                      &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "nothing was sent to agency border"));
    store_fan_ag got[4];
    size_t n;
    char kind[24];
    assert_int_equal(store_fan_get(st, SUB, kind, got, 4, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(kind, "manifest");
    assert_string_equal(got[0].agency, "customs"); /* sorted */
    assert_string_equal(got[0].state, "accepted");
    assert_string_equal(got[0].text, "ok");
    assert_int_equal(got[0].attempt, 1);
    assert_string_equal(got[1].missing, "legs[1].voyage");
    assert_string_equal(store_fan_combined(got, n), "incomplete");
    /* the correction: only maritime, attempt 2; customs keeps its answer */
    m = line("maritime", "sent", "");
    assert_int_equal(store_fan_send(st, SUB, "manifest", &m, FIX, &e), 0);
    assert_int_equal(store_fan_send(st, SUB, "manifest", &m, FIX, &e), 1);
    assert_int_equal(store_fan_get(st, SUB, kind, got, 4, &n, &e), 0);
    assert_int_equal(find(got, n, "maritime")->attempt, 2);
    assert_string_equal(find(got, n, "maritime")->missing, "");
    assert_string_equal(find(got, n, "customs")->state, "accepted");
    assert_string_equal(store_fan_combined(got, n), "pending");
    assert_int_equal(store_fan_get(st, FIX, kind, got, 4, &n, &e),
                     ERR_NOTFOUND);
    assert_int_equal(store_fan_send(st, "bad id/x", "manifest", &c, SUB, &e),
                     ERR_INVALID);
    store_close(st);
}

static void test_combined(void **state)
{
    (void)state;
    store_fan_ag a[3] = {line("a", "released", ""), line("b", "released", ""),
                         line("c", "released", "")};
    assert_string_equal(store_fan_combined(a, 3), "released");
    snprintf(a[1].state, sizeof a[1].state, "accepted");
    assert_string_equal(store_fan_combined(a, 3), "accepted");
    snprintf(a[2].state, sizeof a[2].state, "inspection_required");
    assert_string_equal(store_fan_combined(a, 3), "inspection_required");
    snprintf(a[0].state, sizeof a[0].state, "rejected");
    assert_string_equal(store_fan_combined(a, 3), "rejected");
    snprintf(a[0].state, sizeof a[0].state, "something-new");
    assert_string_equal(store_fan_combined(a, 3), "inspection_required");
    snprintf(a[2].state, sizeof a[2].state, "accepted");
    assert_string_equal(store_fan_combined(a, 3), "pending");
    assert_string_equal(store_fan_combined(a, 0), "none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_answer),
        cmocka_unit_test(test_combined),
    };
    return cmocka_run_group_tests(tests, stu_group_setup, stu_group_teardown);
}
