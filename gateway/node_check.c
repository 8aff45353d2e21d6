/* What an inbound frame means: the checks of docs/protocol.md section 9
 * in their order, the first refusal winning, then the effect of an
 * accepted message (deliver here, forward on, or take a receipt home).
 * Refusals before the signature is verified (steps 1-6) are only logged
 * and dead-lettered: the origin is unproven and must not be answered.
 * Later refusals also send the origin a `refused` receipt. */
#include "node_in.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "envcheck.h"
#include "log.h"
#include "metrics.h"
#include "model_pack.h"

/* A refusal: the code, the text, the dead letter, and for an
 * authenticated message other than a receipt, the refused receipt. */
int in_refuse(node *n, in_item *it, const char *code, const char *fmt, ...)
{
    char why[IN_REASON_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    memset(&it->fx, 0, sizeof it->fx);
    it->rcpt = NULL;
    it->rcpt_refused = 0;
    it->code = code;
    it->why = arena_strdup(&n->arena, why);
    /* "signature" is the reason operators alert on (deploy/prometheus);
     * the other refusals keep their protocol code as the reason */
    met_add(MET_ERRORS, strcmp(code, "bad-signature") ? code : "signature", 1);
    size_t cap = (size_t)n->cfg->delivery.max_frame_bytes;
    it->fx.dlq_reason = code;
    /* operators see which link it came on; the peer's receipt does not */
    char where[IN_REASON_MAX + 64];
    snprintf(where, sizeof where, "link %s: %s", it->peer->id, why);
    it->fx.dlq_where = arena_strdup(&n->arena, where);
    if (!it->fx.dlq_where)
        it->fx.dlq_where = code;
    it->fx.dlq_frame = it->body;
    it->fx.dlq_n = it->bn < cap ? it->bn : cap;
    if (!it->back || !it->v || !strcmp(it->v->type, ENV_RECEIPT_TYPE))
        return -1;
    char reason[ENV_REASON_MAX + 1];
    snprintf(reason, sizeof reason, "%s: %s", code, why);
    err_t e;
    if (node__receipt_env(n, it->v, ENV_REFUSED, reason, &it->rcpt, &e) < 0)
        log_event(LOG_ERROR, "receipt", "id=%s msg=%s", it->v->id,
                  log_q(e.msg));
    else
        it->rcpt_refused = 1;
    return -1;
}

/* Steps 1-3: size, shape, version. */
static int chk__decode(node *n, in_item *it)
{
    int64_t max = n->cfg->delivery.max_frame_bytes;
    err_t e;
    if ((int64_t)it->bn > max) {
        /* decoded only to name the message in the log: never acted on */
        if (env_decode(it->body, it->bn, &n->arena, &it->v, &e) < 0)
            it->v = NULL;
        return in_refuse(n, it, "oversized", "frame of %zu bytes, more "
                         "than delivery.max_frame_bytes (%lld)", it->bn,
                         (long long)max);
    }
    int rc = env_decode(it->body, it->bn, &n->arena, &it->v, &e);
    if (rc == 0)
        return 0;
    it->v = NULL;
    if (rc == ERR_UNSUPPORTED && strstr(e.msg, "field 0 ("))
        return in_refuse(n, it, "unsupported-version", "%s", e.msg);
    if (rc == ERR_UNSUPPORTED && strstr(e.msg, "field 9 ("))
        return in_refuse(n, it, "bad-signature", "%s", e.msg);
    return in_refuse(n, it, "malformed", "%s", e.msg);
}

/* Step 4: the last hop must be the link's authenticated peer. */
static int chk__route(node *n, in_item *it)
{
    const char *last = it->v->route[it->v->nroute - 1];
    if (strcmp(last, it->peer->id))
        return in_refuse(n, it, "route-mismatch", "route ends with %s but "
                           "the frame came from link peer %s", last,
                           it->peer->id);
    return 0;
}

static const char *chk__cert_code(int rc)
{
    switch (rc) {
    case ERR_REVOKED: return "cert-revoked";
    case ERR_EXPIRED: return "cert-expired";
    case ERR_IDENTITY: return "identity-mismatch";
    default: return "unknown-sender";
    }
}

/* Steps 5-6: the signer's certificate, then the signature (envcheck.c,
 * shared with the offline checks of eportctl verify). */
static int chk__signature(node *n, in_item *it)
{
    const env *v = it->v;
    const pki_peer *pp = NULL;
    err_t e;
    int rc = envcheck_sig(n->dir, n->bcache, v, time(NULL), &n->sbuf, &pp,
                          &e);
    if (rc < 0 && !pp)
        return in_refuse(n, it, chk__cert_code(rc), "signer %s: %s",
                         v->signer, e.msg);
    if (rc < 0)
        return in_refuse(n, it, rc == ERR_IDENTITY ? "identity-mismatch"
                         : "bad-signature", "message %s from %s: %s", v->id,
                         v->origin, e.msg);
    return 0;
}

/* Steps 7-8: loops and time. */
static int chk__loop_time(node *n, in_item *it)
{
    const env *v = it->v;
    const char *self = n->cfg->node.id;
    for (uint32_t i = 0; i < v->nroute; i++)
        if (!strcmp(v->route[i], self))
            return in_refuse(n, it, "routing-loop", "%s already handled "
                               "this message", self);
    const cfg_delivery *d = &n->cfg->delivery;
    uint64_t now = (uint64_t)node__now_ms();
    err_t e;
    if (env_check_time(v, now, (uint64_t)d->max_clock_skew_ms,
                       (uint64_t)d->max_age_ms, &e) < 0)
        return in_refuse(n, it, v->created_ms > now ? "future" : "expired",
                           "%s", e.msg);
    return 0;
}

/* The next hop back to the origin: its route, else the link it came on. */
static const char *chk__back(node *n, const env *v, node_peer *link)
{
    const cfg_peer *hop = cfg_next_hop(n->cfg, v->origin);
    return hop ? hop->id : link->id;
}

void in_check(node *n, in_item *it)
{
    if (chk__decode(n, it) < 0 || chk__route(n, it) < 0)
        return;
    if (chk__signature(n, it) < 0)
        return;
    it->back = chk__back(n, it->v, it->peer);
    if (chk__loop_time(n, it) < 0)
        return;
    if (in_forward(n, it) < 0)
        return;
    if (env_for(it->v, n->cfg->node.id))
        in_deliver(n, it);
}

/* Steps 9: where else it goes. The forwarded copy carries this node in
 * its route; the origin's signature does not cover the route. */
int in_forward(node *n, in_item *it)
{
    env *v = it->v;
    const char *self = n->cfg->node.id, *lost = NULL;
    size_t k = 0;
    for (uint32_t i = 0; i < v->ndest; i++) {
        if (!strcmp(v->dest[i], self))
            continue;
        const cfg_peer *hop = cfg_next_hop(n->cfg, v->dest[i]);
        if (!hop) {
            lost = v->dest[i];
            continue;
        }
        int seen = 0;
        for (uint32_t j = 0; j < v->nroute && !seen; j++)
            seen = !strcmp(v->route[j], hop->id);
        for (size_t j = 0; j < k && !seen; j++)
            seen = !strcmp(it->fwd_peers[j], hop->id);
        if (!seen && k < STORE_FWD_MAX)
            it->fwd_peers[k++] = hop->id;
    }
    if (lost)
        log_event(LOG_WARN, "no_route", "id=%s dest=%s", v->id, lost);
    if (k == 0 && !env_for(v, self))
        return in_refuse(n, it, "no-route", "no route from %s to %s", self,
                           lost ? lost : v->dest[0]);
    if (k == 0)
        return 0;
    err_t e;
    buf_reset(&n->ebuf);
    /* valid as decoded; env_route_add checks the hop it adds */
    if (env_route_add(v, self, &n->arena, &e) < 0 ||
        env_encode_unchecked(v, &n->ebuf, &e) < 0)
        return in_refuse(n, it, "routing-loop", "%s", e.msg);
    void *copy = arena_alloc(&n->arena, n->ebuf.len);
    if (!copy)
        return in_refuse(n, it, "oversized", "no room to forward");
    memcpy(copy, n->ebuf.p, n->ebuf.len);
    it->fx.fwd = copy;
    it->fx.fwd_n = n->ebuf.len;
    it->fx.fwd_peers = it->fwd_peers;
    it->fx.nfwd = k;
    return 0;
}
