/* Unit tests for envelope: round trip (bytes identical after decode and
 * encode), the canonical bytes leaving out route and signature, the caps
 * on the way out, route loops, time checks and destinations. The
 * decoder's refusals are in envelope_decode_test.c; receipts and the
 * example of docs/protocol.md in envelope_receipt_test.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"
#include "model_pack.h"

#define ID "01HV6Y3K2M8Q4R5S6T7V8W9X0Y"
#define CREATED 1710000000000ull

static const char *good_dest[] = {"SC", "SH"};
static const char *good_route[] = {"CQ"};
static const unsigned char good_payload[] = {0x92, 0x01, 0x80};
static unsigned char good_sig[ENV_ED25519_SIG];

static int setup(void **state)
{
    static arena_t a;
    arena_init(&a, 64u << 20);
    memset(good_sig, 0xab, sizeof good_sig);
    *state = &a;
    return 0;
}

static int teardown(void **state)
{
    arena_free(*state);
    return 0;
}

static void good_env(env *v)
{
    memset(v, 0, sizeof *v);
    v->version = 1;
    strcpy(v->id, ID);
    strcpy(v->type, "record");
    strcpy(v->origin, "CQ");
    v->dest = good_dest;
    v->ndest = 2;
    v->route = good_route;
    v->nroute = 1;
    v->created_ms = CREATED;
    v->ref = "CQ24030601";
    v->payload = good_payload;
    v->payload_len = sizeof good_payload;
    strcpy(v->sig_alg, "ed25519");
    strcpy(v->signer, "CQ");
    v->sig = good_sig;
    v->sig_len = sizeof good_sig;
}

static void assert_env_equal(const env *x, const env *y)
{
    assert_int_equal(x->version, y->version);
    assert_string_equal(x->id, y->id);
    assert_string_equal(x->type, y->type);
    assert_string_equal(x->origin, y->origin);
    assert_int_equal(x->ndest, y->ndest);
    for (uint32_t i = 0; i < x->ndest; i++)
        assert_string_equal(x->dest[i], y->dest[i]);
    assert_int_equal(x->nroute, y->nroute);
    for (uint32_t i = 0; i < x->nroute; i++)
        assert_string_equal(x->route[i], y->route[i]);
    assert_true(x->created_ms == y->created_ms);
    assert_true(!x->ref == !y->ref);
    if (x->ref)
        assert_string_equal(x->ref, y->ref);
    assert_int_equal(x->payload_len, y->payload_len);
    if (x->payload_len)
        assert_memory_equal(x->payload, y->payload, x->payload_len);
    assert_string_equal(x->sig_alg, y->sig_alg);
    assert_string_equal(x->signer, y->signer);
    assert_int_equal(x->sig_len, y->sig_len);
    assert_memory_equal(x->sig, y->sig, x->sig_len);
}

/* encode v, decode, compare, encode again: the same bytes */
static env *round_trip(arena_t *a, const env *v)
{
    buf_t b, b2;
    err_t e;
    env *d = NULL;
    buf_init(&b, ENV_MAX_FRAME);
    buf_init(&b2, ENV_MAX_FRAME);
    if (env_encode(v, &b, &e) != 0)
        fail_msg("encode: %s", e.msg);
    if (env_decode(b.p, b.len, a, &d, &e) != 0)
        fail_msg("decode: %s", e.msg);
    assert_env_equal(v, d);
    assert_int_equal(env_encode(d, &b2, &e), 0);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.p, b2.p, b.len);
    buf_free(&b);
    buf_free(&b2);
    return d;
}

static void test_round_trip(void **state)
{
    env v;
    good_env(&v);
    round_trip(*state, &v);
    v.ref = NULL; /* nil */
    v.payload = NULL;
    v.payload_len = 0;
    env *d = round_trip(*state, &v);
    assert_null(d->ref);
    static const unsigned char der[70] = {0x30, 0x44};
    strcpy(v.sig_alg, "ecdsa-p256");
    v.sig = der;
    v.sig_len = sizeof der;
    v.ref = "运单 CQ-2403/01"; /* any UTF-8 text */
    round_trip(*state, &v);
}

/* Batch signatures of every depth and both base algorithms survive the
 * trip byte for byte; env_batch_split finds their parts. */
