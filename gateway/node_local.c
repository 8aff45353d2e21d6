/* node_local: the records local systems handed to this node (v1:local,
 * stored by the connectors through intake.h), dispatched in eportd's loop
 * a batch at a time (docs/connectors.md, "Node side"):
 *
 *   forward  a connector with `forward` sends each of its records, as a
 *            signed `record` envelope, to those nodes;
 *   attach   a record of kind status is attached to the open movements
 *            carrying its containers (mvact_status);
 *   remember a transport record (waybill, manifest) is kept for 30 days
 *            under its containers (store_ldoc.h), to be linked with a
 *            declaration coming later;
 *   declare  a record of kind declaration of a connector with `declare:
 *            true` opens a movement, as `eportctl declare` would, with
 *            the documents remembered under its containers and the
 *            itinerary derived from its route (mvact_declare_local);
 *   issue    a record of kind permit opens (or changes the status of)
 *            its ledger here, its home (node_permit_issue);
 *   cbec     a cross-border e-commerce document (an order, a payment, a
 *            parcel waybill, an inventory list) joins its parcel's set here,
 *            or goes to the node that matches it (node_cbec.h);
 *   fanout   a record of a connector with `fanout` goes to every agency
 *            of its kind's fan-out rule, a response of an agency's
 *            connector updates that agency's status (node_fanout.h);
 *   status   v1:msg:<id> says what became of it (dispatched, forwarded
 *            with the envelope id and destinations, attached with the
 *            movements, refused with why), the event feed says so, and
 *            a connector whose out_events has message_status gets it.
 *
 * Exactly once: the batch is marked done (store_local_done) only after
 * all of it; a crash before that dispatches it again, and everything it
 * does again is refused by the store as done before: the envelope goes
 * under an id derived from the local message's (node_submit_as), each
 * status event under one derived from it and the movement, a movement
 * declared under the reference kept for the local id and an event id
 * derived from it, each message status under its key (store_lout_add). The feed's lines may repeat
 * after a crash (at least once; readers key them by id). A store failure
 * anywhere gives the batch up until LC_RETRY_MS later, the same way. */
#include "node_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model.h"
#include "model_pack.h"
#include "mvact.h"
#include "node_cbec.h"
#include "node_fanout.h"
#include "node_permit.h"
#include "store_ldoc.h"
#include "store_local.h"

#define LC_ARENA_MAX (256u << 20)
#define LC_POLL_MS 10     /* v1:local read at least this often */
#define LC_RETRY_MS 500   /* after a store error */
#define LC_KV_MAX 10      /* fields of one status update */

/* One record of the batch and what became of it. */
typedef struct lc_item {
    store_pos pos;
    const char *id, *conn, *client;
    const void *rec;
    size_t len;
    model_record *r;           /* NULL: unreadable */
    const char *status;        /* dispatched forwarded attached declared
                                  issued refused */
    char fwd[MSGID_LEN + 1];   /* the envelope id forwarded, or "" */
    const char *dests;         /* "SH SN", or NULL */
    buf_t refs;                /* movements attached to (or declared),
                                  space separated */
    const char *detail;        /* why (refused), or what (not attached) */
} lc_item;

struct node_lc {
    arena_t a;                 /* one batch */
    store_pos pos;             /* v1:local:pos as last saved */
    int pos_known;
    int64_t next_poll_ms;
    lc_item *items;
    size_t k;
    mvact_regions *regions;    /* the itineraries' code list, or NULL */
    const void *regions_of;    /* the n->maps it was loaded with */
    int regions_loaded;
    char regions_why[256];     /* why there is none */
};

static struct node_lc *lc__get(node *n)
{
    if (n->lc)
        return n->lc;
    n->lc = calloc(1, sizeof *n->lc);
    if (n->lc)
        arena_init(&n->lc->a, LC_ARENA_MAX);
    return n->lc;
}

static void lc__free_items(struct node_lc *lc)
{
    for (size_t i = 0; lc->items && i < lc->k; i++)
        buf_free(&lc->items[i].refs);
    lc->k = 0;
}

void node_local_close(node *n)
{
    if (!n->lc)
        return;
    lc__free_items(n->lc);
    mvact_regions_free(n->lc->regions);
    arena_free(&n->lc->a);
    free(n->lc);
    n->lc = NULL;
}

