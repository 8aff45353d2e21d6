/* batchsig: batches of 1 to 1000 envelopes signed once with Ed25519 and
 * ECDSA P-256 keys made for the run by deploy/pki; every envelope then
 * verifies alone, in any order, after a hop and a re-encoding, with one
 * root signature check per batch; and every kind of tampering (payload,
 * swapped or truncated proofs, wrong index, forged root signature, a root
 * vouching for another signer) is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "../tests/pki_fixture.h"
#include "batchsig.h"

static test_pki t;
static char *pkidir = t.pki;
static pki_store *store;
static pki_key *ed_key, *ec_key, *sc_key; /* CQ, EC, SC */
static pki_peer *ed_peer, *ec_peer, *sc_peer;
static arena_t arena;

static int load(const char *node, pki_key **k, pki_peer **p)
{
    char path[400];
    err_t e;
    snprintf(path, sizeof path, "%s/%s.key", pkidir, node);
    if (pki_key_load(path, k, &e))
        return -1;
    snprintf(path, sizeof path, "%s/%s.crt", pkidir, node);
    return pki_peer_load(store, path, time(NULL), p, &e);
}

static int setup(void **state)
{
    (void)state;
    if (test_pki_init(&t, "batchsig_test") ||
        test_pki_run(&t, "issue CQ --region CQ") ||
        test_pki_run(&t, "issue SC --region SC") ||
        test_pki_run(&t, "issue EC --region SH --key-type ecdsa-p256"))
        return -1;
    char ca[400];
    test_pki_path(&t, ca, sizeof ca, "ca.crt");
    err_t e;
    store = pki_store_load(ca, NULL, &e);
    arena_init(&arena, 256u << 20);
    return !store || load("CQ", &ed_key, &ed_peer) ||
           load("EC", &ec_key, &ec_peer) || load("SC", &sc_key, &sc_peer);
}

static int teardown(void **state)
{
    (void)state;
    pki_key_free(ed_key), pki_key_free(ec_key), pki_key_free(sc_key);
    pki_peer_free(ed_peer), pki_peer_free(ec_peer), pki_peer_free(sc_peer);
    pki_store_free(store);
    arena_free(&arena);
    test_pki_free(&t);
    return 0;
}

/* ---- helpers ---- */

static const char *dest_sn[] = {"SN"};

/* n unsigned "record" envelopes from origin to SN, payloads all distinct */
static env **batch(const char *origin, size_t n)
{
    env **v = arena_alloc(&arena, n * sizeof *v);
    assert_non_null(v);
    err_t e;
    for (size_t i = 0; i < n; i++) {
        v[i] = arena_zalloc(&arena, sizeof *v[i]);
        assert_non_null(v[i]);
        if (env_init(v[i], "record", origin, &arena, &e))
            fail_msg("env_init: %s", e.msg);
        v[i]->dest = dest_sn;
        v[i]->ndest = 1;
        char *p = arena_alloc(&arena, 32);
        assert_non_null(p);
        v[i]->payload_len = (size_t)snprintf(p, 32, "record %zu", i);
        v[i]->payload = (const unsigned char *)p;
    }
    return v;
}

static void sign(const pki_key *k, env **v, size_t n)
{
    err_t e;
    if (batchsig_sign(k, v, n, &arena, &e))
        fail_msg("batchsig_sign: %s", e.msg);
}

/* The envelope as a receiver has it: encoded, decoded (and the decoding
 * encodes back to the same bytes). */
static env *wire(const env *v)
{
    buf_t b, again;
    err_t e;
    env *d = NULL;
    buf_init(&b, ENV_MAX_FRAME);
    buf_init(&again, ENV_MAX_FRAME);
    if (env_encode(v, &b, &e) || env_decode(b.p, b.len, &arena, &d, &e) ||
        env_encode(d, &again, &e))
        fail_msg("wire: %s", e.msg);
    assert_int_equal(again.len, b.len);
    assert_memory_equal(again.p, b.p, b.len);
    buf_free(&b);
    buf_free(&again);
    return d;
}

static int verify(batchsig_cache *c, const pki_peer *p, const env *v,
                  err_t *e)
{
    buf_t b;
    buf_init(&b, ENV_MAX_FRAME);
    if (env_signed_bytes(v, &b, e))
        fail_msg("signed bytes: %s", e->msg);
    int rc = batchsig_verify(c, p, v, b.p, b.len, e);
    buf_free(&b);
    return rc;
}

static batchsig_cache *cache(size_t entries)
{
    batchsig_cache *c = NULL;
    err_t e;
    assert_int_equal(batchsig_cache_new(entries, &c, &e), 0);
    return c;
}

