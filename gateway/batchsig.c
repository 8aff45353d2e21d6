/* batchsig: the Merkle tree of a batch (leaf, inner and empty hashes of
 * docs/protocol.md section 4), signing its root once, folding a proof
 * back to a root, and the cache of roots already verified. */
#include "batchsig.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H ENV_BATCH_HASH

/* The domain-separation bytes in front of every hash: a leaf can never be
 * read as an inner node nor as the padding of a partial batch. */
enum { BS_LEAF = 0x00, BS_NODE = 0x01, BS_EMPTY = 0x02 };

/* SHA-256 with the algorithm fetched once: OpenSSL 3 otherwise fetches
 * it on every EVP_DigestInit_ex, which costs more than hashing 65 bytes. */
typedef struct bs_hash {
    EVP_MD *md;
    EVP_MD_CTX *ctx;
} bs_hash;

static int bs__hash_init(bs_hash *h, err_t *e)
{
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    h->ctx = EVP_MD_CTX_new();
    if (h->md && h->ctx)
        return 0;
    EVP_MD_free(h->md);
    EVP_MD_CTX_free(h->ctx);
    return err_set(e, ERR_UNSUPPORTED, "batchsig: SHA-256 unavailable from "
                   "OpenSSL");
}

static void bs__hash_free(bs_hash *h)
{
    EVP_MD_free(h->md);
    EVP_MD_CTX_free(h->ctx);
}

/* out = SHA-256(tag || p[0..n) || q[0..m)); out may alias p or q, since
 * the digest is written only after every input has been read. */
static int bs__h(bs_hash *h, unsigned char tag, const void *p, size_t n,
                 const void *q, size_t m, unsigned char out[H])
{
    unsigned len = 0;
    int ok = EVP_DigestInit_ex(h->ctx, h->md, NULL) == 1 &&
             EVP_DigestUpdate(h->ctx, &tag, 1) == 1 &&
             (!n || EVP_DigestUpdate(h->ctx, p, n) == 1) &&
             (!m || EVP_DigestUpdate(h->ctx, q, m) == 1) &&
             EVP_DigestFinal_ex(h->ctx, out, &len) == 1 && len == H;
    return ok ? 0 : -1;
}

static int bs__hash_fail(err_t *e, const char *where)
{
    return err_set(e, ERR_UNSUPPORTED, "batchsig: %s: SHA-256 failed in "
                   "OpenSSL", where);
}

/* The 47 bytes signed: prefix then root. The prefix keeps a root
 * signature from ever passing as a single envelope's (canonical bytes
 * start with 0x9a) or as anything else the key signs. */
static void bs__root_msg(const unsigned char root[H],
                         unsigned char msg[BATCHSIG_MSG_LEN])
{
    memcpy(msg, BATCHSIG_PREFIX, BATCHSIG_PREFIX_LEN);
    memcpy(msg + BATCHSIG_PREFIX_LEN, root, H);
}

int batchsig_is_batch_alg(const char *sig_alg)
{
    return env_alg_is_batch(sig_alg);
}

const char *batchsig_alg_name(pki_alg a)
{
    return a == PKI_ED25519      ? ENV_ALG_ED25519_BATCH
           : a == PKI_ECDSA_P256 ? ENV_ALG_ECDSA_P256_BATCH
                                 : "?";
}

/* ---- signing ---- */

/* The tree of a batch: level k (0 = leaves) holds 2^(d-k) hashes, the
 * levels one after the other in node[]; the root is the last. */
typedef struct bs_tree {
    unsigned depth;
    size_t nleaf;         /* the batch's envelopes; leaves past are empty */
    unsigned char *node;  /* (2^(d+1) - 1) * H bytes, malloc'd */
    size_t off[ENV_BATCH_DEPTH_MAX + 1]; /* first hash of each level */
} bs_tree;

static int bs__tree_new(bs_tree *t, size_t n, err_t *e)
{
    t->depth = 0;
    while (((size_t)1 << t->depth) < n)
        t->depth++;
    t->nleaf = n;
    size_t at = 0;
    for (unsigned k = 0; k <= t->depth; k++) {
        t->off[k] = at;
        at += (size_t)1 << (t->depth - k);
    }
    t->node = malloc(at * H);
    return t->node ? 0 : err_set(e, ERR_NOMEM, "batchsig: no memory for "
                                 "the tree of %zu envelopes", n);
}

