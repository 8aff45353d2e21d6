/* store: Redis-backed durable state; see store.h and docs/store.md. */
#include "store.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define ST_GROUP "eportd"       /* the one consumer group of each outbox */
#define ST_KEY_MAX 256
#define ST_ARGS_MAX 16         /* the longest command, XADD to the DLQ, has 13 */

struct store {
    redisContext *c;            /* NULL while disconnected */
    char *url, *prefix;         /* owned copies */
    char host[256], path[256];  /* path set for unix:, host otherwise */
    int port, db;
    int64_t timeout_ms;
    char sha[2][41];            /* SCRIPT LOAD results, "" until loaded */
};

/* Lua scripts, so that check-and-write and ack-and-delete are atomic even
 * with two instances on one Redis. */
enum { ST_LUA_INBOX, ST_LUA_ACK };
static const char *const st_lua[2] = {
    /* KEYS[1] seen key; ARGV digest, receipt, ttl ms */
    "local v = redis.call('HMGET', KEYS[1], 'digest', 'receipt')\n"
    "if v[1] then return {1, v[1], v[2] or ''} end\n"
    "redis.call('HSET', KEYS[1], 'v', '1', 'digest', ARGV[1],"
    " 'receipt', ARGV[2])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
    "return {0}\n",
    /* KEYS[1] stream; ARGV group, id */
    "local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "return n\n",
};

/* Arguments of one command, binary-safe (frames may hold any byte). */
typedef struct st_args {
    const char *v[ST_ARGS_MAX];
    size_t l[ST_ARGS_MAX];
    int n;
    const char *what;           /* for messages when v[1] is not the key */
} st_args;

static void arg_b(st_args *a, const void *p, size_t n)
{
    if (a->n < ST_ARGS_MAX) {
        a->v[a->n] = p;
        a->l[a->n++] = n;
    }
}

static void arg_s(st_args *a, const char *s) { arg_b(a, s, strlen(s)); }

