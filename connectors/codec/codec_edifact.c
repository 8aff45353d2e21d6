/* EDIFACT parser. Each segment is read twice while it is in L1: a scan
 * that records where its components are (16 bytes at a time by SSE2
 * bitmask where the bytes allow, else through a class table), then a build
 * that puts all its nodes and unescaped strings in one arena block. Bytes
 * outside printable ASCII send only their own segment through the syntax
 * level's check or ISO 8859 conversion, so clean input pays nothing. */
#include "codec_edifact.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Byte classes of the tokeniser; 0 must be "ordinary" so the hot loop is
 * one table load and one test per byte. */
enum { EDI__NORM, EDI__COMP, EDI__ELEM, EDI__SEG, EDI__REL, EDI__NL, EDI__ODD };

/* What the syntax level asks of a segment holding non-ASCII or control
 * bytes (only such segments are looked at twice). */
enum edi__level { EDI__UTF8, EDI__ASCII, EDI__CONVERT, EDI__UNKNOWN,
                  EDI__TRUSTED };

enum { EDI__E_ELEMS = 1, EDI__E_COMPS, EDI__E_LONG };

enum edi__kind { EDI__BODY, EDI__UNB, EDI__UNG, EDI__UNH, EDI__UNT, EDI__UNE,
                 EDI__UNZ };

/* One component as found by the first pass: raw bytes, release
 * characters still in. */
typedef struct edi__comp {
    const char *s;
    uint32_t n, rel;
    uint32_t line, col;
} edi__comp;

/* edi__scan's running state, kept out of edi__p so it stays in
 * registers: the component being read and the counts so far. */
typedef struct edi__cur {
    const char *s;
    uint32_t rel, line, col;
    uint32_t ncomp, nelem;
} edi__cur;

/* Parser state, malloc'd once per edi_parse call and freed by it. */
typedef struct edi__p {
    arena_t *a;  /* the caller's: envelope data every message shares */
    arena_t *ma; /* message trees and diags: b->msg_arena when streaming */
    int emit_rc; /* what the caller's emit returned, if it stopped us */
    codec_batch *b;
    err_t *e; /* the caller's, for errors that end the parse */
    const char *end; /* end of the text being tokenised */
    edi_seps seps;
    uint8_t cls[256];
    uint32_t line, lcol0; /* current line; column of *lp */
    const char *lp;       /* first byte of the current line */
    /* current segment: ss = tag, se = its terminator */
    const char *ss, *se;
    const char *tend; /* end of the buffer ss is in: SIMD loads stop here */
    char vrel;        /* release character, or one never special */
    char tag[4];
    int tagok;
    uint32_t sline, scol, segno, nelem, ncomp, odd;
    uint32_t err, err_el, err_line, err_col; /* first overflow, if any */
    /* interchange */
    int in_ic, in_grp, level, trusted, stray, stop;
    int taint; /* current segment has bytes its syntax level forbids */
    const char *cs, *grp_ref;
    codec_meta icm; /* envelope data every message of it shares */
    uint32_t ic_segs, ic_msgs, ic_groups, grp_msgs;
    /* message */
    codec_msg *m;
    tnode *root;
    uint32_t mseq;
    int broken;
    buf_t conv; /* a segment converted from ISO 8859 */
    /* per segment, not cleared between calls (kept last for that) */
    uint32_t efirst[EDI_MAX_ELEMENTS + 1];
    edi__comp comps[EDI_MAX_COMPONENTS];
} edi__p;

static const char edi__empty[] = "";

int edi_seps_from_una(edi_seps *s, const char *u, err_t *e)
{
    static const char *const what[] = {"component separator",
        "element separator", "decimal mark", "release character",
        "repetition separator", "segment terminator"};
    for (int i = 0; i < 6; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
            (c >= 'a' && c <= 'z') || c == 0)
            return err_set(e, ERR_INVALID, "%s 0x%02X is not a usable "
                           "service character", what[i], c);
        if ((c == '\r' || c == '\n') && i != 2 && i != 5)
            return err_set(e, ERR_INVALID, "%s may not be a line break",
                           what[i]);
        for (int k = 0; k < i; k++)
            if (i != 2 && k != 2 && u[k] == u[i] && u[i] != ' ')
                return err_set(e, ERR_INVALID, "%s and %s are both '%c'",
                               what[k], what[i], u[i]);
    }
    if (u[1] == ' ' || u[0] == ' ' || u[5] == ' ')
        return err_set(e, ERR_INVALID, "separators and terminator may not "
                       "be spaces");
    *s = (edi_seps){u[0], u[1], u[2], u[3], u[4], u[5]};
    return 0;
}

static void edi__classes(edi__p *p)
{
    memset(p->cls, EDI__NORM, sizeof p->cls);
    memset(p->cls, EDI__ODD, 0x20);
    memset(p->cls + 0x7F, EDI__ODD, 0x81);
    p->cls['\r'] = EDI__NORM;
    p->cls['\n'] = EDI__NL;
    if (p->seps.rel != ' ')
        p->cls[(unsigned char)p->seps.rel] = EDI__REL;
    p->cls[(unsigned char)p->seps.comp] = EDI__COMP;
    p->cls[(unsigned char)p->seps.elem] = EDI__ELEM;
    p->cls[(unsigned char)p->seps.seg] = EDI__SEG;
    /* with no release character, match a byte that is special anyway */
    p->vrel = p->seps.rel != ' ' ? p->seps.rel : '\n';
}

static void edi__seps_default(edi__p *p)
{
    edi_seps_from_una(&p->seps, EDI_UNA_DEFAULT, NULL);
    edi__classes(p);
}

static void edi__newline(edi__p *p, const char *nl)
{
    p->line++;
    p->lp = nl + 1;
    p->lcol0 = 1;
}

