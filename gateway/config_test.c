/* Unit tests for config: the shipped conf/ files load and form one
 * consistent federation; defaults and path resolution; every refusal with
 * its file:line:col and key; cfg_dump read back to the same values; the
 * key table in docs/operations.md matches the rows. Temporary files live
 * in a mkdtemp directory removed at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char tmpdir[256];    /* realpath of this run's directory */
static char confdir[1024];  /* the repo's conf/, found from the cwd */
static char repodir[1024];

static const char *const node_ids[] = {"CQ", "SC", "SN", "SH", "NC"};
#define NNODES 5

/* ---- helpers ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Write text as tmpdir/name and load it; path receives the file name. */
static int load_text(const char *name, const char *text, cfg **out, err_t *e,
                     char *path, size_t n)
{
    snprintf(path, n, "%s/%s", tmpdir, name);
    write_file(path, text);
    err_clear(e);
    return cfg_load(path, out, e);
}

static cfg *load_ok_text(const char *text)
{
    char path[512];
    err_t e;
    cfg *c = NULL;
    if (load_text("ok.yaml", text, &c, &e, path, sizeof path))
        fail_msg("load failed: %s", c ? cfg_problems(c) : e.msg);
    return c;
}

static cfg *load_conf(const char *id)
{
    char path[1100], lower[8];
    for (size_t i = 0; i <= strlen(id); i++)
        lower[i] = (char)(id[i] >= 'A' && id[i] <= 'Z' ? id[i] + 32 : id[i]);
    snprintf(path, sizeof path, "%s/%s.yaml", confdir, lower);
    err_t e;
    cfg *c = NULL;
    err_clear(&e);
    if (cfg_load(path, &c, &e))
        fail_msg("%s: %s", path, c ? cfg_problems(c) : e.msg);
    return c;
}

/* The smallest valid file: node, pki, redis (14 lines). */
#define NODE_OK                                                     \
    "node:\n  id: CQ\n  region: CQ\n  role: provincial\n"           \
    "  listen: tcp://127.0.0.1:7101\n  http: 127.0.0.1:8101\n"
#define PKI_OK                                                      \
    "pki:\n  ca: pki/ca.crt\n  cert: pki/CQ.crt\n  key: pki/CQ.key\n" \
    "  curve_public: pki/CQ.curve.pub\n  curve_secret: pki/CQ.curve.key\n"
#define REDIS_OK "redis:\n  url: redis://127.0.0.1:6390/0\n"
#define BASE NODE_OK PKI_OK REDIS_OK
/* From line 15: peers SC (line 16) and SN (line 19). */
#define PEERS_OK                                                    \
    "peers:\n  - id: SC\n    region: SC\n    endpoints: [tcp://127.0.0.1:7102]\n" \
    "  - id: SN\n    region: SN\n    endpoints: [tcp://127.0.0.1:7103]\n"

/* A SHA-256 in hex (of nothing in particular). */
#define HEX64 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

/* ---- the shipped federation ---- */

static int find_conf(void)
{
    const char *ups[] = {".", "..", "../..", "../../..", "../../../.."};
    for (size_t i = 0; i < sizeof ups / sizeof ups[0]; i++) {
        char probe[1100];
        snprintf(probe, sizeof probe, "%s/conf/cq.yaml", ups[i]);
        if (access(probe, R_OK) == 0) {
            char *real = realpath(ups[i], NULL);
            snprintf(repodir, sizeof repodir, "%s", real);
            snprintf(confdir, sizeof confdir, "%s/conf", real);
            free(real);
            return 0;
        }
    }
    return -1;
}

static void test_shipped_configs_load(void **state)
{
    (void)state;
    for (size_t i = 0; i < NNODES; i++) {
        cfg *c = load_conf(node_ids[i]);
        char want[1200];
        assert_string_equal(c->node.id, node_ids[i]);
        assert_string_equal(cfg_problems(c), "");
        snprintf(want, sizeof want, "tcp://127.0.0.1:%zu", 7101 + i);
        assert_string_equal(c->node.listen, want);
        snprintf(want, sizeof want, "127.0.0.1:%zu", 8101 + i);
        assert_string_equal(c->node.http, want);
        assert_string_equal(c->redis.url, "redis://127.0.0.1:6390/0");
        snprintf(want, sizeof want, "eport:%s:", node_ids[i]);
        assert_string_equal(c->redis.prefix, want);
        snprintf(want, sizeof want, "%s/pki/%s.curve.key", repodir, node_ids[i]);
        assert_string_equal(c->pki.curve_secret, want);
        snprintf(want, sizeof want, "%s/mappings", repodir);
        assert_string_equal(c->mappings.dir, want);
        assert_int_equal(c->node.role, i == 4 ? CFG_ROLE_NATIONAL : CFG_ROLE_PROVINCIAL);
        cfg_free(c);
    }
}

static const cfg *by_id(cfg *const *all, const char *id)
{
    for (size_t i = 0; i < NNODES; i++)
        if (!strcmp(all[i]->node.id, id))
            return all[i];
    return NULL;
}

/* Each peer entry names a real node by its own listen endpoint and region,
 * links are declared on both sides, and every node reaches every other by
 * next hops in at most 3 steps. */
static void check_peer_entry(cfg *const *all, const cfg *a, const cfg_peer *p)
{
    const cfg *b = by_id(all, p->id);
    assert_non_null(b);
    assert_string_equal(p->region, b->node.region);
    assert_int_equal(p->endpoints.n, 1);
    assert_string_equal(p->endpoints.v[0], b->node.listen);
    if (!cfg_peer_find(b, a->node.id))
        fail_msg("%s peers with %s but not the other way", a->node.id, p->id);
    char want[1200];
    snprintf(want, sizeof want, "%s/pki/%s.crt", repodir, p->id);
    assert_string_equal(p->cert, want);
}

