#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 65536

struct arena_block {
    arena_block *next;
    size_t size; /* the head's free part is arena.cur/room */
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

#define ARENA_KEEP 64 /* standard blocks (4 MiB) a reset keeps */

void arena_init(arena_t *a, size_t max)
{
    a->head = a->spare = NULL;
    a->cur = NULL;
    a->room = 0;
    a->used_total = 0;
    a->nspare = 0;
    a->max = max;
}

static void arena__free_list(arena_block *b)
{
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
}

void arena_free(arena_t *a)
{
    arena__free_list(a->head);
    arena__free_list(a->spare);
    a->head = a->spare = NULL;
    a->cur = NULL;
    a->room = 0;
    a->used_total = 0;
    a->nspare = 0;
}

/* Standard-size blocks go to the spare list (up to ARENA_KEEP); larger
 * ones, made for one big allocation, go back to the system. */
void arena_reset(arena_t *a)
{
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        if (b->size == ARENA_BLOCK && a->nspare < ARENA_KEEP) {
            b->next = a->spare;
            a->spare = b;
            a->nspare++;
        } else {
            free(b);
        }
        b = next;
    }
    a->head = NULL;
    a->cur = NULL;
    a->room = 0;
    a->used_total = 0;
}

static arena_block *arena__block_new(arena_t *a, size_t need)
{
    if (need <= ARENA_BLOCK && a->spare) {
        arena_block *b = a->spare;
        a->spare = b->next;
        a->nspare--;
        b->next = NULL;
        return b;
    }
    size_t size = need > ARENA_BLOCK ? need : ARENA_BLOCK;
    if (size > SIZE_MAX / 2)
        return NULL; /* cannot succeed; and header + size must not wrap */
    arena_block *b = malloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->size = size;
    b->next = NULL;
    return b;
}

void *arena_alloc_grow(arena_t *a, size_t n)
{
    if (n > SIZE_MAX - (ARENA_ALIGN - 1))
        return NULL; /* rounding up would wrap to a tiny size */
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (n == 0)
        n = ARENA_ALIGN;
    if (n > a->max - a->used_total)
        return NULL;
    if (a->room < n) {
        arena_block *nb = arena__block_new(a, n);
        if (!nb)
            return NULL;
        nb->next = a->head;
        a->head = nb;
        a->cur = nb->data;
        a->room = nb->size;
    }
    void *p = a->cur;
    a->cur += n;
    a->room -= n;
    a->used_total += n;
    return p;
}

/* A fresh block when the current one lacks room, then the allocation
 * given back: the block stays head, so the room is there for the commit. */
void *arena_reserve_grow(arena_t *a, size_t n)
{
    unsigned char *p = arena_alloc_grow(a, n);
    if (p) {
        size_t r = (size_t)(a->cur - p);
        a->cur = p;
        a->room += r;
        a->used_total -= r;
    }
    return p;
}

void *arena_zalloc(arena_t *a, size_t n)
{
    void *p = arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena_t *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(arena_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = n < 0 ? NULL : arena_alloc(a, (size_t)n + 1);
    if (p) {
        va_start(ap, fmt);
        vsnprintf(p, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return p;
}
