#include "pki.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"

struct pki_store {
    X509_STORE *store;
    STACK_OF(X509) *cas; /* the same CAs, to find a CRL's signer */
};

struct pki_key {
    EVP_PKEY *pkey;
    pki_alg alg;
};

struct pki_peer {
    pki_identity id;
    X509 *cert; /* kept for pki_peer_recheck */
    EVP_PKEY *pkey;
    pki_alg alg;
};

/* "Who" in messages: "certificate for node SC", from claims not yet
 * checked, so cleaned of anything that could forge a log line. */
typedef struct pki__who {
    char s[96];
} pki__who;

/* The SAN URIs of a certificate, before their rules are checked. */
typedef struct pki__san {
    char node[PKI_NODE_MAX + 1];
    char region[3];
    unsigned char curve[PKI_CURVE_KEY_LEN];
    int has_node, has_region, has_curve;
} pki__san;

/* ---- small helpers ---- */

const char *pki_alg_name(pki_alg a)
{
    return a == PKI_ED25519      ? "ed25519"
           : a == PKI_ECDSA_P256 ? "ecdsa-p256"
                                 : "?";
}

/* The reason of OpenSSL's last error, and an empty queue: a stale error
 * must not be reported against a later call. */
static const char *pki__ossl(void)
{
    unsigned long code = ERR_peek_last_error();
    const char *r = code ? ERR_reason_error_string(code) : NULL;
    ERR_clear_error();
    return r ? r : "unknown OpenSSL error";
}

static int pki__nomem(err_t *e)
{
    ERR_clear_error();
    return err_set(e, ERR_NOMEM, "pki: out of memory");
}

static void pki__clean(char *dst, size_t cap, const unsigned char *src,
                       size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < cap; i++)
        dst[j++] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
    dst[j] = '\0';
}

static int pki__time(const ASN1_TIME *t, char *out, size_t cap, time_t *when)
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

static pki_alg pki__alg(const EVP_PKEY *k)
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

static const char *pki__type(const EVP_PKEY *k)
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

int pki_store_add_crl(pki_store *s, const char *crl_path, err_t *e)
{
    if (!s || !crl_path)
        return err_set(e, ERR_USAGE, "pki_store_add_crl: missing argument");
    ERR_clear_error();
    BIO *b = pki__open(crl_path, "the CRL", e);
    if (!b)
        return e ? e->code : ERR_IO;
    int rc = 0, n = 0;
    X509_CRL *crl;
    while (rc == 0 && (crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL))) {
        rc = pki__add_one_crl(s, crl, crl_path, e);
        X509_CRL_free(crl);
        n++;
    }
    if (rc == 0 && !pki__pem_end())
        rc = err_set(e, ERR_SYNTAX, "%s: CRL %d: %s", crl_path, n + 1,
                     pki__ossl());
    else if (rc == 0 && n == 0)
        rc = err_set(e, ERR_SYNTAX, "%s: no PEM CRL", crl_path);
    BIO_free(b);
    return rc;
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

/* ---- identity: SAN URIs and subject ---- */

static int pki__hex_key(const char *h, size_t n,
                        unsigned char out[PKI_CURVE_KEY_LEN])
{
    static const char digits[] = "0123456789abcdef";
    if (n != 2 * PKI_CURVE_KEY_LEN)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *d = memchr(digits, h[i], 16);
        if (!d)
            return -1;
        unsigned v = (unsigned)(d - digits);
        out[i / 2] = (unsigned char)(i % 2 ? out[i / 2] | v : v << 4);
    }
    return 0;
}

