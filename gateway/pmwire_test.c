/* Unit tests for pmwire: names of operations and codes, permit ids and
 * amount text, the two wire forms pinned byte for byte, round trips
 * (encode, decode, encode gives the same bytes) of every operation and of
 * answers with every field, the strict reader's refusals, and the field
 * rules with the key (and entry) their messages name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "pmwire.h"

#define PID "CQ-26AIL000123"
#define ID1 "01ARYZ6S410000000000000000"

static arena_t A;
static msgpack_sbuffer SB;
static msgpack_packer PK;

static int setup(void **state)
{
    (void)state;
    arena_init(&A, 64u << 20);
    msgpack_sbuffer_init(&SB);
    msgpack_packer_init(&PK, &SB, msgpack_sbuffer_write);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(&A);
    msgpack_sbuffer_destroy(&SB);
    return 0;
}

/* A reserve of two lines: 12.5 of line 1, 1,000.00 in value of line 3. */
static pm_req reserve(void)
{
    pm_req q = {.op = PM_OP_RESERVE, .permit = PID, .key = "26CQ0000016",
                .nlines = 2, .holder = "91500000MA5U123X",
                .at_ms = 1767225600000ull};
    q.lines[0] = (pm_amount){1, 12500, 0};
    q.lines[1] = (pm_amount){3, 0, 1000000};
    return q;
}

/* An answer with every field set. */
static pm_ans answer(void)
{
    pm_ans a = {.req = ID1, .op = PM_OP_RESERVE, .permit = PID,
                .key = "26CQ0000016", .code = PM_C_INSUFFICIENT,
                .text = "line 1: 2.5 left, 12.5 requested, 重庆",
                .status = "valid", .kind = "import_licence",
                .usage = "per_line", .from_ms = 1767196800000ull,
                .to_ms = 1798732799999ull, .rsv = "cancelled", .nleft = 3,
                .at_ms = 1767225600123ull};
    a.left[0] = (pm_amount){0, 0, 0};
    a.left[1] = (pm_amount){1, 2500, 0};
    a.left[2] = (pm_amount){3, 0, UINT64_MAX};
    return a;
}

static void same_lines(const pm_amount *a, const pm_amount *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        assert_true(a[i].line == b[i].line && a[i].qty == b[i].qty &&
                    a[i].value == b[i].value);
}

static void same_str(const char *a, const char *b)
{
    if (a || b)
        assert_true(a && b && !strcmp(a, b));
}

static void roundtrip_req(const pm_req *q)
{
    buf_t b1, b2;
    buf_init(&b1, 1u << 20);
    buf_init(&b2, 1u << 20);
    err_t e;
    pm_req out;
    if (pm_req_encode(q, &b1, &e) || pm_req_decode(b1.p, b1.len, &A, &out,
                                                   &e))
        fail_msg("%s: %s", pm_op_name(q->op), e.msg);
    assert_int_equal(pm_req_encode(&out, &b2, &e), 0);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.p, b2.p, b1.len);
    assert_true(out.op == q->op && out.at_ms == q->at_ms);
    same_str(out.permit, q->permit);
    same_str(out.key, q->key);
    same_str(out.holder, q->holder);
    assert_int_equal(out.nlines, q->nlines);
    same_lines(out.lines, q->lines, q->nlines);
    buf_free(&b1);
    buf_free(&b2);
}

static void roundtrip_ans(const pm_ans *a)
{
    buf_t b1, b2;
    buf_init(&b1, 1u << 20);
    buf_init(&b2, 1u << 20);
    err_t e;
    pm_ans out;
    if (pm_ans_encode(a, &b1, &e) || pm_ans_decode(b1.p, b1.len, &A, &out,
                                                   &e))
        fail_msg("%s: %s", pm_code_name(a->code), e.msg);
    assert_int_equal(pm_ans_encode(&out, &b2, &e), 0);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.p, b2.p, b1.len);
    assert_true(out.op == a->op && out.code == a->code &&
                out.from_ms == a->from_ms && out.to_ms == a->to_ms &&
                out.at_ms == a->at_ms);
    same_str(out.req, a->req);
    same_str(out.permit, a->permit);
    same_str(out.key, a->key);
    same_str(out.text, a->text);
    same_str(out.status, a->status);
    same_str(out.kind, a->kind);
    same_str(out.usage, a->usage);
    same_str(out.rsv, a->rsv);
    assert_int_equal(out.nleft, a->nleft);
    same_lines(out.left, a->left, a->nleft);
    buf_free(&b1);
    buf_free(&b2);
}

/* ---- names, ids, amounts ---- */

