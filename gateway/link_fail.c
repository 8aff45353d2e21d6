/* link: which endpoint each peer's DEALER is connected to, from the
 * events of its socket monitor. One at a time: frames of a link are
 * chained (prev/pos), and a DEALER connected to two instances would deal
 * them out round-robin, each instance then seeing gaps. With several
 * endpoints, losing the one in use moves the DEALER to the next; with
 * one, libzmq reconnects and only a failed handshake is redialled here.
 * See link_peer_add in link.h. */
#include "link_int.h"

#include <string.h>

/* An endpoint is not dialled again sooner than this after its last dial,
 * libzmq's own reconnect interval (ZMQ_RECONNECT_IVL's default): the
 * instances of a region that drop us right after each handshake are not
 * cycled through as fast as handshakes go. */
#define LINK__DIAL_GAP_MS 100

/* Disconnect first: it ends the session, and whatever libzmq might still
 * be retrying, so that one endpoint never holds two connections (when a
 * peer with one endpoint is redialled, the old session is still there). */
int link__dial(link__peer *p, int64_t now)
{
    const char *uri = p->ep[p->active].uri;
    p->ep[p->active].dialled_at = now;
    p->dial_at = 0;
    p->deadline = p->nep > 1 ? now + LINK_HANDSHAKE_MS : 0;
    zmq_disconnect(p->dealer, uri);
    int rc = zmq_connect(p->dealer, uri);
    p->dial_failed = rc != 0;
    /* libzmq refused the text (link_peer_add checks only the first
     * endpoint): with several, on to the next at the next timer */
    if (rc != 0 && p->nep > 1)
        p->deadline = now;
    return rc;
}

/* Leaves ep[active] (its queued frames dropped with the session) for the
 * next endpoint, and tells the caller. */
static void link__switch(link_t *l, int i, const char *why)
{
    link__peer *p = &l->peers[i];
    const char *from = p->ep[p->active].uri;
    zmq_disconnect(p->dealer, from);
    p->active = (p->active + 1) % p->nep;
    p->switches++;
    l->stats.endpoint_switches++;
    if (l->on_switch)
        l->on_switch(l->switch_ctx, i, p->id, from, p->ep[p->active].uri,
                     why);
}

/* now plus the backoff, which doubles for the next time. */
static int64_t link__backoff(link__peer *p, int64_t now)
{
    int64_t at = now + p->backoff_ms;
    p->backoff_ms *= 2;
    if (p->backoff_ms > LINK__REDIAL_MAX_MS)
        p->backoff_ms = LINK__REDIAL_MAX_MS;
    return at;
}

/* ep[active] is lost: dial the next endpoint (the same one if it is the
 * only one) at once (LINK__DIAL_GAP_MS after its last dial at the
 * earliest), or after the backoff when every endpoint has been dialled
 * in a row without reaching a handshake. A peer with one endpoint is
 * only lost by a failed handshake: always the backoff. */
static void link__lost(link_t *l, int i, const char *why, int64_t now)
{
    link__peer *p = &l->peers[i];
    link__ep *ep = &p->ep[p->active];
    if (ep->up)
        p->fails = 0;
    else if (p->fails < p->nep)
        p->fails++;
    ep->up = 0;
    p->deadline = 0;
    if (p->nep > 1)
        link__switch(l, i, why);
    int64_t at = p->fails < p->nep
                     ? p->ep[p->active].dialled_at + LINK__DIAL_GAP_MS
                     : link__backoff(p, now);
    if (at > now)
        p->dial_at = at;
    else
        link__dial(p, now);
}

static void link__handshaked(link__peer *p)
{
    p->ep[p->active].up = 1;
    p->deadline = 0;
    p->fails = 0;
    p->backoff_ms = LINK__REDIAL_FIRST_MS;
}

/* Events about an endpoint not in use (left behind, or not dialled yet)
 * are late news of a session already ended: ignored. */
static void link__mon_event(link_t *l, int i, uint16_t ev, const void *uri,
                            size_t n)
{
    link__peer *p = &l->peers[i];
    link__ep *ep = &p->ep[p->active];
    int multi = p->nep > 1;
    if (strlen(ep->uri) != n || memcmp(ep->uri, uri, n) != 0 ||
        (multi && p->dial_at))
        return;
    int64_t now = link__now_ms();
    if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        link__handshaked(p);
    else if (ev == ZMQ_EVENT_DISCONNECTED && multi)
        link__lost(l, i, "disconnected", now);
    else if (ev == ZMQ_EVENT_DISCONNECTED)
        ep->up = 0; /* libzmq reconnects */
    else if (ev == ZMQ_EVENT_CONNECT_RETRIED && multi)
        link__lost(l, i, "connect failed", now);
    else if ((ev & LINK__HANDSHAKE_FAILED) && !p->dial_at)
        link__lost(l, i, "handshake failed", now);
}

/* Each event is two frames: 6 bytes (uint16 event, uint32 value, host
 * order) and the endpoint of the connection it is about. Stops after an
 * event that took the peer down, leaving the rest for the next call: a
 * reconnect already in the queue must not hide the down from a caller
 * that looks at link_peer_up between link_wait calls. */
int link__mon_read(link_t *l, int i)
{
    link__peer *p = &l->peers[i];
    int was = link_peer_up(l, i), down = 0;
    zmq_msg_t a, b;
    zmq_msg_init(&a);
    zmq_msg_init(&b);
    while (!down && zmq_msg_recv(&a, p->mon, ZMQ_DONTWAIT) >= 0) {
        if (!zmq_msg_more(&a) || zmq_msg_recv(&b, p->mon, 0) < 0)
            continue;
        uint16_t ev;
        if (zmq_msg_size(&a) >= sizeof ev) {
            memcpy(&ev, zmq_msg_data(&a), sizeof ev);
            link__mon_event(l, i, ev, zmq_msg_data(&b), zmq_msg_size(&b));
            down = was && !link_peer_up(l, i);
        }
    }
    zmq_msg_close(&a);
    zmq_msg_close(&b);
    return link_peer_up(l, i) != was;
}

/* Peer i's dial if due, or its move on if the endpoint in use is past its
 * handshake deadline; the ms until its next such time, -1 when none. */
static int64_t link__timer(link_t *l, int i, int64_t now)
{
    link__peer *p = &l->peers[i];
    if (p->deadline && p->deadline <= now)
        link__lost(l, i, p->dial_failed ? "cannot connect"
                                         : "handshake timeout", now);
    if (p->dial_at && p->dial_at <= now)
        link__dial(p, now);
    int64_t t = p->dial_at ? p->dial_at : p->deadline;
    if (!t)
        return -1;
    return t > now ? t - now : 0;
}

int64_t link__redial(link_t *l, int64_t now)
{
    int64_t next = -1;
    for (int i = 0; i < LINK_PEERS_MAX; i++) {
        if (!l->peers[i].dealer)
            continue;
        int64_t t = link__timer(l, i, now);
        if (t >= 0 && (next < 0 || t < next))
            next = t;
    }
    return next;
}

int link_peer_abandon(link_t *l, int peer, const char *why)
{
    if (peer < 0 || peer >= LINK_PEERS_MAX || !l->peers[peer].dealer)
        return ERR_INVALID;
    link__peer *p = &l->peers[peer];
    if (p->nep < 2)
        return 0;
    link__lost(l, peer, why, link__now_ms());
    return 1;
}