static int pki__node_ok(const char *s, size_t n)
{
    if (n < PKI_NODE_MIN || n > PKI_NODE_MAX || s[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-'))
            return 0;
    return 1;
}

static int pki__region_ok(const char *s, size_t n)
{
    return n == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

/* One urn:eport: URI into san; other URIs and names are left alone so
 * that later certificates may carry more. */
static int pki__san_uri(const char *u, size_t n, pki__san *san,
                        const pki__who *who, err_t *e)
{
    const size_t ln = strlen(PKI_URN_NODE), lr = strlen(PKI_URN_REGION),
                 lc = strlen(PKI_URN_CURVE);
    int *seen = NULL;
    const char *kind = NULL;
    if (n > ln && memcmp(u, PKI_URN_NODE, ln) == 0) {
        seen = &san->has_node;
        kind = "node";
        if (!pki__node_ok(u + ln, n - ln))
            return err_set(e, ERR_IDENTITY,
                           "%s: SAN node id is not 2-16 of A-Z 0-9 -", who->s);
        memcpy(san->node, u + ln, n - ln);
        san->node[n - ln] = '\0';
    } else if (n > lr && memcmp(u, PKI_URN_REGION, lr) == 0) {
        seen = &san->has_region;
        kind = "region";
        if (!pki__region_ok(u + lr, n - lr))
            return err_set(e, ERR_IDENTITY,
                           "%s: SAN region is not two upper-case letters",
                           who->s);
        memcpy(san->region, u + lr, 2);
        san->region[2] = '\0';
    } else if (n > lc && memcmp(u, PKI_URN_CURVE, lc) == 0) {
        seen = &san->has_curve;
        kind = "CurveZMQ key";
        if (pki__hex_key(u + lc, n - lc, san->curve) < 0)
            return err_set(
                e, ERR_IDENTITY,
                "%s: SAN CurveZMQ key is not 64 lower-case hex digits", who->s);
    } else {
        return 0;
    }
    if ((*seen)++)
        return err_set(e, ERR_IDENTITY, "%s: more than one SAN %s URI", who->s,
                       kind);
    return 0;
}

static int pki__san_read(X509 *x, pki__san *san, const pki__who *who, err_t *e)
{
    int crit = 0;
    GENERAL_NAMES *names =
        X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
    if (!names)
        return err_set(e, ERR_IDENTITY, "%s: %s", who->s,
                       crit == -2 ? "more than one subjectAltName extension"
                                  : "no subjectAltName with the node's URIs");
    int rc = 0;
    for (int i = 0; rc == 0 && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type != GEN_URI)
            continue;
        const char *u =
            (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
        size_t n = (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier);
        rc = memchr(u, '\0', n) ? err_set(e, ERR_IDENTITY,
                                          "%s: SAN URI with a NUL byte", who->s)
                                : pki__san_uri(u, n, san, who, e);
    }
    GENERAL_NAMES_free(names);
    ERR_clear_error();
    if (rc == 0 && !(san->has_node && san->has_region && san->has_curve))
        rc = err_set(e, ERR_IDENTITY, "%s: no SAN %s URI", who->s,
                     !san->has_node     ? PKI_URN_NODE
                     : !san->has_region ? PKI_URN_REGION
                                        : PKI_URN_CURVE);
    return rc;
}

/* The one entry nid of the subject, as text; -1 if absent or repeated. */
static int pki__name_entry(X509 *x, int nid, char *out, size_t cap)
{
    const X509_NAME *name = X509_get_subject_name(x);
    int i = X509_NAME_get_index_by_NID(name, nid, -1);
    if (i < 0 || X509_NAME_get_index_by_NID(name, nid, i) >= 0)
        return -1;
    const ASN1_STRING *d =
        X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    size_t n = (size_t)ASN1_STRING_length(d);
    const unsigned char *p = ASN1_STRING_get0_data(d);
    if (n >= cap || memchr(p, '\0', n))
        return -1;
    pki__clean(out, cap, p, n);
    return 0;
}

static int pki__subject_check(X509 *x, const pki__san *san, const pki__who *who,
                              err_t *e)
{
    char o[64], ou[64], cn[64], want[64];
    if (pki__name_entry(x, NID_organizationName, o, sizeof o) < 0 ||
        strcmp(o, PKI_ORG) != 0)
        return err_set(e, ERR_IDENTITY, "%s: subject needs exactly one O=%s",
                       who->s, PKI_ORG);
    if (pki__name_entry(x, NID_organizationalUnitName, ou, sizeof ou) < 0)
        return err_set(e, ERR_IDENTITY,
                       "%s: subject needs exactly one OU (the region)", who->s);
    if (strcmp(ou, san->region) != 0)
        return err_set(e, ERR_IDENTITY,
                       "%s: region OU '%s' does not match SAN region '%s'",
                       who->s, ou, san->region);
    snprintf(want, sizeof want, "%s%s", PKI_CN_PREFIX, san->node);
    if (pki__name_entry(x, NID_commonName, cn, sizeof cn) < 0)
        return err_set(e, ERR_IDENTITY, "%s: subject needs exactly one CN (%s)",
                       who->s, want);
    if (strcmp(cn, want) != 0)
        return err_set(e, ERR_IDENTITY,
                       "%s: CN '%s' does not match SAN node '%s' (%s)", who->s,
                       cn, san->node, want);
    return 0;
}

/* A node certificate signs and links, and issues nothing. */
static int pki__usage_check(X509 *x, const pki__who *who, err_t *e)
{
    const uint32_t both = XKU_SSL_CLIENT | XKU_SSL_SERVER;
    if (X509_check_ca(x) != 0)
        return err_set(e, ERR_IDENTITY, "%s: is a CA certificate, not a node's",
                       who->s);
    if (!(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE))
        return err_set(e, ERR_IDENTITY, "%s: key usage lacks digitalSignature",
                       who->s);
    if ((X509_get_extended_key_usage(x) & both) != both)
        return err_set(e, ERR_IDENTITY,
                       "%s: extended key usage lacks clientAuth and serverAuth",
                       who->s);
    return 0;
}

/* Z85 (ZeroMQ RFC 32): 4 bytes big-endian to 5 base-85 digits. */
static void pki__z85(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
        "RSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    for (size_t i = 0; i < n; i += 4, out += 5) {
        uint32_t v = (uint32_t)in[i] << 24 | (uint32_t)in[i + 1] << 16 |
                     (uint32_t)in[i + 2] << 8 | in[i + 3];
        for (int j = 4; j >= 0; j--, v /= 85)
            out[j] = digits[v % 85];
    }
    *out = '\0';
}

static void pki__who_of(X509 *x, pki__who *who)
{
    pki__san san = {0};
    pki__who quiet = {"certificate"};
    char subject[128], clean[80];
    if (pki__san_read(x, &san, &quiet, NULL) == 0 || san.has_node) {
        snprintf(who->s, sizeof who->s, "certificate for node %s", san.node);
        return;
    }
    X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof subject);
    pki__clean(clean, sizeof clean, (const unsigned char *)subject,
               strlen(subject));
    snprintf(who->s, sizeof who->s, "certificate %s", clean);
}

static int pki__identity(X509 *x, const pki__who *who, pki_identity *out,
                         err_t *e)
{
    pki__san san = {0};
    int rc = pki__san_read(x, &san, who, e);
    if (rc == 0)
        rc = pki__subject_check(x, &san, who, e);
    if (rc == 0)
        rc = pki__usage_check(x, who, e);
    if (rc < 0 || !out)
        return rc;
    snprintf(out->node_id, sizeof out->node_id, "%s", san.node);
    snprintf(out->region, sizeof out->region, "%s", san.region);
    pki__z85(san.curve, sizeof san.curve, out->curve_pub);
    char when[40];
    pki__time(X509_get0_notAfter(x), when, sizeof when, &out->not_after);
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return pki__nomem(e);
    X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
    int n = BIO_read(b, out->subject, (int)sizeof out->subject - 1);
    out->subject[n > 0 ? n : 0] = '\0';
    BIO_free(b);
    return 0;
}

/* ---- certificates ---- */

static int pki__parse(const char *pem, size_t len, X509 **out, err_t *e)
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

static int pki__verify_x509(const pki_store *s, X509 *x, time_t now,
                            pki_identity *out, pki_alg *alg, err_t *e)
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

int pki_identity_expect(const pki_identity *id, const char *node_id,
                        const char *region, err_t *e)
{
    if (!id || !node_id)
        return err_set(e, ERR_USAGE, "pki_identity_expect: missing argument");
    if (strcmp(id->node_id, node_id) != 0)
        return err_set(e, ERR_IDENTITY,
                       "certificate is for node %s, expected %s", id->node_id,
                       node_id);
    if (region && strcmp(id->region, region) != 0)
        return err_set(e, ERR_IDENTITY,
                       "certificate for node %s: region %s, expected %s",
                       id->node_id, id->region, region);
    return 0;
}

/* ---- peers ---- */

int pki_peer_new(const pki_store *s, const char *cert_pem, size_t len,
                 time_t now, pki_peer **out, err_t *e)
{
    if (!s || !out)
        return err_set(e, ERR_USAGE, "pki_peer_new: missing argument");
    *out = NULL;
    ERR_clear_error();
    pki_peer *p = calloc(1, sizeof *p);
    if (!p)
        return pki__nomem(e);
    int rc = pki__parse(cert_pem, len, &p->cert, e);
    if (rc == 0)
        rc = pki__verify_x509(s, p->cert, now, &p->id, &p->alg, e);
    if (rc == 0 && !(p->pkey = X509_get_pubkey(p->cert)))
        rc = pki__nomem(e);
    if (rc < 0)
        pki_peer_free(p);
    else
        *out = p;
    return rc;
}

static int pki__read_file(const char *path, size_t max, buf_t *b, err_t *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
                       "%s: cannot open: %s", path, strerror(errno));
    char chunk[4096];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = buf_add(b, chunk, n);
    if (rc == 0 && ferror(f))
        rc = err_set(e, ERR_IO, "%s: read error", path);
    else if (rc == ERR_TOOBIG)
        err_set(e, rc, "%s: more than %zu bytes", path, max);
    else if (rc < 0)
        pki__nomem(e);
    fclose(f);
    return rc;
}

