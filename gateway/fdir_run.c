/* The directory fetcher thread; see fdir_run.h. One mutex guards the
 * request flags, the in-use serial and the directory waiting; the flag
 * `ready` lets the loop look without taking it. */
#include "fdir_run.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define FDIR_REPEAT_MS 300000 /* the same failure is logged this often */

struct fdir_run {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;  /* CLOCK_MONOTONIC */
    char *url, *ca;
    int64_t refresh_s;
    int stop, kick;     /* under mu */
    uint64_t serial;    /* in use, under mu */
    unsigned char sha[32];
    fdir_doc *ready;    /* under mu */
    atomic_int has_ready;
    /* the thread's own */
    buf_t bytes, sig;
    char last[ERR_MSG_MAX]; /* the last failure logged */
    log_gate gate;
};

/* A failure once, then again only if it changes or every FDIR_REPEAT_MS:
 * a directory that stays bad must not fill the log at short refreshes. */
static void fdir__fail(fdir_run *r, log_level lv, const char *ev,
                       const err_t *e)
{
    unsigned long long held = 0;
    if (!strcmp(r->last, e->msg) &&
        !log_gate_pass(&r->gate, FDIR_REPEAT_MS, &held))
        return;
    if (strcmp(r->last, e->msg))
        log_gate_pass(&r->gate, FDIR_REPEAT_MS, &held);
    snprintf(r->last, sizeof r->last, "%s", e->msg);
    log_event(lv, ev, "url=%s msg=%s", log_q(r->url), log_q(e->msg));
}

/* One fetch: a newer verified directory goes to r->ready. */
static void fdir__once(fdir_run *r)
{
    err_t e;
    fdir_doc *d = NULL;
    if (fdir_fetch(r->url, &r->bytes, &r->sig, &e) < 0) {
        fdir__fail(r, LOG_WARN, "directory_fetch", &e);
        return;
    }
    if (fdir_verify(r->ca, r->url, r->bytes.p, r->bytes.len, r->sig.p,
                    r->sig.len, time(NULL), &d, &e) < 0) {
        fdir__fail(r, LOG_ERROR, "directory_refused", &e);
        return;
    }
    pthread_mutex_lock(&r->mu);
    int rc = fdir_newer(d, r->serial, r->sha, &e);
    if (rc == 1) {
        fdir_doc_free(r->ready);
        r->ready = d, d = NULL;
        atomic_store(&r->has_ready, 1);
    }
    pthread_mutex_unlock(&r->mu);
    fdir_doc_free(d);
    if (rc < 0)
        fdir__fail(r, LOG_ERROR, "directory_refused", &e);
    else
        r->last[0] = '\0'; /* a good fetch: the next failure is news */
}

/* Until kicked, stopped or refresh_s have passed; mu held. */
static void fdir__wait(fdir_run *r)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += r->refresh_s;
    while (!r->stop && !r->kick)
        if (pthread_cond_timedwait(&r->cv, &r->mu, &until) == ETIMEDOUT)
            break;
}

static void *fdir__main(void *arg)
{
    fdir_run *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        if (!r->kick)
            fdir__wait(r);
        if (r->stop)
            break;
        r->kick = 0;
        pthread_mutex_unlock(&r->mu);
        fdir__once(r);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static int fdir__init_sync(fdir_run *r)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca))
        return -1;
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
             pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc)
        return -1;
    if (pthread_mutex_init(&r->mu, NULL)) {
        pthread_cond_destroy(&r->cv);
        return -1;
    }
    return 0;
}

static void fdir__free(fdir_run *r)
{
    if (!r)
        return;
    fdir_doc_free(r->ready);
    buf_free(&r->bytes);
    buf_free(&r->sig);
    free(r->url);
    free(r->ca);
    free(r);
}

int fdir_run_start(const char *url, const char *ca_path, int64_t refresh_s,
                   uint64_t serial, const unsigned char *sha, int now,
                   fdir_run **out, err_t *e)
{
    fdir_run *r = calloc(1, sizeof *r);
    if (r)
        r->url = strdup(url), r->ca = strdup(ca_path);
    if (!r || !r->url || !r->ca || fdir__init_sync(r) < 0) {
        fdir__free(r);
        return err_set(e, ERR_NOMEM, "directory: out of memory");
    }
    r->refresh_s = refresh_s > 0 ? refresh_s : 1;
    r->serial = serial, r->kick = now;
    if (sha)
        memcpy(r->sha, sha, sizeof r->sha);
    buf_init(&r->bytes, FDIR_MAX_BYTES);
    buf_init(&r->sig, FDIR_SIG_MAX);
    int rc = pthread_create(&r->th, NULL, fdir__main, r);
    if (rc) {
        pthread_mutex_destroy(&r->mu), pthread_cond_destroy(&r->cv);
        fdir__free(r);
        return err_set(e, ERR_NOMEM, "directory: cannot start a thread: %s",
                       strerror(rc));
    }
    *out = r;
    return 0;
}

void fdir_run_stop(fdir_run *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->th, NULL); /* a fetch under way ends within its timeout */
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    fdir__free(r);
}

void fdir_run_kick(fdir_run *r)
{
    pthread_mutex_lock(&r->mu);
    r->kick = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void fdir_run_in_use(fdir_run *r, uint64_t serial, const unsigned char *sha)
{
    pthread_mutex_lock(&r->mu);
    r->serial = serial;
    memcpy(r->sha, sha, sizeof r->sha);
    pthread_mutex_unlock(&r->mu);
}

fdir_doc *fdir_run_take(fdir_run *r)
{
    if (!atomic_load_explicit(&r->has_ready, memory_order_acquire))
        return NULL;
    pthread_mutex_lock(&r->mu);
    fdir_doc *d = r->ready;
    r->ready = NULL;
    atomic_store(&r->has_ready, 0);
    pthread_mutex_unlock(&r->mu);
    return d;
}

const char *fdir_run_url(const fdir_run *r)
{
    return r->url;
}

int64_t fdir_run_refresh_s(const fdir_run *r)
{
    return r->refresh_s;
}
