/* The apply engine (ledger.h): a batch is decided in rounds. A round
 * loads what the store knows of every event's movement (one pipelined
 * call), decides each event in order on an in-memory state per movement
 * (so several events of one movement chain), applies the ops (one
 * pipelined call), and only then writes parks and refusals and tells the
 * hook: a movement another instance moved meanwhile (STALE) is decided
 * again in the next round from what is stored, with nothing of the
 * stale decisions kept. Parked children of the movements that moved are
 * then taken as further batches. */
#include "ledger.h"

#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "mvref.h"
#include "store_mv.h"

#define LG_BUF_MAX (256u << 20) /* loaded states of one round */

/* One movement in a round. */
typedef struct lg_mv {
    const char *ref;
    int found;              /* stored, or created earlier in the round */
    int64_t n;              /* event count after the ops queued so far */
    const mv_state *st;     /* state after them; NULL: none */
    const char **ids;       /* ids queued in this round (chaining) */
    size_t nids;
    int stale;              /* an op of it came back STALE */
} lg_mv;

/* One event in a round. */
typedef struct lg_slot {
    const ledger_item *it;
    lg_mv *mv;
    store_mv_cur cur;
    ledger_result r;
    err_t why;
    int op;                 /* index of its op, -1 none */
    int quiet;              /* a child still parked: nothing to say */
} lg_slot;

typedef struct lg_round {
    const ledger *l;
    arena_t *a;
    lg_slot *s;
    size_t n;
    lg_mv *mvs;
    size_t nmv;
    store_mv_op *ops;
    size_t nops;
    buf_t sbuf;             /* one state's wire form */
} lg_round;

/* Refs that had events applied, whose parked children may now go. */
typedef struct lg_moved {
    const char **refs;
    size_t n, cap;
} lg_moved;

const char *ledger_outcome_name(ledger_outcome o)
{
    static const char *const names[] = {"applied", "dup", "skipped",
                                        "parked", "refused"};
    return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "?";
}

/* ---- keys and decoding ---- */

static const char *lg__key(arena_t *a, const char *k1, const char *k2,
                           const char *k3)
{
    char k[STORE_MV_KEY_MAX + 1];
    snprintf(k, sizeof k, "%s%s%s%s", k1, k2, k3 ? ":" : "", k3 ? k3 : "");
    for (char *p = k; *p; p++) /* Redis keys of the store hold no blanks */
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            *p = '_';
    return arena_strdup(a, k);
}

int ledger_keys(const mv_event *data, arena_t *a, const char **keys,
                size_t *nkeys, err_t *e)
{
    size_t n = 0;
    for (uint32_t i = 0; i < data->nctrs && n < LEDGER_KEYS_MAX; i++)
        if (!(keys[n++] = lg__key(a, "c:", data->ctrs[i].no, NULL)))
            return err_set(e, ERR_NOMEM, "ledger: claim keys: out of memory");
    for (uint32_t i = 0; i < data->ndocs && n < LEDGER_KEYS_MAX; i++)
        if (!(keys[n++] = lg__key(a, "d:", data->docs[i].type,
                                  data->docs[i].no)))
            return err_set(e, ERR_NOMEM, "ledger: claim keys: out of memory");
    *nkeys = n;
    return 0;
}

int ledger_decode(const void *frame, size_t n, arena_t *a, struct env **v,
                  mv_event *ev, err_t *e)
{
    int rc = env_decode(frame, n, a, v, e);
    if (rc < 0)
        return rc;
    if (strcmp((*v)->type, MVEV_ENV_TYPE))
        return 1;
    rc = mv_event_decode((*v)->payload, (*v)->payload_len, a, ev, e);
    if (rc == 0 && (!(*v)->ref || strcmp((*v)->ref, ev->ref)))
        rc = err_set(e, ERR_INVALID, "message %s: envelope ref %s is not "
                     "the event's movement %s", (*v)->id,
                     (*v)->ref ? (*v)->ref : "(none)", ev->ref);
    return rc < 0 ? err_wrap(e, "message %s", (*v)->id) : 0;
}

/* ---- load ---- */

