/* lframe: the two small frames of the link layer (docs/protocol.md
 * section 6), which make each one-way peer link deliver in order and
 * exactly once in effect, across lost frames, reconnects and restarts:
 *
 *   header, before each envelope:  [1, [prev_ms, prev_seq], [pos_ms, pos_seq]]
 *   ack, the receiver's answer:    [1, [last_ms, last_seq], gap]
 *
 * A position is the id of the frame's entry in the sender's outbox
 * stream (a Redis stream id "ms-seq", time ordered), so neither side
 * keeps a counter that could be lost. Both frames are msgpack, version 1
 * first; they are tiny, so a frame longer than LFRAME_MAX is refused
 * before anything is unpacked. */
#ifndef EPORT_LFRAME_H
#define EPORT_LFRAME_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define LFRAME_VERSION 1
#define LFRAME_MAX 64 /* bytes; the longest header is 41 */

typedef struct lpos {
    uint64_t ms, seq;
} lpos;

/* <0, 0, >0 as a is before, equal to, after b. */
int lpos_cmp(lpos a, lpos b);

/* Encode into out (LFRAME_MAX bytes); the length goes to *n. */
int lframe_hdr_encode(lpos prev, lpos pos, unsigned char *out, size_t *n,
                      err_t *e);
int lframe_ack_encode(lpos last, int gap, unsigned char *out, size_t *n,
                      err_t *e);

/* Decode; ERR_SYNTAX / ERR_UNSUPPORTED / ERR_TOOBIG with "link header: ..."
 * or "link ack: ..." saying what is wrong. A header whose pos is not after
 * its prev is ERR_INVALID. */
int lframe_hdr_decode(const void *p, size_t n, lpos *prev, lpos *pos,
                      err_t *e);
int lframe_ack_decode(const void *p, size_t n, lpos *last, int *gap,
                      err_t *e);

#endif
