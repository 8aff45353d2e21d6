#include "cbec_match.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef enum cm_type {
    CM_STR,      /* exact */
    CM_PERSONAL, /* exact, shown masked */
    CM_AMOUNT,   /* within the tolerance; absent counts as 0 */
} cm_type;

/* One rule: document a's field pa against document b's pb. */
typedef struct cm_rule {
    const char *rule;
    cbec_doc a;
    const char *pa;
    cbec_doc b;
    const char *pb;
    cm_type t;
} cm_rule;

#define BUYER "parties[role=buyer]."
#define PAYER "parties[role=payer]."

/* docs/cbec.md, "Matching rules", in its order. */
static const cm_rule cm__rules[] = {
    {"keys", CBEC_ORDER, "cbec.order_no", CBEC_PAYMENT, "cbec.order_no", CM_STR},
    {"keys", CBEC_ORDER, "cbec.order_no", CBEC_INVENTORY, "cbec.order_no", CM_STR},
    {"keys", CBEC_WAYBILL, "cbec.logistics_no", CBEC_INVENTORY, "cbec.logistics_no", CM_STR},
    {"platform", CBEC_ORDER, "parties[role=platform].id", CBEC_PAYMENT,
     "parties[role=platform].id", CM_STR},
    {"platform", CBEC_ORDER, "parties[role=platform].id", CBEC_INVENTORY,
     "parties[role=platform].id", CM_STR},
    {"seller", CBEC_ORDER, "parties[role=seller].id", CBEC_INVENTORY,
     "parties[role=seller].id", CM_STR},
    {"carrier", CBEC_WAYBILL, "parties[role=carrier].id", CBEC_INVENTORY,
     "parties[role=carrier].id", CM_STR},
    {"buyer", CBEC_ORDER, BUYER "id", CBEC_INVENTORY, BUYER "id", CM_PERSONAL},
    {"buyer", CBEC_ORDER, BUYER "name", CBEC_INVENTORY, BUYER "name", CM_PERSONAL},
    {"payer", CBEC_ORDER, BUYER "id", CBEC_PAYMENT, PAYER "id", CM_PERSONAL},
    {"payer", CBEC_ORDER, BUYER "name", CBEC_PAYMENT, PAYER "name", CM_PERSONAL},
    {"payment", CBEC_ORDER, "cbec.paid", CBEC_PAYMENT, "cbec.paid", CM_AMOUNT},
    {"currency", CBEC_ORDER, "cbec.currency", CBEC_PAYMENT, "cbec.currency", CM_STR},
    {"currency", CBEC_ORDER, "cbec.currency", CBEC_INVENTORY, "cbec.currency", CM_STR},
    {"freight", CBEC_ORDER, "cbec.freight", CBEC_INVENTORY, "cbec.freight", CM_AMOUNT},
};

static const char *const cm__names[CBEC__DOCS] = {"order", "payment", "waybill",
                                                  "inventory"};

const char *cbec_doc_name(cbec_doc d)
{
    return d < CBEC__DOCS ? cm__names[d] : "?";
}

static int cm__is(const char *v, const char *want)
{
    return v && strcmp(v, want) == 0;
}

int cbec_doc_of(const model_record *r)
{
    if (cm__is(r->kind, "order"))
        return CBEC_ORDER;
    if (cm__is(r->kind, "payment"))
        return CBEC_PAYMENT;
    if (cm__is(r->kind, "waybill") && cm__is(r->document.type, "parcel_waybill"))
        return CBEC_WAYBILL;
    if (cm__is(r->kind, "declaration") &&
        cm__is(r->document.type, "inventory_list"))
        return CBEC_INVENTORY;
    return -1;
}

/* ---- reading a path ---- */

const model_party *cbec_party(const model_record *r, const char *role)
{
    for (uint32_t i = 0; i < r->parties.n; i++)
        if (r->parties.v[i].role && strcmp(r->parties.v[i].role, role) == 0)
            return &r->parties.v[i];
    return NULL;
}

/* The party of path's role ("parties[role=R].f") and its field row; NULL
 * when path names no party or the record has none of that role. */
static void *cm__party(const model_record *r, const char *path,
                       const model_field **f)
{
    static const char pre[] = "parties[role=";
    if (strncmp(path, pre, sizeof pre - 1) != 0)
        return NULL;
    const char *role = path + sizeof pre - 1, *end = strchr(role, ']');
    char fpath[64], rname[32];
    if (!end || end[1] != '.' || (size_t)(end - role) >= sizeof rname)
        return NULL;
    snprintf(rname, sizeof rname, "%.*s", (int)(end - role), role);
    snprintf(fpath, sizeof fpath, "parties[].%s", end + 2);
    if (!(*f = model_field_find(fpath)))
        return NULL;
    return (void *)cbec_party(r, rname);
}

