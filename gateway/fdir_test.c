/* fdir: the signed federation directory that `deploy/pki directory`
 * publishes, checked as a node checks it: accepted as published; refused
 * when a byte changed, when another key signed it, when it is older than
 * the one in use, when a certificate in it is not from the CA; a revoked
 * member kept and refused by the dir that takes the directory's CRL;
 * fetched from file:// and paths; kept in and read back from Redis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../tests/pki_fixture.h"
#include "../tests/redis.h"
#include "dir.h"
#include "fdir.h"
#include "store.h"

static test_pki t, other; /* the federation, and a CA of no federation */
static char ca[400];

/* ---- helpers ---- */

static int sh(const char *cmd)
{
    char full[4400];
    snprintf(full, sizeof full, "(%s) >>'%s/log' 2>&1", cmd, t.dir);
    return system(full);
}

/* The file's bytes into b (reset first). */
static int slurp(const char *path, buf_t *b)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char chunk[8192];
    size_t n;
    buf_reset(b);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(b, chunk, n);
    fclose(f);
    return 0;
}

static int spill(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* The published directory and its signature. */
static void published(buf_t *json, buf_t *sig)
{
    char p[400];
    buf_init(json, FDIR_MAX_BYTES);
    buf_init(sig, FDIR_SIG_MAX);
    test_pki_path(&t, p, sizeof p, "directory.json");
    assert_int_equal(slurp(p, json), 0);
    test_pki_path(&t, p, sizeof p, "directory.json.sig");
    assert_int_equal(slurp(p, sig), 0);
}

/* json (n bytes) signed with the CA key of pki dir `who` into sig. */
static void sign_with(const test_pki *who, const void *json, size_t n,
                      buf_t *sig)
{
    char in[400], out[400], cmd[1400];
    snprintf(in, sizeof in, "%s/x.json", t.dir);
    snprintf(out, sizeof out, "%s/x.sig", t.dir);
    assert_int_equal(spill(in, json, n), 0);
    snprintf(cmd, sizeof cmd, "openssl pkeyutl -sign -inkey '%s/ca/ca.key' "
             "-rawin -in '%s' -out '%s'", who->pki, in, out);
    assert_int_equal(sh(cmd), 0);
    assert_int_equal(slurp(out, sig), 0);
}

static int verify(const buf_t *json, const buf_t *sig, fdir_doc **d,
                  err_t *e)
{
    return fdir_verify(ca, "test://dir", json->p, json->len, sig->p,
                       sig->len, time(NULL), d, e);
}

static int setup(void **state)
{
    (void)state;
    char members[400], cmd[900];
    if (test_pki_init(&t, "fdir_test") || test_pki_init(&other, "fdir_other"))
        return -1;
    snprintf(members, sizeof members, "%s/members.txt", t.dir);
    const char *m = "CQ CQ provincial tcp://127.0.0.1:7101 127.0.0.1:8101\n"
                    "SC SC provincial tcp://127.0.0.1:7102,tcp://h:7 -\n"
                    "NC CN national tcp://127.0.0.1:7105 127.0.0.1:8105\n";
    if (spill(members, m, strlen(m)) < 0)
        return -1;
    snprintf(cmd, sizeof cmd, "directory --members '%s'", members);
    if (test_pki_run(&t, "issue CQ --region CQ") ||
        test_pki_run(&t, "issue SC --region SC") ||
        test_pki_run(&t, "issue NC --region CN") || test_pki_run(&t, "%s", cmd) ||
        test_pki_run(&other, "issue SC --region SC"))
        return -1;
    test_pki_path(&t, ca, sizeof ca, "ca.crt");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_pki_free(&t);
    test_pki_free(&other);
    return 0;
}

/* ---- the tests ---- */

static void test_good_directory(void **state)
{
    (void)state;
    buf_t json, sig;
    published(&json, &sig);
    fdir_doc *d;
    err_t e;
    assert_int_equal(verify(&json, &sig, &d, &e), 0);
    assert_int_equal(d->n, 3);
    assert_true(d->serial > 1700000000);
    assert_non_null(strstr(d->ca, "eport-federation root CA"));
    const fdir_member *sc = fdir_find(d, "SC");
    assert_non_null(sc);
    assert_string_equal(sc->region, "SC");
    assert_int_equal(sc->nendpoints, 2);
    assert_string_equal(sc->endpoints[1], "tcp://h:7");
    assert_string_equal(sc->http, "");
    assert_int_equal(sc->status, FDIR_VALID);
    assert_string_equal(fdir_find(d, "NC")->role, "national");
    assert_int_equal(d->nrevoked, 0);
    /* the CurveZMQ key is the node's own file's */
    char p[400];
    buf_t pub;
    buf_init(&pub, 100);
    test_pki_path(&t, p, sizeof p, "SC.curve.pub");
    assert_int_equal(slurp(p, &pub), 0);
    assert_memory_equal(pub.p, sc->curve, PKI_CURVE_Z85_LEN);
    buf_free(&pub);
    fdir_doc_free(d);
    buf_free(&json);
    buf_free(&sig);
}

static void test_byte_changed(void **state)
{
    (void)state;
    buf_t json, sig;
    published(&json, &sig);
    char *at = strstr(json.p, "7102");
    assert_non_null(at);
    at[3] = '3'; /* SC's endpoint moved: tcp://127.0.0.1:7103 */
    fdir_doc *d = (fdir_doc *)1;
    err_t e;
    assert_int_equal(verify(&json, &sig, &d, &e), ERR_SIGNATURE);
    assert_null(d);
    assert_non_null(strstr(e.msg, "directory test://dir: signature does not "
                                  "verify with CA "));
    assert_non_null(strstr(e.msg, "eport-federation root CA"));
    sig.p[0] ^= 1; /* and the other way round */
    at[3] = '2';
    assert_int_equal(verify(&json, &sig, &d, &e), ERR_SIGNATURE);
    buf_free(&json);
    buf_free(&sig);
}

static void test_other_key(void **state)
{
    (void)state;
    buf_t json, sig;
    published(&json, &sig);
    sign_with(&other, json.p, json.len, &sig);
    fdir_doc *d;
    err_t e;
    assert_int_equal(verify(&json, &sig, &d, &e), ERR_SIGNATURE);
    assert_non_null(strstr(e.msg, "signature does not verify"));
    buf_free(&json);
    buf_free(&sig);
}

static void test_older_serial(void **state)
{
    (void)state;
    buf_t json, sig;
    published(&json, &sig);
    fdir_doc *d;
    err_t e;
    assert_int_equal(verify(&json, &sig, &d, &e), 0);
    assert_int_equal(fdir_newer(d, 0, NULL, &e), 1);
    assert_int_equal(fdir_newer(d, d->serial - 1, d->sha, &e), 1);
    assert_int_equal(fdir_newer(d, d->serial, d->sha, &e), 0);
    assert_int_equal(fdir_newer(d, d->serial + 500, d->sha, &e), ERR_CONFLICT);
    char want[200];
    snprintf(want, sizeof want, "directory serial %llu is older than the one "
             "in use (%llu)", (unsigned long long)d->serial,
             (unsigned long long)d->serial + 500);
    assert_string_equal(e.msg, want);
    unsigned char sha[32] = {0};
    assert_int_equal(fdir_newer(d, d->serial, sha, &e), ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "other content"));
    fdir_doc_free(d);
    buf_free(&json);
    buf_free(&sig);
}

