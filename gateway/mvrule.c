/* mvrule: the lifecycle rules of a movement (docs/clearance.md, the
 * message table and "Who may do what"). The state's wire form is
 * mvrule_state.c.
 *
 * Every node applies each movement's events in an order consistent with
 * what their authors saw (prev), but two events by different regions that
 * did not see each other can come in either order. The rules therefore
 * let such pairs commute where the table allows it: a passage is a record
 * of something that happened and is accepted in every phase after the
 * release (an automatic arrival may overtake it), an enquiry in every
 * phase from released to controlled, and a hold stops only the regions at
 * or after the holder on the itinerary (goods held at SN cannot pass SH,
 * but SC's late passage report before SN still counts). */
#include "mvrule.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msgid.h"
#include "mvref.h"

static const char *const mvrule__phase_names[MV_P_END] = {
#define MV__PNAME(name, num, text) [num] = text,
    MV_PHASES(MV__PNAME)
#undef MV__PNAME
};

const char *mv_phase_name(mv_phase p)
{
    return p >= 0 && p < MV_P_END ? mvrule__phase_names[p] : "?";
}

int mv_phase_parse(const char *s, mv_phase *out)
{
    for (int p = 0; s && p < MV_P_END; p++)
        if (strcmp(s, mvrule__phase_names[p]) == 0) {
            *out = (mv_phase)p;
            return 0;
        }
    return ERR_CODE;
}

int mv_state_stop_of(const mv_state *s, const char *region)
{
    for (uint32_t i = 0; region && i < s->data.nitin; i++)
        if (strcmp(s->data.itin[i], region) == 0)
            return (int)i;
    return -1;
}

/* ---- who may send what, in which phase ---- */

enum { R_DEP = 1, R_TRANSIT = 2, R_DEST = 4 }; /* roles, as a mask */
#define P(x) (1u << MV_P_##x)

static const struct {
    unsigned roles;  /* who may author it */
    unsigned phases; /* in which phases it is accepted */
} mvrule__table[MV_TYPE_END] = {
    [MV_DECLARED] = {R_DEP, P(NONE)},
    [MV_RISK] = {R_DEP, P(DECLARED)},
    [MV_AMENDED] = {R_DEP, P(DECLARED)},
    [MV_CANCELLED] = {R_DEP, P(DECLARED)},
    [MV_REJECTED] = {R_DEP, P(DECLARED)},
    [MV_RELEASED] = {R_DEP, P(DECLARED)},
    [MV_PASSAGE] = {R_TRANSIT, P(RELEASED) | P(ARRIVED) | P(CONTROLLED) |
                                   P(WRITTEN_OFF)},
    [MV_DISCREPANCY] = {R_TRANSIT | R_DEST, P(RELEASED) | P(ARRIVED)},
    [MV_RESOLVED] = {R_DEP, P(RELEASED) | P(ARRIVED)},
    [MV_ARRIVED] = {R_DEST, P(RELEASED)},
    [MV_CONTROLLED] = {R_DEST, P(ARRIVED)},
    [MV_WRITTEN_OFF] = {R_DEP, P(CONTROLLED)},
    [MV_ENQUIRY] = {R_DEP, P(RELEASED) | P(ARRIVED) | P(CONTROLLED)},
    /* the evidence of a permit's draw-down (docs/permits.md): its answer
     * may come after the movement moved on, or ended */
    [MV_PERMIT] = {R_DEP, P(DECLARED) | P(RELEASED) | P(ARRIVED) |
                   P(CONTROLLED) | P(WRITTEN_OFF) | P(CANCELLED) |
                   P(REJECTED)},
    [MV_STATUS] = {R_DEP | R_TRANSIT | R_DEST, P(DECLARED) | P(RELEASED) |
                   P(ARRIVED) | P(CONTROLLED) | P(WRITTEN_OFF)},
};

/* What a refusal is about, for its message. */
typedef struct mvrule_ctx {
    const mv_event *ev;
    const char *author;
    err_t *e;
} mvrule_ctx;

