#include "codec_csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charset.h"

/* One field of the row being read; s points into the input, or into the
 * arena when unescaping doubled quotes needed a copy (own). */
typedef struct csv__field {
    const char *s;
    uint32_t n, line, col;
    int own;
} csv__field;

/* Parser state: one pass over the UTF-8 text. */
typedef struct csv__p {
    const char *p, *end;
    const char *cpos;  /* where ccol was last computed (same line as p) */
    uint32_t line, ccol;
    char delim, quote;
    arena_t *a;
    codec_batch *b;
    codec_msg *m;
    csv__field *f;       /* the current row, CSV_MAX_COLS slots */
    const char **hname;  /* header names, NULL entries = positional */
    const char **pos;    /* "1", "2", ... made on first use */
    uint32_t nhead, nrows;
    codec_eol eol;       /* line_ends */
} csv__p;

static int csv__utf8_name(const char *cs)
{
    return !cs || !strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "UTF8");
}

/* Column of q (on the current line), counted in code points; advances
 * incrementally so a row costs one extra pass, not one per field. */
static uint32_t csv__col(csv__p *P, const char *q)
{
    uint32_t c = P->ccol;
    for (const char *s = P->cpos; s < q; s++)
        c += ((unsigned char)*s & 0xC0) != 0x80;
    P->cpos = q;
    P->ccol = c;
    return c;
}

static void csv__newline(csv__p *P, const char *lf)
{
    P->line++;
    P->cpos = lf + 1;
    P->ccol = 1;
}

static const char *csv__posname(csv__p *P, uint32_t i)
{
    if (!P->pos[i]) {
        char num[12];
        snprintf(num, sizeof num, "%u", i + 1);
        P->pos[i] = arena_strdup(P->a, num);
    }
    return P->pos[i];
}

/* Field length cap: over it the value is dropped and the row reported. */
static void csv__cap(csv__p *P, csv__field *f, size_t n)
{
    if (n <= CSV_MAX_FIELD) {
        f->n = (uint32_t)n;
        return;
    }
    codec_diag_add(P->b, P->m, P->a, ERR_TOOBIG, f->line, f->col,
                   "line %u col %u: field longer than %u bytes", f->line,
                   f->col, CSV_MAX_FIELD);
    f->n = 0;
}

/* Unquoted field: up to the delimiter or LF; the CR of a CRLF is dropped. */
static void csv__plain(csv__p *P, csv__field *f)
{
    const char *q = P->p, *end = P->end;
    char d = P->delim;
    while (q < end && *q != d && *q != '\n')
        q++;
    size_t n = (size_t)(q - P->p);
    if (n && q[-1] == '\r' && (q == end || *q == '\n'))
        n--;
    f->s = P->p;
    f->own = 0;
    csv__cap(P, f, n);
    P->p = q;
}

/* Copy s[0..n) into the arena, turning each doubled quote into one. */
static int csv__unescape(csv__p *P, csv__field *f, const char *s, size_t n,
                         size_t ndq)
{
    char *v = arena_alloc(P->a, n - ndq + 1), *w = v;
    if (!v)
        return ERR_NOMEM;
    for (const char *r = s, *end = s + n; r < end; r++) {
        *w++ = *r;
        r += (*r == P->quote); /* skip the second quote of a pair */
    }
    *w = '\0';
    f->s = v;
    f->own = 1;
    return 0;
}

/* After a closing quote only a delimiter or a line end may follow; other
 * text there usually means an unescaped quote inside the field. */
static void csv__after_quote(csv__p *P)
{
    const char *q = P->p, *end = P->end;
    if (q < end && *q == '\r' && (q + 1 == end || q[1] == '\n'))
        q++;
    if (q == end || *q == '\n' || *q == P->delim) {
        P->p = q;
        return;
    }
    uint32_t col = csv__col(P, q);
    codec_diag_add(P->b, P->m, P->a, ERR_SYNTAX, P->line, col,
                   "line %u col %u: text after closing quote", P->line, col);
    while (q < end && *q != '\n' && *q != P->delim)
        q++;
    P->p = q;
}

/* Closing quote of the field opened at s[-1], or NULL; counts the
 * doubled quotes and the lines passed. */
static const char *csv__close(csv__p *P, const char *s, size_t *ndq)
{
    const char *q = s, *end = P->end;
    char qc = P->quote;
    for (;;) {
        while (q < end && *q != qc) {
            if (*q == '\n')
                csv__newline(P, q);
            q++;
        }
        if (q == end)
            return NULL;
        if (q + 1 == end || q[1] != qc)
            return q;
        ++*ndq;
        q += 2;
    }
}

