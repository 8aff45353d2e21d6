/* Tests for codec_fixed: layouts, trimming, diagnostics, byte columns in
 * GB18030, writing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "codec_fixed.h"
#include "codec_testutil.h"

/* 长江航运 in GB18030 (8 bytes), checked with iconv(1). */
#define GB_CJHY "\xb3\xa4\xbd\xad\xba\xbd\xd4\xcb"

/* Header "00": sender 3..12, date 13..20. Detail "10": item 3..10,
 * qty 11..16 (right-aligned), desc 17..26. */
static const codec_fixed_field hdr_f[] = {{"sender", 3, 10}, {"date", 13, 8}};
static const codec_fixed_field det_f[] = {
    {"item", 3, 8}, {"qty", 11, 6}, {"desc", 17, 10}};
static const codec_fixed_record recs[] = {{"00", hdr_f, 2},
                                          {"10", det_f, 3}};
static const codec_opts opts = {.type_len = 2, .records = recs,
                                .nrecords = 2};

#define HDR "00ACME      20240131"
#define DET1 "10BOLT-001    12  hex bolt"
#define DET2 "10NUT       -3.5"

static codec_msg *parse(ctu_fx *f, const char *s, const codec_opts *o)
{
    return ctu_parse(f, &codec_fixed_ops, s, strlen(s), o, 1);
}

static void test_two_types(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, HDR "\n" DET1 "\r\n\n" DET2 "\n\x1A", &opts);
    /* LF then CRLF: read alike, and a slip (line_ends), not an error */
    assert_non_null(m->diags);
    assert_int_equal(m->diags->rule, STRICT_LINE_ENDS);
    assert_string_equal(m->diags->msg, "line 2: ends with CRLF, line 1 with "
                                       "LF");
    assert_int_equal(m->diags->line, 2);
    assert_int_equal(m->diags->col, 27);
    assert_null(m->diags->next);
    assert_string_equal(ctu_dump(f, m),
                        "file\n"
                        "  00\n    sender=ACME\n    date=20240131\n"
                        "  10\n    item=BOLT-001\n    qty=12\n"
                        "    desc=  hex bolt\n"
                        "  10\n    item=NUT\n    qty=-3.5\n"
                        "    desc=\n");
    assert_int_equal(m->root->kids->seq, 1);
    assert_int_equal(m->root->last->seq, 4);
    assert_int_equal(tree_find(m->root->last, "qty")->col, 11);
    assert_string_equal(m->meta.format, "fixed");
    assert_string_equal(m->meta.syntax, "UTF-8");
}

/* A BOM and line ends: slips naming their rule, the tree as without. */
static void test_slips(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, HDR "\r\n" DET1 "\r\n" DET2 "\r\n", &opts);
    assert_null(m->diags); /* CRLF throughout: one way */
    char *clean = strdup(ctu_dump(f, m));
    m = parse(f, "\xEF\xBB\xBF" HDR "\r\n" DET1 "\r\n" DET2 "\n", &opts);
    assert_string_equal(ctu_dump(f, m), clean);
    assert_int_equal(m->diags->rule, STRICT_BOM);
    assert_int_equal(m->diags->line, 1);
    assert_int_equal(m->diags->col, 1);
    assert_string_equal(m->diags->msg, "UTF-8 byte order mark before the "
                                       "first record");
    assert_int_equal(m->diags->next->rule, STRICT_LINE_ENDS);
    assert_string_equal(m->diags->next->msg, "line 3: ends with LF, line 1 "
                                             "with CRLF");
    assert_null(m->diags->next->next);
    free(clean);
}

static void test_diags(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, HDR "\n99whatever\n1\n" DET2 "\n", &opts);
    assert_non_null(m->root);
    assert_int_equal(m->root->nkids, 2); /* the good lines are kept */
    codec_diag *d = m->diags;
    assert_non_null(d);
    assert_string_equal(d->msg, "line 2: unknown record type '99'");
    assert_int_equal(d->line, 2);
    assert_non_null(d->next);
    assert_int_equal(d->next->line, 3);
    assert_non_null(strstr(d->next->msg, "shorter than the record type"));
    assert_int_equal(m->root->last->seq, 4);

    m = parse(f, "00ok\n10\xff\xfe\n", &opts);
    assert_null(m->root);
    assert_int_equal(m->diags->line, 2);
    assert_int_equal(m->diags->col, 3);
}

