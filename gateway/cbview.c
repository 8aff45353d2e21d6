#include "cbview.h"

#include "ledger_query.h"

static json_t *cbv__time(int64_t ms)
{
    char t[LQ_TIME_LEN];
    lq_time((uint64_t)(ms > 0 ? ms : 0), t);
    return json_string(t);
}

static json_t *cbv__docs(const store_cbec_set *s)
{
    json_t *o = json_object();
    for (int d = 0; o && d < CBEC__DOCS; d++) {
        const store_cbec_doc *doc = &s->doc[d];
        json_t *v = doc->id ? json_pack("{s:s, s:o}", "id", doc->id, "at",
                                        cbv__time(doc->at))
                            : json_null();
        json_object_set_new(o, cbec_doc_name((cbec_doc)d), v);
    }
    return o;
}

json_t *cbview_set_json_new(const store_cbec_set *s)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "order_no",
                          s->order_no, "state", s->state ? s->state : "?",
                          "why", s->why ? s->why : "", "first", cbv__time(s->first),
                          "due", cbv__time(s->due), "updated", cbv__time(s->upd),
                          "documents", cbv__docs(s));
    if (o && s->lno)
        json_object_set_new(o, "logistics_no", json_string(s->lno));
    return o;
}

int cbview_set_text(const store_cbec_set *s, buf_t *out)
{
    char first[LQ_TIME_LEN], due[LQ_TIME_LEN], at[LQ_TIME_LEN];
    lq_time((uint64_t)s->first, first);
    lq_time((uint64_t)s->due, due);
    int rc = buf_printf(out, "order %s\nstate %s\n", s->order_no,
                        s->state ? s->state : "?");
    if (!rc && s->why && s->why[0])
        rc = buf_printf(out, "why %s\n", s->why);
    if (!rc && s->lno)
        rc = buf_printf(out, "waybill %s\n", s->lno);
    if (!rc)
        rc = buf_printf(out, "first %s\ndue %s\n", first, due);
    for (int d = 0; !rc && d < CBEC__DOCS; d++) {
        const store_cbec_doc *doc = &s->doc[d];
        lq_time((uint64_t)doc->at, at);
        rc = doc->id ? buf_printf(out, "%s %s %s\n", cbec_doc_name((cbec_doc)d),
                                  doc->id, at)
                     : buf_printf(out, "%s -\n", cbec_doc_name((cbec_doc)d));
    }
    return rc;
}
