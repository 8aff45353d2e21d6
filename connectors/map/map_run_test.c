/* The forward runner (map_run.c): real inputs parsed by the real codecs,
 * then map_apply with tables loaded from YAML, as docs/mapping-language.md
 * describes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "map_testutil.h"

typedef tu_fx fx;

/* ---- EDIFACT ---- */

static void test_source_and_scalars(void **state)
{
    fx *f = *state;
    tu_run_edi(f, "  - to: document.number\n    from: BGM.2.1\n"
               "  - to: document.function\n    from: BGM.3.1\n"
               "    codes: message_function\n",
            "BGM+610+ WB1 +9'\n");
    model_record *r = tu_one(f);
    tu_assert_str(r->kind, "waybill");
    tu_assert_str(r->document.number, "WB1"); /* trimmed */
    tu_assert_str(r->document.function, "original");
    tu_assert_str(r->source.format, "edifact");
    tu_assert_str(r->source.message_type, "IFTMIN");
    tu_assert_str(r->source.version, "D:04A");
    tu_assert_str(r->source.sender, "SENDER1");
    tu_assert_str(r->source.recipient, "RECIP1");
    tu_assert_str(r->source.interchange_ref, "IREF1");
    tu_assert_str(r->source.message_ref, "M1");
    tu_assert_str(r->source.mapping, "t");
}

static void test_required_missing(void **state)
{
    fx *f = *state;
    tu_run_edi(f, "  - to: document.number\n    from: BGM.2.1\n    required: true\n"
               "  - to: route.origin\n    from: LOC+5.2.1\n"
               "    validate: [required]\n",
            "BGM+610'\nLOC+8+DEHAM'\n");
    tu_failed(f, ERR_REQUIRED);
    tu_assert_diag(f->m, "document.number");
    tu_assert_diag(f->m, "route.origin");
    assert_int_equal(tu_ndiags(f->m), 2);
}

static void test_unknown_code(void **state)
{
    fx *f = *state;
    tu_run_edi(f, "  - each: NAD\n    to: parties[]\n    fields:\n"
               "      - to: role\n        from: NAD.1.1\n"
               "        codes: party_role\n",
            "BGM+610+WB1'\nNAD+CZ'\nNAD+XX'\n");
    tu_failed(f, ERR_CODE);
    tu_assert_diag(f->m, "segment 4 (NAD) element 1 component 1: "
                         "unknown code 'XX' (code list party_role)");
    assert_int_equal(f->m->diags->line, 6); /* UNA UNB UNH BGM NAD NAD */
    assert_int_equal(tu_ndiags(f->m), 1);
}

static void test_unknown_code_keep_and_drop(void **state)
{
    fx *f = *state;
    tu_run_edi(f, "  - each: NAD\n    to: parties[]\n    fields:\n"
               "      - to: role\n        from: NAD.1.1\n"
               "        codes: party_role\n        unknown: keep\n"
               "      - to: name\n        from: NAD.1.1\n"
               "        codes: party_role\n        unknown: drop\n",
            "NAD+CN'\nNAD+XX'\n");
    model_record *r = tu_one(f);
    assert_int_equal(r->parties.n, 2);
    tu_assert_str(r->parties.v[0].role, "consignee");
    tu_assert_str(r->parties.v[0].name, "consignee");
    tu_assert_str(r->parties.v[1].role, "XX");
    assert_null(r->parties.v[1].name);
}

static const char *DATES =
    "  - to: document.issued\n    from: DTM+137.1.2\n"
    "    date: {from: DTM+137.1.3}\n"
    "  - to: route.departure\n    from: DTM+133.1.2\n"
    "    date: {from: DTM+133.1.3}\n"
    "  - {to: route.arrival, from: DTM+132.1.2, date: \"102\"}\n"
    "  - {to: customs.decision_time, from: DTM+9.1.2, date: {pattern: dd.MM.yyyy}}\n"
    "  - {to: status.time, from: DTM+334.1.2, date: iso}\n";

