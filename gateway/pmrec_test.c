/* Unit tests for pmrec: times, a permit record read into its ledger form
 * with every refusal and its message, and citations grouped into reserve
 * requests. Records are written as JSON (their canonical form) so that
 * each case reads like the record it is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model_json.h"
#include "pmrec.h"

static int setup(void **state)
{
    static arena_t a;
    arena_init(&a, 64u << 20);
    *state = &a;
    return 0;
}

static int teardown(void **state)
{
    arena_free(*state);
    return 0;
}

static model_record *rec(arena_t *a, const char *json)
{
    model_record *r = NULL;
    err_t e;
    err_clear(&e);
    if (model_json_read(json, strlen(json), a, &r, &e))
        fail_msg("bad test record: %s", e.msg);
    return r;
}

/* ---- pmrec_time ---- */

static uint64_t time_ok(const char *s, int end)
{
    uint64_t ms = 0;
    err_t e;
    err_clear(&e);
    if (pmrec_time(s, end, &ms, &e))
        fail_msg("'%s' refused: %s", s, e.msg);
    return ms;
}

static void time_bad(const char *s, const char *msg)
{
    uint64_t ms = 7;
    err_t e;
    err_clear(&e);
    assert_int_equal(pmrec_time(s, 0, &ms, &e), ERR_INVALID);
    assert_int_equal(e.code, ERR_INVALID);
    assert_int_equal(ms, 7); /* untouched */
    if (strcmp(e.msg, msg))
        fail_msg("'%s': got \"%s\", want \"%s\"", s ? s : "(null)", e.msg,
                 msg);
}

static void test_time(void **state)
{
    (void)state;
    /* a date is a day in China Standard Time */
    assert_true(time_ok("2026-11-24", 0) == 1795449600000ull);
    assert_true(time_ok("2026-11-24", 1) == 1795535999999ull);
    assert_true(time_ok("2024-02-29", 0) == 1709136000000ull);
    assert_true(time_ok("2024-02-29", 1) == 1709222399999ull);
    /* a date-time is the instant; end changes nothing */
    assert_true(time_ok("2026-11-24T10:00:00+08:00", 0) == 1795485600000ull);
    assert_true(time_ok("2026-11-24T10:00:00", 1) == 1795485600000ull);
    assert_true(time_ok("2026-11-24T10:00:00Z", 0) == 1795514400000ull);
    assert_true(time_ok("2026-11-24T10:00:00-05:30", 0) == 1795534200000ull);
    assert_true(time_ok("1970-01-01T08:00:00", 0) == 0);
    assert_true(time_ok("1970-01-01T00:00:00Z", 0) == 0);
    assert_true(time_ok("9999-12-31T23:59:59Z", 0) == 253402300799000ull);
}

static void test_time_refused(void **state)
{
    (void)state;
    const char *forms = "not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS with Z, "
                        "+hh:mm, -hh:mm or no offset (+08:00)";
    char want[200];
    static const char *const shapes[] = {
        "", "2026", "2026-1-05", "2026/11/24", "2026-11-24 10:00:00",
        "2026-11-24T10:00", "2026-11-24T10:00:00.000Z",
        "2026-11-24T10:00:00+08", "2026-11-24T10:00:00+0800",
        "2026-11-24T10:00:00z", "2026-11-24T10:00:00+08:00 ",
        "2026-11-24x", "20261124", "２０２６-11-24"};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        snprintf(want, sizeof want, "time '%s': %s", shapes[i], forms);
        time_bad(shapes[i], want);
    }
    time_bad(NULL, "time '': missing");
    time_bad("2026-13-01", "time '2026-13-01': no such month");
    time_bad("2026-00-10", "time '2026-00-10': no such month");
    time_bad("2026-02-29", "time '2026-02-29': no such day");
    time_bad("2100-02-29", "time '2100-02-29': no such day");
    time_bad("2026-04-31", "time '2026-04-31': no such day");
    time_bad("2026-04-00", "time '2026-04-00': no such day");
    time_bad("2026-11-24T24:00:00",
             "time '2026-11-24T24:00:00': no such time of day");
    time_bad("2026-11-24T10:60:00",
             "time '2026-11-24T10:60:00': no such time of day");
    time_bad("2026-11-24T10:00:60Z",
             "time '2026-11-24T10:00:60Z': no such time of day");
    time_bad("2026-11-24T10:00:00+24:00",
             "time '2026-11-24T10:00:00+24:00': no such offset");
    time_bad("1969-12-31", "time '1969-12-31': before 1970");
    time_bad("1970-01-01", "time '1970-01-01': before 1970"); /* +08:00 */
    time_bad("1970-01-01T07:59:59", "time '1970-01-01T07:59:59': before "
             "1970");
}

