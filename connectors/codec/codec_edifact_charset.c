/* codec_edifact_charset: what the syntax level (UNB 0001) or the caller's
 * charset asks of the bytes. Only segments holding bytes outside printable
 * ASCII come here: checked as ASCII or UTF-8, or converted from ISO 8859;
 * a whole input in a legacy charset (o->charset) is recoded first. */
#include "codec_edifact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"
#include "codec_edifact_int.h"

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
int edi__check(edi__p *p)
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
int edi__recode(edi__p *p, const char *cs, const char **data,
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
