/* Mapping sets (map_set.c, map_compile.c): loading a directory of tables
 * and code lists, lint problems as "file:line:col: error: why", extends,
 * and choosing the table for a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sys/wait.h>

#include "map_testutil.h"

typedef struct fx {
    char dir[4096];
    map_set *set;
    err_t e;
    int rc;
    arena_t a;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_mkdtemp(f->dir, sizeof f->dir);
    arena_init(&f->a, 8u << 20);
    tu_write(f->dir, "codes/party_role.yaml",
             "codelist: party_role\ncodes:\n  CZ: consignor\n  CN: consignee\n");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    map_set_free(f->set);
    arena_free(&f->a);
    tu_rmrf(f->dir);
    free(f);
    return 0;
}

static void load(fx *f)
{
    map_set_free(f->set);
    f->set = NULL;
    err_clear(&f->e);
    f->rc = map_set_load(f->dir, &f->set, &f->e);
    assert_non_null(f->set);
}

static void load_ok(fx *f)
{
    load(f);
    if (f->rc) {
        tu_dump_problems(f->set);
        fail_msg("load failed: %s", f->e.msg);
    }
    assert_null(map_set_problems(f->set));
}

/* A small EDIFACT table: NAME, match lines (indented two spaces). */
static void table(fx *f, const char *name, const char *match)
{
    char file[256], text[2048];
    snprintf(file, sizeof file, "%s.yaml", name);
    snprintf(text, sizeof text,
             "mapping: %s\nformat: edifact\nkind: waybill\n%s%s"
             "fields:\n  - to: document.number\n    from: BGM.2.1\n",
             name, match[0] ? "match:\n" : "", match);
    tu_write(f->dir, file, text);
}

/* ---- lint ---- */

static const char *LINT =
    "mapping: lint\n"
    "format: edifact\n"
    "kind: waybill\n"
    "colour: red\n"
    "fields:\n"
    "  - frm: BGM.2.1\n"
    "    to: document.number\n"
    "  - to: document.nonsense\n"
    "    from: BGM.3.1\n"
    "  - codes: no_such_list\n"
    "    to: document.function\n"
    "    from: BGM.3.1\n"
    "  - from: \"BGM[.2\"\n"
    "    to: document.type\n"
    "  - validate: [iso6346, no_such_check]\n"
    "    to: route.origin\n"
    "    from: LOC+5.2.1\n"
    "  - validate: [{pattern: \"a(b\"}]\n"
    "    to: route.destination\n"
    "    from: LOC+8.2.1\n"
    "  - from: BGM.4.1\n"
    "    value: x\n"
    "  - each: NAD\n"
    "    to: parties\n"
    "    fields:\n"
    "      - to: role\n"
    "        from: NAD.1.1\n"
    "  - each: EQD\n"
    "    fields:\n"
    "      - to: number\n"
    "        from: EQD.2.1\n"
    "  - date: {pattern: yyy-MM-dd}\n"
    "    to: route.departure\n"
    "    from: DTM+133.1.2\n";

