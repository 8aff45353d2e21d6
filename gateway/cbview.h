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
#include "store_cbec.h"

json_t *cbview_set_json_new(const store_cbec_set *s);
int cbview_set_text(const store_cbec_set *s, buf_t *out);

#endif
