/* The cross-border e-commerce reads (cbview.h; docs/cbec.md, docs/
 * api.yaml): a parcel's set, a buyer's annual allowance. */
#include "api_int.h"

#include <string.h>
#include <time.h>

#include "cbec_allow.h"
#include "cbview.h"
#include "store_cbec.h"

/* GET /v1/cbec/{orderNo}: a parcel's set at this node, as `eportctl cbec
 * status --json` shows it. */
enum MHD_Result api_cbec(api_req *q)
{
    enum MHD_Result ret = MHD_NO;
    api_tls *t = api_tls_begin(q, &ret);
    if (!t)
        return ret;
    store_cbec_set s;
    err_t e;
    cbview_allow al;
    if (store_cbec_get(api_store(t), q->param, &t->arena, &s, &e) < 0 ||
        cbview_allow_load(api_store(t), &s, &t->arena, &al, &e) < 0)
        return api_reply_err(q, &e);
    json_t *doc = cbview_set_json_new(&s, &al);
    return doc ? api_reply_json(q, MHD_HTTP_OK, doc)
               : api_reply_error(q, 500, "http: out of memory", NULL, NULL, NULL);
}

/* GET /v1/cbec/allowances/{hash}[?year=YYYY][&home=RR]: a buyer's annual
 * allowance as `eportctl cbec allowance --id-hash` shows it: its ledger
 * when home is this node's region (the default), else the newest answer
 * this node holds from home (404 when none). */
enum MHD_Result api_cbec_allowance(api_req *q)
{
    enum MHD_Result ret = MHD_NO;
    int64_t year;
    if (api_arg_int(q, "year", 2000, 2999, cbec_year((int64_t)time(NULL) * 1000), &year))
        return MHD_YES;
    api_tls *t = api_tls_begin(q, &ret);
    if (!t)
        return ret;
    pmview_show s;
    err_t e;
    const char *home = api_arg(q, "home");
    if (home && (strlen(home) != 2 || home[0] < 'A' || home[0] > 'Z' ||
                 home[1] < 'A' || home[1] > 'Z'))
        return api_reply_error(q, 400, "home: a region, 2 upper-case letters",
                               NULL, NULL, NULL);
    if (cbview_allowance_load(api_store(t), q->a->c->node.region, home, q->param,
                              (int)year, &t->arena, &s, &e) < 0)
        return api_reply_err(q, &e);
    json_t *doc = pmview_show_json_new(&s);
    return doc ? api_reply_json(q, MHD_HTTP_OK, doc)
               : api_reply_error(q, 500, "http: out of memory", NULL, NULL, NULL);
}
