/* intake: the checks in the order they cost (intake.h): who may send it
 * (auth_allows, every record), whether the model takes it (validate and
 * pack, every record), the node's backlog, the client's rate; then one
 * store_local_accept and, if configured, WAIT for replicas. A refusal
 * before the store writes nothing, and a refused submission takes no
 * tokens from its client's bucket.
 *
 * Ids of an idempotent submission are msgid_derive(0, "<conn>\n<idem>\n
 * <i>"): the time part is 0, not now, because a retry may come hours
 * later (a file picked up again after a crash) and must get the very same
 * id; 0 also says plainly that the id carries no creation time (it
 * starts with 0000000000), so nothing reads an age into it. The time a
 * message was accepted is its status hash's `at`. */
#include "intake.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "metrics.h"
#include "model_pack.h"
#include "store_local.h"
#include "strict.h"

#define INTAKE_PACK_MAX (256u << 20) /* canonical bytes of one submission */
#define INTAKE_BUCKETS 4096          /* clients with a rate bucket */
#define INTAKE_DOC_MAX 160           /* "TYPE:NUMBER" */

struct intake {
    const cfg *c;
    store *st;
    buf_t pack;                   /* packed records of one call */
    size_t off[STORE_LOCAL_BATCH + 1];
    char doc[STORE_LOCAL_BATCH][INTAKE_DOC_MAX];
};

/* ---- process-wide state ---- */

static _Atomic int64_t in_backlog;

void intake_set_backlog(int64_t depth)
{
    atomic_store(&in_backlog, depth);
}

int64_t intake_backlog(void)
{
    return atomic_load(&in_backlog);
}

typedef struct in_bucket {
    char client[65];
    double tokens;
    int64_t at_ms;
} in_bucket;

static in_bucket in_buckets[INTAKE_BUCKETS];
static size_t in_nbuckets;
static pthread_mutex_t in_mu = PTHREAD_MUTEX_INITIALIZER;

static int64_t in__now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The client's bucket, made full if new; NULL when the table is full
 * (more clients than any config holds: no limit then). Under in_mu. */
static in_bucket *in__bucket(const char *client, double burst, int64_t now)
{
    for (size_t i = 0; i < in_nbuckets; i++)
        if (!strcmp(in_buckets[i].client, client))
            return &in_buckets[i];
    if (in_nbuckets == INTAKE_BUCKETS)
        return NULL;
    in_bucket *b = &in_buckets[in_nbuckets++];
    snprintf(b->client, sizeof b->client, "%s", client);
    b->tokens = burst;
    b->at_ms = now;
    return b;
}

/* Takes n tokens (records) from cl's bucket: 0, or the seconds until
 * they would be there. A submission larger than the bucket needs a full
 * bucket, else it could never pass. */
static int64_t in__take(const cfg_api *api, const char *client, size_t n)
{
    if (api->rate_per_s <= 0)
        return 0;
    double rate = (double)api->rate_per_s, burst = (double)api->burst;
    double need = (double)n < burst ? (double)n : burst;
    int64_t now = in__now_ms(), wait = 0;
    pthread_mutex_lock(&in_mu);
    in_bucket *b = in__bucket(client, burst, now);
    if (b) {
        double t = b->tokens + (double)(now - b->at_ms) * rate / 1000.0;
        b->tokens = t < burst ? t : burst;
        b->at_ms = now;
        if (b->tokens >= need)
            b->tokens -= need;
        else
            wait = (int64_t)ceil((need - b->tokens) / rate);
    }
    pthread_mutex_unlock(&in_mu);
    return wait > 0 ? wait : 0;
}

/* ---- open, close ---- */

int intake_open(const cfg *c, intake **out, err_t *e)
{
    *out = NULL;
    intake *in = calloc(1, sizeof *in);
    if (!in)
        return err_set(e, ERR_NOMEM, "intake: out of memory");
    in->c = c;
    buf_init(&in->pack, INTAKE_PACK_MAX);
    int rc = store_open(c->redis.url, c->redis.prefix, &in->st, e);
    if (rc == 0)
        rc = store_set_timeout(in->st, c->redis.timeout_ms, e);
    if (rc < 0) {
        intake_close(in);
        return rc;
    }
    *out = in;
    return 0;
}

void intake_close(intake *in)
{
    if (!in)
        return;
    store_close(in->st);
    buf_free(&in->pack);
    free(in);
}

store *intake_store(intake *in)
{
    return in->st;
}

/* ---- one submission ---- */

static int in__refuse(const intake_sub *s, const char *reason, int rc)
{
    met_add(MET_REFUSED, s->conn, 1);
    met_add(MET_ERRORS, reason, 1);
    return rc;
}

/* Every record: allowed for this client, valid, packed into in->pack
 * (record i at off[i]..off[i+1]), its document named. */
