/* Unit tests for the events a node authors (mvact.c), with a real node
 * opened offline (a PKI made by deploy/pki, a private redis-server) and
 * its own ledger applying what it submits (node_ledger_drain):
 *   - the audience: the members are the peers and route destinations,
 *     never the national center;
 *   - the claim gate: waiting while members' receipts of the declaration
 *     are missing (named; a refusal receipt does not count), settled when
 *     every one is in, lost when another movement is first in a claim
 *     zset (the winner named) but only once every receipt is in, and the
 *     equal-time tie-break by reference;
 *   - release refused before settlement (ERR_PHASE, the gate's words) or
 *     after a lost claim (ERR_CONFLICT), accepted once settled;
 *   - eportd's gate tick rejecting a movement that lost;
 *   - a declaration of a claimed container refused (ERR_CONFLICT naming
 *     the movement that holds it);
 *   - an amendment adding a region refused at once (docs/clearance.md:
 *     amendments never add a region), one dropping a region accepted.
 * Receipts and other regions' declarations are written the way the link
 * script writes them (store_link_apply), with envelopes whose signature
 * is a dummy: nothing here checks signatures. The node is CQ, with peers
 * SN, SH and NC (the national center, region CN) and SC behind SN. */
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
#include "store_mv.h"
#include "../tests/node_fixture.h"

static int setup(void **state)
{
    (void)state;
    return node_fixture_setup("mvact_test", "SC");
}

/* ---- the node ---- */

typedef struct fx {
    node *n;
    arena_t a;
    int64_t clock;          /* for node_ledger_drain's poll pacing */
    uint64_t link[4];       /* link positions of SN SH SC NC */
} fx;

static void fx_open(fx *f, const char *prefix)
{
    if (!g_url[0])
        skip();
    memset(f, 0, sizeof *f);
    f->n = node_fixture_open(&g_pki, g_url, prefix,
                             "routes: {SC: SN}\nledger: {national: NC}\n");
    arena_init(&f->a, 16u << 20);
}

static void fx_close(fx *f)
{
    arena_free(&f->a);
    node_close(f->n);
}

static int drain(fx *f)
{
    return node_fixture_drain(f->n, &f->clock);
}

static mv_state state_of(fx *f, const char *ref)
{
    return node_fixture_state(f->n, ref, &f->a);
}

/* ---- movements ---- */

/* Container ctr, one document, itinerary CQ > SN > SH. */
static mv_event ev_decl(const char *ctr, const char *doc)
{
    mv_event d = {.kind = "rail_transit", .nitin = 3, .ndocs = 1,
                  .nctrs = 1, .pkgs = 10, .declarant = "Chongqing Trade"};
    d.itin[0] = "CQ", d.itin[1] = "SN", d.itin[2] = "SH";
    d.docs[0] = (mv_doc){"CIM", doc};
    d.ctrs[0] = (mv_ctr){ctr, {"CQ778899"}, 1};
    return d;
}

/* Declared and applied here: ref and the declaration's id. */
static void declare(fx *f, mv_event *d, char ref[MVREF_LEN + 1],
                    char id[MSGID_LEN + 1])
{
    char winner[32];
    err_t e = {0};
    if (mvact_declare(f->n, d, ref, id, winner, &e) != 0)
        fail_msg("mvact_declare: %s", e.msg);
    assert_int_equal(drain(f), 1);
    assert_int_equal(state_of(f, ref).phase, MV_P_DECLARED);
}

/* ---- what the link script writes ---- */

static const void *frame_of(fx *f, const char *type, const char *origin,
                            const char *ref, const buf_t *payload,
                            size_t *n, char id[MSGID_LEN + 1])
{
    return node_fixture_frame(&f->a, type, origin, ref, payload, n, id);
}

static void link_apply(fx *f, const char *peer, const store_effect *x)
{
    static const char *const peers[] = {"SN", "SH", "SC", "NC"};
    int k = 0;
    while (strcmp(peers[k], peer))
        k++;
    node_fixture_link(f->n, peer, &f->link[k], x);
}

/* from's receipt of message id came home (from SC: over SN). */
static void receipt(fx *f, const char *id, const char *from, env_status st)
{
    env_receipt r = {.version = ENV_RECEIPT_VERSION, .status = st,
                     .reason = st == ENV_REFUSED ? "refused: test" : NULL,
                     .at_ms = 1};
    memcpy(r.id, id, MSGID_LEN + 1);
    buf_t p;
    err_t e;
    buf_init(&p, ENV_RECEIPT_MAX);
    assert_int_equal(env_receipt_encode(&r, &p, &e), 0);
    size_t n;
    const void *frame = frame_of(f, ENV_RECEIPT_TYPE, from, NULL, &p, &n,
                                 NULL);
    store_effect x = {.receipted_id = id, .receipt_from = from,
                      .rcpt = frame, .rcpt_n = n};
    link_apply(f, strcmp(from, "SC") ? from : "SN", &x);
    buf_free(&p);
}