static void want_stats(const batchsig_cache *c, uint64_t hits,
                       uint64_t misses, uint64_t failures)
{
    batchsig_stats st;
    batchsig_cache_stats(c, &st);
    if (st.hits != hits || st.misses != misses || st.failures != failures)
        fail_msg("stats hits %llu misses %llu failures %llu, want %llu %llu "
                 "%llu", (unsigned long long)st.hits,
                 (unsigned long long)st.misses,
                 (unsigned long long)st.failures, (unsigned long long)hits,
                 (unsigned long long)misses, (unsigned long long)failures);
}

static void want_refused(batchsig_cache *c, const pki_peer *p, const env *v,
                         int code, const char *part)
{
    err_t e;
    err_clear(&e);
    /* the signed bytes made by batchsig: env_signed_bytes, which checks
     * the signature's layout too, would refuse some of these */
    int rc = batchsig_verify(c, p, v, NULL, 0, &e);
    if (rc != code || !strstr(e.msg, part))
        fail_msg("rc %d (%s), want %d with '%s'", rc, e.msg, code, part);
}

static unsigned depth_of(size_t n)
{
    unsigned d = 0;
    while (((size_t)1 << d) < n)
        d++;
    return d;
}

/* ---- tests ---- */

/* Sign n, then verify each from the wire in a shuffled order (with a hop
 * added to every other one): one root check, n - 1 cache hits. */
static void round_trip(const pki_key *k, const pki_peer *p, const char *node,
                       size_t n)
{
    env **v = batch(node, n);
    sign(k, v, n);
    batchsig_cache *c = cache(4096);
    size_t step = 11; /* prime to every n tested: a permutation */
    for (size_t j = 0; j < n; j++) {
        size_t i = (j * step + n / 2) % n;
        assert_true(batchsig_is_batch_alg(v[i]->sig_alg));
        assert_int_equal(v[i]->sig[0], depth_of(n));
        assert_int_equal(v[i]->sig[1] << 8 | v[i]->sig[2], i);
        env *d = wire(v[i]);
        err_t e;
        if (j % 2 && env_route_add(d, "SH", &arena, &e) == 0)
            d = wire(d); /* a hop: the route is outside the signed bytes */
        if (verify(c, p, d, &e))
            fail_msg("n %zu envelope %zu: %s", n, i, e.msg);
    }
    want_stats(c, n - 1, 1, 0);
    batchsig_cache_free(c);
    arena_reset(&arena);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 3, 7, 256, 1000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        round_trip(ed_key, ed_peer, "CQ", sizes[i]);
        round_trip(ec_key, ec_peer, "EC", sizes[i]);
    }
}

static void test_alg_names_and_layout(void **state)
{
    (void)state;
    assert_string_equal(batchsig_alg_name(PKI_ED25519), "ed25519-batch");
    assert_string_equal(batchsig_alg_name(PKI_ECDSA_P256), "ecdsa-p256-batch");
    assert_true(batchsig_is_batch_alg("ecdsa-p256-batch"));
    assert_false(batchsig_is_batch_alg("ed25519"));
    env **v = batch("CQ", 5);
    sign(ed_key, v, 5);
    /* depth 3, index, 3 siblings, 64 bytes of Ed25519 */
    assert_int_equal(v[4]->sig_len, 3 + 3 * 32 + 64);
    assert_string_equal(v[4]->sig_alg, "ed25519-batch");
    env_batch_proof pr;
    err_t e;
    assert_int_equal(env_batch_split(v[4], &pr, &e), 0);
    assert_int_equal(pr.depth, 3);
    assert_int_equal(pr.index, 4);
    assert_int_equal(pr.sig_len, 64);
    /* leaf 4's sibling at level 0 is leaf 5, past the batch: the empty
     * hash SHA-256(0x02) */
    static const unsigned char e0[] = {0xdb, 0xc1, 0xb4, 0xc9};
    assert_memory_equal(pr.siblings, e0, sizeof e0);
    /* all share one root signature */
    assert_memory_equal(v[0]->sig + 3 + 96, pr.sig, 64);
    arena_reset(&arena);
}

/* A copy of v whose signature the test may change (len bytes of it). */
static env *altered(const env *v, size_t len)
{
    env *d = wire(v);
    unsigned char *s = arena_alloc(&arena, v->sig_len + 1);
    memcpy(s, v->sig, v->sig_len);
    d->sig = s;
    d->sig_len = len;
    return d;
}

