/* Unit tests for the permit ledger at its home (store_pm.c,
 * store_pm_query.c, store_pm_lua.c) against a private redis-server:
 * issuing (again: unchanged, a status change, a conflict), every refusal
 * code, exhaustion under 1000 reserves in batches (exact counts, never
 * below zero), idempotent reserves and key reuse, confirm and cancel,
 * expiry (returned once, also when a confirm finds it lapsed), per_line,
 * value and single-use rules, the issuer's acts, the history in order,
 * get and list, and a lost script cache. Every answer is checked against
 * the wire rules (pm_ans_validate). Each test has its own key prefix, so
 * they share one server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "msgid.h"
#include "store_int.h" /* SCRIPT FLUSH, as a restarted Redis */
#include "store_pm.h"
#include "store_test_util.h"

#define T0 1767542400000LL       /* 2026-01-04T16:00:00Z */
#define DAY 86400000LL
#define TTL 60000LL

/* A permit of usage with nl lines numbered 1.., each qty[i] / value[i]
 * thousandths, valid from T0 - from_d days to T0 + to_d days. */
static void mk(pm_permit *p, const char *id, const char *usage, uint32_t nl,
               const uint64_t *qty, const uint64_t *value)
{
    memset(p, 0, sizeof *p);
    p->id = id, p->number = id + 3, p->kind = "import_licence";
    p->usage = usage, p->status = "valid", p->authority = "CQSWW";
    p->region = "CQ", p->holder_id = "91500000MA5U7QX45Q";
    p->holder_name = "Chongqing Copper";
    p->from_ms = (uint64_t)(T0 - DAY), p->to_ms = (uint64_t)(T0 + 180 * DAY);
    p->nlines = nl;
    for (uint32_t i = 0; i < nl; i++)
        p->lines[i] = (pm_line){i + 1, "7403111100", "copper cathodes",
                                qty && qty[i] ? "TNE" : NULL,
                                value && value[i] ? "USD" : NULL,
                                qty ? qty[i] : 0, value ? value[i] : 0};
}

static int issue(store *st, const pm_permit *p, int *created)
{
    err_t e = {0};
    int c = -1, rc = store_pm_issue(st, p, "rec", 3, T0, &c, &e);
    if (created)
        *created = c;
    return rc;
}

static void issue_ok(store *st, const pm_permit *p)
{
    err_t e = {0};
    int c;
    if (store_pm_issue(st, p, "rec", 3, T0, &c, &e) != 0)
        fail_msg("store_pm_issue: %s", e.msg);
    assert_int_equal(c, 1);
}

/* A request; for reserve one line (more with add_line). */
static pm_req rq(pm_op op, const char *id, const char *key, uint32_t line,
                 uint64_t qty, uint64_t value)
{
    pm_req q = {.op = op, .permit = id, .key = key, .at_ms = (uint64_t)T0};
    if (qty || value)
        q.lines[q.nlines++] = (pm_amount){line, qty, value};
    return q;
}

static void add_line(pm_req *q, uint32_t line, uint64_t qty, uint64_t value)
{
    q->lines[q->nlines++] = (pm_amount){line, qty, value};
}

/* Applies q[0..n) at now with TTL, by "SN"; answers valid on the wire. */
static void run(store *st, const pm_req *q, size_t n, int64_t now,
                arena_t *a, pm_ans *out)
{
    static char rid[STORE_PM_BATCH][MSGID_LEN + 1];
    store_pm_op ops[STORE_PM_BATCH] = {{0}};
    err_t e = {0};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(msgid_new(rid[i], &e), 0);
        ops[i] = (store_pm_op){&q[i], rid[i], "SN"};
    }
    if (store_pm_apply(st, ops, n, now, TTL, a, out, &e) != 0)
        fail_msg("store_pm_apply: %s", e.msg);
    for (size_t i = 0; i < n; i++) {
        if (pm_ans_validate(&out[i], &e) != 0)
            fail_msg("answer %zu: %s", i, e.msg);
        assert_int_equal(out[i].at_ms, (uint64_t)now);
        assert_int_equal(out[i].op, q[i].op);
    }
}

static pm_ans one(store *st, pm_req q, int64_t now, arena_t *a)
{
    pm_ans out;
    run(st, &q, 1, now, a, &out);
    return out;
}

static pm_code code1(store *st, pm_req q, int64_t now, arena_t *a)
{
    return one(st, q, now, a).code;
}

/* left[] as "<line>:<qty>:<value>,..." */
static const char *left_s(const pm_ans *x, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < x->nleft && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%u:%llu:%llu", i ? "," : "",
                              x->left[i].line,
                              (unsigned long long)x->left[i].qty,
                              (unsigned long long)x->left[i].value);
    return buf;
}

static void assert_left(const pm_ans *x, const char *want)
{
    char b[512];
    assert_string_equal(left_s(x, b, sizeof b), want);
}

static store_pm_view view(store *st, const char *id, int64_t now, arena_t *a)
{
    store_pm_view v;
    err_t e = {0};
    if (store_pm_get(st, id, now, a, &v, &e) != 0)
        fail_msg("store_pm_get: %s", e.msg);
    return v;
}

static const char *rsv_state(store *st, const char *id, const char *key,
                             arena_t *a)
{
    const char *s = NULL, *l = NULL;
    err_t e = {0};
    int rc = store_pm_reservation(st, id, key, a, &s, &l, &e);
    return rc == ERR_NOTFOUND ? "none" : rc == 0 ? s : "error";
}

