/* pmwire: the names, codes, ids and amounts of permit operations (the
 * wire forms are pmwire_codec.c's). */
#include "pmwire.h"

#include <stdio.h>
#include <string.h>

static const char *const pm__ops[PM_OP_END] = {
#define PM__OPNAME(name, num, text) [num] = text,
    PM_OPS(PM__OPNAME)
#undef PM__OPNAME
};

const char *pm_op_name(pm_op op)
{
    return op > 0 && op < PM_OP_END && pm__ops[op] ? pm__ops[op] : "?";
}

int pm_op_parse(const char *s, pm_op *out)
{
    for (int i = 1; i < PM_OP_END; i++)
        if (s && pm__ops[i] && !strcmp(s, pm__ops[i])) {
            *out = (pm_op)i;
            return 0;
        }
    return ERR_CODE;
}

static const struct {
    const char *name, *why;
} pm__codes[PM_C_END] = {
#define PM__CNAME(name, text, why) {text, why},
    PM_CODES(PM__CNAME)
#undef PM__CNAME
};

const char *pm_code_name(pm_code c)
{
    return c >= 0 && c < PM_C_END ? pm__codes[c].name : "?";
}

const char *pm_code_why(pm_code c)
{
    return c >= 0 && c < PM_C_END ? pm__codes[c].why : "?";
}

int pm_code_parse(const char *s, pm_code *out)
{
    for (int i = 0; i < PM_C_END; i++)
        if (s && !strcmp(s, pm__codes[i].name)) {
            *out = (pm_code)i;
            return 0;
        }
    return ERR_CODE;
}

static int pm__idchar(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int pm_id_check(const char *id, err_t *e)
{
    if (!id)
        return err_set(e, ERR_INVALID, "permit id: missing");
    size_t n = strnlen(id, PM_ID_MAX + 1);
    const char *why = NULL;
    if (n < 4 || n > PM_ID_MAX)
        why = "4 to 44 characters: a region, '-' and the authority's number";
    else if (id[0] < 'A' || id[0] > 'Z' || id[1] < 'A' || id[1] > 'Z' ||
             id[2] != '-')
        why = "must start with the home region and '-' (CQ-...)";
    for (size_t i = 3; !why && i < n; i++)
        if (!pm__idchar(id[i]))
            why = "the number may hold only A-Z, 0-9, '-' and '_'";
    if (why)
        return err_set(e, ERR_INVALID, "permit id '%.60s': %s", id, why);
    return 0;
}

void pm_id_region(const char *id, char out[3])
{
    out[0] = id[0];
    out[1] = id[0] ? id[1] : '\0';
    out[2] = '\0';
}

void pm_amount_fmt(uint64_t t, char out[32])
{
    unsigned frac = (unsigned)(t % 1000);
    int n = snprintf(out, 32, "%llu", (unsigned long long)(t / 1000));
    if (!frac)
        return;
    char f[8];
    snprintf(f, sizeof f, ".%03u", frac);
    for (size_t k = strlen(f); f[k - 1] == '0'; k--)
        f[k - 1] = '\0';
    snprintf(out + n, 32 - (size_t)n, "%s", f);
}

int pm_amount_parse(const char *s, uint64_t *out, err_t *e)
{
    uint64_t whole = 0, frac = 0;
    int digits = 0, decimals = -1;
    const char *p = s;
    for (; p && *p; p++) {
        if (*p == '.' && decimals < 0 && digits) {
            decimals = 0;
            continue;
        }
        if (*p < '0' || *p > '9' || decimals >= 3 ||
            (decimals < 0 && whole > UINT64_MAX / 10000))
            break;
        if (decimals >= 0)
            frac = frac * 10 + (uint64_t)(*p - '0'), decimals++;
        else
            whole = whole * 10 + (uint64_t)(*p - '0'), digits++;
    }
    if (!s || *p || !digits || decimals == 0)
        return err_set(e, ERR_INVALID, "amount '%.40s': not a number with at "
                       "most 3 decimals", s ? s : "");
    for (int k = decimals < 0 ? 3 : decimals; k < 3; k++)
        frac *= 10;
    /* the loop's guard keeps whole itself from wrapping, not whole * 1000
     * ("18446744073709552" read as 384); what pm_amount_fmt prints of any
     * uint64 reads back */
    if (whole > (UINT64_MAX - frac) / 1000)
        return err_set(e, ERR_INVALID, "amount '%.40s': more than "
                       "18446744073709551.615", s);
    *out = whole * 1000 + frac;
    return 0;
}
