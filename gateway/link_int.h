/* link internals shared by link.c (context, ROUTER, link_wait),
 * link_zap.c (the ZAP handler), link_peer.c (DEALERs and their monitors)
 * and link_io.c (frames). Not for other modules. */
#ifndef EPORT_LINK_INT_H
#define EPORT_LINK_INT_H

#include <stdint.h>

#include <zmq.h>

#include "link.h"

#define LINK__KEY_LEN 32  /* binary CURVE key */
#define LINK__EP_MAX 256   /* an endpoint's text, NUL included */
/* libzmq does not reconnect after a failed handshake (a ZAP refusal is a
 * protocol error that ends the session), so link_wait connects again
 * itself, first after 500 ms, doubling to 10 s: a peer that refuses us
 * (its config not reloaded yet) is retried without flooding its log. The
 * same backoff spaces the moves of a peer between its endpoints once
 * none of them answers, so that an absent region is not hammered. */
#define LINK__REDIAL_FIRST_MS 500
#define LINK__REDIAL_MAX_MS 10000
#define LINK__HANDSHAKE_FAILED                                            \
    (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |                               \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

/* One endpoint of a peer. libzmq names the endpoint, as connected, in
 * each monitor event, which is how events find their row. */
typedef struct link__ep {
    char uri[LINK__EP_MAX];
    int up;              /* a connection past the CURVE handshake */
    int64_t dialled_at;  /* its last zmq_connect (monotonic ms), 0 never */
} link__ep;

typedef struct link__allow {
    unsigned char key[LINK__KEY_LEN];
    char id[LINK_ID_MAX + 1];
} link__allow;

/* A peer's DEALER is connected to one endpoint at a time, ep[active]
 * (link_fail.c): the link is one ordered stream, which libzmq would
 * otherwise spread round-robin over the instances. */
typedef struct link__peer {
    void *dealer;    /* NULL: slot free */
    void *mon;       /* PAIR reading the DEALER's monitor events */
    char id[LINK_ID_MAX + 1];
    link__ep ep[LINK_ENDPOINTS_MAX];
    int nep;
    int active;          /* the endpoint in use, or next to be dialled */
    int64_t dial_at;     /* 0, or when to connect ep[active] (monotonic ms) */
    int64_t deadline;    /* 0, or when ep[active] must be past the
                          * handshake (only with several endpoints) */
    int64_t backoff_ms;  /* the next dial_at delay */
    int fails;           /* dials in a row that reached no handshake */
    int dial_failed;     /* zmq_connect of ep[active] failed */
    uint64_t switches;   /* moves to another endpoint */
} link__peer;

struct link_t {
    void *ctx;
    void *router;
    void *zap;       /* REP bound on inproc://zeromq.zap.01 */
    char endpoint[256];
    char self_id[LINK_ID_MAX + 1];
    unsigned char pub[LINK__KEY_LEN], sec[LINK__KEY_LEN];
    int64_t hb_ms, hb_timeout_ms;
    int hwm;
    link_refused_fn on_refused;
    void *refused_ctx;
    link_switch_fn on_switch;
    void *switch_ctx;
    link__allow allow[LINK_ALLOW_MAX];
    int nallow;
    link__peer peers[LINK_PEERS_MAX];
    unsigned mon_gen;     /* makes monitor endpoints unique */
    int ack_next;         /* round-robin start of link_recv_ack */
    int watch_fd;         /* link_watch_fd, -1 none */
    int watch_ready;
    zmq_msg_t in[2];      /* frames lent by link_recv_in */
    zmq_msg_t ack;        /* frame lent by link_recv_ack */
    link_stats stats;
};

/* Z85 text of exactly LINK_KEY_Z85_LEN characters to 32 bytes; 0 or -1. */
int link__key(const char *z85, unsigned char out[LINK__KEY_LEN]);
/* Set one socket option, or n of them in order, filling e with which
 * failed. */
int link__opt(void *s, int opt, int v, const char *what, err_t *e);
typedef struct link__sopt {
    int opt;
    const void *v;
    size_t n;
    const char *what;
} link__sopt;
int link__opts(void *s, const link__sopt *o, size_t n, err_t *e);
/* Linger, HWMs and heartbeats, as every socket of a link has them. */
int link__common(const link_t *l, void *s, err_t *e);
int64_t link__now_ms(void);

/* link_zap.c */
int link__zap_start(link_t *l, err_t *e);   /* bind before the ROUTER */
void link__zap_serve(link_t *l);            /* answer what is waiting */

/* link_peer.c */
void link__peer_close(link__peer *p);

/* link_fail.c: which endpoint a peer's DEALER uses, from its monitor */
/* Connects ep[active] (disconnecting it first: see link_fail.c): 0, or
 * -1 with zmq_errno when libzmq refused the endpoint. */
int link__dial(link__peer *p, int64_t now);
/* Drains peer i's monitor events, updating up and failing over; returns
 * 1 when link_peer_up(l, i) changed. */
int link__mon_read(link_t *l, int i);
/* Dials what is due and fails over endpoints past their handshake
 * deadline; returns the ms until the next such time, -1 when none. */
int64_t link__redial(link_t *l, int64_t now);

#endif
