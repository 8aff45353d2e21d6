/* The mapping compiler: one YAML table to the rule program the runners
 * execute. Everything that can be checked without a message is checked
 * here (keys, paths, canonical fields, code lists, validators, patterns),
 * so that a table that loads cannot fail for a reason of its own at run
 * time, and `eportctl lint` reports every problem with file:line:col. */
#include <stdio.h>
#include <string.h>

#include "map_int.h"
#include "xform.h"

typedef struct mc {
    const ydoc *d;
    const map_set *s;
    arena_t *a;
    map_problem ***tail;
    int nprob;
} mc;

__attribute__((format(printf, 3, 4)))
static int mc__bad(mc *c, const ynode *n, const char *fmt, ...)
{
    char why[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    err_t e;
    ydoc_err(c->d, n, &e, ERR_CONFIG, "%s", why);
    map_problem_add(c->tail, c->a, e.msg);
    c->nprob++;
    return ERR_CONFIG;
}

static int mc__keys(mc *c, const ynode *n, const char *const *allowed)
{
    int rc = 0;
    for (const ynode *k = n->kids; k; k = k->next) {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k->key))
            i++;
        if (!allowed[i])
            rc = mc__bad(c, k, "unknown key '%s'", k->key);
    }
    return rc;
}

static const char *mc__scalar(mc *c, const ynode *map, const char *key)
{
    const ynode *v = ydoc_get(map, key);
    if (v && v->type != YD_SCALAR) {
        mc__bad(c, v, "'%s' must be a single value", key);
        return NULL;
    }
    return v ? v->value : NULL;
}

static int mc__path(mc *c, const ynode *n, const char *text, mpath *p)
{
    char why[256];
    if (mpath_compile(text, c->a, p, why, sizeof why))
        return mc__bad(c, n, "%s", why);
    return 0;
}

static const mcodes *mc__codes(mc *c, const ynode *n, const char *name)
{
    const mcodes *k = map_set_codes(c->s, name);
    if (!k)
        mc__bad(c, n, "no code list named '%s' in codes/", name);
    return k;
}

/* ---- conditions ---- */

static int mc__cond_vals(mc *c, const ynode *v, mcond *k)
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
        return mc__bad(c, v, "expected a value or a list of values");
    k->vals = arena_alloc(c->a, (v->nkids + 1) * sizeof *k->vals);
    if (!k->vals)
        return ERR_NOMEM;
    for (const ynode *x = v->kids; x; x = x->next) {
        if (x->type != YD_SCALAR)
            return mc__bad(c, x, "expected a value");
        k->vals[k->nvals++] = x->value;
    }
    return 0;
}

static int mc__cond_one(mc *c, const ynode *n, mcond **out)
{
    static const char *const keys[] = {"path", "equals", "not", "in",
                                       "exists", "matches", NULL};
    if (n->type != YD_MAP)
        return mc__bad(c, n, "a condition is {path: P, equals|not|in|exists: ...}");
    const char *path = mc__scalar(c, n, "path");
    mcond *k = arena_zalloc(c->a, sizeof *k);
    if (!k)
        return ERR_NOMEM;
    int rc = mc__keys(c, n, keys);
    if (!path)
        return mc__bad(c, n, "condition needs 'path'");
    rc |= mc__path(c, n, path, &k->path);
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
    const char *re = mc__scalar(c, n, "matches");
    if (re) {
        k->op = MC_RE;
        k->re = arena_alloc(c->a, sizeof *k->re);
        if (!k->re || regcomp(k->re, re, REG_EXTENDED | REG_NOSUB)) {
            k->re = NULL;
            rc |= mc__bad(c, ydoc_get(n, "matches"), "bad regular expression '%s'", re);
        }
    }
    *out = k;
    return rc;
}

static int mc__cond(mc *c, const ynode *n, mcond **out)
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

