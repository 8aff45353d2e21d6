#include "codec_fixed.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charset.h"

/* Parser state. Layout names are copied into the arena once per input so
 * the tree owns every string it holds, as tree.h promises. */
typedef struct fixed__p {
    arena_t *a;
    codec_batch *b;
    codec_msg *m;
    const codec_opts *o;
    const char **types;  /* record node names, one per layout */
    const char ***names; /* field names, [layout][field] */
    buf_t conv;          /* one field converted from o->charset */
    err_t *e;
    int bytes;           /* columns are bytes of o->charset */
    uint32_t line, nrec;
    codec_eol eol;       /* line_ends */
} fixed__p;

/* One input line and a column cursor, so fields laid out left to right
 * cost one walk over a non-ASCII line, not one per field. */
typedef struct fixed__line {
    const char *s;
    size_t n;
    int ascii;     /* columns are bytes: ASCII line, or bytes mode */
    size_t cb, cc; /* byte offset cb is (0-based) column cc */
} fixed__line;

static int fixed__utf8_name(const char *cs)
{
    return !cs || !strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "UTF8");
}

static int fixed__check_field(const codec_fixed_record *r, uint32_t i,
                              err_t *e)
{
    const codec_fixed_field *f = &r->fields[i];
    if (f->name && f->start && f->len &&
        (uint64_t)f->start - 1 + f->len <= FIXED_MAX_LINE)
        return 0;
    return err_set(e, ERR_CONFIG,
                   "fixed: record '%s' field %u (%s): bad columns %u+%u",
                   r->type ? r->type : "", i + 1, f->name ? f->name : "?",
                   f->start, f->len);
}

/* A charset name iconv does not know is a configuration error, found
 * up front rather than at the first non-ASCII field. */
static int fixed__check_charset(const char *cs, err_t *e)
{
    buf_t tmp;
    err_t ce = {0};
    buf_init(&tmp, 16);
    int rc = fixed__utf8_name(cs) ? 0 : charset_to_utf8(cs, "", 0, &tmp, &ce);
    buf_free(&tmp);
    return rc ? err_set(e, ERR_CONFIG, "fixed: %s", ce.msg) : 0;
}

/* Layouts come from a mapping file: check them before trusting them. */
static int fixed__check(const codec_opts *o, err_t *e)
{
    uint32_t tl = o->type_len;
    if (!o->records || !o->nrecords || (!tl && o->nrecords != 1) ||
        tl > FIXED_MAX_TYPE_LEN)
        return err_set(e, ERR_CONFIG,
                       "fixed: need layouts, and type_len 1..%u unless "
                       "there is exactly one layout", FIXED_MAX_TYPE_LEN);
    for (uint32_t r = 0; r < o->nrecords; r++) {
        const codec_fixed_record *rec = &o->records[r];
        int bad = tl && (!rec->type || strlen(rec->type) != tl);
        for (uint32_t i = 0; !bad && i < tl; i++)
            bad = (unsigned char)rec->type[i] >= 0x80;
        if (bad || (rec->nfields && !rec->fields))
            return err_set(e, ERR_CONFIG,
                           "fixed: layout %u: type code must be %u ASCII "
                           "characters and fields set", r + 1, tl);
        for (uint32_t i = 0; i < rec->nfields; i++)
            if (fixed__check_field(rec, i, e))
                return ERR_CONFIG;
    }
    return fixed__check_charset(o->charset, e);
}

/* Byte offset of 0-based column c, or the line's end when it is short. */
static size_t fixed__off(fixed__line *L, size_t c)
{
    if (L->ascii)
        return c < L->n ? c : L->n;
    if (c < L->cc)
        L->cb = L->cc = 0;
    while (L->cc < c && L->cb < L->n) {
        L->cb++;
        while (L->cb < L->n && ((unsigned char)L->s[L->cb] & 0xC0) == 0x80)
            L->cb++;
        L->cc++;
    }
    return L->cb;
}

static int fixed__numeric(const char *s, size_t n)
{
    size_t i = n && (s[0] == '+' || s[0] == '-'), digits = 0, seps = 0;
    for (; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if ((s[i] == '.' || s[i] == ',') && seps == 0)
            seps++;
        else
            return 0;
    }
    return digits > 0;
}

/* Padding is not data: trailing spaces go, and leading ones of a
 * right-aligned number. Text keeps its leading spaces. */
