/* Unit tests for tree: node creation (copies), child order, tree_kid,
 * tree_find, tree_equal and the tree_dump debug form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "tree.h"

static int setup(void **state)
{
    static arena_t a;
    arena_init(&a, 1u << 20);
    *state = &a;
    return 0;
}

static int teardown(void **state)
{
    arena_free(*state);
    return 0;
}

static void test_new_copies(void **state)
{
    arena_t *a = *state;
    char name[] = "NAD", value[] = "CZ";
    tnode *t = tree_new(a, name, value);
    assert_non_null(t);
    name[0] = 'X';
    value[0] = 'X';
    assert_string_equal(t->name, "NAD");
    assert_string_equal(t->value, "CZ");
    assert_int_equal(t->vlen, 2);
    assert_int_equal(t->nkids, 0);
    assert_null(t->kids);
    assert_null(t->last);
    assert_null(t->next);
    assert_int_equal(t->flags, 0);
    assert_int_equal(t->line, 0);
    assert_int_equal(t->seq, 0);

    tnode *inner = tree_new(a, "message", NULL);
    assert_null(inner->value);
    assert_int_equal(inner->vlen, 0);

    tnode *pos = tree_new(a, "", "");
    assert_string_equal(pos->name, "");
    assert_non_null(pos->value); /* empty value is not absent */
    assert_string_equal(pos->value, "");
}

static void test_newn_takes_bytes(void **state)
{
    arena_t *a = *state;
    const char raw[] = {'7', '4', '0', '+', '9'}; /* not terminated */
    tnode *t = tree_newn(a, "", raw, 3);
    assert_string_equal(t->value, "740");
    assert_int_equal(t->vlen, 3);
    tnode *z = tree_newn(a, "x", raw, 0);
    assert_string_equal(z->value, "");
    tnode *n = tree_newn(a, "y", NULL, 5); /* NULL value wins over n */
    assert_null(n->value);
    assert_int_equal(n->vlen, 0);
}

static void test_new_out_of_memory(void **state)
{
    (void)state;
    arena_t small;
    arena_init(&small, sizeof(tnode) + 16);
    assert_null(tree_new(&small, "a-name-too-long-to-fit", "v"));
    arena_free(&small);
    arena_init(&small, sizeof(tnode) - 1);
    assert_null(tree_new(&small, "", NULL)); /* the node itself: too big */
    arena_free(&small);
}

static tnode *segment(arena_t *a)
{
    tnode *seg = tree_new(a, "NAD", NULL);
    tnode *e1 = tree_add_new(a, seg, "", NULL);
    tree_add_new(a, e1, "", "CZ");
    tnode *e2 = tree_add_new(a, seg, "", NULL);
    tree_add_new(a, e2, "", "123");
    tree_add_new(a, e2, "", "");
    tree_add_new(a, e2, "", "9");
    return seg;
}

static void test_add_keeps_order(void **state)
{
    arena_t *a = *state;
    tnode *p = tree_new(a, "root", NULL);
    tnode *k1 = tree_new(a, "a", "1"), *k2 = tree_new(a, "b", "2"),
          *k3 = tree_new(a, "a", "3");
    assert_ptr_equal(tree_add(p, k1), k1);
    assert_ptr_equal(p->kids, k1);
    assert_ptr_equal(p->last, k1);
    tree_add(p, k2);
    tree_add(p, k3);
    assert_int_equal(p->nkids, 3);
    assert_ptr_equal(p->kids, k1);
    assert_ptr_equal(p->last, k3);
    assert_ptr_equal(k1->next, k2);
    assert_ptr_equal(k2->next, k3);
    assert_null(k3->next);

    tnode *k4 = tree_add_new(a, p, "c", "4");
    assert_non_null(k4);
    assert_ptr_equal(p->last, k4);
    assert_ptr_equal(k3->next, k4);
    assert_int_equal(p->nkids, 4);
    assert_string_equal(k4->value, "4");
}

static void test_kid(void **state)
{
    arena_t *a = *state;
    tnode *seg = segment(a);
    assert_int_equal(seg->nkids, 2);
    tnode *e2 = tree_kid(seg, 1);
    assert_non_null(e2);
    assert_int_equal(e2->nkids, 3);
    assert_string_equal(tree_kid(e2, 0)->value, "123");
    assert_string_equal(tree_kid(e2, 1)->value, "");
    assert_string_equal(tree_kid(e2, 2)->value, "9");
    assert_null(tree_kid(e2, 3));
    assert_null(tree_kid(e2, UINT32_MAX));
    assert_null(tree_kid(tree_kid(e2, 0), 0)); /* leaf */
    assert_ptr_equal(tree_kid(seg, 0), seg->kids);
}

