/* Unit tests for mvev: the wire form pinned byte for byte on a hand-built
 * event, round trips (encode, decode, encode gives the same bytes) of
 * every type, the strict reader's refusals (unknown, misordered and
 * repeated keys, non-shortest forms, zero and empty values, caps,
 * truncation, trailing bytes, another version), and every field rule of
 * mv_event_validate with the field its message names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "mvev.h"

#define REF "26CQ00000000000016"  /* docs/clearance.md's worked example */
#define REF2 "26SN00000000000020"
#define ID1 "01ARYZ6S410000000000000000"

static arena_t A;

static int setup(void **state)
{
    (void)state;
    arena_init(&A, 64u << 20);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(&A);
    return 0;
}

static const unsigned char REC[] = {0x92, 0x01, 0x80}; /* [1, {}] */

/* A full declaration: CQ > SN > SH, two documents, two containers. */
static mv_event declared(void)
{
    mv_event ev = {.version = MVEV_VERSION, .type = MV_DECLARED,
                   .ref = REF, .at_ms = 1767225600000ull, .by = "CQ",
                   .kind = "rail_transit", .nitin = 3, .ndocs = 2,
                   .nctrs = 2, .pkgs = 120, .declarant = "Chongqing Trade",
                   .guarantee = "GUA-1", .record = REC,
                   .record_len = sizeof REC};
    ev.itin[0] = "CQ";
    ev.itin[1] = "SN";
    ev.itin[2] = "SH";
    ev.docs[0] = (mv_doc){"CIM", "RW-778"};
    ev.docs[1] = (mv_doc){"BL", "COSU123"};
    ev.ctrs[0] = (mv_ctr){"MSCU1234565", {"CQ778899"}, 1};
    ev.ctrs[1] = (mv_ctr){"TGHU9876543", {"CQ778900", "CQ778901"}, 2};
    return ev;
}

/* The same movement data under another event type. */
static mv_event of_type(mv_type t)
{
    mv_event ev = declared();
    ev.type = t;
    ev.prev = ID1;
    ev.record = NULL;
    ev.record_len = 0;
    static const char *res[MV_TYPE_END] = {
        [MV_RISK] = "inspect", [MV_DISCREPANCY] = "seal",
        [MV_CONTROLLED] = "ok", [MV_STATUS] = "gate_in",
        [MV_PASSAGE] = "ok", [MV_PERMIT] = "reserved"};
    int data = t == MV_AMENDED || t == MV_CANCELLED || t == MV_REJECTED ||
               t == MV_RELEASED || t == MV_WRITTEN_OFF;
    int found = t == MV_PASSAGE || t == MV_ARRIVED || t == MV_DISCREPANCY ||
                t == MV_CONTROLLED;
    if (!data) {
        ev.kind = ev.declarant = ev.guarantee = NULL;
        ev.nitin = ev.ndocs = 0;
        if (!found)
            ev.nctrs = ev.pkgs = 0;
    }
    ev.result = res[t];
    if (t == MV_REJECTED)
        ev.winner = REF2;
    if (t == MV_RELEASED)
        ev.limit_ms = 1767484800000ull;
    ev.note = t == MV_DISCREPANCY ? "seal CQ778899 broken, 重庆"
              : t == MV_PERMIT ? "CQ-26AIL000123" : NULL;
    ev.place = t == MV_STATUS ? "CNCKG" : NULL;
    return ev;
}

