/* The mapping compiler: one YAML table to the rule program the runners
 * execute. Everything that can be checked without a message is checked
 * here (keys, paths, canonical fields, code lists, validators, patterns),
 * so that a table that loads cannot fail for a reason of its own at run
 * time, and `eportctl lint` reports every problem with file:line:col. */
#include <stdio.h>
#include <string.h>

#include "map_compile_int.h"
#include "xform.h"

int mcomp_bad(mcomp *c, const ynode *n, const char *fmt, ...)
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

int mcomp_keys(mcomp *c, const ynode *n, const char *const *allowed)
{
    int rc = 0;
    for (const ynode *k = n->kids; k; k = k->next) {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k->key))
            i++;
        if (!allowed[i])
            rc = mcomp_bad(c, k, "unknown key '%s'", k->key);
    }
    return rc;
}

const char *mcomp_scalar(mcomp *c, const ynode *map, const char *key)
{
    const ynode *v = ydoc_get(map, key);
    if (v && v->type != YD_SCALAR) {
        mcomp_bad(c, v, "'%s' must be a single value", key);
        return NULL;
    }
    return v ? v->value : NULL;
}

int mcomp_path(mcomp *c, const ynode *n, const char *text, mpath *p)
{
    char why[256];
    if (mpath_compile(text, c->a, p, why, sizeof why))
        return mcomp_bad(c, n, "%s", why);
    return 0;
}

const mcodes *mcomp_codes(mcomp *c, const ynode *n, const char *name)
{
    const mcodes *k = map_set_codes(c->s, name);
    if (!k)
        mcomp_bad(c, n, "no code list named '%s' in codes/", name);
    return k;
}

/* ---- the target of a rule ---- */

/* "document.number" at the top, "role" or "seals[]" inside parties[]. */
static int mc__target(mcomp *c, const ynode *n, const char *to,
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
    if (r->field && !array && strcmp(r->field->path, "warnings") == 0)
        return mcomp_bad(c, n, "'warnings' is written by the translation "
                         "(see 'strictness'), not by rules");
    if (!r->field || r->field->type == MF_ARRAY)
        return mcomp_bad(c, n, "'%s' is not a canonical field%s (see docs/model.md)",
                       to, array ? " of this array" : "");
    if (r->to_list && r->field->type != MF_STRLIST)
        return mcomp_bad(c, n, "'%s' is not a list; drop the []", to);
    r->to_list |= r->field->type == MF_STRLIST;
    return 0;
}

static int mc__rules(mcomp *c, const ynode *seq, const model_field *array,
                     mrule **out, uint32_t *nout);

static int mc__each(mcomp *c, const ynode *n, const model_field *array, mrule *r)
{
    r->kind = MR_EACH;
    const char *to = mcomp_scalar(c, n, "to"), *each = mcomp_scalar(c, n, "each");
    int rc = mcomp_path(c, n, each ? each : "", &r->each);
    size_t len = to ? strlen(to) : 0;
    char name[64];
    snprintf(name, sizeof name, "%.*s", len > 2 ? (int)len - 2 : 0, to ? to : "");
    r->field = model_field_find(name);
    if (array)
        rc |= mcomp_bad(c, n, "'each' cannot nest inside another 'each'");
    if (!to || len < 3 || strcmp(to + len - 2, "[]") || !r->field ||
        r->field->type != MF_ARRAY)
        return rc | mcomp_bad(c, n, "'each' needs 'to: ARRAY[]' (parties[], "
                            "legs[], equipment[], goods[])");
    const ynode *m = ydoc_get(n, "members");
    if (m && m->type != YD_SEQ)
        rc |= mcomp_bad(c, m, "'members' is a list of segment tags");
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
            rc |= mcomp_bad(c, m, "out of memory");
    }
    const ynode *w = ydoc_get(n, "when"), *f = ydoc_get(n, "fields");
    if (w)
        rc |= mcomp_cond(c, w, &r->when);
    if (!f)
        return rc | mcomp_bad(c, n, "'each' needs 'fields'");
    return rc | mc__rules(c, f, r->field, &r->rules, &r->nrules);
}

static const char *const mc__rule_keys[] = {
    "to", "from", "value", "default", "join", "split", "codes", "unknown",
    "date", "decimal", "unit", "case", "squeeze", "required", "validate",
    "when", "each", "members", "fields", "const", "bare", "sum", NULL};

