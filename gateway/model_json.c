#include "model_json.h"

#include <jansson.h>
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
 * model_emit does). */
typedef struct mj__row {
    const model_field *f;
    uint32_t klen, glen, group;
} mj__row;

typedef struct mj__plan {
    mj__row *rows;
    uint32_t n;
} mj__plan;

static mj__plan mj__plans[MO__COUNT];
static mj__row *mj__rows; /* every plan's rows, model_nfields in all */
static once_flag mj__plan_once = ONCE_FLAG_INIT;

static void mj__plan_init(void)
{
    mj__rows = calloc(model_nfields ? model_nfields : 1, sizeof *mj__rows);
    size_t at = 0;
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
            p->rows[p->n++] = (mj__row){f, (uint32_t)strlen(f->key),
                f->group ? (uint32_t)strlen(f->group) : 0, f->group ? g : 0};
        }
        at += p->n;
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

/* `,"key":` (comma when one is due) into d. */
static char *mj__key(char *d, const char *k, uint32_t n, int comma)
{
    if (comma)
        *d++ = ',';
    *d++ = '"';
    memcpy(d, k, n);
    d += n;
    *d++ = '"';
    *d++ = ':';
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

static int mj__present(const char *base, const model_field *f)
{
    const char *at = base + f->off;
    switch (f->type) {
    case MF_STR: return *(char *const *)(const void *)at != NULL;
    case MF_NUM: return ((const model_num *)(const void *)at)->set;
    case MF_STRLIST: return ((const model_strlist *)(const void *)at)->n > 0;
    case MF_ARRAY: return model_array_len((void *)base, f) > 0;
    }
    return 0;
}

/* The bytes before row w's value: a group closing or opening, the key. */
static char *mj__head(char *d, const mj__row *w, mj__at *at)
{
    if (at->open && at->open != w->group) {
        *d++ = '}';
        at->open = 0;
        at->comma = 1;
    }
    if (w->group && !at->open) {
        d = mj__key(d, w->f->group, w->glen, at->comma);
        *d++ = '{';
        at->open = w->group;
        at->comma = 0;
    }
    d = mj__key(d, w->f->key, w->klen, at->comma);
    at->comma = 1;
    return d;
}

static int mj__strlist(buf_t *b, const model_strlist *l)
{
    int rc = 0;
    for (uint32_t i = 0; i < l->n && !rc; i++) {
        size_t n = strlen(l->v[i]), clean;
        if ((rc = buf_reserve(b, mj__string_room(l->v[i], n, &clean) + 1)))
            break;
        char *d = b->p + b->len, *d0 = d;
        if (i)
            *d++ = ',';
        d = mj__string_known(d, l->v[i], n, clean);
        buf_commit(b, (size_t)(d - d0));
    }
    return rc ? rc : buf_addc(b, ']');
}

static int mj__array(buf_t *b, void *base, const model_field *f)
{
    int rc = 0;
    uint32_t n = model_array_len(base, f);
    for (uint32_t i = 0; i < n && !rc; i++) {
        if (i)
            rc = buf_addc(b, ',');
        if (!rc)
            rc = mj__obj(b, model_array_at(base, f, i), f->elem);
    }
    return rc ? rc : buf_addc(b, ']');
}

/* Row w of base (present): its head and value. */
static int mj__field(buf_t *b, void *base, const mj__row *w, mj__at *at)
{
    const model_field *f = w->f;
    const char *s = f->type == MF_STR ? *model_str_at(base, f) : NULL;
    size_t n = s ? strlen(s) : 0, clean = 0;
    size_t need = w->glen + w->klen + 12 +
                  (s ? mj__string_room(s, n, &clean) : MJ__NUM_MAX);
    int rc = buf_reserve(b, need);
    if (rc)
        return rc;
    char *d0 = b->p + b->len, *d = mj__head(d0, w, at);
    if (s)
        d = mj__string_known(d, s, n, clean);
    else if (f->type == MF_NUM && !(d = mj__num(d, model_num_at(base, f)->v)))
        return ERR_INVALID;
    else if (f->type != MF_NUM)
        *d++ = '[';
    buf_commit(b, (size_t)(d - d0));
    if (f->type == MF_STRLIST)
        return mj__strlist(b, model_strlist_at(base, f));
    return f->type == MF_ARRAY ? mj__array(b, base, f) : 0;
}

static int mj__obj(buf_t *b, void *base, model_obj obj)
{
    const mj__plan *p = &mj__plans[obj];
    mj__at at = {0, 0};
    int rc = buf_addc(b, '{');
    for (uint32_t i = 0; i < p->n && !rc; i++)
        if (mj__present(base, p->rows[i].f))
            rc = mj__field(b, base, &p->rows[i], &at);
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

/* ---- reading ---- */

static int mj__read_obj(json_t *o, void *base, model_obj obj,
                        const char *at, const char *group, arena_t *a,
                        err_t *e);

static const model_field *mj__lookup(model_obj obj, const char *group,
                                     const char *key)
{
    for (size_t i = 0; i < model_nfields; i++) {
        const model_field *f = &model_fields[i];
        if (f->obj != obj || strcmp(f->key, key) != 0)
            continue;
        if ((!group && !f->group) ||
            (group && f->group && strcmp(group, f->group) == 0))
            return f;
    }
    return NULL;
}

static int mj__is_group(model_obj obj, const char *key)
{
    for (size_t i = 0; i < model_nfields; i++)
        if (model_fields[i].obj == obj && model_fields[i].group &&
            strcmp(model_fields[i].group, key) == 0)
            return 1;
    return 0;
}

static int mj__read_list(json_t *v, model_strlist *l, const model_field *f,
                         arena_t *a, err_t *e)
{
    size_t i;
    json_t *x;
    if (!json_is_array(v))
        return err_set(e, ERR_INVALID, "%s: expected an array", f->path);
    json_array_foreach(v, i, x) {
        if (!json_is_string(x))
            return err_set(e, ERR_INVALID, "%s[%zu]: expected a string",
                           f->path, i);
        int rc = model_strlist_add(a, l, json_string_value(x),
                                   json_string_length(x), e);
        if (rc)
            return rc;
    }
    return 0;
}

static int mj__read_array(json_t *v, void *base, const model_field *f,
                          arena_t *a, err_t *e)
{
    size_t i;
    json_t *x;
    if (!json_is_array(v))
        return err_set(e, ERR_INVALID, "%s: expected an array", f->path);
    json_array_foreach(v, i, x) {
        if (!json_is_object(x))
            return err_set(e, ERR_INVALID, "%s[%zu]: expected an object",
                           f->path, i);
        void *el = model_array_append(a, base, f, e);
        if (!el)
            return e ? e->code : ERR_NOMEM;
        char at[64]; /* "parties[3]." names the element in messages */
        snprintf(at, sizeof at, "%s[%zu].", f->key, i);
        int rc = mj__read_obj(x, el, f->elem, at, NULL, a, e);
        if (rc)
            return rc;
    }
    return 0;
}

static int mj__read_value(json_t *v, void *base, const model_field *f,
                          arena_t *a, err_t *e)
{
    switch (f->type) {
    case MF_STR:
        if (!json_is_string(v))
            return err_set(e, ERR_INVALID, "%s: expected a string", f->path);
        *model_str_at(base, f) = arena_strndup(a, json_string_value(v),
                                               json_string_length(v));
        return *model_str_at(base, f) ? 0 : ERR_NOMEM;
    case MF_NUM:
        if (!json_is_number(v))
            return err_set(e, ERR_INVALID, "%s: expected a number", f->path);
        model_num_at(base, f)->v = json_number_value(v);
        model_num_at(base, f)->set = 1;
        return 0;
    case MF_STRLIST:
        return mj__read_list(v, model_strlist_at(base, f), f, a, e);
    case MF_ARRAY:
        return mj__read_array(v, base, f, a, e);
    }
    return ERR_INVALID;
}

static int mj__read_obj(json_t *o, void *base, model_obj obj,
                        const char *at, const char *group, arena_t *a,
                        err_t *e)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        int rc;
        if (!group && mj__is_group(obj, k)) {
            if (!json_is_object(v))
                return err_set(e, ERR_INVALID, "%s%s: expected an object",
                               at, k);
            rc = mj__read_obj(v, base, obj, at, k, a, e);
        } else {
            const model_field *f = mj__lookup(obj, group, k);
            if (!f)
                return err_set(e, ERR_INVALID, "%s%s%s%s: unknown key", at,
                               group ? group : "", group ? "." : "", k);
            rc = mj__read_value(v, base, f, a, e);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int model_json_read(const char *text, size_t len, arena_t *a,
                    model_record **out, err_t *e)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (!root)
        return err_set(e, ERR_SYNTAX, "json:%d:%d: error: %s", je.line,
                       je.column, je.text);
    int rc = ERR_INVALID;
    model_record *r = model_record_new(a);
    if (!r)
        rc = err_set(e, ERR_NOMEM, "json: out of memory");
    else if (!json_is_object(root))
        rc = err_set(e, ERR_INVALID, "json: record must be an object");
    else
        rc = mj__read_obj(root, r, MO_RECORD, "", NULL, a, e);
    json_decref(root);
    if (rc == 0)
        *out = r;
    return rc;
}
