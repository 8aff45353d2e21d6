/* codec_edifact_slip: what follows a segment terminator, when it is not
 * the input's usual way (edi__gap in codec_edifact_int.h is the cheap
 * test every segment pays): spaces there (trailing_space), a line end
 * other than the input's first (line_ends). Slips, not errors: xlate
 * judges them by the table (strict.h). */
#include "codec_edifact.h"

#include <string.h>

#include "codec_edifact_int.h"

/* line_ends' names of what follows a terminator (edi__gap_odd). */
static const char *const edi__gaps[] = {"no line break", "LF", "CRLF",
                                        "blank lines or a lone CR"};

/* 0 nothing, 1 LF, 2 CRLF (spaces aside), 3 anything else. */
static uint32_t edi__gap_kind(const char *s, const char *q, uint32_t cr,
                              uint32_t lf)
{
    if (!cr && lf <= 1)
        return lf;
    const char *n = cr == 1 && lf == 1 ? memchr(s, '\n', (size_t)(q - s))
                                       : NULL;
    return n && n > s && n[-1] == '\r' ? 2 : 3;
}

/* Line and column of c, in the white space s..q just skipped (the
 * parser's line is q's). */
static void edi__gap_pos(const edi__p *p, const char *c, const char *q,
                         uint32_t *line, uint32_t *col)
{
    const char *b = c;
    *line = p->line;
    for (const char *x = c; x < q; x++)
        *line -= *x == '\n';
    while (b > p->text && b[-1] != '\n')
        b--;
    *col = (uint32_t)(c - b) + 1;
}

/* The input's line end after a terminator is the first one seen that is
 * nothing, LF or CRLF; any other is a slip, once per message. */
static void edi__gap_line_end(edi__p *p, const char *s, const char *q,
                              uint32_t kind, uint32_t seen)
{
    uint32_t l, c;
    if (p->gapn == EDI__GAP_UNSET && kind < 3) {
        p->gapn = kind;
        return;
    }
    if (seen & 1u << STRICT_LINE_ENDS)
        return;
    edi__gap_pos(p, s, q, &l, &c);
    edi__rule(p, STRICT_LINE_ENDS, ERR_SYNTAX, 0, 0, l, c, "%s after the "
              "segment terminator%s%s", edi__gaps[kind], p->gapn < 3 ?
              ", where the input's first segment ends with " : "",
              p->gapn < 3 ? edi__gaps[p->gapn] : "");
}

void edi__gap_odd(edi__p *p, const char *s, const char *q)
{
    uint32_t seen = p->m ? p->m_rules : p->in_rules, cr = 0, lf = 0, l, c;
    const char *sp = NULL;
    for (const char *x = s; x < q; x++) {
        sp = !sp && (*x == ' ' || *x == '\t') ? x : sp;
        cr += *x == '\r';
        lf += *x == '\n';
    }
    if (sp && !(seen & 1u << STRICT_TRAILING_SPACE)) {
        edi__gap_pos(p, sp, q, &l, &c);
        edi__rule(p, STRICT_TRAILING_SPACE, ERR_SYNTAX, 0, 0, l, c,
                  "white space after the segment terminator");
    }
    uint32_t kind = edi__gap_kind(s, q, cr, lf);
    if (q != p->end && kind != p->gapn) /* at the end any will do */
        edi__gap_line_end(p, s, q, kind, seen);
}
