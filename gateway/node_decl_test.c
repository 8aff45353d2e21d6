/* Unit tests for declarations that come in through a connector
 * (node_local.c's dispatch, mvact_gather.c, store_ldoc.c): a real node
 * CQ (peers SN, SH, NC) opened offline on a private redis-server, its
 * dispatch and ledger run by hand, the code list of itineraries copied
 * from the repository's mappings/codes/locode-region.yaml.
 *   - linked: two rail waybills sent before, sharing the declaration's
 *     containers, become documents of the one movement it opens; the
 *     itinerary (CQ, SH) comes from its legs, the kind from their modes;
 *     a container only a waybill names is not claimed; the message says
 *     declared with the reference, and the linked waybills are
 *     forgotten;
 *   - once: dispatched again (a crash before the batch was marked done,
 *     before or after the ledger applied it), no second movement; a
 *     reference allocated before a crash (v1:ldecl) is the one used;
 *   - refused: a route starting in SH, a container already declared
 *     (the winner named), a connector without `declare` (dispatched
 *     only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sys/stat.h>

#include "../tests/pki_fixture.h"
#include "store_test_util.h" /* before dir.h: its locals named dir */
#include "envelope.h"
#include "ledger.h"
#include "model_json.h"
#include "model_pack.h"
#include "mvact.h"
#include "mvrule.h"
#include "node_int.h"
#include "store_ldoc.h"
#include "store_local.h"
#include "store_mv.h"
#include "../tests/node_fixture.h"

/* deploy/pki's repository: its code list into the fixture's mappings. */
static int copy_regions(void)
{
    char src[4400], dst[400];
    snprintf(src, sizeof src, "%s", g_pki.script);
    char *slash = strstr(src, "/deploy/pki");
    if (!slash)
        return -1;
    snprintf(slash, sizeof src - (size_t)(slash - src), "/mappings/%s",
             MVACT_REGIONS_FILE);
    snprintf(dst, sizeof dst, "%s/codes", g_pki.dir);
    mkdir(dst, 0700);
    snprintf(dst, sizeof dst, "%s/%s", g_pki.dir, MVACT_REGIONS_FILE);
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    char b[4096];
    size_t n;
    while (in && out && (n = fread(b, 1, sizeof b, in)) > 0)
        fwrite(b, 1, n, out);
    int rc = in && out ? 0 : -1;
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    if (node_fixture_setup("node_decl_test", NULL) < 0)
        return -1;
    return g_url[0] ? copy_regions() : 0; /* "": every test skips */
}

/* customs declares; rail's waybills are only remembered. */
#define CONNECTORS                                                         \
    "connectors:\n"                                                        \
    "  - {name: customs, type: http, declare: true}\n"                     \
    "  - {name: rail, type: http}\n"                                       \
    "ledger: {national: NC}\n"

typedef node_fixture_fx fx;

static int apply(fx *f)
{
    return node_fixture_drain(f->n, &f->clock);
}

/* ---- records ---- */

/* A record of conn from canonical JSON, accepted as intake accepts it;
 * its id in id, its msgpack in *p, *n (arena: for a re-dispatch). */
static void accept_json(fx *f, const char *conn, const char *json,
                        char id[MSGID_LEN + 1], const void **p, size_t *n)
{
    model_record *r;
    err_t e;
    if (model_json_read(json, strlen(json), &f->a, &r, &e) < 0)
        fail_msg("model_json_read: %s", e.msg);
    node_fixture_accept(f->n, &f->a, conn, r, id, p, n);
}

static const char *waybill(fx *f, const char *no, const char *c1,
                           const char *c2)
{
    char *s = arena_alloc(&f->a, 1024);
    snprintf(s, 1024, "{\"kind\":\"waybill\",\"document\":{\"type\":"
             "\"rail_waybill\",\"number\":\"%s\"},\"legs\":[{\"seq\":1,"
             "\"mode\":\"rail\",\"from\":\"CNCKG\",\"to\":\"CNSHA\"}],"
             "\"equipment\":[{\"number\":\"%s\",\"kind\":\"container\","
             "\"seals\":[\"RW1\"]},{\"number\":\"%s\",\"kind\":\"container\""
             "},{\"number\":\"31501234567\",\"kind\":\"wagon\"}]}", no, c1,
             c2);
    return s;
}

