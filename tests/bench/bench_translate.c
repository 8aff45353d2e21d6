/* bench_translate: the translation core's throughput, single thread.
 *
 *   bench_translate [-n MESSAGES] [-m MAPPINGS_DIR] [-s SAMPLES_DIR]
 *                   [-w FILE]
 *
 * 1. translate_iftmin: one interchange of N generated IFTMIN messages
 *    (2-4 KB each: parties, 3-7 goods groups, 1-4 containers with valid
 *    ISO 6346 numbers, seals, free text with release characters), parsed,
 *    mapped and written as canonical JSON, as `eportctl map` does.
 * 2. translate_SET: for every golden sample set, its samples translated
 *    over and over until N messages have been done.
 * Prints `bench NAME msgs_per_s=... mb_per_s=... peak_rss_kb=...` lines.
 * -w writes the generated IFTMIN interchange to FILE and exits, so that
 * two builds' translations of it can be compared (eportctl map).
 * Timing is wall-clock over the translation only (generation excluded). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "check.h"
#include "model_json.h"
#include "xlate.h"

typedef struct rng { uint64_t s; } rng;

static uint32_t rnd(rng *r, uint32_t n)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (uint32_t)(r->s % n);
}

static const char *const owners[] = {"CSQU", "MSKU", "TGHU", "COSU", "OOLU", "CAIU"};
static const char *const places[] = {"CNCKG", "CNSHA", "CNXIY", "CNCTU", "DEDUI", "PLMAL", "CNWUH"};
static const char *const texts[] = {
    "Deliver to bonded warehouse, notify consignee 48h before arrival?: phone",
    "Goods in transit under T1 procedure, guarantee ref?. on file",
    "Handle with care?: fragile glass?+crystal, do not stack more than 2 high",
    "Cleared once at origin under the federated e-port agreement",
    "Consignee?'s reference must appear on all invoices and declarations"};

static void gen_container(rng *r, char out[12])
{
    for (;;) {
        snprintf(out, 12, "%s%06u", owners[rnd(r, 6)], rnd(r, 1000000));
        int d = check_iso6346_digit(out);
        if (d >= 0 && d < 10) {
            out[10] = (char)('0' + d);
            out[11] = '\0';
            return;
        }
    }
}

static void gen_head(buf_t *b, rng *r, uint32_t i)
{
    buf_printf(b, "UNH+M%07u+IFTMIN:D:04A:UN'\nBGM+610+CQRW%09u+9'\n"
               "DTM+137:2026112%u0%u30:203'\nTSR+27+2'\n", i, i, rnd(r, 10), rnd(r, 10));
    for (uint32_t k = 3 + rnd(r, 10); k; k--)
        buf_printf(b, "FTX+AAI+++%s'\n", texts[rnd(r, 5)]);
    buf_printf(b, "CNT+7:%u.%u:KGM'\nCNT+11:%u'\nLOC+5+%s:139:6'\n"
               "DTM+133:20261125:102'\nLOC+8+%s:139:6'\nDTM+132:20261223:102'\n"
               "RFF+BN:BKG%09u'\nTDT+20+X%05u+%c+25+CARRIER:172:20+++T%05u:146:11:"
               "China Railway Container Transport'\nLOC+9+%s:139:6'\nLOC+11+%s:139:6'\n",
               rnd(r, 90000), rnd(r, 10), rnd(r, 900), places[rnd(r, 7)],
               places[rnd(r, 7)], rnd(r, 1000000000), rnd(r, 99999),
               "128"[rnd(r, 3)], rnd(r, 99999), places[rnd(r, 7)], places[rnd(r, 7)]);
}

static void gen_parties(buf_t *b, rng *r)
{
    buf_printf(b, "NAD+CZ+91500000%010u::CN++Chongqing Changan Minsheng APLL Logistics Co?. Ltd"
               ":Guoyuan Port Branch+No?. 1 Guoyuan Road Jiangbei+Chongqing++400025+CN'\n"
               "CTA+IC+:LIU YANG'\nCOM+?+8623%08u:TE'\nCOM+ops@example.cn:EM'\n"
               "NAD+CN+DE%09u::DE++Duisburg Intermodal Terminal GmbH+Hafenstrasse 23+Duisburg"
               "++47119+DE'\nCTA+IC+:ANNA SCHMIDT'\nCOM+?+49203%07u:TE'\n"
               "NAD+CA+CRCT::172++China Railway Container Transport Corp?. Ltd'\n",
               rnd(r, 1000000000), rnd(r, 100000000), rnd(r, 1000000000), rnd(r, 10000000));
}

static void gen_body(buf_t *b, rng *r, uint32_t nc, char cont[][12])
{
    for (uint32_t g = 1, ng = 3 + rnd(r, 5); g <= ng; g++)
        buf_printf(b, "GID+%u+%u:PK::6'\nPIA+5+%06u:HS'\nFTX+AAA+++%s'\n"
                   "MEA+WT+G+KGM:%u.%u'\nMEA+VOL+AAW+MTQ:%u.%u'\nSGP+%s+%u'\n",
                   g, 1 + rnd(r, 500), 100000 + rnd(r, 900000), texts[rnd(r, 5)],
                   100 + rnd(r, 20000), rnd(r, 10), 1 + rnd(r, 60), rnd(r, 100),
                   cont[rnd(r, nc)], 1 + rnd(r, 500));
    for (uint32_t c = 0; c < nc; c++)
        buf_printf(b, "EQD+CN+%s+45G1:102:5+2++5'\nMEA+AAE+T+KGM:%u'\nSEL+CQ%07u+CA'\n",
                   cont[c], 2000 + rnd(r, 2000), rnd(r, 10000000));
}

/* One interchange of n messages; returns its text (caller frees). */
static char *gen_iftmin(uint32_t n, size_t *len)
{
    buf_t b;
    buf_init(&b, (size_t)1 << 31);
    rng r = {0x9e3779b97f4a7c15ull};
    buf_adds(&b, "UNA:+.? '\nUNB+UNOY:3+CNCKGRAIL:ZZZ+CNCKGEPORT:ZZZ+261124:0800+1'\n");
    for (uint32_t i = 1; i <= n; i++) {
        size_t start = b.len;
        char cont[4][12];
        uint32_t nc = 1 + rnd(&r, 4);
        for (uint32_t c = 0; c < nc; c++)
            gen_container(&r, cont[c]);
        gen_head(&b, &r, i);
        gen_parties(&b, &r);
        gen_body(&b, &r, nc, cont);
        uint32_t segs = 1;
        for (size_t k = start; k < b.len; k++)
            segs += b.p[k] == '\n';
        buf_printf(&b, "UNT+%u+M%07u'\n", segs, i);
    }
    buf_printf(&b, "UNZ+%u+1'\n", n);
    *len = b.len;
    return buf_take(&b);
}

