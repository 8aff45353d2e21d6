/* tests/node_fixture.h: node CQ opened offline (as eportctl opens it) on
 * a private Redis prefix, for unit tests of what runs inside a node (the
 * ledger, authoring, the gate). Its PKI comes from tests/pki_fixture.h;
 * its peers are SN, SH and NC (the national center, region CN), with
 * whatever more a test puts in `extra` (routes, ledger keys). Also what
 * the tests of dispatch look at: records accepted as intake accepts
 * them, a crash before a batch was marked dispatched, v1:msg, the node's
 * own events. Header-only, like tests/redis.h; include after <cmocka.h>,
 * pki_fixture.h, store_test_util.h and the node's headers.
 *
 *   setup:    node_fixture_setup("mvact_test", "SC") // CQ SN SH NC, SC
 *   teardown: node_fixture_teardown (cmocka's)
 *   node *n = node_fixture_open(&g_pki, g_url, "a1:", "routes: {SC: SN}\n");
 */
#ifndef EPORT_TESTS_NODE_FIXTURE_H
#define EPORT_TESTS_NODE_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "ledger.h"
#include "model_pack.h"
#include "store_local.h"

static test_pki g_pki; /* the federation's PKI (node_fixture_setup) */
/* The nodes' mappings.dir; NULL: the PKI's directory (no tables). */
static const char *g_maps_dir;

/* The federation's PKI: CQ, SN, SH, NC and, when more is not NULL, node
 * more of region more (e.g. SC behind SN). 0, or -1 as test_pki says. */
static inline int node_fixture_pki(test_pki *t, const char *name,
                                   const char *more)
{
    return test_pki_init(t, name) || test_pki_run(t, "issue CQ --region CQ") ||
                   test_pki_run(t, "issue SN --region SN") ||
                   test_pki_run(t, "issue SH --region SH") ||
                   test_pki_run(t, "issue NC --region CN") ||
                   (more && test_pki_run(t, "issue %s --region %s", more,
                                         more))
               ? -1
               : 0;
}

/* The group setup: Redis (store_test_util.h), then g_pki as
 * node_fixture_pki makes it, unless redis-server is missing (every test
 * then skips). 0 or -1. */
static inline int node_fixture_setup(const char *name, const char *more)
{
    if (stu_group_setup(NULL) < 0)
        return -1;
    if (!g_url[0])
        return 0;
    return node_fixture_pki(&g_pki, name, more);
}

static inline int node_fixture_teardown(void **state)
{
    test_pki_free(&g_pki);
    return stu_group_teardown(state);
}

static inline void node_fixture__conf(const test_pki *t, const char *path,
                                      const char *url, const char *prefix,
                                      const char *extra)
{
    const char *p = t->pki;
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "node: {id: CQ, region: CQ, role: provincial, "
            "listen: 'tcp://127.0.0.1:7101', http: '127.0.0.1:8101'}\n"
            "pki: {ca: %s/ca.crt, crl: %s/crl.pem, cert: %s/CQ.crt, "
            "key: %s/CQ.key, curve_public: %s/CQ.curve.pub, "
            "curve_secret: %s/CQ.curve.key}\n"
            "redis: {url: '%s', prefix: '%s'}\n"
            "mappings: {dir: %s}\n"
            "peers:\n", p, p, p, p, p, p, url, prefix,
            g_maps_dir ? g_maps_dir : t->dir);
    static const char *const peers[][3] = {{"SN", "SN", "7103"},
                                           {"SH", "SH", "7104"},
                                           {"NC", "CN", "7105"}};
    for (int i = 0; i < 3; i++)
        fprintf(f, "  - {id: %s, region: %s, endpoints: "
                "['tcp://127.0.0.1:%s']}\n", peers[i][0], peers[i][1],
                peers[i][2]);
    fprintf(f, "%slog: {level: error, file: '-'}\n", extra);
    fclose(f);
}

/* Node CQ on prefix (opening it again on the same prefix is eportd
 * restarted); fails the test when it does not open. The node is the
 * caller's (node_close). */
static inline node *node_fixture_open(const test_pki *t, const char *url,
                                      const char *prefix, const char *extra)
{
    char path[400];
    snprintf(path, sizeof path, "%s/cq-%.*s.yaml", t->dir,
             (int)strcspn(prefix, ":"), prefix);
    node_fixture__conf(t, path, url, prefix, extra);
    cfg *c = NULL;
    node *n = NULL;
    err_t e = {0};
    if (cfg_load(path, &c, &e) != 0) {
        cfg_free(c);
        fail_msg("cfg_load: %s", e.msg);
    }
    if (node_open(c, NODE_OFFLINE, &n, &e) != 0)
        fail_msg("node_open: %s", e.msg);
    return n;
}

