/* xlate (xlate.c): one input through codec, table choice and mapping,
 * records and problems handed to the sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "map_testutil.h"
#include "xlate.h"

#define MAX_PROBS 16

typedef struct sink_ctx {
    char numbers[256];      /* document numbers received, ';'-separated */
    const map_def *tables[8];
    model_record *recs[8];
    unsigned nrec, nprob;
    int stop_after;         /* record returns 1 at this count (0: never) */
    uint32_t lines[MAX_PROBS];
    char probs[MAX_PROBS][ERR_MSG_MAX];
    char warns[8][1024];    /* each record's warnings[], '|'-separated */
    unsigned nwarn;         /* warning lines (sink->warning) */
    int warn_rules[MAX_PROBS];
    char warned[MAX_PROBS][ERR_MSG_MAX];
} sink_ctx;

static int on_record(void *ctx, const codec_msg *m, const map_def *d,
                     model_record *r)
{
    (void)m;
    sink_ctx *c = ctx;
    if (c->nrec < 8)
        c->tables[c->nrec] = d, c->recs[c->nrec] = r;
    for (uint32_t i = 0; c->nrec < 8 && i < r->warnings.n; i++) {
        size_t l = strlen(c->warns[c->nrec]);
        snprintf(c->warns[c->nrec] + l, sizeof c->warns[0] - l, "%s%s",
                 i ? "|" : "", r->warnings.v[i]);
    }
    c->nrec++;
    size_t l = strlen(c->numbers);
    snprintf(c->numbers + l, sizeof c->numbers - l, "%s;",
             r->document.number ? r->document.number : "-");
    return c->stop_after && (int)c->nrec >= c->stop_after;
}

static void on_problem(void *ctx, uint32_t line, uint32_t col, const char *msg)
{
    (void)col;
    sink_ctx *c = ctx;
    if (c->nprob < MAX_PROBS) {
        c->lines[c->nprob] = line;
        snprintf(c->probs[c->nprob], ERR_MSG_MAX, "%s", msg);
    }
    c->nprob++;
}

static void on_warning(void *ctx, uint32_t line, uint32_t col, int rule,
                       const char *msg)
{
    (void)line, (void)col;
    sink_ctx *c = ctx;
    if (c->nwarn < MAX_PROBS) {
        c->warn_rules[c->nwarn] = rule;
        snprintf(c->warned[c->nwarn], ERR_MSG_MAX, "%s", msg);
    }
    c->nwarn++;
}

typedef struct xfx {
    void *fx; /* the shared fixture: directory, set, arena */
    tu_fx *base;
    sink_ctx c;
    xlate_stats st;
    err_t e;
    int rc;
    const strict_set *over; /* the sender's strictness, or NULL */
} xfx;

static int setup(void **state)
{
    xfx *x = calloc(1, sizeof *x);
    assert_non_null(x);
    tu_setup(&x->fx);
    x->base = x->fx;
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    xfx *x = *state;
    tu_teardown(&x->fx);
    free(x);
    return 0;
}

static const char *TABLE =
    "format: edifact\nkind: waybill\nmatch:\n  message_type: IFTMIN\n"
    "fields:\n  - {to: document.number, from: BGM.2.1, required: true}\n";

static void table(xfx *x, const char *name)
{
    char file[128], text[1024];
    snprintf(file, sizeof file, "%s.yaml", name);
    snprintf(text, sizeof text, "mapping: %s\n%s", name, TABLE);
    tu_write(x->base->dir, file, text);
}

static void load(xfx *x)
{
    err_t e;
    if (map_set_load(x->base->dir, &x->base->set, &e)) {
        tu_dump_problems(x->base->set);
        fail_msg("load: %s", e.msg);
    }
}

static void translate(xfx *x, const map_def *forced, const char *name,
                      const char *data)
{
    xlate_sink sink = {on_record, on_problem, &x->c, on_warning, x->over};
    err_clear(&x->e);
    x->rc = xlate_input(x->base->set, forced, name, data, strlen(data),
                        &x->base->a, &sink, &x->st, &x->e);
}

/* Lines: message 1 on 3-5, message 2 on 6-8 (UNT count 9, not 3), message
 * 3 on 9-11. */
