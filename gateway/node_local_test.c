/* Unit tests for what eportd does with records local systems sent
 * (node_local.c) and what it tells them back (node_notify.c), each
 * exactly once across crashes. A real node (CQ, peers SN, SH and NC)
 * opened offline on a private redis-server, its dispatch and ledger run
 * by hand. A crash before a batch was marked dispatched is its entry put
 * back into v1:local as intake wrote it (raw XADD): eportd dispatches it
 * again after a restart.
 *   - forward: a record of a connector with `forward: [SH]` goes to SH's
 *     outbox under the id derived from its local id; dispatched again
 *     (even after its receipts came home and sent:<id> went, and with
 *     Redis's scripts flushed), nothing more is queued; v1:msg says
 *     forwarded, fwd, dests;
 *   - attach: a status record about a container under an open movement
 *     here gets one status event (refs in v1:msg), once across a
 *     re-dispatch; one about no open movement is dispatched with why;
 *   - message status: an unreadable record is refused, and a connector
 *     with out_events [message_status] gets one response record saying
 *     so, once;
 *   - notify: a release applied at CQ, on the itinerary after SN, queues
 *     one anticipated_arrival record, once across the ledger's replay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../tests/pki_fixture.h"
#include "store_test_util.h" /* before dir.h: its locals named dir */
#include "envelope.h"
#include "ledger.h"
#include "model_pack.h"
#include "mvact.h"
#include "mvrule.h"
#include "node_int.h"
#include "store_local.h"
#include "store_mv.h"
#include "../tests/node_fixture.h"

static int setup(void **state)
{
    (void)state;
    return node_fixture_setup("node_local_test", NULL);
}

/* rail forwards to SH; term (a terminal's status feed) wants the status
 * of its messages and anticipated arrivals back. */
#define CONNECTORS                                                         \
    "connectors:\n"                                                        \
    "  - {name: rail, type: http, forward: [SH]}\n"                        \
    "  - {name: term, type: http, out: dir, out_dir: /tmp/nl-out,\n"       \
    "     out_events: [message_status, anticipated_arrival]}\n"            \
    "ledger: {national: NC}\n"

typedef node_fixture_fx fx;

/* ---- what the connectors store ---- */

static void raw_del(fx *f, const char *what, const char *id)
{
    redisContext *c = stu_raw();
    redisReply *r = redisCommand(c, "DEL %sv1:%s:%s", f->prefix, what, id);
    assert_non_null(r);
    freeReplyObject(r);
    redisFree(c);
}

/* ---- what the node stored ---- */

typedef node_fixture_lout lout_got;

static lout_got lout_of(fx *f, const char *conn)
{
    return node_fixture_lout_of(f->n, &f->a, conn);
}

static int64_t outbox(fx *f, const char *peer)
{
    return stu_outbox_count(node_store(f->n), peer);
}

/* ---- tests ---- */

static model_record *waybill(fx *f, const char *no)
{
    model_record *r = model_record_new(&f->a);
    r->kind = "waybill";
    r->document.type = "rail_waybill";
    r->document.number = arena_strdup(&f->a, no);
    return r;
}

/* Forwarded once under the derived id, also when dispatched again after
 * a crash, with every receipt home meanwhile. */
static void test_forward_once(void **state)
{
    (void)state;
    fx f;
    node_fixture_fx_open(&f, "l1:", CONNECTORS);
    char id[MSGID_LEN + 1], id2[MSGID_LEN + 1];
    const void *rec, *rec2;
    size_t n, n2;
    node_fixture_accept(f.n, &f.a, "rail", waybill(&f, "CQ1"), id, &rec, &n);
    node_fixture_accept(f.n, &f.a, "rail", waybill(&f, "CQ2"), id2, &rec2,
                        &n2);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 2);
    assert_int_equal(outbox(&f, "SH"), 2);
    assert_int_equal(outbox(&f, "SN"), 0);
    node_fixture_msg m = node_fixture_msg_of(f.n, id);
    assert_string_equal(m.status, "forwarded");
    assert_string_equal(m.dests, "SH");
    assert_int_equal(strlen(m.fwd), MSGID_LEN);
    assert_string_not_equal(m.fwd, id);
    /* nothing left */
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 0);
    /* the crash: back in v1:local, receipts home (sent:<fwd> gone) */
    raw_del(&f, "sent", m.fwd);
    node_fixture_undispatched(f.prefix, id, "rail", rec, n);
    node_close(f.n);
    f.n = node_fixture_open(&g_pki, g_url, f.prefix, CONNECTORS);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 1);
    assert_int_equal(outbox(&f, "SH"), 2);
    /* and once more with Redis's scripts lost (restarted): reloaded */
    redisContext *c = stu_raw();
    freeReplyObject(redisCommand(c, "SCRIPT FLUSH"));
    redisFree(c);
    node_fixture_undispatched(f.prefix, id, "rail", rec, n);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 1);
    assert_int_equal(outbox(&f, "SH"), 2);
    node_fixture_msg again = node_fixture_msg_of(f.n, id);
    assert_string_equal(again.status, "forwarded");
    assert_string_equal(again.fwd, m.fwd);
    assert_string_not_equal(node_fixture_msg_of(f.n, id2).fwd, m.fwd);
    node_fixture_fx_close(&f);
}

