/* Unit tests for the alert rules: the rule file (the shipped one equals
 * the built-in rules; each refusal with its line and column) and their
 * evaluation against Redis: node_down raised and cleared, link_stalled,
 * queue_growing and signature_failures from the health history, a rule
 * turned off clearing its alerts, movement_overdue and discrepancy from
 * the ledger's states, and every change in the log and the event feed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fed_test_util.h"
#include "fed_int.h"
#include "mvref.h"
#include "mvrule.h"

#define T0 1772700000000LL

/* ---- the rule file ---- */

static void test_shipped_rules(void **state)
{
    (void)state;
    const char *ups[] = {".", "..", "../..", "../../.."};
    char path[256];
    fed_rules got, want;
    err_t e = {0};
    size_t i = 0;
    for (; i < 4; i++) {
        snprintf(path, sizeof path, "%s/conf/alerts.yaml", ups[i]);
        if (access(path, R_OK) == 0)
            break;
    }
    assert_true(i < 4);
    if (fed_rules_load(path, &got, &e))
        fail_msg("%s", e.msg);
    fed_rules_builtin(&want);
    assert_memory_equal(&got, &want, sizeof got);
}

static void bad(const char *text, const char *want)
{
    fed_rules r;
    err_t e = {0};
    assert_int_equal(fed_rules_parse("r.yaml", text, strlen(text), &r, &e),
                     ERR_CONFIG);
    if (!strstr(e.msg, want))
        fail_msg("'%s' lacks '%s'", e.msg, want);
}

static void test_rule_file(void **state)
{
    (void)state;
    fed_rules r;
    err_t e = {0};
    const char *ok = "rules:\n  - name: node_down\n    after_s: 3\n"
                     "  - name: queue_growing\n    depth: 5\n"
                     "    severity: info\n"
                     "  - name: discrepancy\n    enabled: false\n";
    assert_int_equal(fed_rules_parse("r.yaml", ok, strlen(ok), &r, &e), 0);
    assert_int_equal(r.r[FED_R_NODE_DOWN].on, 1);
    assert_int_equal(r.r[FED_R_NODE_DOWN].after_ms, 3000);
    assert_string_equal(r.r[FED_R_NODE_DOWN].severity, "critical");
    assert_int_equal(r.r[FED_R_QUEUE_GROWING].depth, 5);
    assert_int_equal(r.r[FED_R_QUEUE_GROWING].after_ms, 120000);
    assert_string_equal(r.r[FED_R_QUEUE_GROWING].severity, "info");
    assert_int_equal(r.r[FED_R_DISCREPANCY].on, 0);
    assert_int_equal(r.r[FED_R_LINK_STALLED].on, 0); /* not listed */
    bad("rules:\n  - name: node_up\n", "r.yaml:2:11: error: name: unknown "
        "rule 'node_up'");
    bad("rules:\n  - name: node_down\n  - name: node_down\n",
        "r.yaml:3:11: error: name: rule 'node_down' listed twice");
    bad("rules:\n  - name: node_down\n    severity: loud\n",
        "r.yaml:3:15: error: severity: not info, warning or critical");
    bad("rules:\n  - name: node_down\n    depth: 4\n", "unknown key 'depth'");
    bad("rules:\n  - name: node_down\n    after_s: -1\n",
        "after_s: a whole number from 0");
    bad("rule:\n  - name: node_down\n", "unknown key 'rule' (allowed: "
        "rules)");
    bad("rules: {}\n", "rules: a list of rules");
}

/* ---- evaluation ---- */

typedef struct seen {
    int n;
    char ids[16][96];
} seen;

static int keep_id(void *ctx, const char *id, const char *js, err_t *e)
{
    seen *s = ctx;
    (void)js, (void)e;
    if (s->n < 16)
        snprintf(s->ids[s->n++], sizeof s->ids[0], "%s", id);
    return 0;
}

static int has(const seen *s, const char *id)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->ids[i], id))
            return 1;
    return 0;
}

/* Evaluate mask at now; the active ids into *s; how many changed. */
static int eval(store *st, const cfg *c, const fed_rules *r, unsigned mask,
                int64_t now, seen *s)
{
    fed_eval_in in = {mask, now, T0, NULL, NULL, 0};
    err_t e = {0};
    int rc = fed_alert_eval(st, c, r, &in, &e);
    if (rc < 0)
        fail_msg("fed_alert_eval: %s", e.msg);
    memset(s, 0, sizeof *s);
    assert_true(fed_store_alerts(st, keep_id, s, &e) >= 0);
    return rc;
}

