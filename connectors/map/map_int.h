/* map_int: the compiled form of a mapping table, shared by the compiler
 * (map_compile.c), the forward runner (map_run.c) and the reverse runner
 * (map_reverse.c). Nothing outside connectors/map/ includes it. */
#ifndef EPORT_MAP_INT_H
#define EPORT_MAP_INT_H

#include <regex.h>
#include <stdint.h>

#include "check.h"
#include "map.h"
#include "tree.h"
#include "ydoc.h"

#define MAP_MAX_QUALS 4
#define MAP_MAX_CHECKS 8
#define MAP_VALUE_MAX 65536 /* one mapped value */

/* ---- paths over the syntax tree (map_path.c) ---- */

typedef struct mstep {
    const char *name;  /* child name to match; "*" matches any */
    const char *quals[MAP_MAX_QUALS]; /* edifact NAD+CZ: element i comp 1 */
    uint8_t nquals;
    const char *pred_key, *pred_val; /* Party[RoleCode=CZ] */
    uint16_t pred_elem, pred_comp;   /* COM[1.2=TE]: by position */
    uint32_t nth;                    /* [2]: second match, 0 = every */
    int list; /* NAME[]: repeats per item when written back (a JSON array,
                 one TransportEquipment per container) */
} mstep;

#define MSTEP_LAST UINT32_MAX /* [last] */

enum {
    MP_TREE,  /* steps from the scope */
    MP_INDEX, /* #index: 1-based instance number */
    MP_SELF,  /* ".": the scope's own node (each: . makes one instance) */
};

typedef struct mpath {
    const char *text; /* as written, for messages */
    mstep *steps;
    uint32_t nsteps;
    uint16_t elem, comp; /* .E.C positions after the last step, 0 = none */
    int kind;            /* MP_* */
    int rooted;          /* "/ID": from the message root, not the scope */
} mpath;

/* Where each segment tag first occurs in a message: most rules ask for
 * the first match of a tag among ~80 segments, and scanning from the top
 * for each was the engine's largest cost. Built once per message. */
#define MINDEX_SLOTS 256
typedef struct mindex {
    const char *name[MINDEX_SLOTS];
    const tnode *first[MINDEX_SLOTS];
    const tnode *last[MINDEX_SLOTS]; /* a scan for the name stops after it */
} mindex;

/* Returns 0, or -1 when the message has too many distinct names to index
 * (then scopes go without). */
int mindex_build(mindex *ix, const tnode *first);

/* A range of sibling nodes a path is resolved in: an XML element's
 * children, or an EDIFACT segment group (trigger and its members). */
typedef struct mscope {
    tnode *parent;
    tnode *first, *end; /* [first, end); end NULL = to the last child */
    uint32_t index;     /* instance number inside its group, 1-based */
    const mindex *ix;   /* first occurrences in [first, end), or NULL */
    tnode *top;         /* the message root, for paths starting with '/' */
} mscope;

/* One match: the node named by the last step (segment, element) and the
 * value node after positions (component); value may be NULL. */
typedef struct mhit {
    const tnode *node;
    const tnode *leaf;
} mhit;

int mpath_compile(const char *text, arena_t *a, mpath *p, char *why,
                  size_t whysz);
/* Calls fn for each match in document order until it returns non-zero;
 * returns that value, or 0. */
typedef int (*mpath_fn)(void *ctx, const mhit *h);
int mpath_each(const mpath *p, const mscope *s, mpath_fn fn, void *ctx);
/* First match; 0 when found. */
int mpath_first(const mpath *p, const mscope *s, mhit *h);
/* Text of a hit: the leaf's value, or "" when absent. */
const char *mhit_text(const mhit *h);
/* Whether a hit counts as present: its value is not empty, or the path
 * names a whole segment/element (no positions) that exists. */
int mhit_present(const mpath *p, const mhit *h);
/* First present match (conditions and `value` rules); 0 when found. */
int mpath_present(const mpath *p, const mscope *s, mhit *h);