static void test_dates(void **state)
{
    fx *f = *state;
    tu_run_edi(f, DATES, "DTM+137:20240305:102'\nDTM+133:202403061430:203'\n"
                      "DTM+132:20240310'\nDTM+9:05.03.2024'\n"
                      "DTM+334:2024-03-05T10?:00Z'\n");
    model_record *r = tu_one(f);
    tu_assert_str(r->document.issued, "2024-03-05");
    tu_assert_str(r->route.departure, "2024-03-06T14:30");
    tu_assert_str(r->route.arrival, "2024-03-10");
    tu_assert_str(r->customs.decision_time, "2024-03-05");
    tu_assert_str(r->status.time, "2024-03-05T10:00Z");
}

static void test_bad_date(void **state)
{
    fx *f = *state;
    tu_run_edi(f, DATES, "DTM+137:20241305:102'\nDTM+334:yesterday'\n");
    tu_failed(f, ERR_INVALID);
    tu_assert_diag(f->m, "segment 2 (DTM) element 1 component 2: ");
    tu_assert_diag(f->m, "20241305");
    tu_assert_diag(f->m, "segment 3 (DTM) element 1 component 2: ");
    assert_int_equal(tu_ndiags(f->m), 2);
}

static const char *UNITS =
    "  - to: totals.gross_kg\n    from: CNT+7.1.2\n"
    "    unit: {table: unit_mass, from: CNT+7.1.3}\n"
    "  - {to: totals.packages, from: CNT+11.1.2}\n"
    "  - each: GID\n    to: goods[]\n    members: [MEA]\n    fields:\n"
    "      - to: net_kg\n        from: MEA+WT+AAA.3.2\n        decimal: \",\"\n"
    "        unit: {table: unit_mass, code: TNE}\n";

static void test_units_and_numbers(void **state)
{
    fx *f = *state;
    tu_run_edi(f, UNITS, "CNT+7:25.5:TNE'\nCNT+11:40'\nGID+1'\n"
                      "MEA+WT+AAA+:1,5'\n");
    model_record *r = tu_one(f);
    assert_true(r->totals.gross_kg.set);
    assert_float_equal(r->totals.gross_kg.v, 25500, 1e-9);
    assert_float_equal(r->totals.packages.v, 40, 1e-9);
    assert_int_equal(r->goods.n, 1);
    assert_float_equal(r->goods.v[0].net_kg.v, 1500, 1e-9);
}

static void test_unknown_unit_and_strict_numbers(void **state)
{
    fx *f = *state;
    /* ISO 9735 lets either decimal mark stand, so "1,5" is 1.5; a thousands
     * separator beside a decimal mark is still no number */
    tu_run_edi(f, UNITS, "CNT+7:25:XXX'\nCNT+11:1.000,5'\n");
    tu_failed(f, ERR_CODE);
    tu_assert_diag(f->m, "segment 2 (CNT) element 1 component 2: ");
    tu_assert_diag(f->m, "XXX");
    tu_assert_diag(f->m, "segment 3 (CNT) element 1 component 2: ");
    assert_int_equal(tu_ndiags(f->m), 2);
    /* exponents are refused too */
    tu_teardown(state), tu_setup(state), f = *state;
    tu_run_edi(f, UNITS, "CNT+11:1e3'\n");
    tu_failed(f, ERR_INVALID);
}

