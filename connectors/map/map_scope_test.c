/* Scopes in the mapping language (docs/mapping-language.md): paths from the
 * message root inside a split record, `each: .`, #index over the instances
 * a group keeps, `matches` conditions, record positions as message refs,
 * and several groups sharing one array in the reverse direction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "map_testutil.h"

typedef tu_fx fx;

static const char manifest[] =
    "<Declaration xmlns=\"urn:x\"><ID>M1</ID><FunctionCode>9</FunctionCode>"
    "<Consignment><DocID>B1</DocID></Consignment>"
    "<Consignment><DocID>B2</DocID></Consignment></Declaration>";

static void test_rooted_path_in_split_record(void **state)
{
    fx *f = *state;
    tu_run(f, "mapping: t\nformat: xml\nkind: manifest\nsplit: Consignment\n"
              "fields:\n"
              "  - {to: document.number, from: DocID}\n"
              "  - {to: customs.reference, from: /ID}\n"
              "  - {to: document.function, from: /FunctionCode, codes: message_function}\n",
           manifest);
    assert_int_equal(f->rc, 0);
    assert_int_equal(f->k.n, 2);
    tu_assert_str(f->k.r[1]->document.number, "B2");
    tu_assert_str(f->k.r[1]->customs.reference, "M1");
    tu_assert_str(f->k.r[1]->document.function, "original");
    /* positions stand in for the message reference XML lacks, and the
     * namespace for its version */
    tu_assert_str(f->k.r[0]->source.message_ref, "1.1");
    tu_assert_str(f->k.r[1]->source.message_ref, "1.2");
    tu_assert_str(f->k.r[1]->source.version, "urn:x");
}

static void test_each_self_makes_one_element(void **state)
{
    fx *f = *state;
    tu_run(f, "mapping: t\nformat: json\nkind: waybill\nfields:\n"
              "  - {to: document.number, from: no}\n"
              "  - each: .\n    to: legs[]\n    fields:\n"
              "      - {to: means_id, from: trainNo}\n"
              "      - {to: from, from: from}\n",
           "{\"no\": \"W1\", \"trainNo\": \"X8041\", \"from\": \"CNCKG\"}");
    model_record *r = tu_one(f);
    assert_int_equal(r->legs.n, 1);
    tu_assert_str(r->legs.v[0].means_id, "X8041");
    tu_assert_str(r->legs.v[0].from, "CNCKG");
}

static void test_index_counts_kept_instances(void **state)
{
    fx *f = *state;
    tu_run(f, "mapping: t\nformat: csv\nkind: manifest\nfields:\n"
              "  - each: row\n    to: goods[]\n"
              "    when: {path: desc, exists: true}\n    fields:\n"
              "      - {to: seq, from: \"#index\"}\n"
              "      - {to: description, from: desc}\n",
           "box,desc\nA,x\nB,\nC,y\n");
    model_record *r = tu_one(f);
    assert_int_equal(r->goods.n, 2);
    assert_float_equal(r->goods.v[1].seq.v, 2, 0);
    tu_assert_str(r->goods.v[1].description, "y");
}

static void test_matches_chooses_a_rule(void **state)
{
    fx *f = *state;
    const char *table =
        "mapping: t\nformat: json\nkind: waybill\nfields:\n"
        "  - to: document.issued\n    from: at\n"
        "    when: {path: at, matches: \"^[0-9]{4}-[0-9]{2}-[0-9]{2} \"}\n"
        "    date: {pattern: \"yyyy-MM-dd HH:mm:ss\"}\n"
        "  - to: document.issued\n    from: at\n"
        "    when: {path: at, matches: T}\n    date: iso\n";
    tu_run(f, table, "{\"at\": \"2024-03-07 09:15:00\"}");
    tu_assert_str(tu_one(f)->document.issued, "2024-03-07T09:15:00");
    tu_apply(f, "{\"at\": \"2024-03-07T09:15\"}");
    tu_assert_str(tu_one(f)->document.issued, "2024-03-07T09:15");
}

/* Two groups fill parties[]; written back, each party goes out under the
 * key of the group whose constant it carries, and reads back the same. */
static void test_groups_sharing_an_array_reverse(void **state)
{
    fx *f = *state;
    tu_run(f, "mapping: t\nformat: json\nkind: waybill\nfields:\n"
              "  - {to: document.number, from: no}\n"
              "  - each: shipper\n    to: parties[]\n    fields:\n"
              "      - {to: role, value: consignor}\n"
              "      - {to: name, from: name}\n"
              "  - each: consignee\n    to: parties[]\n    fields:\n"
              "      - {to: role, value: consignee}\n"
              "      - {to: name, from: name}\n",
           "{\"no\": \"W1\", \"shipper\": {\"name\": \"A\"}, "
           "\"consignee\": {\"name\": \"B\"}}");
    model_record *r = tu_one(f);
    assert_int_equal(r->parties.n, 2);
    codec_msg *m = NULL;
    err_t e;
    assert_int_equal(map_reverse(f->d, r, &f->a, &m, &e), 0);
    const codec_msg *one = m;
    buf_t out;
    buf_init(&out, 1 << 16);
    assert_int_equal(codec_find("json")->write(&one, 1, NULL, &out, &e), 0);
    assert_non_null(strstr(out.p, "\"consignee\""));
    tu_apply(f, out.p);
    buf_free(&out);
    model_record *back = tu_one(f);
    assert_int_equal(back->parties.n, 2);
    tu_assert_str(back->parties.v[1].role, "consignee");
    tu_assert_str(back->parties.v[1].name, "B");
}

/* A split table reverses several records into one document. */
static void test_split_reverse_one_document(void **state)
{
    fx *f = *state;
    tu_run(f, "mapping: t\nformat: xml\nkind: manifest\nsplit: Consignment\n"
              "match: {root: Declaration}\n"
              "fields:\n  - {to: document.number, from: DocID}\n",
           manifest);
    assert_int_equal(f->k.n, 2);
    codec_msg *m = NULL;
    err_t e;
    assert_int_equal(map_reverse(f->d, f->k.r[0], &f->a, &m, &e), 0);
    codec_msg *first = m;
    assert_int_equal(map_reverse(f->d, f->k.r[1], &f->a, &m, &e), 0);
    assert_ptr_equal(m, first);
    const codec_msg *one = m;
    buf_t out;
    buf_init(&out, 1 << 16);
    assert_int_equal(codec_find("xml")->write(&one, 1, NULL, &out, &e), 0);
    tu_apply(f, out.p);
    buf_free(&out);
    assert_int_equal(f->k.n, 2);
    tu_assert_str(f->k.r[1]->document.number, "B2");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)
    const struct CMUnitTest tests[] = {
        T(test_rooted_path_in_split_record),
        T(test_each_self_makes_one_element),
        T(test_index_counts_kept_instances),
        T(test_matches_chooses_a_rule),
        T(test_groups_sharing_an_array_reverse),
        T(test_split_reverse_one_document),
    };
    return cmocka_run_group_tests_name("map_scope", tests, NULL, NULL);
}
