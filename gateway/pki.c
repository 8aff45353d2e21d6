/* pki: the CA store and its CRLs, and certificate verification: the chain
 * to a federation CA, validity, revocation, then the identity rules of
 * pki_ident.c. Also the small OpenSSL helpers the module's files share. */
#include "pki.h"
#include "pki_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct pki_store {
    X509_STORE *store;
    STACK_OF(X509) *cas; /* the same CAs, to find a CRL's signer */
};

/* ---- small helpers ---- */

const char *pki_alg_name(pki_alg a)
{
    return a == PKI_ED25519      ? "ed25519"
           : a == PKI_ECDSA_P256 ? "ecdsa-p256"
                                 : "?";
}

/* The reason of OpenSSL's last error, and an empty queue: a stale error
 * must not be reported against a later call. */
const char *pki__ossl(void)
{
    unsigned long code = ERR_peek_last_error();
    const char *r = code ? ERR_reason_error_string(code) : NULL;
    ERR_clear_error();
    return r ? r : "unknown OpenSSL error";
}

int pki__nomem(err_t *e)
{
    ERR_clear_error();
    return err_set(e, ERR_NOMEM, "pki: out of memory");
}

int pki__time(const ASN1_TIME *t, char *out, size_t cap, time_t *when)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
        snprintf(out, cap, "(unreadable date)");
        return ERR_INVALID;
    }
    strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
    if (when)
        *when = timegm(&tm);
    return 0;
}

pki_alg pki__alg(const EVP_PKEY *k)
{
    char group[32];
    if (!k)
        return 0;
    if (EVP_PKEY_is_a(k, "ED25519"))
        return PKI_ED25519;
    if (EVP_PKEY_is_a(k, "EC") &&
        EVP_PKEY_get_group_name(k, group, sizeof group, NULL) == 1 &&
        (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0))
        return PKI_ECDSA_P256;
    return 0;
}

const char *pki__type(const EVP_PKEY *k)
{
    const char *t = k ? EVP_PKEY_get0_type_name(k) : NULL;
    return t ? t : "unreadable";
}

static BIO *pki__open(const char *path, const char *what, err_t *e)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
                "%s: cannot open %s: %s", path, what, strerror(errno));
        return NULL;
    }
    BIO *b = BIO_new_fp(f, BIO_CLOSE);
    if (!b) {
        fclose(f);
        pki__nomem(e);
    }
    return b;
}

/* 1 when the PEM reader stopped only because the input has no more
 * objects, the normal end of a file holding several. */
static int pki__pem_end(void)
{
    unsigned long code = ERR_peek_last_error();
    int end = ERR_GET_LIB(code) == ERR_LIB_PEM &&
              ERR_GET_REASON(code) == PEM_R_NO_START_LINE;
    if (end)
        ERR_clear_error();
    return end;
}

/* ---- the store ---- */

static int pki__add_ca(pki_store *s, X509 *ca, const char *path, err_t *e)
{
    char name[128];
    X509_NAME_oneline(X509_get_subject_name(ca), name, sizeof name);
    if (X509_check_ca(ca) != 1) /* 1: basicConstraints CA:TRUE */
        return err_set(e, ERR_CONFIG, "%s: %s is not a CA certificate", path,
                       name);
    if (X509_self_signed(ca, 1) != 1)
        return err_set(e, ERR_CONFIG, "%s: %s is not self-signed (%s)", path,
                       name, pki__ossl());
    if (!pki__alg(X509_get0_pubkey(ca)))
        return err_set(e, ERR_UNSUPPORTED,
                       "%s: %s has a %s key (ed25519 or ecdsa-p256)", path,
                       name, pki__type(X509_get0_pubkey(ca)));
    if (X509_STORE_add_cert(s->store, ca) != 1 ||
        !X509_add_cert(s->cas, ca, X509_ADD_FLAG_UP_REF))
        return err_set(e, ERR_CONFIG, "%s: %s: %s", path, name, pki__ossl());
    return 0;
}

