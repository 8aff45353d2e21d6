/* pmforge: plays a federation member that answers permit requests it has
 * no authority to answer (a buggy or hostile implementation): signs, with
 * its own key and certificate, a `permit-res` answer to another node's
 * pending request (by its request id) claiming whatever code and balance
 * it likes, and queues it to that node. A permit answer counts only when
 * the permit's home signed it (docs/permits.md): the requester must
 * refuse it as a forgery (invalid-payload, "forged: ..."), dead-letter
 * it, raise a `permit-forged` alert and keep the request pending for the
 * home's genuine answer; tests/fed/test_permits.py checks that.
 *
 * With --bad-sig the answer is signed and then its signature spoilt (one
 * bit): even signed in the home's own name (its config) such a frame
 * must be dropped by the receiving link as bad-signature.
 *
 *   pmforge -c CONF --to SC --req RID --permit CQ-X [--op reserve]
 *           [--key KEY] [--code ok] [--left QTY] [--status valid]
 *           [--rsv reserved] [--bad-sig]
 *
 * --left is the balance claimed, a decimal amount (default 499). Prints
 * `id=...` (the envelope's id); exit 0 once queued, 1 on an error, 2 on
 * bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "envelope.h"
#include "node.h"
#include "pki.h"
#include "pmwire.h"
#include "store.h"

#define PF_FRAME_MAX (1u << 20)

typedef struct pf_args {
    const char *conf, *to, *req, *permit, *op, *key, *code, *left, *status;
    const char *rsv;
    int bad_sig;
} pf_args;

static int pf_args_read(int argc, char **argv, pf_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(k, "--bad-sig")) {
            a->bad_sig = 1;
            continue;
        }
        const char **slot = !strcmp(k, "-c") ? &a->conf
                          : !strcmp(k, "--to") ? &a->to
                          : !strcmp(k, "--req") ? &a->req
                          : !strcmp(k, "--permit") ? &a->permit
                          : !strcmp(k, "--op") ? &a->op
                          : !strcmp(k, "--key") ? &a->key
                          : !strcmp(k, "--code") ? &a->code
                          : !strcmp(k, "--left") ? &a->left
                          : !strcmp(k, "--status") ? &a->status
                          : !strcmp(k, "--rsv") ? &a->rsv : NULL;
        if (!slot || !v)
            return -1;
        *slot = v;
        i++;
    }
    return a->conf && a->to && a->req && a->permit ? 0 : -1;
}

static uint64_t pf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The answer a.* says, in the wire form, into out. */
static int pf_answer(const pf_args *a, buf_t *out, err_t *e)
{
    pm_ans ans = {.req = a->req, .permit = a->permit, .key = a->key,
                  .status = a->status ? a->status : "valid",
                  .kind = "automatic_import_licence", .usage = "quantity",
                  .at_ms = pf_now_ms()};
    int rc = pm_op_parse(a->op ? a->op : "reserve", &ans.op);
    if (rc == 0)
        rc = pm_code_parse(a->code ? a->code : "ok", &ans.code);
    if (rc < 0)
        return err_set(e, ERR_USAGE, "unknown --op or --code");
    if (ans.op == PM_OP_RESERVE || ans.op == PM_OP_CONFIRM)
        ans.rsv = a->rsv ? a->rsv : "reserved";
    ans.from_ms = ans.at_ms - 86400000;
    ans.to_ms = ans.at_ms + 86400000;
    ans.nleft = 1;
    if ((rc = pm_amount_parse(a->left ? a->left : "499", &ans.left[0].qty,
                              e)) < 0)
        return rc;
    if (ans.code != PM_C_OK)
        ans.text = "forged by pmforge";
    buf_t one;
    buf_init(&one, PM_MAX_BYTES);
    rc = pm_ans_encode(&ans, &one, e);
    pm_item it = {(const unsigned char *)one.p, one.len};
    if (rc == 0)
        rc = pm_batch_encode(&it, 1, out, e); /* the wire's batch form */
    buf_free(&one);
    return rc;
}

