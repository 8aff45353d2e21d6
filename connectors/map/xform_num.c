/* xform_num: numbers with either decimal mark, read exactly and written
 * back in plain decimal, whatever the process locale. */
#include "xform.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xform_int.h"

/* ---- numbers ---- */

static const double xform__p10[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

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

/* The common figure, [+-]DIGITS[MARK DIGITS] with at most 15 digits: its
 * digits as one integer (< 2^53) over a power of ten, one correctly
 * rounded division, so the same double xform__dec_value gives, without
 * its digit-by-digit bookkeeping. 0 when it applies, -1 to take the full
 * scan (blanks, long or malformed text, which it reports). */
static int xform__num_fast(const char *s, char mark, double *out)
{
    uint64_t m = 0;
    int nd = 0, frac = -1, neg = *s == '-';
    s += *s == '+' || *s == '-';
    for (;; s++) {
        if (*s >= '0' && *s <= '9') {
            m = m * 10 + (uint64_t)(*s - '0');
            nd++;
            frac += frac >= 0;
        } else if (*s == mark && frac < 0) {
            frac = 0;
        } else {
            break;
        }
    }
    if (*s || nd == 0 || nd > 15)
        return -1;
    double v = frac > 0 ? (double)m / xform__p10[frac] : (double)m;
    *out = neg && m ? -v : v;
    return 0;
}

int xform_number(const char *in, char decimal_mark, double *out, err_t *e)
{
    xform__dec d;
    if (decimal_mark != '.' && decimal_mark != ',')
        return err_set(e, ERR_USAGE, "decimal mark '%c' is neither '.' nor ','",
                       decimal_mark);
    in = in ? in : "";
    if (xform__num_fast(in, decimal_mark, out) == 0)
        return 0;
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
