/* eportctl declare: open movements at this node, the region of departure.
 * The inputs are local-format files translated through the mapping
 * tables (or canonical JSON with --canonical), gathered into one
 * movement by mvact_gather (the same way eportd gathers a declaration a
 * connector brought in): one record of kind declaration gives the
 * declarant, the packages and the containers with their seals; every
 * record given (the declaration and the transport documents beside it:
 * a rail waybill, a bill of lading) adds its document and its
 * containers, so a rail-sea through journey is one movement linked by
 * container number. Without --itin the itinerary comes from the
 * declaration's route and legs (mappings/codes/locode-region.yaml). The
 * movement is signed and submitted by mvact_declare; this waits (--wait)
 * until eportd's ledger has applied it. --repeat N declares N movements
 * with numbered copies of the documents and containers (benchmarks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "model_pack.h"
#include "mvact.h"

#define DECL_USAGE "eportctl declare -c CONF [--itin CQ,SN,SH] [--kind K] " \
    "[--map NAME] [--canonical] [--limit-h N] [--limit-ms N] "            \
    "[--guarantee G] [--repeat N] [--wait MS] FILE...\n"                  \
    "  (--canonical: each FILE.json is canonical JSON, other files go "    \
    "through the mappings)"

typedef struct decl_opts {
    const char *config, *itin, *kind, *mappings, *guarantee;
    ctl_inputs in;
    long limit_h, limit_ms, repeat, wait_ms;
} decl_opts;

/* The movement being gathered (mvact_gather), with --itin's copy. */
typedef struct decl {
    mvact_gather g;
    char itin_buf[64];
} decl;

static int decl__record(void *ctx, const model_record *r)
{
    return mvact_gather_add(ctx, r, 0);
}

static const char *decl__dup(decl *x, const char *s)
{
    const char *p = arena_strdup(x->g.a, s);
    if (!p && !x->g.failed)
        x->g.failed = err_set(x->g.e, ERR_NOMEM, "declare: out of memory");
    return p;
}

static int decl__itin(decl *x, const char *itin)
{
    mv_event *d = &x->g.d;
    snprintf(x->itin_buf, sizeof x->itin_buf, "%s", itin);
    d->nitin = 0;
    for (char *t = strtok(x->itin_buf, ",>"); t; t = strtok(NULL, ",>")) {
        if (d->nitin == MV_ITIN_MAX)
            return err_set(x->g.e, ERR_INVALID, "--itin: more than %d "
                           "regions", MV_ITIN_MAX);
        d->itin[d->nitin++] = t;
    }
    return 0;
}

/* ISO 6346 check digit of the 10 characters s (owner, category, serial). */
static int decl__iso_check(const char *s)
{
    long sum = 0;
    for (int i = 0; i < 10; i++) {
        int v = s[i] - '0';
        if (s[i] >= 'A' && s[i] <= 'Z') {
            v = 10;
            for (char c = 'A'; c < s[i]; c++)
                v += (v + 1) % 11 == 0 ? 2 : 1;
        }
        sum += (long)v << i;
    }
    return (int)(sum % 11 % 10);
}

/* The k-th numbered container (k >= 1, unique per copy and container):
 * the owner code kept, serial k, with a right check digit when it is an
 * ISO 6346 number. */
static const char *decl__nth_ctr(decl *x, const char *no, long k)
{
    char out[MV_STR_MAX + 1];
    int iso = strlen(no) == 11;
    for (int i = 0; iso && i < 11; i++)
        iso = i < 4 ? no[i] >= 'A' && no[i] <= 'Z' : no[i] >= '0' &&
                                                        no[i] <= '9';
    if (iso) {
        long serial = k % 1000000;
        snprintf(out, sizeof out, "%.4s%06ld", no, serial);
        snprintf(out + 10, sizeof out - 10, "%d", decl__iso_check(out));
    } else {
        snprintf(out, sizeof out, "%.60s-%ld", no, k);
    }
    return decl__dup(x, out);
}

static void decl__nth(decl *x, const mv_event *base, mv_event *out, long rep)
{
    *out = *base;
    if (rep == 0)
        return;
    char no[MV_STR_MAX + 24];
    for (uint32_t i = 0; i < out->ndocs; i++) {
        snprintf(no, sizeof no, "%.60s-%ld", base->docs[i].no, rep);
        out->docs[i].no = decl__dup(x, no);
    }
    for (uint32_t i = 0; i < out->nctrs; i++)
        out->ctrs[i].no = decl__nth_ctr(x, base->ctrs[i].no,
                                        rep * (long)base->nctrs + (long)i);
}

