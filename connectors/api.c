/* api: the HTTP server (api.h). One table of routes; for each request the
 * route and the caller are settled when its headers are in (so a 401,
 * 404, 405 or a declared-too-large body is answered before any of the
 * body is read), the body is gathered under the api.max_body_bytes cap
 * (past it the rest is discarded as it arrives, never buffered), and the
 * route's handler runs once the request is complete. */
#include "api_int.h"
#include "api_fed.h"

#include "envcheck.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

static const api_route api__routes[] = {
    {"POST", "/v1/messages", api_submit, API_WRITE, "submit"},
    {"GET", "/v1/messages/{}", api_message, API_READ, "message"},
    {"POST", "/v1/messages/{}/resubmit", api_resubmit, API_WRITE,
     "resubmit"},
    {"GET", "/v1/movements", api_movements, API_READ, "movements"},
    {"GET", "/v1/movements/{}", api_movement, API_READ, "movement"},
    {"GET", "/v1/trace", api_trace, API_READ, "trace"},
    {"GET", "/v1/events", api_events, API_READ, "events"},
    {"GET", "/v1/permits", api_permits, API_READ, "permits"},
    {"GET", "/v1/permits/{}", api_permit, API_READ, "permit"},
    {"GET", "/v1/permits/{}/history", api_permit_history, API_READ,
     "permit_history"},
    {"POST", "/v1/permits/{}/verify", api_permit_verify, API_WRITE,
     "permit_verify"},
    {"GET", "/v1/cbec/allowances/{}", api_cbec_allowance, API_READ,
     "cbec_allowance"},
    {"GET", "/v1/cbec/{}", api_cbec, API_READ, "cbec"},
    {"GET", "/healthz", api_health, API_OPEN, "healthz"},
    {"GET", "/readyz", api_ready, API_OPEN, "readyz"},
    {"GET", "/metrics", api_metrics, API_OPEN, "metrics"},
    {"GET", "/v1/federation", api_federation, API_READ, "federation"},
    {"GET", "/v1/alerts", api_alerts, API_READ, "alerts"},
    {"GET", "/v1/directory", api_directory, API_OPEN, "directory"},
    {"GET", "/v1/directory.sig", api_directory_sig, API_OPEN, "directory"},
    {"GET", "/", api_web, API_OPEN, "web"},
    {"GET", "/{}", api_web, API_OPEN, "web"}, /* last: any other file */
};
#define API_NROUTES (sizeof api__routes / sizeof api__routes[0])

#define API_CONN_TIMEOUT_S 60
#define API_CONN_LIMIT 4096
#define API_DRAIN_MS 3000 /* api_stop waits this long for requests in hand */
#define API_ARENA_MAX ((size_t)256 << 20)
/* MHD zeroes a connection's memory pool for every request: the default
 * 32 KiB cost a measurable share of a small submission; headers and the
 * read buffer fit in this (the body goes to the upload callback). */
#define API_CONN_MEMORY (16u << 10)

static _Thread_local api_tls *api__tls;

/* ---- clocks and per-thread state ---- */

int64_t api_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double api_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

api_tls *api_tls_get(api *a, err_t *e)
{
    if (api__tls && api__tls->a == a)
        return api__tls;
    api_tls *t = calloc(1, sizeof *t);
    if (!t)
        return err_set(e, ERR_NOMEM, "http: out of memory"), NULL;
    if (ingest_open(a->c, a->maps, &t->g, e)) {
        free(t);
        return NULL;
    }
    t->a = a;
    arena_init(&t->arena, API_ARENA_MAX);
    pthread_mutex_lock(&a->mu);
    t->next = a->threads;
    a->threads = t;
    pthread_mutex_unlock(&a->mu);
    return api__tls = t;
}

api_tls *api_tls_begin(api_req *q, enum MHD_Result *ret)
{
    err_t e;
    api_tls *t = api_tls_get(q->a, &e);
    if (!t)
        *ret = api_reply_err(q, &e);
    else
        arena_reset(&t->arena);
    return t;
}

store *api_store(api_tls *t)
{
    return intake_store(ingest_intake(t->g));
}

static void api__tls_free_all(api *a)
{
    for (api_tls *t = a->threads, *n; t; t = n) {
        n = t->next;
        ingest_close(t->g);
        envcheck_free(t->ec);
        arena_free(&t->arena);
        free(t);
    }
    a->threads = NULL;
}

