/* Collecting a rule's source values: every match of its path (or the
 * first), trimmed, joined when the rule says so, else its default or
 * constant. Split from the forward runner (map_run.c), which transforms
 * and stores what is collected here. */
#include <stdio.h>
#include <string.h>

#include "map_int.h"

static int mc__space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Keep one value, trimmed; empty is absent (EDIFACT omits, CSV leaves
 * blank). Text already trimmed is kept where it is (tree and record share
 * one arena), since copying every value showed in the profile; copy = 1
 * for text that does not outlive the call. */
static int mc__keep_n(mcollect *c, const mhit *h, const char *text,
                     size_t len, int copy)
{
    const char *b = text, *e = text + len;
    while (b < e && mc__space(*b))
        b++;
    while (e > b && mc__space(e[-1]))
        e--;
    if (b == e)
        return 0;
    char *s = (copy || b != text || *e)
                  ? arena_strndup(c->a, b, (size_t)(e - b)) : (char *)text;
    if (!s)
        return ERR_NOMEM;
    if (!c->v) {
        c->v = c->small;
        c->cap = MCOLLECT_SMALL;
    }
    if (c->n == c->cap) {
        uint32_t cap = c->cap * 2;
        mval *nv = arena_alloc(c->a, cap * sizeof *nv);
        if (!nv)
            return ERR_NOMEM;
        if (c->n)
            memcpy(nv, c->v, c->n * sizeof *nv);
        c->v = nv;
        c->cap = cap;
    }
    c->v[c->n++] = (mval){s, *h, s != text};
    return c->all ? 0 : 1;
}

static int mc__keep(mcollect *c, const mhit *h, const char *text, int copy)
{
    return mc__keep_n(c, h, text, strlen(text), copy);
}

static int mc__take(void *ctx, const mhit *h)
{
    mcollect *c = ctx;
    /* a whole element to join: its first component may be empty while the
     * others are not; mc__join reads them all */
    if (c->join && h->leaf && !h->leaf->value && h->leaf->kids)
        return mc__keep(c, h, "(element)", 0);
    /* the tree knows its values' lengths (vlen): no strlen per value */
    const tnode *v = !h->leaf ? NULL : h->leaf->value ? h->leaf
                     : h->leaf->kids;
    if (!v || !v->value)
        return mc__keep(c, h, "", 0);
    return mc__keep_n(c, h, v->value, v->vlen, 0);
}

/* The span of s[0..len) without surrounding white space. */
static const char *mc__trimmed(const char *s, size_t len, size_t *n)
{
    const char *b = s, *e = s + len;
    while (b < e && mc__space(*b))
        b++;
    while (e > b && mc__space(e[-1]))
        e--;
    *n = (size_t)(e - b);
    return b;
}

/* One non-empty part of a join at out + at (sep first unless it is the
 * first); out NULL only measures. A part that would take the value past
 * MAP_VALUE_MAX is left out. Returns the new length. */
static size_t mc__join_put(char *out, size_t at, const char *sep, size_t sl,
                           const char *s, size_t n)
{
    size_t sep_n = at ? sl : 0;
    if (!n || at + sep_n + n > MAP_VALUE_MAX)
        return at;
    if (out) {
        memcpy(out + at, sep, sep_n);
        memcpy(out + at + sep_n, s, n);
    }
    return at + sep_n + n;
}

/* Every non-empty leaf under the hits (components of an element, or the
 * matches themselves) joined with sep into out (NULL: only measure). */
static size_t mc__join_into(const mcollect *c, const char *sep, size_t sl,
                            char *out)
{
    size_t at = 0, n;
    for (uint32_t i = 0; i < c->n; i++) {
        const tnode *leaf = c->v[i].hit.leaf;
        int many = leaf && !leaf->value && leaf->kids;
        for (const tnode *k = many ? leaf->kids : NULL; k; k = k->next) {
            const char *t = k->value ? mc__trimmed(k->value, k->vlen, &n)
                                     : NULL;
            if (t)
                at = mc__join_put(out, at, sep, sl, t, n);
        }
        if (!many)
            at = mc__join_put(out, at, sep, sl, c->v[i].text,
                              strlen(c->v[i].text));
    }
    return at;
}

/* Measured first, so the joined text is one arena string. */
static char *mc__join(const mcollect *c, const char *sep)
{
    size_t sl = strlen(sep), n = mc__join_into(c, sep, sl, NULL);
    char *s = arena_alloc(c->a, n + 1);
    if (!s)
        return NULL;
    mc__join_into(c, sep, sl, s);
    s[n] = '\0';
    return s;
}

int mcollect_first(const mrule *ru, const mscope *s, arena_t *a, mval *v)
{
    mcursor cur;
    if (!ru->has_from || ru->value || ru->dflt || ru->to_list || ru->join ||
        ru->sum || mcursor_open(&cur, &ru->from, s))
        return MCOLLECT_OTHER;
    mfirst f;
    while (mcursor_next(&cur, &v->hit)) {
        if (!mfirst_of(v->hit.leaf, &f))
            continue;
        v->text = f.copy ? arena_strndup(a, f.text, f.len) : (char *)f.text;
        v->copied = f.copy;
        return v->text ? 1 : ERR_NOMEM;
    }
    return 0;
}

int mcollect_rule(mcollect *c, const mrule *ru, const mscope *s, arena_t *a)
{
    c->a = a;
    c->v = NULL; /* small[] is left uninitialised: filled as kept */
    c->n = c->cap = 0;
    c->all = ru->to_list || ru->join || ru->sum;
    c->join = ru->join != NULL;
    if (ru->has_from && ru->from.kind == MP_INDEX) {
        char idx[16], *d = idx + sizeof idx;
        uint32_t x = s->index;
        do /* not snprintf: one per group instance showed in the profile */
            *--d = (char)('0' + x % 10);
        while (x /= 10);
        return mc__keep_n(c, &(mhit){NULL, NULL, 0}, d,
                          (size_t)(idx + sizeof idx - d), 1);
    }
    if (ru->has_from && ru->value) {
        mhit h;
        if (mpath_present(&ru->from, s, &h) == 0)
            return mc__keep(c, &(mhit){h.node, NULL, 0}, ru->value, 0);
    } else if (ru->has_from) {
        mcursor cur;
        mhit h;
        int rc = 0;
        if (mcursor_open(&cur, &ru->from, s) == 0)
            while (!rc && mcursor_next(&cur, &h))
                rc = mc__take(c, &h);
        else
            rc = mpath_each(&ru->from, s, mc__take, c);
        if (rc < 0)
            return rc;
        if (c->n && ru->join) {
            c->v[0].text = mc__join(c, ru->join);
            c->n = c->v[0].text && c->v[0].text[0] ? 1 : 0;
        }
    }
    const char *fallback = c->n ? NULL : ru->dflt ? ru->dflt
                           : ru->has_from ? NULL : ru->value;
    if (fallback)
        return mc__keep(c, &(mhit){NULL, NULL, 0}, fallback, 0);
    return 0;
}
