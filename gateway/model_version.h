/* model_version: which model version a record needs on the wire. A value
 * of a validated enumeration (kind, document.type, parties[].role) is new
 * in the version that introduced it, and a reader refuses values it does
 * not know; so a record is written at the lowest version that knows all
 * of its values, and a node that reads only version 1 goes on reading
 * every record it could understand while the federation upgrades
 * (docs/model.md, "Versioning"). The table of introduced values is the
 * one place a new version's enumerations are listed. */
#ifndef EPORT_MODEL_VERSION_H
#define EPORT_MODEL_VERSION_H

#include "model.h"

#define MODEL_VERSION_MIN 1 /* the oldest version this node still reads */

/* The lowest version (MODEL_VERSION_MIN..MODEL_VERSION) that carries r. */
unsigned model_version_of(const model_record *r);

/* The version that introduced value v of the enumeration at path ("kind",
 * "document.type", "parties[].role"); 1 for every value not listed. */
unsigned model_version_introducing(const char *path, const char *v);

#endif
