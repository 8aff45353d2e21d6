/* The signed federation directory: its signature, its JSON and the
 * certificates in it, checked before anything of it is used; see fdir.h
 * and docs/pki.md ("Signed directory") for the format. */
#include "fdir.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

void fdir_doc_free(fdir_doc *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        for (size_t k = 0; k < d->m[i].nendpoints; k++)
            free(d->m[i].endpoints[k]);
        free(d->m[i].http);
        free(d->m[i].cert);
    }
    free(d->m);
    free(d->crl);
    free(d->bytes);
    free(d->sig);
    free(d);
}

const fdir_member *fdir_find(const fdir_doc *d, const char *id)
{
    for (size_t i = 0; d && i < d->n; i++)
        if (!strcmp(d->m[i].id, id))
            return &d->m[i];
    return NULL;
}

/* ---- the JSON ---- */

/* o[k] as a string, or NULL when absent or not a string. */
static const char *fdir__str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static char *fdir__dup(const char *s, size_t *len)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p)
        memcpy(p, s, n + 1);
    if (len)
        *len = n;
    return p;
}

/* A node id by the rules of docs/pki.md: 2-16 of A-Z 0-9 -, not first -. */
static int fdir__id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < PKI_NODE_MIN || n > PKI_NODE_MAX || s[0] == '-')
        return 0;
    for (; *s; s++)
        if (!isupper((unsigned char)*s) && !isdigit((unsigned char)*s) &&
            *s != '-')
            return 0;
    return 1;
}

static int fdir__region_ok(const char *s)
{
    return s && strlen(s) == 2 && isupper((unsigned char)s[0]) &&
           isupper((unsigned char)s[1]);
}

static int fdir__endpoints(fdir_member *m, const json_t *a, const char *at,
                           err_t *e)
{
    if (!json_is_array(a) || json_array_size(a) == 0 ||
        json_array_size(a) > FDIR_MAX_ENDPOINTS)
        return err_set(e, ERR_INVALID, "%s: endpoints: an array of 1 to %d "
                       "strings", at, FDIR_MAX_ENDPOINTS);
    for (size_t k = 0; k < json_array_size(a); k++) {
        const char *ep = json_string_value(json_array_get(a, k));
        if (!ep || !*ep)
            return err_set(e, ERR_INVALID, "%s: endpoints[%zu]: not a string",
                           at, k);
        if (!(m->endpoints[k] = fdir__dup(ep, NULL)))
            return err_set(e, ERR_NOMEM, "%s: out of memory", at);
        m->nendpoints = k + 1;
    }
    return 0;
}

/* The fields of one member object; at is "directory URL: nodes[i]". */
static int fdir__member(fdir_member *m, const json_t *o, const char *at,
                        err_t *e)
{
    const char *id = fdir__str(o, "id"), *region = fdir__str(o, "region");
    const char *role = fdir__str(o, "role"), *curve = fdir__str(o, "curve");
    const char *cert = fdir__str(o, "cert"), *http = fdir__str(o, "http");
    if (!fdir__id_ok(id))
        return err_set(e, ERR_INVALID, "%s: id: not a node id", at);
    if (!fdir__region_ok(region))
        return err_set(e, ERR_INVALID, "%s (%s): region: not 2 upper-case "
                       "letters", at, id);
    if (!role || (strcmp(role, "provincial") && strcmp(role, "national")))
        return err_set(e, ERR_INVALID, "%s (%s): role: provincial or "
                       "national", at, id);
    if (!curve || strlen(curve) != PKI_CURVE_Z85_LEN || !cert || !*cert)
        return err_set(e, ERR_INVALID, "%s (%s): curve (40 characters of "
                       "Z85) and cert (PEM) are required", at, id);
    snprintf(m->id, sizeof m->id, "%s", id);
    snprintf(m->region, sizeof m->region, "%s", region);
    snprintf(m->role, sizeof m->role, "%s", role);
    snprintf(m->curve, sizeof m->curve, "%s", curve);
    if (!(m->cert = fdir__dup(cert, &m->certlen)) ||
        !(m->http = fdir__dup(http ? http : "", NULL)))
        return err_set(e, ERR_NOMEM, "%s: out of memory", at);
    return fdir__endpoints(m, json_object_get(o, "endpoints"), at, e);
}

