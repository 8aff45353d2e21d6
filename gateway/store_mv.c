/* store_mv: the movement ledger's writes (store_mv.h): loading what the
 * ledger must know before applying a batch, applying it (one script call
 * per event, pipelined) and submitting an event this node authored with
 * its claims. Scripts: store_mv_lua.c; reads: store_mv_query.c. */
#include "store_int.h"
#include "store_mv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MV_KEYS_BYTES (STORE_MV_NKEYS_MAX * (STORE_MV_KEY_MAX + 1))

/* ---- keys ---- */

int st_mv_key_ok(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    if (n < 3 || n > STORE_MV_KEY_MAX || (k[0] != 'c' && k[0] != 'd') ||
        k[1] != ':')
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] <= ' ' || k[i] == 0x7f)
            return 0;
    return 1;
}

int st_mv_key(store *st, char key[ST_KEY_MAX], const char *ref,
              const char *sub, err_t *e)
{
    if (!st_name_ok(ref))
        return err_set(e, ERR_INVALID, "redis %s: movement reference "
                       "\"%.64s\": want 1-64 of A-Z a-z 0-9 - _ .", st->url,
                       ref ? ref : "(null)");
    snprintf(key, ST_KEY_MAX, "%sv1:mv:%s%s", st->prefix, ref, sub);
    return 0;
}

int st_mv_join(store *st, const char *const *keys, size_t n, buf_t *out,
               err_t *e)
{
    if (n > STORE_MV_NKEYS_MAX || (n && !keys))
        return err_set(e, ERR_INVALID, "redis %s: %zu claim keys, want at "
                       "most %d", st->url, n, STORE_MV_NKEYS_MAX);
    for (size_t i = 0; i < n; i++) {
        if (!st_mv_key_ok(keys[i]))
            return err_set(e, ERR_INVALID, "redis %s: claim key \"%.128s\": "
                           "want c:... or d:..., 3-%d bytes, no space",
                           st->url, keys[i] ? keys[i] : "(null)",
                           STORE_MV_KEY_MAX);
        if ((i && buf_addc(out, ' ') < 0) || buf_adds(out, keys[i]) < 0)
            return err_set(e, ERR_NOMEM, "redis %s: claim keys: out of "
                           "memory", st->url);
    }
    return 0;
}

