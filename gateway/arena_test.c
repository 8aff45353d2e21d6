/* Unit tests for arena: alignment, the cap, reset reusing the first block
 * (flat memory across messages), zalloc after reuse, strndup/strdup,
 * reserve/commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"

#define ALIGN 16 /* arena.h promises "aligned for any type" */

static void test_init_is_empty(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 1000);
    assert_null(a.head);
    assert_int_equal(a.used_total, 0);
    assert_int_equal(a.max, 1000);
    arena_reset(&a); /* reset before any block: no crash */
    assert_null(a.head);
    arena_free(&a);
}

static void test_alignment(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 1 << 20);
    static const size_t sizes[] = {1, 3, 7, 8, 15, 16, 17, 31, 33, 100, 0, 5};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = arena_alloc(&a, sizes[i]);
        assert_non_null(p);
        if ((uintptr_t)p % ALIGN != 0)
            fail_msg("alloc(%zu) = %p not %d-aligned", sizes[i], p, ALIGN);
        if ((uintptr_t)p % _Alignof(max_align_t) != 0)
            fail_msg("alloc(%zu) not max_align_t aligned", sizes[i]);
    }
    /* across a block boundary too */
    void *big = arena_alloc(&a, 70000);
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % ALIGN, 0);
    void *after = arena_alloc(&a, 9);
    assert_non_null(after);
    assert_int_equal((uintptr_t)after % ALIGN, 0);
    arena_free(&a);
}

static void test_allocations_do_not_overlap(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 1 << 20);
    unsigned char *p[200];
    for (int i = 0; i < 200; i++) {
        p[i] = arena_alloc(&a, 1000); /* 200 KB: several blocks */
        assert_non_null(p[i]);
        memset(p[i], i, 1000);
    }
    for (int i = 0; i < 200; i++)
        for (int j = 0; j < 1000; j++)
            if (p[i][j] != (unsigned char)i)
                fail_msg("alloc %d byte %d overwritten", i, j);
    arena_free(&a);
}

static void test_cap(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 64);
    assert_non_null(arena_alloc(&a, 40)); /* rounds to 48 */
    assert_int_equal(a.used_total, 48);
    assert_non_null(arena_alloc(&a, 16));
    assert_int_equal(a.used_total, 64);
    assert_null(arena_alloc(&a, 1));
    assert_null(arena_zalloc(&a, 1));
    assert_null(arena_strdup(&a, ""));
    assert_int_equal(a.used_total, 64);
    arena_reset(&a);
    assert_int_equal(a.used_total, 0);
    assert_non_null(arena_alloc(&a, 64)); /* the cap counts since reset */
    arena_free(&a);
}

static void test_cap_over_block_size(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 100000);
    assert_null(arena_alloc(&a, 100001));
    unsigned char *p = arena_alloc(&a, 99999);
    assert_non_null(p);
    memset(p, 1, 99999); /* the whole block is usable (ASan checks) */
    assert_null(arena_alloc(&a, 16));
    arena_free(&a);
}

/* A size near SIZE_MAX must not wrap to a tiny allocation when rounded up
 * to the alignment. */
static void test_huge_size_refused(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, SIZE_MAX);
    assert_null(arena_alloc(&a, SIZE_MAX));
    assert_null(arena_alloc(&a, SIZE_MAX - 3));
    assert_null(arena_zalloc(&a, SIZE_MAX - 14));
    /* rounds to SIZE_MAX - 31: block header + size would wrap in malloc */
    assert_null(arena_alloc(&a, SIZE_MAX - 40));
    assert_int_equal(a.used_total, 0);
    arena_free(&a);
    arena_init(&a, 1 << 20);
    assert_null(arena_alloc(&a, SIZE_MAX));
    assert_int_equal(a.used_total, 0);
    arena_free(&a);
}

/* Reset keeps only the first block: the same first pointer comes back on
 * every cycle, so a long run of messages does not grow memory. */
