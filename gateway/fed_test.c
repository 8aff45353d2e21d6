/* Unit tests for the national center's view: the health message's wire
 * form (round trip, and the strict reader's refusals), keeping health in
 * Redis (newer only, freshness, the v1:in entry deleted), the center's
 * turn reading v1:in, and the JSON of GET /v1/federation and GET
 * /v1/alerts built from Redis. Each test has its own key prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <msgpack.h>

#include "fed_test_util.h"
#include "envelope.h"
#include "fed_int.h"

#define T0 1772700000000LL

/* ---- the wire form ---- */

static void two_peers(fed_health *h)
{
    ftu_health(h, "CQ", "SH", (uint64_t)T0, (uint64_t)T0 - 400, 3);
    h->npeers = 2;
    snprintf(h->peers[1].id, sizeof h->peers[1].id, "NC");
    h->peers[1].awaiting = 200;
    h->local = 1, h->await = 70000, h->dlq = 2, h->lout = 5;
    h->in = 1234, h->out = 99, h->refused = 2, h->delivered = 1ull << 40;
    h->sent = 77, h->sig_failures = 1, h->peer_refused = 4;
}

static void test_health_round_trip(void **state)
{
    (void)state;
    fed_health h, back;
    two_peers(&h);
    buf_t b, b2;
    err_t e;
    buf_init(&b, FED_HEALTH_MAX_BYTES);
    buf_init(&b2, FED_HEALTH_MAX_BYTES);
    assert_int_equal(fed_health_encode(&h, &b, &e), 0);
    assert_int_equal(fed_health_decode(b.p, b.len, &back, &e), 0);
    assert_memory_equal(&h, &back, sizeof h);
    assert_int_equal(fed_health_encode(&back, &b2, &e), 0);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.p, b2.p, b.len); /* decode, encode: same bytes */
    assert_int_equal((unsigned char)b.p[0], 0x87); /* fixmap of 7 */
    buf_free(&b);
    buf_free(&b2);
}

/* A hand-made map: v, then the given keys with uint values. */
static size_t pack_map(char *out, size_t cap, unsigned v,
                       const char *const *keys, size_t n)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n + 1);
    msgpack_pack_str(&pk, 1), msgpack_pack_str_body(&pk, "v", 1);
    msgpack_pack_uint32(&pk, v);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_str(&pk, strlen(keys[i]));
        msgpack_pack_str_body(&pk, keys[i], strlen(keys[i]));
        if (!strcmp(keys[i], "node") || !strcmp(keys[i], "region"))
            msgpack_pack_str(&pk, 2), msgpack_pack_str_body(&pk, "CQ", 2);
        else
            msgpack_pack_uint64(&pk, 5);
    }
    assert_true(sb.size <= cap);
    memcpy(out, sb.data, sb.size);
    size_t len = sb.size;
    msgpack_sbuffer_destroy(&sb);
    return len;
}

static void refused(const void *p, size_t n, int code, const char *want)
{
    fed_health h;
    err_t e = {0};
    assert_int_equal(fed_health_decode(p, n, &h, &e), code);
    if (!strstr(e.msg, want))
        fail_msg("'%s' lacks '%s'", e.msg, want);
}

static void test_health_strict(void **state)
{
    (void)state;
    char m[256];
    static const char *const ok[] = {"node", "region", "at"};
    static const char *const order[] = {"region", "node", "at"};
    static const char *const unknown[] = {"node", "zzz"};
    size_t n = pack_map(m, sizeof m, 1, ok, 3);
    fed_health h;
    err_t e;
    assert_int_equal(fed_health_decode(m, n, &h, &e), 0); /* rest: 0 */
    assert_int_equal(h.at_ms, 5);
    refused(m, pack_map(m, sizeof m, 2, ok, 3), ERR_UNSUPPORTED,
            "version 2 not supported");
    refused(m, pack_map(m, sizeof m, 1, order, 3), ERR_INVALID,
            "out of order");
    refused(m, pack_map(m, sizeof m, 1, unknown, 2), ERR_INVALID,
            "unknown key \"zzz\"");
    n = pack_map(m, sizeof m, 1, ok, 3);
    m[n] = (char)0xc0;
    refused(m, n + 1, ERR_SYNTAX, "trailing");
    /* at = 5 written as uint8 (cc 05): not its shortest form */
    assert_int_equal((unsigned char)m[n - 1], 5);
    m[n - 1] = (char)0xcc, m[n] = 5;
    refused(m, n + 1, ERR_SYNTAX, "shortest");
    refused(m, pack_map(m, sizeof m, 1, ok, 1), ERR_INVALID, "region");
}

