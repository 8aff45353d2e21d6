/* libFuzzer target for the EDIFACT codec: parse any bytes (as declared
 * and as GB18030), write back every message that parsed, and check that
 * parsing the written text gives the same tree. A mismatch traps, which is
 * how a fuzz target reports a finding. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec_edifact.h"

#define FUZZ_ARENA (64u << 20)
#define FUZZ_OUT (4u << 20)

static int fuzz_same(const char *x, const char *y)
{
    return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

/* Diags that are errors: a slip of a strictness rule (strict.h) is not
 * one, and the writer makes one on purpose (a UNB date outside 2000-2099
 * under syntax version 3 keeps its century). */
static int fuzz_errors(const codec_batch *b)
{
    int n = 0;
    for (const codec_diag *d = b->diags; d; d = d->next)
        n += !d->rule;
    for (const codec_msg *m = b->msgs; m; m = m->next)
        for (const codec_diag *d = m->diags; d; d = d->next)
            n += !d->rule;
    return n;
}

/* m written alone (with wo) and parsed again (with po) must come back as
 * it was. Fields the writer fills in when absent (date, references,
 * syntax) are not compared. */
static void fuzz_round_trip(const codec_msg *m, const codec_opts *wo,
                            const codec_opts *po)
{
    buf_t out, d1, d2;
    arena_t a;
    codec_batch b = {0};
    err_t e;
    buf_init(&out, FUZZ_OUT);
    buf_init(&d1, FUZZ_OUT);
    buf_init(&d2, FUZZ_OUT);
    arena_init(&a, FUZZ_ARENA);
    if (edi_write(&m, 1, wo, &out, &e) == 0 &&
        edi_parse(out.p, out.len, po, &a, &b, &e) == 0) {
        const codec_msg *r = b.msgs;
        if (b.nmsgs != 1 || fuzz_errors(&b) || !r->root)
            __builtin_trap();
        if (tree_dump(m->root, &d1) == 0 && tree_dump(r->root, &d2) == 0 &&
            strcmp(d1.p, d2.p) != 0)
            __builtin_trap();
        if (!fuzz_same(m->meta.message_type, r->meta.message_type) ||
            !fuzz_same(m->meta.version, r->meta.version) ||
            !fuzz_same(m->meta.agency, r->meta.agency) ||
            !fuzz_same(m->meta.association, r->meta.association) ||
            !fuzz_same(m->meta.message_ref, r->meta.message_ref))
            __builtin_trap();
    }
    arena_free(&a);
    buf_free(&out);
    buf_free(&d1);
    buf_free(&d2);
}

static void fuzz_parse(const char *data, size_t size, const codec_opts *o)
{
    arena_t a;
    codec_batch b = {0};
    err_t e;
    arena_init(&a, FUZZ_ARENA);
    if (edi_parse(data, size, o, &a, &b, &e) == 0) {
        /* odd sizes also try other separators and newlines; a charset
         * given for reading is used for writing too */
        codec_opts una = {.una = "|*,# !", .pretty = 1};
        const codec_opts *w = o ? o : size & 1 ? &una : NULL;
        for (const codec_msg *m = b.msgs; m; m = m->next)
            if (m->root)
                fuzz_round_trip(m, w, o);
    }
    arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    edi_sniff((const char *)data, size);
    fuzz_parse((const char *)data, size, NULL);
    codec_opts gb = {.charset = "GB18030"};
    fuzz_parse((const char *)data, size, &gb);
    return 0;
}
