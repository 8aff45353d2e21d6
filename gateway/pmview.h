/* pmview: what `eportctl permits` (gateway/ctl/ctl_permits.c) and the
 * HTTP API (connectors/api_permits.c) share about the permit ledger, so
 * that the two never disagree on what a permit's state is or how it is
 * shown:
 *
 *   asking   pmview_request queues a request for eportd's loop to sign
 *            and send to the permit's home (store_pmq_add under a fresh
 *            id) and waits for the answer;
 *   reading  the home's ledger when this node is the permit's home
 *            (store_pm.h), else the newest answer held here or this
 *            node's own requests about it (store_pmq.h);
 *   showing  each as JSON (jansson) and as the plain text eportctl
 *            prints, one fact per line ("name value...").
 *
 * Amounts are decimal strings (pm_amount_fmt), times ISO 8601 UTC.
 *
 * Ownership: *_json_new return a new reference the caller owns
 * (json_decref), NULL when out of memory; loaded structs borrow their
 * strings from the arena given; *_text append to the caller's buffer and
 * return 0 or the buffer's error (ERR_TOOBIG, ERR_NOMEM). */
#ifndef EPORT_PMVIEW_H
#define EPORT_PMVIEW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "msgid.h"
#include "pmwire.h"
#include "store.h"
#include "store_pm.h"
#include "store_pmq.h"

#define PMVIEW_LIST_MAX 10000  /* permits of one list */

/* ---- asking the home ---- */

/* An answer as this node holds it. */
typedef struct pmview_ans {
    pm_ans a;                  /* decoded; strings in the arena */
    char rid[MSGID_LEN + 1];   /* the request answered (set as soon as
                                  pmview_request queued it) */
    int home_signed;           /* the home's signed envelope is kept (0:
                                  this node is the home, or the verdict is
                                  this node's own: forged, unreachable) */
    int64_t done_ms;           /* stored here; 0 when not known */
} pmview_ans;

/* Queue q (op, permit, key, lines, holder as the caller set them; at_ms
 * now unless set) under a fresh request id, wait up to wait_ms for the
 * home's answer and decode it into out. ERR_INVALID for a request that
 * breaks pmwire's rules (nothing queued); ERR_AGAIN "still queued:
 * request <rid>; the home CQ has not answered within N ms" (the request
 * stays queued and is answered later: pmview_answer_get with out->rid);
 * ERR_IO (Redis). */
int pmview_request(store *st, const pm_req *q, int64_t wait_ms, arena_t *a,
                   pmview_ans *out, err_t *e);

/* The answer to request rid: ERR_AGAIN while it is queued, ERR_NOTFOUND
 * when no such request is kept here. */
int pmview_answer_get(store *st, const char *rid, arena_t *a,
                      pmview_ans *out, err_t *e);

/* ---- reading ---- */

/* 1 when region (this node's) is the home of permit id. */
int pmview_at_home(const char *region, const char *id);

/* What `show` shows: at the home the ledger's view; elsewhere the newest
 * answer held here, or with fresh a verify asked first (waiting up to
 * wait_ms: pmview_request's errors). */
typedef struct pmview_show {
    const char *id;
    char home[3];
    int at_home;
    store_pm_view view;        /* at_home */
    pmview_ans ans;            /* !at_home */
} pmview_show;
/* ERR_INVALID bad id; ERR_NOTFOUND "permit CQ-X: not issued here" at the
 * home, "permit SN-X: no answer held here (home SN): verify it first"
 * elsewhere. */
int pmview_show_load(store *st, const char *region, const char *id,
                     int fresh, int64_t wait_ms, arena_t *a,
                     pmview_show *out, err_t *e);

/* One of this node's requests about a permit, with its answer. */
typedef struct pmview_req {
    const char *rid;
    store_pmq_view v;
    int answered;
    pmview_ans ans;            /* answered */
} pmview_req;

/* A permit's history as this node knows it: at its home each entry of
 * the ledger's history (h set), elsewhere each request this node sent
 * about it (r set), oldest first, up to count. fn's pointers are valid
 * during the call. Returns how many. */
typedef int (*pmview_hist_fn)(void *ctx, const store_pm_hist *h,
                              const pmview_req *r, err_t *e);
int pmview_history(store *st, const char *region, const char *id,
                   size_t count, arena_t *a, pmview_hist_fn fn, void *ctx,
                   err_t *e);

/* The permits issued here, newest first, up to count, each with its
 * ledger view. */
typedef int (*pmview_list_fn)(void *ctx, const store_pm_view *v, err_t *e);
int pmview_list(store *st, size_t count, arena_t *a, pmview_list_fn fn,
                void *ctx, err_t *e);

/* ---- JSON (docs/api.yaml: PermitAnswer, PermitView, PermitHistory) ---- */

json_t *pmview_ans_json_new(const pmview_ans *v);
json_t *pmview_view_json_new(const store_pm_view *v);
json_t *pmview_hist_json_new(const store_pm_hist *h);
json_t *pmview_req_json_new(const pmview_req *r);
/* {"permit", "home", "source": "ledger", "view"} at the home, {...,
 * "source": "answer", "answer"} elsewhere. */
json_t *pmview_show_json_new(const pmview_show *s);
/* The list row of a permit: id, status, kind, usage, holder, validity,
 * issued. */
json_t *pmview_row_json_new(const store_pm_view *v);

/* The documents of GET /v1/permits/{id}/history and GET /v1/permits
 * (and `--json`): {"permit", "home", "source": "ledger" | "requests",
 * "count", "entries"} and {"home", "count", "permits"}. *out (owned by
 * the caller) on success, NULL on failure; returns the count or
 * pmview_history's / pmview_list's error. */
int pmview_history_json(store *st, const char *region, const char *id,
                        size_t count, arena_t *a, json_t **out, err_t *e);
int pmview_list_json(store *st, const char *region, size_t count,
                     arena_t *a, json_t **out, err_t *e);

/* ---- plain text, one fact per line ---- */

int pmview_ans_text(const pmview_ans *v, buf_t *out);
int pmview_view_text(const store_pm_view *v, buf_t *out);
int pmview_show_text(const pmview_show *s, buf_t *out);
/* One line each. */
int pmview_hist_text(const store_pm_hist *h, buf_t *out);
int pmview_req_text(const pmview_req *r, buf_t *out);
int pmview_row_text(const store_pm_view *v, buf_t *out);

#endif
