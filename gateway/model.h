/* model: the canonical record every local format is translated into and out
 * of, and the one table (model_fields[]) that describes it. The msgpack form
 * (wire between nodes) and the JSON form (people, tests) are both produced
 * from that table, so a field added there appears in both.
 *
 * A record and everything it points to live in one arena (see arena.h):
 * strings are NUL-terminated UTF-8, arrays are arena arrays with a count.
 * Nothing in a record is freed on its own; reset or free the arena.
 *
 * The model includes nothing else of ours but err/arena/buf. */
#ifndef EPORT_MODEL_H
#define EPORT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "err.h"

/* The newest version this node reads and writes; it reads every version
 * from 1 (docs/model.md, "Versioning"). */
#define MODEL_VERSION 2

/* Caps so that no input makes a record grow without bound. */
#define MODEL_MAX_ITEMS 10000 /* per array */

/* A number with presence: JSON null-free output omits unset numbers. */
typedef struct model_num {
    double v;
    int set;
} model_num;

typedef struct model_strlist {
    char **v;
    uint32_t n, cap;
} model_strlist;

typedef struct model_party {
    char *role, *name, *id, *id_agency, *id_type, *account, *country,
        *street, *city, *postcode, *contact, *phone, *email;
} model_party;

typedef struct model_leg {
    model_num seq;
    char *mode, *stage, *carrier, *means_id, *means_name, *means_flag,
        *means_call_sign, *voyage, *from, *to, *departure, *arrival;
} model_leg;

typedef struct model_equipment {
    char *number, *kind, *size_type, *full_empty, *supplier;
    model_num tare_kg;
    model_strlist seals;
} model_equipment;

typedef struct model_goods {
    model_num seq;
    char *item_no, *hs_code, *description, *item_name, *spec,
        *origin_country, *package_type, *marks, *currency, *unit;
    model_num packages, gross_kg, net_kg, volume_m3, quantity, unit_price,
        value;
    model_strlist equipment_refs;
} model_goods;

/* A declaration's citation of a permit (docs/model.md, "Permits"). */
typedef struct model_citation {
    char *id;                     /* federation permit id "CQ-26AIL000123" */
    model_num line, quantity, value;
} model_citation;

#define MODEL__ARRAY(T) struct { T *v; uint32_t n, cap; }

typedef struct model_record {
    char *kind; /* model_kinds[] */
    struct {
        char *format, *message_type, *version, *sender, *recipient,
            *interchange_ref, *message_ref, *mapping;
    } source;
    struct {
        char *type, *number, *function, *issued, *place;
    } document;
    struct {
        char *kind, *usage, *status, *authority, *region, *valid_from,
            *valid_to;
    } permit;
    struct {
        char *origin, *destination, *departure, *arrival;
    } route;
    MODEL__ARRAY(model_party) parties;
    MODEL__ARRAY(model_leg) legs;
    MODEL__ARRAY(model_equipment) equipment;
    MODEL__ARRAY(model_goods) goods;
    MODEL__ARRAY(model_citation) permits;
    struct {
        model_num packages, gross_kg, net_kg, goods_items, equipment_count;
    } totals;
    struct {
        char *reference, *office, *procedure, *status, *status_text,
            *decision_time;
    } customs;
    /* Cross-border e-commerce (version 2; docs/model.md, "Cross-border
     * e-commerce"): the keys that tie a parcel's order, payment, waybill
     * and inventory list together, and the order's amounts. */
    struct {
        char *order_no, *logistics_no, *payment_no, *guid, *direction,
            *app_status, *port_code, *bill_no, *currency, *reason;
        model_num goods_value, freight, insured_fee, discount, tax_total,
            paid;
    } cbec;
    struct {
        char *event, *time, *place, *description, *equipment;
    } status;
    /* Slips a lenient rule let through, "RULE: what, where at LINE:COL"
     * (docs/mapping-language.md, "Strict and lenient"); set by the
     * translation, never by a mapping rule. */
    model_strlist warnings;
} model_record;

/* ---- the description table ---- */

