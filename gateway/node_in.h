/* node_in.h: one inbound batch, shared by node_in.c (the link: taking
 * frames, positions, acks) and node_check.c (what each frame means). */
#ifndef EPORT_NODE_IN_H
#define EPORT_NODE_IN_H

#include "node_int.h"

enum { IN_OLD, IN_GAP, IN_OP };

/* Reason codes of docs/protocol.md section 9 with room for the text. */
#define IN_REASON_MAX 600

typedef struct in_item {
    node_peer *peer;          /* the link peer */
    unsigned char rid[LINK_RID_MAX + 1];
    size_t rid_len;
    lpos prev, pos;
    int kind;                 /* IN_* */
    unsigned char *body;      /* the envelope frame, in the batch arena */
    size_t bn;
    env *v;                   /* decoded, NULL if it did not decode */
    const char *code;         /* refusal code, NULL if accepted */
    char *why;                /* refusal text (arena) */
    const char *back;         /* next hop towards the origin */
    store_effect fx;
    const char *fwd_peers[STORE_FWD_MAX];
    env *rcpt;                /* our receipt, built, sealed with the round */
    int rcpt_refused;         /* it goes as the refusal (fx.fwd) */
} in_item;

/* One link peer's frames of a batch, as one store link run. */
typedef struct in_run {
    node_peer *peer;
    store_link_op *ops;       /* k ops, of items map[0..k) */
    size_t *map, k;
    store_link_result *res;
    store_link_pending pend;
    int sent;                 /* pend is owed by n->st_in */
    int gap;                  /* collected: 1 gap, 0 fine, -1 no ack */
} in_run;

typedef struct in_batch {
    in_item *items;
    size_t n;
    in_run *runs;             /* one per peer with frames in the batch */
    size_t nruns;
} in_batch;

/* node_receipt.c: build a receipt answering orig (in the arena, not yet
 * signed); seal every receipt of the round and put the frames into their
 * items' effects (an item whose receipt cannot be sealed is not handled
 * this round). */
int node__receipt_env(node *n, const env *orig, env_status status,
                      const char *reason, env **out, err_t *e);
/* The same, also handing back the digest of orig's payload (computed for
 * the receipt anyway) into digest (ENV_DIGEST_LEN bytes). */
int node__receipt_env_d(node *n, const env *orig, env_status status,
                        const char *reason, env **out,
                        unsigned char *digest, err_t *e);
void node__seal_all(node *n, in_batch *b);

/* Check it (steps 1-10) and fill it->fx with its effect. */
void in_check(node *n, in_item *it);
/* Record a refusal of it (code of docs/protocol.md section 9, text);
 * returns -1 so that checks can `return in_refuse(...)`. */
int in_refuse(node *n, in_item *it, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Step 9 (forwarding) and step 10 (this node a destination). */
int in_forward(node *n, in_item *it);
int in_deliver(node *n, in_item *it);
/* After the store applied it: logs, counters, and the receipts the store
 * could not send itself (a fresh `duplicate`, an `id-reuse` refusal). */
void in_after(node *n, in_item *it, const store_link_result *r);

#endif
