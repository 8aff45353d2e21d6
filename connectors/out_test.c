/* Unit tests for the outbound worker (out.c) and its transports against a
 * private redis-server (tests/redis.h): entry names sort in stream order;
 * the dir transport writes every entry, in order, as canonical JSON or
 * through a reverse mapping; a failing transport gets the SAME entry
 * again and nothing is skipped; an unmappable record goes to the dead
 * letters and the queue moves on; the webhook (a small HTTP server in a
 * thread) sees its headers and retries a 503; the ZeroMQ PUSH fails with
 * no peer and delivers [event, body] once one is there; out_run stops.
 * Each test uses its own key prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <zmq.h>

#include "../tests/conn_fixture.h"
#include "model_json.h"
#include "model_pack.h"
#include "out.h"
#include "store_local.h"

#define REC_STATUS(n)                                                      \
    "{\"kind\":\"status\",\"status\":{\"event\":\"gate_in\","             \
    "\"description\":\"out test " n "\"}}"

/* A config on prefix whose one connector "sys" has the given out keys. */
static cfg *load_cfg(const char *prefix, const char *out_keys)
{
    return conn_fixture_cfg(prefix, 8101,
        "redis: {url: '%s', prefix: '%s:'}\n"
        "connectors:\n  - {name: sys, type: http, %s}\n"
        "log: {level: error, file: '-'}\n",
        g_url, prefix, out_keys);
}

typedef struct fx {
    cfg *c;
    store *st;
    out_worker *w;
    atomic_int stop;
    char dir[512];
} fx;

static void fx_open(fx *x, const char *prefix, const char *out_keys)
{
    if (!g_url[0])
        skip();
    memset(x, 0, sizeof *x);
    x->c = load_cfg(prefix, out_keys);
    x->st = conn_fixture_store(prefix);
}

static void fx_worker(fx *x, const conn_out_ops *ops)
{
    err_t e;
    if (out_open(x->c, &x->c->connectors[0], g_maps, ops, &x->stop, &x->w,
                 &e))
        fail_msg("out_open: %s", e.msg);
}

static void fx_close(fx *x)
{
    out_close(x->w);
    store_close(x->st);
    cfg_free(x->c);
}

/* Queues canonical JSON json as event ev under key. */
static void push_rc(fx *x, const char *key, const char *ev, const char *json,
                    int want)
{
    arena_t a;
    buf_t b;
    model_record *r;
    err_t e;
    arena_init(&a, 1 << 20);
    buf_init(&b, 1 << 20);
    if (model_json_read(json, strlen(json), &a, &r, &e) ||
        model_pack(r, &b, &e))
        fail_msg("record %s: %s", json, e.msg);
    assert_int_equal(store_lout_add(x->st, "sys", key, ev, b.p, b.len, &e),
                     want);
    buf_free(&b);
    arena_free(&a);
}

static void push(fx *x, const char *key, const char *ev, const char *json)
{
    push_rc(x, key, ev, json, 0);
}

static int64_t waiting(fx *x)
{
    err_t e;
    return store_lout_len(x->st, "sys", &e);
}

/* ---- names ---- */

static void test_names_sort_and_parse(void **state)
{
    (void)state;
    char a[OUT_NAME_MAX], b[OUT_NAME_MAX], ev[32];
    out_name((store_pos){1700000000000ULL, 9}, "released", "edi", a, sizeof a);
    out_name((store_pos){1700000000000ULL, 10}, "released", "edi", b, sizeof b);
    assert_string_equal(a, "1700000000000-000009-released.edi");
    assert_true(strcmp(a, b) < 0); /* seq 9 before 10, as text too */
    store_pos p;
    const char *ext;
    assert_int_equal(out_name_parse(b, &p, ev, sizeof ev, &ext), 0);
    assert_true(p.ms == 1700000000000ULL && p.seq == 10);
    assert_string_equal(ev, "released");
    assert_string_equal(ext, "edi");
    assert_int_equal(out_name_parse("x-1-a.b", &p, ev, sizeof ev, &ext),
                     ERR_SYNTAX);
    assert_int_equal(out_name_parse("1-2-noext", &p, ev, sizeof ev, &ext),
                     ERR_SYNTAX);
    assert_string_equal(out_content_type("xml"), "application/xml");
    assert_string_equal(out_content_type("edi"), "application/EDIFACT");
}

/* ---- dir ---- */

/* Sorted names of dir's visible files into names; returns how many. */
static int list_dir(const char *dir, char names[][OUT_NAME_MAX], int max)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    assert_non_null(d);
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && n < max)
            snprintf(names[n++], OUT_NAME_MAX, "%s", de->d_name);
    closedir(d);
    qsort(names, (size_t)n, OUT_NAME_MAX,
          (int (*)(const void *, const void *))strcmp);
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *p = calloc(1, 1 << 16);
    size_t n = fread(p, 1, (1 << 16) - 1, f);
    p[n] = '\0';
    fclose(f);
    return p;
}

