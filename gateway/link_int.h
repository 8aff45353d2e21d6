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

/* One endpoint of a peer. libzmq names the endpoint, as connected, in
 * each monitor event, which is how events find their row. */
typedef struct link__ep {
    char uri[LINK__EP_MAX];
    int up;              /* a connection past the CURVE handshake */
    int64_t redial_at;   /* 0, or when to connect again (monotonic ms) */
    int64_t backoff_ms;  /* next wait after a failed handshake */
} link__ep;

typedef struct link__allow {
    unsigned char key[LINK__KEY_LEN];
    char id[LINK_ID_MAX + 1];
} link__allow;

typedef struct link__peer {
    void *dealer;    /* NULL: slot free */
    void *mon;       /* PAIR reading the DEALER's monitor events */
    char id[LINK_ID_MAX + 1];
    link__ep ep[LINK_ENDPOINTS_MAX];
    int nep;
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
void link__mon_read(link__peer *p);         /* drain events, update up */
/* Connects again the endpoints whose redial time has come; returns the
 * ms until the next one is due, or -1 when none is pending. */
int64_t link__redial(link_t *l, int64_t now);

#endif
