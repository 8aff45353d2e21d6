/* codec_testutil: fixtures and helpers shared by the codec unit tests
 * (header only; include after <cmocka.h>). A fixture holding an arena, a
 * batch, an error and an output buffer; parsing with a codec's ops that
 * must succeed; the tree dump of a message; child look-ups by name.
 * Trees are compared with tree_equal (tree.h). */
#ifndef EPORT_CODEC_TESTUTIL_H
#define EPORT_CODEC_TESTUTIL_H

#include <stdint.h>
#include <string.h>

#include "codec.h"
#include "tree.h"

typedef struct ctu_fx {
    arena_t a;
    codec_batch b;
    err_t e;
    buf_t out;
} ctu_fx;

/* A fixture in *state whose arena and output buffer may grow to
 * arena_max and out_max bytes (they take memory only as it is used). */
static inline int ctu_setup_caps(void **state, size_t arena_max,
                                 size_t out_max)
{
    ctu_fx *f = test_calloc(1, sizeof *f);
    if (!f)
        return -1;
    arena_init(&f->a, arena_max);
    buf_init(&f->out, out_max);
    *state = f;
    return 0;
}

/* cmocka setup: a fixture with a 64 MiB arena and a 1 MiB output. */
static inline int ctu_setup(void **state)
{
    return ctu_setup_caps(state, 64u << 20, 1u << 20);
}

static inline int ctu_teardown(void **state)
{
    ctu_fx *f = *state;
    arena_free(&f->a);
    buf_free(&f->out);
    test_free(f);
    return 0;
}

/* A test run with its own fresh ctu_setup fixture. */
#define ctu_unit_test(t) \
    cmocka_unit_test_setup_teardown(t, ctu_setup, ctu_teardown)

/* Parses s[0..n) with ops and options o into f->b (emptied first); the
 * parse must succeed with nmsgs messages. Returns the first. */
static inline codec_msg *ctu_parse(ctu_fx *f, const codec_ops *ops,
                                   const char *s, size_t n,
                                   const codec_opts *o, uint32_t nmsgs)
{
    memset(&f->b, 0, sizeof f->b);
    assert_int_equal(ops->parse(s, n, o, &f->a, &f->b, &f->e), 0);
    assert_int_equal(f->b.nmsgs, nmsgs);
    return f->b.msgs;
}

/* Tree dump of m's root into f->out (emptied first). */
static inline const char *ctu_dump(ctu_fx *f, const codec_msg *m)
{
    buf_reset(&f->out);
    assert_non_null(m->root);
    assert_int_equal(tree_dump(m->root, &f->out), 0);
    return f->out.p;
}

/* Child a of n, then its child b when b is not NULL; NULL when missing. */
static inline tnode *ctu_path(tnode *n, const char *a, const char *b)
{
    n = n ? tree_find(n, a) : NULL;
    return n && b ? tree_find(n, b) : n;
}

/* How many children of n are named name. */
static inline uint32_t ctu_count(const tnode *n, const char *name)
{
    uint32_t c = 0;
    for (const tnode *k = n->kids; k; k = k->next)
        c += strcmp(k->name, name) == 0;
    return c;
}

#endif
