/* mvref: movement references and their ISO/IEC 7064 MOD 37,36 check
 * character (docs/clearance.md, "The movement reference"). */
#include "mvref.h"

#include <stdio.h>
#include <string.h>

#define MVREF__CHECKED (MVREF_LEN - 1) /* characters under the check */

static const char mvref__alpha[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/* Value 0-35 of an upper-case alphanumeric, or -1: lower case is refused
 * because the reference is a dedupe key, and two spellings of one
 * movement would be two movements. */
static int mvref__value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return -1;
}

/* One step of the hybrid system: p is the running product (36 at the
 * start), the result the new one; *s gets the intermediate sum, which is
 * 1 after the last step over a valid string with its check character. */
static int mvref__step(int p, int v, int *s)
{
    int t = (p + v) % 36;
    *s = t ? t : 36;
    return (2 * *s) % 37;
}

char mvref_check_char(const char *s17)
{
    int p = 36, s;
    for (int i = 0; i < MVREF__CHECKED; i++) {
        int v = mvref__value(s17[i]);
        if (v < 0)
            return '?';
        p = mvref__step(p, v, &s);
    }
    return mvref__alpha[(37 - p) % 36];
}

/* What character i (0-based) of a reference may be, for the messages. */
static int mvref__allowed(int i, char c, const char **want)
{
    if (i < 2) {
        *want = "a digit (year)";
        return c >= '0' && c <= '9';
    }
    if (i < 4) {
        *want = "an upper-case letter (region)";
        return c >= 'A' && c <= 'Z';
    }
    *want = i < MVREF__CHECKED ? "0-9 or A-Z (sequence)"
                               : "0-9 or A-Z (check character)";
    return mvref__value(c) >= 0;
}

int mvref_check(const char *s, err_t *e)
{
    if (!s)
        return err_set(e, ERR_INVALID, "movement reference: missing");
    size_t n = strnlen(s, MVREF_LEN + 1);
    if (n != MVREF_LEN)
        return err_set(e, ERR_INVALID, "movement reference '%.24s%s': %s "
                       "than %d characters", s, n > 24 ? "..." : "",
                       n < MVREF_LEN ? "fewer" : "more", MVREF_LEN);
    for (int i = 0; i < MVREF_LEN; i++) {
        const char *want;
        if (!mvref__allowed(i, s[i], &want))
            return err_set(e, ERR_INVALID, "movement reference '%s': "
                           "character %d (0x%02x) is not %s", s, i + 1,
                           (unsigned char)s[i], want);
    }
    char c = mvref_check_char(s);
    if (c != s[MVREF__CHECKED])
        return err_set(e, ERR_INVALID, "movement reference '%s': check "
                       "character is '%c', expected '%c'", s,
                       s[MVREF__CHECKED], c);
    return 0;
}

/* seq in base 36, zero-padded to 13 characters at out. */
static void mvref__seq(uint64_t seq, char *out)
{
    for (int i = MVREF_SEQ_LEN - 1; i >= 0; i--) {
        out[i] = mvref__alpha[seq % 36];
        seq /= 36;
    }
}

int mvref_make(unsigned year2, const char *region, uint64_t seq,
               char out[MVREF_LEN + 1], err_t *e)
{
    if (year2 > 99)
        return err_set(e, ERR_INVALID, "movement reference: year %u is not "
                       "2 digits (0-99)", year2);
    if (!region || strnlen(region, 3) != 2 || region[0] < 'A' ||
        region[0] > 'Z' || region[1] < 'A' || region[1] > 'Z')
        return err_set(e, ERR_INVALID, "movement reference: region "
                       "'%.8s' is not 2 upper-case letters",
                       region ? region : "(null)");
    out[0] = (char)('0' + year2 / 10);
    out[1] = (char)('0' + year2 % 10);
    out[2] = region[0];
    out[3] = region[1];
    mvref__seq(seq, out + 4);
    out[MVREF__CHECKED] = mvref_check_char(out);
    out[MVREF_LEN] = '\0';
    return 0;
}

void mvref_region(const char *ref, char out[3])
{
    out[0] = ref[2];
    out[1] = ref[3];
    out[2] = '\0';
}
