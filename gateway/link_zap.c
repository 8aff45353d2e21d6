/* link: the ZAP handler (RFC 27) that decides which CURVE clients the
 * ROUTER accepts, and the allow-list behind it. See link.h. */
#include "link_int.h"

#include <stdio.h>
#include <string.h>

#define ZAP__ENDPOINT "inproc://zeromq.zap.01" /* fixed by libzmq */
#define ZAP__FRAMES 8       /* a CURVE request has 7 */
#define ZAP__BATCH 64       /* requests answered per call, then poll again */

enum { ZQ_VERSION, ZQ_REQID, ZQ_DOMAIN, ZQ_ADDRESS, ZQ_IDENTITY,
       ZQ_MECHANISM, ZQ_KEY, ZQ_NFRAMES };

int link__key(const char *z85, unsigned char out[LINK__KEY_LEN])
{
    if (!z85 || strlen(z85) != LINK_KEY_Z85_LEN)
        return -1;
    return zmq_z85_decode(out, z85) ? 0 : -1;
}

static int link__id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n < 1 || n > LINK_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] >= 0x7f)
            return 0;
    return 1;
}

int link_allow(link_t *l, const char *id, const char *curve_public, err_t *e)
{
    unsigned char key[LINK__KEY_LEN];
    if (!link__id_ok(id))
        return err_set(e, ERR_INVALID, "link allow: bad node id '%s'",
                       id ? id : "(null)");
    if (link__key(curve_public, key) != 0)
        return err_set(e, ERR_INVALID,
                       "link allow %s: CURVE public key is not %d Z85 "
                       "characters", id, LINK_KEY_Z85_LEN);
    int i = 0;
    while (i < l->nallow && memcmp(l->allow[i].key, key, sizeof key) != 0)
        i++;
    if (i == LINK_ALLOW_MAX)
        return err_set(e, ERR_TOOBIG, "link allow %s: more than %d keys",
                       id, LINK_ALLOW_MAX);
    memcpy(l->allow[i].key, key, sizeof key);
    snprintf(l->allow[i].id, sizeof l->allow[i].id, "%s", id);
    if (i == l->nallow)
        l->nallow++;
    return 0;
}

void link_allow_reset(link_t *l)
{
    memset(l->allow, 0, sizeof l->allow);
    l->nallow = 0;
}

static const char *link__allowed(const link_t *l, const zmq_msg_t *key)
{
    if (zmq_msg_size((zmq_msg_t *)key) != LINK__KEY_LEN)
        return NULL;
    const void *k = zmq_msg_data((zmq_msg_t *)key);
    for (int i = 0; i < l->nallow; i++)
        if (memcmp(l->allow[i].key, k, LINK__KEY_LEN) == 0)
            return l->allow[i].id;
    return NULL;
}

int link__zap_start(link_t *l, err_t *e)
{
    l->zap = zmq_socket(l->ctx, ZMQ_REP);
    if (!l->zap)
        return err_set(e, ERR_NOMEM, "link: ZAP socket: %s",
                       zmq_strerror(zmq_errno()));
    if (link__opt(l->zap, ZMQ_LINGER, 0, "ZAP linger", e) != 0)
        return e ? e->code : ERR_IO;
    if (zmq_bind(l->zap, ZAP__ENDPOINT) != 0)
        return err_set(e, ERR_IO, "link: ZAP bind %s: %s", ZAP__ENDPOINT,
                       zmq_strerror(zmq_errno()));
    return 0;
}

/* Reads one whole request into m (frames past ZAP__FRAMES are dropped);
 * returns the number of frames, 0 when nothing is waiting. */
static int link__zap_recv(void *s, zmq_msg_t m[ZAP__FRAMES])
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, s, n ? 0 : ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&f);
            break;
        }
        more = zmq_msg_more(&f);
        if (n < ZAP__FRAMES)
            m[n] = f;
        else
            zmq_msg_close(&f);
        n++;
    }
    return n < ZAP__FRAMES ? n : ZAP__FRAMES;
}

static void link__zap_send(void *s, const zmq_msg_t *reqid, const char *code,
                           const char *text, const char *user)
{
    const void *rid = reqid ? zmq_msg_data((zmq_msg_t *)reqid) : "";
    size_t rn = reqid ? zmq_msg_size((zmq_msg_t *)reqid) : 0;
    zmq_send(s, "1.0", 3, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(s, rid, rn, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(s, code, strlen(code), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(s, text, strlen(text), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(s, user, strlen(user), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(s, "", 0, ZMQ_DONTWAIT);
}

static int link__frame_is(zmq_msg_t *m, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), s, n) == 0;
}

static void link__zap_refuse(link_t *l, zmq_msg_t m[ZAP__FRAMES])
{
    char key[LINK_KEY_Z85_LEN + 1] = "", addr[128] = "";
    if (zmq_msg_size(&m[ZQ_KEY]) == LINK__KEY_LEN)
        zmq_z85_encode(key, zmq_msg_data(&m[ZQ_KEY]), LINK__KEY_LEN);
    size_t an = zmq_msg_size(&m[ZQ_ADDRESS]);
    an = an < sizeof addr - 1 ? an : sizeof addr - 1;
    memcpy(addr, zmq_msg_data(&m[ZQ_ADDRESS]), an);
    l->stats.zap_refused++;
    memcpy(l->stats.zap_last_key, key, sizeof key);
    link__zap_send(l->zap, &m[ZQ_REQID], "400", "unknown key", "");
    if (l->on_refused)
        l->on_refused(l->refused_ctx, key, addr);
}

/* One request: 200 with the peer's id as User-Id for a listed key in our
 * domain, 400 otherwise, 500 for a request libzmq would never send. */
static void link__zap_answer(link_t *l, zmq_msg_t m[ZAP__FRAMES], int n)
{
    const char *id = NULL;
    if (n < ZQ_NFRAMES || !link__frame_is(&m[ZQ_VERSION], "1.0")) {
        link__zap_send(l->zap, n > ZQ_REQID ? &m[ZQ_REQID] : NULL, "500",
                       "bad request", "");
        return;
    }
    if (link__frame_is(&m[ZQ_DOMAIN], LINK_ZAP_DOMAIN) &&
        link__frame_is(&m[ZQ_MECHANISM], "CURVE"))
        id = link__allowed(l, &m[ZQ_KEY]);
    if (id)
        link__zap_send(l->zap, &m[ZQ_REQID], "200", "OK", id);
    else
        link__zap_refuse(l, m);
}

void link__zap_serve(link_t *l)
{
    for (int i = 0; i < ZAP__BATCH; i++) {
        zmq_msg_t m[ZAP__FRAMES];
        int n = link__zap_recv(l->zap, m);
        if (n == 0)
            return;
        link__zap_answer(l, m, n);
        for (int j = 0; j < n; j++)
            zmq_msg_close(&m[j]);
    }
}
