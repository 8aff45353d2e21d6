/* Loader: the YAML tree (ydoc) is read through the rows of
 * config_table.c, then config_check.c derives the remaining defaults and
 * checks keys against each other. Every problem is collected, so an
 * operator fixes a file in one pass; the first also goes to the caller's
 * err_t. */
#include "config.h"
#include "config_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_ARENA_MAX (256u << 20) /* the YAML tree (<= 8 MiB file) and values */
#define CFG_PROBLEMS_MAX (256u << 10)
#define CFG_VALUE_MAX 4096
#define CFG_ROWS_MAX 16

/* ---- problems ---- */

void cfg__problem(cfg *c, const ynode *n, const char *fmt, ...)
{
    if (++c->nproblems_ > CFG_MAX_PROBLEMS + 1)
        return;
    if (c->nproblems_ == CFG_MAX_PROBLEMS + 1) {
        buf_printf(&c->problems_, "%s: error: more than %d problems; the "
                   "rest are not shown\n", c->path, CFG_MAX_PROBLEMS);
        return;
    }
    char why[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    err_t e;
    ydoc_err(&c->doc, n, &e, ERR_CONFIG, "%s", why);
    buf_printf(&c->problems_, "%s\n", e.msg);
}

const char *cfg_problems(const cfg *c)
{
    return c->problems_.p ? c->problems_.p : "";
}

size_t cfg_problem_count(const cfg *c)
{
    return c->nproblems_;
}

char *cfg__strdup(cfg *c, const char *s)
{
    char *d = arena_strdup(&c->arena_, s);
    if (!d)
        c->nomem_ = 1;
    return d;
}

/* ---- paths ---- */

/* Drop the last segment of out[0..len) ("/a/b" -> "/a", "/a" -> "/"). */
static size_t cfg__parent(const char *out, size_t len)
{
    while (len > 1 && out[len - 1] != '/')
        len--;
    return len > 1 ? len - 1 : 1;
}

/* dir + "/" + rel with "." segments dropped and leading ".." segments
 * taken off dir. That is exact because dir came from realpath() (no
 * symlink to undo); a ".." after a named segment is kept as written, as
 * only the kernel knows where it leads when that segment is a symlink. */
const char *cfg__join(cfg *c, const char *dir, const char *rel)
{
    char *out = arena_alloc(&c->arena_, strlen(dir) + strlen(rel) + 2);
    if (!out) {
        c->nomem_ = 1;
        return NULL;
    }
    size_t len = strlen(dir);
    memcpy(out, dir, len);
    int named = 0;
    for (const char *s = rel; *s; s += *s == '/') {
        size_t n = strcspn(s, "/");
        int dot = n == 1 && s[0] == '.', dotdot = n == 2 && !strncmp(s, "..", 2);
        if (dotdot && !named) {
            len = cfg__parent(out, len);
        } else if (n && !dot) {
            if (out[len - 1] != '/')
                out[len++] = '/';
            memcpy(out + len, s, n);
            len += n;
            named = 1;
        }
        s += n;
    }
    out[len] = '\0';
    return out;
}

static const char *cfg__resolve(cfg *c, const char *path)
{
    return path[0] == '/' ? cfg__strdup(c, path) : cfg__join(c, c->dir, path);
}

/* The file's directory, absolute: paths in the file are relative to it,
 * not to wherever eportd happened to be started. */
static int cfg__set_dir(cfg *c, err_t *e)
{
    const char *slash = strrchr(c->path, '/');
    char *d = slash ? arena_strndup(&c->arena_, c->path,
                                    slash == c->path ? 1 : (size_t)(slash - c->path))
                    : arena_strdup(&c->arena_, ".");
    char *real = d ? realpath(d, NULL) : NULL;
    if (!real)
        return d ? err_set(e, ERR_IO, "%s: error: cannot resolve its "
                           "directory: %m", c->path)
                 : err_set(e, ERR_NOMEM, "%s: error: out of memory", c->path);
    c->dir = cfg__strdup(c, real);
    free(real);
    return c->dir ? 0 : err_set(e, ERR_NOMEM, "%s: error: out of memory", c->path);
}

/* ---- one value ---- */

/* YAML's null: nothing, ~ or null, unquoted. */
static int cfg__is_null(const ynode *v)
{
    const char *s = v->value;
    return v->type == YD_SCALAR && !v->quoted &&
           (!*s || !strcmp(s, "~") || !strcmp(s, "null") ||
            !strcmp(s, "Null") || !strcmp(s, "NULL"));
}

static const char *cfg__kind(const ynode *v)
{
    return v->type == YD_MAP ? "a map" : v->type == YD_SEQ ? "a list" : "text";
}

void cfg__join_names(const char *const *names, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && names[i] && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? ", " : "",
                                names[i]);
}

