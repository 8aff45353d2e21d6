#include "xform.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Quoted input is cut here so one bad field cannot flood the message. */
#define XF_Q 64

/* ---- output writer: bounded, NUL-terminated, overflow remembered ---- */

typedef struct {
    char *p, *end;  /* end: the byte kept for the NUL */
    int over;
} xform__w;

static void xform__putc(xform__w *w, char c)
{
    if (w->p < w->end)
        *w->p++ = c;
    else
        w->over = 1;
}

static void xform__putn(xform__w *w, int v, int width)
{
    char d[8];
    for (int k = width - 1; k >= 0; k--, v /= 10)
        d[k] = (char)('0' + v % 10);
    for (int k = 0; k < width; k++)
        xform__putc(w, d[k]);
}

static void xform__sepn(xform__w *w, char sep, int v, int width)
{
    xform__putc(w, sep);
    xform__putn(w, v, width);
}

static int xform__wdone(xform__w *w)
{
    *w->p = '\0';
    return w->over ? ERR_TOOBIG : 0;
}

/* ---- calendar ---- */

static int xform__dim(int y, int m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30,
                                           31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

static int xform__valid(const xform_dt *t, err_t *e)
{
    if (t->year < 1)
        return err_set(e, ERR_INVALID, "year 0000 does not exist");
    if (t->mon < 1 || t->mon > 12)
        return err_set(e, ERR_INVALID, "month %02d does not exist", t->mon);
    if (t->day < 1 || t->day > xform__dim(t->year, t->mon))
        return err_set(e, ERR_INVALID, "day %02d does not exist in %04d-%02d",
                       t->day, t->year, t->mon);
    if (t->hour > 23 || t->min > 59 || t->sec > 59)
        return err_set(e, ERR_INVALID, "time %02d:%02d:%02d is out of range "
                       "(hour 0-23, minute and second 0-59)",
                       t->hour, t->min, t->sec);
    if (t->zone == XFORM_ZOFF && (t->zoff / 60 > 14 || t->zoff % 60 > 59))
        return err_set(e, ERR_INVALID, "UTC offset %02d:%02d is out of range",
                       t->zoff / 60, t->zoff % 60);
    return 0;
}

/* ---- patterns ---- */

enum { XF_LIT = -1, XF_Y4, XF_Y2, XF_MON, XF_DAY, XF_HOUR, XF_MIN, XF_SEC,
       XF_MS, XF_NFIELD };
enum { XF_EQUOTE = -1, XF_ELONE = -2 };
#define XF_BIT(f) (1u << (f))

static const struct { char tok[5]; int len; } xform__toks[XF_NFIELD] = {
    {"yyyy", 4}, {"yy", 2}, {"MM", 2}, {"dd", 2},
    {"HH", 2},   {"mm", 2}, {"ss", 2}, {"SSS", 3},
};

typedef struct {
    const char *p;
    int quoted;
} xform__pit;

static int xform__letter(char c)
{
    return c == 'y' || c == 'M' || c == 'd' || c == 'H' || c == 'm' ||
           c == 's' || c == 'S';
}

/* Field id of the token at p and its length, or XF_LIT. */
static int xform__ptok(const char *p, int *len)
{
    for (int f = 0; f < XF_NFIELD; f++) {
        const char *t = xform__toks[f].tok;
        int k = 0;
        while (k < xform__toks[f].len && p[k] == t[k])
            k++;
        if (k == xform__toks[f].len) {
            *len = k;
            return f;
        }
    }
    return XF_LIT;
}

/* Next pattern item: 1 with a field id or XF_LIT and *lit, 0 at the end,
 * or XF_EQUOTE / XF_ELONE (it->p left on the offending letter). A quote
 * toggling never meets another (a pair is a literal), so one look-ahead
 * suffices. */
static int xform__pnext(xform__pit *it, int *field, char *lit)
{
    const char *p = it->p;
    int len = 1;
    if (*p == '\'' && p[1] != '\'') {
        it->quoted = !it->quoted;
        p++;
    }
    if (*p == '\0')
        return it->quoted ? XF_EQUOTE : 0;
    *field = XF_LIT;
    *lit = *p;
    if (*p == '\'')
        len = 2;
    else if (!it->quoted && xform__letter(*p)) {
        *field = xform__ptok(p, &len);
        if (*field == XF_LIT) {
            it->p = p;
            return XF_ELONE;
        }
    }
    it->p = p + len;
    return 1;
}

static int xform__prec(const char *pat, unsigned seen, err_t *e)
{
    const unsigned date = XF_BIT(XF_Y4) | XF_BIT(XF_MON) | XF_BIT(XF_DAY);
    if ((seen & date) != date)
        return err_set(e, ERR_CONFIG, "date pattern '%s' needs a year "
                       "(yyyy or yy), a month (MM) and a day (dd)", pat);
    for (int f = XF_MIN; f <= XF_MS; f++)
        if ((seen & XF_BIT(f)) && !(seen & XF_BIT(f - 1)))
            return err_set(e, ERR_CONFIG, "date pattern '%s' has %s without %s",
                           pat, xform__toks[f].tok, xform__toks[f - 1].tok);
    if (seen & XF_BIT(XF_MS))
        return XFORM_MSEC;
    if (seen & XF_BIT(XF_SEC))
        return XFORM_SEC;
    return seen & XF_BIT(XF_HOUR) ? XFORM_MIN : XFORM_DATE;
}

/* Checks a pattern; returns its precision (enum xform_prec) or ERR_CONFIG. */
static int xform__scan(const char *pat, err_t *e)
{
    if (!pat)
        return err_set(e, ERR_CONFIG, "date pattern missing");
    xform__pit it = {pat, 0};
    unsigned seen = 0;
    int f, rc;
    char lit;
    while ((rc = xform__pnext(&it, &f, &lit)) > 0) {
        if (f == XF_LIT)
            continue;
        unsigned bit = XF_BIT(f == XF_Y2 ? XF_Y4 : f);
        if (seen & bit)
            return err_set(e, ERR_CONFIG, "date pattern '%s' has %s twice",
                           pat, xform__toks[f].tok);
        seen |= bit;
    }
    if (rc == XF_EQUOTE)
        return err_set(e, ERR_CONFIG, "date pattern '%s' has an unclosed quote",
                       pat);
    if (rc == XF_ELONE)
        return err_set(e, ERR_CONFIG, "date pattern '%s' has a lone '%c' at "
                       "character %d (fields: yyyy yy MM dd HH mm ss SSS; "
                       "quote literal letters)", pat, *it.p, (int)(it.p - pat) + 1);
    return xform__prec(pat, seen, e);
}

int xform_pattern_check(const char *pattern, err_t *e)
{
    int rc = xform__scan(pattern, e);
    return rc < 0 ? rc : 0;
}

/* Reads in[0..n) as a checked pattern into v[] (-1: field absent). */
static int xform__pread(const char *pat, const char *in, size_t n, int *v,
                        err_t *e)
{
    xform__pit it = {pat, 0};
    size_t i = 0;
    int f;
    char lit;
    while (xform__pnext(&it, &f, &lit) > 0) {
        int w = f == XF_LIT ? 1 : xform__toks[f].len, val = 0;
        for (int k = 0; k < w; k++, i++) {
            if (i >= n)
                return err_set(e, ERR_INVALID, "too short (%zu characters)", n);
            if (f == XF_LIT ? in[i] != lit : in[i] < '0' || in[i] > '9')
                return err_set(e, ERR_INVALID, "'%c' at character %zu, "
                               "expected %s", in[i], i + 1,
                               f == XF_LIT ? "a literal" : "a digit");
            val = val * 10 + in[i] - '0';
        }
        if (f != XF_LIT)
            v[f] = val;
    }
    if (i != n)
        return err_set(e, ERR_INVALID, "%zu characters, %zu expected", n, i);
    return 0;
}

/* Parses in[0..n) with a pattern already known good and of precision prec. */
static int xform__pat_dt(const char *pat, int prec, const char *in, size_t n,
                         xform_dt *dt, err_t *e)
{
    int v[XF_NFIELD];
    for (int f = 0; f < XF_NFIELD; f++)
        v[f] = -1;
    int rc = xform__pread(pat, in, n, v, e);
    if (rc)
        return rc;
    memset(dt, 0, sizeof *dt);
    dt->year = v[XF_Y4] >= 0 ? v[XF_Y4]
             : v[XF_Y2] + (v[XF_Y2] < 70 ? 2000 : 1900);
    dt->mon = v[XF_MON];
    dt->day = v[XF_DAY];
    dt->hour = v[XF_HOUR] < 0 ? 0 : v[XF_HOUR];
    dt->min = v[XF_MIN] < 0 ? 0 : v[XF_MIN];
    dt->sec = v[XF_SEC] < 0 ? 0 : v[XF_SEC];
    dt->msec = v[XF_MS] < 0 ? 0 : v[XF_MS];
    dt->prec = prec;
    return xform__valid(dt, e);
}

static int xform__pfield(int f, const xform_dt *dt)
{
    switch (f) {
    case XF_Y4: return dt->year;
    case XF_Y2: return dt->year % 100;
    case XF_MON: return dt->mon;
    case XF_DAY: return dt->day;
    case XF_HOUR: return dt->hour;
    case XF_MIN: return dt->min;
    case XF_SEC: return dt->sec;
    default: return dt->msec;
    }
}

/* Writes dt with a checked pattern; a 2-digit year must fall in the window
 * the reader uses, or the value would not read back. */
static int xform__pwrite(const char *pat, const xform_dt *dt, xform__w *w,
                         err_t *e)
{
    xform__pit it = {pat, 0};
    int f;
    char lit;
    while (xform__pnext(&it, &f, &lit) > 0) {
        if (f == XF_LIT) {
            xform__putc(w, lit);
            continue;
        }
        if (f == XF_Y2 && (dt->year < 1970 || dt->year > 2069))
            return err_set(e, ERR_INVALID, "year %04d cannot be written as "
                           "two digits (window 1970-2069)", dt->year);
        xform__putn(w, xform__pfield(f, dt), xform__toks[f].len);
    }
    return 0;
}

/* A date-only value must not be made into a time (midnight would be
 * invented); a time is padded with zeros or truncated to the target's
 * precision, as senders' clocks differ in resolution, not in meaning. */
static int xform__fits(const xform_dt *dt, int prec, const char *iso,
                       const char *what, const char *name, err_t *e)
{
    if (prec > XFORM_DATE && dt->prec == XFORM_DATE)
        return err_set(e, ERR_INVALID, "'%.*s' has no time of day, which %s "
                       "'%s' needs", XF_Q, iso, what, name);
    return 0;
}

int xform_date_pattern(const char *pattern, const char *in, char *out,
                       size_t outsz, err_t *e)
{
    int prec = xform__scan(pattern, e);
    if (prec < 0)
        return prec;
    in = in ? in : "";
    xform_dt dt;
    int rc = xform__pat_dt(pattern, prec, in, strlen(in), &dt, e);
    if (rc) {
        err_wrap(e, "date '%.*s' is not a valid '%s' date", XF_Q, in, pattern);
        return rc;
    }
    if (xform_iso_format(&dt, out, outsz))
        return err_set(e, ERR_TOOBIG, "no room for the ISO form of '%.*s'",
                       XF_Q, in);
    return 0;
}

int xform_iso_to_pattern(const char *pattern, const char *iso, char *out,
                         size_t outsz, err_t *e)
{
    int prec = xform__scan(pattern, e);
    if (prec < 0)
        return prec;
    xform_dt dt;
    int rc = xform_iso_parse(iso, &dt, e);
    if (!rc)
        rc = xform__fits(&dt, prec, iso, "pattern", pattern, e);
    if (rc)
        return rc;
    if (!out || !outsz)
        return err_set(e, ERR_TOOBIG, "no output buffer");
    xform__w w = {out, out + outsz - 1, 0};
    rc = xform__pwrite(pattern, &dt, &w, e);
    if (!rc && xform__wdone(&w))
        rc = err_set(e, ERR_TOOBIG, "no room to write '%.*s' as '%s'", XF_Q,
                     iso, pattern);
    return rc;
}

/* ---- ISO 8601 ---- */

/* Cursor steps for the ISO reader; each moves *i only on success. */
static int xform__dig(const char *s, size_t n, size_t *i, int width, int *v)
{
    int val = 0;
    if (*i + (size_t)width > n)
        return 0;
    for (int k = 0; k < width; k++) {
        char c = s[*i + (size_t)k];
        if (c < '0' || c > '9')
            return 0;
        val = val * 10 + c - '0';
    }
    *i += (size_t)width;
    *v = val;
    return 1;
}

static int xform__lit(const char *s, size_t n, size_t *i, char c)
{
    if (*i >= n || s[*i] != c)
        return 0;
    (*i)++;
    return 1;
}

/* Fraction digits beyond milliseconds are read and dropped: no format the
 * project writes carries them. */
static int xform__iso_frac(const char *s, size_t n, size_t *i, xform_dt *dt)
{
    int k = 0, ms = 0;
    for (; *i < n && s[*i] >= '0' && s[*i] <= '9'; (*i)++, k++)
        if (k < 3)
            ms = ms * 10 + s[*i] - '0';
    for (int j = k; j < 3; j++)
        ms *= 10;
    dt->msec = ms;
    dt->prec = XFORM_MSEC;
    return k >= 1 && k <= 9;
}

static int xform__iso_zone(const char *s, size_t n, size_t *i, xform_dt *dt)
{
    int h, m;
    if (*i == n)
        return 1;
    if (xform__lit(s, n, i, 'Z')) {
        dt->zone = XFORM_ZUTC;
        return 1;
    }
    char sign = s[*i];
    if ((sign != '+' && sign != '-') || !xform__lit(s, n, i, sign) ||
        !xform__dig(s, n, i, 2, &h) || !xform__lit(s, n, i, ':') ||
        !xform__dig(s, n, i, 2, &m) || m > 59)
        return 0;
    dt->zone = XFORM_ZOFF;
    dt->zsign = sign;
    dt->zoff = h * 60 + m;
    return 1;
}

static int xform__iso_time(const char *s, size_t n, size_t *i, xform_dt *dt)
{
    if (!xform__lit(s, n, i, 'T') || !xform__dig(s, n, i, 2, &dt->hour) ||
        !xform__lit(s, n, i, ':') || !xform__dig(s, n, i, 2, &dt->min))
        return 0;
    dt->prec = XFORM_MIN;
    if (xform__lit(s, n, i, ':')) {
        if (!xform__dig(s, n, i, 2, &dt->sec))
            return 0;
        dt->prec = XFORM_SEC;
        if (xform__lit(s, n, i, '.') && !xform__iso_frac(s, n, i, dt))
            return 0;
    }
    return xform__iso_zone(s, n, i, dt);
}

static int xform__iso_read(const char *s, size_t n, xform_dt *dt, err_t *e)
{
    size_t i = 0;
    int q = n < XF_Q ? (int)n : XF_Q;
    memset(dt, 0, sizeof *dt);
    int ok = xform__dig(s, n, &i, 4, &dt->year) && xform__lit(s, n, &i, '-') &&
             xform__dig(s, n, &i, 2, &dt->mon) && xform__lit(s, n, &i, '-') &&
             xform__dig(s, n, &i, 2, &dt->day);
    if (ok && i < n)
        ok = xform__iso_time(s, n, &i, dt);
    if (!ok || i != n)
        return err_set(e, ERR_INVALID, "'%.*s' is not ISO 8601 YYYY-MM-DD"
                       "[THH:MM[:SS[.fff]]][Z|+hh:mm] (wrong at character %zu)",
                       q, s, i + 1);
    int rc = xform__valid(dt, e);
    if (rc)
        err_wrap(e, "'%.*s' is not a valid ISO 8601 date", q, s);
    return rc;
}

int xform_iso_parse(const char *iso, xform_dt *dt, err_t *e)
{
    iso = iso ? iso : "";
    return xform__iso_read(iso, strlen(iso), dt, e);
}

int xform_iso_format(const xform_dt *dt, char *out, size_t outsz)
{
    if (!out || !outsz)
        return ERR_TOOBIG;
    xform__w w = {out, out + outsz - 1, 0};
    xform__putn(&w, dt->year, 4);
    xform__sepn(&w, '-', dt->mon, 2);
    xform__sepn(&w, '-', dt->day, 2);
    if (dt->prec >= XFORM_MIN) {
        xform__sepn(&w, 'T', dt->hour, 2);
        xform__sepn(&w, ':', dt->min, 2);
    }
    if (dt->prec >= XFORM_SEC)
        xform__sepn(&w, ':', dt->sec, 2);
    if (dt->prec >= XFORM_MSEC)
        xform__sepn(&w, '.', dt->msec, 3);
    if (dt->zone == XFORM_ZUTC)
        xform__putc(&w, 'Z');
    if (dt->zone == XFORM_ZOFF) {
        xform__sepn(&w, dt->zsign, dt->zoff / 60, 2);
        xform__sepn(&w, ':', dt->zoff % 60, 2);
    }
    return xform__wdone(&w);
}

/* ---- EDIFACT 2379 ---- */

enum { XF_ZN, XF_ZHHMM, XF_ZZZ };

/* Masks are the directory's; each pattern's length is its width in the
 * data, as every field letter stands for one digit. */
static const struct xform__edi {
    char code[4], mask[26], pat[16];
    unsigned char zone, period;
} xform__edis[] = {
    {"2", "DDMMYY", "ddMMyy", XF_ZN, 0},
    {"3", "MMDDYY", "MMddyy", XF_ZN, 0},
    {"4", "DDMMCCYY", "ddMMyyyy", XF_ZN, 0},
    {"5", "DDMMCCYYHHMM", "ddMMyyyyHHmm", XF_ZN, 0},
    {"10", "CCYYMMDDTHHMM", "yyyyMMddTHHmm", XF_ZN, 0},
    {"101", "YYMMDD", "yyMMdd", XF_ZN, 0},
    {"102", "CCYYMMDD", "yyyyMMdd", XF_ZN, 0},
    {"201", "YYMMDDHHMM", "yyMMddHHmm", XF_ZN, 0},
    {"202", "YYMMDDHHMMSS", "yyMMddHHmmss", XF_ZN, 0},
    {"203", "CCYYMMDDHHMM", "yyyyMMddHHmm", XF_ZN, 0},
    {"204", "CCYYMMDDHHMMSS", "yyyyMMddHHmmss", XF_ZN, 0},
    {"205", "CCYYMMDDHHMMZHHMM", "yyyyMMddHHmm", XF_ZHHMM, 0},
    {"206", "YYMMDDHHMMZHHMM", "yyMMddHHmm", XF_ZHHMM, 0},
    {"207", "YYMMDDHHMMSSZHHMM", "yyMMddHHmmss", XF_ZHHMM, 0},
    {"208", "CCYYMMDDHHMMSSZHHMM", "yyyyMMddHHmmss", XF_ZHHMM, 0},
    {"301", "YYMMDDHHMMZZZ", "yyMMddHHmm", XF_ZZZ, 0},
    {"302", "YYMMDDHHMMSSZZZ", "yyMMddHHmmss", XF_ZZZ, 0},
    {"303", "CCYYMMDDHHMMZZZ", "yyyyMMddHHmm", XF_ZZZ, 0},
    {"304", "CCYYMMDDHHMMSSZZZ", "yyyyMMddHHmmss", XF_ZZZ, 0},
    {"717", "YYMMDD-YYMMDD", "yyMMdd", XF_ZN, 1},
    {"718", "CCYYMMDD-CCYYMMDD", "yyyyMMdd", XF_ZN, 1},
    {"719", "CCYYMMDDHHMM-CCYYMMDDHHMM", "yyyyMMddHHmm", XF_ZN, 1},
};

static const struct xform__edi *xform__edi_find(const char *code)
{
    for (size_t k = 0; code && k < sizeof xform__edis / sizeof *xform__edis; k++)
        if (strcmp(code, xform__edis[k].code) == 0)
            return &xform__edis[k];
    return NULL;
}

int xform_edi_supported(const char *code)
{
    return xform__edi_find(code) != NULL;
}

static int xform__edi_unknown(const char *code, err_t *e)
{
    return err_set(e, ERR_UNSUPPORTED, "date/time format code '%s' (2379) is "
                   "not supported (supported: 2-5, 10, 101, 102, 201-208, "
                   "301-304, 717-719)", code ? code : "");
}

/* ZHHMM is a sign and an offset; ZZZ is left open by the directory, so the
 * forms partners actually send are read: UTC, GMT, or a signed hour. */
static int xform__edi_zone(int kind, const char *z, xform_dt *dt, err_t *e)
{
    size_t i = 1, n = kind == XF_ZZZ ? 3 : 5;
    int h = 0, m = 0;
    if (kind == XF_ZZZ && (!memcmp(z, "UTC", 3) || !memcmp(z, "GMT", 3))) {
        dt->zone = XFORM_ZUTC;
        return 0;
    }
    if ((z[0] != '+' && z[0] != '-') || !xform__dig(z, n, &i, 2, &h) ||
        (kind == XF_ZHHMM && !xform__dig(z, n, &i, 2, &m)) || h > 14 || m > 59)
        return err_set(e, ERR_INVALID, kind == XF_ZZZ
                       ? "time zone '%.*s' is not UTC, GMT or a signed hour "
                         "such as +08"
                       : "time zone '%.*s' is not a sign and HHMM up to 1459",
                       (int)n, z);
    dt->zone = XFORM_ZOFF;
    dt->zsign = z[0];
    dt->zoff = h * 60 + m;
    return 0;
}

static int xform__edi_one(const struct xform__edi *d, const char *in,
                          size_t n, xform_dt *dt, err_t *e)
{
    size_t blen = strlen(d->pat);
    size_t zlen = d->zone == XF_ZHHMM ? 5 : d->zone == XF_ZZZ ? 3 : 0;
    if (n != blen + zlen)
        return err_set(e, ERR_INVALID, "%zu characters, %zu expected", n,
                       blen + zlen);
    int rc = xform__pat_dt(d->pat, xform__scan(d->pat, NULL), in, blen, dt, e);
    if (!rc && zlen)
        rc = xform__edi_zone(d->zone, in + blen, dt, e);
    return rc;
}

static long long xform__key(const xform_dt *t)
{
    return ((((t->year * 13LL + t->mon) * 32 + t->day) * 24 + t->hour) * 60 +
            t->min) * 60 + t->sec;
}

/* A period is sent without a hyphen, as the directory says; some senders
 * add one anyway, and nothing else could be meant. */
static int xform__edi_read(const struct xform__edi *d, const char *in,
                           xform_dt *a, xform_dt *b, err_t *e)
{
    size_t n = strlen(in), half = strlen(d->pat);
    if (!d->period) {
        int rc = xform__edi_one(d, in, n, a, e);
        *b = *a;
        return rc;
    }
    size_t gap = n == 2 * half + 1 && in[half] == '-';
    if (n != 2 * half + gap)
        return err_set(e, ERR_INVALID, "%zu characters, %zu expected (%zu with "
                       "a hyphen)", n, 2 * half, 2 * half + 1);
    int rc = xform__edi_one(d, in, half, a, e);
    if (!rc)
        rc = xform__edi_one(d, in + half + gap, half, b, e);
    if (!rc && xform__key(a) > xform__key(b))
        rc = err_set(e, ERR_INVALID, "the period ends before it starts");
    return rc;
}

int xform_edi_period(const char *code, const char *in, char *from,
                     size_t fromsz, char *to, size_t tosz, err_t *e)
{
    const struct xform__edi *d = xform__edi_find(code);
    if (!d)
        return xform__edi_unknown(code, e);
    in = in ? in : "";
    xform_dt a, b;
    int rc = xform__edi_read(d, in, &a, &b, e);
    if (rc) {
        err_wrap(e, "date '%.*s' is not a valid %s (format %s)", XF_Q, in,
                 d->mask, d->code);
        return rc;
    }
    if (xform_iso_format(&a, from, fromsz) ||
        (to && xform_iso_format(&b, to, tosz)))
        return err_set(e, ERR_TOOBIG, "no room for the ISO form of '%.*s'",
                       XF_Q, in);
    return 0;
}

int xform_edi_date(const char *code, const char *in, char *out, size_t outsz,
                   err_t *e)
{
    return xform_edi_period(code, in, out, outsz, NULL, 0, e);
}

static int xform__edi_zput(const struct xform__edi *d, const xform_dt *dt,
                           const char *iso, xform__w *w, err_t *e)
{
    if (d->zone == XF_ZN)
        return 0;
    if (dt->zone == XFORM_ZNONE)
        return err_set(e, ERR_INVALID, "'%.*s' has no UTC offset, which format "
                       "%s needs", XF_Q, iso, d->code);
    if (d->zone == XF_ZZZ && dt->zone == XFORM_ZUTC) {
        xform__putc(w, 'U');
        xform__putc(w, 'T');
        xform__putc(w, 'C');
        return 0;
    }
    if (d->zone == XF_ZZZ && dt->zoff % 60)
        return err_set(e, ERR_INVALID, "'%.*s' has an offset in minutes, but "
                       "format %s carries whole hours", XF_Q, iso, d->code);
    xform__sepn(w, dt->zone == XFORM_ZUTC ? '+' : dt->zsign, dt->zoff / 60, 2);
    if (d->zone == XF_ZHHMM)
        xform__putn(w, dt->zoff % 60, 2);
    return 0;
}

static int xform__edi_put(const struct xform__edi *d, const xform_dt *dt,
                          const char *iso, xform__w *w, err_t *e)
{
    int rc = xform__fits(dt, xform__scan(d->pat, NULL), iso, "format",
                         d->code, e);
    if (!rc)
        rc = xform__pwrite(d->pat, dt, w, e);
    if (!rc)
        rc = xform__edi_zput(d, dt, iso, w, e);
    return rc;
}

/* Periods have no code for seconds; 719 truncates them. */
static const char *xform__edi_auto(int prec, int period)
{
    if (period)
        return prec == XFORM_DATE ? "718" : "719";
    return prec == XFORM_DATE ? "102" : prec == XFORM_MIN ? "203" : "204";
}

/* Reads "start" or "start/end": the count of values read, or an error. */
static int xform__iso_span(const char *iso, xform_dt dt[2], err_t *e)
{
    const char *slash = strchr(iso, '/');
    size_t n = slash ? (size_t)(slash - iso) : strlen(iso);
    int rc = xform__iso_read(iso, n, &dt[0], e);
    if (!rc && slash)
        rc = xform__iso_read(slash + 1, strlen(slash + 1), &dt[1], e);
    return rc ? rc : slash ? 2 : 1;
}

int xform_iso_to_edi(const char *iso, const char *code, char *out,
                     size_t outsz, const char **code_used, err_t *e)
{
    xform_dt dt[2];
    if (code_used)
        *code_used = NULL;
    iso = iso ? iso : "";
    int rc = 0, n = xform__iso_span(iso, dt, e);
    if (n < 0)
        return n;
    if (!code || !*code)
        code = xform__edi_auto(dt[0].prec, n == 2);
    const struct xform__edi *d = xform__edi_find(code);
    if (!d)
        return xform__edi_unknown(code, e);
    if (d->period != (n == 2))
        return err_set(e, ERR_INVALID, d->period
                       ? "'%.*s' is not a period 'start/end', which format %s "
                         "needs"
                       : "'%.*s' is a period, which format %s cannot hold",
                       XF_Q, iso, d->code);
    if (!out || !outsz)
        return err_set(e, ERR_TOOBIG, "no output buffer");
    xform__w w = {out, out + outsz - 1, 0};
    for (int k = 0; !rc && k < n; k++)
        rc = xform__edi_put(d, &dt[k], iso, &w, e);
    if (!rc && xform__wdone(&w))
        rc = err_set(e, ERR_TOOBIG, "no room for the EDIFACT form of '%.*s'",
                     XF_Q, iso);
    if (!rc && code_used)
        *code_used = d->code;
    return rc;
}

/* ---- numbers ---- */

typedef struct {
    uint64_t mant;  /* significant digits, at most 18 */
    int exp;        /* value = mant * 10^exp */
    int nsig, neg;
} xform__dec;

static int xform__dec_push(xform__dec *d, int dig)
{
    if (++d->nsig > 18)
        return 1;
    d->mant = d->mant * 10 + (uint64_t)dig;
    return 0;
}

/* Fraction zeros wait in *pending until a later non-zero digit shows they
 * matter, so "1.50000" neither counts them nor scales the mantissa. */
static int xform__dec_digit(xform__dec *d, int dig, int frac, int *pending)
{
    if (dig == 0 && frac) {
        if (d->mant == 0)
            d->exp--;
        else
            (*pending)++;
        return 0;
    }
    if (dig == 0 && d->mant == 0)
        return 0;
    for (; *pending > 0; (*pending)--, d->exp--)
        if (xform__dec_push(d, 0))
            return 1;
    d->exp -= frac;
    return xform__dec_push(d, dig);
}

/* xs:decimal with the given mark: 0 ok, 1 not a number, 2 too many digits. */
static int xform__dec_scan(const char *s, char mark, xform__dec *d)
{
    int digits = 0, pending = 0, frac = 0;
    memset(d, 0, sizeof *d);
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '+' || *s == '-')
        d->neg = *s++ == '-';
    for (;; s++) {
        if (*s == mark && !frac) {
            frac = 1;
            continue;
        }
        if (*s < '0' || *s > '9')
            break;
        digits++;
        if (xform__dec_digit(d, *s - '0', frac, &pending))
            return 2;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    return digits && *s == '\0' ? 0 : 1;
}

static const double xform__p10[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* Up to 2^53 times an exact power of ten, one IEEE operation rounds
 * correctly; past that strtod does, fed digits and an exponent only, so the
 * locale's decimal point never comes into it. */
static double xform__dec_value(const xform__dec *d)
{
    double v;
    if (d->mant == 0)
        return 0.0;
    if (d->mant <= (UINT64_C(1) << 53) && d->exp >= -22 && d->exp <= 22) {
        v = (double)d->mant;
        v = d->exp < 0 ? v / xform__p10[-d->exp] : v * xform__p10[d->exp];
    } else {
        char buf[48];
        snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)d->mant, d->exp);
        v = strtod(buf, NULL);
    }
    return d->neg ? -v : v;
}

