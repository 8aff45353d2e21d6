/* Code lists (map_codes.c): loaded from YAML text, looked up both ways,
 * and refused with "file:line:col: error: why" when malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "map_testutil.h"

static arena_t A;

static int setup(void **state)
{
    (void)state;
    arena_init(&A, 16u << 20);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(&A);
    return 0;
}

/* Load text as codes/NAME.yaml; returns mcodes_load's (or ydoc_load's)
 * result, with *out set on success and e holding the message. */
static int load(const char *text, mcodes **out, err_t *e)
{
    ydoc d;
    err_clear(e);
    *out = NULL;
    int rc = ydoc_load("codes/list.yaml", text, strlen(text), &A, &d, e);
    if (rc)
        return rc;
    return mcodes_load(&d, &A, out, e);
}

static const mcodes *good(const char *text)
{
    mcodes *c;
    err_t e;
    if (load(text, &c, &e))
        fail_msg("refused: %s", e.msg);
    assert_non_null(c);
    return c;
}

/* Refused with "codes/list.yaml:LINE:COL: error: ...WHAT..." */
static void refused(const char *text, unsigned line, const char *what)
{
    mcodes *c;
    err_t e;
    int rc = load(text, &c, &e);
    if (rc == 0)
        fail_msg("accepted; wanted an error at line %u about '%s'", line, what);
    assert_true(rc < 0);
    char want[64];
    snprintf(want, sizeof want, "codes/list.yaml:%u:", line);
    if (strncmp(e.msg, want, strlen(want)) != 0 || !strstr(e.msg, ": error: ") ||
        !strstr(e.msg, what))
        fail_msg("message '%s', want '%s<col>: error: ...%s...'", e.msg, want,
                 what);
}

static const char *MODES =
    "codelist: transport_mode\n"
    "description: UN/ECE Recommendation 19 to canonical mode\n"
    "source: UN/ECE Rec. 19\n"
    "codes:\n"
    "  \"1\": sea\n"
    "  \"2\": rail\n"
    "  \"3\": road\n"
    "  \"8\": waterway\n"
    "  \"12\": rail\n";

static void test_lookup(void **state)
{
    (void)state;
    const mcodes *c = good(MODES);
    assert_string_equal(mcodes_name(c), "transport_mode");
    tu_assert_str(mcodes_get(c, "1"), "sea");
    tu_assert_str(mcodes_get(c, "2"), "rail");
    tu_assert_str(mcodes_get(c, "8"), "waterway");
    tu_assert_str(mcodes_get(c, "12"), "rail");
    assert_null(mcodes_get(c, "4"));
    assert_null(mcodes_get(c, ""));
    assert_null(mcodes_get(c, "1 ")); /* exact text, no trimming here */
    assert_null(mcodes_get(c, "sea")); /* values are not keys */
}

static void test_reverse_first_key_wins(void **state)
{
    (void)state;
    const mcodes *c = good(MODES);
    tu_assert_str(mcodes_key_of(c, "rail"), "2"); /* "2" before "12" */
    tu_assert_str(mcodes_key_of(c, "sea"), "1");
    tu_assert_str(mcodes_key_of(c, "waterway"), "8");
    assert_null(mcodes_key_of(c, "air"));
    assert_null(mcodes_key_of(c, "1"));

    /* the same list written the other way round: "12" first now */
    const mcodes *d = good("codelist: m\ncodes:\n  \"12\": rail\n  \"2\": rail\n");
    tu_assert_str(mcodes_key_of(d, "rail"), "12");
}

/* A unit table is a code list of factors; the factor-1 code is the base. */
static void test_unit_table(void **state)
{
    (void)state;
    const mcodes *c = good("codelist: unit_mass\n"
                           "codes:\n  TNE: \"1000\"\n  KGM: \"1\"\n"
                           "  GRM: \"0.001\"\n  LBR: \"0.45359237\"\n");
    tu_assert_str(mcodes_get(c, "TNE"), "1000");
    tu_assert_str(mcodes_get(c, "GRM"), "0.001");
    tu_assert_str(mcodes_key_of(c, "1"), "KGM");
}

/* Enough codes to fill and wrap the hash table: every one found, no
 * stranger found. */
static void test_many_codes(void **state)
{
    (void)state;
    char text[32768] = "codelist: big\ncodes:\n";
    size_t len = strlen(text);
    for (int i = 0; i < 500; i++)
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "  \"K%d\": v%d\n", i, i);
    const mcodes *c = good(text);
    for (int i = 0; i < 500; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "K%d", i);
        snprintf(v, sizeof v, "v%d", i);
        tu_assert_str(mcodes_get(c, k), v);
        tu_assert_str(mcodes_key_of(c, v), k);
    }
    assert_null(mcodes_get(c, "K500"));
    assert_null(mcodes_get(c, "k1"));
}

/* Refused at line; the message says the key is there twice (ydoc's
 * "duplicate key" or the code list's "listed twice"). */
static void refused_dup(const char *text, unsigned line)
{
    mcodes *c;
    err_t e;
    refused(text, line, "");
    assert_true(load(text, &c, &e) < 0);
    if (!strstr(e.msg, "duplicate") && !strstr(e.msg, "twice"))
        fail_msg("'%s' does not say the key is duplicated", e.msg);
}

static void test_duplicate_key(void **state)
{
    (void)state;
    refused_dup("codelist: transport_mode\n"
                "codes:\n"
                "  \"1\": sea\n"
                "  \"2\": rail\n"
                "  \"1\": road\n",
                5);
    /* the same key spelled quoted and plain is the same key */
    refused_dup("codelist: m\ncodes:\n  \"7\": a\n  7: b\n", 4);
}

static void test_unknown_top_level_key(void **state)
{
    (void)state;
    refused("codelist: transport_mode\n"
            "codes:\n"
            "  \"1\": sea\n"
            "colour: blue\n",
            4, "unknown key 'colour'");
    refused("code_list: transport_mode\ncodes:\n  \"1\": sea\n", 1,
            "unknown key 'code_list'");
}

static void test_malformed(void **state)
{
    (void)state;
    refused("codes:\n  \"1\": sea\n", 1, "codelist");
    refused("codelist: m\n", 1, "codes");
    refused("codelist: m\ncodes: {}\n", 2, "codes");
    refused("codelist: m\ncodes: [a, b]\n", 2, "codes");
    refused("codelist: m\ncodes:\n  \"1\": [sea, water]\n", 3, "'1'");
    refused("- a\n- b\n", 1, "codelist");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_reverse_first_key_wins),
        cmocka_unit_test(test_unit_table),
        cmocka_unit_test(test_many_codes),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_unknown_top_level_key),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests_name("map_codes", tests, setup, teardown);
}
