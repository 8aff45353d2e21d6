/* envelope: the frame gateway nodes exchange, and the exact bytes an
 * origin signs. Version 1 is a msgpack array of 12 fixed positions
 * (docs/protocol.md is the contract other provinces implement):
 *
 *   [0] version  uint 1            [6]  created   uint ms since the epoch
 *   [1] id       str  ULID         [7]  ref       str or nil
 *   [2] type     str  "record"...  [8]  payload   bin
 *   [3] origin   str  node id      [9]  sig_alg   str "ed25519"...
 *   [4] dest     array of node ids [10] signer    str node id (= origin)
 *   [5] route    array of node ids [11] signature bin
 *
 * The signed ("canonical") bytes are our encoding of [0..4, 6..10]: route
 * and signature are left out, so hops may append to the route while the
 * origin's signature holds end to end. This module produces and checks
 * those bytes; signing and verifying them is the PKI module's job (and
 * batchsig's, for the batch algorithms).
 *
 * Everything on the wire is in its shortest msgpack form, the one this
 * encoder writes: the decoder refuses any other spelling, so decode then
 * encode gives back the received bytes, and every implementation computes
 * the same canonical bytes.
 *
 * Ownership: an env only borrows. Strings and arrays a caller fills in
 * stay the caller's; env_decode and env_route_add put what they make in
 * the arena they are given, valid until it is reset. */
#ifndef EPORT_ENVELOPE_H
#define EPORT_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "msgid.h"

#define ENV_VERSION 1         /* the version this node writes */
#define ENV_V1_FIELDS 12      /* array length of a version 1 envelope */
#define ENV_SIGNED_FIELDS 10  /* array length of the canonical bytes */

/* Caps: no frame makes a node allocate or loop without bound. */
#define ENV_MAX_FRAME (16u << 20)                  /* a whole envelope */
#define ENV_MAX_PAYLOAD (ENV_MAX_FRAME - (64u << 10)) /* room for the rest */
#define ENV_TYPE_MAX 32   /* bytes: [a-z][a-z0-9_-]* */
#define ENV_NODE_MAX 32   /* bytes: 2 or more of A-Z 0-9 - (config: 2-16) */
#define ENV_REF_MAX 256   /* bytes of UTF-8, no control characters */
#define ENV_MAX_DEST 64   /* destinations */
#define ENV_MAX_HOPS 32   /* route entries, the origin included */
#define ENV_ALG_MAX 16    /* bytes of a sig_alg name */
#define ENV_SIG_MAX 72    /* bytes: an ECDSA P-256 DER signature at most */
#define ENV_ED25519_SIG 64

/* A batch signature (docs/protocol.md section 4, "Batch signatures"): the
 * origin signs the root of a Merkle tree over many envelopes once, and
 * field 11 of each carries its inclusion proof and that root signature:
 *   depth (1 byte, 0-16) | leaf index (2 bytes big-endian, < 2^depth) |
 *   depth sibling hashes of 32 bytes, leaf level first | base signature */
#define ENV_BATCH_HASH 32      /* SHA-256 */
#define ENV_BATCH_DEPTH_MAX 16 /* 65536 leaves */
#define ENV_BATCH_HEAD 3       /* depth byte and index */
#define ENV_BATCH_SIG_MAX \
    (ENV_BATCH_HEAD + ENV_BATCH_DEPTH_MAX * ENV_BATCH_HASH + ENV_SIG_MAX)

#define ENV_ALG_ED25519 "ed25519"
#define ENV_ALG_ECDSA_P256 "ecdsa-p256"
#define ENV_ALG_ED25519_BATCH "ed25519-batch"
#define ENV_ALG_ECDSA_P256_BATCH "ecdsa-p256-batch"

/* Positions of the version 1 array, also used to name fields in errors. */
enum env_field {
    ENV_F_VERSION, ENV_F_ID, ENV_F_TYPE, ENV_F_ORIGIN, ENV_F_DEST,
    ENV_F_ROUTE, ENV_F_CREATED, ENV_F_REF, ENV_F_PAYLOAD, ENV_F_SIG_ALG,
    ENV_F_SIGNER, ENV_F_SIG
};

typedef struct env {
    uint32_t version;                 /* ENV_VERSION */
    char id[MSGID_LEN + 1];           /* ULID, msgid.h */
    char type[ENV_TYPE_MAX + 1];
    char origin[ENV_NODE_MAX + 1];
    const char **dest;                /* ndest node ids, borrowed */
    uint32_t ndest;
    const char **route;               /* nroute node ids, origin first */
    uint32_t nroute;
    uint64_t created_ms;
    const char *ref;                  /* NULL is nil; borrowed */
    const unsigned char *payload;     /* borrowed; may be NULL if len 0 */
    size_t payload_len;
    char sig_alg[ENV_ALG_MAX + 1];
    char signer[ENV_NODE_MAX + 1];
    const unsigned char *sig;         /* borrowed; NULL before signing */
    size_t sig_len;
} env;

/* Field 11 of a batch-signed envelope taken apart; points into v->sig. */
typedef struct env_batch_proof {
    unsigned depth;                  /* 0 (a batch of one) to 16 */
    uint32_t index;                  /* the leaf's position, < 2^depth */
    const unsigned char *siblings;   /* depth x 32 bytes, leaf level first */
    const unsigned char *sig;        /* the base signature of the root */
    size_t sig_len;
} env_batch_proof;

/* "destinations" for ENV_F_DEST; "?" past the last field. */
const char *env_field_name(unsigned field);

