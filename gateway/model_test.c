/* Unit tests for model: the field table, arrays and string lists with their
 * caps, model_equal and its diff path, model_validate, model_emit counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model.h"
#include "model_json.h"
#include "model_pack.h"

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

static void test_field_find(void **state)
{
    (void)state;
    model_record r;
    const model_field *f = model_field_find("document.number");
    assert_non_null(f);
    assert_int_equal(f->type, MF_STR);
    assert_int_equal(f->obj, MO_RECORD);
    assert_string_equal(f->group, "document");
    assert_string_equal(f->key, "number");
    assert_ptr_equal(model_str_at(&r, f), &r.document.number);

    f = model_field_find("totals.gross_kg");
    assert_non_null(f);
    assert_int_equal(f->type, MF_NUM);
    assert_ptr_equal(model_num_at(&r, f), &r.totals.gross_kg);

    model_party p;
    f = model_field_find("parties[].email");
    assert_non_null(f);
    assert_int_equal(f->obj, MO_PARTY);
    assert_null(f->group);
    assert_string_equal(f->key, "email");
    assert_ptr_equal(model_str_at(&p, f), &p.email);

    model_equipment eq;
    f = model_field_find("equipment[].seals");
    assert_non_null(f);
    assert_int_equal(f->type, MF_STRLIST);
    assert_ptr_equal(model_strlist_at(&eq, f), &eq.seals);

    f = model_field_find("legs");
    assert_non_null(f);
    assert_int_equal(f->type, MF_ARRAY);
    assert_int_equal(f->elem, MO_LEG);
    assert_int_equal(f->elem_size, sizeof(model_leg));

    f = model_field_find("permit.valid_to");
    assert_non_null(f);
    assert_string_equal(f->group, "permit");
    assert_ptr_equal(model_str_at(&r, f), &r.permit.valid_to);

    model_goods g;
    f = model_field_find("goods[].quantity");
    assert_non_null(f);
    assert_int_equal(f->type, MF_NUM);
    assert_ptr_equal(model_num_at(&g, f), &g.quantity);
    assert_ptr_equal(model_str_at(&g, model_field_find("goods[].unit")),
                     &g.unit);

    model_citation c;
    f = model_field_find("permits[].line");
    assert_non_null(f);
    assert_int_equal(f->obj, MO_CITATION);
    assert_ptr_equal(model_num_at(&c, f), &c.line);
    f = model_field_find("permits");
    assert_int_equal(f->elem, MO_CITATION);
    assert_int_equal(f->elem_size, sizeof(model_citation));

    assert_null(model_field_find("number"));
    assert_null(model_field_find("document"));
    assert_null(model_field_find("parties.name"));
    assert_null(model_field_find(""));
}

static void test_table_shape(void **state)
{
    (void)state;
    assert_string_equal(model_fields[0].path, "kind");
    for (size_t i = 0; i < model_nfields; i++) {
        const model_field *f = &model_fields[i];
        char want[128];
        if (f->group)
            snprintf(want, sizeof want, "%s.%s", f->group, f->key);
        else if (f->obj != MO_RECORD)
            snprintf(want, sizeof want, "%s[].%s",
                     model_array_of(f->obj)->key, f->key);
        else
            snprintf(want, sizeof want, "%s", f->key);
        if (strcmp(f->path, want) != 0)
            fail_msg("field %zu: path '%s', want '%s'", i, f->path, want);
        if (model_field_find(f->path) != f)
            fail_msg("field %s is not found as itself (duplicate?)", f->path);
        if (f->obj == MO_RECORD && f->off >= sizeof(model_record))
            fail_msg("field %s: offset outside the record", f->path);
    }
}

static void test_array_of(void **state)
{
    (void)state;
    assert_string_equal(model_array_of(MO_PARTY)->path, "parties");
    assert_string_equal(model_array_of(MO_LEG)->path, "legs");
    assert_string_equal(model_array_of(MO_EQUIPMENT)->path, "equipment");
    assert_string_equal(model_array_of(MO_GOODS)->path, "goods");
    assert_string_equal(model_array_of(MO_CITATION)->path, "permits");
    assert_null(model_array_of(MO_RECORD));
}

static void test_array_append_grows_and_keeps(void **state)
{
    arena_t *a = *state;
    model_record *r = model_record_new(a);
    assert_non_null(r);
    const model_field *f = model_field_find("goods");
    err_t e;
    err_clear(&e);
    for (uint32_t i = 0; i < 100; i++) {
        model_goods *g = model_array_append(a, r, f, &e);
        assert_non_null(g);
        assert_false(g->seq.set); /* zeroed */
        assert_null(g->hs_code);
        g->seq.v = i + 1;
        g->seq.set = 1;
    }
    assert_int_equal(model_array_len(r, f), 100);
    assert_int_equal(r->goods.n, 100);
    assert_true(r->goods.cap >= 100);
    for (uint32_t i = 0; i < 100; i++) {
        model_goods *g = model_array_at(r, f, i);
        assert_ptr_equal(g, &r->goods.v[i]);
        assert_true(g->seq.set);
        assert_int_equal((int)g->seq.v, (int)i + 1);
    }
}

