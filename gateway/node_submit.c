/* The origin's side: sealing envelopes (own messages and receipts) and
 * queueing a new message durably. */
#include "node_int.h"

#include "batchsig.h"
#include "store_mv.h"

#include <stdio.h>
#include <string.h>

int node__seal(node *n, env *v, err_t *e)
{
    unsigned char sig[PKI_SIG_MAX];
    size_t siglen = sizeof sig;
    snprintf(v->sig_alg, sizeof v->sig_alg, "%s",
             pki_alg_name(pki_key_alg(n->key)));
    buf_reset(&n->sbuf);
    int rc = env_signed_bytes(v, &n->sbuf, e);
    if (rc == 0)
        rc = pki_sign(n->key, n->sbuf.p, n->sbuf.len, sig, &siglen, e);
    if (rc < 0)
        return rc;
    v->sig = sig;
    v->sig_len = siglen;
    buf_reset(&n->ebuf);
    rc = env_encode(v, &n->ebuf, e);
    v->sig = NULL; /* sig is this frame's local */
    v->sig_len = 0;
    return rc;
}

/* The distinct next hops of dests; ERR_INVALID naming a destination
 * this node cannot reach (or itself). */
static int node__hops(node *n, const char *const *dests, size_t ndest,
                      const char **hops, size_t *nhops, err_t *e)
{
    *nhops = 0;
    for (size_t i = 0; i < ndest; i++) {
        if (!strcmp(dests[i], n->cfg->node.id))
            return err_set(e, ERR_INVALID, "destination %s is this node",
                           dests[i]);
        const cfg_peer *hop = cfg_next_hop(n->cfg, dests[i]);
        if (!hop)
            return err_set(e, ERR_INVALID, "no route to %s: not a peer and "
                           "not in routes (%s)", dests[i], n->cfg->path);
        size_t k = 0;
        while (k < *nhops && strcmp(hops[k], hop->id))
            k++;
        if (k == *nhops)
            hops[(*nhops)++] = hop->id;
    }
    return 0;
}

/* One signature for all k (batchsig.h): each envelope carries its proof
 * and stays verifiable alone wherever it goes. */
int node__seal_many(node *n, env **v, size_t k, node_emit_fn emit,
                    void *ctx, err_t *e)
{
    int rc = batchsig_sign(n->key, v, k, &n->arena, e);
    for (size_t i = 0; rc == 0 && i < k; i++) {
        buf_reset(&n->ebuf);
        /* batchsig_sign validated each before signing it */
        rc = env_encode_unchecked(v[i], &n->ebuf, e);
        if (rc == 0)
            rc = emit(ctx, i, n->ebuf.p, n->ebuf.len, e);
    }
    return rc;
}

typedef struct submit_ctx {
    node *n;
    env **v;
    const char **hops;
    size_t nhops;
    const char *const *dests;
    size_t ndest;
    char (*ids)[MSGID_LEN + 1]; /* NULL: ids chosen by the caller */
    store_sub *subs;            /* with ids NULL: the frames, for one
                                   pipelined store_submit_once_many */
} submit_ctx;

static int node__store_one(void *ctx, size_t i, const void *frame,
                           size_t len, err_t *e)
{
    submit_ctx *s = ctx;
    const env *v = s->v[i];
    int64_t created = (int64_t)v->created_ms;
    int64_t retry = created + s->n->cfg->delivery.receipt_timeout_ms;
    if (!s->ids) { /* frame is n->ebuf's, reused: keep a copy */
        void *copy = arena_alloc(&s->n->arena, len ? len : 1);
        if (!copy)
            return err_set(e, ERR_NOMEM, "submit: out of memory");
        memcpy(copy, frame, len);
        s->subs[i] = (store_sub){v->id, copy, len, created, retry};
        return 0;
    }
    int rc = store_submit(s->n->st, v->id, frame, len, s->hops, s->nhops,
                          s->dests, s->ndest, created, retry, e);
    if (rc >= 0)
        memcpy(s->ids[i], v->id, MSGID_LEN + 1);
    return rc < 0 ? rc : 0;
}

/* The envelopes of a submission, in the arena, not yet signed; ids
 * as_ids[i] when as_ids is not NULL (created_ms stays now). */
static int node__envs(node *n, const char *type, const char *const *dests,
                      size_t ndest, const char *ref,
                      const void *const *payloads, const size_t *lens,
                      size_t count, const char *const *as_ids, env **v,
                      err_t *e)
{
    for (size_t i = 0; i < count; i++) {
        v[i] = arena_zalloc(&n->arena, sizeof *v[i]);
        if (!v[i])
            return err_set(e, ERR_NOMEM, "submit: out of memory");
        int rc = env_init(v[i], type, n->cfg->node.id, &n->arena, e);
        if (rc == 0 && as_ids && (rc = msgid_parse(as_ids[i], NULL, e)) == 0)
            memcpy(v[i]->id, as_ids[i], MSGID_LEN + 1);
        if (rc < 0)
            return rc;
        v[i]->dest = (const char **)dests;
        v[i]->ndest = (uint32_t)ndest;
        v[i]->ref = ref;
        v[i]->payload = payloads[i];
        v[i]->payload_len = lens[i];
    }
    return 0;
}

/* Seal the k envelopes of s and store them: one by one (fresh ids), or
 * with ids the caller chose, all in one pipelined round trip (dup[i] =
 * submitted before). */
