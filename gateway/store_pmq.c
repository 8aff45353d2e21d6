/* store_pmq: the requesting side of permit operations (store_pmq.h):
 * requests queued for the loop, the permit envelopes delivered here, the
 * answers stored as evidence (one script call per answer, pipelined).
 * Reading them back, waiting, lists and a movement's permit gate:
 * store_pmq_read.c; scripts: store_pmq_lua.c. */
#include "store_pmq_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const st_script st_lua_pmq_add, st_lua_pmq_answer;

int pmq_malformed(store *st, const char *key, err_t *e)
{
    return err_set(e, ERR_IO, "redis %s: %s: malformed reply", st->url, key);
}

/* Runs a; a reply of type want, or (nil_ok) nil. */
int pmq_cmd(store *st, const st_args *a, int want, int nil_ok,
            redisReply **out, err_t *e)
{
    int rc = st_cmd(st, a, -1, out, e);
    if (rc < 0)
        return rc;
    if ((*out)->type == want || (nil_ok && (*out)->type == REDIS_REPLY_NIL))
        return 0;
    freeReplyObject(*out);
    *out = NULL;
    return pmq_malformed(st, a->v[1], e);
}

/* Runs a, whose reply is only checked. */
int pmq_do(store *st, const st_args *a, int want, err_t *e)
{
    redisReply *r;
    int rc = pmq_cmd(st, a, want, 0, &r, e);
    if (rc == 0)
        freeReplyObject(r);
    return rc;
}

/* A string reply into out[cap]; ERR_IO when it does not fit (no field
 * written here can be that long). */
int pmq_copy(store *st, const char *key, const redisReply *r,
             char *out, size_t cap, err_t *e)
{
    out[0] = '\0';
    if (r->type == REDIS_REPLY_NIL)
        return 0;
    if (r->type != REDIS_REPLY_STRING || r->len >= cap)
        return pmq_malformed(st, key, e);
    memcpy(out, r->str, r->len + 1);
    return 0;
}

int pmq_bytes(store *st, const char *key, const redisReply *r,
              buf_t *out, err_t *e)
{
    if (!out || r->type != REDIS_REPLY_STRING)
        return 0;
    if (buf_add(out, r->str, r->len) < 0)
        return err_set(e, ERR_TOOBIG, "redis %s: %s: %zu bytes do not fit "
                       "the buffer", st->url, key, r->len);
    return 0;
}

/* ---- positions ---- */

static int pmq_pos_get(store *st, const char *kind, const char *name,
                       store_pos *out, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, kind, name, e);
    return st_pos_get(st, key, out, e);
}

static int pmq_pos_set(store *st, const char *kind, const char *name,
                       store_pos pos, err_t *e)
{
    char key[ST_KEY_MAX], p[STORE_ID_MAX];
    st_key(st, key, kind, name, e);
    store_pos_format(pos, p);
    st_args a = {0};
    st_arg_s(&a, "SET"), st_arg_s(&a, key), st_arg_s(&a, p);
    return pmq_do(st, &a, REDIS_REPLY_STATUS, e);
}

int store_pmq_pos_get(store *st, store_pos *out, err_t *e)
{
    return pmq_pos_get(st, "pmreq", "pos", out, e);
}

int store_pmq_pos_set(store *st, store_pos pos, err_t *e)
{
    return pmq_pos_set(st, "pmreq", "pos", pos, e);
}

int store_pmin_pos_get(store *st, store_pos *out, err_t *e)
{
    return pmq_pos_get(st, "pm", "pos", out, e);
}

int store_pmin_pos_set(store *st, store_pos pos, err_t *e)
{
    return pmq_pos_set(st, "pm", "pos", pos, e);
}

/* ---- requests ---- */

static int pmq_add_check(store *st, const char *rid, const pm_req *q,
                         const char *for_ref, int64_t now_ms, err_t *e)
{
    if (!st_name_ok(rid) || !q || (for_ref && !st_name_ok(for_ref)) ||
        now_ms < 0)
        return err_set(e, ERR_INVALID, "redis %s: pmq add \"%.64s\": want a "
                       "request id and movement ref of 1-64 of A-Z a-z 0-9 "
                       "- _ ., a request and a time", st->url,
                       rid ? rid : "(null)");
    return 0;
}

/* The wire form of q into p and the keys named by rid and q's permit. */
static int pmq_add_prep(store *st, const char *rid, const pm_req *q,
                        buf_t *p, char k[5][ST_KEY_MAX], err_t *e)
{
    pm_req named = *q; /* the answer names it by its id: kept inside */
    named.id = rid;
    if (pm_req_encode(&named, p, e) < 0)
        return err_wrap(e, "redis %s: pmq add %s", st->url, rid);
    st_key(st, k[4], "wake", NULL, e);
    st_key(st, k[0], "pmq", rid, e);
    st_key(st, k[1], "pmreq", NULL, e);
    st_key(st, k[2], "pmwait", NULL, e);
    return st_key(st, k[3], "pmq:by", q->permit, e); /* checked: A-Z 0-9 */
}