static void test_dir_in_order(void **state)
{
    (void)state;
    fx x;
    char keys[700], names[8][OUT_NAME_MAX], path[1400];
    snprintf(keys, sizeof keys, "out: dir, out_dir: %s/o1", g_tmp);
    fx_open(&x, "o1", keys);
    fx_worker(&x, &conn_out_dir_ops);
    push(&x, "k1", "message_status", REC_STATUS("1"));
    push(&x, "k2", "arrived", REC_STATUS("2"));
    push(&x, "k3", "message_status", REC_STATUS("3"));
    push_rc(&x, "k2", "arrived", REC_STATUS("2"), 1); /* queued before */
    err_t e;
    assert_int_equal(out_step(x.w, &e), 3);
    assert_int_equal(out_step(x.w, &e), 0);
    assert_int_equal(waiting(&x), 0);
    snprintf(path, sizeof path, "%s/o1", g_tmp);
    assert_int_equal(list_dir(path, names, 8), 3);
    assert_non_null(strstr(names[0], "-message_status.json"));
    assert_non_null(strstr(names[1], "-arrived.json"));
    for (int i = 0; i < 3; i++) {
        char want[32];
        snprintf(want, sizeof want, "out test %d", i + 1);
        snprintf(path, sizeof path, "%s/o1/%s", g_tmp, names[i]);
        char *text = slurp(path);
        if (!strstr(text, want))
            fail_msg("%s holds %s, not '%s'", names[i], text, want);
        free(text);
    }
    assert_int_equal(met_get(MET_OUT, "sys"), 3);
    fx_close(&x);
}

/* ---- a transport that fails on demand ---- */

static struct {
    int fail_at;        /* the send number (1-based) that fails, 0 none */
    int sends;
    char seen[16][OUT_NAME_MAX];
} g_fake;

static int fake_open(conn_out *o, err_t *e)
{
    (void)e;
    o->priv = &g_fake;
    return 0;
}

static int fake_send(conn_out *o, const char *name, const void *p, size_t n,
                     err_t *e)
{
    (void)o, (void)p, (void)n;
    int k = ++g_fake.sends;
    snprintf(g_fake.seen[(k - 1) & 15], OUT_NAME_MAX, "%s", name);
    if (k == g_fake.fail_at)
        return err_set(e, ERR_IO, "fake: send %d fails", k);
    return 0;
}

static void fake_close(conn_out *o)
{
    o->priv = NULL;
}

static const conn_out_ops fake_ops = {CFG_OUT_DIR, "json", fake_open,
                                      fake_send, fake_close};

static void test_failure_retries_same_entry(void **state)
{
    (void)state;
    fx x;
    char keys[700];
    snprintf(keys, sizeof keys, "out: dir, out_dir: %s/o2", g_tmp);
    fx_open(&x, "o2", keys);
    memset(&g_fake, 0, sizeof g_fake);
    g_fake.fail_at = 2;
    fx_worker(&x, &fake_ops);
    push(&x, "a", "arrived", REC_STATUS("a"));
    push(&x, "b", "arrived", REC_STATUS("b"));
    push(&x, "c", "arrived", REC_STATUS("c"));
    err_t e;
    assert_int_equal(out_step(x.w, &e), ERR_IO);
    assert_int_equal(waiting(&x), 2); /* the first is delivered */
    assert_int_equal(out_step(x.w, &e), 2);
    assert_int_equal(g_fake.sends, 4);
    assert_string_equal(g_fake.seen[1], g_fake.seen[2]); /* b, then b */
    assert_true(strcmp(g_fake.seen[0], g_fake.seen[1]) < 0);
    assert_true(strcmp(g_fake.seen[2], g_fake.seen[3]) < 0);
    assert_int_equal(waiting(&x), 0);
    fx_close(&x);
}

/* ---- unmappable records ---- */

static int count_dlq(void *ctx, const store_dlq_entry *d, err_t *e)
{
    (void)e;
    if (!strcmp(d->reason, "unmappable"))
        ++*(int *)ctx;
    return 0;
}

