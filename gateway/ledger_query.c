/* ledger_query: trace and movements, and the helpers that render a
 * movement's parts (verify is in ledger_query_verify.c). */
#include "ledger_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "mvref.h"
#include "store_mv.h"

/* document.type values of docs/model.md: a document number given alone
 * is looked up under each (an index key holds the type). */
static const char *const lq__doc_types[] = {
    "rail_waybill", "sea_bill_of_lading", "sea_waybill", "waterway_waybill",
    "road_consignment_note", "air_waybill", "multimodal_transport_document",
    "manifest", "customs_declaration", "customs_response", "status_report",
    NULL};

void lq_time(uint64_t ms, char out[LQ_TIME_LEN])
{
    if (!ms) {
        snprintf(out, LQ_TIME_LEN, "-");
        return;
    }
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char day[24];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, LQ_TIME_LEN, "%.19s.%03uZ", day, (unsigned)(ms % 1000));
}

const char *lq_stop_name(int stop)
{
    static const char *const names[] = {"none", "expected", "passed",
                                        "arrived"};
    return stop >= 0 && stop <= MV_STOP_ARRIVED ? names[stop] : "?";
}

/* ---- details: the set fields of an event, one line ---- */

static void lq__kv(buf_t *b, const char *k, const char *v)
{
    if (v)
        buf_printf(b, "%s%s=%s", b->len ? " " : "", k, v);
}

static void lq__lists(buf_t *b, const mv_event *ev)
{
    for (uint32_t i = 0; i < ev->nitin; i++)
        buf_printf(b, "%s%s", i ? ">" : b->len ? " itin=" : "itin=",
                   ev->itin[i]);
    for (uint32_t i = 0; i < ev->ndocs; i++)
        buf_printf(b, "%s%s:%s", i ? "," : b->len ? " docs=" : "docs=",
                   ev->docs[i].type, ev->docs[i].no);
    for (uint32_t i = 0; i < ev->nctrs; i++) {
        const mv_ctr *c = &ev->ctrs[i];
        buf_printf(b, "%s%s[", i ? "," : b->len ? " ctrs=" : "ctrs=", c->no);
        for (uint32_t s = 0; s < c->nseals; s++)
            buf_printf(b, "%s%s", s ? "+" : "", c->seals[s]);
        buf_addc(b, ']');
    }
}

const char *lq_details(const mv_event *ev, arena_t *a)
{
    buf_t b;
    buf_init(&b, 16384);
    char t[LQ_TIME_LEN], num[24];
    lq__kv(&b, "kind", ev->kind);
    lq__lists(&b, ev);
    snprintf(num, sizeof num, "%u", ev->pkgs);
    lq__kv(&b, "pkgs", ev->pkgs ? num : NULL);
    lq__kv(&b, "decl", ev->declarant);
    lq__kv(&b, "guar", ev->guarantee);
    /* absolute once released; declared and amended carry a duration */
    if (ev->type == MV_DECLARED || ev->type == MV_AMENDED)
        snprintf(t, sizeof t, "%llus", (unsigned long long)ev->limit_ms / 1000);
    else
        lq_time(ev->limit_ms, t);
    lq__kv(&b, "limit", ev->limit_ms ? t : NULL);
    lq__kv(&b, "res", ev->result);
    lq__kv(&b, "win", ev->winner);
    lq__kv(&b, "place", ev->place);
    if (ev->note)
        buf_printf(&b, "%snote=\"%s\"", b.len ? " " : "", ev->note);
    const char *s = arena_strdup(a, b.p ? b.p : "");
    buf_free(&b);
    return s ? s : "";
}

/* ---- which movements a trace names ---- */

typedef struct lq_refset {
    const char **v;
    size_t n;
    arena_t *a;
} lq_refset;

static int lq__add(void *ctx, const char *ref, int64_t score, err_t *e)
{
    (void)score;
    lq_refset *r = ctx;
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->v[i], ref))
            return 0;
    if (r->n == LQ_REFS_MAX)
        return 0; /* enough to show; the rest is the same story */
    if (!(r->v[r->n] = arena_strdup(r->a, ref)))
        return err_set(e, ERR_NOMEM, "trace: out of memory");
    r->n++;
    return 0;
}

