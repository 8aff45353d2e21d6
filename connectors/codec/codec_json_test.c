#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "codec_json.h"
#include "codec_testutil.h"

#define GUOYUAN_UTF8 "\xE9\x87\x8D\xE5\xBA\x86\xE6\x9E\x9C\xE5\x9B\xAD\xE6\xB8\xAF"

/* Parses s expecting n messages; returns the first. */
static codec_msg *parse_n(ctu_fx *f, const char *s, uint32_t n)
{
    return ctu_parse(f, &codec_json_ops, s, strlen(s), NULL, n);
}

static codec_msg *parse(ctu_fx *f, const char *s)
{
    return parse_n(f, s, 1);
}

static void t_nested_objects(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "{\"messageType\": \"WAYBILL\",\n"
                            " \"shipper\": {\"name\": \"A\", \"address\": {\"city\": \"CQ\"}},\n"
                            " \"empty\": {}}");
    tnode *r = m->root;
    assert_non_null(r);
    assert_string_equal(r->name, "");
    assert_int_equal(r->flags, TN_OBJ);
    assert_string_equal(m->meta.format, "json");
    assert_string_equal(m->meta.message_type, "WAYBILL");
    assert_int_equal(ctu_path(r, "shipper", NULL)->flags, TN_OBJ);
    assert_string_equal(ctu_path(ctu_path(r, "shipper", "address"), "city", NULL)->value, "CQ");
    tnode *empty = ctu_path(r, "empty", NULL);
    assert_int_equal(empty->flags, TN_OBJ);
    assert_int_equal(empty->nkids, 0);
    assert_null(empty->value);
    tnode *addr = ctu_path(r, "shipper", "address");
    assert_int_equal(addr->line, 2);
    assert_int_equal(addr->col, 27);
}

static void t_arrays(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "{\"type\": \"MANIFEST\", \"items\": [{\"seq\": 1}, {\"seq\": 2}, {\"seq\": 3}],"
                            " \"tags\": [\"a\", \"b\"], \"none\": [], \"grid\": [[1, 2], []]}");
    tnode *r = m->root;
    assert_string_equal(m->meta.message_type, "MANIFEST");
    assert_int_equal(ctu_count(r, "items"), 3);
    tnode *it = tree_kid(r, 3);
    assert_string_equal(it->name, "items");
    assert_int_equal(it->flags, TN_OBJ | TN_LIST);
    assert_string_equal(ctu_path(it, "seq", NULL)->value, "3");
    assert_int_equal(ctu_count(r, "tags"), 2);
    assert_int_equal(ctu_path(r, "tags", NULL)->flags, TN_LIST);
    assert_null(tree_find(r, "none")); /* empty arrays are dropped */
    assert_int_equal(ctu_count(r, "grid"), 2);
    tnode *g = ctu_path(r, "grid", NULL);
    assert_int_equal(g->flags, TN_LIST);
    assert_int_equal(g->nkids, 2);
    assert_string_equal(g->kids->name, "");
    assert_int_equal(g->kids->flags, TN_LIST | TN_NUM);
    assert_int_equal(g->next->nkids, 0);
}

static void t_numbers(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "{\"i\": 42, \"d\": 1234.5, \"n\": -7, \"z\": -0.25, \"e\": 1.5E+3,"
                            " \"keep\": 12.30, \"big\": 12345678901234567890123, \"zero\": 0}");
    static const char *const want[][2] = {
        {"i", "42"},       {"d", "1234.5"}, {"n", "-7"},
        {"z", "-0.25"},    {"e", "1.5E+3"}, {"keep", "12.30"},
        {"big", "12345678901234567890123"}, {"zero", "0"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        tnode *t = ctu_path(m->root, want[i][0], NULL);
        assert_non_null(t);
        assert_string_equal(t->value, want[i][1]);
        assert_int_equal(t->flags, TN_NUM);
        assert_int_equal(t->vlen, strlen(want[i][1]));
    }
    static const char *const bad[] = {"{\"a\": 01}", "{\"a\": 1.}", "{\"a\": -}",
                                      "{\"a\": +1}", "{\"a\": .5}", "{\"a\": 1e}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = parse(f, bad[i]);
        assert_null(m->root);
        assert_non_null(m->diags);
        assert_int_equal(m->diags->code, ERR_SYNTAX);
    }
}

static void t_bools_null(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "{\"t\": true, \"f\": false, \"x\": null, \"s\": \"null\"}");
    tnode *t = ctu_path(m->root, "t", NULL), *x = ctu_path(m->root, "x", NULL);
    assert_string_equal(t->value, "true");
    assert_int_equal(t->flags, TN_BOOL);
    assert_string_equal(ctu_path(m->root, "f", NULL)->value, "false");
    assert_null(x->value);
    assert_int_equal(x->flags, TN_NULL);
    assert_int_equal(ctu_path(m->root, "s", NULL)->flags, 0);
    m = parse(f, "{\"t\": tru}");
    assert_null(m->root);
}

