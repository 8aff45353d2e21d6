#include "check_tables.h"

#include <stdint.h>
#include <string.h>

/* ISO 3166-1 alpha-2, all 249 officially assigned codes (user-assigned
 * codes such as XK are not ISO's and are refused on purpose). Sorted. */
static const char check__countries[][3] = {
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT",
    "AU", "AW", "AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI",
    "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY",
    "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM",
    "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK",
    "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL",
    "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR",
    "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN",
    "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS",
    "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW",
    "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP",
    "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM",
    "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM",
    "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF",
    "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
};

/* ISO 4217 List One (active codes, funds and X-codes included) as published
 * 2026-01-01: 178 codes. Since the 2023 list XAD, XCG and ZWG came in;
 * ANG, BGN, CUC, HRK, SLL and ZWL went to the historic list. Sorted. */
static const char check__currencies[][4] = {
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM",
    "BBD", "BDT", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD",
    "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CLF",
    "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK",
    "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
    "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
    "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES",
    "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
    "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP",
    "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD",
    "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN",
    "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD",
    "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS",
    "VED", "VES", "VND", "VUV", "WST", "XAD", "XAF", "XAG", "XAU", "XBA",
    "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF", "XPT",
    "XSU", "XTS", "XUA", "XXX", "YER", "ZAR", "ZMW", "ZWG",
};

#define CHECK__N(a) (sizeof (a) / sizeof (a)[0])

/* The first w bytes of s as one number ordered as memcmp orders them. */
static uint32_t check__key(const char *s, size_t w)
{
    uint32_t k = 0;
    for (size_t i = 0; i < w; i++)
        k = k << 8 | (unsigned char)s[i];
    return k;
}

/* Binary search of n sorted rows of width w (stride bytes apart) for the
 * first w bytes of p: bsearch's comparator call and a memcmp per probe
 * showed in the translation profile (every UN/LOCODE and country). */
static int check__find(const char *rows, size_t n, size_t stride, size_t w,
                       const char *p)
{
    uint32_t key = check__key(p, w);
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t k = check__key(rows + mid * stride, w);
        if (k == key)
            return 1;
        if (k < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

int check_country_known(const char *p)
{
    return check__find(check__countries[0], CHECK__N(check__countries),
                       sizeof check__countries[0], 2, p);
}

int check_currency_known(const char *p)
{
    return check__find(check__currencies[0], CHECK__N(check__currencies),
                       sizeof check__currencies[0], 3, p);
}

/* A binary search silently misses on an unsorted table, so a test calls
 * this. */
int check_tables_sorted(void)
{
    for (size_t i = 1; i < CHECK__N(check__countries); i++)
        if (memcmp(check__countries[i - 1], check__countries[i], 2) >= 0)
            return 0;
    for (size_t i = 1; i < CHECK__N(check__currencies); i++)
        if (memcmp(check__currencies[i - 1], check__currencies[i], 3) >= 0)
            return 0;
    return 1;
}

size_t check_country_count(void)
{
    return CHECK__N(check__countries);
}

size_t check_currency_count(void)
{
    return CHECK__N(check__currencies);
}
