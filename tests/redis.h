/* tests/redis.h: a private, throw-away redis-server for tests that need a
 * real Redis, so they never touch a shared one and can stop it to see how
 * the code under test fails. Header-only; needs hiredis.
 *
 * test_redis_start picks a free loopback port, starts redis-server there
 * without persistence, waits (at most 5 s) until it answers PING and
 * writes its URL ("redis://127.0.0.1:PORT") into url. Returns 0, 1 when
 * redis-server is not installed (the caller should skip()), or -1.
 *
 * For failover tests: test_redis_start_at starts one with its files in a
 * temp dir, as a replica of another (--replicaof) if asked;
 * test_redis_sentinel_start a redis-sentinel watching a primary (its
 * config file, which Sentinel rewrites, in the temp dir);
 * test_redis_kill stops one at once, and test_redis_rmdir removes the
 * temp dir. */
#ifndef EPORT_TESTS_REDIS_H
#define EPORT_TESTS_REDIS_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Is bin an executable file in one of $PATH's directories? */
static inline int test_redis_have(const char *bin)
{
    const char *path = getenv("PATH");
    char dir[4096], file[4200];
    while (path && *path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && n < sizeof dir) {
            memcpy(dir, path, n);
            dir[n] = '\0';
            snprintf(file, sizeof file, "%s/%s", dir, bin);
            if (access(file, X_OK) == 0)
                return 1;
        }
        path += n + (path[n] == ':');
    }
    return 0;
}

static inline int test_redis_installed(void)
{
    return test_redis_have("redis-server");
}

/* A loopback port nobody listens on now: bind port 0, read it, close.
 * Another process could take it before redis-server does; unlikely in a
 * test run, and the PING wait would then fail loudly. */
static inline int test_redis_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static inline int test_redis_pings(int port)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r = c && !c->err ? redisCommand(c, "PING") : NULL;
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return ok;
}

static inline void test_redis_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* In the child: output to /dev/null, then become redis-server. _exit, not
 * exit: the child must not run the test binary's atexit handlers. */
static inline void test_redis_exec(int port)
{
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    execlp("redis-server", "redis-server", "--port", p, "--bind",
           "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize",
           "no", (char *)NULL);
    _exit(127);
}

static inline int test_redis_start(char url[64], pid_t *pid)
{
    *pid = -1;
    if (!test_redis_installed())
        return 1;
    int port = test_redis_free_port();
    if (port <= 0)
        return -1;
    pid_t child = fork();
    if (child < 0)
        return -1;
    if (child == 0)
        test_redis_exec(port);
    for (int i = 0; i < 100; i++) { /* 100 x 50 ms = 5 s */
        if (test_redis_pings(port)) {
            snprintf(url, 64, "redis://127.0.0.1:%d", port);
            *pid = child;
            return 0;
        }
        if (waitpid(child, NULL, WNOHANG) == child)
            return -1; /* it died: port taken, bad option... */
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    }
    test_redis_stop(child);
    return -1;
}

/* ---- replicas and sentinels ---- */

/* In the child: output to /dev/null, then become argv[0]. */
static inline void test_redis_execv(char *const argv[])
{
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    execvp(argv[0], argv);
    _exit(127);
}

/* Forks argv, then waits (at most 5 s) until port answers PING. 0 with
 * *pid, or -1 (it died or never answered: stopped). */
static inline int test_redis_spawn(char *const argv[], int port, pid_t *pid)
{
    *pid = -1;
    pid_t child = fork();
    if (child < 0)
        return -1;
    if (child == 0)
        test_redis_execv(argv);
    for (int i = 0; i < 100; i++) { /* 100 x 50 ms = 5 s */
        if (test_redis_pings(port)) {
            *pid = child;
            return 0;
        }
        if (waitpid(child, NULL, WNOHANG) == child)
            return -1;
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    }
    test_redis_stop(child);
    return -1;
}

/* test_redis_start with the server's files in dir (a replica writes there
 * what its primary sends), full resyncs without delay, and, when
 * primary_port > 0, as a replica of 127.0.0.1:primary_port. *port is
 * its port. 0, 1 when redis-server is not installed, or -1. */
