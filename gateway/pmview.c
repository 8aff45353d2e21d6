/* pmview: asking a permit's home, reading what this node holds about a
 * permit, and showing both (pmview.h). The text is the JSON laid out one
 * fact per line, so `eportctl permits` and the HTTP API cannot say
 * different things. */
#include "pmview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger_query.h"
#include "model_json.h"
#include "model_pack.h"

#define PMV_FRAME_MAX (1u << 20)   /* a home's answer envelope */
#define PMV_REC_JSON_MAX (1u << 22) /* a permit's record as JSON */

static int64_t pmv__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pmview_at_home(const char *region, const char *id)
{
    return region && id && strlen(id) > 2 && !strncmp(region, id, 2) &&
           id[2] == '-';
}

/* ---- asking the home ---- */

static int pmv__decode(const buf_t *ans, const buf_t *frame, arena_t *a,
                       pmview_ans *out, err_t *e)
{
    int rc = pm_ans_decode(ans->p ? ans->p : "", ans->len, a, &out->a, e);
    out->home_signed = frame->len > 0;
    if (rc == 0 && out->a.req && !out->rid[0])
        snprintf(out->rid, sizeof out->rid, "%s", out->a.req);
    return rc;
}

/* rid's request into v and, once answered, its answer into out;
 * ERR_AGAIN while it is queued. */
static int pmv__get(store *st, const char *rid, arena_t *a, pmview_ans *out,
                    store_pmq_view *v, err_t *e)
{
    buf_t ans, frame;
    char id[STORE_ID_MAX]; /* rid may be out->rid, cleared below */
    snprintf(id, sizeof id, "%s", rid);
    buf_init(&ans, PM_MAX_BYTES);
    buf_init(&frame, PMV_FRAME_MAX);
    memset(out, 0, sizeof *out);
    snprintf(out->rid, sizeof out->rid, "%s", id);
    rid = id;
    int rc = store_pmq_get(st, rid, v, &ans, &frame, e);
    if (rc == 0 && strcmp(v->state, "answered"))
        rc = err_set(e, ERR_AGAIN, "request %s: still queued: the home %.2s "
                     "has not answered yet", rid, v->permit);
    if (rc == 0 && (rc = pmv__decode(&ans, &frame, a, out, e)) < 0)
        err_wrap(e, "request %s: answer", rid);
    out->done_ms = rc == 0 ? v->done_ms : 0;
    buf_free(&ans);
    buf_free(&frame);
    return rc;
}

int pmview_answer_get(store *st, const char *rid, arena_t *a,
                      pmview_ans *out, err_t *e)
{
    store_pmq_view v;
    return pmv__get(st, rid, a, out, &v, e);
}

int pmview_request(store *st, const pm_req *q, int64_t wait_ms, arena_t *a,
                   pmview_ans *out, err_t *e)
{
    pm_req r = *q;
    char home[3] = "??";
    memset(out, 0, sizeof *out);
    if (!r.at_ms)
        r.at_ms = (uint64_t)pmv__now_ms();
    int rc = pm_req_validate(&r, e);
    if (rc == 0)
        rc = msgid_new(out->rid, e);
    if (rc == 0)
        rc = store_pmq_add(st, out->rid, &r, NULL, (int64_t)r.at_ms, e);
    if (rc < 0)
        return rc;
    pm_id_region(r.permit, home);
    rc = store_pmq_wait(st, out->rid, wait_ms, e);
    if (rc == ERR_AGAIN)
        return err_set(e, ERR_AGAIN, "still queued: request %s; the home %s "
                       "has not answered within %lld ms", out->rid, home,
                       (long long)wait_ms);
    return rc < 0 ? rc : pmview_answer_get(st, out->rid, a, out, e);
}

/* ---- reading ---- */

static int pmv__cached(store *st, const char *id, const char *home,
                       arena_t *a, pmview_ans *out, err_t *e)
{
    buf_t ans, frame;
    buf_init(&ans, PM_MAX_BYTES);
    buf_init(&frame, PMV_FRAME_MAX);
    int rc = store_pmq_cached(st, id, &ans, &frame, e);
    if (rc == ERR_NOTFOUND)
        rc = err_set(e, ERR_NOTFOUND, "permit %s: no answer held here (its "
                     "home is %s): verify it first", id, home);
    if (rc == 0 && (rc = pmv__decode(&ans, &frame, a, out, e)) < 0)
        err_wrap(e, "permit %s: newest answer", id);
    buf_free(&ans);
    buf_free(&frame);
    return rc;
}

