/* xform: the value transforms a mapping table applies to one field: dates
 * between EDIFACT (code list 2379), pattern formats and ISO 8601; numbers
 * with either decimal mark; ASCII case and whitespace.
 *
 * They run once per field per message, so none allocates, none depends on
 * the process locale, and all write into caller-sized buffers (ERR_TOOBIG
 * when the buffer is short). Errors are ERR_INVALID for bad data, with a
 * message naming the text, and ERR_CONFIG / ERR_UNSUPPORTED / ERR_USAGE for
 * a bad pattern, code or argument, i.e. a mapping-table mistake. */
#ifndef EPORT_XFORM_H
#define EPORT_XFORM_H

#include <stddef.h>

#include "err.h"

/* How much of an xform_dt is meaningful. */
enum xform_prec { XFORM_DATE, XFORM_MIN, XFORM_SEC, XFORM_MSEC };
/* Whether a time carries a zone: none (local), 'Z', or a +hh:mm offset. */
enum xform_zone { XFORM_ZNONE, XFORM_ZUTC, XFORM_ZOFF };

/* A broken-down timestamp, always valid when a function here filled it. */
typedef struct xform_dt {
    int year, mon, day;      /* 1-9999, 1-12, 1-31 */
    int hour, min, sec, msec;
    int prec;                /* enum xform_prec */
    int zone;                /* enum xform_zone */
    char zsign;              /* '+' or '-' for XFORM_ZOFF ("-00:00" kept) */
    int zoff;                /* offset in minutes, >= 0, for XFORM_ZOFF */
} xform_dt;

/* Longest ISO text xform writes, NUL included: 2024-03-05T14:30:15.123+08:00 */
#define XFORM_ISO_MAX 32

/* EDIFACT date/time (2379) to ISO 8601; the text must be exact (no spaces:
 * trim fixed-width fields first). Codes: 2 DDMMYY, 3 MMDDYY,
 * 4 DDMMCCYY, 5 DDMMCCYYHHMM, 10 CCYYMMDDTHHMM, 101 YYMMDD, 102 CCYYMMDD,
 * 201 YYMMDDHHMM, 202 YYMMDDHHMMSS, 203 CCYYMMDDHHMM, 204 CCYYMMDDHHMMSS,
 * 205 CCYYMMDDHHMMZHHMM, 206/207/208 (2-digit-year and seconds variants of
 * 205), 301-304 [CC]YYMMDDHHMM[SS]ZZZ, 717 YYMMDD-YYMMDD, 718
 * CCYYMMDD-CCYYMMDD, 719 CCYYMMDDHHMM-CCYYMMDDHHMM (periods: the first
 * date; written without the hyphen per the directory, accepted with it).
 * YY: 00-69 -> 20YY, 70-99 -> 19YY. ZZZ of 301-304 is not defined by the
 * directory; read as "UTC"/"GMT" (-> Z) or a signed hour "+08" (-> +08:00).
 * Output: "2024-03-05", "2024-03-05T14:30", "2024-03-05T14:30:15",
 * "2024-03-05T14:30+02:00". */
int xform_edi_date(const char *code, const char *in, char *out, size_t outsz,
                   err_t *e);
/* 1 if code is a 2379 code xform reads and writes, else 0: for the mapping
 * compiler, so a table with an unknown code fails lint, not a message. */
int xform_edi_supported(const char *code);
/* A period code (717-719) as both ends; for a non-period code, to gets the
 * same value as from. to may be NULL. */
int xform_edi_period(const char *code, const char *in, char *from,
                     size_t fromsz, char *to, size_t tosz, err_t *e);
/* ISO 8601 (as produced above) to EDIFACT. code NULL or "": 102 for a date,
 * 203 with minutes, 204 with seconds or milliseconds; "start/end" gives
 * 718 (dates) or 719. Without a zone code the zone is dropped (local time
 * kept); zone codes need one in the text ('Z' is +0000 / UTC). A time is
 * padded with zeros or truncated to the code's precision, but a date alone
 * never becomes a time (midnight would be invented): ERR_INVALID. Period
 * codes need "start/end" and others refuse it. *code_used (may be NULL)
 * gets the static code string, or NULL on error. */