static void fixed__trim(const char **sp, size_t *np)
{
    const char *s = *sp;
    size_t n = *np, i = 0;
    while (n && s[n - 1] == ' ')
        n--;
    while (i < n && s[i] == ' ')
        i++;
    if (i && i < n && fixed__numeric(s + i, n - i)) {
        s += i;
        n -= i;
    }
    *sp = s;
    *np = n;
}

static tnode *fixed__node(arena_t *a, const char *name, const char *s,
                          size_t n)
{
    tnode *t = arena_alloc(a, sizeof *t + n + 1);
    if (!t)
        return NULL;
    char *v = (char *)(t + 1);
    memcpy(v, s, n);
    v[n] = '\0';
    *t = (tnode){.name = name, .value = v, .vlen = (uint32_t)n};
    return t;
}

/* Bytes mode: a non-ASCII field converts on its own; one that does not
 * (bad bytes, a split character) is a diag and an empty value. */
static int fixed__convert(fixed__p *P, const char **s, size_t *n,
                          const codec_fixed_field *f)
{
    size_t i = 0;
    while (i < *n && (unsigned char)(*s)[i] < 0x80)
        i++;
    if (i == *n)
        return 0;
    err_t ce = {0};
    buf_reset(&P->conv);
    int rc = charset_to_utf8(P->o->charset, *s, *n, &P->conv, &ce);
    *s = rc ? "" : P->conv.p;
    *n = rc ? 0 : P->conv.len;
    if (rc == ERR_CHARSET)
        codec_diag_add(P->b, P->m, P->a, rc, P->line, f->start,
                       "line %u field '%s' (cols %u-%u): %s", P->line,
                       f->name, f->start, f->start + f->len - 1, ce.msg);
    else if (rc)
        return err_set(P->e, rc, "fixed: %s", ce.msg);
    return 0;
}

static int fixed__fields(fixed__p *P, fixed__line *L, uint32_t r,
                         tnode *rec)
{
    const codec_fixed_record *lay = &P->o->records[r];
    for (uint32_t i = 0; i < lay->nfields; i++) {
        const codec_fixed_field *f = &lay->fields[i];
        size_t b0 = fixed__off(L, f->start - 1);
        size_t b1 = fixed__off(L, (size_t)f->start - 1 + f->len);
        const char *s = L->s + b0;
        size_t n = b1 - b0;
        fixed__trim(&s, &n);
        int rc = P->bytes ? fixed__convert(P, &s, &n, f) : 0;
        if (rc)
            return rc;
        tnode *t = fixed__node(P->a, P->names[r][i], s, n);
        if (!t)
            return ERR_NOMEM;
        t->line = t->seq = P->line;
        t->col = f->start;
        tree_add(rec, t);
    }
    return 0;
}

/* Layout index of the line, or nrecords after recording a diag. */
static uint32_t fixed__type(fixed__p *P, fixed__line *L)
{
    uint32_t tl = P->o->type_len, r;
    if (!tl)
        return 0;
    size_t off = fixed__off(L, tl);
    if (L->ascii ? L->n < tl : L->cc < tl) {
        codec_diag_add(P->b, P->m, P->a, ERR_SYNTAX, P->line, 1,
                       "line %u: shorter than the record type code (%u "
                       "characters)", P->line, tl);
        return P->o->nrecords;
    }
    for (r = 0; r < P->o->nrecords; r++)
        if (off == tl && memcmp(L->s, P->o->records[r].type, tl) == 0)
            return r;
    char code[FIXED_MAX_TYPE_LEN * 4 + 1];
    for (size_t i = 0; i < off; i++) /* no raw legacy bytes in a message */
        code[i] = P->bytes && (unsigned char)L->s[i] >= 0x80 ? '?' : L->s[i];
    code[off] = '\0';
    codec_diag_add(P->b, P->m, P->a, ERR_CODE, P->line, 1,
                   "line %u: unknown record type '%s'", P->line, code);
    return r;
}

static int fixed__record(fixed__p *P, fixed__line *L)
{
    if (L->n > FIXED_MAX_LINE) {
        codec_diag_add(P->b, P->m, P->a, ERR_TOOBIG, P->line, 1,
                       "line %u: longer than %u bytes", P->line,
                       FIXED_MAX_LINE);
        return 0;
    }
    uint32_t r = fixed__type(P, L);
    if (r == P->o->nrecords)
        return 0;
    tnode *rec = arena_alloc(P->a, sizeof *rec);
    if (!rec)
        return ERR_NOMEM;
    *rec = (tnode){.name = P->types[r], .line = P->line, .col = 1,
                   .seq = P->line};
    tree_add(P->m->root, rec);
    return fixed__fields(P, L, r, rec);
}