int pmview_show_load(store *st, const char *region, const char *id,
                     int fresh, int64_t wait_ms, arena_t *a,
                     pmview_show *out, err_t *e)
{
    memset(out, 0, sizeof *out);
    out->id = id;
    int rc = pm_id_check(id, e);
    if (rc < 0)
        return rc;
    pm_id_region(id, out->home);
    out->at_home = pmview_at_home(region, id);
    if (!out->at_home && fresh) {
        pm_req q = {.op = PM_OP_VERIFY, .permit = id};
        return pmview_request(st, &q, wait_ms, a, &out->ans, e);
    }
    if (!out->at_home)
        return pmv__cached(st, id, out->home, a, &out->ans, e);
    rc = store_pm_get(st, id, pmv__now_ms(), a, &out->view, e);
    if (rc == ERR_NOTFOUND)
        rc = err_set(e, ERR_NOTFOUND, "permit %s: not issued here (this "
                     "node, %s, is its home)", id, out->home);
    return rc;
}

typedef struct pmv__ids {
    const char **v;
    size_t n, cap;
    arena_t *a;
} pmv__ids;

static int pmv__id_add(pmv__ids *x, const char *id, err_t *e)
{
    if (x->n == x->cap)
        return 0;
    if (!(x->v[x->n] = arena_strdup(x->a, id)))
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    x->n++;
    return 0;
}

static int pmv__rid(void *ctx, const char *rid, int64_t at_ms, err_t *e)
{
    (void)at_ms;
    return pmv__id_add(ctx, rid, e);
}

static int pmv__pid(void *ctx, const char *id, int64_t issued_ms, err_t *e)
{
    (void)issued_ms;
    return pmv__id_add(ctx, id, e);
}

/* Ids first, then one read each: no store call runs inside another's
 * callback. */
static int pmv__ids_init(pmv__ids *x, size_t count, arena_t *a, err_t *e)
{
    *x = (pmv__ids){arena_alloc(a, (count ? count : 1) * sizeof(char *)), 0,
                    count, a};
    return x->v ? 0 : err_set(e, ERR_NOMEM, "permits: out of memory");
}

static int pmv__requests(store *st, const char *id, size_t count, arena_t *a,
                         pmview_hist_fn fn, void *ctx, err_t *e)
{
    pmv__ids x;
    int rc = pmv__ids_init(&x, count, a, e);
    if (rc == 0)
        rc = store_pmq_by_permit(st, id, count, pmv__rid, &x, e);
    for (size_t i = 0; rc >= 0 && i < x.n; i++) {
        pmview_req r = {.rid = x.v[i]};
        rc = pmv__get(st, r.rid, a, &r.ans, &r.v, e);
        r.answered = rc == 0;
        if (rc == 0 || rc == ERR_AGAIN)
            rc = fn(ctx, NULL, &r, e);
    }
    return rc < 0 ? rc : (int)x.n;
}

typedef struct pmv__hctx {
    pmview_hist_fn fn;
    void *ctx;
} pmv__hctx;

static int pmv__hist(void *ctx, const store_pm_hist *h, err_t *e)
{
    pmv__hctx *c = ctx;
    return c->fn(c->ctx, h, NULL, e);
}

int pmview_history(store *st, const char *region, const char *id,
                   size_t count, arena_t *a, pmview_hist_fn fn, void *ctx,
                   err_t *e)
{
    int rc = pm_id_check(id, e);
    if (rc < 0)
        return rc;
    if (!pmview_at_home(region, id))
        return pmv__requests(st, id, count, a, fn, ctx, e);
    pmv__hctx c = {fn, ctx};
    store_pm_view v;
    rc = store_pm_history(st, id, count, pmv__hist, &c, e);
    if (rc == 0 && store_pm_get(st, id, 0, a, &v, e) == ERR_NOTFOUND)
        rc = err_set(e, ERR_NOTFOUND, "permit %s: not issued here (this "
                     "node, %.2s, is its home)", id, id);
    return rc;
}