static void test_names(void **state)
{
    (void)state;
    const char *ops[] = {NULL, "verify", "reserve", "confirm", "cancel", "return"};
    pm_op op;
    for (int i = 1; i < PM_OP_END; i++) {
        assert_string_equal(pm_op_name((pm_op)i), ops[i]);
        assert_int_equal(pm_op_parse(ops[i], &op), 0);
        assert_int_equal(op, i);
    }
    assert_int_equal(PM_OP_CANCEL, 4); /* stored: never renumbered */
    assert_int_equal(PM_OP_RETURN, 5);
    assert_string_equal(pm_op_name((pm_op)0), "?");
    assert_string_equal(pm_op_name(PM_OP_END), "?");
    assert_int_equal(pm_op_parse("Verify", &op), ERR_CODE);
    assert_int_equal(pm_op_parse("", &op), ERR_CODE);
    assert_int_equal(pm_op_parse(NULL, &op), ERR_CODE);
    const char *codes[] = {"ok", "unknown-permit", "revoked", "suspended",
        "expired", "not-yet-valid", "exhausted", "insufficient",
        "unknown-line", "holder-mismatch", "key-reuse", "no-reservation",
        "reservation-expired", "reservation-cancelled", "already-confirmed",
        "bad-request", "forged", "home-unreachable"};
    assert_int_equal(sizeof codes / sizeof codes[0], PM_C_END);
    pm_code c;
    for (int i = 0; i < PM_C_END; i++) {
        assert_string_equal(pm_code_name((pm_code)i), codes[i]);
        assert_int_equal(pm_code_parse(codes[i], &c), 0);
        assert_int_equal(c, i);
        assert_true(i == PM_C_OK || *pm_code_why((pm_code)i));
    }
    assert_string_equal(pm_code_why(PM_C_OK), "");
    assert_string_equal(pm_code_name(PM_C_END), "?");
    assert_string_equal(pm_code_why(PM_C_END), "?");
    assert_int_equal(pm_code_parse("OK", &c), ERR_CODE);
    assert_int_equal(pm_code_parse(NULL, &c), ERR_CODE);
}

static void test_id_check(void **state)
{
    (void)state;
    char max[PM_ID_MAX + 2] = "SN-";
    memset(max + 3, '9', PM_ID_MAX - 3);
    const char *good[] = {PID, "SN-1", "CQ-A_B-C", "GD--", max};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (pm_id_check(good[i], NULL))
            fail_msg("'%s' refused", good[i]);
    char r[3];
    pm_id_region(PID, r);
    assert_string_equal(r, "CQ");
    const struct {
        const char *id, *needle;
    } bad[] = {
        {"", "4 to 44 characters"}, {"CQ-", "4 to 44"},
        {"cq-1", "must start with the home region"},
        {"C1-1", "must start"}, {"CQ_1", "must start"},
        {"-CQ1", "must start"}, {"CQ-ab", "only A-Z, 0-9"},
        {"CQ-1 2", "only A-Z"}, {"CQ-1.2", "only A-Z"},
        {"CQ-\xe9", "only A-Z"},
    };
    err_t e;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(pm_id_check(bad[i].id, &e), ERR_INVALID);
        if (!strstr(e.msg, bad[i].needle) || strncmp(e.msg, "permit id '",
                                                     11))
            fail_msg("'%s': \"%s\" lacks \"%s\"", bad[i].id, e.msg,
                     bad[i].needle);
    }
    max[PM_ID_MAX] = '9'; /* 45 characters */
    assert_int_equal(pm_id_check(max, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "4 to 44"));
    assert_int_equal(pm_id_check(NULL, &e), ERR_INVALID);
    assert_string_equal(e.msg, "permit id: missing");
}

static void test_amounts(void **state)
{
    (void)state;
    const struct {
        const char *s;
        uint64_t v;
        const char *fmt;
    } good[] = {
        {"12.5", 12500, "12.5"}, {"0.003", 3, "0.003"}, {"0", 0, "0"},
        {"1000000.00", 1000000000, "1000000"}, {"7", 7000, "7"},
        {"0.1", 100, "0.1"}, {"0.120", 120, "0.12"}, {"007.5", 7500, "7.5"},
        {"18446744073709551", 18446744073709551000ull, "18446744073709551"},
        {"18446744073709551.615", UINT64_MAX, "18446744073709551.615"},
    };
    err_t e;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t v = 1;
        char f[32];
        if (pm_amount_parse(good[i].s, &v, &e) || v != good[i].v)
            fail_msg("'%s': %llu", good[i].s, (unsigned long long)v);
        pm_amount_fmt(v, f);
        assert_string_equal(f, good[i].fmt);
    }
    const char *bad[] = {"1.", "1.2345", ".5", "", "-1", "+1", "1e3",
        "1,000", " 1", "1 ", "1.2.3", "0x10", "abc",
        "18446744073709552", "18446744073709559",     /* wrapped once */
        "18446744073709551.616",
        "99999999999999999999999", "184467440737095516150"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 42;
        if (pm_amount_parse(bad[i], &v, &e) != ERR_INVALID || v != 42)
            fail_msg("'%s' read as %llu", bad[i], (unsigned long long)v);
        assert_non_null(strstr(e.msg, "amount '"));
    }
    uint64_t v;
    assert_int_equal(pm_amount_parse(NULL, &v, &e), ERR_INVALID);
    assert_int_equal(pm_amount_parse("18446744073709552", &v, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "more than 18446744073709551.615"));
}

/* ---- round trips and pinned bytes ---- */