static void test_node_down(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "a1:");
    redisContext *raw = stu_raw();
    cfg *c = ftu_cfg(NULL);
    fed_rules r;
    fed_rules_builtin(&r);
    fed_health h;
    seen s;
    ftu_health(&h, "CQ", "SH", (uint64_t)T0, (uint64_t)T0, 0);
    ftu_apply(st, &h, T0);
    assert_int_equal(eval(st, c, &r, FED_RULES_NODES, T0 + 10000, &s), 0);
    assert_int_equal(eval(st, c, &r, FED_RULES_NODES, T0 + 16000, &s), 2);
    assert_true(has(&s, "node_down:CQ") && has(&s, "node_down:SH"));
    assert_int_equal(eval(st, c, &r, FED_RULES_NODES, T0 + 17000, &s), 0);
    char *js = ftu_str(raw, "HGET %s %s", "a1:v1:fed:alerts", "node_down:CQ");
    assert_non_null(strstr(js, "\"message\":\"node CQ silent for 16.0 s "
                           "(limit 15 s)\""));
    assert_non_null(strstr(js, "\"severity\":\"critical\""));
    free(js);
    ftu_health(&h, "CQ", "SH", (uint64_t)T0 + 18000, (uint64_t)T0 + 18000,
               0);
    ftu_apply(st, &h, T0 + 18000);
    assert_int_equal(eval(st, c, &r, FED_RULES_NODES, T0 + 18500, &s), 1);
    assert_int_equal(s.n, 1); /* SH still down */
    assert_int_equal(stu_int(raw, "XLEN %s", "a1:v1:fed:alert_log"), 3);
    assert_int_equal(stu_int(raw, "XLEN %s", "a1:v1:events"), 3);
    r.r[FED_R_NODE_DOWN].on = 0; /* turned off: its alerts go */
    assert_int_equal(eval(st, c, &r, FED_RULES_NODES, T0 + 19000, &s), 1);
    assert_int_equal(s.n, 0);
    cfg_free(c);
    redisFree(raw);
    store_close(st);
}

static void test_links_queues_signatures(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "a2:");
    cfg *c = ftu_cfg(NULL);
    fed_rules r;
    fed_rules_builtin(&r);
    r.r[FED_R_NODE_DOWN].on = 0;
    fed_health h;
    seen s;
    for (int64_t t = T0; t <= T0 + 130000; t += 10000) {
        ftu_health(&h, "CQ", "SH", (uint64_t)t, (uint64_t)T0, 7);
        h.local = 2000;
        h.sig_failures = t >= T0 + 120000 ? 3 : 0;
        ftu_apply(st, &h, t);
    }
    int64_t now = T0 + 130500;
    assert_int_equal(eval(st, c, &r, FED_RULES_NODES, now, &s), 3);
    assert_true(has(&s, "link_stalled:CQ>SH"));
    assert_true(has(&s, "queue_growing:CQ"));
    assert_true(has(&s, "signature_failures:CQ"));
    /* quiet for longer than after_s (300 s): the signature alert clears;
     * the rest go with the node, which no longer counts as up */
    assert_int_equal(eval(st, c, &r, FED_RULES_NODES, now + 301000, &s), 3);
    assert_int_equal(s.n, 0);
    cfg_free(c);
    store_close(st);
}

/* ---- movements ---- */

/* Apply ev by author to *cur and store it as the ledger does (the frame
 * is not read by the rules: a placeholder). */
static void put(store *st, mv_state *cur, mv_event *ev, const char *id,
                const char *author, arena_t *a)
{
    err_t e = {0};
    buf_t sb;
    buf_init(&sb, 1u << 20);
    mv_state next;
    int isnew = cur->phase == MV_P_NONE;
    ev->prev = isnew ? NULL : cur->last_id;
    if (mv_rule_apply(isnew ? NULL : cur, ev, id, author, a, &next, &e))
        fail_msg("mv_rule_apply: %s", e.msg);
    assert_int_equal(mv_state_encode(&next, &sb, &e), 0);
    store_mv_op op = {.ref = ev->ref, .id = id, .frame = "f", .frame_n = 1,
                      .expect_n = cur->nevents, .state = sb.p,
                      .state_n = sb.len,
                      .phase_old = isnew ? NULL : mv_phase_name(cur->phase),
                      .phase_new = mv_phase_name(next.phase), .dep = "CQ",
                      .declared_ms = (int64_t)next.declared_ms};
    store_mv_res res;
    assert_int_equal(store_mv_apply(st, &op, 1, &res, &e), 0);
    assert_int_equal(res, STORE_MV_APPLIED);
    *cur = next;
    buf_free(&sb);
}

