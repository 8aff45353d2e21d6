/* node_cbec: cross-border e-commerce documents at a node (see
 * node_cbec.h). A set's verdict is decided on what the set holds when it
 * is read and recorded only if nothing was attached since; otherwise it
 * is read and decided again, so two documents of one parcel taken at once
 * (a local one and a peer's, or two instances) always end with the
 * verdict of the set as it is. */
#include "node_cbec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbec_allow.h"
#include "cbec_match.h"
#include "cbec_seal.h"
#include "cbec_route.h"
#include "log.h"
#include "metrics.h"
#include "model_pack.h"
#include "msgid.h"
#include "store_cbec.h"
#include "store_pm.h"
#include "store_pmq.h"

#define CB_ARENA_MAX (64u << 20)
#define CB_POLL_MS 50       /* v1:in read at least this often */
#define CB_EXPIRE_MS 1000   /* time limits looked at this often */
#define CB_EXPIRE_BATCH 256
#define CB_TRIES 8          /* reads of a set that keeps changing */
#define CB_WHY_MAX 2048

struct node_cb {
    arena_t a;              /* one entry of v1:in */
    store_pos pos;          /* v1:cb:inpos as last saved */
    int pos_known;
    int64_t next_poll_ms, next_expire_ms;
    int allow_loaded;       /* limits and key read (1), or failed (-1) */
    cbec_limits limits;
    unsigned char key[CBEC_KEY_MAX];
    size_t klen;
    int seal_loaded;        /* data keys read (1), or not yet (0) */
    cbec_seal_keys seal;
};

static const char *const cb__outcomes[] = {"attached", "same", "duplicate",
                                           "conflict", "parked", "closed"};

/* ---- the buyer's annual allowance (cbec_allow.h) ---- */

static struct node_cb *cb__get(node *n);

/* The limits (code lists) and the key, read once: CB_LIMITS and, with
 * cbec.id_key, CB_KEY; 0 (logged once) when the limits are unreadable. */
enum { CB_LIMITS = 1, CB_KEY = 2 };
static int cb__allow_ready(node *n, struct node_cb *cb)
{
    err_t e;
    if (!cb->allow_loaded) {
        int rc = cbec_limits_load(n->cfg->mappings.dir, &cb->limits, &e);
        cb->allow_loaded = rc ? -1 : CB_LIMITS;
        if (rc == 0 && n->cfg->cbec.id_key) {
            if ((rc = cbec_id_key_load(n->cfg->cbec.id_key, cb->key, &cb->klen, &e)) == 0)
                cb->allow_loaded |= CB_KEY;
        }
        if (rc)
            log_event(LOG_ERROR, "cbec_allowance", "msg=%s", log_q(e.msg));
    }
    return cb->allow_loaded < 0 ? 0 : cb->allow_loaded;
}

