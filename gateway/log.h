/* log: the node's event log. One line per event, "key=value" pairs after
 * a UTC timestamp and a level, so that both people and `grep`/log
 * shippers read it:
 *
 *   2026-11-24T09:01:16.123Z level=warn node=CQ event=refused peer=SC
 *   reason=bad-signature id=01J... msg="envelope signature does not verify"
 *
 * The log is process-wide (one destination per process): a daemon opens
 * it once from its config and every module writes through log_event.
 * Values with spaces, quotes or control characters must go through
 * log_q, which quotes and escapes them; log_event itself writes the line
 * with one write(2), so lines of concurrent threads never interleave. */
#ifndef EPORT_LOG_H
#define EPORT_LOG_H

#include "err.h"

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

#define LOG_LINE_MAX 4096 /* longer lines are cut and end with "..." */

/* Send the log to path ("-" or NULL: stderr), appending, at level and
 * above; node is put on every line (NULL: none). Reopening (SIGHUP after
 * a rotation) is another call with the same arguments. */
int log_open(const char *path, log_level level, const char *node, err_t *e);
void log_close(void);
int log_enabled(log_level level);

/* One event: fmt continues the line with "key=value" pairs. */
void log_event(log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A repeated failure (Redis down, a peer unreachable) would otherwise
 * write the same line on every turn of the loop, hundreds a second, and
 * bury everything else. A gate lets one line through per interval and
 * counts the ones it held back, for the caller to report with the next
 * (`suppressed=N`). One gate per call site, kept by the caller. */
typedef struct log_gate {
    long long next_ms;         /* no line before this */
    unsigned long long held;   /* lines held back since the last one */
} log_gate;
/* 1 when a line may be written now (then *held is how many were held
 * back before it, and the count restarts); 0 when it must be held back. */
int log_gate_pass(log_gate *g, long long interval_ms,
                  unsigned long long *held);

/* s quoted for a value ("a b" -> "\"a b\"", plain words as they are).
 * The result lives in a small per-thread ring of buffers: use it in the
 * same log_event call (at most 8 per call), never keep it. */
const char *log_q(const char *s);

#endif
