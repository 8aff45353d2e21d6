/* eportctl mv EVENT REF: one movement event authored by this node (risk,
 * release, passage, discrepancy, ...), checked at once against the
 * movement's stored state with the ledger's own rules (mvact_submit),
 * signed, queued to its audience, then waited for until this node's
 * ledger has applied it. pass and arrive carry what was found at the
 * gate: the released containers and seals unless --seal says otherwise;
 * a difference from the release is not recorded as a passage but as a
 * discrepancy, which holds the movement (exit 3 says so). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "mvact.h"
#include "mvrule.h"
#include "store_mv.h"

#define MV_USAGE "eportctl mv -c CONF risk|release|pass|discrepancy|"      \
    "resolve|arrive|control|writeoff|cancel|amend|enquiry|status REF "     \
    "[--result R] [--note T] [--seal CTR=SEAL[+SEAL],...] [--pkgs N] "     \
    "[--guarantee G] [--decl D] [--itin A,B] [--limit-h N] [--limit-ms N] " \
    "[--place LOC] [--wait MS]"

static const struct {
    const char *verb;
    mv_type type;
    int needs_state;  /* the event is built from the stored movement */
} mv__verbs[] = {
    {"risk", MV_RISK, 0}, {"release", MV_RELEASED, 0},
    {"pass", MV_PASSAGE, 1}, {"discrepancy", MV_DISCREPANCY, 0},
    {"resolve", MV_RESOLVED, 0}, {"arrive", MV_ARRIVED, 1},
    {"control", MV_CONTROLLED, 0}, {"writeoff", MV_WRITTEN_OFF, 0},
    {"cancel", MV_CANCELLED, 0}, {"amend", MV_AMENDED, 1},
    {"enquiry", MV_ENQUIRY, 0}, {"status", MV_STATUS, 0},
};

typedef struct mv_opts {
    const char *config, *result, *note, *seal, *guarantee, *decl, *itin;
    const char *place, *pos[2];
    long pkgs, limit_h, limit_ms, wait_ms;
    int npos;
} mv_opts;

static int mv__args(int argc, char **argv, mv_opts *o)
{
    *o = (mv_opts){ .pkgs = -1, .wait_ms = 10000 };
    const ctl_opt opts[] = {
        {"--config", "-c", &o->config, NULL, NULL},
        {"--result", NULL, &o->result, NULL, NULL},
        {"--note", NULL, &o->note, NULL, NULL},
        {"--seal", NULL, &o->seal, NULL, NULL},
        {"--guarantee", NULL, &o->guarantee, NULL, NULL},
        {"--decl", NULL, &o->decl, NULL, NULL},
        {"--itin", NULL, &o->itin, NULL, NULL},
        {"--place", NULL, &o->place, NULL, NULL},
        {"--pkgs", NULL, NULL, &o->pkgs, NULL},
        {"--limit-h", NULL, NULL, &o->limit_h, NULL},
        {"--limit-ms", NULL, NULL, &o->limit_ms, NULL},
        {"--wait", NULL, NULL, &o->wait_ms, NULL},
        {0}};
    int rc = ctl_opts(argc, argv, 1, opts, o->pos, 2, &o->npos, MV_USAGE);
    if (rc == CTL_OK && o->npos != 2) {
        fprintf(stderr, "eportctl: error: mv needs EVENT and REF\nusage: "
                "%s\n", MV_USAGE);
        rc = CTL_USAGE;
    }
    return rc;
}

/* The movement as stored here, into a. */
static int mv__state(node *nd, const char *ref, arena_t *a, mv_state *s,
                     err_t *e)
{
    buf_t b;
    buf_init(&b, 1u << 24);
    int rc = store_mv_state(node_store(nd), ref, &b, e);
    if (rc == ERR_NOTFOUND)
        rc = err_set(e, ERR_NOTFOUND, "not known at this node");
    if (rc == 0)
        rc = mv_state_decode(b.p, b.len, a, s, e);
    buf_free(&b);
    return rc;
}

/* --seal CTR=S1+S2,CTR2=S3: those containers' seals replaced (a number
 * not in the movement is added: a container found that was not
 * released). */
