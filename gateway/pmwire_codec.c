/* pmwire_codec: the two wire forms of permit operations (pmwire.h), their
 * field rules, their writer and their strict reader.
 *
 * Each form has one key table that both the writer and the reader walk,
 * so the order the writer uses is by construction the order the reader
 * demands (as mvev.c does). The writer is msgpack-c's packer (shortest
 * forms), the reader mpread (every length checked against its cap and the
 * bytes left before anything is copied, shortest forms only), so decode
 * then encode gives back the very bytes the home signed: the requester
 * keeps them as evidence. */
#include "pmwire.h"

#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mpread.h"
#include "msgid.h"
#include "utf8.h"

typedef enum { PMK_V, PMK_OP, PMK_CODE, PMK_STR, PMK_U64, PMK_LINES } pm__kind;
/* What a string must be: any printable UTF-8, a reservation key (ASCII,
 * no space: it becomes part of store keys), a permit id, a message id;
 * PMR_NONE for keys that are not strings. */
typedef enum { PMR_NONE, PMR_TEXT, PMR_TOKEN, PMR_ID, PMR_MSGID } pm__rule;

/* One key. name comes first: mpread_key reads the table by it. off is
 * the field's in pm_req / pm_ans; for lines, noff is the count's. */
typedef struct pm__key {
    const char *name;
    pm__kind kind;
    pm__rule rule;
    int need;    /* always required */
    size_t off, max, noff;
} pm__key;

typedef struct pm__form {
    const char *what;  /* how messages start */
    const pm__key *keys;
    size_t n;
    int draw;          /* lines must draw something (requests) */
} pm__form;

#define QF(f) offsetof(pm_req, f)
#define AF(f) offsetof(pm_ans, f)
#define PM__N(t) (sizeof t / sizeof t[0])

static const pm__key pm__req_keys[] = {
    {"v", PMK_V, PMR_NONE, 1, 0, 0, 0},
    {"id", PMK_STR, PMR_MSGID, 0, QF(id), MSGID_LEN, 0},
    {"op", PMK_OP, PMR_NONE, 1, QF(op), 0, 0},
    {"permit", PMK_STR, PMR_ID, 1, QF(permit), PM_ID_MAX, 0},
    {"key", PMK_STR, PMR_TOKEN, 0, QF(key), PM_KEY_MAX, 0},
    {"lines", PMK_LINES, PMR_NONE, 0, QF(lines), 0, QF(nlines)},
    {"holder", PMK_STR, PMR_TEXT, 0, QF(holder), PM_STR_MAX, 0},
    {"at", PMK_U64, PMR_NONE, 1, QF(at_ms), 0, 0},
};

static const pm__key pm__ans_keys[] = {
    {"v", PMK_V, PMR_NONE, 1, 0, 0, 0},
    {"req", PMK_STR, PMR_MSGID, 1, AF(req), MSGID_LEN, 0},
    {"op", PMK_OP, PMR_NONE, 1, AF(op), 0, 0},
    {"permit", PMK_STR, PMR_ID, 1, AF(permit), PM_ID_MAX, 0},
    {"key", PMK_STR, PMR_TOKEN, 0, AF(key), PM_KEY_MAX, 0},
    {"code", PMK_CODE, PMR_NONE, 1, AF(code), 0, 0},
    {"text", PMK_STR, PMR_TEXT, 0, AF(text), PM_TEXT_MAX, 0},
    {"status", PMK_STR, PMR_TEXT, 0, AF(status), PM_STR_MAX, 0},
    {"kind", PMK_STR, PMR_TEXT, 0, AF(kind), PM_STR_MAX, 0},
    {"usage", PMK_STR, PMR_TEXT, 0, AF(usage), PM_STR_MAX, 0},
    {"from", PMK_U64, PMR_NONE, 0, AF(from_ms), 0, 0},
    {"to", PMK_U64, PMR_NONE, 0, AF(to_ms), 0, 0},
    {"rsv", PMK_STR, PMR_TEXT, 0, AF(rsv), PM_STR_MAX, 0},
    {"lines", PMK_LINES, PMR_NONE, 0, AF(left), 0, AF(nleft)},
    {"at", PMK_U64, PMR_NONE, 1, AF(at_ms), 0, 0},
};

static const pm__form pm__req_form = {"permit request", pm__req_keys,
                                      PM__N(pm__req_keys), 1};
