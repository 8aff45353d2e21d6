/* pki_int: what the files of the pki module share. pki.c: the CA store,
 * CRLs and certificate verification, and the OpenSSL helpers every file
 * uses; pki_ident.c: the identity in a certificate's subject and SAN URIs;
 * pki_key.c: this node's key, peers and their signatures. Not for other
 * modules. */
#ifndef EPORT_PKI_INT_H
#define EPORT_PKI_INT_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

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

#endif
