/* Unit tests for mvrule: every event type by every kind of author
 * (departure, transit, destination, outsider, the national center) in
 * every phase against a table of expected outcomes written out by hand
 * from docs/clearance.md; the full lifecycle of each of the four kinds;
 * exactly one release; holds and their resolution; the risk gate;
 * amendments; the messages; the state's wire form; the seal check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mvrule.h"

#define REF "26CQ00000000000016"
#define REF2 "26SN00000000000020"  /* another movement: a winner */

static arena_t A;
static unsigned next_id;

static int setup(void **state)
{
    (void)state;
    arena_init(&A, 256u << 20);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(&A);
    return 0;
}

/* A fresh, valid message id per event. */
static const char *new_id(void)
{
    char *id = arena_alloc(&A, 27);
    snprintf(id, 27, "01ARYZ6S41%016u", ++next_id);
    return id;
}

/* The movement: kind, itinerary (departure first, taken from the ref),
 * two documents, two sealed containers, 120 packages. */
typedef struct mv {
    const char *ref, *kind, *itin[4];
    uint32_t nitin;
} mv;

static const mv TRANSIT = {REF, "rail_transit", {"CQ", "SN", "SH"}, 3};

/* A valid event of type t by region by about movement m. */
static mv_event ev_of(const mv *m, mv_type t, const char *by)
{
    mv_event ev = {.version = MVEV_VERSION, .type = t, .ref = m->ref,
                   .at_ms = 1767225600000ull + next_id * 1000u, .by = by};
    if (t != MV_DECLARED)
        ev.prev = "01ARYZ6S410000000000000000";
    static const char *res[MV_TYPE_END] = {
        [MV_RISK] = "cleared", [MV_DISCREPANCY] = "seal",
        [MV_CONTROLLED] = "ok", [MV_STATUS] = "loaded",
        [MV_PERMIT] = "reserved"};
    ev.result = res[t];
    if (t == MV_PERMIT)
        ev.note = "CQ-26AIL000123";
    if (t == MV_DECLARED || t == MV_AMENDED || t == MV_CANCELLED ||
        t == MV_REJECTED || t == MV_RELEASED || t == MV_WRITTEN_OFF) {
        ev.kind = m->kind;
        ev.nitin = m->nitin;
        memcpy(ev.itin, m->itin, sizeof m->itin);
        ev.ndocs = 2;
        ev.docs[0] = (mv_doc){"CIM", "RW-778"};
        ev.docs[1] = (mv_doc){"BL", "COSU123"};
        ev.nctrs = 2;
        ev.ctrs[0] = (mv_ctr){"MSCU1234565", {"CQ778899"}, 1};
        ev.ctrs[1] = (mv_ctr){"TGHU9876543", {"CQ778900", "CQ778901"}, 2};
        ev.pkgs = 120;
    }
    if (t == MV_REJECTED)
        ev.winner = REF2;
    if (t == MV_RELEASED)
        ev.limit_ms = ev.at_ms + 72 * 3600000ull;
    return ev;
}

/* Apply ev by its own by; s is replaced on success. */
static int apply_ev(mv_state *s, const mv_event *ev, err_t *e)
{
    mv_state out;
    int rc = mv_rule_apply(s->phase ? s : NULL, ev, new_id(), ev->by, &A,
                           &out, e);
    if (rc == 0)
        *s = out;
    return rc;
}

static int apply(mv_state *s, const mv *m, mv_type t, const char *by)
{
    mv_event ev = ev_of(m, t, by);
    err_t e;
    return apply_ev(s, &ev, &e);
}

/* Apply and insist it is accepted. */
static void ok(mv_state *s, const mv *m, mv_type t, const char *by)
{
    mv_event ev = ev_of(m, t, by);
    err_t e;
    if (apply_ev(s, &ev, &e))
        fail_msg("%s by %s in phase %s: %s", mv_type_name(t), by,
                 mv_phase_name(s->phase), e.msg);
}

/* Apply expecting code, with needle in the message. */
static void refused(mv_state *s, const mv_event *ev, int code,
                    const char *needle)
{
    err_t e;
    err_clear(&e);
    mv_state before = *s;
    int rc = apply_ev(s, ev, &e);
    if (rc != code || !strstr(e.msg, needle))
        fail_msg("%s by %s: %d \"%s\", want %d with \"%s\"",
                 mv_type_name(ev->type), ev->by, rc, e.msg, code, needle);
    assert_int_equal(s->nevents, before.nevents);
}

/* ---- the table: (phase, author role) -> outcome of each event ---- */

/* Events in message-table order; outcome per event: '0' applied,
 * 'D' ERR_DENIED, 'S' ERR_PHASE, 'I' ERR_INVALID. */