int pki_peer_load(const pki_store *s, const char *cert_path, time_t now,
                  pki_peer **out, err_t *e)
{
    if (!s || !cert_path || !out)
        return err_set(e, ERR_USAGE, "pki_peer_load: missing argument");
    *out = NULL;
    buf_t b;
    buf_init(&b, PKI_CERT_MAX);
    int rc = pki__read_file(cert_path, PKI_CERT_MAX, &b, e);
    if (rc == 0 &&
        (rc = pki_peer_new(s, b.p ? b.p : "", b.len, now, out, e)) < 0)
        err_wrap(e, "%s", cert_path);
    buf_free(&b);
    return rc;
}

void pki_peer_free(pki_peer *p)
{
    if (!p)
        return;
    EVP_PKEY_free(p->pkey);
    X509_free(p->cert);
    free(p);
}

int pki_peer_recheck(const pki_store *s, const pki_peer *p, time_t now,
                     err_t *e)
{
    pki_alg alg;
    if (!s || !p)
        return err_set(e, ERR_USAGE, "pki_peer_recheck: missing argument");
    ERR_clear_error();
    return pki__verify_x509(s, p->cert, now, NULL, &alg, e);
}

const pki_identity *pki_peer_identity(const pki_peer *p)
{
    return p ? &p->id : NULL;
}

