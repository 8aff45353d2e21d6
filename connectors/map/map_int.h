/* map_int: the compiled form of a mapping table, shared by the compiler
 * (map_compile.c), the forward runner (map_run.c) and the reverse runner
 * (map_reverse.c). Nothing outside connectors/map/ includes it. */
#ifndef EPORT_MAP_INT_H
#define EPORT_MAP_INT_H

#include <regex.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "map.h"
#include "strict.h"
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
    uint32_t code;                   /* mname_code(name) */
    int exact;                       /* code alone decides (short name) */
    int plain;                       /* no qualifier or predicate */
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
    /* One named step, every match: in an indexed scope its matches are
     * read by a cursor (mcursor) with no callbacks, the shape of nearly
     * every EDIFACT rule and condition. */
    int direct;
} mpath;

/* Names packed into 32 bits (the first four bytes, zero padded): a
 * segment tag compares in one instruction. Exact for names of up to three
 * bytes; longer names must still be compared as strings. */
static inline uint32_t mname_code(const char *s)
{
    if (s[0] && s[1] && s[2]) /* s[3] exists: a tag, in one load */
        return (uint32_t)(unsigned char)s[0] |
               (uint32_t)(unsigned char)s[1] << 8 |
               (uint32_t)(unsigned char)s[2] << 16 |
               (uint32_t)(unsigned char)s[3] << 24;
    uint32_t c = 0;
    for (int i = 0; i < 4 && s[i]; i++)
        c |= (uint32_t)(unsigned char)s[i] << (8 * i);
    return c;
}

/* A flat message's top-level nodes by position, with where each name
 * first and last occurs and a chain to its next occurrence: a rule visits
 * only the segments of its own tag (most rules name one tag among ~80
 * segments, and looking at every one for each rule was the engine's
 * largest cost). Built once per message in the message's arena. */
#define MINDEX_SLOTS 256
typedef struct mindex {
    uint32_t n;          /* nodes indexed */
    const tnode **node;  /* position -> node */
    uint32_t *code;      /* position -> mname_code(node->name) */
    uint32_t *next;      /* position -> next position of the same code, or n */
    uint32_t key[MINDEX_SLOTS]; /* hash slot -> code, 0 = free */
    uint32_t first[MINDEX_SLOTS], last[MINDEX_SLOTS];
} mindex;

/* map_index.c. Returns 0, or -1 when the message has too many distinct
 * names to index or no memory (then scopes go without). */
int mindex_build(mindex *ix, const tnode *first, uint32_t count, arena_t *a);

static inline uint32_t mindex_hash(uint32_t code)
{
    return (code * 0x9E3779B1u) >> 24; /* MINDEX_SLOTS = 256 */
}

/* Hash slot of code, or -1 when no node has it. Inline: every path
 * resolved in a message starts here. */
static inline int mindex_slot(const mindex *ix, uint32_t code)
{
    uint32_t h = mindex_hash(code);
    while (ix->key[h] != code) {
        if (!ix->key[h])
            return -1;
        h = (h + 1) & (MINDEX_SLOTS - 1);
    }
    return (int)h;
}

/* A set of names of up to three bytes by code (a group's member tags):
 * whether a segment belongs to a group is one probe, not a scan of ~20
 * tags for every segment of every instance. */
typedef struct mtagset {
    uint32_t *slot; /* open addressing; 0 = free */
    uint32_t mask;  /* slots - 1 */
} mtagset;

/* map_index.c: the set of the short codes among codes[0..n); longer names
 * are left out (callers compare those as strings). 0, or -1 on no memory. */
int mtagset_build(mtagset *s, const uint32_t *codes, uint32_t n, arena_t *a);

static inline int mtagset_has(const mtagset *s, uint32_t code)
{
    for (uint32_t h = (code * 0x9E3779B1u) >> 16 & s->mask; s->slot[h];
         h = (h + 1) & s->mask)
        if (s->slot[h] == code)
            return 1;
    return 0;
}

/* A range of sibling nodes a path is resolved in: an XML element's
 * children, or an EDIFACT segment group (trigger and its members). */
typedef struct mscope {
    tnode *parent;
    tnode *first, *end; /* [first, end); end NULL = to the last child */
    uint32_t index;     /* instance number inside its group, 1-based */
    const mindex *ix;   /* the message's index, or NULL */
    tnode *top;         /* the message root, for paths starting with '/' */
    uint32_t lo, hi;    /* with ix: [first, end) as positions in it */
} mscope;

/* One match: the node named by the last step (segment, element) and the
 * value node after positions (component); value may be NULL. */
typedef struct mhit {
    const tnode *node;
    const tnode *leaf;
    uint32_t pos; /* node's position in the scope's index, when it has one */
} mhit;

/* map_path_compile.c */
int mpath_compile(const char *text, arena_t *a, mpath *p, char *why,
                  size_t whysz);

/* The step's qualifiers and predicate, its name aside (map_path.c). */
int mpath_match_rest(const mstep *st, const tnode *n);