static int fdir__members(fdir_doc *d, const json_t *a, const char *where,
                         err_t *e)
{
    size_t n = json_array_size(a);
    if (!json_is_array(a) || n == 0 || n > FDIR_MAX_NODES)
        return err_set(e, ERR_INVALID, "directory %s: nodes: an array of 1 "
                       "to %d members", where, FDIR_MAX_NODES);
    if (!(d->m = calloc(n, sizeof *d->m)))
        return err_set(e, ERR_NOMEM, "directory %s: out of memory", where);
    for (size_t i = 0; i < n; i++) {
        char at[600];
        snprintf(at, sizeof at, "directory %s: nodes[%zu]", where, i);
        int rc = fdir__member(&d->m[i], json_array_get(a, i), at, e);
        d->n = i + 1;
        if (rc < 0)
            return rc;
        if (fdir_find(d, d->m[i].id) != &d->m[i])
            return err_set(e, ERR_INVALID, "%s: node %s is listed twice", at,
                           d->m[i].id);
    }
    return 0;
}

/* version, serial, issued and the CRL. */
static int fdir__head(fdir_doc *d, const json_t *root, const char *where,
                      err_t *e)
{
    const json_t *v = json_object_get(root, "version");
    const json_t *s = json_object_get(root, "serial");
    const char *issued = fdir__str(root, "issued"), *crl = fdir__str(root, "crl");
    if (!json_is_integer(v) || json_integer_value(v) != FDIR_VERSION)
        return err_set(e, ERR_UNSUPPORTED, "directory %s: version is not %d "
                       "(the only one this node reads)", where, FDIR_VERSION);
    if (!json_is_integer(s) || json_integer_value(s) <= 0)
        return err_set(e, ERR_INVALID, "directory %s: serial: a positive "
                       "integer is required", where);
    if (!issued || strlen(issued) >= sizeof d->issued || !crl || !*crl)
        return err_set(e, ERR_INVALID, "directory %s: issued (ISO time) and "
                       "crl (PEM) are required", where);
    d->serial = (uint64_t)json_integer_value(s);
    snprintf(d->issued, sizeof d->issued, "%s", issued);
    if (!(d->crl = fdir__dup(crl, &d->crllen)))
        return err_set(e, ERR_NOMEM, "directory %s: out of memory", where);
    return 0;
}