static const char *lc__str(arena_t *a, const char *fmt, const char *s)
{
    size_t len = (size_t)snprintf(NULL, 0, fmt, s) + 1;
    char *p = arena_alloc(a, len);
    if (p)
        snprintf(p, len, fmt, s);
    return p ? p : "";
}

/* ---- reading the batch ---- */

static int lc__read(void *ctx, store_pos pos, const char *id,
                    const char *conn, const char *client, const void *rec,
                    size_t len, err_t *e)
{
    node *n = ctx;
    struct node_lc *lc = n->lc;
    lc_item *it = &lc->items[lc->k];
    arena_t *a = &lc->a;
    *it = (lc_item){.pos = pos, .id = arena_strdup(a, id),
                    .conn = arena_strdup(a, conn),
                    .client = arena_strdup(a, client),
                    .rec = arena_alloc(a, len ? len : 1), .len = len,
                    .status = "dispatched"};
    if (!it->id || !it->conn || !it->client || !it->rec)
        return err_set(e, ERR_NOMEM, "local dispatch: out of memory");
    memcpy((void *)it->rec, rec, len);
    buf_init(&it->refs, 64 * (MVREF_LEN + 1));
    lc->k++;
    err_t ue;
    if (model_unpack(it->rec, len, a, &it->r, &ue) < 0) {
        it->r = NULL;
        it->status = "refused";
        it->detail = lc__str(a, "unreadable record: %s", ue.msg);
    }
    return 0;
}

/* ---- forwarding ---- */

/* The id record it goes under: derived from its local id and this node. */
static int lc__fwd_id(node *n, lc_item *it, err_t *e)
{
    uint64_t ms;
    char k[128];
    if (msgid_parse(it->id, &ms, e) < 0)
        return err_wrap(e, "local message %s", it->id);
    int len = snprintf(k, sizeof k, "eport forward %s %s", it->id,
                       n->cfg->node.id);
    return msgid_derive(ms, k, (size_t)len, it->fwd, e);
}

static int lc__transient(int rc)
{
    return rc == ERR_IO || rc == ERR_NOMEM || rc == ERR_AGAIN;
}

/* What the submission of items[0..cnt) did to each (rc: its result,
 * not a transient one). */
static void lc__sent(node *n, lc_item **items, size_t cnt, const int *dup,
                     int rc, const err_t *e)
{
    for (size_t i = 0; i < cnt; i++) {
        lc_item *it = items[i];
        if (rc < 0) {
            it->status = "refused";
            it->detail = lc__str(&n->lc->a, "%s", e->msg);
            it->fwd[0] = '\0';
        } else {
            it->status = "forwarded";
            log_event(LOG_DEBUG, "forwarded", "id=%s fwd=%s dup=%d", it->id,
                      it->fwd, dup[i]);
        }
    }
}

/* items[0..cnt) (one connector's) to cc's forward nodes, in one signed
 * batch. A refusal (no route...) of a batch is tried record by record,
 * so that it is told to the records it concerns. */
static int lc__send(node *n, const cfg_connector *cc, lc_item **items,
                    size_t cnt, err_t *e)
{
    const void *p[NODE_LOCAL_BATCH] = {0};
    size_t l[NODE_LOCAL_BATCH] = {0};
    const char *ids[NODE_LOCAL_BATCH] = {0};
    int dup[NODE_LOCAL_BATCH] = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < cnt; i++) {
        p[i] = items[i]->rec, l[i] = items[i]->len, ids[i] = items[i]->fwd;
        rc = lc__fwd_id(n, items[i], e);
    }
    if (rc == 0)
        rc = node_submit_as(n, "record", cc->forward.v, cc->forward.n, NULL,
                            p, l, cnt, ids, dup, e);
    if (lc__transient(rc))
        return rc;
    if (rc < 0 && cnt > 1) {
        for (size_t i = 0; i < cnt; i++)
            if (lc__transient(rc = lc__send(n, cc, &items[i], 1, e)))
                return rc;
        return 0;
    }
    lc__sent(n, items, cnt, dup, rc, e);
    return 0;
}

/* "SH SN" of cc's forward list, in the arena. */
static const char *lc__dests(arena_t *a, const cfg_connector *cc)
{
    buf_t b;
    buf_init(&b, 4096);
    for (size_t i = 0; i < cc->forward.n; i++)
        buf_printf(&b, "%s%s", i ? " " : "", cc->forward.v[i]);
    const char *s = lc__str(a, "%s", b.p ? b.p : "");
    buf_free(&b);
    return s;
}

