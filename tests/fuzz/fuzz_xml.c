/* libFuzzer target for codec_xml: parse, write every parsed message back
 * (compact and pretty, one by one and all as one input), and check that
 * what the writer accepted parses to the same trees (its escaping, naming
 * and document-splitting promise). */
#include <stddef.h>
#include <stdint.h>

#include "codec_xml.h"
#include "fuzz_roundtrip.h"

/* The writer may refuse a tree (a name XML cannot carry); if it writes
 * one, that must read back the same. Returns whether it wrote. */
static int fuzz__write(const codec_msg *const *list, size_t n, buf_t *w)
{
    for (int pretty = 0; pretty < 2; pretty++) {
        codec_opts o = {.pretty = pretty};
        err_t e;
        buf_reset(w);
        if (codec_xml_ops.write(list, n, &o, w, &e) != 0)
            return 0;
        fuzz_roundtrip(&codec_xml_ops, list, n, w);
    }
    return 1;
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
    codec_xml_ops.sniff((const char *)data, size);
    if (codec_xml_ops.parse((const char *)data, size, NULL, &a, &b, &e) == 0) {
        for (codec_msg *m = b.msgs; m; m = m->next) {
            const codec_msg *one[1] = {m};
            if (m->root && fuzz__write(one, 1, &w) && n < MAX)
                all[n++] = m;
        }
        if (n > 1)
            fuzz__write(all, n, &w);
    }
    buf_free(&w);
    arena_free(&a);
    return 0;
}
