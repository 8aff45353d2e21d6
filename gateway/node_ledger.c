/* The movement ledger in eportd's loop (docs/clearance.md): v1:mvin read
 * in order after v1:ledger:pos, a batch at a time, through the apply
 * engine (ledger.c); then what the node does about what was applied:
 * alerts, log lines and the automatic steps of ledger.auto. Ticks run
 * the release gate of the movements declared here (v1:mv:claimwait) and
 * their time limits (v1:mv:limit). The gate is event-driven: a movement
 * is looked at when a receipt of its declaration comes home or its
 * declaration is applied here (whichever is last), so a release follows
 * its last receipt in the same turn; a scan every LG_GATE_SCAN_MS of the
 * movements waiting longer than LG_GATE_AGE_MS catches what no event
 * woke (receipts of before a restart, a full wake list). Automatic steps
 * are node_ledger_auto.c's.
 *
 * The position is saved after the batch and after its automatic steps:
 * a crash before that applies the batch again, and events applied
 * before come back as duplicates: no alert again, but their steps are
 * looked at again (a crash may have come before them), each under its
 * derived id, so none is taken twice. */
#include "node_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "node_cbec.h"
#include "node_ledger_int.h"
#include "log.h"
#include "mvact.h"
#include "mvrule.h"
#include "node_permit.h"
#include "store_mv.h"

#define LG_ARENA_MAX (512u << 20)
#define LG_POLL_MS 10          /* v1:mvin read at least this often */
#define LG_RETRY_MS 500        /* after a store error */
#define LG_GATE_SLOTS 16384    /* movements at the gate remembered */
#define LG_GATE_PROBE 8        /* slots looked at per movement */
#define LG_GATE_SCAN_MS 200    /* the movements at the gate looked at */
#define LG_GATE_AGE_MS 1000    /* by the scan: declared that long ago (the
                                  younger ones are woken by receipts) */
#define LG_WAKE_MAX 4096       /* receipts come home, to look at */
#define LG_ENQ_MAX 256         /* enquiries in flight remembered */
#define LG_ENQ_HOLD_MS 10000   /* no second enquiry that soon */
#define LG_DUE_MAX 256         /* refs looked at per tick and zset */

/* What the gate knows of a movement declared here: its declaration's
 * id (so a tick costs one receipt read while receipts are missing) and
 * whether it settled (released: no second release while the first is on
 * its way through v1:mvin). A cache: a movement evicted is looked up
 * again. */
typedef struct lg_gate {
    char ref[MVREF_LEN + 1];
    char decl[MSGID_LEN + 1];
    int settled;
} lg_gate;

typedef struct lg_wake {
    char ref[MVREF_LEN + 1];
    char id[MSGID_LEN + 1];   /* the message receipted */
} lg_wake;

typedef struct lg_enq {
    char ref[MVREF_LEN + 1];
    int64_t at;
} lg_enq;

struct node_lg {
    arena_t a;                 /* one batch, its results and steps */
    store_pos pos;
    int pos_known;
    int64_t next_poll_ms, next_tick_ms, next_gate_ms;
    nl_auto au;                /* this batch's automatic steps */
    lg_gate gate[LG_GATE_SLOTS];
    lg_wake wake[LG_WAKE_MAX]; /* since the last turn; more: the scan */
    size_t nwake;
    lg_enq enq[LG_ENQ_MAX];    /* ring */
    size_t nenq;
    int notify_failed;         /* this batch: a notification not queued */
};

typedef struct lg_read {
    node *n;
    ledger_item *items;
    size_t k;
    store_pos last;
} lg_read;

static const char *nl__author(void *ctx, const char *signer)
{
    node *n = ctx;
    return node_region_of(n, signer);
}

static int nl__is_departure(const node *n, const char *ref)
{
    char dep[3];
    mvref_region(ref, dep);
    return !strcmp(dep, n->cfg->node.region);
}