static uint64_t Q1[] = {500000}, Q2[] = {10000, 5000}, V2[] = {0, 100000};

/* Issued once; again unchanged; with a status only that changes; with
 * anything else a conflict; revoked is final. */
static void test_issue(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "pi:");
    arena_t a;
    arena_init(&a, 1 << 22);
    pm_permit p;
    mk(&p, "CQ-26AIL1", "quantity", 2, Q2, V2);
    int c;
    assert_int_equal(issue(st, &p, &c), 0);
    assert_int_equal(c, 1);
    assert_int_equal(issue(st, &p, &c), 0);
    assert_int_equal(c, 0);
    store_pm_view v = view(st, "CQ-26AIL1", T0, &a);
    assert_string_equal(v.status, "valid");
    assert_int_equal(v.p.nlines, 2);
    assert_int_equal(v.p.lines[1].line, 2);
    assert_int_equal(v.p.lines[1].qty, 5000);
    assert_int_equal(v.p.lines[1].value, 100000);
    assert_string_equal(v.p.lines[1].currency, "USD");
    assert_null(v.p.lines[0].currency);
    assert_string_equal(v.p.holder_id, "91500000MA5U7QX45Q");
    assert_int_equal(v.nbal, 1);
    assert_int_equal(v.bal[0].qty, 15000); /* the lines' sum */
    assert_int_equal(v.bal[0].value, 0);   /* usage quantity: not drawn */
    assert_int_equal(v.rec_n, 3);
    assert_memory_equal(v.rec, "rec", 3);
    assert_int_equal(v.issued_ms, T0);
    err_t e = {0};
    pm_permit q = p;
    q.lines[1].qty = 6000;
    assert_int_equal(store_pm_issue(st, &q, "r", 1, T0, &c, &e), ERR_CONFLICT);
    assert_string_equal(e.msg, "permit CQ-26AIL1 exists with other lines: "
                        "issue a new number");
    q = p, q.to_ms += 1;
    assert_int_equal(store_pm_issue(st, &q, "r", 1, T0, &c, &e), ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "other validity"));
    q = p, q.holder_id = "X";
    assert_int_equal(store_pm_issue(st, &q, "r", 1, T0, &c, &e), ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "other holder"));
    q = p, q.status = "suspended";
    assert_int_equal(issue(st, &q, &c), 0);
    assert_int_equal(c, 0);
    assert_string_equal(view(st, "CQ-26AIL1", T0, &a).status, "suspended");
    q.status = "revoked";
    assert_int_equal(issue(st, &q, &c), 0);
    assert_int_equal(issue(st, &q, &c), 0); /* the same: unchanged */
    q.status = "valid";
    assert_int_equal(store_pm_issue(st, &q, "r", 1, T0, &c, &e), ERR_PHASE);
    assert_string_equal(view(st, "CQ-26AIL1", T0, &a).status, "revoked");
    q = p, q.usage = "sometimes";
    assert_int_equal(store_pm_issue(st, &q, "r", 1, T0, &c, &e), ERR_INVALID);
    q = p, q.id = "cq-1";
    assert_int_equal(store_pm_issue(st, &q, "r", 1, T0, &c, &e), ERR_INVALID);
    arena_free(&a);
    store_close(st);
}

