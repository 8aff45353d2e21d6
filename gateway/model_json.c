#include "model_json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- writing ---- */

/* The record is written straight from model_fields[] rather than through
 * model_emit's callbacks: one reserve per value instead of a bounds check
 * per token, and keys copied from a plan made once. The key order, group
 * objects and absent-value rules are model_emit's, so both forms agree. */

/* One object's rows in table order; group 0 = top level, else a 1-based
 * run of rows sharing f->group (a run reopens if the group comes back, as
 * model_emit does). Keys are kept as the bytes written, `,"key":` and
 * `,"group":{`, and copied MJ__KEY_COPY bytes at a time (the reservation
 * leaves that room): no length-dependent copy per key. */
#define MJ__KEY_COPY 32
typedef struct mj__row {
    char key[MJ__KEY_COPY + 8], grp[MJ__KEY_COPY + 8];
    const model_field *f;
    uint32_t klen, glen, group; /* lengths with the leading comma */
    uint32_t off;
    model_ftype type;
} mj__row;

typedef struct mj__plan {
    mj__row *rows;
    uint32_t n;
} mj__plan;

static mj__plan mj__plans[MO__COUNT];
static mj__row *mj__rows; /* every plan's rows, model_nfields in all */
static once_flag mj__plan_once = ONCE_FLAG_INIT;

/* Row of f (in group run g); 0, or -1 when a key is too long to copy in
 * one MJ__KEY_COPY block (the table's keys are short: a test fails). */
static int mj__row_init(mj__row *w, const model_field *f, uint32_t g)
{
    int k = snprintf(w->key, sizeof w->key, ",\"%s\":", f->key);
    int n = f->group ? snprintf(w->grp, sizeof w->grp, ",\"%s\":{",
                                f->group) : 0;
    w->f = f;
    w->klen = (uint32_t)k;
    w->glen = (uint32_t)n;
    w->group = f->group ? g : 0;
    w->off = f->off;
    w->type = f->type;
    return k > MJ__KEY_COPY || n > MJ__KEY_COPY ? -1 : 0;
}

static void mj__plan_init(void)
{
    mj__rows = calloc(model_nfields ? model_nfields : 1, sizeof *mj__rows);
    size_t at = 0;
    int bad = 0;
    for (int o = 0; o < MO__COUNT && mj__rows; o++) {
        mj__plan *p = &mj__plans[o];
        p->rows = mj__rows + at;
        const char *open = NULL;
        uint32_t g = 0;
        for (size_t i = 0; i < model_nfields; i++) {
            const model_field *f = &model_fields[i];
            if ((int)f->obj != o)
                continue;
            if (f->group && (!open || strcmp(open, f->group) != 0))
                g++;
            open = f->group;
            bad |= mj__row_init(&p->rows[p->n++], f, g);
        }
        at += p->n;
    }
    if (bad) {
        free(mj__rows);
        mj__rows = NULL;
    }
}

/* 1 for bytes a JSON string cannot hold as they are. */
static const unsigned char mj__esc[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ['\\'] = 1,
};

/* 0x80 in each byte of x that is < 0x20, '"' or '\\' (SWAR: eight
 * bytes per step; bytes >= 0x80 never flag). */
static uint64_t mj__swar_bad(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = ones * 0x80;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    uint64_t lt = (x - ones * 0x20) & ~x;
    uint64_t eq = ((q - ones) & ~q) | ((b - ones) & ~b);
    return (lt | eq) & high;
}

/* Offset of the first byte of s[0..n) needing an escape, or n; 16 bytes
 * at a time where SSE2 is there, then 8 (values are mostly clean). */
