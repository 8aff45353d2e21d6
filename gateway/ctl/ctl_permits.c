/* eportctl permits: the permit ledger from a node's Redis (eportd may be
 * down for the reads; a request needs its loop to reach the home).
 * Reading and rendering are pmview.c's, which the HTTP API shares; this
 * file only parses options, picks the exit code and prints.
 *
 *   list                     permits issued here (their home)
 *   show ID                  the ledger's view at the home; elsewhere the
 *                            newest answer held here (--fresh: ask first)
 *   verify ID                ask the home; --reserve KEY holds amounts
 *   confirm|cancel ID        settle the reservation under --key
 *   history ID               the ledger's history at the home; elsewhere
 *                            this node's requests about it and answers
 *   suspend|revoke|reinstate the issuer's acts, at the home only
 *   issue FILE               a local permit file, mapped, issued here
 *
 * A request's answer is an answer whatever it says: exit 0 when ok, 3
 * (CTL_REFUSED) when the home refused, 75 when it did not answer within
 * --wait (permits.verify_wait_ms): the request stays queued and its
 * answer shows in `history` once it comes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "model_pack.h"
#include "pmrec.h"
#include "pmview.h"

#define PM_USAGE                                                          \
    "eportctl permits -c CONF list [--count N] [--json]\n"                 \
    "       eportctl permits -c CONF show ID [--fresh] [--wait MS] "        \
    "[--json]\n"                                                           \
    "       eportctl permits -c CONF verify ID [--reserve KEY --qty Q "     \
    "[--value V] [--line N]] [--holder ID] [--wait MS] [--json]\n"         \
    "       eportctl permits -c CONF confirm|cancel ID --key KEY "          \
    "[--wait MS] [--json]\n"                                               \
    "       eportctl permits -c CONF history ID [--count N] [--json]\n"     \
    "       eportctl permits -c CONF suspend|revoke|reinstate ID "          \
    "[--reason TEXT]\n"                                                    \
    "       eportctl permits -c CONF issue FILE [--map NAME] "              \
    "[--mappings DIR] [--canonical]"

typedef struct pm_opts {
    const char *config, *reserve, *qty, *value, *holder, *key, *reason;
    const char *pos[2];
    ctl_inputs in;
    const char *mappings;
    long line, wait_ms, count;
    int json, fresh, npos;
} pm_opts;

/* A verb's work; arg: the verb table's (an operation, a status). */
typedef int (*pm_run_fn)(node *nd, const pm_opts *o, int arg);

static int pm__args(int argc, char **argv, pm_opts *o)
{
    *o = (pm_opts){.line = -1, .wait_ms = -1, .count = 1000};
    const ctl_opt opts[] = {
        {"--config", "-c", &o->config, NULL, NULL},
        {"--reserve", NULL, &o->reserve, NULL, NULL},
        {"--qty", NULL, &o->qty, NULL, NULL},
        {"--value", NULL, &o->value, NULL, NULL},
        {"--line", NULL, NULL, &o->line, NULL},
        {"--holder", NULL, &o->holder, NULL, NULL},
        {"--key", NULL, &o->key, NULL, NULL},
        {"--reason", NULL, &o->reason, NULL, NULL},
        {"--map", NULL, &o->in.map, NULL, NULL},
        {"--mappings", NULL, &o->mappings, NULL, NULL},
        {"--wait", NULL, NULL, &o->wait_ms, NULL},
        {"--count", NULL, NULL, &o->count, NULL},
        {"--json", NULL, NULL, NULL, &o->json},
        {"--fresh", NULL, NULL, NULL, &o->fresh},
        {"--canonical", NULL, NULL, NULL, &o->in.canonical},
        {0}};
    return ctl_opts(argc, argv, 1, opts, o->pos, 2, &o->npos, PM_USAGE);
}

/* The first option given that verb does not take (allowed: " --a --b "),
 * or NULL. */
static const char *pm__stray(const pm_opts *o, const char *allowed)
{
    const struct { const char *name; int given; } g[] = {
        {"--reserve", !!o->reserve}, {"--qty", !!o->qty},
        {"--value", !!o->value}, {"--line", o->line >= 0},
        {"--holder", !!o->holder}, {"--key", !!o->key},
        {"--reason", !!o->reason}, {"--map", !!o->in.map},
        {"--mappings", !!o->mappings}, {"--wait", o->wait_ms >= 0},
        {"--count", o->count != 1000}, {"--json", o->json},
        {"--fresh", o->fresh}, {"--canonical", o->in.canonical}};
    char word[24];
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        snprintf(word, sizeof word, " %s ", g[i].name);
        if (g[i].given && !strstr(allowed, word))
            return g[i].name;
    }
    return NULL;
}