int xform_iso_to_edi(const char *iso, const char *code, char *out,
                     size_t outsz, const char **code_used, err_t *e);

/* Pattern dates: fields yyyy yy MM dd HH mm ss SSS; 'quoted text' is a
 * literal ('' is one quote), as in Java, so "yyyy-MM-dd'T'HH:mm" works as
 * copied; every other character is a literal that must match, byte for
 * byte (so "yyyy年MM月dd日" works). A lone field letter ("yyy", "M") is
 * ERR_CONFIG, being a typo far more often than a literal. The pattern must
 * hold year, month and day; HH alone gives minutes precision (":00").
 * Fields are fixed width: "5/3/2024" does not match "dd/MM/yyyy". Writing
 * (iso_to_pattern) follows the xform_iso_to_edi rules: padding and
 * truncation of time, no date-to-time, zone dropped, yy only 1970-2069. */
int xform_date_pattern(const char *pattern, const char *in, char *out,
                       size_t outsz, err_t *e);
int xform_iso_to_pattern(const char *pattern, const char *iso, char *out,
                         size_t outsz, err_t *e);
/* For the mapping compiler: 0 if pattern is usable, else ERR_CONFIG. */
int xform_pattern_check(const char *pattern, err_t *e);

/* ISO 8601 text <-> xform_dt. Accepts "2024-03-05", "...T14:30",
 * "...:15", "...:15.1" to 9 fraction digits (kept to milliseconds), then
 * optionally 'Z' or +hh:mm / -hh:mm (hh <= 14) after a time. */
int xform_iso_parse(const char *iso, xform_dt *dt, err_t *e);
int xform_iso_format(const xform_dt *dt, char *out, size_t outsz);

/* The sender's zone (a table's `zone`, xform_zone.c). parse: "+08:00",
 * "-05:30" or "Z" (hh <= 14) into minutes east of UTC, else ERR_CONFIG.
 * assume: a date-time without a zone gets this one (reading); convert: a
 * date-time with a zone is expressed in this one, the same instant
 * (writing to a format that keeps only local digits). Dates alone, and
 * in convert local date-times, are left as they are. */
int xform_zone_parse(const char *text, int *minutes, err_t *e);
int xform_zone_assume(const char *iso, int minutes, char *out, size_t outsz,
                      err_t *e);
int xform_zone_convert(const char *iso, int minutes, char *out, size_t outsz,
                       err_t *e);

/* Numbers: xs:decimal grammar with the chosen mark ("12", "-1.5", ".5",
 * "5."), optional spaces/tabs around; no grouping, exponent, hex, inf or nan;
 * at most 18 significant digits (leading zeros and trailing fraction zeros
 * do not count). Correctly rounded, locale-independent. */
int xform_number(const char *in, char decimal_mark, double *out, err_t *e);
/* Plain decimal text (never an exponent) of v rounded to 15 significant
 * digits, trailing zeros dropped. 15 is the most a double always holds, so
 * any decimal of up to 15 digits round-trips exactly, and arithmetic noise
 * goes: 0.1+0.2 -> "0.3", 20 -> "20". -0 -> "0". ERR_INVALID for NaN/inf or
 * a mark other than '.' ','; ERR_TOOBIG if out is short. */
int xform_number_text(double v, char decimal_mark, char *out, size_t outsz);

/* Case and whitespace, in place. ASCII only: UTF-8 multibyte sequences
 * (bytes >= 0x80) are never touched, so Chinese names pass through. */
void xform_upper(char *s);
void xform_lower(char *s);
/* Trims spaces, tabs, CR and LF at both ends; returns s advanced. */
char *xform_trim(char *s);
/* Collapses every run of spaces/tabs/CR/LF to one space (ends included:
 * combine with xform_trim). */
void xform_squeeze(char *s);

#endif
