/* mvev: one event in the life of a movement (docs/clearance.md, the
 * message table), the payload of a signed federation envelope of type
 * "mv" whose ref is the movement reference. The envelope says who signed
 * it and when it was made; the event says what happened.
 *
 * Wire form, version 1: a msgpack map whose keys are short strings in
 * exactly the order of the fields below ("v" first), present only when
 * set; readers refuse unknown keys, keys out of order and duplicated keys,
 * so one event has one spelling (the signature covers these bytes, and
 * `eportctl verify` re-reads them years later). Keys:
 *
 *   v (uint 1) t (str type) ref at (uint ms) by (str region) prev (str
 *   msg id) kind itin (array str) docs (array [type, number]) ctrs (array
 *   [number, [seal...]]) pkgs (uint) decl guar limit (uint ms) res note
 *   win place rec (bin: canonical record, msgpack)
 *
 * Ownership: an mv_event only borrows its strings. mv_event_decode puts
 * them in the arena it is given (valid until the arena is reset). */
#ifndef EPORT_MVEV_H
#define EPORT_MVEV_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "err.h"

#define MVEV_VERSION 1
#define MVEV_ENV_TYPE "mv"    /* envelope type carrying a movement event */
#define MV_ITIN_MAX 8         /* regions on an itinerary, departure first */
#define MV_DOC_MAX 8          /* transport documents of one movement */
#define MV_CTR_MAX 64         /* containers (or wagons) of one movement */
#define MV_SEAL_MAX 8         /* seals on one container */
#define MV_STR_MAX 70         /* bytes of any one string but note */
#define MV_NOTE_MAX 512       /* bytes of note */

/* The message table of docs/clearance.md, in its order: the number is the
 * "MV" message number there (MV01 declared ...). Never renumber. */
#define MV_TYPES(X)                                                       \
    X(DECLARED, 1, "declared")                                            \
    X(RISK, 2, "risk")                                                    \
    X(AMENDED, 3, "amended")                                              \
    X(CANCELLED, 4, "cancelled")                                          \
    X(REJECTED, 5, "rejected")                                            \
    X(RELEASED, 6, "released")                                            \
    X(PASSAGE, 7, "passage")                                              \
    X(DISCREPANCY, 8, "discrepancy")                                      \
    X(RESOLVED, 9, "resolved")                                            \
    X(ARRIVED, 10, "arrived")                                             \
    X(CONTROLLED, 11, "controlled")                                       \
    X(WRITTEN_OFF, 12, "written_off")                                     \
    X(ENQUIRY, 13, "enquiry")                                             \
    X(STATUS, 14, "status")                                              \
    X(PERMIT, 15, "permit")

typedef enum mv_type {
#define MV__ENUM(name, num, text) MV_##name = num,
    MV_TYPES(MV__ENUM)
#undef MV__ENUM
    MV_TYPE_END
} mv_type;

const char *mv_type_name(mv_type t);              /* "?" if unknown */
int mv_type_parse(const char *s, mv_type *out);   /* ERR_CODE if unknown */

typedef struct mv_doc { const char *type, *no; } mv_doc;
typedef struct mv_ctr {
    const char *no;                  /* ISO 6346 or a wagon number */
    const char *seals[MV_SEAL_MAX];
    uint32_t nseals;
} mv_ctr;

typedef struct mv_event {
    uint32_t version;        /* MVEV_VERSION */
    mv_type type;
    const char *ref;         /* movement reference (mvref) */
    uint64_t at_ms;          /* when it happened, at its author */
    const char *by;          /* author's region: the envelope signer's */
    const char *prev;        /* id of the last event of this movement the
                                author had applied; NULL for declared */
    /* movement data: declared, amended, released (all of it, so that the
     * anticipated arrival record a region receives stands on its own) */
    const char *kind;        /* rail_sea_export water_transship
                                rail_transit import_transfer */
    const char *itin[MV_ITIN_MAX]; uint32_t nitin; /* regions, in order */
    mv_doc docs[MV_DOC_MAX]; uint32_t ndocs;
    mv_ctr ctrs[MV_CTR_MAX]; uint32_t nctrs;       /* passage, arrived:
                                                      what was found */
    uint32_t pkgs;           /* packages (declared, or counted) */
    const char *declarant;
    const char *guarantee;
    uint64_t limit_ms;       /* released: time limit for arrival */
    /* outcome fields, by type (docs/clearance.md):
     * risk: res cleared|inspect|inspected; controlled: ok|discrepancy;
     * discrepancy: res seal|container|packages|other; status: res is the
     * status code (gate_in gate_out loaded discharged departed arrived
     * transshipped stuffed stripped crossed_border delivered); permit:
     * reserved refused written_off returned, with note "<permit id>[:
     * <code>: <text>]" and rec the home's signed answer (docs/permits.md) */
    const char *result;
    const char *note;        /* why: discrepancy detail, cancel reason... */
    const char *winner;      /* rejected: the winning movement */
    const char *place;       /* UN/LOCODE where it happened */
    const unsigned char *record; size_t record_len; /* declared: the
                                canonical declaration (model_pack);
                                permit: the home's answer envelope */
} mv_event;

/* Field rules of ev's type (required fields present, strings within the
 * caps and printable, ref checked by mvref_check, itinerary of 2 or more
 * distinct regions with the departure first = the ref's region, container
 * numbers distinct...). ERR_INVALID "event released of 26CQ...: itin:
 * ..." naming the field. */
int mv_event_validate(const mv_event *ev, err_t *e);

/* Append the wire form of ev (validated first) to out. */
int mv_event_encode(const mv_event *ev, buf_t *out, err_t *e);

/* Read exactly n bytes of wire form into *out (zeroed first), validated.
 * ERR_SYNTAX malformed msgpack, ERR_UNSUPPORTED another version,
 * ERR_INVALID a bad field, each naming the key. */
int mv_event_decode(const void *p, size_t n, arena_t *a, mv_event *out,
                    err_t *e);

#endif
