/* fed_json: the bodies of GET /v1/federation and GET /v1/alerts, built
 * from Redis alone (the view of fed_view.c, the center's own ledger, the
 * alert hash and log), so the HTTP worker threads answer them with their
 * own store and the node's loop is never asked. Shapes: docs/api.yaml
 * and docs/operations.md, "National center". */
#include "fed_int.h"

#include <stdlib.h>
#include <string.h>

#include "ledger_query.h"
#include "mvrule.h"

#define FJ_STATE_MAX (1u << 20) /* one movement's stored state */

json_t *fed_json_time(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char t[LQ_TIME_LEN];
    lq_time((uint64_t)ms, t);
    return json_string(t);
}

static json_t *fj__age(int64_t now, int64_t ms)
{
    return ms > 0 ? json_real((double)(now - ms) / 1000.0) : json_null();
}

/* ---- nodes and links ---- */

static json_t *fj__health(const fed_health *h)
{
    json_t *q = json_pack("{s:I, s:I, s:I, s:I}", "local", (json_int_t)h->local,
                          "await", (json_int_t)h->await, "dlq",
                          (json_int_t)h->dlq, "lout", (json_int_t)h->lout);
    json_t *c = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "in",
                          (json_int_t)h->in, "out", (json_int_t)h->out,
                          "refused", (json_int_t)h->refused, "delivered",
                          (json_int_t)h->delivered, "forwarded",
                          (json_int_t)h->forwarded, "sent",
                          (json_int_t)h->sent, "sig_failures",
                          (json_int_t)h->sig_failures, "peer_refused",
                          (json_int_t)h->peer_refused);
    return json_pack("{s:o, s:o, s:o}", "queues", q, "counters", c,
                     "reported_at", fed_json_time((int64_t)h->at_ms));
}

static json_t *fj__node(const fed_view *v, const fed_node *nd, const cfg *c)
{
    double rin, rout;
    fed_node_rates(v, nd, &rin, &rout);
    int self = !strcmp(nd->id, c->node.id);
    const char *role = self && c->node.role == CFG_ROLE_NATIONAL
                           ? "national" : "provincial";
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:o, s:o, s:o}", "id",
                          nd->id, "region", nd->region, "role", role, "up",
                          fed_node_up(v, nd), "member", nd->member,
                          "last_seen", fed_json_time(nd->seen_ms), "age_s",
                          fj__age(v->now, nd->seen_ms), "rates",
                          json_pack("{s:f, s:f}", "in_per_s", rin,
                                    "out_per_s", rout));
    if (nd->heard)
        json_object_update_new(o, fj__health(&nd->h));
    return o;
}

static void fj__links(const fed_view *v, const fed_node *nd, json_t *links)
{
    int up = fed_node_up(v, nd);
    for (uint64_t i = 0; nd->heard && i < nd->h.npeers; i++) {
        const fed_hpeer *p = &nd->h.peers[i];
        json_array_append_new(links, json_pack(
            "{s:s, s:s, s:b, s:I, s:I, s:o}", "from", nd->id, "to", p->id,
            "up", up && p->up, "outbox", (json_int_t)p->outbox, "awaiting",
            (json_int_t)p->awaiting, "last_ack_age_s",
            fj__age(v->now, (int64_t)p->last_ack_ms)));
    }
}

static int fj__nodes(store *st, const cfg *c, int64_t now, json_t *o,
                     uint64_t *dlq, err_t *e)
{
    fed_view v;
    int rc = fed_view_load(st, c, now, &v, e);
    json_t *nodes = json_array(), *links = json_array();
    for (size_t i = 0; rc == 0 && i < v.n; i++) {
        json_array_append_new(nodes, fj__node(&v, &v.nodes[i], c));
        fj__links(&v, &v.nodes[i], links);
        *dlq += v.nodes[i].heard ? v.nodes[i].h.dlq : 0;
    }
    fed_view_free(&v);
    json_object_set_new(o, "nodes", nodes);
    json_object_set_new(o, "links", links);
    return rc;
}

/* ---- movements ---- */

typedef struct fj_mv {
    store *st;
    arena_t a;
    buf_t b;
    json_t *by_region;
    int64_t *d2r, *r2a;  /* FED_RECENT_MV each */
    size_t nd2r, nr2a;
} fj_mv;

static void fj__region(json_t *by_region, const char *region,
                       const char *phase)
{
    json_t *r = json_object_get(by_region, region);
    if (!r)
        json_object_set_new(by_region, region, r = json_object());
    json_int_t n = json_integer_value(json_object_get(r, phase));
    json_object_set_new(r, phase, json_integer(n + 1));
}

static int fj__one(void *ctx, const char *ref, int64_t score, err_t *e)
{
    fj_mv *m = ctx;
    mv_state s;
    (void)score;
    arena_reset(&m->a);
    buf_reset(&m->b);
    int rc = store_mv_state(m->st, ref, &m->b, e);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc < 0 || mv_state_decode(m->b.p, m->b.len, &m->a, &s, e) < 0)
        return rc < 0 ? rc : 0; /* an unreadable state: verify says so */
    for (uint32_t i = 0; i < s.data.nitin; i++)
        fj__region(m->by_region, s.data.itin[i], mv_phase_name(s.phase));
    if (s.released_ms && s.declared_ms && m->nd2r < FED_RECENT_MV)
        m->d2r[m->nd2r++] = (int64_t)(s.released_ms - s.declared_ms);
    if (s.arrived_ms && s.released_ms && m->nr2a < FED_RECENT_MV)
        m->r2a[m->nr2a++] = (int64_t)(s.arrived_ms - s.released_ms);
    return 0;
}

