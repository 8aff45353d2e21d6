/* store_pm_query: the permit ledger's small writes, issuing and the
 * issuer's acts (one script each, store_pm_lua.c), and its reads: a
 * permit as its home keeps it, the list, the history, a reservation. */
#include "store_pm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define PM_WHY_MAX 400      /* a status change's reason: fits an answer's
                               text with what the script puts before it */

/* ---- issue ---- */

static int pm__among(const char *s, const char *const *set)
{
    for (; s && *set; set++)
        if (!strcmp(s, *set))
            return 1;
    return 0;
}

static const char *const pm__usages[] = {"single_use", "quantity", "value",
                                         "per_line", NULL};
static const char *const pm__issuer[] = {"valid", "suspended", "revoked",
                                         NULL};

/* What p cannot be issued for, or NULL. */
static const char *pm__permit_bad(const pm_permit *p)
{
    uint64_t sq = 0, sv = 0;
    if (!p->kind || !*p->kind || !pm__among(p->usage, pm__usages))
        return "kind or usage";
    if (p->status && !pm__among(p->status, pm__issuer))
        return "status (want valid, suspended or revoked)";
    if (p->nlines < 1 || p->nlines > PM_LINES_MAX || p->to_ms < p->from_ms)
        return "lines (1-64) or validity (to before from)";
    for (uint32_t i = 0; i < p->nlines; i++) {
        const pm_line *l = &p->lines[i];
        if (!l->line || l->qty > STORE_PM_AMOUNT_MAX ||
            l->value > STORE_PM_AMOUNT_MAX)
            return "a line number (0) or an amount (above 2^53)";
        for (uint32_t j = 0; j < i; j++)
            if (p->lines[j].line == l->line)
                return "line numbers (one twice)";
        sq += l->qty, sv += l->value;
    }
    if (sq > STORE_PM_AMOUNT_MAX || sv > STORE_PM_AMOUNT_MAX)
        return "amounts (their sum above 2^53)";
    return NULL;
}

/* Bucket 0's totals: what usage draws the permit as a whole against. */
static void pm__totals(const pm_permit *p, uint64_t *q0, uint64_t *v0)
{
    *q0 = *v0 = 0;
    for (uint32_t i = 0; i < p->nlines; i++)
        *q0 += p->lines[i].qty, *v0 += p->lines[i].value;
    if (!strcmp(p->usage, "single_use"))
        *q0 = 1000, *v0 = 0; /* one use, as a whole citation draws it */
    else if (!strcmp(p->usage, "quantity"))
        *v0 = 0;
    else if (!strcmp(p->usage, "value"))
        *q0 = 0;
}

static void pm__pair(pm_av *a, const char *name, uint32_t line,
                     const char *s)
{
    store_pm__av_open(a);
    store_pm__av_cat(a, "%s%u", name, line);
    store_pm__av_close(a);
    store_pm__av_s(a, s);
}

static void pm__pair_u(pm_av *a, const char *name, uint32_t line, uint64_t v)
{
    store_pm__av_open(a);
    store_pm__av_cat(a, "%s%u", name, line);
    store_pm__av_close(a);
    store_pm__av_u(a, v);
}