static void test_join_lists_split(void **state)
{
    fx *f = *state;
    tu_run_edi(f, "  - to: document.place\n    from: FTX+AAA.4\n    join: \" \"\n"
               "  - each: NAD\n    to: parties[]\n    fields:\n"
               "      - to: name\n        from: NAD.4\n        join: \" \"\n"
               "  - each: EQD\n    to: equipment[]\n    members: [SEL]\n"
               "    fields:\n"
               "      - to: seals[]\n        from: SEL.1.1\n        split: \",\"\n",
            "FTX+AAA+++STEEL:COILS'\nFTX+AAA+++ON PALLETS'\n"
            "NAD+CZ+++ACME::LTD'\nEQD+CN+C1'\nSEL+S1'\nSEL+S2, S3'\n");
    model_record *r = tu_one(f);
    tu_assert_str(r->document.place, "STEEL COILS ON PALLETS");
    tu_assert_str(r->parties.v[0].name, "ACME LTD"); /* empty skipped */
    const model_strlist *s = &r->equipment.v[0].seals;
    assert_int_equal(s->n, 3);
    assert_string_equal(s->v[0], "S1");
    assert_string_equal(s->v[1], "S2");
    assert_string_equal(s->v[2], "S3");
}

/* "every value is trimmed": also each component a join puts together. */
static void test_join_trims_components(void **state)
{
    fx *f = *state;
    tu_run_edi(f, "  - to: document.place\n    from: FTX+AAA.4\n    join: \"/\"\n",
            "FTX+AAA+++ STEEL : COILS '\n");
    tu_assert_str(tu_one(f)->document.place, "STEEL/COILS");
}

static void test_value_default_case_squeeze(void **state)
{
    fx *f = *state;
    tu_run_edi(f, "  - to: document.type\n    value: rail_waybill\n"
               "  - to: customs.status\n    from: STS.1.1\n    value: seen\n"
               "  - to: customs.office\n    from: LOC+22.2.1\n"
               "    default: NONE\n"
               "  - to: customs.procedure\n    from: FTX+AAA.4.1\n"
               "    case: upper\n    squeeze: true\n"
               "  - to: status.event\n    from: FTX+ZZZ.4.1\n    value: x\n",
            "STS+1'\nFTX+AAA+++  mixed   case  text '\n");
    model_record *r = tu_one(f);
    tu_assert_str(r->document.type, "rail_waybill");
    tu_assert_str(r->customs.status, "seen");
    tu_assert_str(r->customs.office, "NONE");
    tu_assert_str(r->customs.procedure, "MIXED CASE TEXT");
    assert_null(r->status.event); /* from matches nothing: no constant */
}

/* "with from, the constant is set when from matches": a path naming a
 * segment matches when the segment is there (as `exists: true` on
 * FTX+AAA in the docs), though a segment has no text of its own. */
static void test_value_with_segment_path(void **state)
{
    fx *f = *state;
    tu_run_edi(f, "  - to: customs.status\n    from: STS\n    value: seen\n"
               "  - to: customs.office\n    value: has-sts\n"
               "    when: {path: STS, exists: true}\n",
            "STS+1'\n");
    model_record *r = tu_one(f);
    tu_assert_str(r->customs.office, "has-sts");
    tu_assert_str(r->customs.status, "seen");
}

static const char *CONDS =
    "  - {to: document.number, from: BGM.2.1,"
    " when: {path: BGM.1.1, equals: \"610\"}}\n"
    "  - {to: document.function, from: BGM.3.1,"
    " when: {path: BGM.1.1, in: [\"700\", \"610\"]}}\n"
    "  - {to: document.place, value: not-sea, when: {path: TDT+20.3.1, not: \"1\"}}\n"
    "  - {to: route.origin, value: has-ftx, when: {path: FTX+AAA, exists: true}}\n"
    "  - {to: route.destination, value: no-ftx-zzz,"
    " when: {path: FTX+ZZZ, exists: false}}\n"
    "  - to: customs.office\n    value: both\n"
    "    when: [{path: BGM.1.1, equals: \"610\"}, {path: TDT+20.3.1, equals: \"2\"}]\n"
    "  - to: customs.status\n    value: never\n"
    "    when: [{path: BGM.1.1, equals: \"610\"}, {path: TDT+20.3.1, equals: \"1\"}]\n"
    "  - {to: customs.reference, value: never, when: {path: LOC+99, equals: x}}\n";

