/* Checks that span keys, run once every value is read: peers against the
 * node and each other, routes against peers, connector names, delays that
 * must be ordered; plus the defaults computed from other keys, and the
 * routing lookups eportd uses. */
#include "config.h"
#include "config_int.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* node.instance's default: the host name and the listen port, which
 * differ between two instances (two cannot bind one port on one host)
 * and stay the same across restarts, so a restarted instance takes its
 * work back at once (store_lease.h). Another endpoint: a hash of it. */
static void cfg__default_instance(cfg *c)
{
    char host[41] = "host", tail[24], out[72];
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789-_.", *p))
            *p = '_';
    const char *l = c->node.listen, *colon = strrchr(l, ':');
    if (colon && colon[1] && strspn(colon + 1, "0123456789") ==
                                 strlen(colon + 1))
        snprintf(tail, sizeof tail, "%s", colon + 1);
    else {
        uint32_t h = 2166136261u; /* FNV-1a */
        for (const char *p = l; *p; p++)
            h = (h ^ (unsigned char)*p) * 16777619u;
        snprintf(tail, sizeof tail, "%08" PRIx32, h);
    }
    snprintf(out, sizeof out, "%s-%s", host[0] ? host : "host", tail);
    c->node.instance = cfg__strdup(c, out);
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
    if (!c->node.instance && c->node.listen)
        cfg__default_instance(c);
    /* pki.ca is absolute once read, so it has a '/' */
    const char *ca = c->pki.ca, *slash = ca ? strrchr(ca, '/') : NULL;
    size_t dirlen = slash == ca ? 1 : (size_t)(slash - ca);
    char *pkidir = slash ? arena_strndup(&c->arena_, ca, dirlen) : NULL;
    c->nomem_ |= slash && !pkidir;
    if (!c->pki.directory)
        c->pki.directory = pkidir;
    const char *du = c->pki.directory_url; /* a path: relative to the file */
    if (du && !strstr(du, "://") && du[0] != '/' && c->dir)
        c->pki.directory_url = cfg__join(c, c->dir, du);
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

/* ---- connectors and clients ---- */

/* Whether the file gives key in item n a value (present, not null):
 * when it does and the field is still unset, the value was refused
 * already and "needs" would only repeat it. */
static int cfg__given(const ynode *n, const char *key)
{
    const ynode *k = ydoc_get(n, key);
    return k && (k->type != YD_SCALAR || *k->value || k->quoted);
}

/* The name of enum key's value v in item n of section s, or NULL when the
 * file gives a value the loader refused (the checks that depend on it
 * are skipped then). */
static const char *cfg__enum_name(const cfg_section *s, const ynode *n,
                                  const char *key, int v)
{
    const ynode *k = ydoc_get(n, key);
    for (size_t r = 0; r < s->nrows; r++)
        if (!strcmp(s->rows[r].name, key))
            return !k || (k->type == YD_SCALAR &&
                          !strcmp(s->rows[r].names[v], k->value))
                       ? s->rows[r].names[v] : NULL;
    return NULL;
}

/* A key that item i needs (want) or must not have (!want), when: "type:
 * filedrop", "out: webhook". */
static void cfg__conn_key(cfg *c, size_t i, const char *key, int set, int want,
                          const char *when, const char *have)
{
    const ynode *n = c->connectors[i].node;
    if (want && !set && !cfg__given(n, key))
        cfg__problem(c, n, "connectors[%zu]: %s needs '%s'", i, when, key);
    else if (!want && set)
        cfg__problem(c, ydoc_get(n, key), "connectors[%zu].%s: only for %s "
                     "(this one has %s)", i, key, when, have);
}

static void cfg__check_conn_type(cfg *c, size_t i)
{
    const cfg_section *s = &cfg_sections[CFG_SEC_CONNECTORS];
    const cfg_connector *k = &c->connectors[i];
    const char *t = cfg__enum_name(s, k->node, "type", k->type);
    char have[48];
    if (!t || !ydoc_get(k->node, "type")) /* type missing: said already */
        return;
    snprintf(have, sizeof have, "type: %s", t);
    cfg__conn_key(c, i, "dir", k->dir != NULL, k->type == CFG_CONN_FILEDROP,
                  "type: filedrop", have);
    cfg__conn_key(c, i, "client", k->client != NULL,
                  k->type == CFG_CONN_FILEDROP, "type: filedrop", have);
    cfg__conn_key(c, i, "listen", k->listen != NULL, k->type == CFG_CONN_ZMQ,
                  "type: zmq", have);
}

static void cfg__check_conn_out(cfg *c, size_t i)
{
    const cfg_section *s = &cfg_sections[CFG_SEC_CONNECTORS];
    const cfg_connector *k = &c->connectors[i];
    const char *o = cfg__enum_name(s, k->node, "out", k->out);
    char have[48];
    if (!o)
        return;
    snprintf(have, sizeof have, "out: %s", o);
    cfg__conn_key(c, i, "out_dir", k->out_dir != NULL, k->out == CFG_OUT_DIR,
                  "out: dir", have);
    cfg__conn_key(c, i, "out_url", k->out_url != NULL,
                  k->out == CFG_OUT_WEBHOOK, "out: webhook", have);
    cfg__conn_key(c, i, "out_endpoint", k->out_endpoint != NULL,
                  k->out == CFG_OUT_ZMQ, "out: zmq", have);
    if (k->out != CFG_OUT_NONE)
        return;
    cfg__conn_key(c, i, "out_mapping", k->out_mapping != NULL, 0,
                  "an out (dir, webhook or zmq)", have);
    cfg__conn_key(c, i, "out_events", k->out_events.n > 0, 0,
                  "an out (dir, webhook or zmq)", have);
}

/* The node of item n's list key, entry j (for "key[j]" problems). */
static const ynode *cfg__list_at(const ynode *n, const char *key, size_t j)
{
    const ynode *l = ydoc_get(n, key), *k = l ? l->kids : NULL;
    for (; k && j; j--)
        k = k->next;
    return k ? k : l ? l : n;
}

static void cfg__check_forward(cfg *c, size_t i)
{
    const cfg_connector *k = &c->connectors[i];
    for (size_t j = 0; j < k->forward.n; j++) {
        const char *id = k->forward.v[j];
        const ynode *at = cfg__list_at(k->node, "forward", j);
        if (c->node.id && !strcmp(id, c->node.id))
            cfg__problem(c, at, "connectors[%zu].forward[%zu]: '%s' is this "
                         "node itself", i, j, id);
        else if (!cfg_next_hop(c, id))
            cfg__problem(c, at, "connectors[%zu].forward[%zu]: '%s' is neither "
                         "a peer nor a node routes lead to", i, j, id);
    }
}

/* A filedrop's client: a client of that very connector, or every file
 * would be refused by auth_allows. */
static void cfg__check_conn_client(cfg *c, size_t i)
{
    const cfg_connector *k = &c->connectors[i];
    const cfg_client *cl = k->client ? cfg_client_find(c, k->client) : NULL;
    const ynode *at = ydoc_get(k->node, "client");
    if (k->client && !cl)
        cfg__problem(c, at, "connectors[%zu].client: no client '%s' in "
                     "clients", i, k->client);
    else if (cl && cl->connector && k->name && strcmp(cl->connector, k->name))
        cfg__problem(c, at, "connectors[%zu].client: client '%s' belongs to "
                     "connector '%s', not '%s'", i, k->client, cl->connector,
                     k->name);
}

/* A national center observes movements and opens none. */
static void cfg__check_declare(cfg *c, size_t i)
{
    const cfg_connector *k = &c->connectors[i];
    if (k->declare && c->node.role == CFG_ROLE_NATIONAL)
        cfg__problem(c, ydoc_get(k->node, "declare"), "connectors[%zu]."
                     "declare: node %s is the national center: it declares "
                     "no movement", i, c->node.id ? c->node.id : "?");
}

static void cfg__check_connectors(cfg *c)
{
    for (size_t i = 0; i < c->nconnectors; i++) {
        if (c->connectors[i].node->type != YD_MAP)
            continue;
        cfg__check_conn_type(c, i);
        cfg__check_conn_out(c, i);
        cfg__check_forward(c, i);
        cfg__check_conn_client(c, i);
        cfg__check_declare(c, i);
    }
}

/* The first client before i whose field at off equals client i's. */
static const cfg_client *cfg__client_same(const cfg *c, size_t i, size_t off,
                                          size_t *j)
{
    const char *v = *(const char *const *)((const char *)&c->clients[i] + off);
    for (*j = 0; v && *j < i; (*j)++) {
        const char *w = *(const char *const *)((const char *)&c->clients[*j] + off);
        if (w && !strcmp(v, w))
            return &c->clients[*j];
    }
    return NULL;
}

/* A rule both strict and lenient for one client is a contradiction. */
static void cfg__check_strictness(cfg *c, size_t i)
{
    const cfg_client *cl = &c->clients[i];
    for (size_t k = 0; k < cl->lenient.n; k++)
        if (cfg_strs_has(&cl->strict, cl->lenient.v[k]))
            cfg__problem(c, ydoc_get(cl->node, "lenient"), "clients[%zu]."
                         "lenient: '%s' is also in clients[%zu].strict", i,
                         cl->lenient.v[k], i);
}

static void cfg__check_clients(cfg *c)
{
    for (size_t i = 0; i < c->nclients; i++) {
        const cfg_client *cl = &c->clients[i];
        size_t j;
        if (cfg__client_same(c, i, offsetof(cfg_client, id), &j))
            cfg__problem(c, ydoc_get(cl->node, "id"), "clients[%zu].id: "
                         "duplicate id '%s' (also clients[%zu])", i, cl->id, j);
        if (cfg__client_same(c, i, offsetof(cfg_client, key_sha256), &j))
            cfg__problem(c, ydoc_get(cl->node, "key_sha256"), "clients[%zu]."
                         "key_sha256: the same key as clients[%zu]", i, j);
        if (cl->connector && !cfg_connector_find(c, cl->connector))
            cfg__problem(c, ydoc_get(cl->node, "connector"), "clients[%zu]."
                         "connector: no connector '%s' in connectors", i,
                         cl->connector);
        cfg__check_strictness(c, i);
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
    /* a round of leases can wait behind one blocked command (a WAIT of
     * timeout_ms): the lease must outlive that plus the third of it
     * between rounds, or a node whose replica is slow gives its jobs
     * away (node_ha.c) */
    int64_t idle = c->ha.claim_idle_ms, t = c->redis.timeout_ms;
    if (idle && t && 2 * idle <= 3 * t)
        cfg__problem(c, cfg__at(c, "ha", "claim_idle_ms", "claim_idle_ms"),
                     "ha.claim_idle_ms: %" PRId64 " must be more than 1.5 "
                     "times redis.timeout_ms (%" PRId64 "): a lease must "
                     "outlive a blocked WAIT", idle, t);
}

/* A down_after within one interval would show members down between two
 * health messages. */
static void cfg__check_health(cfg *c)
{
    const cfg_health *h = &c->health;
    if (h->interval_ms && h->down_after_ms &&
        h->down_after_ms <= h->interval_ms)
        cfg__problem(c, cfg__at(c, "health", "down_after_ms", "interval_ms"),
                     "health.down_after_ms: %" PRId64 " must be more than "
                     "interval_ms (%" PRId64 ")", h->down_after_ms,
                     h->interval_ms);
}

/* A node documents are sent to for matching: this one, or one the
 * node can reach. */
static void cfg__check_reach(cfg *c, const ynode *at, const char *where,
                             const char *id)
{
    if (id && (!c->node.id || strcmp(id, c->node.id)) && !cfg_next_hop(c, id))
        cfg__problem(c, at, "%s: '%s' is neither this node, a peer nor a "
                     "node routes lead to", where, id);
}

static void cfg__check_cbec(cfg *c)
{
    char where[64];
    cfg__check_reach(c, cfg__at(c, "cbec", "clearing", "clearing"), "cbec.clearing",
                     c->cbec.clearing);
    for (size_t i = 0; i < c->ncbec_routes; i++) {
        const cfg_cbec_route *r = &c->cbec_routes[i];
        int n = !!r->customs + !!r->platform + !!r->carrier + !!r->order_prefix;
        if (n != 1)
            cfg__problem(c, r->node_, "cbec_routes[%zu]: give exactly one of "
                         "customs, platform, carrier, order_prefix (found %d)",
                         i, n);
        snprintf(where, sizeof where, "cbec_routes[%zu].node", i);
        cfg__check_reach(c, ydoc_get(r->node_, "node"), where, r->node);
    }
}

void cfg__check(cfg *c)
{
    cfg__check_cbec(c);
    cfg__check_peers(c);
    cfg__check_routes(c);
    cfg__check_names(c);
    cfg__check_connectors(c);
    cfg__check_clients(c);
    cfg__check_delays(c);
    cfg__check_health(c);
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

const cfg_connector *cfg_connector_find(const cfg *c, const char *name)
{
    for (size_t i = 0; name && i < c->nconnectors; i++)
        if (c->connectors[i].name && !strcmp(c->connectors[i].name, name))
            return &c->connectors[i];
    return NULL;
}

const cfg_client *cfg_client_find(const cfg *c, const char *id)
{
    for (size_t i = 0; id && i < c->nclients; i++)
        if (c->clients[i].id && !strcmp(c->clients[i].id, id))
            return &c->clients[i];
    return NULL;
}

int cfg_strs_has(const cfg_strs *l, const char *word)
{
    for (size_t i = 0; word && i < l->n; i++)
        if (!strcmp(l->v[i], word) || !strcmp(l->v[i], "*"))
            return 1;
    return 0;
}