static int mv__seals(const char *spec, mv_event *ev, arena_t *a, err_t *e)
{
    char *copy = arena_strdup(a, spec);
    for (char *it = copy ? strtok(copy, ",") : NULL; it;
         it = strtok(NULL, ",")) {
        char *eq = strchr(it, '=');
        if (!eq || eq == it)
            return err_set(e, ERR_INVALID, "--seal %s: want CTR=SEAL", it);
        *eq = '\0';
        uint32_t i = 0;
        while (i < ev->nctrs && strcmp(ev->ctrs[i].no, it))
            i++;
        if (i == ev->nctrs && ev->nctrs == MV_CTR_MAX)
            return err_set(e, ERR_TOOBIG, "--seal: too many containers");
        mv_ctr *c = &ev->ctrs[i];
        if (i == ev->nctrs) {
            ev->nctrs++;
            memset(c, 0, sizeof *c);
            c->no = it;
        }
        c->nseals = 0;
        for (char *s = eq + 1; *s && c->nseals < MV_SEAL_MAX;) {
            c->seals[c->nseals++] = s;
            char *plus = strchr(s, '+');
            if (!plus)
                break;
            *plus = '\0';
            s = plus + 1;
        }
    }
    return copy ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

/* The event's fields from the options (and the stored movement for the
 * types that start from it). */
static int mv__build(const mv_opts *o, mv_type t, const mv_state *s,
                     arena_t *a, mv_event *ev, err_t *e)
{
    memset(ev, 0, sizeof *ev);
    if (s && (t == MV_PASSAGE || t == MV_ARRIVED)) {
        /* what was found: what was released, unless --seal says not */
        memcpy(ev->ctrs, s->data.ctrs, sizeof ev->ctrs);
        ev->nctrs = s->data.nctrs, ev->pkgs = s->data.pkgs;
    } else if (s) {
        *ev = s->data; /* amend, release with --seal: start from it */
        ev->record = NULL, ev->record_len = 0, ev->limit_ms = 0;
        ev->result = ev->note = ev->winner = ev->place = NULL;
        ev->prev = NULL;
    }
    ev->version = MVEV_VERSION, ev->type = t, ev->ref = o->pos[1];
    ev->result = o->result, ev->note = o->note, ev->place = o->place;
    if (o->guarantee)
        ev->guarantee = o->guarantee;
    if (o->decl)
        ev->declarant = o->decl;
    if (o->pkgs >= 0)
        ev->pkgs = (uint32_t)o->pkgs;
    if (o->limit_h > 0 || o->limit_ms > 0)
        ev->limit_ms = (uint64_t)time(NULL) * 1000u +
                       (uint64_t)o->limit_h * 3600000u + (uint64_t)o->limit_ms;
    if ((t == MV_PASSAGE || t == MV_ARRIVED) && !o->result)
        ev->result = "ok";
    if (t == MV_CONTROLLED && !o->result)
        ev->result = "ok";
    int rc = o->seal ? mv__seals(o->seal, ev, a, e) : 0;
    if (rc == 0 && o->itin) {
        char *it = arena_strdup(a, o->itin);
        ev->nitin = 0;
        for (char *r = strtok(it, ",>"); r && ev->nitin < MV_ITIN_MAX;
             r = strtok(NULL, ",>"))
            ev->itin[ev->nitin++] = r;
    }
    return rc;
}

/* Which discrepancy code a failed seal check is (its message names it). */
static const char *mv__disc_code(const char *why)
{
    if (strstr(why, "seal"))
        return "seal";
    return strstr(why, "package") ? "packages" : "container";
}

/* Submit ev, wait for this node's ledger to apply it, print the line. */
static int mv__send(node *nd, const mv_opts *o, mv_event *ev)
{
    char id[MSGID_LEN + 1] = "";
    err_t e;
    if (mvact_submit(nd, ev, id, &e) < 0)
        return ctl_lg_fail(ev->ref, &e);
    if (o->wait_ms > 0 && mvact_wait(nd, ev->ref, id, o->wait_ms, &e) < 0) {
        if (e.code == ERR_AGAIN)
            err_set(&e, ERR_AGAIN, "%s %s submitted but not applied within "
                    "%ld ms (is eportd running?)", mv_type_name(ev->type),
                    id, o->wait_ms);
        return ctl_lg_fail(ev->ref, &e);
    }
    printf("ref=%s event=%s id=%s\n", ev->ref, mv_type_name(ev->type), id);
    return CTL_OK;
}

/* pass/arrive: a mismatch with the release becomes a discrepancy. */
static int mv__found(node *nd, const mv_opts *o, const mv_state *s,
                     mv_event *ev)
{
    err_t why;
    if (mv_rule_check_seals(s, ev, &why) == 0)
        return mv__send(nd, o, ev);
    if (why.code != ERR_CONFLICT)
        return ctl_lg_fail(ev->ref, &why);
    const char *verb = mv_type_name(ev->type);
    ev->type = MV_DISCREPANCY;
    ev->result = mv__disc_code(why.msg);
    ev->note = why.msg;
    int rc = mv__send(nd, o, ev);
    if (rc != CTL_OK)
        return rc;
    fprintf(stderr, "eportctl: error: %s: %s not recorded: %s; a "
            "discrepancy (%s) was recorded instead and holds the movement\n",
            ev->ref, verb, why.msg, ev->result);
    return CTL_REFUSED;
}

static int mv__run(node *nd, const mv_opts *o, mv_type t, int needs_state)
{
    arena_t a;
    arena_init(&a, 1u << 26);
    mv_state s;
    mv_event ev;
    err_t e;
    const char *ref = o->pos[1];
    int with_state = needs_state || (t == MV_RELEASED && o->seal);
    int rc = mvref_check(ref, &e);
    if (rc == 0 && with_state)
        rc = mv__state(nd, ref, &a, &s, &e);
    if (rc == 0)
        rc = mv__build(o, t, with_state ? &s : NULL, &a, &ev, &e);
    if (rc < 0)
        rc = ctl_lg_fail(ref, &e);
    else if (t == MV_PASSAGE || t == MV_ARRIVED)
        rc = mv__found(nd, o, &s, &ev);
    else
        rc = mv__send(nd, o, &ev);
    arena_free(&a);
    return rc;
}

int ctl_mv(int argc, char **argv)
{
    mv_opts o;
    int rc = mv__args(argc, argv, &o);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    size_t i = 0, n = sizeof mv__verbs / sizeof mv__verbs[0];
    while (i < n && strcmp(mv__verbs[i].verb, o.pos[0]))
        i++;
    if (i == n) {
        fprintf(stderr, "eportctl: error: mv: unknown event '%s'\nusage: "
                "%s\n", o.pos[0], MV_USAGE);
        return CTL_USAGE;
    }
    node *nd = NULL;
    if ((rc = ctl_node_open(o.config, &nd)) != CTL_OK)
        return rc;
    rc = mv__run(nd, &o, mv__verbs[i].type, mv__verbs[i].needs_state);
    node_close(nd);
    return rc;
}
