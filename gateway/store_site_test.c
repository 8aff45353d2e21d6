/* Unit tests for the standby site's promotion against a private primary
 * and replica (tests/redis_repl.h), a fresh pair per test: what a replica
 * and a primary report; promotion refused on a primary, while the link is
 * up (split brain), while the old primary still answers (even with an
 * error), on a replica
 * that never synced, on one that would refuse writes once promoted
 * (min-replicas-to-write), and when a lag limit cannot be checked or is
 * exceeded; promotion once the primary is lost (writable, v1:site
 * recorded with the old primary and the offset, the config file without
 * its replicaof, REPLICAOF fenced off), and --force with a config file
 * Redis cannot rewrite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../tests/redis_repl.h"
#include "store_site.h"

static trepl_pair g;

static int pair_setup(void **state)
{
    (void)state;
    int rc = trepl_start(&g);
    if (rc == 1)
        g.rurl[0] = '\0';
    return rc < 0 ? -1 : 0;
}

static int orphan_setup(void **state)
{
    (void)state;
    int rc = trepl_start_orphan(&g);
    if (rc == 1)
        g.rurl[0] = '\0';
    return rc < 0 ? -1 : 0;
}

static int pair_teardown(void **state)
{
    (void)state;
    trepl_stop(&g);
    return 0;
}

static store *open_at(const char *url)
{
    if (!url[0])
        skip();
    store *st = NULL;
    err_t e = {0};
    if (store_open(url, "eport:CQ:", &st, &e) != 0)
        fail_msg("store_open: %s", e.msg);
    return st;
}

/* SET k v on the primary, then wait until the replica has it. */
static void write_through(const char *k)
{
    redisContext *c = redisConnect("127.0.0.1", g.pport);
    assert_true(c && !c->err);
    redisReply *r = redisCommand(c, "SET %s v", k);
    assert_non_null(r);
    freeReplyObject(r);
    r = redisCommand(c, "WAIT 1 5000");
    assert_true(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
    freeReplyObject(r);
    redisFree(c);
}

/* The primary lost: killed, and the replica's link seen down. */
static void lose_primary(void)
{
    trepl_kill(&g.ppid);
    assert_int_equal(trepl_wait(g.rport, "master_link_status:down", 5000),
                     0);
}

/* Does a line of the replica's config file hold needle (at its start
 * when start)? */
static int conf_line(const char *needle, int start)
{
    char conf[512], line[512];
    trepl_conf(g.dir, g.rport, conf);
    FILE *f = fopen(conf, "r");
    assert_non_null(f);
    int yes = 0;
    while (!yes && fgets(line, sizeof line, f))
        yes = start ? strncmp(line, needle, strlen(needle)) == 0
                    : strstr(line, needle) != NULL;
    fclose(f);
    return yes;
}

static store_site_state info_of(store *st)
{
    store_site_state s;
    err_t e = {0};
    if (store_site_info(st, &s, &e) != 0)
        fail_msg("store_site_info: %s", e.msg);
    return s;
}

static void test_info_replica(void **state)
{
    (void)state;
    store *st = open_at(g.rurl);
    write_through("a");
    store_site_state s = info_of(st);
    char master[64];
    snprintf(master, sizeof master, "127.0.0.1:%d", g.pport);
    assert_string_equal(s.role, "slave");
    assert_int_equal(s.replica, 1);
    assert_string_equal(s.master, master);
    assert_string_equal(s.link, "up");
    assert_true(s.slave_offset > 0 && s.master_offset > 0);
    assert_int_equal(s.keys, 1);
    assert_int_equal(s.primary_answers, 1); /* asked directly */
    assert_string_equal(s.primary_role, "master");
    assert_true(s.lag_bytes >= 0);
    assert_int_equal(s.promoted, 0);
    assert_int_equal(s.replicaof_denied, 0); /* not fenced */
    assert_int_equal(s.demote_tries, 0);
    store_close(st);
}

static void test_info_primary(void **state)
{
    (void)state;
    store *st = open_at(g.purl);
    write_through("a");
    store_site_state s = info_of(st);
    char replica[64];
    snprintf(replica, sizeof replica, "127.0.0.1:%d", g.rport);
    assert_string_equal(s.role, "master");
    assert_int_equal(s.replica, 0);
    assert_int_equal(s.nreplicas, 1);
    assert_string_equal(s.replicas[0].addr, replica);
    assert_string_equal(s.replicas[0].state, "online");
    assert_true(s.replicas[0].offset > 0);
    assert_string_equal(s.master, "");
    assert_int_equal(s.lag_bytes, -1);
    store_close(st);
}

/* Still a replica, as it was. */
static void assert_replica(store *st)
{
    store_site_state s = info_of(st);
    assert_int_equal(s.replica, 1);
    assert_int_equal(s.promoted, 0);
}

static void test_refused_on_primary(void **state)
{
    (void)state;
    store *st = open_at(g.purl);
    store_site_opts o = {.force = 1, .max_lag_bytes = -1};
    store_site_state s;
    err_t e = {0};
    assert_int_equal(store_site_promote(st, &o, &s, &e), ERR_PHASE);
    assert_non_null(strstr(e.msg, "not a replica (role master)"));
    assert_non_null(strstr(e.msg, g.purl)); /* where */
    store_close(st);
}

static void test_refused_link_up(void **state)
{
    (void)state;
    store *st = open_at(g.rurl);
    write_through("a");
    store_site_opts o = {.max_lag_bytes = -1};
    store_site_state s;
    err_t e = {0};
    assert_int_equal(store_site_promote(st, &o, &s, &e), ERR_PHASE);
    assert_non_null(strstr(e.msg, "split brain"));
    assert_non_null(strstr(e.msg, "link to it is up"));
    assert_string_equal(s.link, "up"); /* what was seen is reported */
    assert_replica(st);
    store_close(st);
}

/* The link cut with the primary still up (a partition of replication
 * only): the primary refuses PSYNC and SYNC, drops its replica, then
 * takes n more writes the replica does not get. */
static void cut_link(int n)
{
    redisContext *c = redisConnect("127.0.0.1", g.pport);
    assert_true(c && !c->err);
    const char *cmds[] = {"ACL SETUSER default -psync -sync",
                          "CLIENT KILL TYPE replica"};
    for (size_t i = 0; i < 2; i++)
        freeReplyObject(redisCommand(c, cmds[i]));
    assert_int_equal(trepl_wait(g.rport, "master_link_status:down", 5000),
                     0);
    for (int i = 0; i < n; i++)
        freeReplyObject(redisCommand(c, "SET late%d v", i));
    redisFree(c);
}

static void test_refused_primary_answers(void **state)
{
    (void)state;
    store *st = open_at(g.rurl);
    write_through("a");
    cut_link(0);
    store_site_opts o = {.max_lag_bytes = -1};
    store_site_state s;
    err_t e = {0};
    assert_int_equal(store_site_promote(st, &o, &s, &e), ERR_PHASE);
    assert_non_null(strstr(e.msg, "split brain"));
    assert_non_null(strstr(e.msg, "still answers"));
    assert_string_equal(s.primary_role, "master");
    assert_string_equal(s.link, "down");
    assert_replica(st);
    store_close(st);
}

/* An old primary that answers only with an error is running all the
 * same. */
static void test_refused_primary_errors(void **state)
{
    (void)state;
    store *st = open_at(g.rurl);
    write_through("a");
    redisContext *c = redisConnect("127.0.0.1", g.pport);
    freeReplyObject(redisCommand(c, "CONFIG SET requirepass s3cret"));
    freeReplyObject(redisCommand(c, "CLIENT KILL TYPE replica"));
    redisFree(c);
    assert_int_equal(trepl_wait(g.rport, "master_link_status:down", 5000),
                     0);
    store_site_opts o = {.max_lag_bytes = -1};
    store_site_state s;
    err_t e = {0};
    assert_int_equal(store_site_promote(st, &o, &s, &e), ERR_PHASE);
    assert_non_null(strstr(e.msg, "still answers"));
    assert_int_equal(s.primary_answers, 1);
    assert_string_equal(s.primary_role, "");
    assert_non_null(strstr(s.primary_why, "NOAUTH"));
    assert_replica(st);
    store_close(st);
}

static void test_refused_never_synced(void **state)
{
    (void)state;
    store *st = open_at(g.rurl);
    store_site_opts o = {.max_lag_bytes = -1};
    store_site_state s;
    err_t e = {0};
    assert_int_equal(store_site_promote(st, &o, &s, &e), ERR_PHASE);
    assert_non_null(strstr(e.msg, "holds no keys"));
    assert_int_equal(s.primary_answers, 0);
    assert_true(s.primary_why[0] != '\0');
    assert_replica(st);
    store_close(st);
}

static void test_refused_lag(void **state)
{
    (void)state;
    store *st = open_at(g.rurl);
    write_through("a");
    cut_link(3);
    store_site_opts o = {.force = 1, .max_lag_bytes = 10};
    store_site_state s;
    err_t e = {0};
    assert_int_equal(store_site_promote(st, &o, &s, &e), ERR_PHASE);
    assert_true(s.lag_bytes > 10);
    assert_int_equal(s.lag_bytes, s.primary_offset - s.slave_offset);
    assert_non_null(strstr(e.msg, "more than max lag 10"));
    assert_replica(st);
    o.max_lag_bytes = s.lag_bytes; /* within: promoted */
    if (store_site_promote(st, &o, &s, &e) != 0)
        fail_msg("store_site_promote: %s", e.msg);
    assert_string_equal(s.role, "master");
    store_close(st);
}

static void test_refused_min_replicas(void **state)
{
    (void)state;
    store *st = open_at(g.rurl);
    write_through("a");
    lose_primary();
    redisContext *c = redisConnect("127.0.0.1", g.rport);
    freeReplyObject(redisCommand(c, "CONFIG SET min-replicas-to-write 1"));
    store_site_opts o = {.force = 1, .max_lag_bytes = -1};
    store_site_state s;
    err_t e = {0};
    assert_int_equal(store_site_promote(st, &o, &s, &e), ERR_PHASE);
    assert_non_null(strstr(e.msg, "would refuse every write"));
    assert_int_equal(s.min_replicas, 1);
    assert_replica(st);
    freeReplyObject(redisCommand(c, "CONFIG SET min-replicas-to-write 0"));
    redisFree(c);
    if (store_site_promote(st, &o, &s, &e) != 0)
        fail_msg("store_site_promote: %s", e.msg);
    store_close(st);
}

static void test_lag_unknown(void **state)
{
    (void)state;
    store *st = open_at(g.rurl);
    write_through("a");
    lose_primary();
    store_site_opts o = {.max_lag_bytes = 1000};
    store_site_state s;
    err_t e = {0};
    assert_int_equal(store_site_promote(st, &o, &s, &e), ERR_PHASE);
    assert_non_null(strstr(e.msg, "lag unknown"));
    assert_replica(st);
    store_close(st);
}

/* What Redis holds after a promotion that reported s. */
static void assert_promoted(store *st, const store_site_state *s)
{
    store_site_state after = info_of(st);
    assert_string_equal(after.role, "master");
    assert_int_equal(after.promoted, 1);
    assert_string_equal(after.from, s->from);
    assert_int_equal(after.promoted_offset, s->promoted_offset);
    assert_int_equal(after.promoted_at, s->promoted_at);
    assert_int_equal(after.keys, 2); /* "a" and v1:site */
    redisContext *c = redisConnect("127.0.0.1", g.rport);
    redisReply *r = redisCommand(c, "HGET eport:CQ:v1:site v");
    assert_true(r && r->type == REDIS_REPLY_STRING);
    assert_string_equal(r->str, "1");
    freeReplyObject(r);
    /* an old Sentinel's demotion, refused and counted */
    r = redisCommand(c, "REPLICAOF 127.0.0.1 %d", g.pport);
    assert_true(r && r->type == REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "NOPERM"));
    freeReplyObject(r);
    redisFree(c);
    assert_int_equal(info_of(st).demote_tries, 1);
}

