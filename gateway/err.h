/* err: the project's one table of error codes, and the error struct every
 * fallible function fills with a human message saying where and why.
 *
 * Functions return 0 (or a count) on success and a negative ERR_* code on
 * failure; the caller's err_t then holds the code and a message such as
 * "in.edi:3:14: error: segment 4 (NAD) element 2: value too long". */
#ifndef EPORT_ERR_H
#define EPORT_ERR_H

#include <stddef.h>

/* X(code-name, number, text): one row per error, the only place codes live. */
#define ERR_MAP(X)                                                        \
    X(OK, 0, "success")                                                   \
    X(NOMEM, -1, "out of memory")                                         \
    X(IO, -2, "input/output error")                                       \
    X(SYNTAX, -3, "syntax error")                                         \
    X(INVALID, -4, "invalid value")                                       \
    X(TOOBIG, -5, "size limit exceeded")                                  \
    X(NOTFOUND, -6, "not found")                                          \
    X(UNSUPPORTED, -7, "unsupported")                                     \
    X(CHARSET, -8, "character set conversion failed")                     \
    X(COUNT, -9, "control count mismatch")                                \
    X(REQUIRED, -10, "required value missing")                            \
    X(CODE, -11, "unknown code")                                          \
    X(CONFIG, -12, "bad configuration")                                   \
    X(NOMAP, -13, "no mapping matches")                                   \
    X(USAGE, -14, "bad usage")                                            \
    X(SIGNATURE, -15, "bad signature")                                    \
    X(REVOKED, -16, "certificate revoked")                                \
    X(EXPIRED, -17, "certificate expired or not yet valid")               \
    X(IDENTITY, -18, "identity mismatch")                                 \
    X(AGAIN, -19, "try again")                                            \
    X(DENIED, -20, "not allowed for this node")                           \
    X(PHASE, -21, "not allowed in this phase")                            \
    X(CONFLICT, -22, "conflicting record")                                \
    X(CHECK_DIGIT, -23, "check digit mismatch")

enum err_code {
#define ERR__ENUM(name, num, text) ERR_##name = num,
    ERR_MAP(ERR__ENUM)
#undef ERR__ENUM
};

#define ERR_MSG_MAX 512

typedef struct err {
    int code;               /* ERR_* */
    char msg[ERR_MSG_MAX];  /* full human message, "where: error: why" */
} err_t;

/* Fill e (may be NULL) with code and a printf-style message; returns code so
 * callers can write `return err_set(e, ERR_SYNTAX, ...)`. */
int err_set(err_t *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in e with "prefix: " (adds the outer "where"). */
int err_wrap(err_t *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void err_clear(err_t *e);

/* Name ("SYNTAX") and text ("syntax error") of a code; never NULL. */
const char *err_name(int code);
const char *err_text(int code);

#endif
