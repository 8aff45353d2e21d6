/* Opening and closing a node: its PKI and directory (the signed
 * federation directory through fdir_node.h), its store, its links.
 * Reload (SIGHUP) runs the same steps again on a new config. */
#include "node_int.h"
#include "node_fanout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fdir_node.h"
#include "log.h"
#include "map.h"
#include "store_mv.h"

/* A CURVE key file: 40 characters of Z85 and an optional newline. */
static int node__read_key(const char *path, char out[LINK_KEY_Z85_LEN + 1],
                          err_t *e)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(e, ERR_CONFIG, "%s: cannot open: %s", path,
                       strerror(errno));
    char line[128] = "";
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    size_t n = ok ? strcspn(line, "\r\n") : 0;
    if (n != LINK_KEY_Z85_LEN)
        return err_set(e, ERR_CONFIG, "%s: not a CurveZMQ key (%d characters "
                       "of Z85 expected)", path, LINK_KEY_Z85_LEN);
    memcpy(out, line, n);
    out[n] = '\0';
    return 0;
}

/* The dir of a new store ps: this node pinned to pki.cert, then the
 * others from the signed federation directory when one is in use
 * (listed), else the configured peers pinned to their files. */
static int node__pki_dir(node *n, pki_store *ps, int listed, dir **out,
                         err_t *e)
{
    const cfg *c = n->cfg;
    dir *d = NULL;
    int rc = dir_new(ps, c->pki.directory, &d, e);
    if (rc == 0)
        rc = dir_pin(d, c->node.id, c->node.region, c->pki.cert, e);
    if (rc == 0 && listed)
        rc = fdir_node_apply(n, ps, d, e);
    for (size_t i = 0; rc == 0 && !listed && i < c->npeers; i++)
        rc = dir_pin(d, c->peers[i].id, c->peers[i].region, c->peers[i].cert,
                     e);
    if (rc < 0)
        dir_free(d);
    else
        *out = d;
    return rc;
}

int node_setup_pki(node *n, err_t *e)
{
    int listed = fdir_node_sync(n);
    const cfg_pki *p = &n->cfg->pki;
    pki_store *ps = pki_store_load(p->ca, p->crl, e);
    if (!ps)
        return e->code;
    pki_key *key = NULL;
    dir *d = NULL;
    const pki_peer *self = NULL;
    int rc = pki_key_load(p->key, &key, e);
    if (rc == 0)
        rc = node__pki_dir(n, ps, listed, &d, e);
    if (rc == 0)
        rc = dir_get(d, n->cfg->node.id, time(NULL), &self, e);
    if (rc == 0)
        rc = pki_key_matches(key, self, e);
    if (rc < 0) {
        dir_free(d);
        pki_key_free(key);
        pki_store_free(ps);
        return rc;
    }
    dir_free(n->dir);
    pki_key_free(n->key);
    pki_store_free(n->pki);
    n->pki = ps, n->key = key, n->dir = d;
    /* a root is trusted only as long as the certificates that verified it */
    if (n->bcache)
        batchsig_cache_clear(n->bcache);
    return 0;
}

/* The mapping tables the node's connectors translate with: loaded at
 * start (a broken table stops the node before it takes any traffic) and
 * on SIGHUP, when a broken table keeps the running set. */
int node_setup_maps(node *n, err_t *e)
{
    map_set *s = NULL;
    const char *mdir = n->cfg->mappings.dir;
    int rc = map_set_load(mdir, &s, e);
    if (rc < 0) {
        size_t k = 0;
        for (const map_problem *p = s ? map_set_problems(s) : NULL; p;
             p = p->next)
            k++;
        map_set_free(s);
        return err_wrap(e, "mappings %s: %zu problem(s), first", mdir, k);
    }
    map_set *old = n->maps;
    n->maps = s;
    if ((rc = node_fanout_setup(n, e)) < 0) {
        n->maps = old; /* the rules refer to tables of the new set */
        map_set_free(s);
        return rc;
    }
    map_set_free(old);
    log_event(LOG_INFO, "mappings", "dir=%s tables=%zu", log_q(mdir),
              map_set_count(s));
    return 0;
}