static void test_promote(void **state)
{
    (void)state;
    store *st = open_at(g.rurl);
    write_through("a");
    redisContext *rc = redisConnect("127.0.0.1", g.rport);
    freeReplyObject(redisCommand(rc, "CONFIG REWRITE")); /* as installed */
    redisFree(rc);
    assert_true(conf_line("replicaof 127.0.0.1", 1));
    store_site_state before = info_of(st), s;
    lose_primary();
    store_site_opts o = {.max_lag_bytes = -1};
    err_t e = {0};
    if (store_site_promote(st, &o, &s, &e) != 0)
        fail_msg("store_site_promote: %s", e.msg);
    char master[64];
    snprintf(master, sizeof master, "127.0.0.1:%d", g.pport);
    assert_string_equal(s.role, "master");
    assert_string_equal(s.from, master);
    assert_int_equal(s.promoted_offset, before.slave_offset);
    assert_string_equal(s.rewrite_why, "");
    assert_false(conf_line("replicaof", 1)); /* a restart: still primary */
    assert_true(conf_line("-replicaof", 0)); /* ... and fenced */
    assert_string_equal(s.fence_why, "");
    assert_int_equal(s.replicaof_denied, 1);
    assert_promoted(st, &s);
    assert_int_equal(store_site_promote(st, &o, &s, &e), ERR_PHASE);
    assert_non_null(strstr(e.msg, "not a replica")); /* once */
    store_close(st);
}