/* Runs of records of one connector with `forward`, each run one batch. */
static int lc__forward(node *n, err_t *e)
{
    struct node_lc *lc = n->lc;
    lc_item *run[NODE_LOCAL_BATCH];
    for (size_t i = 0; i < lc->k;) {
        const char *conn = lc->items[i].conn;
        const cfg_connector *cc = cfg_connector_find(n->cfg, conn);
        size_t cnt = 0, j = i;
        for (; j < lc->k && !strcmp(lc->items[j].conn, conn); j++)
            if (lc->items[j].r && cc && cc->forward.n)
                run[cnt++] = &lc->items[j];
        if (!cc)
            for (size_t k = i; k < j; k++)
                lc->items[k].detail = "connector no longer configured: "
                                      "not forwarded";
        const char *dests = cnt ? lc__dests(&lc->a, cc) : NULL;
        for (size_t k = 0; k < cnt; k++)
            run[k]->dests = dests;
        int rc = cnt ? lc__send(n, cc, run, cnt, e) : 0;
        if (rc < 0)
            return rc;
        i = j;
    }
    return 0;
}

/* ---- status records ---- */

static void lc__attached(void *ctx, const mvact_attach *a)
{
    lc_item *it = ctx;
    if (!a->ref)
        return;
    if (a->rc == 0 || a->rc == 1)
        buf_printf(&it->refs, "%s%s", it->refs.len ? " " : "", a->ref);
    else
        log_event(LOG_WARN, "status_refused", "id=%s ref=%s ctr=%s msg=%s",
                  it->id, a->ref, a->ctr, log_q(a->e ? a->e->msg : ""));
}

static int lc__attach(node *n, err_t *e)
{
    struct node_lc *lc = n->lc;
    for (size_t i = 0; i < lc->k; i++) {
        lc_item *it = &lc->items[i];
        const model_record *r = it->r;
        if (!r || !r->kind || strcmp(r->kind, "status") || !r->status.event)
            continue;
        int rc = mvact_status(n, r, it->id, 0, lc__attached, it, e);
        if (rc < 0 && lc__transient(rc))
            return rc;
        if (rc > 0 && !strcmp(it->status, "dispatched"))
            it->status = "attached";
        else if (rc <= 0 && !it->detail)
            it->detail = "no open movement here carries its equipment";
    }
    return 0;
}

/* ---- permits (their issuing authority's records: this node is home) ---- */

static int lc__issue(node *n, err_t *e)
{
    struct node_lc *lc = n->lc;
    for (size_t i = 0; i < lc->k; i++) {
        lc_item *it = &lc->items[i];
        if (!it->r || !it->r->kind || strcmp(it->r->kind, "permit") ||
            !strcmp(it->status, "refused"))
            continue;
        int rc = node_permit_issue(n, it->r, it->rec, it->len, &lc->a,
                                   &it->detail, e);
        if (rc < 0 && lc__transient(rc))
            return rc;
        it->status = rc < 0 ? "refused" : "issued";
    }
    return 0;
}

/* ---- cross-border e-commerce documents (node_cbec.h) ---- */

/* What became of it (o; rc < 0: refused for that reason). */
static void lc__cbec_status(lc_item *it, int rc, const node_cbec_res *o)
{
    if (rc < 0 || !strcmp(o->state, "conflict") || !strcmp(o->state, "closed")) {
        it->status = "refused", it->detail = o->detail;
    } else if (o->dest) {
        it->status = "forwarded", it->dests = o->dest, it->detail = o->detail;
        memcpy(it->fwd, o->fwd, sizeof it->fwd);
    } else {
        it->status = "attached", it->detail = o->detail;
        buf_printf(&it->refs, "%s%s", it->refs.len ? " " : "", o->order_no);
    }
}

/* The batch's documents matched here go to node_cbec_take_many together
 * (a few scripts for all of them); those matched elsewhere are sent. */
