/* eportctl declare: open movements at this node, the region of departure.
 * The inputs are local-format files translated through the mapping
 * tables (or canonical JSON with --canonical): one record of kind
 * declaration gives the declarant, the packages and the containers with
 * their seals (containers, not the wagons or barges carrying them,
 * which change on the way); every record given (the declaration and the transport
 * documents beside it: a rail waybill, a bill of lading) adds its
 * document, and its containers, so a rail-sea through journey is one
 * movement linked by container number. The movement is signed and
 * submitted by mvact_declare; this waits (--wait) until eportd's ledger
 * has applied it. --repeat N declares N movements with numbered copies of
 * the documents and containers (benchmarks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "model_pack.h"
#include "mvact.h"

#define DECL_USAGE "eportctl declare -c CONF --itin CQ,SN,SH [--kind K] " \
    "[--map NAME] [--canonical] [--limit-h N] [--limit-ms N] "            \
    "[--guarantee G] [--repeat N] [--wait MS] FILE...\n"                  \
    "  (--canonical: each FILE.json is canonical JSON, other files go "    \
    "through the mappings)"

typedef struct decl_opts {
    const char *config, *itin, *kind, *mappings, *guarantee;
    ctl_inputs in;
    long limit_h, limit_ms, repeat, wait_ms;
} decl_opts;

/* The movement being gathered from the records, strings in a. */
typedef struct decl {
    mv_event d;
    arena_t *a;
    int have_decl;
    buf_t rec;               /* the declaration, packed */
    char itin_buf[64];
    err_t *e;
    int failed;
} decl;

static char *decl__dup(decl *x, const char *s)
{
    char *p = s ? arena_strdup(x->a, s) : NULL;
    if (s && !p)
        x->failed = err_set(x->e, ERR_NOMEM, "declare: out of memory");
    return p;
}

static void decl__doc(decl *x, const model_record *r)
{
    mv_event *d = &x->d;
    if (!r->document.type || !r->document.number)
        return;
    for (uint32_t i = 0; i < d->ndocs; i++)
        if (!strcmp(d->docs[i].type, r->document.type) &&
            !strcmp(d->docs[i].no, r->document.number))
            return;
    if (d->ndocs == MV_DOC_MAX) {
        x->failed = err_set(x->e, ERR_TOOBIG, "declare: more than %d "
                            "documents", MV_DOC_MAX);
        return;
    }
    d->docs[d->ndocs].type = decl__dup(x, r->document.type);
    d->docs[d->ndocs++].no = decl__dup(x, r->document.number);
}

static mv_ctr *decl__ctr(decl *x, const char *no)
{
    mv_event *d = &x->d;
    for (uint32_t i = 0; i < d->nctrs; i++)
        if (!strcmp(d->ctrs[i].no, no))
            return &d->ctrs[i];
    if (d->nctrs == MV_CTR_MAX) {
        x->failed = err_set(x->e, ERR_TOOBIG, "declare: more than %d "
                            "containers", MV_CTR_MAX);
        return NULL;
    }
    mv_ctr *c = &d->ctrs[d->nctrs++];
    memset(c, 0, sizeof *c);
    c->no = decl__dup(x, no);
    return c;
}

static void decl__seal(decl *x, mv_ctr *c, const char *seal)
{
    for (uint32_t s = 0; s < c->nseals; s++)
        if (!strcmp(c->seals[s], seal))
            return;
    if (c->nseals < MV_SEAL_MAX)
        c->seals[c->nseals++] = decl__dup(x, seal);
}

static void decl__equipment(decl *x, const model_record *r)
{
    for (uint32_t i = 0; i < r->equipment.n && !x->failed; i++) {
        const model_equipment *q = &r->equipment.v[i];
        /* the units that travel the whole way sealed; wagons and barges
         * change at a transshipment */
        int unit = !q->kind || !strcmp(q->kind, "container") ||
                   !strcmp(q->kind, "swap_body") ||
                   !strcmp(q->kind, "trailer");
        mv_ctr *c = q->number && unit ? decl__ctr(x, q->number) : NULL;
        for (uint32_t s = 0; c && s < q->seals.n; s++)
            decl__seal(x, c, q->seals.v[s]);
    }
}

static const char *decl__declarant(const model_record *r)
{
    static const char *const roles[] = {"declarant", "declarant_agent",
                                        "exporter", "importer", "consignor",
                                        NULL};
    for (size_t k = 0; roles[k]; k++)
        for (uint32_t i = 0; i < r->parties.n; i++) {
            const model_party *p = &r->parties.v[i];
            if (p->role && !strcmp(p->role, roles[k]) && (p->id || p->name))
                return p->id ? p->id : p->name;
        }
    return NULL;
}

