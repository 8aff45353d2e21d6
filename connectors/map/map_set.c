/* A mapping set: every table and code list of a directory, loaded and
 * compiled once, and the choice of the table for a parsed message (the
 * most specific `match:` that holds; a tie is an error, never a guess). */
#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_int.h"

#define MAP_MAX_TABLES 512

struct map_set {
    arena_t arena; /* everything below lives here */
    map_def *defs[MAP_MAX_TABLES];
    size_t ndefs;
    const mcodes *codes[MAP_MAX_TABLES];
    size_t ncodes;
    map_problem *problems, **tail;
};

void map_problem_add(map_problem ***tail, arena_t *a, const char *text)
{
    map_problem *p = arena_zalloc(a, sizeof *p);
    if (!p || !(p->text = arena_strdup(a, text)))
        return;
    **tail = p;
    *tail = &p->next;
}

static int ms__yaml_name(const char *n)
{
    size_t l = strlen(n);
    return n[0] != '.' && ((l > 5 && strcmp(n + l - 5, ".yaml") == 0) ||
                           (l > 4 && strcmp(n + l - 4, ".yml") == 0));
}

static int ms__cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.yaml names of dir (sorted so load order, and so problem order,
 * is the same on every machine). */
static int ms__list(const char *dir, char ***out, size_t *n)
{
    DIR *dh = opendir(dir);
    *n = 0;
    *out = NULL;
    if (!dh)
        return ERR_IO;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(dh)) && *n < MAP_MAX_TABLES) {
        if (!ms__yaml_name(de->d_name))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(*out, cap * sizeof *nv);
            if (!nv)
                break;
            *out = nv;
        }
        (*out)[(*n)++] = strdup(de->d_name);
    }
    closedir(dh);
    if (*n)
        qsort(*out, *n, sizeof **out, ms__cmp);
    return 0;
}

static void ms__free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void ms__add_codes(map_set *s, const ydoc *d)
{
    mcodes *c;
    err_t e;
    if (mcodes_load(d, &s->arena, &c, &e))
        map_problem_add(&s->tail, &s->arena, e.msg);
    else if (map_set_codes(s, mcodes_name(c))) {
        ydoc_err(d, ydoc_get(d->root, "codelist"), &e, ERR_CONFIG,
                 "code list '%s' is defined twice", mcodes_name(c));
        map_problem_add(&s->tail, &s->arena, e.msg);
    }
    else
        s->codes[s->ncodes++] = c;
}

static void ms__add_table(map_set *s, const ydoc *d)
{
    map_def *m = NULL;
    err_t e;
    if (map_compile(d, s, &s->arena, &m, &s->tail) != 0) {
        if (m) /* what it compiled before the problem (regexes) */
            map_def_release(m);
        return;
    }
    if (map_set_find(s, m->name)) {
        ydoc_err(d, d->root, &e, ERR_CONFIG, "mapping '%s' is defined twice",
                 m->name);
        map_problem_add(&s->tail, &s->arena, e.msg);
        map_def_release(m);
        return;
    }
    s->defs[s->ndefs++] = m;
}

/* A table that extends another is compiled once its base is; a base that
 * never appears is reported by the last pass. */
static int ms__ready(const map_set *s, const ydoc *d, int last)
{
    const char *base = ydoc_str(d->root, "extends");
    return last || !base || map_set_find(s, base);
}

static void ms__compile_all(map_set *s, ydoc *docs, size_t n)
{
    char *done = calloc(n + 1, 1);
    for (int pass = 0; done && pass < 8; pass++)
        for (size_t i = 0; i < n; i++)
            if (!done[i] && ms__ready(s, &docs[i], pass == 7)) {
                done[i] = 1;
                ms__add_table(s, &docs[i]);
            }
    free(done);
}

static int ms__load_dir(map_set *s, const char *dir, int codes)
{
    char **names, path[4096];
    size_t n, nd = 0;
    if (ms__list(dir, &names, &n))
        return ERR_IO;
    ydoc *docs = calloc(n + 1, sizeof *docs);
    for (size_t i = 0; docs && i < n; i++) {
        err_t e;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (ydoc_load_file(path, &s->arena, &docs[nd], &e))
            map_problem_add(&s->tail, &s->arena, e.msg);
        else if (codes)
            ms__add_codes(s, &docs[nd]);
        else
            nd++;
    }
    if (docs)
        ms__compile_all(s, docs, nd);
    free(docs);
    ms__free_list(names, n);
    return 0;
}

map_set *map_set_new(void)
{
    map_set *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    arena_init(&s->arena, 256u << 20);
    s->tail = &s->problems;
    return s;
}

int map_set_add_text(map_set *s, const char *name, const char *text,
                     size_t len, int codes)
{
    ydoc d;
    err_t e;
    map_problem **before = s->tail;
    if (ydoc_load(name, text, len, &s->arena, &d, &e))
        map_problem_add(&s->tail, &s->arena, e.msg);
    else if (codes)
        ms__add_codes(s, &d);
    else
        ms__add_table(s, &d);
    return s->tail == before ? 0 : ERR_CONFIG;
}