/* CQ declares a movement CQ > SH with container ctr: open here. */
static void cq_movement(fx *f, const char *ctr, char ref[MVREF_LEN + 1])
{
    mv_event d = {.kind = "rail_transit", .ndocs = 1, .nctrs = 1,
                  .pkgs = 10, .declarant = "Trade Co", .nitin = 2};
    d.docs[0] = (mv_doc){"CIM", "RW-L2"};
    d.ctrs[0] = (mv_ctr){ctr, {"CQ778899"}, 1};
    d.itin[0] = "CQ", d.itin[1] = "SH";
    char id[MSGID_LEN + 1], winner[32];
    err_t e = {0};
    if (mvact_declare(f->n, &d, ref, id, winner, &e) != 0)
        fail_msg("mvact_declare: %s", e.msg);
    f->clock += 1000000;
    assert_int_equal(node_ledger_drain(f->n, f->clock), 1);
}

static model_record *gate_in(fx *f, const char *ctr)
{
    model_record *r = model_record_new(&f->a);
    r->kind = "status";
    r->status.event = "gate_in";
    r->status.place = "CNCKG";
    r->status.equipment = arena_strdup(&f->a, ctr);
    return r;
}

/* A status record attached to the open movement of its container, once
 * across a re-dispatch; one about no movement is dispatched with why. */
static void test_status_attach(void **state)
{
    (void)state;
    fx f;
    node_fixture_fx_open(&f, "l2:", CONNECTORS);
    char ref[MVREF_LEN + 1], id[MSGID_LEN + 1], stray[MSGID_LEN + 1];
    const void *rec, *p;
    size_t n, pn;
    cq_movement(&f, "MSCU1234565", ref);
    node_fixture_accept(f.n, &f.a, "term", gate_in(&f, "MSCU1234565"), id,
                        &rec, &n);
    node_fixture_accept(f.n, &f.a, "term", gate_in(&f, "TGHU7654321"), stray,
                        &p, &pn);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 2);
    assert_int_equal(node_fixture_own_events(f.n, &f.a, MV_STATUS), 1);
    node_fixture_msg m = node_fixture_msg_of(f.n, id);
    assert_string_equal(m.status, "attached");
    assert_string_equal(m.refs, ref);
    node_fixture_msg s = node_fixture_msg_of(f.n, stray);
    assert_string_equal(s.status, "dispatched");
    assert_non_null(strstr(s.detail, "no open movement"));
    /* a crash, before or after the ledger applied the first */
    node_fixture_undispatched(f.prefix, id, "term", rec, n);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 1);
    assert_int_equal(node_fixture_own_events(f.n, &f.a, MV_STATUS), 1);
    f.clock += 1000000;
    assert_int_equal(node_ledger_drain(f.n, f.clock), 1);
    node_fixture_undispatched(f.prefix, id, "term", rec, n);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 1);
    assert_int_equal(node_fixture_own_events(f.n, &f.a, MV_STATUS), 1);
    mv_state st = node_fixture_state(f.n, ref, &f.a);
    assert_int_equal(st.nevents, 2); /* declared, one status */
    assert_string_equal(node_fixture_msg_of(f.n, id).refs, ref);
    node_fixture_fx_close(&f);
}

/* An unreadable record is refused; its connector's local system hears
 * so once (message_status), however often it is dispatched. */
