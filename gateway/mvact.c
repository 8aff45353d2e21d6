/* mvact: the events this node authors (mvact.h). Each is checked with
 * mvrule against the stored state first, so the author hears a refusal
 * at once in the ledger's own words; the ledger checks it again when it
 * applies it (the state may have moved in between). Memory: a local
 * arena per call (the node's arena is the sealing's). */
#include "mvact.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "ledger.h"
#include "mvrule.h"
#include "node_permit.h"
#include "store_mv.h"

#define MVACT_ARENA_MAX (64u << 20)
#define MVACT_POLL_US 20000
/* mv_rule_apply wants an id; the real one exists only once signed */
#define MVACT_PENDING_ID "00000000000000000000000000"

static int64_t mvact__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- audience ---- */

static int mvact__has(const char **ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ids[i], id))
            return 1;
    return 0;
}

static void mvact__add(const char **ids, size_t *n, size_t cap,
                       const char *id, const char *self)
{
    if (id && *id && strcmp(id, self) && *n < cap && !mvact__has(ids, *n, id))
        ids[(*n)++] = id;
}

size_t mvact_members(node *n, const char **ids, size_t cap)
{
    const cfg *c = node_cfg(n);
    const char *nat = c->ledger.national;
    const char *nat_region = *nat ? node_region_of(n, nat) : NULL;
    size_t k = 0;
    for (size_t i = 0; i < c->npeers + c->nroutes; i++) {
        const char *id = i < c->npeers ? c->peers[i].id
                                       : c->routes[i - c->npeers].dest;
        const char *region = node_region_of(n, id);
        if (!strcmp(id, nat) || (nat_region && region &&
                                 !strcmp(region, nat_region)))
            continue;
        mvact__add(ids, &k, cap, id, c->node.id);
    }
    return k;
}

/* The node of region (a peer's or a route destination's); NULL none. */
static const char *mvact__node_of(node *n, const char *region)
{
    const cfg *c = node_cfg(n);
    for (size_t i = 0; i < c->npeers + c->nroutes; i++) {
        const char *id = i < c->npeers ? c->peers[i].id
                                       : c->routes[i - c->npeers].dest;
        const char *r = node_region_of(n, id);
        if (r && !strcmp(r, region))
            return id;
    }
    return NULL;
}

static int mvact__itin(node *n, const mv_event *d, const char **ids,
                       size_t *k, err_t *e)
{
    const cfg *c = node_cfg(n);
    for (uint32_t i = 0; i < d->nitin; i++) {
        if (!strcmp(d->itin[i], c->node.region))
            continue;
        const char *id = mvact__node_of(n, d->itin[i]);
        if (!id)
            return err_set(e, ERR_INVALID, "movement %s: no node of region %s "
                           "(not a peer nor a route destination of %s)",
                           d->ref, d->itin[i], c->path);
        mvact__add(ids, k, MVACT_AUDIENCE_MAX, id, c->node.id);
    }
    return 0;
}

static int mvact__claims_change(mv_type t)
{
    return t == MV_DECLARED || t == MV_CANCELLED || t == MV_REJECTED ||
           t == MV_WRITTEN_OFF;
}

/* Who ev goes to (docs/clearance.md): claim changes to every member,
 * the rest to the itinerary (old and new: s may be NULL), and the
 * national center always. */
static int mvact__audience(node *n, const mv_event *ev, const mv_state *s,
                           const char **ids, size_t *k, err_t *e)
{
    const cfg *c = node_cfg(n);
    *k = 0;
    int rc = 0;
    if (mvact__claims_change(ev->type))
        *k = mvact_members(n, ids, MVACT_AUDIENCE_MAX);
    else if ((rc = mvact__itin(n, ev, ids, k, e)) == 0 && s)
        rc = mvact__itin(n, &s->data, ids, k, e);
    mvact__add(ids, k, MVACT_AUDIENCE_MAX, c->ledger.national, c->node.id);
    if (rc == 0 && !*k)
        rc = err_set(e, ERR_CONFIG, "movement %s: %s has no audience (no "
                     "members, no ledger.national) in %s", ev->ref,
                     mv_type_name(ev->type), c->path);
    return rc;
}

