#include "codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One row per format. Each lives in connectors/codec/codec_NAME.c. */
extern const codec_ops codec_edifact_ops, codec_xml_ops, codec_json_ops,
    codec_csv_ops, codec_fixed_ops;

static const codec_ops *const codec__all[] = {
    &codec_edifact_ops, &codec_xml_ops, &codec_json_ops,
    &codec_csv_ops,     &codec_fixed_ops, NULL,
};

const codec_ops *const *codec_all(void) { return codec__all; }

const codec_ops *codec_find(const char *name)
{
    for (size_t i = 0; name && codec__all[i]; i++)
        if (strcmp(codec__all[i]->name, name) == 0)
            return codec__all[i];
    return NULL;
}

const codec_ops *codec_sniff(const char *data, size_t len)
{
    const codec_ops *best = NULL;
    int best_score = 0;
    for (size_t i = 0; codec__all[i]; i++) {
        if (!codec__all[i]->sniff)
            continue;
        int s = codec__all[i]->sniff(data, len);
        if (s > best_score) {
            best_score = s;
            best = codec__all[i];
        }
    }
    return best;
}

codec_msg *codec_msg_add(codec_batch *b, arena_t *a)
{
    if (b->nmsgs >= CODEC_MAX_MESSAGES)
        return NULL;
    codec_msg *m = arena_zalloc(a, sizeof *m);
    if (!m)
        return NULL;
    m->index = b->nmsgs++;
    if (b->last)
        b->last->next = m;
    else
        b->msgs = m;
    b->last = m;
    return m;
}

static void codec__append(codec_diag **head, codec_diag *d)
{
    codec_diag **p = head;
    while (*p)
        p = &(*p)->next;
    *p = d;
}

int codec_diag_add(codec_batch *b, codec_msg *m, arena_t *a, int code,
                   uint32_t line, uint32_t col, const char *fmt, ...)
{
    if (b->ndiags++ >= CODEC_MAX_DIAGS)
        return code;
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    codec_diag *d = arena_zalloc(a, sizeof *d);
    if (!d || !(d->msg = arena_strdup(a, msg)))
        return code;
    d->line = line;
    d->col = col;
    d->code = code;
    if (m) {
        codec__append(&m->diags, d);
    } else {
        if (b->diags_last)
            b->diags_last->next = d;
        else
            b->diags = d;
        b->diags_last = d;
    }
    return code;
}