/* Every refusal, each with its own code, in the order of the checks. */
static void test_refusals(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "pr:");
    arena_t a;
    arena_init(&a, 1 << 22);
    pm_permit p;
    const char *ids[] = {"CQ-OK", "CQ-REV", "CQ-SUS", "CQ-EARLY", "CQ-LATE"};
    for (int i = 0; i < 5; i++) {
        mk(&p, ids[i], "quantity", 1, Q1, NULL);
        if (i == 3)
            p.from_ms = (uint64_t)(T0 + DAY), p.to_ms = p.from_ms + 9 * DAY;
        if (i == 4)
            p.from_ms = (uint64_t)(T0 - 9 * DAY), p.to_ms = (uint64_t)(T0 - 1);
        issue_ok(st, &p);
    }
    err_t e = {0};
    assert_int_equal(store_pm_set_status(st, "CQ-REV", "revoked", "fraud",
                                         "operator", T0, &e), 0);
    assert_int_equal(store_pm_set_status(st, "CQ-SUS", "suspended", NULL,
                                         "operator", T0, &e), 0);
    pm_ans x = one(st, rq(PM_OP_RESERVE, "CQ-NONE", "K", 0, 1000, 0), T0, &a);
    assert_int_equal(x.code, PM_C_UNKNOWN);
    assert_null(x.status);
    x = one(st, rq(PM_OP_RESERVE, "CQ-REV", "K", 0, 1000, 0), T0, &a);
    assert_int_equal(x.code, PM_C_REVOKED);
    assert_string_equal(x.text, "the issuer revoked the permit: fraud");
    assert_string_equal(x.status, "revoked");
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-SUS", "K", 0, 1000, 0),
                           T0, &a), PM_C_SUSPENDED);
    x = one(st, rq(PM_OP_RESERVE, "CQ-EARLY", "K", 0, 1000, 0), T0, &a);
    assert_int_equal(x.code, PM_C_NOT_YET_VALID);
    assert_string_equal(x.status, "valid");
    x = one(st, rq(PM_OP_RESERVE, "CQ-LATE", "K", 0, 1000, 0), T0, &a);
    assert_int_equal(x.code, PM_C_EXPIRED);
    assert_string_equal(x.status, "expired");
    pm_req q = rq(PM_OP_RESERVE, "CQ-OK", "K", 0, 1000, 0);
    q.holder = "SOMEONE-ELSE";
    assert_int_equal(code1(st, q, T0, &a), PM_C_HOLDER);
    q.holder = "91500000MA5U7QX45Q";
    assert_int_equal(code1(st, q, T0, &a), PM_C_OK);
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-OK", "K", 0, 2000, 0), T0,
                           &a), PM_C_KEY_REUSE);
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-OK", "K2", 9, 1000, 0),
                           T0, &a), PM_C_UNKNOWN_LINE);
    x = one(st, rq(PM_OP_RESERVE, "CQ-OK", "K2", 1, 499001, 0), T0, &a);
    assert_int_equal(x.code, PM_C_INSUFFICIENT);
    assert_string_equal(x.text, "the permit: quantity 499 left, 499.001 "
                        "requested");
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-OK", "K2", 0, 0, 5), T0,
                           &a), PM_C_BAD_REQUEST); /* no quantity to draw */
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-OK", "K2", 1, 0, 0), T0,
                           &a), PM_C_BAD_REQUEST); /* no lines: caught here */
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-OK", "K3", 1, 499000, 0),
                           T0, &a), PM_C_OK);
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-OK", "K4", 1, 1, 0), T0,
                           &a), PM_C_EXHAUSTED);
    assert_int_equal(code1(st, rq(PM_OP_CONFIRM, "CQ-OK", "K9", 0, 0, 0), T0,
                           &a), PM_C_NO_RESERVATION);
    assert_int_equal(code1(st, rq(PM_OP_CONFIRM, "CQ-OK", "K3", 0, 0, 0), T0,
                           &a), PM_C_OK);
    assert_int_equal(code1(st, rq(PM_OP_CANCEL, "CQ-OK", "K3", 0, 0, 0), T0,
                           &a), PM_C_CONFIRMED);
    assert_int_equal(code1(st, rq(PM_OP_CANCEL, "CQ-OK", "K", 0, 0, 0), T0,
                           &a), PM_C_OK);
    assert_int_equal(code1(st, rq(PM_OP_CONFIRM, "CQ-OK", "K", 0, 0, 0), T0,
                           &a), PM_C_RSV_CANCELLED);
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-OK", "K5", 0, 1000, 0),
                           T0, &a), PM_C_OK);
    assert_int_equal(code1(st, rq(PM_OP_CONFIRM, "CQ-OK", "K5", 0, 0, 0),
                           T0 + TTL, &a), PM_C_RSV_EXPIRED);
    arena_free(&a);
    store_close(st);
}

/* 500 units, 1000 one-unit reserves in batches of 256: exactly 500 are
 * taken, never below zero, and the rest are told exhausted. */
static void test_exhaustion(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "px:");
    arena_t a;
    arena_init(&a, 1 << 24);
    pm_permit p;
    mk(&p, "CQ-500", "quantity", 1, Q1, NULL);
    issue_ok(st, &p);
    static pm_req q[1000];
    static pm_ans out[1000];
    static char keys[1000][16];
    for (int i = 0; i < 1000; i++) {
        snprintf(keys[i], sizeof keys[i], "MV-%04d", i);
        q[i] = rq(PM_OP_RESERVE, "CQ-500", keys[i], 0, 1000, 0);
    }
    int ok = 0, ex = 0;
    for (size_t at = 0; at < 1000; at += STORE_PM_BATCH) {
        size_t n = 1000 - at < STORE_PM_BATCH ? 1000 - at : STORE_PM_BATCH;
        run(st, q + at, n, T0, &a, out + at);
    }
    uint64_t prev = 500000;
    for (int i = 0; i < 1000; i++) {
        ok += out[i].code == PM_C_OK, ex += out[i].code == PM_C_EXHAUSTED;
        assert_int_equal(out[i].nleft, 1);
        assert_true(out[i].left[0].qty <= prev); /* never up, never below 0 */
        prev = out[i].left[0].qty;
    }
    assert_int_equal(ok, 500);
    assert_int_equal(ex, 500);
    assert_int_equal(out[499].code, PM_C_OK);
    assert_int_equal(out[500].code, PM_C_EXHAUSTED);
    assert_left(&out[999], "0:0:0");
    assert_string_equal(out[999].status, "exhausted");
    store_pm_view v = view(st, "CQ-500", T0, &a);
    assert_int_equal(v.uses, 500);
    assert_int_equal(v.bal[0].qty_rsv, 500000);
    assert_int_equal(v.bal[0].qty_used, 0);
    assert_string_equal(v.status, "exhausted");
    arena_free(&a);
    store_close(st);
}

/* A reserve retried under its key counts once; other amounts under it
 * are key reuse and change nothing. */
