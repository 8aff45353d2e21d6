/* tool_pmload: the load side of the permit benchmark (permits.py).
 * Queues reserve requests at a requesting node, as its HTTP API and
 * eportctl do (store_pmq_add), waits until its eportd has every answer
 * home, and says how fast and how they came out:
 *
 *   tool_pmload REDIS_URL PREFIX PERMIT COUNT RATE KEY_PREFIX
 *
 * Each request reserves 1 unit of the permit as a whole under key
 * KEY_PREFIX-i, queued by TOOL_THREADS concurrent clients; RATE
 * requests per second in all (0: all at once). Prints one
 * line: `queued=N ok=N refused=N first_code=... seconds=S ops_per_s=R
 * p50_ms=A p99_ms=B` (latency = answer stored - request queued). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msgid.h"
#include "store.h"
#include "store_pmq.h"

#define WAIT_S 300
#define TOOL_THREADS 4 /* concurrent clients queueing */

typedef struct load {
    store *st;
    const char *permit, *prefix, *url, *kprefix;
    long count, rate;
    char (*rid)[MSGID_LEN + 1];
    int64_t queue_ms;          /* queueing them all took */
} load;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pace(int64_t start, long i, long rate)
{
    if (!rate)
        return;
    int64_t due = start + i * 1000 / rate;
    while (now_ms() < due) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
}

/* One client of TOOL_THREADS: requests t, t + T, t + 2T, ... on its own
 * connection, as concurrent HTTP clients would queue them. */
typedef struct client {
    load *l;
    long t;
    int64_t start;
    int rc;
    err_t e;
} client;

static void *client_run(void *arg)
{
    client *c = arg;
    load *l = c->l;
    store *st = NULL;
    c->rc = store_open(l->url, l->kprefix, &st, &c->e);
    for (long i = c->t; c->rc == 0 && i < l->count; i += TOOL_THREADS) {
        char key[64];
        snprintf(key, sizeof key, "%s-%ld", l->prefix, i);
        pm_req q = {.op = PM_OP_RESERVE, .permit = l->permit, .key = key,
                    .nlines = 1, .at_ms = (uint64_t)now_ms()};
        q.lines[0] = (pm_amount){0, 1000, 0};
        pace(c->start, i, l->rate);
        c->rc = store_pmq_add(st, l->rid[i], &q, NULL, now_ms(), &c->e);
    }
    store_close(st);
    return NULL;
}

static int queue_all(load *l, err_t *e)
{
    client c[TOOL_THREADS];
    pthread_t th[TOOL_THREADS];
    int64_t start = now_ms();
    for (long i = 0; i < l->count; i++)
        if (msgid_new(l->rid[i], e) < 0)
            return -1;
    for (long t = 0; t < TOOL_THREADS; t++) {
        c[t] = (client){.l = l, .t = t, .start = start};
        if (pthread_create(&th[t], NULL, client_run, &c[t]) != 0)
            return err_set(e, ERR_NOMEM, "pthread_create failed");
    }
    int rc = 0;
    for (long t = 0; t < TOOL_THREADS; t++) {
        pthread_join(th[t], NULL);
        if (c[t].rc < 0 && rc == 0)
            rc = -1, *e = c[t].e;
    }
    l->queue_ms = now_ms() - start;
    return rc;
}

static int wait_all(load *l, err_t *e)
{
    for (int64_t until = now_ms() + WAIT_S * 1000; now_ms() < until;) {
        int64_t left = store_pmq_waiting_len(l->st, e);
        if (left < 0)
            return -1;
        if (left == 0)
            return 0;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    return err_set(e, ERR_AGAIN, "answers still missing after %d s", WAIT_S);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int report(load *l, err_t *e)
{
    int64_t *lat = calloc((size_t)l->count, sizeof *lat);
    int64_t first = INT64_MAX, last = 0;
    long ok = 0;
    char code[32] = "-";
    if (!lat)
        return err_set(e, ERR_NOMEM, "out of memory");
    for (long i = 0; i < l->count; i++) {
        store_pmq_view v;
        if (store_pmq_get(l->st, l->rid[i], &v, NULL, NULL, e) < 0) {
            free(lat);
            return -1;
        }
        lat[i] = v.done_ms - v.at_ms;
        first = v.at_ms < first ? v.at_ms : first;
        last = v.done_ms > last ? v.done_ms : last;
        if (!strcmp(v.code, "ok"))
            ok++;
        else if (code[0] == '-')
            snprintf(code, sizeof code, "%s", v.code);
    }
    qsort(lat, (size_t)l->count, sizeof *lat, cmp_i64);
    double secs = (double)(last - first) / 1000.0;
    printf("queued=%ld ok=%ld refused=%ld first_code=%s seconds=%.3f "
           "ops_per_s=%.0f p50_ms=%lld p99_ms=%lld queue_s=%.3f\n", l->count,
           ok, l->count - ok, code, secs,
           secs > 0 ? (double)l->count / secs : 0,
           (long long)lat[l->count / 2], (long long)lat[l->count * 99 / 100],
           (double)l->queue_ms / 1000.0);
    free(lat);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: tool_pmload REDIS_URL PREFIX PERMIT COUNT "
                "RATE KEY_PREFIX\n");
        return 2;
    }
    load l = {.permit = argv[3], .count = atol(argv[4]),
              .rate = atol(argv[5]), .prefix = argv[6], .url = argv[1],
              .kprefix = argv[2]};
    err_t e;
    l.rid = calloc((size_t)(l.count > 0 ? l.count : 1), sizeof *l.rid);
    int rc = l.count > 0 && l.rid ? 0 : err_set(&e, ERR_USAGE, "bad COUNT");
    if (rc == 0)
        rc = store_open(argv[1], argv[2], &l.st, &e);
    if (rc == 0)
        rc = queue_all(&l, &e) < 0 || wait_all(&l, &e) < 0 ||
             report(&l, &e) < 0;
    if (rc)
        fprintf(stderr, "tool_pmload: %s\n", e.msg);
    store_close(l.st);
    free(l.rid);
    return rc ? 1 : 0;
}