static lg_mv *lg__mv(lg_round *r, const char *ref)
{
    for (size_t i = 0; i < r->nmv; i++)
        if (!strcmp(r->mvs[i].ref, ref))
            return &r->mvs[i];
    return NULL;
}

/* The slot's movement, made from its load when first seen. */
static int lg__mv_of(lg_round *r, lg_slot *s, err_t *e)
{
    s->mv = lg__mv(r, s->it->ev->ref);
    if (s->mv)
        return 0;
    lg_mv *m = &r->mvs[r->nmv++];
    *m = (lg_mv){.ref = s->it->ev->ref, .found = s->cur.found,
                 .n = s->cur.n};
    m->ids = arena_alloc(r->a, r->n * sizeof *m->ids);
    if (!m->ids)
        return err_set(e, ERR_NOMEM, "ledger: out of memory");
    s->mv = m;
    if (!s->cur.found)
        return 0;
    mv_state *st = arena_zalloc(r->a, sizeof *st);
    if (!st)
        return err_set(e, ERR_NOMEM, "ledger: out of memory");
    m->st = st;
    int rc = mv_state_decode(s->cur.state, s->cur.state_n, r->a, st, e);
    return rc < 0 ? err_wrap(e, "ledger: stored state of %s", m->ref) : 0;
}

static int lg__load(lg_round *r, err_t *e)
{
    store_mv_key keys[STORE_MV_BATCH];
    store_mv_cur cur[STORE_MV_BATCH];
    for (size_t i = 0; i < r->n; i++)
        keys[i] = (store_mv_key){r->s[i].it->ev->ref, r->s[i].it->id,
                                 r->s[i].it->ev->prev};
    buf_t b;
    buf_init(&b, LG_BUF_MAX);
    int rc = store_mv_load(r->l->st, keys, r->n, cur, &b, e);
    for (size_t i = 0; rc == 0 && i < r->n; i++) {
        r->s[i].cur = cur[i];
        rc = lg__mv_of(r, &r->s[i], e); /* decodes before b goes */
    }
    buf_free(&b);
    return rc;
}

/* ---- deciding ---- */

static int lg__has(const lg_mv *m, const char *id)
{
    for (size_t i = 0; id && i < m->nids; i++)
        if (!strcmp(m->ids[i], id))
            return 1;
    return 0;
}

static int lg__on_itin(const ledger *l, const mv_event *ev)
{
    for (uint32_t i = 0; i < ev->nitin; i++)
        if (!strcmp(ev->itin[i], l->region))
            return 1;
    return 0;
}

/* The limit zset at the departure: set on release, re-armed by an
 * enquiry (one per limit period), removed once released no more. */
static void lg__limit(const ledger *l, const mv_event *ev,
                      const mv_state *b, const mv_state *a, store_mv_op *op)
{
    int was = b && b->phase == MV_P_RELEASED, is = a->phase == MV_P_RELEASED;
    if (is && !was) {
        op->limit_op = 1;
        op->limit_ms = (int64_t)a->data.limit_ms;
    } else if (is && ev->type == MV_ENQUIRY) {
        int64_t period = (int64_t)(a->data.limit_ms - a->released_ms);
        op->limit_op = 1;
        op->limit_ms = (int64_t)ev->at_ms + (period > 0 ? period
                                                        : l->period_ms);
    } else if (was && !is) {
        op->limit_op = -1;
    }
}

/* Index, limit and claim-gate parts of the op moving b to a. */
static int lg__indexes(lg_round *r, const ledger_item *it, const mv_state *b,
                       const mv_state *a, store_mv_op *op, err_t *e)
{
    char dep[3];
    mvref_region(it->ev->ref, dep);
    if (!b) {
        const char **idx = arena_alloc(r->a, LEDGER_KEYS_MAX * sizeof *idx);
        if (!idx || !(op->dep = arena_strdup(r->a, dep)))
            return err_set(e, ERR_NOMEM, "ledger: out of memory");
        op->declared_ms = (int64_t)a->declared_ms;
        op->idx = idx;
        int rc = ledger_keys(&a->data, r->a, idx, &op->nidx, e);
        if (rc < 0)
            return rc;
    }
    if (strcmp(dep, r->l->region))
        return 0; /* limits and the gate are the departure's */
    lg__limit(r->l, it->ev, b, a, op);
    if (!b && a->phase == MV_P_DECLARED)
        op->claimwait_op = 1;
    else if (b && b->phase == MV_P_DECLARED && a->phase != MV_P_DECLARED)
        op->claimwait_op = -1;
    if (op->claimwait_op)
        op->declared_ms = (int64_t)a->declared_ms;
    return 0;
}

