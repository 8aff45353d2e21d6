/* Unit tests for the HTTP API's write side and its server: api_start on a
 * loopback port with a private redis-server (api_test.h), talked to over
 * real HTTP with libcurl: 202 with the ids stored, idempotency, 400, 422
 * with `eportctl map`'s lines, 413 (declared and chunked), 401, 403, 429,
 * 503 (backlog, Redis gone), 404, 405, keep-alive, concurrent submissions
 * committed together, /healthz and /metrics checked against what was
 * sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api_test.h"

/* ---- submit ---- */

static void test_submit_accepted_and_stored(void **state)
{
    (void)state;
    size_t n;
    char *edi = conn_fixture_read_all(SAMPLE, &n);
    resp r;
    http(&r, "POST", "/v1/messages", "rail-key", NULL, edi, n);
    assert_int_equal(r.status, 202);
    assert_string_equal(json_string_value(json_object_get(r.j, "status")),
                        "accepted");
    json_t *m = json_array_get(json_object_get(r.j, "messages"), 0);
    const char *id = json_string_value(json_object_get(m, "id"));
    assert_non_null(id);
    assert_string_equal(json_string_value(json_object_get(m, "kind")),
                        "waybill");
    assert_true(json_is_false(json_object_get(m, "duplicate")));
    char path[128];
    snprintf(path, sizeof path, "/v1/messages/%s", id);
    resp s;
    http(&s, "GET", path, "rail-key", NULL, NULL, 0);
    assert_int_equal(s.status, 200);
    assert_string_equal(json_string_value(json_object_get(s.j, "id")), id);
    assert_string_equal(json_string_value(json_object_get(s.j, "status")),
                        "accepted");
    assert_string_equal(json_string_value(json_object_get(s.j, "client")),
                        "rail");
    assert_true(json_is_array(json_object_get(s.j, "receipts")));
    resp_free(&s);
    resp_free(&r);
    free(edi);
}

static void test_submit_idempotent(void **state)
{
    (void)state;
    size_t n;
    char *edi = conn_fixture_read_all(SAMPLE, &n);
    resp a, b;
    http(&a, "POST", "/v1/messages?map=iftmin-rail", "rail-key",
         "Idempotency-Key: test-idem-1", edi, n);
    http(&b, "POST", "/v1/messages", "rail-key",
         "Idempotency-Key: test-idem-1", edi, n);
    assert_int_equal(a.status, 202);
    assert_int_equal(b.status, 202);
    json_t *ma = json_array_get(json_object_get(a.j, "messages"), 0);
    json_t *mb = json_array_get(json_object_get(b.j, "messages"), 0);
    assert_string_equal(json_string_value(json_object_get(ma, "id")),
                        json_string_value(json_object_get(mb, "id")));
    assert_true(json_is_true(json_object_get(mb, "duplicate")));
    resp_free(&a);
    resp_free(&b);
    free(edi);
}

static void test_submit_unreadable_400(void **state)
{
    (void)state;
    expect_error("POST", "/v1/messages", "rail-key", "\x01\x02 not a message",
                 400, "bad_request");
}

static void test_submit_problems_422(void **state)
{
    (void)state;
    size_t n;
    char *bad = conn_fixture_read_all(BAD, &n);
    resp r;
    http(&r, "POST", "/v1/messages", "rail-key", NULL, bad, n);
    assert_int_equal(r.status, 422);
    assert_string_equal(err_code(&r), "invalid");
    json_t *p = json_object_get(json_object_get(r.j, "error"), "problems");
    assert_true(json_array_size(p) >= 1);
    const char *line = json_string_value(json_array_get(p, 0));
    assert_memory_equal(line, "body:", 5);
    assert_non_null(strstr(line, ": error: "));
    resp_free(&r);
    free(bad);
    /* an unknown mapping named in the content type */
    char *edi = conn_fixture_read_all(SAMPLE, &n);
    http(&r, "POST", "/v1/messages", "rail-key",
         "Content-Type: application/edifact; map=no-such-table", edi, n);
    assert_int_equal(r.status, 422);
    assert_non_null(strstr(r.body.p, "no-such-table"));
    resp_free(&r);
    free(edi);
}

static void test_submit_too_big_413(void **state)
{
    (void)state;
    size_t n = 70000;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'A', n);
    resp r;
    http(&r, "POST", "/v1/messages", "rail-key", NULL, big, n);
    assert_int_equal(r.status, 413);
    assert_string_equal(err_code(&r), "too_big");
    resp_free(&r);
    /* chunked: no declared length, refused as it passes the cap */
    http(&r, "POST", "/v1/messages", "rail-key", "Transfer-Encoding: chunked",
         big, n);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    free(big);
    /* the server is still there, and the connection usable */
    expect_error("GET", "/nope", NULL, NULL, 404, "not_found");
}

