/* eportctl map: local-format files to canonical records (one JSON object
 * per line, or msgpack), or with --reverse canonical JSON lines back to the
 * local format of the table named by --map. Problems go to stderr as
 * FILE:LINE:COL: error: ..., the other messages still translate, and the
 * exit status is 65 when there was any problem. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_map_int.h"
#include "map.h"
#include "model_json.h"
#include "model_pack.h"
#include "xlate.h"

#define CTL_MAP_FLUSH (1u << 20)

typedef struct cmap {
    const char *file;
    int msgpack;
    int hold;        /* --diff: the records are kept, not printed */
    buf_t out;
    int io_failed;
} cmap;

static void cm__flush(cmap *c, int force)
{
    if (c->out.len && !c->hold && (force || c->out.len >= CTL_MAP_FLUSH)) {
        if (fwrite(c->out.p, 1, c->out.len, stdout) != c->out.len)
            c->io_failed = 1;
        buf_reset(&c->out);
    }
}

static int cm__record(void *ctx, const codec_msg *m, const map_def *d,
                      model_record *r)
{
    cmap *c = ctx;
    err_t e;
    (void)m;
    (void)d;
    int rc = c->msgpack ? model_pack(r, &c->out, &e)
                        : model_json_write(r, &c->out, &e);
    if (!rc && !c->msgpack)
        rc = buf_addc(&c->out, '\n');
    cm__flush(c, 0);
    return rc;
}

static void cm__problem(void *ctx, uint32_t line, uint32_t col,
                        const char *msg)
{
    cmap *c = ctx;
    fprintf(stderr, "%s:%u:%u: error: %s\n", c->file, line, col, msg);
}

/* A slip a lenient rule let through (docs/mapping-language.md, "Strict
 * and lenient"): the record says it in warnings[], stderr too. */
static void cm__warning(void *ctx, uint32_t line, uint32_t col, int rule,
                        const char *msg)
{
    cmap *c = ctx;
    (void)rule;
    fprintf(stderr, "%s:%u:%u: warning: %s\n", c->file, line, col, msg);
}

static int cm__forward(cmap *c, const map_set *s, const map_def *forced,
                       buf_t *in, arena_t *a)
{
    xlate_sink sink = {cm__record, cm__problem, c, cm__warning, NULL};
    xlate_stats st = {0};
    err_t e;
    if (xlate_input(s, forced, c->file, in->p ? in->p : "", in->len, a, &sink,
                    &st, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return CTL_DATAERR;
    }
    return st.problems ? CTL_DATAERR : CTL_OK;
}

#define CM_MAX_OUT 4096 /* messages in one written interchange */

/* One JSON record per line back through the table to the local format: one
 * interchange (EDIFACT) or, for a table that splits, one document holding
 * every record; otherwise one document per record, written one after the
 * other. */
/* Write n messages: one interchange for EDIFACT, else one document each. */
static int cm__write(cmap *c, const map_def *d, const codec_msg **msgs,
                     size_t n)
{
    const codec_ops *ops = codec_find(map_def_format(d));
    codec_opts o = *map_def_codec_opts(d);
    o.pretty = 1;
    size_t per = strcmp(ops->name, "edifact") == 0 ? n : 1;
    for (size_t i = 0; i < n; i += per) {
        err_t e;
        if (ops->write(msgs + i, per, &o, &c->out, &e)) {
            fprintf(stderr, "%s: error: %s\n", c->file, e.msg);
            return CTL_DATAERR;
        }
    }
    return CTL_OK;
}

static int cm__reverse(cmap *c, const map_def *d, buf_t *in, arena_t *a)
{
    const codec_msg *msgs[CM_MAX_OUT];
    codec_msg *doc = NULL;
    size_t n = 0, lineno = 0;
    int status = CTL_OK;
    for (char *p = in->p; p && *p; lineno++) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        model_record *r;
        codec_msg *m = map_def_splits(d) ? doc : NULL;
        err_t e;
        if (len && (model_json_read(p, len, a, &r, &e) ||
                    map_reverse(d, r, a, &m, &e))) {
            fprintf(stderr, "%s:%zu:1: error: %s\n", c->file, lineno + 1, e.msg);
            status = CTL_DATAERR;
        } else if (len && m != doc) {
            msgs[n++] = doc = m;
        }
        if (n == CM_MAX_OUT) { /* a full interchange: out, then go on */
            if (cm__write(c, d, msgs, n))
                return CTL_DATAERR;
            n = 0;
        }
        p = nl ? nl + 1 : NULL;
    }
    return cm__write(c, d, msgs, n) ? CTL_DATAERR : status;
}

