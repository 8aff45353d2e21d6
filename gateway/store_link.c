/* store_link: the receiver side of a link. Each received frame's effect
 * (deliver, forward, receipt home, dead letter) is applied by ONE Lua
 * script together with the link position check, so "handled" in
 * link:<peer> and the effect can never disagree, even across crashes and
 * two instances; many frames go in one pipelined round trip. */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_RCPT_TTL_MS (24 * 3600 * 1000LL)

/* KEYS: 1 link, 2 seen, 3 in, 4 receipt outbox, 5 sent, 6 await, 7 rcpt,
 *       8 dlq, 9.. forward outboxes
 * ARGV: 1 pos_ms 2 pos_seq 3 prev_ms 4 prev_seq 5 now_ms 6 link peer
 *       7 msg_id 8 origin 9 digest 10 frame 11 receipt 12 seen_ttl
 *       13 receipted_id 14 receipt_from 15 rcpt 16 rcpt_ttl
 *       17 dlq_reason 18 dlq_where 19 dlq_frame 20 fwd
 * Positions are compared as decimal strings (length, then bytes), since
 * Lua numbers are doubles and cannot hold every uint64.
 * Returns {status 0 done / 1 old / 2 gap, last "ms-seq", dup, reuse}.
 * Nothing is written before the checks pass: a script error after a
 * write would leave half an effect (Redis does not roll back). */
static const st_script st_lua_link = {ST_LUA_LINK,
    "local function cmpn(a, b)\n"
    "  if #a ~= #b then return #a < #b and -1 or 1 end\n"
    "  if a == b then return 0 end\n"
    "  return a < b and -1 or 1\n"
    "end\n"
    "local function cmpp(am, as, bm, bs)\n"
    "  local c = cmpn(am, bm)\n"
    "  if c ~= 0 then return c end\n"
    "  return cmpn(as, bs)\n"
    "end\n"
    "local last = redis.call('GET', KEYS[1]) or '0-0'\n"
    "local lm, ls = string.match(last, '^(%d+)%-(%d+)$')\n"
    "if not lm then return redis.error_reply('link position unreadable: '"
    " .. last) end\n"
    "if cmpp(ARGV[1], ARGV[2], lm, ls) <= 0 then return {1, last, 0, 0} end\n"
    "if cmpp(ARGV[3], ARGV[4], lm, ls) ~= 0 then return {2, last, 0, 0} end\n"
    "local function out(key, f)\n"
    "  redis.call('XADD', key, '*', 'v', '1', 'frame', f)\n"
    "end\n"
    "local function dead(reason, where, f)\n"
    "  redis.call('XADD', KEYS[8], '*', 'v', '1', 'reason', reason,"
    " 'where', where, 'at', ARGV[5], 'frame', f)\n"
    "end\n"
    "local dup, reuse = 0, 0\n"
    "if ARGV[7] ~= '' then\n"
    "  local held = redis.call('HMGET', KEYS[2], 'digest', 'receipt')\n"
    "  if not held[1] then\n"
    "    redis.call('HSET', KEYS[2], 'v', '1', 'digest', ARGV[9],"
    " 'receipt', ARGV[11])\n"
    "    redis.call('PEXPIRE', KEYS[2], ARGV[12])\n"
    "    redis.call('XADD', KEYS[3], '*', 'v', '1', 'f', ARGV[10],"
    " 'id', ARGV[7], 'origin', ARGV[8])\n"
    "    if ARGV[11] ~= '' and KEYS[4] ~= '' then out(KEYS[4], ARGV[11]) end\n"
    "  elseif held[1] ~= ARGV[9] then\n"
    "    reuse = 1\n"
    "  elseif held[2] and held[2] ~= '' and KEYS[4] ~= '' then\n"
    "    dup = 1\n"
    "    out(KEYS[4], held[2])\n"
    "  else\n"
    "    dup = 2\n"
    "  end\n"
    "end\n"
    "if reuse == 1 then\n"
    "  dead('refused: id-reuse', 'link ' .. ARGV[6], ARGV[10])\n"
    "else\n"
    "  for i = 9, #KEYS do out(KEYS[i], ARGV[20]) end\n"
    "  if ARGV[13] ~= '' then\n"
    "    redis.call('HSETNX', KEYS[7], ARGV[14], ARGV[15])\n"
    "    redis.call('PEXPIRE', KEYS[7], ARGV[16])\n"
    "    local wait = redis.call('HGET', KEYS[5], 'wait')\n"
    "    if wait then\n"
    "      local left = {}\n"
    "      for d in string.gmatch(wait, '%S+') do\n"
    "        if d ~= ARGV[14] then left[#left + 1] = d end\n"
    "      end\n"
    "      if #left == 0 then\n"
    "        redis.call('DEL', KEYS[5])\n"
    "        redis.call('ZREM', KEYS[6], ARGV[13])\n"
    "      else\n"
    "        redis.call('HSET', KEYS[5], 'wait', table.concat(left, ' '))\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  if ARGV[17] ~= '' then dead(ARGV[17], ARGV[18], ARGV[19]) end\n"
    "end\n"
    "local pos = ARGV[1] .. '-' .. ARGV[2]\n"
    "redis.call('SET', KEYS[1], pos)\n"
    "return {0, pos, dup, reuse}\n"};