/* The index key as ledger_keys spells it: bytes a key cannot hold, '_'. */
static int lq__index(store *st, lq_refset *r, const char *pre,
                     const char *what, err_t *e)
{
    char key[STORE_MV_KEY_MAX + 1];
    int k = snprintf(key, sizeof key, "%s%s", pre, what);
    if (k < 0 || (size_t)k >= sizeof key)
        return 0; /* longer than any key: nothing names it */
    for (char *p = key; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            *p = '_';
    int rc = store_mv_index(st, key, lq__add, r, e);
    return rc < 0 ? rc : store_mv_claims(st, key, lq__add, r, e);
}

static int lq__keys(store *st, const char *what, lq_refset *r, err_t *e)
{
    if (!strncmp(what, "c:", 2) || !strncmp(what, "d:", 2))
        return lq__index(st, r, "", what, e);
    int rc = lq__index(st, r, "c:", what, e);
    if (rc >= 0 && strchr(what, ':'))
        return lq__index(st, r, "d:", what, e);
    for (size_t i = 0; rc >= 0 && lq__doc_types[i]; i++) {
        char pre[64];
        snprintf(pre, sizeof pre, "d:%s:", lq__doc_types[i]);
        rc = lq__index(st, r, pre, what, e);
    }
    return rc;
}

static int lq__looks_like_ref(const char *s)
{
    return strlen(s) == MVREF_LEN && s[0] >= '0' && s[0] <= '9' &&
           s[1] >= '0' && s[1] <= '9' && s[2] >= 'A' && s[2] <= 'Z' &&
           s[3] >= 'A' && s[3] <= 'Z';
}

int lq_refs(store *st, const char *what, arena_t *a, const char ***refs,
            size_t *nrefs, err_t *e)
{
    lq_refset r = { arena_alloc(a, LQ_REFS_MAX * sizeof(char *)), 0, a };
    if (!r.v)
        return err_set(e, ERR_NOMEM, "trace: out of memory");
    int rc;
    if (mvref_check(what, e) == 0)
        rc = lq__add(&r, what, 0, e);
    else if (lq__looks_like_ref(what))
        return e->code; /* a mistyped reference: say so, not "unknown" */
    else
        rc = lq__keys(st, what, &r, e);
    if (rc < 0)
        return rc;
    if (r.n == 0)
        return err_set(e, ERR_NOTFOUND, "trace %s: no movement names it at "
                       "this node", what);
    *refs = r.v, *nrefs = r.n;
    return 0;
}

/* ---- one journey ---- */

typedef struct lq_load {
    lq_journey *j;
    arena_t *a;
    size_t cap, rcap;
} lq_load;

static int lq__grow(void **v, size_t *cap, size_t n, size_t size, arena_t *a)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = arena_alloc(a, nc * size);
    if (!p)
        return ERR_NOMEM;
    if (n)
        memcpy(p, *v, n * size);
    *v = p, *cap = nc;
    return 0;
}

static int lq__step(void *ctx, const char *id, const void *frame, size_t n,
                    err_t *e)
{
    (void)id;
    lq_load *l = ctx;
    lq_journey *j = l->j;
    env *v;
    mv_event *ev = arena_alloc(l->a, sizeof *ev);
    err_t sub;
    if (!ev || lq__grow((void **)&j->steps, &l->cap, j->nsteps,
                        sizeof *j->steps, l->a))
        return err_set(e, ERR_NOMEM, "trace %s: out of memory", j->ref);
    if (env_decode(frame, n, l->a, &v, &sub) < 0 ||
        mv_event_decode(v->payload, v->payload_len, l->a, ev, &sub) < 0) {
        j->unreadable++;
        return 0;
    }
    lq_step *s = &j->steps[j->nsteps++];
    *s = (lq_step){ (uint32_t)(j->nsteps + j->unreadable), v->id, v->signer,
                    ev, lq_details(ev, l->a) };
    return 0;
}

static int lq__refusal(void *ctx, const char *id, const char *msg, err_t *e)
{
    lq_load *l = ctx;
    lq_journey *j = l->j;
    if (lq__grow((void **)&j->refusals, &l->rcap, j->nrefusals,
                 sizeof *j->refusals, l->a))
        return err_set(e, ERR_NOMEM, "trace %s: out of memory", j->ref);
    lq_refusal *r = &j->refusals[j->nrefusals];
    r->id = arena_strdup(l->a, id);
    r->msg = arena_strdup(l->a, msg);
    if (!r->id || !r->msg)
        return err_set(e, ERR_NOMEM, "trace %s: out of memory", j->ref);
    j->nrefusals++;
    return 0;
}

