/* node_cbec: cross-border e-commerce documents at a node (docs/cbec.md).
 * A document a local system hands in goes to the node that matches its
 * parcel (cbec_route): kept here, or sent there as a signed record under
 * an id derived from its own, so it is sent once whatever happens. At
 * the matching node each document joins its parcel's set (store_cbec),
 * the set is checked (cbec_match) and the verdict recorded; documents
 * peers sent are read from v1:in, and sets past their time limit
 * expire, in the loop of the instance that owns the ledger. */
#ifndef EPORT_NODE_CBEC_H
#define EPORT_NODE_CBEC_H

#include "model.h"
#include "node_int.h"

/* What became of a document: state is the set's (awaiting, matched,
 * mismatched; withdrawn, released, rejected when it closed the set,
 * noted for another customs answer), or what stopped it (parked,
 * conflict, closed), or "forwarded" to dest (fwd: the envelope id);
 * detail says why, in the arena. */
typedef struct node_cbec_res {
    const char *order_no, *state, *detail, *dest;
    char fwd[MSGID_LEN + 1];
} node_cbec_res;

/* A local system's document (record id, its msgpack rec/len and r) sent
 * to the node that matches it (cbec_route), out saying where: 0. Returns
 * 1, sending nothing, when that node is this one (node_cbec_take_many
 * takes it), or the link's error (try again later). */
int node_cbec_forward(node *n, const char *id, const void *rec, size_t len,
                      const model_record *r, arena_t *a, node_cbec_res *out,
                      err_t *e);

/* 1 when r is this module's: a document of a set, a withdrawal or a
 * customs answer to an inventory list. */
int node_cbec_is_ours(const model_record *r);

/* Documents matched here (a local system's, or forwarded by peers), a
 * batch at a time: documents of sets attached STORE_CBEC_ATTACH_MAX to a
 * script and each set decided once; a withdrawal closes its set (the
 * allowance draw cancelled at the home), customs' release confirms the
 * draw, a refusal cancels it, a return gives back what it was worth; these
 * one by one. out[i] and rcs[i] are docs[i]'s (rcs[i] < 0: refused, the reason
 * in out[i].detail). Returns 0, or a store error for the whole batch
 * (try it again later: everything it did is done once). */
typedef struct node_cbec_doc {
    const char *id;
    const void *rec;
    size_t len;
    const model_record *r;
} node_cbec_doc;
int node_cbec_take_many(node *n, const node_cbec_doc *docs, size_t k,
                        arena_t *a, node_cbec_res *out, int *rcs, err_t *e);

/* One turn: documents peers delivered (a batch of v1:in), then, at most
 * once a second, sets past their time limit. Returns how many entries of
 * v1:in it read. */
#define NODE_CBEC_BATCH 128
int node_cbec_drain(node *n, int64_t now);

/* ---- at a buyer's home (node_permit.c): the allowance ledgers ---- */

/* How long a parcel's draw is held unconfirmed before it lapses. */
#define NODE_CBEC_HOLD_MS (400LL * 86400000)

/* 1 when permit id names a buyer's allowance (cbec_allow.h). */
int node_cbec_is_allowance(const char *permit);

/* Opens the allowance ledgers that ops[0..n) (all on allowances) name
 * and this node keeps, unless they are open: each with its year's limit.
 * Opening one again changes nothing. */
struct store_pm_op;
int node_cbec_allow_open(node *n, const struct store_pm_op *ops, size_t k,
                         err_t *e);
void node_cbec_close(node *n);

#endif