int pmview_list(store *st, size_t count, arena_t *a, pmview_list_fn fn,
                void *ctx, err_t *e)
{
    pmv__ids x;
    int64_t now = pmv__now_ms();
    int rc = pmv__ids_init(&x, count, a, e), n = 0;
    if (rc == 0)
        rc = store_pm_list(st, count, pmv__pid, &x, e);
    for (size_t i = 0; rc >= 0 && i < x.n; i++) {
        store_pm_view v;
        rc = store_pm_get(st, x.v[i], now, a, &v, e);
        if (rc == ERR_NOTFOUND) /* dropped between the two reads */
            rc = 0;
        else if (rc == 0 && (rc = fn(ctx, &v, e)) == 0)
            n++;
    }
    return rc < 0 ? rc : n;
}

/* ---- JSON ---- */

static json_t *pmv__str(const char *s)
{
    json_t *j = s && *s ? json_string(s) : NULL;
    return j ? j : json_null(); /* NULL, "", or not UTF-8 */
}

static json_t *pmv__time(uint64_t ms)
{
    char t[LQ_TIME_LEN];
    lq_time(ms, t);
    return ms ? json_string(t) : json_null();
}

static json_t *pmv__amt(uint64_t thousandths)
{
    char s[32];
    pm_amount_fmt(thousandths, s);
    return json_string(s);
}

static json_t *pmv__left(const pm_amount *l, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_pack("{s:I, s:o, s:o}", "line",
                              (json_int_t)l[i].line, "quantity",
                              pmv__amt(l[i].qty), "value",
                              pmv__amt(l[i].value)));
    return arr;
}

/* The text of a refusal: the home's, else the code's own. */
static const char *pmv__why(const pm_ans *a)
{
    return a->text ? a->text : a->code == PM_C_OK ? NULL
                                                  : pm_code_why(a->code);
}

json_t *pmview_ans_json_new(const pmview_ans *v)
{
    const pm_ans *a = &v->a;
    json_t *o = json_pack(
        "{s:b, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "ok",
        a->code == PM_C_OK, "code", pm_code_name(a->code), "text",
        pmv__str(pmv__why(a)), "op", pm_op_name(a->op), "permit",
        pmv__str(a->permit), "key", pmv__str(a->key), "status",
        pmv__str(a->status), "kind", pmv__str(a->kind), "usage",
        pmv__str(a->usage), "valid_from", pmv__time(a->from_ms), "valid_to",
        pmv__time(a->to_ms));
    json_object_update_new(o, json_pack(
        "{s:o, s:o, s:o, s:b, s:o, s:o}", "reservation", pmv__str(a->rsv),
        "left", pmv__left(a->left, a->nleft), "request", pmv__str(v->rid),
        "signed", v->home_signed, "at", pmv__time(a->at_ms), "received",
        pmv__time((uint64_t)v->done_ms)));
    return o;
}

/* One dimension of a bucket; null when the permit is not limited by it. */
static json_t *pmv__dim(uint64_t total, uint64_t used, uint64_t rsv)
{
    if (!total)
        return json_null();
    uint64_t taken = used + rsv;
    return json_pack("{s:o, s:o, s:o, s:o}", "total", pmv__amt(total),
                     "used", pmv__amt(used), "reserved", pmv__amt(rsv),
                     "left", pmv__amt(taken < total ? total - taken : 0));
}

static json_t *pmv__lines(const pm_permit *p)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < p->nlines; i++) {
        const pm_line *l = &p->lines[i];
        json_array_append_new(arr, json_pack(
            "{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "line", (json_int_t)l->line,
            "hs", pmv__str(l->hs), "description", pmv__str(l->desc),
            "quantity", l->qty ? pmv__amt(l->qty) : json_null(), "unit",
            pmv__str(l->unit), "value", l->value ? pmv__amt(l->value)
                                                 : json_null(),
            "currency", pmv__str(l->currency)));
    }
    return arr;
}

