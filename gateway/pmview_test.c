/* Unit tests for pmview: the JSON and text of an answer, a home's view
 * and a history entry (pure), then asking a home against a private
 * redis-server, the test answering the queued requests itself as
 * eportd's loop would (store_pmq_answer_many), and a permit homed here
 * issued, listed, shown and its history read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include "model_json.h"
#include "model_pack.h"
#include "pmrec.h"
#include "pmview.h"
#include "store_test_util.h"

#define RID "01JD3Q4W5X6Y7Z8A9B0C1D2E3F"
#define T0 1767542400000ull /* 2026-01-04T16:00:00.000Z */

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void sample_ans(pmview_ans *v, pm_code code)
{
    memset(v, 0, sizeof *v);
    v->a = (pm_ans){.req = RID, .op = PM_OP_RESERVE, .permit = "CQ-26AIL1",
                    .key = "MV-1", .code = code, .status = "valid",
                    .kind = "automatic_import_licence", .usage = "quantity",
                    .from_ms = T0, .to_ms = T0 + 1000, .rsv = "reserved",
                    .nleft = 2, .at_ms = T0 + 5};
    v->a.left[0] = (pm_amount){0, 2490500, 0};
    v->a.left[1] = (pm_amount){1, 3, 21000000100ull};
    snprintf(v->rid, sizeof v->rid, "%s", RID);
    v->home_signed = 1;
    v->done_ms = (int64_t)T0 + 9;
}

/* ---- JSON and text (pure) ---- */

static void test_ans_json(void **state)
{
    (void)state;
    pmview_ans v;
    sample_ans(&v, PM_C_OK);
    json_t *j = pmview_ans_json_new(&v);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_string_equal(jstr(j, "code"), "ok");
    assert_true(json_is_null(json_object_get(j, "text")));
    assert_string_equal(jstr(j, "op"), "reserve");
    assert_string_equal(jstr(j, "reservation"), "reserved");
    assert_string_equal(jstr(j, "valid_from"), "2026-01-04T16:00:00.000Z");
    assert_string_equal(jstr(j, "valid_to"), "2026-01-04T16:00:01.000Z");
    assert_string_equal(jstr(j, "request"), RID);
    assert_true(json_is_true(json_object_get(j, "signed")));
    assert_string_equal(jstr(j, "at"), "2026-01-04T16:00:00.005Z");
    assert_string_equal(jstr(j, "received"), "2026-01-04T16:00:00.009Z");
    json_t *l = json_object_get(j, "left");
    assert_int_equal(json_array_size(l), 2);
    assert_int_equal(json_integer_value(json_object_get(
        json_array_get(l, 1), "line")), 1);
    assert_string_equal(jstr(json_array_get(l, 0), "quantity"), "2490.5");
    assert_string_equal(jstr(json_array_get(l, 1), "quantity"), "0.003");
    assert_string_equal(jstr(json_array_get(l, 1), "value"),
                        "21000000.1");
    json_decref(j);
    /* a refusal without the home's text says the code's own; no frame */
    sample_ans(&v, PM_C_INSUFFICIENT);
    v.home_signed = 0, v.done_ms = 0, v.a.rsv = NULL, v.a.status = NULL;
    j = pmview_ans_json_new(&v);
    assert_true(json_is_false(json_object_get(j, "ok")));
    assert_string_equal(jstr(j, "code"), "insufficient");
    assert_string_equal(jstr(j, "text"), "less left than requested");
    assert_true(json_is_false(json_object_get(j, "signed")));
    assert_true(json_is_null(json_object_get(j, "received")));
    assert_true(json_is_null(json_object_get(j, "status")));
    assert_true(json_is_null(json_object_get(j, "reservation")));
    json_decref(j);
}

static void test_ans_text(void **state)
{
    (void)state;
    pmview_ans v;
    sample_ans(&v, PM_C_INSUFFICIENT);
    v.a.text = "only 2490.5 left\nFAKE line \"quoted\"";
    buf_t b;
    buf_init(&b, 1 << 16);
    assert_int_equal(pmview_ans_text(&v, &b), 0);
    assert_string_equal(b.p,
        "ok no\n"
        "code insufficient\n"
        "text only 2490.5 left FAKE line 'quoted'\n"
        "op reserve\n"
        "permit CQ-26AIL1\n"
        "key MV-1\n"
        "status valid\n"
        "kind automatic_import_licence\n"
        "usage quantity\n"
        "valid_from 2026-01-04T16:00:00.000Z\n"
        "valid_to 2026-01-04T16:00:01.000Z\n"
        "reservation reserved\n"
        "left line=0 quantity=2490.5 value=0\n"
        "left line=1 quantity=0.003 value=21000000.1\n"
        "request " RID "\n"
        "signed yes\n"
        "at 2026-01-04T16:00:00.005Z\n"
        "received 2026-01-04T16:00:00.009Z\n");
    buf_free(&b);
}

