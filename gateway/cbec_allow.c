#include "cbec_allow.h"

#include <math.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ydoc.h"

#define CA_LIMITS_FILE "codes/cbec_limits.yaml"
#define CA_REGIONS_FILE "codes/cn_id_region.yaml"
#define CA_RATES_FILE "codes/cbec_tax_rates.yaml"
#define CA_ARENA (1u << 20)

/* ---- the code lists ---- */

static const ynode *ca__codes(const ydoc *d, err_t *e)
{
    const ynode *c = d->root ? ydoc_get(d->root, "codes") : NULL;
    if (!c || c->type != YD_MAP) {
        ydoc_err(d, c ? c : d->root, e, ERR_CONFIG, "a code list needs 'codes'");
        return NULL;
    }
    return c;
}

/* A whole number of yuan, as thousandths. */
static int ca__yuan(const ydoc *d, const ynode *k, uint64_t *out, err_t *e)
{
    char *end;
    unsigned long long v = k && k->type == YD_SCALAR ? strtoull(k->value, &end, 10) : 0;
    if (!k || k->type != YD_SCALAR || !k->value[0] || *end || v == 0 ||
        v > 1000000000ULL)
        return ydoc_err(d, k ? k : d->root, e, ERR_CONFIG, "%s: want a whole "
                        "number of yuan (1 to 1000000000)", k ? k->key : "limit");
    *out = (uint64_t)v * 1000;
    return 0;
}

/* A whole number lo..hi into *out. */
static int ca__uint(const ydoc *d, const ynode *k, uint32_t lo, uint32_t hi,
                    uint32_t *out, err_t *e)
{
    char *end;
    unsigned long v = k && k->type == YD_SCALAR ? strtoul(k->value, &end, 10) : 0;
    if (!k || k->type != YD_SCALAR || !k->value[0] || *end || v < lo || v > hi)
        return ydoc_err(d, k ? k : d->root, e, ERR_CONFIG, "%s: want a whole "
                        "number from %u to %u", k ? k->key : "value", lo, hi);
    *out = (uint32_t)v;
    return 0;
}

static int ca__limits(const ydoc *d, cbec_limits *l, err_t *e)
{
    const ynode *c = ca__codes(d, e), *o;
    if (!c)
        return e->code;
    int rc = ca__yuan(d, ydoc_get(c, "per_transaction"), &l->per_tx, e);
    if (rc == 0)
        rc = ca__yuan(d, ydoc_get(c, "per_year"), &l->per_year, e);
    if (rc == 0)
        rc = ca__uint(d, ydoc_get(c, "tax_share"), 0, 100, &l->tax_share, e);
    if (rc == 0 && (o = ydoc_get(c, "over_limit")) && o->type == YD_SCALAR &&
        (!strcmp(o->value, "refuse") || !strcmp(o->value, "general_trade")))
        l->over_general = !strcmp(o->value, "general_trade");
    else if (rc == 0)
        rc = ydoc_err(d, o ? o : c, e, ERR_CONFIG, "over_limit: want refuse or "
                      "general_trade");
    return rc;
}

/* "VAT CONSUMPTION" in percent; consumption below 100. */
static int ca__rates(const ydoc *d, cbec_limits *l, err_t *e)
{
    const ynode *c = ca__codes(d, e);
    if (!c)
        return e->code;
    for (const ynode *k = c->kids; k; k = k->next) {
        cbec_rate *r = &l->rates[l->nrates];
        int all = !strcmp(k->key, "*"), len = (int)strlen(k->key);
        int ok = all || (len >= 1 && len <= 10);
        for (int i = 0; !all && ok && i < len; i++)
            ok = k->key[i] >= '0' && k->key[i] <= '9';
        char tail;
        if (!ok || l->nrates == CBEC_RATES_MAX || k->type != YD_SCALAR ||
            sscanf(k->value, "%u %u %c", &r->vat, &r->cons, &tail) != 2 ||
            r->vat > 100 || r->cons >= 100)
            return ydoc_err(d, k, e, ERR_CONFIG, "%s: want an HS code prefix (or "
                            "*): \"VAT CONSUMPTION\" in percent", k->key);
        snprintf(r->hs, sizeof r->hs, "%s", all ? "" : k->key);
        l->nrates++;
    }
    return 0;
}

