/* out_zmq: the ZeroMQ PUSH transport. The socket connects to
 * out_endpoint (the local system binds a PULL there) and each entry goes
 * as one two-frame message [event, body]. ZMQ_IMMEDIATE: nothing is
 * queued while no peer is connected, so "no peer" is a failure the worker
 * retries (EAGAIN), not a message parked in a queue nobody reads.
 *
 * What it guarantees is weaker than the webhook's: a message counts as
 * delivered once ZeroMQ queued it for a connected peer; at stop the queue
 * is flushed for up to OZ_LINGER_MS, but a crash (or a peer that dies
 * before reading) can lose what sits in it. A system that needs
 * confirmed receipt uses the webhook. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "conn.h"
#include "out.h"

#define OZ_LINGER_MS 2000
#define OZ_HWM 1000

typedef struct oz {
    void *ctx, *sock;
} oz;

static void oz__free(oz *z)
{
    if (z->sock)
        zmq_close(z->sock);
    if (z->ctx)
        zmq_ctx_term(z->ctx);
    free(z);
}

static int oz_open(conn_out *o, err_t *e)
{
    const char *ep = o->cc->out_endpoint;
    if (!ep || !*ep)
        return err_set(e, ERR_CONFIG, "out: zmq needs out_endpoint");
    oz *z = calloc(1, sizeof *z);
    if (!z)
        return err_set(e, ERR_NOMEM, "out_zmq %s: out of memory", ep);
    int linger = OZ_LINGER_MS, one = 1, hwm = OZ_HWM;
    if (!(z->ctx = zmq_ctx_new()) || !(z->sock = zmq_socket(z->ctx, ZMQ_PUSH)) ||
        zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(z->sock, ZMQ_IMMEDIATE, &one, sizeof one) ||
        zmq_setsockopt(z->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
        zmq_connect(z->sock, ep)) {
        int rc = err_set(e, ERR_CONFIG, "out_endpoint %s: %s", ep,
                         zmq_strerror(zmq_errno()));
        oz__free(z);
        return rc;
    }
    o->priv = z;
    return 0;
}

static int oz_send(conn_out *o, const char *name, const void *p, size_t n,
                   err_t *e)
{
    oz *z = o->priv;
    store_pos pos;
    char ev[64];
    const char *ext;
    if (out_name_parse(name, &pos, ev, sizeof ev, &ext))
        return err_set(e, ERR_INVALID, "out_zmq: entry name '%s' is not "
                       "<ms>-<seq>-<event>.<ext>", name);
    /* the frames of one message go together: once the first is queued
     * the second is too (ZeroMQ multipart is atomic) */
    if (zmq_send(z->sock, ev, strlen(ev), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(z->sock, p, n, ZMQ_DONTWAIT) < 0) {
        int err = zmq_errno();
        return err_set(e, ERR_IO, "out_zmq PUSH %s: %s", o->cc->out_endpoint,
                       err == EAGAIN ? "no peer connected, or its queue is "
                                       "full" : zmq_strerror(err));
    }
    return 0;
}

static void oz_close(conn_out *o)
{
    if (o->priv)
        oz__free(o->priv);
    o->priv = NULL;
}

const conn_out_ops conn_out_zmq_ops = {CFG_OUT_ZMQ, "json", oz_open, oz_send,
                                       oz_close};
