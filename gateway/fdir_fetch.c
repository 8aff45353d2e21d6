/* Fetching the federation directory and its signature: http(s):// with
 * libcurl, file:// and plain paths read directly (a directory copied to
 * the node by other means, and the tests). Sizes are capped by the
 * caller's buffers, time by FDIR_FETCH_TIMEOUT_S per file. */
#include "fdir.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

static pthread_once_t fdir__once = PTHREAD_ONCE_INIT;
static CURLcode fdir__global = CURLE_OK;

/* curl_global_init is not thread-safe in every libcurl: once, here. */
static void fdir__global_init(void)
{
    fdir__global = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int fdir__read_file(const char *path, buf_t *out, err_t *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
                       "%s: cannot open: %s", path, strerror(errno));
    int rc = 0;
    char chunk[16384];
    size_t n;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_add(out, chunk, n) < 0)
            rc = err_set(e, ERR_TOOBIG, "%s: more than %zu bytes", path,
                         out->max);
    if (rc == 0 && ferror(f))
        rc = err_set(e, ERR_IO, "%s: read error", path);
    fclose(f);
    return rc;
}

static size_t fdir__write(char *p, size_t size, size_t n, void *ctx)
{
    return buf_add(ctx, p, size * n) < 0 ? 0 : size * n;
}

static int fdir__http(const char *url, buf_t *out, err_t *e)
{
    pthread_once(&fdir__once, fdir__global_init);
    CURL *h = fdir__global == CURLE_OK ? curl_easy_init() : NULL;
    if (!h)
        return err_set(e, ERR_NOMEM, "%s: cannot start libcurl", url);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)FDIR_FETCH_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)FDIR_FETCH_TIMEOUT_S / 2);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fdir__write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "eportd-directory/1");
    CURLcode c = curl_easy_perform(h);
    curl_easy_cleanup(h);
    if (c == CURLE_WRITE_ERROR)
        return err_set(e, ERR_TOOBIG, "%s: more than %zu bytes", url,
                       out->max);
    if (c != CURLE_OK)
        return err_set(e, ERR_IO, "%s: %s", url,
                       *errbuf ? errbuf : curl_easy_strerror(c));
    return 0;
}

static int fdir__get(const char *url, buf_t *out, err_t *e)
{
    buf_reset(out);
    if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8))
        return fdir__http(url, out, e);
    if (!strncmp(url, "file://", 7))
        return fdir__read_file(url + 7, out, e);
    if (strstr(url, "://"))
        return err_set(e, ERR_UNSUPPORTED, "%s: http://, https://, file:// "
                       "or a path", url);
    return fdir__read_file(url, out, e);
}

int fdir_fetch(const char *url, buf_t *bytes, buf_t *sig, err_t *e)
{
    char sigurl[4200];
    if ((size_t)snprintf(sigurl, sizeof sigurl, "%s.sig", url) >= sizeof sigurl)
        return err_set(e, ERR_TOOBIG, "directory URL too long");
    int rc = fdir__get(url, bytes, e);
    if (rc == 0)
        rc = fdir__get(sigurl, sig, e);
    return rc < 0 ? err_wrap(e, "directory fetch") : 0;
}