static void test_roundtrip_ops(void **state)
{
    (void)state;
    pm_req q = reserve();
    roundtrip_req(&q);
    q.op = PM_OP_CONFIRM;
    roundtrip_req(&q);
    q.nlines = 0; /* confirm and cancel may leave the amounts out */
    roundtrip_req(&q);
    q.op = PM_OP_CANCEL;
    q.holder = NULL;
    roundtrip_req(&q);
    q = (pm_req){.op = PM_OP_VERIFY, .permit = "SN-7", .at_ms = 1};
    roundtrip_req(&q);
    q.key = "MV-1";
    q.holder = "Chongqing Trade Co. 重庆";
    q.nlines = 1;
    q.lines[0] = (pm_amount){0, 1, 0};
    roundtrip_req(&q);
    q = reserve(); /* every cap filled */
    static char key[PM_KEY_MAX + 1], holder[PM_STR_MAX + 1];
    memset(key, '~', PM_KEY_MAX);
    memset(holder, 'h', PM_STR_MAX);
    q.key = key;
    q.holder = holder;
    q.nlines = PM_LINES_MAX;
    for (uint32_t i = 0; i < PM_LINES_MAX; i++)
        q.lines[i] = (pm_amount){i == 63 ? UINT32_MAX : i, UINT64_MAX, i};
    q.at_ms = UINT64_MAX;
    roundtrip_req(&q);
}

static void test_roundtrip_answers(void **state)
{
    (void)state;
    pm_ans a = answer();
    roundtrip_ans(&a);
    for (int c = 0; c < PM_C_END; c++) {
        a = answer();
        a.code = (pm_code)c;
        a.text = c == PM_C_OK ? NULL : pm_code_why((pm_code)c);
        roundtrip_ans(&a);
    }
    a = (pm_ans){.req = ID1, .op = PM_OP_VERIFY, .permit = PID,
                 .code = PM_C_UNKNOWN, .text = "no such permit", .at_ms = 9};
    roundtrip_ans(&a);
    a.code = PM_C_BAD_REQUEST;
    roundtrip_ans(&a);
    a = (pm_ans){.req = ID1, .op = PM_OP_CONFIRM, .permit = PID, .key = "K",
                 .code = PM_C_OK, .status = "exhausted", .rsv = "confirmed",
                 .at_ms = 9};
    const char *st[] = {"valid", "suspended", "revoked", "exhausted",
                        "expired"};
    for (int i = 0; i < 5; i++) {
        a.status = st[i];
        roundtrip_ans(&a);
    }
    const char *rsv[] = {"reserved", "confirmed", "cancelled", "expired"};
    for (int i = 0; i < 4; i++) {
        a.rsv = rsv[i];
        roundtrip_ans(&a);
    }
    static char text[PM_TEXT_MAX + 1];
    memset(text, 't', PM_TEXT_MAX);
    a = answer();
    a.text = text;
    a.nleft = PM_LINES_MAX;
    for (uint32_t i = 0; i < PM_LINES_MAX; i++)
        a.left[i] = (pm_amount){i, UINT64_MAX, UINT64_MAX};
    roundtrip_ans(&a);
}

#define PUT(s) (memcpy(want + n, s, sizeof s - 1), n += sizeof s - 1)

/* The bytes written out by hand from the key lists of pmwire.h, so the
 * forms cannot drift with the code. */
static void test_wire_pinned(void **state)
{
    (void)state;
    pm_req q = {.op = PM_OP_RESERVE, .permit = "CQ-P1", .key = "K1",
                .nlines = 1, .holder = "D1", .at_ms = 300};
    q.lines[0] = (pm_amount){1, 12500, 0};
    unsigned char want[160];
    size_t n = 0;
    PUT("\x87" "\xa1v" "\x01" "\xa2op" "\xa7reserve");
    PUT("\xa6permit" "\xa5" "CQ-P1" "\xa3key" "\xa2K1");
    PUT("\xa5lines" "\x91\x93" "\x01" "\xcd\x30\xd4" "\x00"); /* 12500 */
    PUT("\xa6holder" "\xa2" "D1" "\xa2" "at" "\xcd\x01\x2c");
    buf_t b;
    buf_init(&b, 4096);
    assert_int_equal(pm_req_encode(&q, &b, NULL), 0);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.p, want, n);
    pm_req out;
    assert_int_equal(pm_req_decode(want, n, &A, &out, NULL), 0);
    assert_true(out.lines[0].qty == 12500 && out.at_ms == 300);
    pm_ans a = {.req = ID1, .op = PM_OP_VERIFY, .permit = "CQ-P1",
                .code = PM_C_UNKNOWN, .text = "gone", .at_ms = 5};
    n = 0;
    PUT("\x87" "\xa1v" "\x01" "\xa3req" "\xba" ID1 "\xa2op" "\xa6verify");
    PUT("\xa6permit" "\xa5" "CQ-P1" "\xa4" "code" "\xae" "unknown-permit");
    PUT("\xa4text" "\xa4gone" "\xa2" "at" "\x05");
    buf_reset(&b);
    assert_int_equal(pm_ans_encode(&a, &b, NULL), 0);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.p, want, n);
    buf_free(&b);
}

