/* Tests for codec_csv: parsing shapes, diagnostics, charsets, writing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "codec_csv.h"
#include "codec_testutil.h"

/* 长江航运 ("Yangtze shipping") in GB18030, checked with iconv(1). */
#define GB_CJHY "\xb3\xa4\xbd\xad\xba\xbd\xd4\xcb"

/* This suite keeps the larger caps it always had: 256 MiB arena, 64 MiB
 * output (ctu_setup gives 64 MiB and 1 MiB). */
static int setup(void **state)
{
    return ctu_setup_caps(state, 256u << 20, 64u << 20);
}

/* Parse s with o; returns the single message (parse must succeed). */
static codec_msg *parse(ctu_fx *f, const char *s, size_t n, const codec_opts *o)
{
    return ctu_parse(f, &codec_csv_ops, s, n, o, 1);
}

static void test_header(void **state)
{
    ctu_fx *f = *state;
    const char in[] = "name,qty\nsteel,10\ncopper,5\n";
    codec_msg *m = parse(f, in, sizeof in - 1, NULL);
    assert_null(m->diags);
    assert_string_equal(ctu_dump(f, m),
                        "file\n  row\n    name=steel\n    qty=10\n"
                        "  row\n    name=copper\n    qty=5\n");
    assert_int_equal(m->root->kids->seq, 2);
    assert_int_equal(m->root->last->seq, 3);
    assert_int_equal(m->root->kids->last->col, 7);
    assert_string_equal(m->meta.format, "csv");
    assert_string_equal(m->meta.syntax, "UTF-8");
}

static void test_positional(void **state)
{
    ctu_fx *f = *state;
    codec_opts o = {.header = -1};
    const char in[] = "a,b\nc,,e";
    codec_msg *m = parse(f, in, sizeof in - 1, &o);
    assert_null(m->diags);
    assert_string_equal(ctu_dump(f, m),
                        "file\n  row\n    1=a\n    2=b\n"
                        "  row\n    1=c\n    2=\n    3=e\n");
    assert_int_equal(m->root->kids->seq, 1);
}

static void test_semicolon(void **state)
{
    ctu_fx *f = *state;
    codec_opts o = {.delimiter = ';'};
    const char in[] = "price;qty\n1,5;2\n";
    codec_msg *m = parse(f, in, sizeof in - 1, &o);
    assert_null(m->diags);
    assert_string_equal(ctu_dump(f, m),
                        "file\n  row\n    price=1,5\n    qty=2\n");
}

static void test_quoted(void **state)
{
    ctu_fx *f = *state;
    const char in[] = "id,text,e\n1,\"a,b \"\"c\"\"\",\"\"\n";
    codec_msg *m = parse(f, in, sizeof in - 1, NULL);
    assert_null(m->diags);
    tnode *row = m->root->kids;
    assert_string_equal(tree_find(row, "text")->value, "a,b \"c\"");
    assert_int_equal(tree_find(row, "text")->vlen, 7);
    assert_string_equal(tree_find(row, "e")->value, "");
}

static void test_embedded_newline(void **state)
{
    ctu_fx *f = *state;
    const char in[] = "id,text\n1,\"one\ntwo\"\n2,x\n3,\"y\"\n4\n";
    codec_msg *m = parse(f, in, sizeof in - 1, NULL);
    tnode *r1 = m->root->kids, *r2 = r1->next, *r3 = r2->next;
    assert_string_equal(tree_find(r1, "text")->value, "one\ntwo");
    assert_int_equal(r1->seq, 2);
    assert_int_equal(r2->seq, 4);
    assert_int_equal(r3->seq, 5);
    assert_int_equal(tree_find(r3, "text")->col, 3);
    assert_non_null(m->diags);
    assert_int_equal(m->diags->line, 6);
    assert_string_equal(m->diags->msg, "line 6: 1 fields, header has 2");
}

static void test_crlf_blank(void **state)
{
    ctu_fx *f = *state;
    const char in[] = "a,b\r\n1,2\r\n\r\n\n3,\"4\"\r\n\r\n\x1A";
    codec_msg *m = parse(f, in, sizeof in - 1, NULL);
    assert_null(m->diags);
    assert_string_equal(ctu_dump(f, m),
                        "file\n  row\n    a=1\n    b=2\n"
                        "  row\n    a=3\n    b=4\n");
    assert_int_equal(m->root->last->seq, 5);
}

