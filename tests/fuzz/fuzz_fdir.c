/* libFuzzer target for the JSON of the signed federation directory
 * (fdir_parse, the step of fdir_verify after the signature, in
 * gateway/fdir.c): bytes a node fetched from a URL. Any input must be
 * refused with a "directory " message and no document, or read. A
 * document read must keep the input's exact bytes and their SHA-256,
 * and every member must obey the rules and caps of docs/pki.md (node id,
 * region, role, a 40-character curve key, 1 to 8 endpoints, listed once).
 * Written back as JSON by jansson, it must read back to the same
 * document. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "fdir.h"

#define FUZZ_WHERE "fuzz"

static int fuzz__id_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 2 && n <= PKI_NODE_MAX && s[0] != '-' &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

static int fuzz__member_ok(const fdir_doc *d, const fdir_member *m)
{
    int ok = fuzz__id_ok(m->id) && strlen(m->region) == 2 &&
             strspn(m->region, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 2 &&
             (!strcmp(m->role, "provincial") || !strcmp(m->role, "national")) &&
             strlen(m->curve) == PKI_CURVE_Z85_LEN && m->cert &&
             m->certlen > 0 && strlen(m->cert) == m->certlen && m->http &&
             m->nendpoints >= 1 && m->nendpoints <= FDIR_MAX_ENDPOINTS &&
             m->status == FDIR_VALID && fdir_find(d, m->id) == m;
    for (size_t k = 0; ok && k < m->nendpoints; k++)
        ok = m->endpoints[k] && *m->endpoints[k];
    return ok;
}

static void fuzz__doc_ok(const fdir_doc *d, const uint8_t *data, size_t size)
{
    unsigned char sha[32];
    if (d->serial == 0 || d->serial > INT64_MAX || d->n == 0 ||
        d->n > FDIR_MAX_NODES || !d->crl || d->crllen == 0 ||
        strlen(d->crl) != d->crllen || d->nrevoked || d->nexpired ||
        d->nbytes != size || (size && memcmp(d->bytes, data, size)) ||
        d->nsig != 0 ||
        EVP_Digest(data, size, sha, NULL, EVP_sha256(), NULL) != 1 ||
        memcmp(sha, d->sha, sizeof sha))
        __builtin_trap(); /* a fuzz harness reports by crashing */
    for (size_t i = 0; i < d->n; i++)
        if (!fuzz__member_ok(d, &d->m[i]))
            __builtin_trap();
}

static json_t *fuzz__member_json(const fdir_member *m)
{
    json_t *eps = json_array();
    for (size_t k = 0; k < m->nendpoints; k++)
        json_array_append_new(eps, json_string(m->endpoints[k]));
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s}", "id", m->id,
                     "region", m->region, "role", m->role, "endpoints", eps,
                     "http", m->http, "curve", m->curve, "cert", m->cert);
}

/* d as directory.json again, NUL-terminated (free() it). */
static char *fuzz__dump(const fdir_doc *d)
{
    json_t *nodes = json_array();
    for (size_t i = 0; i < d->n; i++)
        json_array_append_new(nodes, fuzz__member_json(&d->m[i]));
    json_t *root = json_pack("{s:i, s:I, s:s, s:s, s:o}", "version",
                             FDIR_VERSION, "serial", (json_int_t)d->serial,
                             "issued", d->issued, "crl", d->crl, "nodes",
                             nodes);
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return s;
}

static int fuzz__same_member(const fdir_member *x, const fdir_member *y)
{
    int same = !strcmp(x->id, y->id) && !strcmp(x->region, y->region) &&
               !strcmp(x->role, y->role) && !strcmp(x->curve, y->curve) &&
               !strcmp(x->http, y->http) && x->certlen == y->certlen &&
               !strcmp(x->cert, y->cert) && x->nendpoints == y->nendpoints;
    for (size_t k = 0; same && k < x->nendpoints; k++)
        same = !strcmp(x->endpoints[k], y->endpoints[k]);
    return same;
}

static void fuzz__again(const fdir_doc *d)
{
    fdir_doc *back = NULL;
    err_t e;
    char *s = fuzz__dump(d);
    if (!s || fdir_parse(FUZZ_WHERE, s, strlen(s), &back, &e) != 0 ||
        back->serial != d->serial || strcmp(back->issued, d->issued) ||
        strcmp(back->crl, d->crl) || back->n != d->n)
        __builtin_trap();
    for (size_t i = 0; i < d->n; i++)
        if (!fuzz__same_member(&d->m[i], &back->m[i]))
            __builtin_trap();
    fdir_doc_free(back);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fdir_doc *d = (fdir_doc *)1; /* must be reset on every path */
    err_t e = {0};
    if (fdir_parse(FUZZ_WHERE, data, size, &d, &e) != 0) {
        if (d || strncmp(e.msg, "directory ", 10) != 0)
            __builtin_trap();
        return 0;
    }
    fuzz__doc_ok(d, data, size);
    fuzz__again(d);
    fdir_doc_free(d);
    return 0;
}