static int decl__submit(node *nd, decl *x, const decl_opts *o)
{
    char ref[MVREF_LEN + 1] = "", id[MSGID_LEN + 1] = "", win[32] = "";
    err_t e;
    int rc = CTL_OK;
    mv_event ev;
    for (long rep = 0; rc == CTL_OK && rep < o->repeat; rep++) {
        decl__nth(x, &x->g.d, &ev, rep);
        if (x->g.failed)
            return ctl_lg_fail("declare", x->g.e);
        if (mvact_declare(nd, &ev, ref, id, win, &e) < 0) {
            if (e.code == ERR_CONFLICT && win[0] && !strstr(e.msg, win))
                err_wrap(&e, "winner %s", win);
            return ctl_lg_fail(ref[0] ? ref : "declare", &e);
        }
        printf("ref=%s id=%s\n", ref, id);
    }
    if (o->wait_ms > 0 && mvact_wait(nd, ref, id, o->wait_ms, &e) < 0)
        rc = ctl_lg_fail(ref, &e);
    return rc;
}

static int decl__args(int argc, char **argv, decl_opts *o)
{
    *o = (decl_opts){ .repeat = 1, .wait_ms = 10000 };
    const ctl_opt opts[] = {
        {"--config", "-c", &o->config, NULL, NULL},
        {"--itin", NULL, &o->itin, NULL, NULL},
        {"--kind", NULL, &o->kind, NULL, NULL},
        {"--map", NULL, &o->in.map, NULL, NULL},
        {"--mappings", NULL, &o->mappings, NULL, NULL},
        {"--guarantee", NULL, &o->guarantee, NULL, NULL},
        {"--canonical", "--json", NULL, NULL, &o->in.canonical},
        {"--limit-h", NULL, NULL, &o->limit_h, NULL},
        {"--limit-ms", NULL, NULL, &o->limit_ms, NULL},
        {"--repeat", NULL, NULL, &o->repeat, NULL},
        {"--wait", NULL, NULL, &o->wait_ms, NULL},
        {0}};
    int rc = ctl_opts(argc, argv, 1, opts, o->in.files, CTL_FILES_MAX,
                      &o->in.nfiles, DECL_USAGE);
    if (rc == CTL_OK && (o->in.nfiles == 0 || o->repeat < 1 ||
                         o->repeat > 1000000 || o->limit_h < 0 ||
                         o->limit_ms < 0)) {
        fprintf(stderr, "eportctl: error: declare needs FILE\n"
                "usage: %s\n", DECL_USAGE);
        rc = CTL_USAGE;
    }
    return rc;
}

/* Every input into x, and the options that complete the movement: the
 * itinerary from --itin, else from the code list of the mappings. */
static int decl__gather(decl *x, const decl_opts *o, const cfg *c)
{
    const char *mdir = o->mappings ? o->mappings : c->mappings.dir;
    mvact_regions *m = NULL;
    int rc = ctl_records(&o->in, mdir, decl__record, &x->g, x->g.e);
    if (rc == 0 && o->itin)
        rc = decl__itin(x, o->itin);
    else if (rc == 0)
        rc = mvact_regions_load(mdir, &m, x->g.e);
    if (rc == 0)
        rc = mvact_gather_finish(&x->g, m);
    mvact_regions_free(m);
    return rc;
}

int ctl_declare(int argc, char **argv)
{
    decl_opts o;
    int rc = decl__args(argc, argv, &o);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    node *nd = NULL;
    if ((rc = ctl_node_open(o.config, &nd)) != CTL_OK)
        return rc;
    arena_t a;
    arena_init(&a, (size_t)1 << 30);
    err_t e;
    decl x;
    mvact_gather_init(&x.g, &a, &e);
    x.g.d.kind = o.kind;
    x.g.d.guarantee = o.guarantee;
    x.g.d.limit_ms = (uint64_t)o.limit_h * 3600000u + (uint64_t)o.limit_ms;
    if (decl__gather(&x, &o, node_cfg(nd)) < 0)
        rc = ctl_lg_fail(NULL, &e);
    else
        rc = decl__submit(nd, &x, &o);
    mvact_gather_free(&x.g);
    arena_free(&a);
    node_close(nd);
    return rc;
}
