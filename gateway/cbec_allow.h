/* cbec_allow: the buyer's annual allowance for cross-border e-commerce
 * (docs/cbec.md, "The buyer's annual allowance"). A buyer's allowance is
 * a permit-style ledger (store_pm.h) at the buyer's home node, the
 * region of the identity number's first two digits (code list
 * cn_id_region), opened there on first use with the year's limit (code
 * list cbec_limits) and drawn like a value permit: reserved by the
 * clearing node when the parcel's set matches, under the order number,
 * so that no number of regions clearing for one buyer at once can
 * overdraw it.
 *
 * The ledger is named by a keyed hash of the identity number, never by
 * the number: "CQ-ALW2026-<32 hex>", HMAC-SHA-256 under the federation's
 * key (cbec.id_key), the first 128 bits. Every node computes the same
 * name; no node learns a number from it.
 *
 * Pure but for reading the code lists and the key file. Amounts are
 * thousandths of CNY, as pmwire's. */
#ifndef EPORT_CBEC_ALLOW_H
#define EPORT_CBEC_ALLOW_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"
#include "pmrec.h"

#define CBEC_HASH_HEX 32      /* hex characters of an identity hash */
#define CBEC_ALLOW_ID_MAX 48  /* "CQ-ALW2026-" + 32 + NUL */
#define CBEC_REGIONS_MAX 64
#define CBEC_KEY_MIN 32       /* bytes of the federation's key, at least */
#define CBEC_KEY_MAX 256

#define CBEC_RATES_MAX 256

/* One row of the tax rates: an HS code prefix ("" for "*") and its
 * statutory VAT and consumption tax, in percent. */
typedef struct cbec_rate {
    char hs[11];
    uint32_t vat, cons;
} cbec_rate;

typedef struct cbec_limits {
    uint64_t per_tx, per_year;            /* thousandths of CNY */
    uint32_t tax_share;                   /* percent of the statutory taxes
                                             due within the limits */
    int over_general;                     /* over the per-transaction limit:
                                             taxed as general trade (1) or
                                             refused (0) */
    char prefix[CBEC_REGIONS_MAX][3], region[CBEC_REGIONS_MAX][3];
    size_t nregions;
    cbec_rate rates[CBEC_RATES_MAX];
    size_t nrates;
} cbec_limits;

/* <mappings_dir>/codes/cbec_limits.yaml, cn_id_region.yaml and
 * cbec_tax_rates.yaml into out; ERR_CONFIG "file:line:col: error: ..."
 * when one is wrong. */
int cbec_limits_load(const char *mappings_dir, cbec_limits *out, err_t *e);

/* The region keeping the allowance of the holder of identity number id,
 * or NULL when no row names its first two digits. */
const char *cbec_home_of(const cbec_limits *l, const char *id);

/* A key file (raw bytes, min to max of them, max <= CBEC_KEY_MAX) into
 * key, *n its length; what names it in messages ("identity key").
 * cbec_id_key_load: the federation's identity key (CBEC_KEY_MIN to
 * CBEC_KEY_MAX bytes). */
int cbec_key_load(const char *path, const char *what, size_t min, size_t max,
                  unsigned char *key, size_t *n, err_t *e);
int cbec_id_key_load(const char *path, unsigned char *key, size_t *n, err_t *e);

/* The keyed hash of identity number id: 32 upper-case hex characters. */
int cbec_id_hash(const unsigned char *key, size_t klen, const char *id,
                 char out[CBEC_HASH_HEX + 1], err_t *e);

/* The calendar year in China Standard Time of ms since the epoch: the
 * year an allowance ledger is kept for. */
int cbec_year(int64_t ms);

/* "CQ-ALW2026-<hash>" into out; cbec_allow_parse the reverse (0, or -1
 * when id is no allowance). */
void cbec_allow_id(const char *home, int year, const char *hash,
                   char out[CBEC_ALLOW_ID_MAX]);
int cbec_allow_parse(const char *id, char home[3], int *year,
                     char hash[CBEC_HASH_HEX + 1]);

/* What a parcel counts against the allowance: the inventory list's
 * goods values plus its freight and insurance (完税价格), in thousandths
 * of CNY. ERR_INVALID when it is in another currency or has no goods. */
int cbec_amount(const model_record *inventory, uint64_t *out, err_t *e);

/* The VAT and consumption tax of the inventory list's goods at share
 * percent of the statutory rates (docs/cbec.md, "Tax"): each line's value
 * plus its share of the freight and insurance, at the rates of the
 * longest matching HS prefix; in thousandths of CNY, rounded to the fen.
 * ERR_INVALID as cbec_amount; ERR_CONFIG when no rate applies. */
int cbec_tax(const cbec_limits *l, const model_record *inventory,
             uint32_t share, uint64_t *out, err_t *e);

/* The ledger the home opens for allowance id (cbec_allow_parse's form):
 * kind cbec_allowance, usage value, valid through its year (China
 * Standard Time), one line worth the year's limit; strings in a. */
int cbec_allow_permit(const char *id, const cbec_limits *l, arena_t *a,
                      pm_permit *out, err_t *e);

#endif