static int fixed__lines(fixed__p *P, const char *s, size_t n)
{
    const char *p = s, *end = s + n;
    int rc = 0;
    while (p < end && !rc) {
        unsigned char hi = 0;
        const char *q = p;
        while (q < end && *q != '\n')
            hi |= (unsigned char)*q++;
        fixed__line L = {.s = p, .n = (size_t)(q - p)};
        L.ascii = P->bytes || hi < 0x80;
        int crlf = L.n && p[L.n - 1] == '\r';
        L.n -= (size_t)crlf;
        if (q < end)
            codec_eol_check(&P->eol, P->b, P->m, P->a, crlf, P->line,
                            (uint32_t)L.n + 1);
        if (L.n && ++P->nrec > FIXED_MAX_LINES) {
            codec_diag_add(P->b, P->m, P->a, ERR_TOOBIG, P->line, 1,
                           "line %u: more than %u records", P->line,
                           FIXED_MAX_LINES);
            return 0;
        }
        if (L.n)
            rc = fixed__record(P, &L);
        P->line++;
        p = q < end ? q + 1 : end;
    }
    return rc;
}

/* Text that cannot become a tree: diag, root NULL; returns 1 then. */
static int fixed__bad_text(fixed__p *P, const char *s, size_t n)
{
    size_t bad = P->bytes ? n : charset_utf8_valid(s, n);
    const char *nul = n ? memchr(s, '\0', bad) : NULL;
    if (nul)
        bad = (size_t)(nul - s);
    if (bad == n)
        return 0;
    uint32_t line = 1, col = 1;
    for (size_t i = 0; i < bad; i++) {
        unsigned char c = (unsigned char)s[i];
        line += c == '\n';
        col = c == '\n' ? 1 : col + (P->bytes || (c & 0xC0) != 0x80);
    }
    codec_diag_add(P->b, P->m, P->a, ERR_CHARSET, line, col,
                   "line %u col %u: %s", line, col,
                   nul ? "NUL byte" : "invalid UTF-8");
    return 1;
}

/* Arena copies of the layout's names. */
static int fixed__names(fixed__p *P)
{
    const codec_opts *o = P->o;
    P->types = arena_alloc(P->a, o->nrecords * sizeof *P->types);
    P->names = arena_alloc(P->a, o->nrecords * sizeof *P->names);
    if (!P->types || !P->names)
        return ERR_NOMEM;
    for (uint32_t r = 0; r < o->nrecords; r++) {
        const codec_fixed_record *rec = &o->records[r];
        P->types[r] = arena_strdup(P->a, o->type_len ? rec->type : "record");
        P->names[r] = arena_alloc(P->a, rec->nfields * sizeof(char *) + 1);
        if (!P->types[r] || !P->names[r])
            return ERR_NOMEM;
        for (uint32_t i = 0; i < rec->nfields; i++)
            if (!(P->names[r][i] = arena_strdup(P->a, rec->fields[i].name)))
                return ERR_NOMEM;
    }
    return 0;
}

static int fixed__run(fixed__p *P, const char *s, size_t n)
{
    const char *cs = P->bytes ? P->o->charset : "UTF-8";
    P->m = codec_msg_add(P->b, P->a);
    if (!P->m || fixed__names(P))
        return ERR_NOMEM;
    if (!(P->m->meta.syntax = arena_strdup(P->a, cs)))
        return ERR_NOMEM;
    P->m->meta.format = "fixed";
    P->m->line = P->line = 1;
    if (fixed__bad_text(P, s, n))
        return 0;
    if (!P->bytes && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        n -= 3;
        codec_rule_add(P->b, P->m, P->a, STRICT_BOM, ERR_SYNTAX, 1, 1, "",
                       "UTF-8 byte order mark before the first record");
    }
    n -= n && s[n - 1] == '\x1A'; /* DOS end-of-file mark */
    if (!(P->m->root = arena_alloc(P->a, sizeof *P->m->root)))
        return ERR_NOMEM;
    *P->m->root = (tnode){.name = "file", .line = 1, .col = 1};
    return fixed__lines(P, s, n);
}

