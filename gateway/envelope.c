/* envelope: the rules of a version 1 envelope and of a receipt (what the
 * encoder refuses to write and the decoder refuses to accept), and the
 * operations of a hop: route append, time and destination checks. The
 * msgpack codecs are envelope_encode.c and envelope_decode.c. */
#include "envelope.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <threads.h>

static const char *const env__names[ENV_V1_FIELDS] = {
    "version", "id",      "type",    "origin",  "destinations", "route",
    "created", "ref",     "payload", "sig_alg", "signer",       "signature",
};

const char *env_field_name(unsigned field)
{
    return field < ENV_V1_FIELDS ? env__names[field] : "?";
}

/* "envelope field 4 (destinations): why" */
static int env__fail(err_t *e, int code, unsigned field, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));
static int env__fail(err_t *e, int code, unsigned field, const char *fmt,
                     ...)
{
    char why[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return err_set(e, code, "envelope field %u (%s): %s", field,
                   env_field_name(field), why);
}

/* ---- field syntax ---- */

/* n when s[0..n) holds only bytes ok() accepts: a loop rather than
 * strspn, which builds its table from the accept string on every call,
 * and these run several times for every frame. */
static int env__node_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

static int env__type_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static int env__all(const char *s, size_t n, int (*ok)(unsigned char))
{
    for (size_t i = 0; i < n; i++)
        if (!ok((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Node ids as the configuration spells them (A-Z 0-9 -), with a longer
 * cap so that config may grow without a new wire version. */
static const char *env__node_why(const char *s)
{
    if (!s)
        return "missing";
    size_t n = strnlen(s, ENV_NODE_MAX + 1);
    if (n < 2 || n > ENV_NODE_MAX)
        return "node id must be 2 to 32 characters";
    if (!env__all(s, n, env__node_char))
        return "node id may hold only A-Z, 0-9 and '-'";
    return NULL;
}

static const char *env__type_why(const char *s)
{
    size_t n = strnlen(s, ENV_TYPE_MAX + 1);
    if (n == 0 || n > ENV_TYPE_MAX)
        return "type must be 1 to 32 characters";
    if (s[0] < 'a' || s[0] > 'z' || !env__all(s, n, env__type_char))
        return "type must be a-z then a-z, 0-9, '_' or '-'";
    return NULL;
}

/* Length of the UTF-8 sequence at p (n bytes left) and its code point;
 * 0 for an invalid, overlong, surrogate or out-of-range sequence. */
static size_t env__utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t min;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, min = 0x80, *cp = p[0] & 0x1fu;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, min = 0x800, *cp = p[0] & 0x0fu;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, min = 0x10000, *cp = p[0] & 0x07u;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (p[k] & 0x3fu);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return len;
}

/* Text (ref, reason): valid UTF-8 and no control characters, which would
 * let a peer forge lines in our logs. Writes why on failure. */
static int env__text_ok(const char *s, size_t n, char *why, size_t wn)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t len = env__utf8_seq(p + i, n - i, &cp);
        if (!len) {
            snprintf(why, wn, "invalid UTF-8 at byte %zu", i);
            return 0;
        }
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
            snprintf(why, wn, "control character U+%04X at byte %zu",
                     (unsigned)cp, i);
            return 0;
        }
        i += len;
    }
    return 1;
}

static int env__node_field(const char *s, unsigned f, const char *what,
                           err_t *e)
{
    const char *why = env__node_why(s);
    if (why)
        return env__fail(e, ERR_INVALID, f, "%s%s%s", what, *what ? ": " : "",
                         why);
    return 0;
}

/* ---- env_validate ---- */

static int env__check_head(const env *v, err_t *e)
{
    if (v->version != ENV_VERSION)
        return env__fail(e, ERR_UNSUPPORTED, ENV_F_VERSION,
                         "version %u not supported; this node reads "
                         "version %d", v->version, ENV_VERSION);
    err_t m;
    if (msgid_parse(v->id, NULL, &m) != 0)
        return env__fail(e, ERR_INVALID, ENV_F_ID, "not a ULID: %s",
                         m.msg + (strncmp(m.msg, "message id: ", 12) ? 0 : 12));
    const char *why = env__type_why(v->type);
    if (why)
        return env__fail(e, ERR_INVALID, ENV_F_TYPE, "%s", why);
    return env__node_field(v->origin, ENV_F_ORIGIN, "", e);
}

/* Node ids in list[0..n): each valid, none repeated, none equal to
 * not_this (the origin among destinations) when given. */
static int env__check_list(const char **list, uint32_t n, unsigned f,
                           uint32_t max, const char *not_this, err_t *e)
{
    if (n == 0 || !list)
        return env__fail(e, ERR_INVALID, f, "no entries");
    if (n > max)
        return env__fail(e, ERR_TOOBIG, f, "more than %u entries", max);
    for (uint32_t i = 0; i < n; i++) {
        const char *why = env__node_why(list[i]);
        if (why) /* "entry 3" formatted only now: validate runs per frame */
            return env__fail(e, ERR_INVALID, f, "entry %u: %s", i, why);
        if (not_this && strcmp(list[i], not_this) == 0)
            return env__fail(e, ERR_INVALID, f, "origin %s is also a "
                             "destination", not_this);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(list[i], list[j]) == 0)
                return env__fail(e, ERR_INVALID, f, "%s appears twice",
                                 list[i]);
    }
    return 0;
}

