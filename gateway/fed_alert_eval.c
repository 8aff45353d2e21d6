/* fed_alert_eval: the rules of fed_alert.h judged against the center's
 * view (fed_view.c) and its ledger, then reconciled with the active set
 * in Redis: raise what holds and is not active, clear what is active and
 * no longer holds. Each change is one script (the hash and the log line
 * together), then an event on v1:events and a log line. */
#include "fed_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_query.h"
#include "log.h"
#include "mvrule.h"
#include "store_local.h"

#define FA_HITS_MAX 2048       /* alerts holding at once, at most */
#define FA_ID_MAX 96
#define FA_STATE_MAX (1u << 20)

typedef struct fa_hit {
    char id[FA_ID_MAX];
    int rule;
    char subject[64];
    char msg[320];
} fa_hit;

typedef struct fa_eval {
    store *st;
    const cfg *c;
    const fed_rules *rules;
    const fed_eval_in *in;
    fa_hit *hits;
    size_t n;
    json_t *active;            /* id -> stored JSON text */
    arena_t a;                 /* one movement state */
    buf_t b;
} fa_eval;

static const fed_rule *fa__on(const fa_eval *x, int rule)
{
    const fed_rule *r = &x->rules->r[rule];
    return (x->in->mask & (1u << rule)) && r->on ? r : NULL;
}

static fa_hit *fa__hit(fa_eval *x, int rule, const char *subject)
{
    if (x->n == FA_HITS_MAX)
        return NULL;
    fa_hit *h = &x->hits[x->n++];
    h->rule = rule;
    snprintf(h->subject, sizeof h->subject, "%s", subject);
    snprintf(h->id, sizeof h->id, "%s:%s", fed_rule_name(rule), subject);
    h->msg[0] = '\0';
    return h;
}

/* ---- node rules ---- */

static void fa__node_down(fa_eval *x, const fed_view *v, const fed_node *nd)
{
    const fed_rule *r = fa__on(x, FED_R_NODE_DOWN);
    int64_t from = nd->seen_ms > x->in->start_ms ? nd->seen_ms
                                                 : x->in->start_ms;
    /* members only: a node heard from once through a route and gone
     * since (moved, retired) is shown down, not alerted on for ever */
    if (!r || !nd->member || !strcmp(nd->id, x->c->node.id) ||
        v->now - from <= r->after_ms)
        return;
    fa_hit *h = fa__hit(x, FED_R_NODE_DOWN, nd->id);
    if (h && nd->seen_ms)
        snprintf(h->msg, sizeof h->msg, "node %s silent for %.1f s (limit "
                 "%lld s)", nd->id, (double)(v->now - nd->seen_ms) / 1000,
                 (long long)r->after_ms / 1000);
    else if (h)
        snprintf(h->msg, sizeof h->msg, "node %s never heard from (limit "
                 "%lld s)", nd->id, (long long)r->after_ms / 1000);
}

static void fa__links(fa_eval *x, const fed_view *v, const fed_node *nd)
{
    const fed_rule *r = fa__on(x, FED_R_LINK_STALLED);
    for (uint64_t i = 0; r && nd->heard && fed_node_up(v, nd) &&
                         i < nd->h.npeers; i++) {
        const fed_hpeer *p = &nd->h.peers[i];
        int64_t ack = (int64_t)p->last_ack_ms > x->in->start_ms
                          ? (int64_t)p->last_ack_ms : x->in->start_ms;
        if (!p->outbox || v->now - ack <= r->after_ms)
            continue;
        char subj[40];
        snprintf(subj, sizeof subj, "%s>%s", nd->id, p->id);
        fa_hit *h = fa__hit(x, FED_R_LINK_STALLED, subj);
        if (h)
            snprintf(h->msg, sizeof h->msg, "link %s -> %s: %llu queued, no "
                     "ack for %lld s (limit %lld s)", nd->id, p->id,
                     (unsigned long long)p->outbox,
                     (long long)(v->now - ack) / 1000,
                     (long long)r->after_ms / 1000);
    }
}

static void fa__queue(fa_eval *x, const fed_view *v, const fed_node *nd)
{
    const fed_rule *r = fa__on(x, FED_R_QUEUE_GROWING);
    if (!r || !fed_node_up(v, nd) || !nd->nhist)
        return;
    const fed_hist *top = &nd->hist[0];
    int64_t span = -1;
    for (size_t i = 0; i < nd->nhist && nd->hist[i].qdepth > (uint64_t)
                       r->depth; i++)
        span = top->at - nd->hist[i].at;
    if (span < r->after_ms)
        return;
    fa_hit *h = fa__hit(x, FED_R_QUEUE_GROWING, nd->id);
    if (h)
        snprintf(h->msg, sizeof h->msg, "queue %s of %s at %llu entries, "
                 "above %lld for %lld s (limit %lld s)", top->qname, nd->id,
                 (unsigned long long)top->qdepth, (long long)r->depth,
                 (long long)span / 1000, (long long)r->after_ms / 1000);
}

