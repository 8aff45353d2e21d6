/* Unit tests for err: the code table, err_set/err_wrap/err_clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"

static void test_set_fills_code_and_message(void **state)
{
    (void)state;
    err_t e;
    err_clear(&e);
    int rc = err_set(&e, ERR_SYNTAX, "%s:%d:%d: error: %s", "in.edi", 3, 14,
                     "value too long");
    assert_int_equal(rc, ERR_SYNTAX);
    assert_int_equal(e.code, ERR_SYNTAX);
    assert_string_equal(e.msg, "in.edi:3:14: error: value too long");
}

static void test_set_null_err_returns_code(void **state)
{
    (void)state;
    assert_int_equal(err_set(NULL, ERR_IO, "ignored %d", 1), ERR_IO);
    assert_int_equal(err_set(NULL, ERR_OK, "fine"), 0);
}

static void test_set_truncates_long_message(void **state)
{
    (void)state;
    char big[ERR_MSG_MAX * 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    err_t e;
    memset(&e, 0x55, sizeof e); /* make sure a NUL is really written */
    err_set(&e, ERR_TOOBIG, "%s", big);
    assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
    assert_int_equal(e.msg[ERR_MSG_MAX - 2], 'x');
    assert_int_equal(e.code, ERR_TOOBIG);
}

static void test_wrap_prefixes_where(void **state)
{
    (void)state;
    err_t e;
    err_set(&e, ERR_CODE, "segment 4 (NAD): unknown code '%s'", "ZZ");
    int rc = err_wrap(&e, "%s", "msg 2");
    assert_int_equal(rc, ERR_CODE);
    assert_int_equal(e.code, ERR_CODE);
    assert_string_equal(e.msg, "msg 2: segment 4 (NAD): unknown code 'ZZ'");
    err_wrap(&e, "file %s", "a.edi");
    assert_string_equal(e.msg,
                        "file a.edi: msg 2: segment 4 (NAD): unknown code 'ZZ'");
}

static void test_wrap_null_is_invalid(void **state)
{
    (void)state;
    assert_int_equal(err_wrap(NULL, "x"), ERR_INVALID);
}

static void test_wrap_stays_bounded(void **state)
{
    (void)state;
    err_t e;
    char big[ERR_MSG_MAX];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    err_set(&e, ERR_IO, "%s", big);
    err_wrap(&e, "prefix");
    assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
    assert_memory_equal(e.msg, "prefix: yyy", 11);
}

static void test_clear_resets(void **state)
{
    (void)state;
    err_t e;
    err_set(&e, ERR_NOMEM, "boom");
    err_clear(&e);
    assert_int_equal(e.code, 0);
    assert_string_equal(e.msg, "");
    err_clear(NULL); /* must not crash */
}

static void test_names_and_texts(void **state)
{
    (void)state;
    assert_string_equal(err_name(ERR_OK), "OK");
    assert_string_equal(err_text(ERR_OK), "success");
    assert_string_equal(err_name(ERR_SYNTAX), "SYNTAX");
    assert_string_equal(err_text(ERR_SYNTAX), "syntax error");
    assert_string_equal(err_name(ERR_TOOBIG), "TOOBIG");
    assert_string_equal(err_text(ERR_TOOBIG), "size limit exceeded");
    assert_string_equal(err_name(ERR_USAGE), "USAGE");
    assert_string_equal(err_text(ERR_USAGE), "bad usage");
    assert_string_equal(err_name(ERR_UNSUPPORTED), "UNSUPPORTED");
    assert_string_equal(err_name(ERR_AGAIN), "AGAIN");
    assert_string_equal(err_text(ERR_AGAIN), "try again");
}

static void test_unknown_code(void **state)
{
    (void)state;
    assert_string_equal(err_name(-999), "UNKNOWN");
    assert_string_equal(err_text(-999), "unknown error");
    assert_string_equal(err_name(1), "UNKNOWN");
}

/* Every row of ERR_MAP is distinct, negative (but OK) and round-trips
 * through err_name. */
static void test_table_consistent(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *name;
    } rows[] = {
#define ROW(name, num, text) {num, #name},
        ERR_MAP(ROW)
#undef ROW
    };
    size_t n = sizeof rows / sizeof rows[0];
    assert_true(n >= 15);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(err_name(rows[i].code), rows[i].name) != 0)
            fail_msg("code %d: name '%s', want '%s'", rows[i].code,
                     err_name(rows[i].code), rows[i].name);
        if (strcmp(err_text(rows[i].code), "unknown error") == 0)
            fail_msg("code %d has no text", rows[i].code);
        if (i > 0 && rows[i].code >= 0)
            fail_msg("code %s is not negative", rows[i].name);
        for (size_t j = 0; j < i; j++)
            if (rows[i].code == rows[j].code)
                fail_msg("codes %s and %s share %d", rows[i].name,
                         rows[j].name, rows[i].code);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_fills_code_and_message),
        cmocka_unit_test(test_set_null_err_returns_code),
        cmocka_unit_test(test_set_truncates_long_message),
        cmocka_unit_test(test_wrap_prefixes_where),
        cmocka_unit_test(test_wrap_null_is_invalid),
        cmocka_unit_test(test_wrap_stays_bounded),
        cmocka_unit_test(test_clear_resets),
        cmocka_unit_test(test_names_and_texts),
        cmocka_unit_test(test_unknown_code),
        cmocka_unit_test(test_table_consistent),
    };
    return cmocka_run_group_tests_name("gateway/err", tests, NULL, NULL);
}