static void test_bom(void **state)
{
    ctu_fx *f = *state;
    const char in[] = "\xEF\xBB\xBFname,qty\nx,1\n";
    codec_msg *m = parse(f, in, sizeof in - 1, NULL);
    assert_non_null(tree_find(m->root->kids, "name"));
    assert_string_equal(tree_find(m->root->kids, "name")->value, "x");
    /* how spreadsheets mark UTF-8 CSV: no slip (docs/mapping-language.md) */
    assert_null(m->diags);
}

/* Line ends that change: a slip (line_ends) at the first line that ends
 * otherwise than the first, once; the rows read alike. */
static void test_line_ends(void **state)
{
    ctu_fx *f = *state;
    const char in[] = "a,b\r\n1,2\n3,\"4\"\r\n5,6\n";
    codec_msg *m = parse(f, in, sizeof in - 1, NULL);
    assert_string_equal(ctu_dump(f, m),
                        "file\n  row\n    a=1\n    b=2\n"
                        "  row\n    a=3\n    b=4\n  row\n    a=5\n    b=6\n");
    assert_non_null(m->diags);
    assert_int_equal(m->diags->rule, STRICT_LINE_ENDS);
    assert_string_equal(m->diags->msg, "line 2: ends with LF, line 1 with "
                                       "CRLF");
    assert_int_equal(m->diags->line, 2);
    assert_int_equal(m->diags->col, 4);
    assert_null(m->diags->next);
    /* after a quoted field too */
    const char q[] = "a,b\n1,\"x\"\r\n";
    m = parse(f, q, sizeof q - 1, NULL);
    assert_string_equal(m->diags->msg, "line 2: ends with CRLF, line 1 with "
                                       "LF");
    assert_int_equal(m->diags->col, 6);
}

static void test_gb18030(void **state)
{
    ctu_fx *f = *state;
    codec_opts o = {.charset = "GB18030"};
    const char in[] = "vessel,qty\n" GB_CJHY ",3\n";
    codec_msg *m = parse(f, in, sizeof in - 1, &o);
    assert_null(m->diags);
    assert_string_equal(tree_find(m->root->kids, "vessel")->value, "长江航运");
    assert_int_equal(tree_find(m->root->kids, "qty")->col, 6); /* chars */
    assert_string_equal(m->meta.syntax, "GB18030");

    /* the same bytes read as UTF-8: rejected, located, no tree */
    m = parse(f, in, sizeof in - 1, NULL);
    assert_null(m->root);
    assert_non_null(m->diags);
    assert_int_equal(m->diags->code, ERR_CHARSET);
    assert_int_equal(m->diags->line, 2);
    assert_int_equal(m->diags->col, 1);

    /* 0xFF is no GB18030 lead byte: diag at line 2, byte column 3 */
    const char bad[] = "a,b\n1,\xff\n";
    m = parse(f, bad, sizeof bad - 1, &o);
    assert_null(m->root);
    assert_int_equal(m->diags->line, 2);
    assert_int_equal(m->diags->col, 3);

    codec_opts u = {.charset = "NO-SUCH-CHARSET"};
    memset(&f->b, 0, sizeof f->b);
    assert_true(codec_csv_ops.parse(in, sizeof in - 1, &u, &f->a, &f->b,
                                    &f->e) < 0);
}

static void test_ragged(void **state)
{
    ctu_fx *f = *state;
    const char in[] = "a,b,c\n1,2,3\n1,2\n1,2,3,4\n5,6,7\n";
    codec_msg *m = parse(f, in, sizeof in - 1, NULL);
    assert_non_null(m->root);
    assert_int_equal(m->root->nkids, 4);
    codec_diag *d = m->diags;
    assert_non_null(d);
    assert_string_equal(d->msg, "line 3: 2 fields, header has 3");
    assert_int_equal(d->line, 3);
    assert_int_equal(d->code, ERR_SYNTAX);
    assert_non_null(d->next);
    assert_string_equal(d->next->msg, "line 4: 4 fields, header has 3");
    assert_null(d->next->next);
    assert_string_equal(tree_kid(m->root, 2)->last->name, "4");
}

static void test_unterminated(void **state)
{
    ctu_fx *f = *state;
    const char in[] = "a,b\n1,2\n3,\"abc\n4,5\n";
    codec_msg *m = parse(f, in, sizeof in - 1, NULL);
    assert_non_null(m->diags);
    assert_string_equal(m->diags->msg, "line 3 col 3: unterminated quote");
    assert_int_equal(m->diags->line, 3);
    assert_int_equal(m->diags->col, 3);
    assert_int_equal(m->root->nkids, 1);
}