static void test_utf8_columns(void **state)
{
    ctu_fx *f = *state;
    /* without a charset, columns are characters: 4 CJK chars fill 3..6 */
    static const codec_fixed_field cf[] = {{"name", 3, 4}, {"qty", 7, 3}};
    static const codec_fixed_record cr[] = {{"10", cf, 2}};
    codec_opts o = {.type_len = 2, .records = cr, .nrecords = 1};
    codec_msg *m = parse(f, "10长江航运 42\n", &o);
    assert_null(m->diags);
    assert_string_equal(tree_find(m->root->kids, "name")->value, "长江航运");
    assert_string_equal(tree_find(m->root->kids, "qty")->value, "42");
}

static void test_gb18030_bytes(void **state)
{
    ctu_fx *f = *state;
    static const codec_fixed_field gf[] = {{"name", 3, 8}, {"qty", 11, 4}};
    static const codec_fixed_record gr[] = {{"10", gf, 2}};
    codec_opts o = {.type_len = 2, .records = gr, .nrecords = 1,
                    .charset = "GB18030"};
    codec_msg *m = parse(f, "10" GB_CJHY "  12\n", &o);
    assert_null(m->diags);
    assert_string_equal(tree_find(m->root->kids, "name")->value, "长江航运");
    assert_string_equal(tree_find(m->root->kids, "qty")->value, "12");
    assert_string_equal(m->meta.syntax, "GB18030");

    /* a layout that splits a 2-byte character is reported, not garbled */
    static const codec_fixed_field sf[] = {{"name", 3, 7}};
    static const codec_fixed_record sr[] = {{"10", sf, 1}};
    o.records = sr;
    m = parse(f, "10" GB_CJHY "\n", &o);
    assert_non_null(m->diags);
    assert_int_equal(m->diags->code, ERR_CHARSET);
    assert_int_equal(m->diags->line, 1);
    assert_string_equal(tree_find(m->root->kids, "name")->value, "");

    /* write back: same bytes */
    o.records = gr;
    m = parse(f, "10" GB_CJHY "  12\n", &o);
    const codec_msg *list[] = {m};
    buf_reset(&f->out);
    assert_int_equal(codec_fixed_ops.write(list, 1, &o, &f->out, &f->e), 0);
    assert_string_equal(f->out.p, "10" GB_CJHY "12  \n");
}

static void test_short_line_and_single_layout(void **state)
{
    ctu_fx *f = *state;
    static const codec_fixed_field sf[] = {{"a", 1, 3}, {"b", 4, 3}};
    static const codec_fixed_record sr[] = {{NULL, sf, 2}};
    codec_opts o = {.records = sr, .nrecords = 1};
    codec_msg *m = parse(f, "xyzq\nab\n", &o);
    assert_null(m->diags);
    assert_string_equal(ctu_dump(f, m),
                        "file\n  record\n    a=xyz\n    b=q\n"
                        "  record\n    a=ab\n    b=\n");
}

static void test_write_padding(void **state)
{
    ctu_fx *f = *state;
    codec_msg m = {.root = tree_new(&f->a, "file", NULL)};
    tnode *h = tree_add_new(&f->a, m.root, "00", NULL);
    tree_add_new(&f->a, h, "date", "20240131"); /* out of layout order */
    tree_add_new(&f->a, h, "sender", "ACME");
    tnode *d = tree_add_new(&f->a, m.root, "10", NULL);
    tree_add_new(&f->a, d, "qty", "7");
    const codec_msg *list[] = {&m};
    assert_int_equal(codec_fixed_ops.write(list, 1, &opts, &f->out, &f->e),
                     0);
    assert_string_equal(f->out.p, "00ACME      20240131\n"
                                  "10        7               \n");
}

static void test_roundtrip(void **state)
{
    ctu_fx *f = *state;
    const char in[] = HDR "\n" DET1 "\n"
                          "10NUT       3     WASHER    \n";
    codec_msg *m = parse(f, in, &opts);
    assert_null(m->diags);
    char *first = strdup(ctu_dump(f, m));
    const codec_msg *list[] = {m};
    buf_t w;
    buf_init(&w, 1 << 16);
    assert_int_equal(codec_fixed_ops.write(list, 1, &opts, &w, &f->e), 0);
    /* qty was right-aligned: it comes back left-aligned, same value */
    assert_string_equal(w.p, HDR "\n10BOLT-00112      hex bolt\n"
                             "10NUT     3       WASHER  \n");
    codec_msg *m2 = parse(f, w.p, &opts);
    assert_string_equal(ctu_dump(f, m2), first);
    buf_free(&w);
    free(first);
}