static void test_round_trip_batch(void **state)
{
    static unsigned char sig[ENV_BATCH_SIG_MAX];
    for (size_t i = 0; i < sizeof sig; i++)
        sig[i] = (unsigned char)(i * 7);
    env v;
    good_env(&v);
    v.sig = sig;
    for (unsigned d = 0; d <= ENV_BATCH_DEPTH_MAX; d += 4) {
        sig[0] = (unsigned char)d;
        sig[1] = 0;
        sig[2] = d ? 1 : 0; /* index 1, or 0 in a batch of one */
        strcpy(v.sig_alg, ENV_ALG_ED25519_BATCH);
        v.sig_len = 3 + 32 * d + 64;
        env *x = round_trip(*state, &v);
        env_batch_proof pr;
        err_t e;
        assert_int_equal(env_batch_split(x, &pr, &e), 0);
        assert_int_equal(pr.depth, d);
        assert_int_equal(pr.index, d ? 1 : 0);
        assert_ptr_equal(pr.sig, x->sig + 3 + 32 * d);
        assert_int_equal(pr.sig_len, 64);
        strcpy(v.sig_alg, ENV_ALG_ECDSA_P256_BATCH);
        v.sig_len = 3 + 32 * d + 72 - d; /* DER lengths vary */
        round_trip(*state, &v);
    }
    assert_int_equal(v.sig_len, ENV_BATCH_SIG_MAX - 16);
    /* a single signature is no batch */
    env_batch_proof pr;
    err_t e;
    good_env(&v);
    assert_int_equal(env_batch_split(&v, &pr, &e), ERR_INVALID);
    assert_string_equal(e.msg, "envelope field 11 (signature): sig_alg "
                        "\"ed25519\" is not a batch signature");
    assert_true(env_alg_is_batch("ecdsa-p256-batch"));
    assert_false(env_alg_is_batch("ecdsa-p256"));
    assert_false(env_alg_is_batch(NULL));
}

/* A canonical record as payload survives the trip byte for byte. */
static void test_record_payload(void **state)
{
    arena_t *a = *state;
    model_record *r = model_record_new(a);
    r->kind = "waybill";
    r->document.number = "CQ24030601";
    buf_t p;
    buf_init(&p, 1 << 20);
    assert_int_equal(model_pack(r, &p, NULL), 0);
    env v;
    good_env(&v);
    v.payload = (const unsigned char *)p.p;
    v.payload_len = p.len;
    env *d = round_trip(a, &v);
    model_record *back = NULL;
    assert_int_equal(model_unpack((const char *)d->payload, d->payload_len,
                                  a, &back, NULL), 0);
    assert_string_equal(back->document.number, "CQ24030601");
    buf_free(&p);
}

static void test_init(void **state)
{
    arena_t *a = *state;
    env v;
    err_t e;
    assert_int_equal(env_init(&v, "record", "CQ", a, &e), 0);
    uint64_t ms = 0;
    assert_int_equal(msgid_parse(v.id, &ms, NULL), 0);
    assert_true(ms == v.created_ms);
    assert_int_equal(v.nroute, 1);
    assert_string_equal(v.route[0], "CQ");
    assert_string_equal(v.signer, "CQ");
    assert_string_equal(v.sig_alg, "ed25519");
    /* a bad type is caught before signing, as the decoder would */
    assert_int_equal(env_init(&v, "Record", "CQ", a, &e), 0);
    buf_t b;
    buf_init(&b, 1024);
    assert_int_equal(env_signed_bytes(&v, &b, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "field 2 (type)"));
    buf_free(&b);
    assert_int_equal(env_init(&v, "record", "cq", a, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "field 3 (origin)"));
    char longtype[64];
    memset(longtype, 'a', sizeof longtype - 1);
    longtype[sizeof longtype - 1] = '\0';
    assert_int_equal(env_init(&v, longtype, "CQ", a, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "field 2 (type)"));
}

static void signed_of(const env *v, buf_t *b)
{
    err_t e;
    buf_reset(b);
    if (env_signed_bytes(v, b, &e) != 0)
        fail_msg("signed bytes: %s", e.msg);
}

