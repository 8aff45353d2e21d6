/* eportctl dlq list|show ID|replay ID|drop ID: the node's dead letters.
 * Replay queues the frame for the daemon to check again from the start
 * (after the cause was fixed: a certificate added, a CRL corrected), as
 * if it had just arrived; drop deletes it for good. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "envelope.h"
#include "store.h"

#define DLQ_USAGE "eportctl dlq list|show ID|replay ID|drop ID --config FILE " \
                  "[--count N]"
#define DLQ_REPLAY "replay" /* the queue the daemon re-checks */

static void dlq__time(int64_t ms, char out[32])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t k = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, 32 - k, ".%03dZ", (int)(ms % 1000));
}

static int dlq__line(void *ctx, const store_dlq_entry *d, err_t *e)
{
    (void)ctx, (void)e;
    char at[32];
    dlq__time(d->at, at);
    printf("%s at=%s reason=%s bytes=%zu where=\"%s\"\n", d->id, at,
           d->reason, d->n, d->where);
    return 0;
}

/* The envelope's head, or why it does not decode. */
static void dlq__show(const buf_t *f)
{
    arena_t a;
    arena_init(&a, ENV_MAX_FRAME * 2u);
    env *v;
    err_t e;
    if (env_decode(f->p, f->len, &a, &v, &e) < 0) {
        printf("frame: %zu bytes, not an envelope: %s\n", f->len, e.msg);
    } else {
        printf("frame: %zu bytes\nid: %s\ntype: %s\norigin: %s\nroute:",
               f->len, v->id, v->type, v->origin);
        for (uint32_t i = 0; i < v->nroute; i++)
            printf(" %s", v->route[i]);
        printf("\ndestinations:");
        for (uint32_t i = 0; i < v->ndest; i++)
            printf(" %s", v->dest[i]);
        printf("\npayload: %zu bytes\n", v->payload_len);
    }
    arena_free(&a);
}

static int dlq__one(store *st, const char *verb, const char *id, err_t *e)
{
    buf_t f;
    buf_init(&f, ENV_MAX_FRAME);
    char sid[STORE_ID_MAX];
    int rc = store_dlq_get(st, id, &f, e);
    if (rc == 0 && !strcmp(verb, "show"))
        dlq__show(&f);
    else if (rc == 0 && !strcmp(verb, "replay")) {
        rc = store_outbox_add(st, DLQ_REPLAY, f.p, f.len, sid, e);
        if (rc == 0)
            rc = store_dlq_del(st, id, e);
        if (rc == 0)
            printf("replayed %s: queued for the node's checks as %s\n", id,
                   sid);
    } else if (rc == 0) {
        rc = store_dlq_del(st, id, e);
        if (rc == 0)
            printf("dropped %s\n", id);
    }
    buf_free(&f);
    return rc;
}

int ctl_dlq(int argc, char **argv)
{
    const char *verb = argc > 1 ? argv[1] : "", *config = NULL, *id = NULL;
    long count = 1000;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config = argv[++i];
        else if (!strcmp(argv[i], "--count") && i + 1 < argc)
            count = strtol(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && !id)
            id = argv[i];
        else
            id = "", verb = "";
    }
    int list = !strcmp(verb, "list");
    if (!(list || ((!strcmp(verb, "show") || !strcmp(verb, "replay") ||
                    !strcmp(verb, "drop")) && id && *id)) || count < 1) {
        fprintf(stderr, "usage: %s\n", DLQ_USAGE);
        return CTL_USAGE;
    }
    node *nd;
    int rc = ctl_node_open(config, &nd);
    if (rc != CTL_OK)
        return rc;
    err_t e;
    int r = list ? store_dlq_list(node_store(nd), (size_t)count, dlq__line,
                                  NULL, &e)
                 : dlq__one(node_store(nd), verb, id, &e);
    if (r < 0) {
        fprintf(stderr, "eportctl: error: %s\n", e.msg);
        rc = e.code == ERR_IO ? CTL_UNAVAILABLE
           : e.code == ERR_NOTFOUND ? CTL_DATAERR : CTL_SOFTWARE;
    }
    node_close(nd);
    return rc;
}
