/* Unit tests for the envelope decoder's refusals: each malformed frame
 * is refused with the code and the message naming its field
 * ("envelope field 4 (destinations): more than 64 entries"), including
 * non-canonical msgpack, every truncation, trailing bytes, the frame cap
 * and an arena too small. Frames are built with msgpack-c's own packer,
 * one field replaced by raw bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "envelope.h"

#define ID "01HV6Y3K2M8Q4R5S6T7V8W9X0Y"
#define CREATED 1710000000000ull

static const unsigned char good_payload[] = {0x92, 0x01, 0x80};
static unsigned char good_sig[ENV_BATCH_SIG_MAX];
static const char *good_alg = "ed25519"; /* field 9; field 11 matches */

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

static void good_field(msgpack_packer *pk, int i)
{
    static const char *const strs[] = {NULL, ID, "record", "CQ"};
    switch (i) {
    case 0: msgpack_pack_uint32(pk, 1); break;
    case 1: case 2: case 3:
        msgpack_pack_str_with_body(pk, strs[i], strlen(strs[i]));
        break;
    case 4:
        msgpack_pack_array(pk, 2);
        msgpack_pack_str_with_body(pk, "SC", 2);
        msgpack_pack_str_with_body(pk, "SH", 2);
        break;
    case 5: msgpack_pack_array(pk, 1); msgpack_pack_str_with_body(pk, "CQ", 2); break;
    case 6: msgpack_pack_uint64(pk, CREATED); break;
    case 7: msgpack_pack_str_with_body(pk, "CQ24030601", 10); break;
    case 8: msgpack_pack_bin_with_body(pk, good_payload, 3); break;
    case 9: msgpack_pack_str_with_body(pk, good_alg, strlen(good_alg)); break;
    case 10: msgpack_pack_str_with_body(pk, "CQ", 2); break;
    case 11: msgpack_pack_bin_with_body(pk, good_sig, 64); break;
    default: msgpack_pack_nil(pk);
    }
}

/* A frame of nfields fields, field `field` replaced by raw[0..n). */
static void frame(msgpack_sbuffer *sb, unsigned nfields, int field,
                  const void *raw, size_t n)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, nfields);
    for (int i = 0; i < (int)nfields; i++)
        if (i == field)
            msgpack_sbuffer_write(sb, raw, n);
        else
            good_field(&pk, i);
}

static void refuse_bytes(arena_t *a, const void *p, size_t n, int want,
                         const char *part)
{
    env *d = NULL;
    err_t e;
    err_clear(&e);
    int rc = env_decode(p, n, a, &d, &e);
    if (rc != want || e.code != want || !strstr(e.msg, part))
        fail_msg("rc %d (%s), want %d with '%s'", rc, e.msg, want, part);
    if (want)
        assert_null(d);
}

static void refuse(arena_t *a, int field, const void *raw, size_t n,
                   int want, const char *part)
{
    msgpack_sbuffer sb;
    frame(&sb, ENV_V1_FIELDS, field, raw, n);
    refuse_bytes(a, sb.data, sb.size, want, part);
    msgpack_sbuffer_destroy(&sb);
}

/* raw msgpack of one value written by a packer call */
typedef struct raw {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} raw;

static msgpack_packer *raw_begin(raw *r)
{
    msgpack_sbuffer_init(&r->sb);
    msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
    return &r->pk;
}

static void refuse_raw(arena_t *a, int field, raw *r, int want,
                       const char *part)
{
    refuse(a, field, r->sb.data, r->sb.size, want, part);
    msgpack_sbuffer_destroy(&r->sb);
}

static void refuse_str(arena_t *a, int field, const char *s, int want,
                       const char *part)
{
    raw r;
    msgpack_pack_str_with_body(raw_begin(&r), s, strlen(s));
    refuse_raw(a, field, &r, want, part);
}

/* An array of n strings "N0", "N1"... (first = "CQ" for a route) */
static void refuse_ids(arena_t *a, int field, unsigned n, const char *first,
                       int want, const char *part)
{
    raw r;
    msgpack_pack_array(raw_begin(&r), n);
    for (unsigned i = 0; i < n; i++) {
        char s[16];
        snprintf(s, sizeof s, "N%u", i);
        const char *x = i == 0 && first ? first : s;
        msgpack_pack_str_with_body(&r.pk, x, strlen(x));
    }
    refuse_raw(a, field, &r, want, part);
}

