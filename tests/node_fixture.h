/* tests/node_fixture.h: node CQ opened offline (as eportctl opens it) on
 * a private Redis prefix, for unit tests of what runs inside a node (the
 * ledger, authoring, the gate). Its PKI comes from tests/pki_fixture.h;
 * its peers are SN, SH and NC (the national center, region CN), with
 * whatever more a test puts in `extra` (routes, ledger keys). Header-only,
 * like tests/redis.h; include after <cmocka.h>, pki_fixture.h and the
 * node's headers.
 *
 *   node_fixture_pki(&pki, "mvact_test", "SC")   // CQ SN SH NC, and SC
 *   node *n = node_fixture_open(&pki, url, "a1:", "routes: {SC: SN}\n");
 */
#ifndef EPORT_TESTS_NODE_FIXTURE_H
#define EPORT_TESTS_NODE_FIXTURE_H

#include <stdio.h>
#include <string.h>

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
            "peers:\n", p, p, p, p, p, p, url, prefix, t->dir);
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

#endif
