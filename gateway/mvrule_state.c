/* mvrule_state: the wire form of a movement's state, version 1: a msgpack
 * map with keys in this order, present only when set (v, phase, n and
 * times always; data and stop once the movement is known):
 *
 *   v (1) phase (str) data (bin: the event wire form of state.data) stop
 *   (array of mv_stop, one per itinerary region) held why risk ctl win
 *   (str) times (array: declared, released, arrived, closed ms) enq
 *   (uint) n (uint) last (str)
 *
 * Read with the strict cursor of mpread.h, so a stored state that was
 * tampered with or written by another version is refused, not half-read. */
#include <msgpack.h>
#include <string.h>

#include "mpread.h"
#include "msgid.h"
#include "mvrule.h"

enum {
    MVS_V, MVS_PHASE, MVS_DATA, MVS_STOP, MVS_HELD, MVS_WHY, MVS_RISK,
    MVS_CTL, MVS_WIN, MVS_TIMES, MVS_ENQ, MVS_N, MVS_LAST, MVS_NKEYS
};
static const char *const mvst__keys[MVS_NKEYS] = {
    "v", "phase", "data", "stop", "held", "why", "risk", "ctl", "win",
    "times", "enq", "n", "last"};

/* The optional strings, by key. */
static const char **mvst__str(const mv_state *s, int k)
{
    switch (k) {
    case MVS_HELD: return (const char **)&s->held;
    case MVS_WHY: return (const char **)&s->hold_why;
    case MVS_RISK: return (const char **)&s->risk;
    case MVS_CTL: return (const char **)&s->control;
    case MVS_WIN: return (const char **)&s->winner;
    case MVS_LAST: return (const char **)&s->last_id;
    default: return NULL;
    }
}

/* ---- writing ---- */

static int mvst__write(void *data, const char *p, size_t n)
{
    return buf_add(data, p, n) ? -1 : 0;
}

static int mvst__pstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int mvst__has(const mv_state *s, int k)
{
    const char **p = mvst__str(s, k);
    if (p)
        return *p != NULL;
    if (k == MVS_DATA || k == MVS_STOP)
        return s->phase != MV_P_NONE;
    return k != MVS_ENQ || s->enquiries > 0;
}

static int mvst__pval(msgpack_packer *pk, const mv_state *s, int k,
                      const buf_t *data)
{
    const char **p = mvst__str(s, k);
    const uint64_t t[4] = {s->declared_ms, s->released_ms, s->arrived_ms,
                           s->closed_ms};
    int bad = 0;
    switch (k) {
    case MVS_V: return msgpack_pack_uint32(pk, s->version);
    case MVS_PHASE: return mvst__pstr(pk, mv_phase_name(s->phase));
    case MVS_DATA:
        return msgpack_pack_bin(pk, data->len) ||
               msgpack_pack_bin_body(pk, data->p, data->len);
    case MVS_STOP:
        bad = msgpack_pack_array(pk, s->data.nitin);
        for (uint32_t i = 0; !bad && i < s->data.nitin; i++)
            bad = msgpack_pack_uint8(pk, s->stop[i]);
        return bad;
    case MVS_TIMES:
        bad = msgpack_pack_array(pk, 4);
        for (int i = 0; !bad && i < 4; i++)
            bad = msgpack_pack_uint64(pk, t[i]);
        return bad;
    case MVS_ENQ: return msgpack_pack_uint32(pk, s->enquiries);
    case MVS_N: return msgpack_pack_uint32(pk, s->nevents);
    default: return mvst__pstr(pk, *p);
    }
}

static int mvst__pack(const mv_state *s, const buf_t *data, buf_t *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, mvst__write);
    uint32_t n = 0;
    for (int k = 0; k < MVS_NKEYS; k++)
        n += (uint32_t)mvst__has(s, k);
    int bad = msgpack_pack_map(&pk, n);
    for (int k = 0; !bad && k < MVS_NKEYS; k++)
        if (mvst__has(s, k))
            bad = mvst__pstr(&pk, mvst__keys[k]) ||
                  mvst__pval(&pk, s, k, data);
    return bad;
}

int mv_state_encode(const mv_state *s, buf_t *out, err_t *e)
{
    if (s->version != MVSTATE_VERSION || s->phase >= MV_P_END)
        return err_set(e, ERR_INVALID, "movement state: version %u phase "
                       "%d: not a state this node writes", s->version,
                       (int)s->phase);
    buf_t data;
    buf_init(&data, out->max);
    int rc = s->phase != MV_P_NONE ? mv_event_encode(&s->data, &data, e) : 0;
    if (rc) {
        buf_free(&data);
        err_wrap(e, "movement state: data");
        return rc;
    }
    size_t start = out->len;
    if (mvst__pack(s, &data, out)) {
        out->len = start; /* no half state left behind */
        if (out->p)
            out->p[start] = '\0';
        rc = err_set(e, ERR_TOOBIG, "movement state of %s: buffer full (%zu "
                     "bytes at most) or out of memory",
                     s->data.ref ? s->data.ref : "?", out->max);
    }
    buf_free(&data);
    return rc;
}

/* ---- reading ---- */