static void test_federation_consistent(void **state)
{
    (void)state;
    cfg *all[NNODES];
    for (size_t i = 0; i < NNODES; i++)
        all[i] = load_conf(node_ids[i]);
    for (size_t i = 0; i < NNODES; i++) {
        for (size_t k = 0; k < all[i]->npeers; k++)
            check_peer_entry(all, all[i], &all[i]->peers[k]);
        for (size_t j = 0; j < NNODES; j++) {
            const cfg *at = all[i];
            int hops = 0;
            while (strcmp(at->node.id, node_ids[j]) && hops++ < 3) {
                const cfg_peer *next = cfg_next_hop(at, node_ids[j]);
                if (!next)
                    fail_msg("%s: no way to %s", at->node.id, node_ids[j]);
                at = by_id(all, next->id);
            }
            if (strcmp(at->node.id, node_ids[j]))
                fail_msg("%s cannot reach %s", node_ids[i], node_ids[j]);
        }
    }
    assert_string_equal(cfg_next_hop(all[1], "SH")->id, "CQ"); /* SC->SH */
    assert_string_equal(cfg_next_hop(all[1], "CQ")->id, "CQ");
    assert_null(cfg_next_hop(all[1], "SC"));
    assert_null(cfg_next_hop(all[1], "XX"));
    for (size_t i = 0; i < NNODES; i++)
        cfg_free(all[i]);
}

/* ---- defaults and paths ---- */

static void test_defaults(void **state)
{
    (void)state;
    cfg *c = load_ok_text(BASE);
    char want[600];
    assert_string_equal(c->redis.prefix, "eport:CQ:");
    assert_int_equal(c->redis.wait_replicas, 0);
    assert_int_equal(c->redis.timeout_ms, 2000);
    snprintf(want, sizeof want, "%.*s/mappings",
             (int)(strrchr(tmpdir, '/') - tmpdir), tmpdir);
    assert_string_equal(c->mappings.dir, want);
    assert_int_equal(c->delivery.retry_initial_ms, 200);
    assert_int_equal(c->delivery.retry_max_ms, 30000);
    assert_int_equal(c->delivery.max_frame_bytes, 16 << 20);
    assert_int_equal(c->delivery.max_clock_skew_ms, 300000);
    assert_int_equal(c->delivery.max_age_ms, 7 * 86400000LL);
    assert_int_equal(c->delivery.heartbeat_ms, 1000);
    assert_int_equal(c->delivery.heartbeat_timeout_ms, 5000);
    assert_int_equal(c->log.level, CFG_LOG_INFO);
    assert_string_equal(c->log.file, "-");
    assert_null(c->pki.crl);
    assert_null(c->pki.directory_url); /* the certificate files */
    assert_int_equal(c->pki.directory_refresh_s, 300);
    assert_int_equal(c->npeers + c->nroutes + c->nconnectors, 0);
    assert_string_equal(c->ledger.national, ""); /* no peer of region CN */
    assert_int_equal(c->ledger.time_limit_h, 72);
    assert_int_equal(c->ledger.steps.n, 0);
    assert_false(cfg_ledger_auto(c, "release"));
    cfg_free(c);
}

static void test_ledger(void **state)
{
    (void)state;
    cfg *c = load_ok_text(BASE PEERS_OK "  - id: NC\n    region: CN\n"
                          "    endpoints: [tcp://127.0.0.1:7105]\n"
                          "ledger:\n  auto: [release, write_off]\n");
    assert_string_equal(c->ledger.national, "NC"); /* the peer of CN */
    assert_int_equal(c->ledger.steps.n, 2);
    assert_true(cfg_ledger_auto(c, "release"));
    assert_true(cfg_ledger_auto(c, "write_off"));
    assert_false(cfg_ledger_auto(c, "passage"));
    cfg_free(c);
    c = load_ok_text(BASE PEERS_OK "  - id: NC\n    region: CN\n"
                     "    endpoints: [tcp://127.0.0.1:7105]\n"
                     "ledger:\n  national: \"\"\n  time_limit_h: 1\n");
    assert_string_equal(c->ledger.national, ""); /* none, said so */
    assert_int_equal(c->ledger.time_limit_h, 1);
    cfg_free(c);
}

static void test_paths(void **state)
{
    (void)state;
    cfg *c = load_ok_text(
        NODE_OK "pki:\n  ca: ./keys/ca.crt\n  crl: /etc/eport/crl.pem\n"
        "  cert: ../up/CQ.crt\n  key: a/../b/CQ.key\n  curve_public: .\n"
        "  curve_secret: x//y/\n" REDIS_OK PEERS_OK
        "    cert: certs/SN.pem\nlog:\n  file: logs/cq.log\n");
    char want[600];
    const char *up = strrchr(tmpdir, '/');
    snprintf(want, sizeof want, "%s/keys/ca.crt", tmpdir);
    assert_string_equal(c->pki.ca, want);
    assert_string_equal(c->pki.crl, "/etc/eport/crl.pem");
    snprintf(want, sizeof want, "%.*s/up/CQ.crt", (int)(up - tmpdir), tmpdir);
    assert_string_equal(c->pki.cert, want);
    snprintf(want, sizeof want, "%s/a/../b/CQ.key", tmpdir); /* kept: a may be a link */
    assert_string_equal(c->pki.key, want);
    assert_string_equal(c->pki.curve_public, tmpdir);
    snprintf(want, sizeof want, "%s/x/y", tmpdir);
    assert_string_equal(c->pki.curve_secret, want);
    snprintf(want, sizeof want, "%s/keys/SC.crt", tmpdir); /* beside pki.ca */
    assert_string_equal(c->peers[0].cert, want);
    snprintf(want, sizeof want, "%s/keys/SC.curve.pub", tmpdir);
    assert_string_equal(c->peers[0].curve_public, want);
    snprintf(want, sizeof want, "%s/certs/SN.pem", tmpdir);
    assert_string_equal(c->peers[1].cert, want);
    snprintf(want, sizeof want, "%s/logs/cq.log", tmpdir);
    assert_string_equal(c->log.file, want);
    cfg_free(c);
}