static void test_idempotent(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "pd:");
    arena_t a;
    arena_init(&a, 1 << 22);
    pm_permit p;
    mk(&p, "CQ-ID", "quantity", 2, Q2, NULL);
    issue_ok(st, &p);
    pm_req q = rq(PM_OP_RESERVE, "CQ-ID", "MV-1", 2, 1000, 0);
    add_line(&q, 1, 2000, 0);
    pm_req r2 = rq(PM_OP_RESERVE, "CQ-ID", "MV-1", 1, 2000, 0);
    add_line(&r2, 2, 1000, 0); /* the same lines in another order */
    pm_req batch[3] = {q, q, r2};
    pm_ans out[3];
    run(st, batch, 3, T0, &a, out);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out[i].code, PM_C_OK);
        assert_string_equal(out[i].rsv, "reserved");
        assert_left(&out[i], "0:12000:0");
    }
    pm_ans x = one(st, rq(PM_OP_RESERVE, "CQ-ID", "MV-1", 1, 2000, 0), T0, &a);
    assert_int_equal(x.code, PM_C_KEY_REUSE);
    assert_string_equal(x.rsv, "reserved");
    assert_left(&x, "0:12000:0");
    store_pm_view v = view(st, "CQ-ID", T0, &a);
    assert_int_equal(v.uses, 1);
    const char *s, *l;
    err_t e = {0};
    assert_int_equal(store_pm_reservation(st, "CQ-ID", "MV-1", &a, &s, &l, &e),
                     0);
    assert_string_equal(s, "reserved");
    assert_string_equal(l, "1:2000:0,2:1000:0");
    assert_int_equal(store_pm_reservation(st, "CQ-ID", "MV 1", &a, &s, &l, &e),
                     ERR_INVALID);
    assert_string_equal(rsv_state(st, "CQ-ID", "MV-2", &a), "none");
    x = one(st, rq(PM_OP_CONFIRM, "CQ-ID", "MV-1", 0, 0, 0), T0, &a);
    assert_int_equal(x.code, PM_C_OK);
    x = one(st, q, T0, &a); /* a reserve retried after the confirm */
    assert_int_equal(x.code, PM_C_OK);
    assert_string_equal(x.rsv, "confirmed");
    assert_left(&x, "0:12000:0");
    arena_free(&a);
    store_close(st);
}

/* reserved -> confirmed (the amounts move to used), confirmed again ok,
 * no cancel after; reserved -> cancelled (returned), cancelled again ok,
 * no confirm after. */
static void test_confirm_cancel(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "pc:");
    arena_t a;
    arena_init(&a, 1 << 22);
    pm_permit p;
    mk(&p, "CQ-CC", "quantity", 1, Q1, NULL);
    issue_ok(st, &p);
    pm_req r1 = rq(PM_OP_RESERVE, "CQ-CC", "A", 0, 100000, 0);
    pm_req r2 = rq(PM_OP_RESERVE, "CQ-CC", "B", 0, 50000, 0);
    pm_req b1[2] = {r1, r2};
    pm_ans out[2];
    run(st, b1, 2, T0, &a, out);
    assert_left(&out[1], "0:350000:0");
    pm_ans x = one(st, rq(PM_OP_CONFIRM, "CQ-CC", "A", 0, 0, 0), T0, &a);
    assert_int_equal(x.code, PM_C_OK);
    assert_string_equal(x.rsv, "confirmed");
    assert_left(&x, "0:350000:0");
    store_pm_view v = view(st, "CQ-CC", T0, &a);
    assert_int_equal(v.bal[0].qty_used, 100000);
    assert_int_equal(v.bal[0].qty_rsv, 50000);
    assert_int_equal(code1(st, rq(PM_OP_CONFIRM, "CQ-CC", "A", 0, 0, 0), T0,
                           &a), PM_C_OK);
    v = view(st, "CQ-CC", T0, &a);
    assert_int_equal(v.bal[0].qty_used, 100000); /* no change */
    x = one(st, rq(PM_OP_CANCEL, "CQ-CC", "A", 0, 0, 0), T0, &a);
    assert_int_equal(x.code, PM_C_CONFIRMED);
    assert_string_equal(x.rsv, "confirmed");
    x = one(st, rq(PM_OP_CANCEL, "CQ-CC", "B", 0, 0, 0), T0, &a);
    assert_int_equal(x.code, PM_C_OK);
    assert_string_equal(x.rsv, "cancelled");
    assert_left(&x, "0:400000:0");
    x = one(st, rq(PM_OP_CANCEL, "CQ-CC", "B", 0, 0, 0), T0, &a);
    assert_int_equal(x.code, PM_C_OK);
    assert_left(&x, "0:400000:0");
    assert_int_equal(code1(st, rq(PM_OP_CONFIRM, "CQ-CC", "B", 0, 0, 0), T0,
                           &a), PM_C_RSV_CANCELLED);
    assert_int_equal(code1(st, rq(PM_OP_CANCEL, "CQ-CC", "C", 0, 0, 0), T0,
                           &a), PM_C_NO_RESERVATION);
    v = view(st, "CQ-CC", T0, &a);
    assert_int_equal(v.uses, 1);
    assert_int_equal(v.bal[0].qty_rsv, 0);
    assert_string_equal(rsv_state(st, "CQ-CC", "A", &a), "confirmed");
    assert_string_equal(rsv_state(st, "CQ-CC", "B", &a), "cancelled");
    arena_free(&a);
    store_close(st);
}

/* Part of a write-off given back (goods returned after release): never
 * more than was written off under the key, however many returns; a held
 * draw is cancelled instead, and nothing is returned under a key that
 * holds nothing. */
