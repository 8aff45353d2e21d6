/* envelope_decode: the strict reader of envelopes and receipts.
 *
 * It reads the bytes itself rather than through msgpack_unpack_next: that
 * builds the whole object tree before a single cap can be checked, so a
 * 5-byte array header claiming 2^32 entries, or 16 MiB of one-byte nils,
 * would make the node allocate gigabytes (about 24 bytes per element).
 * Here every length is checked against its cap and against the bytes
 * left before anything is allocated, only the types a field allows are
 * accepted, and each header must be in its shortest form (the form our
 * encoder writes), so decode then encode gives back the same bytes. */
#include "envelope.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- the cursor ---- */

/* Where the next reads belong, kept as numbers: the text is only
 * formatted when a read fails, since a valid frame (nearly all of them)
 * never needs it and formatting it per field cost a sixth of a node's
 * CPU. */
typedef enum rd_at {
    RD_AT_ENVELOPE, /* "envelope" */
    RD_AT_FIELD,    /* "envelope field 4 (destinations)" [" entry 2"] */
    RD_AT_RECEIPT,  /* "receipt" */
    RD_AT_RKEY_NO,  /* "receipt key 3": the key itself */
    RD_AT_RKEY      /* "receipt key \"status\"": its value */
} rd_at;

typedef struct rd {
    const unsigned char *p, *end;
    rd_at at;
    unsigned num;   /* the field or key number */
    int64_t entry;  /* RD_AT_FIELD: the array entry, or -1 */
    err_t *e;
} rd;

static const char *const rd__rkeys[] = {"v",      "id",     "digest",
                                        "status", "reason", "at"};
#define RD__NRKEYS 6

/* The location as messages spell it, into buf of n bytes. */
static void rd__where(const rd *r, char *buf, size_t n)
{
    switch (r->at) {
    case RD_AT_FIELD:
        if (r->entry < 0)
            snprintf(buf, n, "envelope field %u (%s)", r->num,
                     env_field_name(r->num));
        else
            snprintf(buf, n, "envelope field %u (%s) entry %u", r->num,
                     env_field_name(r->num), (unsigned)r->entry);
        return;
    case RD_AT_RECEIPT:
        snprintf(buf, n, "receipt");
        return;
    case RD_AT_RKEY_NO:
        snprintf(buf, n, "receipt key %u", r->num);
        return;
    case RD_AT_RKEY:
        snprintf(buf, n, "receipt key \"%s\"", r->num < RD__NRKEYS
                 ? rd__rkeys[r->num] : "?");
        return;
    case RD_AT_ENVELOPE:
        break;
    }
    snprintf(buf, n, "envelope");
}

static void rd__set(rd *r, rd_at at, unsigned num)
{
    r->at = at;
    r->num = num;
    r->entry = -1;
}

