/* mpread: the strict msgpack reader that envelopes, receipts, movement
 * events and movement states are decoded with.
 *
 * A cursor over a borrowed buffer, read in place. msgpack_unpack_next
 * builds the whole object tree before a single cap can be checked (a
 * 5-byte array header claiming 2^32 entries would cost gigabytes); here
 * every length is checked against its cap and against the bytes left
 * before anything is copied, only the family a reader asks for is
 * accepted, and each header must be in its shortest form (the form
 * msgpack-c's packer writes), so decode then encode gives back the bytes
 * that were signed.
 *
 * Failures are "<where>: <why>" in r->e, where is formatted only when a
 * read fails (a valid input never needs it, and formatting it per field
 * once cost a sixth of a node's CPU): by default from what, key and
 * entry, else by the caller's where function. */
#ifndef EPORT_MPREAD_H
#define EPORT_MPREAD_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"

typedef struct mpread mpread;

/* Writes where the next reads belong into buf of n bytes. */
typedef void mpread_where_fn(const mpread *r, char *buf, size_t n);

struct mpread {
    const unsigned char *p, *end; /* borrowed: the caller's bytes */
    err_t *e;
    const char *what;  /* how messages start: "movement event" */
    const char *key;   /* the key whose value is read; NULL: none */
    int64_t entry;     /* the array entry as messages number it; -1: none */
    mpread_where_fn *where; /* NULL: mpread_where */
};

/* One msgpack family: its fix range (values in the low bits of the first
 * byte) and its tagged forms with their width and the least value each
 * may carry (anything smaller belongs in a shorter form). */
typedef struct mpread_form {
    const char *name;
    unsigned char fix_lo, fix_hi, fix_mask; /* fix_mask 0: no fix form */
    unsigned char tag[4], width[4];
    uint64_t min[4];
} mpread_form;

extern const mpread_form MPREAD_UINT, MPREAD_STR, MPREAD_BIN, MPREAD_ARRAY,
    MPREAD_MAP;

/* A cursor over p[0..n), borrowed until the last read; messages start
 * with what (a string that outlives r). */
void mpread_init(mpread *r, const void *p, size_t n, const char *what,
                 err_t *e);
size_t mpread_left(const mpread *r);
/* The default where: "<what>[ key \"<key>\"[ entry N]]". */
void mpread_where(const mpread *r, char *buf, size_t n);
/* "<where>: <why>" into r->e; returns code. */
int mpread_fail(mpread *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* ERR_SYNTAX "<what>: N trailing bytes after the <outer>" unless the
 * whole input was read. */
int mpread_done(mpread *r, const char *outer);

/* A header of family f in its shortest form: *v the value (integers) or
 * the length; *v is set on failure too (never left uninitialised). */
int mpread_head(mpread *r, const mpread_form *f, uint64_t *v);
/* A str (no NUL inside) or bin body of at most max bytes, borrowed. */
int mpread_bytes(mpread *r, const mpread_form *f, size_t max,
                 const unsigned char **p, size_t *n);
/* A string into dst of cap bytes, NUL included. */
int mpread_str_into(mpread *r, char *dst, size_t cap);
/* A string of at most max bytes, copied NUL-terminated into a. */
int mpread_str(mpread *r, size_t max, arena_t *a, const char **out);
/* A bin of at most max bytes copied into a; an empty one leaves *out. */
int mpread_bin(mpread *r, size_t max, arena_t *a, const unsigned char **out,
               size_t *n);
/* 1 and the nil skipped when the next value is nil, else 0. */
int mpread_nil(mpread *r);
/* An unsigned integer of at most max. */
int mpread_uint(mpread *r, uint64_t max, uint64_t *v);
/* The same from 1: 0 is spelt by leaving the key out. */
int mpread_count(mpread *r, uint64_t max, uint64_t *v);
/* An array header of min to max entries. */
int mpread_array(mpread *r, uint32_t min, uint32_t max, uint32_t *n);

/* ---- maps with keys in table order ----
 * table holds n rows of stride bytes, each starting with its name (const
 * char *); row 0 is "v", the version. */

/* The next key, a row at or after after, each at most once: *k gets its
 * row and r->key its name. */
int mpread_key(mpread *r, const void *table, size_t stride, size_t n,
               size_t after, size_t *k);
/* The map header and "v" first, so that another version is told apart
 * before its keys are judged by this one's rules: *nkeys the map's. */
int mpread_map_v(mpread *r, const void *table, size_t stride, size_t n,
                 unsigned version, uint64_t *nkeys);

#endif
