/* Unit tests for utf8_printable: every class of byte sequence the wire
 * must refuse, and the lengths of those it takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "utf8.h"

#define U(s) utf8_printable((const unsigned char *)(s))

static void test_accepts(void **state)
{
    (void)state;
    assert_int_equal(U("A"), 1);
    assert_int_equal(U(" "), 1);
    assert_int_equal(U("~"), 1);
    assert_int_equal(U("\xc2\xa0"), 2);          /* U+00A0, after C1 */
    assert_int_equal(U("\xe9\x87\x8d"), 3);      /* 重 */
    assert_int_equal(U("\xf0\x9f\x9a\xa2"), 4);  /* U+1F6A2 */
    assert_int_equal(U("\xf4\x8f\xbf\xbf"), 4);  /* U+10FFFF */
}

static void test_refuses(void **state)
{
    (void)state;
    assert_int_equal(U(""), 0);                  /* NUL */
    assert_int_equal(U("\x1f"), 0);              /* C0 */
    assert_int_equal(U("\x7f"), 0);              /* DEL */
    assert_int_equal(U("\xc2\x85"), 0);          /* C1 (NEL) */
    assert_int_equal(U("\xc0\xaf"), 0);          /* overlong '/' */
    assert_int_equal(U("\xe0\x80\xaf"), 0);      /* overlong, 3 bytes */
    assert_int_equal(U("\xf0\x80\x80\xaf"), 0);  /* overlong, 4 bytes */
    assert_int_equal(U("\xed\xa0\x80"), 0);      /* surrogate U+D800 */
    assert_int_equal(U("\xf4\x90\x80\x80"), 0);  /* past U+10FFFF */
    assert_int_equal(U("\xf5\x80\x80\x80"), 0);
    assert_int_equal(U("\x80"), 0);              /* lone continuation */
    assert_int_equal(U("\xe9\x87"), 0);          /* cut by the NUL */
    assert_int_equal(U("\xe9\x41\x8d"), 0);      /* not a continuation */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
