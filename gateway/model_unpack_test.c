/* Unit tests for model_unpack's own reader (model_unpack.c) against the
 * reader it replaced, kept below as the reference: msgpack-c's object
 * tree walked as before. For every input, valid or broken, both must
 * give the same code and message, or equal records. */
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

/* ---- the reference: the msgpack-c reader as it was ---- */
static int ref__read_obj(const msgpack_object *o, void *base, model_obj obj,
                        const char *at, const char *group, arena_t *a,
                        err_t *e);

static char *ref__str_dup(arena_t *a, const msgpack_object *o)
{
    return arena_strndup(a, o->via.str.ptr, o->via.str.size);
}

static const model_field *ref__lookup(model_obj obj, const char *group,
                                     const msgpack_object *k)
{
    for (size_t i = 0; i < model_nfields; i++) {
        const model_field *f = &model_fields[i];
        if (f->obj != obj || strlen(f->key) != k->via.str.size ||
            memcmp(f->key, k->via.str.ptr, k->via.str.size) != 0)
            continue;
        if ((!group && !f->group) ||
            (group && f->group && strcmp(group, f->group) == 0))
            return f;
    }
    return NULL;
}

/* The group name as stored in model_fields[], or NULL if key is none. */
static const char *ref__group(model_obj obj, const msgpack_object *k)
{
    for (size_t i = 0; i < model_nfields; i++) {
        const char *g = model_fields[i].group;
        if (model_fields[i].obj == obj && g &&
            strlen(g) == k->via.str.size &&
            memcmp(g, k->via.str.ptr, k->via.str.size) == 0)
            return g;
    }
    return NULL;
}

