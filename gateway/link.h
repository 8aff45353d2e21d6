/* link: the node's ZeroMQ sockets, and nothing of what the frames mean.
 * One ROUTER bound on node.listen (CURVE server) receives [hdr, body]
 * frames from every peer and answers each on the same connection with a
 * one-frame link ack; one DEALER per peer (CURVE client) sends frames and
 * reads those acks. The sequencing (prev/pos, acks, resends) belongs to
 * the node; this module moves bytes and says who sent them.
 *
 * Who a peer is: the ZAP handler (RFC 27, domain LINK_ZAP_DOMAIN) accepts
 * a client CURVE key only if link_allow named it, and sets the ZAP
 * User-Id to that peer's node id, which link_recv_in reports with every
 * frame. Unknown keys are refused with status 400, counted and passed to
 * the optional refused callback (the node logs event=zap_refused).
 *
 * Threads: none. The ZAP handler and the DEALERs' socket monitors are
 * sockets of the same loop, served inside link_wait, so a handshake only
 * progresses while the node calls link_wait (its main loop does, all the
 * time). A link_t is not thread-safe.
 *
 * Endpoints: the several endpoints of a peer are instances of one region
 * (one Redis between them). Frames of a link are chained (prev/pos), so
 * the DEALER is connected to one endpoint at a time, never spread over
 * them: the first, and on losing it the next in list order (wrapping).
 * See link_peer_add.
 *
 * Ownership: link_new makes the link_t, link_free releases it. Pointers
 * handed out (link_in's frames, link_recv_ack's data, link_endpoint,
 * link_peer_active) are borrowed and valid until the next call named in
 * each comment.
 * Functions return 0 (or 1 / an index where said) or a negative ERR_*. */
#ifndef EPORT_LINK_H
#define EPORT_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define LINK_ID_MAX 32          /* node ids, without the NUL */
#define LINK_KEY_Z85_LEN 40     /* a CURVE key as Z85 text */
#define LINK_PEERS_MAX 64       /* DEALERs at once */
#define LINK_ENDPOINTS_MAX 8    /* endpoints of one peer */
#define LINK_ALLOW_MAX 256      /* ZAP allow-list rows (key rollovers) */
#define LINK_RID_MAX 255        /* libzmq's longest routing id */
#define LINK_REPLY_MAX 4096     /* an answer frame; a link ack is ~30 B */
/* How long an endpoint of a peer with several may take, from being
 * dialled, to get past the CURVE handshake before the next is tried:
 * the handshake is ~4 round trips plus the server's ZAP check, well
 * under a second between provinces, while an instance whose host is
 * gone (no RST, SYNs unanswered) would otherwise hold the link until
 * TCP gives up, minutes later. */
#define LINK_HANDSHAKE_MS 2000
#define LINK_ZAP_DOMAIN "eport"

typedef struct link_t link_t;

/* Called from link_wait for each refused client, with its CURVE public
 * key (Z85) and its address as libzmq gives it ("127.0.0.1"). */
typedef void (*link_refused_fn)(void *ctx, const char *key_z85,
                                const char *address);

/* Called from link_wait when a peer with several endpoints leaves the one
 * in use (from) for the next (to), both as given to link_peer_add. why:
 * "disconnected" (incl. a heartbeat timeout), "connect failed",
 * "handshake failed", "handshake timeout" or "cannot connect". to is
 * dialled at once, or after the redial backoff when no endpoint came up
 * since every one was tried (see link_peer_add). Must not add or drop
 * peers. */
typedef void (*link_switch_fn)(void *ctx, int peer, const char *peer_id,
                               const char *from, const char *to,
                               const char *why);

