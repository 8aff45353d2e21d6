/* Plans (mplan): the rules of one list that read the first present value
 * of a one-step path, grouped by tag, so that the forward runner walks a
 * scope's segments of each tag once for all of them. Per rule this used
 * to be a hash probe, a cursor and a walk of the tag's chain each (a
 * goods group reads GID three times and MEA four); together the walk is
 * shared and each segment is compared only with the rules still waiting.
 * The values found are exactly mcollect_first's: the first match, in
 * document order, whose value is not empty once trimmed. (Conditions
 * were tried the same way and gained nothing: their cost is the matching
 * itself, which a shared walk does not save.) */
#include <string.h>

#include "map_int.h"

/* Whether rule ru takes its value through a plan: mcollect_first's shape
 * (a scalar from a direct path, no constant, default or join), not rooted
 * (those read the whole message, not the scope). */
static int mp__planned(const mrule *ru)
{
    return ru->kind == MR_FIELD && ru->has_from && !ru->value && !ru->dflt &&
           !ru->to_list && !ru->join && !ru->sum && ru->from.kind == MP_TREE &&
           ru->from.direct && !ru->from.rooted;
}

/* Whether steps a and b match the same nodes (one named step each). */
static int mp__same_step(const mpath *a, const mpath *b)
{
    const mstep *x = &a->steps[0], *y = &b->steps[0];
    if (!a->direct || !b->direct || a->rooted || b->rooted ||
        a->kind != MP_TREE || b->kind != MP_TREE ||
        strcmp(x->name, y->name) != 0 || x->nquals != y->nquals ||
        x->pred_elem != y->pred_elem || x->pred_comp != y->pred_comp ||
        !x->pred_key != !y->pred_key || !x->pred_val != !y->pred_val)
        return 0;
    for (uint32_t q = 0; q < x->nquals; q++)
        if (strcmp(x->quals[q], y->quals[q]) != 0)
            return 0;
    return (!x->pred_key || strcmp(x->pred_key, y->pred_key) == 0) &&
           (!x->pred_val || strcmp(x->pred_val, y->pred_val) == 0);
}

/* A planned rule's date and unit codes read beside its value. */
static void mp__near(mrule *ru)
{
    ru->date_near = ru->date == MD_EDI_FROM &&
                    mp__same_step(&ru->from, &ru->date_from);
    ru->unit_near = ru->unit_table && ru->has_unit_from &&
                    mp__same_step(&ru->from, &ru->unit_from);
}

/* Index of code in p->tags, adding it when new. */
static uint32_t mp__tag(mplan *p, uint32_t code)
{
    uint32_t t = 0;
    while (t < p->ntags && p->tags[t].code != code)
        t++;
    if (t == p->ntags)
        p->tags[p->ntags++] = (mplan_tag){code, 0, 0};
    return t;
}

/* Readers grouped by tag: counted, then laid out in rule order. */
static int mp__lay_out(mplan *p, const mrule *rules, uint32_t n, arena_t *a)
{
    uint32_t nr = 0, at = 0;
    for (uint32_t i = 0; i < n && i < MPLAN_MAX_RULES; i++)
        if (p->rules >> i & 1) {
            p->tags[mp__tag(p, rules[i].from.steps[0].code)].count++;
            nr++;
        }
    p->reader = arena_alloc(a, nr ? nr : 1);
    if (!p->reader)
        return -1;
    for (uint32_t t = 0; t < p->ntags; t++) {
        p->tags[t].first = at;
        at += p->tags[t].count;
        p->tags[t].count = 0;
    }
    for (uint32_t i = 0; i < n && i < MPLAN_MAX_RULES; i++)
        if (p->rules >> i & 1) {
            mplan_tag *t = &p->tags[mp__tag(p, rules[i].from.steps[0].code)];
            p->reader[t->first + t->count++] = (uint8_t)i;
        }
    return 0;
}

const mplan *mplan_build(mrule *rules, uint32_t n, arena_t *a)
{
    for (uint32_t i = 0; i < n; i++)
        if (rules[i].kind == MR_EACH && !rules[i].plan)
            rules[i].plan = mplan_build(rules[i].rules, rules[i].nrules, a);
    uint64_t set = 0;
    for (uint32_t i = 0; i < n && i < MPLAN_MAX_RULES; i++)
        if (mp__planned(&rules[i])) {
            set |= (uint64_t)1 << i;
            mp__near(&rules[i]);
        }
    if (!set)
        return NULL;
    mplan *p = arena_zalloc(a, sizeof *p);
    if (!p || !(p->tags = arena_zalloc(a, MPLAN_MAX_RULES * sizeof *p->tags)))
        return NULL; /* without a plan every rule reads on its own */
    p->rules = set;
    return mp__lay_out(p, rules, n, a) ? NULL : p;
}

/* The readers of tag t over its segments in s, until each has a value;
 * *got and *seen: the rules with a value, and with a segment (f->seg). */
static void mp__walk_tag(const mplan *p, const mplan_tag *t,
                         const mrule *rules, const mscope *s, mfirst *out,
                         uint64_t *got, uint64_t *seen)
{
    const mindex *ix = s->ix;
    int h = mindex_slot(ix, t->code);
    if (h < 0)
        return;
    uint32_t lo = s->lo > ix->first[h] ? s->lo : ix->first[h];
    uint32_t hi = s->hi < ix->last[h] + 1 ? s->hi : ix->last[h] + 1;
    while (lo < hi && ix->code[lo] != t->code)
        lo++;
    const uint8_t *rd = p->reader + t->first;
    for (uint32_t i = lo, left = t->count; i < hi && left; i = ix->next[i]) {
        const tnode *n = ix->node[i];
        for (uint32_t k = 0; k < t->count; k++) {
            const mrule *ru = &rules[rd[k]];
            uint64_t bit = (uint64_t)1 << rd[k];
            mfirst *f = &out[rd[k]];
            if ((*got & bit) || !mstep_match_coded(&ru->from.steps[0], n))
                continue;
            if (!(*seen & bit))
                f->seg = n, *seen |= bit;
            const tnode *leaf = mpath_position(&ru->from, n);
            if (!mfirst_of(leaf, f))
                continue;
            f->hit = (mhit){n, leaf, i};
            *got |= bit;
            left--;
        }
    }
}

uint64_t mplan_collect(const mplan *p, const mrule *rules, const mscope *s,
                       mfirst *out)
{
    uint64_t got = 0, seen = 0;
    for (uint32_t t = 0; t < p->ntags; t++)
        mp__walk_tag(p, &p->tags[t], rules, s, out, &got, &seen);
    return got;
}
