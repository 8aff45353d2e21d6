/* store_site: the standby site's replication state and its promotion
 * (see store_site.h). Reads ROLE and INFO replication, asks the old
 * primary for its offset with a connection of its own (a short timeout:
 * a lost site must not hold the operator long), and records a promotion
 * in <prefix>v1:site. */
#include "store_site.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "store_repl.h"

/* ---- the server's own view ---- */

static int site__role(store *st, store_site_state *s, err_t *e)
{
    st_args a = {.what = "ROLE"};
    st_arg_s(&a, "ROLE");
    redisReply *r;
    int rc = st_cmd(st, &a, REDIS_REPLY_ARRAY, &r, e);
    if (rc < 0)
        return rc;
    if (r->elements < 1 || r->element[0]->type != REDIS_REPLY_STRING)
        rc = err_set(e, ERR_IO, "redis %s: ROLE: unexpected reply", st->url);
    else
        snprintf(s->role, sizeof s->role, "%s", r->element[0]->str);
    freeReplyObject(r);
    s->replica = rc == 0 && strcmp(s->role, "slave") == 0;
    return rc;
}

static void site__link(const char *t, store_site_state *s)
{
    char host[STORE_SENTINEL_HOST], port[16];
    store_repl_str(t, "master_host", host, sizeof host);
    store_repl_str(t, "master_port", port, sizeof port);
    if (host[0])
        snprintf(s->master, sizeof s->master, "%s:%s", host, port);
    store_repl_str(t, "master_link_status", s->link, sizeof s->link);
    s->last_io_s = store_repl_num(t, "master_last_io_seconds_ago");
    s->down_s = store_repl_num(t, "master_link_down_since_seconds");
    s->sync = store_repl_num(t, "master_sync_in_progress") == 1;
    s->slave_offset = store_repl_num(t, "slave_repl_offset");
}

static int site__replication(store *st, store_site_state *s, err_t *e)
{
    st_args a = {.what = "INFO replication"};
    st_arg_s(&a, "INFO"), st_arg_s(&a, "replication");
    redisReply *r;
    int rc = st_cmd(st, &a, REDIS_REPLY_STRING, &r, e);
    if (rc < 0)
        return rc;
    const char *t = r->str;
    s->master_offset = store_repl_num(t, "master_repl_offset");
    if (s->replica)
        site__link(t, s);
    s->nreplicas = (int)store_repl_replicas(t, s->replicas,
                                            STORE_SITE_REPLICAS);
    freeReplyObject(r);
    return 0;
}

/* min-replicas-to-write; 0 when CONFIG GET does not say. */
static void site__min_replicas(store *st, store_site_state *s)
{
    st_args a = {.what = "CONFIG GET min-replicas-to-write"};
    st_arg_s(&a, "CONFIG"), st_arg_s(&a, "GET");
    st_arg_s(&a, "min-replicas-to-write");
    redisReply *r;
    err_t e;
    if (st_raw(st, &a, &r, &e) < 0)
        return;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING)
        s->min_replicas = strtoll(r->element[1]->str, NULL, 10);
    freeReplyObject(r);
}

static int site__keys(store *st, store_site_state *s, err_t *e)
{
    st_args a = {.what = "DBSIZE"};
    st_arg_s(&a, "DBSIZE");
    redisReply *r;
    int rc = st_cmd(st, &a, REDIS_REPLY_INTEGER, &r, e);
    if (rc < 0)
        return rc;
    s->keys = r->integer;
    freeReplyObject(r);
    return 0;
}

/* ---- the old primary, asked directly ---- */

/* Any reply counts as an answer: an error (protected mode, no
 * password) too says the old primary is running. */
