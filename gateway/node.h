/* node: one gateway node at run time (bin/eportd), and the part of it a
 * local tool needs without the daemon (eportctl send). It ties together
 * the config, the federation PKI and directory, the Redis store and the
 * ZeroMQ links, and runs the protocol of docs/protocol.md:
 *
 *   origin   node_submit: sign, store in Redis (outbox per next hop, and
 *            the copy awaiting receipts), only then report success;
 *   links    node_out.c: each peer's outbox sent in order, a window of
 *            frames in flight, resent from the receiver's last position
 *            on a gap, a timeout or a reconnect;
 *   inbound  node_in.c: each frame checked (docs/protocol.md section 9),
 *            then its effect (deliver, forward, receipt, dead letter)
 *            stored atomically with the link position, then acked;
 *   receipts node_await.c: messages without every destination's receipt
 *            sent again, with backoff, until they expire.
 *
 * Everything durable is in Redis, so a node killed at any point resumes
 * where it was; the process keeps only caches and the frames in flight.
 *
 * Ownership: node_open takes the cfg (freed by node_close) and makes the
 * node (node_close). One thread; node_stop and node_reload only set
 * flags and may be called from a signal handler. */
#ifndef EPORT_NODE_H
#define EPORT_NODE_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "msgid.h"

typedef struct node node;

#define NODE_OFFLINE 1u /* no sockets and no loop: for eportctl */

/* Open the node of config c (taken, even on failure): PKI (key matching
 * the node's certificate), directory, Redis and, unless NODE_OFFLINE,
 * the ROUTER and a DEALER per peer. */
int node_open(cfg *c, unsigned flags, node **out, err_t *e);
void node_close(node *n);
const cfg *node_cfg(const node *n);
/* The node's Redis store, borrowed (for eportctl's reads). */
struct store *node_store(node *n);

/* A new message from this node to ndest destinations (node ids): a
 * signed envelope of type (`record`, `ping`) with ref (may be NULL) and
 * payload, durably queued for every next hop before this returns 0; its
 * id goes to id. ERR_INVALID "no route to SH" when a destination cannot
 * be reached. */
int node_submit(node *n, const char *type, const char *const *dests,
                size_t ndest, const char *ref, const void *payload,
                size_t len, char id[MSGID_LEN + 1], err_t *e);

/* The same for count (1 to NODE_SUBMIT_MAX) payloads at once, ids[i]
 * for payloads[i]: signed together (one signature when the key signs
 * batches). On failure, ids of the messages stored so far are filled in
 * order and the rest are not stored. */
#define NODE_SUBMIT_MAX 256
int node_submit_many(node *n, const char *type, const char *const *dests,
                     size_t ndest, const char *ref,
                     const void *const *payloads, const size_t *lens,
                     size_t count, char (*ids)[MSGID_LEN + 1], err_t *e);

/* node_submit_many under message ids the caller chose (as_ids[i], valid
 * ids, e.g. msgid_derive's): what a node must send at most once whatever
 * it decides again after a crash (a local record forwarded, node_local.c).
 * dup[i] = 1 when as_ids[i] was submitted before (within 7 days, even if
 * every receipt came home since): nothing is written for it, the first
 * one stands. */
int node_submit_as(node *n, const char *type, const char *const *dests,
                   size_t ndest, const char *ref, const void *const *payloads,
                   const size_t *lens, size_t count,
                   const char *const *as_ids, int *dup, err_t *e);

/* A message this node authors for its own ledger as well (a movement
 * event, type "mv"): signed alone, then in one script queued for its
 * ndest (>= 1) destinations, delivered to this node itself (v1:mvin) and
 * the claim part applied (store_mv_submit, store_mv.h; claim may be
 * NULL). ERR_CONFLICT with winner (the claiming ref) when a claim key is
 * another movement's. Returns 0, or 1 when already submitted. Resets
 * the node's arena first, as node_submit does: nothing the caller hands
 * in may live there. */
struct store_mv_claim;
int node_submit_self(node *n, const char *type, const char *const *dests,
                     size_t ndest, const char *ref, const void *payload,
                     size_t len, const struct store_mv_claim *claim,
                     char id[MSGID_LEN + 1], char winner[32], err_t *e);
/* node_submit_self under a message id the caller chose (as_id, a valid
 * id, e.g. msgid_derive's; NULL: a fresh one): what a node must send at
 * most once whatever it decides again after a crash. 1 when as_id was
 * submitted before: nothing is written, the first one stands. */
int node_submit_self_as(node *n, const char *type, const char *const *dests,
                        size_t ndest, const char *ref, const void *payload,
                        size_t len, const struct store_mv_claim *claim,
                        const char *as_id, char id[MSGID_LEN + 1],
                        char winner[32], err_t *e);

/* The region of node id: this node's, a peer's (config) or, for nodes
 * reached by routes, its certificate's (directory); NULL when unknown.
 * Borrowed from the node (config or directory). */
const char *node_region_of(node *n, const char *id);

/* Serve until node_stop: returns 0 after a clean drain. */
int node_run(node *n, err_t *e);
void node_stop(node *n);
void node_reload(node *n);

/* Called by node_run on a reload (SIGHUP) once the new cfg nw is in
 * place and before old is freed: eportd restarts its connectors, which
 * borrow the cfg. One hook per node (a second call replaces it); fn NULL
 * removes it. */
typedef void (*node_reload_fn)(void *ctx, const cfg *old, const cfg *nw);
void node_on_reload(node *n, node_reload_fn fn, void *ctx);

#endif
