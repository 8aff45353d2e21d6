/* cbec_seal: the documents of cross-border e-commerce parcels sealed at
 * rest (docs/cbec.md, "Personal data"): a set keeps its order, payment,
 * waybill and inventory list, which name buyers and payers, for the time
 * limit and 30 days after; with cbec.data_key set they are kept
 * encrypted with AES-256-GCM under this node's key, so that a dump of
 * those keys shows no identity number, name, phone or address.
 *
 * A sealed blob: "EPS1", the key's id (the first 4 bytes of its SHA-256),
 * a 12-byte nonce, the ciphertext, the 16-byte tag. The nonce is the
 * first 12 bytes of HMAC-SHA-256(key, plaintext): the same document gives
 * the same blob, which the set store needs to tell a duplicate from a
 * conflict, and two different documents never share a nonce. Rotation:
 * a new cbec.data_key seals from then on; the old one, kept as
 * cbec.data_key_old, still opens what it sealed until those sets are
 * gone. A blob that does not start with "EPS1" is a plain record (kept
 * before a key was set) and is given back as it is. */
#ifndef EPORT_CBEC_SEAL_H
#define EPORT_CBEC_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"

#define CBEC_SEAL_KEY 32
#define CBEC_SEAL_OVERHEAD (4 + 4 + 12 + 16)

typedef struct cbec_seal_keys {
    unsigned char cur[CBEC_SEAL_KEY], old[CBEC_SEAL_KEY];
    int has_cur, has_old;
} cbec_seal_keys;

/* The key files (32 bytes each; old may be NULL) into k. */
int cbec_seal_load(const char *cur, const char *old, cbec_seal_keys *k,
                   err_t *e);

/* p[0..n) sealed under k->cur into a (borrowed): *out, *out_n. */
int cbec_seal(const cbec_seal_keys *k, const void *p, size_t n, arena_t *a,
              const void **out, size_t *out_n, err_t *e);

/* The plaintext of blob b[0..n) (itself when not sealed), borrowed from a
 * or b. ERR_SIGNATURE when it fails its tag (tampered, or sealed under
 * another key), ERR_CONFIG when its key is neither of k's. */
int cbec_open(const cbec_seal_keys *k, const void *b, size_t n, arena_t *a,
              const void **out, size_t *out_n, err_t *e);

#endif