typedef enum model_ftype {
    MF_STR,     /* char * */
    MF_NUM,     /* model_num */
    MF_STRLIST, /* model_strlist */
    MF_ARRAY    /* MODEL__ARRAY of the struct named by elem */
} model_ftype;

typedef enum model_obj {
    MO_RECORD,
    MO_PARTY,
    MO_LEG,
    MO_EQUIPMENT,
    MO_GOODS,
    MO_CITATION,
    MO__COUNT
} model_obj;

typedef struct model_field {
    const char *path;  /* canonical path: "document.number", "parties[].name" */
    const char *group; /* enclosing object key ("document"), or NULL */
    const char *key;   /* key inside that object */
    model_ftype type;
    model_obj obj;     /* struct that off is relative to */
    uint16_t off;
    model_obj elem;    /* MF_ARRAY: element struct */
    uint16_t elem_size;
} model_field;

extern const model_field model_fields[];
extern const size_t model_nfields;

/* Field by canonical path, NULL if none. */
const model_field *model_field_find(const char *path);
/* The MF_ARRAY field whose elements are of struct obj, NULL for MO_RECORD. */
const model_field *model_array_of(model_obj obj);

/* Pointers into a struct described by the table; inline because the
 * mapper stores and the writers read every field through them. */
static inline char **model_str_at(void *base, const model_field *f)
{
    return (char **)(void *)((char *)base + f->off);
}

static inline model_num *model_num_at(void *base, const model_field *f)
{
    return (model_num *)(void *)((char *)base + f->off);
}

static inline model_strlist *model_strlist_at(void *base,
                                              const model_field *f)
{
    return (model_strlist *)(void *)((char *)base + f->off);
}

/* Zeroed record in arena a; NULL on allocation failure (borrowed). */
model_record *model_record_new(arena_t *a);

/* Append a zeroed element to the MF_ARRAY field f of base; returns the
 * element (borrowed, arena-owned) or NULL at MODEL_MAX_ITEMS / no memory.
 * Earlier element pointers may move: re-fetch after append. */
void *model_array_append(arena_t *a, void *base, const model_field *f,
                         err_t *e);
/* Element i of array field f of base. */
void *model_array_at(void *base, const model_field *f, uint32_t i);
uint32_t model_array_len(void *base, const model_field *f);

/* Append a copy of s[0..n) to a string list. */
int model_strlist_add(arena_t *a, model_strlist *l, const char *s, size_t n,
                      err_t *e);

/* Deep equality (strings by content, numbers with 1e-9 tolerance); when
 * they differ and diff is not NULL, writes the first differing path. */
int model_equal(const model_record *a, const model_record *b, buf_t *diff);

/* The values of `kind`, NULL-terminated: the one list for whatever else
 * checks a kind (mapping tables, client configuration). */
extern const char *const model_kinds[];
/* The permit enumerations (docs/model.md, "Permits"), NULL-terminated:
 * permit.kind, permit.usage and permit.status. */
extern const char *const model_permit_kinds[];
extern const char *const model_permit_usages[];
extern const char *const model_permit_statuses[];

/* Structural checks the model itself guarantees: kind, legs[].mode, the
 * permit enumerations (permit.kind, usage, status) and that every
 * permits[] entry names a permit. Mapping-level validation rules run in
 * the mapping engine; permit ids and amounts are checked where they are
 * used (pmrec.h). */
int model_validate(const model_record *r, err_t *e);

/* An output form: the walk in model_emit calls these in document order.
 * Counts are given up front because msgpack needs them. Each returns 0 or
 * a negative ERR_* code, which stops the walk. */
typedef struct model_emitter {
    int (*map_begin)(void *ctx, uint32_t n);
    int (*map_end)(void *ctx);
    int (*array_begin)(void *ctx, uint32_t n);
    int (*array_end)(void *ctx);
    int (*key)(void *ctx, const char *k);
    int (*str)(void *ctx, const char *s);
    int (*num)(void *ctx, double v);
    int need_counts; /* map_begin needs n (msgpack); JSON does not, and
                        counting costs a walk of the table per object */
} model_emitter;

/* Walk r in model_fields[] order, skipping absent values. */
int model_emit(const model_record *r, const model_emitter *em, void *ctx);

#endif
