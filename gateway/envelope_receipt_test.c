/* Unit tests for receipts (round trip, the SHA-256 digest, matching a
 * receipt to what was sent, every refusal of the decoder) and for the
 * byte-level example of docs/protocol.md: the frame and the receipt there
 * must be exactly what this code writes, and the example's Ed25519
 * signature (RFC 8032 test key 1) must verify over env_signed_bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>
#include <openssl/evp.h>

#include "envelope.h"

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

/* docs/protocol.md, "A frame byte by byte" */
static const unsigned char doc_frame[] =
    "\x9c\x01\xba\x30\x31\x48\x52\x48\x5a\x32\x4b\x30\x30\x30\x34\x31"
    "\x30\x36\x31\x30\x35\x30\x52\x33\x47\x47\x32\x38\x41\xa4\x70\x69"
    "\x6e\x67\xa2\x43\x51\x91\xa2\x53\x43\x92\xa2\x43\x51\xa2\x53\x4e"
    "\xcf\x00\x00\x01\x8e\x23\xf1\x4c\x00\xc0\xc4\x00\xa7\x65\x64\x32"
    "\x35\x35\x31\x39\xa2\x43\x51\xc4\x40\x07\xd3\x91\xc2\x38\x5b\xb2"
    "\xf4\x24\xb0\xa5\x87\xf8\x74\x77\xd5\xb9\x8f\x6c\x2d\x3f\xa8\x5a"
    "\x4f\x85\xfb\x46\xba\x6e\x2b\x36\xe9\xa0\xdd\x98\x2c\x48\x06\xcc"
    "\xc3\xc1\x21\x64\x3a\x48\x1e\x7e\x7a\x17\x39\x0f\x91\xa6\xfa\xb9"
    "\x1d\x78\x53\xdb\x8e\x92\xa6\x92\x03";

static const unsigned char doc_signed[] =
    "\x9a\x01\xba\x30\x31\x48\x52\x48\x5a\x32\x4b\x30\x30\x30\x34\x31"
    "\x30\x36\x31\x30\x35\x30\x52\x33\x47\x47\x32\x38\x41\xa4\x70\x69"
    "\x6e\x67\xa2\x43\x51\x91\xa2\x53\x43\xcf\x00\x00\x01\x8e\x23\xf1"
    "\x4c\x00\xc0\xc4\x00\xa7\x65\x64\x32\x35\x35\x31\x39\xa2\x43\x51";

static const unsigned char doc_receipt[] =
    "\x86\xa1\x76\x01\xa2\x69\x64\xba\x30\x31\x48\x52\x48\x5a\x32\x4b"
    "\x30\x30\x30\x34\x31\x30\x36\x31\x30\x35\x30\x52\x33\x47\x47\x32"
    "\x38\x41\xa6\x64\x69\x67\x65\x73\x74\xc4\x20\xe3\xb0\xc4\x42\x98"
    "\xfc\x1c\x14\x9a\xfb\xf4\xc8\x99\x6f\xb9\x24\x27\xae\x41\xe4\x64"
    "\x9b\x93\x4c\xa4\x95\x99\x1b\x78\x52\xb8\x55\xa6\x73\x74\x61\x74"
    "\x75\x73\xa6\x73\x74\x6f\x72\x65\x64\xa6\x72\x65\x61\x73\x6f\x6e"
    "\xc0\xa2\x61\x74\xcf\x00\x00\x01\x8e\x23\xf1\x4c\xfa";

/* RFC 8032 section 7.1, TEST 1 public key */
static const unsigned char rfc8032_pub[32] = {
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
    0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
    0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};

static int ed25519_ok(const void *msg, size_t n, const unsigned char *sig,
                      size_t sig_len)
{
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
                                              rfc8032_pub, 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = k && c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestVerify(c, sig, sig_len, msg, n) == 1;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok;
}

