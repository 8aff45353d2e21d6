/* The reverse runner (map_reverse.c): record -> map_reverse -> codec
 * write -> parse -> map_apply must give the record back (model_equal),
 * with code lists, dates, units and qualifiers undone as
 * docs/mapping-language.md "The reverse direction" says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "map_testutil.h"

typedef tu_fx fx;

static char written[16384]; /* the local text the last reverse wrote */

/* Record r back to the table's format; the text in `written`. 0 or the
 * error of map_reverse (message in e). */
static int reverse(fx *f, const model_record *r, err_t *e)
{
    codec_msg *m = NULL;
    err_clear(e);
    int rc = map_reverse(f->d, r, &f->a, &m, e);
    if (rc)
        return rc;
    assert_non_null(m);
    assert_non_null(m->root);
    const codec_ops *ops = codec_find(map_def_format(f->d));
    buf_t b;
    buf_init(&b, sizeof written - 1);
    const codec_msg *one = m;
    if ((rc = ops->write(&one, 1, map_def_codec_opts(f->d), &b, e)))
        fail_msg("%s write: %s", ops->name, e->msg);
    snprintf(written, sizeof written, "%s", b.p ? b.p : "");
    buf_free(&b);
    return 0;
}

/* Forward input with table, reverse every record, read the text back:
 * each record must come back equal. */
static void roundtrip(fx *f, const char *table, const char *input)
{
    tu_run(f, table, input);
    if (f->rc || !f->k.n)
        fail_msg("forward: rc %d, %zu records; diags:\n%s", f->rc, f->k.n,
                 tu_diags(f->m));
    tu_recs first = f->k;
    for (size_t i = 0; i < first.n; i++) {
        err_t e;
        if (reverse(f, first.r[i], &e))
            fail_msg("map_reverse: %s", e.msg);
        tu_apply(f, written);
        if (f->rc || f->k.n != 1)
            fail_msg("record %zu read back: rc %d, %zu records; diags:\n%s\n"
                     "written:\n%s", i, f->rc, f->k.n, tu_diags(f->m), written);
        /* written alone, a split record is item 1 of its document again:
         * its position (source.message_ref, "1.2") may change; nothing else */
        first.r[i]->source.message_ref = f->k.r[0]->source.message_ref;
        buf_t diff;
        buf_init(&diff, 4096);
        if (!model_equal(first.r[i], f->k.r[0], &diff))
        {
            char at[256];
            snprintf(at, sizeof at, "%s", diff.p ? diff.p : "?");
            buf_free(&diff); /* freed before failing: no leak in the report */
            fail_msg("record %zu differs at %s; written:\n%s", i, at, written);
        }
        buf_free(&diff);
    }
}

static void has(const char *text)
{
    if (!strstr(written, text))
        fail_msg("'%s' not written; written:\n%s", text, written);
}

/* ---- EDIFACT ---- */

static const char *IFTMIN =
    "  - to: document.number\n    from: BGM.2.1\n    required: true\n"
    "  - to: document.function\n    from: BGM.3.1\n    codes: message_function\n"
    "  - to: document.issued\n    from: DTM+137.1.2\n"
    "    date: {from: DTM+137.1.3}\n"
    "  - to: route.departure\n    from: DTM+133.1.2\n"
    "    date: {from: DTM+133.1.3}\n"
    "  - to: route.arrival\n    from: DTM+132.1.2\n    date: \"102\"\n"
    "  - to: customs.decision_time\n    from: DTM+9.1.2\n"
    "    date: {pattern: dd.MM.yyyy}\n"
    "  - to: totals.gross_kg\n    from: CNT+7.1.2\n"
    "    unit: {table: unit_mass, from: CNT+7.1.3}\n"
    "  - to: totals.packages\n    from: CNT+11.1.2\n"
    "  - to: route.origin\n    from: LOC+5.2.1\n"
    "  - each: TDT\n    to: legs[]\n    members: [LOC]\n    fields:\n"
    "      - {to: seq, from: \"#index\"}\n"
    "      - {to: voyage, from: TDT.2.1}\n"
    "      - {to: from, from: LOC+9.2.1}\n"
    "  - each: NAD\n    to: parties[]\n    members: [COM]\n    fields:\n"
    "      - {to: role, from: NAD.1.1, codes: party_role}\n"
    "      - {to: name, from: NAD.4, join: \" \"}\n"
    "      - {to: phone, from: \"COM[1.2=TE].1.1\"}\n"
    "      - {to: email, from: \"COM[1.2=EM].1.1\"}\n"
    "  - each: GID\n    to: goods[]\n    members: [MEA]\n    fields:\n"
    "      - {to: seq, from: GID.1.1}\n"
    "      - to: gross_kg\n        from: MEA+WT+G.3.2\n"
    "        unit: {table: unit_mass, from: MEA+WT+G.3.1}\n"
    "      - to: net_kg\n        from: MEA+WT+AAA.3.2\n        decimal: \",\"\n"
    "        unit: {table: unit_mass, code: TNE}\n"
    "  - each: EQD\n    to: equipment[]\n    members: [MEA, SEL]\n    fields:\n"
    "      - {to: number, from: EQD.2.1, validate: [iso6346]}\n"
    "      - to: tare_kg\n        from: MEA+AAE+T.3.2\n"
    "        unit: {table: unit_mass, from: MEA+AAE+T.3.1}\n"
    "      - {to: \"seals[]\", from: SEL.1.1}\n";

static const char *IFTMIN_BODY =
    "BGM+610+WB1+31'\n"
    "DTM+137:20240305:102'\nDTM+133:202403061430:203'\n"
    "DTM+132:20240310'\nDTM+9:05.03.2024'\n"
    "CNT+7:25.5:TNE'\nCNT+11:40'\nLOC+5+DEHAM'\n"
    "TDT+20+V1'\nLOC+9+DEHAM'\nTDT+30+V2'\n"
    "NAD+CZ+++ACME LTD'\nCOM+0123:TE'\nCOM+a@b.cn:EM'\nNAD+CN+++BUYER'\n"
    "GID+1'\nMEA+WT+G+KGM:1200'\nMEA+WT+AAA+:1,1'\nGID+2'\nMEA+WT+G+TNE:2'\n"
    "EQD+CN+CSQU3054383'\nMEA+AAE+T+KGM:2200'\nSEL+S1'\nSEL+S2'\n"
    "EQD+CN+MSKU9070323'\n";

