/* Process-wide event log; see log.h. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG__QBUF 512
#define LOG__QRING 8

static struct {
    int fd;           /* 2 (stderr) or an opened file */
    log_level level;
    char node[33];
} log__g = { 2, LOG_INFO, "" };

static const char *const log__names[] = { "debug", "info", "warn", "error" };

int log_open(const char *path, log_level level, const char *node, err_t *e)
{
    int fd = 2;
    if (path && strcmp(path, "-") != 0) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
            return err_set(e, ERR_IO, "log file %s: cannot open: %s", path,
                           strerror(errno));
    }
    log_close();
    log__g.fd = fd;
    log__g.level = level;
    snprintf(log__g.node, sizeof log__g.node, "%s", node ? node : "");
    return 0;
}

void log_close(void)
{
    if (log__g.fd > 2)
        close(log__g.fd);
    log__g.fd = 2;
}

int log_enabled(log_level level)
{
    return level >= log__g.level;
}

/* "2026-11-24T09:01:16.123Z" */
static size_t log__stamp(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(out + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000);
    return k + (m > 0 ? (size_t)m : 0);
}

void log_event(log_level level, const char *event, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char line[LOG_LINE_MAX];
    size_t k = log__stamp(line, sizeof line);
    int m = snprintf(line + k, sizeof line - k, " level=%s%s%s event=%s ",
                     log__names[level], *log__g.node ? " node=" : "",
                     log__g.node, event);
    if (m > 0)
        k += (size_t)m;
    va_list ap;
    va_start(ap, fmt);
    if (k < sizeof line)
        m = vsnprintf(line + k, sizeof line - k, fmt, ap);
    va_end(ap);
    k = (m < 0 || k + (size_t)m >= sizeof line - 1) ? sizeof line - 5 : k + (size_t)m;
    if (k == sizeof line - 5)
        memcpy(line + k - 3, "...", 3);
    line[k++] = '\n';
    /* one write per line: short writes to a log are not retried */
    ssize_t w = write(log__g.fd, line, k);
    (void)w;
}

static int log__plain(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s == '"' || *s == '\\' || *s == '=' || *s == 0x7f)
            return 0;
    return 1;
}

const char *log_q(const char *s)
{
    static _Thread_local char ring[LOG__QRING][LOG__QBUF];
    static _Thread_local unsigned next;
    char *o = ring[next++ % LOG__QRING];
    if (!s)
        s = "";
    if (log__plain(s))
        return s;
    size_t k = 0;
    o[k++] = '"';
    for (; *s && k < LOG__QBUF - 6; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            o[k++] = '\\', o[k++] = (char)c;
        else if (c < ' ' || c == 0x7f)
            k += (size_t)snprintf(o + k, 5, "\\x%02x", c);
        else
            o[k++] = (char)c;
    }
    o[k++] = '"';
    o[k] = '\0';
    return o;
}

int log_gate_pass(log_gate *g, long long interval_ms,
                  unsigned long long *held)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (now < g->next_ms) {
        g->held++;
        return 0;
    }
    *held = g->held;
    g->held = 0;
    g->next_ms = now + interval_ms;
    return 1;
}
