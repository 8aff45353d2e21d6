/* ingest: bytes -> xlate -> records copied out of the codec's memory ->
 * intake_accept once, all or nothing (ingest.h). The records are copied
 * because a streaming codec reuses a message's memory for the next one,
 * while intake must see every record of the input at once. */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "log.h"
#include "metrics.h"
#include "xlate.h"

#define INGEST_ARENA_MAX ((size_t)1 << 30) /* one input's trees, records */
#define INGEST_FIRST_MAX 200               /* first problem in e->msg */

struct ingest {
    const cfg *c;
    const map_set *maps;
    intake *in;
    arena_t scratch;   /* xlate's trees, reset per input */
    arena_t keep;      /* the copied records, reset per input */
    model_record *recs[INGEST_MAX_RECORDS];
};

/* One run's state, handed to the xlate callbacks. */
typedef struct ig_run {
    ingest *g;
    const char *name;
    ingest_res *r;
    arena_t *dst;      /* where the records are copied */
    model_record **recs;
    size_t n;          /* records copied */
    int over;          /* more than INGEST_MAX_RECORDS */
    int nomem;
    char first[INGEST_FIRST_MAX]; /* first problem line */
    strict_set strict; /* the client's strictness over the tables' */
} ig_run;

int ingest_open(const cfg *c, const map_set *maps, ingest **out, err_t *e)
{
    *out = NULL;
    ingest *g = calloc(1, sizeof *g);
    if (!g)
        return err_set(e, ERR_NOMEM, "ingest_open: out of memory");
    int rc = intake_open(c, &g->in, e);
    if (rc) {
        free(g);
        return rc;
    }
    g->c = c;
    g->maps = maps;
    arena_init(&g->scratch, INGEST_ARENA_MAX);
    arena_init(&g->keep, INGEST_ARENA_MAX);
    *out = g;
    return 0;
}

void ingest_close(ingest *g)
{
    if (!g)
        return;
    intake_close(g->in);
    arena_free(&g->scratch);
    arena_free(&g->keep);
    free(g);
}

intake *ingest_intake(ingest *g)
{
    return g->in;
}

/* ---- deep copy of a record, driven by model_fields[] ---- */

typedef MODEL__ARRAY(char) ig_arr; /* the layout of every model array */

static int ig__copy_obj(arena_t *a, model_obj o, void *dst);

static int ig__copy_strlist(arena_t *a, model_strlist *l)
{
    if (!l->n)
        return *l = (model_strlist){0}, 0;
    char **v = arena_alloc(a, l->n * sizeof *v);
    if (!v)
        return ERR_NOMEM;
    for (uint32_t i = 0; i < l->n; i++)
        if (!(v[i] = arena_strdup(a, l->v[i])))
            return ERR_NOMEM;
    l->v = v;
    l->cap = l->n;
    return 0;
}

static int ig__copy_array(arena_t *a, const model_field *f, ig_arr *ar)
{
    if (!ar->n)
        return *ar = (ig_arr){0}, 0;
    size_t sz = (size_t)ar->n * f->elem_size;
    char *v = arena_alloc(a, sz);
    if (!v)
        return ERR_NOMEM;
    memcpy(v, ar->v, sz);
    ar->v = v;
    ar->cap = ar->n;
    for (uint32_t i = 0; i < ar->n; i++)
        if (ig__copy_obj(a, f->elem, v + (size_t)i * f->elem_size))
            return ERR_NOMEM;
    return 0;
}

/* dst holds a shallow copy of an obj struct: give it its own strings and
 * arrays in a. */
static int ig__copy_obj(arena_t *a, model_obj o, void *dst)
{
    for (size_t i = 0; i < model_nfields; i++) {
        const model_field *f = &model_fields[i];
        int rc = 0;
        if (f->obj != o)
            continue;
        if (f->type == MF_STR) {
            char **s = model_str_at(dst, f);
            rc = *s && !(*s = arena_strdup(a, *s)) ? ERR_NOMEM : 0;
        } else if (f->type == MF_STRLIST) {
            rc = ig__copy_strlist(a, model_strlist_at(dst, f));
        } else if (f->type == MF_ARRAY) {
            rc = ig__copy_array(a, f, (ig_arr *)((char *)dst + f->off));
        }
        if (rc)
            return rc;
    }
    return 0;
}

static model_record *ig__copy(arena_t *a, const model_record *r)
{
    model_record *c = arena_alloc(a, sizeof *c);
    if (!c)
        return NULL;
    memcpy(c, r, sizeof *c);
    return ig__copy_obj(a, MO_RECORD, c) ? NULL : c;
}

/* ---- the xlate sink ---- */

static int ig__record(void *ctx, const codec_msg *m, const map_def *d,
                      model_record *r)
{
    ig_run *x = ctx;
    (void)m, (void)d;
    if (x->n == INGEST_MAX_RECORDS) {
        x->over = 1;
        return 1; /* stop: the input is refused whole */
    }
    model_record *c = ig__copy(x->dst, r);
    if (!c) {
        x->nomem = 1;
        return 1;
    }
    x->recs[x->n++] = c;
    return 0;
}

static void ig__problem(void *ctx, uint32_t line, uint32_t col,
                        const char *msg)
{
    ig_run *x = ctx;
    if (!x->first[0])
        snprintf(x->first, sizeof x->first, "%s:%u:%u: error: %s", x->name,
                 line, col, msg);
    /* past the buffer's cap the other lines are dropped: the count in
     * e->msg still says how many there were */
    (void)buf_printf(&x->r->problems, "%s:%u:%u: error: %s\n", x->name,
                     line, col, msg);
}

