/* tests/pki_fixture.h: a throw-away federation PKI for unit tests, made by
 * the real deploy/pki (so tests see the certificates nodes get) in a
 * private temporary directory that test_pki_free removes. Header-only,
 * like tests/redis.h.
 *
 *   test_pki t;
 *   if (test_pki_init(&t, "dir_test") || test_pki_run(&t, "issue CQ --region CQ"))
 *       return -1;              // what deploy/pki said is in t.dir/log
 *   test_pki_path(&t, path, sizeof path, "CQ.crt");
 *   test_pki_free(&t);
 */
#ifndef EPORT_TESTS_PKI_FIXTURE_H
#define EPORT_TESTS_PKI_FIXTURE_H

#define _XOPEN_SOURCE_EXTENDED 1
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct test_pki {
    char dir[256];     /* the temporary directory ("" before init) */
    char pki[300];     /* dir/pki: deploy/pki --dir */
    char script[4096]; /* deploy/pki, absolute */
} test_pki;

/* deploy/pki found from the working directory (a test runs from the
 * repository root or below it). */
static inline int test_pki__find(test_pki *t)
{
    static const char *const tries[] = { "deploy/pki", "../deploy/pki",
                                         "../../deploy/pki",
                                         "../../../deploy/pki" };
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++)
        if (access(tries[i], X_OK) == 0 && realpath(tries[i], t->script))
            return 0;
    fprintf(stderr, "deploy/pki not found from the working directory\n");
    return -1;
}

/* deploy/pki --dir t->pki with these arguments; output to t->dir/log. */
static inline int test_pki_run(test_pki *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline int test_pki_run(test_pki *t, const char *fmt, ...)
{
    char args[2048], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' --dir '%s' %s >>'%s/log' 2>&1",
             t->script, t->pki, args, t->dir);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "deploy/pki %s: failed (%d), see %s/log\n", args, rc,
                t->dir);
    return rc;
}

/* A fresh directory named after the test and a federation CA in it. */
static inline int test_pki_init(test_pki *t, const char *name)
{
    memset(t, 0, sizeof *t);
    const char *tmp = getenv("TMPDIR");
    if (test_pki__find(t) < 0)
        return -1;
    snprintf(t->dir, sizeof t->dir, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp",
             name);
    if (!mkdtemp(t->dir)) {
        t->dir[0] = '\0';
        return -1;
    }
    snprintf(t->pki, sizeof t->pki, "%s/pki", t->dir);
    return test_pki_run(t, "init-ca");
}

/* t->pki/file into out. */
static inline void test_pki_path(const test_pki *t, char *out, size_t n,
                                 const char *file)
{
    snprintf(out, n, "%s/%s", t->pki, file);
}

static inline int test_pki__rm(const char *p, const struct stat *s, int f,
                               struct FTW *w)
{
    (void)s, (void)f, (void)w;
    return remove(p);
}

static inline void test_pki_free(test_pki *t)
{
    if (t->dir[0])
        nftw(t->dir, test_pki__rm, 16, FTW_DEPTH | FTW_PHYS);
    t->dir[0] = '\0';
}

#endif
