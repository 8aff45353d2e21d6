/* Unit tests for the permit routes of the HTTP API (api_permits.c) over
 * real HTTP (api_test.h): node CQ with a private redis-server; the test
 * plays eportd's loop, answering each queued request itself
 * (store_pmq_answer_many) while the POST waits. Covered: an answer and a
 * refusal (both 200), 504 naming the request that stays queued and is
 * answered later (history, show), ?fresh=1, 400 for bad ids and bodies,
 * 401, 403 for a holder the client may not act for, 404, 405, and a
 * permit homed here issued, listed, shown, drawn on and its history. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api_test.h"
#include "model_json.h"
#include "model_pack.h"
#include "pmrec.h"
#include "pmview.h"

#define WAIT_MS 1500 /* permits.verify_wait_ms of the test node */

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Node CQ with clients rail (parties XIYITP), stat (any party) and other
 * (NOTCQX); keys are id + "-key". */
static int pm_setup(void **state)
{
    static const char *const cl[][2] = {
        {"rail", "[XIYITP]"}, {"stat", "['*']"}, {"other", "[NOTCQX]"}};
    char path[400], h[65], key[32];
    if (conn_fixture_setup(state) || curl_global_init(CURL_GLOBAL_DEFAULT))
        return -1;
    if (!g_url[0])
        return 0;
    FILE *f = conn_fixture_yaml("pm", test_redis_free_port(), path);
    fprintf(f, "redis: {url: '%s', prefix: 'pm:'}\napi: {threads: 4}\n"
            "permits: {verify_wait_ms: %d}\nconnectors:\n"
            "  - {name: rail, type: http}\nclients:\n", g_url, WAIT_MS);
    for (size_t i = 0; i < sizeof cl / sizeof cl[0]; i++) {
        snprintf(key, sizeof key, "%s-key", cl[i][0]);
        conn_fixture_hash(key, h);
        fprintf(f, "  - {id: %s, connector: rail, key_sha256: '%s', kinds: "
                "['*'], parties: %s}\n", cl[i][0], h, cl[i][1]);
    }
    fprintf(f, "log: {level: error, file: '-'}\n");
    g_cfg = conn_fixture_load(f, path);
    g_api = start(g_cfg);
    g_curl = curl_easy_init();
    return g_curl ? 0 : -1;
}

/* ---- the home, played by the test ---- */

/* Answers the requests about permit with code (each test its own
 * permit, so one never answers another's). */
typedef struct answerer {
    const char *permit;
    int home;            /* apply at this node's ledger, as its home */
    pm_code code;
    int want, answered;
    store *st;
    store_pos pos;
    arena_t a;
} answerer;

static int answer_store(answerer *x, const char *rid, const pm_ans *s,
                        const char *frame, err_t *e)
{
    buf_t p;
    buf_init(&p, PM_MAX_BYTES);
    store_pmq_res res = {0};
    store_pmq_ans sa = {rid, s, NULL, 0, frame, frame ? strlen(frame) : 0,
                        frame ? "F-ID" : NULL};
    int rc = pm_ans_encode(s, &p, e);
    if (rc == 0) {
        sa.payload = p.p, sa.payload_n = p.len;
        rc = store_pmq_answer_many(x->st, &sa, 1, &res, e);
    }
    buf_free(&p);
    x->answered += rc == 0 && res.rc == 0;
    return rc;
}

/* What the loop does at a permit's home: the ledger decides (no
 * envelope: the answer is this node's own). */
static int answer_home(answerer *x, const char *rid, const pm_req *r,
                       err_t *e)
{
    store_pm_op op = {r, rid, "CQ"};
    pm_ans s;
    int rc = store_pm_apply(x->st, &op, 1, (int64_t)r->at_ms, 3600000,
                            &x->a, &s, e);
    return rc ? rc : answer_store(x, rid, &s, NULL, e);
}

static int answer_one(void *ctx, store_pos pos, const char *rid,
                      const void *q, size_t n, err_t *e)
{
    answerer *x = ctx;
    pm_req r;
    x->pos = pos;
    int rc = pm_req_decode(q, n, &x->a, &r, e);
    if (rc || strcmp(r.permit, x->permit))
        return rc;
    if (x->home)
        return answer_home(x, rid, &r, e);
    pm_ans s = {.req = rid, .op = r.op, .permit = r.permit, .key = r.key,
                .code = x->code, .status = "valid", .kind = "export_licence",
                .usage = "quantity", .from_ms = 1767542400000ull,
                .to_ms = 1783180799999ull, .nleft = 1, .at_ms = r.at_ms + 1};
    s.text = x->code == PM_C_OK ? NULL : "only 2.5 left";
    s.rsv = r.op == PM_OP_RESERVE && x->code == PM_C_OK ? "reserved" : NULL;
    s.left[0] = (pm_amount){0, 2500, 0};
    return answer_store(x, rid, &s, "FRAME", e);
}

