/* pki_key: this node's private key (loaded, checked, signing) and peers,
 * verified certificates kept with their public keys to check signatures;
 * the signatures themselves are pki_sig.c's. */
#include "pki.h"
#include "pki_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"

struct pki_key {
    EVP_PKEY *pkey; /* for pki_key_matches */
    pki_alg alg;
    pki__signer sign;
};

struct pki_peer {
    pki_identity id;
    X509 *cert; /* kept for pki_peer_recheck */
    EVP_PKEY *pkey;
    pki_alg alg;
    pki__verifier verify;
};

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
    if (rc == 0 && (rc = pki__verifier_init(&p->verify, p->pkey, p->alg, e)))
        err_wrap(e, "certificate for node %s", p->id.node_id);
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
    pki__verifier_clear(&p->verify);
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
    const unsigned char *msg = data ? data : (const unsigned char *)"";
    if (!pki__verify(&p->verify, msg, n, sig, siglen))
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
    int rc = pki__signer_init(&k->sign, k->pkey, k->alg, e);
    if (rc < 0)
        err_wrap(e, "%s", path);
    return rc;
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
    pki__signer_clear(&k->sign);
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
    if (*siglen < k->sign.sig_max)
        return err_set(e, ERR_TOOBIG,
                       "pki_sign: %zu bytes of room, a %s signature needs %zu",
                       *siglen, pki_alg_name(k->alg), k->sign.sig_max);
    ERR_clear_error();
    const unsigned char *msg = data ? data : (const unsigned char *)"";
    if (pki__sign(&k->sign, msg, n, sig, siglen) < 0)
        return err_set(e, ERR_INVALID, "pki_sign: %s signing failed: %s",
                       pki_alg_name(k->alg), pki__ossl());
    return 0;
}