static json_t *pmv__bals(const store_pm_view *v)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < v->nbal; i++) {
        const store_pm_bal *b = &v->bal[i];
        json_array_append_new(arr, json_pack(
            "{s:I, s:o, s:o}", "line", (json_int_t)b->bucket, "quantity",
            pmv__dim(b->qty, b->qty_used, b->qty_rsv), "value",
            pmv__dim(b->value, b->value_used, b->value_rsv)));
    }
    return arr;
}

/* The canonical record as issued, as its JSON; null when unreadable. */
static json_t *pmv__record(const store_pm_view *v)
{
    arena_t a;
    buf_t b;
    model_record *r;
    err_t e;
    json_t *j = NULL;
    arena_init(&a, PMV_REC_JSON_MAX);
    buf_init(&b, PMV_REC_JSON_MAX);
    if (v->rec && v->rec_n &&
        model_unpack((const char *)v->rec, v->rec_n, &a, &r, &e) == 0 &&
        model_json_write(r, &b, &e) == 0)
        j = json_loadb(b.p, b.len, 0, NULL);
    buf_free(&b);
    arena_free(&a);
    return j ? j : json_null();
}

static json_t *pmv__holder(const pm_permit *p)
{
    if (!p->holder_id && !p->holder_name)
        return json_null();
    return json_pack("{s:o, s:o}", "id", pmv__str(p->holder_id), "name",
                     pmv__str(p->holder_name));
}

json_t *pmview_view_json_new(const store_pm_view *v)
{
    const pm_permit *p = &v->p;
    json_t *o = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
        pmv__str(p->id), "number", pmv__str(p->number), "kind",
        pmv__str(p->kind), "usage", pmv__str(p->usage), "status",
        pmv__str(v->status), "issuer_status", pmv__str(p->status), "why",
        pmv__str(v->why), "authority", pmv__str(p->authority), "region",
        pmv__str(p->region), "holder", pmv__holder(p), "valid_from",
        pmv__time(p->from_ms), "valid_to", pmv__time(p->to_ms));
    json_object_update_new(o, json_pack(
        "{s:o, s:o, s:I, s:o, s:o, s:o}", "lines", pmv__lines(p), "balances",
        pmv__bals(v), "uses", (json_int_t)v->uses, "issued",
        pmv__time((uint64_t)v->issued_ms), "updated",
        pmv__time((uint64_t)v->updated_ms), "record", pmv__record(v)));
    return o;
}

/* "<bucket>:<qty>:<value>,..." (thousandths) as left[]; NULL when it is
 * not that. */
static json_t *pmv__left_text(const char *s)
{
    pm_amount l[PM_LINES_MAX + 1];
    uint32_t n = 0;
    const char *p = s;
    for (; p && *p && n <= PM_LINES_MAX; n++) {
        unsigned b;
        unsigned long long q, v;
        int used = 0;
        if (sscanf(p, "%u:%llu:%llu%n", &b, &q, &v, &used) != 3 ||
            (p[used] && p[used] != ','))
            return NULL;
        l[n] = (pm_amount){b, q, v};
        p += used + (p[used] == ',');
    }
    return p && *p ? NULL : pmv__left(l, n);
}

json_t *pmview_hist_json_new(const store_pm_hist *h)
{
    json_t *left = pmv__left_text(h->left);
    return json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "pos",
        pmv__str(h->pos), "op", pmv__str(h->op), "key", pmv__str(h->key),
        "by", pmv__str(h->by), "request", pmv__str(h->req), "code",
        pmv__str(h->code), "text", pmv__str(h->text), "left",
        left ? left : pmv__str(h->left), "at", pmv__time((uint64_t)h->at_ms));
}

json_t *pmview_req_json_new(const pmview_req *r)
{
    const store_pmq_view *v = &r->v;
    return json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "request",
        pmv__str(r->rid), "op", pmv__str(v->op), "permit",
        pmv__str(v->permit), "key", pmv__str(v->key), "for",
        pmv__str(v->for_ref), "state", pmv__str(v->state), "queued",
        pmv__time((uint64_t)v->at_ms), "answered",
        pmv__time((uint64_t)v->done_ms), "code", pmv__str(v->code), "answer",
        r->answered ? pmview_ans_json_new(&r->ans) : json_null());
}

