/* The signed federation directory in a node; see fdir_node.h. */
#include "fdir_node.h"
#include "node_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fdir.h"
#include "fdir_run.h"
#include "log.h"

#define FDIR_NODES_MAX 64 /* nodes open in one process (tests open a few) */
#define FDIR_KEPT "(copy kept in Redis)"

typedef struct fdir_nd {
    node *n;
    const cfg *seen; /* the cfg last synced with: another one is a reload */
    fdir_run *run;   /* NULL offline */
    fdir_doc *doc;   /* in use; NULL: the certificate files */
} fdir_nd;

static pthread_mutex_t fdir__mu = PTHREAD_MUTEX_INITIALIZER;
static fdir_nd *fdir__reg[FDIR_NODES_MAX];

/* ---- the per-node state ---- */

static fdir_nd *fdir__find(const node *n)
{
    fdir_nd *x = NULL;
    pthread_mutex_lock(&fdir__mu);
    for (size_t i = 0; !x && i < FDIR_NODES_MAX; i++)
        if (fdir__reg[i] && fdir__reg[i]->n == n)
            x = fdir__reg[i];
    pthread_mutex_unlock(&fdir__mu);
    return x;
}

static fdir_nd *fdir__new(node *n, err_t *e)
{
    fdir_nd *x = calloc(1, sizeof *x);
    size_t i = 0;
    pthread_mutex_lock(&fdir__mu);
    while (x && i < FDIR_NODES_MAX && fdir__reg[i])
        i++;
    if (x && i < FDIR_NODES_MAX)
        fdir__reg[i] = x;
    pthread_mutex_unlock(&fdir__mu);
    if (!x || i == FDIR_NODES_MAX) {
        free(x);
        err_set(e, ERR_NOMEM, "directory: more than %d nodes open",
                FDIR_NODES_MAX);
        return NULL;
    }
    x->n = n, x->seen = n->cfg;
    return x;
}

static void fdir__drop(fdir_nd *x)
{
    pthread_mutex_lock(&fdir__mu);
    for (size_t i = 0; i < FDIR_NODES_MAX; i++)
        if (fdir__reg[i] == x)
            fdir__reg[i] = NULL;
    pthread_mutex_unlock(&fdir__mu);
    fdir_run_stop(x->run);
    fdir_doc_free(x->doc);
    free(x);
}

/* ---- getting a directory now ---- */

static void fdir__log_in_use(const fdir_doc *d, const char *source)
{
    log_event(LOG_INFO, "directory", "serial=%" PRIu64 " issued=%s nodes=%zu "
              "revoked=%zu expired=%zu source=%s ca=%s", d->serial,
              log_q(d->issued), d->n, d->nrevoked, d->nexpired,
              log_q(source), log_q(d->ca));
}

/* The copy kept in Redis, verified again; NULL when none or bad. */
static fdir_doc *fdir__from_cache(node *n)
{
    buf_t b, s;
    buf_init(&b, FDIR_MAX_BYTES);
    buf_init(&s, FDIR_SIG_MAX);
    err_t e;
    fdir_doc *d = NULL;
    int rc = fdir_cache_load(n->st, &b, &s, &e);
    if (rc < 0 && rc != ERR_NOTFOUND)
        log_event(LOG_WARN, "directory_kept", "msg=%s", log_q(e.msg));
    if (rc == 0 && fdir_verify(n->cfg->pki.ca, FDIR_KEPT, b.p, b.len, s.p,
                               s.len, time(NULL), &d, &e) < 0)
        log_event(LOG_ERROR, "directory_refused", "url=redis msg=%s",
                  log_q(e.msg));
    buf_free(&b);
    buf_free(&s);
    return d;
}

/* Fetched and verified now: 1 and *out when newer than cur, 0 when the
 * same, < 0 when it failed or was refused (logged). */
