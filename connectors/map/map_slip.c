/* Slips of the strictness rules found while a table runs (check digits,
 * trailing spaces in values), judged at once: the table, and the sender
 * over it, say whether the record is refused or carries a warning
 * (strict.h, docs/mapping-language.md "Strict and lenient"). */
#include <stdio.h>
#include <string.h>

#include "map_int.h"

/* Rules that warn once per record: the first slip says what is wrong,
 * every padded value of a CSV file would only repeat it. */
#define MSLIP_ONCE (1u << STRICT_TRAILING_SPACE)

static int mslip__has(const model_strlist *l, const char *text)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], text) == 0)
            return 1;
    return 0;
}

int mslip_add(mslips *s, codec_batch *b, codec_msg *m, arena_t *a, int rule,
              int code, uint32_t line, uint32_t col, const char *where,
              const char *what)
{
    uint32_t bit = 1u << rule;
    if (s->told & bit & MSLIP_ONCE)
        return 0;
    s->told |= bit;
    int lenient = strict_is_lenient(s->table, s->over, rule);
    char text[ERR_MSG_MAX + 64];
    codec_warning_text(rule, where, strlen(where), what, line, col, text,
                       sizeof text);
    /* two rules reading one value (a container number that is both the
     * event's and the equipment's) say the same once */
    if (lenient && mslip__has(&s->rec->warnings, text))
        return 0;
    codec_diag *d = codec_rule_add(b, m, a, rule, code, line, col, where,
                                   "%s", what);
    if (!lenient)
        return code;
    if (!d)
        return ERR_NOMEM;
    d->warn = 1;
    err_t e;
    return model_strlist_add(a, &s->rec->warnings, text, strlen(text), &e);
}