/* The field value pairs of what p is: compared when it exists. */
static void pm__issue_fields(const pm_permit *p, pm_av *a)
{
    uint64_t q0, v0;
    pm__totals(p, &q0, &v0);
    const char *s[][2] = {{"number", p->number}, {"kind", p->kind},
                          {"usage", p->usage}, {"authority", p->authority},
                          {"region", p->region}, {"holder", p->holder_id},
                          {"holder_name", p->holder_name}};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        store_pm__av_s(a, s[i][0]), store_pm__av_s(a, s[i][1]);
    store_pm__av_s(a, "from"), store_pm__av_u(a, p->from_ms);
    store_pm__av_s(a, "to"), store_pm__av_u(a, p->to_ms);
    store_pm__av_s(a, "nl"), store_pm__av_u(a, p->nlines);
    store_pm__av_s(a, "q0"), store_pm__av_u(a, q0);
    store_pm__av_s(a, "v0"), store_pm__av_u(a, v0);
    store_pm__av_s(a, "ln"), store_pm__av_open(a);
    for (uint32_t i = 0; i < p->nlines; i++)
        store_pm__av_cat(a, i ? ",%u" : "%u", p->lines[i].line);
    store_pm__av_close(a);
    for (uint32_t i = 0; i < p->nlines; i++) {
        const pm_line *l = &p->lines[i];
        pm__pair(a, "hs", l->line, l->hs), pm__pair(a, "desc", l->line,
                                                      l->desc);
        pm__pair(a, "un", l->line, l->unit), pm__pair(a, "cu", l->line,
                                                        l->currency);
        pm__pair_u(a, "q", l->line, l->qty), pm__pair_u(a, "v", l->line,
                                                          l->value);
    }
}

/* The people's word for a field that differs. */
static const char *pm__what(const char *field)
{
    static const char *const m[][2] = {
        {"kind", "kind"}, {"usage", "usage"}, {"authority", "authority"},
        {"holder", "holder"}, {"holder_name", "holder"}, {"from",
        "validity"}, {"to", "validity"}, {"number", "number"}, {"region",
        "region"}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(field, m[i][0]))
            return m[i][1];
    return "lines";
}

static int pm__issue_reply(store *st, const pm_permit *p, const redisReply *r,
                           int *created, err_t *e)
{
    const redisReply *c = r->type == REDIS_REPLY_ARRAY && r->elements
                              ? r->element[0] : NULL;
    long long k = c && c->type == REDIS_REPLY_INTEGER ? c->integer : -1;
    if (k == 2 && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING)
        return err_set(e, ERR_CONFLICT, "permit %s exists with other %s: "
                       "issue a new number", p->id,
                       pm__what(r->element[1]->str));
    if (k == 3)
        return err_set(e, ERR_PHASE, "permit %s is revoked, which is final: "
                       "it cannot be issued again as %s", p->id,
                       p->status ? p->status : "valid");
    if (k < 0 || k > 4)
        return err_set(e, ERR_IO, "redis %s: pm issue %s: unexpected reply",
                       st->url, p->id);
    if (created)
        *created = k == 0;
    return 0;
}

int store_pm_issue(store *st, const pm_permit *p, const void *rec,
                   size_t rec_n, int64_t now_ms, int *created, err_t *e)
{
    char key[ST_KEY_MAX], base[ST_KEY_MAX], what[ST_KEY_MAX + 16];
    int rc = p ? store_pm__key(st, key, p->id, "", e)
               : err_set(e, ERR_INVALID, "redis %s: pm issue: no permit",
                         st->url);
    const char *bad = rc == 0 ? pm__permit_bad(p) : NULL;
    if (bad)
        rc = err_set(e, ERR_INVALID, "redis %s: pm issue %s: bad %s", st->url,
                     p->id, bad);
    pm_av a;
    if (rc < 0 || (rc = store_pm__av_init(st, &a, 40 + 12 * PM_LINES_MAX,
                                          16384, e)) < 0)
        return rc;
    store_pm__head(st, &a, base, now_ms);
    store_pm__av_s(&a, p->id), store_pm__av_s(&a, p->status ? p->status
                                                             : "valid");
    store_pm__av_b(&a, rec ? rec : "", rec ? rec_n : 0);
    pm__issue_fields(p, &a);
    snprintf(what, sizeof what, "pm issue %s", key);
    redisReply *r;
    if ((rc = store_pm__eval(st, &st_lua_pm_issue, &a, what, &r, e)) == 0) {
        rc = pm__issue_reply(st, p, r, created, e);
        freeReplyObject(r);
    }
    store_pm__av_free(&a);
    return rc;
}

/* ---- the issuer's acts ---- */