static void nl__alert(node *n, const char *kind, const char *ref,
                      const char *region, const char *msg)
{
    err_t e;
    if (store_alert_add(n->st, kind, ref, region, msg, &e) < 0)
        log_event(LOG_ERROR, "store", "op=alert kind=%s ref=%s msg=%s", kind,
                  ref, log_q(e.msg));
}

/* ---- what the node does about an event applied or refused ---- */

static lg_gate *nl__gate_slot(struct node_lg *lg, const char *ref);

/* Its own declaration applied: the gate learns its id (no log read) and
 * looks at it this turn, as every receipt may be home already. */
static void nl__declared(node *n, const char *ref, const char *id)
{
    lg_gate *g = nl__gate_slot(n->lg, ref);
    snprintf(g->decl, sizeof g->decl, "%s", id);
    node_ledger_receipt(n, ref, id);
}

static void nl__applied(node *n, const ledger_result *r)
{
    const mv_event *ev = r->item->ev;
    const mv_state *s = r->after;
    int national = n->cfg->node.role == CFG_ROLE_NATIONAL;
    log_event(LOG_DEBUG, "mv_applied", "ref=%s ev=%s by=%s id=%s phase=%s",
              ev->ref, mv_type_name(ev->type), r->item->author, r->item->id,
              mv_phase_name(s->phase));
    if (ev->type == MV_RELEASED)
        log_event(LOG_INFO, "released", "ref=%s by=%s limit_ms=%llu",
                  ev->ref, r->item->author,
                  (unsigned long long)s->data.limit_ms);
    if (ev->type == MV_DISCREPANCY &&
        (national || nl__is_departure(n, ev->ref))) {
        char msg[MV_NOTE_MAX + 128];
        snprintf(msg, sizeof msg, "%s found by %s: %s", ev->result,
                 r->item->author, ev->note ? ev->note : "");
        log_event(LOG_WARN, "discrepancy", "ref=%s by=%s res=%s", ev->ref,
                  r->item->author, ev->result);
        nl__alert(n, "discrepancy", ev->ref, r->item->author, msg);
    }
    if (ev->type == MV_ENQUIRY && national) {
        log_event(LOG_WARN, "movement_overdue", "ref=%s by=%s enquiries=%u",
                  ev->ref, r->item->author, s->enquiries);
        nl__alert(n, "movement-overdue", ev->ref, r->item->author,
                  "time limit passed without arrival");
    }
    if (ev->type == MV_DECLARED && nl__is_departure(n, ev->ref))
        nl__declared(n, ev->ref, r->item->id);
    if (ev->type == MV_REJECTED && national)
        nl__alert(n, "double-declaration", ev->ref, r->item->author,
                  ev->winner ? ev->winner : "");
}

static void nl__hook(void *ctx, const ledger_result *r)
{
    node *n = ctx;
    const ledger_item *it = r->item;
    nl_auto_note(n, &n->lg->au, r); /* applied or a duplicate */
    if ((r->outcome == LEDGER_APPLIED || r->outcome == LEDGER_DUP) &&
        (node_notify_event(n, r) < 0 || /* before the position is saved */
         node_permit_mv_event(n, r) < 0))
        n->lg->notify_failed = 1;
    if (r->outcome == LEDGER_APPLIED) {
        nl__applied(n, r);
    } else if (r->outcome == LEDGER_REFUSED) {
        log_event(LOG_WARN, "ledger_refused", "ref=%s ev=%s by=%s id=%s "
                  "code=%s msg=%s", it->ev->ref, mv_type_name(it->ev->type),
                  it->author ? it->author : "?", it->id,
                  err_name(r->why->code), log_q(r->why->msg));
        nl__alert(n, "ledger-refused", it->ev->ref,
                  it->author ? it->author : "", r->why->msg);
    } else if (r->outcome == LEDGER_PARKED) {
        log_event(LOG_DEBUG, "mv_parked", "ref=%s ev=%s id=%s prev=%s",
                  it->ev->ref, mv_type_name(it->ev->type), it->id,
                  it->ev->prev);
    }
}

/* ---- the batch ---- */