static int env__check_lists(const env *v, err_t *e)
{
    int rc = env__check_list(v->dest, v->ndest, ENV_F_DEST, ENV_MAX_DEST,
                             v->origin, e);
    if (!rc)
        rc = env__check_list(v->route, v->nroute, ENV_F_ROUTE, ENV_MAX_HOPS,
                             NULL, e);
    if (!rc && strcmp(v->route[0], v->origin) != 0)
        rc = env__fail(e, ERR_INVALID, ENV_F_ROUTE, "starts with %s, not "
                       "the origin %s", v->route[0], v->origin);
    return rc;
}

static int env__check_ref(const env *v, err_t *e)
{
    if (!v->ref)
        return 0;
    size_t n = strnlen(v->ref, ENV_REF_MAX + 1);
    if (n == 0)
        return env__fail(e, ERR_INVALID, ENV_F_REF, "empty (use nil)");
    if (n > ENV_REF_MAX)
        return env__fail(e, ERR_TOOBIG, ENV_F_REF, "longer than %d bytes",
                         ENV_REF_MAX);
    char why[96];
    if (!env__text_ok(v->ref, n, why, sizeof why))
        return env__fail(e, ERR_INVALID, ENV_F_REF, "%s", why);
    return 0;
}

/* The algorithms of field 9: batched or not, Ed25519 or ECDSA P-256 (the
 * base algorithm, which the signer's key decides). */
static const struct {
    const char *name;
    int batch, ed;
} env__algs[] = {
    {ENV_ALG_ED25519, 0, 1},
    {ENV_ALG_ECDSA_P256, 0, 0},
    {ENV_ALG_ED25519_BATCH, 1, 1},
    {ENV_ALG_ECDSA_P256_BATCH, 1, 0},
};
#define ENV__NALGS (sizeof env__algs / sizeof env__algs[0])

/* Index into env__algs, or -1 for a name this node does not know. */
static int env__alg(const char *name)
{
    for (size_t k = 0; k < ENV__NALGS; k++)
        if (strcmp(name, env__algs[k].name) == 0)
            return (int)k;
    return -1;
}

int env_alg_is_batch(const char *sig_alg)
{
    int k = sig_alg ? env__alg(sig_alg) : -1;
    return k >= 0 && env__algs[k].batch;
}

/* A base signature of len bytes: Ed25519 is always 64 bytes, ECDSA P-256
 * a DER SEQUENCE of two INTEGERs (8 to 72 bytes). of: what the bytes are,
 * "" or " of root signature", for the message. */