/* ---- pmrec_permit ---- */

/* An automatic import licence for copper cathodes, two lines. */
#define LICENCE_HEAD                                                       \
    "{\"kind\":\"permit\",\"document\":{\"type\":\"permit\","              \
    "\"number\":\"26ail000123\"},\"permit\":{\"kind\":"                    \
    "\"automatic_import_licence\",\"usage\":\"quantity\","                 \
    "\"authority\":\"商务部配额许可证事务局\",\"valid_from\":"              \
    "\"2026-01-05\",\"valid_to\":\"2026-07-04\"},"                         \
    "\"parties\":[{\"role\":\"issuer\",\"name\":\"商务部\"},"              \
    "{\"role\":\"holder\",\"name\":\"重庆长江铜业有限公司\",\"id\":"       \
    "\"91500000MA5U7QX45Q\",\"id_agency\":\"USCC\"}],"
#define LICENCE_GOODS                                                      \
    "\"goods\":[{\"seq\":1,\"hs_code\":\"7403111100\",\"description\":"   \
    "\"精炼铜阴极\",\"quantity\":2500.5,\"unit\":\"TNE\",\"value\":"       \
    "21000000.1,\"currency\":\"USD\"},{\"seq\":2,\"hs_code\":"             \
    "\"7403119000\",\"quantity\":0.0005,\"unit\":\"TNE\"}]}"

static void test_permit(void **state)
{
    arena_t *a = *state;
    err_t e;
    pm_permit p;
    model_record *r = rec(a, LICENCE_HEAD LICENCE_GOODS);
    err_clear(&e);
    assert_int_equal(pmrec_permit(r, "CQ", a, &p, &e), 0);
    assert_string_equal(p.id, "CQ-26AIL000123");
    assert_string_equal(p.number, "26ail000123"); /* as sent */
    assert_string_equal(p.kind, "automatic_import_licence");
    assert_string_equal(p.usage, "quantity");
    assert_string_equal(p.status, "valid"); /* the default */
    assert_string_equal(p.authority, "商务部配额许可证事务局");
    assert_string_equal(p.region, "CQ");
    assert_string_equal(p.holder_id, "91500000MA5U7QX45Q");
    assert_string_equal(p.holder_name, "重庆长江铜业有限公司");
    assert_true(p.from_ms == 1767542400000ull);
    assert_true(p.to_ms == 1783180799999ull);
    assert_int_equal(p.nlines, 2);
    assert_int_equal(p.lines[0].line, 1);
    assert_string_equal(p.lines[0].hs, "7403111100");
    assert_string_equal(p.lines[0].desc, "精炼铜阴极");
    assert_string_equal(p.lines[0].unit, "TNE");
    assert_string_equal(p.lines[0].currency, "USD");
    assert_true(p.lines[0].qty == 2500500);
    assert_true(p.lines[0].value == 21000000100ull);
    assert_int_equal(p.lines[1].line, 2);
    assert_true(p.lines[1].qty == 1); /* 0.5 thousandths, rounded up */
    assert_true(p.lines[1].value == 0);
    assert_null(p.lines[1].desc);
    assert_null(p.lines[1].currency);
}

