/* Unit tests for link: two nodes in one process on 127.0.0.1, ephemeral
 * ports, fresh CURVE keys per test. Each node has its own ZeroMQ context
 * (and so its own ZAP handler); both are pumped by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "link.h"

typedef struct node {
    link_t *l;
    char pub[41], sec[41];
    int refused;                 /* on_refused calls */
    char refused_key[41];
    int switched;                /* on_switch calls */
    char switch_from[256], switch_to[256], switch_why[64];
} node;

static void on_refused(void *ctx, const char *key, const char *address)
{
    node *n = ctx;
    n->refused++;
    snprintf(n->refused_key, sizeof n->refused_key, "%s", key);
    assert_string_equal(address, "127.0.0.1");
}

static void on_switch(void *ctx, int peer, const char *id, const char *from,
                      const char *to, const char *why)
{
    node *n = ctx;
    assert_true(peer >= 0);
    assert_string_equal(id, "B");
    n->switched++;
    snprintf(n->switch_from, sizeof n->switch_from, "%s", from);
    snprintf(n->switch_to, sizeof n->switch_to, "%s", to);
    snprintf(n->switch_why, sizeof n->switch_why, "%s", why);
}

/* A node with the CURVE keys of like (NULL: fresh ones): another instance
 * of like's region. */
static void node_up_as(node *n, const char *id, int64_t max_frame,
                       const node *like)
{
    memset(n, 0, sizeof *n);
    if (like) {
        memcpy(n->pub, like->pub, sizeof n->pub);
        memcpy(n->sec, like->sec, sizeof n->sec);
    } else {
        assert_int_equal(zmq_curve_keypair(n->pub, n->sec), 0);
    }
    link_conf c = {.self_id = id, .listen = "tcp://127.0.0.1:*",
                   .curve_public = n->pub, .curve_secret = n->sec,
                   .heartbeat_ms = 200, .heartbeat_timeout_ms = 1000,
                   .max_frame_bytes = max_frame, .hwm = 1000,
                   .on_refused = on_refused, .refused_ctx = n,
                   .on_switch = on_switch, .switch_ctx = n};
    err_t e;
    if (link_new(&c, &n->l, &e) != 0)
        fail_msg("link_new %s: %s", id, e.msg);
    assert_non_null(strstr(link_endpoint(n->l), "tcp://127.0.0.1:"));
}

