/* libFuzzer target for codec_json: parse, write every parsed message back
 * (compact and pretty, one by one and all as one array), and check that
 * the writer accepts every parsed tree and that what it wrote parses to
 * the same trees (exact numbers, escapes, array and object shapes). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec_json.h"

/* Names, values, flags and shape; positions differ after a rewrite. */
static int fuzz__same(const tnode *x, const tnode *y)
{
    if (!x || !y)
        return x == y;
    if (strcmp(x->name, y->name) || x->flags != y->flags ||
        x->nkids != y->nkids || !x->value != !y->value ||
        (x->value && strcmp(x->value, y->value)))
        return 0;
    for (x = x->kids, y = y->kids; x && y; x = x->next, y = y->next)
        if (!fuzz__same(x, y))
            return 0;
    return 1;
}

/* w must parse back to exactly the n trees of list. */
static void fuzz__roundtrip(const codec_msg *const *list, size_t n,
                            const buf_t *w)
{
    arena_t a;
    codec_batch b = {0};
    err_t e;
    arena_init(&a, 256u << 20);
    if (codec_json_ops.parse(w->p, w->len, NULL, &a, &b, &e) != 0 ||
        b.nmsgs != n || b.ndiags)
        __builtin_trap(); /* a fuzz harness reports by crashing */
    const codec_msg *m = b.msgs;
    for (size_t i = 0; i < n; i++, m = m->next)
        if (!fuzz__same(list[i]->root, m->root))
            __builtin_trap();
    arena_free(&a);
}

static void fuzz__write(const codec_msg *const *list, size_t n, buf_t *w)
{
    for (int pretty = 0; pretty < 2; pretty++) {
        codec_opts o = {.pretty = pretty};
        err_t e;
        buf_reset(w);
        if (codec_json_ops.write(list, n, &o, w, &e) != 0)
            __builtin_trap(); /* every parsed tree must be writable */
        fuzz__roundtrip(list, n, w);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { MAX = 64 };
    arena_t a;
    codec_batch b = {0};
    err_t e;
    buf_t w;
    const codec_msg *all[MAX];
    size_t n = 0;
    arena_init(&a, 256u << 20);
    buf_init(&w, 64u << 20);
    codec_json_ops.sniff((const char *)data, size);
    if (codec_json_ops.parse((const char *)data, size, NULL, &a, &b, &e) == 0) {
        for (codec_msg *m = b.msgs; m; m = m->next) {
            if (!m->root)
                continue;
            const codec_msg *one[1] = {m};
            fuzz__write(one, 1, &w);
            if (n < MAX)
                all[n++] = m;
        }
        if (n > 1)
            fuzz__write(all, n, &w);
    }
    buf_free(&w);
    arena_free(&a);
    return 0;
}
