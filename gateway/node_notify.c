/* node_notify: what the node tells local systems (docs/connectors.md,
 * "Outbound"). When the ledger applies a movement event whose class a
 * connector asked for in out_events, a canonical record is queued on that
 * connector's stream v1:lout:<conn>, for its outbound thread (connectors/
 * out.c) to map back and deliver:
 *
 *   released             a release applied at the departure region
 *   anticipated_arrival  a release applied at a region later on the
 *                        itinerary: the goods are coming (NCTS' AAR)
 *   discrepancy          a discrepancy recorded
 *   arrived, written_off the movement arrived, was written off
 *
 * released and discrepancy are `response` records (customs.reference =
 * the movement, customs.status = the class); the others `status`
 * records (status.event = the class). Both carry the document and the
 * containers with their seals, from the movement's state.
 *
 * Exactly once: each is queued under the key "<conn>:<event msg id>"
 * (store_lout_add refuses a key queued before), from the ledger's hook,
 * before the ledger saves its position. A crash before that replays the
 * batch: the events come back as duplicates and are offered again; what
 * was queued is not queued twice, what was not is queued now. A failure
 * to queue fails the ledger's batch (node_ledger.c), which is then run
 * again.
 *
 * Also here: a local message's status (message_status) and the event
 * feed's `mv` lines (v1:events: the ledger applied an event). */
#include "node_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "ledger_query.h"
#include "log.h"
#include "model.h"
#include "model_pack.h"
#include "mvref.h"
#include "mvrule.h"
#include "store_local.h"
#include "store_mv.h"

#define NF_ARENA_MAX (16u << 20)
#define NF_PACK_MAX (1u << 20)
#define NF_KEY_MAX 200

#define NF_FEED_MAX 1024 /* feed lines held for one ledger batch */

struct node_nf {
    arena_t a;  /* one record, reset per event */
    buf_t pk;   /* its msgpack form */
    /* the batch's `mv` feed lines, written by node_notify_flush in one
     * round trip (one XADD each was a round trip per applied event) */
    char *feed[NF_FEED_MAX];
    size_t nfeed;
};

static struct node_nf *nf__get(node *n)
{
    if (n->nf)
        return n->nf;
    n->nf = calloc(1, sizeof *n->nf);
    if (!n->nf)
        return NULL;
    arena_init(&n->nf->a, NF_ARENA_MAX);
    buf_init(&n->nf->pk, NF_PACK_MAX);
    return n->nf;
}

void node_notify_close(node *n)
{
    if (!n->nf)
        return;
    for (size_t i = 0; i < n->nf->nfeed; i++)
        free(n->nf->feed[i]);
    arena_free(&n->nf->a);
    buf_free(&n->nf->pk);
    free(n->nf);
    n->nf = NULL;
}

/* ---- which connectors want what ---- */

/* The class of ev as seen from this node, NULL when none is told. A
 * release carries the movement data, its itinerary among it. */
static const char *nf__class(const node *n, const mv_event *ev)
{
    const char *region = n->cfg->node.region;
    switch (ev->type) {
    case MV_RELEASED:
        for (uint32_t i = 0; i < ev->nitin; i++)
            if (!strcmp(ev->itin[i], region))
                return i == 0 ? "released" : "anticipated_arrival";
        return NULL;
    case MV_DISCREPANCY:
        return "discrepancy";
    case MV_ARRIVED:
        return "arrived";
    case MV_WRITTEN_OFF:
        return "written_off";
    default:
        return NULL;
    }
}

static int nf__wanted(const cfg *c, const char *cls)
{
    for (size_t i = 0; i < c->nconnectors; i++)
        if (cfg_strs_has(&c->connectors[i].out_events, cls))
            return 1;
    return 0;
}

/* ---- the record ---- */

static char *nf__dup(arena_t *a, const char *s)
{
    return s ? arena_strdup(a, s) : NULL;
}

static int nf__equipment(arena_t *a, model_record *r, const mv_event *d,
                         err_t *e)
{
    const model_field *f = model_array_of(MO_EQUIPMENT);
    for (uint32_t i = 0; i < d->nctrs; i++) {
        model_equipment *q = model_array_append(a, r, f, e);
        if (!q)
            return ERR_NOMEM;
        q->number = nf__dup(a, d->ctrs[i].no);
        for (uint32_t k = 0; k < d->ctrs[i].nseals; k++) {
            const char *s = d->ctrs[i].seals[k];
            if (model_strlist_add(a, &q->seals, s, strlen(s), e) < 0)
                return ERR_NOMEM;
        }
    }
    return 0;
}

/* The record telling class cls of event it, with the movement's data d
 * (its state's, or the event's own when the state is not at hand). */
static model_record *nf__record(arena_t *a, const char *cls,
                                const ledger_item *it, const mv_event *d,
                                err_t *e)
{
    const mv_event *ev = it->ev;
    model_record *r = model_record_new(a);
    char at[LQ_TIME_LEN];
    if (!r)
        return NULL;
    lq_time(ev->at_ms, at);
    int resp = !strcmp(cls, "released") || !strcmp(cls, "discrepancy");
    r->kind = resp ? "response" : "status";
    r->customs.reference = nf__dup(a, ev->ref);
    if (d->ndocs) {
        r->document.type = nf__dup(a, d->docs[0].type);
        r->document.number = nf__dup(a, d->docs[0].no);
    }
    if (resp) {
        r->customs.status = nf__dup(a, cls);
        r->customs.status_text = nf__dup(a, ev->note ? ev->note : ev->result);
        r->customs.decision_time = nf__dup(a, at);
        r->customs.office = nf__dup(a, it->author);
    } else {
        r->status.event = nf__dup(a, cls);
        r->status.time = nf__dup(a, at);
        r->status.place = nf__dup(a, ev->place);
        r->status.description = nf__dup(a, ev->note);
        r->status.equipment = d->nctrs ? nf__dup(a, d->ctrs[0].no) : NULL;
    }
    return nf__equipment(a, r, d, e) < 0 ? NULL : r;
}