static int env__check_base(size_t len, int ed, const char *of, err_t *e)
{
    if (ed && len != ENV_ED25519_SIG)
        return env__fail(e, ERR_INVALID, ENV_F_SIG, "%zu bytes%s; ed25519 "
                         "signatures are %d", len, of, ENV_ED25519_SIG);
    if (!ed && (len < 8 || len > ENV_SIG_MAX))
        return env__fail(e, ERR_INVALID, ENV_F_SIG, "%zu bytes%s; "
                         "ecdsa-p256 signatures (DER) are 8 to %d", len, of,
                         ENV_SIG_MAX);
    return 0;
}

/* The layout is exact, so that a proof has one spelling only: depth,
 * index below 2^depth, depth hashes, then a base signature whose length
 * the base algorithm allows. */
int env_batch_split(const env *v, env_batch_proof *out, err_t *e)
{
    int k = env__alg(v->sig_alg);
    if (k < 0 || !env__algs[k].batch)
        return env__fail(e, ERR_INVALID, ENV_F_SIG, "sig_alg \"%.16s\" is "
                         "not a batch signature", v->sig_alg);
    if (!v->sig || v->sig_len < ENV_BATCH_HEAD)
        return env__fail(e, ERR_INVALID, ENV_F_SIG, "%zu bytes, shorter "
                         "than the %d-byte head of a batch proof",
                         v->sig ? v->sig_len : 0, ENV_BATCH_HEAD);
    unsigned depth = v->sig[0];
    uint32_t index = (uint32_t)v->sig[1] << 8 | v->sig[2];
    if (depth > ENV_BATCH_DEPTH_MAX)
        return env__fail(e, ERR_INVALID, ENV_F_SIG, "batch proof depth %u, "
                         "more than %d", depth, ENV_BATCH_DEPTH_MAX);
    if (index >> depth)
        return env__fail(e, ERR_INVALID, ENV_F_SIG, "batch leaf index %u "
                         "not below 2^%u", (unsigned)index, depth);
    size_t path = ENV_BATCH_HEAD + (size_t)depth * ENV_BATCH_HASH;
    if (v->sig_len <= path)
        return env__fail(e, ERR_INVALID, ENV_F_SIG, "%zu bytes, too short "
                         "for a batch proof of depth %u (%zu bytes) and a "
                         "root signature", v->sig_len, depth, path);
    int rc = env__check_base(v->sig_len - path, env__algs[k].ed,
                             " of root signature", e);
    if (rc)
        return rc;
    *out = (env_batch_proof){depth, index, v->sig + ENV_BATCH_HEAD,
                             v->sig + path, v->sig_len - path};
    return 0;
}

static int env__check_sig(const env *v, int need_sig, err_t *e)
{
    if (!need_sig && v->sig_len == 0)
        return 0;
    if (v->sig_len == 0 || !v->sig)
        return env__fail(e, ERR_INVALID, ENV_F_SIG, "missing");
    int k = env__alg(v->sig_alg); /* known: env__check_tail checked */
    if (env__algs[k].batch) {
        env_batch_proof p;
        return env_batch_split(v, &p, e);
    }
    return env__check_base(v->sig_len, env__algs[k].ed, "", e);
}

static int env__check_tail(const env *v, int need_sig, err_t *e)
{
    int rc = env__check_ref(v, e);
    if (rc)
        return rc;
    if (v->payload_len > ENV_MAX_PAYLOAD)
        return env__fail(e, ERR_TOOBIG, ENV_F_PAYLOAD, "%zu bytes, more "
                         "than %u", v->payload_len, ENV_MAX_PAYLOAD);
    if (v->payload_len && !v->payload)
        return env__fail(e, ERR_INVALID, ENV_F_PAYLOAD, "missing");
    if (env__alg(v->sig_alg) < 0)
        return env__fail(e, ERR_UNSUPPORTED, ENV_F_SIG_ALG, "\"%.16s\" not "
                         "supported; this node knows %s, %s, %s and %s",
                         v->sig_alg, ENV_ALG_ED25519, ENV_ALG_ECDSA_P256,
                         ENV_ALG_ED25519_BATCH, ENV_ALG_ECDSA_P256_BATCH);
    /* v1 has no delegated signing: the origin's key vouches for it */
    rc = env__node_field(v->signer, ENV_F_SIGNER, "", e);
    if (!rc && strcmp(v->signer, v->origin) != 0)
        rc = env__fail(e, ERR_INVALID, ENV_F_SIGNER, "%s is not the origin "
                       "%s", v->signer, v->origin);
    return rc ? rc : env__check_sig(v, need_sig, e);
}

