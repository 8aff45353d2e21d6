/* codec_stage: the output stage the text writers (JSON, XML) share. A
 * writer emits many tiny pieces (a quote, a colon, a key); staging them
 * costs one buf_add per stage-full instead of one each. Header-only:
 * these run per token. */
#ifndef EPORT_CODEC_STAGE_H
#define EPORT_CODEC_STAGE_H

#include <string.h>

#include "buf.h"

typedef struct codec_stage {
    buf_t *out; /* borrowed: where flushed bytes go */
    size_t n;   /* bytes in buf */
    char buf[512];
} codec_stage;

static inline int codec_stage_flush(codec_stage *s)
{
    int rc = buf_add(s->out, s->buf, s->n);
    s->n = 0;
    return rc;
}

static inline int codec_stage_put(codec_stage *s, const void *p, size_t n)
{
    if (n > sizeof s->buf - s->n) {
        int rc = codec_stage_flush(s);
        if (rc || n > sizeof s->buf / 2) /* big pieces skip the stage */
            return rc ? rc : buf_add(s->out, p, n);
    }
    memcpy(s->buf + s->n, p, n);
    s->n += n;
    return 0;
}

static inline int codec_stage_putc(codec_stage *s, char c)
{
    if (s->n == sizeof s->buf)
        return codec_stage_put(s, &c, 1);
    s->buf[s->n++] = c;
    return 0;
}

#endif
