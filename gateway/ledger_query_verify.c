/* ledger_query: verify, the re-check of a movement's whole signed history
 * from the frames alone: nothing stored beside them (state, ids) is
 * trusted, so tampering with the log, or with the state, shows. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "envcheck.h"
#include "ledger_query.h"
#include "pmwire.h"
#include "store_mv.h"

/* What verify carries from one entry to the next. */
typedef struct lq_ver {
    envcheck *ec;
    const char *ref;
    arena_t *a;
    lq_check_fn fn;
    void *ctx;
    uint32_t n, bad;
    const char **ids;        /* ids of the entries so far (prev chain) */
    size_t nids, cap;
    mv_state cur;            /* replayed so far (phase NONE: nothing) */
    int err;                 /* a failure to report, not a finding */
    err_t *e;
} lq_ver;

static const char *lq__fmt(arena_t *a, const char *fmt, const char *x,
                           const char *y)
{
    char s[ERR_MSG_MAX + 128];
    snprintf(s, sizeof s, fmt, x, y ? y : "");
    const char *p = arena_strdup(a, s);
    return p ? p : "out of memory";
}

static int lq__seen(const lq_ver *w, const char *id)
{
    for (size_t i = 0; i < w->nids; i++)
        if (!strcmp(w->ids[i], id))
            return 1;
    return 0;
}

static int lq__remember(lq_ver *w, const char *id)
{
    if (w->nids == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 64;
        const char **v = arena_alloc(w->a, nc * sizeof *v);
        if (!v)
            return ERR_NOMEM;
        if (w->nids)
            memcpy(v, w->ids, w->nids * sizeof *v);
        w->ids = v, w->cap = nc;
    }
    w->ids[w->nids++] = id;
    return 0;
}

/* The chain and ownership facts an event must agree with. */
static const char *lq__links(lq_ver *w, const env *v, const mv_event *ev,
                             const char *region)
{
    if (strcmp(v->type, MVEV_ENV_TYPE))
        return lq__fmt(w->a, "envelope of type %s, not %s", v->type,
                       MVEV_ENV_TYPE);
    if (!v->ref || strcmp(v->ref, w->ref))
        return lq__fmt(w->a, "envelope names movement %s, not %s",
                       v->ref ? v->ref : "(none)", w->ref);
    if (strcmp(ev->ref, w->ref))
        return lq__fmt(w->a, "event names movement %s, not %s", ev->ref,
                       w->ref);
    if (!ev->by || strcmp(ev->by, region))
        return lq__fmt(w->a, "event says by %s, but its signer's "
                       "certificate is of region %s", ev->by, region);
    if (lq__seen(w, v->id))
        return lq__fmt(w->a, "message %s appears twice in the log%s",
                       v->id, NULL);
    if (w->n == 1 && ev->prev)
        return lq__fmt(w->a, "the first event has prev %s%s", ev->prev,
                       NULL);
    if (w->n > 1 && (!ev->prev || !lq__seen(w, ev->prev)))
        return lq__fmt(w->a, "prev %s is not an earlier entry of the "
                       "log%s", ev->prev ? ev->prev : "(none)", NULL);
    return NULL;
}

/* 1 when the batch of answers v carries one about permit id. */
static int lq__answers(const env *v, const char *id, arena_t *a)
{
    pm_item *it = arena_alloc(a, PM_BATCH_MAX * sizeof *it);
    size_t k = 0;
    err_t sub;
    if (!it || pm_batch_split(v->payload, v->payload_len, it, PM_BATCH_MAX,
                              &k, &sub) < 0)
        return 0;
    for (size_t i = 0; i < k; i++) {
        pm_ans ans;
        if (pm_ans_decode(it[i].p, it[i].n, a, &ans, &sub) == 0 &&
            !strcmp(ans.permit, id))
            return 1;
    }
    return 0;
}

/* A permit event's evidence (docs/permits.md): the home's answer, signed
 * by a node of the permit's region and about that permit; without one,
 * the permit must be homed at the event's author itself, or the event is
 * the author's own refusal (it draws nothing). */
