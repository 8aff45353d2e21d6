/* The movement side of permits (node_permit.h): what a declaration made
 * here cites is reserved at each permit's home; the release waits for
 * every reservation (node_permit_gate) and confirms them; a cancellation
 * returns them; each answer is a `permit` event (MV15) in the movement's
 * signed history, carrying the home's signed answer. Every step goes
 * under an id derived from the movement, so a ledger batch or a permit
 * batch handled again after a crash takes none twice. */
#include "node_permit_int.h"
#include "node_permit.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ledger.h"
#include "log.h"
#include "model_pack.h"
#include "mvact.h"
#include "mvrule.h"
#include "pmrec.h"
#include "store_mv.h"
#include "store_pm.h"

#define NPM_ARENA_MAX (16u << 20)
#define NPM_CITES_MAX 32       /* distinct permits one declaration cites */
#define NPM_TIMEOUT_MAX 256    /* timed-out requests handled per tick */

char *np_fmt(arena_t *a, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return arena_strdup(a, buf);
}

/* s cut to at most max bytes, at a UTF-8 character boundary. */
static char *npm__cut(arena_t *a, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    return arena_strndup(a, s, n);
}

/* ---- the gate ---- */

typedef struct npm_gate {
    buf_t *why;
    int pending, refused;
} npm_gate;

static int npm__gate_each(void *ctx, const char *permit, const char *state,
                          err_t *e)
{
    npm_gate *g = ctx;
    (void)e;
    if (!strcmp(state, "reserved") || !strcmp(state, "confirmed"))
        return 0;
    int refused = !strncmp(state, "refused", 7);
    if (refused && !g->refused)
        buf_reset(g->why);
    if (refused || !g->refused)
        buf_printf(g->why, "%s%s %s", g->why->len ? "; " : "", permit,
                   refused ? state : "(awaiting its home's answer)");
    g->refused += refused;
    g->pending += !refused;
    return 0;
}

int node_permit_gate(node *n, const char *ref, err_t *e)
{
    buf_t why;
    buf_init(&why, 4096);
    npm_gate g = {&why, 0, 0};
    int rc = store_pmq_gate_get(node_store(n), ref, npm__gate_each, &g, e);
    if (rc >= 0 && g.refused)
        rc = err_set(e, ERR_DENIED, "%s: released refused: permit %s", ref,
                     why.p);
    else if (rc >= 0 && g.pending) /* AGAIN: the claim gate looks again */
        rc = err_set(e, ERR_AGAIN, "%s: released refused: awaiting permit "
                     "verification: %s", ref, why.p);
    buf_free(&why);
    return rc < 0 ? rc : 0;
}

/* ---- requests for a movement, each once ---- */

static int npm__rid(node *n, const char *ref, const char *permit, pm_op op,
                    uint64_t ms, char rid[MSGID_LEN + 1], err_t *e)
{
    char key[192];
    int k = snprintf(key, sizeof key, "eport permit-request %s %s %s %s",
                     n->cfg->node.id, ref, permit, pm_op_name(op));
    return msgid_derive(ms, key, (size_t)k, rid, e);
}

static int npm__queue(node *n, const pm_req *q, const char *ref,
                      uint64_t ms, err_t *e)
{
    char rid[MSGID_LEN + 1];
    int rc = npm__rid(n, ref, q->permit, q->op, ms, rid, e);
    if (rc == 0)
        rc = store_pmq_add(n->st, rid, q, ref, node__now_ms(), e);
    if (rc == 0)
        log_event(LOG_INFO, "permit_request", "ref=%s permit=%s op=%s "
                  "rid=%s", ref, q->permit, pm_op_name(q->op), rid);
    n->pm_wake = 1;
    return rc < 0 ? rc : 0;
}