static void fa__sig(fa_eval *x, const fed_view *v, const fed_node *nd)
{
    const fed_rule *r = fa__on(x, FED_R_SIG_FAILURES);
    uint64_t grew = 0;
    for (size_t i = 0; r && i < nd->nhist; i++) {
        const fed_hist *h = &nd->hist[i];
        if (v->now - h->at > r->after_ms)
            break;
        /* the oldest entry ever kept starts from 0 */
        uint64_t before = i + 1 < nd->nhist ? nd->hist[i + 1].sig
                          : nd->nhist < FED_HIST_MAX ? 0 : h->sig;
        grew += h->sig > before ? h->sig - before
                : h->sig < before ? h->sig : 0; /* a restart: from 0 */
    }
    fa_hit *h = grew ? fa__hit(x, FED_R_SIG_FAILURES, nd->id) : NULL;
    if (h)
        snprintf(h->msg, sizeof h->msg, "node %s refused %llu frames for "
                 "their signature or certificate within %lld s", nd->id,
                 (unsigned long long)grew, (long long)r->after_ms / 1000);
}

static int fa__nodes(fa_eval *x, err_t *e)
{
    if (!(x->in->mask & FED_RULES_NODES))
        return 0;
    fed_view v;
    int rc = fed_view_load(x->st, x->c, x->in->now, &v, e);
    for (size_t i = 0; rc == 0 && i < v.n; i++) {
        fa__node_down(x, &v, &v.nodes[i]);
        fa__links(x, &v, &v.nodes[i]);
        fa__queue(x, &v, &v.nodes[i]);
        fa__sig(x, &v, &v.nodes[i]);
    }
    fed_view_free(&v);
    return rc;
}

/* ---- movement rules ---- */

static int fa__overdue(void *ctx, const char *ref, const mv_state *s,
                       err_t *e)
{
    fa_eval *x = ctx;
    (void)e;
    int64_t lim = (int64_t)s->data.limit_ms;
    if (!lim || x->in->now <= lim || s->arrived_ms)
        return 0;
    fa_hit *h = fa__hit(x, FED_R_MOVEMENT_OVERDUE, ref);
    const char *dest = s->data.nitin ? s->data.itin[s->data.nitin - 1] : "?";
    if (h)
        snprintf(h->msg, sizeof h->msg, "movement %s released, time limit "
                 "passed %lld min ago, not arrived at %s", ref,
                 (long long)(x->in->now - lim) / 60000, dest);
    return 0;
}

/* Is ref still held after a discrepancy? */
static int fa__held(fa_eval *x, const char *ref, err_t *e)
{
    mv_state s;
    arena_reset(&x->a);
    buf_reset(&x->b);
    int rc = store_mv_state(x->st, ref, &x->b, e);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (mv_state_decode(x->b.p, x->b.len, &x->a, &s, e) < 0)
        return 0;
    return s.held && s.phase != MV_P_WRITTEN_OFF &&
           s.phase != MV_P_CANCELLED && s.phase != MV_P_REJECTED;
}

static int fa__discrepancy(fa_eval *x, const char *ref, const char *msg,
                           err_t *e)
{
    char id[FA_ID_MAX];
    snprintf(id, sizeof id, "discrepancy:%s", ref);
    for (size_t i = 0; i < x->n; i++)
        if (!strcmp(x->hits[i].id, id))
            return 0;
    int rc = fa__held(x, ref, e);
    fa_hit *h = rc > 0 ? fa__hit(x, FED_R_DISCREPANCY, ref) : NULL;
    if (h)
        snprintf(h->msg, sizeof h->msg, "movement %s held: %s", ref, msg);
    return rc < 0 ? rc : 0;
}

static int fa__movements(fa_eval *x, err_t *e)
{
    int rc = 0;
    if (fa__on(x, FED_R_MOVEMENT_OVERDUE)) {
        lq_filter f = {"released", NULL, 1000};
        rc = lq_movements(x->st, &f, fa__overdue, x, e);
    }
    if (rc < 0 || !fa__on(x, FED_R_DISCREPANCY))
        return rc < 0 ? rc : 0;
    for (size_t i = 0; rc >= 0 && i < x->in->nrefs; i++)
        rc = fa__discrepancy(x, x->in->refs[i], x->in->msgs[i], e);
    const char *id;
    json_t *js;
    json_object_foreach(x->active, id, js)
        if (rc >= 0 && !strncmp(id, "discrepancy:", 12))
            rc = fa__discrepancy(x, id + 12, "discrepancy recorded", e);
    return rc < 0 ? rc : 0;
}

/* ---- raising and clearing ---- */