static size_t mj__clean_prefix(const char *s, size_t n)
{
    size_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i bad = _mm_or_si128(
            _mm_cmpeq_epi8(_mm_subs_epu8(v, _mm_set1_epi8(0x1F)),
                           _mm_setzero_si128()),
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                         _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
        uint32_t m = (uint32_t)_mm_movemask_epi8(bad);
        if (m)
            return i + (size_t)__builtin_ctz(m);
    }
#endif
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (mj__swar_bad(x))
            break; /* the byte loop finds which */
    }
    while (i < n && !mj__esc[(unsigned char)s[i]])
        i++;
    return i;
}

/* RFC 8259 escaping of s[0..n) into d (room for 6 n); returns the end. */
static char *mj__escaped(char *d, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n;) {
        size_t k = mj__clean_prefix(s + i, n - i);
        memcpy(d, s + i, k);
        d += k, i += k;
        if (i == n)
            break;
        unsigned char c = (unsigned char)s[i++];
        *d++ = '\\';
        if (c == '"' || c == '\\' || c == '\n') {
            *d++ = c == '\n' ? 'n' : (char)c;
        } else {
            memcpy(d, "u00", 3);
            d[3] = hex[c >> 4], d[4] = hex[c & 15];
            d += 5;
        }
    }
    return d;
}

static size_t mj__escaped_len(const char *s, size_t n);

/* Room for a string value of n bytes and its quotes plus extra bytes:
 * n + 2 when it needs no escapes (found by one scan, kept in *clean). */
static size_t mj__string_room(const char *s, size_t n, size_t *clean)
{
    *clean = mj__clean_prefix(s, n);
    return *clean == n ? n + 2 : *clean + mj__escaped_len(s + *clean,
                                                          n - *clean) + 2;
}

/* As mj__string, with the clean prefix already known. */
static char *mj__string_known(char *d, const char *s, size_t n, size_t clean)
{
    *d++ = '"';
    memcpy(d, s, clean);
    d = mj__escaped(d + clean, s + clean, n - clean);
    *d++ = '"';
    return d;
}

/* Bytes s[0..n) takes once escaped. */
static size_t mj__escaped_len(const char *s, size_t n)
{
    size_t len = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        len += !mj__esc[c] ? 1 : (c == '"' || c == '\\' || c == '\n') ? 2 : 6;
    }
    return len;
}

/* Trade figures are short decimals (437.5 kg, 22 packages): write those
 * without printf, which dominated the translation profile. Returns the
 * length, or 0 when v is not such a number (then %.15g/%.17g decide). The
 * text is exact: v is the double nearest to it. */
static size_t mj__short_decimal(double v, char *out)
{
    double a = fabs(v), p = 1;
    for (int k = 0; k <= 6; k++, p *= 10) {
        double r = nearbyint(a * p);
        if (r >= 1e15 || r / p != a)
            continue;
        char digits[24];
        int nd = 0;
        for (uint64_t x = (uint64_t)r; nd == 0 || x; x /= 10)
            digits[nd++] = (char)('0' + x % 10);
        while (nd <= k)
            digits[nd++] = '0';
        size_t n = 0;
        if (v < 0 && r != 0)
            out[n++] = '-';
        for (int i = nd - 1; i >= 0; i--) {
            out[n++] = digits[i];
            if (i == k && k > 0)
                out[n++] = '.';
        }
        return n;
    }
    return 0;
}

#define MJ__NUM_MAX 40 /* room for any number's text */

/* v's text at d; returns the end, or NULL when v is not finite. */
static char *mj__num(char *d, double v)
{
    if (!isfinite(v))
        return NULL;
    if (fabs(v) < 1e15 && v == (double)(int64_t)v) { /* counts, most masses */
        char rev[24];
        int nd = 0;
        uint64_t x = (uint64_t)(v < 0 ? -v : v);
        do
            rev[nd++] = (char)('0' + x % 10);
        while (x /= 10);
        if (v < 0)
            *d++ = '-';
        while (nd)
            *d++ = rev[--nd];
        return d;
    }
    size_t n = mj__short_decimal(v, d);
    if (n)
        return d + n;
    /* 15 digits read best and hide arithmetic noise (0.1 + 0.2 -> 0.3);
     * when they do not read back within model_equal's tolerance (large
     * values with decimals; DBL_MAX even overflows to inf) use 17, which
     * always give v back exactly */
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.15g", v);
    if (!(fabs(strtod(tmp, NULL) - v) < 1e-9))
        snprintf(tmp, sizeof tmp, "%.17g", v);
    n = strlen(tmp);
    memcpy(d, tmp, n);
    return d + n;
}

