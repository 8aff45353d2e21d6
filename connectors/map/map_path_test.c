/* Paths (map_path.c): compiling the path language of
 * docs/mapping-language.md, matching it over EDIFACT- and XML-shaped
 * trees, and making nodes in the reverse direction. */
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

static mpath P(const char *text)
{
    mpath p;
    char why[256] = "";
    if (mpath_compile(text, &A, &p, why, sizeof why))
        fail_msg("'%s' refused: %s", text, why);
    return p;
}

/* ---- trees ---- */

/* Appends an EDIFACT segment "TAG+a:b+c" (no service characters needed in
 * tests) with seq n. */
static tnode *seg(tnode *msg, const char *text, uint32_t seq)
{
    const char *plus = strchr(text, '+');
    char tag[8];
    snprintf(tag, sizeof tag, "%.*s", plus ? (int)(plus - text) : (int)strlen(text), text);
    tnode *s = tree_add_new(&A, msg, tag, NULL);
    assert_non_null(s);
    s->seq = seq;
    for (const char *p = plus; p; p = strchr(p + 1, '+')) {
        tnode *el = tree_add_new(&A, s, "", NULL);
        const char *e = strchr(p + 1, '+');
        const char *c = p + 1, *stop = e ? e : c + strlen(c);
        for (;;) {
            const char *colon = memchr(c, ':', (size_t)(stop - c));
            const char *ce = colon ? colon : stop;
            tnode *k = tree_newn(&A, "", c, (size_t)(ce - c));
            assert_non_null(k);
            tree_add(el, k);
            if (!colon)
                break;
            c = colon + 1;
        }
    }
    return s;
}

static tnode *edi_tree(void)
{
    tnode *m = tree_new(&A, "IFTMIN", NULL);
    const char *segs[] = {
        "BGM+610+WB1+9",         "DTM+137:20240305:102",
        "DTM+133:202403061200:203", "NAD+CZ+SHIP1::9++ACME:LTD",
        "COM+0123:TE",           "COM+a@b.cn:EM",
        "NAD+CN+CONS1",          "MEA+WT+G+KGM:100",
        "NAD+FW+X",              NULL};
    for (uint32_t i = 0; segs[i]; i++)
        seg(m, segs[i], i + 2);
    return m;
}

static tnode *xml_tree(void)
{
    tnode *r = tree_new(&A, "Declaration", NULL);
    tnode *v = tree_add_new(&A, r, "@version", "1");
    v->flags |= TN_ATTR;
    tnode *c = tree_add_new(&A, r, "Consignment", NULL);
    tnode *d = tree_add_new(&A, c, "TransportContractDocument", NULL);
    tree_add_new(&A, d, "ID", "B1");
    tnode *p1 = tree_add_new(&A, c, "Party", NULL);
    tree_add_new(&A, p1, "RoleCode", "CZ");
    tree_add_new(&A, p1, "Name", "Shipper Co");
    tnode *p2 = tree_add_new(&A, c, "Party", NULL);
    tree_add_new(&A, p2, "RoleCode", "CN");
    tree_add_new(&A, p2, "Name", "Consignee");
    tnode *g = tree_add_new(&A, c, "GrossMassMeasure", "1200");
    tnode *u = tree_add_new(&A, g, "@unitCode", "KGM");
    u->flags |= TN_ATTR;
    return r;
}

static mscope whole(tnode *root)
{
    return (mscope){root, root->kids, NULL, 1, NULL, root, 0, 0};
}

/* Text of the first match, or NULL when there is none. */
static const char *first(tnode *root, const char *path)
{
    mpath p = P(path);
    mscope s = whole(root);
    mhit h;
    return mpath_first(&p, &s, &h) == 0 ? mhit_text(&h) : NULL;
}

typedef struct texts {
    char all[512];
    int n, stop_after, stop_rc;
} texts;

static int collect(void *ctx, const mhit *h)
{
    texts *t = ctx;
    size_t l = strlen(t->all);
    snprintf(t->all + l, sizeof t->all - l, "%s%s", t->n ? "|" : "",
             mhit_text(h));
    t->n++;
    return t->stop_after && t->n == t->stop_after ? t->stop_rc : 0;
}

