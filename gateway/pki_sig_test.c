/* Unit tests for pki_sig: signatures made and checked through libsodium
 * (Ed25519) and copied OpenSSL contexts (ECDSA P-256) must be the ones
 * OpenSSL's EVP interface makes and accepts, byte for byte where the
 * algorithm is deterministic, since other nodes may verify with either.
 * deploy/pki makes a small federation (one node of each key type) in a
 * temporary directory; openssl issues one certificate it never would, for
 * an Ed25519 key of small order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pki.h"

static char dir[256];      /* the temporary directory */
static char pki[300];      /* dir/pki: the federation under test */
static const char *script; /* deploy/pki, found from the working directory */
static pki_store *store;

/* ---- helpers ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048], full[2400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "(%s) >>'%s/log' 2>&1", cmd, dir);
    int rc = system(full);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n  see %s/log\n", rc, cmd,
                dir);
    return rc;
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

static void path_of(char *out, size_t cap, const char *node, const char *ext)
{
    snprintf(out, cap, "%s/%s.%s", pki, node, ext);
}

static pki_key *key(const char *node)
{
    char path[400];
    path_of(path, sizeof path, node, "key");
    pki_key *k = NULL;
    err_t e = {0};
    int rc = pki_key_load(path, &k, &e);
    if (rc != 0)
        fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    return k;
}

static pki_peer *peer(const char *node)
{
    char path[400];
    path_of(path, sizeof path, node, "crt");
    pki_peer *p = NULL;
    err_t e = {0};
    int rc = pki_peer_load(store, path, time(NULL), &p, &e);
    if (rc != 0)
        fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(rc, 0);
    return p;
}

/* The node's private key as OpenSSL reads it, independently of pki. */
static EVP_PKEY *ossl_key(const char *node)
{
    char path[400];
    path_of(path, sizeof path, node, "key");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}

/* The public key of the node's certificate, as OpenSSL reads it. */
static EVP_PKEY *ossl_pub(const char *node)
{
    char path[400];
    path_of(path, sizeof path, node, "crt");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    EVP_PKEY *k = X509_get_pubkey(x);
    X509_free(x);
    assert_non_null(k);
    return k;
}

/* SHA-256 for ECDSA, none for Ed25519 (it hashes the message itself). */
static const EVP_MD *md_of(EVP_PKEY *k)
{
    return EVP_PKEY_is_a(k, "ED25519") ? NULL : EVP_sha256();
}

static size_t ossl_sign(EVP_PKEY *k, const unsigned char *m, size_t n,
                        unsigned char *sig, size_t cap)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_non_null(c);
    assert_int_equal(EVP_DigestSignInit(c, NULL, md_of(k), NULL, k), 1);
    assert_int_equal(EVP_DigestSign(c, sig, &cap, m, n), 1);
    EVP_MD_CTX_free(c);
    return cap;
}

