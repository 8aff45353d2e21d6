/* node_fanout: "enter once" in eportd's dispatch of local records
 * (docs/fan-out.md). A record of a connector with `fanout: true` whose
 * kind has a rule (fanout.h) goes to every agency of the rule: the ones
 * whose required fields it has get a copy queued on their connector's
 * out (written with the agency's mapping, customs.reference = the
 * submission's id, which the agency's answer quotes); the others are
 * marked incomplete with what they lack. A corrected record (same kind,
 * customs.reference = a submission fanned out before) goes only to the
 * agencies that rejected that submission or found it incomplete,
 * keeping the others' answers. A response record from a connector with
 * `agency:` updates that agency's line of the submission it quotes.
 *
 * Exactly once: each copy is queued under the key "<conn>:fan:<local
 * id>:<agency>" (store_lout_add refuses it again) and each state change
 * is done once per dispatching local message (store_fan_send), so a
 * batch dispatched again after a crash changes nothing twice. */
#ifndef EPORT_NODE_FANOUT_H
#define EPORT_NODE_FANOUT_H

#include "arena.h"
#include "err.h"
#include "model.h"
#include "node.h"

/* Load <mappings.dir>/fanout/rules.yaml into the node (and tie it to
 * the connectors): no file, no fan-out. An error only when a connector
 * has `fanout: true` (the node cannot do what it is configured for). */
int node_fanout_setup(node *n, err_t *e);
void node_fanout_close(node *n);

/* Dispatch local record r (message id, connector conn): 1 when it was a
 * fan-out submission, correction or agency answer (*status and *detail
 * set, in a), 0 when it is none, < 0 a store error (the batch is tried
 * again). */
int node_fanout_item(node *n, const char *id, const char *conn,
                     model_record *r, arena_t *a, const char **status,
                     const char **detail, err_t *e);

#endif
