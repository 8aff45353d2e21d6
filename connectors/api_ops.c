/* api_ops: what operators and their tools poll: GET /healthz (is the node
 * answering, is its Redis reachable), GET /readyz (should a load balancer
 * or a neighbour send here: Redis is the primary and has the replicas
 * redis.wait_replicas asks for, docs/ha.md) and GET /metrics (the Prometheus
 * text of metrics.h). Both open to callers without a key, as probes and
 * scrapers expect. */
#include "api_int.h"

#include "metrics.h"
#include "store_local.h"
#include "store_repl.h"

#define API_METRICS_MAX (4u << 20)

enum MHD_Result api_health(api_req *q)
{
    err_t e;
    api_tls *t = api_tls_get(q->a, &e);
    int up = t && store_local_len(api_store(t), &e) >= 0;
    json_t *o = json_pack("{s:s, s:s, s:s}", "status", up ? "ok" : "down",
                          "node", q->a->c->node.id, "redis",
                          up ? "up" : "down");
    if (!up) {
        json_object_set_new(o, "message", json_string(e.msg));
        met_add(MET_ERRORS, "redis", 1);
    }
    return api_reply_json(q, up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                          o);
}

/* Why this instance is not ready, or NULL when it is. */
static const char *ops__unready(const store_repl_info *ri, int64_t need)
{
    if (!ri->primary)
        return "redis is not the primary (a replica, or failing over)";
    if (ri->replicas < need)
        return "fewer replicas connected than redis.wait_replicas";
    return NULL;
}

enum MHD_Result api_ready(api_req *q)
{
    err_t e;
    store_repl_info ri = {0};
    api_tls *t = api_tls_get(q->a, &e);
    int up = t && store_repl_info_get(api_store(t), &ri, &e) == 0;
    int64_t need = q->a->c->redis.wait_replicas;
    const char *why = up ? ops__unready(&ri, need) : e.msg;
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I}", "status",
                          why ? "not_ready" : "ready", "node",
                          q->a->c->node.id, "instance",
                          q->a->c->node.instance, "redis_primary",
                          ri.primary, "replicas", (json_int_t)ri.replicas,
                          "wait_replicas", (json_int_t)need,
                          "lag_bytes", (json_int_t)ri.lag_bytes);
    if (why)
        json_object_set_new(o, "message", json_string(why));
    return api_reply_json(q, why ? MHD_HTTP_SERVICE_UNAVAILABLE
                                 : MHD_HTTP_OK, o);
}

enum MHD_Result api_metrics(api_req *q)
{
    buf_t b;
    err_t e;
    buf_init(&b, API_METRICS_MAX);
    enum MHD_Result r;
    if (met_render(&b, &e))
        r = api_reply_error(q, 500, e.msg, NULL, NULL, NULL);
    else
        r = api_reply_text(q, MHD_HTTP_OK, "text/plain; version=0.0.4",
                           b.p ? b.p : "", b.len);
    buf_free(&b);
    return r;
}
