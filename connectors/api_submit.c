/* api_submit: POST /v1/messages. The body is a local-format input; it goes
 * through ingest (translate, check the client, store durably) and is
 * acknowledged 202 with the ids only after intake stored every record.
 * The mapping is ?map=NAME, else the content type's map=NAME parameter,
 * else the connector's `mapping`, else chosen by content. */
#include "api_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "metrics.h"
#include "msgid.h"

#define API_PROBLEMS_MAX (64u << 10) /* problem lines sent back */
#define API_IDEM_MAX 256
#define API_MAPNAME_MAX 128

/* The map=NAME parameter of a content type ("text/plain; map=iftmin"),
 * copied into out; NULL when there is none. */
static const char *api__ctype_map(const char *ct, char *out, size_t n)
{
    for (const char *p = ct ? strchr(ct, ';') : NULL; p;
         p = strchr(p + 1, ';')) {
        const char *s = p + 1 + strspn(p + 1, " \t");
        if (strncasecmp(s, "map=", 4))
            continue;
        s += 4;
        int quoted = *s == '"';
        size_t len = strcspn(s += quoted, quoted ? "\"" : "; \t");
        if (!len || len >= n)
            return NULL;
        memcpy(out, s, len);
        out[len] = '\0';
        return out;
    }
    return NULL;
}

static const char *api__map(api_req *q, const char *conn, char *buf,
                            size_t n)
{
    const char *m = api_arg(q, "map");
    if (m && *m)
        return m;
    if ((m = api__ctype_map(api_header(q, MHD_HTTP_HEADER_CONTENT_TYPE), buf,
                            n)))
        return m;
    const cfg_connector *cc = cfg_connector_find(q->a->c, conn);
    return cc ? cc->mapping : NULL;
}

/* The 202 body, written directly: it is the reply of every accepted
 * submission, and ids (ULIDs) and kinds (model_validate's words) need no
 * escaping. */
static enum MHD_Result api__accepted(api_req *q, const api_job *j)
{
    buf_t b;
    buf_init(&b, 64 + j->n * (MSGID_LEN + 64));
    int rc = buf_adds(&b, "{\"status\":\"accepted\",\"messages\":[");
    for (size_t i = 0; i < j->n && !rc; i++)
        rc = buf_printf(&b, "%s{\"id\":\"%s\",\"kind\":\"%s\","
                        "\"duplicate\":%s}", i ? "," : "", j->ids[i],
                        j->recs[i]->kind ? j->recs[i]->kind : "",
                        j->dup[i] ? "true" : "false");
    if (!rc)
        rc = buf_adds(&b, "]}");
    enum MHD_Result ret = rc ? MHD_NO
                             : api_reply_text(q, MHD_HTTP_ACCEPTED,
                                              "application/json", b.p, b.len);
    buf_free(&b);
    return ret;
}

/* ERR_AGAIN is the node's backlog (503) or the client's rate (429). */
static enum MHD_Result api__again(api_req *q, int64_t retry, const err_t *e)
{
    const cfg_api *ap = &q->a->c->api;
    int64_t s = retry > 0 ? retry : ap->retry_after_s;
    char ra[24];
    snprintf(ra, sizeof ra, "%lld", (long long)(s > 0 ? s : 1));
    int backlog = ap->max_backlog > 0 && intake_backlog() >= ap->max_backlog;
    return api_reply_error(q, backlog ? 503 : 429, e->msg, NULL,
                           MHD_HTTP_HEADER_RETRY_AFTER, ra);
}