/* ---- signing and submitting ---- */

/* 0 sent, 1 as_id (when given) was sent before: nothing written. */
static int mvact__send_w(node *n, const mv_event *ev, const mv_state *s,
                         const store_mv_claim *claim, const char *as_id,
                         char id[MSGID_LEN + 1], char winner[32], err_t *e)
{
    const char *dests[MVACT_AUDIENCE_MAX];
    size_t nd;
    char ref[MVREF_LEN + 1];
    buf_t p;
    buf_init(&p, ENV_MAX_PAYLOAD);
    int rc = mvact__audience(n, ev, s, dests, &nd, e);
    if (rc == 0)
        rc = mv_event_encode(ev, &p, e);
    snprintf(ref, sizeof ref, "%s", ev->ref);
    if (rc == 0)
        rc = node_submit_self_as(n, MVEV_ENV_TYPE, dests, nd, ref, p.p,
                                 p.len, claim, as_id, id, winner, e);
    buf_free(&p);
    return rc < 0 ? rc : as_id ? rc : 0;
}

/* The claim part of ev (NULL when it changes no claim). */
static int mvact__claim(const mv_event *ev, const mv_event *data,
                        int64_t score, arena_t *a, store_mv_claim *c,
                        err_t *e)
{
    const char **keys = arena_alloc(a, LEDGER_KEYS_MAX * sizeof *keys);
    if (!keys)
        return err_set(e, ERR_NOMEM, "movement %s: out of memory", ev->ref);
    *c = (store_mv_claim){.ref = ev->ref, .score = score, .keys = keys,
                          .add = ev->type == MV_DECLARED};
    return ledger_keys(data, a, keys, &c->nkeys, e);
}

static int mvact__author(node *n, err_t *e)
{
    const cfg *c = node_cfg(n);
    if (c->node.role == CFG_ROLE_NATIONAL)
        return err_set(e, ERR_DENIED, "node %s is the national center: it "
                       "observes movements and authors none", c->node.id);
    return 0;
}

/* ---- declare ---- */

int mvact_new_ref(node *n, char ref[MVREF_LEN + 1], err_t *e)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    unsigned yy = (unsigned)(tm.tm_year + 1900) % 100;
    uint64_t seq;
    int rc = store_mv_next_seq(node_store(n), yy, 1, &seq, e);
    return rc < 0 ? rc : mvref_make(yy, node_cfg(n)->node.region, seq, ref, e);
}

/* Whether this node may declare d: not the national center, and the
 * itinerary starts here (checked before a reference is spent). */
static int mvact__may_declare(node *n, const mv_event *d, err_t *e)
{
    const cfg *c = node_cfg(n);
    int rc = mvact__author(n, e);
    if (rc == 0 && (!d->nitin || strcmp(d->itin[0], c->node.region)))
        rc = err_set(e, ERR_DENIED, "declare: the itinerary must start at "
                     "this node's region %s", c->node.region);
    return rc;
}

int mvact_declare(node *n, mv_event *d, char ref[MVREF_LEN + 1],
                  char id[MSGID_LEN + 1], char winner[32], err_t *e)
{
    winner[0] = '\0';
    int rc = mvact__may_declare(n, d, e);
    if (rc == 0)
        rc = mvact_new_ref(n, ref, e);
    return rc < 0 ? rc : mvact_declare_as(n, d, ref, NULL, id, winner, e);
}

int mvact_declare_as(node *n, mv_event *d, const char *ref,
                     const char *as_id, char id[MSGID_LEN + 1],
                     char winner[32], err_t *e)
{
    const cfg *c = node_cfg(n);
    winner[0] = '\0';
    int rc = mvact__may_declare(n, d, e);
    if (rc == 0)
        rc = mvref_check(ref, e);
    if (rc < 0)
        return rc;
    d->version = MVEV_VERSION;
    d->type = MV_DECLARED;
    d->ref = ref;
    d->by = c->node.region;
    d->at_ms = (uint64_t)mvact__now_ms();
    d->prev = NULL;
    if (!d->limit_ms) /* a duration until released */
        d->limit_ms = (uint64_t)c->ledger.time_limit_h * 3600000u;
    arena_t a;
    arena_init(&a, MVACT_ARENA_MAX);
    mv_state s;
    store_mv_claim claim;
    rc = mv_rule_apply(NULL, d, MVACT_PENDING_ID, c->node.region, &a, &s, e);
    if (rc == 0)
        rc = mvact__claim(d, d, (int64_t)d->at_ms, &a, &claim, e);
    if (rc == 0)
        rc = mvact__send_w(n, d, NULL, &claim, as_id, id, winner, e);
    arena_free(&a);
    return rc;
}

