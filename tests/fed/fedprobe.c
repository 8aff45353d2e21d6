/* fedprobe: impersonates a configured peer of a running eportd and sends
 * it crafted frames, to show how the node treats forgeries and garbage.
 * It holds the peer's PKI files (its CURVE pair for the link, its signing
 * key for envelopes), connects a DEALER to the node's ROUTER through
 * gateway/link.h, follows the link rules (learn the node's `last` from a
 * gap ack, then send with prev = last) and prints each link ack it gets:
 *
 *   frame mode=forged-sig id=01J... prev=0-0 pos=1732440000000-0 ack=1732440000000-0 gap=0
 *   frame mode=oversized id=- prev=... pos=... ack=none
 *   probe mode=forged-sig up=1 frames=1 acked=1
 *
 * A refused frame is still acked (dead-lettered counts as handled), so the
 * ack alone says little: tests/fed/test_security.py reads the node's log,
 * inbox and dead letters to see what became of it. Exit 0 once the probe
 * ran (whatever the node answered), 1 on a local error, 2 on bad usage. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "arena.h"
#include "buf.h"
#include "envelope.h"
#include "err.h"
#include "lframe.h"
#include "link.h"
#include "model_json.h"
#include "model_pack.h"
#include "pki.h"

#define FP_PAYLOAD_MAX (64u << 10)
#define FP_FRAME_MAX (ENV_MAX_FRAME + 1024u)
#define FP_TRIES 4 /* sends of one frame: gap acks make it resend */

static const char *const fp_modes[] = {
    "good", "forged-sig", "tampered-payload", "replay", "unknown-signer",
    "revoked", "wrong-region", "malformed", "oversized", "unknown-key", NULL};

typedef struct probe {
    const char *mode, *pki, *as, *target, *endpoint, *to, *signer;
    size_t size;       /* oversized: body bytes */
    int then_good;     /* afterwards, one good record on the same link */
    int64_t timeout_ms;
    link_t *l;
    int peer;
    lpos last;         /* newest position the node acked (or we sent) */
    unsigned seq;      /* makes each record's payload, so digest, unique */
    int frames, acked;
} probe;

static int64_t fp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first line of a small text file (a Z85 key), without blanks. */
static int fp_read_line(const char *path, char *out, size_t cap, err_t *e)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(e, ERR_IO, "%s: cannot open: %m", path);
    char *got = fgets(out, (int)cap, f);
    fclose(f);
    if (!got)
        return err_set(e, ERR_IO, "%s: empty", path);
    out[strcspn(out, " \t\r\n")] = '\0';
    return 0;
}

static int fp_key_file(const probe *p, const char *id, const char *ext,
                       char *out, size_t cap, err_t *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", p->pki, id, ext);
    return fp_read_line(path, out, cap, e);
}

/* ---- the link ------------------------------------------------------------ */

/* CURVE pair of the peer we pretend to be, or a fresh one nobody knows. */
static int fp_curve(const probe *p, char pub[41], char sec[41], err_t *e)
{
    if (strcmp(p->mode, "unknown-key") == 0)
        return zmq_curve_keypair(pub, sec) == 0
                   ? 0 : err_set(e, ERR_UNSUPPORTED, "libzmq without CURVE");
    int rc = fp_key_file(p, p->as, "curve.pub", pub, 41, e);
    return rc ? rc : fp_key_file(p, p->as, "curve.key", sec, 41, e);
}

static int fp_link_open(probe *p, err_t *e)
{
    char pub[41], sec[41], server[41];
    int rc = fp_curve(p, pub, sec, e);
    if (!rc)
        rc = fp_key_file(p, p->target, "curve.pub", server, sizeof server, e);
    if (rc)
        return rc;
    link_conf c = {.self_id = p->as, .listen = "tcp://127.0.0.1:*",
                   .curve_public = pub, .curve_secret = sec,
                   .heartbeat_ms = 0, .max_frame_bytes = 1 << 16,
                   .hwm = 1000};
    rc = link_new(&c, &p->l, e);
    if (rc)
        return rc;
    const char *eps[] = {p->endpoint};
    p->peer = link_peer_add(p->l, p->target, eps, 1, server, e);
    return p->peer < 0 ? p->peer : 0;
}

/* Serve the link until the DEALER is past the handshake, or time out. */
static int fp_wait_up(probe *p, int64_t deadline, err_t *e)
{
    while (!link_peer_up(p->l, p->peer)) {
        int64_t left = deadline - fp_now_ms();
        if (left <= 0)
            return 0;
        int rc = link_wait(p->l, left < 50 ? left : 50, e);
        if (rc)
            return rc;
    }
    return 1;
}