/* Quoted field starting at P->p. ERR_SYNTAX (diag recorded) when the
 * quote never closes: nothing after it can be trusted. */
static int csv__quoted(csv__p *P, csv__field *f)
{
    const char *s = P->p + 1;
    size_t ndq = 0;
    const char *q = csv__close(P, s, &ndq);
    if (!q)
        return codec_diag_add(P->b, P->m, P->a, ERR_SYNTAX, f->line, f->col,
                              "line %u col %u: unterminated quote", f->line,
                              f->col);
    P->p = q + 1;
    f->s = s;
    f->own = 0;
    csv__cap(P, f, (size_t)(q - s) - ndq);
    if (ndq && f->n && csv__unescape(P, f, s, (size_t)(q - s), ndq))
        return ERR_NOMEM;
    csv__after_quote(P);
    return 0;
}

/* Read one row into P->f; P->p ends after its LF. *nf = fields seen (may
 * exceed CSV_MAX_COLS; only that many are kept). */
static int csv__row(csv__p *P, uint32_t *nf)
{
    uint32_t n = 0;
    const char *s0 = P->p;
    for (;;) {
        csv__field f = {.line = P->line, .col = csv__col(P, P->p)};
        if (P->p < P->end && *P->p == P->quote) {
            int rc = csv__quoted(P, &f);
            if (rc)
                return rc;
        } else {
            csv__plain(P, &f);
        }
        if (n < CSV_MAX_COLS)
            P->f[n] = f;
        n++;
        if (P->p < P->end && *P->p == P->delim) {
            P->p++;
            continue;
        }
        if (P->p < P->end) {
            int crlf = P->p > s0 && P->p[-1] == '\r';
            codec_eol_check(&P->eol, P->b, P->m, P->a, crlf, P->line,
                            csv__col(P, P->p - crlf));
            csv__newline(P, P->p++);
        }
        break;
    }
    *nf = n;
    return 0;
}

/* Node and value in one allocation (or the value already in the arena);
 * names are shared arena strings, not copied per cell. */
static tnode *csv__node(csv__p *P, const char *name, const csv__field *f)
{
    tnode *t;
    const char *v = f->s;
    if (f->own) {
        t = arena_alloc(P->a, sizeof *t);
    } else {
        t = arena_alloc(P->a, sizeof *t + f->n + 1);
        if (t) {
            char *w = (char *)(t + 1);
            memcpy(w, f->s, f->n);
            w[f->n] = '\0';
            v = w;
        }
    }
    if (t)
        *t = (tnode){.name = name, .value = v, .vlen = f->n, .line = f->line,
                     .col = f->col, .seq = f->line};
    return t;
}

static int csv__header(csv__p *P, uint32_t n)
{
    P->nhead = n;
    P->hname = arena_zalloc(P->a, n * sizeof *P->hname + 1);
    if (!P->hname)
        return ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        if (!P->f[i].n)
            continue; /* empty header cell: positional name */
        P->hname[i] = P->f[i].own ? P->f[i].s
                                  : arena_strndup(P->a, P->f[i].s, P->f[i].n);
        if (!P->hname[i])
            return ERR_NOMEM;
    }
    return 0;
}

static int csv__add_row(csv__p *P, uint32_t n, uint32_t line)
{
    if (P->hname && n != P->nhead)
        codec_diag_add(P->b, P->m, P->a, ERR_SYNTAX, line, 1,
                       "line %u: %u fields, header has %u", line, n, P->nhead);
    tnode *row = arena_alloc(P->a, sizeof *row);
    if (!row)
        return ERR_NOMEM;
    *row = (tnode){.name = "row", .line = line, .col = 1, .seq = line};
    tree_add(P->m->root, row);
    for (uint32_t i = 0; i < n; i++) {
        const char *name = i < P->nhead && P->hname[i] ? P->hname[i]
                                                        : csv__posname(P, i);
        tnode *c = name ? csv__node(P, name, &P->f[i]) : NULL;
        if (!c)
            return ERR_NOMEM;
        tree_add(row, c);
    }
    return 0;
}

/* Skip a blank line at P->p (LF or CRLF alone); 1 if one was skipped. */
static int csv__blank(csv__p *P)
{
    const char *q = P->p;
    if (*q == '\r' && (q + 1 == P->end || q[1] == '\n'))
        q++;
    if (q == P->end) {
        P->p = q;
        return 1;
    }
    if (*q != '\n')
        return 0;
    csv__newline(P, q);
    P->p = q + 1;
    return 1;
}

