/* out: read v1:lout:<conn> in order, translate, send, mark delivered
 * (out.h). The batch is copied out of the store's callback first, so the
 * transport and the store calls that follow (dead letters, events) never
 * run inside a read. */
#include "out.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "log.h"
#include "metrics.h"
#include "model_json.h"
#include "model_pack.h"
#include "store_lease.h"
#include "store_local.h"

#define OUT_ARENA_MAX ((size_t)1 << 30)
#define OUT_HOLD_MAX ((size_t)256 << 20) /* one batch's raw records */
#define OUT_EV_MAX 32
#define OUT_GATE_MS 10000                /* one failure line per 10 s */

typedef struct out_ent {
    store_pos pos;
    char ev[OUT_EV_MAX];
    size_t off, len;       /* the record in hold */
    const map_def *d;      /* its mapping: the entry's own (a fan-out
                              copy) or the connector's out_mapping */
    int no_map;            /* the entry names a mapping the set lacks */
} out_ent;

struct out_worker {
    const cfg *c;
    const cfg_connector *cc;
    const conn_out_ops *ops;
    conn_out o;
    const map_def *d;      /* out_mapping, or NULL: canonical JSON */
    const map_set *maps;   /* for the entries that name their mapping */
    const char *ext;
    store *st;             /* NULL until connected */
    atomic_int *stop;
    arena_t a;             /* one entry's record and tree */
    buf_t body;            /* one entry translated */
    buf_t hold;            /* the batch's records */
    out_ent ents[OUT_BATCH];
    size_t n;
    int full;              /* hold could not take the next record */
    int64_t backoff_ms;
    uint64_t failures;     /* since the last delivery */
    log_gate gate;
    /* several instances of the node: one delivers (store_lease.h) */
    char job[OUT_NAME_MAX];
    int owns;
    int64_t lease_next_ms, lease_valid_ms;
};

static int64_t out__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- names ---- */

void out_name(store_pos pos, const char *ev, const char *ext, char *buf,
              size_t n)
{
    snprintf(buf, n, "%013" PRIu64 "-%06" PRIu64 "-%s.%s", pos.ms, pos.seq,
             ev, ext);
}

int out_name_parse(const char *name, store_pos *pos, char *ev, size_t evn,
                   const char **ext)
{
    char *end;
    pos->ms = strtoull(name, &end, 10);
    if (end == name || *end != '-')
        return ERR_SYNTAX;
    const char *s = end + 1;
    pos->seq = strtoull(s, &end, 10);
    if (end == s || *end != '-')
        return ERR_SYNTAX;
    const char *e = end + 1, *dot = strrchr(e, '.');
    if (!dot || dot == e || (size_t)(dot - e) >= evn)
        return ERR_SYNTAX;
    memcpy(ev, e, (size_t)(dot - e));
    ev[dot - e] = '\0';
    *ext = dot + 1;
    return 0;
}