/* A two-line quantity permit as its home keeps it, with its record. */
static void sample_view(store_pm_view *v, buf_t *rec, arena_t *a)
{
    static const char json[] =
        "{\"kind\":\"permit\",\"document\":{\"type\":\"permit\",\"number\":"
        "\"26ail1\"},\"permit\":{\"kind\":\"automatic_import_licence\","
        "\"usage\":\"quantity\",\"valid_from\":\"2026-01-05\",\"valid_to\":"
        "\"2026-07-04\"},\"parties\":[{\"role\":\"holder\",\"name\":\"重庆铜业"
        "\",\"id\":\"91500000MA5U7QX45Q\"}],\"goods\":[{\"seq\":1,"
        "\"hs_code\":\"7403111100\",\"description\":\"精炼铜 阴极\","
        "\"quantity\":2500.5,\"unit\":\"TNE\"},{\"seq\":2,\"quantity\":10,"
        "\"unit\":\"TNE\",\"value\":99.5,\"currency\":\"USD\"}]}";
    model_record *r;
    err_t e;
    assert_int_equal(model_json_read(json, strlen(json), a, &r, &e), 0);
    memset(v, 0, sizeof *v);
    if (pmrec_permit(r, "CQ", a, &v->p, &e))
        fail_msg("pmrec_permit: %s", e.msg);
    assert_int_equal(model_pack(r, rec, &e), 0);
    v->rec = (const unsigned char *)rec->p, v->rec_n = rec->len;
    v->status = "valid", v->why = NULL, v->uses = 2, v->nbal = 1;
    v->bal[0] = (store_pm_bal){0, 2510500, 0, 10000, 0, 500, 0};
    v->issued_ms = (int64_t)T0, v->updated_ms = (int64_t)T0 + 60000;
}

static void test_view_json_and_text(void **state)
{
    (void)state;
    arena_t a;
    buf_t rec, b;
    store_pm_view v;
    arena_init(&a, 1 << 22);
    buf_init(&rec, 1 << 16);
    buf_init(&b, 1 << 16);
    sample_view(&v, &rec, &a);
    json_t *j = pmview_view_json_new(&v);
    assert_string_equal(jstr(j, "id"), "CQ-26AIL1");
    assert_string_equal(jstr(j, "issuer_status"), "valid");
    assert_true(json_is_null(json_object_get(j, "why")));
    assert_string_equal(jstr(json_object_get(j, "holder"), "id"),
                        "91500000MA5U7QX45Q");
    json_t *l0 = json_array_get(json_object_get(j, "lines"), 0);
    assert_string_equal(jstr(l0, "quantity"), "2500.5");
    assert_true(json_is_null(json_object_get(l0, "value")));
    json_t *b0 = json_array_get(json_object_get(j, "balances"), 0);
    json_t *q = json_object_get(b0, "quantity");
    assert_string_equal(jstr(q, "total"), "2510.5");
    assert_string_equal(jstr(q, "used"), "10");
    assert_string_equal(jstr(q, "reserved"), "0.5");
    assert_string_equal(jstr(q, "left"), "2500");
    assert_true(json_is_null(json_object_get(b0, "value"))); /* unlimited */
    assert_int_equal(json_integer_value(json_object_get(j, "uses")), 2);
    assert_string_equal(jstr(json_object_get(json_object_get(j, "record"),
                                              "document"), "number"),
                        "26ail1");
    json_decref(j);
    assert_int_equal(pmview_view_text(&v, &b), 0);
    assert_non_null(strstr(b.p, "\nholder id=91500000MA5U7QX45Q "
                           "name=重庆铜业\n"));
    assert_non_null(strstr(b.p, "\nlines line=1 hs=7403111100 description="
                           "\"精炼铜 阴极\" quantity=2500.5 unit=TNE\n"));
    assert_non_null(strstr(b.p, "\nbalances line=0 quantity.total=2510.5 "
                           "quantity.used=10 quantity.reserved=0.5 "
                           "quantity.left=2500\n"));
    assert_non_null(strstr(b.p, "\nuses 2\n"));
    assert_null(strstr(b.p, "record")); /* --json shows it */
    buf_free(&b);
    buf_free(&rec);
    arena_free(&a);
}

