#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "xform.h"

/* ---- helpers: each names the failing case in its message ---- */

static void edi_ok(const char *code, const char *in, const char *want)
{
    char out[XFORM_ISO_MAX];
    err_t e;
    err_clear(&e);
    if (xform_edi_date(code, in, out, sizeof out, &e))
        fail_msg("format %s '%s': %s", code, in, e.msg);
    if (strcmp(out, want) != 0)
        fail_msg("format %s '%s': got '%s', want '%s'", code, in, out, want);
}

static void edi_bad(const char *code, const char *in, int rc, const char *part)
{
    char out[XFORM_ISO_MAX];
    err_t e;
    err_clear(&e);
    int got = xform_edi_date(code, in, out, sizeof out, &e);
    if (got != rc || !strstr(e.msg, part))
        fail_msg("format %s '%s': rc %d msg '%s', want rc %d with '%s'", code,
                 in, got, e.msg, rc, part);
}

static void to_edi_ok(const char *iso, const char *code, const char *want,
                      const char *want_code)
{
    char out[64];
    const char *used = NULL;
    err_t e;
    err_clear(&e);
    if (xform_iso_to_edi(iso, code, out, sizeof out, &used, &e))
        fail_msg("'%s' to %s: %s", iso, code ? code : "auto", e.msg);
    if (strcmp(out, want) != 0 || !used || strcmp(used, want_code) != 0)
        fail_msg("'%s' to %s: got '%s' (%s), want '%s' (%s)", iso,
                 code ? code : "auto", out, used ? used : "-", want, want_code);
}

static void to_edi_bad(const char *iso, const char *code, int rc,
                       const char *part)
{
    char out[64];
    const char *used = "x";
    err_t e;
    err_clear(&e);
    int got = xform_iso_to_edi(iso, code, out, sizeof out, &used, &e);
    if (got != rc || !strstr(e.msg, part) || used != NULL)
        fail_msg("'%s' to %s: rc %d msg '%s', want rc %d with '%s'", iso, code,
                 got, e.msg, rc, part);
}

static void pat_ok(const char *pat, const char *in, const char *want)
{
    char out[XFORM_ISO_MAX];
    err_t e;
    err_clear(&e);
    if (xform_date_pattern(pat, in, out, sizeof out, &e))
        fail_msg("pattern '%s' '%s': %s", pat, in, e.msg);
    if (strcmp(out, want) != 0)
        fail_msg("pattern '%s' '%s': got '%s', want '%s'", pat, in, out, want);
}

static void pat_bad(const char *pat, const char *in, int rc, const char *part)
{
    char out[XFORM_ISO_MAX];
    err_t e;
    err_clear(&e);
    int got = xform_date_pattern(pat, in, out, sizeof out, &e);
    if (got != rc || !strstr(e.msg, part))
        fail_msg("pattern '%s' '%s': rc %d msg '%s', want rc %d with '%s'", pat,
                 in, got, e.msg, rc, part);
}

static double num_ok(const char *in, char mark)
{
    double v = -12345.0;
    err_t e;
    err_clear(&e);
    if (xform_number(in, mark, &v, &e))
        fail_msg("number '%s' (mark %c): %s", in, mark, e.msg);
    return v;
}

static void num_bad(const char *in, char mark, const char *part)
{
    double v = 7.0;
    err_t e;
    err_clear(&e);
    int rc = xform_number(in, mark, &v, &e);
    if (rc != ERR_INVALID || !strstr(e.msg, part) || v != 7.0)
        fail_msg("number '%s' (mark %c): rc %d msg '%s', want '%s'", in, mark,
                 rc, e.msg, part);
}

static void text_is(double v, char mark, const char *want)
{
    char out[400];
    if (xform_number_text(v, mark, out, sizeof out))
        fail_msg("number_text(%.17g) failed", v);
    if (strcmp(out, want) != 0)
        fail_msg("number_text(%.17g): got '%s', want '%s'", v, out, want);
}

/* ---- EDIFACT ---- */