static void roundtrip(const mv_event *ev)
{
    buf_t b1, b2;
    buf_init(&b1, 1u << 20);
    buf_init(&b2, 1u << 20);
    err_t e;
    if (mv_event_encode(ev, &b1, &e))
        fail_msg("encode %s: %s", mv_type_name(ev->type), e.msg);
    mv_event out;
    if (mv_event_decode(b1.p, b1.len, &A, &out, &e))
        fail_msg("decode %s: %s", mv_type_name(ev->type), e.msg);
    assert_int_equal(mv_event_encode(&out, &b2, &e), 0);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.p, b2.p, b1.len);
    assert_int_equal(out.type, ev->type);
    assert_string_equal(out.ref, ev->ref);
    assert_true(out.at_ms == ev->at_ms && out.limit_ms == ev->limit_ms);
    assert_int_equal(out.nctrs, ev->nctrs);
    for (uint32_t i = 0; i < ev->nctrs; i++) {
        assert_string_equal(out.ctrs[i].no, ev->ctrs[i].no);
        assert_int_equal(out.ctrs[i].nseals, ev->ctrs[i].nseals);
        for (uint32_t s = 0; s < ev->ctrs[i].nseals; s++)
            assert_string_equal(out.ctrs[i].seals[s], ev->ctrs[i].seals[s]);
    }
    buf_free(&b1);
    buf_free(&b2);
}

static void test_types(void **state)
{
    (void)state;
    mv_type t;
    for (int i = 1; i < MV_TYPE_END; i++) {
        assert_int_equal(mv_type_parse(mv_type_name((mv_type)i), &t), 0);
        assert_int_equal(t, i);
    }
    assert_string_equal(mv_type_name(MV_WRITTEN_OFF), "written_off");
    assert_int_equal(MV_STATUS, 14); /* the table's numbers never move */
    assert_string_equal(mv_type_name(MV_TYPE_END), "?");
    assert_string_equal(mv_type_name((mv_type)0), "?");
    assert_int_equal(mv_type_parse("release", &t), ERR_CODE);
    assert_int_equal(mv_type_parse(NULL, &t), ERR_CODE);
}

static void test_roundtrip_every_type(void **state)
{
    (void)state;
    mv_event d = declared();
    roundtrip(&d);
    for (int t = 2; t < MV_TYPE_END; t++) {
        mv_event ev = of_type((mv_type)t);
        roundtrip(&ev);
    }
}

/* The bytes of a resolved event written out by hand from the key list
 * of mvev.h, so the form cannot drift with the code. */
static void test_wire_pinned(void **state)
{
    (void)state;
    mv_event ev = {.version = 1, .type = MV_RESOLVED, .ref = REF,
                   .at_ms = 300, .by = "CQ", .prev = ID1};
    unsigned char want[128];
    size_t n = 0;
#define PUT(s) (memcpy(want + n, s, sizeof s - 1), n += sizeof s - 1)
    PUT("\x86" "\xa1v" "\x01" "\xa1t" "\xa8resolved");
    PUT("\xa3ref" "\xb2" REF);
    PUT("\xa2" "at" "\xcd\x01\x2c"); /* 300: uint16, its shortest form */
    PUT("\xa2" "by" "\xa2" "CQ" "\xa4prev" "\xba" ID1);
#undef PUT
    buf_t b;
    buf_init(&b, 4096);
    assert_int_equal(mv_event_encode(&ev, &b, NULL), 0);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.p, want, n);
    mv_event out;
    assert_int_equal(mv_event_decode(want, n, &A, &out, NULL), 0);
    assert_true(out.at_ms == 300);
    assert_string_equal(out.prev, ID1);
    assert_null(out.kind);
    buf_free(&b);
}

/* ---- hand-built wire forms for the reader's refusals ---- */

static void pstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* The head of a valid resolved event with nkeys keys in all; the caller
 * adds the last nkeys - 6. */
static void head6(msgpack_packer *pk, uint32_t nkeys)
{
    msgpack_pack_map(pk, nkeys);
    pstr(pk, "v");
    msgpack_pack_uint8(pk, 1);
    pstr(pk, "t");
    pstr(pk, "resolved");
    pstr(pk, "ref");
    pstr(pk, REF);
    pstr(pk, "at");
    msgpack_pack_uint8(pk, 5);
    pstr(pk, "by");
    pstr(pk, "CQ");
    pstr(pk, "prev");
    pstr(pk, ID1);
}

