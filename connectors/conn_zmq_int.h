/* conn_zmq_int: the ZeroMQ ingress's request reader, out of conn_zmq.c
 * only so that its fuzz target (tests/fuzz/fuzz_zmqreq.c) can reach it:
 * the bytes come straight from a local system's socket. Internal to
 * conn_zmq.c and its tests. */
#ifndef EPORT_CONN_ZMQ_INT_H
#define EPORT_CONN_ZMQ_INT_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

/* A request's fields, borrowed from the frame. */
typedef struct zq_req {
    int has_v;
    uint64_t v;
    char key[AUTH_KEY_MAX + 1], map[128], idem[256];
    const unsigned char *cid; /* raw msgpack of the cid, or NULL */
    size_t cidn;
    const char *body;
    size_t bodyn;
    int has_body;
} zq_req;

/* p[0..n) as one request map into *q (zeroed first): 0, or -1 with why
 * ("request: ..."). Lenient about forms, strict about bounds (see the
 * comment at the top of conn_zmq.c). */
int zq_parse(const void *p, size_t n, zq_req *q, char *why, size_t wn);

#endif