static void test_signed_bytes(void **state)
{
    arena_t *a = *state;
    env v;
    good_env(&v);
    v.sig = NULL;
    v.sig_len = 0; /* before signing */
    buf_t s1, s2;
    buf_init(&s1, ENV_MAX_FRAME);
    buf_init(&s2, ENV_MAX_FRAME);
    signed_of(&v, &s1);
    assert_int_equal((unsigned char)s1.p[0], 0x90 | ENV_SIGNED_FIELDS);
    assert_int_equal(env_route_add(&v, "SN", a, NULL), 0);
    v.sig = good_sig;
    v.sig_len = sizeof good_sig;
    signed_of(&v, &s2); /* a hop and a signature later: unchanged */
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.p, s2.p, s1.len);
    /* neither route nor signature bytes appear in them */
    assert_null(memmem(s2.p, s2.len, "SN", 2));
    assert_null(memmem(s2.p, s2.len, good_sig, 8));
    /* every other field is covered */
    v.created_ms++;
    signed_of(&v, &s2);
    assert_true(s1.len != s2.len || memcmp(s1.p, s2.p, s1.len) != 0);
    v.created_ms--;
    strcpy(v.sig_alg, "ecdsa-p256");
    v.sig_len = 70;
    signed_of(&v, &s2);
    assert_true(s1.len != s2.len || memcmp(s1.p, s2.p, s1.len) != 0);
    /* the encoder refuses to send it unsigned */
    err_t e;
    v.sig_len = 0;
    assert_int_equal(env_encode(&v, &s2, &e), ERR_INVALID);
    assert_string_equal(e.msg, "envelope field 11 (signature): missing");
    buf_free(&s1);
    buf_free(&s2);
}

/* ---- caps on the way out ---- */

static void test_caps(void **state)
{
    arena_t *a = *state;
    env v;
    good_env(&v);
    err_t e;
    buf_t b;
    buf_init(&b, ENV_MAX_FRAME);
    const char *many[ENV_MAX_DEST + 1];
    char names[ENV_MAX_DEST + 1][ENV_NODE_MAX + 1];
    for (int i = 0; i <= ENV_MAX_DEST; i++) {
        /* the longest ids: 32 characters each */
        snprintf(names[i], sizeof names[i], "N%031d", i);
        many[i] = names[i];
    }
    v.dest = many;
    v.ndest = ENV_MAX_DEST + 1;
    assert_int_equal(env_encode(&v, &b, &e), ERR_TOOBIG);
    assert_string_equal(e.msg, "envelope field 4 (destinations): more "
                        "than 64 entries");
    assert_int_equal(b.len, 0);
    /* every field at its cap still fits in one frame */
    v.ndest = ENV_MAX_DEST;
    for (int i = 1; i < ENV_MAX_HOPS; i++)
        assert_int_equal(env_route_add(&v, names[i], a, &e), 0);
    char ref[ENV_REF_MAX + 1];
    memset(ref, 'r', ENV_REF_MAX);
    ref[ENV_REF_MAX] = '\0';
    v.ref = ref;
    unsigned char *big = calloc(1, ENV_MAX_PAYLOAD + 1);
    assert_non_null(big);
    v.payload = big;
    v.payload_len = ENV_MAX_PAYLOAD;
    env *d = round_trip(a, &v);
    assert_int_equal(d->nroute, ENV_MAX_HOPS);
    v.payload_len = ENV_MAX_PAYLOAD + 1;
    assert_int_equal(env_encode(&v, &b, &e), ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "field 8 (payload)"));
    free(big);
    buf_free(&b);
}

static void test_buffer_cap(void **state)
{
    (void)state;
    env v;
    good_env(&v);
    err_t e;
    buf_t b;
    buf_init(&b, 40); /* too small: refused, and left as it was */
    assert_int_equal(buf_adds(&b, "kept"), 0);
    assert_int_equal(env_encode(&v, &b, &e), ERR_TOOBIG);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.p, "kept");
    assert_non_null(strstr(e.msg, "buffer cap 40"));
    buf_free(&b);
}

/* ---- hops, time, destinations ---- */

