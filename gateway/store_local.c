/* store_local: what local systems hand to the node and what it hands back
 * (store_local.h; docs/store.md, "Local systems"). The scripts keep their
 * SHA-1 here, not in struct store's slots: each is computed once per
 * process from the source (what SCRIPT LOAD would answer), and a NOSCRIPT
 * reply (Redis restarted) falls back to EVAL of the source, which loads
 * it again. Script calls go out through st_pipe_sendv: an accept of 256
 * records has far more arguments than an st_args holds. */
#include "store_local.h"
#include "store_int.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SL_KEY_MAX 128    /* a notification key (v1:loutk:<key>) */
#define SL_ACCEPT_ARGS 9  /* EVALSHA sha numkeys 2 keys 4 argv */
#define SL_KV_MAX (ST_ARGS_MAX - 2) /* fields and values of one HSET */

typedef struct sl_script {
    const char *name, *src;
    char sha[41]; /* computed on first use, under sl_sha_mu */
} sl_script;

/* KEYS local, events; ARGV msg key base, now, ttl, events max, then per
 * record id conn client kind doc rec. Replies {dup flag per record}. */
static sl_script sl_lua_accept = {"local_accept",
    "local base, now, ttl, max = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
    "local out = {}\n"
    "for a = 5, #ARGV, 6 do\n"
    "  local id, conn, cl, kind, doc = ARGV[a], ARGV[a + 1], ARGV[a + 2],"
    " ARGV[a + 3], ARGV[a + 4]\n"
    "  local mk = base .. id\n"
    "  if redis.call('EXISTS', mk) == 1 then\n"
    "    out[#out + 1] = 1\n"
    "  else\n"
    "    local pos = redis.call('XADD', KEYS[1], '*', 'v', '1', 'id', id,"
    " 'conn', conn, 'client', cl, 'r', ARGV[a + 5])\n"
    "    redis.call('HSET', mk, 'v', '1', 'status', 'accepted', 'conn', conn,"
    " 'client', cl, 'kind', kind, 'doc', doc, 'at', now, 'pos', pos)\n"
    "    redis.call('PEXPIRE', mk, ttl)\n"
    "    local j = cjson.encode({id = id, conn = conn, client = cl,"
    " kind = kind, doc = doc, at = tonumber(now)})\n"
    "    redis.call('XADD', KEYS[2], 'MAXLEN', '~', max, '*', 'v', '1',"
    " 'ev', 'accepted', 'j', j)\n"
    "    out[#out + 1] = 0\n"
    "  end\n"
    "end\n"
    "return out\n", ""};

/* KEYS msg; ARGV field value ... Replies 1 set, 0 unknown message (not
 * created: a status hash without its TTL would live for ever). */
static sl_script sl_lua_msg_set = {"msg_set",
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "redis.call('HSET', KEYS[1], unpack(ARGV))\n"
    "return 1\n", ""};

/* KEYS loutk, lout; ARGV ttl, ev, rec, map ('' the connector's).
 * Replies 0 queued, 1 queued before. */
static sl_script sl_lua_lout_add = {"lout_add",
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then\n"
    "  return 1\n"
    "end\n"
    "if ARGV[4] == '' then\n"
    "  redis.call('XADD', KEYS[2], '*', 'v', '1', 'ev', ARGV[2], 'r',"
    " ARGV[3])\n"
    "else\n"
    "  redis.call('XADD', KEYS[2], '*', 'v', '1', 'ev', ARGV[2], 'r',"
    " ARGV[3], 'm', ARGV[4])\n"
    "end\n"
    "return 0\n", ""};

/* ---- running a script ---- */

static pthread_mutex_t sl_sha_mu = PTHREAD_MUTEX_INITIALIZER;