/* One ack, or 0 when none came before the deadline. */
static int fp_wait_ack(probe *p, int64_t deadline, lpos *last, int *gap,
                       err_t *e)
{
    for (;;) {
        int peer, rc;
        const void *d;
        size_t n;
        while ((rc = link_recv_ack(p->l, &peer, &d, &n, e)) == 1)
            if (lframe_ack_decode(d, n, last, gap, e) == 0)
                return 1;
        if (rc < 0)
            return rc;
        int64_t left = deadline - fp_now_ms();
        if (left <= 0)
            return 0;
        if ((rc = link_wait(p->l, left, e)) != 0)
            return rc;
    }
}

/* A position after everything seen on this link: a stream id "now-0". */
static lpos fp_next_pos(const probe *p)
{
    lpos pos = {(uint64_t)fp_now_ms(), 0};
    if (lpos_cmp(pos, p->last) <= 0)
        pos = (lpos){p->last.ms + 1, 0};
    return pos;
}

static void fp_print(const char *mode, const char *id, lpos prev, lpos pos,
                     int got, lpos last, int gap)
{
    printf("frame mode=%s id=%s prev=%llu-%llu pos=%llu-%llu ", mode,
           id ? id : "-", (unsigned long long)prev.ms,
           (unsigned long long)prev.seq, (unsigned long long)pos.ms,
           (unsigned long long)pos.seq);
    if (got)
        printf("ack=%llu-%llu gap=%d\n", (unsigned long long)last.ms,
               (unsigned long long)last.seq, gap);
    else
        printf("ack=none\n");
    fflush(stdout);
}

/* Send [hdr(prev, pos), body] once; 1 with the ack, 0 without one. */
static int fp_send_once(probe *p, lpos prev, lpos pos, const buf_t *body,
                        lpos *last, int *gap, err_t *e)
{
    unsigned char hdr[LFRAME_MAX];
    size_t hn;
    int64_t deadline = fp_now_ms() + p->timeout_ms;
    int rc = lframe_hdr_encode(prev, pos, hdr, &hn, e);
    while (!rc) {
        rc = fp_wait_up(p, deadline, e);
        if (rc <= 0)
            return rc;
        rc = link_send(p->l, p->peer, hdr, hn, body->p, body->len, e);
        if (rc == 0)
            break;
        if (fp_now_ms() >= deadline)
            return 0;
        rc = link_wait(p->l, 20, e); /* ERR_AGAIN: not up or full */
    }
    p->frames++;
    return rc ? rc : fp_wait_ack(p, deadline, last, gap, e);
}

/* Send body at a new position after the node's last, resending after a
 * gap ack as a sender does after a restart. prev_out/pos_out (may be
 * NULL) get the header of the last send. */
static int fp_send(probe *p, const char *mode, const char *id,
                   const buf_t *body, lpos *pos_out, err_t *e)
{
    lpos prev = p->last, pos = fp_next_pos(p), last = {0, 0};
    int got = 0, gap = 0;
    for (int i = 0; i < FP_TRIES; i++) {
        got = fp_send_once(p, prev, pos, body, &last, &gap, e);
        if (got < 0)
            return got;
        fp_print(mode, id, prev, pos, got, last, gap);
        if (!got || !gap)
            break;
        p->last = last; /* node is elsewhere: continue after its last */
        prev = last;
        pos = fp_next_pos(p);
    }
    if (got && !gap) {
        p->acked++;
        p->last = last; /* the next frame follows what the node holds */
    }
    if (pos_out)
        *pos_out = pos;
    return 0;
}

/* ---- envelopes ------------------------------------------------------------ */

/* A small canonical record; the sequence number makes its digest unique. */
static int fp_payload(probe *p, buf_t *out, err_t *e)
{
    char json[256];
    snprintf(json, sizeof json,
             "{\"kind\":\"status\",\"status\":{\"event\":\"gate_in\","
             "\"description\":\"fedprobe %s %ld-%u\"}}",
             p->mode, (long)getpid(), p->seq++);
    arena_t a;
    arena_init(&a, 1 << 20);
    model_record *r;
    int rc = model_json_read(json, strlen(json), &a, &r, e);
    if (!rc)
        rc = model_pack(r, out, e);
    arena_free(&a);
    return rc;
}

/* The key that signs as signer: its own when the PKI holds one, otherwise
 * (unknown-signer: no such node) the impersonated peer's. */
static int fp_sign_key(const probe *p, const char *signer, pki_key **k,
                       err_t *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.key", p->pki, signer);
    if (access(path, F_OK) != 0)
        snprintf(path, sizeof path, "%s/%s.key", p->pki, p->as);
    return pki_key_load(path, k, e);
}

