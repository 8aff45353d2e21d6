/* out_webhook: the HTTP webhook transport (libcurl). One POST per entry to
 * out_url, body = the entry in the system's format, with
 *   Content-Type   by the format (out_content_type)
 *   X-Eport-Event  the event (released, message_status...)
 *   X-Eport-Id     the entry's stream position "ms-seq": stable across
 *                  retries, so a receiver dedupes with it
 * A 2xx answer is delivered; anything else, a connection failure or no
 * answer within 10 s is a failure the worker retries (out.c). The easy
 * handle is kept, so a keep-alive connection is reused. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "out.h"

#define WH_TIMEOUT_MS 10000L
#define WH_CONNECT_MS 5000L

typedef struct wh {
    CURL *h;
    char errbuf[CURL_ERROR_SIZE];
} wh;

static pthread_once_t wh_once = PTHREAD_ONCE_INIT;
static CURLcode wh_global = CURLE_OK;

/* curl_global_init is not thread-safe in every libcurl: once, here. */
static void wh__global(void)
{
    wh_global = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The answer body is not kept: only the status matters. */
static size_t wh__discard(char *p, size_t sz, size_t n, void *ctx)
{
    (void)p, (void)ctx;
    return sz * n;
}

static int wh_open(conn_out *o, err_t *e)
{
    const char *url = o->cc->out_url;
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
        return err_set(e, ERR_CONFIG, "out: webhook needs out_url "
                       "(http:// or https://), not '%s'", url ? url : "");
    pthread_once(&wh_once, wh__global);
    if (wh_global != CURLE_OK)
        return err_set(e, ERR_IO, "out_webhook: curl_global_init: %s",
                       curl_easy_strerror(wh_global));
    wh *w = calloc(1, sizeof *w);
    if (!w || !(w->h = curl_easy_init())) {
        free(w);
        return err_set(e, ERR_NOMEM, "out_webhook %s: curl_easy_init failed",
                       url);
    }
    CURL *h = w->h;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, WH_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, WH_CONNECT_MS);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, w->errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, wh__discard);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "eportd-webhook/1");
    o->priv = w;
    return 0;
}

static struct curl_slist *wh__headers(const char *name, char *why, size_t n)
{
    store_pos pos;
    char ev[64], line[160];
    const char *ext;
    if (out_name_parse(name, &pos, ev, sizeof ev, &ext)) {
        snprintf(why, n, "entry name '%s' is not <ms>-<seq>-<event>.<ext>",
                 name);
        return NULL;
    }
    struct curl_slist *l = NULL, *t;
    snprintf(line, sizeof line, "Content-Type: %s", out_content_type(ext));
    l = curl_slist_append(l, line);
    snprintf(line, sizeof line, "X-Eport-Event: %s", ev);
    t = l ? curl_slist_append(l, line) : NULL;
    snprintf(line, sizeof line, "X-Eport-Id: %llu-%llu",
             (unsigned long long)pos.ms, (unsigned long long)pos.seq);
    l = t ? curl_slist_append(t, line) : NULL;
    t = l ? curl_slist_append(l, "Expect:") : NULL; /* no 100-continue */
    if (!t) {
        curl_slist_free_all(l);
        snprintf(why, n, "out of memory");
    }
    return t;
}

static int wh_send(conn_out *o, const char *name, const void *p, size_t n,
                   err_t *e)
{
    wh *w = o->priv;
    char why[200];
    struct curl_slist *hd = wh__headers(name, why, sizeof why);
    if (!hd)
        return err_set(e, ERR_INVALID, "webhook %s: %s", o->cc->out_url, why);
    curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(w->h, CURLOPT_POSTFIELDS, p);
    curl_easy_setopt(w->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    w->errbuf[0] = '\0';
    CURLcode cc = curl_easy_perform(w->h);
    long status = 0;
    curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hd);
    if (cc != CURLE_OK)
        return err_set(e, ERR_IO, "webhook POST %s: %s", o->cc->out_url,
                       w->errbuf[0] ? w->errbuf : curl_easy_strerror(cc));
    if (status < 200 || status > 299)
        return err_set(e, ERR_IO, "webhook POST %s: HTTP %ld (not 2xx)",
                       o->cc->out_url, status);
    return 0;
}

static void wh_close(conn_out *o)
{
    wh *w = o->priv;
    if (w) {
        curl_easy_cleanup(w->h);
        free(w);
    }
    o->priv = NULL;
}

const conn_out_ops conn_out_webhook_ops = {CFG_OUT_WEBHOOK, "json", wh_open,
                                           wh_send, wh_close};
