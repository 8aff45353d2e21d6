#include "model_json.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ---- */

typedef struct {
    buf_t *out;
    int need_comma; /* a value was written at this level */
} mj__w;

static int mj__sep(mj__w *w)
{
    int rc = w->need_comma ? buf_addc(w->out, ',') : 0;
    w->need_comma = 1;
    return rc;
}

/* 1 for bytes a JSON string cannot hold as they are (and for the NUL that
 * ends ours): one table load per byte in the loop every value goes through. */
static const unsigned char mj__esc[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ['\\'] = 1,
};

static int mj__escape(buf_t *out, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    if (c == '"' || c == '\\') {
        char two[2] = {'\\', (char)c};
        return buf_add(out, two, 2);
    }
    return c == '\n' ? buf_add(out, "\\n", 2) : buf_add(out, esc, 6);
}

/* RFC 8259 string escaping; UTF-8 passes through unchanged. */
static int mj__string(buf_t *out, const char *s)
{
    int rc = buf_addc(out, '"');
    for (;;) {
        const char *run = s;
        while (!mj__esc[(unsigned char)*s])
            s++;
        if (!rc && s > run)
            rc = buf_add(out, run, (size_t)(s - run));
        if (rc || !*s)
            break;
        rc = mj__escape(out, (unsigned char)*s++);
    }
    return rc ? rc : buf_addc(out, '"');
}

/* A map or array opens where a value goes (after a comma when one is
 * due) and starts its own level; closing it completes that value. */
static int mj__open(mj__w *w, char c)
{
    int rc = mj__sep(w);
    w->need_comma = 0;
    return rc ? rc : buf_addc(w->out, c);
}

static int mj__close(mj__w *w, char c)
{
    w->need_comma = 1;
    return buf_addc(w->out, c);
}

static int mj__map_begin(void *ctx, uint32_t n)
{
    (void)n;
    return mj__open(ctx, '{');
}

static int mj__map_end(void *ctx)
{
    return mj__close(ctx, '}');
}

static int mj__array_begin(void *ctx, uint32_t n)
{
    (void)n;
    return mj__open(ctx, '[');
}

static int mj__array_end(void *ctx)
{
    return mj__close(ctx, ']');
}

/* Keys are the model's own field names (ASCII identifiers, never needing
 * escapes), so `,"key":` goes out in one piece. */
static int mj__key(void *ctx, const char *k)
{
    mj__w *w = ctx;
    char tmp[64];
    size_t n = strlen(k), at = 0;
    if (n + 4 > sizeof tmp) { /* cannot happen for model keys; stay safe */
        int rc = mj__sep(w);
        rc = rc ? rc : mj__string(w->out, k);
        w->need_comma = 0;
        return rc ? rc : buf_addc(w->out, ':');
    }
    if (w->need_comma)
        tmp[at++] = ',';
    tmp[at++] = '"';
    memcpy(tmp + at, k, n);
    at += n;
    tmp[at++] = '"';
    tmp[at++] = ':';
    w->need_comma = 0; /* the value follows the colon, no comma */
    return buf_add(w->out, tmp, at);
}

static int mj__str(void *ctx, const char *s)
{
    mj__w *w = ctx;
    int rc = mj__sep(w);
    return rc ? rc : mj__string(w->out, s);
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

static int mj__num(void *ctx, double v)
{
    mj__w *w = ctx;
    int rc = mj__sep(w);
    if (rc)
        return rc;
    if (!isfinite(v))
        return ERR_INVALID;
    char fast[40];
    size_t n = mj__short_decimal(v, fast);
    if (n)
        return buf_add(w->out, fast, n);
    /* 15 digits read best and hide arithmetic noise (0.1 + 0.2 -> 0.3);
     * when they do not read back within model_equal's tolerance (large
     * values with decimals; DBL_MAX even overflows to inf) use 17, which
     * always give v back exactly */
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.15g", v);
    if (!(fabs(strtod(tmp, NULL) - v) < 1e-9))
        snprintf(tmp, sizeof tmp, "%.17g", v);
    return buf_adds(w->out, tmp);
}

static const model_emitter mj__emitter = {
    mj__map_begin, mj__map_end, mj__array_begin, mj__array_end,
    mj__key,       mj__str,     mj__num, 0,
};

int model_json_write(const model_record *r, buf_t *out, err_t *e)
{
    mj__w w = {out, 0};
    int rc = model_emit(r, &mj__emitter, &w);
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
