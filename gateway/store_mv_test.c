/* Unit tests for the movement ledger's records (store_mv.c,
 * store_mv_query.c) against a private redis-server: applying with CAS
 * (dup, stale), a batch with two events of one movement, parking,
 * claims and indexes, lists and due times, submitting with claims
 * (conflict names the winner and writes nothing; a retry changes
 * nothing; the record delivered to the node itself), refusals (a
 * refused event leaves the park), alerts, the ledger's position and
 * reference sequences. Each test has its own
 * key prefix, so they share one server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store_int.h" /* SCRIPT FLUSH, as a restarted Redis */
#include "store_mv.h"
#include "store_test_util.h"

#define REF_A "26CQ0000000000001X"
#define REF_B "26CQ0000000000002X"
#define REF_C "26SN0000000000001X"

/* An op creating (expect_n 0) or advancing ref with event id. */
static store_mv_op op_of(const char *ref, const char *id, int64_t expect_n,
                         const char *phase)
{
    return (store_mv_op){.ref = ref, .id = id, .frame = id,
                         .frame_n = strlen(id), .expect_n = expect_n,
                         .state = phase, .state_n = strlen(phase),
                         .phase_new = phase, .declared_ms = 1000};
}

static store_mv_res apply1(store *st, store_mv_op op)
{
    store_mv_res res = STORE_MV_STALE;
    err_t e = {0};
    if (store_mv_apply(st, &op, 1, &res, &e) != 0)
        fail_msg("store_mv_apply: %s", e.msg);
    return res;
}

static store_mv_cur load1(store *st, const char *ref, const char *id,
                          const char *prev, buf_t *buf)
{
    store_mv_key k = {ref, id, prev};
    store_mv_cur c;
    err_t e = {0};
    if (store_mv_load(st, &k, 1, &c, buf, &e) != 0)
        fail_msg("store_mv_load: %s", e.msg);
    return c;
}

/* What the ref and frame callbacks deliver. */
typedef struct got {
    int n;
    char s[16][48];
    int64_t score[16];
} got;

static int got_ref(void *ctx, const char *ref, int64_t score, err_t *e)
{
    (void)e;
    got *g = ctx;
    assert_true(g->n < 16);
    snprintf(g->s[g->n], sizeof g->s[0], "%s", ref);
    g->score[g->n++] = score;
    return 0;
}

static int got_frame(void *ctx, const char *id, const void *frame, size_t n,
                     err_t *e)
{
    (void)e;
    got *g = ctx;
    assert_true(g->n < 16); /* longer values are cut to s[] */
    snprintf(g->s[g->n++], sizeof g->s[0], "%s=%.*s", id, (int)n,
             (const char *)frame);
    return 0;
}

static void test_apply_cas(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "m1:");
    err_t e = {0};
    buf_t buf;
    buf_init(&buf, 1024);
    store_mv_cur c = load1(st, REF_A, "E1", NULL, &buf);
    assert_false(c.found);
    assert_int_equal(c.n, 0);
    assert_true(c.has_prev); /* nothing asked, nothing missing */
    store_mv_op op = op_of(REF_A, "E1", 0, "declared");
    op.dep = "CQ";
    assert_int_equal(apply1(st, op), STORE_MV_APPLIED);
    assert_int_equal(apply1(st, op), STORE_MV_DUP);
    store_mv_op late = op_of(REF_A, "E2", 0, "released");
    assert_int_equal(apply1(st, late), STORE_MV_STALE);
    c = load1(st, REF_A, "E2", "E1", &buf);
    assert_true(c.found && !c.has_id && c.has_prev);
    assert_int_equal(c.n, 1);
    assert_memory_equal(c.state, "declared", c.state_n);
    late.expect_n = c.n;
    assert_int_equal(apply1(st, late), STORE_MV_APPLIED);
    got g = {0};
    assert_int_equal(store_mv_log(st, REF_A, got_frame, &g, &e), 2);
    assert_string_equal(g.s[0], "=E1");
    assert_string_equal(g.s[1], "=E2");
    buf_reset(&buf);
    assert_int_equal(store_mv_state(st, REF_A, &buf, &e), 0);
    assert_string_equal(buf.p, "released");
    assert_int_equal(store_mv_state(st, REF_B, &buf, &e), ERR_NOTFOUND);
    g.n = 0; /* moved from declared to released */
    assert_int_equal(store_mv_list(st, "declared", 10, got_ref, &g, &e), 0);
    assert_int_equal(store_mv_list(st, "released", 10, got_ref, &g, &e), 1);
    assert_int_equal(store_mv_list(st, NULL, 10, got_ref, &g, &e), 1);
    assert_int_equal(g.score[1], 1000); /* declared time */
    buf_free(&buf);
    store_close(st);
}