static void test_edi_every_format(void **state)
{
    (void)state;
    edi_ok("2", "050324", "2024-03-05");
    edi_ok("3", "030524", "2024-03-05");
    edi_ok("4", "05032024", "2024-03-05");
    edi_ok("5", "050320241430", "2024-03-05T14:30");
    edi_ok("10", "20240305T1430", "2024-03-05T14:30");
    edi_ok("101", "240305", "2024-03-05");
    edi_ok("102", "20240305", "2024-03-05");
    edi_ok("201", "2403051430", "2024-03-05T14:30");
    edi_ok("202", "240305143015", "2024-03-05T14:30:15");
    edi_ok("203", "202403051430", "2024-03-05T14:30");
    edi_ok("204", "20240305143015", "2024-03-05T14:30:15");
    edi_ok("205", "202403051430+0200", "2024-03-05T14:30+02:00");
    edi_ok("205", "202403051430-0530", "2024-03-05T14:30-05:30");
    edi_ok("206", "2403051430+0800", "2024-03-05T14:30+08:00");
    edi_ok("207", "240305143015-0300", "2024-03-05T14:30:15-03:00");
    edi_ok("208", "20240305143015+0000", "2024-03-05T14:30:15+00:00");
    edi_ok("301", "2403051430UTC", "2024-03-05T14:30Z");
    edi_ok("302", "240305143015GMT", "2024-03-05T14:30:15Z");
    edi_ok("303", "202403051430+08", "2024-03-05T14:30+08:00");
    edi_ok("303", "202403051430UTC", "2024-03-05T14:30Z");
    edi_ok("304", "20240305143015-05", "2024-03-05T14:30:15-05:00");
    edi_ok("717", "240305240310", "2024-03-05");
    edi_ok("718", "2024030520240310", "2024-03-05");
    edi_ok("718", "20240305-20240310", "2024-03-05");
    edi_ok("719", "202403050800202403101700", "2024-03-05T08:00");
}

static void test_edi_two_digit_years(void **state)
{
    (void)state;
    edi_ok("101", "000101", "2000-01-01");
    edi_ok("101", "691231", "2069-12-31");
    edi_ok("101", "700101", "1970-01-01");
    edi_ok("101", "991231", "1999-12-31");
}

static void test_edi_leap_years(void **state)
{
    (void)state;
    edi_ok("102", "20240229", "2024-02-29");
    edi_ok("102", "20000229", "2000-02-29");
    edi_ok("101", "040229", "2004-02-29");
    edi_bad("102", "20230229", ERR_INVALID, "day 29 does not exist in 2023-02");
    edi_bad("102", "19000229", ERR_INVALID, "day 29 does not exist in 1900-02");
    edi_bad("102", "21000229", ERR_INVALID, "does not exist");
    edi_ok("102", "20241231", "2024-12-31");
    edi_bad("102", "20240431", ERR_INVALID, "day 31 does not exist in 2024-04");
}

static void test_edi_invalid(void **state)
{
    (void)state;
    edi_bad("102", "20240230", ERR_INVALID,
            "date '20240230' is not a valid CCYYMMDD (format 102)");
    edi_bad("102", "20241301", ERR_INVALID, "month 13 does not exist");
    edi_bad("102", "20240001", ERR_INVALID, "month 00 does not exist");
    edi_bad("102", "20240300", ERR_INVALID, "day 00 does not exist");
    edi_bad("102", "00000101", ERR_INVALID, "year 0000");
    edi_bad("203", "202403052400", ERR_INVALID, "time 24:00:00 is out of range");
    edi_bad("203", "202403051460", ERR_INVALID, "out of range");
    edi_bad("204", "20240305143060", ERR_INVALID, "out of range");
    edi_bad("102", "2024030", ERR_INVALID, "7 characters, 8 expected");
    edi_bad("102", "2024-03-05", ERR_INVALID, "10 characters, 8 expected");
    edi_bad("102", "2024O305", ERR_INVALID, "'O' at character 5");
    edi_bad("102", "", ERR_INVALID, "0 characters");
    edi_bad("102", NULL, ERR_INVALID, "0 characters");
    edi_bad("205", "202403051430+1500", ERR_INVALID, "time zone '+1500'");
    edi_bad("205", "202403051430*0200", ERR_INVALID, "not a sign and HHMM");
    edi_bad("205", "202403051430+0260", ERR_INVALID, "time zone");
    edi_bad("303", "202403051430CET", ERR_INVALID,
            "time zone 'CET' is not UTC, GMT or a signed hour");
    edi_bad("718", "2024031020240305", ERR_INVALID, "ends before it starts");
    edi_bad("718", "20240305/20240310", ERR_INVALID, "17 characters, 16");
    edi_bad("718", "20240305", ERR_INVALID, "8 characters, 16 expected");
    edi_bad("718", "2024030520240231", ERR_INVALID, "day 31");
    edi_bad("999", "20240305", ERR_UNSUPPORTED, "'999' (2379) is not supported");
    assert_true(xform_edi_supported("205"));
    assert_true(xform_edi_supported("718"));
    assert_false(xform_edi_supported("999"));
    assert_false(xform_edi_supported("20"));
    assert_false(xform_edi_supported(NULL));
    edi_bad(NULL, "20240305", ERR_UNSUPPORTED, "not supported");
}