static const pm__form pm__ans_form = {"permit answer", pm__ans_keys,
                                      PM__N(pm__ans_keys), 0};

/* ---- fields by key ---- */

/* The field at off of a pm_req or pm_ans: the writer and the rules read
 * it, the reader fills it. */
static void *pm__field(const void *base, size_t off)
{
    return (char *)base + off;
}

static const char **pm__strp(const void *base, const pm__key *k)
{
    return pm__field(base, k->off);
}

static uint64_t *pm__u64p(const void *base, const pm__key *k)
{
    return pm__field(base, k->off);
}

static uint32_t *pm__countp(const void *base, const pm__key *k)
{
    return pm__field(base, k->noff);
}

static pm_amount *pm__linesp(const void *base, const pm__key *k)
{
    return pm__field(base, k->off);
}

/* "Present only when set": what the writer leaves out. */
static int pm__has(const void *base, const pm__key *k)
{
    switch (k->kind) {
    case PMK_STR: return *pm__strp(base, k) != NULL;
    case PMK_U64: return *pm__u64p(base, k) > 0;
    case PMK_LINES: return *pm__countp(base, k) > 0;
    default: return 1;
    }
}

/* ---- field rules ---- */

/* "permit request: key \"lines\" entry 2: <why>"; entry 0: none. */
static int pm__bad(err_t *e, const pm__form *f, const char *key,
                   uint32_t entry, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int pm__bad(err_t *e, const pm__form *f, const char *key,
                   uint32_t entry, const char *fmt, ...)
{
    char why[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (entry)
        return err_set(e, ERR_INVALID, "%s: key \"%s\" entry %u: %s",
                       f->what, key, entry, why);
    return err_set(e, ERR_INVALID, "%s: key \"%s\": %s", f->what, key, why);
}

/* 1 to max bytes of printable UTF-8, or (token) of printable ASCII
 * without space. */
static int pm__text(err_t *e, const pm__form *f, const pm__key *k,
                    const char *s)
{
    int token = k->rule == PMR_TOKEN;
    size_t n = strnlen(s, k->max + 1);
    if (n == 0)
        return pm__bad(e, f, k->name, 0, "empty (leave it out instead)");
    if (n > k->max)
        return pm__bad(e, f, k->name, 0, "more than %zu bytes", k->max);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        int len = token ? c > 0x20 && c < 0x7f
                        : utf8_printable((const unsigned char *)s + i);
        if (!len)
            return pm__bad(e, f, k->name, 0, "byte %zu (0x%02x) is not %s",
                           i + 1, c, token ? "printable ASCII without "
                           "spaces" : "printable UTF-8");
        i += (size_t)len;
    }
    return 0;
}

static int pm__str(err_t *e, const pm__form *f, const pm__key *k,
                   const char *s)
{
    err_t sub;
    if (k->rule == PMR_ID && pm_id_check(s, &sub))
        return pm__bad(e, f, k->name, 0, "%s", sub.msg);
    if (k->rule == PMR_MSGID && msgid_parse(s, NULL, &sub))
        return pm__bad(e, f, k->name, 0, "%s", sub.msg);
    if (k->rule == PMR_TEXT || k->rule == PMR_TOKEN)
        return pm__text(e, f, k, s);
    return 0;
}

/* Line numbers distinct; a request's lines each draw something. */
static int pm__lines(err_t *e, const pm__form *f, const pm__key *k,
                     const void *base)
{
    const pm_amount *l = pm__linesp(base, k);
    uint32_t n = *pm__countp(base, k);
    if (n > PM_LINES_MAX)
        return pm__bad(e, f, k->name, 0, "%u lines, more than %d", n,
                       PM_LINES_MAX);
    for (uint32_t i = 0; i < n; i++) {
        if (f->draw && !l[i].qty && !l[i].value)
            return pm__bad(e, f, k->name, i + 1, "line %u draws nothing (a "
                           "quantity or a value above 0 is needed)",
                           l[i].line);
        for (uint32_t j = 0; j < i; j++)
            if (l[j].line == l[i].line)
                return pm__bad(e, f, k->name, i + 1, "line %u appears "
                               "twice (entry %u too)", l[i].line, j + 1);
    }
    return 0;
}

static int pm__val_ok(err_t *e, const pm__form *f, const pm__key *k,
                      const void *base)
{
    int v;
    switch (k->kind) {
    case PMK_OP:
        v = (int)*(const pm_op *)pm__field(base, k->off);
        return v > 0 && v < PM_OP_END ? 0 : pm__bad(e, f, k->name, 0,
                                  "unknown operation %d", v);
    case PMK_CODE:
        v = (int)*(const pm_code *)pm__field(base, k->off);
        return v >= 0 && v < PM_C_END ? 0 : pm__bad(e, f, k->name, 0,
                                  "unknown code %d", v);
    case PMK_STR: return pm__str(e, f, k, *pm__strp(base, k));
    case PMK_LINES: return pm__lines(e, f, k, base);
    default: return 0;
    }
}

/* What every key of form f says about itself: required ones present,
 * each set one well formed. */
static int pm__fields(err_t *e, const pm__form *f, const void *base)
{
    for (size_t i = 1; i < f->n; i++) {
        const pm__key *k = &f->keys[i];
        if (!pm__has(base, k)) {
            if (k->need)
                return pm__bad(e, f, k->name, 0, "required");
            continue;
        }
        int rc = pm__val_ok(e, f, k, base);
        if (rc)
            return rc;
    }
    return 0;
}

static int pm__in(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

int pm_req_validate(const pm_req *q, err_t *e)
{
    const pm__form *f = &pm__req_form;
    if (!q)
        return err_set(e, ERR_INVALID, "%s: missing", f->what);
    int rc = pm__fields(e, f, q);
    if (rc)
        return rc;
    if (!q->key && q->op != PM_OP_VERIFY)
        return pm__bad(e, f, "key", 0, "required for %s",
                       pm_op_name(q->op));
    if (!q->nlines && (q->op == PM_OP_RESERVE || q->op == PM_OP_RETURN))
        return pm__bad(e, f, "lines", 0, "required for %s (what to %s)",
                       pm_op_name(q->op), q->op == PM_OP_RESERVE ? "hold"
                                                                 : "give back");
    return 0;
}

static const char *const pm__statuses[] = {"valid", "suspended", "revoked",
                                           "exhausted", "expired", NULL};
static const char *const pm__rsvs[] = {"reserved", "confirmed", "cancelled",
                                       "expired", NULL};

int pm_ans_validate(const pm_ans *a, err_t *e)
{
    const pm__form *f = &pm__ans_form;
    if (!a)
        return err_set(e, ERR_INVALID, "%s: missing", f->what);
    int rc = pm__fields(e, f, a);
    if (rc)
        return rc;
    if (a->code == PM_C_OK && a->text)
        return pm__bad(e, f, "text", 0, "not used when the code is ok");
    if (a->code != PM_C_OK && !a->text)
        return pm__bad(e, f, "text", 0, "required with code %s",
                       pm_code_name(a->code));
    if (a->status && !pm__in(a->status, pm__statuses))
        return pm__bad(e, f, "status", 0, "'%s' is not valid, suspended, "
                       "revoked, exhausted or expired", a->status);
    /* home-unreachable is the requester's own verdict (answer_timeout_s):
     * it cannot know the permit's status */
    if (!a->status && a->code != PM_C_UNKNOWN &&
        a->code != PM_C_BAD_REQUEST && a->code != PM_C_UNREACHABLE)
        return pm__bad(e, f, "status", 0, "required with code %s (left out "
                       "only for unknown-permit, bad-request and "
                       "home-unreachable)", pm_code_name(a->code));
    if (a->rsv && !pm__in(a->rsv, pm__rsvs))
        return pm__bad(e, f, "rsv", 0, "'%s' is not reserved, confirmed, "
                       "cancelled or expired", a->rsv);
    return 0;
}

/* ---- writing: msgpack-c's packer over the caller's capped buffer ---- */

static int pm__write(void *data, const char *p, size_t n)
{
    return buf_add(data, p, n) ? -1 : 0;
}

static int pm__pstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

/* [[line, qty, value], ...] */
static int pm__plines(msgpack_packer *pk, const pm_amount *l, uint32_t n)
{
    int bad = msgpack_pack_array(pk, n);
    for (uint32_t i = 0; !bad && i < n; i++)
        bad = msgpack_pack_array(pk, 3) ||
              msgpack_pack_uint32(pk, l[i].line) ||
              msgpack_pack_uint64(pk, l[i].qty) ||
              msgpack_pack_uint64(pk, l[i].value);
    return bad;
}

static int pm__pval(msgpack_packer *pk, const void *base, const pm__key *k)
{
    const void *f = pm__field(base, k->off);
    switch (k->kind) {
    case PMK_V: return msgpack_pack_uint32(pk, PMWIRE_VERSION);
    case PMK_OP: return pm__pstr(pk, pm_op_name(*(const pm_op *)f));
    case PMK_CODE: return pm__pstr(pk, pm_code_name(*(const pm_code *)f));
    case PMK_STR: return pm__pstr(pk, *pm__strp(base, k));
    case PMK_U64: return msgpack_pack_uint64(pk, *pm__u64p(base, k));
    case PMK_LINES:
        return pm__plines(pk, pm__linesp(base, k), *pm__countp(base, k));
    }
    return -1;
}

static int pm__encode(const pm__form *f, const void *base,
                      const char *permit, buf_t *out, err_t *e)
{
    size_t start = out->len, nkeys = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, pm__write);
    for (size_t i = 0; i < f->n; i++)
        nkeys += (size_t)pm__has(base, &f->keys[i]);
    int bad = msgpack_pack_map(&pk, nkeys);
    for (size_t i = 0; !bad && i < f->n; i++)
        if (pm__has(base, &f->keys[i]))
            bad = pm__pstr(&pk, f->keys[i].name) ||
                  pm__pval(&pk, base, &f->keys[i]);
    size_t n = out->len - start;
    if (!bad && n <= PM_MAX_BYTES)
        return 0;
    out->len = start; /* nothing half written left behind */
    if (out->p)
        out->p[start] = '\0';
    if (!bad)
        return err_set(e, ERR_TOOBIG, "%s of %s: %zu bytes, %d at most",
                       f->what, permit, n, PM_MAX_BYTES);
    return err_set(e, ERR_TOOBIG, "%s of %s: cannot write it: buffer full "
                   "(%zu bytes at most) or out of memory", f->what, permit,
                   out->max);
}

int pm_req_encode(const pm_req *q, buf_t *out, err_t *e)
{
    int rc = pm_req_validate(q, e);
    return rc ? rc : pm__encode(&pm__req_form, q, q->permit, out, e);
}

int pm_ans_encode(const pm_ans *a, buf_t *out, err_t *e)
{
    int rc = pm_ans_validate(a, e);
    return rc ? rc : pm__encode(&pm__ans_form, a, a->permit, out, e);
}

/* ---- reading: mpread, keys in table order ---- */

static int pm__dlines(mpread *r, pm_amount *l, uint32_t *n)
{
    int rc = mpread_array(r, 1, PM_LINES_MAX, n);
    for (uint32_t i = 0; !rc && i < *n; i++) {
        uint32_t three;
        uint64_t line = 0;
        r->entry = i + 1;
        rc = mpread_array(r, 3, 3, &three);
        rc = rc ? rc : mpread_uint(r, UINT32_MAX, &line);
        rc = rc ? rc : mpread_uint(r, UINT64_MAX, &l[i].qty);
        rc = rc ? rc : mpread_uint(r, UINT64_MAX, &l[i].value);
        l[i].line = (uint32_t)line;
    }
    return rc;
}

/* An operation or a code, by its name. */
static int pm__dname(mpread *r, const pm__key *k, void *base)
{
    char name[32];
    int rc = mpread_str_into(r, name, sizeof name);
    void *f = pm__field(base, k->off);
    if (rc)
        return rc;
    if (k->kind == PMK_OP && pm_op_parse(name, f))
        return mpread_fail(r, ERR_INVALID, "unknown operation \"%s\"", name);
    if (k->kind == PMK_CODE && pm_code_parse(name, f))
        return mpread_fail(r, ERR_INVALID, "unknown code \"%s\"", name);
    return 0;
}

static int pm__dval(mpread *r, const pm__key *k, arena_t *a, void *base)
{
    switch (k->kind) {
    case PMK_OP:
    case PMK_CODE: return pm__dname(r, k, base);
    case PMK_STR: return mpread_str(r, k->max, a, pm__strp(base, k));
    case PMK_U64: return mpread_count(r, UINT64_MAX, pm__u64p(base, k));
    case PMK_LINES:
        return pm__dlines(r, pm__linesp(base, k), pm__countp(base, k));
    case PMK_V: break; /* never: mpread_key refuses "v" after the first */
    }
    return mpread_fail(r, ERR_INVALID, "unexpected key");
}

/* A required key left out: op and code have no "unset" value for the
 * field rules to catch (code 0 is ok). */
static int pm__missing(const pm__form *f, uint32_t seen, err_t *e)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->keys[i].need && !(seen & (1u << i)))
            return err_set(e, ERR_INVALID, "%s: key \"%s\": required",
                           f->what, f->keys[i].name);
    return 0;
}