static uint32_t edi__col(const edi__p *p, const char *q)
{
    return (uint32_t)(q - p->lp) + p->lcol0;
}

/* Keeps line numbers right over bytes the tokeniser does not look at. */
static void edi__skip_lines(edi__p *p, const char *q, const char *e)
{
    while ((q = memchr(q, '\n', (size_t)(e - q))) != NULL)
        edi__newline(p, q++);
}

/* Diag "segment N (TAG)[ element E[ component C]]: what" on the open
 * message (which is then broken) or, outside one, on the input. */
static int edi__diag(edi__p *p, int code, uint32_t el, uint32_t co,
                     uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static int edi__diag(edi__p *p, int code, uint32_t el, uint32_t co,
                     uint32_t line, uint32_t col, const char *fmt, ...)
{
    char what[ERR_MSG_MAX], where[96] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (p->segno) {
        int k = snprintf(where, sizeof where, "segment %u (%s)", p->segno,
                         p->tag);
        if (el)
            k += snprintf(where + k, sizeof where - (size_t)k,
                          " element %u", el);
        if (el && co)
            snprintf(where + k, sizeof where - (size_t)k, " component %u", co);
        strcat(where, ": ");
    }
    if (p->m)
        p->broken = 1;
    return codec_diag_add(p->b, p->m, p->m ? p->ma : p->a, code, line, col,
                          "%s%s", where, what);
}

/* Same, placed at element el / component co of the current segment. */
static int edi__sdiag(edi__p *p, int code, uint32_t el, uint32_t co,
                      const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int edi__sdiag(edi__p *p, int code, uint32_t el, uint32_t co,
                      const char *fmt, ...)
{
    char what[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    uint32_t line = p->sline, col = p->scol;
    if (el && el <= p->nelem) {
        uint32_t i = p->efirst[el - 1] + (co ? co - 1 : 0);
        if (i < p->efirst[el])
            line = p->comps[i].line, col = p->comps[i].col;
    }
    return edi__diag(p, code, el, co, line, col, "%s", what);
}

/* The first unreleased terminator at or after q, or NULL. */
static const char *edi__seg_end(const edi__p *p, const char *q)
{
    const char *s = q;
    for (;;) {
        const char *e = memchr(q, p->seps.seg, (size_t)(p->end - q));
        if (!e || p->seps.rel == ' ')
            return e;
        const char *r = e;
        while (r > s && r[-1] == p->seps.rel)
            r--;
        if (((e - r) & 1) == 0)
            return e;
        q = e + 1;
    }
}

static void edi__overflow(edi__p *p, uint32_t what, uint32_t el,
                          const char *at)
{
    if (p->err)
        return;
    p->err = what;
    p->err_el = el;
    p->err_line = p->line;
    p->err_col = edi__col(p, at);
}

/* Close the current component; q is at its separator. */
static inline void edi__comp_end(edi__p *p, edi__cur *c, const char *q)
{
    if ((size_t)(q - c->s) > EDI_MAX_VALUE ||
        c->ncomp >= EDI_MAX_COMPONENTS) {
        edi__overflow(p, c->ncomp >= EDI_MAX_COMPONENTS ? EDI__E_COMPS
                                                        : EDI__E_LONG,
                      c->nelem, c->s);
        if (c->ncomp >= EDI_MAX_COMPONENTS)
            return;
    }
    p->comps[c->ncomp++] =
        (edi__comp){c->s, (uint32_t)(q - c->s), c->rel, c->line, c->col};
}

/* A separator at q ends the current component; an element separator
 * also starts an element. Returns 0 at the terminator. Branch-free in the
 * element/component choice, which is unpredictable. */
static inline int edi__sep(edi__p *p, const char *q, uint32_t is_elem,
                           uint32_t is_seg, edi__cur *c)
{
    edi__comp_end(p, c, q);
    p->efirst[c->nelem] = c->ncomp;
    if (is_seg) {
        p->se = q;
        return 0;
    }
    if (__builtin_expect(c->nelem >= EDI_MAX_ELEMENTS, 0)) {
        if (is_elem)
            edi__overflow(p, EDI__E_ELEMS, c->nelem, q);
    } else {
        c->nelem += is_elem;
    }
    c->s = q + 1;
    c->rel = 0;
    c->line = p->line;
    c->col = edi__col(p, q + 1);
    return 1;
}

/* Handles one byte the table marks (q at it) for edi__scan; returns the
 * byte after it, or NULL at the terminator. */
static inline const char *edi__token(edi__p *p, const char *q, uint8_t k,
                                     edi__cur *c)
{
    if (k >= EDI__REL) {
        if (k == EDI__REL) { /* the released byte is data, checked too */
            c->rel = 1;
            k = q + 1 < p->tend ? p->cls[(unsigned char)*++q] : EDI__NORM;
            if (k == EDI__NL)
                edi__newline(p, q);
            p->odd |= k == EDI__ODD;
        } else if (k == EDI__NL) {
            edi__newline(p, q);
        } else {
            p->odd = 1;
        }
        return q + 1;
    }
    return edi__sep(p, q, k == EDI__ELEM, k == EDI__SEG, c) ? q + 1 : NULL;
}

#if defined(__SSE2__)
/* Bitmasks of the 16 bytes at b (bit i = byte i). */
typedef struct edi__masks {
    uint32_t elem, seg, sep, rel, oth; /* oth: control, newline, non-ASCII */
} edi__masks;

static inline void edi__mask16(const edi__p *p, const char *b, edi__masks *m)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)b);
    __m128i el = _mm_cmpeq_epi8(v, _mm_set1_epi8(p->seps.elem));
    __m128i sg = _mm_cmpeq_epi8(v, _mm_set1_epi8(p->seps.seg));
    __m128i co = _mm_cmpeq_epi8(v, _mm_set1_epi8(p->seps.comp));
    __m128i o = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                             _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F)));
    m->elem = (uint32_t)_mm_movemask_epi8(el);
    m->seg = (uint32_t)_mm_movemask_epi8(sg);
    m->sep = (uint32_t)_mm_movemask_epi8(_mm_or_si128(co, _mm_or_si128(el,
                                                                         sg)));
    m->rel = (uint32_t)_mm_movemask_epi8(
        _mm_cmpeq_epi8(v, _mm_set1_epi8(p->vrel)));
    m->oth = (uint32_t)_mm_movemask_epi8(o);
}

