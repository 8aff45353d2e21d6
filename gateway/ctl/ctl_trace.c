/* eportctl movements, trace, verify, alerts: the movement ledger as this
 * node holds it, read from its Redis (eportd may be down). The answers
 * come from ledger_query.c, which the HTTP API shares; this file only
 * prints them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "envcheck.h"
#include "ledger_query.h"
#include "store_mv.h"

#define MOV_USAGE "eportctl movements -c CONF [--state PHASE] " \
                  "[--region RR] [--count N]"
#define TRACE_USAGE "eportctl trace -c CONF REF|CONTAINER|DOCUMENT"
#define VERIFY_USAGE "eportctl verify -c CONF REF"
#define ALERTS_USAGE "eportctl alerts -c CONF [--count N] [--kind K]"

typedef struct q_opts {
    const char *config, *state, *region, *kind, *pos[1];
    long count;
    int npos;
} q_opts;

static int q__args(int argc, char **argv, q_opts *o, int npos,
                   const char *usage)
{
    *o = (q_opts){ .count = 1000 };
    const ctl_opt opts[] = {
        {"--config", "-c", &o->config, NULL, NULL},
        {"--state", NULL, &o->state, NULL, NULL},
        {"--region", NULL, &o->region, NULL, NULL},
        {"--kind", NULL, &o->kind, NULL, NULL},
        {"--count", NULL, NULL, &o->count, NULL},
        {0}};
    int rc = ctl_opts(argc, argv, 1, opts, o->pos, npos, &o->npos, usage);
    if (rc == CTL_OK && (o->npos != npos || o->count < 1)) {
        fprintf(stderr, "usage: %s\n", usage);
        rc = CTL_USAGE;
    }
    return rc;
}

static void q__itin(const mv_event *d)
{
    for (uint32_t i = 0; i < d->nitin; i++)
        printf("%s%s", i ? ">" : "", d->itin[i]);
}

/* ---- movements ---- */

static int q__movement(void *ctx, const char *ref, const mv_state *s,
                       err_t *e)
{
    (void)ctx, (void)e;
    char t[LQ_TIME_LEN];
    lq_time(s->declared_ms, t);
    printf("%s phase=%s kind=%s itin=", ref, mv_phase_name(s->phase),
           s->data.kind ? s->data.kind : "-");
    q__itin(&s->data);
    printf(" declared=%s events=%u", t, s->nevents);
    if (s->held)
        printf(" held=%s", s->held);
    if (s->risk)
        printf(" risk=%s", s->risk);
    if (s->enquiries)
        printf(" enquiries=%u", s->enquiries);
    putchar('\n');
    return 0;
}

int ctl_movements(int argc, char **argv)
{
    q_opts o;
    node *nd = NULL;
    int rc = q__args(argc, argv, &o, 0, MOV_USAGE);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    if ((rc = ctl_node_open(o.config, &nd)) != CTL_OK)
        return rc;
    lq_filter f = { o.state, o.region, (size_t)o.count };
    err_t e;
    if (lq_movements(node_store(nd), &f, q__movement, NULL, &e) < 0)
        rc = ctl_lg_fail(NULL, &e);
    node_close(nd);
    return rc;
}

/* ---- trace ---- */

static void q__stops(const mv_state *s)
{
    for (uint32_t i = 0; i < s->data.nitin; i++)
        printf("  stop %s %s\n", s->data.itin[i],
               i == 0 ? "departure" : lq_stop_name(s->stop[i]));
}