/* Whether n, whose name code equals the step's, matches the step. */
static inline int mstep_match_coded(const mstep *st, const tnode *n)
{
    if (!st->exact && strcmp(st->name, n->name) != 0)
        return 0;
    return st->plain || mpath_match_rest(st, n);
}

/* The node p's positions (.E.C) name inside n: n itself without any. */
static inline const tnode *mpath_position(const mpath *p, const tnode *n)
{
    if (!p->elem)
        return n;
    const tnode *el = tree_kid(n, p->elem - 1u);
    return el && p->comp ? tree_kid(el, p->comp - 1u) : el;
}

/* A cursor over a direct path's matches (mpath.direct) in an indexed
 * scope, in document order: mpath_each without a call per match, for the
 * rules and conditions every message runs. */
typedef struct mcursor {
    const mpath *p;
    const mindex *ix;
    uint32_t i, hi; /* next candidate position, end of the range */
} mcursor;

/* 0 with *c at the first candidate when p is direct and s indexed; -1
 * otherwise (then mpath_each). */
static inline int mcursor_open(mcursor *c, const mpath *p, const mscope *s)
{
    const mindex *ix = s->ix;
    if (!p->direct || !ix)
        return -1;
    uint32_t code = p->steps[0].code, lo = p->rooted ? 0 : s->lo,
             hi = p->rooted ? ix->n : s->hi;
    int h = mindex_slot(ix, code);
    c->p = p;
    c->ix = ix;
    c->i = c->hi = 0;
    if (h < 0) /* no node of that name in the message */
        return 0;
    lo = lo > ix->first[h] ? lo : ix->first[h];
    hi = hi < ix->last[h] + 1 ? hi : ix->last[h] + 1;
    while (lo < hi && ix->code[lo] != code)
        lo++;
    c->i = lo;
    c->hi = hi;
    return 0;
}

/* The next match into *h: 1, or 0 when there are no more. */
static inline int mcursor_next(mcursor *c, mhit *h)
{
    const mstep *st = &c->p->steps[0];
    for (uint32_t i = c->i; i < c->hi; i = c->ix->next[i]) {
        const tnode *n = c->ix->node[i];
        if (!mstep_match_coded(st, n))
            continue;
        c->i = c->ix->next[i];
        *h = (mhit){n, mpath_position(c->p, n), i};
        return 1;
    }
    c->i = c->hi;
    return 0;
}

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

/* MR_CONST: {from: P, const: V}, a constant of the local format (an XML
 * message type, a JSON event type): read, nothing (selection and `when`
 * test such values); written back, V at P. It sets no field. */
enum { MR_FIELD, MR_EACH, MR_CONST };
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
    const char *cval; /* MR_CONST: the constant */
    int cplain;       /* MR_CONST: unquoted in the table: JSON writes
                         true/false and numbers bare */
    const mcodes *codes;
    int unknown;
    int date;
    const char *date_arg; /* edifact code or pattern */
    mpath date_from;
    /* date_from / unit_from name the segment `from` does (DTM+137.1.3
     * beside DTM+137.1.2): read from the first segment the plan saw */
    int date_near, unit_near;
    char decimal;
    const mcodes *unit_table;
    mpath unit_from;
    int has_unit_from;
    const char *unit_code;
    int kase, squeeze;
    int required;
    int bare;         /* JSON: true/false and numbers written unquoted */
    int sum;          /* a number field: every match added up */
    check_fn checks[MAP_MAX_CHECKS];
    const char *check_names[MAP_MAX_CHECKS];
    uint32_t nchecks;
    regex_t *pattern;
    const char *pattern_text;
    mcond *when;
    /* A rule with a path from the root that its table states after the
     * last rule inside the record: in a split table, written back after
     * the records (the document's trailer), not before them (its head).
     * A derived table's rule that replaces a base's keeps its place. */
    int trailer;
    /* MR_EACH */
    mpath each;
    const char **members;
    uint32_t *member_codes; /* mname_code of each (members are tags) */
    mtagset member_set;     /* the short ones among member_codes */
    uint32_t nmembers;
    mrule *rules;
    uint32_t nrules;
    const struct mplan *plan; /* MR_EACH: its rules' plan (map_plan.c) */
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
    const struct mplan *plan; /* rules' plan (map_plan.c), or NULL */
    mrule *own; /* rules compiled from this table's file (to release) */
    uint32_t nown;
    const char *out_type, *out_version, *out_agency; /* reverse meta */
    const char *out_association; /* UNH 0057 written back (EDIFACT) */
    int has_zone, zone_min; /* `zone`: the sender's offset, minutes */
    /* strictness (strict.h): what this table and the tables it extends
     * set (`strictness:`), and that over its kind's defaults, every rule
     * set (what map_def_strict gives) */
    strict_set strict_own, strict;
    int ts_values; /* trailing_space looks at values: edifact, csv, json */
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

/* ---- a rule's source values (map_collect.c) ---- */

typedef struct mval { /* one source value and where it came from */
    char *text;
    mhit hit;
    /* text is a copy, not the tree's value itself: it may have been
     * trimmed, so trailing_space looks at the value as sent; a value
     * used where it stands was not (the common case costs one test) */
    int copied;
} mval;

