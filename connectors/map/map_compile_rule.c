/* The mapping compiler's rule options: conditions (`when`), dates, units,
 * checks, enumerations; the table and its rules are map_compile.c. */
#include <stdio.h>
#include <string.h>

#include "map_compile_int.h"
#include "xform.h"

/* ---- conditions ---- */

static int mc__cond_vals(mcomp *c, const ynode *v, mcond *k)
{
    if (v->type == YD_SCALAR) {
        k->vals = arena_alloc(c->a, sizeof *k->vals);
        if (!k->vals)
            return ERR_NOMEM;
        k->vals[0] = v->value;
        k->nvals = 1;
        return 0;
    }
    if (v->type != YD_SEQ)
        return mcomp_bad(c, v, "expected a value or a list of values");
    k->vals = arena_alloc(c->a, (v->nkids + 1) * sizeof *k->vals);
    if (!k->vals)
        return ERR_NOMEM;
    for (const ynode *x = v->kids; x; x = x->next) {
        if (x->type != YD_SCALAR)
            return mcomp_bad(c, x, "expected a value");
        k->vals[k->nvals++] = x->value;
    }
    return 0;
}

static int mc__cond_one(mcomp *c, const ynode *n, mcond **out)
{
    static const char *const keys[] = {"path", "equals", "not", "in",
                                       "exists", "matches", NULL};
    if (n->type != YD_MAP)
        return mcomp_bad(c, n, "a condition is {path: P, equals|not|in|exists: ...}");
    const char *path = mcomp_scalar(c, n, "path");
    mcond *k = arena_zalloc(c->a, sizeof *k);
    if (!k)
        return ERR_NOMEM;
    int rc = mcomp_keys(c, n, keys);
    if (!path)
        return mcomp_bad(c, n, "condition needs 'path'");
    rc |= mcomp_path(c, n, path, &k->path);
    static const struct { const char *key; int op; } ops[] = {
        {"equals", MC_EQ}, {"not", MC_NE}, {"in", MC_IN}};
    k->op = MC_EXISTS;
    for (size_t i = 0; i < 3; i++) {
        const ynode *v = ydoc_get(n, ops[i].key);
        if (v) {
            k->op = ops[i].op;
            rc |= mc__cond_vals(c, v, k);
        }
    }
    const ynode *ex = ydoc_get(n, "exists");
    if (ex && ex->value && strcmp(ex->value, "false") == 0)
        k->op = MC_ABSENT;
    const char *re = mcomp_scalar(c, n, "matches");
    if (re) {
        k->op = MC_RE;
        k->re = arena_alloc(c->a, sizeof *k->re);
        if (!k->re || regcomp(k->re, re, REG_EXTENDED | REG_NOSUB)) {
            k->re = NULL;
            rc |= mcomp_bad(c, ydoc_get(n, "matches"), "bad regular expression '%s'", re);
        }
    }
    *out = k;
    return rc;
}

int mcomp_cond(mcomp *c, const ynode *n, mcond **out)
{
    if (n->type != YD_SEQ)
        return mc__cond_one(c, n, out);
    int rc = 0;
    mcond **p = out;
    for (const ynode *x = n->kids; x; x = x->next)
        if (!(rc |= mc__cond_one(c, x, p)))
            p = &(*p)->next;
    return rc;
}

/* ---- transforms and checks of a field rule ---- */

static int mc__date(mcomp *c, const ynode *n, mrule *r)
{
    if (n->type == YD_SCALAR) {
        r->date = strcmp(n->value, "iso") == 0 ? MD_ISO : MD_EDI;
        r->date_arg = n->value;
        if (r->date == MD_EDI && !xform_edi_supported(n->value))
            return mcomp_bad(c, n, "date format code '%s' is not one this "
                           "engine reads (EDIFACT 2379: 102, 203, 204, ...)",
                           n->value);
        return 0;
    }
    static const char *const keys[] = {"from", "pattern", NULL};
    int rc = n->type == YD_MAP ? mcomp_keys(c, n, keys)
                               : mcomp_bad(c, n, "date is a code, 'iso', {from: PATH} or {pattern: P}");
    const char *from = mcomp_scalar(c, n, "from"), *pat = mcomp_scalar(c, n, "pattern");
    if (from) {
        r->date = MD_EDI_FROM;
        return rc | mcomp_path(c, n, from, &r->date_from);
    }
    if (pat) {
        err_t e;
        r->date = MD_PATTERN;
        r->date_arg = pat;
        if (xform_pattern_check(pat, &e))
            rc |= mcomp_bad(c, n, "%s", e.msg);
        return rc;
    }
    return rc | mcomp_bad(c, n, "date needs 'from' or 'pattern'");
}

