/* cbview: what `eportctl cbec` (gateway/ctl/ctl_cbec.c) and the HTTP API
 * (connectors/api_cbec.c) share about a cross-border e-commerce parcel's
 * set (store_cbec.h), so that the two never show it differently: as JSON
 * (jansson) and as the plain text eportctl prints, one fact per line.
 * Times are ISO 8601 UTC; documents are named by record id, never by
 * content (personal data stays in the store).
 *
 * Ownership: cbview_set_json_new returns a new reference the caller owns
 * (json_decref), NULL when out of memory; cbview_set_text appends to the
 * caller's buffer and returns 0 or the buffer's error. */
#ifndef EPORT_CBVIEW_H
#define EPORT_CBVIEW_H

#include <jansson.h>

#include "buf.h"
#include "pmview.h"
#include "store.h"
#include "store_cbec.h"

/* What the set draws on its buyer's allowance, as this node knows it:
 * the draw (permit id and amount, or why none), the request's state and
 * the home's answer (code, what is left in CNY). Absent for a set that
 * drew nothing (not matched, or no cbec.id_key). */
typedef struct cbview_allow {
    const char *draw, *state, *code, *text;
    uint64_t left;       /* thousandths of CNY; with has_left */
    int has_left;
} cbview_allow;
/* Reads the request of s (store_pmq.h) into out; 0, or 1 when s drew
 * nothing, or < 0 (Redis). Strings in a. */
int cbview_allow_load(store *st, const store_cbec_set *s, arena_t *a,
                      cbview_allow *out, err_t *e);

/* The allowance ledger of the buyer whose identity hash is hash (32
 * upper-case hex, cbec_allow.h) for year, as the home keeps it: at its
 * home (region, this node's) the ledger, elsewhere the newest answer this
 * node holds (pmview.h). ERR_INVALID for a malformed hash. */
int cbview_allowance_load(store *st, const char *region, const char *home,
                          const char *hash, int year, arena_t *a,
                          pmview_show *out, err_t *e);

/* al: the allowance as cbview_allow_load read it, or NULL. */
json_t *cbview_set_json_new(const store_cbec_set *s, const cbview_allow *al);
int cbview_set_text(const store_cbec_set *s, const cbview_allow *al,
                    buf_t *out);

#endif
