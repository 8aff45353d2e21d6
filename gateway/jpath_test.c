/* Unit tests for jpath: the path syntax and what counts as missing, with
 * the concrete places named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "jpath.h"

static const char *REC =
    "{\"kind\":\"declaration\",\"document\":{\"number\":\"D1\","
    "\"place\":\"\"},\"parties\":[{\"role\":\"declarant\",\"id\":\"X\"},"
    "{\"role\":\"consignee\",\"name\":\"C\"}],\"goods\":[{\"hs_code\":"
    "\"847130\",\"value\":0},{\"description\":\"toys\"}],\"legs\":[]}";

static int missing(const char *path, char *text, size_t n)
{
    json_error_t je;
    json_t *r = json_loads(REC, 0, &je);
    buf_t b;
    buf_init(&b, 256);
    int k = jpath_missing(r, path, &b);
    snprintf(text, n, "%.*s", (int)b.len, b.len ? b.p : "");
    buf_free(&b);
    json_decref(r);
    return k;
}

static void test_check(void **state)
{
    (void)state;
    err_t e;
    assert_int_equal(jpath_check("document.number", &e), 0);
    assert_int_equal(jpath_check("goods[].hs_code", &e), 0);
    assert_int_equal(jpath_check("parties[role=declarant].id", &e), 0);
    assert_int_equal(jpath_check("", &e), ERR_SYNTAX);
    assert_int_equal(jpath_check("Document", &e), ERR_SYNTAX);
    assert_non_null(strstr(e.msg, "path 'Document'"));
    assert_int_equal(jpath_check("goods[", &e), ERR_SYNTAX);
    assert_int_equal(jpath_check("goods[x]", &e), ERR_SYNTAX);
    assert_int_equal(jpath_check("goods[=x]", &e), ERR_SYNTAX);
    assert_int_equal(jpath_check("a..b", &e), ERR_SYNTAX);
    assert_int_equal(jpath_check("a.b.c.d.e.f.g", &e), ERR_SYNTAX);
    assert_non_null(strstr(e.msg, "6 segments"));
}

static void test_missing(void **state)
{
    (void)state;
    char t[256];
    assert_int_equal(missing("document.number", t, sizeof t), 0);
    assert_string_equal(t, "");
    assert_int_equal(missing("document.place", t, sizeof t), 1);
    assert_string_equal(t, "document.place");
    assert_int_equal(missing("document.issued", t, sizeof t), 1);
    assert_int_equal(missing("goods[].hs_code", t, sizeof t), 1);
    assert_string_equal(t, "goods[2].hs_code");
    assert_int_equal(missing("goods[].value", t, sizeof t), 1); /* 0 is set */
    assert_int_equal(missing("goods[].gross_kg", t, sizeof t), 2);
    assert_string_equal(t, "goods[1].gross_kg, goods[2].gross_kg");
    assert_int_equal(missing("parties[role=declarant].id", t, sizeof t), 0);
    assert_int_equal(missing("parties[role=carrier].id", t, sizeof t), 1);
    assert_string_equal(t, "parties[role=carrier]");
    assert_int_equal(missing("parties[role=consignee].id", t, sizeof t), 1);
    assert_string_equal(t, "parties[role=consignee].id");
    assert_int_equal(missing("legs[].means_id", t, sizeof t), 1);
    assert_string_equal(t, "legs[]");
    assert_int_equal(missing("equipment[].number", t, sizeof t), 1);
    assert_string_equal(t, "equipment[]");
    assert_int_equal(missing("kind.x", t, sizeof t), 1); /* not an object */
    assert_int_equal(missing("bad path", t, sizeof t), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