json_t *pmview_show_json_new(const pmview_show *s)
{
    return json_pack("{s:s, s:s, s:s, s:o}", "permit", s->id, "home",
                     s->home, "source", s->at_home ? "ledger" : "answer",
                     s->at_home ? "view" : "answer",
                     s->at_home ? pmview_view_json_new(&s->view)
                                : pmview_ans_json_new(&s->ans));
}

json_t *pmview_row_json_new(const store_pm_view *v)
{
    const pm_permit *p = &v->p;
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                     pmv__str(p->id), "status", pmv__str(v->status), "kind",
                     pmv__str(p->kind), "usage", pmv__str(p->usage),
                     "holder", pmv__str(p->holder_id), "valid_from",
                     pmv__time(p->from_ms), "valid_to", pmv__time(p->to_ms),
                     "issued", pmv__time((uint64_t)v->issued_ms));
}

static int pmv__hist_add(void *ctx, const store_pm_hist *h,
                         const pmview_req *r, err_t *e)
{
    json_t *j = h ? pmview_hist_json_new(h) : pmview_req_json_new(r);
    if (!j || json_array_append_new(ctx, j))
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    return 0;
}

static int pmv__row_add(void *ctx, const store_pm_view *v, err_t *e)
{
    json_t *j = pmview_row_json_new(v);
    if (!j || json_array_append_new(ctx, j))
        return err_set(e, ERR_NOMEM, "permits: out of memory");
    return 0;
}

/* {head..., "count": n, name: list} (list taken), or NULL (n < 0). */
static json_t *pmv__doc(json_t *head, int n, const char *name, json_t *list)
{
    if (n < 0 || !head) {
        json_decref(head);
        json_decref(list);
        return NULL;
    }
    json_object_set_new(head, "count", json_integer(n));
    json_object_set_new(head, name, list);
    return head;
}

int pmview_history_json(store *st, const char *region, const char *id,
                        size_t count, arena_t *a, json_t **out, err_t *e)
{
    json_t *list = json_array();
    int n = pmview_history(st, region, id, count, a, pmv__hist_add, list, e);
    *out = pmv__doc(n < 0 ? NULL : json_pack(
        "{s:s, s:s#, s:s}", "permit", id, "home", id, 2,
        "source", pmview_at_home(region, id) ? "ledger" : "requests"), n,
        "entries", list);
    return n >= 0 && !*out ? err_set(e, ERR_NOMEM, "permits: out of memory")
                           : n;
}

int pmview_list_json(store *st, const char *region, size_t count,
                     arena_t *a, json_t **out, err_t *e)
{
    json_t *list = json_array();
    int n = pmview_list(st, count, a, pmv__row_add, list, e);
    *out = pmv__doc(n < 0 ? NULL : json_pack("{s:s}", "home", region), n,
                    "permits", list);
    return n >= 0 && !*out ? err_set(e, ERR_NOMEM, "permits: out of memory")
                           : n;
}

/* ---- text: the JSON above, one fact per line ---- */

/* s with control characters as spaces and '"' as '\'': a value from
 * another region's home must not start a line of its own. */
static int pmv__clean(buf_t *b, const char *s, int quote)
{
    quote = quote && s[strcspn(s, " =\"")];
    int rc = quote ? buf_addc(b, '"') : 0;
    for (; *s && !rc; s++)
        rc = buf_addc(b, (unsigned char)*s < 0x20 || *s == 0x7f ? ' '
                         : *s == '"' ? '\'' : *s);
    return rc || !quote ? rc : buf_addc(b, '"');
}

/* A scalar; quote: within a line of name=value pairs. */
static int pmv__scalar(buf_t *b, const json_t *v, int quote)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return pmv__clean(b, json_string_value(v), quote);
    case JSON_INTEGER:
        return buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_TRUE: return buf_adds(b, "yes");
    case JSON_FALSE: return buf_adds(b, "no");
    default: return 0; /* no reals here; null is left out */
    }
}

