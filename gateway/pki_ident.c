/* pki_ident: the identity a node certificate carries, its SAN URIs (node,
 * region, CurveZMQ key), subject and key usage checked against one another
 * by the rules of docs/pki.md; the CurveZMQ key given back as Z85. */
#include "pki.h"
#include "pki_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* The SAN URIs of a certificate, before their rules are checked. */
typedef struct pki__san {
    char node[PKI_NODE_MAX + 1];
    char region[3];
    unsigned char curve[PKI_CURVE_KEY_LEN];
    int has_node, has_region, has_curve;
} pki__san;

/* Certificate text made printable, anything else '?': a claim not yet
 * checked must not forge a log line. */
static void pki__clean(char *dst, size_t cap, const unsigned char *src,
                       size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < cap; i++)
        dst[j++] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
    dst[j] = '\0';
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

/* ERR_IDENTITY when a SAN URI of this kind came before: two node ids (or
 * regions, or keys) in one certificate leave it unclear which is meant. */
static int pki__san_once(int *seen, const char *kind, const pki__who *who,
                         err_t *e)
{
    if ((*seen)++)
        return err_set(e, ERR_IDENTITY, "%s: more than one SAN %s URI", who->s,
                       kind);
    return 0;
}

/* The value v (n bytes) of a urn:eport:node: URI. */
static int pki__san_node(const char *v, size_t n, pki__san *san,
                         const pki__who *who, err_t *e)
{
    if (!pki__node_ok(v, n))
        return err_set(e, ERR_IDENTITY,
                       "%s: SAN node id is not 2-16 of A-Z 0-9 -", who->s);
    memcpy(san->node, v, n);
    san->node[n] = '\0';
    return pki__san_once(&san->has_node, "node", who, e);
}

static int pki__san_region(const char *v, size_t n, pki__san *san,
                           const pki__who *who, err_t *e)
{
    if (!pki__region_ok(v, n))
        return err_set(e, ERR_IDENTITY,
                       "%s: SAN region is not two upper-case letters", who->s);
    memcpy(san->region, v, 2);
    san->region[2] = '\0';
    return pki__san_once(&san->has_region, "region", who, e);
}

static int pki__san_curve(const char *v, size_t n, pki__san *san,
                          const pki__who *who, err_t *e)
{
    if (pki__hex_key(v, n, san->curve) < 0)
        return err_set(e, ERR_IDENTITY,
                       "%s: SAN CurveZMQ key is not 64 lower-case hex digits",
                       who->s);
    return pki__san_once(&san->has_curve, "CurveZMQ key", who, e);
}

/* The urn:eport: URIs a certificate's SAN carries, each with the function
 * that checks its value and keeps it in a pki__san. */
static const struct {
    const char *prefix;
    int (*take)(const char *v, size_t n, pki__san *san, const pki__who *who,
                err_t *e);
} pki__urns[] = {
    {PKI_URN_NODE, pki__san_node},
    {PKI_URN_REGION, pki__san_region},
    {PKI_URN_CURVE, pki__san_curve},
};

/* One urn:eport: URI into san; other URIs and names are left alone so
 * that later certificates may carry more. */
static int pki__san_uri(const char *u, size_t n, pki__san *san,
                        const pki__who *who, err_t *e)
{
    for (size_t i = 0; i < sizeof pki__urns / sizeof pki__urns[0]; i++) {
        size_t lp = strlen(pki__urns[i].prefix);
        if (n > lp && memcmp(u, pki__urns[i].prefix, lp) == 0)
            return pki__urns[i].take(u + lp, n - lp, san, who, e);
    }
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

void pki__who_of(X509 *x, pki__who *who)
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

int pki__identity(X509 *x, const pki__who *who, pki_identity *out, err_t *e)
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
