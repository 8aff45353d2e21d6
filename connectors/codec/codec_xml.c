/* codec_xml: the XML parser over libxml2's SAX2 (the rules are in
 * codec_xml.h); the writer is codec_xml_write.c. */
#include "codec_xml.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

/* Text of the open elements lives in one buffer as a stack of runs; it
 * can never legitimately exceed the decoded input (at most 3x the bytes of
 * a legacy encoding), so that is its cap. */
#define XMLC_TEXT_MAX ((size_t)CODEC_MAX_INPUT * 3)
#define XMLC_COL_SCAN 256 /* how far back a multi-line tag's column is sought */
#define XMLC_DICT_MAX 10000 /* names a cached parser may intern, then renewed */

typedef struct xmlc__st {
    xmlParserCtxtPtr ctxt;
    arena_t *a;
    codec_batch *b;
    codec_msg *m;
    buf_t text;
    uint32_t depth;
    uint32_t line0; /* lines of the input before this document */
    int failed;     /* any error: the message gets no tree */
    int nomem;      /* the arena ran out: the input as a whole fails */
    /* What follows the root element: the next document, if any. In the
     * input itself (rest_in), or a UTF-8 copy (rest_own, malloc'd, the
     * caller frees) when libxml2 had decoded it from another charset. */
    const char *data; /* this document and what follows it */
    size_t data_len;
    const char *rest_in;
    char *rest_own;
    size_t rest_len;
    uint32_t rest_line; /* line (in this document) where the rest starts */
    int rest_lost;      /* a rest libxml2 had not decoded yet: unreadable */
    tnode *open[XMLC_MAX_DEPTH];
    size_t text_at[XMLC_MAX_DEPTH]; /* where each open element's text starts */
    unsigned char has_elems[XMLC_MAX_DEPTH];
} xmlc__st;

static int xmlc__is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Node and name in one arena block: parsing makes many nodes, and this
 * halves the allocations. */
static tnode *xmlc__node(arena_t *a, const char *pfx, const xmlChar *name)
{
    size_t pl = strlen(pfx), nl = strlen((const char *)name);
    tnode *t = arena_alloc(a, sizeof *t + pl + nl + 1);
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    char *s = (char *)(t + 1);
    memcpy(s, pfx, pl);
    memcpy(s + pl, name, nl + 1);
    t->name = s;
    return t;
}

static void xmlc__fail(xmlc__st *st, int code, const char *msg)
{
    xmlParserInputPtr in = st->ctxt->input;
    codec_diag_add(st->b, st->m, st->a, code, in ? st->line0 + (uint32_t)in->line : 0,
                   in ? (uint32_t)in->col : 0, "%s", msg);
    st->failed = 1;
    st->nomem |= code == ERR_NOMEM;
    xmlStopParser(st->ctxt);
}

/* Column of a multi-line tag's '<': back to the newline before it, within
 * reach; 0 when that newline is not in the buffer any more. */
static uint32_t xmlc__col_back(const xmlChar *base, const xmlChar *lt)
{
    const xmlChar *p = lt;
    while (p > base && lt - p < XMLC_COL_SCAN && p[-1] != '\n')
        p--;
    return (p > base && p[-1] == '\n') ? (uint32_t)(lt - p) + 1 : 0;
}

/* libxml2 calls back with cur on the start tag's closing '>'; attribute
 * values cannot hold a '<', so walking back finds where the tag begins. */
static void xmlc__pos(const xmlParserInputPtr in, uint32_t line0, tnode *n)
{
    const xmlChar *p = memrchr(in->base, '<', (size_t)(in->cur - in->base));
    n->line = in->line > 0 ? line0 + (uint32_t)in->line : 0;
    if (!p)
        return;
    uint32_t nl = 0;
    for (const xmlChar *q = p; (q = memchr(q, '\n', (size_t)(in->cur - q))); q++)
        nl++;
    n->line = n->line > nl ? n->line - nl : 0;
    if (nl) {
        n->col = xmlc__col_back(in->base, p);
        return;
    }
    long c = (long)in->col - (long)(in->cur - p);
    n->col = c > 0 ? (uint32_t)c : 0;
}

/* With entity substitution off, libxml2 hands '&' in attribute values on
 * as "&#38;" (for its DOM builder to decode); undo that here. */