static void pmq_add_args(const char *rid, const pm_req *q,
                         const char *for_ref, const buf_t *p,
                         char k[5][ST_KEY_MAX], const char *at, st_args *a)
{
    st_arg_s(a, "EVALSHA"), st_arg_s(a, ""), st_arg_s(a, "4");
    for (int i = 0; i < 4; i++)
        st_arg_s(a, k[i]);
    st_arg_s(a, rid), st_arg_s(a, pm_op_name(q->op)), st_arg_s(a, q->permit);
    st_arg_s(a, q->key ? q->key : ""), st_arg_s(a, for_ref ? for_ref : "");
    st_arg_b(a, p->p, p->len), st_arg_s(a, at), st_arg_s(a, k[4]);
}

int store_pmq_add(store *st, const char *rid, const pm_req *q,
                  const char *for_ref, int64_t now_ms, err_t *e)
{
    char k[5][ST_KEY_MAX], at[24];
    int rc = pmq_add_check(st, rid, q, for_ref, now_ms, e);
    if (rc < 0)
        return rc;
    buf_t p;
    buf_init(&p, PM_MAX_BYTES);
    st_args a = {.what = k[0]};
    redisReply *r = NULL;
    snprintf(at, sizeof at, "%lld", (long long)now_ms);
    if ((rc = pmq_add_prep(st, rid, q, &p, k, e)) == 0) {
        pmq_add_args(rid, q, for_ref, &p, k, at, &a);
        rc = st_eval(st, &st_lua_pmq_add, &a, &r, e);
    }
    if (rc == 0 && r->type != REDIS_REPLY_INTEGER)
        rc = pmq_malformed(st, k[0], e);
    else if (rc == 0)
        rc = r->integer == 1; /* queued before */
    if (r)
        freeReplyObject(r);
    buf_free(&p);
    return rc;
}

typedef struct pmq_req_cb {
    store_pmq_req_fn fn;
    void *ctx;
} pmq_req_cb;

/* One XRANGE entry of v1:pmreq for fn. */
static int pmq_req_entry(store *st, const char *key, const redisReply *en,
                         void *arg, err_t *e)
{
    const pmq_req_cb *c = arg;
    const redisReply *fields, *rid, *q;
    store_pos p;
    int rc = st_entry(st, key, en, &fields, e);
    if (rc < 0)
        return rc;
    const char *sid = en->element[0]->str;
    if (store_pos_parse(sid, &p) < 0)
        return err_set(e, ERR_IO, "redis %s: %s: bad stream id %s", st->url,
                       key, sid);
    if (!(rid = st_field(fields, "rid")) || !(q = st_field(fields, "q")))
        return err_set(e, ERR_INVALID, "redis %s: %s entry %s: a field of "
                       "v1 is missing", st->url, key, sid);
    if (c->fn(c->ctx, p, rid->str, q->str, q->len, e) < 0)
        return err_wrap(e, "%s entry %s", key, sid);
    return 0;
}

int store_pmq_after(store *st, store_pos after, size_t count,
                    store_pmq_req_fn fn, void *ctx, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, "pmreq", NULL, e);
    pmq_req_cb c = {fn, ctx};
    return st_xrange_each(st, key, after, count, pmq_req_entry, &c, e);
}

/* ---- delivered permit envelopes ---- */

int store_pmin_after(store *st, store_pos after, size_t count,
                     store_in_fn fn, void *ctx, err_t *e)
{
    return st_in_after(st, "pmin", after, count, fn, ctx, e);
}

int store_pmin_add(store *st, const char *id, const char *origin,
                   const void *frame, size_t n, err_t *e)
{
    char key[ST_KEY_MAX];
    st_key(st, key, "pmin", NULL, e);
    if (!id || !*id || !origin || !*origin || !frame || !n)
        return err_set(e, ERR_INVALID, "redis %s: %s: want an id, an origin "
                       "and a frame", st->url, key);
    st_args a = {0};
    st_arg_s(&a, "XADD"), st_arg_s(&a, key), st_arg_s(&a, "*");
    st_arg_s(&a, "v"), st_arg_s(&a, "1"), st_arg_s(&a, "f");
    st_arg_b(&a, frame, n), st_arg_s(&a, "id"), st_arg_s(&a, id);
    st_arg_s(&a, "origin"), st_arg_s(&a, origin);
    return pmq_do(st, &a, REDIS_REPLY_STRING, e);
}

/* ---- answers ---- */

