/* store_int: what the store_*.c files share and nobody else may use: the
 * connection struct, binary-safe argument lists, command, pipeline and Lua
 * helpers, key names and stream-entry walkers. See store.h for the API. */
#ifndef EPORT_STORE_INT_H
#define EPORT_STORE_INT_H

#include <hiredis.h>

#include "store.h"
#include "store_sentinel.h"

#define ST_GROUP "eportd"       /* the one consumer group of each outbox */
#define ST_KEY_MAX 256
#define ST_ARGS_MAX 64          /* the longest command, a link op with
                                   STORE_FWD_MAX peers, has 63 */

/* Lua scripts, one slot each for its SHA in struct store. */
enum {
    ST_LUA_INBOX, ST_LUA_ACK, ST_LUA_LINK, ST_LUA_SUBMIT,
    ST_LUA_DUE, ST_LUA_RESCHED, ST_LUA_DROP, ST_LUA_MV_APPLY,
    ST_LUA_MV_SUBMIT, ST_LUA_MV_REFUSE,
    ST_LUA_PM_ISSUE, ST_LUA_PM_APPLY, ST_LUA_PM_EXPIRE, ST_LUA_PM_STATUS,
    ST_LUA_PMQ_ADD, ST_LUA_PMQ_ANSWER, ST_LUA_FAN_SEND, ST_LUA_FAN_ANSWER,
    ST_LUA_LEASE, ST_LUA_CB_ATTACH, ST_LUA_CB_SETTLE, ST_LUA_CB_EXPIRE,
    ST_LUA_CB_CLOSE,
    ST_LUA_N
};
typedef struct st_script {
    int slot;                   /* ST_LUA_* */
    const char *src;
} st_script;

struct store {
    redisContext *c;            /* NULL while disconnected */
    char *url, *prefix;         /* owned copies */
    char host[256], path[256];  /* path set for unix:, host for redis:// */
    int port, db;
    store_sentinel sen;         /* sentinel:// URL: its sentinels (sen.n
                                   > 0), asked at every connect */
    char primary[STORE_SENTINEL_ADDR_MAX]; /* where the connection goes,
                                   "host:port"; "" while disconnected */
    char last[STORE_SENTINEL_ADDR_MAX]; /* where the last one went */
    uint64_t failovers;         /* connections that went elsewhere than
                                   the one before */
    int64_t timeout_ms;
    char sha[ST_LUA_N][41];     /* SCRIPT LOAD results, "" until loaded */
    uint64_t conn;              /* connections made: tells a pending
                                   link run whether its replies can come */
    size_t owed;                /* replies queued by store_link_send and
                                   not yet read: no other command until 0 */
    void *link_buf;             /* owned; store_link.c's argument buffers,
                                   made on the first store_link_apply */
    char node[33];              /* node id (store_mv_node), "" until set:
                                   the origin of records it delivers to
                                   itself */
};

/* Arguments of one command, binary-safe (frames may hold any byte). The
 * pointers are borrowed: they must outlive the call that sends them. */
typedef struct st_args {
    const char *v[ST_ARGS_MAX];
    size_t l[ST_ARGS_MAX];
    int n;
    int over;                   /* an argument did not fit: refuse to send */
    const char *what;           /* for messages when v[1] is not the key */
} st_args;

void st_arg_b(st_args *a, const void *p, size_t n);
void st_arg_s(st_args *a, const char *s);
int64_t st_now_ms(void);

/* A new connection to st's primary (found through the sentinels for a
 * sentinel:// URL, whose ROLE is then master), with the connect timeout;
 * addr = "host:port" ("unix:/PATH"). what names it in messages ("connect",
 * "wake"). The caller frees *out with redisFree. */
int st_dial(store *st, const char *what, redisContext **out,
            char addr[STORE_SENTINEL_ADDR_MAX], err_t *e);
/* Connected, reconnecting if the last command broke the connection. */
int st_ready(store *st, err_t *e);
/* Socket timeout = command timeout + extra_ms (a blocking read's wait);
 * 0 restores it. No-op while disconnected. */
void st_extend_timeout(store *st, int64_t extra_ms);
/* Forgets the connection (hiredis cannot use one after an I/O error). */
void st_drop(store *st);

/* One command. st_raw hands back error replies as replies (BUSYGROUP and
 * NOSCRIPT are not failures to the callers that expect them); st_cmd
 * fails on them and on a reply not of type want (-1: any). The caller
 * frees *out with freeReplyObject. Every reply, here and in st_pipe_reply,
 * passes st_moved: an error reply READONLY, LOADING or MASTERDOWN (this
 * server is not, or not yet, a primary to use) drops the connection, so
 * that the next call finds the primary again. */
int st_raw(store *st, const st_args *a, redisReply **out, err_t *e);
int st_check(store *st, const st_args *a, int want, redisReply **out,
             err_t *e);
int st_cmd(store *st, const st_args *a, int want, redisReply **out,
           err_t *e);

/* The link script (store_link_lua.c), run by store_link.c. */
extern const st_script st_lua_link;

/* ---- submitting (store_origin.c), shared with store_mv_submit ---- */

/* Lua function submit(sent, await, o1, o2, id, frame, wait, created,
 * retry): XADD frame to KEYS[o1..o2] (outboxes), HSET sent, ZADD await.
 * One text for both submit scripts, so they cannot drift apart. */
#define ST_LUA_SUBMIT_FN                                                    \
    "local function submit(sent, await, o1, o2, id, f, wait, cr, retry)\n" \
    "  for i = o1, o2 do\n"                                                \
    "    redis.call('XADD', KEYS[i], '*', 'v', '1', 'frame', f)\n"         \
    "  end\n"                                                              \
    "  redis.call('HSET', sent, 'v', '1', 'f', f, 'attempts', '0',"        \
    " 'wait', wait, 'created', cr)\n"                                      \
    "  redis.call('ZADD', await, retry, id)\n"                             \
    "end\n"

