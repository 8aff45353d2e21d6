/* store_link: the receiver side of a link. Each received frame's effect
 * (deliver, forward, receipt home, dead letter) is applied by the link
 * script together with the link position check, so "handled" in
 * link:<peer> and the effect can never disagree, even across crashes and
 * two instances. One script call applies a run of up to ST_LINK_CALL_OPS
 * frames (store_link_lua.c); several calls go in one pipelined round
 * trip. */
#include "store_int.h"
#include "store_mv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_RCPT_TTL_MS (24 * 3600 * 1000LL)
#define ST_LINK_CALL_OPS 128           /* frames per script call */
#define ST_LINK_CALL_BYTES (8u << 20)  /* frame bytes per call (1 op more) */
#define ST_LINK_ROUND_BYTES (64u << 20) /* frame bytes per round trip */
#define ST_LINK_HEAD 10                /* EVALSHA sha 4 KEYS*4 ARGV*3 */
#define ST_LINK_OP_ARGS (6 + 7 + 1 + STORE_FWD_MAX + 4 + 3)
#define ST_LINK_ARGS_CAP (ST_LINK_HEAD + ST_LINK_CALL_OPS * ST_LINK_OP_ARGS)
#define ST_LINK_NUMS 10                /* numbers of one op */

enum { LK_DEST = 1, LK_HOME = 2, LK_DEAD = 4, LK_CLAIM = 8, LK_LEDGER = 16,
       LK_PERMIT = 32 };

/* One call's arguments (hiredis copies them when queued, so one buffer
 * serves every call). Made once per store: ~140 KB, too much for the
 * stack. */
typedef struct st_link_buf {
    char link[ST_KEY_MAX], in[ST_KEY_MAX], dlq[ST_KEY_MAX];
    char await[ST_KEY_MAX], base[ST_KEY_MAX], now[24];
    const char *v[ST_LINK_ARGS_CAP];  /* an op with claim keys takes more
                                         than ST_LINK_OP_ARGS: the call
                                         then holds fewer ops */
    size_t l[ST_LINK_ARGS_CAP];
    int n;
    char num[ST_LINK_CALL_OPS][ST_LINK_NUMS][24];
} st_link_buf;

static const char *st_or(const char *s) { return s ? s : ""; }

/* The claim part: only with a destination part (it is applied when the
 * message is stored), names checked as the claim scripts do. */
static int st_claim_bad(const store_effect *fx)
{
    const store_mv_claim *c = fx->claim;
    if (!c)
        return 0;
    if (!fx->msg_id || !st_name_ok(c->ref) || c->score < 0 ||
        c->nkeys > STORE_MV_NKEYS_MAX || (c->nkeys && !c->keys))
        return 1;
    for (size_t i = 0; i < c->nkeys; i++)
        if (!st_mv_key_ok(c->keys[i]))
            return 1;
    return 0;
}

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
    else if (st_claim_bad(fx))
        bad = "claim part (destination only; ref, score, keys)";
    for (size_t i = 0; !bad && i < fx->nfwd; i++)
        if (!st_name_ok(fx->fwd_peers[i]))
            bad = "forward peer name";
    if (bad)
        return err_set(e, ERR_INVALID, "redis %s: link effect: bad %s",
                       st->url, bad);
    return 0;
}

static void lk_arg(st_link_buf *b, const void *p, size_t n)
{
    b->v[b->n] = p ? p : "";
    b->l[b->n++] = p ? n : 0;
}

static void lk_str(st_link_buf *b, const char *s)
{
    lk_arg(b, st_or(s), strlen(st_or(s)));
}

/* v in decimal into slot (24 bytes), as an argument. */
static void lk_num(st_link_buf *b, char *slot, uint64_t v)
{
    char t[24];
    size_t n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    for (size_t i = 0; i < n; i++)
        slot[i] = t[n - 1 - i];
    lk_arg(b, slot, n);
}

static uint64_t lk_ttl(int64_t ms, int64_t dflt)
{
    return (uint64_t)(ms > 0 ? ms : dflt);
}

