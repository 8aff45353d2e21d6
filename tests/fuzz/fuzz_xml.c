/* libFuzzer target for codec_xml: parse, write every parsed message back
 * (compact and pretty), and check that what the writer accepted parses to
 * the same tree (its escaping and naming promise). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec_xml.h"

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

static void fuzz__roundtrip(const codec_msg *m, const buf_t *w)
{
    arena_t a;
    codec_batch b = {0};
    err_t e;
    arena_init(&a, 256u << 20);
    if (codec_xml_ops.parse(w->p, w->len, NULL, &a, &b, &e) != 0 ||
        b.nmsgs != 1 || !fuzz__same(m->root, b.msgs->root))
        __builtin_trap(); /* a fuzz harness reports by crashing */
    arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_t a;
    codec_batch b = {0};
    err_t e;
    buf_t w;
    arena_init(&a, 256u << 20);
    buf_init(&w, 64u << 20);
    codec_xml_ops.sniff((const char *)data, size);
    if (codec_xml_ops.parse((const char *)data, size, NULL, &a, &b, &e) == 0) {
        for (codec_msg *m = b.msgs; m; m = m->next) {
            const codec_msg *list[1] = {m};
            for (int pretty = 0; m->root && pretty < 2; pretty++) {
                codec_opts o = {.pretty = pretty};
                buf_reset(&w);
                if (codec_xml_ops.write(list, 1, &o, &w, &e) == 0)
                    fuzz__roundtrip(m, &w);
            }
        }
    }
    buf_free(&w);
    arena_free(&a);
    return 0;
}
