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
     * the message and why (and " [RULE]" when a strict rule refused a
     * slip, strict.h). */
    void (*problem)(void *ctx, uint32_t line, uint32_t col, const char *msg);
    void *ctx;
    /* Optional (NULL: the records' warnings[] say it all): a slip a
     * lenient rule let through, worded as a problem ("... [RULE]"). */
    void (*warning)(void *ctx, uint32_t line, uint32_t col, int rule,
                    const char *msg);
    /* Optional: the sender's strictness over the tables' (the node's
     * clients[].strict / .lenient); NULL: the tables' own. */
    const strict_set *strict;
} xlate_sink;

typedef struct xlate_stats {
    uint32_t messages; /* messages found in the input */
    uint32_t records;  /* records handed to the sink */
    uint32_t problems; /* problem lines reported */
    uint32_t warnings; /* slips let through (lenient), each once */
} xlate_stats;

/* Strictness (strict.h, docs/mapping-language.md "Strict and lenient"):
 * the slips a codec finds are judged by the table chosen for their
 * message (and the sender over it). Strict, the message is refused as for
 * any problem; lenient, each of its records carries the slip in
 * warnings[]. A slip outside any message (a BOM, the UNZ count) goes
 * into the records of the messages after it, and is an error when a
 * table that read the input holds its rule strict. */
/* Translate data[0..len). name is the input's name (file rules, messages);
 * forced, if not NULL, is the table to use for every message. Scratch
 * memory comes from a (the caller resets it between inputs). Returns 0
 * when the input was read (problems in messages are reported through the
 * sink and counted, not returned); negative when nothing could be read. */
int xlate_input(const map_set *s, const map_def *forced, const char *name,
                const char *data, size_t len, arena_t *a,
                const xlate_sink *sink, xlate_stats *st, err_t *e);

#endif