typedef struct scenario {
    const char *name;
    struct { mv_type t; const char *by, *res; } steps[6];
    const char *want[5]; /* departure CQ, transit SN, destination SH,
                            outsider SC, national CN */
} scenario;

#define NOBODY "DDDDDDDDDDDDDDD"
#define ST(t, by) {MV_##t, by, NULL}
static const char *const roles[5] = {"CQ", "SN", "SH", "SC", "CN"};

/*                 declared risk amended cancelled rejected released
 *                 passage discrepancy resolved arrived controlled
 *                 written_off enquiry status permit                   */
static const scenario SCEN[] = {
    {"none", {{0, 0, 0}},
     {"0SSSSSSSSSSSSSS", "DSSSSSSSSSSSSSS", "DSSSSSSSSSSSSSS",
      "DSSSSSSSSSSSSSS", "DSSSSSSSSSSSSSS"}},
    {"declared", {ST(DECLARED, "CQ")},
     {"S00000DDSDDSS00", "DDDDDDSSDDDDD0D", "DDDDDDDSDSSDD0D", NOBODY, NOBODY}},
    {"declared, risk inspect",
     {ST(DECLARED, "CQ"), {MV_RISK, "CQ", "inspect"}},
     {"S0000SDDSDDSS00", "DDDDDDSSDDDDD0D", "DDDDDDDSDSSDD0D", NOBODY, NOBODY}},
    {"released", {ST(DECLARED, "CQ"), ST(RELEASED, "CQ")},
     {"SSSSSSDDSDDS000", "DDDDDD00DDDDD0D", "DDDDDDD0D0SDD0D", NOBODY, NOBODY}},
    {"released, held at SN",
     {ST(DECLARED, "CQ"), ST(RELEASED, "CQ"), ST(DISCREPANCY, "SN")},
     {"SSSSSSDD0DDS000", "DDDDDDS0DDDDD0D", "DDDDDDD0DSSDD0D", NOBODY, NOBODY}},
    {"released, held at SH",
     {ST(DECLARED, "CQ"), ST(RELEASED, "CQ"), ST(DISCREPANCY, "SH")},
     {"SSSSSSDD0DDS000", "DDDDDD00DDDDD0D", "DDDDDDD0DSSDD0D", NOBODY, NOBODY}},
    {"released, passed SN",
     {ST(DECLARED, "CQ"), ST(RELEASED, "CQ"), ST(PASSAGE, "SN")},
     {"SSSSSSDDSDDS000", "DDDDDDS0DDDDD0D", "DDDDDDD0D0SDD0D", NOBODY, NOBODY}},
    {"arrived",
     {ST(DECLARED, "CQ"), ST(RELEASED, "CQ"), ST(PASSAGE, "SN"),
      ST(ARRIVED, "SH")},
     {"SSSSSSDDSDDS000", "DDDDDDS0DDDDD0D", "DDDDDDD0DS0DD0D", NOBODY, NOBODY}},
    {"arrived before SN's passage",
     {ST(DECLARED, "CQ"), ST(RELEASED, "CQ"), ST(ARRIVED, "SH")},
     {"SSSSSSDDSDDS000", "DDDDDD00DDDDD0D", "DDDDDDD0DS0DD0D", NOBODY, NOBODY}},
    {"arrived, control found a discrepancy",
     {ST(DECLARED, "CQ"), ST(RELEASED, "CQ"), ST(ARRIVED, "SH"),
      {MV_CONTROLLED, "SH", "discrepancy"}},
     {"SSSSSSDD0DDS000", "DDDDDD00DDDDD0D", "DDDDDDD0DSSDD0D", NOBODY, NOBODY}},
    {"controlled",
     {ST(DECLARED, "CQ"), ST(RELEASED, "CQ"), ST(PASSAGE, "SN"),
      ST(ARRIVED, "SH"), ST(CONTROLLED, "SH")},
     {"SSSSSSDDSDD0000", "DDDDDDSSDDDDD0D", "DDDDDDDSDSSDD0D", NOBODY, NOBODY}},
    {"written off",
     {ST(DECLARED, "CQ"), ST(RELEASED, "CQ"), ST(PASSAGE, "SN"),
      ST(ARRIVED, "SH"), ST(CONTROLLED, "SH"), ST(WRITTEN_OFF, "CQ")},
     {"SSSSSSDDSDDSS00", "DDDDDDSSDDDDD0D", "DDDDDDDSDSSDD0D", NOBODY, NOBODY}},
    {"written off before SN's passage",
     {ST(DECLARED, "CQ"), ST(RELEASED, "CQ"), ST(ARRIVED, "SH"),
      ST(CONTROLLED, "SH"), ST(WRITTEN_OFF, "CQ")},
     {"SSSSSSDDSDDSS00", "DDDDDD0SDDDDD0D", "DDDDDDDSDSSDD0D", NOBODY, NOBODY}},
    {"cancelled", {ST(DECLARED, "CQ"), ST(CANCELLED, "CQ")},
     {"SSSSSSDDSDDSSS0", "DDDDDDSSDDDDDSD", "DDDDDDDSDSSDDSD", NOBODY, NOBODY}},
    {"rejected", {ST(DECLARED, "CQ"), ST(REJECTED, "CQ")},
     {"SSSSSSDDSDDSSS0", "DDDDDDSSDDDDDSD", "DDDDDDDSDSSDDSD", NOBODY, NOBODY}},
};

