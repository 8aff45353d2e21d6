/* node_fanout: see node_fanout.h. */
#include "node_int.h"
#include "node_fanout.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanout.h"
#include "log.h"
#include "model_json.h"
#include "model_pack.h"
#include "store_fan.h"
#include "store_local.h"

#define NF_REC_MAX (16u << 20)
#define NF_TEXT_MAX 2048

static int nf__wants(const cfg *c)
{
    for (size_t i = 0; i < c->nconnectors; i++)
        if (c->connectors[i].fanout)
            return 1;
    return 0;
}

int node_fanout_setup(node *n, err_t *e)
{
    char path[4096];
    fanout_rules *r = NULL;
    snprintf(path, sizeof path, "%s/%s", n->cfg->mappings.dir, FANOUT_FILE);
    int rc = fanout_load(path, &r, e);
    if (rc == ERR_NOTFOUND && !nf__wants(n->cfg))
        return 0;
    if (rc == 0 && (rc = fanout_bind(r, n->cfg, n->maps, e)) < 0 &&
        !nf__wants(n->cfg)) {
        log_event(LOG_INFO, "fanout", "off=1 msg=%s", log_q(e->msg));
        fanout_free(r);
        return 0; /* rules for connectors this node does not have */
    }
    if (rc < 0) {
        fanout_free(r);
        return err_wrap(e, "fan-out rules");
    }
    fanout_free(n->fan);
    n->fan = r;
    log_event(LOG_INFO, "fanout", "rules=%zu file=%s", r->nrules,
              log_q(path));
    return 0;
}

void node_fanout_close(node *n)
{
    fanout_free(n->fan);
    n->fan = NULL;
}

/* ---- an agency's answer ---- */

static int nf__answer(node *n, const cfg_connector *cc, model_record *r,
                      arena_t *a, const char **status, const char **detail,
                      err_t *e)
{
    const char *ref = r->customs.reference, *st = r->customs.status;
    char *d = arena_alloc(a, NF_TEXT_MAX);
    if (!d)
        return err_set(e, ERR_NOMEM, "fan-out: out of memory");
    *detail = d;
    *status = "refused";
    if (!ref || !*ref) {
        snprintf(d, NF_TEXT_MAX, "response of agency %s quotes no "
                 "submission (customs.reference)", cc->agency);
        return 1;
    }
    st = st && *st ? st : "pending";
    err_t ae;
    int rc = store_fan_answer(n->st, ref, cc->agency, st,
                              r->customs.status_text, node__now_ms(), &ae);
    if (rc < 0 && rc != ERR_NOTFOUND && rc != ERR_INVALID)
        return *e = ae, rc;
    if (rc < 0)
        snprintf(d, NF_TEXT_MAX, "response of agency %s: %s", cc->agency,
                 ae.msg);
    else
        *status = "answered", snprintf(d, NF_TEXT_MAX, "%s: %s (submission "
                                       "%s)", cc->agency, st, ref);
    log_event(rc < 0 ? LOG_WARN : LOG_INFO, "fanout_answer", "agency=%s "
              "ref=%s state=%s ok=%d", cc->agency, log_q(ref), st, rc == 0);
    return 1;
}

/* ---- a submission, or a correction of one ---- */

typedef struct nf_sub {
    node *n;
    const char *id, *target;   /* the local message; the submission */
    model_record *r;
    json_t *json;              /* r as JSON, for the required fields */
    buf_t packed;              /* r with customs.reference = target */
    buf_t sent, incomplete;    /* for the detail */
} nf_sub;

/* r as agency ag gets it: customs.reference = the submission (its
 * answer quotes it back), and the agency as the interchange's recipient
 * unless the submitter named one. */
static int nf__pack(nf_sub *s, const fanout_agency *ag, err_t *e)
{
    char *ref = s->r->customs.reference, *to = s->r->source.recipient;
    s->r->customs.reference = (char *)s->target;
    if (!to || !*to)
        s->r->source.recipient = (char *)ag->agency;
    buf_reset(&s->packed);
    int rc = model_pack(s->r, &s->packed, e);
    s->r->customs.reference = ref, s->r->source.recipient = to;
    return rc;
}

static int nf__json(nf_sub *s, err_t *e)
{
    buf_t b;
    json_error_t je;
    buf_init(&b, NF_REC_MAX);
    int rc = model_json_write(s->r, &b, e);
    s->json = rc == 0 ? json_loadb(b.p, b.len, 0, &je) : NULL;
    buf_free(&b);
    if (rc == 0 && !s->json)
        rc = err_set(e, ERR_INVALID, "fan-out: record JSON: %s", je.text);
    return rc;
}

static void nf__list(buf_t *b, const char *s)
{
    if (b->len)
        buf_adds(b, "; ");
    buf_adds(b, s);
}

