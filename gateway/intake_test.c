/* Unit tests for intake against a private redis-server: a submission
 * stored with its ids, kinds and documents; one refused record refuses
 * all (nothing stored); an idempotent submission stored once; a client
 * over its rate and a node over its backlog told to come back (ERR_AGAIN
 * with Retry-After), with nothing stored; the counters of each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "intake.h"
#include "metrics.h"
#include "model_json.h"
#include "store_local.h"
#include "store_test_util.h"

static char g_dir[64];
static cfg *g_cfg;  /* no rate limit */
static cfg *g_slow; /* 1 record/s, burst 3 */
static arena_t g_arena;

static cfg *load(const char *name, const char *api)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fprintf(f, "node: {id: CQ, region: CQ, role: provincial, listen: "
            "'tcp://127.0.0.1:7101', http: '127.0.0.1:8101'}\n"
            "pki: {ca: ca.crt, cert: CQ.crt, key: CQ.key, curve_public: c.pub, "
            "curve_secret: c.key}\nredis: {url: '%s', prefix: 'it:'}\n"
            "api: {%s, max_backlog: 1000, retry_after_s: 7}\n"
            "connectors:\n  - {name: rail, type: http}\n"
            "clients:\n"
            "  - {id: cq-rail, connector: rail, kinds: [waybill, status], "
            "parties: [CQRAIL]}\n"
            "  - {id: any, connector: rail, kinds: ['*'], parties: ['*']}\n",
            g_url[0] ? g_url : "redis://127.0.0.1:1", api);
    fclose(f);
    err_t e = {0};
    cfg *c = NULL;
    int rc = cfg_load(path, &c, &e);
    unlink(path);
    if (rc)
        fprintf(stderr, "%s\n", c ? cfg_problems(c) : e.msg);
    return rc ? NULL : c;
}

static int setup(void **state)
{
    if (stu_group_setup(state) < 0)
        return -1;
    snprintf(g_dir, sizeof g_dir, "/tmp/intaketestXXXXXX");
    if (!mkdtemp(g_dir) || met_init("CQ", NULL) < 0)
        return -1;
    g_cfg = load("i.yaml", "rate_per_s: 0");
    g_slow = load("s.yaml", "rate_per_s: 1, burst: 3");
    rmdir(g_dir);
    arena_init(&g_arena, 1 << 20);
    return g_cfg && g_slow ? 0 : -1;
}

static int teardown(void **state)
{
    cfg_free(g_cfg);
    cfg_free(g_slow);
    arena_free(&g_arena);
    return stu_group_teardown(state);
}

static model_record *rec(const char *json)
{
    model_record *r = NULL;
    err_t e = {0};
    if (model_json_read(json, strlen(json), &g_arena, &r, &e))
        fail_msg("model_json_read: %s", e.msg);
    return r;
}

#define WAYBILL "{\"kind\":\"waybill\",\"source\":{\"sender\":\"CQRAIL\"}," \
    "\"document\":{\"type\":\"rail_waybill\",\"number\":\"CQ1\"}}"
#define STATUS "{\"kind\":\"status\",\"source\":{\"sender\":\"CQRAIL\"}}"
#define DECL "{\"kind\":\"declaration\",\"source\":{\"sender\":\"CQRAIL\"}}"
#define WARNED "{\"kind\":\"status\",\"source\":{\"sender\":\"CQRAIL\"}," \
    "\"warnings\":[\"check_digits: container number 'X' fails at 1:1\"," \
    "\"bom: UTF-8 byte order mark at 1:1\",\"sloppy: what a client wrote\"]}"

static intake *open_on(const cfg *c)
{
    if (!g_url[0])
        skip();
    intake *in = NULL;
    err_t e = {0};
    if (intake_open(c, &in, &e))
        fail_msg("intake_open: %s", e.msg);
    return in;
}

static intake *open_intake(void)
{
    return open_on(g_cfg);
}

