/* link: the DEALER of each peer and its socket monitor; which endpoint
 * the DEALER uses, and redialling, are link_fail.c's. See link.h. */
#include "link_int.h"

#include <stdio.h>
#include <string.h>

/* Backoff ceiling of libzmq's own reconnects (after a lost connection):
 * an absent peer is tried at most every 2 s rather than every 100 ms. */
#define LINK__RECONNECT_MAX_MS 2000
void link__peer_close(link__peer *p)
{
    if (p->dealer)
        zmq_close(p->dealer);
    if (p->mon)
        zmq_close(p->mon);
    memset(p, 0, sizeof *p);
}

static int link__dealer(link_t *l, link__peer *p, const unsigned char *srv,
                        err_t *e)
{
    static const int one = 1, reconnect_max = LINK__RECONNECT_MAX_MS;
    static const int64_t max = LINK_REPLY_MAX;
    const link__sopt o[] = {
        /* queue only to handshaked connections: see link_send */
        {ZMQ_IMMEDIATE, &one, sizeof one, "immediate"},
        {ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max,
         "reconnect max"},
        /* only acks come back: a peer cannot make us allocate much */
        {ZMQ_MAXMSGSIZE, &max, sizeof max, "maxmsgsize"},
        {ZMQ_CURVE_SERVERKEY, srv, LINK__KEY_LEN, "curve server key"},
        {ZMQ_CURVE_PUBLICKEY, l->pub, sizeof l->pub, "curve public"},
        {ZMQ_CURVE_SECRETKEY, l->sec, sizeof l->sec, "curve secret"},
    };
    if (!(p->dealer = zmq_socket(l->ctx, ZMQ_DEALER)))
        return err_set(e, ERR_NOMEM, "link peer %s: DEALER: %s", p->id,
                       zmq_strerror(zmq_errno()));
    int rc = link__common(l, p->dealer, e);
    if (!rc)
        rc = link__opts(p->dealer, o, sizeof o / sizeof o[0], e);
    return rc ? err_wrap(e, "peer %s", p->id) : 0;
}

static int link__mon_start(link_t *l, link__peer *p, err_t *e)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://link-mon-%u", ++l->mon_gen);
    int ev = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
             ZMQ_EVENT_CONNECT_RETRIED | LINK__HANDSHAKE_FAILED;
    if (zmq_socket_monitor(p->dealer, ep, ev) != 0)
        return err_set(e, ERR_IO, "link peer %s: monitor: %s", p->id,
                       zmq_strerror(zmq_errno()));
    p->mon = zmq_socket(l->ctx, ZMQ_PAIR);
    if (!p->mon)
        return err_set(e, ERR_NOMEM, "link peer %s: monitor socket: %s",
                       p->id, zmq_strerror(zmq_errno()));
    if (link__opt(p->mon, ZMQ_LINGER, 0, "monitor linger", e) != 0)
        return e ? e->code : ERR_IO;
    if (zmq_connect(p->mon, ep) != 0)
        return err_set(e, ERR_IO, "link peer %s: monitor connect: %s",
                       p->id, zmq_strerror(zmq_errno()));
    return 0;
}

/* Checks id and endpoints and copies them into p. */
static int link__peer_fill(link__peer *p, const char *id,
                           const char *const *endpoints, size_t n, err_t *e)
{
    if (!id || !*id || strlen(id) > LINK_ID_MAX)
        return err_set(e, ERR_INVALID, "link: bad peer id");
    if (n < 1 || n > LINK_ENDPOINTS_MAX)
        return err_set(e, ERR_INVALID, "link peer %s: %zu endpoints, want "
                       "1 to %d", id, n, LINK_ENDPOINTS_MAX);
    snprintf(p->id, sizeof p->id, "%s", id);
    for (size_t k = 0; k < n; k++) {
        const char *u = endpoints[k];
        if (!u || !*u || strlen(u) >= LINK__EP_MAX)
            return err_set(e, ERR_INVALID, "link peer %s: endpoint %zu "
                           "empty or longer than %d", id, k + 1,
                           LINK__EP_MAX - 1);
        for (size_t j = 0; j < k; j++)
            if (strcmp(endpoints[j], u) == 0)
                return err_set(e, ERR_INVALID, "link peer %s: endpoint %s "
                               "listed twice", id, u);
        snprintf(p->ep[k].uri, sizeof p->ep[k].uri, "%s", u);
    }
    p->nep = (int)n;
    p->backoff_ms = LINK__REDIAL_FIRST_MS;
    return 0;
}

int link_peer_add(link_t *l, const char *id, const char *const *endpoints,
                  size_t n, const char *server_public, err_t *e)
{
    unsigned char srv[LINK__KEY_LEN];
    int i = 0;
    while (i < LINK_PEERS_MAX && l->peers[i].dealer)
        i++;
    if (i == LINK_PEERS_MAX)
        return err_set(e, ERR_TOOBIG, "link peer %s: more than %d peers",
                       id ? id : "?", LINK_PEERS_MAX);
    link__peer *p = &l->peers[i];
    int rc = link__peer_fill(p, id, endpoints, n, e);
    if (!rc && link__key(server_public, srv) != 0)
        rc = err_set(e, ERR_INVALID, "link peer %s: server key is not %d "
                     "Z85 characters", id, LINK_KEY_Z85_LEN);
    if (!rc)
        rc = link__dealer(l, p, srv, e);
    if (!rc) /* before any connect, so that no event is missed */
        rc = link__mon_start(l, p, e);
    /* one endpoint at a time (link.h); the others when their turn comes */
    if (!rc && link__dial(p, link__now_ms()) != 0)
        rc = err_set(e, ERR_CONFIG, "link peer %s: connect %s: %s", id,
                     p->ep[0].uri, zmq_strerror(zmq_errno()));
    if (rc) {
        link__peer_close(p);
        return rc;
    }
    return i;
}

int link_peer_drop(link_t *l, int peer)
{
    if (peer < 0 || peer >= LINK_PEERS_MAX || !l->peers[peer].dealer)
        return ERR_NOTFOUND;
    link__peer_close(&l->peers[peer]);
    return 0;
}

static const link__peer *link__peer_at(const link_t *l, int peer)
{
    if (peer < 0 || peer >= LINK_PEERS_MAX || !l->peers[peer].dealer)
        return NULL;
    return &l->peers[peer];
}

int link_peer_up(const link_t *l, int peer)
{
    const link__peer *p = link__peer_at(l, peer);
    return p ? p->ep[p->active].up : 0;
}

const char *link_peer_active(const link_t *l, int peer)
{
    const link__peer *p = link__peer_at(l, peer);
    return p ? p->ep[p->active].uri : NULL;
}

uint64_t link_peer_switches(const link_t *l, int peer)
{
    const link__peer *p = link__peer_at(l, peer);
    return p ? p->switches : 0;
}
