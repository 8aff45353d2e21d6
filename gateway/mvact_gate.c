/* mvact's release gate (mvact.h: mvact_gate and its two halves for
 * eportd's tick): the declaration's receipts from every member, then the
 * claim zsets of its keys. Split from mvact.c to keep both readable.
 * Memory: a local arena per call. */
#include "mvact.h"

#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "ledger.h"
#include "mvrule.h"
#include "store_mv.h"

#define MVG_ARENA_MAX (64u << 20)

static int mvg__has(const char **ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ids[i], id))
            return 1;
    return 0;
}

typedef struct mvact_first {
    arena_t *a;
    char id[MSGID_LEN + 1];
} mvact_first;

/* The first log entry: the declaration's message id. */
static int mvg__first(void *ctx, const char *id, const void *frame,
                        size_t n, err_t *e)
{
    mvact_first *f = ctx;
    env *v;
    (void)id;
    int rc = env_decode(frame, n, f->a, &v, e);
    if (rc == 0)
        memcpy(f->id, v->id, sizeof f->id);
    return rc;
}

typedef struct mvact_rcpts {
    arena_t *a;
    const char **from;
    size_t n;
} mvact_rcpts;

/* A member that refused the declaration has not stored its claim: only
 * stored and duplicate receipts count. */
static int mvg__rcpt(void *ctx, const char *from, const void *frame,
                       size_t n, err_t *e)
{
    mvact_rcpts *r = ctx;
    env *v;
    env_receipt rc_;
    if (env_decode(frame, n, r->a, &v, e) < 0 ||
        env_receipt_decode(v->payload, v->payload_len, r->a, &rc_, e) < 0 ||
        rc_.status == ENV_REFUSED || r->n >= MVACT_AUDIENCE_MAX)
        return 0;
    r->from[r->n++] = arena_strdup(r->a, from);
    return 0;
}

typedef struct mvact_top {
    char ref[32];
} mvact_top;

static int mvg__top(void *ctx, const char *ref, int64_t score, err_t *e)
{
    mvact_top *t = ctx;
    (void)score, (void)e;
    if (!t->ref[0])
        snprintf(t->ref, sizeof t->ref, "%s", ref);
    return 0;
}

/* Members without a receipt, named in why; returns how many. */
static int mvg__missing(node *n, const char *decl_id, arena_t *a,
                          buf_t *why, err_t *e)
{
    const char *members[MVACT_AUDIENCE_MAX];
    const char *from[MVACT_AUDIENCE_MAX];
    mvact_rcpts r = {a, from, 0};
    size_t nm = mvact_members(n, members, MVACT_AUDIENCE_MAX);
    int rc = store_rcpt_list(node_store(n), decl_id, mvg__rcpt, &r, e);
    if (rc < 0)
        return rc;
    int missing = 0;
    for (size_t i = 0; i < nm; i++)
        if (!mvg__has(from, r.n, members[i]))
            buf_printf(why, "%s%s", missing++ ? ", " : "claim not settled: "
                       "waiting for receipts from ", members[i]);
    return missing;
}

/* 2 when another ref is first for some key (winner, why), else 0. */
static int mvg__lost(node *n, const char *ref, const mv_state *s,
                       arena_t *a, buf_t *why, char winner[32], err_t *e)
{
    const char *keys[LEDGER_KEYS_MAX];
    size_t nk;
    int rc = ledger_keys(&s->data, a, keys, &nk, e);
    for (size_t i = 0; rc == 0 && i < nk; i++) {
        mvact_top t = {{0}};
        rc = store_mv_claims(node_store(n), keys[i], mvg__top, &t, e);
        if (rc >= 0 && t.ref[0] && strcmp(t.ref, ref)) {
            snprintf(winner, 32, "%s", t.ref);
            buf_printf(why, "claim %s lost to movement %s", keys[i], t.ref);
            return 2;
        }
        rc = rc < 0 ? rc : 0;
    }
    return rc;
}

int mvact_decl_id(node *n, const char *ref, char id[MSGID_LEN + 1],
                  err_t *e)
{
    arena_t a;
    arena_init(&a, MVG_ARENA_MAX);
    mvact_first f = {&a, ""};
    int rc = store_mv_log_first(node_store(n), ref, mvg__first, &f, e);
    if (rc >= 0 && !f.id[0])
        rc = err_set(e, ERR_NOTFOUND, "movement %s: no log here", ref);
    if (rc >= 0)
        memcpy(id, f.id, MSGID_LEN + 1);
    arena_free(&a);
    return rc < 0 ? rc : 0;
}

int mvact_unreceipted(node *n, const char *decl_id, err_t *e)
{
    arena_t a;
    buf_t why;
    arena_init(&a, MVG_ARENA_MAX);
    buf_init(&why, 4096);
    int rc = mvg__missing(n, decl_id, &a, &why, e);
    buf_free(&why);
    arena_free(&a);
    return rc;
}

int mvact_gate_claims(node *n, const char *ref, const mv_state *s,
                      buf_t *why, char winner[32], err_t *e)
{
    arena_t a;
    arena_init(&a, MVG_ARENA_MAX);
    winner[0] = '\0';
    int rc = mvg__lost(n, ref, s, &a, why, winner, e);
    arena_free(&a);
    return rc < 0 ? rc : rc == 2 ? 2 : 1;
}

int mvact_gate(node *n, const char *ref, const mv_state *s, buf_t *why,
               char winner[32], err_t *e)
{
    char decl[MSGID_LEN + 1];
    winner[0] = '\0';
    int rc = mvact_decl_id(n, ref, decl, e);
    arena_t a;
    arena_init(&a, MVG_ARENA_MAX);
    int missing = rc >= 0 ? mvg__missing(n, decl, &a, why, e) : rc;
    /* lost only once every claim is known: a claim ahead of ours may
     * still be withdrawn (cancelled) before then. (A count of missing
     * receipts is not a result: two missing is not "lost".) */
    rc = missing == 0 ? mvg__lost(n, ref, s, &a, why, winner, e) : missing;
    arena_free(&a);
    return rc < 0 ? rc : missing > 0 ? 0 : rc == 2 ? 2 : 1;
}
