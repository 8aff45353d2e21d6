/* The automatic steps of ledger.auto (node_ledger_int.h): passage at a
 * transit when the release arrives, arrival at the destination once
 * released with every transit passed, control ok after arrival, write-off
 * at the departure when controlled ok arrives.
 *
 * Exactly once across crashes: the ledger saves its position after the
 * batch and its steps, so a crash in between applies the batch again and
 * its triggers come back as duplicates. Duplicates are triggers too, and
 * each step goes under the id mvact_step_id derives from the movement,
 * the step and this node: decided again, it is either still unapplied
 * (the store's submit sees the id and writes nothing) or applied (the
 * rules refuse it before it is signed). Steps are decided on the latest
 * state of the movement, not the one after their trigger, so two
 * triggers of one batch (two passages before an arrival) make one step. */
#include "node_ledger_int.h"

#include <string.h>

#include "envelope.h"
#include "log.h"
#include "mvact.h"
#include "store_mv.h"

void nl_auto_begin(nl_auto *au)
{
    au->ntrig = 0;
    au->napplied = 0;
}

static int nla__trigger_type(mv_type t)
{
    return t == MV_RELEASED || t == MV_PASSAGE || t == MV_ARRIVED ||
           t == MV_CONTROLLED;
}

void nl_auto_note(node *n, nl_auto *au, const ledger_result *r)
{
    const mv_event *ev = r->item->ev;
    if (r->outcome == LEDGER_APPLIED) {
        if (au->napplied < NLA_STATES_MAX)
            au->applied[au->napplied] = (nla_applied){ev->ref, r->after};
        au->napplied++;
    }
    if ((r->outcome != LEDGER_APPLIED && r->outcome != LEDGER_DUP) ||
        !n->cfg->ledger.steps.n || n->cfg->node.role == CFG_ROLE_NATIONAL ||
        !nla__trigger_type(ev->type))
        return;
    for (size_t i = 0; i < au->ntrig; i++) /* one per movement and type */
        if (au->trig[i].type == ev->type && !strcmp(au->trig[i].ref, ev->ref))
            return;
    if (au->ntrig < NLA_TRIGGERS_MAX)
        au->trig[au->ntrig++] = (nla_trigger){ev->ref, ev->type,
                                              r->outcome == LEDGER_DUP,
                                              MV_DECLARED};
}

/* The last state of ref applied in this batch; NULL when not kept. */
static const mv_state *nla__latest(const nl_auto *au, const char *ref)
{
    if (au->napplied > NLA_STATES_MAX)
        return NULL;
    for (size_t i = au->napplied; i-- > 0;)
        if (!strcmp(au->applied[i].ref, ref))
            return au->applied[i].st;
    return NULL;
}

/* The stored state of ref, in a (a duplicate's movement, or one whose
 * state was not kept). */
static const mv_state *nla__load(node *n, const char *ref, arena_t *a)
{
    mv_state *s = arena_zalloc(a, sizeof *s);
    buf_t b;
    err_t e;
    buf_init(&b, ENV_MAX_FRAME);
    int rc = s ? store_mv_state(n->st, ref, &b, &e) : ERR_NOMEM;
    if (rc == 0)
        rc = mv_state_decode(b.p, b.len, a, s, &e);
    buf_free(&b);
    if (rc < 0)
        log_event(LOG_WARN, "mv_auto", "ref=%s msg=%s", ref,
                  rc == ERR_NOMEM ? "out of memory" : log_q(e.msg));
    return rc < 0 ? NULL : s;
}

/* Every transit stop passed: the destination may record arrival. */
static int nla__transits_passed(const mv_state *s)
{
    for (uint32_t i = 1; i + 1 < s->data.nitin; i++)
        if (s->stop[i] != MV_STOP_PASSED)
            return 0;
    return 1;
}

/* The step of ledger.auto trigger t calls for here in state s, or
 * MV_DECLARED for none. */
static mv_type nla__step_of(const cfg *c, mv_type t, const mv_state *s)
{
    int at = mv_state_stop_of(s, c->node.region);
    int last = (int)s->data.nitin - 1;
    if (at < 0)
        return MV_DECLARED;
    if (t == MV_RELEASED && at > 0 && at < last &&
        cfg_ledger_auto(c, "passage"))
        return MV_PASSAGE;
    if ((t == MV_RELEASED || t == MV_PASSAGE) && at == last &&
        s->phase == MV_P_RELEASED && nla__transits_passed(s) &&
        cfg_ledger_auto(c, "arrival"))
        return MV_ARRIVED;
    if (t == MV_ARRIVED && at == last && cfg_ledger_auto(c, "control"))
        return MV_CONTROLLED;
    if (t == MV_CONTROLLED && at == 0 && s->phase == MV_P_CONTROLLED &&
        cfg_ledger_auto(c, "write_off"))
        return MV_WRITTEN_OFF;
    return MV_DECLARED;
}

int nl_auto_once(node *n, mv_event *ev, const mv_state *s, int gated,
                 int replay)
{
    char want[MSGID_LEN + 1], id[MSGID_LEN + 1];
    const char *t = mv_type_name(ev->type);
    err_t e;
    int rc = mvact_step_id(n, s, ev->type, want, &e);
    if (rc == 0)
        rc = mvact_submit_as(n, ev, s, gated, want, id, &e);
    if (rc >= 0)
        log_event(LOG_DEBUG, "mv_auto", "ref=%s ev=%s id=%s%s", ev->ref, t,
                  want, rc == 1 ? " sent=before" : "");
    else if (rc == ERR_PHASE && replay) /* taken before the crash */
        log_event(LOG_DEBUG, "mv_auto", "ref=%s ev=%s id=%s taken=before "
                  "msg=%s", ev->ref, t, want, log_q(e.msg));
    else
        log_event(LOG_WARN, "mv_auto", "ref=%s ev=%s msg=%s", ev->ref, t,
                  log_q(e.msg));
    return rc;
}

/* Whether an earlier trigger of tr's movement in au made step t. */
static int nla__made(const nl_auto *au, const nla_trigger *tr, mv_type t)
{
    for (const nla_trigger *p = au->trig; p < tr; p++)
        if (p->step == t && !strcmp(p->ref, tr->ref))
            return 1;
    return 0;
}

static void nla__take(node *n, nl_auto *au, nla_trigger *tr,
                      const mv_state *s)
{
    mv_type t = nla__step_of(n->cfg, tr->type, s);
    if (t == MV_DECLARED || nla__made(au, tr, t))
        return;
    tr->step = t;
    mv_event ev = {.type = t, .ref = tr->ref};
    const mv_event *d = &s->data;
    if (t == MV_PASSAGE || t == MV_ARRIVED) {
        memcpy(ev.ctrs, d->ctrs, sizeof ev.ctrs); /* found as released */
        ev.nctrs = d->nctrs;
        ev.pkgs = d->pkgs;
    } else if (t == MV_CONTROLLED) {
        ev.result = "ok";
    }
    nl_auto_once(n, &ev, s, 0, tr->replay);
}

void nl_auto_take(node *n, nl_auto *au, arena_t *a)
{
    for (size_t i = 0; i < au->ntrig; i++) {
        nla_trigger *tr = &au->trig[i];
        const mv_state *s = nla__latest(au, tr->ref);
        if (!s)
            s = nla__load(n, tr->ref, a);
        if (s)
            nla__take(n, au, tr, s);
    }
}