typedef struct link_conf {
    const char *self_id;          /* "SC" */
    const char *listen;           /* ROUTER bind endpoint; "tcp://127.0.0.1:*"
                                   * picks a port (see link_endpoint) */
    const char *curve_public;     /* this node's CURVE keys, Z85 */
    const char *curve_secret;
    int64_t heartbeat_ms;         /* ZMQ_HEARTBEAT_IVL; 0 = no heartbeats */
    int64_t heartbeat_timeout_ms; /* ZMQ_HEARTBEAT_TIMEOUT and _TTL */
    int64_t max_frame_bytes;      /* ZMQ_MAXMSGSIZE on the ROUTER */
    int hwm;                      /* send/receive HWM of every socket */
    link_refused_fn on_refused;   /* may be NULL */
    void *refused_ctx;
    link_switch_fn on_switch;     /* may be NULL */
    void *switch_ctx;
} link_conf;

/* Context, ZAP handler, ROUTER bound. *out is the caller's (link_free).
 * ERR_CONFIG for a bad key or an endpoint that cannot be bound. */
int link_new(const link_conf *c, link_t **out, err_t *e);
/* Linger 0: frames not yet on the wire are dropped (they are still in the
 * outbox in Redis). NULL is fine. */
void link_free(link_t *l);
/* The ROUTER's bound endpoint as libzmq reports it (ZMQ_LAST_ENDPOINT),
 * e.g. "tcp://127.0.0.1:41733"; borrowed until link_free. */
const char *link_endpoint(const link_t *l);

/* ZAP allow-list: a client presenting curve_public (Z85) is peer id. A
 * key already listed is re-pointed to id; an id may have several keys.
 * ERR_INVALID for a bad id or key, ERR_TOOBIG past LINK_ALLOW_MAX.
 * link_allow_reset empties it (SIGHUP reload; the node then re-adds):
 * connections already accepted stay up, new handshakes are checked
 * against the new list. */
int link_allow(link_t *l, const char *id, const char *curve_public,
               err_t *e);
void link_allow_reset(link_t *l);

/* A DEALER to peer id: CURVE client with this node's keys and the peer's
 * server_public (Z85, the same for all its endpoints), ZMQ_IMMEDIATE.
 * Returns its index (0..LINK_PEERS_MAX-1) for the calls below; an index
 * freed by link_peer_drop may be handed out again.
 *
 * It is connected to endpoints[0] only. With one endpoint that is all:
 * libzmq reconnects after a lost connection, link_wait after a failed
 * handshake. With several, link_wait moves it to the next endpoint (in
 * order, after the last the first) when the one in use is lost: its
 * connection ends (heartbeat timeout included), no connection can be
 * made (port closed, host unreachable or unknown), its handshake fails,
 * or it is not past the handshake LINK_HANDSHAKE_MS after being dialled
 * (a hung instance). The move is immediate (an endpoint is dialled at
 * most every 100 ms, though, as libzmq reconnects) until every endpoint
 * has been tried without reaching a handshake; from then each waits the
 * redial backoff (0.5 s doubling to 10 s, reset by a handshake). Frames queued for the lost connection are dropped; the
 * peer is down (link_peer_up) until the next endpoint's handshake.
 * Only endpoints[0] is checked here (ERR_CONFIG if libzmq refuses it);
 * a later one libzmq refuses is skipped when its turn comes. */
int link_peer_add(link_t *l, const char *id, const char *const *endpoints,
                  size_t n, const char *server_public, err_t *e);
/* Closes the DEALER (queued frames dropped). ERR_NOTFOUND for an index
 * not in use. */
int link_peer_drop(link_t *l, int peer);

/* Wait up to timeout_ms (-1: no limit) until the ROUTER or a DEALER has
 * something to read, serving ZAP requests and socket-monitor events in
 * the meantime, and dialling again endpoints whose handshake failed
 * (libzmq does not: after 0.5 s, doubling to 10 s) and moving peers
 * between their endpoints (link_peer_add). Returns early also when a
 * peer went up or down, so that a caller checking link_peer_up after
 * each call sees every change, and 0 also when interrupted by a signal
 * (EINTR), so the caller can look at its flags. */