/* pki.directory_url: URLs kept, a path made absolute like other paths. */
static void test_directory_url(void **state)
{
    (void)state;
    static const char *const urls[] = {
        "http://127.0.0.1:8105/v1/directory", "https://nc.example/v1/directory",
        "file:///srv/pki/directory.json", "/srv/pki/directory.json"};
    char text[800], want[600];
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        snprintf(text, sizeof text, NODE_OK PKI_OK "  directory_url: %s\n"
                 "  directory_refresh_s: 5\n" REDIS_OK, urls[i]);
        cfg *c = load_ok_text(text);
        assert_string_equal(c->pki.directory_url, urls[i]);
        assert_int_equal(c->pki.directory_refresh_s, 5);
        cfg_free(c);
    }
    cfg *c = load_ok_text(NODE_OK PKI_OK
                          "  directory_url: ../pub/directory.json\n" REDIS_OK);
    const char *up = strrchr(tmpdir, '/');
    snprintf(want, sizeof want, "%.*s/pub/directory.json", (int)(up - tmpdir),
             tmpdir);
    assert_string_equal(c->pki.directory_url, want);
    cfg_free(c);
}

/* A config named relatively resolves against its own directory, not the
 * working directory. */
static void test_relative_config_path(void **state)
{
    (void)state;
    char sub[512], path[600], cwd[1024];
    snprintf(sub, sizeof sub, "%s/sub", tmpdir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/node.yaml", sub);
    write_file(path, BASE);
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(tmpdir), 0);
    cfg *c = NULL;
    err_t e;
    int rc = cfg_load("sub/node.yaml", &c, &e);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    snprintf(path, sizeof path, "%s/pki/ca.crt", sub);
    assert_string_equal(c->pki.ca, path);
    assert_string_equal(c->path, "sub/node.yaml");
    assert_string_equal(c->dir, sub);
    cfg_free(c);
    snprintf(path, sizeof path, "%s/node.yaml", sub);
    unlink(path);
    rmdir(sub);
}

/* ---- refusals ---- */

typedef struct {
    const char *text;
    const char *want; /* after "tmpdir/bad.yaml:" */
} bad_case;