static void cm__usage(FILE *f)
{
    fprintf(f, "usage: eportctl map [--mappings DIR] [--map NAME] "
               "[--format json|msgpack] FILE...\n"
               "       eportctl map --reverse --map NAME FILE.jsonl...\n"
               "       eportctl map [--map NAME] --diff EXPECTED.jsonl FILE\n"
               "       eportctl map [--map NAME] --explain FILE\n\n"
               "Prints one canonical record per message (JSON lines). The "
               "table is chosen from\neach message (EDIFACT type/version/"
               "sender, XML root, file-name rule) unless\n--map names it. "
               "'-' reads standard input.\n");
}

typedef struct cm_args {
    const char *dir, *map, *diff;
    int msgpack, reverse, explain;
} cm_args;

static int cm__args(int argc, char **argv, cm_args *o)
{
    static const struct option opts[] = {
        {"mappings", required_argument, 0, 'd'},
        {"map", required_argument, 0, 'm'},
        {"format", required_argument, 0, 'f'},
        {"reverse", no_argument, 0, 'r'},
        {"diff", required_argument, 0, 'D'},
        {"explain", no_argument, 0, 'X'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "d:m:f:rh", opts, NULL)) != -1) {
        if (ch == 'd') o->dir = optarg;
        else if (ch == 'D') o->diff = optarg;
        else if (ch == 'X') o->explain = 1;
        else if (ch == 'm') o->map = optarg;
        else if (ch == 'r') o->reverse = 1;
        else if (ch == 'f' && (strcmp(optarg, "json") == 0 ||
                               strcmp(optarg, "msgpack") == 0))
            o->msgpack = optarg[0] == 'm';
        else if (ch == 'h') return cm__usage(stdout), -1;
        else return cm__usage(stderr), CTL_USAGE;
    }
    if (optind >= argc || (o->reverse && !o->map) ||
        ((o->diff || o->explain) && (o->reverse || o->msgpack ||
                                     optind + 1 != argc)) ||
        (o->diff && o->explain))
        return cm__usage(stderr), CTL_USAGE;
    return 0;
}

static int cm__files(cmap *c, const map_set *s, const map_def *d,
                     const cm_args *o, int argc, char **argv)
{
    arena_t a;
    arena_init(&a, (size_t)4 << 30);
    buf_t in;
    buf_init(&in, CODEC_MAX_INPUT);
    int status = CTL_OK;
    for (int i = optind; i < argc; i++) {
        err_t e;
        c->file = argv[i];
        buf_reset(&in);
        int rc;
        if (ctl_read_file(argv[i], &in, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            rc = CTL_NOINPUT;
        } else {
            rc = o->explain ? cm_explain(c->file, s, d, &in)
                 : o->reverse ? cm__reverse(c, d, &in, &a)
                              : cm__forward(c, s, d, &in, &a);
        }
        status = status ? status : rc;
        arena_reset(&a);
        cm__flush(c, 1);
    }
    buf_free(&in);
    arena_free(&a);
    return status;
}

/* --diff: the records held in c->out against the golden file; a file
 * with problems fails as it would without --diff. */
static int cm__diff(cmap *c, const char *expected, int status)
{
    buf_t want;
    err_t e;
    buf_init(&want, CODEC_MAX_INPUT);
    int rc = ctl_read_file(expected, &want, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    else
        rc = cm_diff(expected, &want, &c->out, stdout);
    buf_free(&want);
    return rc < 0 ? CTL_NOINPUT : status != CTL_OK ? status : rc;
}

int ctl_map(int argc, char **argv)
{
    cm_args o = {0};
    int rc = cm__args(argc, argv, &o);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    const char *dir = ctl_mappings_dir(o.dir);
    map_set *s = NULL;
    err_t e;
    if (map_set_load(dir, &s, &e)) {
        for (const map_problem *p = s ? map_set_problems(s) : NULL; p; p = p->next)
            fprintf(stderr, "%s\n", p->text);
        if (!s || !map_set_problems(s))
            fprintf(stderr, "%s\n", e.msg);
        map_set_free(s);
        return CTL_CONFIG;
    }
    const map_def *d = o.map ? map_set_find(s, o.map) : NULL;
    if (o.map && !d) {
        fprintf(stderr, "eportctl map: error: no mapping named '%s' in %s\n",
                o.map, dir);
        map_set_free(s);
        return CTL_USAGE;
    }
    cmap c = {.msgpack = o.msgpack, .hold = o.diff != NULL};
    buf_init(&c.out, (size_t)1 << 30);
    int status = cm__files(&c, s, d, &o, argc, argv);
    if (o.diff && status != CTL_NOINPUT)
        status = cm__diff(&c, o.diff, status);
    buf_free(&c.out);
    map_set_free(s);
    return c.io_failed ? CTL_IOERR : status;
}
