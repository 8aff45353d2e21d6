/* mvref: the movement reference, the federation-unique name of one
 * cross-region movement (like an EU NCTS MRN), allocated by the region of
 * departure. 18 characters:
 *
 *   YY  RR  NNNNNNNNNNNNN  C
 *   2-digit year, 2-letter departure region, 13 of [0-9A-Z] (a per-region
 *   sequence in base 36, zero-padded), 1 check character
 *
 * The check character is ISO/IEC 7064 MOD 37,36 (the hybrid system for
 * alphanumeric strings) over the first 17 characters, so every single
 * wrong character is caught and nearly every swap of two neighbours (the
 * standard promises "all or nearly all": about 1 swap in 500 keeps the
 * check character, e.g. 04CQ0000019XTF1TR8 / 04CQ0000109XTF1TR8); the
 * algorithm is spelt out in docs/clearance.md for other implementers.
 * No allocation anywhere. */
#ifndef EPORT_MVREF_H
#define EPORT_MVREF_H

#include <stdint.h>

#include "err.h"

#define MVREF_LEN 18
#define MVREF_SEQ_LEN 13
/* 36^13 > 2^64: every uint64_t seq fits in the 13 characters. */

/* The reference for year (0-99), region (2 upper-case letters) and seq;
 * ERR_INVALID naming the bad argument. */
int mvref_make(unsigned year2, const char *region, uint64_t seq,
               char out[MVREF_LEN + 1], err_t *e);

/* 0 when s is a well-formed reference with the right check character;
 * ERR_INVALID "movement reference '26CQ...': check character is 'X',
 * expected 'Y'" (or which position has a character not allowed). */
int mvref_check(const char *s, err_t *e);

/* The check character of the 17 characters s[0..17) (upper-case [0-9A-Z]
 * assumed; '?' when one is not). */
char mvref_check_char(const char *s17);

/* The departure region of a checked reference: out = s[2..4). */
void mvref_region(const char *ref, char out[3]);

#endif
