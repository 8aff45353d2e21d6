/* conn: the connectors' runtime (conn.h). The mapping tables are loaded
 * once and shared read-only; the HTTP API runs on libmicrohttpd's pool
 * (api.h); each file drop, ZeroMQ ingress and outbound connector gets a
 * thread of its own, found through the ops tables below. Stopping sets
 * one flag every thread polls (at most a few hundred ms apart), so a
 * thread finishes the file or message in hand and returns. */
#include "conn.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "out.h"

static const conn_in_ops *const conn_in_table[] = {&conn_filedrop_ops,
                                                   &conn_zmq_ops};
static const conn_out_ops *const conn_out_table[] = {
    &conn_out_dir_ops, &conn_out_webhook_ops, &conn_out_zmq_ops};

/* One thread: an inbound transport or an outbound worker. */
typedef struct conn_th {
    pthread_t tid;
    int started;
    const conn_in_ops *in_ops; /* inbound: ops and instance */
    conn_in in;
    out_worker *out;           /* outbound */
} conn_th;

struct conn_rt {
    const cfg *c;
    map_set *maps;
    api *api;
    atomic_int stop;
    conn_th *th;
    size_t nth;
};

static const conn_in_ops *conn__in_ops(int type)
{
    for (size_t i = 0; i < sizeof conn_in_table / sizeof *conn_in_table; i++)
        if (conn_in_table[i]->type == type)
            return conn_in_table[i];
    return NULL; /* http: served by the API, no thread of its own */
}

static const conn_out_ops *conn__out_ops(int type)
{
    for (size_t i = 0; i < sizeof conn_out_table / sizeof *conn_out_table;
         i++)
        if (conn_out_table[i]->type == type)
            return conn_out_table[i];
    return NULL;
}

/* The mapping tables. eportd refuses to start on a broken table before
 * this runs; after a reload (SIGHUP) the tables that compiled are used,
 * so one broken table does not take every connector down, and
 * conn__check refuses a connector whose own table is the broken one. */
static int conn__maps(conn_rt *rt, err_t *e)
{
    const char *dir = rt->c->mappings.dir;
    if (!map_set_load(dir, &rt->maps, e))
        return 0;
    if (!rt->maps || !map_set_problems(rt->maps))
        return err_wrap(e, "mappings %s", dir);
    size_t n = 0;
    for (const map_problem *q = map_set_problems(rt->maps); q; q = q->next)
        n++;
    log_event(LOG_WARN, "connectors_mappings", "dir=%s problems=%zu "
              "tables=%zu first=%s", log_q(dir), n, map_set_count(rt->maps),
              log_q(map_set_problems(rt->maps)->text));
    return 0;
}

/* Every mapping a connector names must exist. */
static int conn__check(const conn_rt *rt, err_t *e)
{
    for (size_t i = 0; i < rt->c->nconnectors; i++) {
        const cfg_connector *cc = &rt->c->connectors[i];
        const char *names[2] = {cc->mapping, cc->out_mapping};
        for (int k = 0; k < 2; k++)
            if (names[k] && *names[k] && !map_set_find(rt->maps, names[k]))
                return err_set(e, ERR_CONFIG, "connectors[%zu] (%s): %s "
                               "'%s': no such table in %s", i, cc->name,
                               k ? "out_mapping" : "mapping", names[k],
                               rt->c->mappings.dir);
    }
    return 0;
}

static void *conn__in_main(void *p)
{
    conn_th *t = p;
    t->in_ops->run(&t->in);
    return NULL;
}

static void *conn__out_main(void *p)
{
    out_run(((conn_th *)p)->out);
    return NULL;
}

static int conn__spawn(conn_th *t, void *(*fn)(void *), const char *name,
                       err_t *e)
{
    int rc = pthread_create(&t->tid, NULL, fn, t);
    if (rc)
        return err_set(e, ERR_NOMEM, "connector %s: pthread_create: %s",
                       name, strerror(rc));
    t->started = 1;
    return 0;
}

/* The inbound thread of connector i, if its type has one. */
static int conn__start_in(conn_rt *rt, size_t i, err_t *e)
{
    const cfg_connector *cc = &rt->c->connectors[i];
    const conn_in_ops *ops = conn__in_ops(cc->type);
    if (!ops)
        return 0;
    conn_th *t = &rt->th[rt->nth++];
    t->in_ops = ops;
    t->in = (conn_in){rt->c, cc, rt->maps, &rt->stop, NULL};
    if (ops->open(&t->in, e)) {
        t->in_ops = NULL; /* nothing to close */
        return err_wrap(e, "connectors[%zu] (%s)", i, cc->name);
    }
    return conn__spawn(t, conn__in_main, cc->name, e);
}

static int conn__start_out(conn_rt *rt, size_t i, err_t *e)
{
    const cfg_connector *cc = &rt->c->connectors[i];
    const conn_out_ops *ops = conn__out_ops(cc->out);
    if (cc->out == CFG_OUT_NONE)
        return 0;
    if (!ops)
        return err_set(e, ERR_CONFIG, "connectors[%zu] (%s): out %d: no "
                       "such transport", i, cc->name, cc->out);
    conn_th *t = &rt->th[rt->nth++];
    if (out_open(rt->c, cc, rt->maps, ops, &rt->stop, &t->out, e))
        return err_wrap(e, "connectors[%zu] (%s)", i, cc->name);
    return conn__spawn(t, conn__out_main, cc->name, e);
}

static int conn__start_all(conn_rt *rt, err_t *e)
{
    int rc = conn__maps(rt, e);
    if (!rc)
        rc = conn__check(rt, e);
    for (size_t i = 0; !rc && i < rt->c->nconnectors; i++)
        if (!(rc = conn__start_in(rt, i, e)))
            rc = conn__start_out(rt, i, e);
    /* the API last: once it answers, inboxes and sockets exist */
    if (!rc && (rc = api_start(rt->c, rt->maps, &rt->api, e)))
        err_wrap(e, "node.http %s", rt->c->node.http);
    return rc;
}

int conn_start(const cfg *c, conn_rt **out, err_t *e)
{
    *out = NULL;
    conn_rt *rt = calloc(1, sizeof *rt);
    conn_th *th = calloc(2 * c->nconnectors + 1, sizeof *th);
    if (!rt || !th) {
        free(rt);
        free(th);
        return err_set(e, ERR_NOMEM, "conn_start: out of memory");
    }
    rt->c = c;
    rt->th = th;
    atomic_init(&rt->stop, 0);
    /* signals stay with eportd's main thread: every thread started here
     * (ours and libmicrohttpd's) inherits a mask blocking them all */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = conn__start_all(rt, e);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        conn_stop(rt);
        return rc;
    }
    log_event(LOG_INFO, "connectors_started", "connectors=%zu threads=%zu "
              "http=%s mappings=%zu", c->nconnectors, rt->nth, c->node.http,
              map_set_count(rt->maps));
    *out = rt;
    return 0;
}

void conn_stop(conn_rt *rt)
{
    if (!rt)
        return;
    atomic_store(&rt->stop, 1);
    api_stop(rt->api); /* no new HTTP request; those in hand finish */
    for (size_t i = 0; i < rt->nth; i++) {
        conn_th *t = &rt->th[i];
        if (t->started)
            pthread_join(t->tid, NULL);
        if (t->in_ops)
            t->in_ops->close(&t->in);
        out_close(t->out);
    }
    map_set_free(rt->maps);
    free(rt->th);
    free(rt);
}
