/* link: the ROUTER, the DEALERs and the frames they move; see link.h. */
#include "link_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LINK__TTL_MAX_MS 6553599 /* ZMQ_HEARTBEAT_TTL's limit */

int link__opt(void *s, int opt, int v, const char *what, err_t *e)
{
    if (zmq_setsockopt(s, opt, &v, sizeof v) == 0)
        return 0;
    return err_set(e, ERR_IO, "link: socket option %s: %s", what,
                   zmq_strerror(zmq_errno()));
}

int link__opts(void *s, const link__sopt *o, size_t n, err_t *e)
{
    for (size_t i = 0; i < n; i++)
        if (zmq_setsockopt(s, o[i].opt, o[i].v, o[i].n) != 0)
            return err_set(e, ERR_IO, "link: socket option %s: %s",
                           o[i].what, zmq_strerror(zmq_errno()));
    return 0;
}

int link__common(const link_t *l, void *s, err_t *e)
{
    static const int zero = 0;
    int hb = (int)l->hb_ms, hbt = (int)l->hb_timeout_ms;
    const link__sopt o[] = {
        {ZMQ_LINGER, &zero, sizeof zero, "linger"},
        {ZMQ_SNDHWM, &l->hwm, sizeof l->hwm, "sndhwm"},
        {ZMQ_RCVHWM, &l->hwm, sizeof l->hwm, "rcvhwm"},
        {ZMQ_HEARTBEAT_IVL, &hb, sizeof hb, "heartbeat"},
        {ZMQ_HEARTBEAT_TIMEOUT, &hbt, sizeof hbt, "heartbeat timeout"},
        {ZMQ_HEARTBEAT_TTL, &hbt, sizeof hbt, "heartbeat ttl"},
    };
    /* heartbeat_ms 0: no heartbeats, so the last three are not set */
    return link__opts(s, o, hb ? 6 : 3, e);
}

static int link__conf_check(const link_conf *c, err_t *e)
{
    if (!c->self_id || !*c->self_id || strlen(c->self_id) > LINK_ID_MAX)
        return err_set(e, ERR_CONFIG, "link: bad node id");
    if (!c->listen || !*c->listen)
        return err_set(e, ERR_CONFIG, "link %s: no listen endpoint",
                       c->self_id);
    if (c->hwm <= 0 || c->max_frame_bytes <= 0)
        return err_set(e, ERR_CONFIG, "link %s: hwm and max_frame_bytes "
                       "must be positive", c->self_id);
    if (c->heartbeat_ms < 0 || c->heartbeat_ms > INT_MAX ||
        c->heartbeat_timeout_ms < 0 ||
        c->heartbeat_timeout_ms > LINK__TTL_MAX_MS)
        return err_set(e, ERR_CONFIG, "link %s: heartbeat %lld ms / timeout "
                       "%lld ms out of range", c->self_id,
                       (long long)c->heartbeat_ms,
                       (long long)c->heartbeat_timeout_ms);
    return 0;
}

/* Both keys readable and the public one the secret's: a mismatch would
 * otherwise show only as peers failing to connect. */
static int link__keys(link_t *l, const link_conf *c, err_t *e)
{
    char derived[LINK_KEY_Z85_LEN + 1];
    if (link__key(c->curve_public, l->pub) != 0 ||
        link__key(c->curve_secret, l->sec) != 0)
        return err_set(e, ERR_CONFIG, "link %s: CURVE keys must be %d Z85 "
                       "characters", c->self_id, LINK_KEY_Z85_LEN);
    if (zmq_curve_public(derived, c->curve_secret) != 0 ||
        strcmp(derived, c->curve_public) != 0)
        return err_set(e, ERR_CONFIG, "link %s: CURVE public key is not the "
                       "secret key's", c->self_id);
    return 0;
}

static int link__router(link_t *l, const link_conf *c, err_t *e)
{
    static const int one = 1;
    int64_t max = c->max_frame_bytes;
    const link__sopt o[] = {
        {ZMQ_ROUTER_MANDATORY, &one, sizeof one, "router mandatory"},
        {ZMQ_MAXMSGSIZE, &max, sizeof max, "maxmsgsize"},
        {ZMQ_CURVE_SERVER, &one, sizeof one, "curve server"},
        {ZMQ_CURVE_SECRETKEY, l->sec, sizeof l->sec, "curve secret"},
        {ZMQ_ZAP_DOMAIN, LINK_ZAP_DOMAIN, strlen(LINK_ZAP_DOMAIN),
         "zap domain"},
    };
    if (!(l->router = zmq_socket(l->ctx, ZMQ_ROUTER)))
        return err_set(e, ERR_NOMEM, "link: ROUTER: %s",
                       zmq_strerror(zmq_errno()));
    int rc = link__common(l, l->router, e);
    if (rc || (rc = link__opts(l->router, o, sizeof o / sizeof o[0], e)))
        return rc;
    if (zmq_bind(l->router, c->listen) != 0)
        return err_set(e, ERR_CONFIG, "link %s: bind %s: %s", c->self_id,
                       c->listen, zmq_strerror(zmq_errno()));
    size_t n = sizeof l->endpoint;
    if (zmq_getsockopt(l->router, ZMQ_LAST_ENDPOINT, l->endpoint, &n) != 0)
        snprintf(l->endpoint, sizeof l->endpoint, "%s", c->listen);
    return 0;
}