static void test_find(void **state)
{
    arena_t *a = *state;
    tnode *p = tree_new(a, "Consignment", NULL);
    tree_add_new(a, p, "@id", "c1");
    tnode *first = tree_add_new(a, p, "Item", "1");
    tree_add_new(a, p, "Item", "2");
    tree_add_new(a, p, "", "pos");
    assert_ptr_equal(tree_find(p, "Item"), first);
    assert_string_equal(tree_find(p, "@id")->value, "c1");
    assert_string_equal(tree_find(p, "")->value, "pos");
    assert_null(tree_find(p, "item")); /* case matters */
    assert_null(tree_find(p, "Ite"));
    assert_null(tree_find(first, "Item")); /* no children */
}

static void test_equal(void **state)
{
    arena_t *a = *state;
    tnode *x = segment(a), *y = segment(a);
    assert_true(tree_equal(x, y));
    assert_true(tree_equal(x, x));
    assert_true(tree_equal(NULL, NULL));
    assert_false(tree_equal(x, NULL));
    assert_false(tree_equal(NULL, y));

    /* where a node came from does not count */
    y->line = 9, y->col = 4, y->seq = 7, y->kids->line = 2;
    assert_true(tree_equal(x, y));

    /* a differing value deep down */
    tnode *v = tree_kid(tree_kid(y, 1), 2);
    v->value = "8";
    assert_false(tree_equal(x, y));
    v->value = "9";
    assert_true(tree_equal(x, y));

    /* no value is not the empty value */
    tnode *empty = tree_kid(tree_kid(y, 1), 1);
    empty->value = NULL;
    assert_false(tree_equal(x, y));
    assert_false(tree_equal(y, x));
    empty->value = "";

    /* flags count, each of them */
    y->flags = TN_OBJ;
    assert_false(tree_equal(x, y));
    x->flags = TN_OBJ;
    assert_true(tree_equal(x, y));
    tree_kid(x, 0)->flags = TN_LIST;
    assert_false(tree_equal(x, y));
    tree_kid(x, 0)->flags = 0;

    /* names, child count and order */
    assert_false(tree_equal(tree_new(a, "NAD", "1"), tree_new(a, "nad", "1")));
    tree_add_new(a, tree_kid(y, 0), "", "extra");
    assert_false(tree_equal(x, y));
    assert_false(tree_equal(y, x));
    tnode *p = tree_new(a, "p", NULL), *q = tree_new(a, "p", NULL);
    tree_add_new(a, p, "a", "1");
    tree_add_new(a, p, "b", "2");
    tree_add_new(a, q, "b", "2");
    tree_add_new(a, q, "a", "1");
    assert_false(tree_equal(p, q));
}

static void dump_is(const tnode *n, const char *want)
{
    buf_t b;
    buf_init(&b, 4096);
    int rc = tree_dump(n, &b);
    char got[1024];
    snprintf(got, sizeof got, "%s", b.p ? b.p : "");
    buf_free(&b);
    if (rc)
        fail_msg("tree_dump: %d", rc);
    if (strcmp(got, want) != 0)
        fail_msg("got:\n%s\nwant:\n%s", got, want);
}

static void test_dump(void **state)
{
    arena_t *a = *state;
    tnode *msg = tree_new(a, "message", NULL);
    tree_add(msg, segment(a));
    tnode *ftx = tree_add_new(a, msg, "FTX", NULL);
    tree_add_new(a, ftx, "text", "line1\nline2");
    tree_add_new(a, msg, "UNS", "上海");
    dump_is(msg, "message\n"
                 "  NAD\n"
                 "    -\n"
                 "      -=CZ\n"
                 "    -\n"
                 "      -=123\n"
                 "      -=\n"
                 "      -=9\n"
                 "  FTX\n"
                 "    text=line1\\nline2\n"
                 "  UNS=上海\n");
    dump_is(tree_find(msg, "UNS"), "UNS=上海\n");
}

static void test_dump_appends_and_caps(void **state)
{
    arena_t *a = *state;
    tnode *n = tree_new(a, "BGM", "740");
    buf_t b;
    buf_init(&b, 4096);
    assert_int_equal(buf_adds(&b, "head\n"), 0);
    assert_int_equal(tree_dump(n, &b), 0);
    assert_string_equal(b.p, "head\nBGM=740\n");
    buf_free(&b);

    buf_init(&b, 6); /* "BGM=740\n" needs 8 */
    assert_int_equal(tree_dump(n, &b), ERR_TOOBIG);
    assert_true(b.len <= 6);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_copies),
        cmocka_unit_test(test_newn_takes_bytes),
        cmocka_unit_test(test_new_out_of_memory),
        cmocka_unit_test(test_add_keeps_order),
        cmocka_unit_test(test_kid),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_dump_appends_and_caps),
    };
    return cmocka_run_group_tests_name("connectors/tree", tests, setup,
                                       teardown);
}