int link_wait(link_t *l, int64_t timeout_ms, err_t *e);

/* Send [hdr, body] on the peer's DEALER without blocking. ERR_AGAIN when
 * the peer has no handshaked connection (ZMQ_IMMEDIATE) or its queue is
 * at the HWM: nothing was sent, try later. ERR_NOTFOUND: no such peer. */
int link_send(link_t *l, int peer, const void *hdr, size_t hn,
              const void *body, size_t bn, err_t *e);

/* One message read from the ROUTER. */
typedef struct link_in {
    char peer[LINK_ID_MAX + 1];  /* ZAP User-Id: the authenticated link
                                  * peer ("" if libzmq gave none) */
    unsigned char rid[LINK_RID_MAX + 1]; /* routing id, for link_reply */
    size_t rid_len;
    size_t parts;                /* frames after the routing id */
    const void *hdr;             /* frame 1 (NULL if parts < 1) */
    size_t hn;
    const void *body;            /* frame 2 (NULL if parts < 2) */
    size_t bn;
} link_in;

/* Non-blocking: 1 with *in filled, 0 when nothing is waiting. Frames past
 * the second are read and discarded (only counted in parts). hdr and body
 * are borrowed until the next link_recv_in or link_free. */
int link_recv_in(link_t *l, link_in *in, err_t *e);

/* Answer one frame (n <= LINK_REPLY_MAX) to rid on the ROUTER. A peer
 * that is gone (EHOSTUNREACH) or whose queue is full is not an error:
 * the answer is dropped (counted in link_stats) and 0 returned, as the
 * sender resends after its timeout anyway. */
int link_reply(link_t *l, const unsigned char *rid, size_t rid_len,
               const void *p, size_t n, err_t *e);

/* Non-blocking: 1 with *peer the DEALER's index and *data, *n one answer
 * frame (borrowed until the next link_recv_ack or link_free), 0 when no
 * DEALER has one. Multi-frame or oversized answers are dropped (counted). */
int link_recv_ack(link_t *l, int *peer, const void **data, size_t *n,
                  err_t *e);

/* 1 while the peer's DEALER holds a connection past the CURVE handshake
 * (to the endpoint in use), 0 otherwise (or for a bad index). Updated by
 * link_wait. */
int link_peer_up(const link_t *l, int peer);
/* The endpoint in use, as given to link_peer_add: connected, or next to
 * be dialled after a backoff. NULL for a bad index. Borrowed until
 * link_peer_drop or link_free. */
const char *link_peer_active(const link_t *l, int peer);
/* How many times the peer moved to another endpoint (0 for a bad index
 * or a peer with one endpoint). */
uint64_t link_peer_switches(const link_t *l, int peer);
/* Move the peer to its next endpoint as if the one in use were lost: the
 * caller saw it connected but useless (an instance of the peer's node
 * that acknowledges nothing, cut off from its Redis). 1 when it moved, 0
 * for a peer with one endpoint (nothing to move to), ERR_INVALID for a
 * bad index. The switch is reported to on_switch with why. */
int link_peer_abandon(link_t *l, int peer, const char *why);

/* Also wake link_wait when fd (not a ZeroMQ socket; -1: none) is
 * readable, e.g. the store's doorbell; link_fd_ready then says 1 once. */
void link_watch_fd(link_t *l, int fd);
int link_fd_ready(link_t *l);

typedef struct link_stats {
    uint64_t zap_refused;                 /* refused ZAP requests */
    char zap_last_key[LINK_KEY_Z85_LEN + 1]; /* Z85 of the last refused */
    uint64_t replies_dropped;             /* link_reply found no way */
    uint64_t acks_dropped;                /* malformed DEALER answers */
    uint64_t endpoint_switches;           /* link_peer_switches, summed
                                           * over peers ever added */
} link_stats;

void link_stats_get(const link_t *l, link_stats *out);

#endif
