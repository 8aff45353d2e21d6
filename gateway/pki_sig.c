/* pki_sig: the signing and verification itself. Ed25519 goes through
 * libsodium, which signs and verifies about twice as fast as OpenSSL 3's
 * EVP interface (docs/pki.md), on raw keys taken out of OpenSSL's at load;
 * OpenSSL keeps the files, certificates and ECDSA P-256. ECDSA contexts
 * are initialised once per key and copied per call: initialising one
 * fetches algorithms from the provider every time. */
#include "pki.h"
#include "pki_int.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

/* libsodium picks its implementations once; later calls return at once,
 * and it is safe from several threads. Called where keys are loaded, so
 * it has run before anything signs or verifies. */
static int pki__sodium(err_t *e)
{
    if (sodium_init() < 0)
        return err_set(e, ERR_INVALID, "pki: libsodium cannot initialise");
    return 0;
}

/* A DigestSign (sign) or DigestVerify context of k with SHA-256, ready to
 * be copied; NULL on failure, the OpenSSL error queue left for the caller. */
static EVP_MD_CTX *pki__ec_ctx(EVP_PKEY *k, int sign)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && (sign ? EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, k)
                        : EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL,
                                               k)) == 1;
    if (!ok) {
        EVP_MD_CTX_free(c);
        return NULL;
    }
    return c;
}

/* ---- signing ---- */

/* libsodium's secret key is the 32-byte seed OpenSSL stores followed by
 * the public key, which it derives; OpenSSL's own public key must agree. */
static int pki__ed_secret(pki__signer *s, EVP_PKEY *k, err_t *e)
{
    unsigned char seed[crypto_sign_ed25519_SEEDBYTES];
    unsigned char pk[crypto_sign_ed25519_PUBLICKEYBYTES];
    unsigned char want[sizeof pk];
    size_t ns = sizeof seed, np = sizeof want;
    int rc = 0;
    if (EVP_PKEY_get_raw_private_key(k, seed, &ns) != 1 || ns != sizeof seed ||
        EVP_PKEY_get_raw_public_key(k, want, &np) != 1 || np != sizeof want)
        rc = err_set(e, ERR_INVALID, "Ed25519 key unreadable (%s)",
                     pki__ossl());
    else if (crypto_sign_ed25519_seed_keypair(pk, s->ed_sk, seed) != 0 ||
             sodium_memcmp(pk, want, sizeof pk) != 0)
        rc = err_set(e, ERR_INVALID,
                     "Ed25519 key: libsodium derives another public key");
    sodium_memzero(seed, sizeof seed);
    return rc;
}

int pki__signer_init(pki__signer *s, EVP_PKEY *k, pki_alg alg, err_t *e)
{
    memset(s, 0, sizeof *s);
    s->alg = alg;
    s->sig_max = alg == PKI_ED25519 ? crypto_sign_ed25519_BYTES
                                    : (size_t)EVP_PKEY_get_size(k);
    if (alg == PKI_ED25519) {
        int rc = pki__sodium(e);
        return rc < 0 ? rc : pki__ed_secret(s, k, e);
    }
    if (!(s->ec = pki__ec_ctx(k, 1)))
        return err_set(e, ERR_INVALID, "ECDSA key cannot sign (%s)",
                       pki__ossl());
    return 0;
}

void pki__signer_clear(pki__signer *s)
{
    if (!s)
        return;
    EVP_MD_CTX_free(s->ec);
    sodium_memzero(s, sizeof *s);
}

int pki__sign(const pki__signer *s, const unsigned char *msg, size_t n,
              unsigned char *sig, size_t *siglen)
{
    if (s->alg == PKI_ED25519) {
        unsigned long long len = 0;
        crypto_sign_ed25519_detached(sig, &len, msg, n, s->ed_sk);
        *siglen = (size_t)len;
        return 0;
    }
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_MD_CTX_copy_ex(c, s->ec) == 1 &&
             EVP_DigestSign(c, sig, siglen, msg, n) == 1;
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

/* ---- verification ---- */

/* libsodium refuses every signature by a public key of small order or not
 * canonically encoded (no honest key is either, and for such a key anyone
 * can make signatures OpenSSL accepts): a certificate with one is refused
 * here, plainly, not each of its signatures later. pk_to_curve25519 makes
 * exactly those checks. */
static int pki__ed_public(pki__verifier *v, EVP_PKEY *k, err_t *e)
{
    unsigned char x[crypto_scalarmult_curve25519_BYTES];
    size_t n = sizeof v->ed_pk;
    if (EVP_PKEY_get_raw_public_key(k, v->ed_pk, &n) != 1 ||
        n != sizeof v->ed_pk)
        return err_set(e, ERR_INVALID, "Ed25519 public key unreadable (%s)",
                       pki__ossl());
    if (crypto_sign_ed25519_pk_to_curve25519(x, v->ed_pk) != 0)
        return err_set(e, ERR_INVALID,
                       "Ed25519 public key of small order or not canonical");
    return 0;
}

int pki__verifier_init(pki__verifier *v, EVP_PKEY *k, pki_alg alg, err_t *e)
{
    memset(v, 0, sizeof *v);
    v->alg = alg;
    if (alg == PKI_ED25519) {
        int rc = pki__sodium(e);
        return rc < 0 ? rc : pki__ed_public(v, k, e);
    }
    if (!(v->ec = pki__ec_ctx(k, 0)))
        return err_set(e, ERR_INVALID, "ECDSA key cannot verify (%s)",
                       pki__ossl());
    return 0;
}

void pki__verifier_clear(pki__verifier *v)
{
    if (!v)
        return;
    EVP_MD_CTX_free(v->ec);
    memset(v, 0, sizeof *v);
}

int pki__verify(const pki__verifier *v, const unsigned char *msg, size_t n,
                const unsigned char *sig, size_t siglen)
{
    if (v->alg == PKI_ED25519)
        return siglen == crypto_sign_ed25519_BYTES &&
               crypto_sign_ed25519_verify_detached(sig, msg, n, v->ed_pk) == 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_MD_CTX_copy_ex(c, v->ec) == 1 &&
             EVP_DigestVerify(c, sig, siglen, msg, n) == 1;
    EVP_MD_CTX_free(c);
    ERR_clear_error();
    return ok;
}