static void run_iftmin_roundtrip(fx *f)
{
    char table[8192], *edi = tu_edi("IFTMIN", IFTMIN_BODY);
    snprintf(table, sizeof table, "mapping: t\nformat: edifact\nkind: waybill\n"
             "match:\n  message_type: IFTMIN\nfields:\n%s", IFTMIN);
    roundtrip(f, table, edi);
    free(edi);
}

static void test_edifact_roundtrip(void **state)
{
    fx *f = *state;
    run_iftmin_roundtrip(f);
    model_record *r = f->k.r[0];
    assert_int_equal(r->parties.n, 2);
    assert_int_equal(r->goods.n, 2);
    assert_int_equal(r->equipment.n, 2);
    assert_int_equal(r->legs.n, 2);
    tu_assert_str(r->legs.v[0].from, "DEHAM");
    assert_int_equal(r->equipment.v[0].seals.n, 2);
    tu_assert_str(r->source.message_type, "IFTMIN");
    tu_assert_str(r->source.sender, "SENDER1");
}

/* What the reverse wrote, segment by segment. */
static void test_edifact_written_segments(void **state)
{
    fx *f = *state;
    run_iftmin_roundtrip(f);
    has("UNH+M1+IFTMIN:D:04A:UN'");
    /* code list: "original" has keys 9 and 31; the first is written */
    has("BGM++WB1+9'");
    /* qualifiers created, date format codes written to {from:} */
    has("DTM+137:20240305:102'");
    has("DTM+133:202403061430:203'");
    has("DTM+132:20240310'");
    has("DTM+9:05.03.2024'");
    /* units: the value in the base unit, the base code written */
    has("CNT+7:25500:KGM'");
    has("MEA+WT+G+KGM:2000'");
    has("MEA+WT+AAA+:1,1'"); /* fixed code: value in tonnes, mark ',' */
    has("NAD+CZ+++ACME LTD'");
    has("COM+0123:TE'");
    has("COM+a@b.cn:EM'");
    has("SEL+S1'");
    has("SEL+S2'");
    /* #index is not written back: TDT holds only the voyage */
    has("TDT++V1'LOC+9+DEHAM'TDT++V2'");
    /* groups stay together: each MEA follows its own GID or EQD */
    has("GID+2'MEA+WT+G+KGM:2000'EQD++CSQU3054383'MEA+AAE+T+KGM:2200'");
}

/* A record built by hand (not read first) goes out and comes back. */
static void test_edifact_from_built_record(void **state)
{
    fx *f = *state;
    char table[8192];
    snprintf(table, sizeof table, "mapping: t\nformat: edifact\nkind: waybill\n"
             "match:\n  message_type: IFTMIN\nfields:\n%s", IFTMIN);
    tu_load_table(f, table);
    model_record *r = model_record_new(&f->a);
    r->kind = "waybill";
    r->source.format = "edifact";
    r->source.message_type = "IFTMIN";
    r->source.version = "D:04A";
    r->source.sender = "S";
    r->source.recipient = "R";
    r->source.interchange_ref = "I1";
    r->source.message_ref = "1";
    r->source.mapping = "t";
    r->document.number = "WB9";
    r->document.issued = "2024-03-05T14:30:15";
    r->totals.gross_kg = (model_num){1234.5, 1};
    err_t e;
    model_equipment *q = model_array_append(&f->a, r,
                                            model_field_find("equipment"), &e);
    assert_non_null(q);
    q->number = "CSQU3054383";
    model_strlist_add(&f->a, &q->seals, "X1", 2, &e);
    if (reverse(f, r, &e))
        fail_msg("map_reverse: %s", e.msg);
    has("DTM+137:20240305143015:204'");
    has("CNT+7:1234.5:KGM'");
    has("EQD++CSQU3054383'");
    tu_apply(f, written);
    buf_t diff;
    buf_init(&diff, 4096);
    if (!model_equal(r, tu_one(f), &diff))
        fail_msg("differs at %s; written:\n%s", diff.p, written);
    buf_free(&diff);
}

static void test_code_without_local_key(void **state)
{
    fx *f = *state;
    tu_load_table(f, "mapping: t\nformat: edifact\nkind: waybill\n"
                     "match:\n  message_type: IFTMIN\nfields:\n"
                     "  - {to: document.function, from: BGM.3.1, codes: message_function}\n"
                     "  - {to: document.type, from: BGM.1.1, codes: party_role,"
                     " unknown: keep}\n");
    model_record *r = model_record_new(&f->a);
    r->kind = "waybill";
    r->document.function = "replacement"; /* no key in the list */
    err_t e;
    assert_int_equal(reverse(f, r, &e), ERR_CODE);
    assert_non_null(strstr(e.msg, "replacement"));
    assert_non_null(strstr(e.msg, "message_function"));
    r->document.function = "cancellation";
    r->document.type = "rail_waybill"; /* unknown: keep writes it as is */
    assert_int_equal(reverse(f, r, &e), 0);
    has("BGM+rail_waybill++1'");
}

/* A table writes the kind it reads: a status record through a waybill
 * table is refused (it would come out as an empty IFTMIN), a waybill goes
 * through. */
static void test_other_kind_refused(void **state)
{
    fx *f = *state;
    tu_load_table(f, "mapping: t\nformat: edifact\nkind: waybill\n"
                     "match:\n  message_type: IFTMIN\nfields:\n"
                     "  - {to: document.number, from: BGM.2.1}\n");
    model_record *r = model_record_new(&f->a);
    r->kind = "status";
    r->document.number = "ST1";
    err_t e;
    assert_int_equal(reverse(f, r, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "table t writes waybill records, not "
                                  "status"));
    r->kind = "waybill";
    assert_int_equal(reverse(f, r, &e), 0);
    has("BGM++ST1'");
}

/* "A field is written by the first rule that targets it; constants
 * (value) and #index are not written back." */
