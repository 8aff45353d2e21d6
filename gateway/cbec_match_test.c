/* Unit tests for cbec_match: parcel A of the CEB samples (docs/cbec.md)
 * as its four documents, then each rule broken one at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cbec_match.h"
#include "model_json.h"
#include "model_test_util.h"

#define PLATFORM "{\"role\":\"platform\",\"id\":\"5001960011\"}"
#define SELLER "{\"role\":\"seller\",\"id\":\"5001960011\"}"
#define CARRIER "{\"role\":\"carrier\",\"id\":\"5001980022\"}"
#define BUYER "{\"role\":\"buyer\",\"name\":\"李晓梅\",\"id\":\"500103199203154426\"}"
#define LINES                                                                  \
    "\"goods\":[{\"seq\":1,\"item_no\":\"JD-MF-0901\",\"quantity\":2,"        \
    "\"value\":396},{\"seq\":2,\"item_no\":\"JD-VC-1102\",\"quantity\":1,"    \
    "\"value\":89}]"

static const char ORDER[] =
    "{\"kind\":\"order\",\"document\":{\"type\":\"ecommerce_order\"},"
    "\"parties\":[" PLATFORM "," SELLER "," BUYER "]," LINES ","
    "\"cbec\":{\"order_no\":\"CQJD2026112400017\",\"currency\":\"CNY\","
    "\"goods_value\":485,\"freight\":0,\"discount\":20,\"tax_total\":44.14,"
    "\"paid\":509.14}}";
static const char PAYMENT[] =
    "{\"kind\":\"payment\",\"document\":{\"type\":\"payment_record\"},"
    "\"parties\":[" PLATFORM ",{\"role\":\"payer\",\"name\":\"李晓梅\","
    "\"id\":\"500103199203154426\"}],"
    "\"cbec\":{\"order_no\":\"CQJD2026112400017\",\"currency\":\"CNY\","
    "\"paid\":509.14}}";
static const char WAYBILL[] =
    "{\"kind\":\"waybill\",\"document\":{\"type\":\"parcel_waybill\"},"
    "\"parties\":[" CARRIER "],"
    "\"cbec\":{\"logistics_no\":\"YT8800123456781\",\"freight\":0}}";
static const char INVENTORY[] =
    "{\"kind\":\"declaration\",\"document\":{\"type\":\"inventory_list\"},"
    "\"parties\":[" PLATFORM "," SELLER "," CARRIER "," BUYER "]," LINES ","
    "\"cbec\":{\"order_no\":\"CQJD2026112400017\","
    "\"logistics_no\":\"YT8800123456781\",\"currency\":\"CNY\",\"freight\":0}}";

/* json with its first `from` replaced by `to`. */
static model_record *rec_with(arena_t *a, const char *json, const char *from,
                              const char *to)
{
    char buf[4096];
    const char *at = strstr(json, from);
    assert_non_null(at);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - json), json, to,
             at + strlen(from));
    return mtu_rec(a, buf);
}

static cbec_set full(arena_t *a)
{
    cbec_set s = {{mtu_rec(a, ORDER), mtu_rec(a, PAYMENT), mtu_rec(a, WAYBILL),
                   mtu_rec(a, INVENTORY)}};
    return s;
}

/* The one mismatch v holds. */
static const cbec_mismatch *only(const cbec_verdict *v)
{
    if (v->n != 1) {
        char text[2048];
        cbec_verdict_text(v, text, sizeof text);
        fail_msg("want one mismatch, got %zu: %s", v->n, text);
    }
    return &v->m[0];
}

static void test_doc_of(void **state)
{
    arena_t *a = *state;
    cbec_set s = full(a);
    for (int d = 0; d < CBEC__DOCS; d++)
        assert_int_equal(cbec_doc_of(s.doc[d]), d);
    assert_int_equal(cbec_doc_of(mtu_rec(a, "{\"kind\":\"waybill\",\"document\":"
                                        "{\"type\":\"rail_waybill\"}}")), -1);
    assert_int_equal(cbec_doc_of(mtu_rec(a, "{\"kind\":\"declaration\",\"document\":"
                                        "{\"type\":\"withdrawal_request\"}}")), -1);
    assert_string_equal(cbec_doc_name(CBEC_INVENTORY), "inventory");
}

static void test_matched(void **state)
{
    arena_t *a = *state;
    cbec_set s = full(a);
    cbec_verdict v;
    cbec_match(&s, NULL, &v);
    assert_int_equal(v.n, 0);
    assert_int_equal(v.present, CBEC_ALL_DOCS);
    assert_string_equal(cbec_verdict_state(&v), "matched");
}

static void test_awaiting(void **state)
{
    arena_t *a = *state;
    cbec_set s = {{mtu_rec(a, ORDER), NULL, NULL, mtu_rec(a, INVENTORY)}};
    cbec_verdict v;
    char text[64];
    cbec_match(&s, NULL, &v);
    assert_string_equal(cbec_verdict_state(&v), "awaiting");
    cbec_missing_text(v.present, text, sizeof text);
    assert_string_equal(text, "payment, waybill");
    cbec_missing_text(CBEC_ALL_DOCS, text, sizeof text);
    assert_string_equal(text, "");
}

/* An order and a payment that disagree are reported before the waybill
 * and the inventory list come. */
static void test_early_payment_mismatch(void **state)
{
    arena_t *a = *state;
    cbec_set s = {{mtu_rec(a, ORDER), rec_with(a, PAYMENT, "\"paid\":509.14",
                                           "\"paid\":500"), NULL, NULL}};
    cbec_verdict v;
    char text[256];
    cbec_match(&s, NULL, &v);
    const cbec_mismatch *m = only(&v);
    assert_string_equal(m->rule, "payment");
    assert_string_equal(m->field, "cbec.paid");
    assert_string_equal(m->va, "509.14");
    assert_string_equal(m->vb, "500");
    assert_string_equal(cbec_verdict_state(&v), "mismatched");
    cbec_verdict_text(&v, text, sizeof text);
    assert_string_equal(text, "payment: cbec.paid: order says 509.14, "
                              "payment says 500");
}

