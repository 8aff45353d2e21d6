#include "buf.h"
#include "err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf_t *b, size_t max)
{
    b->p = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void buf_free(buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void buf_reset(buf_t *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

/* Make room for n more bytes plus the NUL, doubling to amortise. */
static int buf__grow(buf_t *b, size_t n)
{
    /* the n bytes and the NUL must fit under max and in a size_t */
    if (n > b->max - b->len || n >= SIZE_MAX - b->len)
        return ERR_TOOBIG;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    /* max == SIZE_MAX means no cap: max + 1 would wrap to 0 */
    size_t lim = b->max < SIZE_MAX ? b->max + 1 : SIZE_MAX;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > lim / 2 ? lim : cap * 2;
    if (cap > lim)
        cap = lim;
    char *p = realloc(b->p, cap);
    if (!p)
        return ERR_NOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int buf_add(buf_t *b, const void *data, size_t n)
{
    if (n < b->cap - b->len && n <= b->max - b->len) {
        /* room already: the common case on every hot path */
        memcpy(b->p + b->len, data, n);
        b->len += n;
        b->p[b->len] = '\0';
        return 0;
    }
    int rc = buf__grow(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int buf_grow(buf_t *b, size_t n)
{
    return buf__grow(b, n);
}

int buf_adds(buf_t *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}


int buf_vprintf(buf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return ERR_INVALID;
    if ((size_t)n < sizeof small)
        return buf_add(b, small, (size_t)n);
    int rc = buf__grow(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *buf_take(buf_t *b)
{
    char *p = b->p;
    if (!p)
        p = calloc(1, 1);
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}