/* One submission of n records by client id; returns intake_accept's. */
static int submit_on(const cfg *c, intake *in, const char *client, model_record **recs,
                  size_t n, const char *idem, char (*ids)[MSGID_LEN + 1],
                  int *dup, int64_t *retry, err_t *e)
{
    intake_sub s = {"rail", cfg_client_find(c, client), recs, n, idem};
    intake_res r = {ids, dup, 0};
    int rc = intake_accept(in, &s, &r, 0, e);
    *retry = r.retry_after_s;
    return rc;
}

#define submit(...) submit_on(g_cfg, __VA_ARGS__)
#define submit_slow(...) submit_on(g_slow, __VA_ARGS__)

static int64_t local_len(intake *in)
{
    err_t e = {0};
    return store_local_len(intake_store(in), &e);
}

static int on_kv(void *ctx, const char *name, const char *value, err_t *e)
{
    (void)e;
    if (!strcmp(name, "doc"))
        snprintf(ctx, 64, "%s", value);
    return 0;
}

/* The stored records' warnings[] counted by rule; a prefix that is no
 * rule (a client's canonical JSON may say anything) as "other". */
static void test_warnings_counted(void **state)
{
    (void)state;
    intake *in = open_intake();
    model_record *recs[] = {rec(WARNED), rec(STATUS)};
    char ids[2][MSGID_LEN + 1];
    int dup[2];
    int64_t retry, cd = met_get(MET_WARNINGS, "check_digits"),
                   bom = met_get(MET_WARNINGS, "bom"),
                   other = met_get(MET_WARNINGS, "other");
    err_t e = {0};
    assert_int_equal(submit(in, "cq-rail", recs, 2, NULL, ids, dup, &retry,
                            &e), 0);
    assert_int_equal(met_get(MET_WARNINGS, "check_digits"), cd + 1);
    assert_int_equal(met_get(MET_WARNINGS, "bom"), bom + 1);
    assert_int_equal(met_get(MET_WARNINGS, "other"), other + 1);
    assert_int_equal(met_get(MET_WARNINGS, "sloppy"), 0);
    intake_close(in);
}

static void test_accepted(void **state)
{
    (void)state;
    intake *in = open_intake();
    model_record *recs[] = {rec(WAYBILL), rec(STATUS)};
    char ids[2][MSGID_LEN + 1];
    int dup[2] = {9, 9};
    int64_t retry, before = local_len(in), in0 = met_get(MET_IN, "rail");
    err_t e = {0};
    assert_int_equal(submit(in, "cq-rail", recs, 2, NULL, ids, dup, &retry,
                            &e), 0);
    assert_int_equal(msgid_parse(ids[0], NULL, &e), 0);
    assert_string_not_equal(ids[0], ids[1]);
    assert_int_equal(dup[0] + dup[1], 0);
    assert_int_equal(local_len(in), before + 2);
    assert_int_equal(met_get(MET_IN, "rail"), in0 + 2);
    char doc[64] = "";
    assert_int_equal(store_msg_get(intake_store(in), ids[0], on_kv, doc, &e), 0);
    assert_string_equal(doc, "rail_waybill:CQ1");
    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(met_render(&b, &e), 0);
    assert_non_null(strstr(b.p, "eport_intake_seconds_count{node=\"CQ\","
                           "connector=\"rail\"} "));
    buf_free(&b);
    intake_close(in);
}

/* All or nothing: the second record is not allowed, the first is not
 * stored either. */
static void test_denied_stores_nothing(void **state)
{
    (void)state;
    intake *in = open_intake();
    model_record *recs[] = {rec(WAYBILL), rec(DECL)};
    char ids[2][MSGID_LEN + 1];
    int dup[2];
    int64_t retry, before = local_len(in);
    int64_t auth0 = met_get(MET_ERRORS, "auth"), ref0 = met_get(MET_REFUSED, "rail");
    err_t e = {0};
    assert_int_equal(submit(in, "cq-rail", recs, 2, NULL, ids, dup, &retry,
                            &e), ERR_DENIED);
    assert_string_equal(e.msg, "client cq-rail may not send declaration "
                        "(kinds: waybill, status)");
    assert_int_equal(local_len(in), before);
    assert_int_equal(met_get(MET_ERRORS, "auth"), auth0 + 1);
    assert_int_equal(met_get(MET_REFUSED, "rail"), ref0 + 1);
    model_record *bad[] = {rec("{\"kind\":\"invoice\"}")};
    assert_int_equal(submit(in, "any", bad, 1, NULL, ids, dup, &retry, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "record 1: kind: 'invoice'"));
    assert_int_equal(local_len(in), before);
    intake_close(in);
}

