/* store_cbec: cross-border e-commerce sets (see store_cbec.h). Attach,
 * settle and expire are one script each: what a set holds and what was
 * decided about it change together or not at all. */
#include "store_cbec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define CB_KEEP_TEXT "2592000000" /* STORE_CBEC_KEEP_MS */
_Static_assert(STORE_CBEC_KEEP_MS == 2592000000LL, "CB_KEEP_TEXT");

/* ARGV: 1 base "<prefix>v1:cb:", 2 now, 3 limit ms, then per document
 * (STORE_CBEC_ATTACH_MAX at most) 7: doc, key, id, rec, lno or "", "1"
 * replace, cop (the inventory list's own number) or "". Returns per
 * document {outcome, order no, n or "", other[, the set as HGETALL gives
 * it, for attached, same and duplicate: read with the attach, not after
 * it]}, each applied in turn. A waybill goes to the set whose inventory
 * list named it, else waits under wb:; an inventory list naming a
 * waiting waybill takes it into its set. */
static const st_script st_lua_cb_attach = {ST_LUA_CB_ATTACH,
    "local base, now, lim = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local keep = " CB_KEEP_TEXT "\n"
    "local function attach(doc, key, id, rec, lno, replace, cop)\n"
    "local function same(h, f)\n"
    "  local was = redis.call('HGET', h, 'id' .. f)\n"
    "  if was == id then return 'same', was end\n"
    "  if was and not replace then\n"
    "    if redis.call('HGET', h, 'rec' .. f) == rec then"
    " return 'duplicate', was end\n"
    "    return 'conflict', was\n"
    "  end\n"
    "end\n"
    "if doc == 'waybill' then\n"
    "  local ord = redis.call('GET', base .. 'lno:' .. key)\n"
    "  if not ord then\n"
    "    local wb = base .. 'wb:' .. key\n"
    "    local how, was = same(wb, '')\n"
    "    if how then return {how, key, '', was} end\n"
    "    redis.call('HSET', wb, 'v', 1, 'id', id, 'rec', rec, 'at', now)\n"
    "    redis.call('PEXPIRE', wb, lim)\n"
    "    return {'parked', key, '', ''}\n"
    "  end\n"
    "  key = ord\n"
    "end\n"
    "local set = base .. 'set:' .. key\n"
    "local st = redis.call('HGET', set, 'state')\n"
    "if redis.call('HGET', set, 'id:' .. doc) == id then\n"
    "  return {'same', key, redis.call('HGET', set, 'n') or '0', id,"
    " redis.call('HGETALL', set)}\n"
    "end\n"
    "if st == 'expired' or st == 'withdrawn' or st == 'released' or"
    " st == 'rejected' then\n"
    "  return {'closed', key, '', redis.call('HGET', set, 'why') or st}\n"
    "end\n"
    "local how, was = same(set, ':' .. doc)\n"
    "if how then\n"
    "  return {how, key, redis.call('HGET', set, 'n') or '0', was,"
    " how ~= 'conflict' and redis.call('HGETALL', set) or {}}\n"
    "end\n"
    "if not st then\n"
    "  redis.call('HSET', set, 'v', 1, 'state', 'awaiting', 'first', now,"
    " 'due', now + lim, 'why', '')\n"
    "  redis.call('ZADD', base .. 'due', now + lim, key)\n"
    "end\n"
    "redis.call('HSET', set, 'id:' .. doc, id, 'rec:' .. doc, rec, 'at:' .. doc, now)\n"
    "if doc == 'inventory' and cop ~= '' then\n"
    "  redis.call('SET', base .. 'cop:' .. cop, key, 'PX', lim + keep)\n"
    "end\n"
    "if doc == 'inventory' and lno ~= '' then\n"
    "  redis.call('HSET', set, 'lno', lno)\n"
    "  redis.call('SET', base .. 'lno:' .. lno, key, 'PX', keep)\n"
    "  local wb = base .. 'wb:' .. lno\n"
    "  local w = redis.call('HMGET', wb, 'id', 'rec', 'at')\n"
    "  if w[1] and not redis.call('HGET', set, 'id:waybill') then\n"
    "    redis.call('HSET', set, 'id:waybill', w[1], 'rec:waybill', w[2],"
    " 'at:waybill', w[3])\n"
    "    redis.call('DEL', wb)\n"
    "  end\n"
    "end\n"
    "local n = redis.call('HINCRBY', set, 'n', 1)\n"
    "redis.call('HSET', set, 'upd', now)\n"
    "redis.call('PEXPIRE', set, lim + keep)\n"
    "return {'attached', key, tostring(n), '', redis.call('HGETALL', set)}\n"
    "end\n"
    "local out = {}\n"
    "for a = 4, #ARGV, 7 do\n"
    "  out[#out + 1] = attach(ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3],"
    " ARGV[a + 4], ARGV[a + 5] == '1', ARGV[a + 6])\n"
    "end\n"
    "return out\n"};