/* A test's node CQ on its prefix, an arena for what it reads back, and
 * the clock of its dispatch and ledger turns. */
typedef struct node_fixture_fx {
    node *n;
    arena_t a;
    const char *prefix;
    int64_t clock;
    uint64_t link;          /* link position of SN */
} node_fixture_fx;

/* f's node on prefix with extra (node_fixture_open); skips the test when
 * redis-server is missing. */
static inline void node_fixture_fx_open(node_fixture_fx *f,
                                        const char *prefix,
                                        const char *extra)
{
    if (!g_url[0])
        skip();
    memset(f, 0, sizeof *f);
    f->prefix = prefix;
    arena_init(&f->a, 16u << 20);
    f->n = node_fixture_open(&g_pki, g_url, prefix, extra);
}

static inline void node_fixture_fx_close(node_fixture_fx *f)
{
    arena_free(&f->a);
    node_close(f->n);
}

/* The node's ledger applies what is in v1:mvin: how many records read.
 * *clock moves on a second a call, past node_ledger_drain's pacing. */
static inline int node_fixture_drain(node *n, int64_t *clock)
{
    *clock += 1000000;
    return node_ledger_drain(n, *clock);
}

/* The stored state of ref (strings in a); fails the test if there is
 * none. */
static inline mv_state node_fixture_state(node *n, const char *ref,
                                          arena_t *a)
{
    buf_t b;
    buf_init(&b, 1 << 20);
    err_t e;
    mv_state s;
    if (store_mv_state(node_store(n), ref, &b, &e) != 0 ||
        mv_state_decode(b.p, b.len, a, &s, &e) != 0)
        fail_msg("state of %s: %s", ref, e.msg);
    buf_free(&b);
    return s;
}

/* An envelope of type from origin to CQ carrying payload, with a dummy
 * signature (the link script does not check it): its frame, copied into
 * a, its length in *n and its id in id (may be NULL). */
static inline const void *node_fixture_frame(arena_t *a, const char *type,
                                             const char *origin,
                                             const char *ref,
                                             const buf_t *payload, size_t *n,
                                             char id[MSGID_LEN + 1])
{
    static const unsigned char sig[ENV_ED25519_SIG];
    static const char *dest[] = {"CQ"};
    env v;
    buf_t fr;
    err_t e;
    buf_init(&fr, 1 << 20);
    if (env_init(&v, type, origin, a, &e) != 0)
        fail_msg("env_init: %s", e.msg);
    v.dest = dest, v.ndest = 1, v.ref = ref;
    v.payload = (const unsigned char *)payload->p;
    v.payload_len = payload->len;
    v.sig = sig, v.sig_len = sizeof sig;
    assert_int_equal(env_encode_unchecked(&v, &fr, &e), 0);
    void *copy = arena_alloc(a, fr.len);
    memcpy(copy, fr.p, fr.len);
    *n = fr.len;
    if (id)
        memcpy(id, v.id, MSGID_LEN + 1);
    buf_free(&fr);
    return copy;
}

/* One frame over the link from peer, at the next position *pos of that
 * link, as the link script stores it. */
static inline void node_fixture_link(node *n, const char *peer, uint64_t *pos,
                                     const store_effect *x)
{
    store_link_op op = {{*pos, 0}, {*pos + 1, 0}, x};
    store_link_result res;
    err_t e = {0};
    if (store_link_apply(node_store(n), peer, &op, 1, &res, &e) != 0)
        fail_msg("store_link_apply: %s", e.msg);
    assert_int_equal(res.status, STORE_LINK_DONE);
    (*pos)++;
}

/* One dispatch turn of the node's local records; *clock as in
 * node_fixture_drain. */
static inline int node_fixture_dispatch(node *n, int64_t *clock)
{
    *clock += 1000000;
    return node_local_drain(n, *clock);
}

/* A record of connector conn accepted as intake accepts it (client
 * "cl"): its new id in id and, when p is not NULL, its msgpack bytes in
 * *p, *len (copied into a). */
static inline void node_fixture_accept(node *n, arena_t *a, const char *conn,
                                       const model_record *r,
                                       char id[MSGID_LEN + 1],
                                       const void **p, size_t *len)
{
    buf_t b;
    err_t e;
    int dup = 0;
    buf_init(&b, 1 << 20);
    assert_int_equal(model_pack(r, &b, &e), 0);
    assert_int_equal(msgid_new(id, &e), 0);
    store_local_rec lr = {id, conn, "cl", r->kind, "", b.p, b.len};
    assert_int_equal(store_local_accept(node_store(n), &lr, 1, &dup, &e), 0);
    assert_int_equal(dup, 0);
    if (p) {
        void *copy = arena_alloc(a, b.len);
        memcpy(copy, b.p, b.len);
        *p = copy, *len = b.len;
    }
    buf_free(&b);
}