int map_set_load(const char *dir, map_set **out, err_t *e)
{
    map_set *s = map_set_new();
    if (!s)
        return err_set(e, ERR_NOMEM, "out of memory");
    *out = s;
    char codes[4096];
    snprintf(codes, sizeof codes, "%s/codes", dir);
    ms__load_dir(s, codes, 1); /* optional: a set may use no code list */
    if (ms__load_dir(s, dir, 0))
        return err_set(e, ERR_IO, "%s: error: cannot read mapping directory",
                       dir);
    if (s->problems)
        return err_set(e, ERR_CONFIG, "%s", s->problems->text);
    return 0;
}

void map_set_free(map_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ndefs; i++)
        map_def_release(s->defs[i]);
    arena_free(&s->arena);
    free(s);
}

const map_problem *map_set_problems(const map_set *s) { return s->problems; }
size_t map_set_count(const map_set *s) { return s->ndefs; }

const mcodes *map_set_codes(const map_set *s, const char *name)
{
    for (size_t i = 0; i < s->ncodes; i++)
        if (strcmp(mcodes_name(s->codes[i]), name) == 0)
            return s->codes[i];
    return NULL;
}

const map_def *map_set_find(const map_set *s, const char *name)
{
    for (size_t i = 0; i < s->ndefs; i++)
        if (strcmp(s->defs[i]->name, name) == 0)
            return s->defs[i];
    return NULL;
}

const map_def *map_set_by_filename(const map_set *s, const char *filename)
{
    const char *base = strrchr(filename, '/');
    base = base ? base + 1 : filename;
    const map_def *found = NULL;
    for (size_t i = 0; i < s->ndefs; i++) {
        const char *g = s->defs[i]->match.filename;
        if (g && fnmatch(g, base, 0) == 0) {
            if (found)
                return NULL;
            found = s->defs[i];
        }
    }
    return found;
}

const char *map_def_name(const map_def *d) { return d->name; }
const char *map_def_format(const map_def *d) { return d->format; }
const char *map_def_kind(const map_def *d) { return d->kind; }
int map_def_splits(const map_def *d) { return d->has_split; }
const codec_opts *map_def_codec_opts(const map_def *d) { return &d->copts; }

const strict_set *map_def_strict(const map_def *d) { return &d->strict; }

/* ---- selection ---- */

/* Most criteria are plain names (IFTMIN): those need no fnmatch, which
 * showed in the profile as it runs for every table and message. */
static int ms__glob(const char *pattern, const char *v)
{
    if (!pattern)
        return 1;
    if (!v)
        return 0;
    if (!strpbrk(pattern, "*?[\\"))
        return strcmp(pattern, v) == 0;
    return fnmatch(pattern, v, 0) == 0;
}

static int ms__matches(const map_def *d, const codec_msg *m,
                       const char *filename)
{
    const mmatch *x = &d->match;
    const codec_meta *mt = &m->meta;
    const char *base = filename ? strrchr(filename, '/') : NULL;
    base = base ? base + 1 : filename;
    if (!mt->format || strcmp(d->format, mt->format) != 0)
        return 0;
    if (!ms__glob(x->message_type, mt->message_type) ||
        !ms__glob(x->version, mt->version) || !ms__glob(x->sender, mt->sender) ||
        !ms__glob(x->root, m->root ? m->root->name : NULL) ||
        !ms__glob(x->ns, mt->ns) || !ms__glob(x->filename, base))
        return 0;
    mscope s = {m->root, m->root ? m->root->kids : NULL, NULL, 1, NULL, m->root, 0, 0};
    return !x->when || (m->root && mcond_holds(x->when, &s));
}

const map_def *map_set_select(const map_set *s, const codec_msg *m,
                              const char *filename, err_t *e)
{
    const map_def *best = NULL, *tie = NULL;
    for (size_t i = 0; i < s->ndefs; i++) {
        const map_def *d = s->defs[i];
        if (!ms__matches(d, m, filename))
            continue;
        if (!best || d->match.score > best->match.score)
            best = d, tie = NULL;
        else if (d->match.score == best->match.score)
            tie = d;
    }
    const codec_meta *mt = &m->meta;
    if (!best)
        err_set(e, ERR_NOMAP, "no mapping matches this %s message (type %s, "
                "version %s, sender %s)", mt->format ? mt->format : "?",
                mt->message_type ? mt->message_type : "-",
                mt->version ? mt->version : "-", mt->sender ? mt->sender : "-");
    else if (tie)
        err_set(e, ERR_NOMAP, "mappings '%s' and '%s' both match this message; "
                "make one 'match:' more specific or pass --map", best->name,
                tie->name);
    return best && !tie ? best : NULL;
}