static void test_first_rule_writes_constants_do_not(void **state)
{
    fx *f = *state;
    tu_load_table(f, "mapping: t\nformat: edifact\nkind: waybill\n"
                     "match:\n  message_type: IFTMIN\nfields:\n"
                     "  - {to: document.type, from: BGM.1.1, value: rail_waybill}\n"
                     "  - {to: document.number, from: BGM.2.1}\n"
                     "  - {to: document.number, from: RFF+AAA.1.2}\n"
                     "  - {to: document.place, from: \"#index\"}\n"
                     "  - {to: document.place, from: LOC+91.2.1}\n");
    model_record *r = model_record_new(&f->a);
    r->kind = "waybill";
    r->document.type = "rail_waybill";
    r->document.number = "WB1";
    r->document.place = "DEHAM";
    err_t e;
    assert_int_equal(reverse(f, r, &e), 0);
    has("BGM++WB1'");
    assert_null(strstr(written, "RFF"));
    assert_null(strstr(written, "rail_waybill"));
    /* #index has no place: the next rule for the field writes it */
    has("LOC+91+DEHAM'");
}

/* ---- constants written back: {from: P, const: V} ---- */

/* "A rule {from: P, const: V} writes V at P": in rule order, with the
 * path's qualifiers, whatever the record holds. */
static void test_const_edifact(void **state)
{
    fx *f = *state;
    tu_load_table(f, "mapping: t\nformat: edifact\nkind: waybill\n"
                     "match:\n  message_type: IFTMIN\nfields:\n"
                     "  - {from: BGM.1.1, const: \"705\"}\n"
                     "  - {to: document.number, from: BGM.2.1}\n"
                     "  - {from: RFF+AAA.1.2, const: X1}\n"
                     "  - {to: route.origin, from: LOC+5.2.1}\n");
    model_record *r = model_record_new(&f->a);
    r->kind = "waybill";
    r->document.number = "WB1";
    r->route.origin = "DEHAM";
    err_t e;
    assert_int_equal(reverse(f, r, &e), 0);
    has("BGM+705+WB1'RFF+AAA:X1'LOC+5+DEHAM'");
    /* read, a const reads nothing: the record comes back as it went */
    tu_apply(f, written);
    buf_t diff;
    buf_init(&diff, 4096);
    r->source = tu_one(f)->source;
    if (!model_equal(r, tu_one(f), &diff))
        fail_msg("differs at %s; written:\n%s", diff.p, written);
    buf_free(&diff);
}

/* `out: {association: A}` writes UNH 0057 (SMDG22, ITG14: the user
 * manual the message follows), which no canonical field holds. */
static void test_out_association(void **state)
{
    fx *f = *state;
    tu_load_table(f, "mapping: t\nformat: edifact\nkind: status\n"
                     "match:\n  message_type: BAPLIE\n"
                     "out:\n  message_type: BAPLIE\n  version: \"D:95B\"\n"
                     "  association: SMDG22\nfields:\n"
                     "  - {to: document.number, from: BGM.2.1}\n");
    model_record *r = model_record_new(&f->a);
    r->kind = "status";
    r->document.number = "P1";
    err_t e;
    assert_int_equal(reverse(f, r, &e), 0);
    has("+BAPLIE:D:95B:UN:SMDG22'");
}

/* `zone`: the sender's clock. Read, a 203 time gets the zone; written,
 * a time in UTC is written as the sender's local digits, and read back
 * it is the same instant; a date stays a date. */
static void test_zone_both_ways(void **state)
{
    fx *f = *state;
    tu_load_table(f, "mapping: t\nformat: edifact\nkind: waybill\n"
                     "zone: \"+08:00\"\nmatch:\n  message_type: IFTMIN\n"
                     "fields:\n"
                     "  - {to: document.number, from: BGM.2.1}\n"
                     "  - {to: document.issued, from: DTM+137.1.2, "
                     "date: {from: DTM+137.1.3}}\n");
    model_record *r = model_record_new(&f->a);
    r->kind = "waybill";
    r->document.number = "WB1";
    r->document.issued = "2024-12-31T20:30Z";
    err_t e;
    assert_int_equal(reverse(f, r, &e), 0);
    has("DTM+137:202501010430:203'");
    tu_apply(f, written);
    assert_string_equal(tu_one(f)->document.issued, "2025-01-01T04:30+08:00");
    r->document.issued = "2024-12-31";
    assert_int_equal(reverse(f, r, &e), 0);
    has("DTM+137:20241231:102'");
    tu_apply(f, written);
    assert_string_equal(tu_one(f)->document.issued, "2024-12-31");
}

static const char *XML_CONSTS =
    "mapping: t\nformat: xml\nkind: manifest\nmatch:\n  root: Manifest\n"
    "fields:\n"
    "  - {from: Head/MessageType, const: MT2101}\n"
    "  - {to: document.number, from: Head/MessageID}\n"
    "  - {from: Head/Version, const: \"1.0\"}\n"
    "  - {from: Head/@schema, const: v2}\n"
    "  - each: Container\n    to: equipment[]\n    fields:\n"
    "      - {from: TypeCode, const: CN}\n"
    "      - {to: number, from: ID}\n";

static void test_const_xml(void **state)
{
    fx *f = *state;
    roundtrip(f, XML_CONSTS,
              "<Manifest><Head><MessageType>MT2101</MessageType>"
              "<MessageID>M1</MessageID><Version>1.0</Version></Head>"
              "<Container><TypeCode>CN</TypeCode><ID>C1</ID></Container>"
              "<Container><TypeCode>CN</TypeCode><ID>C2</ID></Container>"
              "</Manifest>\n");
    has("<MessageType>MT2101</MessageType>");
    has("<Version>1.0</Version>");
    has("schema=\"v2\"");
    assert_true(strstr(written, "MT2101") < strstr(written, "M1"));
    assert_true(strstr(written, "M1") < strstr(written, "<Version>"));
    /* once per group instance */
    const char *c2 = strstr(written, "C2");
    assert_non_null(c2);
    assert_non_null(strstr(strstr(written, "C1"), "<TypeCode>CN</TypeCode>"));
    assert_true(strstr(strstr(written, "C1"), "<TypeCode>CN</TypeCode>") < c2);
    /* another value in the input is not refused: forward, nothing is read */
    tu_apply(f, "<Manifest><Head><MessageType>MT9</MessageType>"
                "<MessageID>M2</MessageID></Head></Manifest>\n");
    tu_assert_str(tu_one(f)->document.number, "M2");
    assert_null(f->m->diags);
}

/* In JSON an unquoted true/false or number is written bare; a quoted
 * one stays a string. */