static int ossl_verify(EVP_PKEY *k, const unsigned char *m, size_t n,
                       const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_non_null(c);
    assert_int_equal(EVP_DigestVerifyInit(c, NULL, md_of(k), NULL, k), 1);
    int ok = EVP_DigestVerify(c, sig, siglen, m, n) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

/* ---- the federation, made once ---- */

/* WEAK: a certificate from the test CA whose Ed25519 key is the neutral
 * point (encoded 01 00 .. 00), of small order: no private key has it. */
static int forge_weak(void)
{
    unsigned char raw[32] = {1};
    char path[400];
    path_of(path, sizeof path, "WEAK", "pub");
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
    FILE *f = fopen(path, "w");
    int ok = k && f && PEM_write_PUBKEY(f, k) == 1;
    if (f)
        fclose(f);
    EVP_PKEY_free(k);
    if (!ok)
        return -1;
    return sh("cd '%s' && printf '%s' >WEAK.ext && "
              "openssl genpkey -algorithm ED25519 -out WEAK.key && "
              "openssl req -new -key WEAK.key -out WEAK.csr "
              "-subj /O=eport-federation/OU=SC/CN=eportd.WEAK && "
              "openssl x509 -req -in WEAK.csr -CA ca.crt -CAkey ca/ca.key "
              "-force_pubkey WEAK.pub -set_serial 0x5eed -days 30 "
              "-extfile WEAK.ext -extensions x -out WEAK.crt",
              pki,
              "[x]\\nbasicConstraints=critical,CA:FALSE\\n"
              "keyUsage=critical,digitalSignature\\n"
              "extendedKeyUsage=clientAuth,serverAuth\\n"
              "subjectAltName=URI:urn:eport:node:WEAK,"
              "URI:urn:eport:region:SC,URI:urn:eport:curve:"
              "00112233445566778899aabbccddeeff"
              "00112233445566778899aabbccddeeff\\n");
}

static int build(void)
{
    if (!(script = find_script())) {
        fprintf(stderr, "pki_sig_test: deploy/pki not found\n");
        return -1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/pki_sig_test.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    snprintf(pki, sizeof pki, "%s/pki", dir);
    if (sh("'%s' --dir '%s' init-ca && '%s' --dir '%s' issue ED --region SC "
           "&& '%s' --dir '%s' issue EC --region SH --key-type ecdsa-p256",
           script, pki, script, pki, script, pki) ||
        forge_weak())
        return -1;
    char ca[400], crl[400];
    snprintf(ca, sizeof ca, "%s/ca.crt", pki);
    snprintf(crl, sizeof crl, "%s/crl.pem", pki);
    err_t e = {0};
    if (!(store = pki_store_load(ca, crl, &e)))
        fprintf(stderr, "%s\n", e.msg);
    return store ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    (void)state;
    pki_store_free(store);
    if (dir[0] && nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "pki_sig_test: could not remove %s\n", dir);
    return 0;
}

static int setup(void **state)
{
    if (build() == 0)
        return 0;
    if (dir[0])
        sh("cat '%s/log' >&2", dir);
    teardown(state);
    return -1;
}

/* ---- tests ---- */

/* Ed25519 is deterministic: libsodium's signature must be OpenSSL's, to
 * the byte, for every length, and each side must accept the other's. */
static void test_ed25519_same_as_openssl(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 63, 64, 1200, 65536};
    static unsigned char msg[65536];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (unsigned char)(i * 7 + (i >> 8));
    pki_key *k = key("ED");
    pki_peer *p = peer("ED");
    EVP_PKEY *priv = ossl_key("ED"), *pub = ossl_pub("ED");
    err_t e = {0};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        unsigned char ours[PKI_SIG_MAX], theirs[PKI_SIG_MAX];
        size_t n = sizeof ours;
        assert_int_equal(pki_sign(k, msg, lens[i], ours, &n, &e), 0);
        assert_int_equal(n, 64);
        assert_int_equal(ossl_sign(priv, msg, lens[i], theirs, sizeof theirs),
                         64);
        assert_memory_equal(ours, theirs, 64);
        assert_true(ossl_verify(pub, msg, lens[i], ours, n));
        assert_int_equal(pki_peer_verify(p, msg, lens[i], theirs, 64, &e), 0);
    }
    EVP_PKEY_free(priv);
    EVP_PKEY_free(pub);
    pki_key_free(k);
    pki_peer_free(p);
}

/* A signature OpenSSL refuses is refused here too: S + L (the same point
 * equation, S not reduced) and a flipped bit in R. */
static void test_ed25519_refusals_agree(void **state)
{
    (void)state;
    static const unsigned char order[32] = {
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
        0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0x10}; /* L, little-endian */
    pki_key *k = key("ED");
    pki_peer *p = peer("ED");
    EVP_PKEY *pub = ossl_pub("ED");
    unsigned char msg[] = "canonical bytes", sig[PKI_SIG_MAX], bad[64];
    size_t n = sizeof sig;
    err_t e = {0};
    assert_int_equal(pki_sign(k, msg, sizeof msg, sig, &n, &e), 0);
    memcpy(bad, sig, 64);
    unsigned carry = 0; /* S + L: < 2^256 since S < L < 2^253 */
    for (int i = 0; i < 32; i++, carry >>= 8)
        bad[32 + i] = (unsigned char)(carry += bad[32 + i] + order[i]);
    assert_false(ossl_verify(pub, msg, sizeof msg, bad, 64));
    assert_int_equal(pki_peer_verify(p, msg, sizeof msg, bad, 64, &e),
                     ERR_SIGNATURE);
    memcpy(bad, sig, 64);
    bad[3] ^= 0x20;
    assert_false(ossl_verify(pub, msg, sizeof msg, bad, 64));
    assert_int_equal(pki_peer_verify(p, msg, sizeof msg, bad, 64, &e),
                     ERR_SIGNATURE);
    EVP_PKEY_free(pub);
    pki_key_free(k);
    pki_peer_free(p);
}