/* Answers until want are answered (at most 5 s); in a thread of its own
 * while a request waits. */
static void *answer_main(void *arg)
{
    answerer *x = arg;
    err_t e;
    arena_init(&x->a, 1 << 20);
    if (store_open(g_url, "pm:", &x->st, &e) == 0) {
        for (int i = 0; i < 500 && x->answered < x->want; i++) {
            store_pmq_after(x->st, x->pos, 16, answer_one, x, &e);
            usleep(10000);
        }
        store_close(x->st);
    }
    arena_free(&x->a);
    return NULL;
}

static void answer_in_thread(pthread_t *th, answerer *x)
{
    if (!g_url[0])
        skip();
    assert_int_equal(pthread_create(th, NULL, answer_main, x), 0);
}

static void post(resp *r, const char *path, const char *key,
                 const char *body)
{
    http(r, "POST", path, key, body ? "Content-Type: application/json"
                                    : NULL, body ? body : "",
         body ? strlen(body) : 0);
}

/* ---- asking a home elsewhere ---- */

static void test_verify_answered(void **state)
{
    (void)state;
    answerer x = {.permit = "SN-26EL1", .code = PM_C_OK, .want = 1};
    pthread_t th;
    answer_in_thread(&th, &x);
    resp r;
    post(&r, "/v1/permits/SN-26EL1/verify", "rail-key", NULL);
    pthread_join(th, NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.j, "ok")));
    assert_string_equal(jstr(r.j, "code"), "ok");
    assert_string_equal(jstr(r.j, "op"), "verify");
    assert_string_equal(jstr(r.j, "status"), "valid");
    assert_string_equal(jstr(r.j, "valid_from"), "2026-01-04T16:00:00.000Z");
    assert_true(json_is_true(json_object_get(r.j, "signed")));
    const char *rid = jstr(r.j, "request");
    err_t e;
    assert_int_equal(msgid_parse(rid, NULL, &e), 0);
    json_t *l = json_array_get(json_object_get(r.j, "left"), 0);
    assert_string_equal(jstr(l, "quantity"), "2.5");
    /* the newest answer held is what GET shows */
    resp s;
    http(&s, "GET", "/v1/permits/SN-26EL1", "rail-key", NULL, NULL, 0);
    assert_int_equal(s.status, 200);
    assert_string_equal(jstr(s.j, "source"), "answer");
    assert_string_equal(jstr(s.j, "home"), "SN");
    assert_string_equal(jstr(json_object_get(s.j, "answer"), "request"), rid);
    resp_free(&s);
    resp_free(&r);
}

static void test_reserve_refused_is_an_answer(void **state)
{
    (void)state;
    answerer x = {.permit = "SN-26EL2", .code = PM_C_INSUFFICIENT,
                  .want = 1};
    pthread_t th;
    answer_in_thread(&th, &x);
    resp r;
    post(&r, "/v1/permits/SN-26EL2/verify", "rail-key",
         "{\"reserve\": {\"key\": \"26CQ00000000000017\", \"lines\": "
         "[{\"line\": 1, \"quantity\": \"10\", \"value\": \"2500.00\"}]},"
         " \"holder\": \"XIYITP\"}");
    pthread_join(th, NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_false(json_object_get(r.j, "ok")));
    assert_string_equal(jstr(r.j, "code"), "insufficient");
    assert_string_equal(jstr(r.j, "text"), "only 2.5 left");
    assert_string_equal(jstr(r.j, "op"), "reserve");
    assert_string_equal(jstr(r.j, "key"), "26CQ00000000000017");
    resp_free(&r);
}

static void test_timeout_504_stays_queued(void **state)
{
    (void)state;
    resp r, h;
    post(&r, "/v1/permits/SN-26EL3/verify", "rail-key", "");
    assert_int_equal(r.status, 504);
    assert_string_equal(err_code(&r), "home_timeout");
    json_t *err = json_object_get(r.j, "error");
    char rid[MSGID_LEN + 1], want[160];
    snprintf(rid, sizeof rid, "%s", jstr(err, "request"));
    snprintf(want, sizeof want, "still queued: request %s; the home SN has "
             "not answered within %d ms", rid, WAIT_MS);
    assert_string_equal(jstr(err, "message"), want);
    resp_free(&r);
    /* still queued: this node's history of the permit says so */
    http(&h, "GET", "/v1/permits/SN-26EL3/history", "rail-key", NULL, NULL,
         0);
    assert_int_equal(h.status, 200);
    assert_string_equal(jstr(h.j, "source"), "requests");
    json_t *en = json_array_get(json_object_get(h.j, "entries"), 0);
    assert_string_equal(jstr(en, "request"), rid);
    assert_string_equal(jstr(en, "state"), "queued");
    assert_true(json_is_null(json_object_get(en, "answer")));
    resp_free(&h);
    /* nothing held about it yet */
    expect_error("GET", "/v1/permits/SN-26EL3", "rail-key", NULL, 404,
                 "not_found");
    /* the home answers later */
    answerer x = {.permit = "SN-26EL3", .code = PM_C_OK, .want = 1};
    answer_main(&x);
    assert_int_equal(x.answered, 1);
    http(&h, "GET", "/v1/permits/SN-26EL3/history", "rail-key", NULL, NULL,
         0);
    en = json_array_get(json_object_get(h.j, "entries"), 0);
    assert_string_equal(jstr(en, "state"), "answered");
    assert_string_equal(jstr(json_object_get(en, "answer"), "code"), "ok");
    resp_free(&h);
    http(&h, "GET", "/v1/permits/SN-26EL3", "rail-key", NULL, NULL, 0);
    assert_int_equal(h.status, 200);
    resp_free(&h);
}