static void test_after_quote(void **state)
{
    ctu_fx *f = *state;
    const char in[] = "a,b\n\"x\"y,2\n";
    codec_msg *m = parse(f, in, sizeof in - 1, NULL);
    assert_non_null(m->diags);
    assert_string_equal(m->diags->msg, "line 2 col 4: text after closing quote");
    assert_string_equal(tree_find(m->root->kids, "b")->value, "2");
}

static void test_caps(void **state)
{
    ctu_fx *f = *state;
    size_t n = CSV_MAX_FIELD + 100;
    char *in = malloc(n + 8);
    assert_non_null(in);
    memcpy(in, "a\n", 2);
    memset(in + 2, 'x', n);
    codec_msg *m = parse(f, in, n + 2, NULL);
    assert_non_null(m->diags);
    assert_int_equal(m->diags->code, ERR_TOOBIG);

    char *p = in; /* 1001 fields */
    for (unsigned i = 0; i <= CSV_MAX_COLS; i++) {
        *p++ = 'v';
        *p++ = ',';
    }
    p[-1] = '\n';
    codec_opts o = {.header = -1};
    m = parse(f, in, (size_t)(p - in), &o);
    assert_non_null(m->diags);
    assert_int_equal(m->root->kids->nkids, CSV_MAX_COLS);
    free(in);
}

static void test_roundtrip(void **state)
{
    ctu_fx *f = *state;
    const char in[] = "id,text,note\n1,\"a,b \"\"c\"\"\", lead\n"
                      "2,\"multi\nline\",\n3,长江航运,\"trail \"\n4,,\"\"\n";
    codec_msg *m = parse(f, in, sizeof in - 1, NULL);
    assert_null(m->diags);
    char *first = strdup(ctu_dump(f, m));
    const codec_msg *list[] = {m};
    buf_t w;
    buf_init(&w, 1 << 20);
    assert_int_equal(codec_csv_ops.write(list, 1, NULL, &w, &f->e), 0);
    codec_msg *m2 = parse(f, w.p, w.len, NULL);
    assert_null(m2->diags);
    assert_string_equal(ctu_dump(f, m2), first);

    /* one column: an empty cell must not become a skipped blank line */
    const char one[] = "x\n\"\"\nb\n";
    m = parse(f, one, sizeof one - 1, NULL);
    assert_int_equal(m->root->nkids, 2);
    buf_reset(&w);
    list[0] = m;
    assert_int_equal(codec_csv_ops.write(list, 1, NULL, &w, &f->e), 0);
    assert_string_equal(w.p, "x\r\n\"\"\r\nb\r\n");

    /* a header may name two columns alike: both are written back (fuzz
     * find), and a headerless row keeps its own length, a lone empty cell
     * quoted so the row is not read as blank (fuzz find) */
    const char dup[] = "qty;qty\n1;2\n";
    codec_opts semi = {.delimiter = ';'};
    m = parse(f, dup, sizeof dup - 1, &semi);
    buf_reset(&w);
    list[0] = m;
    assert_int_equal(codec_csv_ops.write(list, 1, &semi, &w, &f->e), 0);
    assert_string_equal(w.p, "qty;qty\r\n1;2\r\n");
    const char ragged[] = "\"\"\n,\n";
    codec_opts none = {.header = -1};
    m = parse(f, ragged, sizeof ragged - 1, &none);
    buf_reset(&w);
    list[0] = m;
    assert_int_equal(codec_csv_ops.write(list, 1, &none, &w, &f->e), 0);
    assert_string_equal(w.p, "\"\"\r\n,\r\n");
    buf_free(&w);
    free(first);
}

static tnode *row_of(arena_t *a, tnode *root, const char *const *kv)
{
    tnode *row = tree_add_new(a, root, "row", NULL);
    for (; kv[0]; kv += 2)
        tree_add_new(a, row, kv[0], kv[1]);
    return row;
}

