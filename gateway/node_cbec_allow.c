/* node_cbec_allow: a matched parcel's tax and its draw on the buyer's
 * annual allowance (cbec_allow.h; docs/cbec.md), what becomes of the draw
 * afterwards, and, at a buyer's home, the allowance ledgers opened on
 * first use. */
#include "node_cbec_int.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "msgid.h"
#include "store_pm.h"
#include "store_pmq.h"

/* The limits (code lists) and, with cbec.id_key, the key, read once:
 * CB_LIMITS | CB_KEY. A file that cannot be read is ERR_AGAIN (logged):
 * matched parcels wait for it rather than be cleared without their
 * allowance, and it is read again next time. */
enum { CB_LIMITS = 1, CB_KEY = 2 };
static int cb__allow_ready(node *n, struct node_cb *cb, err_t *e)
{
    err_t le;
    if (cb->allow_loaded > 0)
        return cb->allow_loaded;
    int rc = cbec_limits_load(n->cfg->mappings.dir, &cb->limits, &le);
    int ready = rc ? 0 : CB_LIMITS;
    if (rc == 0 && n->cfg->cbec.id_key &&
        (rc = cbec_id_key_load(n->cfg->cbec.id_key, cb->key, &cb->klen, &le)) == 0)
        ready |= CB_KEY;
    if (rc) {
        log_event(LOG_ERROR, "cbec_allowance", "msg=%s", log_q(le.msg));
        return err_set(e, ERR_AGAIN, "cbec: %s (matched parcels wait for it)",
                       le.msg);
    }
    return cb->allow_loaded = ready;
}

/* What the matched set draws: its amount, and the allowance's id; or
 * why it draws nothing. over: the amount is over the per-transaction
 * limit. */
static const char *cb__allow_what(struct node_cb *cb, int ready,
                                  const model_record *inv,
                                  char id[CBEC_ALLOW_ID_MAX], uint64_t *amt,
                                  int *over, arena_t *a, err_t *e)
{
    const model_party *b = cbec_party(inv, "buyer");
    const char *home = b && b->id ? cbec_home_of(&cb->limits, b->id) : NULL;
    char hash[CBEC_HASH_HEX + 1];
    if (cbec_amount(inv, amt, e) < 0)
        return arena_printf(a, "no allowance drawn: %s", e->msg);
    if ((*over = *amt > cb->limits.per_tx))
        return arena_printf(a, "%s: %.2f CNY is over the per-transaction limit "
                            "of %.2f", cb->limits.over_general
                            ? "general trade, no allowance drawn" : "refused",
                            (double)*amt / 1000, (double)cb->limits.per_tx / 1000);
    if (!(ready & CB_KEY))
        return "no allowance drawn: cbec.id_key is not set";
    if (!home)
        return b && b->id ? "no allowance drawn: no region keeps allowances "
                            "of this identity number's province"
                          : "no allowance drawn: the inventory list names no "
                            "buyer's identity number";
    if (cbec_id_hash(cb->key, cb->klen, b->id, hash, e) < 0)
        return e->msg;
    cbec_allow_id(home, cbec_year(node__now_ms()), hash, id);
    return NULL;
}

/* The tax of the matched parcel (docs/cbec.md, "Tax"): at the share of
 * the limits within them, in full as general trade above them, none when
 * it is refused. */
static const char *cb__tax(struct node_cb *cb, const model_record *inv,
                           int over, arena_t *a)
{
    uint64_t t;
    err_t e;
    if (over && !cb->limits.over_general)
        return NULL;
    if (cbec_tax(&cb->limits, inv, over ? 100 : cb->limits.tax_share, &t, &e) < 0)
        return arena_printf(a, "not assessed: %s", e.msg);
    return over ? arena_printf(a, "%.2f CNY (general trade: VAT and consumption "
                               "tax in full; duty per the tariff)", (double)t / 1000)
                : arena_printf(a, "%.2f CNY (%u%% of VAT and consumption tax, duty 0)",
                               (double)t / 1000, cb->limits.tax_share);
}

/* The matched set's tax, and its draw on its buyer's allowance, queued
 * for the permit loop (store_pmq) under an id derived from the set, so
 * that it is asked once. */
