#include "codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One row per format. Each lives in connectors/codec/codec_NAME.c. */
extern const codec_ops codec_edifact_ops, codec_xml_ops, codec_json_ops,
    codec_csv_ops, codec_fixed_ops;

static const codec_ops *const codec__all[] = {
    &codec_edifact_ops, &codec_xml_ops, &codec_json_ops,
    &codec_csv_ops,     &codec_fixed_ops, NULL,
};

const codec_ops *const *codec_all(void) { return codec__all; }

const codec_ops *codec_find(const char *name)
{
    for (size_t i = 0; name && codec__all[i]; i++)
        if (strcmp(codec__all[i]->name, name) == 0)
            return codec__all[i];
    return NULL;
}

const codec_ops *codec_sniff(const char *data, size_t len)
{
    const codec_ops *best = NULL;
    int best_score = 0;
    for (size_t i = 0; codec__all[i]; i++) {
        if (!codec__all[i]->sniff)
            continue;
        int s = codec__all[i]->sniff(data, len);
        if (s > best_score) {
            best_score = s;
            best = codec__all[i];
        }
    }
    return best;
}

codec_msg *codec_msg_add(codec_batch *b, arena_t *a)
{
    if (b->nmsgs >= CODEC_MAX_MESSAGES)
        return NULL;
    codec_msg *m = arena_zalloc(a, sizeof *m);
    if (!m)
        return NULL;
    m->index = b->nmsgs++;
    if (b->last)
        b->last->next = m;
    else
        b->msgs = m;
    b->last = m;
    return m;
}

static void codec__append(codec_diag **head, codec_diag *d)
{
    codec_diag **p = head;
    while (*p)
        p = &(*p)->next;
    *p = d;
}

static codec_diag *codec__store(codec_batch *b, codec_msg *m, arena_t *a,
                                int code, uint32_t line, uint32_t col,
                                const char *msg)
{
    codec_diag *d = arena_zalloc(a, sizeof *d);
    if (!d || !(d->msg = arena_strdup(a, msg)))
        return NULL;
    d->line = line;
    d->col = col;
    d->code = code;
    if (m) {
        codec__append(&m->diags, d);
    } else {
        if (b->diags_last)
            b->diags_last->next = d;
        else
            b->diags = d;
        b->diags_last = d;
    }
    return d;
}

int codec_diag_add(codec_batch *b, codec_msg *m, arena_t *a, int code,
                   uint32_t line, uint32_t col, const char *fmt, ...)
{
    if (b->ndiags++ >= CODEC_MAX_DIAGS)
        return code;
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    codec__store(b, m, a, code, line, col, msg);
    return code;
}

codec_diag *codec_rule_add(codec_batch *b, codec_msg *m, arena_t *a,
                           int rule, int code, uint32_t line, uint32_t col,
                           const char *where, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    int k = *where ? snprintf(msg, sizeof msg, "%s: ", where) : 0;
    if (k < 0 || (size_t)k >= sizeof msg / 2)
        k = 0; /* a where that long is not one: keep the what */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
    va_end(ap);
    b->ndiags++;
    codec_diag *d = codec__store(b, m, a, code, line, col, msg);
    if (d) {
        d->rule = (uint8_t)rule;
        d->what = (uint16_t)k;
    }
    return d;
}

void codec_eol_check(codec_eol *s, codec_batch *b, codec_msg *m, arena_t *a,
                     int crlf, uint32_t line, uint32_t col)
{
    uint8_t k = crlf ? 2 : 1;
    if (!s->first) {
        s->first = k;
        s->line = line;
        return;
    }
    if (k == s->first || s->told)
        return;
    s->told = 1;
    char where[24];
    snprintf(where, sizeof where, "line %u", line);
    codec_rule_add(b, m, a, STRICT_LINE_ENDS, ERR_SYNTAX, line, col, where,
                   "ends with %s, line %u with %s", crlf ? "CRLF" : "LF",
                   s->line, crlf ? "LF" : "CRLF");
}

void codec_diag_line(const codec_diag *d, char *out, size_t n)
{
    const char *r = strict_rule_name(d->rule);
    snprintf(out, n, "%s%s%s%s", d->msg, r ? " [" : "", r ? r : "",
             r ? "]" : "");
}

void codec_warning_text(int rule, const char *where, size_t wlen,
                        const char *what, uint32_t line, uint32_t col,
                        char *out, size_t n)
{
    const char *r = strict_rule_name(rule);
    snprintf(out, n, "%s: %s%s%.*s at %u:%u", r ? r : "error", what,
             wlen ? ", " : "", (int)wlen, where, line, col);
}

void codec_diag_warning(const codec_diag *d, char *out, size_t n)
{
    size_t w = d->what >= 2 ? d->what - 2u : 0; /* the where, no ": " */
    codec_warning_text(d->rule, d->msg, w, d->msg + d->what, d->line, d->col,
                       out, n);
}