/* Storage for one op's keys and numbers while its command is queued
 * (hiredis copies the arguments, so one buffer serves every op). */
typedef struct st_op_buf {
    char link[ST_KEY_MAX], seen[ST_KEY_MAX], in[ST_KEY_MAX];
    char rout[ST_KEY_MAX], sent[ST_KEY_MAX], await[ST_KEY_MAX];
    char rcpt[ST_KEY_MAX], dlq[ST_KEY_MAX];
    char fwd[STORE_FWD_MAX][ST_KEY_MAX];
    char num[7][24];
} st_op_buf;

static const char *st_or(const char *s) { return s ? s : ""; }

/* Everything that can be refused is refused here, before anything is
 * queued, so that a batch is never sent half-built. */
static int st_fx_check(store *st, const store_effect *fx, err_t *e)
{
    if (!fx)
        return 0;
    const char *bad = NULL;
    if (fx->msg_id && (!st_name_ok(fx->msg_id) || !fx->digest ||
                       !fx->origin || fx->seen_ttl_ms < 1 ||
                       (fx->receipt_peer && !st_name_ok(fx->receipt_peer))))
        bad = "destination part (id, digest, origin, ttl, receipt peer)";
    else if (fx->nfwd > STORE_FWD_MAX || (fx->nfwd && !fx->fwd_peers))
        bad = "forward peers";
    else if (fx->receipted_id && (!st_name_ok(fx->receipted_id) ||
                                  !st_name_ok(fx->receipt_from)))
        bad = "receipt part (receipted id, sender)";
    else if (fx->dlq_reason && !*fx->dlq_reason)
        bad = "dead letter reason";
    for (size_t i = 0; !bad && i < fx->nfwd; i++)
        if (!st_name_ok(fx->fwd_peers[i]))
            bad = "forward peer name";
    if (bad)
        return err_set(e, ERR_INVALID, "redis %s: link effect: bad %s",
                       st->url, bad);
    return 0;
}

/* The key names of fx's parts into b ("" for a part fx does not have).
 * Names were checked by st_fx_check, so this cannot fail for them. */
static int st_op_names(store *st, const store_effect *fx, st_op_buf *b,
                       err_t *e)
{
    b->seen[0] = b->rout[0] = b->sent[0] = b->await[0] = b->rcpt[0] = '\0';
    int rc = st_key(st, b->in, "in", NULL, e);
    rc |= st_key(st, b->dlq, "dlq", NULL, e);
    if (fx->msg_id)
        rc |= st_key(st, b->seen, "seen", fx->msg_id, e);
    if (fx->msg_id && fx->receipt_peer)
        rc |= st_key(st, b->rout, "outbox", fx->receipt_peer, e);
    if (fx->receipted_id) {
        rc |= st_key(st, b->sent, "sent", fx->receipted_id, e);
        rc |= st_key(st, b->await, "await", NULL, e);
        rc |= st_key(st, b->rcpt, "rcpt", fx->receipted_id, e);
    }
    for (size_t i = 0; i < fx->nfwd; i++)
        rc |= st_key(st, b->fwd[i], "outbox", fx->fwd_peers[i], e);
    return rc < 0 ? ERR_INVALID : 0;
}

