/* eportctl site status|promote: the standby site's Redis (docs/ha.md,
 * "Standby site"). status prints what the Redis of the configuration's
 * redis.url says of its replication, the old primary's offset when it
 * answers, and the promotion recorded in v1:site; promote turns a standby
 * replica into the primary, refusing while the primary site may still be
 * live (two primaries: split brain) unless forced. Only the
 * configuration's redis keys are used: no PKI, no daemon. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ctl.h"
#include "store.h"
#include "store_site.h"

#define SITE_USAGE "eportctl site status|promote --config FILE [--force] " \
                   "[--max-lag-bytes N]"

typedef struct site_args {
    const char *config, *pos[1];
    int npos, force;
    long max_lag;
} site_args;

static int site__args(int argc, char **argv, site_args *a)
{
    *a = (site_args){.max_lag = LONG_MIN};
    const ctl_opt opts[] = {
        {"--config", "-c", &a->config, NULL, NULL},
        {"--force", NULL, NULL, NULL, &a->force},
        {"--max-lag-bytes", NULL, NULL, &a->max_lag, NULL},
        {0}};
    int rc = ctl_opts(argc, argv, 1, opts, a->pos, 1, &a->npos, SITE_USAGE);
    if (rc)
        return rc;
    int promote = a->npos == 1 && !strcmp(a->pos[0], "promote");
    int status = a->npos == 1 && !strcmp(a->pos[0], "status");
    int extra = a->force || a->max_lag != LONG_MIN;
    if ((promote || (status && !extra)) &&
        (a->max_lag == LONG_MIN || a->max_lag >= 0))
        return CTL_OK;
    fprintf(stderr, "eportctl: error: site status, or site promote "
            "[--force] [--max-lag-bytes N>=0]\nusage: %s\n", SITE_USAGE);
    return CTL_USAGE;
}

/* ---- printing ---- */

static void site__time(int64_t ms, char out[32])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t k = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, 32 - k, ".%03dZ", (int)(ms % 1000));
}

static void site__print_link(const store_site_state *s)
{
    printf("master=%s master_link_status=%s master_last_io_seconds_ago=%lld "
           "master_link_down_since_seconds=%lld master_sync_in_progress=%d\n",
           s->master, s->link[0] ? s->link : "-", (long long)s->last_io_s,
           (long long)s->down_s, s->sync);
    printf("slave_repl_offset=%lld master_repl_offset=%lld\n",
           (long long)s->slave_offset, (long long)s->master_offset);
    if (s->primary_answers && s->primary_role[0])
        printf("primary=%s answers=yes role=%s master_repl_offset=%lld "
               "lag_bytes=%lld\n", s->master, s->primary_role,
               (long long)s->primary_offset, (long long)s->lag_bytes);
    else if (s->primary_answers)
        printf("primary=%s answers=yes role=unknown why=\"%s\"\n",
               s->master, s->primary_why);
    else
        printf("primary=%s answers=no why=\"%s\"\n", s->master,
               s->primary_why);
}

static void site__print_replicas(const store_site_state *s)
{
    if (!s->replica)
        printf("master_repl_offset=%lld connected_slaves=%d\n",
               (long long)s->master_offset, s->nreplicas);
    for (int i = 0; i < s->nreplicas; i++) {
        const store_site_replica *r = &s->replicas[i];
        long long lag = r->offset >= 0 && s->master_offset >= r->offset
                      ? (long long)(s->master_offset - r->offset) : -1;
        printf("replica=%s state=%s offset=%lld lag_bytes=%lld lag_s=%lld\n",
               r->addr, r->state, (long long)r->offset, lag,
               (long long)r->lag_s);
    }
}

static void site__print_site(const store_site_state *s)
{
    char at[32];
    printf("fence=%s demote_tries=%lld\n", s->replicaof_denied > 0 ? "on"
           : s->replicaof_denied == 0 ? "off" : "unknown",
           (long long)s->demote_tries);
    if (!s->promoted) {
        printf("site=not-promoted\n");
        return;
    }
    site__time(s->promoted_at, at);
    printf("site=promoted promoted_at=%s from=%s offset=%lld\n", at, s->from,
           (long long)s->promoted_offset);
}

static void site__print(const cfg *c, const store_site_state *s)
{
    printf("redis=%s server=%s role=%s keys=%lld min_replicas_to_write=%lld\n",
           c->redis.url, s->server, s->replica ? "replica" : s->role,
           (long long)s->keys, (long long)s->min_replicas);
    if (!strcmp(s->role, "sentinel"))
        return;
    if (s->replica)
        site__print_link(s);
    site__print_replicas(s);
    site__print_site(s);
}

/* ---- refusals ---- */