static void t_top_level_array(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse_n(f, "[{\"type\": \"A\", \"n\": 1},\n {\"type\": \"B\"},\n 7,\n {}]", 4);
    assert_string_equal(m->meta.message_type, "A");
    assert_int_equal(m->index, 0);
    assert_string_equal(m->next->meta.message_type, "B");
    assert_int_equal(m->next->line, 2);
    codec_msg *bad = m->next->next;
    assert_null(bad->root);
    assert_non_null(bad->diags);
    assert_int_equal(bad->diags->line, 3);
    assert_non_null(bad->next->root);
    parse_n(f, " [ ] ", 0);
    /* an error inside element 2 ends the feed there */
    m = parse_n(f, "[{\"a\": 1}, {\"a\": }, {\"a\": 3}]", 2);
    assert_non_null(m->root);
    assert_null(m->next->root);
    assert_int_equal(m->next->diags->col, 18);
    parse_n(f, "[{\"a\": 1}] x", 1);
    assert_non_null(f->b.diags); /* trailing data is an input-level problem */
}

static void t_ndjson(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse_n(f, "{\"type\": \"A\"}\n{\"type\": \"B\", oops}\n\n{\"type\": \"C\"}\n", 3);
    assert_string_equal(m->meta.message_type, "A");
    assert_non_null(m->root);
    assert_null(m->next->root);
    assert_int_equal(m->next->diags->line, 2);
    assert_int_equal(m->next->diags->col, 15);
    assert_string_equal(m->next->next->meta.message_type, "C");
    assert_int_equal(m->next->next->line, 4);
    assert_int_equal(m->next->next->root->line, 4);
    /* the first line broken, the next opens a record: still NDJSON */
    m = parse_n(f, "{\"a\": 1,}\n{\"a\": 2}", 2);
    assert_null(m->root);
    assert_non_null(m->next->root);
    /* two records on one line are not NDJSON */
    m = parse_n(f, "{\"a\": 1} {\"a\": 2}", 1);
    assert_null(m->root);
    /* pretty-printed objects one after another; the broken one is skipped
     * up to the next '{' in column 1 */
    m = parse_n(f, "{\n \"a\": 1\n}\n{\n \"b\": 2,,\n {\"x\": 1}\n}\n{\n \"c\": 3\n}\n", 3);
    assert_non_null(m->root);
    assert_null(m->next->root);
    assert_int_equal(m->next->diags->line, 5);
    assert_null(m->next->diags->next);
    assert_non_null(ctu_path(m->next->next->root, "c", NULL));
    assert_int_equal(m->next->next->line, 8);
    /* indented objects inside a broken document are not messages */
    m = parse(f, "{\"items\": [\n  {\"a\": 1},,\n  {\"a\": 2}\n]}\n");
    assert_null(m->root);
}

static void t_malformed(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "{\n  \"a\": 1,\n  \"b\": }\n");
    assert_null(m->root);
    assert_non_null(m->diags);
    assert_int_equal(m->diags->code, ERR_SYNTAX);
    assert_int_equal(m->diags->line, 3);
    assert_int_equal(m->diags->col, 8);
    assert_non_null(strstr(m->diags->msg, "'}'"));
    m = parse(f, "{\"a\": \"unterminated}");
    assert_non_null(strstr(m->diags->msg, "unterminated"));
    m = parse(f, "{\"a\": 1");
    assert_non_null(strstr(m->diags->msg, "end of input"));
    m = parse(f, "   ");
    assert_null(m->root);
    assert_non_null(m->diags);
    m = parse(f, "{\"a\": \"tab\there\"}");
    assert_null(m->root);
    char deep[700];
    size_t n = 0;
    deep[n++] = '{';
    deep[n++] = '"';
    deep[n++] = 'a';
    deep[n++] = '"';
    deep[n++] = ':';
    for (int i = 0; i < 300; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    m = parse(f, deep);
    assert_null(m->root);
    assert_int_equal(m->diags->code, ERR_TOOBIG);
}