static void test_return(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "pr:");
    arena_t a;
    arena_init(&a, 1 << 22);
    pm_permit p;
    mk(&p, "CQ-RT", "quantity", 1, Q1, NULL);
    issue_ok(st, &p);
    one(st, rq(PM_OP_RESERVE, "CQ-RT", "A", 0, 100000, 0), T0, &a);
    pm_ans x = one(st, rq(PM_OP_RETURN, "CQ-RT", "A", 0, 10000, 0), T0, &a);
    assert_int_equal(x.code, PM_C_BAD_REQUEST);
    assert_non_null(strstr(x.text, "cancel it instead"));
    one(st, rq(PM_OP_CONFIRM, "CQ-RT", "A", 0, 0, 0), T0, &a);
    x = one(st, rq(PM_OP_RETURN, "CQ-RT", "A", 0, 30000, 0), T0, &a);
    assert_int_equal(x.code, PM_C_OK);
    assert_string_equal(x.rsv, "confirmed");
    assert_left(&x, "0:430000:0"); /* 500000 - 100000 + 30000 */
    store_pm_view v = view(st, "CQ-RT", T0, &a);
    assert_int_equal(v.bal[0].qty_used, 70000);
    x = one(st, rq(PM_OP_RETURN, "CQ-RT", "A", 0, 70001, 0), T0, &a);
    assert_int_equal(x.code, PM_C_BAD_REQUEST);
    assert_non_null(strstr(x.text, "more than was written off under A"));
    x = one(st, rq(PM_OP_RETURN, "CQ-RT", "A", 0, 70000, 0), T0, &a);
    assert_int_equal(x.code, PM_C_OK);
    assert_left(&x, "0:500000:0");
    assert_int_equal(code1(st, rq(PM_OP_RETURN, "CQ-RT", "A", 0, 1, 0), T0, &a),
                     PM_C_BAD_REQUEST);
    assert_int_equal(code1(st, rq(PM_OP_RETURN, "CQ-RT", "Z", 0, 1, 0), T0, &a),
                     PM_C_NO_RESERVATION);
    v = view(st, "CQ-RT", T0, &a);
    assert_int_equal(v.bal[0].qty_used, 0);
    assert_int_equal(v.bal[0].qty_rsv, 0);
    arena_free(&a);
    store_close(st);
}

/* A reservation lapses at its expiry: the loop returns it once, and an
 * operation that meets it first does the same. */
static void test_expiry(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "pe:");
    arena_t a;
    arena_init(&a, 1 << 22);
    pm_permit p;
    mk(&p, "CQ-EX", "quantity", 1, Q1, NULL);
    issue_ok(st, &p);
    pm_req b[3] = {rq(PM_OP_RESERVE, "CQ-EX", "A", 0, 100000, 0),
                   rq(PM_OP_RESERVE, "CQ-EX", "B", 0, 100000, 0),
                   rq(PM_OP_RESERVE, "CQ-EX", "C", 0, 100000, 0)};
    pm_ans out[3];
    run(st, b, 3, T0, &a, out);
    assert_int_equal(code1(st, rq(PM_OP_CONFIRM, "CQ-EX", "C", 0, 0, 0), T0,
                           &a), PM_C_OK);
    err_t e = {0};
    assert_int_equal(store_pm_expire(st, T0 + TTL - 1, 100, &e), 0);
    assert_int_equal(store_pm_expire(st, T0 + TTL, 1, &e), 1);
    assert_int_equal(store_pm_expire(st, T0 + TTL, 100, &e), 1);
    assert_int_equal(store_pm_expire(st, T0 + TTL, 100, &e), 0);
    store_pm_view v = view(st, "CQ-EX", T0, &a);
    assert_int_equal(v.bal[0].qty_rsv, 0);
    assert_int_equal(v.bal[0].qty_used, 100000);
    assert_int_equal(v.uses, 1);
    assert_string_equal(rsv_state(st, "CQ-EX", "A", &a), "expired");
    pm_ans x = one(st, rq(PM_OP_CANCEL, "CQ-EX", "A", 0, 0, 0), T0 + TTL, &a);
    assert_int_equal(x.code, PM_C_OK);
    assert_string_equal(x.rsv, "expired");
    assert_left(&x, "0:400000:0");
    assert_int_equal(code1(st, b[0], T0 + TTL, &a), PM_C_RSV_EXPIRED);
    /* found lapsed by a confirm before the loop came */
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-EX", "D", 0, 1000, 0),
                           T0 + DAY, &a), PM_C_OK);
    x = one(st, rq(PM_OP_CONFIRM, "CQ-EX", "D", 0, 0, 0), T0 + DAY + TTL, &a);
    assert_int_equal(x.code, PM_C_RSV_EXPIRED);
    assert_left(&x, "0:400000:0");
    assert_int_equal(store_pm_expire(st, T0 + 2 * DAY, 100, &e), 0);
    v = view(st, "CQ-EX", T0, &a);
    assert_int_equal(v.bal[0].qty_rsv, 0);
    assert_int_equal(v.uses, 1);
    arena_free(&a);
    store_close(st);
}

/* per_line: each line against its own quantity and value; value: the
 * lines' values together; line 0 of a one-line per_line permit. */
