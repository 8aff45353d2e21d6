#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <threads.h>

#define F(arr, S, o, k, T) \
    {arr "[]." #k, NULL, #k, T, o, offsetof(S, k), MO_RECORD, 0}
#define A(k, o, S) \
    {#k, NULL, #k, MF_ARRAY, MO_RECORD, offsetof(model_record, k), o, \
     sizeof(S)}
#define G(grp, k, T) \
    {#grp "." #k, #grp, #k, T, MO_RECORD, offsetof(model_record, grp.k), \
     MO_RECORD, 0}

/* The order here is the order of keys in the JSON and msgpack forms. */
const model_field model_fields[] = {
    {"kind", NULL, "kind", MF_STR, MO_RECORD, offsetof(model_record, kind),
     MO_RECORD, 0},
    G(source, format, MF_STR),
    G(source, message_type, MF_STR),
    G(source, version, MF_STR),
    G(source, sender, MF_STR),
    G(source, recipient, MF_STR),
    G(source, interchange_ref, MF_STR),
    G(source, message_ref, MF_STR),
    G(source, mapping, MF_STR),
    G(document, type, MF_STR),
    G(document, number, MF_STR),
    G(document, function, MF_STR),
    G(document, issued, MF_STR),
    G(document, place, MF_STR),
    G(permit, kind, MF_STR),
    G(permit, usage, MF_STR),
    G(permit, status, MF_STR),
    G(permit, authority, MF_STR),
    G(permit, region, MF_STR),
    G(permit, valid_from, MF_STR),
    G(permit, valid_to, MF_STR),
    G(route, origin, MF_STR),
    G(route, destination, MF_STR),
    G(route, departure, MF_STR),
    G(route, arrival, MF_STR),
    A(parties, MO_PARTY, model_party),
    F("parties", model_party, MO_PARTY, role, MF_STR),
    F("parties", model_party, MO_PARTY, name, MF_STR),
    F("parties", model_party, MO_PARTY, id, MF_STR),
    F("parties", model_party, MO_PARTY, id_agency, MF_STR),
    F("parties", model_party, MO_PARTY, id_type, MF_STR),
    F("parties", model_party, MO_PARTY, account, MF_STR),
    F("parties", model_party, MO_PARTY, country, MF_STR),
    F("parties", model_party, MO_PARTY, street, MF_STR),
    F("parties", model_party, MO_PARTY, city, MF_STR),
    F("parties", model_party, MO_PARTY, postcode, MF_STR),
    F("parties", model_party, MO_PARTY, contact, MF_STR),
    F("parties", model_party, MO_PARTY, phone, MF_STR),
    F("parties", model_party, MO_PARTY, email, MF_STR),
    A(legs, MO_LEG, model_leg),
    F("legs", model_leg, MO_LEG, seq, MF_NUM),
    F("legs", model_leg, MO_LEG, mode, MF_STR),
    F("legs", model_leg, MO_LEG, stage, MF_STR),
    F("legs", model_leg, MO_LEG, carrier, MF_STR),
    F("legs", model_leg, MO_LEG, means_id, MF_STR),
    F("legs", model_leg, MO_LEG, means_name, MF_STR),
    F("legs", model_leg, MO_LEG, means_flag, MF_STR),
    F("legs", model_leg, MO_LEG, means_call_sign, MF_STR),
    F("legs", model_leg, MO_LEG, voyage, MF_STR),
    F("legs", model_leg, MO_LEG, from, MF_STR),
    F("legs", model_leg, MO_LEG, to, MF_STR),
    F("legs", model_leg, MO_LEG, departure, MF_STR),
    F("legs", model_leg, MO_LEG, arrival, MF_STR),
    A(equipment, MO_EQUIPMENT, model_equipment),
    F("equipment", model_equipment, MO_EQUIPMENT, number, MF_STR),
    F("equipment", model_equipment, MO_EQUIPMENT, kind, MF_STR),
    F("equipment", model_equipment, MO_EQUIPMENT, size_type, MF_STR),
    F("equipment", model_equipment, MO_EQUIPMENT, full_empty, MF_STR),
    F("equipment", model_equipment, MO_EQUIPMENT, supplier, MF_STR),
    F("equipment", model_equipment, MO_EQUIPMENT, tare_kg, MF_NUM),
    F("equipment", model_equipment, MO_EQUIPMENT, seals, MF_STRLIST),
    A(goods, MO_GOODS, model_goods),
    F("goods", model_goods, MO_GOODS, seq, MF_NUM),
    F("goods", model_goods, MO_GOODS, item_no, MF_STR),
    F("goods", model_goods, MO_GOODS, hs_code, MF_STR),
    F("goods", model_goods, MO_GOODS, description, MF_STR),
    F("goods", model_goods, MO_GOODS, item_name, MF_STR),
    F("goods", model_goods, MO_GOODS, spec, MF_STR),
    F("goods", model_goods, MO_GOODS, origin_country, MF_STR),
    F("goods", model_goods, MO_GOODS, packages, MF_NUM),
    F("goods", model_goods, MO_GOODS, package_type, MF_STR),
    F("goods", model_goods, MO_GOODS, marks, MF_STR),
    F("goods", model_goods, MO_GOODS, gross_kg, MF_NUM),
    F("goods", model_goods, MO_GOODS, net_kg, MF_NUM),
    F("goods", model_goods, MO_GOODS, volume_m3, MF_NUM),
    F("goods", model_goods, MO_GOODS, quantity, MF_NUM),
    F("goods", model_goods, MO_GOODS, unit, MF_STR),
    F("goods", model_goods, MO_GOODS, unit_price, MF_NUM),
    F("goods", model_goods, MO_GOODS, value, MF_NUM),
    F("goods", model_goods, MO_GOODS, currency, MF_STR),
    F("goods", model_goods, MO_GOODS, equipment_refs, MF_STRLIST),
    A(permits, MO_CITATION, model_citation),
    F("permits", model_citation, MO_CITATION, id, MF_STR),
    F("permits", model_citation, MO_CITATION, line, MF_NUM),
    F("permits", model_citation, MO_CITATION, quantity, MF_NUM),
    F("permits", model_citation, MO_CITATION, value, MF_NUM),
    G(totals, packages, MF_NUM),
    G(totals, gross_kg, MF_NUM),
    G(totals, net_kg, MF_NUM),
    G(totals, goods_items, MF_NUM),
    G(totals, equipment_count, MF_NUM),
    G(customs, reference, MF_STR),
    G(customs, office, MF_STR),
    G(customs, procedure, MF_STR),
    G(customs, status, MF_STR),
    G(customs, status_text, MF_STR),
    G(customs, decision_time, MF_STR),
    G(cbec, order_no, MF_STR),
    G(cbec, logistics_no, MF_STR),
    G(cbec, payment_no, MF_STR),
    G(cbec, guid, MF_STR),
    G(cbec, direction, MF_STR),
    G(cbec, app_status, MF_STR),
    G(cbec, port_code, MF_STR),
    G(cbec, bill_no, MF_STR),
    G(cbec, currency, MF_STR),
    G(cbec, goods_value, MF_NUM),
    G(cbec, freight, MF_NUM),
    G(cbec, insured_fee, MF_NUM),
    G(cbec, discount, MF_NUM),
    G(cbec, tax_total, MF_NUM),
    G(cbec, paid, MF_NUM),
    G(cbec, reason, MF_STR),
    G(status, event, MF_STR),
    G(status, time, MF_STR),
    G(status, place, MF_STR),
    G(status, description, MF_STR),
    G(status, equipment, MF_STR),
    {"warnings", NULL, "warnings", MF_STRLIST, MO_RECORD,
     offsetof(model_record, warnings), MO_RECORD, 0},
};

const size_t model_nfields = sizeof model_fields / sizeof model_fields[0];

const model_field *model_field_find(const char *path)
{
    for (size_t i = 0; i < model_nfields; i++)
        if (strcmp(model_fields[i].path, path) == 0)
            return &model_fields[i];
    return NULL;
}

const model_field *model_array_of(model_obj obj)
{
    for (size_t i = 0; i < model_nfields; i++)
        if (model_fields[i].type == MF_ARRAY && model_fields[i].elem == obj)
            return &model_fields[i];
    return NULL;
}

/* The rows of model_fields[] that belong to obj: an element struct's rows
 * follow its array's row, so walking an element (done for every party,
 * leg, container and goods line of every record) touches only those; the
 * record itself spans the whole table. Computed once. */
static size_t model__lo[MO__COUNT], model__hi[MO__COUNT];
static once_flag model__spans_once = ONCE_FLAG_INIT;

static void model__spans_init(void)
{
    model__hi[MO_RECORD] = model_nfields;
    for (size_t i = 0; i < model_nfields; i++) {
        if (model_fields[i].type != MF_ARRAY)
            continue;
        model_obj o = model_fields[i].elem;
        size_t j = i + 1;
        while (j < model_nfields && model_fields[j].obj == o)
            j++;
        model__lo[o] = i + 1;
        model__hi[o] = j;
    }
}

static void model__span(model_obj obj, size_t *lo, size_t *hi)
{
    call_once(&model__spans_once, model__spans_init);
    *lo = model__lo[obj];
    *hi = model__hi[obj];
}

/* Every MODEL__ARRAY has the same layout; this view lets one function grow
 * any of them. */
typedef struct {
    void *v;
    uint32_t n, cap;
} model__anyarray;

model_record *model_record_new(arena_t *a)
{
    return arena_zalloc(a, sizeof(model_record));
}

/* Grow an arena array to hold one more element of size sz. Arena memory is
 * not freed; doubling keeps the waste under half. */
static int model__grow(arena_t *a, void **v, uint32_t n, uint32_t *cap,
                       size_t sz)
{
    if (n < *cap)
        return 0;
    uint32_t ncap = *cap ? *cap * 2 : 4;
    void *nv = arena_alloc(a, ncap * sz);
    if (!nv)
        return ERR_NOMEM;
    if (n)
        memcpy(nv, *v, n * sz);
    *v = nv;
    *cap = ncap;
    return 0;
}

void *model_array_append(arena_t *a, void *base, const model_field *f,
                         err_t *e)
{
    model__anyarray *arr = (model__anyarray *)((char *)base + f->off);
    if (arr->n >= MODEL_MAX_ITEMS) {
        err_set(e, ERR_TOOBIG, "%s: more than %d items", f->path,
                MODEL_MAX_ITEMS);
        return NULL;
    }
    if (model__grow(a, &arr->v, arr->n, &arr->cap, f->elem_size)) {
        err_set(e, ERR_NOMEM, "%s: out of memory", f->path);
        return NULL;
    }
    char *el = (char *)arr->v + (size_t)arr->n * f->elem_size;
    memset(el, 0, f->elem_size);
    arr->n++;
    return el;
}

void *model_array_at(void *base, const model_field *f, uint32_t i)
{
    model__anyarray *arr = (model__anyarray *)((char *)base + f->off);
    return (char *)arr->v + (size_t)i * f->elem_size;
}

uint32_t model_array_len(void *base, const model_field *f)
{
    return ((model__anyarray *)((char *)base + f->off))->n;
}

int model_strlist_add(arena_t *a, model_strlist *l, const char *s, size_t n,
                      err_t *e)
{
    if (l->n >= MODEL_MAX_ITEMS)
        return err_set(e, ERR_TOOBIG, "list: more than %d items",
                       MODEL_MAX_ITEMS);
    void *v = l->v;
    if (model__grow(a, &v, l->n, &l->cap, sizeof(char *)))
        return err_set(e, ERR_NOMEM, "list: out of memory");
    l->v = v;
    l->v[l->n] = arena_strndup(a, s, n);
    if (!l->v[l->n])
        return err_set(e, ERR_NOMEM, "list: out of memory");
    l->n++;
    return 0;
}

/* ---- walking: one traversal shared by every output form ---- */

static int model__num_set(const model_num *n) { return n->set; }

static int model__field_present(void *base, const model_field *f)
{
    switch (f->type) {
    case MF_STR: return *model_str_at(base, f) != NULL;
    case MF_NUM: return model__num_set(model_num_at(base, f));
    case MF_STRLIST: return model_strlist_at(base, f)->n > 0;
    case MF_ARRAY: return model_array_len(base, f) > 0;
    }
    return 0;
}

/* Number of keys the object obj (or its sub-object group) will emit. */
static uint32_t model__count(void *base, model_obj obj, const char *group,
                             int top)
{
    uint32_t n = 0;
    const char *seen = NULL;
    size_t lo, hi;
    model__span(obj, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        const model_field *f = &model_fields[i];
        if (f->obj != obj || !model__field_present(base, f))
            continue;
        if (top && f->group) {
            if (!seen || strcmp(seen, f->group) != 0)
                n++;
            seen = f->group;
        } else if (!top && f->group && strcmp(f->group, group) == 0) {
            n++;
        } else if (top && !f->group) {
            n++;
        }
    }
    return n;
}

static int model__emit_obj(void *base, model_obj obj,
                           const model_emitter *em, void *ctx);

static int model__emit_field(void *base, const model_field *f,
                             const model_emitter *em, void *ctx)
{
    int rc = em->key(ctx, f->key);
    if (rc)
        return rc;
    if (f->type == MF_STR)
        return em->str(ctx, *model_str_at(base, f));
    if (f->type == MF_NUM)
        return em->num(ctx, model_num_at(base, f)->v);
    if (f->type == MF_STRLIST) {
        model_strlist *l = model_strlist_at(base, f);
        if ((rc = em->array_begin(ctx, l->n)))
            return rc;
        for (uint32_t i = 0; i < l->n && !rc; i++)
            rc = em->str(ctx, l->v[i]);
        return rc ? rc : em->array_end(ctx);
    }
    uint32_t n = model_array_len(base, f);
    if ((rc = em->array_begin(ctx, n)))
        return rc;
    for (uint32_t i = 0; i < n && !rc; i++)
        rc = model__emit_obj(model_array_at(base, f, i), f->elem, em, ctx);
    return rc ? rc : em->array_end(ctx);
}

static int model__emit_obj(void *base, model_obj obj,
                           const model_emitter *em, void *ctx)
{
    int rc = em->map_begin(ctx, em->need_counts ? model__count(base, obj, NULL, 1) : 0);
    const char *open = NULL;
    size_t lo, hi;
    model__span(obj, &lo, &hi);
    for (size_t i = lo; i < hi && !rc; i++) {
        const model_field *f = &model_fields[i];
        if (f->obj != obj || !model__field_present(base, f))
            continue;
        if (open && (!f->group || strcmp(open, f->group) != 0)) {
            rc = em->map_end(ctx);
            open = NULL;
        }
        if (!rc && f->group && !open) {
            open = f->group;
            rc = em->key(ctx, f->group);
            if (!rc)
                rc = em->map_begin(ctx, em->need_counts
                                            ? model__count(base, obj, f->group, 0) : 0);
        }
        if (!rc)
            rc = model__emit_field(base, f, em, ctx);
    }
    if (!rc && open)
        rc = em->map_end(ctx);
    return rc ? rc : em->map_end(ctx);
}

int model_emit(const model_record *r, const model_emitter *em, void *ctx)
{
    return model__emit_obj((void *)r, MO_RECORD, em, ctx);
}

/* ---- comparison and structural validation ---- */

static int model__equal_obj(void *a, void *b, model_obj obj, buf_t *diff,
                            const char *prefix);

static int model__equal_field(void *a, void *b, const model_field *f,
                              buf_t *diff, const char *prefix)
{
    int same = 1;
    if (f->type == MF_STR) {
        const char *x = *model_str_at(a, f), *y = *model_str_at(b, f);
        same = (!x && !y) || (x && y && strcmp(x, y) == 0);
    } else if (f->type == MF_NUM) {
        model_num *x = model_num_at(a, f), *y = model_num_at(b, f);
        same = x->set == y->set && (!x->set || fabs(x->v - y->v) < 1e-9);
    } else if (f->type == MF_STRLIST) {
        model_strlist *x = model_strlist_at(a, f), *y = model_strlist_at(b, f);
        same = x->n == y->n;
        for (uint32_t i = 0; same && i < x->n; i++)
            same = strcmp(x->v[i], y->v[i]) == 0;
    } else {
        uint32_t n = model_array_len(a, f);
        same = n == model_array_len(b, f);
        for (uint32_t i = 0; same && i < n; i++) {
            char sub[128];
            snprintf(sub, sizeof sub, "%s%s[%u].", prefix, f->key, i);
            same = model__equal_obj(model_array_at(a, f, i),
                                    model_array_at(b, f, i), f->elem, diff,
                                    sub);
            if (!same)
                return 0; /* inner call named the path */
        }
    }
    /* inside an array element the prefix ("parties[1].") already names
     * the array: add the key, not the table path "parties[].role" */
    if (!same && diff && diff->len == 0)
        buf_printf(diff, "%s%s", prefix,
                   f->obj == MO_RECORD ? f->path : f->key);
    return same;
}

static int model__equal_obj(void *a, void *b, model_obj obj, buf_t *diff,
                            const char *prefix)
{
    size_t lo, hi;
    model__span(obj, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        if (model_fields[i].obj == obj &&
            !model__equal_field(a, b, &model_fields[i], diff, prefix))
            return 0;
    return 1;
}

int model_equal(const model_record *a, const model_record *b, buf_t *diff)
{
    return model__equal_obj((void *)a, (void *)b, MO_RECORD, diff, "");
}

static int model__one_of(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(v, *set) == 0)
            return 1;
    return 0;
}

const char *const model_kinds[] = {"waybill", "manifest", "declaration",
                                   "response", "status", "permit",
                                   "order", "payment", NULL};
static const char *const model__modes[] = {
    "sea", "rail", "road", "air", "inland_water", "multimodal",
    "fixed_installation", "post", "unknown", NULL};
/* docs/model.md, "Permits": a permit's kind, how it is drawn down and
 * what its issuer last said of it. */
const char *const model_permit_kinds[] = {
    "automatic_import_licence", "import_licence", "export_licence",
    "certificate_of_origin", "inspection_certificate", "dual_use_licence",
    "crypto_product_licence", "endangered_species_permit", "drug_permit",
    NULL};
const char *const model_permit_usages[] = {
    "single_use", "quantity", "value", "per_line", NULL};
const char *const model_permit_statuses[] = {
    "valid", "suspended", "revoked", NULL};

/* "a, b or c" of a NULL-terminated list, for messages. */
static const char *model__list_text(const char *const *set, char *out,
                                    size_t n)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; set[i] && at < n; i++) {
        const char *sep = !i ? "" : set[i + 1] ? ", " : " or ";
        int k = snprintf(out + at, n - at, "%s%s", sep, set[i]);
        at += k > 0 ? (size_t)k : 0;
    }
    return out;
}

