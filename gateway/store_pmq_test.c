/* Unit tests for the requesting side of permit operations (store_pmq.c)
 * against a private redis-server: queueing once per request id, reading
 * after a position, answers stored once (unknown request, mismatched
 * answer), the permit's newest answer by the home's time, waiting for
 * an answer (at once, woken, in vain), the waiting list, a movement's
 * permit gate, delivered envelopes, a lost script cache, and batch after
 * full batch of answers. Each test has its
 * own key prefix, so they share one server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store_int.h" /* SCRIPT FLUSH, as a restarted Redis */
#include "store_pmq.h"
#include "store_test_util.h"

#define PERMIT "CQ-26AIL000123"
/* request ids are message ids (the wire's "id") */
#define R1 "01ARYZ6S4100000000000000R1"
#define R2 "01ARYZ6S4100000000000000R2"
#define R3 "01ARYZ6S4100000000000000R3"
#define R4 "01ARYZ6S4100000000000000R4"
#define R5 "01ARYZ6S4100000000000000R5"
#define R7 "01ARYZ6S4100000000000000R7"
#define R9 "01ARYZ6S4100000000000000R9"
#define PERMIT2 "CQ-26AIL000124"
#define REF_A "26CQ0000000000001X"

/* A reserve of 1 unit of line 1 under key, at at_ms. */
static pm_req req_of(const char *permit, const char *key, uint64_t at_ms)
{
    pm_req q = {.op = PM_OP_RESERVE, .permit = permit, .key = key,
                .nlines = 1, .at_ms = at_ms};
    q.lines[0] = (pm_amount){.line = 1, .qty = 1000};
    return q;
}

static void add1(store *st, const char *rid, const char *permit,
                 const char *for_ref, int64_t at, int want)
{
    err_t e = {0};
    pm_req q = req_of(permit, "K-1", (uint64_t)at);
    int rc = store_pmq_add(st, rid, &q, for_ref, at, &e);
    if (rc != want)
        fail_msg("store_pmq_add %s: %d, want %d: %s", rid, rc, want, e.msg);
}

/* An answer to rid about permit, decided at at_ms; payload "A:<rid>". */
typedef struct ans1 {
    pm_ans ans;
    char payload[80];
    store_pmq_ans a;
} ans1;

static void ans_of(ans1 *x, const char *rid, const char *permit,
                   pm_code code, uint64_t at_ms)
{
    x->ans = (pm_ans){.req = rid, .op = PM_OP_RESERVE, .permit = permit,
                      .key = "K-1", .code = code, .rsv = "reserved",
                      .at_ms = at_ms};
    snprintf(x->payload, sizeof x->payload, "A:%s", rid);
    x->a = (store_pmq_ans){.rid = rid, .ans = &x->ans, .payload = x->payload,
                           .payload_n = strlen(x->payload), .frame = "F",
                           .frame_n = 1, .frame_id = "FID"};
}

static store_pmq_res answer1(store *st, ans1 *x)
{
    store_pmq_res res;
    err_t e = {0};
    if (store_pmq_answer_many(st, &x->a, 1, &res, &e) != 0)
        fail_msg("store_pmq_answer_many: %s", e.msg);
    return res;
}

/* What the rid, request and gate callbacks deliver. */
typedef struct got {
    int n;
    char s[16][80];
    int64_t at[16];
    store_pos pos[16];
} got;

static int got_rid(void *ctx, const char *rid, int64_t at_ms, err_t *e)
{
    (void)e;
    got *g = ctx;
    assert_true(g->n < 16);
    snprintf(g->s[g->n], sizeof g->s[0], "%s", rid);
    g->at[g->n++] = at_ms;
    return 0;
}

static int got_req(void *ctx, store_pos pos, const char *rid, const void *q,
                   size_t n, err_t *e)
{
    (void)e;
    got *g = ctx;
    assert_true(g->n < 16 && n > 0);
    arena_t a;
    arena_init(&a, 4096);
    pm_req r;
    err_t de = {0};
    if (pm_req_decode(q, n, &a, &r, &de) == 0) /* the payload is q's */
        assert_string_equal(r.permit, PERMIT);
    arena_free(&a);
    snprintf(g->s[g->n], sizeof g->s[0], "%s", rid);
    g->pos[g->n++] = pos;
    return 0;
}