static const char *each_in(const mscope *s, const char *path, int *n)
{
    static texts t;
    memset(&t, 0, sizeof t);
    mpath p = P(path);
    assert_int_equal(mpath_each(&p, s, collect, &t), 0);
    if (n)
        *n = t.n;
    return t.all;
}

static const char *each(tnode *root, const char *path, int *n)
{
    mscope s = whole(root);
    return each_in(&s, path, n);
}

/* ---- compiling ---- */

static void test_compile_forms(void **state)
{
    (void)state;
    mpath p = P("BGM.2.1");
    assert_int_equal(p.kind, MP_TREE);
    assert_int_equal(p.nsteps, 1);
    assert_string_equal(p.steps[0].name, "BGM");
    assert_int_equal(p.elem, 2);
    assert_int_equal(p.comp, 1);
    assert_string_equal(p.text, "BGM.2.1");

    p = P("NAD.4");
    assert_int_equal(p.elem, 4);
    assert_int_equal(p.comp, 0);

    p = P("MEA+WT+G.3.2");
    assert_string_equal(p.steps[0].name, "MEA");
    assert_int_equal(p.steps[0].nquals, 2);
    assert_string_equal(p.steps[0].quals[0], "WT");
    assert_string_equal(p.steps[0].quals[1], "G");
    assert_int_equal(p.elem, 3);
    assert_int_equal(p.comp, 2);

    p = P("NAD++X");
    assert_int_equal(p.steps[0].nquals, 2);
    assert_string_equal(p.steps[0].quals[0], "");
    assert_string_equal(p.steps[0].quals[1], "X");
    assert_int_equal(p.elem, 0);

    p = P("Party[RoleCode=CZ]/Name");
    assert_int_equal(p.nsteps, 2);
    assert_string_equal(p.steps[0].pred_key, "RoleCode");
    assert_string_equal(p.steps[0].pred_val, "CZ");
    assert_int_equal(p.steps[0].pred_elem, 0);
    assert_string_equal(p.steps[1].name, "Name");

    p = P("COM[1.2=TE].1.1");
    assert_int_equal(p.steps[0].pred_elem, 1);
    assert_int_equal(p.steps[0].pred_comp, 2);
    assert_string_equal(p.steps[0].pred_val, "TE");
    assert_int_equal(p.elem, 1);
    assert_int_equal(p.comp, 1);

    p = P("PIA+5[2.2=HS].2.1");
    assert_string_equal(p.steps[0].quals[0], "5");
    assert_int_equal(p.steps[0].pred_elem, 2);
    assert_int_equal(p.elem, 2);

    p = P("row[1]/voyage");
    assert_int_equal(p.steps[0].nth, 1);
    assert_string_equal(p.steps[1].name, "voyage");

    p = P("GrossMassMeasure/@unitCode");
    assert_string_equal(p.steps[1].name, "@unitCode");
    p = P("*/ID");
    assert_string_equal(p.steps[0].name, "*");
    p = P("#index");
    assert_int_equal(p.kind, MP_INDEX);
    p = P("/Declaration/ID"); /* from the message root, above a split */
    assert_int_equal(p.rooted, 1);
    assert_string_equal(p.steps[0].name, "Declaration");
    p = P(".");
    assert_int_equal(p.kind, MP_SELF);
}

static void bad(const char *text)
{
    mpath p;
    char why[256] = "";
    if (mpath_compile(text, &A, &p, why, sizeof why) == 0)
        fail_msg("path '%s' was accepted", text);
    char want[128];
    snprintf(want, sizeof want, "path '%s'", text);
    if (!strstr(why, want))
        fail_msg("message for '%s' does not quote it: '%s'", text, why);
}

static void test_compile_bad_syntax(void **state)
{
    (void)state;
    bad("");
    bad("//BGM");
    bad("/");
    bad("A//B");
    bad("#foo");
    bad("NAD[");
    bad("NAD[RoleCode=CZ");
    bad("NAD[=CZ]");
    bad("row[0]");
    bad("row[x]");
    bad("NAD[1]x");
}

/* A path starts with a name: positions alone name nothing (they compile
 * to a path of no steps that silently never matches). */
static void test_compile_rejects_positions_without_name(void **state)
{
    (void)state;
    bad(".2.1");
    bad(".4");
}