/* ARGV: 1 base, 2 order no, 3 n as read, 4 state, 5 why, 6 now. */
static const st_script st_lua_cb_settle = {ST_LUA_CB_SETTLE,
    "local set = ARGV[1] .. 'set:' .. ARGV[2]\n"
    "local st = redis.call('HGET', set, 'state')\n"
    "if redis.call('HGET', set, 'n') ~= ARGV[3] or st == 'expired'"
    " or st == 'withdrawn' or st == 'released' or st == 'rejected' then"
    " return 0 end\n"
    "redis.call('HSET', set, 'state', ARGV[4], 'why', ARGV[5], 'upd', ARGV[6],"
    " 'done', ARGV[3])\n"
    "if ARGV[4] == 'matched' then\n"
    "  redis.call('ZREM', ARGV[1] .. 'due', ARGV[2])\n"
    "else\n"
    "  redis.call('ZADD', ARGV[1] .. 'due', redis.call('HGET', set, 'due'),"
    " ARGV[2])\n"
    "end\n"
    "return 1\n"};

/* ARGV: 1 base, 2 now, 3 max. Returns {order no, why, ...}. The
 * documents are named in cbec_doc order, as cbec_missing_text does. */
static const st_script st_lua_cb_expire = {ST_LUA_CB_EXPIRE,
    "local base, now = ARGV[1], ARGV[2]\n"
    "local due = redis.call('ZRANGEBYSCORE', base .. 'due', '-inf', now,"
    " 'LIMIT', 0, tonumber(ARGV[3]))\n"
    "local out = {}\n"
    "for _, key in ipairs(due) do\n"
    "  local set = base .. 'set:' .. key\n"
    "  redis.call('ZREM', base .. 'due', key)\n"
    "  local st = redis.call('HGET', set, 'state')\n"
    "  if st == 'awaiting' or st == 'mismatched' then\n"
    "    local miss = {}\n"
    "    for _, d in ipairs({'order', 'payment', 'waybill', 'inventory'}) do\n"
    "      if redis.call('HEXISTS', set, 'id:' .. d) == 0 then"
    " miss[#miss + 1] = d end\n"
    "    end\n"
    "    local why, was = 'time limit passed', redis.call('HGET', set, 'why')\n"
    "    if #miss > 0 then why = why .. ' with no ' .. table.concat(miss, ', ') end\n"
    "    if st == 'mismatched' then\n"
    "      why = why .. (#miss > 0 and ';' or ',') .. ' not corrected: ' .. (was or '')\n"
    "    end\n"
    "    redis.call('HSET', set, 'state', 'expired', 'why', why, 'upd', now)\n"
    "    out[#out + 1] = key\n"
    "    out[#out + 1] = why\n"
    "  end\n"
    "end\n"
    "return out\n"};

