/* eportctl send: new messages from this node, signed and stored in its
 * Redis exactly as the daemon would (node_submit), so they are safe once
 * this prints `sent`, whether eportd is running or not. The input is a
 * local-format file translated through the mappings (each record one
 * message), canonical JSON (--canonical), or nothing for a ping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "model_json.h"
#include "model_pack.h"
#include "xlate.h"

#define SEND_MAX_DEST 64
#define SEND_MAX_PAYLOADS 100000

typedef struct send_opts {
    const char *config, *to, *type, *ref, *ids, *input, *mappings;
    long repeat;
    int canonical;
} send_opts;

typedef struct payloads {
    buf_t *v;
    size_t n, cap;
} payloads;

static int send__usage(FILE *f, int code)
{
    fputs("usage: eportctl send --config FILE --to DEST[,DEST...] [--type "
          "record|ping]\n       [--ref REF] [--repeat N] [--ids FILE] "
          "[--canonical] [--mappings DIR] [INPUT]\n"
          "Signs and queues messages from this node; INPUT is a local-format "
          "file\n(each record translated is one message) or, with "
          "--canonical, canonical JSON.\nPrints: sent n=N first=ID last=ID\n",
          f);
    return code;
}

static int send__args(int argc, char **argv, send_opts *o)
{
    *o = (send_opts){ .type = "record", .repeat = 1 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = !strcmp(a, "--config") ? &o->config
                          : !strcmp(a, "--to") ? &o->to
                          : !strcmp(a, "--type") ? &o->type
                          : !strcmp(a, "--ref") ? &o->ref
                          : !strcmp(a, "--ids") ? &o->ids
                          : !strcmp(a, "--mappings") ? &o->mappings : NULL;
        if (slot && v)
            *slot = v, i++;
        else if (!strcmp(a, "--repeat") && v)
            o->repeat = strtol(v, NULL, 10), i++;
        else if (!strcmp(a, "--canonical"))
            o->canonical = 1;
        else if (!strcmp(a, "--help"))
            return send__usage(stdout, -1);
        else if (a[0] != '-' && !o->input)
            o->input = a;
        else
            return send__usage(stderr, CTL_USAGE);
    }
    if (!o->to || o->repeat < 1 || o->repeat > 10000000 ||
        (!o->input && strcmp(o->type, "ping")))
        return send__usage(stderr, CTL_USAGE);
    return 0;
}

static int send__add(payloads *p, const model_record *r, err_t *e)
{
    if (p->n == SEND_MAX_PAYLOADS)
        return err_set(e, ERR_TOOBIG, "more than %d records in one input",
                       SEND_MAX_PAYLOADS);
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        buf_t *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return err_set(e, ERR_NOMEM, "out of memory");
        p->v = v, p->cap = cap;
    }
    buf_init(&p->v[p->n], 16u << 20);
    return model_pack(r, &p->v[p->n++], e);
}

typedef struct xl_ctx {
    payloads *p;
    err_t *e;
    int failed;
} xl_ctx;

static int send__record(void *ctx, const codec_msg *m, const map_def *d,
                        model_record *r)
{
    (void)m, (void)d;
    xl_ctx *x = ctx;
    return send__add(x->p, r, x->e) < 0 ? (x->failed = 1) : 0;
}

static void send__problem(void *ctx, uint32_t line, uint32_t col,
                          const char *msg)
{
    (void)ctx;
    fprintf(stderr, "eportctl: %u:%u: error: %s\n", line, col, msg);
}

/* The payloads of the input: its translated records, or its JSON. */
static int send__payloads(const send_opts *o, const cfg *c, payloads *p,
                          err_t *e)
{
    buf_t in;
    buf_init(&in, 256u << 20);
    arena_t a;
    arena_init(&a, (size_t)1 << 30);
    map_set *s = NULL;
    model_record *r;
    int rc = ctl_read_file(o->input, &in, e);
    if (rc == 0 && o->canonical) {
        rc = model_json_read(in.p ? in.p : "", in.len, &a, &r, e);
        if (rc == 0)
            rc = send__add(p, r, e);
    } else if (rc == 0) {
        rc = map_set_load(o->mappings ? o->mappings : c->mappings.dir, &s, e);
        xl_ctx x = { p, e, 0 };
        xlate_sink sink = { send__record, send__problem, &x, NULL, NULL };
        xlate_stats st = { 0 };
        if (rc == 0)
            rc = xlate_input(s, NULL, o->input, in.p ? in.p : "", in.len, &a,
                             &sink, &st, e);
        if (rc == 0 && (x.failed || st.problems || p->n == 0))
            rc = x.failed ? e->code : err_set(e, ERR_INVALID, "%s: %u "
                 "problem(s), %zu record(s): nothing sent", o->input,
                 st.problems, p->n);
    }
    map_set_free(s);
    arena_free(&a);
    buf_free(&in);
    return rc;
}

