/* Unit tests for cbec_route: the first row that fits, each way a row
 * fits, and the defaults (cbec.clearing, then this node). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cbec_route.h"
#include "model_json.h"
#include "model_test_util.h"

static cfg_cbec_route rows[] = {
    {.customs = "80", .node = "CQ"},
    {.customs = "2249", .node = "SH"},
    {.platform = "3301961234", .node = "SC"},
    {.carrier = "5001980033", .node = "SN"},
    {.order_prefix = "SHJD", .node = "SH"},
};

static void test_route(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 1 << 20);
    static cfg c; /* zeroed: only what cbec_route reads is set */
    c.node.id = "SC";
    c.cbec_routes = rows;
    c.ncbec_routes = sizeof rows / sizeof rows[0];
    int row;
    /* an inventory list by its customs office, or its port */
    const char *inv = "{\"kind\":\"declaration\",\"customs\":{\"office\":\"8013\"}}";
    assert_string_equal(cbec_route(&c, mtu_rec(&a, inv), &row), "CQ");
    assert_int_equal(row, 0);
    const char *port = "{\"kind\":\"declaration\",\"cbec\":{\"port_code\":\"2249\"}}";
    assert_string_equal(cbec_route(&c, mtu_rec(&a, port), &row), "SH");
    assert_int_equal(row, 1);
    /* the first row that fits wins: customs before platform */
    const char *both = "{\"kind\":\"declaration\",\"customs\":{\"office\":\"8003\"},"
                       "\"parties\":[{\"role\":\"platform\",\"id\":\"3301961234\"}]}";
    assert_string_equal(cbec_route(&c, mtu_rec(&a, both), &row), "CQ");
    const char *order = "{\"kind\":\"order\",\"parties\":[{\"role\":\"seller\","
                        "\"id\":\"3301961234\"},{\"role\":\"platform\",\"id\":"
                        "\"3301961234\"}]}";
    assert_string_equal(cbec_route(&c, mtu_rec(&a, order), &row), "SC");
    assert_int_equal(row, 2);
    const char *wb = "{\"kind\":\"waybill\",\"parties\":[{\"role\":\"carrier\","
                     "\"id\":\"5001980033\"}]}";
    assert_string_equal(cbec_route(&c, mtu_rec(&a, wb), &row), "SN");
    const char *pay = "{\"kind\":\"payment\",\"cbec\":{\"order_no\":\"SHJD0001\"}}";
    assert_string_equal(cbec_route(&c, mtu_rec(&a, pay), &row), "SH");
    assert_int_equal(row, 4);
    /* nothing fits: cbec.clearing, else this node */
    const char *none = "{\"kind\":\"payment\",\"cbec\":{\"order_no\":\"X1\"}}";
    assert_string_equal(cbec_route(&c, mtu_rec(&a, none), &row), "SC");
    assert_int_equal(row, -1);
    c.cbec.clearing = "CQ";
    assert_string_equal(cbec_route(&c, mtu_rec(&a, none), &row), "CQ");
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
