/* ctl_map_int: what eportctl map's files share (ctl_map.c runs the
 * translation; ctl_map_diff.c compares it with a golden file;
 * ctl_map_explain.c says where each value came from). */
#ifndef EPORT_CTL_MAP_INT_H
#define EPORT_CTL_MAP_INT_H

#include <stdio.h>

#include "buf.h"
#include "map.h"

/* got (JSON lines, what a file translated to) against expected (the
 * golden file's text, named expected_name in messages): one line to f
 * per field that differs, "record N: PATH: expected X, got Y". CTL_OK
 * when none differs, 1 when some do, CTL_DATAERR when the golden file
 * is not JSON lines. */
int cm_diff(const char *expected_name, const buf_t *expected,
            const buf_t *got, FILE *f);

/* --explain: file's messages (in, its text) through their tables (forced,
 * or chosen per message from s), each value the record got and its
 * source, then what no rule mapped, to stdout. CTL_OK, or CTL_DATAERR
 * when a message had problems (listed too). */
int cm_explain(const char *file, const map_set *s, const map_def *forced,
               const buf_t *in);

#endif