static void test_permit_lines_and_status(void **state)
{
    arena_t *a = *state;
    err_t e;
    pm_permit p;
    /* no seq: lines by position; per_line with one amount each; the
     * record may name its home when it is this node; a holder is not
     * required; times with offsets */
    model_record *r = rec(a,
        "{\"kind\":\"permit\",\"document\":{\"number\":\"EL-2026-0042\"},"
        "\"permit\":{\"kind\":\"export_licence\",\"usage\":\"per_line\","
        "\"status\":\"suspended\",\"region\":\"SH\",\"valid_from\":"
        "\"2026-03-01T00:00:00+08:00\",\"valid_to\":\"2026-12-31\"},"
        "\"goods\":[{\"quantity\":10,\"unit\":\"PCE\"},{\"value\":0.1,"
        "\"currency\":\"EUR\"},{\"seq\":7,\"quantity\":3}]}");
    err_clear(&e);
    assert_int_equal(pmrec_permit(r, "SH", a, &p, &e), 0);
    assert_string_equal(p.id, "SH-EL-2026-0042");
    assert_string_equal(p.status, "suspended");
    assert_null(p.holder_id);
    assert_null(p.holder_name);
    assert_null(p.authority);
    assert_true(p.from_ms == 1772294400000ull);
    assert_int_equal(p.nlines, 3);
    assert_int_equal(p.lines[0].line, 1);
    assert_int_equal(p.lines[1].line, 2);
    assert_true(p.lines[1].value == 100); /* 0.1 is not exact: rounded */
    assert_int_equal(p.lines[2].line, 7);

    /* single_use needs no amounts */
    r = rec(a,
        "{\"kind\":\"permit\",\"document\":{\"number\":\"CO26-440001\"},"
        "\"permit\":{\"kind\":\"certificate_of_origin\",\"usage\":"
        "\"single_use\",\"status\":\"revoked\",\"valid_from\":"
        "\"2026-05-01\",\"valid_to\":\"2026-05-01\"},\"goods\":[{}]}");
    assert_int_equal(pmrec_permit(r, "GD", a, &p, &e), 0);
    assert_string_equal(p.status, "revoked");
    assert_true(p.to_ms - p.from_ms == 86400000ull - 1); /* one day */
    assert_true(p.lines[0].qty == 0 && p.lines[0].value == 0);
}

/* The licence with one part of its JSON replaced: head, then goods. */
static void permit_bad(arena_t *a, const char *region, const char *json,
                       const char *msg)
{
    err_t e;
    pm_permit p;
    err_clear(&e);
    model_record *r = rec(a, json);
    int rc = pmrec_permit(r, region, a, &p, &e);
    if (rc != ERR_INVALID || strcmp(e.msg, msg))
        fail_msg("rc %d \"%s\", want ERR_INVALID \"%s\"", rc, e.msg, msg);
}

#define PERMIT(head, goods)                                                \
    "{\"kind\":\"permit\",\"document\":{" head "},\"goods\":[" goods "]}"
#define OK_HEAD                                                            \
    "\"number\":\"X1\"},\"permit\":{\"kind\":\"drug_permit\","             \
    "\"usage\":\"quantity\",\"valid_from\":\"2026-01-01\","                \
    "\"valid_to\":\"2026-12-31\""
#define OK_LINE "{\"quantity\":1,\"unit\":\"KGM\"}"

