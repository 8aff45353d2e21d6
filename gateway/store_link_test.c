/* Unit tests for the receiver side of a link (store_link.c) against a
 * private redis-server: the position rules, delivering once, forwarding,
 * receipts coming home, a pipelined batch of 1000, refused ops, and a
 * Redis that goes away and comes back empty. Each test has its own key
 * prefix, so they share one server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store_int.h" /* SCRIPT FLUSH, as a restarted Redis */
#include "store_mv.h"
#include "store_test_util.h"

static store_pos P(uint64_t ms, uint64_t seq) { return (store_pos){ms, seq}; }

/* One op, checked to come back with status want; returns its result. */
static store_link_result apply1(store *st, const char *peer, store_pos prev,
                                store_pos pos, const store_effect *fx,
                                store_link_status want)
{
    store_link_op op = {prev, pos, fx};
    store_link_result res = {0};
    err_t e = {0};
    if (store_link_apply(st, peer, &op, 1, &res, &e) != 0)
        fail_msg("store_link_apply: %s", e.msg);
    assert_int_equal(res.status, want);
    return res;
}

static void assert_pos(store_pos got, uint64_t ms, uint64_t seq)
{
    assert_int_equal(got.ms, ms);
    assert_int_equal(got.seq, seq);
}

static void test_pos_text(void **state)
{
    (void)state;
    store_pos p;
    char s[STORE_ID_MAX];
    assert_int_equal(store_pos_parse("1700000000000-7", &p), 0);
    assert_pos(p, 1700000000000ULL, 7);
    assert_int_equal(store_pos_parse("18446744073709551615-0", &p), 0);
    assert_true(p.ms == UINT64_MAX);
    store_pos_format(P(UINT64_MAX, UINT64_MAX), s);
    assert_string_equal(s, "18446744073709551615-18446744073709551615");
    const char *bad[] = {"", "1", "1-", "-1", "1-2x", " 1-2", "+1-2", "1--2",
                         "18446744073709551616-0", "1-2-3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(store_pos_parse(bad[i], &p), ERR_SYNTAX);
    assert_true(store_pos_cmp(P(1, 9), P(2, 0)) < 0);
    assert_true(store_pos_cmp(P(2, 10), P(2, 9)) > 0);
    assert_int_equal(store_pos_cmp(P(3, 3), P(3, 3)), 0);
}

static void test_link_rules(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "l1:");
    err_t e = {0};
    store_pos last;
    assert_int_equal(store_link_last(st, "SC", &last, &e), 0);
    assert_pos(last, 0, 0);
    /* the first frame, with prev [0,0], is taken */
    assert_pos(apply1(st, "SC", P(0, 0), P(10, 0), NULL, STORE_LINK_DONE)
               .last, 10, 0);
    assert_pos(apply1(st, "SC", P(0, 0), P(10, 0), NULL, STORE_LINK_OLD)
               .last, 10, 0);
    assert_pos(apply1(st, "SC", P(11, 0), P(12, 0), NULL, STORE_LINK_GAP)
               .last, 10, 0);
    apply1(st, "SC", P(10, 0), P(11, 0), NULL, STORE_LINK_DONE);
    apply1(st, "SC", P(0, 0), P(5, 0), NULL, STORE_LINK_OLD);
    store_close(st);
    st = stu_open(g_url, "l1:"); /* positions survive a reconnect */
    assert_int_equal(store_link_last(st, "SC", &last, &e), 0);
    assert_pos(last, 11, 0);
    /* seq 10 follows seq 9: compared as numbers, not strings */
    apply1(st, "SC", P(11, 0), P(11, 9), NULL, STORE_LINK_DONE);
    apply1(st, "SC", P(11, 9), P(11, 10), NULL, STORE_LINK_DONE);
    apply1(st, "SC", P(11, 9), P(11, 9), NULL, STORE_LINK_OLD);
    /* past 2^53, where a double would round */
    apply1(st, "SC", P(11, 10), P(UINT64_MAX - 1, 0), NULL, STORE_LINK_DONE);
    apply1(st, "SC", P(UINT64_MAX - 1, 0), P(UINT64_MAX, 0), NULL,
           STORE_LINK_DONE);
    assert_pos(apply1(st, "SC", P(0, 0), P(UINT64_MAX - 1, 1), NULL,
                      STORE_LINK_OLD).last, UINT64_MAX, 0);
    assert_int_equal(store_link_last(st, "SH", &last, &e), 0);
    assert_pos(last, 0, 0); /* links are independent */
    store_close(st);
}

