/* config_int: what the files of the config module (config.c, the loader;
 * config_check.c, the checks across keys) share. Not for other modules. */
#ifndef EPORT_CONFIG_INT_H
#define EPORT_CONFIG_INT_H

#include "config.h"

/* Record "file:line:col: error: <fmt>" at n (NULL: 1:1). */
void cfg__problem(cfg *c, const ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copies into c's arena; NULL (and c->nomem_ set) when out of memory. */
char *cfg__strdup(cfg *c, const char *s);
/* dir + "/" + rel, "." dropped, leading ".." taken off dir; in c's arena. */
const char *cfg__join(cfg *c, const char *dir, const char *rel);
/* "a, b, c" into out. */
void cfg__join_names(const char *const *names, size_t n, char *out, size_t cap);

/* config_check.c: defaults computed from other keys, then the checks
 * across keys; both after every section was read. */
void cfg__derive(cfg *c);
void cfg__check(cfg *c);

#endif