static int lc__cbec(node *n, err_t *e)
{
    struct node_lc *lc = n->lc;
    node_cbec_doc *docs = arena_alloc(&lc->a, (lc->k ? lc->k : 1) * sizeof *docs);
    lc_item **of = arena_alloc(&lc->a, (lc->k ? lc->k : 1) * sizeof *of);
    size_t m = 0;
    if (!docs || !of)
        return err_set(e, ERR_NOMEM, "local dispatch: out of memory");
    for (size_t i = 0; i < lc->k; i++) {
        lc_item *it = &lc->items[i];
        node_cbec_res o;
        if (!it->r || !node_cbec_is_ours(it->r) || !strcmp(it->status, "refused"))
            continue;
        int rc = node_cbec_forward(n, it->id, it->rec, it->len, it->r, &lc->a,
                                   &o, e);
        if (rc == 1) { /* matched here: with the others, below */
            docs[m] = (node_cbec_doc){it->id, it->rec, it->len, it->r};
            of[m++] = it;
            continue;
        }
        if (rc < 0 && lc__transient(rc))
            return rc;
        if (rc < 0)
            o.detail = lc__str(&lc->a, "%s", e->msg);
        lc__cbec_status(it, rc, &o);
    }
    node_cbec_res *out = arena_alloc(&lc->a, (m ? m : 1) * sizeof *out);
    int *rcs = arena_alloc(&lc->a, (m ? m : 1) * sizeof *rcs);
    if (!out || !rcs)
        return err_set(e, ERR_NOMEM, "local dispatch: out of memory");
    int rc = m ? node_cbec_take_many(n, docs, m, &lc->a, out, rcs, e) : 0;
    for (size_t j = 0; rc == 0 && j < m; j++)
        lc__cbec_status(of[j], rcs[j], &out[j]);
    return rc;
}

/* ---- transport documents and declarations ---- */

static int lc__is(const lc_item *it, const char *kind)
{
    return it->r && it->r->kind && !strcmp(it->r->kind, kind);
}

/* 1 when a connector of this node opens movements: only then is a
 * transport document ever linked, so only then is it worth keeping. */
static int lc__declares(const cfg *c)
{
    for (size_t i = 0; i < c->nconnectors; i++)
        if (c->connectors[i].declare)
            return 1;
    return 0;
}

/* Every waybill and manifest of the batch kept under its containers
 * (one round trip), before any declaration of the batch is gathered. */
static int lc__remember(node *n, err_t *e)
{
    struct node_lc *lc = n->lc;
    if (!lc__declares(n->cfg))
        return 0;
    store_ldoc_rec *recs = arena_alloc(&lc->a, lc->k * sizeof *recs);
    const char **ctrs = arena_alloc(&lc->a, lc->k * STORE_LDOC_CTR_MAX *
                                                sizeof *ctrs);
    size_t k = 0;
    if (!recs || !ctrs)
        return err_set(e, ERR_NOMEM, "local dispatch: out of memory");
    for (size_t i = 0; i < lc->k; i++) {
        const lc_item *it = &lc->items[i];
        const char **c = ctrs + k * STORE_LDOC_CTR_MAX;
        if (!lc__is(it, "waybill") && !lc__is(it, "manifest"))
            continue;
        size_t nc = mvact_units(it->r, c, STORE_LDOC_CTR_MAX);
        if (nc)
            recs[k++] = (store_ldoc_rec){it->id, it->rec, it->len, c, nc};
    }
    int rc = store_ldoc_put(n->st, recs, k, e);
    if (rc < 0 && !lc__transient(rc)) { /* not linkable; dispatch goes on */
        log_event(LOG_WARN, "ldoc_refused", "n=%zu msg=%s", k, log_q(e->msg));
        rc = 0;
    }
    return rc;
}

/* The itineraries' code list: loaded on first use and again once the
 * node has reloaded its mapping tables (SIGHUP); NULL, why in
 * regions_why, when it cannot be read. */
static const mvact_regions *lc__regions(node *n)
{
    struct node_lc *lc = n->lc;
    if (lc->regions_loaded && lc->regions_of == (const void *)n->maps)
        return lc->regions;
    mvact_regions *m = NULL;
    err_t e;
    if (mvact_regions_load(n->cfg->mappings.dir, &m, &e) < 0) {
        snprintf(lc->regions_why, sizeof lc->regions_why, "%s", e.msg);
        log_event(LOG_ERROR, "regions", "msg=%s", log_q(e.msg));
    }
    mvact_regions_free(lc->regions);
    lc->regions = m;
    lc->regions_of = n->maps;
    lc->regions_loaded = 1;
    return m;
}

