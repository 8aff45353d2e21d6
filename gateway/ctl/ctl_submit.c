/* eportctl submit and status: a local system's way into a node, from the
 * command line, over the node's HTTP API (ctl_http.c): `submit` POSTs a
 * local-format file to /v1/messages as the connector's client would and
 * prints the message ids the node gave it (once it stored them durably);
 * `status ID` reads /v1/messages/ID: what became of it (dispatched,
 * forwarded, attached, refused) and the receipts of the nodes it was
 * forwarded to. Human text by default, the API's JSON with --json. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define SUBMIT_USAGE "eportctl submit [--connector NAME] [--map NAME] " \
    "[--idempotency-key KEY] [--corrects ID] [--node URL] [--key KEY] " \
    "[--json] FILE..."
#define STATUS_USAGE "eportctl status [--node URL] [--key KEY] [--json] ID..."
#define SUBMIT_TIMEOUT_MS 120000L
#define STATUS_TIMEOUT_MS 30000L
#define SUBMIT_MAX_BYTES (256u << 20)

typedef struct sub_opts {
    const char *connector, *map, *idem, *node, *key;
    const char *corrects;   /* a fanned-out submission this corrects */
    int json;
} sub_opts;

/* ---- submit ---- */

/* "/v1/messages[/ID/resubmit]?connector=..&map=.." into path. */
static int sub__path(ctl_http *h, const sub_opts *o, char *path, size_t n)
{
    char *c = o->connector ? ctl_http_escape(h, o->connector) : NULL;
    char *m = o->map ? ctl_http_escape(h, o->map) : NULL;
    char *x = o->corrects ? ctl_http_escape(h, o->corrects) : NULL;
    int ok = (!o->connector || c) && (!o->map || m) && (!o->corrects || x);
    snprintf(path, n, "/v1/messages%s%s%s%s%s%s%s%s", x ? "/" : "",
             x ? x : "", x ? "/resubmit" : "", c || m ? "?" : "",
             c ? "connector=" : "", c ? c : "", c && m ? "&" : "",
             m ? "map=" : "");
    if (m)
        strncat(path, m, n - strlen(path) - 1);
    free(c);
    free(m);
    free(x);
    return ok ? CTL_OK : CTL_SOFTWARE;
}

/* 202: one line per message (id, kind, and "duplicate" when it was
 * stored before), or the reply as it came. */
static int sub__accepted(const ctl_reply *r, const char *file, int json)
{
    if (json) {
        printf("%.*s\n", (int)r->body.len, r->body.p ? r->body.p : "");
        return CTL_OK;
    }
    json_t *j = json_loadb(r->body.p ? r->body.p : "", r->body.len, 0, NULL);
    json_t *msgs = json_object_get(j, "messages"), *m;
    size_t i;
    json_array_foreach(msgs, i, m)
        printf("%s %s%s\n", json_string_value(json_object_get(m, "id")),
               json_string_value(json_object_get(m, "kind")),
               json_is_true(json_object_get(m, "duplicate")) ? " duplicate"
                                                             : "");
    int ok = json_is_array(msgs);
    json_decref(j);
    if (!ok)
        fprintf(stderr, "eportctl: error: submit %s: a 202 reply without "
                "messages\n", file);
    return ok ? CTL_OK : CTL_SOFTWARE;
}

static int sub__one(ctl_http *h, const sub_opts *o, const char *file)
{
    buf_t b;
    err_t e;
    char path[1024], idem[300], what[1100];
    buf_init(&b, SUBMIT_MAX_BYTES);
    if (ctl_read_file(file, &b, &e) < 0) {
        fprintf(stderr, "eportctl: %s\n", e.msg);
        buf_free(&b);
        return CTL_NOINPUT;
    }
    int rc = sub__path(h, o, path, sizeof path);
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", o->idem ? o->idem : "");
    if (rc == CTL_OK && o->idem)
        rc = ctl_http_header(h, idem);
    ctl_reply r;
    ctl_reply_init(&r);
    if (rc == CTL_OK)
        rc = ctl_http_do(h, "POST", path, "application/octet-stream", b.p,
                         b.len, SUBMIT_TIMEOUT_MS, &r);
    snprintf(what, sizeof what, "submit %s", file);
    if (rc == CTL_OK)
        rc = r.status == 202 ? sub__accepted(&r, file, o->json)
                             : ctl_http_fail(&r, what, file);
    ctl_reply_free(&r);
    buf_free(&b);
    return rc;
}

int ctl_submit(int argc, char **argv)
{
    sub_opts o = {0};
    const char *files[CTL_FILES_MAX];
    int nfiles = 0;
    const ctl_opt opts[] = {
        {"--connector", NULL, &o.connector, NULL, NULL},
        {"--map", NULL, &o.map, NULL, NULL},
        {"--idempotency-key", NULL, &o.idem, NULL, NULL},
        {"--corrects", NULL, &o.corrects, NULL, NULL},
        {"--node", NULL, &o.node, NULL, NULL},
        {"--key", NULL, &o.key, NULL, NULL},
        {"--json", NULL, NULL, NULL, &o.json},
        {0}};
    int rc = ctl_opts(argc, argv, 1, opts, files, CTL_FILES_MAX, &nfiles,
                      SUBMIT_USAGE);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    if (!nfiles || (o.idem && nfiles > 1)) {
        fprintf(stderr, "eportctl: error: submit needs FILE (one with "
                "--idempotency-key)\nusage: %s\n", SUBMIT_USAGE);
        return CTL_USAGE;
    }
    ctl_http *h;
    if ((rc = ctl_http_open(o.node, o.key, &h)) != CTL_OK)
        return rc;
    int worst = CTL_OK;
    for (int i = 0; i < nfiles && worst != CTL_UNAVAILABLE; i++)
        if ((rc = sub__one(h, &o, files[i])) != CTL_OK && worst == CTL_OK)
            worst = rc;
    ctl_http_close(h);
    return worst;
}

