/* model_pack: the msgpack form of a canonical record, the payload nodes
 * send each other. It is a 2-element array [MODEL_VERSION, map], the map
 * keyed exactly as the JSON form (docs/model.md), so a reader can tell
 * which version wrote it and keep reading old ones. */
#ifndef EPORT_MODEL_PACK_H
#define EPORT_MODEL_PACK_H

#include "model.h"

/* Append the msgpack form of r to out. */
int model_pack(const model_record *r, buf_t *out, err_t *e);

/* Decode data into a new record in arena a (*out borrowed from a). */
int model_unpack(const char *data, size_t len, arena_t *a,
                 model_record **out, err_t *e);

#endif