/* Positions are 1-based: 0 names no element or component. */
static void test_compile_rejects_zero_position(void **state)
{
    (void)state;
    bad("NAD.0");
    bad("NAD.1.0");
}

/* Steps are separated by '/': a trailing one leaves an empty step. */
static void test_compile_rejects_trailing_slash(void **state)
{
    (void)state;
    bad("Consignment/");
}

/* ---- matching: EDIFACT ---- */

static void test_edi_positions(void **state)
{
    (void)state;
    tnode *m = edi_tree();
    tu_assert_str(first(m, "BGM.2.1"), "WB1");
    tu_assert_str(first(m, "BGM.1"), "610");
    tu_assert_str(first(m, "DTM+133.1.2"), "202403061200");
    tu_assert_str(first(m, "DTM+137.1.3"), "102");
    tu_assert_str(first(m, "MEA+WT+G.3.2"), "100");
    tu_assert_str(first(m, "NAD+CZ.2.3"), "9");
    /* an element: its first component's text */
    tu_assert_str(first(m, "NAD+CZ.4"), "ACME");
    /* an absent element of a present segment: a hit with no text */
    tu_assert_str(first(m, "NAD+CN.9.1"), "");
    assert_null(first(m, "XYZ"));
    assert_null(first(m, "DTM+999.1.2"));
    assert_null(first(m, "MEA+WT+N.3.2"));
}

static void test_edi_hit_nodes(void **state)
{
    (void)state;
    tnode *m = edi_tree();
    mpath p = P("NAD+CZ.4");
    mscope s = whole(m);
    mhit h;
    assert_int_equal(mpath_first(&p, &s, &h), 0);
    assert_string_equal(h.node->name, "NAD");
    assert_int_equal(h.node->seq, 5);
    assert_non_null(h.leaf);
    assert_int_equal(h.leaf->nkids, 2); /* the element, both components */
    p = P("NAD+CZ.4.2");
    assert_int_equal(mpath_first(&p, &s, &h), 0);
    assert_string_equal(h.leaf->value, "LTD");
    p = P("NAD+CZ");
    assert_int_equal(mpath_first(&p, &s, &h), 0);
    assert_ptr_equal(h.leaf, h.node); /* no positions: the segment */
}

static void test_edi_qualifiers_and_predicates(void **state)
{
    (void)state;
    tnode *m = edi_tree();
    int n;
    assert_string_equal(each(m, "NAD.1.1", &n), "CZ|CN|FW");
    assert_string_equal(each(m, "NAD++X.1.1", &n), "FW");
    assert_int_equal(n, 1);
    assert_string_equal(each(m, "NAD+CZ+SHIP1.2.1", &n), "SHIP1");
    assert_string_equal(each(m, "COM[1.2=EM].1.1", &n), "a@b.cn");
    assert_int_equal(n, 1);
    assert_string_equal(each(m, "COM[1.2=TE].1.1", &n), "0123");
    assert_string_equal(each(m, "COM[1.2=XX].1.1", &n), "");
    assert_int_equal(n, 0);
    assert_string_equal(each(m, "DTM.1.1", &n), "137|133");
}

static void test_edi_nth(void **state)
{
    (void)state;
    tnode *m = edi_tree();
    int n;
    assert_string_equal(each(m, "NAD[2].1.1", &n), "CN");
    assert_int_equal(n, 1);
    assert_string_equal(each(m, "NAD[3].1.1", &n), "FW");
    assert_string_equal(each(m, "NAD[4].1.1", &n), "");
    assert_int_equal(n, 0);
    assert_string_equal(each(m, "DTM[2].1.1", &n), "133");
}