static int fa__rule_of(const char *id)
{
    for (int r = 0; r < FED_R_N; r++) {
        size_t n = strlen(fed_rule_name(r));
        if (!strncmp(id, fed_rule_name(r), n) && id[n] == ':')
            return r;
    }
    return -1;
}

static void fa__tell(fa_eval *x, const char *ev, json_t *a)
{
    char *js = json_dumps(a, JSON_COMPACT);
    err_t e;
    if (js && store_event_add(x->st, ev, js, &e) < 0)
        log_event(LOG_WARN, "event_feed", "ev=%s msg=%s", ev, log_q(e.msg));
    log_event(strcmp(ev, "alert_raised") ? LOG_INFO : LOG_WARN, ev,
              "id=%s severity=%s msg=%s",
              json_string_value(json_object_get(a, "id")),
              json_string_value(json_object_get(a, "severity")),
              log_q(json_string_value(json_object_get(a, "message"))));
    free(js);
}

/* Store the change (raise or clear) of alert a, then tell. */
static int fa__set(fa_eval *x, json_t *a, int raise, err_t *e)
{
    const char *id = json_string_value(json_object_get(a, "id"));
    char *js = json_dumps(a, JSON_COMPACT);
    int rc = js && id ? fed_store_alert_set(x->st, id, js, raise, e)
                      : err_set(e, ERR_NOMEM, "alerts: out of memory");
    free(js);
    if (rc > 0)
        fa__tell(x, raise ? "alert_raised" : "alert_cleared", a);
    return rc;
}

static int fa__raise(fa_eval *x, const fa_hit *h, err_t *e)
{
    const fed_rule *r = &x->rules->r[h->rule];
    json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:b, s:n}",
                          "id", h->id, "rule", fed_rule_name(h->rule),
                          "severity", r->severity, "subject", h->subject,
                          "message", h->msg, "since",
                          fed_json_time(x->in->now), "since_ms",
                          (json_int_t)x->in->now, "active", 1, "cleared");
    int rc = a ? fa__set(x, a, 1, e) : err_set(e, ERR_NOMEM, "alerts: out "
                                               "of memory");
    json_decref(a);
    return rc;
}

static int fa__clear(fa_eval *x, const char *id, const char *stored,
                     err_t *e)
{
    json_t *a = json_loads(stored, 0, NULL);
    if (!a) /* unreadable: clear it all the same */
        a = json_pack("{s:s, s:s}", "id", id, "message", "");
    json_object_set_new(a, "id", json_string(id));
    json_object_set_new(a, "active", json_false());
    json_object_set_new(a, "cleared", fed_json_time(x->in->now));
    json_object_set_new(a, "cleared_ms", json_integer(x->in->now));
    int rc = fa__set(x, a, 0, e);
    json_decref(a);
    return rc;
}

static int fa__has_hit(const fa_eval *x, const char *id)
{
    for (size_t i = 0; i < x->n; i++)
        if (!strcmp(x->hits[i].id, id))
            return 1;
    return 0;
}

static int fa__reconcile(fa_eval *x, err_t *e)
{
    int changed = 0, rc = 0;
    const char *id;
    json_t *js;
    json_object_foreach(x->active, id, js) {
        int r = fa__rule_of(id);
        if (rc >= 0 && r >= 0 && (x->in->mask & (1u << r)) &&
            !fa__has_hit(x, id) &&
            (rc = fa__clear(x, id, json_string_value(js), e)) > 0)
            changed++;
    }
    for (size_t i = 0; rc >= 0 && i < x->n; i++)
        if (!json_object_get(x->active, x->hits[i].id) &&
            (rc = fa__raise(x, &x->hits[i], e)) > 0)
            changed++;
    return rc < 0 ? rc : changed;
}

static int fa__keep(void *ctx, const char *id, const char *js, err_t *e)
{
    (void)e;
    json_object_set_new(ctx, id, json_string(js));
    return 0;
}

int fed_alert_eval(store *st, const cfg *c, const fed_rules *rules,
                   const fed_eval_in *in, err_t *e)
{
    fa_eval x = {st, c, rules, in, calloc(FA_HITS_MAX, sizeof(fa_hit)), 0,
                 json_object(), {0}, {0}};
    if (!x.hits || !x.active) {
        free(x.hits);
        json_decref(x.active);
        return err_set(e, ERR_NOMEM, "alerts: out of memory");
    }
    arena_init(&x.a, 1u << 24);
    buf_init(&x.b, FA_STATE_MAX);
    int rc = fed_store_alerts(st, fa__keep, x.active, e);
    rc = rc < 0 ? rc : fa__nodes(&x, e);
    rc = rc < 0 ? rc : (in->mask & FED_RULES_MOVEMENTS)
                           ? fa__movements(&x, e) : 0;
    rc = rc < 0 ? rc : fa__reconcile(&x, e);
    arena_free(&x.a);
    buf_free(&x.b);
    free(x.hits);
    json_decref(x.active);
    return rc;
}
