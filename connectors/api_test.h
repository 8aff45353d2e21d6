/* api_test.h: the fixture of the HTTP API's unit tests (api_test.c,
 * api_query_test.c): what every connector test has (tests/conn_fixture.h:
 * the repository, its mappings, a private redis-server), a config with
 * five clients, the API started on a free loopback port, and a libcurl
 * client keeping one connection alive. Header-only, like tests/redis.h;
 * include once per test binary, after <cmocka.h>. */
#ifndef EPORT_API_TEST_H
#define EPORT_API_TEST_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../tests/conn_fixture.h"
#include "api.h"
#include "intake.h"
#include "mvref.h"
#include "store_local.h"

static cfg *g_cfg;
static api *g_api;
static CURL *g_curl;

#define SAMPLE "mappings/samples/iftmin-rail/xa-rail-02.edi"
#define BAD "mappings/samples/bad/unknown-mode.edi"
#define OTHER_PARTY "mappings/samples/iftmin-rail/dui-rail-03.edi"

/* ---- fixtures ---- */

/* Clients (key = id + "-key"): rail (waybills for XIYITP), stat (status
 * only), other (waybills for another party), met (its own connector, for
 * the metrics test), slow (connector slow). */
static inline cfg *load_cfg(const char *name, const char *url, const char *api_yaml)
{
    static const char *const cl[][4] = {
        {"rail", "rail", "[waybill]", "[XIYITP]"},
        {"stat", "rail", "[status]", "['*']"},
        {"other", "rail", "[waybill]", "[NOTCQX]"},
        {"met", "met", "['*']", "['*']"},
        {"slow", "slow", "['*']", "['*']"}};
    char path[400], h[65], key[32];
    FILE *f = conn_fixture_yaml(name, test_redis_free_port(), path);
    fprintf(f, "redis: {url: '%s', prefix: '%s:'}\n"
            "api: {%s}\nconnectors:\n  - {name: rail, type: http}\n"
            "  - {name: met, type: http, mapping: iftmin-rail}\n"
            "  - {name: slow, type: http}\nclients:\n",
            url, name, api_yaml);
    for (size_t i = 0; i < sizeof cl / sizeof cl[0]; i++) {
        snprintf(key, sizeof key, "%s-key", cl[i][0]);
        conn_fixture_hash(key, h);
        fprintf(f, "  - {id: %s, connector: %s, key_sha256: '%s', kinds: %s, "
                "parties: %s}\n", cl[i][0], cl[i][1], h, cl[i][2], cl[i][3]);
    }
    fprintf(f, "log: {level: error, file: '-'}\n");
    return conn_fixture_load(f, path);
}

static inline api *start(const cfg *c)
{
    api *a = NULL;
    err_t e;
    if (api_start(c, g_maps, &a, &e))
        fail_msg("api_start: %s", e.msg);
    return a;
}

static inline int group_setup(void **state)
{
    if (conn_fixture_setup(state) ||
        curl_global_init(CURL_GLOBAL_DEFAULT))
        return -1;
    if (!g_url[0])
        return 0;
    g_cfg = load_cfg("main", g_url, "max_body_bytes: 65536, threads: 2, "
                     "rate_per_s: 0, max_backlog: 1000, retry_after_s: 2");
    g_api = start(g_cfg);
    g_curl = curl_easy_init();
    return g_curl ? 0 : -1;
}

static inline int group_teardown(void **state)
{
    curl_easy_cleanup(g_curl);
    api_stop(g_api);
    cfg_free(g_cfg);
    curl_global_cleanup();
    return conn_fixture_teardown(state);
}

/* ---- an HTTP client ---- */

typedef struct resp {
    long status;
    buf_t body, hdrs;
    json_t *j;          /* the body parsed, when JSON */
} resp;

static inline size_t on_data(char *p, size_t sz, size_t n, void *ctx)
{
    return buf_add(ctx, p, sz * n) ? 0 : sz * n;
}

/* One request on h (g_curl: the kept-alive connection); hdr: a header
 * line or NULL; key: the API key, or NULL. */
static inline void http_on(CURL *h, const api *a, resp *r, const char *method,
                    const char *path, const char *key, const char *hdr,
                    const char *body, size_t len)
{
    char url[512], auth[128];
    struct curl_slist *hl = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", api_port(a), path);
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        hl = curl_slist_append(hl, auth);
    }
    if (hdr)
        hl = curl_slist_append(hl, hdr);
    hl = curl_slist_append(hl, "Expect:");
    buf_init(&r->body, 1 << 22);
    buf_init(&r->hdrs, 1 << 16);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hl);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    r->j = r->body.p ? json_loads(r->body.p, 0, NULL) : NULL;
}

static inline void http(resp *r, const char *method, const char *path,
                 const char *key, const char *hdr, const char *body,
                 size_t len)
{
    if (!g_url[0])
        skip();
    http_on(g_curl, g_api, r, method, path, key, hdr, body, len);
}

static inline void resp_free(resp *r)
{
    json_decref(r->j);
    buf_free(&r->body);
    buf_free(&r->hdrs);
}

/* The error's code, checking the shape {"error": {code, status,
 * message}}. */
static inline const char *err_code(const resp *r)
{
    json_t *e = json_object_get(r->j, "error");
    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "status")),
                     r->status);
    assert_non_null(json_string_value(json_object_get(e, "message")));
    return json_string_value(json_object_get(e, "code"));
}

static inline int has_header(const resp *r, const char *line)
{
    return r->hdrs.p && strcasestr(r->hdrs.p, line) != NULL;
}

static inline void expect_error(const char *method, const char *path,
                         const char *key, const char *body, long status,
                         const char *code)
{
    resp r;
    http(&r, method, path, key, NULL, body, body ? strlen(body) : 0);
    assert_int_equal(r.status, status);
    assert_string_equal(err_code(&r), code);
    resp_free(&r);
}

/* The value of the series of family fam whose labels hold label. */
static inline long long metric(const char *text, const char *fam, const char *label)
{
    size_t fl = strlen(fam);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p += !!p) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *sp = memchr(p, ' ', n);
        if (!strncmp(p, fam, fl) && p[fl] == '{' && sp &&
            memmem(p, (size_t)(sp - p), label, strlen(label)))
            return strtoll(sp + 1, NULL, 10);
    }
    return 0;
}

static inline void scrape(long long *in, long long *refused, long long *submits)
{
    resp r;
    http(&r, "GET", "/metrics", NULL, NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(r.body.p, "# TYPE eport_intake_seconds histogram"));
    *in = metric(r.body.p, "eport_messages_in_total", "connector=\"met\"");
    *refused = metric(r.body.p, "eport_messages_refused_total",
                      "connector=\"met\"");
    *submits = metric(r.body.p, "eport_http_request_seconds_count",
                      "route=\"submit\"");
    resp_free(&r);
}

#endif
