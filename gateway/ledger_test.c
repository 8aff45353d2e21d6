/* Unit tests for the apply engine (ledger.c) with the real rules and a
 * private redis-server: a declaration applied with its indexes and the
 * claim gate entry; a batch again is all duplicates; a chain of events
 * of one movement in one batch (release: the time limit set, the gate
 * entry gone); an event ahead of its prev parked, then applied once the
 * prev comes (in a later batch); a refusal recorded with its code; a
 * movement of others skipped; claim keys made safe for Redis. Envelopes
 * carry a dummy signature: the engine never checks them (the link did).
 * Each test has its own key prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "envelope.h"
#include "ledger.h"
#include "mvref.h"
#include "store_mv.h"
#include "store_test_util.h"

#define AT0 1767225600000ull /* 2026-01-01 */
#define LIMIT (AT0 + 72ull * 3600000u)

/* What the hook saw. */
typedef struct seen {
    int n;
    ledger_outcome out[16];
    mv_phase phase[16];
    int code[16];
} seen;

static void hook(void *ctx, const ledger_result *r)
{
    seen *s = ctx;
    assert_true(s->n < 16);
    s->out[s->n] = r->outcome;
    s->phase[s->n] = r->after ? r->after->phase : MV_P_NONE;
    s->code[s->n++] = r->why ? r->why->code : 0;
}

static const char *author(void *ctx, const char *signer)
{
    (void)ctx;
    return signer; /* node id = region in these tests */
}

typedef struct fx {
    store *st;
    arena_t a;
    seen s;
    ledger l;
    char ref[MVREF_LEN + 1];
} fx;

static void fx_open(fx *f, const char *prefix, const char *region)
{
    memset(f, 0, sizeof *f);
    f->st = stu_open(g_url, prefix);
    arena_init(&f->a, 64u << 20);
    f->l = (ledger){.st = f->st, .region = region, .period_ms = 3600000,
                    .hook = hook, .hook_ctx = &f->s, .author = author};
    err_t e;
    assert_int_equal(mvref_make(26, "CQ", 7, f->ref, &e), 0);
}

static void fx_close(fx *f)
{
    arena_free(&f->a);
    store_close(f->st);
}

/* CQ > SN > SH, one document, one
 * container. */
static mv_event ev_declared(const char *ref)
{
    mv_event ev = {.version = MVEV_VERSION, .type = MV_DECLARED, .ref = ref,
                   .at_ms = AT0, .by = "CQ", .kind = "rail_transit",
                   .nitin = 3, .ndocs = 1, .nctrs = 1, .pkgs = 10,
                   .declarant = "Chongqing Trade"};
    ev.itin[0] = "CQ", ev.itin[1] = "SN", ev.itin[2] = "SH";
    ev.docs[0] = (mv_doc){"CIM", "RW-778"};
    ev.ctrs[0] = (mv_ctr){"MSCU1234565", {"CQ778899"}, 1};
    return ev;
}

/* ev as a v1:in record signed (in name) by origin: item in f's arena. */
static ledger_item item_of(fx *f, const mv_event *ev, const char *origin)
{
    static const unsigned char sig[ENV_ED25519_SIG];
    static const char *dest[] = {"NC"};
    buf_t p, fr;
    err_t e;
    env *v = arena_zalloc(&f->a, sizeof *v);
    mv_event *copy = arena_alloc(&f->a, sizeof *copy);
    buf_init(&p, 1 << 20);
    buf_init(&fr, 1 << 20);
    if (mv_event_encode(ev, &p, &e) < 0 ||
        env_init(v, MVEV_ENV_TYPE, origin, &f->a, &e) < 0)
        fail_msg("item: %s", e.msg);
    v->dest = dest, v->ndest = 1, v->ref = ev->ref;
    v->payload = (const unsigned char *)p.p, v->payload_len = p.len;
    v->sig = sig, v->sig_len = sizeof sig;
    assert_int_equal(env_encode_unchecked(v, &fr, &e), 0);
    void *frame = arena_alloc(&f->a, fr.len);
    memcpy(frame, fr.p, fr.len);
    *copy = *ev;
    ledger_item it = {arena_strdup(&f->a, v->id), origin, copy, frame,
                      fr.len, 0};
    buf_free(&p);
    buf_free(&fr);
    return it;
}

