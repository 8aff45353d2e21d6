#include "tree.h"

#include <string.h>

#include "buf.h"

tnode *tree_newn(arena_t *a, const char *name, const char *s, size_t n)
{
    tnode *t = arena_zalloc(a, sizeof *t);
    if (!t)
        return NULL;
    size_t nl = strlen(name);
    /* short names (segment tags, keys) share one allocation with the node's
     * value would save little; keep them separate and simple */
    t->name = nl ? arena_strndup(a, name, nl) : "";
    if (!t->name)
        return NULL;
    if (s) {
        char *v = arena_strndup(a, s, n);
        if (!v)
            return NULL;
        t->value = v;
        t->vlen = (uint32_t)n;
    }
    return t;
}

tnode *tree_new(arena_t *a, const char *name, const char *value)
{
    return tree_newn(a, name, value, value ? strlen(value) : 0);
}

tnode *tree_add(tnode *parent, tnode *child)
{
    if (parent->last)
        parent->last->next = child;
    else
        parent->kids = child;
    parent->last = child;
    parent->nkids++;
    parent->flags &= ~(uint32_t)TN_SEQ; /* child need not follow last */
    return child;
}

tnode *tree_add_new(arena_t *a, tnode *parent, const char *name,
                    const char *value)
{
    tnode *t = tree_new(a, name, value);
    return t ? tree_add(parent, t) : NULL;
}

tnode *tree_find(const tnode *n, const char *name)
{
    for (tnode *k = n->kids; k; k = k->next)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

int tree_equal(const tnode *a, const tnode *b)
{
    if (!a || !b)
        return a == b;
    uint32_t flags = (a->flags ^ b->flags) & ~(uint32_t)TN_SEQ;
    if (strcmp(a->name, b->name) || flags || a->nkids != b->nkids ||
        !a->value != !b->value || (a->value && strcmp(a->value, b->value)))
        return 0;
    for (a = a->kids, b = b->kids; a && b; a = a->next, b = b->next)
        if (!tree_equal(a, b))
            return 0;
    return 1;
}

static int tree__dump(const tnode *n, buf_t *out, int depth)
{
    int rc = 0;
    for (int i = 0; i < depth && !rc; i++)
        rc = buf_add(out, "  ", 2);
    if (!rc)
        rc = buf_adds(out, n->name[0] ? n->name : "-");
    if (!rc && n->value) {
        rc = buf_addc(out, '=');
        for (const char *p = n->value; !rc && *p; p++)
            rc = (*p == '\n') ? buf_add(out, "\\n", 2) : buf_addc(out, *p);
    }
    if (!rc)
        rc = buf_addc(out, '\n');
    for (const tnode *k = n->kids; k && !rc; k = k->next)
        rc = tree__dump(k, out, depth + 1);
    return rc;
}

int tree_dump(const tnode *n, buf_t *out)
{
    return tree__dump(n, out, 0);
}