static int fj__cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentiles of v[0..n). */
static json_t *fj__pct(int64_t *v, size_t n)
{
    if (n == 0)
        return json_pack("{s:i, s:n, s:n, s:n}", "n", 0, "p50", "p90", "p99");
    qsort(v, n, sizeof *v, fj__cmp64);
    static const int ps[3] = {50, 90, 99};
    json_t *o = json_pack("{s:I}", "n", (json_int_t)n);
    for (size_t i = 0; i < 3; i++) {
        size_t k = (n * (size_t)ps[i] + 99) / 100;
        char name[8];
        snprintf(name, sizeof name, "p%d", ps[i]);
        json_object_set_new(o, name, json_integer(v[k ? k - 1 : 0]));
    }
    return o;
}

static json_t *fj__phases(store *st, err_t *e, int *rc)
{
    json_t *o = json_object();
    for (int p = MV_P_DECLARED; *rc == 0 && p < MV_P_END; p++) {
        int64_t n = fed_store_phase_count(st, mv_phase_name(p), e);
        if (n < 0)
            *rc = (int)n;
        else
            json_object_set_new(o, mv_phase_name(p), json_integer(n));
    }
    return o;
}

static int fj__movements(store *st, json_t *o, err_t *e)
{
    int rc = 0;
    int64_t total = fed_store_phase_count(st, NULL, e);
    json_t *phases = fj__phases(st, e, &rc);
    fj_mv m = {st, {0}, {0}, json_object(), calloc(FED_RECENT_MV, 8),
               calloc(FED_RECENT_MV, 8), 0, 0};
    arena_init(&m.a, 1u << 24);
    buf_init(&m.b, FJ_STATE_MAX);
    if (total < 0)
        rc = (int)total;
    if (rc == 0 && (!m.d2r || !m.r2a))
        rc = err_set(e, ERR_NOMEM, "federation: out of memory");
    if (rc == 0)
        rc = fed_store_recent(st, FED_RECENT_MV, fj__one, &m, e);
    json_object_set_new(o, "movements", json_pack(
        "{s:I, s:o, s:o, s:i}", "total", (json_int_t)(total > 0 ? total : 0),
        "by_phase", phases, "by_region", m.by_region, "recent",
        FED_RECENT_MV));
    json_object_set_new(o, "clearance", json_pack(
        "{s:o, s:o}", "declared_to_released_ms", fj__pct(m.d2r, m.nd2r),
        "released_to_arrived_ms", fj__pct(m.r2a, m.nr2a)));
    free(m.d2r), free(m.r2a);
    arena_free(&m.a);
    buf_free(&m.b);
    return rc < 0 ? rc : 0;
}

/* ---- counts ---- */

static int fj__count(void *ctx, const char *name, const char *value,
                     err_t *e)
{
    (void)e;
    json_object_set_new(ctx, name, json_integer(strtoll(value, NULL, 10)));
    return 0;
}

static int fj__counts(store *st, json_t *o, uint64_t dlq, err_t *e)
{
    json_t *c = json_pack("{s:i, s:i, s:i, s:I}", "discrepancies", 0,
                          "conflicts", 0, "enquiries", 0, "dead_letters",
                          (json_int_t)dlq);
    int rc = fed_store_counts(st, fj__count, c, e);
    json_object_set_new(o, "counts", c);
    return rc < 0 ? rc : 0;
}

int fed_json_federation(store *st, const cfg *c, int64_t now, json_t **out,
                        err_t *e)
{
    json_t *o = json_pack("{s:s, s:o, s:I}", "node", c->node.id, "at",
                          fed_json_time(now), "down_after_ms",
                          (json_int_t)c->health.down_after_ms);
    uint64_t dlq = 0;
    int rc = fj__nodes(st, c, now, o, &dlq, e);
    rc = rc ? rc : fj__movements(st, o, e);
    rc = rc ? rc : fj__counts(st, o, dlq, e);
    if (rc < 0) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* ---- alerts ---- */

typedef struct fj_alerts {
    json_t *list;
    size_t limit;
} fj_alerts;

static int fj__has(json_t *list, const char *id)
{
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a) {
        const char *s = json_string_value(json_object_get(a, "id"));
        if (s && !strcmp(s, id))
            return 1;
    }
    return 0;
}

static int fj__active(void *ctx, const char *id, const char *js, err_t *e)
{
    fj_alerts *l = ctx;
    (void)id, (void)e;
    json_t *a = json_loads(js, 0, NULL);
    if (a && json_array_size(l->list) < l->limit)
        json_array_append(l->list, a);
    json_decref(a);
    return 0;
}

static int fj__cleared(void *ctx, const char *ev, const char *js, err_t *e)
{
    fj_alerts *l = ctx;
    (void)e;
    json_t *a = strcmp(ev, "cleared") ? NULL : json_loads(js, 0, NULL);
    const char *id = json_string_value(json_object_get(a, "id"));
    if (id && !fj__has(l->list, id) && json_array_size(l->list) < l->limit)
        json_array_append(l->list, a);
    json_decref(a);
    return 0;
}

int fed_json_alerts(store *st, int active_only, size_t limit, json_t **out,
                    err_t *e)
{
    fj_alerts l = {json_array(), limit ? limit : 1};
    int rc = fed_store_alerts(st, fj__active, &l, e);
    if (rc >= 0 && !active_only)
        rc = fed_store_alert_log(st, FED_ALERT_LOG_MAX, fj__cleared, &l, e);
    if (rc < 0) {
        json_decref(l.list);
        return rc;
    }
    *out = json_pack("{s:o}", "alerts", l.list);
    return 0;
}