static int mc__unit(mcomp *c, const ynode *n, mrule *r)
{
    static const char *const keys[] = {"table", "from", "code", NULL};
    if (n->type != YD_MAP)
        return mcomp_bad(c, n, "unit is {table: T, from: PATH} or {table: T, code: C}");
    int rc = mcomp_keys(c, n, keys);
    const char *t = mcomp_scalar(c, n, "table"), *from = mcomp_scalar(c, n, "from");
    r->unit_code = mcomp_scalar(c, n, "code");
    if (!t)
        return rc | mcomp_bad(c, n, "unit needs a 'table' of factors");
    if (!(r->unit_table = mcomp_codes(c, n, t)))
        return ERR_CONFIG;
    if (from) {
        r->has_unit_from = 1;
        rc |= mcomp_path(c, n, from, &r->unit_from);
    } else if (!r->unit_code) {
        rc |= mcomp_bad(c, n, "unit needs 'from' (where the unit code is) or 'code'");
    }
    return rc;
}

static int mc__check(mcomp *c, const ynode *x, mrule *r)
{
    if (r->nchecks >= MAP_MAX_CHECKS)
        return mcomp_bad(c, x, "at most %d checks per field", MAP_MAX_CHECKS);
    if (x->type == YD_MAP) {
        const char *pat = mcomp_scalar(c, x, "pattern");
        if (!pat || x->nkids != 1)
            return mcomp_bad(c, x, "expected {pattern: REGEX}");
        r->pattern = arena_alloc(c->a, sizeof *r->pattern);
        if (!r->pattern || regcomp(r->pattern, pat, REG_EXTENDED | REG_NOSUB))
            return mcomp_bad(c, x, "bad regular expression '%s'", pat);
        r->pattern_text = pat;
        return 0;
    }
    if (x->type != YD_SCALAR)
        return mcomp_bad(c, x, "expected a check name");
    if (strcmp(x->value, "required") == 0) {
        r->required = 1;
        return 0;
    }
    check_fn f = check_find(x->value);
    if (!f)
        return mcomp_bad(c, x, "unknown check '%s' (iso6346, unlocode, hs, "
                       "iso4217, country, datetime, uic_wagon, required, "
                       "{pattern: RE})", x->value);
    r->check_names[r->nchecks] = x->value;
    r->checks[r->nchecks++] = f;
    return 0;
}

static int mc__checks(mcomp *c, const ynode *n, mrule *r)
{
    if (n->type != YD_SEQ)
        return mc__check(c, n, r);
    int rc = 0;
    for (const ynode *x = n->kids; x; x = x->next)
        rc |= mc__check(c, x, r);
    return rc;
}

int mcomp_enum(mcomp *c, const ynode *n, const char *v,
               const char *const *names, int *out)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], v) == 0) {
            *out = i;
            return 0;
        }
    return mcomp_bad(c, n, "'%s' is not one of the allowed values", v);
}

int mcomp_options(mcomp *c, const ynode *n, mrule *r)
{
    static const char *const unknowns[] = {"error", "keep", "drop", NULL};
    static const char *const cases[] = {"none", "upper", "lower", NULL};
    int rc = 0;
    const ynode *v;
    const char *s;
    if ((s = mcomp_scalar(c, n, "codes")))
        rc |= (r->codes = mcomp_codes(c, n, s)) ? 0 : ERR_CONFIG;
    if ((s = mcomp_scalar(c, n, "unknown")))
        rc |= mcomp_enum(c, ydoc_get(n, "unknown"), s, unknowns, &r->unknown);
    if ((s = mcomp_scalar(c, n, "case")))
        rc |= mcomp_enum(c, ydoc_get(n, "case"), s, cases, &r->kase);
    if ((s = mcomp_scalar(c, n, "decimal"))) {
        if (strcmp(s, ".") && strcmp(s, ","))
            rc |= mcomp_bad(c, ydoc_get(n, "decimal"), "decimal is '.' or ','");
        r->decimal = s[0];
    }
    if ((s = mcomp_scalar(c, n, "squeeze")))
        r->squeeze = strcmp(s, "true") == 0;
    if ((s = mcomp_scalar(c, n, "required")))
        r->required = strcmp(s, "true") == 0;
    if ((s = mcomp_scalar(c, n, "bare")))
        r->bare = strcmp(s, "true") == 0;
    if ((s = mcomp_scalar(c, n, "sum")))
        r->sum = strcmp(s, "true") == 0;
    if ((v = ydoc_get(n, "date")))
        rc |= mc__date(c, v, r);
    if ((v = ydoc_get(n, "unit")))
        rc |= mc__unit(c, v, r);
    if ((v = ydoc_get(n, "validate")))
        rc |= mc__checks(c, v, r);
    if ((v = ydoc_get(n, "when")))
        rc |= mcomp_cond(c, v, &r->when);
    return rc;
}
