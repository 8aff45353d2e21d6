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

/* The steps of mvact_declare, for a declarant that must open a movement
 * at most once whatever it decides again after a crash (eportd's
 * dispatch of local declarations, node_local.c): allocate the reference
 * (a fresh one each call), keep it, then declare under it and under
 * message id as_id (NULL: a fresh one): 0 sent, 1 as_id was sent before
 * (nothing written). ref must outlive d. */
int mvact_new_ref(node *n, char ref[MVREF_LEN + 1], err_t *e);
int mvact_declare_as(node *n, mv_event *d, const char *ref,
                     const char *as_id, char id[MSGID_LEN + 1],
                     char winner[32], err_t *e);

/* The stored state of ref into s (strings in a): ERR_NOTFOUND "movement
 * ... is not known at node CQ" when it is not here. */
int mvact_load(node *n, const char *ref, arena_t *a, struct mv_state *s,
               err_t *e);

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

/* ---- operators' status records (mvact_status.c) ---- */

struct model_record;
/* What became of one container of a status record: ref NULL when no
 * open movement here carries it; else the status event on ref: rc 0
 * sent (id), 1 sent before (id: nothing new), < 0 refused (e says why:
 * the rule's error, or ERR_AGAIN from the wait). Borrowed for the call. */
typedef struct mvact_attach {
    const char *ctr, *ref, *id;
    int rc;
    const err_t *e;
} mvact_attach;
typedef void (*mvact_attach_fn)(void *ctx, const mvact_attach *a);

/* Attach status record r (kind status, status.event set) to every open
 * movement here (not cancelled, rejected or written off) carrying one of
 * its containers (status.equipment, equipment[].number) on whose
 * itinerary this node's region is: one signed `status` event per
 * movement (MV14: result = status.event, place, note = description),
 * fn told of each (and of each container matching none). key: the id of
 * the local message r came in, from which each event's id is derived
 * (per key and movement), so attaching r again after a crash sends
 * nothing twice; NULL: fresh ids. wait_ms > 0 waits for this node's
 * ledger to apply each (mvact_wait; eportctl only: eportd's ledger runs
 * in the caller's thread). Returns how many movements r was attached to
 * (sent or sent before), or a store failure (ERR_IO, ERR_NOMEM: try
 * again; what was sent stays sent). */
int mvact_status(node *n, const struct model_record *r, const char *key,
                 int64_t wait_ms, mvact_attach_fn fn, void *ctx, err_t *e);

/* ---- a movement gathered from records (mvact_gather.c) ----
 * One way for `eportctl declare` (the files given) and eportd's dispatch
 * of declarations local systems sent (docs/connectors.md, "Declarations
 * open movements"). */

/* The code list of the itinerary's regions, below the mappings dir:
 * UN/LOCODE -> region of a member (docs/connectors.md). */
#define MVACT_REGIONS_FILE "codes/locode-region.yaml"
typedef struct mvact_regions mvact_regions;
/* Load <mappings_dir>/MVACT_REGIONS_FILE; ERR_CONFIG "file:l:c: error:"
 * for a bad entry. The caller frees it (mvact_regions_free). */
int mvact_regions_load(const char *mappings_dir, mvact_regions **out,
                       err_t *e);
void mvact_regions_free(mvact_regions *m);
/* The region of UN/LOCODE locode, NULL when outside the federation;
 * borrowed from m. */
const char *mvact_region_of(const mvact_regions *m, const char *locode);

#define MVACT_LINKED_MAX 64 /* transport records linked to a declaration */

/* The movement being gathered. Strings live in a (borrowed); e and
 * failed hold the first failure, after which every call does nothing. */
typedef struct mvact_gather {
    mv_event d;              /* the movement so far: fill kind, itin,
                                guarantee, limit_ms first to impose them */
    arena_t *a;
    buf_t rec;               /* the declaration, packed: d.record */
    int have_decl;
    const char *linked[MVACT_LINKED_MAX]; /* local ids of the records
                                             mvact_gather_linked added */
    size_t nlinked;
    err_t *e;
    int failed;
} mvact_gather;

void mvact_gather_init(mvact_gather *g, arena_t *a, err_t *e);
void mvact_gather_free(mvact_gather *g);
/* Add record r (borrowed for the call): a declaration (one only) gives
 * declarant, packages and the record; every record its document; its
 * containers (with seals) when it is the declaration or linked is 0,
 * else only the seals of containers the movement has (a transport
 * document found by container may carry other shipments too). */
int mvact_gather_add(mvact_gather *g, const struct model_record *r,
                     int linked);
/* Add, linked, the transport records (waybill, manifest) remembered
 * here (store_ldoc.h) that carry a container of the movement. */
int mvact_gather_linked(mvact_gather *g, node *n);
/* Complete it: a declaration is needed; the kind from its legs' modes
 * unless set; the itinerary, unless set, from its route and legs
 * through m (NULL: none derivable); d.record set. */
int mvact_gather_finish(mvact_gather *g, const mvact_regions *m);
/* The numbers of r's equipment that travel sealed the whole way
 * (containers, swap bodies, trailers; not wagons or barges), at most
 * cap, borrowed from r. */
size_t mvact_units(const struct model_record *r, const char **out,
                   size_t cap);

/* What became of a declaration a local system sent. */
typedef struct mvact_local {
    char ref[MVREF_LEN + 1]; /* its movement, "" if refused before one */
    char id[MSGID_LEN + 1];  /* the declared event's message id */
    char winner[32];         /* ERR_CONFLICT: who holds the claim */
    int dup;                 /* declared before: a re-dispatch */
    size_t ndocs, nlinked;   /* documents, of which linked by container */
} mvact_local;

/* Open the movement of declaration r, local message local_id, exactly
 * once: gathered with the transport records remembered here that share
 * its containers, itinerary from m, departure this node's region (else
 * ERR_DENIED); its reference allocated once per local_id (v1:ldecl) and
 * the event submitted under an id derived from local_id, so doing it
 * again after a crash sends nothing twice (dup). The linked records are
 * then forgotten. Returns 0, ERR_IO/ERR_NOMEM (try again) or the
 * refusal (ERR_CONFLICT with winner, ERR_INVALID, ERR_DENIED...). */
int mvact_declare_local(node *n, const struct model_record *r,
                        const char *local_id, const mvact_regions *m,
                        mvact_local *out, err_t *e);

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
