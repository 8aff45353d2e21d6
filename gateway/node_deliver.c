/* This node as a destination (docs/protocol.md step 10 and section 7):
 * a record, ping or health message is delivered with its `stored`
 * receipt prepared, a receipt is taken home; and, once the store has
 * applied the frame, the receipts only the outcome decides (a fresh
 * `duplicate`, an `id-reuse` refusal) and the log line. */
#include "node_in.h"

#include <stdio.h>
#include <string.h>

#include "fed_health.h"
#include "ledger.h"
#include "log.h"
#include "model_pack.h"
#include "mvev.h"
#include "pmwire.h"
#include "store_mv.h"

static int dlv__receipt_home(node *n, in_item *it)
{
    env_receipt r;
    err_t e;
    if (env_receipt_decode(it->v->payload, it->v->payload_len, &n->arena, &r,
                           &e) < 0)
        return in_refuse(n, it, "invalid-payload", "%s", e.msg);
    it->fx.receipted_id = arena_strdup(&n->arena, r.id);
    it->fx.receipt_from = it->v->origin;
    it->fx.rcpt = it->body;
    it->fx.rcpt_n = it->bn;
    it->fx.rcpt_ttl_ms = n->cfg->delivery.max_age_ms;
    if (r.status == ENV_REFUSED) {
        /* the destination will never apply it: keep why, for operators */
        it->fx.dlq_reason = "refused-by-destination";
        it->fx.dlq_where = arena_strdup(&n->arena, r.reason ? r.reason : "");
        it->fx.dlq_frame = it->body;
        it->fx.dlq_n = it->bn;
    }
    return 0;
}

/* A movement event: its claim part (docs/clearance.md, "Claims"), stored
 * with the receipt by the link script: a declaration adds its claims,
 * cancelled, rejected and written_off withdraw them. */
static int dlv__mv_claim(node *n, in_item *it, const mv_event *ev)
{
    int add = ev->type == MV_DECLARED;
    if (!add && ev->type != MV_CANCELLED && ev->type != MV_REJECTED &&
        ev->type != MV_WRITTEN_OFF)
        return 0;
    store_mv_claim *c = arena_zalloc(&n->arena, sizeof *c);
    const char **keys = arena_alloc(&n->arena, LEDGER_KEYS_MAX * sizeof *keys);
    err_t e;
    if (!c || !keys || ledger_keys(ev, &n->arena, keys, &c->nkeys, &e) < 0)
        return in_refuse(n, it, "invalid-payload", "movement %s: claim keys: "
                         "out of memory", ev->ref);
    c->ref = ev->ref;
    c->score = (int64_t)ev->at_ms; /* ignored by ZREM */
    c->keys = keys;
    c->add = add;
    it->fx.claim = c;
    return 0;
}

static int dlv__mv_ok(node *n, in_item *it)
{
    const env *v = it->v;
    mv_event ev;
    err_t e;
    if (mv_event_decode(v->payload, v->payload_len, &n->arena, &ev, &e) < 0)
        return in_refuse(n, it, "invalid-payload", "%s", e.msg);
    if (!v->ref || strcmp(v->ref, ev.ref))
        return in_refuse(n, it, "invalid-payload", "envelope ref %s is not "
                         "the event's movement %s", v->ref ? v->ref : "(none)",
                         ev.ref);
    return dlv__mv_claim(n, it, &ev);
}

/* A health message (fed_health.h) for the national center's view: it
 * must read and be the origin's own. */
static int dlv__health_ok(node *n, in_item *it)
{
    static fed_health h; /* 4 KiB; the loop is one thread */
    const env *v = it->v;
    err_t e;
    if (fed_health_decode(v->payload, v->payload_len, &h, &e) < 0)
        return in_refuse(n, it, "invalid-payload", "%s", e.msg);
    if (strcmp(h.node, v->origin))
        return in_refuse(n, it, "invalid-payload", "health of node %s sent "
                         "by %s", h.node, v->origin);
    return 0;
}

/* An alert for operators: a member (its certificate is good) signs
 * answers it has no authority for. */
