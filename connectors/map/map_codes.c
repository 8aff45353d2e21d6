/* Code lists: local code -> canonical value, looked up for every coded
 * field of every message, so they are open-addressed hash tables built at
 * load. The reverse direction takes the first key written for a value. */
#include <math.h>
#include <string.h>

#include "map_int.h"
#include "xform.h"

struct mcodes {
    const char *name;
    const char **keys, **vals; /* in file order */
    uint32_t n;
    uint32_t *slots; /* index+1 into keys, 0 = empty; size is a power of 2 */
    uint32_t mask;
    /* each value read as a number once at load (NaN: not one), since a
     * unit table's factor is wanted for every quantity of every message */
    double *factors;
};

static uint32_t mc__hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a: short keys, good spread */
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static int mc__index(mcodes *c, arena_t *a)
{
    uint32_t size = 8;
    while (size < c->n * 2)
        size *= 2;
    c->mask = size - 1;
    c->slots = arena_zalloc(a, size * sizeof *c->slots);
    if (!c->slots)
        return ERR_NOMEM;
    c->factors = arena_alloc(a, (c->n + 1) * sizeof *c->factors);
    if (!c->factors)
        return ERR_NOMEM;
    for (uint32_t i = 0; i < c->n; i++) {
        if (xform_number(c->vals[i], '.', &c->factors[i], NULL))
            c->factors[i] = NAN;
        uint32_t h = mc__hash(c->keys[i]) & c->mask;
        while (c->slots[h])
            h = (h + 1) & c->mask;
        c->slots[h] = i + 1;
    }
    return 0;
}

static int mc__entries(const ydoc *d, const ynode *codes, mcodes *c,
                       arena_t *a, err_t *e)
{
    c->keys = arena_alloc(a, (codes->nkids + 1) * sizeof *c->keys);
    c->vals = arena_alloc(a, (codes->nkids + 1) * sizeof *c->vals);
    if (!c->keys || !c->vals)
        return err_set(e, ERR_NOMEM, "%s: out of memory", d->file);
    for (const ynode *k = codes->kids; k; k = k->next) {
        if (k->type != YD_SCALAR)
            return ydoc_err(d, k, e, ERR_CONFIG,
                            "code '%s': value must be text", k->key);
        for (uint32_t i = 0; i < c->n; i++)
            if (strcmp(c->keys[i], k->key) == 0)
                return ydoc_err(d, k, e, ERR_CONFIG,
                                "code '%s' listed twice", k->key);
        c->keys[c->n] = k->key;
        c->vals[c->n++] = k->value;
    }
    return 0;
}

int mcodes_load(const ydoc *d, arena_t *a, mcodes **out, err_t *e)
{
    const ynode *r = d->root;
    if (!r || r->type != YD_MAP)
        return ydoc_err(d, r, e, ERR_CONFIG, "a code list is a mapping "
                        "with 'codelist' and 'codes'");
    for (const ynode *k = r->kids; k; k = k->next)
        if (strcmp(k->key, "codelist") && strcmp(k->key, "description") &&
            strcmp(k->key, "source") && strcmp(k->key, "codes"))
            return ydoc_err(d, k, e, ERR_CONFIG, "unknown key '%s' (expected "
                            "codelist, description, source, codes)", k->key);
    const char *name = ydoc_str(r, "codelist");
    const ynode *codes = ydoc_get(r, "codes");
    if (!name)
        return ydoc_err(d, r, e, ERR_CONFIG, "'codelist' (its name) is required");
    if (!codes || codes->type != YD_MAP || !codes->nkids)
        return ydoc_err(d, codes ? codes : r, e, ERR_CONFIG,
                        "'codes' must map local codes to canonical values");
    mcodes *c = arena_zalloc(a, sizeof *c);
    if (!c)
        return err_set(e, ERR_NOMEM, "%s: out of memory", d->file);
    c->name = name;
    int rc = mc__entries(d, codes, c, a, e);
    if (!rc && (rc = mc__index(c, a)))
        err_set(e, rc, "%s: out of memory", d->file);
    if (!rc)
        *out = c;
    return rc;
}

const char *mcodes_name(const mcodes *c) { return c->name; }

/* Position of key in keys[], or -1. */
static int mc__find(const mcodes *c, const char *key)
{
    uint32_t h = mc__hash(key) & c->mask;
    for (uint32_t i; (i = c->slots[h]) != 0; h = (h + 1) & c->mask)
        if (strcmp(c->keys[i - 1], key) == 0)
            return (int)i - 1;
    return -1;
}

const char *mcodes_get(const mcodes *c, const char *key)
{
    int i = mc__find(c, key);
    return i < 0 ? NULL : c->vals[i];
}

const char *mcodes_key_of(const mcodes *c, const char *val)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (strcmp(c->vals[i], val) == 0)
            return c->keys[i];
    return NULL;
}

int mcodes_factor(const mcodes *c, const char *key, double *out)
{
    int i = key ? mc__find(c, key) : -1;
    if (i < 0)
        return ERR_NOTFOUND;
    if (isnan(c->factors[i]))
        return ERR_INVALID;
    *out = c->factors[i];
    return 0;
}
