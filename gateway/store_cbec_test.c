/* Unit tests for store_cbec against a private redis-server: a set opened
 * and filled, each document applied once, conflicts and changes, a
 * waybill waiting for its inventory list and one arriving after it,
 * verdicts refused when the set moved on, time limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store_cbec.h"
#include "store_test_util.h"

#define LIMIT 60000

static arena_t g_a;

static store_cbec_res put(store *st, cbec_doc d, const char *key,
                          const char *id, const char *rec, const char *lno,
                          int replace, int64_t now)
{
    store_cbec_put p = {d, key, id, lno, rec, strlen(rec), replace, NULL};
    store_cbec_res r;
    err_t e = {0};
    if (store_cbec_attach(st, &p, now, LIMIT, &g_a, &r, &e))
        fail_msg("attach: %s", e.msg);
    return r;
}

static store_cbec_set get(store *st, const char *order)
{
    store_cbec_set s;
    err_t e = {0};
    if (store_cbec_get(st, order, &g_a, &s, &e))
        fail_msg("get: %s", e.msg);
    return s;
}

static void test_once_and_conflicts(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "c1:");
    store_cbec_res r = put(st, CBEC_ORDER, "ORD1", "m1", "order-v1", NULL, 0, 1000);
    assert_int_equal(r.outcome, STORE_CBEC_ATTACHED);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.order_no, "ORD1");
    /* the attach hands back the set as it left it */
    assert_true(r.has_set);
    assert_int_equal(r.set.n, 1);
    assert_string_equal(r.set.doc[CBEC_ORDER].id, "m1");
    assert_memory_equal(r.set.doc[CBEC_ORDER].rec, "order-v1", 8);
    store_cbec_set s = get(st, "ORD1");
    assert_string_equal(s.state, "awaiting");
    assert_int_equal(s.first, 1000);
    assert_int_equal(s.due, 1000 + LIMIT);
    assert_string_equal(s.doc[CBEC_ORDER].id, "m1");
    assert_int_equal(s.doc[CBEC_ORDER].len, 8);
    assert_memory_equal(s.doc[CBEC_ORDER].rec, "order-v1", 8);
    assert_null(s.doc[CBEC_PAYMENT].id);
    /* the same record again, the same bytes under another id, other bytes */
    assert_int_equal(put(st, CBEC_ORDER, "ORD1", "m1", "order-v1", NULL, 0, 2000).outcome,
                     STORE_CBEC_SAME);
    assert_int_equal(put(st, CBEC_ORDER, "ORD1", "m2", "order-v1", NULL, 0, 2000).outcome,
                     STORE_CBEC_DUPLICATE);
    r = put(st, CBEC_ORDER, "ORD1", "m3", "order-v2", NULL, 0, 2000);
    assert_int_equal(r.outcome, STORE_CBEC_CONFLICT);
    assert_false(r.has_set); /* nothing to decide */
    assert_string_equal(r.other, "m1");
    assert_int_equal(r.n, 1);
    /* a change takes its place */
    r = put(st, CBEC_ORDER, "ORD1", "m3", "order-v2", NULL, 1, 3000);
    assert_int_equal(r.outcome, STORE_CBEC_ATTACHED);
    assert_int_equal(r.n, 2);
    s = get(st, "ORD1");
    assert_string_equal(s.doc[CBEC_ORDER].id, "m3");
    assert_int_equal(s.doc[CBEC_ORDER].at, 3000);
    assert_int_equal(s.due, 1000 + LIMIT); /* the first document set it */
    store_close(st);
}

static void test_waybill_joins(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "c2:");
    /* before its inventory list: parked under its own number */
    store_cbec_res r = put(st, CBEC_WAYBILL, "YT1", "w1", "waybill", NULL, 0, 1000);
    assert_int_equal(r.outcome, STORE_CBEC_PARKED);
    assert_string_equal(r.order_no, "YT1");
    assert_int_equal(put(st, CBEC_WAYBILL, "YT1", "w1", "waybill", NULL, 0, 1000).outcome,
                     STORE_CBEC_SAME);
    r = put(st, CBEC_INVENTORY, "ORD2", "i1", "inventory", "YT1", 0, 2000);
    assert_int_equal(r.outcome, STORE_CBEC_ATTACHED);
    store_cbec_set s = get(st, "ORD2");
    assert_string_equal(s.doc[CBEC_WAYBILL].id, "w1");
    assert_int_equal(s.doc[CBEC_WAYBILL].at, 1000);
    assert_string_equal(s.lno, "YT1");
    /* the parked copy is gone: the same waybill again goes to the set */
    r = put(st, CBEC_WAYBILL, "YT1", "w1", "waybill", NULL, 0, 3000);
    assert_int_equal(r.outcome, STORE_CBEC_SAME);
    assert_string_equal(r.order_no, "ORD2");
    /* after its inventory list: straight into the set */
    put(st, CBEC_INVENTORY, "ORD3", "i2", "inventory", "SF9", 0, 2000);
    r = put(st, CBEC_WAYBILL, "SF9", "w2", "waybill", NULL, 0, 2500);
    assert_int_equal(r.outcome, STORE_CBEC_ATTACHED);
    assert_string_equal(r.order_no, "ORD3");
    assert_string_equal(get(st, "ORD3").doc[CBEC_WAYBILL].id, "w2");
    store_close(st);
}