/* A reason goes into signed answers' texts, which must be printable
 * UTF-8: refused here rather than make every answer unsendable. */
static int pm__why_ok(const char *s)
{
    size_t n = s ? strnlen(s, PM_WHY_MAX + 1) : 0;
    for (size_t i = 0; i < n;) {
        int k = utf8_printable((const unsigned char *)s + i);
        if (!k)
            return 0;
        i += (size_t)k;
    }
    return n <= PM_WHY_MAX;
}

static int pm__status_reply(store *st, const char *id, const char *status,
                            const redisReply *r, err_t *e)
{
    long long k = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (k == 1)
        return err_set(e, ERR_NOTFOUND, "permit %s: not issued here", id);
    if (k == 2)
        return err_set(e, ERR_PHASE, "permit %s is revoked, which is final: "
                       "it cannot become %s", id, status);
    if (k == 3)
        return err_set(e, ERR_PHASE, "permit %s is %s already", id, status);
    if (k != 0)
        return err_set(e, ERR_IO, "redis %s: pm status %s: unexpected reply",
                       st->url, id);
    return 0;
}

int store_pm_set_status(store *st, const char *id, const char *status,
                        const char *why, const char *by, int64_t now_ms,
                        err_t *e)
{
    char key[ST_KEY_MAX], base[ST_KEY_MAX], what[ST_KEY_MAX + 16];
    int rc = store_pm__key(st, key, id, "", e);
    if (rc == 0 && (!pm__among(status, pm__issuer) || !by || !*by ||
                    !pm__why_ok(why) || !pm__why_ok(by)))
        rc = err_set(e, ERR_INVALID, "redis %s: pm status %s: want status "
                     "valid, suspended or revoked, a by, and a reason of at "
                     "most %d printable bytes", st->url, id, PM_WHY_MAX);
    pm_av a;
    if (rc < 0 || (rc = store_pm__av_init(st, &a, 16, 64, e)) < 0)
        return rc;
    store_pm__head(st, &a, base, now_ms);
    store_pm__av_s(&a, id), store_pm__av_s(&a, status);
    store_pm__av_s(&a, why), store_pm__av_s(&a, by);
    snprintf(what, sizeof what, "pm status %s", key);
    redisReply *r;
    if ((rc = store_pm__eval(st, &st_lua_pm_status, &a, what, &r, e)) == 0) {
        rc = pm__status_reply(st, id, status, r, e);
        freeReplyObject(r);
    }
    store_pm__av_free(&a);
    return rc;
}

/* ---- one permit ---- */

static int pmq_malformed(store *st, const char *key, err_t *e)
{
    return err_set(e, ERR_IO, "redis %s: %s: malformed reply", st->url, key);
}

static int pmq_nomem(store *st, const char *key, err_t *e)
{
    return err_set(e, ERR_NOMEM, "redis %s: %s: arena full", st->url, key);
}

/* Nothing left to draw: the scripts' rule (empty) for "exhausted". */
static int pmq_empty(const store_pm_view *v)
{
    if (v->p.usage && !strcmp(v->p.usage, "single_use"))
        return v->uses >= 1;
    for (uint32_t i = v->nbal > 1 ? 1 : 0; i < v->nbal; i++) {
        const store_pm_bal *b = &v->bal[i];
        if ((b->qty && b->qty > b->qty_used + b->qty_rsv) ||
            (b->value && b->value > b->value_used + b->value_rsv))
            return 0;
    }
    return 1;
}

static const char *pmq_effective(const store_pm_view *v, int64_t now_ms)
{
    if (strcmp(v->p.status, "valid"))
        return v->p.status;
    if (now_ms > 0 && (uint64_t)now_ms > v->p.to_ms)
        return "expired";
    return pmq_empty(v) ? "exhausted" : "valid";
}