static const char *lq__permit(lq_ver *w, const mv_event *ev,
                              const char *author)
{
    char id[PM_ID_MAX + 1], home[3];
    size_t k = strcspn(ev->note ? ev->note : "", ":");
    snprintf(id, sizeof id, "%.*s", (int)k, ev->note ? ev->note : "");
    pm_id_region(id, home);
    /* a refusal the departure decided itself (permits.unreachable:
     * refuse, or a permit of a region with no member) has no answer of
     * the home behind it; it draws nothing and only stops the author's
     * own declaration, so it needs no one else's word */
    int own = ev->result && !strcmp(ev->result, "refused");
    if (!ev->record_len)
        return strcmp(home, author) && !own
                   ? lq__fmt(w->a, "permit %s: no answer of its home %s "
                             "kept", id, home)
                   : NULL;
    env *v;
    const pki_peer *pp;
    err_t sub;
    if (envcheck_frame(w->ec, ev->record, ev->record_len, time(NULL), w->a,
                       &v, &pp, &sub) < 0)
        return lq__fmt(w->a, "permit answer: %s%s", sub.msg, NULL);
    if (strcmp(pki_peer_identity(pp)->region, home))
        return lq__fmt(w->a, "permit answer about %s signed by region %s",
                       id, pki_peer_identity(pp)->region);
    if (strcmp(v->type, PM_ANS_TYPE) || !lq__answers(v, id, w->a))
        return lq__fmt(w->a, "permit answer of %s: not a %s about it", id,
                       PM_ANS_TYPE);
    return NULL;
}

/* Signature, decoding, links, rules: the first failure, or NULL. */
static const char *lq__entry(lq_ver *w, const void *frame, size_t n,
                             lq_check *c)
{
    env *v;
    const pki_peer *pp;
    err_t sub;
    int rc = envcheck_frame(w->ec, frame, n, time(NULL), w->a, &v, &pp,
                            &sub);
    if (v)
        c->id = v->id, c->signer = v->signer, c->alg = v->sig_alg;
    if (pp) {
        c->region = pki_peer_identity(pp)->region;
        c->subject = pki_peer_identity(pp)->subject;
    }
    if (rc < 0)
        return lq__fmt(w->a, "%s: %s", !v ? "envelope" : !pp ? "certificate"
                       : "signature", sub.msg);
    mv_event *ev = arena_alloc(w->a, sizeof *ev);
    if (!ev || mv_event_decode(v->payload, v->payload_len, w->a, ev,
                               &sub) < 0)
        return lq__fmt(w->a, "event: %s%s", ev ? sub.msg : "out of memory",
                       NULL);
    c->at_ms = ev->at_ms, c->event = mv_type_name(ev->type);
    const char *why = lq__links(w, v, ev, c->region);
    if (!why && ev->type == MV_PERMIT)
        why = lq__permit(w, ev, c->region);
    if (why)
        return why;
    mv_state next;
    if (mv_rule_apply(w->cur.phase == MV_P_NONE ? NULL : &w->cur, ev, v->id,
                      c->region, w->a, &next, &sub) < 0)
        return lq__fmt(w->a, "rules: %s (%s)", sub.msg, err_name(sub.code));
    w->cur = next;
    return NULL;
}

static int lq__verify_one(void *ctx, const char *id, const void *frame,
                          size_t n, err_t *e)
{
    (void)id, (void)e;
    lq_ver *w = ctx;
    lq_check c = { .n = ++w->n, .event = "?" };
    c.why = lq__entry(w, frame, n, &c);
    c.ok = !c.why;
    if (c.id && lq__remember(w, c.id) < 0)
        return err_set(w->e, ERR_NOMEM, "verify %s: out of memory", w->ref);
    w->bad += !c.ok;
    w->fn(w->ctx, &c);
    return 0;
}