static int count_expired(void *ctx, const char *order_no, const char *why,
                         err_t *e)
{
    (void)e;
    char *out = ctx;
    snprintf(out + strlen(out), 512 - strlen(out), "%s=%s;", order_no, why);
    return 0;
}

static void test_settle_and_expire(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "c3:");
    err_t e = {0};
    put(st, CBEC_ORDER, "ORD4", "m4", "o", NULL, 0, 1000);
    put(st, CBEC_PAYMENT, "ORD4", "p4", "p", NULL, 0, 1100);
    assert_int_equal(store_cbec_settle(st, "ORD4", 1, "awaiting", "", 1200, &e), 0);
    assert_int_equal(store_cbec_settle(st, "ORD4", 2, "mismatched",
                                       "payment: cbec.paid", 1200, &e), 1);
    store_cbec_set s = get(st, "ORD4");
    assert_string_equal(s.state, "mismatched");
    assert_int_equal(s.done, 2);
    put(st, CBEC_ORDER, "ORD5", "m5", "o", NULL, 0, 1000);
    assert_int_equal(store_cbec_settle(st, "ORD5", 1, "matched", "", 1200, &e), 1);
    put(st, CBEC_ORDER, "ORD6", "m6", "o", NULL, 0, 5000);
    char got[512] = "";
    assert_int_equal(store_cbec_open(st, &e), 2); /* ORD4 and ORD6 */
    /* nothing due yet; then ORD4 (mismatch not corrected), not ORD5
     * (matched) nor ORD6 (later) */
    assert_int_equal(store_cbec_expire(st, 1000 + LIMIT - 1, 10, count_expired, got, &e), 0);
    assert_int_equal(store_cbec_expire(st, 1000 + LIMIT, 10, count_expired, got, &e), 1);
    assert_string_equal(got, "ORD4=time limit passed with no waybill, inventory; "
                             "not corrected: payment: cbec.paid;");
    got[0] = '\0';
    assert_int_equal(store_cbec_expire(st, 5000 + LIMIT, 10, count_expired, got, &e), 1);
    assert_string_equal(got, "ORD6=time limit passed with no payment, waybill, inventory;");
    /* closed: a late document opens nothing, a verdict changes nothing */
    store_cbec_res r = put(st, CBEC_PAYMENT, "ORD6", "p6", "p", NULL, 0, 70000);
    assert_int_equal(r.outcome, STORE_CBEC_CLOSED);
    assert_string_equal(r.other, "time limit passed with no payment, waybill, inventory");
    assert_int_equal(store_cbec_settle(st, "ORD6", 1, "awaiting", "", 70000, &e), 0);
    assert_string_equal(get(st, "ORD6").state, "expired");
    store_close(st);
}

/* Withdrawn before release, released or rejected only once matched;
 * customs' receipts find the set by the inventory list's number. */
