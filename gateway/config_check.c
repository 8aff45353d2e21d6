/* Checks that span keys, run once every value is read: peers against the
 * node and each other, routes against peers, connector names, delays that
 * must be ordered; plus the defaults computed from other keys, and the
 * routing lookups eportd uses. */
#include "config.h"
#include "config_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The node of section.key when the file gives it, else of section.other,
 * else the section's, else the root: where a problem is best shown. */
static const ynode *cfg__at(const cfg *c, const char *section, const char *key,
                            const char *other)
{
    const ynode *s = ydoc_get(c->doc.root, section);
    const ynode *k = ydoc_get(s, key);
    k = k ? k : ydoc_get(s, other); /* key defaulted: show what clashes */
    return k ? k : s ? s : c->doc.root;
}

/* ledger.national not given: the peer of region CN, the national
 * center of the demo federation; none when there is no such peer. */
static void cfg__derive_national(cfg *c)
{
    for (size_t i = 0; !c->ledger.national && i < c->npeers; i++)
        if (c->peers[i].id && c->peers[i].region &&
            !strcmp(c->peers[i].region, "CN"))
            c->ledger.national = c->peers[i].id;
    if (!c->ledger.national)
        c->ledger.national = "";
}

/* Defaults computed from other keys: the Redis prefix from the node id,
 * peers' pinned certificate and CURVE key from the directory of the CA
 * (where deploy/pki writes every node's files). */
void cfg__derive(cfg *c)
{
    char tmp[128];
    if (!c->redis.prefix && c->node.id) {
        snprintf(tmp, sizeof tmp, "eport:%s:", c->node.id);
        c->redis.prefix = cfg__strdup(c, tmp);
    }
    /* pki.ca is absolute once read, so it has a '/' */
    const char *ca = c->pki.ca, *slash = ca ? strrchr(ca, '/') : NULL;
    size_t dirlen = slash == ca ? 1 : (size_t)(slash - ca);
    char *pkidir = slash ? arena_strndup(&c->arena_, ca, dirlen) : NULL;
    c->nomem_ |= slash && !pkidir;
    if (!c->pki.directory)
        c->pki.directory = pkidir;
    for (size_t i = 0; pkidir && i < c->npeers; i++) {
        cfg_peer *p = &c->peers[i];
        if (!p->id)
            continue;
        snprintf(tmp, sizeof tmp, "%s.crt", p->id);
        p->cert = p->cert ? p->cert : cfg__join(c, pkidir, tmp);
        snprintf(tmp, sizeof tmp, "%s.curve.pub", p->id);
        p->curve_public = p->curve_public ? p->curve_public : cfg__join(c, pkidir, tmp);
    }
    cfg__derive_national(c);
}

/* Which earlier peer (before i) lists endpoint ep, or NULL. */
static const cfg_peer *cfg__endpoint_owner(const cfg *c, size_t i, const char *ep)
{
    for (size_t j = 0; j < i; j++)
        for (size_t k = 0; k < c->peers[j].endpoints.n; k++)
            if (!strcmp(c->peers[j].endpoints.v[k], ep))
                return &c->peers[j];
    return NULL;
}

static void cfg__check_endpoints(cfg *c, size_t i)
{
    const cfg_peer *p = &c->peers[i], *other;
    const ynode *list = ydoc_get(p->node, "endpoints");
    const ynode *at = list ? list->kids : NULL;
    for (size_t k = 0; at && k < p->endpoints.n; k++, at = at->next) {
        const char *ep = p->endpoints.v[k];
        if (!strncmp(ep, "tcp://*:", 8))
            cfg__problem(c, at, "peers[%zu].endpoints[%zu]: '%s': '*' is only "
                         "for node.listen; give the peer's address", i, k, ep);
        else if (c->node.listen && !strcmp(ep, c->node.listen))
            cfg__problem(c, at, "peers[%zu].endpoints[%zu]: '%s' is this node's "
                         "own node.listen", i, k, ep);
        else if ((other = cfg__endpoint_owner(c, i, ep)) && other->id)
            cfg__problem(c, at, "peers[%zu].endpoints[%zu]: '%s' is also an "
                         "endpoint of peer %s", i, k, ep, other->id);
    }
}

