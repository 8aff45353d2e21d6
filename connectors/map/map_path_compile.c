/* Compiling a path's text into steps, once per table; matching them is
 * map_path.c. Grammar in docs/mapping-language.md. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_int.h"

/* ---- compiling ---- */

static int mp__fail(char *why, size_t whysz, const char *text, const char *msg)
{
    snprintf(why, whysz, "path '%s': %s", text, msg);
    return ERR_SYNTAX;
}

/* Trailing ".E" or ".E.C" (digits) are positions, not part of a name. */
static const char *mp__positions(const char *text, mpath *p)
{
    const char *end = text + strlen(text), *q = end;
    int dots = 0;
    while (q > text && dots < 2) {
        const char *d = q;
        while (d > text && isdigit((unsigned char)d[-1]))
            d--;
        if (d == q || d == text || d[-1] != '.')
            break;
        q = d - 1;
        dots++;
    }
    if (dots == 0)
        return end;
    p->elem = (uint16_t)atoi(q + 1);
    const char *second = strchr(q + 1, '.');
    p->comp = (dots == 2 && second) ? (uint16_t)atoi(second + 1) : 0;
    return q;
}

static int mp__pred(const char *s, size_t n, mstep *st, arena_t *a)
{
    const char *eq = memchr(s, '=', n);
    if (!eq && n == 4 && memcmp(s, "last", 4) == 0) {
        st->nth = MSTEP_LAST; /* the last match (the final arrival) */
        return 0;
    }
    if (!eq) {
        for (size_t i = 0; i < n; i++)
            if (!isdigit((unsigned char)s[i]))
                return -1;
        st->nth = (uint32_t)atoi(s);
        return st->nth ? 0 : -1;
    }
    if (isdigit((unsigned char)s[0])) { /* [E.C=value]: by position */
        st->pred_elem = (uint16_t)atoi(s);
        const char *dot = memchr(s, '.', (size_t)(eq - s));
        st->pred_comp = dot ? (uint16_t)atoi(dot + 1) : 1;
    }
    st->pred_key = arena_strndup(a, s, (size_t)(eq - s));
    st->pred_val = arena_strndup(a, eq + 1, n - (size_t)(eq - s) - 1);
    return st->pred_key && st->pred_val && st->pred_key[0] ? 0 : -1;
}

/* One step "NAD+CZ", "Party[RoleCode=CZ]", "@unitCode" from s[0..n). */
static int mp__step(const char *s, size_t n, mstep *st, arena_t *a)
{
    size_t i = 0;
    while (i < n && s[i] != '+' && s[i] != '[')
        i++;
    if (i == 0 || !(st->name = arena_strndup(a, s, i)))
        return -1;
    st->code = mname_code(st->name);
    st->exact = i < 4;
    while (i < n && s[i] == '+') {
        size_t j = ++i;
        while (j < n && s[j] != '+' && s[j] != '[')
            j++;
        if (st->nquals >= MAP_MAX_QUALS)
            return -1;
        st->quals[st->nquals++] = arena_strndup(a, s + i, j - i);
        i = j;
    }
    while (i < n && s[i] == '[') {
        if (i + 2 == n && s[i + 1] == ']') { /* NAME[] at the step's end */
            st->list = 1;
            return 0;
        }
        const char *close = memchr(s + i, ']', n - i);
        if (!close || mp__pred(s + i + 1, (size_t)(close - s) - i - 1, st, a))
            return -1;
        i = (size_t)(close - s) + 1;
    }
    return i == n ? 0 : -1;
}

int mpath_compile(const char *text, arena_t *a, mpath *p, char *why,
                  size_t whysz)
{
    memset(p, 0, sizeof *p);
    p->text = arena_strdup(a, text);
    if (strcmp(text, "#index") == 0 || strcmp(text, ".") == 0) {
        p->kind = text[0] == '#' ? MP_INDEX : MP_SELF;
        return 0;
    }
    if (text[0] == '/' && text[1] && text[1] != '/') {
        p->rooted = 1; /* above a split record or a group: the message's */
        text++;
    }
    if (!text[0] || strchr("/#.+[", text[0]))
        return mp__fail(why, whysz, text, "expected a name first");
    const char *end = mp__positions(text, p);
    if ((end != text + strlen(text) && p->elem == 0) ||
        (strchr(end, '.') != strrchr(end, '.') && p->comp == 0))
        return mp__fail(why, whysz, text, "positions count from 1");
    if (end == text || end[-1] == '/')
        return mp__fail(why, whysz, text, "empty step");
    uint32_t n = 1;
    for (const char *c = text; c < end; c++)
        n += *c == '/';
    p->steps = arena_zalloc(a, n * sizeof *p->steps);
    if (!p->steps || !p->text)
        return mp__fail(why, whysz, text, "out of memory");
    for (const char *s = text; s < end; p->nsteps++) {
        const char *slash = memchr(s, '/', (size_t)(end - s));
        const char *e = slash ? slash : end;
        if (mp__step(s, (size_t)(e - s), &p->steps[p->nsteps], a))
            return mp__fail(why, whysz, text, "bad step (expected NAME, "
                            "NAME+QUAL, NAME[key=value] or NAME[N])");
        s = slash ? slash + 1 : end;
    }
    for (uint32_t i = 0; i < p->nsteps; i++)
        p->steps[i].plain = !p->steps[i].nquals && !p->steps[i].pred_key;
    const mstep *st = &p->steps[0];
    p->direct = p->nsteps == 1 && st->nth == 0 &&
                !(st->name[0] == '*' && !st->name[1]);
    return 0;
}
