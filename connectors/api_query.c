/* api_query: the read side of the HTTP API: a message's status and
 * receipts (GET /v1/messages/{id}), the movement ledger as
 * ledger_query.c answers it (GET /v1/movements, /v1/movements/{ref},
 * /v1/trace) serialised from the same structs `eportctl trace` prints.
 * Everything comes from this node's Redis through the worker thread's own
 * connection. */
#include "api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envcheck.h"
#include "envelope.h"
#include "ledger_query.h"
#include "msgid.h"
#include "mvref.h"
#include "store_fan.h"
#include "store_local.h"

/* ---- GET /v1/messages/{id} ---- */

/* v and at are numbers in Redis; the rest strings as stored. */
static int api__msg_field(void *ctx, const char *name, const char *value,
                          err_t *e)
{
    json_t *o = ctx;
    char *end;
    (void)e;
    long long n = strtoll(value, &end, 10);
    if (!strcmp(name, "at") && *value && !*end) {
        json_object_set_new(o, "at", api_time((uint64_t)n));
        json_object_set_new(o, "at_ms", json_integer(n));
    } else if (!strcmp(name, "v") && *value && !*end) {
        json_object_set_new(o, "v", json_integer(n));
    } else {
        json_object_set_new(o, name, json_string(value));
    }
    return 0;
}

typedef struct api_rcpts {
    json_t *list;
    arena_t *a;
} api_rcpts;

/* One receipt kept for the forwarded envelope: a signed receipt envelope
 * whose payload says stored, duplicate or refused (and why). */
static int api__rcpt(void *ctx, const char *from, const void *frame,
                     size_t n, err_t *e)
{
    api_rcpts *r = ctx;
    env *v;
    env_receipt rc;
    json_t *o = json_pack("{s:s}", "from", from);
    if (env_decode(frame, n, r->a, &v, e) < 0 ||
        env_receipt_decode(v->payload, v->payload_len, r->a, &rc, e) < 0) {
        json_object_set_new(o, "status", json_string("unreadable"));
    } else {
        json_object_set_new(o, "status",
                            json_string(env_status_name(rc.status)));
        json_object_set_new(o, "reason", api_str(rc.reason));
        json_object_set_new(o, "at", api_time(rc.at_ms));
    }
    json_array_append_new(r->list, o);
    return 0;
}

/* A fanned-out submission's combined status and its agencies' lines
 * (docs/fan-out.md) into o; nothing when it was not fanned out. */
static int api__fanout(store *st, const char *id, json_t *o, err_t *e)
{
    static _Thread_local store_fan_ag l[STORE_FAN_AGENCIES];
    size_t n;
    char kind[24];
    int rc = store_fan_get(st, id, kind, l, STORE_FAN_AGENCIES, &n, e);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    json_t *ags = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(ags, l[i].agency, json_pack(
            "{s:s, s:s, s:s, s:s*, s:s*, s:I, s:I}", "state", l[i].state,
            "mapping", l[i].mapping, "connector", l[i].conn, "missing",
            *l[i].missing ? l[i].missing : NULL, "text",
            *l[i].text ? l[i].text : NULL, "attempts",
            (json_int_t)l[i].attempt, "at_ms", (json_int_t)l[i].at_ms));
    json_object_set_new(o, "agencies", ags);
    json_object_set_new(o, "combined", json_string(store_fan_combined(l, n)));
    return 0;
}

enum MHD_Result api_message(api_req *q)
{
    enum MHD_Result ret = MHD_NO;
    err_t e;
    if (msgid_parse(q->param, NULL, &e))
        return api_reply_error(q, 400, e.msg, NULL, NULL, NULL);
    api_tls *t = api_tls_begin(q, &ret);
    if (!t)
        return ret;
    json_t *o = json_pack("{s:s}", "id", q->param);
    int rc = store_msg_get(api_store(t), q->param, api__msg_field, o, &e);
    api_rcpts r = {json_array(), &t->arena};
    const char *fwd = json_string_value(json_object_get(o, "fwd"));
    if (rc >= 0 && fwd && *fwd)
        rc = store_rcpt_list(api_store(t), fwd, api__rcpt, &r, &e);
    json_object_set_new(o, "receipts", r.list);
    if (rc >= 0)
        rc = api__fanout(api_store(t), q->param, o, &e);
    if (rc < 0) {
        json_decref(o);
        if (rc == ERR_NOTFOUND)
            snprintf(e.msg, sizeof e.msg, "message %s: not known at this "
                     "node (never accepted, or older than 7 days)", q->param);
        return api_reply_err(q, &e);
    }
    return api_reply_json(q, MHD_HTTP_OK, o);
}

/* ---- a movement's state and journey ---- */

static json_t *api__strs(const char *const *v, uint32_t n)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < n; i++)
        json_array_append_new(a, api_str(v[i]));
    return a;
}