static void build(mv_state *s, const scenario *sc)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 6 && sc->steps[i].by; i++) {
        mv_event ev = ev_of(&TRANSIT, sc->steps[i].t, sc->steps[i].by);
        if (sc->steps[i].res)
            ev.result = sc->steps[i].res;
        err_t e;
        if (apply_ev(s, &ev, &e))
            fail_msg("scenario %s step %d: %s", sc->name, i + 1, e.msg);
    }
}

static char outcome(int rc)
{
    return rc == 0 ? '0' : rc == ERR_DENIED ? 'D' : rc == ERR_PHASE ? 'S'
           : rc == ERR_INVALID ? 'I' : '?';
}

static void test_table(void **state)
{
    (void)state;
    int cells = 0;
    for (size_t k = 0; k < sizeof SCEN / sizeof SCEN[0]; k++)
        for (int r = 0; r < 5; r++) {
            char got[MV_TYPE_END];
            for (int t = 1; t < MV_TYPE_END; t++) {
                mv_state s;
                build(&s, &SCEN[k]);
                got[t - 1] = outcome(apply(&s, &TRANSIT, (mv_type)t,
                                           roles[r]));
                cells++;
            }
            got[MV_TYPE_END - 1] = '\0';
            if (strcmp(got, SCEN[k].want[r]))
                fail_msg("phase \"%s\", author %s: got %s, want %s",
                         SCEN[k].name, roles[r], got, SCEN[k].want[r]);
        }
    assert_int_equal(cells, 15 * 5 * 15);
}

/* ---- lifecycles of the four kinds ---- */

static void test_rail_sea_export(void **state)
{
    (void)state;
    const mv m = {"26SN00000000000020", "rail_sea_export", {"SN", "SH"}, 2};
    mv_state s = {0};
    ok(&s, &m, MV_DECLARED, "SN");
    assert_int_equal(s.phase, MV_P_DECLARED);
    assert_int_equal(s.nevents, 1);
    assert_null(s.data.record);
    ok(&s, &m, MV_RISK, "SN");
    assert_string_equal(s.risk, "cleared");
    ok(&s, &m, MV_RELEASED, "SN");
    assert_int_equal(s.phase, MV_P_RELEASED);
    assert_int_equal(s.stop[0], MV_STOP_NONE);
    assert_int_equal(s.stop[1], MV_STOP_EXPECTED);
    assert_true(s.released_ms > s.declared_ms);
    ok(&s, &m, MV_ARRIVED, "SH");
    assert_int_equal(s.stop[1], MV_STOP_ARRIVED);
    ok(&s, &m, MV_CONTROLLED, "SH");
    assert_int_equal(s.phase, MV_P_CONTROLLED);
    assert_string_equal(s.control, "ok");
    ok(&s, &m, MV_WRITTEN_OFF, "SN");
    assert_int_equal(s.phase, MV_P_WRITTEN_OFF);
    assert_true(s.closed_ms > s.arrived_ms && s.arrived_ms > 0);
    assert_int_equal(s.nevents, 6);
    assert_int_equal(s.data.type, MV_RELEASED);
}

static void test_water_transship(void **state)
{
    (void)state;
    const mv m = {REF, "water_transship", {"CQ", "SH"}, 2};
    mv_state s = {0};
    ok(&s, &m, MV_DECLARED, "CQ");
    mv_event am = ev_of(&m, MV_AMENDED, "CQ");
    am.guarantee = "GUA-2";
    am.ctrs[0].seals[0] = "CQ000001";
    err_t e;
    assert_int_equal(apply_ev(&s, &am, &e), 0);
    assert_int_equal(s.data.type, MV_AMENDED);
    assert_string_equal(s.data.guarantee, "GUA-2");
    ok(&s, &m, MV_RELEASED, "CQ");
    ok(&s, &m, MV_STATUS, "CQ");
    mv_event st = ev_of(&m, MV_STATUS, "SH");
    st.result = "transshipped";
    st.place = "CNSHA";
    mv_state before = s;
    assert_int_equal(apply_ev(&s, &st, &e), 0);
    /* a status event changes only the count and the last id */
    assert_int_equal(s.nevents, before.nevents + 1);
    assert_int_equal(s.phase, before.phase);
    assert_true(s.last_id != before.last_id);
    assert_memory_equal(s.stop, before.stop, sizeof s.stop);
    ok(&s, &m, MV_ARRIVED, "SH");
    ok(&s, &m, MV_CONTROLLED, "SH");
    ok(&s, &m, MV_WRITTEN_OFF, "CQ");
    assert_int_equal(s.phase, MV_P_WRITTEN_OFF);
    ok(&s, &m, MV_STATUS, "SH"); /* the journey may go on being recorded */
}