/* The sender's clients[].strict and .lenient (strict.h); NULL when it
 * sets neither (the tables decide). */
static const strict_set *ig__strictness(ig_run *x, const cfg_client *cl)
{
    x->strict = (strict_set){{0}};
    if (!cl || (!cl->strict.n && !cl->lenient.n))
        return NULL;
    for (size_t i = 0; i < cl->strict.n; i++)
        x->strict.mode[strict_rule_find(cl->strict.v[i])] = STRICT_STRICT;
    for (size_t i = 0; i < cl->lenient.n; i++)
        x->strict.mode[strict_rule_find(cl->lenient.v[i])] = STRICT_LENIENT;
    x->strict.mode[STRICT_NONE] = STRICT_UNSET;
    return &x->strict;
}

/* ---- one run ---- */

static int ig__refuse(ig_run *x, const ingest_req *q, const char *reason,
                      int rc)
{
    (void)x;
    met_add(MET_REFUSED, q->conn, 1);
    met_add(MET_ERRORS, reason, 1);
    return rc;
}

static int ig__map(const ingest *g, const ingest_req *q, const map_def **d,
                   err_t *e)
{
    *d = NULL;
    if (!q->map || !*q->map)
        return 0;
    if (!(*d = map_set_find(g->maps, q->map)))
        return err_set(e, ERR_NOMAP, "%s: error: no mapping named '%s'",
                       q->name, q->map);
    return 0;
}

/* xlate_input's failure: nothing could be read. */
static int ig__unreadable(ig_run *x, const ingest_req *q, int rc, err_t *e)
{
    if (rc == ERR_TOOBIG || rc == ERR_NOMEM)
        return ig__refuse(x, q, rc == ERR_TOOBIG ? "too_big" : "nomem", rc);
    e->code = ERR_SYNTAX;
    return ig__refuse(x, q, "syntax", ERR_SYNTAX);
}

/* What xlate found, judged: problems or no record refuse the input. */
static int ig__judge(ig_run *x, const ingest_req *q, const xlate_stats *st,
                     err_t *e)
{
    if (x->nomem)
        return ig__refuse(x, q, "nomem", err_set(e, ERR_NOMEM,
                          "%s: error: out of memory translating", q->name));
    if (x->over)
        return ig__refuse(x, q, "too_many", err_set(e, ERR_TOOBIG,
                          "%s: error: more than %d records in one input "
                          "(split it)", q->name, INGEST_MAX_RECORDS));
    if (st->problems)
        return ig__refuse(x, q, "invalid", err_set(e, ERR_INVALID,
                          "%s: %u problem(s), nothing stored; first: %s",
                          q->name, st->problems, x->first));
    if (!x->n)
        return ig__refuse(x, q, "invalid", err_set(e, ERR_INVALID,
                          "%s: error: no message found in the input",
                          q->name));
    return 0;
}

static int ig__accept(ig_run *x, const ingest_req *q, err_t *e)
{
    ingest_res *r = x->r;
    intake_sub s = {q->conn, q->cl, (model_record *const *)x->recs, x->n,
                    q->idem};
    intake_res ir = {r->ids, r->dup, 0};
    int rc = intake_accept(x->g->in, &s, &ir, q->t0_ms, e);
    r->retry_after_s = ir.retry_after_s;
    if (rc)
        return rc;
    r->n = x->n;
    for (size_t i = 0; i < x->n; i++)
        snprintf(r->kinds[i], sizeof r->kinds[i], "%s",
                 x->recs[i]->kind ? x->recs[i]->kind : "");
    return 0;
}

/* Translate and judge: x->recs[0..x->n) copied into x->dst. */
static int ig__translate(ig_run *x, const ingest_req *q, err_t *e)
{
    ingest *g = x->g;
    x->r->n = 0;
    x->r->retry_after_s = 0;
    const map_def *d;
    int rc = ig__map(g, q, &d, e);
    if (rc)
        return ig__refuse(x, q, "mapping", rc);
    xlate_sink sink = {ig__record, ig__problem, x, NULL,
                       ig__strictness(x, q->cl)};
    xlate_stats st = {0};
    rc = xlate_input(g->maps, d, x->name, q->data ? q->data : "", q->len,
                     &g->scratch, &sink, &st, e);
    arena_reset(&g->scratch);
    if (rc)
        return ig__unreadable(x, q, rc, e);
    return ig__judge(x, q, &st, e);
}

int ingest_translate(ingest *g, const ingest_req *q, arena_t *a,
                     model_record **recs, size_t *n, ingest_res *r,
                     err_t *e)
{
    ig_run x = {.g = g, .name = q->name ? q->name : "input", .r = r,
                .dst = a, .recs = recs};
    ingest_req qq = *q;
    qq.name = x.name;
    int rc = ig__translate(&x, &qq, e);
    *n = rc ? 0 : x.n;
    return rc;
}

int ingest_run(ingest *g, const ingest_req *q, ingest_res *r, err_t *e)
{
    ig_run x = {.g = g, .name = q->name ? q->name : "input", .r = r,
                .dst = &g->keep, .recs = g->recs};
    ingest_req qq = *q;
    qq.name = x.name;
    int rc = ig__translate(&x, &qq, e);
    if (!rc)
        rc = ig__accept(&x, &qq, e);
    arena_reset(&g->keep);
    return rc;
}