/* s's SHA-1 in hex into out, computed on first use. */
static int sl__sha(sl_script *s, char out[41])
{
    int ok = 1;
    pthread_mutex_lock(&sl_sha_mu);
    if (!s->sha[0]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        ok = EVP_Digest(s->src, strlen(s->src), md, &n, EVP_sha1(), NULL) &&
             n == 20;
        for (unsigned i = 0; ok && i < n; i++)
            snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
    }
    memcpy(out, s->sha, 41);
    pthread_mutex_unlock(&sl_sha_mu);
    return ok ? 0 : -1;
}

static int sl__send(store *st, int argc, const char **v, const size_t *l,
                    const char *what, redisReply **out, err_t *e)
{
    int rc = st_pipe_sendv(st, argc, v, l, what, e);
    return rc < 0 ? rc : st_pipe_reply(st, what, out, e);
}

/* Runs s with v[2..argc) (v[0], v[1] are set here); an error reply is
 * ERR_IO "redis <url>: EVALSHA <script> <key>: why". */
static int sl__eval(store *st, sl_script *s, int argc, const char **v,
                    size_t *l, const char *key, redisReply **out, err_t *e)
{
    char sha[41], what[ST_KEY_MAX + 48];
    snprintf(what, sizeof what, "EVALSHA %s %s", s->name, key);
    if (st->owed)
        return err_set(e, ERR_USAGE, "redis %s: %s: link replies still owed "
                       "on this connection", st->url, what);
    if (sl__sha(s, sha) < 0)
        return err_set(e, ERR_IO, "redis %s: %s: cannot hash the script",
                       st->url, what);
    v[0] = "EVALSHA", l[0] = 7, v[1] = sha, l[1] = 40;
    int rc = sl__send(st, argc, v, l, what, out, e);
    if (rc == 0 && (*out)->type == REDIS_REPLY_ERROR &&
        !strncmp((*out)->str, "NOSCRIPT", 8)) {
        freeReplyObject(*out);
        v[0] = "EVAL", l[0] = 4, v[1] = s->src, l[1] = strlen(s->src);
        rc = sl__send(st, argc, v, l, what, out, e);
    }
    if (rc == 0 && (*out)->type == REDIS_REPLY_ERROR) {
        err_set(e, ERR_IO, "redis %s: %s: %s", st->url, what, (*out)->str);
        freeReplyObject(*out);
        *out = NULL;
        return ERR_IO;
    }
    return rc;
}

/* ---- MULTI, pipelined ---- */

/* Queues MULTI, the commands, EXEC; one round trip. A failed queue drops
 * the connection (store.c), so a half-queued MULTI never runs. */
typedef struct sl_multi {
    store *st;
    int n, rc;
    const char *what;
} sl_multi;

static void slm_add(sl_multi *m, const st_args *a, err_t *e)
{
    if (m->rc == 0 && (m->rc = st_pipe_add(m->st, a, e)) == 0)
        m->n++;
}

static void slm_begin(sl_multi *m, store *st, const char *what, err_t *e)
{
    *m = (sl_multi){st, 0, 0, what};
    st_args a = {0};
    st_arg_s(&a, "MULTI");
    slm_add(m, &a, e);
}

/* EXEC, then every reply in order: the first error one fails it all. */
static int slm_exec(sl_multi *m, err_t *e)
{
    st_args a = {0};
    st_arg_s(&a, "EXEC");
    slm_add(m, &a, e);
    if (m->rc == 0)
        m->rc = st_pipe_flush(m->st, m->what, e);
    int bad = 0;
    for (int i = 0; m->rc == 0 && i < m->n; i++) {
        redisReply *r;
        if ((m->rc = st_pipe_reply(m->st, m->what, &r, e)) < 0)
            break;
        int err = r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_NIL;
        for (size_t k = 0; r->type == REDIS_REPLY_ARRAY && k < r->elements; k++)
            err |= r->element[k]->type == REDIS_REPLY_ERROR;
        if (err && !bad++)
            err_set(e, ERR_IO, "redis %s: %s: %s", m->st->url, m->what,
                    r->type == REDIS_REPLY_ERROR ? r->str
                                                 : "transaction refused");
        freeReplyObject(r);
    }
    return m->rc < 0 ? m->rc : bad ? ERR_IO : 0;
}

