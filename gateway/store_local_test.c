/* Unit tests for store_local against a private redis-server: accept with
 * duplicates and order, the status hash and its TTL, dispatch positions
 * and trimming, the event feed (its cap, waiting for one), records for
 * local systems queued once and delivered in order, and a Redis that lost
 * its scripts. Each test has its own key prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_local.h"
#include "store_test_util.h"

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static store_local_rec rec(const char *id, const char *kind, const char *doc)
{
    static const char bytes[] = "\x92\x01\x81\xa4kind\x00z"; /* NUL inside */
    return (store_local_rec){id, "rail", "cq-rail", kind, doc, bytes,
                             sizeof bytes - 1};
}

#define ID1 "01J0000000000000000000000A"
#define ID2 "01J0000000000000000000000B"
#define ID3 "01J0000000000000000000000C"

/* What store_local_after hands over. */
typedef struct got {
    int n;
    store_pos pos[300];
    char id[300][32], conn[300][16];
    size_t len[300];
} got;

static int on_local(void *ctx, store_pos pos, const char *id,
                    const char *conn, const char *client, const void *r,
                    size_t len, err_t *e)
{
    (void)e;
    got *g = ctx;
    assert_string_equal(client, "cq-rail");
    assert_memory_equal(r, "\x92\x01\x81\xa4kind\x00z", 10);
    g->pos[g->n] = pos;
    snprintf(g->id[g->n], 32, "%s", id);
    snprintf(g->conn[g->n], 16, "%s", conn);
    g->len[g->n++] = len;
    return 0;
}

typedef struct kv {
    int n;
    char name[16][16], value[16][64];
} kv;

static int on_kv(void *ctx, const char *name, const char *value, err_t *e)
{
    (void)e;
    kv *k = ctx;
    snprintf(k->name[k->n], 16, "%s", name);
    snprintf(k->value[k->n++], 64, "%s", value);
    return 0;
}

static const char *kv_get(const kv *k, const char *name)
{
    for (int i = 0; i < k->n; i++)
        if (!strcmp(k->name[i], name))
            return k->value[i];
    return NULL;
}

static void test_accept_dup_order(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "t1:");
    err_t e = {0};
    store_local_rec a[] = {rec(ID1, "waybill", "rail_waybill:CQ1"),
                           rec(ID2, "status", "")};
    int dup[3] = {9, 9, 9};
    assert_int_equal(store_local_accept(st, a, 2, dup, &e), 0);
    assert_int_equal(dup[0] + dup[1], 0);
    store_local_rec b[] = {rec(ID3, "waybill", ""), rec(ID1, "waybill", "")};
    assert_int_equal(store_local_accept(st, b, 2, dup, &e), 0);
    assert_int_equal(dup[0], 0);
    assert_int_equal(dup[1], 1); /* a retry: left alone */
    assert_int_equal(store_local_len(st, &e), 3);
    got g = {0};
    assert_int_equal(store_local_after(st, (store_pos){0, 0}, 10, on_local,
                                       &g, &e), 3);
    assert_string_equal(g.id[0], ID1);
    assert_string_equal(g.id[1], ID2);
    assert_string_equal(g.id[2], ID3);
    assert_string_equal(g.conn[2], "rail");
    assert_int_equal(g.len[0], 10);
    assert_true(store_pos_cmp(g.pos[0], g.pos[1]) < 0);
    kv k = {0};
    assert_int_equal(store_msg_get(st, ID1, on_kv, &k, &e), 0);
    assert_string_equal(kv_get(&k, "status"), "accepted");
    assert_string_equal(kv_get(&k, "doc"), "rail_waybill:CQ1"); /* not the dup's */
    assert_string_equal(kv_get(&k, "kind"), "waybill");
    assert_string_equal(kv_get(&k, "conn"), "rail");
    assert_non_null(kv_get(&k, "at"));
    redisContext *c = stu_raw();
    long long ttl = stu_int(c, "PTTL %s", "t1:v1:msg:" ID1);
    assert_true(ttl > STORE_MSG_TTL_MS - 60000 && ttl <= STORE_MSG_TTL_MS);
    assert_int_equal(stu_int(c, "XLEN %s", "t1:v1:events"), 3);
    redisFree(c);
    store_close(st);
}

