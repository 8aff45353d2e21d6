/* Unit tests for metrics: the exposition text parsed back line by line
 * (HELP and TYPE of every family, counters, gauges, cumulative histogram
 * buckets, _sum and _count, escaped label values), two threads adding to
 * the same series at once, and a full table. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

/* The text of the whole registry, NUL-terminated; free with buf_free. */
static buf_t render(void)
{
    buf_t b;
    err_t e = {0};
    buf_init(&b, 1 << 22);
    assert_int_equal(met_render(&b, &e), 0);
    assert_int_equal(buf_add(&b, "", 1), 0);
    return b;
}

/* The value of the sample line that starts with head (the name and its
 * labels, exactly), or -1 when there is none. Checks each line's shape:
 * a comment, or NAME{LABELS} VALUE. */
static double sample(const char *text, const char *head)
{
    double v = -1;
    size_t hn = strlen(head);
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        assert_non_null(end); /* every line ends with \n */
        if (*p != '#') {
            const char *sp = memchr(p, '}', (size_t)(end - p));
            assert_non_null(sp);
            assert_int_equal(sp[1], ' ');
            char *stop;
            double x = strtod(sp + 2, &stop);
            assert_ptr_equal(stop, end);
            if ((size_t)(sp + 1 - p) == hn && !memcmp(p, head, hn))
                v = x;
        }
        p = end + 1;
    }
    return v;
}

static void test_families_declared(void **state)
{
    (void)state;
    assert_int_equal(met_init("CQ", NULL), 0);
    buf_t b = render();
    assert_non_null(strstr(b.p, "# HELP eport_messages_in_total Records "
                           "accepted from local systems, by connector.\n"
                           "# TYPE eport_messages_in_total counter\n"));
    assert_non_null(strstr(b.p, "# TYPE eport_queue_depth gauge\n"));
    assert_non_null(strstr(b.p, "# TYPE eport_intake_seconds histogram\n"));
    size_t types = 0;
    for (const char *p = b.p; (p = strstr(p, "# TYPE ")); p++)
        types++;
    assert_int_equal(types, MET__COUNT);
    assert_int_equal(sample(b.p, "eport_messages_in_total{node=\"CQ\","
                            "connector=\"rail\"}"), -1); /* no series yet */
    buf_free(&b);
}

static void test_counters_gauges(void **state)
{
    (void)state;
    assert_int_equal(met_init("CQ", NULL), 0);
    met_add(MET_IN, "rail", 3);
    met_add(MET_IN, "rail", 4);
    met_add(MET_IN, "bulk", 1);
    met_set(MET_QUEUE, "outbox:SH", 12);
    met_set(MET_QUEUE, "outbox:SH", 5);
    met_set(MET_PEER_UP, "SH", 1);
    assert_int_equal(met_get(MET_IN, "rail"), 7);
    assert_int_equal(met_get(MET_QUEUE, "outbox:SH"), 5);
    assert_int_equal(met_get(MET_OUT, "rail"), 0);
    buf_t b = render();
    assert_true(sample(b.p, "eport_messages_in_total{node=\"CQ\","
                       "connector=\"rail\"}") == 7);
    assert_true(sample(b.p, "eport_messages_in_total{node=\"CQ\","
                       "connector=\"bulk\"}") == 1);
    assert_true(sample(b.p, "eport_queue_depth{node=\"CQ\","
                       "queue=\"outbox:SH\"}") == 5);
    assert_true(sample(b.p, "eport_peer_up{node=\"CQ\",peer=\"SH\"}") == 1);
    buf_free(&b);
}

static void test_escaping(void **state)
{
    (void)state;
    assert_int_equal(met_init("C\"Q", NULL), 0);
    met_add(MET_ERRORS, "a\\b\"c\nd", 2);
    buf_t b = render();
    assert_true(sample(b.p, "eport_errors_total{node=\"C\\\"Q\","
                       "reason=\"a\\\\b\\\"c\\nd\"}") == 2);
    buf_free(&b);
}