/* eportd died before the batch of id was marked dispatched: its entry is
 * in v1:local again (raw XADD, as intake wrote it), after the saved
 * position, for the next dispatch to take again. */
static inline void node_fixture_undispatched(const char *prefix,
                                             const char *id, const char *conn,
                                             const void *rec, size_t n)
{
    redisContext *c = stu_raw();
    redisReply *r = redisCommand(c, "XADD %sv1:local * v 1 id %s conn %s "
                                 "client cl r %b", prefix, id, conn, rec, n);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
    redisFree(c);
}

/* What v1:msg says of a record. */
/* What connector conn's local system has waiting (v1:lout:<conn>): the
 * first four entries' events, mappings ("-" the connector's) and
 * records (unpacked into a), and how many there are. */
typedef struct node_fixture_lout {
    arena_t *a;
    int n;
    char ev[4][32], map[4][32];
    model_record *r[4];
} node_fixture_lout;

static inline int node_fixture__lout_one(void *ctx, store_pos pos,
                                         const char *ev, const char *map,
                                         const void *rec, size_t len,
                                         err_t *e)
{
    node_fixture_lout *g = ctx;
    (void)pos;
    if (g->n < 4) {
        snprintf(g->ev[g->n], sizeof g->ev[0], "%s", ev);
        snprintf(g->map[g->n], sizeof g->map[0], "%s", map ? map : "-");
        if (model_unpack(rec, len, g->a, &g->r[g->n], e) < 0)
            return -1;
    }
    g->n++;
    return 0;
}

static inline node_fixture_lout node_fixture_lout_of(node *n, arena_t *a,
                                                     const char *conn)
{
    node_fixture_lout g = {.a = a};
    err_t e;
    if (store_lout_next(node_store(n), conn, 100, node_fixture__lout_one, &g,
                        &e) < 0)
        fail_msg("store_lout_next: %s", e.msg);
    return g;
}

typedef struct node_fixture_msg {
    char status[32], fwd[64], dests[64], refs[256], detail[512];
} node_fixture_msg;

static inline int node_fixture__msg_one(void *ctx, const char *name,
                                        const char *value, err_t *e)
{
    node_fixture_msg *m = ctx;
    (void)e;
    if (!strcmp(name, "status"))
        snprintf(m->status, sizeof m->status, "%s", value);
    else if (!strcmp(name, "fwd"))
        snprintf(m->fwd, sizeof m->fwd, "%s", value);
    else if (!strcmp(name, "dests"))
        snprintf(m->dests, sizeof m->dests, "%s", value);
    else if (!strcmp(name, "refs"))
        snprintf(m->refs, sizeof m->refs, "%s", value);
    else if (!strcmp(name, "detail"))
        snprintf(m->detail, sizeof m->detail, "%s", value);
    return 0;
}

static inline node_fixture_msg node_fixture_msg_of(node *n, const char *id)
{
    node_fixture_msg m;
    err_t e;
    memset(&m, 0, sizeof m);
    if (store_msg_get(node_store(n), id, node_fixture__msg_one, &m, &e) < 0)
        fail_msg("store_msg_get %s: %s", id, e.msg);
    return m;
}

typedef struct node_fixture__count {
    arena_t *a;
    mv_type type;
    int n;
} node_fixture__count;

static inline int node_fixture__count_one(void *ctx, store_pos pos,
                                          const char *id, const char *origin,
                                          const void *frame, size_t n,
                                          err_t *e)
{
    node_fixture__count *c = ctx;
    env *v;
    mv_event ev;
    err_t de;
    (void)pos, (void)id, (void)e;
    if (!strcmp(origin, "CQ") &&
        ledger_decode(frame, n, c->a, &v, &ev, &de) == 0 && ev.type == c->type)
        c->n++;
    return 0;
}

/* Events of type CQ submitted to itself (v1:mvin). */
static inline int node_fixture_own_events(node *n, arena_t *a,
                                          mv_type type)
{
    err_t e;
    store_pos zero = {0, 0};
    node_fixture__count c = {a, type, 0};
    if (store_mvin_after(node_store(n), zero, 10000, node_fixture__count_one,
                         &c, &e) < 0)
        fail_msg("store_mvin_after: %s", e.msg);
    return c.n;
}

#endif