/* Movement seq of CQ (CQ>SH), declared and released with limit. */
static void released(store *st, unsigned seq, uint64_t limit, char *ref,
                     mv_state *cur, arena_t *a)
{
    err_t e;
    static char ids[8][32];
    assert_int_equal(mvref_make(26, "CQ", seq, ref, &e), 0);
    memset(cur, 0, sizeof *cur);
    mv_event d = {.version = MVEV_VERSION, .type = MV_DECLARED, .ref = ref,
                  .at_ms = (uint64_t)T0, .by = "CQ", .kind = "rail_transit",
                  .itin = {"CQ", "SH"}, .nitin = 2, .nctrs = 1};
    d.ctrs[0] = (mv_ctr){.no = "CBHU9055114", .seals = {"YS0311872"},
                         .nseals = 1};
    snprintf(ids[seq % 4 * 2], 32, "01J0000000000000000000000%u", seq);
    snprintf(ids[seq % 4 * 2 + 1], 32, "01J0000000000000000000001%u", seq);
    put(st, cur, &d, ids[seq % 4 * 2], "CQ", a);
    mv_event rl = d;
    rl.type = MV_RELEASED, rl.at_ms += 1000, rl.limit_ms = limit;
    put(st, cur, &rl, ids[seq % 4 * 2 + 1], "CQ", a);
}

static void test_movements(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "a3:");
    cfg *c = ftu_cfg(NULL);
    arena_t a;
    arena_init(&a, 1u << 22);
    fed_rules r;
    fed_rules_builtin(&r);
    char late[MVREF_LEN + 1], held[MVREF_LEN + 1];
    mv_state m1, m2;
    int64_t now = T0 + 7200000;
    released(st, 1, (uint64_t)T0 + 3600000, late, &m1, &a);
    released(st, 2, (uint64_t)now + 3600000, held, &m2, &a);
    mv_event dsc = {.version = MVEV_VERSION, .type = MV_DISCREPANCY,
                    .ref = held, .at_ms = (uint64_t)T0 + 5000, .by = "SH",
                    .result = "seal", .note = "broken"};
    put(st, &m2, &dsc, "01J00000000000000000000099", "SH", &a);
    const char *refs[] = {held}, *msgs[] = {"seal found by SH: broken"};
    fed_eval_in in = {FED_RULES_MOVEMENTS, now, T0, refs, msgs, 1};
    err_t e = {0};
    assert_int_equal(fed_alert_eval(st, c, &r, &in, &e), 2);
    seen s = {0};
    assert_true(fed_store_alerts(st, keep_id, &s, &e) >= 0);
    char id[128];
    snprintf(id, sizeof id, "movement_overdue:%s", late);
    assert_true(has(&s, id));
    snprintf(id, sizeof id, "discrepancy:%s", held);
    assert_true(has(&s, id));
    in.nrefs = 0; /* the next turn: still held, still overdue */
    assert_int_equal(fed_alert_eval(st, c, &r, &in, &e), 0);
    mv_event res = {.version = MVEV_VERSION, .type = MV_RESOLVED,
                    .ref = held, .at_ms = (uint64_t)T0 + 6000, .by = "CQ"};
    put(st, &m2, &res, "01J00000000000000000000098", "CQ", &a);
    assert_int_equal(fed_alert_eval(st, c, &r, &in, &e), 1); /* cleared */
    arena_free(&a);
    cfg_free(c);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_rules),
        cmocka_unit_test(test_rule_file),
        cmocka_unit_test(test_node_down),
        cmocka_unit_test(test_links_queues_signatures),
        cmocka_unit_test(test_movements),
    };
    return cmocka_run_group_tests_name("gateway/fed_alert", tests, ftu_setup,
                                       ftu_teardown);
}
