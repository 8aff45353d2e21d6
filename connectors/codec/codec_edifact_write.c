/* The EDIFACT writer: trees of body segments back into one interchange.
 * Kept apart from the parser, which is the hot path; this one favours
 * plain code over speed. */
#include "codec_edifact.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "charset.h"

typedef struct edi__w {
    buf_t *out;
    edi_seps s;
    int pretty;
    err_t *e;
} edi__w;

static int edi__w_fail(edi__w *w, int rc)
{
    if (rc != ERR_TOOBIG)
        return err_set(w->e, rc, "edifact: out of memory writing");
    return err_set(w->e, rc, "edifact: output over %zu bytes", w->out->max);
}

static int edi__w_special(const edi_seps *s, char c)
{
    return c == s->comp || c == s->elem || c == s->seg ||
           (s->rel != ' ' && c == s->rel) || (s->rep != ' ' && c == s->rep);
}

/* Appends v with every service character released. Limits are the
 * parser's, so whatever is written can be read back. */
static int edi__w_val(edi__w *w, const char *v, size_t n)
{
    const char *run = v, *end = v + n;
    size_t raw = n;
    for (const char *c = v; c < end && raw <= EDI_MAX_VALUE; c++)
        raw += edi__w_special(&w->s, *c);
    if (raw > EDI_MAX_VALUE)
        return err_set(w->e, ERR_TOOBIG, "value of %zu bytes is over the "
                       "limit of %u once escaped", n, EDI_MAX_VALUE);
    for (; v < end; v++) {
        if (!edi__w_special(&w->s, *v))
            continue;
        if (w->s.rel == ' ')
            return err_set(w->e, ERR_INVALID, "value holds the service "
                           "character '%c' and no release character is set",
                           *v);
        int rc = buf_add(w->out, run, (size_t)(v - run));
        if (rc || (rc = buf_addc(w->out, w->s.rel)))
            return edi__w_fail(w, rc);
        run = v;
    }
    int rc = buf_add(w->out, run, (size_t)(end - run));
    return rc ? edi__w_fail(w, rc) : 0;
}

static int edi__w_sep(edi__w *w, char c)
{
    int rc = buf_addc(w->out, c);
    return rc ? edi__w_fail(w, rc) : 0;
}

static int edi__w_end(edi__w *w)
{
    int rc = edi__w_sep(w, w->s.seg);
    return !rc && w->pretty ? edi__w_sep(w, '\n') : rc;
}

static const char *edi__w_text(const tnode *n)
{
    return n && n->value ? n->value : "";
}

/* Components of an element written, trailing empty ones dropped; an
 * element with no children writes its own value as its one component. */
static int edi__w_elem(edi__w *w, const tnode *el)
{
    if (!el->kids)
        return edi__w_val(w, edi__w_text(el), strlen(edi__w_text(el)));
    uint32_t last = 0, i = 0;
    for (const tnode *c = el->kids; c; c = c->next, i++)
        if (*edi__w_text(c))
            last = i + 1;
    int rc = 0;
    i = 0;
    for (const tnode *c = el->kids; c && i < last && !rc; c = c->next, i++) {
        if (i)
            rc = edi__w_sep(w, w->s.comp);
        if (!rc)
            rc = edi__w_val(w, edi__w_text(c), strlen(edi__w_text(c)));
    }
    return rc;
}

static int edi__w_empty(const tnode *el)
{
    if (!el->kids)
        return !*edi__w_text(el);
    for (const tnode *c = el->kids; c; c = c->next)
        if (*edi__w_text(c))
            return 0;
    return 1;
}

static int edi__w_tag_ok(const char *t)
{
    for (int i = 0; i < 3; i++)
        if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= '0' && t[i] <= '9')))
            return 0;
    if (t[3])
        return 0;
    /* envelope segments come from meta, never from the tree */
    return !(t[0] == 'U' && t[1] == 'N' && strchr("ABGHTEZ", t[2]));
}

static int edi__w_seg(edi__w *w, const tnode *seg, uint32_t no)
{
    if (!edi__w_tag_ok(seg->name))
        return err_set(w->e, ERR_INVALID, "segment %u (%.8s): not a body "
                       "segment tag (three upper-case letters or digits, "
                       "not a service segment)", no, seg->name);
    uint32_t last = 0, i = 0, ncomp = 0;
    for (const tnode *el = seg->kids; el; el = el->next, i++) {
        ncomp += el->nkids ? el->nkids : 1;
        if (!edi__w_empty(el))
            last = i + 1;
    }
    if (last > EDI_MAX_ELEMENTS || ncomp > EDI_MAX_COMPONENTS)
        return err_set(w->e, ERR_TOOBIG, "segment %u (%s): more than %u "
                       "elements or %u components", no, seg->name,
                       EDI_MAX_ELEMENTS, EDI_MAX_COMPONENTS);
    int rc = buf_adds(w->out, seg->name);
    if (rc)
        return edi__w_fail(w, rc);
    i = 0;
    for (const tnode *el = seg->kids; el && i < last && !rc;
         el = el->next, i++) {
        rc = edi__w_sep(w, w->s.elem);
        if (!rc)
            rc = edi__w_elem(w, el);
    }
    return rc ? rc : edi__w_end(w);
}

