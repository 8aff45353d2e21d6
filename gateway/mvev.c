/* mvev: movement events, their field rules and their one wire form.
 *
 * The keys live in one table (mvev_keys) that both the writer and the
 * reader walk, so the order the writer uses is by construction the order
 * the reader demands. The reader works in place, like envelope_decode:
 * every length is checked against its cap and the bytes left before
 * anything is copied, and every header must be in its shortest form, so
 * decode then encode gives back the bytes that were signed. */
#include "mvev.h"

#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msgid.h"
#include "mvref.h"
#include "mvev_int.h"
#include "utf8.h"

/* ---- types ---- */

static const char *const mvev__type_names[MV_TYPE_END] = {
#define MV__NAME(name, num, text) [num] = text,
    MV_TYPES(MV__NAME)
#undef MV__NAME
};

const char *mv_type_name(mv_type t)
{
    return t > 0 && t < MV_TYPE_END ? mvev__type_names[t] : "?";
}

int mv_type_parse(const char *s, mv_type *out)
{
    for (int t = 1; s && t < MV_TYPE_END; t++)
        if (strcmp(s, mvev__type_names[t]) == 0) {
            *out = (mv_type)t;
            return 0;
        }
    return ERR_CODE;
}

/* ---- the key table: wire order, and which field each key holds ---- */

#define MVEV__F(f) offsetof(mv_event, f)
enum {
    B_PREV = 1u << 5, B_KIND = 1u << 6, B_ITIN = 1u << 7, B_DOCS = 1u << 8,
    B_CTRS = 1u << 9, B_PKGS = 1u << 10, B_DECL = 1u << 11,
    B_GUAR = 1u << 12, B_LIMIT = 1u << 13, B_RES = 1u << 14,
    B_NOTE = 1u << 15, B_WIN = 1u << 16, B_PLACE = 1u << 17,
    B_REC = 1u << 18
};
/* v t ref at by: always there */
#define B_ALWAYS 0x1fu

const mvev_key mvev_keys[MVEV_NKEYS] = {
    {"v", MVK_V, 0, 0, 1u << 0},
    {"t", MVK_T, 0, 0, 1u << 1},
    {"ref", MVK_STR, MVEV__F(ref), MV_STR_MAX, 1u << 2},
    {"at", MVK_U64, MVEV__F(at_ms), 0, 1u << 3},
    {"by", MVK_STR, MVEV__F(by), MV_STR_MAX, 1u << 4},
    {"prev", MVK_STR, MVEV__F(prev), MV_STR_MAX, B_PREV},
    {"kind", MVK_STR, MVEV__F(kind), MV_STR_MAX, B_KIND},
    {"itin", MVK_ITIN, 0, MV_STR_MAX, B_ITIN},
    {"docs", MVK_DOCS, 0, MV_STR_MAX, B_DOCS},
    {"ctrs", MVK_CTRS, 0, MV_STR_MAX, B_CTRS},
    {"pkgs", MVK_U32, MVEV__F(pkgs), 0, B_PKGS},
    {"decl", MVK_STR, MVEV__F(declarant), MV_STR_MAX, B_DECL},
    {"guar", MVK_STR, MVEV__F(guarantee), MV_STR_MAX, B_GUAR},
    {"limit", MVK_U64, MVEV__F(limit_ms), 0, B_LIMIT},
    {"res", MVK_STR, MVEV__F(result), MV_STR_MAX, B_RES},
    {"note", MVK_STR, MVEV__F(note), MV_NOTE_MAX, B_NOTE},
    {"win", MVK_STR, MVEV__F(winner), MV_STR_MAX, B_WIN},
    {"place", MVK_STR, MVEV__F(place), MV_STR_MAX, B_PLACE},
    {"rec", MVK_REC, 0, 0, B_REC},
};

const char **mvev_strp(const mv_event *ev, const mvev_key *k)
{
    return (const char **)((const char *)ev + k->off);
}