static void test_edi_period_both_ends(void **state)
{
    (void)state;
    char a[XFORM_ISO_MAX], b[XFORM_ISO_MAX];
    err_t e;
    assert_int_equal(xform_edi_period("718", "20240305-20240310", a, sizeof a,
                                      b, sizeof b, &e), 0);
    assert_string_equal(a, "2024-03-05");
    assert_string_equal(b, "2024-03-10");
    assert_int_equal(xform_edi_period("203", "202403051430", a, sizeof a, b,
                                      sizeof b, &e), 0);
    assert_string_equal(b, "2024-03-05T14:30");
    assert_int_equal(xform_edi_date("102", "20240305", a, 10, &e), ERR_TOOBIG);
    assert_int_equal(xform_edi_date("102", "20240305", a, 11, &e), 0);
}

static void test_iso_to_edi_auto(void **state)
{
    (void)state;
    to_edi_ok("2024-03-05", NULL, "20240305", "102");
    to_edi_ok("2024-03-05T14:30", "", "202403051430", "203");
    to_edi_ok("2024-03-05T14:30:15", NULL, "20240305143015", "204");
    to_edi_ok("2024-03-05T14:30:15.123", NULL, "20240305143015", "204");
    to_edi_ok("2024-03-05T14:30:15Z", NULL, "20240305143015", "204");
    to_edi_ok("2024-03-05T14:30+08:00", NULL, "202403051430", "203");
    to_edi_ok("2024-03-05/2024-03-10", NULL, "2024030520240310", "718");
    to_edi_ok("2024-03-05T08:00/2024-03-10T17:00", NULL,
              "202403050800202403101700", "719");
}

static void test_iso_to_edi_explicit(void **state)
{
    (void)state;
    to_edi_ok("2024-03-05", "101", "240305", "101");
    to_edi_ok("1999-12-31", "101", "991231", "101");
    to_edi_ok("2024-03-05T14:30", "204", "20240305143000", "204");
    to_edi_ok("2024-03-05T14:30:59", "203", "202403051430", "203");
    to_edi_ok("2024-03-05T14:30", "102", "20240305", "102");
    to_edi_ok("2024-03-05T14:30+08:00", "205", "202403051430+0800", "205");
    to_edi_ok("2024-03-05T14:30-05:30", "205", "202403051430-0530", "205");
    to_edi_ok("2024-03-05T14:30Z", "205", "202403051430+0000", "205");
    to_edi_ok("2024-03-05T14:30Z", "303", "202403051430UTC", "303");
    to_edi_ok("2024-03-05T14:30:15+08:00", "304", "20240305143015+08", "304");
    to_edi_ok("2024-03-05T14:30", "10", "20240305T1430", "10");
    to_edi_ok("2024-03-05", "4", "05032024", "4");
    to_edi_bad("2070-01-01", "101", ERR_INVALID, "window 1970-2069");
    to_edi_bad("1969-12-31", "101", ERR_INVALID, "year 1969");
    to_edi_bad("2024-03-05", "203", ERR_INVALID, "has no time of day");
    to_edi_bad("2024-03-05T14:30", "205", ERR_INVALID, "no UTC offset");
    to_edi_bad("2024-03-05T14:30+05:30", "303", ERR_INVALID, "whole hours");
    to_edi_bad("2024-03-05", "718", ERR_INVALID, "not a period");
    to_edi_bad("2024-03-05/2024-03-10", "102", ERR_INVALID, "is a period");
    to_edi_bad("2024-03-05", "999", ERR_UNSUPPORTED, "not supported");
    to_edi_bad("05.03.2024", NULL, ERR_INVALID, "is not ISO 8601");
    to_edi_bad("2024-02-30", NULL, ERR_INVALID, "day 30");
    char out[8];
    err_t e;
    assert_int_equal(xform_iso_to_edi("2024-03-05", NULL, out, sizeof out,
                                      NULL, &e), ERR_TOOBIG);
}

