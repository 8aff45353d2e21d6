/* Paths: how a mapping names a place in a syntax tree. Compiled once into
 * steps (map_path_compile.c); matching compares names first-character
 * first because it runs for every rule of every message. Grammar in
 * docs/mapping-language.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_int.h"

/* ---- matching ---- */

/* Value of an element's first component (edifact) or the node's own. */
static const char *mp__first_value(const tnode *n)
{
    if (!n)
        return NULL;
    if (n->value)
        return n->value;
    return n->kids ? n->kids->value : NULL;
}

/* Names are short (segment tags, element names): an inline loop beats a
 * call to strcmp, and this runs for every node a rule looks at. */
static inline int mp__same(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* The step's qualifiers and predicate (the name aside). */
int mpath_match_rest(const mstep *st, const tnode *n)
{
    const tnode *el = n->kids;
    for (uint32_t i = 0; i < st->nquals; i++, el = el ? el->next : NULL) {
        const char *q = st->quals[i];
        if (q[0] && !mp__same(q, mp__first_value(el)))
            return 0;
    }
    if (st->pred_elem) {
        const tnode *pe = tree_kid(n, st->pred_elem - 1u);
        const tnode *pc = pe ? tree_kid(pe, st->pred_comp - 1u) : NULL;
        return mp__same(st->pred_val, pc ? pc->value : NULL);
    }
    if (st->pred_key) {
        for (const tnode *k = n->kids; k; k = k->next)
            if (mp__same(st->pred_key, k->name) &&
                mp__same(st->pred_val, mp__first_value(k)))
                return 1;
        return 0;
    }
    return 1;
}

static int mp__match(const mstep *st, const tnode *n)
{
    if (!(st->name[0] == '*' && !st->name[1]) && !mp__same(st->name, n->name))
        return 0;
    return mpath_match_rest(st, n);
}

static const tnode *mp__last(const mstep *st, const tnode *first,
                             const tnode *end)
{
    const tnode *last = NULL;
    for (const tnode *n = first; n && n != end; n = n->next)
        if (mp__match(st, n))
            last = n;
    return last;
}

static int mp__walk(const mpath *p, uint32_t si, const tnode *first,
                    const tnode *end, mpath_fn fn, void *ctx)
{
    const mstep *st = &p->steps[si];
    uint32_t count = 0;
    if (st->nth == MSTEP_LAST)
        first = mp__last(st, first, end);
    for (const tnode *n = first; n && n != end; n = n->next) {
        if (!mp__match(st, n) ||
            (st->nth && st->nth != MSTEP_LAST && ++count != st->nth))
            continue;
        int rc;
        if (si + 1 == p->nsteps) {
            mhit h = {n, mpath_position(p, n), 0};
            rc = fn(ctx, &h);
        } else {
            rc = mp__walk(p, si + 1, n->kids, NULL, fn, ctx);
        }
        if (rc || st->nth)
            return rc;
    }
    return 0;
}

static int mp__any(const mstep *st)
{
    return st->name[0] == '*' && !st->name[1];
}

/* mp__match for a node whose name code already equals the step's. */
static int mp__match_coded(const mstep *st, const tnode *n)
{
    if (!st->exact && !mp__any(st) && !mp__same(st->name, n->name))
        return 0;
    return mpath_match_rest(st, n);
}

/* The first position in [i, hi) with the step's name (any name for "*"),
 * or hi; later ones follow the index's chain. */
static uint32_t mp__seek(const mindex *ix, const mstep *st, uint32_t i,
                         uint32_t hi)
{
    if (mp__any(st))
        return i;
    while (i < hi && ix->code[i] != st->code)
        i++;
    return i;
}

static uint32_t mp__advance(const mindex *ix, const mstep *st, uint32_t i,
                            uint32_t hi)
{
    return mp__any(st) ? i + 1 : ix->next[i] < hi ? ix->next[i] : hi;
}

static int mp__hit_ix(const mpath *p, const mindex *ix, uint32_t i,
                      mpath_fn fn, void *ctx)
{
    const tnode *n = ix->node[i];
    if (p->nsteps > 1)
        return mp__walk(p, 1, n->kids, NULL, fn, ctx);
    mhit h = {n, mpath_position(p, n), i};
    return fn(ctx, &h);
}

/* mp__walk's first step over positions [lo, hi) of the index. */
static int mp__walk_ix(const mpath *p, const mindex *ix, uint32_t lo,
                       uint32_t hi, mpath_fn fn, void *ctx)
{
    const mstep *st = &p->steps[0];
    if (!mp__any(st)) { /* nothing of that name lies outside its span */
        int h = mindex_slot(ix, st->code);
        if (h < 0)
            return 0;
        lo = lo > ix->first[h] ? lo : ix->first[h];
        hi = hi < ix->last[h] + 1 ? hi : ix->last[h] + 1;
    }
    uint32_t count = 0, last = hi;
    for (uint32_t i = mp__seek(ix, st, lo, hi); i < hi;
         i = mp__advance(ix, st, i, hi)) {
        if (!mp__match_coded(st, ix->node[i]))
            continue;
        if (st->nth == MSTEP_LAST) {
            last = i;
            continue;
        }
        if (st->nth && ++count != st->nth)
            continue;
        int rc = mp__hit_ix(p, ix, i, fn, ctx);
        if (rc || st->nth)
            return rc;
    }
    return last < hi ? mp__hit_ix(p, ix, last, fn, ctx) : 0;
}

int mpath_each(const mpath *p, const mscope *s, mpath_fn fn, void *ctx)
{
    if (p->kind == MP_SELF)
        return fn(ctx, &(mhit){s->parent, s->parent, 0});
    if (p->kind != MP_TREE || !p->nsteps)
        return 0;
    mcursor c;
    if (mcursor_open(&c, p, s) == 0) {
        mhit h;
        int rc = 0;
        while (!rc && mcursor_next(&c, &h))
            rc = fn(ctx, &h);
        return rc;
    }
    if (s->ix) /* the index is the whole message's: rooted is [0, n) */
        return mp__walk_ix(p, s->ix, p->rooted ? 0 : s->lo,
                           p->rooted ? s->ix->n : s->hi, fn, ctx);
    mscope top;
    if (p->rooted && s->top) {
        top = (mscope){s->top, s->top->kids, NULL, 1, NULL, s->top, 0, 0};
        s = &top;
    }
    const tnode *first = s->first ? s->first : s->end ? NULL : s->parent->kids;
    return mp__walk(p, 0, first, s->end, fn, ctx);
}

static int mp__keep_first(void *ctx, const mhit *h)
{
    *(mhit *)ctx = *h;
    return 1;
}

int mpath_first(const mpath *p, const mscope *s, mhit *h)
{
    h->node = h->leaf = NULL;
    mcursor c;
    if (mcursor_open(&c, p, s) == 0)
        return mcursor_next(&c, h) ? 0 : ERR_NOTFOUND;
    return mpath_each(p, s, mp__keep_first, h) == 1 ? 0 : ERR_NOTFOUND;
}

int mhit_present(const mpath *p, const mhit *h)
{
    if (!h->leaf)
        return 0;
    if (!p->elem && !h->leaf->value)
        return 1; /* a whole segment or element named without positions */
    const char *v = mp__first_value(h->leaf);
    return v && v[0];
}

typedef struct mp__present_ctx {
    const mpath *p;
    mhit *h;
} mp__present_ctx;

static int mp__keep_present(void *ctx, const mhit *h)
{
    mp__present_ctx *c = ctx;
    if (!mhit_present(c->p, h))
        return 0;
    *c->h = *h;
    return 1;
}

int mpath_present(const mpath *p, const mscope *s, mhit *h)
{
    h->node = h->leaf = NULL;
    mcursor cur;
    if (mcursor_open(&cur, p, s) == 0) {
        mhit x;
        while (mcursor_next(&cur, &x))
            if (mhit_present(p, &x))
                return *h = x, 0;
        return ERR_NOTFOUND;
    }
    mp__present_ctx c = {p, h};
    return mpath_each(p, s, mp__keep_present, &c) == 1 ? 0 : ERR_NOTFOUND;
}

const char *mhit_text(const mhit *h)
{
    const char *v = mp__first_value(h->leaf);
    return v ? v : "";
}

/* ---- making (reverse direction) ---- */

/* The i-th child of n (0-based), adding empty positional children up to
 * it; edifact elements get their one empty component. */
static tnode *mp__nth_kid(tnode *n, uint32_t i, arena_t *a, int with_comp)
{
    while (n->nkids <= i) {
        tnode *k = tree_add_new(a, n, "", with_comp ? NULL : "");
        if (!k || (with_comp && !tree_add_new(a, k, "", "")))
            return NULL;
    }
    return tree_kid(n, i);
}

static int mp__set_first(tnode *el, const char *v, arena_t *a)
{
    tnode *c = el->kids;
    if (!c)
        return -1;
    c->value = arena_strdup(a, v);
    c->vlen = (uint32_t)strlen(v);
    return c->value ? 0 : -1;
}

static tnode *mp__create(const mstep *st, tnode *parent, arena_t *a)
{
    const char *nm = strcmp(st->name, "*") == 0 ? "" : st->name;
    tnode *n = tree_add_new(a, parent, nm, NULL);
    if (!n)
        return NULL;
    if (nm[0] == '@')
        n->flags |= TN_ATTR;
    for (uint32_t i = 0; i < st->nquals; i++) {
        tnode *el = mp__nth_kid(n, i, a, 1);
        if (!el || (st->quals[i][0] && mp__set_first(el, st->quals[i], a)))
            return NULL;
    }
    if (st->pred_elem) {
        tnode *el = mp__nth_kid(n, st->pred_elem - 1u, a, 1);
        tnode *c = el ? mp__nth_kid(el, st->pred_comp - 1u, a, 0) : NULL;
        if (!c || !(c->value = arena_strdup(a, st->pred_val)))
            return NULL;
        c->vlen = (uint32_t)strlen(c->value);
    } else if (st->pred_key && !tree_add_new(a, n, st->pred_key, st->pred_val)) {
        return NULL;
    }
    return n;
}

static tnode *mp__find(const mstep *st, tnode *first, const tnode *end)
{
    if (st->nth == MSTEP_LAST)
        return (tnode *)mp__last(st, first, end);
    for (tnode *n = first; n && n != end; n = n->next)
        if (mp__match(st, n))
            return n;
    return NULL;
}

tnode *mpath_make(const mpath *p, mscope *s, arena_t *a, int fresh,
                  tnode **made)
{
    if (p->kind == MP_SELF) {
        if (made)
            *made = s->parent;
        return s->parent;
    }
    mscope top;
    if (p->rooted && s->top) {
        top = (mscope){s->top, s->top->kids, NULL, 1, NULL, s->top, 0, 0};
        s = &top;
    }
    /* a scope made before its first child existed starts at the parent's
     * children, so what earlier rules created is found, not made twice */
    tnode *parent = s->parent, *first = s->first ? s->first : s->parent->kids;
    const tnode *end = s->end;
    tnode *n = NULL;
    /* a fresh item starts at the step marked [] (else the last), so its
     * parents repeat with it: one TransportEquipment per container */
    uint32_t from = p->nsteps - 1;
    for (uint32_t si = 0; si < p->nsteps; si++)
        if (p->steps[si].list)
            from = si;
    for (uint32_t si = 0; si < p->nsteps; si++) {
        int anew = fresh && si >= from;
        n = anew ? NULL : mp__find(&p->steps[si], first, end);
        if (!n && !(n = mp__create(&p->steps[si], parent, a)))
            return NULL;
        if (p->steps[si].list)
            n->flags |= TN_LIST;
        parent = n;
        first = n->kids;
        end = NULL;
    }
    if (made)
        *made = n;
    if (!n || !p->elem)
        return n;
    tnode *el = mp__nth_kid(n, p->elem - 1u, a, 1);
    return (!el || !p->comp) ? el : mp__nth_kid(el, p->comp - 1u, a, 0);
}