static void t_duplicates(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "{\"a\": 1, \"b\": {\"a\": 2}, \"a\": 3}");
    assert_null(m->root);
    assert_int_equal(m->diags->code, ERR_INVALID);
    assert_int_equal(m->diags->col, 25);
    assert_non_null(strstr(m->diags->msg, "duplicate key \"a\""));
    /* past the scanned few, the hash table must catch it too */
    char big[4096];
    size_t n = (size_t)snprintf(big, sizeof big, "{");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "\"k%d\": %d, ", i, i);
    snprintf(big + n, sizeof big - n, "\"k77\": 0}");
    m = parse(f, big);
    assert_null(m->root);
    assert_non_null(strstr(m->diags->msg, "k77"));
    big[n - 2] = '}';
    big[n - 1] = '\0';
    m = parse(f, big);
    assert_non_null(m->root);
    assert_int_equal(m->root->nkids, 100);
    /* an empty array still claims its key */
    m = parse(f, "{\"a\": [], \"a\": 1}");
    assert_null(m->root);
}

static void t_unicode(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "{\"port\": \"\\u91cd\\u5e86\\u679c\\u56ed\\u6e2f\", \"raw\": \""
                            GUOYUAN_UTF8 "\", \"emoji\": \"\\ud83d\\ude00\","
                            " \"esc\": \"q\\\"b\\\\s\\/n\\nt\\t\"}");
    assert_string_equal(ctu_path(m->root, "port", NULL)->value, GUOYUAN_UTF8);
    assert_int_equal(ctu_path(m->root, "port", NULL)->vlen, 15);
    assert_string_equal(ctu_path(m->root, "raw", NULL)->value, GUOYUAN_UTF8);
    assert_string_equal(ctu_path(m->root, "emoji", NULL)->value, "\xF0\x9F\x98\x80");
    assert_string_equal(ctu_path(m->root, "esc", NULL)->value, "q\"b\\s/n\nt\t");
    m = parse(f, "{\"a\": \"\\ud83d\"}");
    assert_null(m->root);
    m = parse(f, "{\"a\": \"x\\u0000y\"}");
    assert_null(m->root);
    assert_int_equal(m->diags->code, ERR_UNSUPPORTED);
    m = parse(f, "{\"a\": \"\xC0\xAF\"}"); /* overlong '/' */
    assert_null(m->root);
    assert_non_null(strstr(m->diags->msg, "UTF-8"));
    m = parse(f, "\xEF\xBB\xBF{\"bom\": 1}");
    assert_non_null(m->root);
    /* read past (RFC 8259 8.1), a slip of the input (bom), not the
     * message's: a feed's every record carries it */
    assert_null(m->diags);
    assert_non_null(f->b.diags);
    assert_int_equal(f->b.diags->rule, STRICT_BOM);
    assert_int_equal(f->b.diags->line, 1);
    assert_int_equal(f->b.diags->col, 1);
    assert_string_equal(f->b.diags->msg, "UTF-8 byte order mark before the "
                                         "JSON text");
    m = parse(f, "{\"bom\": 1}");
    assert_null(f->b.diags);
}

static void roundtrip(ctu_fx *f, const char *doc, uint32_t n, int pretty)
{
    codec_msg *m1 = parse_n(f, doc, n);
    const codec_msg *ms[8];
    uint32_t i = 0;
    for (codec_msg *m = m1; m; m = m->next) {
        assert_non_null(m->root);
        ms[i++] = m;
    }
    codec_opts o = {.pretty = pretty};
    buf_reset(&f->out);
    assert_int_equal(jsonc_write(ms, n, &o, &f->out, &f->e), 0);
    codec_msg *m2 = parse_n(f, f->out.p, n);
    for (i = 0; i < n; i++, m2 = m2->next) {
        assert_true(tree_equal(ms[i]->root, m2->root));
        assert_string_equal(m2->meta.message_type, ms[i]->meta.message_type);
    }
}

static void t_roundtrip(void **state)
{
    ctu_fx *f = *state;
    const char *doc =
        "{\"messageType\": \"WAYBILL\", \"no\": \"CQ-1\", \"w\": 12.30, \"n\": -3,"
        " \"ok\": true, \"nil\": null, \"port\": \"" GUOYUAN_UTF8 "\","
        " \"items\": [{\"seq\": 1, \"tags\": [\"x\", \"y\"]}, {\"seq\": 2, \"o\": {}}],"
        " \"one\": [\"solo\"], \"grid\": [[1, [2]], [], [null]], \"ctl\": \"a\\u0001\\\"\\n\"}";
    roundtrip(f, doc, 1, 0);
    roundtrip(f, doc, 1, 1);
    assert_non_null(strstr(f->out.p, "\n  \"items\": [\n    {\n      \"seq\": 1,"));
    assert_non_null(strstr(f->out.p, "\"w\": 12.30,"));
    roundtrip(f, "[{\"type\": \"A\"}, {\"type\": \"B\", \"v\": [1]}]", 2, 0);
    assert_int_equal(f->out.p[0], '[');
    roundtrip(f, "[{\"type\": \"A\"}, {\"type\": \"B\", \"v\": [1]}]", 2, 1);
}