static int fdir__parse(fdir_doc *d, const char *where, err_t *e)
{
    json_error_t je;
    json_t *root = json_loadb((const char *)d->bytes, d->nbytes,
                              JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return err_set(e, ERR_SYNTAX, "directory %s:%d:%d: %s", where,
                       je.line, je.column, je.text);
    int rc = json_is_object(root)
                 ? fdir__head(d, root, where, e)
                 : err_set(e, ERR_SYNTAX, "directory %s: not a JSON object",
                           where);
    if (rc == 0)
        rc = fdir__members(d, json_object_get(root, "nodes"), where, e);
    json_decref(root);
    return rc;
}

/* ---- the certificates ---- */

/* Chain to the CA, identity and key against the entry (plain: the CA
 * alone), then revocation (crl: the CA and the directory's CRL). */
static int fdir__check_member(const pki_store *plain, const pki_store *crl,
                              fdir_member *m, time_t now, err_t *e)
{
    pki_identity id;
    int rc = pki_verify_cert(plain, m->cert, m->certlen, now, &id, e);
    if (rc == ERR_EXPIRED) {
        m->status = FDIR_EXPIRED; /* refused when used, like a file's */
        return 0;
    }
    if (rc == 0)
        rc = pki_identity_expect(&id, m->id, m->region, e);
    if (rc == 0 && strcmp(id.curve_pub, m->curve) != 0)
        rc = err_set(e, ERR_IDENTITY, "node %s: curve %s is not the "
                     "CurveZMQ key of its certificate", m->id, m->curve);
    if (rc < 0)
        return rc;
    rc = pki_verify_cert(crl, m->cert, m->certlen, now, NULL, e);
    if (rc == ERR_REVOKED)
        m->status = FDIR_REVOKED;
    return rc == ERR_REVOKED ? 0 : rc; /* ERR_CONFIG: a stale CRL */
}

static int fdir__check_all(fdir_doc *d, const char *ca_path, const char *where,
                           time_t now, err_t *e)
{
    pki_store *plain = pki_store_load(ca_path, NULL, e);
    pki_store *crl = plain ? pki_store_load(ca_path, NULL, e) : NULL;
    int rc = crl ? pki_store_add_crl_pem(crl, d->crl, d->crllen, "its CRL", e)
                 : (e ? e->code : ERR_CONFIG);
    for (size_t i = 0; rc == 0 && i < d->n; i++) {
        rc = fdir__check_member(plain, crl, &d->m[i], now, e);
        d->nrevoked += d->m[i].status == FDIR_REVOKED;
        d->nexpired += d->m[i].status == FDIR_EXPIRED;
    }
    pki_store_free(plain);
    pki_store_free(crl);
    return rc < 0 ? err_wrap(e, "directory %s", where) : 0;
}

/* ---- the whole ---- */

static int fdir__signed(fdir_doc *d, const char *ca_path, const char *where,
                        err_t *e)
{
    pki_store *ca = pki_store_load(ca_path, NULL, e);
    if (!ca)
        return err_wrap(e, "directory %s", where);
    int rc = pki_store_verify_ca_sig(ca, d->bytes, d->nbytes, d->sig, d->nsig,
                                     d->ca, sizeof d->ca, e);
    pki_store_free(ca);
    return rc < 0 ? err_wrap(e, "directory %s", where) : 0;
}

/* d's copies of the bytes and signature, and the digest of the bytes. */
static int fdir__keep(fdir_doc *d, const void *bytes, size_t n,
                      const void *sig, size_t siglen, err_t *e)
{
    d->bytes = malloc(n ? n : 1);
    d->sig = malloc(siglen ? siglen : 1);
    if (!d->bytes || !d->sig)
        return err_set(e, ERR_NOMEM, "directory: out of memory");
    memcpy(d->bytes, bytes, n);
    memcpy(d->sig, sig, siglen);
    d->nbytes = n, d->nsig = siglen;
    if (EVP_Digest(bytes, n, d->sha, NULL, EVP_sha256(), NULL) != 1)
        return err_set(e, ERR_NOMEM, "directory: SHA-256 failed");
    return 0;
}

int fdir_verify(const char *ca_path, const char *where, const void *bytes,
                size_t n, const void *sig, size_t siglen, time_t now,
                fdir_doc **out, err_t *e)
{
    *out = NULL;
    if (n > FDIR_MAX_BYTES)
        return err_set(e, ERR_TOOBIG, "directory %s: %zu bytes, more than %u",
                       where, n, FDIR_MAX_BYTES);
    if (siglen == 0 || siglen > FDIR_SIG_MAX)
        return err_set(e, ERR_SIGNATURE, "directory %s: its signature (.sig) "
                       "is %zu bytes, not a signature", where, siglen);
    fdir_doc *d = calloc(1, sizeof *d);
    if (!d)
        return err_set(e, ERR_NOMEM, "directory: out of memory");
    int rc = fdir__keep(d, bytes, n, sig, siglen, e);
    if (rc == 0)
        rc = fdir__signed(d, ca_path, where, e);
    if (rc == 0)
        rc = fdir__parse(d, where, e);
    if (rc == 0)
        rc = fdir__check_all(d, ca_path, where, now, e);
    if (rc < 0) {
        fdir_doc_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

/* The JSON step of fdir_verify alone, with no signature and no
 * certificate checked: for the fuzz target and tests only (a node must
 * never take a directory from here). */
int fdir_parse(const char *where, const void *bytes, size_t n,
               fdir_doc **out, err_t *e)
{
    *out = NULL;
    if (n > FDIR_MAX_BYTES)
        return err_set(e, ERR_TOOBIG, "directory %s: %zu bytes, more than %u",
                       where, n, FDIR_MAX_BYTES);
    fdir_doc *d = calloc(1, sizeof *d);
    if (!d)
        return err_set(e, ERR_NOMEM, "directory: out of memory");
    int rc = fdir__keep(d, bytes, n, "", 0, e);
    if (rc == 0)
        rc = fdir__parse(d, where, e);
    if (rc < 0) {
        fdir_doc_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

int fdir_newer(const fdir_doc *d, uint64_t serial, const unsigned char *sha,
               err_t *e)
{
    if (serial == 0 || d->serial > serial)
        return 1;
    if (d->serial == serial && sha && !memcmp(sha, d->sha, sizeof d->sha))
        return 0;
    if (d->serial == serial)
        return err_set(e, ERR_CONFLICT, "directory serial %" PRIu64 " is the "
                       "one in use, with other content (refused: the CA "
                       "publishes every change under a new serial)", serial);
    return err_set(e, ERR_CONFLICT, "directory serial %" PRIu64 " is older "
                   "than the one in use (%" PRIu64 ")", d->serial, serial);
}
