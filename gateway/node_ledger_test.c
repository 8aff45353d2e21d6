/* Unit tests for the steps eportd takes by itself (node_ledger.c,
 * node_ledger_auto.c), each exactly once across crashes. A real node
 * (CQ, peers SN, SH and NC the national center) opened offline on a
 * private redis-server, its ledger run by hand (node_ledger_drain,
 * node_ledger_tick); a crash is the node closed with its ledger position
 * set back, as when eportd dies after applying a batch but before saving
 * the position (and before the batch's automatic steps):
 *   - ledger.auto arrival: the trigger (SN's release, CQ the
 *     destination) applied with no step taken, then replayed with
 *     ledger.auto on: the arrival is submitted once, under the id derived
 *     for it; replayed again (now applied), and again: still once;
 *     decided again while submitted but not applied: not sent again;
 *   - the gate's automatic release decided again after a restart, before
 *     the first release is applied: one release;
 *   - a movement that lost its claim: one `rejected` (and one alert)
 *     however often the gate looks before it is applied.
 * Other regions' events are written as the link script writes them, with
 * dummy signatures: nothing here checks signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../tests/pki_fixture.h"
#include "store_test_util.h" /* before dir.h: its locals named dir */
#include "envelope.h"
#include "ledger.h"
#include "mvact.h"
#include "mvrule.h"
#include "node_int.h"
#include "node_ledger_int.h"
#include "store_mv.h"
#include "../tests/node_fixture.h"

static int setup(void **state)
{
    (void)state;
    return node_fixture_setup("node_ledger_test", NULL);
}

/* ---- the node ---- */

typedef struct fx {
    node *n;
    arena_t a;
    const char *prefix;
    int64_t clock;          /* for node_ledger_drain's poll pacing */
    uint64_t link[2];       /* link positions of SN SH */
} fx;

/* The node on prefix with ledger.auto steps ("" none): opening it again
 * on the same prefix is eportd restarted. */
static void fx_start(fx *f, const char *steps)
{
    char extra[200];
    snprintf(extra, sizeof extra, "ledger: {national: NC, auto: [%s]}\n",
             steps);
    f->n = node_fixture_open(&g_pki, g_url, f->prefix, extra);
}

static void fx_open(fx *f, const char *prefix, const char *steps)
{
    if (!g_url[0])
        skip();
    memset(f, 0, sizeof *f);
    f->prefix = prefix;
    arena_init(&f->a, 16u << 20);
    fx_start(f, steps);
}

static void fx_close(fx *f)
{
    arena_free(&f->a);
    node_close(f->n);
}

/* eportd died after applying what it read, before saving its position:
 * the position goes back to the start of v1:mvin and the node restarts. */
static void crash(fx *f, const char *steps)
{
    err_t e;
    store_pos zero = {0, 0};
    assert_int_equal(store_ledger_pos_set(node_store(f->n), zero, &e), 0);
    node_close(f->n);
    fx_start(f, steps);
}

static int drain(fx *f)
{
    return node_fixture_drain(f->n, &f->clock);
}

static mv_state state_of(fx *f, const char *ref)
{
    return node_fixture_state(f->n, ref, &f->a);
}

/* ---- v1:mvin ---- */

typedef struct in_count {
    fx *f;
    mv_type type;
    int n;
    char id[MSGID_LEN + 1];  /* the last one's */
} in_count;

static int in_one(void *ctx, store_pos pos, const char *id,
                  const char *origin, const void *frame, size_t n, err_t *e)
{
    in_count *c = ctx;
    env *v;
    mv_event ev;
    (void)pos, (void)id, (void)e;
    err_t de;
    if (!strcmp(origin, "CQ") &&
        ledger_decode(frame, n, &c->f->a, &v, &ev, &de) == 0 &&
        ev.type == c->type) {
        c->n++;
        memcpy(c->id, v->id, MSGID_LEN + 1);
    }
    return 0;
}

/* Events of type t CQ submitted (delivered to itself in v1:mvin). */
static int submitted(fx *f, mv_type t, char id[MSGID_LEN + 1])
{
    in_count c = {f, t, 0, ""};
    err_t e;
    store_pos zero = {0, 0};
    if (store_mvin_after(node_store(f->n), zero, 10000, in_one, &c, &e) < 0)
        fail_msg("store_mvin_after: %s", e.msg);
    if (id)
        memcpy(id, c.id, MSGID_LEN + 1);
    return c.n;
}

/* ---- what the link script writes ---- */

static void link_apply(fx *f, const char *peer, const store_effect *x)
{
    node_fixture_link(f->n, peer, &f->link[strcmp(peer, "SN") ? 1 : 0], x);
}

/* An envelope from origin to CQ with payload, stored as the link stores
 * it (with claim c, may be NULL); its id in id. */