static void test_show_fresh(void **state)
{
    (void)state;
    resp r;
    http(&r, "GET", "/v1/permits/SN-26EL4?fresh=1", "rail-key", NULL, NULL,
         0);
    assert_int_equal(r.status, 504);
    assert_string_equal(err_code(&r), "home_timeout");
    resp_free(&r);
    answerer x = {.permit = "SN-26EL4", .code = PM_C_REVOKED, .want = 2};
    pthread_t th;
    answer_in_thread(&th, &x);
    http(&r, "GET", "/v1/permits/SN-26EL4?fresh=1", "rail-key", NULL, NULL,
         0);
    pthread_join(th, NULL);
    assert_int_equal(r.status, 200);
    json_t *a = json_object_get(r.j, "answer");
    assert_string_equal(jstr(a, "code"), "revoked");
    assert_true(json_is_false(json_object_get(a, "ok")));
    resp_free(&r);
    expect_error("GET", "/v1/permits/SN-26EL4?fresh=yes", "rail-key", NULL,
                 400, "bad_request");
}

static void test_bad_requests_400(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "not json", "[1]", "{\"reserve\": {}}", "{\"extra\": 1}",
        "{\"holder\": 7}",
        "{\"reserve\": {\"key\": \"K1\", \"lines\": []}}",
        "{\"reserve\": {\"key\": \"K1\", \"lines\": [{\"line\": 1}]}}",
        "{\"reserve\": {\"key\": \"K1\", \"lines\": [{\"quantity\": "
        "\"1,5\"}]}}",
        "{\"reserve\": {\"key\": \"K1\", \"lines\": [{\"quantity\": "
        "10}]}}",
        "{\"reserve\": {\"key\": \"has space\", \"lines\": "
        "[{\"quantity\": \"1\"}]}, \"holder\": \"XIYITP\"}",
        "{\"reserve\": {\"key\": \"K1\", \"lines\": [{\"line\": -1, "
        "\"quantity\": \"1\"}]}}"};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
        expect_error("POST", "/v1/permits/SN-26EL5/verify", "stat-key",
                     bodies[i], 400, "bad_request");
    expect_error("POST", "/v1/permits/sn-26el5/verify", "rail-key", "", 400,
                 "bad_request");
    expect_error("GET", "/v1/permits/SN", "rail-key", NULL, 400,
                 "bad_request");
    expect_error("GET", "/v1/permits/SN-X/history?limit=0", "rail-key", NULL,
                 400, "bad_request");
    /* nothing was queued by any of them */
    resp r;
    http(&r, "GET", "/v1/permits/SN-26EL5/history", "rail-key", NULL, NULL,
         0);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.j, "count")), 0);
    resp_free(&r);
}

static void test_auth_401_403_405(void **state)
{
    (void)state;
    expect_error("POST", "/v1/permits/SN-26EL6/verify", NULL, "", 401,
                 "unauthorized");
    expect_error("POST", "/v1/permits/SN-26EL6/verify", "nope-key", "", 401,
                 "unauthorized");
    expect_error("POST", "/v1/permits/SN-26EL6/verify", "other-key",
                 "{\"holder\": \"XIYITP\"}", 403, "forbidden");
    expect_error("POST", "/v1/permits/SN-26EL6/verify", "rail-key",
                 "{\"reserve\": {\"key\": \"K1\", \"lines\": "
                 "[{\"quantity\": \"1\"}]}}", 403, "forbidden");
    expect_error("GET", "/v1/permits/SN-26EL6/verify", "rail-key", NULL, 405,
                 "method_not_allowed");
    expect_error("GET", "/v1/permits/SN-26EL6/history", NULL, NULL, 401,
                 "unauthorized"); /* public_reads is off */
    /* a client that may act for any party reserves without a holder */
    answerer x = {.permit = "SN-26EL6", .code = PM_C_OK, .want = 1};
    pthread_t th;
    answer_in_thread(&th, &x);
    resp r;
    post(&r, "/v1/permits/SN-26EL6/verify", "stat-key",
         "{\"reserve\": {\"key\": \"K1\", \"lines\": [{\"quantity\": "
         "\"1\"}]}}");
    pthread_join(th, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.j, "reservation"), "reserved");
    resp_free(&r);
}

