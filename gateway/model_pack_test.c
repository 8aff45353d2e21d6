/* Unit tests for model_pack: round trip, the [version, map] envelope,
 * trailing/malformed data, unknown keys and wrong types. Hand-made inputs
 * are built with msgpack-c's own packer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "model_pack.h"
#include "model_version.h"

static int setup(void **state)
{
    static arena_t a;
    arena_init(&a, 16u << 20);
    *state = &a;
    return 0;
}

static int teardown(void **state)
{
    arena_free(*state);
    return 0;
}

static void pk_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* Unpack data and expect rc, with part in the message when rc != 0. */
static model_record *unpack_as(arena_t *a, const char *data, size_t len,
                               int want_rc, const char *part)
{
    model_record *r = NULL;
    err_t e;
    err_clear(&e);
    int rc = model_unpack(data, len, a, &r, &e);
    if (rc != want_rc)
        fail_msg("rc %d (%s), want %d", rc, e.msg, want_rc);
    if (rc && (!strstr(e.msg, part) || e.code != rc))
        fail_msg("message '%s' (code %d) lacks '%s'", e.msg, e.code, part);
    if (rc)
        assert_null(r);
    return r;
}

/* Wraps a one-entry map {key: <value written by fn>} as [1, map]. */
typedef void (*val_fn)(msgpack_packer *pk);

static model_record *unpack_one(arena_t *a, const char *key, val_fn fn,
                               int want_rc, const char *part)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint32(&pk, MODEL_VERSION);
    msgpack_pack_map(&pk, 1);
    pk_str(&pk, key);
    fn(&pk);
    char data[256]; /* copied so a failing check leaks nothing */
    size_t n = sb.size;
    assert_true(n <= sizeof data);
    memcpy(data, sb.data, n);
    msgpack_sbuffer_destroy(&sb);
    return unpack_as(a, data, n, want_rc, part);
}

static model_record *full(arena_t *a)
{
    err_t e;
    model_record *r = model_record_new(a);
    r->kind = "declaration";
    r->source.format = "xml";
    r->document.number = "D-77";
    r->route.origin = "青岛";
    r->customs.office = "CNTAO";
    r->totals.gross_kg = (model_num){0.1, 1};
    r->totals.packages = (model_num){-5, 1};
    r->totals.goods_items = (model_num){4294967296.0, 1};
    model_party *p = model_array_append(a, r, model_field_find("parties"), &e);
    p->role = "declarant";
    p->email = "x@example.cn";
    model_goods *g = model_array_append(a, r, model_field_find("goods"), &e);
    g->seq = (model_num){1, 1};
    g->description = "铝箔 \"foil\"";
    model_strlist_add(a, &g->equipment_refs, "C1", 2, &e);
    model_strlist_add(a, &g->equipment_refs, "C2", 2, &e);
    model_array_append(a, r, model_field_find("goods"), &e);
    const char *w = "check_digits: container number 'TGHU8765437' fails "
                    "the ISO 6346 check digit (expected 6) at 38:1";
    model_strlist_add(a, &r->warnings, w, strlen(w), &e);
    return r;
}

static void pack_ok(const model_record *r, buf_t *out)
{
    err_t e;
    err_clear(&e);
    if (model_pack(r, out, &e))
        fail_msg("pack failed: %s", e.msg);
}