static int got_gate(void *ctx, const char *permit, const char *state,
                    err_t *e)
{
    (void)e;
    got *g = ctx;
    assert_true(g->n < 16);
    snprintf(g->s[g->n++], sizeof g->s[0], "%s=%s", permit, state);
    return 0;
}

static void test_add_once(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "q1:");
    err_t e = {0};
    add1(st, R1, PERMIT, REF_A, 1700000000123, 0);
    add1(st, R1, PERMIT, NULL, 2000, 1); /* nothing written */
    store_pmq_view v;
    assert_int_equal(store_pmq_get(st, R1, &v, NULL, NULL, &e), 0);
    assert_string_equal(v.state, "queued");
    assert_string_equal(v.op, "reserve");
    assert_string_equal(v.permit, PERMIT);
    assert_string_equal(v.key, "K-1");
    assert_string_equal(v.for_ref, REF_A);
    assert_string_equal(v.code, "");
    assert_int_equal(v.at_ms, 1700000000123);
    redisContext *c = stu_raw();
    assert_int_equal(stu_int(c, "XLEN %s", "q1:v1:pmreq"), 1);
    redisReply *r = redisCommand(c, "HGET q1:v1:pmq:" R1 " v");
    assert_string_equal(r->str, "1");
    freeReplyObject(r);
    redisFree(c);
    assert_int_equal(store_pmq_waiting_len(st, &e), 1);
    got g = {0};
    assert_int_equal(store_pmq_by_permit(st, PERMIT, 10, got_rid, &g, &e), 1);
    assert_string_equal(g.s[0], R1);
    assert_int_equal(g.at[0], 1700000000123); /* a score: a double */
    pm_req q = req_of(PERMIT, "K-1", 1);
    assert_int_equal(store_pmq_add(st, "bad rid", &q, NULL, 1, &e),
                     ERR_INVALID);
    assert_int_equal(store_pmq_add(st, R2, &q, "bad ref", 1, &e),
                     ERR_INVALID);
    q.permit = "cq-lower";
    assert_int_equal(store_pmq_add(st, R3, &q, NULL, 1, &e), ERR_INVALID);
    assert_int_equal(store_pmq_get(st, R9, &v, NULL, NULL, &e),
                     ERR_NOTFOUND);
    store_close(st);
}

static void test_after_pos(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "q2:");
    err_t e = {0};
    store_pos p = {7, 7};
    assert_int_equal(store_pmq_pos_get(st, &p, &e), 0);
    assert_true(p.ms == 0 && p.seq == 0);
    add1(st, R1, PERMIT, NULL, 1, 0);
    add1(st, R2, PERMIT, NULL, 2, 0);
    add1(st, R3, PERMIT, NULL, 3, 0);
    got g = {0};
    assert_int_equal(store_pmq_after(st, p, 10, got_req, &g, &e), 3);
    assert_string_equal(g.s[0], R1);
    assert_string_equal(g.s[2], R3);
    assert_int_equal(store_pmq_pos_set(st, g.pos[0], &e), 0);
    assert_int_equal(store_pmq_pos_get(st, &p, &e), 0);
    assert_int_equal(store_pos_cmp(p, g.pos[0]), 0);
    got h = {0};
    assert_int_equal(store_pmq_after(st, p, 1, got_req, &h, &e), 1);
    assert_string_equal(h.s[0], R2);
    h.n = 0;
    assert_int_equal(store_pmq_after(st, g.pos[2], 10, got_req, &h, &e), 0);
    store_close(st);
}

