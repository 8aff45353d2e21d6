/* Unit tests for ingest against a private redis-server (tests/redis.h) and
 * the repository's mapping tables: a good IFTMIN stored whole and equal to
 * what xlate makes of it; a mapping forced by name and an unknown one; an
 * input with problems refused whole with `eportctl map`'s lines; an
 * unreadable one; an idempotent retry; a client refused; too many
 * records. Each test uses its own key prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../tests/conn_fixture.h"
#include "ingest.h"
#include "model_pack.h"
#include "store_local.h"
#include "xlate.h"

#define SAMPLE "mappings/samples/iftmin-rail/xa-rail-02.edi"

/* A config on prefix with client "rail" (waybills for XIYITP), client
 * "stat" (status only) and client "lax" (as "rail", lenient about
 * envelope counts), all of connector "rail". */
static cfg *load_cfg(const char *prefix)
{
    return conn_fixture_cfg(prefix, 8101,
        "redis: {url: '%s', prefix: '%s:'}\n"
        "connectors:\n  - {name: rail, type: http}\n"
        "clients:\n"
        "  - {id: rail, connector: rail, key_sha256: '%064d', "
        "kinds: [waybill], parties: [XIYITP]}\n"
        "  - {id: stat, connector: rail, key_sha256: '%063d1', "
        "kinds: [status], parties: ['*']}\n"
        "  - {id: lax, connector: rail, key_sha256: '%063d2', "
        "kinds: [waybill], parties: [XIYITP], lenient: [envelope_counts]}\n"
        "log: {level: error, file: '-'}\n",
        g_url, prefix, 0, 0, 0);
}

typedef struct fx {
    cfg *c;
    ingest *g;
    ingest_res r;
    char *data;
    size_t len;
} fx;

static void fx_open(fx *x, const char *prefix)
{
    if (!g_url[0])
        skip();
    memset(x, 0, sizeof *x);
    x->c = load_cfg(prefix);
    err_t e;
    if (ingest_open(x->c, g_maps, &x->g, &e))
        fail_msg("ingest_open: %s", e.msg);
    buf_init(&x->r.problems, 1 << 16);
    x->data = conn_fixture_read_all(SAMPLE, &x->len);
}

static void fx_close(fx *x)
{
    ingest_close(x->g);
    cfg_free(x->c);
    buf_free(&x->r.problems);
    free(x->data);
}

static int run(fx *x, const char *client, const char *map, const char *idem,
               const char *data, size_t len, err_t *e)
{
    ingest_req q = {"rail", cfg_client_find(x->c, client), "body", data, len,
                    map, idem, 0};
    buf_reset(&x->r.problems);
    return ingest_run(x->g, &q, &x->r, e);
}

static int64_t local_len(fx *x)
{
    err_t e;
    return store_local_len(intake_store(ingest_intake(x->g)), &e);
}

/* ---- the records stored are the ones xlate makes ---- */

typedef struct cmp {
    model_record *want;
    int n;
    int equal;
} cmp;

static int keep_first(void *ctx, const codec_msg *m, const map_def *d,
                      model_record *r)
{
    (void)m, (void)d;
    buf_t b;
    err_t e;
    buf_init(&b, 1 << 20);
    arena_t *a = ((void **)ctx)[1];
    assert_int_equal(model_pack(r, &b, &e), 0);
    assert_int_equal(model_unpack(b.p, b.len, a, (model_record **)ctx, &e), 0);
    buf_free(&b);
    return 1;
}

static int compare_stored(void *ctx, store_pos pos, const char *id,
                          const char *conn, const char *client,
                          const void *rec, size_t len, err_t *e)
{
    cmp *c = ctx;
    (void)pos, (void)id, (void)client;
    arena_t a;
    arena_init(&a, 1 << 24);
    model_record *r;
    assert_string_equal(conn, "rail");
    assert_int_equal(model_unpack(rec, len, &a, &r, e), 0);
    c->equal = model_equal(r, c->want, NULL);
    c->n++;
    arena_free(&a);
    return 0;
}

static void test_good_stored_whole(void **state)
{
    (void)state;
    fx x;
    err_t e;
    fx_open(&x, "good");
    assert_int_equal(run(&x, "rail", NULL, NULL, x.data, x.len, &e), 0);
    assert_int_equal(x.r.n, 1);
    assert_int_equal(msgid_parse(x.r.ids[0], NULL, &e), 0);
    assert_string_equal(x.r.kinds[0], "waybill");
    assert_int_equal(x.r.dup[0], 0);
    assert_int_equal(local_len(&x), 1);
    /* the copy is deep: equal to xlate's own record after the arenas
     * were reset */
    arena_t a;
    arena_init(&a, 1 << 24);
    void *ctx[2] = {NULL, &a};
    xlate_sink sink = {keep_first, NULL, ctx, NULL, NULL};
    xlate_stats st = {0};
    assert_int_equal(xlate_input(g_maps, NULL, "x", x.data, x.len, &a, &sink,
                                 &st, &e), 0);
    cmp c = {ctx[0], 0, 0};
    assert_int_equal(store_local_after(intake_store(ingest_intake(x.g)),
                                       (store_pos){0, 0}, 10, compare_stored,
                                       &c, &e), 1);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.equal, 1);
    arena_free(&a);
    fx_close(&x);
}