static struct timeval st_tv(int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

static int64_t st_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- URL and connection ---- */

static int st_parse_num(const char **p, long lo, long hi, int *out)
{
    char *end;
    long v = strtol(*p, &end, 10);
    if (end == *p || v < lo || v > hi)
        return -1;
    *out = (int)v;
    *p = end;
    return 0;
}

/* redis://HOST[:PORT][/DB] or unix:/PATH into st's fields. */
static int st_parse_url(store *st, const char *url, err_t *e)
{
    st->port = 6379;
    if (strncmp(url, "unix:", 5) == 0) {
        const char *p = url + 5;
        if (*p == '\0' || strlen(p) >= sizeof st->path)
            return err_set(e, ERR_CONFIG, "redis %s: bad unix socket path",
                           url);
        memcpy(st->path, p, strlen(p) + 1);
        return 0;
    }
    const char *h = url + 8, *p;
    size_t hl = strncmp(url, "redis://", 8) == 0 ? strcspn(h, ":/") : 0;
    if (hl == 0 || hl >= sizeof st->host)
        return err_set(e, ERR_CONFIG, "redis %s: want redis://HOST[:PORT]"
                       "[/DB] or unix:/PATH", url);
    memcpy(st->host, h, hl);
    p = h + hl;
    int bad = 0;
    if (*p == ':') {
        p++;
        bad |= st_parse_num(&p, 1, 65535, &st->port);
    }
    if (*p == '/') {
        p++;
        bad |= st_parse_num(&p, 0, 1 << 20, &st->db);
    }
    if (bad || *p != '\0')
        return err_set(e, ERR_CONFIG, "redis %s: bad port or database "
                       "number", url);
    return 0;
}

static void st_drop(store *st)
{
    if (st->c)
        redisFree(st->c);
    st->c = NULL;
}

static int st_select(store *st, err_t *e)
{
    if (st->db == 0)
        return 0;
    redisReply *r = redisCommand(st->c, "SELECT %d", st->db);
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (!ok)
        err_set(e, ERR_IO, "redis %s: SELECT %d: %s", st->url, st->db,
                r ? (r->str ? r->str : "unexpected reply") : st->c->errstr);
    if (r)
        freeReplyObject(r);
    if (!ok)
        st_drop(st);
    return ok ? 0 : ERR_IO;
}

static int st_connect(store *st, err_t *e)
{
    st_drop(st);
    struct timeval tv = st_tv(STORE_CONNECT_MS);
    redisContext *c = st->path[0]
        ? redisConnectUnixWithTimeout(st->path, tv)
        : redisConnectWithTimeout(st->host, st->port, tv);
    if (!c)
        return err_set(e, ERR_NOMEM, "redis %s: connect: out of memory",
                       st->url);
    if (c->err) {
        err_set(e, ERR_IO, "redis %s: connect: %s", st->url, c->errstr);
        redisFree(c);
        return ERR_IO;
    }
    st->c = c;
    if (redisSetTimeout(c, st_tv(st->timeout_ms)) != REDIS_OK ||
        (!st->path[0] && redisEnableKeepAlive(c) != REDIS_OK)) {
        err_set(e, ERR_IO, "redis %s: setting timeouts: %s", st->url,
                c->errstr);
        st_drop(st);
        return ERR_IO;
    }
    return st_select(st, e);
}

int store_open(const char *url, const char *prefix, store **out, err_t *e)
{
    *out = NULL;
    if (!url || !prefix || !*prefix || strlen(prefix) > 64 ||
        strpbrk(prefix, " \t\r\n"))
        return err_set(e, ERR_CONFIG, "redis %s: prefix must be 1-64 "
                       "characters without spaces", url ? url : "(null)");
    store *st = calloc(1, sizeof *st);
    if (!st || !(st->url = strdup(url)) || !(st->prefix = strdup(prefix))) {
        store_close(st);
        return err_set(e, ERR_NOMEM, "redis %s: out of memory", url);
    }
    st->timeout_ms = STORE_COMMAND_MS;
    int rc = st_parse_url(st, url, e);
    if (rc == 0)
        rc = st_connect(st, e);
    if (rc < 0) {
        store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

void store_close(store *st)
{
    if (!st)
        return;
    st_drop(st);
    free(st->url);
    free(st->prefix);
    free(st);
}

int store_set_timeout(store *st, int64_t ms, err_t *e)
{
    if (ms < 1 || ms > 600000)
        return err_set(e, ERR_CONFIG, "redis %s: timeout %lld ms not in "
                       "1..600000", st->url, (long long)ms);
    st->timeout_ms = ms;
    if (st->c && redisSetTimeout(st->c, st_tv(ms)) != REDIS_OK)
        st_drop(st); /* the next command reconnects with the new value */
    return 0;
}

/* ---- commands ---- */

/* Connected, reconnecting if the last command broke the connection. */
static int st_ready(store *st, err_t *e)
{
    return st->c && !st->c->err ? 0 : st_connect(st, e);
}

/* What a command was, for messages: its label, or its name and key. */
static void st_what(const st_args *a, char *out, size_t n)
{
    if (a->what)
        snprintf(out, n, "%s", a->what);
    else
        snprintf(out, n, "%s %.*s", a->v[0], a->n > 1 ? (int)a->l[1] : 0,
                 a->n > 1 ? a->v[1] : "");
}

/* One command; reconnects first if the last one broke the connection.
 * Error replies are returned as replies: BUSYGROUP and NOSCRIPT are not
 * failures to the callers that expect them. */
static int st_raw(store *st, const st_args *a, redisReply **out, err_t *e)
{
    *out = NULL;
    int rc = st_ready(st, e);
    if (rc < 0)
        return rc;
    const char *v[ST_ARGS_MAX]; /* hiredis wants a non-const array */
    memcpy(v, a->v, sizeof v);
    *out = redisCommandArgv(st->c, a->n, v, a->l);
    if (*out)
        return 0;
    char what[ST_KEY_MAX + 32];
    st_what(a, what, sizeof what);
    err_set(e, ERR_IO, "redis %s: %s: %s", st->url, what, st->c->errstr);
    st_drop(st); /* hiredis cannot use a context after an I/O error */
    return ERR_IO;
}

/* Accepts *out if it is of type want (-1: any but an error), else frees
 * it and fails with Redis's own words. */
static int st_check(store *st, const st_args *a, int want, redisReply **out,
                    err_t *e)
{
    redisReply *r = *out;
    if (r->type != REDIS_REPLY_ERROR && (want < 0 || r->type == want))
        return 0;
    char what[ST_KEY_MAX + 32];
    st_what(a, what, sizeof what);
    err_set(e, ERR_IO, "redis %s: %s: %s", st->url, what,
            r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply type");
    freeReplyObject(r);
    *out = NULL;
    return ERR_IO;
}

static int st_cmd(store *st, const st_args *a, int want, redisReply **out,
                  err_t *e)
{
    int rc = st_raw(st, a, out, e);
    return rc < 0 ? rc : st_check(st, a, want, out, e);
}

/* Runs script which with a: v[0], v[1] are left for EVALSHA sha (or EVAL
 * source when Redis lost its script cache, e.g. after a restart). */
static int st_eval(store *st, int which, st_args *a, redisReply **out,
                   err_t *e)
{
    if (!st->sha[which][0]) {
        st_args l = {0};
        arg_s(&l, "SCRIPT");
        arg_s(&l, "LOAD");
        arg_s(&l, st_lua[which]);
        int rc = st_cmd(st, &l, REDIS_REPLY_STRING, out, e);
        if (rc < 0)
            return rc;
        snprintf(st->sha[which], sizeof st->sha[which], "%s", (*out)->str);
        freeReplyObject(*out);
    }
    a->v[0] = "EVALSHA", a->l[0] = 7;
    a->v[1] = st->sha[which], a->l[1] = strlen(st->sha[which]);
    int rc = st_raw(st, a, out, e);
    if (rc < 0)
        return rc;
    if ((*out)->type == REDIS_REPLY_ERROR &&
        strncmp((*out)->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(*out);
        a->v[0] = "EVAL", a->l[0] = 4;
        a->v[1] = st_lua[which], a->l[1] = strlen(st_lua[which]);
        return st_cmd(st, a, -1, out, e);
    }
    return st_check(st, a, -1, out, e);
}

/* ---- keys ---- */

/* Peers and consumers become parts of key names: keep them to the node-id
 * alphabet plus what consumer names need, so no name can reach another
 * key (a ':' in a peer would). */
static int st_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789-_.") == n;
}

static int st_key(store *st, char key[ST_KEY_MAX], const char *kind,
                  const char *name, err_t *e)
{
    if (name && !st_name_ok(name))
        return err_set(e, ERR_INVALID, "redis %s: %s name \"%.64s\": want "
                       "1-64 of A-Z a-z 0-9 - _ .", st->url, kind, name);
    snprintf(key, ST_KEY_MAX, "%sv1:%s%s%s", st->prefix, kind,
             name ? ":" : "", name ? name : "");
    return 0;
}

static int st_copy_id(store *st, const redisReply *r, char id_out[STORE_ID_MAX],
                      err_t *e)
{
    if (r->len >= STORE_ID_MAX)
        return err_set(e, ERR_IO, "redis %s: stream id too long", st->url);
    memcpy(id_out, r->str, r->len + 1);
    return 0;
}

/* ---- stream entries ---- */

static const redisReply *st_field(const redisReply *fields, const char *name)
{
    size_t n = strlen(name);
    if (!fields || fields->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && k->len == n &&
            memcmp(k->str, name, n) == 0)
            return v->type == REDIS_REPLY_STRING ? v : NULL;
    }
    return NULL;
}

/* Hands each entry of list ([id, [field, value, ...]] ...) to fn. Entries
 * deleted while pending come back without fields and are skipped. */
static int st_entries(store *st, const char *key, const redisReply *list,
                      store_entry_fn fn, void *ctx, err_t *e)
{
    int n = 0;
    for (size_t i = 0; list && i < list->elements; i++) {
        const redisReply *en = list->element[i];
        if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
            en->element[0]->type != REDIS_REPLY_STRING)
            return err_set(e, ERR_IO, "redis %s: %s: malformed stream entry",
                           st->url, key);
        if (en->element[1]->type == REDIS_REPLY_NIL)
            continue;
        const redisReply *f = st_field(en->element[1], "frame");
        if (!f)
            return err_set(e, ERR_INVALID, "redis %s: %s entry %s: no frame",
                           st->url, key, en->element[0]->str);
        int rc = fn(ctx, en->element[0]->str, f->str, f->len, e);
        if (rc < 0)
            return err_wrap(e, "%s entry %s", key, en->element[0]->str);
        n++;
    }
    return n;
}

/* ---- outbox ---- */

int store_outbox_add(store *st, const char *peer, const void *frame,
                     size_t n, char id_out[STORE_ID_MAX], err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "outbox", peer, e);
    if (rc < 0)
        return rc;
    /* no MAXLEN: an outbox entry is only ever removed by its ack */
    st_args a = {0};
    arg_s(&a, "XADD"), arg_s(&a, key), arg_s(&a, "*");
    arg_s(&a, "v"), arg_s(&a, "1"), arg_s(&a, "frame"), arg_b(&a, frame, n);
    redisReply *r;
    if ((rc = st_cmd(st, &a, REDIS_REPLY_STRING, &r, e)) < 0)
        return rc;
    rc = st_copy_id(st, r, id_out, e);
    freeReplyObject(r);
    return rc;
}

int store_outbox_group(store *st, const char *peer, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "outbox", peer, e);
    if (rc < 0)
        return rc;
    st_args a = {0};
    arg_s(&a, "XGROUP"), arg_s(&a, "CREATE"), arg_s(&a, key);
    arg_s(&a, ST_GROUP), arg_s(&a, "0"), arg_s(&a, "MKSTREAM");
    a.what = key;
    redisReply *r;
    if ((rc = st_raw(st, &a, &r, e)) < 0)
        return rc;
    /* another instance may have created it first: that is success */
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) == 0) {
        freeReplyObject(r);
        return 0;
    }
    if ((rc = st_check(st, &a, -1, &r, e)) == 0)
        freeReplyObject(r);
    return rc;
}

