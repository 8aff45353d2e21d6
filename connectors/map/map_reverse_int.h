/* map_reverse_int: what the reverse runner's two files share (map.h's
 * map_reverse): the state of one record written back, and the writers of
 * one rule's value (map_reverse_field.c), which the structure's walk
 * (map_reverse.c: groups, split documents) calls for each field and
 * constant. */
#ifndef EPORT_MAP_REVERSE_INT_H
#define EPORT_MAP_REVERSE_INT_H

#include "map_int.h"

typedef struct mrev {
    const map_def *d;
    arena_t *a;
    err_t *e;
    int json;
    uint8_t *done[MO__COUNT]; /* per array: elements already written */
    const char *join;         /* the join of the rule being written */
    int dry;                  /* claim fields and elements, write nothing */
} mrev;

typedef struct mwritten { /* fields already written for one object */
    uint64_t bits[2];
} mwritten;

/* Writes field rule ru's value from base (a record or an element) at its
 * path in scope s, unless w says the field is written already; a
 * constant rule's constant. 0, or < 0 with v->e set. */
int mrv_field(mrev *v, const mrule *ru, mscope *s, const void *base,
              mwritten *w);
int mrv_const(mrev *v, const mrule *ru, mscope *s);

#endif