static void test_permit_refused(void **state)
{
    arena_t *a = *state;
    permit_bad(a, "CQ", "{\"kind\":\"declaration\"}",
               "kind: 'declaration' is not permit");
    permit_bad(a, "CQ", "{\"document\":{\"number\":\"X1\"}}",
               "kind: '' is not permit");
    permit_bad(a, "cq", PERMIT(OK_HEAD, OK_LINE),
               "region 'cq': not a region code (two letters A-Z)");
    permit_bad(a, "CQX", PERMIT(OK_HEAD, OK_LINE),
               "region 'CQX': not a region code (two letters A-Z)");
    permit_bad(a, NULL, PERMIT(OK_HEAD, OK_LINE),
               "region '': not a region code (two letters A-Z)");
    permit_bad(a, "CQ", PERMIT(OK_HEAD ",\"region\":\"SH\"", OK_LINE),
               "permit.region: 'SH' is not this node's region CQ (a "
               "permit's home is where it is issued)");
    permit_bad(a, "CQ", PERMIT("\"type\":\"permit\"", OK_LINE),
               "document.number: missing (the permit's number)");
    permit_bad(a, "CQ", PERMIT("\"number\":\"26/AIL/1\"", OK_LINE),
               "document.number: permit id 'CQ-26/AIL/1': the number may "
               "hold only A-Z, 0-9, '-' and '_'");
    permit_bad(a, "CQ", PERMIT("\"number\":\"许可证1\"", OK_LINE),
               "document.number: permit id 'CQ-许可证1': the number may "
               "hold only A-Z, 0-9, '-' and '_'");
    /* 41 characters make a 44-character id; 42 do not */
    permit_bad(a, "CQ", PERMIT("\"number\":\"12345678901234567890123456"
                               "7890123456789012\"", OK_LINE),
               "document.number: permit id 'CQ-1234567890123456789012345"
               "67890123456789012': 4 to 44 characters: a region, '-' and "
               "the authority's number");
    permit_bad(a, "CQ", PERMIT("\"number\":\"X1\"},\"permit\":{\"usage\":"
                               "\"quantity\"", OK_LINE),
               "permit.kind: missing");
    permit_bad(a, "CQ", PERMIT("\"number\":\"X1\"},\"permit\":{\"kind\":"
                               "\"visa\"", OK_LINE),
               "permit.kind: 'visa' is not in its code list (docs/model.md,"
               " Permits)");
    permit_bad(a, "CQ", PERMIT("\"number\":\"X1\"},\"permit\":{\"kind\":"
                               "\"drug_permit\"", OK_LINE),
               "permit.usage: missing");
    permit_bad(a, "CQ", PERMIT("\"number\":\"X1\"},\"permit\":{\"kind\":"
                               "\"drug_permit\",\"usage\":\"twice\"",
                               OK_LINE),
               "permit.usage: 'twice' is not in its code list "
               "(docs/model.md, Permits)");
    permit_bad(a, "CQ", PERMIT(OK_HEAD ",\"status\":\"exhausted\"", OK_LINE),
               "permit.status: 'exhausted' is not in its code list "
               "(docs/model.md, Permits)");
}

static void test_permit_refused_holder_validity(void **state)
{
    arena_t *a = *state;
    permit_bad(a, "CQ",
               "{\"kind\":\"permit\",\"document\":{" OK_HEAD "},"
               "\"parties\":[{\"role\":\"holder\",\"name\":\"A\"},{\"role\":"
               "\"issuer\"},{\"role\":\"holder\",\"name\":\"B\"}],"
               "\"goods\":[" OK_LINE "]}",
               "parties[2]: a second holder (a permit has one)");
    permit_bad(a, "CQ", PERMIT("\"number\":\"X1\"},\"permit\":{\"kind\":"
                               "\"drug_permit\",\"usage\":\"quantity\","
                               "\"valid_to\":\"2026-12-31\"", OK_LINE),
               "permit.valid_from: missing (a permit's validity has both "
               "ends)");
    permit_bad(a, "CQ", PERMIT("\"number\":\"X1\"},\"permit\":{\"kind\":"
                               "\"drug_permit\",\"usage\":\"quantity\","
                               "\"valid_from\":\"2026-12-31\"", OK_LINE),
               "permit.valid_to: missing (a permit's validity has both "
               "ends)");
    permit_bad(a, "CQ", PERMIT("\"number\":\"X1\"},\"permit\":{\"kind\":"
                               "\"drug_permit\",\"usage\":\"quantity\","
                               "\"valid_from\":\"2026-1-1\",\"valid_to\":"
                               "\"2026-12-31\"", OK_LINE),
               "permit.valid_from: time '2026-1-1': not YYYY-MM-DD or "
               "YYYY-MM-DDTHH:MM:SS with Z, +hh:mm, -hh:mm or no offset "
               "(+08:00)");
    permit_bad(a, "CQ", PERMIT("\"number\":\"X1\"},\"permit\":{\"kind\":"
                               "\"drug_permit\",\"usage\":\"quantity\","
                               "\"valid_from\":\"2026-01-01\",\"valid_to\":"
                               "\"2026-02-30\"", OK_LINE),
               "permit.valid_to: time '2026-02-30': no such day");
    permit_bad(a, "CQ", PERMIT("\"number\":\"X1\"},\"permit\":{\"kind\":"
                               "\"drug_permit\",\"usage\":\"quantity\","
                               "\"valid_from\":\"2026-03-01\",\"valid_to\":"
                               "\"2026-02-28T23:59:59+08:00\"", OK_LINE),
               "permit.valid_to: '2026-02-28T23:59:59+08:00' is before "
               "permit.valid_from '2026-03-01'");
}

