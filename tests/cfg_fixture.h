/* tests/cfg_fixture.h: the files of a test's configs: a temporary
 * directory to write them in, removed at the end, and loading one so that
 * a config that does not load fails the test with cfg_load's problems.
 * Header-only, like tests/redis.h; include after <cmocka.h>. */
#ifndef EPORT_TESTS_CFG_FIXTURE_H
#define EPORT_TESTS_CFG_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "config.h"

/* A new directory $TMPDIR/NAME.XXXXXX (/tmp when TMPDIR is unset), so
 * that parallel runs of a test never share files. 0 or -1. */
static inline int cfg_fixture_tmpdir(char dir[256], const char *name)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, 256, "%s/%s.XXXXXX", base && *base ? base : "/tmp", name);
    return mkdtemp(dir) ? 0 : -1;
}

/* Removes dir and what is in it. 0 or -1. */
static inline int cfg_fixture_rmdir(const char *dir)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The config at path; the caller's (cfg_free). */
static inline cfg *cfg_fixture_load(const char *path)
{
    cfg *c = NULL;
    err_t e = {0};
    if (cfg_load(path, &c, &e))
        fail_msg("cfg_load: %s", c ? cfg_problems(c) : e.msg);
    return c;
}

#endif
