/* The `codec:` block of a mapping table: options handed to the codec when
 * the table is known before parsing (charset, CSV delimiter and header,
 * fixed-width layouts). Kept apart from the rule compiler because it speaks
 * codec_opts, not rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_int.h"

static int mcc__bad(const ydoc *d, const ynode *n, arena_t *a,
                    map_problem ***tail, const char *why)
{
    err_t e;
    ydoc_err(d, n, &e, ERR_CONFIG, "%s", why);
    map_problem_add(tail, a, e.msg);
    return ERR_CONFIG;
}

static int mcc__uint(const char *s, uint32_t *out)
{
    char *end;
    long v = s ? strtol(s, &end, 10) : -1;
    if (!s || *end || v < 0 || v > 100000)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int mcc__field(const ydoc *d, const ynode *x, codec_fixed_field *f,
                      arena_t *a, map_problem ***tail)
{
    f->name = ydoc_str(x, "name");
    if (x->type != YD_MAP || !f->name ||
        mcc__uint(ydoc_str(x, "start"), &f->start) || f->start < 1 ||
        mcc__uint(ydoc_str(x, "len"), &f->len) || f->len < 1)
        return mcc__bad(d, x, a, tail, "a fixed-width field is {name: N, "
                        "start: COLUMN (from 1), len: WIDTH}");
    return 0;
}

static int mcc__record(const ydoc *d, const ynode *x, codec_fixed_record *r,
                       arena_t *a, map_problem ***tail)
{
    const ynode *fs = ydoc_get(x, "fields");
    r->type = ydoc_str(x, "type");
    if (x->type != YD_MAP || !fs || fs->type != YD_SEQ || !fs->nkids)
        return mcc__bad(d, x, a, tail, "a record layout is {type: CODE, "
                        "fields: [{name, start, len}, ...]}");
    codec_fixed_field *f = arena_zalloc(a, fs->nkids * sizeof *f);
    if (!f)
        return ERR_NOMEM;
    int rc = 0;
    for (const ynode *k = fs->kids; k; k = k->next)
        rc |= mcc__field(d, k, &f[r->nfields++], a, tail);
    r->fields = f;
    return rc;
}

static int mcc__records(const ydoc *d, const ynode *n, codec_opts *o,
                        arena_t *a, map_problem ***tail)
{
    if (n->type != YD_SEQ || !n->nkids)
        return mcc__bad(d, n, a, tail, "'records' is a list of record layouts");
    codec_fixed_record *r = arena_zalloc(a, n->nkids * sizeof *r);
    if (!r)
        return ERR_NOMEM;
    int rc = 0;
    for (const ynode *x = n->kids; x; x = x->next)
        rc |= mcc__record(d, x, &r[o->nrecords++], a, tail);
    o->records = r;
    return rc;
}

static int mcc__char(const char *s, char *out)
{
    if (!s)
        return 0;
    if (strcmp(s, "\\t") == 0 || strcmp(s, "tab") == 0)
        s = "\t";
    if (strlen(s) != 1)
        return -1;
    *out = s[0];
    return 0;
}

int map_compile_codec(const ydoc *d, const ynode *n, arena_t *a,
                      codec_opts *o, map_problem ***tail)
{
    static const char *const keys[] = {"charset", "delimiter", "quote",
                                       "header", "type_len", "records", NULL};
    if (n->type != YD_MAP)
        return mcc__bad(d, n, a, tail, "'codec' is a mapping of options");
    int rc = 0;
    for (const ynode *k = n->kids; k; k = k->next) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k->key))
            i++;
        if (!keys[i])
            rc |= mcc__bad(d, k, a, tail, "unknown codec option (charset, "
                           "delimiter, quote, header, type_len, records)");
    }
    o->charset = ydoc_str(n, "charset");
    if (mcc__char(ydoc_str(n, "delimiter"), &o->delimiter) ||
        mcc__char(ydoc_str(n, "quote"), &o->quote))
        rc |= mcc__bad(d, n, a, tail, "delimiter and quote are one character");
    const char *h = ydoc_str(n, "header");
    if (h)
        o->header = strcmp(h, "false") == 0 ? -1 : 1;
    const char *tl = ydoc_str(n, "type_len");
    if (tl && mcc__uint(tl, &o->type_len))
        rc |= mcc__bad(d, ydoc_get(n, "type_len"), a, tail, "type_len is a width");
    const ynode *recs = ydoc_get(n, "records");
    if (recs)
        rc |= mcc__records(d, recs, o, a, tail);
    return rc;
}