/* ---- routing ---- */

/* url against pat; a {} segment is copied into param. */
static int api__match(const char *pat, const char *url, char *param)
{
    while (*pat && *url) {
        if (pat[0] == '{' && pat[1] == '}') {
            size_t n = strcspn(url, "/");
            if (n == 0 || n >= API_PARAM_MAX)
                return 0;
            memcpy(param, url, n);
            param[n] = '\0';
            url += n;
            pat += 2;
        } else if (*pat++ != *url++) {
            return 0;
        }
    }
    return !*pat && !*url;
}

/* The route for method and url; NULL with allow listing the methods the
 * path has (empty: unknown path). */
static const api_route *api__route(const char *method, const char *url,
                                   char *param, char *allow, size_t n)
{
    allow[0] = '\0';
    for (size_t i = 0; i < API_NROUTES; i++) {
        const api_route *r = &api__routes[i];
        if (!api__match(r->path, url, param))
            continue;
        if (!strcmp(r->method, method))
            return r;
        if (!strstr(allow, r->method))
            snprintf(allow + strlen(allow), n - strlen(allow), "%s%s",
                     *allow ? ", " : "", r->method);
    }
    return NULL;
}

/* ---- one request ---- */

/* A declared length over the cap is refused before the body is read;
 * one under it is reserved at once (no regrowing while it arrives). */
static int api__declared_too_big(api_req *q)
{
    const char *cl = api_header(q, MHD_HTTP_HEADER_CONTENT_LENGTH);
    long long n = cl ? strtoll(cl, NULL, 10) : 0;
    if (n > q->a->c->api.max_body_bytes)
        return 1;
    if (n > 0)
        (void)buf_reserve(&q->body, (size_t)n); /* a hint: may fail */
    return 0;
}

static enum MHD_Result api__too_big(api_req *q)
{
    char msg[160];
    snprintf(msg, sizeof msg, "body: error: over the %lld-byte limit "
             "(api.max_body_bytes)", (long long)q->a->c->api.max_body_bytes);
    met_add(MET_ERRORS, "too_big", 1);
    if (q->cl)
        met_add(MET_REFUSED, q->cl->connector, 1);
    return api_reply_error(q, MHD_HTTP_CONTENT_TOO_LARGE, msg, NULL, NULL,
                           NULL);
}

