/* The health message's one wire form (fed_health.h). The keys live in
 * tables that both the writer and the reader walk, so the order the
 * writer uses is by construction the order the reader demands; the
 * writer is msgpack-c's packer (shortest forms), the reader mpread. */
#include "fed_health.h"

#include <ctype.h>
#include <msgpack.h>
#include <stddef.h>
#include <string.h>

#include "config.h"
#include "mpread.h"

typedef enum { FH_V, FH_U64, FH_STR, FH_MAP, FH_PEERS } fh_kind;

typedef struct fh_tab fh_tab;
/* One key: where its value lives (offset in the map's struct), and for
 * FH_MAP / FH_PEERS the table of the inner map. name must come first:
 * mpread_key reads the table by it. */
typedef struct fh_row {
    const char *name;
    fh_kind kind;
    size_t off, cap;
    const fh_tab *sub;
} fh_row;
struct fh_tab {
    const fh_row *rows;
    size_t n;
};

#define FH_N(r) (sizeof r / sizeof r[0])
#define PF(f) offsetof(fed_hpeer, f)
#define HF(f) offsetof(fed_health, f)

static const fh_row fh__peer_rows[] = {
    {"id", FH_STR, PF(id), FED_HEALTH_ID_MAX + 1, NULL},
    {"up", FH_U64, PF(up), 0, NULL},
    {"outbox", FH_U64, PF(outbox), 0, NULL},
    {"awaiting", FH_U64, PF(awaiting), 0, NULL},
    {"last_ack_ms", FH_U64, PF(last_ack_ms), 0, NULL},
};
static const fh_tab fh__peer = {fh__peer_rows, FH_N(fh__peer_rows)};

static const fh_row fh__queue_rows[] = {
    {"local", FH_U64, HF(local), 0, NULL},
    {"await", FH_U64, HF(await), 0, NULL},
    {"dlq", FH_U64, HF(dlq), 0, NULL},
    {"lout", FH_U64, HF(lout), 0, NULL},
};
static const fh_tab fh__queues = {fh__queue_rows, FH_N(fh__queue_rows)};

static const fh_row fh__counter_rows[] = {
    {"in", FH_U64, HF(in), 0, NULL},
    {"out", FH_U64, HF(out), 0, NULL},
    {"refused", FH_U64, HF(refused), 0, NULL},
    {"delivered", FH_U64, HF(delivered), 0, NULL},
    {"forwarded", FH_U64, HF(forwarded), 0, NULL},
    {"sent", FH_U64, HF(sent), 0, NULL},
    {"sig_failures", FH_U64, HF(sig_failures), 0, NULL},
    {"peer_refused", FH_U64, HF(peer_refused), 0, NULL},
};
static const fh_tab fh__counters = {fh__counter_rows,
                                    FH_N(fh__counter_rows)};

static const fh_row fh__top_rows[] = {
    {"v", FH_V, 0, 0, NULL},
    {"node", FH_STR, HF(node), FED_HEALTH_ID_MAX + 1, NULL},
    {"region", FH_STR, HF(region), 3, NULL},
    {"at", FH_U64, HF(at_ms), 0, NULL},
    {"peers", FH_PEERS, 0, 0, &fh__peer},
    {"queues", FH_MAP, 0, 0, &fh__queues},
    {"counters", FH_MAP, 0, 0, &fh__counters},
};
static const fh_tab fh__top = {fh__top_rows, FH_N(fh__top_rows)};

/* ---- checks ---- */

static int fh__region_ok(const char *r)
{
    return strlen(r) == 2 && isupper((unsigned char)r[0]) &&
           isupper((unsigned char)r[1]);
}

int fed_health_validate(const fed_health *h, err_t *e)
{
    char why[160];
    if (cfg_check_node_id(h->node, why, sizeof why))
        return err_set(e, ERR_INVALID, "health: node: %s", why);
    if (!fh__region_ok(h->region))
        return err_set(e, ERR_INVALID, "health of %s: region '%s' is not 2 "
                       "upper-case letters", h->node, h->region);
    if (h->at_ms == 0)
        return err_set(e, ERR_INVALID, "health of %s: no time (at)", h->node);
    if (h->npeers > FED_HEALTH_PEERS_MAX)
        return err_set(e, ERR_INVALID, "health of %s: %llu peers, %d at "
                       "most", h->node, (unsigned long long)h->npeers,
                       FED_HEALTH_PEERS_MAX);
    for (uint64_t i = 0; i < h->npeers; i++) {
        if (cfg_check_node_id(h->peers[i].id, why, sizeof why))
            return err_set(e, ERR_INVALID, "health of %s: peers[%llu]: %s",
                           h->node, (unsigned long long)i, why);
        if (h->peers[i].up > 1)
            return err_set(e, ERR_INVALID, "health of %s: peers[%llu].up: "
                           "0 or 1", h->node, (unsigned long long)i);
    }
    return 0;
}