static int fixed__parse(const char *data, size_t len, const codec_opts *o,
                        arena_t *a, codec_batch *out, err_t *e)
{
    static const codec_opts none;
    o = o ? o : &none;
    if (len > CODEC_MAX_INPUT)
        return err_set(e, ERR_TOOBIG, "fixed: input over %u bytes",
                       CODEC_MAX_INPUT);
    int rc = fixed__check(o, e);
    if (rc)
        return rc;
    fixed__p P = {.a = a, .b = out, .o = o, .e = e};
    P.bytes = !fixed__utf8_name(o->charset);
    buf_init(&P.conv, 4 * (size_t)FIXED_MAX_LINE);
    rc = fixed__run(&P, data ? data : "", len);
    buf_free(&P.conv);
    if (rc == ERR_NOMEM)
        err_set(e, rc, "fixed: line %u: arena exhausted", P.line);
    return rc;
}

/* ---- writing ---- */

/* One output column: a character's UTF-8 bytes, or one legacy byte. */
typedef struct fixed__slot {
    char c[4];
    unsigned char n;
} fixed__slot;

typedef struct fixed__w {
    const codec_opts *o;
    int bytes;
    fixed__slot *slot; /* one line, widest layout; owned, freed by write */
    char *stage;       /* the line's bytes; owned likewise */
    buf_t conv;        /* a value converted to o->charset */
    uint32_t line;     /* output line being written */
    err_t *e;
} fixed__w;

