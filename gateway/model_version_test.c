/* Unit tests for model_version: a record goes out at the lowest version
 * that knows its enumeration values, so version 1 records keep their
 * bytes, and version 2 (cross-border e-commerce) records read back whole
 * through both forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model_json.h"
#include "model_test_util.h"
#include "model_pack.h"
#include "model_version.h"

static model_party *party(arena_t *a, model_record *r, const char *role)
{
    err_t e;
    model_party *p = model_array_append(a, r, model_field_find("parties"), &e);
    assert_non_null(p);
    p->role = (char *)role;
    return p;
}

/* The version byte model_pack wrote: [v, {...}] as fixarray, fixint. */
static unsigned packed_version(const model_record *r, buf_t *b)
{
    err_t e;
    buf_reset(b);
    assert_int_equal(model_pack(r, b, &e), 0);
    assert_int_equal((unsigned char)b->p[0], 0x92);
    return (unsigned char)b->p[1];
}

static void test_v1_records_stay_v1(void **state)
{
    arena_t *a = *state;
    buf_t b;
    buf_init(&b, 1 << 16);
    model_record *r = model_record_new(a);
    r->kind = "waybill";
    r->document.type = "rail_waybill";
    party(a, r, "consignor");
    party(a, r, "holder"); /* came into version 1 with permits */
    assert_int_equal(model_version_of(r), 1);
    assert_int_equal(packed_version(r, &b), 1);
    /* optional fields of version 2 alone do not need it: old readers skip
     * keys they do not know */
    r->cbec.order_no = "ORD-1";
    r->cbec.paid = (model_num){12.5, 1};
    assert_int_equal(packed_version(r, &b), 1);
    buf_free(&b);
}

static void test_v2_values(void **state)
{
    arena_t *a = *state;
    buf_t b;
    buf_init(&b, 1 << 16);
    static const char *const kinds[] = {"order", "payment"};
    for (size_t i = 0; i < 2; i++) {
        model_record *r = model_record_new(a);
        r->kind = (char *)kinds[i];
        assert_int_equal(packed_version(r, &b), 2);
    }
    model_record *w = model_record_new(a);
    w->kind = "waybill";
    w->document.type = "parcel_waybill";
    assert_int_equal(model_version_of(w), 2);
    model_record *d = model_record_new(a);
    d->kind = "declaration";
    party(a, d, "declarant");
    assert_int_equal(model_version_of(d), 1);
    party(a, d, "buyer"); /* the last party decides as well as the first */
    assert_int_equal(model_version_of(d), 2);
    assert_int_equal(model_version_introducing("kind", "waybill"), 1);
    assert_int_equal(model_version_introducing("parties[].role", "order"), 1);
    assert_int_equal(model_version_introducing("kind", NULL), 1);
    buf_free(&b);
}

/* Every kind a version introduced is one model_validate takes. */
static void test_v2_kinds_validate(void **state)
{
    arena_t *a = *state;
    for (const char *const *k = model_kinds; *k; k++) {
        model_record *r = model_record_new(a);
        r->kind = (char *)*k;
        err_t e;
        assert_int_equal(model_validate(r, &e), 0);
    }
    assert_int_equal(model_version_introducing("kind", "order"), 2);
}

static model_record *order(arena_t *a)
{
    err_t e;
    model_record *r = model_record_new(a);
    r->kind = "order";
    r->document.type = "ecommerce_order";
    r->document.number = "JD20261124000123";
    r->cbec.order_no = "JD20261124000123";
    r->cbec.direction = "import";
    r->cbec.currency = "CNY";
    r->cbec.goods_value = (model_num){398.0, 1};
    r->cbec.freight = (model_num){0, 1};
    r->cbec.tax_total = (model_num){36.22, 1};
    r->cbec.paid = (model_num){434.22, 1};
    model_party *p = party(a, r, "buyer");
    p->name = "张三";
    p->id = "50010119900101123X";
    p->id_type = "identity_card";
    p->account = "jd_zhangsan";
    model_goods *g = model_array_append(a, r, model_field_find("goods"), &e);
    g->seq = (model_num){1, 1};
    g->item_no = "SKU-88";
    g->item_name = "婴儿奶粉 900g";
    g->spec = "900g/罐";
    g->quantity = (model_num){2, 1};
    g->unit_price = (model_num){199.0, 1};
    g->value = (model_num){398.0, 1};
    r->totals.net_kg = (model_num){1.8, 1};
    return r;
}

static void test_v2_round_trip(void **state)
{
    arena_t *a = *state;
    model_record *r = order(a), *back = NULL;
    buf_t b, diff;
    buf_init(&b, 1 << 16);
    buf_init(&diff, 256);
    err_t e;
    assert_int_equal(packed_version(r, &b), 2);
    assert_int_equal(model_unpack(b.p, b.len, a, &back, &e), 0);
    if (!model_equal(r, back, &diff))
        fail_msg("msgpack round trip differs at %s", diff.p);
    buf_reset(&b);
    assert_int_equal(model_json_write(r, &b, &e), 0);
    assert_non_null(strstr(b.p, "\"cbec\":{\"order_no\":\"JD20261124000123\""));
    assert_non_null(strstr(b.p, "\"unit_price\":199"));
    back = NULL;
    assert_int_equal(model_json_read(b.p, b.len, a, &back, &e), 0);
    if (!model_equal(r, back, &diff))
        fail_msg("JSON round trip differs at %s", diff.p);
    buf_free(&b);
    buf_free(&diff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_records_stay_v1),
        cmocka_unit_test(test_v2_values),
        cmocka_unit_test(test_v2_kinds_validate),
        cmocka_unit_test(test_v2_round_trip),
    };
    return cmocka_run_group_tests(tests, mtu_arena_setup, mtu_arena_teardown);
}
