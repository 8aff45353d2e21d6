/* pki: who a peer is, proven by its certificate, and the signatures that
 * bind envelopes to it. The federation CA (deploy/pki, docs/pki.md) issues
 * each gateway node an X.509 certificate whose subject and subjectAltName
 * URIs bind three things: the node id, its region and its CurveZMQ public
 * key. This module checks such a certificate against the CA and its CRL
 * and gives back that identity; it signs with a node's own key and checks
 * a verified peer's signatures over whatever bytes the caller names (the
 * canonical bytes of envelope.h). Keys are Ed25519, or ECDSA P-256 where a
 * certificate carries one. Ed25519 signatures go through libsodium (twice
 * OpenSSL's speed here); certificates, CRLs and ECDSA through OpenSSL 3.
 *
 * A certificate is accepted only if every rule of docs/pki.md holds. Each
 * kind of refusal has its own code, and the message names the node and
 * the reason ("certificate for node SC: revoked by the federation CRL
 * (serial 0x0A40..., ...)"):
 *   ERR_SIGNATURE    not issued by the federation CA (or forged)
 *   ERR_REVOKED      listed in a loaded CRL
 *   ERR_EXPIRED      outside its validity period at `now` (or the CA is)
 *   ERR_IDENTITY     subject and SAN URIs missing, malformed or disagreeing
 *   ERR_CONFIG       revocation cannot be checked (CRL stale or missing):
 *                    a local problem, not the peer's
 *   ERR_UNSUPPORTED  a key type other than Ed25519 or ECDSA P-256
 *   ERR_SYNTAX, ERR_TOOBIG, ERR_INVALID: unreadable, too large, malformed
 *
 * Ownership: pki_store, pki_key and pki_peer are opaque, made by their
 * _load/_new function and released by their _free (NULL is fine). Once
 * made they are only read, so threads may share them; pki_store_add_crl
 * changes a store and must not run beside verifications of that store
 * (to take in a new CRL while running, load a new store and swap). */
#ifndef EPORT_PKI_H
#define EPORT_PKI_H

#include <stddef.h>
#include <time.h>

#include "err.h"

#define PKI_ORG "eport-federation" /* O of every federation certificate */
#define PKI_CN_PREFIX "eportd."    /* CN = eportd.<node id> */
#define PKI_URN_NODE "urn:eport:node:"
#define PKI_URN_REGION "urn:eport:region:"
#define PKI_URN_CURVE "urn:eport:curve:" /* + 64 lower-case hex digits */

#define PKI_NODE_MIN 2 /* node ids: 2-16 of A-Z 0-9 -, not first - */
#define PKI_NODE_MAX 16
#define PKI_CURVE_KEY_LEN 32 /* bytes of a CurveZMQ (X25519) key */
#define PKI_CURVE_Z85_LEN 40 /* its Z85 text, as libzmq takes it */
#define PKI_SIG_MAX 72       /* bytes: a DER ECDSA P-256 signature at most */
#define PKI_CERT_MAX (64u << 10) /* a PEM certificate larger is refused */

typedef enum pki_alg {
    PKI_ED25519 = 1,   /* envelope sig_alg "ed25519" */
    PKI_ECDSA_P256 = 2 /* "ecdsa-p256": SHA-256, DER signature */
} pki_alg;

/* What a verified certificate says, every field checked. */
typedef struct pki_identity {
    char node_id[64];   /* "SC" */
    char region[8];     /* "SC"; two upper-case letters */
    char curve_pub[41]; /* the node's CurveZMQ public key, Z85 + NUL */
    time_t not_after;   /* end of validity */
    char subject[256];  /* "CN=eportd.SC,OU=SC,O=eport-federation" */
} pki_identity;

typedef struct pki_store pki_store; /* trusted CA(s) and their CRLs */
typedef struct pki_key pki_key;     /* this node's private signing key */
typedef struct pki_peer pki_peer;   /* a verified certificate and its key */

/* "ed25519" / "ecdsa-p256" (the envelope's sig_alg names); "?" otherwise. */
const char *pki_alg_name(pki_alg a);

/* The CA certificate(s) of ca_pem_path (several in one file during a CA
 * rollover), each a self-signed CA with an accepted key type, and, unless
 * crl_pem_path is NULL, the CRLs of that file. With no CRL, certificates
 * are not checked for revocation (the config's pki.crl not set). NULL on
 * failure, with e filled. */
pki_store *pki_store_load(const char *ca_pem_path, const char *crl_pem_path,
                          err_t *e);