/* Damage done after signing, as the mode says. */
static void fp_spoil(const char *mode, env *v, unsigned char *sig,
                     unsigned char *payload)
{
    if (strcmp(mode, "forged-sig") == 0)
        sig[v->sig_len - 1] ^= 0x01;
    if (strcmp(mode, "tampered-payload") == 0) {
        void *at = memmem(payload, v->payload_len, "fedprobe", 8);
        if (at)
            *(char *)at = 'F'; /* still a valid record, other bytes */
    }
}

/* v: a record from signer to p->to carrying a copy of payload (in a), with
 * p->as appended to the route when it is only the hop. Unsigned. */
static int fp_fill(const probe *p, const char *signer, const buf_t *payload,
                   arena_t *a, env *v, err_t *e)
{
    const char **dest = arena_alloc(a, sizeof *dest);
    unsigned char *body = arena_alloc(a, payload->len + 1);
    if (!dest || !body)
        return err_set(e, ERR_NOMEM, "fedprobe: envelope: out of memory");
    int rc = env_init(v, "record", signer, a, e);
    if (!rc && strcmp(signer, p->as) != 0)
        rc = env_route_add(v, p->as, a, e);
    dest[0] = p->to;
    memcpy(body, payload->p, payload->len);
    v->dest = dest, v->ndest = 1, v->ref = "fedprobe";
    v->payload = body, v->payload_len = payload->len;
    return rc;
}

/* Sign v with k into sig (PKI_SIG_MAX bytes), as an origin does. */
static int fp_sign(env *v, const pki_key *k, unsigned char *sig, err_t *e)
{
    buf_t canon;
    size_t siglen = PKI_SIG_MAX;
    buf_init(&canon, FP_FRAME_MAX);
    snprintf(v->sig_alg, sizeof v->sig_alg, "%s", pki_alg_name(pki_key_alg(k)));
    int rc = env_signed_bytes(v, &canon, e);
    if (!rc)
        rc = pki_sign(k, canon.p, canon.len, sig, &siglen, e);
    v->sig = sig, v->sig_len = siglen;
    buf_free(&canon);
    return rc;
}

static int fp_envelope(probe *p, const char *mode, const char *signer,
                       const buf_t *payload, arena_t *a, buf_t *out,
                       char id[MSGID_LEN + 1], err_t *e)
{
    pki_key *k = NULL;
    env v;
    unsigned char sig[PKI_SIG_MAX];
    int rc = fp_sign_key(p, signer, &k, e);
    if (!rc)
        rc = fp_fill(p, signer, payload, a, &v, e);
    if (!rc)
        rc = fp_sign(&v, k, sig, e);
    if (!rc) {
        fp_spoil(mode, &v, sig, (unsigned char *)v.payload);
        rc = env_encode(&v, out, e);
        memcpy(id, v.id, sizeof v.id);
    }
    pki_key_free(k);
    return rc;
}

/* One signed record for mode, sent; its id goes to id (may be NULL). */
static int fp_record(probe *p, const char *mode, const char *signer,
                     buf_t *frame, char id[MSGID_LEN + 1], err_t *e)
{
    buf_t payload;
    arena_t a;
    buf_init(&payload, FP_PAYLOAD_MAX);
    arena_init(&a, 1 << 20);
    int rc = fp_payload(p, &payload, e);
    if (!rc)
        rc = fp_envelope(p, mode, signer, &payload, &a, frame, id, e);
    arena_free(&a);
    buf_free(&payload);
    return rc ? rc : fp_send(p, mode, id, frame, NULL, e);
}

/* ---- modes ---------------------------------------------------------------- */

/* The same envelope twice at two link positions (an origin's resend: must
 * not be applied again), then the second frame once more as it was (a
 * link-level repeat: must be recognised as old). */
static int fp_replay(probe *p, err_t *e)
{
    buf_t frame;
    char id[MSGID_LEN + 1];
    buf_init(&frame, FP_FRAME_MAX);
    int rc = fp_record(p, "replay", p->signer, &frame, id, e);
    lpos prev = p->last, pos;
    if (!rc)
        rc = fp_send(p, "replay", id, &frame, &pos, e);
    if (!rc) {
        lpos last;
        int gap, got = fp_send_once(p, prev, pos, &frame, &last, &gap, e);
        if (got >= 0)
            fp_print("replay", id, prev, pos, got, last, gap);
        rc = got < 0 ? got : 0;
    }
    buf_free(&frame);
    return rc;
}

/* Bytes that are no envelope: a 12-array header, then a type byte that
 * msgpack never uses (0xc1). */
static int fp_garbage(probe *p, err_t *e)
{
    buf_t body;
    buf_init(&body, p->size + 16);
    int rc;
    if (strcmp(p->mode, "malformed") == 0)
        rc = buf_add(&body, "\x9c\x01\xc1 not msgpack", 15);
    else if ((rc = buf_reserve(&body, p->size)) == 0) {
        memset(body.p, 0xc1, p->size); /* size alone decides its fate */
        buf_commit(&body, p->size);
    }
    if (!rc)
        rc = fp_send(p, p->mode, NULL, &body, NULL, e);
    buf_free(&body);
    return rc;
}