static int mc__rule_key(const char *k)
{
    for (size_t i = 0; mc__rule_keys[i]; i++)
        if (strcmp(mc__rule_keys[i], k) == 0)
            return 1;
    return 0;
}

/* {from: P, const: V}: V written at P in the reverse direction, nothing
 * read (docs/mapping-language.md, "The reverse direction"). It takes no
 * other key: it sets no field, so nothing transforms or tests a value. */
static int mc__const(mcomp *c, const ynode *n, mrule *r)
{
    int rc = 0;
    r->kind = MR_CONST;
    for (const ynode *k = n->kids; k; k = k->next) {
        if (strcmp(k->key, "to") == 0)
            rc |= mcomp_bad(c, k, "a 'const' rule sets no canonical field: "
                            "drop 'to' ('value' sets a field to a constant)");
        else if (strcmp(k->key, "from") && strcmp(k->key, "const") &&
                 mc__rule_key(k->key)) /* others: unknown, said already */
            rc |= mcomp_bad(c, k, "'%s' does not go with 'const' (a 'const' "
                            "rule takes only 'from')", k->key);
    }
    const ynode *v = ydoc_get(n, "const");
    r->cval = mcomp_scalar(c, n, "const");
    r->cplain = v->type == YD_SCALAR && !v->quoted;
    r->to_text = "const";
    if (v->type == YD_SCALAR && (!r->cval || !r->cval[0]))
        rc |= mcomp_bad(c, v, "'const' needs a value to write");
    const char *from = mcomp_scalar(c, n, "from");
    if (!from)
        return rc | mcomp_bad(c, n, "a 'const' rule needs 'from' (the path "
                              "the constant is written at)");
    if ((rc |= mcomp_path(c, n, from, &r->from)))
        return rc;
    r->has_from = 1;
    if (r->from.kind != MP_TREE)
        rc |= mcomp_bad(c, ydoc_get(n, "from"), "'const' is written at a "
                        "path in the message, not at '%s'", from);
    return rc;
}

static int mc__rule(mcomp *c, const ynode *n, const model_field *array, mrule *r)
{
    const char *const *keys = mc__rule_keys;
    if (n->type != YD_MAP)
        return mcomp_bad(c, n, "a rule is a mapping with 'to' and 'from' or 'value'");
    r->line = n->line;
    int rc = mcomp_keys(c, n, keys);
    r->to_text = mcomp_scalar(c, n, "to");
    if (ydoc_get(n, "const"))
        return rc | mc__const(c, n, r);
    if (ydoc_get(n, "each"))
        return rc | mc__each(c, n, array, r);
    const char *from = mcomp_scalar(c, n, "from");
    r->value = mcomp_scalar(c, n, "value");
    r->dflt = mcomp_scalar(c, n, "default");
    r->join = mcomp_scalar(c, n, "join");
    r->split = mcomp_scalar(c, n, "split");
    if (!r->to_text)
        return rc | mcomp_bad(c, n, "rule needs 'to' (a canonical field)");
    rc |= mc__target(c, n, r->to_text, array, r);
    if (!from && !r->value)
        rc |= mcomp_bad(c, n, "rule needs 'from' (a source path) or 'value'");
    if (from && !(rc |= mcomp_path(c, n, from, &r->from)))
        r->has_from = 1;
    rc |= mcomp_options(c, n, r);
    if (r->sum && (!r->field || r->field->type != MF_NUM))
        rc |= mcomp_bad(c, ydoc_get(n, "sum"), "'sum' adds numbers: '%s' "
                        "is not a number field", r->to_text);
    return rc;
}

static int mc__rules(mcomp *c, const ynode *seq, const model_field *array,
                     mrule **out, uint32_t *nout)
{
    if (seq->type != YD_SEQ)
        return mcomp_bad(c, seq, "'fields' is a list of rules");
    *out = arena_zalloc(c->a, (seq->nkids + 1) * sizeof **out);
    if (!*out)
        return ERR_NOMEM;
    int rc = 0;
    for (const ynode *x = seq->kids; x; x = x->next)
        rc |= mc__rule(c, x, array, &(*out)[(*nout)++]);
    return rc;
}

/* ---- the table's head: match, codec options, output meta ---- */