/* A string field into the arena: NULL when empty (absent). */
static int pmq_str(arena_t *a, const redisReply *val, const char **out)
{
    *out = NULL;
    return !val->len || (*out = arena_strndup(a, val->str, val->len)) ? 0
                                                                      : -1;
}

/* The lines named by "ln", in issue order, with their balances' rows. */
static int pmq_lines(const redisReply *r, store_pm_view *v)
{
    const char *ln = NULL, *usage = "";
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        if (!strcmp(r->element[i]->str, "ln"))
            ln = r->element[i + 1]->str;
        else if (!strcmp(r->element[i]->str, "usage"))
            usage = r->element[i + 1]->str;
    }
    for (char *end; ln && *ln && v->p.nlines < PM_LINES_MAX;
         ln = end + (*end == ',')) {
        uint32_t n = v->p.nlines++;
        v->p.lines[n].line = (uint32_t)strtoul(ln, &end, 10);
        if (end == ln || (*end && *end != ','))
            return -1;
    }
    v->nbal = 1 + (strcmp(usage, "per_line") ? 0 : v->p.nlines);
    for (uint32_t i = 0; i < v->nbal; i++)
        v->bal[i].bucket = i ? v->p.lines[i - 1].line : 0;
    return v->p.nlines ? 0 : -1;
}

/* The balance row of bucket b and, for b > 0, its line (NULL: none). */
static store_pm_bal *pmq_bucket(store_pm_view *v, uint32_t b, pm_line **l)
{
    *l = NULL;
    if (b == 0)
        return &v->bal[0];
    for (uint32_t i = 0; i < v->p.nlines; i++)
        if (v->p.lines[i].line == b) {
            *l = &v->p.lines[i];
            return v->nbal > 1 ? &v->bal[i + 1] : NULL;
        }
    return NULL;
}

/* A field named <prefix><bucket>: a line's text or amount, a balance. */
static int pmq_numbered(store_pm_view *v, const char *name,
                        const redisReply *val, arena_t *a)
{
    size_t k = strcspn(name, "0123456789");
    pm_line *l;
    store_pm_bal *b = pmq_bucket(v, (uint32_t)strtoul(name + k, NULL, 10),
                                 &l);
    uint64_t n = strtoull(val->str, NULL, 10), sink = 0;
    const char *pre[] = {"hs", "desc", "un", "cu"};
    const char **txt[] = {l ? &l->hs : NULL, l ? &l->desc : NULL,
                          l ? &l->unit : NULL, l ? &l->currency : NULL};
    for (size_t i = 0; i < 4; i++)
        if (strlen(pre[i]) == k && !strncmp(name, pre[i], k))
            return txt[i] ? pmq_str(a, val, txt[i]) : 0;
    const char *num[] = {"q", "v", "qu", "vu", "qr", "vr"};
    uint64_t *at[] = {b ? &b->qty : &sink, b ? &b->value : &sink,
                      b ? &b->qty_used : &sink, b ? &b->value_used : &sink,
                      b ? &b->qty_rsv : &sink, b ? &b->value_rsv : &sink};
    for (size_t i = 0; i < 6; i++)
        if (strlen(num[i]) == k && !strncmp(name, num[i], k)) {
            *at[i] = n;
            if (l && i < 2)
                *(i ? &l->value : &l->qty) = n;
        }
    return 0;
}

/* The canonical record as issued (msgpack: any byte). */
static int pmq_rec(store_pm_view *v, const redisReply *val, arena_t *a)
{
    unsigned char *p = val->len ? arena_alloc(a, val->len) : NULL;
    if (val->len && !p)
        return -1;
    if (p)
        memcpy(p, val->str, val->len);
    v->rec = p, v->rec_n = val->len;
    return 0;
}

