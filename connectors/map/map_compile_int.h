/* map_compile_int: what the mapping compiler's two files share
 * (map_compile.c: the table and its rules; map_compile_rule.c: a rule's
 * options and conditions). Nothing else includes it. */
#ifndef EPORT_MAP_COMPILE_INT_H
#define EPORT_MAP_COMPILE_INT_H

#include "map_int.h"

/* One table being compiled: problems go to *tail, counted in nprob. */
typedef struct mcomp {
    const ydoc *d;
    const map_set *s;
    arena_t *a;
    map_problem ***tail;
    int nprob;
} mcomp;

/* A problem at n ("file:line:col: why"); returns ERR_CONFIG. */
int mcomp_bad(mcomp *c, const ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A problem for each key of n not in allowed (NULL-terminated). */
int mcomp_keys(mcomp *c, const ynode *n, const char *const *allowed);
/* map's scalar value at key, NULL when absent or not a scalar (a problem). */
const char *mcomp_scalar(mcomp *c, const ynode *map, const char *key);
/* text compiled into *p, or a problem at n. */
int mcomp_path(mcomp *c, const ynode *n, const char *text, mpath *p);
/* The set's code list named name, or NULL and a problem at n. */
const mcodes *mcomp_codes(mcomp *c, const ynode *n, const char *name);

/* map_compile_rule.c: v, one of names[] (NULL-terminated), as its index
 * in *out; else a problem at n. */
int mcomp_enum(mcomp *c, const ynode *n, const char *v,
               const char *const *names, int *out);
/* A `when` (one condition or a list) into *out. */
int mcomp_cond(mcomp *c, const ynode *n, mcond **out);
/* A field rule's options (codes, date, unit, checks, ...) into r. */
int mcomp_options(mcomp *c, const ynode *n, mrule *r);

#endif
