/* eportctl status: operators' status events (IFTSTA, JSON feeds: gate
 * in/out, loaded, discharged, train departed/arrived...) attached to the
 * movements they concern. Each input record of kind status names its
 * equipment; every open movement carrying that container, on whose
 * itinerary this node's region is, gets a signed `status` event
 * (docs/clearance.md, MV14) and so shows it in its journey at every
 * region. A record about equipment under no open movement here is
 * reported and skipped: status feeds carry every container a terminal
 * handles, most of them under no transit at all. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ledger_query.h"
#include "model.h"
#include "mvact.h"
#include "mvrule.h"
#include "store_mv.h"

#define STATUS_USAGE "eportctl status -c CONF [--map NAME] [--canonical] " \
    "[--wait MS] FILE..."

typedef struct status_run {
    node *nd;
    arena_t a;
    long wait_ms;
    unsigned attached, unmatched, records;
    int rc;                  /* the worst CTL_* so far */
    err_t e;
} status_run;

/* The open movement ref at this node, state in s; 0 if it is not one to
 * attach to (closed, or this region is not on its itinerary). */
static int st__open(status_run *x, const char *ref, mv_state *s)
{
    buf_t b;
    buf_init(&b, 1u << 20);
    err_t e;
    int ok = store_mv_state(node_store(x->nd), ref, &b, &e) == 0 &&
             mv_state_decode(b.p, b.len, &x->a, s, &e) == 0;
    buf_free(&b);
    if (!ok || s->phase == MV_P_CANCELLED || s->phase == MV_P_REJECTED ||
        s->phase == MV_P_WRITTEN_OFF || s->phase == MV_P_NONE)
        return 0;
    return mv_state_stop_of(s, node_cfg(x->nd)->node.region) >= 0;
}

static void st__attach(status_run *x, const model_record *r, const char *ref,
                       const char *ctr)
{
    mv_event ev = { .type = MV_STATUS, .ref = ref, .result = r->status.event,
                    .place = r->status.place, .note = r->status.description };
    char id[MSGID_LEN + 1];
    int rc = mvact_submit(x->nd, &ev, id, &x->e);
    if (rc == 0 && x->wait_ms > 0)
        rc = mvact_wait(x->nd, ref, id, x->wait_ms, &x->e);
    if (rc < 0) {
        int c = ctl_lg_fail(ref, &x->e);
        x->rc = x->rc ? x->rc : c;
        return;
    }
    x->attached++;
    printf("ref=%s status=%s container=%s id=%s\n", ref, r->status.event,
           ctr, id);
}

/* The containers a record is about: status.equipment, else equipment[]. */
static void st__containers(const model_record *r,
                           const char **out, size_t *n)
{
    *n = 0;
    if (r->status.equipment)
        out[(*n)++] = r->status.equipment;
    for (uint32_t i = 0; i < r->equipment.n && *n < MV_CTR_MAX; i++) {
        const char *no = r->equipment.v[i].number;
        if (no && (!r->status.equipment || strcmp(no, r->status.equipment)))
            out[(*n)++] = no;
    }
}

static int st__record(void *ctx, const struct model_record *r)
{
    status_run *x = ctx;
    if (!r->kind || strcmp(r->kind, "status") || !r->status.event)
        return 0;
    x->records++;
    const char *ctrs[MV_CTR_MAX];
    size_t nctr;
    st__containers(r, ctrs, &nctr);
    for (size_t i = 0; i < nctr; i++) {
        const char **refs;
        size_t nrefs = 0, hits = 0;
        err_t e;
        if (lq_refs(node_store(x->nd), ctrs[i], &x->a, &refs, &nrefs, &e) < 0)
            nrefs = 0;
        for (size_t k = 0; k < nrefs; k++) {
            mv_state s;
            if (st__open(x, refs[k], &s) && ++hits)
                st__attach(x, r, refs[k], ctrs[i]);
        }
        if (!hits) {
            x->unmatched++;
            fprintf(stderr, "eportctl: status %s of %s: no open movement "
                    "with this container at this node\n", r->status.event,
                    ctrs[i]);
        }
    }
    return 0;
}

int ctl_status(int argc, char **argv)
{
    ctl_inputs in = { 0 };
    const char *config = NULL, *mappings = NULL;
    long wait_ms = 10000;
    const ctl_opt opts[] = {
        {"--config", "-c", &config, NULL, NULL},
        {"--map", NULL, &in.map, NULL, NULL},
        {"--mappings", NULL, &mappings, NULL, NULL},
        {"--canonical", "--json", NULL, NULL, &in.canonical},
        {"--wait", NULL, NULL, &wait_ms, NULL},
        {0}};
    int rc = ctl_opts(argc, argv, 1, opts, in.files, CTL_FILES_MAX,
                      &in.nfiles, STATUS_USAGE);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    if (!in.nfiles) {
        fprintf(stderr, "eportctl: error: status needs FILE\nusage: %s\n",
                STATUS_USAGE);
        return CTL_USAGE;
    }
    status_run x = { .wait_ms = wait_ms };
    if ((rc = ctl_node_open(config, &x.nd)) != CTL_OK)
        return rc;
    arena_init(&x.a, (size_t)1 << 30);
    rc = ctl_records(&in, mappings ? mappings : node_cfg(x.nd)->mappings.dir,
                     st__record, &x, &x.e);
    if (rc < 0)
        rc = ctl_lg_fail(NULL, &x.e);
    else if (!x.records)
        rc = ctl_lg_fail(NULL, &(err_t){ ERR_INVALID, "status: no record of "
                                         "kind status in the input" });
    else
        rc = x.rc;
    fprintf(stderr, "eportctl: status: %u record(s), %u event(s) attached, "
            "%u container(s) under no open movement here\n", x.records,
            x.attached, x.unmatched);
    arena_free(&x.a);
    node_close(x.nd);
    return rc;
}