/* A batch holding two events of one movement: applied in order, each
 * against what the one before left; again: all duplicates. */
static void test_batch_two_events(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "m2:");
    err_t e = {0};
    store_mv_op ops[3] = {op_of(REF_A, "A1", 0, "declared"),
                          op_of(REF_A, "A2", 1, "cancelled"),
                          op_of(REF_B, "B1", 0, "declared")};
    ops[0].claimwait_op = 1, ops[1].claimwait_op = -1;
    ops[2].claimwait_op = 1;
    store_mv_res res[3];
    assert_int_equal(store_mv_apply(st, ops, 3, res, &e), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(res[i], STORE_MV_APPLIED);
    got g = {0};
    assert_int_equal(store_mv_due(st, "claimwait", 5000, 10, got_ref, &g, &e),
                     1);
    assert_string_equal(g.s[0], REF_B);
    assert_int_equal(store_mv_apply(st, ops, 3, res, &e), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(res[i], STORE_MV_DUP);
    buf_t buf;
    buf_init(&buf, 1024);
    store_mv_key k[2] = {{REF_A, "A3", "A2"}, {REF_B, "B1", "B0"}};
    store_mv_cur c[2];
    assert_int_equal(store_mv_load(st, k, 2, c, &buf, &e), 0);
    assert_int_equal(c[0].n, 2);
    assert_memory_equal(c[0].state, "cancelled", c[0].state_n);
    assert_true(c[0].has_prev && !c[0].has_id);
    assert_true(c[1].has_id && !c[1].has_prev);
    assert_memory_equal(c[1].state, "declared", c[1].state_n);
    buf_free(&buf);
    store_close(st);
}

static void test_park_unpark(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "m3:");
    err_t e = {0};
    got g = {0};
    assert_int_equal(store_mv_park(st, REF_A, "E2", "F2", 2, &e), 0);
    assert_int_equal(store_mv_park(st, REF_A, "E3", "F3", 2, &e), 0);
    assert_int_equal(store_mv_parked(st, REF_A, got_frame, &g, &e), 2);
    assert_int_equal(apply1(st, op_of(REF_A, "E1", 0, "declared")),
                     STORE_MV_APPLIED);
    store_mv_op op = op_of(REF_A, "E2", 1, "released");
    op.unpark = 1;
    assert_int_equal(apply1(st, op), STORE_MV_APPLIED);
    g.n = 0;
    assert_int_equal(store_mv_parked(st, REF_A, got_frame, &g, &e), 1);
    assert_string_equal(g.s[0], "E3=F3");
    /* parked again after it was applied: a duplicate still unparks */
    assert_int_equal(store_mv_park(st, REF_A, "E2", "F2", 2, &e), 0);
    assert_int_equal(apply1(st, op), STORE_MV_DUP);
    g.n = 0;
    assert_int_equal(store_mv_parked(st, REF_A, got_frame, &g, &e), 1);
    assert_int_equal(store_mv_park(st, "bad ref", "E", "F", 1, &e),
                     ERR_INVALID);
    store_close(st);
}

static void claim_submit(store *st, const char *id, const store_mv_claim *c,
                         int want)
{
    err_t e = {0};
    char winner[32] = "";
    int rc = store_mv_submit(st, id, id, strlen(id), NULL, 0, NULL, 0, 1, 2,
                             c, winner, &e);
    if (rc != want)
        fail_msg("store_mv_submit %s: %d, want %d: %s", id, rc, want, e.msg);
}