static void all_receipts(fx *f, const char *id)
{
    receipt(f, id, "SN", ENV_STORED);
    receipt(f, id, "SH", ENV_DUPLICATE); /* stored before: counts */
    receipt(f, id, "SC", ENV_STORED);
}

/* SH's declaration of ref (container ctr, declared at ms) stored here
 * as the link script stores it: with its claim. SH > SN: CQ is a member
 * off its itinerary, so its ledger skips it. */
static void foreign_decl(fx *f, const char *ref, const char *ctr,
                         int64_t at_ms)
{
    mv_event d = ev_decl(ctr, "RW-SH");
    d.version = MVEV_VERSION, d.type = MV_DECLARED, d.ref = ref;
    d.at_ms = (uint64_t)at_ms, d.by = "SH", d.nitin = 2;
    d.itin[0] = "SH", d.itin[1] = "SN";
    buf_t p;
    err_t e;
    buf_init(&p, 1 << 20);
    assert_int_equal(mv_event_encode(&d, &p, &e), 0);
    size_t n;
    char id[MSGID_LEN + 1];
    const void *frame = frame_of(f, MVEV_ENV_TYPE, "SH", ref, &p, &n, id);
    const char *keys[LEDGER_KEYS_MAX];
    store_mv_claim c = {.ref = ref, .score = at_ms, .keys = keys, .add = 1};
    assert_int_equal(ledger_keys(&d, &f->a, keys, &c.nkeys, &e), 0);
    static const unsigned char digest[STORE_DIGEST_LEN] = {1};
    store_effect x = {.msg_id = id, .origin = "SH", .digest = digest,
                      .frame = frame, .frame_n = n, .seen_ttl_ms = 60000,
                      .ledger = 1, .claim = &c};
    link_apply(f, "SH", &x);
    buf_free(&p);
}

/* mvact_gate on the stored state: its result, why and winner. */
static int gate(fx *f, const char *ref, buf_t *why, char winner[32])
{
    mv_state s = state_of(f, ref);
    err_t e = {0};
    buf_reset(why);
    int rc = mvact_gate(f->n, ref, &s, why, winner, &e);
    if (rc < 0)
        fail_msg("mvact_gate: %s", e.msg);
    return rc;
}

static int release(fx *f, const char *ref, err_t *e)
{
    mv_event ev = {.type = MV_RELEASED, .ref = ref};
    char id[MSGID_LEN + 1];
    return mvact_submit(f->n, &ev, id, e);
}

static const char *why_s(const buf_t *why)
{
    return why->p ? why->p : "";
}

/* ---- tests ---- */

static void test_members(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "a1:");
    const char *ids[MVACT_AUDIENCE_MAX];
    size_t n = mvact_members(f.n, ids, MVACT_AUDIENCE_MAX);
    assert_int_equal(n, 3);
    assert_string_equal(ids[0], "SN");
    assert_string_equal(ids[1], "SH");
    assert_string_equal(ids[2], "SC"); /* a route destination */
    assert_int_equal(mvact_members(f.n, ids, 2), 2); /* cap kept */
    fx_close(&f);
}

/* Missing receipts are named; a refusal receipt does not count. */
static void test_gate_waiting(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "a2:");
    mv_event d = ev_decl("MSCU1234565", "RW-1");
    char ref[MVREF_LEN + 1], id[MSGID_LEN + 1], winner[32];
    declare(&f, &d, ref, id);
    buf_t why;
    buf_init(&why, 4096);
    assert_int_equal(gate(&f, ref, &why, winner), 0);
    assert_string_equal(why_s(&why),
                        "claim not settled: waiting for receipts from SN, "
                        "SH, SC");
    assert_string_equal(winner, "");
    err_t e = {0};
    assert_int_equal(release(&f, ref, &e), ERR_PHASE);
    assert_non_null(strstr(e.msg, "released refused: claim not settled: "
                                  "waiting for receipts from SN, SH, SC"));
    receipt(&f, id, "SN", ENV_STORED);
    receipt(&f, id, "SC", ENV_REFUSED);
    assert_int_equal(gate(&f, ref, &why, winner), 0);
    assert_string_equal(why_s(&why), "claim not settled: waiting for "
                                     "receipts from SH, SC");
    assert_int_equal(drain(&f), 0); /* nothing was submitted */
    assert_int_equal(state_of(&f, ref).phase, MV_P_DECLARED);
    buf_free(&why);
    fx_close(&f);
}

