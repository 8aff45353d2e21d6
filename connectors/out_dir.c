/* out_dir: the outbox directory transport. Each entry is written as
 * out_dir/.NAME.tmp, fsynced, renamed to out_dir/NAME and the directory
 * fsynced, so a reader never sees a half-written file and a file that is
 * there survives a crash. NAME ("<ms>-<seq>-<event>.<ext>") sorts in
 * delivery order. A redelivery after a crash writes the same name with
 * the same bytes again. Hidden names (".") are ours: readers skip them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"

typedef struct od {
    int dfd;               /* out_dir, open */
    const char *path;
} od;

/* mkdir -p of an absolute path. */
static int od__mkdirs(const char *path, err_t *e)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p)
        return err_set(e, ERR_CONFIG, "out_dir %s: path too long", path);
    for (char *s = p + 1;; s++) {
        char c = *s;
        if (c != '/' && c != '\0')
            continue;
        *s = '\0';
        if (mkdir(p, 0775) && errno != EEXIST)
            return err_set(e, ERR_IO, "out_dir %s: mkdir %s: %s", path, p,
                           strerror(errno));
        *s = c;
        if (!c)
            return 0;
    }
}

static int od_open(conn_out *o, err_t *e)
{
    const char *path = o->cc->out_dir;
    if (!path || !*path)
        return err_set(e, ERR_CONFIG, "out: dir needs out_dir");
    int rc = od__mkdirs(path, e);
    if (rc)
        return rc;
    od *d = calloc(1, sizeof *d);
    if (!d)
        return err_set(e, ERR_NOMEM, "out_dir %s: out of memory", path);
    d->path = path;
    d->dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->dfd < 0) {
        rc = err_set(e, ERR_IO, "out_dir %s: %s", path, strerror(errno));
        free(d);
        return rc;
    }
    o->priv = d;
    return 0;
}

static int od__write(od *d, const char *tmp, const void *p, size_t n,
                     err_t *e)
{
    int fd = openat(d->dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                    0664);
    if (fd < 0)
        return err_set(e, ERR_IO, "out_dir %s/%s: %s", d->path, tmp,
                       strerror(errno));
    const char *s = p;
    for (size_t left = n; left;) {
        ssize_t w = write(fd, s, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int rc = err_set(e, ERR_IO, "out_dir %s/%s: write: %s", d->path,
                             tmp, strerror(errno));
            close(fd);
            return rc;
        }
        s += w, left -= (size_t)w;
    }
    if (fsync(fd) || close(fd))
        return err_set(e, ERR_IO, "out_dir %s/%s: fsync: %s", d->path, tmp,
                       strerror(errno));
    return 0;
}

static int od_send(conn_out *o, const char *name, const void *p, size_t n,
                   err_t *e)
{
    od *d = o->priv;
    char tmp[300];
    snprintf(tmp, sizeof tmp, ".%s.tmp", name);
    int rc = od__write(d, tmp, p, n, e);
    if (rc) {
        unlinkat(d->dfd, tmp, 0); /* our own temporary, never a delivery */
        return rc;
    }
    if (renameat(d->dfd, tmp, d->dfd, name))
        return err_set(e, ERR_IO, "out_dir %s: rename %s to %s: %s", d->path,
                       tmp, name, strerror(errno));
    if (fsync(d->dfd))
        return err_set(e, ERR_IO, "out_dir %s: fsync: %s", d->path,
                       strerror(errno));
    return 0;
}

static void od_close(conn_out *o)
{
    od *d = o->priv;
    if (d) {
        close(d->dfd);
        free(d);
    }
    o->priv = NULL;
}

const conn_out_ops conn_out_dir_ops = {CFG_OUT_DIR, "json", od_open, od_send,
                                       od_close};
