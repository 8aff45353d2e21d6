/* dir: the federation directory as a node sees it: for any node id, its
 * verified certificate and public key, to check the signatures of
 * messages whose origin is not a direct peer as well as of those that
 * are. Certificates are read from <pki.directory>/<id>.crt (deploy/pki
 * writes every node's there) or, for configured peers, from the path the
 * config gives, or taken from the signed federation directory (fdir.h:
 * dir_add_pem, then dir_listed_only: no file is read for other nodes),
 * and checked against the federation CA and CRL.
 *
 * Entries are cached; a verified entry is checked again after
 * DIR_RECHECK_S seconds (expiry, a CRL taken in on reload), and a failed
 * lookup is remembered for DIR_NEGATIVE_S seconds so that a flood of
 * frames naming unknown signers does not turn into a flood of file reads.
 *
 * Ownership: dir_new's *out is the caller's (dir_free). Peers given by
 * dir_get are borrowed from the dir, valid until dir_free. Not
 * thread-safe. */
#ifndef EPORT_DIR_H
#define EPORT_DIR_H

#include <stddef.h>
#include <time.h>

#include "err.h"
#include "pki.h"

#define DIR_RECHECK_S 60
#define DIR_NEGATIVE_S 10
#define DIR_MAX_ENTRIES 1024 /* node ids held, the unknown ones included */

typedef struct dir dir;

/* store is borrowed and must outlive the dir; directory is copied. */
int dir_new(const pki_store *store, const char *directory, dir **out,
            err_t *e);
void dir_free(dir *d);

/* Pin node id to the certificate at cert_path, expected for region
 * (a configured peer): its certificate must say that region. */
int dir_pin(dir *d, const char *id, const char *region, const char *cert_path,
            err_t *e);

/* Node id's certificate is the len bytes of PEM (copied), for region (""
 * or NULL: the certificate's own); an entry pinned before keeps its
 * region and takes the PEM instead of its file. */
int dir_add_pem(dir *d, const char *id, const char *region, const char *pem,
                size_t len, err_t *e);

/* From now on a node without an entry is unknown (ERR_NOTFOUND "node XX:
 * not in <source>"), not looked for in the directory of files: the
 * signed federation directory lists every member. source is copied, e.g.
 * "the federation directory (serial 1795529855)". */
int dir_listed_only(dir *d, const char *source, err_t *e);

/* The verified peer for node id at now; ERR_NOTFOUND (no certificate),
 * ERR_REVOKED, ERR_EXPIRED, ERR_IDENTITY, ERR_SIGNATURE (not from the CA)
 * with a message naming the node and why. */
int dir_get(dir *d, const char *id, time_t now, const pki_peer **out,
            err_t *e);

#endif
