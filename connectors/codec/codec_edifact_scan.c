/* codec_edifact_scan: the EDIFACT tokeniser and tree building, the hot
 * path. A segment is scanned for where its components are (16 bytes at a
 * time by SSE2 bitmask where the bytes allow, else through a class table),
 * then built into nodes and unescaped strings in one arena block. Also the
 * separators (edi_seps_from_una). */
#include "codec_edifact.h"

#include <stdint.h>
#include <string.h>

#include "codec_edifact_int.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Byte classes of the tokeniser; 0 must be "ordinary" so the hot loop is
 * one table load and one test per byte. */
enum { EDI__NORM, EDI__COMP, EDI__ELEM, EDI__SEG, EDI__REL, EDI__NL, EDI__ODD };

enum { EDI__E_ELEMS = 1, EDI__E_COMPS, EDI__E_LONG };

/* edi__scan's running state, kept out of edi__p so it stays in
 * registers: the component being read and the counts so far. */
typedef struct edi__cur {
    const char *s;
    uint32_t rel, line, col;
    uint32_t ncomp, nelem;
} edi__cur;

const char edi__empty[] = "";

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

void edi__classes(edi__p *p)
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
#if defined(__SSE2__)
    p->vsep[0] = _mm_set1_epi8(p->vrel);
    p->vsep[1] = _mm_set1_epi8(p->seps.seg);
    p->vsep[2] = _mm_set1_epi8(p->seps.elem);
    p->vsep[3] = _mm_set1_epi8(p->seps.comp);
#endif
}

void edi__seps_default(edi__p *p)
{
    edi_seps_from_una(&p->seps, EDI_UNA_DEFAULT, NULL);
    edi__classes(p);
}

/* Keeps line numbers right over bytes the tokeniser does not look at. */
void edi__skip_lines(edi__p *p, const char *q, const char *e)
{
    while ((q = memchr(q, '\n', (size_t)(e - q))) != NULL)
        edi__newline(p, q++);
}

/* The first unreleased terminator at or after q, or NULL. */
const char *edi__seg_end(const edi__p *p, const char *q)
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

int edi__scan(edi__p *p, const char *q)
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

/* The SSE2 path stores 16 bytes at a time: hence the slack. */
uint32_t edi__unescape(char *d, const char *s, uint32_t n, char rel,
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
char *edi__field(edi__p *p, uint32_t el, uint32_t co)
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

int edi__overflow_diag(edi__p *p)
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
tnode *edi__build(edi__p *p)
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
    t[0] = (tnode){.name = str, .flags = TN_SEQ, .nkids = ne,
                   .line = p->sline,
                   .col = p->scol, .seq = p->segno,
                   .kids = ne ? &t[1] : NULL, .last = ne ? &t[ne] : NULL};
    str += 4;
    tnode *c = t + 1 + ne;
    for (uint32_t i = 0; i < ne; i++) {
        uint32_t nc = edi__ncomps(p, i);
        const edi__comp *r = &p->comps[p->efirst[i]];
        t[1 + i] = (tnode){.name = edi__empty, .flags = TN_SEQ, .nkids = nc,
                           .line = r->line,
                           .col = r->col, .seq = p->segno, .kids = c,
                           .last = c + nc - 1,
                           .next = i + 1 < ne ? &t[2 + i] : NULL};
        str = edi__build_comps(p, c, i, nc, str);
        c += nc;
    }
    return t;
}