static const bad_case bad_cases[] = {
    /* unknown keys, with the allowed ones and a near miss */
    {BASE "delivery:\n  heartbeat: 5\n",
     "16:14: error: delivery: unknown key 'heartbeat' (allowed: retry_initial_ms, "
     "retry_max_ms, max_frame_bytes, max_clock_skew_ms, max_age_ms, heartbeat_ms, "
     "heartbeat_timeout_ms, window, receipt_timeout_ms)"},
    {"node:\n  id: CQ\n  region: CQ\n  role: provincial\n  lisen: tcp://127.0.0.1:7101\n"
     "  http: 127.0.0.1:8101\n" PKI_OK REDIS_OK,
     "5:10: error: node: unknown key 'lisen' (allowed: id, region, role, listen, "
     "http, instance); did you mean 'listen'?"},
    {BASE "peer:\n  - id: SC\n",
     "16:3: error: unknown section 'peer' (allowed: node, pki, redis, mappings, "
     "peers, routes, delivery, connectors, clients, api, ledger, log, health, "
     "alerts, permits, cbec, cbec_routes, ha); did you mean 'peers'?"},
    {BASE PEERS_OK "    port: 7103\n",
     "22:11: error: peers[1]: unknown key 'port' (allowed: id, region, endpoints, "
     "cert, curve_public)"},
    /* wrong types */
    {"node:\n  id: [CQ]\n", "2:7: error: node.id: expected text, found a list"},
    {BASE "delivery: 5\n", "15:11: error: delivery: expected a map, found text"},
    {BASE "peers:\n  id: SC\n", "16:3: error: peers: expected a list, found a map"},
    {BASE "delivery:\n  max_age_ms: {days: 7}\n",
     "16:15: error: delivery.max_age_ms: expected a whole number, found a map"},
    {BASE "delivery:\n  retry_max_ms: fast\n",
     "16:17: error: delivery.retry_max_ms: 'fast' is not a whole number"},
    {BASE "delivery:\n  retry_max_ms: \"3000\"\n",
     "16:17: error: delivery.retry_max_ms: '3000' is not a whole number (it is "
     "quoted text)"},
    /* out of range */
    {BASE "delivery:\n  heartbeat_ms: 10\n",
     "16:17: error: delivery.heartbeat_ms: 10 is out of range (50 to 600000)"},
    {BASE "  wait_replicas: -1\n",
     "15:18: error: redis.wait_replicas: -1 is out of range (0 to 16)"},
    {BASE "delivery:\n  max_frame_bytes: 99999999999999999999\n",
     "16:20: error: delivery.max_frame_bytes: '99999999999999999999' is not a whole number"},
    /* enums */
    {BASE "log:\n  level: verbose\n",
     "16:10: error: log.level: 'verbose' is not one of debug, info, warn, error"},
    {"node:\n  id: CQ\n  region: CQ\n  role: regional\n", "4:9: error: node.role: "
     "'regional' is not one of provincial, national"},
    /* formats */
    {"node:\n  id: cq\n", "2:7: error: node.id: 'cq' is not a node id (2 to 16 of "
     "A-Z, 0-9, -)"},
    {"node:\n  id: CQ\n  region: Chongqing\n", "3:11: error: node.region: "
     "'Chongqing' is not a region (2 upper-case letters)"},
    {"node:\n  id: CQ\n  region: CQ\n  role: provincial\n  listen: http://127.0.0.1:7101\n",
     "5:11: error: node.listen: 'http://127.0.0.1:7101' is not a ZeroMQ endpoint "
     "(tcp://HOST:PORT, ipc://PATH or inproc://NAME)"},
    {"node:\n  id: CQ\n  region: CQ\n  role: provincial\n  listen: tcp://127.0.0.1\n",
     "5:11: error: node.listen: '127.0.0.1' is not HOST:PORT (port 1-65535)"},
    {"node:\n  id: CQ\n  region: CQ\n  role: provincial\n"
     "  listen: tcp://127.0.0.1:7101\n  http: 127.0.0.1:0\n",
     "6:9: error: node.http: '127.0.0.1:0' is not HOST:PORT (port 1-65535)"},
    {NODE_OK PKI_OK "redis:\n  url: redis://user:pw@127.0.0.1:6390/0\n",
     "14:8: error: redis.url: 'redis://user:pw@127.0.0.1:6390/0' is not "
     "redis://HOST[:PORT][/DB] or unix:/PATH"},
    {BASE "peers:\n  - id: SC\n    region: SC\n    endpoints: [udp://127.0.0.1:7102]\n",
     "18:17: error: peers[0].endpoints[0]: 'udp://127.0.0.1:7102' is not a ZeroMQ "
     "endpoint (tcp://HOST:PORT, ipc://PATH or inproc://NAME)"},
    {BASE "peers:\n  - id: SC\n    region: SC\n    endpoints: []\n",
     "18:16: error: peers[0].endpoints: expected a list of ZeroMQ endpoints, found "
     "an empty list"},
    {BASE "peers:\n  - id: SC\n    region: SC\n    endpoints: [tcp://*:7102]\n",
     "18:17: error: peers[0].endpoints[0]: 'tcp://*:7102': '*' is only for "
     "node.listen; give the peer's address"},
    {BASE "peers:\n  - id: SC\n    region: SC\n    endpoints: [tcp://127.0.0.1:7101]\n",
     "18:17: error: peers[0].endpoints[0]: 'tcp://127.0.0.1:7101' is this node's "
     "own node.listen"},
    /* peers and routes */
    {BASE PEERS_OK "  - id: SC\n    region: SC\n    endpoints: [tcp://127.0.0.1:7112]\n",
     "22:9: error: peers[2].id: duplicate peer 'SC' (also peers[0])"},
    {BASE "peers:\n  - id: CQ\n    region: CQ\n    endpoints: [tcp://127.0.0.1:7102]\n",
     "16:9: error: peers[0].id: 'CQ' is this node's own id (node.id)"},
    {BASE PEERS_OK "routes:\n  SH: XX\n",
     "23:7: error: routes.SH: next hop 'XX' is not a peer (peers: SC, SN)"},
    {BASE PEERS_OK "routes:\n  SC: SN\n",
     "23:7: error: routes.SC: SC is a peer; routes are for nodes that are not"},
    {BASE PEERS_OK "routes:\n  CQ: SN\n",
     "23:7: error: routes.CQ: a route to this node itself"},
    {BASE PEERS_OK "routes:\n  sh: SN\n",
     "23:7: error: routes: destination 'sh' is not a node id (2 to 16 of A-Z, 0-9, -)"},
    /* missing keys */
    {"node:\n  id: CQ\n  region: CQ\n  role: provincial\n  http: 127.0.0.1:8101\n"
     PKI_OK REDIS_OK, "2:3: error: node: missing required key 'listen'"},
    {NODE_OK REDIS_OK, "1:1: error: missing section 'pki' (it needs at least 'ca')"},
    {BASE "peers:\n  - id: SC\n    endpoints: [tcp://127.0.0.1:7102]\n",
     "16:5: error: peers[0]: missing required key 'region'"},
    {NODE_OK "pki:\n  ca:\n", "8:6: error: pki.ca: required, but empty"},
    {NODE_OK PKI_OK "  directory_url: ftp://nc/d.json\n" REDIS_OK,
     "13:18: error: pki.directory_url: 'ftp://nc/d.json' is not an "
     "http(s):// URL, file:///PATH or a path"},
    {NODE_OK PKI_OK "  directory_url: file://rel/d.json\n" REDIS_OK,
     "13:18: error: pki.directory_url: 'file://rel/d.json' is not an "
     "http(s):// URL, file:///PATH or a path"},
    {NODE_OK PKI_OK "  directory_refresh_s: 0\n" REDIS_OK,
     "13:24: error: pki.directory_refresh_s: 0 is out of range (1 to 86400)"},
    /* connectors */
    {BASE "connectors:\n  - name: rail\n    type: ftp\n",
     "17:11: error: connectors[0].type: 'ftp' is not one of filedrop, http, zmq"},
    {BASE "connectors:\n  - type: http\n",
     "16:5: error: connectors[0]: missing required key 'name'"},
    {BASE "connectors:\n  - {name: rail, type: http}\n"
     "  - {name: rail, type: zmq, listen: 'tcp://127.0.0.1:7201'}\n",
     "17:12: error: connectors[1].name: duplicate name 'rail' (also connectors[0])"},
    {BASE "connectors:\n  - {name: rail, type: http, port: 80}\n",
     "16:36: error: connectors[0]: unknown key 'port' (allowed: name, type, "
     "mapping, client, dir, listen, forward, declare, fanout, agency, out, "
     "out_dir, out_url, out_endpoint, out_mapping, out_events); did you mean 'out'?"},
    {BASE "connectors:\n  - {name: drop, type: filedrop, dir: in}\n",
     "16:5: error: connectors[0]: type: filedrop needs 'client'"},
    {BASE "connectors:\n  - {name: drop, type: filedrop, client: c}\n"
     "clients:\n  - {id: c, connector: drop}\n",
     "16:5: error: connectors[0]: type: filedrop needs 'dir'"},
    {BASE "connectors:\n  - {name: bulk, type: zmq}\n",
     "16:5: error: connectors[0]: type: zmq needs 'listen'"},
    {BASE "connectors:\n  - {name: rail, type: http, dir: in}\n",
     "16:35: error: connectors[0].dir: only for type: filedrop (this one has "
     "type: http)"},
    {BASE "connectors:\n  - {name: rail, type: http, listen: 'tcp://127.0.0.1:7201'}\n",
     "16:38: error: connectors[0].listen: only for type: zmq (this one has "
     "type: http)"},
    {BASE "connectors:\n  - {name: rail, type: http, client: c}\n"
     "clients:\n  - {id: c, connector: rail}\n",
     "16:38: error: connectors[0].client: only for type: filedrop (this one "
     "has type: http)"},
    {BASE "connectors:\n  - {name: rail, type: http, out: dir}\n",
     "16:5: error: connectors[0]: out: dir needs 'out_dir'"},
    {BASE "connectors:\n  - {name: rail, type: http, out: webhook}\n",
     "16:5: error: connectors[0]: out: webhook needs 'out_url'"},
    {BASE "connectors:\n  - {name: rail, type: http, out: zmq}\n",
     "16:5: error: connectors[0]: out: zmq needs 'out_endpoint'"},
    {BASE "connectors:\n  - {name: rail, type: http, out: dir, out_dir: o,\n"
     "     out_url: 'http://h:1/x'}\n",
     "17:15: error: connectors[0].out_url: only for out: webhook (this one "
     "has out: dir)"},
    {BASE "connectors:\n  - {name: rail, type: http, out_events: [arrived]}\n",
     "16:42: error: connectors[0].out_events: only for an out (dir, webhook "
     "or zmq) (this one has out: none)"},
    {BASE "connectors:\n  - {name: rail, type: http, out: ftp}\n",
     "16:35: error: connectors[0].out: 'ftp' is not one of none, dir, "
     "webhook, zmq"},
    {BASE "connectors:\n  - {name: rail, type: http, out: webhook, "
     "out_url: 'ftp://h/x'}\n",
     "16:53: error: connectors[0].out_url: 'ftp://h/x' is not an http:// or "
     "https:// URL"},
    {BASE "connectors:\n  - {name: rail, type: http, out: dir, out_dir: o, "
     "out_events: [arrived, left]}\n",
     "16:74: error: connectors[0].out_events[1]: 'left' is not an out event "
     "(released, anticipated_arrival, discrepancy, arrived, written_off, "
     "message_status)"},
    {BASE "connectors:\n  - {name: rail, type: http, mapping: 'a b'}\n",
     "16:39: error: connectors[0].mapping: 'a b' is not a mapping name (1 to "
     "64 of A-Z a-z 0-9 . _ -)"},
    {BASE PEERS_OK "routes:\n  SH: SN\n"
     "connectors:\n  - {name: rail, type: http, forward: [SC, SH, XX]}\n",
     "25:48: error: connectors[0].forward[2]: 'XX' is neither a peer nor a "
     "node routes lead to"},
    {BASE "connectors:\n  - {name: rail, type: http, forward: [CQ]}\n",
     "16:40: error: connectors[0].forward[0]: 'CQ' is this node itself"},
    {BASE "connectors:\n  - {name: rail, type: http, declare: yes}\n",
     "16:39: error: connectors[0].declare: 'yes' is not one of false, true"},
    {"node:\n  id: NC\n  region: CN\n  role: national\n"
     "  listen: tcp://127.0.0.1:7101\n  http: 127.0.0.1:8101\n" PKI_OK REDIS_OK
     "connectors:\n  - {name: customs, type: http, declare: true}\n",
     "16:42: error: connectors[0].declare: node NC is the national center: "
     "it declares no movement"},
    {BASE "connectors:\n  - {name: drop, type: filedrop, dir: in, client: c}\n",
     "16:51: error: connectors[0].client: no client 'c' in clients"},
    {BASE "connectors:\n  - {name: drop, type: filedrop, dir: in, client: c}\n"
     "  - {name: rail, type: http}\nclients:\n  - {id: c, connector: rail}\n",
     "16:51: error: connectors[0].client: client 'c' belongs to connector "
     "'rail', not 'drop'"},
    /* clients */
    {BASE "clients:\n  - {id: c, connector: nowhere}\n",
     "16:24: error: clients[0].connector: no connector 'nowhere' in connectors"},
    {BASE "connectors: [{name: rail, type: http}]\nclients:\n"
     "  - {id: c, connector: rail}\n  - {id: c, connector: rail}\n",
     "18:10: error: clients[1].id: duplicate id 'c' (also clients[0])"},
    {BASE "connectors: [{name: rail, type: http}]\nclients:\n"
     "  - {id: a, connector: rail, key_sha256: " HEX64 "}\n"
     "  - {id: b, connector: rail, key_sha256: " HEX64 "}\n",
     "18:42: error: clients[1].key_sha256: the same key as clients[0]"},
    {BASE "connectors: [{name: rail, type: http}]\nclients:\n"
     "  - {id: a, connector: rail, key_sha256: ABC}\n",
     "17:42: error: clients[0].key_sha256: 'ABC' is not a SHA-256 (64 "
     "lower-case hex digits; `eportctl key hash KEY` prints it)"},
    {BASE "connectors: [{name: rail, type: http}]\nclients:\n"
     "  - {id: a, connector: rail, kinds: [waybill, invoice]}\n",
     "17:47: error: clients[0].kinds[1]: 'invoice' is not a record kind "
     "(waybill, manifest, declaration, response, status, permit, order, payment, *)"},
    {BASE "connectors: [{name: rail, type: http}]\nclients:\n"
     "  - {id: a, connector: rail, parties: ['CQ RAIL']}\n",
     "17:40: error: clients[0].parties[0]: 'CQ RAIL' is not a party id (1 "
     "to 64 printable characters, no spaces) or *"},
    {BASE "clients:\n  - {connector: rail}\n",
     "16:5: error: clients[0]: missing required key 'id'"},
    {BASE "clients:\n  - {id: a, connector: rail, secret: x}\n",
     "16:38: error: clients[0]: unknown key 'secret' (allowed: id, "
     "connector, key_sha256, kinds, parties, strict, lenient)"},
    {BASE "connectors: [{name: rail, type: http}]\nclients:\n"
     "  - {id: a, connector: rail, lenient: [check_digit]}\n",
     "17:40: error: clients[0].lenient[0]: 'check_digit' is not a "
     "strictness rule (envelope_counts, check_digits, dates, bom, "
     "line_ends, trailing_space)"},
    {BASE "connectors: [{name: rail, type: http}]\nclients:\n"
     "  - {id: a, connector: rail, strict: [bom], lenient: [dates, bom]}\n",
     "17:54: error: clients[0].lenient: 'bom' is also in clients[0].strict"},
    /* cbec */
    {BASE PEERS_OK "cbec_routes:\n  - {customs: '80', platform: P1, node: SC}\n",
     "23:5: error: cbec_routes[0]: give exactly one of customs, platform, "
     "carrier, order_prefix (found 2)"},
    {BASE PEERS_OK "cbec_routes:\n  - {customs: '80', node: SH}\n",
     "23:27: error: cbec_routes[0].node: 'SH' is neither this node, a peer "
     "nor a node routes lead to"},
    {BASE PEERS_OK "cbec:\n  clearing: SH\n",
     "23:13: error: cbec.clearing: 'SH' is neither this node, a peer nor a "
     "node routes lead to"},
    {BASE "cbec_routes:\n  - {platform: P1}\n",
     "16:5: error: cbec_routes[0]: missing required key 'node'"},
    /* api */
    {BASE "api:\n  public_reads: yes\n",
     "16:17: error: api.public_reads: 'yes' is not one of false, true"},
    {BASE "api:\n  threads: 0\n",
     "16:12: error: api.threads: 0 is out of range (1 to 64)"},
    {BASE "api:\n  max_body_bytes: 100\n",
     "16:19: error: api.max_body_bytes: 100 is out of range (1024 to "
     "1073741824)"},
    /* delays that contradict each other */
    {BASE "delivery:\n  heartbeat_ms: 5000\n",
     "16:17: error: delivery.heartbeat_timeout_ms: 5000 must be more than "
     "heartbeat_ms (5000)"},
    {BASE "delivery:\n  retry_initial_ms: 500\n  retry_max_ms: 400\n",
     "17:17: error: delivery.retry_max_ms: 400 is less than retry_initial_ms (500)"},
    {BASE "ha:\n  claim_idle_ms: 3000\n",
     "16:18: error: ha.claim_idle_ms: 3000 must be more than 1.5 times "
     "redis.timeout_ms (2000): a lease must outlive a blocked WAIT"},
    /* ledger */
    {BASE "ledger:\n  auto: [release, departure]\n",
     "16:19: error: ledger.auto[1]: 'departure' is not a step (release, "
     "passage, arrival, control, write_off)"},
    {BASE "ledger:\n  auto: [release, release]\n",
     "16:19: error: ledger.auto[1]: 'release' is listed twice"},
    {BASE "ledger:\n  auto: release\n",
     "16:9: error: ledger.auto: expected a list of names, found text"},
    {BASE "ledger:\n  national: nc\n",
     "16:13: error: ledger.national: 'nc' is not a node id (2 to 16 of A-Z, 0-9, -)"},
    {BASE "ledger:\n  time_limit_h: 0\n",
     "16:17: error: ledger.time_limit_h: 0 is out of range (1 to 8760)"},
    /* not a config at all */
    {"", "1:1: error: expected a map of sections (node, ...), found an empty file"},
    {"- node\n", "1:1: error: expected a map of sections (node, ...), found a list"},
    {"node: [\n", "2:1: error: did not find expected node content while parsing "
     "a flow node"},
};

