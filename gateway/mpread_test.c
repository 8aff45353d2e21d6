/* Unit tests for mpread: shortest forms only, caps before copies, every
 * truncation, and the messages' where (default and caller's). Inputs are
 * raw bytes, so each refusal is of exactly the bytes named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mpread.h"

#define RAW(s) (s), sizeof(s) - 1

static err_t e;

static void open_raw(mpread *r, const char *p, size_t n)
{
    err_clear(&e);
    mpread_init(r, p, n, "thing", &e);
}

/* rc must be code and the message exactly msg. */
static void expect(int rc, int code, const char *msg)
{
    assert_int_equal(rc, code);
    assert_string_equal(e.msg, msg);
}

static void test_head_shortest_forms(void **state)
{
    (void)state;
    static const struct {
        const char *p;
        size_t n;
        uint64_t v;
    } ok[] = {
        {RAW("\x7f"), 127}, {RAW("\xcc\x80"), 128},
        {RAW("\xcd\x01\x00"), 256}, {RAW("\xce\x00\x01\x00\x00"), 65536},
        {RAW("\xcf\x00\x00\x00\x01\x00\x00\x00\x00"), 1ull << 32},
    };
    mpread r;
    uint64_t v;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        open_raw(&r, ok[i].p, ok[i].n);
        assert_int_equal(mpread_head(&r, &MPREAD_UINT, &v), 0);
        assert_int_equal(v, ok[i].v);
        assert_int_equal(mpread_left(&r), 0);
    }
    open_raw(&r, RAW("\xcc\x7f"));
    expect(mpread_head(&r, &MPREAD_UINT, &v), ERR_SYNTAX, "thing: an "
           "unsigned integer not in its shortest msgpack form (0xcc)");
    open_raw(&r, RAW("\xdc\x00\x0f"));
    expect(mpread_head(&r, &MPREAD_ARRAY, &v), ERR_SYNTAX, "thing: an "
           "array not in its shortest msgpack form (0xdc)");
}

static void test_head_wrong_family_and_truncation(void **state)
{
    (void)state;
    static const struct {
        const char *p;
        size_t n;
        const char *msg;
    } bad[] = {
        {RAW("\x91"), "thing: expected a map, got an array"},
        {RAW("\xa1x"), "thing: expected a map, got a string"},
        {RAW("\xc0"), "thing: expected a map, got nil"},
        {RAW("\xc3"), "thing: expected a map, got a boolean"},
        {RAW("\xc4\x00"), "thing: expected a map, got bin"},
        {RAW("\xcb"), "thing: expected a map, got a float"},
        {RAW("\xc1"), "thing: expected a map, got the unused byte 0xc1"},
        {RAW("\xd0"), "thing: expected a map, got an integer"},
        {RAW("\xd4"), "thing: expected a map, got an extension"},
    };
    mpread r;
    uint64_t v;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        open_raw(&r, bad[i].p, bad[i].n);
        expect(mpread_head(&r, &MPREAD_MAP, &v), ERR_INVALID, bad[i].msg);
    }
    open_raw(&r, NULL, 0);
    expect(mpread_head(&r, &MPREAD_MAP, &v), ERR_SYNTAX,
           "thing: truncated: 1 bytes needed, 0 left");
    open_raw(&r, RAW("\xde\x00"));
    expect(mpread_head(&r, &MPREAD_MAP, &v), ERR_SYNTAX,
           "thing: truncated: 3 bytes needed, 2 left");
}

static void test_where_default_and_callers(void **state)
{
    (void)state;
    mpread r;
    uint64_t v;
    open_raw(&r, RAW("\xa0"));
    r.key = "itin";
    expect(mpread_uint(&r, 9, &v), ERR_INVALID,
           "thing key \"itin\": expected an unsigned integer, got a string");
    r.entry = 2;
    expect(mpread_fail(&r, ERR_INVALID, "%d", 7), ERR_INVALID,
           "thing key \"itin\" entry 2: 7");
    r.key = NULL; /* an entry without a key is not named */
    expect(mpread_fail(&r, ERR_INVALID, "x"), ERR_INVALID, "thing: x");
}

