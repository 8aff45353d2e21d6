/* api_events: GET /v1/events?after=POS&wait_ms=N&limit=N, the node's event
 * feed (v1:events) as a long poll: events after POS at once if there are
 * any, else the request is suspended (it holds no worker thread) until an
 * event arrives or wait_ms passes. One waiter thread with its own Redis
 * connection watches every suspended poll: it waits on the feed (XREAD
 * BLOCK, at most API_WAIT_SLICE_MS a time) and answers each poll whose
 * events came or whose time ran out, then resumes its connection, whose
 * worker sends the answer. */
#include "api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_local.h"

#define API_WAIT_MAX_MS 30000
#define API_WAIT_SLICE_MS 250
#define API_EVENTS_MAX 1000

typedef struct api_poll {
    api_req *q;
    store_pos after;
    int64_t limit;
    double deadline;       /* api_mono() */
    struct api_poll *next;
} api_poll;

struct api_waiter {
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    api_poll *polls;       /* suspended, not yet answered */
    int closing;
    store *st;             /* the waiter thread's own */
};

/* ---- one answer ---- */

typedef struct api_evs {
    json_t *list;
    store_pos last;
} api_evs;

static int api__event(void *ctx, store_pos pos, const char *name,
                      const char *json, err_t *e)
{
    api_evs *x = ctx;
    char p[STORE_ID_MAX];
    (void)e;
    store_pos_format(pos, p);
    json_t *o = json_loads(json, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_pack("{s:s}", "data", json);
    }
    json_object_set_new(o, "pos", json_string(p));
    json_object_set_new(o, "ev", json_string(name));
    json_array_append_new(x->list, o);
    x->last = pos;
    return 0;
}

/* Events after `after` into a new answer; how many, or ERR_*. */
static int api__read(store *st, store_pos after, int64_t limit,
                     json_t **out, err_t *e)
{
    api_evs x = {json_array(), after};
    int n = store_event_after(st, after, (size_t)limit, 0, api__event, &x, e);
    if (n < 0) {
        json_decref(x.list);
        return n;
    }
    char last[STORE_ID_MAX];
    store_pos_format(x.last, last);
    *out = json_pack("{s:o, s:s}", "events", x.list, "last", last);
    return n;
}

/* ---- the request ---- */

static int api__after(api_req *q, store_pos *after)
{
    const char *v = api_arg(q, "after");
    *after = (store_pos){0, 0};
    if (!v || !*v || !strcmp(v, "0") || store_pos_parse(v, after) == 0)
        return 0;
    api_reply_error(q, 400, "after: not a feed position (MS-SEQ, as "
                    "\"last\" gives it)", NULL, NULL, NULL);
    return -1;
}

/* Suspend q until the waiter answers it; 0, or -1 when closing. */
static int api__suspend(api_req *q, store_pos after, int64_t limit,
                        int64_t wait_ms)
{
    api_waiter *w = q->a->w;
    api_poll *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    *p = (api_poll){q, after, limit, api_mono() + (double)wait_ms / 1000.0,
                    NULL};
    pthread_mutex_lock(&w->mu);
    if (w->closing) {
        pthread_mutex_unlock(&w->mu);
        free(p);
        return -1;
    }
    q->suspended = 1;
    MHD_suspend_connection(q->conn); /* before the waiter can see it */
    p->next = w->polls;
    w->polls = p;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

enum MHD_Result api_events(api_req *q)
{
    store_pos after;
    int64_t wait_ms, limit;
    if (api__after(q, &after) ||
        api_arg_int(q, "wait_ms", 0, API_WAIT_MAX_MS, 0, &wait_ms) ||
        api_arg_int(q, "limit", 1, API_EVENTS_MAX, 100, &limit))
        return MHD_YES;
    err_t e;
    api_tls *t = api_tls_get(q->a, &e);
    if (!t)
        return api_reply_err(q, &e);
    json_t *body = NULL;
    int n = api__read(api_store(t), after, limit, &body, &e);
    if (n < 0)
        return api_reply_err(q, &e);
    if (n > 0 || wait_ms == 0 || api__suspend(q, after, limit, wait_ms))
        return api_reply_json(q, MHD_HTTP_OK, body);
    json_decref(body);
    return MHD_YES;
}

/* ---- the waiter thread ---- */

/* Answer p now (events, none, or an error) and resume its connection. */
static void api__answer(api_waiter *w, api_poll *p, int force)
{
    json_t *body = NULL;
    err_t e;
    int n = w->st ? api__read(w->st, p->after, p->limit, &body, &e)
                  : err_set(&e, ERR_IO, "events: Redis not reachable");
    if (n == 0 && !force && api_mono() < p->deadline) {
        json_decref(body);
        return; /* keep waiting */
    }
    api_req *q = p->q;
    q->ready_status = n < 0 ? 503 : 200;
    q->ready = n < 0 ? api_error_response(503, e.msg, NULL)
                     : api_json_response(body);
    q->suspended = 0;
    p->q = NULL;
    MHD_resume_connection(q->conn);
}

/* One pass over the polls taken from the list; the unanswered ones go
 * back. Returns the largest position still waited after. */
static store_pos api__pass(api_waiter *w, api_poll *list, int force,
                           int *left)
{
    store_pos top = {0, 0};
    *left = 0;
    for (api_poll *p = list, *next; p; p = next) {
        next = p->next;
        api__answer(w, p, force);
        if (!p->q) {
            free(p);
            continue;
        }
        if (store_pos_cmp(p->after, top) > 0)
            top = p->after;
        pthread_mutex_lock(&w->mu);
        p->next = w->polls;
        w->polls = p;
        pthread_mutex_unlock(&w->mu);
        (*left)++;
    }
    return top;
}

static int api__bell(void *ctx, store_pos pos, const char *name,
                     const char *json, err_t *e)
{
    (void)ctx, (void)pos, (void)name, (void)json, (void)e;
    return 0;
}

static void *api__waiter_main(void *arg)
{
    api *a = arg;
    api_waiter *w = a->w;
    err_t e;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->polls && !w->closing)
            pthread_cond_wait(&w->cv, &w->mu);
        api_poll *list = w->polls;
        int closing = w->closing;
        w->polls = NULL;
        pthread_mutex_unlock(&w->mu);
        if (!w->st && store_open(a->c->redis.url, a->c->redis.prefix, &w->st,
                                 &e))
            w->st = NULL;
        int left;
        store_pos top = api__pass(w, list, closing, &left);
        if (closing)
            break;
        if (left && w->st) /* the doorbell: anything after the newest */
            store_event_after(w->st, top, 1, API_WAIT_SLICE_MS, api__bell,
                              NULL, &e);
        else if (left)
            nanosleep(&(struct timespec){0, 250000000}, NULL);
    }
    return NULL;
}

int api_waiter_start(api *a, err_t *e)
{
    api_waiter *w = calloc(1, sizeof *w);
    if (!w)
        return err_set(e, ERR_NOMEM, "http: out of memory");
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    a->w = w;
    if (pthread_create(&w->th, NULL, api__waiter_main, a))
        return err_set(e, ERR_IO, "http: cannot start the events thread");
    w->started = 1;
    pthread_setname_np(w->th, "http-events"); /* top -H, perf */
    return 0;
}

void api_waiter_stop(api *a)
{
    api_waiter *w = a->w;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->closing = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->started)
        pthread_join(w->th, NULL);
    w->started = 0;
}

void api_waiter_free(api *a)
{
    api_waiter *w = a->w;
    if (!w)
        return;
    store_close(w->st);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
    a->w = NULL;
}
