/* node_ledger_int: what eportd's ledger loop (node_ledger.c) shares with
 * its automatic steps (node_ledger_auto.c): the steps eportd takes by
 * itself, each exactly once across crashes (mvact.h, "steps eportd takes
 * by itself"). Internal to the two files. */
#ifndef EPORT_NODE_LEDGER_INT_H
#define EPORT_NODE_LEDGER_INT_H

#include <stddef.h>

#include "arena.h"
#include "ledger.h"
#include "mvrule.h"
#include "node_int.h"

#define NLA_TRIGGERS_MAX 1024  /* triggering events of one batch */
#define NLA_STATES_MAX 1024    /* states applied in one batch, kept */

/* An event of the batch that may call for a step here: applied, or a
 * duplicate (applied before a crash that came before its step). */
typedef struct nla_trigger {
    const char *ref;           /* in the ledger arena */
    mv_type type;
    int replay;                /* a duplicate: its step may be taken */
    mv_type step;              /* the step it made (MV_DECLARED: none) */
} nla_trigger;

typedef struct nla_applied {
    const char *ref;
    const mv_state *st;        /* as stored (ledger arena) */
} nla_applied;

/* One batch's triggers and the last state of each movement it applied
 * (steps follow that state without loading it again). Reset per batch. */
typedef struct nl_auto {
    nla_trigger trig[NLA_TRIGGERS_MAX];
    size_t ntrig;
    nla_applied applied[NLA_STATES_MAX];
    size_t napplied;           /* may pass NLA_STATES_MAX: then loaded */
} nl_auto;

void nl_auto_begin(nl_auto *au);
/* The ledger's result r (APPLIED or DUP; others are ignored): keeps the
 * state and notes the event when ledger.auto may want a step of it. */
void nl_auto_note(node *n, nl_auto *au, const ledger_result *r);
/* After the batch is stored: the steps its triggers call for, each once
 * (states loaded into a when not kept). */
void nl_auto_take(node *n, nl_auto *au, arena_t *a);

/* Submit ev, a step eportd takes itself, on state s under its derived
 * id (mvact_step_id): 0 sent, 1 sent before, or the refusal (logged;
 * ERR_PHASE only at debug when replay: the step was taken before). */
int nl_auto_once(node *n, mv_event *ev, const mv_state *s, int gated,
                 int replay);

#endif