/* The parts of fx present (LK_*), and the bytes its frames take. */
static unsigned lk_parts(const store_effect *fx, size_t *bytes)
{
    *bytes = 0;
    if (!fx)
        return 0;
    unsigned p = (fx->msg_id ? LK_DEST : 0) | (fx->receipted_id ? LK_HOME : 0)
               | (fx->dlq_reason ? LK_DEAD : 0)
               | (fx->msg_id && fx->claim ? LK_CLAIM : 0)
               | (fx->msg_id && fx->ledger ? LK_LEDGER : 0)
               | (fx->msg_id && fx->permit ? LK_PERMIT : 0);
    *bytes = (p & LK_DEST ? fx->frame_n + fx->receipt_n : 0) +
             (fx->nfwd ? fx->fwd_n : 0) + (p & LK_HOME ? fx->rcpt_n : 0) +
             (p & LK_DEAD ? fx->dlq_n : 0);
    return p;
}

/* One op's arguments (the script's per-frame layout). */
static void lk_op(st_link_buf *b, const store_link_op *op, char num[][24])
{
    static const store_effect none;
    const store_effect *fx = op->fx ? op->fx : &none;
    size_t bytes;
    unsigned parts = lk_parts(op->fx, &bytes);
    lk_num(b, num[0], op->pos.ms), lk_num(b, num[1], op->pos.seq);
    lk_num(b, num[2], op->prev.ms), lk_num(b, num[3], op->prev.seq);
    lk_num(b, num[4], parts), lk_num(b, num[5], fx->nfwd);
    if (parts & LK_DEST) {
        lk_str(b, fx->msg_id), lk_str(b, fx->origin);
        lk_arg(b, fx->digest, STORE_DIGEST_LEN);
        lk_arg(b, fx->frame, fx->frame_n), lk_arg(b, fx->receipt, fx->receipt_n);
        lk_str(b, fx->receipt_peer);
        lk_num(b, num[6], (uint64_t)fx->seen_ttl_ms);
    }
    if (fx->nfwd) {
        lk_arg(b, fx->fwd, fx->fwd_n);
        for (size_t i = 0; i < fx->nfwd; i++)
            lk_str(b, fx->fwd_peers[i]);
    }
    if (parts & LK_HOME) {
        lk_str(b, fx->receipted_id), lk_str(b, fx->receipt_from);
        lk_arg(b, fx->rcpt, fx->rcpt_n);
        lk_num(b, num[7], lk_ttl(fx->rcpt_ttl_ms, ST_RCPT_TTL_MS));
    }
    if (parts & LK_DEAD) {
        lk_str(b, fx->dlq_reason), lk_str(b, fx->dlq_where);
        lk_arg(b, fx->dlq_frame, fx->dlq_n);
    }
    if (parts & LK_CLAIM) {
        const store_mv_claim *c = fx->claim;
        lk_str(b, c->ref), lk_num(b, num[8], (uint64_t)c->score);
        lk_str(b, c->add ? "1" : "0"), lk_num(b, num[9], c->nkeys);
        for (size_t i = 0; i < c->nkeys; i++)
            lk_str(b, c->keys[i]);
    }
}

/* The arguments op takes (the script's per-frame layout). */
static size_t lk_argc(const store_link_op *op)
{
    size_t bytes;
    unsigned p = lk_parts(op->fx, &bytes);
    return 6 + (p & LK_DEST ? 7 : 0) + (p & LK_HOME ? 4 : 0) +
           (p & LK_DEAD ? 3 : 0) + (op->fx && op->fx->nfwd ? 1 + op->fx->nfwd
                                    : 0) +
           (p & LK_CLAIM ? 4 + op->fx->claim->nkeys : 0);
}

/* Queues one script call of ops[0..) (at least one, at most max_bytes of
 * frames past the first); returns how many ops it holds, or ERR_*. */
static long lk_call(store *st, const char *link_peer, const store_link_op *ops,
                    size_t n, size_t max_bytes, st_link_buf *b,
                    size_t *bytes, err_t *e)
{
    b->n = 0;
    lk_str(b, "EVALSHA"), lk_str(b, st->sha[ST_LUA_LINK]), lk_str(b, "4");
    lk_str(b, b->link), lk_str(b, b->in), lk_str(b, b->dlq);
    lk_str(b, b->await), lk_str(b, b->base), lk_str(b, b->now);
    lk_str(b, link_peer);
    size_t k = 0, sum = 0;
    while (k < n && k < ST_LINK_CALL_OPS) {
        size_t opb;
        lk_parts(ops[k].fx, &opb);
        if (k > 0 && (sum + opb > ST_LINK_CALL_BYTES || sum + opb > max_bytes
                      || b->n + lk_argc(&ops[k]) > ST_LINK_ARGS_CAP))
            break;
        lk_op(b, &ops[k], b->num[k]);
        sum += opb, k++;
    }
    *bytes = sum;
    int rc = st_pipe_sendv(st, b->n, b->v, b->l, b->link, e);
    return rc < 0 ? rc : (long)k;
}