static void site__primary_reply(redisContext *c, store_site_state *s)
{
    redisReply *r = redisCommand(c, "INFO replication");
    s->primary_answers = r != NULL;
    if (!r || r->type != REDIS_REPLY_STRING) {
        snprintf(s->primary_why, sizeof s->primary_why, "%s",
                 r && r->type == REDIS_REPLY_ERROR ? r->str
                 : r ? "unexpected reply" : c->errstr);
    } else {
        store_repl_str(r->str, "role", s->primary_role, sizeof s->primary_role);
        s->primary_offset = store_repl_num(r->str, "master_repl_offset");
        if (s->primary_offset >= 0 && s->slave_offset >= 0)
            s->lag_bytes = s->primary_offset - s->slave_offset;
    }
    if (r)
        freeReplyObject(r);
}

/* Connects to s->master (a replica's primary) and reads its offset; what
 * went wrong goes to s->primary_why, never to the caller. */
static void site__ask_primary(store_site_state *s)
{
    char host[STORE_SENTINEL_HOST];
    const char *colon = strrchr(s->master, ':');
    if (!colon || colon == s->master) {
        snprintf(s->primary_why, sizeof s->primary_why, "no primary known");
        return;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - s->master), s->master);
    struct timeval tv = {STORE_SITE_PRIMARY_MS / 1000,
                         (STORE_SITE_PRIMARY_MS % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(host, atoi(colon + 1), tv);
    if (c && !c->err && redisSetTimeout(c, tv) == REDIS_OK)
        site__primary_reply(c, s);
    else
        snprintf(s->primary_why, sizeof s->primary_why, "%s",
                 c ? c->errstr : "out of memory");
    if (c)
        redisFree(c);
}

/* ---- the fence ---- */

/* Would the default user be allowed REPLICAOF? (ACL DRYRUN, Redis 7.) */
static void site__dryrun(store *st, store_site_state *s)
{
    st_args a = {.what = "ACL DRYRUN"};
    st_arg_s(&a, "ACL"), st_arg_s(&a, "DRYRUN"), st_arg_s(&a, "default");
    st_arg_s(&a, "REPLICAOF"), st_arg_s(&a, "NO"), st_arg_s(&a, "ONE");
    redisReply *r;
    err_t e;
    s->replicaof_denied = -1;
    if (st_raw(st, &a, &r, &e) < 0)
        return;
    if (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING)
        s->replicaof_denied = strcmp(r->str, "OK") != 0;
    freeReplyObject(r);
}

/* The count of one ACL LOG entry [k, v, ...] refusing a demotion. */
static int64_t site__demotion(const redisReply *en)
{
    const redisReply *obj = st_field(en, "object");
    int demote = obj && (!strcmp(obj->str, "slaveof") ||
                         !strcmp(obj->str, "replicaof"));
    for (size_t i = 0; demote && i + 1 < en->elements; i += 2)
        if (en->element[i]->str && !strcmp(en->element[i]->str, "count") &&
            en->element[i + 1]->type == REDIS_REPLY_INTEGER)
            return en->element[i + 1]->integer;
    return 0;
}

static void site__acl_log(store *st, store_site_state *s)
{
    st_args a = {.what = "ACL LOG"};
    st_arg_s(&a, "ACL"), st_arg_s(&a, "LOG"), st_arg_s(&a, "128");
    redisReply *r;
    err_t e;
    if (st_raw(st, &a, &r, &e) < 0)
        return;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_ARRAY)
            s->demote_tries += site__demotion(r->element[i]);
    freeReplyObject(r);
}

/* ---- v1:site ---- */

static void site__field(const redisReply *r, store_site_state *s)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *k = r->element[i]->str, *v = r->element[i + 1]->str;
        if (!k || !v)
            continue;
        if (!strcmp(k, "promoted_at"))
            s->promoted_at = strtoll(v, NULL, 10);
        else if (!strcmp(k, "offset"))
            s->promoted_offset = strtoll(v, NULL, 10);
        else if (!strcmp(k, "from"))
            snprintf(s->from, sizeof s->from, "%s", v);
    }
}

