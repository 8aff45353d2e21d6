/* jpath: the little path language fan-out rules use to say which fields
 * of a canonical record an agency needs (docs/fan-out.md), evaluated on
 * the record's JSON form (docs/model.md names):
 *
 *   document.number            a field must be there (non-empty)
 *   goods[].hs_code            in every element of the array (and the
 *                              array must have one)
 *   parties[role=declarant].id in the elements whose role is declarant
 *                              (and there must be one)
 *
 * A path is 1 to JPATH_SEG_MAX segments of [a-z0-9_], each optionally
 * followed by [] or [name=value]; values are 1-64 of anything but ']'. */
#ifndef EPORT_JPATH_H
#define EPORT_JPATH_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

#define JPATH_SEG_MAX 6
#define JPATH_MAX 200      /* bytes of a path */

/* 0 when path is well formed, else ERR_SYNTAX "path 'x': why". */
int jpath_check(const char *path, err_t *e);

/* How many places path is missing in root (0: all there); each missing
 * place is appended to out as its concrete path ("goods[2].hs_code",
 * "parties[role=declarant]"; elements counted from 1), separated by ", ".
 * out's cap bounds the text, not the count. path must pass jpath_check
 * (else -1). */
int jpath_missing(const json_t *root, const char *path, buf_t *out);

#endif