/* ECDSA from a copied context: a fresh nonce every time (two signatures
 * of the same bytes differ), each accepted by OpenSSL afresh, and
 * OpenSSL's accepted by the peer's copied context, again and again. */
static void test_ecdsa_interop(void **state)
{
    (void)state;
    pki_key *k = key("EC");
    pki_peer *p = peer("EC");
    EVP_PKEY *priv = ossl_key("EC"), *pub = ossl_pub("EC");
    unsigned char msg[1200], a[PKI_SIG_MAX], b[PKI_SIG_MAX];
    memset(msg, 0x5a, sizeof msg);
    err_t e = {0};
    for (int i = 0; i < 20; i++) {
        size_t na = sizeof a, nb = sizeof b;
        msg[0] = (unsigned char)i;
        assert_int_equal(pki_sign(k, msg, sizeof msg, a, &na, &e), 0);
        assert_int_equal(pki_sign(k, msg, sizeof msg, b, &nb, &e), 0);
        assert_false(na == nb && memcmp(a, b, na) == 0);
        assert_true(ossl_verify(pub, msg, sizeof msg, a, na));
        assert_true(ossl_verify(pub, msg, sizeof msg, b, nb));
        nb = ossl_sign(priv, msg, sizeof msg, b, sizeof b);
        assert_int_equal(pki_peer_verify(p, msg, sizeof msg, b, nb, &e), 0);
        msg[1] ^= 1;
        assert_int_equal(pki_peer_verify(p, msg, sizeof msg, b, nb, &e),
                         ERR_SIGNATURE);
        msg[1] ^= 1;
    }
    EVP_PKEY_free(priv);
    EVP_PKEY_free(pub);
    pki_key_free(k);
    pki_peer_free(p);
}

/* A key of small order can "sign" anything; its certificate is refused
 * when loaded, saying so, not each of its signatures later. */
static void test_weak_key_refused(void **state)
{
    (void)state;
    char path[400];
    path_of(path, sizeof path, "WEAK", "crt");
    err_t e = {0};
    pki_identity id;
    time_t now = time(NULL);
    /* The certificate itself is in order: only the key is wrong. */
    char *pem = malloc(1 << 16);
    assert_non_null(pem);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(pem, 1, 1 << 16, f);
    fclose(f);
    assert_int_equal(pki_verify_cert(store, pem, n, now, &id, &e), 0);
    free(pem);
    pki_peer *p = NULL;
    assert_int_equal(pki_peer_load(store, path, now, &p, &e), ERR_INVALID);
    assert_null(p);
    assert_non_null(strstr(e.msg, "certificate for node WEAK: Ed25519 public "
                                  "key of small order"));
}

/* The key check and the algorithm are the same whichever library signs. */
static void test_key_and_alg(void **state)
{
    (void)state;
    pki_key *ed = key("ED"), *ec = key("EC");
    pki_peer *ped = peer("ED"), *pec = peer("EC");
    err_t e = {0};
    assert_int_equal(pki_key_alg(ed), PKI_ED25519);
    assert_int_equal(pki_peer_alg(ped), PKI_ED25519);
    assert_int_equal(pki_key_alg(ec), PKI_ECDSA_P256);
    assert_int_equal(pki_key_matches(ed, ped, &e), 0);
    assert_int_equal(pki_key_matches(ec, ped, &e), ERR_IDENTITY);
    unsigned char sig[PKI_SIG_MAX];
    size_t n = 63;
    assert_int_equal(pki_sign(ed, "x", 1, sig, &n, &e), ERR_TOOBIG);
    n = 71;
    assert_int_equal(pki_sign(ec, "x", 1, sig, &n, &e), ERR_TOOBIG);
    n = sizeof sig; /* an ECDSA signature checked by an Ed25519 peer */
    assert_int_equal(pki_sign(ec, "x", 1, sig, &n, &e), 0);
    assert_int_equal(pki_peer_verify(ped, "x", 1, sig, n, &e), ERR_SIGNATURE);
    pki_key_free(ed);
    pki_key_free(ec);
    pki_peer_free(ped);
    pki_peer_free(pec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_same_as_openssl),
        cmocka_unit_test(test_ed25519_refusals_agree),
        cmocka_unit_test(test_ecdsa_interop),
        cmocka_unit_test(test_weak_key_refused),
        cmocka_unit_test(test_key_and_alg),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