static int pki__load_cas(pki_store *s, const char *path, err_t *e)
{
    BIO *b = pki__open(path, "the CA certificate", e);
    if (!b)
        return e ? e->code : ERR_IO;
    int rc = 0, n = 0;
    X509 *ca;
    while (rc == 0 && (ca = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        rc = pki__add_ca(s, ca, path, e);
        X509_free(ca);
        n++;
    }
    if (rc == 0 && !pki__pem_end())
        rc = err_set(e, ERR_SYNTAX, "%s: certificate %d: %s", path, n + 1,
                     pki__ossl());
    else if (rc == 0 && n == 0)
        rc = err_set(e, ERR_SYNTAX, "%s: no PEM certificate", path);
    BIO_free(b);
    return rc;
}

pki_store *pki_store_load(const char *ca_pem_path, const char *crl_pem_path,
                          err_t *e)
{
    if (!ca_pem_path) {
        err_set(e, ERR_USAGE, "pki_store_load: no CA file");
        return NULL;
    }
    ERR_clear_error();
    pki_store *s = calloc(1, sizeof *s);
    if (!s || !(s->store = X509_STORE_new()) ||
        !(s->cas = sk_X509_new_null())) {
        pki__nomem(e);
        pki_store_free(s);
        return NULL;
    }
    /* Strict X.509 (RFC 5280 rules OpenSSL otherwise lets pass); no
     * intermediate CA is ever part of a federation chain. */
    X509_STORE_set_flags(s->store, X509_V_FLAG_X509_STRICT);
    if (pki__load_cas(s, ca_pem_path, e) < 0 ||
        (crl_pem_path && pki_store_add_crl(s, crl_pem_path, e) < 0)) {
        pki_store_free(s);
        return NULL;
    }
    return s;
}

void pki_store_free(pki_store *s)
{
    if (!s)
        return;
    X509_STORE_free(s->store);
    sk_X509_pop_free(s->cas, X509_free);
    free(s);
}

static int pki__add_one_crl(pki_store *s, X509_CRL *crl, const char *path,
                            err_t *e)
{
    const X509_NAME *issuer = X509_CRL_get_issuer(crl);
    for (int i = 0; i < sk_X509_num(s->cas); i++) {
        X509 *ca = sk_X509_value(s->cas, i);
        if (X509_NAME_cmp(issuer, X509_get_subject_name(ca)) != 0)
            continue;
        if (X509_CRL_verify(crl, X509_get0_pubkey(ca)) != 1)
            return err_set(e, ERR_CONFIG,
                           "%s: CRL signature does not verify with the CA key",
                           path);
        if (X509_STORE_add_crl(s->store, crl) != 1)
            return err_set(e, ERR_CONFIG, "%s: %s", path, pki__ossl());
        X509_STORE_set_flags(s->store, X509_V_FLAG_CRL_CHECK);
        return 0;
    }
    char name[128];
    X509_NAME_oneline(issuer, name, sizeof name);
    return err_set(e, ERR_CONFIG, "%s: CRL of %s, not of a federation CA", path,
                   name);
}

/* Every CRL of b (PEM) into s; what names the source in messages. */
static int pki__add_crls(pki_store *s, BIO *b, const char *what, err_t *e)
{
    int rc = 0, n = 0;
    X509_CRL *crl;
    while (rc == 0 && (crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL))) {
        rc = pki__add_one_crl(s, crl, what, e);
        X509_CRL_free(crl);
        n++;
    }
    if (rc == 0 && !pki__pem_end())
        rc = err_set(e, ERR_SYNTAX, "%s: CRL %d: %s", what, n + 1,
                     pki__ossl());
    else if (rc == 0 && n == 0)
        rc = err_set(e, ERR_SYNTAX, "%s: no PEM CRL", what);
    return rc;
}

int pki_store_add_crl(pki_store *s, const char *crl_path, err_t *e)
{
    if (!s || !crl_path)
        return err_set(e, ERR_USAGE, "pki_store_add_crl: missing argument");
    ERR_clear_error();
    BIO *b = pki__open(crl_path, "the CRL", e);
    if (!b)
        return e ? e->code : ERR_IO;
    int rc = pki__add_crls(s, b, crl_path, e);
    BIO_free(b);
    return rc;
}