/* What became of the declaration of it (rc from mvact_declare_local). */
static void lc__declared(node *n, lc_item *it, int rc, const mvact_local *o,
                         const err_t *e)
{
    arena_t *a = &n->lc->a;
    if (rc < 0) {
        it->status = "refused";
        it->detail = lc__str(a, "%s", e->msg);
        log_event(LOG_WARN, "declare_refused", "id=%s msg=%s", it->id,
                  log_q(e->msg));
        return;
    }
    it->status = "declared";
    buf_printf(&it->refs, "%s", o->ref);
    char d[160];
    if (o->dup) /* a re-dispatch: what was linked then is forgotten now */
        snprintf(d, sizeof d, "movement %s (declared before)", o->ref);
    else
        snprintf(d, sizeof d, "movement %s: %zu document(s), %zu linked by "
                 "container", o->ref, o->ndocs, o->nlinked);
    it->detail = lc__str(a, "%s", d);
    log_event(LOG_INFO, "declared", "id=%s ref=%s docs=%zu linked=%zu "
              "dup=%d", it->id, o->ref, o->ndocs, o->nlinked, o->dup);
}

/* Each declaration of a connector with `declare` opens its movement. */
static int lc__declare(node *n, err_t *e)
{
    struct node_lc *lc = n->lc;
    for (size_t i = 0; i < lc->k; i++) {
        lc_item *it = &lc->items[i];
        const cfg_connector *cc = cfg_connector_find(n->cfg, it->conn);
        if (!lc__is(it, "declaration") || !cc || !cc->declare ||
            !strcmp(it->status, "refused"))
            continue;
        const mvact_regions *m = lc__regions(n);
        mvact_local o;
        int rc = m ? mvact_declare_local(n, it->r, it->id, m, &o, e)
                   : err_set(e, ERR_CONFIG, "declaration: no itinerary: "
                             "%s", lc->regions_why);
        if (rc < 0 && lc__transient(rc))
            return rc;
        lc__declared(n, it, rc, &o, e);
    }
    return 0;
}

/* ---- enter once: submissions to every agency, their answers ---- */

static int lc__fanout(node *n, err_t *e)
{
    struct node_lc *lc = n->lc;
    for (size_t i = 0; i < lc->k; i++) {
        lc_item *it = &lc->items[i];
        const char *st = NULL, *detail = NULL;
        if (!it->r || !strcmp(it->status, "refused"))
            continue;
        int rc = node_fanout_item(n, it->id, it->conn, it->r, &lc->a, &st,
                                  &detail, e);
        if (rc < 0)
            return rc;
        if (rc == 0)
            continue;
        if (!strcmp(it->status, "dispatched") || !strcmp(st, "refused"))
            it->status = st;
        it->detail = detail;
    }
    return 0;
}

/* ---- marking the batch done ---- */

/* v1:msg:<id>'s new fields for it (kv in the arena). */
static size_t lc__kv(arena_t *a, const lc_item *it, const char **kv)
{
    size_t k = 0;
    kv[k++] = "status", kv[k++] = it->status;
    if (it->fwd[0])
        kv[k++] = "fwd", kv[k++] = lc__str(a, "%s", it->fwd);
    if (it->fwd[0] && it->dests)
        kv[k++] = "dests", kv[k++] = it->dests;
    if (it->refs.len)
        kv[k++] = "refs", kv[k++] = lc__str(a, "%s", it->refs.p);
    if (it->detail)
        kv[k++] = "detail", kv[k++] = it->detail;
    return k;
}

/* The feed's line for it: `refused`, or `dispatched` with its status;
 * the JSON in the batch arena (NULL when it cannot be made). */
static const char *lc__feed(struct node_lc *lc, const lc_item *it,
                            const char *const *kv, size_t nkv,
                            const char **ev)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "id", it->id, "conn", it->conn,
                          "client", it->client);
    if (o && it->r && it->r->kind)
        json_object_set_new(o, "kind", json_string(it->r->kind));
    for (size_t i = 0; o && i + 1 < nkv; i += 2)
        json_object_set_new(o, kv[i], json_string(kv[i + 1]));
    char *js = o ? json_dumps(o, JSON_COMPACT) : NULL;
    const char *out = js ? arena_strdup(&lc->a, js) : NULL;
    *ev = strcmp(it->status, "refused") ? "dispatched" : "refused";
    free(js);
    json_decref(o);
    return out;
}

/* The batch's feed lines in one round trip; a feed that cannot be
 * written is logged, not retried: the statuses are the record. */
static void lc__feed_all(node *n, const char **evs, const char **jss,
                         size_t k)
{
    err_t e;
    if (k && store_event_add_many(n->st, evs, jss, k, &e) < 0)
        log_event(LOG_WARN, "event_feed", "events=%zu msg=%s", k,
                  log_q(e.msg));
}