/* Whether ev has the field of key k set ("present only when set"). */
static int mvev__has(const mv_event *ev, const mvev_key *k)
{
    switch (k->kind) {
    case MVK_STR: return *mvev_strp(ev, k) != NULL;
    case MVK_U64: return *(const uint64_t *)((const char *)ev + k->off) > 0;
    case MVK_U32: return *(const uint32_t *)((const char *)ev + k->off) > 0;
    case MVK_ITIN: return ev->nitin > 0;
    case MVK_DOCS: return ev->ndocs > 0;
    case MVK_CTRS: return ev->nctrs > 0;
    case MVK_REC: return ev->record_len > 0;
    default: return 1;
    }
}

static uint32_t mvev__present(const mv_event *ev)
{
    uint32_t m = 0;
    for (size_t i = 0; i < MVEV_NKEYS; i++)
        if (mvev__has(ev, &mvev_keys[i]))
            m |= mvev_keys[i].bit;
    return m;
}

static const char *mvev__bit_name(uint32_t bit)
{
    for (size_t i = 0; i < MVEV_NKEYS; i++)
        if (mvev_keys[i].bit == bit)
            return mvev_keys[i].name;
    return "?";
}

/* ---- field rules per type ---- */

#define B_DATA (B_KIND | B_ITIN | B_DOCS | B_CTRS | B_PKGS | B_DECL | \
                B_GUAR | B_LIMIT)
#define B_FOUND (B_CTRS | B_PKGS)

static const char *const mvev__kinds[] = {"rail_sea_export",
    "water_transship", "rail_transit", "import_transfer", NULL};
static const char *const mvev__risk[] = {"cleared", "inspect", "inspected",
                                         NULL};
static const char *const mvev__ctl[] = {"ok", "discrepancy", NULL};
static const char *const mvev__disc[] = {"seal", "container", "packages",
                                         "other", NULL};
static const char *const mvev__status[] = {"gate_in", "gate_out", "loaded",
    "discharged", "departed", "arrived", "transshipped", "stuffed", "stripped",
    "crossed_border", "delivered", NULL};
static const char *const mvev__ok[] = {"ok", NULL};
static const char *const mvev__permit[] = {"reserved", "refused",
    "written_off", "returned", NULL};

/* need: keys the type requires; may: keys it allows besides (note and
 * place are allowed everywhere); codes: what res may say. */
static const struct {
    uint32_t need, may;
    const char *const *codes;
} mvev__rules[MV_TYPE_END] = {
    [MV_DECLARED] = {B_KIND | B_ITIN, B_DATA | B_REC, NULL},
    [MV_RISK] = {B_PREV | B_RES, 0, mvev__risk},
    [MV_AMENDED] = {B_PREV | B_KIND | B_ITIN, B_DATA, NULL},
    [MV_CANCELLED] = {B_PREV | B_KIND | B_ITIN, B_DATA, NULL},
    [MV_REJECTED] = {B_PREV | B_KIND | B_ITIN | B_WIN, B_DATA, NULL},
    [MV_RELEASED] = {B_PREV | B_KIND | B_ITIN | B_LIMIT, B_DATA, NULL},
    [MV_PASSAGE] = {B_PREV, B_FOUND | B_RES, mvev__ok},
    [MV_DISCREPANCY] = {B_PREV | B_RES, B_FOUND, mvev__disc},
    [MV_RESOLVED] = {B_PREV, 0, NULL},
    [MV_ARRIVED] = {B_PREV, B_FOUND | B_RES, mvev__ok},
    [MV_CONTROLLED] = {B_PREV | B_RES, B_FOUND, mvev__ctl},
    [MV_WRITTEN_OFF] = {B_PREV | B_KIND | B_ITIN, B_DATA, NULL},
    [MV_ENQUIRY] = {B_PREV, B_LIMIT, NULL},
    [MV_STATUS] = {B_PREV | B_RES, 0, mvev__status},
    [MV_PERMIT] = {B_PREV | B_RES | B_NOTE, B_REC, mvev__permit},
};