static void test_permit_refused_lines(void **state)
{
    arena_t *a = *state;
    permit_bad(a, "CQ", PERMIT(OK_HEAD, ""),
               "goods: none (a permit has at least one line)");
    char big[8192] = PERMIT(OK_HEAD, OK_LINE);
    big[strlen(big) - 2] = '\0'; /* drop "]}" */
    for (int i = 1; i < PM_LINES_MAX + 1; i++)
        strcat(big, "," OK_LINE);
    strcat(big, "]}");
    permit_bad(a, "CQ", big, "goods: 65 lines (a permit has at most 64)");
    permit_bad(a, "CQ", PERMIT(OK_HEAD, "{\"seq\":0,\"quantity\":1}"),
               "goods[0].seq: 0 is not a line number (1, 2, ...)");
    permit_bad(a, "CQ", PERMIT(OK_HEAD, OK_LINE ",{\"seq\":1.5,"
                               "\"quantity\":1}"),
               "goods[1].seq: 1.5 is not a line number (1, 2, ...)");
    permit_bad(a, "CQ", PERMIT(OK_HEAD, OK_LINE ",{\"seq\":1,"
                               "\"quantity\":1,\"unit\":\"KGM\"}"),
               "goods[1].seq: line 1 twice");
    permit_bad(a, "CQ", PERMIT(OK_HEAD, "{\"quantity\":-2}"),
               "goods[0].quantity: -2 is negative");
    permit_bad(a, "CQ", PERMIT(OK_HEAD, OK_LINE ",{\"quantity\":1,"
                               "\"value\":-0.001}"),
               "goods[1].value: -0.001 is negative");
    permit_bad(a, "CQ", PERMIT(OK_HEAD, "{\"quantity\":1e16}"),
               "goods[0].quantity: 1e+16 is too large (at most 2^53 "
               "thousandths)");
}

static void test_permit_refused_usage(void **state)
{
    arena_t *a = *state;
    permit_bad(a, "CQ", PERMIT(OK_HEAD, OK_LINE ",{\"value\":5}"),
               "goods[1].quantity: missing or 0 (usage quantity needs one "
               "on every line)");
    permit_bad(a, "CQ", PERMIT(OK_HEAD, "{\"quantity\":0.0004}"),
               "goods[0].quantity: missing or 0 (usage quantity needs one "
               "on every line)");
    permit_bad(a, "CQ", PERMIT(OK_HEAD, OK_LINE ",{\"quantity\":5,"
                               "\"unit\":\"TNE\"}"),
               "goods[1].unit: 'TNE' is not line 1's 'KGM' (usage quantity "
               "adds the lines up)");
#define VALUE_HEAD                                                         \
    "\"number\":\"X1\"},\"permit\":{\"kind\":\"import_licence\","          \
    "\"usage\":\"value\",\"valid_from\":\"2026-01-01\","                   \
    "\"valid_to\":\"2026-12-31\""
    permit_bad(a, "CQ", PERMIT(VALUE_HEAD, "{\"value\":5,\"currency\":"
                               "\"USD\"},{\"quantity\":5}"),
               "goods[1].value: missing or 0 (usage value needs one on "
               "every line)");
    permit_bad(a, "CQ", PERMIT(VALUE_HEAD, "{\"value\":5,\"currency\":"
                               "\"USD\"},{\"value\":5}"),
               "goods[1].currency: '' is not line 1's 'USD' (usage value "
               "adds the lines up)");
    permit_bad(a, "CQ",
               PERMIT("\"number\":\"X1\"},\"permit\":{\"kind\":"
                      "\"export_licence\",\"usage\":\"per_line\","
                      "\"valid_from\":\"2026-01-01\",\"valid_to\":"
                      "\"2026-12-31\"",
                      "{\"value\":5},{\"quantity\":0,\"value\":0}"),
               "goods[1]: no quantity or value above 0 (usage per_line "
               "draws each line)");
}

/* ---- pmrec_citations ---- */