/* Queue the op storing a (after b) for the slot's event. */
static int lg__op(lg_round *r, lg_slot *s, const mv_state *b,
                  const mv_state *a, err_t *e)
{
    store_mv_op *op = &r->ops[r->nops];
    *op = (store_mv_op){.ref = s->mv->ref, .id = s->it->id,
                        .frame = s->it->frame, .frame_n = s->it->frame_n,
                        .expect_n = s->mv->n,
                        .phase_old = b ? mv_phase_name(b->phase) : NULL,
                        .phase_new = mv_phase_name(a->phase),
                        .unpark = s->it->from_park};
    buf_reset(&r->sbuf);
    int rc = mv_state_encode(a, &r->sbuf, e);
    void *copy = rc == 0 ? arena_alloc(r->a, r->sbuf.len) : NULL;
    if (rc == 0 && !copy)
        rc = err_set(e, ERR_NOMEM, "ledger: out of memory");
    if (rc < 0)
        return rc;
    memcpy(copy, r->sbuf.p, r->sbuf.len);
    op->state = copy;
    op->state_n = r->sbuf.len;
    if (a != b && (rc = lg__indexes(r, s->it, b, a, op, e)) < 0)
        return rc;
    s->op = (int)r->nops++;
    return 0;
}

static int lg__rules(lg_round *r, lg_slot *s, err_t *e)
{
    const ledger_item *it = s->it;
    lg_mv *m = s->mv;
    mv_state *out = arena_zalloc(r->a, sizeof *out);
    if (!out)
        return err_set(e, ERR_NOMEM, "ledger: out of memory");
    s->r.before = m->st;
    int rc = it->author ? mv_rule_apply(m->st, it->ev, it->id, it->author,
                                        r->a, out, &s->why)
                        : err_set(&s->why, ERR_IDENTITY, "%s: signer of "
                                  "message %s unknown here", m->ref, it->id);
    if (rc < 0) {
        s->r.outcome = LEDGER_REFUSED;
        s->r.why = &s->why;
        return 0;
    }
    if ((rc = lg__op(r, s, m->st, out, e)) < 0)
        return rc;
    s->r.outcome = LEDGER_APPLIED;
    s->r.after = out;
    m->st = out;
    m->found = 1;
    m->n++;
    m->ids[m->nids++] = it->id;
    return 0;
}

static int lg__decide(lg_round *r, lg_slot *s, err_t *e)
{
    const ledger_item *it = s->it;
    lg_mv *m = s->mv;
    s->op = -1;
    s->r.item = it;
    if (s->cur.has_id || lg__has(m, it->id)) {
        s->r.outcome = LEDGER_DUP; /* a parked copy goes with the op */
        return it->from_park && m->st ? lg__op(r, s, m->st, m->st, e) : 0;
    }
    /* only an event naming the itinerary can say this node is off it:
     * one without (a passage, a risk) was sent to the itinerary, and
     * came ahead of the declaration: it parks below */
    if (!m->found && !r->l->national && it->ev->nitin &&
        !lg__on_itin(r->l, it->ev)) {
        s->r.outcome = LEDGER_SKIPPED;
        return 0;
    }
    if (it->ev->prev && !s->cur.has_prev && !lg__has(m, it->ev->prev)) {
        s->r.outcome = LEDGER_PARKED;
        s->quiet = it->from_park;
        return 0;
    }
    return lg__rules(r, s, e);
}

/* ---- storing ---- */