static int fdir__fetch_now(node *n, const fdir_doc *cur, fdir_doc **out)
{
    const char *url = n->cfg->pki.directory_url;
    buf_t b, s;
    buf_init(&b, FDIR_MAX_BYTES);
    buf_init(&s, FDIR_SIG_MAX);
    err_t e;
    *out = NULL;
    int rc = fdir_fetch(url, &b, &s, &e);
    if (rc < 0) {
        log_event(LOG_WARN, "directory_fetch", "url=%s msg=%s", log_q(url),
                  log_q(e.msg));
    } else {
        rc = fdir_verify(n->cfg->pki.ca, url, b.p, b.len, s.p, s.len,
                         time(NULL), out, &e);
        if (rc == 0)
            rc = fdir_newer(*out, cur ? cur->serial : 0,
                            cur ? cur->sha : NULL, &e);
        if (rc < 0)
            log_event(LOG_ERROR, "directory_refused", "url=%s msg=%s",
                      log_q(url), log_q(e.msg));
    }
    if (rc <= 0) {
        fdir_doc_free(*out);
        *out = NULL;
    }
    buf_free(&b);
    buf_free(&s);
    return rc;
}

static void fdir__save(node *n, const fdir_doc *d)
{
    err_t e;
    if (n->st && fdir_cache_save(n->st, d, &e) < 0)
        log_event(LOG_WARN, "directory_kept", "msg=%s", log_q(e.msg));
}

/* At start: what was kept, then what the national center has now. */
static void fdir__first(node *n, fdir_nd *x)
{
    const char *url = n->cfg->pki.directory_url;
    x->doc = fdir__from_cache(n);
    if (n->flags & NODE_OFFLINE)
        return; /* eportctl: the node's copy, no network */
    fdir_doc *d = NULL;
    int rc = fdir__fetch_now(n, x->doc, &d);
    if (rc == 1) {
        fdir_doc_free(x->doc);
        x->doc = d;
        fdir__save(n, d);
    }
    if (rc >= 0) {
        fdir__log_in_use(x->doc, url);
    } else if (x->doc) {
        log_event(LOG_WARN, "directory", "msg=%s serial=%" PRIu64,
                  log_q("using the copy kept in Redis"), x->doc->serial);
        fdir__log_in_use(x->doc, "redis");
    } else {
        log_event(LOG_ERROR, "directory", "url=%s msg=%s", log_q(url),
                  log_q("no federation directory: certificates from the "
                        "files (pki.directory, peers[].cert)"));
    }
}

static int fdir__start(node *n, fdir_nd *x, int now, err_t *e)
{
    const cfg_pki *p = &n->cfg->pki;
    if (n->flags & NODE_OFFLINE)
        return 0;
    return fdir_run_start(p->directory_url, p->ca, p->directory_refresh_s,
                          x->doc ? x->doc->serial : 0,
                          x->doc ? x->doc->sha : NULL, now, &x->run, e);
}

int fdir_node_open(node *n, err_t *e)
{
    if (!n->cfg->pki.directory_url)
        return 0;
    fdir_nd *x = fdir__new(n, e);
    if (!x)
        return e->code;
    fdir__first(n, x);
    int rc = fdir__start(n, x, 0, e);
    if (rc < 0)
        fdir__drop(x);
    return rc;
}

void fdir_node_close(node *n)
{
    fdir_nd *x = fdir__find(n);
    if (x)
        fdir__drop(x);
}

/* ---- reload ---- */

/* The directory in use checked again against a (new) pki.ca. */
static void fdir__recheck(node *n, fdir_nd *x)
{
    fdir_doc *d = NULL;
    err_t e;
    if (!x->doc || fdir_verify(n->cfg->pki.ca, FDIR_KEPT, x->doc->bytes,
                               x->doc->nbytes, x->doc->sig, x->doc->nsig,
                               time(NULL), &d, &e) == 0) {
        fdir_doc_free(d);
        return;
    }
    log_event(LOG_ERROR, "directory_refused", "url=%s msg=%s",
              log_q(n->cfg->pki.directory_url), log_q(e.msg));
    fdir_doc_free(x->doc);
    x->doc = NULL;
}

/* A new cfg: same fetcher kicked, or a new one for a new URL/refresh. */
static void fdir__reload(node *n, fdir_nd *x)
{
    const cfg_pki *p = &n->cfg->pki;
    err_t e;
    x->seen = n->cfg;
    fdir__recheck(n, x);
    if (x->run && (strcmp(fdir_run_url(x->run), p->directory_url) ||
                   fdir_run_refresh_s(x->run) != p->directory_refresh_s)) {
        fdir_run_stop(x->run);
        x->run = NULL;
    }
    if (x->run)
        fdir_run_kick(x->run);
    else if (fdir__start(n, x, 1, &e) < 0)
        log_event(LOG_ERROR, "directory", "msg=%s", log_q(e.msg));
}

