/* Unit tests for link: two nodes in one process on 127.0.0.1, ephemeral
 * ports, fresh CURVE keys per test. Each node has its own ZeroMQ context
 * (and so its own ZAP handler); both are pumped by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <zmq.h>

#include "link.h"

typedef struct node {
    link_t *l;
    char pub[41], sec[41];
    int refused;                 /* on_refused calls */
    char refused_key[41];
} node;

static void on_refused(void *ctx, const char *key, const char *address)
{
    node *n = ctx;
    n->refused++;
    snprintf(n->refused_key, sizeof n->refused_key, "%s", key);
    assert_string_equal(address, "127.0.0.1");
}

static void node_up(node *n, const char *id, int64_t max_frame)
{
    memset(n, 0, sizeof *n);
    assert_int_equal(zmq_curve_keypair(n->pub, n->sec), 0);
    link_conf c = {.self_id = id, .listen = "tcp://127.0.0.1:*",
                   .curve_public = n->pub, .curve_secret = n->sec,
                   .heartbeat_ms = 200, .heartbeat_timeout_ms = 1000,
                   .max_frame_bytes = max_frame, .hwm = 1000,
                   .on_refused = on_refused, .refused_ctx = n};
    err_t e;
    if (link_new(&c, &n->l, &e) != 0)
        fail_msg("link_new %s: %s", id, e.msg);
    assert_non_null(strstr(link_endpoint(n->l), "tcp://127.0.0.1:"));
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Serve both nodes (b->l may be NULL) for up to ms, or until cond (if
 * given) holds. Returns cond's last value. */
typedef int (*cond_fn)(node *a, node *b, int peer);
static int pump(node *a, node *b, int peer, int64_t ms, cond_fn cond)
{
    int64_t end = now_ms() + ms;
    while (now_ms() < end) {
        if (cond && cond(a, b, peer))
            return 1;
        assert_int_equal(link_wait(a->l, 5, NULL), 0);
        if (b->l)
            assert_int_equal(link_wait(b->l, 5, NULL), 0);
    }
    return cond ? cond(a, b, peer) : 0;
}

static int is_up(node *a, node *b, int peer)
{
    (void)b;
    return link_peer_up(a->l, peer);
}

static int is_down(node *a, node *b, int peer) { return !is_up(a, b, peer); }

static int add_peer(node *a, const char *id, const node *b, const char *srv)
{
    const char *ep[1] = {link_endpoint(b->l)};
    err_t e;
    int p = link_peer_add(a->l, id, ep, 1, srv, &e);
    if (p < 0)
        fail_msg("link_peer_add: %s", e.msg);
    return p;
}

/* A -> B: connected A's DEALER past the handshake, B accepting A. */
static int connect_ab(node *a, node *b)
{
    assert_int_equal(link_allow(b->l, "A", a->pub, NULL), 0);
    int p = add_peer(a, "B", b, b->pub);
    assert_false(link_peer_up(a->l, p));
    assert_true(pump(a, b, p, 3000, is_up));
    return p;
}

static int recv_in(node *b, link_in *in, int64_t ms)
{
    int64_t end = now_ms() + ms;
    do {
        int rc = link_recv_in(b->l, in, NULL);
        if (rc != 0)
            return rc;
        link_wait(b->l, 5, NULL);
    } while (now_ms() < end);
    return 0;
}

static void test_roundtrip(void **state)
{
    (void)state;
    node a, b;
    node_up(&a, "A", 1 << 20);
    node_up(&b, "B", 1 << 20);
    int p = connect_ab(&a, &b);
    static const unsigned char hdr[] = {0x93, 0x01, 0x92, 0x00, 0x00};
    assert_int_equal(link_send(a.l, p, hdr, sizeof hdr, "envelope", 8, NULL),
                     0);
    link_in in;
    assert_int_equal(recv_in(&b, &in, 2000), 1);
    assert_string_equal(in.peer, "A");
    assert_int_equal(in.parts, 2);
    assert_int_equal(in.hn, sizeof hdr);
    assert_memory_equal(in.hdr, hdr, sizeof hdr);
    assert_int_equal(in.bn, 8);
    assert_memory_equal(in.body, "envelope", 8);
    assert_true(in.rid_len > 0);
    assert_int_equal(link_reply(b.l, in.rid, in.rid_len, "ack!", 4, NULL), 0);

    int peer = -1;
    const void *d = NULL;
    size_t n = 0;
    int64_t end = now_ms() + 2000;
    while (link_recv_ack(a.l, &peer, &d, &n, NULL) == 0 && now_ms() < end)
        link_wait(a.l, 5, NULL);
    assert_int_equal(peer, p);
    assert_int_equal(n, 4);
    assert_memory_equal(d, "ack!", 4);
    assert_int_equal(link_recv_ack(a.l, &peer, &d, &n, NULL), 0);
    assert_int_equal(link_recv_in(b.l, &in, NULL), 0);
    link_free(a.l);
    link_free(b.l);
}

/* One dead endpoint beside a live one: the peer is up through the live
 * one, and frames go there. */
static void test_two_endpoints_one_dead(void **state)
{
    (void)state;
    node a, b, dead;
    node_up(&a, "A", 1 << 20);
    node_up(&b, "B", 1 << 20);
    node_up(&dead, "D", 1 << 20);
    char gone[256];
    snprintf(gone, sizeof gone, "%s", link_endpoint(dead.l));
    link_free(dead.l); /* its port is now closed */
    assert_int_equal(link_allow(b.l, "A", a.pub, NULL), 0);
    const char *ep[2] = {gone, link_endpoint(b.l)};
    int p = link_peer_add(a.l, "B", ep, 2, b.pub, NULL);
    assert_true(p >= 0);
    assert_true(pump(&a, &b, p, 3000, is_up));
    assert_int_equal(link_send(a.l, p, "h", 1, "body", 4, NULL), 0);
    link_in in;
    assert_int_equal(recv_in(&b, &in, 2000), 1);
    assert_memory_equal(in.body, "body", 4);
    link_free(a.l);
    link_free(b.l);
}

static void test_send_before_up_is_again(void **state)
{
    (void)state;
    node a, b;
    node_up(&a, "A", 1 << 20);
    node_up(&b, "B", 1 << 20);
    assert_int_equal(link_allow(b.l, "A", a.pub, NULL), 0);
    int p = add_peer(&a, "B", &b, b.pub);
    err_t e;
    assert_int_equal(link_send(a.l, p, "h", 1, "b", 1, &e), ERR_AGAIN);
    assert_non_null(strstr(e.msg, "to B"));
    assert_int_equal(link_send(a.l, p + 1, "h", 1, "b", 1, &e), ERR_NOTFOUND);
    link_free(a.l);
    link_free(b.l);
}

static void test_unknown_key_refused(void **state)
{
    (void)state;
    node a, b, c;
    node_up(&a, "A", 1 << 20);
    node_up(&b, "B", 1 << 20);
    node_up(&c, "C", 1 << 20);
    assert_int_equal(link_allow(b.l, "C", c.pub, NULL), 0); /* not A */
    int p = add_peer(&a, "B", &b, b.pub);
    assert_false(pump(&a, &b, p, 400, is_up));
    link_stats st;
    link_stats_get(b.l, &st);
    assert_true(st.zap_refused >= 1);
    assert_string_equal(st.zap_last_key, a.pub);
    assert_int_equal(b.refused, 1); /* the redial waits 500 ms */
    assert_string_equal(b.refused_key, a.pub);
    assert_int_equal(link_send(a.l, p, "h", 1, "b", 1, NULL), ERR_AGAIN);
    link_in in;
    assert_int_equal(link_recv_in(b.l, &in, NULL), 0);
    link_free(a.l);
    link_free(b.l);
    link_free(c.l);
}

static void test_allow_reset_refuses_new(void **state)
{
    (void)state;
    node a, b;
    node_up(&a, "A", 1 << 20);
    node_up(&b, "B", 1 << 20);
    assert_int_equal(link_allow(b.l, "A", a.pub, NULL), 0);
    link_allow_reset(b.l);
    int p = add_peer(&a, "B", &b, b.pub);
    assert_false(pump(&a, &b, p, 300, is_up));
    assert_true(b.refused >= 1);
    /* allowed again (SIGHUP reload): the reconnect gets through */
    assert_int_equal(link_allow(b.l, "A", a.pub, NULL), 0);
    assert_true(pump(&a, &b, p, 4000, is_up));
    link_free(a.l);
    link_free(b.l);
}

static void test_wrong_server_key_never_up(void **state)
{
    (void)state;
    node a, b;
    node_up(&a, "A", 1 << 20);
    node_up(&b, "B", 1 << 20);
    assert_int_equal(link_allow(b.l, "A", a.pub, NULL), 0);
    char other_pub[41], other_sec[41];
    assert_int_equal(zmq_curve_keypair(other_pub, other_sec), 0);
    int p = add_peer(&a, "B", &b, other_pub);
    assert_false(pump(&a, &b, p, 400, is_up));
    link_in in;
    assert_int_equal(link_recv_in(b.l, &in, NULL), 0);
    link_free(a.l);
    link_free(b.l);
}

static void test_down_when_other_side_freed(void **state)
{
    (void)state;
    node a, b;
    node_up(&a, "A", 1 << 20);
    node_up(&b, "B", 1 << 20);
    int p = connect_ab(&a, &b);
    link_free(b.l);
    b.l = NULL;
    assert_true(pump(&a, &b, p, 3000, is_down));
    assert_int_equal(link_send(a.l, p, "h", 1, "b", 1, NULL), ERR_AGAIN);
    assert_int_equal(link_peer_drop(a.l, p), 0);
    assert_int_equal(link_peer_drop(a.l, p), ERR_NOTFOUND);
    assert_false(link_peer_up(a.l, p));
    link_free(a.l);
}

static void test_oversized_frame_dropped(void **state)
{
    (void)state;
    node a, b;
    node_up(&a, "A", 1024);
    node_up(&b, "B", 1024);
    int p = connect_ab(&a, &b);
    static char big[2048];
    memset(big, 'x', sizeof big);
    assert_int_equal(link_send(a.l, p, "h", 1, big, sizeof big, NULL), 0);
    link_in in;
    assert_int_equal(recv_in(&b, &in, 300), 0);
    /* the connection was dropped; once back, frames within the limit pass */
    assert_true(pump(&a, &b, p, 3000, is_up));
    int64_t end = now_ms() + 3000;
    while (link_send(a.l, p, "h", 1, "small", 5, NULL) != 0 &&
           now_ms() < end)
        pump(&a, &b, p, 10, NULL);
    assert_int_equal(recv_in(&b, &in, 2000), 1);
    assert_int_equal(in.bn, 5);
    assert_memory_equal(in.body, "small", 5);
    link_free(a.l);
    link_free(b.l);
}

/* A raw DEALER with A's keys, to send what link_send never does. */
static void test_parts_counted(void **state)
{
    (void)state;
    node a, b;
    node_up(&a, "A", 1 << 20);
    node_up(&b, "B", 1 << 20);
    assert_int_equal(link_allow(b.l, "A", a.pub, NULL), 0);
    void *ctx = zmq_ctx_new();
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, b.pub, 40), 0);
    assert_int_equal(zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, a.pub, 40), 0);
    assert_int_equal(zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, a.sec, 40), 0);
    assert_int_equal(zmq_connect(d, link_endpoint(b.l)), 0);
    zmq_send(d, "1", 1, ZMQ_SNDMORE);
    zmq_send(d, "2", 1, ZMQ_SNDMORE);
    zmq_send(d, "3", 1, 0);
    zmq_send(d, "only", 4, 0);
    link_in in;
    assert_int_equal(recv_in(&b, &in, 3000), 1);
    assert_int_equal(in.parts, 3);
    assert_string_equal(in.peer, "A");
    assert_memory_equal(in.hdr, "1", 1);
    assert_memory_equal(in.body, "2", 1);
    assert_int_equal(recv_in(&b, &in, 2000), 1);
    assert_int_equal(in.parts, 1);
    assert_int_equal(in.hn, 4);
    assert_null(in.body);
    zmq_close(d);
    zmq_ctx_term(ctx);
    link_free(a.l);
    link_free(b.l);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    node a;
    node_up(&a, "A", 1 << 20);
    char pub[41], sec[41];
    assert_int_equal(zmq_curve_keypair(pub, sec), 0);
    link_conf c = {.self_id = "X", .listen = "tcp://127.0.0.1:*",
                   .curve_public = pub, .curve_secret = a.sec,
                   .max_frame_bytes = 1024, .hwm = 10};
    link_t *l = (link_t *)&c;
    err_t e;
    assert_int_equal(link_new(&c, &l, &e), ERR_CONFIG); /* keys of two */
    assert_null(l);
    assert_non_null(strstr(e.msg, "not the secret key's"));
    c.curve_secret = "short";
    assert_int_equal(link_new(&c, &l, &e), ERR_CONFIG);
    c.curve_secret = sec;
    c.listen = "bogus://x";
    assert_int_equal(link_new(&c, &l, &e), ERR_CONFIG);
    assert_non_null(strstr(e.msg, "bind bogus://x"));
    assert_int_equal(link_allow(a.l, "", pub, NULL), ERR_INVALID);
    assert_int_equal(link_allow(a.l, "B", "not-a-key", NULL), ERR_INVALID);
    const char *ep[2] = {"tcp://127.0.0.1:1", "tcp://127.0.0.1:1"};
    assert_int_equal(link_peer_add(a.l, "B", ep, 2, pub, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "listed twice"));
    assert_int_equal(link_peer_add(a.l, "B", ep, 1, "bad", NULL),
                     ERR_INVALID);
    assert_int_equal(link_peer_add(a.l, "B", ep, 0, pub, NULL), ERR_INVALID);
    ep[0] = "nonsense";
    assert_int_equal(link_peer_add(a.l, "B", ep, 1, pub, NULL), ERR_CONFIG);
    /* a reply to a peer that never was: dropped, counted, not an error */
    link_stats st;
    assert_int_equal(link_reply(a.l, (const unsigned char *)"\0abcd", 5,
                                "x", 1, NULL), 0);
    link_stats_get(a.l, &st);
    assert_int_equal(st.replies_dropped, 1);
    link_free(a.l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_two_endpoints_one_dead),
        cmocka_unit_test(test_send_before_up_is_again),
        cmocka_unit_test(test_unknown_key_refused),
        cmocka_unit_test(test_allow_reset_refuses_new),
        cmocka_unit_test(test_wrong_server_key_never_up),
        cmocka_unit_test(test_down_when_other_side_freed),
        cmocka_unit_test(test_oversized_frame_dropped),
        cmocka_unit_test(test_parts_counted),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