/* Where one object is in its writing: the group open (0: none) and
 * whether a comma is due before the next key. */
typedef struct mj__at {
    uint32_t open;
    int comma;
} mj__at;

static int mj__obj(buf_t *b, void *base, model_obj obj);

/* Whether the value at `at` is there; every MODEL__ARRAY has a strlist's
 * {v, n} head, so arrays are counted as lists are. */
static int mj__present(const char *at, model_ftype type)
{
    switch (type) {
    case MF_STR: return *(char *const *)(const void *)at != NULL;
    case MF_NUM: return ((const model_num *)(const void *)at)->set;
    case MF_STRLIST: return ((const model_strlist *)(const void *)at)->n > 0;
    case MF_ARRAY: return ((const model_strlist *)(const void *)at)->n > 0;
    }
    return 0;
}

/* The bytes before row w's value: a group closing or opening, the key;
 * 2 MJ__KEY_COPY + 1 bytes of room. */
static char *mj__head(char *d, const mj__row *w, mj__at *at)
{
    if (at->open && at->open != w->group) {
        *d++ = '}';
        at->open = 0;
        at->comma = 1;
    }
    if (w->group && !at->open) {
        memcpy(d, w->grp + !at->comma, MJ__KEY_COPY);
        d += w->glen - !at->comma;
        at->open = w->group;
        at->comma = 0;
    }
    memcpy(d, w->key + !at->comma, MJ__KEY_COPY);
    d += w->klen - !at->comma;
    at->comma = 1;
    return d;
}

/* Room for a string of n bytes however it escapes, with the slack the
 * scan of its copy reads past it. */
#define MJ__STR_ROOM(n) (6 * (n) + 2 + 16)

/* Offset of the first byte of d[0..n) needing an escape, or n; d has 16
 * bytes of room past n (the output buffer), so whole blocks are read and
 * the bytes past n masked off. */
static size_t mj__dirty(const char *d, size_t n)
{
#if defined(__SSE2__)
    for (size_t i = 0; i < n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(d + i));
        __m128i bad = _mm_or_si128(
            _mm_cmpeq_epi8(_mm_subs_epu8(v, _mm_set1_epi8(0x1F)),
                           _mm_setzero_si128()),
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                         _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
        uint32_t m = (uint32_t)_mm_movemask_epi8(bad);
        if (n - i < 16)
            m &= (1u << (n - i)) - 1;
        if (m)
            return i + (size_t)__builtin_ctz(m);
    }
    return n;
#else
    return mj__clean_prefix(d, n);
#endif
}

/* s[0..n) as a JSON string at d (MJ__STR_ROOM(n) bytes of room): copied
 * whole, then escaped from the first byte that needs it, if any. */
static char *mj__string_fast(char *d, const char *s, size_t n)
{
    *d++ = '"';
    memcpy(d, s, n);
    size_t k = mj__dirty(d, n);
    d = k == n ? d + n : mj__escaped(d + k, s + k, n - k);
    *d++ = '"';
    return d;
}

/* A string near the buffer's cap: exactly the room it takes. */
static int mj__string_exact(buf_t *b, const char *pre, size_t np,
                            const char *s, size_t n)
{
    size_t clean;
    int rc = buf_reserve(b, np + mj__string_room(s, n, &clean));
    if (rc)
        return rc;
    char *d0 = b->p + b->len;
    memcpy(d0, pre, np);
    buf_commit(b, (size_t)(mj__string_known(d0 + np, s, n, clean) - d0));
    return 0;
}