static void test_health_validate(void **state)
{
    (void)state;
    fed_health h;
    buf_t b;
    err_t e;
    buf_init(&b, FED_HEALTH_MAX_BYTES);
    ftu_health(&h, "cq", "SH", 1, 0, 0);
    assert_int_equal(fed_health_encode(&h, &b, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "not a node id"));
    ftu_health(&h, "CQ", "SH", 1, 0, 0);
    h.peers[0].up = 2;
    assert_int_equal(fed_health_encode(&h, &b, &e), ERR_INVALID);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

/* ---- keeping it ---- */

static void test_apply_newer_and_fresh(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "f1:");
    redisContext *r = stu_raw();
    fed_health h;
    ftu_health(&h, "CQ", "SH", (uint64_t)T0, 0, 0);
    assert_int_equal(ftu_apply(st, &h, T0 + 100), 1);
    char *seen = ftu_str(r, "HGET %s %s", "f1:v1:fed:node:CQ", "seen");
    assert_string_equal(seen, "1772700000100");
    free(seen);
    assert_int_equal(ftu_apply(st, &h, T0 + 200), 0); /* the same again */
    h.at_ms = (uint64_t)T0 - 1000;
    assert_int_equal(ftu_apply(st, &h, T0 + 300), 0); /* older */
    seen = ftu_str(r, "HGET %s %s", "f1:v1:fed:node:CQ", "seen");
    assert_string_equal(seen, "1772700000300"); /* fresh: still alive */
    free(seen);
    h.at_ms = (uint64_t)T0 + 5000; /* newer, but arriving 70 s late */
    assert_int_equal(ftu_apply(st, &h, T0 + 75000), 1);
    seen = ftu_str(r, "HGET %s %s", "f1:v1:fed:node:CQ", "seen");
    assert_string_equal(seen, "1772700000300"); /* not moved by stale */
    free(seen);
    assert_int_equal(stu_int(r, "LLEN %s", "f1:v1:fed:hist:CQ"), 2);
    assert_int_equal(stu_int(r, "SCARD %s", "f1:v1:fed:nodes"), 1);
    redisFree(r);
    store_close(st);
}

/* An envelope of type, from origin to NC, with payload p (unsigned:
 * the center reads what delivery checked already). */
static void frame_of(const char *type, const char *origin, const void *p,
                     size_t n, buf_t *out)
{
    arena_t a;
    arena_init(&a, 1u << 20);
    env v;
    err_t e;
    static const char *dest[] = {"NC"};
    static const unsigned char sig[64];
    assert_int_equal(env_init(&v, type, origin, &a, &e), 0);
    v.dest = dest, v.ndest = 1;
    v.payload = p, v.payload_len = n;
    v.sig = sig, v.sig_len = sizeof sig;
    assert_int_equal(env_encode(&v, out, &e), 0);
    arena_free(&a);
}

static void xadd_in(redisContext *r, const char *origin, const buf_t *f)
{
    redisReply *x = redisCommand(r, "XADD f2:v1:in * v 1 f %b id %s origin "
                                 "%s", f->p, f->len, "01J00000000000000000000000",
                                 origin);
    assert_non_null(x);
    assert_int_equal(x->type, REDIS_REPLY_STRING);
    freeReplyObject(x);
}

static void test_step_reads_in(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "f2:");
    redisContext *r = stu_raw();
    cfg *c = ftu_cfg(NULL);
    fed_health h;
    buf_t p, f1, f2;
    err_t e;
    buf_init(&p, FED_HEALTH_MAX_BYTES);
    buf_init(&f1, 1u << 16), buf_init(&f2, 1u << 16);
    int64_t now = T0 + 1000;
    ftu_health(&h, "SH", "CQ", (uint64_t)now, 0, 0);
    assert_int_equal(fed_health_encode(&h, &p, &e), 0);
    frame_of("ping", "CQ", "", 0, &f1);
    frame_of(FED_HEALTH_TYPE, "SH", p.p, p.len, &f2);
    xadd_in(r, "CQ", &f1);
    xadd_in(r, "SH", &f2);
    fed_nc fs;
    memset(&fs, 0, sizeof fs);
    fed_step(&fs, st, c, now);
    assert_int_equal(stu_int(r, "XLEN %s", "f2:v1:in"), 1); /* ping stays */
    assert_int_equal(stu_int(r, "EXISTS %s", "f2:v1:fed:node:SH"), 1);
    char *pos = ftu_str(r, "GET %s%s", "f2:v1:fed:pos", "");
    assert_non_null(pos);
    free(pos);
    buf_free(&p), buf_free(&f1), buf_free(&f2);
    cfg_free(c);
    redisFree(r);
    store_close(st);
}

/* ---- the JSON ---- */

static json_t *path(json_t *o, const char *a, size_t i, const char *b)
{
    json_t *x = json_object_get(o, a);
    x = json_is_array(x) ? json_array_get(x, i) : x;
    return b ? json_object_get(x, b) : x;
}