static unsigned char *bs__at(const bs_tree *t, unsigned level, size_t i)
{
    return t->node + (t->off[level] + i) * H;
}

/* Leaf i: the envelope takes the batch algorithm, loses any old
 * signature, and its canonical bytes are hashed. */
static int bs__leaves(bs_hash *h, env **v, bs_tree *t, const char *alg,
                      err_t *e)
{
    buf_t b;
    buf_init(&b, ENV_MAX_FRAME);
    int rc = 0;
    for (size_t i = 0; !rc && i < t->nleaf; i++) {
        snprintf(v[i]->sig_alg, sizeof v[i]->sig_alg, "%s", alg);
        v[i]->sig = NULL;
        v[i]->sig_len = 0;
        buf_reset(&b);
        rc = env_signed_bytes(v[i], &b, e);
        if (rc)
            err_wrap(e, "batchsig: envelope %zu of %zu", i, t->nleaf);
        else if (bs__h(h, BS_LEAF, b.p, b.len, NULL, 0, bs__at(t, 0, i)))
            rc = bs__hash_fail(e, "leaf");
    }
    buf_free(&b);
    return rc;
}

/* Every level above the leaves. A node whose leaves all lie past the
 * batch is the empty hash of its level, computed once. */
static int bs__build(bs_hash *h, bs_tree *t, err_t *e)
{
    unsigned char empty[H];
    if (bs__h(h, BS_EMPTY, NULL, 0, NULL, 0, empty))
        return bs__hash_fail(e, "empty leaf");
    for (size_t i = t->nleaf; i < ((size_t)1 << t->depth); i++)
        memcpy(bs__at(t, 0, i), empty, H);
    for (unsigned k = 1; k <= t->depth; k++) {
        size_t width = (size_t)1 << (t->depth - k);
        for (size_t i = 0; i < width; i++) {
            unsigned char *l = bs__at(t, k - 1, 2 * i);
            if ((i << k) >= t->nleaf) {
                if (bs__h(h, BS_NODE, l, H, l, H, empty))
                    return bs__hash_fail(e, "empty node");
                for (; i < width; i++)
                    memcpy(bs__at(t, k, i), empty, H);
            } else if (bs__h(h, BS_NODE, l, H, l + H, H, bs__at(t, k, i))) {
                return bs__hash_fail(e, "inner node");
            }
        }
    }
    return 0;
}

/* Each envelope's field 11: depth, index, siblings upwards, root sig. */
static int bs__proofs(env **v, const bs_tree *t, const unsigned char *sig,
                      size_t siglen, arena_t *a, err_t *e)
{
    size_t len = ENV_BATCH_HEAD + (size_t)t->depth * H + siglen;
    for (size_t i = 0; i < t->nleaf; i++) {
        unsigned char *p = arena_alloc(a, len);
        if (!p)
            return err_set(e, ERR_NOMEM, "batchsig: arena full after %zu of "
                           "%zu proofs (%zu bytes each)", i, t->nleaf, len);
        p[0] = (unsigned char)t->depth;
        p[1] = (unsigned char)(i >> 8);
        p[2] = (unsigned char)i;
        for (unsigned k = 0; k < t->depth; k++)
            memcpy(p + ENV_BATCH_HEAD + k * H, bs__at(t, k, (i >> k) ^ 1), H);
        memcpy(p + len - siglen, sig, siglen);
        v[i]->sig = p;
        v[i]->sig_len = len;
    }
    return 0;
}

static int bs__sign_tree(const pki_key *key, env **v, bs_tree *t,
                         arena_t *a, err_t *e)
{
    bs_hash h;
    int rc = bs__hash_init(&h, e);
    if (rc)
        return rc;
    rc = bs__leaves(&h, v, t, batchsig_alg_name(pki_key_alg(key)), e);
    rc = rc ? rc : bs__build(&h, t, e);
    bs__hash_free(&h);
    if (rc)
        return rc;
    unsigned char msg[BATCHSIG_MSG_LEN], sig[PKI_SIG_MAX];
    size_t siglen = sizeof sig;
    bs__root_msg(bs__at(t, t->depth, 0), msg);
    rc = pki_sign(key, msg, sizeof msg, sig, &siglen, e);
    if (rc) {
        err_wrap(e, "batchsig: signing the root");
        return rc;
    }
    return bs__proofs(v, t, sig, siglen, a, e);
}

