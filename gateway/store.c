/* store: Redis-backed durable state; see store.h and docs/store.md. This
 * file: the URL, the connection and its timeouts, single, pipelined and
 * Lua commands, key names, stream entries and positions. */
#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

void st_arg_b(st_args *a, const void *p, size_t n)
{
    if (a->n < ST_ARGS_MAX) {
        a->v[a->n] = p;
        a->l[a->n++] = n;
    } else {
        a->over = 1;
    }
}

void st_arg_s(st_args *a, const char *s) { st_arg_b(a, s, strlen(s)); }

static struct timeval st_tv(int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

int64_t st_now_ms(void)
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

/* redis://HOST[:PORT][/DB], unix:/PATH or sentinel://... (store_sentinel.h)
 * into st's fields. */
static int st_parse_url(store *st, const char *url, err_t *e)
{
    st->port = 6379;
    if (store_sentinel_is(url)) {
        int rc = store_sentinel_parse(url, &st->sen, e);
        st->db = st->sen.db;
        return rc;
    }
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
                       "[/DB], unix:/PATH or " STORE_SENTINEL_FORM, url);
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

void st_drop(store *st)
{
    if (st->c)
        redisFree(st->c);
    st->c = NULL;
    st->owed = 0; /* replies of the old connection never come */
    st->primary[0] = '\0';
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

int st_dial(store *st, const char *what, redisContext **out,
            char addr[STORE_SENTINEL_ADDR_MAX], err_t *e)
{
    if (st->sen.n > 0)
        return store_sentinel_connect(&st->sen, st->url, what,
                                      STORE_CONNECT_MS, out, addr, e);
    struct timeval tv = st_tv(STORE_CONNECT_MS);
    redisContext *c = st->path[0]
        ? redisConnectUnixWithTimeout(st->path, tv)
        : redisConnectWithTimeout(st->host, st->port, tv);
    if (!c)
        return err_set(e, ERR_NOMEM, "redis %s: %s: out of memory", st->url,
                       what);
    if (c->err) {
        err_set(e, ERR_IO, "redis %s: %s: %s", st->url, what, c->errstr);
        redisFree(c);
        return ERR_IO;
    }
    if (st->path[0])
        snprintf(addr, STORE_SENTINEL_ADDR_MAX, "unix:%s", st->path);
    else
        snprintf(addr, STORE_SENTINEL_ADDR_MAX, "%s:%d", st->host, st->port);
    *out = c;
    return 0;
}

/* A new connection went to addr: a primary other than the last one's is
 * a failover. */
static void st_landed(store *st, const char *addr)
{
    if (st->last[0] && strcmp(st->last, addr) != 0)
        st->failovers++;
    snprintf(st->last, sizeof st->last, "%s", addr);
    snprintf(st->primary, sizeof st->primary, "%s", addr);
}

static int st_connect(store *st, err_t *e)
{
    st_drop(st);
    redisContext *c;
    char addr[STORE_SENTINEL_ADDR_MAX];
    int rc = st_dial(st, "connect", &c, addr, e);
    if (rc < 0)
        return rc;
    st->c = c;
    st->conn++;
    st_landed(st, addr);
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
    free(st->link_buf);
    free(st->url);
    free(st->prefix);
    free(st);
}

const char *store_primary(const store *st) { return st->primary; }

uint64_t store_failovers(const store *st) { return st->failovers; }

uint64_t store_conn_gen(const store *st) { return st->conn; }

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

int st_ready(store *st, err_t *e)
{
    return st->c && !st->c->err ? 0 : st_connect(st, e);
}

void st_extend_timeout(store *st, int64_t extra_ms)
{
    if (st->c)
        redisSetTimeout(st->c, st_tv(st->timeout_ms + extra_ms));
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

/* A transport failure: name it, and drop the connection, since hiredis
 * cannot use a context after an I/O error. */
static int st_io_fail(store *st, const char *what, err_t *e)
{
    err_set(e, ERR_IO, "redis %s: %s: %s", st->url, what,
            st->c && st->c->errstr[0] ? st->c->errstr : "connection lost");
    st_drop(st);
    return ERR_IO;
}

/* The error replies of a server that is not, or not yet, a primary to
 * use: a replica (the primary moved: a failover), one loading its data,
 * a replica cut off from its primary. As the reply's code, or quoted in
 * a script error ("... -READONLY ...", Redis before 7). */
static const char *const st_moved_codes[] = {"-READONLY ", "-LOADING ",
                                             "-MASTERDOWN "};

/* The one place replies are looked at for those: the connection is
 * dropped, so that the next call reconnects and finds the primary again
 * (through Sentinel). The reply still goes to the caller. */
static void st_moved(store *st, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ERROR || !r->str)
        return;
    for (size_t i = 0; i < sizeof st_moved_codes / sizeof *st_moved_codes;
         i++) {
        const char *code = st_moved_codes[i];
        if (strncmp(r->str, code + 1, strlen(code + 1)) == 0 ||
            strstr(r->str, code)) {
            st_drop(st);
            return;
        }
    }
}

static int st_overflow(store *st, const st_args *a, err_t *e)
{
    char what[ST_KEY_MAX + 32];
    st_what(a, what, sizeof what);
    return err_set(e, ERR_TOOBIG, "redis %s: %s: more than %d arguments",
                   st->url, what, ST_ARGS_MAX);
}

int st_raw(store *st, const st_args *a, redisReply **out, err_t *e)
{
    *out = NULL;
    if (a->over)
        return st_overflow(st, a, e);
    if (st->owed)
        return err_set(e, ERR_USAGE, "redis %s: %s: link replies still owed "
                       "on this connection", st->url, a->v[0]);
    int rc = st_ready(st, e);
    if (rc < 0)
        return rc;
    const char *v[ST_ARGS_MAX]; /* hiredis wants a non-const array */
    memcpy(v, a->v, sizeof v);
    *out = redisCommandArgv(st->c, a->n, v, a->l);
    if (*out) {
        st_moved(st, *out);
        return 0;
    }
    char what[ST_KEY_MAX + 32];
    st_what(a, what, sizeof what);
    return st_io_fail(st, what, e);
}

int st_check(store *st, const st_args *a, int want, redisReply **out,
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

int st_cmd(store *st, const st_args *a, int want, redisReply **out,
           err_t *e)
{
    int rc = st_raw(st, a, out, e);
    return rc < 0 ? rc : st_check(st, a, want, out, e);
}

int st_script_load(store *st, const st_script *s, err_t *e)
{
    if (st->sha[s->slot][0])
        return 0;
    st_args l = {.what = "SCRIPT LOAD"};
    st_arg_s(&l, "SCRIPT"), st_arg_s(&l, "LOAD"), st_arg_s(&l, s->src);
    redisReply *r;
    int rc = st_cmd(st, &l, REDIS_REPLY_STRING, &r, e);
    if (rc < 0)
        return rc;
    snprintf(st->sha[s->slot], sizeof st->sha[s->slot], "%s", r->str);
    freeReplyObject(r);
    return 0;
}

static void st_set_sha(store *st, const st_script *s, st_args *a)
{
    a->v[0] = "EVALSHA", a->l[0] = 7;
    a->v[1] = st->sha[s->slot], a->l[1] = strlen(st->sha[s->slot]);
}

static int st_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

int st_eval(store *st, const st_script *s, st_args *a, redisReply **out,
            err_t *e)
{
    int rc = st_script_load(st, s, e);
    if (rc < 0)
        return rc;
    st_set_sha(st, s, a);
    if ((rc = st_raw(st, a, out, e)) < 0)
        return rc;
    if (st_noscript(*out)) {
        freeReplyObject(*out);
        st->sha[s->slot][0] = '\0'; /* reload next time */
        a->v[0] = "EVAL", a->l[0] = 4;
        a->v[1] = s->src, a->l[1] = strlen(s->src);
        return st_cmd(st, a, -1, out, e);
    }
    return st_check(st, a, -1, out, e);
}

/* ---- pipelines ---- */

int st_pipe_add(store *st, const st_args *a, err_t *e)
{
    if (a->over)
        return st_overflow(st, a, e);
    if (st->owed)
        return err_set(e, ERR_USAGE, "redis %s: %s: link replies still owed "
                       "on this connection", st->url, a->v[0]);
    int rc = st_ready(st, e);
    if (rc < 0)
        return rc;
    const char *v[ST_ARGS_MAX];
    memcpy(v, a->v, sizeof v);
    if (redisAppendCommandArgv(st->c, a->n, v, a->l) != REDIS_OK)
        return st_io_fail(st, "queueing a pipelined command", e);
    return 0;
}

int st_pipe_flush(store *st, const char *what, err_t *e)
{
    int done = 0;
    while (st->c && !done)
        if (redisBufferWrite(st->c, &done) != REDIS_OK)
            return st_io_fail(st, what, e);
    return st->c ? 0 : err_set(e, ERR_IO, "redis %s: %s: connection lost",
                               st->url, what);
}

int st_pipe_reply(store *st, const char *what, redisReply **out, err_t *e)
{
    void *r = NULL;
    *out = NULL;
    if (!st->c)
        return err_set(e, ERR_IO, "redis %s: %s: connection lost", st->url,
                       what);
    if (redisGetReply(st->c, &r) != REDIS_OK || !r)
        return st_io_fail(st, what, e);
    *out = r;
    st_moved(st, *out);
    return 0;
}

/* ---- keys ---- */

int st_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789-_.") == n;
}

int st_key(store *st, char key[ST_KEY_MAX], const char *kind,
           const char *name, err_t *e)
{
    if (name && !st_name_ok(name))
        return err_set(e, ERR_INVALID, "redis %s: %s name \"%.64s\": want "
                       "1-64 of A-Z a-z 0-9 - _ .", st->url, kind, name);
    snprintf(key, ST_KEY_MAX, "%sv1:%s%s%s", st->prefix, kind,
             name ? ":" : "", name ? name : "");
    return 0;
}

int st_copy_id(store *st, const redisReply *r, char id_out[STORE_ID_MAX],
               err_t *e)
{
    if (r->len >= STORE_ID_MAX)
        return err_set(e, ERR_IO, "redis %s: stream id too long", st->url);
    memcpy(id_out, r->str, r->len + 1);
    return 0;
}

/* ---- stream entries ---- */

const redisReply *st_field(const redisReply *fields, const char *name)
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

int st_entry(store *st, const char *key, const redisReply *en,
             const redisReply **fields, err_t *e)
{
    if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
        en->element[0]->type != REDIS_REPLY_STRING)
        return err_set(e, ERR_IO, "redis %s: %s: malformed stream entry",
                       st->url, key);
    *fields = en->element[1]->type == REDIS_REPLY_NIL ? NULL : en->element[1];
    return 0;
}

/* ---- positions ---- */

/* One decimal uint64 ending at stop; no sign, no space, no overflow. */
static int st_u64(const char **p, char stop, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (*s != stop)
        return -1;
    *out = v;
    *p = s + (stop != '\0');
    return 0;
}

int store_pos_parse(const char *id, store_pos *out)
{
    store_pos p;
    if (!id || st_u64(&id, '-', &p.ms) < 0 || st_u64(&id, '\0', &p.seq) < 0)
        return ERR_SYNTAX;
    *out = p;
    return 0;
}

void store_pos_format(store_pos p, char out[STORE_ID_MAX])
{
    snprintf(out, STORE_ID_MAX, "%" PRIu64 "-%" PRIu64, p.ms, p.seq);
}

int store_pos_cmp(store_pos a, store_pos b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    return a.seq < b.seq ? -1 : a.seq > b.seq;
}

void st_pos_after(store_pos p, char out[STORE_ID_MAX + 1])
{
    out[0] = '(';
    store_pos_format(p, out + 1);
}

/* ---- replicas ---- */

int store_wait_replicas(store *st, int64_t n, int64_t timeout_ms, err_t *e)
{
    if (n <= 0)
        return 0;
    char nb[24], tb[24];
    snprintf(nb, sizeof nb, "%lld", (long long)n);
    snprintf(tb, sizeof tb, "%lld", (long long)timeout_ms);
    st_args a = {.what = "WAIT"};
    st_arg_s(&a, "WAIT"), st_arg_s(&a, nb), st_arg_s(&a, tb);
    st_extend_timeout(st, timeout_ms); /* WAIT blocks up to timeout_ms */
    redisReply *r;
    int rc = st_cmd(st, &a, REDIS_REPLY_INTEGER, &r, e);
    st_extend_timeout(st, 0);
    if (rc < 0)
        return rc;
    long long got = r->integer;
    freeReplyObject(r);
    if (got < n)
        return err_set(e, ERR_IO, "redis %s: %lld of %lld replicas confirmed "
                       "the write within %lld ms", st->url, got, (long long)n,
                       (long long)timeout_ms);
    return (int)got;
}

/* ---- reading a stream after a position ---- */

int st_xrange_after(store *st, const char *key, store_pos after, size_t count,
                    redisReply **out, err_t *e)
{
    char from[STORE_ID_MAX + 1], cnt[24];
    st_pos_after(after, from);
    snprintf(cnt, sizeof cnt, "%zu", count ? count : 1);
    st_args a = {0};
    st_arg_s(&a, "XRANGE"), st_arg_s(&a, key), st_arg_s(&a, from);
    st_arg_s(&a, "+"), st_arg_s(&a, "COUNT"), st_arg_s(&a, cnt);
    return st_cmd(st, &a, REDIS_REPLY_ARRAY, out, e);
}

int st_xrange_each(store *st, const char *key, store_pos after, size_t count,
                   st_entry_fn each, void *arg, err_t *e)
{
    redisReply *r;
    int rc = st_xrange_after(st, key, after, count, &r, e);
    if (rc < 0)
        return rc;
    size_t i = 0;
    for (; rc == 0 && i < r->elements; i++)
        rc = each(st, key, r->element[i], arg, e);
    freeReplyObject(r);
    return rc < 0 ? rc : (int)i;
}

/* ---- positions kept in keys ---- */

int st_pos_get(store *st, const char *key, store_pos *out, err_t *e)
{
    st_args a = {0};
    st_arg_s(&a, "GET"), st_arg_s(&a, key);
    redisReply *r;
    int rc = st_cmd(st, &a, -1, &r, e);
    if (rc < 0)
        return rc;
    *out = (store_pos){0, 0};
    if (r->type == REDIS_REPLY_STRING && store_pos_parse(r->str, out) < 0)
        rc = err_set(e, ERR_IO, "redis %s: GET %s: bad position '%.40s'",
                     st->url, key, r->str);
    else if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)
        rc = err_set(e, ERR_IO, "redis %s: GET %s: unexpected reply type",
                     st->url, key);
    freeReplyObject(r);
    return rc;
}

/* ---- counts ---- */

int64_t st_count(store *st, const char *verb, const char *key, err_t *e)
{
    st_args a = {0};
    st_arg_s(&a, verb), st_arg_s(&a, key);
    redisReply *r;
    int rc = st_cmd(st, &a, REDIS_REPLY_INTEGER, &r, e);
    if (rc < 0)
        return rc;
    int64_t n = r->integer;
    freeReplyObject(r);
    return n;
}

int64_t st_xlen(store *st, const char *kind, const char *sub, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, kind, sub, e);
    return rc < 0 ? rc : st_count(st, "XLEN", key, e);
}