/* Adds SET <poskey> pos and XTRIM <stream> past pos (exact MINID; MAXLEN
 * 0 when pos is the last id there can be). */
static void slm_done(sl_multi *m, const char *stream, const char *poskey,
                     store_pos pos, err_t *e)
{
    char id[STORE_ID_MAX], next[STORE_ID_MAX];
    int all = pos.ms == UINT64_MAX && pos.seq == UINT64_MAX;
    store_pos_format(pos, id);
    store_pos_format(pos.seq == UINT64_MAX ? (store_pos){pos.ms + 1, 0}
                                           : (store_pos){pos.ms, pos.seq + 1},
                     next);
    st_args a = {0}, t = {0};
    st_arg_s(&a, "SET"), st_arg_s(&a, poskey), st_arg_s(&a, id);
    slm_add(m, &a, e);
    st_arg_s(&t, "XTRIM"), st_arg_s(&t, stream);
    st_arg_s(&t, all ? "MAXLEN" : "MINID"), st_arg_s(&t, all ? "0" : next);
    slm_add(m, &t, e);
}

/* ---- small helpers ---- */

/* The position of stream entry en, or ERR_IO. */
static int sl__entry_pos(store *st, const char *key, const redisReply *en,
                         const redisReply **fields, store_pos *p, err_t *e)
{
    int rc = st_entry(st, key, en, fields, e);
    if (rc < 0)
        return rc;
    if (store_pos_parse(en->element[0]->str, p) < 0)
        return err_set(e, ERR_IO, "redis %s: %s: bad stream id %s", st->url,
                       key, en->element[0]->str);
    return 0;
}

static int sl__missing(store *st, const char *key, store_pos p, err_t *e)
{
    char id[STORE_ID_MAX];
    store_pos_format(p, id);
    return err_set(e, ERR_INVALID, "redis %s: %s entry %s: a field of v1 is "
                   "missing", st->url, key, id);
}

/* ---- accepting ---- */

static int sl__check_rec(store *st, const store_local_rec *r, err_t *e)
{
    if (!r->id || !st_name_ok(r->id) || !r->conn || !st_name_ok(r->conn) ||
        !r->client || !r->kind || !r->doc || !r->rec || !r->rec_len)
        return err_set(e, ERR_INVALID, "redis %s: local record %.40s: id and "
                       "connector must be names, every field set", st->url,
                       r->id ? r->id : "(no id)");
    return 0;
}

/* Arguments of the accept script into v, l (SL_ACCEPT_ARGS + 6 n; v[0],
 * v[1] left for sl__eval); every string borrowed until the call. */
static void sl__accept_args(const store_local_rec *recs, size_t n,
                            const char *const fixed[7], const char **v,
                            size_t *l)
{
    int k = 2;
    for (size_t i = 0; i < 7; i++, k++)
        v[k] = fixed[i], l[k] = strlen(fixed[i]);
    for (size_t i = 0; i < n; i++) {
        const store_local_rec *r = &recs[i];
        const char *s[] = {r->id, r->conn, r->client, r->kind, r->doc};
        for (size_t j = 0; j < 5; j++, k++)
            v[k] = s[j], l[k] = strlen(s[j]);
        v[k] = r->rec, l[k++] = r->rec_len;
    }
}

/* The script's call: KEYS local, events; ARGV msg key base, now, ttl,
 * events cap, then the records. */
