/* Unit tests for ydoc: node positions, the refusals (duplicate keys,
 * anchors, aliases, tags, several documents, size, depth), lookups, error
 * format, and loading from a file (temporary files from mkstemp). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ydoc.h"

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

static ynode *load_ok(arena_t *a, const char *text, ydoc *d)
{
    err_t e;
    err_clear(&e);
    if (ydoc_load("t.yaml", text, strlen(text), a, d, &e))
        fail_msg("load failed: %s", e.msg);
    return d->root;
}

/* Expect ERR_SYNTAX (or want) with a message starting with prefix and
 * containing why. */
static void load_bad(arena_t *a, const char *text, int want,
                     const char *prefix, const char *why)
{
    ydoc d;
    err_t e;
    err_clear(&e);
    int rc = ydoc_load("t.yaml", text, strlen(text), a, &d, &e);
    if (rc != want || e.code != want)
        fail_msg("%s: rc %d (%s), want %d", text, rc, e.msg, want);
    if (strncmp(e.msg, prefix, strlen(prefix)) != 0 || !strstr(e.msg, why))
        fail_msg("%s: message '%s', want '%s...%s'", text, e.msg, prefix, why);
}

static const char doc_text[] =
    "name: iftmin\n"
    "fields:\n"
    "  - path: document.number\n"
    "    from: \"BGM/2\"\n"
    "  - path: kind\n"
    "    value: 'waybill'\n"
    "count: 3\n";

static void test_positions(void **state)
{
    ydoc d;
    ynode *root = load_ok(*state, doc_text, &d);
    assert_non_null(root);
    assert_string_equal(d.file, "t.yaml");
    assert_int_equal(root->type, YD_MAP);
    assert_int_equal(root->nkids, 3);
    assert_int_equal(root->line, 1);
    assert_int_equal(root->col, 1);

    ynode *name = ydoc_get(root, "name");
    assert_int_equal(name->type, YD_SCALAR);
    assert_string_equal(name->key, "name");
    assert_int_equal(name->line, 1);
    assert_int_equal(name->col, 7);

    ynode *fields = ydoc_get(root, "fields");
    assert_int_equal(fields->type, YD_SEQ);
    assert_int_equal(fields->nkids, 2);
    assert_int_equal(fields->line, 3);
    assert_int_equal(fields->col, 3);

    ynode *f0 = fields->kids, *f1 = f0->next;
    assert_ptr_equal(fields->last, f1);
    assert_null(f1->next);
    assert_null(f0->key); /* sequence items have no key */
    assert_int_equal(f0->type, YD_MAP);
    assert_int_equal(f0->line, 3);
    assert_int_equal(f0->col, 5);
    ynode *from = ydoc_get(f0, "from");
    assert_int_equal(from->line, 4);
    assert_int_equal(from->col, 11);
    assert_string_equal(from->value, "BGM/2");
    assert_true(from->quoted);
    assert_false(ydoc_get(f0, "path")->quoted);
    assert_true(ydoc_get(f1, "value")->quoted);
    assert_int_equal(f1->line, 5);
    assert_int_equal(ydoc_get(root, "count")->line, 7);
}

static void test_get_and_str(void **state)
{
    ydoc d;
    ynode *root = load_ok(*state, doc_text, &d);
    assert_string_equal(ydoc_str(root, "name"), "iftmin");
    assert_string_equal(ydoc_str(root, "count"), "3");
    assert_null(ydoc_str(root, "fields")); /* not a scalar */
    assert_non_null(ydoc_get(root, "fields"));
    assert_null(ydoc_get(root, "missing"));
    assert_null(ydoc_str(root, "missing"));
    assert_null(ydoc_get(root, "Name")); /* case matters */
    ynode *fields = ydoc_get(root, "fields");
    assert_null(ydoc_get(fields, "path")); /* a sequence is not a map */
    assert_null(ydoc_get(ydoc_get(root, "name"), "x"));
    assert_null(ydoc_get(NULL, "x"));
    assert_null(ydoc_str(NULL, "x"));
    assert_string_equal(ydoc_str(fields->kids, "path"), "document.number");
}

static void test_empty_document(void **state)
{
    ydoc d;
    d.root = (ynode *)&d; /* must be overwritten */
    assert_null(load_ok(*state, "", &d));
    assert_null(load_ok(*state, "# only a comment\n", &d));
    assert_non_null(load_ok(*state, "---\na: 1\n...\n", &d));
}

static void test_duplicate_key(void **state)
{
    load_bad(*state, "a: 1\nb: 2\na: 3\n", ERR_SYNTAX, "t.yaml:3:1: error: ",
             "duplicate key");
    load_bad(*state, "m:\n  x: 1\n  y: 2\n  x: 3\n", ERR_SYNTAX,
             "t.yaml:4:3: error: ", "duplicate key");
    ydoc d; /* the same key in different maps is fine */
    assert_non_null(load_ok(*state, "a: {x: 1}\nb: {x: 2}\n", &d));
}

static void test_anchors_aliases_tags_refused(void **state)
{
    arena_t *a = *state;
    load_bad(a, "a: &x 1\n", ERR_SYNTAX, "t.yaml:1:4: error: ", "anchors");
    load_bad(a, "a: &m {x: 1}\n", ERR_SYNTAX, "t.yaml:1:", "anchors");
    load_bad(a, "a: &s [1]\n", ERR_SYNTAX, "t.yaml:1:", "anchors");
    load_bad(a, "a: 1\nb: *x\n", ERR_SYNTAX, "t.yaml:2:4: error: ",
             "aliases are not supported");
    load_bad(a, "- 1\n- *x\n", ERR_SYNTAX, "t.yaml:2:3: error: ", "aliases");
    load_bad(a, "&k a: 1\n", ERR_SYNTAX, "t.yaml:1:", "anchors");
    load_bad(a, "a: !!int 5\n", ERR_SYNTAX, "t.yaml:1:4: error: ", "tags");
    load_bad(a, "a: !local {x: 1}\n", ERR_SYNTAX, "t.yaml:1:", "tags");
}

