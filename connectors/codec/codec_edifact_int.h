/* codec_edifact_int: the EDIFACT parser's state (edi__p) and what its
 * pieces share. Nothing outside them includes it; the public API stays
 * codec_edifact.h, and the writer (codec_edifact_write.c) needs none of it.
 *   codec_edifact.c          entry, run loop over segments, diags
 *   codec_edifact_scan.c     separators, tokeniser, tree building
 *   codec_edifact_fast.c     the common body segment in one pass, and the
 *                            loop over a message's run of them
 *   codec_edifact_env.c      service segments: UNA, UNB..UNZ, control counts
 *   codec_edifact_charset.c  syntax-level byte checks and charset conversion
 *   codec_edifact_slip.c     the white space between segments (line_ends,
 *                            trailing_space) */
#ifndef EPORT_CODEC_EDIFACT_INT_H
#define EPORT_CODEC_EDIFACT_INT_H

#include <stdint.h>

#include "codec_edifact.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* What the syntax level asks of a segment holding non-ASCII or control
 * bytes (only such segments are looked at twice). */
enum edi__level { EDI__UTF8, EDI__ASCII, EDI__CONVERT, EDI__UNKNOWN,
                  EDI__TRUSTED };

/* One component as found by the first pass: raw bytes, release
 * characters still in. */
typedef struct edi__comp {
    const char *s;
    uint32_t n, rel;
    uint32_t line, col;
} edi__comp;

/* Release characters edi__fast keeps track of in one segment; a segment
 * with more takes the general path. */
#define EDI__FAST_RELS 256

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
#if defined(__SSE2__)
    /* vrel, terminator, element and component separators broadcast, once
     * per set of separators rather than once per segment */
    __m128i vsep[4];
#endif
    const char *nofast; /* a segment edi__fast has already turned down */
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
    tnode *built; /* the current segment, when edi__fast made it */
    buf_t conv; /* a segment converted from ISO 8859 */
    /* strictness rules (strict.h): bit r set once rule r's slip is
     * reported in the open message / outside messages */
    uint32_t m_rules, in_rules;
    /* line_ends: what follows a terminator, the input's first way: 0
     * nothing, 1 LF, 2 CRLF; EDI__GAP_UNSET until a gap is seen */
    uint32_t gapn;
    const char *text; /* the text being parsed (after a BOM) */
    /* per segment, not cleared between calls (kept last for that) */
    uint32_t efirst[EDI_MAX_ELEMENTS + 1];
    edi__comp comps[EDI_MAX_COMPONENTS];
    uint32_t fsep[EDI_MAX_COMPONENTS]; /* edi__fast's separators */
    uint32_t frel[EDI__FAST_RELS];     /* and release characters */
} edi__p;

/* "": the name of every element and component node (and of a message root
 * until UNH names it), the value of an empty component. */
extern const char edi__empty[];

/* ---- diags (codec_edifact.c) ---- */

/* Diag "segment N (TAG)[ element E[ component C]]: what" on the open
 * message (which is then broken) or, outside one, on the input. */