static int pm__usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int pm__usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "eportctl: error: permits: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nusage: %s\n", PM_USAGE);
    va_end(ap);
    return CTL_USAGE;
}

/* The exit code of an error, after printing it. */
static int pm__fail(const err_t *e)
{
    if (e->code != ERR_NOTFOUND && e->code != ERR_AGAIN)
        return ctl_lg_fail(NULL, e);
    fprintf(stderr, "eportctl: error: %s\n", e->msg);
    return e->code == ERR_NOTFOUND ? CTL_NOINPUT : CTL_TEMPFAIL;
}

static int64_t pm__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *pm__region(node *nd)
{
    return node_cfg(nd)->node.region;
}

static int64_t pm__wait(node *nd, const pm_opts *o)
{
    return o->wait_ms >= 0 ? o->wait_ms
                           : node_cfg(nd)->permits.verify_wait_ms;
}

/* ---- list, show, history ---- */

static int pm__row(void *ctx, const store_pm_view *v, err_t *e)
{
    int rc = pmview_row_text(v, ctx);
    return rc ? err_set(e, rc, "permits: output too large") : 0;
}

static int pm__hist(void *ctx, const store_pm_hist *h, const pmview_req *r,
                    err_t *e)
{
    int rc = h ? pmview_hist_text(h, ctx) : pmview_req_text(r, ctx);
    return rc ? err_set(e, rc, "permits: output too large") : 0;
}

/* list and history: the document with --json, else a line per entry. */
static int pm__lines(node *nd, const pm_opts *o, int history)
{
    arena_t a;
    buf_t b;
    json_t *doc = NULL;
    err_t e;
    const char *id = o->pos[1], *region = pm__region(nd);
    store *st = node_store(nd);
    arena_init(&a, 1u << 28);
    buf_init(&b, 256u << 20);
    int rc = o->json && history
             ? pmview_history_json(st, region, id, (size_t)o->count, &a,
                                   &doc, &e)
             : o->json ? pmview_list_json(st, region, (size_t)o->count, &a,
                                          &doc, &e)
             : history ? pmview_history(st, region, id, (size_t)o->count,
                                        &a, pm__hist, &b, &e)
             : pmview_list(st, (size_t)o->count, &a, pm__row, &b, &e);
    arena_free(&a);
    if (rc < 0) {
        buf_free(&b);
        return pm__fail(&e);
    }
    return ctl_print(doc, &b);
}

static int pm__list(node *nd, const pm_opts *o, int arg)
{
    (void)arg;
    return pm__lines(nd, o, 0);
}

static int pm__history(node *nd, const pm_opts *o, int arg)
{
    (void)arg;
    return pm__lines(nd, o, 1);
}

static int pm__show(node *nd, const pm_opts *o, int arg)
{
    (void)arg;
    arena_t a;
    buf_t b;
    pmview_show s;
    err_t e;
    arena_init(&a, 1u << 24);
    buf_init(&b, 16u << 20);
    int rc = pmview_show_load(node_store(nd), pm__region(nd), o->pos[1],
                              o->fresh, pm__wait(nd, o), &a, &s, &e);
    if (rc < 0)
        rc = pm__fail(&e);
    else if (o->json)
        rc = ctl_print(pmview_show_json_new(&s), NULL);
    else
        rc = pmview_show_text(&s, &b) ? CTL_SOFTWARE : ctl_print(NULL, &b);
    buf_free(&b);
    arena_free(&a);
    return rc;
}

/* ---- asking the home ---- */

/* Not answered in time: the request id (to find the answer later in
 * `history`) on stdout, the why on stderr; 75. */
static int pm__queued(const pmview_ans *v, const pm_opts *o, const err_t *e)
{
    json_t *j = o->json ? json_pack("{s:s, s:s, s:s}", "request", v->rid,
                                    "state", "queued", "permit", o->pos[1])
                        : NULL;
    buf_t b;
    buf_init(&b, 1024);
    int rc = o->json ? 0 : buf_printf(&b, "request %s\nstate queued\n",
                                      v->rid);
    rc = rc ? CTL_SOFTWARE : ctl_print(j, &b);
    fprintf(stderr, "eportctl: error: %s (eportd sends it when it runs; "
            "`eportctl permits history %s` shows the answer once it "
            "comes)\n", e->msg, o->pos[1]);
    return rc ? rc : CTL_TEMPFAIL;
}

