/* Unit tests for auth: the key hash (known SHA-256 vectors), finding a
 * client by key (and not by a near miss, nor a keyless client), and what
 * a client may send: its connector, kinds, parties, "*", with refusals
 * that name the rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "model_json.h"

/* SHA-256("test") and SHA-256("") */
#define H_TEST "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define H_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* SHA-256("other") */
#define H_OTHER "d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa"

static char g_dir[64];
static cfg *g_cfg;
static arena_t g_arena;

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/authtestXXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    char path[128];
    snprintf(path, sizeof path, "%s/a.yaml", g_dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("node: {id: CQ, region: CQ, role: provincial, listen: "
          "'tcp://127.0.0.1:7101', http: '127.0.0.1:8101'}\n"
          "pki: {ca: ca.crt, cert: CQ.crt, key: CQ.key, curve_public: c.pub, "
          "curve_secret: c.key}\nredis: {url: 'redis://127.0.0.1:1'}\n"
          "connectors:\n  - {name: rail, type: http}\n"
          "  - {name: drop, type: filedrop, dir: in, client: edi}\n"
          "clients:\n"
          "  - {id: keyless, connector: rail, kinds: ['*'], parties: ['*']}\n"
          "  - {id: cq-rail, connector: rail, key_sha256: " H_TEST ", "
          "kinds: [waybill, status], parties: [CQRAIL, CQXOLOG]}\n"
          "  - {id: other, connector: rail, key_sha256: " H_OTHER ", "
          "kinds: [], parties: []}\n"
          "  - {id: edi, connector: drop, kinds: ['*'], parties: ['*']}\n", f);
    fclose(f);
    err_t e = {0};
    if (cfg_load(path, &g_cfg, &e)) {
        fprintf(stderr, "%s\n", g_cfg ? cfg_problems(g_cfg) : e.msg);
        return -1;
    }
    unlink(path);
    arena_init(&g_arena, 1 << 20);
    return rmdir(g_dir);
}

static int teardown(void **state)
{
    (void)state;
    cfg_free(g_cfg);
    arena_free(&g_arena);
    return 0;
}

static model_record *rec(const char *json)
{
    model_record *r = NULL;
    err_t e = {0};
    if (model_json_read(json, strlen(json), &g_arena, &r, &e))
        fail_msg("model_json_read: %s", e.msg);
    return r;
}

static void test_hash(void **state)
{
    (void)state;
    char hex[65];
    err_t e = {0};
    assert_int_equal(auth_key_hash("test", hex, &e), 0);
    assert_string_equal(hex, H_TEST);
    assert_int_equal(auth_key_hash("", hex, &e), 0);
    assert_string_equal(hex, H_EMPTY);
}

static void test_by_key(void **state)
{
    (void)state;
    err_t e = {0};
    const cfg_client *cl = auth_by_key(g_cfg, "test", &e);
    assert_non_null(cl);
    assert_string_equal(cl->id, "cq-rail");
    cl = auth_by_key(g_cfg, "other", &e);
    assert_non_null(cl);
    assert_string_equal(cl->id, "other");
    assert_null(auth_by_key(g_cfg, "test ", &e)); /* a near miss */
    assert_int_equal(e.code, ERR_DENIED);
    assert_string_equal(e.msg, "unknown API key");
    assert_null(auth_by_key(g_cfg, "", &e)); /* not the keyless client */
    assert_null(auth_by_key(g_cfg, NULL, &e));
    char longkey[AUTH_KEY_MAX + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    assert_null(auth_by_key(g_cfg, longkey, &e));
    assert_int_equal(e.code, ERR_DENIED);
}

static void test_allows_kinds(void **state)
{
    (void)state;
    err_t e = {0};
    const cfg_client *cl = cfg_client_find(g_cfg, "cq-rail");
    model_record *w = rec("{\"kind\":\"waybill\",\"source\":{\"sender\":\"CQRAIL\"}}");
    assert_int_equal(auth_allows(cl, "rail", w, &e), 0);
    model_record *d = rec("{\"kind\":\"declaration\",\"source\":{\"sender\":\"CQRAIL\"}}");
    assert_int_equal(auth_allows(cl, "rail", d, &e), ERR_DENIED);
    assert_string_equal(e.msg, "client cq-rail may not send declaration "
                        "(kinds: waybill, status)");
    const cfg_client *none = cfg_client_find(g_cfg, "other");
    assert_int_equal(auth_allows(none, "rail", w, &e), ERR_DENIED);
    assert_string_equal(e.msg, "client other may not send waybill (kinds: none)");
    const cfg_client *any = cfg_client_find(g_cfg, "keyless");
    assert_int_equal(auth_allows(any, "rail", d, &e), 0); /* "*" */
}

static void test_allows_parties(void **state)
{
    (void)state;
    err_t e = {0};
    const cfg_client *cl = cfg_client_find(g_cfg, "cq-rail");
    model_record *in_party = rec("{\"kind\":\"status\",\"source\":{\"sender\":"
                                 "\"XX\"},\"parties\":[{\"role\":\"carrier\","
                                 "\"id\":\"CQXOLOG\"}]}");
    assert_int_equal(auth_allows(cl, "rail", in_party, &e), 0);
    model_record *foreign = rec("{\"kind\":\"status\",\"source\":{\"sender\":"
                                "\"CNXYZ\"},\"parties\":[{\"role\":\"carrier\","
                                "\"id\":\"DEDB\"}]}");
    assert_int_equal(auth_allows(cl, "rail", foreign, &e), ERR_DENIED);
    assert_string_equal(e.msg, "client cq-rail may not send for party CNXYZ "
                        "(parties: CQRAIL, CQXOLOG)");
    model_record *nobody = rec("{\"kind\":\"status\"}");
    assert_int_equal(auth_allows(cl, "rail", nobody, &e), ERR_DENIED);
    assert_non_null(strstr(e.msg, "names no party"));
    const cfg_client *any = cfg_client_find(g_cfg, "keyless");
    assert_int_equal(auth_allows(any, "rail", foreign, &e), 0);
    assert_int_equal(auth_allows(any, "rail", nobody, &e), 0);
}

static void test_allows_connector(void **state)
{
    (void)state;
    err_t e = {0};
    const cfg_client *cl = cfg_client_find(g_cfg, "cq-rail");
    model_record *w = rec("{\"kind\":\"waybill\",\"source\":{\"sender\":\"CQRAIL\"}}");
    assert_int_equal(auth_allows(cl, "drop", w, &e), ERR_DENIED);
    assert_string_equal(e.msg, "client cq-rail belongs to connector rail, "
                        "not drop");
    const cfg_client *edi = cfg_client_find(g_cfg, "edi");
    assert_int_equal(auth_allows(edi, "drop", w, &e), 0);
    assert_int_equal(auth_allows(edi, "rail", w, &e), ERR_DENIED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_by_key),
        cmocka_unit_test(test_allows_kinds),
        cmocka_unit_test(test_allows_parties),
        cmocka_unit_test(test_allows_connector),
    };
    return cmocka_run_group_tests_name("gateway/auth", tests, setup, teardown);
}