static void test_histogram(void **state)
{
    (void)state;
    assert_int_equal(met_init("CQ", NULL), 0);
    const double obs[] = {0.0001, 0.0005, 0.003, 0.3, 7, 42};
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
        met_observe(MET_INTAKE_SECONDS, "rail", obs[i]);
    buf_t b = render();
#define H(suffix, le) "eport_intake_seconds" suffix "{node=\"CQ\",connector=\"rail\"" le "}"
    assert_true(sample(b.p, H("_bucket", ",le=\"0.0005\"")) == 2); /* le is <= */
    assert_true(sample(b.p, H("_bucket", ",le=\"0.001\"")) == 2);
    assert_true(sample(b.p, H("_bucket", ",le=\"0.005\"")) == 3);
    assert_true(sample(b.p, H("_bucket", ",le=\"0.25\"")) == 3);
    assert_true(sample(b.p, H("_bucket", ",le=\"0.5\"")) == 4);
    assert_true(sample(b.p, H("_bucket", ",le=\"10\"")) == 5);
    assert_true(sample(b.p, H("_bucket", ",le=\"+Inf\"")) == 6);
    assert_true(sample(b.p, H("_count", "")) == 6);
    double sum = sample(b.p, H("_sum", ""));
    assert_true(sum > 49.3035 && sum < 49.3037);
    /* buckets never decrease, in the order given */
    const char *first = strstr(b.p, H("_bucket", ",le=\"0.0005\""));
    const char *inf = strstr(b.p, H("_bucket", ",le=\"+Inf\""));
    const char *count = strstr(b.p, H("_count", ""));
    assert_true(first && inf && count && first < inf && inf < count);
#undef H
    buf_free(&b);
}

typedef struct worker {
    int n;
} worker;

static void *add_many(void *arg)
{
    worker *w = arg;
    char label[16];
    for (int i = 0; i < w->n; i++) {
        met_add(MET_PEER_OUT, "SH", 1);
        snprintf(label, sizeof label, "p%d", i % 50); /* inserts race too */
        met_add(MET_PEER_IN, label, 1);
        met_observe(MET_HTTP_SECONDS, "/v1/messages", 0.002);
    }
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    assert_int_equal(met_init("CQ", NULL), 0);
    worker w = {50000};
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, add_many, &w), 0);
    assert_int_equal(pthread_create(&t2, NULL, add_many, &w), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    buf_t b = render();
    assert_true(sample(b.p, "eport_peer_messages_out_total{node=\"CQ\","
                       "peer=\"SH\"}") == 100000);
    assert_true(sample(b.p, "eport_peer_messages_in_total{node=\"CQ\","
                       "peer=\"p7\"}") == 2000);
    assert_true(sample(b.p, "eport_http_request_seconds_count{node=\"CQ\","
                       "route=\"/v1/messages\"}") == 100000);
    size_t p7 = 0; /* one series per label, not one per racing insert */
    for (const char *p = b.p; (p = strstr(p, "peer=\"p7\"")); p++)
        p7++;
    assert_int_equal(p7, 1);
    buf_free(&b);
}

static void test_full_table(void **state)
{
    (void)state;
    assert_int_equal(met_init("CQ", NULL), 0);
    char label[16];
    for (int i = 0; i < MET_SERIES_MAX + 10; i++) {
        snprintf(label, sizeof label, "q%d", i);
        met_set(MET_QUEUE, label, i);
    }
    assert_int_equal(met_get(MET_QUEUE, "q5"), 5);
    assert_int_equal(met_get(MET_QUEUE, "q1030"), 0); /* dropped */
    buf_t b = render();
    assert_true(sample(b.p, "eport_errors_total{node=\"CQ\","
                       "reason=\"metrics_full\"}") == 10);
    buf_free(&b);
    err_t e = {0};
    assert_int_equal(met_init(NULL, &e), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_families_declared),
        cmocka_unit_test(test_counters_gauges),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_full_table),
    };
    return cmocka_run_group_tests_name("gateway/metrics", tests, NULL, NULL);
}
