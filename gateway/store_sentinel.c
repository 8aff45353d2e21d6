/* store_sentinel: the primary of a sentinel:// URL; see store_sentinel.h.
 * This file: the URL parser, asking one sentinel, checking the address it
 * names with ROLE, and the round over every sentinel. */
#include "store_sentinel.h"

#include <hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#define SEN_PREFIX "sentinel://"
#define SEN_NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
                       "0123456789._-"
#define SEN_WHY_MAX 384

/* ---- the URL ---- */

int store_sentinel_is(const char *url)
{
    return url && strncmp(url, SEN_PREFIX, strlen(SEN_PREFIX)) == 0;
}

/* The len digits at p as a number <= max, else -1. */
static long sentinel__digits(const char *p, size_t len, long max)
{
    long v = 0;
    if (len == 0 || len > 6)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v <= max ? v : -1;
}

/* The last ':' among the len bytes at p, or NULL. */
static const char *sentinel__colon(const char *p, size_t len)
{
    for (size_t i = len; i > 0; i--)
        if (p[i - 1] == ':')
            return p + i - 1;
    return NULL;
}

/* HOST:PORT, len bytes at p, as sentinel number s->n + 1. */
static int sentinel__host(const char *p, size_t len, store_sentinel *s,
                          char *why, size_t n)
{
    int k = s->n + 1, il = (int)len;
    const char *colon = sentinel__colon(p, len);
    size_t hl = colon ? (size_t)(colon - p) : len;
    long port = colon ? sentinel__digits(colon + 1, len - hl - 1, 65535) : -1;
    if (s->n == STORE_SENTINEL_MAX)
        snprintf(why, n, "more than %d sentinels", STORE_SENTINEL_MAX);
    else if (len == 0)
        snprintf(why, n, "sentinel %d is empty", k);
    else if (hl == 0 || hl >= STORE_SENTINEL_HOST ||
             strspn(p, SEN_NAME_CHARS) < hl)
        snprintf(why, n, "sentinel %d '%.*s': want a host name or IPv4 "
                 "address (no credentials, no IPv6)", k, il, p);
    else if (port < 1)
        snprintf(why, n, "sentinel %d '%.*s': want :PORT, 1-65535", k, il, p);
    else {
        memcpy(s->at[s->n].host, p, hl);
        s->at[s->n++].port = (int)port;
        return 0;
    }
    return ERR_CONFIG;
}

/* The comma-separated sentinels of len bytes at p. */
static int sentinel__list(const char *p, size_t len, store_sentinel *s,
                          char *why, size_t n)
{
    if (len == 0) {
        snprintf(why, n, "no sentinel HOST:PORT before /MASTER");
        return ERR_CONFIG;
    }
    const char *end = p + len;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        int rc = sentinel__host(p, (size_t)(stop - p), s, why, n);
        if (rc < 0 || !comma)
            return rc;
        p = comma + 1;
    }
}

/* MASTER[/DB] at p. */
static int sentinel__master(const char *p, store_sentinel *s, char *why,
                            size_t n)
{
    size_t ml = strcspn(p, "/");
    if (ml == 0 || ml > 64 || strspn(p, SEN_NAME_CHARS) < ml) {
        snprintf(why, n, "master name '%.*s': want 1-64 of A-Z a-z 0-9 . _ -",
                 (int)ml, p);
        return ERR_CONFIG;
    }
    memcpy(s->master, p, ml);
    s->master[ml] = '\0';
    if (p[ml] == '\0')
        return 0;
    long db = sentinel__digits(p + ml + 1, strlen(p + ml + 1), 65535);
    if (db < 0) {
        snprintf(why, n, "database '%s': want 0-65535", p + ml + 1);
        return ERR_CONFIG;
    }
    s->db = (int)db;
    return 0;
}

static int sentinel__split(const char *url, store_sentinel *s, char *why,
                           size_t n)
{
    memset(s, 0, sizeof *s);
    if (!store_sentinel_is(url)) {
        snprintf(why, n, "does not start with " SEN_PREFIX);
        return ERR_CONFIG;
    }
    const char *p = url + strlen(SEN_PREFIX);
    size_t list = strcspn(p, "/");
    if (p[list] != '/') {
        snprintf(why, n, "no /MASTER after the sentinels");
        return ERR_CONFIG;
    }
    int rc = sentinel__list(p, list, s, why, n);
    return rc < 0 ? rc : sentinel__master(p + list + 1, s, why, n);
}

int store_sentinel_parse(const char *url, store_sentinel *out, err_t *e)
{
    char why[SEN_WHY_MAX];
    if (sentinel__split(url ? url : "", out, why, sizeof why) == 0)
        return 0;
    return err_set(e, ERR_CONFIG, "redis %s: want " STORE_SENTINEL_FORM
                   ": %s", url ? url : "(null)", why);
}

int store_sentinel_check(const char *url, char *why, size_t n)
{
    store_sentinel s;
    char r[SEN_WHY_MAX];
    if (sentinel__split(url, &s, r, sizeof r) == 0)
        return 0;
    snprintf(why, n, "'%s' is not " STORE_SENTINEL_FORM ": %s", url, r);
    return ERR_CONFIG;
}

/* ---- asking the sentinels ---- */

/* One round over the sentinels: what the last address tried was, and
 * why each sentinel gave no primary. */
typedef struct sentinel__round {
    store_sentinel *s;
    int64_t connect_ms;
    char failed[STORE_SENTINEL_ADDR_MAX]; /* an address found unusable */
    char why[ERR_MSG_MAX];
    size_t wl;
} sentinel__round;

