#include "xlate.h"

#include <string.h>

typedef struct xl {
    const map_set *s;
    const map_def *forced;
    const char *name;
    const xlate_sink *sink;
    xlate_stats *st;
    const map_def *cur; /* table of the message being applied */
} xl;

static void xl__report(xl *x, const codec_diag *d)
{
    for (; d; d = d->next) {
        x->st->problems++;
        if (x->sink->problem)
            x->sink->problem(x->sink->ctx, d->line, d->col, d->msg);
    }
}

static int xl__record(void *ctx, const codec_msg *m, model_record *r)
{
    xl *x = ctx;
    x->st->records++;
    return x->sink->record ? x->sink->record(x->sink->ctx, m, x->cur, r) : 0;
}

static int xl__message(xl *x, codec_batch *b, codec_msg *m, arena_t *a)
{
    x->st->messages++;
    if (!m->diags && m->root) {
        err_t e;
        x->cur = x->forced ? x->forced : map_set_select(x->s, m, x->name, &e);
        if (!x->cur)
            codec_diag_add(b, m, a, e.code, m->line, 0, "message %u: %s",
                           m->index + 1, e.msg);
        else if (map_apply(x->cur, b, m, a, xl__record, x) == ERR_NOMEM)
            return ERR_NOMEM;
    } else if (!m->diags) {
        codec_diag_add(b, m, a, ERR_SYNTAX, m->line, 0,
                       "message %u: could not be parsed", m->index + 1);
    }
    xl__report(x, m->diags);
    return 0;
}

/* A table chosen by its file-name rule, or forced, brings codec options;
 * otherwise the format is sniffed. A table chosen by content that needs
 * other options (a legacy charset) gets the input parsed again with them. */
static int xl__parse(xl *x, const map_def *d, const char *data, size_t len,
                     arena_t *a, codec_batch *b, err_t *e)
{
    const codec_ops *ops = d ? codec_find(map_def_format(d))
                             : codec_sniff(data, len);
    if (!ops || !ops->parse)
        return err_set(e, ERR_UNSUPPORTED, "%s: error: cannot tell the format "
                       "of this input (name a mapping with --map)", x->name);
    codec_opts none = {0};
    int rc = ops->parse(data, len, d ? map_def_codec_opts(d) : &none, a, b, e);
    if (rc || d || !b->msgs || !b->msgs->root)
        return rc;
    err_t ignore;
    const map_def *first = map_set_select(x->s, b->msgs, x->name, &ignore);
    if (!first || !map_def_codec_opts(first)->charset)
        return 0;
    memset(b, 0, sizeof *b);
    return ops->parse(data, len, map_def_codec_opts(first), a, b, e);
}

int xlate_input(const map_set *s, const map_def *forced, const char *name,
                const char *data, size_t len, arena_t *a,
                const xlate_sink *sink, xlate_stats *st, err_t *e)
{
    xl x = {s, forced, name, sink, st, NULL};
    if (len > CODEC_MAX_INPUT)
        return err_set(e, ERR_TOOBIG, "%s: error: input of %zu bytes is over "
                       "the %u-byte limit", name, len, CODEC_MAX_INPUT);
    const map_def *d = forced ? forced : map_set_by_filename(s, name);
    codec_batch b = {0};
    int rc = xl__parse(&x, d, data, len, a, &b, e);
    if (rc)
        return rc;
    for (codec_msg *m = b.msgs; m && !rc; m = m->next)
        rc = xl__message(&x, &b, m, a);
    xl__report(&x, b.diags);
    return rc ? err_set(e, rc, "%s: error: %s", name, err_text(rc)) : 0;
}