int env_validate(const env *v, int need_sig, err_t *e)
{
    int rc = env__check_head(v, e);
    if (!rc)
        rc = env__check_lists(v, e);
    if (!rc)
        rc = env__check_tail(v, need_sig, e);
    return rc;
}

/* ---- building and handling ---- */

static int env__copy(char *dst, size_t cap, const char *src, unsigned f,
                     err_t *e)
{
    if (!src || strlen(src) >= cap)
        return env__fail(e, ERR_INVALID, f, "missing or longer than %zu "
                         "bytes", cap - 1);
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

int env_init(env *v, const char *type, const char *origin, arena_t *a,
             err_t *e)
{
    memset(v, 0, sizeof *v);
    v->version = ENV_VERSION;
    int rc = env__copy(v->type, sizeof v->type, type, ENV_F_TYPE, e);
    if (!rc)
        rc = env__copy(v->origin, sizeof v->origin, origin, ENV_F_ORIGIN, e);
    if (!rc)
        rc = env__node_field(v->origin, ENV_F_ORIGIN, "", e);
    if (!rc)
        rc = msgid_new(v->id, e);
    if (rc)
        return rc;
    msgid_time(v->id, &v->created_ms); /* one clock reading for both */
    memcpy(v->signer, v->origin, sizeof v->signer);
    memcpy(v->sig_alg, ENV_ALG_ED25519, sizeof ENV_ALG_ED25519);
    return env_route_add(v, origin, a, e);
}

int env_route_add(env *v, const char *node, arena_t *a, err_t *e)
{
    int rc = env__node_field(node, ENV_F_ROUTE, "new hop", e);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < v->nroute; i++)
        if (strcmp(v->route[i], node) == 0)
            return err_set(e, ERR_INVALID, "routing loop: %s already "
                           "handled this message", node);
    if (v->nroute >= ENV_MAX_HOPS)
        return env__fail(e, ERR_TOOBIG, ENV_F_ROUTE, "more than %d entries",
                         ENV_MAX_HOPS);
    /* a new array: the old one may be the decoder's or the caller's */
    const char **r = arena_alloc(a, (v->nroute + 1) * sizeof *r);
    char *copy = arena_strdup(a, node);
    if (!r || !copy)
        return env__fail(e, ERR_NOMEM, ENV_F_ROUTE, "arena full");
    if (v->nroute)
        memcpy(r, v->route, v->nroute * sizeof *r);
    r[v->nroute] = copy;
    v->route = r;
    v->nroute++;
    return 0;
}

int env_check_time(const env *v, uint64_t now_ms, uint64_t max_skew_ms,
                   uint64_t max_age_ms, err_t *e)
{
    uint64_t t = v->created_ms;
    if (t > now_ms && t - now_ms > max_skew_ms)
        return env__fail(e, ERR_INVALID, ENV_F_CREATED, "%llu ms in the "
                         "future (allowed clock skew %llu ms)",
                         (unsigned long long)(t - now_ms),
                         (unsigned long long)max_skew_ms);
    if (now_ms > t && now_ms - t > max_age_ms)
        return env__fail(e, ERR_INVALID, ENV_F_CREATED, "expired: created "
                         "%llu ms ago (max age %llu ms)",
                         (unsigned long long)(now_ms - t),
                         (unsigned long long)max_age_ms);
    return 0;
}

int env_for(const env *v, const char *node)
{
    for (uint32_t i = 0; node && i < v->ndest; i++)
        if (strcmp(v->dest[i], node) == 0)
            return 1;
    return 0;
}

