/* ydoc: a YAML file loaded (libyaml) into a small tree that remembers the
 * line and column of every node, so mapping tables and node configs can
 * report "file:line:col: error: why" for any value they reject.
 *
 * Only what configuration needs: scalars, sequences, mappings; anchors,
 * aliases and tags are refused (they make reviews of shared federation
 * files harder and allow alias bombs). Everything lives in one arena. */
#ifndef EPORT_YDOC_H
#define EPORT_YDOC_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"

#define YDOC_MAX_BYTES (8u << 20) /* a mapping table is small; cap it */
#define YDOC_MAX_DEPTH 64

typedef enum { YD_SCALAR, YD_SEQ, YD_MAP } ydoc_type;

typedef struct ynode ynode;
struct ynode {
    ydoc_type type;
    const char *key;   /* in a map: this entry's key; else NULL */
    const char *value; /* scalars */
    int quoted;        /* scalar was quoted: never a number/bool */
    uint32_t line, col; /* 1-based */
    uint32_t nkids;
    ynode *kids, *last, *next;
};

typedef struct ydoc {
    const char *file; /* as given, for messages */
    ynode *root;      /* NULL for an empty document */
} ydoc;

/* Load path into doc (all memory from a, borrowed). e: "path:l:c: error:". */
int ydoc_load_file(const char *path, arena_t *a, ydoc *doc, err_t *e);
/* Same from memory; name is used in messages. */
int ydoc_load(const char *name, const char *text, size_t len, arena_t *a,
              ydoc *doc, err_t *e);

/* Entry of map n named key, or NULL. */
ynode *ydoc_get(const ynode *n, const char *key);
/* Scalar text of entry key of map n, or NULL when absent/not a scalar. */
const char *ydoc_str(const ynode *n, const char *key);

/* Fill e with "file:line:col: error: <fmt>" at node n; returns code. */
int ydoc_err(const ydoc *d, const ynode *n, err_t *e, int code,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