static void test_rail_transit(void **state)
{
    (void)state;
    const mv m = {REF, "rail_transit", {"CQ", "SN", "SC", "SH"}, 4};
    mv_state s = {0};
    ok(&s, &m, MV_DECLARED, "CQ");
    ok(&s, &m, MV_RELEASED, "CQ");
    for (int i = 1; i < 4; i++)
        assert_int_equal(s.stop[i], MV_STOP_EXPECTED);
    ok(&s, &m, MV_PASSAGE, "SN");
    ok(&s, &m, MV_STATUS, "SC");
    ok(&s, &m, MV_PASSAGE, "SC");
    assert_int_equal(s.stop[1], MV_STOP_PASSED);
    assert_int_equal(s.stop[2], MV_STOP_PASSED);
    assert_int_equal(s.stop[3], MV_STOP_EXPECTED);
    ok(&s, &m, MV_ARRIVED, "SH");
    ok(&s, &m, MV_CONTROLLED, "SH");
    ok(&s, &m, MV_WRITTEN_OFF, "CQ");
    assert_int_equal(mv_state_stop_of(&s, "SC"), 2);
    assert_int_equal(mv_state_stop_of(&s, "CN"), -1);
    assert_int_equal(mv_state_stop_of(&s, NULL), -1);
}

/* Import transfer, with the risk gate and an enquiry on the way. */
static void test_import_transfer(void **state)
{
    (void)state;
    const mv m = {"26SH0000000000003T", "import_transfer", {"SH", "CQ"}, 2};
    mv_state s = {0};
    ok(&s, &m, MV_DECLARED, "SH");
    mv_event r = ev_of(&m, MV_RISK, "SH");
    r.result = "inspect";
    err_t e;
    assert_int_equal(apply_ev(&s, &r, &e), 0);
    mv_event rel = ev_of(&m, MV_RELEASED, "SH");
    refused(&s, &rel, ERR_PHASE, "26SH0000000000003T: released by SH "
            "refused: release blocked: risk result is inspect");
    r.result = "inspected";
    assert_int_equal(apply_ev(&s, &r, &e), 0);
    ok(&s, &m, MV_RELEASED, "SH");
    ok(&s, &m, MV_ENQUIRY, "SH");
    ok(&s, &m, MV_ENQUIRY, "SH");
    assert_int_equal(s.enquiries, 2);
    ok(&s, &m, MV_ARRIVED, "CQ");
    ok(&s, &m, MV_ENQUIRY, "SH"); /* crossed the arrival on the way */
    ok(&s, &m, MV_CONTROLLED, "CQ");
    ok(&s, &m, MV_WRITTEN_OFF, "SH");
    assert_int_equal(s.enquiries, 3);
    assert_int_equal(s.phase, MV_P_WRITTEN_OFF);
}

/* ---- single rules and their messages ---- */

static void test_one_release(void **state)
{
    (void)state;
    mv_state s = {0};
    ok(&s, &TRANSIT, MV_DECLARED, "CQ");
    ok(&s, &TRANSIT, MV_RELEASED, "CQ");
    mv_event ev = ev_of(&TRANSIT, MV_RELEASED, "CQ");
    refused(&s, &ev, ERR_PHASE, REF ": released by CQ refused: the "
            "movement is released already (released)");
    ok(&s, &TRANSIT, MV_ARRIVED, "SH");
    refused(&s, &ev, ERR_PHASE, "released already (arrived)");
    ev.by = "SN";
    refused(&s, &ev, ERR_DENIED, "SN is not the departure region of "
            "itinerary CQ>SN>SH");
    ev = ev_of(&TRANSIT, MV_DECLARED, "CQ");
    refused(&s, &ev, ERR_PHASE, "the movement exists already (arrived)");
}