static void test_one_document_only(void **state)
{
    load_bad(*state, "a: 1\n---\nb: 2\n", ERR_SYNTAX, "t.yaml:2:1: error: ",
             "only one YAML document");
}

static void test_structure_errors(void **state)
{
    arena_t *a = *state;
    load_bad(a, "a: [1, 2\n", ERR_SYNTAX, "t.yaml:", ": error: ");
    load_bad(a, "a: 1\n b: 2\n", ERR_SYNTAX, "t.yaml:2:", ": error: ");
    load_bad(a, "? [a]\n: 1\n", ERR_SYNTAX, "t.yaml:1:3: error: ",
             "mapping keys must be plain text");
    /* the root is depth 0: 65 nested sequences reach YDOC_MAX_DEPTH */
    char deep[300];
    for (int k = YDOC_MAX_DEPTH + 1; k <= YDOC_MAX_DEPTH + 2; k++) {
        memset(deep, '[', (size_t)k);
        memset(deep + k, ']', (size_t)k);
        deep[2 * k] = '\0';
        if (k == YDOC_MAX_DEPTH + 1) {
            ydoc d;
            assert_non_null(load_ok(a, deep, &d));
        } else {
            load_bad(a, deep, ERR_SYNTAX, "t.yaml:1:", "nested too deeply");
        }
    }
}

static void test_size_cap(void **state)
{
    arena_t *a = *state;
    size_t n = YDOC_MAX_BYTES + 1;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[n] = '\0';
    ydoc d;
    err_t e;
    err_clear(&e);
    int rc = ydoc_load("big.yaml", big, n, a, &d, &e);
    free(big);
    assert_int_equal(rc, ERR_TOOBIG);
    assert_string_equal(e.msg, "big.yaml: error: larger than 8388608 bytes");
}

static void test_err_format(void **state)
{
    ydoc d;
    ynode *root = load_ok(*state, doc_text, &d);
    err_t e;
    err_clear(&e);
    ynode *from = ydoc_get(ydoc_get(root, "fields")->kids, "from");
    int rc = ydoc_err(&d, from, &e, ERR_CONFIG, "bad path '%s'", from->value);
    assert_int_equal(rc, ERR_CONFIG);
    assert_int_equal(e.code, ERR_CONFIG);
    assert_string_equal(e.msg, "t.yaml:4:11: error: bad path 'BGM/2'");
    ydoc_err(&d, NULL, &e, ERR_REQUIRED, "missing %s", "name");
    assert_string_equal(e.msg, "t.yaml:1:1: error: missing name");
    assert_int_equal(e.code, ERR_REQUIRED);
}

/* A temporary file holding text; path receives its name. */
static void temp_file(char *path, size_t cap, const char *text, size_t len)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, cap, "%s/ydoc_test.XXXXXX", dir && *dir ? dir : P_tmpdir);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        assert_true(w > 0);
        off += (size_t)w;
    }
    close(fd);
}

static void test_load_file(void **state)
{
    arena_t *a = *state;
    char path[512];
    temp_file(path, sizeof path, doc_text, strlen(doc_text));
    ydoc d;
    err_t e;
    err_clear(&e);
    int rc = ydoc_load_file(path, a, &d, &e);
    assert_int_equal(rc, 0);
    assert_string_equal(d.file, path);
    assert_string_equal(ydoc_str(d.root, "name"), "iftmin");
    unlink(path);

    temp_file(path, sizeof path, "x: 1\nx: 2\n", 10);
    rc = ydoc_load_file(path, a, &d, &e);
    char want[600];
    snprintf(want, sizeof want, "%s:2:1: error: duplicate key", path);
    assert_int_equal(rc, ERR_SYNTAX);
    assert_string_equal(e.msg, want);
    unlink(path);

    temp_file(path, sizeof path, "", 0); /* empty file: empty document */
    assert_int_equal(ydoc_load_file(path, a, &d, &e), 0);
    assert_null(d.root);
    unlink(path);

    /* a directory opens but cannot be read */
    assert_int_equal(ydoc_load_file(".", a, &d, &e), ERR_IO);
    assert_memory_equal(e.msg, ".: error: cannot read", 21);

    /* the path is gone now */
    assert_int_equal(ydoc_load_file(path, a, &d, &e), ERR_IO);
    assert_int_equal(e.code, ERR_IO);
    assert_memory_equal(e.msg, path, strlen(path));
    assert_non_null(strstr(e.msg, ": error: cannot open"));
}

static void test_load_file_too_big(void **state)
{
    arena_t *a = *state;
    size_t n = YDOC_MAX_BYTES + 100;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, '\n', n);
    char path[512];
    temp_file(path, sizeof path, big, n);
    free(big);
    ydoc d;
    err_t e;
    err_clear(&e);
    int rc = ydoc_load_file(path, a, &d, &e);
    unlink(path);
    assert_int_equal(rc, ERR_TOOBIG);
    assert_non_null(strstr(e.msg, "size limit exceeded"));
    assert_memory_equal(e.msg, path, strlen(path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_get_and_str),
        cmocka_unit_test(test_empty_document),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_anchors_aliases_tags_refused),
        cmocka_unit_test(test_one_document_only),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_err_format),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_load_file_too_big),
    };
    return cmocka_run_group_tests_name("gateway/ydoc", tests, setup,
                                       teardown);
}