/* The published JSON with SC's certificate replaced by other's SC. */
static char *with_foreign_cert(const buf_t *json)
{
    char p[400];
    buf_t pem;
    buf_init(&pem, 1 << 16);
    test_pki_path(&other, p, sizeof p, "SC.crt");
    assert_int_equal(slurp(p, &pem), 0);
    assert_int_equal(buf_addc(&pem, '\0'), 0);
    json_t *root = json_loadb(json->p, json->len, 0, NULL);
    assert_non_null(root);
    json_t *nodes = json_object_get(root, "nodes");
    json_object_set_new(json_array_get(nodes, 1), "cert", json_string(pem.p));
    char *out = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    buf_free(&pem);
    return out;
}

static void test_cert_not_from_ca(void **state)
{
    (void)state;
    buf_t json, sig;
    published(&json, &sig);
    char *bad = with_foreign_cert(&json);
    assert_non_null(bad);
    buf_reset(&json);
    buf_adds(&json, bad);
    free(bad);
    sign_with(&t, json.p, json.len, &sig); /* the real CA signed it */
    fdir_doc *d;
    err_t e;
    assert_int_equal(verify(&json, &sig, &d, &e), ERR_SIGNATURE);
    assert_non_null(strstr(e.msg, "directory test://dir: "));
    assert_non_null(strstr(e.msg, "not issued by the federation CA"));
    buf_free(&json);
    buf_free(&sig);
}