static json_t *api__goods(const mv_event *d)
{
    json_t *docs = json_array(), *ctrs = json_array();
    for (uint32_t i = 0; i < d->ndocs; i++)
        json_array_append_new(docs, json_pack("{s:o, s:o}", "type",
                              api_str(d->docs[i].type), "number",
                              api_str(d->docs[i].no)));
    for (uint32_t i = 0; i < d->nctrs; i++)
        json_array_append_new(ctrs, json_pack("{s:o, s:o}", "number",
                              api_str(d->ctrs[i].no), "seals",
                              api__strs(d->ctrs[i].seals,
                                        d->ctrs[i].nseals)));
    return json_pack("{s:o, s:o, s:I, s:o, s:o, s:o}", "documents", docs,
                     "containers", ctrs, "packages", (json_int_t)d->pkgs,
                     "declarant", api_str(d->declarant), "guarantee",
                     api_str(d->guarantee), "limit", api_time(d->limit_ms));
}

static json_t *api__stops(const mv_state *s)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < s->data.nitin; i++)
        json_array_append_new(a, json_pack("{s:s, s:s}", "region",
                              s->data.itin[i], "stop", i == 0
                              ? "departure" : lq_stop_name(s->stop[i])));
    return a;
}

static json_t *api__state(const mv_state *s)
{
    json_t *o = json_pack(
        "{s:s, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o}", "phase",
        mv_phase_name(s->phase), "kind", api_str(s->data.kind), "itinerary",
        api__strs(s->data.itin, s->data.nitin), "stops", api__stops(s),
        "events", (json_int_t)s->nevents, "declared",
        api_time(s->declared_ms), "released", api_time(s->released_ms),
        "arrived", api_time(s->arrived_ms), "closed",
        api_time(s->closed_ms));
    json_object_update_new(o, json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:I, s:o}", "held", api_str(s->held),
        "hold_why", api_str(s->hold_why), "risk", api_str(s->risk),
        "control", api_str(s->control), "winner", api_str(s->winner),
        "enquiries", (json_int_t)s->enquiries, "last_id",
        api_str(s->last_id)));
    json_object_update_new(o, api__goods(&s->data));
    return o;
}

static json_t *api__step(const lq_step *st)
{
    return json_pack("{s:I, s:o, s:o, s:s, s:o, s:o, s:s}", "n",
                     (json_int_t)st->n, "id", api_str(st->id), "signer",
                     api_str(st->signer), "type", mv_type_name(st->ev->type),
                     "by", api_str(st->ev->by), "at", api_time(st->ev->at_ms),
                     "details", st->details ? st->details : "");
}

static json_t *api__journey(const lq_journey *j)
{
    json_t *steps = json_array(), *refused = json_array();
    for (size_t i = 0; i < j->nsteps; i++)
        json_array_append_new(steps, api__step(&j->steps[i]));
    for (size_t i = 0; i < j->nrefusals; i++)
        json_array_append_new(refused, json_pack("{s:o, s:o}", "id",
                              api_str(j->refusals[i].id), "message",
                              api_str(j->refusals[i].msg)));
    return json_pack("{s:s, s:o, s:o, s:o, s:I}", "ref", j->ref, "state",
                     api__state(&j->state), "steps", steps, "refusals",
                     refused, "unreadable", (json_int_t)j->unreadable);
}

/* lq_verify's verdicts put on the steps they judge (by log position n):
 * `verified` and `verify` ("ok" or the first check that failed); n == 0,
 * the replayed state against the stored one, and the count of failures
 * go on the journey itself. */
typedef struct api_vctx {
    json_t *steps, *top;
} api_vctx;

static void api__check(void *ctx, const lq_check *c)
{
    api_vctx *v = ctx;
    const char *why = c->ok ? "ok" : c->why ? c->why : "failed";
    json_t *o = c->n == 0 ? v->top : NULL;
    for (size_t i = 0; !o && i < json_array_size(v->steps); i++) {
        json_t *s = json_array_get(v->steps, i);
        if (json_integer_value(json_object_get(s, "n")) == (json_int_t)c->n)
            o = s;
    }
    if (!o || (json_object_get(o, "verified") &&
               !json_is_true(json_object_get(o, "verified"))))
        return; /* keep the first failure of a step */
    json_object_set_new(o, c->n ? "verified" : "state_verified",
                        json_boolean(c->ok));
    json_object_set_new(o, c->n ? "verify" : "state_verify", json_string(why));
}

/* Verification is an answer too: when it cannot be done (no CA, Redis
 * gone between the two reads) the journey says why instead of failing. */