#define MCOLLECT_SMALL 4 /* values kept without an arena array */

typedef struct mcollect {
    arena_t *a;
    mval *v; /* small, or an arena array once more are kept */
    uint32_t n, cap;
    int all, join;
    mval small[MCOLLECT_SMALL];
} mcollect;

/* Fills c with what rule ru takes in scope s: every match for a list
 * target or join (one joined value), else the first; then its default or
 * constant when nothing matched. Texts are trimmed and never empty; they
 * and c's arrays live in a. Returns 0, or < 0 (ERR_NOMEM). */
int mcollect_rule(mcollect *c, const mrule *ru, const mscope *s, arena_t *a);

/* The same for the commonest rule, a scalar target read from a direct path
 * (mpath.direct) in an indexed scope with no constant, default or join:
 * its first value into *v, without mcollect's arrays. Returns 1, 0 when
 * nothing matched, ERR_NOMEM, or MCOLLECT_OTHER when the rule is not of
 * that shape (then mcollect_rule). */
#define MCOLLECT_OTHER 2
int mcollect_first(const mrule *ru, const mscope *s, arena_t *a, mval *v);

/* ---- first values read together (map_plan.c) ---- */

/* The rules of one list that take the first present value of a direct
 * path (mcollect_first's shape), grouped by the tag they read: a scope's
 * segments of each tag are walked once for all its readers instead of
 * once per rule (a group instance has a dozen such rules over a handful
 * of segments). Made once per rule list when a table is compiled. */
#define MPLAN_MAX_RULES 64 /* rules past this index read on their own */
typedef struct mplan_tag {
    uint32_t code;         /* mname_code of the tag */
    uint32_t first, count; /* its readers: mplan.reader[first..+count) */
} mplan_tag;

typedef struct mplan {
    mplan_tag *tags;
    uint32_t ntags;
    uint8_t *reader; /* rule indices, by tag, in rule order */
    uint64_t rules;  /* bit i: rule i is read through the plan */
} mplan;

/* A plan rule's first present value: text[0..len) trimmed, NULL when
 * nothing matched; copy: it does not end with a NUL where it stands.
 * seg is set whenever text is, and may be without it. */
typedef struct mfirst {
    mhit hit;
    const char *text;
    uint32_t len;
    int copy;
    const tnode *seg; /* the first segment matching the step, if any */
} mfirst;

static inline int mfirst_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Whether the leaf (a component, or an element: its first component)
 * holds a value once trimmed; if so, its span into *f. */
static inline int mfirst_of(const tnode *x, mfirst *f)
{
    x = !x || x->value ? x : x->kids;
    if (!x || !x->value)
        return 0;
    const char *b = x->value, *e = b + x->vlen;
    while (b < e && mfirst_space(*b))
        b++;
    while (e > b && mfirst_space(e[-1]))
        e--;
    f->text = b;
    f->len = (uint32_t)(e - b);
    f->copy = b != x->value || *e;
    return b != e;
}

/* The plan of rules[0..n) (nested groups' plans too, in their MR_EACH
 * rules); NULL when none of them has that shape. Lives in a. */
const mplan *mplan_build(mrule *rules, uint32_t n, arena_t *a);
/* Every plan rule's first value in s (indexed) into out[rule index].
 * Returns the rules that have one (bit i: rule i); the others' out[] are
 * left as they were, so nothing is cleared per scope. */
uint64_t mplan_collect(const mplan *p, const mrule *rules, const mscope *s,
                       mfirst *out);

/* map_run.c: condition test shared by selection and rules. */
int mcond_holds(const mcond *c, const mscope *s);

/* ---- slips of the strictness rules while running (map_slip.c) ---- */

/* One record's judge: the table's modes under the sender's (over, may be
 * NULL), and the rules already warned about in rec where a rule warns
 * once per record (trailing_space). */
typedef struct mslips {
    const strict_set *table, *over;
    model_record *rec;
    uint32_t told;
} mslips;

/* A slip of rule found at where (as mr__where says it) on line:col, what
 * is wrong in what. Strict: a diag on m naming the rule, and the code is
 * returned (the record is refused). Lenient: the diag is a warning, rec
 * gets "RULE: what, where at LINE:COL" in warnings[], and 0 is returned;
 * also 0, with nothing added, for a once-per-record rule told before. */
int mslip_add(mslips *s, codec_batch *b, codec_msg *m, arena_t *a, int rule,
              int code, uint32_t line, uint32_t col, const char *where,
              const char *what);
/* trailing_space: whether the value as sent at leaf (a component, an
 * element's first, a cell, a JSON value) ends with a space or tab.
 * Inline: it runs for every value a rule takes. */
static inline int mslip_trailing(const tnode *leaf)
{
    const tnode *x = !leaf || leaf->value ? leaf : leaf->kids;
    if (!x || !x->value || !x->vlen)
        return 0;
    char c = x->value[x->vlen - 1];
    return c == ' ' || c == '\t';
}

#endif
