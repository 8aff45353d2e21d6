/* conn_zmq: ZeroMQ ingress for high-volume local systems
 * (docs/connectors.md, "ZeroMQ"). A ROUTER bound at `listen` takes
 * requests from DEALER clients (one frame) or REQ clients (an empty
 * delimiter, then the frame). A request is one msgpack map:
 *
 *   {"v": 1, "key": API key, "cid": client correlation id (str or int),
 *    "map": mapping name (optional), "body": bin|str local-format bytes,
 *    "idem": idempotency key (optional)}
 *
 * and each gets one reply, sent only once intake has stored the records
 * durably (or refused them):
 *
 *   {"v": 1, "cid": the same, "status": 202|400|401|403|413|422|429|503,
 *    "ids": [...], "error": "...", "problems": ["body:3:1: error: ..."],
 *    "retry_after_s": N (with 429/503)}
 *
 * The reader is lenient about msgpack forms (any width, keys in any
 * order, unknown keys skipped) but bounded: every length is checked
 * against the bytes left, nesting is capped, and a frame larger than
 * api.max_body_bytes + 64 KiB is dropped by ZeroMQ itself (the peer is
 * disconnected). Requests are handled one at a time, in arrival order. */
#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "auth.h"
#include "conn.h"
#include "conn_zmq_int.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"

#define ZQ_POLL_MS 100
#define ZQ_ROUND 256              /* requests handled per wake-up */
#define ZQ_DEPTH 16               /* nesting skipped in unknown keys */
#define ZQ_SLACK (64 << 10)       /* frame bytes beyond the body */
#define ZQ_SNDHWM 100000
#define ZQ_LINGER_MS 1000
#define ZQ_REPLY_MAX ((size_t)4 << 20)
#define ZQ_GATE_MS 10000

typedef struct zq_st {
    void *ctx, *sock;
    ingest *g;               /* NULL until Redis was reached */
    ingest_res res;
    buf_t out;               /* the reply being packed */
    log_gate gate;
} zq_st;

/* ---- a bounded, lenient msgpack reader ---- */

typedef enum { ZT_NIL, ZT_BOOL, ZT_INT, ZT_FLOAT, ZT_STR, ZT_BIN, ZT_ARR,
               ZT_MAP, ZT_EXT } zq_type;

typedef struct zq_rd {
    const unsigned char *p, *end;
} zq_rd;

typedef struct zq_val {
    zq_type t;
    uint64_t n;              /* uint value, length or count */
    const unsigned char *s;  /* str/bin bytes */
} zq_val;

static uint64_t zq__be(const unsigned char *p, int w)
{
    uint64_t v = 0;
    for (int i = 0; i < w; i++)
        v = v << 8 | p[i];
    return v;
}