/* The value at path: *s for strings, *num (and 1) for numbers; 0 when
 * absent. */
static int cm__get(const model_record *r, const char *path, const char **s,
                   double *num)
{
    const model_field *f = NULL;
    void *base = cm__party(r, path, &f);
    if (!base && strncmp(path, "parties[", 8) == 0)
        return 0;
    if (!base) {
        base = (void *)r;
        f = model_field_find(path);
    }
    if (f && f->type == MF_STR)
        return (*s = *model_str_at(base, f)) != NULL;
    if (f && f->type == MF_NUM && model_num_at(base, f)->set) {
        *num = model_num_at(base, f)->v;
        return 1;
    }
    return 0;
}

/* ---- recording a mismatch ---- */

static int cm__ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* s shown for a report. Personal data is starred but for what lets a
 * party find the entry: an identity number (ASCII, 12 or more) keeps its
 * first and last 4, anything else (a name) its first character. */
static void cm__show(const char *s, int personal, char *out, size_t n)
{
    if (!personal) {
        snprintf(out, n, "%s", s);
        return;
    }
    size_t len = strlen(s), keep = len >= 12 && cm__ascii(s) ? 4 : 0, lead = keep;
    if (!keep) /* the first character: 1 to 4 bytes of UTF-8 */
        for (lead = 1; lead < len && (s[lead] & 0xC0) == 0x80; lead++)
            ;
    size_t k = 0;
    for (size_t i = 0; i < len && k + 5 < n; i++) {
        if (i < lead || (keep && i >= len - keep))
            out[k++] = s[i];
        else if ((s[i] & 0xC0) != 0x80)
            out[k++] = '*';
    }
    out[k] = '\0';
}

static cbec_mismatch *cm__add(cbec_verdict *v, const char *rule, cbec_doc a,
                              cbec_doc b, const char *field)
{
    if (v->n++ >= CBEC_MISMATCH_MAX)
        return NULL;
    cbec_mismatch *m = &v->m[v->n - 1];
    m->rule = rule;
    m->a = a;
    m->b = b;
    snprintf(m->field, sizeof m->field, "%s", field);
    return m;
}

static void cm__num_text(double x, char *out, size_t n)
{
    snprintf(out, n, "%.15g", x);
}

/* ---- the rules ---- */

static void cm__rule(const cm_rule *w, const cbec_set *s, double tol,
                     cbec_verdict *v)
{
    const char *sa = NULL, *sb = NULL;
    double na = 0, nb = 0;
    int ha = cm__get(s->doc[w->a], w->pa, &sa, &na);
    int hb = cm__get(s->doc[w->b], w->pb, &sb, &nb);
    if (w->t == CM_AMOUNT) {
        if ((!ha && !hb) || fabs(na - nb) <= tol + 1e-9)
            return;
        cbec_mismatch *m = cm__add(v, w->rule, w->a, w->b, w->pa);
        if (m)
            cm__num_text(na, m->va, sizeof m->va),
                cm__num_text(nb, m->vb, sizeof m->vb);
        return;
    }
    if ((!ha && !hb) || (ha && hb && strcmp(sa, sb) == 0))
        return;
    cbec_mismatch *m = cm__add(v, w->rule, w->a, w->b, w->pa);
    if (m) {
        cm__show(ha ? sa : "absent", ha && w->t == CM_PERSONAL, m->va, sizeof m->va);
        cm__show(hb ? sb : "absent", hb && w->t == CM_PERSONAL, m->vb, sizeof m->vb);
    }
}

/* A line's key: its item number, else "#seq". */
static const char *cm__line_key(const model_goods *g, char *buf, size_t n)
{
    if (g->item_no)
        return g->item_no;
    snprintf(buf, n, "#%.0f", g->seq.set ? g->seq.v : 0);
    return buf;
}

static const model_goods *cm__line(const model_record *r, const char *key)
{
    char buf[32];
    for (uint32_t i = 0; i < r->goods.n; i++)
        if (strcmp(cm__line_key(&r->goods.v[i], buf, sizeof buf), key) == 0)
            return &r->goods.v[i];
    return NULL;
}

