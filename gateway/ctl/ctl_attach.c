/* eportctl attach: operators' status events (IFTSTA, JSON feeds: gate
 * in/out, loaded, discharged, train departed/arrived...) attached to the
 * movements they concern, by hand (eportd does the same for status
 * records its connectors take in). Each input record of kind status names
 * its equipment; every open movement carrying that container, on whose
 * itinerary this node's region is, gets a signed `status` event
 * (docs/clearance.md, MV14) and so shows it in its journey at every
 * region (mvact_status, mvact.h). A record about equipment under no open
 * movement here is reported and skipped: status feeds carry every
 * container a terminal handles, most of them under no transit at all. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "model.h"
#include "mvact.h"

#define ATTACH_USAGE "eportctl attach -c CONF [--map NAME] [--canonical] " \
    "[--wait MS] FILE..."

typedef struct attach_run {
    node *nd;
    long wait_ms;
    unsigned attached, unmatched, records;
    int rc;                  /* the worst CTL_* so far */
    const model_record *r;
    err_t e;
} attach_run;

static void at__one(void *ctx, const mvact_attach *a)
{
    attach_run *x = ctx;
    if (!a->ref) {
        x->unmatched++;
        fprintf(stderr, "eportctl: attach %s of %s: no open movement with "
                "this container at this node\n", x->r->status.event, a->ctr);
        return;
    }
    if (a->rc < 0) {
        int c = ctl_lg_fail(a->ref, a->e);
        x->rc = x->rc ? x->rc : c;
        return;
    }
    x->attached++;
    printf("ref=%s status=%s container=%s id=%s\n", a->ref,
           x->r->status.event, a->ctr, a->id);
}

static int at__record(void *ctx, const struct model_record *r)
{
    attach_run *x = ctx;
    if (!r->kind || strcmp(r->kind, "status") || !r->status.event)
        return 0;
    x->records++;
    x->r = r;
    int rc = mvact_status(x->nd, r, NULL, x->wait_ms, at__one, x, &x->e);
    return rc < 0 ? rc : 0;
}

int ctl_attach(int argc, char **argv)
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
                      &in.nfiles, ATTACH_USAGE);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    if (!in.nfiles) {
        fprintf(stderr, "eportctl: error: attach needs FILE\nusage: %s\n",
                ATTACH_USAGE);
        return CTL_USAGE;
    }
    attach_run x = { .wait_ms = wait_ms };
    if ((rc = ctl_node_open(config, &x.nd)) != CTL_OK)
        return rc;
    rc = ctl_records(&in, mappings ? mappings : node_cfg(x.nd)->mappings.dir,
                     at__record, &x, &x.e);
    if (rc < 0)
        rc = ctl_lg_fail(NULL, &x.e);
    else if (!x.records)
        rc = ctl_lg_fail(NULL, &(err_t){ ERR_INVALID, "attach: no record of "
                                         "kind status in the input" });
    else
        rc = x.rc;
    fprintf(stderr, "eportctl: attach: %u record(s), %u event(s) attached, "
            "%u container(s) under no open movement here\n", x.records,
            x.attached, x.unmatched);
    node_close(x.nd);
    return rc;
}
