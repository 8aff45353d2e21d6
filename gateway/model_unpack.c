/* model_unpack: the reader of the msgpack form of a record (model_pack.h),
 * run on every record a destination receives.
 *
 * It reads the bytes in place. msgpack_unpack_next, used before, built a
 * tree of objects in malloc'd zones only for it to be walked once, and
 * each key was then found by a scan of the whole field table measuring
 * every key with strlen: together about a fifth of a receiving node's
 * CPU. Here each key is found through lengths computed once, the scan
 * starting after the row the previous key matched (a packed record has
 * its keys in table order, so that row is nearly always the one).
 *
 * The verdicts stay msgpack-c's, message for message: first the whole
 * input must be one well-formed msgpack value (any type, nested at most
 * MU_DEPTH deep as msgpack-c allows) with nothing after it, else
 * "malformed" or "trailing bytes"; only then is it read as a record, in
 * the same order with the same messages as the object walk was. */
#include "model_pack.h"
#include "model_version.h"

#include <stdio.h>
#include <string.h>
#include <threads.h>

#define MU_DEPTH 32  /* MSGPACK_EMBED_STACK_SIZE: open containers */
#define MU_ROWS 256  /* model_fields[] rows the key index covers */

/* One msgpack header, and the body of a string, bin or ext. */
typedef enum mu_type {
    MU_NIL, MU_BOOL, MU_POS, MU_NEG, MU_FLOAT, MU_STR, MU_BIN, MU_EXT,
    MU_ARRAY, MU_MAP
} mu_type;

typedef struct mu_val {
    mu_type type;
    uint64_t n;              /* entries (ARRAY, MAP), bytes (STR, BIN, EXT) */
    const unsigned char *body;
    uint64_t u;              /* POS: the value; NEG: its int64_t bits */
    double f;                /* FLOAT, float32 widened as msgpack-c does */
} mu_val;

static uint64_t mu__be(const unsigned char *p, unsigned w)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < w; i++)
        v = (v << 8) | p[i];
    return v;
}

/* The fixed part of the tagged forms 0xc4-0xdf: the type, how many bytes
 * hold the length or value (w), a fixed body size (ext types), and
 * whether a signed value follows. */
static const struct {
    unsigned char type, w, fixed, sign;
} mu__tags[0xe0 - 0xc4] = {
    [0xc4 - 0xc4] = {MU_BIN, 1, 0, 0},  {MU_BIN, 2, 0, 0},
    {MU_BIN, 4, 0, 0},  {MU_EXT, 1, 0, 0},  {MU_EXT, 2, 0, 0},
    {MU_EXT, 4, 0, 0},  {MU_FLOAT, 4, 0, 0}, {MU_FLOAT, 8, 0, 0},
    {MU_POS, 1, 0, 0},  {MU_POS, 2, 0, 0},  {MU_POS, 4, 0, 0},
    {MU_POS, 8, 0, 0},  {MU_POS, 1, 0, 1},  {MU_POS, 2, 0, 1},
    {MU_POS, 4, 0, 1},  {MU_POS, 8, 0, 1},  {MU_EXT, 0, 1, 0},
    {MU_EXT, 0, 2, 0},  {MU_EXT, 0, 4, 0},  {MU_EXT, 0, 8, 0},
    {MU_EXT, 0, 16, 0}, {MU_STR, 1, 0, 0},  {MU_STR, 2, 0, 0},
    {MU_STR, 4, 0, 0},  {MU_ARRAY, 2, 0, 0}, {MU_ARRAY, 4, 0, 0},
    {MU_MAP, 2, 0, 0},  {MU_MAP, 4, 0, 0},
};

/* A number of the tagged forms from its w big-endian bytes. */
static void mu__number(mu_val *v, int sign, unsigned w, uint64_t bits)
{
    if (v->type == MU_FLOAT && w == 4) {
        float f;
        uint32_t b = (uint32_t)bits;
        memcpy(&f, &b, sizeof f);
        v->f = f;
    } else if (v->type == MU_FLOAT) {
        memcpy(&v->f, &bits, sizeof v->f);
    } else if (sign && (bits >> (8 * w - 1)) & 1) {
        /* a signed form holding 0 or more is positive to msgpack-c */
        v->type = MU_NEG;
        v->u = bits | (w < 8 ? ~0ull << (8 * w) : 0);
    } else {
        v->u = bits;
    }
}

