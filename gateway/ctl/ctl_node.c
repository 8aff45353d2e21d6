/* eportctl inbox, peers, dlq: what a node holds in Redis, read without
 * the daemon (it may be down: that is often when one looks), and the
 * dead letters' replay. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "envelope.h"
#include "store.h"

typedef struct node_opts {
    const char *config, *after, *id;
    long count;
} node_opts;

static int nd__args(int argc, char **argv, int first, node_opts *o,
                    const char *usage)
{
    *o = (node_opts){ .count = 1000 };
    for (int i = first; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--config") && v)
            o->config = v, i++;
        else if (!strcmp(a, "--after") && v)
            o->after = v, i++;
        else if (!strcmp(a, "--count") && v)
            o->count = strtol(v, NULL, 10), i++;
        else if (a[0] != '-' && !o->id)
            o->id = a;
        else {
            fprintf(stderr, "usage: %s\n", usage);
            return CTL_USAGE;
        }
    }
    return o->count > 0 ? CTL_OK : CTL_USAGE;
}

static int nd__fail(const err_t *e)
{
    fprintf(stderr, "eportctl: error: %s\n", e->msg);
    return e->code == ERR_IO ? CTL_UNAVAILABLE
         : e->code == ERR_NOTFOUND ? CTL_DATAERR : CTL_SOFTWARE;
}

/* ---- inbox ---- */

static int nd__inbox_one(void *ctx, store_pos pos, const char *id,
                         const char *origin, const void *frame, size_t n,
                         err_t *e)
{
    arena_t *a = ctx;
    env *v;
    unsigned char d[ENV_DIGEST_LEN];
    char pos_s[STORE_ID_MAX];
    store_pos_format(pos, pos_s);
    arena_reset(a);
    if (env_decode(frame, n, a, &v, e) < 0 ||
        env_digest(v->payload, v->payload_len, d, e) < 0)
        return err_wrap(e, "inbox entry %s", pos_s);
    printf("%s %s %s ", pos_s, id, origin);
    for (size_t i = 0; i < sizeof d; i++)
        printf("%02x", d[i]);
    putchar('\n');
    return 0;
}

int ctl_inbox(int argc, char **argv)
{
    node_opts o;
    node *nd;
    int rc = nd__args(argc, argv, 1, &o, "eportctl inbox --config FILE "
                      "[--after POS] [--count N]");
    if (rc == CTL_OK)
        rc = ctl_node_open(o.config, &nd);
    if (rc != CTL_OK)
        return rc;
    store_pos after = { 0, 0 };
    err_t e;
    arena_t a;
    arena_init(&a, ENV_MAX_FRAME * 2u);
    if (o.after && store_pos_parse(o.after, &after) < 0) {
        fprintf(stderr, "eportctl: error: --after %s: not a position "
                "(ms-seq)\n", o.after);
        rc = CTL_USAGE;
    } else if (store_in_after(node_store(nd), after, (size_t)o.count,
                              nd__inbox_one, &a, &e) < 0) {
        rc = nd__fail(&e);
    }
    arena_free(&a);
    node_close(nd);
    return rc;
}

/* ---- peers ---- */

typedef struct kv_line {
    char text[1024];
    size_t n;
    long long at;
} kv_line;

static int nd__kv(void *ctx, const char *name, const char *value, err_t *e)
{
    (void)e;
    kv_line *l = ctx;
    if (!strcmp(name, "at"))
        l->at = atoll(value);
    int k = snprintf(l->text + l->n, sizeof l->text - l->n, " %s=%s", name,
                     value);
    if (k > 0 && l->n + (size_t)k < sizeof l->text)
        l->n += (size_t)k;
    return 0;
}

static int nd__peer(store *st, const char *id, err_t *e)
{
    kv_line l = { "", 0, 0 };
    int64_t depth = store_outbox_len(st, id, e);
    if (depth < 0 || store_peer_status_get(st, id, nd__kv, &l, e) < 0)
        return -1;
    long long now = (long long)time(NULL) * 1000;
    const char *fresh = !l.at ? " status=none" : now - l.at > 5000
                      ? " status=stale" : "";
    printf("peer=%s outbox=%lld%s%s\n", id, (long long)depth, fresh, l.text);
    return 0;
}

int ctl_peers(int argc, char **argv)
{
    node_opts o;
    node *nd;
    int rc = nd__args(argc, argv, 1, &o, "eportctl peers --config FILE");
    if (rc == CTL_OK)
        rc = ctl_node_open(o.config, &nd);
    if (rc != CTL_OK)
        return rc;
    const cfg *c = node_cfg(nd);
    store *st = node_store(nd);
    err_t e;
    int64_t wait = store_await_len(st, &e), in = wait < 0 ? -1
                 : store_in_len(st, &e);
    if (wait < 0 || in < 0)
        rc = nd__fail(&e);
    else
        printf("node=%s awaiting=%lld inbox=%lld\n", c->node.id,
               (long long)wait, (long long)in);
    for (size_t i = 0; rc == CTL_OK && i < c->npeers; i++)
        if (nd__peer(st, c->peers[i].id, &e) < 0)
            rc = nd__fail(&e);
    node_close(nd);
    return rc;
}
