/* mvev_int: what the files of the movement event module share: the key
 * table of the wire form (mvev.c writes it, mvev_decode.c reads it with
 * the strict cursor of mpread.h). Not for use outside mvev*.c. */
#ifndef EPORT_MVEV_INT_H
#define EPORT_MVEV_INT_H

#include <stddef.h>
#include <stdint.h>

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

#endif
