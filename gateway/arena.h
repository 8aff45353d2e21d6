/* arena: bump allocation for everything that lives as long as one message
 * (parsed trees, canonical records). Reset between messages keeps memory
 * flat across millions of messages with no per-field free(). Capped. */
#ifndef EPORT_ARENA_H
#define EPORT_ARENA_H

#include <stddef.h>

typedef struct arena_block arena_block;

typedef struct arena {
    arena_block *head;   /* current block; older blocks chained behind */
    size_t used_total;   /* bytes handed out since the last reset */
    size_t max;          /* hard cap on used_total */
    arena_block *spare;  /* standard blocks kept by reset for reuse */
    size_t nspare;
} arena_t;

void arena_init(arena_t *a, size_t max);
/* Frees every block. */
void arena_free(arena_t *a);
/* Forgets every allocation; keeps the blocks (up to ARENA_KEEP bytes) for
 * reuse, so a per-message arena stops asking the kernel for fresh pages. */
void arena_reset(arena_t *a);

/* Borrowed memory valid until arena_reset/arena_free; NULL past the cap or
 * when out of memory. Aligned for any type. */
void *arena_alloc(arena_t *a, size_t n);
void *arena_zalloc(arena_t *a, size_t n);
/* NUL-terminated copy of s[0..n). */
char *arena_strndup(arena_t *a, const char *s, size_t n);
char *arena_strdup(arena_t *a, const char *s);

#endif