/* One 16-byte block by bitmask; 0 when it needs the byte-wise path
 * (control or non-ASCII bytes, "??", or a release as the last byte). A
 * release hides the separator after it and marks its component. Sets
 * *done at the terminator. */
static inline int edi__block(edi__p *p, const char *q, edi__cur *c, int *done)
{
    edi__masks m;
    edi__mask16(p, q, &m);
    uint32_t end = m.seg & ~(m.rel << 1); /* the terminator, if here */
    if (end) { /* bytes past it do not count */
        uint32_t keep = ((end & -end) << 1) - 1;
        m.rel &= keep, m.oth &= keep;
    }
    if (m.oth || (m.rel & (m.rel << 1)) || (m.rel & 0x8000))
        return 0;
    uint32_t rel = m.rel;
    for (uint32_t sep = m.sep & ~(rel << 1); sep; sep &= sep - 1) {
        uint32_t pos = (uint32_t)__builtin_ctz(sep);
        c->rel |= (rel & ((1u << pos) - 1)) != 0;
        rel &= ~((2u << pos) - 1);
        if (!edi__sep(p, q + pos, m.elem >> pos & 1, m.seg >> pos & 1, c)) {
            *done = 1;
            return 1;
        }
    }
    c->rel |= rel != 0;
    return 1;
}
#endif

/* First pass over one segment (q just after the tag): record where every
 * component is and set p->se to the terminator; 0 when the text ends
 * first. Blocks of 16 bytes go by bitmask, others byte by byte through
 * the class table. */
static int edi__scan_cur(edi__p *p, const char *q, edi__cur *c)
{
    const uint8_t *cls = p->cls;
    const char *t = p->tend;
    for (;;) {
        const char *lim = t;
#if defined(__SSE2__)
        if (t - q >= 16) {
            int done = 0;
            if (edi__block(p, q, c, &done)) {
                if (done)
                    return 1;
                q += 16;
                continue;
            }
            lim = q + 16;
        }
#endif
        while (q < lim) {
            uint8_t k = cls[(unsigned char)*q];
            if (!k)
                q++;
            else if (!(q = edi__token(p, q, k, c)))
                return 1;
        }
        if (q >= t)
            return 0;
    }
}

static int edi__scan(edi__p *p, const char *q)
{
    p->nelem = p->ncomp = p->odd = p->err = 0;
    p->efirst[0] = 0;
    if (p->cls[(unsigned char)*q] == EDI__SEG) {
        p->se = q;
        return 1;
    }
    q++;
    edi__cur c = {q, 0, p->line, edi__col(p, q), 0, 1};
    int found = edi__scan_cur(p, q, &c);
    p->ncomp = c.ncomp;
    p->nelem = c.nelem;
    return found;
}

/* Copies s[0..n) to d without release characters. The SSE2 path stores
 * 16 bytes at a time, so d needs 16 bytes of slack past the result and
 * loads stay below tend. */
static uint32_t edi__unescape(char *d, const char *s, uint32_t n, char rel,
                              const char *tend)
{
    const char *e = s + n;
    char *d0 = d;
#if defined(__SSE2__)
    while (s < e && tend - s >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
        uint32_t m = (uint32_t)_mm_movemask_epi8(
            _mm_cmpeq_epi8(v, _mm_set1_epi8(rel)));
        size_t k = m ? (size_t)__builtin_ctz(m) : 16;
        if (k > (size_t)(e - s))
            k = (size_t)(e - s);
        _mm_storeu_si128((__m128i *)(void *)d, v);
        d += k, s += k;
        if (s < e && k < 16) { /* at a release character */
            if (s + 1 < e)
                s++;
            *d++ = *s++;
        }
    }
#else
    (void)tend;
#endif
    while (s < e) {
        if (*s == rel && s + 1 < e)
            s++;
        *d++ = *s++;
    }
    return (uint32_t)(d - d0);
}

/* Component value (element el, component co, 1-based) as a new string in
 * the arena; NULL when absent or empty. Bytes the syntax level forbids
 * become '?' so envelope data is always UTF-8. */
static char *edi__field(edi__p *p, uint32_t el, uint32_t co)
{
    if (el < 1 || el > p->nelem)
        return NULL;
    uint32_t i = p->efirst[el - 1] + co - 1;
    if (i >= p->efirst[el] || p->comps[i].n == 0)
        return NULL;
    const edi__comp *c = &p->comps[i];
    char *v = arena_alloc(p->a, c->n + 1);
    if (!v)
        return NULL;
    uint32_t n = c->n;
    if (c->rel)
        n = edi__unescape(v, c->s, c->n, p->seps.rel, c->s); /* no slack */
    else
        memcpy(v, c->s, n);
    v[n] = '\0';
    for (uint32_t k = 0; p->taint && k < n; k++)
        if ((unsigned char)v[k] < 0x20 || (unsigned char)v[k] > 0x7E)
            v[k] = '?';
    return v;
}

