/* store_pm: the permit ledger at its home (store_pm.h): batches of
 * operations and expiries, each one script (store_pm_lua.c), and what
 * every script call of the ledger needs. Issuing, the issuer's acts and
 * the reads: store_pm_query.c. The scripts take hundreds of arguments
 * (64 lines, 256 operations), more than an st_args holds, so they go
 * out through st_pipe_sendv from a pm_av. */
#include "store_pm_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PM_LINE_TXT 56      /* "<line>:<qty>:<value>," of one line */

/* ---- arguments ---- */

int store_pm__av_init(store *st, pm_av *a, int cap, size_t txt_room,
                      err_t *e)
{
    *a = (pm_av){.cap = cap, .room = txt_room, .n = 2};
    a->v = malloc((size_t)cap * sizeof *a->v);
    a->l = malloc((size_t)cap * sizeof *a->l);
    a->txt = malloc(txt_room);
    if (a->v && a->l && a->txt)
        return 0;
    store_pm__av_free(a);
    return err_set(e, ERR_NOMEM, "redis %s: permits: out of memory",
                   st->url);
}

void store_pm__av_free(pm_av *a)
{
    free(a->v);
    free(a->l);
    free(a->txt);
    a->v = NULL, a->l = NULL, a->txt = NULL;
}

void store_pm__av_b(pm_av *a, const void *p, size_t n)
{
    if (a->n >= a->cap) {
        a->over = 1;
        return;
    }
    a->v[a->n] = p;
    a->l[a->n++] = n;
}

void store_pm__av_s(pm_av *a, const char *s)
{
    store_pm__av_b(a, s ? s : "", s ? strlen(s) : 0);
}

/* The argument being formatted starts at txt + used - l[n]. */
void store_pm__av_open(pm_av *a)
{
    store_pm__av_b(a, a->txt + a->used, 0);
}

void store_pm__av_cat(pm_av *a, const char *fmt, ...)
{
    va_list ap;
    size_t room = a->room - a->used;
    va_start(ap, fmt);
    int k = vsnprintf(a->txt + a->used, room, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= room || a->over) {
        a->over = 1;
        return;
    }
    a->used += (size_t)k;
    a->l[a->n - 1] += (size_t)k;
}

/* Formatted arguments are NUL-separated in txt (for messages). */
void store_pm__av_close(pm_av *a)
{
    if (a->used < a->room)
        a->txt[a->used++] = '\0';
    else
        a->over = 1;
}

void store_pm__av_u(pm_av *a, uint64_t v)
{
    store_pm__av_open(a);
    store_pm__av_cat(a, "%llu", (unsigned long long)v);
    store_pm__av_close(a);
}

void store_pm__av_i(pm_av *a, int64_t v)
{
    store_pm__av_open(a);
    store_pm__av_cat(a, "%lld", (long long)v);
    store_pm__av_close(a);
}

static int pm__send(store *st, pm_av *a, const char *what, redisReply **out,
                    err_t *e)
{
    int rc = st_pipe_sendv(st, a->n, a->v, a->l, what, e);
    return rc < 0 ? rc : st_pipe_reply(st, what, out, e);
}