/* One envelope element: up to five components, NULL meaning empty. A
 * component whose bit is set in cut ends at its first ':' ("D:04A" gives
 * 0052 "D"; edi__w_rest gives the "04A" that follows). */
typedef struct edi__w_el {
    const char *c[5];
    unsigned cut;
} edi__w_el;

static size_t edi__w_clen(const edi__w_el *el, int j)
{
    const char *c = el->c[j];
    return !c ? 0 : el->cut >> j & 1 ? strcspn(c, ":") : strlen(c);
}

static const char *edi__w_rest(const char *v)
{
    const char *c = v ? strchr(v, ':') : NULL;
    return c ? c + 1 : NULL;
}

static int edi__w_el_len(const edi__w_el *el)
{
    int n = 5;
    while (n > 0 && edi__w_clen(el, n - 1) == 0)
        n--;
    return n;
}

/* Writes "TAG+a:b+c'" with trailing empty elements and components left
 * out, as the syntax asks. */
static int edi__w_service(edi__w *w, const char *tag, const edi__w_el *v,
                          int n)
{
    while (n > 0 && edi__w_el_len(&v[n - 1]) == 0)
        n--;
    int rc = buf_adds(w->out, tag);
    if (rc)
        return edi__w_fail(w, rc);
    for (int i = 0; i < n && !rc; i++) {
        rc = edi__w_sep(w, w->s.elem);
        for (int j = 0, nc = edi__w_el_len(&v[i]); j < nc && !rc; j++) {
            rc = j ? edi__w_sep(w, w->s.comp) : 0;
            if (!rc && v[i].c[j])
                rc = edi__w_val(w, v[i].c[j], edi__w_clen(&v[i], j));
        }
    }
    return rc ? rc : edi__w_end(w);
}

/* UNB date and time from meta.prepared ("2024-03-05T14:30"), else now. */
static void edi__w_date(const char *prep, int v4, char *date, char *tim)
{
    char now[32];
    if (!prep) {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M", &tm);
        prep = now;
    }
    size_t n = strlen(prep);
    int century = n >= 4 && !(prep[0] == '2' && prep[1] == '0');
    int full = v4 || century;
    if (n >= 10)
        snprintf(date, 9, "%.*s%.2s%.2s", full ? 4 : 2, prep + (full ? 0 : 2),
                 prep + 5, prep + 8);
    else
        date[0] = '\0';
    tim[0] = '\0';
    /* seconds only when they say something: 0019 is HHMM in syntax 3 */
    int secs = n >= 19 && prep[16] == ':' && memcmp(prep + 17, "00", 2) != 0 &&
               strspn(prep + 17, "0123456789") >= 2;
    if (n >= 16 && prep[10] == 'T')
        snprintf(tim, 7, "%.2s%.2s%.2s", prep + 11, prep + 14,
                 secs ? prep + 17 : "");
}

static int edi__w_prepared_ok(const char *p)
{
    static const char shape[] = "dddd-dd-dd";
    size_t n = p ? strlen(p) : 0;
    if (!p)
        return 1;
    if (n < 10)
        return 0;
    for (size_t i = 0; i < 10; i++)
        if (shape[i] == 'd' ? (p[i] < '0' || p[i] > '9') : p[i] != shape[i])
            return 0;
    if (n == 10)
        return 1;
    return n >= 16 && p[10] == 'T' && p[13] == ':' &&
           strspn(p + 11, "0123456789") == 2 &&
           strspn(p + 14, "0123456789") == 2;
}

static int edi__w_unb(edi__w *w, const codec_meta *m, const char *ref)
{
    const char *syntax = m->syntax ? m->syntax : "UNOY:4";
    const char *ver = edi__w_rest(syntax);
    if (!edi__w_prepared_ok(m->prepared))
        return err_set(w->e, ERR_INVALID, "prepared '%.40s' is not "
                       "YYYY-MM-DD[THH:MM]", m->prepared);
    char date[16], tim[16];
    edi__w_date(m->prepared, ver && ver[0] >= '4', date, tim);
    const edi__w_el v[] = {{{syntax, ver}, 1}, {{m->sender}, 0},
                           {{m->recipient}, 0}, {{date, tim}, 0}, {{ref}, 0}};
    return edi__w_service(w, "UNB", v, 5);
}