/* A refusal of ingest (problems: its lines) or of intake (NULL). */
static enum MHD_Result api__refused(api_req *q, int rc, const char *problems,
                                    int64_t retry, const err_t *e)
{
    char ra[24];
    switch (rc) {
    case ERR_SYNTAX:
        return api_reply_error(q, 400, e->msg, problems, NULL, NULL);
    case ERR_INVALID: case ERR_NOMAP:
        return api_reply_error(q, 422, e->msg, problems, NULL, NULL);
    case ERR_TOOBIG:
        return api_reply_error(q, 413, e->msg, NULL, NULL, NULL);
    case ERR_DENIED:
        return api_reply_error(q, 403, e->msg, NULL, NULL, NULL);
    case ERR_AGAIN:
        return api__again(q, retry, e);
    case ERR_IO:
        snprintf(ra, sizeof ra, "%lld",
                 (long long)q->a->c->api.retry_after_s);
        return api_reply_error(q, 503, e->msg, NULL,
                               MHD_HTTP_HEADER_RETRY_AFTER, ra);
    default:
        return api_reply_error(q, 500, e->msg, NULL, NULL, NULL);
    }
}

enum MHD_Result api_submit_reply(api_req *q, api_job *j)
{
    enum MHD_Result ret = j->rc ? api__refused(q, j->rc, NULL,
                                               j->retry_after_s, &j->e)
                                : api__accepted(q, j);
    q->job = NULL;
    api_job_free(j);
    return ret;
}

/* The records of q translated into j, or the refusal queued (NULL). */
static api_job *api__translate(api_req *q, api_tls *t, const char *conn,
                               enum MHD_Result *ret)
{
    static _Thread_local ingest_res res; /* 12 KB: off the stack */
    char mbuf[API_MAPNAME_MAX];
    err_t e;
    ingest_req r = {conn, q->cl, "body", q->body.p ? q->body.p : "",
                    q->body.len, api__map(q, conn, mbuf, sizeof mbuf), NULL,
                    q->t0_ms};
    api_job *j = api_job_new(q->cl, conn, q->t0_ms);
    if (!j) {
        *ret = api_reply_error(q, 500, "http: out of memory", NULL, NULL,
                               NULL);
        return NULL;
    }
    buf_init(&res.problems, API_PROBLEMS_MAX);
    int rc = ingest_translate(t->g, &r, &j->arena, j->recs, &j->n, &res, &e);
    if (rc) {
        *ret = api__refused(q, rc, res.problems.p, 0, &e);
        api_job_free(j);
        j = NULL;
    }
    buf_free(&res.problems);
    return j;
}

/* POST /v1/messages, or (corrects: a message id) POST
 * /v1/messages/{id}/resubmit: the same records, each with
 * customs.reference = the submission it corrects (docs/fan-out.md). */
static enum MHD_Result api__submit(api_req *q, const char *corrects)
{
    err_t e;
    enum MHD_Result ret = MHD_NO;
    api_tls *t = api_tls_get(q->a, &e);
    if (!t)
        return api_reply_err(q, &e);
    const char *conn = api_arg(q, "connector");
    conn = conn && *conn ? conn : q->cl->connector;
    const char *idem = api_header(q, "Idempotency-Key");
    if (idem && strlen(idem) > API_IDEM_MAX)
        return api_reply_error(q, 400, "Idempotency-Key: longer than 256 "
                               "characters", NULL, NULL, NULL);
    api_job *j = api__translate(q, t, conn, &ret);
    if (!j)
        return ret;
    for (size_t i = 0; corrects && i < j->n; i++)
        j->recs[i]->customs.reference = arena_strdup(&j->arena, corrects);
    j->idem = idem;
    if (api_commit_submit(q->a, q, j, idem) == 0)
        return MHD_YES; /* answered once resumed (api_submit_reply) */
    api_job_accept(j, ingest_intake(t->g));
    return api_submit_reply(q, j);
}

enum MHD_Result api_submit(api_req *q)
{
    return api__submit(q, NULL);
}

enum MHD_Result api_resubmit(api_req *q)
{
    err_t e;
    if (msgid_parse(q->param, NULL, &e))
        return api_reply_error(q, 400, e.msg, NULL, NULL, NULL);
    return api__submit(q, q->param);
}