int pki_store_add_crl_pem(pki_store *s, const char *pem, size_t len,
                          const char *what, err_t *e)
{
    if (!s || !pem || !what || len > INT_MAX)
        return err_set(e, ERR_USAGE, "pki_store_add_crl_pem: bad argument");
    ERR_clear_error();
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (!b)
        return pki__nomem(e);
    int rc = pki__add_crls(s, b, what, e);
    BIO_free(b);
    return rc;
}

const STACK_OF(X509) *pki__store_cas(const pki_store *s)
{
    return s->cas;
}

/* ---- chain, time and revocation ---- */

static const char *pki__reason_name(long r)
{
    static const char *const names[] = {
        "unspecified",     "keyCompromise",
        "cACompromise",    "affiliationChanged",
        "superseded",      "cessationOfOperation",
        "certificateHold", "?",
        "removeFromCRL",   "privilegeWithdrawn",
        "aACompromise"};
    return r >= 0 && r < (long)(sizeof names / sizeof names[0]) ? names[r]
                                                                : "?";
}

/* Where the store's CRL lists x: serial, date and reason for the message. */
static int pki__revoked(X509_STORE_CTX *ctx, X509 *x, const pki__who *who,
                        err_t *e)
{
    char serial[84] = "?", when[40] = "?", why[24] = "unspecified";
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    if (hex)
        snprintf(serial, sizeof serial, "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    STACK_OF(X509_CRL) *crls =
        X509_STORE_CTX_get1_crls(ctx, X509_get_issuer_name(x));
    X509_REVOKED *rev = NULL;
    for (int i = 0; !rev && i < sk_X509_CRL_num(crls); i++)
        if (X509_CRL_get0_by_cert(sk_X509_CRL_value(crls, i), &rev, x) != 1)
            rev = NULL;
    if (rev) {
        pki__time(X509_REVOKED_get0_revocationDate(rev), when, sizeof when,
                  NULL);
        ASN1_ENUMERATED *r =
            X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
        if (r)
            snprintf(why, sizeof why, "%s",
                     pki__reason_name(ASN1_ENUMERATED_get(r)));
        ASN1_ENUMERATED_free(r);
    }
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    ERR_clear_error();
    return err_set(e, ERR_REVOKED,
                   "%s: revoked by the federation CRL (serial 0x%s, on %s, %s)",
                   who->s, serial, when, why);
}

/* OpenSSL forgets which CRL failed once verification ends: the newest of
 * the issuer's is the one that was tried. */
static int pki__crl_problem(int err, X509_STORE_CTX *ctx, X509 *x,
                            const pki__who *who, err_t *e)
{
    char when[40] = "?";
    STACK_OF(X509_CRL) *crls =
        X509_STORE_CTX_get1_crls(ctx, X509_get_issuer_name(x));
    const ASN1_TIME *next = NULL;
    for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
        const ASN1_TIME *t =
            X509_CRL_get0_nextUpdate(sk_X509_CRL_value(crls, i));
        if (t && (!next || ASN1_TIME_compare(t, next) > 0))
            next = t;
    }
    pki__time(next, when, sizeof when, NULL);
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    ERR_clear_error();
    if (err == X509_V_ERR_CRL_HAS_EXPIRED)
        return err_set(
            e, ERR_CONFIG,
            "%s: cannot check revocation: the federation CRL expired on %s "
            "(regenerate it with deploy/pki crl, give every node the new "
            "crl.pem)",
            who->s, when);
    return err_set(e, ERR_CONFIG,
                   "%s: cannot check revocation: %s (see deploy/pki crl)",
                   who->s, X509_verify_cert_error_string(err));
}

static int pki__is_crl_error(int err)
{
    switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
        return 1;
    }
    return 0;
}