static void from_peer(fx *f, const char *type, const char *origin,
                      const char *ref, const buf_t *payload,
                      const store_mv_claim *c, char id[MSGID_LEN + 1])
{
    static const unsigned char digest[STORE_DIGEST_LEN] = {1};
    char mid[MSGID_LEN + 1];
    size_t n;
    const void *fr = node_fixture_frame(&f->a, type, origin, ref, payload, &n,
                                        mid);
    store_effect x = {.msg_id = mid, .origin = origin, .digest = digest,
                      .frame = fr, .frame_n = n,
                      .seen_ttl_ms = 60000, .claim = c,
                      .ledger = 1};
    link_apply(f, origin, &x);
    if (id)
        memcpy(id, mid, MSGID_LEN + 1);
}

/* An mv event from origin (ref, at, by and version set here). */
static void mv_from_peer(fx *f, const char *origin, mv_event *ev,
                         const store_mv_claim *c, char id[MSGID_LEN + 1])
{
    buf_t p;
    err_t e;
    ev->version = MVEV_VERSION, ev->by = origin;
    ev->at_ms = (uint64_t)node__now_ms();
    buf_init(&p, 1 << 20);
    assert_int_equal(mv_event_encode(ev, &p, &e), 0);
    from_peer(f, MVEV_ENV_TYPE, origin, ev->ref, &p, c, id);
    buf_free(&p);
}

/* from's stored receipt of message id came home. */
static void receipt(fx *f, const char *id, const char *from)
{
    env_receipt r = {.version = ENV_RECEIPT_VERSION, .status = ENV_STORED,
                     .at_ms = 1};
    memcpy(r.id, id, MSGID_LEN + 1);
    buf_t p, fr;
    err_t e;
    buf_init(&p, ENV_RECEIPT_MAX);
    assert_int_equal(env_receipt_encode(&r, &p, &e), 0);
    static const unsigned char sig[ENV_ED25519_SIG];
    static const char *dest[] = {"CQ"};
    env v;
    buf_init(&fr, 1 << 20);
    assert_int_equal(env_init(&v, ENV_RECEIPT_TYPE, from, &f->a, &e), 0);
    v.dest = dest, v.ndest = 1;
    v.payload = (const unsigned char *)p.p, v.payload_len = p.len;
    v.sig = sig, v.sig_len = sizeof sig;
    assert_int_equal(env_encode_unchecked(&v, &fr, &e), 0);
    store_effect x = {.receipted_id = id, .receipt_from = from,
                      .rcpt = fr.p, .rcpt_n = fr.len};
    link_apply(f, from, &x);
    buf_free(&fr);
    buf_free(&p);
}

/* ---- movements ---- */

/* Container ctr, one document; itinerary set by the caller. */
static mv_event ev_data(const char *ctr, const char *doc)
{
    mv_event d = {.kind = "rail_transit", .ndocs = 1, .nctrs = 1,
                  .pkgs = 10, .declarant = "Trade Co"};
    d.docs[0] = (mv_doc){"CIM", doc};
    d.ctrs[0] = (mv_ctr){ctr, {"SN778899"}, 1};
    return d;
}

/* SN declares and releases movement ref SN > CQ (CQ the destination). */
static void sn_movement(fx *f, char ref[MVREF_LEN + 1])
{
    err_t e;
    char decl[MSGID_LEN + 1];
    assert_int_equal(mvref_make(26, "SN", 7, ref, &e), 0);
    mv_event d = ev_data("MSCU1234565", "RW-1");
    d.type = MV_DECLARED, d.ref = ref, d.nitin = 2;
    d.itin[0] = "SN", d.itin[1] = "CQ";
    d.limit_ms = 3600000;
    mv_from_peer(f, "SN", &d, NULL, decl);
    mv_event r = d;
    r.type = MV_RELEASED, r.prev = decl;
    r.limit_ms = (uint64_t)node__now_ms() + 3600000;
    mv_from_peer(f, "SN", &r, NULL, NULL);
}

/* ---- tests ---- */

/* The arrival of ledger.auto lost by a crash between its trigger and
 * itself is taken on the replay, once, however often it is replayed. */
static void test_auto_replay(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "b1:", "");
    char ref[MVREF_LEN + 1], id[MSGID_LEN + 1], want[MSGID_LEN + 1];
    sn_movement(&f, ref);
    assert_int_equal(drain(&f), 2); /* the trigger applied, no step */
    assert_int_equal(state_of(&f, ref).phase, MV_P_RELEASED);
    assert_int_equal(submitted(&f, MV_ARRIVED, NULL), 0);
    crash(&f, "arrival");
    assert_int_equal(drain(&f), 2); /* duplicates: the step now */
    assert_int_equal(submitted(&f, MV_ARRIVED, id), 1);
    mv_state s = state_of(&f, ref);
    err_t e;
    assert_int_equal(mvact_step_id(f.n, &s, MV_ARRIVED, want, &e), 0);
    assert_string_equal(id, want);
    /* decided again before it is applied (its trigger at the end of a
     * batch, the step in the next): the store's submit dedupes it */
    mv_event ev = {.type = MV_ARRIVED, .ref = ref, .pkgs = 10};
    assert_int_equal(nl_auto_once(f.n, &ev, &s, 0, 1), 1);
    assert_int_equal(submitted(&f, MV_ARRIVED, NULL), 1);
    crash(&f, "arrival");
    assert_int_equal(drain(&f), 3); /* the step applied with the rest */
    assert_int_equal(state_of(&f, ref).phase, MV_P_ARRIVED);
    assert_int_equal(submitted(&f, MV_ARRIVED, NULL), 1);
    crash(&f, "arrival");
    assert_int_equal(drain(&f), 3); /* all duplicates: arrived, no step */
    assert_int_equal(submitted(&f, MV_ARRIVED, NULL), 1);
    assert_int_equal(state_of(&f, ref).nevents, 3);
    fx_close(&f);
}