static void test_array_append_cap(void **state)
{
    arena_t *a = *state;
    model_record *r = model_record_new(a);
    const model_field *f = model_field_find("legs");
    err_t e;
    err_clear(&e);
    for (uint32_t i = 0; i < MODEL_MAX_ITEMS; i++)
        if (!model_array_append(a, r, f, &e))
            fail_msg("append %u failed: %s", i, e.msg);
    assert_int_equal(r->legs.n, MODEL_MAX_ITEMS);
    assert_null(model_array_append(a, r, f, &e));
    assert_int_equal(e.code, ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "legs"));
    assert_non_null(strstr(e.msg, "10000"));
    assert_int_equal(r->legs.n, MODEL_MAX_ITEMS);
}

static void test_array_append_out_of_memory(void **state)
{
    (void)state;
    arena_t small;
    arena_init(&small, 2048);
    model_record *r = model_record_new(&small);
    assert_non_null(r);
    const model_field *f = model_field_find("parties");
    err_t e;
    err_clear(&e);
    uint32_t n = 0;
    while (model_array_append(&small, r, f, &e))
        n++;
    assert_true(n > 0);
    assert_int_equal(e.code, ERR_NOMEM);
    assert_int_equal(r->parties.n, n); /* the failed append added nothing */
    arena_free(&small);
}