static void test_messages(void **state)
{
    (void)state;
    mv_state s = {0};
    mv_event ev = ev_of(&TRANSIT, MV_PASSAGE, "SN");
    refused(&s, &ev, ERR_PHASE, REF ": passage by SN refused: the movement "
            "is unknown here (no declared applied)");
    ev = ev_of(&TRANSIT, MV_DECLARED, "SN");
    refused(&s, &ev, ERR_DENIED, REF ": declared by SN refused: SN is not "
            "the departure region of itinerary CQ>SN>SH");
    ok(&s, &TRANSIT, MV_DECLARED, "CQ");
    ok(&s, &TRANSIT, MV_RELEASED, "CQ");
    ev = ev_of(&TRANSIT, MV_PASSAGE, "SC");
    refused(&s, &ev, ERR_DENIED, REF ": passage by SC refused: SC is not a "
            "transit region of itinerary CQ>SN>SH");
    ev = ev_of(&TRANSIT, MV_DISCREPANCY, "CQ");
    refused(&s, &ev, ERR_DENIED, "CQ is not a transit region or the "
            "destination of itinerary CQ>SN>SH");
    ev = ev_of(&TRANSIT, MV_ARRIVED, "SN");
    refused(&s, &ev, ERR_DENIED, "SN is not the destination");
    ev = ev_of(&TRANSIT, MV_STATUS, "CN");
    refused(&s, &ev, ERR_DENIED, "CN is not a region of itinerary");
    ev = ev_of(&TRANSIT, MV_CONTROLLED, "SH");
    refused(&s, &ev, ERR_PHASE, REF ": controlled by SH refused: the "
            "movement is released");
    /* the signer's region decides, and the event must agree with it */
    ev = ev_of(&TRANSIT, MV_PASSAGE, "SN");
    err_t e;
    mv_state out;
    assert_int_equal(mv_rule_apply(&s, &ev, new_id(), "SC", &A, &out, &e),
                     ERR_DENIED);
    assert_non_null(strstr(e.msg, "passage by SC refused: the event says "
                                  "by SN, its signer is of region SC"));
    assert_int_equal(mv_rule_apply(&s, &ev, "not-an-id", "SN", &A, &out,
                                   &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "event id: message id"));
    assert_int_equal(mv_rule_apply(&s, &ev, NULL, "SN", &A, &out, &e),
                     ERR_INVALID);
    ev.ref = REF2;
    refused(&s, &ev, ERR_INVALID, "the state is of movement " REF);
    ev = ev_of(&TRANSIT, MV_RISK, "CQ");
    ev.result = "maybe";
    s.phase = MV_P_DECLARED;
    refused(&s, &ev, ERR_INVALID, "res: 'maybe' is not a risk result");
}

static void test_hold(void **state)
{
    (void)state;
    mv_state s = {0};
    ok(&s, &TRANSIT, MV_DECLARED, "CQ");
    ok(&s, &TRANSIT, MV_RELEASED, "CQ");
    mv_event d = ev_of(&TRANSIT, MV_DISCREPANCY, "SH");
    d.result = "packages";
    d.note = "118 found";
    err_t e;
    assert_int_equal(apply_ev(&s, &d, &e), 0);
    assert_string_equal(s.held, "SH");
    assert_string_equal(s.hold_why, "packages: 118 found");
    ok(&s, &TRANSIT, MV_PASSAGE, "SN"); /* SN is before the hold */
    d = ev_of(&TRANSIT, MV_DISCREPANCY, "SN");
    d.note = "seal CQ778899 broken";
    assert_int_equal(apply_ev(&s, &d, &e), 0);
    assert_string_equal(s.held, "SN");
    assert_string_equal(s.hold_why, "seal: seal CQ778899 broken");
    d = ev_of(&TRANSIT, MV_DISCREPANCY, "SH"); /* behind SN's: SN's stays */
    assert_int_equal(apply_ev(&s, &d, &e), 0);
    assert_string_equal(s.held, "SN");
    mv_event arr = ev_of(&TRANSIT, MV_ARRIVED, "SH");
    refused(&s, &arr, ERR_PHASE, REF ": arrived by SH refused: the movement "
            "is on hold at SN (seal: seal CQ778899 broken) until the "
            "departure resolves it");
    ok(&s, &TRANSIT, MV_RESOLVED, "CQ");
    assert_null(s.held);
    assert_null(s.hold_why);
    mv_event res = ev_of(&TRANSIT, MV_RESOLVED, "CQ");
    refused(&s, &res, ERR_PHASE, "the movement is not on hold");
    ok(&s, &TRANSIT, MV_ARRIVED, "SH");
    mv_event c = ev_of(&TRANSIT, MV_CONTROLLED, "SH");
    c.result = "discrepancy";
    assert_int_equal(apply_ev(&s, &c, &e), 0);
    assert_int_equal(s.phase, MV_P_ARRIVED);
    assert_string_equal(s.held, "SH");
    assert_string_equal(s.control, "discrepancy");
    c.result = "ok";
    refused(&s, &c, ERR_PHASE, "on hold at SH (discrepancy)");
    mv_event w = ev_of(&TRANSIT, MV_WRITTEN_OFF, "CQ");
    refused(&s, &w, ERR_PHASE, "the movement is arrived");
    ok(&s, &TRANSIT, MV_RESOLVED, "CQ");
    assert_int_equal(apply_ev(&s, &c, &e), 0);
    assert_int_equal(s.phase, MV_P_CONTROLLED);
    ok(&s, &TRANSIT, MV_WRITTEN_OFF, "CQ");
}