static void test_hist_json_and_text(void **state)
{
    (void)state;
    store_pm_hist h = {"1767542400005-0", "reserve", "MV-1", "SN", RID,
                       "ok", "", "0:2490500:0,1:3:0", (int64_t)T0 + 5};
    json_t *j = pmview_hist_json_new(&h);
    assert_string_equal(jstr(j, "request"), RID);
    assert_true(json_is_null(json_object_get(j, "text")));
    json_t *l = json_object_get(j, "left");
    assert_int_equal(json_array_size(l), 2);
    assert_string_equal(jstr(json_array_get(l, 0), "quantity"), "2490.5");
    json_decref(j);
    buf_t b;
    buf_init(&b, 1 << 12);
    assert_int_equal(pmview_hist_text(&h, &b), 0);
    assert_string_equal(b.p, "pos=1767542400005-0 op=reserve key=MV-1 by=SN "
                        "request=" RID " code=ok left=0:2490.5:0,1:0.003:0 "
                        "at=2026-01-04T16:00:00.005Z\n");
    /* a left the ledger did not write as expected is shown as it is */
    h = (store_pm_hist){"2-0", "suspend", "", "operator", "", "", "fraud "
                        "suspected", "x:1", (int64_t)T0};
    j = pmview_hist_json_new(&h);
    assert_string_equal(jstr(j, "left"), "x:1");
    json_decref(j);
    buf_reset(&b);
    assert_int_equal(pmview_hist_text(&h, &b), 0);
    assert_string_equal(b.p, "pos=2-0 op=suspend by=operator text=\"fraud "
                        "suspected\" left=x:1 at=2026-01-04T16:00:00.000Z\n");
    buf_free(&b);
}

static void test_at_home(void **state)
{
    (void)state;
    assert_true(pmview_at_home("CQ", "CQ-26AIL1"));
    assert_false(pmview_at_home("CQ", "SN-26AIL1"));
    assert_false(pmview_at_home("CQ", "CQX26AIL1"));
    assert_false(pmview_at_home(NULL, "CQ-1"));
}

/* ---- asking a home (Redis) ---- */

/* eportd's loop played by the test: each queued request answered with
 * code (after delay_ms), with a frame standing for the home's envelope
 * unless frame is NULL. */
typedef struct answerer {
    const char *prefix;
    pm_code code;
    const char *frame;
    int64_t delay_ms;
    int want, answered;
    store *st;
    store_pos pos;
    arena_t a;
} answerer;

static int answer_one(void *ctx, store_pos pos, const char *rid,
                      const void *q, size_t n, err_t *e)
{
    answerer *x = ctx;
    pm_req r;
    x->pos = pos;
    int rc = pm_req_decode(q, n, &x->a, &r, e);
    if (rc)
        return rc;
    pmview_ans v;
    sample_ans(&v, x->code);
    pm_ans *s = &v.a;
    s->req = rid, s->op = r.op, s->permit = r.permit, s->key = r.key;
    s->text = x->code == PM_C_OK ? NULL : "only 2490.5 left";
    s->rsv = r.op == PM_OP_VERIFY ? NULL : s->rsv;
    buf_t p;
    buf_init(&p, PM_MAX_BYTES);
    store_pmq_res res;
    store_pmq_ans sa = {rid, s, NULL, 0, x->frame,
                        x->frame ? strlen(x->frame) : 0,
                        x->frame ? "F-ID" : NULL};
    if ((rc = pm_ans_encode(s, &p, e)) == 0) {
        sa.payload = p.p, sa.payload_n = p.len;
        rc = store_pmq_answer_many(x->st, &sa, 1, &res, e);
    }
    buf_free(&p);
    x->answered += rc == 0 && res.rc == 0;
    return rc;
}