/* The movement's data: the state the ledger just stored, else (a
 * duplicate found again) the stored one, else the event's own. */
static const mv_event *nf__data(node *n, const ledger_result *r, arena_t *a)
{
    if (r->after)
        return &r->after->data;
    buf_t b;
    buf_init(&b, ENV_MAX_FRAME);
    err_t e;
    mv_state *s = arena_zalloc(a, sizeof *s);
    int ok = s && store_mv_state(n->st, r->item->ev->ref, &b, &e) == 0 &&
             mv_state_decode(b.p, b.len, a, s, &e) == 0;
    buf_free(&b);
    return ok ? &s->data : r->item->ev;
}

/* Queue the packed record for every connector wanting cls. */
static int nf__queue(node *n, const char *cls, const char *ev_name,
                     const char *key_id, const char *only, err_t *e)
{
    const cfg *c = n->cfg;
    for (size_t i = 0; i < c->nconnectors; i++) {
        const cfg_connector *cc = &c->connectors[i];
        if ((only && strcmp(only, cc->name)) ||
            !cfg_strs_has(&cc->out_events, cls))
            continue;
        char key[NF_KEY_MAX];
        snprintf(key, sizeof key, "%s:%s", cc->name, key_id);
        int rc = store_lout_add(n->st, cc->name, key, ev_name, n->nf->pk.p,
                                n->nf->pk.len, e);
        if (rc < 0)
            return err_wrap(e, "notify %s of %s", cc->name, key_id);
        if (rc == 0)
            log_event(LOG_DEBUG, "notify_queued", "conn=%s ev=%s key=%s",
                      cc->name, ev_name, key);
    }
    return 0;
}

/* ---- the event feed ---- */

static void nf__feed_mv(node *n, const ledger_item *it)
{
    struct node_nf *nf = nf__get(n);
    if (!nf)
        return;
    if (nf->nfeed == NF_FEED_MAX)
        node_notify_flush(n);
    char at[LQ_TIME_LEN];
    lq_time(it->ev->at_ms, at);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "ref", it->ev->ref,
                          "type", mv_type_name(it->ev->type), "by",
                          it->author ? it->author : "", "at", at, "id",
                          it->id);
    char *js = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (js)
        nf->feed[nf->nfeed++] = js; /* freed by node_notify_flush */
    json_decref(o);
}

void node_notify_flush(node *n)
{
    struct node_nf *nf = n->nf;
    if (!nf || !nf->nfeed)
        return;
    const char *names[NF_FEED_MAX];
    for (size_t i = 0; i < nf->nfeed; i++)
        names[i] = "mv";
    err_t e;
    if (store_event_add_many(n->st, names, (const char *const *)nf->feed,
                             nf->nfeed, &e) < 0)
        log_event(LOG_WARN, "event_feed", "ev=mv events=%zu msg=%s",
                  nf->nfeed, log_q(e.msg));
    for (size_t i = 0; i < nf->nfeed; i++)
        free(nf->feed[i]);
    nf->nfeed = 0;
}

int node_notify_event(node *n, const ledger_result *r)
{
    const ledger_item *it = r->item;
    if (r->outcome == LEDGER_APPLIED)
        nf__feed_mv(n, it);
    const char *cls = nf__class(n, it->ev);
    if (!cls || !nf__wanted(n->cfg, cls))
        return 0;
    struct node_nf *nf = nf__get(n);
    err_t e;
    if (!nf)
        return err_set(&e, ERR_NOMEM, "notify: out of memory");
    arena_reset(&nf->a);
    buf_reset(&nf->pk);
    const mv_event *d = nf__data(n, r, &nf->a);
    model_record *rec = nf__record(&nf->a, cls, it, d, &e);
    int rc = rec ? model_pack(rec, &nf->pk, &e) : ERR_NOMEM;
    if (rc == 0)
        rc = nf__queue(n, cls, cls, it->id, NULL, &e);
    if (rc < 0)
        log_event(LOG_ERROR, "notify", "ref=%s ev=%s id=%s msg=%s",
                  it->ev->ref, cls, it->id, log_q(e.msg));
    return rc;
}

int node_notify_status(node *n, const char *conn, const char *id,
                       const char *st, const char *detail, err_t *e)
{
    const cfg_connector *cc = cfg_connector_find(n->cfg, conn);
    if (!cc || !cfg_strs_has(&cc->out_events, "message_status"))
        return 0;
    struct node_nf *nf = nf__get(n);
    if (!nf)
        return err_set(e, ERR_NOMEM, "notify: out of memory");
    arena_reset(&nf->a);
    buf_reset(&nf->pk);
    model_record *r = model_record_new(&nf->a);
    if (!r)
        return err_set(e, ERR_NOMEM, "notify: out of memory");
    r->kind = "response";
    r->customs.reference = nf__dup(&nf->a, id);
    r->customs.status = nf__dup(&nf->a, st);
    r->customs.status_text = nf__dup(&nf->a, detail);
    int rc = model_pack(r, &nf->pk, e);
    char key[NF_KEY_MAX];
    snprintf(key, sizeof key, "msg:%s", id);
    return rc < 0 ? rc
                  : nf__queue(n, "message_status", "message_status", key,
                              conn, e);
}