static void test_amend(void **state)
{
    (void)state;
    mv_state s = {0};
    ok(&s, &TRANSIT, MV_DECLARED, "CQ");
    mv_event am = ev_of(&TRANSIT, MV_AMENDED, "CQ");
    am.docs[1].no = "COSU124";
    refused(&s, &am, ERR_INVALID, REF ": amended by CQ refused: document "
            "BL COSU124 is not in the movement; documents never change");
    am = ev_of(&TRANSIT, MV_AMENDED, "CQ");
    am.ndocs = 1;
    refused(&s, &am, ERR_INVALID, "document BL COSU123 is left out");
    am = ev_of(&TRANSIT, MV_AMENDED, "CQ");
    am.ctrs[1].no = "TGHU9876544";
    refused(&s, &am, ERR_INVALID, "container TGHU9876544 is not in the "
            "movement; container numbers never change");
    am = ev_of(&TRANSIT, MV_AMENDED, "CQ");
    am.nctrs = 1;
    refused(&s, &am, ERR_INVALID, "container TGHU9876543 is left out");
    am = ev_of(&TRANSIT, MV_AMENDED, "CQ");
    am.kind = "rail_sea_export";
    refused(&s, &am, ERR_INVALID, "kind rail_sea_export, the movement is "
            "rail_transit");
    /* a region is never added (it skipped the declaration) */
    am = ev_of(&TRANSIT, MV_AMENDED, "CQ");
    am.itin[1] = "SC";
    refused(&s, &am, ERR_INVALID, "region SC is not on itinerary CQ>SN>SH; "
            "an amendment never adds a region");
    /* order of documents and containers does not matter; the itinerary
     * (dropping or reordering regions), seals, packages and guarantee may
     * change */
    am = ev_of(&TRANSIT, MV_AMENDED, "CQ");
    am.docs[0] = (mv_doc){"BL", "COSU123"};
    am.docs[1] = (mv_doc){"CIM", "RW-778"};
    am.itin[1] = "SH", am.itin[2] = "SN";
    am.ctrs[0].seals[0] = "CQ111111";
    am.pkgs = 119;
    err_t e;
    assert_int_equal(apply_ev(&s, &am, &e), 0);
    assert_string_equal(s.data.itin[1], "SH");
    assert_int_equal(s.data.pkgs, 119);
    /* the release must carry the amended itinerary */
    mv_event rel = ev_of(&TRANSIT, MV_RELEASED, "CQ");
    refused(&s, &rel, ERR_INVALID, "itinerary CQ>SN>SH, the movement's is "
            "CQ>SH>SN; only an amendment changes it");
    rel.itin[1] = "SH", rel.itin[2] = "SN";
    assert_int_equal(apply_ev(&s, &rel, &e), 0);
    mv_event p = ev_of(&TRANSIT, MV_PASSAGE, "SN");
    refused(&s, &p, ERR_DENIED, "SN is not a transit region of itinerary "
            "CQ>SH>SN");
    p.by = "SH";
    assert_int_equal(apply_ev(&s, &p, &e), 0);
    mv_event w = ev_of(&TRANSIT, MV_CANCELLED, "CQ");
    refused(&s, &w, ERR_PHASE, "the movement is released");
}

static void test_data_events(void **state)
{
    (void)state;
    mv_state s = {0};
    ok(&s, &TRANSIT, MV_DECLARED, "CQ");
    mv_event c = ev_of(&TRANSIT, MV_CANCELLED, "CQ");
    c.ndocs = 1;
    refused(&s, &c, ERR_INVALID, "cancelled by CQ refused: document BL "
            "COSU123 is left out");
    c = ev_of(&TRANSIT, MV_REJECTED, "CQ");
    c.itin[2] = "SC";
    refused(&s, &c, ERR_INVALID, "rejected by CQ refused: itinerary "
            "CQ>SN>SC");
    c = ev_of(&TRANSIT, MV_REJECTED, "CQ");
    err_t e;
    assert_int_equal(apply_ev(&s, &c, &e), 0);
    assert_string_equal(s.winner, REF2);
    assert_int_equal(s.phase, MV_P_REJECTED);
    assert_true(s.closed_ms > 0);
    /* the state's data stays the declaration, not the rejection */
    assert_int_equal(s.data.type, MV_DECLARED);
}

