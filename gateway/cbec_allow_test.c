/* Unit tests for cbec_allow: the shipped code lists, the keyed hash
 * (against Python's hmac), allowance ids both ways, what a parcel counts
 * and the ledger a home opens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cbec_allow.h"
#include "model_json.h"
#include "model_test_util.h"

static void test_code_lists(void **state)
{
    (void)state;
    cbec_limits l;
    err_t e;
    if (cbec_limits_load("mappings", &l, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(l.per_tx, 5000000);    /* ¥5,000 */
    assert_int_equal(l.per_year, 26000000); /* ¥26,000 */
    assert_int_equal(l.tax_share, 70);
    assert_int_equal(l.over_general, 0);
    assert_true(l.nrates >= 2);
    assert_string_equal(cbec_home_of(&l, "500103199203154426"), "CQ");
    assert_string_equal(cbec_home_of(&l, "510107198510273911"), "SC");
    assert_null(cbec_home_of(&l, "110101199001011237"));
    assert_null(cbec_home_of(&l, "5"));
    assert_int_equal(cbec_limits_load("no-such-dir", &l, &e), ERR_IO);
}

static void test_hash(void **state)
{
    (void)state;
    unsigned char key[32], other[32];
    memset(key, 'k', sizeof key);
    memset(other, 'j', sizeof other);
    char h[CBEC_HASH_HEX + 1], h2[CBEC_HASH_HEX + 1];
    err_t e;
    assert_int_equal(cbec_id_hash(key, sizeof key, "500103199203154426", h, &e), 0);
    /* python3: hmac.new(b'k'*32, id, sha256).hexdigest()[:32].upper() */
    assert_string_equal(h, "E68963BA9F141361016453A25A43B99E");
    assert_int_equal(cbec_id_hash(other, sizeof other, "500103199203154426", h2, &e), 0);
    assert_string_not_equal(h, h2);
}

static void test_ids(void **state)
{
    /* a ledger's year is Beijing's: 2026-12-31T16:00Z is 2027 there */
    assert_int_equal(cbec_year(1798732799999LL), 2026);
    assert_int_equal(cbec_year(1798732800000LL), 2027);
    (void)state;
    char id[CBEC_ALLOW_ID_MAX], home[3], hash[CBEC_HASH_HEX + 1];
    int year;
    cbec_allow_id("CQ", 2026, "E68963BA9F141361016453A25A43B99E", id);
    assert_string_equal(id, "CQ-ALW2026-E68963BA9F141361016453A25A43B99E");
    assert_int_equal(cbec_allow_parse(id, home, &year, hash), 0);
    assert_string_equal(home, "CQ");
    assert_int_equal(year, 2026);
    assert_string_equal(hash, "E68963BA9F141361016453A25A43B99E");
    assert_int_equal(cbec_allow_parse("CQ-26AIL000123", home, &year, hash), -1);
    assert_int_equal(cbec_allow_parse("CQ-ALW2026-e68963ba9f141361016453a25a43b99e",
                                      home, &year, hash), -1);
    assert_int_equal(cbec_allow_parse("CQ-ALW20X6-E68963BA9F141361016453A25A43B99E",
                                      home, &year, hash), -1);
}

static void test_amount_and_ledger(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 1 << 20);
    err_t e;
    uint64_t t;
    model_record *r = mtu_rec(&a, "{\"kind\":\"declaration\",\"goods\":[{\"value\":396},"
                              "{\"value\":89.5}],\"cbec\":{\"currency\":\"CNY\","
                              "\"freight\":10,\"insured_fee\":0.25}}");
    assert_int_equal(cbec_amount(r, &t, &e), 0);
    assert_int_equal(t, 495750);
    r->cbec.currency = "USD";
    assert_int_equal(cbec_amount(r, &t, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "in USD"));
    cbec_limits l;
    assert_int_equal(cbec_limits_load("mappings", &l, &e), 0);
    pm_permit p;
    assert_int_equal(cbec_allow_permit("CQ-ALW2026-E68963BA9F141361016453A25A43B99E",
                                       &l, &a, &p, &e), 0);
    assert_string_equal(p.usage, "value");
    assert_string_equal(p.region, "CQ");
    assert_string_equal(p.holder_id, "E68963BA9F141361016453A25A43B99E");
    assert_int_equal(p.nlines, 1);
    assert_int_equal(p.lines[0].value, 26000000);
    assert_int_equal(p.from_ms, 1767196800000ULL); /* 2026-01-01T00:00+08:00 */
    assert_int_equal(p.to_ms, 1798732799999ULL);   /* 2026-12-31T23:59:59.999+08:00 */
    assert_int_equal(cbec_allow_permit("CQ-X", &l, &a, &p, &e), ERR_INVALID);
    arena_free(&a);
}