/* ---- other events ---- */

int mvact_load(node *n, const char *ref, arena_t *a, mv_state *s, err_t *e)
{
    buf_t b;
    buf_init(&b, ENV_MAX_FRAME);
    int rc = mvref_check(ref, e);
    if (rc == 0)
        rc = store_mv_state(node_store(n), ref, &b, e);
    if (rc == ERR_NOTFOUND)
        err_set(e, rc, "movement %s is not known at node %s", ref,
                node_cfg(n)->node.id);
    if (rc == 0)
        rc = mv_state_decode(b.p, b.len, a, s, e);
    buf_free(&b);
    return rc;
}

/* The movement data a claim-changing event or a release carries, from
 * the state where the caller left it out. */
static void mvact__fill(mv_event *ev, const mv_state *s)
{
    const mv_event *d = &s->data;
    if (!ev->kind)
        ev->kind = d->kind;
    if (!ev->nitin) {
        memcpy(ev->itin, d->itin, sizeof ev->itin);
        ev->nitin = d->nitin;
    }
    if (!ev->ndocs) {
        memcpy(ev->docs, d->docs, sizeof ev->docs);
        ev->ndocs = d->ndocs;
    }
    if (!ev->nctrs) {
        memcpy(ev->ctrs, d->ctrs, sizeof ev->ctrs);
        ev->nctrs = d->nctrs;
    }
    if (!ev->pkgs)
        ev->pkgs = d->pkgs;
    if (!ev->declarant)
        ev->declarant = d->declarant;
    if (!ev->guarantee)
        ev->guarantee = d->guarantee;
}

/* A release's time limit made absolute: the declared duration, else the
 * default. */
static void mvact__limit(node *n, mv_event *ev, const mv_state *s)
{
    if (ev->limit_ms)
        return;
    uint64_t dur = s->data.type != MV_RELEASED && s->data.limit_ms
                       ? s->data.limit_ms
                       : (uint64_t)node_cfg(n)->ledger.time_limit_h * 3600000u;
    ev->limit_ms = ev->at_ms + dur;
}

/* released: the gate (unless the caller has just found it settled in
 * this same turn of the node's one thread), then the time limit. */
static int mvact__release(node *n, mv_event *ev, const mv_state *s,
                          int gated, err_t *e)
{
    buf_t why;
    char winner[32];
    if (s->phase != MV_P_DECLARED) {
        /* the rules refuse it with the phase; the gates would misname why
         * (a cancelled movement's returned permits read as "awaiting
         * permit verification") */
        mvact__limit(n, ev, s);
        return 0;
    }
    buf_init(&why, 4096);
    int rc = gated ? 1 : mvact_gate(n, ev->ref, s, &why, winner, e);
    if (rc == 1 && node_permit_gate(n, ev->ref, e) < 0)
        rc = e->code; /* its message says why */
    else if (rc == 0)
        rc = err_set(e, ERR_PHASE, "%s: released refused: %s", ev->ref,
                     why.p ? why.p : "claim not settled");
    else if (rc == 2)
        rc = err_set(e, ERR_CONFLICT, "%s: released refused: %s", ev->ref,
                     why.p ? why.p : "claim lost");
    buf_free(&why);
    if (rc < 0)
        return rc;
    mvact__limit(n, ev, s);
    return 0;
}

int mvact_submit(node *n, mv_event *ev, char id[MSGID_LEN + 1], err_t *e)
{
    arena_t a;
    mv_state s;
    int rc = mvact__author(n, e);
    if (rc < 0)
        return rc;
    arena_init(&a, MVACT_ARENA_MAX);
    if ((rc = mvact_load(n, ev->ref, &a, &s, e)) == 0)
        rc = mvact_submit_on(n, ev, &s, 0, id, e);
    arena_free(&a);
    return rc;
}

