/* fuzz_roundtrip: the check the JSON and XML fuzz targets share (header
 * only): text a codec wrote must parse back, with the same codec, to
 * exactly the trees it was written from. */
#ifndef EPORT_FUZZ_ROUNDTRIP_H
#define EPORT_FUZZ_ROUNDTRIP_H

#include <stddef.h>

#include "codec.h"
#include "tree.h"

/* w (written by ops from the n trees of list) must parse back to exactly
 * those trees (tree_equal); anything else traps. */
static inline void fuzz_roundtrip(const codec_ops *ops,
                                  const codec_msg *const *list, size_t n,
                                  const buf_t *w)
{
    arena_t a;
    codec_batch b = {0};
    err_t e;
    arena_init(&a, 256u << 20);
    if (ops->parse(w->p, w->len, NULL, &a, &b, &e) != 0 || b.nmsgs != n ||
        b.ndiags)
        __builtin_trap(); /* a fuzz harness reports by crashing */
    const codec_msg *m = b.msgs;
    for (size_t i = 0; i < n; i++, m = m->next)
        if (!tree_equal(list[i]->root, m->root))
            __builtin_trap();
    arena_free(&a);
}

#endif