static inline int test_redis_start_at(const char *dir, int primary_port,
                                      int *port, char url[64], pid_t *pid)
{
    *pid = -1;
    if (!test_redis_installed())
        return 1;
    char p[16], mp[16];
    if ((*port = test_redis_free_port()) <= 0)
        return -1;
    snprintf(p, sizeof p, "%d", *port);
    snprintf(mp, sizeof mp, "%d", primary_port);
    char *argv[] = {"redis-server", "--port", p, "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--daemonize", "no",
                    "--dir", (char *)dir, "--repl-diskless-sync-delay", "0",
                    "--replicaof", "127.0.0.1", mp, NULL};
    if (primary_port <= 0)
        argv[15] = NULL;
    if (test_redis_spawn(argv, *port, pid) < 0)
        return -1;
    snprintf(url, 64, "redis://127.0.0.1:%d", *port);
    return 0;
}

/* Writes dir/sentinel-PORT.conf: monitor 127.0.0.1:master_port as name,
 * quorum 1, down after down_ms, failover timeout failover_ms. */
static inline int test_redis_sentinel_conf(const char *dir, int port,
                                           const char *name, int master_port,
                                           int down_ms, int failover_ms,
                                           char conf[512])
{
    snprintf(conf, 512, "%s/sentinel-%d.conf", dir, port);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f, "port %d\nbind 127.0.0.1\ndaemonize no\ndir \"%s\"\n"
            "logfile \"%s/sentinel-%d.log\"\n"
            "sentinel monitor %s 127.0.0.1 %d 1\n"
            "sentinel down-after-milliseconds %s %d\n"
            "sentinel failover-timeout %s %d\n", port, dir, dir, port,
            name, master_port, name, down_ms, name, failover_ms);
    return fclose(f) == 0 ? 0 : -1;
}

/* A redis-sentinel on a free loopback port watching master_port as name
 * (test_redis_sentinel_conf). 0 with *port and *pid, 1 when
 * redis-sentinel is not installed (the caller should skip()), or -1. */
static inline int test_redis_sentinel_start(const char *dir, const char *name,
                                            int master_port, int down_ms,
                                            int failover_ms, int *port,
                                            pid_t *pid)
{
    char conf[512];
    *pid = -1;
    if (!test_redis_have("redis-sentinel"))
        return 1;
    if ((*port = test_redis_free_port()) <= 0 ||
        test_redis_sentinel_conf(dir, *port, name, master_port, down_ms,
                                 failover_ms, conf) < 0)
        return -1;
    char *argv[] = {"redis-sentinel", conf, NULL};
    return test_redis_spawn(argv, *port, pid);
}

/* Replicas the sentinel on port knows for name and could promote now
 * (flags exactly "slave", link to the primary up). */
static inline int test_redis_sentinel_replicas(int port, const char *name)
{
    struct timeval tv = {0, 500000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r = c && !c->err
        ? redisCommand(c, "SENTINEL replicas %s", name) : NULL;
    int n = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY &&
                       i < r->elements; i++) {
        redisReply *kv = r->element[i];
        int flags = 0, link = 0;
        for (size_t k = 0; kv->type == REDIS_REPLY_ARRAY &&
                           k + 1 < kv->elements; k += 2) {
            const char *key = kv->element[k]->str, *v = kv->element[k + 1]->str;
            flags |= key && v && !strcmp(key, "flags") && !strcmp(v, "slave");
            link |= key && v && !strcmp(key, "master-link-status") &&
                    !strcmp(v, "ok");
        }
        n += flags && link;
    }
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return n;
}

/* Stops pid at once (SIGKILL: a machine lost, nothing saved or said). */
static inline void test_redis_kill(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* Removes dir and the files in it (and empty directories a test made). */
static inline void test_redis_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *en;
    char path[4200];
    while (d && (en = readdir(d)))
        if (strcmp(en->d_name, ".") && strcmp(en->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, en->d_name);
            if (unlink(path) < 0)
                rmdir(path);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

#endif
