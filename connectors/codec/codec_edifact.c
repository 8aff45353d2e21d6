/* EDIFACT parser. A body segment of printable ASCII is swept for its
 * separators and built into nodes at once (codec_edifact_fast.c); any
 * other segment is read twice while it is in L1: a scan that records
 * where its components are (16 bytes at a time by SSE2 bitmask where the
 * bytes allow, else through a class table), then a build that puts all
 * its nodes and unescaped strings in one arena block. Bytes
 * outside printable ASCII send only their own segment through the syntax
 * level's check or ISO 8859 conversion, so clean input pays nothing.
 *
 * This file holds the entry point, the loop over segments and the diags;
 * the tokeniser and tree building are in codec_edifact_scan.c, the service
 * segments in codec_edifact_env.c, the syntax-level checks in
 * codec_edifact_charset.c (shared state: codec_edifact_int.h). */
#include "codec_edifact.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_edifact_int.h"

enum edi__kind { EDI__BODY, EDI__UNB, EDI__UNG, EDI__UNH, EDI__UNT, EDI__UNE,
                 EDI__UNZ };

/* "segment N (TAG)[ element E[ component C]]", or "" outside one. */
static void edi__where(const edi__p *p, uint32_t el, uint32_t co, char *out,
                       size_t n)
{
    out[0] = '\0';
    if (!p->segno)
        return;
    int k = snprintf(out, n, "segment %u (%s)", p->segno, p->tag);
    if (el)
        k += snprintf(out + k, n - (size_t)k, " element %u", el);
    if (el && co)
        snprintf(out + k, n - (size_t)k, " component %u", co);
}

/* The position of element el / component co of the scanned segment. */
static void edi__at(const edi__p *p, uint32_t el, uint32_t co,
                    uint32_t *line, uint32_t *col)
{
    *line = p->sline, *col = p->scol;
    if (el && el <= p->nelem) {
        uint32_t i = p->efirst[el - 1] + (co ? co - 1 : 0);
        if (i < p->efirst[el])
            *line = p->comps[i].line, *col = p->comps[i].col;
    }
}

/* Diag "segment N (TAG)[ element E[ component C]]: what" on the open
 * message (which is then broken) or, outside one, on the input. */
int edi__diag(edi__p *p, int code, uint32_t el, uint32_t co,
              uint32_t line, uint32_t col, const char *fmt, ...)
{
    char what[ERR_MSG_MAX], where[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    edi__where(p, el, co, where, sizeof where);
    if (p->m)
        p->broken = 1;
    return codec_diag_add(p->b, p->m, p->m ? p->ma : p->a, code, line, col,
                          "%s%s%s", where, *where ? ": " : "", what);
}

/* Same, placed at element el / component co of the current segment. */
int edi__sdiag(edi__p *p, int code, uint32_t el, uint32_t co,
               const char *fmt, ...)
{
    char what[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    uint32_t line, col;
    edi__at(p, el, co, &line, &col);
    return edi__diag(p, code, el, co, line, col, "%s", what);
}

/* Rules that could be broken at every segment: the first slip in a
 * message (or outside messages) says what is wrong, the rest would only
 * repeat it. Counts and dates are each their own slip. */
#define EDI__ONCE (1u << STRICT_LINE_ENDS | 1u << STRICT_TRAILING_SPACE)

static void edi__vrule(edi__p *p, int rule, int code, uint32_t el,
                       uint32_t co, uint32_t line, uint32_t col,
                       const char *what)
{
    uint32_t *seen = p->m ? &p->m_rules : &p->in_rules;
    if (*seen & 1u << rule & EDI__ONCE)
        return;
    *seen |= 1u << rule;
    char where[96];
    edi__where(p, el, co, where, sizeof where);
    codec_rule_add(p->b, p->m, p->m ? p->ma : p->a, rule, code, line, col,
                   where, "%s", what);
}

void edi__rule(edi__p *p, int rule, int code, uint32_t el, uint32_t co,
               uint32_t line, uint32_t col, const char *fmt, ...)
{
    char what[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    edi__vrule(p, rule, code, el, co, line, col, what);
}

void edi__srule(edi__p *p, int rule, int code, uint32_t el, uint32_t co,
                const char *fmt, ...)
{
    char what[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    uint32_t line, col;
    edi__at(p, el, co, &line, &col);
    edi__vrule(p, rule, code, el, co, line, col, what);
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
    if (p->end - q > 3 && edi__tag_char((unsigned char)q[0]) &&
        edi__tag_char((unsigned char)q[1]) &&
        edi__tag_char((unsigned char)q[2]) &&
        (q[3] == p->seps.elem || q[3] == p->seps.seg)) {
        memcpy(p->tag, q, 3); /* the usual case, without the checks below */
        p->tag[3] = '\0';
        return 1;
    }
    size_t n = 0;
    while (n < 3 && q + n < p->end && q[n] != p->seps.elem &&
           q[n] != p->seps.seg)
        n++;
    int ok = n == 3 && q + 3 < p->end &&
             (q[3] == p->seps.elem || q[3] == p->seps.seg);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)q[i];
        ok &= edi__tag_char(c);
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
    p->nelem = p->ncomp = p->taint = p->odd = p->err = 0;
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
        tnode *t = p->broken ? NULL : p->built ? p->built : edi__build(p);
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
    p->built = k == EDI__BODY && !skip && q != p->nofast ? edi__fast(p, q + 3)
                                                         : NULL;
    if (!p->built && !(skip ? edi__find_end(p, q) : edi__scan(p, q + 3))) {
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

static const char *edi__bom(const char *q, const char *end)
{
    return end - q >= 3 && memcmp(q, "\xEF\xBB\xBF", 3) == 0 ? q + 3 : q;
}

/* Where the text starts: past a BOM (a slip, strict.h), line 1. */
static const char *edi__start(edi__p *p, const char *data, size_t len)
{
    p->end = data + len;
    const char *q = edi__bom(data, p->end);
    p->line = 1;
    p->lcol0 = 1;
    p->lp = p->text = q;
    if (q != data)
        edi__rule(p, STRICT_BOM, ERR_SYNTAX, 0, 0, 1, 1, "UTF-8 byte order "
                  "mark before the interchange");
    return q;
}

static int edi__run(edi__p *p, const char *data, size_t len)
{
    const char *q = edi__skip_ws(p, edi__start(p, data, len));
    while (!p->stop && q < p->end) {
        int rc = 0;
        if (p->end - q >= 3 && memcmp(q, "UNA", 3) == 0) {
            edi__una(p, &q);
            q = edi__gap(p, q);
        } else if (edi__fast_next(p, q)) {
            q = edi__fast_run(p, q); /* checks its own gaps */
        } else {
            rc = edi__segment(p, &q);
            q = edi__gap(p, q);
        }
        if (rc < 0)
            return rc;
    }
    p->sline = p->line;
    p->scol = edi__col(p, q);
    edi__close_msg(p);
    edi__close_ic(p);
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
    p->gapn = EDI__GAP_UNSET;
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