static void test_refuse_shape(void **state)
{
    arena_t *a = *state;
    refuse_bytes(a, "\x80", 1, ERR_INVALID,
                 "envelope: expected an array, got a map");
    refuse_bytes(a, "\x90", 1, ERR_INVALID, "envelope: empty array");
    refuse_bytes(a, "", 0, ERR_SYNTAX, "envelope: truncated");
    refuse_bytes(a, "\x91\x02", 2, ERR_UNSUPPORTED,
                 "envelope field 0 (version): version 2 not supported; "
                 "this node reads version 1");
    refuse_bytes(a, "\x9e\x07", 2, ERR_UNSUPPORTED, "version 7");
    refuse_bytes(a, "\x91\xa1" "1", 3, ERR_INVALID, "envelope field 0 "
                 "(version): expected an unsigned integer, got a string");
    /* a huge count costs nothing: refused before any allocation */
    refuse_bytes(a, "\xdd\xff\xff\xff\xff\x01", 6, ERR_INVALID,
                 "version 1 has 12 fields, this one 4294967295");
    msgpack_sbuffer sb;
    frame(&sb, 11, -1, NULL, 0);
    refuse_bytes(a, sb.data, sb.size, ERR_INVALID,
                 "envelope: version 1 has 12 fields, this one 11");
    msgpack_sbuffer_destroy(&sb);
    frame(&sb, 13, -1, NULL, 0);
    refuse_bytes(a, sb.data, sb.size, ERR_INVALID, "this one 13");
    msgpack_sbuffer_destroy(&sb);
    /* trailing bytes, and every truncation of a good frame */
    frame(&sb, 12, -1, NULL, 0);
    msgpack_sbuffer_write(&sb, "\xc0", 1);
    refuse_bytes(a, sb.data, sb.size, ERR_SYNTAX,
                 "envelope: 1 trailing bytes after the array");
    for (size_t n = 0; n + 1 < sb.size; n++) {
        env *d = NULL;
        if (env_decode(sb.data, n, a, &d, NULL) == 0)
            fail_msg("prefix of %zu bytes accepted", n);
    }
    env *d = NULL;
    assert_int_equal(env_decode(sb.data, sb.size - 1, a, &d, NULL), 0);
    msgpack_sbuffer_destroy(&sb);
}

static void test_refuse_noncanonical(void **state)
{
    arena_t *a = *state;
    /* created as uint64 while it fits 32 bits; type in str8 while short */
    refuse(a, 6, "\xcf\x00\x00\x00\x00\xff\xff\xff\xff", 9, ERR_SYNTAX,
           "envelope field 6 (created): an unsigned integer not in its "
           "shortest msgpack form (0xcf)");
    refuse(a, 6, "\xcd\x00\xff", 3, ERR_SYNTAX, "field 6 (created)");
    refuse(a, 2, "\xd9\x06record", 8, ERR_SYNTAX,
           "field 2 (type): a string not in its shortest");
    refuse(a, 0, "\xcc\x01", 2, ERR_SYNTAX, "field 0 (version)");
    refuse(a, 4, "\xdc\x00\x01\xa2SC", 6, ERR_SYNTAX, "field 4");
    refuse(a, 8, "\xc5\x00\x03\x92\x01\x80", 6, ERR_SYNTAX, "field 8");
    refuse(a, 6, "\xd3\x00\x00\x01\x8e\x23\xf1\x4c\x00", 9, ERR_INVALID,
           "field 6 (created): expected an unsigned integer, got an "
           "integer");
}

static void test_refuse_head(void **state)
{
    arena_t *a = *state;
    refuse(a, 1, "\x01", 1, ERR_INVALID,
           "envelope field 1 (id): expected a string, got an integer");
    refuse_str(a, 1, "01hv6y3k2m8q4r5s6t7v8w9x0y", ERR_INVALID,
               "envelope field 1 (id): not a ULID: character 3");
    refuse_str(a, 1, "01HV6Y3K2M8Q4R5S6T7V8W9X0YZZZZ", ERR_TOOBIG,
               "envelope field 1 (id): 30 bytes, more than 26");
    refuse_str(a, 1, "01HV6Y3K2M", ERR_INVALID, "10 characters");
    refuse_str(a, 2, "Record", ERR_INVALID,
               "envelope field 2 (type): type must be a-z");
    refuse_str(a, 2, "", ERR_INVALID, "field 2 (type): type must be 1 to");
    refuse_str(a, 2, "abcdefghijklmnopqrstuvwxyz0123456", ERR_TOOBIG,
               "field 2 (type): 33 bytes, more than 32");
    refuse_str(a, 3, "C", ERR_INVALID,
               "envelope field 3 (origin): node id must be 2 to 32");
    refuse_str(a, 3, "CQ.1", ERR_INVALID, "field 3 (origin): node id may "
               "hold only");
    refuse(a, 3, "\xa3" "C\0Q", 4, ERR_INVALID,
           "field 3 (origin): contains a NUL byte");
}

