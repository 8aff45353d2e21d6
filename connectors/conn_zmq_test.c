/* Unit tests for the ZeroMQ ingress (conn_zmq.c): its thread serving a
 * ROUTER against a private redis-server (tests/redis.h), driven by DEALER
 * and REQ clients in the test. A good request is answered 202 with the
 * stored ids and its cid (str or int) echoed; the same idem again is a
 * duplicate with the same ids; unknown keys 401, another connector's
 * client 403, garbage 400, a malformed body 422 with `body:L:C: error:`
 * problems, a body over api.max_body_bytes 413. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <msgpack.h>
#include <pthread.h>
#include <zmq.h>

#include "../tests/conn_fixture.h"
#include "conn.h"
#include "store_local.h"

#define GOOD "mappings/samples/iftmin-rail/dui-rail-03.edi" /* 1 record */
#define BIG "mappings/samples/iftmin-rail/cq-rail-01.edi"   /* 4391 B */
#define BAD "mappings/samples/bad/truncated.edi"

typedef struct fx {
    cfg *c;
    conn_in in;
    atomic_int stop;
    pthread_t t;
    char ep[64];
    void *ctx, *dealer;
    msgpack_unpacked reply;
    store *st;
} fx;

static cfg *load_cfg(const char *name, const char *ep)
{
    char kb[65], ko[65];
    conn_fixture_hash("k-bulk", kb);
    conn_fixture_hash("k-other", ko);
    return conn_fixture_cfg(name, 8101,
        "redis: {url: '%s', prefix: '%s:'}\n"
        "api: {max_body_bytes: 2048}\n"
        "connectors:\n  - {name: bulk, type: zmq, listen: '%s'}\n"
        "  - {name: rail, type: http}\n"
        "clients:\n"
        "  - {id: bulkc, connector: bulk, key_sha256: '%s', kinds: ['*'], "
        "parties: ['*']}\n"
        "  - {id: other, connector: rail, key_sha256: '%s', kinds: ['*'], "
        "parties: ['*']}\n",
        g_url, name, ep, kb, ko);
}

static void *run_main(void *p)
{
    fx *x = p;
    conn_zmq_ops.run(&x->in);
    return NULL;
}

static void fx_open(fx *x, const char *name)
{
    if (!g_url[0])
        skip();
    memset(x, 0, sizeof *x);
    snprintf(x->ep, sizeof x->ep, "tcp://127.0.0.1:%d",
             test_redis_free_port());
    x->c = load_cfg(name, x->ep);
    x->in = (conn_in){x->c, &x->c->connectors[0], g_maps, &x->stop, NULL};
    err_t e;
    if (conn_zmq_ops.open(&x->in, &e))
        fail_msg("open: %s", e.msg);
    assert_int_equal(pthread_create(&x->t, NULL, run_main, x), 0);
    int tmo = 10000;
    x->ctx = zmq_ctx_new();
    x->dealer = zmq_socket(x->ctx, ZMQ_DEALER);
    zmq_setsockopt(x->dealer, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    assert_int_equal(zmq_connect(x->dealer, x->ep), 0);
    msgpack_unpacked_init(&x->reply);
    x->st = conn_fixture_store(name);
}

static void fx_close(fx *x)
{
    atomic_store(&x->stop, 1);
    pthread_join(x->t, NULL);
    conn_zmq_ops.close(&x->in);
    zmq_close(x->dealer);
    zmq_ctx_term(x->ctx);
    msgpack_unpacked_destroy(&x->reply);
    store_close(x->st);
    cfg_free(x->c);
}

/* ---- requests and replies ---- */

static void pstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* A request for sample with key and idem (NULL: left out); cid -1: a
 * string cid "c-str", else the integer. */
static void pack_req(msgpack_sbuffer *sb, const char *key, long cid,
                     const char *sample, const char *idem)
{
    static char body[1 << 16];
    size_t n = conn_fixture_read(sample, body, sizeof body);
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4 + (idem != NULL));
    pstr(&pk, "body"), msgpack_pack_bin(&pk, n);
    msgpack_pack_bin_body(&pk, body, n);
    pstr(&pk, "cid");
    cid < 0 ? pstr(&pk, "c-str") : (void)msgpack_pack_long(&pk, cid);
    pstr(&pk, "key"), pstr(&pk, key);
    pstr(&pk, "v"), msgpack_pack_int(&pk, 1);
    if (idem)
        pstr(&pk, "idem"), pstr(&pk, idem);
}

/* Sends raw bytes (after an empty frame when delim) and reads the reply
 * map into x->reply. */