/* ARGV: 1 base, 2 order no, 3 new state (withdrawn released rejected), 4
 * why, 5 now. A set closes once: withdrawn only before release; released
 * and rejected only once matched. Returns {1 closed now or 0 not, the
 * state it was in, its arid, its allow}. */
static const st_script st_lua_cb_close = {ST_LUA_CB_CLOSE,
    "local set = ARGV[1] .. 'set:' .. ARGV[2]\n"
    "local st = redis.call('HGET', set, 'state')\n"
    "local arid = redis.call('HGET', set, 'arid') or ''\n"
    "local allow = redis.call('HGET', set, 'allow') or ''\n"
    "if not st then return {0, '', '', ''} end\n"
    "local ok = (ARGV[3] == 'withdrawn' and (st == 'awaiting' or st == 'matched'"
    " or st == 'mismatched')) or (ARGV[3] ~= 'withdrawn' and st == 'matched')\n"
    "if not ok then return {0, st, arid, allow} end\n"
    "redis.call('HSET', set, 'state', ARGV[3], 'why', ARGV[4], 'upd', ARGV[5])\n"
    "redis.call('ZREM', ARGV[1] .. 'due', ARGV[2])\n"
    "return {1, st, arid, allow}\n"};

static int cb__name(store *st, const char *what, const char *v, err_t *e)
{
    if (st_name_ok(v))
        return 0;
    return err_set(e, ERR_INVALID, "redis %s: cbec: %s \"%.64s\": want 1-64 "
                   "of A-Z a-z 0-9 - _ .", st->url, what, v ? v : "");
}

static const char *cb__str(arena_t *a, const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING ? arena_strndup(a, r->str, r->len) : NULL;
}

static store_cbec_outcome cb__outcome(const char *s)
{
    static const char *const names[] = {"attached", "same", "duplicate",
                                        "conflict", "parked", "closed"};
    for (int i = 0; i < 6; i++)
        if (strcmp(s, names[i]) == 0)
            return (store_cbec_outcome)i;
    return STORE_CBEC_CLOSED;
}

static int cb__set_of(const redisReply *r, const char *order_no, arena_t *a,
                      store_cbec_set *out, err_t *e);

static int cb__res(store *st, redisReply *r, arena_t *a, store_cbec_res *out,
                   err_t *e)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 4 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return err_set(e, ERR_IO, "redis %s: cbec attach: unexpected reply",
                       st->url);
    const char *n = cb__str(a, r->element[2]), *other = cb__str(a, r->element[3]);
    out->outcome = cb__outcome(r->element[0]->str);
    out->order_no = cb__str(a, r->element[1]);
    out->other = other && other[0] ? other : NULL;
    out->n = n ? strtoll(n, NULL, 10) : 0;
    out->has_set = 0;
    if (!out->order_no)
        return err_set(e, ERR_NOMEM, "cbec: out of memory");
    if (r->elements == 5 && r->element[4]->type == REDIS_REPLY_ARRAY &&
        r->element[4]->elements) {
        int rc = cb__set_of(r->element[4], out->order_no, a, &out->set, e);
        if (rc < 0)
            return rc;
        out->has_set = 1;
    }
    return 0;
}

/* Queues put p's 7 arguments; 0, or ERR_INVALID for a name no key can hold. */
static int cb__put_args(store *st, st_args *g, const store_cbec_put *p, err_t *e)
{
    int rc = cb__name(st, p->doc == CBEC_WAYBILL ? "waybill number"
                                                 : "order number", p->key, e);
    if (!rc)
        rc = cb__name(st, "record id", p->id, e);
    if (!rc && p->lno)
        rc = cb__name(st, "waybill number", p->lno, e);
    if (rc || p->doc >= CBEC__DOCS)
        return rc ? rc : err_set(e, ERR_INVALID, "redis %s: cbec attach: bad "
                                 "document", st->url);
    st_arg_s(g, cbec_doc_name(p->doc)), st_arg_s(g, p->key), st_arg_s(g, p->id);
    st_arg_b(g, p->rec, p->len), st_arg_s(g, p->lno ? p->lno : "");
    st_arg_s(g, p->replace ? "1" : "0");
    st_arg_s(g, p->cop && st_name_ok(p->cop) ? p->cop : "");
    return 0;
}