typedef struct sink_ctx { buf_t json; uint64_t records; } sink_ctx;

static int on_record(void *ctx, const codec_msg *m, const map_def *d, model_record *r)
{
    sink_ctx *c = ctx;
    (void)m;
    (void)d;
    buf_reset(&c->json);
    c->records++;
    return model_json_write(r, &c->json, NULL);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

static int translate(const map_set *s, const char *name, const char *data,
                     size_t len, sink_ctx *c)
{
    arena_t a;
    arena_init(&a, (size_t)1 << 32);
    xlate_sink sink = {on_record, NULL, c, NULL, NULL};
    xlate_stats st = {0};
    err_t e;
    int rc = xlate_input(s, NULL, name, data, len, &a, &sink, &st, &e);
    arena_free(&a);
    if (rc || st.problems)
        fprintf(stderr, "bench: %s: %u problems %s\n", name, st.problems, rc ? e.msg : "");
    return rc || st.problems ? -1 : 0;
}

static void report(const char *set, uint64_t msgs, size_t bytes, double secs)
{
    char name[128]; /* a set's folder name as a figure's: dcsa-ebl, dcsa_ebl */
    snprintf(name, sizeof name, "%s", set);
    for (char *p = name; *p; p++)
        *p = *p == '-' ? '_' : *p;
    printf("bench translate_%s msgs_per_s=%.0f mb_per_s=%.1f msgs=%llu bytes=%zu "
           "peak_rss_kb=%ld\n", name, (double)msgs / secs, (double)bytes / secs / 1e6,
           (unsigned long long)msgs, bytes, peak_rss_kb());
    fflush(stdout);
}

/* The generated interchange to path (-w); 0, or 1 when it cannot. */
static int write_iftmin(const char *path, uint32_t n)
{
    size_t len;
    char *data = gen_iftmin(n, &len);
    FILE *f = fopen(path, "wb");
    int bad = !f || fwrite(data, 1, len, f) != len;
    if (f)
        bad |= fclose(f) != 0;
    free(data);
    if (bad)
        fprintf(stderr, "bench: cannot write %s\n", path);
    return bad;
}

static int bench_iftmin(const map_set *s, uint32_t n)
{
    size_t len;
    char *data = gen_iftmin(n, &len);
    sink_ctx c = {.records = 0};
    buf_init(&c.json, 1 << 24);
    double t0 = now();
    int rc = translate(s, "bench-iftmin.edi", data, len, &c);
    double t1 = now();
    if (!rc && c.records != n) {
        fprintf(stderr, "bench: %llu records for %u messages\n",
                (unsigned long long)c.records, n);
        rc = -1;
    }
    if (!rc)
        report("iftmin", c.records, len, t1 - t0);
    buf_free(&c.json);
    free(data);
    return rc;
}

typedef struct sample { char *name, *data; size_t len; } sample;

static int bt__exists(const char *dir, const char *file, const char *ext)
{
    char p[4096];
    const char *dot = strrchr(file, '.');
    snprintf(p, sizeof p, "%s/%.*s%s", dir, (int)(dot - file), file, ext);
    FILE *f = fopen(p, "r");
    if (f)
        fclose(f);
    return f != NULL;
}

/* A sample that translates cleanly: golden records and no golden errors
 * (a sample refused on purpose is a test, not a workload). */
static int has_golden(const char *dir, const char *file)
{
    if (!strrchr(file, '.') || strstr(file, ".expected."))
        return 0;
    return bt__exists(dir, file, ".expected.jsonl") &&
           !bt__exists(dir, file, ".expected.err");
}

static int load_samples(const char *dir, sample *out, int max)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d)) && n < max) {
        if (!has_golden(dir, de->d_name))
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        FILE *f = fopen(p, "rb");
        buf_t b;
        buf_init(&b, CODEC_MAX_INPUT);
        char chunk[65536];
        size_t k;
        while (f && (k = fread(chunk, 1, sizeof chunk, f)) > 0)
            buf_add(&b, chunk, k);
        if (f)
            fclose(f);
        out[n].name = strdup(p);
        out[n].len = b.len;
        out[n++].data = buf_take(&b);
    }
    if (d)
        closedir(d);
    return n;
}