/* ---- status ---- */

/* The fields of v1:msg:<id> in the order people read them, with labels. */
static const char *const st__fields[][2] = {
    {"id", "id"}, {"status", "status"}, {"kind", "kind"},
    {"conn", "connector"}, {"client", "client"}, {"doc", "document"},
    {"at", "accepted"}, {"fwd", "forwarded as"}, {"dests", "to"},
    {"refs", "attached to"}, {"detail", "detail"},
};
#define ST__N (sizeof st__fields / sizeof st__fields[0])

static int st__known(const char *k)
{
    for (size_t i = 0; i < ST__N; i++)
        if (!strcmp(st__fields[i][0], k))
            return 1;
    return !strcmp(k, "receipts") || !strcmp(k, "v") || !strcmp(k, "at_ms") ||
           !strcmp(k, "agencies") || !strcmp(k, "combined");
}

static void st__line(const char *label, json_t *v)
{
    if (json_is_string(v))
        printf("%-13s %s\n", label, json_string_value(v));
    else if (json_is_integer(v))
        printf("%-13s %lld\n", label, (long long)json_integer_value(v));
}

static void st__receipts(json_t *list)
{
    json_t *r;
    size_t i;
    if (!json_array_size(list))
        return;
    json_array_foreach(list, i, r) {
        const char *reason = json_string_value(json_object_get(r, "reason"));
        const char *at = json_string_value(json_object_get(r, "at"));
        printf("%-13s %s %s %s%s%s\n", i ? "" : "receipts",
               json_string_value(json_object_get(r, "from")),
               json_string_value(json_object_get(r, "status")),
               at ? at : "-", reason ? " " : "", reason ? reason : "");
    }
}

/* A fanned-out submission: the one status, then a line per agency. */
static void st__agencies(json_t *combined, json_t *ags)
{
    const char *name;
    json_t *a;
    if (!json_is_string(combined))
        return;
    printf("%-13s %s\n", "combined", json_string_value(combined));
    json_object_foreach(ags, name, a) {
        const char *miss = json_string_value(json_object_get(a, "missing"));
        const char *text = json_string_value(json_object_get(a, "text"));
        printf("  %-11s %-20s %s attempt %lld%s%s%s%s\n", name,
               json_string_value(json_object_get(a, "state")),
               json_string_value(json_object_get(a, "mapping")),
               (long long)json_integer_value(json_object_get(a, "attempts")),
               miss ? "; lacks " : "", miss ? miss : "", text ? ": " : "",
               text ? text : "");
    }
}

static int st__print(const ctl_reply *r, const char *id)
{
    json_t *j = json_loadb(r->body.p ? r->body.p : "", r->body.len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        fprintf(stderr, "eportctl: error: status %s: the reply is not a JSON "
                "object\n", id);
        return CTL_SOFTWARE;
    }
    const char *k;
    json_t *v;
    for (size_t i = 0; i < ST__N; i++)
        st__line(st__fields[i][1], json_object_get(j, st__fields[i][0]));
    json_object_foreach(j, k, v)
        if (!st__known(k))
            st__line(k, v);
    st__receipts(json_object_get(j, "receipts"));
    st__agencies(json_object_get(j, "combined"), json_object_get(j,
                                                                "agencies"));
    json_decref(j);
    return CTL_OK;
}

static int st__one(ctl_http *h, const char *id, int json)
{
    char path[300], what[300];
    char *esc = ctl_http_escape(h, id);
    if (!esc)
        return CTL_SOFTWARE;
    snprintf(path, sizeof path, "/v1/messages/%s", esc);
    free(esc);
    ctl_reply r;
    ctl_reply_init(&r);
    int rc = ctl_http_do(h, "GET", path, NULL, NULL, 0, STATUS_TIMEOUT_MS, &r);
    snprintf(what, sizeof what, "status %s", id);
    if (rc == CTL_OK && r.status != 200)
        rc = ctl_http_fail(&r, what, NULL);
    else if (rc == CTL_OK && json)
        printf("%.*s\n", (int)r.body.len, r.body.p ? r.body.p : "");
    else if (rc == CTL_OK)
        rc = st__print(&r, id);
    ctl_reply_free(&r);
    return rc;
}

int ctl_status(int argc, char **argv)
{
    sub_opts o = {0};
    const char *ids[CTL_FILES_MAX];
    int nids = 0;
    const ctl_opt opts[] = {
        {"--node", NULL, &o.node, NULL, NULL},
        {"--key", NULL, &o.key, NULL, NULL},
        {"--json", NULL, NULL, NULL, &o.json},
        {0}};
    int rc = ctl_opts(argc, argv, 1, opts, ids, CTL_FILES_MAX, &nids,
                      STATUS_USAGE);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    if (!nids) {
        fprintf(stderr, "eportctl: error: status needs a message ID (the "
                "old `status -c CONF FILE` is `eportctl attach`)\nusage: "
                "%s\n", STATUS_USAGE);
        return CTL_USAGE;
    }
    ctl_http *h;
    if ((rc = ctl_http_open(o.node, o.key, &h)) != CTL_OK)
        return rc;
    int worst = CTL_OK;
    for (int i = 0; i < nids && worst != CTL_UNAVAILABLE; i++) {
        if (i && !o.json)
            printf("\n");
        if ((rc = st__one(h, ids[i], o.json)) != CTL_OK && worst == CTL_OK)
            worst = rc;
    }
    ctl_http_close(h);
    return worst;
}