void pki_store_free(pki_store *s);

/* Add every CRL in crl_path (PEM), each checked to be signed by one of the
 * store's CAs (ERR_CONFIG otherwise). From the first CRL on, every
 * verification requires a current CRL of the issuing CA. */
int pki_store_add_crl(pki_store *s, const char *crl_path, err_t *e);

/* The same from len bytes of PEM (a CRL that came inside the signed
 * federation directory); what names them in messages. */
int pki_store_add_crl_pem(pki_store *s, const char *pem, size_t len,
                          const char *what, err_t *e);

/* 0 when sig (siglen bytes) is a signature of the n bytes of data by the
 * key of one of the store's CAs: Ed25519 over the bytes themselves, ECDSA
 * P-256 over their SHA-256 (DER), as `openssl pkeyutl -sign -rawin` and
 * `openssl dgst -sha256 -sign` make them (the signed federation
 * directory, docs/pki.md). The signing CA's subject goes to ca (cap
 * bytes; may be NULL). ERR_SIGNATURE otherwise: "signature does not
 * verify with CA <subject>". */
int pki_store_verify_ca_sig(const pki_store *s, const void *data, size_t n,
                            const unsigned char *sig, size_t siglen, char *ca,
                            size_t cap, err_t *e);

/* Verify len bytes of PEM (one certificate) at time now: chain to a CA of
 * s, validity at now (the certificate's, the CA's and the CRL's), not
 * revoked, identity rules (docs/pki.md). On success *out (may be NULL) is
 * filled; on failure it is zeroed. */
int pki_verify_cert(const pki_store *s, const char *cert_pem, size_t len,
                    time_t now, pki_identity *out, err_t *e);

/* ERR_IDENTITY unless id is node_id's certificate and, when region is not
 * NULL, for that region: "certificate is for node SN, expected SC". For
 * matching a certificate against the configured peer, or an envelope's
 * signer against the certificate that checks it. */
int pki_identity_expect(const pki_identity *id, const char *node_id,
                        const char *region, err_t *e);

/* ---- peers: a verified certificate kept with its public key ---- */

/* pki_verify_cert, keeping the result: *out is the peer (pki_peer_free). */
int pki_peer_new(const pki_store *s, const char *cert_pem, size_t len,
                 time_t now, pki_peer **out, err_t *e);
/* The same from a file (conf peers[].cert); messages start with the path. */
int pki_peer_load(const pki_store *s, const char *cert_path, time_t now,
                  pki_peer **out, err_t *e);
void pki_peer_free(pki_peer *p);

/* Verify the peer's certificate again, at now against s: a long-running
 * node does so after taking in a new CRL and as certificates near their
 * end, since a peer once verified stays so only until then. */
int pki_peer_recheck(const pki_store *s, const pki_peer *p, time_t now,
                     err_t *e);

const pki_identity *pki_peer_identity(const pki_peer *p);
pki_alg pki_peer_alg(const pki_peer *p);

/* 0 when sig (siglen bytes) is the peer's signature of the n bytes of
 * data; ERR_SIGNATURE otherwise (wrong key, altered data or signature).
 * The caller first checks that the envelope's sig_alg is
 * pki_alg_name(pki_peer_alg(p)): the key decides the algorithm. */
int pki_peer_verify(const pki_peer *p, const void *data, size_t n,
                    const unsigned char *sig, size_t siglen, err_t *e);

/* ---- this node's key ---- */

/* Load the PEM private key at key_pem_path. Refused: a file readable by
 * group or others (ERR_CONFIG: the key must be the node account's alone),
 * a passphrase-protected key (a daemon cannot ask for it), a key type
 * other than Ed25519 or ECDSA P-256. */
int pki_key_load(const char *key_pem_path, pki_key **out, err_t *e);
void pki_key_free(pki_key *k);
pki_alg pki_key_alg(const pki_key *k);

/* ERR_IDENTITY unless k is the private half of p's certificate key: a node
 * checks its pki.key against its own pki.cert at start. */
int pki_key_matches(const pki_key *k, const pki_peer *p, err_t *e);

/* Sign the n bytes of data. *siglen holds the room in sig on entry
 * (PKI_SIG_MAX always suffices; ERR_TOOBIG if less than the key needs) and
 * the signature's length on return: 64 for Ed25519, at most 72 for
 * ECDSA P-256. */
int pki_sign(const pki_key *k, const void *data, size_t n, unsigned char *sig,
             size_t *siglen, err_t *e);

#endif
