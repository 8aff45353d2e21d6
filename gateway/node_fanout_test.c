/* Unit tests for "enter once" in eportd's dispatch (node_fanout.c): a
 * real node CQ opened offline on a private redis-server, with a mapping
 * directory of two small JSON tables and a rules file written here.
 *   - a declaration complete for customs and lacking the consignee that
 *     inspection requires: one copy queued for customs (its mapping named
 *     on the entry, customs.reference = the submission), inspection
 *     incomplete with the path; dispatched again after a crash, nothing
 *     more is queued and no attempt counted;
 *   - agencies' answers: customs' rejection updates its line, an answer
 *     quoting no known submission is refused with why;
 *   - a correction goes to the agencies that rejected or lacked, and not
 *     to one that accepted; the combined status follows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "../tests/pki_fixture.h"
#include "store_test_util.h" /* before dir.h: its locals named dir */
#include "model_pack.h"
#include "node_int.h"
#include "store_fan.h"
#include "store_local.h"
#include "store_mv.h"
#include "../tests/node_fixture.h"

static const char *const TABLES[][2] = {
    {"t-decl.yaml", "mapping: t-decl\ndescription: test declaration\n"
                    "format: json\nkind: declaration\nmatch:\n"
                    "  when: {path: number, exists: true}\nfields:\n"
                    "  - to: document.number\n    from: number\n"
                    "  - to: customs.reference\n    from: ref\n"},
    {"t-res.yaml", "mapping: t-res\ndescription: test answer\nformat: json\n"
                   "kind: response\nmatch:\n"
                   "  when: {path: decision, exists: true}\nfields:\n"
                   "  - to: customs.reference\n    from: ref\n"
                   "  - to: customs.status\n    from: decision\n"},
    {"fanout/rules.yaml", "fanout: 1\nrules:\n  - kind: declaration\n"
                          "    agencies:\n      - agency: customs\n"
                          "        mapping: t-decl\n"
                          "        require: [document.number, "
                          "\"goods[].hs_code\"]\n"
                          "      - agency: inspection\n"
                          "        mapping: t-decl\n"
                          "        require: [\"parties[role=consignee]"
                          ".name\"]\n"},
};

static int setup(void **state)
{
    (void)state;
    if (node_fixture_setup("node_fanout_test", NULL) < 0)
        return -1;
    static char maps[600];
    char path[700];
    snprintf(maps, sizeof maps, "%s/maps", g_pki.dir);
    snprintf(path, sizeof path, "%s/fanout", maps);
    if (!g_url[0] || mkdir(maps, 0755) || mkdir(path, 0755))
        return g_url[0] ? -1 : 0;
    g_maps_dir = maps;
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", maps, TABLES[i][0]);
        FILE *f = fopen(path, "w");
        if (!f)
            return -1;
        fputs(TABLES[i][1], f);
        fclose(f);
    }
    return 0;
}

#define CONNECTORS                                                         \
    "connectors:\n"                                                        \
    "  - {name: decl, type: http, fanout: true}\n"                         \
    "  - {name: cus, type: http, agency: customs, out: dir,\n"             \
    "     out_dir: /tmp/nf-cus}\n"                                         \
    "  - {name: ciq, type: http, agency: inspection, out: dir,\n"          \
    "     out_dir: /tmp/nf-ciq}\n"                                         \
    "ledger: {national: NC}\n"

typedef node_fixture_fx fx;

/* The node as eportd opens it: offline nodes (eportctl) load no mapping
 * tables, so the rules come with them here. */
static void open_fx(fx *f, const char *prefix)
{
    err_t e;
    node_fixture_fx_open(f, prefix, CONNECTORS);
    if (node_setup_maps(f->n, &e) != 0)
        fail_msg("node_setup_maps: %s", e.msg);
}

/* A declaration: goods line with an HS code; the consignee when asked. */
static model_record *decl(fx *f, const char *ref, int consignee)
{
    model_record *r = model_record_new(&f->a);
    r->kind = "declaration";
    r->document.type = "customs_declaration";
    r->document.number = "530120261000012345";
    r->customs.reference = ref ? arena_strdup(&f->a, ref) : NULL;
    model_goods *g = arena_zalloc(&f->a, sizeof *g);
    g->hs_code = "847130";
    r->goods.v = g, r->goods.n = r->goods.cap = 1;
    if (consignee) {
        model_party *p = arena_zalloc(&f->a, sizeof *p);
        p->role = "consignee", p->name = "Rotterdam Trading B.V.";
        r->parties.v = p, r->parties.n = r->parties.cap = 1;
    }
    return r;
}

static model_record *answer(fx *f, const char *ref, const char *state)
{
    model_record *r = model_record_new(&f->a);
    r->kind = "response";
    r->customs.reference = arena_strdup(&f->a, ref);
    r->customs.status = arena_strdup(&f->a, state);
    r->customs.status_text = "HS code does not match the description";
    return r;
}

typedef node_fixture_lout lout_got;

static lout_got lout_of(fx *f, const char *conn)
{
    return node_fixture_lout_of(f->n, &f->a, conn);
}

