/* envelope_decode: the strict reader of envelopes and receipts.
 *
 * It reads the bytes with the cursor of mpread.h rather than through
 * msgpack_unpack_next: that builds the whole object tree before a single
 * cap can be checked, so a 5-byte array header claiming 2^32 entries, or
 * 16 MiB of one-byte nils, would make the node allocate gigabytes (about
 * 24 bytes per element). Here every length is checked against its cap
 * and against the bytes left before anything is allocated, only the
 * types a field allows are accepted, and each header must be in its
 * shortest form (the form our encoder writes), so decode then encode
 * gives back the same bytes. */
#include "envelope.h"

#include <stdio.h>
#include <string.h>

#include "mpread.h"

/* ---- where the reads belong ---- */

/* Kept as numbers: the text is only formatted when a read fails (see
 * mpread.h). */
typedef enum rd_at {
    RD_AT_TOP,     /* "envelope", "receipt": the cursor's what */
    RD_AT_FIELD,   /* "envelope field 4 (destinations)" [" entry 2"] */
    RD_AT_RKEY_NO, /* "receipt key 3": the key itself */
    RD_AT_RKEY     /* "receipt key \"status\"": its value */
} rd_at;

typedef struct rd {
    mpread m; /* first, so that rd__where finds the rest */
    rd_at at;
    unsigned num; /* the field or key number */
} rd;

static const char *const rd__rkeys[] = {"v",      "id",     "digest",
                                        "status", "reason", "at"};
#define RD__NRKEYS 6

/* The location as messages spell it, into buf of n bytes. */
static void rd__where(const mpread *m, char *buf, size_t n)
{
    const rd *r = (const rd *)(const void *)m;
    if (r->at == RD_AT_FIELD && m->entry < 0)
        snprintf(buf, n, "envelope field %u (%s)", r->num,
                 env_field_name(r->num));
    else if (r->at == RD_AT_FIELD)
        snprintf(buf, n, "envelope field %u (%s) entry %u", r->num,
                 env_field_name(r->num), (unsigned)m->entry);
    else if (r->at == RD_AT_RKEY_NO)
        snprintf(buf, n, "receipt key %u", r->num);
    else
        mpread_where(m, buf, n);
}

static void rd__init(rd *r, const void *data, size_t n, const char *what,
                     err_t *e)
{
    mpread_init(&r->m, data, n, what, e);
    r->m.where = rd__where;
    r->at = RD_AT_TOP;
    r->num = 0;
}

static void rd__set(rd *r, rd_at at, unsigned num)
{
    r->at = at;
    r->num = num;
    r->m.key = at == RD_AT_RKEY ? rd__rkeys[num] : NULL;
    r->m.entry = -1;
}

/* Names the field the next reads belong to; returns the cursor. */
static mpread *rd__at(rd *r, unsigned f)
{
    rd__set(r, RD_AT_FIELD, f);
    return &r->m;
}

/* ---- envelope version 1 ---- */

/* An array of at most max node ids (checked later by env_validate). */
static int rd__ids(mpread *r, uint32_t max, arena_t *a, const char ***out,
                   uint32_t *n)
{
    uint64_t len;
    int rc = mpread_head(r, &MPREAD_ARRAY, &len);
    if (rc)
        return rc;
    if (len > max)
        return mpread_fail(r, ERR_TOOBIG, "more than %u entries", max);
    const char **v = arena_zalloc(a, (size_t)(len ? len : 1) * sizeof *v);
    if (!v)
        return mpread_fail(r, ERR_NOMEM, "arena full");
    for (uint32_t i = 0; !rc && i < len; i++) {
        r->entry = i;
        rc = mpread_str(r, ENV_NODE_MAX, a, &v[i]);
    }
    r->entry = -1;
    *out = v;
    *n = (uint32_t)len;
    return rc;
}