int xform_number(const char *in, char decimal_mark, double *out, err_t *e)
{
    xform__dec d;
    if (decimal_mark != '.' && decimal_mark != ',')
        return err_set(e, ERR_USAGE, "decimal mark '%c' is neither '.' nor ','",
                       decimal_mark);
    in = in ? in : "";
    int rc = xform__dec_scan(in, decimal_mark, &d);
    if (rc == 1)
        return err_set(e, ERR_INVALID, "'%.*s' is not a number (decimal mark "
                       "'%c')", XF_Q, in, decimal_mark);
    if (rc == 2)
        return err_set(e, ERR_INVALID, "'%.*s' has more than 18 significant "
                       "digits", XF_Q, in);
    *out = xform__dec_value(&d);
    return 0;
}

/* Common case without printf: v * 10^k is a whole number under 10^15 that
 * divides back to exactly v, so those digits read back to v; the smallest k
 * gives the shortest text. */
static int xform__short_fast(double v, uint64_t *m, int *exp)
{
    if (v >= 1e15 || v < 1e-7)
        return 0;
    for (int k = 0; k <= 15; k++) {
        double s = v * xform__p10[k];
        if (s >= 1e15)
            return 0;
        if (s == floor(s) && s / xform__p10[k] == v) {
            *m = (uint64_t)s;
            *exp = -k;
            return 1;
        }
    }
    return 0;
}

