/* store_ldoc: what eportd remembers of local systems' records to open a
 * movement when a declaration comes in through a connector
 * (docs/connectors.md, "Declarations open movements"; docs/store.md,
 * "Local systems"):
 *
 *   v1:ldoc:<id>      string, TTL 30 days: a transport record (kind
 *                     waybill or manifest) dispatched here, canonical
 *                     msgpack, kept to be linked with a declaration
 *   v1:ldoc:c:<ctr>   set, TTL 30 days: the ids of the remembered
 *                     records naming container ctr
 *   v1:ldecl:<id>     string, TTL 30 days: the movement reference
 *                     allocated for the local declaration <id>, so a
 *                     re-dispatch after a crash opens no second movement
 *
 * A document linked into a movement is forgotten (its v1:ldoc:<id> goes;
 * the index entries left behind are skipped and dropped when read), so a
 * container's next trip does not pick up the last trip's waybill.
 * Ownership: everything handed to a callback is valid during the call. */
#ifndef EPORT_STORE_LDOC_H
#define EPORT_STORE_LDOC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

#define STORE_LDOC_TTL_MS (30LL * 86400000)
#define STORE_LDOC_CTR_MAX 64  /* containers one record is indexed under */
#define STORE_LDOC_LINK_MAX 32 /* records read for one container */

/* One record to remember: rec (msgpack) of local message id, indexed
 * under ctrs[0..nctrs) (container numbers; one that cannot be a key
 * name, 1-64 of A-Z a-z 0-9 - _ ., is left out). */
typedef struct store_ldoc_rec {
    const char *id;
    const void *rec;
    size_t len;
    const char *const *ctrs;
    size_t nctrs;
} store_ldoc_rec;

/* Remembers recs[0..n) in one pipelined MULTI: per record SET with PX
 * and, per container, SADD and PEXPIRE. Doing it again changes nothing
 * but the TTLs. */
int store_ldoc_put(store *st, const store_ldoc_rec *recs, size_t n,
                   err_t *e);

/* The records remembered under container ctr (at most
 * STORE_LDOC_LINK_MAX, forgotten and expired ones skipped): fn gets each
 * id and record. Returns how many, or < 0. */
typedef int (*store_ldoc_fn)(void *ctx, const char *id, const void *rec,
                             size_t len, err_t *e);
int store_ldoc_by_ctr(store *st, const char *ctr, store_ldoc_fn fn,
                      void *ctx, err_t *e);

/* Forgets records ids[0..n) (DEL v1:ldoc:<id> each, one command). */
int store_ldoc_forget(store *st, const char *const *ids, size_t n, err_t *e);

/* The reference of local declaration id: SET v1:ldecl:<id> ref NX PX
 * 30 days. 0: ref is now its reference; 1: it had one already, copied
 * into ref (ref holds cap bytes). */
int store_ldecl_claim(store *st, const char *id, char *ref, size_t cap,
                      err_t *e);
/* GET v1:ldecl:<id> into ref; ERR_NOTFOUND when it has none. */
int store_ldecl_get(store *st, const char *id, char *ref, size_t cap,
                    err_t *e);

#endif