/* XREADGROUP reply: nil on timeout, else [[key, entries]]. */
static int st_read_reply(store *st, const char *key, const redisReply *r,
                         store_entry_fn fn, void *ctx, err_t *e)
{
    if (r->type == REDIS_REPLY_NIL || r->elements == 0)
        return 0;
    const redisReply *s = r->element[0];
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2)
        return err_set(e, ERR_IO, "redis %s: %s: malformed read reply",
                       st->url, key);
    return st_entries(st, key, s->element[1], fn, ctx, e);
}

int store_outbox_read(store *st, const char *peer, const char *consumer,
                      size_t count, int64_t block_ms, store_entry_fn fn,
                      void *ctx, err_t *e)
{
    char key[ST_KEY_MAX], cnt[24], blk[24];
    int rc = st_key(st, key, "outbox", peer, e);
    if (rc == 0 && !st_name_ok(consumer))
        rc = err_set(e, ERR_INVALID, "redis %s: bad consumer name", st->url);
    if (rc < 0)
        return rc;
    snprintf(cnt, sizeof cnt, "%zu", count ? count : 1);
    snprintf(blk, sizeof blk, "%lld", (long long)block_ms);
    st_args a = {.what = key};
    arg_s(&a, "XREADGROUP"), arg_s(&a, "GROUP"), arg_s(&a, ST_GROUP);
    arg_s(&a, consumer), arg_s(&a, "COUNT"), arg_s(&a, cnt);
    if (block_ms > 0)
        arg_s(&a, "BLOCK"), arg_s(&a, blk);
    arg_s(&a, "STREAMS"), arg_s(&a, key), arg_s(&a, ">");
    /* the wait must not count against the command timeout */
    if (block_ms > 0 && (rc = st_ready(st, e)) < 0)
        return rc;
    if (block_ms > 0)
        redisSetTimeout(st->c, st_tv(st->timeout_ms + block_ms));
    redisReply *r;
    rc = st_cmd(st, &a, -1, &r, e);
    if (st->c)
        redisSetTimeout(st->c, st_tv(st->timeout_ms));
    if (rc < 0)
        return rc;
    rc = st_read_reply(st, key, r, fn, ctx, e);
    freeReplyObject(r);
    return rc;
}