static char *xmlc__attr_value(arena_t *a, const xmlChar *v, const xmlChar *end,
                              uint32_t *vlen)
{
    size_t n = (size_t)(end - v);
    char *s = arena_alloc(a, n + 1), *o = s;
    if (!s)
        return NULL;
    for (const xmlChar *p = v; p < end; p++) {
        *o++ = (char)*p;
        if (*p == '&' && end - p >= 5 && memcmp(p, "&#38;", 5) == 0)
            p += 4;
    }
    *o = '\0';
    *vlen = (uint32_t)(o - s);
    return s;
}

/* attrs: nattr runs of (local, prefix, uri, value, end) as libxml2 gives. */
static int xmlc__attrs(xmlc__st *st, tnode *el, int nattr,
                       const xmlChar **attrs)
{
    for (int i = 0; i < nattr; i++) {
        const xmlChar **at = attrs + 5 * i;
        if (strcmp((const char *)at[0], "xmlns") == 0)
            continue; /* "@xmlns" means the namespace when written back */
        tnode *t = xmlc__node(st->a, "@", at[0]);
        if (!t || !(t->value = xmlc__attr_value(st->a, at[3], at[4], &t->vlen)))
            return ERR_NOMEM;
        t->flags = TN_ATTR;
        t->line = el->line;
        t->col = el->col;
        tree_add(el, t);
        if (st->depth == 0 && !at[1] && strcmp((const char *)at[0], "version") == 0)
            st->m->meta.version = t->value;
    }
    return 0;
}

/* Opens element n under the innermost open one (or as the root). */
static int xmlc__push(xmlc__st *st, tnode *n, const xmlChar *uri)
{
    uint32_t d = st->depth++;
    if (d == 0) {
        st->m->root = n;
        st->m->line = n->line;
        st->m->meta.message_type = n->name;
        if (uri && !(st->m->meta.ns = arena_strdup(st->a, (const char *)uri)))
            return ERR_NOMEM;
    } else {
        st->has_elems[d - 1] = 1;
        tree_add(st->open[d - 1], n);
    }
    st->open[d] = n;
    st->text_at[d] = st->text.len;
    st->has_elems[d] = 0;
    return 0;
}

static void xmlc__on_start(void *ud, const xmlChar *local,
                           const xmlChar *prefix, const xmlChar *uri, int nns,
                           const xmlChar **ns, int nattr, int ndef,
                           const xmlChar **attrs)
{
    xmlc__st *st = ud;
    (void)prefix, (void)nns, (void)ns, (void)ndef;
    if (st->failed)
        return;
    if (st->depth >= XMLC_MAX_DEPTH) {
        xmlc__fail(st, ERR_TOOBIG, "elements nested too deep");
        return;
    }
    tnode *n = xmlc__node(st->a, "", local);
    if (n)
        xmlc__pos(st->ctxt->input, st->line0, n);
    if (!n || xmlc__attrs(st, n, nattr, attrs) < 0 || xmlc__push(st, n, uri) < 0)
        xmlc__fail(st, ERR_NOMEM, "out of memory");
}

/* The root is closed: keep where the rest of the input starts (another
 * document may follow) and stop, as libxml2 would call that rest an error. */
static void xmlc__root_end(xmlc__st *st)
{
    xmlParserInputPtr in = st->ctxt->input;
    size_t left = (size_t)(in->end - in->cur);
    st->rest_line = in->line > 0 ? (uint32_t)in->line : 1;
    if (!in->buf || !in->buf->encoder) {
        long used = xmlByteConsumed(st->ctxt);
        st->rest_in = used >= 0 && (size_t)used <= st->data_len ? st->data + used : NULL;
        left = st->rest_in ? st->data_len - (size_t)used : 0;
    } else if (!in->buf->raw || xmlBufUse(in->buf->raw) == 0) {
        /* decoded text is all that is left of it: copy once, go on in UTF-8 */
        if ((st->rest_own = malloc(left + 1)) != NULL)
            memcpy(st->rest_own, in->cur, left);
        else
            st->nomem = st->failed = 1;
    } else {
        st->rest_lost = 1;
    }
    st->rest_len = left;
    xmlStopParser(st->ctxt);
}

static void xmlc__on_end(void *ud, const xmlChar *local, const xmlChar *prefix,
                         const xmlChar *uri)
{
    xmlc__st *st = ud;
    (void)local, (void)prefix, (void)uri;
    if (st->failed || st->depth == 0)
        return;
    uint32_t d = --st->depth;
    size_t len = st->text.len - st->text_at[d];
    const char *s = len ? st->text.p + st->text_at[d] : "";
    while (len && xmlc__is_ws((unsigned char)*s))
        s++, len--;
    while (len && xmlc__is_ws((unsigned char)s[len - 1]))
        len--;
    tnode *n = st->open[d];
    if (len || !st->has_elems[d]) {
        n->value = arena_strndup(st->a, s, len);
        n->vlen = (uint32_t)len;
        if (!n->value)
            xmlc__fail(st, ERR_NOMEM, "out of memory");
    }
    st->text.len = st->text_at[d];
    if (d == 0 && !st->failed)
        xmlc__root_end(st);
}