/* numkeys and KEYS of one op into a (names kept in b). */
static int st_op_keys(store *st, const store_effect *fx, st_op_buf *b,
                      st_args *a, err_t *e)
{
    static const store_effect none;
    if (!fx)
        fx = &none;
    int rc = st_op_names(st, fx, b, e);
    if (rc < 0)
        return rc;
    snprintf(b->num[6], sizeof b->num[6], "%zu", 8 + fx->nfwd);
    st_arg_s(a, b->num[6]);
    const char *k[8] = {b->link, b->seen, b->in, b->rout, b->sent, b->await,
                        b->rcpt, b->dlq};
    for (int i = 0; i < 8; i++)
        st_arg_s(a, k[i]);
    for (size_t i = 0; i < fx->nfwd; i++)
        st_arg_s(a, b->fwd[i]);
    return 0;
}

/* ARGV 7-20 of one op: the effect's parts, "" for what is absent. */
static void st_op_fx_args(const store_effect *fx, st_op_buf *b, st_args *a)
{
    static const store_effect none;
    if (!fx)
        fx = &none;
    int dest = fx->msg_id != NULL;
    snprintf(b->num[4], sizeof b->num[4], "%lld", (long long)fx->seen_ttl_ms);
    snprintf(b->num[5], sizeof b->num[5], "%lld", (long long)
             (fx->rcpt_ttl_ms > 0 ? fx->rcpt_ttl_ms : ST_RCPT_TTL_MS));
    st_arg_s(a, st_or(fx->msg_id)), st_arg_s(a, dest ? fx->origin : "");
    st_arg_b(a, dest ? (const char *)fx->digest : "",
             dest ? STORE_DIGEST_LEN : 0);
    st_arg_b(a, dest && fx->frame ? fx->frame : "", dest ? fx->frame_n : 0);
    st_arg_b(a, dest && fx->receipt ? fx->receipt : "",
             dest && fx->receipt ? fx->receipt_n : 0);
    st_arg_s(a, b->num[4]);
    st_arg_s(a, st_or(fx->receipted_id)), st_arg_s(a, st_or(fx->receipt_from));
    st_arg_b(a, fx->rcpt ? fx->rcpt : "", fx->rcpt ? fx->rcpt_n : 0);
    st_arg_s(a, b->num[5]);
    st_arg_s(a, st_or(fx->dlq_reason)), st_arg_s(a, st_or(fx->dlq_where));
    st_arg_b(a, fx->dlq_frame ? fx->dlq_frame : "",
             fx->dlq_frame ? fx->dlq_n : 0);
    st_arg_b(a, fx->fwd ? fx->fwd : "", fx->fwd ? fx->fwd_n : 0);
}

/* Queues op as one EVALSHA. */
static int st_op_queue(store *st, const char *link_peer,
                       const store_link_op *op, st_op_buf *b, err_t *e)
{
    st_args a = {.what = b->link};
    st_arg_s(&a, "EVALSHA"), st_arg_s(&a, "");
    int rc = st_op_keys(st, op->fx, b, &a, e);
    if (rc < 0)
        return rc;
    snprintf(b->num[0], 24, "%llu", (unsigned long long)op->pos.ms);
    snprintf(b->num[1], 24, "%llu", (unsigned long long)op->pos.seq);
    snprintf(b->num[2], 24, "%llu", (unsigned long long)op->prev.ms);
    snprintf(b->num[3], 24, "%llu", (unsigned long long)op->prev.seq);
    for (int i = 0; i < 4; i++)
        st_arg_s(&a, b->num[i]);
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)st_now_ms());
    st_arg_s(&a, now), st_arg_s(&a, link_peer);
    st_op_fx_args(op->fx, b, &a);
    return st_pipe_evalsha(st, &st_lua_link, &a, e);
}