static int npm__declared(node *n, const mv_event *ev, arena_t *a, err_t *e)
{
    model_record *rec;
    pm_req *q = arena_zalloc(a, NPM_CITES_MAX * sizeof *q);
    const char **ids = arena_zalloc(a, NPM_CITES_MAX * sizeof *ids);
    size_t k = 0;
    if (!q || !ids)
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    err_t pe;
    if (model_unpack((const char *)ev->record, ev->record_len, a, &rec,
                     &pe) < 0 ||
        pmrec_citations(rec, ev->ref, NULL, ev->at_ms, a, q, NPM_CITES_MAX,
                        &k, &pe) < 0) {
        /* accepted before its citations were read: it is held, not
         * released on permits nobody checked */
        const char *bad = "(citations)";
        log_event(LOG_WARN, "permit_citations", "ref=%s msg=%s", ev->ref,
                  log_q(pe.msg));
        int rc = store_pmq_gate_open(n->st, ev->ref, &bad, 1, e);
        return rc < 0 ? rc : store_pmq_gate_set(n->st, ev->ref, bad,
                                                np_fmt(a, "refused bad-request:"
                                                       " %s", pe.msg), e);
    }
    for (size_t i = 0; i < k; i++)
        ids[i] = q[i].permit;
    int rc = k ? store_pmq_gate_open(n->st, ev->ref, ids, k, e) : 0;
    for (size_t i = 0; rc == 0 && i < k; i++)
        rc = npm__queue(n, &q[i], ev->ref, ev->at_ms, e);
    return rc;
}

/* released: confirm what is reserved; cancelled, rejected: return what
 * may be held (a late answer included: a cancel of nothing is harmless). */
typedef struct npm_follow {
    node *n;
    const mv_event *ev;
    pm_op op;
    int rc;
    err_t *e;
} npm_follow;

static int npm__follow_each(void *ctx, const char *permit, const char *state,
                            err_t *e)
{
    npm_follow *f = ctx;
    int take = f->op == PM_OP_CONFIRM ? !strcmp(state, "reserved")
                                      : strcmp(state, "confirmed") &&
                                            strcmp(state, "cancelled") &&
                                            strcmp(permit, "(citations)");
    if (!take)
        return 0;
    pm_req q = {.op = f->op, .permit = permit, .key = f->ev->ref,
                .at_ms = f->ev->at_ms};
    if ((f->rc = npm__queue(f->n, &q, f->ev->ref, f->ev->at_ms, e)) < 0)
        return f->rc;
    return 0;
}

static int npm__follow(node *n, const mv_event *ev, pm_op op, err_t *e)
{
    npm_follow f = {n, ev, op, 0, e};
    int rc = store_pmq_gate_get(n->st, ev->ref, npm__follow_each, &f, e);
    return rc < 0 ? rc : f.rc;
}

static int npm__departure(const node *n, const char *ref)
{
    char dep[3];
    mvref_region(ref, dep);
    return !strcmp(dep, n->cfg->node.region);
}

int node_permit_mv_event(node *n, const ledger_result *r)
{
    const mv_event *ev = r->item->ev;
    if (!npm__departure(n, ev->ref) || n->cfg->node.role == CFG_ROLE_NATIONAL)
        return 0;
    arena_t a;
    err_t e;
    int rc = 0;
    arena_init(&a, NPM_ARENA_MAX);
    if (ev->type == MV_DECLARED && ev->record_len)
        rc = npm__declared(n, ev, &a, &e);
    else if (ev->type == MV_RELEASED)
        rc = npm__follow(n, ev, PM_OP_CONFIRM, &e);
    else if (ev->type == MV_CANCELLED || ev->type == MV_REJECTED)
        rc = npm__follow(n, ev, PM_OP_CANCEL, &e);
    arena_free(&a);
    if (rc < 0)
        log_event(LOG_ERROR, "permits", "ref=%s ev=%s msg=%s", ev->ref,
                  mv_type_name(ev->type), log_q(e.msg));
    return rc;
}

/* ---- answers for a movement ---- */

