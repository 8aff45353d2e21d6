#include "charset.h"

#include <errno.h>
#include <iconv.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Output is staged through a stack chunk so a conversion costs one
 * buf_add per 16 KiB instead of one per character. */
#define CHARSET__CHUNK 16384

#define CHARSET__ONES 0x0101010101010101ull
#define CHARSET__HIGH 0x8080808080808080ull

static int charset__is(const char *name, const char *const *aliases)
{
    for (; *aliases; aliases++)
        if (strcasecmp(name, *aliases) == 0)
            return 1;
    return 0;
}

static const char *const charset__utf8_names[] = {"UTF-8", "UTF8", NULL};

/* Undo a failed append so callers see the buffer as it was. */
static int charset__rollback(buf_t *out, size_t len0, int rc)
{
    out->len = len0;
    if (out->p)
        out->p[len0] = '\0';
    return rc;
}

static uint64_t charset__load8(const char *s)
{
    uint64_t w;
    memcpy(&w, s, sizeof w);
    return w;
}

size_t charset_utf8_valid(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        /* Text is nearly all ASCII: skip it a word at a time. */
        while (i + 8 <= len && !(charset__load8(s + i) & CHARSET__HIGH))
            i += 8;
        if (i >= len)
            break;
        int n = charset_utf8_next(s + i, len - i, NULL);
        if (!n)
            return i;
        i += (size_t)n;
    }
    return len;
}

/* Bit 7 of each byte set where the byte is < 0x20 or >= 0x7F (SWAR). */
static uint64_t charset__nonprint(uint64_t w)
{
    uint64_t lt20 = (w - CHARSET__ONES * 0x20) & ~w;
    uint64_t ge7f = (w + CHARSET__ONES * 0x01) | w;
    return (lt20 | ge7f) & CHARSET__HIGH;
}

size_t charset_ascii_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        while (i + 8 <= len && !charset__nonprint(charset__load8(s + i)))
            i += 8;
        size_t stop = i + 8 < len ? i + 8 : len;
        for (; i < stop; i++) {
            unsigned c = u[i];
            if ((c < 0x20 || c > 0x7E) && c != '\r' && c != '\n')
                return i;
        }
    }
    return len;
}

/* Single-byte charsets (ISO 8859-x: EDIFACT UNOC..UNOL) convert through
 * a byte -> UTF-8 table built once with iconv and kept for the process,
 * so converting one segment does not cost an iconv_open. */
typedef struct charset__sb {
    char name[32];
    unsigned char utf8[256][4]; /* [0] = length, 0 = byte undefined */
} charset__sb;

#define CHARSET__SB_SLOTS 16
static _Atomic(charset__sb *) charset__sbs[CHARSET__SB_SLOTS];

static int charset__single_byte(const char *name)
{
    return strncasecmp(name, "ISO-8859-", 9) == 0 ||
           strncasecmp(name, "ISO8859-", 8) == 0 ||
           strncasecmp(name, "ISO_8859-", 9) == 0 ||
           strncasecmp(name, "LATIN", 5) == 0;
}

/* NULL when iconv does not know the name (or no memory). */
static charset__sb *charset__sb_build(const char *name)
{
    iconv_t cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1)
        return NULL;
    charset__sb *t = calloc(1, sizeof *t); /* owned by the cache */
    for (int b = 0; t && b < 256; b++) {
        char in = (char)b, *ip = &in, *op = (char *)t->utf8[b] + 1;
        size_t il = 1, ol = 3;
        iconv(cd, NULL, NULL, NULL, NULL);
        if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && il == 0)
            t->utf8[b][0] = (unsigned char)(3 - ol);
    }
    iconv_close(cd);
    if (t)
        snprintf(t->name, sizeof t->name, "%s", name);
    return t;
}

/* The table for name from the cache, built and published on first use;
 * racing builders are harmless (the loser frees its copy). */
static const charset__sb *charset__sb_get(const char *name)
{
    if (strlen(name) >= sizeof((charset__sb *)0)->name)
        return NULL;
    for (int i = 0; i < CHARSET__SB_SLOTS; i++) {
        charset__sb *t = atomic_load(&charset__sbs[i]);
        if (!t) {
            charset__sb *nt = charset__sb_build(name), *none = NULL;
            if (!nt)
                return NULL;
            if (atomic_compare_exchange_strong(&charset__sbs[i], &none, nt))
                return nt;
            free(nt);
            t = none;
        }
        if (strcasecmp(t->name, name) == 0)
            return t;
    }
    return NULL; /* cache full: the caller falls back to iconv */
}

static int charset__sb_conv(const charset__sb *t, const char *from,
                            const char *in, size_t len, buf_t *out, err_t *e)
{
    unsigned char chunk[CHARSET__CHUNK];
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        const unsigned char *u = t->utf8[(unsigned char)in[i]];
        if (!u[0])
            return err_set(e, ERR_CHARSET, "byte %zu: invalid %s sequence", i,
                           from);
        if (k + 3 > sizeof chunk) {
            int rc = buf_add(out, chunk, k);
            if (rc)
                return err_set(e, rc, "converting from %s: output too "
                               "large", from);
            k = 0;
        }
        memcpy(chunk + k, u + 1, 3);
        k += u[0];
    }
    int rc = buf_add(out, chunk, k);
    return rc ? err_set(e, rc, "converting from %s: output too large", from)
              : 0;
}