static void dlv__pm_forged(node *n, const char *permit, const char *signer,
                           const char *home)
{
    char msg[160];
    err_t e;
    snprintf(msg, sizeof msg, "answer about permit %s signed by %s, not by "
             "its home %s", permit, signer, home);
    log_event(LOG_WARN, "permit_forged", "permit=%s signer=%s home=%s",
              permit, signer, home);
    if (store_alert_add(n->st, "permit-forged", permit, home, msg, &e) < 0)
        log_event(LOG_ERROR, "store", "op=alert msg=%s", log_q(e.msg));
}

/* A permit request must be for a permit homed here; an answer must be
 * signed by the home of the permit it is about: anything else is a
 * forgery, refused before any request can take it as evidence (a forger
 * must not be able to settle, or to block, someone else's declaration:
 * the genuine answer still counts when it comes). */
/* One item of a permit batch: its permit's home region into home; a
 * request must carry its id. */
static int dlv__pm_item(node *n, int req, const pm_item *it, char home[3],
                        const char **permit, err_t *e)
{
    pm_req q;
    pm_ans a;
    if (req ? pm_req_decode(it->p, it->n, &n->arena, &q, e)
            : pm_ans_decode(it->p, it->n, &n->arena, &a, e))
        return -1;
    if (req && !q.id)
        return err_set(e, ERR_REQUIRED, "permit request: key \"id\" "
                       "missing (a batch item must carry its request id)");
    *permit = req ? q.permit : a.permit;
    pm_id_region(*permit, home);
    return 0;
}

static int dlv__pm_ok(node *n, in_item *it)
{
    const env *v = it->v;
    int req = !strcmp(v->type, PM_REQ_TYPE);
    static pm_item items[PM_BATCH_MAX]; /* the loop is one thread */
    size_t k;
    err_t e;
    if (pm_batch_split(v->payload, v->payload_len, items, PM_BATCH_MAX, &k,
                       &e) < 0)
        return in_refuse(n, it, "invalid-payload", "%s", e.msg);
    const char *signer = node_region_of(n, v->signer);
    for (size_t i = 0; i < k; i++) {
        const char *permit = "?";
        char home[3] = "?";
        if (dlv__pm_item(n, req, &items[i], home, &permit, &e) < 0)
            return in_refuse(n, it, "invalid-payload", "item %zu: %s", i + 1,
                             e.msg);
        const char *want = req ? n->cfg->node.region : home;
        const char *got = req ? home : signer ? signer : "?";
        if (!strcmp(want, got))
            continue;
        if (!req)
            dlv__pm_forged(n, permit, v->signer, home);
        return in_refuse(n, it, "invalid-payload", req
                         ? "item %zu: permit %s is homed at %s, not here (%s)"
                         : "forged: item %zu: answer about permit %s signed "
                           "by %s, not by its home %s", i + 1, permit,
                         req ? home : v->signer,
                         req ? n->cfg->node.region : home);
    }
    it->fx.permit = 1;
    return 0;
}

static int dlv__payload_ok(node *n, in_item *it)
{
    const env *v = it->v;
    if (!strcmp(v->type, "ping"))
        return 0;
    if (!strcmp(v->type, PM_REQ_TYPE) || !strcmp(v->type, PM_ANS_TYPE))
        return dlv__pm_ok(n, it);
    if (!strcmp(v->type, MVEV_ENV_TYPE))
        return dlv__mv_ok(n, it);
    if (!strcmp(v->type, FED_HEALTH_TYPE))
        return dlv__health_ok(n, it);
    if (strcmp(v->type, "record"))
        return in_refuse(n, it, "unsupported-type", "type '%s' is not one "
                         "this node applies (record, ping, receipt, mv, "
                         "health, permit-op, permit-res)", v->type);
    model_record *rec;
    err_t e;
    if (model_unpack((const char *)v->payload, v->payload_len, &n->arena, &rec,
                     &e) < 0 || model_validate(rec, &e) < 0)
        return in_refuse(n, it, "invalid-payload", "%s", e.msg);
    return 0;
}

