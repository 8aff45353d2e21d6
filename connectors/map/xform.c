/* xform: the pieces shared by the transforms (the bounded output writer),
 * and ASCII case and whitespace. Dates are in xform_date.c (patterns, ISO
 * 8601) and xform_edi.c (EDIFACT 2379), numbers in xform_num.c. */
#include "xform.h"

#include <string.h>

#include "xform_int.h"

/* ---- output writer: bounded, NUL-terminated, overflow remembered ---- */

int xform__wdone(xform__w *w)
{
    *w->p = '\0';
    return w->over ? ERR_TOOBIG : 0;
}

/* ---- case and whitespace ---- */

static int xform__space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void xform_upper(char *s)
{
    for (; s && *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
}

void xform_lower(char *s)
{
    for (; s && *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

char *xform_trim(char *s)
{
    if (!s)
        return s;
    while (xform__space(*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && xform__space(end[-1]))
        end--;
    *end = '\0';
    return s;
}

void xform_squeeze(char *s)
{
    char *w = s;
    for (const char *r = s; r && *r;) {
        if (!xform__space(*r)) {
            *w++ = *r++;
            continue;
        }
        *w++ = ' ';
        while (xform__space(*r))
            r++;
    }
    if (w)
        *w = '\0';
}