/* Claims: equal scores are in ref order; indexes; lists; due times. */
static void test_indexes(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "m4:");
    err_t e = {0};
    assert_int_equal(store_mv_node(st, "CQ", &e), 0);
    const char *k1[] = {"c:MSCU1234565"};
    store_mv_claim b = {REF_B, 100, k1, 1, 1}, a = {REF_A, 100, k1, 1, 1};
    claim_submit(st, "S1", &b, 0);
    /* REF_A's claim arrives on a link (same score): it sorts first */
    store_effect fx = {.msg_id = "S2", .origin = "SN",
        .digest = (const unsigned char *)"01234567890123456789012345678901",
        .frame = "F", .frame_n = 1, .seen_ttl_ms = 60000, .claim = &a};
    store_link_op lop = {{0, 0}, {1, 0}, &fx};
    store_link_result lr;
    assert_int_equal(store_link_apply(st, "SN", &lop, 1, &lr, &e), 0);
    got g = {0};
    assert_int_equal(store_mv_claims(st, "c:MSCU1234565", got_ref, &g, &e), 2);
    assert_string_equal(g.s[0], REF_A);
    assert_string_equal(g.s[1], REF_B);
    assert_int_equal(g.score[1], 100);
    const char *idx[] = {"c:MSCU1234565", "d:BL:X 1"};
    store_mv_op op = op_of(REF_C, "C1", 0, "declared");
    op.idx = idx, op.nidx = 2;
    store_mv_res res;
    assert_int_equal(store_mv_apply(st, &op, 1, &res, &e), ERR_INVALID);
    idx[1] = "d:BL:X1";
    op.limit_op = 1, op.limit_ms = 700;
    assert_int_equal(apply1(st, op), STORE_MV_APPLIED);
    store_mv_op o2 = op_of(REF_A, "A1", 0, "declared");
    o2.idx = idx, o2.nidx = 1, o2.limit_op = 1, o2.limit_ms = 500;
    o2.declared_ms = 900;
    assert_int_equal(apply1(st, o2), STORE_MV_APPLIED);
    g.n = 0;
    assert_int_equal(store_mv_index(st, "c:MSCU1234565", got_ref, &g, &e), 2);
    assert_string_equal(g.s[0], REF_A);
    assert_string_equal(g.s[1], REF_C);
    g.n = 0;
    assert_int_equal(store_mv_index(st, "d:BL:X1", got_ref, &g, &e), 1);
    g.n = 0; /* by declared time: REF_A (900) before REF_C (1000) */
    assert_int_equal(store_mv_list(st, NULL, 10, got_ref, &g, &e), 2);
    assert_string_equal(g.s[0], REF_A);
    g.n = 0;
    assert_int_equal(store_mv_list(st, "declared", 1, got_ref, &g, &e), 1);
    assert_string_equal(g.s[0], REF_A);
    g.n = 0; /* limit: due up to 600 is only REF_A; earliest first */
    assert_int_equal(store_mv_due(st, "limit", 600, 10, got_ref, &g, &e), 1);
    assert_int_equal(store_mv_due(st, "limit", 800, 10, got_ref, &g, &e), 2);
    assert_string_equal(g.s[1], REF_A);
    assert_int_equal(g.score[2], 700);
    store_mv_op o3 = op_of(REF_A, "A2", 1, "arrived");
    o3.limit_op = -1;
    assert_int_equal(apply1(st, o3), STORE_MV_APPLIED);
    assert_int_equal(store_mv_due(st, "limit", 800, 10, got_ref, &g, &e), 1);
    assert_int_equal(store_mv_due(st, "other", 800, 10, got_ref, &g, &e),
                     ERR_INVALID);
    store_close(st);
}

static int64_t count_of(store *st, const char *verb, const char *name)
{
    char key[ST_KEY_MAX];
    err_t e = {0};
    snprintf(key, sizeof key, "%sv1:%s", st->prefix, name);
    return st_count(st, verb, key, &e);
}

