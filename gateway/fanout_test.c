/* Unit tests for the fan-out rules: a good file, each refusal with the
 * place it names, binding agencies to connectors and mappings, and the
 * required fields a record lacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fanout.h"
#include "map.h"

static const char *GOOD =
    "fanout: 1\n"
    "rules:\n"
    "  - kind: declaration\n"
    "    agencies:\n"
    "      - agency: customs\n"
    "        mapping: t-decl\n"
    "        require: [document.number, \"goods[].hs_code\"]\n"
    "      - agency: inspection\n"
    "        mapping: t-decl\n"
    "        require:\n"
    "          - parties[role=consignee].name\n"
    "  - kind: manifest\n"
    "    agencies:\n"
    "      - {agency: maritime, mapping: t-man}\n";

static const char *TABLES[][2] = {
    {"t-decl", "mapping: t-decl\ndescription: test\nformat: json\n"
               "kind: declaration\nfields:\n  - to: document.number\n"
               "    from: number\n"},
    {"t-man", "mapping: t-man\ndescription: test\nformat: json\n"
              "kind: manifest\nfields:\n  - to: document.number\n"
              "    from: number\n"},
};

/* text into a file of its own; its path in path[64]. */
static void file_of(const char *text, char path[64])
{
    snprintf(path, 64, "/tmp/fanout-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int load(const char *text, fanout_rules **r, err_t *e)
{
    char path[64];
    file_of(text, path);
    int rc = fanout_load(path, r, e);
    unlink(path);
    return rc;
}

static void test_load(void **state)
{
    (void)state;
    fanout_rules *r;
    err_t e;
    if (load(GOOD, &r, &e) != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(r->nrules, 2);
    const fanout_rule *u = fanout_rule_for(r, "declaration");
    assert_non_null(u);
    assert_int_equal(u->nagencies, 2);
    assert_int_equal(fanout_agency_of(u, "customs")->nrequire, 2);
    assert_string_equal(fanout_agency_of(u, "inspection")->require[0],
                        "parties[role=consignee].name");
    assert_null(fanout_agency_of(u, "border"));
    assert_null(fanout_rule_for(r, "waybill"));
    fanout_free(r);
    assert_int_equal(fanout_load("/nonexistent/rules.yaml", &r, &e),
                     ERR_NOTFOUND);
}

static void refused(const char *text, const char *want)
{
    fanout_rules *r = NULL;
    err_t e;
    assert_int_equal(load(text, &r, &e), ERR_CONFIG);
    assert_null(r);
    if (!strstr(e.msg, want))
        fail_msg("got \"%s\", want \"%s\"", e.msg, want);
}

static void test_refusals(void **state)
{
    (void)state;
    refused("fanout: 2\nrules: []\n", "version 1");
    refused("rules: []\n", "fanout: (missing)");
    refused("fanout: 1\nrules:\n  - kind: parcel\n    agencies: "
            "[{agency: a, mapping: m}]\n", ":3:11: error: kind 'parcel'");
    refused("fanout: 1\nrules:\n  - kind: manifest\n    agencies: []\n",
            "non-empty list");
    refused("fanout: 1\nrules:\n  - kind: manifest\n    agencies:\n"
            "      - {agency: a, mapping: m, color: red}\n",
            "unknown key 'color'");
    refused("fanout: 1\nrules:\n  - kind: manifest\n    agencies:\n"
            "      - {agency: a, mapping: m}\n      - {agency: a, mapping: "
            "n}\n", "agency 'a' twice");
    refused("fanout: 1\nrules:\n  - kind: manifest\n    agencies:\n"
            "      - {agency: Customs, mapping: m}\n", "a letter first");
    refused("fanout: 1\nrules:\n  - kind: manifest\n    agencies:\n"
            "      - {agency: a, mapping: m, require: ['goods[x]']}\n",
            "path 'goods[x]'");
    refused("fanout: 1\nrules:\n  - kind: manifest\n    agencies:\n"
            "      - {agency: a}\n", "'mapping' must be given");
}

static void test_bind(void **state)
{
    (void)state;
    fanout_rules *r;
    err_t e;
    map_set *maps = map_set_new();
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(map_set_add_text(maps, TABLES[i][0], TABLES[i][1],
                                          strlen(TABLES[i][1]), 0), 0);
    cfg_connector cc[3] = {
        {.name = "cus", .agency = "customs", .out = CFG_OUT_DIR},
        {.name = "ciq", .agency = "inspection", .out = CFG_OUT_DIR},
        {.name = "msa", .agency = "maritime", .out = CFG_OUT_NONE}};
    cfg c = {.connectors = cc, .nconnectors = 3};
    assert_int_equal(load(GOOD, &r, &e), 0);
    assert_int_equal(fanout_bind(r, &c, maps, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "agency maritime: its connector has no "
                               "out transport"));
    cc[2].out = CFG_OUT_WEBHOOK;
    assert_int_equal(fanout_bind(r, &c, maps, &e), 0);
    assert_string_equal(fanout_rule_for(r, "manifest")->agencies[0].conn->name,
                        "msa");
    cc[1].agency = "quarantine";
    assert_int_equal(fanout_bind(r, &c, maps, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, ":8: error: agency inspection: no "
                               "connector"));
    cc[1].agency = "inspection";
    fanout_free(r);
    assert_int_equal(load("fanout: 1\nrules:\n  - kind: manifest\n    "
                          "agencies:\n      - {agency: customs, mapping: "
                          "t-decl}\n", &r, &e), 0);
    assert_int_equal(fanout_bind(r, &c, maps, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "writes records of kind declaration"));
    fanout_free(r);
    map_set_free(maps);
}

static void test_missing(void **state)
{
    (void)state;
    fanout_rules *r;
    err_t e;
    json_error_t je;
    assert_int_equal(load(GOOD, &r, &e), 0);
    json_t *rec = json_loads("{\"document\":{\"number\":\"D1\"},\"goods\":"
                             "[{\"hs_code\":\"847130\"},{}],\"parties\":[]}",
                             0, &je);
    const fanout_rule *u = fanout_rule_for(r, "declaration");
    buf_t b;
    buf_init(&b, 512);
    assert_int_equal(fanout_missing(fanout_agency_of(u, "customs"), rec, &b),
                     1);
    assert_memory_equal(b.p, "goods[2].hs_code", b.len);
    buf_reset(&b);
    assert_int_equal(fanout_missing(fanout_agency_of(u, "inspection"), rec,
                                    &b), 1);
    assert_memory_equal(b.p, "parties[role=consignee]", b.len);
    buf_free(&b);
    json_decref(rec);
    fanout_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bind),
        cmocka_unit_test(test_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
