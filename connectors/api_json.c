/* api_json: what every handler of the HTTP API shares: JSON and text
 * replies, the one error shape ({"error": {"code", "status", "message",
 * "problems"}}, each refusal logged on one line), query arguments and
 * the caller's API key. */
#include "api_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "ledger_query.h"
#include "log.h"
#include "metrics.h"

/* ---- replies ---- */

struct MHD_Response *api_json_response(json_t *body)
{
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!s)
        return NULL;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(s), s, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(s);
        return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json");
    return r;
}

static enum MHD_Result api__queue(api_req *q, int status,
                                  struct MHD_Response *r)
{
    if (!r)
        return MHD_NO; /* out of memory: MHD closes the connection */
    enum MHD_Result ret = MHD_queue_response(q->conn, (unsigned)status, r);
    MHD_destroy_response(r);
    q->status = status;
    return ret;
}

enum MHD_Result api_reply_json(api_req *q, int status, json_t *body)
{
    return api__queue(q, status, api_json_response(body));
}

enum MHD_Result api_reply_text(api_req *q, int status, const char *ctype,
                               const char *text, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (r)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    return api__queue(q, status, r);
}

/* ---- errors ---- */

static const char *api__code(int status)
{
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 413: return "too_big";
    case 422: return "invalid";
    case 429: return "rate_limited";
    case 503: return "unavailable";
    default: return "internal";
    }
}

/* problems: lines, each ending in '\n' (the last may not). */
static json_t *api__lines(const char *problems)
{
    json_t *a = json_array();
    for (const char *p = problems; p && *p && a;) {
        size_t n = strcspn(p, "\n");
        json_array_append_new(a, json_stringn(p, n));
        p += n + (p[n] == '\n');
    }
    return a;
}

struct MHD_Response *api_error_response(int status, const char *msg,
                                        const char *problems)
{
    json_t *err = json_pack("{s:s, s:i, s:s}", "code", api__code(status),
                            "status", status, "message", msg);
    if (err && problems && *problems)
        json_object_set_new(err, "problems", api__lines(problems));
    return api_json_response(err ? json_pack("{s:o}", "error", err) : NULL);
}

enum MHD_Result api_reply_error(api_req *q, int status, const char *msg,
                                const char *problems, const char *hdr,
                                const char *val)
{
    log_event(status == 404 ? LOG_INFO : status >= 500 ? LOG_ERROR
                                                        : LOG_WARN,
              "http_refused", "client=%s status=%d route=%s why=%s",
              q->cl ? q->cl->id : "-", status,
              q->route ? q->route->label : "none", log_q(msg));
    struct MHD_Response *r = api_error_response(status, msg, problems);
    if (r && hdr)
        MHD_add_response_header(r, hdr, val);
    return api__queue(q, status, r);
}

enum MHD_Result api_reply_err(api_req *q, const err_t *e)
{
    char ra[24];
    switch (e->code) {
    case ERR_NOTFOUND:
        return api_reply_error(q, 404, e->msg, NULL, NULL, NULL);
    case ERR_INVALID: case ERR_CODE: case ERR_SYNTAX: case ERR_USAGE:
        return api_reply_error(q, 400, e->msg, NULL, NULL, NULL);
    case ERR_IO: case ERR_AGAIN:
        snprintf(ra, sizeof ra, "%lld",
                 (long long)q->a->c->api.retry_after_s);
        met_add(MET_ERRORS, "redis", 1);
        return api_reply_error(q, 503, e->msg, NULL,
                               MHD_HTTP_HEADER_RETRY_AFTER, ra);
    default:
        return api_reply_error(q, 500, e->msg, NULL, NULL, NULL);
    }
}

/* ---- request values ---- */

const char *api_arg(const api_req *q, const char *key)
{
    return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *api_header(const api_req *q, const char *name)
{
    return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

int api_arg_int(api_req *q, const char *key, int64_t lo, int64_t hi,
                int64_t def, int64_t *out)
{
    const char *v = api_arg(q, key);
    char *end;
    *out = def;
    if (!v)
        return 0;
    long long n = strtoll(v, &end, 10);
    if (*v && !*end && n >= lo && n <= hi)
        return *out = n, 0;
    char msg[160];
    snprintf(msg, sizeof msg, "%s: '%.40s' is not a whole number from %lld "
             "to %lld", key, v, (long long)lo, (long long)hi);
    api_reply_error(q, 400, msg, NULL, NULL, NULL);
    return -1;
}

json_t *api_time(uint64_t ms)
{
    if (!ms)
        return json_null();
    char t[LQ_TIME_LEN];
    lq_time(ms, t);
    return json_string(t);
}

json_t *api_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* ---- the caller ---- */

/* The key of Authorization: Bearer KEY, else X-API-Key; NULL: none. */
static const char *api__key(const api_req *q)
{
    const char *h = api_header(q, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h && !strncasecmp(h, "Bearer ", 7)) {
        for (h += 7; *h == ' '; h++)
            ;
        return *h ? h : NULL;
    }
    h = api_header(q, "X-API-Key");
    return h && *h ? h : NULL;
}

static enum MHD_Result api__unauthorized(api_req *q, const char *why)
{
    met_add(MET_ERRORS, "auth", 1);
    return api_reply_error(q, 401, why, NULL,
                           MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
}

int api_auth(api_req *q, enum MHD_Result *ret)
{
    const char *key = api__key(q);
    const api_access acc = q->route->access;
    if (!key && (acc == API_OPEN ||
                 (acc == API_READ && q->a->c->api.public_reads)))
        return 0;
    if (!key) {
        *ret = api__unauthorized(q, "missing API key (Authorization: "
                                    "Bearer KEY, or X-API-Key: KEY)");
        return -1;
    }
    err_t e;
    q->cl = strlen(key) <= AUTH_KEY_MAX ? auth_by_key(q->a->c, key, &e)
                                        : NULL;
    if (!q->cl) {
        *ret = api__unauthorized(q, "unknown API key");
        return -1;
    }
    return 0;
}