int edi__diag(edi__p *p, int code, uint32_t el, uint32_t co,
              uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Same, placed at element el / component co of the current segment. */
int edi__sdiag(edi__p *p, int code, uint32_t el, uint32_t co,
               const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* A slip of a strictness rule (strict.h) worded as edi__diag's, on the
 * open message or the input: it does not break the message (xlate judges
 * it). Of line_ends and trailing_space only the first slip there is
 * kept. */
void edi__rule(edi__p *p, int rule, int code, uint32_t el, uint32_t co,
               uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
/* Same, placed at element el / component co of the current segment. */
void edi__srule(edi__p *p, int rule, int code, uint32_t el, uint32_t co,
                const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* ---- tokeniser and tree building (codec_edifact_scan.c) ---- */

/* The byte class table and release stand-in for p->seps. */
void edi__classes(edi__p *p);
/* Separators back to EDI_UNA_DEFAULT (start, and after each UNZ). */
void edi__seps_default(edi__p *p);
/* Inline: they run for every segment. */
static inline void edi__newline(edi__p *p, const char *nl)
{
    p->line++;
    p->lp = nl + 1;
    p->lcol0 = 1;
}
/* Column of byte q on the current line. */
static inline uint32_t edi__col(const edi__p *p, const char *q)
{
    return (uint32_t)(q - p->lp) + p->lcol0;
}
static inline const char *edi__skip_ws(edi__p *p, const char *q)
{
    for (; q < p->end; q++) {
        if (*q == '\n')
            edi__newline(p, q);
        else if (*q != '\r' && *q != ' ' && *q != '\t')
            break;
    }
    return q;
}
/* A segment tag's bytes: upper-case letters and digits. */
static inline int edi__tag_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
#define EDI__GAP_UNSET UINT32_MAX
/* The white space s..q after a segment terminator when it is not the
 * input's usual (line_ends, trailing_space); codec_edifact_slip.c. */
void edi__gap_odd(edi__p *p, const char *s, const char *q);
/* Skips the white space after a terminator (s just past it) and checks
 * it: the input's usual way (nothing, LF or CRLF) costs a compare. */
static inline const char *edi__gap(edi__p *p, const char *s)
{
    const char *q = edi__skip_ws(p, s);
    size_t n = (size_t)(q - s);
    if (n != p->gapn || (n && s[n - 1] != '\n') || (n == 2 && *s != '\r'))
        edi__gap_odd(p, s, q);
    return q;
}
/* Keeps line numbers right over bytes the tokeniser does not look at. */
void edi__skip_lines(edi__p *p, const char *q, const char *e);
/* The first unreleased terminator at or after q, or NULL. */
const char *edi__seg_end(const edi__p *p, const char *q);
/* First pass over one segment (q just after the tag): where its components
 * are, p->se at the terminator; 0 when the text ends first. */
int edi__scan(edi__p *p, const char *q);
/* Component value (element el, component co, 1-based) as a new string in
 * the arena; NULL when absent or empty. */
char *edi__field(edi__p *p, uint32_t el, uint32_t co);
/* The diag for the first limit edi__scan found exceeded (p->err). */
int edi__overflow_diag(edi__p *p);
/* Second pass: the scanned segment's nodes and strings; NULL: no memory. */
tnode *edi__build(edi__p *p);
/* Copies s[0..n) to d without release characters; d needs 16 bytes of
 * slack past the result, and loads stay below tend. Returns the length. */
uint32_t edi__unescape(char *d, const char *s, uint32_t n, char rel,
                       const char *tend);

/* ---- the common segment in one pass (codec_edifact_fast.c) ---- */

/* A body segment (q at the separator after its tag) built straight into
 * its nodes, p->se at its terminator; NULL when it needs the general path
 * (edi__scan + edi__build), which then starts over. */
tnode *edi__fast(edi__p *p, const char *q);

/* Whether q starts a segment edi__fast_run may take: in an open message
 * that is not broken, a body tag (three upper-case letters or digits, not
 * UNx) and an element separator, not one edi__fast turned down. */
static inline int edi__fast_next(const edi__p *p, const char *q)
{
    return p->m && !p->broken && !p->stop && p->mseq < EDI_MAX_SEGMENTS &&
           q != p->nofast && p->end - q > 3 && q[3] == p->seps.elem &&
           edi__tag_char((unsigned char)q[0]) &&
           edi__tag_char((unsigned char)q[1]) &&
           edi__tag_char((unsigned char)q[2]) && !(q[0] == 'U' && q[1] == 'N');
}

/* The body segments from q on while edi__fast_next holds and edi__fast
 * takes them: what edi__segment does for such a segment without its
 * general bookkeeping, which showed per segment in the profile. Returns
 * where it stopped (white space skipped); a segment edi__fast turned
 * down is marked (nofast) so that edi__segment does not sweep it twice. */
const char *edi__fast_run(edi__p *p, const char *q);

/* ---- syntax level and charsets (codec_edifact_charset.c) ---- */

/* Checks (or converts from ISO 8859) a segment holding bytes outside
 * printable ASCII; < 0 only for errors that end the parse. */
int edi__check(edi__p *p);
/* The whole input to UTF-8 from o->charset, which then overrides UNB. */
int edi__recode(edi__p *p, const char *cs, const char **data, size_t *len,
                buf_t *in);

/* ---- envelope (codec_edifact_env.c) ---- */

int edi__nomem(edi__p *p);
/* Hands the open message over (to the batch or the emit callback). */
void edi__msg_end(edi__p *p);
/* Ends an open message that lacks its UNT, with a diag. */
void edi__close_msg(edi__p *p);
/* Separators and syntax level fall back to the defaults between
 * interchanges: each one may have its own UNA and UNB. */
void edi__ic_reset(edi__p *p);
/* Ends an open group and interchange, with diags for missing UNE / UNZ. */
void edi__close_ic(edi__p *p);
/* UNB element 1 decides how the rest of the interchange is checked. */
void edi__unb_level(edi__p *p);
/* Opens a message at UNH (before its bytes are checked). */
int edi__unh_open(edi__p *p);
/* One function per service segment, called once it is scanned. */
void edi__unb(edi__p *p);
void edi__ung(edi__p *p);
void edi__unh(edi__p *p);
void edi__unt(edi__p *p);
void edi__une(edi__p *p);
void edi__unz(edi__p *p);
/* UNA at *qp: new separators; *qp moves past it. */
void edi__una(edi__p *p, const char **qp);

#endif
