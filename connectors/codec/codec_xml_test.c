#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec_testutil.h"
#include "codec_xml.h"

#define GUOYUAN_UTF8 "\xE9\x87\x8D\xE5\xBA\x86\xE6\x9E\x9C\xE5\x9B\xAD\xE6\xB8\xAF"
#define GUOYUAN_GB "\xD6\xD8\xC7\xEC\xB9\xFB\xD4\xB0\xB8\xDB"

static codec_msg *parse_o(ctu_fx *f, const char *s, size_t n,
                          const codec_opts *o)
{
    return ctu_parse(f, &codec_xml_ops, s, n, o, 1);
}

static codec_msg *parse(ctu_fx *f, const char *s)
{
    return parse_o(f, s, strlen(s), NULL);
}

static void t_default_namespace(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "<?xml version=\"1.0\"?>\n"
                            "<Waybill xmlns=\"urn:eport:waybill:1\" version=\"2.1\">\n"
                            "  <No>CQ1</No>\n</Waybill>\n");
    assert_non_null(m->root);
    assert_string_equal(m->meta.format, "xml");
    assert_string_equal(m->meta.message_type, "Waybill");
    assert_string_equal(m->meta.ns, "urn:eport:waybill:1");
    assert_string_equal(m->meta.version, "2.1");
    assert_string_equal(m->meta.syntax, "UTF-8");
    assert_string_equal(m->root->name, "Waybill");
    assert_null(tree_find(m->root, "@xmlns"));
    assert_string_equal(ctu_path(m->root, "No", NULL)->value, "CQ1");
    assert_null(m->root->value); /* blank text around children is no value */
}

static void t_prefixed_namespace(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "<wb:Waybill xmlns:wb=\"urn:wb\" xmlns:c=\"urn:c\">"
                            "<wb:No>1</wb:No><c:Party c:id=\"7\" wb:version=\"x\"/>"
                            "</wb:Waybill>");
    assert_non_null(m->root);
    assert_string_equal(m->meta.ns, "urn:wb");
    assert_null(m->meta.version); /* prefixed version attribute is not it */
    assert_int_equal(m->root->nkids, 2);
    tnode *party = ctu_path(m->root, "Party", NULL);
    assert_non_null(party);
    assert_string_equal(ctu_path(party, "@id", NULL)->value, "7");
    assert_string_equal(party->value, "");
}

static void t_attributes(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "<a x=\"1 &amp; 2\" y='&lt;&quot;&#38;&#x26;&gt;'>"
                            "<b/>text</a>");
    tnode *r = m->root;
    assert_non_null(r);
    assert_int_equal(r->nkids, 3);
    assert_string_equal(r->kids->name, "@x");
    assert_int_equal(r->kids->flags, TN_ATTR);
    assert_string_equal(r->kids->value, "1 & 2");
    assert_string_equal(r->kids->next->value, "<\"&&>");
    assert_int_equal(r->kids->next->vlen, 5);
    assert_string_equal(r->last->name, "b");
    assert_int_equal(r->last->flags, 0);
    assert_string_equal(r->value, "text");
}

static void t_repetition(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "<Manifest><Consignment>"
                            "<ConsignmentItem><Seq>1</Seq><Goods><Hs>8471</Hs></Goods></ConsignmentItem>\n"
                            "<ConsignmentItem><Seq>2</Seq><Goods><Hs>8517</Hs></Goods></ConsignmentItem>\n"
                            "<ConsignmentItem><Seq>3</Seq></ConsignmentItem>"
                            "</Consignment></Manifest>");
    tnode *c = ctu_path(m->root, "Consignment", NULL);
    assert_non_null(c);
    assert_int_equal(ctu_count(c, "ConsignmentItem"), 3);
    assert_string_equal(ctu_path(tree_kid(c, 1), "Goods", "Hs")->value, "8517");
    assert_string_equal(ctu_path(tree_kid(c, 2), "Seq", NULL)->value, "3");
    assert_int_equal(tree_kid(c, 2)->line, 3);
}

static void t_positions(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "<a>\n  <bb x=\"1\">v</bb>\n <c\n  y=\"2\"/></a>");
    tnode *b = ctu_path(m->root, "bb", NULL), *c = ctu_path(m->root, "c", NULL);
    assert_int_equal(m->root->line, 1);
    assert_int_equal(m->root->col, 1);
    assert_int_equal(b->line, 2);
    assert_int_equal(b->col, 3);
    assert_int_equal(c->line, 3);
    assert_int_equal(c->col, 2);
}

