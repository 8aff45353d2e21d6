/* map_testutil: helpers shared by the mapping engine's unit tests (header
 * only; include after <cmocka.h>). Temporary mapping sets on disk, EDIFACT
 * interchanges built around a body, parsing with the real codecs, and
 * collecting the records and diags map_apply produces. */
#ifndef EPORT_MAP_TESTUTIL_H
#define EPORT_MAP_TESTUTIL_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "map_int.h"

/* ---- temporary directories ---- */

/* A fresh directory under $TMPDIR (or /tmp) with an empty codes/ inside. */
static inline void tu_mkdtemp(char *out, size_t n)
{
    const char *t = getenv("TMPDIR");
    snprintf(out, n, "%s/eport-maptest-XXXXXX", t && t[0] ? t : "/tmp");
    assert_non_null(mkdtemp(out));
    char codes[4096];
    snprintf(codes, sizeof codes, "%s/codes", out);
    assert_int_equal(mkdir(codes, 0700), 0);
}

/* Write text to dir/rel (rel may be "codes/x.yaml"). */
static inline void tu_write(const char *dir, const char *rel, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static inline int tu__rm(const char *p, const struct stat *st, int flag,
                         struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static inline void tu_rmrf(const char *dir)
{
    nftw(dir, tu__rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- problems ---- */

/* The problem "...FILE:LINE:COL: error: ...WHAT..." (col > 0), or NULL. */
static inline const char *tu_problem_at(const map_set *s, const char *file,
                                        unsigned line, const char *what)
{
    char want[256];
    snprintf(want, sizeof want, "%s:%u:", file, line);
    for (const map_problem *p = map_set_problems(s); p; p = p->next) {
        const char *at = strstr(p->text, want);
        unsigned col = 0;
        int used = 0;
        if (!at || !strstr(p->text, what) ||
            sscanf(at + strlen(want), "%u: error: %n", &col, &used) != 1 ||
            col == 0 || used == 0)
            continue;
        return p->text;
    }
    return NULL;
}

static inline void tu_dump_problems(const map_set *s)
{
    for (const map_problem *p = map_set_problems(s); p; p = p->next)
        print_message("  problem: %s\n", p->text);
}

/* Asserts a problem "...FILE:LINE:COL: error: ...WHAT..." exists. */
static inline void tu_assert_problem(const map_set *s, const char *file,
                                     unsigned line, const char *what)
{
    if (!tu_problem_at(s, file, line, what)) {
        tu_dump_problems(s);
        fail_msg("no problem '%s:%u:COL: error: ...%s...'", file, line, what);
    }
}

/* 1-based number of the first line of text holding needle. */
static inline unsigned tu_line_of(const char *text, const char *needle)
{
    const char *at = strstr(text, needle);
    if (!at)
        fail_msg("'%s' not in the table text", needle);
    unsigned n = 1;
    for (const char *p = text; p < at; p++)
        n += *p == '\n';
    return n;
}

static inline size_t tu_nproblems(const map_set *s)
{
    size_t n = 0;
    for (const map_problem *p = map_set_problems(s); p; p = p->next)
        n++;
    return n;
}

/* ---- messages ---- */

/* An EDIFACT interchange of one message around body (segments each ending
 * in "'\n"), with correct UNT/UNZ counts. Caller frees. */
static inline char *tu_edi(const char *type, const char *body)
{
    unsigned nseg = 0;
    for (const char *p = body; (p = strstr(p, "'\n")); p += 2)
        nseg++;
    size_t n = strlen(body) + 512;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n,
             "UNA:+.? '\n"
             "UNB+UNOC:3+SENDER1+RECIP1+240305:1430+IREF1'\n"
             "UNH+M1+%s:D:04A:UN'\n"
             "%s"
             "UNT+%u+M1'\n"
             "UNZ+1+IREF1'\n",
             type, body, nseg + 2);
    return s;
}

/* Parse text with codec name into batch b; the first message, which must
 * have a tree and no diags. */
static inline codec_msg *tu_parse(const char *codec, const char *text,
                                  const codec_opts *o, arena_t *a,
                                  codec_batch *b)
{
    const codec_ops *ops = codec_find(codec);
    assert_non_null(ops);
    codec_opts none;
    memset(&none, 0, sizeof none);
    memset(b, 0, sizeof *b);
    err_t e;
    err_clear(&e);
    int rc = ops->parse(text, strlen(text), o ? o : &none, a, b, &e);
    if (rc)
        fail_msg("%s parse: %s", codec, e.msg);
    assert_non_null(b->msgs);
    if (b->msgs->diags || !b->msgs->root)
        fail_msg("%s parse: %s", codec,
                 b->msgs->diags ? b->msgs->diags->msg : "no tree");
    return b->msgs;
}

/* ---- records ---- */

#define TU_MAX_RECS 16
typedef struct tu_recs {
    model_record *r[TU_MAX_RECS];
    size_t n;
} tu_recs;

static inline int tu_keep(void *ctx, const codec_msg *m, model_record *r)
{
    (void)m;
    tu_recs *k = ctx;
    if (k->n < TU_MAX_RECS)
        k->r[k->n] = r;
    k->n++;
    return 0;
}

/* Diags of m joined with '\n' into a static buffer. */
static inline const char *tu_diags(const codec_msg *m)
{
    static char out[8192];
    out[0] = 0;
    size_t len = 0;
    for (const codec_diag *d = m->diags; d && len < sizeof out - 1; d = d->next)
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s",
                                len ? "\n" : "", d->msg);
    return out;
}

static inline unsigned tu_ndiags(const codec_msg *m)
{
    unsigned n = 0;
    for (const codec_diag *d = m->diags; d; d = d->next)
        n++;
    return n;
}

/* Asserts some diag of m holds what. */
static inline void tu_assert_diag(const codec_msg *m, const char *what)
{
    const char *all = tu_diags(m);
    if (!strstr(all, what))
        fail_msg("no diag with '%s'; diags:\n%s", what, all);
}

static inline void tu_assert_str(const char *got, const char *want)
{
    if (!got)
        fail_msg("got NULL, want '%s'", want);
    assert_string_equal(got, want);
}

/* ---- a one-table set in a temporary directory ---- */

typedef struct tu_fx {
    char dir[4096];
    map_set *set;
    const map_def *d;
    arena_t a;
    codec_batch b;
    codec_msg *m;
    tu_recs k;
    int rc;
} tu_fx;

/* cmocka setup: a directory with the code lists the tests share. */
static inline int tu_setup(void **state)
{
    tu_fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_mkdtemp(f->dir, sizeof f->dir);
    arena_init(&f->a, 32u << 20);
    tu_write(f->dir, "codes/party_role.yaml", "codelist: party_role\ncodes:\n"
             "  CZ: consignor\n  CN: consignee\n  FW: forwarder\n");
    tu_write(f->dir, "codes/unit_mass.yaml", "codelist: unit_mass\ncodes:\n"
             "  TNE: \"1000\"\n  KGM: \"1\"\n  GRM: \"0.001\"\n");
    tu_write(f->dir, "codes/message_function.yaml",
             "codelist: message_function\ncodes:\n  \"9\": original\n"
             "  \"1\": cancellation\n  \"31\": original\n");
    *state = f;
    return 0;
}

static inline int tu_teardown(void **state)
{
    tu_fx *f = *state;
    map_set_free(f->set);
    arena_free(&f->a);
    tu_rmrf(f->dir);
    free(f);
    *state = NULL;
    return 0;
}

/* Write table as t.yaml (its `mapping:` must be t) and load the set. */
static inline const map_def *tu_load_table(tu_fx *f, const char *table)
{
    tu_write(f->dir, "t.yaml", table);
    map_set_free(f->set);
    err_t e;
    if (map_set_load(f->dir, &f->set, &e)) {
        tu_dump_problems(f->set);
        fail_msg("load: %s", e.msg);
    }
    f->d = map_set_find(f->set, "t");
    assert_non_null(f->d);
    return f->d;
}

/* Parse input with the table's codec and options, then map_apply: the
 * records in f->k, the result in f->rc, the diags on f->m. */
static inline void tu_apply(tu_fx *f, const char *input)
{
    f->m = tu_parse(map_def_format(f->d), input, map_def_codec_opts(f->d),
                    &f->a, &f->b);
    memset(&f->k, 0, sizeof f->k);
    f->rc = map_apply(f->d, &f->b, f->m, &f->a, tu_keep, &f->k);
}

static inline void tu_run(tu_fx *f, const char *table, const char *input)
{
    tu_load_table(f, table);
    tu_apply(f, input);
}

/* The one record of a clean run. */
static inline model_record *tu_one(tu_fx *f)
{
    if (f->rc || f->k.n != 1)
        fail_msg("rc %d, %zu records; diags:\n%s", f->rc, f->k.n,
                 tu_diags(f->m));
    return f->k.r[0];
}

/* An EDIFACT table "t" (IFTMIN waybill) with these rules, run over an
 * interchange holding these body segments. */
static inline void tu_run_edi(tu_fx *f, const char *rules, const char *body)
{
    char table[8192];
    snprintf(table, sizeof table, "mapping: t\nformat: edifact\n"
             "kind: waybill\nmatch:\n  message_type: IFTMIN\nfields:\n%s",
             rules);
    char *edi = tu_edi("IFTMIN", body);
    tu_run(f, table, edi);
    free(edi);
}

/* Failed with code, a diag, and no record handed out. */
static inline void tu_failed(tu_fx *f, int code)
{
    assert_int_equal(f->rc, code);
    assert_int_equal(f->k.n, 0);
    assert_non_null(f->m->diags);
}

#endif