/* Every canonical EDIFACT sample goes to ISO and back unchanged. */
static void test_edi_round_trip(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"2", "050324"}, {"3", "030524"}, {"4", "29022024"},
        {"5", "050320241430"}, {"10", "20240305T1430"}, {"101", "991231"},
        {"102", "20240229"}, {"201", "0001010000"}, {"202", "240305143015"},
        {"203", "202403051430"}, {"204", "20241231235959"},
        {"205", "202403051430-0000"}, {"206", "2403051430+1400"},
        {"207", "240305143015-1200"}, {"208", "20240305143015+0545"},
        {"301", "2403051430UTC"}, {"302", "240305143015+09"},
        {"303", "202403051430-03"}, {"304", "20240305143015UTC"},
        {"717", "240305240310"}, {"718", "2024030520240310"},
        {"719", "202403050800202403101700"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char iso[2 * XFORM_ISO_MAX], to[XFORM_ISO_MAX], back[64];
        err_t e;
        size_t n;
        if (xform_edi_period(cases[k][0], cases[k][1], iso, XFORM_ISO_MAX, to,
                             sizeof to, &e))
            fail_msg("%s '%s': %s", cases[k][0], cases[k][1], e.msg);
        n = strlen(iso);
        if (cases[k][0][0] == '7')
            snprintf(iso + n, sizeof iso - n, "/%s", to);
        if (xform_iso_to_edi(iso, cases[k][0], back, sizeof back, NULL, &e))
            fail_msg("%s back from '%s': %s", cases[k][0], iso, e.msg);
        if (strcmp(back, cases[k][1]) != 0)
            fail_msg("%s: '%s' -> '%s' -> '%s'", cases[k][0], cases[k][1], iso,
                     back);
    }
}

/* ---- patterns ---- */

static void test_pattern_dates(void **state)
{
    (void)state;
    pat_ok("yyyyMMddHHmmssSSS", "20240305143015123", "2024-03-05T14:30:15.123");
    pat_ok("yyyyMMddHHmmss", "20240305143015", "2024-03-05T14:30:15");
    pat_ok("yyyy-MM-dd'T'HH:mm:ss", "2024-03-05T14:30:15",
           "2024-03-05T14:30:15");
    pat_ok("yyyy-MM-ddTHH:mm", "2024-03-05T14:30", "2024-03-05T14:30");
    pat_ok("dd/MM/yyyy", "05/03/2024", "2024-03-05");
    pat_ok("dd.MM.yy", "05.03.24", "2024-03-05");
    pat_ok("yyyyMMddHH", "2024030514", "2024-03-05T14:00");
    pat_ok("yyyy\xe5\xb9\xb4MM\xe6\x9c\x88" "dd\xe6\x97\xa5",
           "2024\xe5\xb9\xb4" "03\xe6\x9c\x88" "05\xe6\x97\xa5", "2024-03-05");
    pat_ok("'at' HH:mm 'on' dd/MM/yyyy", "at 14:30 on 05/03/2024",
           "2024-03-05T14:30");
    pat_ok("yyyy''MM''dd", "2024'03'05", "2024-03-05");
    pat_ok("'yyyy'yyyyMMdd", "yyyy20240305", "2024-03-05");
}