/* "permit request: key \"lines\" entry 2", as the field rules say it. */
static void pm__where(const mpread *r, char *buf, size_t n)
{
    if (!r->key)
        snprintf(buf, n, "%s", r->what);
    else if (r->entry < 0)
        snprintf(buf, n, "%s: key \"%s\"", r->what, r->key);
    else
        snprintf(buf, n, "%s: key \"%s\" entry %u", r->what, r->key,
                 (unsigned)r->entry);
}

static int pm__decode(const pm__form *f, const void *p, size_t n,
                      arena_t *a, void *base, err_t *e)
{
    if (n > PM_MAX_BYTES)
        return err_set(e, ERR_TOOBIG, "%s: %zu bytes, %d at most", f->what,
                       n, PM_MAX_BYTES);
    mpread r;
    mpread_init(&r, p, n, f->what, e);
    r.where = pm__where;
    uint64_t nkeys = 0;
    int rc = mpread_map_v(&r, f->keys, sizeof f->keys[0], f->n,
                          PMWIRE_VERSION, &nkeys);
    size_t after = 1, k = 0;
    uint32_t seen = 1;
    for (uint64_t i = 1; !rc && i < nkeys; i++) {
        rc = mpread_key(&r, f->keys, sizeof f->keys[0], f->n, after, &k);
        rc = rc ? rc : pm__dval(&r, &f->keys[k], a, base);
        seen |= 1u << k;
        after = k + 1;
    }
    rc = rc ? rc : mpread_done(&r, "map");
    return rc ? rc : pm__missing(f, seen, e);
}