static int fp_run_mode(probe *p, err_t *e)
{
    buf_t frame;
    char id[MSGID_LEN + 1];
    const char *m = p->mode;
    if (strcmp(m, "replay") == 0)
        return fp_replay(p, e);
    if (strcmp(m, "malformed") == 0 || strcmp(m, "oversized") == 0)
        return fp_garbage(p, e);
    buf_init(&frame, FP_FRAME_MAX);
    int rc = fp_record(p, m, p->signer, &frame, id, e);
    buf_free(&frame);
    return rc;
}

static int fp_run(probe *p, err_t *e)
{
    int rc = fp_link_open(p, e);
    if (rc)
        return rc;
    int up = fp_wait_up(p, fp_now_ms() + p->timeout_ms, e);
    if (up < 0)
        return up;
    if (up && strcmp(p->mode, "unknown-key") != 0)
        rc = fp_run_mode(p, e);
    if (!rc && up && p->then_good) {
        buf_t frame;
        char id[MSGID_LEN + 1];
        buf_init(&frame, FP_FRAME_MAX);
        rc = fp_record(p, "good", p->as, &frame, id, e);
        buf_free(&frame);
    }
    printf("probe mode=%s up=%d frames=%d acked=%d\n", p->mode, up,
           p->frames, p->acked);
    return rc;
}

/* ---- command line --------------------------------------------------------- */

static void fp_usage(FILE *f)
{
    fprintf(f,
        "usage: fedprobe MODE --pki DIR --as PEER --target NODE --endpoint EP\n"
        "                [--to DEST] [--signer ID] [--size BYTES] [--then-good]\n"
        "                [--timeout-ms N]\n"
        "Pretend to be PEER (DIR/PEER.curve.pub/.curve.key/.key) towards NODE\n"
        "(its CURVE server key: DIR/NODE.curve.pub) listening at EP, send the\n"
        "frames of MODE and print each link ack.\n"
        "modes: good forged-sig tampered-payload replay unknown-signer revoked\n"
        "       wrong-region malformed oversized unknown-key\n"
        "  --to DEST      destination of records (default NODE)\n"
        "  --signer ID    origin and signer (default PEER; unknown-signer: ZZ);\n"
        "                 signed with DIR/ID.key when it exists, else PEER's\n"
        "  --size BYTES   body size for oversized (default 1048576)\n"
        "  --then-good    then send a good record on the same link\n"
        "  --timeout-ms N wait for the link and for each ack (default 3000)\n");
}

static int fp_known_mode(const char *m)
{
    for (size_t i = 0; fp_modes[i]; i++)
        if (strcmp(fp_modes[i], m) == 0)
            return 1;
    return 0;
}

static int fp_args(int argc, char **argv, probe *p)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = !strcmp(a, "--pki") ? &p->pki
                          : !strcmp(a, "--as") ? &p->as
                          : !strcmp(a, "--target") ? &p->target
                          : !strcmp(a, "--endpoint") ? &p->endpoint
                          : !strcmp(a, "--to") ? &p->to
                          : !strcmp(a, "--signer") ? &p->signer : NULL;
        if (!strcmp(a, "--then-good"))
            p->then_good = 1;
        else if (slot && v)
            *slot = v, i++;
        else if (!strcmp(a, "--size") && v)
            p->size = strtoul(v, NULL, 10), i++;
        else if (!strcmp(a, "--timeout-ms") && v)
            p->timeout_ms = strtol(v, NULL, 10), i++;
        else if (a[0] != '-' && !p->mode)
            p->mode = a;
        else
            return -1;
    }
    return p->mode && fp_known_mode(p->mode) && p->pki && p->as &&
           p->target && p->endpoint && p->size > 8 && p->timeout_ms > 0
               ? 0 : -1;
}

int main(int argc, char **argv)
{
    probe p = {.size = 1u << 20, .timeout_ms = 3000};
    if (argc == 2 && !strcmp(argv[1], "--help"))
        return fp_usage(stdout), 0;
    if (fp_args(argc, argv, &p) != 0)
        return fp_usage(stderr), 2;
    if (!p.to)
        p.to = p.target;
    if (!p.signer)
        p.signer = strcmp(p.mode, "unknown-signer") == 0 ? "ZZ" : p.as;
    err_t e = {0};
    int rc = fp_run(&p, &e);
    link_free(p.l);
    if (rc) {
        fprintf(stderr, "fedprobe: error: %s\n", e.msg);
        return 1;
    }
    return 0;
}
