/* api_int: what the HTTP API's files share (api.c the server and its
 * routing table, api_json.c the replies and auth, one file per group of
 * handlers). Internal to connectors/api*.c. */
#ifndef EPORT_API_INT_H
#define EPORT_API_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "api.h"
#include "arena.h"
#include "buf.h"
#include "ingest.h"
#include "intake.h"
#include "msgid.h"
#include "store_local.h"
#include "store.h"

typedef struct api_req api_req;
typedef struct api_waiter api_waiter;       /* api_events.c */
typedef struct api_committer api_committer; /* api_commit.c */

/* Who may call a route: anyone, a key holder (or anyone with
 * api.public_reads), a key holder only. */
typedef enum { API_OPEN, API_READ, API_WRITE } api_access;

/* A handler runs once the whole request is in; it queues the reply
 * (api_reply_*) and returns what that returned. */
typedef enum MHD_Result (*api_handler)(api_req *q);

typedef struct api_route {
    const char *method;
    const char *path;      /* "/v1/messages/{}": {} matches one segment */
    api_handler fn;
    api_access access;
    const char *label;     /* route label of eport_http_request_seconds */
} api_route;

/* A worker thread's own state: opened on its first request, listed in
 * api.threads for api_stop to free. */
typedef struct api_tls {
    api *a;
    ingest *g;             /* its Redis connection is the thread's store */
    arena_t arena;         /* per request (journeys), reset after each */
    struct envcheck *ec;   /* signature checks of journeys, opened on the
                              first GET /v1/movements/{ref}; NULL before */
    struct api_tls *next;
} api_tls;

struct api {
    const cfg *c;
    const map_set *maps;
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;    /* guards threads */
    api_tls *threads;
    api_waiter *w;         /* GET /v1/events long polls */
    api_committer *commit; /* POST /v1/messages group commit */
    atomic_int inflight;   /* requests begun and not completed */
};

/* One submission between its translation and its answer (api_commit.c):
 * its records (in its own arena: the worker goes on meanwhile), then
 * intake's verdict. */
typedef struct api_job {
    api_req *q;
    const cfg_client *cl;
    const char *conn;      /* borrowed from the request or the cfg */
    const char *idem;      /* Idempotency-Key, or NULL */
    int64_t t0_ms;
    arena_t arena;
    model_record **recs;
    size_t n;
    char (*ids)[MSGID_LEN + 1]; /* n, once stored */
    int *dup;
    int rc;                /* intake_accept's */
    err_t e;
    int64_t retry_after_s;
    struct api_job *next;
} api_job;

#define API_PARAM_MAX 160  /* one {} segment */

/* One request, from its headers to the reply (MHD's con_cls). */
struct api_req {
    api *a;
    struct MHD_Connection *conn;
    const api_route *route;
    const cfg_client *cl;  /* NULL: no key given (open routes) */
    char param[API_PARAM_MAX];
    buf_t body;            /* capped at api.max_body_bytes */
    int too_big;           /* the body went past the cap: dropped */
    int64_t t0_ms;         /* arrival, wall clock */
    double t0;             /* arrival, monotonic seconds */
    int status;            /* the reply's status, once queued */
    /* GET /v1/events: a suspended poll and its answer, once ready */
    struct MHD_Response *ready;
    int ready_status;
    int suspended;
    api_job *job;          /* POST: committed by api_commit.c, answered
                              once resumed */
};

/* ---- api.c ---- */

/* The calling worker thread's state, opened on first use (ERR_IO when
 * Redis cannot be reached: the caller answers 503). */
api_tls *api_tls_get(api *a, err_t *e);
/* api_tls_get with a clean arena, or NULL with a 503 queued in *ret. */
api_tls *api_tls_begin(api_req *q, enum MHD_Result *ret);
store *api_store(api_tls *t);
int64_t api_now_ms(void);
double api_mono(void);

/* ---- api_json.c: replies ---- */

/* Queue body (stolen) as the JSON reply. */
enum MHD_Result api_reply_json(api_req *q, int status, json_t *body);
/* Queue text (copied) with its content type. */
enum MHD_Result api_reply_text(api_req *q, int status, const char *ctype,
                               const char *text, size_t len);