/* Rounding to 15 digits by printf; only the digits and the exponent are
 * read, so whatever decimal point the locale prints is skipped. */
static void xform__short_slow(double v, uint64_t *m, int *exp)
{
    char buf[48];
    const char *p = buf;
    uint64_t mm = 0;
    int nd = 0, x = 0, xneg;
    snprintf(buf, sizeof buf, "%.14e", v);
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') {
            mm = mm * 10 + (uint64_t)(*p - '0');
            nd++;
        }
    xneg = *p && p[1] == '-';
    for (p += *p ? 2 : 0; *p >= '0' && *p <= '9'; p++)
        x = x * 10 + *p - '0';
    *m = mm;
    *exp = (xneg ? -x : x) - (nd - 1);
}

/* Digits of m, most significant first, into dig; trailing zeros move into
 * *exp. Returns the digit count. */
static int xform__digits(uint64_t m, int *exp, char *dig)
{
    char rev[24];
    int nd = 0;
    if (m == 0)
        *exp = 0;
    for (; m && m % 10 == 0; m /= 10)
        (*exp)++;
    do
        rev[nd++] = (char)('0' + m % 10);
    while (m /= 10);
    for (int k = 0; k < nd; k++)
        dig[k] = rev[nd - 1 - k];
    return nd;
}