/* A number as the object walk converted it. */
static double mu__num(const mu_val *v)
{
    if (v->type == MU_POS)
        return (double)v->u;
    return v->type == MU_NEG ? (double)(int64_t)v->u : v->f;
}

/* The tagged header at p (left bytes, b = p[0] in 0xc4-0xdf); *size is
 * its whole length, body included except for containers. -1: short. */
static int mu__tagged(const unsigned char *p, size_t left, mu_val *v,
                      size_t *size)
{
    unsigned char b = p[0];
    v->type = (mu_type)mu__tags[b - 0xc4].type;
    unsigned w = mu__tags[b - 0xc4].w, ext = v->type == MU_EXT;
    if (left < 1u + w + ext)
        return -1;
    uint64_t x = mu__be(p + 1, w);
    *size = 1u + w;
    if (v->type == MU_POS || v->type == MU_FLOAT) {
        mu__number(v, mu__tags[b - 0xc4].sign, w, x);
        return 0;
    }
    if (v->type == MU_ARRAY || v->type == MU_MAP) {
        v->n = x;
        return 0;
    }
    v->n = mu__tags[b - 0xc4].fixed ? mu__tags[b - 0xc4].fixed : x;
    *size += ext; /* the ext type byte */
    v->body = p + *size;
    if (v->n > left - *size)
        return -1;
    *size += v->n;
    return 0;
}

/* The value header at p: 0, or -1 when left is too short for it (and
 * its body) or the byte is 0xc1, which msgpack never uses. */
static int mu__head(const unsigned char *p, size_t left, mu_val *v,
                    size_t *size)
{
    if (left == 0)
        return -1;
    unsigned char b = p[0];
    *v = (mu_val){MU_NIL, 0, NULL, 0, 0};
    *size = 1;
    if (b <= 0x7f || b >= 0xe0) {
        v->type = b <= 0x7f ? MU_POS : MU_NEG;
        v->u = (uint64_t)(int64_t)(int8_t)b; /* b itself when <= 0x7f */
    } else if (b <= 0x9f) {
        v->type = b <= 0x8f ? MU_MAP : MU_ARRAY;
        v->n = b & 0x0f;
    } else if (b <= 0xbf) {
        v->type = MU_STR;
        v->n = b & 0x1f;
        v->body = p + 1;
        if (v->n > left - 1)
            return -1;
        *size += v->n;
    } else if (b == 0xc1) {
        return -1;
    } else if (b <= 0xc3) {
        v->type = b == 0xc0 ? MU_NIL : MU_BOOL;
    } else {
        return mu__tagged(p, left, v, size);
    }
    return 0;
}

/* Pass 1: *used = the length of the one value at the start of p[0..n),
 * or -1 when it is malformed, cut short or nested too deep. */
static int mu__check(const unsigned char *p, size_t n, size_t *used)
{
    uint64_t left[MU_DEPTH]; /* items still to come in each open one */
    int top = 0;
    size_t off = 0;
    for (;;) {
        mu_val v;
        size_t size;
        if (mu__head(p + off, n - off, &v, &size))
            return -1;
        off += size;
        if (v.type == MU_ARRAY || v.type == MU_MAP) {
            if (top >= MU_DEPTH)
                return -1;
            if (v.n) {
                left[top++] = v.type == MU_MAP ? 2 * v.n : v.n;
                continue;
            }
        }
        while (top && --left[top - 1] == 0)
            top--;
        if (!top) {
            *used = off;
            return 0;
        }
    }
}

/* ---- the key index, built once from model_fields[] ---- */

static unsigned char mu__klen[MU_ROWS], mu__glen[MU_ROWS];
/* a row no key reaches: a key repeated in its scope (the first wins) or
 * a top-level key that names a group (the group wins) */
static unsigned char mu__dead[MU_ROWS];
static int mu__index_ok;
static once_flag mu__index_once = ONCE_FLAG_INIT;

static int mu__same_scope(const model_field *x, const model_field *y)
{
    return x->obj == y->obj && !x->group == !y->group &&
           (!x->group || strcmp(x->group, y->group) == 0);
}