static int ref__is_num(const msgpack_object *v)
{
    return v->type == MSGPACK_OBJECT_FLOAT64 ||
           v->type == MSGPACK_OBJECT_FLOAT32 ||
           v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
           v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

static double ref__num_of(const msgpack_object *v)
{
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (double)v->via.u64;
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return (double)v->via.i64;
    return v->via.f64;
}

static int ref__read_array(const msgpack_object *v, void *base,
                          const model_field *f, arena_t *a, err_t *e)
{
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        const msgpack_object *x = &v->via.array.ptr[i];
        int rc;
        if (f->type == MF_STRLIST) {
            if (x->type != MSGPACK_OBJECT_STR)
                return err_set(e, ERR_INVALID, "%s[%u]: expected a string",
                               f->path, i);
            rc = model_strlist_add(a, model_strlist_at(base, f),
                                   x->via.str.ptr, x->via.str.size, e);
        } else {
            if (x->type != MSGPACK_OBJECT_MAP)
                return err_set(e, ERR_INVALID, "%s[%u]: expected a map",
                               f->path, i);
            void *el = model_array_append(a, base, f, e);
            char at[64]; /* "parties[3]." names the element in messages */
            snprintf(at, sizeof at, "%s[%u].", f->key, i);
            rc = el ? ref__read_obj(x, el, f->elem, at, NULL, a, e)
                    : ERR_TOOBIG;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int ref__read_value(const msgpack_object *v, void *base,
                          const model_field *f, arena_t *a, err_t *e)
{
    if (f->type == MF_STR) {
        if (v->type != MSGPACK_OBJECT_STR)
            return err_set(e, ERR_INVALID, "%s: expected a string", f->path);
        *model_str_at(base, f) = ref__str_dup(a, v);
        return *model_str_at(base, f) ? 0 : ERR_NOMEM;
    }
    if (f->type == MF_NUM) {
        if (!ref__is_num(v))
            return err_set(e, ERR_INVALID, "%s: expected a number", f->path);
        model_num_at(base, f)->v = ref__num_of(v);
        model_num_at(base, f)->set = 1;
        return 0;
    }
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return err_set(e, ERR_INVALID, "%s: expected an array", f->path);
    return ref__read_array(v, base, f, a, e);
}

static int ref__read_obj(const msgpack_object *o, void *base, model_obj obj,
                        const char *at, const char *group, arena_t *a,
                        err_t *e)
{
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        const msgpack_object *v = &o->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR)
            return err_set(e, ERR_INVALID, "msgpack: map key not a string");
        const char *g = group ? NULL : ref__group(obj, k);
        int rc;
        if (g) {
            if (v->type != MSGPACK_OBJECT_MAP)
                return err_set(e, ERR_INVALID, "%s%s: expected a map", at, g);
            rc = ref__read_obj(v, base, obj, at, g, a, e);
        } else {
            /* a key this version does not know comes from a newer node's
             * additive change (docs/model.md): skip it, keep the rest */
            const model_field *f = ref__lookup(obj, group, k);
            rc = f ? ref__read_value(v, base, f, a, e) : 0;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int ref__read_root(const msgpack_object *root, arena_t *a,
                         model_record **out, err_t *e)
{
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size != 2 ||
        root->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        root->via.array.ptr[1].type != MSGPACK_OBJECT_MAP)
        return err_set(e, ERR_INVALID,
                       "msgpack: record must be [version, map]");
    uint64_t ver = root->via.array.ptr[0].via.u64;
    if (ver < MODEL_VERSION_MIN || ver > MODEL_VERSION)
        return err_set(e, ERR_UNSUPPORTED,
                       "msgpack: record version %llu not supported "
                       "(this node reads %d to %d)",
                       (unsigned long long)ver, MODEL_VERSION_MIN,
                       MODEL_VERSION);
    model_record *r = model_record_new(a);
    if (!r)
        return err_set(e, ERR_NOMEM, "msgpack: out of memory");
    int rc = ref__read_obj(&root->via.array.ptr[1], r, MO_RECORD, "", NULL, a,
                          e);
    if (rc == 0)
        *out = r;
    return rc;
}

static int ref_unpack(const char *data, size_t len, arena_t *a,
                 model_record **out, err_t *e)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc;
    if (msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS)
        rc = err_set(e, ERR_SYNTAX, "msgpack: malformed data");
    else if (off != len)
        rc = err_set(e, ERR_SYNTAX, "msgpack: %zu trailing bytes", len - off);
    else
        rc = ref__read_root(&u.data, a, out, e);
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* ---- the comparison ---- */

static int setup(void **state)
{
    static arena_t a;
    arena_init(&a, 64u << 20);
    *state = &a;
    return 0;
}

static int teardown(void **state)
{
    arena_free(*state);
    return 0;
}

/* Both readers on data; fails the test on any difference. Returns the
 * code. Inputs holding 0xdd or 0xdf (32-bit array and map counts) skip
 * the reference: msgpack-c allocates up to 96 GiB for such a header
 * before it finds the data short, which ASan refuses. */
static int same(arena_t *a, const void *data, size_t n)
{
    model_record *r1 = NULL, *r2 = NULL;
    err_t e1, e2;
    err_clear(&e1);
    err_clear(&e2);
    int rc1 = model_unpack(data, n, a, &r1, &e1);
    if (memchr(data, 0xdd, n) || memchr(data, 0xdf, n))
        return rc1;
    int rc2 = ref_unpack(data, n, a, &r2, &e2);
    if (rc1 != rc2 || e1.code != e2.code || strcmp(e1.msg, e2.msg))
        fail_msg("unpack rc %d '%s', reference rc %d '%s'", rc1, e1.msg, rc2,
                 e2.msg);
    if (rc1 == 0) {
        buf_t diff;
        buf_init(&diff, 256);
        if (!model_equal(r1, r2, &diff))
            fail_msg("records differ at %s", diff.p);
        buf_free(&diff);
    }
    return rc1;
}

static void pk_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Values of every msgpack type under keys this version does not know. */
static void pk_unknowns(msgpack_packer *pk)
{
    pk_str(pk, "x-nil");
    msgpack_pack_nil(pk);
    pk_str(pk, "x-bool");
    msgpack_pack_true(pk);
    pk_str(pk, "x-bin");
    msgpack_pack_bin_with_body(pk, "\x01\x02", 2);
    pk_str(pk, "x-ext");
    msgpack_pack_ext_with_body(pk, "abc", 3, 7);
    pk_str(pk, "x-fixext");
    msgpack_pack_ext_with_body(pk, "abcd", 4, -2);
    pk_str(pk, "x-nest");
    msgpack_pack_array(pk, 2);
    msgpack_pack_map(pk, 1);
    msgpack_pack_int64(pk, -70000);
    msgpack_pack_float(pk, 1.5f);
    msgpack_pack_array(pk, 0);
}

/* A record with every kind of field, numbers in each encoding, and
 * unknown keys at each level. */
static void pk_record(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint32(&pk, MODEL_VERSION);
    msgpack_pack_map(&pk, 14);
    pk_str(&pk, "kind");
    pk_str(&pk, "waybill");
    pk_str(&pk, "document");
    msgpack_pack_map(&pk, 3);
    pk_str(&pk, "number");
    pk_str(&pk, "W-1");
    pk_str(&pk, "type");
    pk_str(&pk, "waybill");
    pk_str(&pk, "colour");
    pk_str(&pk, "red");
    pk_str(&pk, "route");
    msgpack_pack_map(&pk, 1);
    pk_str(&pk, "origin");
    pk_str(&pk, "青岛");
    pk_str(&pk, "parties");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "role");
    pk_str(&pk, "shipper");
    pk_str(&pk, "name");
    pk_str(&pk, "A");
    msgpack_pack_map(&pk, 0);
    pk_str(&pk, "legs");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "seq");
    msgpack_pack_int8(&pk, 3);
    pk_str(&pk, "mode");
    pk_str(&pk, "rail");
    pk_str(&pk, "equipment");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "seals");
    msgpack_pack_array(&pk, 2);
    pk_str(&pk, "S1");
    pk_str(&pk, "S2");
    pk_str(&pk, "tare_kg");
    msgpack_pack_double(&pk, 3800.25);
    pk_str(&pk, "goods");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 3);
    pk_str(&pk, "packages");
    msgpack_pack_uint64(&pk, 70000);
    pk_str(&pk, "gross_kg");
    msgpack_pack_int16(&pk, -300);
    pk_str(&pk, "net_kg");
    msgpack_pack_int64(&pk, -5000000000ll);
    pk_str(&pk, "totals");
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "packages");
    msgpack_pack_uint16(&pk, 120);
    pk_str(&pk, "gross_kg");
    msgpack_pack_float(&pk, 2400.5f);
    pk_unknowns(&pk);
}

