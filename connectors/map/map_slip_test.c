/* Slips a table finds while it runs (map_slip.c): a check digit alone
 * wrong (check_digits) and a value that ends with spaces (trailing_space),
 * each both ways: strict refuses the record with a diag naming the rule,
 * lenient keeps it with a warning in warnings[]. Also how a table's
 * `strictness:` compiles (defaults by kind, extends, misspellings) and a
 * sender's choice over it (map_apply_strict). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "map_testutil.h"

typedef tu_fx fx;

/* An IFTMIN table of kind, with a strictness line (or ""), reading the
 * document number, the container numbers and the wagon numbers. */
static void load(fx *f, const char *kind, const char *strictness)
{
    char table[2048];
    snprintf(table, sizeof table, "mapping: t\nformat: edifact\nkind: %s\n"
             "%smatch:\n  message_type: IFTMIN\nfields:\n"
             "  - {to: document.number, from: BGM.2.1}\n"
             "  - each: EQD\n    to: equipment[]\n    fields:\n"
             "      - {to: number, from: EQD.2.1, validate: [iso6346]}\n"
             "      - {to: kind, from: EQD.1.1}\n"
             "  - each: TPL\n    to: legs[]\n    fields:\n"
             "      - {to: means_id, from: TPL.1.1, validate: [uic_wagon]}\n",
             kind, strictness);
    tu_load_table(f, table);
}

static void apply(fx *f, const char *body)
{
    char *edi = tu_edi("IFTMIN", body);
    tu_apply(f, edi);
    free(edi);
}

/* The only diag of the message: its rule, whether judged a warning. */
static const codec_diag *one_diag(const fx *f, int rule, int warn)
{
    const codec_diag *d = f->m->diags;
    assert_non_null(d);
    assert_null(d->next);
    assert_int_equal(d->rule, rule);
    assert_int_equal(d->warn, warn);
    return d;
}

#define BAD_BOX "BGM+610+WB1'\nEQD+CN+CSQU3054384'\n"

/* A waybill is strict about check digits (the default): refused, and the
 * diag names the rule. */
static void test_check_digit_strict(void **state)
{
    fx *f = *state;
    load(f, "waybill", "");
    apply(f, BAD_BOX);
    tu_failed(f, ERR_CHECK_DIGIT);
    const codec_diag *d = one_diag(f, STRICT_CHECK_DIGITS, 0);
    assert_string_equal(d->msg, "segment 3 (EQD) element 2 component 1: "
                        "container number 'CSQU3054384' fails the ISO 6346 "
                        "check digit (expected 3)");
    char line[600];
    codec_diag_line(d, line, sizeof line);
    assert_non_null(strstr(line, "(expected 3) [check_digits]"));
}

/* Lenient (by the table's choice): the record, the number as sent, and a
 * warning that names the rule, what and where. */
static void test_check_digit_lenient(void **state)
{
    fx *f = *state;
    load(f, "waybill", "strictness: {check_digits: lenient}\n");
    apply(f, BAD_BOX);
    model_record *r = tu_one(f);
    tu_assert_str(r->equipment.v[0].number, "CSQU3054384");
    tu_assert_str(r->equipment.v[0].kind, "CN");
    assert_int_equal(r->warnings.n, 1);
    tu_assert_str(r->warnings.v[0], "check_digits: container number "
                  "'CSQU3054384' fails the ISO 6346 check digit (expected "
                  "3), segment 3 (EQD) element 2 component 1 at 5:1");
    one_diag(f, STRICT_CHECK_DIGITS, 1);
}

/* The defaults by kind: status lenient, declaration strict; a number of
 * the wrong shape is an error whatever the table says. */
static void test_check_digit_by_kind(void **state)
{
    fx *f = *state;
    load(f, "status", "");
    apply(f, BAD_BOX);
    assert_int_equal(tu_one(f)->warnings.n, 1);
    load(f, "declaration", "");
    apply(f, BAD_BOX);
    tu_failed(f, ERR_CHECK_DIGIT);
    load(f, "status", "strictness: {check_digits: lenient}\n");
    apply(f, "BGM+610+WB1'\nEQD+CN+CSQA3054383'\n"); /* category A */
    tu_failed(f, ERR_INVALID);
    one_diag(f, STRICT_NONE, 0);
}