/* A declaration of containers c1, c2 from origin by rail, then sea. */
static const char *declaration(fx *f, const char *no, const char *origin,
                               const char *c1, const char *c2)
{
    char *s = arena_alloc(&f->a, 2048);
    snprintf(s, 2048, "{\"kind\":\"declaration\",\"document\":{\"type\":"
             "\"customs_declaration\",\"number\":\"%s\"},\"route\":{"
             "\"origin\":\"%s\",\"destination\":\"NLRTM\"},\"parties\":[{"
             "\"role\":\"declarant\",\"name\":\"TRADE CO\",\"id\":"
             "\"91500000MA5U7QX45Q\"}],\"legs\":[{\"seq\":1,\"mode\":"
             "\"rail\",\"from\":\"%s\",\"to\":\"CNSHA\"},{\"seq\":2,\"mode\":"
             "\"sea\",\"from\":\"CNSHA\",\"to\":\"NLRTM\"}],\"equipment\":[{"
             "\"number\":\"%s\",\"kind\":\"container\",\"seals\":[\"S1\"]},"
             "{\"number\":\"%s\",\"kind\":\"container\",\"seals\":[\"S2\"]}],"
             "\"totals\":{\"packages\":40}}", no, origin, origin, c1, c2);
    return s;
}

/* ---- what the node stored ---- */

static int count_one(void *ctx, const char *id, const void *rec, size_t len,
                     err_t *e)
{
    (void)id, (void)rec, (void)len, (void)e;
    ++*(int *)ctx;
    return 0;
}

/* Records remembered under container ctr. */
static int remembered(fx *f, const char *ctr)
{
    int n = 0;
    err_t e;
    assert_true(store_ldoc_by_ctr(node_store(f->n), ctr, count_one, &n,
                                  &e) >= 0);
    return n;
}

static int has_doc(const mv_event *d, const char *type, const char *no)
{
    for (uint32_t i = 0; i < d->ndocs; i++)
        if (!strcmp(d->docs[i].type, type) && !strcmp(d->docs[i].no, no))
            return 1;
    return 0;
}

/* ---- tests ---- */

/* Two waybills sent before, one declaration: one movement with all three
 * documents, itinerary and kind derived; declared once across crashes. */
static void test_declare_linked_once(void **state)
{
    (void)state;
    fx f;
    node_fixture_fx_open(&f, "d1:", CONNECTORS);
    char w1[MSGID_LEN + 1], w2[MSGID_LEN + 1], id[MSGID_LEN + 1];
    const void *rec;
    size_t n;
    accept_json(&f, "rail", waybill(&f, "RW-D1", "MSCU1234565",
                                    "TGHU7654321"), w1, NULL, NULL);
    accept_json(&f, "rail", waybill(&f, "RW-D2", "OOLU1234568",
                                    "MSCU1234565"), w2, NULL, NULL);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 2);
    assert_int_equal(remembered(&f, "MSCU1234565"), 2);
    accept_json(&f, "customs", declaration(&f, "DECL-D1", "CNCKG",
                                           "MSCU1234565", "OOLU1234568"),
                id, &rec, &n);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 1);
    node_fixture_msg m = node_fixture_msg_of(f.n, id);
    assert_string_equal(m.status, "declared");
    assert_int_equal(strlen(m.refs), MVREF_LEN);
    assert_non_null(strstr(m.detail, "3 document(s), 2 linked"));
    assert_string_equal(node_fixture_msg_of(f.n, w1).status, "dispatched");
    assert_int_equal(remembered(&f, "MSCU1234565"), 0); /* forgotten */
    assert_int_equal(apply(&f), 1);
    mv_state s = node_fixture_state(f.n, m.refs, &f.a);
    assert_int_equal(s.phase, MV_P_DECLARED);
    assert_string_equal(s.data.kind, "rail_sea_export");
    assert_int_equal(s.data.nitin, 2);
    assert_string_equal(s.data.itin[0], "CQ");
    assert_string_equal(s.data.itin[1], "SH");
    assert_int_equal(s.data.ndocs, 3);
    assert_true(has_doc(&s.data, "customs_declaration", "DECL-D1"));
    assert_true(has_doc(&s.data, "rail_waybill", "RW-D1"));
    assert_true(has_doc(&s.data, "rail_waybill", "RW-D2"));
    assert_int_equal(s.data.nctrs, 2); /* not TGHU7654321 */
    assert_int_equal(s.data.ctrs[0].nseals, 2); /* S1 and the waybill's */
    assert_int_equal(s.data.pkgs, 40);
    /* crashes: dispatched again after the ledger applied it, twice */
    for (int i = 0; i < 2; i++) {
        node_fixture_undispatched(f.prefix, id, "customs", rec, n);
        assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 1);
        node_fixture_msg again = node_fixture_msg_of(f.n, id);
        assert_string_equal(again.status, "declared");
        assert_string_equal(again.refs, m.refs);
        assert_int_equal(apply(&f), 0);
    }
    assert_int_equal(node_fixture_own_events(f.n, &f.a, MV_DECLARED), 1);
    node_fixture_fx_close(&f);
}

