/* mvev_decode: the strict in-place reader of movement events.
 *
 * Like envelope_decode it reads the bytes with the strict cursor of
 * mpread.h (caps checked before anything is copied, shortest forms only),
 * so decode then encode gives back the bytes that were signed. Keys must
 * come in the order of mvev_keys, each at most once; unknown ones are
 * refused. */
#include <string.h>

#include "envelope.h"
#include "mpread.h"
#include "mvev.h"
#include "mvev_int.h"

/* ---- events ---- */

static int mvdec__itin(mpread *r, arena_t *a, mv_event *ev)
{
    int rc = mpread_array(r, 1, MV_ITIN_MAX, &ev->nitin);
    for (uint32_t i = 0; !rc && i < ev->nitin; i++) {
        r->entry = i + 1;
        rc = mpread_str(r, MV_STR_MAX, a, &ev->itin[i]);
    }
    return rc;
}

/* docs: [[type, number], ...] */
static int mvdec__docs(mpread *r, arena_t *a, mv_event *ev)
{
    int rc = mpread_array(r, 1, MV_DOC_MAX, &ev->ndocs);
    for (uint32_t i = 0; !rc && i < ev->ndocs; i++) {
        uint32_t two;
        r->entry = i + 1;
        rc = mpread_array(r, 2, 2, &two);
        rc = rc ? rc : mpread_str(r, MV_STR_MAX, a, &ev->docs[i].type);
        rc = rc ? rc : mpread_str(r, MV_STR_MAX, a, &ev->docs[i].no);
    }
    return rc;
}

/* ctrs: [[number, [seal, ...]], ...]; a container may have no seal */
static int mvdec__ctrs(mpread *r, arena_t *a, mv_event *ev)
{
    int rc = mpread_array(r, 1, MV_CTR_MAX, &ev->nctrs);
    for (uint32_t i = 0; !rc && i < ev->nctrs; i++) {
        mv_ctr *c = &ev->ctrs[i];
        uint32_t two;
        r->entry = i + 1;
        rc = mpread_array(r, 2, 2, &two);
        rc = rc ? rc : mpread_str(r, MV_STR_MAX, a, &c->no);
        rc = rc ? rc : mpread_array(r, 0, MV_SEAL_MAX, &c->nseals);
        for (uint32_t s = 0; !rc && s < c->nseals; s++)
            rc = mpread_str(r, MV_STR_MAX, a, &c->seals[s]);
    }
    return rc;
}

static int mvdec__rec(mpread *r, arena_t *a, mv_event *ev)
{
    int rc = mpread_bin(r, ENV_MAX_PAYLOAD, a, &ev->record, &ev->record_len);
    if (!rc && ev->record_len == 0)
        rc = mpread_fail(r, ERR_INVALID, "empty (leave the key out instead)");
    return rc;
}

static int mvdec__type(mpread *r, mv_event *ev)
{
    char name[16];
    int rc = mpread_str_into(r, name, sizeof name);
    if (!rc && mv_type_parse(name, &ev->type))
        rc = mpread_fail(r, ERR_INVALID, "unknown event type \"%s\"", name);
    return rc;
}

static int mvdec__val(mpread *r, const mvev_key *k, arena_t *a,
                      mv_event *ev)
{
    char *f = (char *)ev + k->off;
    uint64_t v;
    int rc;
    switch (k->kind) {
    case MVK_T: return mvdec__type(r, ev);
    case MVK_STR: return mpread_str(r, k->max, a, (const char **)(void *)f);
    case MVK_U64:
        rc = mpread_count(r, UINT64_MAX, &v);
        memcpy(f, &v, sizeof v);
        return rc;
    case MVK_U32:
        rc = mpread_count(r, UINT32_MAX, &v);
        *(uint32_t *)(void *)f = (uint32_t)v;
        return rc;
    case MVK_ITIN: return mvdec__itin(r, a, ev);
    case MVK_DOCS: return mvdec__docs(r, a, ev);
    case MVK_CTRS: return mvdec__ctrs(r, a, ev);
    case MVK_REC: return mvdec__rec(r, a, ev);
    default: return mpread_fail(r, ERR_INVALID, "repeated");
    }
}

int mv_event_decode(const void *p, size_t n, arena_t *a, mv_event *out,
                    err_t *e)
{
    memset(out, 0, sizeof *out);
    mpread r;
    mpread_init(&r, p, n, "movement event", e);
    uint64_t nkeys;
    int rc = mpread_map_v(&r, mvev_keys, sizeof mvev_keys[0], MVEV_NKEYS,
                          MVEV_VERSION, &nkeys);
    out->version = rc ? 0 : MVEV_VERSION;
    size_t after = 1, k;
    for (uint64_t i = 1; !rc && i < nkeys; i++) {
        rc = mpread_key(&r, mvev_keys, sizeof mvev_keys[0], MVEV_NKEYS,
                        after, &k);
        rc = rc ? rc : mvdec__val(&r, &mvev_keys[k], a, out);
        after = k + 1;
    }
    rc = rc ? rc : mpread_done(&r, "map");
    return rc ? rc : mv_event_validate(out, e);
}