static void test_accept_refusals(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "t2:");
    err_t e = {0};
    int dup[STORE_LOCAL_BATCH + 1];
    store_local_rec *many = calloc(STORE_LOCAL_BATCH + 1, sizeof *many);
    char (*ids)[32] = calloc(STORE_LOCAL_BATCH + 1, 32);
    for (int i = 0; i <= STORE_LOCAL_BATCH; i++) {
        snprintf(ids[i], 32, "01J00000000000000000000%03d", i);
        many[i] = rec(ids[i], "waybill", "");
    }
    assert_int_equal(store_local_accept(st, many, STORE_LOCAL_BATCH + 1, dup,
                                        &e), ERR_INVALID);
    assert_int_equal(store_local_accept(st, many, STORE_LOCAL_BATCH, dup, &e), 0);
    assert_int_equal(store_local_len(st, &e), STORE_LOCAL_BATCH);
    store_local_rec bad = rec("a b", "waybill", "");
    assert_int_equal(store_local_accept(st, &bad, 1, dup, &e), ERR_INVALID);
    assert_int_equal(store_local_len(st, &e), STORE_LOCAL_BATCH); /* nothing */
    free(many);
    free(ids);
    store_close(st);
}

static void test_done_trim_positions(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "t3:");
    err_t e = {0};
    store_pos p;
    assert_int_equal(store_local_pos(st, &p, &e), 0);
    assert_true(p.ms == 0 && p.seq == 0);
    store_local_rec a[] = {rec(ID1, "waybill", ""), rec(ID2, "waybill", ""),
                           rec(ID3, "status", "")};
    int dup[3];
    assert_int_equal(store_local_accept(st, a, 3, dup, &e), 0);
    got g = {0};
    assert_int_equal(store_local_after(st, p, 10, on_local, &g, &e), 3);
    const char *kv1[] = {"status", "forwarded", "fwd", "01JXYZ", "dests", "SH"};
    const char *kv2[] = {"status", "refused", "detail", "no movement"};
    store_msg_update u[] = {{ID1, kv1, 6}, {ID2, kv2, 4}};
    assert_int_equal(store_local_done(st, g.pos[1], u, 2, &e), 0);
    assert_int_equal(store_local_pos(st, &p, &e), 0);
    assert_int_equal(store_pos_cmp(p, g.pos[1]), 0);
    assert_int_equal(store_local_len(st, &e), 1); /* the dispatched went */
    got h = {0};
    assert_int_equal(store_local_after(st, p, 10, on_local, &h, &e), 1);
    assert_string_equal(h.id[0], ID3);
    kv k = {0};
    assert_int_equal(store_msg_get(st, ID1, on_kv, &k, &e), 0);
    assert_string_equal(kv_get(&k, "status"), "forwarded");
    assert_string_equal(kv_get(&k, "dests"), "SH");
    assert_string_equal(kv_get(&k, "kind"), "waybill"); /* kept */
    const char *bad[] = {"status"};
    store_msg_update ub = {ID3, bad, 1};
    assert_int_equal(store_local_done(st, h.pos[0], &ub, 1, &e), ERR_INVALID);
    assert_int_equal(store_local_len(st, &e), 1); /* refused whole */
    assert_int_equal(store_local_done(st, h.pos[0], NULL, 0, &e), 0);
    assert_int_equal(store_local_len(st, &e), 0);
    store_close(st);
}

