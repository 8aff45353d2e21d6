#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "check.h"
#include "check_tables.h"

static void valid(check_fn fn, const char *s)
{
    err_t e;
    err_clear(&e);
    if (fn(s, &e) != 0)
        fail_msg("'%s' refused: %s", s, e.msg);
}

/* part NULL: any message will do, as long as there is one. */
static void invalid(check_fn fn, const char *s, const char *part)
{
    err_t e;
    err_clear(&e);
    int rc = fn(s, &e);
    if (rc != ERR_INVALID || e.code != ERR_INVALID || !e.msg[0] ||
        (part && !strstr(e.msg, part)))
        fail_msg("'%s': rc %d msg '%s', want ERR_INVALID with '%s'",
                 s ? s : "(null)", rc, e.msg, part ? part : "");
}

static void exact_code(check_fn fn, const char *s, int code, const char *msg)
{
    err_t e;
    err_clear(&e);
    assert_int_equal(fn(s, &e), code);
    assert_int_equal(e.code, code);
    assert_string_equal(e.msg, msg);
}

static void exact(check_fn fn, const char *s, const char *msg)
{
    exact_code(fn, s, ERR_INVALID, msg);
}

static void test_iso6346_valid(void **state)
{
    (void)state;
    valid(check_iso6346, "CSQU3054383");  /* the standard's own example */
    valid(check_iso6346, "MSKU9070323");
    valid(check_iso6346, "TGHU1234567");
    valid(check_iso6346, "HLXU1234561");
    valid(check_iso6346, "ABCJ0000004");  /* category J */
    valid(check_iso6346, "ABCZ1000000");  /* category Z */
    valid(check_iso6346, "CSQU0000070");  /* remainder 10 -> 0 */
    valid(check_iso6346, "CSQU0000090");  /* remainder 0 */
}

static void test_iso6346_digit(void **state)
{
    (void)state;
    assert_int_equal(check_iso6346_digit("CSQU305438"), 3);
    assert_int_equal(check_iso6346_digit("MSKU907032"), 3);
    assert_int_equal(check_iso6346_digit("CSQU000007"), 0);
    assert_int_equal(check_iso6346_digit("APZU310624"), 8);
    assert_int_equal(check_iso6346_digit("CSQU30543"), -1);
    assert_int_equal(check_iso6346_digit("1SQU305438"), -1);
    assert_int_equal(check_iso6346_digit("CSQUA05438"), -1);
    assert_int_equal(check_iso6346_digit("csqu305438"), -1);
    assert_int_equal(check_iso6346_digit(NULL), -1);
}

static void test_iso6346_invalid(void **state)
{
    (void)state;
    /* a check digit alone wrong: its own code (the check_digits rule) */
    exact_code(check_iso6346, "CSQU3054384", ERR_CHECK_DIGIT,
          "container number 'CSQU3054384' fails the ISO 6346 check digit "
          "(expected 3)");
    exact(check_iso6346, "CSQ1",
          "container number 'CSQ1' is not 4 letters, 6 digits and a check "
          "digit");
    assert_int_equal(check_iso6346("CSQU0000071", NULL), ERR_CHECK_DIGIT);
    invalid(check_iso6346, "CSQA3054383", "category 'A'");
    invalid(check_iso6346, "csqu3054383", "capital letters");
    invalid(check_iso6346, "CSQU 305438 3", "is not 4 letters");
    invalid(check_iso6346, "CSQU305438X", "is not 4 letters");
    invalid(check_iso6346, "CSQU30543833", "is not 4 letters");
    invalid(check_iso6346, "", "''");
    invalid(check_iso6346, NULL, "is not 4 letters");
}

static void test_unlocode(void **state)
{
    (void)state;
    valid(check_unlocode, "CNSHA");
    valid(check_unlocode, "CNNGB");
    valid(check_unlocode, "DEHAM");
    valid(check_unlocode, "NLRTM");
    valid(check_unlocode, "USNYC");
    valid(check_unlocode, "CNZ29");   /* digits 2-9 are allowed */
    valid(check_unlocode, "XZAAA");   /* international waters */
    invalid(check_unlocode, "CN SHA", "without a space");
    invalid(check_unlocode, "XXABC", "'XX', which is not an ISO 3166");
    invalid(check_unlocode, "UKLON", "'UK'");
    invalid(check_unlocode, "CNSH1", "3 of A-Z, 2-9");
    invalid(check_unlocode, "CNSH0", "3 of A-Z, 2-9");
    invalid(check_unlocode, "cnsha", "2 capital letters");
    invalid(check_unlocode, "CNSHAN", NULL);
    invalid(check_unlocode, "CN", NULL);
}

static void test_hs(void **state)
{
    (void)state;
    valid(check_hs, "847130");
    valid(check_hs, "8471300");
    valid(check_hs, "84713000");
    valid(check_hs, "8471300000");
    invalid(check_hs, "8471.30", "contains '.'");
    invalid(check_hs, "8471.30", "without dots or spaces");
    invalid(check_hs, "8471 30 00", "contains ' '");
    invalid(check_hs, "84713", "has 5 digits; it needs 6 to 10");
    invalid(check_hs, "84713000001", "has 11 digits");
    invalid(check_hs, "84a130", "'a', which is not a digit");
    invalid(check_hs, "00123456", "chapter 00");
    invalid(check_hs, "", "0 digits");
}

