/* buf: a growable byte buffer with a hard cap, so no input can make the
 * node allocate without bound (after curl's dynbuf). The content is always
 * NUL-terminated for convenience; len excludes the NUL. */
#ifndef EPORT_BUF_H
#define EPORT_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *p;       /* owned; NULL until first append */
    size_t len;
    size_t cap;    /* allocated bytes */
    size_t max;    /* hard limit on len */
} buf_t;

/* No allocation happens here; max is the largest len ever allowed. */
void buf_init(buf_t *b, size_t max);
/* Frees the storage; b may be reused after buf_init. */
void buf_free(buf_t *b);
/* Keeps the storage, forgets the content. */
void buf_reset(buf_t *b);

/* Append; ERR_TOOBIG past max, ERR_NOMEM when allocation fails. On failure
 * the buffer is left as it was. */
int buf_add(buf_t *b, const void *data, size_t n);
int buf_adds(buf_t *b, const char *s);
/* One byte; inline because JSON and EDIFACT writers call it per token. */
static inline int buf_addc(buf_t *b, char c)
{
    if (b->len + 1 < b->cap && b->len < b->max) {
        b->p[b->len++] = c;
        b->p[b->len] = '\0';
        return 0;
    }
    return buf_add(b, &c, 1);
}
/* Room for n more bytes and the NUL at b->p + b->len, for writers that
 * fill it directly and then buf_commit what they wrote (fewer bounds
 * checks than one buf_add per token); 0, ERR_TOOBIG or ERR_NOMEM. Inline:
 * writers reserve once per value, and there is room nearly always. */
int buf_grow(buf_t *b, size_t n); /* buf_reserve without room */
static inline int buf_reserve(buf_t *b, size_t n)
{
    if (n < b->cap - b->len && n <= b->max - b->len)
        return 0;
    return buf_grow(b, n);
}
/* Counts n bytes written after a buf_reserve of at least n. */
static inline void buf_commit(buf_t *b, size_t n)
{
    b->len += n;
    b->p[b->len] = '\0';
}
int buf_printf(buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf_t *b, const char *fmt, va_list ap);

/* Hands the storage to the caller (free() it); b is left empty. */
char *buf_take(buf_t *b);

#endif