/* "event released of 26CQ...: itin: <why>" */
static int mvev__bad(const mv_event *ev, err_t *e, const char *field,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int mvev__bad(const mv_event *ev, err_t *e, const char *field,
                     const char *fmt, ...)
{
    char why[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return err_set(e, ERR_INVALID, "event %s of %.24s: %s: %s",
                   mv_type_name(ev->type), ev->ref ? ev->ref : "(no ref)",
                   field, why);
}

/* A set string: 1 to max bytes of printable UTF-8; token: no spaces
 * either (it becomes part of a claim key, docs/store.md). */
static int mvev__text(const mv_event *ev, err_t *e, const char *field,
                      const char *s, size_t max, int token)
{
    size_t n = strnlen(s, max + 1);
    if (n == 0)
        return mvev__bad(ev, e, field, "empty (leave it out instead)");
    if (n > max)
        return mvev__bad(ev, e, field, "more than %zu bytes", max);
    for (size_t i = 0; i < n;) {
        int k = utf8_printable((const unsigned char *)s + i);
        if (!k || (token && s[i] == ' '))
            return mvev__bad(ev, e, field, "byte %zu (0x%02x) is not %s",
                             i + 1, (unsigned char)s[i], token
                             ? "printable UTF-8 without spaces"
                             : "printable UTF-8");
        i += (size_t)k;
    }
    return 0;
}

static int mvev__in(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

static int mvev__is_region(const char *s)
{
    return strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' &&
           s[1] <= 'Z';
}

/* The plain string fields: caps and characters. */
static int mvev__strings(const mv_event *ev, err_t *e)
{
    for (size_t i = 0; i < MVEV_NKEYS; i++) {
        const mvev_key *k = &mvev_keys[i];
        const char *s = k->kind == MVK_STR ? *mvev_strp(ev, k) : NULL;
        int rc = s ? mvev__text(ev, e, k->name, s, k->max, 0) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

static int mvev__head(const mv_event *ev, err_t *e)
{
    if (ev->version != MVEV_VERSION)
        return mvev__bad(ev, e, "v", "version %u, this node writes %d",
                         ev->version, MVEV_VERSION);
    if (ev->type <= 0 || ev->type >= MV_TYPE_END)
        return mvev__bad(ev, e, "t", "unknown event type %d", (int)ev->type);
    err_t sub;
    if (mvref_check(ev->ref, &sub))
        return mvev__bad(ev, e, "ref", "%s", sub.msg);
    if (ev->at_ms == 0)
        return mvev__bad(ev, e, "at", "required");
    if (!ev->by || !mvev__is_region(ev->by))
        return mvev__bad(ev, e, "by", "'%.8s' is not a region (2 upper-case "
                         "letters)", ev->by ? ev->by : "(none)");
    return 0;
}

static int mvev__fields(const mv_event *ev, err_t *e)
{
    uint32_t has = mvev__present(ev), need = mvev__rules[ev->type].need;
    uint32_t may = need | mvev__rules[ev->type].may | B_NOTE | B_PLACE |
                   B_ALWAYS;
    for (uint32_t bit = 1; bit <= B_REC; bit <<= 1) {
        if ((need & bit) && !(has & bit))
            return mvev__bad(ev, e, mvev__bit_name(bit), "required");
        if ((has & bit) && !(may & bit))
            return mvev__bad(ev, e, mvev__bit_name(bit), "not used by a %s "
                             "event", mv_type_name(ev->type));
    }
    if ((need & B_ITIN) && ev->ndocs == 0 && ev->nctrs == 0)
        return mvev__bad(ev, e, "docs", "no document and no container: "
                         "nothing to move");
    return 0;
}

static int mvev__codes(const mv_event *ev, err_t *e)
{
    err_t sub;
    if (ev->prev && msgid_parse(ev->prev, NULL, &sub))
        return mvev__bad(ev, e, "prev", "%s", sub.msg);
    if (ev->kind && !mvev__in(ev->kind, mvev__kinds))
        return mvev__bad(ev, e, "kind", "'%s' is not rail_sea_export, "
                         "water_transship, rail_transit or import_transfer",
                         ev->kind);
    const char *const *codes = mvev__rules[ev->type].codes;
    if (ev->result && !mvev__in(ev->result, codes))
        return mvev__bad(ev, e, "res", "'%s' is not a %s result",
                         ev->result, mv_type_name(ev->type));
    if (ev->winner && mvref_check(ev->winner, &sub))
        return mvev__bad(ev, e, "win", "%s", sub.msg);
    if (ev->winner && strcmp(ev->winner, ev->ref) == 0)
        return mvev__bad(ev, e, "win", "a movement cannot lose to itself");
    return 0;
}

static int mvev__itin(const mv_event *ev, err_t *e)
{
    if (ev->nitin > MV_ITIN_MAX)
        return mvev__bad(ev, e, "itin", "%u regions, more than %d",
                         ev->nitin, MV_ITIN_MAX);
    if (ev->nitin == 0)
        return 0;
    if (ev->nitin < 2)
        return mvev__bad(ev, e, "itin", "one region; a movement goes from "
                         "one region to another");
    for (uint32_t i = 0; i < ev->nitin; i++) {
        if (!ev->itin[i] || !mvev__is_region(ev->itin[i]))
            return mvev__bad(ev, e, "itin", "entry %u '%.8s' is not a region "
                             "(2 upper-case letters)", i + 1,
                             ev->itin[i] ? ev->itin[i] : "(null)");
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(ev->itin[i], ev->itin[j]) == 0)
                return mvev__bad(ev, e, "itin", "%s appears twice",
                                 ev->itin[i]);
    }
    if (memcmp(ev->itin[0], ev->ref + 2, 2) != 0)
        return mvev__bad(ev, e, "itin", "starts at %s, but the reference "
                         "was made by %.2s (the departure comes first)",
                         ev->itin[0], ev->ref + 2);
    return 0;
}

/* Claim keys "d:<type>:<no>" stay within 128 bytes (docs/store.md). */
static int mvev__docs(const mv_event *ev, err_t *e)
{
    if (ev->ndocs > MV_DOC_MAX)
        return mvev__bad(ev, e, "docs", "%u documents, more than %d",
                         ev->ndocs, MV_DOC_MAX);
    for (uint32_t i = 0; i < ev->ndocs; i++) {
        const mv_doc *d = &ev->docs[i];
        if (!d->type || !d->no)
            return mvev__bad(ev, e, "docs", "entry %u: type and number "
                             "required", i + 1);
        char f[48];
        snprintf(f, sizeof f, "docs entry %u type", i + 1);
        int rc = mvev__text(ev, e, f, d->type, MV_STR_MAX, 1);
        snprintf(f, sizeof f, "docs entry %u number", i + 1);
        rc = rc ? rc : mvev__text(ev, e, f, d->no, MV_STR_MAX, 1);
        if (rc)
            return rc;
        if (strchr(d->type, ':') || strlen(d->type) + strlen(d->no) > 125)
            return mvev__bad(ev, e, "docs", "entry %u: type with ':' or "
                             "type and number over 125 bytes", i + 1);
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(d->type, ev->docs[j].type) &&
                !strcmp(d->no, ev->docs[j].no))
                return mvev__bad(ev, e, "docs", "%s %s appears twice",
                                 d->type, d->no);
    }
    return 0;
}

static int mvev__ctr(const mv_event *ev, err_t *e, uint32_t i)
{
    const mv_ctr *c = &ev->ctrs[i];
    char f[48];
    snprintf(f, sizeof f, "ctrs entry %u", i + 1);
    if (!c->no)
        return mvev__bad(ev, e, f, "number required");
    int rc = mvev__text(ev, e, f, c->no, MV_STR_MAX, 1);
    if (!rc && c->nseals > MV_SEAL_MAX)
        rc = mvev__bad(ev, e, f, "%u seals, more than %d", c->nseals,
                       MV_SEAL_MAX);
    for (uint32_t s = 0; !rc && s < c->nseals; s++) {
        snprintf(f, sizeof f, "ctrs entry %u seal %u", i + 1, s + 1);
        rc = c->seals[s] ? mvev__text(ev, e, f, c->seals[s], MV_STR_MAX, 0)
                         : mvev__bad(ev, e, f, "missing");
    }
    if (rc)
        return rc;
    for (uint32_t j = 0; j < i; j++)
        if (strcmp(c->no, ev->ctrs[j].no) == 0)
            return mvev__bad(ev, e, "ctrs", "container %s appears twice",
                             c->no);
    return 0;
}

static int mvev__ctrs(const mv_event *ev, err_t *e)
{
    if (ev->nctrs > MV_CTR_MAX)
        return mvev__bad(ev, e, "ctrs", "%u containers, more than %d",
                         ev->nctrs, MV_CTR_MAX);
    for (uint32_t i = 0; i < ev->nctrs; i++) {
        int rc = mvev__ctr(ev, e, i);
        if (rc)
            return rc;
    }
    return 0;
}

int mv_event_validate(const mv_event *ev, err_t *e)
{
    if (!ev)
        return err_set(e, ERR_INVALID, "event: missing");
    int rc = mvev__head(ev, e);
    rc = rc ? rc : mvev__fields(ev, e);
    rc = rc ? rc : mvev__strings(ev, e);
    rc = rc ? rc : mvev__codes(ev, e);
    rc = rc ? rc : mvev__itin(ev, e);
    rc = rc ? rc : mvev__docs(ev, e);
    rc = rc ? rc : mvev__ctrs(ev, e);
    return rc;
}

/* ---- writing: msgpack-c's packer over our capped buffer ---- */

static int mvev__write(void *data, const char *p, size_t n)
{
    return buf_add(data, p, n) ? -1 : 0;
}

static int mvev__pstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int mvev__pctrs(msgpack_packer *pk, const mv_event *ev)
{
    int bad = msgpack_pack_array(pk, ev->nctrs);
    for (uint32_t i = 0; !bad && i < ev->nctrs; i++) {
        const mv_ctr *c = &ev->ctrs[i];
        bad = msgpack_pack_array(pk, 2) || mvev__pstr(pk, c->no) ||
              msgpack_pack_array(pk, c->nseals);
        for (uint32_t s = 0; !bad && s < c->nseals; s++)
            bad = mvev__pstr(pk, c->seals[s]);
    }
    return bad;
}

static int mvev__plists(msgpack_packer *pk, const mv_event *ev,
                        mvev_kind kind)
{
    int bad = 0;
    if (kind == MVK_ITIN) {
        bad = msgpack_pack_array(pk, ev->nitin);
        for (uint32_t i = 0; !bad && i < ev->nitin; i++)
            bad = mvev__pstr(pk, ev->itin[i]);
        return bad;
    }
    if (kind == MVK_CTRS)
        return mvev__pctrs(pk, ev);
    bad = msgpack_pack_array(pk, ev->ndocs);
    for (uint32_t i = 0; !bad && i < ev->ndocs; i++)
        bad = msgpack_pack_array(pk, 2) || mvev__pstr(pk, ev->docs[i].type) ||
              mvev__pstr(pk, ev->docs[i].no);
    return bad;
}

static int mvev__pval(msgpack_packer *pk, const mv_event *ev,
                      const mvev_key *k)
{
    const char *f = (const char *)ev + k->off;
    switch (k->kind) {
    case MVK_V: return msgpack_pack_uint32(pk, ev->version);
    case MVK_T: return mvev__pstr(pk, mv_type_name(ev->type));
    case MVK_STR: return mvev__pstr(pk, *mvev_strp(ev, k));
    case MVK_U64: return msgpack_pack_uint64(pk, *(const uint64_t *)f);
    case MVK_U32: return msgpack_pack_uint32(pk, *(const uint32_t *)f);
    case MVK_REC:
        return msgpack_pack_bin(pk, ev->record_len) ||
               msgpack_pack_bin_body(pk, ev->record, ev->record_len);
    default: return mvev__plists(pk, ev, k->kind);
    }
}

int mv_event_encode(const mv_event *ev, buf_t *out, err_t *e)
{
    int rc = mv_event_validate(ev, e);
    if (rc)
        return rc;
    size_t start = out->len;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, mvev__write);
    uint32_t n = 0;
    for (size_t i = 0; i < MVEV_NKEYS; i++)
        n += (uint32_t)mvev__has(ev, &mvev_keys[i]);
    int bad = msgpack_pack_map(&pk, n);
    for (size_t i = 0; !bad && i < MVEV_NKEYS; i++)
        if (mvev__has(ev, &mvev_keys[i]))
            bad = mvev__pstr(&pk, mvev_keys[i].name) ||
                  mvev__pval(&pk, ev, &mvev_keys[i]);
    if (!bad)
        return 0;
    out->len = start; /* no half event left behind */
    if (out->p)
        out->p[start] = '\0';
    return err_set(e, ERR_TOOBIG, "event %s of %s: cannot write it: buffer "
                   "full (%zu bytes at most) or out of memory",
                   mv_type_name(ev->type), ev->ref, out->max);
}