int store_pm__eval(store *st, const st_script *s, pm_av *a, const char *what,
                   redisReply **out, err_t *e)
{
    *out = NULL;
    if (a->over)
        return err_set(e, ERR_TOOBIG, "redis %s: %s: arguments do not fit",
                       st->url, what);
    if (st->owed)
        return err_set(e, ERR_USAGE, "redis %s: %s: link replies still owed "
                       "on this connection", st->url, what);
    int rc = st_script_load(st, s, e);
    a->v[0] = "EVALSHA", a->l[0] = 7;
    a->v[1] = st->sha[s->slot], a->l[1] = strlen(st->sha[s->slot]);
    if (rc == 0)
        rc = pm__send(st, a, what, out, e);
    if (rc == 0 && (*out)->type == REDIS_REPLY_ERROR &&
        !strncmp((*out)->str, "NOSCRIPT", 8)) { /* Redis restarted */
        freeReplyObject(*out);
        st->sha[s->slot][0] = '\0';
        a->v[0] = "EVAL", a->l[0] = 4, a->v[1] = s->src;
        a->l[1] = strlen(s->src);
        rc = pm__send(st, a, what, out, e);
    }
    if (rc == 0 && (*out)->type == REDIS_REPLY_ERROR) {
        rc = err_set(e, ERR_IO, "redis %s: %s: %s", st->url, what,
                     (*out)->str);
        freeReplyObject(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- keys ---- */

void store_pm__base(store *st, char out[ST_KEY_MAX])
{
    snprintf(out, ST_KEY_MAX, "%sv1:pm:", st->prefix);
}

int store_pm__key(store *st, char out[ST_KEY_MAX], const char *id,
                  const char *sub, err_t *e)
{
    err_t why;
    if (pm_id_check(id, &why) < 0)
        return err_set(e, ERR_INVALID, "redis %s: %s", st->url, why.msg);
    snprintf(out, ST_KEY_MAX, "%sv1:pm:%s%s", st->prefix, id, sub);
    return 0;
}

int store_pm__token_ok(const char *s)
{
    size_t n = s ? strnlen(s, PM_KEY_MAX + 1) : 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return 0;
    return n >= 1 && n <= PM_KEY_MAX;
}

void store_pm__head(store *st, pm_av *a, char base[ST_KEY_MAX],
                    int64_t now_ms)
{
    store_pm__base(st, base);
    store_pm__av_s(a, "0");
    store_pm__av_s(a, base);
    store_pm__av_i(a, now_ms);
    store_pm__av_u(a, STORE_PM_HIST_CAP);
}

/* ---- expiry ---- */

int store_pm_expire(store *st, int64_t now_ms, size_t max, err_t *e)
{
    char base[ST_KEY_MAX], what[ST_KEY_MAX + 16];
    pm_av a;
    int rc = store_pm__av_init(st, &a, 8, 64, e);
    if (rc < 0)
        return rc;
    store_pm__head(st, &a, base, now_ms);
    store_pm__av_u(&a, max ? max : 1);
    snprintf(what, sizeof what, "pm expire %sexp", base);
    redisReply *r;
    if ((rc = store_pm__eval(st, &st_lua_pm_expire, &a, what, &r, e)) == 0) {
        rc = r->type == REDIS_REPLY_INTEGER && r->integer >= 0
                 ? (int)r->integer
                 : err_set(e, ERR_IO, "redis %s: %s: unexpected reply",
                           st->url, what);
        freeReplyObject(r);
    }
    store_pm__av_free(&a);
    return rc;
}

/* ---- operations ---- */


/* Why q is a bad request (into why), or 0. Amounts and their sums stay
 * within 2^53 so that the script's sums are exact. */
static int pm__req_bad(const pm_req *q, err_t *why)
{
    if (pm_req_validate(q, why) < 0)
        return 1;
    uint64_t sq = 0, sv = 0;
    for (uint32_t i = 0; i < q->nlines; i++) {
        if (q->lines[i].qty > STORE_PM_AMOUNT_MAX ||
            q->lines[i].value > STORE_PM_AMOUNT_MAX)
            return err_set(why, ERR_INVALID, "line %u: an amount above 2^53 "
                           "thousandths", q->lines[i].line), 1;
        sq += q->lines[i].qty, sv += q->lines[i].value;
    }
    if (sq > STORE_PM_AMOUNT_MAX || sv > STORE_PM_AMOUNT_MAX)
        return err_set(why, ERR_INVALID, "amounts adding up past 2^53 "
                       "thousandths"), 1;
    return 0;
}

/* "<line>:<qty>:<value>,..." by line number: one spelling per request,
 * what a retry under the same key is compared with. */
static void pm__lines_arg(pm_av *a, const pm_req *q)
{
    uint32_t ord[PM_LINES_MAX];
    uint32_t n = q->op == PM_OP_RESERVE || q->op == PM_OP_RETURN ? q->nlines : 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = i;
        for (; j > 0 && q->lines[ord[j - 1]].line > q->lines[i].line; j--)
            ord[j] = ord[j - 1];
        ord[j] = i;
    }
    store_pm__av_open(a);
    for (uint32_t i = 0; i < n; i++) {
        const pm_amount *l = &q->lines[ord[i]];
        store_pm__av_cat(a, "%s%u:%llu:%llu", i ? "," : "", l->line,
                         (unsigned long long)l->qty,
                         (unsigned long long)l->value);
    }
    store_pm__av_close(a);
}

static void pm__op_args(pm_av *a, const store_pm_op *op)
{
    const pm_req *q = op->q;
    store_pm__av_s(a, pm_op_name(q->op)), store_pm__av_s(a, q->permit);
    store_pm__av_s(a, q->key), pm__lines_arg(a, q);
    store_pm__av_s(a, q->holder), store_pm__av_s(a, op->req_id);
    store_pm__av_s(a, op->by);
}

static int pm__nomem(err_t *e)
{
    return err_set(e, ERR_NOMEM, "permits: answers: arena full");
}

static const char *pm__dup(arena_t *a, const char *s, size_t n)
{
    return s ? arena_strndup(a, s, n) : NULL;
}

/* The answer's head, from the request: copied, the caller's ops may go. */
static int pm__ans_head(const store_pm_op *op, uint64_t now, arena_t *a,
                        pm_ans *out)
{
    const pm_req *q = op->q;
    memset(out, 0, sizeof *out);
    out->op = q->op, out->at_ms = now;
    out->req = pm__dup(a, op->req_id, strlen(op->req_id));
    out->permit = q->permit ? pm__dup(a, q->permit, strlen(q->permit)) : NULL;
    out->key = q->key ? pm__dup(a, q->key, strlen(q->key)) : NULL;
    return out->req && (out->permit || !q->permit) && (out->key || !q->key)
               ? 0 : -1;
}

/* A refusal of the request itself; the text kept to printable ASCII, as
 * it may quote what the request held. */
static int pm__ans_bad(const store_pm_op *op, const err_t *why, uint64_t now,
                       arena_t *a, pm_ans *out)
{
    if (pm__ans_head(op, now, a, out) < 0)
        return -1;
    size_t n = strnlen(why->msg, PM_TEXT_MAX);
    char *t = arena_strndup(a, why->msg, n);
    for (size_t i = 0; t && i < n; i++)
        if ((unsigned char)t[i] < ' ' || (unsigned char)t[i] >= 0x7f)
            t[i] = '?';
    out->code = PM_C_BAD_REQUEST, out->text = t;
    return t ? 0 : -1;
}

/* A word the script answers, static when it is a known one. */
static const char *pm__word(arena_t *a, const redisReply *s)
{
    static const char *const known[] = {"valid", "suspended", "revoked",
        "exhausted", "expired", "reserved", "confirmed", "cancelled",
        "single_use", "quantity", "value", "per_line", NULL};
    if (!s->len)
        return "";
    for (size_t i = 0; known[i]; i++)
        if (!strcmp(s->str, known[i]))
            return known[i];
    return pm__dup(a, s->str, s->len);
}

/* "<bucket>:<qty>:<value>,..." into out->left. */
static int pm__left(const char *s, pm_ans *out)
{
    while (*s && out->nleft < PM_LINES_MAX) {
        unsigned b;
        unsigned long long q, v;
        int used = 0;
        if (sscanf(s, "%u:%llu:%llu%n", &b, &q, &v, &used) != 3 ||
            (s[used] && s[used] != ','))
            return -1;
        out->left[out->nleft++] = (pm_amount){b, q, v};
        s += used + (s[used] == ',');
    }
    return *s ? -1 : 0;
}

/* One op's reply {code, text, status, kind, usage, from, to, rsv, left}
 * into out (its head set); 1 when malformed, -1 out of memory. */
static int pm__ans_read(const redisReply *r, arena_t *a, pm_ans *out)
{
    const char *w[9];
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 9)
        return 1;
    for (size_t i = 0; i < 9; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING)
            return 1;
        if (!(w[i] = pm__word(a, r->element[i])))
            return -1;
    }
    if (pm_code_parse(w[0], &out->code) < 0 || pm__left(w[8], out) < 0)
        return 1;
    out->text = out->code == PM_C_OK ? NULL
                : *w[1] ? w[1] : pm_code_why(out->code);
    out->status = *w[2] ? w[2] : NULL;
    out->kind = *w[3] ? w[3] : NULL, out->usage = *w[4] ? w[4] : NULL;
    out->from_ms = strtoull(w[5], NULL, 10);
    out->to_ms = strtoull(w[6], NULL, 10);
    out->rsv = *w[7] ? w[7] : NULL;
    return 0;
}

