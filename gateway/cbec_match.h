/* cbec_match: the checks customs make of a cross-border e-commerce parcel
 * (三单对碰, docs/cbec.md, "Matching rules"): its order, payment, waybill
 * and inventory list must agree on the keys, the parties, the buyer and
 * payer, the amounts and the goods lines. Pure: records in, a verdict
 * out; where the records come from (the set store) and what is done with
 * the verdict (reports, the allowance) are other modules'.
 *
 * Every rule whose two documents are there is checked, so a set still
 * waiting for its waybill already reports an order and a payment that
 * disagree. A set is matched only when complete and clean. */
#ifndef EPORT_CBEC_MATCH_H
#define EPORT_CBEC_MATCH_H

#include <stddef.h>

#include "model.h"

typedef enum cbec_doc {
    CBEC_ORDER,
    CBEC_PAYMENT,
    CBEC_WAYBILL,
    CBEC_INVENTORY,
    CBEC__DOCS
} cbec_doc;

#define CBEC_ALL_DOCS ((1u << CBEC__DOCS) - 1)
#define CBEC_MISMATCH_MAX 32 /* reported per check; more only counted */

/* Which document of a set r is (by kind and document.type), or -1: a
 * withdrawal, a return, a receipt or anything else is no member. */
int cbec_doc_of(const model_record *r);
/* "order", "payment", "waybill", "inventory". */
const char *cbec_doc_name(cbec_doc d);

/* The first party of role in r, or NULL (borrowed from r). */
const model_party *cbec_party(const model_record *r, const char *role);

typedef struct cbec_set {
    const model_record *doc[CBEC__DOCS]; /* NULL: not (yet) there */
} cbec_set;

typedef struct cbec_opts {
    double tolerance; /* amounts may differ by this much (currency units) */
} cbec_opts;

#define CBEC_TOLERANCE_DEFAULT 0.01

/* One failed rule: field as docs/cbec.md writes it
 * ("parties[role=buyer].id", "goods[item_no=JD-MF-0901].quantity"),
 * the two documents and what each says ("absent" when it says nothing;
 * personal data masked). */
typedef struct cbec_mismatch {
    const char *rule;
    char field[96];
    cbec_doc a, b;
    char va[80], vb[80];
} cbec_mismatch;

typedef struct cbec_verdict {
    unsigned present;  /* bit (1 << cbec_doc) per document there */
    size_t n;          /* mismatches found (may exceed what m holds) */
    cbec_mismatch m[CBEC_MISMATCH_MAX];
} cbec_verdict;

/* Check s with o (NULL: the defaults) into *v. */
void cbec_match(const cbec_set *s, const cbec_opts *o, cbec_verdict *v);

/* matched: complete and clean; mismatched: some rule failed; awaiting:
 * clean so far, documents missing. */
const char *cbec_verdict_state(const cbec_verdict *v);

/* The documents missing, "payment, waybill" ("" when none), into buf. */
void cbec_missing_text(unsigned present, char *buf, size_t n);

/* One line per mismatch joined by "; ": "payment: cbec.paid: order says
 * 509.14, payment says 500", for logs and status; truncated to n. */
void cbec_verdict_text(const cbec_verdict *v, char *buf, size_t n);

#endif
