#include "ydoc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"

typedef struct {
    yaml_parser_t p;
    arena_t *a;
    const char *name;
    err_t *e;
} yd__ctx;

static int yd__fail(yd__ctx *c, const yaml_mark_t *m, const char *why)
{
    return err_set(c->e, ERR_SYNTAX, "%s:%zu:%zu: error: %s", c->name,
                   m->line + 1, m->column + 1, why);
}

static int yd__next(yd__ctx *c, yaml_event_t *ev)
{
    if (yaml_parser_parse(&c->p, ev))
        return 0;
    yaml_mark_t m = c->p.problem_mark;
    char why[256];
    snprintf(why, sizeof why, "%s%s%s", c->p.problem ? c->p.problem : "bad YAML",
             c->p.context ? " " : "", c->p.context ? c->p.context : "");
    return yd__fail(c, &m, why);
}

static ynode *yd__node(yd__ctx *c, ydoc_type t, const yaml_mark_t *m)
{
    ynode *n = arena_zalloc(c->a, sizeof *n);
    if (n) {
        n->type = t;
        n->line = (uint32_t)m->line + 1;
        n->col = (uint32_t)m->column + 1;
    }
    return n;
}

static void yd__add(ynode *parent, ynode *kid)
{
    if (parent->last)
        parent->last->next = kid;
    else
        parent->kids = kid;
    parent->last = kid;
    parent->nkids++;
}

static int yd__value(yd__ctx *c, yaml_event_t *ev, ynode **out, int depth);

/* Anchors and tags are refused on every node, keys included. */
static int yd__untagged(yd__ctx *c, const yaml_event_t *ev,
                        const yaml_char_t *anchor, const yaml_char_t *tag)
{
    if (anchor)
        return yd__fail(c, &ev->start_mark, "anchors are not supported");
    if (tag)
        return yd__fail(c, &ev->start_mark, "tags are not supported");
    return 0;
}

static int yd__scalar(yd__ctx *c, yaml_event_t *ev, ynode **out)
{
    ynode *n = yd__node(c, YD_SCALAR, &ev->start_mark);
    if (!n || !(n->value = arena_strndup(c->a, (char *)ev->data.scalar.value,
                                         ev->data.scalar.length)))
        return err_set(c->e, ERR_NOMEM, "%s: out of memory", c->name);
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    *out = n;
    return 0;
}

/* Reads children until the closing event; maps alternate key, value. */
static int yd__children(yd__ctx *c, ynode *n, yaml_event_type_t end,
                        int depth)
{
    for (;;) {
        yaml_event_t ev;
        int rc = yd__next(c, &ev);
        if (rc)
            return rc;
        if (ev.type == end) {
            yaml_event_delete(&ev);
            return 0;
        }
        const char *key = NULL;
        if (n->type == YD_MAP) {
            if (ev.type != YAML_SCALAR_EVENT) {
                rc = yd__fail(c, &ev.start_mark, "mapping keys must be plain text");
                yaml_event_delete(&ev);
                return rc;
            }
            if ((rc = yd__untagged(c, &ev, ev.data.scalar.anchor,
                                   ev.data.scalar.tag))) {
                yaml_event_delete(&ev);
                return rc;
            }
            key = arena_strndup(c->a, (char *)ev.data.scalar.value,
                                ev.data.scalar.length);
            for (ynode *k = n->kids; k && key; k = k->next)
                if (strcmp(k->key, key) == 0) {
                    rc = yd__fail(c, &ev.start_mark, "duplicate key");
                    yaml_event_delete(&ev);
                    return rc;
                }
            yaml_event_delete(&ev);
            if ((rc = yd__next(c, &ev)))
                return rc;
        }
        ynode *kid = NULL;
        rc = yd__value(c, &ev, &kid, depth + 1);
        yaml_event_delete(&ev);
        if (rc)
            return rc;
        kid->key = key;
        yd__add(n, kid);
    }
}