static int pm__apply_reply(store *st, const redisReply *r,
                           const store_pm_op *ops, const size_t *sent,
                           size_t ns, uint64_t now, arena_t *a, pm_ans *out,
                           err_t *e)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != ns)
        return err_set(e, ERR_IO, "redis %s: pm apply: %zu answers for %zu "
                       "operations", st->url, r->elements, ns);
    for (size_t k = 0; k < ns; k++) {
        size_t i = sent[k];
        if (pm__ans_head(&ops[i], now, a, &out[i]) < 0)
            return pm__nomem(e);
        int rc = pm__ans_read(r->element[k], a, &out[i]);
        if (rc < 0)
            return pm__nomem(e);
        if (rc > 0)
            return err_set(e, ERR_IO, "redis %s: pm apply: operation %zu "
                           "(%s): malformed answer", st->url, i,
                           ops[i].q->permit);
    }
    return 0;
}

/* Bad requests answered here; the others' indexes into sent. Refuses the
 * call (nothing applied) for what only a caller's bug can give. */
static int pm__apply_sort(store *st, const store_pm_op *ops, size_t n,
                          uint64_t now, arena_t *a, pm_ans *out,
                          size_t *sent, size_t *ns, size_t *room, err_t *e)
{
    *ns = 0, *room = 256;
    for (size_t i = 0; i < n; i++) {
        err_t why;
        if (!ops[i].q || !ops[i].req_id || !*ops[i].req_id || !ops[i].by ||
            !*ops[i].by)
            return err_set(e, ERR_INVALID, "redis %s: pm apply: operation "
                           "%zu: no request, request id or requester",
                           st->url, i);
        if (!pm__req_bad(ops[i].q, &why)) {
            sent[(*ns)++] = i;
            *room += PM_LINE_TXT * ops[i].q->nlines + 8;
        } else if (pm__ans_bad(&ops[i], &why, now, a, &out[i]) < 0) {
            return pm__nomem(e);
        }
    }
    return 0;
}

