#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    int code;
    const char *name;
    const char *text;
} err__table[] = {
#define ERR__ROW(name, num, text) {num, #name, text},
    ERR_MAP(ERR__ROW)
#undef ERR__ROW
};

#define ERR__N (sizeof err__table / sizeof err__table[0])

int err_set(err_t *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

int err_wrap(err_t *e, const char *fmt, ...)
{
    if (!e)
        return ERR_INVALID;
    char inner[ERR_MSG_MAX], prefix[ERR_MSG_MAX];
    memcpy(inner, e->msg, sizeof inner);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    snprintf(e->msg, sizeof e->msg, "%s: %s", prefix, inner);
    return e->code;
}

void err_clear(err_t *e)
{
    if (e) {
        e->code = 0;
        e->msg[0] = '\0';
    }
}

const char *err_name(int code)
{
    for (size_t i = 0; i < ERR__N; i++)
        if (err__table[i].code == code)
            return err__table[i].name;
    return "UNKNOWN";
}

const char *err_text(int code)
{
    for (size_t i = 0; i < ERR__N; i++)
        if (err__table[i].code == code)
            return err__table[i].text;
    return "unknown error";
}