static void t_gb18030_declared(void **state)
{
    ctu_fx *f = *state;
    const char doc[] = "<?xml version=\"1.0\" encoding=\"GB18030\"?>"
                       "<Port name=\"" GUOYUAN_GB "\">" GUOYUAN_GB "</Port>";
    codec_msg *m = parse(f, doc);
    assert_non_null(m->root);
    assert_string_equal(m->meta.syntax, "GB18030");
    assert_string_equal(m->root->value, GUOYUAN_UTF8);
    assert_string_equal(ctu_path(m->root, "@name", NULL)->value, GUOYUAN_UTF8);
}

static void t_charset_option(void **state)
{
    ctu_fx *f = *state;
    const char doc[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><P>" GUOYUAN_GB "</P>";
    codec_opts o = {.charset = "GB18030"};
    codec_msg *m = parse_o(f, doc, strlen(doc), &o);
    assert_non_null(m->root);
    assert_string_equal(m->root->value, GUOYUAN_UTF8);
    assert_string_equal(m->meta.syntax, "GB18030");
    /* the option must not stick to the next parse (the parser is reused) */
    const char decl[] = "<?xml version=\"1.0\" encoding=\"GB18030\"?><P>" GUOYUAN_GB "</P>";
    m = parse(f, decl);
    assert_non_null(m->root);
    assert_string_equal(m->root->value, GUOYUAN_UTF8);
    o.charset = "NO-SUCH-CHARSET";
    memset(&f->b, 0, sizeof f->b);
    assert_int_equal(xmlc_parse(doc, strlen(doc), &o, &f->a, &f->b, &f->e),
                     ERR_CHARSET);
}

static void t_utf8_chinese(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "<Port><Name>  " GUOYUAN_UTF8 " \n</Name></Port>");
    assert_string_equal(ctu_path(m->root, "Name", NULL)->value, GUOYUAN_UTF8);
    /* GB18030 bytes in a document that claims UTF-8 are an encoding error */
    m = parse(f, "<Port>" GUOYUAN_GB "</Port>");
    assert_null(m->root);
    assert_non_null(m->diags);
    assert_int_equal(m->diags->line, 1);
}

static void t_malformed(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "<a>\n  <b>x</b>\n  <c>\n</a>\n");
    assert_null(m->root);
    assert_non_null(m->diags);
    assert_int_equal(m->diags->code, ERR_SYNTAX);
    assert_int_equal(m->diags->line, 4);
    assert_true(m->diags->col > 0);
    assert_non_null(strstr(m->diags->msg, "mismatch"));
    assert_null(strchr(m->diags->msg, '\n'));
    m = parse(f, "");
    assert_null(m->root);
    assert_non_null(m->diags);
    /* a broken first document hides whatever follows it */
    parse(f, "<a><b></a>\n<?xml version=\"1.0\"?><c/>");
}

static void t_entities_refused(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
                            " <!ENTITY lol \"lol\">\n"
                            " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
                            " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
                            "]>\n<lolz>&lol3;</lolz>");
    assert_null(m->root);
    assert_non_null(m->diags);
    assert_int_equal(m->diags->code, ERR_UNSUPPORTED);
    assert_int_equal(m->diags->line, 3);
    assert_non_null(strstr(m->diags->msg, "lol"));
    m = parse(f, "<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
                 "<x>&xxe;</x>");
    assert_null(m->root);
    assert_int_equal(m->diags->code, ERR_UNSUPPORTED);
    m = parse(f, "<x>&undeclared;</x>");
    assert_null(m->root);
    assert_non_null(m->diags);
}

static void t_write_escaping(void **state)
{
    ctu_fx *f = *state;
    tnode *r = tree_new(&f->a, "Doc", NULL);
    tnode *at = tree_add_new(&f->a, r, "@note", "say \"hi\" & <go>\tnow\n");
    at->flags = TN_ATTR;
    tree_add_new(&f->a, r, "T", "a<b && c>d \"q\" 'x'\r\n" GUOYUAN_UTF8);
    codec_msg m = {.root = r};
    const codec_msg *ms[] = {&m};
    assert_int_equal(xmlc_write(ms, 1, NULL, &f->out, &f->e), 0);
    assert_non_null(strstr(f->out.p, "note=\"say &quot;hi&quot; &amp; &lt;go&gt;&#9;now&#10;\""));
    assert_non_null(strstr(f->out.p, "<T>a&lt;b &amp;&amp; c&gt;d \"q\" 'x'&#13;\n"));
    codec_msg *back = parse(f, f->out.p);
    assert_true(tree_equal(r, back->root));
    /* a control character cannot be written in XML 1.0 */
    tree_add_new(&f->a, r, "Bad", "x\x01y");
    size_t len = f->out.len;
    assert_int_equal(xmlc_write(ms, 1, NULL, &f->out, &f->e), ERR_INVALID);
    assert_int_equal(f->out.len, len);
    assert_non_null(strstr(f->e.msg, "Bad"));
}

