/* model_test_util: what unit tests of the modules that read canonical
 * records share: records written as their JSON form (docs/model.md) and
 * an arena per test group. Header-only; include after cmocka.h. */
#ifndef EPORT_MODEL_TEST_UTIL_H
#define EPORT_MODEL_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "model_json.h"

/* The record json holds, in arena a; the test fails when it is not one. */
static inline model_record *mtu_rec(arena_t *a, const char *json)
{
    model_record *r = NULL;
    err_t e;
    if (model_json_read(json, strlen(json), a, &r, &e))
        fail_msg("fixture: %s", e.msg);
    return r;
}

/* cmocka group setup and teardown: *state is an arena of 4 MiB. */
static inline int mtu_arena_setup(void **state)
{
    arena_t *a = malloc(sizeof *a);
    if (!a)
        return -1;
    arena_init(a, 1 << 22);
    *state = a;
    return 0;
}

static inline int mtu_arena_teardown(void **state)
{
    arena_free(*state);
    free(*state);
    return 0;
}

#endif