static void test_round_trip(void **state)
{
    arena_t *a = *state;
    model_record *r = full(a);
    buf_t b1, b2, diff;
    buf_init(&b1, 1 << 16);
    buf_init(&b2, 1 << 16);
    buf_init(&diff, 256);
    pack_ok(r, &b1);
    /* fixarray(2), positive fixint version, then a map */
    assert_int_equal((unsigned char)b1.p[0], 0x92);
    assert_int_equal((unsigned char)b1.p[1], model_version_of(r));
    assert_int_equal((unsigned char)b1.p[2] & 0xf0, 0x80);
    model_record *back = unpack_as(a, b1.p, b1.len, 0, NULL);
    assert_non_null(back);
    if (!model_equal(r, back, &diff))
        fail_msg("round trip differs at %s", diff.p);
    assert_string_equal(back->route.origin, "青岛");
    assert_int_equal(back->goods.n, 2);
    assert_int_equal(back->goods.v[0].equipment_refs.n, 2);
    assert_string_equal(back->goods.v[0].equipment_refs.v[1], "C2");
    assert_int_equal(back->warnings.n, 1);
    assert_string_equal(back->warnings.v[0], r->warnings.v[0]);
    pack_ok(back, &b2);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.p, b2.p, b1.len);
    buf_free(&b1);
    buf_free(&b2);
    buf_free(&diff);
}

static void test_empty_record(void **state)
{
    arena_t *a = *state;
    buf_t b;
    buf_init(&b, 64);
    pack_ok(model_record_new(a), &b);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.p, "\x92\x01\x80", 3);
    model_record *back = unpack_as(a, b.p, b.len, 0, NULL);
    assert_null(back->kind);
    assert_int_equal(back->parties.n, 0);
    buf_free(&b);
}

static void test_pack_cap(void **state)
{
    arena_t *a = *state;
    buf_t b;
    buf_init(&b, 16);
    err_t e;
    err_clear(&e);
    assert_int_equal(model_pack(full(a), &b, &e), ERR_TOOBIG);
    assert_int_equal(e.code, ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "msgpack"));
    buf_free(&b);
}

static void test_version_mismatch(void **state)
{
    arena_t *a = *state;
    unpack_as(a, "\x92\x03\x80", 3, ERR_UNSUPPORTED, "reads 1 to 2");
    unpack_as(a, "\x92\x00\x80", 3, ERR_UNSUPPORTED, "version 0");
    /* 300 as uint16 */
    unpack_as(a, "\x92\xcd\x01\x2c\x80", 5, ERR_UNSUPPORTED, "version 300");
}

static void test_bad_envelope(void **state)
{
    arena_t *a = *state;
    unpack_as(a, "\x80", 1, ERR_INVALID, "[version, map]");         /* {} */
    unpack_as(a, "\x91\x01", 2, ERR_INVALID, "[version, map]");     /* [1] */
    unpack_as(a, "\x92\x01\x90", 3, ERR_INVALID, "[version, map]"); /* [1,[]] */
    unpack_as(a, "\x92\xff\x80", 3, ERR_INVALID, "[version, map]"); /* -1 */
    unpack_as(a, "\x93\x01\x80\x01", 4, ERR_INVALID, "[version, map]");
}

static void test_trailing_bytes(void **state)
{
    arena_t *a = *state;
    buf_t b;
    buf_init(&b, 1 << 16);
    pack_ok(full(a), &b);
    assert_int_equal(buf_adds(&b, "\xc0\xc0"), 0);
    unpack_as(a, b.p, b.len, ERR_SYNTAX, "2 trailing bytes");
    buf_free(&b);
}

static void test_malformed(void **state)
{
    arena_t *a = *state;
    buf_t b;
    buf_init(&b, 1 << 16);
    pack_ok(full(a), &b);
    for (size_t cut = 0; cut < b.len; cut += 7) /* every truncation fails */
        unpack_as(a, b.p, cut, ERR_SYNTAX, "malformed");
    unpack_as(a, b.p, b.len - 1, ERR_SYNTAX, "malformed");
    buf_free(&b);
    unpack_as(a, "\xc1", 1, ERR_SYNTAX, "malformed"); /* never-used byte */
    unpack_as(a, "", 0, ERR_SYNTAX, "malformed");
}