pki_alg pki_peer_alg(const pki_peer *p)
{
    return p ? p->alg : 0;
}

/* ECDSA signs a SHA-256 digest; Ed25519 the message itself (no digest). */
static const EVP_MD *pki__md(pki_alg alg)
{
    return alg == PKI_ECDSA_P256 ? EVP_sha256() : NULL;
}

int pki_peer_verify(const pki_peer *p, const void *data, size_t n,
                    const unsigned char *sig, size_t siglen, err_t *e)
{
    if (!p || (!data && n) || !sig)
        return err_set(e, ERR_USAGE, "pki_peer_verify: missing argument");
    if (p->alg == PKI_ED25519 ? siglen != 64
                              : (siglen < 8 || siglen > PKI_SIG_MAX))
        return err_set(e, ERR_SIGNATURE,
                       "signature by node %s: %zu bytes, not a %s signature",
                       p->id.node_id, siglen, pki_alg_name(p->alg));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return pki__nomem(e);
    const EVP_MD *md = pki__md(p->alg);
    const void *msg = data ? data : "";
    int ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, p->pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, siglen, msg, n) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    if (!ok)
        return err_set(e, ERR_SIGNATURE,
                       "signature by node %s does not verify (%s): data "
                       "altered, or not signed with this node's key",
                       p->id.node_id, pki_alg_name(p->alg));
    return 0;
}