static void where_field(const mpread *r, char *buf, size_t n)
{
    snprintf(buf, n, "%s field %u", r->what, (unsigned)r->entry);
}

static void test_where_of_the_caller(void **state)
{
    (void)state;
    mpread r;
    open_raw(&r, RAW("\x01"));
    r.where = where_field;
    r.entry = 4;
    expect(mpread_fail(&r, ERR_TOOBIG, "big"), ERR_TOOBIG,
           "thing field 4: big");
}

static void test_bytes_caps_and_nul(void **state)
{
    (void)state;
    mpread r;
    const unsigned char *p;
    size_t n;
    open_raw(&r, RAW("\xa3" "abc"));
    expect(mpread_bytes(&r, &MPREAD_STR, 2, &p, &n), ERR_TOOBIG,
           "thing: 3 bytes, more than 2");
    open_raw(&r, RAW("\xa3" "ab"));
    expect(mpread_bytes(&r, &MPREAD_STR, 9, &p, &n), ERR_SYNTAX,
           "thing: truncated: 3 bytes needed, 2 left");
    open_raw(&r, "\xa2" "a\0", 3);
    expect(mpread_bytes(&r, &MPREAD_STR, 9, &p, &n), ERR_INVALID,
           "thing: contains a NUL byte");
    open_raw(&r, "\xc4\x02" "a\0", 4); /* bin may hold NULs */
    assert_int_equal(mpread_bytes(&r, &MPREAD_BIN, 9, &p, &n), 0);
    assert_int_equal(n, 2);
    assert_ptr_equal(p, r.p - 2); /* borrowed, not copied */
    open_raw(&r, RAW("\xd9\x1f" "0123456789012345678901234567890"));
    expect(mpread_bytes(&r, &MPREAD_STR, 99, &p, &n), ERR_SYNTAX, "thing: "
           "a string not in its shortest msgpack form (0xd9)");
}

static void test_strings_and_bins(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 1u << 16);
    mpread r;
    char buf[4];
    const char *s = NULL;
    const unsigned char *b = NULL;
    size_t n = 9;
    open_raw(&r, RAW("\xa4" "abcd"));
    expect(mpread_str_into(&r, buf, sizeof buf), ERR_TOOBIG,
           "thing: 4 bytes, more than 3");
    open_raw(&r, RAW("\xa3" "abc" "\xa2" "hi" "\xc4\x00" "\xc4\x01" "z"));
    assert_int_equal(mpread_str_into(&r, buf, sizeof buf), 0);
    assert_string_equal(buf, "abc");
    assert_int_equal(mpread_str(&r, 8, &a, &s), 0);
    assert_string_equal(s, "hi");
    assert_int_equal(mpread_bin(&r, 8, &a, &b, &n), 0);
    assert_null(b); /* empty: nothing copied, *out left */
    assert_int_equal(n, 0);
    assert_int_equal(mpread_bin(&r, 8, &a, &b, &n), 0);
    assert_int_equal(n, 1);
    assert_memory_equal(b, "z", 1);
    assert_int_equal(mpread_done(&r, "map"), 0);
    arena_free(&a);
}

static void test_nil_uint_count(void **state)
{
    (void)state;
    mpread r;
    uint64_t v;
    open_raw(&r, RAW("\xc0\x00\x00\x0a\x0a"));
    assert_int_equal(mpread_nil(&r), 1);
    assert_int_equal(mpread_nil(&r), 0);
    assert_int_equal(mpread_uint(&r, 9, &v), 0);
    expect(mpread_count(&r, 9, &v), ERR_INVALID,
           "thing: 0 (leave the key out instead)");
    expect(mpread_uint(&r, 9, &v), ERR_INVALID, "thing: 10, more than 9");
    assert_int_equal(mpread_count(&r, 10, &v), 0);
    assert_int_equal(v, 10);
    open_raw(&r, NULL, 0);
    assert_int_equal(mpread_nil(&r), 0);
}