/* ---- writing ---- */

static int fh__write(void *data, const char *p, size_t n)
{
    return buf_add(data, p, n) ? -1 : 0;
}

static int fh__pstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int fh__pmap(msgpack_packer *pk, const fh_tab *t, const void *base,
                    const fed_health *h);

static int fh__pval(msgpack_packer *pk, const fh_row *row, const void *base,
                    const fed_health *h)
{
    const char *f = (const char *)base + row->off;
    int bad = 0;
    switch (row->kind) {
    case FH_V: return msgpack_pack_uint32(pk, FED_HEALTH_VERSION);
    case FH_U64: return msgpack_pack_uint64(pk, *(const uint64_t *)f);
    case FH_STR: return fh__pstr(pk, f);
    case FH_MAP: return fh__pmap(pk, row->sub, base, h);
    case FH_PEERS:
        bad = msgpack_pack_array(pk, (size_t)h->npeers);
        for (uint64_t i = 0; !bad && i < h->npeers; i++)
            bad = fh__pmap(pk, row->sub, &h->peers[i], h);
        return bad;
    }
    return -1;
}

static int fh__pmap(msgpack_packer *pk, const fh_tab *t, const void *base,
                    const fed_health *h)
{
    int bad = msgpack_pack_map(pk, t->n);
    for (size_t i = 0; !bad && i < t->n; i++)
        bad = fh__pstr(pk, t->rows[i].name) ||
              fh__pval(pk, &t->rows[i], base, h);
    return bad;
}

int fed_health_encode(const fed_health *h, buf_t *out, err_t *e)
{
    int rc = fed_health_validate(h, e);
    if (rc)
        return rc;
    size_t start = out->len;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, fh__write);
    if (!fh__pmap(&pk, &fh__top, h, h))
        return 0;
    out->len = start; /* no half message left behind */
    if (out->p)
        out->p[start] = '\0';
    return err_set(e, ERR_TOOBIG, "health of %s: cannot write it: buffer "
                   "full (%zu bytes at most) or out of memory", h->node,
                   out->max);
}

/* ---- reading ---- */

static int fh__map(mpread *r, const fh_tab *t, void *base, int top,
                   fed_health *h);

static int fh__peers(mpread *r, const fh_tab *t, fed_health *h)
{
    uint32_t n;
    int rc = mpread_array(r, 0, FED_HEALTH_PEERS_MAX, &n);
    for (uint32_t i = 0; !rc && i < n; i++)
        rc = fh__map(r, t, &h->peers[i], 0, h);
    h->npeers = rc ? 0 : n;
    return rc;
}

static int fh__val(mpread *r, const fh_row *row, void *base, fed_health *h)
{
    char *f = (char *)base + row->off;
    switch (row->kind) {
    case FH_U64: return mpread_uint(r, UINT64_MAX, (uint64_t *)f);
    case FH_STR: return mpread_str_into(r, f, row->cap);
    case FH_MAP: return fh__map(r, row->sub, base, 0, h);
    case FH_PEERS: return fh__peers(r, row->sub, h);
    case FH_V: break; /* never: mpread_key refuses "v" after the first */
    }
    return mpread_fail(r, ERR_INVALID, "unexpected key");
}

/* A map of table t into base; top: the outer one, "v" first. */
static int fh__map(mpread *r, const fh_tab *t, void *base, int top,
                   fed_health *h)
{
    uint64_t nkeys = 0;
    int rc;
    if (top)
        rc = mpread_map_v(r, t->rows, sizeof *t->rows, t->n,
                          FED_HEALTH_VERSION, &nkeys);
    else if (!(rc = mpread_head(r, &MPREAD_MAP, &nkeys)) && nkeys > t->n)
        rc = mpread_fail(r, ERR_INVALID, "a map of %llu keys, %zu at most",
                         (unsigned long long)nkeys, t->n);
    size_t after = top ? 1 : 0, k = 0;
    for (uint64_t i = top ? 1 : 0; !rc && i < nkeys; i++) {
        rc = mpread_key(r, t->rows, sizeof *t->rows, t->n, after, &k);
        rc = rc ? rc : fh__val(r, &t->rows[k], base, h);
        after = k + 1;
    }
    return rc;
}

int fed_health_decode(const void *p, size_t n, fed_health *out, err_t *e)
{
    memset(out, 0, sizeof *out);
    if (n > FED_HEALTH_MAX_BYTES)
        return err_set(e, ERR_TOOBIG, "health: %zu bytes, %d at most", n,
                       FED_HEALTH_MAX_BYTES);
    mpread r;
    mpread_init(&r, p, n, "health", e);
    int rc = fh__map(&r, &fh__top, out, 1, out);
    rc = rc ? rc : mpread_done(&r, "map");
    return rc ? rc : fed_health_validate(out, e);
}