int store_outbox_ack(store *st, const char *peer, const char *stream_id,
                     err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "outbox", peer, e);
    if (rc < 0)
        return rc;
    st_args a = {.what = key};
    arg_s(&a, "EVALSHA"), arg_s(&a, ""), arg_s(&a, "1"), arg_s(&a, key);
    arg_s(&a, ST_GROUP), arg_s(&a, stream_id);
    redisReply *r;
    if ((rc = st_eval(st, ST_LUA_ACK, &a, &r, e)) < 0)
        return rc;
    rc = r->type == REDIS_REPLY_INTEGER ? (int)r->integer
       : err_set(e, ERR_IO, "redis %s: ack %s: unexpected reply", st->url, key);
    freeReplyObject(r);
    return rc;
}

int store_outbox_claim(store *st, const char *peer, const char *consumer,
                       int64_t min_idle_ms, size_t count, store_entry_fn fn,
                       void *ctx, err_t *e)
{
    char key[ST_KEY_MAX], idle[24], cnt[24];
    int rc = st_key(st, key, "outbox", peer, e);
    if (rc == 0 && !st_name_ok(consumer))
        rc = err_set(e, ERR_INVALID, "redis %s: bad consumer name", st->url);
    if (rc < 0)
        return rc;
    snprintf(idle, sizeof idle, "%lld", (long long)min_idle_ms);
    snprintf(cnt, sizeof cnt, "%zu", count ? count : 1);
    st_args a = {.what = key};
    arg_s(&a, "XAUTOCLAIM"), arg_s(&a, key), arg_s(&a, ST_GROUP);
    arg_s(&a, consumer), arg_s(&a, idle), arg_s(&a, "0-0");
    arg_s(&a, "COUNT"), arg_s(&a, cnt);
    redisReply *r;
    if ((rc = st_cmd(st, &a, REDIS_REPLY_ARRAY, &r, e)) < 0)
        return rc;
    /* [next cursor, entries, (7.0+) deleted ids] */
    rc = r->elements < 2 ? err_set(e, ERR_IO, "redis %s: %s: malformed claim "
                                   "reply", st->url, key)
                         : st_entries(st, key, r->element[1], fn, ctx, e);
    freeReplyObject(r);
    return rc;
}

