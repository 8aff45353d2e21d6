/* arena: bump allocation for everything that lives as long as one message
 * (parsed trees, canonical records). Reset between messages keeps memory
 * flat across millions of messages with no per-field free(). Capped. */
#ifndef EPORT_ARENA_H
#define EPORT_ARENA_H

#include <stddef.h>

typedef struct arena_block arena_block;

typedef struct arena {
    arena_block *head;   /* current block; older blocks chained behind */
    unsigned char *cur;  /* head's first free byte (NULL without a head) */
    size_t room;         /* free bytes from cur */
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

#define ARENA_ALIGN 16
#define ARENA_INLINE_MAX 65536 /* larger sizes go straight to the slow path */

/* arena_alloc when the current block lacks room (or n is 0 or large). */
void *arena_alloc_grow(arena_t *a, size_t n);

/* Borrowed memory valid until arena_reset/arena_free; NULL past the cap or
 * when out of memory. Aligned for any type. Inline while the current block
 * has room: parsers take a piece for every segment and the mapper for
 * every value, and a call cost as much as the allocation. */
static inline void *arena_alloc(arena_t *a, size_t n)
{
    size_t r = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (n - 1 < ARENA_INLINE_MAX && r <= a->room &&
        r <= a->max - a->used_total) {
        void *p = a->cur;
        a->cur += r;
        a->room -= r;
        a->used_total += r;
        return p;
    }
    return arena_alloc_grow(a, n);
}
/* Room for up to n bytes at the next allocation, not yet taken: for a
 * writer that learns how much it needs only while writing (the EDIFACT
 * parser finds a segment's element count as it lays the segment out).
 * Valid until the next allocation; arena_commit then takes the first
 * used <= n bytes of it. NULL where arena_alloc(a, n) would be. */
void *arena_reserve_grow(arena_t *a, size_t n);
static inline void *arena_reserve(arena_t *a, size_t n)
{
    size_t r = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (n - 1 < ARENA_INLINE_MAX && r <= a->room &&
        r <= a->max - a->used_total)
        return a->cur;
    return arena_reserve_grow(a, n);
}
static inline void arena_commit(arena_t *a, size_t used)
{
    size_t r = (used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    a->cur += r;
    a->room -= r;
    a->used_total += r;
}
void *arena_zalloc(arena_t *a, size_t n);
/* NUL-terminated copy of s[0..n). */
char *arena_strndup(arena_t *a, const char *s, size_t n);
char *arena_strdup(arena_t *a, const char *s);
/* printf into the arena; NULL when it does not fit. */
char *arena_printf(arena_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