static void test_pattern_bad_values(void **state)
{
    (void)state;
    pat_bad("yyyy/MM/dd", "2024-03-05", ERR_INVALID,
            "date '2024-03-05' is not a valid 'yyyy/MM/dd' date: '-' at "
            "character 5, expected a literal");
    pat_bad("yyyyMMdd", "20240230", ERR_INVALID, "day 30 does not exist");
    pat_bad("yyyyMMdd", "2024030", ERR_INVALID, "too short");
    pat_bad("yyyyMMdd", "202403055", ERR_INVALID, "9 characters, 8 expected");
    pat_bad("yyyyMMddHHmmssSSS", "2024030514301512x", ERR_INVALID,
            "expected a digit");
    pat_bad("dd.MM.yyyy", NULL, ERR_INVALID, "too short");
}

static void test_pattern_config_errors(void **state)
{
    (void)state;
    err_t e;
    assert_int_equal(xform_pattern_check("yyyyMMddHHmmssSSS", &e), 0);
    assert_int_equal(xform_pattern_check("yyy-MM-dd", &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "lone 'y' at character 3"));
    assert_int_equal(xform_pattern_check("MMdd", &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "needs a year"));
    assert_int_equal(xform_pattern_check("yyyyMMddmm", &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "has mm without HH"));
    assert_int_equal(xform_pattern_check("yyyyMMddHHmmSSS", &e), ERR_CONFIG);
    assert_int_equal(xform_pattern_check("yyyyMMdd'T", &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "unclosed quote"));
    assert_int_equal(xform_pattern_check("yyyyMMddyy", &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "twice"));
    assert_int_equal(xform_pattern_check("yyyy-MMM-dd", &e), ERR_CONFIG);
    assert_int_equal(xform_pattern_check(NULL, &e), ERR_CONFIG);
    pat_bad("yyyyMMdd HH:m", "20240305 14:3", ERR_CONFIG, "lone 'm'");
}

static void test_iso_to_pattern(void **state)
{
    (void)state;
    char out[40];
    err_t e;
    assert_int_equal(xform_iso_to_pattern("yyyyMMddHHmmssSSS",
                     "2024-03-05T14:30:15.123", out, sizeof out, &e), 0);
    assert_string_equal(out, "20240305143015123");
    assert_int_equal(xform_iso_to_pattern("yyyyMMddHHmmssSSS",
                     "2024-03-05T14:30:15+08:00", out, sizeof out, &e), 0);
    assert_string_equal(out, "20240305143015000");
    assert_int_equal(xform_iso_to_pattern("dd/MM/yy", "2024-03-05T14:30", out,
                                          sizeof out, &e), 0);
    assert_string_equal(out, "05/03/24");
    assert_int_equal(xform_iso_to_pattern("yyyy-MM-dd'T'HH:mm", "2024-03-05",
                                          out, sizeof out, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "no time of day"));
    assert_int_equal(xform_iso_to_pattern("yyMMdd", "2070-01-01", out,
                                          sizeof out, &e), ERR_INVALID);
    assert_int_equal(xform_iso_to_pattern("yyyyMMdd", "2024-03-05", out, 8, &e),
                     ERR_TOOBIG);
    assert_int_equal(xform_iso_to_pattern("yyyyMMdd", "2024-03-05", out, 9, &e),
                     0);
    assert_string_equal(out, "20240305");
    assert_int_equal(xform_iso_to_pattern("yyyMMdd", "2024-03-05", out,
                                          sizeof out, &e), ERR_CONFIG);
}