static void test_msg_set_get(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "t4:");
    err_t e = {0};
    store_local_rec a = rec(ID1, "status", "");
    int dup;
    assert_int_equal(store_local_accept(st, &a, 1, &dup, &e), 0);
    const char *kv1[] = {"status", "attached", "refs", "26CQ1 26CQ2"};
    assert_int_equal(store_msg_set(st, ID1, kv1, 4, &e), 0);
    kv k = {0};
    assert_int_equal(store_msg_get(st, ID1, on_kv, &k, &e), 0);
    assert_string_equal(kv_get(&k, "refs"), "26CQ1 26CQ2");
    assert_int_equal(store_msg_set(st, ID2, kv1, 4, &e), ERR_NOTFOUND);
    assert_int_equal(store_msg_get(st, ID2, on_kv, &k, &e), ERR_NOTFOUND);
    redisContext *c = stu_raw();
    assert_int_equal(stu_int(c, "EXISTS %s", "t4:v1:msg:" ID2), 0);
    redisFree(c);
    store_close(st);
}

typedef struct evs {
    int n;
    store_pos last;
    char name[8][16], json[8][256];
} evs;

static int on_event(void *ctx, store_pos pos, const char *name,
                    const char *json, err_t *e)
{
    (void)e;
    evs *v = ctx;
    v->last = pos;
    snprintf(v->name[v->n], 16, "%s", name);
    snprintf(v->json[v->n++], 256, "%s", json);
    return 0;
}

static void test_events(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "t5:");
    err_t e = {0};
    store_local_rec a = rec(ID1, "waybill", "rail_waybill:X\"1");
    int dup;
    assert_int_equal(store_local_accept(st, &a, 1, &dup, &e), 0);
    assert_int_equal(store_event_add(st, "dispatched", "{\"id\":\"" ID1 "\"}",
                                     &e), 0);
    evs v = {0};
    assert_int_equal(store_event_after(st, (store_pos){0, 0}, 10, 0, on_event,
                                       &v, &e), 2);
    assert_string_equal(v.name[0], "accepted");
    assert_non_null(strstr(v.json[0], "\"id\":\"" ID1 "\""));
    assert_non_null(strstr(v.json[0], "\"doc\":\"rail_waybill:X\\\"1\""));
    assert_string_equal(v.name[1], "dispatched");
    /* nothing after the last: a wait of 200 ms comes back empty */
    int64_t t0 = now_ms();
    assert_int_equal(store_event_after(st, v.last, 10, 200, on_event, &v, &e), 0);
    assert_true(now_ms() - t0 >= 150);
    store_close(st);
}

/* The feed is capped (~): fill it past the cap behind the store's back,
 * then one add trims it. */
static void test_events_cap(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "t6:");
    err_t e = {0};
    redisContext *c = stu_raw();
    int over = STORE_EVENTS_MAX + 5000;
    for (int i = 0; i < over; i++)
        redisAppendCommand(c, "XADD t6:v1:events * v 1 ev x j {}");
    for (int i = 0; i < over; i++) {
        void *r;
        assert_int_equal(redisGetReply(c, &r), REDIS_OK);
        freeReplyObject(r);
    }
    assert_int_equal(stu_int(c, "XLEN %s", "t6:v1:events"), over);
    assert_int_equal(store_event_add(st, "mv", "{}", &e), 0);
    long long n = stu_int(c, "XLEN %s", "t6:v1:events");
    assert_true(n >= STORE_EVENTS_MAX && n <= STORE_EVENTS_MAX + 1000);
    redisFree(c);
    store_close(st);
}

typedef struct outs {
    int n;
    store_pos pos[8];
    char ev[8][32], rec[8][16];
} outs;

static int on_lout(void *ctx, store_pos pos, const char *ev, const char *map,
                   const void *r, size_t len, err_t *e)
{
    (void)map;
    (void)e;
    outs *o = ctx;
    o->pos[o->n] = pos;
    snprintf(o->ev[o->n], 32, "%s", ev);
    snprintf(o->rec[o->n++], 16, "%.*s", (int)len, (const char *)r);
    return 0;
}