int store_cbec_attach_many(store *st, const store_cbec_put *p, size_t k,
                           int64_t now_ms, int64_t limit_ms, arena_t *a,
                           store_cbec_res *out, err_t *e)
{
    char base[ST_KEY_MAX], now[24], lim[24];
    if (k < 1 || k > STORE_CBEC_ATTACH_MAX || limit_ms < 1)
        return err_set(e, ERR_INVALID, "redis %s: cbec attach: %zu documents "
                       "(1 to %d), time limit %lld", st->url, k,
                       STORE_CBEC_ATTACH_MAX, (long long)limit_ms);
    snprintf(base, sizeof base, "%sv1:cb:", st->prefix);
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(lim, sizeof lim, "%lld", (long long)limit_ms);
    st_args g = {.what = "cbec attach"};
    st_arg_s(&g, "EVALSHA"), st_arg_s(&g, ""), st_arg_s(&g, "0");
    st_arg_s(&g, base), st_arg_s(&g, now), st_arg_s(&g, lim);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < k; i++)
        rc = cb__put_args(st, &g, &p[i], e);
    redisReply *r;
    if (rc < 0 || (rc = st_eval(st, &st_lua_cb_attach, &g, &r, e)) < 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != k)
        rc = err_set(e, ERR_IO, "redis %s: cbec attach: unexpected reply", st->url);
    for (size_t i = 0; rc == 0 && i < k; i++)
        rc = cb__res(st, r->element[i], a, &out[i], e);
    freeReplyObject(r);
    return rc;
}

int store_cbec_attach(store *st, const store_cbec_put *p, int64_t now_ms,
                      int64_t limit_ms, arena_t *a, store_cbec_res *out,
                      err_t *e)
{
    return store_cbec_attach_many(st, p, 1, now_ms, limit_ms, a, out, e);
}

/* ---- reading a set ---- */

static int64_t cb__num(const redisReply *v)
{
    return v && v->type == REDIS_REPLY_STRING ? strtoll(v->str, NULL, 10) : 0;
}

/* Field f (and its value v) of the set's hash into out. */
static int cb__field(const redisReply *f, const redisReply *v, arena_t *a,
                     store_cbec_set *out)
{
    static const char *const strs[] = {"state", "why", "lno", "arid", "allow",
                                       "tax"};
    const char **sdst[] = {&out->state, &out->why, &out->lno, &out->arid,
                           &out->allow, &out->tax};
    static const char *const nums[] = {"first", "due", "upd", "n", "done"};
    int64_t *ndst[] = {&out->first, &out->due, &out->upd, &out->n, &out->done};
    for (int i = 0; i < 6; i++)
        if (!strcmp(f->str, strs[i]))
            return (*sdst[i] = cb__str(a, v)) ? 0 : ERR_NOMEM;
    for (int i = 0; i < 5; i++)
        if (!strcmp(f->str, nums[i]))
            return *ndst[i] = cb__num(v), 0;
    for (int d = 0; d < CBEC__DOCS; d++) {
        const char *name = cbec_doc_name((cbec_doc)d), *colon = strchr(f->str, ':');
        if (!colon || strcmp(colon + 1, name))
            continue;
        store_cbec_doc *doc = &out->doc[d];
        if (!strncmp(f->str, "id:", 3))
            return (doc->id = cb__str(a, v)) ? 0 : ERR_NOMEM;
        if (!strncmp(f->str, "at:", 3))
            return doc->at = cb__num(v), 0;
        if (!strncmp(f->str, "rec:", 4) && (doc->rec = cb__str(a, v)))
            return doc->len = v->len, 0;
    }
    return 0;
}