static void test_answer_once(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "q3:");
    err_t e = {0};
    add1(st, R1, PERMIT, REF_A, 1000, 0);
    add1(st, R2, PERMIT, NULL, 1000, 0);
    ans1 x;
    ans_of(&x, R1, PERMIT, PM_C_OK, 5000);
    store_pmq_res res = answer1(st, &x);
    assert_int_equal(res.rc, 0);
    assert_string_equal(res.for_ref, REF_A);
    assert_int_equal(answer1(st, &x).rc, 1);
    ans_of(&x, R2, PERMIT, PM_C_OK, 5000);
    assert_string_equal(answer1(st, &x).for_ref, "");
    ans_of(&x, R7, PERMIT, PM_C_OK, 5000);
    assert_int_equal(answer1(st, &x).rc, ERR_NOTFOUND);
    ans_of(&x, "no such/rid", PERMIT, PM_C_OK, 5000);
    assert_int_equal(answer1(st, &x).rc, ERR_NOTFOUND);
    buf_t ans, frame;
    buf_init(&ans, 1024), buf_init(&frame, 1024);
    store_pmq_view v;
    assert_int_equal(store_pmq_get(st, R1, &v, &ans, &frame, &e), 0);
    assert_string_equal(v.state, "answered");
    assert_string_equal(v.code, "ok");
    assert_true(v.done_ms > 0);
    assert_string_equal(ans.p, "A:" R1);
    assert_string_equal(frame.p, "F");
    redisContext *c = stu_raw();
    long long ttl = stu_int(c, "PTTL %s", "q3:v1:pmq:" R1);
    assert_true(ttl > STORE_PMQ_KEEP_MS - 60000 && ttl <= STORE_PMQ_KEEP_MS);
    ttl = stu_int(c, "PTTL %s", "q3:v1:pmdone:" R1);
    assert_true(ttl > 0 && ttl <= STORE_PMQ_DONE_TTL_MS);
    redisFree(c);
    buf_free(&ans), buf_free(&frame);
    store_close(st);
}

/* Answers out of one batch envelope name it; it is stored once, and
 * each answer reads it back. */
static void test_answer_batch_frame(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "q9:");
    err_t e = {0};
    ans1 x[3];
    store_pmq_ans a[3];
    store_pmq_res res[3];
    const char *rid[3] = {R1, R2, R3};
    for (int i = 0; i < 3; i++) {
        add1(st, rid[i], PERMIT, NULL, 1000, 0);
        ans_of(&x[i], rid[i], PERMIT, PM_C_OK, 5000);
        a[i] = x[i].a;
        a[i].frame = "BATCH", a[i].frame_n = 5, a[i].frame_id = "B1";
    }
    assert_int_equal(store_pmq_answer_many(st, a, 3, res, &e), 0);
    buf_t frame;
    buf_init(&frame, 1024);
    for (int i = 0; i < 3; i++) {
        store_pmq_view v;
        assert_int_equal(res[i].rc, 0);
        frame.len = 0;
        assert_int_equal(store_pmq_get(st, rid[i], &v, NULL, &frame, &e), 0);
        assert_int_equal(frame.len, 5);
        assert_memory_equal(frame.p, "BATCH", 5);
    }
    redisContext *c = stu_raw();
    assert_int_equal(stu_int(c, "HSTRLEN %s af", "q9:v1:pmq:" R2), 2);
    long long ttl = stu_int(c, "PTTL %s", "q9:v1:pmf:B1");
    assert_true(ttl > STORE_PMQ_KEEP_MS - 60000 && ttl <= STORE_PMQ_KEEP_MS);
    redisFree(c);
    a[0].frame_id = NULL; /* a frame without its id: refused */
    assert_int_equal(store_pmq_answer_many(st, a, 1, res, &e), ERR_INVALID);
    buf_free(&frame);
    store_close(st);
}

/* An answer naming another permit, operation or key stores nothing. */
static void test_answer_conflict(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "q4:");
    err_t e = {0};
    add1(st, R1, PERMIT, NULL, 1000, 0);
    ans1 x[3];
    ans_of(&x[0], R1, PERMIT2, PM_C_OK, 5000);
    ans_of(&x[1], R1, PERMIT, PM_C_OK, 5000);
    x[1].ans.op = PM_OP_CONFIRM;
    ans_of(&x[2], R1, PERMIT, PM_C_OK, 5000);
    x[2].ans.key = "K-2";
    store_pmq_ans a[3] = {x[0].a, x[1].a, x[2].a};
    store_pmq_res res[3];
    assert_int_equal(store_pmq_answer_many(st, a, 3, res, &e), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(res[i].rc, ERR_CONFLICT);
    assert_non_null(strstr(res[0].msg, "permit \"" PERMIT2 "\""));
    assert_non_null(strstr(res[0].msg, "the request \"" PERMIT "\""));
    assert_non_null(strstr(res[1].msg, "op \"confirm\""));
    assert_non_null(strstr(res[2].msg, "key \"K-2\""));
    store_pmq_view v;
    assert_int_equal(store_pmq_get(st, R1, &v, NULL, NULL, &e), 0);
    assert_string_equal(v.state, "queued");
    assert_int_equal(store_pmq_waiting_len(st, &e), 1);
    a[0].rid = R2; /* not ans->req: the caller's mistake */
    assert_int_equal(store_pmq_answer_many(st, a, 1, res, &e), ERR_INVALID);
    store_close(st);
}