/* Runs in a thread of its own (its own connection) or in the test's. */
static void *answer_main(void *arg)
{
    answerer *x = arg;
    err_t e;
    arena_init(&x->a, 1 << 20);
    if (store_open(g_url, x->prefix, &x->st, &e))
        return NULL;
    nanosleep(&(struct timespec){x->delay_ms / 1000,
                                 (x->delay_ms % 1000) * 1000000}, NULL);
    for (int i = 0; i < 500 && x->answered < x->want; i++) {
        store_pmq_after(x->st, x->pos, 16, answer_one, x, &e);
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    store_close(x->st);
    arena_free(&x->a);
    return NULL;
}

static void test_request_answered(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "pv1:");
    answerer x = {.prefix = "pv1:", .code = PM_C_OK, .frame = "FRAME",
                  .delay_ms = 50, .want = 1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, answer_main, &x), 0);
    pm_req q = {.op = PM_OP_RESERVE, .permit = "SN-26AIL1", .key = "MV-1",
                .nlines = 1, .holder = "91500000MA5U7QX45Q"};
    q.lines[0] = (pm_amount){0, 10000, 0};
    arena_t a;
    arena_init(&a, 1 << 20);
    pmview_ans v;
    err_t e;
    int rc = pmview_request(st, &q, 5000, &a, &v, &e);
    pthread_join(th, NULL);
    if (rc)
        fail_msg("pmview_request: %s", e.msg);
    assert_int_equal(msgid_parse(v.rid, NULL, &e), 0);
    assert_string_equal(v.a.req, v.rid);
    assert_int_equal(v.a.code, PM_C_OK);
    assert_string_equal(v.a.permit, "SN-26AIL1");
    assert_string_equal(v.a.rsv, "reserved");
    assert_true(v.home_signed);
    assert_true(v.done_ms > 0);
    /* the newest answer about it is what show gives elsewhere */
    pmview_show s;
    assert_int_equal(pmview_show_load(st, "CQ", "SN-26AIL1", 0, 0, &a, &s,
                                      &e), 0);
    assert_false(s.at_home);
    assert_string_equal(s.home, "SN");
    assert_string_equal(s.ans.rid, v.rid);
    json_t *j = pmview_show_json_new(&s);
    assert_string_equal(jstr(j, "source"), "answer");
    assert_string_equal(jstr(json_object_get(j, "answer"), "request"), v.rid);
    json_decref(j);
    arena_free(&a);
    store_close(st);
}

static int collect(void *ctx, const store_pm_hist *h, const pmview_req *r,
                   err_t *e)
{
    (void)e;
    assert_null(h);
    buf_t *b = ctx;
    return pmview_req_text(r, b);
}

static void test_request_timeout_then_answered(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "pv2:");
    pm_req q = {.op = PM_OP_VERIFY, .permit = "SN-26AIL2"};
    arena_t a;
    arena_init(&a, 1 << 20);
    pmview_ans v;
    err_t e;
    assert_int_equal(pmview_request(st, &q, 100, &a, &v, &e), ERR_AGAIN);
    char want[200];
    snprintf(want, sizeof want, "still queued: request %s; the home SN has "
             "not answered within 100 ms", v.rid);
    assert_string_equal(e.msg, want);
    assert_int_equal(pmview_answer_get(st, v.rid, &a, &v, &e), ERR_AGAIN);
    /* no answer held yet: show says to verify first */
    pmview_show s;
    assert_int_equal(pmview_show_load(st, "CQ", "SN-26AIL2", 0, 0, &a, &s,
                                      &e), ERR_NOTFOUND);
    assert_string_equal(e.msg, "permit SN-26AIL2: no answer held here (its "
                        "home is SN): verify it first");
    /* this node's history of it: the request, still queued */
    buf_t b;
    buf_init(&b, 1 << 14);
    assert_int_equal(pmview_history(st, "CQ", "SN-26AIL2", 100, &a, collect,
                                    &b, &e), 1);
    if (!strstr(b.p, " op=verify permit=SN-26AIL2 state=queued queued="))
        fail_msg("%s", b.p);
    /* the home answers later (refused, the answer made here: no frame) */
    answerer x = {.prefix = "pv2:", .code = PM_C_SUSPENDED, .want = 1};
    answer_main(&x);
    assert_int_equal(x.answered, 1);
    assert_int_equal(pmview_answer_get(st, v.rid, &a, &v, &e), 0);
    assert_int_equal(v.a.code, PM_C_SUSPENDED);
    assert_false(v.home_signed);
    buf_reset(&b);
    assert_int_equal(pmview_history(st, "CQ", "SN-26AIL2", 100, &a, collect,
                                    &b, &e), 1);
    if (!strstr(b.p, " op=verify permit=SN-26AIL2 state=answered queued=") ||
        !strstr(b.p, " code=suspended answer.text=\"only 2490.5 left\" "
                "answer.status=valid answer.left=0:2490.5:0,1:0.003:"
                "21000000.1 answer.signed=no answer.at=2026-01-04T16:00:00."
                "005Z\n"))
        fail_msg("%s", b.p);
    assert_int_equal(pmview_show_load(st, "CQ", "SN-26AIL2", 0, 0, &a, &s,
                                      &e), 0);
    buf_free(&b);
    arena_free(&a);
    store_close(st);
}