/* The error reply {"error": {...}}, logged as http_refused. problems:
 * lines (NULL: none). hdr/val: one extra header, or NULL. */
enum MHD_Result api_reply_error(api_req *q, int status, const char *msg,
                                const char *problems, const char *hdr,
                                const char *val);
/* An error reply for an ERR_* code of a read (404, 400, 503, 500). */
enum MHD_Result api_reply_err(api_req *q, const err_t *e);
/* The response object of an error, not queued (suspended polls). */
struct MHD_Response *api_error_response(int status, const char *msg,
                                        const char *problems);
struct MHD_Response *api_json_response(json_t *body);

/* The query argument key, NULL when absent. */
const char *api_arg(const api_req *q, const char *key);
/* A header, NULL when absent. */
const char *api_header(const api_req *q, const char *name);
/* key as a whole number in [lo, hi], def when absent; -1 (after
 * queueing a 400) when it is not one. */
int api_arg_int(api_req *q, const char *key, int64_t lo, int64_t hi,
                int64_t def, int64_t *out);
/* ms as ISO 8601 (a JSON string), null for 0. */
json_t *api_time(uint64_t ms);
/* s as a JSON string, null for NULL. */
json_t *api_str(const char *s);

/* Who the caller is (Authorization: Bearer KEY or X-API-Key), checked
 * against the route's access: 0 to go on (q->cl set when a key was
 * given), else the 401/403 was queued and *ret holds MHD's result. */
int api_auth(api_req *q, enum MHD_Result *ret);

/* ---- the handlers (one file per job) ---- */

enum MHD_Result api_submit(api_req *q);       /* api_submit.c */
/* POST /v1/messages/{id}/resubmit: a corrected record for a fanned-out
 * submission (docs/fan-out.md). */
enum MHD_Result api_resubmit(api_req *q);
enum MHD_Result api_message(api_req *q);      /* api_query.c */
/* A movement's cited permits and where each stands (pending, reserved,
 * confirmed, cancelled, refused ...) into jo's "permits", and "awaiting"
 * while one waits for its home; nothing when it cites none
 * (api_permits.c). */
int api_permits_gate(store *st, const char *ref, json_t *jo, err_t *e);
enum MHD_Result api_movement(api_req *q);
enum MHD_Result api_movements(api_req *q);
enum MHD_Result api_trace(api_req *q);
enum MHD_Result api_events(api_req *q);       /* api_events.c */
enum MHD_Result api_permits(api_req *q);      /* api_permits.c */
enum MHD_Result api_permit(api_req *q);
enum MHD_Result api_permit_history(api_req *q);
enum MHD_Result api_permit_verify(api_req *q);
enum MHD_Result api_cbec(api_req *q);         /* api_cbec.c */
enum MHD_Result api_cbec_allowance(api_req *q);
enum MHD_Result api_health(api_req *q);       /* api_ops.c */
enum MHD_Result api_ready(api_req *q);        /* api_ops.c */
enum MHD_Result api_metrics(api_req *q);

/* api_events.c: the waiter thread of suspended polls. */
int api_waiter_start(api *a, err_t *e);
/* Answers every poll and ends the thread; later polls are answered at
 * once. api_waiter_free once the server is stopped. */
void api_waiter_stop(api *a);
void api_waiter_free(api *a);

/* api_submit.c: the answer to a submission whose job is done. */
enum MHD_Result api_submit_reply(api_req *q, api_job *j);

/* api_commit.c: jobs, and the committer thread. */
api_job *api_job_new(const cfg_client *cl, const char *conn, int64_t t0_ms);
void api_job_free(api_job *j);
/* j's records through intake alone, in the caller's intake. */
void api_job_accept(api_job *j, intake *in);
/* Queue j (suspending q) to be stored with others: 0; 1 when it is not
 * to be merged or the committer is stopping (the caller stores it). */
int api_commit_submit(api *a, api_req *q, api_job *j, const char *idem);
int api_commit_start(api *a, err_t *e);
/* Stores and answers every job queued, then ends the thread (later
 * submissions are stored by their workers); api_commit_free once the
 * server is stopped. */
void api_commit_stop(api *a);
void api_commit_free(api *a);

#endif
