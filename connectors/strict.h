/* strict: the rules real senders break (a wrong UNT count, a container
 * number with a wrong check digit, a UTF-8 BOM, ...) and, for each,
 * whether a slip is refused (strict: the usual error, exit 65) or let
 * through (lenient: the record carries a warning naming the rule, and the
 * node counts it). Who decides, most specific first: the sender's entry
 * in the node configuration (clients[].strict / .lenient), the mapping
 * table (`strictness:`), the table it extends, the defaults of its kind.
 * docs/mapping-language.md, "Strict and lenient", describes each rule.
 *
 * Codecs and the mapping engine only find slips and name their rule;
 * xlate.c and map_run.c judge them with the modes here. */
#ifndef EPORT_STRICT_H
#define EPORT_STRICT_H

#include <stdint.h>

/* X(ID, name): one row per rule, the only place rules live. */
#define STRICT_RULES(X)                                                   \
    X(ENVELOPE_COUNTS, "envelope_counts") /* UNT / UNE / UNZ counts */    \
    X(CHECK_DIGITS, "check_digits")       /* iso6346, uic_wagon */        \
    X(DATES, "dates")             /* UNB date/time not as its syntax */   \
    X(BOM, "bom")                 /* UTF-8 BOM before the content */      \
    X(LINE_ENDS, "line_ends")     /* line ends not one way throughout */  \
    X(TRAILING_SPACE, "trailing_space") /* after terminators, values */

typedef enum {
    STRICT_NONE, /* not a rule: a plain error */
#define STRICT__ENUM(id, name) STRICT_##id,
    STRICT_RULES(STRICT__ENUM)
#undef STRICT__ENUM
    STRICT__N
} strict_rule;

typedef enum { STRICT_UNSET, STRICT_STRICT, STRICT_LENIENT } strict_mode;

/* A mode per rule (mode[STRICT_NONE] unused); UNSET: the level below
 * decides. A zeroed set decides nothing. */
typedef struct strict_set {
    uint8_t mode[STRICT__N];
} strict_set;

/* "check_digits", or NULL for STRICT_NONE and out of range. */
const char *strict_rule_name(int rule);
/* The rule named name, or STRICT_NONE. */
int strict_rule_find(const char *name);
/* "strict" / "lenient" to STRICT_STRICT / STRICT_LENIENT, else
 * STRICT_UNSET. */
int strict_mode_find(const char *name);
/* "envelope_counts, check_digits, ..." for messages. */
const char *strict_rule_list(void);

/* Every rule's default for a table of kind (docs/mapping-language.md):
 * envelope_counts strict; check_digits lenient for status and response
 * records, strict for the others; the rest lenient. */
void strict_defaults(const char *kind, strict_set *out);
/* over's set modes written onto base. */
void strict_overlay(strict_set *base, const strict_set *over);
/* 1 when rule is lenient: over's mode if set (over may be NULL), else
 * base's (a table's, every rule set). */
static inline int strict_is_lenient(const strict_set *base,
                                    const strict_set *over, int rule)
{
    uint8_t m = over && over->mode[rule] ? over->mode[rule]
                                         : base->mode[rule];
    return m == STRICT_LENIENT;
}

#endif
