/* codec_edifact_fast: the common segment in one lean pass instead of
 * edi__scan + edi__build. A segment of printable ASCII, away from the end
 * of the input and within every limit, is first swept 16 bytes at a time
 * for where its separators are (offsets only: no per-component record, no
 * line or column arithmetic). Its bytes are then copied whole, 16 at a
 * time, and each separator in the copy becomes the NUL that ends a value,
 * so a component costs one node and one store however long it is; only
 * values holding a release character are rewritten (in place). Anything
 * else (control or non-ASCII bytes, "??", limits, the last bytes of the
 * input) returns NULL and takes the general path, which reports what is
 * wrong; both paths make the same tree. */
#include "codec_edifact.h"

#include <string.h>

#include "codec_edifact_int.h"

#if defined(__SSE2__)
#include <emmintrin.h>

/* The sweep's running state: separators and release characters found
 * (their offsets from the segment's first element separator in p->fsep
 * and p->frel), and whether the previous block ended with a release. */
typedef struct edi__sweep {
    uint32_t n, nrel, carry;
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
    if (rel && w->nrel + 16 > EDI__FAST_RELS)
        return -1;
    uint32_t sep = (edi__mask(v, w->elem_v) | edi__mask(v, w->comp_v) | seg) &
                   ~esc & keep;
    w->carry = rel >> 15;
    for (; sep; sep &= sep - 1)
        p->fsep[w->n++] = off + (uint32_t)__builtin_ctz(sep);
    for (; rel; rel &= rel - 1)
        p->frel[w->nrel++] = off + (uint32_t)__builtin_ctz(rel);
    return seg != 0;
}

/* Separators of the segment whose first element separator is at q; the
 * count, or 0 to give up. *nrel: release characters in p->frel. */
static uint32_t edi__sweep_seg(edi__p *p, const char *q, uint32_t *nrel)
{
    edi__sweep w = {0, 0, 0, p->vsep[0], p->vsep[1], p->vsep[2], p->vsep[3]};
    for (uint32_t off = 1;; off += 16) {
        if (p->tend - (q + off) < 16 || off + 16 > EDI_MAX_VALUE)
            return 0;
        int rc = edi__sweep16(p, q, off, &w);
        if (rc < 0)
            return 0;
        if (rc) {
            *nrel = w.nrel;
            p->se = q + p->fsep[w.n - 1];
            return w.n;
        }
    }
}

/* Bytes q[1..len] to d, 16 at a time: the sweep loaded the same blocks,
 * so the loads stay below p->tend; d has room to the next 16 past len. */
static inline void edi__fast_copy(char *d, const char *q, uint32_t len)
{
    for (uint32_t o = 0; o < len; o += 16)
        _mm_storeu_si128((__m128i *)(void *)(d + o),
                         _mm_loadu_si128((const __m128i *)(const void *)(
                             q + 1 + o)));
}

/* What the node loop reads, in locals: the NULs it writes into the copy
 * may alias anything, which would make the compiler reload. base[o] is
 * the copy of q[o]. */
typedef struct edi__fctx {
    const char *q;
    char *base;
    uint32_t line, seq, col0; /* col0: column of q */
    char comp;
} edi__fctx;

/* Closes the element whose components are [c0, c) as el, up to its last
 * non-empty one (lastne; below c0 when all are empty, then one is kept):
 * trailing omitted components are dropped. Returns where the next
 * element's components start. */
static inline tnode *edi__fast_elem(const edi__fctx *f, tnode *el,
                                    tnode *c0, const tnode *lastne)
{
    tnode *c = lastne >= c0 ? c0 + (lastne - c0) + 1 : c0 + 1;
    c[-1].next = NULL;
    *el = (tnode){.name = edi__empty, .flags = TN_SEQ,
                  .nkids = (uint32_t)(c - c0),
                  .line = f->line, .col = c0->col, .seq = f->seq,
                  .kids = c0, .last = c - 1, .next = el + 1};
    return c;
}

/* The component nodes from t + 1 and the element nodes from el0 (at most
 * n of them: the terminator is one of the n separators); *cend past the
 * last component kept. Returns the elements kept (trailing omitted ones
 * go), or UINT32_MAX over EDI_MAX_ELEMENTS. */
static uint32_t edi__fast_nodes(const edi__fctx *f, const uint32_t *sep,
                                uint32_t n, tnode *t, tnode *el0,
                                tnode **cend)
{
    tnode *c = t + 1, *c0 = c, *el = el0, *kept = el0;
    const tnode *lastne = t; /* below every element's first component */
    uint32_t s = 1;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t x = sep[k];
        f->base[x] = '\0';
        *c = (tnode){.name = edi__empty, .value = f->base + s,
                     .vlen = x - s, .line = f->line, .col = f->col0 + s,
                     .seq = f->seq, .next = c + 1};
        lastne = x != s ? c : lastne;
        c++;
        s = x + 1;
        if (f->q[x] != f->comp) {
            kept = lastne >= c0 ? el + 1 : kept;
            c = edi__fast_elem(f, el++, c0, lastne);
            c0 = c;
        }
    }
    *cend = c;
    if (el - el0 > EDI_MAX_ELEMENTS)
        return UINT32_MAX; /* the general path reports it */
    return (uint32_t)(kept - el0);
}

