#include "msgid.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

/* Crockford's base32: no I, L, O, U, so ids read aloud are unambiguous. */
static const char msgid__alpha[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#define MSGID__BYTES 16 /* 6 time bytes, then the random bytes, big-endian */

/* 128 bits as 26 five-bit digits; two leading zero bits pad 128 to 130. */
static void msgid__encode(uint64_t ms, const unsigned char *rnd,
                          char out[MSGID_LEN + 1])
{
    unsigned char b[MSGID__BYTES];
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (8 * (5 - i)));
    memcpy(b + 6, rnd, MSGID_RAND_BYTES);
    unsigned acc = 0, nbits = 2;
    size_t k = 0;
    for (int i = 0; i < MSGID_LEN; i++) {
        if (nbits < 5) {
            acc = (acc << 8) | b[k++];
            nbits += 8;
        }
        out[i] = msgid__alpha[(acc >> (nbits - 5)) & 31];
        nbits -= 5;
        acc &= (1u << nbits) - 1;
    }
    out[MSGID_LEN] = '\0';
}

/* Digit value + 1 by character (0: not a canonical digit): ids are
 * parsed for every envelope a node checks, so no search per character. */
static const unsigned char msgid__value[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
    ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10, ['A'] = 11, ['B'] = 12,
    ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16, ['G'] = 17, ['H'] = 18,
    ['J'] = 19, ['K'] = 20, ['M'] = 21, ['N'] = 22, ['P'] = 23, ['Q'] = 24,
    ['R'] = 25, ['S'] = 26, ['T'] = 27, ['V'] = 28, ['W'] = 29, ['X'] = 30,
    ['Y'] = 31, ['Z'] = 32
};

/* Value of one canonical digit, or -1. */
static int msgid__digit(char c)
{
    return (int)msgid__value[(unsigned char)c] - 1;
}

/* The 26 digits back to 16 bytes; the first digit holds only 3 bits. */
static int msgid__decode(const char *s, unsigned char b[MSGID__BYTES],
                         err_t *e)
{
    unsigned acc = 0, nbits = 0;
    size_t k = 0;
    for (int i = 0; i < MSGID_LEN; i++) {
        int v = msgid__digit(s[i]);
        if (v < 0)
            return err_set(e, ERR_INVALID,
                           "message id: character %d is not a canonical "
                           "base32 digit (0-9 A-Z without I L O U)", i + 1);
        if (i == 0 && v > 7)
            return err_set(e, ERR_INVALID,
                           "message id: first character above 7 "
                           "(more than 128 bits)");
        acc = (acc << 5) | (unsigned)v;
        nbits += i == 0 ? 3 : 5;
        if (nbits >= 8) {
            b[k++] = (unsigned char)(acc >> (nbits - 8));
            nbits -= 8;
            acc &= (1u << nbits) - 1;
        }
    }
    return 0;
}

int msgid_parse(const char *s, uint64_t *ms, err_t *e)
{
    if (!s)
        return err_set(e, ERR_INVALID, "message id: missing");
    size_t n = strnlen(s, MSGID_LEN + 1);
    if (n > MSGID_LEN)
        return err_set(e, ERR_INVALID, "message id: longer than %d "
                       "characters", MSGID_LEN);
    if (n < MSGID_LEN)
        return err_set(e, ERR_INVALID, "message id: %zu characters, want "
                       "%d", n, MSGID_LEN);
    unsigned char b[MSGID__BYTES];
    int rc = msgid__decode(s, b, e);
    if (rc)
        return rc;
    if (ms) {
        *ms = 0;
        for (int i = 0; i < 6; i++)
            *ms = (*ms << 8) | b[i];
    }
    return 0;
}

int msgid_time(const char *id, uint64_t *ms)
{
    return msgid_parse(id, ms, NULL);
}

/* Big-endian +1 over the 80 random bits; nonzero (and rnd unchanged) when
 * it would wrap, which would break the ordering promise. */
static int msgid__incr(unsigned char *rnd)
{
    int i = MSGID_RAND_BYTES - 1;
    while (i >= 0 && rnd[i] == 0xff)
        i--;
    if (i < 0)
        return -1;
    rnd[i]++;
    for (int j = i + 1; j < MSGID_RAND_BYTES; j++)
        rnd[j] = 0;
    return 0;
}

int msgid_next(msgid_gen *g, uint64_t now_ms, const unsigned char *fresh,
               char out[MSGID_LEN + 1], err_t *e)
{
    if (now_ms > MSGID_MAX_MS)
        return err_set(e, ERR_INVALID,
                       "message id: time %llu ms past what 48 bits hold",
                       (unsigned long long)now_ms);
    if (!g->started || now_ms > g->ms) {
        g->ms = now_ms;
        memcpy(g->rnd, fresh, MSGID_RAND_BYTES);
        g->started = 1;
    } else if (msgid__incr(g->rnd)) {
        /* keeping g->ms even when the clock stepped back is what keeps
         * ids increasing; running out here means 2^80 ids in one ms */
        return err_set(e, ERR_TOOBIG,
                       "message id: random part exhausted within one ms");
    }
    msgid__encode(g->ms, g->rnd, out);
    return 0;
}

static int msgid__random(unsigned char *p, size_t n, err_t *e)
{
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return err_set(e, ERR_IO, "message id: getrandom: %s",
                           got < 0 ? strerror(errno) : "no bytes");
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static int msgid__now(uint64_t *ms, err_t *e)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
        return err_set(e, ERR_IO, "message id: cannot read the clock");
    *ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    return 0;
}

static pthread_mutex_t msgid__lock = PTHREAD_MUTEX_INITIALIZER;
static msgid_gen msgid__gen;
static pid_t msgid__pid; /* process that owns msgid__gen */

int msgid_new(char out[MSGID_LEN + 1], err_t *e)
{
    unsigned char fresh[MSGID_RAND_BYTES];
    int rc = msgid__random(fresh, sizeof fresh, e);
    if (rc)
        return rc;
    pthread_mutex_lock(&msgid__lock);
    /* a forked child starts from its parent's state: without a fresh draw
     * both would count up from the same random part in the same ms */
    if (msgid__pid != getpid()) {
        msgid__gen.started = 0;
        msgid__pid = getpid();
    }
    uint64_t now = 0;
    rc = msgid__now(&now, e);
    if (!rc)
        rc = msgid_next(&msgid__gen, now, fresh, out, e);
    pthread_mutex_unlock(&msgid__lock);
    return rc;
}

int msgid_derive(uint64_t ms, const void *key, size_t n,
                 char out[MSGID_LEN + 1], err_t *e)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (ms > MSGID_MAX_MS)
        return err_set(e, ERR_INVALID,
                       "message id: time %llu ms past what 48 bits hold",
                       (unsigned long long)ms);
    if (!EVP_Digest(key, n, md, &mdlen, EVP_sha256(), NULL) ||
        mdlen < MSGID_RAND_BYTES)
        return err_set(e, ERR_IO, "message id: SHA-256 failed");
    msgid__encode(ms, md, out);
    return 0;
}
