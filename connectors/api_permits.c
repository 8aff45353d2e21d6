/* api_permits: the permit ledger over HTTP (docs/api.yaml, "Permits"),
 * the same reads and renderings as `eportctl permits` (pmview.c):
 *
 *   GET  /v1/permits                the permits issued here (their home)
 *   GET  /v1/permits/{id}           the ledger's view at the home, else
 *                                   the newest answer held (?fresh=1: ask
 *                                   the home first)
 *   GET  /v1/permits/{id}/history   the ledger's history at the home,
 *                                   else this node's requests and answers
 *   POST /v1/permits/{id}/verify    ask the home; a body {"reserve": ...}
 *                                   holds amounts
 *
 * A home's refusal is an answer (200, "ok": false, its code); 504 says
 * the home did not answer within permits.verify_wait_ms and names the
 * request, which stays queued. The wait blocks this worker thread on its
 * own Redis connection (api_tls), as every handler's reads do. */
#include "api_int.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pmview.h"

/* 504: the request is queued and will be answered; the caller looks it
 * up by its id (GET /v1/permits/{id}/history). */
static enum MHD_Result api__pm_timeout(api_req *q, const char *rid,
                                       const err_t *e)
{
    log_event(LOG_WARN, "http_refused", "client=%s status=504 route=%s "
              "why=%s", q->cl ? q->cl->id : "-", q->route->label,
              log_q(e->msg));
    json_t *err = json_pack("{s:s, s:i, s:s, s:s}", "code", "home_timeout",
                            "status", 504, "message", e->msg, "request",
                            rid);
    return api_reply_json(q, 504, err ? json_pack("{s:o}", "error", err)
                                      : NULL);
}

/* A pmview result: the document (taken) with 200, or the error's reply. */
static enum MHD_Result api__pm_reply(api_req *q, int rc, json_t *doc,
                                     const char *rid, const err_t *e)
{
    if (rc == ERR_AGAIN)
        return api__pm_timeout(q, rid, e);
    if (rc < 0) {
        json_decref(doc);
        return api_reply_err(q, e);
    }
    return doc ? api_reply_json(q, MHD_HTTP_OK, doc)
               : api_reply_error(q, 500, "http: out of memory", NULL, NULL,
                                 NULL);
}

/* ---- reads ---- */

enum MHD_Result api_permits(api_req *q)
{
    enum MHD_Result ret = MHD_NO;
    int64_t limit;
    err_t e;
    if (api_arg_int(q, "limit", 1, PMVIEW_LIST_MAX, 1000, &limit))
        return MHD_YES;
    api_tls *t = api_tls_begin(q, &ret);
    if (!t)
        return ret;
    json_t *doc = NULL;
    int rc = pmview_list_json(api_store(t), q->a->c->node.region,
                              (size_t)limit, &t->arena, &doc, &e);
    return api__pm_reply(q, rc, doc, NULL, &e);
}

enum MHD_Result api_permit(api_req *q)
{
    enum MHD_Result ret = MHD_NO;
    int64_t fresh;
    err_t e;
    if (pm_id_check(q->param, &e))
        return api_reply_error(q, 400, e.msg, NULL, NULL, NULL);
    if (api_arg_int(q, "fresh", 0, 1, 0, &fresh))
        return MHD_YES;
    api_tls *t = api_tls_begin(q, &ret);
    if (!t)
        return ret;
    pmview_show s;
    int rc = pmview_show_load(api_store(t), q->a->c->node.region, q->param,
                              (int)fresh, q->a->c->permits.verify_wait_ms,
                              &t->arena, &s, &e);
    return api__pm_reply(q, rc, rc < 0 ? NULL : pmview_show_json_new(&s),
                         s.ans.rid, &e);
}

enum MHD_Result api_permit_history(api_req *q)
{
    enum MHD_Result ret = MHD_NO;
    int64_t limit;
    err_t e;
    if (pm_id_check(q->param, &e))
        return api_reply_error(q, 400, e.msg, NULL, NULL, NULL);
    if (api_arg_int(q, "limit", 1, STORE_PM_HIST_CAP, 1000, &limit))
        return MHD_YES;
    api_tls *t = api_tls_begin(q, &ret);
    if (!t)
        return ret;
    json_t *doc = NULL;
    int rc = pmview_history_json(api_store(t), q->a->c->node.region,
                                 q->param, (size_t)limit, &t->arena, &doc,
                                 &e);
    return api__pm_reply(q, rc, doc, NULL, &e);
}

/* ---- POST /v1/permits/{id}/verify ---- */

/* reserve.lines[i] into out: line (0, the permit as a whole, when left
 * out), quantity and value as decimal strings, at least one of them. */
