/* Unit tests for strict.c: rule and mode names, the defaults by kind, and
 * which level decides (sender over table). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "strict.h"

static void test_names_round_trip(void **state)
{
    (void)state;
    for (int r = STRICT_NONE + 1; r < STRICT__N; r++) {
        const char *n = strict_rule_name(r);
        assert_non_null(n);
        assert_int_equal(strict_rule_find(n), r);
        assert_non_null(strstr(strict_rule_list(), n));
    }
    assert_string_equal(strict_rule_name(STRICT_CHECK_DIGITS), "check_digits");
    assert_null(strict_rule_name(STRICT_NONE));
    assert_null(strict_rule_name(STRICT__N));
    assert_null(strict_rule_name(-1));
    assert_int_equal(strict_rule_find("check_digit"), STRICT_NONE);
    assert_int_equal(strict_rule_find("BOM"), STRICT_NONE);
    assert_int_equal(strict_rule_find(NULL), STRICT_NONE);
}

static void test_modes(void **state)
{
    (void)state;
    assert_int_equal(strict_mode_find("strict"), STRICT_STRICT);
    assert_int_equal(strict_mode_find("lenient"), STRICT_LENIENT);
    assert_int_equal(strict_mode_find("Lenient"), STRICT_UNSET);
    assert_int_equal(strict_mode_find("off"), STRICT_UNSET);
    assert_int_equal(strict_mode_find(NULL), STRICT_UNSET);
}

static void test_defaults_by_kind(void **state)
{
    (void)state;
    strict_set s;
    strict_defaults("status", &s);
    assert_true(strict_is_lenient(&s, NULL, STRICT_CHECK_DIGITS));
    assert_false(strict_is_lenient(&s, NULL, STRICT_ENVELOPE_COUNTS));
    strict_defaults("response", &s);
    assert_true(strict_is_lenient(&s, NULL, STRICT_CHECK_DIGITS));
    static const char *const filed[] = {"declaration", "manifest", "waybill",
                                        "permit"};
    for (size_t i = 0; i < 4; i++) {
        strict_defaults(filed[i], &s);
        assert_false(strict_is_lenient(&s, NULL, STRICT_CHECK_DIGITS));
        assert_false(strict_is_lenient(&s, NULL, STRICT_ENVELOPE_COUNTS));
        assert_true(strict_is_lenient(&s, NULL, STRICT_DATES));
        assert_true(strict_is_lenient(&s, NULL, STRICT_BOM));
        assert_true(strict_is_lenient(&s, NULL, STRICT_LINE_ENDS));
        assert_true(strict_is_lenient(&s, NULL, STRICT_TRAILING_SPACE));
    }
    strict_defaults(NULL, &s); /* no kind: strict where it matters */
    assert_false(strict_is_lenient(&s, NULL, STRICT_CHECK_DIGITS));
}

static void test_sender_over_table(void **state)
{
    (void)state;
    strict_set table, own = {{0}}, over = {{0}};
    strict_defaults("declaration", &table);
    own.mode[STRICT_BOM] = STRICT_STRICT;
    strict_overlay(&table, &own); /* the table's own `strictness:` */
    assert_false(strict_is_lenient(&table, NULL, STRICT_BOM));
    assert_true(strict_is_lenient(&table, NULL, STRICT_DATES)); /* kept */
    over.mode[STRICT_CHECK_DIGITS] = STRICT_LENIENT;
    over.mode[STRICT_DATES] = STRICT_STRICT;
    assert_true(strict_is_lenient(&table, &over, STRICT_CHECK_DIGITS));
    assert_false(strict_is_lenient(&table, &over, STRICT_DATES));
    /* what the sender leaves unset, the table decides */
    assert_false(strict_is_lenient(&table, &over, STRICT_BOM));
    assert_false(strict_is_lenient(&table, &over, STRICT_ENVELOPE_COUNTS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_defaults_by_kind),
        cmocka_unit_test(test_sender_over_table),
    };
    return cmocka_run_group_tests_name("connectors/strict", tests, NULL,
                                       NULL);
}