static int mj__strlist(buf_t *b, const model_strlist *l)
{
    int rc = 0;
    for (uint32_t i = 0; i < l->n && !rc; i++) {
        size_t n = strlen(l->v[i]);
        if ((rc = buf_reserve(b, MJ__STR_ROOM(n) + 1))) {
            rc = rc == ERR_TOOBIG ? mj__string_exact(b, ",", i > 0, l->v[i], n)
                                  : rc;
            continue;
        }
        char *d = b->p + b->len, *d0 = d;
        if (i)
            *d++ = ',';
        buf_commit(b, (size_t)(mj__string_fast(d, l->v[i], n) - d0));
    }
    return rc ? rc : buf_addc(b, ']');
}

static int mj__array(buf_t *b, void *base, const mj__row *w)
{
    int rc = 0;
    uint32_t n = model_array_len(base, w->f);
    for (uint32_t i = 0; i < n && !rc; i++) {
        if (i)
            rc = buf_addc(b, ',');
        if (!rc)
            rc = mj__obj(b, model_array_at(base, w->f, i), w->f->elem);
    }
    return rc ? rc : buf_addc(b, ']');
}

/* Row w's head and string value s[0..n) with exactly the room they take:
 * the buffer is near its cap. */
static int mj__field_exact(buf_t *b, const mj__row *w, mj__at *at,
                           const char *s, size_t n)
{
    char head[4 * MJ__KEY_COPY];
    mj__at was = *at;
    size_t hn = (size_t)(mj__head(head, w, at) - head);
    int rc = mj__string_exact(b, head, hn, s, n);
    if (rc)
        *at = was;
    return rc;
}

/* Row w of base (present): its head and value. */
static int mj__field(buf_t *b, void *base, const mj__row *w, mj__at *at)
{
    const char *v = (const char *)base + w->off;
    const char *s = w->type == MF_STR ? *(char *const *)(const void *)v : NULL;
    size_t n = s ? strlen(s) : 0;
    int rc = buf_reserve(b, 2 * MJ__KEY_COPY + 2 +
                                (s ? MJ__STR_ROOM(n) : MJ__NUM_MAX));
    if (rc)
        return rc == ERR_TOOBIG && s ? mj__field_exact(b, w, at, s, n) : rc;
    char *d0 = b->p + b->len, *d = mj__head(d0, w, at);
    if (s)
        d = mj__string_fast(d, s, n);
    else if (w->type == MF_NUM &&
             !(d = mj__num(d, ((const model_num *)(const void *)v)->v)))
        return ERR_INVALID;
    else if (w->type != MF_NUM)
        *d++ = '[';
    buf_commit(b, (size_t)(d - d0));
    if (w->type == MF_STRLIST)
        return mj__strlist(b, (const model_strlist *)(const void *)v);
    return w->type == MF_ARRAY ? mj__array(b, base, w) : 0;
}

static int mj__obj(buf_t *b, void *base, model_obj obj)
{
    const mj__plan *p = &mj__plans[obj];
    mj__at at = {0, 0};
    int rc = buf_addc(b, '{');
    for (const mj__row *w = p->rows, *e = w + p->n; w < e && !rc; w++)
        if (mj__present((const char *)base + w->off, w->type))
            rc = mj__field(b, base, w, &at);
    if (!rc && at.open)
        rc = buf_addc(b, '}');
    return rc ? rc : buf_addc(b, '}');
}

int model_json_write(const model_record *r, buf_t *out, err_t *e)
{
    call_once(&mj__plan_once, mj__plan_init);
    int rc = mj__rows ? mj__obj(out, (void *)r, MO_RECORD) : ERR_NOMEM;
    if (rc)
        return err_set(e, rc, "json: cannot write record: %s",
                       err_text(rc));
    return 0;
}