/* Every member's receipt in, no other claim: settled, released. */
static void test_gate_settled(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "a3:");
    mv_event d = ev_decl("MSCU1234565", "RW-1");
    char ref[MVREF_LEN + 1], id[MSGID_LEN + 1], winner[32];
    declare(&f, &d, ref, id);
    all_receipts(&f, id);
    buf_t why;
    buf_init(&why, 4096);
    assert_int_equal(gate(&f, ref, &why, winner), 1);
    assert_string_equal(why_s(&why), "");
    err_t e = {0};
    if (release(&f, ref, &e) != 0)
        fail_msg("release: %s", e.msg);
    assert_int_equal(drain(&f), 1);
    mv_state s = state_of(&f, ref);
    assert_int_equal(s.phase, MV_P_RELEASED);
    assert_true(s.data.limit_ms > s.released_ms); /* made absolute */
    buf_free(&why);
    fx_close(&f);
}

/* SH declared the same container earlier: not lost while receipts are
 * missing (a claim ahead may still be withdrawn), lost once they are
 * in; release then refused as a conflict, and the gate tick rejects the
 * movement naming the winner. */
static void test_gate_lost(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "a4:");
    mv_event d = ev_decl("MSCU1234565", "RW-1");
    char ref[MVREF_LEN + 1], id[MSGID_LEN + 1], other[MVREF_LEN + 1];
    char winner[32];
    err_t e = {0};
    declare(&f, &d, ref, id);
    assert_int_equal(mvref_make(26, "SH", 9, other, &e), 0);
    foreign_decl(&f, other, "MSCU1234565",
                 (int64_t)state_of(&f, ref).declared_ms - 1000);
    assert_int_equal(drain(&f), 1); /* read, skipped: off its itinerary */
    buf_t why;
    buf_init(&why, 4096);
    assert_int_equal(gate(&f, ref, &why, winner), 0);
    assert_string_equal(winner, "");
    assert_null(strstr(why_s(&why), "lost"));
    all_receipts(&f, id);
    assert_int_equal(gate(&f, ref, &why, winner), 2);
    assert_string_equal(winner, other);
    assert_non_null(strstr(why_s(&why), "claim c:MSCU1234565 lost to "
                                        "movement"));
    assert_non_null(strstr(why_s(&why), other));
    assert_int_equal(release(&f, ref, &e), ERR_CONFLICT);
    assert_non_null(strstr(e.msg, other));
    node_ledger_tick(f.n, 1);
    assert_int_equal(drain(&f), 1);
    mv_state s = state_of(&f, ref);
    assert_int_equal(s.phase, MV_P_REJECTED);
    assert_string_equal(s.winner, other);
    buf_free(&why);
    fx_close(&f);
}

/* Declared at the same ms: the reference that sorts first wins
 * (26CQ... before 26SH...), everywhere the same. */
static void test_gate_tie_break(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "a5:");
    mv_event d = ev_decl("MSCU1234565", "RW-1");
    char ref[MVREF_LEN + 1], id[MSGID_LEN + 1], other[MVREF_LEN + 1];
    char winner[32];
    err_t e = {0};
    declare(&f, &d, ref, id);
    int64_t at = (int64_t)state_of(&f, ref).declared_ms;
    assert_int_equal(mvref_make(26, "SH", 9, other, &e), 0);
    foreign_decl(&f, other, "MSCU1234565", at);
    all_receipts(&f, id);
    buf_t why;
    buf_init(&why, 4096);
    assert_int_equal(gate(&f, ref, &why, winner), 1);
    /* and with the other a ms earlier, it is the other's */
    assert_int_equal(mvref_make(26, "SH", 10, other, &e), 0);
    foreign_decl(&f, other, "MSCU1234565", at - 1);
    assert_int_equal(gate(&f, ref, &why, winner), 2);
    assert_string_equal(winner, other);
    buf_free(&why);
    fx_close(&f);
}

/* The gate in halves (eportd's tick): the declaration's id, missing
 * receipts counted, then the claims alone; a release on the caller's
 * state, gated, submitted without a second look. */