/* The declaration's own part: declarant, packages, the record itself. */
static void decl__declaration(decl *x, const model_record *r)
{
    if (x->have_decl) {
        x->failed = err_set(x->e, ERR_INVALID, "declare: more than one "
                            "record of kind declaration");
        return;
    }
    x->have_decl = 1;
    x->d.declarant = decl__dup(x, decl__declarant(r));
    double pk = r->totals.packages.set ? r->totals.packages.v : 0;
    for (uint32_t i = 0; !r->totals.packages.set && i < r->goods.n; i++)
        pk += r->goods.v[i].packages.set ? r->goods.v[i].packages.v : 0;
    x->d.pkgs = pk > 0 && pk < 4e9 ? (uint32_t)pk : 0;
    int rc = model_pack(r, &x->rec, x->e);
    if (rc < 0)
        x->failed = rc;
}

static int decl__record(void *ctx, const model_record *r)
{
    decl *x = ctx;
    if (r->kind && !strcmp(r->kind, "declaration"))
        decl__declaration(x, r);
    decl__doc(x, r);
    decl__equipment(x, r);
    return x->failed;
}

/* The kind from the transport modes, when --kind does not say. */
static const char *decl__guess_kind(const model_record *r)
{
    const char *first = NULL, *last = NULL;
    for (uint32_t i = 0; i < r->legs.n; i++)
        if (r->legs.v[i].mode) {
            first = first ? first : r->legs.v[i].mode;
            last = r->legs.v[i].mode;
        }
    if (!first)
        return NULL;
    if (!strcmp(first, "rail") && !strcmp(last, "sea"))
        return "rail_sea_export";
    if (!strcmp(first, "inland_water"))
        return "water_transship";
    if (!strcmp(first, "sea") && strcmp(last, "sea"))
        return "import_transfer";
    return !strcmp(first, "rail") ? "rail_transit" : NULL;
}

static int decl__itin(decl *x, const char *itin)
{
    snprintf(x->itin_buf, sizeof x->itin_buf, "%s", itin);
    x->d.nitin = 0;
    for (char *t = strtok(x->itin_buf, ",>"); t; t = strtok(NULL, ",>")) {
        if (x->d.nitin == MV_ITIN_MAX)
            return err_set(x->e, ERR_INVALID, "--itin: more than %d "
                           "regions", MV_ITIN_MAX);
        x->d.itin[x->d.nitin++] = t;
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
        decl__nth(x, &x->d, &ev, rep);
        if (x->failed)
            return ctl_lg_fail("declare", x->e);
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
    if (rc == CTL_OK && (o->in.nfiles == 0 || !o->itin || o->repeat < 1 ||
                         o->repeat > 1000000 || o->limit_h < 0 ||
                         o->limit_ms < 0)) {
        fprintf(stderr, "eportctl: error: declare needs FILE and --itin\n"
                "usage: %s\n", DECL_USAGE);
        rc = CTL_USAGE;
    }
    return rc;
}

/* Every input into x, and the options that complete the movement. */
static int decl__gather(decl *x, const decl_opts *o, const cfg *c)
{
    int rc = ctl_records(&o->in, o->mappings ? o->mappings : c->mappings.dir,
                         decl__record, x, x->e);
    arena_t scratch;
    arena_init(&scratch, (size_t)1 << 30);
    model_record *r = NULL;
    if (rc == 0 && !x->d.kind && x->rec.len &&
        model_unpack(x->rec.p, x->rec.len, &scratch, &r, x->e) == 0)
        x->d.kind = decl__dup(x, decl__guess_kind(r));
    arena_free(&scratch);
    if (rc == 0 && !x->have_decl)
        rc = err_set(x->e, ERR_INVALID, "declare: no record of kind "
                     "declaration in the input");
    if (rc == 0 && !x->d.kind)
        rc = err_set(x->e, ERR_INVALID, "declare: --kind needed (the legs "
                     "do not say which kind of movement this is)");
    return rc < 0 ? rc : decl__itin(x, o->itin);
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
    decl x = { .a = &a, .e = &e };
    buf_init(&x.rec, 16u << 20);
    x.d.kind = o.kind;
    x.d.guarantee = o.guarantee;
    x.d.limit_ms = (uint64_t)o.limit_h * 3600000u + (uint64_t)o.limit_ms;
    if (decl__gather(&x, &o, node_cfg(nd)) < 0) {
        rc = ctl_lg_fail(NULL, &e);
    } else {
        x.d.record = (const unsigned char *)x.rec.p;
        x.d.record_len = x.rec.len;
        rc = decl__submit(nd, &x, &o);
    }
    buf_free(&x.rec);
    arena_free(&a);
    node_close(nd);
    return rc;
}
