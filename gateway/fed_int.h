/* fed_int: what the fed*.c files share: the Redis side of v1:fed:*
 * (store_fed.c, the one file that speaks to Redis for them, through the
 * store's internals as the store_*.c files do) and the view of every
 * node loaded from it (fed_view.c) that the JSON and the rules read. */
#ifndef EPORT_FED_INT_H
#define EPORT_FED_INT_H

#include "fed.h"
#include "store_mv.h"

#define FED_NODES_MAX 64        /* nodes the center follows */
#define FED_HIST_MAX 120        /* history entries per node */
#define FED_RATE_WINDOW_MS 60000 /* rates over the last minute */
#define FED_RECENT_MV 1000      /* movements of the clearance figures */
#define FED_QNAME_MAX 72

/* ---- store_fed.c ---- */

/* "v1:fed:<which>" position (pos, apos): [0,0] when none. */
int fed_store_pos(store *st, const char *which, store_pos *out, err_t *e);
int fed_store_pos_set(store *st, const char *which, store_pos p, err_t *e);
/* The script of fed_apply; hist is the history line. */
int fed_store_apply(store *st, const fed_health *h, const void *p, size_t n,
                    const char *entry, int64_t now, int fresh,
                    const char *hist, err_t *e);

typedef int (*fed_str_fn)(void *ctx, const char *s, size_t n, err_t *e);
/* Ids of v1:fed:nodes. */
int fed_store_members(store *st, fed_str_fn fn, void *ctx, err_t *e);
/* v1:fed:node:<id>: 1 with *seen and the payload appended to h, 0 none. */
int fed_store_node(store *st, const char *id, int64_t *seen, buf_t *h,
                   err_t *e);
/* The newest count lines of v1:fed:hist:<id>, newest first. */
int fed_store_hist(store *st, const char *id, size_t count, fed_str_fn fn,
                   void *ctx, err_t *e);

/* Active alerts (id, JSON). */
int fed_store_alerts(store *st, store_kv_fn fn, void *ctx, err_t *e);
/* Raise (HSET) or clear (HDEL) alert id, with its line in the log, in
 * one script. Returns 1 changed, 0 already so. */
int fed_store_alert_set(store *st, const char *id, const char *json,
                        int raise, err_t *e);
/* The newest count lines of v1:fed:alert_log (ev, JSON). */
int fed_store_alert_log(store *st, size_t count, store_kv_fn fn, void *ctx,
                        err_t *e);

/* v1:fed:counts (field, value). */
int fed_store_counts(store *st, store_kv_fn fn, void *ctx, err_t *e);
/* The ledger's alerts (v1:alerts) after pos, up to count. */
typedef int (*fed_lalert_fn)(void *ctx, store_pos pos, const char *kind,
                             const char *ref, const char *msg, err_t *e);
int fed_store_ledger_alerts(store *st, store_pos after, size_t count,
                            fed_lalert_fn fn, void *ctx, err_t *e);
/* HINCRBY v1:fed:counts for each field (a field may repeat) and SET
 * v1:fed:apos pos, in one script. */
int fed_store_counted(store *st, const char *const *fields, size_t n,
                      store_pos pos, err_t *e);

/* The count newest movements of the ledger (v1:mv:all), newest first. */
int fed_store_recent(store *st, size_t count, store_mv_ref_fn fn, void *ctx,
                     err_t *e);
/* Movements in phase (SCARD v1:mv:phase:<phase>); all (NULL). */
int64_t fed_store_phase_count(store *st, const char *phase, err_t *e);

/* ---- fed_view.c ---- */

/* One history entry. in = records accepted + messages delivered, out =
 * records handed out + frames sent; sig = sig_failures; the deepest
 * queue and its name. */
typedef struct fed_hist {
    int64_t at;
    uint64_t in, out, sig, qdepth;
    char qname[FED_QNAME_MAX];
} fed_hist;

typedef struct fed_node {
    char id[FED_HEALTH_ID_MAX + 1];
    char region[3];
    int member;          /* this node or a configured peer */
    int heard;           /* a health message is kept */
    int64_t seen_ms;     /* the last fresh one's arrival; 0 never */
    fed_health h;        /* the last one (heard) */
    fed_hist hist[FED_HIST_MAX]; /* newest first */
    size_t nhist;
} fed_node;

typedef struct fed_view {
    int64_t now, down_after_ms;
    fed_node *nodes;     /* FED_NODES_MAX, calloc'd; sorted by id */
    size_t n;
} fed_view;

/* Every node: this one, the configured peers, and any heard from.
 * Free with fed_view_free (also after a failure). */
int fed_view_load(store *st, const cfg *c, int64_t now, fed_view *v,
                  err_t *e);
void fed_view_free(fed_view *v);
/* Heard from within down_after_ms. */
int fed_node_up(const fed_view *v, const fed_node *nd);
/* Per second over the last minute of history (0 when down or unknown);
 * a counter that went back (a restart) counts from its new start. */
void fed_node_rates(const fed_view *v, const fed_node *nd, double *in,
                    double *out);
/* The history line of h: "at in out sig qdepth qname". */
void fed_hist_line(const fed_health *h, char *out, size_t n);
int fed_hist_parse(const char *s, fed_hist *out);

/* ---- fed_json.c, shared with fed_alert_eval.c ---- */

/* ms as ISO 8601 UTC with ms, a JSON string; null for 0. */
json_t *fed_json_time(int64_t ms);

#endif
