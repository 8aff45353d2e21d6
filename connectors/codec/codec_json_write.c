/* codec_json_write: syntax trees to JSON text (the rules are in
 * codec_json.h); the parser is codec_json.c. */
#include "codec_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"
#include "codec_stage.h"
#include "codec_json_int.h"

#define JSONC_SMALL 16 /* members grouped on the stack when writing */
#define JSONC_NONE UINT32_MAX

typedef struct jsonc__w {
    codec_stage st;
    err_t *e;
    int pretty;
    int reported; /* e already says what went wrong */
} jsonc__w;

static int jsonc__flush(jsonc__w *w)
{
    return codec_stage_flush(&w->st);
}

static int jsonc__put(jsonc__w *w, const void *s, size_t n)
{
    return codec_stage_put(&w->st, s, n);
}

static int jsonc__putc(jsonc__w *w, char c)
{
    return codec_stage_putc(&w->st, c);
}

static int jsonc__bad(jsonc__w *w, int code, const tnode *n, const char *why)
{
    w->reported = 1;
    return err_set(w->e, code, "json: node '%.80s' (line %u): %s", n->name,
                   n->line, why);
}

static int jsonc__nl(jsonc__w *w, int depth)
{
    static const char sp[] = "                                ";
    int rc = w->pretty ? jsonc__putc(w, '\n') : 0;
    for (size_t n = w->pretty ? 2 * (size_t)depth : 0, k; n && !rc; n -= k) {
        k = n < sizeof sp - 1 ? n : sizeof sp - 1;
        rc = jsonc__put(w, sp, k);
    }
    return rc;
}

static int jsonc__wstr(jsonc__w *w, const tnode *n, const char *s)
{
    static const char raw[] = "\"\\\b\f\n\r\t", esc[] = "\"\\bfnrt";
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + strlen(s);
    int rc = jsonc__putc(w, '"');
    while (!rc) {
        const unsigned char *run = p;
        int k = 1;
        for (; p < end && *p >= 0x20 && *p != '"' && *p != '\\'; p += k) {
            k = charset_utf8_next((const char *)p, (size_t)(end - p), NULL);
            if (!k)
                return jsonc__bad(w, ERR_INVALID, n, "value is not valid UTF-8");
        }
        if ((rc = jsonc__put(w, run, (size_t)(p - run))) < 0 || p == end)
            break;
        const char *sh = strchr(raw, *p);
        char u[8] = {'\\', sh ? esc[sh - raw] : 'u'};
        if (!sh)
            snprintf(u + 2, sizeof u - 2, "%04x", *p);
        rc = jsonc__put(w, u, sh ? 2 : 6);
        p++;
    }
    return rc ? rc : jsonc__putc(w, '"');
}

/* Children linked by name: next[i] = index of the next child with the same
 * name (0: none, as index 0 never follows another), tail[i] = last of i's
 * group when i opens one, JSONC_NONE otherwise. */
typedef struct jsonc__grp {
    const tnode **kid;
    uint32_t *next, *tail, *slot;
    uint32_t n, cap;
} jsonc__grp;

static uint32_t jsonc__head(const jsonc__grp *g, uint32_t i)
{
    const char *name = g->kid[i]->name;
    if (!g->cap) {
        for (uint32_t j = 0; j < i; j++)
            if (g->tail[j] != JSONC_NONE && g->kid[j]->name[0] == name[0] &&
                strcmp(g->kid[j]->name, name) == 0)
                return j;
        return JSONC_NONE;
    }
    uint32_t s = jsonc__hash(name) & (g->cap - 1);
    for (; g->slot[s]; s = (s + 1) & (g->cap - 1))
        if (strcmp(g->kid[g->slot[s] - 1]->name, name) == 0)
            return g->slot[s] - 1;
    g->slot[s] = i + 1;
    return JSONC_NONE;
}

static void jsonc__group(const tnode *n, jsonc__grp *g)
{
    g->n = 0;
    for (const tnode *k = n->kids; k && g->n < n->nkids; k = k->next) {
        uint32_t i = g->n++, h;
        g->kid[i] = k;
        g->next[i] = 0;
        g->tail[i] = i;
        if ((h = jsonc__head(g, i)) != JSONC_NONE) {
            g->next[g->tail[h]] = i;
            g->tail[h] = i;
            g->tail[i] = JSONC_NONE;
        }
    }
}

static int jsonc__val(jsonc__w *w, const tnode *n, int depth);

static int jsonc__key(jsonc__w *w, const tnode *n, const char *key, int depth)
{
    int rc = jsonc__nl(w, depth);
    rc = rc ? rc : jsonc__wstr(w, n, key);
    return rc ? rc : jsonc__put(w, ": ", w->pretty ? 2 : 1);
}

/* The group opened by child i: a single value, or an array of them. */
static int jsonc__member_w(jsonc__w *w, const jsonc__grp *g, uint32_t i, int depth)
{
    int rc = jsonc__key(w, g->kid[i], g->kid[i]->name, depth);
    if (!g->next[i] && !(g->kid[i]->flags & TN_LIST))
        return rc ? rc : jsonc__val(w, g->kid[i], depth);
    rc = rc ? rc : jsonc__putc(w, '[');
    for (uint32_t j = i; !rc; j = g->next[j]) {
        rc = jsonc__nl(w, depth + 1);
        rc = rc ? rc : jsonc__val(w, g->kid[j], depth + 1);
        if (!g->next[j])
            break;
        rc = rc ? rc : jsonc__putc(w, ',');
    }
    rc = rc ? rc : jsonc__nl(w, depth);
    return rc ? rc : jsonc__putc(w, ']');
}

