/* pki_ca: signatures made by a federation CA's own key over bytes other
 * than certificates and CRLs: the signed federation directory
 * (docs/pki.md, "Signed directory"). Verified with OpenSSL: a directory
 * is checked once per fetch, so libsodium's speed is not needed here. */
#include "pki.h"
#include "pki_int.h"

#include <stdio.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* 1 when sig is ca's signature of data (Ed25519, or ECDSA P-256 over
 * SHA-256), 0 otherwise; a CA of another key type never verifies. */
static int pki__ca_verifies(X509 *ca, const void *data, size_t n,
                            const unsigned char *sig, size_t siglen)
{
    EVP_PKEY *k = X509_get0_pubkey(ca);
    pki_alg alg = pki__alg(k);
    if (!alg)
        return 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return 0;
    const EVP_MD *md = alg == PKI_ECDSA_P256 ? EVP_sha256() : NULL;
    int ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, k) == 1 &&
             EVP_DigestVerify(ctx, sig, siglen, data, n) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

static void pki__subject(X509 *x, char *out, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    long len = 0;
    if (b && X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
                                XN_FLAG_RFC2253) >= 0)
        len = BIO_get_mem_data(b, &p);
    snprintf(out, cap, "%.*s", p ? (int)len : 1, p ? p : "?");
    BIO_free(b);
    ERR_clear_error();
}

int pki_store_verify_ca_sig(const pki_store *s, const void *data, size_t n,
                            const unsigned char *sig, size_t siglen, char *ca,
                            size_t cap, err_t *e)
{
    if (!s || !data || !sig)
        return err_set(e, ERR_USAGE, "pki_store_verify_ca_sig: bad argument");
    const STACK_OF(X509) *cas = pki__store_cas(s);
    char name[256] = "?";
    for (int i = 0; i < sk_X509_num(cas); i++) {
        X509 *x = sk_X509_value(cas, i);
        pki__subject(x, name, sizeof name);
        if (pki__ca_verifies(x, data, n, sig, siglen)) {
            if (ca && cap)
                snprintf(ca, cap, "%s", name);
            return 0;
        }
    }
    return err_set(e, ERR_SIGNATURE, "signature does not verify with CA %s%s",
                   name, sk_X509_num(cas) > 1 ? " (nor with the other CAs)"
                                              : "");
}