static int mc__date(mc *c, const ynode *n, mrule *r)
{
    if (n->type == YD_SCALAR) {
        r->date = strcmp(n->value, "iso") == 0 ? MD_ISO : MD_EDI;
        r->date_arg = n->value;
        if (r->date == MD_EDI && !xform_edi_supported(n->value))
            return mc__bad(c, n, "date format code '%s' is not one this "
                           "engine reads (EDIFACT 2379: 102, 203, 204, ...)",
                           n->value);
        return 0;
    }
    static const char *const keys[] = {"from", "pattern", NULL};
    int rc = n->type == YD_MAP ? mc__keys(c, n, keys)
                               : mc__bad(c, n, "date is a code, 'iso', {from: PATH} or {pattern: P}");
    const char *from = mc__scalar(c, n, "from"), *pat = mc__scalar(c, n, "pattern");
    if (from) {
        r->date = MD_EDI_FROM;
        return rc | mc__path(c, n, from, &r->date_from);
    }
    if (pat) {
        err_t e;
        r->date = MD_PATTERN;
        r->date_arg = pat;
        if (xform_pattern_check(pat, &e))
            rc |= mc__bad(c, n, "%s", e.msg);
        return rc;
    }
    return rc | mc__bad(c, n, "date needs 'from' or 'pattern'");
}

static int mc__unit(mc *c, const ynode *n, mrule *r)
{
    static const char *const keys[] = {"table", "from", "code", NULL};
    if (n->type != YD_MAP)
        return mc__bad(c, n, "unit is {table: T, from: PATH} or {table: T, code: C}");
    int rc = mc__keys(c, n, keys);
    const char *t = mc__scalar(c, n, "table"), *from = mc__scalar(c, n, "from");
    r->unit_code = mc__scalar(c, n, "code");
    if (!t)
        return rc | mc__bad(c, n, "unit needs a 'table' of factors");
    if (!(r->unit_table = mc__codes(c, n, t)))
        return ERR_CONFIG;
    if (from) {
        r->has_unit_from = 1;
        rc |= mc__path(c, n, from, &r->unit_from);
    } else if (!r->unit_code) {
        rc |= mc__bad(c, n, "unit needs 'from' (where the unit code is) or 'code'");
    }
    return rc;
}

static int mc__check(mc *c, const ynode *x, mrule *r)
{
    if (r->nchecks >= MAP_MAX_CHECKS)
        return mc__bad(c, x, "at most %d checks per field", MAP_MAX_CHECKS);
    if (x->type == YD_MAP) {
        const char *pat = mc__scalar(c, x, "pattern");
        if (!pat || x->nkids != 1)
            return mc__bad(c, x, "expected {pattern: REGEX}");
        r->pattern = arena_alloc(c->a, sizeof *r->pattern);
        if (!r->pattern || regcomp(r->pattern, pat, REG_EXTENDED | REG_NOSUB))
            return mc__bad(c, x, "bad regular expression '%s'", pat);
        r->pattern_text = pat;
        return 0;
    }
    if (x->type != YD_SCALAR)
        return mc__bad(c, x, "expected a check name");
    if (strcmp(x->value, "required") == 0) {
        r->required = 1;
        return 0;
    }
    check_fn f = check_find(x->value);
    if (!f)
        return mc__bad(c, x, "unknown check '%s' (iso6346, unlocode, hs, "
                       "iso4217, country, datetime, uic_wagon, required, "
                       "{pattern: RE})", x->value);
    r->check_names[r->nchecks] = x->value;
    r->checks[r->nchecks++] = f;
    return 0;
}

static int mc__checks(mc *c, const ynode *n, mrule *r)
{
    if (n->type != YD_SEQ)
        return mc__check(c, n, r);
    int rc = 0;
    for (const ynode *x = n->kids; x; x = x->next)
        rc |= mc__check(c, x, r);
    return rc;
}

static int mc__enum(mc *c, const ynode *n, const char *v,
                    const char *const *names, int *out)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], v) == 0) {
            *out = i;
            return 0;
        }
    return mc__bad(c, n, "'%s' is not one of the allowed values", v);
}

