/* store_fan: the combined status of a fanned-out submission
 * (docs/fan-out.md): per agency, where its copy stands. Key schema v1
 * (docs/store.md, "Fan-out"):
 *
 *   v1:fan:<id>  hash  v=1, kind, at (ms of the first fan-out), and per
 *                      agency A: A:state (sent incomplete accepted
 *                      rejected inspection_required released held
 *                      pending), A:mapping, A:conn, A:missing (what the
 *                      agency needs and the record lacks), A:text (the
 *                      agency's words), A:at (ms of the last change),
 *                      A:attempt (copies sent), A:by (the local message
 *                      whose dispatch sent the last one); 7 days
 *
 * <id> is the submission's local message id; a resubmission (a corrected
 * record) updates the hash of the submission it corrects. */
#ifndef EPORT_STORE_FAN_H
#define EPORT_STORE_FAN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

#define STORE_FAN_AGENCIES 16
#define STORE_FAN_TEXT_MAX 1024

/* One agency's line of the status. */
typedef struct store_fan_ag {
    char agency[33], state[24], mapping[64], conn[64];
    char missing[STORE_FAN_TEXT_MAX], text[STORE_FAN_TEXT_MAX];
    int64_t at_ms, attempt;
    char by[32];
} store_fan_ag;

/* What the dispatch of local message `by` did for agency a.agency of
 * submission id: state "sent" (a copy queued) or "incomplete" (a.missing
 * says what). Once per (agency, by): done again after a crash it changes
 * nothing (1); else the attempt count goes up (0). */
int store_fan_send(store *st, const char *id, const char *kind,
                   const store_fan_ag *a, const char *by, err_t *e);

/* The agency's answer to submission id: its state and text. ERR_NOTFOUND
 * when nothing of id was sent to that agency. */
int store_fan_answer(store *st, const char *id, const char *agency,
                     const char *state, const char *text, int64_t at_ms,
                     err_t *e);

/* The status: *n agencies into a[0..max) (sorted by name), kind into
 * kind[24]. ERR_NOTFOUND when id was not fanned out. */
int store_fan_get(store *st, const char *id, char kind[24],
                  store_fan_ag *a, size_t max, size_t *n, err_t *e);

/* The one state of the whole: rejected, incomplete, held,
 * inspection_required, pending (a copy unanswered), accepted, released
 * (every agency released), in that order of precedence. */
const char *store_fan_combined(const store_fan_ag *a, size_t n);

#endif
