/* conn_filedrop: the watched inbox directory of a legacy EDI center
 * (docs/connectors.md, "File drop").
 *
 * A writer writes NAME.tmp (or .NAME, NAME.part: ignored) and renames it
 * to NAME when complete. The thread takes a file when it is moved in
 * (IN_MOVED_TO) or closed after writing (IN_CLOSE_WRITE), and scans the
 * inbox at start and every FD_SCAN_MS for what it missed (a full inotify
 * queue, files there before it started); a scan leaves files modified in
 * the last FD_SETTLE_MS (they may still be being written).
 *
 * Each file is read whole (at most 64 MiB), translated and stored through
 * ingest with idempotency key "<name>:<size>:<sha256>", so a file taken
 * again after a crash between storing and moving stores nothing twice;
 * then it is moved to done/NAME, or to error/NAME with error/NAME.err
 * (the `NAME:LINE:COL: error: ...` lines, written first). A name already
 * taken there gets .1, .2...: nothing is ever replaced, and no file is
 * ever deleted. When Redis is down or the node is over its backlog the
 * file stays where it is and is tried again later. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"

#define FD_MAX_FILE ((size_t)64 << 20) /* one dropped file */
#define FD_POLL_MS 200       /* how often the stop flag is looked at */
#define FD_SCAN_MS 2000      /* rescan interval */
#define FD_SETTLE_MS 2000    /* a scan leaves files younger than this */
#define FD_RETRY_MS 1000     /* least pause after a transient failure */
#define FD_MAX_SCAN 100000   /* names taken per scan */
#define FD_MAX_SUFFIX 100000 /* NAME.1 ... in done/ or error/ */
#define FD_PROBLEMS_MAX ((size_t)1 << 20)
#define FD_GATE_MS 10000

typedef struct fd_st {
    const char *dir;
    int ino, dfd, done, err;   /* inotify, inbox, done/, error/ */
    ingest *g;                 /* NULL until Redis was reached */
    const cfg_client *cl;
    buf_t data;                /* the file being taken */
    ingest_res res;
    int64_t next_scan, paused_until;
    log_gate gate, move_gate;  /* retries and scans; failed moves */
} fd_st;

static int64_t fd__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Names writers use while writing: never taken. */
static int fd__ignored(const char *name)
{
    size_t n = strlen(name);
    return name[0] == '.' || (n >= 4 && !strcmp(name + n - 4, ".tmp")) ||
           (n >= 5 && !strcmp(name + n - 5, ".part"));
}

/* ---- open / close ---- */

/* mkdir -p: the inbox's parents too. */
static int fd__mkdir(const char *path, err_t *e)
{
    char p[4200];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1;; s++) {
        char c = *s;
        if (c != '/' && c != '\0')
            continue;
        *s = '\0';
        if (mkdir(p, 0775) && errno != EEXIST)
            return err_set(e, ERR_IO, "dir %s: mkdir %s: %s", path, p,
                           strerror(errno));
        *s = c;
        if (!c)
            return 0;
    }
}

/* The inbox, done/ and error/ (created if missing), open. */
static int fd__dirs(fd_st *s, err_t *e)
{
    char p[4200];
    int rc = fd__mkdir(s->dir, e);
    for (int i = 0; !rc && i < 3; i++) {
        const char *sub = i == 0 ? "" : i == 1 ? "/done" : "/error";
        snprintf(p, sizeof p, "%s%s", s->dir, sub);
        if ((rc = fd__mkdir(p, e)))
            break;
        int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return err_set(e, ERR_IO, "dir %s: %s", p, strerror(errno));
        *(i == 0 ? &s->dfd : i == 1 ? &s->done : &s->err) = fd;
    }
    return rc;
}