static void test_citations(void **state)
{
    arena_t *a = *state;
    err_t e;
    pm_req q[4];
    size_t n = 99;
    err_clear(&e);
    /* grouped by permit in order of first citation, lines summed and in
     * ascending order; the whole permit is line 0 */
    model_record *r = rec(a,
        "{\"kind\":\"declaration\",\"permits\":["
        "{\"id\":\"SH-EL-2026-0042\",\"line\":2,\"quantity\":1.5},"
        "{\"id\":\"CQ-26AIL000123\",\"quantity\":120.25},"
        "{\"id\":\"SH-EL-2026-0042\",\"line\":1,\"value\":1000},"
        "{\"id\":\"SH-EL-2026-0042\",\"line\":2,\"quantity\":0.5,"
        "\"value\":0.001},"
        "{\"id\":\"GD-CO26-440001\"},"
        "{\"id\":\"CQ-26AIL000123\",\"quantity\":0.1}]}");
    assert_int_equal(pmrec_citations(r, "CQ-MV-1", "91500000MA5U7QX45Q",
                                     1795449600000ull, a, q, 4, &n, &e), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(q[i].op, PM_OP_RESERVE);
        assert_string_equal(q[i].key, "CQ-MV-1");
        assert_string_equal(q[i].holder, "91500000MA5U7QX45Q");
        assert_true(q[i].at_ms == 1795449600000ull);
    }
    assert_string_equal(q[0].permit, "SH-EL-2026-0042");
    assert_int_equal(q[0].nlines, 2);
    assert_int_equal(q[0].lines[0].line, 1);
    assert_true(q[0].lines[0].qty == 0 && q[0].lines[0].value == 1000000);
    assert_int_equal(q[0].lines[1].line, 2);
    assert_true(q[0].lines[1].qty == 2000 && q[0].lines[1].value == 1);
    assert_string_equal(q[1].permit, "CQ-26AIL000123");
    assert_int_equal(q[1].nlines, 1);
    assert_int_equal(q[1].lines[0].line, 0);
    assert_true(q[1].lines[0].qty == 120350);
    /* cited whole without amounts: one use */
    assert_string_equal(q[2].permit, "GD-CO26-440001");
    assert_int_equal(q[2].nlines, 1);
    assert_true(q[2].lines[0].line == 0 && q[2].lines[0].qty == 1000 &&
                q[2].lines[0].value == 0);
}

