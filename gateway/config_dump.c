/* The configuration written out: cfg_dump (the effective values as YAML
 * that cfg_load reads back unchanged) and cfg_doc_markdown (the key table
 * of docs/operations.md). Both walk the rows of config_table.c. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A writer that stops at the first failed append, so callers can write
 * a whole document and check once. */
typedef struct {
    buf_t *b;
    int rc;
} dw;

static void dw_printf(dw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void dw_printf(dw *w, const char *fmt, ...)
{
    if (w->rc)
        return;
    va_list ap;
    va_start(ap, fmt);
    w->rc = buf_vprintf(w->b, fmt, ap);
    va_end(ap);
}

/* Whether s reads back as the same text when written plain; anything
 * doubtful is quoted, which costs only looks. */
static int plain_ok(const char *s)
{
    static const char *const nulls[] = {"~", "null", "Null", "NULL"};
    if (!*s || strchr("-?:,[]{}#&*!|>'\"%@` ", s[0]) || s[strlen(s) - 1] == ' ')
        return 0;
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
        if (!strcmp(s, nulls[i]))
            return 0;
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch < 0x20 || ch == 0x7f || strchr(",[]{}", ch) ||
            (ch == ':' && (p[1] == ' ' || !p[1])) || (ch == '#' && p[-1] == ' '))
            return 0;
    }
    return 1;
}

enum { AS_NEEDED, QUOTED, AS_WRITTEN };

/* QUOTED / AS_WRITTEN: a kept node's style is kept, so a connector still
 * tells "123" the text from 123 the number and ~ from "~". A plain
 * scalar read from a file is valid plain in block context unless folding
 * left a line break in it. */
