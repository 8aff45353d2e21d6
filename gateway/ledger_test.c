/* Unit tests for the apply engine (ledger.c) with the real rules and a
 * private redis-server: a declaration applied with its indexes and the
 * claim gate entry; a batch again is all duplicates; a chain of events
 * of one movement in one batch (release: the time limit set, the gate
 * entry gone); an event ahead of its prev parked, then applied once the
 * prev comes (in a later batch); a refusal recorded with its code; a
 * movement of others skipped; claim keys made safe for Redis; a parked
 * event refused once its prev comes leaves the park; another instance
 * applying between our load and our apply (STALE) makes the engine
 * decide again on what that instance stored; an amendment adding a
 * region refused. Envelopes
 * carry a dummy signature: the engine never checks them (the link did).
 * Each test has its own key prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>

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
    uint32_t before_n[16]; /* events of the state it was decided on */
} seen;

/* No cmocka assertion here: the STALE test calls it from threads. */
static void hook(void *ctx, const ledger_result *r)
{
    seen *s = ctx;
    if (s->n >= 16)
        return;
    s->out[s->n] = r->outcome;
    s->phase[s->n] = r->after ? r->after->phase : MV_P_NONE;
    s->before_n[s->n] = r->before ? r->before->nevents : 0;
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

/* ev as a v1:mvin record signed (in name) by origin: item in f's arena. */
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

/* A passage by SC (not on the itinerary) comes before the declaration:
 * parked; when the declaration comes it is refused and leaves the park,
 * so the next event of the movement neither decides nor reports it
 * again. */
static void test_parked_then_refused(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "l6:", "SH");
    mv_event d = ev_declared(f.ref);
    ledger_item dec = item_of(&f, &d, "CQ");
    mv_event p = {.version = 1, .type = MV_PASSAGE, .ref = f.ref,
                  .at_ms = AT0 + 5, .by = "SC", .prev = dec.id};
    ledger_item pass = item_of(&f, &p, "SC");
    apply(&f, &pass, 1);
    assert_int_equal(f.s.out[0], LEDGER_PARKED);
    apply(&f, &dec, 1);
    assert_int_equal(f.s.n, 2);
    assert_int_equal(f.s.out[1], LEDGER_REFUSED);
    assert_int_equal(f.s.code[1], ERR_DENIED);
    err_t e;
    int nparked = 0;
    assert_int_equal(store_mv_parked(f.st, f.ref, count_frames, &nparked, &e),
                     0);
    mv_event r = {.version = 1, .type = MV_RISK, .ref = f.ref,
                  .at_ms = AT0 + 6, .by = "CQ", .prev = dec.id,
                  .result = "cleared"};
    ledger_item risk = item_of(&f, &r, "CQ");
    apply(&f, &risk, 1);
    assert_int_equal(f.s.n, 1); /* the risk only */
    assert_int_equal(f.s.out[0], LEDGER_APPLIED);
    assert_int_equal(store_mv_outcome(f.st, f.ref, pass.id, NULL, &e), 2);
    fx_close(&f);
}

/* At SH, an amendment adding SC (off the itinerary: it kept nothing of
 * the declaration) is refused as invalid, naming SC; one dropping SN is
 * applied. Every node decides the same, so SC is never left with events
 * parked for good. */
static void test_amend_adds_no_region(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "l8:", "SH");
    mv_event d = ev_declared(f.ref);
    ledger_item it[3];
    it[0] = item_of(&f, &d, "CQ");
    mv_event add = d, drop = d;
    add.type = MV_AMENDED, add.at_ms = AT0 + 1, add.prev = it[0].id;
    add.nitin = 4, add.itin[3] = "SH", add.itin[2] = "SC";
    it[1] = item_of(&f, &add, "CQ");
    drop.type = MV_AMENDED, drop.at_ms = AT0 + 2, drop.prev = it[0].id;
    drop.nitin = 2, drop.itin[1] = "SH";
    it[2] = item_of(&f, &drop, "CQ");
    apply(&f, it, 3);
    assert_int_equal(f.s.n, 3);
    assert_int_equal(f.s.out[1], LEDGER_REFUSED);
    assert_int_equal(f.s.code[1], ERR_INVALID);
    assert_int_equal(f.s.out[2], LEDGER_APPLIED);
    buf_t why;
    buf_init(&why, 4096);
    err_t e;
    assert_int_equal(store_mv_outcome(f.st, f.ref, it[1].id, &why, &e), 2);
    assert_non_null(strstr(why.p, "region SC is not on itinerary CQ>SN>SH"));
    buf_free(&why);
    fx_close(&f);
}

/* ---- STALE: another instance of the node applies between our load and
 * our apply. CLIENT PAUSE WRITE lets both instances' loads through and
 * holds both applies, which Redis then runs in the order they came: the
 * other instance's first, so ours finds n moved on and must decide again
 * on the state the other wrote. ---- */