int64_t store_outbox_len(store *st, const char *peer, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "outbox", peer, e);
    if (rc < 0)
        return rc;
    st_args a = {0};
    arg_s(&a, "XLEN"), arg_s(&a, key);
    redisReply *r;
    if ((rc = st_cmd(st, &a, REDIS_REPLY_INTEGER, &r, e)) < 0)
        return rc;
    int64_t n = r->integer;
    freeReplyObject(r);
    return n;
}

/* ---- inbox dedupe ---- */

/* Reply [1, digest, receipt]: the id was held; compare and hand back. */
static int st_inbox_held(store *st, const char *msg_id, const redisReply *r,
                         const unsigned char *digest, buf_t *orig, err_t *e)
{
    if (r->elements != 3 || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[2]->type != REDIS_REPLY_STRING)
        return err_set(e, ERR_IO, "redis %s: inbox %s: malformed reply",
                       st->url, msg_id);
    const redisReply *d = r->element[1], *rc = r->element[2];
    if (d->len != STORE_DIGEST_LEN || memcmp(d->str, digest, d->len) != 0)
        return err_set(e, ERR_INVALID, "inbox %s: id reuse with a different "
                       "payload", msg_id);
    if (orig && rc->len && buf_add(orig, rc->str, rc->len) < 0)
        return err_set(e, ERR_TOOBIG, "inbox %s: original receipt (%zu "
                       "bytes) does not fit the buffer", msg_id,
                       (size_t)rc->len);
    return 0;
}

int store_inbox_apply(store *st, const char *msg_id,
                      const unsigned char digest[STORE_DIGEST_LEN],
                      const void *receipt, size_t n, int64_t ttl_ms,
                      int *dup, buf_t *original_receipt, err_t *e)
{
    char key[ST_KEY_MAX], ttl[24];
    int rc = st_key(st, key, "seen", msg_id, e);
    if (rc == 0 && ttl_ms < 1)
        rc = err_set(e, ERR_INVALID, "inbox %s: ttl %lld ms must be "
                     "positive", msg_id, (long long)ttl_ms);
    if (rc < 0)
        return rc;
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
    st_args a = {.what = key};
    arg_s(&a, "EVALSHA"), arg_s(&a, ""), arg_s(&a, "1"), arg_s(&a, key);
    arg_b(&a, digest, STORE_DIGEST_LEN), arg_b(&a, receipt, n);
    arg_s(&a, ttl);
    redisReply *r;
    if ((rc = st_eval(st, ST_LUA_INBOX, &a, &r, e)) < 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER)
        rc = err_set(e, ERR_IO, "redis %s: inbox %s: malformed reply",
                     st->url, msg_id);
    else if ((*dup = (int)r->element[0]->integer) == 1)
        rc = st_inbox_held(st, msg_id, r, digest, original_receipt, e);
    freeReplyObject(r);
    return rc;
}

/* ---- dead letters ---- */