int store_mv_node(store *st, const char *node_id, err_t *e)
{
    size_t n = node_id ? strlen(node_id) : 0;
    if (n < 2 || n >= sizeof st->node ||
        strspn(node_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != n)
        return err_set(e, ERR_INVALID, "redis %s: node id \"%.40s\": want 2-32 "
                       "of A-Z 0-9 -", st->url, node_id ? node_id : "(null)");
    memcpy(st->node, node_id, n + 1);
    return 0;
}

/* ---- pipelined replies ---- */

/* The next pipelined reply, of type want, for command what. A Redis
 * error is ERR_IO but the reply is consumed (*out NULL), so the caller
 * can read the rest and keep the connection in step; a lost connection
 * is ERR_IO with *lost set. */
static int mv_reply(store *st, const char *what, int want, redisReply **out,
                    int *lost, err_t *e)
{
    int rc = st_pipe_reply(st, what, out, e);
    if (rc < 0) {
        *lost = 1;
        return rc;
    }
    if ((*out)->type == want)
        return 0;
    rc = err_set(e, ERR_IO, "redis %s: %s: %s", st->url, what,
                 (*out)->type == REDIS_REPLY_ERROR ? (*out)->str
                 : "unexpected reply type");
    freeReplyObject(*out);
    *out = NULL;
    return rc;
}

/* ---- load ---- */

/* Refused before anything is queued, so no half batch is ever sent. */
static int mv_load_check(store *st, const store_mv_key *k, err_t *e)
{
    char mv[ST_KEY_MAX];
    int rc = st_mv_key(st, mv, k->ref, "", e);
    if (rc == 0 && (!st_name_ok(k->id) || (k->prev && !st_name_ok(k->prev))))
        rc = err_set(e, ERR_INVALID, "redis %s: mv load %s: bad id or prev",
                     st->url, k->ref);
    return rc;
}

static int mv_load_queue(store *st, const store_mv_key *k, err_t *e)
{
    char mv[ST_KEY_MAX], ids[ST_KEY_MAX];
    st_mv_key(st, mv, k->ref, "", e);
    st_mv_key(st, ids, k->ref, ":ids", e);
    int rc;
    st_args h = {0}, s = {0}, p = {0};
    st_arg_s(&h, "HMGET"), st_arg_s(&h, mv), st_arg_s(&h, "st");
    st_arg_s(&h, "n");
    st_arg_s(&s, "SISMEMBER"), st_arg_s(&s, ids), st_arg_s(&s, k->id);
    rc = st_pipe_add(st, &h, e);
    if (rc == 0)
        rc = st_pipe_add(st, &s, e);
    if (rc == 0 && k->prev) {
        st_arg_s(&p, "SISMEMBER"), st_arg_s(&p, ids), st_arg_s(&p, k->prev);
        rc = st_pipe_add(st, &p, e);
    }
    return rc;
}

/* HMGET st n of one key into c, the state appended to buf at *off. */
static int mv_load_hash(store *st, const char *ref, const redisReply *r,
                        store_mv_cur *c, buf_t *buf, size_t *off, err_t *e)
{
    const redisReply *s = r->elements == 2 ? r->element[0] : NULL;
    const redisReply *n = r->elements == 2 ? r->element[1] : NULL;
    if (!s || (s->type != REDIS_REPLY_STRING && s->type != REDIS_REPLY_NIL))
        return err_set(e, ERR_IO, "redis %s: HMGET mv:%s: malformed reply",
                       st->url, ref);
    c->found = s->type == REDIS_REPLY_STRING;
    c->n = n->type == REDIS_REPLY_STRING ? strtoll(n->str, NULL, 10) : 0;
    *off = buf->len;
    c->state_n = c->found ? s->len : 0;
    if (c->found && buf_add(buf, s->str, s->len) < 0)
        return err_set(e, ERR_TOOBIG, "redis %s: mv:%s: state of %zu bytes "
                       "does not fit the buffer", st->url, ref, s->len);
    return 0;
}

/* Reads one key's 2 or 3 replies; every reply is read even after an
 * error (unless the connection went). */
static int mv_load_read(store *st, const store_mv_key *k, store_mv_cur *c,
                        buf_t *buf, size_t *off, int *lost, err_t *e)
{
    redisReply *r;
    int rc = mv_reply(st, "HMGET mv", REDIS_REPLY_ARRAY, &r, lost, e);
    if (rc == 0) {
        rc = mv_load_hash(st, k->ref, r, c, buf, off, e);
        freeReplyObject(r);
    }
    for (int q = 0; q < (k->prev ? 2 : 1) && !*lost; q++) {
        int rr = mv_reply(st, "SISMEMBER mv ids", REDIS_REPLY_INTEGER, &r,
                          lost, e);
        if (rr == 0 && q == 0)
            c->has_id = r->integer == 1;
        else if (rr == 0)
            c->has_prev = r->integer == 1;
        if (rr == 0)
            freeReplyObject(r);
        rc = rc < 0 ? rc : rr;
    }
    return rc;
}

int store_mv_load(store *st, const store_mv_key *keys, size_t n,
                  store_mv_cur *cur, buf_t *buf, err_t *e)
{
    size_t off[STORE_MV_BATCH];
    if (n > STORE_MV_BATCH)
        return err_set(e, ERR_INVALID, "redis %s: mv load: %zu keys, want at "
                       "most %d", st->url, n, STORE_MV_BATCH);
    int rc = 0, lost = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if ((rc = mv_load_check(st, &keys[i], e)) < 0)
            return err_wrap(e, "key %zu", i);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = mv_load_queue(st, &keys[i], e); /* fails only by dropping */
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n && !lost; i++) {
        cur[i] = (store_mv_cur){.has_prev = 1};
        int rr = mv_load_read(st, &keys[i], &cur[i], buf, &off[i], &lost, e);
        rc = rc < 0 ? rc : rr;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) /* buf may have moved */
        cur[i].state = cur[i].found ? buf->p + off[i] : NULL;
    return rc;
}

/* ---- apply ---- */

