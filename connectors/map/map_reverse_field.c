/* The reverse runner's value writers (map_reverse_int.h): one rule's
 * canonical value written at its path, its transforms undone (code list,
 * date, unit, decimal mark, split and join), its `when` written too so
 * that the message reads the same, and a constant rule's constant. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_reverse_int.h"
#include "xform.h"

static int mv__mark(mwritten *w, const model_field *f)
{
    size_t i = (size_t)(f - model_fields);
    uint64_t bit = 1ull << (i % 64);
    if (w->bits[i / 64] & bit)
        return 1;
    w->bits[i / 64] |= bit;
    return 0;
}

/* flags: TN_NUM or TN_BOOL, which only JSON writes differently. */
static int mv__set(mrev *v, tnode *leaf, const char *text, int flags)
{
    if (!leaf->value && leaf->kids && v->d->flat)
        leaf = leaf->kids; /* a whole EDIFACT element: its first component */
    leaf->value = arena_strdup(v->a, text);
    leaf->vlen = (uint32_t)strlen(text);
    if (v->json)
        leaf->flags |= flags;
    return leaf->value ? 0 : err_set(v->e, ERR_NOMEM, "out of memory");
}

#define MV_COMPONENT 35 /* an..35: names, streets (C080, C059) */

/* Where the next component of text ends: at a separator, packing words up
 * to MV_COMPONENT characters when the separator is a space (a name that
 * was split over components only for length), else at every separator
 * (PCI marks, one per line). */
/* Characters (not bytes) in p[0..n): an..35 counts characters. */
static size_t mv__chars(const char *p, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)p[i] & 0xC0) != 0x80;
    return c;
}

static size_t mv__part(const char *p, const char *sep)
{
    size_t sl = strlen(sep), n = strlen(p);
    if (!sl)
        return n;
    const char *q = strstr(p, sep);
    if (strcmp(sep, " ") != 0 || !q)
        return q ? (size_t)(q - p) : n;
    size_t best = (size_t)(q - p);
    while (q && mv__chars(p, (size_t)(q - p)) <= MV_COMPONENT) {
        best = (size_t)(q - p);
        q = strstr(q + sl, sep);
    }
    return mv__chars(p, n) <= MV_COMPONENT ? n : best;
}

/* The inverse of `join` over an EDIFACT element: the joined text goes back
 * over the element's components. */
static int mv__unjoin(mrev *v, tnode *el, const char *text, const char *sep)
{
    size_t sl = strlen(sep);
    tnode *c = el->kids;
    for (const char *p = text;;) {
        size_t n = mv__part(p, sep);
        if (!c && !(c = tree_add_new(v->a, el, "", "")))
            return err_set(v->e, ERR_NOMEM, "out of memory");
        c->value = arena_strndup(v->a, p, n);
        c->vlen = (uint32_t)n;
        if (!c->value)
            return err_set(v->e, ERR_NOMEM, "out of memory");
        if (!p[n])
            return 0;
        p += n + sl;
        c = c->next;
    }
}

static int mv__write(mrev *v, const mpath *p, mscope *s, const char *text,
                     int fresh, int num)
{
    tnode *made = NULL, *leaf = mpath_make(p, s, v->a, fresh, &made);
    if (!leaf)
        return err_set(v->e, ERR_NOMEM, "out of memory");
    if (v->join && v->d->flat && !leaf->value && leaf->kids)
        return mv__unjoin(v, leaf, text, v->join);
    return mv__set(v, leaf, text, num);
}

/* ---- undoing transforms ---- */

static int mv__date(mrev *v, const mrule *ru, mscope *s, const char *iso,
                    char *out, size_t n)
{
    const char *used = NULL;
    char local[XFORM_ISO_MAX];
    /* the sender's clock: a time with another offset is the same instant
     * in its zone, since most formats keep only the local digits */
    if (v->d->has_zone) {
        if (xform_zone_convert(iso, v->d->zone_min, local, sizeof local, v->e))
            return v->e->code;
        iso = local;
    }
    if (ru->date == MD_PATTERN)
        return xform_iso_to_pattern(ru->date_arg, iso, out, n, v->e);
    if (ru->date == MD_ISO)
        return snprintf(out, n, "%s", iso) < 0;
    const char *code = ru->date == MD_EDI ? ru->date_arg : NULL;
    int rc = xform_iso_to_edi(iso, code, out, n, &used, v->e);
    if (!rc && ru->date == MD_EDI_FROM && used)
        rc = mv__write(v, &ru->date_from, s, used, 0, 0);
    return rc;
}