static void test_write_quoting(void **state)
{
    ctu_fx *f = *state;
    codec_msg m = {.root = tree_new(&f->a, "file", NULL)};
    const char *r1[] = {"p", "plain", "d", "a,b", "q", "say \"hi\"",
                        "s", " lead", NULL};
    const char *r2[] = {"p", "trail ", "d", "line\nbreak", "q", "",
                        "s", "semi;colon", NULL};
    row_of(&f->a, m.root, r1);
    row_of(&f->a, m.root, r2);
    const codec_msg *list[] = {&m};
    assert_int_equal(codec_csv_ops.write(list, 1, NULL, &f->out, &f->e), 0);
    assert_string_equal(f->out.p,
                        "p,d,q,s\r\n"
                        "plain,\"a,b\",\"say \"\"hi\"\"\",\" lead\"\r\n"
                        "\"trail \",\"line\nbreak\",,semi;colon\r\n");

    codec_opts o = {.delimiter = ';', .header = -1};
    buf_reset(&f->out);
    assert_int_equal(codec_csv_ops.write(list, 1, &o, &f->out, &f->e), 0);
    assert_string_equal(f->out.p,
                        "plain;a,b;\"say \"\"hi\"\"\";\" lead\"\r\n"
                        "\"trail \";\"line\nbreak\";;\"semi;colon\"\r\n");
}

static void test_write_charset_and_errors(void **state)
{
    ctu_fx *f = *state;
    codec_msg m = {.root = tree_new(&f->a, "file", NULL)};
    const char *r1[] = {"vessel", "长江航运", "qty", "3", NULL};
    row_of(&f->a, m.root, r1);
    const codec_msg *list[] = {&m};
    codec_opts o = {.charset = "GB18030"};
    assert_int_equal(codec_csv_ops.write(list, 1, &o, &f->out, &f->e), 0);
    assert_memory_equal(f->out.p, "vessel,qty\r\n" GB_CJHY ",3\r\n",
                        f->out.len);
    assert_int_equal(f->out.len, sizeof("vessel,qty\r\n" GB_CJHY ",3\r\n") - 1);

    /* no tree: error, and out left exactly as it was */
    codec_msg broken = {0};
    const codec_msg *both[] = {&m, &broken};
    size_t before = f->out.len;
    assert_int_equal(codec_csv_ops.write(both, 2, NULL, &f->out, &f->e),
                     ERR_INVALID);
    assert_int_equal(f->out.len, before);

    codec_opts same = {.delimiter = '"'};
    assert_int_equal(codec_csv_ops.write(list, 1, &same, &f->out, &f->e),
                     ERR_CONFIG);
}

static void test_sniff(void **state)
{
    (void)state;
    assert_int_equal(codec_csv_ops.sniff("a,b,c\n1,2,3\n", 12), 20);
    assert_int_equal(codec_csv_ops.sniff("a;b;c", 5), 20);
    assert_int_equal(codec_csv_ops.sniff("a,b\n,,,,", 8), 0);
    assert_int_equal(codec_csv_ops.sniff("<a,b,c>", 7), 0);
    assert_int_equal(codec_csv_ops.sniff("{\"a\":1,\"b\":2,\"c\":3}", 19), 0);
    assert_int_equal(codec_csv_ops.sniff("", 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header, setup, ctu_teardown),
        cmocka_unit_test_setup_teardown(test_positional, setup, ctu_teardown),
        cmocka_unit_test_setup_teardown(test_semicolon, setup, ctu_teardown),
        cmocka_unit_test_setup_teardown(test_quoted, setup, ctu_teardown),
        cmocka_unit_test_setup_teardown(test_embedded_newline, setup,
                                        ctu_teardown),
        cmocka_unit_test_setup_teardown(test_crlf_blank, setup, ctu_teardown),
        cmocka_unit_test_setup_teardown(test_bom, setup, ctu_teardown),
        cmocka_unit_test_setup_teardown(test_line_ends, setup, ctu_teardown),
        cmocka_unit_test_setup_teardown(test_gb18030, setup, ctu_teardown),
        cmocka_unit_test_setup_teardown(test_ragged, setup, ctu_teardown),
        cmocka_unit_test_setup_teardown(test_unterminated, setup, ctu_teardown),
        cmocka_unit_test_setup_teardown(test_after_quote, setup, ctu_teardown),
        cmocka_unit_test_setup_teardown(test_caps, setup, ctu_teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, ctu_teardown),
        cmocka_unit_test_setup_teardown(test_write_quoting, setup,
                                        ctu_teardown),
        cmocka_unit_test_setup_teardown(test_write_charset_and_errors, setup,
                                        ctu_teardown),
        cmocka_unit_test(test_sniff),
    };
    return cmocka_run_group_tests_name("codec_csv", tests, NULL, NULL);
}