/* Where (element, component) the byte at q lies, for diags. */
static void edi__locate(const edi__p *p, const char *q, uint32_t *el,
                        uint32_t *co)
{
    *el = *co = 0;
    for (uint32_t i = 0; i < p->nelem; i++)
        for (uint32_t j = p->efirst[i]; j < p->efirst[i + 1]; j++)
            if (q >= p->comps[j].s && q <= p->comps[j].s + p->comps[j].n)
                *el = i + 1, *co = j - p->efirst[i] + 1;
}

static void edi__bad_byte(edi__p *p, size_t off, const char *why)
{
    uint32_t el, co;
    const char *q = p->ss + off;
    edi__locate(p, q, &el, &co);
    char what[128];
    snprintf(what, sizeof what, "byte 0x%02X %s", (unsigned char)*q, why);
    uint32_t line = p->sline, col = p->scol + (uint32_t)off;
    if (el) {
        const edi__comp *c = &p->comps[p->efirst[el - 1] + co - 1];
        line = c->line, col = c->col + (uint32_t)(q - c->s);
    }
    p->taint = 1;
    edi__diag(p, ERR_CHARSET, el, co, line, col, "%s", what);
}

/* ISO 8859 is ASCII-compatible, so a segment converts on its own; the
 * converted copy is tokenised again with line numbers restored after. */
static int edi__convert(edi__p *p)
{
    err_t ce;
    size_t n = (size_t)(p->se - p->ss) + 1;
    buf_reset(&p->conv);
    if (charset_to_utf8(p->cs, p->ss, n, &p->conv, &ce) < 0) {
        if (ce.code != ERR_CHARSET)
            return err_set(p->e, ce.code, "%s", ce.msg);
        size_t off = strtoul(ce.msg + 5, NULL, 10); /* "byte N: ..." */
        char why[64];
        snprintf(why, sizeof why, "is not valid %s", p->cs);
        edi__bad_byte(p, off < n ? off : 0, why);
        return 0;
    }
    uint32_t line = p->line, lcol0 = p->lcol0;
    const char *lp = p->lp;
    p->line = p->sline, p->lp = p->conv.p, p->lcol0 = p->scol;
    p->ss = p->conv.p;
    p->se = p->conv.p + p->conv.len - 1;
    p->tend = p->se + 1;
    edi__scan(p, p->ss + 3);
    p->line = line, p->lp = lp, p->lcol0 = lcol0;
    return 0;
}

/* Runs only for segments holding bytes outside printable ASCII. */
static int edi__check(edi__p *p)
{
    size_t n = (size_t)(p->se - p->ss), k;
    const char *nul = memchr(p->ss, '\0', n);
    if (nul) { /* values are C strings: no level may carry NUL */
        edi__bad_byte(p, (size_t)(nul - p->ss), "is not allowed in a value");
        return 0;
    }
    switch (p->level) {
    case EDI__ASCII:
        if ((k = charset_ascii_valid(p->ss, n)) < n)
            edi__bad_byte(p, k, "is not allowed by the syntax level");
        return 0;
    case EDI__UTF8:
    case EDI__UNKNOWN: /* still keep meta valid UTF-8 */
        if ((k = charset_utf8_valid(p->ss, n)) < n)
            edi__bad_byte(p, k, "is not valid UTF-8");
        return 0;
    case EDI__CONVERT:
        return edi__convert(p);
    default:
        return 0;
    }
}

static int edi__overflow_diag(edi__p *p)
{
    static const char *const what[] = {"", "more than 256 elements",
        "more than 1024 components", "value longer than 65536 bytes"};
    uint32_t el = p->err == EDI__E_ELEMS ? 0 : p->err_el;
    return edi__diag(p, ERR_TOOBIG, el, 0, p->err_line, p->err_col, "%s",
                     what[p->err]);
}

/* Trailing omitted components and elements are dropped, so the tree is
 * the same whether or not the sender wrote them. */
static uint32_t edi__ncomps(const edi__p *p, uint32_t i)
{
    uint32_t f = p->efirst[i], n = p->efirst[i + 1] - f;
    while (n > 1 && p->comps[f + n - 1].n == 0)
        n--;
    return n;
}

static uint32_t edi__nelems(const edi__p *p)
{
    uint32_t n = p->nelem;
    while (n > 0 && edi__ncomps(p, n - 1) == 1 &&
           p->comps[p->efirst[n - 1]].n == 0)
        n--;
    return n;
}

/* Fill the component nodes of element i into c; returns the next free
 * string byte. */
static char *edi__build_comps(const edi__p *p, tnode *c, uint32_t i,
                              uint32_t nc, char *str)
{
    for (uint32_t j = 0; j < nc; j++) {
        const edi__comp *r = &p->comps[p->efirst[i] + j];
        uint32_t n = r->n;
        if (__builtin_expect(r->rel, 0))
            n = edi__unescape(str, r->s, n, p->seps.rel, p->tend);
        else if (n <= 16 && r->s + 16 <= p->tend)
            memcpy(str, r->s, 16); /* fixed size: no libc call */
        else
            memcpy(str, r->s, n);
        str[n] = '\0';
        const char *v = n ? str : edi__empty;
        str += n ? n + 1 : 0;
        c[j] = (tnode){.name = edi__empty, .value = v, .vlen = n,
                       .line = r->line, .col = r->col, .seq = p->segno,
                       .next = j + 1 < nc ? &c[j + 1] : NULL};
    }
    return str;
}

/* Second pass: the segment's nodes, then its strings, in one arena
 * block. */