/* A reference allocated before a crash (v1:ldecl) is the one declared. */
static void test_declare_ref_kept(void **state)
{
    (void)state;
    fx f;
    node_fixture_fx_open(&f, "d2:", CONNECTORS);
    char id[MSGID_LEN + 1], ref[MVREF_LEN + 1];
    err_t e;
    accept_json(&f, "customs", declaration(&f, "DECL-D2", "CNCKG",
                                           "CBHU1234562", "CBHU7654327"),
                id, NULL, NULL);
    assert_int_equal(mvact_new_ref(f.n, ref, &e), 0);
    assert_int_equal(store_ldecl_claim(node_store(f.n), id, ref,
                                       sizeof ref, &e), 0);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 1);
    node_fixture_msg m = node_fixture_msg_of(f.n, id);
    assert_string_equal(m.status, "declared");
    assert_string_equal(m.refs, ref);
    assert_int_equal(apply(&f), 1);
    assert_string_equal(node_fixture_state(f.n, ref, &f.a).data.kind,
                        "rail_sea_export");
    node_fixture_fx_close(&f);
}

/* Refused: the route starts in SH; a container declared already (the
 * winner named). A connector without `declare` only dispatches. */
static void test_declare_refused(void **state)
{
    (void)state;
    fx f;
    node_fixture_fx_open(&f, "d3:", CONNECTORS);
    char sh[MSGID_LEN + 1], first[MSGID_LEN + 1], second[MSGID_LEN + 1];
    char plain[MSGID_LEN + 1];
    accept_json(&f, "customs", declaration(&f, "DECL-D3", "CNSHA",
                                           "MSCU1234565", "OOLU1234568"),
                sh, NULL, NULL);
    accept_json(&f, "customs", declaration(&f, "DECL-D4", "CNCKG",
                                           "MSCU1234565", "OOLU1234568"),
                first, NULL, NULL);
    accept_json(&f, "customs", declaration(&f, "DECL-D5", "CNCKG",
                                           "OOLU1234568", "TGHU7654321"),
                second, NULL, NULL);
    accept_json(&f, "rail", declaration(&f, "DECL-D6", "CNCKG",
                                        "CBHU1234562", "CBHU7654327"),
                plain, NULL, NULL);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 4);
    node_fixture_msg m = node_fixture_msg_of(f.n, sh);
    assert_string_equal(m.status, "refused");
    assert_non_null(strstr(m.detail, "starts in region SH"));
    node_fixture_msg won = node_fixture_msg_of(f.n, first);
    assert_string_equal(won.status, "declared");
    node_fixture_msg lost = node_fixture_msg_of(f.n, second);
    assert_string_equal(lost.status, "refused");
    assert_non_null(strstr(lost.detail, won.refs));
    assert_non_null(strstr(lost.detail, "OOLU1234568"));
    assert_string_equal(node_fixture_msg_of(f.n, plain).status, "dispatched");
    assert_int_equal(node_fixture_own_events(f.n, &f.a, MV_DECLARED), 1);
    node_fixture_fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declare_linked_once),
        cmocka_unit_test(test_declare_ref_kept),
        cmocka_unit_test(test_declare_refused),
    };
    return cmocka_run_group_tests(tests, setup, node_fixture_teardown);
}