static void test_forced_and_unknown_mapping(void **state)
{
    (void)state;
    fx x;
    err_t e;
    fx_open(&x, "map");
    assert_int_equal(run(&x, "rail", "iftmin-rail", NULL, x.data, x.len, &e),
                     0);
    assert_int_equal(x.r.n, 1);
    assert_int_equal(run(&x, "rail", "no-such-map", NULL, x.data, x.len, &e),
                     ERR_NOMAP);
    assert_non_null(strstr(e.msg, "no-such-map"));
    /* a table of the wrong format is forced: the input does not parse as
     * its codec wants or its rules fail; either way nothing is stored */
    int rc = run(&x, "rail", "csv-containers", NULL, x.data, x.len, &e);
    assert_true(rc == ERR_INVALID || rc == ERR_SYNTAX);
    assert_int_equal(local_len(&x), 1);
    fx_close(&x);
}

static void test_problems_refused_whole(void **state)
{
    (void)state;
    fx x;
    err_t e;
    fx_open(&x, "bad");
    size_t n;
    char *bad = conn_fixture_read_all("mappings/samples/bad/unknown-mode.edi", &n);
    assert_int_equal(run(&x, "rail", NULL, NULL, bad, n, &e), ERR_INVALID);
    assert_non_null(x.r.problems.p);
    assert_memory_equal(x.r.problems.p, "body:", 5);
    assert_non_null(strstr(x.r.problems.p, ": error: "));
    assert_int_equal(x.r.problems.p[x.r.problems.len - 1], '\n');
    assert_non_null(strstr(e.msg, "nothing stored"));
    assert_int_equal(local_len(&x), 0);
    free(bad);
    fx_close(&x);
}

static void test_unreadable_and_empty(void **state)
{
    (void)state;
    fx x;
    err_t e;
    fx_open(&x, "unread");
    assert_int_equal(run(&x, "rail", NULL, NULL, "\x01\x02 hello", 8, &e),
                     ERR_SYNTAX);
    assert_non_null(strstr(e.msg, "body"));
    int rc = run(&x, "rail", NULL, NULL, "", 0, &e);
    assert_true(rc == ERR_SYNTAX || rc == ERR_INVALID);
    assert_int_equal(local_len(&x), 0);
    fx_close(&x);
}

static void test_idempotent_retry(void **state)
{
    (void)state;
    fx x;
    err_t e;
    fx_open(&x, "idem");
    assert_int_equal(run(&x, "rail", NULL, "k-1", x.data, x.len, &e), 0);
    char id[MSGID_LEN + 1];
    memcpy(id, x.r.ids[0], sizeof id);
    assert_int_equal(run(&x, "rail", NULL, "k-1", x.data, x.len, &e), 0);
    assert_string_equal(x.r.ids[0], id);
    assert_int_equal(x.r.dup[0], 1);
    assert_int_equal(local_len(&x), 1);
    assert_int_equal(run(&x, "rail", NULL, "k-2", x.data, x.len, &e), 0);
    assert_string_not_equal(x.r.ids[0], id);
    assert_int_equal(local_len(&x), 2);
    fx_close(&x);
}

static void test_client_refused(void **state)
{
    (void)state;
    fx x;
    err_t e;
    fx_open(&x, "deny");
    assert_int_equal(run(&x, "stat", NULL, NULL, x.data, x.len, &e),
                     ERR_DENIED);
    assert_non_null(strstr(e.msg, "stat"));
    assert_non_null(strstr(e.msg, "waybill"));
    assert_int_equal(local_len(&x), 0);
    fx_close(&x);
}

/* The sample's one message repeated n times in one interchange. */
static char *repeat_msg(const char *src, int n, size_t *len)
{
    const char *h = strstr(src, "UNH+"), *z = strstr(src, "UNZ+");
    assert_non_null(h);
    assert_non_null(z);
    size_t head = (size_t)(h - src), body = (size_t)(z - h);
    char *p = malloc(head + body * (size_t)n + 64);
    assert_non_null(p);
    memcpy(p, src, head);
    *len = head;
    for (int i = 0; i < n; i++, *len += body)
        memcpy(p + *len, h, body);
    *len += (size_t)sprintf(p + *len, "UNZ+%d+XI2403070915'\n", n);
    return p;
}

