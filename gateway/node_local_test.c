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

static test_pki g_pki;

static int setup(void **state)
{
    if (stu_group_setup(state) < 0)
        return -1;
    if (!g_url[0])
        return 0; /* every test skips */
    return node_fixture_pki(&g_pki, "node_local_test", NULL);
}

static int teardown(void **state)
{
    test_pki_free(&g_pki);
    return stu_group_teardown(state);
}

/* rail forwards to SH; term (a terminal's status feed) wants the status
 * of its messages and anticipated arrivals back. */
#define CONNECTORS                                                         \
    "connectors:\n"                                                        \
    "  - {name: rail, type: http, forward: [SH]}\n"                        \
    "  - {name: term, type: http, out: dir, out_dir: /tmp/nl-out,\n"       \
    "     out_events: [message_status, anticipated_arrival]}\n"            \
    "ledger: {national: NC}\n"

typedef struct fx {
    node *n;
    arena_t a;
    const char *prefix;
    int64_t clock;
    uint64_t link;          /* link position of SN */
} fx;

static void fx_open(fx *f, const char *prefix)
{
    if (!g_url[0])
        skip();
    memset(f, 0, sizeof *f);
    f->prefix = prefix;
    arena_init(&f->a, 16u << 20);
    f->n = node_fixture_open(&g_pki, g_url, prefix, CONNECTORS);
}

static void fx_close(fx *f)
{
    arena_free(&f->a);
    node_close(f->n);
}

/* One dispatch turn, past its poll pacing. */
static int dispatch(fx *f)
{
    f->clock += 1000000;
    return node_local_drain(f->n, f->clock);
}

/* ---- what the connectors store ---- */

/* A record of connector conn accepted as intake accepts it; its id in id
 * and its msgpack bytes in *p (arena). */
static void accept_rec(fx *f, const char *conn, const model_record *r,
                       char id[MSGID_LEN + 1], const void **p, size_t *n)
{
    buf_t b;
    err_t e;
    int dup = 0;
    buf_init(&b, 1 << 20);
    assert_int_equal(model_pack(r, &b, &e), 0);
    assert_int_equal(msgid_new(id, &e), 0);
    store_local_rec lr = {id, conn, "cl", r->kind, "", b.p, b.len};
    assert_int_equal(store_local_accept(node_store(f->n), &lr, 1, &dup, &e),
                     0);
    assert_int_equal(dup, 0);
    void *copy = arena_alloc(&f->a, b.len);
    memcpy(copy, b.p, b.len);
    *p = copy, *n = b.len;
    buf_free(&b);
}

static redisContext *raw(void)
{
    redisContext *c = redisConnect("127.0.0.1", atoi(strrchr(g_url, ':') + 1));
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    return c;
}

/* eportd died before the batch of id was marked dispatched: its entry is
 * in v1:local again, after the saved position. */
static void undispatched(fx *f, const char *id, const char *conn,
                         const void *rec, size_t n)
{
    redisContext *c = raw();
    redisReply *r = redisCommand(c, "XADD %sv1:local * v 1 id %s conn %s "
                                 "client cl r %b", f->prefix, id, conn, rec,
                                 n);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
    redisFree(c);
}

static void raw_del(fx *f, const char *what, const char *id)
{
    redisContext *c = raw();
    redisReply *r = redisCommand(c, "DEL %sv1:%s:%s", f->prefix, what, id);
    assert_non_null(r);
    freeReplyObject(r);
    redisFree(c);
}

/* ---- what the node stored ---- */

typedef struct msg_fields {
    char status[32], fwd[64], dests[64], refs[256], detail[256];
} msg_fields;

