/* fed: the national center's turn in eportd's loop (fed.h). Three jobs,
 * each on its own clock so a busy center does not do them every turn:
 *
 *   health   v1:in after v1:fed:pos: each `health` record kept in
 *            v1:fed:node:<id> and its history (fed_apply), then deleted
 *            from v1:in; other records are passed over;
 *   ledger   the ledger's alerts (v1:alerts) after v1:fed:apos: counted
 *            (discrepancies, conflicts, enquiries) and the discrepancies
 *            handed to the rules;
 *   rules    node and link rules every second, movement rules every five
 *            (or at once when a discrepancy came), fed_alert_eval.
 *
 * The rule file is looked at again every few seconds and reloaded when
 * its name or time changes; one that does not load keeps the rules in
 * force (the built-in ones at first) and says why in the log. */
#include "fed_int.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"
#include "envelope.h"
#include "log.h"

#define FED_IN_BATCH 64
#define FED_LEDGER_BATCH 50   /* one counting script's fields */
#define FED_RULES_CHECK_MS 5000
#define FED_ARENA_MAX (32u << 20)

static void fed__fail(const char *op, const err_t *e)
{
    static log_gate gate; /* Redis down: a line a second, not a turn */
    unsigned long long held;
    if (log_gate_pass(&gate, 1000, &held))
        log_event(LOG_ERROR, "national", "op=%s suppressed=%llu msg=%s", op,
                  held, log_q(e->msg));
}

/* ---- keeping health ---- */

int fed_apply(store *st, const fed_health *h, const void *p, size_t n,
              const char *entry, int64_t now, err_t *e)
{
    char hist[160];
    fed_hist_line(h, hist, sizeof hist);
    int fresh = now - (int64_t)h->at_ms <= FED_FRESH_MS;
    return fed_store_apply(st, h, p, n, entry, now, fresh, hist, e);
}

typedef struct fed_rd {
    store *st;
    int64_t now;
    arena_t a;
    store_pos last;
    int kept;
} fed_rd;

static int fed__entry(void *ctx, store_pos pos, const char *id,
                      const char *origin, const void *frame, size_t n,
                      err_t *e)
{
    fed_rd *rd = ctx;
    env *v;
    fed_health h;
    err_t de;
    rd->last = pos;
    arena_reset(&rd->a);
    if (env_decode(frame, n, &rd->a, &v, &de) < 0 ||
        strcmp(v->type, FED_HEALTH_TYPE))
        return 0; /* not ours: records and pings stay for eportctl */
    if (fed_health_decode(v->payload, v->payload_len, &h, &de) < 0 ||
        strcmp(h.node, origin)) { /* checked at delivery: not expected */
        log_event(LOG_WARN, "health_skipped", "id=%s origin=%s msg=%s", id,
                  origin, log_q(de.msg));
        return 0;
    }
    char entry[STORE_ID_MAX];
    store_pos_format(pos, entry);
    int rc = fed_apply(rd->st, &h, v->payload, v->payload_len, entry,
                       rd->now, e);
    rd->kept += rc > 0;
    return rc < 0 ? rc : 0;
}

static int fed__ingest(fed_nc *f, store *st, int64_t now, err_t *e)
{
    if (!f->pos_known && fed_store_pos(st, "pos", &f->pos, e) < 0)
        return e->code;
    f->pos_known = 1;
    fed_rd rd = {st, now, {0}, f->pos, 0};
    arena_init(&rd.a, FED_ARENA_MAX);
    int got = store_in_after(st, f->pos, FED_IN_BATCH, fed__entry, &rd, e);
    arena_free(&rd.a);
    if (got > 0 && store_pos_cmp(rd.last, f->pos) > 0 &&
        fed_store_pos_set(st, "pos", rd.last, e) == 0)
        f->pos = rd.last; /* else read again: applying twice is harmless */
    if (got < 0)
        f->pos_known = 0;
    if (got == FED_IN_BATCH)
        f->next_in_ms = now; /* more waiting */
    return got < 0 ? got : 0;
}

/* ---- the ledger's alerts ---- */

typedef struct fed_la {
    const char *fields[FED_LEDGER_BATCH];
    char refs[FED_LEDGER_BATCH][40];
    char msgs[FED_LEDGER_BATCH][200];
    const char *rp[FED_LEDGER_BATCH], *mp[FED_LEDGER_BATCH];
    size_t nf, nr;
    store_pos last;
} fed_la;

