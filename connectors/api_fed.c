/* api_fed: GET /v1/federation, GET /v1/alerts and the dashboard's files
 * (api_fed.h). The figures and alerts come from gateway/fed_json.c
 * through the worker thread's own store; only the national center keeps
 * them, so another node answers 404 and says why. Static files are read
 * from api.web_dir on each request (small, and an operator may change
 * them without a restart), never through a symlink or a path with a
 * separator, so nothing outside the directory can be named. */
#include "api_fed.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fed.h"

#define API_ALERTS_DEFAULT 200

static enum MHD_Result api__not_national(api_req *q)
{
    return api_reply_error(q, MHD_HTTP_NOT_FOUND, "only the national center "
                           "(node.role: national) keeps the federation's "
                           "figures and alerts", NULL, NULL, NULL);
}

enum MHD_Result api_federation(api_req *q)
{
    err_t e;
    json_t *o;
    if (q->a->c->node.role != CFG_ROLE_NATIONAL)
        return api__not_national(q);
    api_tls *t = api_tls_get(q->a, &e);
    if (!t || fed_json_federation(api_store(t), q->a->c, api_now_ms(), &o,
                                  &e) < 0)
        return api_reply_err(q, &e);
    return api_reply_json(q, MHD_HTTP_OK, o);
}

enum MHD_Result api_alerts(api_req *q)
{
    err_t e;
    json_t *o;
    int64_t limit;
    if (q->a->c->node.role != CFG_ROLE_NATIONAL)
        return api__not_national(q);
    if (api_arg_int(q, "limit", 1, 1000, API_ALERTS_DEFAULT, &limit))
        return MHD_YES;
    const char *act = api_arg(q, "active");
    int active = act && (!strcmp(act, "1") || !strcmp(act, "true"));
    api_tls *t = api_tls_get(q->a, &e);
    if (!t || fed_json_alerts(api_store(t), active, (size_t)limit, &o, &e) < 0)
        return api_reply_err(q, &e);
    return api_reply_json(q, MHD_HTTP_OK, o);
}

/* ---- static files ---- */

const char *api_web_type(const char *name)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i][0]))
            return types[i][1];
    return NULL;
}

int api_web_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0)
        return 1;
    if (n > 64 || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
            return 0;
    return api_web_type(name) != NULL;
}

/* The file's bytes (malloc'd into *out); -1 with errno when it cannot be
 * read as a regular file under the cap. */
static ssize_t api__read(const char *path, char **out)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat sb;
    if (fd < 0)
        return -1;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
        sb.st_size > (off_t)API_WEB_FILE_MAX) {
        close(fd);
        errno = ENOENT;
        return -1;
    }
    char *p = malloc((size_t)sb.st_size + 1);
    ssize_t got = p ? read(fd, p, (size_t)sb.st_size) : -1;
    close(fd);
    if (got < 0)
        free(p);
    else
        *out = p;
    return got;
}

static enum MHD_Result api__file(api_req *q, const char *type, char *data,
                                 size_t n)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        n, data, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ret = MHD_queue_response(q->conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    q->status = MHD_HTTP_OK;
    return ret;
}

enum MHD_Result api_web(api_req *q)
{
    const char *name = q->param[0] ? q->param : "index.html";
    const char *dir = q->a->c->api.web_dir;
    char path[4200];
    char *data = NULL;
    if (!dir || !api_web_name_ok(q->param))
        return api_reply_error(q, MHD_HTTP_NOT_FOUND, "no such resource",
                               NULL, NULL, NULL);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ssize_t n = api__read(path, &data);
    if (n < 0)
        return api_reply_error(q, MHD_HTTP_NOT_FOUND, "no such resource",
                               NULL, NULL, NULL);
    return api__file(q, api_web_type(name), data, (size_t)n);
}

/* ---- the signed federation directory (docs/pki.md) ----
 * The exact bytes deploy/pki wrote, so that the CA signature beside them
 * still verifies: served to anyone (nodes fetch it with no API key; the
 * signature, not the channel, is what they trust). */
static enum MHD_Result api__dir_file(api_req *q, const char *file,
                                     const char *type)
{
    const char *dir = q->a->c->pki.directory;
    char path[4200];
    char *data = NULL;
    snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", file);
    ssize_t n = q->a->c->node.role == CFG_ROLE_NATIONAL
                    ? api__read(path, &data) : -1;
    if (n < 0)
        return api_reply_error(q, MHD_HTTP_NOT_FOUND, "no signed directory "
                               "published here (deploy/pki directory, at "
                               "the national center)", NULL, NULL, NULL);
    return api__file(q, type, data, (size_t)n);
}

enum MHD_Result api_directory(api_req *q)
{
    return api__dir_file(q, "directory.json", "application/json");
}

enum MHD_Result api_directory_sig(api_req *q)
{
    return api__dir_file(q, "directory.json.sig", "application/octet-stream");
}