static int site__code(const err_t *e)
{
    return e->code == ERR_PHASE ? CTL_REFUSED
         : e->code == ERR_IO ? CTL_UNAVAILABLE
         : e->code == ERR_CONFIG ? CTL_CONFIG : CTL_SOFTWARE;
}

/* The way out of a refusal while the primary may be live. */
static const char site__stop_first[] =
    "eportctl: stop the primary site first, so that it cannot "
    "come back by itself: on\n"
    "  each of its machines every eportd instance of the node, the "
    "Redis Sentinels and\n"
    "  Redis (systemctl disable --now eportd@INSTANCE... "
    "redis-sentinel eport-redis), or\n"
    "  fence it (power it off, cut its network); then 'eportctl "
    "site status' until\n"
    "  master_link_status=down and answers=no, and promote. A "
    "primary that died without\n"
    "  closing its connections shows the link up until "
    "repl-timeout (60 s) has passed.\n"
    "  --force promotes anyway.\n";

/* What the operator can do about a refusal, after the error line; the
 * refusals in store_site_promote's order. */
static void site__advice(const store_site_state *s, int force)
{
    int live = !force && (!strcmp(s->link, "up") || s->primary_answers);
    if (!s->replica && s->promoted)
        fputs("eportctl: promoted already (site= above): start eportd "
              "on this site\n", stderr);
    else if (!s->replica)
        fputs("eportctl: run it with the standby site's file: its "
              "redis.url names the standby replica\n", stderr);
    else if (s->min_replicas > s->nreplicas)
        fputs("eportctl: 'CONFIG SET min-replicas-to-write 0' on it first "
              "(deploy/redis/standby.conf has 0),\n  and set it back once "
              "it has replicas of its own\n", stderr);
    else if (live)
        fputs(site__stop_first, stderr);
    else if (s->keys == 0 && !force)
        fputs("eportctl: --force promotes it empty: the node would start "
              "from nothing\n", stderr);
    else
        fputs("eportctl: without --max-lag-bytes the lag is not "
              "checked\n", stderr);
}

/* After a promotion: what the fence and the rewrite did not do. */
static void site__warn(const store_site_state *s)
{
    if (s->fence_why[0])
        fprintf(stderr, "eportctl: warning: %s: REPLICAOF is not denied "
                "here: the primary site's Sentinels, should they come back, "
                "would make this server their replica again and drop what "
                "was written here since: keep them stopped\n",
                s->fence_why);
    if (s->rewrite_why[0])
        fprintf(stderr, "eportctl: warning: %s: the server's own config "
                "file still says replicaof: delete that line before this "
                "Redis restarts, or it follows the old primary again and "
                "drops what was written here since\n", s->rewrite_why);
}

/* ---- the verbs ---- */

/* "eportd@NAME" for /etc/eport/NAME.yaml, else "eportd --config FILE". */
static void site__next(const char *config)
{
    const char *base = strrchr(config, '/');
    base = base ? base + 1 : config;
    size_t n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".yaml"))
        printf("next: start eportd on this site (systemctl start "
               "eportd@%.*s, or eportd --config %s)", (int)(n - 5), base,
               config);
    else
        printf("next: start eportd on this site (eportd --config %s)",
               config);
    printf("; neighbours reach it through the standby endpoints listed in "
           "their peers' endpoints\n");
}

static int site__promote(const site_args *a, const cfg *c, store *st)
{
    store_site_opts o = {.force = a->force,
                         .max_lag_bytes = a->max_lag == LONG_MIN
                                        ? -1 : (int64_t)a->max_lag};
    store_site_state s;
    err_t e;
    int rc = store_site_promote(st, &o, &s, &e);
    if (s.role[0])
        site__print(c, &s);
    if (rc < 0) {
        fprintf(stderr, "eportctl: error: %s\n", e.msg);
        if (e.code == ERR_PHASE)
            site__advice(&s, a->force);
        return site__code(&e);
    }
    printf("site promoted: redis=%s offset=%lld from=%s\n", c->redis.url,
           (long long)s.promoted_offset, s.from);
    site__warn(&s);
    site__next(a->config);
    return CTL_OK;
}

static int site__status(const cfg *c, store *st)
{
    store_site_state s;
    err_t e;
    if (store_site_info(st, &s, &e) < 0) {
        fprintf(stderr, "eportctl: error: %s\n", e.msg);
        return site__code(&e);
    }
    site__print(c, &s);
    return CTL_OK;
}

int ctl_site(int argc, char **argv)
{
    site_args a;
    int rc = site__args(argc, argv, &a);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    cfg *c = NULL;
    store *st = NULL;
    rc = ctl_store_open(a.config, &c, &st);
    if (rc == CTL_OK)
        rc = !strcmp(a.pos[0], "promote") ? site__promote(&a, c, st)
                                          : site__status(c, st);
    store_close(st);
    cfg_free(c);
    return rc;
}