static void test_gate_halves(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "a8:");
    mv_event d = ev_decl("MSCU1234565", "RW-1");
    char ref[MVREF_LEN + 1], id[MSGID_LEN + 1], got[MSGID_LEN + 1];
    char other[MVREF_LEN + 1], winner[32];
    err_t e = {0};
    declare(&f, &d, ref, id);
    assert_int_equal(mvact_decl_id(f.n, ref, got, &e), 0);
    assert_string_equal(got, id);
    assert_int_equal(mvact_decl_id(f.n, "26CQ00000000000ZZZ", got, &e),
                     ERR_NOTFOUND);
    assert_int_equal(mvact_unreceipted(f.n, id, &e), 3);
    receipt(&f, id, "SN", ENV_STORED);
    assert_int_equal(mvact_unreceipted(f.n, id, &e), 2);
    all_receipts(&f, id);
    assert_int_equal(mvact_unreceipted(f.n, id, &e), 0);
    buf_t why;
    buf_init(&why, 4096);
    mv_state s = state_of(&f, ref);
    assert_int_equal(mvact_gate_claims(f.n, ref, &s, &why, winner, &e), 1);
    assert_int_equal(mvref_make(26, "SH", 9, other, &e), 0);
    foreign_decl(&f, other, "MSCU1234565", (int64_t)s.declared_ms - 1);
    assert_int_equal(mvact_gate_claims(f.n, ref, &s, &why, winner, &e), 2);
    assert_string_equal(winner, other);
    /* gated: the caller vouches for the gate (here it would say lost) */
    mv_event rel = {.type = MV_RELEASED, .ref = ref};
    if (mvact_submit_on(f.n, &rel, &s, 1, got, &e) != 0)
        fail_msg("mvact_submit_on: %s", e.msg);
    assert_int_equal(drain(&f), 2); /* the foreign declaration, ours */
    mv_state r = state_of(&f, ref);
    assert_int_equal(r.phase, MV_P_RELEASED);
    assert_true(r.data.limit_ms > r.released_ms);
    rel = (mv_event){.type = MV_RELEASED, .ref = ref}; /* exactly one */
    assert_int_equal(mvact_submit_on(f.n, &rel, &r, 1, got, &e), ERR_PHASE);
    buf_free(&why);
    fx_close(&f);
}

/* A container already claimed: refused at the source, naming the
 * movement that holds it; nothing submitted. */
static void test_declare_conflict(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "a6:");
    mv_event d = ev_decl("MSCU1234565", "RW-1");
    char ref[MVREF_LEN + 1], id[MSGID_LEN + 1], ref2[MVREF_LEN + 1];
    char winner[32];
    declare(&f, &d, ref, id);
    mv_event d2 = ev_decl("MSCU1234565", "RW-2");
    err_t e = {0};
    assert_int_equal(mvact_declare(f.n, &d2, ref2, id, winner, &e),
                     ERR_CONFLICT);
    assert_string_equal(winner, ref);
    assert_non_null(strstr(e.msg, "MSCU1234565"));
    assert_non_null(strstr(e.msg, ref));
    assert_int_equal(drain(&f), 0);
    /* a document counts as much as a container */
    mv_event d3 = ev_decl("TGHU7654321", "RW-1");
    assert_int_equal(mvact_declare(f.n, &d3, ref2, id, winner, &e),
                     ERR_CONFLICT);
    assert_string_equal(winner, ref);
    assert_non_null(strstr(e.msg, "RW-1"));
    fx_close(&f);
}

/* docs/clearance.md: an amendment never adds a region (one that skipped
 * the declaration would park every later event): dropping SN is
 * accepted, taking it back on is not (SN hears nothing more after the
 * amendment that dropped it). */
static void test_amend_regions(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "a7:");
    mv_event d = ev_decl("MSCU1234565", "RW-1");
    char ref[MVREF_LEN + 1], id[MSGID_LEN + 1];
    declare(&f, &d, ref, id);
    mv_event am = ev_decl("MSCU1234565", "RW-1");
    am.type = MV_AMENDED, am.ref = ref, am.pkgs = 12;
    am.nitin = 2, am.itin[1] = "SH";
    err_t e = {0};
    if (mvact_submit(f.n, &am, id, &e) != 0)
        fail_msg("amend: %s", e.msg);
    assert_int_equal(drain(&f), 1);
    mv_state s = state_of(&f, ref);
    assert_int_equal(s.data.nitin, 2);
    assert_int_equal(s.data.pkgs, 12);
    am = ev_decl("MSCU1234565", "RW-1"); /* CQ > SN > SH again */
    am.type = MV_AMENDED, am.ref = ref;
    assert_int_equal(mvact_submit(f.n, &am, id, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "region SN"));
    assert_int_equal(drain(&f), 0); /* refused before it was sent */
    assert_int_equal(state_of(&f, ref).data.nitin, 2);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members),
        cmocka_unit_test(test_gate_waiting),
        cmocka_unit_test(test_gate_settled),
        cmocka_unit_test(test_gate_lost),
        cmocka_unit_test(test_gate_tie_break),
        cmocka_unit_test(test_gate_halves),
        cmocka_unit_test(test_declare_conflict),
        cmocka_unit_test(test_amend_regions),
    };
    return cmocka_run_group_tests(tests, setup, node_fixture_teardown);
}
