/* store_sendv: one long command written from its arguments straight to
 * the Redis socket. hiredis would format it into a fresh buffer and then
 * append that to its output buffer, both freed once written: for the
 * link script's runs (hundreds of KB of frames a call) those copies and
 * the page faults of the fresh memory cost more than Redis's own parsing.
 * Here the RESP headers are made in a small scratch buffer and the
 * arguments go out by sendmsg with an iovec each, uncopied. */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define SV_IOV 1024        /* iovecs a sendmsg (IOV_MAX on Linux) */
#define SV_HDR 48          /* "\r\n$<len>\r\n" or "*<argc>\r\n$<len>\r\n" */

typedef struct sv_out {
    struct iovec iov[SV_IOV];
    char hdr[SV_IOV / 2][SV_HDR];
    int n, nh;
} sv_out;

static int sv_fail(store *st, const char *what, int err, err_t *e)
{
    err_set(e, ERR_IO, "redis %s: %s: %s", st->url, what,
            err ? strerror(err) : "connection closed");
    st_drop(st);
    return ERR_IO;
}

/* Writes o's iovecs out, all of them (the socket blocks, up to the
 * command timeout). */
static int sv_flush(store *st, sv_out *o, const char *what, err_t *e)
{
    struct iovec *v = o->iov;
    int n = o->n;
    while (n > 0) {
        struct msghdr m = {.msg_iov = v, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(st->c->fd, &m, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return sv_fail(st, what, w < 0 ? errno : 0, e);
        while (n > 0 && (size_t)w >= v->iov_len)
            w -= (ssize_t)v->iov_len, v++, n--;
        if (n > 0)
            v->iov_base = (char *)v->iov_base + w, v->iov_len -= (size_t)w;
    }
    o->n = o->nh = 0;
    return 0;
}

static void sv_add(sv_out *o, const void *p, size_t n)
{
    if (n)
        o->iov[o->n++] = (struct iovec){(void *)p, n};
}

int st_pipe_sendv(store *st, int argc, const char *const *v, const size_t *l,
                  const char *what, err_t *e)
{
    int rc = st_ready(st, e);
    if (rc == 0)
        rc = st_pipe_flush(st, what, e); /* hiredis's own bytes go first */
    sv_out *o = rc == 0 ? malloc(sizeof *o) : NULL;
    if (rc == 0 && !o)
        return err_set(e, ERR_NOMEM, "redis %s: %s: out of memory", st->url,
                       what);
    if (o)
        o->n = o->nh = 0;
    for (int i = 0; rc == 0 && i < argc; i++) {
        if (o->n + 3 > SV_IOV || o->nh == SV_IOV / 2)
            rc = sv_flush(st, o, what, e);
        if (rc < 0)
            break;
        char *h = o->hdr[o->nh++];
        int hn = i == 0 ? snprintf(h, SV_HDR, "*%d\r\n$%zu\r\n", argc, l[i])
                        : snprintf(h, SV_HDR, "\r\n$%zu\r\n", l[i]);
        sv_add(o, h, (size_t)hn);
        sv_add(o, v[i], l[i]);
    }
    if (rc == 0 && argc > 0) {
        sv_add(o, "\r\n", 2);
        rc = sv_flush(st, o, what, e);
    }
    free(o);
    return rc;
}