static int in__check(intake *in, const intake_sub *s, err_t *e)
{
    buf_reset(&in->pack);
    in->off[0] = 0;
    for (size_t i = 0; i < s->n; i++) {
        const model_record *r = s->recs[i];
        if (auth_allows(s->cl, s->conn, r, e) < 0)
            return in__refuse(s, "auth", ERR_DENIED);
        if (model_validate(r, e) < 0 || model_pack(r, &in->pack, e) < 0) {
            err_wrap(e, "record %zu", i + 1);
            if (e->code != ERR_NOMEM && e->code != ERR_TOOBIG)
                e->code = ERR_INVALID; /* REQUIRED, CODE...: the model's */
            return in__refuse(s, "invalid", e->code);
        }
        in->off[i + 1] = in->pack.len;
        const char *t = r->document.type, *num = r->document.number;
        snprintf(in->doc[i], INTAKE_DOC_MAX, "%s%s%s", t && num ? t : "",
                 t && num ? ":" : "", t && num ? num : "");
    }
    return 0;
}

/* Ids: fresh, or derived from the idempotency key (see the top). */
static int in__ids(const intake_sub *s, intake_res *r, err_t *e)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!s->idem) {
            if (msgid_new(r->ids[i], e) < 0)
                return e->code;
            continue;
        }
        size_t n = strlen(s->conn) + strlen(s->idem) + 32;
        char *key = malloc(n);
        if (!key)
            return err_set(e, ERR_NOMEM, "intake: out of memory");
        int k = snprintf(key, n, "%s\n%s\n%zu", s->conn, s->idem, i);
        int rc = msgid_derive(0, key, (size_t)k, r->ids[i], e);
        free(key);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int in__store(intake *in, const intake_sub *s, intake_res *r, err_t *e)
{
    store_local_rec recs[STORE_LOCAL_BATCH];
    for (size_t i = 0; i < s->n; i++)
        recs[i] = (store_local_rec){r->ids[i], s->conn, s->cl->id,
                                    s->recs[i]->kind, in->doc[i],
                                    in->pack.p + in->off[i],
                                    in->off[i + 1] - in->off[i]};
    int rc = store_local_accept(in->st, recs, s->n, r->dup, e);
    /* stored but not confirmed by the replicas: the sender is told to
     * retry; with an idempotency key the retry stores nothing twice */
    if (rc == 0 && in->c->redis.wait_replicas > 0)
        rc = store_wait_replicas(in->st, in->c->redis.wait_replicas,
                                 in->c->redis.timeout_ms, e);
    return rc < 0 ? rc : 0;
}

/* Backlog, then rate: a client is not charged for what the node refuses. */
static int in__limits(const intake *in, const intake_sub *s, intake_res *r,
                      err_t *e)
{
    const cfg_api *api = &in->c->api;
    int64_t depth = intake_backlog(), wait;
    if (depth >= api->max_backlog) {
        r->retry_after_s = api->retry_after_s;
        err_set(e, ERR_AGAIN, "node busy: %lld records waiting (limit %lld)",
                (long long)depth, (long long)api->max_backlog);
        return in__refuse(s, "backlog", ERR_AGAIN);
    }
    if ((wait = in__take(api, s->cl->id, s->n)) > 0) {
        r->retry_after_s = wait;
        err_set(e, ERR_AGAIN, "client %s is over its rate (%lld records/s)",
                s->cl->id, (long long)api->rate_per_s);
        return in__refuse(s, "rate", ERR_AGAIN);
    }
    return 0;
}

/* eport_warnings_total: the stored records' warnings ("RULE: what, ..."),
 * by rule; a record read from canonical JSON may say anything there, so
 * a prefix that is no rule counts as "other". */
static void in__count_warnings(const intake_sub *s)
{
    for (size_t i = 0; i < s->n; i++) {
        const model_strlist *w = &s->recs[i]->warnings;
        for (uint32_t k = 0; k < w->n; k++) {
            char rule[32];
            snprintf(rule, sizeof rule, "%.*s", (int)strcspn(w->v[k], ":"),
                     w->v[k]);
            met_add(MET_WARNINGS, strict_rule_find(rule) ? rule : "other", 1);
        }
    }
}

int intake_accept(intake *in, const intake_sub *s, intake_res *r,
                  int64_t t0_ms, err_t *e)
{
    err_t none;
    e = e ? e : &none; /* the checks below read e->code */
    r->retry_after_s = 0;
    if (!s->cl || !s->conn || s->n < 1 || s->n > STORE_LOCAL_BATCH)
        return in__refuse(s, "invalid", err_set(e, ERR_INVALID, "intake: "
                          "%zu records (1 to %d), client and connector "
                          "required", s->n, STORE_LOCAL_BATCH));
    int rc = in__check(in, s, e);
    if (rc == 0)
        rc = in__limits(in, s, r, e);
    if (rc < 0)
        return rc;
    if ((rc = in__ids(s, r, e)) < 0 || (rc = in__store(in, s, r, e)) < 0) {
        r->retry_after_s = in->c->api.retry_after_s;
        return in__refuse(s, "redis", rc);
    }
    met_add(MET_IN, s->conn, s->n);
    in__count_warnings(s);
    int64_t dt = in__now_ms() - (t0_ms > 0 ? t0_ms : in__now_ms());
    met_observe(MET_INTAKE_SECONDS, s->conn, (double)dt / 1000.0);
    return 0;
}