static void test_tolerance(void **state)
{
    arena_t *a = *state;
    cbec_set s = full(a);
    s.doc[CBEC_PAYMENT] = rec_with(a, PAYMENT, "\"paid\":509.14", "\"paid\":509.15");
    cbec_verdict v;
    cbec_match(&s, NULL, &v); /* 0.01 is the default tolerance */
    assert_int_equal(v.n, 0);
    cbec_opts strict = {0};
    cbec_match(&s, &strict, &v);
    assert_string_equal(only(&v)->rule, "payment");
}

/* Identity numbers and names are compared in full and shown masked. */
static void test_payer_masked(void **state)
{
    arena_t *a = *state;
    cbec_set s = full(a);
    s.doc[CBEC_PAYMENT] = rec_with(a, PAYMENT, "500103199203154426",
                                   "500103199203154434");
    cbec_verdict v;
    cbec_match(&s, NULL, &v);
    const cbec_mismatch *m = only(&v);
    assert_string_equal(m->rule, "payer");
    assert_string_equal(m->field, "parties[role=buyer].id");
    assert_string_equal(m->va, "5001**********4426");
    assert_string_equal(m->vb, "5001**********4434");
    s.doc[CBEC_PAYMENT] = rec_with(a, PAYMENT, "\"name\":\"李晓梅\"",
                                   "\"name\":\"李小梅\"");
    cbec_match(&s, NULL, &v);
    assert_string_equal(only(&v)->va, "李**");
}

static void test_keys_and_parties(void **state)
{
    arena_t *a = *state;
    cbec_set s = full(a);
    s.doc[CBEC_WAYBILL] = rec_with(a, WAYBILL, "YT8800123456781", "YT8800123456799");
    cbec_verdict v;
    cbec_match(&s, NULL, &v);
    assert_string_equal(only(&v)->field, "cbec.logistics_no");
    assert_int_equal(only(&v)->a, CBEC_WAYBILL);
    s = full(a);
    s.doc[CBEC_INVENTORY] = rec_with(a, INVENTORY, CARRIER,
                                     "{\"role\":\"carrier\",\"id\":\"5001980033\"}");
    cbec_match(&s, NULL, &v);
    assert_string_equal(only(&v)->rule, "carrier");
    /* the payment names no platform: absent against present */
    s = full(a);
    s.doc[CBEC_PAYMENT] = rec_with(a, PAYMENT, PLATFORM ",", "");
    cbec_match(&s, NULL, &v);
    assert_string_equal(only(&v)->field, "parties[role=platform].id");
    assert_string_equal(only(&v)->vb, "absent");
}

static void test_lines(void **state)
{
    arena_t *a = *state;
    cbec_set s = full(a);
    s.doc[CBEC_INVENTORY] = rec_with(a, INVENTORY, "\"quantity\":2", "\"quantity\":3");
    cbec_verdict v;
    cbec_match(&s, NULL, &v);
    assert_string_equal(only(&v)->field, "goods[item_no=JD-MF-0901].quantity");
    /* a line the order does not have: the sum and the line itself */
    s.doc[CBEC_INVENTORY] = rec_with(a, INVENTORY, "\"item_no\":\"JD-VC-1102\"",
                                     "\"item_no\":\"JD-VC-1199\"");
    cbec_match(&s, NULL, &v);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.m[0].field, "goods[item_no=JD-VC-1102]");
    assert_string_equal(v.m[0].vb, "absent");
    assert_string_equal(v.m[1].field, "goods[item_no=JD-VC-1199]");
    assert_string_equal(v.m[1].va, "absent");
    s.doc[CBEC_INVENTORY] = rec_with(a, INVENTORY, "\"value\":89", "\"value\":98");
    cbec_match(&s, NULL, &v);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.m[0].rule, "goods value");
    assert_string_equal(v.m[0].vb, "494");
    assert_string_equal(v.m[1].field, "goods[item_no=JD-VC-1102].value");
}

/* More failures than a verdict holds are counted and said. */
static void test_many(void **state)
{
    arena_t *a = *state;
    char inv[8192] = "{\"kind\":\"declaration\",\"document\":{\"type\":"
                     "\"inventory_list\"},\"goods\":[";
    for (int i = 0; i < 40; i++)
        snprintf(inv + strlen(inv), sizeof inv - strlen(inv),
                 "%s{\"item_no\":\"X%d\",\"quantity\":1,\"value\":0}", i ? "," : "", i);
    strcat(inv, "]}");
    cbec_set s = {{mtu_rec(a, ORDER), NULL, NULL, mtu_rec(a, inv)}};
    cbec_verdict v;
    char text[8192];
    cbec_match(&s, NULL, &v);
    assert_true(v.n > CBEC_MISMATCH_MAX);
    cbec_verdict_text(&v, text, sizeof text);
    assert_non_null(strstr(text, "more"));
    char small[40];
    cbec_verdict_text(&v, small, sizeof small); /* truncated, terminated */
    assert_int_equal(strlen(small), sizeof small - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_of),
        cmocka_unit_test(test_matched),
        cmocka_unit_test(test_awaiting),
        cmocka_unit_test(test_early_payment_mismatch),
        cmocka_unit_test(test_tolerance),
        cmocka_unit_test(test_payer_masked),
        cmocka_unit_test(test_keys_and_parties),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, mtu_arena_setup, mtu_arena_teardown);
}
