/* Unit tests for codec.c: the registry (codec_find, codec_all,
 * codec_sniff) and the shared helpers codec_msg_add / codec_diag_add. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"

static int setup(void **state)
{
    static arena_t a;
    arena_init(&a, 64u << 20);
    *state = &a;
    return 0;
}

static int teardown(void **state)
{
    arena_free(*state);
    return 0;
}

static void test_find(void **state)
{
    (void)state;
    static const char *const names[] = {"edifact", "xml", "json", "csv",
                                        "fixed"};
    for (size_t i = 0; i < 5; i++) {
        const codec_ops *ops = codec_find(names[i]);
        if (!ops)
            fail_msg("codec %s not registered", names[i]);
        assert_string_equal(ops->name, names[i]);
        assert_non_null(ops->parse);
        assert_non_null(ops->write);
    }
    assert_ptr_not_equal(codec_find("xml"), codec_find("json"));
    assert_null(codec_find("x12"));
    assert_null(codec_find("EDIFACT")); /* names are exact */
    assert_null(codec_find("edi"));
    assert_null(codec_find(""));
    assert_null(codec_find(NULL));
}

static void test_all(void **state)
{
    (void)state;
    const codec_ops *const *all = codec_all();
    size_t n = 0;
    for (; all[n]; n++) {
        assert_ptr_equal(codec_find(all[n]->name), all[n]);
        for (size_t j = 0; j < n; j++)
            if (strcmp(all[j]->name, all[n]->name) == 0)
                fail_msg("codec %s registered twice", all[n]->name);
    }
    assert_int_equal(n, 5);
}

static void sniff_is(const char *data, const char *want)
{
    const codec_ops *ops = codec_sniff(data, strlen(data));
    const char *got = ops ? ops->name : "(none)";
    if (strcmp(got, want) != 0)
        fail_msg("sniff '%.20s': got %s, want %s", data, got, want);
}

static void test_sniff(void **state)
{
    (void)state;
    sniff_is("UNA:+.? 'UNB+UNOY:3+SENDER+RECIP+240101:1200+1'", "edifact");
    sniff_is("UNA:+.? '", "edifact");
    sniff_is("<?xml version=\"1.0\"?><Waybill/>", "xml");
    sniff_is("<?xml", "xml");
    sniff_is("{\"kind\": \"waybill\"}", "json");
    sniff_is("hello world", "(none)");
    sniff_is("", "(none)");
}

static void test_msg_add_indexes(void **state)
{
    arena_t *a = *state;
    codec_batch b = {0};
    codec_msg *m[3];
    for (uint32_t i = 0; i < 3; i++) {
        m[i] = codec_msg_add(&b, a);
        assert_non_null(m[i]);
        assert_int_equal(m[i]->index, i);
        assert_null(m[i]->root);
        assert_null(m[i]->diags);
        assert_null(m[i]->next);
        assert_null(m[i]->meta.format);
    }
    assert_int_equal(b.nmsgs, 3);
    assert_ptr_equal(b.msgs, m[0]);
    assert_ptr_equal(b.last, m[2]);
    assert_ptr_equal(m[0]->next, m[1]);
    assert_ptr_equal(m[1]->next, m[2]);
}

static void test_msg_add_cap(void **state)
{
    arena_t *a = *state;
    codec_batch b = {0};
    for (uint32_t i = 0; i < CODEC_MAX_MESSAGES; i++)
        if (!codec_msg_add(&b, a))
            fail_msg("message %u refused", i);
    assert_int_equal(b.nmsgs, CODEC_MAX_MESSAGES);
    assert_int_equal(b.last->index, CODEC_MAX_MESSAGES - 1);
    codec_msg *last = b.last;
    assert_null(codec_msg_add(&b, a));
    assert_int_equal(b.nmsgs, CODEC_MAX_MESSAGES);
    assert_ptr_equal(b.last, last);
    assert_null(last->next);
}

static void test_msg_add_out_of_memory(void **state)
{
    (void)state;
    arena_t small;
    arena_init(&small, sizeof(codec_msg) + 16);
    codec_batch b = {0};
    assert_non_null(codec_msg_add(&b, &small));
    assert_null(codec_msg_add(&b, &small));
    assert_int_equal(b.nmsgs, 1); /* a failed add is not counted */
    assert_null(b.msgs->next);
    arena_free(&small);
}

