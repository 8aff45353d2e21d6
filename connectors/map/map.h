/* map: the mapping engine. A mapping set is a directory of YAML mapping
 * tables (mappings/NAME.yaml) and shared code lists (mappings/codes/NAME.yaml),
 * compiled once at load into rule programs so that translating a message
 * parses no path text. Each table turns one local message (a syntax tree
 * from a codec) into a canonical record, and a record back into a tree.
 *
 * The engine includes no network, Redis or signing code; eportctl uses it
 * with no daemon. The language is documented in docs/mapping-language.md. */
#ifndef EPORT_MAP_H
#define EPORT_MAP_H

#include <stddef.h>

#include "arena.h"
#include "buf.h"
#include "codec.h"
#include "err.h"
#include "model.h"
#include "strict.h"

typedef struct map_set map_set;
typedef struct map_def map_def;

/* Problems found while loading (lint): one "file:line:col: error: why"
 * line each. */
typedef struct map_problem {
    char *text;
    struct map_problem *next;
} map_problem;

/* Load and compile every table below dir. *out (caller frees with
 * map_set_free) is set even when problems were found, holding the tables
 * that compiled; returns 0 when there were none, else ERR_CONFIG with the
 * first problem in e and all of them in map_set_problems(). */
int map_set_load(const char *dir, map_set **out, err_t *e);
void map_set_free(map_set *s);
/* An empty set (NULL when out of memory), to fill with map_set_add_text. */
map_set *map_set_new(void);
/* Add one table (codes = 0) or code list (codes = 1) from YAML text; name
 * is used in messages. Code lists must come before the tables using them.
 * Returns 0, or ERR_CONFIG with the problems in map_set_problems(). */
int map_set_add_text(map_set *s, const char *name, const char *text,
                     size_t len, int codes);
const map_problem *map_set_problems(const map_set *s);
size_t map_set_count(const map_set *s);

/* Table by name (its `mapping:` key), or NULL. */
const map_def *map_set_find(const map_set *s, const char *name);
/* The table whose file-name rule matches filename (base name), for inputs
 * that must be parsed with a table's codec options; NULL if none or more
 * than one. */
const map_def *map_set_by_filename(const map_set *s, const char *filename);
/* The one table that matches a parsed message; NULL with e saying why (none
 * matches, or two match equally). */
const map_def *map_set_select(const map_set *s, const codec_msg *m,
                              const char *filename, err_t *e);

const char *map_def_name(const map_def *d);
const char *map_def_format(const map_def *d);
/* The record kind the table reads and writes (`kind:`). */
const char *map_def_kind(const map_def *d);
/* Codec options the table declares (charset, csv delimiter, layouts). */
const codec_opts *map_def_codec_opts(const map_def *d);
/* The table's strictness (strict.h): `strictness:` over what it extends
 * over its kind's defaults; every rule set. */
const strict_set *map_def_strict(const map_def *d);

/* Called with each record a message yields (one, or one per `split`
 * match); the record is borrowed from the arena given to map_apply. A
 * non-zero return stops map_apply, which returns it. */
typedef int (*map_record_fn)(void *ctx, const codec_msg *m,
                             model_record *r);

/* Translate message m into records in arena a. A record with problems is
 * not passed to fn; every problem is added to m's diags (through b).
 * Returns 0 when there were none, else the first problem's code. */
int map_apply(const map_def *d, codec_batch *b, codec_msg *m, arena_t *a,
              map_record_fn fn, void *ctx);
/* map_apply with the table's strictness overridden where over (a
 * sender's, from the node configuration) sets a mode; over NULL: the
 * table's own. A slip of a lenient rule (a container number's check digit,
 * a value's trailing spaces) is a warning: the record gets it in
 * warnings[], m's diags a diag with warn set, and the record goes to fn. */
int map_apply_strict(const map_def *d, const strict_set *over,
                     codec_batch *b, codec_msg *m, arena_t *a,
                     map_record_fn fn, void *ctx);

/* ---- explaining a translation (eportctl map --explain) ---- */

/* One value a rule put into the record, and where it came from. */
typedef struct map_trace_hit {
    uint32_t rule_line;       /* the rule's line in the table */
    const char *to;           /* the target field, as the rule writes it */
    const char *from;         /* the source path, NULL for a constant */
    const char *value;        /* what the record got (after transforms) */
    const tnode *node, *leaf; /* where it came from (NULL: a constant):
                                 the segment or element, and the value's
                                 own node (an EDIFACT component) */
    const char *xform;        /* "codes customs_status", "date", ... or "" */
} map_trace_hit;
typedef void (*map_trace_fn)(void *ctx, const map_trace_hit *h);

/* map_apply, and trace(tctx, hit) for every value a rule sets. */
int map_apply_traced(const map_def *d, codec_batch *b, codec_msg *m,
                     arena_t *a, map_record_fn fn, void *ctx,
                     map_trace_fn trace, void *tctx);

/* Build the local message for record r (reverse direction) in arena a.
 * ERR_INVALID when r's kind is not the table's (`kind:`).
 * Set *out to NULL first; for a table with `split`, a non-NULL *out is a
 * message made by an earlier call (the very pointer it set: where the
 * next records go is kept beside it), and r becomes one more item of it
 * (one manifest document, one CSV file, one JSON feed), between the
 * records before it and the document's trailer. */
int map_reverse(const map_def *d, const model_record *r, arena_t *a,
                codec_msg **out, err_t *e);
/* Whether the table splits its input into several records. */
int map_def_splits(const map_def *d);

#endif
