/* fed_alert: the national center's alert rules (docs/operations.md,
 * "Alert rules"): the rule file (YAML, alerts.rules, conf/alerts.yaml)
 * and its evaluation against the federation's state in Redis.
 *
 *   node_down           a member (a configured peer) silent longer than
 *                       after_s
 *   link_stalled        a link with entries queued and no ack for after_s
 *   queue_growing       a node's deepest queue above depth for after_s
 *   movement_overdue    released, time limit passed, not arrived
 *   discrepancy         a discrepancy recorded on a movement, until the
 *                       movement is no longer held
 *   signature_failures  a node's sig_failures counter grew within after_s
 *
 * A rule the file does not list is off. Each alert has an id
 * "<rule>:<subject>" (node_down:SC, link_stalled:CQ>SH,
 * movement_overdue:26SN...); the active ones are a hash in Redis,
 * v1:fed:alerts (id -> JSON), and each raise and clear is a line of the
 * capped stream v1:fed:alert_log, an event on v1:events (alert_raised,
 * alert_cleared) and a log line. Evaluation compares what holds now with
 * the active set: new ones are raised, gone ones cleared; so an eportd
 * restarted keeps its alerts and clears them when they stop holding.
 *
 * Everything here is fixed-size (a fed_rules is a plain value). */
#ifndef EPORT_FED_ALERT_H
#define EPORT_FED_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "store.h"

typedef enum {
    FED_R_NODE_DOWN,
    FED_R_LINK_STALLED,
    FED_R_QUEUE_GROWING,
    FED_R_MOVEMENT_OVERDUE,
    FED_R_DISCREPANCY,
    FED_R_SIG_FAILURES,
    FED_R_N
} fed_rule_id;

#define FED_RULES_FILE_MAX (64u << 10) /* a rule file, bytes */

typedef struct fed_rule {
    int on;
    int64_t after_ms;      /* how long it must hold (0: at once) */
    int64_t depth;         /* queue_growing: the queue depth */
    char severity[16];     /* info, warning, critical */
} fed_rule;

typedef struct fed_rules {
    fed_rule r[FED_R_N];
} fed_rules;

/* "node_down"...; "?" out of range. */
const char *fed_rule_name(int id);
/* The rules of the design (conf/alerts.yaml ships the same), all on. */
void fed_rules_builtin(fed_rules *out);
/* Parse a rule file's text (name is used in messages): every problem is
 * "name:line:col: error: why" (the first in e). */
int fed_rules_parse(const char *name, const char *text, size_t len,
                    fed_rules *out, err_t *e);
/* The same from a file. ERR_IO when it cannot be read. */
int fed_rules_load(const char *path, fed_rules *out, err_t *e);

/* Rules to evaluate in one call (bits of 1u << fed_rule_id). */
#define FED_RULES_NODES                                                    \
    ((1u << FED_R_NODE_DOWN) | (1u << FED_R_LINK_STALLED) |                \
     (1u << FED_R_QUEUE_GROWING) | (1u << FED_R_SIG_FAILURES))
#define FED_RULES_MOVEMENTS                                                \
    ((1u << FED_R_MOVEMENT_OVERDUE) | (1u << FED_R_DISCREPANCY))

/* What one evaluation looks at besides Redis. */
typedef struct fed_eval_in {
    unsigned mask;             /* rules to evaluate (FED_RULES_*) */
    int64_t now;
    int64_t start_ms;          /* silence is counted from no earlier than
                                  this (the center's start: a member never
                                  heard from is not down at once) */
    const char *const *refs;   /* movements with a discrepancy recorded
                                  since the last call (the ledger's
                                  alerts) and its text: candidates of the
                                  discrepancy rule besides the active */
    const char *const *msgs;
    size_t nrefs;
} fed_eval_in;

/* Evaluate the rules of in->mask (those on): raise what holds and is not
 * active, clear what is active and no longer holds (a rule turned off
 * clears its alerts). Returns how many alerts changed, or ERR_*. */
int fed_alert_eval(store *st, const cfg *c, const fed_rules *rules,
                   const fed_eval_in *in, err_t *e);

#endif
