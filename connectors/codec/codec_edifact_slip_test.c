/* The slips of the strictness rules an EDIFACT parse finds (strict.h):
 * the white space between segments (codec_edifact_slip.c), the UNB date
 * against its syntax version and a BOM. Each is a diag naming its rule,
 * placed, and leaves the message's tree whole; the tree is the one clean
 * input makes. (The control counts are in codec_edifact_test.c; how a
 * table judges a slip, in xlate_test.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_edifact.h"

typedef struct fx {
    arena_t a;
    codec_batch b;
    err_t e;
    buf_t out;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    arena_init(&f->a, 64u << 20);
    buf_init(&f->out, 1u << 20);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    arena_free(&f->a);
    buf_free(&f->out);
    free(f);
    return 0;
}

static codec_msg *parse(fx *f, const char *s)
{
    memset(&f->b, 0, sizeof f->b);
    assert_int_equal(codec_edifact_ops.parse(s, strlen(s), NULL, &f->a, &f->b,
                                             &f->e), 0);
    return f->b.msgs;
}

static void add(buf_t *o, const codec_diag *d)
{
    for (; d; d = d->next)
        buf_printf(o, "%s%s %u:%u %s", o->len ? "|" : "",
                   d->rule ? strict_rule_name(d->rule) : "error", d->line,
                   d->col, d->msg);
}

/* Every diag of the parse, '|'-separated, as "rule line:col msg": the
 * input's, then each message's. */
static const char *diags(fx *f)
{
    buf_reset(&f->out);
    add(&f->out, f->b.diags);
    for (const codec_msg *m = f->b.msgs; m; m = m->next)
        add(&f->out, m->diags);
    return f->out.p ? f->out.p : "";
}

static char *tree(fx *f, const codec_msg *m)
{
    buf_reset(&f->out);
    assert_non_null(m->root);
    assert_int_equal(tree_dump(m->root, &f->out), 0);
    return strdup(f->out.p);
}

#define CLEAN "UNB+UNOC:3+S+R+240305:1430+I1'\nUNH+1+X:D:96A:UN'\n" \
              "BGM+1+2'\nDTM+137:20240305:102'\nUNT+4+1'\nUNZ+1+I1'\n"

/* One line end after every terminator, whichever: no slip. */
static void test_one_way_is_clean(void **state)
{
    fx *f = *state;
    parse(f, CLEAN);
    assert_string_equal(diags(f), "");
    parse(f, "UNB+UNOC:3+S+R+240305:1430+I1'\r\nUNH+1+X:D:96A:UN'\r\n"
             "UNT+2+1'\r\nUNZ+1+I1'\r\n");
    assert_string_equal(diags(f), "");
    parse(f, "UNB+UNOC:3+S+R+240305:1430+I1'UNH+1+X:D:96A:UN'UNT+2+1'"
             "UNZ+1+I1'\n"); /* one line, and a line end to finish it */
    assert_string_equal(diags(f), "");
}

/* A CRLF among LFs: one slip in the message where it is, at the byte
 * after the terminator; the tree is the clean one. */
static void test_line_ends_mixed(void **state)
{
    fx *f = *state;
    char *clean = tree(f, parse(f, CLEAN));
    codec_msg *m = parse(f, "UNB+UNOC:3+S+R+240305:1430+I1'\nUNH+1+X:D:96A:UN'"
                            "\nBGM+1+2'\r\nDTM+137:20240305:102'\r\nUNT+4+1'\n"
                            "UNZ+1+I1'\n");
    assert_string_equal(diags(f), "line_ends 3:9 segment 2 (BGM): CRLF "
                        "after the segment terminator, where the input's "
                        "first segment ends with LF");
    assert_int_equal(m->diags->what, strlen("segment 2 (BGM): "));
    char *got = tree(f, m);
    assert_string_equal(got, clean);
    free(got);
    /* segments run together where the others have a line each */
    parse(f, "UNB+UNOC:3+S+R+240305:1430+I1'\nUNH+1+X:D:96A:UN'BGM+1+2'\n"
             "DTM+137:20240305:102'\nUNT+4+1'\nUNZ+1+I1'\n");
    assert_string_equal(diags(f), "line_ends 2:18 segment 1 (UNH): no line "
                        "break after the segment terminator, where the "
                        "input's first segment ends with LF");
    /* a blank line; and a lone CR, in the next message: its own slip */
    parse(f, "UNB+UNOC:3+S+R+240305:1430+I1'\nUNH+1+X:D:96A:UN'\n\n"
             "UNT+2+1'\nUNH+2+X:D:96A:UN'\rUNT+2+2'\nUNZ+2+I1'\n");
    assert_string_equal(diags(f), "line_ends 2:18 segment 1 (UNH): blank "
                        "lines or a lone CR after the segment terminator, "
                        "where the input's first segment ends with LF|"
                        "line_ends 5:18 segment 1 (UNH): blank lines or a "
                        "lone CR after the segment terminator, where the "
                        "input's first segment ends with LF");
    free(clean);
}

