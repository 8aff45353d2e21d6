/* Unit tests for the origin and sender sides of the store against a
 * private redis-server: submitting, the resend schedule (due order,
 * reschedule, drop), reading an outbox after a position and trimming it
 * up to an ack, reading delivered records, and peer status hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>

#include "store_test_util.h"

typedef struct due {
    int n;
    char id[8][8], frame[8][8], wait[8][16];
    int64_t attempts[8], created[8];
} due;

static int due_keep(void *ctx, const char *id, const void *frame, size_t n,
                    const char *wait, int64_t attempts, int64_t created_ms,
                    err_t *e)
{
    (void)e;
    due *d = ctx;
    assert_true(d->n < 8 && n < 8);
    snprintf(d->id[d->n], 8, "%s", id);
    memcpy(d->frame[d->n], frame, n);
    d->frame[d->n][n] = '\0';
    snprintf(d->wait[d->n], 16, "%s", wait);
    d->attempts[d->n] = attempts;
    d->created[d->n++] = created_ms;
    return 0;
}

static void submit(store *st, const char *id, int64_t retry_at)
{
    const char *hops[] = {"SC"}, *dests[] = {"SH", "SN"};
    err_t e = {0};
    if (store_submit(st, id, id, strlen(id), hops, 1, dests, 2, 42, retry_at,
                     &e) != 0)
        fail_msg("store_submit: %s", e.msg);
}

static void test_await_schedule(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "o1:");
    err_t e = {0};
    due d = {0};
    submit(st, "A", 100), submit(st, "B", 50), submit(st, "C", 300);
    assert_int_equal(store_await_due(st, 200, 10, due_keep, &d, &e), 2);
    assert_string_equal(d.id[0], "B"); /* earliest first */
    assert_string_equal(d.id[1], "A");
    assert_string_equal(d.frame[1], "A");
    assert_string_equal(d.wait[0], "SH SN");
    assert_int_equal(d.attempts[0], 0);
    assert_int_equal(d.created[0], 42);
    assert_int_equal(store_await_reschedule(st, "B", 400, &e), 1);
    d.n = 0;
    assert_int_equal(store_await_due(st, 200, 10, due_keep, &d, &e), 1);
    assert_string_equal(d.id[0], "A");
    d.n = 0;
    assert_int_equal(store_await_due(st, 1000, 2, due_keep, &d, &e), 2);
    assert_string_equal(d.id[1], "C"); /* count respected */
    d.n = 0;
    assert_int_equal(store_await_due(st, 1000, 10, due_keep, &d, &e), 3);
    assert_string_equal(d.id[2], "B");
    assert_int_equal(d.attempts[2], 1);
    assert_int_equal(store_await_drop(st, "A", &e), 1);
    assert_int_equal(store_await_drop(st, "A", &e), 0);
    assert_int_equal(store_await_len(st, &e), 2);
    /* what is gone is never scheduled again */
    assert_int_equal(store_await_reschedule(st, "A", 10, &e), 0);
    assert_int_equal(store_await_len(st, &e), 2);
    store_close(st);
}

/* A submit rings the doorbell: the subscribed socket turns readable and
 * drain counts the notification; another prefix's submit does not. */
static void test_wake(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "o9:"), *other = stu_open(g_url, "o8:");
    store_wake *w = NULL;
    err_t e = {0};
    assert_int_equal(store_wake_open(st, &w, &e), 0);
    const char *hops[] = {"SC"}, *dests[] = {"SH"};
    struct pollfd p = {.fd = store_wake_fd(w), .events = POLLIN};
    assert_true(p.fd >= 0);
    assert_int_equal(store_submit(other, "X", "F", 1, hops, 1, dests, 1, 1, 2,
                                  &e), 0);
    assert_int_equal(poll(&p, 1, 200), 0);
    assert_int_equal(store_submit(st, "W", "F", 1, hops, 1, dests, 1, 1, 2,
                                  &e), 0);
    assert_int_equal(poll(&p, 1, 2000), 1);
    assert_true(store_wake_drain(w, &e) >= 1);
    store_wake_close(w);
    store_close(other);
    store_close(st);
}

static void test_submit_once(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "o2:");
    err_t e = {0};
    const char *hops[] = {"SC", "SN", "SC"}, *dests[] = {"SH"};
    const char *bad[] = {"S C"};
    assert_int_equal(store_submit(st, "M", "F", 1, hops, 3, dests, 1, 1, 2,
                                  &e), 0);
    assert_int_equal(store_submit(st, "M", "F", 1, hops, 3, dests, 1, 1, 2,
                                  &e), 1);
    assert_int_equal(stu_outbox_count(st, "SC"), 1);
    assert_int_equal(stu_outbox_count(st, "SN"), 1);
    assert_int_equal(store_submit(st, "N", "F", 1, hops, 3, bad, 1, 1, 2,
                                  &e), ERR_INVALID);
    assert_int_equal(store_submit(st, "N", "F", 1, hops, 0, dests, 1, 1, 2,
                                  &e), ERR_INVALID);
    assert_int_equal(store_submit(st, "N:1", "F", 1, hops, 1, dests, 1, 1, 2,
                                  &e), ERR_INVALID);
    assert_int_equal(store_await_len(st, &e), 1);
    store_close(st);
}

static void add(store *st, const char *peer, const char *frame)
{
    char id[STORE_ID_MAX];
    err_t e = {0};
    assert_int_equal(store_outbox_add(st, peer, frame, strlen(frame), id, &e),
                     0);
}