static const char *fed__count_of(const char *kind)
{
    static const char *const map[][2] = {
        {"discrepancy", "discrepancies"},
        {"double-declaration", "conflicts"},
        {"movement-overdue", "enquiries"},
        {"ledger-refused", "refused"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(kind, map[i][0]))
            return map[i][1];
    return NULL;
}

static int fed__lalert(void *ctx, store_pos pos, const char *kind,
                       const char *ref, const char *msg, err_t *e)
{
    fed_la *la = ctx;
    const char *field = fed__count_of(kind);
    (void)e;
    la->last = pos;
    if (field)
        la->fields[la->nf++] = field;
    if (strcmp(kind, "discrepancy") || !*ref)
        return 0;
    snprintf(la->refs[la->nr], sizeof la->refs[0], "%s", ref);
    snprintf(la->msgs[la->nr], sizeof la->msgs[0], "%s", msg);
    la->rp[la->nr] = la->refs[la->nr];
    la->mp[la->nr] = la->msgs[la->nr];
    la->nr++;
    return 0;
}

/* ---- rules ---- */

static int fed__same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Load path (NULL: none there) into f->rules, saying what happened. */
static void fed__rules_load(fed_nc *f, const char *path)
{
    err_t e;
    fed_rules r;
    if (!path) {
        fed_rules_builtin(&f->rules);
        log_event(LOG_WARN, "alert_rules", "file=%s msg=%s",
                  log_q(f->rules_path), log_q("not found: the built-in "
                                              "rules apply"));
    } else if (fed_rules_load(path, &r, &e) < 0) {
        log_event(LOG_ERROR, "alert_rules", "file=%s msg=%s", log_q(path),
                  log_q(e.msg)); /* the rules in force stay */
    } else {
        f->rules = r;
        log_event(LOG_INFO, "alert_rules", "file=%s", log_q(path));
    }
}

static void fed__rules(fed_nc *f, const cfg *c, int64_t now)
{
    if (f->started && now < f->next_rules_ms)
        return;
    f->next_rules_ms = now + FED_RULES_CHECK_MS;
    struct stat sb;
    const char *path = c->alerts.rules ? c->alerts.rules : "";
    int have = *path && stat(path, &sb) == 0;
    struct timespec mt = have ? sb.st_mtim : (struct timespec){0, 0};
    int same = !strcmp(f->rules_path, path) && f->rules_have == have &&
               fed__same_time(mt, f->rules_mtime);
    if (f->started && same)
        return;
    if (!f->started)
        fed_rules_builtin(&f->rules);
    snprintf(f->rules_path, sizeof f->rules_path, "%s", path);
    f->rules_have = have;
    f->rules_mtime = mt;
    fed__rules_load(f, have ? path : NULL);
}

static int fed__eval(fed_nc *f, store *st, const cfg *c, int64_t now,
                     err_t *e)
{
    static fed_la la; /* big; the loop is one thread */
    memset(&la, 0, sizeof la);
    if (!f->apos_known && fed_store_pos(st, "apos", &f->apos, e) < 0)
        return e->code;
    f->apos_known = 1;
    int got = fed_store_ledger_alerts(st, f->apos, FED_LEDGER_BATCH,
                                      fed__lalert, &la, e);
    if (got < 0)
        return f->apos_known = 0, got;
    fed_eval_in in = {FED_RULES_NODES, now, f->start_ms, la.rp, la.mp, la.nr};
    if (now >= f->next_mv_ms || la.nr) {
        in.mask |= FED_RULES_MOVEMENTS;
        f->next_mv_ms = now + FED_MV_EVAL_MS;
    }
    int rc = fed_alert_eval(st, c, &f->rules, &in, e);
    if (rc >= 0 && got > 0 &&
        (rc = fed_store_counted(st, la.fields, la.nf, la.last, e)) == 0)
        f->apos = la.last;
    if (got == FED_LEDGER_BATCH)
        f->next_eval_ms = now; /* more waiting */
    return rc < 0 ? rc : 0;
}

void fed_step(fed_nc *f, store *st, const cfg *c, int64_t now)
{
    err_t e;
    if (!f->started)
        f->start_ms = now;
    fed__rules(f, c, now);
    f->started = 1;
    if (now >= f->next_in_ms) {
        f->next_in_ms = now + FED_IN_POLL_MS;
        if (fed__ingest(f, st, now, &e) < 0)
            fed__fail("health", &e);
    }
    if (now >= f->next_eval_ms) {
        f->next_eval_ms = now + FED_EVAL_MS;
        if (fed__eval(f, st, c, now, &e) < 0)
            fed__fail("alerts", &e);
    }
}