static void tamper(const pki_key *k, const pki_peer *p, const char *node,
                   batchsig_cache *c)
{
    env **v = batch(node, 7);
    sign(k, v, 7);
    assert_int_equal(verify(c, p, v[0], &(err_t){0}), 0); /* root cached */
    env *d = wire(v[1]);
    d->payload = (const unsigned char *)"record 9";
    want_refused(c, p, d, ERR_SIGNATURE, "root signature: batch root");
    d = altered(v[1], v[1]->sig_len);
    memcpy((unsigned char *)d->sig, v[2]->sig, v[2]->sig_len);
    d->sig_len = v[2]->sig_len; /* v[2]'s proof on v[1] */
    want_refused(c, p, d, ERR_SIGNATURE, "does not carry");
    d = altered(v[1], v[1]->sig_len);
    ((unsigned char *)d->sig)[2] = 3; /* index 3: a valid layout */
    want_refused(c, p, d, ERR_SIGNATURE, "(leaf 3 of depth 3)");
    ((unsigned char *)d->sig)[2] = 8; /* past 2^3 */
    want_refused(c, p, d, ERR_SIGNATURE, "proof layout: envelope field 11 "
                 "(signature): batch leaf index 8 not below 2^3");
    d = altered(v[1], v[1]->sig_len - 1); /* a DER signature may be shorter */
    want_refused(c, p, d, ERR_SIGNATURE, strcmp(node, "CQ") ? "root signature"
                 : "proof layout: envelope field 11 (signature): 63 bytes of "
                   "root signature; ed25519 signatures are 64");
    d = altered(v[1], 3 + 2 * 32); /* two levels only, no signature */
    want_refused(c, p, d, ERR_SIGNATURE, "too short for a batch proof");
}

static void test_tamper(void **state)
{
    (void)state;
    batchsig_cache *c = cache(64);
    tamper(ed_key, ed_peer, "CQ", c);
    tamper(ec_key, ec_peer, "EC", c);
    /* the good root was cached: no failure cost a second check of it */
    want_stats(c, 0, 2, 12);
    batchsig_cache_free(c);
    arena_reset(&arena);
}

/* A forged root signature is caught while the root is not yet cached. */
static void test_forged_root_signature(void **state)
{
    (void)state;
    batchsig_cache *c = cache(64);
    env **v = batch("EC", 3);
    sign(ec_key, v, 3);
    env *d = altered(v[0], v[0]->sig_len);
    ((unsigned char *)d->sig)[d->sig_len - 5] ^= 0x40;
    want_refused(c, ec_peer, d, ERR_SIGNATURE, "root signature");
    /* and still once the genuine root is known: the cache holds the
     * signature too, so validity never depends on what a node has seen */
    assert_int_equal(verify(c, ec_peer, v[1], &(err_t){0}), 0);
    want_refused(c, ec_peer, d, ERR_SIGNATURE, "root signature");
    /* an Ed25519 signature by another key over the same root */
    v = batch("CQ", 2);
    sign(ed_key, v, 2);
    env **w = batch("SC", 2);
    sign(sc_key, w, 2);
    d = altered(v[1], v[1]->sig_len);
    memcpy((unsigned char *)d->sig + d->sig_len - 64,
           w[0]->sig + w[0]->sig_len - 64, 64);
    want_refused(c, ed_peer, d, ERR_SIGNATURE, "root signature");
    want_stats(c, 0, 1, 3);
    batchsig_cache_free(c);
    arena_reset(&arena);
}

/* The key decides the algorithm; the certificate must be the signer's;
 * and a root SC signed never vouches for envelopes claiming CQ. */
static void test_signer_rules(void **state)
{
    (void)state;
    batchsig_cache *c = cache(64);
    env **v = batch("CQ", 2);
    sign(ed_key, v, 2);
    want_refused(c, ec_peer, v[0], ERR_SIGNATURE, "sig_alg ed25519-batch "
                 "does not match the certificate's ecdsa-p256 key");
    want_refused(c, sc_peer, v[0], ERR_IDENTITY, "signer CQ");
    /* SC builds a tree over its own envelope and one claiming CQ */
    env **w = batch("SC", 2);
    env **fake = batch("CQ", 1);
    w[1] = fake[0];
    sign(sc_key, w, 2);
    assert_int_equal(verify(c, sc_peer, w[0], &(err_t){0}), 0);
    want_refused(c, ed_peer, w[1], ERR_SIGNATURE, "root signature");
    want_stats(c, 0, 1, 3);
    batchsig_cache_free(c);
    arena_reset(&arena);
}