/* Every number is its own slip; the wagon's self-check digit too. */
static void test_check_digit_each(void **state)
{
    fx *f = *state;
    load(f, "status", "");
    apply(f, BAD_BOX "EQD+CN+MSKU9070324'\nTPL+218124712174'\n");
    model_record *r = tu_one(f);
    assert_int_equal(r->warnings.n, 3);
    assert_non_null(strstr(r->warnings.v[1], "'MSKU9070324'"));
    assert_non_null(strstr(r->warnings.v[2], "check_digits: UIC wagon number "
                                             "'218124712174' fails the "
                                             "self-check digit"));
    tu_assert_str(r->legs.v[0].means_id, "218124712174");
}

/* A value padded with spaces: lenient (the default), trimmed with one
 * warning for the record however many values are padded; strict, refused
 * at the first. */
static void test_trailing_space_both_ways(void **state)
{
    fx *f = *state;
    const char *padded = "BGM+610+WB1  '\nEQD+CN  +CSQU3054383'\n";
    load(f, "waybill", "");
    apply(f, padded);
    model_record *r = tu_one(f);
    tu_assert_str(r->document.number, "WB1");
    tu_assert_str(r->equipment.v[0].kind, "CN");
    assert_int_equal(r->warnings.n, 1);
    tu_assert_str(r->warnings.v[0], "trailing_space: white space after the "
                  "value 'WB1', segment 2 (BGM) element 2 component 1 at "
                  "4:1");
    load(f, "waybill", "strictness: {trailing_space: strict}\n");
    apply(f, padded);
    tu_failed(f, ERR_INVALID);
    one_diag(f, STRICT_TRAILING_SPACE, 0);
    apply(f, "BGM+610+WB1'\nEQD+CN+CSQU3054383'\n"); /* clean */
    assert_null(tu_one(f)->warnings.v);
}

/* CSV cells and JSON strings are values as sent too; XML text is not
 * (white space around it is layout), nor a fixed-width field's padding. */
static void test_trailing_space_formats(void **state)
{
    fx *f = *state;
    tu_run(f, "mapping: t\nformat: csv\nkind: manifest\nfields:\n"
           "  - {to: document.number, from: \"row[1]/ref\"}\n",
           "ref,box\nM1 ,C1\n");
    tu_assert_str(tu_one(f)->warnings.v[0], "trailing_space: white space "
                  "after the value 'M1', column 'ref' at 2:1");
    tu_run(f, "mapping: t\nformat: json\nkind: manifest\nfields:\n"
           "  - {to: document.number, from: ref}\n", "{\"ref\": \"M1 \"}");
    assert_int_equal(tu_one(f)->warnings.n, 1);
    tu_run(f, "mapping: t\nformat: xml\nkind: manifest\nfields:\n"
           "  - {to: document.number, from: Ref}\n",
           "<M>\n  <Ref>\n    M1\n  </Ref>\n</M>\n");
    model_record *r = tu_one(f);
    tu_assert_str(r->document.number, "M1");
    assert_int_equal(r->warnings.n, 0);
}

/* The sender's choice (map_apply_strict) over the table's, both ways. */
static void test_sender_over_table(void **state)
{
    fx *f = *state;
    strict_set lenient = {{0}}, strict = {{0}};
    lenient.mode[STRICT_CHECK_DIGITS] = STRICT_LENIENT;
    strict.mode[STRICT_CHECK_DIGITS] = STRICT_STRICT;
    load(f, "declaration", "");
    char *edi = tu_edi("IFTMIN", BAD_BOX);
    f->m = tu_parse("edifact", edi, NULL, &f->a, &f->b);
    memset(&f->k, 0, sizeof f->k);
    assert_int_equal(map_apply_strict(f->d, &lenient, &f->b, f->m, &f->a,
                                      tu_keep, &f->k), 0);
    assert_int_equal(tu_one(f)->warnings.n, 1);
    load(f, "status", "");
    f->m = tu_parse("edifact", edi, NULL, &f->a, &f->b);
    memset(&f->k, 0, sizeof f->k);
    assert_int_equal(map_apply_strict(f->d, &strict, &f->b, f->m, &f->a,
                                      tu_keep, &f->k), ERR_CHECK_DIGIT);
    assert_int_equal(f->k.n, 0);
    free(edi);
}