static void t_write_rules(void **state)
{
    ctu_fx *f = *state;
    tnode *r = tree_new(&f->a, "1bad", NULL);
    codec_msg m = {.root = r};
    const codec_msg *ms[] = {&m, &m};
    assert_int_equal(xmlc_write(ms, 1, NULL, &f->out, &f->e), ERR_INVALID);
    r->name = "Ok";
    assert_int_equal(xmlc_write(ms, 0, NULL, &f->out, &f->e), 0);
    assert_int_equal(f->out.len, 0);
    m.meta.ns = "urn:x";
    assert_int_equal(xmlc_write(ms, 1, NULL, &f->out, &f->e), 0);
    assert_non_null(strstr(f->out.p, "<Ok xmlns=\"urn:x\"/>"));
    codec_msg *back = parse(f, f->out.p);
    assert_string_equal(back->meta.ns, "urn:x");
}

static void t_attribute_clashes(void **state)
{
    ctu_fx *f = *state;
    /* local names clash once prefixes are dropped: the tree keeps both,
     * but writing them back would be ill-formed XML */
    codec_msg *m = parse(f, "<a xmlns:x=\"u\" xmlns:y=\"v\" x:id=\"1\" y:id=\"2\" x:xmlns=\"q\"/>");
    assert_int_equal(m->root->nkids, 2);
    assert_null(tree_find(m->root, "@xmlns")); /* reserved for the namespace */
    const codec_msg *ms[] = {m};
    assert_int_equal(xmlc_write(ms, 1, NULL, &f->out, &f->e), ERR_INVALID);
    assert_non_null(strstr(f->e.msg, "repeated"));
    assert_int_equal(f->out.len, 0);
}

static void t_utf16_and_limits(void **state)
{
    ctu_fx *f = *state;
    /* "<a>x</a>" in UTF-16LE with its byte order mark */
    static const char u16[] = "\xFF\xFE<\0a\0>\0x\0<\0/\0a\0>\0";
    assert_int_equal(xmlc_sniff(u16, sizeof u16 - 1), 90);
    codec_msg *m = parse_o(f, u16, sizeof u16 - 1, NULL);
    assert_non_null(m->root);
    assert_string_equal(m->root->value, "x");
    char deep[300 * 3 + 1];
    for (int i = 0; i < 300; i++)
        memcpy(deep + 3 * i, "<a>", 3);
    deep[900] = '\0';
    m = parse(f, deep);
    assert_null(m->root);
    assert_non_null(m->diags);
    char doc[3 + 100 * 8 + 5];
    memcpy(doc, "<a>", 3);
    for (int i = 0; i < 100; i++)
        memcpy(doc + 3 + 8 * i, "<b>1</b>", 8);
    memcpy(doc + 803, "</a>", 5);
    arena_t tiny;
    arena_init(&tiny, 2048);
    memset(&f->b, 0, sizeof f->b);
    int rc = xmlc_parse(doc, strlen(doc), NULL, &tiny, &f->b, &f->e);
    arena_free(&tiny);
    assert_int_equal(rc, ERR_NOMEM);
    assert_non_null(strstr(f->e.msg, "memory"));
}

static codec_msg *parse_n(ctu_fx *f, const char *s, uint32_t n)
{
    return ctu_parse(f, &codec_xml_ops, s, strlen(s), NULL, n);
}

