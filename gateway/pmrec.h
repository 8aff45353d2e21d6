/* pmrec: permits in canonical records (docs/model.md, "Permits"). A
 * record of kind `permit` is a licence or certificate as its issuing
 * authority sent it; pmrec_permit reads it into the flat form the home's
 * ledger keeps (store_pm.h). A declaration cites permits in its
 * `permits[]`; pmrec_citations groups those into one reserve request per
 * permit (pmwire.h), the draw-down the declaration needs.
 *
 * Pure: no I/O. Strings of the results are borrowed from the record or
 * allocated in the arena given. */
#ifndef EPORT_PMREC_H
#define EPORT_PMREC_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "model.h"
#include "pmwire.h"

typedef struct pm_line {
    uint32_t line;           /* 1-based: goods[].seq, else position */
    const char *hs, *desc, *unit, *currency; /* NULL when absent */
    uint64_t qty, value;     /* thousandths; 0: not limited by it */
} pm_line;

/* A permit as issued: what the home node's ledger is opened with. */
typedef struct pm_permit {
    const char *id;          /* federation id: region "-" number */
    const char *number;      /* the authority's number (document.number) */
    const char *kind;        /* permit.kind code (docs/model.md) */
    const char *usage;       /* single_use quantity value per_line */
    const char *status;      /* valid suspended revoked (as sent; default
                                valid) */
    const char *authority;   /* permit.authority */
    const char *region;      /* home region (2 letters) */
    const char *holder_id, *holder_name; /* the party of role holder */
    uint64_t from_ms, to_ms; /* validity, inclusive; a date without a time
                                and offset is a day in China Standard Time
                                (+08:00): from its first to its last ms */
    pm_line lines[PM_LINES_MAX];
    uint32_t nlines;
} pm_permit;

/* r (kind permit) as issued at region (this node's: a permit's home is
 * where it is issued; a record naming another permit.region is refused).
 * id = region "-" document.number upper-cased. ERR_INVALID naming the
 * field: no number, a kind or usage not in its code list, validity
 * missing or to < from, no lines, more than PM_LINES_MAX lines, a
 * quantity-limited permit without quantities... */
int pmrec_permit(const model_record *r, const char *region, arena_t *a,
                 pm_permit *out, err_t *e);

/* The permits r (a declaration) cites, one reserve request per distinct
 * permit id in order of first citation, the amounts of its citations
 * added up per line (line 0: the permit as a whole). key and holder are
 * the caller's (the movement reference; the declarant's id) and are set
 * in every request; at_ms too. *n = 0 when r cites none. ERR_INVALID for
 * a bad permit id or amount (naming permits[i]), ERR_TOOBIG past max. */
int pmrec_citations(const model_record *r, const char *key,
                    const char *holder, uint64_t at_ms, arena_t *a,
                    pm_req *out, size_t max, size_t *n, err_t *e);

/* "2026-11-24", "2026-11-24T10:00:00+08:00", "...Z" into ms since the
 * epoch: a date alone is its first ms in +08:00 (end = 1: its last ms).
 * ERR_INVALID for anything else. */
int pmrec_time(const char *s, int end, uint64_t *ms, err_t *e);

#endif