/* {status, last, dup, reuse} into res. */
static int st_op_result(store *st, const char *key, const redisReply *r,
                        store_link_result *res, err_t *e)
{
    if (r->type == REDIS_REPLY_ERROR)
        return err_set(e, ERR_IO, "redis %s: link %s: %s", st->url, key,
                       r->str);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[0]->integer < 0 || r->element[0]->integer > 2 ||
        store_pos_parse(r->element[1]->str, &res->last) < 0)
        return err_set(e, ERR_IO, "redis %s: link %s: malformed reply",
                       st->url, key);
    res->status = (store_link_status)r->element[0]->integer;
    res->dup = (int)r->element[2]->integer;
    res->reuse = (int)r->element[3]->integer;
    return 0;
}

/* Reads n replies into res. Every reply is read, even after a failure,
 * so the connection stays in step. *noscript = index of the first
 * NOSCRIPT reply (n if none): Redis lost its scripts part-way. */
static int st_batch_read(store *st, const char *key, size_t n,
                         store_link_result *res, size_t *noscript, err_t *e)
{
    int rc = 0;
    *noscript = n;
    for (size_t i = 0; i < n; i++) {
        redisReply *r;
        int rr = st_pipe_reply(st, key, &r, e);
        if (rr < 0)
            return rr; /* connection gone: nothing more to read */
        if (*noscript == n && r->type == REDIS_REPLY_ERROR &&
            strncmp(r->str, "NOSCRIPT", 8) == 0)
            *noscript = i;
        else if (*noscript == n && rc == 0)
            rc = st_op_result(st, key, r, &res[i], e);
        freeReplyObject(r);
    }
    return rc;
}

/* One pipelined round trip of at most STORE_PIPE_MAX ops. Ops after a
 * NOSCRIPT are run again once the script is reloaded: the position rule
 * makes a second run of an applied op harmless (it comes back OLD). */
static int st_batch(store *st, const char *link_peer, const store_link_op *ops,
                    size_t n, store_link_result *res, st_op_buf *b, err_t *e)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = st_script_load(st, &st_lua_link, e);
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = st_op_queue(st, link_peer, &ops[i], b, e);
        if (rc < 0) {
            st_drop(st); /* half a queue must never reach Redis */
            return rc;
        }
        size_t ns;
        if ((rc = st_batch_read(st, b->link, n, res, &ns, e)) < 0 || ns == n)
            return rc;
        st->sha[ST_LUA_LINK][0] = '\0';
        ops += ns, res += ns, n -= ns;
    }
    return err_set(e, ERR_IO, "redis %s: %s: script cache lost twice",
                   st->url, b->link);
}

int store_link_apply(store *st, const char *link_peer,
                     const store_link_op *ops, size_t n,
                     store_link_result *res, err_t *e)
{
    /* ~10 KB: too much for the stack, made once per store */
    if (!st->link_buf && !(st->link_buf = malloc(sizeof(st_op_buf))))
        return err_set(e, ERR_NOMEM, "redis %s: link apply: out of memory",
                       st->url);
    st_op_buf *b = st->link_buf;
    int rc = st_key(st, b->link, "link", link_peer, e);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if ((rc = st_fx_check(st, ops[i].fx, e)) < 0)
            err_wrap(e, "op %zu", i);
    for (size_t at = 0; rc == 0 && at < n; at += STORE_PIPE_MAX) {
        size_t k = n - at < STORE_PIPE_MAX ? n - at : STORE_PIPE_MAX;
        rc = st_batch(st, link_peer, ops + at, k, res + at, b, e);
    }
    return rc;
}

int store_link_last(store *st, const char *link_peer, store_pos *out,
                    err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "link", link_peer, e);
    if (rc < 0)
        return rc;
    st_args a = {0};
    st_arg_s(&a, "GET"), st_arg_s(&a, key);
    redisReply *r;
    if ((rc = st_cmd(st, &a, -1, &r, e)) < 0)
        return rc;
    *out = (store_pos){0, 0};
    if (r->type == REDIS_REPLY_STRING && store_pos_parse(r->str, out) < 0)
        rc = err_set(e, ERR_IO, "redis %s: %s: unreadable position \"%.40s\"",
                     st->url, key, r->str);
    else if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)
        rc = err_set(e, ERR_IO, "redis %s: %s: unexpected reply", st->url,
                     key);
    freeReplyObject(r);
    return rc;
}
