/* api_commit: group commit of POST /v1/messages. A worker thread
 * translates a submission and hands its records here; the request is
 * suspended (the worker goes on with other connections) while one
 * committer thread stores the records of every submission waiting, those
 * of one client and connector together in one intake_accept: one Redis
 * round trip and one script call for many requests instead of one each,
 * which is what a node's Redis spends most of its time on at volume.
 * Each request is then resumed and its worker sends the answer.
 *
 * Only submissions that intake would not refuse for what they hold are
 * merged (records the client may send, the model takes, no idempotency
 * key: derived ids belong to one submission); the others go through
 * intake on their own, in the worker. A merged call is refused as a
 * whole only for the node's limits or its Redis, which would have
 * refused each part alike; then each part gets the same answer and the
 * metrics count each part, as separate calls would have. */
#include "api_int.h"

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "metrics.h"

struct api_committer {
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    api_job *head, **tail;  /* waiting, in arrival order */
    int closing;
    intake *in;             /* the committer thread's own */
};

/* ---- jobs ---- */

api_job *api_job_new(const cfg_client *cl, const char *conn, int64_t t0_ms)
{
    api_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->cl = cl;
    j->conn = conn;
    j->t0_ms = t0_ms;
    arena_init(&j->arena, (size_t)1 << 30);
    j->recs = arena_alloc(&j->arena, INGEST_MAX_RECORDS * sizeof *j->recs);
    if (!j->recs) {
        api_job_free(j);
        return NULL;
    }
    return j;
}

void api_job_free(api_job *j)
{
    if (!j)
        return;
    arena_free(&j->arena);
    free(j);
}

/* Room for the answer: ids and duplicate flags of n records (in the
 * job's arena, which is aligned for both). */
static int api__job_room(api_job *j)
{
    size_t n = j->n ? j->n : 1;
    j->ids = arena_alloc(&j->arena, n * sizeof *j->ids);
    j->dup = arena_alloc(&j->arena, n * sizeof *j->dup);
    return j->ids && j->dup ? 0 : ERR_NOMEM;
}

/* Whether intake would take j's records as they are, so that merging it
 * with others cannot make them refused for its sake. */
static int api__mergeable(const api_job *j, const char *idem)
{
    err_t e;
    if (idem)
        return 0;
    for (size_t i = 0; i < j->n; i++)
        if (auth_allows(j->cl, j->conn, j->recs[i], &e) ||
            model_validate(j->recs[i], &e))
            return 0;
    return 1;
}

/* intake_accept of j alone (in the calling thread's intake). */
void api_job_accept(api_job *j, intake *in)
{
    if ((j->rc = api__job_room(j)))
        return (void)err_set(&j->e, j->rc, "http: out of memory");
    intake_sub s = {j->conn, j->cl, (model_record *const *)j->recs, j->n,
                    j->idem};
    intake_res r = {j->ids, j->dup, 0};
    j->rc = intake_accept(in, &s, &r, j->t0_ms, &j->e);
    j->retry_after_s = r.retry_after_s;
}

/* ---- one merged call ---- */

#define API_RUN_MAX 256 /* jobs in one merged call (one record each, at
                           least) */

typedef struct api_run {
    api_job *jobs[API_RUN_MAX];
    size_t njobs, nrecs;
    model_record *recs[STORE_LOCAL_BATCH];
    char ids[STORE_LOCAL_BATCH][MSGID_LEN + 1];
    int dup[STORE_LOCAL_BATCH];
} api_run;

/* What a merged refusal would have been for each part alone: counted
 * once by intake, so counted here for the others. */
static void api__run_refused(const cfg *cf, api_run *u, int rc,
                             const err_t *e, int64_t retry)
{
    const char *why = rc != ERR_AGAIN ? "redis"
                      : cf->api.max_backlog > 0 &&
                              intake_backlog() >= cf->api.max_backlog
                          ? "backlog"
                          : "rate";
    for (size_t i = 0; i < u->njobs; i++) {
        api_job *j = u->jobs[i];
        j->rc = rc;
        j->e = *e;
        j->retry_after_s = retry;
        if (i) {
            met_add(MET_REFUSED, j->conn, 1);
            met_add(MET_ERRORS, why, 1);
        }
    }
}

/* Ids and flags back to each part; its intake time observed (the first
 * part's by intake itself). */
static void api__run_done(api_run *u)
{
    size_t k = 0;
    int64_t now = api_now_ms();
    for (size_t i = 0; i < u->njobs; i++) {
        api_job *j = u->jobs[i];
        if ((j->rc = api__job_room(j))) {
            err_set(&j->e, j->rc, "http: out of memory (the records are "
                    "stored)");
            k += j->n;
            continue;
        }
        memcpy(j->ids, u->ids[k], j->n * sizeof *j->ids);
        memcpy(j->dup, &u->dup[k], j->n * sizeof *j->dup);
        k += j->n;
        if (i)
            met_observe(MET_INTAKE_SECONDS, j->conn,
                        (double)(now - j->t0_ms) / 1000.0);
    }
}

