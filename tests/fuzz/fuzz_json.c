/* libFuzzer target for codec_json: parse, write every parsed message back
 * (compact and pretty, one by one and all as one array), and check that
 * the writer accepts every parsed tree and that what it wrote parses to
 * the same trees (exact numbers, escapes, array and object shapes). */
#include <stddef.h>
#include <stdint.h>

#include "codec_json.h"
#include "fuzz_roundtrip.h"

static void fuzz__write(const codec_msg *const *list, size_t n, buf_t *w)
{
    for (int pretty = 0; pretty < 2; pretty++) {
        codec_opts o = {.pretty = pretty};
        err_t e;
        buf_reset(w);
        if (codec_json_ops.write(list, n, &o, w, &e) != 0)
            __builtin_trap(); /* every parsed tree must be writable */
        fuzz_roundtrip(&codec_json_ops, list, n, w);
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