static void test_citations_none_and_uses(void **state)
{
    arena_t *a = *state;
    err_t e;
    pm_req q[1];
    size_t n = 99;
    model_record *r = rec(a, "{\"kind\":\"declaration\"}");
    assert_int_equal(pmrec_citations(r, "K", NULL, 0, a, q, 1, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(pmrec_citations(r, "K", NULL, 0, a, q, 0, &n, &e), 0);
    /* a single-use permit cited twice asks for two uses: the home says
     * whether there are two to give */
    r = rec(a, "{\"kind\":\"declaration\",\"permits\":[{\"id\":"
               "\"GD-CO1\"},{\"id\":\"GD-CO1\"}]}");
    assert_int_equal(pmrec_citations(r, "K", NULL, 5, a, q, 1, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_null(q[0].holder);
    assert_true(q[0].nlines == 1 && q[0].lines[0].qty == 2000);
}

static void cite_bad(arena_t *a, const char *citations, size_t max, int code,
                     const char *msg)
{
    char json[16384];
    snprintf(json, sizeof json, "{\"kind\":\"declaration\",\"permits\":[%s]}",
             citations);
    model_record *r = rec(a, json);
    pm_req q[2];
    size_t n = 99;
    err_t e;
    err_clear(&e);
    int rc = pmrec_citations(r, "K", NULL, 0, a, q, max, &n, &e);
    if (rc != code || strcmp(e.msg, msg))
        fail_msg("rc %d \"%s\", want %d \"%s\"", rc, e.msg, code, msg);
    assert_int_equal(n, 0);
}

static void test_citations_refused(void **state)
{
    arena_t *a = *state;
    cite_bad(a, "{\"quantity\":1}", 2, ERR_INVALID,
             "permits[0].id: permit id: missing");
    cite_bad(a, "{\"id\":\"CQ-1\"},{\"id\":\"cq-26ail1\"}", 2, ERR_INVALID,
             "permits[1].id: permit id 'cq-26ail1': must start with the "
             "home region and '-' (CQ-...)");
    cite_bad(a, "{\"id\":\"CQ-1\",\"line\":1}", 2, ERR_INVALID,
             "permits[0]: draws nothing (a quantity or a value above 0 is "
             "needed for a line)");
    cite_bad(a, "{\"id\":\"CQ-1\",\"quantity\":0}", 2, ERR_INVALID,
             "permits[0]: draws nothing (a quantity or a value above 0 is "
             "needed)");
    cite_bad(a, "{\"id\":\"CQ-1\",\"quantity\":0.0004,\"value\":0}", 2,
             ERR_INVALID, "permits[0]: draws nothing (a quantity or a value "
             "above 0 is needed)");
    cite_bad(a, "{\"id\":\"CQ-1\",\"line\":0,\"quantity\":1}", 2,
             ERR_INVALID, "permits[0].line: 0 is not a line number (1, 2, "
             "...)");
    cite_bad(a, "{\"id\":\"CQ-1\",\"line\":-1,\"quantity\":1}", 2,
             ERR_INVALID, "permits[0].line: -1 is not a line number (1, 2, "
             "...)");
    cite_bad(a, "{\"id\":\"CQ-1\",\"quantity\":-1}", 2, ERR_INVALID,
             "permits[0].quantity: -1 is negative");
    cite_bad(a, "{\"id\":\"CQ-1\",\"value\":-3.5}", 2, ERR_INVALID,
             "permits[0].value: -3.5 is negative");
    cite_bad(a, "{\"id\":\"CQ-1\"},{\"id\":\"CQ-2\"},{\"id\":\"CQ-1\"},"
             "{\"id\":\"CQ-3\"}", 2, ERR_TOOBIG,
             "permits[3]: more than 2 permits cited");
    cite_bad(a, "{\"id\":\"CQ-1\"}", 0, ERR_TOOBIG,
             "permits[0]: more than 0 permits cited");
}

static void test_citations_caps(void **state)
{
    arena_t *a = *state;
    char json[16384] = "";
    for (int i = 1; i <= PM_LINES_MAX + 1; i++) {
        char c[64];
        snprintf(c, sizeof c, "%s{\"id\":\"CQ-1\",\"line\":%d,\"value\":1}",
                 i > 1 ? "," : "", PM_LINES_MAX + 2 - i);
        strcat(json, c);
    }
    cite_bad(a, json, 2, ERR_TOOBIG,
             "permits[64]: more than 64 lines of CQ-1 cited");
}

/* 2048 citations of 2^53 thousandths reach 2^64 (each alone is fine). */
static void test_citations_overflow(void **state)
{
    arena_t *a = *state;
    err_t e;
    model_record *r = rec(a, "{\"kind\":\"declaration\"}");
    const model_field *f = model_field_find("permits");
    for (int i = 0; i < 2048; i++) {
        model_citation *c = model_array_append(a, r, f, &e);
        c->id = "CQ-1";
        c->quantity = (model_num){9007199254740.992, 1};
    }
    pm_req q[1];
    size_t n = 99;
    err_clear(&e);
    assert_int_equal(pmrec_citations(r, "K", NULL, 0, a, q, 1, &n, &e),
                     ERR_INVALID);
    assert_string_equal(e.msg, "permits[2047]: the amounts cited of CQ-1 "
                        "line 0 add up past 2^64");
    assert_int_equal(n, 0);
    r->permits.n = 2047;
    assert_int_equal(pmrec_citations(r, "K", NULL, 0, a, q, 1, &n, &e), 0);
    assert_true(q[0].lines[0].qty == 2047 * 9007199254740992ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_time_refused),
        cmocka_unit_test(test_permit),
        cmocka_unit_test(test_permit_lines_and_status),
        cmocka_unit_test(test_permit_refused),
        cmocka_unit_test(test_permit_refused_holder_validity),
        cmocka_unit_test(test_permit_refused_lines),
        cmocka_unit_test(test_permit_refused_usage),
        cmocka_unit_test(test_citations),
        cmocka_unit_test(test_citations_none_and_uses),
        cmocka_unit_test(test_citations_refused),
        cmocka_unit_test(test_citations_caps),
        cmocka_unit_test(test_citations_overflow),
    };
    return cmocka_run_group_tests_name("gateway/pmrec", tests, setup,
                                       teardown);
}