static void expect_decode(const void *p, size_t n, int code,
                          const char *needle)
{
    mv_event out;
    err_t e;
    err_clear(&e);
    int rc = mv_event_decode(p, n, &A, &out, &e);
    if (rc != code || !strstr(e.msg, needle))
        fail_msg("decode: %d \"%s\", want %d with \"%s\"", rc, e.msg, code,
                 needle);
}

static void test_reader_keys(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    head6(&pk, 6);
    expect_decode(sb.data, sb.size, 0, "");
    expect_decode(sb.data, sb.size - 1, ERR_SYNTAX, "truncated");
    msgpack_pack_nil(&pk);
    expect_decode(sb.data, sb.size, ERR_SYNTAX, "1 trailing bytes");
    const char *cases[][3] = {
        {"note", "place", "out of order (after \"place\")"},
        {"prev", "", "repeated"},
        {"zz", "", "unknown key \"zz\""},
    };
    for (size_t i = 0; i < 3; i++) {
        msgpack_sbuffer_clear(&sb);
        head6(&pk, *cases[i][1] ? 8 : 7);
        if (*cases[i][1]) {
            pstr(&pk, cases[i][1]);
            pstr(&pk, "x");
        }
        pstr(&pk, cases[i][0]);
        pstr(&pk, ID1);
        expect_decode(sb.data, sb.size, ERR_INVALID, cases[i][2]);
    }
    msgpack_sbuffer_destroy(&sb);
}

static void test_reader_version(void **state)
{
    (void)state;
    expect_decode("\x81\xa1v\x02", 4, ERR_UNSUPPORTED, "version 2 not "
                  "supported");
    expect_decode("\x81\xa1t\x02", 4, ERR_INVALID, "first key \"t\"");
    expect_decode("\x80", 1, ERR_INVALID, "empty map");
    expect_decode("\x91\x01", 2, ERR_INVALID, "expected a map");
    expect_decode("", 0, ERR_SYNTAX, "truncated");
    expect_decode(NULL, 0, ERR_SYNTAX, "truncated");
    expect_decode("\xde\x00\x0f\xa1v\x01", 6, ERR_SYNTAX, "a map not in "
                  "its shortest msgpack form (0xde)");
    expect_decode("\xde\x00\x14\xa1v\x01", 6, ERR_INVALID, "20 keys, "
                  "version 1 has 19 at most");
    expect_decode("\xdc\x00\x01", 3, ERR_INVALID, "expected a map");
    expect_decode("\x8f\xa1v\x01", 4, ERR_SYNTAX, "movement event: "
                  "truncated");
}