static void t_several_documents(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse_n(f, "<?xml version=\"1.0\"?>\n<A>1</A>\n"
                              "<?xml version=\"1.0\"?>\n<!-- second -->\n<B x=\"2\"/>\n"
                              "<!-- between -->\n<?pi x?>\n<C>\n  <D/>\n</C>\n<!-- end -->\n", 3);
    assert_string_equal(m->meta.message_type, "A");
    assert_string_equal(m->next->meta.message_type, "B");
    assert_int_equal(m->next->line, 5);
    assert_int_equal(m->next->index, 1);
    codec_msg *c = m->next->next;
    assert_int_equal(c->line, 8);
    assert_int_equal(ctu_path(c->root, "D", NULL)->line, 9);
    /* a broken second document does not take the first with it */
    m = parse_n(f, "<a>1</a>\n<b>\n<c></b>\n", 2);
    assert_non_null(m->root);
    assert_null(m->next->root);
    assert_int_equal(m->next->diags->line, 3);
    /* GB18030 documents one after another: decoded once, lines kept */
    m = parse_n(f, "<?xml version=\"1.0\" encoding=\"GB18030\"?>\n<P>" GUOYUAN_GB "</P>\n"
                   "<?xml version=\"1.0\" encoding=\"GB18030\"?>\n<Q>\n<R>" GUOYUAN_GB "</R></Q>\n", 2);
    assert_string_equal(m->root->value, GUOYUAN_UTF8);
    assert_string_equal(ctu_path(m->next->root, "R", NULL)->value, GUOYUAN_UTF8);
    assert_int_equal(ctu_path(m->next->root, "R", NULL)->line, 5);
    assert_string_equal(m->next->meta.syntax, "GB18030");
    /* and written back: one document after another */
    const codec_msg *ms[] = {m, m->next};
    assert_int_equal(xmlc_write(ms, 2, NULL, &f->out, &f->e), 0);
    codec_msg *back = parse_n(f, f->out.p, 2);
    assert_true(tree_equal(back->next->root, ms[1]->root));
    codec_msg none = {.root = NULL};
    ms[1] = &none;
    size_t len = f->out.len;
    assert_int_equal(xmlc_write(ms, 2, NULL, &f->out, &f->e), ERR_INVALID);
    assert_int_equal(f->out.len, len);
}

static void roundtrip(ctu_fx *f, const char *doc, int pretty)
{
    codec_msg *m1 = parse(f, doc);
    assert_non_null(m1->root);
    codec_opts o = {.pretty = pretty};
    const codec_msg *ms[] = {m1};
    buf_reset(&f->out);
    assert_int_equal(xmlc_write(ms, 1, &o, &f->out, &f->e), 0);
    codec_msg *m2 = parse(f, f->out.p);
    assert_non_null(m2->root);
    assert_true(tree_equal(m1->root, m2->root));
    assert_string_equal(m2->meta.ns, m1->meta.ns);
    assert_string_equal(m2->meta.version, m1->meta.version);
}

static void t_roundtrip(void **state)
{
    ctu_fx *f = *state;
    const char *doc =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<m:Manifest xmlns:m=\"urn:eport:manifest\" version=\"3\">\n"
        "  <Header id=\"H1\" note=\"a &amp; b\"><Port>" GUOYUAN_UTF8 "</Port></Header>\n"
        "  <Item seq=\"1\"><Desc>x &lt; y</Desc><Empty/></Item>\n"
        "  <Item seq=\"2\">mixed <b>bold</b> tail<![CDATA[<raw>]]></Item>\n"
        "</m:Manifest>\n";
    roundtrip(f, doc, 0);
    roundtrip(f, doc, 1);
    assert_non_null(strstr(f->out.p, "\n  <Header id=\"H1\""));
    assert_non_null(strstr(f->out.p, "xmlns=\"urn:eport:manifest\""));
}

static void t_mixed_content(void **state)
{
    ctu_fx *f = *state;
    codec_msg *m = parse(f, "<p> Hello <b>big</b> world <![CDATA[&x]]> </p>");
    assert_string_equal(m->root->value, "Hello  world &x");
    assert_string_equal(ctu_path(m->root, "b", NULL)->value, "big");
}

static void t_sniff(void **state)
{
    (void)state;
    assert_int_equal(xmlc_sniff("<?xml version=\"1.0\"?><a/>", 25), 90);
    assert_int_equal(xmlc_sniff("\xEF\xBB\xBF \n<Root/>", 13), 90);
    assert_int_equal(xmlc_sniff("<!-- c --><a/>", 14), 60);
    assert_int_equal(xmlc_sniff("UNA:+.? 'UNB+UNOC:3", 19), 0);
    assert_int_equal(xmlc_sniff("{\"a\":1}", 7), 0);
    assert_int_equal(xmlc_sniff("< a", 3), 0);
    assert_int_equal(xmlc_sniff("<", 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        ctu_unit_test(t_default_namespace),
        ctu_unit_test(t_prefixed_namespace),
        ctu_unit_test(t_attributes),
        ctu_unit_test(t_repetition),
        ctu_unit_test(t_positions),
        ctu_unit_test(t_gb18030_declared),
        ctu_unit_test(t_charset_option),
        ctu_unit_test(t_utf8_chinese),
        ctu_unit_test(t_malformed),
        ctu_unit_test(t_entities_refused),
        ctu_unit_test(t_write_escaping),
        ctu_unit_test(t_write_rules),
        ctu_unit_test(t_attribute_clashes),
        ctu_unit_test(t_utf16_and_limits),
        ctu_unit_test(t_several_documents),
        ctu_unit_test(t_roundtrip),
        ctu_unit_test(t_mixed_content),
        ctu_unit_test(t_sniff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