typedef struct racer {
    ledger l;
    seen s;
    arena_t a;
    const ledger_item *it;
    int rc;
    err_t e;
    pthread_t t;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    r->rc = ledger_apply(&r->l, r->it, 1, &r->a, &r->e);
    return NULL;
}

static long long redis_int(redisContext *c, const char *cmd)
{
    redisReply *r = redisCommand(c, cmd);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r && r->type == REDIS_REPLY_STRING) { /* INFO: blocked_clients */
        const char *b = strstr(r->str, "blocked_clients:");
        v = b ? atoll(b + 16) : -1;
    }
    if (r)
        freeReplyObject(r);
    return v;
}

/* Start r and wait until its apply is held (want clients held). */
static void race_start(racer *r, redisContext *c, long long want)
{
    assert_int_equal(pthread_create(&r->t, NULL, race, r), 0);
    for (int i = 0; i < 500 && redis_int(c, "INFO clients") < want; i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    if (redis_int(c, "INFO clients") < want) {
        freeReplyObject(redisCommand(c, "CLIENT UNPAUSE"));
        pthread_join(r->t, NULL);
        fail_msg("the ledger's apply was not held by CLIENT PAUSE WRITE");
    }
}

static redisContext *pause_writes(void)
{
    redisContext *c = redisConnect("127.0.0.1", atoi(strrchr(g_url, ':') + 1));
    redisReply *r = c && !c->err ? redisCommand(c, "CLIENT PAUSE 20000 WRITE")
                                 : NULL;
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    if (!ok) { /* Redis before 6.2 */
        if (c)
            redisFree(c);
        skip();
    }
    return c;
}

static void test_stale_retry(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "l7:", "SH");
    mv_event d = ev_declared(f.ref);
    ledger_item dec = item_of(&f, &d, "CQ");
    apply(&f, &dec, 1);
    mv_event st = {.version = 1, .type = MV_STATUS, .ref = f.ref,
                   .at_ms = AT0 + 1, .by = "SH", .prev = dec.id,
                   .result = "gate_in"};
    mv_event rk = {.version = 1, .type = MV_RISK, .ref = f.ref,
                   .at_ms = AT0 + 2, .by = "CQ", .prev = dec.id,
                   .result = "cleared"};
    ledger_item its[2] = {item_of(&f, &st, "SH"), item_of(&f, &rk, "CQ")};
    racer *r = calloc(2, sizeof *r);
    store *other = stu_open(g_url, "l7:"); /* the other instance */
    for (int i = 0; i < 2; i++) {
        r[i].l = f.l;
        r[i].l.hook_ctx = &r[i].s;
        r[i].it = &its[i];
        arena_init(&r[i].a, 16u << 20);
    }
    r[0].l.st = other;
    redisContext *c = pause_writes();
    race_start(&r[0], c, 1);
    race_start(&r[1], c, 2);
    freeReplyObject(redisCommand(c, "CLIENT UNPAUSE"));
    redisFree(c);
    for (int i = 0; i < 2; i++) {
        pthread_join(r[i].t, NULL);
        if (r[i].rc != 0)
            fail_msg("ledger_apply %d: %s", i, r[i].e.msg);
        assert_int_equal(r[i].s.n, 1); /* told once, stale round unsaid */
        assert_int_equal(r[i].s.out[0], LEDGER_APPLIED);
    }
    assert_int_equal(r[0].s.before_n[0], 1);
    assert_int_equal(r[1].s.before_n[0], 2); /* decided again, on 2 */
    buf_t b;
    buf_init(&b, 1 << 20);
    err_t e;
    mv_state s;
    assert_int_equal(store_mv_state(f.st, f.ref, &b, &e), 0);
    assert_int_equal(mv_state_decode(b.p, b.len, &f.a, &s, &e), 0);
    assert_int_equal(s.nevents, 3);
    assert_string_equal(s.last_id, its[1].id);
    assert_string_equal(s.risk, "cleared");
    int nlog = 0;
    assert_int_equal(store_mv_log(f.st, f.ref, count_frames, &nlog, &e), 3);
    nlog = 0; /* the declaration alone, the rest not read */
    assert_int_equal(store_mv_log_first(f.st, f.ref, count_frames, &nlog, &e),
                     1);
    assert_int_equal(nlog, 1);
    assert_int_equal(store_mv_log_first(f.st, "26CQ00000000000A2Y", count_frames,
                                        &nlog, &e), 0);
    buf_free(&b);
    for (int i = 0; i < 2; i++)
        arena_free(&r[i].a);
    free(r);
    store_close(other);
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
        cmocka_unit_test(test_parked_then_refused),
        cmocka_unit_test(test_stale_retry),
        cmocka_unit_test(test_amend_adds_no_region),
    };
    return cmocka_run_group_tests(tests, stu_group_setup, stu_group_teardown);
}