static int site__hash(store *st, store_site_state *s, err_t *e)
{
    char key[ST_KEY_MAX];
    int rc = st_key(st, key, "site", NULL, e);
    st_args a = {0};
    st_arg_s(&a, "HGETALL"), st_arg_s(&a, key);
    redisReply *r;
    if (rc == 0)
        rc = st_cmd(st, &a, REDIS_REPLY_ARRAY, &r, e);
    if (rc < 0)
        return rc;
    s->promoted = r->elements > 0;
    site__field(r, s);
    freeReplyObject(r);
    return 0;
}

int store_site_info(store *st, store_site_state *out, err_t *e)
{
    memset(out, 0, sizeof *out);
    out->last_io_s = out->down_s = out->slave_offset = -1;
    out->master_offset = out->primary_offset = out->lag_bytes = -1;
    out->promoted_at = out->promoted_offset = out->keys = -1;
    int rc = site__role(st, out, e);
    snprintf(out->server, sizeof out->server, "%s", store_primary(st));
    if (rc < 0 || !strcmp(out->role, "sentinel"))
        return rc; /* a Sentinel holds no data: nothing more to ask */
    if ((rc = site__replication(st, out, e)) == 0)
        rc = site__keys(st, out, e);
    if (rc == 0 && out->replica)
        site__ask_primary(out);
    if (rc == 0) {
        site__min_replicas(st, out);
        site__dryrun(st, out);
        site__acl_log(st, out);
    }
    return rc < 0 ? rc : site__hash(st, out, e);
}

/* ---- promotion ---- */

/* Why the primary site may still be live, or NULL. An old primary that
 * answers as a replica counts too: it may follow a primary elsewhere. */
static const char *site__live(const store_site_state *s)
{
    if (!strcmp(s->link, "up"))
        return "the replication link to it is up";
    if (s->primary_answers)
        return "it still answers, though the link is down";
    return NULL;
}

/* The lag against o's limit, when there is one. */
static int site__refuse_lag(store *st, const store_site_opts *o,
                            const store_site_state *s, err_t *e)
{
    if (o->max_lag_bytes >= 0 && s->lag_bytes < 0)
        return err_set(e, ERR_PHASE, "redis %s: lag unknown: the primary %s "
                       "gave no offset (%s), so how far this replica is "
                       "behind cannot be measured against max lag %lld",
                       st->url, s->master, s->primary_why,
                       (long long)o->max_lag_bytes);
    if (o->max_lag_bytes >= 0 && s->lag_bytes > o->max_lag_bytes)
        return err_set(e, ERR_PHASE, "redis %s: %lld bytes behind the "
                       "primary %s, more than max lag %lld", st->url,
                       (long long)s->lag_bytes, s->master,
                       (long long)o->max_lag_bytes);
    return 0;
}

static int site__refuse(store *st, const store_site_opts *o,
                        const store_site_state *s, err_t *e)
{
    const char *live = site__live(s);
    if (!s->replica)
        return err_set(e, ERR_PHASE, "redis %s: %s is not a replica (role "
                       "%s): nothing to promote", st->url, s->server,
                       s->role);
    if (s->min_replicas > s->nreplicas)
        return err_set(e, ERR_PHASE, "redis %s: min-replicas-to-write is %lld "
                       "and %s has %d replicas of its own: once promoted it "
                       "would refuse every write (NOREPLICAS)", st->url,
                       (long long)s->min_replicas, s->server, s->nreplicas);
    if (live && !o->force)
        return err_set(e, ERR_PHASE, "redis %s: the primary %s may still be "
                       "live (%s): promoting now would give the province two "
                       "primaries (split brain)", st->url, s->master, live);
    if (s->keys == 0 && !o->force)
        return err_set(e, ERR_PHASE, "redis %s: %s holds no keys: it has "
                       "never been in sync with the primary %s", st->url,
                       s->server, s->master);
    return site__refuse_lag(st, o, s, e);
}

