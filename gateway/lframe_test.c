/* lframe: headers and acks round-trip; bad frames are refused by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lframe.h"

static void test_roundtrip(void **state)
{
    (void)state;
    unsigned char b[LFRAME_MAX];
    size_t n;
    err_t e;
    lpos prev = { 1732435200123ull, 7 }, pos = { UINT64_MAX, UINT64_MAX };
    assert_int_equal(lframe_hdr_encode(prev, pos, b, &n, &e), 0);
    assert_true(n <= 41);
    lpos p2, q2;
    assert_int_equal(lframe_hdr_decode(b, n, &p2, &q2, &e), 0);
    assert_int_equal(lpos_cmp(p2, prev), 0);
    assert_int_equal(lpos_cmp(q2, pos), 0);
    int gap = 0;
    assert_int_equal(lframe_ack_encode(prev, 1, b, &n, &e), 0);
    assert_int_equal(lframe_ack_decode(b, n, &p2, &gap, &e), 0);
    assert_int_equal(lpos_cmp(p2, prev), 0);
    assert_int_equal(gap, 1);
}

static void test_order(void **state)
{
    (void)state;
    lpos a = { 5, 9 }, b = { 6, 0 }, c = { 6, 1 };
    assert_true(lpos_cmp(a, b) < 0);
    assert_true(lpos_cmp(c, b) > 0);
    assert_int_equal(lpos_cmp(c, c), 0);
}

static void test_refusals(void **state)
{
    (void)state;
    unsigned char b[LFRAME_MAX];
    size_t n;
    err_t e;
    lpos p, q;
    int gap;
    /* not after prev */
    assert_int_equal(lframe_hdr_encode((lpos){ 5, 5 }, (lpos){ 5, 5 }, b, &n,
                                       &e), 0);
    assert_int_equal(lframe_hdr_decode(b, n, &p, &q, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "not after prev"));
    /* an ack is not a header */
    assert_int_equal(lframe_ack_encode((lpos){ 1, 1 }, 0, b, &n, &e), 0);
    assert_int_equal(lframe_hdr_decode(b, n, &p, &q, &e), ERR_SYNTAX);
    /* version 2 */
    const unsigned char v2[] = { 0x93, 0x02, 0x92, 0x01, 0x01, 0xc2 };
    assert_int_equal(lframe_ack_decode(v2, sizeof v2, &p, &gap, &e),
                     ERR_UNSUPPORTED);
    assert_non_null(strstr(e.msg, "link ack: version 2"));
    /* garbage, trailing bytes, too long */
    assert_int_equal(lframe_ack_decode("\xc1", 1, &p, &gap, &e), ERR_SYNTAX);
    const unsigned char tr[] = { 0x93, 0x01, 0x92, 0x01, 0x01, 0xc2, 0xc0 };
    assert_int_equal(lframe_ack_decode(tr, sizeof tr, &p, &gap, &e), ERR_SYNTAX);
    unsigned char big[LFRAME_MAX + 1] = { 0 };
    assert_int_equal(lframe_hdr_decode(big, sizeof big, &p, &q, &e), ERR_TOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
