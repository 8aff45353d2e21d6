/* codec_edifact_fast: the common segment in one lean pass instead of
 * edi__scan + edi__build. A segment of printable ASCII, away from the end
 * of the input and within every limit, is first swept 16 bytes at a time
 * for where its separators are (offsets only: no per-component record, no
 * line or column arithmetic), then its nodes and strings are written in
 * one arena block sized exactly from that sweep. Anything else (control or
 * non-ASCII bytes, "??", limits, the last bytes of the input) returns NULL
 * and takes the general path, which reports what is wrong; both paths make
 * the same tree. */
#include "codec_edifact.h"

#include <string.h>

#include "codec_edifact_int.h"

#if defined(__SSE2__)
#include <emmintrin.h>

/* The sweep's running state: separators found (their offsets from the
 * segment's first element separator in p->fsep), element separators
 * among them, whether the previous block ended with a release, and
 * whether any component holds one (then every value is unescaped: such
 * segments are few, and tracking it per component cost every segment). */
typedef struct edi__sweep {
    uint32_t n, nel, carry, rel;
    __m128i rel_v, seg_v, elem_v, comp_v; /* broadcast once per segment */
} edi__sweep;

static inline uint32_t edi__mask(__m128i v, __m128i c)
{
    return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, c));
}

/* One block at q + off; 1 at the terminator, 0 to go on, -1 to give up. */
static inline int edi__sweep16(edi__p *p, const char *q, uint32_t off,
                               edi__sweep *w)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(q + off));
    uint32_t rel = edi__mask(v, w->rel_v), esc = rel << 1 | w->carry;
    uint32_t odd = (uint32_t)_mm_movemask_epi8(_mm_or_si128(
        _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)), _mm_cmpeq_epi8(v,
                                                      _mm_set1_epi8(0x7F))));
    uint32_t seg = edi__mask(v, w->seg_v) & ~esc, keep = 0xFFFFu;
    if (seg)
        keep = ((seg & -seg) << 1) - 1;
    /* "??" (a released release) is left to the general path */
    if ((odd & keep) || (esc & rel & keep) || w->n + 32 > EDI_MAX_COMPONENTS)
        return -1;
    rel &= keep;
    uint32_t elem = edi__mask(v, w->elem_v) & ~esc & keep;
    uint32_t sep = (elem | edi__mask(v, w->comp_v) | seg) & ~esc & keep;
    w->carry = rel >> 15;
    w->rel |= rel;
    for (w->nel += elem != 0; elem &= elem - 1;)
        w->nel++; /* no popcount instruction in the baseline ISA */
    for (; sep; sep &= sep - 1)
        p->fsep[w->n++] = off + (uint32_t)__builtin_ctz(sep);
    return seg != 0;
}

/* Separators of the segment whose first element separator is at q; the
 * count, or 0 to give up. *rel: some value holds a release. */
static uint32_t edi__sweep_seg(edi__p *p, const char *q, uint32_t *nel,
                               int *rel)
{
    edi__sweep w = {0, 0, 0, 0, _mm_set1_epi8(p->vrel),
        _mm_set1_epi8(p->seps.seg), _mm_set1_epi8(p->seps.elem),
        _mm_set1_epi8(p->seps.comp)};
    for (uint32_t off = 1;; off += 16) {
        if (p->tend - (q + off) < 16 || off + 16 > EDI_MAX_VALUE)
            return 0;
        int rc = edi__sweep16(p, q, off, &w);
        if (rc < 0 || w.nel >= EDI_MAX_ELEMENTS)
            return 0;
        if (rc) {
            *nel = w.nel;
            *rel = w.rel != 0;
            p->se = q + p->fsep[w.n - 1];
            return w.n;
        }
    }
}

/* What the node loop reads of the parser, in locals: the strings it
 * writes may alias anything, which would make the compiler reload. */
typedef struct edi__fctx {
    const char *tend;
    uint32_t line, seq, col0;
    char comp, rel;
} edi__fctx;

/* Value s[0..n) (released when rel) to str; returns its length. A short
 * value is copied as one block; in a segment holding a release it is
 * unescaped only when the release is in it (most such segments have one
 * in a single component, and unescaping them all cost a call each). */
