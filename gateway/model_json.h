/* model_json: the JSON form of a canonical record, for people, tests and
 * the HTTP API. Writing is a direct walk into a capped buffer (it runs once
 * per translated message, so it avoids building a DOM); reading goes
 * through jansson. Keys appear in model_fields[] order; absent values are
 * omitted, so equal records give byte-identical JSON. */
#ifndef EPORT_MODEL_JSON_H
#define EPORT_MODEL_JSON_H

#include "model.h"

/* Append r as one line of compact JSON (no trailing newline) to out. */
int model_json_write(const model_record *r, buf_t *out, err_t *e);

/* Parse JSON text into a new record in arena a (*out borrowed from a).
 * Unknown keys and wrongly typed values are errors naming the path. */
int model_json_read(const char *text, size_t len, arena_t *a,
                    model_record **out, err_t *e);

#endif