static void test_iso_parse(void **state)
{
    (void)state;
    static const char *const good[] = {
        "2024-03-05", "2024-03-05T14:30", "2024-03-05T14:30:15",
        "2024-03-05T14:30:15.123", "2024-03-05T14:30Z", "2024-03-05T14:30:15+08:00",
        "2024-03-05T14:30:15.123-05:30", "2024-03-05T00:00:00.000Z",
    };
    static const char *const bad[] = {
        "2024-3-05", "2024-03-05T24:00", "2024-03-05 14:30", "2024-03-05Z",
        "2024-03-05T14:30+15:00", "2024-03-05T14:30+0800", "20240305",
        "2024-03-05T14:30:15.", "2024-03-05T14:30:15.1234567890",
        "2024-03-05T14", "2024-03-05T14:30:15,123", "", "2023-02-29",
    };
    char out[XFORM_ISO_MAX];
    xform_dt dt;
    err_t e;
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        if (xform_iso_parse(good[k], &dt, &e))
            fail_msg("'%s': %s", good[k], e.msg);
        assert_int_equal(xform_iso_format(&dt, out, sizeof out), 0);
        assert_string_equal(out, good[k]);
    }
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        if (xform_iso_parse(bad[k], &dt, &e) != ERR_INVALID)
            fail_msg("'%s' accepted", bad[k]);
    assert_int_equal(xform_iso_parse("2024-03-05T14:30:15.5", &dt, &e), 0);
    assert_int_equal(dt.msec, 500);
    assert_int_equal(xform_iso_parse("2024-03-05T14:30:15.123456789", &dt, &e),
                     0);
    assert_int_equal(dt.msec, 123);
}

/* ---- numbers ---- */

static void test_number_good(void **state)
{
    (void)state;
    assert_true(num_ok("12", '.') == 12.0);
    assert_true(num_ok("-1.5", '.') == -1.5);
    assert_true(num_ok("+3", '.') == 3.0);
    assert_true(num_ok("  42\t ", '.') == 42.0);
    assert_true(num_ok(".5", '.') == 0.5);
    assert_true(num_ok("5.", '.') == 5.0);
    assert_true(num_ok("12,5", ',') == 12.5);
    assert_true(num_ok("-0,001", ',') == -0.001);
    assert_true(num_ok("0.1", '.') == 0.1);
    assert_true(num_ok("1234.5678", '.') == 1234.5678);
    assert_true(num_ok("0.000123", '.') == 0.000123);
    assert_true(num_ok("0", '.') == 0.0);
    assert_true(num_ok("1.50000000000000000000000", '.') == 1.5);
    assert_true(num_ok("0000000000000000000000001", '.') == 1.0);
    assert_true(num_ok("0.0000000000000000000000001", '.') == 1e-25);
    /* 18 significant digits, beyond the exact fast path */
    assert_true(num_ok("123456789012345678", '.') == 123456789012345678.0);
    assert_true(num_ok("12345678901234567.8", '.') == 12345678901234567.8);
    assert_true(num_ok("0.123456789012345678", '.') == 0.123456789012345678);
    assert_true(num_ok("9007199254740993", '.') == 9007199254740992.0);
}

static void test_number_bad(void **state)
{
    (void)state;
    err_t e;
    double v;
    num_bad("12,5", '.', "'12,5' is not a number (decimal mark '.')");
    num_bad("12.5", ',', "'12.5' is not a number (decimal mark ',')");
    num_bad("1,234.5", '.', "not a number");
    num_bad("1.234,5", ',', "not a number");
    num_bad("1e5", '.', "not a number");
    num_bad("0x10", '.', "not a number");
    num_bad("inf", '.', "not a number");
    num_bad("nan", '.', "not a number");
    num_bad("", '.', "'' is not a number");
    num_bad("   ", '.', "not a number");
    num_bad("-", '.', "not a number");
    num_bad(".", '.', "not a number");
    num_bad("1 2", '.', "not a number");
    num_bad("--1", '.', "not a number");
    num_bad("1.2.3", '.', "not a number");
    num_bad(NULL, '.', "not a number");
    num_bad("1234567890123456789", '.',
            "'1234567890123456789' has more than 18 significant digits");
    num_bad("0.0000001234567890123456789", '.', "more than 18");
    num_bad("100000000000000000.1", '.', "more than 18");
    assert_int_equal(xform_number("1", ';', &v, &e), ERR_USAGE);
}

