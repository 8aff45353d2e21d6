/* Link frames; see lframe.h. msgpack-c unpacks them: the LFRAME_MAX cap
 * comes first, so its object tree stays a few dozen bytes. */
#include "lframe.h"

#include <msgpack.h>
#include <string.h>

int lpos_cmp(lpos a, lpos b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    return a.seq < b.seq ? -1 : a.seq > b.seq;
}

typedef struct lf__out {
    unsigned char *p;
    size_t n;
} lf__out;

static int lf__write(void *data, const char *buf, size_t len)
{
    lf__out *o = data;
    if (o->n + len > LFRAME_MAX)
        return -1;
    memcpy(o->p + o->n, buf, len);
    o->n += len;
    return 0;
}

static int lf__pos(msgpack_packer *pk, lpos p)
{
    return msgpack_pack_array(pk, 2) || msgpack_pack_uint64(pk, p.ms) ||
           msgpack_pack_uint64(pk, p.seq);
}

int lframe_hdr_encode(lpos prev, lpos pos, unsigned char *out, size_t *n,
                      err_t *e)
{
    lf__out o = { out, 0 };
    msgpack_packer pk;
    msgpack_packer_init(&pk, &o, lf__write);
    if (msgpack_pack_array(&pk, 3) || msgpack_pack_uint8(&pk, LFRAME_VERSION) ||
        lf__pos(&pk, prev) || lf__pos(&pk, pos))
        return err_set(e, ERR_TOOBIG, "link header: longer than %d bytes",
                       LFRAME_MAX);
    *n = o.n;
    return 0;
}

int lframe_ack_encode(lpos last, int gap, unsigned char *out, size_t *n,
                      err_t *e)
{
    lf__out o = { out, 0 };
    msgpack_packer pk;
    msgpack_packer_init(&pk, &o, lf__write);
    if (msgpack_pack_array(&pk, 3) || msgpack_pack_uint8(&pk, LFRAME_VERSION) ||
        lf__pos(&pk, last) || (gap ? msgpack_pack_true(&pk)
                                   : msgpack_pack_false(&pk)))
        return err_set(e, ERR_TOOBIG, "link ack: longer than %d bytes",
                       LFRAME_MAX);
    *n = o.n;
    return 0;
}

static int lf__get_pos(const msgpack_object *o, lpos *p)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2)
        return -1;
    const msgpack_object *v = o->via.array.ptr;
    if (v[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        v[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return -1;
    p->ms = v[0].via.u64;
    p->seq = v[1].via.u64;
    return 0;
}

/* Unpack exactly one 3-element array of version 1 from p; *items points
 * into u. */
static int lf__open(const void *p, size_t n, const char *what,
                    msgpack_unpacked *u, const msgpack_object **items,
                    err_t *e)
{
    if (n > LFRAME_MAX)
        return err_set(e, ERR_TOOBIG, "%s: %zu bytes, at most %d", what, n,
                       LFRAME_MAX);
    size_t off = 0;
    if (msgpack_unpack_next(u, p, n, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != n)
        return err_set(e, ERR_SYNTAX, "%s: not one msgpack value", what);
    const msgpack_object *o = &u->data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 1 ||
        o->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return err_set(e, ERR_SYNTAX, "%s: not an array starting with a "
                       "version", what);
    if (o->via.array.ptr[0].via.u64 != LFRAME_VERSION)
        return err_set(e, ERR_UNSUPPORTED, "%s: version %llu not supported; "
                       "this node reads version %d", what,
                       (unsigned long long)o->via.array.ptr[0].via.u64,
                       LFRAME_VERSION);
    if (o->via.array.size != 3)
        return err_set(e, ERR_SYNTAX, "%s: %u items, expected 3", what,
                       (unsigned)o->via.array.size);
    *items = o->via.array.ptr;
    return 0;
}

int lframe_hdr_decode(const void *p, size_t n, lpos *prev, lpos *pos,
                      err_t *e)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    const msgpack_object *v;
    int rc = lf__open(p, n, "link header", &u, &v, e);
    if (rc == 0 && (lf__get_pos(&v[1], prev) || lf__get_pos(&v[2], pos)))
        rc = err_set(e, ERR_SYNTAX, "link header: positions must be "
                     "[ms, seq] pairs of unsigned integers");
    if (rc == 0 && lpos_cmp(*pos, *prev) <= 0)
        rc = err_set(e, ERR_INVALID, "link header: position %llu-%llu is not "
                     "after prev %llu-%llu", (unsigned long long)pos->ms,
                     (unsigned long long)pos->seq, (unsigned long long)prev->ms,
                     (unsigned long long)prev->seq);
    msgpack_unpacked_destroy(&u);
    return rc;
}

int lframe_ack_decode(const void *p, size_t n, lpos *last, int *gap,
                      err_t *e)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    const msgpack_object *v;
    int rc = lf__open(p, n, "link ack", &u, &v, e);
    if (rc == 0 && (lf__get_pos(&v[1], last) ||
                    v[2].type != MSGPACK_OBJECT_BOOLEAN))
        rc = err_set(e, ERR_SYNTAX, "link ack: expected [1, [ms, seq], bool]");
    if (rc == 0)
        *gap = v[2].via.boolean;
    msgpack_unpacked_destroy(&u);
    return rc;
}