/* Every case is tried and each mismatch printed, then the test fails. */
static void test_refusals(void **state)
{
    (void)state;
    size_t failed = 0;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        char path[512], want[1024];
        cfg *c = NULL;
        err_t e;
        int rc = load_text("bad.yaml", bad_cases[i].text, &c, &e, path, sizeof path);
        snprintf(want, sizeof want, "%s:%s", path, bad_cases[i].want);
        if (rc != ERR_CONFIG || e.code != ERR_CONFIG || !c)
            fail_msg("case %zu: rc %d: %s", i, rc, e.msg);
        if (!strstr(cfg_problems(c), want)) {
            print_error("case %zu: want\n  %s\ngot\n%s\n", i, want,
                        cfg_problems(c));
            failed++;
        }
        /* e holds the first problem, one line */
        assert_non_null(strstr(cfg_problems(c), e.msg));
        assert_null(strchr(e.msg, '\n'));
        cfg_free(c);
    }
    assert_int_equal(failed, 0);
}

/* Every problem is reported, not only the first; past the cap one line
 * says how it ends. */
static void test_all_problems_collected(void **state)
{
    (void)state;
    char path[512];
    cfg *c = NULL;
    err_t e;
    int rc = load_text("bad.yaml", "node:\n  id: c\n  region: x\n  role: boss\n"
                       "pki: 1\nredis:\n  url: mysql://x\nlog:\n  level: loud\n",
                       &c, &e, path, sizeof path);
    assert_int_equal(rc, ERR_CONFIG);
    assert_int_equal(cfg_problem_count(c), 8);
    assert_non_null(strstr(e.msg, ":2:7: error: node.id:"));
    cfg_free(c);

    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_adds(&b, BASE "delivery:\n"), 0);
    for (int i = 0; i < 150; i++)
        assert_int_equal(buf_printf(&b, "  k%d: 1\n", i), 0);
    rc = load_text("many.yaml", b.p, &c, &e, path, sizeof path);
    buf_free(&b);
    assert_int_equal(rc, ERR_CONFIG);
    assert_int_equal(cfg_problem_count(c), 150);
    assert_non_null(strstr(cfg_problems(c), "error: more than 100 problems"));
    size_t lines = 0;
    for (const char *p = cfg_problems(c); (p = strchr(p, '\n')); p++)
        lines++;
    assert_int_equal(lines, 101);
    cfg_free(c);
}