static size_t fixed__clen(unsigned char c)
{
    return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

static int fixed__too_long(fixed__w *W, const char *rec, const char *field,
                           const char *s, size_t n, uint32_t width)
{
    size_t k = 0;
    for (size_t i = 0; i < n; k++)
        i += W->bytes ? 1 : fixed__clen((unsigned char)s[i]);
    return err_set(W->e, ERR_INVALID,
                   "fixed: line %u record '%s' field '%s': value is %zu %s, "
                   "width %u", W->line, rec, field, k,
                   W->bytes ? "bytes" : "characters", width);
}

/* Bytes mode: the value in o->charset (ASCII is the same in all the
 * ASCII-compatible charsets, so it skips iconv). */
static int fixed__encode(fixed__w *W, const char **s, size_t *n,
                         const char *rec, const char *field)
{
    int hi = 0;
    for (size_t i = 0; i < *n; i++)
        hi |= (unsigned char)(*s)[i] >= 0x80;
    if (!hi)
        return 0;
    err_t ce = {0};
    buf_reset(&W->conv);
    int rc = charset_from_utf8(W->o->charset, *s, *n, &W->conv, &ce);
    if (rc)
        return err_set(W->e, rc, "fixed: line %u record '%s' field '%s': %s",
                       W->line, rec, field, ce.msg);
    *s = W->conv.p ? W->conv.p : "";
    *n = W->conv.len;
    return 0;
}

/* Place value s at 0-based column c0, checking it fits in width. */
static int fixed__put(fixed__w *W, uint32_t c0, uint32_t width, const char *s,
                      size_t n, const char *rec, const char *field)
{
    if (memchr(s, '\n', n) || memchr(s, '\r', n))
        return err_set(W->e, ERR_INVALID,
                       "fixed: line %u record '%s' field '%s': line break "
                       "in value", W->line, rec, field);
    int rc = W->bytes ? fixed__encode(W, &s, &n, rec, field) : 0;
    if (rc)
        return rc;
    size_t k = 0;
    for (size_t i = 0; i < n; k++) {
        size_t cl = W->bytes ? 1 : fixed__clen((unsigned char)s[i]);
        cl = cl < n - i ? cl : n - i;
        if (k == width)
            return fixed__too_long(W, rec, field, s, n, width);
        fixed__slot *sl = &W->slot[c0 + k];
        memcpy(sl->c, s + i, cl);
        sl->n = (unsigned char)cl;
        i += cl;
    }
    return 0;
}

static const codec_fixed_record *fixed__layout(const codec_opts *o,
                                               const char *name)
{
    for (uint32_t r = 0; o->type_len && r < o->nrecords; r++)
        if (strcmp(o->records[r].type, name) == 0)
            return &o->records[r];
    return o->type_len ? NULL : &o->records[0];
}

static uint32_t fixed__width(const codec_opts *o, const codec_fixed_record *r)
{
    uint32_t w = o->type_len;
    for (uint32_t i = 0; i < r->nfields; i++)
        if (r->fields[i].start - 1 + r->fields[i].len > w)
            w = r->fields[i].start - 1 + r->fields[i].len;
    return w;
}

static uint32_t fixed__wmax(const codec_opts *o)
{
    uint32_t wmax = 1;
    for (uint32_t r = 0; r < o->nrecords; r++) {
        uint32_t w = fixed__width(o, &o->records[r]);
        wmax = w > wmax ? w : wmax;
    }
    return wmax;
}

/* Child named name, searching on from *cur and wrapping, so a record whose
 * fields are in layout order costs one step per field. */
static const tnode *fixed__find(const tnode *rec, const tnode **cur,
                                const char *name)
{
    for (int pass = 0; pass < 2; pass++) {
        const tnode *from = pass ? rec->kids : *cur, *to = pass ? *cur : NULL;
        for (const tnode *k = from; k != to; k = k->next)
            if (strcmp(k->name, name) == 0) {
                *cur = k->next;
                return k;
            }
    }
    return NULL;
}

static int fixed__fill(fixed__w *W, const tnode *rec,
                       const codec_fixed_record *lay, uint32_t w)
{
    for (uint32_t i = 0; i < w; i++)
        W->slot[i] = (fixed__slot){" ", 1};
    int rc = 0;
    if (W->o->type_len)
        rc = fixed__put(W, 0, W->o->type_len, lay->type, strlen(lay->type),
                        rec->name, "(type)");
    const tnode *cur = rec->kids;
    for (uint32_t i = 0; i < lay->nfields && !rc; i++) {
        const codec_fixed_field *f = &lay->fields[i];
        const tnode *v = fixed__find(rec, &cur, f->name);
        if (v && v->value)
            rc = fixed__put(W, f->start - 1, f->len, v->value, v->vlen,
                            rec->name, f->name);
    }
    return rc;
}

static int fixed__put_record(fixed__w *W, const tnode *rec, buf_t *out)
{
    const codec_fixed_record *lay = fixed__layout(W->o, rec->name);
    if (!lay)
        return err_set(W->e, ERR_INVALID,
                       "fixed: line %u: no layout for record type '%s'",
                       W->line, rec->name);
    uint32_t w = fixed__width(W->o, lay);
    int rc = fixed__fill(W, rec, lay, w);
    if (rc)
        return rc;
    size_t len = 0;
    for (uint32_t i = 0; i < w; i++)
        for (unsigned j = 0; j < W->slot[i].n; j++)
            W->stage[len++] = W->slot[i].c[j];
    W->stage[len++] = '\n';
    rc = buf_add(out, W->stage, len);
    return rc ? err_set(W->e, rc, "fixed: line %u: %s (output cap %zu)",
                        W->line, err_text(rc), out->max)
              : 0;
}

static int fixed__put_all(fixed__w *W, const codec_msg *const *msgs, size_t n,
                          buf_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (!msgs[i]->root)
            return err_set(W->e, ERR_INVALID,
                           "fixed: message %zu has no tree", i);
        for (const tnode *r = msgs[i]->root->kids; r; r = r->next) {
            W->line++;
            int rc = fixed__put_record(W, r, out);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Appends to out; on failure out is left as it was. */
static int fixed__write(const codec_msg *const *msgs, size_t n,
                        const codec_opts *o, buf_t *out, err_t *e)
{
    static const codec_opts none;
    o = o ? o : &none;
    int rc = fixed__check(o, e);
    if (rc)
        return rc;
    fixed__w W = {.o = o, .bytes = !fixed__utf8_name(o->charset), .e = e};
    uint32_t wmax = fixed__wmax(o);
    W.slot = malloc(wmax * sizeof *W.slot);
    W.stage = malloc((size_t)wmax * 4 + 1);
    buf_init(&W.conv, 4 * (size_t)FIXED_MAX_LINE);
    size_t mark = out->len;
    rc = W.slot && W.stage ? fixed__put_all(&W, msgs, n, out)
                           : err_set(e, ERR_NOMEM, "fixed: out of memory");
    free(W.slot);
    free(W.stage);
    buf_free(&W.conv);
    if (rc && out->p) {
        out->len = mark;
        out->p[mark] = '\0';
    }
    return rc;
}

/* Fixed-width data has no signature; only a mapping can say it is. */
static int fixed__sniff(const char *data, size_t len)
{
    (void)data;
    (void)len;
    return 0;
}

const codec_ops codec_fixed_ops = {"fixed", fixed__sniff, fixed__parse,
                                   fixed__write};