/* The last check: the state the log leads to is the state stored. */
static int lq__final(store *st, lq_ver *w, err_t *e)
{
    buf_t b;
    buf_init(&b, 1u << 24);
    mv_state stored;
    lq_check c = { .n = 0, .event = "state", .id = w->cur.last_id };
    int rc = store_mv_state(st, w->ref, &b, e);
    if (rc == 0 && mv_state_decode(b.p, b.len, w->a, &stored, e) < 0)
        c.why = lq__fmt(w->a, "stored state: %s%s", e->msg, NULL);
    else if (rc == 0)
        c.why = lq_state_diff(&stored, &w->cur, w->a);
    buf_free(&b);
    if (rc < 0)
        return rc;
    c.ok = !c.why;
    w->bad += !c.ok;
    w->fn(w->ctx, &c);
    return 0;
}

int lq_verify(store *st, envcheck *ec, const char *ref, arena_t *a,
              lq_check_fn fn, void *ctx, err_t *e)
{
    lq_ver w = { .ec = ec, .ref = ref, .a = a, .fn = fn, .ctx = ctx, .e = e };
    memset(&w.cur, 0, sizeof w.cur);
    buf_t probe;
    buf_init(&probe, 1u << 24);
    int rc = store_mv_state(st, ref, &probe, e);
    buf_free(&probe);
    if (rc == ERR_NOTFOUND)
        return err_set(e, ERR_NOTFOUND, "movement %s: not known at this "
                       "node", ref);
    if (rc == 0)
        rc = store_mv_log(st, ref, lq__verify_one, &w, e);
    if (rc >= 0)
        rc = lq__final(st, &w, e);
    return rc < 0 ? rc : (int)w.bad;
}

/* ---- comparing states ---- */

static const char *lq__s(const char *s)
{
    return s ? s : "-";
}

static const char *lq__num_diff(const char *f, uint64_t x, uint64_t y,
                                arena_t *a)
{
    char s[160];
    snprintf(s, sizeof s, "%s: stored %llu, replayed %llu", f,
             (unsigned long long)x, (unsigned long long)y);
    return arena_strdup(a, s);
}

static const char *lq__str_diff(const char *f, const char *x, const char *y,
                                arena_t *a)
{
    if (!strcmp(lq__s(x), lq__s(y)))
        return NULL;
    char s[400];
    snprintf(s, sizeof s, "%s: stored %s, replayed %s", f, lq__s(x),
             lq__s(y));
    return arena_strdup(a, s);
}

const char *lq_state_diff(const mv_state *x, const mv_state *y, arena_t *a)
{
    const struct { const char *f; uint64_t x, y; } nums[] = {
        {"phase", x->phase, y->phase}, {"events", x->nevents, y->nevents},
        {"enquiries", x->enquiries, y->enquiries},
        {"declared", x->declared_ms, y->declared_ms},
        {"released", x->released_ms, y->released_ms},
        {"arrived", x->arrived_ms, y->arrived_ms},
        {"closed", x->closed_ms, y->closed_ms},
        {"itinerary", x->data.nitin, y->data.nitin},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        if (nums[i].x != nums[i].y)
            return lq__num_diff(nums[i].f, nums[i].x, nums[i].y, a);
    for (uint32_t i = 0; i < x->data.nitin && i < MV_ITIN_MAX; i++)
        if (x->stop[i] != y->stop[i])
            return lq__str_diff(x->data.itin[i], lq_stop_name(x->stop[i]),
                                lq_stop_name(y->stop[i]), a);
    const struct { const char *f, *x, *y; } strs[] = {
        {"last", x->last_id, y->last_id}, {"held", x->held, y->held},
        {"hold_why", x->hold_why, y->hold_why}, {"risk", x->risk, y->risk},
        {"control", x->control, y->control},
        {"winner", x->winner, y->winner},
    };
    const char *d = NULL;
    for (size_t i = 0; !d && i < sizeof strs / sizeof strs[0]; i++)
        d = lq__str_diff(strs[i].f, strs[i].x, strs[i].y, a);
    return d;
}
