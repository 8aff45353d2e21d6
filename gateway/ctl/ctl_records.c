/* ctl_records: the records of local input files, for the eportctl
 * commands that act on what local systems sent (declare, status): each
 * file translated through the mapping tables (one forced by --map, or
 * the first that matches), or, with canonical set, a FILE.json read as
 * canonical JSON. One reader, so the commands agree on what an input
 * means and report problems the same way as `eportctl map`. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "model_json.h"
#include "xlate.h"

typedef struct rec__ctx {
    ctl_record_fn fn;
    void *ctx;
    int stop;
} rec__ctx;

static int rec__record(void *ctx, const codec_msg *m, const map_def *md,
                       model_record *r)
{
    (void)m, (void)md;
    rec__ctx *x = ctx;
    if (!x->stop)
        x->stop = x->fn(x->ctx, r);
    return x->stop ? 1 : 0;
}

static void rec__problem(void *ctx, uint32_t line, uint32_t col,
                         const char *msg)
{
    (void)ctx;
    fprintf(stderr, "eportctl: %u:%u: error: %s\n", line, col, msg);
}

static int rec__is_json(const ctl_inputs *in, const char *path)
{
    size_t pl = strlen(path);
    return in->canonical && pl > 5 && !strcmp(path + pl - 5, ".json");
}

static int rec__translate(const ctl_inputs *in, const map_set *s,
                          const char *path, const buf_t *b, arena_t *a,
                          rec__ctx *x, err_t *e)
{
    const map_def *forced = in->map ? map_set_find(s, in->map) : NULL;
    if (in->map && !forced)
        return err_set(e, ERR_NOMAP, "no mapping named '%s'", in->map);
    xlate_sink sink = { rec__record, rec__problem, x, NULL, NULL };
    xlate_stats st = { 0 };
    int rc = xlate_input(s, forced, path, b->p ? b->p : "", b->len, a, &sink,
                         &st, e);
    if (rc == 0 && st.problems)
        rc = err_set(e, ERR_INVALID, "%u problem(s) translating it",
                     st.problems);
    return rc;
}

static int rec__file(const ctl_inputs *in, const map_set *s, const char *path,
                     arena_t *a, rec__ctx *x, err_t *e)
{
    buf_t b;
    buf_init(&b, 64u << 20);
    int rc = ctl_read_file(path, &b, e);
    if (rc == 0 && rec__is_json(in, path)) {
        model_record *r;
        rc = model_json_read(b.p ? b.p : "", b.len, a, &r, e);
        if (rc == 0)
            rec__record(x, NULL, NULL, r);
    } else if (rc == 0) {
        rc = rec__translate(in, s, path, &b, a, x, e);
    }
    buf_free(&b);
    if (rc == 0 && x->stop < 0)
        rc = x->stop;
    return rc < 0 ? err_wrap(e, "%s", path) : 0;
}

int ctl_records(const ctl_inputs *in, const char *mappings_dir,
                ctl_record_fn fn, void *ctx, err_t *e)
{
    int mapped = 0; /* only JSON inputs: no mapping tables needed */
    for (int i = 0; i < in->nfiles; i++)
        mapped |= !rec__is_json(in, in->files[i]);
    map_set *s = NULL;
    int rc = mapped ? map_set_load(mappings_dir, &s, e) : 0;
    arena_t a;
    arena_init(&a, (size_t)1 << 30);
    rec__ctx x = { fn, ctx, 0 };
    for (int i = 0; rc == 0 && i < in->nfiles; i++) {
        rc = rec__file(in, s, in->files[i], &a, &x, e);
        arena_reset(&a);
    }
    arena_free(&a);
    map_set_free(s);
    return rc;
}
