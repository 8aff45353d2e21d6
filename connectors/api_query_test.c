/* Unit tests for the HTTP API's read side (api_query.c, api_events.c)
 * over real HTTP (api_test.h): message status, the ledger's reads and
 * their refusals, and the event feed as a long poll that holds no worker
 * thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api_test.h"

static void test_submit_then_read_status(void **state)
{
    (void)state;
    size_t n;
    char *edi = conn_fixture_read_all(SAMPLE, &n);
    resp r, s;
    http(&r, "POST", "/v1/messages", "rail-key", NULL, edi, n);
    assert_int_equal(r.status, 202);
    const char *id = json_string_value(json_object_get(
        json_array_get(json_object_get(r.j, "messages"), 0), "id"));
    char path[128];
    snprintf(path, sizeof path, "/v1/messages/%s", id);
    http(&s, "GET", path, "rail-key", NULL, NULL, 0);
    assert_int_equal(s.status, 200);
    assert_string_equal(json_string_value(json_object_get(s.j, "conn")),
                        "rail");
    assert_string_equal(json_string_value(json_object_get(s.j, "kind")),
                        "waybill");
    assert_string_equal(json_string_value(json_object_get(s.j, "doc")),
                        "rail_waybill:61XAG2403070031");
    assert_int_equal(json_integer_value(json_object_get(s.j, "v")), 1);
    assert_true(json_integer_value(json_object_get(s.j, "at_ms")) > 0);
    const char *at = json_string_value(json_object_get(s.j, "at"));
    assert_non_null(at);
    assert_int_equal(at[strlen(at) - 1], 'Z');
    resp_free(&s);
    /* once forwarded: the envelope's receipts (none back yet) */
    store *st = NULL;
    err_t e;
    assert_int_equal(store_open(g_url, "main:", &st, &e), 0);
    const char *kv[] = {"status", "forwarded", "fwd",
                        "01JD3Q4W5X6Y7Z8A9B0C1D2E3F"};
    assert_int_equal(store_msg_set(st, id, kv, 4, &e), 0);
    store_close(st);
    http(&s, "GET", path, "rail-key", NULL, NULL, 0);
    assert_int_equal(s.status, 200);
    assert_string_equal(json_string_value(json_object_get(s.j, "status")),
                        "forwarded");
    assert_true(json_is_array(json_object_get(s.j, "receipts")));
    assert_int_equal(json_array_size(json_object_get(s.j, "receipts")), 0);
    resp_free(&s);
    resp_free(&r);
    free(edi);
}

static void test_ledger_reads(void **state)
{
    (void)state;
    resp r;
    http(&r, "GET", "/v1/movements", "rail-key", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.j, "count")), 0);
    assert_true(json_is_array(json_object_get(r.j, "movements")));
    resp_free(&r);
    /* a reference with a wrong check character, an unknown good one */
    expect_error("GET", "/v1/movements/26CQ0000000000001X", "rail-key", NULL,
                 400, "bad_request");
    char ref[MVREF_LEN + 1], path[64];
    err_t e;
    assert_int_equal(mvref_make(26, "CQ", 1, ref, &e), 0);
    snprintf(path, sizeof path, "/v1/movements/%s", ref);
    expect_error("GET", path, "rail-key", NULL, 404, "not_found");
    expect_error("GET", "/v1/trace", "rail-key", NULL, 400, "bad_request");
    expect_error("GET", "/v1/trace?container=TGHU8765436", "rail-key", NULL,
                 404, "not_found");
    expect_error("GET", "/v1/movements?limit=0", "rail-key", NULL, 400,
                 "bad_request");
    expect_error("GET", "/v1/movements?phase=nonsense", "rail-key", NULL,
                 400, "bad_request");
}

/* ---- the event feed ---- */

typedef struct poll_arg {
    char path[128];
    resp r;
    double took;
} poll_arg;

static void *poll_main(void *arg)
{
    poll_arg *p = arg;
    CURL *h = curl_easy_init();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    http_on(h, g_api, &p->r, "GET", p->path, "rail-key", NULL, NULL, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    p->took = (double)(t1.tv_sec - t0.tv_sec) +
              (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    curl_easy_cleanup(h);
    return NULL;
}

static void test_events_long_poll(void **state)
{
    (void)state;
    resp r;
    http(&r, "GET", "/v1/events?limit=1000", "rail-key", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    json_t *ev = json_object_get(r.j, "events");
    assert_true(json_array_size(ev) >= 1); /* earlier tests' acceptances */
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(ev, 0), "ev")), "accepted");
    poll_arg p = {0};
    snprintf(p.path, sizeof p.path, "/v1/events?after=%s&wait_ms=10000",
             json_string_value(json_object_get(r.j, "last")));
    resp_free(&r);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, poll_main, &p), 0);
    usleep(300000); /* the poll is suspended by now */
    size_t n;
    char *edi = conn_fixture_read_all(SAMPLE, &n);
    http(&r, "POST", "/v1/messages", "rail-key", NULL, edi, n);
    assert_int_equal(r.status, 202);
    resp_free(&r);
    pthread_join(th, NULL);
    assert_int_equal(p.r.status, 200);
    assert_int_equal(json_array_size(json_object_get(p.r.j, "events")), 1);
    assert_true(p.took < 5.0);
    resp_free(&p.r);
    free(edi);
    /* nothing comes: the poll answers empty once wait_ms passed */
    snprintf(p.path, sizeof p.path,
             "/v1/events?after=99999999999999-0&wait_ms=400");
    poll_main(&p);
    assert_int_equal(p.r.status, 200);
    assert_int_equal(json_array_size(json_object_get(p.r.j, "events")), 0);
    assert_true(p.took >= 0.35 && p.took < 3.0);
    resp_free(&p.r);
    expect_error("GET", "/v1/events?wait_ms=999999", "rail-key", NULL, 400,
                 "bad_request");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_then_read_status),
        cmocka_unit_test(test_ledger_reads),
        cmocka_unit_test(test_events_long_poll),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
