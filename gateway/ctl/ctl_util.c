/* Helpers the eportctl commands share: reading inputs, finding mappings. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "config.h"
#include "store.h"

int ctl_read_file(const char *path, buf_t *b, err_t *e)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return err_set(e, ERR_IO, "%s: error: cannot open: %m", path);
    char chunk[1 << 16];
    size_t n;
    int rc = 0;
    while (!rc && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = buf_add(b, chunk, n);
    if (!rc && ferror(f))
        rc = ERR_IO;
    if (f != stdin)
        fclose(f);
    if (rc == ERR_TOOBIG)
        return err_set(e, rc, "%s: error: larger than %zu bytes", path,
                       b->max);
    return rc ? err_set(e, rc, "%s: error: cannot read", path) : 0;
}

static int ctl__isdir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *ctl_mappings_dir(const char *given)
{
    static char found[PATH_MAX];
    const char *env = getenv("EPORT_MAPPINGS");
    if (given)
        return given;
    if (env && *env)
        return env;
    if (ctl__isdir("mappings"))
        return "mappings";
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
        snprintf(found, sizeof found, "%s/../mappings", self);
        if (ctl__isdir(found))
            return found;
    }
    return "mappings";
}

/* ---- commands that work on a node's store (send, inbox, peers, dlq) ---- */

int ctl_node_open(const char *config, node **out)
{
    if (!config) {
        fprintf(stderr, "eportctl: error: --config FILE is required\n");
        return CTL_USAGE;
    }
    cfg *c = NULL;
    err_t e;
    if (cfg_load(config, &c, &e) < 0) {
        fputs(c ? cfg_problems(c) : e.msg, stderr);
        if (!c)
            fputc('\n', stderr);
        cfg_free(c);
        return CTL_CONFIG;
    }
    if (node_open(c, NODE_OFFLINE, out, &e) < 0) {
        fprintf(stderr, "eportctl: error: %s\n", e.msg);
        return e.code == ERR_IO ? CTL_UNAVAILABLE : CTL_CONFIG;
    }
    return CTL_OK;
}

int ctl_store_open(const char *config, cfg **c, store **st)
{
    err_t e;
    if (!config) {
        fprintf(stderr, "eportctl: error: --config FILE is required\n");
        return CTL_USAGE;
    }
    if (cfg_load(config, c, &e) < 0) {
        fputs(*c ? cfg_problems(*c) : e.msg, stderr);
        if (!*c)
            fputc('\n', stderr);
        return CTL_CONFIG;
    }
    if (store_open((*c)->redis.url, (*c)->redis.prefix, st, &e) < 0 ||
        store_set_timeout(*st, (*c)->redis.timeout_ms, &e) < 0) {
        fprintf(stderr, "eportctl: error: %s\n", e.msg);
        return e.code == ERR_IO ? CTL_UNAVAILABLE : CTL_CONFIG;
    }
    return CTL_OK;
}

int ctl_print(json_t *j, buf_t *b)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    int rc = j && !s ? ERR_NOMEM : 0;
    json_decref(j);
    if (rc == 0 && s)
        rc = printf("%s\n", s) < 0 ? ERR_IO : 0;
    else if (rc == 0 && b && b->len)
        rc = fwrite(b->p, 1, b->len, stdout) != b->len ? ERR_IO : 0;
    if (rc == 0 && fflush(stdout))
        rc = ERR_IO;
    free(s);
    if (b)
        buf_free(b);
    if (rc < 0)
        fprintf(stderr, "eportctl: error: cannot write the "
                "output (%s)\n", err_text(rc));
    return rc == ERR_IO ? CTL_IOERR : rc < 0 ? CTL_SOFTWARE : CTL_OK;
}
