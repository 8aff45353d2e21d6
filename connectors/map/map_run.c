/* The forward runner: a compiled table's rules applied to one message's
 * syntax tree, filling a canonical record (the record itself, split
 * records and the entry points are map_record.c). Problems do not stop
 * the run: each is added to the message's diags naming where (segment,
 * element, line) and why, so an author sees all of them at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_run_int.h"
#include "xform.h"

/* ---- problems ---- */

/* "segment 5 (TDT) element 3 component 1", "element 'ID'", ... */
static void mr__where(const mrun *r, const mhit *h, const mpath *p,
                      char *out, size_t n)
{
    const tnode *x = h ? h->node : NULL;
    if (!x) {
        snprintf(out, n, "message %u", r->m->index + 1);
    } else if (r->d->flat) {
        int k = snprintf(out, n, "segment %u (%s)", x->seq, x->name);
        if (p && p->elem && k > 0 && (size_t)k < n)
            k += snprintf(out + k, n - (size_t)k, " element %u", p->elem);
        if (p && p->comp && k > 0 && (size_t)k < n)
            snprintf(out + k, n - (size_t)k, " component %u", p->comp);
    } else {
        snprintf(out, n, "%s '%s'", x->flags & TN_ATTR ? "attribute"
                 : strcmp(r->d->format, "csv") == 0 ? "column" : "element",
                 x->name);
    }
}