static void mu__index_init(void)
{
    if (model_nfields > MU_ROWS)
        return;
    for (size_t i = 0; i < model_nfields; i++) {
        const model_field *f = &model_fields[i];
        mu__klen[i] = (unsigned char)strlen(f->key);
        mu__glen[i] = f->group ? (unsigned char)strlen(f->group) : 0;
        for (size_t j = 0; j < model_nfields && !mu__dead[i]; j++) {
            const model_field *g = &model_fields[j];
            if (j < i && mu__same_scope(f, g) && !strcmp(f->key, g->key))
                mu__dead[i] = 1;
            if (!f->group && g->group && g->obj == f->obj &&
                !strcmp(f->key, g->group))
                mu__dead[i] = 1;
        }
    }
    mu__index_ok = 1;
}

/* Row i against key k (n bytes) in obj's scope group (NULL: the top
 * level, where a group name also matches: *is_group is then set). */
static int mu__row_is(size_t i, model_obj obj, const char *group,
                      size_t glen, const unsigned char *k, size_t n,
                      int *is_group)
{
    const model_field *f = &model_fields[i];
    if (f->obj != obj || mu__dead[i])
        return 0;
    if (!group && f->group) {
        *is_group = mu__glen[i] == n && !memcmp(f->group, k, n);
        return *is_group;
    }
    if (!group != !f->group || mu__klen[i] != n || memcmp(f->key, k, n))
        return 0;
    return !group || (mu__glen[i] == glen && !memcmp(f->group, group, glen));
}

/* The row key k names, searched from *hint on and wrapping round; the
 * row after it becomes the hint. NULL for a key this version does not
 * know. */
static const model_field *mu__find(model_obj obj, const char *group,
                                   const unsigned char *k, size_t n,
                                   size_t *hint, int *is_group)
{
    size_t glen = group ? strlen(group) : 0;
    for (size_t s = 0; s < model_nfields; s++) {
        size_t i = (*hint + s) % model_nfields;
        if (mu__row_is(i, obj, group, glen, k, n, is_group)) {
            *hint = i + 1;
            return &model_fields[i];
        }
    }
    return NULL;
}

/* ---- pass 2: the record ---- */

typedef struct mu {
    const unsigned char *p, *end; /* pass 1 proved what lies between */
    arena_t *a;
    err_t *e;
} mu;

static void mu__next(mu *c, mu_val *v)
{
    size_t size;
    mu__head(c->p, (size_t)(c->end - c->p), v, &size);
    c->p += size;
}

/* The rest of a value whose header v was just read. */
static void mu__skip(mu *c, const mu_val *v)
{
    uint64_t pending = v->type == MU_MAP ? 2 * v->n
                       : v->type == MU_ARRAY ? v->n : 0;
    for (; pending; pending--) {
        mu_val x;
        mu__next(c, &x);
        pending += x.type == MU_MAP ? 2 * x.n : x.type == MU_ARRAY ? x.n : 0;
    }
}

static int mu__obj(mu *c, uint64_t n, void *base, model_obj obj,
                   const model_field *in, uint32_t idx, const char *group,
                   size_t hint);