static void xmlc__on_text(void *ud, const xmlChar *s, int len)
{
    xmlc__st *st = ud;
    if (st->failed || st->depth == 0 || len <= 0)
        return;
    /* indentation before an element's first text is trimmed anyway: the
     * common case in pretty-printed input costs no copy */
    if (st->text.len == st->text_at[st->depth - 1]) {
        int i = 0;
        while (i < len && xmlc__is_ws(s[i]))
            i++;
        if (i == len)
            return;
    }
    int rc = buf_add(&st->text, s, (size_t)len);
    if (rc < 0)
        xmlc__fail(st, rc, "element text too large");
}

/* Billion laughs and XXE both need an entity declaration: refusing the
 * first one means no entity ever exists to be expanded or fetched. */
static void xmlc__on_entity(void *ud, const xmlChar *name, int type,
                            const xmlChar *pub, const xmlChar *sys,
                            xmlChar *content)
{
    xmlc__st *st = ud;
    (void)type, (void)pub, (void)sys, (void)content;
    char msg[160];
    snprintf(msg, sizeof msg, "DOCTYPE declares entity '%.64s': refused",
             (const char *)name);
    xmlc__fail(st, ERR_UNSUPPORTED, msg);
}

static int xmlc__err_code(const xmlError *err)
{
    switch (err->code) {
    case XML_ERR_UNKNOWN_ENCODING:
    case XML_ERR_UNSUPPORTED_ENCODING:
    case XML_ERR_INVALID_ENCODING:
        return ERR_CHARSET;
    default:
        return err->domain == XML_FROM_I18N ? ERR_CHARSET : ERR_SYNTAX;
    }
}

static void xmlc__on_error(void *ud, xmlErrorPtr err)
{
    xmlc__st *st = ud;
    if (!st || !err || err->level < XML_ERR_ERROR)
        return; /* warnings say nothing about the message's validity */
    st->failed = 1;
    const char *msg = err->message ? err->message : "malformed XML";
    size_t n = strlen(msg);
    while (n && xmlc__is_ws((unsigned char)msg[n - 1]))
        n--;
    codec_diag_add(st->b, st->m, st->a, xmlc__err_code(err),
                   err->line > 0 ? st->line0 + (uint32_t)err->line : 0,
                   err->int2 > 0 ? (uint32_t)err->int2 : 0, "%.*s", (int)n, msg);
}

/* No getEntity, externalSubset or reference handler on purpose (see
 * xmlc__on_entity); comments and processing instructions are dropped. */
static const xmlSAXHandler xmlc__sax = {
    .initialized = XML_SAX2_MAGIC,
    .startElementNs = xmlc__on_start,
    .endElementNs = xmlc__on_end,
    .characters = xmlc__on_text,
    .cdataBlock = xmlc__on_text,
    .entityDecl = xmlc__on_entity,
    .serror = xmlc__on_error,
};

static const char *xmlc__syntax(xmlParserCtxtPtr c, const char *charset,
                                arena_t *a)
{
    const char *s = charset;
    if (!s && c->input && c->input->encoding)
        s = (const char *)c->input->encoding;
    if (!s && c->encoding)
        s = (const char *)c->encoding;
    return s ? arena_strdup(a, s) : "UTF-8";
}

/* One parser context per thread, reused: creating one per document costs
 * about a sixth of a small document's parse. Its name dictionary grows
 * with every distinct name, so it is replaced past XMLC_DICT_MAX names and
 * after any failed parse; the tss destructor frees it when a thread ends. */
static tss_t xmlc__tss;
static once_flag xmlc__once = ONCE_FLAG_INIT;
/* atomic as well: sanitizers do not see glibc's call_once order things */
static atomic_int xmlc__tss_ok;

static void xmlc__ctxt_free(void *c)
{
    xmlFreeParserCtxt(c);
}

static void xmlc__tss_init(void)
{
    xmlInitParser();
    atomic_store_explicit(&xmlc__tss_ok,
                          tss_create(&xmlc__tss, xmlc__ctxt_free) == thrd_success,
                          memory_order_release);
}