static const store_fan_ag *line_of(fx *f, const char *id, const char *ag,
                                   char combined[32])
{
    static store_fan_ag l[4];
    size_t n;
    char kind[24];
    err_t e;
    if (store_fan_get(node_store(f->n), id, kind, l, 4, &n, &e) != 0)
        fail_msg("store_fan_get: %s", e.msg);
    snprintf(combined, 32, "%s", store_fan_combined(l, n));
    for (size_t i = 0; i < n; i++)
        if (!strcmp(l[i].agency, ag))
            return &l[i];
    fail_msg("no line of %s", ag);
    return NULL;
}

static void test_fanout_once(void **state)
{
    (void)state;
    fx f;
    char id[MSGID_LEN + 1], comb[32];
    const void *rec;
    size_t n;
    open_fx(&f, "n1:");
    node_fixture_accept(f.n, &f.a, "decl", decl(&f, NULL, 0), id, &rec, &n);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 1);
    lout_got cus = lout_of(&f, "cus");
    assert_int_equal(cus.n, 1);
    assert_string_equal(cus.ev[0], "fanout");
    assert_string_equal(cus.map[0], "t-decl");
    assert_string_equal(cus.r[0]->customs.reference, id);
    assert_string_equal(cus.r[0]->source.recipient, "customs");
    assert_string_equal(cus.r[0]->document.number, "530120261000012345");
    assert_int_equal(lout_of(&f, "ciq").n, 0);
    const store_fan_ag *l = line_of(&f, id, "inspection", comb);
    assert_string_equal(l->state, "incomplete");
    assert_string_equal(l->missing, "parties[role=consignee]");
    assert_string_equal(line_of(&f, id, "customs", comb)->state, "sent");
    assert_string_equal(comb, "incomplete");
    node_fixture_msg m = node_fixture_msg_of(f.n, id);
    assert_string_equal(m.status, "fanned_out");
    /* the crash before the batch was marked: dispatched again */
    node_fixture_undispatched(f.prefix, id, "decl", rec, n);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 1);
    assert_int_equal(lout_of(&f, "cus").n, 1);
    assert_int_equal(line_of(&f, id, "customs", comb)->attempt, 1);
    assert_int_equal(line_of(&f, id, "inspection", comb)->attempt, 1);
    node_fixture_fx_close(&f);
}

static void test_answers_and_correction(void **state)
{
    (void)state;
    fx f;
    char id[MSGID_LEN + 1], a1[MSGID_LEN + 1], a2[MSGID_LEN + 1];
    char fix[MSGID_LEN + 1], comb[32];
    open_fx(&f, "n2:");
    node_fixture_accept(f.n, &f.a, "decl", decl(&f, NULL, 0), id, NULL, NULL);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 1);
    node_fixture_accept(f.n, &f.a, "cus", answer(&f, id, "accepted"), a1,
                        NULL, NULL);
    node_fixture_accept(f.n, &f.a, "cus", answer(&f, "01J9ZK3M5V7Q2X8N4R6T0W"
                        "1Y3Z", "rejected"), a2, NULL, NULL);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 2);
    assert_string_equal(line_of(&f, id, "customs", comb)->state, "accepted");
    assert_string_equal(node_fixture_msg_of(f.n, a1).status, "answered");
    node_fixture_msg bad = node_fixture_msg_of(f.n, a2);
    assert_string_equal(bad.status, "refused");
    assert_non_null(strstr(bad.detail, "nothing was sent to agency customs"));
    /* the correction: inspection only (customs accepted) */
    node_fixture_accept(f.n, &f.a, "decl", decl(&f, id, 1), fix, NULL, NULL);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 1);
    assert_string_equal(node_fixture_msg_of(f.n, fix).status, "resubmitted");
    assert_int_equal(lout_of(&f, "cus").n, 1);
    lout_got ciq = lout_of(&f, "ciq");
    assert_int_equal(ciq.n, 1);
    assert_string_equal(ciq.r[0]->customs.reference, id);
    const store_fan_ag *l = line_of(&f, id, "inspection", comb);
    assert_string_equal(l->state, "sent");
    assert_int_equal(l->attempt, 2);
    assert_string_equal(line_of(&f, id, "customs", comb)->state, "accepted");
    assert_int_equal(line_of(&f, id, "customs", comb)->attempt, 1);
    assert_string_equal(comb, "pending");
    /* inspection rejects, then a second correction goes to it alone */
    node_fixture_accept(f.n, &f.a, "ciq", answer(&f, id, "rejected"), a1,
                        NULL, NULL);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 1);
    line_of(&f, id, "inspection", comb);
    assert_string_equal(comb, "rejected");
    node_fixture_accept(f.n, &f.a, "decl", decl(&f, id, 1), fix, NULL, NULL);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 1);
    assert_int_equal(lout_of(&f, "ciq").n, 2);
    assert_int_equal(lout_of(&f, "cus").n, 1);
    assert_int_equal(line_of(&f, id, "inspection", comb)->attempt, 3);
    node_fixture_fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fanout_once),
        cmocka_unit_test(test_answers_and_correction),
    };
    return cmocka_run_group_tests(tests, setup, node_fixture_teardown);
}
