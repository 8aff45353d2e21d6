/* tests/redis_repl.h: a private Redis primary and its replica for tests
 * of replication (a standby site's promotion), built on tests/redis.h.
 * Header-only; needs hiredis.
 *
 * trepl_start makes a temp dir, starts a primary on a free loopback port
 * and a replica of it (--replicaof) on another, both with their files in
 * that dir (a replica writes there the snapshot its primary sends; each
 * server has a config file there, redis-PORT.conf, for CONFIG REWRITE),
 * without persistence and with no delay before a full sync, and waits
 * (at most 5 s) until the replica's link is up. Returns 0, 1 when
 * redis-server is not installed (the caller should skip()), or -1.
 * trepl_start_orphan starts a replica of a port nobody listens on (never
 * in sync). trepl_wait waits for a line of INFO replication, trepl_kill
 * stops a server at once (a lost machine), trepl_stop stops what is still
 * running and removes the dir. */
#ifndef EPORT_TESTS_REDIS_REPL_H
#define EPORT_TESTS_REDIS_REPL_H

#include "redis.h"

typedef struct trepl_pair {
    char dir[256];
    int pport, rport;          /* primary, replica */
    pid_t ppid, rpid;          /* -1 once stopped */
    char purl[64], rurl[64];   /* "redis://127.0.0.1:PORT" */
} trepl_pair;

/* dir/redis-PORT.conf: the file of the server on port. */
static inline void trepl_conf(const char *dir, int port, char out[512])
{
    snprintf(out, 512, "%s/redis-%d.conf", dir, port);
}

/* Starts one server on a free port, its files and its config file (made
 * empty, for CONFIG REWRITE) in dir, a replica of 127.0.0.1:primary_port
 * when that is > 0: 0 with *port and *pid once it answers PING, or -1. */
static inline int trepl_server(const char *dir, int primary_port, int *port,
                               pid_t *pid)
{
    char conf[512], p[16], mp[16];
    *pid = -1;
    if ((*port = test_redis_free_port()) <= 0)
        return -1;
    trepl_conf(dir, *port, conf);
    FILE *f = fopen(conf, "w");
    if (!f || fclose(f) != 0)
        return -1;
    snprintf(p, sizeof p, "%d", *port);
    snprintf(mp, sizeof mp, "%d", primary_port);
    char *argv[] = {"redis-server", conf, "--port", p, "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--daemonize", "no",
                    "--dir", (char *)dir, "--repl-diskless-sync-delay", "0",
                    "--replicaof", "127.0.0.1", mp, NULL};
    if (primary_port <= 0)
        argv[16] = NULL;
    return test_redis_spawn(argv, *port, pid);
}

/* Does the INFO replication of the server on port contain needle? */
static inline int trepl_info_has(int port, const char *needle)
{
    struct timeval tv = {0, 500000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r = c && !c->err ? redisCommand(c, "INFO replication") : NULL;
    int yes = r && r->type == REDIS_REPLY_STRING && strstr(r->str, needle);
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return yes;
}

/* Waits up to ms for trepl_info_has(port, needle): 0, or -1. */
static inline int trepl_wait(int port, const char *needle, int ms)
{
    for (int t = 0; t < ms; t += 20) {
        if (trepl_info_has(port, needle))
            return 0;
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
    return -1;
}

/* Kills pid at once (a machine lost) and marks it stopped. */
static inline void trepl_kill(pid_t *pid)
{
    test_redis_kill(*pid);
    *pid = -1;
}

static inline void trepl_stop(trepl_pair *p)
{
    test_redis_stop(p->rpid);
    test_redis_stop(p->ppid);
    p->rpid = p->ppid = -1;
    if (p->dir[0])
        test_redis_rmdir(p->dir);
    p->dir[0] = '\0';
}

/* Memory cleared, the temp dir made: 0, 1 when redis-server is not
 * installed, or -1. */
static inline int trepl__dir(trepl_pair *p)
{
    const char *tmp = getenv("TMPDIR");
    memset(p, 0, sizeof *p);
    p->ppid = p->rpid = -1;
    if (!test_redis_installed())
        return 1;
    snprintf(p->dir, sizeof p->dir, "%s/eport-repl-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(p->dir))
        return 0;
    p->dir[0] = '\0';
    return -1;
}

/* The replica once it is up: its URL, or the pair stopped and -1. */
static inline int trepl__replica(trepl_pair *p, const char *wait_for)
{
    if (trepl_server(p->dir, p->pport, &p->rport, &p->rpid) < 0 ||
        (wait_for && trepl_wait(p->rport, wait_for, 5000) < 0)) {
        trepl_stop(p);
        return -1;
    }
    snprintf(p->rurl, sizeof p->rurl, "redis://127.0.0.1:%d", p->rport);
    return 0;
}

static inline int trepl_start(trepl_pair *p)
{
    int rc = trepl__dir(p);
    if (rc != 0)
        return rc;
    if (trepl_server(p->dir, 0, &p->pport, &p->ppid) < 0) {
        trepl_stop(p);
        return -1;
    }
    snprintf(p->purl, sizeof p->purl, "redis://127.0.0.1:%d", p->pport);
    return trepl__replica(p, "master_link_status:up");
}

/* A replica of a port nobody listens on, never in sync (no primary:
 * ppid -1, purl ""). */
static inline int trepl_start_orphan(trepl_pair *p)
{
    int rc = trepl__dir(p);
    if (rc != 0)
        return rc;
    if ((p->pport = test_redis_free_port()) <= 0) {
        trepl_stop(p);
        return -1;
    }
    return trepl__replica(p, NULL);
}

#endif
