/* ledger_query tests: a movement CQ>SH signed with a real federation
 * certificate (tests/pki_fixture.h), stored the way the ledger stores it
 * (store_mv_apply) in a private Redis, then traced by reference,
 * container and document, listed with filters, and verified before and
 * after one byte of its log is changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../tests/pki_fixture.h"
#include "store_test_util.h" /* before dir.h: tests/redis.h has a `dir` */
#include "envcheck.h"
#include "envelope.h"
#include "ledger.h"
#include "ledger_query.h"
#include "mvref.h"
#include "store_mv.h"

static test_pki g_pki;
static char g_ref[MVREF_LEN + 1];

static int group_setup(void **state)
{
    if (stu_group_setup(state) < 0 || test_pki_init(&g_pki, "lq_test") ||
        test_pki_run(&g_pki, "issue CQ --region CQ") ||
        test_pki_run(&g_pki, "issue SH --region SH"))
        return -1;
    err_t e;
    return mvref_make(26, "CQ", 42, g_ref, &e);
}

static int group_teardown(void **state)
{
    test_pki_free(&g_pki);
    return stu_group_teardown(state);
}

/* The config envcheck needs: CA, CRL, directory, CQ's own certificate. */
typedef struct fx {
    cfg c;
    char ca[400], crl[400], cert[400], key[400];
} fx;

static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    test_pki_path(&g_pki, f->ca, sizeof f->ca, "ca.crt");
    test_pki_path(&g_pki, f->crl, sizeof f->crl, "crl.pem");
    test_pki_path(&g_pki, f->cert, sizeof f->cert, "CQ.crt");
    test_pki_path(&g_pki, f->key, sizeof f->key, "CQ.key");
    f->c.pki.ca = f->ca, f->c.pki.crl = f->crl, f->c.pki.cert = f->cert;
    f->c.pki.directory = g_pki.pki;
    f->c.node.id = "CQ", f->c.node.region = "CQ";
}

/* Event ev signed by CQ as envelope id, appended to out. */
static void sign_event(const fx *f, const mv_event *ev, arena_t *a,
                       buf_t *out, char id[MSGID_LEN + 1])
{
    err_t e;
    buf_t pay, sb;
    buf_init(&pay, 1u << 20);
    buf_init(&sb, 1u << 20);
    assert_int_equal(mv_event_encode(ev, &pay, &e), 0);
    env *v = arena_zalloc(a, sizeof *v);
    static const char *dest[] = {"SH"};
    assert_int_equal(env_init(v, MVEV_ENV_TYPE, "CQ", a, &e), 0);
    v->dest = dest, v->ndest = 1, v->ref = ev->ref;
    v->payload = (const unsigned char *)pay.p, v->payload_len = pay.len;
    assert_int_equal(env_signed_bytes(v, &sb, &e), 0);
    pki_key *k = NULL;
    assert_int_equal(pki_key_load(f->key, &k, &e), 0);
    unsigned char *sig = arena_alloc(a, PKI_SIG_MAX);
    size_t n = PKI_SIG_MAX;
    assert_int_equal(pki_sign(k, sb.p, sb.len, sig, &n, &e), 0);
    pki_key_free(k);
    v->sig = sig, v->sig_len = n;
    assert_int_equal(env_encode(v, out, &e), 0);
    memcpy(id, v->id, MSGID_LEN + 1);
    buf_free(&pay);
    buf_free(&sb);
}