int pm_req_decode(const void *p, size_t n, arena_t *a, pm_req *out,
                  err_t *e)
{
    memset(out, 0, sizeof *out);
    int rc = pm__decode(&pm__req_form, p, n, a, out, e);
    return rc ? rc : pm_req_validate(out, e);
}

int pm_ans_decode(const void *p, size_t n, arena_t *a, pm_ans *out,
                  err_t *e)
{
    memset(out, 0, sizeof *out);
    int rc = pm__decode(&pm__ans_form, p, n, a, out, e);
    return rc ? rc : pm_ans_validate(out, e);
}

/* ---- batches ---- */

int pm_batch_encode(const pm_item *items, size_t k, buf_t *out, err_t *e)
{
    if (k < 1 || k > PM_BATCH_MAX)
        return err_set(e, ERR_INVALID, "permit batch: %zu items (1 to %d)",
                       k, PM_BATCH_MAX);
    size_t mark = out->len;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, pm__write);
    int rc = msgpack_pack_array(&pk, k);
    for (size_t i = 0; !rc && i < k; i++) {
        if (items[i].n > PM_MAX_BYTES || !items[i].n)
            rc = -2;
        else
            rc = msgpack_pack_bin(&pk, items[i].n) ||
                 msgpack_pack_bin_body(&pk, items[i].p, items[i].n);
    }
    if (rc) {
        out->len = mark;
        return err_set(e, rc == -2 ? ERR_TOOBIG : ERR_NOMEM, "permit batch: "
                       "%s", rc == -2 ? "an item is empty or past its cap"
                                      : "no room");
    }
    return 0;
}

int pm_batch_split(const void *p, size_t n, pm_item *items, size_t max,
                   size_t *k, err_t *e)
{
    mpread r;
    uint32_t cnt = 0;
    *k = 0;
    if (n > PM_BATCH_MAX_BYTES)
        return err_set(e, ERR_TOOBIG, "permit batch: %zu bytes, %d at most",
                       n, PM_BATCH_MAX_BYTES);
    mpread_init(&r, p, n, "permit batch", e);
    int rc = mpread_array(&r, 1, PM_BATCH_MAX, &cnt);
    if (!rc && cnt > max)
        rc = mpread_fail(&r, ERR_TOOBIG, "%u items, room for %zu", cnt, max);
    for (uint32_t i = 0; !rc && i < cnt; i++) {
        r.entry = i + 1;
        rc = mpread_bytes(&r, &MPREAD_BIN, PM_MAX_BYTES, &items[i].p,
                          &items[i].n);
    }
    rc = rc ? rc : mpread_done(&r, "array");
    if (!rc)
        *k = cnt;
    return rc;
}