/* Everything of link_new that cannot fail. */
static void link__init(link_t *l, const link_conf *c)
{
    zmq_msg_init(&l->in[0]);
    zmq_msg_init(&l->in[1]);
    zmq_msg_init(&l->ack);
    snprintf(l->self_id, sizeof l->self_id, "%s", c->self_id);
    l->hb_ms = c->heartbeat_ms;
    l->hb_timeout_ms = c->heartbeat_timeout_ms;
    l->hwm = c->hwm;
    l->on_refused = c->on_refused;
    l->refused_ctx = c->refused_ctx;
    l->on_switch = c->on_switch;
    l->switch_ctx = c->switch_ctx;
}

int link_new(const link_conf *c, link_t **out, err_t *e)
{
    *out = NULL;
    int rc = link__conf_check(c, e);
    if (rc)
        return rc;
    link_t *l = calloc(1, sizeof *l);
    if (!l)
        return err_set(e, ERR_NOMEM, "link %s: out of memory", c->self_id);
    link__init(l, c);
    l->watch_fd = -1;
    rc = link__keys(l, c, e);
    if (!rc && !(l->ctx = zmq_ctx_new()))
        rc = err_set(e, ERR_NOMEM, "link: context: %s",
                     zmq_strerror(zmq_errno()));
    /* the ZAP handler first: a CURVE server without one accepts anybody */
    if (!rc)
        rc = link__zap_start(l, e);
    if (!rc)
        rc = link__router(l, c, e);
    if (rc) {
        link_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void link_free(link_t *l)
{
    if (!l)
        return;
    for (int i = 0; i < LINK_PEERS_MAX; i++)
        link__peer_close(&l->peers[i]);
    if (l->router)
        zmq_close(l->router);
    if (l->zap)
        zmq_close(l->zap);
    if (l->ctx)
        zmq_ctx_term(l->ctx);
    zmq_msg_close(&l->in[0]);
    zmq_msg_close(&l->in[1]);
    zmq_msg_close(&l->ack);
    explicit_bzero(l->sec, sizeof l->sec);
    free(l);
}

const char *link_endpoint(const link_t *l) { return l->endpoint; }

int64_t link__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* items: ROUTER, ZAP, the watched fd (if any), then per peer its DEALER
 * and its monitor; idx[k] is the peer of item k (-1 for the first ones).
 * Returns the count; *base is where the peers start. */
static int link__items(link_t *l, zmq_pollitem_t *it, int *idx, int *base)
{
    int n = 0;
    it[n] = (zmq_pollitem_t){.socket = l->router, .events = ZMQ_POLLIN};
    idx[n++] = -1;
    it[n] = (zmq_pollitem_t){.socket = l->zap, .events = ZMQ_POLLIN};
    idx[n++] = -1;
    if (l->watch_fd >= 0) {
        it[n] = (zmq_pollitem_t){.fd = l->watch_fd, .events = ZMQ_POLLIN};
        idx[n++] = -1;
    }
    *base = n;
    for (int i = 0; i < LINK_PEERS_MAX; i++) {
        if (!l->peers[i].dealer)
            continue;
        it[n] = (zmq_pollitem_t){.socket = l->peers[i].dealer,
                                 .events = ZMQ_POLLIN};
        idx[n++] = i;
        it[n] = (zmq_pollitem_t){.socket = l->peers[i].mon,
                                 .events = ZMQ_POLLIN};
        idx[n++] = i;
    }
    return n;
}

/* Serves ZAP and monitors; 1 when a data socket (or the watched fd) is
 * readable or a peer went up or down. */
static int link__serve(link_t *l, const zmq_pollitem_t *it, const int *idx,
                       int n, int base)
{
    int data = (it[0].revents & ZMQ_POLLIN) != 0;
    if (it[1].revents & ZMQ_POLLIN)
        link__zap_serve(l);
    if (base == 3 && (it[2].revents & (ZMQ_POLLIN | ZMQ_POLLERR))) {
        l->watch_ready = 1;
        data = 1;
    }
    for (int k = base; k < n; k += 2) {
        if (it[k + 1].revents & ZMQ_POLLIN)
            data |= link__mon_read(l, idx[k]);
        data |= (it[k].revents & ZMQ_POLLIN) != 0;
    }
    return data;
}

void link_watch_fd(link_t *l, int fd)
{
    l->watch_fd = fd;
    l->watch_ready = 0;
}

int link_fd_ready(link_t *l)
{
    int r = l->watch_ready;
    l->watch_ready = 0;
    return r;
}

int link_wait(link_t *l, int64_t timeout_ms, err_t *e)
{
    zmq_pollitem_t it[3 + 2 * LINK_PEERS_MAX];
    int idx[3 + 2 * LINK_PEERS_MAX], base;
    int64_t end = link__now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int n = link__items(l, it, idx, &base);
        int64_t now = link__now_ms(), redial = link__redial(l, now);
        int64_t left = -1;
        if (timeout_ms >= 0)
            left = end > now ? end - now : 0;
        int64_t step = left;
        if (redial >= 0 && (step < 0 || redial < step))
            step = redial;
        int rc = zmq_poll(it, n, (long)step);
        if (rc < 0 && zmq_errno() == EINTR)
            return 0;
        if (rc < 0)
            return err_set(e, ERR_IO, "link %s: poll: %s", l->self_id,
                           zmq_strerror(zmq_errno()));
        if ((rc > 0 && link__serve(l, it, idx, n, base)) || left == 0)
            return 0;
    }
}