static void test_doc_example(void **state)
{
    arena_t *a = *state;
    env *v = NULL;
    err_t e;
    size_t n = sizeof doc_frame - 1;
    if (env_decode(doc_frame, n, a, &v, &e) != 0)
        fail_msg("doc frame: %s", e.msg);
    assert_string_equal(v->id, "01HRHZ2K00041061050R3GG28A");
    assert_string_equal(v->type, "ping");
    assert_int_equal(v->nroute, 2);
    assert_string_equal(v->route[1], "SN");
    assert_null(v->ref);
    assert_int_equal(v->payload_len, 0);
    uint64_t ms;
    assert_int_equal(msgid_time(v->id, &ms), 0);
    assert_true(ms == v->created_ms && ms == 1710000000000ull);
    buf_t b;
    buf_init(&b, ENV_MAX_FRAME);
    assert_int_equal(env_encode(v, &b, &e), 0);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.p, doc_frame, n);
    buf_reset(&b);
    assert_int_equal(env_signed_bytes(v, &b, &e), 0);
    assert_int_equal(b.len, sizeof doc_signed - 1);
    assert_memory_equal(b.p, doc_signed, b.len);
    assert_true(ed25519_ok(b.p, b.len, v->sig, v->sig_len));
    b.p[5] ^= 1; /* and a changed byte no longer verifies */
    assert_false(ed25519_ok(b.p, b.len, v->sig, v->sig_len));
    buf_reset(&b);
    env_receipt r;
    assert_int_equal(env_receipt_init(&r, v, ENV_STORED, NULL,
                                      1710000000250ull, &e), 0);
    assert_int_equal(env_receipt_encode(&r, &b, &e), 0);
    assert_int_equal(b.len, sizeof doc_receipt - 1);
    assert_memory_equal(b.p, doc_receipt, b.len);
    buf_free(&b);
}

static const unsigned char abc_sha256[ENV_DIGEST_LEN] = {
    0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
    0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
    0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};

static void sent_env(env *v)
{
    static const char *dest[] = {"SC"};
    static const char *route[] = {"CQ"};
    memset(v, 0, sizeof *v);
    v->version = 1;
    strcpy(v->id, "01HRHZ2K00041061050R3GG28A");
    strcpy(v->type, "record");
    strcpy(v->origin, "CQ");
    v->dest = dest;
    v->ndest = 1;
    v->route = route;
    v->nroute = 1;
    v->payload = (const unsigned char *)"abc";
    v->payload_len = 3;
}

static void receipt_trip(arena_t *a, const env_receipt *r)
{
    buf_t b, b2;
    err_t e;
    buf_init(&b, ENV_RECEIPT_MAX);
    buf_init(&b2, ENV_RECEIPT_MAX);
    if (env_receipt_encode(r, &b, &e) != 0)
        fail_msg("encode: %s", e.msg);
    env_receipt d;
    if (env_receipt_decode(b.p, b.len, a, &d, &e) != 0)
        fail_msg("decode: %s", e.msg);
    assert_int_equal(d.version, r->version);
    assert_string_equal(d.id, r->id);
    assert_memory_equal(d.digest, r->digest, ENV_DIGEST_LEN);
    assert_int_equal(d.status, r->status);
    assert_true(!d.reason == !r->reason);
    if (r->reason)
        assert_string_equal(d.reason, r->reason);
    assert_true(d.at_ms == r->at_ms);
    assert_int_equal(env_receipt_encode(&d, &b2, &e), 0);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.p, b2.p, b.len);
    buf_free(&b);
    buf_free(&b2);
}

