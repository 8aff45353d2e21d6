/* bench_sign: envelope signing and verification through pki.h, per key
 * type, single thread, on 1.2 KB messages (about an envelope's canonical
 * bytes).
 *
 *   bench_sign [-n OPERATIONS]     (run from the repository root)
 *
 * A throwaway federation is made with deploy/pki in a temporary directory
 * (one Ed25519 node, one ECDSA P-256 node) and removed at the end. Prints
 * `bench sign_verify alg=ed25519 sign_per_s=... verify_per_s=...` and the
 * same for ecdsa-p256. Timing is wall-clock over the pki calls only. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pki.h"

#define MSG_BYTES 1200

static char dir[256];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* deploy/pki makes a CA, BA (Ed25519) and BE (ECDSA P-256) in dir. */
static int make_federation(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/bench_sign.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (access("deploy/pki", X_OK) != 0) {
        fprintf(stderr, "bench_sign: run from the repository root\n");
        return -1;
    }
    if (!mkdtemp(dir))
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "(deploy/pki --dir '%s' init-ca && "
             "deploy/pki --dir '%s' issue BA --region SC && "
             "deploy/pki --dir '%s' issue BE --region SH "
             "--key-type ecdsa-p256) >'%s/log' 2>&1",
             dir, dir, dir, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_sign: deploy/pki failed, see %s/log\n", dir);
        dir[0] = '\0'; /* keep the log */
        return -1;
    }
    return 0;
}

static int load(const pki_store *s, const char *node, pki_key **k,
                pki_peer **p, err_t *e)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s.key", dir, node);
    if (pki_key_load(path, k, e) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/%s.crt", dir, node);
    return pki_peer_load(s, path, time(NULL), p, e);
}

/* n signatures then n verifications of msg, the rates printed. */
static int run(const pki_key *k, const pki_peer *p, const unsigned char *msg,
               long n, err_t *e)
{
    unsigned char sig[PKI_SIG_MAX];
    size_t siglen = 0;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        siglen = sizeof sig;
        if (pki_sign(k, msg, MSG_BYTES, sig, &siglen, e) < 0)
            return -1;
    }
    double t1 = now_s();
    for (long i = 0; i < n; i++)
        if (pki_peer_verify(p, msg, MSG_BYTES, sig, siglen, e) < 0)
            return -1;
    double t2 = now_s();
    printf("bench sign_verify alg=%s sign_per_s=%.0f verify_per_s=%.0f\n",
           pki_alg_name(pki_key_alg(k)), (double)n / (t1 - t0),
           (double)n / (t2 - t1));
    return 0;
}

static int bench(const char *node, long n, const unsigned char *msg, err_t *e)
{
    char ca[400], crl[400];
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    snprintf(crl, sizeof crl, "%s/crl.pem", dir);
    pki_store *s = pki_store_load(ca, crl, e);
    pki_key *k = NULL;
    pki_peer *p = NULL;
    int rc = s && load(s, node, &k, &p, e) == 0 ? run(k, p, msg, n, e) : -1;
    pki_key_free(k);
    pki_peer_free(p);
    pki_store_free(s);
    return rc;
}

int main(int argc, char **argv)
{
    long n = 20000;
    for (int i = 1; i + 1 < argc; i += 2)
        if (strcmp(argv[i], "-n") == 0)
            n = atol(argv[i + 1]);
    if (n < 1)
        n = 1;
    unsigned char msg[MSG_BYTES];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (unsigned char)(i * 131 + 7);
    err_t e = {0};
    int rc = make_federation();
    if (rc == 0)
        rc = bench("BA", n, msg, &e) < 0 || bench("BE", n, msg, &e) < 0;
    if (rc != 0 && e.msg[0])
        fprintf(stderr, "bench_sign: %s\n", e.msg);
    if (dir[0] && nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "bench_sign: could not remove %s\n", dir);
    return rc == 0 ? 0 : 1;
}