static void test_lint_every_problem_located(void **state)
{
    fx *f = *state;
    tu_write(f->dir, "lint.yaml", LINT);
    table(f, "fine", "");
    load(f);
    assert_int_equal(f->rc, ERR_CONFIG);
    assert_int_equal(f->e.code, ERR_CONFIG);
    /* the set still holds what compiled */
    assert_non_null(map_set_find(f->set, "fine"));
    assert_null(map_set_find(f->set, "lint"));
    assert_int_equal(map_set_count(f->set), 1);

    const map_set *s = f->set;
    tu_assert_problem(s, "lint.yaml", 4, "colour");             /* key */
    tu_assert_problem(s, "lint.yaml", tu_line_of(LINT, "frm:"), "frm");
    tu_assert_problem(s, "lint.yaml", tu_line_of(LINT, "document.nonsense"),
                      "document.nonsense");                     /* field */
    tu_assert_problem(s, "lint.yaml", tu_line_of(LINT, "no_such_list"),
                      "no_such_list");                          /* codes */
    tu_assert_problem(s, "lint.yaml", tu_line_of(LINT, "BGM[.2"),
                      "BGM[.2");                                /* path */
    tu_assert_problem(s, "lint.yaml", tu_line_of(LINT, "no_such_check"),
                      "no_such_check");                         /* check */
    tu_assert_problem(s, "lint.yaml", tu_line_of(LINT, "a(b"),
                      "a(b");                                   /* regex */
    tu_assert_problem(s, "lint.yaml", tu_line_of(LINT, "from: BGM.4.1"),
                      "'to'");                                  /* no to */
    tu_assert_problem(s, "lint.yaml", tu_line_of(LINT, "each: NAD"),
                      "[]");                                    /* to: X[] */
    tu_assert_problem(s, "lint.yaml", tu_line_of(LINT, "each: EQD"),
                      "[]");                                    /* no to */
    tu_assert_problem(s, "lint.yaml", tu_line_of(LINT, "yyy-MM-dd"),
                      "");                                      /* date */
    assert_true(tu_nproblems(s) >= 11);
    /* the error names the first problem in full */
    assert_non_null(strstr(f->e.msg, "lint.yaml:"));
    assert_non_null(strstr(f->e.msg, ": error: "));
}

/* {from: P, const: V}: a constant written back; every misuse located. */
static const char *CONSTS =
    "mapping: consts\n"
    "format: edifact\n"
    "kind: waybill\n"
    "fields:\n"
    "  - from: BGM.1.1\n"
    "    const: \"705\"\n"
    "    to: document.type\n"
    "  - const: MT2101\n"
    "  - from: RFF+AAA.1.2\n"
    "    const: X\n"
    "    codes: party_role\n"
    "  - from: \"#index\"\n"
    "    const: \"1\"\n"
    "  - from: FTX+AAA.4.1\n"
    "    const: \"\"\n"
    "  - each: NAD\n"
    "    to: parties[]\n"
    "    const: Y\n"
    "    fields:\n"
    "      - {to: role, from: NAD.1.1}\n";

static void test_lint_const_rules(void **state)
{
    fx *f = *state;
    tu_write(f->dir, "consts.yaml", CONSTS);
    /* used well, inside groups too, it loads */
    tu_write(f->dir, "fine.yaml",
             "mapping: fine\nformat: edifact\nkind: waybill\nfields:\n"
             "  - {from: BGM.1.1, const: \"705\"}\n"
             "  - {from: /UNH.2.1, const: IFTMIN}\n"
             "  - {to: document.number, from: BGM.2.1}\n"
             "  - each: EQD\n    to: equipment[]\n    fields:\n"
             "      - {from: EQD.1.1, const: CN}\n"
             "      - {to: number, from: EQD.2.1}\n");
    load(f);
    assert_int_equal(f->rc, ERR_CONFIG);
    assert_null(map_set_find(f->set, "consts"));
    const map_def *d = map_set_find(f->set, "fine");
    assert_non_null(d);
    assert_int_equal(d->nrules, 4);
    assert_int_equal(d->rules[0].kind, MR_CONST);
    assert_null(d->rules[0].field);
    assert_string_equal(d->rules[0].cval, "705");
    assert_int_equal(d->rules[3].rules[0].kind, MR_CONST);

    const map_set *s = f->set;
    tu_assert_problem(s, "consts.yaml", tu_line_of(CONSTS, "to: document.type"),
                      "drop 'to'");                     /* const with to */
    tu_assert_problem(s, "consts.yaml", tu_line_of(CONSTS, "const: MT2101"),
                      "needs 'from'");                  /* const, no from */
    tu_assert_problem(s, "consts.yaml", tu_line_of(CONSTS, "codes: party_role"),
                      "'codes' does not go with 'const'");
    tu_assert_problem(s, "consts.yaml", tu_line_of(CONSTS, "#index"),
                      "#index");                        /* not a place */
    tu_assert_problem(s, "consts.yaml", tu_line_of(CONSTS, "const: \"\""),
                      "needs a value");
    tu_assert_problem(s, "consts.yaml", tu_line_of(CONSTS, "each: NAD"),
                      "'each' does not go with 'const'");
    /* the group with a const: also its to, fields and missing from */
    assert_int_equal(tu_nproblems(s), 9);
}

