/* Unit tests for pki, on a federation made for the run: deploy/pki builds a
 * CA and issues CQ, SC (then revoked), an ECDSA node and a short-lived one
 * into a temporary directory; openssl itself makes the certificates the
 * script refuses to (wrong OU, wrong CN, no CurveZMQ URI). The tests check
 * what a verifier accepts and refuses, and why; the CurveZMQ keys against
 * libzmq; signing and verifying; the script's idempotence and rotation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "pki.h"

#define DAY 86400

static char dir[256];      /* the temporary directory */
static int quiet;          /* a failure is what the test expects */
static char pki[300];      /* dir/pki: the federation under test */
static const char *script; /* deploy/pki, found from the working directory */
static pki_store *store;   /* ca.crt + crl.pem of pki */

/* ---- helpers ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[2400];
    snprintf(full, sizeof full, "(%s) >>'%s/log' 2>&1", cmd, dir);
    int rc = system(full);
    if (rc != 0 && !quiet)
        fprintf(stderr, "command failed (%d): %s\n  see %s/log\n", rc, cmd,
                dir);
    return rc;
}

/* deploy/pki on the test federation, with these arguments. */
static int pki_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int pki_cmd(const char *fmt, ...)
{
    char args[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return sh("'%s' --dir '%s' %s", script, pki, args);
}

/* The file's text (up to 64 KiB, all the tests need), NUL-terminated. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = f ? malloc(1 << 16) : NULL;
    if (!data) {
        if (f)
            fclose(f);
        return NULL;
    }
    size_t n = fread(data, 1, (1 << 16) - 1, f);
    fclose(f);
    data[n] = '\0';
    if (len)
        *len = n;
    return data;
}

static int verify_file(const pki_store *s, const char *name, time_t now,
                       pki_identity *id, err_t *e)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", pki, name);
    size_t n = 0;
    char *pem = slurp(path, &n);
    assert_non_null(pem);
    int rc = pki_verify_cert(s, pem, n, now, id, e);
    free(pem);
    return rc;
}

static pki_peer *peer(const char *node)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s.crt", pki, node);
    pki_peer *p = NULL;
    err_t e = {0};
    int rc = pki_peer_load(store, path, time(NULL), &p, &e);
    if (rc != 0)
        fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    return p;
}

static pki_key *key(const char *node)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s.key", pki, node);
    pki_key *k = NULL;
    err_t e = {0};
    int rc = pki_key_load(path, &k, &e);
    if (rc != 0)
        fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    return k;
}

static void trim(char *s)
{
    s[strcspn(s, "\r\n")] = '\0';
}

/* A certificate signed by the test CA with openssl directly, for what
 * deploy/pki would never issue: subject subj, SAN san, in pki/NAME.crt. */
static int forge(const char *name, const char *subj, const char *san)
{
    char ext[400];
    snprintf(ext, sizeof ext, "%s/%s.ext", dir, name);
    FILE *f = fopen(ext, "w");
    if (!f)
        return -1;
    fprintf(f, "[x]\nbasicConstraints=critical,CA:FALSE\n"
               "keyUsage=critical,digitalSignature\n"
               "extendedKeyUsage=clientAuth,serverAuth\n"
               "subjectAltName=%s\n",
            san);
    fclose(f);
    return sh("cd '%s' && openssl genpkey -algorithm ED25519 -out %s.key && "
              "openssl req -new -key %s.key -subj '%s' -out %s.csr && "
              "openssl x509 -req -in %s.csr -CA ca.crt -CAkey ca/ca.key "
              "-set_serial 0x%x -days 30 -extfile '%s' -extensions x "
              "-out %s.crt",
              pki, name, name, subj, name, name,
              (unsigned)(rand() & 0xffffff) | 0x1000000u, ext, name);
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static const char *find_script(void)
{
    static const char *const tries[] = {
        "deploy/pki", "../deploy/pki", "../../deploy/pki",
        "../../../deploy/pki", "../../../../deploy/pki"};
    static char abs[4096];
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++)
        if (access(tries[i], X_OK) == 0 && realpath(tries[i], abs))
            return abs;
    return NULL;
}

/* ---- the federation, made once ---- */

static int teardown(void **state);

static int build(void)
{
    script = find_script();
    if (!script) {
        fprintf(stderr,
                "pki_test: deploy/pki not found from the working directory\n");
        return -1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/pki_test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    snprintf(pki, sizeof pki, "%s/pki", dir);
    srand((unsigned)time(NULL));
    const char *curve =
        "URI:urn:eport:curve:"
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char san[400];
    if (pki_cmd("init-ca") || pki_cmd("issue CQ --region CQ") ||
        pki_cmd("issue SC --region SC") || pki_cmd("issue SN --region SN") ||
        pki_cmd("issue EC --region SH --key-type ecdsa-p256") ||
        pki_cmd("issue OLD --region SN --days 1") ||
        pki_cmd("revoke SC --reason keyCompromise"))
        return -1;
    snprintf(san, sizeof san,
             "URI:urn:eport:node:BAD,URI:urn:eport:region:SC,%s", curve);
    if (forge("BADOU", "/O=eport-federation/OU=SN/CN=eportd.BAD", san) ||
        forge("BADCN", "/O=eport-federation/OU=SC/CN=eportd.CQ", san) ||
        forge("NOCURVE", "/O=eport-federation/OU=SC/CN=eportd.BAD",
              "URI:urn:eport:node:BAD,URI:urn:eport:region:SC"))
        return -1;
    err_t e = {0};
    char ca[400], crl[400];
    snprintf(ca, sizeof ca, "%s/ca.crt", pki);
    snprintf(crl, sizeof crl, "%s/crl.pem", pki);
    store = pki_store_load(ca, crl, &e);
    if (!store)
        fprintf(stderr, "%s\n", e.msg);
    return store ? 0 : -1;
}

/* On failure what the commands said is shown, then the directory goes. */
static int setup(void **state)
{
    if (build() == 0)
        return 0;
    if (dir[0])
        sh("cat '%s/log' >&2", dir);
    teardown(state);
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    pki_store_free(store);
    if (dir[0] && nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "pki_test: could not remove %s\n", dir);
    return 0;
}

/* ---- tests ---- */

static void test_verify_identity(void **state)
{
    (void)state;
    pki_identity id;
    err_t e = {0};
    time_t now = time(NULL);
    assert_int_equal(verify_file(store, "CQ.crt", now, &id, &e), 0);
    assert_string_equal(id.node_id, "CQ");
    assert_string_equal(id.region, "CQ");
    assert_non_null(strstr(id.subject, "CN=eportd.CQ"));
    assert_non_null(strstr(id.subject, "OU=CQ"));
    assert_true(id.not_after > now + 364 * DAY &&
                id.not_after < now + 366 * DAY);
    char path[400];
    snprintf(path, sizeof path, "%s/CQ.curve.pub", pki);
    char *pub = slurp(path, NULL);
    assert_non_null(pub);
    trim(pub);
    assert_int_equal(strlen(id.curve_pub), PKI_CURVE_Z85_LEN);
    assert_string_equal(id.curve_pub, pub); /* the script's Z85 = ours */
    free(pub);
    assert_int_equal(pki_identity_expect(&id, "CQ", "CQ", &e), 0);
    assert_int_equal(pki_identity_expect(&id, "SC", NULL, &e), ERR_IDENTITY);
    assert_string_equal(e.msg, "certificate is for node CQ, expected SC");
    assert_int_equal(pki_identity_expect(&id, "CQ", "SN", &e), ERR_IDENTITY);
}

/* The secret the script wrote is the X25519 key whose public half is in
 * the certificate: libzmq, deriving it, must agree. */
static void test_curve_keys_match_libzmq(void **state)
{
    (void)state;
    if (!zmq_has("curve"))
        skip();
    char path[400];
    snprintf(path, sizeof path, "%s/CQ.curve.key", pki);
    char *sec = slurp(path, NULL);
    assert_non_null(sec);
    trim(sec);
    assert_int_equal(strlen(sec), PKI_CURVE_Z85_LEN);
    char pub[41];
    assert_int_equal(zmq_curve_public(pub, sec), 0);
    free(sec);
    pki_identity id;
    assert_int_equal(verify_file(store, "CQ.crt", time(NULL), &id, NULL), 0);
    assert_string_equal(pub, id.curve_pub);
}

static void test_revoked(void **state)
{
    (void)state;
    pki_identity id;
    err_t e = {0};
    assert_int_equal(verify_file(store, "SC.crt", time(NULL), &id, &e),
                     ERR_REVOKED);
    assert_int_equal(e.code, ERR_REVOKED);
    assert_non_null(
        strstr(e.msg, "certificate for node SC: revoked by the federation CRL "
                      "(serial 0x"));
    assert_non_null(strstr(e.msg, "keyCompromise"));
    assert_string_equal(id.node_id, ""); /* nothing of a refused identity */
    /* The CRL is what refuses it: without one, SC passes; once added, not. */
    char ca[400], crl[400];
    snprintf(ca, sizeof ca, "%s/ca.crt", pki);
    snprintf(crl, sizeof crl, "%s/crl.pem", pki);
    pki_store *bare = pki_store_load(ca, NULL, &e);
    assert_non_null(bare);
    assert_int_equal(verify_file(bare, "SC.crt", time(NULL), &id, &e), 0);
    assert_int_equal(pki_store_add_crl(bare, crl, &e), 0);
    assert_int_equal(verify_file(bare, "SC.crt", time(NULL), &id, &e),
                     ERR_REVOKED);
    pki_store_free(bare);
}

static void test_other_ca(void **state)
{
    (void)state;
    char other[300];
    snprintf(other, sizeof other, "%s/other", dir);
    assert_int_equal(sh("'%s' --dir '%s' init-ca --name Rogue && "
                        "'%s' --dir '%s' issue CQ --region CQ",
                        script, other, script, other),
                     0);
    char path[400];
    snprintf(path, sizeof path, "%s/CQ.crt", other);
    size_t n = 0;
    char *pem = slurp(path, &n);
    assert_non_null(pem);
    err_t e = {0};
    assert_int_equal(pki_verify_cert(store, pem, n, time(NULL), NULL, &e),
                     ERR_SIGNATURE);
    assert_non_null(strstr(
        e.msg, "certificate for node CQ: not issued by the federation CA"));
    free(pem);
    /* Their CRL is refused by our store too. */
    snprintf(path, sizeof path, "%s/crl.pem", other);
    assert_int_equal(pki_store_add_crl(store, path, &e), ERR_CONFIG);
}

static void test_expired(void **state)
{
    (void)state;
    err_t e = {0};
    time_t now = time(NULL);
    assert_int_equal(verify_file(store, "OLD.crt", now, NULL, &e), 0);
    assert_int_equal(verify_file(store, "OLD.crt", now + 3 * DAY, NULL, &e),
                     ERR_EXPIRED);
    assert_non_null(strstr(e.msg, "certificate for node OLD: expired on 20"));
    /* Past the CRL's next update nothing verifies, and it is said why. */
    assert_int_equal(verify_file(store, "CQ.crt", now + 40 * DAY, NULL, &e),
                     ERR_CONFIG);
    assert_non_null(strstr(e.msg, "the federation CRL expired on"));
    /* Past the CA's ten years, the CA's end is named. */
    pki_store *bare = NULL;
    char ca[400];
    snprintf(ca, sizeof ca, "%s/ca.crt", pki);
    bare = pki_store_load(ca, NULL, &e);
    assert_non_null(bare);
    assert_int_equal(verify_file(bare, "CQ.crt", now + 3660L * DAY, NULL, &e),
                     ERR_EXPIRED);
    pki_store_free(bare);
}

static void test_identity_rules(void **state)
{
    (void)state;
    err_t e = {0};
    time_t now = time(NULL);
    assert_int_equal(verify_file(store, "BADOU.crt", now, NULL, &e),
                     ERR_IDENTITY);
    assert_string_equal(
        e.msg, "certificate for node BAD: region OU 'SN' does not match SAN "
               "region 'SC'");
    assert_int_equal(verify_file(store, "BADCN.crt", now, NULL, &e),
                     ERR_IDENTITY);
    assert_non_null(
        strstr(e.msg, "CN 'eportd.CQ' does not match SAN node 'BAD'"));
    assert_int_equal(verify_file(store, "NOCURVE.crt", now, NULL, &e),
                     ERR_IDENTITY);
    assert_non_null(strstr(e.msg, "no SAN urn:eport:curve: URI"));
}

static void test_bad_input(void **state)
{
    (void)state;
    err_t e = {0};
    const char junk[] =
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert_int_equal(pki_verify_cert(store, junk, sizeof junk - 1, 0, NULL, &e),
                     ERR_SYNTAX);
    assert_int_equal(pki_verify_cert(store, "", 0, 0, NULL, &e), ERR_SYNTAX);
    assert_int_equal(
        pki_verify_cert(store, junk, PKI_CERT_MAX + 1, 0, NULL, &e),
        ERR_TOOBIG);
    pki_peer *p = NULL;
    char path[400];
    snprintf(path, sizeof path, "%s/NOPE.crt", pki);
    assert_int_equal(pki_peer_load(store, path, 0, &p, &e), ERR_NOTFOUND);
    assert_null(p);
    assert_null(pki_store_load(path, NULL, &e));
    assert_int_equal(e.code, ERR_NOTFOUND);
    /* A node certificate is no CA. */
    snprintf(path, sizeof path, "%s/CQ.crt", pki);
    assert_null(pki_store_load(path, NULL, &e));
    assert_int_equal(e.code, ERR_CONFIG);
}

static void test_sign_verify(void **state)
{
    (void)state;
    pki_key *k = key("CQ");
    pki_peer *p = peer("CQ");
    err_t e = {0};
    assert_int_equal(pki_key_alg(k), PKI_ED25519);
    assert_int_equal(pki_peer_alg(p), PKI_ED25519);
    assert_string_equal(pki_peer_identity(p)->node_id, "CQ");
    assert_int_equal(pki_key_matches(k, p, &e), 0);
    unsigned char data[] = "envelope canonical bytes", sig[PKI_SIG_MAX];
    size_t siglen = sizeof sig;
    assert_int_equal(pki_sign(k, data, sizeof data, sig, &siglen, &e), 0);
    assert_int_equal(siglen, 64);
    assert_int_equal(pki_peer_verify(p, data, sizeof data, sig, siglen, &e), 0);
    data[0] ^= 1; /* tampered data */
    assert_int_equal(pki_peer_verify(p, data, sizeof data, sig, siglen, &e),
                     ERR_SIGNATURE);
    assert_non_null(strstr(e.msg, "signature by node CQ does not verify"));
    data[0] ^= 1;
    sig[10] ^= 0x40; /* tampered signature */
    assert_int_equal(pki_peer_verify(p, data, sizeof data, sig, siglen, &e),
                     ERR_SIGNATURE);
    assert_int_equal(pki_peer_verify(p, data, sizeof data, sig, 63, &e),
                     ERR_SIGNATURE);
    size_t small = 10;
    assert_int_equal(pki_sign(k, data, sizeof data, sig, &small, &e),
                     ERR_TOOBIG);
    /* Empty data is data too. */
    siglen = sizeof sig;
    assert_int_equal(pki_sign(k, NULL, 0, sig, &siglen, &e), 0);
    assert_int_equal(pki_peer_verify(p, NULL, 0, sig, siglen, &e), 0);
    pki_key_free(k);
    pki_peer_free(p);
}

static void test_wrong_key(void **state)
{
    (void)state;
    pki_key *sn = key("SN");
    pki_peer *cq = peer("CQ");
    err_t e = {0};
    unsigned char data[] = "hello", sig[PKI_SIG_MAX];
    size_t siglen = sizeof sig;
    assert_int_equal(pki_sign(sn, data, sizeof data, sig, &siglen, &e), 0);
    assert_int_equal(pki_peer_verify(cq, data, sizeof data, sig, siglen, &e),
                     ERR_SIGNATURE);
    assert_int_equal(pki_key_matches(sn, cq, &e), ERR_IDENTITY);
    pki_key_free(sn);
    pki_peer_free(cq);
}

static void test_ecdsa(void **state)
{
    (void)state;
    pki_key *k = key("EC");
    pki_peer *p = peer("EC");
    pki_peer *cq = peer("CQ");
    err_t e = {0};
    assert_int_equal(pki_key_alg(k), PKI_ECDSA_P256);
    assert_int_equal(pki_peer_alg(p), PKI_ECDSA_P256);
    assert_string_equal(pki_alg_name(pki_peer_alg(p)), "ecdsa-p256");
    assert_string_equal(pki_peer_identity(p)->region, "SH");
    unsigned char data[] = "hello", sig[PKI_SIG_MAX];
    size_t siglen = sizeof sig;
    assert_int_equal(pki_sign(k, data, sizeof data, sig, &siglen, &e), 0);
    assert_true(siglen >= 8 && siglen <= PKI_SIG_MAX);
    assert_int_equal(pki_peer_verify(p, data, sizeof data, sig, siglen, &e), 0);
    data[1] ^= 1;
    assert_int_equal(pki_peer_verify(p, data, sizeof data, sig, siglen, &e),
                     ERR_SIGNATURE);
    data[1] ^= 1;
    assert_int_equal(pki_peer_verify(cq, data, sizeof data, sig, siglen, &e),
                     ERR_SIGNATURE);
    pki_key_free(k);
    pki_peer_free(p);
    pki_peer_free(cq);
}

static void test_key_file_rules(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/open.key", dir);
    assert_int_equal(
        sh("cp '%s/CQ.key' '%s' && chmod 644 '%s'", pki, path, path), 0);
    pki_key *k = NULL;
    err_t e = {0};
    assert_int_equal(pki_key_load(path, &k, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "chmod 600"));
    assert_null(k);
    int rc = sh("openssl genpkey -algorithm ED25519 -aes256 -pass pass:x "
                "-out '%s.enc' && chmod 600 '%s.enc'",
                path, path);
    assert_int_equal(rc, 0);
    char enc[420];
    snprintf(enc, sizeof enc, "%s.enc", path);
    assert_int_equal(pki_key_load(enc, &k, &e), ERR_SYNTAX);
    assert_null(k);
}

/* Running a command again changes nothing; renewal with new keys leaves
 * the old certificate valid until its serial is revoked. */
static void test_idempotent_and_rotation(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/CQ.crt", pki);
    char *before = slurp(path, NULL);
    snprintf(path, sizeof path, "%s/ca.crt", pki);
    char *ca_before = slurp(path, NULL);
    assert_int_equal(pki_cmd("init-ca"), 0);
    assert_int_equal(pki_cmd("issue CQ --region CQ"), 0);
    snprintf(path, sizeof path, "%s/CQ.crt", pki);
    char *after = slurp(path, NULL);
    snprintf(path, sizeof path, "%s/ca.crt", pki);
    char *ca_after = slurp(path, NULL);
    assert_string_equal(before, after);
    assert_string_equal(ca_before, ca_after);
    free(before), free(after), free(ca_before), free(ca_after);
    quiet = 1;
    assert_int_not_equal(pki_cmd("issue CQ --region SN"), 0);
    assert_int_not_equal(pki_cmd("issue cq --region CQ"), 0);
    quiet = 0;

    assert_int_equal(pki_cmd("issue RK --region SC"), 0);
    snprintf(path, sizeof path, "%s/RK.crt", pki);
    size_t n = 0;
    char *old = slurp(path, &n);
    assert_int_equal(pki_cmd("renew RK --rekey"), 0);
    pki_peer *p = peer("RK");
    err_t e = {0};
    assert_int_equal(pki_verify_cert(store, old, n, time(NULL), NULL, &e), 0);
    assert_int_equal(
        pki_cmd("revoke RK --reason superseded --serial $(openssl x509 -noout "
                "-serial -in '%s/ca/archive/'RK.*.crt | cut -d= -f2)",
                pki),
        0);
    char ca[400], crl[400];
    snprintf(ca, sizeof ca, "%s/ca.crt", pki);
    snprintf(crl, sizeof crl, "%s/crl.pem", pki);
    pki_store *fresh = pki_store_load(ca, crl, &e);
    assert_non_null(fresh);
    assert_int_equal(pki_verify_cert(fresh, old, n, time(NULL), NULL, &e),
                     ERR_REVOKED);
    assert_non_null(strstr(e.msg, "superseded"));
    assert_int_equal(pki_peer_recheck(fresh, p, time(NULL), &e), 0);
    assert_int_equal(pki_peer_recheck(fresh, p, time(NULL) + 400L * DAY, &e),
                     ERR_CONFIG);
    pki_store_free(fresh);
    pki_peer_free(p);
    free(old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_identity),
        cmocka_unit_test(test_curve_keys_match_libzmq),
        cmocka_unit_test(test_revoked),
        cmocka_unit_test(test_other_ca),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_identity_rules),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_ecdsa),
        cmocka_unit_test(test_key_file_rules),
        cmocka_unit_test(test_idempotent_and_rotation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
