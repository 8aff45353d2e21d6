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
    int rc;
    x->st->messages++;
    if (!m->diags && m->root) {
        err_t e;
        x->cur = x->forced ? x->forced : map_set_select(x->s, m, x->name, &e);
        if (!x->cur)
            codec_diag_add(b, m, a, e.code, m->line, 0, "message %u: %s",
                           m->index + 1, e.msg);
        else if ((rc = map_apply(x->cur, b, m, a, xl__record, x)) > 0 ||
                 rc == ERR_NOMEM)
            return rc; /* the sink asked to stop, or memory ran out */
    } else if (!m->diags) {
        codec_diag_add(b, m, a, ERR_SYNTAX, m->line, 0,
                       "message %u: could not be parsed", m->index + 1);
    }
    xl__report(x, m->diags);
    return 0;
}

/* A table known before parsing (forced, or by its file-name rule) brings
 * its codec options, such as a legacy charset; otherwise the format is
 * sniffed and the codec's defaults apply. */
static int xl__parse(xl *x, const map_def *d, const char *data, size_t len,
                     arena_t *a, codec_batch *b, err_t *e)
{
    const codec_ops *ops = d ? codec_find(map_def_format(d))
                             : codec_sniff(data, len);
    if (!ops || !ops->parse)
        return err_set(e, ERR_UNSUPPORTED, "%s: error: cannot tell the format "
                       "of this input (name a mapping with --map)", x->name);
    codec_opts none = {0};
    return ops->parse(data, len, d ? map_def_codec_opts(d) : &none, a, b, e);
}

/* Streaming codecs hand each message over as soon as it is complete; it
 * and its record live in the codec's per-message arena until we return. */
static int xl__emit(void *ctx, codec_batch *b, codec_msg *m)
{
    xl *x = ctx;
    return xl__message(x, b, m, b->msg_arena);
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
    arena_t msg_arena;
    arena_init(&msg_arena, a->max);
    codec_batch b = {.emit = xl__emit, .emit_ctx = &x, .msg_arena = &msg_arena};
    int rc = xl__parse(&x, d, data, len, a, &b, e);
    for (codec_msg *m = b.msgs; m && !rc; m = m->next)
        rc = xl__message(&x, &b, m, a);
    if (!rc)
        xl__report(&x, b.diags);
    arena_free(&msg_arena);
    if (rc > 0) /* stopped by the sink */
        return 0;
    if (rc == ERR_NOMEM)
        return err_set(e, rc, "%s: error: %s", name, err_text(rc));
    return rc;
}