static void test_auth_401(void **state)
{
    (void)state;
    resp r;
    http(&r, "POST", "/v1/messages", NULL, NULL, "x", 1);
    assert_int_equal(r.status, 401);
    assert_string_equal(err_code(&r), "unauthorized");
    assert_true(has_header(&r, "WWW-Authenticate: Bearer"));
    resp_free(&r);
    expect_error("POST", "/v1/messages", "wrong-key", "x", 401,
                 "unauthorized");
    http(&r, "GET", "/v1/movements", NULL, "X-API-Key: nope", NULL, 0);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    http(&r, "GET", "/v1/movements", NULL, "X-API-Key: rail-key", NULL, 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void test_forbidden_403(void **state)
{
    (void)state;
    size_t n;
    char *edi = conn_fixture_read_all(SAMPLE, &n);
    const char *cases[][2] = {{"stat-key", "/v1/messages"},
                              {"other-key", "/v1/messages"},
                              {"rail-key", "/v1/messages?connector=met"}};
    for (size_t i = 0; i < 3; i++) {
        resp r;
        http(&r, "POST", cases[i][1], cases[i][0], NULL, edi, n);
        assert_int_equal(r.status, 403);
        assert_string_equal(err_code(&r), "forbidden");
        resp_free(&r);
    }
    free(edi);
}

static void test_backlog_503(void **state)
{
    (void)state;
    size_t n;
    char *edi = conn_fixture_read_all(SAMPLE, &n);
    resp r;
    intake_set_backlog(5000); /* over max_backlog: 1000 */
    http(&r, "POST", "/v1/messages", "rail-key", NULL, edi, n);
    intake_set_backlog(0);
    assert_int_equal(r.status, 503);
    assert_string_equal(err_code(&r), "unavailable");
    assert_true(has_header(&r, "Retry-After:"));
    resp_free(&r);
    http(&r, "POST", "/v1/messages", "rail-key", NULL, edi, n);
    assert_int_equal(r.status, 202);
    resp_free(&r);
    free(edi);
}

static void test_rate_429(void **state)
{
    (void)state;
    if (!g_url[0])
        skip();
    cfg *c = load_cfg("rate", g_url, "rate_per_s: 1, burst: 2");
    api *a = start(c);
    size_t n;
    char *edi = conn_fixture_read_all(SAMPLE, &n);
    long seen[5];
    resp r;
    for (int i = 0; i < 5; i++) {
        http_on(g_curl, a, &r, "POST", "/v1/messages", "slow-key", NULL, edi,
                n);
        seen[i] = r.status;
        if (r.status == 429) {
            assert_string_equal(err_code(&r), "rate_limited");
            assert_true(has_header(&r, "Retry-After:"));
        }
        resp_free(&r);
    }
    assert_int_equal(seen[0], 202);
    assert_int_equal(seen[4], 429);
    api_stop(a);
    cfg_free(c);
    free(edi);
}

/* ---- reads, routing ---- */

static void test_not_found_and_methods(void **state)
{
    (void)state;
    expect_error("GET", "/v1/messages/01JABCDEFGHJKMNPQRSTVWXYZ0",
                 "rail-key", NULL, 404, "not_found");
    expect_error("GET", "/v1/messages/not-an-id", "rail-key", NULL, 400,
                 "bad_request");
    expect_error("GET", "/v1/nothing", "rail-key", NULL, 404, "not_found");
    expect_error("GET", "/v1/messages/a/b", "rail-key", NULL, 404,
                 "not_found");
    resp r;
    http(&r, "GET", "/v1/messages", "rail-key", NULL, NULL, 0);
    assert_int_equal(r.status, 405);
    assert_string_equal(err_code(&r), "method_not_allowed");
    assert_true(has_header(&r, "Allow: POST"));
    resp_free(&r);
    http(&r, "DELETE", "/healthz", NULL, NULL, NULL, 0);
    assert_int_equal(r.status, 405);
    assert_true(has_header(&r, "Allow: GET"));
    resp_free(&r);
}

/* ---- operations ---- */

static void test_healthz_and_keepalive(void **state)
{
    (void)state;
    resp r;
    http(&r, "GET", "/healthz", NULL, NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.j, "status")),
                        "ok");
    assert_string_equal(json_string_value(json_object_get(r.j, "node")), "CQ");
    assert_string_equal(json_string_value(json_object_get(r.j, "redis")),
                        "up");
    resp_free(&r);
    long fresh = -1;
    http(&r, "GET", "/healthz", NULL, NULL, NULL, 0);
    curl_easy_getinfo(g_curl, CURLINFO_NUM_CONNECTS, &fresh);
    assert_int_equal(fresh, 0); /* the same connection again */
    resp_free(&r);
}

