/* codec_json: the JSON parser (the rules are in codec_json.h); the writer is
 * codec_json_write.c. */
#include "codec_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "charset.h"
#include "codec_json_int.h"

#define JSONC_FEW 8    /* keys of an object checked by scanning, then hashed */

typedef struct jsonc__p {
    const char *p, *end;
    const char *line_at; /* first byte of the current line */
    uint32_t line;
    uint32_t depth;
    arena_t *a;
    int code; /* first error met: code, where and why */
    uint32_t eline, ecol;
    char why[160];
} jsonc__p;

static uint32_t jsonc__col(const jsonc__p *p, const char *at)
{
    return (uint32_t)(at - p->line_at) + 1;
}

static int jsonc__fail(jsonc__p *p, const char *at, int code, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));
static int jsonc__fail(jsonc__p *p, const char *at, int code, const char *fmt,
                       ...)
{
    if (!p->code) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->why, sizeof p->why, fmt, ap);
        va_end(ap);
        p->code = code;
        p->eline = p->line;
        p->ecol = jsonc__col(p, at);
    }
    return code;
}

static int jsonc__unexpected(jsonc__p *p, const char *expected)
{
    if (p->p >= p->end)
        return jsonc__fail(p, p->p, ERR_SYNTAX, "unexpected end of input, "
                           "expected %s", expected);
    unsigned char c = (unsigned char)*p->p;
    return jsonc__fail(p, p->p, ERR_SYNTAX, c > 0x20 && c < 0x7F ?
                       "unexpected '%c', expected %s" :
                       "unexpected byte 0x%02X, expected %s", c, expected);
}

static void jsonc__ws(jsonc__p *p)
{
    const char *s = p->p;
    if (s < p->end && (unsigned char)*s > ' ')
        return; /* the usual case in compact JSON */
    for (; s < p->end; s++) {
        if (*s == '\n') {
            p->line++;
            p->line_at = s + 1;
        } else if (*s != ' ' && *s != '\t' && *s != '\r') {
            break;
        }
    }
    p->p = s;
}

static int jsonc__put_utf8(char *o, long c)
{
    int n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (int i = n - 1; i > 0; i--, c >>= 6)
        o[i] = (char)(0x80 | (c & 0x3F));
    o[0] = (char)(lead[n] | c);
    return n;
}

static long jsonc__hex4(const unsigned char *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int c = s[i] | 0x20; /* digits are unchanged by it */
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* Escape at s (on its backslash): its length in the input with *cp the
 * code point it stands for, or -1. A surrogate pair is one escape. */
static int jsonc__esc(const unsigned char *s, const unsigned char *e, long *cp)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *q = (e - s >= 2 && s[1]) ? strchr(from, s[1]) : NULL;
    if (q) {
        *cp = (unsigned char)to[q - from];
        return 2;
    }
    if (e - s < 6 || s[1] != 'u')
        return -1;
    long hi = jsonc__hex4(s + 2);
    if (hi < 0 || (hi >= 0xDC00 && hi <= 0xDFFF))
        return -1;
    if (hi < 0xD800 || hi > 0xDBFF) {
        *cp = hi;
        return 6;
    }
    if (e - s < 12 || s[6] != '\\' || s[7] != 'u')
        return -1;
    long lo = jsonc__hex4(s + 8);
    if (lo < 0xDC00 || lo > 0xDFFF)
        return -1;
    *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    return 12;
}

/* Checks the string whose quote is at p->p: *end gets the closing quote,
 * *esc whether anything needs decoding. */
