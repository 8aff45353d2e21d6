/* eportctl map --diff EXPECTED: the records a file translates to, against
 * a golden file (one canonical JSON record per line, as `eportctl map`
 * writes them): every field that differs, by its path, the way a mapping
 * author writes tests (docs/mapping-tutorial.md). Nothing printed and
 * exit 0 when they are the same; else one line per difference and 1. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_map_int.h"

#define CMD_PATH_MAX 512
#define CMD_TEXT_MAX 120

typedef struct cmd_out {
    FILE *f;
    size_t rec;                /* the record compared, from 1 */
} cmd_out;

/* v as short text for a difference line. */
static void cmd__text(const json_t *v, char *out, size_t n)
{
    if (!v) {
        snprintf(out, n, "(absent)");
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len = s ? strlen(s) : 0, cut = len > CMD_TEXT_MAX ? CMD_TEXT_MAX
                                                              : len;
    while (cut < len && cut && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--; /* between UTF-8 characters */
    snprintf(out, n, "%.*s%s", (int)cut, s ? s : "?", cut < len ? "..." : "");
    free(s);
}

static int cmd__walk(const json_t *want, const json_t *got, const char *at,
                     cmd_out *to);

/* The keys of either object, each compared once. */
static int cmd__objects(const json_t *want, const json_t *got,
                        const char *at, cmd_out *to)
{
    int k = 0;
    const char *key;
    json_t *v;
    char here[CMD_PATH_MAX];
    json_object_foreach((json_t *)want, key, v) {
        snprintf(here, sizeof here, "%s%s%s", at, *at ? "." : "", key);
        k += cmd__walk(v, json_object_get(got, key), here, to);
    }
    json_object_foreach((json_t *)got, key, v) {
        if (json_object_get(want, key))
            continue;
        snprintf(here, sizeof here, "%s%s%s", at, *at ? "." : "", key);
        k += cmd__walk(NULL, v, here, to);
    }
    return k;
}

/* Elements by position, counted from 1 as docs/model.md writes them. */
static int cmd__arrays(const json_t *want, const json_t *got,
                       const char *at, cmd_out *to)
{
    size_t nw = json_array_size(want), ng = json_array_size(got);
    int k = 0;
    char here[CMD_PATH_MAX];
    for (size_t i = 0; i < (nw > ng ? nw : ng); i++) {
        snprintf(here, sizeof here, "%s[%zu]", at, i + 1);
        k += cmd__walk(json_array_get(want, i), json_array_get(got, i), here,
                       to);
    }
    return k;
}

static int cmd__walk(const json_t *want, const json_t *got, const char *at,
                     cmd_out *to)
{
    if (json_is_object(want) && json_is_object(got))
        return cmd__objects(want, got, at, to);
    if (json_is_array(want) && json_is_array(got))
        return cmd__arrays(want, got, at, to);
    if (want && got && json_equal((json_t *)want, (json_t *)got))
        return 0;
    char w[CMD_TEXT_MAX + 8], g[CMD_TEXT_MAX + 8];
    cmd__text(want, w, sizeof w);
    cmd__text(got, g, sizeof g);
    fprintf(to->f, "record %zu: %s: expected %s, got %s\n", to->rec,
            *at ? at : "(the record)", w, g);
    return 1;
}

/* The next non-blank line of text as JSON, NULL past the end; *lineno
 * counts the lines read (so it is that line's number, from 1); *bad set
 * when it is not JSON. */
static json_t *cmd__line(const char **p, size_t *lineno, int *bad, char *why,
                         size_t n)
{
    while (**p == '\n' || (**p == '\r' && (*p)[1] == '\n')) {
        if (**p == '\n')
            (*lineno)++;
        (*p)++;
    }
    if (!**p)
        return NULL;
    (*lineno)++;
    const char *nl = strchr(*p, '\n');
    size_t len = nl ? (size_t)(nl - *p) : strlen(*p);
    json_error_t je;
    json_t *j = json_loadb(*p, len, 0, &je);
    if (!j)
        *bad = 1, snprintf(why, n, "%s", je.text);
    *p += len + (nl != NULL); /* its line feed too: the next line starts */
    return j;
}

int cm_diff(const char *expected_name, const buf_t *expected,
            const buf_t *got, FILE *f)
{
    cmd_out to = {f, 0};
    const char *pe = expected->p ? expected->p : "", *pg = got->p ? got->p : "";
    int diffs = 0, bad = 0;
    size_t line_e = 0, line_g = 0;
    char why[200];
    for (size_t rec = 1;; rec++) {
        json_t *w = cmd__line(&pe, &line_e, &bad, why, sizeof why);
        if (bad) {
            fprintf(stderr, "%s:%zu:1: error: not a JSON record: %s\n",
                    expected_name, line_e, why);
            return CTL_DATAERR;
        }
        json_t *g = cmd__line(&pg, &line_g, &bad, why, sizeof why);
        if (!w && !g)
            break;
        to.rec = rec;
        diffs += cmd__walk(w, g, "", &to);
        json_decref(w);
        json_decref(g);
    }
    return diffs ? 1 : CTL_OK;
}