static const char *INTERCHANGE =
    "UNA:+.? '\n"
    "UNB+UNOC:3+SENDER1+RECIP1+240305:1430+I1'\n"
    "UNH+1+IFTMIN:D:04A:UN'\nBGM+610+WB1+9'\nUNT+3+1'\n"
    "UNH+2+IFTMIN:D:04A:UN'\nBGM+610+WB2+9'\nUNT+9+2'\n"
    "UNH+3+IFTMIN:D:04A:UN'\nBGM+610+WB3+9'\nUNT+3+3'\n"
    "UNZ+3+I1'\n";

static void test_broken_message_in_interchange(void **state)
{
    xfx *x = *state;
    table(x, "iftmin");
    load(x);
    translate(x, NULL, "in.edi", INTERCHANGE);
    assert_int_equal(x->rc, 0);
    assert_int_equal(x->st.messages, 3);
    assert_int_equal(x->st.records, 2);
    assert_int_equal(x->c.nrec, 2);
    assert_string_equal(x->c.numbers, "WB1;WB3;");
    assert_true(x->st.problems >= 1);
    assert_int_equal(x->st.problems, x->c.nprob);
    assert_ptr_equal(x->c.tables[0], map_set_find(x->base->set, "iftmin"));
    /* every problem is located, inside message 2, and one is the count */
    int count = 0;
    for (unsigned i = 0; i < x->c.nprob && i < MAX_PROBS; i++) {
        if (x->c.lines[i] < 6 || x->c.lines[i] > 8)
            fail_msg("problem '%s' at line %u, outside message 2",
                     x->c.probs[i], x->c.lines[i]);
        count |= strstr(x->c.probs[i], "count") != NULL;
    }
    assert_true(count);
}

/* xlate.h: a record is "borrowed: valid until the arena is reset", so
 * the caller may keep it past the callback until it resets the arena. */
static void test_records_in_input_order(void **state)
{
    xfx *x = *state;
    table(x, "iftmin");
    load(x);
    translate(x, NULL, "in.edi", INTERCHANGE);
    assert_int_equal(x->c.nrec, 2);
    /* records are borrowed only for the callback (streaming codecs reuse
     * the memory), so the sink copied what it needed */
    assert_string_equal(x->c.numbers, "WB1;WB3;");
}

/* A mapping problem is reported at its message's line, and only the good
 * messages make records. */
static void test_mapping_problem_located(void **state)
{
    xfx *x = *state;
    table(x, "iftmin");
    load(x);
    translate(x, NULL, "in.edi",
              "UNA:+.? '\nUNB+UNOC:3+S+R+240305:1430+I1'\n"
              "UNH+1+IFTMIN:D:04A:UN'\nBGM+610+WB1'\nUNT+3+1'\n"
              "UNH+2+IFTMIN:D:04A:UN'\nBGM+610'\nUNT+3+2'\n"
              "UNZ+2+I1'\n");
    assert_int_equal(x->rc, 0);
    assert_int_equal(x->st.messages, 2);
    assert_int_equal(x->st.records, 1);
    assert_int_equal(x->c.nprob, 1);
    assert_non_null(strstr(x->c.probs[0], "document.number"));
    assert_true(x->c.lines[0] >= 6 && x->c.lines[0] <= 8);
}

static void test_forced_table(void **state)
{
    xfx *x = *state;
    table(x, "a");
    table(x, "b"); /* the same match: a tie without --map */
    load(x);
    translate(x, NULL, "in.edi", INTERCHANGE);
    assert_int_equal(x->rc, 0);
    assert_int_equal(x->st.records, 0);
    assert_true(x->c.nprob >= 3);
    assert_non_null(strstr(x->c.probs[0], "'a'"));
    assert_non_null(strstr(x->c.probs[0], "'b'"));

    memset(&x->c, 0, sizeof x->c);
    memset(&x->st, 0, sizeof x->st);
    const map_def *b = map_set_find(x->base->set, "b");
    translate(x, b, "in.edi", INTERCHANGE);
    assert_int_equal(x->rc, 0);
    assert_int_equal(x->st.records, 2);
    assert_ptr_equal(x->c.tables[0], b);
    assert_ptr_equal(x->c.tables[1], b);
}

static void test_unknown_format(void **state)
{
    xfx *x = *state;
    table(x, "iftmin");
    load(x);
    translate(x, NULL, "notes.txt", "just some words\nnothing more\n");
    assert_true(x->rc < 0);
    assert_int_equal(x->e.code, x->rc);
    assert_non_null(strstr(x->e.msg, "notes.txt"));
    assert_non_null(strstr(x->e.msg, "format"));
    assert_int_equal(x->c.nrec, 0);
}

/* A table with a file-name rule brings its codec options (here a ';'
 * delimiter) to the parse. */
