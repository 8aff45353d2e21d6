/* pki_int: what the files of the pki module share. pki.c: the CA store,
 * CRLs and certificate verification, and the OpenSSL helpers every file
 * uses; pki_ident.c: the identity in a certificate's subject and SAN URIs;
 * pki_key.c: this node's key and peers; pki_sig.c: the signatures, with
 * libsodium (Ed25519) or OpenSSL (ECDSA P-256). Not for other modules. */
#ifndef EPORT_PKI_INT_H
#define EPORT_PKI_INT_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "err.h"
#include "pki.h"

/* "Who" in messages: "certificate for node SC", from claims not yet
 * checked, so cleaned of anything that could forge a log line. */
typedef struct pki__who {
    char s[96];
} pki__who;

/* ---- pki.c: helpers ---- */

/* The reason of OpenSSL's last error; the error queue is left empty. */
const char *pki__ossl(void);
/* ERR_NOMEM, "pki: out of memory", the OpenSSL error queue emptied. */
int pki__nomem(err_t *e);
/* t as "YYYY-MM-DD HH:MM:SS UTC" into out, and into *when unless NULL;
 * ERR_INVALID (out says "(unreadable date)") when t is NULL or bad. */
int pki__time(const ASN1_TIME *t, char *out, size_t cap, time_t *when);
/* The accepted algorithm of key k; 0 for any other key (or NULL). */
pki_alg pki__alg(const EVP_PKEY *k);
/* k's type name for messages ("RSA"), "unreadable" if none. */
const char *pki__type(const EVP_PKEY *k);

/* The store's CA certificates (borrowed, valid while s is). */
const STACK_OF(X509) *pki__store_cas(const pki_store *s);

/* ---- pki.c: certificates ---- */

/* One PEM certificate of len bytes (at most PKI_CERT_MAX) into *out. */
int pki__parse(const char *pem, size_t len, X509 **out, err_t *e);
/* Chain, validity and revocation at now, then identity and key type: the
 * whole of pki_verify_cert on a parsed x. *out (may be NULL) is zeroed on
 * failure; *alg is the key's algorithm on success. */
int pki__verify_x509(const pki_store *s, X509 *x, time_t now, pki_identity *out,
                     pki_alg *alg, err_t *e);

/* ---- pki_ident.c ---- */

/* "Who" x is for messages, from its SAN node URI when readable, else its
 * subject; never fails. */
void pki__who_of(X509 *x, pki__who *who);
/* The identity rules of docs/pki.md (SAN URIs, subject, key usage) on x,
 * and, when out is not NULL, the identity they give. */
int pki__identity(X509 *x, const pki__who *who, pki_identity *out, err_t *e);

/* ---- pki_sig.c ---- */

/* What signing with one key needs, made at load so that a signature is
 * only the signing: libsodium's Ed25519 secret key (seed and public key),
 * or an OpenSSL ECDSA context initialised once and copied per call.
 * Only read once made, so threads may share it. */
typedef struct pki__signer {
    pki_alg alg;
    size_t sig_max; /* bytes a signature may take */
    unsigned char ed_sk[crypto_sign_ed25519_SECRETKEYBYTES]; /* secret */
    EVP_MD_CTX *ec;
} pki__signer;

/* The same for checking a peer's signatures. */
typedef struct pki__verifier {
    pki_alg alg;
    unsigned char ed_pk[crypto_sign_ed25519_PUBLICKEYBYTES];
    EVP_MD_CTX *ec;
} pki__verifier;

/* s or v for key k (borrowed: the ECDSA context keeps its own reference)
 * of algorithm alg; on failure ERR_INVALID, e saying why without naming
 * the key's owner (the caller wraps it), and the _clear function is still
 * to be called. */
int pki__signer_init(pki__signer *s, EVP_PKEY *k, pki_alg alg, err_t *e);
int pki__verifier_init(pki__verifier *v, EVP_PKEY *k, pki_alg alg, err_t *e);
/* Frees what init made; the signer's secret key is wiped. NULL is fine. */
void pki__signer_clear(pki__signer *s);
void pki__verifier_clear(pki__verifier *v);

/* Sign n bytes of msg into sig; *siglen holds its room on entry (at least
 * s->sig_max) and the signature's length on return. -1 on failure
 * (OpenSSL's error queue says why). */
int pki__sign(const pki__signer *s, const unsigned char *msg, size_t n,
              unsigned char *sig, size_t *siglen);
/* 1 when sig is a valid signature of msg by v's key, 0 otherwise. */
int pki__verify(const pki__verifier *v, const unsigned char *msg, size_t n,
                const unsigned char *sig, size_t siglen);

#endif