static void test_unreadable(void **state)
{
    (void)state;
    cfg *c = (cfg *)1;
    err_t e;
    char path[512];
    snprintf(path, sizeof path, "%s/absent.yaml", tmpdir);
    assert_int_equal(cfg_load(path, &c, &e), ERR_IO);
    assert_null(c);
    assert_non_null(strstr(e.msg, "absent.yaml: error: cannot open"));
    cfg_free(NULL);
}

/* ---- dump ---- */

/* Compare two structs row by row, so a new key is compared too. */
static void same_rows(const cfg_section *s, const void *a, const void *b)
{
    for (size_t r = 0; r < s->nrows; r++) {
        const cfg_option *o = &s->rows[r];
        const char *pa = (const char *)a + o->off, *pb = (const char *)b + o->off;
        if (o->type == CFG_T_INT)
            assert_int_equal(*(const int64_t *)pa, *(const int64_t *)pb);
        else if (o->type == CFG_T_ENUM)
            assert_int_equal(*(const int *)pa, *(const int *)pb);
        else if (o->type == CFG_T_ENDPOINTS || o->type == CFG_T_LIST) {
            const cfg_strs *la = (const void *)pa, *lb = (const void *)pb;
            assert_int_equal(la->n, lb->n);
            for (size_t i = 0; i < la->n; i++)
                assert_string_equal(la->v[i], lb->v[i]);
        } else if (*(const char *const *)pa || *(const char *const *)pb) {
            assert_non_null(*(const char *const *)pa);
            assert_non_null(*(const char *const *)pb);
            assert_string_equal(*(const char *const *)pa, *(const char *const *)pb);
        }
    }
}