static int mc__options(mc *c, const ynode *n, mrule *r)
{
    static const char *const unknowns[] = {"error", "keep", "drop", NULL};
    static const char *const cases[] = {"none", "upper", "lower", NULL};
    int rc = 0;
    const ynode *v;
    const char *s;
    if ((s = mc__scalar(c, n, "codes")))
        rc |= (r->codes = mc__codes(c, n, s)) ? 0 : ERR_CONFIG;
    if ((s = mc__scalar(c, n, "unknown")))
        rc |= mc__enum(c, ydoc_get(n, "unknown"), s, unknowns, &r->unknown);
    if ((s = mc__scalar(c, n, "case")))
        rc |= mc__enum(c, ydoc_get(n, "case"), s, cases, &r->kase);
    if ((s = mc__scalar(c, n, "decimal"))) {
        if (strcmp(s, ".") && strcmp(s, ","))
            rc |= mc__bad(c, ydoc_get(n, "decimal"), "decimal is '.' or ','");
        r->decimal = s[0];
    }
    if ((s = mc__scalar(c, n, "squeeze")))
        r->squeeze = strcmp(s, "true") == 0;
    if ((s = mc__scalar(c, n, "required")))
        r->required = strcmp(s, "true") == 0;
    if ((v = ydoc_get(n, "date")))
        rc |= mc__date(c, v, r);
    if ((v = ydoc_get(n, "unit")))
        rc |= mc__unit(c, v, r);
    if ((v = ydoc_get(n, "validate")))
        rc |= mc__checks(c, v, r);
    if ((v = ydoc_get(n, "when")))
        rc |= mc__cond(c, v, &r->when);
    return rc;
}

/* ---- the target of a rule ---- */

/* "document.number" at the top, "role" or "seals[]" inside parties[]. */
static int mc__target(mc *c, const ynode *n, const char *to,
                      const model_field *array, mrule *r)
{
    char path[128];
    size_t len = strlen(to);
    r->to_list = len > 2 && strcmp(to + len - 2, "[]") == 0;
    if (array)
        snprintf(path, sizeof path, "%s[].%.*s", array->path,
                 (int)(len - 2 * r->to_list), to);
    else
        snprintf(path, sizeof path, "%.*s", (int)(len - 2 * r->to_list), to);
    r->field = model_field_find(path);
    if (!r->field || r->field->type == MF_ARRAY)
        return mc__bad(c, n, "'%s' is not a canonical field%s (see docs/model.md)",
                       to, array ? " of this array" : "");
    if (r->to_list && r->field->type != MF_STRLIST)
        return mc__bad(c, n, "'%s' is not a list; drop the []", to);
    r->to_list |= r->field->type == MF_STRLIST;
    return 0;
}

static int mc__rules(mc *c, const ynode *seq, const model_field *array,
                     mrule **out, uint32_t *nout);

static int mc__each(mc *c, const ynode *n, const model_field *array, mrule *r)
{
    r->kind = MR_EACH;
    const char *to = mc__scalar(c, n, "to"), *each = mc__scalar(c, n, "each");
    int rc = mc__path(c, n, each ? each : "", &r->each);
    size_t len = to ? strlen(to) : 0;
    char name[64];
    snprintf(name, sizeof name, "%.*s", len > 2 ? (int)len - 2 : 0, to ? to : "");
    r->field = model_field_find(name);
    if (array)
        rc |= mc__bad(c, n, "'each' cannot nest inside another 'each'");
    if (!to || len < 3 || strcmp(to + len - 2, "[]") || !r->field ||
        r->field->type != MF_ARRAY)
        return rc | mc__bad(c, n, "'each' needs 'to: ARRAY[]' (parties[], "
                            "legs[], equipment[], goods[])");
    const ynode *m = ydoc_get(n, "members");
    if (m && m->type != YD_SEQ)
        rc |= mc__bad(c, m, "'members' is a list of segment tags");
    if (m && m->type == YD_SEQ) {
        r->members = arena_alloc(c->a, (m->nkids + 1) * sizeof *r->members);
        r->member_codes = arena_alloc(c->a, (m->nkids + 1) * sizeof(uint32_t));
        for (const ynode *x = m->kids; x && r->members && r->member_codes;
             x = x->next) {
            r->members[r->nmembers] = x->value ? x->value : "";
            r->member_codes[r->nmembers] = mname_code(r->members[r->nmembers]);
            r->nmembers++;
        }
        if (r->member_codes && mtagset_build(&r->member_set, r->member_codes,
                                             r->nmembers, c->a))
            rc |= mc__bad(c, m, "out of memory");
    }
    const ynode *w = ydoc_get(n, "when"), *f = ydoc_get(n, "fields");
    if (w)
        rc |= mc__cond(c, w, &r->when);
    if (!f)
        return rc | mc__bad(c, n, "'each' needs 'fields'");
    return rc | mc__rules(c, f, r->field, &r->rules, &r->nrules);
}