static int site__replicaof_no_one(store *st, err_t *e)
{
    st_args a = {.what = "REPLICAOF NO ONE"};
    st_arg_s(&a, "REPLICAOF"), st_arg_s(&a, "NO"), st_arg_s(&a, "ONE");
    redisReply *r;
    int rc = st_cmd(st, &a, REDIS_REPLY_STATUS, &r, e);
    if (rc == 0)
        freeReplyObject(r);
    return rc;
}

/* HSET v1:site v 1 promoted_at MS from HOST:PORT offset N. */
static int site__record(store *st, store_site_state *s, err_t *e)
{
    char key[ST_KEY_MAX], at[24], off[24];
    s->promoted_at = st_now_ms();
    snprintf(at, sizeof at, "%lld", (long long)s->promoted_at);
    snprintf(off, sizeof off, "%lld", (long long)s->promoted_offset);
    int rc = st_key(st, key, "site", NULL, e);
    st_args a = {0};
    st_arg_s(&a, "HSET"), st_arg_s(&a, key), st_arg_s(&a, "v");
    st_arg_s(&a, "1"), st_arg_s(&a, "promoted_at"), st_arg_s(&a, at);
    st_arg_s(&a, "from"), st_arg_s(&a, s->master);
    st_arg_s(&a, "offset"), st_arg_s(&a, off);
    redisReply *r;
    if (rc == 0 && (rc = st_cmd(st, &a, REDIS_REPLY_INTEGER, &r, e)) == 0)
        freeReplyObject(r);
    return rc;
}

/* REPLICAOF and SLAVEOF denied to the default user; why not into s. */
static void site__fence(store *st, store_site_state *s)
{
    st_args a = {.what = "ACL SETUSER default -replicaof -slaveof"};
    st_arg_s(&a, "ACL"), st_arg_s(&a, "SETUSER"), st_arg_s(&a, "default");
    st_arg_s(&a, "-replicaof"), st_arg_s(&a, "-slaveof");
    redisReply *r;
    err_t e;
    if (st_cmd(st, &a, REDIS_REPLY_STATUS, &r, &e) == 0)
        freeReplyObject(r);
    else
        snprintf(s->fence_why, sizeof s->fence_why, "%s", e.msg);
}

/* The server's file without its replicaof line (and with the fence);
 * why not into s. */
static void site__rewrite(store *st, store_site_state *s)
{
    st_args a = {.what = "CONFIG REWRITE"};
    st_arg_s(&a, "CONFIG"), st_arg_s(&a, "REWRITE");
    redisReply *r;
    err_t e;
    if (st_cmd(st, &a, REDIS_REPLY_STATUS, &r, &e) == 0)
        freeReplyObject(r);
    else
        snprintf(s->rewrite_why, sizeof s->rewrite_why, "%s", e.msg);
}

/* After REPLICAOF NO ONE: the offset it continues from, the fence, the
 * file rewritten, then v1:site. */
static int site__after(store *st, store_site_state *s, err_t *e)
{
    store_site_state now;
    memset(&now, 0, sizeof now);
    int rc = site__replication(st, &now, e);
    s->promoted_offset = now.master_offset;
    snprintf(s->from, sizeof s->from, "%s", s->master);
    site__fence(st, s);
    site__rewrite(st, s);
    site__dryrun(st, s);
    if (rc == 0)
        rc = site__record(st, s, e);
    if (rc < 0)
        return err_wrap(e, "promoted (REPLICAOF NO ONE done), but v1:site "
                        "not written");
    snprintf(s->role, sizeof s->role, "master");
    s->replica = 0;
    s->promoted = 1;
    return site__keys(st, s, e);
}

int store_site_promote(store *st, const store_site_opts *o,
                       store_site_state *out, err_t *e)
{
    int rc = store_site_info(st, out, e);
    if (rc == 0)
        rc = site__refuse(st, o, out, e);
    if (rc == 0)
        rc = site__replicaof_no_one(st, e);
    return rc < 0 ? rc : site__after(st, out, e);
}