/* A message reports line_ends once, however often it breaks it. */
static void test_line_ends_once_per_message(void **state)
{
    fx *f = *state;
    codec_msg *m = parse(f, "UNH+1+X:D:96A:UN'\nBGM+1'\r\nDTM+1'\r\n"
                            "FTX+1'\r\nUNT+5+1'\n");
    assert_non_null(m->root);
    assert_int_equal(m->diags->rule, STRICT_LINE_ENDS);
    assert_null(m->diags->next);
}

/* Spaces after a terminator: trailing_space, where the first one is;
 * the line end after them still counts as the input's way. */
static void test_trailing_space(void **state)
{
    fx *f = *state;
    char *clean = tree(f, parse(f, CLEAN));
    codec_msg *m = parse(f, "UNB+UNOC:3+S+R+240305:1430+I1'\nUNH+1+X:D:96A:UN'"
                            "\nBGM+1+2'  \nDTM+137:20240305:102'\t\nUNT+4+1'\n"
                            "UNZ+1+I1'\n");
    assert_string_equal(diags(f), "trailing_space 3:9 segment 2 (BGM): white "
                        "space after the segment terminator");
    char *got = tree(f, m);
    assert_string_equal(got, clean);
    free(got);
    free(clean);
    /* outside a message (after UNB), and at the very end */
    parse(f, "UNB+UNOC:3+S+R+240305:1430+I1' \nUNH+1+X:D:96A:UN'\nUNT+2+1'\n"
             "UNZ+1+I1' ");
    assert_string_equal(diags(f), "trailing_space 1:31 segment 1 (UNB): white "
                        "space after the segment terminator");
}

/* The UNB date against its syntax version: a slip (dates) at the
 * component, read as written either way. */
static void test_dates(void **state)
{
    fx *f = *state;
    codec_msg *m = parse(f, "UNB+UNOC:2+S+R+20240305:1430+I1'UNH+1+X:D:96A:UN'"
                            "UNT+2+1'UNZ+1+I1'");
    assert_string_equal(diags(f), "dates 1:16 segment 1 (UNB) element 4 "
                        "component 1: date '20240305' is CCYYMMDD; syntax "
                        "version 2 writes YYMMDD");
    assert_string_equal(m->meta.prepared, "2024-03-05T14:30");
    assert_non_null(m->root);
    m = parse(f, "UNB+UNOY:4+S+R+240305:1430+I1'UNH+1+X:D:96A:UN'UNT+2+1'"
                 "UNZ+1+I1'");
    assert_string_equal(diags(f), "dates 1:16 segment 1 (UNB) element 4 "
                        "component 1: date '240305' is YYMMDD; syntax "
                        "version 4 writes CCYYMMDD");
    assert_string_equal(m->meta.prepared, "2024-03-05T14:30");
    /* seconds: no slip (the writer puts them there when not zero) */
    m = parse(f, "UNB+UNOY:4+S+R+20240305:143055+I1'UNH+1+X:D:96A:UN'"
                 "UNT+2+1'UNZ+1+I1'");
    assert_string_equal(diags(f), "");
    assert_string_equal(m->meta.prepared, "2024-03-05T14:30:55");
    /* as the version says, or no version: nothing to say */
    parse(f, "UNB+UNOY:4+S+R+20240305:1430+I1'UNZ+0+I1'");
    assert_string_equal(diags(f), "");
    parse(f, "UNB+UNOY+S+R+20240305:1430+I1'UNZ+0+I1'");
    assert_string_equal(diags(f), "");
}

/* A BOM: skipped, a slip outside any message at 1:1; the tree and the
 * columns are those without it. */
static void test_bom(void **state)
{
    fx *f = *state;
    char *clean = tree(f, parse(f, CLEAN));
    codec_msg *m = parse(f, "\xEF\xBB\xBF" CLEAN);
    assert_string_equal(diags(f), "bom 1:1 UTF-8 byte order mark before the "
                        "interchange");
    assert_null(m->diags);
    char *got = tree(f, m);
    assert_string_equal(got, clean);
    assert_int_equal(f->b.diags->what, 0); /* no where: "bom: what at 1:1" */
    assert_int_equal(m->line, 2);
    free(got);
    free(clean);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_one_way_is_clean),
        T(test_line_ends_mixed),
        T(test_line_ends_once_per_message),
        T(test_trailing_space),
        T(test_dates),
        T(test_bom),
    };
    return cmocka_run_group_tests_name("connectors/codec/edifact_slip", tests,
                                       NULL, NULL);
}
