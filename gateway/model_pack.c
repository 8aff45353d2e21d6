#include "model_pack.h"

#include <msgpack.h>
#include <stdio.h>
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
        rc = mp__rc(msgpack_pack_uint32(&pk, MODEL_VERSION));
    if (!rc)
        rc = model_emit(r, &mp__emitter, &pk);
    if (rc)
        return err_set(e, rc, "msgpack: cannot write record: %s",
                       err_text(rc));
    return 0;
}

/* ---- reading ---- */

static int mp__read_obj(const msgpack_object *o, void *base, model_obj obj,
                        const char *at, const char *group, arena_t *a,
                        err_t *e);

static char *mp__str_dup(arena_t *a, const msgpack_object *o)
{
    return arena_strndup(a, o->via.str.ptr, o->via.str.size);
}

static const model_field *mp__lookup(model_obj obj, const char *group,
                                     const msgpack_object *k)
{
    for (size_t i = 0; i < model_nfields; i++) {
        const model_field *f = &model_fields[i];
        if (f->obj != obj || strlen(f->key) != k->via.str.size ||
            memcmp(f->key, k->via.str.ptr, k->via.str.size) != 0)
            continue;
        if ((!group && !f->group) ||
            (group && f->group && strcmp(group, f->group) == 0))
            return f;
    }
    return NULL;
}

/* The group name as stored in model_fields[], or NULL if key is none. */
static const char *mp__group(model_obj obj, const msgpack_object *k)
{
    for (size_t i = 0; i < model_nfields; i++) {
        const char *g = model_fields[i].group;
        if (model_fields[i].obj == obj && g &&
            strlen(g) == k->via.str.size &&
            memcmp(g, k->via.str.ptr, k->via.str.size) == 0)
            return g;
    }
    return NULL;
}

static int mp__is_num(const msgpack_object *v)
{
    return v->type == MSGPACK_OBJECT_FLOAT64 ||
           v->type == MSGPACK_OBJECT_FLOAT32 ||
           v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
           v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

static double mp__num_of(const msgpack_object *v)
{
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (double)v->via.u64;
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return (double)v->via.i64;
    return v->via.f64;
}

static int mp__read_array(const msgpack_object *v, void *base,
                          const model_field *f, arena_t *a, err_t *e)
{
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        const msgpack_object *x = &v->via.array.ptr[i];
        int rc;
        if (f->type == MF_STRLIST) {
            if (x->type != MSGPACK_OBJECT_STR)
                return err_set(e, ERR_INVALID, "%s[%u]: expected a string",
                               f->path, i);
            rc = model_strlist_add(a, model_strlist_at(base, f),
                                   x->via.str.ptr, x->via.str.size, e);
        } else {
            if (x->type != MSGPACK_OBJECT_MAP)
                return err_set(e, ERR_INVALID, "%s[%u]: expected a map",
                               f->path, i);
            void *el = model_array_append(a, base, f, e);
            char at[64]; /* "parties[3]." names the element in messages */
            snprintf(at, sizeof at, "%s[%u].", f->key, i);
            rc = el ? mp__read_obj(x, el, f->elem, at, NULL, a, e)
                    : ERR_TOOBIG;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int mp__read_value(const msgpack_object *v, void *base,
                          const model_field *f, arena_t *a, err_t *e)
{
    if (f->type == MF_STR) {
        if (v->type != MSGPACK_OBJECT_STR)
            return err_set(e, ERR_INVALID, "%s: expected a string", f->path);
        *model_str_at(base, f) = mp__str_dup(a, v);
        return *model_str_at(base, f) ? 0 : ERR_NOMEM;
    }
    if (f->type == MF_NUM) {
        if (!mp__is_num(v))
            return err_set(e, ERR_INVALID, "%s: expected a number", f->path);
        model_num_at(base, f)->v = mp__num_of(v);
        model_num_at(base, f)->set = 1;
        return 0;
    }
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return err_set(e, ERR_INVALID, "%s: expected an array", f->path);
    return mp__read_array(v, base, f, a, e);
}

static int mp__read_obj(const msgpack_object *o, void *base, model_obj obj,
                        const char *at, const char *group, arena_t *a,
                        err_t *e)
{
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        const msgpack_object *v = &o->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR)
            return err_set(e, ERR_INVALID, "msgpack: map key not a string");
        const char *g = group ? NULL : mp__group(obj, k);
        int rc;
        if (g) {
            if (v->type != MSGPACK_OBJECT_MAP)
                return err_set(e, ERR_INVALID, "%s%s: expected a map", at, g);
            rc = mp__read_obj(v, base, obj, at, g, a, e);
        } else {
            /* a key this version does not know comes from a newer node's
             * additive change (docs/model.md): skip it, keep the rest */
            const model_field *f = mp__lookup(obj, group, k);
            rc = f ? mp__read_value(v, base, f, a, e) : 0;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int mp__read_root(const msgpack_object *root, arena_t *a,
                         model_record **out, err_t *e)
{
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size != 2 ||
        root->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        root->via.array.ptr[1].type != MSGPACK_OBJECT_MAP)
        return err_set(e, ERR_INVALID,
                       "msgpack: record must be [version, map]");
    uint64_t ver = root->via.array.ptr[0].via.u64;
    if (ver != MODEL_VERSION)
        return err_set(e, ERR_UNSUPPORTED,
                       "msgpack: record version %llu not supported "
                       "(this node reads %d)",
                       (unsigned long long)ver, MODEL_VERSION);
    model_record *r = model_record_new(a);
    if (!r)
        return err_set(e, ERR_NOMEM, "msgpack: out of memory");
    int rc = mp__read_obj(&root->via.array.ptr[1], r, MO_RECORD, "", NULL, a,
                          e);
    if (rc == 0)
        *out = r;
    return rc;
}

int model_unpack(const char *data, size_t len, arena_t *a,
                 model_record **out, err_t *e)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc;
    if (msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS)
        rc = err_set(e, ERR_SYNTAX, "msgpack: malformed data");
    else if (off != len)
        rc = err_set(e, ERR_SYNTAX, "msgpack: %zu trailing bytes", len - off);
    else
        rc = mp__read_root(&u.data, a, out, e);
    msgpack_unpacked_destroy(&u);
    return rc;
}