static void test_strlist(void **state)
{
    arena_t *a = *state;
    model_strlist l = {0};
    err_t e;
    err_clear(&e);
    assert_int_equal(model_strlist_add(a, &l, "SEAL1xyz", 5, &e), 0);
    assert_int_equal(model_strlist_add(a, &l, "", 0, &e), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(model_strlist_add(a, &l, "S", 1, &e), 0);
    assert_int_equal(l.n, 22);
    assert_string_equal(l.v[0], "SEAL1");
    assert_string_equal(l.v[1], "");
    assert_string_equal(l.v[21], "S");
    while (l.n < MODEL_MAX_ITEMS)
        assert_int_equal(model_strlist_add(a, &l, "x", 1, &e), 0);
    assert_int_equal(model_strlist_add(a, &l, "y", 1, &e), ERR_TOOBIG);
    assert_int_equal(e.code, ERR_TOOBIG);
    assert_int_equal(l.n, MODEL_MAX_ITEMS);
    assert_string_equal(l.v[0], "SEAL1"); /* survived every regrowth */
}

/* A record with one of everything, built twice for the equality tests. */
static model_record *sample(arena_t *a)
{
    err_t e;
    model_record *r = model_record_new(a);
    r->kind = "waybill";
    r->document.number = "WB-1";
    r->totals.gross_kg = (model_num){1250.5, 1};
    model_party *p = model_array_append(a, r, model_field_find("parties"), &e);
    p->role = "consignor";
    p->name = "上海远洋";
    p = model_array_append(a, r, model_field_find("parties"), &e);
    p->role = "consignee";
    model_equipment *q =
        model_array_append(a, r, model_field_find("equipment"), &e);
    q->number = "MSCU1234565";
    model_strlist_add(a, &q->seals, "S1", 2, &e);
    model_strlist_add(a, &q->seals, "S2", 2, &e);
    return r;
}

static void expect_diff(const model_record *x, const model_record *y,
                        const char *path)
{
    buf_t d;
    buf_init(&d, 256);
    int eq = model_equal(x, y, &d);
    char got[256];
    snprintf(got, sizeof got, "%s", d.p ? d.p : "");
    buf_free(&d);
    if (eq || strcmp(got, path) != 0)
        fail_msg("equal=%d diff '%s', want diff '%s'", eq, got, path);
}

static void test_equal(void **state)
{
    arena_t *a = *state;
    model_record *x = sample(a), *y = sample(a);
    buf_t d;
    buf_init(&d, 256);
    assert_true(model_equal(x, y, &d));
    assert_int_equal(d.len, 0);
    assert_true(model_equal(x, y, NULL));
    buf_free(&d);
    y->totals.gross_kg.v += 1e-12; /* inside the tolerance */
    assert_true(model_equal(x, y, NULL));
}

static void test_equal_diff_paths(void **state)
{
    arena_t *a = *state;
    model_record *x = sample(a), *y = sample(a);

    y->document.number = "WB-2";
    expect_diff(x, y, "document.number");
    y->document.number = NULL;
    expect_diff(x, y, "document.number");
    expect_diff(y, x, "document.number");
    y->document.number = "WB-1";

    y->totals.gross_kg.v = 1250.6;
    expect_diff(x, y, "totals.gross_kg");
    y->totals.gross_kg = (model_num){1250.5, 0};
    expect_diff(x, y, "totals.gross_kg");
    y->totals.gross_kg.set = 1;

    y->parties.v[1].role = "notify";
    expect_diff(x, y, "parties[1].role");
    y->parties.v[1].role = "consignee";

    y->equipment.v[0].seals.v[1] = "S3";
    expect_diff(x, y, "equipment[0].seals");
    y->equipment.v[0].seals.n = 1;
    expect_diff(x, y, "equipment[0].seals");
    y->equipment.v[0].seals.n = 2;
    y->equipment.v[0].seals.v[1] = "S2";

    y->parties.n = 1;
    expect_diff(x, y, "parties");
    y->parties.n = 2;
    assert_true(model_equal(x, y, NULL));
}

static void test_validate(void **state)
{
    arena_t *a = *state;
    err_t e;
    model_record *r = model_record_new(a);
    err_clear(&e);
    assert_int_equal(model_validate(r, &e), ERR_REQUIRED);
    assert_non_null(strstr(e.msg, "kind"));

    static const char *const kinds[] = {"waybill", "manifest", "declaration",
                                        "response", "status", "permit"};
    for (size_t i = 0; i < 6; i++) {
        r->kind = (char *)kinds[i];
        if (model_validate(r, &e) != 0)
            fail_msg("kind %s refused: %s", kinds[i], e.msg);
    }
    r->kind = "invoice";
    assert_int_equal(model_validate(r, &e), ERR_CODE);
    assert_non_null(strstr(e.msg, "'invoice'"));
    assert_non_null(strstr(e.msg, "permit, order or payment"));
    r->kind = "Waybill"; /* case matters */
    assert_int_equal(model_validate(r, &e), ERR_CODE);
    r->kind = "waybill";

    const model_field *legs = model_field_find("legs");
    model_leg *l = model_array_append(a, r, legs, &e);
    l->mode = "sea";
    l = model_array_append(a, r, legs, &e);
    l->mode = NULL; /* absent is allowed */
    l = model_array_append(a, r, legs, &e);
    l->mode = "fixed_installation";
    assert_int_equal(model_validate(r, &e), 0);
    l = model_array_append(a, r, legs, &e);
    l->mode = "boat";
    err_clear(&e);
    assert_int_equal(model_validate(r, &e), ERR_CODE);
    assert_int_equal(e.code, ERR_CODE);
    assert_non_null(strstr(e.msg, "legs[3].mode"));
    assert_non_null(strstr(e.msg, "'boat'"));
}

/* The permit enumerations, each absent or one of its list. */
static void test_validate_permit(void **state)
{
    arena_t *a = *state;
    err_t e;
    model_record *r = model_record_new(a);
    r->kind = "permit";
    assert_int_equal(model_validate(r, &e), 0); /* all absent */
    static const char *const kinds[] = {
        "automatic_import_licence", "import_licence", "export_licence",
        "certificate_of_origin", "inspection_certificate",
        "dual_use_licence", "crypto_product_licence",
        "endangered_species_permit", "drug_permit"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        r->permit.kind = (char *)kinds[i];
        if (model_validate(r, &e) != 0)
            fail_msg("permit kind %s refused: %s", kinds[i], e.msg);
    }
    r->permit.usage = "per_line";
    r->permit.status = "suspended";
    assert_int_equal(model_validate(r, &e), 0);

    r->permit.kind = "licence";
    assert_int_equal(model_validate(r, &e), ERR_CODE);
    assert_string_equal(e.msg, "permit.kind: 'licence' is not one of "
                        "automatic_import_licence, import_licence, "
                        "export_licence, certificate_of_origin, "
                        "inspection_certificate, dual_use_licence, "
                        "crypto_product_licence, endangered_species_permit "
                        "or drug_permit");
    r->permit.kind = "drug_permit";
    r->permit.usage = "twice";
    assert_int_equal(model_validate(r, &e), ERR_CODE);
    assert_string_equal(e.msg, "permit.usage: 'twice' is not one of "
                        "single_use, quantity, value or per_line");
    r->permit.usage = "value";
    r->permit.status = "expired"; /* the ledger's word, not the issuer's */
    assert_int_equal(model_validate(r, &e), ERR_CODE);
    assert_string_equal(e.msg, "permit.status: 'expired' is not one of "
                        "valid, suspended or revoked");
}

static void test_validate_citations(void **state)
{
    arena_t *a = *state;
    err_t e;
    model_record *r = model_record_new(a);
    r->kind = "declaration";
    const model_field *f = model_field_find("permits");
    model_citation *c = model_array_append(a, r, f, &e);
    c->id = "CQ-26AIL000123";
    c = model_array_append(a, r, f, &e);
    c->quantity = (model_num){5, 1}; /* no id */
    assert_int_equal(model_validate(r, &e), ERR_REQUIRED);
    assert_string_equal(e.msg, "permits[1].id: required value missing (the "
                        "permit cited)");
    c->id = "cq-anything"; /* syntax is pmrec's to check */
    assert_int_equal(model_validate(r, &e), 0);
}

/* A licence and a declaration citing it through both forms, and the
 * place of the new keys among the old ones. */
static model_record *permit_sample(arena_t *a)
{
    err_t e;
    model_record *r = model_record_new(a);
    r->kind = "permit";
    r->document.type = "permit";
    r->document.number = "26AIL000123";
    r->permit.kind = "automatic_import_licence";
    r->permit.usage = "quantity";
    r->permit.valid_from = "2026-01-05";
    r->permit.valid_to = "2026-07-04";
    model_party *p = model_array_append(a, r, model_field_find("parties"), &e);
    p->role = "holder";
    p->name = "重庆长江铜业有限公司";
    model_goods *g = model_array_append(a, r, model_field_find("goods"), &e);
    g->seq = (model_num){1, 1};
    g->hs_code = "7403111100";
    g->quantity = (model_num){2500.5, 1};
    g->unit = "TNE";
    g->value = (model_num){21000000, 1};
    g->currency = "USD";
    return r;
}

static void test_permit_forms(void **state)
{
    arena_t *a = *state;
    err_t e;
    buf_t j, m;
    buf_init(&j, 1 << 20);
    buf_init(&m, 1 << 20);
    model_record *r = permit_sample(a), *back;
    assert_int_equal(model_json_write(r, &j, &e), 0);
    assert_string_equal(j.p,
        "{\"kind\":\"permit\",\"document\":{\"type\":\"permit\","
        "\"number\":\"26AIL000123\"},\"permit\":{\"kind\":"
        "\"automatic_import_licence\",\"usage\":\"quantity\","
        "\"valid_from\":\"2026-01-05\",\"valid_to\":\"2026-07-04\"},"
        "\"parties\":[{\"role\":\"holder\",\"name\":"
        "\"重庆长江铜业有限公司\"}],\"goods\":[{\"seq\":1,\"hs_code\":"
        "\"7403111100\",\"quantity\":2500.5,\"unit\":\"TNE\","
        "\"value\":21000000,\"currency\":\"USD\"}]}");
    assert_int_equal(model_json_read(j.p, j.len, a, &back, &e), 0);
    assert_true(model_equal(r, back, NULL));
    assert_int_equal(model_pack(r, &m, &e), 0);
    assert_int_equal(model_unpack(m.p, m.len, a, &back, &e), 0);
    assert_true(model_equal(r, back, NULL));

    model_record *d = model_record_new(a);
    d->kind = "declaration";
    d->customs.reference = "800020261000012345";
    model_citation *c =
        model_array_append(a, d, model_field_find("permits"), &e);
    c->id = "CQ-26AIL000123";
    c->line = (model_num){1, 1};
    c->quantity = (model_num){120.25, 1};
    buf_reset(&j);
    assert_int_equal(model_json_write(d, &j, &e), 0);
    assert_string_equal(j.p,
        "{\"kind\":\"declaration\",\"permits\":[{\"id\":"
        "\"CQ-26AIL000123\",\"line\":1,\"quantity\":120.25}],"
        "\"customs\":{\"reference\":\"800020261000012345\"}}");
    buf_reset(&m);
    assert_int_equal(model_pack(d, &m, &e), 0);
    assert_int_equal(model_unpack(m.p, m.len, a, &back, &e), 0);
    buf_t diff;
    buf_init(&diff, 256);
    back->permits.v[0].quantity.v = 120.5;
    assert_false(model_equal(d, back, &diff));
    assert_string_equal(diff.p, "permits[0].quantity");
    buf_free(&diff);
    buf_free(&j);
    buf_free(&m);
}

/* An emitter that checks every map/array announces the number of items it
 * then emits (msgpack depends on it) and records the top-level keys. */
typedef struct {
    uint32_t want[16], got[16];
    int depth, pending_key;
    char keys[512];
} cnt;

static void cnt_item(cnt *c)
{
    if (c->depth > 0 && !c->pending_key)
        c->got[c->depth - 1]++;
    c->pending_key = 0;
}
static int cnt_open(void *ctx, uint32_t n)
{
    cnt *c = ctx;
    cnt_item(c);
    c->want[c->depth] = n;
    c->got[c->depth++] = 0;
    return 0;
}
static int cnt_close(void *ctx)
{
    cnt *c = ctx;
    c->depth--;
    return c->want[c->depth] == c->got[c->depth] ? 0 : ERR_COUNT;
}
static int cnt_key(void *ctx, const char *k)
{
    cnt *c = ctx;
    cnt_item(c);
    c->pending_key = 1;
    if (c->depth == 1) {
        strncat(c->keys, k, sizeof c->keys - strlen(c->keys) - 2);
        strcat(c->keys, ",");
    }
    return 0;
}
static int cnt_str(void *ctx, const char *s)
{
    (void)s;
    cnt_item(ctx);
    return 0;
}
static int cnt_num(void *ctx, double v)
{
    (void)v;
    cnt_item(ctx);
    return 0;
}

static void test_emit_counts(void **state)
{
    arena_t *a = *state;
    static const model_emitter em = {cnt_open, cnt_close, cnt_open,
                                     cnt_close, cnt_key, cnt_str, cnt_num, 1};
    err_t e;
    model_record *r = sample(a);
    r->source.format = "edifact";
    r->status.event = "loaded";
    cnt c = {0};
    assert_int_equal(model_emit(r, &em, &c), 0);
    assert_int_equal(c.depth, 0);
    assert_string_equal(c.keys,
                        "kind,source,document,parties,equipment,totals,status,");

    r->permit.kind = "drug_permit";
    model_citation *ct =
        model_array_append(a, r, model_field_find("permits"), &e);
    ct->id = "SH-X1";
    model_goods *g = model_array_append(a, r, model_field_find("goods"), &e);
    g->unit = "KGM";
    cnt c3 = {0};
    assert_int_equal(model_emit(r, &em, &c3), 0);
    assert_int_equal(c3.depth, 0);
    assert_string_equal(c3.keys, "kind,source,document,permit,parties,"
                        "equipment,goods,permits,totals,status,");

    model_record *empty = model_record_new(a);
    cnt c2 = {0};
    assert_int_equal(model_emit(empty, &em, &c2), 0);
    assert_string_equal(c2.keys, "");
    assert_int_equal(c2.want[0], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_find),
        cmocka_unit_test(test_table_shape),
        cmocka_unit_test(test_array_of),
        cmocka_unit_test(test_array_append_grows_and_keeps),
        cmocka_unit_test(test_array_append_cap),
        cmocka_unit_test(test_array_append_out_of_memory),
        cmocka_unit_test(test_strlist),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_equal_diff_paths),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_validate_permit),
        cmocka_unit_test(test_validate_citations),
        cmocka_unit_test(test_permit_forms),
        cmocka_unit_test(test_emit_counts),
    };
    return cmocka_run_group_tests_name("gateway/model", tests, setup,
                                       teardown);
}
