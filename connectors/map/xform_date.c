/* xform_date: pattern dates (yyyy-MM-dd...) and ISO 8601 text, on one
 * calendar check; the EDIFACT 2379 codes in xform_edi.c are patterns too. */
#include "xform.h"

#include <string.h>

#include "xform_int.h"

/* ---- calendar ---- */

int xform__dim(int y, int m)
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
int xform__scan(const char *pat, err_t *e)
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
    xform__cpat c;
    if (rc >= 0 && xform__pcompile(pattern, &c))
        return err_set(e, ERR_CONFIG, "date pattern '%s' has more than %d "
                       "fields and literals", pattern, XF_CPAT_MAX);
    return rc < 0 ? rc : 0;
}

int xform__pcompile(const char *pat, xform__cpat *c)
{
    xform__pit it = {pat, 0};
    int f;
    char lit;
    c->n = c->width = 0;
    c->prec = xform__scan(pat, NULL);
    while (xform__pnext(&it, &f, &lit) > 0) {
        if (c->n == XF_CPAT_MAX)
            return ERR_CONFIG;
        c->f[c->n] = (signed char)f;
        c->lit[c->n++] = lit;
        c->width += f == XF_LIT ? 1u : (unsigned)xform__toks[f].len;
    }
    return c->prec < 0 ? c->prec : 0;
}

/* Reads in[0..n) as a compiled pattern into v[] (-1: field absent). */
static int xform__pread(const xform__cpat *c, const char *in, size_t n,
                        int *v, err_t *e)
{
    size_t i = 0;
    for (unsigned k = 0; k < c->n; k++) {
        int f = c->f[k], w = f == XF_LIT ? 1 : xform__toks[f].len, val = 0;
        for (int d = 0; d < w; d++, i++) {
            if (i >= n)
                return err_set(e, ERR_INVALID, "too short (%zu characters)", n);
            if (f == XF_LIT ? in[i] != c->lit[k] : in[i] < '0' || in[i] > '9')
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

/* Parses in[0..n) with a compiled pattern. */
int xform__pat_dt(const xform__cpat *c, const char *in, size_t n,
                  xform_dt *dt, err_t *e)
{
    int v[XF_NFIELD];
    for (int f = 0; f < XF_NFIELD; f++)
        v[f] = -1;
    int rc = xform__pread(c, in, n, v, e);
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
    dt->prec = c->prec;
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
int xform__pwrite(const char *pat, const xform_dt *dt, xform__w *w,
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
int xform__fits(const xform_dt *dt, int prec, const char *iso,
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
    xform__cpat c;
    int rc = xform_pattern_check(pattern, e);
    if (rc)
        return rc;
    xform__pcompile(pattern, &c);
    in = in ? in : "";
    xform_dt dt;
    rc = xform__pat_dt(&c, in, strlen(in), &dt, e);
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
int xform__dig(const char *s, size_t n, size_t *i, int width, int *v)
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

int xform__iso_zone(const char *s, size_t n, size_t *i, xform_dt *dt)
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

int xform__iso_read(const char *s, size_t n, xform_dt *dt, err_t *e)
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