/* Declared here and settled: the gate releases (ledger.auto release);
 * eportd restarts before the release is applied and the gate, which
 * remembers nothing, settles it again: still one release. */
static void test_gate_release_once(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "b2:", "release");
    mv_event d = ev_data("TGHU7654321", "RW-2");
    d.nitin = 2, d.itin[0] = "CQ", d.itin[1] = "SH";
    char ref[MVREF_LEN + 1], id[MSGID_LEN + 1], winner[32];
    err_t e = {0};
    if (mvact_declare(f.n, &d, ref, id, winner, &e) != 0)
        fail_msg("mvact_declare: %s", e.msg);
    assert_int_equal(drain(&f), 1);
    receipt(&f, id, "SN");
    receipt(&f, id, "SH");
    node_ledger_tick(f.n, 1); /* woken by the declaration: released */
    assert_int_equal(submitted(&f, MV_RELEASED, NULL), 1);
    node_close(f.n);
    fx_start(&f, "release");
    node_ledger_drain(f.n, -1); /* opens the ledger, reads nothing */
    node_ledger_tick(f.n, node__now_ms() + 60000); /* the gate's scan */
    assert_int_equal(submitted(&f, MV_RELEASED, NULL), 1);
    assert_int_equal(drain(&f), 1);
    assert_int_equal(state_of(&f, ref).phase, MV_P_RELEASED);
    fx_close(&f);
}

typedef struct alerts {
    const char *kind;
    int n;
} alerts;

static int alert_one(void *ctx, const char *id, const char *kind,
                     const char *ref, const char *region, const char *msg,
                     int64_t at, err_t *e)
{
    alerts *a = ctx;
    (void)id, (void)ref, (void)region, (void)msg, (void)at, (void)e;
    a->n += !strcmp(kind, a->kind);
    return 0;
}

/* SH declared the container first: the gate rejects ours once, however
 * often it looks before the rejection is applied. */
static void test_gate_reject_once(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "b3:", "");
    mv_event d = ev_data("MSCU1234565", "RW-3");
    d.nitin = 2, d.itin[0] = "CQ", d.itin[1] = "SN";
    char ref[MVREF_LEN + 1], id[MSGID_LEN + 1], other[MVREF_LEN + 1];
    char winner[32];
    err_t e = {0};
    if (mvact_declare(f.n, &d, ref, id, winner, &e) != 0)
        fail_msg("mvact_declare: %s", e.msg);
    assert_int_equal(drain(&f), 1);
    mv_event o = ev_data("MSCU1234565", "RW-SH");
    o.type = MV_DECLARED, o.nitin = 2, o.itin[0] = "SH", o.itin[1] = "SN";
    assert_int_equal(mvref_make(26, "SH", 9, other, &e), 0);
    o.ref = other;
    const char *keys[LEDGER_KEYS_MAX];
    store_mv_claim c = {.ref = other, .keys = keys, .add = 1,
                        .score = (int64_t)state_of(&f, ref).declared_ms - 1};
    assert_int_equal(ledger_keys(&o, &f.a, keys, &c.nkeys, &e), 0);
    mv_from_peer(&f, "SH", &o, &c, NULL);
    receipt(&f, id, "SN");
    receipt(&f, id, "SH");
    node_ledger_tick(f.n, 1);
    for (int i = 1; i <= 3; i++) /* scans, a restart between */
        node_ledger_tick(f.n, node__now_ms() + 60000 * i);
    assert_int_equal(submitted(&f, MV_REJECTED, NULL), 1);
    node_close(f.n);
    fx_start(&f, "");
    node_ledger_drain(f.n, -1);
    node_ledger_tick(f.n, node__now_ms() + 60000);
    assert_int_equal(submitted(&f, MV_REJECTED, NULL), 1);
    alerts al = {"double-declaration", 0};
    assert_true(store_alert_list(node_store(f.n), 100, alert_one, &al,
                                 &e) >= 0);
    assert_int_equal(al.n, 1);
    assert_int_equal(drain(&f), 2); /* SH's declaration, our rejection */
    assert_int_equal(state_of(&f, ref).phase, MV_P_REJECTED);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_replay),
        cmocka_unit_test(test_gate_release_once),
        cmocka_unit_test(test_gate_reject_once),
    };
    return cmocka_run_group_tests(tests, setup, node_fixture_teardown);
}