static void fd_close(conn_in *c)
{
    fd_st *s = c->priv;
    if (!s)
        return;
    int fds[] = {s->ino, s->dfd, s->done, s->err};
    for (size_t i = 0; i < 4; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    ingest_close(s->g);
    buf_free(&s->data);
    buf_free(&s->res.problems);
    free(s);
    c->priv = NULL;
}

static int fd_open(conn_in *c, err_t *e)
{
    const cfg_connector *cc = c->cc;
    if (!cc->dir || !*cc->dir)
        return err_set(e, ERR_CONFIG, "a filedrop needs dir");
    const cfg_client *cl = cc->client ? cfg_client_find(c->cfg, cc->client)
                                      : NULL;
    if (!cl)
        return err_set(e, ERR_CONFIG, "client '%s': no such client (a "
                       "filedrop names the client whose limits apply)",
                       cc->client ? cc->client : "");
    fd_st *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(e, ERR_NOMEM, "filedrop: out of memory");
    *s = (fd_st){.dir = cc->dir, .ino = -1, .dfd = -1, .done = -1,
                 .err = -1, .cl = cl};
    buf_init(&s->data, FD_MAX_FILE + 1);
    buf_init(&s->res.problems, FD_PROBLEMS_MAX);
    c->priv = s;
    int rc = fd__dirs(s, e);
    if (!rc && ((s->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
                inotify_add_watch(s->ino, s->dir, IN_CLOSE_WRITE |
                                  IN_MOVED_TO | IN_ONLYDIR) < 0))
        rc = err_set(e, ERR_IO, "dir %s: inotify: %s", s->dir,
                     strerror(errno));
    if (rc)
        fd_close(c);
    return rc;
}

/* ---- moving a file out of the inbox ---- */

static void fd__slot(const char *name, unsigned k, char *out, size_t n)
{
    if (k)
        snprintf(out, n, "%s.%u", name, k);
    else
        snprintf(out, n, "%s", name);
}

/* rename without replacing: renameat2 NOREPLACE, or link + unlink where
 * the file system lacks it. 0, or -1 with errno (EEXIST: taken). */
static int fd__rename(int from, const char *name, int to, const char *dst)
{
    if (!renameat2(from, name, to, dst, RENAME_NOREPLACE))
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    if (linkat(from, name, to, dst, 0))
        return -1;
    return unlinkat(from, name, 0); /* the same file lives on in dst */
}

/* error/SLOT.err holding text, via a hidden temporary (replaces an
 * orphan .err of a crash between writing it and moving the file). */
static int fd__write_err(fd_st *s, const char *slot, const buf_t *text,
                         err_t *e)
{
    char tmp[600], dst[600];
    snprintf(tmp, sizeof tmp, ".%s.err.tmp", slot);
    snprintf(dst, sizeof dst, "%s.err", slot);
    int fd = openat(s->err, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                    0664);
    if (fd < 0)
        return err_set(e, ERR_IO, "%s/error/%s: %s", s->dir, tmp,
                       strerror(errno));
    ssize_t w = write(fd, text->p ? text->p : "", text->len);
    int bad = w < 0 || (size_t)w != text->len || fsync(fd);
    bad |= close(fd) != 0;
    if (bad || renameat(s->err, tmp, s->err, dst))
        return err_set(e, ERR_IO, "%s/error/%s: %s", s->dir, dst,
                       errno ? strerror(errno) : "short write");
    return 0;
}

/* Moves name to todir as name, name.1, name.2... (the first free slot;
 * with errtext the .err beside it first); got gets the name used. */
static int fd__move(fd_st *s, const char *name, int todir,
                    const buf_t *errtext, char *got, size_t n, err_t *e)
{
    struct stat sb;
    for (unsigned k = 0; k < FD_MAX_SUFFIX; k++) {
        fd__slot(name, k, got, n);
        if (fstatat(todir, got, &sb, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
        int rc = errtext ? fd__write_err(s, got, errtext, e) : 0;
        if (rc)
            return rc;
        if (!fd__rename(s->dfd, name, todir, got))
            return 0;
        if (errno != EEXIST)
            return err_set(e, ERR_IO, "%s/%s: moving to %s/%s: %s", s->dir,
                           name, todir == s->done ? "done" : "error", got,
                           strerror(errno));
    }
    return err_set(e, ERR_IO, "%s/%s: no free name up to .%u", s->dir, name,
                   FD_MAX_SUFFIX);
}

/* ---- taking one file ---- */

/* The idempotency key: "<name>:<size>:<sha256 hex>". */
static void fd__idem(const fd_st *s, const char *name, char *out, size_t n)
{
    unsigned char md[32];
    unsigned int mdn = 0;
    char hex[65];
    EVP_Digest(s->data.p ? s->data.p : "", s->data.len, md, &mdn,
               EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    snprintf(out, n, "%s:%zu:%s", name, s->data.len, hex);
}

/* The .err text when ingest gave no problem lines: its message as one
 * `NAME:0:0: error: ...` line (the location unknown). */
static void fd__err_text(fd_st *s, const char *name, const err_t *why)
{
    if (s->res.problems.len)
        return;
    const char *m = why->msg;
    size_t nl = strlen(name);
    if (!strncmp(m, name, nl) && m[nl] == ':' && m[nl + 1] >= '0' &&
        m[nl + 1] <= '9') {
        (void)buf_printf(&s->res.problems, "%s\n", m);
        return;
    }
    if (!strncmp(m, name, nl) && m[nl] == ':' && m[nl + 1] == ' ')
        m += nl + 2;
    if (!strncmp(m, "error: ", 7))
        m += 7;
    (void)buf_printf(&s->res.problems, "%s:0:0: error: %s\n", name, m);
}

/* The file stays in the inbox (a full disk, permissions) and is taken
 * again by a later scan: stored nothing twice, said once per FD_GATE_MS. */
static void fd__move_failed(conn_in *c, fd_st *s, const char *name,
                            const err_t *e)
{
    unsigned long long held;
    if (log_gate_pass(&s->move_gate, FD_GATE_MS, &held))
        log_event(LOG_ERROR, "filedrop_move_failed", "conn=%s file=%s "
                  "suppressed=%llu why=%s", c->cc->name, log_q(name), held,
                  log_q(e->msg));
}

static void fd__done(conn_in *c, fd_st *s, const char *name, int64_t t0)
{
    char got[600];
    err_t e;
    size_t dup = 0;
    for (size_t i = 0; i < s->res.n; i++)
        dup += s->res.dup[i] != 0;
    if (fd__move(s, name, s->done, NULL, got, sizeof got, &e)) {
        fd__move_failed(c, s, name, &e);
        return;
    }
    log_event(LOG_INFO, "filedrop_done", "conn=%s file=%s moved=%s "
              "records=%zu dup=%zu id=%s ms=%lld", c->cc->name, log_q(name),
              log_q(got), s->res.n, dup, s->res.n ? s->res.ids[0] : "-",
              (long long)(fd__now_ms() - t0));
}

static void fd__reject(conn_in *c, fd_st *s, const char *name,
                       const err_t *why)
{
    char got[600];
    err_t e;
    fd__err_text(s, name, why);
    if (fd__move(s, name, s->err, &s->res.problems, got, sizeof got, &e)) {
        fd__move_failed(c, s, name, &e);
        return;
    }
    log_event(LOG_WARN, "filedrop_error", "conn=%s file=%s moved=%s code=%s "
              "why=%s", c->cc->name, log_q(name), log_q(got),
              err_name(why->code), log_q(why->msg));
}

/* Redis down, the node over its backlog: the file stays, the thread
 * pauses and a later scan takes it. */
static int fd__retry(conn_in *c, fd_st *s, const char *name, int rc,
                     const err_t *why)
{
    unsigned long long held;
    int64_t wait = s->res.retry_after_s * 1000;
    wait = wait > FD_RETRY_MS ? wait : FD_RETRY_MS;
    s->paused_until = fd__now_ms() + wait;
    if (s->next_scan < s->paused_until)
        s->next_scan = s->paused_until;
    if (log_gate_pass(&s->gate, FD_GATE_MS, &held))
        log_event(LOG_WARN, "filedrop_retry", "conn=%s file=%s code=%s "
                  "retry_ms=%lld suppressed=%llu why=%s", c->cc->name,
                  log_q(name), err_name(rc), (long long)wait, held,
                  log_q(why->msg));
    return rc;
}

static int fd__ingest(conn_in *c, fd_st *s, const char *name, int64_t t0)
{
    err_t e;
    int rc = s->g ? 0 : ingest_open(c->cfg, c->maps, &s->g, &e);
    if (rc)
        return fd__retry(c, s, name, ERR_IO, &e);
    char idem[700];
    fd__idem(s, name, idem, sizeof idem);
    ingest_req q = {c->cc->name, s->cl, name, s->data.p ? s->data.p : "",
                    s->data.len, c->cc->mapping, idem, t0};
    buf_reset(&s->res.problems);
    rc = ingest_run(s->g, &q, &s->res, &e);
    if (!rc)
        fd__done(c, s, name, t0);
    else if (rc == ERR_AGAIN || rc == ERR_IO || rc == ERR_NOMEM)
        return fd__retry(c, s, name, rc, &e);
    else
        fd__reject(c, s, name, &e);
    return 0;
}

/* The whole file into s->data; ERR_TOOBIG past FD_MAX_FILE. */
static int fd__read(fd_st *s, int fd, err_t *e)
{
    buf_reset(&s->data);
    for (;;) {
        if (buf_reserve(&s->data, 65536) && buf_reserve(&s->data, 1))
            return err_set(e, ERR_TOOBIG, "file is over the %zu MiB limit "
                           "of a dropped file", FD_MAX_FILE >> 20);
        size_t room = s->data.cap - s->data.len - 1;
        if (room > s->data.max - s->data.len)
            room = s->data.max - s->data.len;
        ssize_t n = read(fd, s->data.p + s->data.len, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(e, ERR_IO, "read: %s", strerror(errno));
        if (n == 0)
            return 0;
        buf_commit(&s->data, (size_t)n);
    }
}

/* Opens name in the inbox if it is a regular file to take now; -1 when
 * not (gone, a directory, a symlink, still settling). */
static int fd__open_file(conn_in *c, fd_st *s, const char *name, int settle)
{
    int fd = openat(s->dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
                    O_CLOEXEC);
    struct stat sb;
    if (fd < 0) {
        if (errno != ENOENT) /* ENOENT: taken already (event and scan) */
            log_event(LOG_WARN, "filedrop_skipped", "conn=%s file=%s why=%s",
                      c->cc->name, log_q(name), log_q(strerror(errno)));
        return -1;
    }
    int ok = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
    int64_t age = ok ? fd__now_ms() - ((int64_t)sb.st_mtim.tv_sec * 1000 +
                                       sb.st_mtim.tv_nsec / 1000000) : 0;
    if (!ok || (settle && age < FD_SETTLE_MS)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One file: 0 (taken, refused or skipped), or the transient failure
 * that should pause the thread. */
static int fd__file(conn_in *c, fd_st *s, const char *name, int settle)
{
    if (fd__ignored(name))
        return 0;
    int fd = fd__open_file(c, s, name, settle);
    if (fd < 0)
        return 0;
    int64_t t0 = fd__now_ms();
    err_t e;
    int rc = fd__read(s, fd, &e);
    close(fd);
    if (rc == ERR_TOOBIG) {
        met_add(MET_REFUSED, c->cc->name, 1);
        met_add(MET_ERRORS, "too_big", 1);
        buf_reset(&s->res.problems);
        fd__reject(c, s, name, &e);
        return 0;
    }
    if (rc)
        return fd__retry(c, s, name, rc, &e);
    return fd__ingest(c, s, name, t0);
}

/* ---- finding files ---- */

static int fd__cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every candidate name in the inbox, sorted; *n how many. */
static char **fd__list(fd_st *s, size_t *n)
{
    int fd = openat(s->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    char **v = d ? calloc(FD_MAX_SCAN, sizeof *v) : NULL;
    struct dirent *de;
    *n = 0;
    while (v && *n < FD_MAX_SCAN && (de = readdir(d))) {
        if (fd__ignored(de->d_name) || de->d_type == DT_DIR)
            continue;
        if ((v[*n] = strdup(de->d_name)))
            (*n)++;
    }
    if (d)
        closedir(d);
    else if (fd >= 0)
        close(fd);
    if (v)
        qsort(v, *n, sizeof *v, fd__cmp);
    return v;
}

static void fd__scan(conn_in *c, fd_st *s)
{
    size_t n;
    char **v = fd__list(s, &n);
    unsigned long long held;
    if (!v) { /* the inbox gone or unreadable: said once per FD_GATE_MS */
        if (log_gate_pass(&s->gate, FD_GATE_MS, &held))
            log_event(LOG_ERROR, "filedrop_scan_failed", "conn=%s dir=%s "
                      "suppressed=%llu why=%s", c->cc->name, log_q(s->dir),
                      held, log_q(strerror(errno)));
        return;
    }
    int stopped = 0;
    for (size_t i = 0; i < n; i++) {
        if (!stopped && (atomic_load(c->stop) || fd__file(c, s, v[i], 1)))
            stopped = 1; /* the rest wait for the next scan */
        free(v[i]);
    }
    free(v);
}

/* What inotify reported: each file taken as it is named. */
static void fd__events(conn_in *c, fd_st *s)
{
    char ev[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    while ((n = read(s->ino, ev, sizeof ev)) > 0) {
        for (char *p = ev; p < ev + n;) {
            const struct inotify_event *ie = (const void *)p;
            p += sizeof *ie + ie->len;
            if (ie->mask & IN_Q_OVERFLOW) /* events lost: scan soon */
                s->next_scan = s->paused_until > fd__now_ms()
                                   ? s->paused_until : fd__now_ms();
            else if (ie->len && !(ie->mask & IN_ISDIR) &&
                     fd__now_ms() >= s->paused_until &&
                     !atomic_load(c->stop))
                fd__file(c, s, ie->name, 0);
        }
    }
}

static void fd_run(conn_in *c)
{
    fd_st *s = c->priv;
    log_event(LOG_INFO, "filedrop_started", "conn=%s dir=%s client=%s",
              c->cc->name, log_q(s->dir), s->cl->id);
    while (!atomic_load(c->stop)) {
        int64_t now = fd__now_ms();
        if (now >= s->next_scan) {
            s->next_scan = now + FD_SCAN_MS;
            fd__scan(c, s);
        }
        struct pollfd p = {s->ino, POLLIN, 0};
        if (poll(&p, 1, FD_POLL_MS) > 0 && (p.revents & POLLIN))
            fd__events(c, s);
    }
}

const conn_in_ops conn_filedrop_ops = {CFG_CONN_FILEDROP, fd_open, fd_run,
                                       fd_close};