/* A claim held by another ref: refused naming it, nothing written. */
static void test_submit_conflict(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "m5:");
    err_t e = {0};
    char winner[32] = "";
    const char *hops[] = {"SC"}, *dests[] = {"SH", "SN"};
    const char *k1[] = {"c:MSCU1234565"}, *k2[] = {"d:BL:B7", "c:MSCU1234565"};
    store_mv_claim a = {REF_A, 100, k1, 1, 1}, b = {REF_B, 50, k2, 2, 1};
    assert_int_equal(store_mv_submit(st, "M1", "F", 1, hops, 1, dests, 2, 1,
                                     2, &a, winner, &e), ERR_USAGE);
    assert_int_equal(store_mv_node(st, "CQ", &e), 0);
    assert_int_equal(store_mv_node(st, "c q", &e), ERR_INVALID);
    assert_int_equal(store_mv_submit(st, "M1", "F", 1, hops, 1, dests, 2, 1,
                                     2, &a, winner, &e), 0);
    assert_int_equal(store_mv_submit(st, "M2", "G", 1, hops, 1, dests, 2, 1,
                                     2, &b, winner, &e), ERR_CONFLICT);
    assert_string_equal(winner, REF_A);
    assert_string_equal(e.msg, "container MSCU1234565 is already declared as "
                        "movement " REF_A);
    assert_int_equal(stu_outbox_count(st, "SC"), 1);
    assert_int_equal(count_of(st, "XLEN", "mvin"), 1);
    assert_int_equal(store_await_len(st, &e), 1);
    assert_int_equal(count_of(st, "ZCARD", "claim:d:BL:B7"), 0);
    /* the same document conflict is worded as a document */
    const char *k3[] = {"d:BL:B7"}, *k4[] = {"d:BL:B7"};
    store_mv_claim c = {REF_C, 10, k3, 1, 1}, d = {REF_B, 5, k4, 1, 1};
    assert_int_equal(store_mv_submit(st, "M3", "H", 1, NULL, 0, NULL, 0, 1, 2,
                                     &c, winner, &e), 0);
    assert_int_equal(store_mv_submit(st, "M4", "I", 1, NULL, 0, NULL, 0, 1, 2,
                                     &d, winner, &e), ERR_CONFLICT);
    assert_string_equal(e.msg, "document BL B7 is already declared as "
                        "movement " REF_C);
    /* the claim ends (ZREM): the key is free again */
    c.add = 0;
    assert_int_equal(store_mv_submit(st, "M5", "J", 1, NULL, 0, NULL, 0, 1, 2,
                                     &c, winner, &e), 0);
    assert_int_equal(store_mv_submit(st, "M4", "I", 1, NULL, 0, NULL, 0, 1, 2,
                                     &d, winner, &e), 0);
    const char *bad[] = {"x:1"};
    store_mv_claim z = {REF_B, 5, bad, 1, 1};
    assert_int_equal(store_mv_submit(st, "M6", "K", 1, NULL, 0, NULL, 0, 1, 2,
                                     &z, winner, &e), ERR_INVALID);
    store_close(st);
}

/* A retried submit changes nothing; the node's own record in v1:mvin reads
 * like a received one. */
static void test_submit_idempotent(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "m6:");
    err_t e = {0};
    const char *hops[] = {"SC", "SC"}, *dests[] = {"SH", "SN"};
    const char *k1[] = {"c:MSCU1234565"};
    store_mv_claim a = {REF_A, 100, k1, 1, 1};
    assert_int_equal(store_mv_node(st, "CQ", &e), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(store_mv_submit(st, "M1", "FRAME", 5, hops, 2, dests,
                                         2, 1, 2, &a, NULL, &e), i);
        assert_int_equal(stu_outbox_count(st, "SC"), 1);
        assert_int_equal(count_of(st, "XLEN", "mvin"), 1);
        assert_int_equal(store_await_len(st, &e), 1);
    }
    /* only for the node itself (no destination): no sent:, still once */
    for (int i = 0; i < 2; i++)
        claim_submit(st, "M2", NULL, i);
    assert_int_equal(count_of(st, "XLEN", "mvin"), 2);
    assert_int_equal(store_await_len(st, &e), 1);
    stu_seen *s = calloc(1, sizeof *s);
    assert_int_equal(store_mvin_after(st, (store_pos){0, 0}, 10, stu_in_entry,
                                    s, &e), 2);
    assert_string_equal(s->id[0], "M1");
    assert_string_equal(s->origin[0], "CQ");
    assert_string_equal(s->frame[0], "FRAME");
    assert_string_equal(s->id[1], "M2");
    free(s);
    assert_int_equal(store_mv_submit(st, "M3", "F", 1, hops, 1, NULL, 0, 1, 2,
                                     NULL, NULL, &e), ERR_INVALID);
    store_close(st);
}

typedef struct dl { int n; char reason[4][40], where[4][80]; } dl;