static void test_lint_required_head_keys(void **state)
{
    fx *f = *state;
    tu_write(f->dir, "head.yaml",
             "description: no name\nformat: morse\nkind: parcel\n"
             "fields:\n  - to: document.number\n    from: BGM.2.1\n");
    load(f);
    assert_int_equal(f->rc, ERR_CONFIG);
    tu_assert_problem(f->set, "head.yaml", 1, "mapping");
    assert_non_null(tu_problem_at(f->set, "head.yaml", 1, "format") ?
                    tu_problem_at(f->set, "head.yaml", 1, "format") :
                    tu_problem_at(f->set, "head.yaml", 2, "format"));
    assert_non_null(tu_problem_at(f->set, "head.yaml", 1, "kind") ?
                    tu_problem_at(f->set, "head.yaml", 1, "kind") :
                    tu_problem_at(f->set, "head.yaml", 3, "kind"));
}

/* `out` takes the envelope's values written back, and nothing else: a
 * misspelt key would otherwise be ignored without a word. */
static void test_lint_out_keys(void **state)
{
    fx *f = *state;
    tu_write(f->dir, "out.yaml",
             "mapping: out\nformat: edifact\nkind: status\n"
             "match:\n  message_type: BAPLIE\n"
             "out:\n  message_type: BAPLIE\n  asociation: SMDG22\n"
             "fields:\n  - to: document.number\n    from: BGM.2.1\n");
    load(f);
    assert_int_equal(f->rc, ERR_CONFIG);
    tu_assert_problem(f->set, "out.yaml", 8, "unknown key 'asociation'");
    assert_int_equal(tu_nproblems(f->set), 1);
}

static void test_lint_sum_not_number(void **state)
{
    fx *f = *state;
    tu_write(f->dir, "sum.yaml",
             "mapping: sum\nformat: json\nkind: waybill\nfields:\n"
             "  - to: document.number\n    from: id\n    sum: true\n");
    load(f);
    assert_int_equal(f->rc, ERR_CONFIG);
    tu_assert_problem(f->set, "sum.yaml", 7, "not a number field");
    assert_int_equal(tu_nproblems(f->set), 1);
}

static void test_lint_zone(void **state)
{
    fx *f = *state;
    tu_write(f->dir, "zone.yaml",
             "mapping: zone\nformat: edifact\nkind: status\n"
             "zone: \"UTC+8\"\n"
             "fields:\n  - to: document.number\n    from: BGM.2.1\n");
    load(f);
    assert_int_equal(f->rc, ERR_CONFIG);
    tu_assert_problem(f->set, "zone.yaml", 4, "want +hh:mm, -hh:mm or Z");
    assert_int_equal(tu_nproblems(f->set), 1);
}

static void test_lint_broken_yaml_and_code_list(void **state)
{
    fx *f = *state;
    tu_write(f->dir, "broken.yaml", "mapping: [unclosed\n");
    tu_write(f->dir, "codes/bad_list.yaml",
             "codelist: bad_list\ncodes:\n  A: x\nextra: 1\n");
    load(f);
    assert_int_equal(f->rc, ERR_CONFIG);
    assert_non_null(tu_problem_at(f->set, "broken.yaml", 1, "") ?
                    tu_problem_at(f->set, "broken.yaml", 1, "") :
                    tu_problem_at(f->set, "broken.yaml", 2, ""));
    tu_assert_problem(f->set, "bad_list.yaml", 4, "extra");
}