int node_cbec__allow(node *n, const store_cbec_set *s, const cbec_set *cs,
                     arena_t *a, err_t *e)
{
    struct node_cb *cb = node_cbec__get(n);
    char id[CBEC_ALLOW_ID_MAX], rid[MSGID_LEN + 1], k[160];
    uint64_t amt = 0;
    int over = 0, ready = cb ? cb__allow_ready(n, cb, e) : 0;
    if (ready <= 0)
        return ready;
    const model_record *inv = cs->doc[CBEC_INVENTORY];
    const char *why = cb__allow_what(cb, ready, inv, id, &amt, &over, a, e);
    const char *tax = cb__tax(cb, inv, over, a);
    if (why)
        return store_cbec_allow_set(n->st, s->order_no, NULL, why, tax, e);
    pm_req q = {.op = PM_OP_RESERVE, .permit = id, .key = s->order_no,
                .lines = {{0, 0, amt}}, .nlines = 1, .at_ms = (uint64_t)node__now_ms()};
    int len = snprintf(k, sizeof k, "eport cbec allowance %s", s->order_no);
    int rc = msgid_derive((uint64_t)s->first, k, (size_t)len, rid, e);
    if (rc == 0 && (rc = store_pmq_add(n->st, rid, &q, NULL, node__now_ms(), e)) >= 0)
        rc = store_cbec_allow_set(n->st, s->order_no, rid,
                                  arena_printf(a, "%s %.2f CNY", id, (double)amt / 1000),
                                  tax, e);
    return rc;
}

/* ---- what becomes of the draw ---- */

int node_cbec__draw(node *n, const char *order_no, const char *arid,
                    const char *allow, pm_op op, uint64_t amount,
                    const char *tag, err_t *e)
{
    char rid[MSGID_LEN + 1], k[200], permit[CBEC_ALLOW_ID_MAX];
    uint64_t ms;
    int rc;
    if (!allow || sscanf(allow, "%47s", permit) != 1)
        return 0; /* nothing was drawn */
    int len = snprintf(k, sizeof k, "eport cbec allowance %s %s%s%s",
                       pm_op_name(op), order_no, tag[0] ? " " : "", tag);
    if ((rc = msgid_parse(arid, &ms, e)) == 0 &&
        (rc = msgid_derive(ms, k, (size_t)len, rid, e)) == 0) {
        pm_req q = {.op = op, .permit = permit, .key = order_no,
                    .at_ms = (uint64_t)node__now_ms()};
        if (amount)
            q.lines[q.nlines++] = (pm_amount){0, 0, amount};
        rc = store_pmq_add(n->st, rid, &q, NULL, node__now_ms(), e);
    }
    return rc < 0 ? rc : 0;
}

/* ---- at a buyer's home ---- */

int node_cbec_is_allowance(const char *permit)
{
    char home[3], hash[CBEC_HASH_HEX + 1];
    int year;
    return permit && cbec_allow_parse(permit, home, &year, hash) == 0;
}

/* Opens ledger id here (it is this node's region's, unchecked otherwise:
 * the request went to the wrong home and is answered unknown-permit). */
static int cb__open_one(node *n, struct node_cb *cb, const char *id,
                        err_t *e)
{
    pm_permit p;
    char pe[ERR_MSG_MAX];
    if (strncmp(id, n->cfg->node.region, 2))
        return 0;
    int rc = cbec_allow_permit(id, &cb->limits, &cb->a, &p, e);
    if (rc == 0 && (rc = store_pm_issue(n->st, &p, NULL, 0, node__now_ms(),
                                        NULL, e)) == ERR_CONFLICT) {
        /* opened with another year's limit: the ledger stands as it is */
        snprintf(pe, sizeof pe, "%s", e->msg);
        log_event(LOG_WARN, "cbec_allowance", "id=%s msg=%s", id, log_q(pe));
        rc = 0;
    }
    return rc;
}

int node_cbec_allow_open(node *n, const store_pm_op *ops, size_t k, err_t *e)
{
    struct node_cb *cb = node_cbec__get(n);
    if (!cb)
        return err_set(e, ERR_NOMEM, "cbec: out of memory");
    if (!cb->limits.per_year) { /* the home needs only the limits */
        err_t le;
        int rc = cbec_limits_load(n->cfg->mappings.dir, &cb->limits, &le);
        if (rc < 0)
            return err_set(e, rc, "%s", le.msg);
    }
    arena_reset(&cb->a);
    for (size_t i = 0; i < k; i++) {
        if (i && !strcmp(ops[i].q->permit, ops[i - 1].q->permit))
            continue;
        int rc = cb__open_one(n, cb, ops[i].q->permit, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}