/* Two batches interleaved, a cache of one set: roots are evicted least
 * recently used first, and clearing forgets them all. */
static void test_cache(void **state)
{
    (void)state;
    batchsig_cache *c = cache(1); /* rounded up to one set of 4 */
    env **b[5];
    for (int i = 0; i < 5; i++) {
        b[i] = batch("CQ", 2);
        sign(ed_key, b[i], 2);
    }
    err_t e;
    for (int i = 0; i < 4; i++)
        assert_int_equal(verify(c, ed_peer, b[i][0], &e), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(verify(c, ed_peer, b[i][1], &e), 0);
    want_stats(c, 4, 4, 0);
    assert_int_equal(verify(c, ed_peer, b[0][0], &e), 0); /* 0 used last */
    assert_int_equal(verify(c, ed_peer, b[4][0], &e), 0); /* evicts 1 */
    assert_int_equal(verify(c, ed_peer, b[0][1], &e), 0);
    assert_int_equal(verify(c, ed_peer, b[1][1], &e), 0);
    batchsig_stats st;
    batchsig_cache_stats(c, &st);
    assert_int_equal(st.evictions, 2);
    want_stats(c, 6, 6, 0);
    batchsig_cache_clear(c);
    assert_int_equal(verify(c, ed_peer, b[0][0], &e), 0);
    want_stats(c, 6, 7, 0);
    /* signed bytes computed by batchsig itself */
    assert_int_equal(batchsig_verify(c, ed_peer, b[0][1], NULL, 0, &e), 0);
    want_stats(c, 7, 7, 0);
    batchsig_cache_free(c);
    arena_reset(&arena);
}

static void test_sign_refusals(void **state)
{
    (void)state;
    err_t e;
    env **v = batch("CQ", 3);
    assert_int_equal(batchsig_sign(ed_key, v, 0, &arena, &e), ERR_INVALID);
    assert_int_equal(batchsig_sign(ed_key, v, BATCHSIG_MAX + 1, &arena, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "1 to 65536 envelopes"));
    strcpy(v[2]->type, "Bad");
    assert_int_equal(batchsig_sign(ed_key, v, 3, &arena, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "batchsig: envelope 2 of 3: envelope "
                           "field 2 (type)"));
    for (int i = 0; i < 3; i++)
        assert_null(v[i]->sig);
    /* an arena too small for the proofs: no envelope left half signed */
    strcpy(v[2]->type, "record");
    arena_t small;
    arena_init(&small, 200);
    assert_int_equal(batchsig_sign(ed_key, v, 3, &small, &e), ERR_NOMEM);
    for (int i = 0; i < 3; i++)
        assert_true(v[i]->sig == NULL && v[i]->sig_len == 0);
    arena_free(&small);
    arena_reset(&arena);
}

/* ---- docs/protocol.md section 11, "A batch byte by byte" ---- */

/* RFC 8032 section 7.1, TEST 1: the secret key as PKCS#8 PEM, and the
 * public key. Ed25519 is deterministic, so the example is exact. */
static const char rfc8032_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
static const unsigned char rfc8032_pub[32] = {
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
    0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
    0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};

static pki_key *rfc8032_key(void)
{
    char path[400];
    snprintf(path, sizeof path, "%s/rfc8032.key", t.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(rfc8032_pem, f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    pki_key *k = NULL;
    err_t e;
    if (pki_key_load(path, &k, &e))
        fail_msg("%s", e.msg);
    return k;
}

/* Envelope 2 of the batch as CQ sends it, route [CQ]; and the root,
 * computed independently of this code base. */
static const unsigned char doc_frame2[] =
    "\x9c\x01\xba\x30\x31\x48\x52\x48\x5a\x32\x4b\x30\x30\x30\x34\x31"
    "\x30\x36\x31\x30\x35\x30\x52\x33\x47\x47\x32\x38\x43\xa4\x70\x69"
    "\x6e\x67\xa2\x43\x51\x91\xa2\x53\x43\x91\xa2\x43\x51\xcf\x00\x00"
    "\x01\x8e\x23\xf1\x4c\x00\xc0\xc4\x00\xad\x65\x64\x32\x35\x35\x31"
    "\x39\x2d\x62\x61\x74\x63\x68\xa2\x43\x51\xc4\x83\x02\x00\x02\xdb"
    "\xc1\xb4\xc9\x00\xff\xe4\x8d\x57\x5b\x5d\xa5\xc6\x38\x04\x01\x25"
    "\xf6\x5d\xb0\xfe\x3e\x24\x49\x4b\x76\xea\x98\x64\x57\xd9\x86\xc5"
    "\xa6\x93\x17\xb7\xab\xa4\x8b\x35\x8b\x3a\xdb\xc1\x27\x1b\x2c\xeb"
    "\xb7\x35\x2a\x64\x04\xda\x4a\x87\x7f\x1f\xe2\xc2\x13\x87\xb4\x21"
    "\x1b\x06\x8b\x74\x47\xc8\x53\x64\xd7\xc7\x0a\x8a\xf4\xa2\x8a\x65"
    "\x72\xe3\xbe\xe9\x40\xdb\x9a\x7e\xc1\x3e\x3a\x1d\xc5\x3d\xf6\xaa"
    "\x05\xe2\x9f\x1c\x29\xd1\x00\x3d\x01\xc6\x0b\xb2\xf8\x3a\xd7\xb5"
    "\x9b\x88\x9a\x7e\xac\x41\x09\x8f\x7f\x52\xe5\xfb\x22\x22\x01";
static const unsigned char doc_root[32] = {
    0xfb, 0x9f, 0x04, 0x56, 0x16, 0x52, 0x88, 0xc7, 0x3f, 0x7f, 0xae,
    0x24, 0xeb, 0x13, 0xd4, 0x27, 0xe6, 0x44, 0x39, 0x72, 0x0e, 0xc6,
    0x84, 0xc4, 0x59, 0x02, 0xae, 0x71, 0xa8, 0x88, 0xe3, 0xd1};

static int ed25519_ok(const void *msg, size_t n, const unsigned char *sig)
{
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
                                              rfc8032_pub, 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = k && c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestVerify(c, sig, 64, msg, n) == 1;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok;
}

/* Three pings CQ -> SC in one batch (depth 2, leaf 3 empty), signed with
 * the RFC 8032 key: envelope 2 is byte for byte the frame of the doc, its
 * proof is [empty leaf, node over leaves 0 and 1], and its signature is
 * the key's over "eport batch v1:" || root. */
static void test_doc_example(void **state)
{
    (void)state;
    static const char *to_sc[] = {"SC"}, *route[] = {"CQ"};
    env v[3], *pv[3];
    for (int i = 0; i < 3; i++) {
        memset(&v[i], 0, sizeof v[i]);
        v[i].version = 1;
        snprintf(v[i].id, sizeof v[i].id, "01HRHZ2K00041061050R3GG28%c",
                 'A' + i);
        strcpy(v[i].type, "ping");
        strcpy(v[i].origin, "CQ");
        strcpy(v[i].signer, "CQ");
        v[i].dest = to_sc, v[i].ndest = 1;
        v[i].route = route, v[i].nroute = 1;
        v[i].created_ms = 1710000000000ull;
        pv[i] = &v[i];
    }
    pki_key *k = rfc8032_key();
    err_t e;
    assert_int_equal(batchsig_sign(k, pv, 3, &arena, &e), 0);
    pki_key_free(k);
    buf_t b;
    buf_init(&b, ENV_MAX_FRAME);
    assert_int_equal(env_encode(&v[2], &b, &e), 0);
    assert_int_equal(b.len, sizeof doc_frame2 - 1);
    assert_memory_equal(b.p, doc_frame2, b.len);
    buf_free(&b);
    env_batch_proof pr;
    assert_int_equal(env_batch_split(&v[2], &pr, &e), 0);
    assert_int_equal(pr.depth, 2);
    assert_int_equal(pr.index, 2);
    unsigned char msg[BATCHSIG_MSG_LEN];
    memcpy(msg, BATCHSIG_PREFIX, BATCHSIG_PREFIX_LEN);
    memcpy(msg + BATCHSIG_PREFIX_LEN, doc_root, 32);
    assert_true(ed25519_ok(msg, sizeof msg, pr.sig));
    msg[0] = 'E'; /* the prefix is signed */
    assert_false(ed25519_ok(msg, sizeof msg, pr.sig));
    /* envelopes 0 and 1 carry the same root signature */
    assert_memory_equal(v[0].sig + v[0].sig_len - 64, pr.sig, 64);
    /* leaves 0 and 1 share their level 1 sibling, the node over 2 and 3 */
    assert_memory_equal(v[0].sig + 3 + 32, v[1].sig + 3 + 32, 32);
    assert_memory_not_equal(v[0].sig + 3 + 32, pr.siblings + 32, 32);
    arena_reset(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_alg_names_and_layout),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_forged_root_signature),
        cmocka_unit_test(test_signer_rules),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_sign_refusals),
        cmocka_unit_test(test_doc_example),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