static void node_up(node *n, const char *id, int64_t max_frame)
{
    node_up_as(n, id, max_frame, NULL);
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

/* Serve every node of ns (NULL links skipped) for up to ms, or until
 * cond (about ns[0]'s peer) holds. Returns cond's last value. */
static int pump_all(node *const *ns, size_t nn, int peer, int64_t ms,
                    cond_fn cond)
{
    node none = {0};
    int64_t end = now_ms() + ms;
    while (now_ms() < end) {
        if (cond && cond(ns[0], &none, peer))
            return 1;
        for (size_t k = 0; k < nn; k++)
            if (ns[k]->l)
                assert_int_equal(link_wait(ns[k]->l, 2, NULL), 0);
    }
    return cond ? cond(ns[0], &none, peer) : 0;
}

/* Sends n frames "fNN" from a to peer, retrying ERR_AGAIN for a while. */
static void send_frames(node *a, int peer, int first, int n)
{
    for (int k = first; k < first + n; k++) {
        char body[8];
        snprintf(body, sizeof body, "f%02d", k);
        int64_t end = now_ms() + 2000;
        int rc;
        while ((rc = link_send(a->l, peer, "h", 1, body, 3, NULL)) ==
                   ERR_AGAIN && now_ms() < end)
            link_wait(a->l, 2, NULL);
        assert_int_equal(rc, 0);
    }
}

/* Reads what n has for ms (serving the others of ns meanwhile), checking
 * that the frames are "fNN" from first on, in order; returns how many. */
static int take_frames(node *n, node *const *ns, size_t nn, int first,
                       int64_t ms)
{
    int got = 0;
    int64_t end = now_ms() + ms;
    while (now_ms() < end) {
        link_in in;
        while (link_recv_in(n->l, &in, NULL) == 1) {
            char want[8];
            snprintf(want, sizeof want, "f%02d", first + got++);
            assert_string_equal(in.peer, "A");
            assert_int_equal(in.bn, 3);
            assert_memory_equal(in.body, want, 3);
        }
        pump_all(ns, nn, 0, 2, NULL);
    }
    return got;
}

/* A, and B as two instances b1, b2 (one CURVE key) both allowing A: A's
 * peer B lists b1 then b2 (copied to ep). Returns the peer, up. */
static int two_instances(node *a, node *b1, node *b2, char ep[2][256])
{
    node_up(a, "A", 1 << 20);
    node_up(b1, "B", 1 << 20);
    node_up_as(b2, "B", 1 << 20, b1);
    assert_int_equal(link_allow(b1->l, "A", a->pub, NULL), 0);
    assert_int_equal(link_allow(b2->l, "A", a->pub, NULL), 0);
    snprintf(ep[0], 256, "%s", link_endpoint(b1->l));
    snprintf(ep[1], 256, "%s", link_endpoint(b2->l));
    const char *eps[2] = {ep[0], ep[1]};
    err_t e;
    int p = link_peer_add(a->l, "B", eps, 2, b1->pub, &e);
    if (p < 0)
        fail_msg("link_peer_add: %s", e.msg);
    node *const ns[] = {a, b1, b2};
    assert_true(pump_all(ns, 3, p, 3000, is_up));
    return p;
}

/* A TCP port that accepts connections (the kernel's backlog) and never
 * says a word: a hung instance. Returns the listening fd. */
static int silent_port(char *ep, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    snprintf(ep, n, "tcp://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    return fd;
}

/* A port nothing listens on: bound by a node, which is then freed. */
static void closed_port(char *ep, size_t n)
{
    node dead;
    node_up(&dead, "D", 1 << 20);
    snprintf(ep, n, "%s", link_endpoint(dead.l));
    link_free(dead.l);
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

/* One dead endpoint (port closed) before a live one: the refused connect
 * moves the peer on at once; it is up through the live one, and frames go
 * there. */
static void test_two_endpoints_one_dead(void **state)
{
    (void)state;
    node a, b;
    node_up(&a, "A", 1 << 20);
    node_up(&b, "B", 1 << 20);
    char gone[256];
    closed_port(gone, sizeof gone);
    assert_int_equal(link_allow(b.l, "A", a.pub, NULL), 0);
    const char *ep[2] = {gone, link_endpoint(b.l)};
    int p = link_peer_add(a.l, "B", ep, 2, b.pub, NULL);
    assert_true(p >= 0);
    assert_string_equal(link_peer_active(a.l, p), gone);
    int64_t t0 = now_ms();
    assert_true(pump(&a, &b, p, 3000, is_up));
    assert_true(now_ms() - t0 < LINK_HANDSHAKE_MS); /* not the timeout */
    assert_string_equal(link_peer_active(a.l, p), ep[1]);
    assert_int_equal(link_peer_switches(a.l, p), 1);
    assert_int_equal(a.switched, 1);
    assert_string_equal(a.switch_from, gone);
    assert_string_equal(a.switch_to, ep[1]);
    assert_string_equal(a.switch_why, "connect failed");
    assert_int_equal(link_send(a.l, p, "h", 1, "body", 4, NULL), 0);
    link_in in;
    assert_int_equal(recv_in(&b, &in, 2000), 1);
    assert_memory_equal(in.body, "body", 4);
    link_free(a.l);
    link_free(b.l);
}

/* (a) Two live instances: one ordered stream, all of it to the first. */
static void test_two_live_endpoints_first_only(void **state)
{
    (void)state;
    node a, b1, b2;
    char ep[2][256];
    int p = two_instances(&a, &b1, &b2, ep);
    node *const ns[] = {&a, &b1, &b2};
    pump_all(ns, 3, p, 300, NULL); /* time to reach b2, if it were dialled */
    assert_string_equal(link_peer_active(a.l, p), ep[0]);
    send_frames(&a, p, 0, 20);
    assert_int_equal(take_frames(&b1, ns, 3, 0, 600), 20);
    assert_int_equal(take_frames(&b2, ns, 3, 0, 200), 0);
    assert_int_equal(link_peer_switches(a.l, p), 0);
    assert_int_equal(a.switched, 0);
    link_free(a.l);
    link_free(b1.l);
    link_free(b2.l);
}

/* (b) The first instance goes away: down, then up on the second, which
 * gets what is sent from then on. */
static void test_failover_to_second(void **state)
{
    (void)state;
    node a, b1, b2;
    char ep[2][256];
    int p = two_instances(&a, &b1, &b2, ep);
    node *const ns[] = {&a, &b1, &b2};
    send_frames(&a, p, 0, 3);
    assert_int_equal(take_frames(&b1, ns, 3, 0, 300), 3);
    link_free(b1.l);
    b1.l = NULL;
    assert_true(pump_all(ns, 3, p, 3000, is_down));
    assert_true(pump_all(ns, 3, p, 3000, is_up));
    assert_string_equal(link_peer_active(a.l, p), ep[1]);
    assert_int_equal(link_peer_switches(a.l, p), 1);
    assert_int_equal(a.switched, 1);
    assert_string_equal(a.switch_from, ep[0]);
    assert_string_equal(a.switch_to, ep[1]);
    assert_string_equal(a.switch_why, "disconnected");
    link_stats st;
    link_stats_get(a.l, &st);
    assert_int_equal(st.endpoint_switches, 1);
    send_frames(&a, p, 3, 5);
    assert_int_equal(take_frames(&b2, ns, 3, 3, 600), 5);
    link_free(a.l);
    link_free(b2.l);
}

/* The caller gives up on a live but useless instance (it acks nothing):
 * the link moves to the second, which gets what is sent from then on; a
 * peer with one endpoint has nowhere to go. */
static void test_abandon_live_endpoint(void **state)
{
    (void)state;
    node a, b1, b2;
    char ep[2][256];
    int p = two_instances(&a, &b1, &b2, ep);
    node *const ns[] = {&a, &b1, &b2};
    assert_true(pump_all(ns, 3, p, 3000, is_up));
    assert_int_equal(link_peer_abandon(a.l, p, "no acks"), 1);
    assert_string_equal(a.switch_why, "no acks");
    assert_string_equal(link_peer_active(a.l, p), ep[1]);
    assert_true(pump_all(ns, 3, p, 3000, is_up));
    send_frames(&a, p, 0, 4);
    assert_int_equal(take_frames(&b2, ns, 3, 0, 600), 4);
    assert_int_equal(take_frames(&b1, ns, 3, 0, 200), 0);
    assert_int_equal(link_peer_abandon(a.l, 99, "x"), ERR_INVALID);
    link_free(a.l);
    link_free(b1.l);
    link_free(b2.l);
}

/* (c) The first endpoint accepts TCP but never answers (a hung host):
 * after LINK_HANDSHAKE_MS the second is used, and gets the frames. */
static void test_first_endpoint_silent(void **state)
{
    (void)state;
    node a, b;
    node_up(&a, "A", 1 << 20);
    node_up(&b, "B", 1 << 20);
    char hung[64];
    int fd = silent_port(hung, sizeof hung);
    assert_int_equal(link_allow(b.l, "A", a.pub, NULL), 0);
    const char *ep[2] = {hung, link_endpoint(b.l)};
    int p = link_peer_add(a.l, "B", ep, 2, b.pub, NULL);
    assert_true(p >= 0);
    int64_t t0 = now_ms();
    assert_false(pump(&a, &b, p, LINK_HANDSHAKE_MS - 300, is_up));
    assert_true(pump(&a, &b, p, 2000, is_up));
    assert_true(now_ms() - t0 >= LINK_HANDSHAKE_MS);
    assert_string_equal(a.switch_why, "handshake timeout");
    assert_string_equal(link_peer_active(a.l, p), ep[1]);
    node *const ns[] = {&a, &b};
    send_frames(&a, p, 0, 4);
    assert_int_equal(take_frames(&b, ns, 2, 0, 500), 4);
    close(fd);
    link_free(a.l);
    link_free(b.l);
}

/* No endpoint answers: once each was tried, moves wait the backoff
 * (0.5 s, 1 s, ...) instead of cycling as fast as ports refuse. */
static void test_all_endpoints_dead_backoff(void **state)
{
    (void)state;
    node a, none = {0};
    node_up(&a, "A", 1 << 20);
    char d1[256], d2[256];
    closed_port(d1, sizeof d1);
    closed_port(d2, sizeof d2);
    const char *ep[2] = {d1, d2};
    char pub[41], sec[41];
    assert_int_equal(zmq_curve_keypair(pub, sec), 0);
    int p = link_peer_add(a.l, "B", ep, 2, pub, NULL);
    assert_true(p >= 0);
    assert_false(pump(&a, &none, p, 1200, is_up));
    /* d1->d2, d2->d1 at once; d1->d2 at 0.5 s; the next at 1.5 s */
    uint64_t n = link_peer_switches(a.l, p);
    assert_true(n >= 2 && n <= 4);
    link_free(a.l);
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
    /* down may be seen (heartbeats) before libzmq's I/O thread has let go
     * of the connection on a loaded machine: sends are refused soon after */
    int rc;
    int64_t end = now_ms() + 3000;
    while ((rc = link_send(a.l, p, "h", 1, "b", 1, NULL)) == 0 && now_ms() < end)
        pump(&a, &b, p, 20, NULL);
    assert_int_equal(rc, ERR_AGAIN);
    /* one endpoint: libzmq reconnects to it, no switching */
    assert_int_equal(link_peer_switches(a.l, p), 0);
    assert_int_equal(a.switched, 0);
    /* and nowhere to move to when the caller gives up on it */
    assert_int_equal(link_peer_abandon(a.l, p, "no acks"), 0);
    assert_int_equal(a.switched, 0);
    assert_non_null(link_peer_active(a.l, p));
    assert_int_equal(link_peer_drop(a.l, p), 0);
    assert_null(link_peer_active(a.l, p));
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
        cmocka_unit_test(test_two_live_endpoints_first_only),
        cmocka_unit_test(test_failover_to_second),
        cmocka_unit_test(test_abandon_live_endpoint),
        cmocka_unit_test(test_first_endpoint_silent),
        cmocka_unit_test(test_all_endpoints_dead_backoff),
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
