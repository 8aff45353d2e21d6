/* mvev_int: what the files of the movement event module share: the key
 * table of the wire form (mvev.c), and the strict in-place msgpack
 * cursor (mvev_decode.c) that mvrule_state.c reuses for the state's
 * wire form. Not for use outside mvev*.c and mvrule*.c. */
#ifndef EPORT_MVEV_INT_H
#define EPORT_MVEV_INT_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "mvev.h"

/* ---- the keys of the event wire form, in wire order ---- */

typedef enum mvev_kind {
    MVK_V, MVK_T, MVK_STR, MVK_U64, MVK_U32, MVK_ITIN, MVK_DOCS, MVK_CTRS,
    MVK_REC
} mvev_kind;

typedef struct mvev_key {
    const char *name;
    mvev_kind kind;
    size_t off;   /* of the field in mv_event */
    size_t max;   /* strings: bytes */
    uint32_t bit; /* in a presence mask */
} mvev_key;

#define MVEV_NKEYS 19
extern const mvev_key mvev_keys[MVEV_NKEYS];

/* The string field of key k (kind MVK_STR) in ev. */
const char **mvev_strp(const mv_event *ev, const mvev_key *k);

/* ---- the cursor ---- */

typedef struct mvrd {
    const unsigned char *p, *end;
    const char *what;  /* "movement event": how messages start */
    const char *key;   /* the key whose value is read, NULL: the map */
    int64_t entry;     /* array entry being read, or -1 */
    err_t *e;
} mvrd;

/* One msgpack family: its fix range and its tagged forms with their
 * width and the least value each may carry (shortest form only). */
typedef struct mvrd_form {
    const char *name;
    unsigned char fix_lo, fix_hi, fix_mask; /* fix_mask 0: no fix form */
    unsigned char tag[4], width[4];
    uint64_t min[4];
} mvrd_form;

extern const mvrd_form MVRD_UINT, MVRD_STR, MVRD_BIN, MVRD_ARRAY, MVRD_MAP;

void mvrd_init(mvrd *r, const void *p, size_t n, const char *what,
               err_t *e);
size_t mvrd_left(const mvrd *r);
/* "<what> key \"k\" entry 2: <why>" into r->e; returns code. */
int mvrd_fail(mvrd *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A header of family f in its shortest form: *v the value or length. */
int mvrd_head(mvrd *r, const mvrd_form *f, uint64_t *v);
/* A str (no NUL inside) or bin body of at most max bytes, borrowed. */
int mvrd_bytes(mvrd *r, const mvrd_form *f, size_t max,
               const unsigned char **p, size_t *n);
/* A string of at most max bytes, copied NUL-terminated into a. */
int mvrd_str(mvrd *r, size_t max, arena_t *a, const char **out);
/* An array header of min to max entries. */
int mvrd_array(mvrd *r, uint32_t min, uint32_t max, uint32_t *n);
/* The next key of a map with keys in table order, each at most once:
 * table has n rows of stride bytes, each starting with its name (const
 * char *); the key must be row after or later. *k: its row. */
int mvrd_key(mvrd *r, const void *table, size_t stride, size_t n,
             size_t after, size_t *k);
/* An unsigned integer of 1 to max (0 is spelt by leaving the key out). */
int mvrd_uint(mvrd *r, uint64_t max, uint64_t *v);

#endif