static int nl__record(void *ctx, store_pos pos, const char *id,
                      const char *origin, const void *frame, size_t len,
                      err_t *e)
{
    lg_read *r = ctx;
    node *n = r->n;
    env *v;
    mv_event *ev = arena_zalloc(&n->lg->a, sizeof *ev);
    void *copy = arena_alloc(&n->lg->a, len ? len : 1);
    (void)origin;
    r->last = pos;
    if (!ev || !copy)
        return err_set(e, ERR_NOMEM, "ledger: out of memory");
    memcpy(copy, frame, len);
    err_t de;
    int rc = ledger_decode(copy, len, &n->lg->a, &v, ev, &de);
    if (rc < 0) /* it was checked when stored: say so and go on */
        log_event(LOG_ERROR, "ledger_skip", "id=%s msg=%s", id, log_q(de.msg));
    if (rc != 0)
        return 0;
    r->items[r->k++] = (ledger_item){.id = v->id, .ev = ev, .frame = copy,
                                     .frame_n = len,
                                     .author = node_region_of(n, v->signer)};
    return 0;
}

static int nl__open(node *n)
{
    if (n->lg)
        return 0;
    n->lg = calloc(1, sizeof *n->lg);
    if (!n->lg)
        return -1;
    arena_init(&n->lg->a, LG_ARENA_MAX);
    return 0;
}

/* Also what the loop's other parts made (node_close calls this one). */
void node_ledger_close(node *n)
{
    node_local_close(n);
    node_cbec_close(n);
    node_notify_close(n);
    node_permit_close(n);
    if (!n->lg)
        return;
    arena_free(&n->lg->a);
    free(n->lg);
    n->lg = NULL;
}

static int nl__apply(node *n, lg_read *r, err_t *e)
{
    struct node_lg *lg = n->lg;
    ledger l = {.st = n->st, .region = n->cfg->node.region,
                .national = n->cfg->node.role == CFG_ROLE_NATIONAL,
                .period_ms = n->cfg->ledger.time_limit_h * 3600000,
                .hook = nl__hook, .hook_ctx = n,
                .author = nl__author, .author_ctx = n};
    nl_auto_begin(&lg->au);
    lg->notify_failed = 0;
    int rc = ledger_apply(&l, r->items, r->k, &lg->a, e);
    if (rc == 0)
        nl_auto_take(n, &lg->au, &lg->a);
    if (rc == 0 && lg->notify_failed) /* the batch again: they are once */
        rc = err_set(e, ERR_IO, "ledger: a notification for a local "
                     "system or a permit request was not queued; the batch "
                     "runs again");
    return rc;
}

int node_ledger_drain(node *n, int64_t now)
{
    if (nl__open(n) < 0)
        return 0;
    struct node_lg *lg = n->lg;
    err_t e;
    if (now < lg->next_poll_ms)
        return 0;
    lg->next_poll_ms = now + LG_POLL_MS;
    if (!lg->pos_known && store_ledger_pos_get(n->st, &lg->pos, &e) < 0)
        goto fail;
    lg->pos_known = 1;
    arena_reset(&lg->a);
    lg_read r = {n, arena_alloc(&lg->a, STORE_MV_BATCH * sizeof *r.items), 0,
                 lg->pos};
    if (!r.items)
        return 0;
    int got = store_mvin_after(n->st, lg->pos, STORE_MV_BATCH, nl__record, &r,
                             &e);
    if (got < 0 || nl__apply(n, &r, &e) < 0 ||
        (got > 0 && store_ledger_pos_set(n->st, r.last, &e) < 0))
        goto fail;
    node_notify_flush(n);
    lg->pos = r.last;
    if (got == STORE_MV_BATCH)
        lg->next_poll_ms = now;
    return got;
fail:
    log_event(LOG_ERROR, "ledger", "msg=%s", log_q(e.msg));
    lg->next_poll_ms = now + LG_RETRY_MS;
    return 0;
}

/* ---- ticks: the release gate and time limits ---- */

/* ref's slot at the gate: its own, else a free one, else the first
 * probed (evicted: a cache). */