/* ---- hand-built wire forms for the reader's refusals ---- */

static void pstr(const char *s)
{
    msgpack_pack_str(&PK, strlen(s));
    msgpack_pack_str_body(&PK, s, strlen(s));
}

static void praw(const char *p, size_t n)
{
    msgpack_sbuffer_write(&SB, p, n);
}

/* bytes of a literal, NULs inside included */
#define LIT(s) s, sizeof s - 1

/* A fresh map of nkeys: v, op, permit, key; the caller adds the rest. */
static void head(uint32_t nkeys, const char *op)
{
    msgpack_sbuffer_clear(&SB);
    msgpack_pack_map(&PK, nkeys);
    pstr("v");
    msgpack_pack_uint8(&PK, 1);
    pstr("op");
    pstr(op);
    pstr("permit");
    pstr(PID);
    pstr("key");
    pstr("K1");
}

/* lines: [[line, qty, value], ...] from n triples */
static void plines(uint32_t n, const uint64_t (*l)[3])
{
    pstr("lines");
    msgpack_pack_array(&PK, n);
    for (uint32_t i = 0; i < n; i++) {
        msgpack_pack_array(&PK, 3);
        for (int k = 0; k < 3; k++)
            msgpack_pack_uint64(&PK, l[i][k]);
    }
}

static void pat(uint64_t at)
{
    pstr("at");
    msgpack_pack_uint64(&PK, at);
}

enum { REQ, ANS };

/* Reading p[0..n) as form (REQ or ANS) gives code and a message holding
 * needle. */
static void expect(int form, const void *p, size_t n, int code,
                   const char *needle)
{
    pm_req q;
    pm_ans x;
    err_t e;
    err_clear(&e);
    int rc = form == REQ ? pm_req_decode(p, n, &A, &q, &e)
                         : pm_ans_decode(p, n, &A, &x, &e);
    if (rc != code || !strstr(e.msg, needle))
        fail_msg("decode: %d \"%s\", want %d with \"%s\"", rc, e.msg, code,
                 needle);
}

static const uint64_t L1[][3] = {{1, 5, 0}};

static void test_reader_keys(void **state)
{
    (void)state;
    head(5, "cancel");
    pat(5);
    expect(REQ, SB.data, SB.size, 0, "");
    expect(REQ, SB.data, SB.size - 1, ERR_SYNTAX, "permit request: key "
           "\"at\": truncated");
    msgpack_pack_nil(&PK);
    expect(REQ, SB.data, SB.size, ERR_SYNTAX, "permit request: 1 trailing "
           "bytes after the map");
    head(6, "cancel");
    pstr("zz");
    pstr("x");
    pat(5);
    expect(REQ, SB.data, SB.size, ERR_INVALID, "unknown key \"zz\"");
    head(6, "cancel");
    pat(5);
    pstr("holder");
    pstr("x");
    expect(REQ, SB.data, SB.size, ERR_INVALID, "key \"holder\" out of order "
           "(after \"at\")");
    head(6, "cancel");
    pat(5);
    pat(6);
    expect(REQ, SB.data, SB.size, ERR_INVALID, "key \"at\" repeated");
    head(5, "cancel");
    pstr("v");
    msgpack_pack_uint8(&PK, 1);
    expect(REQ, SB.data, SB.size, ERR_INVALID, "key \"v\" out of order");
    /* required keys left out */
    msgpack_sbuffer_clear(&SB);
    msgpack_pack_map(&PK, 3);
    pstr("v");
    msgpack_pack_uint8(&PK, 1);
    pstr("permit");
    pstr(PID);
    pat(5);
    expect(REQ, SB.data, SB.size, ERR_INVALID, "permit request: key \"op\": "
           "required");
    head(4, "verify");
    expect(REQ, SB.data, SB.size, ERR_INVALID, "key \"at\": required");
    msgpack_sbuffer_clear(&SB);
    msgpack_pack_map(&PK, 5);
    praw(LIT("\xa1v\x01\xa3req\xba" ID1 "\xa2op\xa6verify"));
    pstr("permit");
    pstr(PID);
    pat(5);
    expect(ANS, SB.data, SB.size, ERR_INVALID, "permit answer: key \"code\": "
           "required");
}

static void test_reader_version(void **state)
{
    (void)state;
    expect(REQ, LIT("\x81\xa1v\x02"), ERR_UNSUPPORTED, "permit request: "
           "key \"v\": version 2 not supported; this node reads "
           "version 1");
    expect(ANS, LIT("\x82\xa1v\x02\xa2op\xa4lend"), ERR_UNSUPPORTED,
           "permit answer: key \"v\": version 2 not supported");
    expect(REQ, LIT("\x81\xa1v\xcc\x01"), ERR_SYNTAX, "shortest");
    expect(REQ, LIT("\x81\xa2op\x01"), ERR_INVALID, "first key \"op\"");
    expect(REQ, LIT("\x80"), ERR_INVALID, "empty map");
    expect(REQ, LIT("\x93\x01\x02\x03"), ERR_INVALID, "expected a map");
    expect(REQ, LIT(""), ERR_SYNTAX, "truncated");
    expect(ANS, NULL, 0, ERR_SYNTAX, "truncated");
    expect(REQ, LIT("\xde\x00\x05\xa1v\x01"), ERR_SYNTAX, "a map not in its "
           "shortest msgpack form (0xde)");
    expect(REQ, LIT("\x89\xa1v\x01"), ERR_INVALID, "9 keys, version 1 has 8 "
           "at most");
    expect(ANS, LIT("\xde\x00\x10\xa1v\x01"), ERR_INVALID, "16 keys, "
           "version 1 has 15 at most");
    static unsigned char big[PM_MAX_BYTES + 1];
    expect(REQ, big, sizeof big, ERR_TOOBIG, "permit request: 16385 bytes, "
           "16384 at most");
    expect(ANS, big, sizeof big, ERR_TOOBIG, "permit answer: 16385 bytes");
}

