/* xlate: one input (a file, an HTTP body) through the whole edge: pick the
 * codec, parse, pick the mapping table per message, run it, and hand each
 * canonical record and each problem to the caller. eportctl map, the
 * benchmarks and the node's intake all translate through this one path. */
#ifndef EPORT_XLATE_H
#define EPORT_XLATE_H

#include "arena.h"
#include "codec.h"
#include "map.h"
#include "model.h"

typedef struct xlate_sink {
    /* A translated record, borrowed until the callback returns (streaming
     * codecs reuse its memory for the next message). A positive return
     * stops the translation; xlate_input then returns 0. */
    int (*record)(void *ctx, const codec_msg *m, const map_def *d,
                  model_record *r);
    /* A problem: line/col in the input (0 if unknown), msg says where in
     * the message and why. */
    void (*problem)(void *ctx, uint32_t line, uint32_t col, const char *msg);
    void *ctx;
} xlate_sink;

typedef struct xlate_stats {
    uint32_t messages; /* messages found in the input */
    uint32_t records;  /* records handed to the sink */
    uint32_t problems; /* problem lines reported */
} xlate_stats;

/* Translate data[0..len). name is the input's name (file rules, messages);
 * forced, if not NULL, is the table to use for every message. Scratch
 * memory comes from a (the caller resets it between inputs). Returns 0
 * when the input was read (problems in messages are reported through the
 * sink and counted, not returned); negative when nothing could be read. */
int xlate_input(const map_set *s, const map_def *forced, const char *name,
                const char *data, size_t len, arena_t *a,
                const xlate_sink *sink, xlate_stats *st, err_t *e);

#endif