static void apply(fx *f, const ledger_item *it, size_t n)
{
    err_t e = {0};
    f->s.n = 0;
    if (ledger_apply(&f->l, it, n, &f->a, &e) != 0)
        fail_msg("ledger_apply: %s", e.msg);
}

static int count_refs(void *ctx, const char *ref, int64_t score, err_t *e)
{
    (void)ref, (void)e;
    int64_t *c = ctx;
    c[0]++;
    c[1] = score;
    return 0;
}

static int count_frames(void *ctx, const char *id, const void *frame,
                        size_t n, err_t *e)
{
    (void)id, (void)frame, (void)n, (void)e;
    ++*(int *)ctx;
    return 0;
}

static int64_t due(fx *f, const char *which, int64_t *score)
{
    int64_t c[2] = {0, 0};
    err_t e;
    assert_true(store_mv_due(f->st, which, INT64_MAX, 10, count_refs, c,
                             &e) >= 0);
    if (score)
        *score = c[1];
    return c[0];
}

static mv_phase stored_phase(fx *f)
{
    buf_t b;
    buf_init(&b, 1 << 20);
    err_t e;
    mv_state s;
    if (store_mv_state(f->st, f->ref, &b, &e) == ERR_NOTFOUND) {
        buf_free(&b);
        return MV_P_NONE;
    }
    assert_int_equal(mv_state_decode(b.p, b.len, &f->a, &s, &e), 0);
    buf_free(&b);
    return s.phase;
}

static void test_declared_then_dup(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "l1:", "CQ");
    mv_event d = ev_declared(f.ref);
    ledger_item it = item_of(&f, &d, "CQ");
    apply(&f, &it, 1);
    assert_int_equal(f.s.n, 1);
    assert_int_equal(f.s.out[0], LEDGER_APPLIED);
    assert_int_equal(f.s.phase[0], MV_P_DECLARED);
    assert_int_equal(stored_phase(&f), MV_P_DECLARED);
    int64_t score;
    assert_int_equal(due(&f, "claimwait", &score), 1); /* the departure */
    assert_int_equal(score, (int64_t)AT0);
    int64_t c[2] = {0, 0};
    err_t e;
    assert_int_equal(store_mv_index(f.st, "d:CIM:RW-778", count_refs, c, &e),
                     1);
    assert_int_equal(store_mv_index(f.st, "c:MSCU1234565", count_refs, c, &e),
                     1);
    apply(&f, &it, 1); /* the batch again, as after a crash */
    assert_int_equal(f.s.out[0], LEDGER_DUP);
    assert_int_equal(stored_phase(&f), MV_P_DECLARED);
    fx_close(&f);
}

/* declared, risk, released in one batch: chained in memory. */
static void test_chain_in_batch(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "l2:", "CQ");
    mv_event d = ev_declared(f.ref);
    ledger_item it[3];
    it[0] = item_of(&f, &d, "CQ");
    mv_event r = {.version = 1, .type = MV_RISK, .ref = f.ref, .at_ms = AT0 + 1,
                  .by = "CQ", .prev = it[0].id, .result = "cleared"};
    it[1] = item_of(&f, &r, "CQ");
    mv_event rel = d;
    rel.type = MV_RELEASED, rel.at_ms = AT0 + 2, rel.prev = it[1].id;
    rel.limit_ms = LIMIT;
    it[2] = item_of(&f, &rel, "CQ");
    apply(&f, it, 3);
    assert_int_equal(f.s.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(f.s.out[i], LEDGER_APPLIED);
    assert_int_equal(f.s.phase[2], MV_P_RELEASED);
    assert_int_equal(stored_phase(&f), MV_P_RELEASED);
    int64_t score;
    assert_int_equal(due(&f, "claimwait", NULL), 0); /* left the gate */
    assert_int_equal(due(&f, "limit", &score), 1);
    assert_int_equal(score, (int64_t)LIMIT);
    fx_close(&f);
}

/* At SH the release comes before the declaration: parked, then applied
 * when the declaration is. SH is not the departure: no gate, no limit. */
