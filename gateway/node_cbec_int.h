/* node_cbec_int: what the three files of node_cbec share: the node's
 * cross-border e-commerce state, the sets' documents opened from the
 * store (node_cbec.c), the buyer's allowance drawn, settled and opened
 * at its home (node_cbec_allow.c), and what closes or changes a set
 * after it matched: withdrawals, customs' answers, returns
 * (node_cbec_act.c). */
#ifndef EPORT_NODE_CBEC_INT_H
#define EPORT_NODE_CBEC_INT_H

#include "cbec_allow.h"
#include "cbec_match.h"
#include "cbec_seal.h"
#include "node_cbec.h"
#include "pmwire.h"
#include "store_cbec.h"

struct node_cb {
    arena_t a;              /* one entry of v1:in */
    store_pos pos;          /* v1:cb:inpos as last saved */
    int pos_known;
    int64_t next_poll_ms, next_expire_ms;
    int allow_loaded;       /* what node_cbec_allow.c has read (0: not yet) */
    cbec_limits limits;
    unsigned char key[CBEC_KEY_MAX];
    size_t klen;
    int seal_loaded;        /* data keys read (1), or not yet (0) */
    cbec_seal_keys seal;
};

/* The node's state, made on first use; NULL when out of memory. */
struct node_cb *node_cbec__get(node *n);

/* The documents of set s, opened (cbec_seal) and unpacked into out. */
int node_cbec__unpack(node *n, const store_cbec_set *s, arena_t *a,
                      cbec_set *out, err_t *e);

/* The tax and allowance draw of the set s that just matched (cs: its
 * documents), recorded with it; the draw queued for the home. */
int node_cbec__allow(node *n, const store_cbec_set *s, const cbec_set *cs,
                     arena_t *a, err_t *e);

/* What happened since to the draw of order_no (its request arid; allow
 * what it drew, as the set keeps it): op (confirm, cancel, or return of
 * amount thousandths of CNY) queued for the home once, under an id
 * derived from the draw's and tag (what asks it: "" or the returning
 * document's guid). */
int node_cbec__draw(node *n, const char *order_no, const char *arid,
                    const char *allow, pm_op op, uint64_t amount,
                    const char *tag, err_t *e);

/* 1 when r closes or changes a set (a withdrawal, a return, customs'
 * answer to an inventory list); node_cbec__act does it. */
int node_cbec__is_act(const model_record *r);
int node_cbec__act(node *n, const model_record *r, arena_t *a,
                   node_cbec_res *out, err_t *e);

#endif