/* The caller owns the result until xmlc__ctxt_put. */
static xmlParserCtxtPtr xmlc__ctxt_get(void)
{
    call_once(&xmlc__once, xmlc__tss_init);
    int ok = atomic_load_explicit(&xmlc__tss_ok, memory_order_acquire);
    xmlParserCtxtPtr c = ok ? tss_get(xmlc__tss) : NULL;
    if (!c)
        return xmlNewParserCtxt();
    tss_set(xmlc__tss, NULL);
    return c;
}

static void xmlc__ctxt_put(xmlParserCtxtPtr c, int healthy)
{
    if (c->myDoc) /* libxml2's "expat compatibility" stub for a DOCTYPE */
        xmlFreeDoc(c->myDoc);
    c->myDoc = NULL;
    if (healthy && atomic_load_explicit(&xmlc__tss_ok, memory_order_acquire) &&
        xmlDictSize(c->dict) < XMLC_DICT_MAX) {
        xmlCtxtReset(c); /* drops the input copy now, not at next use */
        if (tss_set(xmlc__tss, c) == thrd_success)
            return;
    }
    xmlFreeParserCtxt(c);
}

/* Our SAX handler, options and the input (copied by libxml2) onto c.
 * charset overrides what the document declares; so does utf8 (a rest of
 * the input that libxml2 already decoded for us). */
static int xmlc__input(xmlParserCtxtPtr c, const char *data, size_t len,
                       const char *charset, int utf8, err_t *e)
{
    memcpy(c->sax, &xmlc__sax, sizeof xmlc__sax);
    c->options = 0; /* xmlCtxtUseOptions only adds bits: clear the last parse's */
    xmlCtxtUseOptions(c, XML_PARSE_NONET |
                             (charset || utf8 ? XML_PARSE_IGNORE_ENC : 0));
    xmlParserInputBufferPtr ib =
        xmlParserInputBufferCreateMem(data, (int)len, XML_CHAR_ENCODING_NONE);
    xmlParserInputPtr in = ib ? xmlNewIOInputStream(c, ib, XML_CHAR_ENCODING_NONE) : NULL;
    if (!in) {
        if (ib)
            xmlFreeParserInputBuffer(ib);
        return err_set(e, ERR_NOMEM, "xml: cannot create parser input");
    }
    inputPush(c, in);
    if (charset && !utf8) {
        xmlCharEncodingHandlerPtr h = xmlFindCharEncodingHandler(charset);
        if (!h || xmlSwitchToEncoding(c, h) < 0)
            return err_set(e, ERR_CHARSET, "xml: unknown charset '%s'", charset);
    }
    return 0;
}

/* Errors that reach libxml2's thread-global handler (encoding conversion)
 * are caught too, and the previous handler is put back. */
static int xmlc__run(xmlc__st *st, size_t len, const char *charset, int utf8,
                     err_t *e)
{
    xmlParserCtxtPtr c = xmlc__ctxt_get();
    if (!c)
        return err_set(e, ERR_NOMEM, "xml: cannot create parser");
    int rc = xmlc__input(c, st->data, len, charset, utf8, e);
    if (rc == 0) {
        c->userData = st;
        st->ctxt = c;
        xmlStructuredErrorFunc old = xmlStructuredError;
        void *old_ctx = xmlStructuredErrorContext;
        xmlSetStructuredErrorFunc(st, xmlc__on_error);
        xmlParseDocument(c);
        xmlSetStructuredErrorFunc(old_ctx, old);
        st->failed |= !c->wellFormed;
        st->m->meta.syntax = xmlc__syntax(c, utf8 ? NULL : charset, st->a);
    }
    xmlc__ctxt_put(c, rc == 0 && !st->failed);
    return rc;
}

/* Whitespace, comments and processing instructions between documents (an
 * XML declaration opens the next one): their length, newlines counted. */
static size_t xmlc__skip_misc(const char *s, size_t n, uint32_t *lines)
{
    size_t i = 0;
    for (;;) {
        for (; i < n && xmlc__is_ws((unsigned char)s[i]); i++)
            *lines += s[i] == '\n';
        const char *close = NULL;
        if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0)
            close = "-->";
        else if (n - i >= 2 && memcmp(s + i, "<?", 2) == 0 &&
                 !(n - i >= 6 && memcmp(s + i, "<?xml", 5) == 0 &&
                   xmlc__is_ws((unsigned char)s[i + 5])))
            close = "?>";
        const char *end = close ? memmem(s + i + 2, n - i - 2, close, strlen(close)) : NULL;
        if (!end) /* nothing to skip, or unterminated: the parser will say */
            return i;
        for (size_t stop = (size_t)(end - s) + strlen(close); i < stop; i++)
            *lines += s[i] == '\n';
    }
}

