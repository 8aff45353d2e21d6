/* msgid: message ids that sort by creation time and are unique across the
 * federation without coordination, in the ULID form: 26 characters of
 * Crockford base32 (0-9 A-Z without I L O U) carrying a 48-bit Unix time
 * in milliseconds followed by 80 random bits from getrandom().
 *
 * Ids made by one process are strictly increasing, even within the same
 * millisecond (the random part is incremented rather than drawn again)
 * and even when the wall clock steps back (the last millisecond is kept),
 * so an outbox ordered by id is ordered by creation. msgid_new is
 * thread-safe.
 *
 * Only the canonical spelling is accepted (upper case, no I/L/O aliases):
 * ids are dedupe keys, and two spellings of one id would be applied twice. */
#ifndef EPORT_MSGID_H
#define EPORT_MSGID_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MSGID_LEN 26                      /* characters, without the NUL */
#define MSGID_RAND_BYTES 10               /* 80 random bits */
#define MSGID_MAX_MS ((1ull << 48) - 1)   /* last millisecond a ULID holds */

/* A new id, NUL-terminated, in out. Fails only when the clock or the
 * kernel's random source cannot be read (ERR_IO), the clock is past what
 * 48 bits hold (ERR_INVALID, year 10889), or 2^80 ids were asked for in
 * one millisecond (ERR_TOOBIG). */
int msgid_new(char out[MSGID_LEN + 1], err_t *e);

/* Checks that s is one canonical id (exactly 26 characters) and gives its
 * time in *ms (ms may be NULL). ERR_INVALID names the first bad position. */
int msgid_parse(const char *s, uint64_t *ms, err_t *e);

/* The time of a valid id in *ms; ERR_INVALID (no message) when the id is
 * not valid. For callers that only sort or age ids already checked. */
int msgid_time(const char *id, uint64_t *ms);

/* The generator state behind msgid_new, exposed so that a caller (and the
 * tests) can run a private, deterministic sequence: msgid_next with the
 * same now_ms twice gives two consecutive ids. Not thread-safe by itself;
 * a zeroed struct is a fresh generator. */
typedef struct msgid_gen {
    uint64_t ms;                          /* time of the last id */
    unsigned char rnd[MSGID_RAND_BYTES];  /* random part of the last id */
    int started;                          /* 0 until the first id */
} msgid_gen;

/* Next id of g at time now_ms. fresh holds MSGID_RAND_BYTES random bytes,
 * used only when now_ms is past the last id's millisecond (or g is new);
 * otherwise the last id's random part is incremented. */
int msgid_next(msgid_gen *g, uint64_t now_ms, const unsigned char *fresh,
               char out[MSGID_LEN + 1], err_t *e);

/* A deterministic id: time ms, and for the 80 other bits the first 80 of
 * SHA-256(key[0..n)). For messages a node must send at most once even
 * when it decides to send them again after a crash (the movement
 * ledger's automatic steps): the same key gives the same id, which the
 * store's submit dedupes. Keys must be unique across the federation
 * (name the authoring node in them); ids made so do not sort by creation.
 * ERR_INVALID when ms is past 48 bits, ERR_IO when hashing fails. */
int msgid_derive(uint64_t ms, const void *key, size_t n,
                 char out[MSGID_LEN + 1], err_t *e);

#endif