static void test_number_text(void **state)
{
    (void)state;
    char out[10];
    volatile double a = 0.1, b = 0.2, c = 1.1;
    text_is(1234.5, '.', "1234.5");
    text_is(20, '.', "20");
    text_is(a + b, '.', "0.3");
    text_is(c * 3, '.', "3.3");
    text_is(-0.0, '.', "0");
    text_is(0, '.', "0");
    text_is(0.005, '.', "0.005");
    text_is(-2.75, '.', "-2.75");
    text_is(1234.5, ',', "1234,5");
    text_is(1e-10, '.', "0.0000000001");
    text_is(1e20, '.', "100000000000000000000");
    text_is(123456789012345.0, '.', "123456789012345");
    text_is(1234567890123456.0, '.', "1234567890123460");
    text_is(0.1234567890123456, '.', "0.123456789012346");
    text_is(2.0 / 3.0, '.', "0.666666666666667");
    assert_int_equal(xform_number_text(NAN, '.', out, sizeof out),
                     ERR_INVALID);
    assert_int_equal(xform_number_text(-INFINITY, '.', out, sizeof out),
                     ERR_INVALID);
    assert_int_equal(xform_number_text(1.5, ';', out, sizeof out), ERR_INVALID);
    assert_int_equal(xform_number_text(12345678.5, '.', out, sizeof out),
                     ERR_TOOBIG);
    assert_int_equal(xform_number_text(1234567.5, '.', out, sizeof out), 0);
    assert_string_equal(out, "1234567.5");
}

/* "007.500" -> "7.5", ".5" -> "0.5", "0." -> "0": the text a decimal of up
 * to 15 digits must come back as. */
static void decimal_norm(const char *in, char *out, size_t outsz)
{
    const char *dot = strchr(in, '.'), *ip = in, *fp = dot + 1;
    int il = (int)(dot - in), fl = (int)strlen(fp);
    for (; il > 0 && *ip == '0'; ip++)
        il--;
    while (fl > 0 && fp[fl - 1] == '0')
        fl--;
    snprintf(out, outsz, "%.*s%s%s%.*s", il, ip, il ? "" : "0", fl ? "." : "",
             fl, fp);
}

/* Any decimal of up to 15 digits survives parse -> text -> parse, and the
 * text is the shortest form of the input. */
static void test_number_round_trip(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252u;
    for (int k = 0; k < 20000; k++) {
        char dig[16], in[24], want[24], out[48];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int nd = 1 + (int)(x % 15), frac = (int)((x >> 4) % (uint64_t)(nd + 1));
        uint64_t r = x >> 8;
        for (int i = 0; i < nd; i++, r /= 10)
            dig[i] = (char)('0' + r % 10);
        snprintf(in, sizeof in, "%.*s.%.*s", nd - frac, dig, frac,
                 dig + nd - frac);
        decimal_norm(in, want, sizeof want);
        double v = num_ok(in, '.');
        assert_int_equal(xform_number_text(v, '.', out, sizeof out), 0);
        if (strcmp(out, want) != 0 || num_ok(out, '.') != v)
            fail_msg("'%s' -> %.17g -> '%s', want '%s'", in, v, out, want);
    }
}

/* ---- case and whitespace ---- */

static void test_case_and_space(void **state)
{
    (void)state;
    char up[] = "shanghai \xe4\xb8\x8a\xe6\xb5\xb7 port-7";
    xform_upper(up);
    assert_string_equal(up, "SHANGHAI \xe4\xb8\x8a\xe6\xb5\xb7 PORT-7");
    char low[] = "CNSHA \xe5\xbc\xa0\xe4\xb8\x89 Z";
    xform_lower(low);
    assert_string_equal(low, "cnsha \xe5\xbc\xa0\xe4\xb8\x89 z");
    char t[] = " \t\r\n ABC DEF \r\n";
    assert_string_equal(xform_trim(t), "ABC DEF");
    char blank[] = " \t ";
    assert_string_equal(xform_trim(blank), "");
    char cn[] = "\xe5\xbc\xa0\xe4\xb8\x89  ";
    assert_string_equal(xform_trim(cn), "\xe5\xbc\xa0\xe4\xb8\x89");
    char sq[] = "ZHANG  \r\n\t SAN   TRADING";
    xform_squeeze(sq);
    assert_string_equal(sq, "ZHANG SAN TRADING");
    char sq2[] = "\xe5\xbc\xa0\n\n\xe4\xb8\x89";
    xform_squeeze(sq2);
    assert_string_equal(sq2, "\xe5\xbc\xa0 \xe4\xb8\x89");
    char both[] = "  A \n B  ";
    xform_squeeze(both);
    assert_string_equal(xform_trim(both), "A B");
}