/* "26CQ...: passage by SC refused: <why>" */
static int mvrule__no(const mvrule_ctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int mvrule__no(const mvrule_ctx *c, int code, const char *fmt, ...)
{
    char why[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return err_set(c->e, code, "%s: %s by %s refused: %s", c->ev->ref,
                   mv_type_name(c->ev->type), c->author, why);
}

/* "CQ>SN>SH" into buf. */
static const char *mvrule__itin(const mv_event *d, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < d->nitin && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s%s", i ? ">" : "",
                                d->itin[i]);
    return buf;
}

static unsigned mvrule__role(const mv_event *d, int idx)
{
    if (idx < 0)
        return 0;
    if (idx == 0)
        return R_DEP;
    return (uint32_t)idx + 1 == d->nitin ? R_DEST : R_TRANSIT;
}

static int mvrule__owner(const mvrule_ctx *c, const mv_event *d, int idx)
{
    unsigned need = mvrule__table[c->ev->type].roles;
    if (mvrule__role(d, idx) & need)
        return 0;
    char it[64];
    const char *what = need == R_DEP ? "the departure region"
                       : need == R_TRANSIT ? "a transit region"
                       : need == R_DEST ? "the destination"
                       : need == (R_TRANSIT | R_DEST)
                           ? "a transit region or the destination"
                           : "a region";
    return mvrule__no(c, ERR_DENIED, "%s is not %s of itinerary %s",
                      c->author, what, mvrule__itin(d, it, sizeof it));
}

/* The holder's itinerary index blocks it and every region after it. */
static int mvrule__held_for(const mv_state *s, int idx)
{
    if (!s->held)
        return 0;
    int h = mv_state_stop_of(s, s->held);
    return h < 0 || h <= idx;
}

/* Conditions beyond the phase: holds, the risk gate, one passage. */
static int mvrule__gates(const mvrule_ctx *c, const mv_state *s, int idx)
{
    mv_type t = c->ev->type;
    int stopped = t == MV_PASSAGE || t == MV_ARRIVED || t == MV_CONTROLLED ||
                  t == MV_WRITTEN_OFF;
    if (stopped && mvrule__held_for(s, t == MV_WRITTEN_OFF ? MV_ITIN_MAX
                                                           : idx))
        return mvrule__no(c, ERR_PHASE, "the movement is on hold at %s (%s) "
                          "until the departure resolves it", s->held,
                          s->hold_why ? s->hold_why : "discrepancy");
    if (t == MV_RESOLVED && !s->held)
        return mvrule__no(c, ERR_PHASE, "the movement is not on hold");
    if (t == MV_RELEASED && s->risk && strcmp(s->risk, "inspect") == 0)
        return mvrule__no(c, ERR_PHASE, "release blocked: risk result is "
                          "inspect, waiting for inspected or cleared");
    if (t == MV_PASSAGE && s->stop[idx] != MV_STOP_EXPECTED)
        return mvrule__no(c, ERR_PHASE, "passage at %s is recorded already",
                          c->author);
    return 0;
}

static int mvrule__phase(const mvrule_ctx *c, const mv_state *s)
{
    if (mvrule__table[c->ev->type].phases & (1u << s->phase))
        return 0;
    if (c->ev->type == MV_DECLARED)
        return mvrule__no(c, ERR_PHASE, "the movement exists already "
                          "(%s)", mv_phase_name(s->phase));
    if (c->ev->type == MV_RELEASED && s->phase != MV_P_DECLARED &&
        s->released_ms)
        return mvrule__no(c, ERR_PHASE, "the movement is released already "
                          "(%s)", mv_phase_name(s->phase));
    return mvrule__no(c, ERR_PHASE, "the movement is %s",
                      mv_phase_name(s->phase));
}

/* ---- what an event may not change ---- */

/* The first document of x that y lacks, or NULL: x and y are the same
 * set (both are free of repeats, mv_event_validate saw to it). */
static const mv_doc *mvrule__doc_diff(const mv_event *x, const mv_event *y)
{
    for (uint32_t i = 0; i < x->ndocs; i++) {
        uint32_t j = 0;
        while (j < y->ndocs && (strcmp(x->docs[i].type, y->docs[j].type) ||
                                strcmp(x->docs[i].no, y->docs[j].no)))
            j++;
        if (j == y->ndocs)
            return &x->docs[i];
    }
    return NULL;
}

static const mv_ctr *mvrule__ctr_find(const mv_event *d, const char *no)
{
    for (uint32_t j = 0; j < d->nctrs; j++)
        if (strcmp(d->ctrs[j].no, no) == 0)
            return &d->ctrs[j];
    return NULL;
}

static const char *mvrule__ctr_diff(const mv_event *x, const mv_event *y)
{
    for (uint32_t i = 0; i < x->nctrs; i++)
        if (!mvrule__ctr_find(y, x->ctrs[i].no))
            return x->ctrs[i].no;
    return NULL;
}

/* Documents and container numbers are what the movement claimed: no
 * event may change them (cancel and declare again instead). */
static int mvrule__claims(const mvrule_ctx *c, const mv_event *d)
{
    const mv_event *ev = c->ev;
    const mv_doc *x = mvrule__doc_diff(ev, d), *y = mvrule__doc_diff(d, ev);
    if (x || y)
        return mvrule__no(c, ERR_INVALID, "document %s %s %s; documents "
                          "never change (cancel and declare again)",
                          x ? x->type : y->type, x ? x->no : y->no,
                          x ? "is not in the movement" : "is left out");
    const char *cx = mvrule__ctr_diff(ev, d), *cy = mvrule__ctr_diff(d, ev);
    if (cx || cy)
        return mvrule__no(c, ERR_INVALID, "container %s %s; container "
                          "numbers never change (cancel and declare again)",
                          cx ? cx : cy,
                          cx ? "is not in the movement" : "is left out");
    return 0;
}

static int mvrule__same_itin(const mv_event *x, const mv_event *y)
{
    if (x->nitin != y->nitin)
        return 0;
    for (uint32_t i = 0; i < x->nitin; i++)
        if (strcmp(x->itin[i], y->itin[i]))
            return 0;
    return 1;
}

/* An amendment may drop or reorder regions, never add one: a region
 * off the itinerary kept nothing of the declaration and got none of the
 * events since, so it could never apply the amendment's prev nor
 * anything after it (all would stay parked there). */
static int mvrule__new_region(const mvrule_ctx *c, const mv_event *d)
{
    const mv_event *ev = c->ev;
    for (uint32_t i = 0; i < ev->nitin; i++) {
        uint32_t j = 0;
        while (j < d->nitin && strcmp(ev->itin[i], d->itin[j]))
            j++;
        if (j == d->nitin) {
            char x[64];
            return mvrule__no(c, ERR_INVALID, "region %s is not on "
                              "itinerary %s; an amendment never adds a "
                              "region (cancel and declare again)",
                              ev->itin[i], mvrule__itin(d, x, sizeof x));
        }
    }
    return 0;
}

/* The movement data an event carries against the state's. Only an
 * amendment may change the itinerary (no region added); the kind
 * stays. */
static int mvrule__data(const mvrule_ctx *c, const mv_event *d)
{
    const mv_event *ev = c->ev;
    if (strcmp(ev->kind, d->kind))
        return mvrule__no(c, ERR_INVALID, "kind %s, the movement is %s; "
                          "the kind never changes", ev->kind, d->kind);
    int rc = ev->type == MV_AMENDED ? mvrule__new_region(c, d) : 0;
    if (rc)
        return rc;
    if (ev->type != MV_AMENDED && !mvrule__same_itin(ev, d)) {
        char x[64], y[64];
        return mvrule__no(c, ERR_INVALID, "itinerary %s, the movement's is "
                          "%s; only an amendment changes it",
                          mvrule__itin(ev, x, sizeof x),
                          mvrule__itin(d, y, sizeof y));
    }
    return mvrule__claims(c, d);
}

static int mvrule__carries_data(mv_type t)
{
    return t == MV_AMENDED || t == MV_CANCELLED || t == MV_REJECTED ||
           t == MV_RELEASED || t == MV_WRITTEN_OFF;
}

/* Everything that can refuse ev, in the order the tables promise:
 * the event itself, its signer, ownership, phase, gates, contents. */
static int mvrule__admit(const mvrule_ctx *c, const mv_state *s,
                         const char *ev_id)
{
    const mv_event *ev = c->ev;
    err_t sub;
    int rc = mv_event_validate(ev, c->e);
    if (rc)
        return rc;
    if (msgid_parse(ev_id, NULL, &sub))
        return mvrule__no(c, ERR_INVALID, "event id: %s", sub.msg);
    if (strcmp(ev->by, c->author))
        return mvrule__no(c, ERR_DENIED, "the event says by %s, its signer "
                          "is of region %s", ev->by, c->author);
    if (!s)
        return ev->type != MV_DECLARED
                   ? mvrule__no(c, ERR_PHASE, "the movement is unknown here "
                                "(no declared applied)")
                   : mvrule__owner(c, ev, strcmp(c->author, ev->itin[0])
                                              ? -1 : 0);
    if (strcmp(ev->ref, s->data.ref))
        return mvrule__no(c, ERR_INVALID, "the state is of movement %s",
                          s->data.ref);
    int idx = mv_state_stop_of(s, c->author);
    rc = mvrule__owner(c, &s->data, idx);
    rc = rc ? rc : mvrule__phase(c, s);
    rc = rc ? rc : mvrule__gates(c, s, idx);
    if (!rc && mvrule__carries_data(ev->type))
        rc = mvrule__data(c, &s->data);
    return rc;
}

/* ---- the next state ---- */

/* The movement data becomes ev's (declared, amended, released). The
 * declaration's record stays in the log, not in every state written. */
static void mvrule__take_data(mv_state *s, const mv_event *ev)
{
    s->data = *ev;
    s->data.record = NULL;
    s->data.record_len = 0;
    for (uint32_t i = 0; i < MV_ITIN_MAX; i++)
        s->stop[i] = ev->type == MV_RELEASED && i > 0 && i < ev->nitin
                         ? MV_STOP_EXPECTED : MV_STOP_NONE;
}

/* "seal: found SH123" (or just the result): why it is held. */
static int mvrule__hold(mv_state *s, const mv_event *ev, arena_t *a)
{
    int h = s->held ? mv_state_stop_of(s, s->held) : -1;
    if (h >= 0 && h < mv_state_stop_of(s, ev->by))
        return 0; /* the hold further back stays: the goods stop there */
    size_t n = strlen(ev->result) + (ev->note ? strlen(ev->note) + 2 : 0);
    char *why = arena_alloc(a, n + 1);
    if (!why)
        return ERR_NOMEM;
    snprintf(why, n + 1, "%s%s%s", ev->result, ev->note ? ": " : "",
             ev->note ? ev->note : "");
    s->held = ev->by;
    s->hold_why = why;
    return 0;
}

static int mvrule__next(mv_state *s, const mv_event *ev, arena_t *a)
{
    int idx = mv_state_stop_of(s, ev->by);
    switch (ev->type) {
    case MV_DECLARED:
        s->phase = MV_P_DECLARED;
        s->declared_ms = ev->at_ms;
        /* fall through */
    case MV_AMENDED: mvrule__take_data(s, ev); return 0;
    case MV_RELEASED:
        mvrule__take_data(s, ev);
        s->phase = MV_P_RELEASED;
        s->released_ms = ev->at_ms;
        return 0;
    case MV_RISK: s->risk = ev->result; return 0;
    case MV_CANCELLED: s->phase = MV_P_CANCELLED; break;
    case MV_REJECTED:
        s->phase = MV_P_REJECTED;
        s->winner = ev->winner;
        break;
    case MV_WRITTEN_OFF: s->phase = MV_P_WRITTEN_OFF; break;
    case MV_PASSAGE: s->stop[idx] = MV_STOP_PASSED; return 0;
    case MV_ARRIVED:
        s->phase = MV_P_ARRIVED;
        s->stop[idx] = MV_STOP_ARRIVED;
        s->arrived_ms = ev->at_ms;
        return 0;
    case MV_CONTROLLED:
        s->control = ev->result;
        if (strcmp(ev->result, "ok") == 0)
            s->phase = MV_P_CONTROLLED;
        return strcmp(ev->result, "ok") ? mvrule__hold(s, ev, a) : 0;
    case MV_DISCREPANCY: return mvrule__hold(s, ev, a);
    case MV_RESOLVED: s->held = s->hold_why = NULL; return 0;
    case MV_ENQUIRY: s->enquiries++; return 0;
    default: return 0; /* status, permit: records, no state */
    }
    s->closed_ms = ev->at_ms; /* cancelled, rejected, written off */
    return 0;
}

int mv_rule_apply(const mv_state *cur, const mv_event *ev, const char *ev_id,
                  const char *author, arena_t *a, mv_state *out, err_t *e)
{
    const mv_state *s = cur && cur->phase != MV_P_NONE ? cur : NULL;
    if (!ev || !ev->ref || !author || !ev_id)
        return err_set(e, ERR_INVALID, "movement rules: %s missing",
                       !ev || !ev->ref ? "event" : !author ? "author"
                                                           : "event id");
    mvrule_ctx c = {ev, author, e};
    int rc = mvrule__admit(&c, s, ev_id);
    if (rc)
        return rc;
    if (s)
        *out = *s; /* out may be cur: nothing of cur is read after */
    else
        *out = (mv_state){.version = MVSTATE_VERSION};
    out->last_id = arena_strdup(a, ev_id);
    rc = out->last_id ? mvrule__next(out, ev, a) : ERR_NOMEM;
    if (rc)
        return mvrule__no(&c, rc, "out of memory");
    out->nevents++;
    return 0;
}

/* ---- what a region found against what was released ---- */

static int mvrule__has_seal(const mv_ctr *c, const char *seal)
{
    for (uint32_t s = 0; s < c->nseals; s++)
        if (strcmp(c->seals[s], seal) == 0)
            return 1;
    return 0;
}

/* "CQ778899,CQ778900" into buf ("no seal" when there is none). */
static const char *mvrule__seals(const mv_ctr *c, char *buf, size_t n)
{
    size_t off = 0;
    snprintf(buf, n, "no seal");
    for (uint32_t s = 0; s < c->nseals && off < n; s++)
        off += (size_t)snprintf(buf + off, n - off, "%s%s", s ? "," : "",
                                c->seals[s]);
    return buf;
}

static int mvrule__ctr_check(const mv_ctr *rel, const mv_ctr *got,
                             err_t *e)
{
    char list[MV_SEAL_MAX * (MV_STR_MAX + 1) + 8];
    for (uint32_t s = 0; s < got->nseals; s++)
        if (!mvrule__has_seal(rel, got->seals[s]))
            return err_set(e, ERR_CONFLICT, "container %s: seal %s found, "
                           "released with %s", got->no, got->seals[s],
                           mvrule__seals(rel, list, sizeof list));
    for (uint32_t s = 0; s < rel->nseals; s++)
        if (!mvrule__has_seal(got, rel->seals[s]))
            return err_set(e, ERR_CONFLICT, "container %s: seal %s missing, "
                           "found %s", got->no, rel->seals[s],
                           mvrule__seals(got, list, sizeof list));
    return 0;
}

int mv_rule_check_seals(const mv_state *s, const mv_event *found, err_t *e)
{
    const mv_event *d = &s->data;
    if (d->type != MV_RELEASED)
        return err_set(e, ERR_PHASE, "%s: not released, nothing to check "
                       "seals against", d->ref ? d->ref : "movement");
    for (uint32_t i = 0; i < found->nctrs; i++) {
        const mv_ctr *rel = mvrule__ctr_find(d, found->ctrs[i].no);
        if (!rel)
            return err_set(e, ERR_CONFLICT, "container %s: found, not "
                           "released with movement %s", found->ctrs[i].no,
                           d->ref);
        int rc = mvrule__ctr_check(rel, &found->ctrs[i], e);
        if (rc)
            return rc;
    }
    /* nothing listed: no container report to compare (packages only) */
    for (uint32_t i = 0; found->nctrs && i < d->nctrs; i++)
        if (!mvrule__ctr_find(found, d->ctrs[i].no))
            return err_set(e, ERR_CONFLICT, "container %s: released, not "
                           "found", d->ctrs[i].no);
    if (found->pkgs && d->pkgs && found->pkgs != d->pkgs)
        return err_set(e, ERR_CONFLICT, "packages: %u found, released with "
                       "%u", found->pkgs, d->pkgs);
    return 0;
}