static int dl_keep(void *ctx, const store_dlq_entry *d, err_t *e)
{
    (void)e;
    dl *l = ctx;
    assert_true(l->n < 4);
    snprintf(l->reason[l->n], 40, "%s", d->reason);
    snprintf(l->where[l->n++], 80, "%s", d->where);
    return 0;
}

static int kv_keep(void *ctx, const char *id, const char *msg, err_t *e)
{
    return got_frame(ctx, id, msg, strlen(msg), e);
}

static void test_refusal(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "m7:");
    err_t e = {0};
    buf_t why;
    buf_init(&why, 256);
    const char *msg = REF_A " released by SN: not the departure";
    assert_int_equal(store_mv_outcome(st, REF_A, "E2", &why, &e), 0);
    for (int i = 0; i < 2; i++) /* once: the dead letter does not double */
        assert_int_equal(store_mv_refuse(st, REF_A, "E2", msg, "F", 1, &e), i);
    assert_int_equal(store_mv_outcome(st, REF_A, "E2", &why, &e), 2);
    assert_string_equal(why.p, msg);
    dl l = {0};
    assert_int_equal(store_dlq_list(st, 4, dl_keep, &l, &e), 1);
    assert_string_equal(l.reason[0], "ledger-refused");
    assert_string_equal(l.where[0], msg);
    got g = {0};
    assert_int_equal(store_mv_refusals(st, REF_A, kv_keep, &g, &e), 1);
    assert_int_equal(strncmp(g.s[0], "E2=" REF_A, 21), 0);
    assert_int_equal(apply1(st, op_of(REF_A, "E1", 0, "declared")),
                     STORE_MV_APPLIED);
    assert_int_equal(store_mv_outcome(st, REF_A, "E1", NULL, &e), 1);
    assert_int_equal(store_mv_refuse(st, REF_A, "E3", "", "F", 1, &e),
                     ERR_INVALID);
    buf_free(&why);
    store_close(st);
}

/* A parked event refused once its prev came leaves the park (it would
 * be decided again every time the movement moves); the others stay, and
 * a refusal recorded before still takes a parked copy out. */
static void test_refusal_unparks(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "mr:");
    err_t e = {0};
    got g = {0};
    assert_int_equal(store_mv_park(st, REF_A, "E2", "F2", 2, &e), 0);
    assert_int_equal(store_mv_park(st, REF_A, "E3", "F3", 2, &e), 0);
    assert_int_equal(store_mv_refuse(st, REF_A, "E2", "no", "F2", 2, &e), 0);
    assert_int_equal(store_mv_parked(st, REF_A, got_frame, &g, &e), 1);
    assert_string_equal(g.s[0], "E3=F3");
    assert_int_equal(store_mv_park(st, REF_A, "E2", "F2", 2, &e), 0);
    assert_int_equal(store_mv_refuse(st, REF_A, "E2", "no", "F2", 2, &e), 1);
    g.n = 0;
    assert_int_equal(store_mv_parked(st, REF_A, got_frame, &g, &e), 1);
    assert_string_equal(g.s[0], "E3=F3");
    dl l = {0};
    assert_int_equal(store_dlq_list(st, 4, dl_keep, &l, &e), 1);
    /* another movement's park is not touched */
    assert_int_equal(store_mv_park(st, REF_B, "E2", "F2", 2, &e), 0);
    assert_int_equal(store_mv_refuse(st, REF_A, "E2", "no", "F2", 2, &e), 1);
    g.n = 0;
    assert_int_equal(store_mv_parked(st, REF_B, got_frame, &g, &e), 1);
    store_close(st);
}

typedef struct al { int n; char kind[4][24], ref[4][24], msg[4][24]; } al;

static int al_keep(void *ctx, const char *id, const char *kind,
                   const char *ref, const char *region, const char *msg,
                   int64_t at, err_t *e)
{
    (void)e, (void)id;
    al *a = ctx;
    assert_true(a->n < 4 && at > 0 && region[0]);
    snprintf(a->kind[a->n], 24, "%s", kind);
    snprintf(a->ref[a->n], 24, "%s", ref);
    snprintf(a->msg[a->n++], 24, "%s", msg);
    return 0;
}