static int cfg__int(cfg *c, const cfg_option *o, const ynode *v, int64_t *slot,
                    const char *key)
{
    const char *s = v->value;
    int neg = *s == '-';
    int64_t x = 0;
    int ok = !v->quoted && s[neg];
    for (s += neg; ok && *s; s++) {
        ok = isdigit((unsigned char)*s) && x <= (INT64_MAX - (*s - '0')) / 10;
        x = ok ? x * 10 + (*s - '0') : x;
    }
    if (!ok) {
        cfg__problem(c, v, "%s: '%s' is not a whole number%s", key, v->value,
                     v->quoted ? " (it is quoted text)" : "");
        return -1;
    }
    x = neg ? -x : x;
    if (x < o->min || x > o->max) {
        cfg__problem(c, v, "%s: %" PRId64 " is out of range (%" PRId64 " to %"
                     PRId64 ")", key, x, o->min, o->max);
        return -1;
    }
    *slot = x;
    return 0;
}

static int cfg__enum(cfg *c, const cfg_option *o, const ynode *v, int *slot,
                     const char *key)
{
    size_t i = 0;
    for (; o->names[i]; i++)
        if (!strcmp(o->names[i], v->value)) {
            *slot = (int)i;
            return 0;
        }
    char all[256];
    cfg__join_names(o->names, i, all, sizeof all);
    cfg__problem(c, v, "%s: '%s' is not one of %s", key, v->value, all);
    return -1;
}

/* Text kinds: STR (row's check), ENDPOINT, PATH. Strings are borrowed
 * from the YAML tree, which lives in the cfg's arena too. */
static int cfg__text(cfg *c, const cfg_option *o, const ynode *v,
                     const char **slot, const char *key)
{
    char why[384];
    cfg_check_fn check = o->type == CFG_T_ENDPOINT ? cfg_check_endpoint : o->check;
    if (strlen(v->value) > CFG_VALUE_MAX) {
        cfg__problem(c, v, "%s: longer than %d characters", key, CFG_VALUE_MAX);
        return -1;
    }
    if (check && check(v->value, why, sizeof why)) {
        cfg__problem(c, v, "%s: %s", key, why);
        return -1;
    }
    if (o->type != CFG_T_PATH || ((o->flags & CFG_F_DASH) && !strcmp(v->value, "-")))
        *slot = v->value;
    else
        *slot = cfg__resolve(c, v->value);
    return 0;
}

/* A list of distinct words checked one by one: endpoints (non-empty),
 * or CFG_T_LIST (the row's check, may be empty). */
