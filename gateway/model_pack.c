/* model_pack: the writer of the msgpack form of a record; the reader,
 * model_unpack, is model_unpack.c. */
#include "model_pack.h"
#include "model_version.h"

#include <msgpack.h>
#include <string.h>

/* ---- writing: msgpack-c packer over our capped buffer ---- */

static int mp__write(void *data, const char *p, size_t n)
{
    return buf_add(data, p, n) ? -1 : 0;
}

static int mp__rc(int rc) { return rc ? ERR_TOOBIG : 0; }

static int mp__map_begin(void *ctx, uint32_t n)
{
    return mp__rc(msgpack_pack_map(ctx, n));
}

static int mp__end(void *ctx)
{
    (void)ctx;
    return 0;
}

static int mp__array_begin(void *ctx, uint32_t n)
{
    return mp__rc(msgpack_pack_array(ctx, n));
}

static int mp__str(void *ctx, const char *s)
{
    size_t n = strlen(s);
    int rc = msgpack_pack_str(ctx, n);
    return mp__rc(rc ? rc : msgpack_pack_str_body(ctx, s, n));
}

static int mp__num(void *ctx, double v)
{
    return mp__rc(msgpack_pack_double(ctx, v));
}

static const model_emitter mp__emitter = {
    mp__map_begin, mp__end, mp__array_begin, mp__end,
    mp__str,       mp__str, mp__num,         1,
};

int model_pack(const model_record *r, buf_t *out, err_t *e)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, mp__write);
    int rc = mp__rc(msgpack_pack_array(&pk, 2));
    if (!rc)
        rc = mp__rc(msgpack_pack_uint32(&pk, model_version_of(r)));
    if (!rc)
        rc = model_emit(r, &mp__emitter, &pk);
    if (rc)
        return err_set(e, rc, "msgpack: cannot write record: %s",
                       err_text(rc));
    return 0;
}