static void test_request_refused_before_queueing(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "pv3:");
    arena_t a;
    arena_init(&a, 1 << 20);
    pmview_ans v;
    err_t e;
    pm_req q = {.op = PM_OP_RESERVE, .permit = "SN-26AIL3", .key = "MV-1"};
    assert_int_equal(pmview_request(st, &q, 100, &a, &v, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "lines"));
    q = (pm_req){.op = PM_OP_VERIFY, .permit = "sn-bad"};
    assert_int_equal(pmview_request(st, &q, 100, &a, &v, &e), ERR_INVALID);
    assert_int_equal(store_pmq_waiting_len(st, &e), 0);
    pmview_show s;
    assert_int_equal(pmview_show_load(st, "CQ", "nope", 0, 0, &a, &s, &e),
                     ERR_INVALID);
    arena_free(&a);
    store_close(st);
}

/* ---- a permit homed here ---- */

static int hist_ops(void *ctx, const store_pm_hist *h, const pmview_req *r,
                    err_t *e)
{
    (void)e;
    assert_null(r);
    return buf_printf(ctx, "%s,", h->op);
}

static int count_rows(void *ctx, const store_pm_view *v, err_t *e)
{
    (void)e;
    assert_string_equal(v->p.id, "CQ-26AIL1");
    ++*(int *)ctx;
    return 0;
}

static void test_home(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "pv4:");
    arena_t a;
    buf_t rec, b;
    store_pm_view v;
    pmview_show s;
    err_t e;
    int created = 0, rows = 0;
    arena_init(&a, 1 << 22);
    buf_init(&rec, 1 << 16);
    buf_init(&b, 1 << 16);
    sample_view(&v, &rec, &a);
    if (store_pm_issue(st, &v.p, rec.p, rec.len, (int64_t)T0, &created, &e))
        fail_msg("store_pm_issue: %s", e.msg);
    assert_true(created);
    assert_int_equal(pmview_show_load(st, "CQ", "CQ-26AIL1", 1, 0, &a, &s,
                                      &e), 0); /* fresh: the ledger is */
    assert_true(s.at_home);
    assert_string_equal(s.view.p.id, "CQ-26AIL1");
    assert_int_equal(s.view.p.nlines, 2);
    json_t *j = pmview_show_json_new(&s);
    assert_string_equal(jstr(j, "source"), "ledger");
    assert_string_equal(jstr(json_object_get(json_object_get(j, "view"),
                                             "record"), "kind"), "permit");
    json_decref(j);
    assert_int_equal(pmview_list(st, 10, &a, count_rows, &rows, &e), 1);
    assert_int_equal(rows, 1);
    assert_int_equal(store_pm_set_status(st, "CQ-26AIL1", "suspended",
                                         "under review", "operator:t",
                                         (int64_t)T0 + 1, &e), 0);
    assert_int_equal(pmview_show_load(st, "CQ", "CQ-26AIL1", 0, 0, &a, &s,
                                      &e), 0);
    assert_string_equal(s.view.status, "suspended");
    assert_string_equal(s.view.why, "under review");
    assert_true(pmview_history(st, "CQ", "CQ-26AIL1", 100, &a, hist_ops, &b,
                               &e) >= 2);
    assert_string_equal(b.p, "issue,suspend,");
    /* not issued here: both say so */
    assert_int_equal(pmview_show_load(st, "CQ", "CQ-NONE", 0, 0, &a, &s, &e),
                     ERR_NOTFOUND);
    assert_string_equal(e.msg, "permit CQ-NONE: not issued here (this node, "
                        "CQ, is its home)");
    assert_int_equal(pmview_history(st, "CQ", "CQ-NONE", 100, &a, hist_ops,
                                    &b, &e), ERR_NOTFOUND);
    buf_free(&b);
    buf_free(&rec);
    arena_free(&a);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ans_json),
        cmocka_unit_test(test_ans_text),
        cmocka_unit_test(test_view_json_and_text),
        cmocka_unit_test(test_hist_json_and_text),
        cmocka_unit_test(test_at_home),
        cmocka_unit_test(test_request_answered),
        cmocka_unit_test(test_request_timeout_then_answered),
        cmocka_unit_test(test_request_refused_before_queueing),
        cmocka_unit_test(test_home),
    };
    return cmocka_run_group_tests(tests, stu_group_setup, stu_group_teardown);
}