static int cfg__strs(cfg *c, const cfg_option *o, const ynode *v,
                     cfg_strs *slot, const char *key)
{
    char why[384];
    int eps_only = o->type == CFG_T_ENDPOINTS;
    cfg_check_fn check = eps_only ? cfg_check_endpoint : o->check;
    const char *what = eps_only ? "ZeroMQ endpoints" : "names";
    if (v->type != YD_SEQ || (eps_only && !v->nkids)) {
        cfg__problem(c, v, "%s: expected a list of %s, found %s", key, what,
                     v->type == YD_SEQ ? "an empty list" : cfg__kind(v));
        return -1;
    }
    const char **eps = v->nkids ? arena_alloc(&c->arena_, v->nkids * sizeof *eps)
                                : NULL;
    size_t n = 0;
    int bad = v->nkids && !eps;
    c->nomem_ |= bad;
    for (const ynode *k = v->kids; k && eps; k = k->next, n++) {
        const char *s = k->type == YD_SCALAR ? k->value : NULL;
        int ok = s && !check(s, why, sizeof why);
        if (!ok)
            cfg__problem(c, k, "%s[%zu]: %s", key, n,
                         s ? why : eps_only ? "expected an endpoint, found a "
                         "list or map" : "expected a name, found a list or map");
        for (size_t j = 0; ok && j < n; j++)
            if (eps[j] && !strcmp(eps[j], s))
                cfg__problem(c, k, "%s[%zu]: '%s' is listed twice", key, n, s);
        bad |= !ok;
        eps[n] = ok ? s : NULL;
    }
    if (!bad)
        *slot = (cfg_strs){eps, n};
    return bad ? -1 : 0;
}

/* Returns 0 stored, 1 null (the default applies), -1 a problem. */
static int cfg__value(cfg *c, const cfg_option *o, const ynode *v, void *base,
                      const char *key)
{
    void *slot = (char *)base + o->off;
    if (o->type == CFG_T_ENDPOINTS || o->type == CFG_T_LIST)
        return cfg__strs(c, o, v, slot, key);
    if (v->type != YD_SCALAR) {
        cfg__problem(c, v, "%s: expected %s, found %s", key,
                     o->type == CFG_T_INT ? "a whole number" : "text", cfg__kind(v));
        return -1;
    }
    if (cfg__is_null(v)) {
        if (o->flags & CFG_F_REQUIRED)
            cfg__problem(c, v, "%s: required, but empty", key);
        return o->flags & CFG_F_REQUIRED ? -1 : 1;
    }
    if (o->type == CFG_T_INT)
        return cfg__int(c, o, v, slot, key);
    if (o->type == CFG_T_ENUM)
        return cfg__enum(c, o, v, slot, key);
    return cfg__text(c, o, v, slot, key);
}

/* ---- maps of rows ---- */

/* Edit distance, for "did you mean"; SIZE_MAX for long words. */
static size_t cfg__distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[33];
    if (la > 32 || lb > 32)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            best = up + 1 < best ? up + 1 : best;
            best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* where "" is the top level (sections), else a section or list item. */
static void cfg__unknown(cfg *c, const ynode *k, const char *where,
                         const char *const *names, size_t n)
{
    char all[512], hint[96] = "";
    cfg__join_names(names, n, all, sizeof all);
    for (size_t i = 0; i < n; i++)
        if (cfg__distance(k->key, names[i]) <= (strlen(k->key) > 3 ? 2 : 1)) {
            snprintf(hint, sizeof hint, "; did you mean '%s'?", names[i]);
            break;
        }
    if (*where)
        cfg__problem(c, k, "%s: unknown key '%s' (allowed: %s)%s", where,
                     k->key, all, hint);
    else
        cfg__problem(c, k, "unknown section '%s' (allowed: %s)%s", k->key,
                     all, hint);
}

static const cfg_option *cfg__row(const cfg_section *s, const char *name)
{
    for (size_t i = 0; i < s->nrows; i++)
        if (!strcmp(s->rows[i].name, name))
            return &s->rows[i];
    return NULL;
}

/* Defaults for the rows not given, and "missing" for required ones (n
 * NULL: the section is absent, which its caller reports once). */
static void cfg__defaults(cfg *c, const cfg_section *s, const ynode *n,
                          void *base, const char *where, const unsigned char *seen)
{
    for (size_t i = 0; i < s->nrows; i++) {
        const cfg_option *o = &s->rows[i];
        char key[128];
        snprintf(key, sizeof key, "%s.%s", where, o->name);
        if (seen[i] || (o->flags & CFG_F_DERIVED))
            continue;
        if ((o->flags & CFG_F_REQUIRED) && n)
            cfg__problem(c, n, "%s: missing required key '%s'", where, o->name);
        else if (o->def && o->type != CFG_T_LIST) { /* lists: empty */
            ynode d = {.type = YD_SCALAR, .value = o->def};
            cfg__value(c, o, &d, base, key);
        }
    }
}

