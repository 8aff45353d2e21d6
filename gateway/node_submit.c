/* The origin's side: sealing envelopes (own messages and receipts) and
 * queueing a new message durably. */
#include "node_int.h"

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

int node_submit(node *n, const char *type, const char *const *dests,
                size_t ndest, const char *ref, const void *payload,
                size_t len, char id[MSGID_LEN + 1], err_t *e)
{
    if (ndest == 0 || ndest > ENV_MAX_DEST)
        return err_set(e, ERR_INVALID, "1 to %d destinations, not %zu",
                       ENV_MAX_DEST, ndest);
    const char *hops[ENV_MAX_DEST];
    size_t nhops;
    arena_reset(&n->arena);
    int rc = node__hops(n, dests, ndest, hops, &nhops, e);
    env v;
    if (rc == 0)
        rc = env_init(&v, type, n->cfg->node.id, &n->arena, e);
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
    rc = store_submit(n->st, v.id, n->ebuf.p, n->ebuf.len, hops, nhops,
                      dests, ndest, created,
                      created + n->cfg->delivery.receipt_timeout_ms, e);
    if (rc >= 0 && n->cfg->redis.wait_replicas > 0)
        rc = store_wait_replicas(n->st, n->cfg->redis.wait_replicas,
                                 n->cfg->redis.timeout_ms, e);
    if (rc >= 0)
        memcpy(id, v.id, MSGID_LEN + 1);
    return rc < 0 ? rc : 0;
}