static void test_unmappable_to_dlq(void **state)
{
    (void)state;
    fx x;
    char keys[700], names[8][OUT_NAME_MAX], path[1400];
    snprintf(keys, sizeof keys, "out: dir, out_dir: %s/o3, "
             "out_mapping: cusres", g_tmp);
    fx_open(&x, "o3", keys);
    fx_worker(&x, &conn_out_dir_ops);
    /* a status the code list cannot say in EDIFACT */
    push(&x, "bad", "released",
         "{\"kind\":\"response\",\"document\":{\"type\":\"customs_response\","
         "\"number\":\"CQCR0\"},\"customs\":{\"status\":\"bogus\"}}");
    push(&x, "good", "released",
         "{\"kind\":\"response\",\"document\":{\"type\":\"customs_response\","
         "\"number\":\"CQCR1\"},\"customs\":{\"reference\":"
         "\"800020241000318745\",\"status\":\"released\"}}");
    err_t e;
    assert_int_equal(out_step(x.w, &e), 2);
    assert_int_equal(waiting(&x), 0);
    int n = 0;
    assert_true(store_dlq_list(x.st, 10, count_dlq, &n, &e) >= 0);
    assert_int_equal(n, 1);
    snprintf(path, sizeof path, "%s/o3", g_tmp);
    assert_int_equal(list_dir(path, names, 8), 1);
    assert_non_null(strstr(names[0], "-released.edi"));
    snprintf(path, sizeof path, "%s/o3/%s", g_tmp, names[0]);
    char *text = slurp(path);
    assert_non_null(strstr(text, "CUSRES"));
    assert_non_null(strstr(text, "CQCR1"));
    free(text);
    fx_close(&x);
}

/* ---- webhook: a small HTTP/1.1 server in a thread ---- */

typedef struct hsrv {
    int lfd, port;
    pthread_t t;
    atomic_int stop;
    int status[8];      /* the answers in turn; past them (or 0) 200 */
    int n;              /* requests answered */
    char id[8][64], ev[8][64], ctype[8][64], body[8][256];
} hsrv;

/* The value of header name in head (case-insensitive), "" if none. */
static void hs_header(const char *head, const char *name, char *out, size_t n)
{
    size_t k = strlen(name);
    out[0] = '\0';
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
        if (!strncasecmp(p + 2, name, k) && p[2 + k] == ':') {
            const char *v = p + 3 + k + strspn(p + 3 + k, " ");
            snprintf(out, n, "%.*s", (int)strcspn(v, "\r"), v);
            return;
        }
}

/* Reads into b until it holds want bytes; 0, or -1 closed / stopping. */
static int hs_fill(hsrv *h, int fd, char *b, size_t *len, size_t cap,
                   size_t want)
{
    while (*len < want) {
        struct pollfd p = {fd, POLLIN, 0};
        if (atomic_load(&h->stop) || *len >= cap)
            return -1;
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = read(fd, b + *len, cap - *len);
        if (r <= 0)
            return -1;
        *len += (size_t)r;
        b[*len] = '\0';
    }
    return 0;
}

static void hs_record(hsrv *h, const char *head, const char *body, size_t bn)
{
    int k = h->n & 7;
    hs_header(head, "X-Eport-Id", h->id[k], sizeof h->id[k]);
    hs_header(head, "X-Eport-Event", h->ev[k], sizeof h->ev[k]);
    hs_header(head, "Content-Type", h->ctype[k], sizeof h->ctype[k]);
    snprintf(h->body[k], sizeof h->body[k], "%.*s", (int)bn, body);
}

static void hs_conn(hsrv *h, int fd)
{
    static char b[1 << 16];
    size_t len = 0;
    for (;;) {
        char *end = NULL, cl[32];
        while (!(end = strstr(b, "\r\n\r\n")))
            if (hs_fill(h, fd, b, &len, sizeof b - 1, len + 1))
                return;
        size_t hl = (size_t)(end + 4 - b);
        *end = '\0';
        hs_header(b, "Content-Length", cl, sizeof cl);
        size_t bn = strtoul(cl, NULL, 10);
        if (hs_fill(h, fd, b, &len, sizeof b - 1, hl + bn))
            return;
        hs_record(h, b, b + hl, bn);
        int st = h->n < 8 && h->status[h->n] ? h->status[h->n] : 200;
        h->n++;
        dprintf(fd, "HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", st);
        memmove(b, b + hl + bn, len - hl - bn);
        len -= hl + bn;
        b[len] = '\0';
    }
}

static void *hs_main(void *p)
{
    hsrv *h = p;
    while (!atomic_load(&h->stop)) {
        struct pollfd q = {h->lfd, POLLIN, 0};
        if (poll(&q, 1, 100) <= 0)
            continue;
        int fd = accept(h->lfd, NULL, NULL);
        if (fd >= 0) {
            hs_conn(h, fd);
            close(fd);
        }
    }
    return NULL;
}