static int lg__store(lg_round *r, err_t *e)
{
    store_mv_res res[STORE_MV_BATCH];
    if (!r->nops)
        return 0;
    int rc = store_mv_apply(r->l->st, r->ops, r->nops, res, e);
    for (size_t i = 0; rc == 0 && i < r->n; i++) {
        lg_slot *s = &r->s[i];
        if (s->op < 0)
            continue;
        if (res[s->op] == STORE_MV_STALE)
            s->mv->stale = 1;
        else if (res[s->op] == STORE_MV_DUP)
            s->r.outcome = LEDGER_DUP; /* another instance was first */
    }
    return rc;
}

static int lg__refuse(lg_round *r, lg_slot *s, err_t *e)
{
    const ledger_item *it = s->it;
    char msg[ERR_MSG_MAX + 128];
    /* the code at the end: mvact_wait gives it back to the author */
    snprintf(msg, sizeof msg, "%s %s by %s: %s (%s)", it->ev->ref,
             mv_type_name(it->ev->type), it->author ? it->author : "?",
             s->why.msg, err_name(s->why.code));
    int rc = store_mv_refuse(r->l->st, it->ev->ref, it->id, msg, it->frame,
                             it->frame_n, e);
    s->quiet = rc == 1 && it->from_park; /* said when it was parked */
    return rc < 0 ? rc : 0;
}

static int lg__moved_add(lg_moved *mv, arena_t *a, const char *ref)
{
    for (size_t i = 0; i < mv->n; i++)
        if (!strcmp(mv->refs[i], ref))
            return 0;
    if (mv->n == mv->cap) {
        size_t cap = mv->cap ? mv->cap * 2 : 64;
        const char **p = arena_alloc(a, cap * sizeof *p);
        if (!p)
            return ERR_NOMEM;
        if (mv->n)
            memcpy(p, mv->refs, mv->n * sizeof *p);
        mv->refs = p;
        mv->cap = cap;
    }
    mv->refs[mv->n++] = ref;
    return 0;
}

/* Parks and refusals written, the hook told, for every movement that did
 * not go stale; the stale ones' events go to again[] for the next round. */
static int lg__finish(lg_round *r, lg_moved *moved, const ledger_item **again,
                      size_t *nagain, err_t *e)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->n; i++) {
        lg_slot *s = &r->s[i];
        const ledger_item *it = s->it;
        if (s->mv->stale) {
            again[(*nagain)++] = it;
            continue;
        }
        if (s->r.outcome == LEDGER_PARKED && !it->from_park)
            rc = store_mv_park(r->l->st, it->ev->ref, it->id, it->frame,
                               it->frame_n, e);
        else if (s->r.outcome == LEDGER_REFUSED)
            rc = lg__refuse(r, s, e);
        else if (s->r.outcome == LEDGER_APPLIED &&
                 lg__moved_add(moved, r->a, s->mv->ref) < 0)
            rc = err_set(e, ERR_NOMEM, "ledger: out of memory");
        if (rc == 0 && !s->quiet && r->l->hook)
            r->l->hook(r->l->hook_ctx, &s->r);
    }
    return rc;
}

/* One round over items[0..n) (n <= STORE_MV_BATCH). */
static int lg__round(const ledger *l, const ledger_item *const *items,
                     size_t n, arena_t *a, lg_moved *moved,
                     const ledger_item **again, size_t *nagain, err_t *e)
{
    lg_round r = {.l = l, .a = a, .n = n};
    r.s = arena_zalloc(a, n * sizeof *r.s);
    r.mvs = arena_zalloc(a, n * sizeof *r.mvs);
    r.ops = arena_alloc(a, n * sizeof *r.ops);
    if (!r.s || !r.mvs || !r.ops)
        return err_set(e, ERR_NOMEM, "ledger: out of memory");
    for (size_t i = 0; i < n; i++)
        r.s[i].it = items[i];
    buf_init(&r.sbuf, ENV_MAX_PAYLOAD);
    int rc = lg__load(&r, e);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = lg__decide(&r, &r.s[i], e);
    if (rc == 0)
        rc = lg__store(&r, e);
    if (rc == 0)
        rc = lg__finish(&r, moved, again, nagain, e);
    buf_free(&r.sbuf);
    return rc;
}

