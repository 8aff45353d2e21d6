/* metrics: one fixed table of series (family, label value), each with
 * atomic values. Adding to a series that exists takes no lock: series are
 * only ever appended, and a new one is published (the count, release)
 * after it is filled in, so a reader that sees the count sees the series.
 * The mutex serialises inserts only. Histograms keep a count per bucket
 * (non-cumulative, so one atomic add per observation) and the sum in
 * nanoseconds; rendering adds the buckets up. */
#include "metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define MET_NBUCKETS 14
static const double met_bounds[MET_NBUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,  0.5,    1,     2.5,  5,     10};

typedef enum { COUNTER, GAUGE, HISTOGRAM } met_type;

typedef struct met_family {
    const char *name, *label, *help;
    met_type type;
} met_family;

#define MET__ROW(id, name, type, label, help) {name, label, help, type},
static const met_family met_families[MET__COUNT] = {MET_FAMILIES(MET__ROW)};
#undef MET__ROW

typedef struct met_series {
    met_id f;
    char label[MET_LABEL_MAX + 1];
    _Atomic int64_t v;                        /* counter, gauge */
    _Atomic uint64_t b[MET_NBUCKETS + 1];     /* histogram; last: +Inf */
    _Atomic uint64_t sum_ns;
} met_series;

static met_series met_tab[MET_SERIES_MAX];
static _Atomic size_t met_n;           /* series published */
static _Atomic uint64_t met_full;      /* adds dropped: the table was full */
static pthread_mutex_t met_mu = PTHREAD_MUTEX_INITIALIZER;
static char met_node[MET_LABEL_MAX + 1];

int met_init(const char *node, err_t *e)
{
    if (!node || strlen(node) > MET_LABEL_MAX)
        return err_set(e, ERR_INVALID, "metrics: node label missing or "
                       "longer than %d", MET_LABEL_MAX);
    pthread_mutex_lock(&met_mu);
    snprintf(met_node, sizeof met_node, "%s", node);
    atomic_store(&met_n, 0);
    atomic_store(&met_full, 0);
    memset(met_tab, 0, sizeof met_tab);
    pthread_mutex_unlock(&met_mu);
    return 0;
}

static met_series *met__scan(met_id f, const char *label, size_t from,
                             size_t to)
{
    for (size_t i = from; i < to; i++)
        if (met_tab[i].f == f && !strcmp(met_tab[i].label, label))
            return &met_tab[i];
    return NULL;
}

/* The series (f, label), made if missing; NULL when the table is full
 * (counted) or f is not a family. Labels longer than MET_LABEL_MAX are
 * cut, which keeps distinct series distinct in practice (names are
 * short: connectors, peers, reasons). */
static met_series *met__series(met_id f, const char *label, int make)
{
    char lab[MET_LABEL_MAX + 1];
    snprintf(lab, sizeof lab, "%s", label ? label : "");
    size_t n = atomic_load_explicit(&met_n, memory_order_acquire);
    met_series *s = (unsigned)f < MET__COUNT ? met__scan(f, lab, 0, n) : NULL;
    if (s || !make || (unsigned)f >= MET__COUNT)
        return s;
    pthread_mutex_lock(&met_mu);
    size_t m = atomic_load_explicit(&met_n, memory_order_relaxed);
    s = met__scan(f, lab, n, m);
    if (!s && m < MET_SERIES_MAX) {
        s = &met_tab[m];
        s->f = f;
        memcpy(s->label, lab, sizeof lab);
        atomic_store_explicit(&met_n, m + 1, memory_order_release);
    }
    pthread_mutex_unlock(&met_mu);
    if (!s)
        atomic_fetch_add(&met_full, 1);
    return s;
}

void met_add(met_id f, const char *label, uint64_t n)
{
    met_series *s = met__series(f, label, 1);
    if (s)
        atomic_fetch_add_explicit(&s->v, (int64_t)n, memory_order_relaxed);
}

void met_set(met_id f, const char *label, int64_t v)
{
    met_series *s = met__series(f, label, 1);
    if (s)
        atomic_store_explicit(&s->v, v, memory_order_relaxed);
}