static int mc__rule(mc *c, const ynode *n, const model_field *array, mrule *r)
{
    static const char *const keys[] = {
        "to", "from", "value", "default", "join", "split", "codes", "unknown",
        "date", "decimal", "unit", "case", "squeeze", "required", "validate",
        "when", "each", "members", "fields", NULL};
    if (n->type != YD_MAP)
        return mc__bad(c, n, "a rule is a mapping with 'to' and 'from' or 'value'");
    r->line = n->line;
    int rc = mc__keys(c, n, keys);
    r->to_text = mc__scalar(c, n, "to");
    if (ydoc_get(n, "each"))
        return rc | mc__each(c, n, array, r);
    const char *from = mc__scalar(c, n, "from");
    r->value = mc__scalar(c, n, "value");
    r->dflt = mc__scalar(c, n, "default");
    r->join = mc__scalar(c, n, "join");
    r->split = mc__scalar(c, n, "split");
    if (!r->to_text)
        return rc | mc__bad(c, n, "rule needs 'to' (a canonical field)");
    rc |= mc__target(c, n, r->to_text, array, r);
    if (!from && !r->value)
        rc |= mc__bad(c, n, "rule needs 'from' (a source path) or 'value'");
    if (from && !(rc |= mc__path(c, n, from, &r->from)))
        r->has_from = 1;
    return rc | mc__options(c, n, r);
}

static int mc__rules(mc *c, const ynode *seq, const model_field *array,
                     mrule **out, uint32_t *nout)
{
    if (seq->type != YD_SEQ)
        return mc__bad(c, seq, "'fields' is a list of rules");
    *out = arena_zalloc(c->a, (seq->nkids + 1) * sizeof **out);
    if (!*out)
        return ERR_NOMEM;
    int rc = 0;
    for (const ynode *x = seq->kids; x; x = x->next)
        rc |= mc__rule(c, x, array, &(*out)[(*nout)++]);
    return rc;
}

/* ---- the table's head: match, codec options, output meta ---- */

static int mc__match(mc *c, const ynode *n, map_def *m)
{
    static const char *const keys[] = {"message_type", "version", "sender",
                                       "root", "namespace", "filename",
                                       "when", NULL};
    if (n->type != YD_MAP)
        return mc__bad(c, n, "'match' is a mapping of criteria");
    int rc = mc__keys(c, n, keys);
    mmatch *x = &m->match;
    x->message_type = mc__scalar(c, n, "message_type");
    x->version = mc__scalar(c, n, "version");
    x->sender = mc__scalar(c, n, "sender");
    x->root = mc__scalar(c, n, "root");
    x->ns = mc__scalar(c, n, "namespace");
    x->filename = mc__scalar(c, n, "filename");
    const ynode *w = ydoc_get(n, "when");
    if (w)
        rc |= mc__cond(c, w, &x->when);
    x->score = !!x->message_type + !!x->version + !!x->sender + !!x->root +
               !!x->ns + !!x->filename + !!x->when;
    return rc;
}

static const char *const mc__formats[] = {"edifact", "xml", "json", "csv",
                                          "fixed", NULL};
static const char *const mc__kinds[] = {"waybill", "manifest", "declaration",
                                        "response", "status", NULL};