static void test_const_json(void **state)
{
    fx *f = *state;
    tu_load_table(f, "mapping: t\nformat: json\nkind: status\nfields:\n"
                     "  - {from: eventType, const: EQUIPMENT}\n"
                     "  - {to: document.number, from: eventID}\n"
                     "  - {from: isElectronic, const: true}\n"
                     "  - {from: note, const: \"true\"}\n"
                     "  - {from: count, const: -2.5e3}\n"
                     "  - {from: version, const: \"2\"}\n"
                     "  - {from: code, const: 0012}\n");
    model_record *r = model_record_new(&f->a);
    r->kind = "status";
    r->document.number = "E1";
    err_t e;
    assert_int_equal(reverse(f, r, &e), 0);
    has("\"eventType\":\"EQUIPMENT\"");
    has("\"isElectronic\":true");
    has("\"note\":\"true\"");
    has("\"count\":-2.5e3");
    has("\"version\":\"2\"");
    has("\"code\":\"0012\""); /* not a JSON number: a string */
    assert_true(strstr(written, "EQUIPMENT") < strstr(written, "E1"));
}

/* A rule read under `when` writes its condition back with its value
 * (equals; in: the first), unless the path already holds one; `not`
 * writes nothing. Read back, the record is the same. */
static void test_when_written_back(void **state)
{
    fx *f = *state;
    roundtrip(f, "mapping: t\nformat: edifact\nkind: waybill\n"
                 "match:\n  message_type: IFTMIN\nfields:\n"
                 "  - {to: document.number, from: BGM.2.1}\n"
                 "  - {to: route.origin, from: LOC.2.1, "
                 "when: {path: LOC.1.1, equals: \"5\"}}\n"
                 "  - {to: route.destination, from: RFF.1.2, "
                 "when: [{path: RFF.1.1, in: [DST, ZZZ]}, "
                 "{path: RFF.1.3, not: X}]}\n",
              "UNB+UNOA:2+S+R+240305:1402+1'UNH+1+IFTMIN:D:04A:UN'"
              "BGM+705+WB1+9'LOC+5+DEHAM'RFF+DST:NLRTM'UNT+5+1'UNZ+1+1'");
    has("LOC+5+DEHAM'");
    has("RFF+DST:NLRTM'");
    assert_string_equal(f->k.r[0]->route.origin, "DEHAM");
    assert_string_equal(f->k.r[0]->route.destination, "NLRTM");
}

/* `sum: true`: every match of a number rule added up, units converted
 * one by one; without it the first match. */
static void test_sum(void **state)
{
    fx *f = *state;
    tu_run(f, "mapping: t\nformat: json\nkind: waybill\nfields:\n"
              "  - {to: document.number, from: id}\n"
              "  - {to: totals.gross_kg, from: \"items[]/w\", sum: true, "
              "unit: {table: unit_mass, from: \"items[]/u\"}}\n"
              "  - {to: totals.packages, from: \"items[]/n\"}\n",
           "{\"id\": \"W1\", \"items\": [{\"w\": 1.5, \"u\": \"KGM\", "
           "\"n\": 2}, {\"w\": 2, \"u\": \"KGM\", \"n\": 5}, "
           "{\"w\": 0.25, \"u\": \"KGM\", \"n\": 7}]}");
    model_record *r = tu_one(f);
    assert_true(r->totals.gross_kg.set);
    assert_true(r->totals.gross_kg.v > 3.7499 && r->totals.gross_kg.v < 3.7501);
    assert_true(r->totals.packages.v > 1.9 && r->totals.packages.v < 2.1);
}

/* `bare: true`: a field's text that is true/false or a number is written
 * as a JSON boolean or number (DCSA's isShipperOwned through a code
 * list); other text stays a string, and without it "true" is a string. */
static void test_bare_json(void **state)
{
    fx *f = *state;
    tu_load_table(f, "mapping: t\nformat: json\nkind: status\nfields:\n"
                     "  - {to: document.number, from: id}\n"
                     "  - {to: status.event, from: owned, bare: true}\n"
                     "  - {to: status.place, from: place, bare: true}\n"
                     "  - {to: status.equipment, from: flagged}\n"
                     "  - {to: status.description, from: level, bare: true}\n");
    model_record *r = model_record_new(&f->a);
    r->kind = "status";
    r->document.number = "E1";
    r->status.event = "false";
    r->status.place = "CNSHA";
    r->status.equipment = "true";
    r->status.description = "12.5";
    err_t e;
    assert_int_equal(reverse(f, r, &e), 0);
    has("\"owned\":false");
    has("\"place\":\"CNSHA\"");
    has("\"flagged\":\"true\"");
    has("\"level\":12.5");
    /* and read back, the same record */
    tu_apply(f, written);
    assert_string_equal(tu_one(f)->status.event, "false");
    assert_string_equal(tu_one(f)->status.description, "12.5");
}

/* A split table's head constant (a path from the root) is the document's:
 * written once, by the first record; an item's, once per item. */
static void test_const_split_head_once(void **state)
{
    fx *f = *state;
    tu_load_table(f, "mapping: t\nformat: json\nkind: waybill\n"
                     "split: shipments\nfields:\n"
                     "  - {from: /feed, const: TNT}\n"
                     "  - {from: type, const: S}\n"
                     "  - {to: document.number, from: ref}\n");
    codec_msg *m = NULL;
    err_t e;
    char *refs[] = {"S1", "S2"};
    for (int i = 0; i < 2; i++) {
        model_record *r = model_record_new(&f->a);
        r->kind = "waybill";
        r->document.number = refs[i];
        assert_int_equal(map_reverse(f->d, r, &f->a, &m, &e), 0);
    }
    buf_t b;
    buf_init(&b, sizeof written - 1);
    const codec_msg *one = m;
    assert_int_equal(codec_find("json")->write(&one, 1, NULL, &b, &e), 0);
    snprintf(written, sizeof written, "%s", b.p);
    buf_free(&b);
    const char *feed = strstr(written, "\"feed\":\"TNT\"");
    if (!feed)
        fail_msg("no feed; written:\n%s", written);
    if (strstr(feed + strlen("\"feed\""), "\"feed\""))
        fail_msg("head written twice; written:\n%s", written);
    const char *s1 = strstr(written, "\"type\":\"S\"");
    assert_non_null(s1);
    assert_non_null(strstr(s1 + 1, "\"type\":\"S\""));
}

/* A derived table's const replaces its base's at the same path; its
 * others follow. */