int store_dlq_add(store *st, const char *reason, const char *where,
                  const void *frame, size_t n, char id_out[STORE_ID_MAX],
                  err_t *e)
{
    char key[ST_KEY_MAX], at[24];
    st_key(st, key, "dlq", NULL, e);
    snprintf(at, sizeof at, "%lld", (long long)st_now_ms());
    st_args a = {0};
    arg_s(&a, "XADD"), arg_s(&a, key), arg_s(&a, "*");
    arg_s(&a, "v"), arg_s(&a, "1"), arg_s(&a, "reason"), arg_s(&a, reason);
    arg_s(&a, "where"), arg_s(&a, where), arg_s(&a, "at"), arg_s(&a, at);
    arg_s(&a, "frame"), arg_b(&a, frame, n);
    redisReply *r;
    int rc = st_cmd(st, &a, REDIS_REPLY_STRING, &r, e);
    if (rc < 0)
        return rc;
    rc = st_copy_id(st, r, id_out, e);
    freeReplyObject(r);
    return rc;
}

/* One dead letter out of [id, [field, value, ...]]. */
static int st_dlq_entry(store *st, const redisReply *en, store_dlq_entry *d,
                        err_t *e)
{
    if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
        en->element[0]->type != REDIS_REPLY_STRING)
        return err_set(e, ERR_IO, "redis %s: dlq: malformed entry", st->url);
    const redisReply *f = en->element[1], *fr = st_field(f, "frame"),
                     *re = st_field(f, "reason"), *wh = st_field(f, "where"),
                     *at = st_field(f, "at");
    if (!fr || !re || !wh || !at)
        return err_set(e, ERR_INVALID, "redis %s: dlq entry %s: a field of "
                       "v1 is missing", st->url, en->element[0]->str);
    *d = (store_dlq_entry){en->element[0]->str, re->str, wh->str,
                           strtoll(at->str, NULL, 10), fr->str, fr->len};
    return 0;
}

/* XRANGE over the DLQ from lo to hi. */
static int st_dlq_range(store *st, const char *lo, const char *hi,
                        size_t count, redisReply **out, err_t *e)
{
    char key[ST_KEY_MAX], cnt[24];
    st_key(st, key, "dlq", NULL, e);
    snprintf(cnt, sizeof cnt, "%zu", count ? count : 1);
    st_args a = {0};
    arg_s(&a, "XRANGE"), arg_s(&a, key), arg_s(&a, lo), arg_s(&a, hi);
    arg_s(&a, "COUNT"), arg_s(&a, cnt);
    return st_cmd(st, &a, REDIS_REPLY_ARRAY, out, e);
}

int store_dlq_list(store *st, size_t count, store_dlq_fn fn, void *ctx,
                   err_t *e)
{
    redisReply *r;
    int rc = st_dlq_range(st, "-", "+", count, &r, e), n = 0;
    for (size_t i = 0; rc == 0 && i < r->elements; i++, n++) {
        store_dlq_entry d;
        if ((rc = st_dlq_entry(st, r->element[i], &d, e)) == 0 &&
            (rc = fn(ctx, &d, e)) < 0)
            err_wrap(e, "dlq entry %s", d.id);
    }
    if (r)
        freeReplyObject(r);
    return rc < 0 ? rc : n;
}

int store_dlq_get(store *st, const char *id, buf_t *frame, err_t *e)
{
    redisReply *r;
    int rc = st_dlq_range(st, id, id, 1, &r, e);
    if (rc < 0)
        return rc;
    store_dlq_entry d;
    if (r->elements == 0)
        rc = err_set(e, ERR_NOTFOUND, "dlq entry %s: not found", id);
    else if ((rc = st_dlq_entry(st, r->element[0], &d, e)) == 0 &&
             buf_add(frame, d.frame, d.n) < 0)
        rc = err_set(e, ERR_TOOBIG, "dlq entry %s: frame of %zu bytes does "
                     "not fit the buffer", id, d.n);
    freeReplyObject(r);
    return rc;
}

int store_dlq_del(store *st, const char *id, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, "dlq", NULL, e);
    st_args a = {0};
    arg_s(&a, "XDEL"), arg_s(&a, key), arg_s(&a, id);
    redisReply *r;
    int rc = st_cmd(st, &a, REDIS_REPLY_INTEGER, &r, e);
    if (rc < 0)
        return rc;
    if (r->integer == 0)
        rc = err_set(e, ERR_NOTFOUND, "dlq entry %s: not found", id);
    freeReplyObject(r);
    return rc;
}