int store_pm_apply(store *st, const store_pm_op *ops, size_t n,
                   int64_t now_ms, int64_t ttl_ms, arena_t *a, pm_ans *out,
                   err_t *e)
{
    char base[ST_KEY_MAX], what[ST_KEY_MAX + 16];
    size_t sent[STORE_PM_BATCH], ns, room;
    if (n > STORE_PM_BATCH || ttl_ms <= 0 || now_ms <= 0)
        return err_set(e, ERR_INVALID, "redis %s: pm apply: %zu operations "
                       "(at most %d), ttl %lld ms, now %lld: want a ttl and "
                       "a time above 0", st->url, n, STORE_PM_BATCH,
                       (long long)ttl_ms, (long long)now_ms);
    int rc = pm__apply_sort(st, ops, n, (uint64_t)now_ms, a, out, sent, &ns,
                            &room, e);
    pm_av av;
    if (rc < 0 || ns == 0 ||
        (rc = store_pm__av_init(st, &av, 8 + 7 * (int)ns, room, e)) < 0)
        return rc;
    store_pm__head(st, &av, base, now_ms);
    store_pm__av_i(&av, now_ms + ttl_ms);
    for (size_t k = 0; k < ns; k++)
        pm__op_args(&av, &ops[sent[k]]);
    snprintf(what, sizeof what, "pm apply %s*", base);
    redisReply *r;
    if ((rc = store_pm__eval(st, &st_lua_pm_apply, &av, what, &r, e)) == 0) {
        rc = pm__apply_reply(st, r, ops, sent, ns, (uint64_t)now_ms, a, out,
                             e);
        freeReplyObject(r);
    }
    store_pm__av_free(&av);
    return rc;
}
