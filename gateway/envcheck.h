/* envcheck: is this envelope really from its signer? The signature checks
 * of docs/protocol.md section 9 (steps 5 and 6: the signer's certificate
 * through the federation directory, then the single or batch signature
 * over the canonical bytes), in one place for the node's inbound path
 * (node_check.c) and for offline readers that re-check stored frames
 * years later (`eportctl verify`, ledger_query.c).
 *
 * Ownership: envcheck_open makes an envcheck (envcheck_free) owning its
 * own PKI store, directory and batch cache, built from the config the
 * way a node builds them (its own and its peers' certificates pinned).
 * envcheck_sig borrows everything. Not thread-safe (the batch cache). */
#ifndef EPORT_ENVCHECK_H
#define EPORT_ENVCHECK_H

#include <stddef.h>
#include <time.h>

#include "arena.h"
#include "batchsig.h"
#include "buf.h"
#include "config.h"
#include "dir.h"
#include "envelope.h"
#include "err.h"
#include "pki.h"

/* Verify decoded v at now: dir_get of its signer, then the signature
 * (batch proofs through bc). sb is scratch for the signed bytes (reset
 * here). *pp is the signer's verified certificate once found, NULL when
 * the certificate step failed: a caller telling "unknown sender" from
 * "bad signature" looks at *pp. Errors: dir_get's (ERR_NOTFOUND,
 * ERR_REVOKED, ERR_EXPIRED, ERR_IDENTITY, ERR_SIGNATURE) naming the
 * signer, then ERR_SIGNATURE / ERR_IDENTITY naming the message. */
int envcheck_sig(dir *d, batchsig_cache *bc, const env *v, time_t now,
                 buf_t *sb, const pki_peer **pp, err_t *e);

typedef struct envcheck envcheck;

/* The offline checker of config c (borrowed only during the call). */
int envcheck_open(const cfg *c, envcheck **out, err_t *e);
void envcheck_free(envcheck *ec);

/* Decode frame (n bytes) into a and verify it at now: *v the envelope
 * (NULL when it does not decode), *pp its signer's certificate (NULL
 * when not verified that far). Errors as env_decode and envcheck_sig. */
int envcheck_frame(envcheck *ec, const void *frame, size_t n, time_t now,
                   arena_t *a, env **v, const pki_peer **pp, err_t *e);

#endif