static int edi__w_msg(edi__w *w, const codec_msg *m, size_t idx)
{
    if (!m || !m->root)
        return err_set(w->e, ERR_INVALID, "message %zu has no tree", idx + 1);
    const codec_meta *mm = &m->meta;
    const char *type = mm->message_type ? mm->message_type : m->root->name;
    if (!type || !*type)
        return err_set(w->e, ERR_REQUIRED, "message %zu: no message type",
                       idx + 1);
    char gen[24], cnt[16];
    snprintf(gen, sizeof gen, "%zu", idx + 1);
    const char *ref = mm->message_ref ? mm->message_ref : gen;
    const edi__w_el unh[] = {{{ref}, 0},
                             {{type, mm->version, edi__w_rest(mm->version),
                               mm->agency, mm->association}, 2}};
    int rc = edi__w_service(w, "UNH", unh, 2);
    uint32_t no = 1;
    for (const tnode *s = m->root->kids; s && !rc; s = s->next)
        rc = edi__w_seg(w, s, ++no);
    snprintf(cnt, sizeof cnt, "%u", no + 1);
    const edi__w_el unt[] = {{{cnt}, 0}, {{ref}, 0}};
    return rc ? rc : edi__w_service(w, "UNT", unt, 2);
}

/* A reference unique enough between interchanges of one process. */
static void edi__w_ref(char *ref, size_t n)
{
    static atomic_uint seq;
    unsigned k = atomic_fetch_add(&seq, 1);
    snprintf(ref, n, "%010lld%04u", (long long)time(NULL) % 10000000000LL,
             k % 10000);
}

static int edi__w_setup(edi__w *w, const codec_opts *o)
{
    if (!o || !o->una[0])
        return edi_seps_from_una(&w->s, EDI_UNA_DEFAULT, w->e);
    if (strnlen(o->una, sizeof o->una) != 6)
        return err_set(w->e, ERR_CONFIG, "una '%.7s' is not six characters",
                       o->una);
    int rc = edi_seps_from_una(&w->s, o->una, w->e);
    if (rc)
        return err_wrap(w->e, "una");
    rc = buf_add(w->out, "UNA", 3) || buf_add(w->out, o->una, 6) ||
         (w->pretty && buf_addc(w->out, '\n'));
    return rc ? edi__w_fail(w, ERR_TOOBIG) : 0;
}

static int edi__w_body(edi__w *w, const codec_msg *const *msgs, size_t n,
                       const codec_opts *o)
{
    const codec_meta *m0 = &msgs[0]->meta;
    char ref[24], cnt[24];
    edi__w_ref(ref, sizeof ref);
    const char *iref = m0->interchange_ref ? m0->interchange_ref : ref;
    int rc = edi__w_setup(w, o);
    if (!rc)
        rc = edi__w_unb(w, m0, iref);
    for (size_t i = 0; i < n && !rc; i++)
        rc = edi__w_msg(w, msgs[i], i);
    snprintf(cnt, sizeof cnt, "%zu", n);
    const edi__w_el unz[] = {{{cnt}, 0}, {{iref}, 0}};
    return rc ? rc : edi__w_service(w, "UNZ", unz, 2);
}

/* The text was built in UTF-8; a legacy level or o->charset re-encodes
 * it in place (UNOA/UNOB become a check that it is ASCII). */
static int edi__w_recode(edi__w *w, const codec_meta *m0,
                         const codec_opts *o, size_t len0)
{
    char id[8] = "UNOY";
    if (m0->syntax)
        snprintf(id, sizeof id, "%.*s", (int)strcspn(m0->syntax, ":"),
                 m0->syntax);
    const char *cs = o && o->charset ? o->charset : charset_for_edifact(id);
    if (!cs)
        return err_set(w->e, ERR_UNSUPPORTED, "unknown syntax identifier "
                       "'%s'", id);
    const char *text = w->out->p + len0;
    size_t n = w->out->len - len0;
    if (strcmp(cs, "UTF-8") == 0) {
        size_t bad = charset_utf8_valid(text, n);
        return bad == n ? 0 : err_set(w->e, ERR_CHARSET, "byte %zu of the "
                                      "output is not UTF-8", bad);
    }
    buf_t t; /* the re-encoded copy, freed here */
    buf_init(&t, w->out->max);
    int rc = charset_from_utf8(cs, text, n, &t, w->e);
    if (!rc) {
        w->out->len = len0;
        rc = buf_add(w->out, t.p ? t.p : "", t.len);
        if (rc)
            rc = edi__w_fail(w, rc);
    }
    buf_free(&t);
    return rc;
}

int edi_write(const codec_msg *const *msgs, size_t n, const codec_opts *o,
              buf_t *out, err_t *e)
{
    if (!out || (!msgs && n))
        return err_set(e, ERR_USAGE, "edi_write: missing argument");
    if (n == 0 || !msgs[0])
        return err_set(e, ERR_USAGE, "edi_write: no messages");
    edi__w w = {.out = out, .pretty = o && o->pretty, .e = e};
    size_t len0 = out->len;
    int rc = edi__w_body(&w, msgs, n, o);
    if (!rc)
        rc = edi__w_recode(&w, &msgs[0]->meta, o, len0);
    if (rc) {
        out->len = len0;
        if (out->p)
            out->p[len0] = '\0';
    }
    return rc;
}