static const unsigned char D1[STORE_DIGEST_LEN] = {1, 2, 3};
static const unsigned char D2[STORE_DIGEST_LEN] = {9, 9, 9};

static store_effect dest_fx(const char *id, const unsigned char *digest,
                            const char *frame, const char *receipt)
{
    return (store_effect){.msg_id = id, .origin = "SH", .digest = digest,
        .frame = frame, .frame_n = strlen(frame), .receipt = receipt,
        .receipt_n = receipt ? strlen(receipt) : 0, .receipt_peer = "SC",
        .seen_ttl_ms = 60000};
}

typedef struct dl { int n; char reason[4][40]; char frame[4][16]; } dl;

static int dl_keep(void *ctx, const store_dlq_entry *d, err_t *e)
{
    (void)e;
    dl *l = ctx;
    assert_true(l->n < 4 && d->n < 16);
    snprintf(l->reason[l->n], 40, "%s", d->reason);
    memcpy(l->frame[l->n], d->frame, d->n);
    l->frame[l->n++][d->n] = '\0';
    return 0;
}

/* A movement event (ledger) lands in v1:mvin, and only there; a record
 * beside it in v1:in; a duplicate of either adds nothing. */
static void test_destination_ledger_stream(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "l2m:");
    err_t e = {0};
    stu_seen *s = calloc(1, sizeof *s);
    store_effect mv = dest_fx("MV1", D1, "MVFRAME", "R1");
    mv.ledger = 1;
    store_effect rec = dest_fx("RC1", D2, "RCFRAME", "R2");
    apply1(st, "SC", P(0, 0), P(1, 0), &mv, STORE_LINK_DONE);
    apply1(st, "SC", P(1, 0), P(2, 0), &rec, STORE_LINK_DONE);
    apply1(st, "SC", P(2, 0), P(3, 0), &mv, STORE_LINK_DONE);
    assert_int_equal(store_mvin_after(st, P(0, 0), 10, stu_in_entry, s, &e),
                     1);
    assert_string_equal(s->id[0], "MV1");
    assert_string_equal(s->frame[0], "MVFRAME");
    s->n = 0;
    assert_int_equal(store_in_after(st, P(0, 0), 10, stu_in_entry, s, &e), 1);
    assert_string_equal(s->id[0], "RC1");
    free(s);
    store_close(st);
}

static void test_destination_once(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "l2:");
    err_t e = {0};
    stu_seen *s = calloc(1, sizeof *s);
    store_effect fx = dest_fx("M1", D1, "FRAME1", "R1");
    assert_int_equal(apply1(st, "SC", P(0, 0), P(1, 0), &fx,
                            STORE_LINK_DONE).dup, 0);
    assert_int_equal(store_in_after(st, P(0, 0), 10, stu_in_entry, s, &e), 1);
    assert_string_equal(s->id[0], "M1");
    assert_string_equal(s->origin[0], "SH");
    assert_string_equal(s->frame[0], "FRAME1");
    /* again in a later frame, with a new receipt: the original goes out */
    fx.receipt = "R2";
    assert_int_equal(apply1(st, "SC", P(1, 0), P(2, 0), &fx,
                            STORE_LINK_DONE).dup, 1);
    assert_int_equal(store_in_len(st, &e), 1);
    s->n = 0;
    assert_int_equal(store_outbox_after(st, "SC", P(0, 0), 10, stu_pos_entry,
                                        s, &e), 2);
    assert_string_equal(s->frame[0], "R1");
    assert_string_equal(s->frame[1], "R1");
    /* same id, other payload: refused, dead-lettered, link moves on */
    store_effect bad = dest_fx("M1", D2, "OTHER", "R3");
    store_link_result r = apply1(st, "SC", P(2, 0), P(3, 0), &bad,
                                 STORE_LINK_DONE);
    assert_int_equal(r.reuse, 1);
    assert_pos(r.last, 3, 0);
    dl l = {0};
    assert_int_equal(store_dlq_list(st, 4, dl_keep, &l, &e), 1);
    assert_string_equal(l.reason[0], "refused: id-reuse");
    assert_string_equal(l.frame[0], "OTHER");
    assert_int_equal(stu_outbox_count(st, "SC"), 2);
    /* no receipt kept: dup 2, nothing enqueued */
    store_effect bare = dest_fx("M2", D1, "F2", NULL);
    apply1(st, "SC", P(3, 0), P(4, 0), &bare, STORE_LINK_DONE);
    assert_int_equal(apply1(st, "SC", P(4, 0), P(5, 0), &bare,
                            STORE_LINK_DONE).dup, 2);
    assert_int_equal(stu_outbox_count(st, "SC"), 2);
    assert_int_equal(store_in_len(st, &e), 2);
    free(s);
    store_close(st);
}