static void test_valid_inputs(void **state)
{
    arena_t *a = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pk_record(&sb);
    assert_int_equal(same(a, sb.data, sb.size), 0);
    model_record *r = NULL;
    err_t e;
    assert_int_equal(model_unpack(sb.data, sb.size, a, &r, &e), 0);
    assert_string_equal(r->route.origin, "青岛");
    assert_int_equal(r->parties.n, 2);
    assert_string_equal(r->equipment.v[0].seals.v[1], "S2");
    assert_float_equal(r->goods.v[0].net_kg.v, -5e9, 1e-3);
    assert_float_equal(r->totals.gross_kg.v, 2400.5, 1e-9);
    msgpack_sbuffer_destroy(&sb);
}

/* xorshift: the same mutations on every run, so a failure repeats. */
static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Bytes that change a header's meaning most often. */
static const unsigned char hot[] = {
    0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x91, 0x92, 0x9f, 0xa0,
    0xa1, 0xbf, 0xc0, 0xc1, 0xc2, 0xc4, 0xc7, 0xca, 0xcb, 0xcc, 0xcf, 0xd0,
    0xd3, 0xd4, 0xd8, 0xd9, 0xdc, 0xde, 0xe0, 0xff};

static size_t mutate(unsigned char *m, size_t n, size_t cap, uint32_t *s)
{
    for (unsigned k = 1 + rnd(s) % 3; k; k--) {
        size_t at = rnd(s) % n;
        switch (rnd(s) % 4) {
        case 0:
            m[at] = hot[rnd(s) % sizeof hot];
            break;
        case 1:
            m[at] = (unsigned char)rnd(s);
            break;
        case 2: /* cut short */
            n = at ? at : 1;
            break;
        default: /* one byte more */
            if (n < cap) {
                memmove(m + at + 1, m + at, n - at);
                m[at] = hot[rnd(s) % sizeof hot];
                n++;
            }
        }
    }
    return n;
}