static int pm__ask(node *nd, const pm_opts *o, const pm_req *q)
{
    arena_t a;
    buf_t b;
    pmview_ans v;
    err_t e;
    arena_init(&a, 1u << 24);
    buf_init(&b, 16u << 20);
    int rc = pmview_request(node_store(nd), q, pm__wait(nd, o), &a, &v, &e);
    if (rc == ERR_AGAIN)
        rc = pm__queued(&v, o, &e);
    else if (rc < 0)
        rc = pm__fail(&e);
    else if (o->json)
        rc = ctl_print(pmview_ans_json_new(&v), NULL);
    else
        rc = pmview_ans_text(&v, &b) ? CTL_SOFTWARE : ctl_print(NULL, &b);
    if (rc == CTL_OK && v.a.code != PM_C_OK) {
        fprintf(stderr, "eportctl: error: permit %s refused: %s: %s\n",
                q->permit, pm_code_name(v.a.code),
                v.a.text ? v.a.text : pm_code_why(v.a.code));
        rc = CTL_REFUSED;
    }
    buf_free(&b);
    arena_free(&a);
    return rc;
}

/* --qty/--value into thousandths; 0 or a usage error printed. */
static int pm__amount(const char *opt, const char *s, uint64_t *out)
{
    err_t e;
    if (!s || pm_amount_parse(s, out, &e) == 0)
        return 0;
    return pm__usage("%s: %s", opt, e.msg);
}

static int pm__verify(node *nd, const pm_opts *o, int arg)
{
    (void)arg;
    pm_req q = {.op = PM_OP_VERIFY, .permit = o->pos[1],
                .holder = o->holder};
    if (!o->reserve && (o->qty || o->value || o->line >= 0))
        return pm__usage("verify: --qty, --value and --line go with "
                         "--reserve KEY");
    if (o->line < -1 || o->line > (long)UINT32_MAX)
        return pm__usage("--line %ld: want 0 (the permit as a whole) or a "
                         "line number", o->line);
    if (o->reserve && !o->qty && !o->value)
        return pm__usage("verify --reserve %s: give --qty, --value or "
                         "both", o->reserve);
    if (o->reserve) {
        q.op = PM_OP_RESERVE, q.key = o->reserve, q.nlines = 1;
        q.lines[0].line = o->line > 0 ? (uint32_t)o->line : 0;
        int rc = pm__amount("--qty", o->qty, &q.lines[0].qty);
        rc = rc ? rc : pm__amount("--value", o->value, &q.lines[0].value);
        if (rc)
            return rc;
    }
    return pm__ask(nd, o, &q);
}

static int pm__settle(node *nd, const pm_opts *o, int op)
{
    if (!o->key)
        return pm__usage("%s %s: needs --key KEY", pm_op_name(op), o->pos[1]);
    pm_req q = {.op = (pm_op)op, .permit = o->pos[1], .key = o->key};
    return pm__ask(nd, o, &q);
}

/* ---- the issuer's acts, at the home ---- */

static const char *const pm__acts[][2] = {
    {"suspend", "suspended"}, {"revoke", "revoked"}, {"reinstate", "valid"}};

/* Who acts, for the history: $USER, else the account running this. */
static const char *pm__user(void)
{
    const char *u = getenv("USER");
    const struct passwd *pw = u && *u ? NULL : getpwuid(geteuid());
    return u && *u ? u : pw ? pw->pw_name : "?";
}

static int pm__status(node *nd, const pm_opts *o, int act)
{
    const char *id = o->pos[1], *region = pm__region(nd);
    const char *status = pm__acts[act][1];
    char home[3], by[80];
    err_t e;
    if (pm_id_check(id, &e) < 0)
        return pm__fail(&e);
    pm_id_region(id, home);
    if (!pmview_at_home(region, id)) {
        err_set(&e, ERR_DENIED, "permit %s: its home is %s, not this node "
                "(%s): only the home can %s it", id, home, region,
                pm__acts[act][0]);
        return pm__fail(&e);
    }
    snprintf(by, sizeof by, "operator:%.60s", pm__user());
    if (store_pm_set_status(node_store(nd), id, status, o->reason, by,
                            pm__now_ms(), &e) < 0)
        return pm__fail(&e);
    printf("permit=%s status=%s\n", id, status);
    return CTL_OK;
}

/* ---- issue ---- */

typedef struct pm_issue {
    node *nd;
    err_t *e;
    int n;
} pm_issue;