int batchsig_sign(const pki_key *key, env **v, size_t n, arena_t *a,
                  err_t *e)
{
    if (n == 0 || n > BATCHSIG_MAX)
        return err_set(e, ERR_INVALID, "batchsig: a batch holds 1 to %u "
                       "envelopes, not %zu", BATCHSIG_MAX, n);
    if (!strcmp(batchsig_alg_name(pki_key_alg(key)), "?"))
        return err_set(e, ERR_UNSUPPORTED, "batchsig: key algorithm %d has "
                       "no batch signature", (int)pki_key_alg(key));
    bs_tree t;
    int rc = bs__tree_new(&t, n, e);
    if (!rc)
        rc = bs__sign_tree(key, v, &t, a, e);
    free(t.node);
    for (size_t i = 0; rc && i < n; i++) {
        v[i]->sig = NULL;
        v[i]->sig_len = 0;
    }
    return rc;
}

/* ---- the cache ---- */

/* The signature is part of the key: an envelope is valid because its own
 * bytes are, whatever the cache holds, so a hop that garbles field 11 of
 * an envelope whose root it knows cannot pass on what the next node, with
 * a cold cache, would refuse. */
typedef struct bs_entry {
    unsigned char root[H];
    unsigned char sig[ENV_SIG_MAX];
    unsigned char sig_len;
    char signer[ENV_NODE_MAX + 1];
    uint64_t used; /* 0: empty; else the clock of the last use */
} bs_entry;

struct batchsig_cache {
    bs_hash h;
    size_t mask;         /* sets - 1 */
    uint64_t clock;
    batchsig_stats st;
    bs_entry slot[];     /* sets x BATCHSIG_CACHE_WAYS */
};

int batchsig_cache_new(size_t entries, batchsig_cache **out, err_t *e)
{
    size_t n = BATCHSIG_CACHE_WAYS;
    while (n < entries && n < BATCHSIG_CACHE_MAX)
        n <<= 1;
    batchsig_cache *c = calloc(1, sizeof *c + n * sizeof c->slot[0]);
    if (!c)
        return err_set(e, ERR_NOMEM, "batchsig: no memory for a cache of "
                       "%zu roots", n);
    int rc = bs__hash_init(&c->h, e);
    if (rc) {
        free(c);
        return rc;
    }
    c->mask = n / BATCHSIG_CACHE_WAYS - 1;
    *out = c;
    return 0;
}

void batchsig_cache_free(batchsig_cache *c)
{
    if (!c)
        return;
    bs__hash_free(&c->h);
    free(c);
}

void batchsig_cache_clear(batchsig_cache *c)
{
    memset(c->slot, 0, (c->mask + 1) * BATCHSIG_CACHE_WAYS * sizeof c->slot[0]);
}

void batchsig_cache_stats(const batchsig_cache *c, batchsig_stats *out)
{
    *out = c->st;
}

/* The set of a root: its first bytes, which SHA-256 makes uniform. */
static bs_entry *bs__set(batchsig_cache *c, const unsigned char root[H])
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = x << 8 | root[i];
    return c->slot + (x & c->mask) * BATCHSIG_CACHE_WAYS;
}

/* Keyed by signer too: a node may sign a tree over envelopes that claim
 * another origin, and its root must not vouch for them. */
static int bs__lookup(batchsig_cache *c, const char *signer,
                      const unsigned char root[H], const env_batch_proof *pr)
{
    bs_entry *s = bs__set(c, root);
    for (int w = 0; w < BATCHSIG_CACHE_WAYS; w++)
        if (s[w].used && !memcmp(s[w].root, root, H) &&
            s[w].sig_len == pr->sig_len &&
            !memcmp(s[w].sig, pr->sig, pr->sig_len) &&
            !strcmp(s[w].signer, signer)) {
            s[w].used = ++c->clock;
            return 1;
        }
    return 0;
}

static void bs__insert(batchsig_cache *c, const char *signer,
                       const unsigned char root[H], const env_batch_proof *pr)
{
    bs_entry *s = bs__set(c, root), *old = s;
    for (int w = 1; w < BATCHSIG_CACHE_WAYS; w++)
        if (s[w].used < old->used)
            old = &s[w];
    if (old->used)
        c->st.evictions++;
    memcpy(old->root, root, H);
    memcpy(old->sig, pr->sig, pr->sig_len); /* <= ENV_SIG_MAX: split checked */
    old->sig_len = (unsigned char)pr->sig_len;
    snprintf(old->signer, sizeof old->signer, "%s", signer);
    old->used = ++c->clock;
}