/* Fields 1 to 5; field 0 was read to pick this decoder. */
static int rd__v1_head(rd *r, arena_t *a, env *v)
{
    int rc = mpread_str_into(rd__at(r, ENV_F_ID), v->id, sizeof v->id);
    rc = rc ? rc : mpread_str_into(rd__at(r, ENV_F_TYPE), v->type,
                                   sizeof v->type);
    rc = rc ? rc : mpread_str_into(rd__at(r, ENV_F_ORIGIN), v->origin,
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
    int rc = mpread_head(rd__at(r, ENV_F_CREATED), &MPREAD_UINT,
                         &v->created_ms);
    if (!rc && !mpread_nil(rd__at(r, ENV_F_REF)))
        rc = mpread_str(&r->m, ENV_REF_MAX, a, &v->ref);
    rc = rc ? rc : mpread_bin(rd__at(r, ENV_F_PAYLOAD), ENV_MAX_PAYLOAD, a,
                              &v->payload, &v->payload_len);
    rc = rc ? rc : mpread_str_into(rd__at(r, ENV_F_SIG_ALG), v->sig_alg,
                                   sizeof v->sig_alg);
    rc = rc ? rc : mpread_str_into(rd__at(r, ENV_F_SIGNER), v->signer,
                                   sizeof v->signer);
    /* sig_alg is read first, so a single signature keeps its own cap */
    size_t sig_max = env_alg_is_batch(v->sig_alg) ? ENV_BATCH_SIG_MAX
                                                  : ENV_SIG_MAX;
    rc = rc ? rc : mpread_bin(rd__at(r, ENV_F_SIG), sig_max, a, &v->sig,
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
    int rc = mpread_head(&r->m, &MPREAD_ARRAY, &n);
    if (rc)
        return rc;
    if (n == 0)
        return mpread_fail(&r->m, ERR_INVALID, "empty array, no version");
    if ((rc = mpread_head(rd__at(r, ENV_F_VERSION), &MPREAD_UINT, &ver)))
        return rc;
    for (size_t i = 0; i < RD__NVERSIONS; i++) {
        if (ver != rd__versions[i].version)
            continue;
        rd__set(r, RD_AT_TOP, 0);
        if (n != rd__versions[i].nfields)
            return mpread_fail(&r->m, ERR_INVALID, "version %u has %u "
                               "fields, this one %llu",
                               rd__versions[i].version,
                               rd__versions[i].nfields,
                               (unsigned long long)n);
        v->version = (uint32_t)ver;
        return rd__versions[i].read(r, a, v);
    }
    return mpread_fail(&r->m, ERR_UNSUPPORTED, "version %llu not supported; "
                       "this node reads version %u", (unsigned long long)ver,
                       rd__versions[0].version);
}

int env_decode(const void *data, size_t n, arena_t *a, env **out, err_t *e)
{
    if (n > ENV_MAX_FRAME)
        return err_set(e, ERR_TOOBIG, "envelope: frame of %zu bytes, more "
                       "than %u", n, ENV_MAX_FRAME);
    rd r;
    rd__init(&r, data, n, "envelope", e);
    env *v = arena_zalloc(a, sizeof *v);
    if (!v)
        return err_set(e, ERR_NOMEM, "envelope: arena full");
    int rc = rd__env(&r, a, v);
    rc = rc ? rc : mpread_done(&r.m, "array");
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
    int rc = mpread_bytes(&r->m, &MPREAD_STR, 16, &p, &n);
    if (rc)
        return rc;
    if (n != strlen(rd__rkeys[i]) || memcmp(p, rd__rkeys[i], n) != 0)
        return mpread_fail(&r->m, ERR_INVALID, "\"%.*s\", expected \"%s\"",
                           (int)n, (const char *)p, rd__rkeys[i]);
    rd__set(r, RD_AT_RKEY, i);
    return 0;
}

static int rd__status(mpread *r, env_status *s)
{
    const unsigned char *p;
    size_t n;
    int rc = mpread_bytes(r, &MPREAD_STR, 16, &p, &n);
    for (int k = ENV_STORED; !rc && k <= ENV_REFUSED; k++)
        if (n == strlen(env_status_name((env_status)k)) &&
            memcmp(p, env_status_name((env_status)k), n) == 0) {
            *s = (env_status)k;
            return 0;
        }
    return rc ? rc : mpread_fail(r, ERR_INVALID, "\"%.*s\" is not stored, "
                                 "duplicate or refused", (int)n,
                                 (const char *)p);
}

static int rd__digest(mpread *r, unsigned char *d)
{
    const unsigned char *p;
    size_t n;
    int rc = mpread_bytes(r, &MPREAD_BIN, ENV_DIGEST_LEN, &p, &n);
    if (!rc && n != ENV_DIGEST_LEN)
        rc = mpread_fail(r, ERR_INVALID, "%zu bytes; a SHA-256 digest is %d",
                         n, ENV_DIGEST_LEN);
    if (!rc)
        memcpy(d, p, n);
    return rc;
}

/* Keys 1 to 5 after "v". */
static int rd__receipt_rest(rd *r, arena_t *a, env_receipt *out)
{
    mpread *m = &r->m;
    int rc = rd__rkey(r, 1);
    rc = rc ? rc : mpread_str_into(m, out->id, sizeof out->id);
    rc = rc ? rc : rd__rkey(r, 2);
    rc = rc ? rc : rd__digest(m, out->digest);
    rc = rc ? rc : rd__rkey(r, 3);
    rc = rc ? rc : rd__status(m, &out->status);
    rc = rc ? rc : rd__rkey(r, 4);
    if (!rc && !mpread_nil(m))
        rc = mpread_str(m, ENV_REASON_MAX, a, &out->reason);
    rc = rc ? rc : rd__rkey(r, 5);
    rc = rc ? rc : mpread_head(m, &MPREAD_UINT, &out->at_ms);
    return rc;
}

static int rd__receipt(rd *r, arena_t *a, env_receipt *out)
{
    uint64_t n, ver;
    int rc = mpread_head(&r->m, &MPREAD_MAP, &n);
    if (!rc && n == 0)
        rc = mpread_fail(&r->m, ERR_INVALID, "empty map, no version");
    rc = rc ? rc : rd__rkey(r, 0);
    rc = rc ? rc : mpread_head(&r->m, &MPREAD_UINT, &ver);
    if (rc)
        return rc;
    rd__set(r, RD_AT_TOP, 0);
    if (ver != ENV_RECEIPT_VERSION)
        return mpread_fail(&r->m, ERR_UNSUPPORTED, "version %llu not "
                           "supported; this node reads version %d",
                           (unsigned long long)ver, ENV_RECEIPT_VERSION);
    if (n != RD__NRKEYS)
        return mpread_fail(&r->m, ERR_INVALID, "version 1 has %d keys, this "
                           "one %llu", RD__NRKEYS, (unsigned long long)n);
    out->version = (uint32_t)ver;
    return rd__receipt_rest(r, a, out);
}

int env_receipt_decode(const void *data, size_t n, arena_t *a,
                       env_receipt *out, err_t *e)
{
    if (n > ENV_RECEIPT_MAX)
        return err_set(e, ERR_TOOBIG, "receipt: %zu bytes, more than %d", n,
                       ENV_RECEIPT_MAX);
    rd r;
    rd__init(&r, data, n, "receipt", e);
    env_receipt tmp;
    memset(&tmp, 0, sizeof tmp);
    int rc = rd__receipt(&r, a, &tmp);
    rc = rc ? rc : mpread_done(&r.m, "map");
    if (!rc)
        rc = env_receipt_validate(&tmp, e);
    if (!rc)
        *out = tmp;
    return rc;
}
