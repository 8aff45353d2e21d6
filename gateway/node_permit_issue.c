/* Permits issued through this node (node_permit_issue): its issuing
 * authority's records open their ledgers here, their home. Issuing is
 * idempotent (the same permit again changes nothing), so a local batch
 * dispatched again after a crash issues nothing twice. */
#include "node_int.h"
#include "node_permit.h"

#include "log.h"
#include "model.h"
#include "node_permit_int.h"
#include "pmrec.h"
#include "store_pm.h"

int node_permit_issue(node *n, const model_record *r, const void *rec,
                      size_t len, arena_t *a, const char **detail, err_t *e)
{
    pm_permit p;
    int created = 0;
    int rc = pmrec_permit(r, n->cfg->node.region, a, &p, e);
    if (rc == 0)
        rc = store_pm_issue(n->st, &p, rec, len, node__now_ms(), &created, e);
    if (rc < 0) {
        *detail = arena_strdup(a, e->msg);
        log_event(LOG_WARN, "permit_refused_issue", "msg=%s", log_q(e->msg));
        return rc;
    }
    *detail = np_fmt(a, "permit %s %s (%s)", p.id,
                     created ? "issued" : "known: unchanged or its status "
                     "updated", p.status ? p.status : "valid");
    log_event(LOG_INFO, "permit_issued", "permit=%s new=%d status=%s", p.id,
              created, p.status ? p.status : "valid");
    return 0;
}
