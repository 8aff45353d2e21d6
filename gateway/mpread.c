/* The strict msgpack reader; see mpread.h. */
#include "mpread.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- the cursor ---- */

void mpread_init(mpread *r, const void *p, size_t n, const char *what,
                 err_t *e)
{
    r->p = p && n ? p : (const unsigned char *)""; /* no NULL + 0 (UBSan) */
    r->end = r->p + (p ? n : 0);
    r->e = e;
    r->what = what;
    r->key = NULL;
    r->entry = -1;
    r->where = NULL;
}

size_t mpread_left(const mpread *r)
{
    return (size_t)(r->end - r->p);
}

void mpread_where(const mpread *r, char *buf, size_t n)
{
    if (!r->key)
        snprintf(buf, n, "%s", r->what);
    else if (r->entry < 0)
        snprintf(buf, n, "%s key \"%s\"", r->what, r->key);
    else
        snprintf(buf, n, "%s key \"%s\" entry %u", r->what, r->key,
                 (unsigned)r->entry);
}

int mpread_fail(mpread *r, int code, const char *fmt, ...)
{
    char why[ERR_MSG_MAX], where[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    (r->where ? r->where : mpread_where)(r, where, sizeof where);
    return err_set(r->e, code, "%s: %s", where, why);
}

int mpread_done(mpread *r, const char *outer)
{
    if (r->p == r->end)
        return 0;
    return err_set(r->e, ERR_SYNTAX, "%s: %zu trailing bytes after the %s",
                   r->what, mpread_left(r), outer);
}

static int mpread__need(mpread *r, uint64_t n)
{
    if (n > mpread_left(r))
        return mpread_fail(r, ERR_SYNTAX, "truncated: %llu bytes needed, "
                           "%zu left", (unsigned long long)n, mpread_left(r));
    return 0;
}

/* ---- headers ---- */

const mpread_form MPREAD_UINT = {"an unsigned integer", 0x00, 0x7f, 0x7f,
    {0xcc, 0xcd, 0xce, 0xcf}, {1, 2, 4, 8},
    {0x80, 0x100, 0x10000, 0x100000000ull}};
const mpread_form MPREAD_STR = {"a string", 0xa0, 0xbf, 0x1f,
    {0xd9, 0xda, 0xdb}, {1, 2, 4}, {32, 0x100, 0x10000}};
const mpread_form MPREAD_BIN = {"bin", 0, 0, 0,
    {0xc4, 0xc5, 0xc6}, {1, 2, 4}, {0, 0x100, 0x10000}};
const mpread_form MPREAD_ARRAY = {"an array", 0x90, 0x9f, 0x0f,
    {0xdc, 0xdd}, {2, 4}, {16, 0x10000}};
const mpread_form MPREAD_MAP = {"a map", 0x80, 0x8f, 0x0f,
    {0xde, 0xdf}, {2, 4}, {16, 0x10000}};

/* What a first byte announces, for "expected a string, got an array". */
static const char *mpread__kind(unsigned char b)
{
    if (b <= 0x7f || (b >= 0xcc && b <= 0xd3) || b >= 0xe0)
        return "an integer";
    if (b <= 0x8f || b == 0xde || b == 0xdf)
        return "a map";
    if (b <= 0x9f || b == 0xdc || b == 0xdd)
        return "an array";
    if (b <= 0xbf || (b >= 0xd9 && b <= 0xdb))
        return "a string";
    if (b == 0xc0)
        return "nil";
    if (b == 0xc2 || b == 0xc3)
        return "a boolean";
    if (b >= 0xc4 && b <= 0xc6)
        return "bin";
    if (b == 0xca || b == 0xcb)
        return "a float";
    if (b == 0xc1)
        return "the unused byte 0xc1";
    return "an extension";
}

/* The big-endian number of w (1, 2, 4 or 8) bytes at p: a load per
 * width rather than a loop per byte, as every field header passes here. */
static uint64_t mpread__be(const unsigned char *p, unsigned w)
{
    uint64_t hi;
    switch (w) {
    case 1: return p[0];
    case 2: return (uint64_t)p[0] << 8 | p[1];
    case 4:
        return (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 |
               (uint64_t)p[2] << 8 | p[3];
    default:
        hi = mpread__be(p, 4);
        return hi << 32 | mpread__be(p + 4, 4);
    }
}

int mpread_head(mpread *r, const mpread_form *f, uint64_t *v)
{
    *v = 0; /* defined on every path, failures included */
    int rc = mpread__need(r, 1);
    if (rc)
        return rc;
    unsigned char b = *r->p;
    if (f->fix_mask && b >= f->fix_lo && b <= f->fix_hi) {
        *v = b & f->fix_mask;
        r->p++;
        return 0;
    }
    for (int k = 0; k < 4 && f->width[k]; k++) {
        if (b != f->tag[k])
            continue;
        if ((rc = mpread__need(r, 1u + f->width[k])) != 0)
            return rc;
        *v = mpread__be(r->p + 1, f->width[k]);
        if (*v < f->min[k])
            return mpread_fail(r, ERR_SYNTAX, "%s not in its shortest "
                               "msgpack form (0x%02x)", f->name, b);
        r->p += 1u + f->width[k];
        return 0;
    }
    return mpread_fail(r, ERR_INVALID, "expected %s, got %s", f->name,
                       mpread__kind(b));
}

/* ---- values ---- */

int mpread_bytes(mpread *r, const mpread_form *f, size_t max,
                 const unsigned char **p, size_t *n)
{
    uint64_t len;
    *p = NULL;
    *n = 0;
    int rc = mpread_head(r, f, &len);
    if (rc)
        return rc;
    if (len > max)
        return mpread_fail(r, ERR_TOOBIG, "%llu bytes, more than %zu",
                           (unsigned long long)len, max);
    if ((rc = mpread__need(r, len)) != 0)
        return rc;
    if (f == &MPREAD_STR && memchr(r->p, 0, (size_t)len))
        return mpread_fail(r, ERR_INVALID, "contains a NUL byte");
    *p = r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

int mpread_str_into(mpread *r, char *dst, size_t cap)
{
    const unsigned char *p;
    size_t n;
    int rc = mpread_bytes(r, &MPREAD_STR, cap - 1, &p, &n);
    if (!rc) {
        memcpy(dst, p, n);
        dst[n] = '\0';
    }
    return rc;
}

int mpread_str(mpread *r, size_t max, arena_t *a, const char **out)
{
    const unsigned char *p;
    size_t n;
    int rc = mpread_bytes(r, &MPREAD_STR, max, &p, &n);
    if (rc)
        return rc;
    *out = arena_strndup(a, (const char *)p, n);
    return *out ? 0 : mpread_fail(r, ERR_NOMEM, "arena full");
}

int mpread_bin(mpread *r, size_t max, arena_t *a, const unsigned char **out,
               size_t *n)
{
    const unsigned char *p;
    int rc = mpread_bytes(r, &MPREAD_BIN, max, &p, n);
    if (rc || *n == 0)
        return rc;
    unsigned char *copy = arena_alloc(a, *n);
    if (!copy)
        return mpread_fail(r, ERR_NOMEM, "arena full (%zu bytes)", *n);
    memcpy(copy, p, *n);
    *out = copy;
    return 0;
}

int mpread_nil(mpread *r)
{
    if (r->p < r->end && *r->p == 0xc0) {
        r->p++;
        return 1;
    }
    return 0;
}

int mpread_uint(mpread *r, uint64_t max, uint64_t *v)
{
    int rc = mpread_head(r, &MPREAD_UINT, v);
    if (!rc && *v > max)
        rc = mpread_fail(r, ERR_INVALID, "%llu, more than %llu",
                         (unsigned long long)*v, (unsigned long long)max);
    return rc;
}

/* One map has one spelling: a count of 0 is its key left out. */
int mpread_count(mpread *r, uint64_t max, uint64_t *v)
{
    int rc = mpread_uint(r, max, v);
    if (!rc && *v == 0)
        rc = mpread_fail(r, ERR_INVALID, "0 (leave the key out instead)");
    return rc;
}

/* min 1: an empty array is spelt by leaving its key out. */
int mpread_array(mpread *r, uint32_t min, uint32_t max, uint32_t *n)
{
    uint64_t len;
    int rc = mpread_head(r, &MPREAD_ARRAY, &len);
    if (rc)
        return rc;
    if (len > max)
        return mpread_fail(r, ERR_TOOBIG, "%llu entries, more than %u",
                           (unsigned long long)len, max);
    if (len < min)
        return mpread_fail(r, ERR_INVALID, "%llu entries, want %u%s",
                           (unsigned long long)len, min, min == 1
                           ? " or more (leave an empty one out)" : "");
    *n = (uint32_t)len;
    return 0;
}

/* ---- maps with keys in table order ---- */

static const char *mpread__row(const void *table, size_t stride, size_t i)
{
    return *(const char *const *)(const void *)((const char *)table +
                                                i * stride);
}

int mpread_key(mpread *r, const void *table, size_t stride, size_t n,
               size_t after, size_t *k)
{
    const unsigned char *p;
    size_t len;
    r->key = NULL;
    r->entry = -1;
    int rc = mpread_bytes(r, &MPREAD_STR, 16, &p, &len);
    for (size_t i = 0; !rc && i < n; i++) {
        const char *name = mpread__row(table, stride, i);
        if (strlen(name) != len || memcmp(name, p, len) != 0)
            continue;
        if (i + 1 == after)
            return mpread_fail(r, ERR_INVALID, "key \"%s\" repeated", name);
        if (i < after)
            return mpread_fail(r, ERR_INVALID, "key \"%s\" out of order "
                               "(after \"%s\")", name,
                               mpread__row(table, stride, after - 1));
        *k = i;
        r->key = name;
        return 0;
    }
    return rc ? rc : mpread_fail(r, ERR_INVALID, "unknown key \"%.*s\"",
                                 (int)len, (const char *)p);
}

int mpread_map_v(mpread *r, const void *table, size_t stride, size_t n,
                 unsigned version, uint64_t *nkeys)
{
    uint64_t ver = 0;
    size_t k = 0;
    int rc = mpread_head(r, &MPREAD_MAP, nkeys);
    if (!rc && *nkeys == 0)
        rc = mpread_fail(r, ERR_INVALID, "empty map, no version");
    rc = rc ? rc : mpread_key(r, table, stride, n, 0, &k);
    if (!rc && k != 0)
        rc = mpread_fail(r, ERR_INVALID, "first key \"%s\", expected \"v\"",
                         mpread__row(table, stride, k));
    rc = rc ? rc : mpread_head(r, &MPREAD_UINT, &ver);
    if (!rc && ver != version)
        rc = mpread_fail(r, ERR_UNSUPPORTED, "version %llu not supported; "
                         "this node reads version %u",
                         (unsigned long long)ver, version);
    if (!rc && *nkeys > n)
        rc = mpread_fail(r, ERR_INVALID, "%llu keys, version %u has %zu at "
                         "most", (unsigned long long)*nkeys, version, n);
    return rc;
}