/* One record of the file: a permit, opened at this node, its home. */
static int pm__issue_one(void *ctx, const model_record *r)
{
    pm_issue *x = ctx;
    arena_t a;
    buf_t rec;
    pm_permit p;
    int created = 0, rc = 0;
    if (!r->kind || strcmp(r->kind, "permit"))
        return err_set(x->e, ERR_INVALID, "record %d is %s, not a permit",
                       x->n + 1, r->kind ? r->kind : "without a kind");
    arena_init(&a, 1u << 22);
    buf_init(&rec, 1u << 24);
    rc = model_validate(r, x->e);
    rc = rc ? rc : pmrec_permit(r, pm__region(x->nd), &a, &p, x->e);
    rc = rc ? rc : model_pack(r, &rec, x->e);
    rc = rc ? rc : store_pm_issue(node_store(x->nd), &p, rec.p, rec.len,
                                  pm__now_ms(), &created, x->e);
    if (rc == 0)
        printf("permit=%s new=%s\n", p.id, created ? "yes" : "no");
    if (rc < 0)
        err_wrap(x->e, "record %d", x->n + 1);
    x->n++;
    buf_free(&rec);
    arena_free(&a);
    return rc;
}

static int pm__issue(node *nd, const pm_opts *o, int arg)
{
    (void)arg;
    ctl_inputs in = o->in;
    const char *mdir = o->mappings ? o->mappings
                                   : node_cfg(nd)->mappings.dir;
    err_t e;
    pm_issue x = {nd, &e, 0};
    in.files[0] = o->pos[1], in.nfiles = 1;
    int rc = ctl_records(&in, mdir, pm__issue_one, &x, &e);
    if (rc == 0 && x.n == 0)
        rc = err_set(&e, ERR_INVALID, "%s: no record in it", o->pos[1]);
    if (rc == ERR_IO && strstr(e.msg, "cannot open")) {
        fprintf(stderr, "eportctl: error: %s\n", e.msg);
        return CTL_NOINPUT;
    }
    return rc < 0 ? pm__fail(&e) : CTL_OK;
}

/* ---- the command ---- */

static const struct {
    const char *verb;
    int nargs;
    const char *opts;   /* the options it takes, " --a --b " */
    pm_run_fn run;
    int arg;
} pm__verbs[] = {
    {"list", 0, " --count --json ", pm__list, 0},
    {"show", 1, " --fresh --wait --json ", pm__show, 0},
    {"verify", 1, " --reserve --qty --value --line --holder --wait --json ",
     pm__verify, 0},
    {"confirm", 1, " --key --wait --json ", pm__settle, PM_OP_CONFIRM},
    {"cancel", 1, " --key --wait --json ", pm__settle, PM_OP_CANCEL},
    {"history", 1, " --count --json ", pm__history, 0},
    {"suspend", 1, " --reason ", pm__status, 0},
    {"revoke", 1, " --reason ", pm__status, 1},
    {"reinstate", 1, " --reason ", pm__status, 2},
    {"issue", 1, " --map --mappings --canonical ", pm__issue, 0},
};
#define PM__NVERBS (sizeof pm__verbs / sizeof pm__verbs[0])

/* The verb's row, or a usage error printed (*rc). */
static int pm__verb(const pm_opts *o, int *rc)
{
    size_t i = 0;
    while (o->npos && i < PM__NVERBS && strcmp(pm__verbs[i].verb, o->pos[0]))
        i++;
    const char *stray = i < PM__NVERBS ? pm__stray(o, pm__verbs[i].opts)
                                       : NULL;
    if (!o->npos)
        *rc = pm__usage("which command? (list, show, verify, ...)");
    else if (i == PM__NVERBS)
        *rc = pm__usage("unknown command '%s'", o->pos[0]);
    else if (o->npos != 1 + pm__verbs[i].nargs)
        *rc = pm__usage("%s takes %s", o->pos[0], pm__verbs[i].nargs
                        ? (i == PM__NVERBS - 1 ? "FILE" : "one permit ID")
                        : "no argument");
    else if (stray)
        *rc = pm__usage("%s does not take %s", o->pos[0], stray);
    else if (o->count < 1 || o->count > PMVIEW_LIST_MAX)
        *rc = pm__usage("--count %ld: want 1 to %d", o->count,
                        PMVIEW_LIST_MAX);
    return (int)i;
}

int ctl_permits(int argc, char **argv)
{
    pm_opts o;
    node *nd = NULL;
    int rc = pm__args(argc, argv, &o);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    int i = pm__verb(&o, &rc);
    if (rc)
        return rc;
    if ((rc = ctl_node_open(o.config, &nd)) != CTL_OK)
        return rc;
    rc = pm__verbs[i].run(nd, &o, pm__verbs[i].arg);
    node_close(nd);
    return rc;
}
