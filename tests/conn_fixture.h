/* tests/conn_fixture.h: what the connectors' unit tests share: the
 * repository found from the test's directory and its mapping tables
 * loaded, a temporary directory, metrics and an error-only log for node
 * CQ, a private redis-server (store_test_util.h), and node CQ's config
 * written there and loaded. Header-only, like tests/redis.h; include once
 * per test binary, after <cmocka.h>.
 *
 *   cmocka_run_group_tests(tests, conn_fixture_setup,
 *                          conn_fixture_teardown);
 *   cfg *c = conn_fixture_cfg("o1", 8101, "redis: {url: '%s', "
 *                             "prefix: 'o1:'}\n...", g_url);
 */
#ifndef EPORT_TESTS_CONN_FIXTURE_H
#define EPORT_TESTS_CONN_FIXTURE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "auth.h"
#include "cfg_fixture.h"
#include "config.h"
#include "log.h"
#include "map.h"
#include "metrics.h"
#include "store_test_util.h"

static char g_repo[1024]; /* the repository: mappings/, its samples */
static char g_tmp[256];   /* this run's configs and connector dirs */
static map_set *g_maps;   /* mappings/ loaded */

/* The first of ., .., ../.. and ../../.. holding mappings/, made
 * absolute: tests run from the repository or from the build tree. */
static inline int conn_fixture_find_repo(void)
{
    const char *ups[] = {".", "..", "../..", "../../.."};
    for (size_t i = 0; i < sizeof ups / sizeof ups[0]; i++) {
        char probe[1100];
        snprintf(probe, sizeof probe, "%s/mappings/cusres.yaml", ups[i]);
        if (access(probe, R_OK) == 0) {
            char *real = realpath(ups[i], NULL);
            snprintf(g_repo, sizeof g_repo, "%s", real);
            free(real);
            return 0;
        }
    }
    return -1;
}

/* The group setup (cmocka's): g_repo, g_maps, g_tmp, metrics and the
 * log, then Redis; g_url is "" when redis-server is not installed (each
 * test then skips). 0 or -1. */
static inline int conn_fixture_setup(void **state)
{
    err_t e;
    char dir[1200];
    if (conn_fixture_find_repo())
        return -1;
    snprintf(dir, sizeof dir, "%s/mappings", g_repo);
    if (map_set_load(dir, &g_maps, &e) ||
        cfg_fixture_tmpdir(g_tmp, "conn_fixture") || met_init("CQ", &e) ||
        log_open("-", LOG_ERROR, "CQ", &e))
        return -1;
    return stu_group_setup(state);
}

static inline int conn_fixture_teardown(void **state)
{
    stu_group_teardown(state);
    map_set_free(g_maps);
    return cfg_fixture_rmdir(g_tmp);
}

/* Writes g_tmp/NAME.yaml, opened for the caller to go on: node CQ with
 * its HTTP on http_port, its PKI and the repository's mappings. The rest
 * (redis, connectors, clients...) is the test's; conn_fixture_load ends
 * it. */
static inline FILE *conn_fixture_yaml(const char *name, int http_port,
                                      char path[400])
{
    snprintf(path, 400, "%s/%s.yaml", g_tmp, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
        "node: {id: CQ, region: CQ, role: provincial, "
        "listen: 'tcp://127.0.0.1:7101', http: '127.0.0.1:%d'}\n"
        "pki: {ca: pki/ca.crt, cert: pki/CQ.crt, key: pki/CQ.key, "
        "curve_public: pki/CQ.curve.pub, curve_secret: pki/CQ.curve.key}\n"
        "mappings: {dir: %s/mappings}\n",
        http_port, g_repo);
    return f;
}

/* Closes f, written from conn_fixture_yaml, and loads path. */
static inline cfg *conn_fixture_load(FILE *f, const char *path)
{
    fclose(f);
    return cfg_fixture_load(path);
}

/* conn_fixture_yaml's config with the rest as fmt says. */
static inline cfg *conn_fixture_cfg(const char *name, int http_port,
                                    const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline cfg *conn_fixture_cfg(const char *name, int http_port,
                                    const char *fmt, ...)
{
    char path[400];
    FILE *f = conn_fixture_yaml(name, http_port, path);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    return conn_fixture_load(f, path);
}

/* A store on prefix "NAME:", the prefix of the configs named NAME. */
static inline store *conn_fixture_store(const char *name)
{
    char p[64];
    snprintf(p, sizeof p, "%s:", name);
    return stu_open(g_url, p);
}

/* The hex SHA-256 of an API key, as a client's key_sha256. */
static inline void conn_fixture_hash(const char *key, char hex[65])
{
    err_t e;
    if (auth_key_hash(key, hex, &e))
        fail_msg("auth_key_hash: %s", e.msg);
}

/* The repository's file rel into buf (at most cap - 1 bytes, then a
 * NUL): its length. */
static inline size_t conn_fixture_read(const char *rel, char *buf,
                                       size_t cap)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", g_repo, rel);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    return n;
}

/* The repository's file rel (up to 1 MiB), malloc'd, NUL-terminated. */
static inline char *conn_fixture_read_all(const char *rel, size_t *len)
{
    char *p = malloc(1 << 20);
    assert_non_null(p);
    *len = conn_fixture_read(rel, p, 1 << 20);
    return p;
}

#endif
