/* ctl_http: the one HTTP client of the eportctl commands that talk to a
 * running node's API (submit, status, tail): where the node is and which
 * API key to present, one request at a time over libcurl (keep-alive
 * across requests of one command), and what an error reply means as an
 * exit code. See ctl.h for the order in which the node and key are
 * looked for. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "ctl.h"
#include "ydoc.h"

#define HTTP_DEFAULT_NODE "http://127.0.0.1:8101"
#define HTTP_URL_MAX 2048
#define HTTP_BODY_MAX (64u << 20)
#define HTTP_CONNECT_MS 5000
#define HTTP_EXPECT_BYTES (1u << 20) /* bodies sent after 100 Continue */

struct ctl_http {
    CURL *c;
    char base[HTTP_URL_MAX];
    char auth[AUTH_KEY_MAX + 32];   /* "Authorization: Bearer KEY", or "" */
    char extra[512];                /* ctl_http_header's, or "" */
};

/* ---- where and as whom ---- */

/* The user's file: $XDG_CONFIG_HOME/eport/config.yaml, else
 * $HOME/.config/eport/config.yaml; "" when neither is set. */
static void http__file(char *out, size_t n)
{
    const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");
    if (x && *x)
        snprintf(out, n, "%s/eport/config.yaml", x);
    else if (h && *h)
        snprintf(out, n, "%s/.config/eport/config.yaml", h);
    else
        out[0] = '\0';
}

/* `node:` and `key:` of the user's file into url and key (left alone
 * when absent). A file that is missing is no problem; one that does not
 * parse is (CTL_CONFIG). */
static int http__from_file(char *url, size_t nn, char *key, size_t kn)
{
    char path[1024];
    http__file(path, sizeof path);
    FILE *f = path[0] ? fopen(path, "r") : NULL;
    if (!f)
        return CTL_OK;
    fclose(f);
    arena_t a;
    ydoc d;
    err_t e;
    arena_init(&a, 1u << 20);
    int rc = ydoc_load_file(path, &a, &d, &e);
    const char *v;
    if (rc == 0 && d.root && d.root->type == YD_MAP) {
        if ((v = ydoc_str(d.root, "node")) && !url[0])
            snprintf(url, nn, "%s", v);
        if ((v = ydoc_str(d.root, "key")) && !key[0])
            snprintf(key, kn, "%s", v);
    }
    arena_free(&a);
    if (rc < 0)
        fprintf(stderr, "eportctl: error: %s\n", e.msg);
    return rc < 0 ? CTL_CONFIG : CTL_OK;
}

static void http__pick(char *out, size_t n, const char *given,
                       const char *env)
{
    const char *v = getenv(env);
    out[0] = '\0';
    if (given)
        snprintf(out, n, "%s", given);
    else if (v && *v)
        snprintf(out, n, "%s", v);
}

/* given as a base URL: "http://" added when no scheme, no trailing '/'. */
static int http__base(ctl_http *h, const char *given)
{
    const char *url = *given ? given : HTTP_DEFAULT_NODE;
    int k = snprintf(h->base, sizeof h->base, "%s%s",
                     strstr(url, "://") ? "" : "http://", url);
    if (k < 0 || (size_t)k >= sizeof h->base) {
        fprintf(stderr, "eportctl: error: node URL longer than %d bytes\n",
                HTTP_URL_MAX - 1);
        return CTL_USAGE;
    }
    while (k > 0 && h->base[k - 1] == '/')
        h->base[--k] = '\0';
    if (strncmp(h->base, "http://", 7) && strncmp(h->base, "https://", 8)) {
        fprintf(stderr, "eportctl: error: node %s: not an http:// or "
                "https:// URL\n", h->base);
        return CTL_USAGE;
    }
    return CTL_OK;
}

static int http__key(ctl_http *h, const char *key)
{
    if (!*key)
        return CTL_OK;
    if (strlen(key) > AUTH_KEY_MAX || strpbrk(key, "\r\n")) {
        fprintf(stderr, "eportctl: error: API key: longer than %d bytes or "
                "holds a line break\n", AUTH_KEY_MAX);
        return CTL_USAGE;
    }
    snprintf(h->auth, sizeof h->auth, "Authorization: Bearer %s", key);
    return CTL_OK;
}

int ctl_http_open(const char *where, const char *key, ctl_http **out)
{
    char n[HTTP_URL_MAX], k[AUTH_KEY_MAX + 2];
    *out = NULL;
    http__pick(n, sizeof n, where, "EPORT_NODE");
    http__pick(k, sizeof k, key, "EPORT_KEY");
    int rc = http__from_file(n, sizeof n, k, sizeof k);
    ctl_http *h = calloc(1, sizeof *h);
    if (rc == CTL_OK && !h)
        rc = CTL_SOFTWARE;
    if (rc == CTL_OK && (rc = http__base(h, n)) == CTL_OK)
        rc = http__key(h, k);
    if (rc == CTL_OK && (curl_global_init(CURL_GLOBAL_DEFAULT) ||
                         !(h->c = curl_easy_init()))) {
        fprintf(stderr, "eportctl: error: libcurl cannot start\n");
        rc = CTL_SOFTWARE;
    }
    if (rc != CTL_OK) {
        free(h);
        return rc;
    }
    *out = h;
    return CTL_OK;
}