static int jsonc__members(jsonc__w *w, const tnode *n, const jsonc__grp *g,
                          int depth)
{
    int rc = jsonc__putc(w, '{'), any = 0;
    if (!rc && n->value) { /* XML text beside attributes or children */
        rc = jsonc__key(w, n, "#text", depth + 1);
        rc = rc ? rc : jsonc__wstr(w, n, n->value);
        any = 1;
    }
    for (uint32_t i = 0; i < g->n && !rc; i++) {
        if (g->tail[i] == JSONC_NONE)
            continue;
        rc = any ? jsonc__putc(w, ',') : 0;
        rc = rc ? rc : jsonc__member_w(w, g, i, depth + 1);
        any = 1;
    }
    rc = rc || !any ? rc : jsonc__nl(w, depth);
    return rc ? rc : jsonc__putc(w, '}');
}

/* Index arrays live on the stack for small objects, else on the heap for
 * the duration of this call (the hash keeps grouping linear). */
static int jsonc__object_w(jsonc__w *w, const tnode *n, int depth)
{
    const tnode *kid[JSONC_SMALL];
    uint32_t next[JSONC_SMALL], tail[JSONC_SMALL];
    jsonc__grp g = {kid, next, tail, NULL, 0, 0};
    void *heap = NULL;
    if (n->nkids > JSONC_SMALL) {
        for (g.cap = 4 * JSONC_SMALL; g.cap < 2 * (uint64_t)n->nkids;)
            g.cap *= 2;
        size_t k = n->nkids;
        heap = calloc(1, k * (sizeof *kid + 2 * sizeof *next) + g.cap * sizeof *next);
        if (!heap)
            return jsonc__bad(w, ERR_NOMEM, n, "out of memory");
        g.kid = heap;
        g.next = (uint32_t *)(g.kid + k);
        g.tail = g.next + k;
        g.slot = g.tail + k;
    }
    jsonc__group(n, &g);
    int rc = jsonc__members(w, n, &g, depth);
    free(heap);
    return rc;
}

static int jsonc__is_array(const tnode *n)
{
    if ((n->flags & (TN_OBJ | TN_NULL)) || !(n->flags & TN_LIST) || n->value)
        return 0;
    for (const tnode *k = n->kids; k; k = k->next)
        if (k->name[0] || !(k->flags & TN_LIST))
            return 0;
    return 1;
}

static int jsonc__array_w(jsonc__w *w, const tnode *n, int depth)
{
    int rc = jsonc__putc(w, '[');
    for (const tnode *k = n->kids; k && !rc; k = k->next) {
        rc = jsonc__nl(w, depth + 1);
        rc = rc ? rc : jsonc__val(w, k, depth + 1);
        rc = rc || !k->next ? rc : jsonc__putc(w, ',');
    }
    rc = rc || !n->kids ? rc : jsonc__nl(w, depth);
    return rc ? rc : jsonc__putc(w, ']');
}

static int jsonc__scalar_w(jsonc__w *w, const tnode *n)
{
    const char *v = n->value;
    size_t len = strlen(v);
    if (n->flags & TN_NUM) {
        if (jsonc__num_end(v, v + len) != v + len)
            return jsonc__bad(w, ERR_INVALID, n, "TN_NUM value is not a JSON number");
        return jsonc__put(w, v, len);
    }
    if (n->flags & TN_BOOL) {
        if (strcmp(v, "true") && strcmp(v, "false"))
            return jsonc__bad(w, ERR_INVALID, n, "TN_BOOL value is not true/false");
        return jsonc__put(w, v, len);
    }
    return jsonc__wstr(w, n, v);
}

static int jsonc__val(jsonc__w *w, const tnode *n, int depth)
{
    if (depth > JSONC_MAX_DEPTH)
        return jsonc__bad(w, ERR_TOOBIG, n, "nested too deep");
    if (n->flags & TN_NULL)
        return jsonc__put(w, "null", 4);
    if (jsonc__is_array(n))
        return jsonc__array_w(w, n, depth);
    if (n->kids || (n->flags & TN_OBJ))
        return jsonc__object_w(w, n, depth);
    return n->value ? jsonc__scalar_w(w, n) : jsonc__put(w, "null", 4);
}

int jsonc_write(const codec_msg *const *msgs, size_t n, const codec_opts *o,
                buf_t *out, err_t *e)
{
    jsonc__w w = {.st = {.out = out}, .e = e, .pretty = o && o->pretty};
    for (size_t i = 0; i < n; i++)
        if (!msgs[i] || !msgs[i]->root)
            return err_set(e, ERR_INVALID, "json: message %zu has no tree", i);
    if (n == 0)
        return 0;
    size_t mark = out->len;
    int rc = n > 1 ? jsonc__putc(&w, '[') : 0;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = n > 1 ? jsonc__nl(&w, 1) : 0;
        rc = rc ? rc : jsonc__val(&w, msgs[i]->root, n > 1);
        rc = rc || i + 1 == n ? rc : jsonc__putc(&w, ',');
    }
    rc = rc || n == 1 ? rc : jsonc__nl(&w, 0);
    rc = rc || n == 1 ? rc : jsonc__putc(&w, ']');
    rc = rc || !w.pretty ? rc : jsonc__putc(&w, '\n');
    rc = rc ? rc : jsonc__flush(&w);
    if (rc < 0) {
        out->len = mark; /* no half document on failure */
        if (out->p)
            out->p[mark] = '\0';
        if (!w.reported)
            err_set(e, rc, "json: writing: %s", err_text(rc));
    }
    return rc;
}