static void test_forward_two_peers(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "l3:");
    err_t e = {0};
    const char *peers[] = {"SH", "SN"};
    store_effect fx = dest_fx("M1", D1, "IN", "RC");
    fx.fwd = "FWD", fx.fwd_n = 3, fx.fwd_peers = peers, fx.nfwd = 2;
    apply1(st, "CQ", P(0, 0), P(7, 1), &fx, STORE_LINK_DONE);
    assert_int_equal(stu_outbox_count(st, "SH"), 1);
    assert_int_equal(stu_outbox_count(st, "SN"), 1);
    assert_int_equal(stu_outbox_count(st, "SC"), 1); /* the receipt */
    /* a resent duplicate is still forwarded: a later hop may lack it */
    assert_int_equal(apply1(st, "CQ", P(7, 1), P(8, 0), &fx,
                            STORE_LINK_DONE).dup, 1);
    stu_seen *s = calloc(1, sizeof *s);
    assert_int_equal(store_outbox_after(st, "SN", P(0, 0), 10, stu_pos_entry,
                                        s, &e), 2);
    assert_string_equal(s->frame[1], "FWD");
    assert_int_equal(store_in_len(st, &e), 1);
    free(s);
    store_close(st);
}

typedef struct rc_seen { int n; char from[4][8], frame[4][8]; } rc_seen;

static int rc_keep(void *ctx, const char *from, const void *frame, size_t n,
                   err_t *e)
{
    (void)e;
    rc_seen *r = ctx;
    assert_true(r->n < 4 && n < 8);
    snprintf(r->from[r->n], 8, "%s", from);
    memcpy(r->frame[r->n], frame, n);
    r->frame[r->n++][n] = '\0';
    return 0;
}

static store_effect rcpt_fx(const char *id, const char *from, const char *f)
{
    return (store_effect){.receipted_id = id, .receipt_from = from,
                          .rcpt = f, .rcpt_n = strlen(f)};
}

static void test_receipt_home(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "l4:");
    err_t e = {0};
    const char *hops[] = {"SC", "SC", "SN"}, *dests[] = {"SH", "XZ"};
    assert_int_equal(store_submit(st, "M1", "F", 1, hops, 3, dests, 2, 1000,
                                  5000, &e), 0);
    assert_int_equal(stu_outbox_count(st, "SC"), 1); /* distinct hops */
    assert_int_equal(stu_outbox_count(st, "SN"), 1);
    store_effect a = rcpt_fx("M1", "SH", "RSH");
    apply1(st, "SC", P(0, 0), P(1, 0), &a, STORE_LINK_DONE);
    assert_int_equal(store_await_len(st, &e), 1); /* XZ still missing */
    store_effect b = rcpt_fx("M1", "XZ", "RXZ");
    apply1(st, "SC", P(1, 0), P(2, 0), &b, STORE_LINK_DONE);
    assert_int_equal(store_await_len(st, &e), 0);
    assert_int_equal(store_await_reschedule(st, "M1", 9000, &e), 0);
    assert_int_equal(store_await_len(st, &e), 0);
    rc_seen r = {0};
    assert_int_equal(store_rcpt_list(st, "M1", rc_keep, &r, &e), 2);
    assert_string_equal(r.from[0], "SH");
    assert_string_equal(r.frame[1], "RXZ");
    /* a late duplicate keeps the first receipt; an unknown id is noted */
    store_effect late = rcpt_fx("M1", "SH", "LATE");
    apply1(st, "SC", P(2, 0), P(3, 0), &late, STORE_LINK_DONE);
    store_effect other = rcpt_fx("M9", "SH", "R9");
    apply1(st, "SC", P(3, 0), P(4, 0), &other, STORE_LINK_DONE);
    r.n = 0;
    assert_int_equal(store_rcpt_list(st, "M1", rc_keep, &r, &e), 2);
    assert_string_equal(r.frame[0], "RSH");
    assert_int_equal(store_rcpt_list(st, "M9", rc_keep, &r, &e), 1);
    assert_int_equal(store_await_len(st, &e), 0);
    store_close(st);
}