static void test_filename_table_codec_options(void **state)
{
    xfx *x = *state;
    tu_write(x->base->dir, "boxes.yaml",
             "mapping: boxes\nformat: csv\nkind: manifest\n"
             "match:\n  filename: \"*.boxes.csv\"\n"
             "codec: {delimiter: \";\"}\n"
             "fields:\n  - {to: document.number, from: \"row[1]/ref\"}\n"
             "  - each: row\n    to: equipment[]\n    fields:\n"
             "      - {to: number, from: box}\n");
    load(x);
    translate(x, NULL, "in/2024-03.boxes.csv", "ref;box\nR1;C1\nR1;C2\n");
    assert_int_equal(x->rc, 0);
    assert_int_equal(x->c.nprob, 0);
    assert_int_equal(x->st.records, 1);
    assert_string_equal(x->c.numbers, "R1;");
}

/* xlate.h: a non-zero return from the record callback "stops the
 * translation": no record is handed out after it. */
static void test_sink_stop(void **state)
{
    xfx *x = *state;
    table(x, "iftmin");
    load(x);
    x->c.stop_after = 1;
    translate(x, NULL, "in.edi",
              "UNA:+.? '\nUNB+UNOC:3+S+R+240305:1430+I1'\n"
              "UNH+1+IFTMIN:D:04A:UN'\nBGM+610+WB1'\nUNT+3+1'\n"
              "UNH+2+IFTMIN:D:04A:UN'\nBGM+610+WB2'\nUNT+3+2'\n"
              "UNZ+2+I1'\n");
    assert_int_equal(x->c.nrec, 1);
    assert_string_equal(x->c.numbers, "WB1;");
}

/* ---- strict and lenient (strict.h) ---- */

/* The IFTMIN table with a `strictness:` line (or none). */
static void strict_table(xfx *x, const char *strictness)
{
    char text[1024];
    snprintf(text, sizeof text, "mapping: iftmin\n%s%s", strictness, TABLE);
    tu_write(x->base->dir, "iftmin.yaml", text);
    map_set_free(x->base->set);
    x->base->set = NULL;
    load(x);
}

static void reset(xfx *x)
{
    memset(&x->c, 0, sizeof x->c);
    memset(&x->st, 0, sizeof x->st);
}

/* envelope_counts strict (the default): message 2 is refused, the
 * problem names the rule. */
static void test_strict_count_names_rule(void **state)
{
    xfx *x = *state;
    strict_table(x, "");
    translate(x, NULL, "in.edi", INTERCHANGE);
    assert_string_equal(x->c.numbers, "WB1;WB3;");
    assert_int_equal(x->c.nprob, 1);
    assert_string_equal(x->c.probs[0], "segment 3 (UNT) element 1: segment "
                        "count 9 does not match 3 segments [envelope_counts]");
    assert_int_equal(x->st.warnings, 0);
    assert_string_equal(x->c.warns[0], "");
}

/* Lenient: all three translate, message 2's record says why. */
static void test_lenient_count_warns(void **state)
{
    xfx *x = *state;
    strict_table(x, "strictness: {envelope_counts: lenient}\n");
    translate(x, NULL, "in.edi", INTERCHANGE);
    assert_int_equal(x->rc, 0);
    assert_string_equal(x->c.numbers, "WB1;WB2;WB3;");
    assert_int_equal(x->c.nprob, 0);
    assert_int_equal(x->st.problems, 0);
    assert_int_equal(x->st.warnings, 1);
    assert_int_equal(x->c.nwarn, 1);
    assert_int_equal(x->c.warn_rules[0], STRICT_ENVELOPE_COUNTS);
    assert_string_equal(x->c.warns[0], "");
    assert_string_equal(x->c.warns[1], "envelope_counts: segment count 9 "
                        "does not match 3 segments, segment 3 (UNT) element "
                        "1 at 8:5");
    assert_string_equal(x->c.warns[2], "");
}

/* The sender's choice wins over the table's, both ways. */
static void test_sender_overrides_table(void **state)
{
    xfx *x = *state;
    strict_set lenient = {{0}}, strict = {{0}};
    lenient.mode[STRICT_ENVELOPE_COUNTS] = STRICT_LENIENT;
    strict.mode[STRICT_ENVELOPE_COUNTS] = STRICT_STRICT;
    strict_table(x, "");
    x->over = &lenient;
    translate(x, NULL, "in.edi", INTERCHANGE);
    assert_string_equal(x->c.numbers, "WB1;WB2;WB3;");
    assert_int_equal(x->st.warnings, 1);
    reset(x);
    strict_table(x, "strictness: {envelope_counts: lenient}\n");
    x->over = &strict;
    translate(x, NULL, "in.edi", INTERCHANGE);
    assert_string_equal(x->c.numbers, "WB1;WB3;");
    assert_int_equal(x->st.problems, 1);
}