const char *out_content_type(const char *ext)
{
    static const char *const t[][2] = {
        {"edi", "application/EDIFACT"}, {"xml", "application/xml"},
        {"json", "application/json"},   {"csv", "text/csv; charset=utf-8"},
        {"txt", "text/plain; charset=utf-8"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(ext, t[i][0]))
            return t[i][1];
    return "application/octet-stream";
}

/* The file extension of a codec's format. */
static const char *out__ext(const char *format)
{
    static const char *const t[][2] = {{"edifact", "edi"}, {"xml", "xml"},
                                       {"json", "json"},   {"csv", "csv"},
                                       {"fixed", "txt"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(format, t[i][0]))
            return t[i][1];
    return "dat";
}

/* ---- open / close ---- */

static int out__mapping(out_worker *w, const map_set *maps, err_t *e)
{
    const cfg_connector *cc = w->cc;
    w->ext = w->ops->ext_default ? w->ops->ext_default : "json";
    w->maps = maps;
    if (!cc->out_mapping || !*cc->out_mapping)
        return 0;
    if (!maps || !(w->d = map_set_find(maps, cc->out_mapping)))
        return err_set(e, ERR_NOMAP, "out_mapping '%s': no such mapping "
                       "table", cc->out_mapping);
    w->ext = out__ext(map_def_format(w->d));
    return 0;
}

int out_open(const cfg *c, const cfg_connector *cc, const map_set *maps,
             const conn_out_ops *ops, atomic_int *stop, out_worker **out,
             err_t *e)
{
    *out = NULL;
    out_worker *w = calloc(1, sizeof *w);
    if (!w)
        return err_set(e, ERR_NOMEM, "out_open %s: out of memory", cc->name);
    *w = (out_worker){.c = c, .cc = cc, .ops = ops, .stop = stop,
                      .o = {c, cc, NULL}};
    arena_init(&w->a, OUT_ARENA_MAX);
    buf_init(&w->body, OUT_MAX_BYTES);
    buf_init(&w->hold, OUT_HOLD_MAX);
    int rc = out__mapping(w, maps, e);
    if (!rc && (rc = ops->open(&w->o, e)) == 0) {
        *out = w;
        return 0;
    }
    w->o.priv = NULL; /* open failed: nothing of the transport to close */
    out_close(w);
    return rc;
}

void out_close(out_worker *w)
{
    if (!w)
        return;
    if (w->o.priv)
        w->ops->close(&w->o);
    store_close(w->st);
    arena_free(&w->a);
    buf_free(&w->body);
    buf_free(&w->hold);
    free(w);
}

/* ---- one round ---- */

static int out__connect(out_worker *w, err_t *e)
{
    if (w->st)
        return 0;
    int rc = store_open(w->c->redis.url, w->c->redis.prefix, &w->st, e);
    if (!rc && (rc = store_set_timeout(w->st, w->c->redis.timeout_ms, e))) {
        store_close(w->st);
        w->st = NULL;
    }
    return rc;
}

static int out__keep(void *ctx, store_pos pos, const char *ev,
                     const char *map, const void *rec, size_t len, err_t *e)
{
    out_worker *w = ctx;
    if (w->n == OUT_BATCH || w->full)
        return 0; /* the rest waits for the next round */
    out_ent *t = &w->ents[w->n];
    t->pos = pos;
    t->d = map && w->maps ? map_set_find(w->maps, map) : map ? NULL : w->d;
    t->no_map = map && !t->d;
    snprintf(t->ev, sizeof t->ev, "%s", ev ? ev : "event");
    t->off = w->hold.len;
    t->len = len;
    if (buf_add(&w->hold, rec, len) && !(w->full = w->n > 0))
        return err_set(e, ERR_TOOBIG, "lout:%s: a record over %zu bytes",
                       w->cc->name, (size_t)OUT_HOLD_MAX);
    w->n += !w->full;
    return 0;
}

/* The entry in the system's format into w->body; ERR_INVALID (with why)
 * when it cannot be written that way. */
static int out__render(out_worker *w, const out_ent *t, err_t *e)
{
    model_record *r;
    arena_reset(&w->a);
    buf_reset(&w->body);
    if (t->no_map)
        return err_set(e, ERR_NOMAP, "the entry's mapping is not in the "
                       "mapping directory");
    if (model_unpack(w->hold.p + t->off, t->len, &w->a, &r, e))
        return err_wrap(e, "unpacking the record"), ERR_INVALID;
    if (!t->d)
        return model_json_write(r, &w->body, e) || buf_addc(&w->body, '\n')
                   ? ERR_INVALID : 0;
    codec_msg *m = NULL;
    if (map_reverse(t->d, r, &w->a, &m, e))
        return err_wrap(e, "mapping %s", map_def_name(t->d)), ERR_INVALID;
    const codec_ops *ops = codec_find(map_def_format(t->d));
    const codec_msg *one = m;
    if (!ops || ops->write(&one, 1, map_def_codec_opts(t->d), &w->body, e))
        return err_wrap(e, "writing %s", map_def_format(t->d)), ERR_INVALID;
    return 0;
}

/* A record that cannot be written: to the dead letters, then passed. */
static int out__unmappable(out_worker *w, const out_ent *t, const err_t *why,
                           err_t *e)
{
    char where[STORE_ID_MAX + 80], id[STORE_ID_MAX], pos[STORE_ID_MAX];
    store_pos_format(t->pos, pos);
    snprintf(where, sizeof where, "lout:%s:%s", w->cc->name, pos);
    if (store_dlq_add(w->st, "unmappable", where, w->hold.p + t->off, t->len,
                      id, e))
        return e->code;
    met_add(MET_ERRORS, "unmappable", 1);
    log_event(LOG_WARN, "out_unmappable", "conn=%s pos=%s ev=%s dlq=%s why=%s",
              w->cc->name, pos, t->ev, id, log_q(why->msg));
    return 0;
}

static void out__delivered(out_worker *w, const out_ent *t, const char *name)
{
    char pos[STORE_ID_MAX], json[512];
    err_t e;
    store_pos_format(t->pos, pos);
    met_add(MET_OUT, w->cc->name, 1);
    int64_t age = out__now_ms() - (int64_t)t->pos.ms;
    met_observe(MET_DELIVERY_SECONDS, w->cc->name, age > 0 ? age / 1e3 : 0);
    snprintf(json, sizeof json,
             "{\"conn\":\"%s\",\"pos\":\"%s\",\"ev\":\"%s\",\"name\":\"%s\"}",
             w->cc->name, pos, t->ev, name);
    if (store_event_add(w->st, "delivered", json, &e))
        log_event(LOG_WARN, "out_event_failed", "conn=%s pos=%s why=%s",
                  w->cc->name, pos, log_q(e.msg));
}

/* One entry: 0 passed (delivered or dead-lettered), else the failure. */
static int out__one(out_worker *w, const out_ent *t, err_t *e)
{
    err_t why;
    int rc = out__render(w, t, &why);
    if (rc)
        return out__unmappable(w, t, &why, e);
    char name[OUT_NAME_MAX];
    out_name(t->pos, t->ev, t->d ? out__ext(map_def_format(t->d)) : w->ext,
             name, sizeof name);
    if ((rc = w->ops->send(&w->o, name, w->body.p ? w->body.p : "",
                           w->body.len, e))) {
        met_add(MET_ERRORS, "delivery", 1);
        return rc;
    }
    out__delivered(w, t, name);
    return 0;
}

/* Whether this instance delivers for the connector now: each instance
 * of a node runs the worker, but a local system must get each record
 * from one of them only (lease "lout.<conn>", renewed every third of
 * ha.claim_idle_ms). */
static int out__owns(out_worker *w, err_t *e)
{
    int64_t now = out__now_ms(), ttl = w->c->ha.claim_idle_ms;
    if (now >= w->lease_next_ms) {
        const char *jobs[1] = {w->job};
        store_lease_state s;
        int rc = store_lease_round(w->st, w->c->node.instance, ttl, jobs, 1,
                                   &s, NULL, e);
        if (rc < 0)
            return rc;
        if ((s != STORE_LEASE_NONE) != w->owns)
            log_event(LOG_INFO, s ? "job_taken" : "job_given", "job=%s "
                      "instance=%s", w->job, w->c->node.instance);
        w->owns = s != STORE_LEASE_NONE;
        met_set(MET_HA_JOBS, w->job, w->owns);
        if (s == STORE_LEASE_TAKEN)
            met_add(MET_HA_CLAIMS, w->job, 1);
        w->lease_next_ms = store_lease_next_round(now, ttl);
        w->lease_valid_ms = store_lease_acts_until(now, ttl);
    }
    return w->owns && now < w->lease_valid_ms;
}

int out_step(out_worker *w, err_t *e)
{
    int rc = out__connect(w, e);
    if (rc)
        return rc;
    if (!w->job[0])
        snprintf(w->job, sizeof w->job, "lout.%s", w->cc->name);
    if ((rc = out__owns(w, e)) <= 0)
        return rc;
    w->n = 0;
    w->full = 0;
    buf_reset(&w->hold);
    rc = store_lout_next(w->st, w->cc->name, OUT_BATCH, out__keep, w, e);
    if (rc < 0)
        return rc;
    size_t passed = 0;
    while (passed < w->n && !(rc = out__one(w, &w->ents[passed], e)))
        passed++;
    err_t e2;
    if (passed &&
        store_lout_done(w->st, w->cc->name, w->ents[passed - 1].pos, &e2))
        return rc ? rc : (*e = e2, e2.code);
    return rc ? rc : (int)passed;
}

/* ---- the thread ---- */

/* Sleeps ms in slices, returning early when stop is set. */
static void out__sleep(out_worker *w, int64_t ms)
{
    for (int64_t left = ms; left > 0 && !atomic_load(w->stop); left -= 50) {
        int64_t s = left < 50 ? left : 50;
        nanosleep(&(struct timespec){0, (long)s * 1000000}, NULL);
    }
}

static void out__failed(out_worker *w, const err_t *e)
{
    unsigned long long held;
    w->failures++;
    w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : OUT_BACKOFF_MIN_MS;
    if (w->backoff_ms > OUT_BACKOFF_MAX_MS)
        w->backoff_ms = OUT_BACKOFF_MAX_MS;
    if (log_gate_pass(&w->gate, OUT_GATE_MS, &held))
        log_event(LOG_WARN, "out_failed", "conn=%s retry_ms=%lld "
                  "failures=%llu suppressed=%llu why=%s", w->cc->name,
                  (long long)w->backoff_ms, (unsigned long long)w->failures,
                  held, log_q(e->msg));
}

void out_run(out_worker *w)
{
    log_event(LOG_INFO, "out_started", "conn=%s ext=%s mapping=%s",
              w->cc->name, w->ext, w->d ? map_def_name(w->d) : "-");
    while (!atomic_load(w->stop)) {
        err_t e;
        int rc = out_step(w, &e);
        if (rc < 0) {
            out__failed(w, &e);
            out__sleep(w, w->backoff_ms);
            continue;
        }
        if (rc > 0 && w->failures) {
            log_event(LOG_INFO, "out_resumed", "conn=%s after_failures=%llu",
                      w->cc->name, (unsigned long long)w->failures);
            w->failures = 0;
        }
        w->backoff_ms = rc > 0 ? 0 : w->backoff_ms;
        if (rc == 0)
            out__sleep(w, OUT_IDLE_MS);
    }
}
