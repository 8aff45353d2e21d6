/* Unit tests for cbec_seal: a round trip, the same document sealing the
 * same, a flipped byte caught, plain records passing, rotation (the old
 * key still opens, an unknown key is named), key files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cbec_seal.h"

static const char DOC[] = "\x92\x02\x81\xa4kind\xa5order ... 500103199203154426";

static void keys(cbec_seal_keys *k, int cur, int old)
{
    memset(k, 0, sizeof *k);
    memset(k->cur, cur, CBEC_SEAL_KEY), k->has_cur = 1;
    if (old)
        memset(k->old, old, CBEC_SEAL_KEY), k->has_old = 1;
}

static void test_round_trip(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 1 << 20);
    cbec_seal_keys k;
    keys(&k, 1, 0);
    const void *b, *b2, *p;
    size_t n, n2, pn;
    err_t e;
    assert_int_equal(cbec_seal(&k, DOC, sizeof DOC, &a, &b, &n, &e), 0);
    assert_int_equal(n, sizeof DOC + CBEC_SEAL_OVERHEAD);
    assert_null(memmem(b, n, "500103199203154426", 18)); /* not in the clear */
    assert_int_equal(cbec_seal(&k, DOC, sizeof DOC, &a, &b2, &n2, &e), 0);
    assert_memory_equal(b, b2, n); /* the same document, the same blob */
    assert_int_equal(cbec_open(&k, b, n, &a, &p, &pn, &e), 0);
    assert_int_equal(pn, sizeof DOC);
    assert_memory_equal(p, DOC, pn);
    ((unsigned char *)b2)[30] ^= 1;
    assert_int_equal(cbec_open(&k, b2, n2, &a, &p, &pn, &e), ERR_SIGNATURE);
    /* a record kept before the key was set comes back as it is */
    assert_int_equal(cbec_open(&k, DOC, sizeof DOC, &a, &p, &pn, &e), 0);
    assert_ptr_equal(p, DOC);
    arena_free(&a);
}

static void test_rotation(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 1 << 20);
    cbec_seal_keys k1, k2, k3;
    keys(&k1, 1, 0);
    keys(&k2, 2, 1); /* rotated: 2 seals, 1 still opens */
    keys(&k3, 3, 2);
    const void *b, *p;
    size_t n, pn;
    err_t e;
    assert_int_equal(cbec_seal(&k1, DOC, sizeof DOC, &a, &b, &n, &e), 0);
    assert_int_equal(cbec_open(&k2, b, n, &a, &p, &pn, &e), 0);
    assert_memory_equal(p, DOC, pn);
    assert_int_equal(cbec_open(&k3, b, n, &a, &p, &pn, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "data_key_old"));
    arena_free(&a);
}

static void test_key_files(void **state)
{
    (void)state;
    char path[] = "/tmp/cbec-data-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unsigned char raw[CBEC_SEAL_KEY];
    memset(raw, 7, sizeof raw);
    assert_int_equal(write(fd, raw, 31), 31);
    close(fd);
    cbec_seal_keys k;
    err_t e;
    assert_int_equal(cbec_seal_load(path, NULL, &k, &e), ERR_CONFIG);
    FILE *f = fopen(path, "wb");
    fwrite(raw, 1, sizeof raw, f);
    fclose(f);
    assert_int_equal(cbec_seal_load(path, path, &k, &e), 0);
    assert_true(k.has_cur && k.has_old);
    assert_memory_equal(k.cur, raw, sizeof raw);
    unlink(path);
    assert_int_equal(cbec_seal_load(path, NULL, &k, &e), ERR_IO);
    assert_int_equal(cbec_seal_load(NULL, NULL, &k, &e), 0);
    assert_false(k.has_cur);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_key_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