/* ---- receipts ---- */

static const char *const env__status[] = {"stored", "duplicate", "refused"};

const char *env_status_name(env_status s)
{
    return (unsigned)s < 3 ? env__status[s] : "?";
}

/* SHA-256 fetched from the provider once: EVP_sha256() makes OpenSSL 3
 * look the algorithm up again on every call, a fifth of the cost of
 * hashing a record-sized payload, and this runs for every message and
 * receipt. The fetched method is kept for the life of the process. */
static EVP_MD *env__sha256;
static once_flag env__sha256_once = ONCE_FLAG_INIT;

static void env__sha256_fetch(void)
{
    env__sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int env_digest(const void *p, size_t n, unsigned char out[ENV_DIGEST_LEN],
               err_t *e)
{
    call_once(&env__sha256_once, env__sha256_fetch);
    const EVP_MD *md = env__sha256 ? env__sha256 : EVP_sha256();
    unsigned len = 0;
    if (!EVP_Digest(n ? p : "", n, out, &len, md, NULL) ||
        len != ENV_DIGEST_LEN)
        return err_set(e, ERR_UNSUPPORTED, "receipt: SHA-256 unavailable "
                       "from OpenSSL");
    return 0;
}

int env_receipt_init(env_receipt *r, const env *orig, env_status status,
                     const char *reason, uint64_t at_ms, err_t *e)
{
    memset(r, 0, sizeof *r);
    r->version = ENV_RECEIPT_VERSION;
    memcpy(r->id, orig->id, sizeof r->id);
    r->id[MSGID_LEN] = '\0';
    r->status = status;
    r->reason = reason;
    r->at_ms = at_ms;
    return env_digest(orig->payload, orig->payload_len, r->digest, e);
}

/* reason: present exactly for a refusal, 1 to ENV_REASON_MAX bytes of
 * text (it ends up in the sender's logs and dead-letter records). */
static int env__check_reason(const env_receipt *r, err_t *e)
{
    if ((r->status == ENV_REFUSED) != (r->reason != NULL))
        return err_set(e, ERR_INVALID, "receipt key \"reason\": %s",
                       r->reason ? "only a refusal has a reason"
                                 : "a refusal needs a reason");
    if (!r->reason)
        return 0;
    size_t n = strnlen(r->reason, ENV_REASON_MAX + 1);
    if (n == 0 || n > ENV_REASON_MAX)
        return err_set(e, n ? ERR_TOOBIG : ERR_INVALID, "receipt key "
                       "\"reason\": must be 1 to %d bytes", ENV_REASON_MAX);
    char why[96];
    if (!env__text_ok(r->reason, n, why, sizeof why))
        return err_set(e, ERR_INVALID, "receipt key \"reason\": %s", why);
    return 0;
}

int env_receipt_validate(const env_receipt *r, err_t *e)
{
    err_t m;
    if (r->version != ENV_RECEIPT_VERSION)
        return err_set(e, ERR_UNSUPPORTED, "receipt: version %u not "
                       "supported; this node reads version %d", r->version,
                       ENV_RECEIPT_VERSION);
    if (msgid_parse(r->id, NULL, &m))
        return err_set(e, ERR_INVALID, "receipt key \"id\": %s", m.msg);
    if ((unsigned)r->status > ENV_REFUSED)
        return err_set(e, ERR_INVALID, "receipt key \"status\": unknown");
    return env__check_reason(r, e);
}

int env_receipt_check(const env_receipt *r, const env *sent, err_t *e)
{
    unsigned char d[ENV_DIGEST_LEN];
    if (strcmp(r->id, sent->id) != 0)
        return err_set(e, ERR_INVALID, "receipt: for message %s, not %s",
                       r->id, sent->id);
    int rc = env_digest(sent->payload, sent->payload_len, d, e);
    if (rc)
        return rc;
    if (memcmp(d, r->digest, sizeof d) != 0)
        return err_set(e, ERR_INVALID, "receipt: message %s: digest differs "
                       "from the payload sent", r->id);
    return 0;
}