static void test_promote_forced(void **state)
{
    (void)state;
    store *st = open_at(g.rurl);
    write_through("a");
    char conf[512];
    trepl_conf(g.dir, g.rport, conf);
    assert_int_equal(unlink(conf), 0); /* a file Redis cannot rewrite */
    assert_int_equal(mkdir(conf, 0700), 0);
    store_site_opts o = {.force = 1, .max_lag_bytes = 1 << 20};
    store_site_state s;
    err_t e = {0};
    if (store_site_promote(st, &o, &s, &e) != 0)
        fail_msg("store_site_promote: %s", e.msg);
    assert_string_equal(s.role, "master");
    assert_true(s.lag_bytes >= 0 && s.lag_bytes <= 1 << 20);
    /* promoted all the same, and the failed rewrite said */
    assert_non_null(strstr(s.rewrite_why, "CONFIG REWRITE"));
    assert_int_equal(info_of(st).promoted, 1);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f, setup) cmocka_unit_test_setup_teardown(f, setup, pair_teardown)
        T(test_info_replica, pair_setup),
        T(test_info_primary, pair_setup),
        T(test_refused_on_primary, pair_setup),
        T(test_refused_link_up, pair_setup),
        T(test_refused_primary_answers, pair_setup),
        T(test_refused_primary_errors, pair_setup),
        T(test_refused_never_synced, orphan_setup),
        T(test_refused_lag, pair_setup),
        T(test_refused_min_replicas, pair_setup),
        T(test_lag_unknown, pair_setup),
        T(test_promote, pair_setup),
        T(test_promote_forced, pair_setup),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