static void test_refuse_lists(void **state)
{
    arena_t *a = *state;
    refuse(a, 4, "\x90", 1, ERR_INVALID,
           "envelope field 4 (destinations): no entries");
    refuse_ids(a, 4, 65, NULL, ERR_TOOBIG,
               "envelope field 4 (destinations): more than 64 entries");
    refuse(a, 4, "\xdd\xff\xff\xff\xff", 5, ERR_TOOBIG,
           "field 4 (destinations): more than 64 entries");
    refuse(a, 4, "\x92\xa2SC\x07", 5, ERR_INVALID,
           "envelope field 4 (destinations) entry 1: expected a string, "
           "got an integer");
    refuse(a, 4, "\x92\xa2SC\xa2SC", 7, ERR_INVALID,
           "envelope field 4 (destinations): SC appears twice");
    refuse(a, 4, "\x92\xa2SC\xa2sc", 7, ERR_INVALID,
           "field 4 (destinations): entry 1: node id may hold only");
    refuse(a, 4, "\x91\xa2" "CQ", 4, ERR_INVALID,
           "field 4 (destinations): origin CQ is also a destination");
    refuse(a, 4, "\xa2SC", 3, ERR_INVALID,
           "field 4 (destinations): expected an array, got a string");
    refuse(a, 5, "\x90", 1, ERR_INVALID, "envelope field 5 (route): no "
           "entries");
    refuse_ids(a, 5, 33, "CQ", ERR_TOOBIG,
               "envelope field 5 (route): more than 32 entries");
    refuse(a, 5, "\x91\xa2SN", 4, ERR_INVALID,
           "envelope field 5 (route): starts with SN, not the origin CQ");
    refuse(a, 5, "\x93\xa2" "CQ\xa2SN\xa2" "CQ", 10, ERR_INVALID,
           "envelope field 5 (route): CQ appears twice");
    refuse_ids(a, 5, 32, "CQ", 0, ""); /* 32 hops are fine */
}

