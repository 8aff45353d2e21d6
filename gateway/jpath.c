/* jpath: see jpath.h. Paths are short and checked when the rules load,
 * so evaluation parses them again each time rather than keep a compiled
 * form: a record is checked against a few dozen paths at most. */
#include "jpath.h"

#include <stdio.h>
#include <string.h>

typedef enum { JP_FIELD, JP_ALL, JP_WHERE } jp_mode;

typedef struct jp_seg {
    char name[40];
    jp_mode mode;
    char key[40], val[65];     /* JP_WHERE: key=val */
} jp_seg;

/* "name", "name[]" or "name[key=val]" from s[0..n) into g; 0 or -1. */
static int jp__seg(const char *s, size_t n, jp_seg *g, const char **why)
{
    size_t k = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");
    memset(g, 0, sizeof *g);
    if (k == 0 || k > n || k >= sizeof g->name)
        return *why = "a name of a-z 0-9 _ (1-39) expected", -1;
    memcpy(g->name, s, k);
    if (k == n)
        return 0;
    if (s[k] != '[' || s[n - 1] != ']')
        return *why = "only [] or [name=value] may follow a name", -1;
    const char *in = s + k + 1;
    size_t m = n - k - 2;
    if (m == 0)
        return g->mode = JP_ALL, 0;
    const char *eq = memchr(in, '=', m);
    size_t kl = eq ? (size_t)(eq - in) : 0, vl = eq ? m - kl - 1 : 0;
    if (!eq || kl == 0 || kl >= sizeof g->key || vl == 0 ||
        vl >= sizeof g->val || memchr(in, ']', m) ||
        strspn(in, "abcdefghijklmnopqrstuvwxyz0123456789_") != kl)
        return *why = "[name=value] with a name of a-z 0-9 _ and a value "
                      "of 1-64 characters expected", -1;
    memcpy(g->key, in, kl);
    memcpy(g->val, eq + 1, vl);
    g->mode = JP_WHERE;
    return 0;
}

/* path split at the dots outside brackets; -1 with why. */
static int jp__parse(const char *path, jp_seg *segs, size_t *n,
                     const char **why)
{
    size_t len = path ? strlen(path) : 0, start = 0;
    int depth = 0;
    *n = 0;
    if (len == 0 || len > JPATH_MAX)
        return *why = "empty or longer than 200 bytes", -1;
    for (size_t i = 0; i <= len; i++) {
        char c = path[i];
        depth += c == '[' ? 1 : c == ']' ? -1 : 0;
        if (c && (c != '.' || depth))
            continue;
        if (*n == JPATH_SEG_MAX)
            return *why = "more than 6 segments", -1;
        if (jp__seg(path + start, i - start, &segs[(*n)++], why) < 0)
            return -1;
        start = i + 1;
    }
    return depth ? (*why = "unbalanced brackets", -1) : 0;
}

int jpath_check(const char *path, err_t *e)
{
    jp_seg segs[JPATH_SEG_MAX];
    size_t n;
    const char *why = NULL;
    if (jp__parse(path, segs, &n, &why) < 0)
        return err_set(e, ERR_SYNTAX, "path '%s': %s", path ? path : "",
                       why);
    return 0;
}

/* A value counts as there unless absent, null, "" or []. */
static int jp__there(const json_t *v)
{
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    return 1;
}

static void jp__note(buf_t *out, const char *at)
{
    if (out->len)
        buf_adds(out, ", ");
    buf_adds(out, at); /* past the cap: the text is cut, the count holds */
}

static int jp__eval(const json_t *v, const jp_seg *s, size_t n,
                    const char *at, buf_t *out);

/* The elements of array a that segment g selects, each evaluated on. */
static int jp__elems(const json_t *a, const jp_seg *g, const jp_seg *s,
                     size_t n, const char *at, buf_t *out)
{
    char here[512];
    size_t i, hits = 0;
    int missing = 0;
    const json_t *el;
    json_array_foreach(a, i, el) {
        const json_t *kv = g->mode == JP_WHERE ? json_object_get(el, g->key)
                                               : NULL;
        if (g->mode == JP_WHERE &&
            (!json_is_string(kv) || strcmp(json_string_value(kv), g->val)))
            continue;
        hits++;
        if (g->mode == JP_ALL)
            snprintf(here, sizeof here, "%s%s[%zu]", at, g->name, i + 1);
        else
            snprintf(here, sizeof here, "%s%s[%s=%s]", at, g->name, g->key,
                     g->val);
        missing += jp__eval(el, s, n, here, out);
    }
    if (hits)
        return missing;
    snprintf(here, sizeof here, "%s%s[%s%s%s]", at, g->name, g->key,
             g->mode == JP_WHERE ? "=" : "", g->val);
    jp__note(out, here);
    return 1;
}

/* Segments s[0..n) below v (reached at path `at`, "" at the root). */
static int jp__eval(const json_t *v, const jp_seg *s, size_t n,
                    const char *at, buf_t *out)
{
    if (n == 0) {
        if (jp__there(v))
            return 0;
        jp__note(out, at);
        return 1;
    }
    char here[512];
    const json_t *c = json_is_object(v) ? json_object_get(v, s->name) : NULL;
    snprintf(here, sizeof here, "%s%s", at, *at ? "." : "");
    if (s->mode != JP_FIELD && json_is_array(c))
        return jp__elems(c, s, s + 1, n - 1, here, out);
    if (s->mode != JP_FIELD) {
        char whole[600];
        snprintf(whole, sizeof whole, "%s%s[%s%s%s]", here, s->name, s->key,
                 s->mode == JP_WHERE ? "=" : "", s->val);
        jp__note(out, whole);
        return 1;
    }
    snprintf(here + strlen(here), sizeof here - strlen(here), "%s", s->name);
    return jp__eval(c, s + 1, n - 1, here, out);
}

int jpath_missing(const json_t *root, const char *path, buf_t *out)
{
    jp_seg segs[JPATH_SEG_MAX];
    size_t n;
    const char *why;
    if (jp__parse(path, segs, &n, &why) < 0)
        return -1;
    return jp__eval(root, segs, n, "", out);
}