static void test_conditions(void **state)
{
    fx *f = *state;
    tu_run_edi(f, CONDS, "BGM+610+WB1+9'\nTDT+20++2'\nFTX+AAA+++X'\n");
    model_record *r = tu_one(f);
    tu_assert_str(r->document.number, "WB1");
    tu_assert_str(r->document.function, "9");
    tu_assert_str(r->document.place, "not-sea");
    tu_assert_str(r->route.origin, "has-ftx");
    tu_assert_str(r->route.destination, "no-ftx-zzz");
    tu_assert_str(r->customs.office, "both");
    assert_null(r->customs.status);
    assert_null(r->customs.reference);

    tu_teardown(state), tu_setup(state), f = *state;
    tu_run_edi(f, CONDS, "BGM+700+WB2+9'\nTDT+20++1'\nFTX+ZZZ+++X'\n");
    r = tu_one(f);
    assert_null(r->document.number);
    tu_assert_str(r->document.function, "9");
    assert_null(r->document.place);
    assert_null(r->route.origin);
    assert_null(r->route.destination);
    assert_null(r->customs.office);
}

/* "Empty values count as absent": a condition on an element the segment
 * leaves out, or on an empty component, sees nothing there. */
static void test_conditions_empty_is_absent(void **state)
{
    fx *f = *state;
    tu_run_edi(f, "  - to: document.place\n    value: no-mode\n"
               "    when: {path: TDT+20.3.1, exists: false}\n"
               "  - to: route.origin\n    value: has-mode\n"
               "    when: {path: TDT+20.3.1, exists: true}\n"
               "  - to: customs.office\n    value: empty-carrier\n"
               "    when: {path: TDT+20.5.1, exists: false}\n",
            "TDT+20+V1++++:172'\n");
    model_record *r = tu_one(f);
    tu_assert_str(r->document.place, "no-mode");
    assert_null(r->route.origin);
    tu_assert_str(r->customs.office, "empty-carrier");
}

static const char *GROUPS =
    "  - each: GID\n    to: goods[]\n    members: [MEA, SGP]\n    fields:\n"
    "      - {to: seq, from: GID.1.1}\n"
    "      - to: gross_kg\n        from: MEA+WT+G.3.2\n"
    "        unit: {table: unit_mass, from: MEA+WT+G.3.1}\n"
    "      - {to: net_kg, from: MEA+AAE+T.3.2}\n"
    "      - {to: \"equipment_refs[]\", from: SGP.1.1}\n"
    "  - each: EQD\n    to: equipment[]\n    members: [MEA, SEL]\n"
    "    fields:\n"
    "      - {to: number, from: EQD.2.1, validate: [iso6346]}\n"
    "      - to: tare_kg\n        from: MEA+AAE+T.3.2\n"
    "        unit: {table: unit_mass, from: MEA+AAE+T.3.1}\n"
    "      - {to: supplier, from: MEA+WT+G.3.2}\n"
    "      - {to: \"seals[]\", from: SEL.1.1}\n"
    "  - each: TDT\n    to: legs[]\n    fields:\n"
    "      - {to: seq, from: \"#index\"}\n      - {to: voyage, from: TDT.2.1}\n";