static inline uint32_t edi__fast_copy(const edi__fctx *f, char *str,
                                      const char *s, uint32_t n, int rel)
{
    if (n <= 16 && s + 16 <= f->tend) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
        _mm_storeu_si128((__m128i *)(void *)str, v);
        if (__builtin_expect(rel, 0) &&
            (edi__mask(v, _mm_set1_epi8(f->rel)) & ((1u << n) - 1)))
            n = edi__unescape(str, s, n, f->rel, f->tend);
    } else if (__builtin_expect(rel, 0)) {
        n = edi__unescape(str, s, n, f->rel, f->tend);
    } else {
        memcpy(str, s, n);
    }
    str[n] = '\0';
    return n;
}

/* Closes the element whose components are [c0, c) as el; trailing
 * omitted components are dropped. Returns where the next one starts. */
static inline tnode *edi__fast_elem(const edi__fctx *f, tnode *el,
                                    tnode *c0, tnode *c)
{
    while (c - c0 > 1 && c[-1].vlen == 0)
        c--;
    c[-1].next = NULL;
    *el = (tnode){.name = edi__empty, .flags = TN_SEQ,
                  .nkids = (uint32_t)(c - c0),
                  .line = f->line, .col = c0->col, .seq = f->seq,
                  .kids = c0, .last = c - 1, .next = el + 1};
    return c;
}

/* The nodes: t[0] the segment, then up to ne elements, then n
 * components, then the tag and the strings. Returns the elements kept
 * (trailing omitted ones go). */
static uint32_t edi__fast_nodes(const edi__fctx *f, const uint32_t *sep,
                                const char *q, uint32_t n, tnode *t,
                                uint32_t ne, int rel)
{
    tnode *c = t + 1 + ne, *c0 = c, *el = t + 1, *kept = el;
    char *str = (char *)(c + n) + 4; /* after the tag */
    const char *s = q + 1;
    for (uint32_t k = 0; k < n; k++) {
        const char *x = q + sep[k];
        uint32_t len = edi__fast_copy(f, str, s, (uint32_t)(x - s), rel);
        *c = (tnode){.name = edi__empty, .value = len ? str : edi__empty,
                     .vlen = len, .line = f->line,
                     .col = f->col0 + (uint32_t)(s - q), .seq = f->seq,
                     .next = c + 1};
        c++;
        str += len ? len + 1 : 0;
        s = x + 1;
        if (*x != f->comp) {
            c = edi__fast_elem(f, el++, c0, c);
            kept = c - c0 > 1 || c[-1].vlen ? el : kept;
            c0 = c;
        }
    }
    return (uint32_t)(kept - t - 1);
}

tnode *edi__fast(edi__p *p, const char *q)
{
    uint32_t nel, n;
    int rel;
    if (*q != p->seps.elem || !(n = edi__sweep_seg(p, q, &nel, &rel)))
        return NULL;
    uint32_t ne = nel + 1;
    size_t nodes = (1 + (size_t)ne + n) * sizeof(tnode);
    /* +20: short values are copied 16 bytes at a time */
    tnode *t = arena_alloc(p->ma, nodes + (size_t)(p->se - p->ss) + n + 20);
    if (!t)
        return NULL; /* the general path reports it */
    char *tag = (char *)t + nodes;
    memcpy(tag, p->tag, 4);
    edi__fctx f = {p->tend, p->sline, p->segno,
                   p->scol - (uint32_t)(p->ss - q), p->seps.comp, p->seps.rel};
    ne = edi__fast_nodes(&f, p->fsep, q, n, t, ne, rel);
    t[0] = (tnode){.name = tag, .flags = TN_SEQ, .nkids = ne,
                   .line = p->sline,
                   .col = p->scol, .seq = p->segno,
                   .kids = ne ? &t[1] : NULL, .last = ne ? &t[ne] : NULL};
    if (ne)
        t[ne].next = NULL;
    return t;
}

#else

tnode *edi__fast(edi__p *p, const char *q)
{
    (void)p, (void)q;
    return NULL;
}

#endif
