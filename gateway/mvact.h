/* mvact: movement events this node authors (as departure, transit or
 * destination region), for eportctl and for eportd's own steps (claim
 * settlement, time limits, ledger.auto). Every event goes the same way:
 * checked against the movement's stored state with the rules of mvrule
 * (so a refusal comes back at once, with the ledger's words), signed,
 * then submitted in one Redis script to its audience and to this node
 * itself (store_mv_submit): the node's ledger applies its own events
 * from v1:mvin in order with everything it receives, so there is one
 * writer of movement state and a crash between "sent" and "applied"
 * cannot happen.
 *
 * Audience (docs/clearance.md): declared, cancelled, rejected and
 * written_off go to every provincial member of the federation (they
 * change claims) and the national center; every other event to the
 * regions of the itinerary and the national center.
 *
 * The node is borrowed (eportctl opens it NODE_OFFLINE). */
#ifndef EPORT_MVACT_H
#define EPORT_MVACT_H

#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "msgid.h"
#include "mvev.h"
#include "mvref.h"
#include "node.h"

struct mv_state; /* mvrule.h */

/* Open a movement: d holds kind, itin (itin[0] must be this node's
 * region), docs, ctrs (with seals), pkgs, declarant and optionally
 * guarantee, limit_ms (a duration here: 0 takes ledger.time_limit_h) and
 * record. A fresh reference is allocated; by, at, ref and type are set.
 * ERR_CONFLICT when a document or container is already claimed by another
 * movement: winner gets its reference and the message names it. */
int mvact_declare(node *n, mv_event *d, char ref[MVREF_LEN + 1],
                  char id[MSGID_LEN + 1], char winner[32], err_t *e);

/* Any other event: ev->type, ev->ref and the fields of that type are the
 * caller's; by, at and prev are filled in, and for released, cancelled,
 * rejected and written_off the movement data (kind, itin, docs, ctrs,
 * pkgs, declarant, guarantee) is copied from the stored state when the
 * caller left it empty (a release's limit_ms, if 0, becomes now +
 * ledger.time_limit_h). Refused with the rule's error (ERR_DENIED,
 * ERR_PHASE, ERR_INVALID) or ERR_NOTFOUND for an unknown movement. */
int mvact_submit(node *n, mv_event *ev, char id[MSGID_LEN + 1], err_t *e);

/* The cheap first half of the gate, for eportd's tick: the message id
 * that declared ref here (its first log entry; ERR_NOTFOUND none), and
 * how many members have not receipted it yet (stored or duplicate). A
 * count of 0 is not "settled": mvact_gate decides (claims too). */
int mvact_decl_id(node *n, const char *ref, char id[MSGID_LEN + 1],
                  err_t *e);
int mvact_unreceipted(node *n, const char *decl_id, err_t *e);
/* The second half, once mvact_unreceipted said 0 (receipts are never
 * taken back): 1 settled, 2 lost (winner, why) as mvact_gate. */
int mvact_gate_claims(node *n, const char *ref, const struct mv_state *s,
                      buf_t *why, char winner[32], err_t *e);

/* mvact_submit on a state the caller holds (s: ref's stored state, as
 * the ledger has just applied it; borrowed). gated: the caller found the
 * release gate settled (mvact_gate == 1) in this same turn of eportd's
 * one thread, so a release does not check it a second time. */
int mvact_submit_on(node *n, mv_event *ev, const struct mv_state *s,
                    int gated, char id[MSGID_LEN + 1], err_t *e);

/* ---- steps eportd takes by itself (node_ledger.c) ----
 * The claim gate's release and rejected and the steps of ledger.auto
 * must each be sent at most once, yet eportd decides them again after a
 * crash (the ledger replays its last batch, the gate looks again). Each
 * goes under a derived id: the same whenever the step is decided again,
 * so the store's submit dedupes it; once applied, the rules refuse it
 * (ERR_PHASE) before anything is signed. */

/* The id of this node's step t of the movement of state s: time part
 * the declaration's (s->declared_ms), the rest from SHA-256 of the ref,
 * t and this node's id. A node takes each step of a movement at most
 * once, so one id per (movement, step, node) is exactly-once. */
int mvact_step_id(node *n, const struct mv_state *s, mv_type t,
                  char id[MSGID_LEN + 1], err_t *e);

/* mvact_submit_on under message id as_id (NULL: a fresh one): 0 sent,
 * 1 as_id was sent before (nothing written). */
int mvact_submit_as(node *n, mv_event *ev, const struct mv_state *s,
                    int gated, const char *as_id, char id[MSGID_LEN + 1],
                    err_t *e);

/* Wait up to ms for this node's ledger to apply event id of ref: 0 when
 * applied; the ledger's refusal (its code and message) when it refused
 * it; ERR_AGAIN when neither happened in time (is eportd running?). */
int mvact_wait(node *n, const char *ref, const char *id, int64_t ms,
               err_t *e);

/* ---- shared with eportd's ledger ticks (node_ledger.c) ---- */

#define MVACT_AUDIENCE_MAX 64 /* node ids an event goes to */

/* The provincial members of the federation other than this node: every
 * configured peer and route destination but the national center (by id,
 * and by its region). ids are borrowed from the config. Returns how many
 * (at most cap). */
size_t mvact_members(node *n, const char **ids, size_t cap);

/* The release gate of movement ref (state s, declared here): 1 settled
 * (every member receipted the declaration, and ref is first in the zset
 * of each of its claim keys); 0 not yet, why gets "claim not settled:
 * waiting for receipts from SN, SH"; 2 lost: winner gets the ref first
 * in some key's claims and why says which key. */
int mvact_gate(node *n, const char *ref, const struct mv_state *s, buf_t *why,
               char winner[32], err_t *e);

#endif