/* The headers are in: route, caller, declared size. */
static enum MHD_Result api__begin(api_req *q, const char *url,
                                  const char *method)
{
    char allow[64];
    q->route = api__route(method, url, q->param, allow, sizeof allow);
    if (!q->route && !*allow)
        return api_reply_error(q, MHD_HTTP_NOT_FOUND, "no such resource",
                               NULL, NULL, NULL);
    if (!q->route)
        return api_reply_error(q, MHD_HTTP_METHOD_NOT_ALLOWED,
                               "method not allowed here", NULL,
                               MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret;
    if (api_auth(q, &ret))
        return ret;
    if (api__declared_too_big(q))
        return api__too_big(q);
    return MHD_YES;
}

static void api__body(api_req *q, const char *data, size_t n)
{
    if (q->too_big || q->status)
        return; /* discarded as it arrives */
    if (buf_add(&q->body, data, n) == 0)
        return;
    q->too_big = 1;
    buf_free(&q->body);
}

static enum MHD_Result api__finish(api_req *q)
{
    if (q->ready) { /* a suspended poll's answer */
        enum MHD_Result r = MHD_queue_response(q->conn, q->ready_status,
                                               q->ready);
        q->status = q->ready_status;
        MHD_destroy_response(q->ready);
        q->ready = NULL;
        return r;
    }
    if (q->job && !q->suspended)
        return api_submit_reply(q, q->job);
    if (q->status || q->suspended)
        return MHD_YES;
    if (q->too_big)
        return api__too_big(q);
    return q->route->fn(q);
}

static enum MHD_Result api__access(void *cls, struct MHD_Connection *conn,
                                   const char *url, const char *method,
                                   const char *version,
                                   const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    api *a = cls;
    api_req *q = *con_cls;
    (void)version;
    if (!q) {
        if (!(q = calloc(1, sizeof *q)))
            return MHD_NO;
        *q = (api_req){.a = a, .conn = conn, .t0_ms = api_now_ms(),
                       .t0 = api_mono()};
        buf_init(&q->body, (size_t)a->c->api.max_body_bytes);
        *con_cls = q;
        atomic_fetch_add(&a->inflight, 1);
        return api__begin(q, url, method);
    }
    if (*upload_data_size) {
        api__body(q, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return api__finish(q);
}

static void api__done(void *cls, struct MHD_Connection *conn,
                      void **con_cls, enum MHD_RequestTerminationCode why)
{
    api *a = cls;
    api_req *q = *con_cls;
    (void)conn, (void)why;
    if (!q)
        return;
    atomic_fetch_sub(&a->inflight, 1);
    met_observe(MET_HTTP_SECONDS, q->route ? q->route->label : "none",
                api_mono() - q->t0);
    if (q->ready)
        MHD_destroy_response(q->ready);
    api_job_free(q->job);
    buf_free(&q->body);
    free(q);
    *con_cls = NULL;
}

/* ---- start and stop ---- */

/* HOST:PORT (HOST may be [v6]) to an address. */
static int api__addr(const char *hp, struct addrinfo **out, err_t *e)
{
    const char *colon = hp ? strrchr(hp, ':') : NULL;
    char host[256];
    if (!colon || (size_t)(colon - hp) >= sizeof host)
        return err_set(e, ERR_CONFIG, "node.http: '%s' is not HOST:PORT",
                       hp ? hp : "");
    size_t n = (size_t)(colon - hp);
    int br = n >= 2 && hp[0] == '[' && hp[n - 1] == ']';
    snprintf(host, sizeof host, "%.*s", (int)(n - 2 * br), hp + br);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    int rc = getaddrinfo(host, colon + 1, &hints, out);
    if (rc)
        return err_set(e, ERR_CONFIG, "node.http: '%s': %s", hp,
                       gai_strerror(rc));
    return 0;
}

static int api__daemon(api *a, const struct addrinfo *ai, err_t *e)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
                     (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    unsigned threads = a->c->api.threads > 0 ? (unsigned)a->c->api.threads
                                             : 1;
    a->d = MHD_start_daemon(
        flags, 0, NULL, NULL, api__access, a, MHD_OPTION_SOCK_ADDR,
        ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_NOTIFY_COMPLETED, api__done, a,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_CONN_TIMEOUT_S,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_CONN_LIMIT,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_CONN_MEMORY,
        MHD_OPTION_END);
    if (!a->d)
        return err_set(e, ERR_IO, "node.http: cannot listen on %s (address "
                       "in use, or not this host's)", a->c->node.http);
    const union MHD_DaemonInfo *i =
        MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_BIND_PORT);
    a->port = i ? i->port : 0;
    return 0;
}

int api_start(const cfg *c, const map_set *maps, api **out, err_t *e)
{
    *out = NULL;
    struct addrinfo *ai;
    int rc = api__addr(c->node.http, &ai, e);
    if (rc)
        return rc;
    api *a = calloc(1, sizeof *a);
    if (!a) {
        freeaddrinfo(ai);
        return err_set(e, ERR_NOMEM, "http: out of memory");
    }
    a->c = c;
    a->maps = maps;
    pthread_mutex_init(&a->mu, NULL);
    rc = api_waiter_start(a, e);
    if (!rc)
        rc = api_commit_start(a, e);
    if (!rc)
        rc = api__daemon(a, ai, e);
    freeaddrinfo(ai);
    if (rc) {
        api_stop(a);
        return rc;
    }
    log_event(LOG_INFO, "http_listening", "addr=%s port=%d threads=%lld",
              c->node.http, a->port, (long long)c->api.threads);
    *out = a;
    return 0;
}

/* Requests in hand (a submission resumed by the committer, a poll by
 * the waiter) get their answers before the server stops; an idle
 * kept-alive connection is not waited for. */
static void api__drain(api *a)
{
    for (int i = 0; i < API_DRAIN_MS / 10 && atomic_load(&a->inflight); i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
}

void api_stop(api *a)
{
    if (!a)
        return;
    MHD_socket ls = a->d ? MHD_quiesce_daemon(a->d) : MHD_INVALID_SOCKET;
    api_waiter_stop(a); /* answers every suspended poll */
    api_commit_stop(a); /* stores and answers every submission queued */
    api__drain(a);
    if (a->d)
        MHD_stop_daemon(a->d);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    api_waiter_free(a);
    api_commit_free(a);
    api__tls_free_all(a);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

int api_port(const api *a)
{
    return a->port;
}
