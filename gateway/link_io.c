/* link: sending and receiving frames on the ROUTER and the DEALERs, all
 * without blocking; see link.h. */
#include "link_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int link_send(link_t *l, int peer, const void *hdr, size_t hn,
              const void *body, size_t bn, err_t *e)
{
    if (peer < 0 || peer >= LINK_PEERS_MAX || !l->peers[peer].dealer)
        return err_set(e, ERR_NOTFOUND, "link send: no peer %d", peer);
    link__peer *p = &l->peers[peer];
    /* A message is atomic: once its first frame is taken (checked against
     * the HWM), the second cannot be refused for room. */
    if (zmq_send(p->dealer, hdr, hn, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        if (zmq_errno() == EAGAIN)
            return err_set(e, ERR_AGAIN, "link send to %s: not connected "
                           "or queue full", p->id);
        return err_set(e, ERR_IO, "link send to %s: %s", p->id,
                       zmq_strerror(zmq_errno()));
    }
    if (zmq_send(p->dealer, body, bn, ZMQ_DONTWAIT) < 0)
        return err_set(e, ERR_IO, "link send to %s: second frame: %s",
                       p->id, zmq_strerror(zmq_errno()));
    return 0;
}

/* The authenticated peer of a frame read from the ROUTER. */
static void link__user_id(zmq_msg_t *m, char out[LINK_ID_MAX + 1])
{
    const char *u = zmq_msg_gets(m, "User-Id");
    out[0] = '\0';
    if (u && strlen(u) <= LINK_ID_MAX)
        snprintf(out, LINK_ID_MAX + 1, "%s", u);
}

/* Reads the frames after the routing id: the first two into l->in, the
 * others discarded. Returns how many there were. */
static size_t link__parts(link_t *l, int more)
{
    size_t parts = 0;
    zmq_msg_t extra;
    zmq_msg_init(&extra);
    while (more) {
        zmq_msg_t *m = parts < 2 ? &l->in[parts] : &extra;
        if (zmq_msg_recv(m, l->router, 0) < 0)
            break;
        parts++;
        more = zmq_msg_more(m);
    }
    zmq_msg_close(&extra);
    return parts;
}

int link_recv_in(link_t *l, link_in *in, err_t *e)
{
    memset(in, 0, sizeof *in);
    /* release the frames lent last time now, not when next overwritten:
     * a 1-frame message would otherwise keep an old body alive */
    for (int k = 0; k < 2; k++) {
        zmq_msg_close(&l->in[k]);
        zmq_msg_init(&l->in[k]);
    }
    zmq_msg_t rid;
    zmq_msg_init(&rid);
    if (zmq_msg_recv(&rid, l->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&rid);
        if (zmq_errno() == EAGAIN)
            return 0;
        return err_set(e, ERR_IO, "link %s: receive: %s", l->self_id,
                       zmq_strerror(zmq_errno()));
    }
    in->rid_len = zmq_msg_size(&rid);
    if (in->rid_len > LINK_RID_MAX)
        in->rid_len = LINK_RID_MAX; /* cannot happen: libzmq's own limit */
    memcpy(in->rid, zmq_msg_data(&rid), in->rid_len);
    in->parts = link__parts(l, zmq_msg_more(&rid));
    link__user_id(in->parts ? &l->in[0] : &rid, in->peer);
    zmq_msg_close(&rid);
    if (in->parts >= 1) {
        in->hdr = zmq_msg_data(&l->in[0]);
        in->hn = zmq_msg_size(&l->in[0]);
    }
    if (in->parts >= 2) {
        in->body = zmq_msg_data(&l->in[1]);
        in->bn = zmq_msg_size(&l->in[1]);
    }
    return 1;
}

int link_reply(link_t *l, const unsigned char *rid, size_t rid_len,
               const void *p, size_t n, err_t *e)
{
    if (rid_len < 1 || rid_len > LINK_RID_MAX || n > LINK_REPLY_MAX)
        return err_set(e, ERR_INVALID, "link reply: routing id of %zu "
                       "bytes, answer of %zu (max %d)", rid_len, n,
                       LINK_REPLY_MAX);
    if (zmq_send(l->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        int err = zmq_errno();
        if (err == EHOSTUNREACH || err == EAGAIN) {
            l->stats.replies_dropped++;
            return 0;
        }
        return err_set(e, ERR_IO, "link %s: reply: %s", l->self_id,
                       zmq_strerror(err));
    }
    if (zmq_send(l->router, p, n, ZMQ_DONTWAIT) < 0)
        return err_set(e, ERR_IO, "link %s: reply frame: %s", l->self_id,
                       zmq_strerror(zmq_errno()));
    return 0;
}

/* One single-frame answer from p's DEALER into l->ack: 1, 0 when none
 * is waiting, -1 on a socket error. Multi-frame answers are not link
 * acks: dropped. */
static int link__ack_from(link_t *l, link__peer *p)
{
    while (zmq_msg_recv(&l->ack, p->dealer, ZMQ_DONTWAIT) >= 0) {
        if (!zmq_msg_more(&l->ack))
            return 1;
        while (zmq_msg_more(&l->ack) &&
               zmq_msg_recv(&l->ack, p->dealer, 0) >= 0)
            ;
        l->stats.acks_dropped++;
    }
    return zmq_errno() == EAGAIN ? 0 : -1;
}

int link_recv_ack(link_t *l, int *peer, const void **data, size_t *n,
                  err_t *e)
{
    for (int k = 0; k < LINK_PEERS_MAX; k++) {
        int i = (l->ack_next + k) % LINK_PEERS_MAX;
        int rc = l->peers[i].dealer ? link__ack_from(l, &l->peers[i]) : 0;
        if (rc < 0)
            return err_set(e, ERR_IO, "link %s: receive from %s: %s",
                           l->self_id, l->peers[i].id,
                           zmq_strerror(zmq_errno()));
        if (rc == 0)
            continue;
        /* start after this peer next time, so none is starved */
        l->ack_next = (i + 1) % LINK_PEERS_MAX;
        *peer = i;
        *data = zmq_msg_data(&l->ack);
        *n = zmq_msg_size(&l->ack);
        return 1;
    }
    return 0;
}

void link_stats_get(const link_t *l, link_stats *out) { *out = l->stats; }
