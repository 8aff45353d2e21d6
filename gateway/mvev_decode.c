/* mvev_decode: the strict in-place reader of movement events.
 *
 * Like envelope_decode it reads the bytes itself: every length is checked
 * against its cap and the bytes left before anything is copied, only the
 * types a key allows are accepted, and each header must be in its
 * shortest form (the form msgpack-c's packer writes), so decode then
 * encode gives back the bytes that were signed. Keys must come in the
 * order of mvev_keys, each at most once; unknown ones are refused. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "mvev.h"
#include "mvev_int.h"

/* ---- the cursor, shared with mvrule_state.c (mvev_int.h) ---- */

void mvrd_init(mvrd *r, const void *p, size_t n, const char *what,
               err_t *e)
{
    r->p = p && n ? p : (const unsigned char *)""; /* no NULL + 0 */
    r->end = r->p + (p ? n : 0);
    r->what = what;
    r->key = NULL;
    r->entry = -1;
    r->e = e;
}

int mvrd_fail(mvrd *r, int code, const char *fmt, ...)
{
    char why[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (!r->key)
        return err_set(r->e, code, "%s: %s", r->what, why);
    if (r->entry < 0)
        return err_set(r->e, code, "%s key \"%s\": %s", r->what, r->key,
                       why);
    return err_set(r->e, code, "%s key \"%s\" entry %u: %s", r->what,
                   r->key, (unsigned)r->entry + 1, why);
}

size_t mvrd_left(const mvrd *r)
{
    return (size_t)(r->end - r->p);
}

static int mvrd__need(mvrd *r, uint64_t n)
{
    if (n > mvrd_left(r))
        return mvrd_fail(r, ERR_SYNTAX, "truncated: %llu bytes needed, %zu "
                         "left", (unsigned long long)n, mvrd_left(r));
    return 0;
}

const mvrd_form MVRD_UINT = {"an unsigned integer", 0x00, 0x7f, 0x7f,
    {0xcc, 0xcd, 0xce, 0xcf}, {1, 2, 4, 8},
    {0x80, 0x100, 0x10000, 0x100000000ull}};
const mvrd_form MVRD_STR = {"a string", 0xa0, 0xbf, 0x1f,
    {0xd9, 0xda, 0xdb}, {1, 2, 4}, {32, 0x100, 0x10000}};
const mvrd_form MVRD_BIN = {"bin", 0, 0, 0,
    {0xc4, 0xc5, 0xc6}, {1, 2, 4}, {0, 0x100, 0x10000}};
const mvrd_form MVRD_ARRAY = {"an array", 0x90, 0x9f, 0x0f,
    {0xdc, 0xdd}, {2, 4}, {16, 0x10000}};
const mvrd_form MVRD_MAP = {"a map", 0x80, 0x8f, 0x0f,
    {0xde, 0xdf}, {2, 4}, {16, 0x10000}};

int mvrd_head(mvrd *r, const mvrd_form *f, uint64_t *v)
{
    *v = 0;
    int rc = mvrd__need(r, 1);
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
        if ((rc = mvrd__need(r, 1u + f->width[k])) != 0)
            return rc;
        for (unsigned i = 1; i <= f->width[k]; i++)
            *v = (*v << 8) | r->p[i];
        if (*v < f->min[k])
            return mvrd_fail(r, ERR_SYNTAX, "%s not in its shortest msgpack "
                             "form (0x%02x)", f->name, b);
        r->p += 1u + f->width[k];
        return 0;
    }
    return mvrd_fail(r, ERR_INVALID, "expected %s (first byte 0x%02x)",
                     f->name, b);
}

