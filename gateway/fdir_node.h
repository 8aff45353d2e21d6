/* fdir_node: the signed federation directory in a node (eportd's, and
 * eportctl's offline one). With pki.directory_url set, the node takes
 * every other member's certificate and the CRL from the directory the
 * national center publishes (fdir.h) instead of from files:
 *
 *   start    the copy kept in Redis (v1:fdir), then a fetch; a fetch
 *            that fails keeps the copy (warning), no copy at all means
 *            the files, as without a directory (error);
 *   running  a thread fetches every pki.directory_refresh_s seconds;
 *            the loop applies a newer verified directory (a new CRL
 *            store and dir, swapped in; links rebuilt if a configured
 *            peer's certificate changed, as SIGHUP does);
 *   SIGHUP   fetch at once (a changed URL or refresh restarts the thread).
 *
 * The node's own certificate always comes from pki.cert. A directory
 * older than the one in use, tampered with, or not signed by a CA of
 * pki.ca is refused and logged; the node keeps the one it has.
 *
 * The state is kept per node beside it (node_int.h is not this module's),
 * so that the node's loop needs one call: fdir_node_tick. Only the
 * node's own thread calls these. */
#ifndef EPORT_FDIR_NODE_H
#define EPORT_FDIR_NODE_H

#include "dir.h"
#include "err.h"
#include "node.h"
#include "pki.h"

/* In node_open, once the store is open and before node_setup_pki.
 * Fails only for want of memory: a node without a directory runs on
 * its files. */
int fdir_node_open(node *n, err_t *e);

/* In node_setup_pki, first: a reload (a cfg not seen before) restarts or
 * kicks the fetcher. 1 when a directory is in use: node_setup_pki then
 * calls fdir_node_apply instead of pinning the peers' files. */
int fdir_node_sync(node *n);

/* The directory in use into a store and dir being built: its CRL into
 * ps, every member but this node into d (a configured peer keeps its
 * configured region), and d closed to nodes it does not list. */
int fdir_node_apply(node *n, pki_store *ps, dir *d, err_t *e);

/* Each turn of the node's loop: a newer verified directory, if the
 * thread has one, is applied. */
void fdir_node_tick(node *n);

/* In node_close: the thread stopped, the state freed. */
void fdir_node_close(node *n);

#endif