static int bench_set(const map_set *s, const char *dir, const char *set, uint32_t n)
{
    sample sm[32];
    int ns = load_samples(dir, sm, 32), rc = 0;
    if (ns == 0)
        return 0;
    sink_ctx c = {.records = 0};
    buf_init(&c.json, 1 << 24);
    size_t bytes = 0;
    double t0 = now();
    for (uint64_t done = 0; !rc && c.records < n; done++) {
        const sample *x = &sm[done % (uint64_t)ns];
        rc = translate(s, x->name, x->data, x->len, &c);
        bytes += x->len;
    }
    double t1 = now();
    if (!rc)
        report(set, c.records, bytes, t1 - t0);
    for (int i = 0; i < ns; i++)
        free(sm[i].name), free(sm[i].data);
    buf_free(&c.json);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int bench_sets(const map_set *s, const char *samples, uint32_t n)
{
    DIR *d = opendir(samples);
    struct dirent *de;
    char *names[64];
    int nn = 0, rc = 0;
    while (d && (de = readdir(d)) && nn < 64)
        if (de->d_name[0] != '.' && strcmp(de->d_name, "bad") != 0)
            names[nn++] = strdup(de->d_name);
    if (d)
        closedir(d);
    qsort(names, (size_t)nn, sizeof *names, by_name);
    for (int i = 0; i < nn; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", samples, names[i]);
        rc |= bench_set(s, dir, names[i], n);
        free(names[i]);
    }
    return rc;
}

int main(int argc, char **argv)
{
    uint32_t n = 10000;
    const char *maps = "mappings", *samples = "mappings/samples", *out = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-n") == 0) n = (uint32_t)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-m") == 0) maps = argv[i + 1];
        else if (strcmp(argv[i], "-s") == 0) samples = argv[i + 1];
        else if (strcmp(argv[i], "-w") == 0) out = argv[i + 1];
    }
    if (out)
        return write_iftmin(out, n);
    map_set *s;
    err_t e;
    if (map_set_load(maps, &s, &e)) {
        fprintf(stderr, "bench: %s\n", e.msg);
        map_set_free(s);
        return 1;
    }
    int rc = bench_iftmin(s, n);
    rc |= bench_sets(s, samples, n);
    map_set_free(s);
    return rc ? 1 : 0;
}