/* The year (China Standard Time) of ms. */
static int cb__year(int64_t ms)
{
    time_t t = (time_t)(ms / 1000 + 8 * 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm.tm_year + 1900;
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
    cbec_allow_id(home, cb__year(node__now_ms()), hash, id);
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
static int cb__allow(node *n, const store_cbec_set *s, const cbec_set *cs,
                     arena_t *a, err_t *e)
{
    struct node_cb *cb = cb__get(n);
    char id[CBEC_ALLOW_ID_MAX], rid[MSGID_LEN + 1], k[160];
    uint64_t amt = 0;
    int over = 0, ready = cb ? cb__allow_ready(n, cb) : 0;
    if (!ready)
        return 0;
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

/* ---- documents sealed at rest (cbec_seal.h) ---- */

/* The data keys, read once; NULL when none is configured. */
static const cbec_seal_keys *cb__seal_keys(node *n, err_t *e)
{
    struct node_cb *cb = cb__get(n);
    if (!cb)
        return NULL;
    if (!cb->seal_loaded) {
        err_t le;
        int rc = cbec_seal_load(n->cfg->cbec.data_key, n->cfg->cbec.data_key_old,
                                &cb->seal, &le);
        cb->seal_loaded = rc ? 0 : 1; /* a key file put right is read next time */
        if (rc) {
            log_event(LOG_ERROR, "cbec_seal", "msg=%s", log_q(le.msg));
            err_set(e, rc, "%s", le.msg);
        }
    }
    return cb->seal_loaded > 0 && (cb->seal.has_cur || cb->seal.has_old)
               ? &cb->seal : NULL;
}

/* ---- checking a set ---- */

static int cb__unpack(node *n, const store_cbec_set *s, arena_t *a,
                      cbec_set *out, err_t *e)
{
    const cbec_seal_keys *k = cb__seal_keys(n, e);
    memset(out, 0, sizeof *out);
    for (int d = 0; d < CBEC__DOCS; d++) {
        model_record *r;
        const void *p = s->doc[d].rec;
        size_t pn = s->doc[d].len;
        if (!p)
            continue;
        if ((k && cbec_open(k, p, pn, a, &p, &pn, e) < 0) ||
            model_unpack(p, pn, a, &r, e) < 0)
            return err_wrap(e, "cbec: order %s: %s %s", s->order_no,
                            cbec_doc_name((cbec_doc)d), s->doc[d].id);
        out->doc[d] = r;
    }
    return 0;
}

/* The verdict's why: the mismatches, or what is still awaited. */
static void cb__why(const cbec_verdict *v, char *why, size_t n)
{
    char missing[64];
    if (v->n) {
        cbec_verdict_text(v, why, n);
        return;
    }
    cbec_missing_text(v->present, missing, sizeof missing);
    snprintf(why, n, "%s%s", missing[0] ? "awaiting " : "", missing);
}

/* The set as it stands, checked and its verdict recorded (*s read, v). */
static int cb__decide(node *n, store_cbec_set *s, cbec_set *cs,
                      cbec_verdict *v, char *why, arena_t *a, err_t *e)
{
    cbec_opts o = {(double)n->cfg->cbec.tolerance_fen / 100.0};
    int rc = cb__unpack(n, s, a, cs, e);
    if (rc < 0)
        return rc;
    cbec_match(cs, &o, v);
    cb__why(v, why, CB_WHY_MAX);
    return store_cbec_settle(n->st, s->order_no, s->n, cbec_verdict_state(v),
                             why, node__now_ms(), e);
}

static int cb__closed(const store_cbec_set *s)
{
    return !strcmp(s->state, "expired") || !strcmp(s->state, "withdrawn");
}

static int cb__check(node *n, const char *order_no, arena_t *a,
                     node_cbec_res *out, err_t *e)
{
    char *why = arena_alloc(a, CB_WHY_MAX);
    if (!why)
        return err_set(e, ERR_NOMEM, "cbec: out of memory");
    for (int t = 0; t < CB_TRIES; t++) {
        store_cbec_set s;
        cbec_set cs;
        cbec_verdict v;
        int rc = store_cbec_get(n->st, order_no, a, &s, e);
        if (rc == 0 && cb__closed(&s)) {
            out->state = s.state, out->detail = s.why;
            return 0;
        }
        if (rc == 0 && (rc = cb__decide(n, &s, &cs, &v, why, a, e)) == 1) {
            out->state = cbec_verdict_state(&v), out->detail = why;
            if (strcmp(s.state, out->state) && strcmp(out->state, "awaiting"))
                met_add(MET_CBEC_SETS, out->state, 1);
            /* the verdict is recorded: a crash now leaves the allowance
             * undrawn, which the next document or a retry draws (the
             * request id is derived from the set) */
            if (!strcmp(out->state, "matched") && !s.arid)
                return cb__allow(n, &s, &cs, a, e);
            return 0;
        }
        if (rc < 0)
            return rc;
    }
    return err_set(e, ERR_AGAIN, "cbec: the set of order %s kept changing "
                   "while it was checked", order_no);
}

/* ---- withdrawals and customs' answers: the set closes ---- */

typedef enum cb_act { CB_ACT_NONE, CB_ACT_WITHDRAW, CB_ACT_RECEIPT } cb_act;

static cb_act cb__act_of(const model_record *r)
{
    int decl = r->kind && !strcmp(r->kind, "declaration");
    if (decl && r->document.type && !strcmp(r->document.type, "withdrawal_request") &&
        r->cbec.order_no)
        return CB_ACT_WITHDRAW;
    if (r->kind && !strcmp(r->kind, "response") && r->cbec.direction &&
        r->document.number && r->customs.status)
        return CB_ACT_RECEIPT; /* an inventory list's, by its number */
    return CB_ACT_NONE;
}

int node_cbec_is_ours(const model_record *r)
{
    return cbec_doc_of(r) >= 0 || cb__act_of(r) != CB_ACT_NONE;
}

/* The allowance draw of order_no confirmed or cancelled at its home,
 * asked once (the request id is derived from the draw's). */
static int cb__settle_draw(node *n, const char *order_no, const char *arid,
                           pm_op op, arena_t *a, err_t *e)
{
    store_cbec_set s;
    char rid[MSGID_LEN + 1], k[160], permit[CBEC_ALLOW_ID_MAX];
    uint64_t ms;
    int rc = store_cbec_get(n->st, order_no, a, &s, e);
    if (rc < 0 || !s.allow || sscanf(s.allow, "%47s", permit) != 1)
        return rc;
    int len = snprintf(k, sizeof k, "eport cbec allowance %s %s", pm_op_name(op), order_no);
    if ((rc = msgid_parse(arid, &ms, e)) == 0 &&
        (rc = msgid_derive(ms, k, (size_t)len, rid, e)) == 0) {
        pm_req q = {.op = op, .permit = permit, .key = order_no,
                    .at_ms = (uint64_t)node__now_ms()};
        rc = store_pmq_add(n->st, rid, &q, NULL, node__now_ms(), e);
    }
    return rc < 0 ? rc : 0;
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
    return c.arid ? cb__settle_draw(n, order_no, c.arid, draw, a, e) : 0;
}

static int cb__act(node *n, cb_act act, const model_record *r, arena_t *a,
                   node_cbec_res *out, err_t *e)
{
    const char *order = r->cbec.order_no;
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

/* ---- taking a document ---- */

static void cb__stopped(const store_cbec_res *res, cbec_doc d,
                        const char *key, arena_t *a, node_cbec_res *out)
{
    if (res->outcome == STORE_CBEC_PARKED) {
        out->state = "parked";
        out->detail = arena_printf(a, "waybill %s waits for the inventory "
                                   "list naming it", key);
    } else if (res->outcome == STORE_CBEC_CONFLICT) {
        out->state = "conflict";
        out->detail = arena_printf(a, "order %s has another %s (record %s): "
                                   "send a change to replace it", res->order_no,
                                   cbec_doc_name(d), res->other);
    } else {
        out->state = "closed";
        out->detail = arena_printf(a, "order %s is closed: %s", res->order_no,
                                   res->other ? res->other : "");
    }
}

static int cb__put(const model_record *r, cbec_doc d, const char *id,
                   const void *rec, size_t len, store_cbec_put *p, err_t *e)
{
    const char *key = d == CBEC_WAYBILL ? r->cbec.logistics_no : r->cbec.order_no;
    if (!key)
        return err_set(e, ERR_REQUIRED, "cbec: %s %s has no %s",
                       cbec_doc_name(d), id, d == CBEC_WAYBILL
                       ? "cbec.logistics_no (waybill number)"
                       : "cbec.order_no (order number)");
    *p = (store_cbec_put){d, key, id,
                          d == CBEC_INVENTORY ? r->cbec.logistics_no : NULL,
                          rec, len, r->document.function &&
                          !strcmp(r->document.function, "change"),
                          d == CBEC_INVENTORY ? r->document.number : NULL};
    return 0;
}

int node_cbec_take(node *n, const char *id, const void *rec, size_t len,
                   const model_record *r, arena_t *a, node_cbec_res *out,
                   err_t *e)
{
    int d = cbec_doc_of(r);
    store_cbec_put p;
    store_cbec_res res;
    memset(out, 0, sizeof *out);
    cb_act act = d < 0 ? cb__act_of(r) : CB_ACT_NONE;
    if (act != CB_ACT_NONE) {
        int rc = cb__act(n, act, r, a, out, e);
        if (rc == 0)
            log_event(LOG_INFO, "cbec_act", "id=%s order=%s state=%s detail=%s",
                      id, out->order_no ? out->order_no : "-", out->state,
                      log_q(out->detail ? out->detail : ""));
        return rc;
    }
    if (d < 0)
        return err_set(e, ERR_INVALID, "cbec: record %s is no order, payment, "
                       "parcel waybill or inventory list", id);
    int rc = cb__put(r, (cbec_doc)d, id, rec, len, &p, e);
    const cbec_seal_keys *k = rc == 0 ? cb__seal_keys(n, e) : NULL;
    if (rc == 0 && n->cfg->cbec.data_key && !(k && k->has_cur))
        rc = err_set(e, ERR_AGAIN, "cbec: cbec.data_key cannot be read: "
                     "documents wait rather than be kept unsealed");
    if (rc == 0 && k && k->has_cur)
        rc = cbec_seal(k, rec, len, a, &p.rec, &p.len, e);
    if (rc == 0)
        rc = store_cbec_attach(n->st, &p, node__now_ms(),
                               n->cfg->cbec.match_timeout_s * 1000, a, &res, e);
    if (rc < 0)
        return rc;
    met_add(MET_CBEC_DOCS, cb__outcomes[res.outcome], 1);
    out->order_no = res.order_no;
    if (res.outcome >= STORE_CBEC_CONFLICT)
        cb__stopped(&res, (cbec_doc)d, p.key, a, out);
    else if ((rc = cb__check(n, res.order_no, a, out, e)) < 0)
        return rc;
    log_event(LOG_INFO, "cbec_document", "id=%s doc=%s order=%s outcome=%s "
              "state=%s detail=%s", id, cbec_doc_name((cbec_doc)d),
              out->order_no, cb__outcomes[res.outcome], out->state,
              log_q(out->detail ? out->detail : ""));
    return 0;
}

/* The id a document is sent under to dest: derived from its own, so a
 * dispatch done again after a crash sends it once. */
static int cb__fwd_id(const char *id, const char *dest, char *out, err_t *e)
{
    uint64_t ms;
    char k[160];
    if (msgid_parse(id, &ms, e) < 0)
        return err_wrap(e, "cbec: local message %s", id);
    int len = snprintf(k, sizeof k, "eport cbec %s %s", id, dest);
    return msgid_derive(ms, k, (size_t)len, out, e);
}

int node_cbec_local(node *n, const char *id, const void *rec, size_t len,
                    const model_record *r, arena_t *a, node_cbec_res *out,
                    err_t *e)
{
    int row, dup = 0;
    const char *dest = cbec_route(n->cfg, r, &row);
    if (!strcmp(dest, n->cfg->node.id))
        return node_cbec_take(n, id, rec, len, r, a, out, e);
    memset(out, 0, sizeof *out);
    int rc = cb__fwd_id(id, dest, out->fwd, e);
    const void *p[1] = {rec};
    const char *ids[1] = {out->fwd};
    if (rc == 0)
        rc = node_submit_as(n, "record", &dest, 1, NULL, p, &len, 1, ids,
                            &dup, e);
    if (rc < 0)
        return rc;
    met_add(MET_CBEC_DOCS, "forwarded", 1);
    out->order_no = r->cbec.order_no, out->state = "forwarded", out->dest = dest;
    out->detail = row >= 0 ? arena_printf(a, "matched at %s (cbec_routes[%d])",
                                          dest, row)
                           : arena_printf(a, "matched at %s (cbec.clearing)", dest);
    return 0;
}

/* ---- documents peers sent, and time limits ---- */

typedef struct cb_rd {
    node *n;
    store_pos done;   /* the last entry dealt with */
} cb_rd;

static int cb__transient(int rc)
{
    return rc == ERR_IO || rc == ERR_NOMEM || rc == ERR_AGAIN;
}

static int cb__entry(void *ctx, store_pos pos, const char *id,
                     const char *origin, const void *frame, size_t nb,
                     err_t *e)
{
    cb_rd *rd = ctx;
    arena_t *a = &rd->n->cb->a;
    env *v;
    model_record *r;
    node_cbec_res o;
    err_t de;
    arena_reset(a);
    if (env_decode(frame, nb, a, &v, &de) == 0 && !strcmp(v->type, "record") &&
        model_unpack((const char *)v->payload, v->payload_len, a, &r, &de) == 0 &&
        node_cbec_is_ours(r)) {
        int rc = node_cbec_take(rd->n, id, v->payload, v->payload_len, r, a,
                                &o, e);
        if (rc < 0 && cb__transient(rc))
            return rc; /* read again from here next turn */
        if (rc < 0)
            log_event(LOG_WARN, "cbec_refused", "id=%s origin=%s msg=%s", id,
                      origin, log_q(e->msg));
    }
    rd->done = pos;
    return 0;
}

static int cb__expired(void *ctx, const char *order_no, const char *why,
                       err_t *e)
{
    (void)ctx, (void)e;
    met_add(MET_CBEC_SETS, "expired", 1);
    log_event(LOG_WARN, "cbec_expired", "order=%s why=%s", order_no, log_q(why));
    return 0;
}

static int cb__in(node *n, err_t *e)
{
    struct node_cb *cb = n->cb;
    if (!cb->pos_known && store_cbec_inpos(n->st, &cb->pos, e) < 0)
        return e->code;
    cb->pos_known = 1;
    cb_rd rd = {n, cb->pos};
    int got = store_in_after(n->st, cb->pos, NODE_CBEC_BATCH, cb__entry, &rd, e);
    int moved = store_pos_cmp(rd.done, cb->pos) > 0;
    err_t se;
    if (moved && store_cbec_inpos_set(n->st, rd.done, &se) == 0)
        cb->pos = rd.done; /* else read again: taking twice is harmless */
    return got;
}

static struct node_cb *cb__get(node *n)
{
    if (!n->cb && (n->cb = calloc(1, sizeof *n->cb)))
        arena_init(&n->cb->a, CB_ARENA_MAX);
    return n->cb;
}

int node_cbec_drain(node *n, int64_t now)
{
    struct node_cb *cb = cb__get(n);
    err_t e;
    int got = 0;
    if (!cb)
        return 0;
    if (now >= cb->next_poll_ms) {
        cb->next_poll_ms = now + CB_POLL_MS;
        if ((got = cb__in(n, &e)) < 0) {
            log_event(LOG_ERROR, "cbec_in", "msg=%s", log_q(e.msg));
            cb->pos_known = 0;
            got = 0;
        }
        if (got == NODE_CBEC_BATCH)
            cb->next_poll_ms = now;
    }
    if (now >= cb->next_expire_ms) {
        cb->next_expire_ms = now + CB_EXPIRE_MS;
        if (store_cbec_expire(n->st, now, CB_EXPIRE_BATCH, cb__expired, NULL,
                              &e) < 0)
            log_event(LOG_ERROR, "cbec_expire", "msg=%s", log_q(e.msg));
    }
    return got;
}

void node_cbec_close(node *n)
{
    if (!n->cb)
        return;
    arena_free(&n->cb->a);
    free(n->cb);
    n->cb = NULL;
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
    struct node_cb *cb = cb__get(n);
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