/* 1000 deliveries in one call, then the same batch again (a retry after
 * a lost answer): nothing is applied twice. */
static void test_batch_1000(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "l5:");
    err_t e = {0};
    enum { N = 1000 };
    store_link_op *ops = calloc(N, sizeof *ops);
    store_effect *fx = calloc(N, sizeof *fx);
    store_link_result *res = calloc(N, sizeof *res);
    char (*ids)[16] = calloc(N, 16);
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], 16, "M%d", i);
        fx[i] = dest_fx(ids[i], D1, ids[i], "R");
        ops[i] = (store_link_op){P(100 + (uint64_t)i - (i > 0), 0),
                                 P(100 + (uint64_t)i, 0), &fx[i]};
    }
    ops[0].prev = P(0, 0);
    assert_int_equal(store_link_apply(st, "SC", ops, N, res, &e), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(res[i].status, STORE_LINK_DONE);
    assert_pos(res[N - 1].last, 100 + N - 1, 0);
    assert_int_equal(store_in_len(st, &e), N);
    assert_int_equal(stu_outbox_count(st, "SC"), N);
    assert_int_equal(store_link_apply(st, "SC", ops, N, res, &e), 0);
    assert_int_equal(res[0].status, STORE_LINK_OLD);
    assert_int_equal(res[N - 1].status, STORE_LINK_OLD);
    assert_int_equal(store_in_len(st, &e), N);
    free(ops), free(fx), free(res), free(ids);
    store_close(st);
}

/* A malformed op refuses the whole call before anything is sent. */
static void test_bad_ops(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "l6:");
    err_t e = {0};
    const char *bad_peer[] = {"S:C"};
    store_effect ok = {0}, fwd = {.fwd = "F", .fwd_n = 1,
                                  .fwd_peers = bad_peer, .nfwd = 1};
    store_effect nodigest = dest_fx("M1", NULL, "F", "R");
    store_effect many = {.nfwd = STORE_FWD_MAX + 1, .fwd_peers = bad_peer};
    const store_effect *bad[] = {&fwd, &nodigest, &many};
    for (int i = 0; i < 3; i++) {
        store_link_op ops[2] = {{P(0, 0), P(1, 0), &ok},
                                {P(1, 0), P(2, 0), bad[i]}};
        store_link_result res[2];
        assert_int_equal(store_link_apply(st, "SC", ops, 2, res, &e),
                         ERR_INVALID);
        assert_non_null(strstr(e.msg, "op 1"));
    }
    store_pos last;
    assert_int_equal(store_link_last(st, "SC", &last, &e), 0);
    assert_pos(last, 0, 0);
    store_link_op op = {P(0, 0), P(1, 0), NULL};
    store_link_result res;
    assert_int_equal(store_link_apply(st, "bad peer", &op, 1, &res, &e),
                     ERR_INVALID);
    store_close(st);
}

/* Redis dies mid-run: calls fail naming the URL; a new empty Redis on the
 * same port is found by the next call, which also reloads the scripts
 * the new server does not know. */
static void test_redis_goes_away(void **state)
{
    (void)state;
    if (!g_url[0])
        skip();
    char url[64];
    pid_t pid;
    assert_int_equal(test_redis_start(url, &pid), 0);
    store *st = stu_open(url, "l7:");
    err_t e = {0};
    store_pos last;
    apply1(st, "SC", P(0, 0), P(1, 0), NULL, STORE_LINK_DONE);
    assert_int_equal(store_outbox_trim_upto(st, "SC", P(1, 0), &e), 0);
    test_redis_stop(pid);
    store_link_op op = {P(1, 0), P(2, 0), NULL};
    store_link_result res;
    assert_int_equal(store_link_apply(st, "SC", &op, 1, &res, &e), ERR_IO);
    assert_non_null(strstr(e.msg, url));
    assert_int_equal(store_link_last(st, "SC", &last, &e), ERR_IO);
    assert_non_null(strstr(e.msg, url));
    assert_int_equal(store_outbox_trim_upto(st, "SC", P(1, 0), &e), ERR_IO);
    assert_int_equal(stu_redis_restart(url, &pid), 0);
    apply1(st, "SC", P(0, 0), P(3, 0), NULL, STORE_LINK_DONE);
    assert_int_equal(store_link_last(st, "SC", &last, &e), 0);
    assert_pos(last, 3, 0);
    char id[STORE_ID_MAX];
    assert_int_equal(store_outbox_add(st, "SC", "f", 1, id, &e), 0);
    assert_int_equal(store_outbox_trim_upto(st, "SC", P(UINT64_MAX, 0), &e),
                     1);
    store_close(st);
    test_redis_stop(pid);
}