/* One step of ref, authored once under an id derived from what caused
 * it (tag). ERR_PHASE is quiet: the step was taken, or no longer fits. */
static void npm__step(node *n, mv_event *ev, const char *tag, arena_t *a)
{
    mv_state s;
    err_t e;
    char as[MSGID_LEN + 1], id[MSGID_LEN + 1], key[192];
    int k = snprintf(key, sizeof key, "eport permit-step %s %s %s",
                     n->cfg->node.id, ev->ref, tag);
    int rc = mvact_load(n, ev->ref, a, &s, &e);
    if (rc == 0)
        rc = msgid_derive(s.declared_ms, key, (size_t)k, as, &e);
    if (rc == 0)
        rc = mvact_submit_as(n, ev, &s, 0, as, id, &e);
    if (rc < 0)
        log_event(rc == ERR_PHASE ? LOG_DEBUG : LOG_WARN, "permit_step",
                  "ref=%s ev=%s msg=%s", ev->ref, mv_type_name(ev->type),
                  log_q(e.msg));
}

static const char *npm__result(const pm_ans *a)
{
    if (a->code != PM_C_OK)
        return a->op == PM_OP_CANCEL ? "returned" : "refused";
    return a->op == PM_OP_RESERVE ? "reserved"
           : a->op == PM_OP_CONFIRM ? "written_off" : "returned";
}

static const char *npm__state(const pm_ans *a, arena_t *ar)
{
    if (a->op == PM_OP_CANCEL)
        return a->code == PM_C_CONFIRMED ? "confirmed" : "cancelled";
    if (a->code != PM_C_OK)
        return np_fmt(ar, "refused %s: %s", pm_code_name(a->code),
                      a->text ? a->text : pm_code_why(a->code));
    return a->op == PM_OP_RESERVE ? "reserved" : "confirmed";
}

/* A reservation refused: the declaration cannot be released on it, so
 * it is refused with the reason (cancelled; the others return). */
static void npm__refused(node *n, const char *ref, const pm_ans *ans,
                         arena_t *a)
{
    const char *why = np_fmt(a, "permit %s refused: %s: %s", ans->permit,
                             pm_code_name(ans->code),
                             ans->text ? ans->text : pm_code_why(ans->code));
    err_t e;
    log_event(LOG_WARN, "permit_refused", "ref=%s permit=%s code=%s", ref,
              ans->permit, pm_code_name(ans->code));
    if (store_alert_add(n->st, "permit-refused", ref, n->cfg->node.region,
                        why, &e) < 0)
        log_event(LOG_ERROR, "store", "op=alert msg=%s", log_q(e.msg));
    mv_event ev = {.type = MV_CANCELLED, .ref = ref,
                   .note = npm__cut(a, why, MV_NOTE_MAX)};
    npm__step(n, &ev, "cancel", a);
}

/* Every cited permit reserved: the release gate looks now. */
static void npm__wake_gate(node *n, const char *ref)
{
    err_t e;
    char decl[MSGID_LEN + 1];
    if (node_permit_gate(n, ref, &e) == 0 &&
        mvact_decl_id(n, ref, decl, &e) == 0)
        node_ledger_receipt(n, ref, decl);
}

void np_mv_answered(node *n, const char *ref, const char *rid,
                    const pm_ans *ans, const void *frame, size_t frame_n)
{
    arena_t a;
    err_t e;
    if (ans->op == PM_OP_VERIFY)
        return;
    arena_init(&a, NPM_ARENA_MAX);
    if (store_pmq_gate_set(n->st, ref, ans->permit, npm__state(ans, &a),
                           &e) < 0)
        log_event(LOG_ERROR, "permits", "ref=%s msg=%s", ref, log_q(e.msg));
    const char *note = ans->code == PM_C_OK
        ? ans->permit
        : np_fmt(&a, "%s: %s: %s", ans->permit, pm_code_name(ans->code),
                 ans->text ? ans->text : pm_code_why(ans->code));
    mv_event ev = {.type = MV_PERMIT, .ref = ref, .result = npm__result(ans),
                   .note = npm__cut(&a, note, MV_NOTE_MAX),
                   .record = frame, .record_len = frame ? frame_n : 0};
    npm__step(n, &ev, rid, &a);
    if (ans->op == PM_OP_RESERVE && ans->code != PM_C_OK)
        npm__refused(n, ref, ans, &a);
    else if (ans->op == PM_OP_RESERVE)
        npm__wake_gate(n, ref);
    arena_free(&a);
}

