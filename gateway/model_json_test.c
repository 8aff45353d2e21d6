/* Unit tests for model_json: exact output (key order, omission, escaping,
 * numbers) and reading (round trip, unknown keys, wrong types, syntax). */
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model_json.h"

static int setup(void **state)
{
    static arena_t a;
    arena_init(&a, 16u << 20);
    *state = &a;
    return 0;
}

static int teardown(void **state)
{
    arena_free(*state);
    return 0;
}

/* Write r and compare with want; the message shows both on mismatch. */
static void write_is(const model_record *r, const char *want)
{
    buf_t b;
    buf_init(&b, 1 << 16);
    err_t e;
    err_clear(&e);
    int rc = model_json_write(r, &b, &e);
    char got[2048];
    snprintf(got, sizeof got, "%s", b.p ? b.p : "");
    buf_free(&b);
    if (rc)
        fail_msg("write failed: %s", e.msg);
    if (strcmp(got, want) != 0)
        fail_msg("got  %s\nwant %s", got, want);
}

/* Read text; expect rc and (when rc != 0) a message containing part. */
static model_record *read_as(arena_t *a, const char *text, int want_rc,
                             const char *part)
{
    model_record *r = NULL;
    err_t e;
    err_clear(&e);
    int rc = model_json_read(text, strlen(text), a, &r, &e);
    if (rc != want_rc)
        fail_msg("read %s: rc %d (%s), want %d", text, rc, e.msg, want_rc);
    if (rc && !strstr(e.msg, part))
        fail_msg("read %s: message '%s' lacks '%s'", text, e.msg, part);
    if (rc && e.code != rc)
        fail_msg("read %s: e.code %d, rc %d", text, e.code, rc);
    return r;
}

static void test_empty_record_is_empty_object(void **state)
{
    model_record *r = model_record_new(*state);
    write_is(r, "{}");
}

static void test_key_order_follows_table(void **state)
{
    arena_t *a = *state;
    err_t e;
    model_record *r = model_record_new(a);
    /* set in an order unlike the table's */
    r->totals.gross_kg = (model_num){1250.5, 1};
    r->document.number = "WB-1";
    r->document.type = "740";
    r->source.message_type = "IFTMIN";
    r->source.format = "edifact";
    r->kind = "waybill";
    r->totals.packages = (model_num){10, 1};
    r->status.event = "loaded";
    model_goods *g = model_array_append(a, r, model_field_find("goods"), &e);
    model_strlist_add(a, &g->equipment_refs, "C1", 2, &e);
    g->gross_kg = (model_num){3, 1};
    g->seq = (model_num){1, 1};
    model_party *p = model_array_append(a, r, model_field_find("parties"), &e);
    p->name = "ACME";
    p->role = "consignor";
    p = model_array_append(a, r, model_field_find("parties"), &e);
    p->role = "consignee";
    write_is(r, "{\"kind\":\"waybill\","
                "\"source\":{\"format\":\"edifact\",\"message_type\":\"IFTMIN\"},"
                "\"document\":{\"type\":\"740\",\"number\":\"WB-1\"},"
                "\"parties\":[{\"role\":\"consignor\",\"name\":\"ACME\"},"
                "{\"role\":\"consignee\"}],"
                "\"goods\":[{\"seq\":1,\"gross_kg\":3,"
                "\"equipment_refs\":[\"C1\"]}],"
                "\"totals\":{\"packages\":10,\"gross_kg\":1250.5},"
                "\"status\":{\"event\":\"loaded\"}}");
}

/* warnings[] comes last, after status, and is absent when empty (so the
 * records of clean input are as they were before it existed). */
static void test_warnings_last(void **state)
{
    arena_t *a = *state;
    err_t e;
    model_record *r = model_record_new(a);
    r->kind = "status";
    r->status.event = "gate_in";
    write_is(r, "{\"kind\":\"status\",\"status\":{\"event\":\"gate_in\"}}");
    model_strlist_add(a, &r->warnings, "dates: x at 1:2", 15, &e);
    model_strlist_add(a, &r->warnings, "bom: y at 1:1", 13, &e);
    write_is(r, "{\"kind\":\"status\",\"status\":{\"event\":\"gate_in\"},"
                "\"warnings\":[\"dates: x at 1:2\",\"bom: y at 1:1\"]}");
}

static void test_absent_values_omitted(void **state)
{
    arena_t *a = *state;
    err_t e;
    model_record *r = model_record_new(a);
    r->customs.office = "CNSHA";
    r->totals.gross_kg = (model_num){99, 0}; /* value but not set */
    model_equipment *q =
        model_array_append(a, r, model_field_find("equipment"), &e);
    (void)q; /* element with nothing set: still an (empty) object */
    r->document.number = ""; /* empty string is present, not absent */
    write_is(r, "{\"document\":{\"number\":\"\"},\"equipment\":[{}],"
                "\"customs\":{\"office\":\"CNSHA\"}}");
}