static void test_each_members(void **state)
{
    fx *f = *state;
    tu_run_edi(f, GROUPS,
            "TDT+20+V1'\nTDT+30+V2'\n"
            "GID+1'\nMEA+WT+G+TNE:1.2'\nSGP+CSQU3054383'\n"
            "GID+2'\nMEA+WT+G+KGM:500'\n"
            "GID+3'\nFTX+AAA'\nMEA+WT+G+KGM:999'\n"
            "EQD+CN+CSQU3054383'\nMEA+AAE+T+KGM:2200'\nSEL+S1'\nSEL+S2'\n"
            "EQD+CN+MSKU9070323'\nMEA+AAE+T+TNE:2.3'\n");
    model_record *r = tu_one(f);
    assert_int_equal(r->legs.n, 2);
    assert_float_equal(r->legs.v[0].seq.v, 1, 0);
    assert_float_equal(r->legs.v[1].seq.v, 2, 0);
    tu_assert_str(r->legs.v[1].voyage, "V2");

    assert_int_equal(r->goods.n, 3);
    assert_float_equal(r->goods.v[0].seq.v, 1, 0);
    assert_float_equal(r->goods.v[0].gross_kg.v, 1200, 1e-9);
    assert_int_equal(r->goods.v[0].equipment_refs.n, 1);
    assert_float_equal(r->goods.v[1].gross_kg.v, 500, 1e-9);
    /* the FTX (not a member) ends GID 3's group before the MEA */
    assert_false(r->goods.v[2].gross_kg.set);
    /* a tare MEA of an EQD group is not seen by a GID group */
    for (uint32_t i = 0; i < 3; i++)
        assert_false(r->goods.v[i].net_kg.set);

    assert_int_equal(r->equipment.n, 2);
    tu_assert_str(r->equipment.v[0].number, "CSQU3054383");
    assert_float_equal(r->equipment.v[0].tare_kg.v, 2200, 1e-9);
    assert_int_equal(r->equipment.v[0].seals.n, 2);
    assert_float_equal(r->equipment.v[1].tare_kg.v, 2300, 1e-9);
    assert_int_equal(r->equipment.v[1].seals.n, 0);
    /* and a goods MEA is not seen by an EQD group */
    assert_null(r->equipment.v[0].supplier);
    assert_null(r->equipment.v[1].supplier);
}

static void test_validate_failures(void **state)
{
    fx *f = *state;
    tu_run_edi(f, GROUPS, "EQD+CN+CSQU3054384'\n");
    tu_failed(f, ERR_CHECK_DIGIT); /* a waybill: check_digits strict */
    tu_assert_diag(f->m, "segment 2 (EQD) element 2 component 1: container "
                         "number 'CSQU3054384' fails the ISO 6346 check "
                         "digit (expected 3)");

    tu_teardown(state), tu_setup(state), f = *state;
    tu_run_edi(f, "  - to: document.number\n    from: BGM.2.1\n"
               "    validate: [{pattern: \"^WB[0-9]+$\"}]\n",
            "BGM+610+XB12'\n");
    tu_failed(f, ERR_INVALID);
    tu_assert_diag(f->m, "segment 2 (BGM) element 2 component 1: 'XB12' "
                         "does not match the pattern ^WB[0-9]+$");
}

/* ---- XML, CSV, JSON ---- */

static void test_xml(void **state)
{
    fx *f = *state;
    tu_run(f, "mapping: t\nformat: xml\nkind: declaration\nfields:\n"
           "  - {to: document.number, from: ID}\n"
           "  - {to: document.function, from: FunctionCode, codes: message_function}\n"
           "  - {to: document.issued, from: \"@issued\", date: iso}\n"
           "  - {to: customs.reference, from: Consignment/TransportContractDocument/ID}\n"
           "  - {to: document.place, from: \"Consignment/Party[RoleCode=CN]/Name\"}\n"
           "  - to: totals.gross_kg\n    from: Consignment/GrossMassMeasure\n"
           "    unit: {table: unit_mass, from: Consignment/GrossMassMeasure/@unitCode}\n"
           "  - each: Consignment/Party\n    to: parties[]\n    fields:\n"
           "      - {to: role, from: RoleCode, codes: party_role}\n"
           "      - {to: name, from: Name, squeeze: true}\n"
           "  - each: \"*/Container\"\n    to: equipment[]\n    fields:\n"
           "      - {to: number, from: ID, validate: [iso6346]}\n"
           "      - {to: \"seals[]\", from: Seal}\n",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Declaration xmlns=\"urn:x\" issued=\"2024-03-05\">\n"
        "  <FunctionCode>9</FunctionCode>\n  <ID>DEC-1</ID>\n"
        "  <Consignment>\n"
        "    <TransportContractDocument><ID>B1</ID></TransportContractDocument>\n"
        "    <Party><RoleCode>CZ</RoleCode><Name>Shipper Co</Name></Party>\n"
        "    <Party><RoleCode>CN</RoleCode><Name>Consignee   Ltd</Name></Party>\n"
        "    <GrossMassMeasure unitCode=\"TNE\">1.5</GrossMassMeasure>\n"
        "    <Container><ID>CSQU3054383</ID><Seal>S1</Seal><Seal>S2</Seal>"
        "</Container>\n"
        "  </Consignment>\n</Declaration>\n");
    model_record *r = tu_one(f);
    tu_assert_str(r->source.format, "xml");
    tu_assert_str(r->source.message_type, "Declaration");
    tu_assert_str(r->document.number, "DEC-1");
    tu_assert_str(r->document.function, "original");
    tu_assert_str(r->document.issued, "2024-03-05");
    tu_assert_str(r->customs.reference, "B1");
    tu_assert_str(r->document.place, "Consignee   Ltd");
    assert_float_equal(r->totals.gross_kg.v, 1500, 1e-9);
    assert_int_equal(r->parties.n, 2);
    tu_assert_str(r->parties.v[0].role, "consignor");
    tu_assert_str(r->parties.v[1].name, "Consignee Ltd");
    assert_int_equal(r->equipment.n, 1);
    assert_int_equal(r->equipment.v[0].seals.n, 2);
    tu_assert_str(r->equipment.v[0].seals.v[1], "S2");
}