static void test_array_bounds(void **state)
{
    (void)state;
    mpread r;
    uint32_t n;
    open_raw(&r, RAW("\x93"));
    expect(mpread_array(&r, 0, 2, &n), ERR_TOOBIG,
           "thing: 3 entries, more than 2");
    open_raw(&r, RAW("\x90\x91\x92"));
    expect(mpread_array(&r, 1, 2, &n), ERR_INVALID, "thing: 0 entries, want "
           "1 or more (leave an empty one out)");
    expect(mpread_array(&r, 2, 2, &n), ERR_INVALID,
           "thing: 1 entries, want 2");
    assert_int_equal(mpread_array(&r, 2, 2, &n), 0);
    assert_int_equal(n, 2);
}

static const char *const keys[] = {"v", "a", "b", "c"};

static void test_keys_in_table_order(void **state)
{
    (void)state;
    mpread r;
    size_t k;
    open_raw(&r, RAW("\xa1" "b" "\xa1" "b" "\xa1" "a" "\xa1" "z"));
    assert_int_equal(mpread_key(&r, keys, sizeof keys[0], 4, 1, &k), 0);
    assert_int_equal(k, 2);
    assert_string_equal(r.key, "b");
    expect(mpread_key(&r, keys, sizeof keys[0], 4, 3, &k), ERR_INVALID,
           "thing: key \"b\" repeated");
    expect(mpread_key(&r, keys, sizeof keys[0], 4, 3, &k), ERR_INVALID,
           "thing: key \"a\" out of order (after \"b\")");
    expect(mpread_key(&r, keys, sizeof keys[0], 4, 3, &k), ERR_INVALID,
           "thing: unknown key \"z\"");
}

static void test_map_with_version(void **state)
{
    (void)state;
    static const struct {
        const char *p;
        size_t n;
        int code;
        const char *msg;
    } bad[] = {
        {RAW("\x80"), ERR_INVALID, "thing: empty map, no version"},
        {RAW("\x81\xa1" "a\x01"), ERR_INVALID,
         "thing key \"a\": first key \"a\", expected \"v\""},
        {RAW("\x81\xa1" "v\x02"), ERR_UNSUPPORTED,
         "thing key \"v\": version 2 not supported; this node reads "
         "version 1"},
        {RAW("\x85\xa1" "v\x01"), ERR_INVALID,
         "thing key \"v\": 5 keys, version 1 has 4 at most"},
    };
    mpread r;
    uint64_t n;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        open_raw(&r, bad[i].p, bad[i].n);
        expect(mpread_map_v(&r, keys, sizeof keys[0], 4, 1, &n), bad[i].code,
               bad[i].msg);
    }
    open_raw(&r, RAW("\x82\xa1" "v\x01\xa1" "c\x00"));
    assert_int_equal(mpread_map_v(&r, keys, sizeof keys[0], 4, 1, &n), 0);
    assert_int_equal(n, 2);
    expect(mpread_done(&r, "map"), ERR_SYNTAX,
           "thing: 3 trailing bytes after the map");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_shortest_forms),
        cmocka_unit_test(test_head_wrong_family_and_truncation),
        cmocka_unit_test(test_where_default_and_callers),
        cmocka_unit_test(test_where_of_the_caller),
        cmocka_unit_test(test_bytes_caps_and_nul),
        cmocka_unit_test(test_strings_and_bins),
        cmocka_unit_test(test_nil_uint_count),
        cmocka_unit_test(test_array_bounds),
        cmocka_unit_test(test_keys_in_table_order),
        cmocka_unit_test(test_map_with_version),
    };
    return cmocka_run_group_tests_name("gateway/mpread", tests, NULL, NULL);
}
