/* GET /v1/cbec/{orderNo}: a cross-border e-commerce parcel's set at this
 * node, as `eportctl cbec status --json` shows it (cbview.h; docs/
 * cbec.md, docs/api.yaml). */
#include "api_int.h"

#include "cbview.h"
#include "store_cbec.h"

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