/* Two runs of two links in flight on one connection: nothing else may
 * use it meanwhile; collected in order, each gets its own results. */
static void test_send_collect(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "l8:");
    err_t e = {0};
    store_effect fx[3] = {dest_fx("A1", D1, "F1", "R1"),
                          dest_fx("A2", D1, "F2", "R2"),
                          dest_fx("A3", D1, "F3", "R3")};
    store_link_op a[3] = {{P(0, 0), P(1, 0), &fx[0]}, {P(1, 0), P(2, 0), &fx[1]},
                          {P(2, 0), P(3, 0), &fx[2]}};
    store_link_op b[2] = {{P(0, 0), P(5, 0), NULL}, {P(6, 0), P(7, 0), NULL}};
    store_link_pending pa, pb;
    store_link_result ra[3], rb[2];
    assert_int_equal(store_link_send(st, "SC", a, 3, &pa, &e), 0);
    assert_int_equal(store_link_send(st, "SN", b, 2, &pb, &e), 0);
    store_pos last;
    assert_int_equal(store_link_last(st, "SC", &last, &e), ERR_USAGE);
    assert_int_equal(store_link_collect(st, a, &pa, ra, &e), 0);
    assert_int_equal(store_link_collect(st, b, &pb, rb, &e), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ra[i].status, STORE_LINK_DONE);
        assert_pos(ra[i].last, (uint64_t)i + 1, 0);
    }
    assert_int_equal(rb[0].status, STORE_LINK_DONE);
    assert_int_equal(rb[1].status, STORE_LINK_GAP);
    assert_pos(rb[1].last, 5, 0);
    assert_int_equal(store_in_len(st, &e), 3);
    assert_int_equal(store_link_last(st, "SC", &last, &e), 0);
    assert_pos(last, 3, 0);
    /* the same run again: all OLD, nothing applied twice */
    assert_int_equal(store_link_send(st, "SC", a, 3, &pa, &e), 0);
    assert_int_equal(store_link_collect(st, a, &pa, ra, &e), 0);
    assert_int_equal(ra[2].status, STORE_LINK_OLD);
    assert_int_equal(store_in_len(st, &e), 3);
    store_close(st);
}

/* One frame with every part of an effect, in the script's one layout. */
static void test_all_parts(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "l9:");
    err_t e = {0};
    const char *hops[] = {"SN"}, *dests[] = {"SH"}, *peers[] = {"SN", "XZ"};
    assert_int_equal(store_submit(st, "M1", "F", 1, hops, 1, dests, 1, 1000,
                                  5000, &e), 0);
    store_effect fx = dest_fx("M2", D1, "IN", "RC");
    fx.fwd = "FWD", fx.fwd_n = 3, fx.fwd_peers = peers, fx.nfwd = 2;
    fx.receipted_id = "M1", fx.receipt_from = "SH", fx.rcpt = "RSH";
    fx.rcpt_n = 3, fx.dlq_reason = "why", fx.dlq_where = "here";
    fx.dlq_frame = "DL", fx.dlq_n = 2;
    store_link_op ops[2] = {{P(0, 0), P(1, 0), &fx}, {P(1, 0), P(2, 0), NULL}};
    store_link_result res[2];
    assert_int_equal(store_link_apply(st, "SC", ops, 2, res, &e), 0);
    assert_int_equal(res[0].status, STORE_LINK_DONE);
    assert_int_equal(res[1].status, STORE_LINK_DONE);
    assert_int_equal(store_in_len(st, &e), 1);
    assert_int_equal(stu_outbox_count(st, "SC"), 1); /* our receipt */
    assert_int_equal(stu_outbox_count(st, "SN"), 2); /* submit + forward */
    assert_int_equal(stu_outbox_count(st, "XZ"), 1);
    assert_int_equal(store_await_len(st, &e), 0);
    dl l = {0};
    assert_int_equal(store_dlq_list(st, 4, dl_keep, &l, &e), 1);
    assert_string_equal(l.reason[0], "why");
    assert_string_equal(l.frame[0], "DL");
    store_close(st);
}