static void test_string_escaping(void **state)
{
    arena_t *a = *state;
    model_record *r = model_record_new(a);
    r->kind = "say \"hi\" \\ back";
    r->document.place = "a\nb\tc\x01" "d\x1f" "e\x7f";
    r->route.origin = "上海 Shanghai";
    write_is(r, "{\"kind\":\"say \\\"hi\\\" \\\\ back\","
                "\"document\":{\"place\":\"a\\nb\\u0009c\\u0001d\\u001fe\x7f\"},"
                "\"route\":{\"origin\":\"上海 Shanghai\"}}");
}

static void test_numbers(void **state)
{
    arena_t *a = *state;
    model_record *r = model_record_new(a);
    r->totals.packages = (model_num){0, 1};
    r->totals.gross_kg = (model_num){-12.25, 1};
    r->totals.goods_items = (model_num){0.1, 1};
    r->totals.equipment_count = (model_num){123456789012, 1};
    write_is(r, "{\"totals\":{\"packages\":0,\"gross_kg\":-12.25,"
                "\"goods_items\":0.1,\"equipment_count\":123456789012}}");
    r->totals.gross_kg = (model_num){-7, 1};
    r->totals.goods_items = (model_num){2.5e-7, 1};
    r->totals.equipment_count = (model_num){1e20, 1};
    write_is(r, "{\"totals\":{\"packages\":0,\"gross_kg\":-7,"
                "\"goods_items\":2.5e-07,\"equipment_count\":1e+20}}");
}

static void test_write_refuses_nonfinite_and_cap(void **state)
{
    arena_t *a = *state;
    model_record *r = model_record_new(a);
    r->totals.gross_kg = (model_num){INFINITY, 1};
    buf_t b;
    buf_init(&b, 1024);
    err_t e;
    err_clear(&e);
    assert_int_equal(model_json_write(r, &b, &e), ERR_INVALID);
    assert_int_equal(e.code, ERR_INVALID);
    buf_free(&b);

    r->totals.gross_kg.set = 0;
    buf_init(&b, 10);
    r->kind = "waybill-with-a-long-name";
    assert_int_equal(model_json_write(r, &b, &e), ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "size limit exceeded"));
    assert_true(b.len <= 10);
    buf_free(&b);
}

/* One of every field type, for the round trips. */
static model_record *full(arena_t *a)
{
    err_t e;
    model_record *r = model_record_new(a);
    r->kind = "manifest";
    r->source.sender = "SENDER\"1\"";
    r->document.number = "M-9";
    r->route.destination = "深圳";
    r->customs.status_text = "line1\nline2\ttab";
    r->totals.gross_kg = (model_num){1234.567, 1};
    r->totals.packages = (model_num){-3, 1};
    model_leg *l = model_array_append(a, r, model_field_find("legs"), &e);
    l->seq = (model_num){1, 1};
    l->mode = "sea";
    l->voyage = "V001";
    model_equipment *q =
        model_array_append(a, r, model_field_find("equipment"), &e);
    q->number = "MSCU1234565";
    q->tare_kg = (model_num){2200, 1};
    model_strlist_add(a, &q->seals, "S1", 2, &e);
    model_strlist_add(a, &q->seals, "", 0, &e);
    model_array_append(a, r, model_field_find("equipment"), &e);
    model_goods *g = model_array_append(a, r, model_field_find("goods"), &e);
    g->description = "螺丝 screws \\ 10%";
    g->value = (model_num){0.30000000000000004, 1};
    model_strlist_add(a, &r->warnings, "bom: UTF-8 byte order mark at 1:1",
                      33, &e);
    return r;
}

static void test_round_trip(void **state)
{
    arena_t *a = *state;
    model_record *r = full(a);
    buf_t b1, b2, diff;
    buf_init(&b1, 1 << 16);
    buf_init(&b2, 1 << 16);
    buf_init(&diff, 256);
    err_t e;
    assert_int_equal(model_json_write(r, &b1, &e), 0);
    model_record *back = read_as(a, b1.p, 0, NULL);
    assert_non_null(back);
    int eq = model_equal(r, back, &diff);
    if (!eq)
        fail_msg("round trip differs at %s in %s", diff.p, b1.p);
    assert_int_equal(model_json_write(back, &b2, &e), 0);
    assert_string_equal(b1.p, b2.p); /* equal records, identical bytes */
    assert_string_equal(back->route.destination, "深圳");
    assert_int_equal(back->equipment.n, 2);
    assert_int_equal(back->equipment.v[0].seals.n, 2);
    assert_int_equal(back->warnings.n, 1);
    assert_string_equal(back->warnings.v[0],
                        "bom: UTF-8 byte order mark at 1:1");
    buf_free(&b1);
    buf_free(&b2);
    buf_free(&diff);
}

/* Every finite number reads back as model_equal's equal (within 1e-9; the
 * largest doubles must not overflow to inf), and the 15-digit form is kept
 * where that holds: 0.1 + 0.2 is written as 0.3. */