static void test_const_extends(void **state)
{
    fx *f = *state;
    tu_write(f->dir, "base.yaml",
             "mapping: base\nformat: edifact\nkind: waybill\n"
             "match:\n  message_type: IFTMIN\nfields:\n"
             "  - {from: BGM.1.1, const: \"705\"}\n"
             "  - {to: document.number, from: BGM.2.1}\n"
             "  - {from: FTX+AAA.4.1, const: BASE}\n");
    tu_load_table(f, "mapping: t\nextends: base\n"
                     "match:\n  message_type: IFTMIN\n  sender: X\n"
                     "fields:\n"
                     "  - {from: FTX+AAI.4.1, const: MORE}\n"
                     "  - {from: BGM.1.1, const: \"730\"}\n");
    assert_int_equal(f->d->nrules, 4);
    model_record *r = model_record_new(&f->a);
    r->kind = "waybill";
    r->document.number = "WB1";
    err_t e;
    assert_int_equal(reverse(f, r, &e), 0);
    has("BGM+730+WB1'FTX+AAA+++BASE'FTX+AAI+++MORE'");
    assert_null(strstr(written, "705"));
}

/* ---- XML ---- */

static const char *XML_TABLE =
    "mapping: t\nformat: xml\nkind: declaration\n"
    "match:\n  root: Declaration\n  namespace: \"urn:x\"\nfields:\n"
    "  - {to: document.number, from: ID}\n"
    "  - {to: document.function, from: FunctionCode, codes: message_function}\n"
    "  - {to: document.issued, from: \"@issued\", date: iso}\n"
    "  - {to: customs.reference, from: Consignment/TransportContractDocument/ID}\n"
    "  - to: totals.gross_kg\n    from: Consignment/GrossMassMeasure\n"
    "    unit: {table: unit_mass, from: Consignment/GrossMassMeasure/@unitCode}\n"
    "  - each: Consignment/Party\n    to: parties[]\n    fields:\n"
    "      - {to: role, from: RoleCode, codes: party_role}\n"
    "      - {to: name, from: Name}\n"
    "  - each: Consignment/Container\n    to: equipment[]\n    fields:\n"
    "      - {to: number, from: ID}\n"
    "      - {to: \"seals[]\", from: Seal}\n";

static void test_xml_roundtrip(void **state)
{
    fx *f = *state;
    roundtrip(f, XML_TABLE,
              "<?xml version=\"1.0\"?>\n"
              "<Declaration xmlns=\"urn:x\" issued=\"2024-03-05\">\n"
              "<FunctionCode>9</FunctionCode><ID>DEC-1</ID>\n<Consignment>\n"
              "<TransportContractDocument><ID>B1</ID></TransportContractDocument>\n"
              "<Party><RoleCode>CZ</RoleCode><Name>Shipper Co</Name></Party>\n"
              "<Party><RoleCode>CN</RoleCode><Name>Consignee</Name></Party>\n"
              "<GrossMassMeasure unitCode=\"TNE\">1.5</GrossMassMeasure>\n"
              "<Container><ID>C1</ID><Seal>S1</Seal><Seal>S2</Seal></Container>\n"
              "<Container><ID>C2</ID></Container>\n"
              "</Consignment></Declaration>\n");
    assert_int_equal(f->k.r[0]->parties.n, 2);
    assert_int_equal(f->k.r[0]->equipment.v[0].seals.n, 2);
    tu_assert_str(f->k.r[0]->source.message_type, "Declaration");
    has("unitCode=\"KGM\"");
    has(">1500<");
    has("urn:x");
    has("<RoleCode>CN</RoleCode>");
}

/* ---- group membership: unconditional constants only ---- */

/* Two groups fill parties[]: a carrier's id_agency is a constant under a
 * `when` (CN_CUSTOMS for a 10-character code, USCC for an 18-character
 * credit code), read from the form of its code, as in the CEB tables. */
static const char *CARRIER_TABLE =
    "mapping: t\nformat: xml\nkind: waybill\n"
    "match:\n  root: Waybill\nfields:\n"
    "  - {to: document.number, from: ID}\n"
    "  - each: Carrier\n    to: parties[]\n    fields:\n"
    "      - {to: role, value: carrier}\n"
    "      - {to: id, from: Code}\n"
    "      - {to: name, from: Name}\n"
    "      - {to: id_agency, value: CN_CUSTOMS, "
    "when: {path: Code, matches: \"^[0-9A-Z]{10}$\"}}\n"
    "      - {to: id_agency, value: USCC, when: {path: Code, matches: "
    "\"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$\"}}\n"
    "  - each: Consignee\n    to: parties[]\n    fields:\n"
    "      - {to: role, value: consignee}\n"
    "      - {to: name, from: Name}\n";

/* A constant under a `when` is a conditional value, not a membership
 * criterion: a carrier holding either id_agency, or none, is written back
 * by the carrier group (before, no element could hold both constants and
 * every carrier was dropped, silently); the constants themselves are not
 * written; read back, the record is the same. */
static void test_conditional_constant_not_membership(void **state)
{
    fx *f = *state;
    roundtrip(f, CARRIER_TABLE,
              "<?xml version=\"1.0\"?>\n<Waybill><ID>WB1</ID>\n"
              "<Carrier><Code>3120980025</Code><Name>Customs Reg Co</Name>"
              "</Carrier>\n"
              "<Carrier><Code>91310000MA1FL8XQ30</Code><Name>Credit Code Co"
              "</Name></Carrier>\n"
              "<Carrier><Name>No Code Co</Name></Carrier>\n"
              "<Consignee><Name>Buyer</Name></Consignee>\n</Waybill>\n");
    const model_record *r = f->k.r[0];
    assert_int_equal(r->parties.n, 4);
    tu_assert_str(r->parties.v[0].id_agency, "CN_CUSTOMS");
    tu_assert_str(r->parties.v[1].id_agency, "USCC");
    assert_null(r->parties.v[2].id_agency);
    tu_assert_str(r->parties.v[2].role, "carrier");
    tu_assert_str(r->parties.v[3].role, "consignee");
    has("<Carrier><Code>3120980025</Code><Name>Customs Reg Co</Name>"
        "</Carrier>");
    has("<Carrier><Code>91310000MA1FL8XQ30</Code><Name>Credit Code Co"
        "</Name></Carrier>");
    has("<Carrier><Name>No Code Co</Name></Carrier>");
    has("<Consignee><Name>Buyer</Name></Consignee>");
    assert_null(strstr(written, "CN_CUSTOMS"));
    assert_null(strstr(written, "USCC"));
}