/* The set's fields (an HGETALL reply) into out. */
static int cb__set_of(const redisReply *r, const char *order_no, arena_t *a,
                      store_cbec_set *out, err_t *e)
{
    memset(out, 0, sizeof *out);
    if (r->type != REDIS_REPLY_ARRAY || !r->elements)
        return err_set(e, ERR_NOTFOUND, "cbec: no set for order %s", order_no);
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING &&
            cb__field(r->element[i], r->element[i + 1], a, out))
            return err_set(e, ERR_NOMEM, "cbec: out of memory");
    return (out->order_no = arena_strdup(a, order_no))
               ? 0 : err_set(e, ERR_NOMEM, "cbec: out of memory");
}

int store_cbec_get(store *st, const char *order_no, arena_t *a,
                   store_cbec_set *out, err_t *e)
{
    char key[ST_KEY_MAX];
    memset(out, 0, sizeof *out);
    int rc = cb__name(st, "order number", order_no, e);
    if (!rc)
        rc = st_key(st, key, "cb:set", order_no, e);
    st_args g = {0};
    st_arg_s(&g, "HGETALL"), st_arg_s(&g, key);
    redisReply *r;
    if (rc < 0 || (rc = st_cmd(st, &g, REDIS_REPLY_ARRAY, &r, e)) < 0)
        return rc;
    rc = cb__set_of(r, order_no, a, out, e);
    freeReplyObject(r);
    return rc;
}

/* ---- verdicts and time limits ---- */

int store_cbec_settle(store *st, const char *order_no, int64_t n,
                      const char *state, const char *why, int64_t now_ms,
                      err_t *e)
{
    char base[ST_KEY_MAX], nb[24], now[24];
    int rc = cb__name(st, "order number", order_no, e);
    if (rc < 0)
        return rc;
    snprintf(base, sizeof base, "%sv1:cb:", st->prefix);
    snprintf(nb, sizeof nb, "%lld", (long long)n);
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    st_args g = {.what = "cbec settle"};
    st_arg_s(&g, "EVALSHA"), st_arg_s(&g, ""), st_arg_s(&g, "0");
    st_arg_s(&g, base), st_arg_s(&g, order_no), st_arg_s(&g, nb);
    st_arg_s(&g, state), st_arg_s(&g, why ? why : ""), st_arg_s(&g, now);
    redisReply *r;
    if ((rc = st_eval(st, &st_lua_cb_settle, &g, &r, e)) < 0)
        return rc;
    rc = r->type == REDIS_REPLY_INTEGER ? (int)r->integer
                                        : err_set(e, ERR_IO, "redis %s: cbec "
                                                  "settle: unexpected reply", st->url);
    freeReplyObject(r);
    return rc;
}

int store_cbec_expire(store *st, int64_t now_ms, size_t max,
                      store_cbec_expired_fn fn, void *ctx, err_t *e)
{
    char base[ST_KEY_MAX], now[24], mx[24];
    snprintf(base, sizeof base, "%sv1:cb:", st->prefix);
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(mx, sizeof mx, "%zu", max ? max : 1);
    st_args g = {.what = "cbec expire"};
    st_arg_s(&g, "EVALSHA"), st_arg_s(&g, ""), st_arg_s(&g, "0");
    st_arg_s(&g, base), st_arg_s(&g, now), st_arg_s(&g, mx);
    redisReply *r;
    int rc = st_eval(st, &st_lua_cb_expire, &g, &r, e), got = 0;
    if (rc < 0)
        return rc;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements &&
                       rc == 0; i += 2, got++)
        if (fn)
            rc = fn(ctx, r->element[i]->str, r->element[i + 1]->str, e);
    freeReplyObject(r);
    return rc < 0 ? rc : got;
}

