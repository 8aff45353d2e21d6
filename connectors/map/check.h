/* check: validation rules a mapping table attaches to a field (container
 * and wagon numbers, locations, tariff, currency and country codes, dates).
 * Each returns 0 when the value is valid, else ERR_INVALID with a message
 * that quotes the value and says what is wrong, for the sender to fix;
 * a value of the right shape whose check digit alone is wrong gets
 * ERR_CHECK_DIGIT instead, which a table may let through (strict.h, the
 * check_digits rule).
 * Allocation-free and locale-independent; codes are case-sensitive (upper
 * case, as the standards define them): normalise with xform_upper first if
 * a partner sends lower case. */
#ifndef EPORT_CHECK_H
#define EPORT_CHECK_H

#include "err.h"

/* ISO 6346 container number: owner code (3 letters), category U, J or Z,
 * 6-digit serial, check digit, e.g. "CSQU3054383". */
int check_iso6346(const char *s, err_t *e);
/* Check digit (0-9; remainder 10 counts as 0) of the first 10 characters
 * (4 capital letters, 6 digits); -1 if they are not of that shape. */
int check_iso6346_digit(const char *s10);
/* UN/LOCODE "CNSHA": an ISO 3166 country (or XZ, which UN/LOCODE uses for
 * installations in international waters) and 3 of A-Z, 2-9. No space. */
int check_unlocode(const char *s, err_t *e);
/* HS / national tariff code: 6 to 10 digits, no dots or spaces, chapter
 * not 00. */
int check_hs(const char *s, err_t *e);
/* ISO 4217 active alphabetic code (List One, 2026-01-01). */
int check_iso4217(const char *s, err_t *e);
/* ISO 3166-1 alpha-2 officially assigned code. */
int check_country(const char *s, err_t *e);
/* ISO 8601 as xform writes it: "2024-03-05", "2024-03-05T14:30[:15[.123]]"
 * with optional Z or +hh:mm after a time (see xform_iso_parse). */
int check_datetime(const char *s, err_t *e);
/* UIC wagon number: 12 digits, the last a Luhn self-check digit over the
 * first 11 (weights 2,1,2,...), e.g. "218124712173". */
int check_uic_wagon(const char *s, err_t *e);

/* Validator by name for the mapping compiler: "iso6346", "unlocode", "hs",
 * "iso4217", "country", "datetime", "uic_wagon"; NULL when unknown. */
typedef int (*check_fn)(const char *s, err_t *e);
check_fn check_find(const char *name);

#endif