static model_party *add_party(fx *f, model_record *r, const char *role,
                              const char *name, const char *id,
                              const char *agency)
{
    err_t e;
    model_party *p = model_array_append(&f->a, r,
                                        model_field_find("parties"), &e);
    assert_non_null(p);
    p->role = (char *)role;
    p->name = (char *)name;
    p->id = (char *)id;
    p->id_agency = (char *)agency;
    return p;
}

/* The unconditional constant still decides: an element without role
 * carrier is not the carrier group's, whatever conditional value it
 * holds (a seller with CN_CUSTOMS, a party with no role), and a consignee
 * holding an id_agency goes out through the consignee group. A
 * conditional constant is read-only in effect: a carrier whose id_agency
 * disagrees with its code is written, and reads back as its code says. */
static void test_conditional_constant_unconditional_decides(void **state)
{
    fx *f = *state;
    tu_load_table(f, CARRIER_TABLE);
    model_record *r = model_record_new(&f->a);
    r->kind = "waybill";
    r->document.number = "WB2";
    add_party(f, r, "seller", "Seller Co", "3120980099", "CN_CUSTOMS");
    add_party(f, r, NULL, "Roleless Co", "91310000MA1FL8XQ31", "USCC");
    add_party(f, r, "consignee", "Buyer", NULL, "USCC");
    add_party(f, r, "carrier", "Odd Co", "3120980025", "USCC");
    err_t e;
    if (reverse(f, r, &e))
        fail_msg("map_reverse: %s", e.msg);
    assert_null(strstr(written, "Seller Co"));
    assert_null(strstr(written, "3120980099"));
    assert_null(strstr(written, "Roleless Co"));
    assert_null(strstr(written, "91310000MA1FL8XQ31"));
    has("<Consignee><Name>Buyer</Name></Consignee>");
    has("<Carrier><Code>3120980025</Code><Name>Odd Co</Name></Carrier>");
    assert_null(strstr(written, "<Carrier><Name>Buyer"));
    tu_apply(f, written);
    const model_record *back = tu_one(f);
    assert_int_equal(back->parties.n, 2);
    tu_assert_str(back->parties.v[0].role, "carrier");
    tu_assert_str(back->parties.v[0].id_agency, "CN_CUSTOMS");
    tu_assert_str(back->parties.v[1].role, "consignee");
    assert_null(back->parties.v[1].id_agency);
}

/* Unchanged for unconditional constants: every one must be held. A group
 * setting role and kind unconditionally takes only elements holding
 * both; a conditional constant beside them changes nothing. */
static void test_unconditional_constants_all_held(void **state)
{
    fx *f = *state;
    tu_load_table(f, "mapping: t\nformat: xml\nkind: waybill\n"
                     "match:\n  root: Waybill\nfields:\n"
                     "  - each: Agent\n    to: parties[]\n    fields:\n"
                     "      - {to: role, value: carrier}\n"
                     "      - {to: id_agency, value: CN_CUSTOMS}\n"
                     "      - {to: id_agency, value: USCC, "
                     "when: {path: Code, exists: true}}\n"
                     "      - {to: name, from: Name}\n");
    model_record *r = model_record_new(&f->a);
    r->kind = "waybill";
    add_party(f, r, "carrier", "Both Co", NULL, "CN_CUSTOMS");
    add_party(f, r, "carrier", "Credit Co", NULL, "USCC");
    add_party(f, r, "carrier", "None Co", NULL, NULL);
    add_party(f, r, "seller", "Seller Co", NULL, "CN_CUSTOMS");
    err_t e;
    if (reverse(f, r, &e))
        fail_msg("map_reverse: %s", e.msg);
    has("<Agent><Name>Both Co</Name></Agent>");
    assert_null(strstr(written, "Credit Co"));
    assert_null(strstr(written, "None Co"));
    assert_null(strstr(written, "Seller Co"));
}

/* ---- CSV ---- */

static const char *CSV_ROWS =
    "mapping: t\nformat: csv\nkind: manifest\nfields:\n"
    "  - each: row\n    to: equipment[]\n    fields:\n"
    "      - {to: number, from: container}\n"
    "      - {to: \"seals[]\", from: seals, split: \";\"}\n"
    "      - to: tare_kg\n        from: tare\n"
    "        unit: {table: unit_mass, code: TNE}\n";

static void test_csv_roundtrip(void **state)
{
    fx *f = *state;
    roundtrip(f, CSV_ROWS, "container,seals,tare\n"
                           "CSQU3054383,S1;S2,2.2\nMSKU9070323,S3,2.3\n");
    assert_int_equal(f->k.r[0]->equipment.n, 2);
    assert_int_equal(f->k.r[0]->equipment.v[0].seals.n, 2);
    has("container,seals,tare\r\n");
    has("CSQU3054383,S1;S2,2.2\r\n");
}

/* "CSV leaves cells blank": a value absent in one row must keep the
 * columns of the others in place. */
static void test_csv_roundtrip_blank_cell(void **state)
{
    fx *f = *state;
    roundtrip(f, CSV_ROWS, "container,seals,tare\n"
                           "CSQU3054383,S1;S2,2.2\nMSKU9070323,,2.3\n");
    assert_float_equal(f->k.r[0]->equipment.v[1].tare_kg.v, 2300, 1e-9);
}

/* A split table: one row per record, each written back as one row. */
/* `each: .` in an EDIFACT split table is the split segment with its
 * members, both ways: one equipment per EQD, not an empty one, and
 * written back into that one EQD, not a segment per rule. */
static void test_edifact_split_self(void **state)
{
    fx *f = *state;
    roundtrip(f, "mapping: t\nformat: edifact\nkind: status\n"
                 "match:\n  message_type: CODECO\nsplit: EQD\nfields:\n"
                 "  - {to: document.number, from: /BGM.2.1}\n"
                 "  - each: .\n    to: equipment[]\n    fields:\n"
                 "      - {to: number, from: EQD.2.1}\n"
                 "      - {to: size_type, from: EQD.3.1}\n"
                 "      - {to: \"seals[]\", from: SEL.1.1}\n",
              "UNB+UNOA:2+S+R+240305:1402+1'UNH+1+CODECO:D:95B:UN'"
              "BGM+34+R1+9'EQD+CN+ABCU1234560+22G1'SEL+S1+CA'"
              "EQD+CN+ABCU7654322+45G1'UNT+6+1'UNZ+1+1'");
    assert_int_equal(f->k.n, 1); /* the last record, read back */
    assert_int_equal(f->k.r[0]->equipment.n, 1);
    assert_string_equal(f->k.r[0]->equipment.v[0].number, "ABCU7654322");
    assert_string_equal(f->k.r[0]->equipment.v[0].size_type, "45G1");
    has("EQD++ABCU7654322+45G1'");
    assert_null(strstr(written, "EQD'"));
}