static tnode *edi__build(edi__p *p)
{
    uint32_t ne = edi__nelems(p);
    size_t nodes = (1 + (size_t)ne + p->ncomp) * sizeof(tnode);
    /* +16: short values are copied 16 bytes at a time */
    tnode *t = arena_alloc(p->ma, nodes + (size_t)(p->se - p->ss) +
                                      p->ncomp + 20);
    if (!t)
        return NULL;
    char *str = (char *)t + nodes;
    memcpy(str, p->tag, 4);
    t[0] = (tnode){.name = str, .nkids = ne, .line = p->sline,
                   .col = p->scol, .seq = p->segno,
                   .kids = ne ? &t[1] : NULL, .last = ne ? &t[ne] : NULL};
    str += 4;
    tnode *c = t + 1 + ne;
    for (uint32_t i = 0; i < ne; i++) {
        uint32_t nc = edi__ncomps(p, i);
        const edi__comp *r = &p->comps[p->efirst[i]];
        t[1 + i] = (tnode){.name = edi__empty, .nkids = nc, .line = r->line,
                           .col = r->col, .seq = p->segno, .kids = c,
                           .last = c + nc - 1,
                           .next = i + 1 < ne ? &t[2 + i] : NULL};
        str = edi__build_comps(p, c, i, nc, str);
        c += nc;
    }
    return t;
}


/* ---- envelope ---------------------------------------------------------- */

static int edi__nomem(edi__p *p)
{
    return err_set(p->e, ERR_NOMEM, "line %u: arena exhausted while parsing "
                   "EDIFACT", p->sline);
}

/* 1..18 digits, nothing else. */
static int edi__num(const char *s, uint64_t *v)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
        return 0;
    *v = strtoull(s, NULL, 10);
    return 1;
}

static const char *edi__join(edi__p *p, const char *x, const char *y)
{
    if (!x || !y)
        return x;
    size_t nx = strlen(x), ny = strlen(y);
    char *s = arena_alloc(p->a, nx + ny + 2);
    if (s) {
        memcpy(s, x, nx);
        s[nx] = ':';
        memcpy(s + nx + 1, y, ny + 1);
    }
    return s;
}

/* A diag with no "segment N" prefix (envelope segment missing). */
static void edi__missing(edi__p *p, const char *what, const char *fmt,
                         const char *ref)
{
    uint32_t segno = p->segno;
    p->segno = 0;
    edi__diag(p, ERR_SYNTAX, 0, 0, p->sline, p->scol, "missing %s for %s '%s'",
              what, fmt, ref ? ref : "");
    p->segno = segno;
}

static void edi__msg_end(edi__p *p)
{
    codec_msg *m = p->m;
    m->root = p->broken ? NULL : p->root;
    p->m = NULL;
    p->root = NULL;
    if (!p->b->emit)
        return;
    /* streaming: the caller takes the message now; its memory is reused
     * for the next one, so a 10,000-message interchange stays small */
    int rc = p->b->emit(p->b->emit_ctx, p->b, m);
    p->b->nemitted++;
    arena_reset(p->ma);
    if (rc) {
        p->emit_rc = rc;
        p->stop = 1;
    }
}

static void edi__close_msg(edi__p *p)
{
    if (!p->m)
        return;
    edi__missing(p, "UNT", "message", p->m->meta.message_ref);
    edi__msg_end(p);
}

/* Separators and syntax level fall back to the defaults between
 * interchanges: each one may have its own UNA and UNB. */
static void edi__ic_reset(edi__p *p)
{
    p->in_ic = p->in_grp = 0;
    p->level = p->trusted ? EDI__TRUSTED : EDI__UTF8;
    p->icm = (codec_meta){.format = "edifact"};
}

static void edi__close_ic(edi__p *p)
{
    if (p->in_grp)
        edi__missing(p, "UNE", "group", p->grp_ref);
    if (p->in_ic)
        edi__missing(p, "UNZ", "interchange", p->icm.interchange_ref);
    p->in_ic = p->in_grp = 0;
}

static void edi__sanitize(char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7E)
            *s = '?';
}

/* UNB element 1 decides how the rest of the interchange is checked. */
static void edi__unb_level(edi__p *p)
{
    edi__ic_reset(p);
    p->in_ic = 1;
    p->ic_msgs = p->ic_groups = 0;
    /* read before the level's byte check, so made printable here */
    char *id = edi__field(p, 1, 1), *ver = edi__field(p, 1, 2);
    const char *cs = charset_for_edifact(id);
    edi__sanitize(id);
    edi__sanitize(ver);
    p->icm.syntax = edi__join(p, id, ver);
    if (p->trusted)
        return;
    if (!cs) {
        p->level = EDI__UNKNOWN;
        edi__sdiag(p, ERR_CODE, 1, 0, "unknown syntax identifier '%s'",
                   id ? id : "");
    } else if (strcmp(cs, "ASCII") == 0) {
        p->level = EDI__ASCII;
    } else if (strcmp(cs, "UTF-8") == 0) {
        p->level = EDI__UTF8;
    } else {
        p->level = EDI__CONVERT;
        p->cs = cs;
    }
}

static int edi__digits(const char *s, size_t n)
{
    return strlen(s) == n && strspn(s, "0123456789") == n;
}

static int edi__range(const char *s, int lo, int hi)
{
    int v = (s[0] - '0') * 10 + (s[1] - '0');
    return v >= lo && v <= hi;
}