/* Rounds until nothing is stale (another instance of the node moved a
 * movement between our load and our apply), a few at most. */
static int lg__batch(const ledger *l, const ledger_item *const *items,
                     size_t n, arena_t *a, lg_moved *moved, err_t *e)
{
    const ledger_item **again = arena_alloc(a, (n ? n : 1) * sizeof *again);
    if (!again)
        return err_set(e, ERR_NOMEM, "ledger: out of memory");
    for (int t = 0; n && t <= LEDGER_RETRIES; t++) {
        size_t nagain = 0;
        int rc = lg__round(l, items, n, a, moved, again, &nagain, e);
        if (rc < 0)
            return rc;
        items = again;
        n = nagain;
        again = arena_alloc(a, (n ? n : 1) * sizeof *again);
        if (!again)
            return err_set(e, ERR_NOMEM, "ledger: out of memory");
    }
    return n ? err_set(e, ERR_AGAIN, "ledger: %zu events still stale after "
                       "%d retries (another instance of this node?)", n,
                       LEDGER_RETRIES) : 0;
}

/* ---- parked children ---- */

typedef struct lg_kids {
    const ledger *l;
    arena_t *a;
    const ledger_item **items;
    size_t n, cap;
} lg_kids;

static int lg__kid(void *ctx, const char *id, const void *frame, size_t n,
                   err_t *e)
{
    lg_kids *k = ctx;
    ledger_item *it = arena_zalloc(k->a, sizeof *it);
    mv_event *ev = arena_zalloc(k->a, sizeof *ev);
    void *copy = arena_alloc(k->a, n ? n : 1);
    env *v;
    if (!it || !ev || !copy)
        return err_set(e, ERR_NOMEM, "ledger: out of memory");
    memcpy(copy, frame, n);
    err_t de;
    if (ledger_decode(copy, n, k->a, &v, ev, &de) != 0 || k->n == k->cap)
        return 0; /* stored after decoding once: cannot happen; leave it */
    *it = (ledger_item){.id = arena_strdup(k->a, id), .ev = ev,
                        .frame = copy, .frame_n = n, .from_park = 1};
    it->author = k->l->author ? k->l->author(k->l->author_ctx, v->signer)
                              : NULL;
    k->items[k->n++] = it;
    return 0;
}

/* The parked events of every movement that moved, as one generation. */
static int lg__children(const ledger *l, lg_moved *moved, arena_t *a,
                        lg_kids *k, err_t *e)
{
    *k = (lg_kids){.l = l, .a = a, .cap = STORE_MV_BATCH * 4};
    k->items = arena_alloc(a, k->cap * sizeof *k->items);
    if (!k->items)
        return err_set(e, ERR_NOMEM, "ledger: out of memory");
    for (size_t i = 0; i < moved->n; i++) {
        int rc = store_mv_parked(l->st, moved->refs[i], lg__kid, k, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int ledger_apply(const ledger *l, const ledger_item *items, size_t n,
                 arena_t *a, err_t *e)
{
    if (n > STORE_MV_BATCH)
        return err_set(e, ERR_INVALID, "ledger: %zu events in one batch, "
                       "want at most %d", n, STORE_MV_BATCH);
    lg_moved moved = {0};
    const ledger_item **p = arena_alloc(a, (n ? n : 1) * sizeof *p);
    if (!p)
        return err_set(e, ERR_NOMEM, "ledger: out of memory");
    for (size_t i = 0; i < n; i++)
        p[i] = &items[i];
    int rc = lg__batch(l, p, n, a, &moved, e);
    for (int g = 0; rc == 0 && moved.n && g < LEDGER_ROUNDS; g++) {
        lg_kids k;
        rc = lg__children(l, &moved, a, &k, e);
        moved = (lg_moved){0};
        for (size_t i = 0; rc == 0 && i < k.n; i += STORE_MV_BATCH)
            rc = lg__batch(l, k.items + i, k.n - i < STORE_MV_BATCH
                           ? k.n - i : STORE_MV_BATCH, a, &moved, e);
    }
    return rc;
}