static int sl__accept_call(store *st, const store_local_rec *recs, size_t n,
                           redisReply **r, err_t *e)
{
    char local[ST_KEY_MAX], events[ST_KEY_MAX], base[ST_KEY_MAX];
    char now[24], ttl[24], max[24];
    st_key(st, local, "local", NULL, e);
    st_key(st, events, "events", NULL, e);
    snprintf(base, sizeof base, "%sv1:msg:", st->prefix);
    snprintf(now, sizeof now, "%" PRId64, st_now_ms());
    snprintf(ttl, sizeof ttl, "%lld", STORE_MSG_TTL_MS);
    snprintf(max, sizeof max, "%d", STORE_EVENTS_MAX);
    const char *const fixed[7] = {"2", local, events, base, now, ttl, max};
    size_t argc = SL_ACCEPT_ARGS + 6 * n;
    const char **v = malloc(argc * sizeof *v);
    size_t *l = malloc(argc * sizeof *l);
    int rc = v && l ? 0 : err_set(e, ERR_NOMEM, "redis %s: local accept: "
                                  "out of memory", st->url);
    if (rc == 0) {
        sl__accept_args(recs, n, fixed, v, l);
        rc = sl__eval(st, &sl_lua_accept, (int)argc, v, l, local, r, e);
    }
    free(v), free(l);
    if (rc == 0 && ((*r)->type != REDIS_REPLY_ARRAY || (*r)->elements != n)) {
        freeReplyObject(*r);
        rc = err_set(e, ERR_IO, "redis %s: EVALSHA local_accept %s: "
                     "unexpected reply", st->url, local);
    }
    return rc;
}

int store_local_accept(store *st, const store_local_rec *recs, size_t n,
                       int *dup, err_t *e)
{
    if (n < 1 || n > STORE_LOCAL_BATCH)
        return err_set(e, ERR_INVALID, "redis %s: local accept: %zu records "
                       "(1 to %d)", st->url, n, STORE_LOCAL_BATCH);
    for (size_t i = 0; i < n; i++)
        if (sl__check_rec(st, &recs[i], e) < 0)
            return ERR_INVALID;
    redisReply *r;
    int rc = sl__accept_call(st, recs, n, &r, e);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        dup[i] = r->element[i]->type == REDIS_REPLY_INTEGER &&
                 r->element[i]->integer == 1;
    freeReplyObject(r);
    return 0;
}

/* ---- dispatching ---- */

typedef struct sl__local_cb {
    store_local_fn fn;
    void *ctx;
} sl__local_cb;

static int sl__local_entry(store *st, const char *key, const redisReply *en,
                           void *arg, err_t *e)
{
    const sl__local_cb *c = arg;
    const redisReply *fields, *id, *conn, *cl, *rec;
    store_pos p;
    int rc = sl__entry_pos(st, key, en, &fields, &p, e);
    if (rc < 0)
        return rc;
    if (!(id = st_field(fields, "id")) || !(conn = st_field(fields, "conn")) ||
        !(cl = st_field(fields, "client")) || !(rec = st_field(fields, "r")))
        return sl__missing(st, key, p, e);
    return c->fn(c->ctx, p, id->str, conn->str, cl->str, rec->str, rec->len,
                 e);
}

int store_local_after(store *st, store_pos after, size_t count,
                      store_local_fn fn, void *ctx, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, "local", NULL, e);
    sl__local_cb c = {fn, ctx};
    return st_xrange_each(st, key, after, count, sl__local_entry, &c, e);
}

int store_local_pos(store *st, store_pos *out, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, "local", "pos", e);
    return st_pos_get(st, key, out, e);
}

/* HSET of u's fields, then PEXPIRE: the status hash keeps its 7 days
 * (counted again from dispatch) instead of becoming a key without TTL
 * if it expired in between; MULTI cannot test EXISTS first. */
static int sl__msg_update(store *st, sl_multi *m, const store_msg_update *u,
                          const char *ttl, err_t *e)
{
    char key[ST_KEY_MAX];
    if (u->nkv < 2 || u->nkv % 2 || u->nkv > SL_KV_MAX)
        return err_set(e, ERR_INVALID, "redis %s: status of %.40s: %zu "
                       "strings (2 to %d, even)", st->url, u->id ? u->id : "?",
                       u->nkv, SL_KV_MAX);
    if (st_key(st, key, "msg", u->id, e) < 0)
        return ERR_INVALID;
    st_args a = {0}, x = {0};
    st_arg_s(&a, "HSET"), st_arg_s(&a, key);
    for (size_t i = 0; i < u->nkv; i++)
        st_arg_s(&a, u->kv[i]);
    slm_add(m, &a, e);
    st_arg_s(&x, "PEXPIRE"), st_arg_s(&x, key), st_arg_s(&x, ttl);
    slm_add(m, &x, e);
    return 0;
}

