#include "cbec_seal.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "cbec_allow.h"

#define CS_MAGIC "EPS1"

static int cs__read_key(const char *path, unsigned char key[CBEC_SEAL_KEY],
                        err_t *e)
{
    size_t n;
    return cbec_key_load(path, "data key", CBEC_SEAL_KEY, CBEC_SEAL_KEY, key, &n, e);
}

int cbec_seal_load(const char *cur, const char *old, cbec_seal_keys *k,
                   err_t *e)
{
    memset(k, 0, sizeof *k);
    int rc = cur ? cs__read_key(cur, k->cur, e) : 0;
    k->has_cur = cur && rc == 0;
    if (rc == 0 && old && (rc = cs__read_key(old, k->old, e)) == 0)
        k->has_old = 1;
    return rc;
}

static void cs__key_id(const unsigned char key[CBEC_SEAL_KEY], unsigned char id[4])
{
    unsigned char md[32];
    EVP_Digest(key, CBEC_SEAL_KEY, md, NULL, EVP_sha256(), NULL);
    memcpy(id, md, 4);
}

/* AES-256-GCM one way or the other; 0, or -1 (bad tag when opening). */
static int cs__gcm(int enc, const unsigned char *key, const unsigned char *iv,
                   const unsigned char *in, size_t n, unsigned char *out,
                   unsigned char tag[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc) == 1 &&
                      (n == 0 || EVP_CipherUpdate(c, out, &len, in, (int)n) == 1);
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(c, out + len, &len) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

int cbec_seal(const cbec_seal_keys *k, const void *p, size_t n, arena_t *a,
              const void **out, size_t *out_n, err_t *e)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdn = 0;
    if (!k->has_cur || n > (size_t)1 << 30)
        return err_set(e, ERR_INVALID, "cbec: nothing to seal with");
    unsigned char *b = arena_alloc(a, n + CBEC_SEAL_OVERHEAD);
    if (!b)
        return err_set(e, ERR_NOMEM, "cbec: out of memory");
    memcpy(b, CS_MAGIC, 4);
    cs__key_id(k->cur, b + 4);
    if (!HMAC(EVP_sha256(), k->cur, CBEC_SEAL_KEY, p, n, md, &mdn))
        return err_set(e, ERR_INVALID, "cbec: cannot seal");
    memcpy(b + 8, md, 12);
    if (cs__gcm(1, k->cur, b + 8, p, n, b + 20, b + 20 + n) < 0)
        return err_set(e, ERR_INVALID, "cbec: cannot seal");
    *out = b, *out_n = n + CBEC_SEAL_OVERHEAD;
    return 0;
}

int cbec_open(const cbec_seal_keys *k, const void *bv, size_t n, arena_t *a,
              const void **out, size_t *out_n, err_t *e)
{
    const unsigned char *b = bv;
    unsigned char id[4];
    const unsigned char *key = NULL;
    if (n < CBEC_SEAL_OVERHEAD || memcmp(b, CS_MAGIC, 4)) {
        *out = bv, *out_n = n; /* a plain record */
        return 0;
    }
    if (k->has_cur && (cs__key_id(k->cur, id), !memcmp(id, b + 4, 4)))
        key = k->cur;
    else if (k->has_old && (cs__key_id(k->old, id), !memcmp(id, b + 4, 4)))
        key = k->old;
    if (!key)
        return err_set(e, ERR_CONFIG, "cbec: a document sealed under a key "
                       "this node no longer has (cbec.data_key_old)");
    size_t m = n - CBEC_SEAL_OVERHEAD;
    unsigned char *p = arena_alloc(a, m ? m : 1), tag[16];
    if (!p)
        return err_set(e, ERR_NOMEM, "cbec: out of memory");
    memcpy(tag, b + 20 + m, 16);
    if (cs__gcm(0, key, b + 8, b + 20, m, p, tag) < 0)
        return err_set(e, ERR_SIGNATURE, "cbec: a sealed document fails its "
                       "tag (altered in the store)");
    *out = p, *out_n = m;
    return 0;
}