/* A BOM is outside every message: lenient (the default), each record
 * carries it; strict, it is an error (the messages after it still
 * translate, as for the UNZ count). */
static void test_bom_both_ways(void **state)
{
    xfx *x = *state;
    static const char *in = "\xEF\xBB\xBFUNB+UNOC:3+S+R+240305:1430+I1'\n"
        "UNH+1+IFTMIN:D:04A:UN'\nBGM+610+WB1'\nUNT+3+1'\n"
        "UNH+2+IFTMIN:D:04A:UN'\nBGM+610+WB2'\nUNT+3+2'\nUNZ+2+I1'\n";
    strict_table(x, "");
    translate(x, NULL, "in.edi", in);
    assert_string_equal(x->c.numbers, "WB1;WB2;");
    assert_int_equal(x->st.problems, 0);
    assert_int_equal(x->st.warnings, 1); /* one slip, reported once */
    assert_string_equal(x->c.warns[0], "bom: UTF-8 byte order mark before "
                        "the interchange at 1:1");
    assert_string_equal(x->c.warns[1], x->c.warns[0]);
    reset(x);
    strict_table(x, "strictness: {bom: strict}\n");
    translate(x, NULL, "in.edi", in);
    assert_int_equal(x->st.problems, 1);
    assert_int_equal(x->c.lines[0], 1);
    assert_string_equal(x->c.probs[0], "UTF-8 byte order mark before the "
                        "interchange [bom]");
    assert_string_equal(x->c.warns[0], "");
}

/* The UNZ count comes after its messages went on: lenient, it is a
 * warning line only; strict, an error. */
static void test_unz_count(void **state)
{
    xfx *x = *state;
    static const char *in = "UNB+UNOC:3+S+R+240305:1430+I1'\n"
        "UNH+1+IFTMIN:D:04A:UN'\nBGM+610+WB1'\nUNT+3+1'\nUNZ+2+I1'\n";
    strict_table(x, "strictness: {envelope_counts: lenient}\n");
    translate(x, NULL, "in.edi", in);
    assert_string_equal(x->c.numbers, "WB1;");
    assert_int_equal(x->st.problems, 0);
    assert_int_equal(x->c.nwarn, 1);
    assert_string_equal(x->c.warned[0], "segment 5 (UNZ) element 1: message "
                        "count 2 does not match 1 messages [envelope_counts]");
    assert_string_equal(x->c.warns[0], "");
    reset(x);
    strict_table(x, "");
    translate(x, NULL, "in.edi", in);
    assert_string_equal(x->c.numbers, "WB1;");
    assert_int_equal(x->st.problems, 1);
    assert_int_equal(x->c.nwarn, 0);
}

/* Each rule's slip, through a table that holds it strict and one that
 * holds it lenient: refused with "[RULE]", or one record carrying
 * "RULE: ...". A slip outside any message (the UNB date, a JSON BOM) does
 * not refuse the message after it: strict, the input has a problem. */
typedef struct slip_case {
    const char *rule, *format, *fields, *name, *input;
    int outside; /* the slip is the input's, not the message's */
} slip_case;

#define EDI_FIELDS "match:\n  message_type: IFTMIN\nfields:\n" \
    "  - {to: document.number, from: BGM.2.1}\n" \
    "  - each: EQD\n    to: equipment[]\n    fields:\n" \
    "      - {to: number, from: EQD.2.1, validate: [iso6346]}\n"
#define MSG "UNH+1+IFTMIN:D:04A:UN'\nBGM+610+WB1'\n"