static void dw_scalar(dw *w, const char *s, int style)
{
    int ctl = 0;
    for (const char *p = s; *p; p++)
        ctl |= (unsigned char)*p < 0x20;
    if ((style == AS_WRITTEN && !ctl) || (style == AS_NEEDED && plain_ok(s))) {
        dw_printf(w, "%s", s);
        return;
    }
    dw_printf(w, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            dw_printf(w, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            dw_printf(w, "\\x%02x", *p);
        else
            dw_printf(w, "%c", *p);
    }
    dw_printf(w, "\"");
}

/* ---- the effective configuration ---- */

static void dump_row(dw *w, const cfg_option *o, const void *base, int col,
                     const char *lead)
{
    const void *slot = (const char *)base + o->off;
    dw_printf(w, "%*s%s%s:", col - (int)strlen(lead), "", lead, o->name);
    if (o->type == CFG_T_INT) {
        dw_printf(w, " %" PRId64 "\n", *(const int64_t *)slot);
    } else if (o->type == CFG_T_ENUM) {
        dw_printf(w, " %s\n", o->names[*(const int *)slot]);
    } else if (o->type == CFG_T_ENDPOINTS || o->type == CFG_T_LIST) {
        const cfg_strs *l = slot;
        dw_printf(w, "%s\n", l->n ? "" : " []");
        for (size_t i = 0; i < l->n; i++) {
            dw_printf(w, "%*s- ", col + 2, "");
            dw_scalar(w, l->v[i], AS_NEEDED);
            dw_printf(w, "\n");
        }
    } else if (!*(const char *const *)slot) {
        dw_printf(w, " ~  # not set\n");
    } else {
        dw_printf(w, " ");
        dw_scalar(w, *(const char *const *)slot, AS_NEEDED);
        dw_printf(w, "\n");
    }
}

static void dump_value(dw *w, const ynode *n, int col);

/* Entries of map n at column col; inline_first: the caller already wrote
 * "- " and the first key goes on that line. */
static void dump_map(dw *w, const ynode *n, int col, int inline_first)
{
    for (const ynode *k = n->kids; k; k = k->next) {
        dw_printf(w, "%*s", k == n->kids && inline_first ? 0 : col, "");
        dw_scalar(w, k->key, AS_NEEDED);
        dw_printf(w, ":");
        dump_value(w, k, col + 2);
    }
}

/* A kept YAML node (connectors), after "key:" or "-". */
static void dump_value(dw *w, const ynode *n, int col)
{
    if (n->type == YD_SCALAR) {
        dw_printf(w, "%s", *n->value || n->quoted ? " " : "");
        if (*n->value || n->quoted)
            dw_scalar(w, n->value, n->quoted ? QUOTED : AS_WRITTEN);
        dw_printf(w, "\n");
    } else if (!n->kids) {
        dw_printf(w, " %s\n", n->type == YD_MAP ? "{}" : "[]");
    } else if (n->type == YD_MAP) {
        dw_printf(w, "\n");
        dump_map(w, n, col, 0);
    } else {
        dw_printf(w, "\n");
        for (const ynode *k = n->kids; k; k = k->next) {
            dw_printf(w, "%*s-", col, "");
            dump_value(w, k, col + 2);
        }
    }
}

static void dump_list(dw *w, const cfg_section *s, const char *items, size_t n)
{
    dw_printf(w, "%s:%s\n", s->name, n ? "" : " []");
    for (size_t i = 0; i < n; i++) {
        const void *item = items + i * s->item_size;
        const ynode *node = *(const ynode *const *)item;
        if (s->open && node->kids) { /* kept as written, with its own keys */
            dw_printf(w, "  - ");
            dump_map(w, node, 4, 1);
            continue;
        }
        for (size_t r = 0; r < s->nrows; r++)
            dump_row(w, &s->rows[r], item, 4, r ? "" : "- ");
    }
}

static void dump_routes(dw *w, const cfg *c)
{
    dw_printf(w, "routes:%s\n", c->nroutes ? "" : " {}");
    for (size_t i = 0; i < c->nroutes; i++)
        if (c->routes[i].via)
            dw_printf(w, "  %s: %s\n", c->routes[i].dest, c->routes[i].via);
}

int cfg_dump(const cfg *c, buf_t *out)
{
    dw w = {out, 0};
    dw_printf(&w, "# effective configuration of node %s, from %s\n# (defaults "
              "filled in, paths absolute)\n", c->node.id ? c->node.id : "?", c->path);
    for (size_t i = 0; i < cfg_nsections; i++) {
        const cfg_section *s = &cfg_sections[i];
        if (s->kind == CFG_S_ROUTES) {
            dump_routes(&w, c);
        } else if (s->id == CFG_SEC_PEERS) {
            dump_list(&w, s, (const char *)c->peers, c->npeers);
        } else if (s->id == CFG_SEC_CONNECTORS) {
            dump_list(&w, s, (const char *)c->connectors, c->nconnectors);
        } else if (s->id == CFG_SEC_CLIENTS) {
            dump_list(&w, s, (const char *)c->clients, c->nclients);
        } else if (s->id == CFG_SEC_CBEC_ROUTES) {
            dump_list(&w, s, (const char *)c->cbec_routes, c->ncbec_routes);
        } else {
            dw_printf(&w, "%s:\n", s->name);
            for (size_t r = 0; r < s->nrows; r++)
                dump_row(&w, &s->rows[r], (const char *)c + s->off, 2, "");
        }
    }
    return w.rc;
}

/* ---- the docs table ---- */

static const char *type_name(const cfg_option *o)
{
    static const char *const names[] = {"text", "integer", "enum", "path",
                                        "endpoint", "list of endpoints",
                                        "list"};
    return names[o->type];
}

static void doc_allowed(dw *w, const cfg_option *o)
{
    if (o->type == CFG_T_INT) {
        dw_printf(w, "%" PRId64 " to %" PRId64, o->min, o->max);
    } else if (o->type == CFG_T_ENUM) {
        for (size_t i = 0; o->names[i]; i++)
            dw_printf(w, "%s`%s`", i ? ", " : "", o->names[i]);
    } else {
        dw_printf(w, "%s%s", o->shape ? o->shape : "",
                  o->flags & CFG_F_DASH ? "; `-`: stderr" : "");
    }
}

static void doc_row(dw *w, const char *prefix, const cfg_option *o)
{
    dw_printf(w, "| `%s%s` | %s | ", prefix, o->name, type_name(o));
    if (o->flags & CFG_F_REQUIRED)
        dw_printf(w, "required");
    else if (o->def)
        dw_printf(w, "`%s`", o->def);
    else
        dw_printf(w, "not set");
    dw_printf(w, " | ");
    doc_allowed(w, o);
    dw_printf(w, " | %s |\n", o->help);
}

static void doc_section(dw *w, const cfg_section *s)
{
    static const char *const kinds[] = {"map", "list of maps", "map"};
    char prefix[48];
    dw_printf(w, "| **`%s`** | %s | %s | %s | %s |\n", s->name, kinds[s->kind],
              s->kind == CFG_S_MAP ? "" : "empty",
              s->kind == CFG_S_ROUTES ? "`DEST: PEER` (node ids)" : "", s->help);
    snprintf(prefix, sizeof prefix, "%s%s.", s->name,
             s->kind == CFG_S_LIST ? "[]" : "");
    for (size_t r = 0; r < s->nrows; r++)
        doc_row(w, prefix, &s->rows[r]);
}

int cfg_doc_markdown(buf_t *out)
{
    dw w = {out, 0};
    dw_printf(&w, "| key | type | default | allowed | what it does |\n"
                  "|---|---|---|---|---|\n");
    for (size_t i = 0; i < cfg_nsections; i++)
        doc_section(&w, &cfg_sections[i]);
    return w.rc;
}