static void test_metrics_count_what_was_sent(void **state)
{
    (void)state;
    size_t n, nb;
    char *edi = conn_fixture_read_all(SAMPLE, &n), *bad = conn_fixture_read_all(BAD, &nb);
    long long in0, ref0, sub0, in1, ref1, sub1;
    scrape(&in0, &ref0, &sub0);
    int ok = 0, refused = 0;
    for (int i = 0; i < 5; i++) {
        resp r;
        int good = i % 2 == 0;
        http(&r, "POST", "/v1/messages", "met-key", NULL, good ? edi : bad,
             good ? n : nb);
        ok += r.status == 202;
        refused += r.status == 422;
        resp_free(&r);
    }
    scrape(&in1, &ref1, &sub1);
    assert_int_equal(ok, 3);
    assert_int_equal(refused, 2);
    assert_int_equal(in1 - in0, 3);
    assert_int_equal(ref1 - ref0, 2);
    assert_int_equal(sub1 - sub0, 5);
    free(edi);
    free(bad);
}

static void test_redis_gone_503(void **state)
{
    (void)state;
    if (!g_url[0])
        skip();
    char url[64];
    pid_t pid;
    assert_int_equal(test_redis_start(url, &pid), 0);
    cfg *c = load_cfg("gone", url, "threads: 1");
    api *a = start(c);
    size_t n;
    char *edi = conn_fixture_read_all(SAMPLE, &n);
    resp r;
    http_on(g_curl, a, &r, "GET", "/healthz", NULL, NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    test_redis_stop(pid);
    http_on(g_curl, a, &r, "GET", "/healthz", NULL, NULL, NULL, 0);
    assert_int_equal(r.status, 503);
    assert_string_equal(json_string_value(json_object_get(r.j, "redis")),
                        "down");
    resp_free(&r);
    http_on(g_curl, a, &r, "POST", "/v1/messages", "rail-key", NULL, edi, n);
    assert_int_equal(r.status, 503);
    assert_true(has_header(&r, "Retry-After:"));
    resp_free(&r);
    api_stop(a);
    cfg_free(c);
    free(edi);
}

/* ---- group commit ---- */

typedef struct burst_arg {
    int ok, denied, other;
    char ids[10][MSGID_LEN + 1];
} burst_arg;

/* Ten submissions from client rail on a connection of its own: the even
 * ones allowed, the odd ones for a party rail may not send for. */
static void *burst_main(void *arg)
{
    burst_arg *b = arg;
    CURL *h = curl_easy_init();
    size_t n, nb;
    char *good = conn_fixture_read_all(SAMPLE, &n), *bad = conn_fixture_read_all(OTHER_PARTY, &nb);
    for (int i = 0; i < 10; i++) {
        resp r;
        http_on(h, g_api, &r, "POST", "/v1/messages", "rail-key", NULL,
                i % 2 ? bad : good, i % 2 ? nb : n);
        json_t *m = json_array_get(json_object_get(r.j, "messages"), 0);
        if (r.status == 202 && json_string_value(json_object_get(m, "id")))
            snprintf(b->ids[b->ok++], MSGID_LEN + 1, "%s",
                     json_string_value(json_object_get(m, "id")));
        else if (r.status == 403)
            b->denied++;
        else
            b->other++;
        resp_free(&r);
    }
    curl_easy_cleanup(h);
    free(good);
    free(bad);
    return NULL;
}

static int64_t stored_now(void)
{
    store *st = NULL;
    err_t e;
    assert_int_equal(store_open(g_url, "main:", &st, &e), 0);
    int64_t n = store_local_len(st, &e);
    store_close(st);
    return n;
}

static void test_concurrent_submissions_committed(void **state)
{
    (void)state;
    if (!g_url[0])
        skip();
    enum { T = 8 };
    pthread_t th[T];
    burst_arg b[T];
    memset(b, 0, sizeof b);
    int64_t before = stored_now();
    for (int i = 0; i < T; i++)
        assert_int_equal(pthread_create(&th[i], NULL, burst_main, &b[i]), 0);
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < T; i++) {
        assert_int_equal(b[i].ok, 5);
        assert_int_equal(b[i].denied, 5);
        assert_int_equal(b[i].other, 0);
    }
    /* every id distinct, every record stored once */
    for (int i = 0; i < T * 5; i++)
        for (int j = i + 1; j < T * 5; j++)
            assert_string_not_equal(b[i / 5].ids[i % 5], b[j / 5].ids[j % 5]);
    assert_int_equal(stored_now() - before, T * 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_accepted_and_stored),
        cmocka_unit_test(test_submit_idempotent),
        cmocka_unit_test(test_submit_unreadable_400),
        cmocka_unit_test(test_submit_problems_422),
        cmocka_unit_test(test_submit_too_big_413),
        cmocka_unit_test(test_auth_401),
        cmocka_unit_test(test_forbidden_403),
        cmocka_unit_test(test_backlog_503),
        cmocka_unit_test(test_rate_429),
        cmocka_unit_test(test_not_found_and_methods),
        cmocka_unit_test(test_healthz_and_keepalive),
        cmocka_unit_test(test_metrics_count_what_was_sent),
        cmocka_unit_test(test_concurrent_submissions_committed),
        cmocka_unit_test(test_redis_gone_503),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