static void api__run_commit(const cfg *cf, api_committer *c, api_run *u)
{
    api_job *j0 = u->jobs[0];
    if (u->njobs == 1)
        return api_job_accept(j0, c->in);
    intake_sub s = {j0->conn, j0->cl, (model_record *const *)u->recs,
                    u->nrecs, NULL};
    intake_res r = {u->ids, u->dup, 0};
    err_t e;
    int rc = intake_accept(c->in, &s, &r, j0->t0_ms, &e);
    if (rc == 0)
        api__run_done(u);
    else if (rc == ERR_AGAIN || rc == ERR_IO)
        api__run_refused(cf, u, rc, &e, r.retry_after_s);
    else /* not foreseen by api__mergeable: each on its own */
        for (size_t i = 0; i < u->njobs; i++)
            api_job_accept(u->jobs[i], c->in);
}

/* Without an intake (Redis was down when the thread last tried) each
 * part is answered as intake would answer: 503. */
static void api__run_unstored(api_run *u, const err_t *e)
{
    for (size_t i = 0; i < u->njobs; i++) {
        u->jobs[i]->rc = ERR_IO;
        u->jobs[i]->e = *e;
        met_add(MET_REFUSED, u->jobs[i]->conn, 1);
        met_add(MET_ERRORS, "redis", 1);
    }
}

/* Moves from *list into u the first job and the following ones of the
 * same client and connector, as many as fit one call. */
static void api__run_take(const cfg *cf, api_job **list, api_run *u)
{
    size_t cap = STORE_LOCAL_BATCH;
    if (cf->api.rate_per_s > 0 && cf->api.burst > 0 &&
        (size_t)cf->api.burst < cap)
        cap = (size_t)cf->api.burst; /* a merged call must fit a bucket */
    api_job *first = *list;
    u->njobs = u->nrecs = 0;
    for (api_job **p = list; *p && u->njobs < API_RUN_MAX;) {
        api_job *j = *p;
        int same = j->cl == first->cl && !strcmp(j->conn, first->conn);
        if (!same || (u->njobs && u->nrecs + j->n > cap)) {
            p = &j->next;
            continue;
        }
        memcpy(u->recs + u->nrecs, j->recs, j->n * sizeof *j->recs);
        u->nrecs += j->n;
        u->jobs[u->njobs++] = j;
        *p = j->next; /* unlinked */
    }
}

/* ---- the committer thread ---- */

static void api__resume(api_job *j)
{
    api_req *q = j->q;
    q->suspended = 0;
    MHD_resume_connection(q->conn);
}

static void api__commit_all(api *a, api_job *list)
{
    static _Thread_local api_run u; /* 16 KB: off the stack */
    api_committer *c = a->commit;
    err_t e;
    if (list && !c->in && intake_open(a->c, &c->in, &e))
        c->in = NULL; /* tried again with the next requests */
    while (list) {
        api__run_take(a->c, &list, &u);
        if (c->in)
            api__run_commit(a->c, c, &u);
        else
            api__run_unstored(&u, &e);
        for (size_t i = 0; i < u.njobs; i++)
            api__resume(u.jobs[i]);
    }
}

static void *api__commit_main(void *arg)
{
    api *a = arg;
    api_committer *c = a->commit;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!c->head && !c->closing)
            pthread_cond_wait(&c->cv, &c->mu);
        api_job *list = c->head;
        int closing = c->closing;
        c->head = NULL;
        c->tail = &c->head;
        pthread_mutex_unlock(&c->mu);
        api__commit_all(a, list);
        if (closing && !list)
            break;
    }
    return NULL;
}

/* Queue j for the committer, or 1 when it is not to be merged (then the
 * caller stores it itself). q is suspended once queued. */
int api_commit_submit(api *a, api_req *q, api_job *j, const char *idem)
{
    api_committer *c = a->commit;
    if (!api__mergeable(j, idem))
        return 1;
    pthread_mutex_lock(&c->mu);
    if (c->closing) {
        pthread_mutex_unlock(&c->mu);
        return 1;
    }
    j->q = q;
    q->job = j;
    q->suspended = 1;
    MHD_suspend_connection(q->conn); /* before the committer can see it */
    *c->tail = j;
    c->tail = &j->next;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

int api_commit_start(api *a, err_t *e)
{
    api_committer *c = calloc(1, sizeof *c);
    if (!c)
        return err_set(e, ERR_NOMEM, "http: out of memory");
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->tail = &c->head;
    a->commit = c;
    if (pthread_create(&c->th, NULL, api__commit_main, a))
        return err_set(e, ERR_IO, "http: cannot start the commit thread");
    c->started = 1;
    pthread_setname_np(c->th, "http-commit"); /* top -H, perf */
    return 0;
}

void api_commit_stop(api *a)
{
    api_committer *c = a->commit;
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->closing = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->started)
        pthread_join(c->th, NULL);
    c->started = 0;
}

void api_commit_free(api *a)
{
    api_committer *c = a->commit;
    if (!c)
        return;
    intake_close(c->in);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
    a->commit = NULL;
}