static void test_receipt_round_trip(void **state)
{
    arena_t *a = *state;
    env v;
    sent_env(&v);
    env_receipt r;
    err_t e;
    assert_int_equal(env_receipt_init(&r, &v, ENV_STORED, NULL, 1234, &e), 0);
    assert_memory_equal(r.digest, abc_sha256, ENV_DIGEST_LEN);
    receipt_trip(a, &r);
    r.status = ENV_DUPLICATE;
    r.at_ms = UINT64_MAX;
    receipt_trip(a, &r);
    r.status = ENV_REFUSED;
    r.reason = "wrong-destination: SC is not among [SH]";
    receipt_trip(a, &r);
    assert_string_equal(env_status_name(ENV_DUPLICATE), "duplicate");
    assert_string_equal(env_status_name((env_status)9), "?");
}

static void test_receipt_check(void **state)
{
    (void)state;
    env v;
    sent_env(&v);
    env_receipt r;
    err_t e;
    assert_int_equal(env_receipt_init(&r, &v, ENV_STORED, NULL, 1, &e), 0);
    assert_int_equal(env_receipt_check(&r, &v, &e), 0);
    v.payload = (const unsigned char *)"abd";
    assert_int_equal(env_receipt_check(&r, &v, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "digest differs"));
    v.payload = (const unsigned char *)"abc";
    strcpy(v.id, "01HRHZ2K00041061050R3GG28B");
    assert_int_equal(env_receipt_check(&r, &v, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "for message 01HRHZ2K00041061050R3GG28A"));
    v.payload = NULL; /* an empty payload has a digest too */
    v.payload_len = 0;
    assert_int_equal(env_receipt_init(&r, &v, ENV_STORED, NULL, 1, &e), 0);
    assert_int_equal(r.digest[0], 0xe3);
}

static void test_receipt_validate(void **state)
{
    (void)state;
    env v;
    sent_env(&v);
    env_receipt r;
    err_t e;
    buf_t b;
    buf_init(&b, ENV_RECEIPT_MAX);
    assert_int_equal(env_receipt_init(&r, &v, ENV_REFUSED, NULL, 1, &e), 0);
    assert_int_equal(env_receipt_encode(&r, &b, &e), ERR_INVALID);
    assert_string_equal(e.msg, "receipt key \"reason\": a refusal needs a "
                        "reason");
    r.status = ENV_STORED;
    r.reason = "fine";
    assert_int_equal(env_receipt_encode(&r, &b, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "only a refusal has a reason"));
    r.status = ENV_REFUSED;
    r.reason = "bad\x1b[31m";
    assert_int_equal(env_receipt_encode(&r, &b, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "control character U+001B"));
    r.reason = "";
    assert_int_equal(env_receipt_encode(&r, &b, &e), ERR_INVALID);
    r.status = (env_status)7;
    r.reason = NULL;
    assert_int_equal(env_receipt_encode(&r, &b, &e), ERR_INVALID);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

/* ---- malformed receipts, built with msgpack-c ---- */

static void refuse(arena_t *a, const msgpack_sbuffer *sb, int want,
                   const char *part)
{
    env_receipt r;
    err_t e;
    err_clear(&e);
    int rc = env_receipt_decode(sb->data, sb->size, a, &r, &e);
    if (rc != want || e.code != want || !strstr(e.msg, part))
        fail_msg("rc %d (%s), want %d with '%s'", rc, e.msg, want, part);
}

static void kstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* A receipt of nkeys keys; key `bad` is written as key_name with a nil
 * value when val is NULL, or with val as a string. */
static void receipt_with(msgpack_sbuffer *sb, unsigned nkeys, int bad,
                         const char *key_name, const char *val)
{
    static const char *keys[] = {"v", "id", "digest", "status", "reason",
                                 "at"};
    static const unsigned char d[ENV_DIGEST_LEN];
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, nkeys);
    for (int i = 0; i < (int)nkeys && i < 6; i++) {
        kstr(&pk, i == bad ? key_name : keys[i]);
        if (i == bad && val)
            kstr(&pk, val);
        else if (i == bad)
            msgpack_pack_nil(&pk);
        else if (i == 0)
            msgpack_pack_uint32(&pk, 1);
        else if (i == 1)
            kstr(&pk, "01HRHZ2K00041061050R3GG28A");
        else if (i == 2)
            msgpack_pack_bin_with_body(&pk, d, sizeof d);
        else if (i == 3)
            kstr(&pk, "stored");
        else if (i == 4)
            msgpack_pack_nil(&pk);
        else
            msgpack_pack_uint64(&pk, 99);
    }
}

