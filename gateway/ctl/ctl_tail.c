/* eportctl tail: a node's event feed (v1:events: accepted, dispatched,
 * refused, delivered, mv...) followed over GET /v1/events, one line per
 * event, as `tail -f` follows a log: the last few events first (or
 * everything after --after POS), then each new one as it comes, by long
 * polls. Human lines "POS EVENT key=value..." or, with --json, the API's
 * objects one per line. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define TAIL_USAGE "eportctl tail [--after POS] [--lines N] [--count N] " \
    "[--no-follow] [--node URL] [--key KEY] [--json]"
#define TAIL_LIMIT 1000         /* events per request */
#define TAIL_WAIT_MS 25000      /* a long poll's wait */
#define TAIL_LINES_MAX 10000
#define TAIL_POS_MAX 64

typedef struct tail_run {
    ctl_http *h;
    int json;
    long count;                 /* stop after this many printed; 0: never */
    long printed;
    char after[TAIL_POS_MAX];   /* the feed position read up to */
} tail_run;

/* ---- printing ---- */

static void tl__value(json_t *v)
{
    const char *s = json_string_value(v);
    if (s && *s && !strpbrk(s, " \t\"="))
        fputs(s, stdout);
    else if (json_is_array(v) && json_array_size(v)) {
        json_t *x;
        size_t i;
        json_array_foreach(v, i, x) {
            fputs(i ? "," : "", stdout);
            tl__value(x);
        }
    } else {
        char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        fputs(d ? d : "?", stdout);
        free(d);
    }
}

static void tl__print(tail_run *t, json_t *ev)
{
    if (t->json) {
        char *d = json_dumps(ev, JSON_COMPACT);
        printf("%s\n", d ? d : "{}");
        free(d);
    } else {
        const char *k;
        json_t *v;
        printf("%s %s", json_string_value(json_object_get(ev, "pos")),
               json_string_value(json_object_get(ev, "ev")));
        json_object_foreach(ev, k, v) {
            if (!strcmp(k, "pos") || !strcmp(k, "ev"))
                continue;
            printf(" %s=", k);
            tl__value(v);
        }
        printf("\n");
    }
    fflush(stdout);
    t->printed++;
}

/* ---- reading ---- */

/* One GET /v1/events after t->after: its events array (a new
 * reference) in *evs, t->after moved to its "last". */
static int tl__get(tail_run *t, long wait_ms, json_t **evs)
{
    char path[256];
    ctl_reply r;
    snprintf(path, sizeof path, "/v1/events?after=%s&limit=%d&wait_ms=%ld",
             t->after, TAIL_LIMIT, wait_ms);
    ctl_reply_init(&r);
    int rc = ctl_http_do(t->h, "GET", path, NULL, NULL, 0, wait_ms + 30000,
                         &r);
    if (rc == CTL_OK && r.status != 200)
        rc = ctl_http_fail(&r, "tail", NULL);
    json_t *j = rc == CTL_OK ? json_loadb(r.body.p ? r.body.p : "",
                                          r.body.len, 0, NULL) : NULL;
    const char *last = json_string_value(json_object_get(j, "last"));
    *evs = json_incref(json_object_get(j, "events"));
    if (rc == CTL_OK && (!last || !json_is_array(*evs))) {
        fprintf(stderr, "eportctl: error: tail: the reply has no events or "
                "last\n");
        rc = CTL_SOFTWARE;
    }
    if (rc == CTL_OK)
        snprintf(t->after, sizeof t->after, "%s", last);
    json_decref(j);
    ctl_reply_free(&r);
    return rc;
}

/* Without --after: read the feed to its end, then print its last n. */
static int tl__catch_up(tail_run *t, long n)
{
    json_t *keep = json_array(), *evs = NULL, *ev;
    size_t got, i;
    int rc;
    do {
        json_decref(evs);
        if ((rc = tl__get(t, 0, &evs)) != CTL_OK)
            break;
        got = json_array_size(evs);
        json_array_foreach(evs, i, ev)
            json_array_append(keep, ev);
        while (json_array_size(keep) > (size_t)n)
            json_array_remove(keep, 0);
    } while (got == TAIL_LIMIT);
    json_decref(evs);
    json_array_foreach(keep, i, ev)
        if (rc == CTL_OK && (!t->count || t->printed < t->count))
            tl__print(t, ev);
    json_decref(keep);
    return rc;
}

static int tl__follow(tail_run *t, int follow)
{
    int rc = CTL_OK;
    while (rc == CTL_OK && (!t->count || t->printed < t->count)) {
        json_t *evs, *ev;
        size_t i;
        rc = tl__get(t, follow ? TAIL_WAIT_MS : 0, &evs);
        json_array_foreach(evs, i, ev)
            if (!t->count || t->printed < t->count)
                tl__print(t, ev);
        if (!follow && json_array_size(evs) < TAIL_LIMIT) {
            json_decref(evs);
            break;
        }
        json_decref(evs);
    }
    return rc;
}

int ctl_tail(int argc, char **argv)
{
    tail_run t = {0};
    const char *where = NULL, *key = NULL, *after = NULL;
    long lines = 10;
    int no_follow = 0;
    const ctl_opt opts[] = {
        {"--after", NULL, &after, NULL, NULL},
        {"--lines", "-n", NULL, &lines, NULL},
        {"--count", NULL, NULL, &t.count, NULL},
        {"--no-follow", NULL, NULL, NULL, &no_follow},
        {"--node", NULL, &where, NULL, NULL},
        {"--key", NULL, &key, NULL, NULL},
        {"--json", NULL, NULL, NULL, &t.json},
        {0}};
    int npos = 0, rc = ctl_opts(argc, argv, 1, opts, NULL, 0, &npos,
                                TAIL_USAGE);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    if (lines < 0 || lines > TAIL_LINES_MAX || t.count < 0 ||
        (after && strlen(after) >= TAIL_POS_MAX)) {
        fprintf(stderr, "eportctl: error: tail: --lines 0 to %d, --count >= "
                "0, --after a feed position\nusage: %s\n", TAIL_LINES_MAX,
                TAIL_USAGE);
        return CTL_USAGE;
    }
    snprintf(t.after, sizeof t.after, "%s", after ? after : "0");
    if ((rc = ctl_http_open(where, key, &t.h)) != CTL_OK)
        return rc;
    rc = after ? CTL_OK : tl__catch_up(&t, lines);
    if (rc == CTL_OK)
        rc = tl__follow(&t, !no_follow);
    ctl_http_close(t.h);
    return rc;
}