int store_local_done(store *st, store_pos pos, const store_msg_update *u,
                     size_t nu, err_t *e)
{
    char key[ST_KEY_MAX], poskey[ST_KEY_MAX], ttl[24], what[ST_KEY_MAX + 16];
    st_key(st, key, "local", NULL, e);
    st_key(st, poskey, "local", "pos", e);
    snprintf(ttl, sizeof ttl, "%lld", STORE_MSG_TTL_MS);
    snprintf(what, sizeof what, "MULTI %s", poskey);
    for (size_t i = 0; i < nu; i++) /* checked before anything is queued */
        if (u[i].nkv < 2 || u[i].nkv % 2 || u[i].nkv > SL_KV_MAX ||
            !u[i].id || !st_name_ok(u[i].id))
            return err_set(e, ERR_INVALID, "redis %s: %s: bad status update "
                           "%zu", st->url, what, i);
    sl_multi m;
    slm_begin(&m, st, what, e);
    slm_done(&m, key, poskey, pos, e);
    for (size_t i = 0; i < nu && m.rc == 0; i++)
        sl__msg_update(st, &m, &u[i], ttl, e);
    return slm_exec(&m, e);
}

int64_t store_local_len(store *st, err_t *e)
{
    return st_xlen(st, "local", NULL, e);
}

/* ---- message status ---- */

int store_msg_set(store *st, const char *id, const char *const *kv,
                  size_t nkv, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "msg", id, e);
    if (rc < 0)
        return rc;
    if (nkv < 2 || nkv % 2 || nkv > 1000)
        return err_set(e, ERR_INVALID, "redis %s: HSET %s: %zu strings (2 to "
                       "1000, even)", st->url, key, nkv);
    const char *v[1004];
    size_t l[1004];
    v[2] = "1", l[2] = 1, v[3] = key, l[3] = strlen(key);
    for (size_t i = 0; i < nkv; i++)
        v[4 + i] = kv[i], l[4 + i] = strlen(kv[i]);
    redisReply *r;
    if ((rc = sl__eval(st, &sl_lua_msg_set, (int)nkv + 4, v, l, key, &r, e)) < 0)
        return rc;
    rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? 0
         : err_set(e, ERR_NOTFOUND, "redis %s: HSET %s: no such message",
                   st->url, key);
    freeReplyObject(r);
    return rc;
}

int store_msg_get(store *st, const char *id, store_kv_fn fn, void *ctx,
                  err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "msg", id, e);
    if (rc < 0)
        return rc;
    st_args a = {0};
    st_arg_s(&a, "HGETALL"), st_arg_s(&a, key);
    redisReply *r;
    if ((rc = st_cmd(st, &a, -1, &r, e)) < 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY)
        rc = err_set(e, ERR_IO, "redis %s: HGETALL %s: unexpected reply type",
                     st->url, key);
    else if (!r->elements)
        rc = err_set(e, ERR_NOTFOUND, "redis %s: HGETALL %s: no such message",
                     st->url, key);
    for (size_t i = 0; rc == 0 && i + 1 < r->elements; i += 2)
        rc = fn(ctx, r->element[i]->str, r->element[i + 1]->str, e);
    freeReplyObject(r);
    return rc < 0 ? rc : 0;
}

/* ---- the event feed ---- */