static void test_csv_split_roundtrip(void **state)
{
    fx *f = *state;
    roundtrip(f, "mapping: t\nformat: csv\nkind: waybill\nsplit: row\nfields:\n"
                 "  - {to: document.number, from: waybill}\n"
                 "  - {to: route.arrival, from: eta, date: {pattern: dd/MM/yyyy}}\n",
              "waybill,eta\nWB1,05/03/2024\nWB2,06/03/2024\n");
    assert_int_equal(f->k.n, 1);
    has("WB2,06/03/2024");
}

/* ---- JSON ---- */

static void test_json_roundtrip(void **state)
{
    fx *f = *state;
    roundtrip(f, "mapping: t\nformat: json\nkind: waybill\nfields:\n"
                 "  - {to: document.number, from: ref}\n"
                 "  - {to: totals.gross_kg, from: weight}\n"
                 "  - {to: route.origin, from: route/from}\n"
                 "  - each: containers\n    to: equipment[]\n    fields:\n"
                 "      - {to: number, from: no}\n"
                 "      - {to: \"seals[]\", from: seals}\n",
              "{\"ref\": \"S1\", \"weight\": 12.5, \"route\": {\"from\": \"CNSHA\"},\n"
              " \"containers\": [{\"no\": \"C1\", \"seals\": [\"X1\", \"X2\"]},\n"
              "                {\"no\": \"C2\"}]}\n");
    assert_int_equal(f->k.r[0]->equipment.n, 2);
    assert_int_equal(f->k.r[0]->equipment.v[0].seals.n, 2);
    has("12.5"); /* a number stays a number */
    assert_null(strstr(written, "\"12.5\""));
}

/* A split JSON feed: each record goes back as one element of the array. */
static void test_json_split_roundtrip(void **state)
{
    fx *f = *state;
    roundtrip(f, "mapping: t\nformat: json\nkind: waybill\nsplit: shipments\n"
                 "fields:\n  - {to: document.number, from: ref}\n",
              "{\"shipments\": [{\"ref\": \"S1\"}, {\"ref\": \"S2\"}]}\n");
    assert_int_equal(f->k.n, 1);
    has("shipments");
}

/* ---- a split table's head and trailer ---- */

/* Forward input with table, then every record back into one document (a
 * split table's records are items of one); the text in `written`. */
static void reverse_all(fx *f, const char *table, const char *input)
{
    tu_run(f, table, input);
    if (f->rc || !f->k.n)
        fail_msg("forward: rc %d, %zu records; diags:\n%s", f->rc, f->k.n,
                 tu_diags(f->m));
    tu_recs recs = f->k;
    codec_msg *m = NULL;
    err_t e;
    for (size_t i = 0; i < recs.n; i++)
        if (map_reverse(f->d, recs.r[i], &f->a, &m, &e))
            fail_msg("map_reverse of record %zu: %s", i + 1, e.msg);
    const codec_ops *ops = codec_find(map_def_format(f->d));
    buf_t b;
    buf_init(&b, sizeof written - 1);
    const codec_msg *one = m;
    if (ops->write(&one, 1, map_def_codec_opts(f->d), &b, &e))
        fail_msg("%s write: %s", ops->name, e.msg);
    snprintf(written, sizeof written, "%s", b.p ? b.p : "");
    buf_free(&b);
}

/* Rules from the root that come after every rule inside the record are
 * the document's trailer: written once, after all the records (CEB's
 * BaseTransfer after its Orders), the way the document was read. */
static void test_split_trailer_after_records(void **state)
{
    fx *f = *state;
    const char *doc =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Msg guid=\"G1\"><Order><Head><no>A</no></Head></Order>"
        "<Order><Head><no>B</no></Head></Order>"
        "<Order><Head><no>C</no></Head></Order>"
        "<Transfer><code>X1</code><mode>DXP</mode></Transfer></Msg>\n";
    reverse_all(f, "mapping: t\nformat: xml\nkind: waybill\n"
                   "match:\n  root: Msg\nsplit: Order\nfields:\n"
                   "  - {to: source.interchange_ref, from: /@guid}\n"
                   "  - {to: document.number, from: Head/no}\n"
                   "  - {to: document.type, value: order}\n"
                   "  - {to: source.sender, from: /Transfer/code}\n"
                   "  - {from: /Transfer/mode, const: DXP}\n",
                doc);
    assert_string_equal(written, doc);
    tu_apply(f, written); /* and it reads as it did */
    assert_int_equal(f->k.n, 3);
    assert_string_equal(f->k.r[2]->document.number, "C");
    assert_string_equal(f->k.r[2]->source.sender, "X1");
}

/* Rules from the root before the last rule inside the record are the
 * head, written before the records as they always were: first in the
 * table, or between rules of the record (a WCO manifest's head after the
 * consignment's number). */
static void test_split_head_before_records(void **state)
{
    fx *f = *state;
    const char *doc =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Msg><Transfer><code>X1</code><mode>DXP</mode></Transfer>"
        "<Office>O1</Office>"
        "<Order><no>A</no><from>CNCKG</from></Order>"
        "<Order><no>B</no><from>CNSHA</from></Order></Msg>\n";
    reverse_all(f, "mapping: t\nformat: xml\nkind: waybill\n"
                   "match:\n  root: Msg\nsplit: Order\nfields:\n"
                   "  - {to: source.sender, from: /Transfer/code}\n"
                   "  - {from: /Transfer/mode, const: DXP}\n"
                   "  - {to: document.number, from: no}\n"
                   "  - {to: customs.office, from: /Office}\n"
                   "  - {to: route.origin, from: from}\n",
                doc);
    assert_string_equal(written, doc);
}

/* The records' own parent may be deeper than the root: the trailer goes
 * after them inside it, and what the trailer writes at the root after
 * that element. */