static void test_mutations(void **state)
{
    arena_t *a = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pk_record(&sb);
    unsigned char m[1024];
    assert_true(sb.size < sizeof m);
    uint32_t seed = 12345;
    int ok = 0, refused = 0;
    for (int i = 0; i < 20000; i++) {
        memcpy(m, sb.data, sb.size);
        size_t n = mutate(m, sb.size, sizeof m, &seed);
        if (same(a, m, n) == 0)
            ok++;
        else
            refused++;
        arena_reset(a);
    }
    /* both outcomes were exercised many times */
    assert_true(ok > 500);
    assert_true(refused > 5000);
    msgpack_sbuffer_destroy(&sb);
}

/* [1, {"x": v}] where v is depth arrays, one inside the next. */
static size_t nested(unsigned char *buf, int depth)
{
    size_t n = 0;
    buf[n++] = 0x92;
    buf[n++] = 0x01;
    buf[n++] = 0x81;
    buf[n++] = 0xa1;
    buf[n++] = 'x';
    for (int i = 0; i < depth; i++)
        buf[n++] = i + 1 < depth ? 0x91 : 0x90;
    return n;
}

/* msgpack-c refuses a 33rd open container: so must the reader. */
static void test_depth(void **state)
{
    arena_t *a = *state;
    unsigned char buf[64];
    assert_int_equal(same(a, buf, nested(buf, 30)), 0);
    assert_int_equal(same(a, buf, nested(buf, 31)), ERR_SYNTAX);
    assert_int_equal(same(a, buf, nested(buf, 40)), ERR_SYNTAX);
}

static void test_versions(void **state)
{
    arena_t *a = *state;
    assert_int_equal(same(a, "\x92\xd0\x01\x80", 4), 0); /* int8 1 */
    assert_int_equal(same(a, "\x92\xcf\0\0\0\0\0\0\0\x01\x80", 11), 0);
    assert_int_equal(same(a, "\x92\x02\x80", 3), 0); /* every version read */
    assert_int_equal(same(a, "\x92\x03\x80", 3), ERR_UNSUPPORTED);
    assert_int_equal(same(a, "\x92\x00\x80", 3), ERR_UNSUPPORTED);
    assert_int_equal(same(a, "\x92\xcf\xff\xff\xff\xff\xff\xff\xff\xff\x80",
                          11), ERR_UNSUPPORTED);
    assert_int_equal(same(a, "\x92\xd0\xff\x80", 4), ERR_INVALID);
    assert_int_equal(same(a, "\x92\xca\x3f\x80\0\0\x80", 7), ERR_INVALID);
    assert_int_equal(same(a, "\x92\x01\x80\xc0", 4), ERR_SYNTAX);
    assert_int_equal(same(a, "\xc1", 1), ERR_SYNTAX);
    assert_int_equal(same(a, "\x92\x01\x81\xc7\x00\x05\xc0", 7),
                     ERR_INVALID); /* ext key */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_inputs),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_versions),
    };
    return cmocka_run_group_tests_name("gateway/model_unpack", tests, setup,
                                       teardown);
}