void ctl_http_close(ctl_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->c);
    curl_global_cleanup();
    free(h);
}

const char *ctl_http_base(const ctl_http *h)
{
    return h->base;
}

/* ---- one request ---- */

void ctl_reply_init(ctl_reply *r)
{
    r->status = 0;
    buf_init(&r->body, HTTP_BODY_MAX);
}

void ctl_reply_free(ctl_reply *r)
{
    buf_free(&r->body);
}

static size_t http__write(char *p, size_t size, size_t n, void *ctx)
{
    ctl_reply *r = ctx;
    return buf_add(&r->body, p, size * n) == 0 ? size * n : 0;
}

int ctl_http_header(ctl_http *h, const char *line)
{
    if (strlen(line) >= sizeof h->extra || strpbrk(line, "\r\n")) {
        fprintf(stderr, "eportctl: error: header longer than %zu bytes or "
                "holding a line break\n", sizeof h->extra - 1);
        return CTL_USAGE;
    }
    snprintf(h->extra, sizeof h->extra, "%s", line);
    return CTL_OK;
}

char *ctl_http_escape(ctl_http *h, const char *s)
{
    char *c = curl_easy_escape(h->c, s, 0);
    char *m = c ? strdup(c) : NULL;
    curl_free(c);
    return m;
}

/* Headers of a request with a body of len bytes. A large body is sent
 * after the node's "100 Continue", so a refusal (413, 401) comes before
 * it is uploaded; a small one at once, without that round trip. */
static struct curl_slist *http__headers(ctl_http *h, const char *ctype,
                                        size_t len)
{
    char ct[256];
    struct curl_slist *l = curl_slist_append(NULL, "Accept: application/json");
    if (h->auth[0])
        l = curl_slist_append(l, h->auth);
    if (ctype) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        l = curl_slist_append(l, ct);
    }
    if (h->extra[0])
        l = curl_slist_append(l, h->extra);
    return curl_slist_append(l, len < HTTP_EXPECT_BYTES
                                    ? "Expect:" : "Expect: 100-continue");
}

static void http__setup(ctl_http *h, const char *url, const char *method,
                        const void *body, size_t len, long timeout_ms,
                        ctl_reply *r)
{
    CURL *c = h->c;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)HTTP_CONNECT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http__write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
}

int ctl_http_do(ctl_http *h, const char *method, const char *path,
                const char *ctype, const void *body, size_t len,
                long timeout_ms, ctl_reply *r)
{
    char url[HTTP_URL_MAX * 2];
    snprintf(url, sizeof url, "%s%s", h->base, path);
    struct curl_slist *hd = http__headers(h, ctype, len);
    buf_reset(&r->body);
    http__setup(h, url, method, body, len, timeout_ms, r);
    curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, hd);
    CURLcode cc = curl_easy_perform(h->c);
    curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hd);
    if (cc == CURLE_OK)
        return CTL_OK;
    fprintf(stderr, "eportctl: error: %s %s: %s\n", method, url,
            cc == CURLE_WRITE_ERROR ? "reply larger than 64 MiB"
                                    : curl_easy_strerror(cc));
    return cc == CURLE_WRITE_ERROR ? CTL_SOFTWARE : CTL_UNAVAILABLE;
}

/* ---- errors ---- */

int ctl_http_code(long status)
{
    switch (status) {
    case 400: case 413: case 422:
        return CTL_DATAERR;
    case 401: case 403:
        return CTL_NOPERM;
    case 404:
        return CTL_NOINPUT;
    case 429: case 503:
        return CTL_TEMPFAIL;
    default:
        return CTL_SOFTWARE;
    }
}

/* One problem line, "body:" at its start replaced by name. */
static void http__problem(const char *line, const char *name)
{
    if (name && !strncmp(line, "body:", 5))
        fprintf(stderr, "%s:%s\n", name, line + 5);
    else
        fprintf(stderr, "%s\n", line);
}

int ctl_http_fail(const ctl_reply *r, const char *what, const char *name)
{
    json_t *j = json_loadb(r->body.p ? r->body.p : "", r->body.len, 0, NULL);
    json_t *er = json_object_get(j, "error");
    const char *msg = json_string_value(json_object_get(er, "message"));
    json_t *pr = json_object_get(er, "problems"), *v;
    size_t i;
    json_array_foreach(pr, i, v)
        if (json_is_string(v))
            http__problem(json_string_value(v), name);
    fprintf(stderr, "eportctl: error: %s: HTTP %ld: %s\n", what, r->status,
            msg ? msg : "(no error message in the reply)");
    json_decref(j);
    return ctl_http_code(r->status);
}