static int node__store_all(node *n, submit_ctx *s, size_t k, int *dup,
                           err_t *e)
{
    if (!s->ids && !(s->subs = arena_alloc(&n->arena, k * sizeof *s->subs)))
        return err_set(e, ERR_NOMEM, "submit: out of memory");
    int rc = node__seal_many(n, s->v, k, node__store_one, s, e);
    store_sub_to to = {s->hops, s->nhops, s->dests, s->ndest,
                       NODE_ONCE_TTL_MS};
    if (rc == 0 && !s->ids)
        rc = store_submit_once_many(n->st, s->subs, k, &to, dup, e);
    return rc;
}

/* node_submit_many, or node_submit_as when as_ids is not NULL (then ids
 * is NULL and dup is filled). */
static int node__submit(node *n, const char *type, const char *const *dests,
                        size_t ndest, const char *ref,
                        const void *const *payloads, const size_t *lens,
                        size_t count, const char *const *as_ids,
                        char (*ids)[MSGID_LEN + 1], int *dup, err_t *e)
{
    if (ndest == 0 || ndest > ENV_MAX_DEST)
        return err_set(e, ERR_INVALID, "1 to %d destinations, not %zu",
                       ENV_MAX_DEST, ndest);
    if (count == 0 || count > NODE_SUBMIT_MAX)
        return err_set(e, ERR_INVALID, "1 to %d messages at once, not %zu",
                       NODE_SUBMIT_MAX, count);
    const char *hops[ENV_MAX_DEST];
    env *v[NODE_SUBMIT_MAX];
    size_t nhops;
    arena_reset(&n->arena);
    int rc = node__hops(n, dests, ndest, hops, &nhops, e);
    if (rc == 0)
        rc = node__envs(n, type, dests, ndest, ref, payloads, lens, count,
                        as_ids, v, e);
    submit_ctx s = { n, v, hops, nhops, dests, ndest, ids, NULL };
    if (rc == 0)
        rc = node__store_all(n, &s, count, dup, e);
    if (rc == 0 && n->cfg->redis.wait_replicas > 0)
        rc = store_wait_replicas(n->st, n->cfg->redis.wait_replicas,
                                 n->cfg->redis.timeout_ms, e);
    return rc < 0 ? rc : 0;
}

int node_submit_many(node *n, const char *type, const char *const *dests,
                     size_t ndest, const char *ref,
                     const void *const *payloads, const size_t *lens,
                     size_t count, char (*ids)[MSGID_LEN + 1], err_t *e)
{
    return node__submit(n, type, dests, ndest, ref, payloads, lens, count,
                        NULL, ids, NULL, e);
}

int node_submit_as(node *n, const char *type, const char *const *dests,
                   size_t ndest, const char *ref, const void *const *payloads,
                   const size_t *lens, size_t count,
                   const char *const *as_ids, int *dup, err_t *e)
{
    if (!as_ids || !dup)
        return err_set(e, ERR_USAGE, "node_submit_as: ids and dup needed");
    return node__submit(n, type, dests, ndest, ref, payloads, lens, count,
                        as_ids, NULL, dup, e);
}

int node_submit(node *n, const char *type, const char *const *dests,
                size_t ndest, const char *ref, const void *payload,
                size_t len, char id[MSGID_LEN + 1], err_t *e)
{
    const void *p[1] = { payload };
    size_t l[1] = { len };
    return node_submit_many(n, type, dests, ndest, ref, p, l, 1,
                            (char (*)[MSGID_LEN + 1])id, e);
}

int node_submit_self(node *n, const char *type, const char *const *dests,
                     size_t ndest, const char *ref, const void *payload,
                     size_t len, const struct store_mv_claim *claim,
                     char id[MSGID_LEN + 1], char winner[32], err_t *e)
{
    return node_submit_self_as(n, type, dests, ndest, ref, payload, len,
                               claim, NULL, id, winner, e);
}

int node_submit_self_as(node *n, const char *type, const char *const *dests,
                        size_t ndest, const char *ref, const void *payload,
                        size_t len, const struct store_mv_claim *claim,
                        const char *as_id, char id[MSGID_LEN + 1],
                        char winner[32], err_t *e)
{
    if (ndest == 0 || ndest > ENV_MAX_DEST)
        return err_set(e, ERR_INVALID, "1 to %d destinations, not %zu",
                       ENV_MAX_DEST, ndest);
    const char *hops[ENV_MAX_DEST];
    size_t nhops;
    env v;
    arena_reset(&n->arena);
    int rc = node__hops(n, dests, ndest, hops, &nhops, e);
    if (rc == 0)
        rc = env_init(&v, type, n->cfg->node.id, &n->arena, e);
    if (rc == 0 && as_id && (rc = msgid_parse(as_id, NULL, e)) == 0)
        memcpy(v.id, as_id, MSGID_LEN + 1); /* created_ms stays now */
    if (rc < 0)
        return rc;
    v.dest = (const char **)dests;
    v.ndest = (uint32_t)ndest;
    v.ref = ref;
    v.payload = payload;
    v.payload_len = len;
    if ((rc = node__seal(n, &v, e)) < 0)
        return rc;
    int64_t created = (int64_t)v.created_ms;
    winner[0] = '\0';
    rc = store_mv_submit(n->st, v.id, n->ebuf.p, n->ebuf.len, hops, nhops,
                         dests, ndest, created,
                         created + n->cfg->delivery.receipt_timeout_ms, claim,
                         winner, e);
    if (rc >= 0)
        memcpy(id, v.id, MSGID_LEN + 1);
    if (rc >= 0 && n->cfg->redis.wait_replicas > 0 &&
        store_wait_replicas(n->st, n->cfg->redis.wait_replicas,
                            n->cfg->redis.timeout_ms, e) < 0)
        return e->code;
    return rc;
}