/* What is wrong with op, or NULL: refused before anything is queued. */
static const char *mv_op_bad(const store_mv_op *op)
{
    if (!st_name_ok(op->ref) || !st_name_ok(op->id))
        return "ref or id";
    if (!op->frame || !op->frame_n || !op->state || !op->state_n)
        return "frame or state (empty)";
    if (op->expect_n < 0 || op->declared_ms < 0 || op->limit_ms < 0)
        return "expect_n, declared_ms or limit_ms (negative)";
    if (!st_name_ok(op->phase_new) ||
        (op->phase_old && !st_name_ok(op->phase_old)) ||
        (op->dep && !st_name_ok(op->dep)))
        return "phase or departure name";
    if (op->limit_op < -1 || op->limit_op > 1 || op->claimwait_op < -1 ||
        op->claimwait_op > 1)
        return "limit_op or claimwait_op (want -1, 0, 1)";
    return NULL;
}

static int mv_apply_check(store *st, const store_mv_op *ops, size_t n,
                          buf_t *scratch, err_t *e)
{
    if (n > STORE_MV_BATCH)
        return err_set(e, ERR_INVALID, "redis %s: mv apply: %zu ops, want at "
                       "most %d", st->url, n, STORE_MV_BATCH);
    for (size_t i = 0; i < n; i++) {
        const char *bad = mv_op_bad(&ops[i]);
        buf_reset(scratch);
        if (bad)
            return err_set(e, ERR_INVALID, "redis %s: mv apply op %zu: bad %s",
                           st->url, i, bad);
        if (st_mv_join(st, ops[i].idx, ops[i].nidx, scratch, e) < 0)
            return err_wrap(e, "mv apply op %zu", i);
    }
    return 0;
}

/* One op's arguments, borrowed from op and b until queued. */
typedef struct mv_op_buf {
    char keys[7][ST_KEY_MAX], base[ST_KEY_MAX];
    char en[24], nn[24], decl[24], lim[24];
    buf_t idx;
} mv_op_buf;

static const char *mv_flag(int op)
{
    return op > 0 ? "1" : op < 0 ? "-1" : "0";
}

static void mv_op_args(store *st, const store_mv_op *op, mv_op_buf *b,
                       st_args *a, err_t *e)
{
    static const char *const sub[] = {"", ":log", ":ids", ":park"};
    for (int i = 0; i < 4; i++)
        st_mv_key(st, b->keys[i], op->ref, sub[i], e);
    st_key(st, b->keys[4], "mv", "all", e);
    st_key(st, b->keys[5], "mv", "limit", e);
    st_key(st, b->keys[6], "mv", "claimwait", e);
    buf_reset(&b->idx);
    st_mv_join(st, op->idx, op->nidx, &b->idx, e); /* checked before */
    snprintf(b->en, sizeof b->en, "%lld", (long long)op->expect_n);
    snprintf(b->nn, sizeof b->nn, "%lld", (long long)op->expect_n + 1);
    snprintf(b->decl, sizeof b->decl, "%lld", (long long)op->declared_ms);
    snprintf(b->lim, sizeof b->lim, "%lld", (long long)op->limit_ms);
    st_arg_s(a, "EVALSHA"), st_arg_s(a, st->sha[ST_LUA_MV_APPLY]);
    st_arg_s(a, "7");
    for (int i = 0; i < 7; i++)
        st_arg_s(a, b->keys[i]);
    st_arg_s(a, b->base), st_arg_s(a, op->ref), st_arg_s(a, op->id);
    st_arg_b(a, op->frame, op->frame_n), st_arg_s(a, b->en);
    st_arg_s(a, b->nn), st_arg_b(a, op->state, op->state_n);
    st_arg_s(a, op->phase_new), st_arg_s(a, op->dep ? op->dep : "");
    st_arg_s(a, b->decl), st_arg_b(a, b->idx.p ? b->idx.p : "", b->idx.len);
    st_arg_s(a, mv_flag(op->limit_op)), st_arg_s(a, b->lim);
    st_arg_s(a, mv_flag(op->claimwait_op)), st_arg_s(a, op->unpark ? "1" : "0");
}

enum { MV_TODO = -1, MV_NOSCRIPT = -2 };

/* One op's reply into *res (a STORE_MV_* or MV_NOSCRIPT); any other
 * reply is ERR_IO naming the event (*res stays MV_TODO). */