static void same_cfg(const cfg *a, const cfg *b)
{
    for (size_t i = 0; i < cfg_nsections; i++) {
        const cfg_section *s = &cfg_sections[i];
        if (s->kind == CFG_S_MAP)
            same_rows(s, (const char *)a + s->off, (const char *)b + s->off);
    }
    assert_int_equal(a->npeers, b->npeers);
    for (size_t i = 0; i < a->npeers; i++)
        same_rows(&cfg_sections[CFG_SEC_PEERS], &a->peers[i], &b->peers[i]);
    assert_int_equal(a->nroutes, b->nroutes);
    for (size_t i = 0; i < a->nroutes; i++) {
        assert_string_equal(a->routes[i].dest, b->routes[i].dest);
        assert_string_equal(a->routes[i].via, b->routes[i].via);
    }
    assert_int_equal(a->nconnectors, b->nconnectors);
    for (size_t i = 0; i < a->nconnectors; i++)
        same_rows(&cfg_sections[CFG_SEC_CONNECTORS], &a->connectors[i],
                  &b->connectors[i]);
    assert_int_equal(a->nclients, b->nclients);
    for (size_t i = 0; i < a->nclients; i++)
        same_rows(&cfg_sections[CFG_SEC_CLIENTS], &a->clients[i], &b->clients[i]);
}

/* Dump a, load the dump from another directory, compare; the second dump
 * must equal the first but for the header naming the file. */
static void round_trip(const cfg *a)
{
    buf_t d1, d2;
    buf_init(&d1, 1 << 20);
    buf_init(&d2, 1 << 20);
    assert_int_equal(cfg_dump(a, &d1), 0);
    char path[512];
    cfg *b = NULL;
    err_t e;
    if (load_text("dumped.yaml", d1.p, &b, &e, path, sizeof path))
        fail_msg("dump does not load: %s\n%s", b ? cfg_problems(b) : e.msg, d1.p);
    same_cfg(a, b);
    assert_int_equal(cfg_dump(b, &d2), 0);
    assert_string_equal(strstr(d1.p, "\nnode:"), strstr(d2.p, "\nnode:"));
    cfg_free(b);
    buf_free(&d1);
    buf_free(&d2);
}

/* Connectors of every type and out, clients and the api section; the
 * connectors start on line 23. */
#define CONNECTORS_OK                                                      \
    "routes:\n  SH: SN\n"                                                   \
    "connectors:\n"                                                        \
    "  - name: rail\n    type: http\n    mapping: iftmin-rail\n"           \
    "    forward: [SC, SH]\n    out: webhook\n"                            \
    "    out_url: http://127.0.0.1:9000/hook\n    out_mapping: iftsta-out\n" \
    "    out_events: [anticipated_arrival, message_status]\n"               \
    "  - {name: edi-drop, type: filedrop, dir: ../var/drop, "              \
    "client: edi-center, out: dir, out_dir: out}\n"                        \
    "  - {name: bulk, type: zmq, listen: 'tcp://127.0.0.1:7201', out: zmq, " \
    "out_endpoint: 'tcp://127.0.0.1:7202'}\n"                              \
    "clients:\n"                                                           \
    "  - id: cq-rail\n    connector: rail\n    key_sha256: " HEX64 "\n"    \
    "    kinds: [waybill, status]\n    parties: [CQRAIL]\n"                \
    "    lenient: [check_digits, envelope_counts]\n    strict: [bom]\n"     \
    "  - {id: edi-center, connector: edi-drop, kinds: ['*'], "             \
    "parties: ['*']}\n"                                                    \
    "api:\n  rate_per_s: 0\n  public_reads: true\n"

static void test_connectors(void **state)
{
    (void)state;
    cfg *c = load_ok_text(BASE PEERS_OK CONNECTORS_OK);
    char want[600];
    assert_int_equal(c->nconnectors, 3);
    const cfg_connector *k = cfg_connector_find(c, "rail");
    assert_ptr_equal(k, &c->connectors[0]);
    assert_int_equal(k->type, CFG_CONN_HTTP);
    assert_string_equal(k->mapping, "iftmin-rail");
    assert_int_equal(k->forward.n, 2);
    assert_string_equal(k->forward.v[1], "SH");
    assert_int_equal(k->out, CFG_OUT_WEBHOOK);
    assert_string_equal(k->out_url, "http://127.0.0.1:9000/hook");
    assert_true(cfg_strs_has(&k->out_events, "message_status"));
    assert_false(cfg_strs_has(&k->out_events, "released"));
    assert_null(k->dir);
    k = cfg_connector_find(c, "edi-drop");
    assert_int_equal(k->type, CFG_CONN_FILEDROP);
    assert_int_equal(k->out, CFG_OUT_DIR);
    snprintf(want, sizeof want, "%s/out", tmpdir);
    assert_string_equal(k->out_dir, want);
    assert_string_equal(cfg_connector_find(c, "bulk")->out_endpoint,
                        "tcp://127.0.0.1:7202");
    assert_null(cfg_connector_find(c, "nope"));
    assert_int_equal(cfg_connector_find(c, "bulk")->declare, 0);
    cfg_free(c);
    c = load_ok_text(BASE "connectors:\n  - {name: customs, type: http, "
                     "declare: true}\n");
    assert_int_equal(c->connectors[0].declare, 1);
    cfg_free(c);
}