static void cfg__check_peers(cfg *c)
{
    for (size_t i = 0; i < c->npeers; i++) {
        const cfg_peer *p = &c->peers[i];
        const ynode *at = ydoc_get(p->node, "id");
        cfg__check_endpoints(c, i);
        if (!p->id)
            continue;
        if (c->node.id && !strcmp(p->id, c->node.id))
            cfg__problem(c, at, "peers[%zu].id: '%s' is this node's own id "
                         "(node.id)", i, p->id);
        for (size_t j = 0; j < i; j++)
            if (c->peers[j].id && !strcmp(c->peers[j].id, p->id)) {
                cfg__problem(c, at, "peers[%zu].id: duplicate peer '%s' (also "
                             "peers[%zu])", i, p->id, j);
                break;
            }
    }
}

static void cfg__check_routes(cfg *c)
{
    char ids[512];
    const char *names[64];
    size_t n = 0;
    for (size_t i = 0; i < c->npeers && n < 64; i++)
        if (c->peers[i].id)
            names[n++] = c->peers[i].id;
    cfg__join_names(names, n, ids, sizeof ids);
    for (size_t i = 0; i < c->nroutes; i++) {
        const cfg_route *r = &c->routes[i];
        if (c->node.id && !strcmp(r->dest, c->node.id))
            cfg__problem(c, r->node, "routes.%s: a route to this node itself",
                         r->dest);
        else if (cfg_peer_find(c, r->dest))
            cfg__problem(c, r->node, "routes.%s: %s is a peer; routes are for "
                         "nodes that are not", r->dest, r->dest);
        else if (r->via && !cfg_peer_find(c, r->via))
            cfg__problem(c, r->node, "routes.%s: next hop '%s' is not a peer "
                         "(peers: %s)", r->dest, r->via, n ? ids : "none");
    }
}

static void cfg__check_names(cfg *c)
{
    for (size_t i = 0; i < c->nconnectors; i++)
        for (size_t j = 0; c->connectors[i].name && j < i; j++)
            if (c->connectors[j].name &&
                !strcmp(c->connectors[i].name, c->connectors[j].name)) {
                cfg__problem(c, ydoc_get(c->connectors[i].node, "name"),
                             "connectors[%zu].name: duplicate name '%s' (also "
                             "connectors[%zu])", i, c->connectors[i].name, j);
                break;
            }
}

static void cfg__check_delays(cfg *c)
{
    const cfg_delivery *d = &c->delivery;
    /* 0: the value was refused already; say nothing more about it */
    if (d->retry_initial_ms && d->retry_max_ms &&
        d->retry_max_ms < d->retry_initial_ms)
        cfg__problem(c, cfg__at(c, "delivery", "retry_max_ms", "retry_initial_ms"),
                     "delivery.retry_max_ms: %" PRId64 " is less than "
                     "retry_initial_ms (%" PRId64 ")", d->retry_max_ms,
                     d->retry_initial_ms);
    if (d->heartbeat_ms && d->heartbeat_timeout_ms &&
        d->heartbeat_timeout_ms <= d->heartbeat_ms)
        cfg__problem(c, cfg__at(c, "delivery", "heartbeat_timeout_ms", "heartbeat_ms"),
                     "delivery.heartbeat_timeout_ms: %" PRId64 " must be more "
                     "than heartbeat_ms (%" PRId64 ")", d->heartbeat_timeout_ms,
                     d->heartbeat_ms);
}

void cfg__check(cfg *c)
{
    cfg__check_peers(c);
    cfg__check_routes(c);
    cfg__check_names(c);
    cfg__check_delays(c);
}

/* ---- lookups ---- */

const cfg_peer *cfg_peer_find(const cfg *c, const char *id)
{
    for (size_t i = 0; i < c->npeers; i++)
        if (c->peers[i].id && !strcmp(c->peers[i].id, id))
            return &c->peers[i];
    return NULL;
}

const cfg_peer *cfg_next_hop(const cfg *c, const char *dest)
{
    if (c->node.id && !strcmp(dest, c->node.id))
        return NULL;
    const cfg_peer *p = cfg_peer_find(c, dest);
    for (size_t i = 0; !p && i < c->nroutes; i++)
        if (!strcmp(c->routes[i].dest, dest) && c->routes[i].via)
            return cfg_peer_find(c, c->routes[i].via);
    return p;
}

int cfg_ledger_auto(const cfg *c, const char *step)
{
    for (size_t i = 0; i < c->ledger.steps.n; i++)
        if (!strcmp(c->ledger.steps.v[i], step))
            return 1;
    return 0;
}