/* Parcel A (no consumption tax, VAT 13 %, at 70 %: the order's taxTotal
 * 44.14), freight shared by value, consumption tax on the taxed price,
 * the longest prefix winning, and a code no row covers. */
static void test_tax(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 1 << 20);
    cbec_limits l;
    err_t e;
    uint64_t t;
    assert_int_equal(cbec_limits_load("mappings", &l, &e), 0);
    model_record *r = mtu_rec(&a, "{\"kind\":\"declaration\",\"goods\":[{\"hs_code\":"
        "\"1901101000\",\"value\":396},{\"hs_code\":\"2106909090\",\"value\":89}],"
        "\"cbec\":{\"currency\":\"CNY\",\"freight\":0}}");
    assert_int_equal(cbec_tax(&l, r, l.tax_share, &t, &e), 0);
    assert_int_equal(t, 44140);
    assert_int_equal(cbec_tax(&l, r, 100, &t, &e), 0); /* general trade */
    assert_int_equal(t, 63050);
    /* 360 of cosmetics and 10 of freight: 370 x 13 % x 70 % = 33.67 */
    r = mtu_rec(&a, "{\"kind\":\"declaration\",\"goods\":[{\"hs_code\":"
        "\"3304990099\",\"value\":360}],\"cbec\":{\"currency\":\"CNY\",\"freight\":10}}");
    assert_int_equal(cbec_tax(&l, r, 70, &t, &e), 0);
    assert_int_equal(t, 33670);
    /* perfume 100 (15 % consumption): 100 x 28 / 85 x 70 % = 23.06; wine
     * 100 (10 %): 100 x 23 / 90 x 70 % = 17.89; together 40.95 */
    r = mtu_rec(&a, "{\"kind\":\"declaration\",\"goods\":[{\"hs_code\":"
        "\"3303000000\",\"value\":100},{\"hs_code\":\"2204210000\",\"value\":100}],"
        "\"cbec\":{\"currency\":\"CNY\"}}");
    assert_int_equal(cbec_tax(&l, r, 70, &t, &e), 0);
    assert_int_equal(t, 40950);
    l.nrates = 1; /* only the first row: 0401 milk, no "*" for the rest */
    snprintf(l.rates[0].hs, sizeof l.rates[0].hs, "0401");
    assert_int_equal(cbec_tax(&l, r, 70, &t, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "HS code 3303000000"));
    arena_free(&a);
}

static void test_key_file(void **state)
{
    (void)state;
    char path[] = "/tmp/cbec-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "short", 5), 5);
    close(fd);
    unsigned char key[CBEC_KEY_MAX];
    size_t n;
    err_t e;
    assert_int_equal(cbec_id_key_load(path, key, &n, &e), ERR_CONFIG);
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < 32; i++)
        fputc(i, f);
    fclose(f);
    assert_int_equal(cbec_id_key_load(path, key, &n, &e), 0);
    assert_int_equal(n, 32);
    assert_int_equal(key[31], 31);
    unlink(path);
    assert_int_equal(cbec_id_key_load(path, key, &n, &e), ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_lists),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_amount_and_ledger),
        cmocka_unit_test(test_tax),
        cmocka_unit_test(test_key_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