/* One XADD of the feed into a (its strings borrowed from the caller). */
static void sl__event_args(store *st, st_args *a, const char *key,
                           const char *max, const char *name,
                           const char *json)
{
    (void)st;
    *a = (st_args){0};
    st_arg_s(a, "XADD"), st_arg_s(a, key), st_arg_s(a, "MAXLEN");
    st_arg_s(a, "~"), st_arg_s(a, max), st_arg_s(a, "*");
    st_arg_s(a, "v"), st_arg_s(a, "1"), st_arg_s(a, "ev");
    st_arg_s(a, name), st_arg_s(a, "j"), st_arg_s(a, json);
}

int store_event_add(store *st, const char *name, const char *json, err_t *e)
{
    return store_event_add_many(st, &name, &json, 1, e);
}

/* Pipelined: a dispatch round writes one event per record, and a round
 * trip each was half of its time. */
int store_event_add_many(store *st, const char *const *names,
                         const char *const *jsons, size_t n, err_t *e)
{
    char key[ST_KEY_MAX], max[24];
    int rc = st_key(st, key, "events", NULL, e);
    snprintf(max, sizeof max, "%d", STORE_EVENTS_MAX);
    if (rc == 0)
        rc = st_ready(st, e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        st_args a;
        sl__event_args(st, &a, key, max, names[i], jsons[i]);
        rc = st_pipe_add(st, &a, e);
    }
    /* every reply is read, an error one too, so the connection stays in
     * step; a failed read drops it (st_pipe_reply) */
    int bad = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        redisReply *r;
        rc = st_pipe_reply(st, "XADD events", &r, e);
        if (rc == 0 && r->type == REDIS_REPLY_ERROR && !bad++)
            err_set(e, ERR_IO, "redis %s: XADD %s: %s", st->url, key, r->str);
        if (rc == 0)
            freeReplyObject(r);
    }
    return rc < 0 ? rc : bad ? ERR_IO : 0;
}

static int sl__event_entry(store *st, const char *key, const redisReply *en,
                           store_event_fn fn, void *ctx, err_t *e)
{
    const redisReply *fields, *ev, *j;
    store_pos p;
    int rc = sl__entry_pos(st, key, en, &fields, &p, e);
    if (rc < 0)
        return rc;
    if (!(ev = st_field(fields, "ev")) || !(j = st_field(fields, "j")))
        return sl__missing(st, key, p, e);
    return fn(ctx, p, ev->str, j->str, e);
}

/* XREAD [BLOCK ms] COUNT n STREAMS key after; nil: none came. */
int store_event_after(store *st, store_pos after, size_t count,
                      int64_t block_ms, store_event_fn fn, void *ctx,
                      err_t *e)
{
    char key[ST_KEY_MAX], id[STORE_ID_MAX], cnt[24], blk[24];
    st_key(st, key, "events", NULL, e);
    store_pos_format(after, id);
    snprintf(cnt, sizeof cnt, "%zu", count ? count : 1);
    snprintf(blk, sizeof blk, "%" PRId64, block_ms);
    st_args a = {.what = key};
    st_arg_s(&a, "XREAD"), st_arg_s(&a, "COUNT"), st_arg_s(&a, cnt);
    if (block_ms > 0)
        st_arg_s(&a, "BLOCK"), st_arg_s(&a, blk);
    st_arg_s(&a, "STREAMS"), st_arg_s(&a, key), st_arg_s(&a, id);
    redisReply *r;
    st_extend_timeout(st, block_ms > 0 ? block_ms : 0);
    int rc = st_cmd(st, &a, -1, &r, e);
    st_extend_timeout(st, 0);
    if (rc < 0)
        return rc;
    const redisReply *ents = r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
                             r->element[0]->elements == 2
                                 ? r->element[0]->element[1] : NULL;
    size_t i = 0;
    for (; rc == 0 && ents && i < ents->elements; i++)
        rc = sl__event_entry(st, key, ents->element[i], fn, ctx, e);
    freeReplyObject(r);
    return rc < 0 ? rc : (int)i;
}

/* ---- records for local systems ---- */

/* A notification key: 1-128 of the name characters and ':'. */
static int sl__notif_key_ok(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    return n >= 1 && n <= SL_KEY_MAX &&
           strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789-_.:") == n;
}

