/* eportctl cbec: cross-border e-commerce at this node (docs/cbec.md).
 *
 *   status ORDERNO   a parcel's set at its matching node: its state and
 *                    why, the time limit, which of its order, payment,
 *                    waybill and inventory list have come, and what it
 *                    drew on its buyer's allowance;
 *   allowance        a buyer's annual allowance, by --id-hash H (at its
 *                    home: this node, or --home RR for the newest answer
 *                    held here) or by --id NUMBER (hashed here with
 *                    cbec.id_key; the number is neither printed nor sent).
 *
 * Reads the configuration's Redis only; what it prints is cbview.c's and
 * pmview.c's, which the HTTP API shares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbec_allow.h"
#include "cbview.h"
#include "config.h"
#include "ctl.h"
#include "store.h"
#include "store_cbec.h"

#define CBEC_USAGE "eportctl cbec status ORDERNO --config FILE [--json]\n" \
    "       eportctl cbec allowance (--id-hash H | --id NUMBER) [--home RR] " \
    "[--year YYYY] --config FILE [--json]"

typedef struct cb_args {
    const char *config, *hash, *id, *home, *pos[2];
    long year;
    int npos, json;
} cb_args;

static int cb__status(store *st, const cb_args *o, arena_t *a)
{
    store_cbec_set s;
    cbview_allow al;
    err_t e;
    buf_t b;
    int rc = store_cbec_get(st, o->pos[1], a, &s, &e);
    if (rc == 0 && cbview_allow_load(st, &s, a, &al, &e) < 0)
        rc = ERR_IO;
    if (rc < 0) {
        fprintf(stderr, "eportctl: error: %s\n", e.msg);
        return rc == ERR_NOTFOUND ? CTL_NOINPUT : rc == ERR_INVALID ? CTL_USAGE
                                                                    : CTL_UNAVAILABLE;
    }
    buf_init(&b, 1 << 20);
    if (o->json)
        return ctl_print(cbview_set_json_new(&s, &al), &b);
    if (cbview_set_text(&s, &al, &b)) {
        buf_free(&b);
        return CTL_SOFTWARE;
    }
    return ctl_print(NULL, &b);
}

/* The hash (and home) of --id NUMBER, with the configuration's key. */
static int cb__hash_of(const cfg *c, const char *number, char hash[CBEC_HASH_HEX + 1],
                       const char **home, err_t *e)
{
    unsigned char key[CBEC_KEY_MAX];
    size_t klen;
    static cbec_limits l;
    if (!c->cbec.id_key)
        return err_set(e, ERR_CONFIG, "cbec.id_key is not set: --id needs the "
                       "federation's identity key (or give --id-hash)");
    int rc = cbec_id_key_load(c->cbec.id_key, key, &klen, e);
    if (rc == 0)
        rc = cbec_limits_load(c->mappings.dir, &l, e);
    if (rc == 0)
        rc = cbec_id_hash(key, klen, number, hash, e);
    if (rc == 0 && !*home && !(*home = cbec_home_of(&l, number)))
        rc = err_set(e, ERR_INVALID, "no region keeps allowances of identity "
                     "numbers beginning %.2s (code list cn_id_region)", number);
    return rc;
}

static int cb__allowance(store *st, const cfg *c, const cb_args *o, arena_t *a)
{
    char hash[CBEC_HASH_HEX + 1];
    const char *home = o->home, *h = o->hash;
    pmview_show s;
    err_t e;
    buf_t b;
    int rc = 0;
    if (o->id && (rc = cb__hash_of(c, o->id, hash, &home, &e)) == 0)
        h = hash;
    if (rc == 0)
        rc = cbview_allowance_load(st, c->node.region, home, h,
                                   o->year ? (int)o->year : cbec_year((int64_t)time(NULL) * 1000), a, &s, &e);
    if (rc < 0) {
        fprintf(stderr, "eportctl: error: %s\n", e.msg);
        return rc == ERR_NOTFOUND ? CTL_NOINPUT : rc == ERR_IO ? CTL_UNAVAILABLE
             : rc == ERR_CONFIG ? CTL_CONFIG : CTL_USAGE;
    }
    buf_init(&b, 1 << 20);
    if (o->json)
        return ctl_print(pmview_show_json_new(&s), &b);
    if (pmview_show_text(&s, &b)) {
        buf_free(&b);
        return CTL_SOFTWARE;
    }
    return ctl_print(NULL, &b);
}

static int cb__args(int argc, char **argv, cb_args *o)
{
    *o = (cb_args){0};
    const ctl_opt opts[] = {{"--config", "-c", &o->config, NULL, NULL},
                            {"--json", NULL, NULL, NULL, &o->json},
                            {"--id-hash", NULL, &o->hash, NULL, NULL},
                            {"--id", NULL, &o->id, NULL, NULL},
                            {"--home", NULL, &o->home, NULL, NULL},
                            {"--year", NULL, NULL, &o->year, NULL},
                            {0}};
    int rc = ctl_opts(argc, argv, 1, opts, o->pos, 2, &o->npos, CBEC_USAGE);
    if (rc)
        return rc;
    int status = o->npos == 2 && !strcmp(o->pos[0], "status") && !o->hash && !o->id;
    int allow = o->npos == 1 && !strcmp(o->pos[0], "allowance") && !o->hash != !o->id;
    if (status || allow)
        return CTL_OK;
    fprintf(stderr, "eportctl: error: cbec status ORDERNO, or cbec allowance "
            "with one of --id-hash and --id\nusage: %s\n", CBEC_USAGE);
    return CTL_USAGE;
}

int ctl_cbec(int argc, char **argv)
{
    cb_args o;
    int rc = cb__args(argc, argv, &o);
    if (rc)
        return rc < 0 ? CTL_OK : rc;
    cfg *c = NULL;
    store *st = NULL;
    arena_t a;
    arena_init(&a, 64u << 20);
    if ((rc = ctl_store_open(o.config, &c, &st)) == CTL_OK)
        rc = !strcmp(o.pos[0], "status") ? cb__status(st, &o, &a)
                                         : cb__allowance(st, c, &o, &a);
    arena_free(&a);
    store_close(st);
    cfg_free(c);
    return rc;
}