static int pki__is_issuer_error(int err)
{
    switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
        return 1;
    }
    return 0;
}

static int pki__chain_error(X509_STORE_CTX *ctx, X509 *x, const pki__who *who,
                            err_t *e)
{
    int err = X509_STORE_CTX_get_error(ctx);
    X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
    const char *whose = X509_STORE_CTX_get_error_depth(ctx) > 0
                            ? "the federation CA certificate "
                            : "";
    char when[40];
    if (err == X509_V_ERR_CERT_HAS_EXPIRED ||
        err == X509_V_ERR_CERT_NOT_YET_VALID) {
        int late = err == X509_V_ERR_CERT_HAS_EXPIRED;
        pki__time(
            cur ? (late ? X509_get0_notAfter(cur) : X509_get0_notBefore(cur))
                : NULL,
            when, sizeof when, NULL);
        return err_set(e, ERR_EXPIRED, "%s: %s%s %s", who->s, whose,
                       late ? "expired on" : "not valid before", when);
    }
    if (err == X509_V_ERR_CERT_REVOKED)
        return pki__revoked(ctx, x, who, e);
    if (pki__is_crl_error(err))
        return pki__crl_problem(err, ctx, x, who, e);
    if (pki__is_issuer_error(err))
        return err_set(e, ERR_SIGNATURE,
                       "%s: not issued by the federation CA (%s)", who->s,
                       X509_verify_cert_error_string(err));
    return err_set(e, ERR_INVALID, "%s: refused by X.509 verification: %s",
                   who->s, X509_verify_cert_error_string(err));
}

static int pki__chain(const pki_store *s, X509 *x, time_t now,
                      const pki__who *who, err_t *e)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!ctx)
        return pki__nomem(e);
    int rc = 0;
    if (X509_STORE_CTX_init(ctx, s->store, x, NULL) != 1) {
        rc = err_set(e, ERR_NOMEM, "%s: %s", who->s, pki__ossl());
    } else {
        X509_STORE_CTX_set_time(ctx, 0, now);
        if (X509_verify_cert(ctx) != 1)
            rc = pki__chain_error(ctx, x, who, e);
    }
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

/* ---- certificates ---- */

int pki__parse(const char *pem, size_t len, X509 **out, err_t *e)
{
    if (!pem)
        return err_set(e, ERR_USAGE, "pki: no certificate");
    if (len > PKI_CERT_MAX)
        return err_set(e, ERR_TOOBIG, "certificate: %zu bytes, more than %u",
                       len, PKI_CERT_MAX);
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (!b)
        return pki__nomem(e);
    *out = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!*out)
        return err_set(e, ERR_SYNTAX, "certificate: not a PEM certificate (%s)",
                       pki__ossl());
    return 0;
}

int pki__verify_x509(const pki_store *s, X509 *x, time_t now, pki_identity *out,
                     pki_alg *alg, err_t *e)
{
    pki__who who;
    pki__who_of(x, &who);
    int rc = pki__chain(s, x, now, &who, e);
    if (rc == 0)
        rc = pki__identity(x, &who, out, e);
    if (rc == 0 && !(*alg = pki__alg(X509_get0_pubkey(x))))
        rc = err_set(e, ERR_UNSUPPORTED,
                     "%s: %s key (ed25519 or ecdsa-p256 only)", who.s,
                     pki__type(X509_get0_pubkey(x)));
    if (rc < 0 && out)
        memset(out, 0, sizeof *out);
    return rc;
}

int pki_verify_cert(const pki_store *s, const char *cert_pem, size_t len,
                    time_t now, pki_identity *out, err_t *e)
{
    X509 *x = NULL;
    pki_alg alg;
    if (out)
        memset(out, 0, sizeof *out);
    if (!s)
        return err_set(e, ERR_USAGE, "pki_verify_cert: no store");
    ERR_clear_error();
    int rc = pki__parse(cert_pem, len, &x, e);
    if (rc == 0)
        rc = pki__verify_x509(s, x, now, out, &alg, e);
    X509_free(x);
    return rc;
}