static void node__zap_refused(void *ctx, const char *key, const char *addr)
{
    (void)ctx;
    log_event(LOG_WARN, "zap_refused", "key=%s address=%s", log_q(key),
              log_q(addr));
}

/* A peer with several endpoints (instances of one region) moved to the
 * next one: the operator's clue that an instance over there went away. */
static void node__switched(void *ctx, int peer, const char *peer_id,
                           const char *from, const char *to, const char *why)
{
    (void)ctx, (void)peer;
    log_event(LOG_WARN, "endpoint_switch", "peer=%s from=%s to=%s why=%s",
              peer_id, log_q(from), log_q(to), log_q(why));
}

/* The peer's CURVE key comes from its certificate, where the CA bound it
 * to the node id: a key file alone proves nothing. */
static int node__peer_link(node *n, node_peer *np, const cfg_peer *cp,
                           err_t *e)
{
    const pki_peer *pp = NULL;
    int rc = dir_get(n->dir, cp->id, time(NULL), &pp, e);
    if (rc < 0) {
        log_event(LOG_ERROR, "peer_refused", "peer=%s msg=%s", cp->id,
                  log_q(e->msg));
        return 0; /* one bad peer must not stop the node */
    }
    const char *key = pki_peer_identity(pp)->curve_pub;
    if ((rc = link_allow(n->link, cp->id, key, e)) < 0)
        return rc;
    rc = link_peer_add(n->link, cp->id, cp->endpoints.v, cp->endpoints.n,
                       key, e);
    if (rc < 0)
        return rc;
    np->link = rc;
    return 0;
}

int node_setup_links(node *n, err_t *e)
{
    const cfg *c = n->cfg;
    char pub[LINK_KEY_Z85_LEN + 1], sec[LINK_KEY_Z85_LEN + 1];
    int rc = node__read_key(c->pki.curve_public, pub, e);
    if (rc == 0)
        rc = node__read_key(c->pki.curve_secret, sec, e);
    link_conf lc = {
        .self_id = c->node.id, .listen = c->node.listen,
        .curve_public = pub, .curve_secret = sec,
        .heartbeat_ms = c->delivery.heartbeat_ms,
        .heartbeat_timeout_ms = c->delivery.heartbeat_timeout_ms,
        /* libzmq drops frames past the protocol's hard cap unseen; those
         * between delivery.max_frame_bytes and it reach the checks, so they
         * are logged and dead-lettered (docs/protocol.md step 1) */
        .max_frame_bytes = ENV_MAX_FRAME,
        .hwm = (int)c->delivery.window * 2 + 1000,
        .on_refused = node__zap_refused,
        .on_switch = node__switched,
    };
    if (rc == 0 && !n->link)
        rc = link_new(&lc, &n->link, e);
    explicit_bzero(sec, sizeof sec);
    for (size_t i = 0; rc == 0 && i < n->npeers; i++)
        rc = node__peer_link(n, &n->peers[i], &c->peers[i], e);
    return rc;
}

void node_teardown_links(node *n)
{
    for (size_t i = 0; i < n->npeers; i++) {
        node_peer *p = &n->peers[i];
        if (p->link >= 0 && n->link)
            link_peer_drop(n->link, p->link);
        p->link = -1;
        node_out_free(p);
    }
    if (n->link)
        link_allow_reset(n->link);
}

int node_setup_peers(node *n, err_t *e)
{
    free(n->peers);
    n->npeers = n->cfg->npeers;
    n->peers = calloc(n->npeers ? n->npeers : 1, sizeof *n->peers);
    if (!n->peers)
        return err_set(e, ERR_NOMEM, "node: out of memory");
    for (size_t i = 0; i < n->npeers; i++) {
        snprintf(n->peers[i].id, sizeof n->peers[i].id, "%s",
                 n->cfg->peers[i].id);
        n->peers[i].link = -1;
        node_out_reset(&n->peers[i]);
    }
    return 0;
}