/* ---- this node's key ---- */

/* No passphrase prompt: a daemon has no terminal to read one from. */
static int pki__no_pass(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

static int pki__key_read(FILE *f, const char *path, pki_key *k, err_t *e)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0)
        return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return err_set(
            e, ERR_CONFIG,
            "%s: private key open to group or others (mode %04o): chmod 600 it",
            path, (unsigned)(st.st_mode & 07777));
    k->pkey = PEM_read_PrivateKey(f, NULL, pki__no_pass, NULL);
    if (!k->pkey)
        return err_set(e, ERR_SYNTAX,
                       "%s: not an unencrypted PEM private key (%s)", path,
                       pki__ossl());
    if (!(k->alg = pki__alg(k->pkey)))
        return err_set(e, ERR_UNSUPPORTED,
                       "%s: %s key (ed25519 or ecdsa-p256 only)", path,
                       pki__type(k->pkey));
    return 0;
}

int pki_key_load(const char *key_pem_path, pki_key **out, err_t *e)
{
    if (!key_pem_path || !out)
        return err_set(e, ERR_USAGE, "pki_key_load: missing argument");
    *out = NULL;
    ERR_clear_error();
    FILE *f = fopen(key_pem_path, "r");
    if (!f)
        return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
                       "%s: cannot open: %s", key_pem_path, strerror(errno));
    pki_key *k = calloc(1, sizeof *k);
    int rc = k ? pki__key_read(f, key_pem_path, k, e) : pki__nomem(e);
    fclose(f);
    if (rc < 0)
        pki_key_free(k);
    else
        *out = k;
    return rc;
}

void pki_key_free(pki_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

pki_alg pki_key_alg(const pki_key *k)
{
    return k ? k->alg : 0;
}

int pki_key_matches(const pki_key *k, const pki_peer *p, err_t *e)
{
    if (!k || !p)
        return err_set(e, ERR_USAGE, "pki_key_matches: missing argument");
    int eq = EVP_PKEY_eq(k->pkey, p->pkey);
    ERR_clear_error();
    if (eq != 1)
        return err_set(
            e, ERR_IDENTITY,
            "the private key is not the key of node %s's certificate",
            p->id.node_id);
    return 0;
}

int pki_sign(const pki_key *k, const void *data, size_t n, unsigned char *sig,
             size_t *siglen, err_t *e)
{
    if (!k || (!data && n) || !sig || !siglen)
        return err_set(e, ERR_USAGE, "pki_sign: missing argument");
    ERR_clear_error();
    size_t need = (size_t)EVP_PKEY_get_size(k->pkey);
    if (*siglen < need)
        return err_set(e, ERR_TOOBIG,
                       "pki_sign: %zu bytes of room, a %s signature needs %zu",
                       *siglen, pki_alg_name(k->alg), need);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return pki__nomem(e);
    const EVP_MD *md = pki__md(k->alg);
    const void *msg = data ? data : "";
    int ok = EVP_DigestSignInit(ctx, NULL, md, NULL, k->pkey) == 1 &&
             EVP_DigestSign(ctx, sig, siglen, msg, n) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return err_set(e, ERR_INVALID, "pki_sign: %s signing failed: %s",
                       pki_alg_name(k->alg), pki__ossl());
    return 0;
}