static void test_federation_json(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "f3:");
    cfg *c = ftu_cfg(NULL);
    fed_health h;
    int64_t now = T0 + 30000;
    ftu_health(&h, "CQ", "SH", (uint64_t)(now - 10000), 0, 0);
    h.in = 100, h.dlq = 2;
    ftu_apply(st, &h, now - 10000);
    ftu_health(&h, "CQ", "SH", (uint64_t)now, (uint64_t)now - 500, 4);
    h.in = 300, h.delivered = 100, h.sent = 50, h.dlq = 3;
    ftu_apply(st, &h, now);
    ftu_health(&h, "NC", "CQ", (uint64_t)now, 0, 0);
    snprintf(h.region, sizeof h.region, "CN");
    h.dlq = 1;
    ftu_apply(st, &h, now);
    json_t *o;
    err_t e;
    assert_int_equal(fed_json_federation(st, c, now + 1000, &o, &e), 0);
    assert_string_equal(json_string_value(json_object_get(o, "node")), "NC");
    assert_int_equal(json_array_size(json_object_get(o, "nodes")), 3);
    /* sorted by id: CQ, NC, SH */
    assert_string_equal(json_string_value(path(o, "nodes", 0, "id")), "CQ");
    assert_true(json_is_true(path(o, "nodes", 0, "up")));
    assert_true(json_real_value(path(o, "nodes", 0, "age_s")) > 0.9);
    json_t *rates = path(o, "nodes", 0, "rates");
    assert_true(json_real_value(json_object_get(rates, "in_per_s")) == 30.0);
    assert_true(json_real_value(json_object_get(rates, "out_per_s")) == 5.0);
    assert_string_equal(json_string_value(path(o, "nodes", 1, "role")),
                        "national");
    assert_true(json_is_false(path(o, "nodes", 2, "up"))); /* SH unheard */
    assert_true(json_is_null(path(o, "nodes", 2, "last_seen")));
    assert_int_equal(json_array_size(json_object_get(o, "links")), 2);
    assert_string_equal(json_string_value(path(o, "links", 0, "to")), "SH");
    assert_int_equal(json_integer_value(path(o, "links", 0, "outbox")), 4);
    json_t *counts = json_object_get(o, "counts");
    assert_int_equal(json_integer_value(json_object_get(counts,
                                                        "dead_letters")), 4);
    assert_int_equal(json_integer_value(json_object_get(counts,
                                                        "conflicts")), 0);
    json_t *mv = json_object_get(o, "movements");
    assert_int_equal(json_integer_value(json_object_get(mv, "total")), 0);
    json_t *cl = path(o, "clearance", 0, "declared_to_released_ms");
    assert_int_equal(json_integer_value(json_object_get(cl, "n")), 0);
    json_decref(o);
    /* 20 s later nobody spoke: CQ is down, its rates 0 and links down */
    assert_int_equal(fed_json_federation(st, c, now + 20000, &o, &e), 0);
    assert_true(json_is_false(path(o, "nodes", 0, "up")));
    assert_true(json_is_false(path(o, "links", 0, "up")));
    json_decref(o);
    cfg_free(c);
    store_close(st);
}

static void test_alerts_json(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "f4:");
    err_t e;
    assert_int_equal(fed_store_alert_set(st, "node_down:SC",
                     "{\"id\":\"node_down:SC\",\"active\":true}", 1, &e), 1);
    assert_int_equal(fed_store_alert_set(st, "node_down:SC", "{}", 1, &e), 0);
    assert_int_equal(fed_store_alert_set(st, "node_down:SN",
                     "{\"id\":\"node_down:SN\",\"active\":true}", 1, &e), 1);
    assert_int_equal(fed_store_alert_set(st, "node_down:SN",
                     "{\"id\":\"node_down:SN\",\"active\":false}", 0, &e), 1);
    json_t *o;
    assert_int_equal(fed_json_alerts(st, 1, 100, &o, &e), 0);
    assert_int_equal(json_array_size(json_object_get(o, "alerts")), 1);
    json_decref(o);
    assert_int_equal(fed_json_alerts(st, 0, 100, &o, &e), 0);
    assert_int_equal(json_array_size(json_object_get(o, "alerts")), 2);
    assert_true(json_is_false(path(o, "alerts", 1, "active")));
    json_decref(o);
    assert_int_equal(fed_json_alerts(st, 0, 1, &o, &e), 0); /* limit */
    assert_int_equal(json_array_size(json_object_get(o, "alerts")), 1);
    json_decref(o);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_round_trip),
        cmocka_unit_test(test_health_strict),
        cmocka_unit_test(test_health_validate),
        cmocka_unit_test(test_apply_newer_and_fresh),
        cmocka_unit_test(test_step_reads_in),
        cmocka_unit_test(test_federation_json),
        cmocka_unit_test(test_alerts_json),
    };
    return cmocka_run_group_tests_name("gateway/fed", tests, ftu_setup,
                                       ftu_teardown);
}