int lq_journey_load(store *st, const char *ref, arena_t *a, lq_journey *out,
                    err_t *e)
{
    memset(out, 0, sizeof *out);
    buf_t b;
    buf_init(&b, 1u << 24);
    int rc = store_mv_state(st, ref, &b, e);
    if (rc == ERR_NOTFOUND)
        rc = err_set(e, ERR_NOTFOUND, "movement %s: not known at this node",
                     ref);
    if (rc == 0 && mv_state_decode(b.p, b.len, a, &out->state, e) < 0)
        rc = err_wrap(e, "movement %s: stored state", ref);
    buf_free(&b);
    if (rc < 0)
        return rc;
    if (!(out->ref = arena_strdup(a, ref)))
        return err_set(e, ERR_NOMEM, "trace %s: out of memory", ref);
    lq_load l = { out, a, 0, 0 };
    rc = store_mv_log(st, ref, lq__step, &l, e);
    if (rc >= 0)
        rc = store_mv_refusals(st, ref, lq__refusal, &l, e);
    return rc < 0 ? rc : 0;
}

int lq_trace(store *st, const char *what, arena_t *a, lq_journey_fn fn,
             void *ctx, err_t *e)
{
    const char **refs;
    size_t n, shown = 0;
    int rc = lq_refs(st, what, a, &refs, &n, e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        lq_journey j;
        rc = lq_journey_load(st, refs[i], a, &j, e);
        if (rc == ERR_NOTFOUND && n > 1) {
            rc = 0; /* named here (claims) but not on our itinerary */
            continue;
        }
        if (rc == 0 && (rc = fn(ctx, &j, e)) == 0)
            shown++;
    }
    return rc < 0 ? rc : (int)shown;
}

/* ---- movements ---- */

typedef struct lq_list {
    char (*refs)[MVREF_LEN + 1];
    size_t n, cap;
} lq_list;

static int lq__listed(void *ctx, const char *ref, int64_t score, err_t *e)
{
    (void)score, (void)e;
    lq_list *l = ctx;
    if (l->n < l->cap && strlen(ref) == MVREF_LEN)
        memcpy(l->refs[l->n++], ref, MVREF_LEN + 1);
    return 0;
}

static int lq__on_itin(const mv_state *s, const char *region)
{
    return !region || mv_state_stop_of(s, region) >= 0;
}

/* One listed movement through the filter; a scratch arena per movement
 * keeps a long list from growing memory. */
static int lq__one(store *st, const char *ref, const lq_filter *f,
                   lq_movement_fn fn, void *ctx, arena_t *a, buf_t *b,
                   err_t *e)
{
    mv_state s;
    arena_reset(a);
    buf_reset(b);
    int rc = store_mv_state(st, ref, b, e);
    if (rc == ERR_NOTFOUND)
        return 0; /* listed, then gone: nothing to show */
    if (rc == 0 && mv_state_decode(b->p, b->len, a, &s, e) < 0)
        return err_wrap(e, "movement %s: stored state", ref);
    if (rc < 0 || !lq__on_itin(&s, f->region))
        return rc < 0 ? rc : 0;
    rc = fn(ctx, ref, &s, e);
    return rc < 0 ? rc : 1;
}

int lq_movements(store *st, const lq_filter *f, lq_movement_fn fn,
                 void *ctx, err_t *e)
{
    mv_phase ph;
    if (f->phase && mv_phase_parse(f->phase, &ph) < 0)
        return err_set(e, ERR_CODE, "movements: unknown phase '%s'",
                       f->phase);
    lq_list l = { NULL, 0, f->count ? f->count : 1000 };
    if (!(l.refs = calloc(l.cap, sizeof *l.refs)))
        return err_set(e, ERR_NOMEM, "movements: out of memory");
    int rc = store_mv_list(st, f->phase, l.cap, lq__listed, &l, e);
    arena_t a;
    arena_init(&a, 1u << 26);
    buf_t b;
    buf_init(&b, 1u << 24);
    int shown = 0;
    for (size_t i = 0; rc >= 0 && i < l.n; i++)
        if ((rc = lq__one(st, l.refs[i], f, fn, ctx, &a, &b, e)) > 0)
            shown++;
    buf_free(&b);
    arena_free(&a);
    free(l.refs);
    return rc < 0 ? rc : shown;
}