/* One field of the hash into v. */
static int pmq_field(store_pm_view *v, const char *name,
                     const redisReply *val, arena_t *a)
{
    pm_permit *p = &v->p;
    static const char *const sn[] = {"number", "kind", "usage", "status",
        "authority", "region", "holder", "holder_name", "why"};
    const char **sp[] = {&p->number, &p->kind, &p->usage, &p->status,
        &p->authority, &p->region, &p->holder_id, &p->holder_name, &v->why};
    for (size_t i = 0; i < sizeof sn / sizeof sn[0]; i++)
        if (!strcmp(name, sn[i]))
            return pmq_str(a, val, sp[i]);
    int64_t n = strtoll(val->str, NULL, 10);
    if (!strcmp(name, "from") || !strcmp(name, "to"))
        *(name[0] == 'f' ? &p->from_ms : &p->to_ms) = (uint64_t)n;
    else if (!strcmp(name, "uses"))
        v->uses = (uint64_t)n;
    else if (!strcmp(name, "issued") || !strcmp(name, "updated"))
        *(name[0] == 'i' ? &v->issued_ms : &v->updated_ms) = n;
    else if (!strcmp(name, "rec"))
        return pmq_rec(v, val, a);
    else if (name[strcspn(name, "0123456789")])
        return pmq_numbered(v, name, val, a);
    return 0;
}

/* HGETALL's pairs into out; ERR_IO when it is not a permit's hash. */
static int pmq_view(store *st, const char *key, const redisReply *r,
                    int64_t now_ms, arena_t *a, store_pm_view *out, err_t *e)
{
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING)
            return pmq_malformed(st, key, e);
    if (r->elements % 2 || pmq_lines(r, out) < 0)
        return err_set(e, ERR_IO, "redis %s: %s: no lines (\"ln\")", st->url,
                       key);
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (pmq_field(out, r->element[i]->str, r->element[i + 1], a) < 0)
            return pmq_nomem(st, key, e);
    if (!out->p.kind || !out->p.usage || !out->p.status)
        return err_set(e, ERR_IO, "redis %s: %s: kind, usage or status "
                       "missing", st->url, key);
    out->status = pmq_effective(out, now_ms);
    return 0;
}

int store_pm_get(store *st, const char *id, int64_t now_ms, arena_t *a,
                 store_pm_view *out, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = store_pm__key(st, key, id, "", e);
    if (rc < 0)
        return rc;
    memset(out, 0, sizeof *out);
    st_args q = {0};
    st_arg_s(&q, "HGETALL"), st_arg_s(&q, key);
    redisReply *r;
    if ((rc = st_cmd(st, &q, REDIS_REPLY_ARRAY, &r, e)) < 0)
        return rc;
    if (r->elements == 0)
        rc = err_set(e, ERR_NOTFOUND, "permit %s: not issued here", id);
    else if ((rc = pmq_view(st, key, r, now_ms, a, out, e)) == 0 &&
             !(out->p.id = arena_strdup(a, id)))
        rc = pmq_nomem(st, key, e);
    freeReplyObject(r);
    return rc;
}

/* ---- lists ---- */

int store_pm_list(store *st, size_t count, store_pm_id_fn fn, void *ctx,
                  err_t *e)
{
    char key[ST_KEY_MAX], last[24];
    if (count == 0)
        return 0;
    st_key(st, key, "pm", "all", e);
    snprintf(last, sizeof last, "%zu", count - 1);
    st_args q = {0};
    st_arg_s(&q, "ZREVRANGE"), st_arg_s(&q, key), st_arg_s(&q, "0");
    st_arg_s(&q, last), st_arg_s(&q, "WITHSCORES");
    redisReply *r = NULL;
    int rc = st_cmd(st, &q, REDIS_REPLY_ARRAY, &r, e);
    size_t i = 0;
    for (; rc == 0 && i + 1 < r->elements; i += 2) {
        const redisReply *m = r->element[i], *s = r->element[i + 1];
        if (m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING)
            rc = pmq_malformed(st, key, e);
        else if ((rc = fn(ctx, m->str, strtoll(s->str, NULL, 10), e)) < 0)
            err_wrap(e, "permit %s", m->str);
    }
    if (r)
        freeReplyObject(r);
    return rc < 0 ? rc : (int)(i / 2);
}