static int xform__plain(int neg, uint64_t m, int exp, char mark, char *out,
                        size_t outsz)
{
    char dig[24];
    int nd = xform__digits(m, &exp, dig), point = nd + exp;
    if (!out || !outsz)
        return ERR_TOOBIG;
    xform__w w = {out, out + outsz - 1, 0};
    if (neg)
        xform__putc(&w, '-');
    if (point <= 0) {
        xform__putc(&w, '0');
        xform__putc(&w, mark);
    }
    for (int k = point; k < 0 && !w.over; k++)
        xform__putc(&w, '0');
    for (int k = 0; k < nd; k++) {
        if (k > 0 && k == point)
            xform__putc(&w, mark);
        xform__putc(&w, dig[k]);
    }
    for (int k = nd; k < point && !w.over; k++)
        xform__putc(&w, '0');
    return xform__wdone(&w);
}

int xform_number_text(double v, char decimal_mark, char *out, size_t outsz)
{
    uint64_t m = 0;
    int exp = 0;
    double a = fabs(v);
    if (!isfinite(v) || (decimal_mark != '.' && decimal_mark != ','))
        return ERR_INVALID;
    if (a != 0 && !xform__short_fast(a, &m, &exp))
        xform__short_slow(a, &m, &exp);
    return xform__plain(v < 0 && m != 0, m, exp, decimal_mark, out, outsz);
}

/* ---- case and whitespace ---- */

static int xform__space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void xform_upper(char *s)
{
    for (; s && *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
}

void xform_lower(char *s)
{
    for (; s && *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

char *xform_trim(char *s)
{
    if (!s)
        return s;
    while (xform__space(*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && xform__space(end[-1]))
        end--;
    *end = '\0';
    return s;
}

void xform_squeeze(char *s)
{
    char *w = s;
    for (const char *r = s; r && *r;) {
        if (!xform__space(*r)) {
            *w++ = *r++;
            continue;
        }
        *w++ = ' ';
        while (xform__space(*r))
            r++;
    }
    if (w)
        *w = '\0';
}