/* Markers in store_pmq_res.rc while a batch runs (never returned). */
enum { PQ_TODO = 1000, PQ_NOSCRIPT };

/* One answer's arguments; hiredis copies them when queued, so one serves
 * the whole batch. */
typedef struct pmq_ans_buf {
    char keys[3][ST_KEY_MAX], base[ST_KEY_MAX];
    char now[24], at[24], keep[24], ttl[24];
} pmq_ans_buf;

/* Refused before anything is queued, so no half batch is ever sent: a
 * caller's mistake, not the wire's (a rid that cannot be a key name is
 * no request of ours: ERR_NOTFOUND for that answer). */
static int pmq_ans_check(store *st, const store_pmq_ans *a, size_t n,
                         store_pmq_res *res, err_t *e)
{
    if (n > STORE_PMQ_BATCH || (n && (!a || !res)))
        return err_set(e, ERR_INVALID, "redis %s: pmq answer: %zu answers "
                       "(want at most %d) or no array", st->url, n,
                       STORE_PMQ_BATCH);
    for (size_t i = 0; i < n; i++) {
        const store_pmq_ans *x = &a[i];
        if (!x->rid || !x->ans || !x->payload || !x->payload_n ||
            (!x->frame && x->frame_n) || !x->frame != !x->frame_id ||
            (x->frame_id && !st_name_ok(x->frame_id)) ||
            (x->ans->req && strcmp(x->ans->req, x->rid)))
            return err_set(e, ERR_INVALID, "redis %s: pmq answer %zu: want "
                           "rid (= ans->req), ans and payload, a frame with "
                           "its id", st->url, i);
        res[i] = (store_pmq_res){.rc = PQ_TODO};
        if (!st_name_ok(x->rid))
            res[i].rc = ERR_NOTFOUND, snprintf(res[i].msg, sizeof res[i].msg,
                "request \"%.64s\": no such request here", x->rid);
    }
    return 0;
}

/* The codes a home never sends (forged, home-unreachable) are this
 * node's own verdicts, not the home's view of the permit: they end the
 * request but leave the permit's newest answer as it was. */
static int pmq_cacheable(pm_code c)
{
    return c != PM_C_FORGED && c != PM_C_UNREACHABLE;
}

static void pmq_ans_args(store *st, const store_pmq_ans *x, pmq_ans_buf *b,
                         st_args *a, err_t *e)
{
    const pm_ans *s = x->ans;
    st_key(st, b->keys[0], "pmq", x->rid, e);
    st_key(st, b->keys[1], "pmwait", NULL, e);
    st_key(st, b->keys[2], "pmdone", x->rid, e);
    snprintf(b->at, sizeof b->at, "%llu", (unsigned long long)s->at_ms);
    st_arg_s(a, "EVALSHA"), st_arg_s(a, st->sha[ST_LUA_PMQ_ANSWER]);
    st_arg_s(a, "3");
    for (int i = 0; i < 3; i++)
        st_arg_s(a, b->keys[i]);
    st_arg_s(a, b->base), st_arg_s(a, x->rid), st_arg_s(a, pm_op_name(s->op));
    st_arg_s(a, s->permit ? s->permit : ""), st_arg_s(a, s->key ? s->key : "");
    st_arg_s(a, pm_code_name(s->code)), st_arg_b(a, x->payload, x->payload_n);
    st_arg_s(a, x->frame_id ? x->frame_id : ""), st_arg_s(a, b->now);
    st_arg_s(a, b->at), st_arg_s(a, b->keep), st_arg_s(a, b->ttl);
    st_arg_s(a, pmq_cacheable(s->code) ? "1" : "0");
}

/* {2, field, held, got} into res's message. */
static void pmq_conflict(const char *rid, const redisReply *r,
                         store_pmq_res *res)
{
    const redisReply *const *el = (const redisReply *const *)r->element;
    int ok = r->elements == 4 && el[1]->type == REDIS_REPLY_STRING &&
             el[2]->type == REDIS_REPLY_STRING &&
             el[3]->type == REDIS_REPLY_STRING;
    res->rc = ERR_CONFLICT;
    snprintf(res->msg, sizeof res->msg, "answer to request %s names %s "
             "\"%.70s\", the request \"%.70s\"", rid, ok ? el[1]->str : "?",
             ok ? el[3]->str : "?", ok ? el[2]->str : "?");
}

/* One answer's reply into res (or PQ_NOSCRIPT); anything else is ERR_IO
 * naming the request (res->rc stays PQ_TODO). */