static const char *pmq_f(const redisReply *f, const char *name)
{
    const redisReply *v = st_field(f, name);
    return v ? v->str : "";
}

/* One entry of a permit's history for fn; one deleted meanwhile
 * (no fields) is left out: 1. */
static int pmq_hist(store *st, const char *key, const redisReply *en,
                    store_pm_hist_fn fn, void *ctx, err_t *e)
{
    const redisReply *f;
    int rc = st_entry(st, key, en, &f, e);
    if (rc < 0 || !f)
        return rc < 0 ? rc : 1;
    store_pm_hist h = {en->element[0]->str, pmq_f(f, "op"), pmq_f(f, "key"),
                       pmq_f(f, "by"), pmq_f(f, "req"), pmq_f(f, "code"),
                       pmq_f(f, "text"), pmq_f(f, "left"),
                       strtoll(pmq_f(f, "at"), NULL, 10)};
    if ((rc = fn(ctx, &h, e)) < 0)
        err_wrap(e, "%s entry %s", key, h.pos);
    return rc;
}

int store_pm_history(store *st, const char *id, size_t count,
                     store_pm_hist_fn fn, void *ctx, err_t *e)
{
    char key[ST_KEY_MAX], cnt[24];
    int rc = store_pm__key(st, key, id, ":h", e);
    if (rc < 0 || count == 0)
        return rc;
    snprintf(cnt, sizeof cnt, "%zu", count);
    st_args q = {0};
    st_arg_s(&q, "XRANGE"), st_arg_s(&q, key), st_arg_s(&q, "-");
    st_arg_s(&q, "+"), st_arg_s(&q, "COUNT"), st_arg_s(&q, cnt);
    redisReply *r;
    if ((rc = st_cmd(st, &q, REDIS_REPLY_ARRAY, &r, e)) < 0)
        return rc;
    int n = 0;
    for (size_t i = 0; rc >= 0 && i < r->elements; i++)
        if ((rc = pmq_hist(st, key, r->element[i], fn, ctx, e)) == 0)
            n++;
    freeReplyObject(r);
    return rc < 0 ? rc : n;
}

/* ---- a reservation ---- */

int store_pm_reservation(store *st, const char *id, const char *key,
                         arena_t *a, const char **state, const char **lines,
                         err_t *e)
{
    char rk[ST_KEY_MAX];
    int rc = store_pm__key(st, rk, id, ":r:", e);
    if (rc == 0 && !store_pm__token_ok(key))
        rc = err_set(e, ERR_INVALID, "redis %s: permit %s: reservation key: "
                     "want 1-%d of printable ASCII without space", st->url,
                     id, PM_KEY_MAX);
    if (rc < 0)
        return rc;
    strncat(rk, key, sizeof rk - strlen(rk) - 1);
    st_args q = {0};
    st_arg_s(&q, "HMGET"), st_arg_s(&q, rk), st_arg_s(&q, "st");
    st_arg_s(&q, "lines");
    redisReply *r;
    if ((rc = st_cmd(st, &q, REDIS_REPLY_ARRAY, &r, e)) < 0)
        return rc;
    const redisReply *s = r->elements == 2 ? r->element[0] : NULL;
    const redisReply *l = s ? r->element[1] : NULL;
    if (!s || (s->type == REDIS_REPLY_STRING && l->type != REDIS_REPLY_STRING))
        rc = pmq_malformed(st, rk, e);
    else if (s->type != REDIS_REPLY_STRING)
        rc = err_set(e, ERR_NOTFOUND, "permit %s: no reservation under key "
                     "%s", id, key);
    else if (!(*state = arena_strndup(a, s->str, s->len)) ||
             !(*lines = arena_strndup(a, l->str, l->len)))
        rc = pmq_nomem(st, rk, e);
    freeReplyObject(r);
    return rc;
}