static void api__verify(api_tls *t, const char *ref, json_t *jo)
{
    err_t e;
    api_vctx v = { json_object_get(jo, "steps"), jo };
    if (!t->ec && envcheck_open(t->a->c, &t->ec, &e) < 0) {
        json_object_set_new(jo, "verify", json_sprintf("not checked: %s",
                                                       e.msg));
        return;
    }
    int bad = lq_verify(api_store(t), t->ec, ref, &t->arena, api__check, &v,
                        &e);
    json_object_set_new(jo, "verify", bad < 0 ? json_sprintf("not checked: "
                        "%s", e.msg) : bad ? json_sprintf("%d checks failed",
                        bad) : json_string("ok"));
}

enum MHD_Result api_movement(api_req *q)
{
    enum MHD_Result ret = MHD_NO;
    err_t e;
    if (mvref_check(q->param, &e))
        return api_reply_error(q, 400, e.msg, NULL, NULL, NULL);
    api_tls *t = api_tls_begin(q, &ret);
    if (!t)
        return ret;
    lq_journey j;
    if (lq_journey_load(api_store(t), q->param, &t->arena, &j, &e))
        return api_reply_err(q, &e);
    json_t *jo = api__journey(&j);
    api__verify(t, q->param, jo);
    if (api_permits_gate(api_store(t), q->param, jo, &e) < 0) {
        json_decref(jo);
        return api_reply_err(q, &e);
    }
    return api_reply_json(q, MHD_HTTP_OK, jo);
}

/* ---- GET /v1/trace ---- */

static int api__trace_one(void *ctx, const lq_journey *j, err_t *e)
{
    (void)e;
    json_array_append_new(ctx, api__journey(j));
    return 0;
}

/* The one of container, document, ref given; NULL (400 queued) else. */
static const char *api__trace_what(api_req *q, enum MHD_Result *ret)
{
    static const char *const keys[] = {"container", "document", "ref"};
    const char *what = NULL;
    int n = 0;
    for (size_t i = 0; i < 3; i++) {
        const char *v = api_arg(q, keys[i]);
        if (v && *v)
            what = v, n++;
    }
    if (n != 1)
        *ret = api_reply_error(q, 400, "trace: give exactly one of "
                               "container=, document=TYPE:NUMBER or ref=",
                               NULL, NULL, NULL);
    return n == 1 ? what : NULL;
}

enum MHD_Result api_trace(api_req *q)
{
    enum MHD_Result ret = MHD_NO;
    err_t e;
    const char *what = api__trace_what(q, &ret);
    if (!what)
        return ret;
    api_tls *t = api_tls_begin(q, &ret);
    if (!t)
        return ret;
    json_t *list = json_array();
    int n = lq_trace(api_store(t), what, &t->arena, api__trace_one, list, &e);
    if (n == 0)
        n = err_set(&e, ERR_NOTFOUND, "trace %s: no movement of it is on "
                    "this node's itinerary", what);
    if (n < 0) {
        json_decref(list);
        return api_reply_err(q, &e);
    }
    return api_reply_json(q, MHD_HTTP_OK,
                          json_pack("{s:s, s:o}", "query", what, "journeys",
                                    list));
}

/* ---- GET /v1/movements ---- */

/* Container numbers of a movement: what people search the list by. */
static json_t *api__ctr_numbers(const mv_event *d)
{
    json_t *a = json_array();
    for (uint32_t i = 0; a && i < d->nctrs; i++)
        json_array_append_new(a, json_string(d->ctrs[i].no));
    return a ? a : json_null();
}

static int api__movement_row(void *ctx, const char *ref, const mv_state *s,
                             err_t *e)
{
    (void)e;
    json_t *row = json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:I, s:o, s:o, s:I}", "ref", ref, "phase",
        mv_phase_name(s->phase), "kind", api_str(s->data.kind), "itinerary",
        api__strs(s->data.itin, s->data.nitin), "declared",
        api_time(s->declared_ms), "events", (json_int_t)s->nevents, "held",
        api_str(s->held), "risk", api_str(s->risk), "enquiries",
        (json_int_t)s->enquiries);
    if (row)
        json_object_set_new(row, "containers", api__ctr_numbers(&s->data));
    json_array_append_new(ctx, row);
    return 0;
}

enum MHD_Result api_movements(api_req *q)
{
    enum MHD_Result ret = MHD_NO;
    err_t e;
    int64_t limit;
    if (api_arg_int(q, "limit", 1, 10000, 1000, &limit))
        return MHD_YES;
    api_tls *t = api_tls_begin(q, &ret);
    if (!t)
        return ret;
    const char *phase = api_arg(q, "phase"), *region = api_arg(q, "region");
    lq_filter f = {phase && *phase ? phase : NULL,
                   region && *region ? region : NULL, (size_t)limit};
    json_t *list = json_array();
    int n = lq_movements(api_store(t), &f, api__movement_row, list, &e);
    if (n < 0) {
        json_decref(list);
        return api_reply_err(q, &e);
    }
    return api_reply_json(q, MHD_HTTP_OK, json_pack("{s:I, s:o}", "count",
                          (json_int_t)n, "movements", list));
}