int store_cbec_allow_set(store *st, const char *order_no, const char *rid,
                         const char *what, const char *tax, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = cb__name(st, "order number", order_no, e);
    if (rc == 0)
        rc = st_key(st, key, "cb:set", order_no, e);
    st_args a = {0};
    st_arg_s(&a, "HSET"), st_arg_s(&a, key), st_arg_s(&a, "allow");
    st_arg_s(&a, what), st_arg_s(&a, "arid"), st_arg_s(&a, rid ? rid : "");
    if (tax)
        st_arg_s(&a, "tax"), st_arg_s(&a, tax);
    redisReply *r;
    if (rc == 0 && (rc = st_cmd(st, &a, REDIS_REPLY_INTEGER, &r, e)) == 0)
        freeReplyObject(r);
    return rc;
}

int store_cbec_close(store *st, const char *order_no, const char *state,
                     const char *why, int64_t now_ms, arena_t *a,
                     store_cbec_closed *out, err_t *e)
{
    char base[ST_KEY_MAX], now[24];
    int rc = cb__name(st, "order number", order_no, e);
    if (rc < 0)
        return rc;
    snprintf(base, sizeof base, "%sv1:cb:", st->prefix);
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    st_args g = {.what = "cbec close"};
    st_arg_s(&g, "EVALSHA"), st_arg_s(&g, ""), st_arg_s(&g, "0");
    st_arg_s(&g, base), st_arg_s(&g, order_no), st_arg_s(&g, state);
    st_arg_s(&g, why ? why : ""), st_arg_s(&g, now);
    redisReply *r;
    if ((rc = st_eval(st, &st_lua_cb_close, &g, &r, e)) < 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
        r->element[0]->type != REDIS_REPLY_INTEGER)
        rc = err_set(e, ERR_IO, "redis %s: cbec close: unexpected reply", st->url);
    else {
        const char *was = cb__str(a, r->element[1]), *arid = cb__str(a, r->element[2]);
        const char *allow = cb__str(a, r->element[3]);
        out->closed = (int)r->element[0]->integer;
        out->was = was && was[0] ? was : NULL;
        out->arid = arid && arid[0] ? arid : NULL;
        out->allow = allow && allow[0] ? allow : NULL;
    }
    freeReplyObject(r);
    return rc;
}

int store_cbec_by_cop(store *st, const char *cop, arena_t *a,
                      const char **order_no, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = cb__name(st, "inventory list number", cop, e);
    if (rc == 0)
        rc = st_key(st, key, "cb:cop", cop, e);
    st_args g = {0};
    st_arg_s(&g, "GET"), st_arg_s(&g, key);
    redisReply *r;
    if (rc < 0 || (rc = st_cmd(st, &g, -1, &r, e)) < 0)
        return rc;
    *order_no = cb__str(a, r);
    freeReplyObject(r);
    return *order_no ? 0 : err_set(e, ERR_NOTFOUND, "cbec: no inventory list "
                                   "%s here", cop);
}

int64_t store_cbec_open(store *st, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "cb:due", NULL, e);
    return rc < 0 ? rc : st_count(st, "ZCARD", key, e);
}

/* ---- where the reading of v1:in stands ---- */

int store_cbec_inpos(store *st, store_pos *out, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "cb:inpos", NULL, e);
    return rc < 0 ? rc : st_pos_get(st, key, out, e);
}

int store_cbec_inpos_set(store *st, store_pos p, err_t *e)
{
    char key[ST_KEY_MAX], id[STORE_ID_MAX];
    int rc = st_key(st, key, "cb:inpos", NULL, e);
    store_pos_format(p, id);
    st_args a = {0};
    st_arg_s(&a, "SET"), st_arg_s(&a, key), st_arg_s(&a, id);
    redisReply *r;
    if (rc == 0 && (rc = st_cmd(st, &a, REDIS_REPLY_STATUS, &r, e)) == 0)
        freeReplyObject(r);
    return rc;
}