/* Forms msgpack allows but the canonical writer never produces. */
static void test_reader_forms(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    struct {
        const char *key, *bytes;
        size_t n;
        int code;
        const char *needle;
    } c[] = {
        {"pkgs", "\xcc\x05", 2, ERR_SYNTAX, "key \"pkgs\": an unsigned "
         "integer not in its shortest msgpack form (0xcc)"},
        {"pkgs", "\x00", 1, ERR_INVALID, "key \"pkgs\": 0 (leave"},
        {"pkgs", "\xce\x00\x00\xff\xff", 5, ERR_SYNTAX, "shortest"},
        {"pkgs", "\xcf\x00\x00\x00\x01\x00\x00\x00\x00", 9, ERR_INVALID,
         "more than 4294967295"},
        {"pkgs", "\xa1" "5", 2, ERR_INVALID, "expected an unsigned integer"},
        {"note", "\xd9\x01x", 3, ERR_SYNTAX, "a string not in its shortest"},
        {"note", "\xa3x\0y", 4, ERR_INVALID, "contains a NUL byte"},
        {"note", "\xc4\x01x", 3, ERR_INVALID, "expected a string"},
        {"ctrs", "\x90", 1, ERR_INVALID, "leave an empty one out"},
        {"ctrs", "\x91\x91\xa1x", 4, ERR_INVALID, "entry 1: 1 entries, "
         "want 2"},
        {"itin", "\xdc\x00\x02\xa2" "CQ\xa2SN", 9, ERR_SYNTAX, "shortest"},
        {"itin", "\x99", 1, ERR_TOOBIG, "9 entries, more than 8"},
        {"rec", "\xc4\x00", 2, ERR_INVALID, "empty"},
        {"rec", "\xa1x", 2, ERR_INVALID, "expected bin"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        msgpack_sbuffer_clear(&sb);
        /* keys after prev: pkgs, note, rec keep their order in head6 */
        head6(&pk, 7);
        pstr(&pk, c[i].key);
        msgpack_sbuffer_write(&sb, c[i].bytes, c[i].n);
        expect_decode(sb.data, sb.size, c[i].code, c[i].needle);
    }
    msgpack_sbuffer_destroy(&sb);
}

/* 65 containers in the wire form: refused before any is read. */
static void test_reader_caps(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    head6(&pk, 7);
    pstr(&pk, "ctrs");
    msgpack_pack_array(&pk, MV_CTR_MAX + 1);
    expect_decode(sb.data, sb.size, ERR_TOOBIG, "65 entries, more than 64");
    msgpack_sbuffer_clear(&sb);
    head6(&pk, 7);
    pstr(&pk, "note");
    char note[MV_NOTE_MAX + 2];
    memset(note, 'n', sizeof note - 1);
    note[MV_NOTE_MAX + 1] = '\0';
    pstr(&pk, note);
    expect_decode(sb.data, sb.size, ERR_TOOBIG, "513 bytes, more than 512");
    msgpack_sbuffer_clear(&sb);
    head6(&pk, 7);
    pstr(&pk, "ctrs");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 2);
    pstr(&pk, "MSCU1234565");
    msgpack_pack_array(&pk, MV_SEAL_MAX + 1);
    expect_decode(sb.data, sb.size, ERR_TOOBIG, "key \"ctrs\" entry 1: 9 "
                  "entries, more than 8");
    msgpack_sbuffer_destroy(&sb);
}

/* The largest event: every cap filled; round trips. */
static void test_full_caps(void **state)
{
    (void)state;
    static char nos[MV_CTR_MAX][MV_STR_MAX + 1];
    static char seal[MV_STR_MAX + 1], note[MV_NOTE_MAX + 1];
    static const char *regions[] = {"CQ", "SC", "SN", "SH", "GD", "HB",
                                    "HN", "JS"};
    mv_event ev = of_type(MV_RELEASED);
    memset(seal, 'S', MV_STR_MAX);
    memset(note, 'n', MV_NOTE_MAX);
    ev.note = note;
    ev.nitin = MV_ITIN_MAX;
    for (int i = 0; i < MV_ITIN_MAX; i++)
        ev.itin[i] = regions[i];
    ev.nctrs = MV_CTR_MAX;
    for (int i = 0; i < MV_CTR_MAX; i++) {
        memset(nos[i], 'C', MV_STR_MAX);
        snprintf(nos[i], 8, "C%05d", i);
        nos[i][6] = 'X';
        ev.ctrs[i].no = nos[i];
        ev.ctrs[i].nseals = MV_SEAL_MAX;
        for (int s = 0; s < MV_SEAL_MAX; s++)
            ev.ctrs[i].seals[s] = seal;
    }
    assert_int_equal(strlen(nos[3]), MV_STR_MAX);
    roundtrip(&ev);
    /* and a buffer too small leaves it as it was */
    buf_t b;
    buf_init(&b, 1000);
    buf_adds(&b, "keep");
    err_t e;
    assert_int_equal(mv_event_encode(&ev, &b, &e), ERR_TOOBIG);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.p, "keep");
    buf_free(&b);
}

/* ---- field rules ---- */