static int mv__text(mrev *v, const mrule *ru, mscope *s, const char *in,
                    char *out, size_t n)
{
    if (ru->codes) {
        const char *k = mcodes_key_of(ru->codes, in);
        if (!k && ru->unknown == MU_ERROR)
            return err_set(v->e, ERR_CODE, "%s: no local code for '%s' in "
                           "code list %s", ru->to_text, in,
                           mcodes_name(ru->codes));
        in = k ? k : in;
    }
    if (ru->date)
        return mv__date(v, ru, s, in, out, n);
    snprintf(out, n, "%s", in);
    return 0;
}

static int mv__number(mrev *v, const mrule *ru, mscope *s, double x,
                      char *out, size_t n)
{
    if (ru->unit_table) {
        const char *code = ru->unit_code;
        if (ru->has_unit_from)
            code = mcodes_key_of(ru->unit_table, "1"); /* the base unit */
        double f;
        if (mcodes_factor(ru->unit_table, code, &f) || f == 0)
            return err_set(v->e, ERR_CODE, "%s: unit table %s has no base "
                           "unit (factor 1)", ru->to_text,
                           mcodes_name(ru->unit_table));
        x /= f;
        if (ru->has_unit_from) {
            int rc = mv__write(v, &ru->unit_from, s, code, 0, 0);
            if (rc)
                return rc;
        }
    }
    if (xform_number_text(x, ru->decimal ? ru->decimal : '.', out, n))
        return err_set(v->e, ERR_INVALID, "%s: %g cannot be written as a "
                       "decimal number", ru->to_text, x);
    return 0;
}

/* ---- rules ---- */

static int mv__same_text(void *ctx, const mhit *h)
{
    return strcmp(mhit_text(h), ctx) == 0;
}

/* Whether a list item is already at its path in a tree format: a CSV row
 * whose container number fills both equipment[].number and the goods'
 * equipment_refs[] has one container_no cell, not two. EDIFACT lists are
 * segments (SEL per seal) and always written. */
static int mv__already(const mrev *v, const mpath *p, const mscope *s,
                       const char *text)
{
    return !v->d->flat && mpath_each(p, s, mv__same_text, (void *)text) == 1;
}

static int mv__list(mrev *v, const mrule *ru, mscope *s,
                    const model_strlist *l)
{
    char text[MAP_VALUE_MAX / 16];
    int rc = 0;
    if (ru->split) {
        buf_t b;
        buf_init(&b, MAP_VALUE_MAX);
        for (uint32_t i = 0; i < l->n; i++)
            buf_printf(&b, "%s%s", i ? ru->split : "", l->v[i]);
        rc = l->n ? mv__write(v, &ru->from, s, b.p, 0, 0) : 0;
        buf_free(&b);
        return rc;
    }
    for (uint32_t i = 0; i < l->n && !rc; i++)
        if (!(rc = mv__text(v, ru, s, l->v[i], text, sizeof text)) &&
            !mv__already(v, &ru->from, s, text))
            rc = mv__write(v, &ru->from, s, text, 1, 0);
    return rc;
}

/* A rule {from: P, value: V} read "V when P is present"; written back, a
 * record holding V gets P made (with its qualifiers), so mandatory
 * structure such as a CNI group or a status segment comes back. */
static int mv__flag(mrev *v, const mrule *ru, mscope *s, const void *base,
                    mwritten *w)
{
    const char *x = ru->field->type == MF_STR
                        ? *model_str_at((void *)base, ru->field) : NULL;
    if (!x || strcmp(x, ru->value) != 0 || mv__mark(w, ru->field))
        return 0;
    tnode *made = NULL;
    if (!mpath_make(&ru->from, s, v->a, 0, &made))
        return err_set(v->e, ERR_NOMEM, "out of memory");
    return 0;
}

/* A rule read only `when` a condition held: what the record holds came
 * with it, so writing the value back makes the condition hold too, or the
 * message would not read the same. `equals` and `in` (its first value)
 * are written where the path has no value yet (a later rule that writes
 * there still wins); `exists: true` makes the node. `not`, `exists:
 * false` and `matches` name no value to write: left alone. */
