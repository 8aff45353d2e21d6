/* tests/redis.h: a private, throw-away redis-server for tests that need a
 * real Redis, so they never touch a shared one and can stop it to see how
 * the code under test fails. Header-only; needs hiredis.
 *
 * test_redis_start picks a free loopback port, starts redis-server there
 * without persistence, waits (at most 5 s) until it answers PING and
 * writes its URL ("redis://127.0.0.1:PORT") into url. Returns 0, 1 when
 * redis-server is not installed (the caller should skip()), or -1. */
#ifndef EPORT_TESTS_REDIS_H
#define EPORT_TESTS_REDIS_H

#include <arpa/inet.h>
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

/* Is redis-server an executable file in one of $PATH's directories? */
static inline int test_redis_installed(void)
{
    const char *path = getenv("PATH");
    char dir[4096], file[4200];
    while (path && *path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && n < sizeof dir) {
            memcpy(dir, path, n);
            dir[n] = '\0';
            snprintf(file, sizeof file, "%s/redis-server", dir);
            if (access(file, X_OK) == 0)
                return 1;
        }
        path += n + (path[n] == ':');
    }
    return 0;
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

#endif