static void test_idempotent(void **state)
{
    (void)state;
    intake *in = open_intake();
    model_record *recs[] = {rec(WAYBILL), rec(STATUS)};
    char ids[2][MSGID_LEN + 1], again[2][MSGID_LEN + 1], other[2][MSGID_LEN + 1];
    int dup[2];
    int64_t retry, before = local_len(in);
    err_t e = {0};
    assert_int_equal(submit(in, "any", recs, 2, "f.edi:10:abc", ids, dup,
                            &retry, &e), 0);
    assert_int_equal(dup[0] + dup[1], 0);
    assert_int_equal(strncmp(ids[0], "0000000000", 10), 0); /* no time in it */
    assert_int_equal(submit(in, "any", recs, 2, "f.edi:10:abc", again, dup,
                            &retry, &e), 0);
    assert_int_equal(dup[0] + dup[1], 2);
    assert_string_equal(again[0], ids[0]);
    assert_string_equal(again[1], ids[1]);
    assert_int_equal(local_len(in), before + 2); /* stored once */
    assert_int_equal(submit(in, "any", recs, 1, "f.edi:11:abd", other, dup,
                            &retry, &e), 0);
    assert_string_not_equal(other[0], ids[0]);
    assert_int_equal(dup[0], 0);
    intake_close(in);
}

/* rate 1/s, burst 3: three records pass, the next waits; each client
 * has its own bucket. */
static void test_rate(void **state)
{
    (void)state;
    intake *in = open_on(g_slow);
    model_record *recs[] = {rec(STATUS), rec(STATUS), rec(STATUS)};
    char ids[3][MSGID_LEN + 1];
    int dup[3];
    int64_t retry, before = local_len(in), rate0 = met_get(MET_ERRORS, "rate");
    err_t e = {0};
    assert_int_equal(submit_slow(in, "any", recs, 3, NULL, ids, dup, &retry,
                                 &e), 0);
    assert_int_equal(submit_slow(in, "any", recs, 2, NULL, ids, dup, &retry,
                                 &e), ERR_AGAIN);
    assert_true(retry >= 1 && retry <= 2);
    assert_non_null(strstr(e.msg, "client any is over its rate"));
    assert_int_equal(met_get(MET_ERRORS, "rate"), rate0 + 1);
    assert_int_equal(local_len(in), before + 3);
    assert_int_equal(submit_slow(in, "cq-rail", recs, 1, NULL, ids, dup,
                                 &retry, &e), 0);
    intake_close(in);
}

static void test_backlog(void **state)
{
    (void)state;
    intake *in = open_intake();
    model_record *recs[] = {rec(STATUS)};
    char ids[1][MSGID_LEN + 1];
    int dup[1];
    int64_t retry, before = local_len(in), bl0 = met_get(MET_ERRORS, "backlog");
    err_t e = {0};
    intake_set_backlog(1000);
    assert_int_equal(intake_backlog(), 1000);
    assert_int_equal(submit(in, "cq-rail", recs, 1, NULL, ids, dup, &retry, &e),
                     ERR_AGAIN);
    assert_int_equal(retry, 7);
    assert_int_equal(met_get(MET_ERRORS, "backlog"), bl0 + 1);
    assert_int_equal(local_len(in), before);
    intake_set_backlog(999);
    assert_int_equal(submit(in, "cq-rail", recs, 1, NULL, ids, dup, &retry, &e), 0);
    intake_set_backlog(0);
    intake_close(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_warnings_counted),
        cmocka_unit_test(test_denied_stores_nothing),
        cmocka_unit_test(test_idempotent),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_backlog),
    };
    return cmocka_run_group_tests_name("gateway/intake", tests, setup, teardown);
}