/* Where the documents of one input stand between two of them. */
typedef struct xmlc__in {
    const char *p; /* the next document */
    size_t n;
    uint32_t line0;
    int utf8;    /* p is our decoded copy (own), not the caller's bytes */
    char *own;   /* malloc'd; freed by xmlc_parse */
    const char *syntax; /* what the copy was decoded from */
} xmlc__in;

/* Moves in past st's document to the next one; in->n = 0 when there is
 * none (the document was broken, or only comments follow it). */
static void xmlc__next(xmlc__in *in, const xmlc__st *st, codec_batch *out)
{
    if (st->rest_own) {
        free(in->own);
        in->own = st->rest_own;
        in->utf8 = 1;
        in->syntax = st->m->meta.syntax;
    }
    in->p = st->rest_own ? st->rest_own : st->rest_in;
    in->n = in->p && !st->failed ? st->rest_len : 0;
    if (st->rest_lost)
        codec_diag_add(out, NULL, st->a, ERR_UNSUPPORTED, st->m->line, 0,
                       "what follows this document could not be decoded");
    if (!in->n)
        return;
    in->line0 += st->rest_line - 1;
    size_t skip = xmlc__skip_misc(in->p, in->n, &in->line0);
    in->p += skip;
    in->n -= skip;
}

/* One document as one message, then on to the next. */
static int xmlc__doc(xmlc__in *in, const char *charset, arena_t *a,
                     codec_batch *out, err_t *e)
{
    codec_msg *m = codec_msg_add(out, a);
    if (!m)
        return err_set(e, out->nmsgs >= CODEC_MAX_MESSAGES ? ERR_TOOBIG : ERR_NOMEM,
                       "xml: no room for message %u", out->nmsgs + 1);
    m->line = in->line0 + 1;
    m->meta.format = "xml";
    xmlc__st st = {.a = a, .b = out, .m = m, .line0 = in->line0,
                   .data = in->p, .data_len = in->n};
    buf_init(&st.text, XMLC_TEXT_MAX);
    int rc = xmlc__run(&st, in->n, charset, in->utf8, e);
    buf_free(&st.text);
    if (in->utf8)
        m->meta.syntax = in->syntax;
    if (st.failed || rc < 0)
        m->root = NULL;
    xmlc__next(in, &st, out);
    if (rc == 0 && st.nomem) /* a diag may not have found room either */
        return err_set(e, ERR_NOMEM, "xml: out of memory in the arena");
    return rc;
}

int xmlc_parse(const char *data, size_t len, const codec_opts *o, arena_t *a,
               codec_batch *out, err_t *e)
{
    if (len > CODEC_MAX_INPUT)
        return err_set(e, ERR_TOOBIG, "xml: input of %zu bytes is over %u",
                       len, CODEC_MAX_INPUT);
    if (len == 0) {
        codec_msg *m = codec_msg_add(out, a);
        if (!m)
            return err_set(e, ERR_NOMEM, "xml: no room for a message");
        m->line = 1;
        m->meta.format = "xml";
        codec_diag_add(out, m, a, ERR_SYNTAX, 1, 1, "Document is empty");
        return 0;
    }
    xmlc__in in = {.p = data, .n = len};
    int rc = 0;
    while (rc == 0 && in.n > 0)
        rc = xmlc__doc(&in, o ? o->charset : NULL, a, out, e);
    free(in.own);
    return rc;
}

int xmlc_sniff(const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data, *end = p + len;
    if (len >= 4 && ((p[0] == 0xFF && p[1] == 0xFE && p[2] == '<' && !p[3]) ||
                     (p[0] == 0xFE && p[1] == 0xFF && !p[2] && p[3] == '<')))
        return 90; /* UTF-16 with BOM */
    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        p += 3;
    for (int i = 0; p < end && i < 1024 && xmlc__is_ws(*p); i++)
        p++;
    if (end - p < 2 || p[0] != '<')
        return 0;
    if (end - p >= 5 && memcmp(p, "<?xml", 5) == 0)
        return 90;
    unsigned c = p[1];
    if ((c | 0x20) - 'a' < 26 || c == '_' || c == ':' || c >= 0x80)
        return 90;
    return c == '!' ? 60 : 0; /* a comment or DOCTYPE first */
}

const codec_ops codec_xml_ops = {"xml", xmlc_sniff, xmlc_parse, xmlc_write};