static int mc__match(mcomp *c, const ynode *n, map_def *m)
{
    static const char *const keys[] = {"message_type", "version", "sender",
                                       "root", "namespace", "filename",
                                       "when", NULL};
    if (n->type != YD_MAP)
        return mcomp_bad(c, n, "'match' is a mapping of criteria");
    int rc = mcomp_keys(c, n, keys);
    mmatch *x = &m->match;
    x->message_type = mcomp_scalar(c, n, "message_type");
    x->version = mcomp_scalar(c, n, "version");
    x->sender = mcomp_scalar(c, n, "sender");
    x->root = mcomp_scalar(c, n, "root");
    x->ns = mcomp_scalar(c, n, "namespace");
    x->filename = mcomp_scalar(c, n, "filename");
    const ynode *w = ydoc_get(n, "when");
    if (w)
        rc |= mcomp_cond(c, w, &x->when);
    x->score = !!x->message_type + !!x->version + !!x->sender + !!x->root +
               !!x->ns + !!x->filename + !!x->when;
    return rc;
}

/* `strictness: {RULE: strict|lenient, ...}` (strict.h): each name and
 * mode checked here, so a table that loads cannot name a rule that does
 * not exist. */
static int mc__strictness(mcomp *c, const ynode *n, strict_set *out)
{
    if (n->type != YD_MAP)
        return mcomp_bad(c, n, "'strictness' is a mapping of rule: strict "
                         "or lenient (%s)", strict_rule_list());
    int rc = 0;
    for (const ynode *k = n->kids; k; k = k->next) {
        int r = strict_rule_find(k->key);
        int mode = k->type == YD_SCALAR ? strict_mode_find(k->value) : 0;
        if (!r)
            rc |= mcomp_bad(c, k, "unknown rule '%s' in 'strictness' (%s)",
                            k->key, strict_rule_list());
        else if (!mode)
            rc |= mcomp_bad(c, k, "'strictness' %s: '%s' is not strict or "
                            "lenient", k->key, k->value ? k->value : "");
        else
            out->mode[r] = (uint8_t)mode;
    }
    return rc;
}

/* The table's modes: its kind's defaults, under what the tables it
 * extends set, under its own `strictness:`. */
static int mc__strict(mcomp *c, const ynode *r, map_def *m)
{
    const ynode *n = ydoc_get(r, "strictness");
    int rc = 0;
    if (m->base)
        m->strict_own = m->base->strict_own;
    if (n)
        rc = mc__strictness(c, n, &m->strict_own);
    strict_defaults(m->kind, &m->strict);
    strict_overlay(&m->strict, &m->strict_own);
    m->ts_values = m->format && (strcmp(m->format, "edifact") == 0 ||
                                 strcmp(m->format, "csv") == 0 ||
                                 strcmp(m->format, "json") == 0);
    return rc;
}

static const char *const mc__formats[] = {"edifact", "xml", "json", "csv",
                                          "fixed", NULL};
/* zone: the sender's offset from UTC, for times read without one. */
static int mc__zone(mcomp *c, const ynode *r, map_def *m)
{
    const ynode *z = ydoc_get(r, "zone");
    const char *text = z ? mcomp_scalar(c, r, "zone") : NULL;
    if (!text)
        return 0;
    err_t e;
    if (xform_zone_parse(text, &m->zone_min, &e))
        return mcomp_bad(c, z, "%s", e.msg);
    m->has_zone = 1;
    return 0;
}

