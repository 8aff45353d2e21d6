/* libFuzzer target for the ZeroMQ ingress request reader (zq_parse in
 * connectors/conn_zmq.c): a frame straight from a local system's socket.
 * Any input must be refused with a "request: " reason or read. A request
 * read must hold v 1 and a body, strings NUL-terminated in their arrays
 * with no NUL inside, and body and cid inside the frame; a proper
 * prefix of it must be refused (msgpack is self-delimiting, so a reader
 * that takes one stopped before the end it claims to check). Packed again in one
 * plain form by msgpack-c, it must read back to the same fields. */
#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "conn_zmq_int.h"

/* s: a C string ending inside its cap bytes, no NUL before the end */
static int fuzz__str_ok(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* p[0..n) lies inside data[0..size) */
static int fuzz__inside(const void *p, size_t n, const uint8_t *data,
                        size_t size)
{
    const uint8_t *b = p;
    return b >= data && b <= data + size && n <= (size_t)(data + size - b);
}

static void fuzz__fields(const zq_req *q, const uint8_t *data, size_t size)
{
    if (!q->has_v || q->v != 1 || !q->has_body ||
        !fuzz__str_ok(q->key, sizeof q->key) ||
        !fuzz__str_ok(q->map, sizeof q->map) ||
        !fuzz__str_ok(q->idem, sizeof q->idem) ||
        !fuzz__inside(q->body, q->bodyn, data, size) ||
        (q->cid && (q->cidn == 0 || !fuzz__inside(q->cid, q->cidn, data,
                                                   size))))
        __builtin_trap(); /* a fuzz harness reports by crashing */
}

static int fuzz__write(void *b, const char *p, size_t n)
{
    return buf_add(b, p, n) ? -1 : 0;
}

static void fuzz__pstr(msgpack_packer *pk, const char *k, const char *s,
                       size_t n)
{
    msgpack_pack_str(pk, strlen(k));
    msgpack_pack_str_body(pk, k, strlen(k));
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* q in one plain spelling: every key, shortest forms, body as bin. */
static void fuzz__repack(const zq_req *q, buf_t *w)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, w, fuzz__write);
    msgpack_pack_map(&pk, 5 + !!q->cid);
    msgpack_pack_str(&pk, 1);
    msgpack_pack_str_body(&pk, "v", 1);
    msgpack_pack_uint64(&pk, q->v);
    fuzz__pstr(&pk, "key", q->key, strlen(q->key));
    fuzz__pstr(&pk, "map", q->map, strlen(q->map));
    fuzz__pstr(&pk, "idem", q->idem, strlen(q->idem));
    if (q->cid) { /* raw, as the reply echoes it */
        msgpack_pack_str(&pk, 3);
        msgpack_pack_str_body(&pk, "cid", 3);
        buf_add(w, q->cid, q->cidn);
    }
    msgpack_pack_str(&pk, 4);
    msgpack_pack_str_body(&pk, "body", 4);
    msgpack_pack_bin(&pk, q->bodyn);
    msgpack_pack_bin_body(&pk, q->body, q->bodyn);
}

static int fuzz__same(const zq_req *x, const zq_req *y)
{
    return x->v == y->v && !strcmp(x->key, y->key) &&
           !strcmp(x->map, y->map) && !strcmp(x->idem, y->idem) &&
           !x->cid == !y->cid && x->cidn == y->cidn &&
           (!x->cid || !memcmp(x->cid, y->cid, x->cidn)) &&
           x->bodyn == y->bodyn &&
           (!x->bodyn || !memcmp(x->body, y->body, x->bodyn));
}

static void fuzz__again(const zq_req *q)
{
    buf_t w;
    zq_req back;
    char why[300];
    buf_init(&w, (size_t)1 << 20);
    fuzz__repack(q, &w);
    if (zq_parse(w.p, w.len, &back, why, sizeof why) != 0 ||
        !fuzz__same(q, &back))
        __builtin_trap();
    buf_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zq_req q, cut;
    char why[300];
    if (zq_parse(data, size, &q, why, sizeof why) != 0) {
        if (strncmp(why, "request: ", 9) != 0)
            __builtin_trap();
        return 0;
    }
    fuzz__fields(&q, data, size);
    /* prefixes from one byte short down by halves: enough to catch a
     * reader that stops early, at no quadratic cost on 64 KiB inputs */
    for (size_t n = size - 1;; n /= 2) {
        if (zq_parse(data, n, &cut, why, sizeof why) == 0)
            __builtin_trap();
        if (n == 0)
            break;
    }
    fuzz__again(&q);
    return 0;
}