static int yd__value(yd__ctx *c, yaml_event_t *ev, ynode **out, int depth)
{
    if (depth > YDOC_MAX_DEPTH)
        return yd__fail(c, &ev->start_mark, "nested too deeply");
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        int rc = yd__untagged(c, ev, ev->data.scalar.anchor,
                              ev->data.scalar.tag);
        return rc ? rc : yd__scalar(c, ev, out);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int seq = ev->type == YAML_SEQUENCE_START_EVENT;
        int rc = seq ? yd__untagged(c, ev, ev->data.sequence_start.anchor,
                                    ev->data.sequence_start.tag)
                     : yd__untagged(c, ev, ev->data.mapping_start.anchor,
                                    ev->data.mapping_start.tag);
        if (rc)
            return rc;
        ynode *n = yd__node(c, seq ? YD_SEQ : YD_MAP, &ev->start_mark);
        if (!n)
            return err_set(c->e, ERR_NOMEM, "%s: out of memory", c->name);
        *out = n;
        return yd__children(c, n, seq ? YAML_SEQUENCE_END_EVENT
                                      : YAML_MAPPING_END_EVENT, depth);
    }
    case YAML_ALIAS_EVENT:
        return yd__fail(c, &ev->start_mark, "aliases are not supported");
    default:
        return yd__fail(c, &ev->start_mark, "unexpected YAML event");
    }
}

/* Stream start, document start, one value, document end; a second
 * document is an error (one table per file keeps reviews simple). */
static int yd__doc(yd__ctx *c, ydoc *doc)
{
    yaml_event_t ev;
    int rc = 0, state = 0;
    while (!rc && (rc = yd__next(c, &ev)) == 0) {
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        if (t == YAML_DOCUMENT_START_EVENT && state++ > 0)
            rc = yd__fail(c, &ev.start_mark, "only one YAML document per file");
        else if (t != YAML_STREAM_START_EVENT && t != YAML_DOCUMENT_START_EVENT &&
                 t != YAML_DOCUMENT_END_EVENT)
            rc = yd__value(c, &ev, &doc->root, 0);
        yaml_event_delete(&ev);
    }
    return rc;
}

int ydoc_load(const char *name, const char *text, size_t len, arena_t *a,
              ydoc *doc, err_t *e)
{
    if (len > YDOC_MAX_BYTES)
        return err_set(e, ERR_TOOBIG, "%s: error: larger than %u bytes",
                       name, YDOC_MAX_BYTES);
    yd__ctx c = {.a = a, .name = name, .e = e};
    doc->file = arena_strdup(a, name);
    doc->root = NULL;
    if (!doc->file || !yaml_parser_initialize(&c.p))
        return err_set(e, ERR_NOMEM, "%s: out of memory", name);
    yaml_parser_set_input_string(&c.p, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&c.p, YAML_UTF8_ENCODING);
    int rc = yd__doc(&c, doc);
    yaml_parser_delete(&c.p);
    return rc;
}

int ydoc_load_file(const char *path, arena_t *a, ydoc *doc, err_t *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, ERR_IO, "%s: error: cannot open: %m", path);
    buf_t b;
    buf_init(&b, YDOC_MAX_BYTES);
    char chunk[16384];
    size_t n;
    int rc = 0;
    while (!rc && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = buf_add(&b, chunk, n);
    if (!rc && ferror(f))
        rc = ERR_IO;
    fclose(f);
    if (rc)
        rc = err_set(e, rc, "%s: error: cannot read: %s", path, err_text(rc));
    else
        rc = ydoc_load(path, b.p ? b.p : "", b.len, a, doc, e);
    buf_free(&b);
    return rc;
}

ynode *ydoc_get(const ynode *n, const char *key)
{
    if (!n || n->type != YD_MAP)
        return NULL;
    for (ynode *k = n->kids; k; k = k->next)
        if (strcmp(k->key, key) == 0)
            return k;
    return NULL;
}

const char *ydoc_str(const ynode *n, const char *key)
{
    ynode *v = ydoc_get(n, key);
    return v && v->type == YD_SCALAR ? v->value : NULL;
}

int ydoc_err(const ydoc *d, const ynode *n, err_t *e, int code,
             const char *fmt, ...)
{
    char why[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return err_set(e, code, "%s:%u:%u: error: %s", d->file, n ? n->line : 1,
                   n ? n->col : 1, why);
}