/* UNB S004 as ISO 8601: YYMMDD is taken as 20YY, CCYYMMDD as written. */
static const char *edi__prepared(edi__p *p)
{
    const char *d = edi__field(p, 4, 1), *t = edi__field(p, 4, 2);
    if (!d)
        return NULL;
    int d8 = edi__digits(d, 8);
    if ((!d8 && !edi__digits(d, 6)) || !edi__range(d + 2 + 2 * d8, 1, 12) ||
        !edi__range(d + 4 + 2 * d8, 1, 31)) {
        edi__sdiag(p, ERR_INVALID, 4, 1, "date '%.16s' is not YYMMDD or "
                   "CCYYMMDD", d);
        return NULL;
    }
    int t6 = t && edi__digits(t, 6);
    if (t && ((!t6 && !edi__digits(t, 4)) || !edi__range(t, 0, 23) ||
              !edi__range(t + 2, 0, 59) || (t6 && !edi__range(t + 4, 0, 59)))) {
        edi__sdiag(p, ERR_INVALID, 4, 2, "time '%.16s' is not HHMM", t);
        t = NULL;
    }
    char iso[32];
    int k = snprintf(iso, sizeof iso, "%s%.*s-%.2s-%.2s", d8 ? "" : "20",
                     d8 ? 4 : 2, d, d + 2 + 2 * d8, d + 4 + 2 * d8);
    if (t)
        snprintf(iso + k, sizeof iso - (size_t)k, "T%.2s:%.2s%s%.*s", t,
                 t + 2, t6 ? ":" : "", t6 ? 2 : 0, t6 ? t + 4 : "");
    return arena_strdup(p->a, iso);
}

static void edi__unb(edi__p *p)
{
    p->icm.sender = edi__field(p, 2, 1);
    p->icm.recipient = edi__field(p, 3, 1);
    p->icm.prepared = edi__prepared(p);
    p->icm.interchange_ref = edi__field(p, 5, 1);
    if (!p->icm.interchange_ref)
        edi__sdiag(p, ERR_REQUIRED, 5, 0, "interchange control reference "
                   "is missing");
}

/* A message record: linked into the batch, or (streaming) standing alone
 * in the message arena until it is emitted. */
static codec_msg *edi__msg_new(edi__p *p)
{
    if (!p->b->emit)
        return codec_msg_add(p->b, p->a);
    codec_msg *m = arena_zalloc(p->ma, sizeof *m);
    if (m)
        m->index = p->b->nmsgs++;
    return m;
}

static int edi__unh_open(edi__p *p)
{
    if (p->b->nmsgs >= CODEC_MAX_MESSAGES) {
        edi__sdiag(p, ERR_TOOBIG, 0, 0, "more than %u messages in one input",
                   CODEC_MAX_MESSAGES);
        p->stop = 1;
        return 0;
    }
    codec_msg *m = edi__msg_new(p);
    tnode *root = arena_alloc(p->ma, sizeof *root);
    if (!m || !root)
        return edi__nomem(p);
    m->line = p->sline;
    m->meta = p->icm;
    *root = (tnode){.name = edi__empty, .line = p->sline, .col = p->scol,
                    .seq = 1};
    p->m = m;
    p->root = root;
    p->broken = p->stray = 0;
    p->ic_msgs++;
    p->grp_msgs += p->in_grp;
    return 0;
}

static void edi__unh(edi__p *p)
{
    codec_meta *mm = &p->m->meta;
    mm->message_ref = edi__field(p, 1, 1);
    mm->message_type = edi__field(p, 2, 1);
    const char *v52 = edi__field(p, 2, 2), *v54 = edi__field(p, 2, 3);
    mm->version = edi__join(p, v52, v54);
    /* "D:04A" must split back into 0052 and 0054 when written */
    if ((v52 && strchr(v52, ':')) || (v54 && strchr(v54, ':')))
        edi__sdiag(p, ERR_INVALID, 2, v52 && strchr(v52, ':') ? 2 : 3,
                   "message version holds ':'");
    mm->agency = edi__field(p, 2, 4);
    mm->association = edi__field(p, 2, 5);
    if (mm->message_type)
        p->root->name = mm->message_type;
    if (!mm->message_ref)
        edi__sdiag(p, ERR_REQUIRED, 1, 0, "message reference is missing");
    if (!mm->message_type)
        edi__sdiag(p, ERR_REQUIRED, 2, 1, "message type is missing");
    if (p->level == EDI__UNKNOWN)
        edi__sdiag(p, ERR_CODE, 0, 0, "not parsed: the interchange's "
                   "syntax identifier is unknown");
}

/* Checks the control count (element 1) and reference (element 2) of UNT,
 * UNE or UNZ against what was seen since the opening segment. */
static void edi__control(edi__p *p, const char *counted, uint32_t seen,
                         const char *opener, const char *ref)
{
    static const char *const refname[] = {"message", "group", "interchange"};
    const char *cnt = edi__field(p, 1, 1), *r = edi__field(p, 2, 1);
    const char *rn = refname[opener[2] == 'H' ? 0 : opener[2] == 'G' ? 1 : 2];
    uint64_t n;
    if (!cnt)
        edi__sdiag(p, ERR_REQUIRED, 1, 0, "%s count is missing", counted);
    else if (!edi__num(cnt, &n) || n != seen)
        edi__sdiag(p, ERR_COUNT, 1, 0, "%s count %.20s does not match %u %ss",
                   counted, cnt, seen, counted);
    if (!r)
        edi__sdiag(p, ERR_REQUIRED, 2, 0, "%s reference is missing", rn);
    else if (!ref || strcmp(r, ref) != 0)
        edi__sdiag(p, ERR_INVALID, 2, 0, "%s reference '%.64s' does not "
                   "match %s '%.64s'", rn, r, opener, ref ? ref : "");
}

static void edi__unt(edi__p *p)
{
    if (!p->m) {
        edi__sdiag(p, ERR_SYNTAX, 0, 0, "UNT without UNH");
        return;
    }
    edi__control(p, "segment", p->mseq, "UNH", p->m->meta.message_ref);
    edi__msg_end(p);
}

static void edi__ung(edi__p *p)
{
    if (!p->in_ic)
        edi__sdiag(p, ERR_SYNTAX, 0, 0, "UNG outside an interchange");
    if (p->in_grp)
        edi__missing(p, "UNE", "group", p->grp_ref);
    p->in_grp = 1;
    p->grp_ref = edi__field(p, 5, 1);
    p->grp_msgs = 0;
    p->ic_groups++;
}

