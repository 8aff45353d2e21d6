/* What the movement ledger's commands (declare, mv, movements, trace,
 * verify, alerts) share: option parsing and one exit code per kind of
 * failure, so scripts can tell "refused" from "bad input" from "eportd
 * is not applying". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const ctl_opt *ctl__find(const ctl_opt *opts, const char *a)
{
    for (const ctl_opt *o = opts; o->name; o++)
        if (!strcmp(a, o->name) ||
            (o->short_name && !strcmp(a, o->short_name)))
            return o;
    return NULL;
}

static int ctl__value(const ctl_opt *o, const char *v)
{
    if (o->str) {
        *o->str = v;
        return 0;
    }
    char *end;
    *o->num = strtol(v, &end, 10);
    return *v && !*end ? 0 : -1;
}

int ctl_opts(int argc, char **argv, int first, const ctl_opt *opts,
             const char **pos, int maxpos, int *npos, const char *usage)
{
    *npos = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        const ctl_opt *o = ctl__find(opts, a);
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: %s\n", usage);
            return -1;
        }
        if (o && o->flag) {
            *o->flag = 1;
            continue;
        }
        if (o && i + 1 < argc && ctl__value(o, argv[i + 1]) == 0) {
            i++;
            continue;
        }
        if (!o && a[0] != '-' && *npos < maxpos) {
            pos[(*npos)++] = a;
            continue;
        }
        fprintf(stderr, "eportctl: error: %s %s\nusage: %s\n",
                o ? "bad value for" : "unexpected", a, usage);
        return CTL_USAGE;
    }
    return CTL_OK;
}

int ctl_lg_fail(const char *ref, const err_t *e)
{
    if (ref && !strstr(e->msg, ref))
        fprintf(stderr, "eportctl: error: %s: %s\n", ref, e->msg);
    else
        fprintf(stderr, "eportctl: error: %s\n", e->msg);
    switch (e->code) {
    case ERR_DENIED: case ERR_PHASE: case ERR_CONFLICT:
        return CTL_REFUSED;
    case ERR_AGAIN: /* not applied yet, or a permit still unanswered */
        return CTL_TEMPFAIL;
    case ERR_IO:
        return CTL_UNAVAILABLE;
    case ERR_NOMEM:
        return CTL_SOFTWARE;
    default:
        return CTL_DATAERR;
    }
}
