/* libFuzzer target for the envelope and receipt decoders. Any input must
 * be refused cleanly or decoded; a decoded envelope must encode back to
 * the very input bytes (the decoder accepts only the canonical form), its
 * canonical bytes must be writable, and decoding the re-encoding must
 * give an equal envelope. The same holds for receipts, tried both on the
 * whole input and on the payload of a decoded "receipt" envelope. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "envelope.h"

static int fuzz__same_strs(const char **x, const char **y, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(x[i], y[i]))
            return 0;
    return 1;
}

static int fuzz__same_bytes(const void *x, const void *y, size_t n)
{
    return n == 0 || memcmp(x, y, n) == 0;
}

static int fuzz__same(const env *x, const env *y)
{
    return x->version == y->version && !strcmp(x->id, y->id) &&
           !strcmp(x->type, y->type) && !strcmp(x->origin, y->origin) &&
           x->ndest == y->ndest && fuzz__same_strs(x->dest, y->dest, x->ndest) &&
           x->nroute == y->nroute &&
           fuzz__same_strs(x->route, y->route, x->nroute) &&
           x->created_ms == y->created_ms && !x->ref == !y->ref &&
           (!x->ref || !strcmp(x->ref, y->ref)) &&
           x->payload_len == y->payload_len &&
           fuzz__same_bytes(x->payload, y->payload, x->payload_len) &&
           !strcmp(x->sig_alg, y->sig_alg) && !strcmp(x->signer, y->signer) &&
           x->sig_len == y->sig_len &&
           fuzz__same_bytes(x->sig, y->sig, x->sig_len);
}

/* data decoded as a receipt must encode back to exactly data */
static void fuzz__receipt(const void *data, size_t size, arena_t *a)
{
    env_receipt r;
    err_t e;
    if (env_receipt_decode(data, size, a, &r, &e) != 0)
        return;
    buf_t w;
    buf_init(&w, ENV_RECEIPT_MAX);
    if (env_receipt_encode(&r, &w, &e) != 0 || w.len != size ||
        memcmp(w.p, data, size) != 0)
        __builtin_trap(); /* a fuzz harness reports by crashing */
    buf_free(&w);
}

static void fuzz__env(const env *v, const uint8_t *data, size_t size,
                      arena_t *a)
{
    buf_t w;
    err_t e;
    env *again = NULL;
    buf_init(&w, ENV_MAX_FRAME);
    if (env_encode(v, &w, &e) != 0 || w.len != size ||
        memcmp(w.p, data, size) != 0)
        __builtin_trap();
    if (env_decode(w.p, w.len, a, &again, &e) != 0 || !fuzz__same(v, again))
        __builtin_trap();
    buf_reset(&w);
    if (env_signed_bytes(v, &w, &e) != 0 || w.len >= size)
        __builtin_trap(); /* route and signature left out: shorter */
    buf_free(&w);
    /* a hop: added, or refused as a loop or past the hop cap */
    int rc = env_route_add(again, "FUZZ", a, &e);
    if (rc && rc != ERR_INVALID && rc != ERR_TOOBIG)
        __builtin_trap();
    env_check_time(v, v->created_ms, 0, 0, &e);
    env_for(v, v->origin);
    if (!strcmp(v->type, ENV_RECEIPT_TYPE))
        fuzz__receipt(v->payload, v->payload_len, a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_t a;
    env *v = NULL;
    err_t e;
    arena_init(&a, 3u * ENV_MAX_FRAME);
    if (env_decode(data, size, &a, &v, &e) == 0)
        fuzz__env(v, data, size, &a);
    fuzz__receipt(data, size, &a);
    arena_free(&a);
    return 0;
}