/* Results of one call's reply {first, {code...}}: its ops start at ops,
 * at most left of them; *k = how many it answered. */
static int lk_result(store *st, const char *key, const redisReply *r,
                     const store_link_op *ops, size_t left,
                     store_link_result *res, size_t *k, err_t *e)
{
    if (r->type == REDIS_REPLY_ERROR)
        return err_set(e, ERR_IO, "redis %s: link %s: %s", st->url, key,
                       r->str);
    store_pos last;
    const redisReply *codes = r->type == REDIS_REPLY_ARRAY &&
        r->elements == 2 ? r->element[1] : NULL;
    if (!codes || r->element[0]->type != REDIS_REPLY_STRING ||
        store_pos_parse(r->element[0]->str, &last) < 0 ||
        codes->type != REDIS_REPLY_ARRAY || codes->elements > left ||
        codes->elements == 0)
        return err_set(e, ERR_IO, "redis %s: link %s: malformed reply",
                       st->url, key);
    for (size_t i = 0; i < codes->elements; i++) {
        const redisReply *c = codes->element[i];
        if (c->type != REDIS_REPLY_INTEGER || c->integer < 0 ||
            c->integer >= 32 || (c->integer & 3) == 3)
            return err_set(e, ERR_IO, "redis %s: link %s: malformed reply",
                           st->url, key);
        res[i].status = (store_link_status)(c->integer & 3);
        if (res[i].status == STORE_LINK_DONE)
            last = ops[i].pos;
        res[i].last = last;
        res[i].dup = (int)(c->integer >> 2 & 3);
        res[i].reuse = (int)(c->integer >> 4 & 1);
    }
    *k = codes->elements;
    return 0;
}

/* Reads the replies of ncall queued calls covering ops[0..n). Every
 * reply is read, even after a failure, so the connection stays in step.
 * *done = ops whose results are final: all of them, or those before the
 * first NOSCRIPT (Redis lost its scripts part-way; the rest must run
 * again once reloaded, where an op that did run comes back OLD). */
static int lk_read(store *st, const char *key, size_t ncall,
                   const store_link_op *ops, size_t n,
                   store_link_result *res, size_t *done, err_t *e)
{
    int rc = 0, lost = 0;
    *done = 0;
    for (size_t c = 0; c < ncall; c++) {
        redisReply *r;
        int rr = st_pipe_reply(st, key, &r, e);
        if (rr < 0)
            return rr; /* connection gone: nothing more to read */
        st->owed -= st->owed > 0;
        size_t k = 0;
        if (!lost && r->type == REDIS_REPLY_ERROR &&
            strncmp(r->str, "NOSCRIPT", 8) == 0)
            lost = 1;
        else if (!lost && rc == 0 &&
                 (rc = lk_result(st, key, r, ops + *done, n - *done,
                                 res + *done, &k, e)) == 0)
            *done += k;
        freeReplyObject(r);
    }
    if (lost)
        st->sha[ST_LUA_LINK][0] = '\0';
    if (rc == 0 && !lost && *done != n)
        rc = err_set(e, ERR_IO, "redis %s: link %s: %zu results for %zu "
                     "ops", st->url, key, *done, n);
    return rc;
}

/* The fixed KEYS and ARGV of link_peer's calls into st's buffer. */
static int lk_keys(store *st, const char *link_peer, err_t *e)
{
    if (!st->link_buf && !(st->link_buf = malloc(sizeof(st_link_buf))))
        return err_set(e, ERR_NOMEM, "redis %s: link apply: out of memory",
                       st->url);
    st_link_buf *b = st->link_buf;
    int rc = st_key(st, b->link, "link", link_peer, e);
    if (rc < 0)
        return rc;
    st_key(st, b->in, "in", NULL, e), st_key(st, b->dlq, "dlq", NULL, e);
    st_key(st, b->await, "await", NULL, e);
    snprintf(b->base, sizeof b->base, "%sv1:", st->prefix);
    snprintf(b->now, sizeof b->now, "%lld", (long long)st_now_ms());
    return 0;
}

/* Queues calls for ops[0..n), at most max_ops of them and about
 * max_bytes of frames, and writes them out; p says what is owed. */
