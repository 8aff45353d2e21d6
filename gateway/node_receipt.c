/* Receipts a node writes as a destination (docs/protocol.md section 5).
 * During an inbound round they are only built; the round then seals all
 * of them together (node__seal_all), so that signing costs once per
 * round rather than once per message when the key signs batches. */
#include "node_in.h"

#include <string.h>

#include "log.h"

int node__receipt_env(node *n, const env *orig, env_status status,
                      const char *reason, env **out, err_t *e)
{
    return node__receipt_env_d(n, orig, status, reason, out, NULL, e);
}

int node__receipt_env_d(node *n, const env *orig, env_status status,
                        const char *reason, env **out,
                        unsigned char *digest, err_t *e)
{
    env_receipt r;
    buf_t rb;
    buf_init(&rb, ENV_RECEIPT_MAX);
    env *v = arena_zalloc(&n->arena, sizeof *v);
    const char **dest = arena_alloc(&n->arena, sizeof *dest);
    int rc = v && dest ? 0 : err_set(e, ERR_NOMEM, "receipt: out of memory");
    if (rc == 0)
        rc = env_receipt_init(&r, orig, status, reason,
                              (uint64_t)node__now_ms(), e);
    if (rc == 0 && digest)
        memcpy(digest, r.digest, ENV_DIGEST_LEN);
    if (rc == 0)
        rc = env_receipt_encode(&r, &rb, e);
    unsigned char *body = rc == 0 ? arena_alloc(&n->arena, rb.len) : NULL;
    if (rc == 0 && !body)
        rc = err_set(e, ERR_NOMEM, "receipt: out of memory");
    if (rc == 0) {
        memcpy(body, rb.p, rb.len);
        rc = env_init(v, ENV_RECEIPT_TYPE, n->cfg->node.id, &n->arena, e);
    }
    if (rc == 0) {
        dest[0] = arena_strdup(&n->arena, orig->origin);
        v->dest = dest;
        v->ndest = 1;
        v->ref = orig->ref ? arena_strdup(&n->arena, orig->ref) : NULL;
        v->payload = body;
        v->payload_len = rb.len;
        *out = v;
    }
    buf_free(&rb);
    return rc;
}

int node__receipt(node *n, const env *orig, env_status status,
                  const char *reason, err_t *e)
{
    env *v;
    int rc = node__receipt_env(n, orig, status, reason, &v, e);
    return rc < 0 ? rc : node__seal(n, v, e);
}

/* Where a sealed receipt's frame goes in the item's effect. */
static void rcpt__place(in_item *it, const void *frame, size_t len)
{
    if (it->rcpt_refused) {
        it->fx.fwd = frame;
        it->fx.fwd_n = len;
        it->fwd_peers[0] = it->back;
        it->fx.fwd_peers = it->fwd_peers;
        it->fx.nfwd = 1;
    } else {
        it->fx.receipt = frame;
        it->fx.receipt_n = len;
    }
}

typedef struct seal_ctx {
    node *n;
    in_item **items;
} seal_ctx;

static int rcpt__emit(void *ctx, size_t i, const void *frame, size_t len,
                      err_t *e)
{
    seal_ctx *c = ctx;
    void *copy = arena_alloc(&c->n->arena, len);
    if (!copy)
        return err_set(e, ERR_NOMEM, "receipt: out of memory");
    memcpy(copy, frame, len);
    rcpt__place(c->items[i], copy, len);
    return 0;
}

/* If the round's receipts cannot be sealed, none of its messages is
 * handled: without a receipt the origin would resend forever, so the
 * link waits (the sender resends) and the log says why. */
void node__seal_all(node *n, in_batch *b)
{
    in_item *items[NODE_IN_BATCH];
    env *v[NODE_IN_BATCH];
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->items[i].kind == IN_OP && b->items[i].rcpt) {
            items[k] = &b->items[i];
            v[k++] = b->items[i].rcpt;
        }
    seal_ctx c = { n, items };
    err_t e;
    if (k == 0 || node__seal_many(n, v, k, rcpt__emit, &c, &e) == 0)
        return;
    log_event(LOG_ERROR, "receipt", "receipts=%zu msg=%s", k, log_q(e.msg));
    for (size_t i = 0; i < k; i++)
        items[i]->kind = IN_GAP;
}