static int mc__head(mcomp *c, const ynode *r, map_def *m)
{
    static const char *const keys[] = {"mapping", "description", "extends",
                                       "format", "kind", "match", "codec",
                                       "split", "out", "strictness",
                                       "zone", "fields", NULL};
    int rc = mcomp_keys(c, r, keys), dummy;
    m->name = mcomp_scalar(c, r, "mapping");
    m->description = mcomp_scalar(c, r, "description");
    m->format = mcomp_scalar(c, r, "format");
    m->kind = mcomp_scalar(c, r, "kind");
    if (m->base) {
        m->format = m->format ? m->format : m->base->format;
        m->kind = m->kind ? m->kind : m->base->kind;
        m->copts = m->base->copts;
        m->split = m->base->split;
        m->has_split = m->base->has_split;
        m->has_zone = m->base->has_zone; /* a variant's own zone replaces */
        m->zone_min = m->base->zone_min;
    }
    if (!m->name)
        rc |= mcomp_bad(c, r, "'mapping' (the table's name) is required");
    if (!m->format || mcomp_enum(c, r, m->format, mc__formats, &dummy))
        rc |= mcomp_bad(c, r, "'format' must be edifact, xml, json, csv or fixed");
    if (!m->kind || mcomp_enum(c, r, m->kind, model_kinds, &dummy))
        rc |= mcomp_bad(c, r, "'kind' must be waybill, manifest, declaration, "
                      "response, status, permit, order or payment");
    m->flat = m->format && strcmp(m->format, "edifact") == 0;
    const ynode *v;
    if ((v = ydoc_get(r, "match")))
        rc |= mc__match(c, v, m);
    if ((v = ydoc_get(r, "codec")))
        rc |= map_compile_codec(c->d, v, c->a, &m->copts, c->tail);
    const char *split = mcomp_scalar(c, r, "split");
    if (split && !(rc |= mcomp_path(c, r, split, &m->split)))
        m->has_split = 1;
    static const char *const out_keys[] = {"message_type", "version",
                                           "agency", "association", NULL};
    const ynode *out = ydoc_get(r, "out");
    if (out)
        rc |= mcomp_keys(c, out, out_keys);
    m->out_type = out ? ydoc_str(out, "message_type") : NULL;
    m->out_version = out ? ydoc_str(out, "version") : NULL;
    m->out_agency = out ? ydoc_str(out, "agency") : NULL;
    m->out_association = out ? ydoc_str(out, "association") : NULL;
    rc |= mc__zone(c, r, m);
    return rc | mc__strict(c, r, m);
}

/* Whether a rule has a path from the root: the document's, above a split
 * record. */
static int mc__rooted(const mrule *ru)
{
    return ru->kind == MR_EACH ? ru->each.rooted
                               : ru->has_from && ru->from.rooted;
}

/* Whether a rule writes inside a split record: a path not from the root
 * (`.` too). A `value` without `from`, and `#index`, write nothing. */
static int mc__inside(const mrule *ru)
{
    const mpath *p = ru->kind == MR_EACH ? &ru->each : &ru->from;
    if (ru->kind == MR_FIELD && !ru->has_from)
        return 0;
    return (p->kind == MP_TREE || p->kind == MP_SELF) && !p->rooted;
}

/* The table orders the document: the rules from the root that it states
 * after its last rule inside the record are the trailer, written back
 * after a split table's records (CEB's BaseTransfer after the Orders);
 * the others are the head, before them. A table with no rule inside the
 * record has no trailer. */
static void mc__trailer(mrule *rules, uint32_t n)
{
    uint32_t i = n;
    while (i > 0 && !mc__inside(&rules[i - 1]))
        i--;
    for (; i > 0 && i < n; i++)
        rules[i].trailer = mc__rooted(&rules[i]);
}

/* A derived table runs its base's rules, in the base's order, with each
 * rule replaced by the derived one that targets the same field or array,
 * or for a `const` rule the same path as written (so a variant states
 * only what differs); its other rules follow. */
static int mc__inherit(mcomp *c, map_def *m)
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
                m->rules[j].kind == b->rules[i].kind &&
                (m->rules[j].kind != MR_CONST ||
                 strcmp(m->rules[j].from.text, b->rules[i].from.text) == 0)) {
                all[n] = m->rules[j];
                all[n].trailer = b->rules[i].trailer; /* where it stood */
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
    mcomp c = {d, s, a, tail, 0};
    const ynode *r = d->root;
    if (!r || r->type != YD_MAP)
        return mcomp_bad(&c, r, "a mapping table is a YAML mapping");
    map_def *m = arena_zalloc(a, sizeof *m);
    if (!m)
        return ERR_NOMEM;
    m->file = d->file;
    const char *ext = mcomp_scalar(&c, r, "extends");
    if (ext && !(m->base = map_set_find(s, ext)))
        return mcomp_bad(&c, ydoc_get(r, "extends"), "extends '%s': no such "
                       "table, or it did not compile", ext);
    int rc = mc__head(&c, r, m);
    const ynode *f = ydoc_get(r, "fields");
    if (!f && !m->base)
        rc |= mcomp_bad(&c, r, "'fields' (the rules) is required");
    else if (f)
        rc |= mc__rules(&c, f, NULL, &m->rules, &m->nrules);
    m->own = m->rules;
    m->nown = m->nrules;
    if (!rc) /* judged in the file that states them */
        mc__trailer(m->rules, m->nrules);
    if (!rc && m->base)
        rc = mc__inherit(&c, m);
    if (!rc)
        m->plan = mplan_build(m->rules, m->nrules, a);
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
