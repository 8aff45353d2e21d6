#include "check.h"

#include <string.h>

#include "check_tables.h"
#include "xform.h"

/* Quoted input is cut here so one bad field cannot flood the message. */
#define CK_Q 64

static int check__upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int check__digit(char c)
{
    return c >= '0' && c <= '9';
}

static int check__has_lower(const char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            return 1;
    return 0;
}

/* ISO 6346 letter values: from A = 10 upward, skipping the multiples of 11
 * (11, 22, 33) because they would alias a remainder of 0. */
static const unsigned char check__6346[26] = {
    10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24,
    25, 26, 27, 28, 29, 30, 31, 32, 34, 35, 36, 37, 38,
};

int check_iso6346_digit(const char *s10)
{
    long sum = 0;
    for (int i = 0; s10 && i < 10; i++) {
        char c = s10[i];
        int v;
        if (i < 4 && check__upper(c))
            v = check__6346[c - 'A'];
        else if (i >= 4 && check__digit(c))
            v = c - '0';
        else
            return -1;
        sum += (long)v << i;
    }
    return s10 ? (int)(sum % 11 % 10) : -1;
}

int check_iso6346(const char *s, err_t *e)
{
    s = s ? s : "";
    if (strlen(s) != 11 || check_iso6346_digit(s) < 0 || !check__digit(s[10]))
        return err_set(e, ERR_INVALID, "container number '%.*s' is not 4 "
                       "letters, 6 digits and a check digit%s", CK_Q, s,
                       check__has_lower(s) ? " (use capital letters)" : "");
    if (s[3] != 'U' && s[3] != 'J' && s[3] != 'Z')
        return err_set(e, ERR_INVALID, "container number '%s' has category "
                       "'%c'; ISO 6346 has U (freight container), J (detachable "
                       "equipment) and Z (trailer or chassis)", s, s[3]);
    int want = check_iso6346_digit(s);
    if (s[10] - '0' != want)
        return err_set(e, ERR_CHECK_DIGIT, "container number '%s' fails the "
                       "ISO 6346 check digit (expected %d)", s, want);
    return 0;
}

/* UN/LOCODE leaves out 0 and 1 so they cannot be confused with O and I. */
static int check__loc(char c)
{
    return check__upper(c) || (c >= '2' && c <= '9');
}

int check_unlocode(const char *s, err_t *e)
{
    s = s ? s : "";
    if (strlen(s) != 5 || !check__upper(s[0]) || !check__upper(s[1]) ||
        !check__loc(s[2]) || !check__loc(s[3]) || !check__loc(s[4]))
        return err_set(e, ERR_INVALID, "UN/LOCODE '%.*s' is not 2 capital "
                       "letters (country) and 3 of A-Z, 2-9 (place)%s", CK_Q, s,
                       strchr(s, ' ') ? ", written without a space" : "");
    if (!check_country_known(s) && memcmp(s, "XZ", 2) != 0)
        return err_set(e, ERR_INVALID, "UN/LOCODE '%s' starts with '%.2s', "
                       "which is not an ISO 3166 country code", s, s);
    return 0;
}

int check_hs(const char *s, err_t *e)
{
    s = s ? s : "";
    size_t n = strlen(s), good = strspn(s, "0123456789");
    if (s[good] == '.' || s[good] == ' ')
        return err_set(e, ERR_INVALID, "HS code '%.*s' contains '%c': write it "
                       "as digits only, without dots or spaces", CK_Q, s,
                       s[good]);
    if (good != n)
        return err_set(e, ERR_INVALID, "HS code '%.*s' has '%c', which is not "
                       "a digit", CK_Q, s, s[good]);
    if (n < 6 || n > 10)
        return err_set(e, ERR_INVALID, "HS code '%.*s' has %zu digits; it needs "
                       "6 to 10", CK_Q, s, n);
    if (s[0] == '0' && s[1] == '0')
        return err_set(e, ERR_INVALID, "HS code '%s' is in chapter 00, which "
                       "does not exist", s);
    return 0;
}

/* Codes partners really send in place of the ISO one. */
static const char *check__hint(const char *s)
{
    static const char *const hints[][2] = {
        {"RMB", "CNY"}, {"BGN", "EUR"}, {"HRK", "EUR"}, {"ANG", "XCG"},
        {"ZWL", "ZWG"}, {"SLL", "SLE"}, {"UK", "GB"},   {"EL", "GR"},
    };
    for (size_t k = 0; k < sizeof hints / sizeof hints[0]; k++)
        if (strcmp(s, hints[k][0]) == 0)
            return hints[k][1];
    return NULL;
}

/* Shared by the two list lookups: n capital letters, then the table. */
static int check__code(const char *s, size_t n, int (*known)(const char *),
                       const char *what, err_t *e)
{
    s = s ? s : "";
    int shape = strlen(s) == n;
    for (size_t i = 0; shape && i < n; i++)
        shape = check__upper(s[i]);
    if (!shape)
        return err_set(e, ERR_INVALID, "%s '%.*s' is not %zu capital letters",
                       what, CK_Q, s, n);
    if (known(s))
        return 0;
    const char *hint = check__hint(s);
    return err_set(e, ERR_INVALID, "%s '%s' is not %s%s%s%s", what, s,
                   n == 3 ? "an active ISO 4217 code" : "an ISO 3166 code",
                   hint ? " (use " : "", hint ? hint : "", hint ? ")" : "");
}

int check_iso4217(const char *s, err_t *e)
{
    return check__code(s, 3, check_currency_known, "currency code", e);
}

int check_country(const char *s, err_t *e)
{
    return check__code(s, 2, check_country_known, "country code", e);
}

int check_datetime(const char *s, err_t *e)
{
    xform_dt dt;
    return xform_iso_parse(s, &dt, e) ? ERR_INVALID : 0;
}

int check_uic_wagon(const char *s, err_t *e)
{
    s = s ? s : "";
    if (strlen(s) != 12 || strspn(s, "0123456789") != 12)
        return err_set(e, ERR_INVALID, "UIC wagon number '%.*s' is not 12 "
                       "digits%s", CK_Q, s, strpbrk(s, " -")
                       ? " (write it without spaces or dashes)" : "");
    int sum = 0;
    for (int i = 0; i < 11; i++) {
        int p = (s[i] - '0') * (i % 2 ? 1 : 2);
        sum += p / 10 + p % 10;
    }
    int want = (10 - sum % 10) % 10;
    if (s[11] - '0' != want)
        return err_set(e, ERR_CHECK_DIGIT, "UIC wagon number '%s' fails the "
                       "self-check digit (expected %d)", s, want);
    return 0;
}

check_fn check_find(const char *name)
{
    static const struct {
        const char *name;
        check_fn fn;
    } rules[] = {
        {"iso6346", check_iso6346}, {"unlocode", check_unlocode},
        {"hs", check_hs},           {"iso4217", check_iso4217},
        {"country", check_country}, {"datetime", check_datetime},
        {"uic_wagon", check_uic_wagon},
    };
    for (size_t k = 0; name && k < sizeof rules / sizeof rules[0]; k++)
        if (strcmp(name, rules[k].name) == 0)
            return rules[k].fn;
    return NULL;
}