static void test_xml_problem_names_element(void **state)
{
    fx *f = *state;
    tu_run(f, "mapping: t\nformat: xml\nkind: declaration\nfields:\n"
           "  - each: Party\n    to: parties[]\n    fields:\n"
           "      - to: role\n        from: RoleCode\n        codes: party_role\n",
        "<D>\n<Party>\n<RoleCode>ZZ</RoleCode>\n</Party>\n</D>\n");
    tu_failed(f, ERR_CODE);
    tu_assert_diag(f->m, "element 'RoleCode': unknown code 'ZZ' (code list "
                         "party_role)");
    assert_int_equal(f->m->diags->line, 3);
}

static const char *CSV =
    "waybill,container,seals,eta,weight\n"
    "WB1, CSQU3054383 ,S1;S2,2024-03-05,1.2\n"
    "WB2,MSKU9070323,,,800\n";

static void test_csv_split_rows(void **state)
{
    fx *f = *state;
    tu_run(f, "mapping: t\nformat: csv\nkind: waybill\nsplit: row\nfields:\n"
           "  - to: document.number\n    from: waybill\n    required: true\n"
           "  - to: route.arrival\n    from: eta\n    date: iso\n"
           "    default: \"2000-01-01\"\n"
           "  - to: totals.gross_kg\n    from: weight\n"
           "    unit: {table: unit_mass, code: TNE}\n",
        CSV);
    assert_int_equal(f->rc, 0);
    assert_int_equal(f->k.n, 2);
    tu_assert_str(f->k.r[0]->document.number, "WB1");
    tu_assert_str(f->k.r[0]->route.arrival, "2024-03-05");
    assert_float_equal(f->k.r[0]->totals.gross_kg.v, 1200, 1e-9);
    tu_assert_str(f->k.r[1]->document.number, "WB2");
    tu_assert_str(f->k.r[1]->route.arrival, "2000-01-01"); /* blank cell */
    assert_float_equal(f->k.r[1]->totals.gross_kg.v, 800000, 1e-9);
}

/* A blank cell is absent for conditions too. */
static void test_conditions_blank_cell_is_absent(void **state)
{
    fx *f = *state;
    tu_run(f, "mapping: t\nformat: csv\nkind: waybill\nsplit: row\nfields:\n"
           "  - to: document.number\n    from: waybill\n"
           "  - to: document.place\n    value: no-eta\n"
           "    when: {path: eta, exists: false}\n"
           "  - to: route.origin\n    value: eta-set\n"
           "    when: {path: eta, not: \"\"}\n",
        CSV);
    assert_int_equal(f->rc, 0);
    assert_int_equal(f->k.n, 2);
    assert_null(f->k.r[0]->document.place);
    tu_assert_str(f->k.r[0]->route.origin, "eta-set");
    tu_assert_str(f->k.r[1]->document.place, "no-eta");
}

