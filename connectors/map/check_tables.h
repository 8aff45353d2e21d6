/* check_tables: the reference code lists the validators look codes up in
 * (ISO 3166-1 alpha-2 countries, ISO 4217 active currencies), kept apart
 * from check.c so the rules stay readable and the lists easy to refresh. */
#ifndef EPORT_CHECK_TABLES_H
#define EPORT_CHECK_TABLES_H

#include <stddef.h>

/* 1 if the 2 (country) or 3 (currency) bytes at p are a listed code; p
 * need not be NUL-terminated but must have that many bytes. Upper case
 * only, as the codes are defined. */
int check_country_known(const char *p);
int check_currency_known(const char *p);

/* 1 when both tables are strictly ascending, as the search needs. */
int check_tables_sorted(void);
size_t check_country_count(void);
size_t check_currency_count(void);

#endif
