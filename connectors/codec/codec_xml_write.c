/* codec_xml_write: syntax trees to XML documents, our own small
 * serializer (the rules are in codec_xml.h); the parser is codec_xml.c. */
#include "codec_xml.h"

#include <libxml/tree.h>
#include <string.h>

#include "charset.h"
#include "codec_stage.h"

typedef struct xmlc__w {
    codec_stage st;
    err_t *e;
    int pretty;
    int reported; /* e already says what went wrong */
} xmlc__w;

static int xmlc__flush(xmlc__w *w)
{
    return codec_stage_flush(&w->st);
}

static int xmlc__put(xmlc__w *w, const void *s, size_t n)
{
    return codec_stage_put(&w->st, s, n);
}

static int xmlc__puts(xmlc__w *w, const char *s)
{
    return xmlc__put(w, s, strlen(s));
}

static int xmlc__bad(xmlc__w *w, int code, const tnode *n, const char *why)
{
    w->reported = 1;
    return err_set(w->e, code, "xml: node '%.80s' (line %u): %s", n->name,
                   n->line, why);
}

/* Entity for byte c in text (attr 0) or an attribute value (attr 1), ""
 * when it is copied as is, NULL when XML 1.0 cannot carry it. CR and, in
 * attributes, TAB/LF are written as references so parsing keeps them. */
static const char *xmlc__entity(unsigned char c, int attr)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return attr ? "&quot;" : "";
    case '\r': return "&#13;";
    case '\n': return attr ? "&#10;" : "";
    case '\t': return attr ? "&#9;" : "";
    default: return c < 0x20 ? NULL : "";
    }
}

/* Bytes copied as they are: the run the escaper skips over in one go. */
static int xmlc__plain(unsigned char c, int attr)
{
    if (c < 0x20)
        return !attr && (c == '\n' || c == '\t');
    return c != '&' && c != '<' && c != '>' && !(attr && c == '"');
}

static int xmlc__esc(xmlc__w *w, const tnode *n, const char *s, int attr)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + strlen(s);
    for (int rc = 0;;) {
        const unsigned char *run = p;
        int k = 1;
        for (; p < end && (*p >= 0x80 || xmlc__plain(*p, attr)); p += k) {
            uint32_t c = 0;
            k = charset_utf8_next((const char *)p, (size_t)(end - p), &c);
            if (!k || c == 0xFFFE || c == 0xFFFF)
                return xmlc__bad(w, ERR_INVALID, n, "value is not valid UTF-8 XML text");
        }
        if ((rc = xmlc__put(w, run, (size_t)(p - run))) < 0 || p == end)
            return rc;
        const char *ent = xmlc__entity(*p++, attr);
        if (!ent)
            return xmlc__bad(w, ERR_INVALID, n, "control character not allowed in XML");
        if ((rc = xmlc__puts(w, ent)) < 0)
            return rc;
    }
}

static int xmlc__alpha(unsigned c)
{
    return (c | 0x20u) - 'a' < 26u || c == '_';
}