__attribute__((format(printf, 5, 6)))
static void mr__bad(mrun *r, const mhit *h, const mpath *p, int code,
                    const char *fmt, ...)
{
    char where[160], why[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    mr__where(r, h, p, where, sizeof where);
    const tnode *x = h ? h->node : NULL;
    codec_diag_add(r->b, r->m, r->a, code, x ? x->line : r->m->line,
                   x ? x->col : 0, "%s: %s", where, why);
    if (!r->rc)
        r->rc = code;
}

/* A slip of rule (strict.h): refused as mr__bad's problems are when the
 * rule is strict (then code is returned), else a warning in the record. */
__attribute__((format(printf, 6, 7)))
static int mr__slip(mrun *r, int rule, const mhit *h, const mpath *p,
                    int code, const char *fmt, ...)
{
    char where[160], what[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    mr__where(r, h, p, where, sizeof where);
    const tnode *x = h ? h->node : NULL;
    int rc = mslip_add(&r->sl, r->b, r->m, r->a, rule, code,
                       x ? x->line : r->m->line, x ? x->col : 0, where, what);
    if (rc && !r->rc)
        r->rc = rc;
    return rc;
}

/* ---- conditions ---- */

static int mr__in(const char *v, const mcond *c)
{
    for (uint32_t i = 0; i < c->nvals; i++)
        if (strcmp(v, c->vals[i]) == 0)
            return 1;
    return 0;
}

int mcond_holds(const mcond *c, const mscope *s)
{
    for (; c; c = c->next) {
        mhit h;
        int found = mpath_present(&c->path, s, &h) == 0;
        const char *v = found ? mhit_text(&h) : "";
        int ok = c->op == MC_EXISTS ? found
                 : c->op == MC_ABSENT ? !found
                 : c->op == MC_NE ? !found || !mr__in(v, c)
                 : c->op == MC_RE ? found && c->re && regexec(c->re, v, 0, NULL, 0) == 0
                 : found && mr__in(v, c);
        if (!ok)
            return 0;
    }
    return 1;
}

/* ---- transforming one value ---- */

static const char *mr__text_at(const mpath *p, const mscope *s)
{
    mhit h;
    return mpath_first(p, s, &h) == 0 ? mhit_text(&h) : NULL;
}

/* The same for a path naming the segment the rule's value came from
 * (near): the plan already saw the first one, so no second walk. */
static const char *mr__text_near(const mrun *r, const mpath *p, int near,
                                 const mscope *s)
{
    if (!near || !r->f)
        return mr__text_at(p, s);
    if (!r->f->seg)
        return NULL;
    mhit h = {r->f->seg, mpath_position(p, r->f->seg), 0};
    return mhit_text(&h);
}

static char *mr__date(mrun *r, const mrule *ru, const mscope *s, mval *v)
{
    char out[64];
    err_t e;
    int rc = 0;
    const char *code = ru->date_arg;
    if (ru->date == MD_EDI_FROM &&
        !(code = mr__text_near(r, &ru->date_from, ru->date_near, s)))
        code = "102"; /* 2379's default when the format is omitted */
    if (ru->date == MD_ISO)
        rc = check_datetime(v->text, &e), snprintf(out, sizeof out, "%s", v->text);
    else if (ru->date == MD_PATTERN)
        rc = xform_date_pattern(code, v->text, out, sizeof out, &e);
    else
        rc = xform_edi_date(code, v->text, out, sizeof out, &e);
    /* the format gave no zone: the table says whose clock it was */
    if (!rc && r->d->has_zone)
        rc = xform_zone_assume(out, r->d->zone_min, out, sizeof out, &e);
    if (rc) {
        mr__bad(r, &v->hit, &ru->from, rc, "%s", e.msg);
        return NULL;
    }
    return arena_strdup(r->a, out);
}

static int mr__checks(mrun *r, const mrule *ru, mval *v)
{
    err_t e;
    for (uint32_t i = 0; i < ru->nchecks; i++) {
        int rc = ru->checks[i](v->text, &e);
        if (rc == ERR_CHECK_DIGIT)
            rc = mr__slip(r, STRICT_CHECK_DIGITS, &v->hit, &ru->from, rc,
                          "%s", e.msg);
        else if (rc)
            mr__bad(r, &v->hit, &ru->from, ERR_INVALID, "%s", e.msg);
        if (rc)
            return -1;
    }
    if (ru->pattern && regexec(ru->pattern, v->text, 0, NULL, 0)) {
        mr__bad(r, &v->hit, &ru->from, ERR_INVALID, "'%s' does not match "
                "the pattern %s", v->text, ru->pattern_text);
        return -1;
    }
    return 0;
}

/* Code list, date, case, checks; NULL text = drop the value. */
static int mr__xform(mrun *r, const mrule *ru, const mscope *s, mval *v)
{
    if (ru->squeeze && (v->text = arena_strdup(r->a, v->text)))
        xform_squeeze(v->text); /* in place, so on a copy of the tree's text */
    if (!v->text)
        return -1;
    if (ru->codes) {
        const char *c = mcodes_get(ru->codes, v->text);
        if (!c && ru->unknown == MU_ERROR) {
            mr__bad(r, &v->hit, &ru->from, ERR_CODE, "unknown code '%s' "
                    "(code list %s)", v->text, mcodes_name(ru->codes));
            return -1;
        }
        if (!c && ru->unknown == MU_DROP)
            return v->text = NULL, 0;
        if (c)
            v->text = (char *)c;
    }
    if (ru->date && !(v->text = mr__date(r, ru, s, v)))
        return -1;
    if (ru->kase) {
        v->text = arena_strdup(r->a, v->text);
        (ru->kase == MK_UPPER ? xform_upper : xform_lower)(v->text);
    }
    return mr__checks(r, ru, v);
}

/* ---- storing into the record ---- */

static int mr__number(mrun *r, const mrule *ru, const mscope *s, mval *v,
                      model_num *out)
{
    err_t e;
    double x;
    /* ISO 9735: a recipient accepts either decimal mark whatever the UNA
     * says, so EDIFACT numbers with no declared mark try both */
    int either = !ru->decimal && r->d->flat;
    if (xform_number(v->text, ru->decimal ? ru->decimal : '.', &x, &e) &&
        (!either || xform_number(v->text, ',', &x, NULL))) {
        mr__bad(r, &v->hit, &ru->from, ERR_INVALID, "%s", e.msg);
        return -1;
    }
    if (ru->unit_table) {
        const char *u = ru->has_unit_from
                            ? mr__text_near(r, &ru->unit_from, ru->unit_near, s)
                            : ru->unit_code;
        double f;
        if (mcodes_factor(ru->unit_table, u, &f)) {
            mr__bad(r, &v->hit, &ru->from, ERR_CODE, "unknown unit '%s' "
                    "(table %s)", u ? u : "", mcodes_name(ru->unit_table));
            return -1;
        }
        x *= f;
    }
    out->v = x;
    out->set = 1;
    return 0;
}

/* `sum: true`: each match's number added to what the field holds (the
 * cargo items of one goods line). */
static void mr__add(mrun *r, const mrule *ru, const mscope *s, mval *v,
                    model_num *out)
{
    model_num one = {0, 0};
    if (mr__number(r, ru, s, v, &one) == 0 && one.set)
        *out = (model_num){(out->set ? out->v : 0) + one.v, 1};
}

static int mr__list(mrun *r, const mrule *ru, mval *v, model_strlist *l)
{
    err_t e;
    const char *p = v->text;
    size_t sl = ru->split ? strlen(ru->split) : 0;
    for (;;) {
        const char *q = sl ? strstr(p, ru->split) : NULL;
        size_t n = q ? (size_t)(q - p) : strlen(p);
        char *part = xform_trim(arena_strndup(r->a, p, n));
        if (part[0] && model_strlist_add(r->a, l, part, strlen(part), &e)) {
            mr__bad(r, &v->hit, &ru->from, e.code, "%s", e.msg);
            return -1;
        }
        if (!q)
            return 0;
        p = q + sl;
    }
}

/* The node a group instance starts at (its trigger segment or element),
 * so a problem inside it points there; NULL at the message itself. */
static const tnode *mr__group_node(const mrun *r, const mscope *s)
{
    if (r->d->flat)
        return s->first != s->top->kids ? s->first : NULL;
    return s->parent != s->top ? s->parent : NULL;
}

/* The rule's source values into *vals (one, or c's); their count, or
 * < 0 on no memory. */
static int mr__collect(mrun *r, const mrule *ru, const mscope *s,
                       mcollect *c, mval **vals)
{
    int n = mcollect_first(ru, s, r->a, *vals);
    if (n != MCOLLECT_OTHER)
        return n;
    if (mcollect_rule(c, ru, s, r->a) < 0)
        return ERR_NOMEM;
    *vals = c->v;
    return (int)c->n;
}

/* A planned rule's value, found by mplan_collect, into *v: 1, 0 when
 * nothing matched, ERR_NOMEM. */
static int mr__planned(mrun *r, const mfirst *f, mval *v)
{
    if (!f->text)
        return 0;
    v->hit = f->hit;
    v->text = f->copy ? arena_strndup(r->a, f->text, f->len)
                      : (char *)f->text;
    v->copied = f->copy;
    return v->text ? 1 : ERR_NOMEM;
}

/* trailing_space: the value as sent ends with spaces (formats whose
 * values are exact, map_def.ts_values); non-zero when that refuses it. */
static int mr__padded(mrun *r, const mrule *ru, const mval *v)
{
    if (!v->copied || !r->d->ts_values || !mslip_trailing(v->hit.leaf))
        return 0;
    return mr__slip(r, STRICT_TRAILING_SPACE, &v->hit, &ru->from,
                    ERR_INVALID, "white space after the value '%.60s'",
                    v->text);
}

/* What transformed a rule's values, for --explain. */
static const char *mr__xform_name(const mrule *ru, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s%s%s%s", ru->codes ? "codes " : "",
             ru->codes ? mcodes_name(ru->codes) : "", ru->date ? " date" : "",
             ru->unit_table || ru->unit_code ? " unit" : "",
             ru->join ? " join" : "", ru->kase ? " case" : "");
    return buf[0] == ' ' ? buf + 1 : buf;
}

static void mr__traced(mrun *r, const mrule *ru, const mval *v)
{
    char x[128];
    map_trace_hit h = {ru->line, ru->to_text, ru->has_from ? ru->from.text
                       : NULL, v->text, v->hit.node, v->hit.leaf,
                       mr__xform_name(ru, x, sizeof x)};
    r->trace(r->tctx, &h);
}

/* Rule ru in scope s into base; f: its value when the rule is planned. */
static void mr__field(mrun *r, const mrule *ru, const mscope *s, void *base,
                      const mfirst *f)
{
    mcollect c;
    mval one, *vals = &one;
    if (ru->when && !mcond_holds(ru->when, s))
        return;
    int n = f ? mr__planned(r, f, &one) : mr__collect(r, ru, s, &c, &vals);
    r->f = f;
    if (n < 0)
        return mr__bad(r, NULL, NULL, ERR_NOMEM, "out of memory");
    if (!n && ru->required) {
        mhit g = {mr__group_node(r, s), NULL, 0};
        return mr__bad(r, g.node ? &g : NULL, NULL, ERR_REQUIRED, "%s: "
                       "required value missing (from %s)", ru->to_text,
                       ru->has_from ? ru->from.text : "?");
    }
    for (int i = 0; i < n; i++) {
        mval *v = &vals[i];
        if (mr__padded(r, ru, v) || mr__xform(r, ru, s, v) || !v->text)
            continue;
        if (ru->field->type == MF_NUM && ru->sum)
            mr__add(r, ru, s, v, model_num_at(base, ru->field));
        else if (ru->field->type == MF_NUM)
            mr__number(r, ru, s, v, model_num_at(base, ru->field));
        else if (ru->to_list)
            mr__list(r, ru, v, model_strlist_at(base, ru->field));
        else
            *model_str_at(base, ru->field) = v->text;
        if (r->trace)
            mr__traced(r, ru, v);
    }
}

/* A `const` rule reads nothing (it is the reverse direction's); for
 * --explain, the node holding its constant is its, not "not mapped". */
static void mr__const_traced(mrun *r, const mrule *ru, const mscope *s)
{
    mhit h;
    if (mpath_present(&ru->from, s, &h) || strcmp(mhit_text(&h), ru->cval))
        return;
    map_trace_hit t = {ru->line, ru->to_text, ru->from.text, ru->cval,
                       h.node, h.leaf, ""};
    r->trace(r->tctx, &t);
}

/* ---- groups ---- */


/* Whether n (whose name has code) is one of the group's member tags; a
 * code with no fourth byte is the whole name, so only longer names are
 * compared as strings. */
static int mr__member(const mrule *ru, const tnode *n, uint32_t code)
{
    if (code && (code >> 24) == 0 && ru->member_set.slot)
        return mtagset_has(&ru->member_set, code);
    for (uint32_t i = 0; i < ru->nmembers; i++)
        if (ru->member_codes[i] == code &&
            ((code >> 24) == 0 || strcmp(ru->members[i], n->name) == 0))
            return 1;
    return 0;
}

/* mr__member for position e of the index: the set's one probe inline,
 * since it runs for every segment of every group instance. */
static inline int mr__member_at(const mrule *ru, const mindex *ix, uint32_t e)
{
    uint32_t code = ix->code[e];
    if (code && (code >> 24) == 0 && ru->member_set.slot)
        return mtagset_has(&ru->member_set, code);
    return mr__member(ru, ix->node[e], code);
}

typedef struct meach {
    mrun *r;
    const mrule *ru;
    const mscope *outer;
    void *base;
    uint32_t index;
} meach;

/* One instance: a subtree (xml, json) or, for edifact, the trigger segment
 * and the member segments after it. */
static int mr__instance(void *ctx, const mhit *h)
{
    meach *x = ctx;
    tnode *n = (tnode *)h->node;
    const mscope *o = x->outer;
    mscope in = {n, n->kids, NULL, x->index + 1, NULL, o->top, 0, 0};
    if (x->ru->each.kind == MP_SELF) {
        /* `each: .`: one instance, the scope itself (in EDIFACT a range
         * of segments, which the node alone would not be) */
        in = *o;
        in.index = x->index + 1;
    } else if (x->r->d->flat && o->ix && h->pos < o->ix->n &&
        o->ix->node[h->pos] == n) {
        uint32_t e = h->pos + 1;
        while (e < o->hi && mr__member_at(x->ru, o->ix, e))
            e++;
        in = (mscope){o->parent, n, e < o->ix->n ? (tnode *)o->ix->node[e]
                      : NULL, x->index + 1, o->ix, o->top, h->pos, e};
    } else if (x->r->d->flat) {
        const tnode *end = n->next;
        while (end && end != o->end && mr__member(x->ru, end,
                                                  mname_code(end->name)))
            end = end->next;
        in = (mscope){o->parent, n, (tnode *)end, x->index + 1, NULL, o->top,
                      0, 0};
    }
    if (x->ru->when && !mcond_holds(x->ru->when, &in))
        return 0;
    x->index++; /* #index numbers the instances kept, not those skipped */
    err_t e;
    void *el = model_array_append(x->r->a, x->base, x->ru->field, &e);
    if (!el) {
        mr__bad(x->r, h, NULL, e.code, "%s", e.msg);
        return e.code;
    }
    mrun_rules(x->r, x->ru->rules, x->ru->nrules, x->ru->plan, &in, el);
    return 0;
}

void mrun_rules(mrun *r, const mrule *rules, uint32_t n, const mplan *plan,
                const mscope *s, void *base)
{
    static const mfirst none = {.text = NULL};
    mfirst first[MPLAN_MAX_RULES]; /* valid where got has the rule's bit */
    uint64_t planned = plan && s->ix ? plan->rules : 0, got = 0;
    if (planned)
        got = mplan_collect(plan, rules, s, first);
    for (uint32_t i = 0; i < n; i++) {
        const mrule *ru = &rules[i];
        if (ru->kind == MR_FIELD) {
            int own = i >= MPLAN_MAX_RULES || !(planned >> i & 1);
            mr__field(r, ru, s, base, own ? NULL
                      : got >> i & 1 ? &first[i] : &none);
        } else if (ru->kind == MR_CONST) {
            if (r->trace)
                mr__const_traced(r, ru, s);
        } else {
            meach x = {r, ru, s, base, 0};
            mpath_each(&ru->each, s, mr__instance, &x);
        }
    }
}