static void expect_bad(const mv_event *ev, const char *needle)
{
    err_t e;
    err_clear(&e);
    int rc = mv_event_validate(ev, &e);
    if (rc != ERR_INVALID || !strstr(e.msg, needle))
        fail_msg("validate: %d \"%s\", want INVALID with \"%s\"", rc, e.msg,
                 needle);
    buf_t b;
    buf_init(&b, 1 << 16);
    assert_int_equal(mv_event_encode(ev, &b, NULL), ERR_INVALID);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_rules_head(void **state)
{
    (void)state;
    mv_event ev = declared();
    assert_int_equal(mv_event_validate(&ev, NULL), 0);
    ev.version = 2;
    expect_bad(&ev, "event declared of " REF ": v: version 2");
    ev = declared();
    ev.type = MV_TYPE_END;
    expect_bad(&ev, "t: unknown event type 16");
    ev = declared();
    ev.ref = "26CQ00000000000017";
    expect_bad(&ev, "ref: movement reference '26CQ00000000000017': check "
               "character is '7', expected '6'");
    ev.ref = NULL;
    expect_bad(&ev, "ref: movement reference: missing");
    ev = declared();
    ev.at_ms = 0;
    expect_bad(&ev, "at: required");
    ev = declared();
    ev.by = "cq";
    expect_bad(&ev, "by: 'cq' is not a region");
    ev.by = NULL;
    expect_bad(&ev, "by: '(none)'");
    assert_int_equal(mv_event_validate(NULL, NULL), ERR_INVALID);
}

static void test_rules_presence(void **state)
{
    (void)state;
    mv_event ev = declared();
    ev.prev = ID1;
    expect_bad(&ev, "prev: not used by a declared event");
    ev = of_type(MV_RELEASED);
    ev.prev = NULL;
    expect_bad(&ev, "event released of " REF ": prev: required");
    ev = of_type(MV_RELEASED);
    ev.limit_ms = 0;
    expect_bad(&ev, "limit: required");
    ev = of_type(MV_RELEASED);
    ev.record = REC;
    ev.record_len = 3;
    expect_bad(&ev, "rec: not used by a released event");
    ev = of_type(MV_AMENDED);
    ev.nitin = 0;
    expect_bad(&ev, "itin: required");
    ev = of_type(MV_CANCELLED);
    ev.kind = NULL;
    expect_bad(&ev, "kind: required");
    ev = of_type(MV_REJECTED);
    ev.winner = NULL;
    expect_bad(&ev, "win: required");
    ev = of_type(MV_RISK);
    ev.winner = REF2;
    expect_bad(&ev, "win: not used by a risk event");
    ev = of_type(MV_PASSAGE);
    ev.kind = "rail_transit";
    expect_bad(&ev, "kind: not used by a passage event");
    ev = of_type(MV_STATUS);
    ev.pkgs = 3;
    expect_bad(&ev, "pkgs: not used by a status event");
    ev = of_type(MV_WRITTEN_OFF);
    ev.ndocs = ev.nctrs = 0;
    expect_bad(&ev, "docs: no document and no container");
    /* containers alone are enough */
    ev = of_type(MV_WRITTEN_OFF);
    ev.ndocs = 0;
    assert_int_equal(mv_event_validate(&ev, NULL), 0);
    /* note and place go anywhere */
    ev = of_type(MV_RESOLVED);
    ev.note = "seal replaced";
    ev.place = "CNSHA";
    assert_int_equal(mv_event_validate(&ev, NULL), 0);
}

static void test_rules_codes(void **state)
{
    (void)state;
    const struct {
        mv_type t;
        const char *good[8], *bad;
    } c[] = {
        {MV_RISK, {"cleared", "inspect", "inspected"}, "ok"},
        {MV_CONTROLLED, {"ok", "discrepancy"}, "inspected"},
        {MV_DISCREPANCY, {"seal", "container", "packages", "other"}, "ok"},
        {MV_STATUS, {"gate_in", "gate_out", "loaded", "discharged",
                     "departed", "arrived", "transshipped"}, "in_transit"},
        {MV_PASSAGE, {"ok"}, "seal"},
        {MV_ARRIVED, {"ok"}, "discrepancy"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        mv_event ev = of_type(c[i].t);
        for (int k = 0; k < 8 && c[i].good[k]; k++) {
            ev.result = c[i].good[k];
            assert_int_equal(mv_event_validate(&ev, NULL), 0);
        }
        ev.result = c[i].bad;
        char want[64];
        snprintf(want, sizeof want, "res: '%s' is not a %s result", c[i].bad,
                 mv_type_name(c[i].t));
        expect_bad(&ev, want);
    }
    mv_event ev = of_type(MV_STATUS);
    ev.result = NULL;
    expect_bad(&ev, "res: required");
    ev = of_type(MV_RESOLVED);
    ev.result = "ok";
    expect_bad(&ev, "res: not used by a resolved event");
    ev = declared();
    const char *kinds[] = {"rail_sea_export", "water_transship",
                           "rail_transit", "import_transfer"};
    for (int k = 0; k < 4; k++) {
        ev.kind = kinds[k];
        assert_int_equal(mv_event_validate(&ev, NULL), 0);
    }
    ev.kind = "road";
    expect_bad(&ev, "kind: 'road' is not rail_sea_export");
    ev = of_type(MV_ENQUIRY);
    ev.prev = "01ARYZ6S41000000000000000I";
    expect_bad(&ev, "prev: message id: character 26");
    ev = of_type(MV_REJECTED);
    ev.winner = REF;
    expect_bad(&ev, "win: a movement cannot lose to itself");
    ev.winner = "26SN00000000000028";
    expect_bad(&ev, "win: movement reference '26SN00000000000028'");
}

static void test_rules_itin(void **state)
{
    (void)state;
    mv_event ev = declared();
    ev.nitin = 1;
    expect_bad(&ev, "itin: one region");
    ev = declared();
    ev.itin[2] = "CQ";
    expect_bad(&ev, "itin: CQ appears twice");
    ev = declared();
    ev.itin[0] = "SN";
    ev.itin[1] = "CQ";
    expect_bad(&ev, "itin: starts at SN, but the reference was made by CQ");
    ev = declared();
    ev.itin[1] = "Sn";
    expect_bad(&ev, "itin: entry 2 'Sn' is not a region");
    ev.itin[1] = NULL;
    expect_bad(&ev, "itin: entry 2 '(null)'");
    ev = declared();
    ev.nitin = MV_ITIN_MAX + 1;
    expect_bad(&ev, "itin: 9 regions, more than 8");
}

static void test_rules_docs_ctrs(void **state)
{
    (void)state;
    mv_event ev = declared();
    ev.docs[1] = ev.docs[0];
    expect_bad(&ev, "docs: CIM RW-778 appears twice");
    ev = declared();
    ev.docs[1].no = "RW 778";
    expect_bad(&ev, "docs entry 2 number: byte 3 (0x20) is not printable "
               "UTF-8 without spaces");
    ev = declared();
    ev.docs[0].type = "CIM:X";
    expect_bad(&ev, "docs: entry 1: type with ':'");
    ev = declared();
    ev.docs[0].no = NULL;
    expect_bad(&ev, "docs: entry 1: type and number required");
    ev = declared();
    ev.ndocs = MV_DOC_MAX + 1;
    expect_bad(&ev, "docs: 9 documents, more than 8");
    ev = declared();
    ev.ctrs[1].no = "MSCU1234565";
    expect_bad(&ev, "ctrs: container MSCU1234565 appears twice");
    ev = declared();
    ev.ctrs[0].nseals = MV_SEAL_MAX + 1;
    expect_bad(&ev, "ctrs entry 1: 9 seals, more than 8");
    ev = declared();
    ev.ctrs[1].seals[1] = NULL;
    expect_bad(&ev, "ctrs entry 2 seal 2: missing");
    ev = declared();
    ev.ctrs[1].seals[0] = "";
    expect_bad(&ev, "ctrs entry 2 seal 1: empty");
    ev = declared();
    ev.ctrs[0].no = NULL;
    expect_bad(&ev, "ctrs entry 1: number required");
    ev = declared();
    ev.nctrs = MV_CTR_MAX + 1;
    expect_bad(&ev, "ctrs: 65 containers, more than 64");
    /* a container found with no seal left is a valid passage report */
    ev = of_type(MV_PASSAGE);
    ev.ctrs[0].nseals = 0;
    assert_int_equal(mv_event_validate(&ev, NULL), 0);
}

static void test_rules_strings(void **state)
{
    (void)state;
    mv_event ev = of_type(MV_DISCREPANCY);
    const char *good[] = {"Zhōngguó 重庆 😀", "a", "~"};
    for (size_t i = 0; i < 3; i++) {
        ev.note = good[i];
        assert_int_equal(mv_event_validate(&ev, NULL), 0);
    }
    const struct {
        const char *s, *needle;
    } bad[] = {
        {"", "note: empty"},
        {"a\x01", "note: byte 2 (0x01) is not printable"},
        {"tab\there", "byte 4 (0x09)"},
        {"del\x7f", "byte 4 (0x7f)"},
        {"\xc0\x80", "byte 1 (0xc0)"},               /* overlong NUL */
        {"\xe0\x80\xaf", "byte 1 (0xe0)"},           /* overlong '/' */
        {"\xed\xa0\x80", "byte 1 (0xed)"},           /* surrogate */
        {"\xc2\x85", "byte 1 (0xc2)"},               /* C1 NEL */
        {"\xf4\x90\x80\x80", "byte 1 (0xf4)"},       /* past U+10FFFF */
        {"ok\xe4\xb8", "byte 3 (0xe4)"},             /* cut short */
        {"\x80", "byte 1 (0x80)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ev.note = bad[i].s;
        expect_bad(&ev, bad[i].needle);
    }
    static char s[MV_NOTE_MAX + 2];
    memset(s, 'x', MV_NOTE_MAX + 1);
    ev.note = s;
    expect_bad(&ev, "note: more than 512 bytes");
    s[MV_NOTE_MAX] = '\0';
    assert_int_equal(mv_event_validate(&ev, NULL), 0);
    ev = declared();
    ev.declarant = s; /* 512 bytes: fine for a note, not for decl */
    expect_bad(&ev, "decl: more than 70 bytes");
    s[MV_STR_MAX] = '\0';
    assert_int_equal(mv_event_validate(&ev, NULL), 0);
    ev.declarant = "x\ny";
    expect_bad(&ev, "decl: byte 2 (0x0a)");
    ev = declared();
    ev.ctrs[0].no = "MSCU 1234565";
    expect_bad(&ev, "ctrs entry 1: byte 5 (0x20) is not printable UTF-8 "
               "without spaces");
    ev = declared();
    ev.ctrs[0].seals[0] = "CQ 778899"; /* seals may have spaces */
    assert_int_equal(mv_event_validate(&ev, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_roundtrip_every_type),
        cmocka_unit_test(test_wire_pinned),
        cmocka_unit_test(test_reader_keys),
        cmocka_unit_test(test_reader_version),
        cmocka_unit_test(test_reader_forms),
        cmocka_unit_test(test_reader_caps),
        cmocka_unit_test(test_full_caps),
        cmocka_unit_test(test_rules_head),
        cmocka_unit_test(test_rules_presence),
        cmocka_unit_test(test_rules_codes),
        cmocka_unit_test(test_rules_itin),
        cmocka_unit_test(test_rules_docs_ctrs),
        cmocka_unit_test(test_rules_strings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