static int lk_send(store *st, const char *link_peer, const store_link_op *ops,
                   size_t n, size_t max_ops, size_t max_bytes,
                   store_link_pending *p, err_t *e)
{
    memset(p, 0, sizeof *p);
    snprintf(p->peer, sizeof p->peer, "%s", link_peer);
    int rc = lk_keys(st, link_peer, e);
    if (rc == 0 && !st->sha[ST_LUA_LINK][0] && st->owed)
        return err_set(e, ERR_USAGE, "redis %s: link %s: script not loaded "
                       "while replies are owed", st->url, link_peer);
    if (rc == 0)
        rc = st_script_load(st, &st_lua_link, e);
    st_link_buf *b = st->link_buf;
    size_t bytes = 0;
    while (rc == 0 && p->n < n && p->n < max_ops && bytes < max_bytes) {
        size_t cb, lim = (n < max_ops ? n : max_ops) - p->n;
        long k = lk_call(st, link_peer, ops + p->n, lim, max_bytes - bytes,
                         b, &cb, e);
        if (k < 0)
            return (int)k; /* the connection was dropped: nothing owed */
        p->n += (size_t)k, p->calls++, st->owed++, bytes += cb;
    }
    if (rc == 0)
        rc = st_pipe_flush(st, b->link, e);
    p->conn = st->conn;
    return rc;
}

/* Runs ops[0..n) to the end, a round trip at a time (nothing else owed). */
static int lk_run(store *st, const char *link_peer, const store_link_op *ops,
                  size_t n, store_link_result *res, err_t *e)
{
    int rc = 0, lost = 0;
    for (size_t at = 0; rc == 0 && at < n;) {
        store_link_pending p;
        size_t done = 0;
        rc = lk_send(st, link_peer, ops + at, n - at, STORE_PIPE_MAX,
                     ST_LINK_ROUND_BYTES, &p, e);
        if (rc == 0)
            rc = lk_read(st, ((st_link_buf *)st->link_buf)->link, p.calls,
                         ops + at, p.n, res + at, &done, e);
        if (rc == 0 && done == 0 && lost++)
            rc = err_set(e, ERR_IO, "redis %s: link %s: script cache lost "
                         "twice", st->url, link_peer);
        at += done;
    }
    return rc;
}

static int lk_check(store *st, const char *link_peer, const store_link_op *ops,
                    size_t n, err_t *e)
{
    int rc = lk_keys(st, link_peer, e);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if ((rc = st_fx_check(st, ops[i].fx, e)) < 0)
            err_wrap(e, "op %zu", i);
    return rc;
}

int store_link_apply(store *st, const char *link_peer,
                     const store_link_op *ops, size_t n,
                     store_link_result *res, err_t *e)
{
    int rc = lk_check(st, link_peer, ops, n, e);
    return rc < 0 ? rc : lk_run(st, link_peer, ops, n, res, e);
}

int store_link_send(store *st, const char *link_peer, const store_link_op *ops,
                    size_t n, store_link_pending *p, err_t *e)
{
    memset(p, 0, sizeof *p);
    int rc = lk_check(st, link_peer, ops, n, e);
    if (rc == 0 && n > 0)
        rc = lk_send(st, link_peer, ops, n, SIZE_MAX, SIZE_MAX, p, e);
    return rc;
}

int store_link_collect(store *st, const store_link_op *ops,
                       store_link_pending *p, store_link_result *res,
                       err_t *e)
{
    char key[ST_KEY_MAX];
    size_t done = 0, calls = p->calls;
    p->calls = 0;
    int rc = st_key(st, key, "link", p->peer, e);
    if (rc == 0 && calls && (p->conn != st->conn || !st->c))
        return err_set(e, ERR_IO, "redis %s: link %s: connection lost before "
                       "the results came", st->url, key);
    if (rc == 0 && calls)
        rc = lk_read(st, key, calls, ops, p->n, res, &done, e);
    if (rc < 0 || done == p->n)
        return rc;
    if (st->owed) { /* replies of later runs are in the way: give up all */
        st_drop(st);
        return err_set(e, ERR_IO, "redis %s: link %s: script cache lost",
                       st->url, key);
    }
    return lk_run(st, p->peer, ops + done, p->n - done, res + done, e);
}

int store_link_last(store *st, const char *link_peer, store_pos *out,
                    err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "link", link_peer, e);
    return rc < 0 ? rc : st_pos_get(st, key, out, e);
}