static void test_close(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "c5:");
    err_t e = {0};
    store_cbec_put p = {CBEC_INVENTORY, "ORD7", "i7", "YT7", "inv", 3, 0, "COP7"};
    store_cbec_res r;
    store_cbec_closed c;
    const char *order = NULL;
    assert_int_equal(store_cbec_attach(st, &p, 1000, LIMIT, &g_a, &r, &e), 0);
    assert_int_equal(store_cbec_by_cop(st, "COP7", &g_a, &order, &e), 0);
    assert_string_equal(order, "ORD7");
    assert_int_equal(store_cbec_by_cop(st, "COP8", &g_a, &order, &e), ERR_NOTFOUND);
    /* awaiting: not released, but may be withdrawn */
    assert_int_equal(store_cbec_close(st, "ORD7", "released", "", 2000, &g_a, &c, &e), 0);
    assert_int_equal(c.closed, 0);
    assert_string_equal(c.was, "awaiting");
    assert_int_equal(store_cbec_settle(st, "ORD7", 1, "matched", "", 2000, &e), 1);
    assert_int_equal(store_cbec_allow_set(st, "ORD7", "01KN0000000000000000000000",
                                          "CQ-ALW2026-X 1.00 CNY", "0.09 CNY", &e), 0);
    assert_int_equal(store_cbec_close(st, "ORD7", "released", "800", 3000, &g_a, &c, &e), 0);
    assert_int_equal(c.closed, 1);
    assert_string_equal(c.was, "matched");
    assert_string_equal(c.arid, "01KN0000000000000000000000");
    assert_string_equal(c.allow, "CQ-ALW2026-X 1.00 CNY");
    /* closed: once; a withdrawal after release is refused; documents
     * again are the same, new ones closed */
    assert_int_equal(store_cbec_close(st, "ORD7", "withdrawn", "", 4000, &g_a, &c, &e), 0);
    assert_int_equal(c.closed, 0);
    assert_string_equal(c.was, "released");
    assert_int_equal(put(st, CBEC_INVENTORY, "ORD7", "i7", "inv", "YT7", 0, 5000).outcome,
                     STORE_CBEC_SAME);
    assert_int_equal(put(st, CBEC_ORDER, "ORD7", "m7", "o", NULL, 0, 5000).outcome,
                     STORE_CBEC_CLOSED);
    store_cbec_set s = get(st, "ORD7");
    assert_string_equal(s.state, "released");
    assert_string_equal(s.allow, "CQ-ALW2026-X 1.00 CNY");
    assert_string_equal(s.tax, "0.09 CNY");
    assert_int_equal(store_cbec_close(st, "NONE", "withdrawn", "", 1, &g_a, &c, &e), 0);
    assert_int_equal(c.closed, 0);
    assert_null(c.was);
    store_close(st);
}

/* A batch in one script, each document in turn: a waybill before its
 * inventory list waits and is taken in by it, all in the same call; the
 * last result holds the whole set. */
static void test_many(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "c6:");
    err_t e = {0};
    store_cbec_put p[5] = {
        {CBEC_WAYBILL, "WB9", "w9", NULL, "w", 1, 0, NULL},
        {CBEC_ORDER, "ORD9", "m9", NULL, "o", 1, 0, NULL},
        {CBEC_PAYMENT, "ORD9", "p9", NULL, "p", 1, 0, NULL},
        {CBEC_INVENTORY, "ORD9", "i9", "WB9", "i", 1, 0, "COP9"},
        {CBEC_ORDER, "ORD9", "m9", NULL, "o", 1, 0, NULL},
    };
    store_cbec_res r[5];
    assert_int_equal(store_cbec_attach_many(st, p, 5, 1000, LIMIT, &g_a, r, &e), 0);
    assert_int_equal(r[0].outcome, STORE_CBEC_PARKED);
    assert_int_equal(r[1].outcome, STORE_CBEC_ATTACHED);
    assert_int_equal(r[3].outcome, STORE_CBEC_ATTACHED);
    assert_int_equal(r[3].n, 3);
    assert_string_equal(r[3].set.doc[CBEC_WAYBILL].id, "w9");
    assert_int_equal(r[4].outcome, STORE_CBEC_SAME);
    assert_true(r[4].has_set);
    for (int d = 0; d < CBEC__DOCS; d++)
        assert_non_null(r[4].set.doc[d].id);
    store_cbec_put many[STORE_CBEC_ATTACH_MAX + 1];
    for (int i = 0; i < STORE_CBEC_ATTACH_MAX + 1; i++)
        many[i] = p[1];
    assert_int_equal(store_cbec_attach_many(st, many, STORE_CBEC_ATTACH_MAX + 1, 1000,
                                            LIMIT, &g_a, r, &e), ERR_INVALID);
    store_close(st);
}

static void test_bad_names(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "c4:");
    store_cbec_put p = {CBEC_ORDER, "ORD 1", "m1", NULL, "o", 1, 0, NULL};
    store_cbec_res r;
    store_cbec_set s;
    err_t e = {0};
    assert_int_equal(store_cbec_attach(st, &p, 1, LIMIT, &g_a, &r, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "order number \"ORD 1\""));
    p.key = "ORD1", p.lno = "x/y";
    assert_int_equal(store_cbec_attach(st, &p, 1, LIMIT, &g_a, &r, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "waybill number"));
    assert_int_equal(store_cbec_get(st, "NONE", &g_a, &s, &e), ERR_NOTFOUND);
    store_close(st);
}

static int setup(void **state)
{
    arena_init(&g_a, 1 << 22);
    return stu_group_setup(state);
}

static int teardown(void **state)
{
    arena_free(&g_a);
    return stu_group_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_once_and_conflicts),
        cmocka_unit_test(test_waybill_joins),
        cmocka_unit_test(test_settle_and_expire),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_bad_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