static void test_numbers_round_trip(void **state)
{
    arena_t *a = *state;
    static const double vals[] = {0.1 + 0.2, 1.0 / 3, 1234567.891234567,
                                  98765432109.87654, 1e-300,
                                  1.7976931348623157e308,
                                  -1.7976931348623157e308, 4.35};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        model_record *r = model_record_new(a);
        r->totals.gross_kg = (model_num){vals[i], 1};
        buf_t b;
        buf_init(&b, 256);
        err_t e;
        assert_int_equal(model_json_write(r, &b, &e), 0);
        char text[256];
        snprintf(text, sizeof text, "%s", b.p);
        buf_free(&b);
        model_record *back = read_as(a, text, 0, NULL);
        if (!model_equal(r, back, NULL))
            fail_msg("%.17g written as %s read back as %.17g", vals[i], text,
                     back->totals.gross_kg.v);
    }
    model_record *r = model_record_new(a);
    r->totals.gross_kg = (model_num){0.1 + 0.2, 1};
    r->totals.packages = (model_num){4.35, 1};
    write_is(r, "{\"totals\":{\"packages\":4.35,\"gross_kg\":0.3}}");
}

static void test_read_accepts_any_key_order(void **state)
{
    model_record *r = read_as(*state,
                              "{\"totals\":{\"gross_kg\":5},"
                              "\"document\":{\"number\":\"X\",\"type\":\"T\"},"
                              "\"kind\":\"status\"}",
                              0, NULL);
    assert_string_equal(r->kind, "status");
    assert_string_equal(r->document.type, "T");
    assert_true(r->totals.gross_kg.set);
    assert_float_equal(r->totals.gross_kg.v, 5, 1e-12);
    assert_false(r->totals.packages.set);
    assert_null(r->document.place);
}

static void test_read_unknown_keys(void **state)
{
    arena_t *a = *state;
    read_as(a, "{\"kind\":\"waybill\",\"colour\":\"red\"}", ERR_INVALID,
            "colour: unknown key");
    read_as(a, "{\"document\":{\"number\":\"1\",\"colour\":\"red\"}}",
            ERR_INVALID, "document.colour: unknown key");
    read_as(a, "{\"document\":{\"origin\":\"X\"}}", ERR_INVALID,
            "document.origin: unknown key");
    read_as(a, "{\"parties\":[{\"role\":\"a\"},{\"colour\":\"red\"}]}",
            ERR_INVALID, "parties[1].colour: unknown key");
    read_as(a, "{\"number\":\"1\"}", ERR_INVALID, "number: unknown key");
}

static void test_read_wrong_types(void **state)
{
    arena_t *a = *state;
    read_as(a, "{\"kind\":5}", ERR_INVALID, "kind: expected a string");
    read_as(a, "{\"kind\":null}", ERR_INVALID, "kind: expected a string");
    read_as(a, "{\"document\":{\"number\":[\"1\"]}}", ERR_INVALID,
            "document.number: expected a string");
    read_as(a, "{\"totals\":{\"gross_kg\":\"12\"}}", ERR_INVALID,
            "totals.gross_kg: expected a number");
    read_as(a, "{\"parties\":{\"role\":\"x\"}}", ERR_INVALID,
            "parties: expected an array");
    read_as(a, "{\"parties\":[\"x\"]}", ERR_INVALID,
            "parties[0]: expected an object");
    read_as(a, "{\"equipment\":[{\"seals\":[\"a\",7]}]}", ERR_INVALID,
            "seals[1]: expected a string");
    read_as(a, "{\"document\":\"WB-1\"}", ERR_INVALID,
            "document: expected an object");
    read_as(a, "[1,2]", ERR_INVALID, "record must be an object");
}

static void test_read_malformed(void **state)
{
    arena_t *a = *state;
    read_as(a, "{\n  \"kind\": \"waybill\",\n  \"document\": }\n", ERR_SYNTAX,
            "json:3:");
    model_record *r = NULL;
    err_t e;
    err_clear(&e);
    const char *text = "{\"kind\":";
    assert_int_equal(model_json_read(text, strlen(text), a, &r, &e),
                     ERR_SYNTAX);
    assert_null(r); /* *out untouched on failure */
    assert_memory_equal(e.msg, "json:1:", 7);
    assert_non_null(strstr(e.msg, ": error: "));
    read_as(a, "", ERR_SYNTAX, "json:");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_record_is_empty_object),
        cmocka_unit_test(test_key_order_follows_table),
        cmocka_unit_test(test_absent_values_omitted),
        cmocka_unit_test(test_warnings_last),
        cmocka_unit_test(test_string_escaping),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_write_refuses_nonfinite_and_cap),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_numbers_round_trip),
        cmocka_unit_test(test_read_accepts_any_key_order),
        cmocka_unit_test(test_read_unknown_keys),
        cmocka_unit_test(test_read_wrong_types),
        cmocka_unit_test(test_read_malformed),
    };
    return cmocka_run_group_tests_name("gateway/model_json", tests, setup,
                                       teardown);
}
