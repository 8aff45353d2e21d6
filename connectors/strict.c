#include "strict.h"

#include <string.h>

static const char *const strict__names[STRICT__N] = {
    NULL,
#define STRICT__NAME(id, name) name,
    STRICT_RULES(STRICT__NAME)
#undef STRICT__NAME
};

const char *strict_rule_name(int rule)
{
    return rule > STRICT_NONE && rule < STRICT__N ? strict__names[rule]
                                                  : NULL;
}

int strict_rule_find(const char *name)
{
    for (int r = STRICT_NONE + 1; name && r < STRICT__N; r++)
        if (strcmp(name, strict__names[r]) == 0)
            return r;
    return STRICT_NONE;
}

int strict_mode_find(const char *name)
{
    if (name && strcmp(name, "strict") == 0)
        return STRICT_STRICT;
    if (name && strcmp(name, "lenient") == 0)
        return STRICT_LENIENT;
    return STRICT_UNSET;
}

const char *strict_rule_list(void)
{
    return "envelope_counts, check_digits, dates, bom, line_ends, "
           "trailing_space";
}

/* What an authority or a terminal reports must not be lost over a typo in
 * a number it echoes; what is filed with one must be right. */
static int strict__lenient_digits(const char *kind)
{
    return kind && (strcmp(kind, "status") == 0 ||
                    strcmp(kind, "response") == 0);
}

void strict_defaults(const char *kind, strict_set *out)
{
    for (int r = STRICT_NONE + 1; r < STRICT__N; r++)
        out->mode[r] = STRICT_LENIENT;
    out->mode[STRICT_NONE] = STRICT_UNSET;
    out->mode[STRICT_ENVELOPE_COUNTS] = STRICT_STRICT;
    out->mode[STRICT_CHECK_DIGITS] = strict__lenient_digits(kind)
                                         ? STRICT_LENIENT : STRICT_STRICT;
}

void strict_overlay(strict_set *base, const strict_set *over)
{
    for (int r = STRICT_NONE + 1; r < STRICT__N; r++)
        if (over->mode[r])
            base->mode[r] = over->mode[r];
}