static void t_write_rules(void **state)
{
    ctu_fx *f = *state;
    /* the shape an XML document gives: repeated names, text and attributes */
    tnode *r = tree_new(&f->a, "Manifest", NULL);
    tnode *w = tree_add_new(&f->a, r, "Weight", "12.5");
    tree_add_new(&f->a, w, "@unit", "KGM")->flags = TN_ATTR;
    tree_add_new(&f->a, r, "Item", "1");
    tree_add_new(&f->a, r, "Other", "o");
    tree_add_new(&f->a, r, "Item", "2");
    tree_add_new(&f->a, r, "Count", "3")->flags = TN_NUM;
    codec_msg m = {.root = r};
    const codec_msg *ms[] = {&m};
    assert_int_equal(jsonc_write(ms, 1, NULL, &f->out, &f->e), 0);
    assert_string_equal(f->out.p, "{\"Weight\":{\"#text\":\"12.5\",\"@unit\":\"KGM\"},"
                                  "\"Item\":[\"1\",\"2\"],\"Other\":\"o\",\"Count\":3}");
    tree_add_new(&f->a, r, "Bad", "12,5")->flags = TN_NUM;
    size_t len = f->out.len;
    assert_int_equal(jsonc_write(ms, 1, NULL, &f->out, &f->e), ERR_INVALID);
    assert_int_equal(f->out.len, len);
    assert_non_null(strstr(f->e.msg, "Bad"));
    codec_msg none = {.root = NULL};
    const codec_msg *ns[] = {&none};
    assert_int_equal(jsonc_write(ns, 1, NULL, &f->out, &f->e), ERR_INVALID);
}

static void t_write_big_object(void **state)
{
    ctu_fx *f = *state;
    tnode *r = tree_new(&f->a, "", NULL);
    char name[16];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "k%d", i % 50);
        tree_add_new(&f->a, r, name, "v");
    }
    codec_msg m = {.root = r};
    const codec_msg *ms[] = {&m};
    assert_int_equal(jsonc_write(ms, 1, NULL, &f->out, &f->e), 0);
    assert_non_null(strstr(f->out.p, "{\"k0\":[\"v\",\"v\",\"v\",\"v\"],\"k1\":["));
    codec_msg *back = parse(f, f->out.p);
    assert_int_equal(back->root->nkids, 200);
    assert_int_equal(ctu_count(back->root, "k49"), 4);
}

static void t_sniff_and_opts(void **state)
{
    ctu_fx *f = *state;
    assert_int_equal(jsonc_sniff("{\"a\":1}", 7), 80);
    assert_int_equal(jsonc_sniff("\xEF\xBB\xBF\n [1]", 8), 80);
    assert_int_equal(jsonc_sniff("<a/>", 4), 0);
    assert_int_equal(jsonc_sniff("UNB+UNOC", 8), 0);
    assert_int_equal(jsonc_sniff("", 0), 0);
    codec_opts o = {.charset = "GB18030"};
    memset(&f->b, 0, sizeof f->b);
    assert_int_equal(jsonc_parse("{}", 2, &o, &f->a, &f->b, &f->e), ERR_UNSUPPORTED);
    o.charset = "utf-8";
    assert_int_equal(jsonc_parse("{}", 2, &o, &f->a, &f->b, &f->e), 0);
    arena_t tiny;
    arena_init(&tiny, 1024);
    const char *doc = "[{\"a\": 1, \"b\": 2, \"c\": 3}, {\"a\": 1, \"b\": 2, \"c\": 3},"
                      " {\"a\": 1, \"b\": 2, \"c\": 3}, {\"a\": 1, \"b\": 2, \"c\": 3}]";
    memset(&f->b, 0, sizeof f->b);
    int rc = jsonc_parse(doc, strlen(doc), NULL, &tiny, &f->b, &f->e);
    arena_free(&tiny);
    assert_int_equal(rc, ERR_NOMEM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        ctu_unit_test(t_nested_objects),
        ctu_unit_test(t_arrays),
        ctu_unit_test(t_numbers),
        ctu_unit_test(t_bools_null),
        ctu_unit_test(t_top_level_array),
        ctu_unit_test(t_ndjson),
        ctu_unit_test(t_malformed),
        ctu_unit_test(t_duplicates),
        ctu_unit_test(t_unicode),
        ctu_unit_test(t_roundtrip),
        ctu_unit_test(t_write_rules),
        ctu_unit_test(t_write_big_object),
        ctu_unit_test(t_sniff_and_opts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