static void test_lout(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "t7:");
    err_t e = {0};
    assert_int_equal(store_lout_add(st, "rail", "rail:" ID1, "released",
                                    "r1", 2, &e), 0);
    assert_int_equal(store_lout_add(st, "rail", "rail:" ID1, "released",
                                    "r1", 2, &e), 1); /* queued before */
    assert_int_equal(store_lout_add(st, "rail", "rail:" ID2,
                                    "anticipated_arrival", "r2", 2, &e), 0);
    assert_int_equal(store_lout_add(st, "drop", "drop:" ID1, "released",
                                    "d1", 2, &e), 0); /* another connector */
    assert_int_equal(store_lout_len(st, "rail", &e), 2);
    outs o = {0};
    assert_int_equal(store_lout_next(st, "rail", 10, on_lout, &o, &e), 2);
    assert_string_equal(o.ev[0], "released");
    assert_string_equal(o.rec[1], "r2");
    assert_string_equal(o.ev[1], "anticipated_arrival");
    assert_int_equal(store_lout_done(st, "rail", o.pos[0], &e), 0);
    outs p = {0};
    assert_int_equal(store_lout_next(st, "rail", 10, on_lout, &p, &e), 1);
    assert_string_equal(p.rec[0], "r2");
    assert_int_equal(store_lout_len(st, "rail", &e), 1);
    assert_int_equal(store_lout_done(st, "rail", p.pos[0], &e), 0);
    assert_int_equal(store_lout_next(st, "rail", 10, on_lout, &p, &e), 0);
    assert_int_equal(store_lout_len(st, "drop", &e), 1);
    assert_int_equal(store_lout_add(st, "rail", "a key", "released", "r", 1,
                                    &e), ERR_INVALID);
    assert_int_equal(store_lout_add(st, "ra il", "k", "released", "r", 1, &e),
                     ERR_INVALID);
    store_close(st);
}

/* Redis lost its scripts (a restart): each script is sent again. */
static void test_noscript(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "t8:");
    err_t e = {0};
    store_local_rec a = rec(ID1, "waybill", "");
    int dup;
    assert_int_equal(store_local_accept(st, &a, 1, &dup, &e), 0);
    redisContext *c = stu_raw();
    freeReplyObject(redisCommand(c, "SCRIPT FLUSH"));
    a.id = ID2;
    assert_int_equal(store_local_accept(st, &a, 1, &dup, &e), 0);
    assert_int_equal(dup, 0);
    assert_int_equal(store_lout_add(st, "rail", "k1", "arrived", "x", 1, &e), 0);
    freeReplyObject(redisCommand(c, "SCRIPT FLUSH"));
    assert_int_equal(store_lout_add(st, "rail", "k1", "arrived", "x", 1, &e), 1);
    const char *kv1[] = {"status", "dispatched"};
    freeReplyObject(redisCommand(c, "SCRIPT FLUSH"));
    assert_int_equal(store_msg_set(st, ID2, kv1, 2, &e), 0);
    assert_int_equal(store_local_len(st, &e), 2);
    redisFree(c);
    store_close(st);
}

/* Errors name the URL, the command and the key. */
static void test_redis_down_message(void **state)
{
    (void)state;
    if (!g_url[0])
        skip();
    store *st = NULL;
    err_t e = {0};
    assert_int_equal(store_open(g_url, "t9:", &st, &e), 0);
    store_local_rec a = rec(ID1, "waybill", "");
    int dup;
    assert_int_equal(store_local_accept(st, &a, 1, &dup, &e), 0);
    test_redis_stop(g_pid);
    int rc = store_local_accept(st, &a, 1, &dup, &e);
    assert_int_equal(rc, ERR_IO);
    char want[128];
    snprintf(want, sizeof want, "redis %s:", g_url);
    assert_non_null(strstr(e.msg, want));
    assert_int_equal(stu_redis_restart(g_url, &g_pid), 0);
    assert_int_equal(store_local_accept(st, &a, 1, &dup, &e), 0); /* reconnects */
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_dup_order),
        cmocka_unit_test(test_accept_refusals),
        cmocka_unit_test(test_done_trim_positions),
        cmocka_unit_test(test_msg_set_get),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_events_cap),
        cmocka_unit_test(test_lout),
        cmocka_unit_test(test_noscript),
        cmocka_unit_test(test_redis_down_message),
    };
    return cmocka_run_group_tests_name("gateway/store_local", tests,
                                       stu_group_setup, stu_group_teardown);
}
