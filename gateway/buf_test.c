/* Unit tests for buf: capped growth, failure leaves content alone,
 * printf past the 256-byte fast path, take. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "err.h"

static void test_init_allocates_nothing(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 100);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 100);
    buf_free(&b);
    assert_null(b.p);
}

static void test_add_appends_and_terminates(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 1024);
    assert_int_equal(buf_add(&b, "abc", 3), 0);
    assert_int_equal(buf_adds(&b, "def"), 0);
    assert_int_equal(buf_addc(&b, '!'), 0);
    assert_int_equal(b.len, 7);
    assert_string_equal(b.p, "abcdef!");
    assert_true(b.cap > b.len);
    /* embedded NUL counts in len */
    assert_int_equal(buf_add(&b, "x\0y", 3), 0);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.p + 7, "x\0y", 4);
    buf_free(&b);
}

static void test_add_zero_bytes_gives_empty_string(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 8);
    assert_int_equal(buf_add(&b, NULL, 0), 0);
    assert_non_null(b.p);
    assert_string_equal(b.p, "");
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_exact_max_fits(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 5);
    assert_int_equal(buf_adds(&b, "12345"), 0);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.p, "12345");
    assert_true(b.cap <= b.max + 1); /* growth never passes the cap */
    assert_int_equal(buf_addc(&b, '6'), ERR_TOOBIG);
    assert_int_equal(buf_add(&b, "", 0), 0);
    buf_free(&b);
}

static void test_toobig_leaves_buffer_unchanged(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 10);
    assert_int_equal(buf_adds(&b, "hello"), 0);
    char *p = b.p;
    size_t cap = b.cap;
    assert_int_equal(buf_adds(&b, "world!"), ERR_TOOBIG);
    assert_int_equal(b.len, 5);
    assert_ptr_equal(b.p, p);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.p, "hello");
    assert_int_equal(buf_printf(&b, "%s", "123456"), ERR_TOOBIG);
    assert_string_equal(b.p, "hello");
    assert_int_equal(b.len, 5);
    /* a huge n must not wrap around the check */
    assert_int_equal(buf_add(&b, "x", SIZE_MAX), ERR_TOOBIG);
    assert_int_equal(b.len, 5);
    assert_int_equal(buf_adds(&b, "world"), 0);
    assert_string_equal(b.p, "helloworld");
    buf_free(&b);
}

static void test_toobig_on_empty_buffer_allocates_nothing(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 3);
    assert_int_equal(buf_adds(&b, "four"), ERR_TOOBIG);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

/* SIZE_MAX as "no cap": the clamp to max + 1 must not wrap to 0. */
static void test_unlimited_max(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, SIZE_MAX);
    assert_int_equal(buf_adds(&b, "abc"), 0);
    assert_true(b.cap >= 4);
    assert_string_equal(b.p, "abc");
    assert_int_equal(buf_printf(&b, "%300s", "x"), 0);
    assert_int_equal(b.len, 303);
    assert_int_equal(b.p[302], 'x');
    assert_int_equal(buf_add(&b, "y", SIZE_MAX), ERR_TOOBIG);
    assert_int_equal(b.len, 303);
    buf_free(&b);
}

static void test_growth_keeps_content(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(buf_addc(&b, (char)('a' + i % 26)), 0);
    assert_int_equal(b.len, 10000);
    assert_true(b.cap > 10000);
    for (int i = 0; i < 10000; i++)
        if (b.p[i] != (char)('a' + i % 26))
            fail_msg("byte %d is '%c'", i, b.p[i]);
    assert_int_equal(b.p[10000], '\0');
    buf_free(&b);
}

static void test_printf_small(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 256);
    assert_int_equal(buf_printf(&b, "%s=%d", "n", 42), 0);
    assert_int_equal(buf_printf(&b, ";%.2f", 1.5), 0);
    assert_string_equal(b.p, "n=42;1.50");
    assert_int_equal(b.len, 9);
    buf_free(&b);
}

/* Output of 255, 256 and 1000 bytes: the first fits the stack buffer, the
 * others take the grow-and-format-in-place path. */
static void test_printf_past_256(void **state)
{
    (void)state;
    static const size_t sizes[] = {255, 256, 257, 1000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        char *s = malloc(n + 1);
        assert_non_null(s);
        for (size_t i = 0; i < n; i++)
            s[i] = (char)('A' + i % 23);
        s[n] = '\0';
        buf_t b;
        buf_init(&b, 4096);
        assert_int_equal(buf_adds(&b, "<"), 0);
        assert_int_equal(buf_printf(&b, "%s|%d", s, 7), 0);
        assert_int_equal(b.len, 1 + n + 2);
        assert_int_equal(b.p[0], '<');
        assert_memory_equal(b.p + 1, s, n);
        assert_string_equal(b.p + 1 + n, "|7");
        assert_int_equal(buf_adds(&b, ">"), 0);
        assert_int_equal(b.p[b.len - 1], '>');
        assert_int_equal(b.len, 1 + n + 3);
        buf_free(&b);
        free(s);
    }
}

static void test_printf_big_over_cap(void **state)
{
    (void)state;
    char s[600];
    memset(s, 'z', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    buf_t b;
    buf_init(&b, 300);
    assert_int_equal(buf_adds(&b, "keep"), 0);
    assert_int_equal(buf_printf(&b, "%s", s), ERR_TOOBIG);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.p, "keep");
    buf_free(&b);
}

static void test_reset_keeps_storage(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 64);
    assert_int_equal(buf_adds(&b, "something"), 0);
    char *p = b.p;
    size_t cap = b.cap;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.p, p);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.p, "");
    assert_int_equal(buf_adds(&b, "new"), 0);
    assert_string_equal(b.p, "new");
    buf_free(&b);
    buf_reset(&b); /* on freed/empty storage: no crash */
    assert_int_equal(b.len, 0);
}

static void test_take_hands_over_storage(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 64);
    assert_int_equal(buf_adds(&b, "payload"), 0);
    char *p = b.p;
    char *t = buf_take(&b);
    assert_ptr_equal(t, p);
    assert_string_equal(t, "payload");
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 64); /* still usable with the same cap */
    assert_int_equal(buf_adds(&b, "again"), 0);
    assert_string_equal(b.p, "again");
    assert_ptr_not_equal(b.p, t);
    free(t);
    buf_free(&b);
}

static void test_take_empty_gives_empty_string(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 64);
    char *t = buf_take(&b);
    assert_non_null(t);
    assert_string_equal(t, "");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_allocates_nothing),
        cmocka_unit_test(test_add_appends_and_terminates),
        cmocka_unit_test(test_add_zero_bytes_gives_empty_string),
        cmocka_unit_test(test_exact_max_fits),
        cmocka_unit_test(test_toobig_leaves_buffer_unchanged),
        cmocka_unit_test(test_toobig_on_empty_buffer_allocates_nothing),
        cmocka_unit_test(test_unlimited_max),
        cmocka_unit_test(test_growth_keeps_content),
        cmocka_unit_test(test_printf_small),
        cmocka_unit_test(test_printf_past_256),
        cmocka_unit_test(test_printf_big_over_cap),
        cmocka_unit_test(test_reset_keeps_storage),
        cmocka_unit_test(test_take_hands_over_storage),
        cmocka_unit_test(test_take_empty_gives_empty_string),
    };
    return cmocka_run_group_tests_name("gateway/buf", tests, NULL, NULL);
}