/* Split "SH,SN" into dests (pointers into buf). */
static size_t send__dests(char *buf, const char **dests)
{
    size_t n = 0;
    for (char *t = strtok(buf, ","); t && n < SEND_MAX_DEST;
         t = strtok(NULL, ","))
        dests[n++] = t;
    return n;
}

/* Up to NODE_SUBMIT_MAX messages per node_submit_many: signed together. */
typedef struct send_run {
    const void *p[NODE_SUBMIT_MAX];
    size_t len[NODE_SUBMIT_MAX];
    char ids[NODE_SUBMIT_MAX][MSGID_LEN + 1];
    size_t k;
    long sent;
    char first[MSGID_LEN + 1];
} send_run;

static int send__flush(node *nd, const send_opts *o, const char **dests,
                       size_t ndest, send_run *r, FILE *ids)
{
    err_t e;
    if (r->k == 0)
        return CTL_OK;
    if (node_submit_many(nd, o->type, dests, ndest, o->ref, r->p, r->len,
                         r->k, r->ids, &e) < 0) {
        fprintf(stderr, "eportctl: error: %s (after %ld sent)\n", e.msg,
                r->sent);
        return e.code == ERR_IO ? CTL_UNAVAILABLE : CTL_DATAERR;
    }
    if (r->sent == 0)
        memcpy(r->first, r->ids[0], sizeof r->first);
    for (size_t i = 0; i < r->k; i++)
        if (ids && fprintf(ids, "%s\n", r->ids[i]) < 0)
            return CTL_IOERR;
    r->sent += (long)r->k;
    r->k = 0;
    return CTL_OK;
}

static int send__all(node *nd, const send_opts *o, const char **dests,
                     size_t ndest, const payloads *p, FILE *ids)
{
    send_run r; /* ~11 KiB */
    memset(&r, 0, sizeof r);
    char last[MSGID_LEN + 1] = "-";
    int rc = CTL_OK;
    for (long rep = 0; rc == CTL_OK && rep < o->repeat; rep++)
        for (size_t i = 0; rc == CTL_OK && i < (p->n ? p->n : 1); i++) {
            r.p[r.k] = p->n ? p->v[i].p : NULL;
            r.len[r.k++] = p->n ? p->v[i].len : 0;
            if (r.k == NODE_SUBMIT_MAX) {
                rc = send__flush(nd, o, dests, ndest, &r, ids);
                memcpy(last, r.ids[NODE_SUBMIT_MAX - 1], sizeof last);
            }
        }
    size_t tail = r.k;
    if (rc == CTL_OK)
        rc = send__flush(nd, o, dests, ndest, &r, ids);
    if (rc == CTL_OK && tail)
        memcpy(last, r.ids[tail - 1], sizeof last);
    if (rc == CTL_OK)
        printf("sent n=%ld first=%s last=%s\n", r.sent,
               r.sent ? r.first : "-", last);
    return rc;
}

int ctl_send(int argc, char **argv)
{
    send_opts o;
    int rc = send__args(argc, argv, &o);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    char to[1024];
    const char *dests[SEND_MAX_DEST];
    snprintf(to, sizeof to, "%s", o.to);
    size_t ndest = send__dests(to, dests);
    node *nd = NULL;
    if ((rc = ctl_node_open(o.config, &nd)) != CTL_OK)
        return rc;
    payloads p = { 0 };
    err_t e;
    if (o.input && send__payloads(&o, node_cfg(nd), &p, &e) < 0) {
        fprintf(stderr, "eportctl: error: %s\n", e.msg);
        rc = e.code == ERR_IO ? CTL_NOINPUT : CTL_DATAERR;
    }
    FILE *ids = rc == CTL_OK && o.ids ? fopen(o.ids, "w") : NULL;
    if (rc == CTL_OK && o.ids && !ids) {
        perror(o.ids);
        rc = CTL_IOERR;
    }
    if (rc == CTL_OK)
        rc = send__all(nd, &o, dests, ndest, &p, ids);
    if (ids && fclose(ids) != 0 && rc == CTL_OK)
        rc = CTL_IOERR;
    for (size_t i = 0; i < p.n; i++)
        buf_free(&p.v[i]);
    free(p.v);
    node_close(nd);
    return rc;
}