/* Drops the release characters at base[rel[0..nrel)] (in order, all
 * within one value) from the value that starts at base[v] and ends at
 * base[e]; NUL-terminates and returns the new length. A released
 * character is never a release ("??" takes the general path), so the
 * runs between releases move whole. */
static uint32_t edi__fast_unrelease(char *base, uint32_t v, uint32_t e,
                                    const uint32_t *rel, uint32_t nrel)
{
    uint32_t d = rel[0];
    for (uint32_t j = 0; j < nrel; j++) {
        uint32_t from = rel[j] + 1, to = j + 1 < nrel ? rel[j + 1] : e;
        memmove(base + d, base + from, to - from);
        d += to - from;
    }
    base[d] = '\0';
    return d - v;
}

/* Values of [c, cend) holding some of the n release characters at
 * offsets rel (ascending), unescaped in the copy. */
static void edi__fast_release(const edi__fctx *f, tnode *c,
                              const tnode *cend, const uint32_t *rel,
                              uint32_t n)
{
    for (uint32_t j = 0; c < cend && j < n; c++) {
        uint32_t v = (uint32_t)(c->value - f->base), e = v + c->vlen, k;
        while (j < n && rel[j] < v)
            j++; /* in a component dropped as omitted: none, but cheap */
        for (k = j; k < n && rel[k] < e; k++)
            ;
        if (k > j)
            c->vlen = edi__fast_unrelease(f->base, v, e, rel + j, k - j);
        j = k;
    }
}

/* Where the parts of a segment of n components and len bytes go in one
 * arena piece: t[0] the segment, t[1..n] the components, then the tag and
 * the copy of the bytes, then up to n elements. */
static inline size_t edi__fast_strs(uint32_t n, uint32_t len)
{
    return (1 + (size_t)n) * sizeof(tnode) + 16 + ((len + 15) & ~15u);
}

tnode *edi__fast(edi__p *p, const char *q)
{
    uint32_t n, nrel;
    if (*q != p->seps.elem || !(n = edi__sweep_seg(p, q, &nrel)))
        return NULL;
    uint32_t len = p->fsep[n - 1]; /* q[1..len]: up to the terminator */
    size_t at_el = edi__fast_strs(n, len);
    tnode *t = arena_reserve(p->ma, at_el + n * sizeof(tnode));
    if (!t)
        return NULL; /* the general path reports it */
    char *str = (char *)(t + 1 + n);
    memcpy(str, p->tag, 4);
    edi__fast_copy(str + 4, q, len);
    edi__fctx f = {q, str + 3, p->sline, p->segno,
                   p->scol - (uint32_t)(p->ss - q), p->seps.comp};
    tnode *el0 = (tnode *)(void *)((char *)t + at_el), *cend;
    uint32_t ne = edi__fast_nodes(&f, p->fsep, n, t, el0, &cend);
    if (ne == UINT32_MAX)
        return NULL;
    if (__builtin_expect(nrel != 0, 0))
        edi__fast_release(&f, t + 1, cend, p->frel, nrel);
    t[0] = (tnode){.name = str, .flags = TN_SEQ, .nkids = ne,
                   .line = p->sline, .col = p->scol, .seq = p->segno,
                   .kids = ne ? el0 : NULL, .last = ne ? &el0[ne - 1] : NULL};
    if (ne)
        el0[ne - 1].next = NULL;
    arena_commit(p->ma, at_el + ne * sizeof(tnode));
    return t;
}

#else

tnode *edi__fast(edi__p *p, const char *q)
{
    (void)p, (void)q;
    return NULL;
}

#endif

const char *edi__fast_run(edi__p *p, const char *q)
{
    while (edi__fast_next(p, q)) {
        memcpy(p->tag, q, 3);
        p->tag[3] = '\0';
        p->tagok = 1;
        p->ss = q;
        p->tend = p->end;
        p->sline = p->line;
        p->scol = edi__col(p, q);
        p->nelem = p->ncomp = p->taint = p->odd = p->err = 0;
        p->segno = p->mseq + 1;
        tnode *t = edi__fast(p, q + 3);
        if (!t) { /* the general path takes it, without a second try */
            p->nofast = q;
            return q;
        }
        p->ic_segs++;
        p->mseq++;
        *(p->root->last ? &p->root->last->next : &p->root->kids) = t;
        p->root->last = t;
        p->root->nkids++;
        if (*p->se == '\n')
            edi__newline(p, p->se);
        q = edi__gap(p, p->se + 1);
    }
    return q;
}