static int jsonc__str_scan(jsonc__p *p, const char **end, int *esc)
{
    const unsigned char *s = (const unsigned char *)p->p + 1;
    const unsigned char *e = (const unsigned char *)p->end;
    for (*esc = 0; s < e && *s != '"';) {
        while (s < e && *s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
            s++;
        if (s >= e || *s == '"')
            break;
        long cp = 1;
        int k = 1;
        if (*s == '\\') {
            k = jsonc__esc(s, e, &cp);
            *esc = 1;
        } else if (*s >= 0x80) {
            uint32_t c = 0;
            k = charset_utf8_next((const char *)s, (size_t)(e - s), &c);
            cp = k ? (long)c : -1;
        }
        if (k < 0 || cp < 0 || *s < 0x20 || cp == 0)
            return jsonc__fail(p, (const char *)s, cp == 0 ? ERR_UNSUPPORTED : ERR_SYNTAX,
                               k < 0 ? "invalid escape in string"
                               : cp < 0 ? "invalid UTF-8 in string"
                               : cp == 0 ? "\\u0000 in a string is not supported"
                               : "control character in string must be escaped");
        s += k;
    }
    if (s >= e)
        return jsonc__fail(p, p->p, ERR_SYNTAX, "unterminated string");
    *end = (const char *)s;
    return 0;
}

/* Arena copy of the string at p->p with escapes decoded (never longer than
 * its source); p->p moves past it. NULL on error (p says why). */
static char *jsonc__str(jsonc__p *p, uint32_t *len)
{
    const char *end = NULL, *s = p->p + 1;
    int esc = 0;
    if (jsonc__str_scan(p, &end, &esc) < 0)
        return NULL;
    char *out = arena_alloc(p->a, (size_t)(end - s) + 1), *o = out;
    if (!out) {
        jsonc__fail(p, p->p, ERR_NOMEM, "out of memory");
        return NULL;
    }
    while (s < end) {
        const char *bs = esc ? memchr(s, '\\', (size_t)(end - s)) : NULL;
        size_t run = (size_t)((bs ? bs : end) - s);
        memcpy(o, s, run);
        o += run;
        s += run;
        if (bs) {
            long cp = 0;
            s += jsonc__esc((const unsigned char *)s, (const unsigned char *)end, &cp);
            o += jsonc__put_utf8(o, cp);
        }
    }
    *o = '\0';
    *len = (uint32_t)(o - out);
    p->p = end + 1;
    return out;
}

static int jsonc__digit(const char *s, const char *e)
{
    return s < e && *s >= '0' && *s <= '9';
}

/* End of the JSON number starting at s, or NULL when there is none. */
const char *jsonc__num_end(const char *s, const char *e)
{
    s += (s < e && *s == '-');
    if (!jsonc__digit(s, e))
        return NULL;
    if (*s++ != '0')
        while (jsonc__digit(s, e))
            s++;
    if (s < e && *s == '.') {
        if (!jsonc__digit(++s, e))
            return NULL;
        while (jsonc__digit(s, e))
            s++;
    }
    if (s < e && (*s == 'e' || *s == 'E')) {
        s += (s + 1 < e && (s[1] == '+' || s[1] == '-')) + 1;
        if (!jsonc__digit(s, e))
            return NULL;
        while (jsonc__digit(s, e))
            s++;
    }
    return s;
}

/* ---- parsing ---- */

typedef struct jsonc__keys {
    const char *few[JSONC_FEW];
    uint32_t few_len[JSONC_FEW];
    uint32_t n;
    const char **slot; /* open addressing, once n reaches JSONC_FEW */
    uint32_t cap;
} jsonc__keys;

uint32_t jsonc__hash(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

/* 1 when key is already in the table, else puts it there. */
static int jsonc__slot_put(const char **slot, uint32_t cap, const char *key)
{
    for (uint32_t i = jsonc__hash(key) & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (!slot[i]) {
            slot[i] = key;
            return 0;
        }
        if (strcmp(slot[i], key) == 0)
            return 1;
    }
}

/* Big objects get a hash table so that duplicate checks stay linear; old
 * tables stay in the arena, at most doubling what the last one takes. */
static int jsonc__keys_grow(jsonc__p *p, jsonc__keys *ks)
{
    uint32_t cap = ks->cap ? ks->cap * 2 : 4 * JSONC_FEW;
    const char **slot = arena_zalloc(p->a, cap * sizeof *slot);
    if (!slot)
        return ERR_NOMEM;
    for (uint32_t i = 0; i < ks->cap; i++)
        if (ks->slot[i])
            jsonc__slot_put(slot, cap, ks->slot[i]);
    for (uint32_t i = 0; !ks->cap && i < ks->n; i++)
        jsonc__slot_put(slot, cap, ks->few[i]);
    ks->slot = slot;
    ks->cap = cap;
    return 0;
}

/* 0 when key is new, 1 when the object already has it, ERR_NOMEM. */
static int jsonc__keys_add(jsonc__p *p, jsonc__keys *ks, const char *key,
                           uint32_t len)
{
    if (ks->n < JSONC_FEW) {
        for (uint32_t i = 0; i < ks->n; i++)
            if (ks->few_len[i] == len && memcmp(ks->few[i], key, len) == 0)
                return 1;
        ks->few_len[ks->n] = len;
        ks->few[ks->n++] = key;
        return 0;
    }
    if (ks->n * 2 >= ks->cap && jsonc__keys_grow(p, ks) < 0)
        return ERR_NOMEM;
    if (jsonc__slot_put(ks->slot, ks->cap, key))
        return 1;
    ks->n++;
    return 0;
}

static tnode *jsonc__node(jsonc__p *p, tnode *parent, const char *name,
                          uint32_t flags, uint32_t line, uint32_t col)
{
    tnode *t = arena_alloc(p->a, sizeof *t);
    if (!t) {
        jsonc__fail(p, p->p, ERR_NOMEM, "out of memory");
        return NULL;
    }
    memset(t, 0, sizeof *t);
    t->name = name;
    t->flags = flags;
    t->line = line;
    t->col = col;
    return parent ? tree_add(parent, t) : t;
}

static int jsonc__value(jsonc__p *p, tnode *parent, const char *name,
                        uint32_t list, uint32_t line, uint32_t col);

static int jsonc__enter(jsonc__p *p)
{
    if (++p->depth > JSONC_MAX_DEPTH)
        return jsonc__fail(p, p->p, ERR_TOOBIG, "nested deeper than %d",
                           JSONC_MAX_DEPTH);
    p->p++;
    jsonc__ws(p);
    return 0;
}

/* After a value inside a container: 1 for ',' (more follows), 0 for the
 * closing byte (nothing after it is consumed: a record's line end is
 * checked there), negative for anything else. */
static int jsonc__more(jsonc__p *p, char close, const char *expected)
{
    jsonc__ws(p);
    if (p->p < p->end && (*p->p == ',' || *p->p == close)) {
        int more = *p->p++ == ',';
        if (more)
            jsonc__ws(p);
        else
            p->depth--;
        return more;
    }
    return jsonc__unexpected(p, expected);
}

static int jsonc__member(jsonc__p *p, tnode *obj, jsonc__keys *ks)
{
    if (p->p >= p->end || *p->p != '"')
        return jsonc__unexpected(p, "a string key");
    uint32_t line = p->line, col = jsonc__col(p, p->p), klen;
    const char *at = p->p, *key = jsonc__str(p, &klen);
    if (!key)
        return p->code;
    int dup = jsonc__keys_add(p, ks, key, klen);
    if (dup < 0)
        return jsonc__fail(p, at, ERR_NOMEM, "out of memory");
    if (dup)
        return jsonc__fail(p, at, ERR_INVALID, "duplicate key \"%.64s\"", key);
    jsonc__ws(p);
    if (p->p >= p->end || *p->p != ':')
        return jsonc__unexpected(p, "':'");
    p->p++;
    jsonc__ws(p);
    return jsonc__value(p, obj, key, 0, line, col);
}

static int jsonc__object(jsonc__p *p, tnode *obj)
{
    jsonc__keys ks = {.n = 0};
    int rc = jsonc__enter(p);
    if (rc < 0 || (p->p < p->end && *p->p == '}'))
        return rc < 0 ? rc : jsonc__more(p, '}', "'}'");
    do
        rc = jsonc__member(p, obj, &ks);
    while (rc == 0 && (rc = jsonc__more(p, '}', "',' or '}'")) == 1);
    return rc;
}

/* Elements become children of parent, all named name and TN_LIST. */
static int jsonc__array(jsonc__p *p, tnode *parent, const char *name)
{
    int rc = jsonc__enter(p);
    if (rc < 0 || (p->p < p->end && *p->p == ']'))
        return rc < 0 ? rc : jsonc__more(p, ']', "']'");
    do
        rc = jsonc__value(p, parent, name, TN_LIST, p->line, jsonc__col(p, p->p));
    while (rc == 0 && (rc = jsonc__more(p, ']', "',' or ']'")) == 1);
    return rc;
}

static int jsonc__scalar(jsonc__p *p, tnode *parent, const char *name,
                         uint32_t flags, uint32_t line, uint32_t col)
{
    const char *s = p->p, *v = NULL, *e = NULL;
    uint32_t n = 0;
    size_t left = (size_t)(p->end - s);
    if (*s == '"') {
        v = jsonc__str(p, &n);
        e = p->p;
    } else if (left >= 4 && memcmp(s, "null", 4) == 0) {
        e = s + 4;
        flags |= TN_NULL;
    } else if ((left >= 4 && memcmp(s, "true", 4) == 0) ||
               (left >= 5 && memcmp(s, "false", 5) == 0)) {
        v = *s == 't' ? "true" : "false"; /* immortal, no copy needed */
        n = *s == 't' ? 4 : 5;
        e = s + n;
        flags |= TN_BOOL;
    } else if ((e = jsonc__num_end(s, p->end)) != NULL) {
        n = (uint32_t)(e - s);
        v = arena_strndup(p->a, s, n);
        flags |= TN_NUM;
    }
    if (!e)
        return jsonc__unexpected(p, "a value");
    if (!v && !(flags & TN_NULL))
        return jsonc__fail(p, s, p->code ? p->code : ERR_NOMEM, "out of memory");
    tnode *t = jsonc__node(p, parent, name, flags, line, col);
    if (!t)
        return ERR_NOMEM;
    t->value = v;
    t->vlen = n;
    p->p = e;
    return 0;
}

static int jsonc__value(jsonc__p *p, tnode *parent, const char *name,
                        uint32_t list, uint32_t line, uint32_t col)
{
    tnode *t;
    if (p->p >= p->end)
        return jsonc__unexpected(p, "a value");
    if (*p->p == '{')
        return (t = jsonc__node(p, parent, name, TN_OBJ | list, line, col))
                   ? jsonc__object(p, t) : ERR_NOMEM;
    if (*p->p != '[')
        return jsonc__scalar(p, parent, name, list, line, col);
    if (!list) /* a member's array: its elements repeat the member */
        return jsonc__array(p, parent, name);
    return (t = jsonc__node(p, parent, name, TN_LIST, line, col))
               ? jsonc__array(p, t, "") : ERR_NOMEM;
}

/* ---- messages ---- */

static int jsonc__msg(jsonc__p *p, codec_batch *b, codec_msg **m, err_t *e)
{
    if (b->nmsgs >= CODEC_MAX_MESSAGES)
        return err_set(e, ERR_TOOBIG, "json: more than %d messages in one input",
                       CODEC_MAX_MESSAGES);
    if (!(*m = codec_msg_add(b, p->a)))
        return err_set(e, ERR_NOMEM, "json: out of memory");
    (*m)->line = p->line;
    (*m)->meta.format = "json";
    return 0;
}

static void jsonc__meta(codec_msg *m)
{
    static const char *const keys[] = {"messageType", "type"};
    for (size_t i = 0; i < 2 && !m->meta.message_type; i++) {
        const tnode *t = tree_find(m->root, keys[i]);
        if (t && t->value && t->flags == 0)
            m->meta.message_type = t->value;
    }
}

/* One message from the object at p->p; a value that is not an object is
 * still parsed (to get past it) but the message gets a diag, no tree. */
static int jsonc__root(jsonc__p *p, codec_batch *b, codec_msg *m)
{
    uint32_t line = p->line, col = jsonc__col(p, p->p);
    int obj = p->p < p->end && *p->p == '{';
    tnode holder = {.name = ""};
    tnode *root = obj ? jsonc__node(p, NULL, "", TN_OBJ, line, col) : NULL;
    int rc = obj ? (root ? jsonc__object(p, root) : ERR_NOMEM)
                 : jsonc__value(p, &holder, "", 0, line, col);
    if (rc == 0 && !obj)
        codec_diag_add(b, m, p->a, ERR_INVALID, line, col,
                       "a message must be a JSON object");
    if (rc == 0 && obj) {
        m->root = root;
        jsonc__meta(m);
    }
    return rc;
}

static int jsonc__report(jsonc__p *p, codec_batch *b, codec_msg *m, err_t *e)
{
    if (m)
        m->root = NULL;
    if (p->code == ERR_NOMEM)
        return err_set(e, ERR_NOMEM, "json: line %u: out of memory", p->eline);
    codec_diag_add(b, m, p->a, p->code, p->eline, p->ecol, "%s", p->why);
    p->code = 0;
    p->depth = 0;
    return 0;
}

/* A top-level array: one message per element; an error ends the feed. */
static int jsonc__feed(jsonc__p *p, codec_batch *b, err_t *e)
{
    int more = jsonc__enter(p) == 0;
    if (more && p->p < p->end && *p->p == ']')
        more = jsonc__more(p, ']', "']'");
    while (more) {
        codec_msg *m;
        int rc = jsonc__msg(p, b, &m, e);
        if (rc < 0)
            return rc;
        if (jsonc__root(p, b, m) < 0)
            return jsonc__report(p, b, m, e);
        if ((more = jsonc__more(p, ']', "',' or ']'")) < 0)
            return jsonc__report(p, b, NULL, e);
    }
    jsonc__ws(p);
    if (p->p >= p->end)
        return 0;
    jsonc__fail(p, p->p, ERR_SYNTAX, "unexpected data after the top-level array");
    return jsonc__report(p, b, NULL, e);
}

/* NDJSON needs each record to end its line. */
static int jsonc__eol(jsonc__p *p)
{
    while (p->p < p->end && (*p->p == ' ' || *p->p == '\t' || *p->p == '\r'))
        p->p++;
    if (p->p < p->end && *p->p != '\n')
        return jsonc__unexpected(p, "the end of the line after the message");
    return 0;
}

/* After a broken record, go on at the next line that opens one in its
 * first column (NDJSON, or objects written one after another); what lies
 * between belongs to the broken record. Indented '{' lines are not taken:
 * they are nested objects of a broken document, not messages. */
static int jsonc__resync(jsonc__p *p, const char *start, uint32_t line)
{
    const char *at = memmem(start, (size_t)(p->end - start), "\n{", 2);
    if (!at)
        return 0;
    for (const char *q = start; (q = memchr(q, '\n', (size_t)(at + 1 - q))); q++)
        line++;
    p->p = p->line_at = at + 1;
    p->line = line;
    p->depth = 0;
    return 1;
}

/* One object, NDJSON or objects one after another: a message each. */
static int jsonc__lines(jsonc__p *p, codec_batch *b, err_t *e)
{
    while (p->p < p->end) {
        const char *start = p->p;
        codec_msg *m;
        int rc = jsonc__msg(p, b, &m, e);
        if (rc < 0)
            return rc;
        if (jsonc__root(p, b, m) == 0 && jsonc__eol(p) == 0 && !m->diags) {
            jsonc__ws(p);
            continue;
        }
        m->root = NULL;
        if (p->code && (rc = jsonc__report(p, b, m, e)) < 0)
            return rc;
        if (!jsonc__resync(p, start, m->line))
            return 0;
    }
    return 0;
}

int jsonc_parse(const char *data, size_t len, const codec_opts *o, arena_t *a,
                codec_batch *out, err_t *e)
{
    if (len > CODEC_MAX_INPUT)
        return err_set(e, ERR_TOOBIG, "json: input of %zu bytes is over %u",
                       len, CODEC_MAX_INPUT);
    const char *cs = o ? o->charset : NULL;
    if (cs && strcasecmp(cs, "UTF-8") != 0 && strcasecmp(cs, "UTF8") != 0)
        return err_set(e, ERR_UNSUPPORTED, "json: input must be UTF-8, not %s", cs);
    jsonc__p p = {.p = data, .end = data + len, .line = 1, .a = a};
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        p.p += 3; /* RFC 8259 8.1: a reader may ignore it */
        codec_rule_add(out, NULL, a, STRICT_BOM, ERR_SYNTAX, 1, 1, "",
                       "UTF-8 byte order mark before the JSON text");
    }
    p.line_at = p.p;
    jsonc__ws(&p);
    if (p.p < p.end && *p.p == '[')
        return jsonc__feed(&p, out, e);
    if (p.p < p.end)
        return jsonc__lines(&p, out, e);
    codec_msg *m;
    int rc = jsonc__msg(&p, out, &m, e);
    if (rc == 0)
        codec_diag_add(out, m, a, ERR_SYNTAX, p.line, jsonc__col(&p, p.p),
                       "no JSON value in the input");
    return rc;
}

int jsonc_sniff(const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    for (int i = 0; p < end && i < 1024 && *p && strchr(" \t\r\n", *p); i++)
        p++;
    return p < end && (*p == '{' || *p == '[') ? 80 : 0;
}

const codec_ops codec_json_ops = {"json", jsonc_sniff, jsonc_parse, jsonc_write};
