/* Federation directory cache; see dir.h. A linear table: a federation
 * has tens of nodes, and the hot path hits the first entries. */
#include "dir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct dir_entry {
    char id[PKI_NODE_MAX + 1];
    char region[8];      /* "" when any region will do */
    char *path;          /* certificate file, or NULL when pem */
    char *pem;           /* the certificate itself (dir_add_pem) */
    size_t pemlen;
    pki_peer *peer;      /* NULL while failing */
    err_t fail;          /* why, when peer is NULL */
    time_t checked;      /* when peer or fail was last decided */
} dir_entry;

struct dir {
    const pki_store *store;
    char *directory;
    char *listed;        /* dir_listed_only's source, or NULL */
    dir_entry *v;
    size_t n;
};

int dir_new(const pki_store *store, const char *directory, dir **out,
            err_t *e)
{
    dir *d = calloc(1, sizeof *d);
    if (d)
        d->v = calloc(DIR_MAX_ENTRIES, sizeof *d->v);
    if (d && d->v && directory)
        d->directory = strdup(directory);
    if (!d || !d->v || (directory && !d->directory)) {
        dir_free(d);
        return err_set(e, ERR_NOMEM, "directory: out of memory");
    }
    d->store = store;
    *out = d;
    return 0;
}

void dir_free(dir *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        pki_peer_free(d->v[i].peer);
        free(d->v[i].path);
        free(d->v[i].pem);
    }
    free(d->v);
    free(d->directory);
    free(d->listed);
    free(d);
}

static dir_entry *dir__find(dir *d, const char *id)
{
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->v[i].id, id))
            return &d->v[i];
    return NULL;
}

/* A new entry for id (its certificate at path, or none yet when path is
 * NULL), or NULL when full. */
static dir_entry *dir__add(dir *d, const char *id, const char *path,
                           err_t *e)
{
    if (d->n == DIR_MAX_ENTRIES) {
        err_set(e, ERR_TOOBIG, "directory: more than %d node ids",
                DIR_MAX_ENTRIES);
        return NULL;
    }
    dir_entry *x = &d->v[d->n];
    memset(x, 0, sizeof *x);
    snprintf(x->id, sizeof x->id, "%s", id);
    if (path && !(x->path = strdup(path))) {
        err_set(e, ERR_NOMEM, "directory: out of memory");
        return NULL;
    }
    d->n++;
    return x;
}

/* x's certificate verified now into *p, from its PEM or its file. */
static int dir__verify(dir *d, dir_entry *x, time_t now, pki_peer **p)
{
    if (x->pem)
        return pki_peer_new(d->store, x->pem, x->pemlen, now, p, &x->fail);
    if (access(x->path, R_OK) != 0)
        return err_set(&x->fail, ERR_NOTFOUND, "node %s: no certificate in "
                       "the federation directory (%s: %s)", x->id, x->path,
                       strerror(errno));
    return pki_peer_load(d->store, x->path, now, p, &x->fail);
}

/* Load and verify x's certificate now; the outcome stays in x. */
static void dir__load(dir *d, dir_entry *x, time_t now)
{
    pki_peer_free(x->peer);
    x->peer = NULL;
    x->checked = now;
    err_clear(&x->fail);
    pki_peer *p = NULL;
    if (dir__verify(d, x, now, &p) < 0)
        return;
    if (pki_identity_expect(pki_peer_identity(p), x->id,
                            *x->region ? x->region : NULL, &x->fail) < 0) {
        pki_peer_free(p);
        return;
    }
    x->peer = p;
}

int dir_pin(dir *d, const char *id, const char *region, const char *cert_path,
            err_t *e)
{
    if (strlen(id) > PKI_NODE_MAX)
        return err_set(e, ERR_INVALID, "directory: node id '%s' too long", id);
    dir_entry *x = dir__find(d, id);
    if (x) {
        char *p = strdup(cert_path);
        if (!p)
            return err_set(e, ERR_NOMEM, "directory: out of memory");
        free(x->path);
        free(x->pem);
        x->path = p;
        x->pem = NULL;
        x->checked = 0;
    } else if (!(x = dir__add(d, id, cert_path, e))) {
        return e ? e->code : ERR_NOMEM;
    }
    snprintf(x->region, sizeof x->region, "%s", region ? region : "");
    return 0;
}

int dir_add_pem(dir *d, const char *id, const char *region, const char *pem,
                size_t len, err_t *e)
{
    if (strlen(id) > PKI_NODE_MAX)
        return err_set(e, ERR_INVALID, "directory: node id '%s' too long", id);
    char *copy = malloc(len + 1);
    if (!copy)
        return err_set(e, ERR_NOMEM, "directory: out of memory");
    memcpy(copy, pem, len);
    copy[len] = '\0';
    dir_entry *x = dir__find(d, id);
    if (!x && !(x = dir__add(d, id, NULL, e))) {
        free(copy);
        return e ? e->code : ERR_NOMEM;
    }
    free(x->path);
    free(x->pem);
    x->path = NULL;
    x->pem = copy, x->pemlen = len;
    x->checked = 0;
    if (!*x->region)
        snprintf(x->region, sizeof x->region, "%s", region ? region : "");
    return 0;
}

int dir_listed_only(dir *d, const char *source, err_t *e)
{
    char *s = strdup(source);
    if (!s)
        return err_set(e, ERR_NOMEM, "directory: out of memory");
    free(d->listed);
    d->listed = s;
    return 0;
}

/* Node ids are checked before they name a file: no '/' or ".." can
 * reach the path. */
static int dir__id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n < PKI_NODE_MIN || n > PKI_NODE_MAX || id[0] == '-')
        return 0;
    for (; *id; id++)
        if (!((*id >= 'A' && *id <= 'Z') || (*id >= '0' && *id <= '9') ||
              *id == '-'))
            return 0;
    return 1;
}

int dir_get(dir *d, const char *id, time_t now, const pki_peer **out,
            err_t *e)
{
    if (!dir__id_ok(id))
        return err_set(e, ERR_INVALID, "node id '%s' is not a node id", id);
    dir_entry *x = dir__find(d, id);
    if (!x && d->listed)
        return err_set(e, ERR_NOTFOUND, "node %s: not in %s", id, d->listed);
    if (!x) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.crt",
                 d->directory ? d->directory : ".", id);
        if (!(x = dir__add(d, id, path, e)))
            return e ? e->code : ERR_NOMEM;
    }
    time_t ttl = x->peer ? DIR_RECHECK_S : DIR_NEGATIVE_S;
    if (x->checked == 0 || now - x->checked >= ttl || now < x->checked)
        dir__load(d, x, now);
    if (!x->peer) {
        if (e)
            *e = x->fail;
        return x->fail.code ? x->fail.code : ERR_NOTFOUND;
    }
    *out = x->peer;
    return 0;
}
