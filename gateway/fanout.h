/* fanout: the rules of "enter once, declare to every agency"
 * (docs/fan-out.md). A YAML file beside the mappings
 * (<mappings.dir>/fanout/rules.yaml) says, per record kind, which agencies
 * receive a submission, through which reverse mapping, and which fields
 * each needs:
 *
 *   fanout: 1
 *   rules:
 *     - kind: declaration
 *       agencies:
 *         - agency: customs
 *           mapping: cusdec
 *           require: [document.number, goods[].hs_code]
 *
 * Which connector carries an agency's copies (and its answers back) is
 * the node's business: the connector whose `agency:` names it
 * (fanout_bind). Ownership: fanout_load makes the rules (one arena),
 * fanout_free releases them; everything inside is borrowed from them. */
#ifndef EPORT_FANOUT_H
#define EPORT_FANOUT_H

#include <jansson.h>
#include <stddef.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "err.h"

#define FANOUT_VERSION 1
#define FANOUT_AGENCY_MAX 16   /* agencies of one rule */
#define FANOUT_REQUIRE_MAX 64  /* paths of one agency */
#define FANOUT_RULES_MAX 16
#define FANOUT_FILE "fanout/rules.yaml"

struct map_set;

typedef struct fanout_agency {
    const char *agency;        /* [a-z][a-z0-9_-], at most 32 */
    const char *mapping;       /* the reverse mapping of its format */
    const char *require[FANOUT_REQUIRE_MAX];
    size_t nrequire;
    const cfg_connector *conn; /* set by fanout_bind */
    unsigned line;             /* in the file, for messages */
} fanout_agency;

typedef struct fanout_rule {
    const char *kind;
    fanout_agency agencies[FANOUT_AGENCY_MAX];
    size_t nagencies;
} fanout_rule;

typedef struct fanout_rules {
    arena_t a;
    const char *file;
    fanout_rule rules[FANOUT_RULES_MAX];
    size_t nrules;
} fanout_rules;

/* Load and check path: ERR_NOTFOUND when there is no such file (no
 * fan-out), else 0 or the first problem as "file:line:col: error: why". */
int fanout_load(const char *path, fanout_rules **out, err_t *e);
void fanout_free(fanout_rules *r);

/* Tie each agency to its connector of c (the one whose `agency:` names
 * it, with an out transport) and check its mapping exists in maps and
 * is of the rule's kind. "file:line: error: agency maritime: ...". */
int fanout_bind(fanout_rules *r, const cfg *c, const struct map_set *maps,
                err_t *e);

/* The rule for records of kind, or NULL. */
const fanout_rule *fanout_rule_for(const fanout_rules *r, const char *kind);
/* The agency named name of rule, or NULL. */
const fanout_agency *fanout_agency_of(const fanout_rule *u,
                                      const char *name);

/* How many required fields of ag the record (its JSON form) lacks; each
 * named in out ("goods[2].hs_code, legs[]"). */
int fanout_missing(const fanout_agency *ag, const json_t *rec, buf_t *out);

#endif