static void cached_is(store *st, const char *permit, const char *want)
{
    buf_t ans;
    buf_init(&ans, 1024);
    err_t e = {0};
    if (store_pmq_cached(st, permit, &ans, NULL, &e) != 0)
        fail_msg("store_pmq_cached: %s", e.msg);
    assert_string_equal(ans.p, want);
    buf_free(&ans);
}

/* The newest by the home's time stays, whatever order answers come in;
 * this node's own verdicts (home-unreachable) leave it as it was. */
static void test_cache_newest(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "q5:");
    err_t e = {0};
    buf_t ans;
    buf_init(&ans, 64);
    assert_int_equal(store_pmq_cached(st, PERMIT, &ans, NULL, &e),
                     ERR_NOTFOUND);
    for (int i = 1; i <= 4; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "01ARYZ6S4100000000000000R%d", i);
        add1(st, rid, PERMIT, NULL, i, 0);
    }
    ans1 x;
    ans_of(&x, R2, PERMIT, PM_C_OK, 99999); /* 5 digits: not by bytes */
    assert_int_equal(answer1(st, &x).rc, 0);
    ans_of(&x, R1, PERMIT, PM_C_INSUFFICIENT, 10000);
    assert_int_equal(answer1(st, &x).rc, 0);
    cached_is(st, PERMIT, "A:" R2);
    ans_of(&x, R4, PERMIT, PM_C_UNREACHABLE, 200000);
    assert_int_equal(answer1(st, &x).rc, 0);
    cached_is(st, PERMIT, "A:" R2);
    ans_of(&x, R3, PERMIT, PM_C_REVOKED, 100000);
    assert_int_equal(answer1(st, &x).rc, 0);
    cached_is(st, PERMIT, "A:" R3);
    redisContext *c = stu_raw();
    redisReply *r = redisCommand(c, "HMGET q5:v1:pmc:" PERMIT " code at rid");
    assert_string_equal(r->element[0]->str, "revoked");
    assert_string_equal(r->element[1]->str, "100000");
    assert_string_equal(r->element[2]->str, R3);
    freeReplyObject(r);
    redisFree(c);
    assert_int_equal(store_pmq_cached(st, "bad", &ans, NULL, &e),
                     ERR_INVALID);
    buf_free(&ans);
    store_close(st);
}

static int64_t ms_since(int64_t t0) { return st_now_ms() - t0; }

/* Another process answers R3 after 100 ms. */
static pid_t answer_later(const char *prefix)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid)
        return pid;
    nanosleep(&(struct timespec){0, 100000000}, NULL);
    store *st = NULL;
    err_t e = {0};
    ans1 x;
    ans_of(&x, R3, PERMIT, PM_C_OK, 1);
    store_pmq_res res;
    int rc = store_open(g_url, prefix, &st, &e);
    if (rc == 0)
        rc = store_pmq_answer_many(st, &x.a, 1, &res, &e);
    store_close(st);
    _exit(rc == 0 && res.rc == 0 ? 0 : 1);
}

static void test_wait(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "q6:");
    err_t e = {0};
    add1(st, R1, PERMIT, NULL, 1, 0);
    add1(st, R2, PERMIT, NULL, 1, 0);
    add1(st, R3, PERMIT, NULL, 1, 0);
    ans1 x;
    ans_of(&x, R1, PERMIT, PM_C_OK, 1);
    assert_int_equal(answer1(st, &x).rc, 0);
    int64_t t0 = st_now_ms();
    assert_int_equal(store_pmq_wait(st, R1, 5000, &e), 0);
    assert_int_equal(store_pmq_wait(st, R1, 5000, &e), 0); /* again */
    assert_true(ms_since(t0) < 1000);
    t0 = st_now_ms();
    assert_int_equal(store_pmq_wait(st, R2, 150, &e), ERR_AGAIN);
    assert_true(ms_since(t0) >= 140 && ms_since(t0) < 2000);
    assert_int_equal(store_pmq_wait(st, R2, 0, &e), ERR_AGAIN);
    assert_int_equal(store_pmq_wait(st, R9, 100, &e), ERR_NOTFOUND);
    assert_int_equal(store_set_timeout(st, 50, &e), 0); /* BLPOP outlasts */
    pid_t pid = answer_later("q6:");
    t0 = st_now_ms();
    assert_int_equal(store_pmq_wait(st, R3, 10000, &e), 0);
    assert_true(ms_since(t0) < 5000);
    int status = -1;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    store_close(st);
}