/* Forms msgpack allows but the canonical writer never makes, and values
 * refused before any field rule. */
static void test_reader_forms(void **state)
{
    (void)state;
    const struct {
        const char *key, *bytes;
        size_t n;
        int code;
        const char *needle;
    } c[] = {
        {"at", "\xcc\x05", 2, ERR_SYNTAX, "key \"at\": an unsigned integer "
         "not in its shortest msgpack form (0xcc)"},
        {"at", "\xcf\x00\x00\x00\x00\xff\xff\xff\xff", 9, ERR_SYNTAX,
         "shortest"},
        {"at", "\x00", 1, ERR_INVALID, "key \"at\": 0 (leave the key out"},
        {"at", "\xd0\x05", 2, ERR_INVALID, "expected an unsigned integer, "
         "got an integer"},
        {"at", "\xcb\x40\x14\0\0\0\0\0\0", 9, ERR_INVALID, "got a float"},
        {"holder", "\xd9\x01x", 3, ERR_SYNTAX, "a string not in its "
         "shortest"},
        {"holder", "\xa3x\0y", 4, ERR_INVALID, "contains a NUL byte"},
        {"holder", "\xc4\x01x", 3, ERR_INVALID, "expected a string, got bin"},
        {"holder", "\xc0", 1, ERR_INVALID, "got nil"},
        {"holder", "\xa0", 1, ERR_INVALID, "key \"holder\": empty"},
        {"lines", "\x90", 1, ERR_INVALID, "leave an empty one out"},
        {"lines", "\x91\x92\x01\x01", 4, ERR_INVALID, "key \"lines\" entry "
         "1: 2 entries, want 3"},
        {"lines", "\x91\x94\x01\x01\x01\x01", 6, ERR_TOOBIG, "entry 1: 4 "
         "entries, more than 3"},
        {"lines", "\x91\x93\xcd\x00\x01\x01\x00", 7, ERR_SYNTAX, "entry 1: "
         "an unsigned integer not in its shortest"},
        {"lines", "\x91\x93\xcf\x00\x00\x00\x01\x00\x00\x00\x00\x01\x00", 13,
         ERR_INVALID, "entry 1: 4294967296, more than 4294967295"},
        {"lines", "\xdc\x00\x01\x93\x01\x01\x00", 7, ERR_SYNTAX, "an array "
         "not in its shortest"},
        {"lines", "\x92\x93\x01\x01\x00", 5, ERR_INVALID, "key \"lines\" "
         "entry 2: expected an array, got a string"}, /* "at" came next */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        head(6, "verify");
        pstr(c[i].key);
        praw(c[i].bytes, c[i].n);
        pat(5);
        expect(REQ, SB.data, SB.size, c[i].code, c[i].needle);
    }
    head(4, "lend");
    expect(REQ, SB.data, SB.size, ERR_INVALID, "key \"op\": unknown "
           "operation \"lend\"");
    head(4, "reservation-cancelled!!!!!!!!!!!!!");
    expect(REQ, SB.data, SB.size, ERR_TOOBIG, "key \"op\": 34 bytes, more "
           "than 31");
    msgpack_sbuffer_clear(&SB);
    msgpack_pack_map(&PK, 2);
    praw(LIT("\xa1v\x01\xa3req\xbb" ID1 "X"));
    expect(ANS, SB.data, SB.size, ERR_TOOBIG, "key \"req\": 27 bytes, more "
           "than 26");
    msgpack_sbuffer_clear(&SB);
    msgpack_pack_map(&PK, 5);
    praw(LIT("\xa1v\x01\xa3req\xba" ID1 "\xa2op\xa6verify\xa6permit\xa4"
             "CQ-1"));
    praw(LIT("\xa4" "code\xa2no"));
    expect(ANS, SB.data, SB.size, ERR_INVALID, "key \"code\": unknown code "
           "\"no\"");
}