static int lc__done(node *n, err_t *e)
{
    struct node_lc *lc = n->lc;
    store_msg_update *u = arena_alloc(&lc->a, lc->k * sizeof *u);
    const char **evs = arena_alloc(&lc->a, lc->k * sizeof *evs);
    const char **jss = arena_alloc(&lc->a, lc->k * sizeof *jss);
    size_t nev = 0;
    if (!u || !evs || !jss)
        return err_set(e, ERR_NOMEM, "local dispatch: out of memory");
    for (size_t i = 0; i < lc->k; i++) {
        const lc_item *it = &lc->items[i];
        const char **kv = arena_alloc(&lc->a, LC_KV_MAX * sizeof *kv);
        if (!kv)
            return err_set(e, ERR_NOMEM, "local dispatch: out of memory");
        u[i] = (store_msg_update){it->id, kv, lc__kv(&lc->a, it, kv)};
        int rc = node_notify_status(n, it->conn, it->id, it->status,
                                    it->detail, e);
        if (rc < 0)
            return rc;
        if ((jss[nev] = lc__feed(lc, it, kv, u[i].nkv, &evs[nev])))
            nev++;
    }
    int rc = store_local_done(n->st, lc->items[lc->k - 1].pos, u, lc->k, e);
    if (rc == 0)
        lc__feed_all(n, evs, jss, nev);
    return rc;
}

/* ---- the turn ---- */

static void lc__count(const struct node_lc *lc, size_t c[6])
{
    static const char *const names[6] = {"dispatched", "forwarded",
                                         "attached", "declared", "refused",
                                         "issued"};
    for (size_t i = 0; i < lc->k; i++)
        for (size_t j = 0; j < 6; j++)
            c[j] += !strcmp(lc->items[i].status, names[j]);
}

/* Read, forward, attach, remember, declare, mark done: got records, or
 * < 0. */
static int lc__batch(node *n, err_t *e)
{
    struct node_lc *lc = n->lc;
    if (!lc->pos_known && store_local_pos(n->st, &lc->pos, e) < 0)
        return e->code;
    lc->pos_known = 1;
    lc__free_items(lc);
    arena_reset(&lc->a);
    lc->items = arena_alloc(&lc->a, NODE_LOCAL_BATCH * sizeof *lc->items);
    if (!lc->items)
        return err_set(e, ERR_NOMEM, "local dispatch: out of memory");
    int got = store_local_after(n->st, lc->pos, NODE_LOCAL_BATCH, lc__read, n,
                                e);
    if (got <= 0)
        return got;
    int rc = lc__forward(n, e);
    if (rc == 0)
        rc = lc__attach(n, e);
    if (rc == 0)
        rc = lc__issue(n, e);
    if (rc == 0)
        rc = lc__cbec(n, e);
    if (rc == 0)
        rc = lc__remember(n, e);
    if (rc == 0)
        rc = lc__declare(n, e);
    if (rc == 0)
        rc = lc__fanout(n, e);
    if (rc == 0)
        rc = lc__done(n, e);
    if (rc < 0)
        return rc;
    lc->pos = lc->items[lc->k - 1].pos;
    size_t c[6] = {0};
    lc__count(lc, c);
    log_event(LOG_INFO, "local_dispatched", "n=%d dispatched=%zu "
              "forwarded=%zu attached=%zu declared=%zu refused=%zu "
              "issued=%zu", got, c[0], c[1], c[2], c[3], c[4], c[5]);
    return got;
}

int node_local_drain(node *n, int64_t now)
{
    struct node_lc *lc = lc__get(n);
    if (!lc || now < lc->next_poll_ms)
        return 0;
    lc->next_poll_ms = now + LC_POLL_MS;
    err_t e;
    int got = lc__batch(n, &e);
    if (got < 0) {
        static log_gate gate; /* Redis down: a line a second, not a turn */
        unsigned long long held;
        if (log_gate_pass(&gate, 1000, &held))
            log_event(LOG_ERROR, "local_dispatch", "suppressed=%llu msg=%s",
                      held, log_q(e.msg));
        lc->pos_known = 0; /* read again: another instance may have gone on */
        lc->next_poll_ms = now + LC_RETRY_MS;
        return 0;
    }
    if (got == NODE_LOCAL_BATCH)
        lc->next_poll_ms = now;
    return got;
}