static int mu__array(mu *c, uint64_t n, void *base, const model_field *f)
{
    for (uint32_t i = 0; i < n; i++) {
        mu_val x;
        mu__next(c, &x);
        int rc;
        if (f->type == MF_STRLIST) {
            if (x.type != MU_STR)
                return err_set(c->e, ERR_INVALID, "%s[%u]: expected a "
                               "string", f->path, i);
            rc = model_strlist_add(c->a, model_strlist_at(base, f),
                                   (const char *)x.body, x.n, c->e);
        } else {
            if (x.type != MU_MAP)
                return err_set(c->e, ERR_INVALID, "%s[%u]: expected a map",
                               f->path, i);
            void *el = model_array_append(c->a, base, f, c->e);
            /* the element's rows follow its array's */
            rc = el ? mu__obj(c, x.n, el, f->elem, f, i, NULL,
                              (size_t)(f - model_fields) + 1)
                    : ERR_TOOBIG;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int mu__value(mu *c, const mu_val *v, void *base,
                     const model_field *f)
{
    if (f->type == MF_STR) {
        if (v->type != MU_STR)
            return err_set(c->e, ERR_INVALID, "%s: expected a string",
                           f->path);
        *model_str_at(base, f) = arena_strndup(c->a, (const char *)v->body,
                                               v->n);
        return *model_str_at(base, f) ? 0 : ERR_NOMEM;
    }
    if (f->type == MF_NUM) {
        if (v->type != MU_POS && v->type != MU_NEG && v->type != MU_FLOAT)
            return err_set(c->e, ERR_INVALID, "%s: expected a number",
                           f->path);
        *model_num_at(base, f) = (model_num){mu__num(v), 1};
        return 0;
    }
    if (v->type != MU_ARRAY)
        return err_set(c->e, ERR_INVALID, "%s: expected an array", f->path);
    return mu__array(c, v->n, base, f);
}

/* "parties[3].document: expected a map": in and idx name the element
 * being read (in NULL: the record), formatted only now. */
static int mu__not_map(mu *c, const model_field *in, uint32_t idx,
                       const char *group)
{
    char at[64];
    at[0] = '\0';
    if (in)
        snprintf(at, sizeof at, "%s[%u].", in->key, idx);
    return err_set(c->e, ERR_INVALID, "%s%s: expected a map", at, group);
}

/* n key/value pairs of obj (group: inside that sub-object), the key
 * search starting at row hint. A key this version does not know comes
 * from a newer node's additive change (docs/model.md): its value is
 * skipped and the rest kept. */
static int mu__obj(mu *c, uint64_t n, void *base, model_obj obj,
                   const model_field *in, uint32_t idx, const char *group,
                   size_t hint)
{
    for (uint64_t i = 0; i < n; i++) {
        mu_val k, v;
        mu__next(c, &k);
        if (k.type != MU_STR)
            return err_set(c->e, ERR_INVALID, "msgpack: map key not a "
                           "string");
        int is_group = 0, rc = 0;
        const model_field *f = mu__find(obj, group, k.body, k.n, &hint,
                                        &is_group);
        mu__next(c, &v);
        if (is_group && v.type != MU_MAP)
            return mu__not_map(c, in, idx, f->group);
        if (is_group)
            rc = mu__obj(c, v.n, base, obj, in, idx, f->group,
                         (size_t)(f - model_fields));
        else if (f)
            rc = mu__value(c, &v, base, f);
        else
            mu__skip(c, &v);
        if (rc)
            return rc;
    }
    return 0;
}

static int mu__root(mu *c, model_record **out)
{
    mu_val root, ver, map = {MU_NIL, 0, NULL, 0, 0};
    mu__next(c, &root);
    int ok = root.type == MU_ARRAY && root.n == 2;
    if (ok)
        mu__next(c, &ver);
    ok = ok && ver.type == MU_POS;
    if (ok)
        mu__next(c, &map);
    if (!ok || map.type != MU_MAP)
        return err_set(c->e, ERR_INVALID,
                       "msgpack: record must be [version, map]");
    if (ver.u < MODEL_VERSION_MIN || ver.u > MODEL_VERSION)
        return err_set(c->e, ERR_UNSUPPORTED,
                       "msgpack: record version %llu not supported "
                       "(this node reads %d to %d)",
                       (unsigned long long)ver.u, MODEL_VERSION_MIN,
                       MODEL_VERSION);
    model_record *r = model_record_new(c->a);
    if (!r)
        return err_set(c->e, ERR_NOMEM, "msgpack: out of memory");
    int rc = mu__obj(c, map.n, r, MO_RECORD, NULL, 0, NULL, 0);
    if (rc == 0)
        *out = r;
    return rc;
}

int model_unpack(const char *data, size_t len, arena_t *a,
                 model_record **out, err_t *e)
{
    call_once(&mu__index_once, mu__index_init);
    if (!mu__index_ok)
        return err_set(e, ERR_TOOBIG, "msgpack: model_fields[] has more "
                       "than %d rows; raise MU_ROWS", MU_ROWS);
    const unsigned char *p = (const unsigned char *)data;
    size_t used = 0;
    if (len == 0 || mu__check(p, len, &used))
        return err_set(e, ERR_SYNTAX, "msgpack: malformed data");
    if (used != len)
        return err_set(e, ERR_SYNTAX, "msgpack: %zu trailing bytes",
                       len - used);
    mu c = {p, p + len, a, e};
    return mu__root(&c, out);
}