static void cfg__rows(cfg *c, const cfg_section *s, const ynode *n, void *base,
                      const char *where)
{
    unsigned char seen[CFG_ROWS_MAX] = {0};
    const char *names[CFG_ROWS_MAX];
    for (size_t i = 0; i < s->nrows && i < CFG_ROWS_MAX; i++)
        names[i] = s->rows[i].name;
    for (const ynode *k = n ? n->kids : NULL; k; k = k->next) {
        const cfg_option *o = cfg__row(s, k->key);
        char key[128];
        if (!o) {
            if (!s->open)
                cfg__unknown(c, k, where, names, s->nrows);
            continue;
        }
        snprintf(key, sizeof key, "%s.%s", where, o->name);
        seen[o - s->rows] = cfg__value(c, o, k, base, key) != 1;
    }
    cfg__defaults(c, s, n, base, where, seen);
}

/* ---- sections ---- */

static void cfg__list(cfg *c, const cfg_section *s, const ynode *n)
{
    if (n->type != YD_SEQ) {
        cfg__problem(c, n, "%s: expected a list, found %s", s->name, cfg__kind(n));
        return;
    }
    char *items = n->nkids ? arena_zalloc(&c->arena_, n->nkids * s->item_size) : NULL;
    size_t i = 0;
    c->nomem_ |= n->nkids && !items;
    for (const ynode *k = n->kids; k && items; k = k->next, i++) {
        char where[48];
        snprintf(where, sizeof where, "%s[%zu]", s->name, i);
        void *item = items + i * s->item_size;
        *(const ynode **)item = k; /* every item struct starts with its node */
        if (k->type != YD_MAP)
            cfg__problem(c, k, "%s: expected a map, found %s", where, cfg__kind(k));
        else
            cfg__rows(c, s, k, item, where);
    }
    if (s->id == CFG_SEC_PEERS) {
        c->peers = (cfg_peer *)items;
        c->npeers = i;
    } else if (s->id == CFG_SEC_CLIENTS) {
        c->clients = (cfg_client *)items;
        c->nclients = i;
    } else if (s->id == CFG_SEC_CBEC_ROUTES) {
        c->cbec_routes = (cfg_cbec_route *)items;
        c->ncbec_routes = i;
    } else {
        c->connectors = (cfg_connector *)items;
        c->nconnectors = i;
    }
}

static void cfg__routes(cfg *c, const ynode *n)
{
    char why[384];
    if (n->type != YD_MAP) {
        cfg__problem(c, n, "routes: expected a map (DEST: NEXT_HOP_PEER), "
                     "found %s", cfg__kind(n));
        return;
    }
    c->routes = n->nkids ? arena_zalloc(&c->arena_, n->nkids * sizeof *c->routes) : NULL;
    c->nomem_ |= n->nkids && !c->routes;
    for (const ynode *k = n->kids; k && c->routes; k = k->next) {
        cfg_route *r = &c->routes[c->nroutes++];
        *r = (cfg_route){.node = k, .dest = k->key};
        if (cfg_check_node_id(k->key, why, sizeof why))
            cfg__problem(c, k, "routes: destination %s", why);
        else if (k->type != YD_SCALAR || cfg__is_null(k))
            cfg__problem(c, k, "routes.%s: expected a peer id, found %s",
                         k->key, k->type == YD_SCALAR ? "nothing" : cfg__kind(k));
        else if (cfg_check_node_id(k->value, why, sizeof why))
            cfg__problem(c, k, "routes.%s: next hop %s", k->key, why);
        else
            r->via = k->value;
    }
}

