/* pmrec: permits and citations out of canonical records (pmrec.h). The
 * rules are docs/model.md's, "Permits". */
#include "pmrec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- times ---- */

#define PMREC__CST_MIN (8 * 60) /* China Standard Time, the default zone */
#define PMREC__DAY_MS 86400000ull
#define PMREC__FORMS "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS with Z, +hh:mm, " \
                     "-hh:mm or no offset (+08:00)"

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's
 * days_from_civil: no table, no loop, no time zone of the machine). */
static int64_t pmrec__days(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int pmrec__mdays(int y, int m)
{
    static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                              31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return n[m - 1] + (m == 2 && leap);
}

/* Whether s begins with pat, 'd' standing for any digit: checked before
 * any number is read, so nothing is read past a short string's NUL. */
static int pmrec__shape(const char *s, const char *pat)
{
    for (; *pat; s++, pat++)
        if (*pat == 'd' ? *s < '0' || *s > '9' : *s != *pat)
            return 0;
    return 1;
}

/* The n digits at s (their shape checked) as a number. */
static int pmrec__num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* "YYYY-MM-DD" at s: days since the epoch, or why not. */
static const char *pmrec__date(const char *s, int64_t *days)
{
    if (!pmrec__shape(s, "dddd-dd-dd"))
        return "not " PMREC__FORMS;
    int y = pmrec__num(s, 4), m = pmrec__num(s + 5, 2),
        d = pmrec__num(s + 8, 2);
    if (m < 1 || m > 12)
        return "no such month";
    if (d < 1 || d > pmrec__mdays(y, m))
        return "no such day";
    *days = pmrec__days(y, m, d);
    return NULL;
}

/* "", "Z", "+hh:mm" or "-hh:mm" at z: minutes east of UTC, or why not. */
static const char *pmrec__offset(const char *z, int *off)
{
    *off = PMREC__CST_MIN;
    if (!*z)
        return NULL;
    if (!strcmp(z, "Z")) {
        *off = 0;
        return NULL;
    }
    if ((*z != '+' && *z != '-') || !pmrec__shape(z + 1, "dd:dd") || z[6])
        return "not " PMREC__FORMS;
    int oh = pmrec__num(z + 1, 2), om = pmrec__num(z + 4, 2);
    if (oh > 23 || om > 59)
        return "no such offset";
    *off = (*z == '-' ? -1 : 1) * (oh * 60 + om);
    return NULL;
}

/* "HH:MM:SS" and an offset at s: seconds into the day in UTC terms (may
 * fall outside 0..86399), or why not. */
static const char *pmrec__clock(const char *s, int64_t *secs)
{
    if (!pmrec__shape(s, "dd:dd:dd"))
        return "not " PMREC__FORMS;
    int h = pmrec__num(s, 2), mi = pmrec__num(s + 3, 2),
        sec = pmrec__num(s + 6, 2), off;
    if (h > 23 || mi > 59 || sec > 59)
        return "no such time of day";
    const char *why = pmrec__offset(s + 8, &off);
    *secs = (int64_t)h * 3600 + mi * 60 + sec - (int64_t)off * 60;
    return why;
}

int pmrec_time(const char *s, int end, uint64_t *ms, err_t *e)
{
    int64_t days = 0, secs = -(int64_t)PMREC__CST_MIN * 60;
    const char *why = s ? pmrec__date(s, &days) : "missing";
    int date_only = !why && s[10] == '\0';
    if (!why && !date_only)
        why = s[10] == 'T' ? pmrec__clock(s + 11, &secs)
                           : "not " PMREC__FORMS;
    int64_t t = days * 86400 + secs;
    if (!why && t < 0)
        why = "before 1970";
    if (why)
        return err_set(e, ERR_INVALID, "time '%.40s': %s", s ? s : "", why);
    /* a date is a whole day: valid to 2026-12-31 is valid all that day */
    *ms = (uint64_t)t * 1000 + (date_only && end ? PMREC__DAY_MS - 1 : 0);
    return 0;
}

/* ---- amounts ---- */

/* A record's number in thousandths, rounded to the nearest: doubles hold
 * 12.5 exactly but 0.1 only nearly, so 0.1 * 1000 must round, not
 * truncate. Up to 2^53, where doubles still count by one. */
static int pmrec__amount(const char *path, double v, uint64_t *out,
                         err_t *e)
{
    const char *why = NULL;
    double t = round(v * 1000.0);
    if (!isfinite(v))
        why = "not a number";
    else if (v < 0)
        why = "negative";
    else if (t > 9007199254740992.0)
        why = "too large (at most 2^53 thousandths)";
    if (why)
        return err_set(e, ERR_INVALID, "%s: %.15g is %s", path, v, why);
    *out = (uint64_t)t;
    return 0;
}

/* A line number given as a record's number: a whole number from 1. */
static int pmrec__line_no(const char *path, double v, uint32_t *out,
                          err_t *e)
{
    if (!(v >= 1 && v <= UINT32_MAX && v == floor(v)))
        return err_set(e, ERR_INVALID, "%s: %.15g is not a line number "
                       "(1, 2, ...)", path, v);
    *out = (uint32_t)v;
    return 0;
}

/* ---- the permit as issued ---- */

static int pmrec__among(const char *v, const char *const *set)
{
    for (; v && *set; set++)
        if (!strcmp(v, *set))
            return 1;
    return 0;
}

/* path's value v, required to be one of set. */
static int pmrec__code(const char *path, const char *v,
                       const char *const *set, err_t *e)
{
    if (!v)
        return err_set(e, ERR_INVALID, "%s: missing", path);
    if (!pmrec__among(v, set))
        return err_set(e, ERR_INVALID, "%s: '%.60s' is not in its code "
                       "list (docs/model.md, Permits)", path, v);
    return 0;
}

/* id = region "-" the number upper-cased: authorities' systems and
 * clerks write the same number in either case; the federation keys by
 * one spelling. */
static int pmrec__id(const model_record *r, const char *region, arena_t *a,
                     pm_permit *out, err_t *e)
{
    const char *num = r->document.number;
    if (!num)
        return err_set(e, ERR_INVALID, "document.number: missing (the "
                       "permit's number)");
    size_t n = strnlen(num, PM_ID_MAX + 1);
    char *id = arena_alloc(a, n + 4);
    if (!id)
        return err_set(e, ERR_NOMEM, "permit: out of memory");
    snprintf(id, n + 4, "%.2s-%.*s", region, (int)n, num);
    for (char *p = id + 3; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    if (pm_id_check(id, e))
        return err_wrap(e, "document.number");
    out->id = id;
    out->number = num;
    return 0;
}

/* Its home: region, which the record may repeat but not contradict. */
static int pmrec__home(const model_record *r, const char *region,
                       arena_t *a, pm_permit *out, err_t *e)
{
    if (!region || strlen(region) != 2 || region[0] < 'A' ||
        region[0] > 'Z' || region[1] < 'A' || region[1] > 'Z')
        return err_set(e, ERR_INVALID, "region '%.8s': not a region code "
                       "(two letters A-Z)", region ? region : "");
    const char *own = r->permit.region;
    if (own && strcmp(own, region))
        return err_set(e, ERR_INVALID, "permit.region: '%.8s' is not this "
                       "node's region %s (a permit's home is where it is "
                       "issued)", own, region);
    out->region = arena_strdup(a, region);
    if (!out->region)
        return err_set(e, ERR_NOMEM, "permit: out of memory");
    return pmrec__id(r, region, a, out, e);
}

/* The one party of role holder, if any. */
static int pmrec__holder(const model_record *r, pm_permit *out, err_t *e)
{
    int seen = 0;
    for (uint32_t i = 0; i < r->parties.n; i++) {
        const model_party *p = &r->parties.v[i];
        if (!p->role || strcmp(p->role, "holder"))
            continue;
        if (seen++)
            return err_set(e, ERR_INVALID, "parties[%u]: a second holder "
                           "(a permit has one)", i);
        out->holder_id = p->id;
        out->holder_name = p->name;
    }
    return 0;
}

static int pmrec__head(const model_record *r, const char *region,
                       arena_t *a, pm_permit *out, err_t *e)
{
    if (!r->kind || strcmp(r->kind, "permit"))
        return err_set(e, ERR_INVALID, "kind: '%.20s' is not permit",
                       r->kind ? r->kind : "");
    int rc = pmrec__home(r, region, a, out, e);
    if (!rc)
        rc = pmrec__code("permit.kind", r->permit.kind, model_permit_kinds,
                         e);
    if (!rc)
        rc = pmrec__code("permit.usage", r->permit.usage,
                         model_permit_usages, e);
    out->status = r->permit.status ? r->permit.status : "valid";
    if (!rc)
        rc = pmrec__code("permit.status", out->status,
                         model_permit_statuses, e);
    out->kind = r->permit.kind;
    out->usage = r->permit.usage;
    out->authority = r->permit.authority;
    return rc ? rc : pmrec__holder(r, out, e);
}

static int pmrec__validity(const model_record *r, pm_permit *out, err_t *e)
{
    const char *from = r->permit.valid_from, *to = r->permit.valid_to;
    if (!from || !to)
        return err_set(e, ERR_INVALID, "%s: missing (a permit's validity "
                       "has both ends)",
                       from ? "permit.valid_to" : "permit.valid_from");
    if (pmrec_time(from, 0, &out->from_ms, e))
        return err_wrap(e, "permit.valid_from");
    if (pmrec_time(to, 1, &out->to_ms, e))
        return err_wrap(e, "permit.valid_to");
    if (out->to_ms < out->from_ms)
        return err_set(e, ERR_INVALID, "permit.valid_to: '%.40s' is before "
                       "permit.valid_from '%.40s'", to, from);
    return 0;
}

/* goods[i] as permit line i + 1 (or its seq). */
static int pmrec__line(const model_goods *g, uint32_t i, pm_line *l,
                       err_t *e)
{
    char path[48];
    int rc = 0;
    l->line = i + 1;
    snprintf(path, sizeof path, "goods[%u].seq", i);
    if (g->seq.set)
        rc = pmrec__line_no(path, g->seq.v, &l->line, e);
    snprintf(path, sizeof path, "goods[%u].quantity", i);
    if (!rc && g->quantity.set)
        rc = pmrec__amount(path, g->quantity.v, &l->qty, e);
    snprintf(path, sizeof path, "goods[%u].value", i);
    if (!rc && g->value.set)
        rc = pmrec__amount(path, g->value.v, &l->value, e);
    l->hs = g->hs_code;
    l->desc = g->description;
    l->unit = g->unit;
    l->currency = g->currency;
    return rc;
}

static int pmrec__lines(const model_record *r, pm_permit *out, err_t *e)
{
    if (!r->goods.n)
        return err_set(e, ERR_INVALID, "goods: none (a permit has at least "
                       "one line)");
    if (r->goods.n > PM_LINES_MAX)
        return err_set(e, ERR_INVALID, "goods: %u lines (a permit has at "
                       "most %d)", r->goods.n, PM_LINES_MAX);
    for (uint32_t i = 0; i < r->goods.n; i++) {
        pm_line *l = &out->lines[i];
        int rc = pmrec__line(&r->goods.v[i], i, l, e);
        if (rc)
            return rc;
        for (uint32_t j = 0; j < i; j++)
            if (out->lines[j].line == l->line)
                return err_set(e, ERR_INVALID, "goods[%u].seq: line %u "
                               "twice", i, l->line);
        out->nlines = i + 1;
    }
    return 0;
}

static int pmrec__same(const char *x, const char *y)
{
    return (!x && !y) || (x && y && !strcmp(x, y));
}

/* Line i of usage: a quantity (value) permit is drawn as a whole against
 * the sum of its lines, which must all have one and add up in one unit
 * (currency); a per_line permit draws each line against what it has. */
static int pmrec__usage_line(const pm_permit *p, uint32_t i, err_t *e)
{
    const pm_line *l = &p->lines[i], *l0 = &p->lines[0];
    if (!strcmp(p->usage, "quantity") && !l->qty)
        return err_set(e, ERR_INVALID, "goods[%u].quantity: missing or 0 "
                       "(usage quantity needs one on every line)", i);
    if (!strcmp(p->usage, "quantity") && !pmrec__same(l->unit, l0->unit))
        return err_set(e, ERR_INVALID, "goods[%u].unit: '%.8s' is not line "
                       "1's '%.8s' (usage quantity adds the lines up)", i,
                       l->unit ? l->unit : "", l0->unit ? l0->unit : "");
    if (!strcmp(p->usage, "value") && !l->value)
        return err_set(e, ERR_INVALID, "goods[%u].value: missing or 0 (usage "
                       "value needs one on every line)", i);
    if (!strcmp(p->usage, "value") &&
        !pmrec__same(l->currency, l0->currency))
        return err_set(e, ERR_INVALID, "goods[%u].currency: '%.8s' is not "
                       "line 1's '%.8s' (usage value adds the lines up)", i,
                       l->currency ? l->currency : "",
                       l0->currency ? l0->currency : "");
    if (!strcmp(p->usage, "per_line") && !l->qty && !l->value)
        return err_set(e, ERR_INVALID, "goods[%u]: no quantity or value "
                       "above 0 (usage per_line draws each line)", i);
    return 0;
}

int pmrec_permit(const model_record *r, const char *region, arena_t *a,
                 pm_permit *out, err_t *e)
{
    memset(out, 0, sizeof *out);
    int rc = pmrec__head(r, region, a, out, e);
    if (!rc)
        rc = pmrec__validity(r, out, e);
    if (!rc)
        rc = pmrec__lines(r, out, e);
    for (uint32_t i = 0; !rc && i < out->nlines; i++)
        rc = pmrec__usage_line(out, i, e);
    return rc;
}

/* ---- citations ---- */

/* permits[i] as an amount. Cited whole without amounts, a permit is used
 * once: quantity 1 (1000 thousandths) on line 0 (docs/model.md). */
static int pmrec__cited(const model_citation *c, uint32_t i, pm_amount *am,
                        err_t *e)
{
    char path[48];
    int rc = 0;
    memset(am, 0, sizeof *am);
    if (pm_id_check(c->id, e))
        return err_wrap(e, "permits[%u].id", i);
    snprintf(path, sizeof path, "permits[%u].line", i);
    if (c->line.set)
        rc = pmrec__line_no(path, c->line.v, &am->line, e);
    snprintf(path, sizeof path, "permits[%u].quantity", i);
    if (!rc && c->quantity.set)
        rc = pmrec__amount(path, c->quantity.v, &am->qty, e);
    snprintf(path, sizeof path, "permits[%u].value", i);
    if (!rc && c->value.set)
        rc = pmrec__amount(path, c->value.v, &am->value, e);
    if (!rc && !c->line.set && !c->quantity.set && !c->value.set)
        am->qty = 1000;
    if (!rc && !am->qty && !am->value)
        rc = err_set(e, ERR_INVALID, "permits[%u]: draws nothing (a "
                     "quantity or a value above 0 is needed%s)", i,
                     c->line.set ? " for a line" : "");
    return rc;
}

/* The request for id among out[0..*used), opened when new. */
static pm_req *pmrec__req(const char *id, uint32_t i, pm_req *out,
                          size_t max, size_t *used, err_t *e)
{
    for (size_t k = 0; k < *used; k++)
        if (!strcmp(out[k].permit, id))
            return &out[k];
    if (*used == max) {
        err_set(e, ERR_TOOBIG, "permits[%u]: more than %zu permits cited",
                i, max);
        return NULL;
    }
    pm_req *q = &out[(*used)++];
    memset(q, 0, sizeof *q);
    q->op = PM_OP_RESERVE;
    q->permit = id;
    return q;
}

/* Add am to q's line, keeping lines in ascending order: the same
 * citations in any order make the same request, which a home compares
 * when the request is repeated under its key. */
static int pmrec__draw(pm_req *q, const pm_amount *am, uint32_t i, err_t *e)
{
    uint32_t k = 0;
    while (k < q->nlines && q->lines[k].line < am->line)
        k++;
    if (k == q->nlines || q->lines[k].line != am->line) {
        if (q->nlines == PM_LINES_MAX)
            return err_set(e, ERR_TOOBIG, "permits[%u]: more than %d lines "
                           "of %s cited", i, PM_LINES_MAX, q->permit);
        memmove(&q->lines[k + 1], &q->lines[k],
                (q->nlines - k) * sizeof q->lines[0]);
        q->lines[k] = (pm_amount){am->line, 0, 0};
        q->nlines++;
    }
    pm_amount *l = &q->lines[k];
    if (l->qty > UINT64_MAX - am->qty || l->value > UINT64_MAX - am->value)
        return err_set(e, ERR_INVALID, "permits[%u]: the amounts cited of "
                       "%s line %u add up past 2^64", i, q->permit, l->line);
    l->qty += am->qty;
    l->value += am->value;
    return 0;
}

int pmrec_citations(const model_record *r, const char *key,
                    const char *holder, uint64_t at_ms, arena_t *a,
                    pm_req *out, size_t max, size_t *n, err_t *e)
{
    (void)a; /* every string is borrowed from r or the caller */
    size_t used = 0;
    *n = 0;
    for (uint32_t i = 0; i < r->permits.n; i++) {
        const model_citation *c = &r->permits.v[i];
        pm_amount am;
        int rc = pmrec__cited(c, i, &am, e);
        if (rc)
            return rc;
        pm_req *q = pmrec__req(c->id, i, out, max, &used, e);
        if (!q)
            return ERR_TOOBIG;
        q->key = key;
        q->holder = holder;
        q->at_ms = at_ms;
        if ((rc = pmrec__draw(q, &am, i, e)))
            return rc;
    }
    *n = used;
    return 0;
}