static void test_bad_content_signed(void **state)
{
    (void)state;
    static const struct { const char *json; int code; } cases[] = {
        {"{\"version\": 2}", ERR_UNSUPPORTED},
        {"[1]", ERR_SYNTAX},
        {"{\"version\": 1, \"serial\": 5, \"issued\": \"x\", \"crl\": \"x\", "
         "\"nodes\": []}", ERR_INVALID},
        {"{\"version\": 1, \"version\": 1}", ERR_SYNTAX},
    };
    buf_t sig;
    buf_init(&sig, FDIR_SIG_MAX);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_t json;
        buf_init(&json, 4096);
        buf_adds(&json, cases[i].json);
        sign_with(&t, json.p, json.len, &sig);
        fdir_doc *d;
        err_t e;
        assert_int_equal(verify(&json, &sig, &d, &e), cases[i].code);
        buf_free(&json);
    }
    buf_free(&sig);
}

/* A member revoked and published again: kept, marked, and refused by a
 * dir whose store took the directory's CRL. */
static void test_revoked_member(void **state)
{
    (void)state;
    char cmd[900];
    snprintf(cmd, sizeof cmd, "cp '%s/crl.pem' '%s/crl-before.pem'", t.pki,
             t.pki);
    assert_int_equal(sh(cmd), 0);
    sleep(1); /* the new CRL's lastUpdate must be later: OpenSSL takes the
                 newest of an issuer's CRLs */
    assert_int_equal(test_pki_run(&t, "revoke SC"), 0);
    assert_int_equal(test_pki_run(&t, "directory"), 0);
    buf_t json, sig;
    published(&json, &sig);
    fdir_doc *d;
    err_t e;
    assert_int_equal(verify(&json, &sig, &d, &e), 0);
    assert_int_equal(d->nrevoked, 1);
    assert_int_equal(fdir_find(d, "SC")->status, FDIR_REVOKED);
    pki_store *s = pki_store_load(ca, NULL, &e);
    assert_non_null(s);
    assert_int_equal(pki_store_add_crl_pem(s, d->crl, d->crllen, "dir", &e), 0);
    dir *dd;
    const pki_peer *p;
    assert_int_equal(dir_new(s, "/nonexistent", &dd, &e), 0);
    for (size_t i = 0; i < d->n; i++)
        assert_int_equal(dir_add_pem(dd, d->m[i].id, NULL, d->m[i].cert,
                                     d->m[i].certlen, &e), 0);
    assert_int_equal(dir_listed_only(dd, "the test directory", &e), 0);
    assert_int_equal(dir_get(dd, "CQ", time(NULL), &p, &e), 0);
    assert_int_equal(dir_get(dd, "SC", time(NULL), &p, &e), ERR_REVOKED);
    assert_int_equal(dir_get(dd, "SN", time(NULL), &p, &e), ERR_NOTFOUND);
    assert_string_equal(e.msg, "node SN: not in the test directory");
    dir_free(dd);
    pki_store_free(s);
    /* pki.crl and the directory's CRL both: the same CRL twice is fine,
     * and a stale pki.crl (before SC's revocation) does not hide it */
    static const char *const files[] = {"crl.pem", "crl-before.pem"};
    for (size_t i = 0; i < 2; i++) {
        char crl[400];
        pki_identity id;
        test_pki_path(&t, crl, sizeof crl, files[i]);
        s = pki_store_load(ca, crl, &e);
        assert_non_null(s);
        assert_int_equal(pki_store_add_crl_pem(s, d->crl, d->crllen, "dir", &e),
                         0);
        const fdir_member *m = fdir_find(d, "SC");
        assert_int_equal(pki_verify_cert(s, m->cert, m->certlen, time(NULL),
                                         &id, &e), ERR_REVOKED);
        pki_store_free(s);
    }
    fdir_doc_free(d);
    buf_free(&json);
    buf_free(&sig);
}

static void test_fetch_files(void **state)
{
    (void)state;
    char url[500];
    buf_t json, sig;
    buf_init(&json, FDIR_MAX_BYTES);
    buf_init(&sig, FDIR_SIG_MAX);
    err_t e;
    snprintf(url, sizeof url, "file://%s/directory.json", t.pki);
    assert_int_equal(fdir_fetch(url, &json, &sig, &e), 0);
    assert_true(json.len > 1000);
    assert_true(sig.len == 64);
    snprintf(url, sizeof url, "%s/directory.json", t.pki);
    assert_int_equal(fdir_fetch(url, &json, &sig, &e), 0);
    snprintf(url, sizeof url, "%s/none.json", t.pki);
    assert_int_equal(fdir_fetch(url, &json, &sig, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "none.json"));
    assert_int_equal(fdir_fetch("ftp://x/y", &json, &sig, &e), ERR_UNSUPPORTED);
    buf_free(&json);
    buf_init(&json, 100); /* capped */
    snprintf(url, sizeof url, "%s/directory.json", t.pki);
    assert_int_equal(fdir_fetch(url, &json, &sig, &e), ERR_TOOBIG);
    buf_free(&json);
    buf_free(&sig);
}