/* What a table says over its kind, and over the table it extends. */
static void test_compiled_modes(void **state)
{
    fx *f = *state;
    tu_write(f->dir, "base.yaml", "mapping: base\nformat: edifact\n"
             "kind: waybill\nstrictness:\n  trailing_space: strict\n"
             "  dates: strict\nfields:\n"
             "  - {to: document.number, from: BGM.2.1}\n");
    tu_load_table(f, "mapping: t\nextends: base\nkind: status\n"
                  "strictness: {dates: lenient}\n");
    const strict_set *s = map_def_strict(f->d);
    assert_false(strict_is_lenient(s, NULL, STRICT_TRAILING_SPACE));
    assert_true(strict_is_lenient(s, NULL, STRICT_DATES));
    assert_true(strict_is_lenient(s, NULL, STRICT_CHECK_DIGITS)); /* status */
    assert_false(strict_is_lenient(s, NULL, STRICT_ENVELOPE_COUNTS));
    s = map_def_strict(map_set_find(f->set, "base"));
    assert_false(strict_is_lenient(s, NULL, STRICT_CHECK_DIGITS)); /* waybill */
    assert_true(strict_is_lenient(s, NULL, STRICT_BOM));
}

/* Misspelt rules and modes, a list for a map, and a rule writing
 * warnings: refused when the table loads, where they are written. */
static void test_compile_refusals(void **state)
{
    fx *f = *state;
    const char *t = "mapping: t\nformat: edifact\nkind: waybill\n"
                    "strictness:\n  envelope_count: strict\n"
                    "  bom: Lenient\nfields:\n"
                    "  - {to: document.number, from: BGM.2.1}\n"
                    "  - {to: warnings, from: FTX.4.1}\n";
    tu_write(f->dir, "t.yaml", t);
    map_set_free(f->set);
    err_t e;
    assert_int_equal(map_set_load(f->dir, &f->set, &e), ERR_CONFIG);
    tu_assert_problem(f->set, "t.yaml", tu_line_of(t, "envelope_count"),
                      "unknown rule 'envelope_count' in 'strictness' "
                      "(envelope_counts, check_digits, dates, bom, "
                      "line_ends, trailing_space)");
    tu_assert_problem(f->set, "t.yaml", tu_line_of(t, "Lenient"),
                      "'strictness' bom: 'Lenient' is not strict or lenient");
    tu_assert_problem(f->set, "t.yaml", tu_line_of(t, "to: warnings"),
                      "'warnings' is written by the translation");
    tu_write(f->dir, "t.yaml", "mapping: t\nformat: edifact\nkind: waybill\n"
             "strictness: [bom]\nfields:\n  - {to: document.number, "
             "from: BGM.2.1}\n");
    map_set_free(f->set);
    assert_int_equal(map_set_load(f->dir, &f->set, &e), ERR_CONFIG);
    tu_assert_problem(f->set, "t.yaml", 4, "'strictness' is a mapping of "
                      "rule: strict or lenient");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)
    const struct CMUnitTest tests[] = {
        T(test_check_digit_strict),
        T(test_check_digit_lenient),
        T(test_check_digit_by_kind),
        T(test_check_digit_each),
        T(test_trailing_space_both_ways),
        T(test_trailing_space_formats),
        T(test_sender_over_table),
        T(test_compiled_modes),
        T(test_compile_refusals),
    };
    return cmocka_run_group_tests_name("connectors/map/slip", tests, NULL,
                                       NULL);
}