int fdir_node_sync(node *n)
{
    fdir_nd *x = fdir__find(n);
    err_t e;
    if (!x && n->cfg->pki.directory_url) { /* set by this reload */
        if (fdir_node_open(n, &e) < 0)
            log_event(LOG_ERROR, "directory", "msg=%s", log_q(e.msg));
        x = fdir__find(n);
    } else if (x && x->seen != n->cfg && !n->cfg->pki.directory_url) {
        log_event(LOG_INFO, "directory", "msg=%s", log_q("pki.directory_url "
                  "removed: certificates from the files"));
        fdir__drop(x);
        x = NULL;
    } else if (x && x->seen != n->cfg) {
        fdir__reload(n, x);
    }
    return x && x->doc;
}

/* ---- applying ---- */

int fdir_node_apply(node *n, pki_store *ps, dir *d, err_t *e)
{
    fdir_nd *x = fdir__find(n);
    if (!x || !x->doc)
        return 0;
    const fdir_doc *doc = x->doc;
    char src[96];
    snprintf(src, sizeof src, "the federation directory (serial %" PRIu64
             ")", doc->serial);
    int rc = pki_store_add_crl_pem(ps, doc->crl, doc->crllen, src, e);
    for (size_t i = 0; rc == 0 && i < doc->n; i++) {
        const fdir_member *m = &doc->m[i];
        const cfg_peer *cp = cfg_peer_find(n->cfg, m->id);
        if (strcmp(m->id, n->cfg->node.id) != 0)
            rc = dir_add_pem(d, m->id, cp ? cp->region : m->region, m->cert,
                             m->certlen, e);
    }
    return rc == 0 ? dir_listed_only(d, src, e) : rc;
}

/* The CURVE key the link to configured peer id expects: from the dir in
 * use (old), or from directory doc (new); "" when it gets no link. */
static const char *fdir__key_now(node *n, const char *id)
{
    const pki_peer *p;
    err_t e;
    return dir_get(n->dir, id, time(NULL), &p, &e) == 0
               ? pki_peer_identity(p)->curve_pub
               : "";
}

static const char *fdir__key_in(const fdir_doc *d, const char *id)
{
    const fdir_member *m = fdir_find(d, id);
    return m && m->status == FDIR_VALID ? m->curve : "";
}

/* Whether d changes a configured peer's link: its key, or whether it
 * gets one (revoked, added, removed). */
static int fdir__links_change(node *n, const fdir_doc *d)
{
    for (size_t i = 0; i < n->cfg->npeers; i++) {
        const char *id = n->cfg->peers[i].id;
        if (strcmp(fdir__key_now(n, id), fdir__key_in(d, id)) != 0)
            return 1;
    }
    return 0;
}

static void fdir__relink(node *n)
{
    err_t e;
    int rc = node_setup_peers(n, &e);
    if (rc == 0)
        rc = node_setup_links(n, &e);
    if (rc < 0)
        log_event(LOG_ERROR, "directory", "msg=%s", log_q(e.msg));
    else
        log_event(LOG_INFO, "relinked", "peers=%zu why=directory", n->npeers);
}

/* d in use from now on, unless the node's PKI cannot be set up with it
 * (then the one in use stays, and d is not offered again). */
static void fdir__adopt(node *n, fdir_nd *x, fdir_doc *d)
{
    int relink = fdir__links_change(n, d);
    fdir_doc *old = x->doc;
    err_t e;
    if (relink) { /* as a reload does: its runs point at the peers */
        node_in_settle(n);
        node_teardown_links(n);
    }
    x->doc = d;
    int rc = node_setup_pki(n, &e);
    fdir_run_in_use(x->run, d->serial, d->sha);
    if (rc < 0) {
        x->doc = old, old = d;
        log_event(LOG_ERROR, "directory_refused", "serial=%" PRIu64 " msg=%s",
                  d->serial, log_q(e.msg));
    } else {
        fdir__save(n, d);
        fdir__log_in_use(d, fdir_run_url(x->run));
    }
    fdir_doc_free(old);
    if (relink)
        fdir__relink(n);
}

void fdir_node_tick(node *n)
{
    fdir_nd *x = fdir__find(n);
    fdir_doc *d = x && x->run ? fdir_run_take(x->run) : NULL;
    if (d)
        fdir__adopt(n, x, d);
}