static void test_clients_api(void **state)
{
    (void)state;
    cfg *c = load_ok_text(BASE PEERS_OK CONNECTORS_OK);
    const cfg_client *cl = cfg_client_find(c, "cq-rail");
    assert_ptr_equal(cl, &c->clients[0]);
    assert_string_equal(cl->connector, "rail");
    assert_string_equal(cl->key_sha256, HEX64);
    assert_true(cfg_strs_has(&cl->kinds, "status"));
    assert_false(cfg_strs_has(&cl->kinds, "declaration"));
    assert_true(cfg_strs_has(&cl->parties, "CQRAIL"));
    assert_false(cfg_strs_has(&cl->parties, NULL));
    assert_int_equal(cl->lenient.n, 2);
    assert_string_equal(cl->lenient.v[1], "envelope_counts");
    assert_true(cfg_strs_has(&cl->strict, "bom"));
    cl = cfg_client_find(c, "edi-center");
    assert_null(cl->key_sha256);
    assert_int_equal(cl->strict.n + cl->lenient.n, 0); /* the tables' */
    assert_true(cfg_strs_has(&cl->kinds, "declaration")); /* "*" */
    assert_null(cfg_client_find(c, "nobody"));
    assert_int_equal(c->api.rate_per_s, 0);
    assert_int_equal(c->api.public_reads, 1);
    assert_int_equal(c->api.max_body_bytes, 4194304); /* defaults */
    assert_int_equal(c->api.burst, 10000);
    assert_int_equal(c->api.max_backlog, 200000);
    assert_int_equal(c->api.retry_after_s, 1);
    assert_int_equal(c->api.threads, 2);
    cfg_free(c);
    c = load_ok_text(BASE);
    assert_int_equal(c->nclients, 0);
    assert_int_equal(c->api.public_reads, 0);
    assert_int_equal(c->api.rate_per_s, 5000);
    cfg_free(c);
}

static void test_dump_round_trip(void **state)
{
    (void)state;
    cfg *c = load_ok_text(
        BASE "  prefix: \"eport:{CQ}#1:\"\n" PEERS_OK
        "    cert: \"/certs/s n.pem\"\n  - id: NC\n    region: CN\n"
        "    endpoints:\n      - ipc:///run/nc.sock\n      - inproc://nc\n"
        "routes:\n  SH: SN\n  XJ-1: NC\n"
        "delivery:\n  max_age_ms: 86400000\n"
        "connectors:\n  - name: rail\n    type: filedrop\n    dir: in/rail\n"
        "    client: c.1\n    forward: [XJ-1, SC]\n    out: webhook\n"
        "    out_url: 'https://h:1/a?b=c&d=#e'\n"
        "  - {name: api, type: http, out_events: [], forward: []}\n"
        "clients:\n  - {id: c.1, connector: rail, parties: [\"-x\", "
        "'#y', '*']}\n  - {id: k, connector: api, kinds: [], key_sha256: "
        HEX64 "}\n"
        "api:\n  threads: 8\n  public_reads: true\n"
        "log:\n  level: debug\n  file: cq.log\n");
    assert_string_equal(c->redis.prefix, "eport:{CQ}#1:");
    assert_int_equal(c->nconnectors, 2);
    assert_int_equal(c->nclients, 2);
    round_trip(c);
    cfg_free(c);
    c = load_ok_text(BASE PEERS_OK CONNECTORS_OK);
    round_trip(c);
    cfg_free(c);
    for (size_t i = 0; i < NNODES; i++) {
        c = load_conf(node_ids[i]);
        round_trip(c);
        cfg_free(c);
    }
}

/* ---- the docs ---- */

static void test_docs_table_current(void **state)
{
    (void)state;
    char path[1100];
    snprintf(path, sizeof path, "%s/docs/operations.md", repodir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char doc[1 << 17];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    buf_t t;
    buf_init(&t, 1 << 17);
    assert_int_equal(cfg_doc_markdown(&t), 0);
    const char *begin = strstr(doc, "<!-- cfg-table:begin -->\n");
    const char *end = strstr(doc, "<!-- cfg-table:end -->");
    assert_non_null(begin);
    assert_non_null(end);
    begin += strlen("<!-- cfg-table:begin -->\n");
    if ((size_t)(end - begin) != t.len || memcmp(begin, t.p, t.len))
        fail_msg("docs/operations.md's key table is not the one the rows make; "
                 "put this between its cfg-table markers:\n%s", t.p);
    buf_free(&t);
}

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    char tmpl[200];
    snprintf(tmpl, sizeof tmpl, "%s/cfgtestXXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl) || find_conf()) {
        fprintf(stderr, "config_test: no temp dir, or no conf/ above the cwd\n");
        return -1;
    }
    char *real = realpath(tmpl, NULL);
    snprintf(tmpdir, sizeof tmpdir, "%s", real);
    free(real);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    const char *names[] = {"ok.yaml", "bad.yaml", "many.yaml", "dumped.yaml"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    return rmdir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_configs_load),
        cmocka_unit_test(test_federation_consistent),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_ledger),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_directory_url),
        cmocka_unit_test(test_relative_config_path),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_all_problems_collected),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_connectors),
        cmocka_unit_test(test_clients_api),
        cmocka_unit_test(test_dump_round_trip),
        cmocka_unit_test(test_docs_table_current),
    };
    return cmocka_run_group_tests_name("gateway/config", tests, setup, teardown);
}