/* A fresh envelope from origin: version, a new id, created_ms taken from
 * the id's time, route [origin], signer = origin, sig_alg ed25519. The
 * caller sets type, dest, ref and payload, then signs env_signed_bytes.
 * The route array comes from a. */
int env_init(env *v, const char *type, const char *origin, arena_t *a,
             err_t *e);

/* Every rule the decoder applies, to a filled-in envelope: field syntax,
 * caps, route[0] = origin = signer, no repeated destination or hop. With
 * need_sig 0 the signature may be absent (before signing). Errors name
 * the field as the decoder does. */
int env_validate(const env *v, int need_sig, err_t *e);

/* 1 when sig_alg names a batch signature ("ed25519-batch",
 * "ecdsa-p256-batch"), else 0. */
int env_alg_is_batch(const char *sig_alg);

/* Take apart the signature of a batch-signed v (env_validate's layout
 * rules: exact length for the depth and the base algorithm, index below
 * 2^depth). ERR_INVALID naming field 11 otherwise. */
int env_batch_split(const env *v, env_batch_proof *out, err_t *e);

/* Append the canonical bytes of v (env_validate(v, 0) first) to out. */
int env_signed_bytes(const env *v, buf_t *out, err_t *e);

/* Append the whole envelope, signature included, to out. Fails with
 * ERR_TOOBIG past ENV_MAX_FRAME or out->max; out is then unchanged. */
int env_encode(const env *v, buf_t *out, err_t *e);

/* The same without running env_validate again, for an envelope that
 * passed it (env_decode's output does) and has changed since only through
 * env_route_add, which checks what it adds. The checks are what keeps a
 * frame a peer would refuse from leaving this node, so anything built or
 * edited by hand must use the checked forms above. */
int env_signed_bytes_unchecked(const env *v, buf_t *out, err_t *e);
int env_encode_unchecked(const env *v, buf_t *out, err_t *e);

/* Decode exactly one envelope filling all n bytes of data. *out and what
 * it points to are copied into a (data may be freed on return), so a's
 * cap must allow n bytes and a few KiB more; on failure *out is left as
 * it was (a may hold parts until reset). Refusals say which field:
 * "envelope field 4 (destinations): more than 64 entries"; a version
 * this node does not read is ERR_UNSUPPORTED, malformed msgpack
 * ERR_SYNTAX, a cap ERR_TOOBIG, a bad value ERR_INVALID. */
int env_decode(const void *data, size_t n, arena_t *a, env **out, err_t *e);

/* Append node to the route (the hop handling v records itself before
 * forwarding). ERR_INVALID "routing loop: CQ already handled this
 * message" when node is in the route; ERR_TOOBIG past ENV_MAX_HOPS. The
 * new route array and the copy of node come from a. */
int env_route_add(env *v, const char *node, arena_t *a, err_t *e);

/* Refuse (ERR_INVALID) an envelope created more than max_skew_ms after
 * now_ms (a sender's clock ahead, or a forged time) or more than
 * max_age_ms before it (too old to act on). */
int env_check_time(const env *v, uint64_t now_ms, uint64_t max_skew_ms,
                   uint64_t max_age_ms, err_t *e);

/* 1 when node is one of v's destinations, else 0. */
int env_for(const env *v, const char *node);

/* ---- receipts: the payload of a "receipt" envelope ----
 * A msgpack map {"v":1, "id", "digest", "status", "reason", "at"} with
 * its keys in exactly that order (the canonical form; "v" first so that
 * a reader learns the version before anything else). */

#define ENV_RECEIPT_TYPE "receipt"
#define ENV_RECEIPT_VERSION 1
#define ENV_DIGEST_LEN 32    /* SHA-256 */
#define ENV_REASON_MAX 512   /* bytes of UTF-8 */
#define ENV_RECEIPT_MAX 1024 /* an encoded receipt never exceeds this */

typedef enum env_status {
    ENV_STORED,    /* applied now */
    ENV_DUPLICATE, /* applied before; the original receipt is gone */
    ENV_REFUSED    /* not applied; reason says why */
} env_status;

typedef struct env_receipt {
    uint32_t version;                      /* ENV_RECEIPT_VERSION */
    char id[MSGID_LEN + 1];                /* the receipted envelope */
    unsigned char digest[ENV_DIGEST_LEN];  /* SHA-256 of its payload */
    env_status status;
    const char *reason;  /* refused: required; otherwise NULL (nil) */
    uint64_t at_ms;      /* when the receiver decided */
} env_receipt;

/* "stored", "duplicate", "refused"; "?" for anything else. */
const char *env_status_name(env_status s);

/* SHA-256 of n bytes of p (OpenSSL EVP, the method fetched once). */
int env_digest(const void *p, size_t n, unsigned char out[ENV_DIGEST_LEN],
               err_t *e);

/* The receipt answering orig: its id, the digest of its payload, status,
 * reason (borrowed) and at_ms. */
int env_receipt_init(env_receipt *r, const env *orig, env_status status,
                     const char *reason, uint64_t at_ms, err_t *e);

/* The rules of a receipt: valid id, known status, reason present exactly
 * when refused, reason UTF-8 within ENV_REASON_MAX. */
int env_receipt_validate(const env_receipt *r, err_t *e);

/* Append the receipt's msgpack map to out (the payload to send). */
int env_receipt_encode(const env_receipt *r, buf_t *out, err_t *e);

/* Decode a receipt payload into *out; reason is copied into a. */
int env_receipt_decode(const void *data, size_t n, arena_t *a,
                       env_receipt *out, err_t *e);

/* Whether r answers sent: same id and same payload digest (ERR_INVALID
 * naming the difference otherwise). */
int env_receipt_check(const env_receipt *r, const env *sent, err_t *e);

#endif