static int mv_apply_result(store *st, const store_mv_op *op,
                           const redisReply *r, int *res, err_t *e)
{
    if (r->type == REDIS_REPLY_INTEGER && r->integer >= 0 && r->integer <= 2)
        *res = (int)r->integer;
    else if (r->type == REDIS_REPLY_ERROR &&
             strncmp(r->str, "NOSCRIPT", 8) == 0)
        *res = MV_NOSCRIPT;
    else
        return err_set(e, ERR_IO, "redis %s: mv apply %s event %s: %s",
                       st->url, op->ref, op->id,
                       r->type == REDIS_REPLY_ERROR ? r->str
                       : "unexpected reply");
    return 0;
}

/* Queues the ops whose res is MV_TODO and reads their replies into res
 * (MV_NOSCRIPT when Redis had lost the script). */
static int mv_apply_round(store *st, const store_mv_op *ops, size_t n,
                          int *res, mv_op_buf *b, err_t *e)
{
    int rc = st_script_load(st, &st_lua_mv_apply, e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (res[i] != MV_TODO)
            continue;
        st_args a = {0};
        mv_op_args(st, &ops[i], b, &a, e);
        rc = st_pipe_add(st, &a, e); /* hiredis copies the arguments */
    }
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) { /* every reply is read, to stay in step */
        redisReply *r;
        if (res[i] != MV_TODO)
            continue;
        int rr = st_pipe_reply(st, "mv apply", &r, e);
        if (rr < 0)
            return rr;
        rr = mv_apply_result(st, &ops[i], r, &res[i], e);
        rc = rc < 0 ? rc : rr;
        freeReplyObject(r);
    }
    return rc;
}

/* After a NOSCRIPT, what runs again: the ops that did not run, and the
 * STALE ones after the first of them (stale maybe only because an
 * earlier event of their movement had not run). Returns how many. */
static size_t mv_apply_again(int *res, size_t n)
{
    size_t again = 0;
    int after = 0;
    for (size_t i = 0; i < n; i++) {
        after |= res[i] == MV_NOSCRIPT;
        if (res[i] == MV_NOSCRIPT || (after && res[i] == STORE_MV_STALE)) {
            res[i] = MV_TODO;
            again++;
        }
    }
    return again;
}

/* Runs ops (checked) to the end: a second round when Redis had lost the
 * script part-way; res gets each op's STORE_MV_*. */