/* ---- the state's wire form ---- */

static void state_roundtrip(const mv_state *s)
{
    buf_t b1, b2;
    buf_init(&b1, 1u << 20);
    buf_init(&b2, 1u << 20);
    err_t e;
    if (mv_state_encode(s, &b1, &e))
        fail_msg("encode: %s", e.msg);
    mv_state out;
    if (mv_state_decode(b1.p, b1.len, &A, &out, &e))
        fail_msg("decode: %s", e.msg);
    assert_int_equal(mv_state_encode(&out, &b2, &e), 0);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.p, b2.p, b1.len);
    assert_int_equal(out.phase, s->phase);
    assert_int_equal(out.nevents, s->nevents);
    assert_int_equal(out.enquiries, s->enquiries);
    assert_memory_equal(out.stop, s->stop, sizeof s->stop);
    assert_true(out.declared_ms == s->declared_ms &&
                out.released_ms == s->released_ms &&
                out.arrived_ms == s->arrived_ms &&
                out.closed_ms == s->closed_ms);
    const char *x[] = {s->held, s->hold_why, s->risk, s->control,
                       s->winner, s->last_id};
    const char *y[] = {out.held, out.hold_why, out.risk, out.control,
                       out.winner, out.last_id};
    for (int i = 0; i < 6; i++)
        if (x[i] || y[i])
            assert_string_equal(x[i], y[i]);
    buf_free(&b1);
    buf_free(&b2);
}

static void test_state_roundtrip(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof SCEN / sizeof SCEN[0]; k++) {
        mv_state s;
        build(&s, &SCEN[k]);
        s.version = MVSTATE_VERSION; /* "none" is a zeroed struct */
        state_roundtrip(&s);
    }
    mv_state s = {0};
    ok(&s, &TRANSIT, MV_DECLARED, "CQ");
    ok(&s, &TRANSIT, MV_RELEASED, "CQ");
    ok(&s, &TRANSIT, MV_ENQUIRY, "CQ");
    mv_event d = ev_of(&TRANSIT, MV_DISCREPANCY, "SN");
    static char note[MV_NOTE_MAX + 1];
    memset(note, 'n', MV_NOTE_MAX);
    d.note = note;
    err_t e;
    assert_int_equal(apply_ev(&s, &d, &e), 0);
    state_roundtrip(&s); /* the longest hold_why */
}

static void expect_state_bad(const char *p, size_t n, int code,
                             const char *needle)
{
    mv_state out;
    err_t e;
    err_clear(&e);
    int rc = mv_state_decode(p, n, &A, &out, &e);
    if (rc != code || !strstr(e.msg, needle))
        fail_msg("state decode: %d \"%s\", want %d with \"%s\"", rc, e.msg,
                 code, needle);
}

#define L(lit) lit, sizeof lit - 1

static void test_state_refusals(void **state)
{
    (void)state;
    mv_state s;
    build(&s, &SCEN[4]); /* released, held at SN */
    buf_t b;
    buf_init(&b, 1u << 20);
    assert_int_equal(mv_state_encode(&s, &b, NULL), 0);
    expect_state_bad(b.p, b.len - 1, ERR_SYNTAX, "truncated");
    buf_addc(&b, '\0');
    expect_state_bad(b.p, b.len, ERR_SYNTAX, "1 trailing bytes");
    /* the minimal unknown state, then changed by hand */
    expect_state_bad(L("\x84\xa1v\x01\xa5phase\xa4none\xa5times\x94\0\0\0\0"
                     "\xa1n\x00"), 0, "");
    expect_state_bad(L("\x84\xa1v\x02"), ERR_UNSUPPORTED, "movement state key "
                     "\"v\": version 2 not supported");
    expect_state_bad(L("\x83\xa1v\x01\xa5phase\xa4none\xa5times\x94\0\0\0"
                       "\0"), ERR_INVALID, "key \"n\" missing");
    expect_state_bad(L("\x84\xa1v\x01\xa5phase\xa4gone\xa5times\x94\0\0\0\0"
                     "\xa1n\x00"), ERR_INVALID, "movement state key "
                     "\"phase\": unknown phase \"gone\"");
    expect_state_bad(L("\x84\xa1v\x01\xa5phase\xa4none\xa1n\x00\xa5times"
                     "\x94\0\0\0\0"), ERR_INVALID, "key \"times\" out of "
                     "order (after \"n\")");
    expect_state_bad(L("\x84\xa1v\x01\xa5phase\xa8released\xa5times\x94\0\0\0"
                     "\0\xa1n\x02"), ERR_INVALID, "key \"data\" missing");
    expect_state_bad(L("\x84\xa1v\x01\xa5phase\xa4none\xa5times\x93\0\0\0"
                     "\xa1n\x00"), ERR_INVALID, "key \"times\": 3 "
                     "entries, want 4");
    mv_state bad;
    bad = s;
    bad.held = "SC";
    buf_reset(&b);
    assert_int_equal(mv_state_encode(&bad, &b, NULL), 0);
    expect_state_bad(b.p, b.len, ERR_INVALID, "held at SC, not on the "
                     "itinerary");
    bad = s;
    bad.data.ref = "26CQ00000000000017";
    buf_reset(&b);
    err_t e;
    assert_int_equal(mv_state_encode(&bad, &b, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "movement state: data: event released"));
    bad = s;
    bad.version = 2;
    assert_int_equal(mv_state_encode(&bad, &b, &e), ERR_INVALID);
    buf_free(&b);
}