static int pmq_ans_result(store *st, const char *rid, const redisReply *r,
                          store_pmq_res *res, err_t *e)
{
    long long code = r->type == REDIS_REPLY_ARRAY && r->elements &&
                     r->element[0]->type == REDIS_REPLY_INTEGER
                     ? r->element[0]->integer : -9;
    const redisReply *f = code == 0 && r->elements == 2 ? r->element[1] : NULL;
    if (f && f->type == REDIS_REPLY_STRING && f->len < sizeof res->for_ref)
        res->rc = 0, memcpy(res->for_ref, f->str, f->len + 1);
    else if (code == 1)
        res->rc = 1;
    else if (code == -1)
        res->rc = ERR_NOTFOUND, snprintf(res->msg, sizeof res->msg,
            "request %s: no such request here (never queued, or expired)",
            rid);
    else if (code == 2)
        pmq_conflict(rid, r, res);
    else if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8))
        res->rc = PQ_NOSCRIPT;
    else
        return err_set(e, ERR_IO, "redis %s: pmq answer %s: %s", st->url, rid,
                       r->type == REDIS_REPLY_ERROR ? r->str
                       : "unexpected reply");
    return 0;
}

/* The envelope answers[i] names, queued before the first of its
 * answers: once per batch envelope, not once per answer. */
static int pmq_frame_add(store *st, const store_pmq_ans *x,
                         const pmq_ans_buf *b, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "pmf", x->frame_id, e);
    st_args a = {0};
    st_arg_s(&a, "SET"), st_arg_s(&a, key), st_arg_b(&a, x->frame, x->frame_n);
    st_arg_s(&a, "PX"), st_arg_s(&a, b->keep);
    return rc < 0 ? rc : st_pipe_add(st, &a, e);
}

/* Queues the answers whose rc is PQ_TODO (each new frame first) and reads
 * their replies; every reply is read, to keep the connection in step. */
static int pmq_ans_round(store *st, const store_pmq_ans *a, size_t n,
                         store_pmq_res *res, pmq_ans_buf *b, err_t *e)
{
    unsigned char setf[STORE_PMQ_BATCH] = {0};
    const char *last = NULL;
    int rc = st_script_load(st, &st_lua_pmq_answer, e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        st_args x = {0};
        if (res[i].rc != PQ_TODO)
            continue;
        if (a[i].frame_id && (!last || strcmp(last, a[i].frame_id))) {
            setf[i] = 1, last = a[i].frame_id;
            if ((rc = pmq_frame_add(st, &a[i], b, e)) < 0)
                break;
        }
        pmq_ans_args(st, &a[i], b, &x, e);
        rc = st_pipe_add(st, &x, e);
    }
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        redisReply *r;
        if (res[i].rc != PQ_TODO)
            continue;
        int rr = setf[i] ? st_pipe_reply(st, "pmq frame", &r, e) : 0;
        if (rr < 0)
            return rr;
        if (setf[i] && r->type == REDIS_REPLY_ERROR && rc == 0)
            rc = err_set(e, ERR_IO, "redis %s: pmq frame %s: %s", st->url,
                         a[i].frame_id, r->str);
        if (setf[i])
            freeReplyObject(r);
        rr = st_pipe_reply(st, "pmq answer", &r, e);
        if (rr < 0)
            return rr; /* the connection went: no reply will come */
        rr = pmq_ans_result(st, a[i].rid, r, &res[i], e);
        rc = rc < 0 ? rc : rr;
        freeReplyObject(r);
    }
    return rc;
}

/* After a NOSCRIPT (Redis lost its scripts part-way), what runs again:
 * each answer stands alone, so only those that did not run. */
static size_t pmq_ans_again(store_pmq_res *res, size_t n)
{
    size_t again = 0;
    for (size_t i = 0; i < n; i++)
        if (res[i].rc == PQ_NOSCRIPT)
            res[i].rc = PQ_TODO, again++;
    return again;
}

int store_pmq_answer_many(store *st, const store_pmq_ans *a, size_t n,
                          store_pmq_res *res, err_t *e)
{
    int rc = pmq_ans_check(st, a, n, res, e);
    if (rc < 0 || n == 0)
        return rc;
    pmq_ans_buf b;
    snprintf(b.base, sizeof b.base, "%sv1:", st->prefix);
    snprintf(b.now, sizeof b.now, "%lld", (long long)st_now_ms());
    snprintf(b.keep, sizeof b.keep, "%lld", (long long)STORE_PMQ_KEEP_MS);
    snprintf(b.ttl, sizeof b.ttl, "%lld", (long long)STORE_PMQ_DONE_TTL_MS);
    for (int round = 0; rc == 0 && round < 2; round++) {
        if ((rc = pmq_ans_round(st, a, n, res, &b, e)) < 0 ||
            !pmq_ans_again(res, n))
            return rc;
        st->sha[ST_LUA_PMQ_ANSWER][0] = '\0'; /* SCRIPT LOAD again */
    }
    return rc < 0 ? rc : err_set(e, ERR_IO, "redis %s: pmq answer: script "
                                 "cache lost twice", st->url);
}