static int rd__fail(rd *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int rd__fail(rd *r, int code, const char *fmt, ...)
{
    char why[ERR_MSG_MAX], where[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    rd__where(r, where, sizeof where);
    return err_set(r->e, code, "%s: %s", where, why);
}

/* Names the field the next reads belong to; returns r to chain calls. */
static rd *rd__at(rd *r, unsigned f)
{
    rd__set(r, RD_AT_FIELD, f);
    return r;
}

/* No arithmetic on a NULL pointer, even + 0 (UBSan refuses it). */
static void rd__init(rd *r, const void *data, size_t n)
{
    r->p = data && n ? data : (const unsigned char *)"";
    r->end = r->p + (data ? n : 0);
}

static size_t rd__left(const rd *r)
{
    return (size_t)(r->end - r->p);
}

static int rd__need(rd *r, uint64_t n)
{
    if (n > rd__left(r))
        return rd__fail(r, ERR_SYNTAX, "truncated: %llu bytes needed, %zu "
                        "left", (unsigned long long)n, rd__left(r));
    return 0;
}

/* What a first byte announces, for "expected a string, got an array". */
static const char *rd__kind(unsigned char b)
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

/* One msgpack family: its fix range (values in the low bits of the first
 * byte) and its tagged forms with their width and the least value each
 * may carry (anything smaller belongs in a shorter form). */
typedef struct rd_form {
    const char *name;
    unsigned char fix_lo, fix_hi, fix_mask; /* fix_mask 0: no fix form */
    unsigned char tag[4], width[4];
    uint64_t min[4];
} rd_form;

static const rd_form RD_UINT = {"an unsigned integer", 0x00, 0x7f, 0x7f,
    {0xcc, 0xcd, 0xce, 0xcf}, {1, 2, 4, 8},
    {0x80, 0x100, 0x10000, 0x100000000ull}};
static const rd_form RD_STR = {"a string", 0xa0, 0xbf, 0x1f,
    {0xd9, 0xda, 0xdb}, {1, 2, 4}, {32, 0x100, 0x10000}};
static const rd_form RD_BIN = {"bin", 0, 0, 0,
    {0xc4, 0xc5, 0xc6}, {1, 2, 4}, {0, 0x100, 0x10000}};
static const rd_form RD_ARRAY = {"an array", 0x90, 0x9f, 0x0f,
    {0xdc, 0xdd}, {2, 4}, {16, 0x10000}};
static const rd_form RD_MAP = {"a map", 0x80, 0x8f, 0x0f,
    {0xde, 0xdf}, {2, 4}, {16, 0x10000}};

/* A header of family f: *v is the value (integers) or the length. */
static int rd__head(rd *r, const rd_form *f, uint64_t *v)
{
    *v = 0; /* defined on every path, failures included */
    int rc = rd__need(r, 1);
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
        if ((rc = rd__need(r, 1u + f->width[k])) != 0)
            return rc;
        *v = 0;
        for (unsigned i = 1; i <= f->width[k]; i++)
            *v = (*v << 8) | r->p[i];
        if (*v < f->min[k])
            return rd__fail(r, ERR_SYNTAX, "%s not in its shortest msgpack "
                            "form (0x%02x)", f->name, b);
        r->p += 1u + f->width[k];
        return 0;
    }
    return rd__fail(r, ERR_INVALID, "expected %s, got %s", f->name,
                    rd__kind(b));
}

static int rd__uint(rd *r, uint64_t *v)
{
    return rd__head(r, &RD_UINT, v);
}

/* A str or bin body of at most max bytes, borrowed from the input. */
static int rd__bytes(rd *r, const rd_form *f, size_t max,
                     const unsigned char **p, size_t *n)
{
    uint64_t len;
    *p = NULL;
    *n = 0;
    int rc = rd__head(r, f, &len);
    if (rc)
        return rc;
    if (len > max)
        return rd__fail(r, ERR_TOOBIG, "%llu bytes, more than %zu",
                        (unsigned long long)len, max);
    if ((rc = rd__need(r, len)) != 0)
        return rc;
    if (f == &RD_STR && memchr(r->p, 0, (size_t)len))
        return rd__fail(r, ERR_INVALID, "contains a NUL byte");
    *p = r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

/* A string into a fixed char array of cap bytes (NUL included). */
static int rd__str_into(rd *r, char *dst, size_t cap)
{
    const unsigned char *p;
    size_t n;
    int rc = rd__bytes(r, &RD_STR, cap - 1, &p, &n);
    if (!rc) {
        memcpy(dst, p, n);
        dst[n] = '\0';
    }
    return rc;
}

static int rd__str_dup(rd *r, size_t max, arena_t *a, const char **out)
{
    const unsigned char *p;
    size_t n;
    int rc = rd__bytes(r, &RD_STR, max, &p, &n);
    if (rc)
        return rc;
    *out = arena_strndup(a, (const char *)p, n);
    return *out ? 0 : rd__fail(r, ERR_NOMEM, "arena full");
}

static int rd__nil(rd *r)
{
    if (r->p < r->end && *r->p == 0xc0) {
        r->p++;
        return 1;
    }
    return 0;
}

/* ---- envelope version 1 ---- */

/* An array of at most max node ids (checked later by env_validate). */
static int rd__ids(rd *r, uint32_t max, arena_t *a, const char ***out,
                   uint32_t *n)
{
    uint64_t len;
    int rc = rd__head(r, &RD_ARRAY, &len);
    if (rc)
        return rc;
    if (len > max)
        return rd__fail(r, ERR_TOOBIG, "more than %u entries", max);
    const char **v = arena_zalloc(a, (size_t)(len ? len : 1) * sizeof *v);
    if (!v)
        return rd__fail(r, ERR_NOMEM, "arena full");
    for (uint32_t i = 0; !rc && i < len; i++) {
        r->entry = i;
        rc = rd__str_dup(r, ENV_NODE_MAX, a, &v[i]);
    }
    r->entry = -1;
    *out = v;
    *n = (uint32_t)len;
    return rc;
}

static int rd__bin_dup(rd *r, size_t max, arena_t *a,
                       const unsigned char **out, size_t *n)
{
    const unsigned char *p;
    int rc = rd__bytes(r, &RD_BIN, max, &p, n);
    if (rc || *n == 0)
        return rc;
    unsigned char *copy = arena_alloc(a, *n);
    if (!copy)
        return rd__fail(r, ERR_NOMEM, "arena full (%zu bytes)", *n);
    memcpy(copy, p, *n);
    *out = copy;
    return 0;
}

/* Fields 1 to 5; field 0 was read to pick this decoder. */
static int rd__v1_head(rd *r, arena_t *a, env *v)
{
    int rc = rd__str_into(rd__at(r, ENV_F_ID), v->id, sizeof v->id);
    rc = rc ? rc : rd__str_into(rd__at(r, ENV_F_TYPE), v->type,
                                sizeof v->type);
    rc = rc ? rc : rd__str_into(rd__at(r, ENV_F_ORIGIN), v->origin,
                                sizeof v->origin);
    rc = rc ? rc : rd__ids(rd__at(r, ENV_F_DEST), ENV_MAX_DEST, a, &v->dest,
                           &v->ndest);
    rc = rc ? rc : rd__ids(rd__at(r, ENV_F_ROUTE), ENV_MAX_HOPS, a,
                           &v->route, &v->nroute);
    return rc;
}

/* Fields 6 to 11. */
static int rd__v1_tail(rd *r, arena_t *a, env *v)
{
    int rc = rd__uint(rd__at(r, ENV_F_CREATED), &v->created_ms);
    if (!rc && !rd__nil(rd__at(r, ENV_F_REF)))
        rc = rd__str_dup(r, ENV_REF_MAX, a, &v->ref);
    rc = rc ? rc : rd__bin_dup(rd__at(r, ENV_F_PAYLOAD), ENV_MAX_PAYLOAD, a,
                               &v->payload, &v->payload_len);
    rc = rc ? rc : rd__str_into(rd__at(r, ENV_F_SIG_ALG), v->sig_alg,
                                sizeof v->sig_alg);
    rc = rc ? rc : rd__str_into(rd__at(r, ENV_F_SIGNER), v->signer,
                                sizeof v->signer);
    /* sig_alg is read first, so a single signature keeps its own cap */
    size_t sig_max = env_alg_is_batch(v->sig_alg) ? ENV_BATCH_SIG_MAX
                                                  : ENV_SIG_MAX;
    rc = rc ? rc : rd__bin_dup(rd__at(r, ENV_F_SIG), sig_max, a, &v->sig,
                               &v->sig_len);
    return rc;
}

static int rd__v1(rd *r, arena_t *a, env *v)
{
    int rc = rd__v1_head(r, a, v);
    return rc ? rc : rd__v1_tail(r, a, v);
}

/* One decoder per version this node reads: a new version adds a row and
 * keeps the old ones, so peers can upgrade one at a time. */
static const struct {
    uint32_t version, nfields;
    int (*read)(rd *r, arena_t *a, env *v);
} rd__versions[] = {
    {1, ENV_V1_FIELDS, rd__v1},
};
#define RD__NVERSIONS (sizeof rd__versions / sizeof rd__versions[0])

/* The array header and field 0, then the rest by that version's rows. */
static int rd__env(rd *r, arena_t *a, env *v)
{
    uint64_t n, ver;
    rd__set(r, RD_AT_ENVELOPE, 0);
    int rc = rd__head(r, &RD_ARRAY, &n);
    if (rc)
        return rc;
    if (n == 0)
        return rd__fail(r, ERR_INVALID, "empty array, no version");
    if ((rc = rd__uint(rd__at(r, ENV_F_VERSION), &ver)) != 0)
        return rc;
    for (size_t i = 0; i < RD__NVERSIONS; i++) {
        if (ver != rd__versions[i].version)
            continue;
        rd__set(r, RD_AT_ENVELOPE, 0);
        if (n != rd__versions[i].nfields)
            return rd__fail(r, ERR_INVALID, "version %u has %u fields, "
                            "this one %llu", rd__versions[i].version,
                            rd__versions[i].nfields, (unsigned long long)n);
        v->version = (uint32_t)ver;
        return rd__versions[i].read(r, a, v);
    }
    return rd__fail(r, ERR_UNSUPPORTED, "version %llu not supported; this "
                    "node reads version %u", (unsigned long long)ver,
                    rd__versions[0].version);
}

int env_decode(const void *data, size_t n, arena_t *a, env **out, err_t *e)
{
    if (n > ENV_MAX_FRAME)
        return err_set(e, ERR_TOOBIG, "envelope: frame of %zu bytes, more "
                       "than %u", n, ENV_MAX_FRAME);
    rd r = {.e = e, .entry = -1};
    rd__init(&r, data, n);
    env *v = arena_zalloc(a, sizeof *v);
    if (!v)
        return err_set(e, ERR_NOMEM, "envelope: arena full");
    int rc = rd__env(&r, a, v);
    if (!rc && r.p != r.end)
        rc = err_set(e, ERR_SYNTAX, "envelope: %zu trailing bytes after "
                     "the array", rd__left(&r));
    if (!rc)
        rc = env_validate(v, 1, e);
    if (!rc)
        *out = v;
    return rc;
}

/* ---- receipts ---- */

/* Key number i, which must be rd__rkeys[i] (the canonical order). */
static int rd__rkey(rd *r, unsigned i)
{
    const unsigned char *p;
    size_t n;
    rd__set(r, RD_AT_RKEY_NO, i);
    int rc = rd__bytes(r, &RD_STR, 16, &p, &n);
    if (rc)
        return rc;
    if (n != strlen(rd__rkeys[i]) || memcmp(p, rd__rkeys[i], n) != 0)
        return rd__fail(r, ERR_INVALID, "\"%.*s\", expected \"%s\"", (int)n,
                        (const char *)p, rd__rkeys[i]);
    rd__set(r, RD_AT_RKEY, i);
    return 0;
}

static int rd__status(rd *r, env_status *s)
{
    const unsigned char *p;
    size_t n;
    int rc = rd__bytes(r, &RD_STR, 16, &p, &n);
    for (int k = ENV_STORED; !rc && k <= ENV_REFUSED; k++)
        if (n == strlen(env_status_name((env_status)k)) &&
            memcmp(p, env_status_name((env_status)k), n) == 0) {
            *s = (env_status)k;
            return 0;
        }
    return rc ? rc : rd__fail(r, ERR_INVALID, "\"%.*s\" is not stored, "
                              "duplicate or refused", (int)n, (const char *)p);
}

static int rd__digest(rd *r, unsigned char *d)
{
    const unsigned char *p;
    size_t n;
    int rc = rd__bytes(r, &RD_BIN, ENV_DIGEST_LEN, &p, &n);
    if (!rc && n != ENV_DIGEST_LEN)
        rc = rd__fail(r, ERR_INVALID, "%zu bytes; a SHA-256 digest is %d",
                      n, ENV_DIGEST_LEN);
    if (!rc)
        memcpy(d, p, n);
    return rc;
}

/* Keys 1 to 5 after "v". */
static int rd__receipt_rest(rd *r, arena_t *a, env_receipt *out)
{
    int rc = rd__rkey(r, 1);
    rc = rc ? rc : rd__str_into(r, out->id, sizeof out->id);
    rc = rc ? rc : rd__rkey(r, 2);
    rc = rc ? rc : rd__digest(r, out->digest);
    rc = rc ? rc : rd__rkey(r, 3);
    rc = rc ? rc : rd__status(r, &out->status);
    rc = rc ? rc : rd__rkey(r, 4);
    if (!rc && !rd__nil(r))
        rc = rd__str_dup(r, ENV_REASON_MAX, a, &out->reason);
    rc = rc ? rc : rd__rkey(r, 5);
    rc = rc ? rc : rd__uint(r, &out->at_ms);
    return rc;
}

static int rd__receipt(rd *r, arena_t *a, env_receipt *out)
{
    uint64_t n, ver;
    rd__set(r, RD_AT_RECEIPT, 0);
    int rc = rd__head(r, &RD_MAP, &n);
    if (!rc && n == 0)
        rc = rd__fail(r, ERR_INVALID, "empty map, no version");
    rc = rc ? rc : rd__rkey(r, 0);
    rc = rc ? rc : rd__uint(r, &ver);
    if (rc)
        return rc;
    rd__set(r, RD_AT_RECEIPT, 0);
    if (ver != ENV_RECEIPT_VERSION)
        return rd__fail(r, ERR_UNSUPPORTED, "version %llu not supported; "
                        "this node reads version %d", (unsigned long long)ver,
                        ENV_RECEIPT_VERSION);
    if (n != RD__NRKEYS)
        return rd__fail(r, ERR_INVALID, "version 1 has %d keys, this one "
                        "%llu", RD__NRKEYS, (unsigned long long)n);
    out->version = (uint32_t)ver;
    return rd__receipt_rest(r, a, out);
}

int env_receipt_decode(const void *data, size_t n, arena_t *a,
                       env_receipt *out, err_t *e)
{
    if (n > ENV_RECEIPT_MAX)
        return err_set(e, ERR_TOOBIG, "receipt: %zu bytes, more than %d", n,
                       ENV_RECEIPT_MAX);
    rd r = {.e = e, .entry = -1};
    rd__init(&r, data, n);
    env_receipt tmp;
    memset(&tmp, 0, sizeof tmp);
    int rc = rd__receipt(&r, a, &tmp);
    if (!rc && r.p != r.end)
        rc = err_set(e, ERR_SYNTAX, "receipt: %zu trailing bytes after the "
                     "map", rd__left(&r));
    if (!rc)
        rc = env_receipt_validate(&tmp, e);
    if (!rc)
        *out = tmp;
    return rc;
}