static int api__pm_line(json_t *el, size_t i, pm_amount *out, err_t *e)
{
    json_error_t je;
    json_int_t line = 0;
    const char *qty = NULL, *val = NULL;
    if (json_unpack_ex(el, &je, JSON_STRICT, "{s?I, s?s, s?s}", "line",
                       &line, "quantity", &qty, "value", &val))
        return err_set(e, ERR_INVALID, "body: reserve.lines[%zu]: %s", i,
                       je.text);
    if (line < 0 || line > UINT32_MAX)
        return err_set(e, ERR_INVALID, "body: reserve.lines[%zu].line: "
                       "want 0 (the permit as a whole) or a line number", i);
    if (!qty && !val)
        return err_set(e, ERR_INVALID, "body: reserve.lines[%zu]: give "
                       "quantity, value or both (decimal strings)", i);
    out->line = (uint32_t)line;
    if (qty && pm_amount_parse(qty, &out->qty, e) < 0)
        return err_wrap(e, "body: reserve.lines[%zu].quantity", i);
    if (val && pm_amount_parse(val, &out->value, e) < 0)
        return err_wrap(e, "body: reserve.lines[%zu].value", i);
    return 0;
}

static int api__pm_reserve(json_t *rsv, pm_req *r, err_t *e)
{
    json_error_t je;
    json_t *lines;
    if (json_unpack_ex(rsv, &je, JSON_STRICT, "{s:s, s:o}", "key", &r->key,
                       "lines", &lines))
        return err_set(e, ERR_INVALID, "body: reserve: %s", je.text);
    size_t n = json_is_array(lines) ? json_array_size(lines) : 0;
    if (n < 1 || n > PM_LINES_MAX)
        return err_set(e, ERR_INVALID, "body: reserve.lines: want an array "
                       "of 1 to %d lines", PM_LINES_MAX);
    r->op = PM_OP_RESERVE;
    r->nlines = (uint32_t)n;
    for (size_t i = 0; i < n; i++)
        if (api__pm_line(json_array_get(lines, i), i, &r->lines[i], e) < 0)
            return ERR_INVALID;
    return 0;
}

/* The body (none: verify only) into r, its strings borrowed from *j
 * (the caller's to free). 0 or ERR_INVALID "body: ...". */
static int api__pm_body(const buf_t *body, json_t **j, pm_req *r, err_t *e)
{
    json_error_t je;
    json_t *rsv = NULL;
    if (!body->len)
        return 0;
    if (!(*j = json_loadb(body->p, body->len, JSON_REJECT_DUPLICATES, &je)))
        return err_set(e, ERR_INVALID, "body: not JSON: %s (line %d)",
                       je.text, je.line);
    if (json_unpack_ex(*j, &je, JSON_STRICT, "{s?o, s?s}", "reserve", &rsv,
                       "holder", &r->holder))
        return err_set(e, ERR_INVALID, "body: %s", je.text);
    return rsv ? api__pm_reserve(rsv, r, e) : 0;
}

/* A client acts for its parties: a holder it names must be one of them,
 * and a reservation (it draws the permit down) must name one unless the
 * client may act for any party ('*'). */
static int api__pm_allowed(const cfg_client *cl, const pm_req *r, err_t *e)
{
    if (r->holder && !cfg_strs_has(&cl->parties, r->holder))
        return err_set(e, ERR_DENIED, "client %s may not act for holder %s "
                       "(not in its parties)", cl->id, r->holder);
    if (!r->holder && r->op == PM_OP_RESERVE &&
        !cfg_strs_has(&cl->parties, "*"))
        return err_set(e, ERR_DENIED, "client %s may reserve only for its "
                       "parties: name the holder", cl->id);
    return 0;
}

enum MHD_Result api_permit_verify(api_req *q)
{
    enum MHD_Result ret = MHD_NO;
    pm_req r = {.op = PM_OP_VERIFY, .permit = q->param};
    json_t *body = NULL;
    pmview_ans v;
    err_t e;
    if (pm_id_check(q->param, &e) || api__pm_body(&q->body, &body, &r, &e))
        ret = api_reply_error(q, 400, e.msg, NULL, NULL, NULL);
    else if (api__pm_allowed(q->cl, &r, &e))
        ret = api_reply_error(q, 403, e.msg, NULL, NULL, NULL);
    else {
        api_tls *t = api_tls_begin(q, &ret);
        int rc = t ? pmview_request(api_store(t), &r,
                                    q->a->c->permits.verify_wait_ms,
                                    &t->arena, &v, &e)
                   : 0;
        if (t)
            ret = api__pm_reply(q, rc, rc < 0 ? NULL
                                : pmview_ans_json_new(&v), v.rid, &e);
    }
    json_decref(body);
    return ret;
}

/* ---- a movement's cited permits (GET /v1/movements/{ref}) ---- */

typedef struct api_gate {
    json_t *o;
    int waits;                 /* a permit still waits for its home */
} api_gate;

static int api__gate_one(void *ctx, const char *permit, const char *state,
                         err_t *e)
{
    (void)e;
    api_gate *g = ctx;
    json_object_set_new(g->o, permit, json_string(state));
    g->waits += !strcmp(state, "pending");
    return 0;
}

int api_permits_gate(store *st, const char *ref, json_t *jo, err_t *e)
{
    api_gate g = {json_object(), 0};
    int rc = store_pmq_gate_get(st, ref, api__gate_one, &g, e);
    if (rc < 0 || !json_object_size(g.o)) {
        json_decref(g.o);
        return rc < 0 ? rc : 0;
    }
    json_object_set_new(jo, "permits", g.o);
    if (g.waits)
        json_object_set_new(jo, "awaiting", json_string(
            "awaiting permit verification"));
    return 0;
}