static void sentinel__why(sentinel__round *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sentinel__why(sentinel__round *r, const char *fmt, ...)
{
    if (r->wl >= sizeof r->why - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(r->why + r->wl, sizeof r->why - r->wl, fmt, ap);
    va_end(ap);
    if (k > 0)
        r->wl += (size_t)k < sizeof r->why - r->wl ? (size_t)k
                                                   : sizeof r->why - r->wl - 1;
}

/* A blocking connection with ms as connect and socket timeout; NULL (with
 * why) if it failed. */
static redisContext *sentinel__dial(const char *host, int port, int64_t ms,
                                    char *why, size_t n)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (c && !c->err && redisSetTimeout(c, tv) == REDIS_OK)
        return c;
    snprintf(why, n, "connect: %s", !c ? "out of memory"
                                    : c->errstr[0] ? c->errstr : "timeout");
    if (c)
        redisFree(c);
    return NULL;
}

/* The address in a get-master-addr-by-name reply r, or why not. */
static int sentinel__addr(const redisReply *r, const redisContext *c,
                          const char *master, char host[STORE_SENTINEL_HOST],
                          int *port, char *why, size_t n)
{
    const redisReply *h = r && r->type == REDIS_REPLY_ARRAY &&
        r->elements == 2 ? r->element[0] : NULL;
    const redisReply *p = h ? r->element[1] : NULL;
    long v = p && p->type == REDIS_REPLY_STRING
        ? sentinel__digits(p->str, p->len, 65535) : -1;
    if (!r)
        snprintf(why, n, "SENTINEL get-master-addr-by-name: %s", c->errstr);
    else if (r->type == REDIS_REPLY_ERROR)
        snprintf(why, n, "SENTINEL get-master-addr-by-name: %s", r->str);
    else if (r->type == REDIS_REPLY_NIL)
        snprintf(why, n, "does not know master %s", master);
    else if (!h || h->type != REDIS_REPLY_STRING || h->len == 0 ||
             h->len >= STORE_SENTINEL_HOST || v < 1)
        snprintf(why, n, "SENTINEL get-master-addr-by-name: malformed reply");
    else {
        memcpy(host, h->str, h->len + 1);
        *port = (int)v;
        return 0;
    }
    return ERR_IO;
}

/* Asks sentinel i where the primary is: host, port, or why not. */
static int sentinel__ask(const store_sentinel *s, int i,
                         char host[STORE_SENTINEL_HOST], int *port,
                         char *why, size_t n)
{
    redisContext *c = sentinel__dial(s->at[i].host, s->at[i].port,
                                     STORE_SENTINEL_MS, why, n);
    if (!c)
        return ERR_IO;
    redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s",
                                 s->master);
    int rc = sentinel__addr(r, c, s->master, host, port, why, n);
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return rc;
}

/* 0 when ROLE on c says master, else why. */
static int sentinel__role(redisContext *c, char *why, size_t n)
{
    redisReply *r = redisCommand(c, "ROLE");
    const redisReply *k = r && r->type == REDIS_REPLY_ARRAY &&
        r->elements > 0 && r->element[0]->type == REDIS_REPLY_STRING
        ? r->element[0] : NULL;
    int master = k && strcmp(k->str, "master") == 0;
    if (k && !master)
        snprintf(why, n, "ROLE says %s, not master", k->str);
    else if (!k)
        snprintf(why, n, "ROLE: %s", !r ? (c->errstr[0] ? c->errstr
                                                        : "no reply")
                 : r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    if (r)
        freeReplyObject(r);
    return master ? 0 : ERR_IO;
}

/* A connection to addr (host, port), which a sentinel named, if ROLE
 * there says master. */
static int sentinel__use(sentinel__round *rd, const char *host, int port,
                         const char *addr, redisContext **out)
{
    char why[SEN_WHY_MAX];
    redisContext *c = sentinel__dial(host, port, rd->connect_ms, why,
                                     sizeof why);
    if (c && sentinel__role(c, why, sizeof why) == 0) {
        *out = c;
        return 0;
    }
    if (c)
        redisFree(c);
    sentinel__why(rd, "names %s: %s", addr, why);
    snprintf(rd->failed, sizeof rd->failed, "%s", addr);
    return ERR_IO;
}

/* Sentinel i of the round: a connection to the master it names. */
static int sentinel__try(sentinel__round *rd, int i, redisContext **out,
                         char addr[STORE_SENTINEL_ADDR_MAX])
{
    char host[STORE_SENTINEL_HOST], why[SEN_WHY_MAX];
    int port;
    const store_sentinel_at *at = &rd->s->at[i];
    sentinel__why(rd, "%ssentinel %s:%d: ", rd->wl ? "; " : "", at->host,
                  at->port);
    if (sentinel__ask(rd->s, i, host, &port, why, sizeof why) < 0) {
        sentinel__why(rd, "%s", why);
        return ERR_IO;
    }
    snprintf(addr, STORE_SENTINEL_ADDR_MAX, "%s:%d", host, port);
    if (strcmp(addr, rd->failed) == 0) {
        sentinel__why(rd, "names %s again", addr);
        return ERR_IO; /* the same answer: no use trying it twice */
    }
    return sentinel__use(rd, host, port, addr, out);
}

int store_sentinel_connect(store_sentinel *s, const char *url,
                           const char *what, int64_t connect_ms,
                           struct redisContext **out,
                           char addr[STORE_SENTINEL_ADDR_MAX], err_t *e)
{
    sentinel__round rd = {.s = s, .connect_ms = connect_ms};
    *out = NULL;
    for (int k = 0; k < s->n; k++) {
        int i = (s->good + k) % s->n;
        if (sentinel__try(&rd, i, out, addr) == 0) {
            s->good = i;
            return 0;
        }
    }
    return err_set(e, ERR_IO, "redis %s: %s: no primary for master %s: %s",
                   url, what, s->master, s->n ? rd.why : "no sentinels");
}