/* 65 lines in the wire form: refused before any is read. */
static void test_reader_caps(void **state)
{
    (void)state;
    head(6, "reserve");
    pstr("lines");
    msgpack_pack_array(&PK, PM_LINES_MAX + 1);
    expect(REQ, SB.data, SB.size, ERR_TOOBIG, "permit request: key \"lines\":"
           " 65 entries, more than 64");
    char s[PM_TEXT_MAX + 2];
    memset(s, 'k', sizeof s - 1);
    s[PM_KEY_MAX + 1] = '\0';
    msgpack_sbuffer_clear(&SB);
    msgpack_pack_map(&PK, 4);
    praw(LIT("\xa1v\x01\xa2op\xa6verify\xa6permit\xa4" "CQ-1\xa3key"));
    pstr(s);
    expect(REQ, SB.data, SB.size, ERR_TOOBIG, "key \"key\": 71 bytes, more "
           "than 70");
    s[PM_TEXT_MAX + 1] = '\0';
    s[PM_KEY_MAX + 1] = 'k';
    msgpack_sbuffer_clear(&SB);
    msgpack_pack_map(&PK, 7);
    praw(LIT("\xa1v\x01\xa3req\xba" ID1 "\xa2op\xa6verify\xa6permit\xa4"
             "CQ-1"));
    praw(LIT("\xa4" "code\xa2ok\xa4text"));
    pstr(s);
    expect(ANS, SB.data, SB.size, ERR_TOOBIG, "key \"text\": 513 bytes, more "
           "than 512");
}

/* Field rules reached through the reader name the key and the entry. */
static void test_reader_rules(void **state)
{
    (void)state;
    const uint64_t zero[][3] = {{1, 5, 0}, {2, 0, 0}};
    head(6, "reserve");
    plines(2, zero);
    pat(5);
    expect(REQ, SB.data, SB.size, ERR_INVALID, "permit request: key "
           "\"lines\" entry 2: line 2 draws nothing");
    const uint64_t twice[][3] = {{0, 5, 0}, {4, 0, 1}, {0, 1, 1}};
    head(6, "reserve");
    plines(3, twice);
    pat(5);
    expect(REQ, SB.data, SB.size, ERR_INVALID, "permit request: key "
           "\"lines\" entry 3: line 0 appears twice (entry 1 too)");
    msgpack_sbuffer_clear(&SB);
    msgpack_pack_map(&PK, 5);
    praw(LIT("\xa1v\x01\xa2op\xa7reserve\xa6permit\xa4" "cq-1"));
    plines(1, L1);
    pat(5);
    expect(REQ, SB.data, SB.size, ERR_INVALID, "permit request: key "
           "\"permit\": permit id 'cq-1': must start");
    msgpack_sbuffer_clear(&SB);
    msgpack_pack_map(&PK, 5);
    praw(LIT("\xa1v\x01\xa2op\xa7reserve\xa6permit\xa4" "CQ-1"));
    plines(1, L1);
    pat(5);
    expect(REQ, SB.data, SB.size, ERR_INVALID, "permit request: key \"key\": "
           "required for reserve");
    head(5, "reserve");
    pat(5);
    expect(REQ, SB.data, SB.size, ERR_INVALID, "key \"lines\": required for "
           "reserve");
}

/* ---- field rules ---- */

/* rc and e of a field rule: ERR_INVALID with what and needle. */
static void invalid(int rc, const err_t *e, const char *what,
                    const char *needle)
{
    if (rc != ERR_INVALID || !strstr(e->msg, needle) ||
        strncmp(e->msg, what, strlen(what)))
        fail_msg("validate: %d \"%s\", want INVALID with \"%s\"", rc,
                 e->msg, needle);
}

/* Refused by the rules, and so by the writer, which leaves out alone. */
static void bad_req(const pm_req *q, const char *needle)
{
    err_t e;
    err_clear(&e);
    invalid(pm_req_validate(q, &e), &e, "permit request: ", needle);
    buf_t b;
    buf_init(&b, 1 << 16);
    buf_adds(&b, "keep");
    assert_int_equal(pm_req_encode(q, &b, NULL), ERR_INVALID);
    assert_string_equal(b.p, "keep");
    buf_free(&b);
}