static void flush_scripts(void)
{
    store *other = stu_open(g_url, "lx:");
    st_args a = {0};
    st_arg_s(&a, "SCRIPT"), st_arg_s(&a, "FLUSH");
    redisReply *r;
    err_t e = {0};
    assert_int_equal(st_cmd(other, &a, -1, &r, &e), 0);
    freeReplyObject(r);
    store_close(other);
}

/* Redis lost its scripts: a run alone is run again once reloaded; with
 * another run behind it, both fail (ERR_IO, nothing acked) and the next
 * call starts afresh. */
static void test_noscript(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "la:");
    err_t e = {0};
    store_link_op a[2] = {{P(0, 0), P(1, 0), NULL}, {P(1, 0), P(2, 0), NULL}};
    store_link_op b[1] = {{P(0, 0), P(1, 0), NULL}};
    store_link_pending pa, pb;
    store_link_result ra[2], rb[1];
    apply1(st, "SX", P(0, 0), P(1, 0), NULL, STORE_LINK_DONE); /* loaded */
    flush_scripts();
    assert_int_equal(store_link_send(st, "SC", a, 2, &pa, &e), 0);
    assert_int_equal(store_link_collect(st, a, &pa, ra, &e), 0);
    assert_int_equal(ra[1].status, STORE_LINK_DONE);
    assert_pos(ra[1].last, 2, 0);
    flush_scripts();
    assert_int_equal(store_link_send(st, "SD", a, 2, &pa, &e), 0);
    assert_int_equal(store_link_send(st, "SN", b, 1, &pb, &e), 0);
    assert_int_equal(store_link_collect(st, a, &pa, ra, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "script cache lost"));
    assert_int_equal(store_link_collect(st, b, &pb, rb, &e), ERR_IO);
    assert_int_equal(store_link_apply(st, "SD", a, 2, ra, &e), 0);
    assert_int_equal(ra[1].status, STORE_LINK_DONE);
    store_close(st);
}

typedef struct refs { int n; char ref[4][24]; } refs;

static int ref_keep(void *ctx, const char *ref, int64_t score, err_t *e)
{
    (void)e, (void)score;
    refs *r = ctx;
    if (r->n < 4) /* the first four are kept, the rest counted */
        snprintf(r->ref[r->n], 24, "%s", ref);
    r->n++;
    return 0;
}

static int claims_of(store *st, const char *key, refs *r)
{
    err_t e = {0};
    r->n = 0;
    int n = store_mv_claims(st, key, ref_keep, r, &e);
    if (n < 0)
        fail_msg("store_mv_claims: %s", e.msg);
    return n;
}

/* A claim rides with the destination part and is written only when the
 * message is stored: not for a duplicate, not for an id reuse. */