static void test_per_line_and_value(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "pl:");
    arena_t a;
    arena_init(&a, 1 << 22);
    pm_permit p;
    mk(&p, "CQ-PL", "per_line", 2, Q2, V2);
    issue_ok(st, &p);
    pm_req q = rq(PM_OP_RESERVE, "CQ-PL", "A", 1, 4000, 0);
    add_line(&q, 2, 0, 50000);
    pm_ans x = one(st, q, T0, &a);
    assert_int_equal(x.code, PM_C_OK);
    assert_left(&x, "1:6000:0,2:5000:50000");
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-PL", "B", 0, 1000, 0), T0,
                           &a), PM_C_UNKNOWN_LINE);
    x = one(st, rq(PM_OP_RESERVE, "CQ-PL", "B", 1, 0, 1000), T0, &a);
    assert_int_equal(x.code, PM_C_BAD_REQUEST);
    assert_string_equal(x.text, "line 1 draws no quantity (usage per_line)");
    x = one(st, rq(PM_OP_RESERVE, "CQ-PL", "B", 2, 0, 60000), T0, &a);
    assert_int_equal(x.code, PM_C_INSUFFICIENT);
    assert_string_equal(x.text, "line 2: value 50 left, 60 requested");
    q = rq(PM_OP_RESERVE, "CQ-PL", "C", 1, 6000, 0);
    add_line(&q, 2, 0, 50000);
    x = one(st, q, T0, &a);
    assert_int_equal(x.code, PM_C_OK);
    assert_left(&x, "1:0:0,2:5000:0");
    assert_string_equal(x.status, "valid"); /* line 2's quantity is left */
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-PL", "D", 1, 1, 0), T0,
                           &a), PM_C_EXHAUSTED);
    q = rq(PM_OP_RESERVE, "CQ-PL", "D", 1, 1, 0);
    add_line(&q, 2, 6000, 0); /* line 1 none, line 2 not enough */
    assert_int_equal(code1(st, q, T0, &a), PM_C_INSUFFICIENT);
    store_pm_view v = view(st, "CQ-PL", T0, &a);
    assert_int_equal(v.nbal, 3);
    assert_int_equal(v.bal[0].qty, 15000);
    assert_int_equal(v.bal[0].qty_rsv, 10000);
    assert_int_equal(v.bal[0].value_rsv, 100000);
    assert_int_equal(v.bal[2].bucket, 2);
    assert_int_equal(v.bal[2].value_rsv, 100000);
    assert_int_equal(v.bal[1].qty_rsv, 10000);
    uint64_t vv[] = {100000, 200000};
    mk(&p, "CQ-VAL", "value", 2, NULL, vv);
    issue_ok(st, &p);
    x = one(st, rq(PM_OP_RESERVE, "CQ-VAL", "A", 1, 0, 250000), T0, &a);
    assert_int_equal(x.code, PM_C_OK); /* more than line 1: the sum counts */
    assert_left(&x, "0:0:50000");
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-VAL", "B", 0, 0, 60000),
                           T0, &a), PM_C_INSUFFICIENT);
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-VAL", "B", 0, 0, 50000),
                           T0, &a), PM_C_OK);
    x = one(st, rq(PM_OP_VERIFY, "CQ-VAL", NULL, 0, 0, 0), T0, &a);
    assert_int_equal(x.code, PM_C_EXHAUSTED);
    assert_string_equal(x.status, "exhausted");
    mk(&p, "CQ-PL1", "per_line", 1, Q1, NULL);
    issue_ok(st, &p);
    x = one(st, rq(PM_OP_RESERVE, "CQ-PL1", "A", 0, 1000, 0), T0, &a);
    assert_int_equal(x.code, PM_C_OK); /* line 0: its only line */
    assert_left(&x, "1:499000:0");
    arena_free(&a);
    store_close(st);
}

/* A single-use permit is drawn once, whatever the amounts; returned, it
 * can be drawn again. */
static void test_single_use(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "ps:");
    arena_t a;
    arena_init(&a, 1 << 22);
    pm_permit p;
    mk(&p, "CQ-R1", "single_use", 2, Q2, NULL);
    issue_ok(st, &p);
    assert_int_equal(view(st, "CQ-R1", T0, &a).bal[0].qty, 1000);
    pm_req b[2] = {rq(PM_OP_RESERVE, "CQ-R1", "A", 0, 1000, 0),
                   rq(PM_OP_RESERVE, "CQ-R1", "B", 2, 3, 0)};
    pm_ans out[2];
    run(st, b, 2, T0, &a, out);
    assert_int_equal(out[0].code, PM_C_OK);
    assert_left(&out[0], "0:0:0");
    assert_string_equal(out[0].status, "exhausted");
    assert_int_equal(out[1].code, PM_C_EXHAUSTED);
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-R1", "B", 3, 3, 0), T0,
                           &a), PM_C_UNKNOWN_LINE);
    assert_int_equal(code1(st, rq(PM_OP_CANCEL, "CQ-R1", "A", 0, 0, 0), T0,
                           &a), PM_C_OK);
    pm_ans x = one(st, b[1], T0, &a);
    assert_int_equal(x.code, PM_C_OK);
    assert_int_equal(code1(st, rq(PM_OP_CONFIRM, "CQ-R1", "B", 0, 0, 0), T0,
                           &a), PM_C_OK);
    store_pm_view v = view(st, "CQ-R1", T0, &a);
    assert_int_equal(v.uses, 1);
    assert_int_equal(v.bal[0].qty_used, 1000);
    assert_string_equal(v.status, "exhausted");
    arena_free(&a);
    store_close(st);
}

/* Suspend, reinstate, revoke: refusals follow, a reservation made
 * before is still confirmed; revoked is final. */