static void v_red(msgpack_packer *pk) { pk_str(pk, "red"); }
static void v_int5(msgpack_packer *pk) { msgpack_pack_int(pk, 5); }
static void v_nil(msgpack_packer *pk) { msgpack_pack_nil(pk); }
static void v_doc_colour(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    pk_str(pk, "number");
    pk_str(pk, "1");
    pk_str(pk, "colour");
    pk_str(pk, "red");
}
static void v_doc_str(msgpack_packer *pk) { pk_str(pk, "D-1"); }
static void v_party_colour(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_map(pk, 0);
    msgpack_pack_map(pk, 1);
    pk_str(pk, "colour");
    pk_str(pk, "red");
}
static void v_totals_str(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    pk_str(pk, "gross_kg");
    pk_str(pk, "12");
}
static void v_array_of_str(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    pk_str(pk, "x");
}
static void v_seals_int(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 1);
    pk_str(pk, "seals");
    msgpack_pack_array(pk, 1);
    msgpack_pack_int(pk, 3);
}

/* Additive model changes keep MODEL_VERSION (docs/model.md), so a reader
 * skips keys it does not know instead of refusing a newer node's record. */
static void test_unknown_keys_skipped(void **state)
{
    arena_t *a = *state;
    model_record *r = unpack_one(a, "colour", v_red, 0, NULL);
    assert_non_null(r);
    assert_null(r->kind);
    r = unpack_one(a, "document", v_doc_colour, 0, NULL);
    assert_non_null(r);
    assert_string_equal(r->document.number, "1");
    r = unpack_one(a, "parties", v_party_colour, 0, NULL);
    assert_non_null(r);
    assert_int_equal(r->parties.n, 2);
    assert_null(r->parties.v[1].name);
    /* a map key that is not a string is still malformed */
    unpack_as(a, "\x92\x01\x81\x01\xa1x", 6, ERR_INVALID,
              "map key not a string");
}

static void test_wrong_types(void **state)
{
    arena_t *a = *state;
    unpack_one(a, "kind", v_int5, ERR_INVALID, "kind: expected a string");
    unpack_one(a, "kind", v_nil, ERR_INVALID, "kind: expected a string");
    unpack_one(a, "document", v_doc_str, ERR_INVALID,
               "document: expected a map");
    unpack_one(a, "totals", v_totals_str, ERR_INVALID,
               "totals.gross_kg: expected a number");
    unpack_one(a, "parties", v_red, ERR_INVALID,
               "parties: expected an array");
    unpack_one(a, "parties", v_array_of_str, ERR_INVALID,
               "parties[0]: expected a map");
    unpack_one(a, "equipment", v_seals_int, ERR_INVALID,
               "seals[0]: expected a string");
}

/* Integers (positive, negative) and float32 are all numbers. */
static void test_number_encodings(void **state)
{
    arena_t *a = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint32(&pk, MODEL_VERSION);
    msgpack_pack_map(&pk, 1);
    pk_str(&pk, "totals");
    msgpack_pack_map(&pk, 3);
    pk_str(&pk, "packages");
    msgpack_pack_uint64(&pk, 70000);
    pk_str(&pk, "gross_kg");
    msgpack_pack_int64(&pk, -42);
    pk_str(&pk, "goods_items");
    msgpack_pack_float(&pk, 2.5f);
    model_record *r = unpack_as(a, sb.data, sb.size, 0, NULL);
    msgpack_sbuffer_destroy(&sb);
    assert_true(r->totals.packages.set);
    assert_float_equal(r->totals.packages.v, 70000, 1e-12);
    assert_float_equal(r->totals.gross_kg.v, -42, 1e-12);
    assert_float_equal(r->totals.goods_items.v, 2.5, 1e-12);
    assert_false(r->totals.equipment_count.set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_record),
        cmocka_unit_test(test_pack_cap),
        cmocka_unit_test(test_version_mismatch),
        cmocka_unit_test(test_bad_envelope),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_unknown_keys_skipped),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_number_encodings),
    };
    return cmocka_run_group_tests_name("gateway/model_pack", tests, setup,
                                       teardown);
}