static void bad_ans(const pm_ans *a, const char *needle)
{
    err_t e;
    err_clear(&e);
    invalid(pm_ans_validate(a, &e), &e, "permit answer: ", needle);
    buf_t b;
    buf_init(&b, 1 << 16);
    assert_int_equal(pm_ans_encode(a, &b, NULL), ERR_INVALID);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_rules_req(void **state)
{
    (void)state;
    pm_req q = reserve();
    assert_int_equal(pm_req_validate(&q, NULL), 0);
    assert_int_equal(pm_req_validate(NULL, NULL), ERR_INVALID);
    q.op = (pm_op)0;
    bad_req(&q, "key \"op\": unknown operation 0");
    q.op = PM_OP_END;
    bad_req(&q, "key \"op\": unknown operation 6");
    q = reserve();
    q.permit = NULL;
    bad_req(&q, "key \"permit\": required");
    q.permit = "CQ-ab";
    bad_req(&q, "key \"permit\": permit id 'CQ-ab'");
    q = reserve();
    q.at_ms = 0;
    bad_req(&q, "key \"at\": required");
    for (pm_op op = PM_OP_RESERVE; op <= PM_OP_CANCEL; op++) {
        q = reserve();
        q.op = op;
        q.key = NULL;
        char want[64];
        snprintf(want, sizeof want, "key \"key\": required for %s",
                 pm_op_name(op));
        bad_req(&q, want);
    }
    q.op = PM_OP_VERIFY; /* a verify may leave the key out */
    assert_int_equal(pm_req_validate(&q, NULL), 0);
    const struct {
        const char *key, *needle;
    } keys[] = {
        {"", "key \"key\": empty"}, {"MV 1", "byte 3 (0x20) is not "
         "printable ASCII without spaces"}, {"MV\t1", "byte 3 (0x09)"},
        {"重庆", "byte 1 (0xe9)"}, {"a\x7f", "byte 2 (0x7f)"},
    };
    q = reserve();
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        q.key = keys[i].key;
        bad_req(&q, keys[i].needle);
    }
    char s[PM_KEY_MAX + 2];
    memset(s, 'k', sizeof s - 1);
    s[PM_KEY_MAX + 1] = '\0';
    q.key = s;
    bad_req(&q, "key \"key\": more than 70 bytes");
    q.key = "K";
    s[PM_STR_MAX] = 'x';
    q.holder = s;
    bad_req(&q, "key \"holder\": more than 70 bytes");
    q.holder = "Trade\x01";
    bad_req(&q, "key \"holder\": byte 6 (0x01) is not printable UTF-8");
    q.holder = "\xc2\x85";
    bad_req(&q, "byte 1 (0xc2)"); /* C1 NEL */
    q.holder = "ok\xe4\xb8";
    bad_req(&q, "byte 3 (0xe4)"); /* cut short */
    q.holder = "\xed\xa0\x80";
    bad_req(&q, "byte 1 (0xed)"); /* surrogate */
    q.holder = "";
    bad_req(&q, "key \"holder\": empty");
}

static void test_rules_lines(void **state)
{
    (void)state;
    pm_req q = reserve();
    q.nlines = 0;
    bad_req(&q, "key \"lines\": required for reserve");
    q.op = PM_OP_CONFIRM;
    assert_int_equal(pm_req_validate(&q, NULL), 0);
    q = reserve();
    q.lines[1].value = 0;
    bad_req(&q, "key \"lines\" entry 2: line 3 draws nothing");
    q = reserve();
    q.op = PM_OP_CANCEL; /* amounts a confirm or cancel states draw too */
    q.lines[0].qty = 0;
    bad_req(&q, "key \"lines\" entry 1: line 1 draws nothing");
    q = reserve();
    q.lines[1].line = 1;
    bad_req(&q, "key \"lines\" entry 2: line 1 appears twice (entry 1 too)");
    q = reserve();
    q.nlines = PM_LINES_MAX + 1;
    bad_req(&q, "key \"lines\": 65 lines, more than 64");
    q.nlines = PM_LINES_MAX;
    for (uint32_t i = 0; i < PM_LINES_MAX; i++)
        q.lines[i] = (pm_amount){i, 0, 1};
    assert_int_equal(pm_req_validate(&q, NULL), 0);
}

static void test_rules_ans(void **state)
{
    (void)state;
    pm_ans a = answer();
    assert_int_equal(pm_ans_validate(&a, NULL), 0);
    assert_int_equal(pm_ans_validate(NULL, NULL), ERR_INVALID);
    a.req = NULL;
    bad_ans(&a, "permit answer: key \"req\": required");
    a.req = "01ARYZ6S41000000000000000I";
    bad_ans(&a, "key \"req\": message id: character 26");
    a.req = "01ARYZ6S4100000000000000";
    bad_ans(&a, "key \"req\": message id: 24 characters, want 26");
    a = answer();
    a.op = PM_OP_END;
    bad_ans(&a, "key \"op\": unknown operation 6");
    a = answer();
    a.permit = "XX";
    bad_ans(&a, "key \"permit\": permit id 'XX'");
    a = answer();
    a.code = PM_C_END;
    bad_ans(&a, "key \"code\": unknown code 18");
    a = answer();
    a.code = PM_C_OK;
    bad_ans(&a, "key \"text\": not used when the code is ok");
    a = answer();
    a.text = NULL;
    bad_ans(&a, "key \"text\": required with code insufficient");
    a.text = "bell\a";
    bad_ans(&a, "key \"text\": byte 5 (0x07)");
    a = answer();
    a.status = "active";
    bad_ans(&a, "key \"status\": 'active' is not valid, suspended");
    a.status = NULL;
    bad_ans(&a, "key \"status\": required with code insufficient");
    a.code = PM_C_UNKNOWN;
    assert_int_equal(pm_ans_validate(&a, NULL), 0);
    a.code = PM_C_BAD_REQUEST;
    assert_int_equal(pm_ans_validate(&a, NULL), 0);
    a = answer();
    a.rsv = "held";
    bad_ans(&a, "key \"rsv\": 'held' is not reserved, confirmed");
    a = answer();
    a.key = "a b";
    bad_ans(&a, "key \"key\": byte 2 (0x20)");
    a = answer();
    char s[PM_STR_MAX + 2];
    memset(s, 'u', sizeof s - 1);
    s[PM_STR_MAX + 1] = '\0';
    a.usage = s;
    bad_ans(&a, "key \"usage\": more than 70 bytes");
    a = answer();
    a.kind = "";
    bad_ans(&a, "key \"kind\": empty");
    a = answer();
    a.left[2].line = 0;
    bad_ans(&a, "key \"lines\" entry 3: line 0 appears twice (entry 1 too)");
    a = answer();
    a.nleft = PM_LINES_MAX + 1;
    bad_ans(&a, "key \"lines\": 65 lines");
    a = answer();
    a.at_ms = 0;
    bad_ans(&a, "key \"at\": required");
}