static uint32_t count(const codec_diag *d)
{
    uint32_t n = 0;
    for (; d; d = d->next)
        n++;
    return n;
}

static void test_diag_add_batch_vs_message(void **state)
{
    arena_t *a = *state;
    codec_batch b = {0};
    codec_msg *m0 = codec_msg_add(&b, a), *m1 = codec_msg_add(&b, a);

    int rc = codec_diag_add(&b, NULL, a, ERR_COUNT, 9, 1,
                            "UNZ says %d messages, found %d", 3, 2);
    assert_int_equal(rc, ERR_COUNT);
    rc = codec_diag_add(&b, m1, a, ERR_SYNTAX, 4, 14,
                        "segment %d (%s) element %d: value too long", 4,
                        "NAD", 2);
    assert_int_equal(rc, ERR_SYNTAX);
    codec_diag_add(&b, m1, a, ERR_CODE, 5, 1, "second");
    codec_diag_add(&b, NULL, a, ERR_IO, 0, 0, "input-level 2");
    codec_diag_add(&b, m1, a, ERR_REQUIRED, 6, 2, "third");

    assert_int_equal(b.ndiags, 5);
    assert_null(m0->diags);
    assert_int_equal(count(b.diags), 2);
    assert_int_equal(count(m1->diags), 3);

    const codec_diag *d = b.diags;
    assert_string_equal(d->msg, "UNZ says 3 messages, found 2");
    assert_int_equal(d->code, ERR_COUNT);
    assert_int_equal(d->line, 9);
    assert_int_equal(d->col, 1);
    assert_string_equal(d->next->msg, "input-level 2");
    assert_ptr_equal(b.diags_last, d->next);

    d = m1->diags;
    assert_string_equal(d->msg, "segment 4 (NAD) element 2: value too long");
    assert_int_equal(d->code, ERR_SYNTAX);
    assert_int_equal(d->line, 4);
    assert_int_equal(d->col, 14);
    assert_string_equal(d->next->msg, "second");
    assert_string_equal(d->next->next->msg, "third");
    assert_int_equal(d->next->next->code, ERR_REQUIRED);
}

static void test_diag_add_cap(void **state)
{
    arena_t *a = *state;
    codec_batch b = {0};
    codec_msg *m = codec_msg_add(&b, a);
    for (uint32_t i = 0; i < CODEC_MAX_DIAGS + 7; i++) {
        codec_msg *to = (i % 2) ? m : NULL;
        int rc = codec_diag_add(&b, to, a, ERR_INVALID, i + 1, 1, "d%u", i);
        if (rc != ERR_INVALID)
            fail_msg("diag %u returned %d", i, rc);
    }
    assert_int_equal(b.ndiags, CODEC_MAX_DIAGS + 7); /* all counted */
    assert_int_equal(count(b.diags) + count(m->diags), CODEC_MAX_DIAGS);
    assert_int_equal(count(b.diags), CODEC_MAX_DIAGS / 2);
    /* the first ones are kept, the overflow dropped */
    assert_string_equal(b.diags->msg, "d0");
    assert_string_equal(m->diags->msg, "d1");
    assert_string_equal(b.diags_last->msg, "d998");
    assert_int_equal(b.diags_last->line, CODEC_MAX_DIAGS - 1);
}

static void test_diag_long_message_truncated(void **state)
{
    arena_t *a = *state;
    codec_batch b = {0};
    char big[ERR_MSG_MAX * 2];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    codec_diag_add(&b, NULL, a, ERR_TOOBIG, 1, 1, "%s", big);
    assert_non_null(b.diags);
    assert_int_equal(strlen(b.diags->msg), ERR_MSG_MAX - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_all),
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_msg_add_indexes),
        cmocka_unit_test(test_msg_add_cap),
        cmocka_unit_test(test_msg_add_out_of_memory),
        cmocka_unit_test(test_diag_add_batch_vs_message),
        cmocka_unit_test(test_diag_add_cap),
        cmocka_unit_test(test_diag_long_message_truncated),
    };
    return cmocka_run_group_tests_name("connectors/codec", tests, setup,
                                       teardown);
}