static int mv_apply_run(store *st, const store_mv_op *ops, size_t n,
                        store_mv_res *res, mv_op_buf *b, err_t *e)
{
    int r[STORE_MV_BATCH], rc = 0;
    for (size_t i = 0; i < n; i++)
        r[i] = MV_TODO;
    for (int round = 0; rc == 0 && round < 2; round++) {
        if ((rc = mv_apply_round(st, ops, n, r, b, e)) < 0 ||
            !mv_apply_again(r, n))
            break;
        st->sha[ST_LUA_MV_APPLY][0] = '\0'; /* SCRIPT LOAD again */
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (r[i] < 0)
            rc = err_set(e, ERR_IO, "redis %s: mv apply: script cache lost "
                         "twice", st->url);
        else
            res[i] = (store_mv_res)r[i];
    return rc;
}

int store_mv_apply(store *st, const store_mv_op *ops, size_t n,
                   store_mv_res *res, err_t *e)
{
    mv_op_buf *b = malloc(sizeof *b); /* ~2 KB of key names */
    if (!b)
        return err_set(e, ERR_NOMEM, "redis %s: mv apply: out of memory",
                       st->url);
    buf_init(&b->idx, MV_KEYS_BYTES);
    snprintf(b->base, sizeof b->base, "%sv1:", st->prefix);
    int rc = mv_apply_check(st, ops, n, &b->idx, e);
    if (rc == 0)
        rc = mv_apply_run(st, ops, n, res, b, e);
    buf_free(&b->idx);
    free(b);
    return rc;
}

/* ---- submit ---- */

/* ERR_CONFLICT: key (c:<container> or d:<type>:<number>) is held by
 * winner. Worded for the declarant, who sees it as eportctl's answer. */
static int mv_conflict(const redisReply *key, const redisReply *w,
                       char winner[32], err_t *e)
{
    const char *k = key->str, *sep = strchr(k + 2, ':');
    if (winner) /* NULL: the caller only wants the message */
        snprintf(winner, 32, "%s", w->str);
    if (k[0] == 'c')
        return err_set(e, ERR_CONFLICT, "container %s is already declared as "
                       "movement %s", k + 2, w->str);
    if (sep)
        return err_set(e, ERR_CONFLICT, "document %.*s %s is already "
                       "declared as movement %s", (int)(sep - k - 2), k + 2,
                       sep + 1, w->str);
    return err_set(e, ERR_CONFLICT, "document %s is already declared as "
                   "movement %s", k + 2, w->str);
}

/* The submit script's reply {0}, {1} or {2, key, winner}. */
static int mv_submit_reply(store *st, const char *msg_id, const redisReply *r,
                           char winner[32], err_t *e)
{
    const redisReply *c = r->type == REDIS_REPLY_ARRAY && r->elements
                              ? r->element[0] : NULL;
    if (c && c->type == REDIS_REPLY_INTEGER && c->integer == 2 &&
        r->elements == 3 && r->element[1]->type == REDIS_REPLY_STRING &&
        r->element[2]->type == REDIS_REPLY_STRING)
        return mv_conflict(r->element[1], r->element[2], winner, e);
    if (c && c->type == REDIS_REPLY_INTEGER && c->integer >= 0 &&
        c->integer <= 1)
        return (int)c->integer;
    return err_set(e, ERR_IO, "redis %s: mv submit %s: unexpected reply",
                   st->url, msg_id);
}

/* What store_mv_submit adds to store_submit's arguments. */
typedef struct mv_sub_buf {
    st_submit_buf s;
    char base[ST_KEY_MAX], nd[24], score[24];
    buf_t keys;                 /* claim keys joined by spaces */
} mv_sub_buf;

/* ARGV 7-13 of the mv submit script: key base, node, destinations and
 * the claim part ("" op when there is none). */
static int mv_submit_more(store *st, const store_mv_claim *claim,
                          size_t ndests, mv_sub_buf *b, st_args *a, err_t *e)
{
    if (claim && (!st_name_ok(claim->ref) || claim->score < 0))
        return err_set(e, ERR_INVALID, "redis %s: mv submit: bad claim "
                       "(ref, score)", st->url);
    int rc = claim ? st_mv_join(st, claim->keys, claim->nkeys, &b->keys, e)
                   : 0;
    if (rc < 0)
        return rc;
    snprintf(b->base, sizeof b->base, "%sv1:", st->prefix);
    snprintf(b->nd, sizeof b->nd, "%zu", ndests);
    snprintf(b->score, sizeof b->score, "%lld",
             claim ? (long long)claim->score : 0LL);
    st_arg_s(a, b->base), st_arg_s(a, st->node), st_arg_s(a, b->nd);
    st_arg_s(a, claim ? claim->ref : ""), st_arg_s(a, b->score);
    st_arg_s(a, !claim ? "" : claim->add ? "1" : "0");
    st_arg_b(a, b->keys.p ? b->keys.p : "", b->keys.len);
    return 0;
}

int store_mv_submit(store *st, const char *msg_id, const void *frame,
                    size_t n, const char *const *hops, size_t nhops,
                    const char *const *dests, size_t ndests,
                    int64_t created_ms, int64_t first_retry_at_ms,
                    const store_mv_claim *claim, char winner[32], err_t *e)
{
    if (!st->node[0])
        return err_set(e, ERR_USAGE, "redis %s: mv submit: node id not set "
                       "(store_mv_node)", st->url);
    mv_sub_buf *b = malloc(sizeof *b); /* ~11 KB: off the stack */
    if (!b)
        return err_set(e, ERR_NOMEM, "redis %s: mv submit: out of memory",
                       st->url);
    buf_init(&b->keys, MV_KEYS_BYTES);
    st_args a = {.what = "mv submit"};
    st_arg_s(&a, "EVALSHA"), st_arg_s(&a, "");
    int rc = st_submit_args(st, msg_id, frame, n, hops, nhops, dests, ndests,
                            created_ms, first_retry_at_ms, 1, &b->s, &a, e);
    if (rc == 0)
        rc = mv_submit_more(st, claim, ndests, b, &a, e);
    redisReply *r = NULL;
    if (rc == 0 && (rc = st_eval(st, &st_lua_mv_submit, &a, &r, e)) < 0)
        err_wrap(e, "message %s", msg_id);
    if (rc == 0)
        rc = mv_submit_reply(st, msg_id, r, winner, e);
    if (r)
        freeReplyObject(r);
    buf_free(&b->keys);
    free(b);
    return rc;
}