static void test_reset_reuses_blocks(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 16 << 20);
    void *first = arena_alloc(&a, 100);
    assert_non_null(first);
    for (int cycle = 0; cycle < 50; cycle++) {
        for (int i = 0; i < 40; i++) /* ~400 KB: forces new blocks */
            assert_non_null(arena_alloc(&a, 10000));
        assert_true(a.used_total > 65536);
        arena_reset(&a);
        assert_int_equal(a.used_total, 0);
        assert_true(a.nspare >= 2); /* blocks kept for reuse, not freed */
        void *p = arena_alloc(&a, 100);
        if (p != first)
            fail_msg("cycle %d: first allocation moved", cycle);
    }
    arena_free(&a);
    assert_null(a.head);
    assert_int_equal(a.used_total, 0);
}

static void test_zalloc_zeroes_reused_memory(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 1 << 20);
    unsigned char *p = arena_alloc(&a, 256);
    assert_non_null(p);
    memset(p, 0xAA, 256);
    arena_reset(&a);
    unsigned char *z = arena_zalloc(&a, 256);
    assert_ptr_equal(z, p); /* reused, so the zeroing is what we test */
    for (int i = 0; i < 256; i++)
        if (z[i] != 0)
            fail_msg("byte %d is 0x%02x", i, z[i]);
    arena_free(&a);
}

static void test_strndup(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 4096);
    const char src[] = {'N', 'A', 'D', '+', 'C', 'Z'}; /* not terminated */
    char *s = arena_strndup(&a, src, 3);
    assert_non_null(s);
    assert_string_equal(s, "NAD");
    assert_ptr_not_equal(s, src);
    char *e = arena_strndup(&a, src, 0);
    assert_non_null(e);
    assert_string_equal(e, "");
    char *z = arena_strndup(&a, "a\0b", 3); /* embedded NUL copied */
    assert_memory_equal(z, "a\0b", 4);
    char *d = arena_strdup(&a, "上海港 Shanghai");
    assert_string_equal(d, "上海港 Shanghai");
    assert_int_equal((uintptr_t)d % ALIGN, 0);
    arena_free(&a);
}

/* printf into the arena, and NULL past its cap. */
static void test_printf(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 64);
    char *p = arena_printf(&a, "order %s: %d documents", "CQ1", 4);
    assert_string_equal(p, "order CQ1: 4 documents");
    assert_null(arena_printf(&a, "%80s", "too long for the cap"));
    arena_free(&a);
}

/* A reservation takes nothing until committed, commits only what was
 * used, moves to a fresh block when the current one is short, and is
 * refused past the cap like an allocation. */
static void test_reserve_commit(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 1 << 20);
    char *r = arena_reserve(&a, 1000);
    assert_non_null(r);
    assert_int_equal(a.used_total, 0);
    memset(r, 'x', 1000);
    arena_commit(&a, 40);
    assert_int_equal(a.used_total, 48);
    char *next = arena_alloc(&a, 1);
    assert_ptr_equal(next, r + 48); /* only the used part was taken */
    size_t room = a.room;
    char *big = arena_reserve(&a, room + 1); /* a fresh block */
    assert_non_null(big);
    assert_int_equal(a.used_total, 64);
    memset(big, 'y', room + 1);
    arena_commit(&a, room + 1);
    assert_non_null(arena_alloc(&a, 1));
    assert_null(arena_reserve(&a, 1 << 21)); /* over the cap */
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_is_empty),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_allocations_do_not_overlap),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_cap_over_block_size),
        cmocka_unit_test(test_huge_size_refused),
        cmocka_unit_test(test_reset_reuses_blocks),
        cmocka_unit_test(test_zalloc_zeroes_reused_memory),
        cmocka_unit_test(test_strndup),
        cmocka_unit_test(test_reserve_commit),
        cmocka_unit_test(test_printf),
    };
    return cmocka_run_group_tests_name("gateway/arena", tests, NULL, NULL);
}