static void test_claim_on_store(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "lb:");
    err_t e = {0};
    refs r;
    const char *keys[] = {"c:MSCU1234565", "d:BL:B7"};
    store_mv_claim a = {"26CQA", 100, keys, 2, 1}, b = {"26SNB", 50, keys, 1, 1};
    store_effect fx = dest_fx("M1", D1, "F1", "R1");
    fx.claim = &a;
    apply1(st, "SC", P(0, 0), P(1, 0), &fx, STORE_LINK_DONE);
    assert_int_equal(claims_of(st, "c:MSCU1234565", &r), 1);
    assert_string_equal(r.ref[0], "26CQA");
    assert_int_equal(claims_of(st, "d:BL:B7", &r), 1);
    fx.claim = &b; /* the same message again: a duplicate claims nothing */
    assert_int_equal(apply1(st, "SC", P(1, 0), P(2, 0), &fx,
                            STORE_LINK_DONE).dup, 1);
    store_effect reuse = dest_fx("M1", D2, "F9", "R9");
    reuse.claim = &b;
    assert_int_equal(apply1(st, "SC", P(2, 0), P(3, 0), &reuse,
                            STORE_LINK_DONE).reuse, 1);
    assert_int_equal(claims_of(st, "c:MSCU1234565", &r), 1);
    store_effect nb = dest_fx("M2", D1, "F2", "R2");
    nb.claim = &b;
    apply1(st, "SC", P(3, 0), P(4, 0), &nb, STORE_LINK_DONE);
    assert_int_equal(claims_of(st, "c:MSCU1234565", &r), 2);
    assert_string_equal(r.ref[0], "26SNB"); /* declared earlier: first */
    store_mv_claim end = {"26CQA", 0, keys, 2, 0};
    store_effect cancel = dest_fx("M3", D1, "F3", "R3");
    cancel.claim = &end;
    apply1(st, "SC", P(4, 0), P(5, 0), &cancel, STORE_LINK_DONE);
    assert_int_equal(claims_of(st, "c:MSCU1234565", &r), 1);
    assert_string_equal(r.ref[0], "26SNB");
    assert_int_equal(claims_of(st, "d:BL:B7", &r), 0);
    /* a claim without a destination part, or a bad key: refused */
    store_effect alone = {.claim = &a};
    const char *bad_keys[] = {"c:MSCU 1"};
    store_mv_claim bad = {"26CQA", 1, bad_keys, 1, 1};
    store_effect badk = dest_fx("M4", D1, "F4", "R4");
    badk.claim = &bad;
    const store_effect *refused[] = {&alone, &badk};
    for (int i = 0; i < 2; i++) {
        store_link_op op = {P(5, 0), P(6, 0), refused[i]};
        store_link_result res;
        assert_int_equal(store_link_apply(st, "SC", &op, 1, &res, &e),
                         ERR_INVALID);
        assert_non_null(strstr(e.msg, "claim part"));
    }
    store_close(st);
}

/* Ops with many claim keys take more arguments than a plain op: a call
 * then holds fewer of them, and every one is still applied once. */
static void test_claim_many_keys(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "lc:");
    err_t e = {0};
    enum { N = 200, K = STORE_MV_NKEYS_MAX };
    char (*names)[16] = calloc(K, 16), (*ids)[16] = calloc(N, 16);
    const char **keys = calloc(K, sizeof *keys);
    store_mv_claim *c = calloc(N, sizeof *c);
    store_effect *fx = calloc(N, sizeof *fx);
    store_link_op *ops = calloc(N, sizeof *ops);
    store_link_result *res = calloc(N, sizeof *res);
    for (int k = 0; k < K; k++) {
        snprintf(names[k], 16, "c:CTR%d", k);
        keys[k] = names[k];
    }
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], 16, "R%d", i);
        c[i] = (store_mv_claim){ids[i], i, keys, K, 1};
        fx[i] = dest_fx(ids[i], D1, ids[i], "R");
        fx[i].claim = &c[i];
        ops[i] = (store_link_op){P((uint64_t)i, 0), P((uint64_t)i + 1, 0),
                                 &fx[i]};
    }
    assert_int_equal(store_link_apply(st, "SC", ops, N, res, &e), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(res[i].status, STORE_LINK_DONE);
    refs r;
    assert_int_equal(claims_of(st, "c:CTR0", &r), N);
    assert_string_equal(r.ref[0], "R0");
    assert_string_equal(r.ref[3], "R3");
    char key[ST_KEY_MAX];
    snprintf(key, sizeof key, "lc:v1:claim:c:CTR%d", K - 1);
    assert_int_equal(st_count(st, "ZCARD", key, &e), N);
    free(names), free(ids), free(keys), free(c), free(fx), free(ops);
    free(res);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pos_text),
        cmocka_unit_test(test_link_rules),
        cmocka_unit_test(test_destination_once),
        cmocka_unit_test(test_destination_ledger_stream),
        cmocka_unit_test(test_forward_two_peers),
        cmocka_unit_test(test_receipt_home),
        cmocka_unit_test(test_batch_1000),
        cmocka_unit_test(test_bad_ops),
        cmocka_unit_test(test_redis_goes_away),
        cmocka_unit_test(test_send_collect),
        cmocka_unit_test(test_all_parts),
        cmocka_unit_test(test_noscript),
        cmocka_unit_test(test_claim_on_store),
        cmocka_unit_test(test_claim_many_keys),
    };
    return cmocka_run_group_tests(tests, stu_group_setup, stu_group_teardown);
}