static lg_gate *nl__gate_slot(struct node_lg *lg, const char *ref)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = ref; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    lg_gate *free_ = NULL;
    for (uint32_t i = 0; i < LG_GATE_PROBE; i++) {
        lg_gate *g = &lg->gate[(h + i) % LG_GATE_SLOTS];
        if (!strcmp(g->ref, ref))
            return g;
        if (!free_ && !g->ref[0])
            free_ = g;
    }
    lg_gate *g = free_ ? free_ : &lg->gate[h % LG_GATE_SLOTS];
    *g = (lg_gate){.settled = 0};
    snprintf(g->ref, sizeof g->ref, "%s", ref);
    return g;
}

/* The state of ref in the ledger arena; -1 when it cannot be read. */
static int nl__state(node *n, const char *ref, mv_state *s, err_t *e)
{
    buf_t b;
    buf_init(&b, ENV_MAX_FRAME);
    int rc = store_mv_state(n->st, ref, &b, e);
    if (rc == 0)
        rc = mv_state_decode(b.p, b.len, &n->lg->a, s, e);
    buf_free(&b);
    return rc;
}

/* Lost: rejected once (a derived id: the gate looks again until it is
 * applied, and after a restart); said and alerted when first sent. */
static int nl__lost(node *n, const char *ref, const mv_state *s,
                    const char *winner, const char *why)
{
    mv_event ev = {.type = MV_REJECTED, .ref = ref, .winner = winner,
                   .note = why};
    int rc = nl_auto_once(n, &ev, s, 0, 0);
    if (rc == 0) {
        log_event(LOG_WARN, "double_declaration", "ref=%s winner=%s msg=%s",
                  ref, winner, log_q(why));
        nl__alert(n, "double-declaration", ref, n->cfg->node.region, why);
    }
    return rc;
}

/* Settled: released at once under ledger.auto (a derived id: a release
 * sent before a restart is not sent again). */
static int nl__settled(node *n, const char *ref, const mv_state *s)
{
    log_event(LOG_INFO, "claim_settled", "ref=%s", ref);
    if (!cfg_ledger_auto(n->cfg, "release"))
        return 0;
    mv_event ev = {.type = MV_RELEASED, .ref = ref};
    /* gated: mvact_gate said settled just now, in this thread */
    return nl_auto_once(n, &ev, s, 1, 0);
}

/* Done at the gate once its step is sent (or was sent before), or
 * refused by the rules (looked at again only after a restart, as an
 * operator's release may be due); a store failure is tried again at the
 * next look: the derived id keeps that from sending it twice. */
static int nl__gate_done(int rc)
{
    return rc != ERR_IO && rc != ERR_AGAIN && rc != ERR_NOMEM;
}

/* Receipts first (one read while any is missing: the common case right
 * after declaring), then the state and the whole gate. */
static int nl__gate_one(void *ctx, const char *ref, int64_t score, err_t *e)
{
    node *n = ctx;
    lg_gate *g = nl__gate_slot(n->lg, ref);
    mv_state s;
    char winner[32];
    (void)score;
    if (g->settled)
        return 0;
    int rc = g->decl[0] ? 0 : mvact_decl_id(n, ref, g->decl, e);
    if (rc == 0)
        rc = mvact_unreceipted(n, g->decl, e);
    if (rc != 0) {
        if (rc < 0)
            log_event(LOG_WARN, "claim_gate", "ref=%s msg=%s", ref,
                      log_q(e->msg));
        return 0;
    }
    if (nl__state(n, ref, &s, e) < 0 || s.phase != MV_P_DECLARED)
        return 0; /* leaving claimwait as its next event is applied */
    buf_t why;
    buf_init(&why, 4096);
    rc = mvact_gate_claims(n, ref, &s, &why, winner, e);
    if (rc < 0)
        log_event(LOG_WARN, "claim_gate", "ref=%s msg=%s", ref, log_q(e->msg));
    else if (rc == 1 || rc == 2)
        g->settled = nl__gate_done(rc == 1 ? nl__settled(n, ref, &s)
                                           : nl__lost(n, ref, &s, winner,
                                                      why.p ? why.p : ""));
    buf_free(&why);
    return 0;
}

