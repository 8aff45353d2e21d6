/* mvforge: plays a federation member that breaks the ledger's rules (a
 * buggy or hostile implementation): signs, with its own key and
 * certificate, a movement event it is not entitled to send, and queues it
 * to the given nodes, skipping the rule check eportctl makes before it
 * sends. The receivers' ledgers must refuse it (docs/clearance.md,
 * "Who may do what"); tests/fed/test_clearance_faults.py checks that.
 *
 *   mvforge -c CONF --to SH,NC --event passage --ref REF [--by RR]
 *           [--prev ID] [--result R] [--itin CQ,SN,SH --ctr NO]
 *
 * --by defaults to the node's own region (a lie about it is one of the
 * forgeries). Prints `id=...`; exit 0 once queued, 1 on an error, 2 on
 * bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "mvev.h"
#include "node.h"

#define MF_DEST_MAX 8

typedef struct mf_args {
    const char *conf, *to, *event, *ref, *by, *prev, *result, *itin, *ctr;
} mf_args;

static int mf_args_read(int argc, char **argv, mf_args *a)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        const char **slot = !strcmp(k, "-c") ? &a->conf
                          : !strcmp(k, "--to") ? &a->to
                          : !strcmp(k, "--event") ? &a->event
                          : !strcmp(k, "--ref") ? &a->ref
                          : !strcmp(k, "--by") ? &a->by
                          : !strcmp(k, "--prev") ? &a->prev
                          : !strcmp(k, "--result") ? &a->result
                          : !strcmp(k, "--itin") ? &a->itin
                          : !strcmp(k, "--ctr") ? &a->ctr : NULL;
        if (!slot)
            return -1;
        *slot = v;
    }
    return a->conf && a->to && a->event && a->ref && argc % 2 ? 0 : -1;
}

/* Split s (a copy is cut in place) at commas into out. */
static size_t mf_split(char *s, const char **out, size_t cap)
{
    size_t n = 0;
    for (char *t = strtok(s, ","); t && n < cap; t = strtok(NULL, ","))
        out[n++] = t;
    return n;
}

static int mf_event(const mf_args *a, const char *region, mv_event *ev,
                    char *itin_buf, err_t *e)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *ev = (mv_event){ .version = MVEV_VERSION, .ref = a->ref,
                      .by = a->by ? a->by : region, .prev = a->prev,
                      .result = a->result,
                      .at_ms = (uint64_t)ts.tv_sec * 1000 +
                               (uint64_t)ts.tv_nsec / 1000000 };
    if (mv_type_parse(a->event, &ev->type) < 0)
        return err_set(e, ERR_USAGE, "unknown event '%s'", a->event);
    if (a->itin) { /* events that carry the movement data */
        ev->nitin = (uint32_t)mf_split(itin_buf, ev->itin, MV_ITIN_MAX);
        ev->kind = "rail_transit";
        ev->ctrs[0].no = a->ctr ? a->ctr : "TCLU1234566";
        ev->nctrs = 1;
        ev->limit_ms = ev->type == MV_RELEASED ? ev->at_ms + 3600000 : 0;
    }
    return 0;
}

static int mf_send(node *n, const mf_args *a, err_t *e)
{
    char to[256], itin[128];
    snprintf(to, sizeof to, "%s", a->to);
    snprintf(itin, sizeof itin, "%s", a->itin ? a->itin : "");
    const char *dests[MF_DEST_MAX];
    size_t nd = mf_split(to, dests, MF_DEST_MAX);
    mv_event ev;
    buf_t p;
    buf_init(&p, 1u << 20);
    int rc = mf_event(a, node_cfg(n)->node.region, &ev, itin, e);
    if (rc == 0)
        rc = mv_event_encode(&ev, &p, e);
    char id[MSGID_LEN + 1], winner[32];
    if (rc == 0)
        rc = node_submit_self(n, MVEV_ENV_TYPE, dests, nd, a->ref, p.p, p.len,
                              NULL, id, winner, e);
    if (rc == 0)
        printf("id=%s\n", id);
    buf_free(&p);
    return rc;
}

int main(int argc, char **argv)
{
    mf_args a = { 0 };
    if (mf_args_read(argc, argv, &a) < 0) {
        fprintf(stderr, "usage: mvforge -c CONF --to A,B --event EV --ref REF "
                "[--by RR] [--prev ID] [--result R] [--itin A,B --ctr NO]\n");
        return 2;
    }
    err_t e;
    cfg *c = NULL;
    node *n = NULL;
    int rc = cfg_load(a.conf, &c, &e);
    if (rc == 0)
        rc = node_open(c, NODE_OFFLINE, &n, &e); /* takes c */
    if (rc == 0)
        rc = mf_send(n, &a, &e);
    if (rc < 0)
        fprintf(stderr, "mvforge: error: %s\n", e.msg);
    node_close(n);
    return rc < 0 ? 1 : 0;
}