static void test_message_status(void **state)
{
    (void)state;
    fx f;
    node_fixture_fx_open(&f, "l3:", CONNECTORS);
    char id[MSGID_LEN + 1];
    err_t e;
    int dup = 0;
    static const char junk[] = "\xc1 not msgpack";
    assert_int_equal(msgid_new(id, &e), 0);
    store_local_rec lr = {id, "term", "cl", "status", "", junk,
                          sizeof junk - 1};
    assert_int_equal(store_local_accept(node_store(f.n), &lr, 1, &dup, &e),
                     0);
    assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 1);
    node_fixture_msg m = node_fixture_msg_of(f.n, id);
    assert_string_equal(m.status, "refused");
    assert_non_null(strstr(m.detail, "unreadable"));
    for (int i = 0; i < 2; i++) {
        lout_got g = lout_of(&f, "term");
        assert_int_equal(g.n, 1);
        assert_string_equal(g.ev[0], "message_status");
        assert_string_equal(g.r[0]->kind, "response");
        assert_string_equal(g.r[0]->customs.reference, id);
        assert_string_equal(g.r[0]->customs.status, "refused");
        node_fixture_undispatched(f.prefix, id, "term", junk, sizeof junk - 1);
        assert_int_equal(node_fixture_dispatch(f.n, &f.clock), 1);
    }
    assert_int_equal(lout_of(&f, "rail").n, 0);
    node_fixture_fx_close(&f);
}

/* SN declares and releases SN > CQ: CQ's terminal hears of the goods
 * coming once, across a replay of the ledger's batch. */
static void test_notify_once(void **state)
{
    (void)state;
    fx f;
    node_fixture_fx_open(&f, "l4:", CONNECTORS);
    err_t e;
    char ref[MVREF_LEN + 1], decl[MSGID_LEN + 1];
    assert_int_equal(mvref_make(26, "SN", 11, ref, &e), 0);
    mv_event d = {.kind = "rail_transit", .ndocs = 1, .nctrs = 1, .pkgs = 10,
                  .declarant = "Trade Co", .nitin = 2, .type = MV_DECLARED,
                  .ref = ref, .limit_ms = 3600000};
    d.docs[0] = (mv_doc){"CIM", "RW-L4"};
    d.ctrs[0] = (mv_ctr){"OOLU1234568", {"SN1"}, 1};
    d.itin[0] = "SN", d.itin[1] = "CQ";
    buf_t pl;
    buf_init(&pl, 1 << 20);
    static const unsigned char digest[STORE_DIGEST_LEN] = {1};
    for (int i = 0; i < 2; i++) {
        mv_event ev = d;
        if (i)
            ev.type = MV_RELEASED, ev.prev = decl,
            ev.limit_ms = (uint64_t)node__now_ms() + 3600000;
        ev.version = MVEV_VERSION, ev.by = "SN";
        ev.at_ms = (uint64_t)node__now_ms();
        buf_reset(&pl);
        assert_int_equal(mv_event_encode(&ev, &pl, &e), 0);
        size_t n;
        char mid[MSGID_LEN + 1];
        const void *fr = node_fixture_frame(&f.a, MVEV_ENV_TYPE, "SN", ref,
                                            &pl, &n, mid);
        store_effect x = {.msg_id = mid, .origin = "SN", .digest = digest,
                          .frame = fr, .frame_n = n, .seen_ttl_ms = 60000,
                          .ledger = 1};
        node_fixture_link(f.n, "SN", &f.link, &x);
        if (!i)
            memcpy(decl, mid, sizeof decl);
    }
    buf_free(&pl);
    f.clock += 1000000;
    assert_int_equal(node_ledger_drain(f.n, f.clock), 2);
    lout_got g = lout_of(&f, "term");
    assert_int_equal(g.n, 1);
    assert_string_equal(g.ev[0], "anticipated_arrival");
    assert_string_equal(g.r[0]->kind, "status");
    assert_string_equal(g.r[0]->status.event, "anticipated_arrival");
    assert_string_equal(g.r[0]->customs.reference, ref);
    assert_int_equal(g.r[0]->equipment.n, 1);
    assert_string_equal(g.r[0]->equipment.v[0].number, "OOLU1234568");
    assert_int_equal(g.r[0]->equipment.v[0].seals.n, 1);
    store_pos zero = {0, 0}; /* the crash: the batch again, duplicates */
    assert_int_equal(store_ledger_pos_set(node_store(f.n), zero, &e), 0);
    node_close(f.n);
    f.n = node_fixture_open(&g_pki, g_url, f.prefix, CONNECTORS);
    f.clock += 1000000;
    assert_int_equal(node_ledger_drain(f.n, f.clock), 2);
    assert_int_equal(lout_of(&f, "term").n, 1);
    assert_int_equal(lout_of(&f, "rail").n, 0);
    node_fixture_fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_once),
        cmocka_unit_test(test_status_attach),
        cmocka_unit_test(test_message_status),
        cmocka_unit_test(test_notify_once),
    };
    return cmocka_run_group_tests(tests, setup, node_fixture_teardown);
}
