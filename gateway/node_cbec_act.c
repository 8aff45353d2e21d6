/* node_cbec_act: what closes or changes a parcel's set at its matching
 * node after it matched (docs/cbec.md): a withdrawal before release
 * (the draw cancelled), customs' answer to the inventory list (released:
 * the draw confirmed; rejected: cancelled), a return after release (what
 * the returned goods were worth given back). */
#include "node_cbec_int.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "metrics.h"

typedef enum cb_act {
    CB_ACT_NONE,
    CB_ACT_WITHDRAW,
    CB_ACT_RETURN,
    CB_ACT_RECEIPT
} cb_act;

static cb_act cb__act_of(const model_record *r)
{
    int decl = r->kind && !strcmp(r->kind, "declaration");
    const char *t = decl && r->cbec.order_no ? r->document.type : NULL;
    if (t && !strcmp(t, "withdrawal_request"))
        return CB_ACT_WITHDRAW;
    if (t && !strcmp(t, "return_request"))
        return CB_ACT_RETURN;
    if (r->kind && !strcmp(r->kind, "response") && r->cbec.direction &&
        r->document.number && r->customs.status)
        return CB_ACT_RECEIPT; /* an inventory list's, by its number */
    return CB_ACT_NONE;
}

int node_cbec__is_act(const model_record *r)
{
    return cb__act_of(r) != CB_ACT_NONE;
}

/* Closes the set of order_no as state; out says what happened. */
static int cb__close(node *n, const char *order_no, const char *state,
                     const char *why, pm_op draw, arena_t *a,
                     node_cbec_res *out, err_t *e)
{
    store_cbec_closed c;
    int rc = store_cbec_close(n->st, order_no, state, why, node__now_ms(), a, &c, e);
    if (rc < 0)
        return rc;
    out->order_no = order_no;
    if (!c.closed) {
        out->state = "closed";
        out->detail = c.was ? arena_printf(a, "order %s is %s: it cannot be %s",
                                           order_no, c.was, state)
                            : arena_printf(a, "no set of order %s here", order_no);
        return 0;
    }
    out->state = state, out->detail = why;
    met_add(MET_CBEC_SETS, state, 1);
    return c.arid ? node_cbec__draw(n, order_no, c.arid, c.allow, draw, 0, "", e)
                  : 0;
}

/* What the returned lines of ret were worth in the inventory list inv:
 * each line (by its number) at the inventory's price, never more than
 * the quantity declared. Thousandths of CNY. */
static uint64_t cb__returned(const model_record *ret, const model_record *inv)
{
    double t = 0;
    for (uint32_t i = 0; i < ret->goods.n; i++) {
        const model_goods *g = &ret->goods.v[i];
        for (uint32_t j = 0; j < inv->goods.n; j++) {
            const model_goods *h = &inv->goods.v[j];
            if (!g->seq.set || !h->seq.set || g->seq.v != h->seq.v ||
                !(h->quantity.v > 0))
                continue;
            double q = g->quantity.v < h->quantity.v ? g->quantity.v : h->quantity.v;
            t += h->value.v * (q > 0 ? q : 0) / h->quantity.v;
        }
    }
    return t > 0 ? (uint64_t)(t * 1000 + 0.5) : 0;
}

/* A return after release: what its lines were worth given back to the
 * buyer's allowance, once per returning document (its guid). */
static int cb__return(node *n, const model_record *r, arena_t *a,
                      node_cbec_res *out, err_t *e)
{
    store_cbec_set s;
    cbec_set cs;
    const char *order = r->cbec.order_no;
    int rc = store_cbec_get(n->st, order, a, &s, e);
    out->order_no = order;
    if (rc == 0 && strcmp(s.state, "released")) {
        out->state = "closed";
        out->detail = arena_printf(a, "order %s is %s: only goods released "
                                   "are returned", order, s.state);
        return 0;
    }
    if (rc < 0 || (rc = node_cbec__unpack(n, &s, a, &cs, e)) < 0)
        return rc;
    uint64_t amt = cb__returned(r, cs.doc[CBEC_INVENTORY]);
    out->state = "returned";
    int drawn = s.arid && s.arid[0];
    out->detail = arena_printf(a, "returned goods worth %.2f CNY%s", (double)amt / 1000,
                               drawn ? ": given back to the buyer's allowance" : "");
    if (!amt || !drawn)
        return 0;
    met_add(MET_CBEC_SETS, "returned", 1);
    return node_cbec__draw(n, order, s.arid, s.allow, PM_OP_RETURN, amt,
                           r->cbec.guid ? r->cbec.guid : "", e);
}

int node_cbec__act(node *n, const model_record *r, arena_t *a,
                   node_cbec_res *out, err_t *e)
{
    cb_act act = cb__act_of(r);
    const char *order = r->cbec.order_no;
    if (act == CB_ACT_RETURN)
        return cb__return(n, r, a, out, e);
    if (act == CB_ACT_WITHDRAW)
        return cb__close(n, order, "withdrawn", arena_printf(a, "withdrawn: %s",
                         r->cbec.reason ? r->cbec.reason : "no reason given"),
                         PM_OP_CANCEL, a, out, e);
    int rc = store_cbec_by_cop(n->st, r->document.number, a, &order, e);
    if (rc < 0)
        return rc;
    const char *st = r->customs.status, *txt = r->customs.status_text;
    if (!strcmp(st, "released") || !strcmp(st, "rejected"))
        return cb__close(n, order, st, arena_printf(a, "customs: %s%s%s", st,
                         txt ? ": " : "", txt ? txt : ""),
                         !strcmp(st, "released") ? PM_OP_CONFIRM : PM_OP_CANCEL,
                         a, out, e);
    out->order_no = order, out->state = "noted";
    out->detail = arena_printf(a, "customs: %s", st);
    return 0;
}
