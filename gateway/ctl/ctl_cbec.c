/* eportctl cbec status ORDERNO: a cross-border e-commerce parcel's set at
 * this (its matching) node: its state and why, the time limit, and which
 * of its order, payment, waybill and inventory list have come (docs/
 * cbec.md). Reads the configuration's Redis only; what it prints is
 * cbview.c's, which the HTTP API shares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbview.h"
#include "config.h"
#include "ctl.h"
#include "store.h"
#include "store_cbec.h"

#define CBEC_USAGE "eportctl cbec status ORDERNO --config FILE [--json]"

static int cb__print(const store_cbec_set *s, const cbview_allow *al, int json)
{
    buf_t b;
    buf_init(&b, 1 << 20);
    int rc = 0;
    if (json) {
        json_t *o = cbview_set_json_new(s, al);
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
        rc = t ? buf_printf(&b, "%s\n", t) : ERR_NOMEM;
        free(t);
        json_decref(o);
    } else {
        rc = cbview_set_text(s, al, &b);
    }
    if (rc == 0 && b.len && fwrite(b.p, 1, b.len, stdout) != b.len)
        rc = ERR_IO;
    buf_free(&b);
    return rc == 0 ? CTL_OK : rc == ERR_IO ? CTL_IOERR : CTL_SOFTWARE;
}

int ctl_cbec(int argc, char **argv)
{
    const char *config = NULL, *pos[2];
    int npos = 0, json = 0;
    const ctl_opt opts[] = {{"--config", "-c", &config, NULL, NULL},
                            {"--json", NULL, NULL, NULL, &json},
                            {0}};
    int rc = ctl_opts(argc, argv, 1, opts, pos, 2, &npos, CBEC_USAGE);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    if (npos != 2 || strcmp(pos[0], "status")) {
        fprintf(stderr, "eportctl: error: cbec status ORDERNO\nusage: %s\n",
                CBEC_USAGE);
        return CTL_USAGE;
    }
    cfg *c = NULL;
    store *st = NULL;
    arena_t a;
    arena_init(&a, 64u << 20);
    store_cbec_set s;
    err_t e;
    if ((rc = ctl_store_open(config, &c, &st)) == CTL_OK) {
        cbview_allow al;
        int src = store_cbec_get(st, pos[1], &a, &s, &e);
        if (src == 0)
            src = cbview_allow_load(st, &s, &a, &al, &e) < 0 ? ERR_IO : 0;
        if (src < 0)
            fprintf(stderr, "eportctl: error: %s\n", e.msg);
        rc = src == ERR_NOTFOUND ? CTL_NOINPUT : src == ERR_INVALID ? CTL_USAGE
           : src < 0 ? CTL_UNAVAILABLE : cb__print(&s, &al, json);
    }
    arena_free(&a);
    store_close(st);
    cfg_free(c);
    return rc;
}