static const slip_case slip_cases[] = {
    {"dates", "edifact", EDI_FIELDS, "in.edi",
     "UNB+UNOC:3+S+R+20240305:1430+I1'\n" MSG "UNT+3+1'\nUNZ+1+I1'\n", 1},
    {"line_ends", "edifact", EDI_FIELDS, "in.edi",
     "UNB+UNOC:3+S+R+240305:1430+I1'\n" MSG "EQD+CN+CSQU3054383'\r\n"
     "UNT+4+1'\nUNZ+1+I1'\n", 0},
    {"trailing_space", "edifact", EDI_FIELDS, "in.edi",
     "UNB+UNOC:3+S+R+240305:1430+I1'\n" MSG "EQD+CN+CSQU3054383' \n"
     "UNT+4+1'\nUNZ+1+I1'\n", 0},
    {"check_digits", "edifact", EDI_FIELDS, "in.edi",
     "UNB+UNOC:3+S+R+240305:1430+I1'\n" MSG "EQD+CN+CSQU3054384'\n"
     "UNT+4+1'\nUNZ+1+I1'\n", 0},
    {"envelope_counts", "edifact", EDI_FIELDS, "in.edi",
     "UNB+UNOC:3+S+R+240305:1430+I1'\n" MSG "UNT+2+1'\nUNZ+1+I1'\n", 0},
    {"bom", "json", "fields:\n  - {to: document.number, from: ref}\n",
     "in.json", "\xEF\xBB\xBF{\"ref\": \"M1\"}\n", 1},
    {"line_ends", "csv", "fields:\n  - {to: document.number, "
     "from: \"row[1]/ref\"}\n", "in.csv", "ref,box,seal\r\nM1,C1,S1\n", 0},
};

static void slip_table(xfx *x, const slip_case *c, const char *mode)
{
    char text[2048];
    snprintf(text, sizeof text, "mapping: t\nformat: %s\nkind: status\n"
             "strictness: {%s: %s}\n%s", c->format, c->rule, mode,
             c->fields);
    tu_write(x->base->dir, "t.yaml", text);
    map_set_free(x->base->set);
    x->base->set = NULL;
    load(x);
    reset(x);
}

static void test_each_rule_both_ways(void **state)
{
    xfx *x = *state;
    for (size_t i = 0; i < sizeof slip_cases / sizeof *slip_cases; i++) {
        const slip_case *c = &slip_cases[i];
        char want[64];
        snprintf(want, sizeof want, "[%s]", c->rule);
        slip_table(x, c, "strict");
        translate(x, NULL, c->name, c->input);
        assert_int_equal(x->rc, 0);
        if (x->st.problems != 1 || !strstr(x->c.probs[0], want) ||
            x->st.records != (unsigned)c->outside)
            fail_msg("%s strict: %u problems ('%s'), %u records", want,
                     x->st.problems, x->c.probs[0], x->st.records);
        slip_table(x, c, "lenient");
        translate(x, NULL, c->name, c->input);
        snprintf(want, sizeof want, "%s: ", c->rule);
        if (x->st.problems || x->st.records != 1 || x->st.warnings != 1 ||
            strncmp(x->c.warns[0], want, strlen(want)))
            fail_msg("%s lenient: %u problems ('%s'), %u records, "
                     "warnings '%s'", c->rule, x->st.problems, x->c.probs[0],
                     x->st.records, x->c.warns[0]);
    }
}

/* A table's unknown rule or mode is refused where it is written. */
static void test_strictness_compile_errors(void **state)
{
    xfx *x = *state;
    tu_write(x->base->dir, "bad.yaml", "mapping: bad\nstrictness:\n"
             "  check_digit: lenient\n  bom: sometimes\n"
             "format: edifact\nkind: waybill\n"
             "fields:\n  - {to: document.number, from: BGM.2.1}\n");
    err_t e;
    assert_int_equal(map_set_load(x->base->dir, &x->base->set, &e),
                     ERR_CONFIG);
    const map_problem *p = map_set_problems(x->base->set);
    assert_non_null(p);
    assert_non_null(strstr(p->text, "bad.yaml:3:"));
    assert_non_null(strstr(p->text, "unknown rule 'check_digit'"));
    assert_non_null(p->next);
    assert_non_null(strstr(p->next->text, "bad.yaml:4:"));
    assert_non_null(strstr(p->next->text, "'sometimes' is not strict or "
                           "lenient"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_broken_message_in_interchange),
        T(test_records_in_input_order),
        T(test_mapping_problem_located),
        T(test_forced_table),
        T(test_unknown_format),
        T(test_filename_table_codec_options),
        T(test_sink_stop),
        T(test_strict_count_names_rule),
        T(test_lenient_count_warns),
        T(test_sender_overrides_table),
        T(test_bom_both_ways),
        T(test_unz_count),
        T(test_strictness_compile_errors),
        T(test_each_rule_both_ways),
    };
    return cmocka_run_group_tests_name("xlate", tests, NULL, NULL);
}
