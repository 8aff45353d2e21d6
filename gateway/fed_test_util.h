/* fed_test_util: what fed_test.c and fed_alert_test.c share: a private
 * redis-server (store_test_util.h), the national center's configuration
 * written to a temporary file and loaded (tests/cfg_fixture.h), health
 * messages made to order, and replies read from a raw connection
 * (stu_raw). Header-only; include after cmocka.h. */
#ifndef EPORT_FED_TEST_UTIL_H
#define EPORT_FED_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tests/cfg_fixture.h"
#include "store_test_util.h"
#include "config.h"
#include "fed.h"

static char ftu_dir[256]; /* this run's temporary directory */

static int ftu_setup(void **state)
{
    if (cfg_fixture_tmpdir(ftu_dir, "fedtest"))
        return -1;
    return stu_group_setup(state);
}

static int ftu_teardown(void **state)
{
    if (cfg_fixture_rmdir(ftu_dir))
        fprintf(stderr, "could not remove %s\n", ftu_dir);
    return stu_group_teardown(state);
}

/* The national center NC with peers CQ and SH; extra YAML appended. */
static cfg *ftu_cfg(const char *extra)
{
    char path[400], text[4096];
    snprintf(path, sizeof path, "%s/nc.yaml", ftu_dir);
    snprintf(text, sizeof text,
             "node:\n  id: NC\n  region: CN\n  role: national\n"
             "  listen: tcp://127.0.0.1:7105\n  http: 127.0.0.1:8105\n"
             "pki:\n  ca: pki/ca.crt\n  cert: pki/NC.crt\n  key: pki/NC.key\n"
             "  curve_public: pki/NC.curve.pub\n"
             "  curve_secret: pki/NC.curve.key\n"
             "redis:\n  url: redis://127.0.0.1:6390/0\n"
             "peers:\n  - id: CQ\n    region: CQ\n"
             "    endpoints: [tcp://127.0.0.1:7101]\n"
             "  - id: SH\n    region: SH\n"
             "    endpoints: [tcp://127.0.0.1:7104]\n"
             "health:\n  interval_ms: 1000\n  down_after_ms: 5000\n%s",
             extra ? extra : "");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return cfg_fixture_load(path);
}

/* Health of node (region) at `at`, one peer `peer` up with an ack at
 * ack_ms and outbox entries queued. */
static void ftu_health(fed_health *h, const char *node, const char *peer,
                       uint64_t at, uint64_t ack_ms, uint64_t outbox)
{
    memset(h, 0, sizeof *h);
    snprintf(h->node, sizeof h->node, "%s", node);
    snprintf(h->region, sizeof h->region, "%s", node);
    h->at_ms = at;
    h->npeers = 1;
    snprintf(h->peers[0].id, sizeof h->peers[0].id, "%s", peer);
    h->peers[0].up = 1;
    h->peers[0].last_ack_ms = ack_ms;
    h->peers[0].outbox = outbox;
}

/* fed_apply of h (encoded here) at now: its result. */
static int ftu_apply(store *st, const fed_health *h, int64_t now)
{
    buf_t b;
    err_t e = {0};
    buf_init(&b, FED_HEALTH_MAX_BYTES);
    assert_int_equal(fed_health_encode(h, &b, &e), 0);
    int rc = fed_apply(st, h, b.p, b.len, NULL, now, &e);
    if (rc < 0)
        fail_msg("fed_apply: %s", e.msg);
    buf_free(&b);
    return rc;
}

/* A string reply of a command (NULL for nil), malloc'd. */
static char *ftu_str(redisContext *c, const char *fmt, const char *a,
                     const char *b)
{
    redisReply *r = redisCommand(c, fmt, a, b);
    assert_non_null(r);
    char *s = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return s;
}

#endif
