/* Scopes in the mapping language (docs/mapping-language.md): paths from the
 * message root inside a split record, `each: .`, #index over the instances
 * a group keeps, `matches` conditions, record positions as message refs,
 * and several groups sharing one array in the reverse direction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

/* [last] takes the final match: the arrival at the destination, not at
 * the transshipment port. */
static void test_last_match(void **state)
{
    fx *f = *state;
    tu_run_edi(f, "  - to: route.arrival\n    from: DTM+132[last].1.2\n"
                  "    date: \"102\"\n",
               "DTM+132:20241101:102'\nDTM+132:20241120:102'\n");
    tu_assert_str(tu_one(f)->route.arrival, "2024-11-20");
}

/* An EDIFACT split record runs from its segment to the next one (a CUSCAR
 * bill of lading and its group) and reads the header from the root. */
static void test_edifact_split_ranges(void **state)
{
    fx *f = *state;
    tu_load_table(f, "mapping: t\nformat: edifact\nkind: manifest\n"
                     "match: {message_type: CUSCAR}\nsplit: CNI\nfields:\n"
                     "  - {to: document.number, from: CNI.2.1}\n"
                     "  - {to: customs.reference, from: /BGM.2.1}\n"
                     "  - each: GID\n    to: goods[]\n    members: [FTX]\n"
                     "    fields:\n      - {to: seq, from: GID.1.1}\n"
                     "      - {to: description, from: FTX+AAA.4.1}\n");
    char *edi = tu_edi("CUSCAR", "BGM+85+M1+9'\nCNI+1+B1'\nGID+1'\n"
                       "FTX+AAA+++TEA'\nCNI+2+B2'\nGID+1'\nFTX+AAA+++SILK'\n"
                       "GID+2'\nFTX+AAA+++JADE'\n");
    tu_apply(f, edi);
    free(edi);
    assert_int_equal(f->rc, 0);
    assert_int_equal(f->k.n, 2);
    tu_assert_str(f->k.r[0]->customs.reference, "M1");
    assert_int_equal(f->k.r[0]->goods.n, 1);
    tu_assert_str(f->k.r[1]->document.number, "B2");
    assert_int_equal(f->k.r[1]->goods.n, 2);
    tu_assert_str(f->k.r[1]->goods.v[1].description, "JADE");
}

static char *edi_of(fx *f, const model_record *r)
{
    codec_msg *m = NULL;
    err_t e;
    if (map_reverse(f->d, r, &f->a, &m, &e))
        fail_msg("reverse: %s", e.msg);
    const codec_msg *one = m;
    buf_t out;
    buf_init(&out, 1 << 16);
    if (codec_find("edifact")->write(&one, 1, NULL, &out, &e))
        fail_msg("write: %s", e.msg);
    return buf_take(&out);
}

/* Written back, a joined element is split at the separator into its
 * components again, and a flag rule {from, value} makes its segment. */
static void test_join_inverse_and_flags(void **state)
{
    fx *f = *state;
    tu_run_edi(f, "  - to: customs.status\n    from: CNI+1\n    value: listed\n"
                  "  - each: NAD\n    to: parties[]\n    fields:\n"
                  "      - {to: name, from: NAD.4, join: \" / \"}\n",
               "CNI+1'\nNAD+CZ+++ACME:EXPORT DEPT'\n");
    model_record *r = tu_one(f);
    tu_assert_str(r->customs.status, "listed");
    tu_assert_str(r->parties.v[0].name, "ACME / EXPORT DEPT");
    char *text = edi_of(f, r);
    if (!strstr(text, "NAD++++ACME:EXPORT DEPT'") || !strstr(text, "CNI+1'"))
        fail_msg("written:\n%s", text);
    free(text);
}

/* A required value missing inside a group is reported at the group's
 * segment, not at the message. */
static void test_required_in_group_located(void **state)
{
    fx *f = *state;
    tu_run_edi(f, "  - each: EQD\n    to: equipment[]\n    fields:\n"
                  "      - {to: number, from: EQD.2.1}\n"
                  "      - {to: size_type, from: EQD.3.1, required: true}\n",
               "BGM+610+W1'\nEQD+CN+CSQU3054383'\n");
    tu_failed(f, ERR_REQUIRED);
    tu_assert_diag(f->m, "segment 3 (EQD)");
    tu_assert_diag(f->m, "size_type: required value missing");
}

/* Rules reading one tag are read together (map_plan.c) and must find
 * what each would alone: the first match with a value, inside its own
 * instance only, and a unit code from the first segment its path names. */
static void test_rules_sharing_a_tag(void **state)
{
    fx *f = *state;
    tu_run_edi(f, "  - {to: document.number, from: BGM.2.1}\n"
                  "  - each: GID\n    to: goods[]\n    members: [MEA]\n"
                  "    fields:\n"
                  "      - {to: seq, from: GID.1.1}\n"
                  "      - to: gross_kg\n        from: MEA+WT+G.3.2\n"
                  "        unit: {table: unit_mass, from: MEA+WT+G.3.1}\n"
                  "      - {to: net_kg, from: MEA+WT+AAL.3.2}\n"
                  "      - {to: package_type, from: MEA.3.1}\n",
               "BGM+610+W1'\nGID+1'\nMEA+WT+G+KGM: '\nMEA+WT+G+TNE:2'\n"
               "MEA+WT+AAL+KGM:700'\nGID+2'\nMEA+WT+G+TNE:5'\n");
    model_record *r = tu_one(f);
    tu_assert_str(r->document.number, "W1");
    assert_int_equal(r->goods.n, 2);
    assert_true(r->goods.v[0].seq.v == 1.0);
    assert_true(r->goods.v[0].gross_kg.set);
    assert_true(r->goods.v[0].gross_kg.v == 2.0); /* KGM, the first MEA's */
    assert_true(r->goods.v[0].net_kg.v == 700.0);
    tu_assert_str(r->goods.v[0].package_type, "KGM");
    assert_true(r->goods.v[1].gross_kg.v == 5000.0);
    assert_false(r->goods.v[1].net_kg.set); /* not the first instance's */
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
        T(test_last_match),
        T(test_edifact_split_ranges),
        T(test_join_inverse_and_flags),
        T(test_required_in_group_located),
        T(test_rules_sharing_a_tag),
    };
    return cmocka_run_group_tests_name("map_scope", tests, NULL, NULL);
}