static void test_alerts(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "m8:");
    err_t e = {0};
    assert_int_equal(store_alert_add(st, "node-down", "", "SN", "one", &e), 0);
    assert_int_equal(store_alert_add(st, "discrepancy", REF_A, "SH", "two",
                                     &e), 0);
    assert_int_equal(store_alert_add(st, "movement-overdue", REF_B, "CN",
                                     "three", &e), 0);
    assert_int_equal(store_alert_add(st, "bad kind", "", "CN", "x", &e),
                     ERR_INVALID);
    al a = {0};
    assert_int_equal(store_alert_list(st, 2, al_keep, &a, &e), 2);
    assert_string_equal(a.kind[0], "movement-overdue"); /* newest first */
    assert_string_equal(a.ref[1], REF_A);
    assert_string_equal(a.msg[1], "two");
    store_close(st);
}

static void test_pos_and_seq(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "m9:");
    err_t e = {0};
    store_pos p = {9, 9};
    assert_int_equal(store_ledger_pos_get(st, &p, &e), 0);
    assert_true(p.ms == 0 && p.seq == 0);
    assert_int_equal(store_ledger_pos_set(st, (store_pos){UINT64_MAX, 3}, &e),
                     0);
    assert_int_equal(store_ledger_pos_get(st, &p, &e), 0);
    assert_true(p.ms == UINT64_MAX && p.seq == 3);
    uint64_t first = 0;
    assert_int_equal(store_mv_next_seq(st, 26, 5, &first, &e), 0);
    assert_int_equal(first, 1);
    assert_int_equal(store_mv_next_seq(st, 26, 1, &first, &e), 0);
    assert_int_equal(first, 6);
    assert_int_equal(store_mv_next_seq(st, 27, 1, &first, &e), 0);
    assert_int_equal(first, 1); /* each year its own sequence */
    assert_int_equal(store_mv_next_seq(st, 100, 1, &first, &e), ERR_INVALID);
    assert_int_equal(store_mv_next_seq(st, 26, 0, &first, &e), ERR_INVALID);
    store_close(st);
}

/* Malformed ops refuse the batch before anything is sent; a lost script
 * cache is reloaded and the batch still applied once, in order. */
static void test_bad_ops_and_noscript(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "ma:");
    err_t e = {0};
    store_mv_op ops[2] = {op_of(REF_A, "A1", 0, "declared"),
                          op_of(REF_A, "A2", 1, "released")};
    store_mv_res res[2];
    ops[1].limit_op = 2;
    assert_int_equal(store_mv_apply(st, ops, 2, res, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "op 1"));
    ops[1].limit_op = 0, ops[1].id = "A:2";
    assert_int_equal(store_mv_apply(st, ops, 2, res, &e), ERR_INVALID);
    buf_t buf;
    buf_init(&buf, 64);
    assert_false(load1(st, REF_A, "A1", NULL, &buf).found);
    ops[1].id = "A2";
    store *other = stu_open(g_url, "mx:");
    st_args a = {0};
    st_arg_s(&a, "SCRIPT"), st_arg_s(&a, "FLUSH");
    redisReply *r;
    apply1(st, op_of(REF_B, "B1", 0, "declared")); /* loaded */
    assert_int_equal(st_cmd(other, &a, -1, &r, &e), 0);
    freeReplyObject(r);
    assert_int_equal(store_mv_apply(st, ops, 2, res, &e), 0);
    assert_int_equal(res[0], STORE_MV_APPLIED);
    assert_int_equal(res[1], STORE_MV_APPLIED);
    store_mv_key k = {"bad ref", "A1", NULL};
    store_mv_cur c;
    assert_int_equal(store_mv_load(st, &k, 1, &c, &buf, &e), ERR_INVALID);
    buf_free(&buf);
    store_close(other);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_cas),
        cmocka_unit_test(test_batch_two_events),
        cmocka_unit_test(test_park_unpark),
        cmocka_unit_test(test_indexes),
        cmocka_unit_test(test_submit_conflict),
        cmocka_unit_test(test_submit_idempotent),
        cmocka_unit_test(test_refusal),
        cmocka_unit_test(test_refusal_unparks),
        cmocka_unit_test(test_alerts),
        cmocka_unit_test(test_pos_and_seq),
        cmocka_unit_test(test_bad_ops_and_noscript),
    };
    return cmocka_run_group_tests(tests, stu_group_setup, stu_group_teardown);
}
