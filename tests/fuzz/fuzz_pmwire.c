/* libFuzzer target for the permit operation readers (pm_req_decode and
 * pm_ans_decode in gateway/pmwire_codec.c): payloads from any node of the
 * federation. Any input must be refused with a code of the reader's and a
 * "permit request" / "permit answer" message, or read. A message read
 * must pass its own field rules, be refused one byte short, and encode
 * back to the very input bytes (the reader takes only the one canonical
 * spelling a signature covers), which read again; its amounts must print
 * as text that reads back to them. Short inputs are also tried as amount
 * text and permit ids: an amount read must print and read back the same. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pmwire.h"

static void fuzz__refused(int rc, const err_t *e, const char *what)
{
    if ((rc != ERR_SYNTAX && rc != ERR_INVALID && rc != ERR_UNSUPPORTED &&
         rc != ERR_TOOBIG) || e->code != rc ||
        strncmp(e->msg, what, strlen(what)) != 0)
        __builtin_trap(); /* a fuzz harness reports by crashing */
}

/* Amounts on the wire print as text that reads back to them. */
static void fuzz__amounts(const pm_amount *l, uint32_t n)
{
    char f[32];
    uint64_t v;
    err_t e;
    for (uint32_t i = 0; i < n; i++) {
        pm_amount_fmt(l[i].qty, f);
        if (pm_amount_parse(f, &v, &e) != 0 || v != l[i].qty)
            __builtin_trap();
        pm_amount_fmt(l[i].value, f);
        if (pm_amount_parse(f, &v, &e) != 0 || v != l[i].value)
            __builtin_trap();
    }
}

/* w, written from what was read, must be the input and read again. */
static void fuzz__same(const buf_t *w, const uint8_t *data, size_t size)
{
    if (w->len != size || memcmp(w->p, data, size) != 0)
        __builtin_trap();
}

static void fuzz__req(const uint8_t *data, size_t size, arena_t *a)
{
    pm_req q, again;
    err_t e = {0};
    int rc = pm_req_decode(data, size, a, &q, &e);
    if (rc) {
        fuzz__refused(rc, &e, "permit request");
        return;
    }
    buf_t w;
    buf_init(&w, PM_MAX_BYTES);
    if (pm_req_validate(&q, &e) != 0 ||
        pm_req_decode(data, size - 1, a, &again, &e) == 0 ||
        pm_req_encode(&q, &w, &e) != 0)
        __builtin_trap();
    fuzz__same(&w, data, size);
    fuzz__amounts(q.lines, q.nlines);
    if (pm_req_decode(w.p, w.len, a, &again, &e) != 0 ||
        again.op != q.op || again.nlines != q.nlines ||
        strcmp(again.permit, q.permit) != 0)
        __builtin_trap();
    buf_free(&w);
}

static void fuzz__ans(const uint8_t *data, size_t size, arena_t *a)
{
    pm_ans x, again;
    err_t e = {0};
    int rc = pm_ans_decode(data, size, a, &x, &e);
    if (rc) {
        fuzz__refused(rc, &e, "permit answer");
        return;
    }
    buf_t w;
    buf_init(&w, PM_MAX_BYTES);
    if (pm_ans_validate(&x, &e) != 0 ||
        pm_ans_decode(data, size - 1, a, &again, &e) == 0 ||
        pm_ans_encode(&x, &w, &e) != 0)
        __builtin_trap();
    fuzz__same(&w, data, size);
    fuzz__amounts(x.left, x.nleft);
    if (pm_ans_decode(w.p, w.len, a, &again, &e) != 0 ||
        again.code != x.code || again.nleft != x.nleft ||
        strcmp(again.req, x.req) != 0)
        __builtin_trap();
    buf_free(&w);
}

/* The input as text: an amount read prints and reads back the same. */
static void fuzz__text(const uint8_t *data, size_t size)
{
    char s[64], f[32];
    uint64_t v, back;
    err_t e;
    if (size >= sizeof s)
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    if (pm_amount_parse(s, &v, &e) == 0) {
        pm_amount_fmt(v, f);
        if (pm_amount_parse(f, &back, &e) != 0 || back != v)
            __builtin_trap();
    }
    if (pm_id_check(s, &e) == 0 && (strlen(s) < 4 || s[2] != '-'))
        __builtin_trap();
}

/* The input as a batch: one split must encode back to it. */
static void fuzz__batch(const uint8_t *data, size_t size, arena_t *a)
{
    static pm_item it[PM_BATCH_MAX];
    size_t k;
    err_t e = {0};
    int rc = pm_batch_split(data, size, it, PM_BATCH_MAX, &k, &e);
    if (rc) {
        fuzz__refused(rc, &e, "permit batch");
        return;
    }
    buf_t w;
    buf_init(&w, PM_BATCH_MAX_BYTES);
    if (pm_batch_encode(it, k, &w, &e) != 0)
        __builtin_trap();
    fuzz__same(&w, data, size);
    buf_free(&w);
    for (size_t i = 0; i < k; i++) {
        fuzz__req(it[i].p, it[i].n, a);
        fuzz__ans(it[i].p, it[i].n, a);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_t a;
    arena_init(&a, 64u << 20);
    fuzz__req(data, size, &a);
    fuzz__ans(data, size, &a);
    fuzz__batch(data, size, &a);
    arena_free(&a);
    fuzz__text(data, size);
    return 0;
}