/* The event's own fields and the data it carries from the state. */
static int mvact__prepare(node *n, mv_event *ev, const mv_state *s,
                          int gated, err_t *e)
{
    ev->version = MVEV_VERSION;
    ev->by = node_cfg(n)->node.region;
    ev->at_ms = (uint64_t)mvact__now_ms();
    ev->prev = s->last_id;
    if (mvact__claims_change(ev->type) || ev->type == MV_RELEASED)
        mvact__fill(ev, s);
    return ev->type == MV_RELEASED ? mvact__release(n, ev, s, gated, e) : 0;
}

int mvact_submit_on(node *n, mv_event *ev, const mv_state *s, int gated,
                    char id[MSGID_LEN + 1], err_t *e)
{
    return mvact_submit_as(n, ev, s, gated, NULL, id, e);
}

int mvact_step_id(node *n, const mv_state *s, mv_type t,
                  char id[MSGID_LEN + 1], err_t *e)
{
    char key[128];
    int k = snprintf(key, sizeof key, "eport auto-step %s %s %s",
                     s->data.ref, mv_type_name(t), node_cfg(n)->node.id);
    if (k < 0 || (size_t)k >= sizeof key)
        return err_set(e, ERR_INVALID, "step id of %s: key too long",
                       s->data.ref);
    int rc = msgid_derive(s->declared_ms, key, (size_t)k, id, e);
    return rc < 0 ? err_wrap(e, "step id of %s", s->data.ref) : 0;
}

int mvact_submit_as(node *n, mv_event *ev, const mv_state *s, int gated,
                    const char *as_id, char id[MSGID_LEN + 1], err_t *e)
{
    const cfg *c = node_cfg(n);
    arena_t a;
    mv_state out;
    store_mv_claim claim, *cl = NULL;
    int rc = mvact__author(n, e);
    if (rc < 0)
        return rc;
    arena_init(&a, MVACT_ARENA_MAX);
    rc = mvact__prepare(n, ev, s, gated, e);
    if (rc == 0)
        rc = mv_rule_apply(s, ev, MVACT_PENDING_ID, c->node.region, &a, &out,
                           e);
    if (rc == 0 && mvact__claims_change(ev->type)) {
        rc = mvact__claim(ev, &s->data, (int64_t)s->declared_ms, &a, &claim,
                          e);
        cl = &claim;
    }
    char winner[32];
    if (rc == 0)
        rc = mvact__send_w(n, ev, s, cl, as_id, id, winner, e);
    arena_free(&a);
    return rc;
}

/* ---- waiting for the ledger ---- */

/* The code a refusal message ends with ("... (PHASE)"). */
static int mvact__code(const char *msg)
{
    const char *p = strrchr(msg, '(');
    for (int c = -1; p && c > -64; c--)
        if (!strncmp(p + 1, err_name(c), strlen(err_name(c))) &&
            p[1 + strlen(err_name(c))] == ')')
            return c;
    return ERR_INVALID;
}

int mvact_wait(node *n, const char *ref, const char *id, int64_t ms,
               err_t *e)
{
    int64_t until = mvact__now_ms() + ms;
    buf_t why;
    buf_init(&why, 8192);
    int rc;
    for (;;) {
        buf_reset(&why);
        rc = store_mv_outcome(node_store(n), ref, id, &why, e);
        if (rc != 0 || mvact__now_ms() >= until)
            break;
        usleep(MVACT_POLL_US);
    }
    if (rc == 1)
        rc = 0;
    else if (rc == 2)
        rc = err_set(e, mvact__code(why.p), "%.*s", (int)why.len, why.p);
    else if (rc == 0)
        rc = err_set(e, ERR_AGAIN, "event %s of %s: not applied by node %s's "
                     "ledger within %lld ms (is eportd running?)", id, ref,
                     node_cfg(n)->node.id, (long long)ms);
    buf_free(&why);
    return rc;
}