/* NCName check, with the plain ASCII names met nearly always done here. */
static int xmlc__ncname(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    if (xmlc__alpha(*p)) {
        for (p++; xmlc__alpha(*p) || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.';)
            p++;
        if (!*p)
            return 1;
    }
    return xmlValidateNCName((const xmlChar *)s, 0) == 0;
}

static const char *xmlc__attr_name(const tnode *t)
{
    return t->name[0] == '@' ? t->name + 1 : t->name;
}

/* First attribute child of el named name (without its '@'), up to stop. */
static const tnode *xmlc__attr_find(const tnode *el, const char *name,
                                    const tnode *stop)
{
    for (const tnode *k = el->kids; k && k != stop; k = k->next)
        if ((k->flags & TN_ATTR) && strcmp(xmlc__attr_name(k), name) == 0)
            return k;
    return NULL;
}

static int xmlc__attr(xmlc__w *w, const tnode *t)
{
    const char *name = xmlc__attr_name(t);
    if (!xmlc__ncname(name) && strcmp(name, "xmlns") != 0)
        return xmlc__bad(w, ERR_INVALID, t, "not an XML attribute name");
    int rc = xmlc__put(w, " ", 1);
    rc = rc ? rc : xmlc__puts(w, name);
    rc = rc ? rc : xmlc__put(w, "=\"", 2);
    rc = rc ? rc : xmlc__esc(w, t, t->value ? t->value : "", 1);
    return rc ? rc : xmlc__put(w, "\"", 1);
}

/* Start tag up to (not including) its '>'; ns is declared when given. */
static int xmlc__open(xmlc__w *w, const tnode *n, const char *ns)
{
    if (!xmlc__ncname(n->name))
        return xmlc__bad(w, ERR_INVALID, n, "not an XML element name");
    int rc = xmlc__put(w, "<", 1);
    rc = rc ? rc : xmlc__puts(w, n->name);
    if (!rc && ns) {
        tnode xmlns = {.name = "@xmlns", .value = ns, .flags = TN_ATTR};
        rc = xmlc__attr(w, &xmlns);
    }
    for (const tnode *k = n->kids; k && !rc; k = k->next) {
        if (!(k->flags & TN_ATTR))
            continue;
        if (xmlc__attr_find(n, xmlc__attr_name(k), k))
            return xmlc__bad(w, ERR_INVALID, k, "attribute repeated on one element");
        rc = xmlc__attr(w, k);
    }
    return rc;
}

static int xmlc__indent(xmlc__w *w, int depth)
{
    static const char sp[] = "                                ";
    int rc = 0;
    for (size_t n = w->pretty ? 2 * (size_t)depth : 0; n && !rc;) {
        size_t k = n < sizeof sp - 1 ? n : sizeof sp - 1;
        rc = xmlc__put(w, sp, k);
        n -= k;
    }
    return rc;
}

static int xmlc__el(xmlc__w *w, const tnode *n, int depth, const char *ns)
{
    if (depth >= XMLC_MAX_DEPTH)
        return xmlc__bad(w, ERR_TOOBIG, n, "nested too deep for XML");
    int elems = 0;
    for (const tnode *k = n->kids; k && !elems; k = k->next)
        elems = !(k->flags & TN_ATTR);
    const char *nl = w->pretty ? "\n" : "";
    int rc = xmlc__indent(w, depth);
    rc = rc ? rc : xmlc__open(w, n, ns);
    if (!rc && !elems && !(n->value && n->value[0])) {
        rc = xmlc__put(w, "/>", 2);
        return rc ? rc : xmlc__puts(w, nl);
    }
    rc = rc ? rc : xmlc__put(w, ">", 1);
    rc = rc ? rc : xmlc__esc(w, n, n->value ? n->value : "", 0);
    if (!rc && elems) {
        rc = xmlc__puts(w, nl);
        for (const tnode *k = n->kids; k && !rc; k = k->next)
            if (!(k->flags & TN_ATTR))
                rc = xmlc__el(w, k, depth + 1, NULL);
        rc = rc ? rc : xmlc__indent(w, depth);
    }
    rc = rc ? rc : xmlc__put(w, "</", 2);
    rc = rc ? rc : xmlc__puts(w, n->name);
    rc = rc ? rc : xmlc__put(w, ">", 1);
    return rc ? rc : xmlc__puts(w, nl);
}

/* One document: declaration, then the root with its namespace. */
static int xmlc__write1(xmlc__w *w, const codec_msg *m)
{
    if (!m || !m->root) {
        w->reported = 1;
        return err_set(w->e, ERR_INVALID, "xml: message has no tree to write");
    }
    const char *ns = xmlc__attr_find(m->root, "xmlns", NULL) ? NULL : m->meta.ns;
    int rc = xmlc__puts(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    rc = rc ? rc : xmlc__el(w, m->root, 0, ns);
    return rc || w->pretty ? rc : xmlc__put(w, "\n", 1);
}

int xmlc_write(const codec_msg *const *msgs, size_t n, const codec_opts *o,
               buf_t *out, err_t *e)
{
    xmlc__w w = {.st = {.out = out}, .e = e, .pretty = o && o->pretty};
    size_t mark = out->len;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = xmlc__write1(&w, msgs[i]);
    rc = rc ? rc : xmlc__flush(&w);
    if (rc < 0) {
        out->len = mark; /* no half document on failure */
        if (out->p)
            out->p[mark] = '\0';
        if (!w.reported)
            err_set(e, rc, "xml: writing: %s", err_text(rc));
    }
    return rc;
}