/* Too many columns or rows: reported on the row, which is still kept (up
 * to the caps) so the other rows can be checked. */
static int csv__limits(csv__p *P, uint32_t *n, uint32_t line)
{
    if (*n > CSV_MAX_COLS) {
        codec_diag_add(P->b, P->m, P->a, ERR_TOOBIG, line, 1,
                       "line %u: %u fields, more than %u", line, *n,
                       CSV_MAX_COLS);
        *n = CSV_MAX_COLS;
    }
    if (++P->nrows <= CSV_MAX_ROWS)
        return 0;
    codec_diag_add(P->b, P->m, P->a, ERR_TOOBIG, line, 1,
                   "line %u: more than %u rows", line, CSV_MAX_ROWS);
    return ERR_TOOBIG;
}

static int csv__rows(csv__p *P, int header)
{
    while (P->p < P->end) {
        if (csv__blank(P))
            continue;
        uint32_t n, line = P->line;
        int rc = csv__row(P, &n);
        if (!rc)
            rc = csv__limits(P, &n, line);
        if (rc)
            return rc == ERR_NOMEM ? rc : 0; /* diag already recorded */
        rc = header && !P->hname ? csv__header(P, n) : csv__add_row(P, n, line);
        if (rc)
            return rc;
    }
    return 0;
}

/* Line and column of byte offset off in s; the column counts UTF-8
 * characters, or bytes (legacy charsets, where that is what tools show). */
static void csv__where(const char *s, size_t off, int bytes, uint32_t *line,
                       uint32_t *col)
{
    uint32_t l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n') {
            l++;
            c = 1;
        } else {
            c += bytes || (ch & 0xC0) != 0x80;
        }
    }
    *line = l;
    *col = c;
}

/* Text that cannot become a tree (bad UTF-8, NUL bytes): a diag on the
 * message, root left NULL. Returns 1 when that happened. */
static int csv__check_text(csv__p *P, const char *s, size_t n)
{
    if (!n)
        return 0;
    size_t bad = charset_utf8_valid(s, n);
    const char *nul = memchr(s, '\0', bad);
    const char *why = "invalid UTF-8";
    if (nul) {
        bad = (size_t)(nul - s);
        why = "NUL byte";
    }
    if (bad == n)
        return 0;
    uint32_t line, col;
    csv__where(s, bad, 0, &line, &col);
    codec_diag_add(P->b, P->m, P->a, ERR_CHARSET, line, col,
                   "line %u col %u: %s", line, col, why);
    return 1;
}

/* Conversion failed on bad bytes: place the diag at the offset charset
 * names ("byte N: ...") when it does, counting lines in the original
 * (ASCII-compatible) bytes. */
static void csv__charset_diag(csv__p *P, const char *data, size_t len,
                              const err_t *ce)
{
    size_t off = 0;
    const char *b = strstr(ce->msg, "byte ");
    if (!b || sscanf(b, "byte %zu", &off) != 1 || off > len) {
        codec_diag_add(P->b, P->m, P->a, ERR_CHARSET, 0, 0, "%s", ce->msg);
        return;
    }
    uint32_t line, col;
    csv__where(data, off, 1, &line, &col);
    codec_diag_add(P->b, P->m, P->a, ERR_CHARSET, line, col,
                   "line %u col %u: %s", line, col, ce->msg);
}

static int csv__opts(const codec_opts *o, char *d, char *q, err_t *e)
{
    *d = o->delimiter ? o->delimiter : ',';
    *q = o->quote ? o->quote : '"';
    if (*d == *q || *d == '\n' || *d == '\r' || *q == '\n' || *q == '\r')
        return err_set(e, ERR_CONFIG,
                       "csv: delimiter and quote must differ and not be "
                       "CR/LF");
    return 0;
}

static int csv__begin(csv__p *P, const codec_opts *o, codec_batch *out,
                      arena_t *a)
{
    const char *cs = csv__utf8_name(o->charset) ? "UTF-8" : o->charset;
    P->a = a;
    P->b = out;
    P->m = codec_msg_add(out, a);
    P->f = arena_alloc(a, CSV_MAX_COLS * sizeof *P->f);
    P->pos = arena_zalloc(a, CSV_MAX_COLS * sizeof *P->pos);
    if (!P->m || !P->f || !P->pos || !(P->m->meta.syntax = arena_strdup(a, cs)))
        return ERR_NOMEM;
    P->m->meta.format = "csv";
    P->m->line = 1;
    P->line = P->ccol = 1;
    return 0;
}

