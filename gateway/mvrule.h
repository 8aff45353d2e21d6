/* mvrule: the lifecycle of a movement as pure rules, no I/O: what state
 * an event leads to, and whether its author may cause it at all. The one
 * place the rules live: the node applies them to events as they come,
 * `eportctl verify` replays a movement's whole log through them, and both
 * must agree. docs/clearance.md has the same rules as tables.
 *
 * Ownership (checked on the author's region, which the caller takes from
 * the envelope's verified signer, never from the event alone):
 *   departure region (itin[0], the ref's region): declared, risk, amended,
 *     cancelled, rejected, released, resolved, written_off, enquiry;
 *   transit regions (itin[1..n-2]): passage, discrepancy, status;
 *   destination or exit (itin[n-1]): arrived, controlled, discrepancy,
 *     status; the departure may send status too;
 *   anyone else (the national center included): nothing.
 *
 * State, version 1, is stored beside each movement's event log (its
 * msgpack form below) and can always be rebuilt by replaying the log.
 * Ownership of memory: states borrow strings from the events applied and
 * from the arena given; mv_state_decode copies into the arena. */
#ifndef EPORT_MVRULE_H
#define EPORT_MVRULE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "mvev.h"

#define MVSTATE_VERSION 1

#define MV_PHASES(X)                                                      \
    X(NONE, 0, "none")                                                    \
    X(DECLARED, 1, "declared")                                            \
    X(RELEASED, 2, "released")                                            \
    X(ARRIVED, 3, "arrived")                                              \
    X(CONTROLLED, 4, "controlled")                                        \
    X(WRITTEN_OFF, 5, "written_off")                                      \
    X(CANCELLED, 6, "cancelled")                                          \
    X(REJECTED, 7, "rejected")

typedef enum mv_phase {
#define MV__PENUM(name, num, text) MV_P_##name = num,
    MV_PHASES(MV__PENUM)
#undef MV__PENUM
    MV_P_END
} mv_phase;
const char *mv_phase_name(mv_phase p);            /* "?" if unknown */
int mv_phase_parse(const char *s, mv_phase *out); /* ERR_CODE if unknown */

/* Where a region of the itinerary stands. */
typedef enum mv_stop {
    MV_STOP_NONE = 0,     /* nothing heard for it yet */
    MV_STOP_EXPECTED,     /* released: the anticipated arrival record is
                             here (set for every region but the departure) */
    MV_STOP_PASSED,       /* transit: passage recorded */
    MV_STOP_ARRIVED       /* destination: arrival recorded */
} mv_stop;

typedef struct mv_state {
    uint32_t version;        /* MVSTATE_VERSION */
    mv_phase phase;
    mv_event data;           /* the movement as last declared, amended or
                                released (data.type says which); its ref,
                                itinerary, documents, containers, seals */
    uint8_t stop[MV_ITIN_MAX]; /* per data.itin[i] */
    const char *held;        /* region holding it after a discrepancy */
    const char *hold_why;    /* the discrepancy's result: note */
    const char *risk;        /* last risk result, NULL: none */
    const char *control;     /* control result at destination */
    const char *winner;      /* rejected: the movement that won */
    uint64_t declared_ms, released_ms, arrived_ms, closed_ms;
    uint32_t enquiries;      /* enquiry events (time limit passed) */
    uint32_t nevents;        /* events applied: the version of the state */
    const char *last_id;     /* message id of the last event applied */
} mv_state;

/* Apply event ev (message id ev_id, signed by a node of region author) to
 * cur (NULL or phase NONE: the movement is unknown here). On success *out
 * is the new state (nevents + 1, last_id = ev_id; strings borrowed from
 * cur, ev and a). Refusals leave *out undefined:
 *   ERR_DENIED  the author's region may not send this event (ownership),
 *               "26CQ...: passage by SC refused: SC is not a transit
 *               region of itinerary CQ>SN>SH";
 *   ERR_PHASE   not in this phase: "26CQ...: released refused: the
 *               movement is released already" (exactly one release);
 *   ERR_INVALID the event contradicts the movement (another ref, an
 *               amendment changing documents or containers...).
 * A status event changes only nevents/last_id. */
int mv_rule_apply(const mv_state *cur, const mv_event *ev, const char *ev_id,
                  const char *author, arena_t *a, mv_state *out, err_t *e);

/* The itinerary index of region, or -1. */
int mv_state_stop_of(const mv_state *s, const char *region);

/* Seal and container check of what a region found (ev->ctrs, ev->pkgs of
 * a passage or arrival) against the released data: 0 when they match;
 * ERR_CONFLICT with "container MSCU1234565: seal SH123 found, released
 * with CQ778899" (the first difference) otherwise. */
int mv_rule_check_seals(const mv_state *s, const mv_event *found, err_t *e);

/* Wire form of a state (msgpack map: v, phase, data = the event's wire
 * form as bin, stop, held, why, risk, ctl, win, times, enq, n, last). */
int mv_state_encode(const mv_state *s, buf_t *out, err_t *e);
int mv_state_decode(const void *p, size_t n, arena_t *a, mv_state *out,
                    err_t *e);

#endif
