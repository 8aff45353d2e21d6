/* auth: API keys (kept as SHA-256 only) and what a client may send. The
 * key lookup compares the hash with every client's, in constant time and
 * without stopping at a match, so neither the time nor the order of the
 * clients tells an attacker anything about which key was close. */
#include "auth.h"

#include <openssl/crypto.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* Every HTTP request hashes its key: libsodium's SHA-256 needs no
 * algorithm fetch per call (OpenSSL 3's EVP_Digest does one), and the hex
 * comes from a table, not 32 snprintf calls. */
int auth_key_hash(const char *key, char hex[65], err_t *e)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[crypto_hash_sha256_BYTES];
    if (!key || crypto_hash_sha256(md, (const unsigned char *)key,
                                   strlen(key)) != 0)
        return err_set(e, ERR_IO, "auth: cannot hash the API key");
    for (size_t i = 0; i < sizeof md; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    return 0;
}

const cfg_client *auth_by_key(const cfg *c, const char *key, err_t *e)
{
    char hex[65];
    size_t len = key ? strnlen(key, AUTH_KEY_MAX + 1) : 0;
    if (!len || len > AUTH_KEY_MAX || auth_key_hash(key, hex, e) < 0) {
        err_set(e, ERR_DENIED, "unknown API key");
        return NULL;
    }
    const cfg_client *found = NULL;
    for (size_t i = 0; i < c->nclients; i++) {
        const char *want = c->clients[i].key_sha256;
        /* a client without a key (a filedrop's) is compared with itself,
         * so every client costs the same */
        int same = CRYPTO_memcmp(want ? want : hex, hex, 64) == 0 && want;
        found = same && !found ? &c->clients[i] : found;
    }
    if (!found)
        err_set(e, ERR_DENIED, "unknown API key");
    return found;
}

/* "a, b, c" of l into out, for refusals. */
static const char *auth__list(const cfg_strs *l, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < l->n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? ", " : "",
                                l->v[i]);
    return l->n ? out : "none";
}

/* The first party the record is for that cl may send for, else the first
 * it names (for the refusal) in *first. 1 allowed. */
static int auth__party(const cfg_client *cl, const model_record *r,
                       const char **first)
{
    *first = r->source.sender && *r->source.sender ? r->source.sender : NULL;
    if (*first && cfg_strs_has(&cl->parties, *first))
        return 1;
    for (uint32_t i = 0; i < r->parties.n; i++) {
        const char *id = r->parties.v[i].id;
        if (!id || !*id)
            continue;
        if (cfg_strs_has(&cl->parties, id))
            return 1;
        *first = *first ? *first : id;
    }
    return 0;
}

int auth_allows(const cfg_client *cl, const char *conn,
                const model_record *r, err_t *e)
{
    char list[256];
    const char *party;
    if (!cl->connector || !conn || strcmp(cl->connector, conn))
        return err_set(e, ERR_DENIED, "client %s belongs to connector %s, "
                       "not %s", cl->id, cl->connector ? cl->connector : "?",
                       conn ? conn : "?");
    if (!r->kind || !cfg_strs_has(&cl->kinds, r->kind))
        return err_set(e, ERR_DENIED, "client %s may not send %s (kinds: %s)",
                       cl->id, r->kind ? r->kind : "a record without a kind",
                       auth__list(&cl->kinds, list, sizeof list));
    if (cfg_strs_has(&cl->parties, "*") || auth__party(cl, r, &party))
        return 0;
    if (!party)
        return err_set(e, ERR_DENIED, "client %s may not send a record that "
                       "names no party (parties: %s)", cl->id,
                       auth__list(&cl->parties, list, sizeof list));
    return err_set(e, ERR_DENIED, "client %s may not send for party %s "
                   "(parties: %s)", cl->id, party,
                   auth__list(&cl->parties, list, sizeof list));
}