static int ca__regions(const ydoc *d, cbec_limits *l, err_t *e)
{
    const ynode *c = ca__codes(d, e);
    if (!c)
        return e->code;
    for (const ynode *k = c->kids; k; k = k->next) {
        int ok = strlen(k->key) == 2 && k->key[0] >= '0' && k->key[0] <= '9' &&
                 k->key[1] >= '0' && k->key[1] <= '9' && k->type == YD_SCALAR &&
                 strlen(k->value) == 2 && k->value[0] >= 'A' &&
                 k->value[0] <= 'Z' && k->value[1] >= 'A' && k->value[1] <= 'Z';
        if (!ok || l->nregions == CBEC_REGIONS_MAX)
            return ydoc_err(d, k, e, ERR_CONFIG, "%s: want two digits: a "
                            "region of 2 upper-case letters (at most %d rows)",
                            k->key, CBEC_REGIONS_MAX);
        memcpy(l->prefix[l->nregions], k->key, 3);
        memcpy(l->region[l->nregions++], k->value, 3);
    }
    return 0;
}

static int ca__load(const char *dir, const char *file, cbec_limits *l,
                    int (*fn)(const ydoc *, cbec_limits *, err_t *), err_t *e)
{
    char path[4096];
    arena_t a;
    ydoc d;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    arena_init(&a, CA_ARENA);
    int rc = ydoc_load_file(path, &a, &d, e);
    if (rc == 0)
        rc = fn(&d, l, e);
    arena_free(&a);
    return rc;
}

int cbec_limits_load(const char *mappings_dir, cbec_limits *out, err_t *e)
{
    memset(out, 0, sizeof *out);
    int rc = ca__load(mappings_dir, CA_LIMITS_FILE, out, ca__limits, e);
    if (rc == 0)
        rc = ca__load(mappings_dir, CA_REGIONS_FILE, out, ca__regions, e);
    return rc ? rc : ca__load(mappings_dir, CA_RATES_FILE, out, ca__rates, e);
}

const char *cbec_home_of(const cbec_limits *l, const char *id)
{
    for (size_t i = 0; id && strlen(id) >= 2 && i < l->nregions; i++)
        if (!strncmp(id, l->prefix[i], 2))
            return l->region[i];
    return NULL;
}

/* ---- the key and the hash ---- */

int cbec_key_load(const char *path, const char *what, size_t min, size_t max,
                  unsigned char *key, size_t *n, err_t *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, ERR_IO, "%s: cannot read the %s", path, what);
    size_t k = fread(key, 1, max, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    if (k < min || more)
        return min == max
                   ? err_set(e, ERR_CONFIG, "%s: the %s is exactly %zu bytes "
                             "(openssl rand %zu > FILE)", path, what, min, min)
                   : err_set(e, ERR_CONFIG, "%s: the %s must be %zu to %zu "
                             "bytes (openssl rand 32 > FILE)", path, what, min, max);
    *n = k;
    return 0;
}

int cbec_id_key_load(const char *path, unsigned char *key, size_t *n, err_t *e)
{
    return cbec_key_load(path, "identity key", CBEC_KEY_MIN, CBEC_KEY_MAX, key, n, e);
}

int cbec_id_hash(const unsigned char *key, size_t klen, const char *id,
                 char out[CBEC_HASH_HEX + 1], err_t *e)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdn = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)id,
              strlen(id), md, &mdn) || mdn < CBEC_HASH_HEX / 2)
        return err_set(e, ERR_INVALID, "cbec: cannot hash an identity number");
    for (int i = 0; i < CBEC_HASH_HEX / 2; i++)
        snprintf(out + 2 * i, 3, "%02X", md[i]);
    return 0;
}

/* ---- allowance ids ---- */