/* Reverse: find the node the path names inside s, creating what is missing
 * (qualifiers included); fresh != 0 always creates the last step anew.
 * Returns the leaf to set (component, element or node), NULL on no memory.
 * *made gets the node created or found for the last step. */
tnode *mpath_make(const mpath *p, mscope *s, arena_t *a, int fresh,
                  tnode **made);

/* ---- code lists (map_codes.c) ---- */

typedef struct mcodes mcodes;
int mcodes_load(const ydoc *d, arena_t *a, mcodes **out, err_t *e);
const char *mcodes_name(const mcodes *c);
const char *mcodes_get(const mcodes *c, const char *key);   /* NULL: none */
const char *mcodes_key_of(const mcodes *c, const char *val); /* reverse */
/* A unit table's factor for key (locale-independent); ERR_NOTFOUND. */
int mcodes_factor(const mcodes *c, const char *key, double *out);

/* ---- conditions ---- */

enum { MC_EXISTS, MC_ABSENT, MC_EQ, MC_NE, MC_IN, MC_RE };
typedef struct mcond {
    mpath path;
    int op;
    regex_t *re; /* MC_RE */
    const char **vals;
    uint32_t nvals;
    struct mcond *next; /* all must hold */
} mcond;

/* ---- rules ---- */

enum { MR_FIELD, MR_EACH };
enum { MU_ERROR, MU_KEEP, MU_DROP };        /* unknown code */
enum { MD_NONE, MD_EDI, MD_EDI_FROM, MD_PATTERN, MD_ISO }; /* dates */
enum { MK_NONE, MK_UPPER, MK_LOWER };

typedef struct mrule mrule;
struct mrule {
    int kind;
    uint32_t line; /* in the table, for messages */
    const char *to_text;
    const model_field *field; /* MR_FIELD: target; MR_EACH: the array */
    int to_list;              /* "seals[]": every match appended */
    mpath from;
    int has_from;
    const char *value, *dflt, *join, *split;
    const mcodes *codes;
    int unknown;
    int date;
    const char *date_arg; /* edifact code or pattern */
    mpath date_from;
    char decimal;
    const mcodes *unit_table;
    mpath unit_from;
    int has_unit_from;
    const char *unit_code;
    int kase, squeeze;
    int required;
    check_fn checks[MAP_MAX_CHECKS];
    const char *check_names[MAP_MAX_CHECKS];
    uint32_t nchecks;
    regex_t *pattern;
    const char *pattern_text;
    mcond *when;
    /* MR_EACH */
    mpath each;
    const char **members;
    uint32_t nmembers;
    mrule *rules;
    uint32_t nrules;
};

typedef struct mmatch {
    const char *message_type, *version, *sender, *root, *ns, *filename;
    mcond *when;
    int score; /* how many criteria: the most specific table wins */
} mmatch;

struct map_def {
    const map_def *base; /* extends: */
    const char *name, *file, *description, *format, *kind;
    int flat;  /* edifact: groups are sibling ranges, not subtrees */
    mmatch match;
    codec_opts copts;
    mpath split;
    int has_split;
    mrule *rules;
    uint32_t nrules;
    mrule *own; /* rules compiled from this table's file (to release) */
    uint32_t nown;
    const char *out_type, *out_version, *out_agency; /* reverse meta */
};

/* map_compile.c: compile one table; codes are looked up in set. Every
 * problem is appended at **tail (and *tail advanced); returns 0 when there
 * were none. */
int map_compile(const ydoc *d, const map_set *s, arena_t *a, map_def **out,
                map_problem ***tail);
/* Free what a compiled table holds outside its arena (regexes). */
void map_def_release(map_def *d);
/* map_codec.c: the table's `codec:` options; problems as above. */
int map_compile_codec(const ydoc *d, const ynode *n, arena_t *a,
                      codec_opts *o, map_problem ***tail);
/* Append "text" to a problem list (map_set.c). */
void map_problem_add(map_problem ***tail, arena_t *a, const char *text);
const mcodes *map_set_codes(const map_set *s, const char *name);

/* map_run.c: condition test shared by selection and rules. */
int mcond_holds(const mcond *c, const mscope *s);

#endif