/* Parse text (UTF-8) into P->m. */
static int csv__run(csv__p *P, const char *s, size_t n, int header)
{
    if (csv__check_text(P, s, n))
        return 0;
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        n -= 3;
    }
    n -= n && s[n - 1] == '\x1A'; /* DOS end-of-file mark */
    P->p = P->cpos = s;
    P->end = s + n;
    P->m->root = arena_alloc(P->a, sizeof *P->m->root);
    if (!P->m->root)
        return ERR_NOMEM;
    *P->m->root = (tnode){.name = "file", .line = 1, .col = 1};
    return csv__rows(P, header);
}

/* Legacy charset: convert the whole input, parse the UTF-8 copy (cells are
 * copied into the arena, so the copy is freed here). */
static int csv__convert(csv__p *P, const char *data, size_t len,
                        const codec_opts *o, err_t *e)
{
    buf_t u;
    err_t ce = {0};
    buf_init(&u, 2 * (size_t)CODEC_MAX_INPUT); /* GB18030: 2 -> 3 bytes */
    int rc = charset_to_utf8(o->charset, data, len, &u, &ce);
    if (!rc) {
        rc = csv__run(P, u.p ? u.p : "", u.len, o->header != -1);
    } else if (rc == ERR_CHARSET) {
        csv__charset_diag(P, data, len, &ce);
        rc = 0;
    } else {
        err_set(e, rc, "csv: %s", ce.msg);
    }
    buf_free(&u);
    return rc;
}

static int csv__parse(const char *data, size_t len, const codec_opts *o,
                      arena_t *a, codec_batch *out, err_t *e)
{
    static const codec_opts none;
    csv__p P = {0};
    o = o ? o : &none;
    if (len > CODEC_MAX_INPUT)
        return err_set(e, ERR_TOOBIG, "csv: input over %u bytes",
                       CODEC_MAX_INPUT);
    int rc = csv__opts(o, &P.delim, &P.quote, e);
    if (!rc && (rc = csv__begin(&P, o, out, a)))
        err_set(e, rc, "csv: out of memory");
    if (rc)
        return rc;
    if (csv__utf8_name(o->charset))
        rc = csv__run(&P, data, len, o->header != -1);
    else
        rc = csv__convert(&P, data, len, o, e);
    if (rc == ERR_NOMEM)
        err_set(e, rc, "csv: line %u: arena exhausted", P.line);
    return rc;
}

/* ---- writing ---- */

/* A leading BOM and a trailing 0x1A are quoted too, or reading them back
 * would skip them. */
static int csv__needs_quote(const char *s, size_t n, char d, char q)
{
    if (n && (s[0] == ' ' || s[n - 1] == ' ' || s[n - 1] == '\x1A'))
        return 1;
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (s[i] == d || s[i] == q || s[i] == '\n' || s[i] == '\r')
            return 1;
    return 0;
}

/* alone: the row's only cell, quoted when empty so the row is not blank. */
static int csv__put(buf_t *b, const char *s, char d, char q, int alone)
{
    s = s ? s : "";
    size_t n = strlen(s);
    if (!csv__needs_quote(s, n, d, q) && (n || !alone))
        return buf_add(b, s, n);
    int rc = buf_addc(b, q);
    for (size_t i = 0, from = 0; !rc && i <= n; i++) {
        if (i < n && s[i] != q)
            continue;
        rc = buf_add(b, s + from, i - from + (i < n)); /* quote doubled */
        if (!rc && i < n)
            rc = buf_addc(b, q);
        from = i + 1;
    }
    return rc ? rc : buf_addc(b, q);
}

/* The columns: every cell name of every row, in order of first
 * appearance, so a row that lacks a cell (a blank the mapping did not
 * write) still lines up under the header. */
typedef struct csv__cols {
    const char *name[CSV_MAX_COLS];
    uint32_t occ[CSV_MAX_COLS]; /* 2nd "qty" of a row: a header may repeat */
    uint32_t n;
} csv__cols;

/* The occ-th (0-based) cell of row named name, or NULL. */
static const tnode *csv__cell(const tnode *row, const char *name,
                              uint32_t occ)
{
    for (const tnode *k = row->kids; k; k = k->next)
        if (strcmp(k->name, name) == 0 && occ-- == 0)
            return k;
    return NULL;
}

