/* envelope_encode: the msgpack writer of envelopes, their canonical
 * (signed) bytes and receipts, over msgpack-c's packer. msgpack-c always
 * picks the shortest form of each header, which is the canonical form the
 * decoder insists on (docs/protocol.md, "Canonical form"). */
#include "envelope.h"

#include <msgpack.h>
#include <string.h>

/* The packer's sink: keeps buf_add's own code, which msgpack-c reduces
 * to -1, so a caller learns ERR_TOOBIG apart from ERR_NOMEM. */
typedef struct enc {
    msgpack_packer pk;
    buf_t *out;
    size_t start; /* out->len before writing: restored on failure */
    int rc;
} enc;

static int enc__write(void *data, const char *p, size_t n)
{
    enc *w = data;
    int rc = buf_add(w->out, p, n);
    if (rc && !w->rc)
        w->rc = rc;
    return rc ? -1 : 0;
}

static void enc__init(enc *w, buf_t *out)
{
    w->out = out;
    w->start = out->len;
    w->rc = 0;
    msgpack_packer_init(&w->pk, w, enc__write);
}

/* The caller's buffer as it was; the code and a message naming what. */
static int enc__finish(enc *w, int pk_rc, const char *what, err_t *e)
{
    if (!pk_rc && !w->rc)
        return 0;
    w->out->len = w->start;
    if (w->out->p)
        w->out->p[w->start] = '\0';
    int rc = w->rc ? w->rc : ERR_NOMEM;
    return err_set(e, rc, "%s: cannot write: %s (buffer cap %zu bytes)",
                   what, err_text(rc), w->out->max);
}

static int enc__str(msgpack_packer *pk, const char *s)
{
    return msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* An empty bin: msgpack-c would pass the NULL pointer on to memcpy. */
static int enc__bin(msgpack_packer *pk, const unsigned char *p, size_t n)
{
    return msgpack_pack_bin_with_body(pk, n ? (const void *)p : "", n);
}

static int enc__strs(msgpack_packer *pk, const char **v, uint32_t n)
{
    int rc = msgpack_pack_array(pk, n);
    for (uint32_t i = 0; !rc && i < n; i++)
        rc = enc__str(pk, v[i]);
    return rc;
}

/* The version 1 array; full = 0 leaves out route and signature, which is
 * the canonical byte string the origin signs. */
static int enc__env(msgpack_packer *pk, const env *v, int full)
{
    int rc = msgpack_pack_array(pk, full ? ENV_V1_FIELDS : ENV_SIGNED_FIELDS);
    rc = rc ? rc : msgpack_pack_uint32(pk, v->version);
    rc = rc ? rc : enc__str(pk, v->id);
    rc = rc ? rc : enc__str(pk, v->type);
    rc = rc ? rc : enc__str(pk, v->origin);
    rc = rc ? rc : enc__strs(pk, v->dest, v->ndest);
    if (full)
        rc = rc ? rc : enc__strs(pk, v->route, v->nroute);
    rc = rc ? rc : msgpack_pack_uint64(pk, v->created_ms);
    rc = rc ? rc : v->ref ? enc__str(pk, v->ref) : msgpack_pack_nil(pk);
    rc = rc ? rc : enc__bin(pk, v->payload, v->payload_len);
    rc = rc ? rc : enc__str(pk, v->sig_alg);
    rc = rc ? rc : enc__str(pk, v->signer);
    if (full)
        rc = rc ? rc : enc__bin(pk, v->sig, v->sig_len);
    return rc;
}

int env_signed_bytes_unchecked(const env *v, buf_t *out, err_t *e)
{
    enc w;
    enc__init(&w, out);
    return enc__finish(&w, enc__env(&w.pk, v, 0), "envelope", e);
}

int env_signed_bytes(const env *v, buf_t *out, err_t *e)
{
    int rc = env_validate(v, 0, e);
    return rc ? rc : env_signed_bytes_unchecked(v, out, e);
}

int env_encode_unchecked(const env *v, buf_t *out, err_t *e)
{
    enc w;
    enc__init(&w, out);
    int rc = enc__finish(&w, enc__env(&w.pk, v, 1), "envelope", e);
    if (!rc && out->len - w.start > ENV_MAX_FRAME) {
        /* cannot happen under the payload cap; kept so no frame a peer
         * would refuse ever leaves this node */
        w.rc = ERR_TOOBIG;
        return enc__finish(&w, -1, "envelope", e);
    }
    return rc;
}

int env_encode(const env *v, buf_t *out, err_t *e)
{
    int rc = env_validate(v, 1, e);
    return rc ? rc : env_encode_unchecked(v, out, e);
}

int env_receipt_encode(const env_receipt *r, buf_t *out, err_t *e)
{
    int rc = env_receipt_validate(r, e);
    if (rc)
        return rc;
    enc w;
    enc__init(&w, out);
    msgpack_packer *pk = &w.pk;
    rc = msgpack_pack_map(pk, 6);
    rc = rc ? rc : enc__str(pk, "v");
    rc = rc ? rc : msgpack_pack_uint32(pk, r->version);
    rc = rc ? rc : enc__str(pk, "id");
    rc = rc ? rc : enc__str(pk, r->id);
    rc = rc ? rc : enc__str(pk, "digest");
    rc = rc ? rc : enc__bin(pk, r->digest, sizeof r->digest);
    rc = rc ? rc : enc__str(pk, "status");
    rc = rc ? rc : enc__str(pk, env_status_name(r->status));
    rc = rc ? rc : enc__str(pk, "reason");
    rc = rc ? rc : r->reason ? enc__str(pk, r->reason) : msgpack_pack_nil(pk);
    rc = rc ? rc : enc__str(pk, "at");
    rc = rc ? rc : msgpack_pack_uint64(pk, r->at_ms);
    return enc__finish(&w, rc, "receipt", e);
}