void np_mv_answered_again(node *n, const char *rid, arena_t *a)
{
    store_pmq_view v;
    buf_t p, f;
    err_t e;
    pm_ans ans;
    buf_init(&p, PM_MAX_BYTES);
    buf_init(&f, ENV_MAX_FRAME);
    if (store_pmq_get(n->st, rid, &v, &p, &f, &e) == 0 && v.for_ref[0] &&
        p.len && pm_ans_decode(p.p, p.len, a, &ans, &e) == 0)
        np_mv_answered(n, v.for_ref, rid, &ans, f.len ? f.p : NULL, f.len);
    buf_free(&p);
    buf_free(&f);
}

/* ---- ticks ---- */

typedef struct npm_late {
    node *n;
    const char **rids;
    pm_ans *ans;
    size_t k;
    int64_t now;
} npm_late;

/* A movement's reservation past answer_timeout_s: answered here. */
static int npm__late_each(void *ctx, const char *rid, int64_t at, err_t *e)
{
    npm_late *l = ctx;
    store_pmq_view v;
    (void)at;
    if (store_pmq_get(l->n->st, rid, &v, NULL, NULL, e) < 0 ||
        !v.for_ref[0] || strcmp(v.op, "reserve") || strcmp(v.state, "queued"))
        return 0;
    arena_t *a = np_arena(l->n);
    char home[3];
    pm_id_region(v.permit, home);
    l->rids[l->k] = arena_strdup(a, rid);
    l->ans[l->k++] = (pm_ans){
        .req = l->rids[l->k - 1], .op = PM_OP_RESERVE,
        .permit = arena_strdup(a, v.permit), .key = arena_strdup(a, v.key),
        .code = PM_C_UNREACHABLE, .at_ms = (uint64_t)l->now,
        .text = np_fmt(a, "home %s did not answer within %lld s", home,
                       (long long)l->n->cfg->permits.answer_timeout_s)};
    return 0;
}

static void npm__timeouts(node *n, int64_t now, err_t *e)
{
    arena_t *a = np_arena(n);
    npm_late l = {n, arena_zalloc(a, NPM_TIMEOUT_MAX * sizeof *l.rids),
                  arena_zalloc(a, NPM_TIMEOUT_MAX * sizeof *l.ans), 0, now};
    if (!l.rids || !l.ans)
        return;
    int64_t before = now - n->cfg->permits.answer_timeout_s * 1000;
    if (store_pmq_waiting(n->st, before, NPM_TIMEOUT_MAX, npm__late_each, &l,
                          e) < 0 ||
        (l.k && np_answer_local(n, l.rids, l.ans, l.k, e) < 0))
        log_event(LOG_ERROR, "permits", "op=timeouts msg=%s", log_q(e->msg));
}

void np_tick(node *n, int64_t now)
{
    err_t e;
    int k = store_pm_expire(n->st, now, NODE_PERMIT_BATCH, &e);
    if (k < 0)
        log_event(LOG_ERROR, "permits", "op=expire msg=%s", log_q(e.msg));
    else if (k > 0)
        log_event(LOG_INFO, "permit_expired", "reservations=%d", k);
    if (n->cfg->permits.unreachable == CFG_PM_REFUSE)
        npm__timeouts(n, now, &e);
}