static void test_kept_in_redis(void **state)
{
    (void)state;
    char url[64];
    pid_t pid;
    int rc = test_redis_start(url, &pid);
    if (rc == 1)
        skip();
    assert_int_equal(rc, 0);
    store *st;
    err_t e;
    assert_int_equal(store_open(url, "fdirtest:", &st, &e), 0);
    buf_t json, sig, j2, s2;
    published(&json, &sig);
    buf_init(&j2, FDIR_MAX_BYTES);
    buf_init(&s2, FDIR_SIG_MAX);
    assert_int_equal(fdir_cache_load(st, &j2, &s2, &e), ERR_NOTFOUND);
    fdir_doc *d;
    assert_int_equal(verify(&json, &sig, &d, &e), 0);
    assert_int_equal(fdir_cache_save(st, d, &e), 0);
    assert_int_equal(fdir_cache_load(st, &j2, &s2, &e), 0);
    assert_int_equal(j2.len, json.len);
    assert_memory_equal(j2.p, json.p, json.len);
    assert_memory_equal(s2.p, sig.p, sig.len);
    fdir_doc_free(d);
    store_close(st);
    test_redis_stop(pid);
    buf_free(&json), buf_free(&sig), buf_free(&j2), buf_free(&s2);
}

/* An ECDSA P-256 CA signs SHA-256 of the bytes (openssl dgst -sha256). */
static void test_ecdsa_ca(void **state)
{
    (void)state;
    test_pki ec;
    char members[400], cmd[900], eca[400], p[400];
    assert_int_equal(test_pki_init(&ec, "fdir_ec"), 0);
    snprintf(ec.pki, sizeof ec.pki, "%s/pki-ec", ec.dir);
    snprintf(members, sizeof members, "%s/m.txt", ec.dir);
    assert_int_equal(spill(members, "SN SN provincial tcp://x:1 -\n", 29), 0);
    snprintf(cmd, sizeof cmd, "directory --members '%s'", members);
    assert_int_equal(test_pki_run(&ec, "init-ca --key-type ecdsa-p256"), 0);
    assert_int_equal(test_pki_run(&ec, "issue SN --region SN"), 0);
    assert_int_equal(test_pki_run(&ec, "%s", cmd), 0);
    buf_t json, sig;
    buf_init(&json, FDIR_MAX_BYTES);
    buf_init(&sig, FDIR_SIG_MAX);
    test_pki_path(&ec, p, sizeof p, "directory.json");
    assert_int_equal(slurp(p, &json), 0);
    test_pki_path(&ec, p, sizeof p, "directory.json.sig");
    assert_int_equal(slurp(p, &sig), 0);
    test_pki_path(&ec, eca, sizeof eca, "ca.crt");
    fdir_doc *d;
    err_t e;
    assert_int_equal(fdir_verify(eca, "ec", json.p, json.len, sig.p, sig.len,
                                 time(NULL), &d, &e), 0);
    assert_int_equal(d->n, 1);
    fdir_doc_free(d);
    json.p[json.len - 3] ^= 1;
    assert_int_equal(fdir_verify(eca, "ec", json.p, json.len, sig.p, sig.len,
                                 time(NULL), &d, &e), ERR_SIGNATURE);
    /* and the Ed25519 federation's directory is not this CA's */
    buf_free(&json), buf_free(&sig);
    published(&json, &sig);
    assert_int_equal(fdir_verify(eca, "ec", json.p, json.len, sig.p, sig.len,
                                 time(NULL), &d, &e), ERR_SIGNATURE);
    buf_free(&json), buf_free(&sig);
    test_pki_free(&ec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_directory),
        cmocka_unit_test(test_byte_changed),
        cmocka_unit_test(test_other_key),
        cmocka_unit_test(test_older_serial),
        cmocka_unit_test(test_cert_not_from_ca),
        cmocka_unit_test(test_bad_content_signed),
        cmocka_unit_test(test_ecdsa_ca),
        cmocka_unit_test(test_fetch_files),
        cmocka_unit_test(test_kept_in_redis),
        cmocka_unit_test(test_revoked_member), /* last: it revokes SC */
    };
    return cmocka_run_group_tests_name("gateway/fdir", tests, setup, teardown);
}