static void test_write_errors(void **state)
{
    ctu_fx *f = *state;
    codec_msg m = {.root = tree_new(&f->a, "file", NULL)};
    tnode *d = tree_add_new(&f->a, m.root, "10", NULL);
    tree_add_new(&f->a, d, "item", "EXACTLY8"); /* fits: width 8 */
    d = tree_add_new(&f->a, m.root, "10", NULL);
    tree_add_new(&f->a, d, "item", "ONE-TOO-L");
    const codec_msg *list[] = {&m};
    buf_adds(&f->out, "keep");
    assert_int_equal(codec_fixed_ops.write(list, 1, &opts, &f->out, &f->e),
                     ERR_INVALID);
    assert_string_equal(f->out.p, "keep");
    assert_non_null(strstr(f->e.msg, "line 2"));
    assert_non_null(strstr(f->e.msg, "'item'"));
    assert_non_null(strstr(f->e.msg, "9 characters, width 8"));

    /* in GB18030, widths are bytes: 4 characters need 8 */
    static const codec_fixed_field gf[] = {{"name", 3, 6}};
    static const codec_fixed_record gr[] = {{"10", gf, 1}};
    codec_opts o = {.type_len = 2, .records = gr, .nrecords = 1,
                    .charset = "GB18030"};
    codec_msg g = {.root = tree_new(&f->a, "file", NULL)};
    tree_add_new(&f->a, tree_add_new(&f->a, g.root, "10", NULL), "name",
                 "长江航运");
    list[0] = &g;
    assert_int_equal(codec_fixed_ops.write(list, 1, &o, &f->out, &f->e),
                     ERR_INVALID);
    assert_non_null(strstr(f->e.msg, "8 bytes, width 6"));

    tree_add_new(&f->a, m.root, "77", NULL);
    m.root->kids = m.root->last; /* only the unknown record */
    list[0] = &m;
    assert_int_equal(codec_fixed_ops.write(list, 1, &opts, &f->out, &f->e),
                     ERR_INVALID);
    assert_non_null(strstr(f->e.msg, "'77'"));
}

static void test_bad_layouts(void **state)
{
    ctu_fx *f = *state;
    codec_opts o = opts;
    o.type_len = 0; /* two layouts need a type code */
    memset(&f->b, 0, sizeof f->b);
    assert_int_equal(codec_fixed_ops.parse("x", 1, &o, &f->a, &f->b, &f->e),
                     ERR_CONFIG);
    static const codec_fixed_field zf[] = {{"z", 0, 3}};
    static const codec_fixed_record zr[] = {{"10", zf, 1}};
    codec_opts z = {.type_len = 2, .records = zr, .nrecords = 1};
    assert_int_equal(codec_fixed_ops.parse("x", 1, &z, &f->a, &f->b, &f->e),
                     ERR_CONFIG);
    assert_int_equal(codec_fixed_ops.parse("x", 1, NULL, &f->a, &f->b, &f->e),
                     ERR_CONFIG);
    codec_opts cs = opts;
    cs.charset = "NO-SUCH-CHARSET";
    assert_int_equal(codec_fixed_ops.parse("x", 1, &cs, &f->a, &f->b, &f->e),
                     ERR_CONFIG);
    assert_int_equal(codec_fixed_ops.sniff(HDR, strlen(HDR)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        ctu_unit_test(test_two_types),
        ctu_unit_test(test_slips),
        ctu_unit_test(test_diags),
        ctu_unit_test(test_utf8_columns),
        ctu_unit_test(test_gb18030_bytes),
        ctu_unit_test(test_short_line_and_single_layout),
        ctu_unit_test(test_write_padding),
        ctu_unit_test(test_roundtrip),
        ctu_unit_test(test_write_errors),
        ctu_unit_test(test_bad_layouts),
    };
    return cmocka_run_group_tests_name("codec_fixed", tests, NULL, NULL);
}