static void test_each_stops_and_scopes(void **state)
{
    (void)state;
    tnode *m = edi_tree();
    texts t;
    memset(&t, 0, sizeof t);
    t.stop_after = 2;
    t.stop_rc = 7;
    mpath p = P("NAD");
    mscope s = whole(m);
    assert_int_equal(mpath_each(&p, &s, collect, &t), 7);
    assert_int_equal(t.n, 2);

    /* a segment group: [NAD+CZ, NAD+CN) */
    tnode *nad1 = tree_kid(m, 3), *nad2 = tree_kid(m, 6);
    assert_string_equal(nad1->name, "NAD");
    assert_string_equal(nad2->name, "NAD");
    mscope g = {m, nad1, nad2, 1, NULL, m, 0, 0};
    int n;
    assert_string_equal(each_in(&g, "COM.1.1", &n), "0123|a@b.cn");
    assert_string_equal(each_in(&g, "NAD.1.1", &n), "CZ");
    assert_string_equal(each_in(&g, "MEA", &n), "");
    assert_int_equal(n, 0);
    assert_string_equal(each_in(&g, "*.1.1", &n), "CZ|0123|a@b.cn");
    assert_int_equal(n, 3);
    /* #index is not a tree path */
    assert_string_equal(each_in(&g, "#index", &n), "");
    assert_int_equal(n, 0);
}

/* ---- matching: XML ---- */

static void test_xml_paths(void **state)
{
    (void)state;
    tnode *r = xml_tree();
    tu_assert_str(first(r, "Consignment/TransportContractDocument/ID"), "B1");
    tu_assert_str(first(r, "Consignment/Party[RoleCode=CN]/Name"), "Consignee");
    tu_assert_str(first(r, "Consignment/Party[RoleCode=CZ]/Name"), "Shipper Co");
    assert_null(first(r, "Consignment/Party[RoleCode=FW]/Name"));
    tu_assert_str(first(r, "Consignment/Party[2]/Name"), "Consignee");
    tu_assert_str(first(r, "Consignment/GrossMassMeasure"), "1200");
    tu_assert_str(first(r, "Consignment/GrossMassMeasure/@unitCode"), "KGM");
    tu_assert_str(first(r, "@version"), "1");
    tu_assert_str(first(r, "*/TransportContractDocument/ID"), "B1");
    assert_null(first(r, "Party/Name")); /* not a child of the root */
    int n;
    assert_string_equal(each(r, "Consignment/Party/Name", &n),
                        "Shipper Co|Consignee");
    assert_string_equal(each(r, "*/*/RoleCode", &n), "CZ|CN");

    mpath p = P("Consignment/GrossMassMeasure/@unitCode");
    mscope s = whole(r);
    mhit h;
    assert_int_equal(mpath_first(&p, &s, &h), 0);
    assert_true(h.node->flags & TN_ATTR);

    /* relative to one instance */
    tnode *party2 = tree_kid(tree_find(r, "Consignment"), 2);
    mscope in = {party2, party2->kids, NULL, 2, NULL, NULL, 0, 0};
    assert_string_equal(each_in(&in, "Name", &n), "Consignee");
}

/* ---- making ---- */

static const char *make(tnode *root, const char *path, const char *v,
                        int fresh, tnode **made)
{
    mpath p = P(path);
    mscope s = {root, root->kids, NULL, 1, NULL, root, 0, 0};
    tnode *leaf = mpath_make(&p, &s, &A, fresh, made);
    assert_non_null(leaf);
    if (v) {
        leaf->value = arena_strdup(&A, v);
        leaf->vlen = (uint32_t)strlen(v);
    }
    return first(root, path);
}

static void test_make_qualifier_and_positions(void **state)
{
    (void)state;
    tnode *m = tree_new(&A, "IFTMIN", NULL), *made = NULL;
    tu_assert_str(make(m, "DTM+137.1.2", "20240305", 0, &made), "20240305");
    assert_string_equal(made->name, "DTM");
    assert_int_equal(m->nkids, 1);
    tu_assert_str(first(m, "DTM.1.1"), "137");
    /* the format code goes into the same DTM */
    tu_assert_str(make(m, "DTM+137.1.3", "102", 0, NULL), "102");
    assert_int_equal(m->nkids, 1);
    tu_assert_str(first(m, "DTM+137.1.2"), "20240305");
    /* another qualifier: another segment */
    make(m, "DTM+133.1.2", "202403061200", 0, NULL);
    assert_int_equal(m->nkids, 2);
    tu_assert_str(first(m, "DTM+133.1.2"), "202403061200");

    tu_assert_str(make(m, "MEA+WT+G.3.2", "100", 0, &made), "100");
    tu_assert_str(first(m, "MEA.1.1"), "WT");
    tu_assert_str(first(m, "MEA.2.1"), "G");
    tnode *el3 = tree_kid(made, 2);
    assert_non_null(el3);
    assert_int_equal(el3->nkids, 2);
    assert_string_equal(el3->kids->value, "");

    make(m, "NAD++X.1.1", "FW", 0, &made);
    tu_assert_str(first(m, "NAD++X.1.1"), "FW");
    tu_assert_str(first(m, "NAD.2.1"), "X");
}