static int csv__add_col(csv__cols *c, const char *name, uint32_t occ)
{
    for (uint32_t j = 0; j < c->n; j++)
        if (c->occ[j] == occ && strcmp(c->name[j], name) == 0)
            return 0;
    if (c->n == CSV_MAX_COLS)
        return ERR_TOOBIG;
    c->name[c->n] = name;
    c->occ[c->n++] = occ;
    return 0;
}

static int csv__collect(const codec_msg *const *msgs, size_t n, csv__cols *c)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        for (const tnode *r = msgs[i]->root ? msgs[i]->root->kids : NULL;
             r && !rc; r = r->next)
            for (const tnode *k = r->kids; k && !rc; k = k->next) {
                uint32_t occ = 0;
                for (const tnode *x = r->kids; x != k; x = x->next)
                    occ += strcmp(x->name, k->name) == 0;
                rc = csv__add_col(c, k->name, occ);
            }
    return rc;
}

/* Columns to write for row: all of them under a header (a short row would
 * read back as ragged); without one, up to the row's last cell, so rows of
 * different lengths stay as they were. */
static uint32_t csv__width(const tnode *row, const csv__cols *c, int header)
{
    if (!row || header)
        return c->n;
    uint32_t w = 0;
    for (uint32_t j = 0; j < c->n; j++)
        if (csv__cell(row, c->name[j], c->occ[j]))
            w = j + 1;
    return w;
}

static int csv__put_row(buf_t *b, const tnode *row, const csv__cols *c,
                        char d, char q, int header)
{
    int rc = 0;
    uint32_t n = csv__width(row, c, header);
    for (uint32_t j = 0; j < n && !rc; j++) {
        if (j)
            rc = buf_addc(b, d);
        const tnode *cell = row ? csv__cell(row, c->name[j], c->occ[j]) : NULL;
        const char *v = row ? (cell ? cell->value : "") : c->name[j];
        if (!rc)
            rc = csv__put(b, v, d, q, n == 1);
    }
    return rc ? rc : buf_add(b, "\r\n", 2);
}

static int csv__put_all(const codec_msg *const *msgs, size_t n,
                        const codec_opts *o, buf_t *b, err_t *e)
{
    char d, q;
    int rc = csv__opts(o, &d, &q, e);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (!msgs[i]->root)
            return err_set(e, ERR_INVALID, "csv: message %zu has no tree", i);
    csv__cols *c = calloc(1, sizeof *c);
    if (!c)
        return err_set(e, ERR_NOMEM, "csv: out of memory");
    if ((rc = csv__collect(msgs, n, c))) {
        free(c);
        return err_set(e, rc, "csv: more than %d columns", CSV_MAX_COLS);
    }
    int header = o->header != -1;
    if (header && c->n)
        rc = csv__put_row(b, NULL, c, d, q, header);
    for (size_t i = 0; i < n && !rc; i++)
        for (const tnode *r = msgs[i]->root->kids; r && !rc; r = r->next)
            rc = csv__put_row(b, r, c, d, q, header);
    free(c);
    return rc ? err_set(e, rc, "csv: %s (output cap %zu)", err_text(rc),
                        b->max) : 0;
}

/* Appends to out; on failure out is left as it was. */
static int csv__write(const codec_msg *const *msgs, size_t n,
                      const codec_opts *o, buf_t *out, err_t *e)
{
    static const codec_opts none;
    o = o ? o : &none;
    size_t mark = out->len;
    int rc;
    if (csv__utf8_name(o->charset)) {
        rc = csv__put_all(msgs, n, o, out, e);
    } else {
        buf_t u;
        buf_init(&u, out->max);
        rc = csv__put_all(msgs, n, o, &u, e);
        if (!rc && u.len)
            rc = charset_from_utf8(o->charset, u.p, u.len, out, e);
        buf_free(&u);
    }
    if (rc && out->p) {
        out->len = mark;
        out->p[mark] = '\0';
    }
    return rc;
}

/* CSV has no signature: a first line with several separators is a weak
 * hint, and markup or JSON openers rule it out. */
static int csv__sniff(const char *d, size_t len)
{
    size_t i = 0, n = len < 4096 ? len : 4096;
    unsigned commas = 0, semis = 0;
    if (n >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < n && (d[i] == ' ' || d[i] == '\t'))
        i++;
    if (i < n && (d[i] == '<' || d[i] == '{' || d[i] == '['))
        return 0;
    for (; i < n && d[i] != '\n'; i++) {
        commas += d[i] == ',';
        semis += d[i] == ';';
    }
    return commas >= 2 || semis >= 2 ? 20 : 0;
}

const codec_ops codec_csv_ops = {"csv", csv__sniff, csv__parse, csv__write};