/* Apply ev (from state cur) as the ledger would: rules, then the store. */
static void store_event(store *st, const fx *f, mv_state *cur,
                        const mv_event *ev, arena_t *a)
{
    err_t e;
    buf_t frame, sbytes;
    buf_init(&frame, 1u << 20);
    buf_init(&sbytes, 1u << 20);
    char id[MSGID_LEN + 1];
    sign_event(f, ev, a, &frame, id);
    const char *nid = arena_strdup(a, id);
    mv_state next;
    int isnew = cur->phase == MV_P_NONE;
    assert_int_equal(mv_rule_apply(isnew ? NULL : cur, ev, nid, "CQ", a,
                                   &next, &e), 0);
    assert_int_equal(mv_state_encode(&next, &sbytes, &e), 0);
    const char *keys[LEDGER_KEYS_MAX];
    size_t nk = 0;
    assert_int_equal(ledger_keys(&next.data, a, keys, &nk, &e), 0);
    store_mv_op op = {.ref = ev->ref, .id = nid, .frame = frame.p,
                      .frame_n = frame.len, .expect_n = cur->nevents,
                      .state = sbytes.p, .state_n = sbytes.len,
                      .phase_old = isnew ? NULL : mv_phase_name(cur->phase),
                      .phase_new = mv_phase_name(next.phase), .dep = "CQ",
                      .declared_ms = (int64_t)next.declared_ms,
                      .idx = isnew ? keys : NULL, .nidx = isnew ? nk : 0};
    store_mv_res res;
    assert_int_equal(store_mv_apply(st, &op, 1, &res, &e), 0);
    assert_int_equal(res, STORE_MV_APPLIED);
    *cur = next;
    buf_free(&frame);
    buf_free(&sbytes);
}

/* CQ declares g_ref (CQ>SH, one sealed container, a B/L), releases it. */
static void movement(store *st, const fx *f, arena_t *a)
{
    mv_state cur;
    memset(&cur, 0, sizeof cur);
    mv_event d = {.version = MVEV_VERSION, .type = MV_DECLARED, .ref = g_ref,
                  .at_ms = 1772700000000ull, .by = "CQ",
                  .kind = "water_transship", .itin = {"CQ", "SH"}, .nitin = 2,
                  .docs = {{"sea_bill_of_lading", "HOLN24SHA0413771"}},
                  .ndocs = 1, .pkgs = 48};
    d.ctrs[0] = (mv_ctr){.no = "CBHU9055114", .seals = {"YS0311872"},
                         .nseals = 1};
    d.nctrs = 1;
    store_event(st, f, &cur, &d, a);
    mv_event r = d;
    r.type = MV_RELEASED, r.at_ms += 1000, r.prev = cur.last_id;
    r.limit_ms = r.at_ms + 3600000;
    store_event(st, f, &cur, &r, a);
}

static int count_journeys(void *ctx, const lq_journey *j, err_t *e)
{
    (void)e;
    int *n = ctx;
    assert_string_equal(j->ref, g_ref);
    assert_int_equal(j->nsteps, 2);
    assert_int_equal(j->steps[1].ev->type, MV_RELEASED);
    assert_string_equal(j->steps[0].signer, "CQ");
    assert_non_null(strstr(j->steps[0].details, "CBHU9055114[YS0311872]"));
    assert_int_equal(j->state.phase, MV_P_RELEASED);
    assert_int_equal(j->state.stop[1], MV_STOP_EXPECTED);
    (*n)++;
    return 0;
}

static void test_trace(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "lq1:");
    fx f;
    fx_init(&f);
    arena_t a;
    arena_init(&a, 1u << 26);
    err_t e;
    movement(st, &f, &a);
    const char *by[] = {g_ref, "CBHU9055114", "HOLN24SHA0413771",
                        "sea_bill_of_lading:HOLN24SHA0413771"};
    for (size_t i = 0; i < 4; i++) {
        int n = 0;
        assert_int_equal(lq_trace(st, by[i], &a, count_journeys, &n, &e), 1);
        assert_int_equal(n, 1);
    }
    assert_int_equal(lq_trace(st, "TGHU8765436", &a, count_journeys, NULL,
                              &e), ERR_NOTFOUND);
    char bad[MVREF_LEN + 1];
    memcpy(bad, g_ref, sizeof bad);
    bad[MVREF_LEN - 1] = bad[MVREF_LEN - 1] == 'A' ? 'B' : 'A';
    assert_int_equal(lq_trace(st, bad, &a, count_journeys, NULL, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "check character"));
    arena_free(&a);
    store_close(st);
}

static int count_movements(void *ctx, const char *ref, const mv_state *s,
                           err_t *e)
{
    (void)e, (void)s;
    assert_string_equal(ref, g_ref);
    (*(int *)ctx)++;
    return 0;
}