static void test_iso4217(void **state)
{
    (void)state;
    valid(check_iso4217, "CNY");
    valid(check_iso4217, "EUR");
    valid(check_iso4217, "USD");
    valid(check_iso4217, "HKD");
    valid(check_iso4217, "XCG");  /* new in 2025 */
    valid(check_iso4217, "ZWG");  /* new in 2024 */
    valid(check_iso4217, "AED");  /* first */
    valid(check_iso4217, "ZMW");  /* last */
    exact(check_iso4217, "XYZ",
          "currency code 'XYZ' is not an active ISO 4217 code");
    invalid(check_iso4217, "RMB", "(use CNY)");
    invalid(check_iso4217, "BGN", "(use EUR)");
    invalid(check_iso4217, "HRK", "not an active");
    invalid(check_iso4217, "cny", "not 3 capital letters");
    invalid(check_iso4217, "CN", "not 3 capital letters");
    invalid(check_iso4217, "CNYY", NULL);
    invalid(check_iso4217, NULL, NULL);
    assert_int_equal(check_currency_count(), 178);
}

static void test_country(void **state)
{
    (void)state;
    valid(check_country, "CN");
    valid(check_country, "DE");
    valid(check_country, "US");
    valid(check_country, "HK");
    valid(check_country, "BQ");
    valid(check_country, "SS");
    valid(check_country, "AD");  /* first */
    valid(check_country, "ZW");  /* last */
    invalid(check_country, "XX", "'XX' is not an ISO 3166 code");
    invalid(check_country, "UK", "(use GB)");
    invalid(check_country, "EL", "(use GR)");
    invalid(check_country, "XK", NULL);
    invalid(check_country, "cn", "not 2 capital letters");
    invalid(check_country, "CHN", "not 2 capital letters");
    invalid(check_country, "", NULL);
    assert_int_equal(check_country_count(), 249);
    assert_true(check_tables_sorted());
}

static void test_datetime(void **state)
{
    (void)state;
    valid(check_datetime, "2024-03-05");
    valid(check_datetime, "2024-02-29");
    valid(check_datetime, "2024-03-05T14:30");
    valid(check_datetime, "2024-03-05T14:30:15");
    valid(check_datetime, "2024-03-05T14:30:15.123");
    valid(check_datetime, "2024-03-05T14:30Z");
    valid(check_datetime, "2024-03-05T14:30:15+08:00");
    valid(check_datetime, "2024-03-05T14:30:15.123-05:30");
    invalid(check_datetime, "2024-02-30", "day 30 does not exist in 2024-02");
    invalid(check_datetime, "2023-02-29", "day 29");
    invalid(check_datetime, "2024-3-05", "at character 6");
    invalid(check_datetime, "2024-03-05 14:30", "at character 11");
    invalid(check_datetime, "2024-03-05T24:00", "out of range");
    invalid(check_datetime, "2024-03-05T14:30+0800", "not ISO 8601");
    invalid(check_datetime, "2024-03-05Z", "not ISO 8601");
    invalid(check_datetime, "20240305", "not ISO 8601");
    invalid(check_datetime, "", "not ISO 8601");
}

static void test_uic_wagon(void **state)
{
    (void)state;
    valid(check_uic_wagon, "218124712173");
    valid(check_uic_wagon, "318166501235");
    valid(check_uic_wagon, "338754987653");
    exact_code(check_uic_wagon, "218124712174", ERR_CHECK_DIGIT,
          "UIC wagon number '218124712174' fails the self-check digit "
          "(expected 3)");
    invalid(check_uic_wagon, "21 81 2471 217-3", "without spaces or dashes");
    invalid(check_uic_wagon, "21812471217", "is not 12 digits");
    invalid(check_uic_wagon, "2181247121733", "is not 12 digits");
    invalid(check_uic_wagon, "21812471217A", "is not 12 digits");
}

static void test_find(void **state)
{
    (void)state;
    assert_ptr_equal(check_find("iso6346"), check_iso6346);
    assert_ptr_equal(check_find("unlocode"), check_unlocode);
    assert_ptr_equal(check_find("hs"), check_hs);
    assert_ptr_equal(check_find("iso4217"), check_iso4217);
    assert_ptr_equal(check_find("country"), check_country);
    assert_ptr_equal(check_find("datetime"), check_datetime);
    assert_ptr_equal(check_find("uic_wagon"), check_uic_wagon);
    assert_null(check_find("iban"));
    assert_null(check_find("ISO6346"));
    assert_null(check_find(""));
    assert_null(check_find(NULL));
    assert_int_equal(check_find("iso4217")("CNY", NULL), 0);
    assert_int_equal(check_find("iso4217")("XYZ", NULL), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso6346_valid),
        cmocka_unit_test(test_iso6346_digit),
        cmocka_unit_test(test_iso6346_invalid),
        cmocka_unit_test(test_unlocode),
        cmocka_unit_test(test_hs),
        cmocka_unit_test(test_iso4217),
        cmocka_unit_test(test_country),
        cmocka_unit_test(test_datetime),
        cmocka_unit_test(test_uic_wagon),
        cmocka_unit_test(test_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