static int node__open_parts(node *n, err_t *e)
{
    const cfg *c = n->cfg;
    int rc = store_open(c->redis.url, c->redis.prefix, &n->st, e);
    if (rc == 0)
        rc = store_set_timeout(n->st, c->redis.timeout_ms, e);
    if (rc == 0) /* the directory's copy kept in Redis, before the PKI */
        rc = fdir_node_open(n, e);
    if (rc == 0)
        rc = node_setup_pki(n, e);
    if (rc == 0)
        rc = batchsig_cache_new(NODE_BATCH_ROOTS, &n->bcache, e);
    if (rc == 0) /* the origin of what it delivers to itself */
        rc = store_mv_node(n->st, c->node.id, e);
    if (rc == 0 && !(n->flags & NODE_OFFLINE))
        rc = store_open(c->redis.url, c->redis.prefix, &n->st_in, e);
    if (rc == 0 && n->st_in)
        rc = store_set_timeout(n->st_in, c->redis.timeout_ms, e);
    if (rc == 0)
        rc = node_setup_peers(n, e);
    if (rc == 0 && !(n->flags & NODE_OFFLINE))
        rc = node_setup_maps(n, e);
    if (rc == 0 && !(n->flags & NODE_OFFLINE))
        rc = node_setup_links(n, e);
    err_t we;
    if (rc == 0 && !(n->flags & NODE_OFFLINE) &&
        store_wake_open(n->st, &n->wake, &we) < 0)
        log_event(LOG_WARN, "wake", "msg=%s", log_q(we.msg)); /* polls */
    return rc;
}

int node_open(cfg *c, unsigned flags, node **out, err_t *e)
{
    node *n = calloc(1, sizeof *n);
    if (!n) {
        cfg_free(c);
        return err_set(e, ERR_NOMEM, "node: out of memory");
    }
    n->cfg = c;
    n->flags = flags;
    arena_init(&n->arena, (size_t)c->delivery.max_frame_bytes * 2 +
               (64u << 20));
    arena_init(&n->in_park, n->arena.max);
    buf_init(&n->sbuf, ENV_MAX_FRAME);
    buf_init(&n->ebuf, ENV_MAX_FRAME);
    int rc = node__open_parts(n, e);
    if (rc < 0) {
        node_close(n);
        return rc;
    }
    *out = n;
    return 0;
}

void node_close(node *n)
{
    if (!n)
        return;
    fdir_node_close(n);
    if (n->peers)
        node_teardown_links(n);
    node_ledger_close(n);
    node_ha_close(n);
    free(n->peers);
    link_free(n->link);
    store_wake_close(n->wake);
    store_close(n->st_in); /* a batch in flight is never acked: resent */
    store_close(n->st);
    dir_free(n->dir);
    batchsig_cache_free(n->bcache);
    map_set_free(n->maps);
    node_fanout_close(n);
    pki_key_free(n->key);
    pki_store_free(n->pki);
    arena_free(&n->arena);
    arena_free(&n->in_park);
    buf_free(&n->sbuf);
    buf_free(&n->ebuf);
    cfg_free(n->cfg);
    free(n);
}

const cfg *node_cfg(const node *n)
{
    return n->cfg;
}

store *node_store(node *n)
{
    return n->st;
}

node_peer *node__peer(node *n, const char *id)
{
    for (size_t i = 0; i < n->npeers; i++)
        if (!strcmp(n->peers[i].id, id))
            return &n->peers[i];
    return NULL;
}

const char *node_region_of(node *n, const char *id)
{
    if (!strcmp(id, n->cfg->node.id))
        return n->cfg->node.region;
    const cfg_peer *p = cfg_peer_find(n->cfg, id);
    if (p)
        return p->region;
    const pki_peer *d;
    err_t e;
    if (!n->dir || dir_get(n->dir, id, time(NULL), &d, &e) < 0)
        return NULL;
    return pki_peer_identity(d)->region;
}

int64_t node__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