static int nl__enq_recent(struct node_lg *lg, const char *ref, int64_t now)
{
    size_t n = lg->nenq < LG_ENQ_MAX ? lg->nenq : LG_ENQ_MAX;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(lg->enq[i].ref, ref) && now - lg->enq[i].at < LG_ENQ_HOLD_MS)
            return 1;
    return 0;
}

/* A time limit passed: one enquiry (its application re-arms the limit). */
static int nl__limit_one(void *ctx, const char *ref, int64_t score, err_t *e)
{
    node *n = ctx;
    struct node_lg *lg = n->lg;
    int64_t now = node__now_ms();
    (void)score, (void)e;
    if (nl__enq_recent(lg, ref, now))
        return 0;
    lg_enq *q = &lg->enq[lg->nenq++ % LG_ENQ_MAX];
    snprintf(q->ref, sizeof q->ref, "%s", ref);
    q->at = now;
    mv_event ev = {.type = MV_ENQUIRY, .ref = ref};
    char id[MSGID_LEN + 1];
    err_t se;
    if (mvact_submit(n, &ev, id, &se) < 0)
        log_event(LOG_WARN, "mv_enquiry", "ref=%s msg=%s", ref, log_q(se.msg));
    else
        log_event(LOG_INFO, "mv_enquiry", "ref=%s id=%s", ref, id);
    return 0;
}

void node_ledger_receipt(node *n, const char *ref, const char *id)
{
    struct node_lg *lg = n->lg;
    err_t e;
    /* any record may carry a ref: only movements declared here wait */
    if (!lg || lg->nwake >= LG_WAKE_MAX || strlen(id) > MSGID_LEN ||
        mvref_check(ref, &e) < 0 || !nl__is_departure(n, ref))
        return;
    lg_wake *w = &lg->wake[lg->nwake++];
    memcpy(w->ref, ref, strlen(ref) + 1);
    memcpy(w->id, id, strlen(id) + 1);
}

/* The movements whose declaration a receipt just answered: the release
 * follows the last receipt at once, not the next scan. */
static void nl__woken(node *n)
{
    struct node_lg *lg = n->lg;
    err_t e;
    for (size_t i = 0; i < lg->nwake; i++) {
        const lg_wake *w = &lg->wake[i];
        lg_gate *g = nl__gate_slot(lg, w->ref);
        if (g->settled || (!g->decl[0] &&
                           mvact_decl_id(n, w->ref, g->decl, &e) < 0))
            continue;
        if (!strcmp(g->decl, w->id)) /* not a later event's receipt */
            nl__gate_one(n, w->ref, 0, &e);
    }
    lg->nwake = 0;
}

/* Each turn the movements woken by receipts; every LG_GATE_SCAN_MS all
 * of claimwait (receipts of before a restart, wakes not kept); time
 * limits every NODE_LEDGER_TICK_MS. */
void node_ledger_tick(node *n, int64_t now)
{
    struct node_lg *lg = n->lg;
    if (!lg || n->cfg->node.role == CFG_ROLE_NATIONAL)
        return;
    arena_reset(&lg->a);
    if (lg->nwake)
        nl__woken(n);
    if (now < lg->next_gate_ms)
        return;
    lg->next_gate_ms = now + LG_GATE_SCAN_MS;
    err_t e;
    if (store_mv_due(n->st, "claimwait", now - LG_GATE_AGE_MS, LG_DUE_MAX,
                     nl__gate_one, n, &e) < 0)
        log_event(LOG_ERROR, "ledger_tick", "msg=%s", log_q(e.msg));
    if (now < lg->next_tick_ms)
        return;
    lg->next_tick_ms = now + NODE_LEDGER_TICK_MS;
    if (store_mv_due(n->st, "limit", now, LG_DUE_MAX, nl__limit_one, n,
                     &e) < 0)
        log_event(LOG_ERROR, "ledger_tick", "msg=%s", log_q(e.msg));
}