/* What a submit script is given, built once by st_submit_args. */
typedef struct st_submit_buf {
    char keys[STORE_FWD_MAX + 2][ST_KEY_MAX], chan[ST_KEY_MAX];
    char wait[STORE_FWD_MAX * 65 + 1], created[24], retry[24], nk[8];
} st_submit_buf;
/* Checks the names and fills a (after its EVALSHA sha slots) with
 * KEYS sent, await, one outbox per distinct hop, and ARGV id, frame,
 * wait, created, retry, wake channel. empty_ok: ndests = nhops = 0 is
 * allowed (a message only for this node). */
int st_submit_args(store *st, const char *msg_id, const void *frame,
                   size_t n, const char *const *hops, size_t nhops,
                   const char *const *dests, size_t ndests,
                   int64_t created_ms, int64_t first_retry_at_ms,
                   int empty_ok, st_submit_buf *b, st_args *a, err_t *e);

/* ---- movements (store_mv*.c) ---- */

extern const st_script st_lua_mv_apply, st_lua_mv_submit, st_lua_mv_refuse;
/* A claim or index key ("c:..." or "d:...", 1-128 bytes, no space or
 * control character): 1 if well-formed. */
int st_mv_key_ok(const char *k);
/* "<prefix>v1:mv:<ref><sub>" (sub "" or ":log", ...); ERR_INVALID for a
 * bad ref. */
int st_mv_key(store *st, char key[ST_KEY_MAX], const char *ref,
              const char *sub, err_t *e);
/* keys[0..n) joined by spaces into out (they hold none), each checked
 * with st_mv_key_ok; ERR_INVALID names the bad one. */
int st_mv_join(store *st, const char *const *keys, size_t n, buf_t *out,
               err_t *e);

/* XRANGE key (after, +] COUNT count (at least 1): the entries of a
 * stream after a position, oldest first; *out for freeReplyObject. */
int st_xrange_after(store *st, const char *key, store_pos after, size_t count,
                    redisReply **out, err_t *e);

/* The position kept in key (GET), [0,0] when absent; ERR_IO when it is
 * not one. */
int st_pos_get(store *st, const char *key, store_pos *out, err_t *e);

/* One entry en of stream key, read for st_xrange_each; arg is the
 * caller's (its callback and context). 0, or < 0 to stop. */
typedef int (*st_entry_fn)(store *st, const char *key, const redisReply *en,
                           void *arg, err_t *e);

/* st_xrange_after's entries, each to each in order: how many were read,
 * or the first error. The readers of every stream kept after a position
 * (v1:local, v1:in, outboxes, alerts...) differ only in their entries. */
int st_xrange_each(store *st, const char *key, store_pos after, size_t count,
                   st_entry_fn each, void *arg, err_t *e);

/* Entries (v=1, f, id, origin) of stream v1:<kind> after a position,
 * each to fn: v1:in, v1:mvin, v1:pmin. How many were read. */
int st_in_after(store *st, const char *kind, store_pos after, size_t count,
                store_in_fn fn, void *ctx, err_t *e);

/* The integer reply of `verb key` (XLEN, ZCARD): a count, or < 0. */
int64_t st_count(store *st, const char *verb, const char *key, err_t *e);

/* XLEN of stream kind (sub: its :sub, or NULL): its length, or < 0. */
int64_t st_xlen(store *st, const char *kind, const char *sub, err_t *e);

/* Runs script s with a, whose v[0], v[1] are left for EVALSHA sha (or EVAL
 * source when Redis lost its script cache, e.g. after a restart). */
int st_eval(store *st, const st_script *s, st_args *a, redisReply **out,
            err_t *e);
/* SCRIPT LOAD s unless its SHA is known (in st->sha[s->slot]). */
int st_script_load(store *st, const st_script *s, err_t *e);

/* Pipelining: queue commands, then read their replies in order. A failed
 * queue or read drops the connection (replies would be out of step). */
int st_pipe_add(store *st, const st_args *a, err_t *e);
/* Writes every queued command out without reading a reply. */
int st_pipe_flush(store *st, const char *what, err_t *e);
/* Writes one command of argc arguments (v, l borrowed for the call)
 * straight to the socket, uncopied, after anything hiredis holds: for
 * commands longer than an st_args (the link script's runs). Its reply
 * is read with st_pipe_reply. what names it in messages. */
int st_pipe_sendv(store *st, int argc, const char *const *v, const size_t *l,
                  const char *what, err_t *e);
int st_pipe_reply(store *st, const char *what, redisReply **out, err_t *e);

/* Peer, consumer and id names become parts of key names: 1-64 of
 * A-Z a-z 0-9 - _ . so that no name can reach another key. */
int st_name_ok(const char *s);
/* "<prefix>v1:<kind>[:<name>]"; ERR_INVALID for a bad name. */
int st_key(store *st, char key[ST_KEY_MAX], const char *kind,
           const char *name, err_t *e);
int st_copy_id(store *st, const redisReply *r, char id_out[STORE_ID_MAX],
               err_t *e);
/* The exclusive XRANGE start "(ms-seq" after p. */
void st_pos_after(store_pos p, char out[STORE_ID_MAX + 1]);

/* Value of field name in a [field, value, ...] array; NULL if absent or
 * not a string. */
const redisReply *st_field(const redisReply *fields, const char *name);
/* Checks one stream entry [id, [field, value, ...]]; NULL fields (an
 * entry deleted while pending) give *fields = NULL and return 0. */
int st_entry(store *st, const char *key, const redisReply *en,
             const redisReply **fields, err_t *e);

#endif
