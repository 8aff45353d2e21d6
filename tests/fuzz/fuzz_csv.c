/* libFuzzer target for codec_csv: parse with several option sets, write
 * every parsed message back, and check that a message parsed without
 * diags survives write -> parse unchanged (the writer's quoting promise). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec_csv.h"

static const codec_opts fuzz__sets[] = {
    {.header = 0},
    {.delimiter = ';'},
    {.header = -1},
    {.delimiter = ';', .quote = '\'', .header = -1},
    {.delimiter = '\t', .charset = "GB18030"},
};

/* Dump of every message with a tree, one after another. */
static int fuzz__dump(const codec_batch *b, buf_t *out)
{
    int rc = 0;
    for (const codec_msg *m = b->msgs; m && !rc; m = m->next)
        if (m->root)
            rc = tree_dump(m->root, out);
    return rc;
}

/* Written text parsed again must give the same tree. */
static void fuzz__roundtrip(const codec_opts *o, const buf_t *w,
                            const buf_t *d1)
{
    arena_t a;
    codec_batch b = {0};
    err_t e;
    buf_t d2;
    arena_init(&a, 256u << 20);
    buf_init(&d2, 256u << 20);
    if (o->charset == NULL &&
        codec_csv_ops.parse(w->p, w->len, o, &a, &b, &e) == 0 &&
        fuzz__dump(&b, &d2) == 0 &&
        (b.ndiags || d2.len != d1->len ||
         (d1->len && memcmp(d1->p, d2.p, d1->len) != 0)))
        __builtin_trap(); /* a fuzz harness reports by crashing */
    buf_free(&d2);
    arena_free(&a);
}

static void fuzz__one(const uint8_t *data, size_t size, const codec_opts *o,
                      arena_t *a)
{
    codec_batch b = {0};
    err_t e;
    buf_t w, d1;
    if (codec_csv_ops.parse((const char *)data, size, o, a, &b, &e) != 0)
        return;
    buf_init(&w, 64u << 20);
    buf_init(&d1, 256u << 20);
    const codec_msg *list[1];
    for (codec_msg *m = b.msgs; m; m = m->next) {
        if (!m->root)
            continue;
        list[0] = m;
        buf_reset(&w);
        buf_reset(&d1);
        if (codec_csv_ops.write(list, 1, o, &w, &e) == 0 && !m->diags &&
            m->root->nkids && fuzz__dump(&b, &d1) == 0)
            fuzz__roundtrip(o, &w, &d1);
    }
    buf_free(&w);
    buf_free(&d1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_t a;
    arena_init(&a, 256u << 20);
    for (size_t i = 0; i < sizeof fuzz__sets / sizeof fuzz__sets[0]; i++) {
        fuzz__one(data, size, &fuzz__sets[i], &a);
        arena_reset(&a);
    }
    arena_free(&a);
    return 0;
}
