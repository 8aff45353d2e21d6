/* The message index (mindex): a flat message's top-level nodes by
 * position, and for each name its first and last position and the chain
 * of its occurrences, so that a path's first step visits only the nodes
 * of its own name. Positions let a group instance or a split record be a
 * range [lo, hi) of the one index the whole message shares. */
#include <string.h>

#include "map_int.h"

/* Adds position i to its name's chain; 0, or -1 when the table is full. */
static int mi__add(mindex *ix, uint32_t i, uint32_t *used)
{
    uint32_t code = ix->code[i], h = mindex_hash(code);
    while (ix->key[h] && ix->key[h] != code)
        h = (h + 1) & (MINDEX_SLOTS - 1);
    if (ix->key[h]) {
        ix->next[ix->last[h]] = i;
        ix->last[h] = i;
        return 0;
    }
    if (++*used > MINDEX_SLOTS / 2)
        return -1; /* keep probe chains short */
    ix->key[h] = code;
    ix->first[h] = ix->last[h] = i;
    return 0;
}

int mindex_build(mindex *ix, const tnode *first, uint32_t count, arena_t *a)
{
    memset(ix->key, 0, sizeof ix->key);
    ix->n = count;
    ix->node = arena_alloc(a, (count + 1) * sizeof *ix->node);
    ix->code = arena_alloc(a, (count + 1) * sizeof *ix->code);
    ix->next = arena_alloc(a, (count + 1) * sizeof *ix->next);
    if (!ix->node || !ix->code || !ix->next)
        return -1;
    uint32_t i = 0, used = 0;
    for (const tnode *n = first; n && i < count; n = n->next, i++) {
        ix->node[i] = n;
        ix->code[i] = mname_code(n->name);
        ix->next[i] = count;
        /* an unnamed node has code 0, the free slot's: left out, since no
         * path step can name it */
        if (ix->code[i] && mi__add(ix, i, &used))
            return -1;
    }
    return i == count ? 0 : -1;
}

int mtagset_build(mtagset *s, const uint32_t *codes, uint32_t n, arena_t *a)
{
    uint32_t size = 8;
    while (size < 2 * n)
        size *= 2; /* at most half full: probes stay short */
    s->mask = size - 1;
    s->slot = arena_zalloc(a, size * sizeof *s->slot);
    if (!s->slot)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!codes[i] || (codes[i] >> 24) || mtagset_has(s, codes[i]))
            continue;
        uint32_t h = (codes[i] * 0x9E3779B1u) >> 16 & s->mask;
        while (s->slot[h])
            h = (h + 1) & s->mask;
        s->slot[h] = codes[i];
    }
    return 0;
}