static void test_split_trailer_nested(void **state)
{
    fx *f = *state;
    const char *doc =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Manifest><Head><Office>O1</Office></Head><Declaration>"
        "<Consignment><ID>A</ID></Consignment>"
        "<Consignment><ID>B</ID></Consignment>"
        "<Consignment><ID>C</ID></Consignment>"
        "<Total><Ref>R1</Ref></Total></Declaration>"
        "<Sender>X1</Sender></Manifest>\n";
    reverse_all(f, "mapping: t\nformat: xml\nkind: manifest\n"
                   "match:\n  root: Manifest\n"
                   "split: Declaration/Consignment\nfields:\n"
                   "  - {to: customs.office, from: /Head/Office}\n"
                   "  - {to: document.number, from: ID}\n"
                   "  - {to: customs.reference, from: /Declaration/Total/Ref}\n"
                   "  - {to: source.sender, from: /Sender}\n",
                doc);
    assert_string_equal(written, doc);
}

/* A table that extends another is judged in the file that states each
 * rule: the rules it adds inside the record (after the base's) leave the
 * base's trailer a trailer, a rule replacing one of the trailer's stays
 * there, and a rule from the root it adds before its own rules inside
 * the record is head. */
static void test_split_trailer_extends(void **state)
{
    fx *f = *state;
    tu_write(f->dir, "base.yaml",
             "mapping: base\nformat: xml\nkind: waybill\n"
             "match:\n  root: Msg\nsplit: Order\nfields:\n"
             "  - {to: document.number, from: no}\n"
             "  - {to: source.sender, from: /Transfer/code}\n"
             "  - {from: /Transfer/mode, const: DXP}\n");
    const char *doc =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Msg><Office>O1</Office>"
        "<Order><no>A</no><from>CNCKG</from></Order>"
        "<Order><no>B</no><from>CNSHA</from></Order>"
        "<Transfer><code>X1</code><mode>DXP</mode></Transfer></Msg>\n";
    reverse_all(f, "mapping: t\nextends: base\n"
                   "match:\n  root: Msg\nfields:\n"
                   "  - {from: /Transfer/mode, const: DXP}\n"
                   "  - {to: customs.office, from: /Office}\n"
                   "  - {to: route.origin, from: from}\n",
                doc);
    assert_string_equal(written, doc);
}

/* JSON: the trailer's members follow the array of records. */
static void test_split_trailer_json(void **state)
{
    fx *f = *state;
    reverse_all(f, "mapping: t\nformat: json\nkind: waybill\n"
                   "split: shipments\nfields:\n"
                   "  - {from: /feed, const: TNT}\n"
                   "  - {to: document.number, from: ref}\n"
                   "  - {to: source.sender, from: /sender}\n",
                "{\"feed\": \"TNT\", \"shipments\": [{\"ref\": \"S1\"}, "
                "{\"ref\": \"S2\"}, {\"ref\": \"S3\"}], \"sender\": \"X1\"}\n");
    const char *feed = strstr(written, "\"feed\"");
    const char *s3 = strstr(written, "\"S3\"");
    const char *sender = strstr(written, "\"sender\"");
    if (!feed || !s3 || !sender || !(feed < strstr(written, "\"S1\"")) ||
        !(s3 < sender) || strstr(sender + 1, "\"sender\""))
        fail_msg("not feed, S1..S3, sender once; written:\n%s", written);
    tu_apply(f, written);
    assert_int_equal(f->k.n, 3);
    assert_string_equal(f->k.r[1]->document.number, "S2");
    assert_string_equal(f->k.r[1]->source.sender, "X1");
}

/* EDIFACT: the trailer's segments (a control total after the groups)
 * follow the last record's group. */
static void test_split_trailer_edifact(void **state)
{
    fx *f = *state;
    reverse_all(f, "mapping: t\nformat: edifact\nkind: status\n"
                   "match:\n  message_type: CODECO\nsplit: EQD\nfields:\n"
                   "  - {to: document.number, from: /BGM.2.1}\n"
                   "  - each: .\n    members: [SEL]\n"
                   "    to: equipment[]\n    fields:\n"
                   "      - {to: number, from: EQD.2.1}\n"
                   "      - {to: \"seals[]\", from: SEL.1.1}\n"
                   "  - {to: totals.equipment_count, from: /CNT+16.1.2}\n",
                "UNB+UNOA:2+S+R+240305:1402+1'UNH+1+CODECO:D:95B:UN'"
                "BGM+34+R1+9'EQD+CN+ABCU1234560'SEL+S1'"
                "EQD+CN+ABCU7654322'SEL+S2'CNT+16:2'UNT+8+1'UNZ+1+1'");
    has("BGM++R1'EQD++ABCU1234560'SEL+S1'EQD++ABCU7654322'SEL+S2'"
        "CNT+16:2'UNT+8+1'");
    tu_apply(f, written);
    assert_int_equal(f->k.n, 2);
    assert_string_equal(f->k.r[1]->equipment.v[0].seals.v[0], "S2");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)
    const struct CMUnitTest tests[] = {
        T(test_edifact_roundtrip),
        T(test_edifact_written_segments),
        T(test_edifact_from_built_record),
        T(test_code_without_local_key),
        T(test_other_kind_refused),
        T(test_first_rule_writes_constants_do_not),
        T(test_const_edifact),
        T(test_out_association),
        T(test_zone_both_ways),
        T(test_const_xml),
        T(test_const_json),
        T(test_bare_json),
        T(test_sum),
        T(test_when_written_back),
        T(test_const_split_head_once),
        T(test_const_extends),
        T(test_xml_roundtrip),
        T(test_conditional_constant_not_membership),
        T(test_conditional_constant_unconditional_decides),
        T(test_unconditional_constants_all_held),
        T(test_csv_roundtrip),
        T(test_csv_roundtrip_blank_cell),
        T(test_csv_split_roundtrip),
        T(test_edifact_split_self),
        T(test_json_roundtrip),
        T(test_json_split_roundtrip),
        T(test_split_trailer_after_records),
        T(test_split_head_before_records),
        T(test_split_trailer_nested),
        T(test_split_trailer_extends),
        T(test_split_trailer_json),
        T(test_split_trailer_edifact),
    };
    return cmocka_run_group_tests_name("map_reverse", tests, NULL, NULL);
}