static void test_waiting(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "q7:");
    err_t e = {0};
    const char *rid[5] = {R1, R2, R3, R4, R5};
    for (int i = 0; i < 5; i++)
        add1(st, rid[i], i % 2 ? PERMIT2 : PERMIT, NULL, 100 * (i + 1), 0);
    got g = {0};
    assert_int_equal(store_pmq_waiting(st, 300, 10, got_rid, &g, &e), 2);
    assert_string_equal(g.s[1], R2);
    assert_int_equal(g.at[1], 200);
    ans1 x;
    for (int i = 0; i < 5; i += 2) {
        ans_of(&x, rid[i], PERMIT, PM_C_OK, 1);
        assert_int_equal(answer1(st, &x).rc, 0);
        assert_int_equal(store_pmq_waiting_len(st, &e), 4 - i / 2);
    }
    g.n = 0;
    assert_int_equal(store_pmq_waiting(st, 1000, 10, got_rid, &g, &e), 2);
    assert_string_equal(g.s[0], R2);
    assert_string_equal(g.s[1], R4);
    g.n = 0;
    assert_int_equal(store_pmq_waiting(st, 1000, 1, got_rid, &g, &e), 1);
    g.n = 0;
    assert_int_equal(store_pmq_by_permit(st, PERMIT2, 10, got_rid, &g, &e),
                     2);
    assert_string_equal(g.s[1], R4);
    store_close(st);
}

static void test_gate(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "q8:");
    err_t e = {0};
    got g = {0};
    assert_int_equal(store_pmq_gate_get(st, REF_A, got_gate, &g, &e), 0);
    const char *p2[2] = {PERMIT, PERMIT2}, *p3[3] = {PERMIT, PERMIT2,
                                                      "SN-9"};
    assert_int_equal(store_pmq_gate_open(st, REF_A, p2, 2, &e), 0);
    assert_int_equal(store_pmq_gate_set(st, REF_A, PERMIT, "reserved", &e),
                     0);
    assert_int_equal(store_pmq_gate_set(st, REF_A, PERMIT2,
                                        "refused revoked: by the issuer", &e),
                     0);
    assert_int_equal(store_pmq_gate_open(st, REF_A, p3, 3, &e), 0);
    assert_int_equal(store_pmq_gate_get(st, REF_A, got_gate, &g, &e), 3);
    assert_string_equal(g.s[0], PERMIT "=reserved");
    assert_string_equal(g.s[1], PERMIT2 "=refused revoked: by the issuer");
    assert_string_equal(g.s[2], "SN-9=pending");
    const char *bad[2] = {PERMIT, "sn-9"};
    assert_int_equal(store_pmq_gate_open(st, REF_A, bad, 2, &e), ERR_INVALID);
    assert_int_equal(store_pmq_gate_open(st, "bad ref", p2, 2, &e),
                     ERR_INVALID);
    assert_int_equal(store_pmq_gate_set(st, REF_A, PERMIT, "", &e),
                     ERR_INVALID);
    g.n = 0;
    assert_int_equal(store_pmq_gate_get(st, REF_A, got_gate, &g, &e), 3);
    store_close(st);
}