/* "eportctl lint reports every problem as file:line:col: error: why",
 * including a name given twice. */
static void test_lint_defined_twice_located(void **state)
{
    fx *f = *state;
    table(f, "one", "");
    tu_write(f->dir, "two.yaml",
             "mapping: one\nformat: edifact\nkind: waybill\n"
             "fields:\n  - to: document.number\n    from: BGM.2.1\n");
    tu_write(f->dir, "codes/party_role2.yaml",
             "codelist: party_role\ncodes:\n  FW: forwarder\n");
    load(f);
    assert_int_equal(f->rc, ERR_CONFIG);
    assert_int_equal(map_set_count(f->set), 1);
    tu_assert_problem(f->set, "two.yaml", 1, "twice");
    tu_assert_problem(f->set, "party_role2.yaml", 1, "twice");
}

static void test_missing_directory(void **state)
{
    fx *f = *state;
    char path[4200];
    snprintf(path, sizeof path, "%s/nowhere", f->dir);
    map_set *s = NULL;
    err_t e;
    assert_int_equal(map_set_load(path, &s, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "nowhere"));
    map_set_free(s);
}

/* Loads dir in a child process (a sanitizer abort there fails this test
 * only): exit 0 = loaded with no problems and one table. */
static void load_in_child(const char *dir)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        map_set *s = NULL;
        err_t e;
        int rc = map_set_load(dir, &s, &e);
        int ok = rc == 0 && s && !map_set_problems(s) && map_set_count(s) == 1;
        map_set_free(s);
        _exit(ok ? 0 : 3);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("loading %s: %s %d", dir,
                 WIFEXITED(st) ? "exit status" : "killed by signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* "a set may use no code list": an empty codes/ directory, or none. */
static void test_no_code_lists(void **state)
{
    fx *f = *state;
    char path[4200];
    snprintf(path, sizeof path, "%s/codes/party_role.yaml", f->dir);
    assert_int_equal(remove(path), 0);
    table(f, "plain", "  message_type: IFTMIN\n");
    load_in_child(f->dir); /* codes/ is empty */
    snprintf(path, sizeof path, "%s/codes", f->dir);
    assert_int_equal(remove(path), 0);
    load_in_child(f->dir); /* no codes/ at all */
}

/* ---- extends ---- */

static const char *BASE =
    "mapping: base\nformat: edifact\nkind: waybill\n"
    "match:\n  message_type: IFTMIN\n"
    "fields:\n"
    "  - to: document.number\n    from: BGM.2.1\n"
    "  - to: document.function\n    from: BGM.3.1\n"
    "  - to: route.origin\n    from: LOC+5.2.1\n";

static void test_extends_replaces_and_appends(void **state)
{
    fx *f = *state;
    tu_write(f->dir, "z_base.yaml", BASE);
    /* sorted before its base, so it must wait for it */
    tu_write(f->dir, "a_rail.yaml",
             "mapping: rail\nextends: base\n"
             "match:\n  message_type: IFTMIN\n  sender: RAIL*\n"
             "fields:\n"
             "  - to: route.destination\n    from: LOC+8.2.1\n"
             "  - to: document.function\n    from: BGM.4.1\n");
    load_ok(f);
    const map_def *d = map_set_find(f->set, "rail");
    assert_non_null(d);
    assert_string_equal(map_def_format(d), "edifact");
    assert_string_equal(d->kind, "waybill");
    assert_int_equal(d->nrules, 4);
    const char *want[][2] = {{"document.number", "BGM.2.1"},
                             {"document.function", "BGM.4.1"},
                             {"route.origin", "LOC+5.2.1"},
                             {"route.destination", "LOC+8.2.1"}};
    for (uint32_t i = 0; i < 4; i++) {
        assert_string_equal(d->rules[i].field->path, want[i][0]);
        assert_string_equal(d->rules[i].from.text, want[i][1]);
    }
    /* the base is untouched */
    const map_def *b = map_set_find(f->set, "base");
    assert_int_equal(b->nrules, 3);
    assert_string_equal(b->rules[1].from.text, "BGM.3.1");

    /* and it runs that way */
    char *edi = tu_edi("IFTMIN", "BGM+610+WB1+9+5'\nLOC+5+DEHAM'\n"
                                 "LOC+8+CNSHA'\n");
    codec_batch cb;
    codec_msg *m = tu_parse("edifact", edi, NULL, &f->a, &cb);
    tu_recs k = {0};
    assert_int_equal(map_apply(d, &cb, m, &f->a, tu_keep, &k), 0);
    assert_int_equal(k.n, 1);
    tu_assert_str(k.r[0]->document.function, "5");
    tu_assert_str(k.r[0]->route.destination, "CNSHA");
    tu_assert_str(k.r[0]->route.origin, "DEHAM");
    tu_assert_str(k.r[0]->source.mapping, "rail");
    free(edi);
}

static void test_extends_missing_table(void **state)
{
    fx *f = *state;
    const char *text = "mapping: orphan\nformat: edifact\nkind: waybill\n"
                       "extends: nowhere\n"
                       "fields:\n  - to: document.number\n    from: BGM.2.1\n";
    tu_write(f->dir, "orphan.yaml", text);
    load(f);
    assert_int_equal(f->rc, ERR_CONFIG);
    assert_null(map_set_find(f->set, "orphan"));
    tu_assert_problem(f->set, "orphan.yaml", 4, "nowhere");
}

/* ---- choosing a table ---- */

static codec_msg *msg(fx *f, const char *format, const char *type,
                      const char *version, const char *sender)
{
    codec_msg *m = arena_zalloc(&f->a, sizeof *m);
    m->meta.format = format;
    m->meta.message_type = type;
    m->meta.version = version;
    m->meta.sender = sender;
    m->root = tree_new(&f->a, type ? type : "file", NULL);
    return m;
}

static const char *pick(fx *f, const codec_msg *m, const char *filename,
                        err_t *e)
{
    err_clear(e);
    const map_def *d = map_set_select(f->set, m, filename, e);
    return d ? map_def_name(d) : NULL;
}

static void test_select_most_specific(void **state)
{
    fx *f = *state;
    table(f, "any", "  message_type: IFTMIN\n");
    table(f, "rail", "  message_type: IFTMIN\n  sender: RAIL*\n");
    table(f, "rail_d04", "  message_type: IFTMIN\n  sender: RAIL*\n"
                         "  version: \"D:04*\"\n");
    load_ok(f);
    err_t e;
    tu_assert_str(pick(f, msg(f, "edifact", "IFTMIN", "D:96A", "SEA1"), NULL, &e),
                  "any");
    tu_assert_str(pick(f, msg(f, "edifact", "IFTMIN", "D:96A", "RAIL7"), NULL, &e),
                  "rail");
    tu_assert_str(pick(f, msg(f, "edifact", "IFTMIN", "D:04A", "RAIL7"), NULL, &e),
                  "rail_d04");
    /* format must be the message's */
    assert_null(pick(f, msg(f, "xml", "IFTMIN", NULL, NULL), NULL, &e));
    assert_int_equal(e.code, ERR_NOMAP);
}

static void test_select_tie_names_both(void **state)
{
    fx *f = *state;
    table(f, "by_sender", "  message_type: IFTMIN\n  sender: RAIL*\n");
    table(f, "by_version", "  message_type: IFTMIN\n  version: \"D:04A\"\n");
    load_ok(f);
    err_t e;
    assert_null(pick(f, msg(f, "edifact", "IFTMIN", "D:04A", "RAIL1"), NULL, &e));
    assert_int_equal(e.code, ERR_NOMAP);
    assert_non_null(strstr(e.msg, "by_sender"));
    assert_non_null(strstr(e.msg, "by_version"));
    /* one of them alone is fine */
    tu_assert_str(pick(f, msg(f, "edifact", "IFTMIN", "D:96A", "RAIL1"), NULL, &e),
                  "by_sender");
}

static void test_select_no_match(void **state)
{
    fx *f = *state;
    table(f, "iftmin", "  message_type: IFTMIN\n");
    load_ok(f);
    err_t e;
    assert_null(pick(f, msg(f, "edifact", "IFTSTA", "D:04A", "X"), NULL, &e));
    assert_int_equal(e.code, ERR_NOMAP);
    assert_non_null(strstr(e.msg, "IFTSTA"));
}

static void test_select_when_counts(void **state)
{
    fx *f = *state;
    table(f, "any", "  message_type: IFTMIN\n");
    table(f, "rail", "  message_type: IFTMIN\n"
                     "  when: {path: TDT+20.3.1, equals: \"2\"}\n");
    load_ok(f);
    codec_msg *m = msg(f, "edifact", "IFTMIN", "D:04A", "X");
    err_t e;
    tu_assert_str(pick(f, m, NULL, &e), "any");
    tnode *tdt = tree_add_new(&f->a, m->root, "TDT", NULL);
    tree_add_new(&f->a, tree_add_new(&f->a, tdt, "", NULL), "", "20");
    tree_add_new(&f->a, tree_add_new(&f->a, tdt, "", NULL), "", "V1");
    tree_add_new(&f->a, tree_add_new(&f->a, tdt, "", NULL), "", "2");
    tu_assert_str(pick(f, m, NULL, &e), "rail");
}

static void test_select_by_filename(void **state)
{
    fx *f = *state;
    const char *csv = "format: csv\nkind: manifest\n"
                      "fields:\n  - to: document.number\n    from: row[1]/waybill\n";
    char text[512];
    snprintf(text, sizeof text, "mapping: containers\nmatch:\n"
             "  filename: \"*.containers.csv\"\n%s", csv);
    tu_write(f->dir, "containers.yaml", text);
    snprintf(text, sizeof text, "mapping: barge\nmatch:\n"
             "  filename: \"barge-*.csv\"\n%s", csv);
    tu_write(f->dir, "barge.yaml", text);
    snprintf(text, sizeof text, "mapping: anycsv\n%s", csv);
    tu_write(f->dir, "anycsv.yaml", text);
    load_ok(f);
    const map_def *d = map_set_by_filename(f->set, "x.containers.csv");
    assert_non_null(d);
    assert_string_equal(map_def_name(d), "containers");
    d = map_set_by_filename(f->set, "in/2024/barge-7.csv");
    assert_non_null(d);
    assert_string_equal(map_def_name(d), "barge");
    assert_null(map_set_by_filename(f->set, "barge-7.containers.csv"));
    assert_null(map_set_by_filename(f->set, "other.csv"));
    assert_null(map_set_by_filename(f->set, "containers.csv/x.txt"));

    /* by content: the file-name rule is one more criterion */
    err_t e;
    codec_msg *m = msg(f, "csv", NULL, NULL, NULL);
    tu_assert_str(pick(f, m, "dir/a.containers.csv", &e), "containers");
    tu_assert_str(pick(f, m, "plain.csv", &e), "anycsv");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_lint_every_problem_located),
        T(test_lint_const_rules),
        T(test_lint_required_head_keys),
        T(test_lint_out_keys),
        T(test_lint_zone),
        T(test_lint_sum_not_number),
        T(test_lint_broken_yaml_and_code_list),
        T(test_lint_defined_twice_located),
        T(test_missing_directory),
        T(test_no_code_lists),
        T(test_extends_replaces_and_appends),
        T(test_extends_missing_table),
        T(test_select_most_specific),
        T(test_select_tie_names_both),
        T(test_select_no_match),
        T(test_select_when_counts),
        T(test_select_by_filename),
    };
    return cmocka_run_group_tests_name("map_set", tests, NULL, NULL);
}
