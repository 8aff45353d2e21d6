#include "cbview.h"

#include <stdio.h>
#include <string.h>

#include "cbec_allow.h"
#include "ledger_query.h"
#include "pmwire.h"
#include "store_pmq.h"

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

int cbview_allow_load(store *st, const store_cbec_set *s, arena_t *a,
                      cbview_allow *out, err_t *e)
{
    memset(out, 0, sizeof *out);
    if (!s->allow || !s->allow[0])
        return 1;
    out->draw = s->allow;
    if (!s->arid || !s->arid[0])
        return 0; /* nothing asked: the draw says why */
    store_pmq_view v;
    buf_t ans, frame;
    buf_init(&ans, PM_MAX_BYTES), buf_init(&frame, 1 << 20);
    int rc = store_pmq_get(st, s->arid, &v, &ans, &frame, e);
    pm_ans pa;
    if (rc == 0) {
        out->state = arena_strdup(a, v.state);
        if (ans.len && pm_ans_decode(ans.p, ans.len, a, &pa, e) == 0) {
            out->code = pm_code_name(pa.code), out->text = pa.text;
            for (uint32_t i = 0; i < pa.nleft; i++)
                if (pa.left[i].line == 0)
                    out->left = pa.left[i].value, out->has_left = 1;
        }
    }
    buf_free(&ans), buf_free(&frame);
    return rc == ERR_NOTFOUND ? 0 : rc;
}

static json_t *cbv__allow(const cbview_allow *al)
{
    char left[32];
    json_t *o = json_pack("{s:s}", "draw", al->draw);
    if (o && al->state)
        json_object_set_new(o, "request", json_string(al->state));
    if (o && al->code)
        json_object_set_new(o, "answer", json_string(al->code));
    if (o && al->text)
        json_object_set_new(o, "text", json_string(al->text));
    if (o && al->has_left) {
        snprintf(left, sizeof left, "%.2f", (double)al->left / 1000);
        json_object_set_new(o, "left_cny", json_string(left));
    }
    return o;
}

json_t *cbview_set_json_new(const store_cbec_set *s, const cbview_allow *al)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "order_no",
                          s->order_no, "state", s->state ? s->state : "?",
                          "why", s->why ? s->why : "", "first", cbv__time(s->first),
                          "due", cbv__time(s->due), "updated", cbv__time(s->upd),
                          "documents", cbv__docs(s));
    if (o && s->lno)
        json_object_set_new(o, "logistics_no", json_string(s->lno));
    if (o && al && al->draw)
        json_object_set_new(o, "allowance", cbv__allow(al));
    if (o && s->tax)
        json_object_set_new(o, "tax", json_string(s->tax));
    return o;
}

int cbview_set_text(const store_cbec_set *s, const cbview_allow *al,
                    buf_t *out)
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
    if (!rc && al && al->draw)
        rc = buf_printf(out, "allowance %s\n", al->draw);
    if (!rc && al && al->state)
        rc = buf_printf(out, "allowance_request %s%s%s\n", al->state,
                        al->code ? " " : "", al->code ? al->code : "");
    if (!rc && al && al->has_left)
        rc = buf_printf(out, "allowance_left %.2f CNY\n", (double)al->left / 1000);
    if (!rc && s->tax)
        rc = buf_printf(out, "tax %s\n", s->tax);
    return rc;
}

int cbview_allowance_load(store *st, const char *region, const char *home,
                          const char *hash, int year, arena_t *a,
                          pmview_show *out, err_t *e)
{
    char id[CBEC_ALLOW_ID_MAX], h[3], hx[CBEC_HASH_HEX + 1];
    int y;
    cbec_allow_id(home ? home : region, year, hash ? hash : "", id);
    if (!hash || cbec_allow_parse(id, h, &y, hx) < 0 || strcmp(hx, hash))
        return err_set(e, ERR_INVALID, "cbec: an identity hash is 32 upper-case "
                       "hex characters (eportctl cbec allowance --id NUMBER "
                       "computes it)");
    char *copy = arena_strdup(a, id);
    if (!copy)
        return err_set(e, ERR_NOMEM, "cbec: out of memory");
    return pmview_show_load(st, region, copy, 0, 0, a, out, e);
}