static void test_csv_rows_as_group(void **state)
{
    fx *f = *state;
    tu_run(f, "mapping: t\nformat: csv\nkind: manifest\nfields:\n"
           "  - to: document.number\n    from: row[1]/waybill\n"
           "  - each: row\n    to: equipment[]\n    fields:\n"
           "      - to: number\n        from: container\n"
           "        validate: [iso6346]\n"
           "      - to: seals[]\n        from: seals\n        split: \";\"\n",
        CSV);
    model_record *r = tu_one(f);
    tu_assert_str(r->document.number, "WB1");
    assert_int_equal(r->equipment.n, 2);
    tu_assert_str(r->equipment.v[0].number, "CSQU3054383"); /* trimmed */
    assert_int_equal(r->equipment.v[0].seals.n, 2);
    tu_assert_str(r->equipment.v[0].seals.v[1], "S2");
    tu_assert_str(r->equipment.v[1].number, "MSKU9070323");
    assert_int_equal(r->equipment.v[1].seals.n, 0);
}

static void test_json_split_array(void **state)
{
    fx *f = *state;
    tu_run(f, "mapping: t\nformat: json\nkind: waybill\nsplit: shipments\n"
           "fields:\n"
           "  - to: document.number\n    from: ref\n    required: true\n"
           "  - to: totals.gross_kg\n    from: weight\n"
           "  - to: route.origin\n    from: route/from\n"
           "  - each: containers\n    to: equipment[]\n    fields:\n"
           "      - to: number\n        from: no\n",
        "{\"type\": \"bookings\", \"shipments\": [\n"
        "  {\"ref\": \"S1\", \"weight\": 12.5, \"route\": {\"from\": \"CNSHA\"},\n"
        "   \"containers\": [{\"no\": \"CSQU3054383\"}, {\"no\": \"MSKU9070323\"}]},\n"
        "  {\"ref\": \"S2\", \"weight\": 3, \"containers\": []}\n]}\n");
    assert_int_equal(f->rc, 0);
    assert_int_equal(f->k.n, 2);
    model_record *a = f->k.r[0], *b = f->k.r[1];
    tu_assert_str(a->document.number, "S1");
    assert_float_equal(a->totals.gross_kg.v, 12.5, 1e-9);
    tu_assert_str(a->route.origin, "CNSHA");
    assert_int_equal(a->equipment.n, 2);
    tu_assert_str(a->equipment.v[1].number, "MSKU9070323");
    tu_assert_str(b->document.number, "S2");
    assert_float_equal(b->totals.gross_kg.v, 3, 1e-9);
    assert_int_equal(b->equipment.n, 0);
    assert_null(b->route.origin);
    tu_assert_str(a->source.format, "json");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)
    const struct CMUnitTest tests[] = {
        T(test_source_and_scalars),
        T(test_required_missing),
        T(test_unknown_code),
        T(test_unknown_code_keep_and_drop),
        T(test_dates),
        T(test_bad_date),
        T(test_units_and_numbers),
        T(test_unknown_unit_and_strict_numbers),
        T(test_join_lists_split),
        T(test_join_trims_components),
        T(test_value_default_case_squeeze),
        T(test_value_with_segment_path),
        T(test_conditions),
        T(test_conditions_empty_is_absent),
        T(test_each_members),
        T(test_validate_failures),
        T(test_xml),
        T(test_xml_problem_names_element),
        T(test_csv_split_rows),
        T(test_conditions_blank_cell_is_absent),
        T(test_csv_rows_as_group),
        T(test_json_split_array),
    };
    return cmocka_run_group_tests_name("map_run", tests, NULL, NULL);
}