static void edi__une(edi__p *p)
{
    if (!p->in_grp) {
        edi__sdiag(p, ERR_SYNTAX, 0, 0, "UNE without UNG");
        return;
    }
    edi__control(p, "message", p->grp_msgs, "UNG", p->grp_ref);
    p->in_grp = 0;
}

static void edi__unz(edi__p *p)
{
    if (p->in_grp)
        edi__missing(p, "UNE", "group", p->grp_ref);
    if (!p->in_ic)
        edi__sdiag(p, ERR_SYNTAX, 0, 0, "UNZ without UNB");
    else if (p->ic_groups)
        edi__control(p, "group", p->ic_groups, "UNB", p->icm.interchange_ref);
    else
        edi__control(p, "message", p->ic_msgs, "UNB", p->icm.interchange_ref);
    edi__ic_reset(p);
    edi__seps_default(p);
}

/* UNA is not a segment: "UNA" and exactly six characters, the last being
 * the terminator. It ends whatever interchange was open. */
static void edi__una(edi__p *p, const char **qp)
{
    const char *q = *qp;
    p->sline = p->line;
    p->scol = edi__col(p, q);
    edi__close_msg(p);
    edi__close_ic(p);
    p->segno = 0;
    err_t ue;
    edi_seps s;
    if (p->end - q < 9) {
        edi__diag(p, ERR_SYNTAX, 0, 0, p->sline, p->scol,
                  "UNA service string advice is truncated");
        *qp = p->end;
        return;
    }
    if (edi_seps_from_una(&s, q + 3, &ue) < 0)
        edi__diag(p, ERR_INVALID, 0, 0, p->sline, p->scol,
                  "UNA service string advice: %s", ue.msg);
    else
        p->seps = s;
    edi__classes(p);
    edi__skip_lines(p, q, q + 9);
    *qp = q + 9;
}

static enum edi__kind edi__kind(const char *t)
{
    if (t[0] != 'U' || t[1] != 'N')
        return EDI__BODY;
    switch (t[2]) {
    case 'B': return EDI__UNB;
    case 'G': return EDI__UNG;
    case 'H': return EDI__UNH;
    case 'T': return EDI__UNT;
    case 'E': return EDI__UNE;
    case 'Z': return EDI__UNZ;
    default: return EDI__BODY;
    }
}

/* Copies the tag (made printable) and says whether it is well formed:
 * three letters or digits, then an element separator or the terminator. */
static int edi__tag(edi__p *p)
{
    const char *q = p->ss;
    size_t n = 0;
    while (n < 3 && q + n < p->end && q[n] != p->seps.elem &&
           q[n] != p->seps.seg)
        n++;
    int ok = n == 3 && q + 3 < p->end &&
             (q[3] == p->seps.elem || q[3] == p->seps.seg);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)q[i];
        ok &= (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        p->tag[i] = (char)(c >= 0x20 && c < 0x7F ? c : '?');
    }
    p->tag[n] = '\0';
    return ok;
}

/* Work out which segment this is before anything is reported about it:
 * a service segment closes a message that lacks its UNT. */
static enum edi__kind edi__begin(edi__p *p, const char *q)
{
    p->ss = q;
    p->se = p->end;
    p->tend = p->end;
    p->sline = p->line;
    p->scol = edi__col(p, q);
    p->nelem = p->ncomp = p->taint = 0;
    p->tagok = edi__tag(p);
    enum edi__kind k = p->tagok ? edi__kind(p->tag) : EDI__BODY;
    if (k != EDI__BODY && k != EDI__UNT)
        edi__close_msg(p);
    if (k == EDI__UNB) {
        edi__close_ic(p);
        p->ic_segs = 0;
    }
    if (k == EDI__UNH)
        p->mseq = 0;
    p->ic_segs++;
    p->segno = p->m || k == EDI__UNH ? ++p->mseq : p->ic_segs;
    return k;
}

/* A body segment the tree will not get: bad tag, outside a message, or
 * in a message already broken. */
static int edi__skip_body(edi__p *p)
{
    if (p->m && p->mseq > EDI_MAX_SEGMENTS && !p->broken)
        edi__sdiag(p, ERR_TOOBIG, 0, 0, "more than %u segments in one "
                   "message", EDI_MAX_SEGMENTS);
    if (!p->tagok)
        edi__sdiag(p, ERR_SYNTAX, 0, 0, "segment tag is not three upper-case "
                   "letters or digits");
    else if (!p->m && !p->stray)
        edi__sdiag(p, ERR_SYNTAX, 0, 0, "segment outside a message");
    p->stray |= !p->m;
    return !p->m || p->broken;
}

/* The end of a segment that is not tokenised; 0 if the text ends first. */
static int edi__find_end(edi__p *p, const char *q)
{
    const char *e = edi__seg_end(p, q);
    p->se = e ? e : p->end;
    edi__skip_lines(p, q, p->se);
    return e != NULL;
}

static int edi__dispatch(edi__p *p, enum edi__kind k)
{
    switch (k) {
    case EDI__BODY: {
        tnode *t = p->broken ? NULL : edi__build(p);
        if (!p->broken && !t)
            return edi__nomem(p);
        if (t) { /* tree_add, inlined: once per segment */
            *(p->root->last ? &p->root->last->next : &p->root->kids) = t;
            p->root->last = t;
            p->root->nkids++;
        }
        return 0;
    }
    case EDI__UNB: edi__unb(p); return 0;
    case EDI__UNG: edi__ung(p); return 0;
    case EDI__UNH: edi__unh(p); return 0;
    case EDI__UNT: edi__unt(p); return 0;
    case EDI__UNE: edi__une(p); return 0;
    case EDI__UNZ: edi__unz(p); return 0;
    }
    return 0;
}