void met_observe(met_id f, const char *label, double seconds)
{
    met_series *s = met__series(f, label, 1);
    if (!s)
        return;
    if (!(seconds >= 0)) /* negative or NaN: a clock step; count as 0 */
        seconds = 0;
    size_t i = 0;
    while (i < MET_NBUCKETS && seconds > met_bounds[i])
        i++;
    atomic_fetch_add_explicit(&s->b[i], 1, memory_order_relaxed);
    double ns = seconds * 1e9;
    atomic_fetch_add_explicit(&s->sum_ns, ns < 1.8e19 ? (uint64_t)ns : 0,
                              memory_order_relaxed);
}

int64_t met_get(met_id f, const char *label)
{
    met_series *s = met__series(f, label, 0);
    return s ? atomic_load(&s->v) : 0;
}

/* ---- exposition text ---- */

/* A label value, escaped as the format wants (\\, \", \n). */
static int met__value(buf_t *out, const char *v)
{
    int rc = 0;
    for (const char *p = v; *p && !rc; p++)
        rc = *p == '\\'  ? buf_adds(out, "\\\\")
             : *p == '"' ? buf_adds(out, "\\\"")
             : *p == '\n' ? buf_adds(out, "\\n")
                          : buf_add(out, p, 1);
    return rc;
}

/* name{node="N",label="V"[,le="B"]} without the value. */
static int met__head(buf_t *out, const met_family *fm, const char *suffix,
                     const char *label, const char *le)
{
    int rc = buf_printf(out, "%s%s{node=\"", fm->name, suffix);
    rc = rc ? rc : met__value(out, met_node);
    rc = rc ? rc : buf_printf(out, "\",%s=\"", fm->label);
    rc = rc ? rc : met__value(out, label);
    if (!rc && le)
        rc = buf_printf(out, "\",le=\"%s", le);
    return rc ? rc : buf_adds(out, "\"} ");
}

static int met__histogram(buf_t *out, const met_family *fm, met_series *s)
{
    uint64_t cum = 0;
    int rc = 0;
    for (size_t i = 0; i <= MET_NBUCKETS && !rc; i++) {
        char le[24];
        if (i < MET_NBUCKETS)
            snprintf(le, sizeof le, "%g", met_bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        cum += atomic_load_explicit(&s->b[i], memory_order_relaxed);
        rc = met__head(out, fm, "_bucket", s->label, le);
        rc = rc ? rc : buf_printf(out, "%" PRIu64 "\n", cum);
    }
    double sum = (double)atomic_load(&s->sum_ns) / 1e9;
    rc = rc ? rc : met__head(out, fm, "_sum", s->label, NULL);
    rc = rc ? rc : buf_printf(out, "%.9g\n", sum);
    rc = rc ? rc : met__head(out, fm, "_count", s->label, NULL);
    return rc ? rc : buf_printf(out, "%" PRIu64 "\n", cum);
}

static int met__family(buf_t *out, met_id f, size_t n)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    const met_family *fm = &met_families[f];
    int rc = buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", fm->name,
                        fm->help, fm->name, types[fm->type]);
    for (size_t i = 0; i < n && !rc; i++) {
        met_series *s = &met_tab[i];
        if (s->f != f)
            continue;
        if (fm->type == HISTOGRAM) {
            rc = met__histogram(out, fm, s);
            continue;
        }
        rc = met__head(out, fm, "", s->label, NULL);
        rc = rc ? rc : buf_printf(out, "%" PRId64 "\n", atomic_load(&s->v));
    }
    uint64_t full = atomic_load(&met_full);
    if (!rc && f == MET_ERRORS && full) {
        rc = met__head(out, fm, "", "metrics_full", NULL);
        rc = rc ? rc : buf_printf(out, "%" PRIu64 "\n", full);
    }
    return rc;
}

int met_render(buf_t *out, err_t *e)
{
    size_t n = atomic_load_explicit(&met_n, memory_order_acquire);
    for (int f = 0; f < MET__COUNT; f++)
        if (met__family(out, (met_id)f, n) < 0)
            return err_set(e, ERR_TOOBIG, "metrics: the exposition text does "
                           "not fit its buffer");
    return 0;
}