/* Code point of the UTF-8 sequence at s (already validated). */
static unsigned long charset__cp(const unsigned char *s)
{
    if (s[0] < 0x80)
        return s[0];
    if (s[0] < 0xE0)
        return ((s[0] & 0x1Ful) << 6) | (s[1] & 0x3F);
    if (s[0] < 0xF0)
        return ((s[0] & 0x0Ful) << 12) | ((s[1] & 0x3Ful) << 6) |
               (s[2] & 0x3F);
    return ((s[0] & 0x07ul) << 18) | ((s[1] & 0x3Ful) << 12) |
           ((s[2] & 0x3Ful) << 6) | (s[3] & 0x3F);
}

typedef struct charset__job {
    const char *from, *to; /* iconv names */
    int to_legacy;         /* direction, for the error text */
} charset__job;

static int charset__iconv_fail(const charset__job *j, const char *in,
                               size_t off, int err, err_t *e)
{
    if (err == EINVAL)
        return err_set(e, ERR_CHARSET, "byte %zu: truncated %s sequence", off,
                       j->from);
    if (!j->to_legacy)
        return err_set(e, ERR_CHARSET, "byte %zu: invalid %s sequence", off,
                       j->from);
    return err_set(e, ERR_CHARSET,
                   "byte %zu: character U+%04lX has no equivalent in %s", off,
                   charset__cp((const unsigned char *)in + off), j->to);
}

/* Run iconv over the whole input, flushing the chunk whenever it fills. */
static int charset__run(iconv_t cd, const charset__job *j, const char *in,
                        size_t len, buf_t *out, err_t *e)
{
    char chunk[CHARSET__CHUNK];
    char *ip = (char *)in; /* iconv's prototype is not const-correct */
    size_t ileft = len;
    int flushing = 0;
    for (;;) {
        char *op = chunk;
        size_t oleft = sizeof chunk;
        size_t r = flushing ? iconv(cd, NULL, NULL, &op, &oleft)
                            : iconv(cd, &ip, &ileft, &op, &oleft);
        int err = r == (size_t)-1 ? errno : 0;
        int rc = buf_add(out, chunk, (size_t)(op - chunk));
        if (rc)
            return err_set(e, rc, "converting from %s: output too large",
                           j->from);
        if (err && err != E2BIG)
            return charset__iconv_fail(j, in, (size_t)(ip - in), err, e);
        if (!err && flushing)
            return 0;
        if (!err)
            flushing = 1;
    }
}

static int charset__iconv(const charset__job *j, const char *in, size_t len,
                          buf_t *out, err_t *e)
{
    iconv_t cd = iconv_open(j->to, j->from);
    if (cd == (iconv_t)-1)
        return err_set(e, ERR_UNSUPPORTED, "unknown charset '%s'",
                       j->to_legacy ? j->to : j->from);
    int rc = charset__run(cd, j, in, len, out, e);
    iconv_close(cd);
    return rc;
}

int charset_to_utf8(const char *from, const char *in, size_t len, buf_t *out,
                    err_t *e)
{
    if (!from || (!in && len))
        return err_set(e, ERR_USAGE, "charset_to_utf8: no charset or input");
    size_t len0 = out->len;
    int rc;
    if (charset__is(from, charset__utf8_names)) {
        size_t bad = charset_utf8_valid(in, len);
        if (bad < len)
            return err_set(e, ERR_CHARSET, "byte %zu: invalid UTF-8 sequence",
                           bad);
        rc = buf_add(out, in, len);
        if (rc)
            return err_set(e, rc, "converting from UTF-8: output too large");
        return 0;
    }
    const charset__sb *t =
        charset__single_byte(from) ? charset__sb_get(from) : NULL;
    if (t) {
        rc = charset__sb_conv(t, from, in, len, out, e);
    } else {
        charset__job j = {from, "UTF-8", 0};
        rc = charset__iconv(&j, in, len, out, e);
    }
    return rc ? charset__rollback(out, len0, rc) : 0;
}

int charset_from_utf8(const char *to, const char *in, size_t len, buf_t *out,
                      err_t *e)
{
    if (!to || (!in && len))
        return err_set(e, ERR_USAGE, "charset_from_utf8: no charset or input");
    size_t bad = charset_utf8_valid(in, len);
    if (bad < len)
        return err_set(e, ERR_CHARSET, "byte %zu: invalid UTF-8 sequence", bad);
    if (charset__is(to, charset__utf8_names)) {
        int rc = buf_add(out, in, len);
        return rc ? err_set(e, rc, "converting to UTF-8: output too large") : 0;
    }
    size_t len0 = out->len;
    charset__job j = {"UTF-8", to, 1};
    int rc = charset__iconv(&j, in, len, out, e);
    return rc ? charset__rollback(out, len0, rc) : 0;
}

/* ISO 9735 syntax levels. UNOX (ISO 2022 code extension) is deliberately
 * absent: it switches charsets mid-stream, which nothing here can check. */
static const struct {
    const char *id, *charset;
} charset__edifact[] = {
    {"UNOA", "ASCII"},       {"UNOB", "ASCII"},       {"UNOC", "ISO-8859-1"},
    {"UNOD", "ISO-8859-2"},  {"UNOE", "ISO-8859-5"},  {"UNOF", "ISO-8859-7"},
    {"UNOG", "ISO-8859-3"},  {"UNOH", "ISO-8859-4"},  {"UNOI", "ISO-8859-6"},
    {"UNOJ", "ISO-8859-8"},  {"UNOK", "ISO-8859-9"},  {"UNOL", "ISO-8859-15"},
    {"UNOW", "UTF-8"},       {"UNOY", "UTF-8"},
};

const char *charset_for_edifact(const char *syntax_id)
{
    if (!syntax_id)
        return NULL;
    for (size_t i = 0; i < sizeof charset__edifact / sizeof *charset__edifact;
         i++)
        if (strcmp(charset__edifact[i].id, syntax_id) == 0)
            return charset__edifact[i].charset;
    return NULL;
}