/* ---- a permit homed here ---- */

/* A quantity licence of CQ, 100 TNE on line 1, issued here. */
static void issue_here(const char *number)
{
    char json[600];
    snprintf(json, sizeof json, "{\"kind\":\"permit\",\"document\":{"
             "\"type\":\"permit\",\"number\":\"%s\"},\"permit\":{\"kind\":"
             "\"automatic_import_licence\",\"usage\":\"quantity\","
             "\"valid_from\":\"2026-01-05\",\"valid_to\":\"2099-07-04\"},"
             "\"parties\":[{\"role\":\"holder\",\"name\":\"Copper\",\"id\":"
             "\"XIYITP\"}],\"goods\":[{\"seq\":1,\"hs_code\":\"7403111100\","
             "\"quantity\":100,\"unit\":\"TNE\"}]}", number);
    arena_t a;
    buf_t rec;
    model_record *r;
    pm_permit p;
    err_t e;
    int created = 0;
    arena_init(&a, 1 << 20);
    buf_init(&rec, 1 << 16);
    store *st = conn_fixture_store("pm");
    if (model_json_read(json, strlen(json), &a, &r, &e) ||
        pmrec_permit(r, "CQ", &a, &p, &e) || model_pack(r, &rec, &e))
        fail_msg("test permit: %s", e.msg);
    if (store_pm_issue(st, &p, rec.p, rec.len, (int64_t)time(NULL) * 1000,
                       &created, &e))
        fail_msg("store_pm_issue: %s", e.msg);
    store_close(st);
    buf_free(&rec);
    arena_free(&a);
}

static void test_home(void **state)
{
    (void)state;
    if (!g_url[0])
        skip();
    issue_here("26EL9");
    resp r;
    http(&r, "GET", "/v1/permits", "rail-key", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.j, "home"), "CQ");
    json_t *row = json_array_get(json_object_get(r.j, "permits"), 0);
    assert_string_equal(jstr(row, "id"), "CQ-26EL9");
    assert_string_equal(jstr(row, "status"), "valid");
    resp_free(&r);
    /* a reservation, decided by this node's own ledger */
    answerer x = {.permit = "CQ-26EL9", .home = 1, .want = 1};
    pthread_t th;
    answer_in_thread(&th, &x);
    post(&r, "/v1/permits/CQ-26EL9/verify", "rail-key",
         "{\"reserve\": {\"key\": \"26CQ00000000000017\", \"lines\": "
         "[{\"quantity\": \"10\"}]}, \"holder\": \"XIYITP\"}");
    pthread_join(th, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.j, "code"), "ok");
    assert_string_equal(jstr(r.j, "reservation"), "reserved");
    assert_true(json_is_false(json_object_get(r.j, "signed")));
    resp_free(&r);
    http(&r, "GET", "/v1/permits/CQ-26EL9", "rail-key", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.j, "source"), "ledger");
    json_t *q = json_object_get(json_array_get(json_object_get(
        json_object_get(r.j, "view"), "balances"), 0), "quantity");
    assert_string_equal(jstr(q, "total"), "100");
    assert_string_equal(jstr(q, "reserved"), "10");
    assert_string_equal(jstr(q, "left"), "90");
    resp_free(&r);
    http(&r, "GET", "/v1/permits/CQ-26EL9/history", "rail-key", NULL, NULL,
         0);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.j, "source"), "ledger");
    json_t *en = json_object_get(r.j, "entries");
    assert_string_equal(jstr(json_array_get(en, 0), "op"), "issue");
    assert_string_equal(jstr(json_array_get(en, 1), "op"), "reserve");
    resp_free(&r);
    expect_error("GET", "/v1/permits/CQ-NONE", "rail-key", NULL, 404,
                 "not_found");
    expect_error("GET", "/v1/permits/CQ-NONE/history", "rail-key", NULL, 404,
                 "not_found");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_answered),
        cmocka_unit_test(test_reserve_refused_is_an_answer),
        cmocka_unit_test(test_timeout_504_stays_queued),
        cmocka_unit_test(test_show_fresh),
        cmocka_unit_test(test_bad_requests_400),
        cmocka_unit_test(test_auth_401_403_405),
        cmocka_unit_test(test_home),
    };
    return cmocka_run_group_tests(tests, pm_setup, group_teardown);
}