/* The sender's zone: parsed, assumed for local times, converted to. */
static void zone_is(int (*fn)(const char *, int, char *, size_t, err_t *),
                    const char *in, int min, const char *want)
{
    char out[XFORM_ISO_MAX];
    err_t e = {0};
    if (fn(in, min, out, sizeof out, &e) != 0)
        fail_msg("%s at %d: %s", in, min, e.msg);
    assert_string_equal(out, want);
}

static void test_zone(void **state)
{
    (void)state;
    int m;
    err_t e = {0};
    assert_int_equal(xform_zone_parse("+08:00", &m, &e), 0);
    assert_int_equal(m, 480);
    assert_int_equal(xform_zone_parse("-03:30", &m, &e), 0);
    assert_int_equal(m, -210);
    assert_int_equal(xform_zone_parse("Z", &m, &e), 0);
    assert_int_equal(m, 0);
    const char *bad[] = {"8", "+8:00", "+08", "+15:00", "+08:60", "UTC",
                         "+08:00 ", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(xform_zone_parse(bad[i], &m, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "+hh:mm"));
    /* read: local times get the zone; dates and zoned times do not */
    zone_is(xform_zone_assume, "2024-03-05T14:02", 480,
            "2024-03-05T14:02+08:00");
    zone_is(xform_zone_assume, "2024-03-05T14:02:09.120", 0,
            "2024-03-05T14:02:09.120Z");
    zone_is(xform_zone_assume, "2024-03-05", 480, "2024-03-05");
    zone_is(xform_zone_assume, "2024-03-05T14:02-05:00", 480,
            "2024-03-05T14:02-05:00");
    /* written: the same instant in the sender's zone, across days,
     * months, years and a leap day */
    zone_is(xform_zone_convert, "2024-03-05T06:02Z", 480,
            "2024-03-05T14:02+08:00");
    zone_is(xform_zone_convert, "2024-12-31T20:30:15Z", 480,
            "2025-01-01T04:30:15+08:00");
    zone_is(xform_zone_convert, "2024-03-01T02:00+08:00", -300,
            "2024-02-29T13:00-05:00");
    zone_is(xform_zone_convert, "2023-03-01T01:00+14:00", -720,
            "2023-02-27T23:00-12:00");
    zone_is(xform_zone_convert, "2024-03-05T14:02", 0, "2024-03-05T14:02");
    zone_is(xform_zone_convert, "2024-03-05", 480, "2024-03-05");
    assert_int_equal(xform_zone_convert("2024-13-01T00:00Z", 0, (char[32]){0},
                                        32, &e), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edi_every_format),
        cmocka_unit_test(test_edi_two_digit_years),
        cmocka_unit_test(test_edi_leap_years),
        cmocka_unit_test(test_edi_invalid),
        cmocka_unit_test(test_edi_period_both_ends),
        cmocka_unit_test(test_iso_to_edi_auto),
        cmocka_unit_test(test_iso_to_edi_explicit),
        cmocka_unit_test(test_edi_round_trip),
        cmocka_unit_test(test_pattern_dates),
        cmocka_unit_test(test_pattern_bad_values),
        cmocka_unit_test(test_pattern_config_errors),
        cmocka_unit_test(test_iso_to_pattern),
        cmocka_unit_test(test_iso_parse),
        cmocka_unit_test(test_number_good),
        cmocka_unit_test(test_number_bad),
        cmocka_unit_test(test_number_text),
        cmocka_unit_test(test_number_round_trip),
        cmocka_unit_test(test_case_and_space),
        cmocka_unit_test(test_zone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