/* A buffer too small leaves what it held. */
static void test_encode_full_buffer(void **state)
{
    (void)state;
    pm_ans a = answer();
    buf_t b;
    buf_init(&b, 40);
    buf_adds(&b, "keep");
    err_t e;
    assert_int_equal(pm_ans_encode(&a, &b, &e), ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "permit answer of " PID ": cannot write "
                           "it: buffer full (40 bytes at most)"));
    assert_int_equal(b.len, 4);
    assert_string_equal(b.p, "keep");
    pm_req q = reserve();
    assert_int_equal(pm_req_encode(&q, &b, &e), ERR_TOOBIG);
    assert_string_equal(b.p, "keep");
    buf_free(&b);
}

/* Batches: pinned bytes, round trip, and the reader's refusals. */
static void test_batch(void **state)
{
    (void)state;
    err_t e;
    buf_t b;
    buf_init(&b, 1u << 20);
    pm_item in[2] = {{(const unsigned char *)"\x81", 1},
                     {(const unsigned char *)"ab", 2}}, out[4];
    size_t k = 9;
    assert_int_equal(pm_batch_encode(in, 2, &b, &e), 0);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.p, "\x92\xc4\x01\x81\xc4\x02" "ab", 8);
    assert_int_equal(pm_batch_split(b.p, b.len, out, 4, &k, &e), 0);
    assert_int_equal(k, 2);
    assert_int_equal(out[1].n, 2);
    assert_memory_equal(out[1].p, "ab", 2);
    assert_int_equal(pm_batch_split(b.p, b.len, out, 1, &k, &e), ERR_TOOBIG);
    assert_int_equal(k, 0);
    assert_non_null(strstr(e.msg, "permit batch"));
    assert_int_equal(pm_batch_split(b.p, b.len - 1, out, 4, &k, &e),
                     ERR_SYNTAX);
    assert_int_equal(pm_batch_split("\x90", 1, out, 4, &k, &e) < 0, 1);
    assert_int_equal(pm_batch_split("\x91\xa1x", 3, out, 4, &k, &e) < 0, 1);
    assert_int_equal(pm_batch_split("\x92\xc4\x01x\xc4\x01y\x00", 8, out,
                                    4, &k, &e) < 0, 1);
    assert_int_equal(pm_batch_encode(in, 0, &b, &e), ERR_INVALID);
    pm_item empty = {(const unsigned char *)"", 0};
    b.len = 0;
    assert_int_equal(pm_batch_encode(&empty, 1, &b, &e), ERR_TOOBIG);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

/* A request encoded, batched with another and split: each item reads
 * back to the same request, its id kept. */
static void test_batch_requests(void **state)
{
    (void)state;
    err_t e;
    buf_t one, two, b;
    buf_init(&one, PM_MAX_BYTES), buf_init(&two, PM_MAX_BYTES);
    buf_init(&b, 1u << 20);
    pm_req q = reserve(), back;
    q.id = ID1;
    assert_int_equal(pm_req_encode(&q, &one, &e), 0);
    q.key = "DECL-2";
    assert_int_equal(pm_req_encode(&q, &two, &e), 0);
    pm_item in[2] = {{(const unsigned char *)one.p, one.len},
                     {(const unsigned char *)two.p, two.len}}, out[2];
    size_t k;
    assert_int_equal(pm_batch_encode(in, 2, &b, &e), 0);
    assert_int_equal(pm_batch_split(b.p, b.len, out, 2, &k, &e), 0);
    assert_int_equal(pm_req_decode(out[1].p, out[1].n, &A, &back, &e), 0);
    assert_string_equal(back.id, ID1);
    assert_string_equal(back.key, "DECL-2");
    assert_int_equal(pm_req_decode(out[0].p, out[0].n, &A, &back, &e), 0);
    assert_string_equal(back.key, reserve().key);
    buf_free(&one), buf_free(&two), buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_id_check),
        cmocka_unit_test(test_amounts),
        cmocka_unit_test(test_roundtrip_ops),
        cmocka_unit_test(test_roundtrip_answers),
        cmocka_unit_test(test_wire_pinned),
        cmocka_unit_test(test_reader_keys),
        cmocka_unit_test(test_reader_version),
        cmocka_unit_test(test_reader_forms),
        cmocka_unit_test(test_reader_caps),
        cmocka_unit_test(test_reader_rules),
        cmocka_unit_test(test_rules_req),
        cmocka_unit_test(test_rules_lines),
        cmocka_unit_test(test_rules_ans),
        cmocka_unit_test(test_encode_full_buffer),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_batch_requests),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