int in_deliver(node *n, in_item *it)
{
    const env *v = it->v;
    if (!strcmp(v->type, ENV_RECEIPT_TYPE))
        return dlv__receipt_home(n, it);
    if (dlv__payload_ok(n, it) < 0)
        return -1;
    unsigned char *digest = arena_alloc(&n->arena, ENV_DIGEST_LEN);
    err_t e;
    if (!digest || node__receipt_env_d(n, v, ENV_STORED, NULL, &it->rcpt,
                                       digest, &e) < 0) {
        log_event(LOG_ERROR, "receipt", "id=%s msg=%s", v->id,
                  log_q(digest ? e.msg : "out of memory"));
        it->kind = IN_GAP; /* not handled this round; the sender resends */
        return -1;
    }
    store_effect *fx = &it->fx;
    fx->msg_id = v->id;
    fx->origin = v->origin;
    fx->digest = digest;
    fx->frame = it->body;
    fx->frame_n = it->bn;
    fx->receipt_peer = it->back;
    fx->seen_ttl_ms = strcmp(v->type, FED_HEALTH_TYPE)
                          ? n->cfg->delivery.max_age_ms +
                                n->cfg->delivery.max_clock_skew_ms
                          : FED_HEALTH_SEEN_TTL_MS;
    fx->ledger = !strcmp(v->type, MVEV_ENV_TYPE);
    return 0;
}

/* A receipt decided after the store ran, queued on its own. */
static void dlv__late_receipt(node *n, in_item *it, env_status st,
                              const char *reason)
{
    char id[STORE_ID_MAX];
    err_t e;
    if (node__receipt(n, it->v, st, reason, &e) < 0 ||
        store_outbox_add(n->st, it->back, n->ebuf.p, n->ebuf.len, id, &e) < 0)
        log_event(LOG_ERROR, "receipt", "id=%s msg=%s", it->v->id,
                  log_q(e.msg));
}

/* Refusals of docs/protocol.md step 5 and 6: someone signs what the
 * federation's certificates do not vouch for. */
static int dlv__sig_failure(const char *code)
{
    static const char *const codes[] = {"bad-signature", "unknown-sender",
                                        "identity-mismatch", "cert-expired",
                                        "cert-revoked"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (!strcmp(code, codes[i]))
            return 1;
    return 0;
}

static void dlv__log_refusal(node *n, const in_item *it)
{
    n->refused++;
    /* eport_errors_total{reason="signature"} is counted by in_refuse */
    n->sig_failures += (uint64_t)dlv__sig_failure(it->code);
    log_event(LOG_WARN, "refused", "reason=%s peer=%s id=%s origin=%s msg=%s",
              it->code, it->peer->id, it->v ? it->v->id : "-",
              it->v ? log_q(it->v->origin) : "-", log_q(it->why));
}

void in_after(node *n, in_item *it, const store_link_result *r)
{
    if (r->status != STORE_LINK_DONE)
        return;
    if (it->code) {
        dlv__log_refusal(n, it);
        return;
    }
    if (it->fx.nfwd)
        n->forwarded++;
    if (it->fx.receipted_id) {
        n->receipts++;
        it->peer->last_receipt_ms = node__now_ms();
        if (it->v->ref) /* a movement's release may wait for it */
            node_ledger_receipt(n, it->v->ref, it->fx.receipted_id);
        if (it->fx.dlq_reason)
            log_event(LOG_WARN, "refused_by_destination", "id=%s dest=%s "
                      "msg=%s", it->fx.receipted_id, it->v->origin,
                      log_q(it->fx.dlq_where));
    }
    if (!it->fx.msg_id)
        return;
    if (r->reuse) {
        log_event(LOG_ERROR, "refused", "reason=id-reuse peer=%s id=%s "
                  "origin=%s msg=\"id already applied with another payload\"",
                  it->peer->id, it->v->id, it->v->origin);
        dlv__late_receipt(n, it, ENV_REFUSED,
                          "id-reuse: id already applied with another payload");
    } else if (r->dup == 2) {
        dlv__late_receipt(n, it, ENV_DUPLICATE, NULL);
    } else if (!r->dup) {
        n->delivered++;
        n->pm_wake |= it->fx.permit; /* answered this turn, not the next */
        log_event(LOG_DEBUG, "delivered", "id=%s origin=%s", it->v->id,
                  it->v->origin);
    }
}
