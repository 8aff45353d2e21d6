/* envcheck: signature checks of one envelope, shared by the node's
 * inbound path and offline readers of stored frames. */
#include "envcheck.h"

#include <stdlib.h>
#include <string.h>

struct envcheck {
    pki_store *pki;
    dir *dir;
    batchsig_cache *bcache;
    buf_t sb;       /* signed bytes of the frame being checked */
};

#define ENVCHECK_ROOTS 1024 /* batch roots remembered offline */

/* A signature over this envelope alone: the key decides the algorithm. */
static int envcheck__plain(const pki_peer *pp, const env *v, const buf_t *sb,
                           err_t *e)
{
    const char *alg = pki_alg_name(pki_peer_alg(pp));
    if (strcmp(v->sig_alg, alg))
        return err_set(e, ERR_SIGNATURE, "signed with %s, but %s's "
                       "certificate holds a %s key", v->sig_alg, v->signer,
                       alg);
    return pki_peer_verify(pp, sb->p, sb->len, v->sig, v->sig_len, e);
}

int envcheck_sig(dir *d, batchsig_cache *bc, const env *v, time_t now,
                 buf_t *sb, const pki_peer **pp, err_t *e)
{
    *pp = NULL;
    const pki_peer *p = NULL;
    int rc = dir_get(d, v->signer, now, &p, e);
    if (rc < 0)
        return rc;
    *pp = p;
    buf_reset(sb);
    rc = env_signed_bytes_unchecked(v, sb, e); /* decoded: valid */
    if (rc == 0 && batchsig_is_batch_alg(v->sig_alg))
        rc = batchsig_verify(bc, p, v, sb->p, sb->len, e);
    else if (rc == 0)
        rc = envcheck__plain(p, v, sb, e);
    return rc;
}

/* The directory as the node builds it: itself and its peers pinned to
 * the certificates the config names, everyone else from pki.directory. */
static int envcheck__dir(envcheck *ec, const cfg *c, err_t *e)
{
    int rc = dir_new(ec->pki, c->pki.directory, &ec->dir, e);
    if (rc == 0)
        rc = dir_pin(ec->dir, c->node.id, c->node.region, c->pki.cert, e);
    for (size_t i = 0; rc == 0 && i < c->npeers; i++)
        rc = dir_pin(ec->dir, c->peers[i].id, c->peers[i].region,
                     c->peers[i].cert, e);
    return rc;
}

int envcheck_open(const cfg *c, envcheck **out, err_t *e)
{
    *out = NULL;
    envcheck *ec = calloc(1, sizeof *ec);
    if (!ec)
        return err_set(e, ERR_NOMEM, "envcheck: out of memory");
    buf_init(&ec->sb, ENV_MAX_FRAME);
    ec->pki = pki_store_load(c->pki.ca, c->pki.crl, e);
    int rc = ec->pki ? envcheck__dir(ec, c, e) : e->code;
    if (rc == 0)
        rc = batchsig_cache_new(ENVCHECK_ROOTS, &ec->bcache, e);
    if (rc < 0) {
        envcheck_free(ec);
        return rc;
    }
    *out = ec;
    return 0;
}

void envcheck_free(envcheck *ec)
{
    if (!ec)
        return;
    batchsig_cache_free(ec->bcache);
    dir_free(ec->dir);
    pki_store_free(ec->pki);
    buf_free(&ec->sb);
    free(ec);
}

int envcheck_frame(envcheck *ec, const void *frame, size_t n, time_t now,
                   arena_t *a, env **v, const pki_peer **pp, err_t *e)
{
    *v = NULL;
    *pp = NULL;
    int rc = env_decode(frame, n, a, v, e);
    if (rc < 0) {
        *v = NULL;
        return rc;
    }
    return envcheck_sig(ec->dir, ec->bcache, *v, now, &ec->sb, pp, e);
}