static void cm__line_diff(cbec_verdict *v, const char *key, const char *what,
                          double x, double y)
{
    char field[96];
    snprintf(field, sizeof field, "goods[item_no=%s].%s", key, what);
    cbec_mismatch *m = cm__add(v, "lines", CBEC_ORDER, CBEC_INVENTORY, field);
    if (m)
        cm__num_text(x, m->va, sizeof m->va), cm__num_text(y, m->vb, sizeof m->vb);
}

/* Every line of one document has its counterpart (by key) in the other,
 * with the same quantity and a value within the tolerance. */
static void cm__lines_one_way(const model_record *from, const model_record *to,
                              int from_order, double tol, cbec_verdict *v)
{
    char buf[32];
    for (uint32_t i = 0; i < from->goods.n; i++) {
        const model_goods *g = &from->goods.v[i];
        const char *key = cm__line_key(g, buf, sizeof buf);
        const model_goods *h = cm__line(to, key);
        if (!h) {
            char field[96];
            snprintf(field, sizeof field, "goods[item_no=%s]", key);
            cbec_mismatch *m = cm__add(v, "lines", CBEC_ORDER, CBEC_INVENTORY, field);
            if (m)
                snprintf(m->va, sizeof m->va, from_order ? "present" : "absent"),
                    snprintf(m->vb, sizeof m->vb, from_order ? "absent" : "present");
            continue;
        }
        if (!from_order)
            continue; /* a pair is compared once, from the order's side */
        if (fabs(g->quantity.v - h->quantity.v) > 1e-9)
            cm__line_diff(v, key, "quantity", g->quantity.v, h->quantity.v);
        if (fabs(g->value.v - h->value.v) > tol + 1e-9)
            cm__line_diff(v, key, "value", g->value.v, h->value.v);
    }
}

static double cm__goods_sum(const model_record *r)
{
    double t = 0;
    for (uint32_t i = 0; i < r->goods.n; i++)
        t += r->goods.v[i].value.v;
    return t;
}

static void cm__lines(const cbec_set *s, double tol, cbec_verdict *v)
{
    const model_record *o = s->doc[CBEC_ORDER], *in = s->doc[CBEC_INVENTORY];
    double so = cm__goods_sum(o), si = cm__goods_sum(in);
    if (fabs(so - si) > tol + 1e-9) {
        cbec_mismatch *m = cm__add(v, "goods value", CBEC_ORDER, CBEC_INVENTORY,
                                   "goods[].value (sum)");
        if (m)
            cm__num_text(so, m->va, sizeof m->va), cm__num_text(si, m->vb, sizeof m->vb);
    }
    cm__lines_one_way(o, in, 1, tol, v);
    cm__lines_one_way(in, o, 0, tol, v);
}

void cbec_match(const cbec_set *s, const cbec_opts *o, cbec_verdict *v)
{
    double tol = o ? o->tolerance : CBEC_TOLERANCE_DEFAULT;
    memset(v, 0, sizeof *v);
    for (int d = 0; d < CBEC__DOCS; d++)
        if (s->doc[d])
            v->present |= 1u << d;
    for (size_t i = 0; i < sizeof cm__rules / sizeof cm__rules[0]; i++)
        if (s->doc[cm__rules[i].a] && s->doc[cm__rules[i].b])
            cm__rule(&cm__rules[i], s, tol, v);
    if (s->doc[CBEC_ORDER] && s->doc[CBEC_INVENTORY])
        cm__lines(s, tol, v);
}

const char *cbec_verdict_state(const cbec_verdict *v)
{
    if (v->n)
        return "mismatched";
    return v->present == CBEC_ALL_DOCS ? "matched" : "awaiting";
}

void cbec_missing_text(unsigned present, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int d = 0; d < CBEC__DOCS && k < n; d++)
        if (!(present & (1u << d))) {
            int w = snprintf(buf + k, n - k, "%s%s", k ? ", " : "", cm__names[d]);
            k += w > 0 ? (size_t)w : 0;
        }
}

void cbec_verdict_text(const cbec_verdict *v, char *buf, size_t n)
{
    size_t k = 0, shown = v->n < CBEC_MISMATCH_MAX ? v->n : CBEC_MISMATCH_MAX;
    buf[0] = '\0';
    for (size_t i = 0; i < shown && k < n; i++) {
        const cbec_mismatch *m = &v->m[i];
        int w = snprintf(buf + k, n - k, "%s%s: %s: %s says %s, %s says %s",
                         i ? "; " : "", m->rule, m->field, cm__names[m->a],
                         m->va, cm__names[m->b], m->vb);
        k += w > 0 ? (size_t)w : 0;
    }
    if (v->n > shown && k < n)
        snprintf(buf + k, n - k, "; and %zu more", v->n - shown);
}