static void test_park_then_unpark(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "l3:", "SH");
    mv_event d = ev_declared(f.ref);
    ledger_item dec = item_of(&f, &d, "CQ");
    mv_event rel = d;
    rel.type = MV_RELEASED, rel.at_ms = AT0 + 2, rel.prev = dec.id;
    rel.limit_ms = LIMIT;
    ledger_item it = item_of(&f, &rel, "CQ");
    apply(&f, &it, 1);
    assert_int_equal(f.s.n, 1);
    assert_int_equal(f.s.out[0], LEDGER_PARKED);
    assert_int_equal(stored_phase(&f), MV_P_NONE);
    apply(&f, &dec, 1);
    assert_int_equal(f.s.n, 2); /* the declaration, then its child */
    assert_int_equal(f.s.out[0], LEDGER_APPLIED);
    assert_int_equal(f.s.out[1], LEDGER_APPLIED);
    assert_int_equal(f.s.phase[1], MV_P_RELEASED);
    assert_int_equal(stored_phase(&f), MV_P_RELEASED);
    err_t e;
    int nparked = 0;
    assert_int_equal(store_mv_parked(f.st, f.ref, count_frames, &nparked, &e),
                     0);
    assert_int_equal(due(&f, "claimwait", NULL) + due(&f, "limit", NULL), 0);
    fx_close(&f);
}

/* SC is not on the itinerary: its passage is refused, with the code at
 * the end of the recorded message (mvact_wait reads it back). */
static void test_refused(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "l4:", "SH");
    mv_event d = ev_declared(f.ref);
    ledger_item it[2];
    it[0] = item_of(&f, &d, "CQ");
    mv_event p = {.version = 1, .type = MV_PASSAGE, .ref = f.ref,
                  .at_ms = AT0 + 5, .by = "SC", .prev = it[0].id};
    it[1] = item_of(&f, &p, "SC");
    apply(&f, it, 2);
    assert_int_equal(f.s.n, 2);
    assert_int_equal(f.s.out[1], LEDGER_REFUSED);
    assert_int_equal(f.s.code[1], ERR_DENIED);
    buf_t why;
    buf_init(&why, 4096);
    err_t e;
    assert_int_equal(store_mv_outcome(f.st, f.ref, it[1].id, &why, &e), 2);
    assert_non_null(strstr(why.p, "passage by SC"));
    assert_non_null(strstr(why.p, "(DENIED)"));
    assert_int_equal(store_mv_outcome(f.st, f.ref, it[0].id, NULL, &e), 1);
    buf_free(&why);
    assert_int_equal(stored_phase(&f), MV_P_DECLARED);
    fx_close(&f);
}

/* SC is a member off the itinerary: nothing is kept; the national
 * center keeps everything. */
static void test_skipped_off_itinerary(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "l5:", "SC");
    mv_event d = ev_declared(f.ref);
    ledger_item it = item_of(&f, &d, "CQ");
    apply(&f, &it, 1);
    assert_int_equal(f.s.out[0], LEDGER_SKIPPED);
    assert_int_equal(stored_phase(&f), MV_P_NONE);
    f.l.region = "CN";
    f.l.national = 1;
    apply(&f, &it, 1);
    assert_int_equal(f.s.out[0], LEDGER_APPLIED);
    assert_int_equal(stored_phase(&f), MV_P_DECLARED);
    assert_int_equal(due(&f, "claimwait", NULL), 0); /* not its gate */
    fx_close(&f);
}

static void test_keys(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 1 << 20);
    mv_event d = ev_declared("26CQ...");
    d.docs[0].no = "RW\t7 8";
    const char *keys[LEDGER_KEYS_MAX];
    size_t n;
    err_t e;
    assert_int_equal(ledger_keys(&d, &a, keys, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(keys[0], "c:MSCU1234565");
    assert_string_equal(keys[1], "d:CIM:RW_7_8");
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_declared_then_dup),
        cmocka_unit_test(test_chain_in_batch),
        cmocka_unit_test(test_park_then_unpark),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_skipped_off_itinerary),
    };
    return cmocka_run_group_tests(tests, stu_group_setup, stu_group_teardown);
}