static int q__journey(void *ctx, const lq_journey *j, err_t *e)
{
    (void)ctx, (void)e;
    const mv_state *s = &j->state;
    printf("movement %s phase=%s kind=%s itin=", j->ref,
           mv_phase_name(s->phase), s->data.kind ? s->data.kind : "-");
    q__itin(&s->data);
    printf(" events=%u\n", s->nevents);
    for (size_t i = 0; i < j->nsteps; i++) {
        const lq_step *st = &j->steps[i];
        char t[LQ_TIME_LEN];
        lq_time(st->ev->at_ms, t);
        printf("  %u %s %s %s %s%s%s\n", st->n, t, st->ev->by,
               mv_type_name(st->ev->type), st->id, *st->details ? " " : "",
               st->details);
    }
    q__stops(s);
    if (s->held)
        printf("  hold %s: %s\n", s->held, s->hold_why ? s->hold_why : "-");
    if (s->winner)
        printf("  rejected: movement %s won\n", s->winner);
    for (size_t i = 0; i < j->nrefusals; i++)
        printf("  refused %s: %s\n", j->refusals[i].id, j->refusals[i].msg);
    if (j->unreadable)
        printf("  unreadable log entries: %zu (eportctl verify %s)\n",
               j->unreadable, j->ref);
    return 0;
}

int ctl_trace(int argc, char **argv)
{
    q_opts o;
    node *nd = NULL;
    int rc = q__args(argc, argv, &o, 1, TRACE_USAGE);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    if ((rc = ctl_node_open(o.config, &nd)) != CTL_OK)
        return rc;
    arena_t a;
    arena_init(&a, 1u << 28);
    err_t e;
    if (lq_trace(node_store(nd), o.pos[0], &a, q__journey, NULL, &e) < 0)
        rc = ctl_lg_fail(NULL, &e);
    arena_free(&a);
    node_close(nd);
    return rc;
}

/* ---- verify ---- */

static void q__check(void *ctx, const lq_check *c)
{
    (void)ctx;
    char t[LQ_TIME_LEN];
    lq_time(c->at_ms, t);
    int cn = c->subject ? (int)strcspn(c->subject, ",") : 1;
    if (c->n == 0)
        printf("state last=%s", c->id ? c->id : "-");
    else
        printf("%u %s %s %s signer=%.*s", c->n, t,
               c->region ? c->region : "?", c->event, cn,
               c->subject ? c->subject : "?");
    if (c->alg && strstr(c->alg, "batch"))
        printf(" batch");
    if (c->ok)
        printf(" ok\n");
    else
        printf(" FAILED id=%s: %s\n", c->id ? c->id : "?", c->why);
}

int ctl_verify(int argc, char **argv)
{
    q_opts o;
    node *nd = NULL;
    int rc = q__args(argc, argv, &o, 1, VERIFY_USAGE);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    if ((rc = ctl_node_open(o.config, &nd)) != CTL_OK)
        return rc;
    envcheck *ec = NULL;
    arena_t a;
    arena_init(&a, 1u << 28);
    err_t e;
    int bad = envcheck_open(node_cfg(nd), &ec, &e);
    if (bad == 0)
        bad = lq_verify(node_store(nd), ec, o.pos[0], &a, q__check, NULL, &e);
    if (bad < 0)
        rc = ctl_lg_fail(o.pos[0], &e);
    else if (bad > 0)
        fprintf(stderr, "eportctl: error: %s: %d check(s) failed: the "
                "history does not hold\n", o.pos[0], bad);
    rc = bad > 0 ? 1 : rc;
    envcheck_free(ec);
    arena_free(&a);
    node_close(nd);
    return rc;
}

/* ---- alerts ---- */

static int q__alert(void *ctx, const char *id, const char *kind,
                    const char *ref, const char *region, const char *msg,
                    int64_t at, err_t *e)
{
    (void)e;
    const char *want = ctx;
    char t[LQ_TIME_LEN];
    if (want && strcmp(want, kind))
        return 0;
    lq_time((uint64_t)at, t);
    printf("%s at=%s kind=%s ref=%s region=%s msg=\"%s\"\n", id, t, kind,
           *ref ? ref : "-", *region ? region : "-", msg);
    return 0;
}

int ctl_alerts(int argc, char **argv)
{
    q_opts o;
    node *nd = NULL;
    int rc = q__args(argc, argv, &o, 0, ALERTS_USAGE);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    if ((rc = ctl_node_open(o.config, &nd)) != CTL_OK)
        return rc;
    err_t e;
    if (store_alert_list(node_store(nd), (size_t)o.count, q__alert,
                         (void *)o.kind, &e) < 0)
        rc = ctl_lg_fail(NULL, &e);
    node_close(nd);
    return rc;
}