static void test_status(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "pt:");
    arena_t a;
    arena_init(&a, 1 << 22);
    pm_permit p;
    mk(&p, "CQ-ST", "quantity", 1, Q1, NULL);
    issue_ok(st, &p);
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-ST", "A", 0, 1000, 0), T0,
                           &a), PM_C_OK);
    err_t e = {0};
    assert_int_equal(store_pm_set_status(st, "CQ-ST", "suspended", "审计 audit",
                                         "operator", T0, &e), 0);
    assert_int_equal(store_pm_set_status(st, "CQ-ST", "suspended", NULL, "op",
                                         T0, &e), ERR_PHASE);
    pm_ans x = one(st, rq(PM_OP_VERIFY, "CQ-ST", "A", 0, 0, 0), T0, &a);
    assert_int_equal(x.code, PM_C_SUSPENDED);
    assert_string_equal(x.text, "the issuer suspended the permit: 审计 audit");
    assert_string_equal(x.rsv, "reserved");
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-ST", "B", 0, 1000, 0), T0,
                           &a), PM_C_SUSPENDED);
    assert_int_equal(code1(st, rq(PM_OP_CONFIRM, "CQ-ST", "A", 0, 0, 0), T0,
                           &a), PM_C_OK); /* released before: stands */
    assert_int_equal(store_pm_set_status(st, "CQ-ST", "valid", NULL, "op", T0,
                                         &e), 0);
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-ST", "B", 0, 1000, 0), T0,
                           &a), PM_C_OK);
    assert_int_equal(store_pm_set_status(st, "CQ-ST", "revoked", "forged",
                                         "op", T0, &e), 0);
    x = one(st, rq(PM_OP_CANCEL, "CQ-ST", "B", 0, 0, 0), T0, &a);
    assert_int_equal(x.code, PM_C_OK);
    assert_string_equal(x.status, "revoked");
    assert_int_equal(store_pm_set_status(st, "CQ-ST", "valid", NULL, "op", T0,
                                         &e), ERR_PHASE);
    assert_non_null(strstr(e.msg, "final"));
    assert_int_equal(store_pm_set_status(st, "CQ-ST", "suspended", NULL, "op",
                                         T0, &e), ERR_PHASE);
    assert_int_equal(store_pm_set_status(st, "CQ-NO", "revoked", NULL, "op",
                                         T0, &e), ERR_NOTFOUND);
    assert_int_equal(store_pm_set_status(st, "CQ-ST", "expired", NULL, "op",
                                         T0, &e), ERR_INVALID);
    assert_int_equal(store_pm_set_status(st, "CQ-ST", "valid", "a\nb", "op",
                                         T0, &e), ERR_INVALID);
    assert_int_equal(store_pm_set_status(st, "CQ-ST", "valid", "a\xc3(", "op",
                                         T0, &e), ERR_INVALID);
    store_pm_view v = view(st, "CQ-ST", T0, &a);
    assert_string_equal(v.status, "revoked");
    assert_string_equal(v.why, "forged");
    arena_free(&a);
    store_close(st);
}

typedef struct hs {
    int n;
    char s[32][160];
} hs;

static int got_hist(void *ctx, const store_pm_hist *h, err_t *e)
{
    (void)e;
    hs *g = ctx;
    assert_true(g->n < 32);
    assert_true(h->pos[0] && h->at_ms > 0);
    snprintf(g->s[g->n++], sizeof g->s[0], "%s|%s|%s|%s|%s|%s|%s", h->op,
             h->key, h->by, h->req[0] ? "R" : "", h->code, h->text, h->left);
    return 0;
}

/* Every operation of a known permit, verifications included, one entry,
 * in order. */
static void test_history(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "ph:");
    arena_t a;
    arena_init(&a, 1 << 22);
    pm_permit p;
    mk(&p, "CQ-H", "quantity", 1, Q1, NULL);
    issue_ok(st, &p);
    pm_req b[3] = {rq(PM_OP_VERIFY, "CQ-H", NULL, 0, 0, 0),
                   rq(PM_OP_RESERVE, "CQ-H", "A", 0, 1000, 0),
                   rq(PM_OP_RESERVE, "CQ-H", "B", 0, 600000, 0)};
    pm_ans out[3];
    run(st, b, 3, T0, &a, out);
    assert_int_equal(code1(st, rq(PM_OP_CONFIRM, "CQ-H", "A", 0, 0, 0), T0,
                           &a), PM_C_OK);
    err_t e = {0};
    assert_int_equal(store_pm_set_status(st, "CQ-H", "suspended", "check",
                                         "operator", T0, &e), 0);
    assert_int_equal(store_pm_set_status(st, "CQ-H", "valid", NULL,
                                         "operator", T0, &e), 0);
    assert_int_equal(code1(st, rq(PM_OP_RESERVE, "CQ-H", "C", 0, 1000, 0),
                           T0 + 1, &a), PM_C_OK);
    assert_int_equal(store_pm_expire(st, T0 + 1 + TTL, 10, &e), 1);
    hs g = {0};
    assert_int_equal(store_pm_history(st, "CQ-H", 100, got_hist, &g, &e), 9);
    const char *want[] = {
        "issue||issuer||||0:500000:0",
        "verify||SN|R|ok||0:500000:0",
        "reserve|A|SN|R|ok||0:499000:0",
        "reserve|B|SN|R|insufficient|the permit: quantity 499 left, 600 "
        "requested|0:499000:0",
        "confirm|A|SN|R|ok||0:499000:0",
        "suspend||operator|||check|0:499000:0",
        "reinstate||operator||||0:499000:0",
        "reserve|C|SN|R|ok||0:498000:0",
        "expire|C||R|ok||0:499000:0"};
    for (int i = 0; i < 9; i++)
        assert_string_equal(g.s[i], want[i]);
    g.n = 0;
    assert_int_equal(store_pm_history(st, "CQ-H", 2, got_hist, &g, &e), 2);
    assert_int_equal(store_pm_history(st, "CQ-NONE", 5, got_hist, &g, &e), 0);
    arena_free(&a);
    store_close(st);
}