static int mvst__phase(mpread *r, mv_state *s)
{
    char name[16];
    int rc = mpread_str_into(r, name, sizeof name);
    if (!rc && mv_phase_parse(name, &s->phase))
        rc = mpread_fail(r, ERR_INVALID, "unknown phase \"%s\"", name);
    return rc;
}

/* The movement data: an event of its own wire form, read (and checked)
 * by mv_event_decode. */
static int mvst__data(mpread *r, arena_t *a, mv_state *s)
{
    const unsigned char *p;
    size_t n;
    int rc = mpread_bytes(r, &MPREAD_BIN, mpread_left(r), &p, &n);
    if (!rc && (rc = mv_event_decode(p, n, a, &s->data, r->e)) != 0) {
        err_wrap(r->e, "movement state key \"data\"");
        return rc;
    }
    mv_type t = s->data.type;
    if (!rc && t != MV_DECLARED && t != MV_AMENDED && t != MV_RELEASED)
        rc = mpread_fail(r, ERR_INVALID, "a %s event, not movement data",
                         mv_type_name(t));
    return rc;
}

static int mvst__arrays(mpread *r, int k, mv_state *s)
{
    uint32_t n;
    uint64_t v, t[4];
    int rc = k == MVS_STOP ? mpread_array(r, 0, MV_ITIN_MAX, &n)
                           : mpread_array(r, 4, 4, &n);
    if (!rc && k == MVS_STOP && n != s->data.nitin)
        rc = mpread_fail(r, ERR_INVALID, "%u stops for %u regions", n,
                         s->data.nitin);
    for (uint32_t i = 0; !rc && i < n; i++) {
        r->entry = i + 1;
        rc = mpread_uint(r, k == MVS_STOP ? MV_STOP_ARRIVED : UINT64_MAX, &v);
        if (k == MVS_STOP)
            s->stop[i] = (uint8_t)v;
        else
            t[i] = v;
    }
    if (!rc && k == MVS_TIMES) {
        s->declared_ms = t[0];
        s->released_ms = t[1];
        s->arrived_ms = t[2];
        s->closed_ms = t[3];
    }
    return rc;
}

static int mvst__rval(mpread *r, int k, arena_t *a, mv_state *s)
{
    uint64_t v;
    int rc;
    switch (k) {
    case MVS_PHASE: return mvst__phase(r, s);
    case MVS_DATA: return mvst__data(r, a, s);
    case MVS_STOP:
    case MVS_TIMES: return mvst__arrays(r, k, s);
    case MVS_ENQ:
        rc = mpread_count(r, UINT32_MAX, &v);
        s->enquiries = (uint32_t)v;
        return rc;
    case MVS_N:
        rc = mpread_uint(r, UINT32_MAX, &v);
        s->nevents = (uint32_t)v;
        return rc;
    default:
        return mpread_str(r, k == MVS_WHY ? MV_STR_MAX + MV_NOTE_MAX + 2
                                          : MV_STR_MAX,
                          a, mvst__str(s, k));
    }
}

/* What the keys alone cannot say: which are required, and that the
 * holder is on the itinerary. */
static int mvst__check(mpread *r, const mv_state *s, unsigned seen)
{
    unsigned known = s->phase != MV_P_NONE;
    unsigned need = 1u << MVS_PHASE | 1u << MVS_TIMES | 1u << MVS_N |
                    (known ? 1u << MVS_DATA | 1u << MVS_STOP : 0);
    r->key = NULL;
    for (int k = 0; k < MVS_NKEYS; k++)
        if ((need & ~seen) & (1u << k))
            return mpread_fail(r, ERR_INVALID, "key \"%s\" missing",
                               mvst__keys[k]);
    if (!known && (seen & (1u << MVS_DATA)))
        return mpread_fail(r, ERR_INVALID, "data of an unknown movement");
    if (s->held && mv_state_stop_of(s, s->held) < 0)
        return mpread_fail(r, ERR_INVALID, "held at %s, not on the "
                           "itinerary", s->held);
    err_t sub;
    if (s->last_id && msgid_parse(s->last_id, NULL, &sub))
        return mpread_fail(r, ERR_INVALID, "last: %s", sub.msg);
    return 0;
}

int mv_state_decode(const void *p, size_t n, arena_t *a, mv_state *out,
                    err_t *e)
{
    memset(out, 0, sizeof *out);
    mpread r;
    mpread_init(&r, p, n, "movement state", e);
    uint64_t nkeys;
    int rc = mpread_map_v(&r, mvst__keys, sizeof mvst__keys[0], MVS_NKEYS,
                          MVSTATE_VERSION, &nkeys);
    size_t after = 1, k = 0;
    unsigned seen = 1u << MVS_V;
    out->version = MVSTATE_VERSION;
    for (uint64_t i = 1; !rc && i < nkeys; i++) {
        rc = mpread_key(&r, mvst__keys, sizeof mvst__keys[0], MVS_NKEYS,
                        after, &k);
        rc = rc ? rc : mvst__rval(&r, (int)k, a, out);
        seen |= 1u << k;
        after = k + 1;
    }
    rc = rc ? rc : mpread_done(&r, "map");
    return rc ? rc : mvst__check(&r, out, seen);
}