int cbec_year(int64_t ms)
{
    time_t t = (time_t)(ms / 1000 + 8 * 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm.tm_year + 1900;
}

void cbec_allow_id(const char *home, int year, const char *hash,
                   char out[CBEC_ALLOW_ID_MAX])
{
    snprintf(out, CBEC_ALLOW_ID_MAX, "%.2s-ALW%04d-%.32s", home, year, hash);
}

int cbec_allow_parse(const char *id, char home[3], int *year,
                     char hash[CBEC_HASH_HEX + 1])
{
    if (strlen(id) != 11 + CBEC_HASH_HEX || strncmp(id + 2, "-ALW", 4) ||
        id[10] != '-')
        return -1;
    for (int i = 0; i < 4; i++)
        if (id[6 + i] < '0' || id[6 + i] > '9')
            return -1;
    for (int i = 0; i < CBEC_HASH_HEX; i++)
        if (!strchr("0123456789ABCDEF", id[11 + i]) || !id[11 + i])
            return -1;
    memcpy(home, id, 2), home[2] = '\0';
    *year = atoi(id + 6);
    memcpy(hash, id + 11, CBEC_HASH_HEX + 1);
    return 0;
}

/* ---- amounts and the ledger ---- */

static uint64_t ca__k(double v)
{
    return v > 0 ? (uint64_t)llround(v * 1000) : 0;
}

int cbec_amount(const model_record *r, uint64_t *out, err_t *e)
{
    const char *cur = r->cbec.currency;
    if (!cur || strcmp(cur, "CNY"))
        return err_set(e, ERR_INVALID, "cbec: the inventory list's amounts are "
                       "in %s: the allowance is counted in CNY", cur ? cur : "no currency");
    if (!r->goods.n)
        return err_set(e, ERR_INVALID, "cbec: the inventory list has no goods");
    uint64_t t = ca__k(r->cbec.freight.v) + ca__k(r->cbec.insured_fee.v);
    for (uint32_t i = 0; i < r->goods.n; i++)
        t += ca__k(r->goods.v[i].value.v);
    *out = t;
    return 0;
}

/* The rates of the longest prefix of hs that has a row ("" for none). */
static const cbec_rate *ca__rate(const cbec_limits *l, const char *hs)
{
    const cbec_rate *best = NULL;
    for (size_t i = 0; i < l->nrates; i++) {
        size_t n = strlen(l->rates[i].hs);
        if ((!best || n > strlen(best->hs)) && (!n || (hs && !strncmp(hs, l->rates[i].hs, n))))
            best = &l->rates[i];
    }
    return best;
}

/* A line's tax in millionths of CNY: value v of goods worth sum in all,
 * with extra (freight, insurance) shared by value, at rate r and share:
 * v (sum + extra) / sum * (cons + vat) / (100 - cons) * share / 100 (the
 * consumption tax is levied on the price with the tax in it, VAT on the
 * price with the consumption tax), exact in 128 bits. */
static uint64_t ca__line_tax(uint64_t v, uint64_t sum, uint64_t extra,
                             const cbec_rate *r, uint32_t share)
{
    unsigned __int128 num = (unsigned __int128)v * (sum + extra) *
                            (r->cons + r->vat) * share * 1000;
    unsigned __int128 den = (unsigned __int128)sum * (100 - r->cons) * 100;
    return (uint64_t)(num / den);
}

int cbec_tax(const cbec_limits *l, const model_record *inv, uint32_t share,
             uint64_t *out, err_t *e)
{
    uint64_t sum = 0, micro = 0, all;
    int rc = cbec_amount(inv, &all, e);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < inv->goods.n; i++)
        sum += ca__k(inv->goods.v[i].value.v);
    if (!sum) {
        *out = 0;
        return 0;
    }
    for (uint32_t i = 0; i < inv->goods.n; i++) {
        const cbec_rate *r = ca__rate(l, inv->goods.v[i].hs_code);
        if (!r)
            return err_set(e, ERR_CONFIG, "cbec: no tax rate for HS code %s "
                           "(code list cbec_tax_rates has no row for it, nor *)",
                           inv->goods.v[i].hs_code ? inv->goods.v[i].hs_code : "-");
        micro += ca__line_tax(ca__k(inv->goods.v[i].value.v), sum, all - sum, r, share);
    }
    *out = (micro + 5000) / 10000 * 10; /* to the fen, half up */
    return 0;
}

int cbec_allow_permit(const char *id, const cbec_limits *l, arena_t *a,
                      pm_permit *out, err_t *e)
{
    char home[3], hash[CBEC_HASH_HEX + 1], from[16], to[16];
    int year;
    if (cbec_allow_parse(id, home, &year, hash) < 0)
        return err_set(e, ERR_INVALID, "cbec: '%s' is no allowance id", id);
    memset(out, 0, sizeof *out);
    snprintf(from, sizeof from, "%04d-01-01", year);
    snprintf(to, sizeof to, "%04d-12-31", year);
    int rc = pmrec_time(from, 0, &out->from_ms, e);
    if (rc == 0)
        rc = pmrec_time(to, 1, &out->to_ms, e);
    out->id = arena_strdup(a, id);
    out->number = out->id ? out->id + 3 : NULL;
    out->holder_id = arena_strdup(a, hash);
    out->region = arena_strdup(a, home);
    if (rc || !out->id || !out->holder_id || !out->region)
        return rc ? rc : err_set(e, ERR_NOMEM, "cbec: out of memory");
    out->kind = "cbec_allowance", out->usage = "value", out->status = "valid";
    out->authority = "CBEC";
    out->lines[0] = (pm_line){.line = 1, .currency = "CNY", .value = l->per_year};
    out->nlines = 1;
    return 0;
}