static int mv__when(mrev *v, const mcond *c, mscope *s)
{
    for (; c; c = c->next) {
        if (c->op != MC_EQ && c->op != MC_IN && c->op != MC_EXISTS)
            continue;
        tnode *made = NULL, *leaf = mpath_make(&c->path, s, v->a, 0, &made);
        if (!leaf)
            return err_set(v->e, ERR_NOMEM, "out of memory");
        const tnode *t = !leaf->value && leaf->kids && v->d->flat
                             ? leaf->kids : leaf; /* what mv__set fills */
        if (c->op == MC_EXISTS || (t->value && t->vlen) || !c->nvals ||
            (!v->d->flat && leaf->kids))
            continue;
        if (mv__set(v, leaf, c->vals[0], 0))
            return v->e->code;
    }
    return 0;
}

/* Whether text is a JSON number ("-12.5e3"): what a bare `const` writes
 * unquoted in JSON. */
static int mv__json_number(const char *p)
{
    p += *p == '-';
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        p += strspn(p, "0123456789");
    else
        return 0;
    if (*p == '.' && p[1] >= '0' && p[1] <= '9')
        p += 1 + strspn(p + 1, "0123456789");
    if (*p == 'e' || *p == 'E') {
        p += 1 + (p[1] == '+' || p[1] == '-');
        if (*p < '0' || *p > '9')
            return 0;
        p += strspn(p, "0123456789");
    }
    return !*p;
}

/* How a field rule's text goes into JSON: a number field as a number; with
 * `bare: true`, true/false as a boolean and a number's text as a number
 * (DCSA's isShipperOwned through a code list); else a string. */
static int mv__flags(const mrule *ru, const char *text)
{
    if (ru->field->type == MF_NUM)
        return TN_NUM;
    if (ru->bare && (!strcmp(text, "true") || !strcmp(text, "false")))
        return TN_BOOL;
    return ru->bare && mv__json_number(text) ? TN_NUM : 0;
}

int mrv_field(mrev *v, const mrule *ru, mscope *s, const void *base,
                     mwritten *w)
{
    char text[MAP_VALUE_MAX / 16];
    void *b = (void *)base;
    if (!ru->has_from || ru->from.kind != MP_TREE)
        return 0; /* constants and #index have no place to go back to */
    if (v->dry)
        return mv__mark(w, ru->field), 0;
    if (ru->value) /* "set when from is there": put it there if it holds */
        return mv__flag(v, ru, s, base, w);
    if (mv__mark(w, ru->field))
        return 0;
    int rc = 0;
    if (ru->field->type == MF_STRLIST)
        return mv__list(v, ru, s, model_strlist_at(b, ru->field));
    if (ru->field->type == MF_NUM) {
        model_num *x = model_num_at(b, ru->field);
        if (!x->set)
            return 0;
        rc = mv__number(v, ru, s, x->v, text, sizeof text);
    } else {
        const char *x = *model_str_at(b, ru->field);
        if (!x)
            return 0;
        rc = mv__text(v, ru, s, x, text, sizeof text);
    }
    v->join = ru->join;
    rc = rc ? rc : mv__write(v, &ru->from, s, text, 0, mv__flags(ru, text));
    if (!rc && ru->when)
        rc = mv__when(v, ru->when, s);
    v->join = NULL;
    return rc;
}

/* {from: P, const: V}: V at P, whatever the record holds (a format's
 * fixed values: a message type, a version, a JSON event type). In JSON an
 * unquoted true/false or number is written bare. */
int mrv_const(mrev *v, const mrule *ru, mscope *s)
{
    if (v->dry)
        return 0;
    tnode *made = NULL, *leaf = mpath_make(&ru->from, s, v->a, 0, &made);
    if (!leaf || mv__set(v, leaf, ru->cval, 0))
        return err_set(v->e, ERR_NOMEM, "out of memory");
    if (v->json && ru->cplain && (!strcmp(ru->cval, "true") ||
                                  !strcmp(ru->cval, "false")))
        leaf->flags |= TN_BOOL;
    else if (v->json && ru->cplain && mv__json_number(ru->cval))
        leaf->flags |= TN_NUM;
    return 0;
}