static void test_too_many_records(void **state)
{
    (void)state;
    fx x;
    err_t e;
    fx_open(&x, "many");
    size_t n;
    char *big = repeat_msg(x.data, INGEST_MAX_RECORDS, &n);
    assert_int_equal(run(&x, "rail", NULL, NULL, big, n, &e), 0);
    assert_int_equal(x.r.n, INGEST_MAX_RECORDS);
    free(big);
    big = repeat_msg(x.data, INGEST_MAX_RECORDS + 1, &n);
    assert_int_equal(run(&x, "rail", NULL, NULL, big, n, &e), ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "256"));
    assert_int_equal(local_len(&x), INGEST_MAX_RECORDS);
    free(big);
    fx_close(&x);
}

/* The first half alone: records copied into the caller's arena, usable
 * after the ingest's own memory was reused, and nothing stored. */
static void test_translate_only(void **state)
{
    (void)state;
    fx x;
    err_t e;
    fx_open(&x, "half");
    arena_t a;
    arena_init(&a, 1 << 24);
    model_record *recs[INGEST_MAX_RECORDS];
    size_t n = 0;
    ingest_req q = {"rail", cfg_client_find(x.c, "rail"), "body", x.data,
                    x.len, NULL, NULL, 0};
    assert_int_equal(ingest_translate(x.g, &q, &a, recs, &n, &x.r, &e), 0);
    assert_int_equal(n, 1);
    /* an ingest_run in between reuses the ingest's arenas */
    assert_int_equal(run(&x, "rail", NULL, NULL, x.data, x.len, &e), 0);
    assert_string_equal(recs[0]->kind, "waybill");
    assert_string_equal(recs[0]->document.number, "61XAG2403070031");
    assert_int_equal(local_len(&x), 1); /* the run's, not the translate's */
    q.map = "no-such-map";
    assert_int_equal(ingest_translate(x.g, &q, &a, recs, &n, &x.r, &e),
                     ERR_NOMAP);
    assert_int_equal(n, 0);
    arena_free(&a);
    fx_close(&x);
}

/* The sender's strictness over the table's (clients[].lenient): a
 * miscounted UNT refused from "rail" (the waybill table is strict about
 * it), stored from "lax" with the slip in warnings[], and counted. */
static void test_client_lenient(void **state)
{
    (void)state;
    fx x;
    err_t e;
    fx_open(&x, "lax");
    char *at = strstr(x.data, "UNT+53+");
    assert_non_null(at);
    at[5] = '2'; /* UNT+52: one short */
    assert_int_equal(run(&x, "rail", NULL, NULL, x.data, x.len, &e),
                     ERR_INVALID);
    assert_non_null(strstr(x.r.problems.p, "[envelope_counts]"));
    assert_int_equal(local_len(&x), 0);
    int64_t before = met_get(MET_WARNINGS, "envelope_counts");
    assert_int_equal(run(&x, "lax", NULL, NULL, x.data, x.len, &e), 0);
    assert_int_equal(x.r.n, 1);
    assert_int_equal(local_len(&x), 1);
    assert_int_equal(met_get(MET_WARNINGS, "envelope_counts"), before + 1);
    /* what was stored carries the slip */
    arena_t a;
    arena_init(&a, 1 << 24);
    void *ctx[2] = {NULL, &a};
    strict_set lax = {{0}};
    lax.mode[STRICT_ENVELOPE_COUNTS] = STRICT_LENIENT;
    xlate_sink sink = {keep_first, NULL, ctx, NULL, &lax};
    xlate_stats st = {0};
    assert_int_equal(xlate_input(g_maps, NULL, "body", x.data, x.len, &a,
                                 &sink, &st, &e), 0);
    model_record *r = ctx[0];
    assert_non_null(r);
    assert_int_equal(r->warnings.n, 1);
    assert_memory_equal(r->warnings.v[0], "envelope_counts: segment count "
                        "52 does not match 53 segments", 59);
    cmp c = {r, 0, 0};
    assert_int_equal(store_local_after(intake_store(ingest_intake(x.g)),
                                       (store_pos){0, 0}, 10, compare_stored,
                                       &c, &e), 1);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.equal, 1);
    arena_free(&a);
    fx_close(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_stored_whole),
        cmocka_unit_test(test_forced_and_unknown_mapping),
        cmocka_unit_test(test_problems_refused_whole),
        cmocka_unit_test(test_unreadable_and_empty),
        cmocka_unit_test(test_idempotent_retry),
        cmocka_unit_test(test_client_refused),
        cmocka_unit_test(test_too_many_records),
        cmocka_unit_test(test_translate_only),
        cmocka_unit_test(test_client_lenient),
    };
    return cmocka_run_group_tests(tests, conn_fixture_setup,
                                  conn_fixture_teardown);
}
