#include "xlate.h"

#include <string.h>

typedef struct xl {
    const map_set *s;
    const map_def *forced;
    const char *name;
    const xlate_sink *sink;
    xlate_stats *st;
    const map_def *cur; /* table of the message being applied */
    const map_def *seen; /* the table lenient was last worked out for */
    uint32_t lenient;   /* the rules lenient for it (bit r) */
    arena_t *a;         /* the message's memory */
    model_strlist warn; /* its codec slips let through, first in each of
                           its records */
    uint32_t strict_seen, lenient_seen; /* rules the input's tables held
                                           strict / lenient (bit r) */
} xl;

/* Whether rule is lenient for the message being applied. */
static int xl__lenient(const xl *x, int rule)
{
    return x->lenient >> rule & 1;
}

/* Table d reads the input: its rules' modes (under the sender's) become
 * the message's, and a slip outside any message is an error if any
 * table that read the input holds its rule strict. */
static void xl__seen(xl *x, const map_def *d)
{
    if (d == x->seen)
        return; /* the messages of an input mostly share one table */
    x->seen = d;
    x->lenient = 0;
    for (int r = STRICT_NONE + 1; r < STRICT__N; r++)
        x->lenient |= (uint32_t)strict_is_lenient(map_def_strict(d),
                                                  x->sink->strict, r) << r;
    x->lenient_seen |= x->lenient;
    x->strict_seen |= ~x->lenient;
}

static int xl__input_lenient(const xl *x, int rule)
{
    uint32_t bit = 1u << rule;
    return (x->lenient_seen & bit) && !(x->strict_seen & bit);
}

/* Each diag once, as a problem or (a slip judged lenient) a warning;
 * input: the input's own diags, judged by every table that read it. */
static void xl__report(xl *x, const codec_diag *d, int input)
{
    char line[ERR_MSG_MAX + 64];
    for (; d; d = d->next) {
        int warn = d->rule && (input ? xl__input_lenient(x, d->rule)
                                     : d->warn);
        codec_diag_line(d, line, sizeof line);
        if (warn)
            x->st->warnings++;
        else
            x->st->problems++;
        if (warn && x->sink->warning)
            x->sink->warning(x->sink->ctx, d->line, d->col, d->rule, line);
        else if (!warn && x->sink->problem)
            x->sink->problem(x->sink->ctx, d->line, d->col, line);
    }
}

static int xl__warn(xl *x, const codec_diag *d)
{
    char text[ERR_MSG_MAX + 64];
    err_t e;
    codec_diag_warning(d, text, sizeof text);
    return model_strlist_add(x->a, &x->warn, text, strlen(text), &e);
}

/* The codec's slips judged by the message's table: the input's so far and
 * the message's own that are lenient become its records' warnings; a
 * strict one refuses it (1). */
static int xl__judge(xl *x, const codec_batch *b, codec_msg *m)
{
    int refused = 0;
    for (const codec_diag *d = b->diags; d; d = d->next)
        if (d->rule && xl__lenient(x, d->rule))
            xl__warn(x, d);
    for (codec_diag *d = m->diags; d; d = d->next) {
        d->warn = (uint8_t)xl__lenient(x, d->rule);
        if (d->warn)
            xl__warn(x, d);
        refused |= !d->warn;
    }
    return refused;
}

/* A diag that is not a rule's slip: the message is broken. */
static int xl__plain(const codec_diag *d)
{
    for (; d; d = d->next)
        if (!d->rule)
            return 1;
    return 0;
}

/* r's warnings: the message's codec slips, then the mapping's own. */
static int xl__prepend(xl *x, model_record *r)
{
    model_strlist all = {0};
    err_t e;
    int rc = 0;
    for (uint32_t i = 0; !rc && i < x->warn.n; i++)
        rc = model_strlist_add(x->a, &all, x->warn.v[i],
                               strlen(x->warn.v[i]), &e);
    for (uint32_t i = 0; !rc && i < r->warnings.n; i++)
        rc = model_strlist_add(x->a, &all, r->warnings.v[i],
                               strlen(r->warnings.v[i]), &e);
    r->warnings = all;
    return rc;
}

static int xl__record(void *ctx, const codec_msg *m, model_record *r)
{
    xl *x = ctx;
    x->st->records++;
    if (x->warn.n && xl__prepend(x, r))
        return ERR_NOMEM;
    return x->sink->record ? x->sink->record(x->sink->ctx, m, x->cur, r) : 0;
}

/* A message whose tree is whole: its table, its slips judged, its
 * records. Returns what stops the input (the sink, no memory), else 0. */
static int xl__translate(xl *x, codec_batch *b, codec_msg *m, arena_t *a)
{
    err_t e;
    x->cur = x->forced ? x->forced : map_set_select(x->s, m, x->name, &e);
    if (!x->cur) {
        codec_diag_add(b, m, a, e.code, m->line, 0, "message %u: %s",
                       m->index + 1, e.msg);
        return 0;
    }
    xl__seen(x, x->cur);
    if (xl__judge(x, b, m))
        return 0;
    int rc = map_apply_strict(x->cur, x->sink->strict, b, m, a, xl__record,
                              x);
    return rc > 0 || rc == ERR_NOMEM ? rc : 0;
}

static int xl__message(xl *x, codec_batch *b, codec_msg *m, arena_t *a)
{
    x->st->messages++;
    x->a = a;
    x->warn = (model_strlist){0};
    if (m->root && !xl__plain(m->diags)) {
        int rc = xl__translate(x, b, m, a);
        if (rc)
            return rc; /* the sink asked to stop, or memory ran out */
    } else if (!m->diags) {
        codec_diag_add(b, m, a, ERR_SYNTAX, m->line, 0,
                       "message %u: could not be parsed", m->index + 1);
    }
    xl__report(x, m->diags, 0);
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
    xl x = {s, forced, name, sink, st, NULL, NULL, 0, NULL, {0}, 0, 0};
    if (len > CODEC_MAX_INPUT)
        return err_set(e, ERR_TOOBIG, "%s: error: input of %zu bytes is over "
                       "the %u-byte limit", name, len, CODEC_MAX_INPUT);
    const map_def *d = forced ? forced : map_set_by_filename(s, name);
    if (d)
        xl__seen(&x, d);
    arena_t msg_arena;
    arena_init(&msg_arena, a->max);
    codec_batch b = {.emit = xl__emit, .emit_ctx = &x, .msg_arena = &msg_arena};
    int rc = xl__parse(&x, d, data, len, a, &b, e);
    for (codec_msg *m = b.msgs; m && !rc; m = m->next)
        rc = xl__message(&x, &b, m, a);
    if (!rc)
        xl__report(&x, b.diags, 1);
    arena_free(&msg_arena);
    if (rc > 0) /* stopped by the sink */
        return 0;
    if (rc == ERR_NOMEM)
        return err_set(e, rc, "%s: error: %s", name, err_text(rc));
    return rc;
}