static void test_outbox_after_trim(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "o3:");
    err_t e = {0};
    stu_seen *s = calloc(1, sizeof *s);
    char f[8];
    for (int i = 0; i < 5; i++)
        snprintf(f, sizeof f, "f%d", i), add(st, "SC", f);
    assert_int_equal(store_outbox_after(st, "SC", (store_pos){0, 0}, 3,
                                        stu_pos_entry, s, &e), 3);
    assert_string_equal(s->frame[0], "f0");
    assert_true(store_pos_cmp(s->pos[0], s->pos[1]) < 0);
    store_pos mid = s->pos[2];
    s->n = 0;
    assert_int_equal(store_outbox_after(st, "SC", mid, 10, stu_pos_entry, s,
                                        &e), 2);
    assert_string_equal(s->frame[0], "f3");
    assert_int_equal(store_outbox_trim_upto(st, "SC", (store_pos){0, 0}, &e),
                     0);
    assert_int_equal(store_outbox_trim_upto(st, "SC", mid, &e), 3);
    assert_int_equal(store_outbox_trim_upto(st, "SC", mid, &e), 0);
    assert_int_equal(stu_outbox_count(st, "SC"), 2);
    s->n = 0;
    assert_int_equal(store_outbox_after(st, "SC", (store_pos){0, 0}, 10,
                                        stu_pos_entry, s, &e), 2);
    assert_string_equal(s->frame[0], "f3");
    /* many stream nodes at once; an entry exactly at upto goes too */
    for (int i = 0; i < 600; i++)
        add(st, "SN", "x");
    assert_int_equal(store_outbox_trim_upto(st, "SN",
                                            (store_pos){UINT64_MAX, 0}, &e),
                     600);
    assert_int_equal(stu_outbox_count(st, "SN"), 0);
    /* the last possible ids: no id follows them */
    char id[STORE_ID_MAX];
    assert_int_equal(store_outbox_add(st, "SM", "a", 1, id, &e), 0);
    assert_int_equal(store_outbox_trim_upto(st, "SM",
        (store_pos){1, UINT64_MAX}, &e), 0);
    assert_int_equal(store_outbox_trim_upto(st, "SM",
        (store_pos){UINT64_MAX, UINT64_MAX}, &e), 1);
    assert_int_equal(stu_outbox_count(st, "SM"), 0);
    assert_int_equal(store_outbox_after(st, "S C", (store_pos){0, 0}, 1,
                                        stu_pos_entry, s, &e), ERR_INVALID);
    free(s);
    store_close(st);
}

static void test_in_after(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "o4:");
    err_t e = {0};
    stu_seen *s = calloc(1, sizeof *s);
    unsigned char d[STORE_DIGEST_LEN] = {7};
    const char *ids[] = {"M1", "M2", "M3"};
    store_effect fx[3];
    store_link_op ops[3];
    store_link_result res[3];
    for (int i = 0; i < 3; i++) {
        fx[i] = (store_effect){.msg_id = ids[i], .origin = "SH",
                               .digest = d, .frame = ids[i], .frame_n = 2,
                               .seen_ttl_ms = 60000};
        ops[i] = (store_link_op){{(uint64_t)i, 0}, {(uint64_t)i + 1, 0},
                                 &fx[i]};
    }
    assert_int_equal(store_link_apply(st, "SC", ops, 3, res, &e), 0);
    assert_int_equal(store_in_after(st, (store_pos){0, 0}, 2, stu_in_entry,
                                    s, &e), 2);
    assert_string_equal(s->id[1], "M2");
    store_pos p = s->pos[1];
    s->n = 0;
    assert_int_equal(store_in_after(st, p, 10, stu_in_entry, s, &e), 1);
    assert_string_equal(s->id[0], "M3");
    assert_string_equal(s->frame[0], "M3");
    assert_int_equal(store_in_len(st, &e), 3);
    free(s);
    store_close(st);
}

typedef struct kvs { int n; char k[8][24], v[8][24]; } kvs;

static int kv_keep(void *ctx, const char *name, const char *value, err_t *e)
{
    (void)e;
    kvs *s = ctx;
    assert_true(s->n < 8);
    snprintf(s->k[s->n], 24, "%s", name);
    snprintf(s->v[s->n++], 24, "%s", value);
    return 0;
}

static const char *kv_get(const kvs *s, const char *k)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->k[i], k) == 0)
            return s->v[i];
    return NULL;
}

static void test_peer_status(void **state)
{
    (void)state;
    store *st = stu_open(g_url, "o5:");
    err_t e = {0};
    kvs s = {0};
    const char *kv[] = {"state", "up", "inflight", "3", "acked_pos", "5-1"};
    assert_int_equal(store_peer_status_set(st, "SC", kv, 6, &e), 0);
    const char *down[] = {"state", "down"};
    assert_int_equal(store_peer_status_set(st, "SC", down, 2, &e), 0);
    assert_int_equal(store_peer_status_get(st, "SC", kv_keep, &s, &e), 3);
    assert_string_equal(kv_get(&s, "state"), "down");
    assert_string_equal(kv_get(&s, "acked_pos"), "5-1");
    assert_null(kv_get(&s, "v")); /* the version is not a status field */
    assert_int_equal(store_peer_status_set(st, "SC", kv, 5, &e), ERR_INVALID);
    s.n = 0;
    assert_int_equal(store_peer_status_get(st, "SN", kv_keep, &s, &e), 0);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_await_schedule),
        cmocka_unit_test(test_submit_once),
        cmocka_unit_test(test_wake),
        cmocka_unit_test(test_outbox_after_trim),
        cmocka_unit_test(test_in_after),
        cmocka_unit_test(test_peer_status),
    };
    return cmocka_run_group_tests(tests, stu_group_setup, stu_group_teardown);
}
