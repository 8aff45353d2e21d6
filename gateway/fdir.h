/* fdir: the signed federation directory (docs/pki.md, "Signed
 * directory"). The national center's CA publishes directory.json (every
 * member's id, region, role, endpoints, HTTP address, certificate and
 * CurveZMQ key, and the CRL) with a detached signature by the CA key,
 * directory.json.sig; `deploy/pki directory` writes both. A node fetches
 * them (fdir_fetch), checks them against the CA certificate it already
 * has (fdir_verify), refuses a rolled-back copy (fdir_newer), keeps the
 * last good one in Redis (fdir_cache_*), and then takes its members'
 * certificates and the CRL from it instead of from files (fdir_node.h).
 *
 * Every refusal says where and why: "directory file:///x/directory.json:
 * signature does not verify with CA CN=eport-federation root CA,O=...",
 * "directory serial 1700000000 is older than the one in use (1700000500)".
 *
 * Ownership: an fdir_doc is made by fdir_verify and released by
 * fdir_doc_free; once made it is only read, so threads may share it. */
#ifndef EPORT_FDIR_H
#define EPORT_FDIR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "pki.h"

#define FDIR_VERSION 1
#define FDIR_MAX_BYTES (8u << 20) /* directory.json larger is refused */
#define FDIR_SIG_MAX 512          /* bytes of directory.json.sig */
#define FDIR_MAX_NODES 1024
#define FDIR_MAX_ENDPOINTS 8      /* per member */
#define FDIR_FETCH_TIMEOUT_S 10   /* one fetch (both files), at most */

/* What the directory says of a member's certificate, as this node saw it
 * when it verified the directory. */
typedef enum fdir_status {
    FDIR_VALID = 0,
    FDIR_REVOKED,  /* listed in the directory's CRL */
    FDIR_EXPIRED   /* outside its validity period */
} fdir_status;

typedef struct fdir_member {
    char id[PKI_NODE_MAX + 1];
    char region[8];
    char role[16];                    /* provincial | national */
    char *endpoints[FDIR_MAX_ENDPOINTS];
    size_t nendpoints;
    char *http;                       /* HOST:PORT, or "" */
    char curve[PKI_CURVE_Z85_LEN + 1]; /* Z85, equal to the certificate's */
    char *cert;                       /* PEM, NUL-terminated */
    size_t certlen;
    fdir_status status;
} fdir_member;

typedef struct fdir_doc {
    uint64_t serial;      /* grows with every directory the CA publishes */
    char issued[32];      /* ISO 8601 UTC, as published */
    char ca[256];         /* subject of the CA whose key signed it */
    fdir_member *m;
    size_t n;
    size_t nrevoked, nexpired;
    char *crl;            /* PEM, NUL-terminated */
    size_t crllen;
    unsigned char *bytes; /* directory.json exactly as signed */
    size_t nbytes;
    unsigned char *sig;   /* directory.json.sig */
    size_t nsig;
    unsigned char sha[32]; /* SHA-256 of bytes */
} fdir_doc;

/* Check bytes/sig against the CA certificate(s) of ca_path at now: the
 * CA's signature over the exact bytes, then the JSON (version 1, serial,
 * members, CRL), the CRL's signature and currency, and every member's
 * certificate: issued by the CA, for that id and region, carrying that
 * CurveZMQ key. A revoked or expired member is kept, marked (its frames
 * are refused when they come); a certificate not from the CA refuses the
 * whole directory. where names the source in messages (the URL). */
int fdir_verify(const char *ca_path, const char *where, const void *bytes,
                size_t n, const void *sig, size_t siglen, time_t now,
                fdir_doc **out, err_t *e);
void fdir_doc_free(fdir_doc *d);

/* Only the JSON of bytes (version, serial, members, CRL) into *out, as
 * fdir_verify reads it once the signature holds; no signature or
 * certificate is checked and sig is empty. For the fuzz target
 * (tests/fuzz/fuzz_fdir.c) and tests: a node takes a directory only
 * from fdir_verify. */
int fdir_parse(const char *where, const void *bytes, size_t n,
               fdir_doc **out, err_t *e);

/* Whether d may replace the directory in use (serial, SHA-256 of its
 * bytes; serial 0: none in use): 1 newer, 0 the same directory,
 * ERR_CONFLICT older (a rollback) or the same serial with other bytes. */
int fdir_newer(const fdir_doc *d, uint64_t serial, const unsigned char *sha,
               err_t *e);

/* The member id, or NULL. */
const fdir_member *fdir_find(const fdir_doc *d, const char *id);

/* ---- fetching (fdir_fetch.c) ---- */

/* url (http:// or https:// through libcurl, file:// or a plain path read
 * directly) into bytes, and url + ".sig" into sig; both buffers are
 * reset first and capped by their max (buf_init). At most
 * FDIR_FETCH_TIMEOUT_S each. Thread-safe. */
int fdir_fetch(const char *url, buf_t *bytes, buf_t *sig, err_t *e);

/* ---- the last good directory in Redis (fdir_store.c) ---- */

struct store;
/* Hash v1:fdir (under the node's prefix): bytes, sig, serial. */
int fdir_cache_save(struct store *st, const fdir_doc *d, err_t *e);
/* ERR_NOTFOUND when nothing is cached. */
int fdir_cache_load(struct store *st, buf_t *bytes, buf_t *sig, err_t *e);

#endif