static void cfg__section(cfg *c, const cfg_section *s, const ynode *n)
{
    if (n && cfg__is_null(n))
        n = NULL;
    if (s->kind == CFG_S_MAP && n && n->type != YD_MAP) {
        cfg__problem(c, n, "%s: expected a map, found %s", s->name, cfg__kind(n));
        return;
    }
    if (s->kind == CFG_S_LIST && n)
        cfg__list(c, s, n);
    else if (s->kind == CFG_S_ROUTES && n)
        cfg__routes(c, n);
    else if (s->kind == CFG_S_MAP)
        cfg__rows(c, s, n, (char *)c + s->off, s->name);
    for (size_t i = 0; !n && s->kind == CFG_S_MAP && i < s->nrows; i++)
        if (s->rows[i].flags & CFG_F_REQUIRED) {
            cfg__problem(c, c->doc.root, "missing section '%s' (it needs "
                         "at least '%s')", s->name, s->rows[i].name);
            break;
        }
}

static void cfg__walk(cfg *c)
{
    const ynode *root = c->doc.root;
    const char *names[CFG_SECTIONS_MAX];
    _Static_assert(CFG_SEC_HA < CFG_SECTIONS_MAX, "names[] holds them all");
    for (size_t i = 0; i < cfg_nsections; i++)
        names[i] = cfg_sections[i].name;
    if (!root || root->type != YD_MAP) {
        cfg__problem(c, root, "expected a map of sections (%s, ...), found %s",
                     names[0], root ? cfg__kind(root) : "an empty file");
        return;
    }
    for (const ynode *k = root->kids; k; k = k->next) {
        size_t i = 0;
        while (i < cfg_nsections && strcmp(cfg_sections[i].name, k->key))
            i++;
        if (i == cfg_nsections)
            cfg__unknown(c, k, "", names, cfg_nsections);
    }
    for (size_t i = 0; i < cfg_nsections; i++)
        cfg__section(c, &cfg_sections[i], ydoc_get(root, cfg_sections[i].name));
}

/* ---- the API ---- */

/* Read the YAML. 0 read; 1 the file is bad (a problem was recorded);
 * negative: cannot read it at all (e filled). */
static int cfg__open(cfg *c, const char *path, err_t *e)
{
    if (!(c->path = c->doc.file = cfg__strdup(c, path)))
        return err_set(e, ERR_NOMEM, "%s: error: out of memory", path);
    err_t ye;
    err_clear(&ye);
    int rc = ydoc_load_file(path, &c->arena_, &c->doc, &ye);
    if (rc == ERR_IO || rc == ERR_NOMEM)
        return err_set(e, rc, "%s", ye.msg);
    if (rc) {
        buf_printf(&c->problems_, "%s\n", ye.msg);
        c->nproblems_++;
    }
    int drc = cfg__set_dir(c, e);
    return drc ? drc : rc ? 1 : 0;
}

int cfg_load(const char *path, cfg **out, err_t *e)
{
    *out = NULL;
    cfg *c = calloc(1, sizeof *c);
    if (!c)
        return err_set(e, ERR_NOMEM, "%s: error: out of memory", path);
    arena_init(&c->arena_, CFG_ARENA_MAX);
    buf_init(&c->problems_, CFG_PROBLEMS_MAX);
    int rc = cfg__open(c, path, e);
    if (rc == 0) {
        cfg__walk(c);
        cfg__derive(c);
        cfg__check(c);
    }
    if (rc >= 0 && c->nomem_)
        rc = err_set(e, ERR_NOMEM, "%s: error: out of memory", path);
    if (rc < 0) {
        cfg_free(c);
        return rc;
    }
    *out = c;
    if (!c->nproblems_)
        return 0;
    const char *p = cfg_problems(c);
    return err_set(e, ERR_CONFIG, "%.*s", (int)strcspn(p, "\n"), p);
}

void cfg_free(cfg *c)
{
    if (!c)
        return;
    arena_free(&c->arena_);
    buf_free(&c->problems_);
    free(c);
}