/* An array of objects as "a:b:c,d:e:f" (left: line:quantity:value). */
static int pmv__joined(buf_t *b, const json_t *arr)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
        const json_t *el = json_array_get(arr, i), *v;
        const char *k;
        int first = 1;
        rc = i ? buf_addc(b, ',') : 0;
        json_object_foreach((json_t *)el, k, v) {
            if (rc == 0 && !first)
                rc = buf_addc(b, ':');
            rc = rc ? rc : pmv__scalar(b, v, 1);
            first = 0;
        }
    }
    return rc;
}

/* o's members as " name=value" (the first without its space), nested
 * objects as prefix.name=value. */
static int pmv__kvs(buf_t *b, const char *prefix, const json_t *o,
                    int *first)
{
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach((json_t *)o, k, v) {
        char p[64];
        if (rc || json_is_null(v))
            continue;
        snprintf(p, sizeof p, "%s%s.", prefix, k);
        if (json_is_object(v)) {
            rc = pmv__kvs(b, p, v, first);
            continue;
        }
        rc = buf_printf(b, "%s%s%s=", *first ? "" : " ", prefix, k);
        *first = 0;
        rc = rc ? rc : json_is_array(v) ? pmv__joined(b, v)
                                         : pmv__scalar(b, v, 1);
    }
    return rc;
}

static int pmv__flat(const json_t *o)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
        if (json_is_object(v) || json_is_array(v))
            return 0;
    return 1;
}

/* "name value" per member; an object of scalars (or an array's element)
 * on one line "name k=v ..."; a deeper object's members as its own. */
static int pmv__facts(buf_t *b, const json_t *o)
{
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach((json_t *)o, k, v) {
        if (rc || json_is_null(v))
            continue;
        if (json_is_object(v) && !pmv__flat(v)) {
            rc = pmv__facts(b, v);
            continue;
        }
        for (size_t i = 0; rc == 0 && i < (json_is_array(v)
                                           ? json_array_size(v) : 1); i++) {
            const json_t *x = json_is_array(v) ? json_array_get(v, i) : v;
            int first = 1;
            rc = buf_printf(b, "%s ", k);
            rc = rc ? rc : json_is_object(x) ? pmv__kvs(b, "", x, &first)
                                              : pmv__scalar(b, x, 0);
            rc = rc ? rc : buf_addc(b, '\n');
        }
    }
    return rc;
}

/* j (taken) as facts, or as one line. */
static int pmv__text(json_t *j, int line, buf_t *out)
{
    int first = 1, rc = j ? 0 : ERR_NOMEM;
    json_object_del(json_object_get(j, "view"), "record");
    json_object_del(j, "record"); /* the canonical record: --json shows it */
    if (rc == 0 && line && (rc = pmv__kvs(out, "", j, &first)) == 0)
        rc = buf_addc(out, '\n');
    else if (rc == 0 && !line)
        rc = pmv__facts(out, j);
    json_decref(j);
    return rc;
}

int pmview_ans_text(const pmview_ans *v, buf_t *out)
{
    return pmv__text(pmview_ans_json_new(v), 0, out);
}

int pmview_view_text(const store_pm_view *v, buf_t *out)
{
    return pmv__text(pmview_view_json_new(v), 0, out);
}

int pmview_show_text(const pmview_show *s, buf_t *out)
{
    json_t *j = pmview_show_json_new(s);
    json_object_del(j, "permit"); /* the view's id, the answer's permit */
    return pmv__text(j, 0, out);
}

int pmview_hist_text(const store_pm_hist *h, buf_t *out)
{
    return pmv__text(pmview_hist_json_new(h), 1, out);
}

/* The answer's facts that the request's own do not already say. */
int pmview_req_text(const pmview_req *r, buf_t *out)
{
    static const char *const dup[] = {"ok", "code", "op", "permit", "key",
                                      "request", "kind", "usage",
                                      "valid_from", "valid_to", "received"};
    json_t *j = pmview_req_json_new(r), *a = json_object_get(j, "answer");
    for (size_t i = 0; json_is_object(a) && i < sizeof dup / sizeof *dup;
         i++)
        json_object_del(a, dup[i]);
    return pmv__text(j, 1, out);
}

int pmview_row_text(const store_pm_view *v, buf_t *out)
{
    return pmv__text(pmview_row_json_new(v), 1, out);
}
