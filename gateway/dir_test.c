/* dir: certificates found by node id in the federation directory,
 * verified, cached, pinned with a region, refused with the reason. The
 * federation is made for the run by deploy/pki. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../tests/pki_fixture.h"
#include "dir.h"

static test_pki t;
static char pkidir[300];
static pki_store *store;

static int run(const char *args)
{
    return test_pki_run(&t, "%s", args);
}

static int setup(void **state)
{
    (void)state;
    if (test_pki_init(&t, "dir_test") || run("issue CQ --region CQ") ||
        run("issue SC --region SC") || run("issue SN --region SN") ||
        run("revoke SN"))
        return -1;
    snprintf(pkidir, sizeof pkidir, "%s", t.pki);
    char ca[400], crl[400];
    test_pki_path(&t, ca, sizeof ca, "ca.crt");
    test_pki_path(&t, crl, sizeof crl, "crl.pem");
    err_t e;
    store = pki_store_load(ca, crl, &e);
    return store ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pki_store_free(store);
    test_pki_free(&t);
    return 0;
}

static void test_lookup_and_cache(void **state)
{
    (void)state;
    dir *d;
    err_t e;
    assert_int_equal(dir_new(store, pkidir, &d, &e), 0);
    const pki_peer *p1 = NULL, *p2 = NULL;
    time_t now = time(NULL);
    assert_int_equal(dir_get(d, "CQ", now, &p1, &e), 0);
    assert_string_equal(pki_peer_identity(p1)->node_id, "CQ");
    assert_int_equal(dir_get(d, "CQ", now + 1, &p2, &e), 0);
    assert_ptr_equal(p1, p2); /* cached, not read again */
    assert_int_equal(dir_get(d, "SN", now, &p1, &e), ERR_REVOKED);
    assert_non_null(strstr(e.msg, "SN"));
    assert_int_equal(dir_get(d, "XX", now, &p1, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "node XX: no certificate"));
    dir_free(d);
}

static void test_bad_ids_never_reach_a_path(void **state)
{
    (void)state;
    dir *d;
    err_t e;
    const pki_peer *p;
    assert_int_equal(dir_new(store, pkidir, &d, &e), 0);
    assert_int_equal(dir_get(d, "../CQ", time(NULL), &p, &e), ERR_INVALID);
    assert_int_equal(dir_get(d, "cq", time(NULL), &p, &e), ERR_INVALID);
    dir_free(d);
}

static void test_pin_region_and_negative_cache(void **state)
{
    (void)state;
    dir *d;
    err_t e;
    const pki_peer *p;
    char path[400];
    snprintf(path, sizeof path, "%s/SC.crt", pkidir);
    assert_int_equal(dir_new(store, pkidir, &d, &e), 0);
    /* the config expects SC to be in region SH: refused */
    assert_int_equal(dir_pin(d, "SC", "SH", path, &e), 0);
    assert_int_equal(dir_get(d, "SC", time(NULL), &p, &e), ERR_IDENTITY);
    /* a node whose certificate appears later is found once the negative
     * entry has aged */
    time_t now = time(NULL);
    assert_int_equal(dir_get(d, "SH", now, &p, &e), ERR_NOTFOUND);
    assert_int_equal(run("issue SH --region SH"), 0);
    assert_int_equal(dir_get(d, "SH", now + 1, &p, &e), ERR_NOTFOUND);
    assert_int_equal(dir_get(d, "SH", now + DIR_NEGATIVE_S, &p, &e), 0);
    dir_free(d);
}

/* Certificates given as PEM (the signed federation directory): a pinned
 * entry keeps its region, and once listed-only, nothing else is looked
 * for in the files. */
static void test_pem_and_listed_only(void **state)
{
    (void)state;
    dir *d;
    err_t e;
    const pki_peer *p;
    char path[400], pem[8192];
    snprintf(path, sizeof path, "%s/SC.crt", pkidir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(pem, 1, sizeof pem, f);
    fclose(f);
    assert_int_equal(dir_new(store, pkidir, &d, &e), 0);
    assert_int_equal(dir_add_pem(d, "SC", NULL, pem, n, &e), 0);
    assert_int_equal(dir_get(d, "SC", time(NULL), &p, &e), 0);
    assert_string_equal(pki_peer_identity(p)->region, "SC");
    /* the PEM is SC's: under another id it is refused */
    assert_int_equal(dir_add_pem(d, "CQ", NULL, pem, n, &e), 0);
    assert_int_equal(dir_get(d, "CQ", time(NULL), &p, &e), ERR_IDENTITY);
    /* a pin's region stays when the PEM replaces its file */
    assert_int_equal(dir_pin(d, "SN", "SH", path, &e), 0);
    assert_int_equal(dir_add_pem(d, "SN", "SN", pem, n, &e), 0);
    assert_int_equal(dir_get(d, "SN", time(NULL), &p, &e), ERR_IDENTITY);
    /* CQ.crt is in the files, but a listed-only dir does not look */
    dir_free(d);
    assert_int_equal(dir_new(store, pkidir, &d, &e), 0);
    assert_int_equal(dir_listed_only(d, "the federation directory (serial 7)",
                                     &e), 0);
    assert_int_equal(dir_get(d, "CQ", time(NULL), &p, &e), ERR_NOTFOUND);
    assert_string_equal(e.msg, "node CQ: not in the federation directory "
                               "(serial 7)");
    dir_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_and_cache),
        cmocka_unit_test(test_bad_ids_never_reach_a_path),
        cmocka_unit_test(test_pin_region_and_negative_cache),
        cmocka_unit_test(test_pem_and_listed_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