static void hs_start(hsrv *h, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    h->lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    assert_int_equal(bind(h->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(h->lfd, 8), 0);
    h->port = port;
    assert_int_equal(pthread_create(&h->t, NULL, hs_main, h), 0);
}

static void hs_stop(hsrv *h)
{
    atomic_store(&h->stop, 1);
    pthread_join(h->t, NULL);
    close(h->lfd);
}

static void test_webhook_headers_and_retry(void **state)
{
    (void)state;
    fx x;
    char keys[200];
    int port = test_redis_free_port();
    snprintf(keys, sizeof keys, "out: webhook, out_url: "
             "'http://127.0.0.1:%d/hook'", port);
    fx_open(&x, "o4", keys);
    fx_worker(&x, &conn_out_webhook_ops);
    push(&x, "w1", "arrived", REC_STATUS("w1"));
    push(&x, "w2", "message_status", REC_STATUS("w2"));
    err_t e;
    assert_int_equal(out_step(x.w, &e), ERR_IO); /* nobody listens */
    assert_non_null(strstr(e.msg, "webhook POST"));
    static hsrv h = {.status = {503}};
    hs_start(&h, port);
    assert_int_equal(out_step(x.w, &e), ERR_IO); /* 503 */
    assert_non_null(strstr(e.msg, "HTTP 503"));
    assert_int_equal(waiting(&x), 2);
    assert_int_equal(out_step(x.w, &e), 2);
    out_close(x.w);
    x.w = NULL;
    hs_stop(&h);
    assert_int_equal(h.n, 3);
    assert_string_equal(h.id[0], h.id[1]); /* the same entry again */
    assert_string_not_equal(h.id[1], h.id[2]);
    assert_true(strchr(h.id[0], '-') != NULL);
    assert_string_equal(h.ev[1], "arrived");
    assert_string_equal(h.ev[2], "message_status");
    assert_string_equal(h.ctype[2], "application/json");
    assert_non_null(strstr(h.body[2], "out test w2"));
    assert_int_equal(waiting(&x), 0);
    fx_close(&x);
}

/* ---- zmq PUSH ---- */

static void test_zmq_push_needs_a_peer(void **state)
{
    (void)state;
    fx x;
    char keys[200], ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", test_redis_free_port());
    snprintf(keys, sizeof keys, "out: zmq, out_endpoint: '%s'", ep);
    fx_open(&x, "o5", keys);
    fx_worker(&x, &conn_out_zmq_ops);
    push(&x, "z1", "message_status", REC_STATUS("z1"));
    err_t e;
    assert_int_equal(out_step(x.w, &e), ERR_IO); /* no peer: not queued */
    assert_non_null(strstr(e.msg, "no peer"));
    void *ctx = zmq_ctx_new(), *pull = zmq_socket(ctx, ZMQ_PULL);
    assert_int_equal(zmq_bind(pull, ep), 0);
    int rc = ERR_IO;
    for (int i = 0; i < 100 && rc < 0; i++) { /* until connected */
        usleep(50000);
        rc = out_step(x.w, &e);
    }
    assert_int_equal(rc, 1);
    char ev[64] = {0}, body[4096] = {0};
    int tmo = 2000;
    zmq_setsockopt(pull, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    assert_true(zmq_recv(pull, ev, sizeof ev - 1, 0) > 0);
    assert_string_equal(ev, "message_status");
    assert_true(zmq_recv(pull, body, sizeof body - 1, 0) > 0);
    assert_non_null(strstr(body, "out test z1"));
    fx_close(&x);
    zmq_close(pull);
    zmq_ctx_term(ctx);
}

/* ---- the thread ---- */

static void *run_main(void *p)
{
    out_run(p);
    return NULL;
}

static void test_run_delivers_and_stops(void **state)
{
    (void)state;
    fx x;
    char keys[700], names[8][OUT_NAME_MAX], path[1400];
    snprintf(keys, sizeof keys, "out: dir, out_dir: %s/o6", g_tmp);
    fx_open(&x, "o6", keys);
    fx_worker(&x, &conn_out_dir_ops);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_main, x.w), 0);
    push(&x, "r1", "arrived", REC_STATUS("r1"));
    push(&x, "r2", "arrived", REC_STATUS("r2"));
    for (int i = 0; i < 100 && waiting(&x) > 0; i++)
        usleep(50000);
    atomic_store(&x.stop, 1);
    pthread_join(t, NULL);
    assert_int_equal(waiting(&x), 0);
    snprintf(path, sizeof path, "%s/o6", g_tmp);
    assert_int_equal(list_dir(path, names, 8), 2);
    fx_close(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_sort_and_parse),
        cmocka_unit_test(test_dir_in_order),
        cmocka_unit_test(test_failure_retries_same_entry),
        cmocka_unit_test(test_unmappable_to_dlq),
        cmocka_unit_test(test_webhook_headers_and_retry),
        cmocka_unit_test(test_zmq_push_needs_a_peer),
        cmocka_unit_test(test_run_delivers_and_stops),
    };
    return cmocka_run_group_tests_name("out", tests, conn_fixture_setup,
                                       conn_fixture_teardown);
}