static void test_make_predicate_and_filler(void **state)
{
    (void)state;
    tnode *m = tree_new(&A, "IFTMIN", NULL), *made = NULL;
    tu_assert_str(make(m, "COM[1.2=TE].1.1", "0123", 0, &made), "0123");
    tu_assert_str(first(m, "COM.1.2"), "TE");
    tu_assert_str(make(m, "COM[1.2=EM].1.1", "a@b.cn", 0, NULL), "a@b.cn");
    assert_int_equal(m->nkids, 2);
    tu_assert_str(first(m, "COM[1.2=TE].1.1"), "0123");

    /* positions past the end are filled with empty elements, each with
     * its one component (tree.h: every element has >= 1 component) */
    make(m, "NAD.4.2", "LTD", 0, &made);
    assert_int_equal(made->nkids, 4);
    for (tnode *el = made->kids; el; el = el->next)
        assert_true(el->nkids >= 1);
    assert_int_equal(tree_kid(made, 3)->nkids, 2);
    tu_assert_str(first(m, "NAD.4.2"), "LTD");
}

static void test_make_reuse_and_fresh(void **state)
{
    (void)state;
    tnode *m = tree_new(&A, "IFTMIN", NULL);
    make(m, "SEL.1.1", "S1", 0, NULL);
    make(m, "SEL.1.1", "S2", 0, NULL);
    assert_int_equal(m->nkids, 1);
    tu_assert_str(first(m, "SEL.1.1"), "S2");
    make(m, "SEL.1.1", "S3", 1, NULL);
    assert_int_equal(m->nkids, 2);
    int n;
    assert_string_equal(each(m, "SEL.1.1", &n), "S2|S3");
}

static void test_make_xml(void **state)
{
    (void)state;
    tnode *r = tree_new(&A, "Declaration", NULL), *made = NULL;
    tu_assert_str(make(r, "Consignment/Party[RoleCode=CZ]/Name", "Shipper",
                       0, &made), "Shipper");
    assert_string_equal(made->name, "Name");
    tu_assert_str(make(r, "Consignment/Party[RoleCode=CN]/Name", "Consignee",
                       0, NULL), "Consignee");
    assert_int_equal(r->nkids, 1); /* Consignment reused */
    tnode *c = tree_find(r, "Consignment");
    assert_int_equal(c->nkids, 2);
    tu_assert_str(first(r, "Consignment/Party[RoleCode=CZ]/Name"), "Shipper");
    tu_assert_str(make(r, "Consignment/GrossMassMeasure/@unitCode", "KGM", 0,
                       &made), "KGM");
    assert_true(made->flags & TN_ATTR);
    assert_string_equal(made->name, "@unitCode");
    tu_assert_str(make(r, "Consignment/GrossMassMeasure", "1200", 0, NULL),
                  "1200");
    assert_int_equal(c->nkids, 3); /* the measure was reused */
    tu_assert_str(first(r, "Consignment/GrossMassMeasure/@unitCode"), "KGM");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_forms),
        cmocka_unit_test(test_compile_bad_syntax),
        cmocka_unit_test(test_compile_rejects_positions_without_name),
        cmocka_unit_test(test_compile_rejects_zero_position),
        cmocka_unit_test(test_compile_rejects_trailing_slash),
        cmocka_unit_test(test_edi_positions),
        cmocka_unit_test(test_edi_hit_nodes),
        cmocka_unit_test(test_edi_qualifiers_and_predicates),
        cmocka_unit_test(test_edi_nth),
        cmocka_unit_test(test_each_stops_and_scopes),
        cmocka_unit_test(test_xml_paths),
        cmocka_unit_test(test_make_qualifier_and_positions),
        cmocka_unit_test(test_make_predicate_and_filler),
        cmocka_unit_test(test_make_reuse_and_fresh),
        cmocka_unit_test(test_make_xml),
    };
    return cmocka_run_group_tests_name("map_path", tests, setup, teardown);
}