static void test_pmin(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "q9:");
    err_t e = {0};
    store_pos p = {1, 1};
    assert_int_equal(store_pmin_pos_get(st, &p, &e), 0);
    assert_true(p.ms == 0 && p.seq == 0);
    assert_int_equal(store_pmin_add(st, "M1", "CQ", "frame1", 6, &e), 0);
    assert_int_equal(store_pmin_add(st, "M2", "SN", "frame2", 6, &e), 0);
    assert_int_equal(store_pmin_add(st, "M3", "", "f", 1, &e), ERR_INVALID);
    stu_seen *s = calloc(1, sizeof *s);
    assert_int_equal(store_pmin_after(st, p, 10, stu_in_entry, s, &e), 2);
    assert_string_equal(s->id[1], "M2");
    assert_string_equal(s->origin[1], "SN");
    assert_string_equal(s->frame[1], "frame2");
    assert_int_equal(store_pmin_pos_set(st, s->pos[0], &e), 0);
    assert_int_equal(store_pmin_pos_get(st, &p, &e), 0);
    assert_int_equal(store_pos_cmp(p, s->pos[0]), 0);
    s->n = 0;
    assert_int_equal(store_pmin_after(st, p, 10, stu_in_entry, s, &e), 1);
    assert_string_equal(s->id[0], "M2");
    free(s);
    store_close(st);
}

/* Redis lost its scripts (a restart) between two batches. */
static void test_noscript(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "qa:");
    err_t e = {0};
    add1(st, R1, PERMIT, NULL, 1, 0);
    add1(st, R2, PERMIT, NULL, 1, 0);
    ans1 x[2];
    ans_of(&x[0], R1, PERMIT, PM_C_OK, 1);
    ans_of(&x[1], R2, PERMIT, PM_C_OK, 2);
    assert_int_equal(answer1(st, &x[0]).rc, 0);
    st_args a = {0};
    st_arg_s(&a, "SCRIPT"), st_arg_s(&a, "FLUSH");
    redisReply *r;
    assert_int_equal(st_cmd(st, &a, -1, &r, &e), 0);
    freeReplyObject(r);
    store_pmq_ans b[2] = {x[0].a, x[1].a};
    store_pmq_res res[2];
    assert_int_equal(store_pmq_answer_many(st, b, 2, res, &e), 0);
    assert_int_equal(res[0].rc, 1);
    assert_int_equal(res[1].rc, 0);
    assert_int_equal(st_cmd(st, &a, -1, &r, &e), 0);
    freeReplyObject(r);
    add1(st, R3, PERMIT, NULL, 1, 0);
    store_close(st);
}

#define RATE_N 2048

/* Full batches of STORE_PMQ_BATCH one after another, about two permits:
 * every answer stored, nothing left waiting, the newest cached (speed
 * is the benchmark's, tests/bench/permits.py). */
static void test_answer_batches(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "qb:");
    err_t e = {0};
    ans1 *x = calloc(RATE_N, sizeof *x);
    char(*rid)[32] = calloc(RATE_N, sizeof *rid);
    store_pmq_ans *a = calloc(RATE_N, sizeof *a);
    store_pmq_res *res = calloc(STORE_PMQ_BATCH, sizeof *res);
    for (int i = 0; i < RATE_N; i++) {
        snprintf(rid[i], sizeof rid[i], "01ARYZ6S41000000000R%06d", i);
        add1(st, rid[i], i % 2 ? PERMIT : PERMIT2, REF_A, 1, 0);
        ans_of(&x[i], rid[i], i % 2 ? PERMIT : PERMIT2, PM_C_OK,
               (uint64_t)i);
        a[i] = x[i].a;
    }
    for (int i = 0; i < RATE_N; i += STORE_PMQ_BATCH) {
        assert_int_equal(store_pmq_answer_many(st, a + i, STORE_PMQ_BATCH,
                                               res, &e), 0);
        for (int k = 0; k < STORE_PMQ_BATCH; k++)
            assert_int_equal(res[k].rc, 0);
    }
    assert_int_equal(store_pmq_waiting_len(st, &e), 0);
    cached_is(st, PERMIT, "A:01ARYZ6S41000000000R002047");
    cached_is(st, PERMIT2, "A:01ARYZ6S41000000000R002046");
    free(x), free(rid), free(a), free(res);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_once),
        cmocka_unit_test(test_after_pos),
        cmocka_unit_test(test_answer_once),
        cmocka_unit_test(test_answer_batch_frame),
        cmocka_unit_test(test_answer_conflict),
        cmocka_unit_test(test_cache_newest),
        cmocka_unit_test(test_wait),
        cmocka_unit_test(test_waiting),
        cmocka_unit_test(test_gate),
        cmocka_unit_test(test_pmin),
        cmocka_unit_test(test_noscript),
        cmocka_unit_test(test_answer_batches),
    };
    return cmocka_run_group_tests(tests, stu_group_setup, stu_group_teardown);
}