/* Signed with the node's key, then one bit of the signature flipped, and
 * submitted as the node submits its own messages (outbox of the next hop,
 * awaiting a receipt): what a link must drop as bad-signature. */
static int pf_bad_sig(node *n, const pf_args *a, const buf_t *p,
                      char id[MSGID_LEN + 1], err_t *e)
{
    const cfg *c = node_cfg(n);
    const cfg_peer *hop = cfg_next_hop(c, a->to);
    if (!hop)
        return err_set(e, ERR_INVALID, "no route to %s", a->to);
    arena_t ar;
    buf_t canon, frame;
    pki_key *k = NULL;
    env v;
    unsigned char sig[PKI_SIG_MAX];
    size_t siglen = sizeof sig;
    const char *dests[1] = {a->to}, *hops[1] = {hop->id};
    arena_init(&ar, 1u << 20);
    buf_init(&canon, PF_FRAME_MAX);
    buf_init(&frame, PF_FRAME_MAX);
    int rc = pki_key_load(c->pki.key, &k, e);
    if (rc == 0)
        rc = env_init(&v, PM_ANS_TYPE, c->node.id, &ar, e);
    if (rc == 0) {
        v.dest = dests, v.ndest = 1;
        v.payload = (const unsigned char *)p->p, v.payload_len = p->len;
        snprintf(v.sig_alg, sizeof v.sig_alg, "%s",
                 pki_alg_name(pki_key_alg(k)));
        rc = env_signed_bytes(&v, &canon, e);
    }
    if (rc == 0)
        rc = pki_sign(k, canon.p, canon.len, sig, &siglen, e);
    if (rc == 0) {
        sig[siglen - 1] ^= 0x01;
        v.sig = sig, v.sig_len = siglen;
        rc = env_encode(&v, &frame, e);
    }
    if (rc == 0) {
        int64_t created = (int64_t)v.created_ms;
        rc = store_submit(node_store(n), v.id, frame.p, frame.len, hops, 1,
                          dests, 1, created,
                          created + c->delivery.receipt_timeout_ms, e);
    }
    if (rc >= 0)
        memcpy(id, v.id, MSGID_LEN + 1);
    pki_key_free(k);
    buf_free(&frame);
    buf_free(&canon);
    arena_free(&ar);
    return rc < 0 ? rc : 0;
}

static int pf_send(node *n, const pf_args *a, err_t *e)
{
    buf_t p;
    char id[MSGID_LEN + 1];
    const char *dests[1] = {a->to};
    buf_init(&p, PM_BATCH_MAX_BYTES);
    int rc = pf_answer(a, &p, e);
    if (rc == 0)
        rc = a->bad_sig ? pf_bad_sig(n, a, &p, id, e)
                        : node_submit(n, PM_ANS_TYPE, dests, 1, NULL, p.p,
                                      p.len, id, e);
    if (rc == 0)
        printf("id=%s\n", id);
    buf_free(&p);
    return rc;
}

int main(int argc, char **argv)
{
    pf_args a = {0};
    if (pf_args_read(argc, argv, &a) < 0) {
        fprintf(stderr, "usage: pmforge -c CONF --to NODE --req RID --permit "
                "ID [--op OP] [--key KEY] [--code CODE] [--left QTY] "
                "[--status S] [--rsv R] [--bad-sig]\n");
        return 2;
    }
    err_t e;
    cfg *c = NULL;
    node *n = NULL;
    int rc = cfg_load(a.conf, &c, &e);
    if (rc == 0)
        rc = node_open(c, NODE_OFFLINE, &n, &e); /* takes c */
    if (rc == 0)
        rc = pf_send(n, &a, &e);
    if (rc < 0)
        fprintf(stderr, "pmforge: error: %s\n", e.msg);
    node_close(n);
    return rc < 0 ? 1 : 0;
}
