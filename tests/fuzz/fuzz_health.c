/* libFuzzer target for the health payload reader (fed_health_decode in
 * gateway/fed_health.c): msgpack from any peer of the federation. Any
 * input must be refused with a code of the reader's and a "health"
 * message, or read. A message read must pass its own checks with every
 * count in its cap, and be refused one byte short; it must encode, and
 * the encoding is the canonical form with every key present, so it is
 * never shorter than the input and, when as long, is the input byte for
 * byte; that encoding must decode to the same struct and encode again to
 * the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fed_health.h"

static int fuzz__code_ok(int code)
{
    return code == ERR_SYNTAX || code == ERR_INVALID ||
           code == ERR_UNSUPPORTED || code == ERR_TOOBIG;
}

/* the decoded fields in their caps (fed_health_validate's rules too) */
static void fuzz__caps(const fed_health *h)
{
    err_t e;
    if (h->npeers > FED_HEALTH_PEERS_MAX || h->at_ms == 0 ||
        !memchr(h->node, '\0', sizeof h->node) ||
        strlen(h->region) != 2 || fed_health_validate(h, &e) != 0)
        __builtin_trap(); /* a fuzz harness reports by crashing */
    for (uint64_t i = 0; i < h->npeers; i++)
        if (h->peers[i].up > 1 ||
            !memchr(h->peers[i].id, '\0', sizeof h->peers[i].id))
            __builtin_trap();
}

static void fuzz__again(const fed_health *h, const uint8_t *data,
                        size_t size)
{
    buf_t w1, w2;
    err_t e;
    fed_health back;
    buf_init(&w1, 1u << 20);
    buf_init(&w2, 1u << 20);
    if (fed_health_encode(h, &w1, &e) != 0 || w1.len < size ||
        (w1.len == size && memcmp(w1.p, data, size) != 0))
        __builtin_trap();
    /* decode zeroes the struct first, padding included: memcmp is fair */
    if (fed_health_decode(w1.p, w1.len, &back, &e) != 0 ||
        memcmp(&back, h, sizeof back) != 0 ||
        fed_health_encode(&back, &w2, &e) != 0 || w2.len != w1.len ||
        memcmp(w1.p, w2.p, w1.len) != 0)
        __builtin_trap();
    buf_free(&w1);
    buf_free(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fed_health h;
    err_t e = {0};
    if (fed_health_decode(data, size, &h, &e) != 0) {
        if (!fuzz__code_ok(e.code) || strncmp(e.msg, "health", 6) != 0)
            __builtin_trap();
        return 0;
    }
    fuzz__caps(&h);
    fed_health cut; /* msgpack is self-delimiting: a prefix is no message */
    if (fed_health_decode(data, size - 1, &cut, &e) == 0)
        __builtin_trap();
    fuzz__again(&h, data, size);
    return 0;
}