typedef struct ids {
    int n;
    char s[8][48];
    int64_t at[8];
} ids;

static int got_id(void *ctx, const char *id, int64_t issued_ms, err_t *e)
{
    (void)e;
    ids *g = ctx;
    assert_true(g->n < 8);
    snprintf(g->s[g->n], sizeof g->s[0], "%s", id);
    g->at[g->n++] = issued_ms;
    return 0;
}

/* Permits newest first; a permit as kept; unknown and bad ids. */
static void test_get_list(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "pg:");
    arena_t a;
    arena_init(&a, 1 << 22);
    pm_permit p;
    err_t e = {0};
    int c;
    mk(&p, "CQ-G1", "quantity", 1, Q1, NULL);
    assert_int_equal(store_pm_issue(st, &p, "x", 1, T0, &c, &e), 0);
    mk(&p, "CQ-G2", "per_line", 2, Q2, V2);
    p.holder_id = NULL, p.authority = NULL;
    assert_int_equal(store_pm_issue(st, &p, NULL, 0, T0 + 5, &c, &e), 0);
    ids g = {0};
    assert_int_equal(store_pm_list(st, 10, got_id, &g, &e), 2);
    assert_string_equal(g.s[0], "CQ-G2");
    assert_int_equal(g.at[0], T0 + 5);
    assert_string_equal(g.s[1], "CQ-G1");
    g.n = 0;
    assert_int_equal(store_pm_list(st, 1, got_id, &g, &e), 1);
    store_pm_view v = view(st, "CQ-G2", T0 + 6, &a);
    assert_string_equal(v.p.id, "CQ-G2");
    assert_string_equal(v.p.number, "G2");
    assert_string_equal(v.p.usage, "per_line");
    assert_null(v.p.holder_id);
    assert_null(v.p.authority);
    assert_null(v.why);
    assert_null(v.rec);
    assert_int_equal(v.nbal, 3);
    assert_int_equal(v.bal[1].bucket, 1);
    assert_int_equal(v.bal[1].qty, 10000);
    assert_int_equal(v.bal[2].value, 100000);
    assert_int_equal(v.bal[0].value, 100000);
    assert_int_equal(v.p.from_ms, (uint64_t)(T0 - DAY));
    assert_int_equal(v.issued_ms, T0 + 5);
    assert_string_equal(view(st, "CQ-G2", T0 + 181 * DAY, &a).status,
                        "expired");
    assert_int_equal(store_pm_get(st, "CQ-G3", T0, &a, &v, &e), ERR_NOTFOUND);
    assert_int_equal(store_pm_get(st, "G3", T0, &a, &v, &e), ERR_INVALID);
    arena_free(&a);
    store_close(st);
}

/* Bad calls refused whole; a lost script cache reloaded. */
static void test_bad_calls_and_noscript(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "pn:");
    arena_t a;
    arena_init(&a, 1 << 22);
    pm_permit p;
    mk(&p, "CQ-N", "quantity", 1, Q1, NULL);
    issue_ok(st, &p);
    pm_req q = rq(PM_OP_RESERVE, "CQ-N", "A", 0, 1000, 0);
    store_pm_op op = {&q, "01JGZ0000000000000000000AA", NULL};
    pm_ans out;
    err_t e = {0};
    assert_int_equal(store_pm_apply(st, &op, 1, T0, TTL, &a, &out, &e),
                     ERR_INVALID);
    op.by = "SN";
    assert_int_equal(store_pm_apply(st, &op, 1, T0, 0, &a, &out, &e),
                     ERR_INVALID);
    assert_int_equal(store_pm_apply(st, &op, 0, T0, TTL, &a, &out, &e), 0);
    store *other = stu_open(g_url, "px2:");
    st_args f = {0};
    st_arg_s(&f, "SCRIPT"), st_arg_s(&f, "FLUSH");
    redisReply *r;
    assert_int_equal(st_cmd(other, &f, -1, &r, &e), 0);
    freeReplyObject(r);
    assert_int_equal(store_pm_apply(st, &op, 1, T0, TTL, &a, &out, &e), 0);
    assert_int_equal(out.code, PM_C_OK);
    assert_int_equal(st_cmd(other, &f, -1, &r, &e), 0);
    freeReplyObject(r);
    assert_int_equal(store_pm_expire(st, T0 + TTL, 10, &e), 1);
    store_close(other);
    arena_free(&a);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_exhaustion),
        cmocka_unit_test(test_idempotent),
        cmocka_unit_test(test_confirm_cancel),
        cmocka_unit_test(test_return),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_per_line_and_value),
        cmocka_unit_test(test_single_use),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_get_list),
        cmocka_unit_test(test_bad_calls_and_noscript),
    };
    return cmocka_run_group_tests(tests, stu_group_setup, stu_group_teardown);
}
