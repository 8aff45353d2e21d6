/* store_wake: a doorbell through Redis pub/sub. A process that queues a
 * message for the daemon (eportctl send now, connectors later) publishes
 * on <prefix>v1:wake in the same script that queues it; the daemon keeps
 * one more connection subscribed there and puts its socket in its poll,
 * so a new message goes out at once instead of at the next idle poll.
 * A lost notification only delays: the daemon still polls when idle.
 * It dials like the store (st_dial: through Sentinel for a sentinel://
 * URL) and follows the store when the store's primary moves. */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store_wake {
    store *st;            /* borrowed: url, address, prefix */
    redisContext *c;      /* NULL while disconnected */
    char addr[STORE_SENTINEL_ADDR_MAX]; /* where c goes */
    uint64_t gen;         /* the store's connection (st->conn) then */
    char channel[ST_KEY_MAX];
    int64_t next_dial_ms; /* a lost Redis is dialled once a second */
};

static void wake__drop(store_wake *w)
{
    if (w->c)
        redisFree(w->c);
    w->c = NULL;
}

static int wake__dial(store_wake *w, err_t *e)
{
    store *st = w->st;
    redisContext *c;
    int rc = st_dial(st, "wake", &c, w->addr, e);
    if (rc < 0)
        return rc;
    w->gen = st->conn;
    redisReply *r = redisCommand(c, "SUBSCRIBE %s", w->channel);
    int ok = r && r->type == REDIS_REPLY_ARRAY;
    if (r)
        freeReplyObject(r);
    if (!ok) {
        err_set(e, ERR_IO, "redis %s: wake: SUBSCRIBE failed", st->url);
        redisFree(c);
        return ERR_IO;
    }
    w->c = c;
    return 0;
}

int store_wake_open(store *st, store_wake **out, err_t *e)
{
    store_wake *w = calloc(1, sizeof *w);
    if (!w)
        return err_set(e, ERR_NOMEM, "redis %s: wake: out of memory",
                       st->url);
    w->st = st;
    int rc = st_key(st, w->channel, "wake", NULL, e);
    if (rc == 0)
        rc = wake__dial(w, e);
    if (rc < 0) {
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void store_wake_close(store_wake *w)
{
    if (!w)
        return;
    wake__drop(w);
    free(w);
}

int store_wake_fd(store_wake *w)
{
    err_t e;
    const store *st = w->st;
    if (w->c && st->conn != w->gen && st->primary[0] &&
        strcmp(st->primary, w->addr) != 0)
        wake__drop(w); /* the store reconnected elsewhere since: follow */
    if (!w->c) {
        int64_t now = st_now_ms();
        if (now < w->next_dial_ms)
            return -1;
        w->next_dial_ms = now + 1000;
        if (wake__dial(w, &e) < 0)
            return -1;
    }
    return w->c->fd;
}

int store_wake_drain(store_wake *w, err_t *e)
{
    if (!w->c)
        return 0;
    /* poll said readable: one read does not block */
    if (redisBufferRead(w->c) != REDIS_OK) {
        err_set(e, ERR_IO, "redis %s: wake: %s", w->st->url, w->c->errstr);
        wake__drop(w);
        return ERR_IO;
    }
    int n = 0;
    void *r = NULL;
    while (redisGetReplyFromReader(w->c, &r) == REDIS_OK && r) {
        freeReplyObject(r);
        r = NULL;
        n++;
    }
    return n;
}