static void refuse_with(arena_t *a, unsigned nkeys, int bad, const char *k,
                        const char *val, int want, const char *part)
{
    msgpack_sbuffer sb;
    receipt_with(&sb, nkeys, bad, k, val);
    refuse(a, &sb, want, part);
    msgpack_sbuffer_destroy(&sb);
}

static void test_receipt_refusals(void **state)
{
    arena_t *a = *state;
    refuse_with(a, 6, -1, NULL, NULL, 0, ""); /* the baseline decodes */
    refuse_with(a, 5, -1, NULL, NULL, ERR_INVALID,
                "receipt: version 1 has 6 keys, this one 5");
    refuse_with(a, 6, 1, "ID", "x", ERR_INVALID,
                "receipt key 1: \"ID\", expected \"id\"");
    refuse_with(a, 6, 0, "id", "x", ERR_INVALID,
                "receipt key 0: \"id\", expected \"v\"");
    refuse_with(a, 6, 3, "status", "kept", ERR_INVALID,
                "receipt key \"status\": \"kept\" is not stored, duplicate "
                "or refused");
    refuse_with(a, 6, 1, "id", "not-an-id", ERR_INVALID,
                "receipt key \"id\": message id: 9 characters");
    refuse_with(a, 6, 2, "digest", "abc", ERR_INVALID,
                "receipt key \"digest\": expected bin, got a string");
    refuse_with(a, 6, 5, "at", NULL, ERR_INVALID,
                "receipt key \"at\": expected an unsigned integer, got nil");
    refuse_with(a, 6, 4, "reason", "why", ERR_INVALID,
                "only a refusal has a reason");
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 7);
    kstr(&pk, "v");
    msgpack_pack_uint32(&pk, 2);
    refuse(a, &sb, ERR_UNSUPPORTED, "receipt: version 2 not supported; this "
           "node reads version 1");
    msgpack_sbuffer_destroy(&sb);
    receipt_with(&sb, 6, -1, NULL, NULL);
    msgpack_sbuffer_write(&sb, "\x00", 1);
    refuse(a, &sb, ERR_SYNTAX, "receipt: 1 trailing bytes after the map");
    for (size_t n = 0; n + 1 < sb.size; n++) {
        env_receipt r;
        if (env_receipt_decode(sb.data, n, a, &r, NULL) == 0)
            fail_msg("prefix of %zu bytes accepted", n);
    }
    msgpack_sbuffer_destroy(&sb);
    env_receipt r;
    err_t e;
    assert_int_equal(env_receipt_decode("\x90", 1, a, &r, &e), ERR_INVALID);
    assert_string_equal(e.msg, "receipt: expected a map, got an array");
    static const char big[ENV_RECEIPT_MAX + 1];
    assert_int_equal(env_receipt_decode(big, sizeof big, a, &r, &e),
                     ERR_TOOBIG);
}

/* A short digest, built by hand: bin of 31 bytes. */
static void test_receipt_digest_len(void **state)
{
    arena_t *a = *state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    static const unsigned char d[31];
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    kstr(&pk, "v");
    msgpack_pack_uint32(&pk, 1);
    kstr(&pk, "id");
    kstr(&pk, "01HRHZ2K00041061050R3GG28A");
    kstr(&pk, "digest");
    msgpack_pack_bin_with_body(&pk, d, sizeof d);
    refuse(a, &sb, ERR_INVALID, "receipt key \"digest\": 31 bytes; a "
           "SHA-256 digest is 32");
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_doc_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receipt_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_receipt_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receipt_validate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_receipt_refusals, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_receipt_digest_len, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
