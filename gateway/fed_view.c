/* fed_view: every node the center follows, loaded from v1:fed:* in one
 * pass: who they are (this node, its configured peers, anyone heard
 * from), the last health message of each and its counter history. The
 * JSON of GET /v1/federation and the node rules read the same view, so
 * the dashboard and the alerts never disagree about a node. */
#include "fed_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- history lines ---- */

/* The deepest queue of h and its name. */
static uint64_t fv__deepest(const fed_health *h, char *name, size_t n)
{
    static const char *const names[4] = {"local", "await", "dlq", "lout"};
    const uint64_t v[4] = {h->local, h->await, h->dlq, h->lout};
    uint64_t best = 0;
    snprintf(name, n, "-");
    for (size_t i = 0; i < 4; i++)
        if (v[i] > best)
            best = v[i], snprintf(name, n, "%s", names[i]);
    for (uint64_t i = 0; i < h->npeers; i++)
        if (h->peers[i].outbox > best) {
            best = h->peers[i].outbox;
            snprintf(name, n, "outbox:%s", h->peers[i].id);
        }
    return best;
}

void fed_hist_line(const fed_health *h, char *out, size_t n)
{
    char q[FED_QNAME_MAX];
    uint64_t depth = fv__deepest(h, q, sizeof q);
    snprintf(out, n, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
             " %" PRIu64 " %s", h->at_ms, h->in + h->delivered,
             h->out + h->sent, h->sig_failures, depth, q);
}

int fed_hist_parse(const char *s, fed_hist *out)
{
    unsigned long long at, in, o, sig, depth;
    char q[FED_QNAME_MAX];
    if (sscanf(s, "%llu %llu %llu %llu %llu %71s", &at, &in, &o, &sig,
               &depth, q) != 6)
        return -1;
    *out = (fed_hist){(int64_t)at, in, o, sig, depth, ""};
    snprintf(out->qname, sizeof out->qname, "%s", q);
    return 0;
}

/* ---- the list of nodes ---- */

static fed_node *fv__add(fed_view *v, const char *id, const char *region,
                         int member)
{
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->nodes[i].id, id)) {
            v->nodes[i].member |= member;
            return &v->nodes[i];
        }
    if (v->n == FED_NODES_MAX || strlen(id) > FED_HEALTH_ID_MAX)
        return NULL;
    fed_node *nd = &v->nodes[v->n++];
    snprintf(nd->id, sizeof nd->id, "%s", id);
    snprintf(nd->region, sizeof nd->region, "%s", region ? region : "");
    nd->member = member;
    return nd;
}

static int fv__member(void *ctx, const char *s, size_t n, err_t *e)
{
    (void)n, (void)e;
    fv__add(ctx, s, NULL, 0);
    return 0;
}

static int fv__hist_one(void *ctx, const char *s, size_t n, err_t *e)
{
    fed_node *nd = ctx;
    (void)n, (void)e;
    if (nd->nhist < FED_HIST_MAX && fed_hist_parse(s, &nd->hist[nd->nhist])
        == 0)
        nd->nhist++;
    return 0;
}

/* nd's record and history; a payload that no longer decodes is left out
 * (logged by whoever notices: the node is then shown as never heard). */
static int fv__load_node(store *st, fed_node *nd, buf_t *b, err_t *e)
{
    buf_reset(b);
    int rc = fed_store_node(st, nd->id, &nd->seen_ms, b, e);
    if (rc <= 0)
        return rc;
    err_t de;
    nd->heard = fed_health_decode(b->p, b->len, &nd->h, &de) == 0;
    if (nd->heard && !nd->region[0])
        snprintf(nd->region, sizeof nd->region, "%s", nd->h.region);
    return fed_store_hist(st, nd->id, FED_HIST_MAX, fv__hist_one, nd, e);
}

static int fv__cmp(const void *a, const void *b)
{
    return strcmp(((const fed_node *)a)->id, ((const fed_node *)b)->id);
}

int fed_view_load(store *st, const cfg *c, int64_t now, fed_view *v,
                  err_t *e)
{
    *v = (fed_view){now, c->health.down_after_ms, NULL, 0};
    if (!(v->nodes = calloc(FED_NODES_MAX, sizeof *v->nodes)))
        return err_set(e, ERR_NOMEM, "federation view: out of memory");
    fv__add(v, c->node.id, c->node.region, 1);
    for (size_t i = 0; i < c->npeers; i++)
        fv__add(v, c->peers[i].id, c->peers[i].region, 1);
    int rc = fed_store_members(st, fv__member, v, e);
    buf_t b;
    buf_init(&b, FED_HEALTH_MAX_BYTES);
    for (size_t i = 0; rc >= 0 && i < v->n; i++)
        rc = fv__load_node(st, &v->nodes[i], &b, e);
    buf_free(&b);
    qsort(v->nodes, v->n, sizeof *v->nodes, fv__cmp);
    return rc < 0 ? rc : 0;
}

void fed_view_free(fed_view *v)
{
    free(v->nodes);
    v->nodes = NULL;
    v->n = 0;
}

/* ---- liveness and rates ---- */

int fed_node_up(const fed_view *v, const fed_node *nd)
{
    return nd->seen_ms > 0 && v->now - nd->seen_ms <= v->down_after_ms;
}

void fed_node_rates(const fed_view *v, const fed_node *nd, double *in,
                    double *out)
{
    *in = *out = 0;
    if (!fed_node_up(v, nd) || nd->nhist < 2)
        return;
    const fed_hist *top = &nd->hist[0], *base = top;
    for (size_t i = 1; i < nd->nhist; i++) {
        const fed_hist *h = &nd->hist[i];
        if (top->at - h->at > FED_RATE_WINDOW_MS || h->in > base->in ||
            h->out > base->out || h->at >= base->at)
            break; /* out of the window, or before a restart */
        base = h;
    }
    double s = (double)(top->at - base->at) / 1000.0;
    if (s <= 0)
        return;
    *in = (double)(top->in - base->in) / s;
    *out = (double)(top->out - base->out) / s;
}