/* A str or bin body of at most max bytes, borrowed from the input. */
int mvrd_bytes(mvrd *r, const mvrd_form *f, size_t max,
               const unsigned char **p, size_t *n)
{
    uint64_t len;
    int rc = mvrd_head(r, f, &len);
    if (rc)
        return rc;
    if (len > max)
        return mvrd_fail(r, ERR_TOOBIG, "%llu bytes, more than %zu",
                         (unsigned long long)len, max);
    if ((rc = mvrd__need(r, len)) != 0)
        return rc;
    if (f == &MVRD_STR && memchr(r->p, 0, (size_t)len))
        return mvrd_fail(r, ERR_INVALID, "contains a NUL byte");
    *p = r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

int mvrd_str(mvrd *r, size_t max, arena_t *a, const char **out)
{
    const unsigned char *p;
    size_t n;
    int rc = mvrd_bytes(r, &MVRD_STR, max, &p, &n);
    if (rc)
        return rc;
    *out = arena_strndup(a, (const char *)p, n);
    return *out ? 0 : mvrd_fail(r, ERR_NOMEM, "arena full");
}

/* An array header of 1 to max entries (an empty one is spelt by leaving
 * the key out, and one event has one spelling). */
int mvrd_array(mvrd *r, uint32_t min, uint32_t max, uint32_t *n)
{
    uint64_t len;
    int rc = mvrd_head(r, &MVRD_ARRAY, &len);
    if (rc)
        return rc;
    if (len > max)
        return mvrd_fail(r, ERR_TOOBIG, "%llu entries, more than %u",
                         (unsigned long long)len, max);
    if (len < min)
        return mvrd_fail(r, ERR_INVALID, "%llu entries, want %u%s",
                         (unsigned long long)len, min,
                          min == 1 ? " or more (leave an empty one out)" : "");
    *n = (uint32_t)len;
    return 0;
}

/* A set number: 0 is spelt by leaving the key out. */
int mvrd_uint(mvrd *r, uint64_t max, uint64_t *v)
{
    int rc = mvrd_head(r, &MVRD_UINT, v);
    if (!rc && *v == 0)
        rc = mvrd_fail(r, ERR_INVALID, "0 (leave the key out instead)");
    if (!rc && *v > max)
        rc = mvrd_fail(r, ERR_INVALID, "%llu, more than %llu",
                       (unsigned long long)*v, (unsigned long long)max);
    return rc;
}

/* The next key of a map whose keys must come in table order, each at
 * most once: table holds n rows of stride bytes, each starting with its
 * name (const char *); the key must be a row at or after after; *k gets
 * its row and r->key its name. */
int mvrd_key(mvrd *r, const void *table, size_t stride, size_t n,
             size_t after, size_t *k)
{
    const unsigned char *p;
    size_t len;
    r->key = NULL;
    r->entry = -1;
    int rc = mvrd_bytes(r, &MVRD_STR, 16, &p, &len);
    for (size_t i = 0; !rc && i < n; i++) {
        const char *name = *(const char *const *)(const void *)
                               ((const char *)table + i * stride);
        if (strlen(name) != len || memcmp(name, p, len) != 0)
            continue;
        if (i + 1 == after)
            return mvrd_fail(r, ERR_INVALID, "key \"%s\" repeated", name);
        if (i < after)
            return mvrd_fail(r, ERR_INVALID, "key \"%s\" out of order "
                             "(after \"%s\")", name,
                             *(const char *const *)(const void *)
                                 ((const char *)table + (after - 1) * stride));
        *k = i;
        r->key = name;
        return 0;
    }
    return rc ? rc : mvrd_fail(r, ERR_INVALID, "unknown key \"%.*s\"",
                               (int)len, (const char *)p);
}

/* ---- events ---- */

static int mvrd__itin(mvrd *r, arena_t *a, mv_event *ev)
{
    int rc = mvrd_array(r, 1, MV_ITIN_MAX, &ev->nitin);
    for (uint32_t i = 0; !rc && i < ev->nitin; i++) {
        r->entry = i;
        rc = mvrd_str(r, MV_STR_MAX, a, &ev->itin[i]);
    }
    return rc;
}

/* docs: [[type, number], ...] */
static int mvrd__docs(mvrd *r, arena_t *a, mv_event *ev)
{
    int rc = mvrd_array(r, 1, MV_DOC_MAX, &ev->ndocs);
    for (uint32_t i = 0; !rc && i < ev->ndocs; i++) {
        uint32_t two;
        r->entry = i;
        rc = mvrd_array(r, 2, 2, &two);
        rc = rc ? rc : mvrd_str(r, MV_STR_MAX, a, &ev->docs[i].type);
        rc = rc ? rc : mvrd_str(r, MV_STR_MAX, a, &ev->docs[i].no);
    }
    return rc;
}

/* ctrs: [[number, [seal, ...]], ...]; a container may have no seal */
static int mvrd__ctrs(mvrd *r, arena_t *a, mv_event *ev)
{
    int rc = mvrd_array(r, 1, MV_CTR_MAX, &ev->nctrs);
    for (uint32_t i = 0; !rc && i < ev->nctrs; i++) {
        mv_ctr *c = &ev->ctrs[i];
        uint32_t two;
        r->entry = i;
        rc = mvrd_array(r, 2, 2, &two);
        rc = rc ? rc : mvrd_str(r, MV_STR_MAX, a, &c->no);
        rc = rc ? rc : mvrd_array(r, 0, MV_SEAL_MAX, &c->nseals);
        for (uint32_t s = 0; !rc && s < c->nseals; s++)
            rc = mvrd_str(r, MV_STR_MAX, a, &c->seals[s]);
    }
    return rc;
}

static int mvrd__rec(mvrd *r, arena_t *a, mv_event *ev)
{
    const unsigned char *p;
    size_t n;
    int rc = mvrd_bytes(r, &MVRD_BIN, ENV_MAX_PAYLOAD, &p, &n);
    if (!rc && n == 0)
        rc = mvrd_fail(r, ERR_INVALID, "empty (leave the key out instead)");
    unsigned char *copy = rc ? NULL : arena_alloc(a, n);
    if (!rc && !copy)
        rc = mvrd_fail(r, ERR_NOMEM, "arena full (%zu bytes)", n);
    if (!rc) {
        memcpy(copy, p, n);
        ev->record = copy;
        ev->record_len = n;
    }
    return rc;
}

static int mvrd__type(mvrd *r, mv_event *ev)
{
    const unsigned char *p;
    size_t n;
    char name[16];
    int rc = mvrd_bytes(r, &MVRD_STR, sizeof name - 1, &p, &n);
    if (rc)
        return rc;
    memcpy(name, p, n);
    name[n] = '\0';
    if (mv_type_parse(name, &ev->type))
        return mvrd_fail(r, ERR_INVALID, "unknown event type \"%s\"", name);
    return 0;
}

static int mvrd__val(mvrd *r, const mvev_key *k, arena_t *a, mv_event *ev)
{
    char *f = (char *)ev + k->off;
    uint64_t v;
    int rc;
    switch (k->kind) {
    case MVK_T: return mvrd__type(r, ev);
    case MVK_STR: return mvrd_str(r, k->max, a, (const char **)(void *)f);
    case MVK_U64:
        rc = mvrd_uint(r, UINT64_MAX, &v);
        memcpy(f, &v, sizeof v);
        return rc;
    case MVK_U32:
        rc = mvrd_uint(r, UINT32_MAX, &v);
        *(uint32_t *)(void *)f = (uint32_t)v;
        return rc;
    case MVK_ITIN: return mvrd__itin(r, a, ev);
    case MVK_DOCS: return mvrd__docs(r, a, ev);
    case MVK_CTRS: return mvrd__ctrs(r, a, ev);
    case MVK_REC: return mvrd__rec(r, a, ev);
    default: return mvrd_fail(r, ERR_INVALID, "repeated");
    }
}

/* The map header and "v" first, so that another version is told apart
 * before its keys are judged by this one's rules. */
static int mvrd__version(mvrd *r, uint64_t *nkeys, mv_event *ev)
{
    uint64_t ver = 0;
    size_t k = 0;
    int rc = mvrd_head(r, &MVRD_MAP, nkeys);
    if (!rc && *nkeys == 0)
        rc = mvrd_fail(r, ERR_INVALID, "empty map, no version");
    rc = rc ? rc : mvrd_key(r, mvev_keys, sizeof mvev_keys[0], MVEV_NKEYS,
                            0, &k);
    if (!rc && k != 0)
        rc = mvrd_fail(r, ERR_INVALID, "first key \"%s\", expected \"v\"",
                       mvev_keys[k].name);
    rc = rc ? rc : mvrd_head(r, &MVRD_UINT, &ver);
    if (!rc && ver != MVEV_VERSION)
        rc = mvrd_fail(r, ERR_UNSUPPORTED, "version %llu not supported; "
                       "this node reads version %d",
                       (unsigned long long)ver, MVEV_VERSION);
    if (!rc && *nkeys > MVEV_NKEYS)
        rc = mvrd_fail(r, ERR_INVALID, "%llu keys, version 1 has %d at "
                       "most", (unsigned long long)*nkeys, MVEV_NKEYS);
    ev->version = (uint32_t)ver;
    return rc;
}

int mv_event_decode(const void *p, size_t n, arena_t *a, mv_event *out,
                    err_t *e)
{
    memset(out, 0, sizeof *out);
    mvrd r;
    mvrd_init(&r, p, n, "movement event", e);
    uint64_t nkeys;
    int rc = mvrd__version(&r, &nkeys, out);
    size_t after = 1, k;
    for (uint64_t i = 1; !rc && i < nkeys; i++) {
        rc = mvrd_key(&r, mvev_keys, sizeof mvev_keys[0],
                      MVEV_NKEYS, after, &k);
        rc = rc ? rc : mvrd__val(&r, &mvev_keys[k], a, out);
        after = k + 1;
    }
    if (!rc && r.p != r.end)
        rc = err_set(e, ERR_SYNTAX, "movement event: %zu trailing bytes "
                     "after the map", mvrd_left(&r));
    return rc ? rc : mv_event_validate(out, e);
}