int store_lout_add(store *st, const char *conn, const char *key,
                   const char *ev, const void *rec, size_t len, err_t *e)
{
    return store_lout_add_map(st, conn, key, ev, NULL, rec, len, e);
}

int store_lout_add_map(store *st, const char *conn, const char *key,
                       const char *ev, const char *map, const void *rec,
                       size_t len, err_t *e)
{
    char lk[ST_KEY_MAX], kk[ST_KEY_MAX + SL_KEY_MAX], ttl[24];
    int rc = st_key(st, lk, "lout", conn, e);
    if (rc < 0)
        return rc;
    if (!sl__notif_key_ok(key) || !ev || !*ev || !rec || !len)
        return err_set(e, ERR_INVALID, "redis %s: %s: notification key "
                       "\"%.40s\" (1-128 of A-Z a-z 0-9 - _ . :), event and "
                       "record required", st->url, lk, key ? key : "");
    snprintf(kk, sizeof kk, "%sv1:loutk:%s", st->prefix, key);
    snprintf(ttl, sizeof ttl, "%lld", STORE_MSG_TTL_MS);
    map = map ? map : "";
    const char *v[] = {NULL, NULL, "2", kk, lk, ttl, ev, rec, map};
    size_t l[] = {0, 0, 1, strlen(kk), strlen(lk), strlen(ttl), strlen(ev),
                  len, strlen(map)};
    redisReply *r;
    if ((rc = sl__eval(st, &sl_lua_lout_add, 9, v, l, lk, &r, e)) < 0)
        return rc;
    rc = r->type == REDIS_REPLY_INTEGER ? (int)r->integer
         : err_set(e, ERR_IO, "redis %s: EVALSHA lout_add %s: unexpected "
                   "reply", st->url, lk);
    freeReplyObject(r);
    return rc;
}

typedef struct sl__lout_cb {
    store_lout_fn fn;
    void *ctx;
} sl__lout_cb;

static int sl__lout_entry(store *st, const char *key, const redisReply *en,
                          void *arg, err_t *e)
{
    const sl__lout_cb *c = arg;
    const redisReply *fields, *ev, *rec, *map;
    store_pos p;
    int rc = sl__entry_pos(st, key, en, &fields, &p, e);
    if (rc < 0)
        return rc;
    if (!(ev = st_field(fields, "ev")) || !(rec = st_field(fields, "r")))
        return sl__missing(st, key, p, e);
    map = st_field(fields, "m");
    return c->fn(c->ctx, p, ev->str, map ? map->str : NULL, rec->str,
                 rec->len, e);
}

int store_lout_next(store *st, const char *conn, size_t count,
                    store_lout_fn fn, void *ctx, err_t *e)
{
    char key[ST_KEY_MAX], poskey[ST_KEY_MAX + 8];
    int rc = st_key(st, key, "lout", conn, e);
    if (rc < 0)
        return rc;
    snprintf(poskey, sizeof poskey, "%s:pos", key);
    store_pos after;
    if ((rc = st_pos_get(st, poskey, &after, e)) < 0)
        return rc;
    sl__lout_cb c = {fn, ctx};
    return st_xrange_each(st, key, after, count, sl__lout_entry, &c, e);
}

int store_lout_done(store *st, const char *conn, store_pos pos, err_t *e)
{
    char key[ST_KEY_MAX], poskey[ST_KEY_MAX + 8], what[ST_KEY_MAX + 16];
    int rc = st_key(st, key, "lout", conn, e);
    if (rc < 0)
        return rc;
    snprintf(poskey, sizeof poskey, "%s:pos", key);
    snprintf(what, sizeof what, "MULTI %s", poskey);
    sl_multi m;
    slm_begin(&m, st, what, e);
    slm_done(&m, key, poskey, pos, e);
    return slm_exec(&m, e);
}

int64_t store_lout_len(store *st, const char *conn, err_t *e)
{
    return st_xlen(st, "lout", conn, e);
}