static void test_movements(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "lq2:");
    fx f;
    fx_init(&f);
    arena_t a;
    arena_init(&a, 1u << 26);
    err_t e;
    movement(st, &f, &a);
    int n = 0;
    lq_filter all = {NULL, NULL, 0}, sh = {"released", "SH", 10},
              sc = {NULL, "SC", 10}, decl = {"declared", NULL, 10};
    assert_int_equal(lq_movements(st, &all, count_movements, &n, &e), 1);
    assert_int_equal(lq_movements(st, &sh, count_movements, &n, &e), 1);
    assert_int_equal(lq_movements(st, &sc, count_movements, &n, &e), 0);
    assert_int_equal(lq_movements(st, &decl, count_movements, &n, &e), 0);
    assert_int_equal(n, 2);
    lq_filter bogus = {"flying", NULL, 10};
    assert_int_equal(lq_movements(st, &bogus, count_movements, &n, &e),
                     ERR_CODE);
    arena_free(&a);
    store_close(st);
}

typedef struct seen {
    int ok, bad, first_bad;
} seen;

static void on_check(void *ctx, const lq_check *c)
{
    seen *s = ctx;
    if (c->ok) {
        s->ok++;
        if (c->n)
            assert_string_equal(c->region, "CQ");
        return;
    }
    if (!s->bad++)
        s->first_bad = (int)c->n;
}

static void test_verify(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "lq3:");
    fx f;
    fx_init(&f);
    arena_t a;
    arena_init(&a, 1u << 26);
    err_t e;
    movement(st, &f, &a);
    envcheck *ec = NULL;
    assert_int_equal(envcheck_open(&f.c, &ec, &e), 0);
    seen s = {0};
    assert_int_equal(lq_verify(st, ec, g_ref, &a, on_check, &s, &e), 0);
    assert_int_equal(s.ok, 3); /* two entries and the state */
    /* one byte of the release changed in Redis: entry 2 fails */
    redisContext *rc = redisConnect("127.0.0.1", atoi(strrchr(g_url, ':') + 1));
    redisReply *r = redisCommand(rc, "LINDEX lq3:v1:mv:%s:log 1", g_ref);
    assert_true(r && r->type == REDIS_REPLY_STRING);
    char *p = memmem(r->str, r->len, "released", 8);
    assert_non_null(p);
    *p = 'R';
    freeReplyObject(redisCommand(rc, "LSET lq3:v1:mv:%s:log 1 %b", g_ref,
                                 r->str, r->len));
    freeReplyObject(r);
    redisFree(rc);
    s = (seen){0};
    assert_true(lq_verify(st, ec, g_ref, &a, on_check, &s, &e) >= 2);
    assert_int_equal(s.first_bad, 2);
    assert_int_equal(lq_verify(st, ec, "26CQ00000000000999", &a, on_check,
                               &s, &e) < 0, 1);
    envcheck_free(ec);
    arena_free(&a);
    store_close(st);
}

static void test_helpers(void **state)
{
    (void)state;
    char t[LQ_TIME_LEN];
    lq_time(1772700000123ull, t);
    assert_string_equal(t, "2026-03-05T08:40:00.123Z");
    lq_time(0, t);
    assert_string_equal(t, "-");
    assert_string_equal(lq_stop_name(MV_STOP_PASSED), "passed");
    assert_string_equal(lq_stop_name(9), "?");
    arena_t a;
    arena_init(&a, 1u << 20);
    mv_event ev = {.type = MV_DISCREPANCY, .result = "seal", .note = "x y"};
    assert_string_equal(lq_details(&ev, &a), "res=seal note=\"x y\"");
    mv_state x = {.phase = MV_P_RELEASED, .nevents = 2, .last_id = "A"};
    mv_state y = x;
    assert_null(lq_state_diff(&x, &y, &a));
    y.held = "SN";
    assert_string_equal(lq_state_diff(&x, &y, &a),
                        "held: stored -, replayed SN");
    y.nevents = 3;
    assert_string_equal(lq_state_diff(&x, &y, &a),
                        "events: stored 2, replayed 3");
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_trace),
        cmocka_unit_test(test_movements),
        cmocka_unit_test(test_verify),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