/* ---- seals ---- */

static void expect_seals(const mv_state *s, const mv_event *f, int code,
                         const char *needle)
{
    err_t e;
    err_clear(&e);
    int rc = mv_rule_check_seals(s, f, &e);
    if (rc != code || !strstr(e.msg, needle))
        fail_msg("check_seals: %d \"%s\", want %d with \"%s\"", rc, e.msg,
                 code, needle);
}

static void test_seals(void **state)
{
    (void)state;
    mv_state s = {0};
    ok(&s, &TRANSIT, MV_DECLARED, "CQ");
    mv_event f = ev_of(&TRANSIT, MV_PASSAGE, "SN");
    expect_seals(&s, &f, ERR_PHASE, REF ": not released");
    ok(&s, &TRANSIT, MV_RELEASED, "CQ");
    expect_seals(&s, &f, 0, ""); /* nothing reported: nothing to compare */
    f.nctrs = 2;
    f.ctrs[0] = (mv_ctr){"TGHU9876543", {"CQ778901", "CQ778900"}, 2};
    f.ctrs[1] = (mv_ctr){"MSCU1234565", {"CQ778899"}, 1};
    f.pkgs = 120;
    expect_seals(&s, &f, 0, "");
    f.ctrs[1].seals[0] = "SH123";
    expect_seals(&s, &f, ERR_CONFLICT, "container MSCU1234565: seal SH123 "
                 "found, released with CQ778899");
    f.ctrs[1].seals[0] = "CQ778899";
    f.ctrs[0].nseals = 1;
    expect_seals(&s, &f, ERR_CONFLICT, "container TGHU9876543: seal "
                 "CQ778900 missing, found CQ778901");
    f.ctrs[0].nseals = 0;
    expect_seals(&s, &f, ERR_CONFLICT, "seal CQ778900 missing, found no "
                 "seal");
    f.ctrs[0] = (mv_ctr){"XXXU0000000", {0}, 0};
    expect_seals(&s, &f, ERR_CONFLICT, "container XXXU0000000: found, not "
                 "released with movement " REF);
    f.nctrs = 1;
    f.ctrs[0] = (mv_ctr){"MSCU1234565", {"CQ778899"}, 1};
    expect_seals(&s, &f, ERR_CONFLICT, "container TGHU9876543: released, "
                 "not found");
    f.nctrs = 0;
    f.pkgs = 118;
    expect_seals(&s, &f, ERR_CONFLICT, "packages: 118 found, released with "
                 "120");
}

static void test_phase_names(void **state)
{
    (void)state;
    mv_phase p;
    for (int i = 0; i < MV_P_END; i++) {
        assert_int_equal(mv_phase_parse(mv_phase_name((mv_phase)i), &p), 0);
        assert_int_equal(p, i);
    }
    assert_string_equal(mv_phase_name(MV_P_WRITTEN_OFF), "written_off");
    assert_string_equal(mv_phase_name(MV_P_END), "?");
    assert_int_equal(mv_phase_parse("closed", &p), ERR_CODE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_rail_sea_export),
        cmocka_unit_test(test_water_transship),
        cmocka_unit_test(test_rail_transit),
        cmocka_unit_test(test_import_transfer),
        cmocka_unit_test(test_one_release),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_hold),
        cmocka_unit_test(test_amend),
        cmocka_unit_test(test_data_events),
        cmocka_unit_test(test_state_roundtrip),
        cmocka_unit_test(test_state_refusals),
        cmocka_unit_test(test_seals),
        cmocka_unit_test(test_phase_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