static int msg_one(void *ctx, const char *name, const char *value, err_t *e)
{
    msg_fields *m = ctx;
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

static msg_fields msg_of(fx *f, const char *id)
{
    msg_fields m;
    err_t e;
    memset(&m, 0, sizeof m);
    if (store_msg_get(node_store(f->n), id, msg_one, &m, &e) < 0)
        fail_msg("store_msg_get %s: %s", id, e.msg);
    return m;
}

typedef struct lout_got {
    arena_t *a;
    int n;
    char ev[4][32];
    model_record *r[4];
} lout_got;

static int lout_one(void *ctx, store_pos pos, const char *ev, const void *rec,
                    size_t len, err_t *e)
{
    lout_got *g = ctx;
    (void)pos;
    if (g->n < 4) {
        snprintf(g->ev[g->n], sizeof g->ev[0], "%s", ev);
        if (model_unpack(rec, len, g->a, &g->r[g->n], e) < 0)
            return -1;
    }
    g->n++;
    return 0;
}

static lout_got lout_of(fx *f, const char *conn)
{
    lout_got g = {.a = &f->a};
    err_t e;
    if (store_lout_next(node_store(f->n), conn, 100, lout_one, &g, &e) < 0)
        fail_msg("store_lout_next: %s", e.msg);
    return g;
}

/* Status events CQ submitted (its own, in v1:mvin). */
typedef struct mv_count {
    fx *f;
    int n;
} mv_count;

static int in_status(void *ctx, store_pos pos, const char *id,
                     const char *origin, const void *frame, size_t n,
                     err_t *e)
{
    mv_count *c = ctx;
    env *v;
    mv_event ev;
    err_t de;
    (void)pos, (void)id, (void)e;
    if (!strcmp(origin, "CQ") &&
        ledger_decode(frame, n, &c->f->a, &v, &ev, &de) == 0 &&
        ev.type == MV_STATUS)
        c->n++;
    return 0;
}

static int statuses(fx *f)
{
    err_t e;
    store_pos zero = {0, 0};
    mv_count c = {f, 0};
    if (store_mvin_after(node_store(f->n), zero, 10000, in_status, &c, &e) < 0)
        fail_msg("store_mvin_after: %s", e.msg);
    return c.n;
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
    fx_open(&f, "l1:");
    char id[MSGID_LEN + 1], id2[MSGID_LEN + 1];
    const void *rec, *rec2;
    size_t n, n2;
    accept_rec(&f, "rail", waybill(&f, "CQ1"), id, &rec, &n);
    accept_rec(&f, "rail", waybill(&f, "CQ2"), id2, &rec2, &n2);
    assert_int_equal(dispatch(&f), 2);
    assert_int_equal(outbox(&f, "SH"), 2);
    assert_int_equal(outbox(&f, "SN"), 0);
    msg_fields m = msg_of(&f, id);
    assert_string_equal(m.status, "forwarded");
    assert_string_equal(m.dests, "SH");
    assert_int_equal(strlen(m.fwd), MSGID_LEN);
    assert_string_not_equal(m.fwd, id);
    assert_int_equal(dispatch(&f), 0); /* nothing left */
    /* the crash: back in v1:local, receipts home (sent:<fwd> gone) */
    raw_del(&f, "sent", m.fwd);
    undispatched(&f, id, "rail", rec, n);
    node_close(f.n);
    f.n = node_fixture_open(&g_pki, g_url, f.prefix, CONNECTORS);
    assert_int_equal(dispatch(&f), 1);
    assert_int_equal(outbox(&f, "SH"), 2);
    /* and once more with Redis's scripts lost (restarted): reloaded */
    redisContext *c = raw();
    freeReplyObject(redisCommand(c, "SCRIPT FLUSH"));
    redisFree(c);
    undispatched(&f, id, "rail", rec, n);
    assert_int_equal(dispatch(&f), 1);
    assert_int_equal(outbox(&f, "SH"), 2);
    msg_fields again = msg_of(&f, id);
    assert_string_equal(again.status, "forwarded");
    assert_string_equal(again.fwd, m.fwd);
    assert_string_not_equal(msg_of(&f, id2).fwd, m.fwd);
    fx_close(&f);
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
    fx_open(&f, "l2:");
    char ref[MVREF_LEN + 1], id[MSGID_LEN + 1], stray[MSGID_LEN + 1];
    const void *rec, *p;
    size_t n, pn;
    cq_movement(&f, "MSCU1234565", ref);
    accept_rec(&f, "term", gate_in(&f, "MSCU1234565"), id, &rec, &n);
    accept_rec(&f, "term", gate_in(&f, "TGHU7654321"), stray, &p, &pn);
    assert_int_equal(dispatch(&f), 2);
    assert_int_equal(statuses(&f), 1);
    msg_fields m = msg_of(&f, id);
    assert_string_equal(m.status, "attached");
    assert_string_equal(m.refs, ref);
    msg_fields s = msg_of(&f, stray);
    assert_string_equal(s.status, "dispatched");
    assert_non_null(strstr(s.detail, "no open movement"));
    undispatched(&f, id, "term", rec, n); /* a crash, before or after the */
    assert_int_equal(dispatch(&f), 1);    /* ledger applied the first */
    assert_int_equal(statuses(&f), 1);
    f.clock += 1000000;
    assert_int_equal(node_ledger_drain(f.n, f.clock), 1);
    undispatched(&f, id, "term", rec, n);
    assert_int_equal(dispatch(&f), 1);
    assert_int_equal(statuses(&f), 1);
    mv_state st = node_fixture_state(f.n, ref, &f.a);
    assert_int_equal(st.nevents, 2); /* declared, one status */
    assert_string_equal(msg_of(&f, id).refs, ref);
    fx_close(&f);
}

/* An unreadable record is refused; its connector's local system hears
 * so once (message_status), however often it is dispatched. */
static void test_message_status(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "l3:");
    char id[MSGID_LEN + 1];
    err_t e;
    int dup = 0;
    static const char junk[] = "\xc1 not msgpack";
    assert_int_equal(msgid_new(id, &e), 0);
    store_local_rec lr = {id, "term", "cl", "status", "", junk,
                          sizeof junk - 1};
    assert_int_equal(store_local_accept(node_store(f.n), &lr, 1, &dup, &e),
                     0);
    assert_int_equal(dispatch(&f), 1);
    msg_fields m = msg_of(&f, id);
    assert_string_equal(m.status, "refused");
    assert_non_null(strstr(m.detail, "unreadable"));
    for (int i = 0; i < 2; i++) {
        lout_got g = lout_of(&f, "term");
        assert_int_equal(g.n, 1);
        assert_string_equal(g.ev[0], "message_status");
        assert_string_equal(g.r[0]->kind, "response");
        assert_string_equal(g.r[0]->customs.reference, id);
        assert_string_equal(g.r[0]->customs.status, "refused");
        undispatched(&f, id, "term", junk, sizeof junk - 1);
        assert_int_equal(dispatch(&f), 1);
    }
    assert_int_equal(lout_of(&f, "rail").n, 0);
    fx_close(&f);
}

/* SN declares and releases SN > CQ: CQ's terminal hears of the goods
 * coming once, across a replay of the ledger's batch. */
static void test_notify_once(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "l4:");
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
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_once),
        cmocka_unit_test(test_status_attach),
        cmocka_unit_test(test_message_status),
        cmocka_unit_test(test_notify_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