/* ---- verifying ---- */

/* The key decides the algorithm, as for single signatures; and only the
 * signer's own certificate may vouch for its roots. */
static int bs__check_signer(const pki_peer *p, const env *v, err_t *e)
{
    const char *want = batchsig_alg_name(pki_peer_alg(p));
    if (strcmp(v->sig_alg, want) != 0)
        return err_set(e, ERR_SIGNATURE, "envelope %s: sig_alg %s does not "
                       "match the certificate's %s key (expected %s)", v->id,
                       v->sig_alg, pki_alg_name(pki_peer_alg(p)), want);
    int rc = pki_identity_expect(pki_peer_identity(p), v->signer, NULL, e);
    if (rc)
        err_wrap(e, "envelope %s: signer %s", v->id, v->signer);
    return rc;
}

/* SHA-256(0x00 || canonical bytes), made here when the caller has none. */
static int bs__leaf(bs_hash *h, const env *v, const void *sb, size_t n,
                    unsigned char leaf[H], err_t *e)
{
    buf_t b;
    int rc = 0;
    buf_init(&b, ENV_MAX_FRAME);
    if (!sb) {
        rc = env_signed_bytes(v, &b, e);
        sb = b.p;
        n = b.len;
    }
    if (!rc && bs__h(h, BS_LEAF, sb, n, NULL, 0, leaf))
        rc = bs__hash_fail(e, "leaf");
    buf_free(&b);
    return rc;
}

/* Bit k of the index is the side of the node at level k: 1 when it is a
 * right child, its sibling on the left. */
static int bs__fold(bs_hash *h, const env_batch_proof *pr,
                    unsigned char cur[H], err_t *e)
{
    for (unsigned k = 0; k < pr->depth; k++) {
        const unsigned char *sib = pr->siblings + (size_t)k * H;
        int right = (pr->index >> k) & 1;
        if (bs__h(h, BS_NODE, right ? sib : cur, H, right ? cur : sib, H,
                  cur))
            return bs__hash_fail(e, "inner node");
    }
    return 0;
}

static int bs__root(batchsig_cache *c, const env *v, const void *sb,
                    size_t n, env_batch_proof *pr, unsigned char root[H],
                    err_t *e)
{
    err_t why;
    int rc = env_batch_split(v, pr, &why);
    if (rc)
        return err_set(e, ERR_SIGNATURE, "envelope %s: proof layout: %s",
                       v->id, why.msg);
    rc = bs__leaf(&c->h, v, sb, n, root, e);
    return rc ? rc : bs__fold(&c->h, pr, root, e);
}

static int bs__check_root(const pki_peer *p, const env *v,
                          const env_batch_proof *pr,
                          const unsigned char root[H], err_t *e)
{
    unsigned char msg[BATCHSIG_MSG_LEN];
    err_t why;
    bs__root_msg(root, msg);
    if (!pki_peer_verify(p, msg, sizeof msg, pr->sig, pr->sig_len, &why))
        return 0;
    return err_set(e, ERR_SIGNATURE, "envelope %s: root signature: batch "
                   "root %02x%02x%02x%02x... (leaf %u of depth %u) does not "
                   "carry %s's signature: the envelope or its proof was "
                   "altered, or the signature forged", v->id, root[0],
                   root[1], root[2], root[3], (unsigned)pr->index, pr->depth,
                   v->signer);
}

int batchsig_verify(batchsig_cache *c, const pki_peer *p, const env *v,
                    const void *signed_bytes, size_t n, err_t *e)
{
    env_batch_proof pr;
    unsigned char root[H];
    int rc = bs__check_signer(p, v, e);
    rc = rc ? rc : bs__root(c, v, signed_bytes, n, &pr, root, e);
    if (!rc && bs__lookup(c, v->signer, root, &pr)) {
        c->st.hits++;
        return 0;
    }
    rc = rc ? rc : bs__check_root(p, v, &pr, root, e);
    if (rc) {
        c->st.failures++;
        return rc;
    }
    c->st.misses++;
    bs__insert(c, v->signer, root, &pr);
    return 0;
}
