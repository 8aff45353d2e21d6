/* tree: the syntax tree every codec parses into and writes from, so the
 * mapping engine reads and builds one shape whatever the local format.
 *
 * A node has a name, an optional text value and ordered children. Shapes:
 *   edifact  message -> segments (name = tag, "NAD") -> elements (name "")
 *            -> components (name "", value). Every element has >= 1
 *            component; an omitted one has value "". Service segments
 *            (UNA UNB UNG UNH UNT UNE UNZ) are not in the tree: their data
 *            is in codec_meta. seq = segment number in the message (UNH = 1).
 *   xml      element -> child elements (local name, no prefix) and
 *            attributes (name "@attr", TN_ATTR); text of a leaf element in
 *            value. Root = the document element.
 *   json     object members and array elements become children named by
 *            their key (array elements repeat the key, flagged TN_LIST);
 *            scalars are values, flagged TN_NUM / TN_BOOL / TN_NULL.
 *   csv      root "file" -> "row" nodes (seq = line) -> cells named by the
 *            header (or "1", "2", ... without one).
 *   fixed    root "file" -> records named by record type -> fields named
 *            by the layout.
 * All strings are UTF-8, NUL-terminated, owned by the arena the tree was
 * built in; nothing in a tree is freed on its own. */
#ifndef EPORT_TREE_H
#define EPORT_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"

enum tnode_flags {
    TN_ATTR = 1 << 0, /* XML attribute */
    TN_LIST = 1 << 1, /* JSON array element: write back as an array */
    TN_NUM = 1 << 2,  /* JSON number (value holds its text) */
    TN_BOOL = 1 << 3, /* JSON true/false (value "true"/"false") */
    TN_NULL = 1 << 4, /* JSON null (value NULL) */
    TN_OBJ = 1 << 5,  /* JSON object (even when it has no members) */
    /* The children sit in one array in order (kids[i] is the i-th), so
     * tree_kid is O(1): EDIFACT segments and elements, read by position
     * for every rule. Set by the codec that lays them out so; tree_add
     * clears it; tree_equal does not compare it. */
    TN_SEQ = 1 << 6,
};

typedef struct tnode tnode;
struct tnode {
    const char *name;  /* never NULL; "" for positional children */
    const char *value; /* NULL for inner nodes */
    uint32_t vlen;     /* strlen(value) */
    uint32_t flags;    /* tnode_flags */
    uint32_t nkids;
    uint32_t line, col; /* where it starts in the input, 1-based; 0: built */
    uint32_t seq;       /* segment number (edifact), line (csv/fixed) */
    tnode *kids, *last; /* first and last child */
    tnode *next;        /* next sibling */
};

/* New node in a (borrowed from a); name and value are copied. value may be
 * NULL. NULL when the arena is exhausted. */
tnode *tree_new(arena_t *a, const char *name, const char *value);
/* Same, value given as bytes s[0..n) (need not be NUL-terminated). */
tnode *tree_newn(arena_t *a, const char *name, const char *s, size_t n);
/* Append child to parent; returns child. */
tnode *tree_add(tnode *parent, tnode *child);
/* New child named name with value appended to parent (NULL on no memory). */
tnode *tree_add_new(arena_t *a, tnode *parent, const char *name,
                    const char *value);

/* i-th child (0-based) or NULL. O(1) with TN_SEQ, else O(i). */
static inline tnode *tree_kid(const tnode *n, uint32_t i)
{
    if (n->flags & TN_SEQ)
        return i < n->nkids ? &n->kids[i] : NULL;
    tnode *k = n->kids;
    while (k && i--)
        k = k->next;
    return k;
}
/* First child named name, or NULL. */
tnode *tree_find(const tnode *n, const char *name);

/* 1 when a and b are the same tree, else 0. Compared, recursively: name
 * (strcmp), value (both NULL, or equal by strcmp), every flag but
 * TN_SEQ, and the children: same number, pairwise equal, in order. Not
 * compared: where the nodes came from (line, col, seq) and vlen
 * (strlen(value) by contract). Two NULLs are equal, NULL and a node are not. Recursion is
 * as deep as the trees (codecs cap input nesting). For tests, fuzzers and
 * round-trip checks (a parse and the parse of its rewrite). */
int tree_equal(const tnode *a, const tnode *b);

/* Debug/test form: one node per line, indented two spaces per level,
 * `name=value` (newlines in values written as \n). Appends to out;
 * returns 0 or ERR_*. */
struct buf;
int tree_dump(const tnode *n, struct buf *out);

#endif
