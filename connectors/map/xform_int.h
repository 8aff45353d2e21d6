/* xform_int: what the pieces of xform share and nothing outside them sees:
 * the bounded output writer (xform.c), and the pattern and ISO readers and
 * writer (xform_date.c) that the EDIFACT 2379 codes (xform_edi.c) are built
 * on. The public API stays xform.h; only connectors/map/xform*.c include
 * this. */
#ifndef EPORT_XFORM_INT_H
#define EPORT_XFORM_INT_H

#include <stddef.h>

#include "err.h"
#include "xform.h"

/* Quoted input is cut here so one bad field cannot flood the message. */
#define XF_Q 64

/* ---- output writer (xform.c): bounded, NUL-terminated, overflow kept ---- */

typedef struct {
    char *p, *end;  /* end: the byte kept for the NUL */
    int over;
} xform__w;

/* Inline: every date written is some twenty of these calls. */
static inline void xform__putc(xform__w *w, char c)
{
    if (w->p < w->end)
        *w->p++ = c;
    else
        w->over = 1;
}

/* v in exactly width (at most 8) digits, zero-padded. */
static inline void xform__putn(xform__w *w, int v, int width)
{
    char d[8];
    for (int k = width - 1; k >= 0; k--, v /= 10)
        d[k] = (char)('0' + v % 10);
    if (w->end - w->p >= width) { /* the usual case: no check per digit */
        for (int k = 0; k < width; k++)
            w->p[k] = d[k];
        w->p += width;
        return;
    }
    for (int k = 0; k < width; k++)
        xform__putc(w, d[k]);
}

static inline void xform__sepn(xform__w *w, char sep, int v, int width)
{
    xform__putc(w, sep);
    xform__putn(w, v, width);
}
/* NUL-terminates; ERR_TOOBIG if anything did not fit. */
int xform__wdone(xform__w *w);

/* ---- patterns and ISO 8601 (xform_date.c) ---- */

/* Checks a pattern; returns its precision (enum xform_prec) or ERR_CONFIG. */
int xform__scan(const char *pat, err_t *e);
/* A checked pattern read once into its items (field id, or -1 and the
 * literal byte), so that reading a date does not tokenise the pattern
 * again: the EDIFACT codes' patterns are compiled once per process. */
#define XF_CPAT_MAX 64
typedef struct xform__cpat {
    signed char f[XF_CPAT_MAX];
    char lit[XF_CPAT_MAX];
    unsigned n;
    unsigned width; /* characters of a date it reads */
    int prec;       /* enum xform_prec */
} xform__cpat;
/* 0, or ERR_CONFIG for a pattern xform_pattern_check refuses. */
int xform__pcompile(const char *pat, xform__cpat *c);
/* Parses in[0..n) with a compiled pattern. */
int xform__pat_dt(const xform__cpat *c, const char *in, size_t n,
                  xform_dt *dt, err_t *e);
/* Writes dt with a checked pattern (2-digit years only 1970-2069). */
int xform__pwrite(const char *pat, const xform_dt *dt, xform__w *w,
                  err_t *e);
/* ERR_INVALID if dt is a date alone and prec asks for a time of day. */
int xform__fits(const xform_dt *dt, int prec, const char *iso,
                const char *what, const char *name, err_t *e);
/* width digits at s[*i] into *v; moves *i only on success (1, else 0). */
int xform__dig(const char *s, size_t n, size_t *i, int width, int *v);
/* ISO 8601 text s[0..n) into dt, checked against the calendar. */
int xform__iso_read(const char *s, size_t n, xform_dt *dt, err_t *e);

/* The zone of ISO text at s[*i..n): none (*i == n), 'Z' or +hh:mm/-hh:mm
 * into dt, *i moved past it; 0 when malformed (hh is checked later). */
int xform__iso_zone(const char *s, size_t n, size_t *i, xform_dt *dt);
/* Days in month m (1-12) of year y, leap years counted. */
int xform__dim(int y, int m);

#endif
