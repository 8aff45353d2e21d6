/* batchsig: one signature over many envelopes. An origin that signs each
 * envelope on its own cannot pass a few thousand messages a second (one
 * Ed25519 or ECDSA operation costs 70-120 us), so it hashes a batch of
 * envelopes into a Merkle tree and signs only the root; each envelope
 * carries its inclusion proof and the root signature in field 11 and so
 * stays verifiable on its own, after hops forward it alone, in any order
 * (docs/protocol.md section 4, "Batch signatures"). A verifier folds the
 * proof to the root and checks the root signature once per batch: the
 * (signer, root, root signature) triples it has verified are kept in a
 * cache.
 *
 * Ownership: envelopes are the caller's; batchsig_sign writes their sig
 * fields into memory from the caller's arena. A cache is made by
 * batchsig_cache_new and released by batchsig_cache_free; it allocates
 * nothing after that. A cache is changed by every verify, so each thread
 * needs its own (or a lock around it). */
#ifndef EPORT_BATCHSIG_H
#define EPORT_BATCHSIG_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "envelope.h"
#include "err.h"
#include "pki.h"

#define BATCHSIG_MAX (1u << ENV_BATCH_DEPTH_MAX) /* envelopes in a batch */
#define BATCHSIG_PREFIX "eport batch v1:" /* domain of the root message */
#define BATCHSIG_PREFIX_LEN 15
#define BATCHSIG_MSG_LEN (BATCHSIG_PREFIX_LEN + ENV_BATCH_HASH) /* 47 */
#define BATCHSIG_CACHE_WAYS 4             /* entries per set */
#define BATCHSIG_CACHE_MAX (1u << 20)     /* entries a cache may have */

/* 1 when sig_alg is "ed25519-batch" or "ecdsa-p256-batch", else 0. */
int batchsig_is_batch_alg(const char *sig_alg);

/* The batch sig_alg for a key algorithm: "ed25519-batch" for PKI_ED25519;
 * "?" for anything else. */
const char *batchsig_alg_name(pki_alg a);

/* Sign the n envelopes v[0..n) (1 <= n <= BATCHSIG_MAX) with one
 * signature of key. Sets each v[i]->sig_alg to the batch name of the key's
 * algorithm before computing its canonical bytes (each must pass
 * env_validate(v[i], 0)), builds the tree, signs the root once and points
 * v[i]->sig / sig_len at its proof and the root signature, written into
 * memory from a (3 + 32 * depth + at most 72 bytes an envelope; the tree
 * itself, 64 bytes a leaf, is malloc'd only while signing). On failure
 * no envelope has a signature (sig NULL, sig_len 0). */
int batchsig_sign(const pki_key *key, env **v, size_t n, arena_t *a,
                  err_t *e);

/* ---- verifying ---- */

typedef struct batchsig_cache batchsig_cache;

/* What a cache has seen, for tests and the node's status. */
typedef struct batchsig_stats {
    uint64_t hits;      /* root found verified: no signature check */
    uint64_t misses;    /* root signature checked, and good */
    uint64_t failures;  /* refused: proof layout, root signature, key */
    uint64_t evictions; /* verified roots pushed out by newer ones */
} batchsig_stats;

/* A cache of at least `entries` verified (signer, root, signature)
 * triples (rounded up to a power of two, at least BATCHSIG_CACHE_WAYS, at
 * most BATCHSIG_CACHE_MAX; about 160 bytes each), set-associative by
 * root, the least recently used entry of a set replaced. 4096 holds the
 * batches of several seconds. */
int batchsig_cache_new(size_t entries, batchsig_cache **out, err_t *e);
void batchsig_cache_free(batchsig_cache *c);

/* Forget every verified root (the statistics stay). A root stays trusted
 * only as long as the certificate that verified it: a node that takes in
 * a new CRL or reloads certificates clears its caches. */
void batchsig_cache_clear(batchsig_cache *c);

void batchsig_cache_stats(const batchsig_cache *c, batchsig_stats *out);

/* Verify v (decoded, a batch sig_alg) against p, the signer's verified
 * certificate, using and filling c. signed_bytes (n bytes) are
 * env_signed_bytes(v), computed by the caller; NULL to have them computed
 * here. Refusals: ERR_SIGNATURE when sig_alg is not the batch name of
 * p's key algorithm, when the proof's layout is wrong ("proof layout:
 * ...") or when the root it leads to does not carry the signer's
 * signature ("root signature: ..."); ERR_IDENTITY when p is not the
 * certificate of v->signer. The message starts "envelope <id>:". */
int batchsig_verify(batchsig_cache *c, const pki_peer *p, const env *v,
                    const void *signed_bytes, size_t n, err_t *e);

#endif