static int edi__segment(edi__p *p, const char **qp)
{
    const char *q = *qp;
    enum edi__kind k = edi__begin(p, q);
    int skip = k == EDI__BODY && edi__skip_body(p);
    if (!(skip ? edi__find_end(p, q) : edi__scan(p, q + 3))) {
        edi__diag(p, ERR_SYNTAX, 0, 0, p->sline, p->scol,
                  "unterminated segment at end of input");
        if (p->m)
            edi__msg_end(p);
        *qp = p->end;
        return 0;
    }
    const char *e = p->se; /* edi__check may move p->se to a copy */
    *qp = e + 1;
    int rc = 0;
    if (!skip) {
        if (k == EDI__UNB)
            edi__unb_level(p);
        if (k == EDI__UNH)
            rc = edi__unh_open(p);
        if (!rc && p->odd)
            rc = edi__check(p);
        if (!rc && p->err)
            edi__overflow_diag(p);
        if (!rc && !p->stop)
            rc = edi__dispatch(p, k);
    }
    if (*e == '\n')
        edi__newline(p, e);
    return rc;
}

static const char *edi__skip_ws(edi__p *p, const char *q)
{
    for (; q < p->end; q++) {
        if (*q == '\n')
            edi__newline(p, q);
        else if (*q != '\r' && *q != ' ' && *q != '\t')
            break;
    }
    return q;
}

static const char *edi__bom(const char *q, const char *end)
{
    return end - q >= 3 && memcmp(q, "\xEF\xBB\xBF", 3) == 0 ? q + 3 : q;
}

static int edi__run(edi__p *p, const char *data, size_t len)
{
    p->end = data + len;
    const char *q = edi__bom(data, p->end);
    p->line = 1;
    p->lcol0 = 1;
    p->lp = q;
    while (!p->stop) {
        q = edi__skip_ws(p, q);
        if (q >= p->end)
            break;
        int rc = 0;
        if (p->end - q >= 3 && memcmp(q, "UNA", 3) == 0)
            edi__una(p, &q);
        else
            rc = edi__segment(p, &q);
        if (rc < 0)
            return rc;
    }
    p->sline = p->line;
    p->scol = edi__col(p, q);
    edi__close_msg(p);
    edi__close_ic(p);
    return 0;
}

/* Line and column of byte off, counted only when something is wrong. */
static void edi__where(const char *s, size_t off, uint32_t *line,
                       uint32_t *col)
{
    *line = 1;
    const char *ls = s;
    for (const char *q = s; (q = memchr(q, '\n', (size_t)(s + off - q)));)
        ls = ++q, ++*line;
    *col = (uint32_t)(s + off - ls) + 1;
}

/* o->charset (a legacy system's encoding) overrides the UNB level: the
 * whole input becomes UTF-8 first, since a multibyte charset like GB18030
 * may use separator bytes inside its characters. */
static int edi__recode(edi__p *p, const char *cs, const char **data,
                       size_t *len, buf_t *in)
{
    err_t ce;
    int rc = charset_to_utf8(cs, *data, *len, in, &ce);
    if (rc == ERR_CHARSET) {
        size_t off = strtoul(ce.msg + 5, NULL, 10);
        uint32_t line, col;
        edi__where(*data, off < *len ? off : *len, &line, &col);
        const char *why = strchr(ce.msg, ':');
        codec_diag_add(p->b, NULL, p->a, rc, line, col, "input%s",
                       why ? why : ce.msg);
        return err_set(p->e, rc, "%u:%u: input%s", line, col, why ? why : "");
    }
    if (rc < 0)
        return err_set(p->e, rc, "%s", ce.msg);
    *data = in->p ? in->p : "";
    *len = in->len;
    p->trusted = 1;
    return 0;
}

int edi_parse(const char *data, size_t len, const codec_opts *o, arena_t *a,
              codec_batch *out, err_t *e)
{
    if (!a || !out || (!data && len))
        return err_set(e, ERR_USAGE, "edi_parse: missing argument");
    if (len > CODEC_MAX_INPUT)
        return err_set(e, ERR_TOOBIG, "input of %zu bytes is over the limit "
                       "of %u", len, CODEC_MAX_INPUT);
    edi__p *p = malloc(sizeof *p); /* owned here, freed below */
    if (!p)
        return err_set(e, ERR_NOMEM, "out of memory");
    memset(p, 0, offsetof(edi__p, efirst));
    p->a = a, p->b = out, p->e = e;
    p->ma = out->emit && out->msg_arena ? out->msg_arena : a;
    if (out->emit && !out->msg_arena)
        out->emit = NULL; /* no arena to reuse: keep every message instead */
    buf_t in; /* o->charset's UTF-8 copy of the input, freed below */
    buf_init(&in, 2 * (size_t)len + 16);
    buf_init(&p->conv, 3 * (size_t)CODEC_MAX_INPUT);
    edi__seps_default(p);
    int rc = 0;
    if (o && o->charset)
        rc = edi__recode(p, o->charset, &data, &len, &in);
    edi__ic_reset(p);
    if (!rc)
        rc = edi__run(p, data ? data : "", len);
    if (!rc && p->emit_rc)
        rc = p->emit_rc;
    buf_free(&in);
    buf_free(&p->conv);
    free(p);
    return rc;
}

int edi_sniff(const char *d, size_t len)
{
    if (!d)
        return 0;
    const char *q = edi__bom(d, d + len), *end = d + len;
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'))
        q++;
    if (end - q < 4 || q[0] != 'U' || q[1] != 'N')
        return 0;
    unsigned char c = (unsigned char)q[3];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9'))
        return 0;
    return q[2] == 'A' || q[2] == 'B' ? 95 : q[2] == 'H' ? 60 : 0;
}

const codec_ops codec_edifact_ops = {"edifact", edi_sniff, edi_parse,
                                     edi_write};
