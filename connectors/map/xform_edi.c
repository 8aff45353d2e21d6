/* xform_edi: EDIFACT date/time codes (2379) to and from ISO 8601, each code
 * a pattern of xform_date.c plus its zone and period rules. */
#include "xform.h"

#include <string.h>
#include <threads.h>

#include "xform_int.h"

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

#define XF_NEDI (sizeof xform__edis / sizeof *xform__edis)

/* Each code's pattern, compiled once (xform__edis[k] -> xform__edi_c[k]). */
static xform__cpat xform__edi_c[XF_NEDI];
static once_flag xform__edi_once = ONCE_FLAG_INIT;

static void xform__edi_init(void)
{
    for (size_t k = 0; k < XF_NEDI; k++)
        xform__pcompile(xform__edis[k].pat, &xform__edi_c[k]);
}

static const xform__cpat *xform__edi_cpat(const struct xform__edi *d)
{
    call_once(&xform__edi_once, xform__edi_init);
    return &xform__edi_c[d - xform__edis];
}

static const struct xform__edi *xform__edi_find(const char *code)
{
    for (size_t k = 0; code && k < XF_NEDI; k++)
        if (code[0] == xform__edis[k].code[0] &&
            strcmp(code, xform__edis[k].code) == 0)
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
    const xform__cpat *c = xform__edi_cpat(d);
    size_t blen = c->width;
    size_t zlen = d->zone == XF_ZHHMM ? 5 : d->zone == XF_ZZZ ? 3 : 0;
    if (n != blen + zlen)
        return err_set(e, ERR_INVALID, "%zu characters, %zu expected", n,
                       blen + zlen);
    int rc = xform__pat_dt(c, in, blen, dt, e);
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