/* Bytes of a value's header after its first byte, and its type. */
static int zq__form(unsigned b, zq_type *t, int *w, int *lenw)
{
    static const struct { unsigned lo, hi; zq_type t; int w, lenw; } f[] = {
        {0xc0, 0xc0, ZT_NIL, 0, 0},   {0xc2, 0xc3, ZT_BOOL, 0, 0},
        {0xc4, 0xc4, ZT_BIN, 0, 1},   {0xc5, 0xc5, ZT_BIN, 0, 2},
        {0xc6, 0xc6, ZT_BIN, 0, 4},   {0xc7, 0xc7, ZT_EXT, 0, 1},
        {0xc8, 0xc8, ZT_EXT, 0, 2},   {0xc9, 0xc9, ZT_EXT, 0, 4},
        {0xca, 0xca, ZT_FLOAT, 4, 0}, {0xcb, 0xcb, ZT_FLOAT, 8, 0},
        {0xcc, 0xcc, ZT_INT, 1, 0},   {0xcd, 0xcd, ZT_INT, 2, 0},
        {0xce, 0xce, ZT_INT, 4, 0},   {0xcf, 0xcf, ZT_INT, 8, 0},
        {0xd0, 0xd0, ZT_INT, 1, 0},   {0xd1, 0xd1, ZT_INT, 2, 0},
        {0xd2, 0xd2, ZT_INT, 4, 0},   {0xd3, 0xd3, ZT_INT, 8, 0},
        {0xd4, 0xd4, ZT_EXT, 2, 0},   {0xd5, 0xd5, ZT_EXT, 3, 0},
        {0xd6, 0xd6, ZT_EXT, 5, 0},   {0xd7, 0xd7, ZT_EXT, 9, 0},
        {0xd8, 0xd8, ZT_EXT, 17, 0},  {0xd9, 0xd9, ZT_STR, 0, 1},
        {0xda, 0xda, ZT_STR, 0, 2},   {0xdb, 0xdb, ZT_STR, 0, 4},
        {0xdc, 0xdc, ZT_ARR, 0, 2},   {0xdd, 0xdd, ZT_ARR, 0, 4},
        {0xde, 0xde, ZT_MAP, 0, 2},   {0xdf, 0xdf, ZT_MAP, 0, 4}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (b >= f[i].lo && b <= f[i].hi)
            return *t = f[i].t, *w = f[i].w, *lenw = f[i].lenw, 0;
    return -1; /* 0xc1: never used */
}

/* A str/bin/ext body of v->n bytes, consumed (s points at it). */
static int zq__body(zq_rd *r, zq_val *v)
{
    if ((uint64_t)(r->end - r->p) < v->n)
        return -1;
    v->s = r->p;
    r->p += v->n;
    return 0;
}

/* The next value's header; str, bin and ext bodies are consumed (s
 * points at a str/bin body), arrays and maps leave their items. */
static int zq__head(zq_rd *r, zq_val *v)
{
    if (r->p >= r->end)
        return -1;
    unsigned b = *r->p++;
    int w, lenw;
    *v = (zq_val){0};
    if (b <= 0x7f || b >= 0xe0)
        return v->t = ZT_INT, v->n = b, 0;
    if (b <= 0x9f)
        return v->t = b <= 0x8f ? ZT_MAP : ZT_ARR, v->n = b & 0x0f, 0;
    if (b <= 0xbf)
        return v->t = ZT_STR, v->n = b & 0x1f, zq__body(r, v);
    if (zq__form(b, &v->t, &w, &lenw) ||
        (size_t)(r->end - r->p) < (size_t)(lenw ? lenw : w))
        return -1;
    if (!lenw) { /* nil, bool, numbers, fixext: w bytes of payload */
        v->n = v->t == ZT_INT ? zq__be(r->p, w) : 0;
        r->p += w;
        return 0;
    }
    v->n = zq__be(r->p, lenw);
    r->p += lenw;
    if (v->t == ZT_ARR || v->t == ZT_MAP)
        return 0;
    v->n += v->t == ZT_EXT; /* the ext's type byte */
    return zq__body(r, v);
}

static int zq__skip(zq_rd *r, int depth)
{
    zq_val v;
    if (depth > ZQ_DEPTH || zq__head(r, &v))
        return -1;
    uint64_t items = v.t == ZT_ARR ? v.n : v.t == ZT_MAP ? 2 * v.n : 0;
    if (items > (uint64_t)(r->end - r->p))
        return -1; /* each item takes a byte at least */
    for (uint64_t i = 0; i < items; i++)
        if (zq__skip(r, depth + 1))
            return -1;
    return 0;
}

/* ---- the request ---- */

/* A str (or nil: "") value into dst of cap bytes, NUL-terminated. */
static int zq__str(zq_rd *r, char *dst, size_t cap, const char *key,
                   char *why, size_t wn)
{
    zq_val v;
    if (zq__head(r, &v) || (v.t != ZT_STR && v.t != ZT_NIL))
        return snprintf(why, wn, "'%s' must be a string", key), -1;
    if (v.t == ZT_NIL)
        return dst[0] = '\0', 0;
    if (v.n >= cap || memchr(v.s, '\0', v.n))
        return snprintf(why, wn, "'%s' is longer than %zu bytes or holds "
                        "NUL", key, cap - 1), -1;
    memcpy(dst, v.s, v.n);
    dst[v.n] = '\0';
    return 0;
}

static int zq__field(zq_rd *r, const zq_val *k, zq_req *q, char *why,
                     size_t wn)
{
    const char *name = (const char *)k->s;
    size_t n = k->n;
#define ZQ_IS(s) (n == sizeof s - 1 && !memcmp(name, s, n))
    zq_val v;
    const unsigned char *at = r->p;
    if (ZQ_IS("key"))
        return zq__str(r, q->key, sizeof q->key, "key", why, wn);
    if (ZQ_IS("map"))
        return zq__str(r, q->map, sizeof q->map, "map", why, wn);
    if (ZQ_IS("idem"))
        return zq__str(r, q->idem, sizeof q->idem, "idem", why, wn);
    if (ZQ_IS("v"))
        return zq__head(r, &v) || v.t != ZT_INT
                   ? (snprintf(why, wn, "'v' must be an integer"), -1)
                   : (q->has_v = 1, q->v = v.n, 0);
    if (ZQ_IS("body")) {
        if (zq__head(r, &v) || (v.t != ZT_BIN && v.t != ZT_STR))
            return snprintf(why, wn, "'body' must be bin or str"), -1;
        return q->body = (const char *)v.s, q->bodyn = v.n, q->has_body = 1, 0;
    }
    if (ZQ_IS("cid")) {
        if (zq__head(r, &v) || (v.t != ZT_STR && v.t != ZT_INT))
            return snprintf(why, wn, "'cid' must be a string or an "
                            "integer"), -1;
        return q->cid = at, q->cidn = (size_t)(r->p - at), 0;
    }
#undef ZQ_IS
    return zq__skip(r, 1) ? (snprintf(why, wn, "unreadable value"), -1) : 0;
}

int zq_parse(const void *p, size_t n, zq_req *q, char *why, size_t wn)
{
    zq_rd r = {p, (const unsigned char *)p + n};
    zq_val m, k;
    memset(q, 0, sizeof *q);
    if (zq__head(&r, &m) || m.t != ZT_MAP)
        return snprintf(why, wn, "request: not a msgpack map"), -1;
    for (uint64_t i = 0; i < m.n; i++) {
        if (zq__head(&r, &k) || k.t != ZT_STR)
            return snprintf(why, wn, "request: key %llu is not a string",
                            (unsigned long long)i), -1;
        char w[160];
        if (zq__field(&r, &k, q, w, sizeof w))
            return snprintf(why, wn, "request: %s", w), -1;
    }
    if (r.p != r.end)
        return snprintf(why, wn, "request: %zu bytes after the map",
                        (size_t)(r.end - r.p)), -1;
    if (!q->has_v || q->v != 1)
        return snprintf(why, wn, "request: 'v' must be 1"), -1;
    if (!q->has_body)
        return snprintf(why, wn, "request: 'body' is missing"), -1;
    return 0;
}

/* ---- the reply ---- */

static int zq__write(void *data, const char *p, size_t n)
{
    return buf_add(data, p, n) ? -1 : 0;
}

static void zq__pstr(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

#define ZQ_KEY(pk, k) zq__pstr(pk, k, sizeof k - 1)

/* problems: one str per line of the ingest's problem lines. */
static void zq__problems(msgpack_packer *pk, const buf_t *b)
{
    size_t n = 0;
    const char *p = b->p ? b->p : "", *end = p + b->len;
    for (const char *s = p; s < end; s = strchr(s, '\n') + 1, n++)
        if (!memchr(s, '\n', (size_t)(end - s)))
            break;
    msgpack_pack_array(pk, n);
    for (const char *s = p; n--; s = strchr(s, '\n') + 1)
        zq__pstr(pk, s, (size_t)(strchr(s, '\n') - s));
}

/* The reply to q in s->out: status, and ids (202) or error/problems. */
static void zq__pack(const conn_in *c, zq_st *s, const zq_req *q, int status,
                     const char *error, const ingest_res *r)
{
    msgpack_packer pk;
    buf_reset(&s->out);
    msgpack_packer_init(&pk, &s->out, zq__write);
    int retry = status == 429 || status == 503;
    msgpack_pack_map(&pk, 4 + (q && q->cid) + retry);
    ZQ_KEY(&pk, "v"), msgpack_pack_int(&pk, 1);
    if (q && q->cid) {
        ZQ_KEY(&pk, "cid");
        (void)buf_add(&s->out, q->cid, q->cidn); /* as the client sent it */
    }
    ZQ_KEY(&pk, "status"), msgpack_pack_int(&pk, status);
    if (status == 202) {
        ZQ_KEY(&pk, "ids"), msgpack_pack_array(&pk, r->n);
        for (size_t i = 0; i < r->n; i++)
            zq__pstr(&pk, r->ids[i], strlen(r->ids[i]));
        ZQ_KEY(&pk, "dup"), msgpack_pack_array(&pk, r->n);
        for (size_t i = 0; i < r->n; i++)
            r->dup[i] ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    } else {
        ZQ_KEY(&pk, "error"), zq__pstr(&pk, error, strlen(error));
        ZQ_KEY(&pk, "problems"), zq__problems(&pk, &s->res.problems);
    }
    if (retry) {
        int64_t ra = r && r->retry_after_s > 0 ? r->retry_after_s
                                               : c->cfg->api.retry_after_s;
        ZQ_KEY(&pk, "retry_after_s"), msgpack_pack_int64(&pk, ra);
    }
}

/* ---- one request ---- */

static int zq__status(const cfg *c, int rc)
{
    switch (rc) {
    case 0: return 202;
    case ERR_SYNTAX: return 400;
    case ERR_TOOBIG: return 413;
    case ERR_DENIED: return 403;
    case ERR_AGAIN: return intake_backlog() >= c->api.max_backlog ? 503 : 429;
    case ERR_IO: case ERR_NOMEM: return 503;
    default: return 422; /* ERR_INVALID, ERR_NOMAP: the input's problems */
    }
}

/* Every refusal is logged; back-pressure ones (429, 503) through a gate,
 * since a client pushing hard would get thousands a second. */
static void zq__refused(const conn_in *c, zq_st *s, const char *client,
                        int status, const char *why)
{
    unsigned long long held = 0;
    if ((status == 429 || status == 503) &&
        !log_gate_pass(&s->gate, ZQ_GATE_MS, &held))
        return;
    log_event(LOG_WARN, "zmq_refused", "conn=%s client=%s status=%d "
              "suppressed=%llu why=%s", c->cc->name, client ? client : "-",
              status, held, log_q(why));
}

/* Auth, limits and ingest for a parsed request: the status, e saying
 * why when refused; *ran once ingest_run judged it (and counted it). */
static int zq__ingest(const conn_in *c, zq_st *s, const zq_req *q,
                      const cfg_client **cl, int *ran, err_t *e)
{
    if (!q->key[0])
        return err_set(e, ERR_DENIED, "request: 'key' is missing"), 401;
    if (!(*cl = auth_by_key(c->cfg, q->key, e)))
        return 401;
    if ((int64_t)q->bodyn > c->cfg->api.max_body_bytes)
        return err_set(e, ERR_TOOBIG, "body of %zu bytes is over "
                       "api.max_body_bytes (%lld)", q->bodyn,
                       (long long)c->cfg->api.max_body_bytes), 413;
    if (!s->g && ingest_open(c->cfg, c->maps, &s->g, e))
        return 503;
    ingest_req iq = {c->cc->name, *cl, "body", q->body, q->bodyn,
                     q->map[0] ? q->map : c->cc->mapping,
                     q->idem[0] ? q->idem : NULL, 0};
    *ran = 1;
    return zq__status(c->cfg, ingest_run(s->g, &iq, &s->res, e));
}

static const char *zq__reason(int status)
{
    return status == 400 ? "syntax" : status == 401 ? "auth"
         : status == 413 ? "too_big" : "redis";
}

/* The reply for one request frame, packed in s->out. */
static void zq__handle(const conn_in *c, zq_st *s, const void *p, size_t n)
{
    zq_req q;
    err_t e = {0};
    char why[300];
    const cfg_client *cl = NULL;
    int status, ran = 0;
    buf_reset(&s->res.problems);
    s->res.n = 0;
    s->res.retry_after_s = 0;
    if (zq_parse(p, n, &q, why, sizeof why)) {
        err_set(&e, ERR_SYNTAX, "%s", why);
        status = 400;
    } else {
        status = zq__ingest(c, s, &q, &cl, &ran, &e);
    }
    if (status != 202 && !ran) { /* refused before ingest could count it */
        met_add(MET_REFUSED, c->cc->name, 1);
        met_add(MET_ERRORS, zq__reason(status), 1);
    }
    if (status != 202)
        zq__refused(c, s, cl ? cl->id : NULL, status, e.msg);
    zq__pack(c, s, &q, status, e.msg, &s->res);
}

/* ---- frames ---- */

static void zq__send(const conn_in *c, zq_st *s, zmq_msg_t *id, int delim)
{
    if (zmq_send(s->sock, zmq_msg_data(id), zmq_msg_size(id),
                 ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        (delim && zmq_send(s->sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) ||
        zmq_send(s->sock, s->out.p, s->out.len, ZMQ_DONTWAIT) < 0) {
        unsigned long long held;
        int err = zmq_errno(); /* EHOSTUNREACH: the client went away */
        if (log_gate_pass(&s->gate, ZQ_GATE_MS, &held))
            log_event(LOG_WARN, "zmq_reply_dropped", "conn=%s "
                      "suppressed=%llu why=%s", c->cc->name, held,
                      log_q(zmq_strerror(err)));
    }
}

/* Frames after the third are read and dropped; 1 when there were any. */
static int zq__drain(zq_st *s, int more)
{
    int extra = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s->sock, 0) < 0)
            more = 0;
        else
            more = zmq_msg_more(&m), extra = 1;
        zmq_msg_close(&m);
    }
    return extra;
}

/* One request taken and answered: 1, or 0 when none waits. */
static int zq__one(const conn_in *c, zq_st *s)
{
    zmq_msg_t f[3];
    int n = 0, more = 1;
    while (more && n < 3) {
        zmq_msg_init(&f[n]);
        if (zmq_msg_recv(&f[n], s->sock, n ? 0 : ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&f[n]);
            more = 0;
            break;
        }
        more = zmq_msg_more(&f[n++]);
    }
    if (n == 0)
        return 0;
    int extra = zq__drain(s, more);
    int delim = n == 3 && zmq_msg_size(&f[1]) == 0;
    if (n == 2 || (delim && !extra)) {
        zmq_msg_t *req = &f[n - 1];
        zq__handle(c, s, zmq_msg_data(req), zmq_msg_size(req));
    } else { /* a routing id and then not one request frame */
        zq_req q = {0};
        buf_reset(&s->res.problems);
        zq__refused(c, s, NULL, 400, "expected one request frame");
        zq__pack(c, s, &q, 400, "request: expected one msgpack frame "
                 "(after an empty delimiter frame for REQ)", &s->res);
    }
    if (n >= 2)
        zq__send(c, s, &f[0], delim);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return 1;
}

/* ---- the transport ---- */

static void zq_close(conn_in *c)
{
    zq_st *s = c->priv;
    if (!s)
        return;
    if (s->sock)
        zmq_close(s->sock);
    if (s->ctx)
        zmq_ctx_term(s->ctx);
    ingest_close(s->g);
    buf_free(&s->out);
    buf_free(&s->res.problems);
    free(s);
    c->priv = NULL;
}

static int zq__socket(zq_st *s, const cfg *cf, const char *ep)
{
    int64_t max = cf->api.max_body_bytes + ZQ_SLACK;
    int one = 1, hwm = ZQ_SNDHWM, linger = ZQ_LINGER_MS;
    return !(s->ctx = zmq_ctx_new()) ||
                   !(s->sock = zmq_socket(s->ctx, ZMQ_ROUTER)) ||
                   zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &max, sizeof max) ||
                   zmq_setsockopt(s->sock, ZMQ_ROUTER_MANDATORY, &one,
                                  sizeof one) ||
                   zmq_setsockopt(s->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
                   zmq_setsockopt(s->sock, ZMQ_LINGER, &linger,
                                  sizeof linger) ||
                   zmq_bind(s->sock, ep)
               ? -1
               : 0;
}

static int zq_open(conn_in *c, err_t *e)
{
    const char *ep = c->cc->listen;
    if (!ep || !*ep)
        return err_set(e, ERR_CONFIG, "a zmq connector needs listen");
    zq_st *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(e, ERR_NOMEM, "zmq: out of memory");
    buf_init(&s->out, ZQ_REPLY_MAX);
    buf_init(&s->res.problems, (size_t)1 << 20);
    c->priv = s;
    if (zq__socket(s, c->cfg, ep)) {
        int rc = err_set(e, ERR_CONFIG, "listen %s: %s", ep,
                         zmq_strerror(zmq_errno()));
        zq_close(c);
        return rc;
    }
    return 0;
}

static void zq_run(conn_in *c)
{
    zq_st *s = c->priv;
    log_event(LOG_INFO, "zmq_started", "conn=%s listen=%s", c->cc->name,
              c->cc->listen);
    while (!atomic_load(c->stop)) {
        zmq_pollitem_t it = {s->sock, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&it, 1, ZQ_POLL_MS);
        if (rc < 0 && zmq_errno() != EINTR) {
            log_event(LOG_ERROR, "zmq_poll_failed", "conn=%s why=%s",
                      c->cc->name, log_q(zmq_strerror(zmq_errno())));
            nanosleep(&(struct timespec){0, ZQ_POLL_MS * 1000000L}, NULL);
        }
        for (int i = 0; rc > 0 && i < ZQ_ROUND && !atomic_load(c->stop); i++)
            if (!zq__one(c, s))
                break;
    }
}

const conn_in_ops conn_zmq_ops = {CFG_CONN_ZMQ, zq_open, zq_run, zq_close};