static const msgpack_object *ask_raw(fx *x, void *sock, const void *p,
                                     size_t n, int delim)
{
    static char buf[1 << 16];
    if (delim)
        assert_int_equal(zmq_send(sock, "", 0, ZMQ_SNDMORE), 0);
    assert_int_equal(zmq_send(sock, p, n, 0), (int)n);
    if (delim)
        assert_int_equal(zmq_recv(sock, buf, sizeof buf, 0), 0);
    int got = zmq_recv(sock, buf, sizeof buf, 0);
    assert_true(got > 0);
    assert_int_equal(msgpack_unpack_next(&x->reply, buf, (size_t)got, NULL),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(x->reply.data.type, MSGPACK_OBJECT_MAP);
    return &x->reply.data;
}

static const msgpack_object *ask(fx *x, const char *key, long cid,
                                 const char *sample, const char *idem)
{
    msgpack_sbuffer sb;
    pack_req(&sb, key, cid, sample, idem);
    const msgpack_object *o = ask_raw(x, x->dealer, sb.data, sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
    return o;
}

static const msgpack_object *get(const msgpack_object *m, const char *k)
{
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR &&
            kv->key.via.str.size == strlen(k) &&
            !memcmp(kv->key.via.str.ptr, k, strlen(k)))
            return &kv->val;
    }
    return NULL;
}

static int64_t status_of(const msgpack_object *m)
{
    const msgpack_object *s = get(m, "status");
    assert_non_null(s);
    return (int64_t)s->via.u64;
}

/* The first id of a 202 reply into id. */
static void first_id(const msgpack_object *m, char *id, size_t n)
{
    const msgpack_object *ids = get(m, "ids");
    assert_non_null(ids);
    assert_int_equal(ids->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(ids->via.array.size, 1);
    const msgpack_object *s = &ids->via.array.ptr[0];
    snprintf(id, n, "%.*s", (int)s->via.str.size, s->via.str.ptr);
}

/* ---- the tests ---- */

static void test_good_request_stored(void **state)
{
    (void)state;
    fx x;
    char id[64], id2[64];
    err_t e;
    fx_open(&x, "z1");
    const msgpack_object *r = ask(&x, "k-bulk", 41, GOOD, NULL);
    assert_int_equal(status_of(r), 202);
    assert_int_equal(get(r, "cid")->via.u64, 41);
    first_id(r, id, sizeof id);
    assert_int_equal(strlen(id), MSGID_LEN);
    assert_int_equal(store_local_len(x.st, &e), 1);
    r = ask(&x, "k-bulk", -1, GOOD, "batch-7");
    assert_int_equal(status_of(r), 202);
    assert_memory_equal(get(r, "cid")->via.str.ptr, "c-str", 5);
    first_id(r, id, sizeof id);
    r = ask(&x, "k-bulk", 43, GOOD, "batch-7"); /* the same idem again */
    assert_int_equal(status_of(r), 202);
    first_id(r, id2, sizeof id2);
    assert_string_equal(id, id2);
    assert_true(get(r, "dup")->via.array.ptr[0].via.boolean);
    assert_int_equal(store_local_len(x.st, &e), 2);
    fx_close(&x);
}

static void test_req_client_with_delimiter(void **state)
{
    (void)state;
    fx x;
    fx_open(&x, "z2");
    void *req = zmq_socket(x.ctx, ZMQ_DEALER); /* speaks REQ's framing */
    int tmo = 10000;
    zmq_setsockopt(req, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    assert_int_equal(zmq_connect(req, x.ep), 0);
    msgpack_sbuffer sb;
    pack_req(&sb, "k-bulk", 7, GOOD, NULL);
    const msgpack_object *r = ask_raw(&x, req, sb.data, sb.size, 1);
    msgpack_sbuffer_destroy(&sb);
    assert_int_equal(status_of(r), 202);
    zmq_close(req);
    fx_close(&x);
}

static void test_refusals(void **state)
{
    (void)state;
    fx x;
    err_t e;
    fx_open(&x, "z3");
    const msgpack_object *r = ask(&x, "k-nobody", 1, GOOD, NULL);
    assert_int_equal(status_of(r), 401);
    assert_non_null(get(r, "error"));
    r = ask(&x, "k-other", 2, GOOD, NULL); /* rail's client */
    assert_int_equal(status_of(r), 403);
    r = ask(&x, "k-bulk", 3, BIG, NULL);
    assert_int_equal(status_of(r), 413);
    r = ask(&x, "k-bulk", 4, BAD, NULL);
    assert_int_equal(status_of(r), 422);
    const msgpack_object *p = get(r, "problems");
    assert_non_null(p);
    assert_true(p->via.array.size >= 1);
    const msgpack_object_str *s0 = &p->via.array.ptr[0].via.str;
    if (s0->size < 5 || memcmp(s0->ptr, "body:", 5) ||
        !memmem(s0->ptr, s0->size, ": error: ", 9))
        fail_msg("problem not body:L:C: error: %.*s", (int)s0->size, s0->ptr);
    r = ask_raw(&x, x.dealer, "\xc1garbage", 8, 0);
    assert_int_equal(status_of(r), 400);
    assert_null(get(r, "cid"));
    assert_int_equal(store_local_len(x.st, &e), 0);
    fx_close(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_request_stored),
        cmocka_unit_test(test_req_client_with_delimiter),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("conn_zmq", tests,
                                       conn_fixture_setup,
                                       conn_fixture_teardown);
}