static void test_refuse_tail(void **state)
{
    arena_t *a = *state;
    refuse(a, 6, "\xff", 1, ERR_INVALID, "envelope field 6 (created): "
           "expected an unsigned integer, got an integer");
    refuse_str(a, 7, "", ERR_INVALID, "envelope field 7 (ref): empty (use "
               "nil)");
    refuse_str(a, 7, "CQ\xc3(01", ERR_INVALID,
               "envelope field 7 (ref): invalid UTF-8 at byte 2");
    refuse_str(a, 7, "\xed\xa0\x80", ERR_INVALID, "invalid UTF-8 at byte 0");
    refuse_str(a, 7, "\xc0\xaf", ERR_INVALID, "invalid UTF-8"); /* overlong */
    refuse_str(a, 7, "CQ\n01", ERR_INVALID,
               "envelope field 7 (ref): control character U+000A at byte 2");
    refuse(a, 7, "\xa3" "C\0Q", 4, ERR_INVALID, "field 7 (ref): contains a "
           "NUL byte");
    char big[ENV_REF_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    refuse_str(a, 7, big, ERR_TOOBIG, "field 7 (ref): 257 bytes, more "
               "than 256");
    refuse(a, 8, "\xa3\x92\x01\x80", 4, ERR_INVALID,
           "envelope field 8 (payload): expected bin, got a string");
    refuse(a, 8, "\xc6\x7f\xff\xff\xff", 5, ERR_TOOBIG,
           "field 8 (payload): 2147483647 bytes, more than 16711680");
    refuse(a, 8, "\xc4\xff", 2, ERR_SYNTAX, /* the rest is < 255 bytes */
           "field 8 (payload): truncated: 255 bytes needed");
    refuse_str(a, 9, "rsa", ERR_UNSUPPORTED, "envelope field 9 (sig_alg): "
               "\"rsa\" not supported; this node knows ed25519, "
               "ecdsa-p256, ed25519-batch and ecdsa-p256-batch");
    refuse_str(a, 10, "SC", ERR_INVALID,
               "envelope field 10 (signer): SC is not the origin CQ");
    refuse(a, 11, "\xc4\x00", 2, ERR_INVALID,
           "envelope field 11 (signature): missing");
    refuse(a, 11, "\xc4\x03xyz", 5, ERR_INVALID,
           "field 11 (signature): 3 bytes; ed25519 signatures are 64");
    refuse(a, 11, "\xc4\x49", 2, ERR_TOOBIG,
           "field 11 (signature): 73 bytes, more than 72");
    refuse(a, 11, "\xc0", 1, ERR_INVALID, "field 11 (signature): expected "
           "bin, got nil");
}

/* Field 11 under a batch sig_alg: head, proof, base signature, each
 * length exact (docs/protocol.md section 4, "Batch signatures"). */
static void refuse_batch_sig(arena_t *a, const char *alg, const void *sig,
                             size_t n, int want, const char *part)
{
    raw r;
    good_alg = alg;
    msgpack_pack_bin_with_body(raw_begin(&r), sig, n);
    refuse_raw(a, 11, &r, want, part);
    good_alg = "ed25519";
}

static void test_refuse_batch_sig(void **state)
{
    arena_t *a = *state;
    unsigned char s[3 + 17 * 32 + 64]; /* past every cap */
    memset(s, 0xab, sizeof s);
    s[0] = 2, s[1] = 0, s[2] = 3;           /* depth 2, leaf 3 */
    const char *ed = "ed25519-batch", *ec = "ecdsa-p256-batch";
    refuse_batch_sig(a, ed, s, 3 + 64 + 64, 0, ""); /* accepted */
    refuse_batch_sig(a, ec, s, 3 + 64 + 8, 0, "");
    refuse_batch_sig(a, ec, s, 3 + 64 + 72, 0, "");
    refuse_batch_sig(a, ed, s, 2, ERR_INVALID, "envelope field 11 "
                     "(signature): 2 bytes, shorter than the 3-byte head of "
                     "a batch proof");
    refuse_batch_sig(a, ed, s, 3 + 64 + 63, ERR_INVALID, "field 11 "
                     "(signature): 63 bytes of root signature; ed25519 "
                     "signatures are 64");
    refuse_batch_sig(a, ec, s, 3 + 64 + 73, ERR_INVALID, "73 bytes of root "
                     "signature; ecdsa-p256 signatures (DER) are 8 to 72");
    refuse_batch_sig(a, ec, s, 3 + 64 + 7, ERR_INVALID, "7 bytes of root");
    refuse_batch_sig(a, ed, s, 3 + 64, ERR_INVALID, "67 bytes, too short "
                     "for a batch proof of depth 2 (67 bytes) and a root "
                     "signature");
    s[2] = 4;
    refuse_batch_sig(a, ed, s, 3 + 64 + 64, ERR_INVALID, "field 11 "
                     "(signature): batch leaf index 4 not below 2^2");
    s[0] = 0, s[1] = 0, s[2] = 1;
    refuse_batch_sig(a, ed, s, 3 + 64, ERR_INVALID, "index 1 not below 2^0");
    s[0] = 17, s[2] = 0;
    refuse_batch_sig(a, ed, s, 3 + 17 * 32 + 64, ERR_TOOBIG, "field 11 "
                     "(signature): 611 bytes, more than 587");
    refuse_batch_sig(a, ed, s, 3 + 64, ERR_INVALID, "batch proof depth 17, "
                     "more than 16");
    s[0] = 16;
    refuse_batch_sig(a, ec, s, ENV_BATCH_SIG_MAX, 0, "");
    refuse_batch_sig(a, ec, s, ENV_BATCH_SIG_MAX + 1, ERR_TOOBIG,
                     "588 bytes, more than 587");
    /* a single signature keeps its own cap */
    refuse_batch_sig(a, "ecdsa-p256", s, 73, ERR_TOOBIG, "field 11 "
                     "(signature): 73 bytes, more than 72");
}

static void test_decode_caps(void **state)
{
    arena_t *a = *state;
    size_t n = ENV_MAX_FRAME + 1u;
    char *huge = calloc(1, n);
    assert_non_null(huge);
    refuse_bytes(a, huge, n, ERR_TOOBIG, "envelope: frame of 16777217 "
                 "bytes, more than 16777216");
    free(huge);
    /* an arena too small for the payload is an error, not a crash */
    static const unsigned char pay[1000];
    raw r;
    msgpack_pack_bin_with_body(raw_begin(&r), pay, sizeof pay);
    msgpack_sbuffer sb;
    frame(&sb, ENV_V1_FIELDS, ENV_F_PAYLOAD, r.sb.data, r.sb.size);
    arena_t small;
    arena_init(&small, 512);
    env *d = NULL;
    err_t e;
    assert_int_equal(env_decode(sb.data, sb.size, &small, &d, &e), ERR_NOMEM);
    assert_null(d);
    assert_non_null(strstr(e.msg, "field 8 (payload): arena full"));
    assert_int_equal(env_decode(sb.data, sb.size, a, &d, &e), 0);
    arena_free(&small);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&r.sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refuse_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_noncanonical, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refuse_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_batch_sig, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_decode_caps, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