static void test_route_loop(void **state)
{
    arena_t *a = *state;
    env v;
    good_env(&v);
    err_t e;
    assert_int_equal(env_route_add(&v, "SN", a, &e), 0);
    assert_int_equal(env_route_add(&v, "SH", a, &e), 0);
    assert_int_equal(v.nroute, 3);
    assert_string_equal(v.route[2], "SH");
    assert_string_equal(good_route[0], "CQ"); /* caller's array untouched */
    assert_int_equal(env_route_add(&v, "CQ", a, &e), ERR_INVALID);
    assert_string_equal(e.msg, "routing loop: CQ already handled this "
                        "message");
    assert_int_equal(env_route_add(&v, "SN", a, &e), ERR_INVALID);
    assert_string_equal(e.msg, "routing loop: SN already handled this "
                        "message");
    assert_int_equal(env_route_add(&v, "s n", a, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "field 5 (route): new hop: node id"));
    for (int i = 3; i < ENV_MAX_HOPS; i++) {
        char n[8];
        snprintf(n, sizeof n, "H%d", i);
        assert_int_equal(env_route_add(&v, n, a, &e), 0);
    }
    assert_int_equal(env_route_add(&v, "LAST", a, &e), ERR_TOOBIG);
    assert_string_equal(e.msg, "envelope field 5 (route): more than 32 "
                        "entries");
    round_trip(a, &v);
}

static void test_time(void **state)
{
    (void)state;
    env v;
    good_env(&v);
    err_t e;
    const uint64_t now = CREATED, skew = 30000, age = 86400000;
    assert_int_equal(env_check_time(&v, now, skew, age, &e), 0);
    assert_int_equal(env_check_time(&v, now - skew, skew, age, &e), 0);
    assert_int_equal(env_check_time(&v, now - skew - 1, skew, age, &e),
                     ERR_INVALID);
    assert_string_equal(e.msg, "envelope field 6 (created): 30001 ms in the "
                        "future (allowed clock skew 30000 ms)");
    assert_int_equal(env_check_time(&v, now + age, skew, age, &e), 0);
    assert_int_equal(env_check_time(&v, now + age + 1, skew, age, &e),
                     ERR_INVALID);
    assert_string_equal(e.msg, "envelope field 6 (created): expired: "
                        "created 86400001 ms ago (max age 86400000 ms)");
    v.created_ms = UINT64_MAX; /* no wrap-around at the extremes */
    assert_int_equal(env_check_time(&v, 0, skew, age, &e), ERR_INVALID);
    v.created_ms = 0;
    assert_int_equal(env_check_time(&v, UINT64_MAX, skew, UINT64_MAX, &e),
                     0);
}

static void test_for(void **state)
{
    (void)state;
    env v;
    good_env(&v);
    assert_int_equal(env_for(&v, "SC"), 1);
    assert_int_equal(env_for(&v, "SH"), 1);
    assert_int_equal(env_for(&v, "CQ"), 0);
    assert_int_equal(env_for(&v, "S"), 0);
    assert_int_equal(env_for(&v, NULL), 0);
    assert_string_equal(env_field_name(ENV_F_DEST), "destinations");
    assert_string_equal(env_field_name(12), "?");
}

/* The unchecked forms write the checked forms' bytes for a decoded
 * envelope and one with a hop added; they skip only env_validate. */
static void test_unchecked(void **state)
{
    arena_t *a = *state;
    env v;
    good_env(&v);
    buf_t b1, b2;
    buf_init(&b1, 1 << 16);
    buf_init(&b2, 1 << 16);
    err_t e;
    assert_int_equal(env_encode(&v, &b1, &e), 0);
    env *d = NULL;
    assert_int_equal(env_decode(b1.p, b1.len, a, &d, &e), 0);
    assert_int_equal(env_route_add(d, "SC", a, &e), 0);
    buf_reset(&b1);
    assert_int_equal(env_encode(d, &b1, &e), 0);
    assert_int_equal(env_encode_unchecked(d, &b2, &e), 0);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.p, b2.p, b1.len);
    buf_reset(&b1);
    buf_reset(&b2);
    assert_int_equal(env_signed_bytes(d, &b1, &e), 0);
    assert_int_equal(env_signed_bytes_unchecked(d, &b2, &e), 0);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.p, b2.p, b1.len);
    /* a bad field: the checked form refuses, the unchecked one does not
     * look (which is why only decoded envelopes may use it) */
    strcpy(d->signer, "sh");
    buf_reset(&b1);
    assert_int_equal(env_encode(d, &b1, &e), ERR_INVALID);
    assert_int_equal(b1.len, 0);
    assert_int_equal(env_encode_unchecked(d, &b1, &e), 0);
    assert_true(b1.len > 0);
    buf_free(&b1);
    buf_free(&b2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_batch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_record_payload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signed_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffer_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_for, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unchecked, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