/* 0 when v is absent or one of set, else ERR_CODE naming path. */
static int model__check_enum(const char *path, const char *v,
                             const char *const *set, err_t *e)
{
    char text[400];
    if (!v || model__one_of(v, set))
        return 0;
    return err_set(e, ERR_CODE, "%s: '%.60s' is not one of %s", path, v,
                   model__list_text(set, text, sizeof text));
}

static int model__check_permits(const model_record *r, err_t *e)
{
    int rc = model__check_enum("permit.kind", r->permit.kind,
                               model_permit_kinds, e);
    if (!rc)
        rc = model__check_enum("permit.usage", r->permit.usage,
                               model_permit_usages, e);
    if (!rc)
        rc = model__check_enum("permit.status", r->permit.status,
                               model_permit_statuses, e);
    for (uint32_t i = 0; !rc && i < r->permits.n; i++)
        if (!r->permits.v[i].id)
            rc = err_set(e, ERR_REQUIRED, "permits[%u].id: required value "
                         "missing (the permit cited)", i);
    return rc;
}

int model_validate(const model_record *r, err_t *e)
{
    char text[200];
    if (!r->kind)
        return err_set(e, ERR_REQUIRED, "kind: required value missing");
    if (!model__one_of(r->kind, model_kinds))
        return err_set(e, ERR_CODE, "kind: '%s' is not one of %s", r->kind,
                       model__list_text(model_kinds, text, sizeof text));
    for (uint32_t i = 0; i < r->legs.n; i++) {
        const char *m = r->legs.v[i].mode;
        if (m && !model__one_of(m, model__modes))
            return err_set(e, ERR_CODE, "legs[%u].mode: '%s' is not a "
                           "UN/ECE Rec. 19 mode name", i, m);
    }
    return model__check_permits(r, e);
}