/* One agency: its copy queued, or incomplete; its line updated. */
static int nf__agency(nf_sub *s, const fanout_agency *ag, err_t *e)
{
    store_fan_ag l = {0};
    buf_t miss;
    buf_init(&miss, sizeof l.missing - 1);
    int k = fanout_missing(ag, s->json, &miss);
    snprintf(l.agency, sizeof l.agency, "%s", ag->agency);
    snprintf(l.mapping, sizeof l.mapping, "%s", ag->mapping);
    snprintf(l.conn, sizeof l.conn, "%s", ag->conn->name);
    snprintf(l.state, sizeof l.state, "%s", k ? "incomplete" : "sent");
    snprintf(l.missing, sizeof l.missing, "%.*s", (int)miss.len,
             miss.len ? miss.p : "");
    buf_free(&miss);
    char key[200];
    snprintf(key, sizeof key, "%s:fan:%s:%s", ag->conn->name, s->id,
             ag->agency);
    int rc = k ? 0 : nf__pack(s, ag, e);
    if (rc == 0 && !k)
        rc = store_lout_add_map(s->n->st, ag->conn->name, key, "fanout",
                                ag->mapping, s->packed.p, s->packed.len, e);
    if (rc >= 0)
        rc = store_fan_send(s->n->st, s->target, s->r->kind, &l, s->id, e);
    if (rc < 0)
        return rc;
    char line[STORE_FAN_TEXT_MAX + 64];
    snprintf(line, sizeof line, k ? "%s lacks %s" : "%s", ag->agency,
             l.missing);
    nf__list(k ? &s->incomplete : &s->sent, line);
    return 0;
}

/* The agencies a correction goes to: those that refused or lacked. */
static int nf__redo(const store_fan_ag *l, size_t nl, const char *agency)
{
    for (size_t i = 0; i < nl; i++)
        if (!strcmp(l[i].agency, agency))
            return !strcmp(l[i].state, "rejected") ||
                   !strcmp(l[i].state, "incomplete");
    return 1; /* an agency added to the rule since: it gets one */
}

static int nf__send_all(nf_sub *s, const fanout_rule *u, const store_fan_ag *l,
                        size_t nl, err_t *e)
{
    int rc = nf__json(s, e);
    for (size_t i = 0; rc == 0 && i < u->nagencies; i++)
        if (!l || nf__redo(l, nl, u->agencies[i].agency))
            rc = nf__agency(s, &u->agencies[i], e);
    return rc;
}

static void nf__detail(nf_sub *s, arena_t *a, const char **detail)
{
    char *d = arena_alloc(a, NF_TEXT_MAX);
    if (d)
        snprintf(d, NF_TEXT_MAX, "%s%.*s%s%.*s%s%s", s->sent.len ? "to " : "",
                 (int)s->sent.len, s->sent.len ? s->sent.p : "",
                 s->sent.len && s->incomplete.len ? "; " : "",
                 (int)s->incomplete.len,
                 s->incomplete.len ? s->incomplete.p : "",
                 strcmp(s->target, s->id) ? "; corrects " : "",
                 strcmp(s->target, s->id) ? s->target : "");
    *detail = d;
}

static int nf__submit(node *n, const char *id, model_record *r,
                      const fanout_rule *u, arena_t *a, const char **status,
                      const char **detail, err_t *e)
{
    static store_fan_ag l[STORE_FAN_AGENCIES]; /* the loop is one thread */
    size_t nl = 0;
    char kind[24];
    const char *ref = r->customs.reference;
    int rc = ref && *ref ? store_fan_get(n->st, ref, kind, l,
                                         STORE_FAN_AGENCIES, &nl, e)
                         : ERR_NOTFOUND;
    if (rc < 0 && rc != ERR_NOTFOUND && rc != ERR_INVALID)
        return rc; /* Redis: the batch is tried again */
    int fixed = rc == 0 && !strcmp(kind, r->kind);
    nf_sub s = {.n = n, .id = id, .target = fixed ? ref : id, .r = r};
    buf_init(&s.packed, NF_REC_MAX);
    buf_init(&s.sent, NF_TEXT_MAX / 2), buf_init(&s.incomplete, NF_TEXT_MAX / 2);
    rc = nf__send_all(&s, u, fixed ? l : NULL, nl, e);
    if (rc == 0) {
        *status = !s.sent.len && !s.incomplete.len ? "refused"
                  : fixed ? "resubmitted" : "fanned_out";
        nf__detail(&s, a, detail);
        if (!s.sent.len && !s.incomplete.len)
            *detail = "a correction, but no agency refused the submission "
                      "or found it incomplete";
    }
    json_decref(s.json);
    buf_free(&s.packed), buf_free(&s.sent), buf_free(&s.incomplete);
    return rc < 0 ? rc : 1;
}

int node_fanout_item(node *n, const char *id, const char *conn,
                     model_record *r, arena_t *a, const char **status,
                     const char **detail, err_t *e)
{
    const cfg_connector *cc = cfg_connector_find(n->cfg, conn);
    if (!cc || !r || !r->kind)
        return 0;
    if (cc->agency && !strcmp(r->kind, "response"))
        return nf__answer(n, cc, r, a, status, detail, e);
    const fanout_rule *u = cc->fanout ? fanout_rule_for(n->fan, r->kind)
                                      : NULL;
    return u ? nf__submit(n, id, r, u, a, status, detail, e) : 0;
}