static int mc__head(mc *c, const ynode *r, map_def *m)
{
    static const char *const keys[] = {"mapping", "description", "extends",
                                       "format", "kind", "match", "codec",
                                       "split", "out", "fields", NULL};
    int rc = mc__keys(c, r, keys), dummy;
    m->name = mc__scalar(c, r, "mapping");
    m->description = mc__scalar(c, r, "description");
    m->format = mc__scalar(c, r, "format");
    m->kind = mc__scalar(c, r, "kind");
    if (m->base) {
        m->format = m->format ? m->format : m->base->format;
        m->kind = m->kind ? m->kind : m->base->kind;
        m->copts = m->base->copts;
        m->split = m->base->split;
        m->has_split = m->base->has_split;
    }
    if (!m->name)
        rc |= mc__bad(c, r, "'mapping' (the table's name) is required");
    if (!m->format || mc__enum(c, r, m->format, mc__formats, &dummy))
        rc |= mc__bad(c, r, "'format' must be edifact, xml, json, csv or fixed");
    if (!m->kind || mc__enum(c, r, m->kind, mc__kinds, &dummy))
        rc |= mc__bad(c, r, "'kind' must be waybill, manifest, declaration, "
                      "response or status");
    m->flat = m->format && strcmp(m->format, "edifact") == 0;
    const ynode *v;
    if ((v = ydoc_get(r, "match")))
        rc |= mc__match(c, v, m);
    if ((v = ydoc_get(r, "codec")))
        rc |= map_compile_codec(c->d, v, c->a, &m->copts, c->tail);
    const char *split = mc__scalar(c, r, "split");
    if (split && !(rc |= mc__path(c, r, split, &m->split)))
        m->has_split = 1;
    const ynode *out = ydoc_get(r, "out");
    m->out_type = out ? ydoc_str(out, "message_type") : NULL;
    m->out_version = out ? ydoc_str(out, "version") : NULL;
    m->out_agency = out ? ydoc_str(out, "agency") : NULL;
    return rc;
}

/* A derived table runs its base's rules, in the base's order, with each
 * rule replaced by the derived one that targets the same field or array
 * (so a variant states only what differs); its other rules follow. */
static int mc__inherit(mc *c, map_def *m)
{
    const map_def *b = m->base;
    mrule *all = arena_zalloc(c->a, (b->nrules + m->nrules) * sizeof *all);
    if (!all)
        return ERR_NOMEM;
    uint32_t n = 0;
    char *used = arena_zalloc(c->a, m->nrules + 1);
    for (uint32_t i = 0; i < b->nrules; i++) {
        all[n] = b->rules[i];
        for (uint32_t j = 0; j < m->nrules; j++)
            if (!used[j] && m->rules[j].field == b->rules[i].field &&
                m->rules[j].kind == b->rules[i].kind) {
                all[n] = m->rules[j];
                used[j] = 1;
                break;
            }
        n++;
    }
    for (uint32_t j = 0; j < m->nrules; j++)
        if (!used[j])
            all[n++] = m->rules[j];
    m->rules = all;
    m->nrules = n;
    return 0;
}

int map_compile(const ydoc *d, const map_set *s, arena_t *a, map_def **out,
                map_problem ***tail)
{
    mc c = {d, s, a, tail, 0};
    const ynode *r = d->root;
    if (!r || r->type != YD_MAP)
        return mc__bad(&c, r, "a mapping table is a YAML mapping");
    map_def *m = arena_zalloc(a, sizeof *m);
    if (!m)
        return ERR_NOMEM;
    m->file = d->file;
    const char *ext = mc__scalar(&c, r, "extends");
    if (ext && !(m->base = map_set_find(s, ext)))
        return mc__bad(&c, ydoc_get(r, "extends"), "extends '%s': no such "
                       "table, or it did not compile", ext);
    int rc = mc__head(&c, r, m);
    const ynode *f = ydoc_get(r, "fields");
    if (!f && !m->base)
        rc |= mc__bad(&c, r, "'fields' (the rules) is required");
    else if (f)
        rc |= mc__rules(&c, f, NULL, &m->rules, &m->nrules);
    m->own = m->rules;
    m->nown = m->nrules;
    if (!rc && m->base)
        rc = mc__inherit(&c, m);
    *out = m;
    return (rc || c.nprob) ? ERR_CONFIG : 0;
}

static void mc__release_conds(mcond *k)
{
    for (; k; k = k->next)
        if (k->re)
            regfree(k->re);
}

static void mc__release(mrule *rules, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (rules[i].pattern)
            regfree(rules[i].pattern);
        mc__release_conds(rules[i].when);
        mc__release(rules[i].rules, rules[i].nrules);
    }
}

void map_def_release(map_def *d)
{
    mc__release(d->own, d->nown);
    mc__release_conds(d->match.when);
}
