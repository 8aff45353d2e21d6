/* mvact_gather: a movement gathered from the records that describe it
 * (mvact.h), written once for `eportctl declare` (the files it is given)
 * and for eportd's dispatch of declarations local systems sent
 * (node_local.c, with the transport documents remembered by container):
 *
 *   declaration   gives the declarant, the packages, the record itself,
 *                 and its containers with their seals;
 *   every record  adds its document; one given explicitly (eportctl)
 *                 also its containers, one linked by container only the
 *                 seals of the containers already there (a waybill may
 *                 carry other declarations' containers too);
 *   kind          from the declaration's transport modes, unless given;
 *   itinerary     unless given: the regions of the UN/LOCODEs of the
 *                 declaration's route and legs (route.origin, each
 *                 leg's from and to, route.destination), through the
 *                 code list mappings/codes/locode-region.yaml, in the
 *                 order first met; places outside the federation (not
 *                 in the list: Rotterdam, Duisburg) are left out.
 *
 * Containers are the units that travel the whole way sealed (container,
 * swap body, trailer), not the wagons or barges carrying them, which
 * change at a transshipment. */
#include "mvact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model.h"
#include "model_pack.h"
#include "store_ldoc.h"
#include "ydoc.h"

#define MVG_SCRATCH_MAX ((size_t)1 << 30)
#define MVG_REGIONS_ARENA (64u << 20)

static char *mvg__dup(mvact_gather *g, const char *s)
{
    char *p = s ? arena_strdup(g->a, s) : NULL;
    if (s && !p && !g->failed)
        g->failed = err_set(g->e, ERR_NOMEM, "declare: out of memory");
    return p;
}

void mvact_gather_init(mvact_gather *g, arena_t *a, err_t *e)
{
    memset(g, 0, sizeof *g);
    g->a = a;
    g->e = e;
    buf_init(&g->rec, 16u << 20);
}

void mvact_gather_free(mvact_gather *g)
{
    buf_free(&g->rec);
}

/* ---- documents and containers ---- */

static void mvg__doc(mvact_gather *g, const model_record *r)
{
    mv_event *d = &g->d;
    if (!r->document.type || !r->document.number)
        return;
    for (uint32_t i = 0; i < d->ndocs; i++)
        if (!strcmp(d->docs[i].type, r->document.type) &&
            !strcmp(d->docs[i].no, r->document.number))
            return;
    if (d->ndocs == MV_DOC_MAX) {
        g->failed = err_set(g->e, ERR_TOOBIG, "declare: more than %d "
                            "documents", MV_DOC_MAX);
        return;
    }
    d->docs[d->ndocs].type = mvg__dup(g, r->document.type);
    d->docs[d->ndocs++].no = mvg__dup(g, r->document.number);
}

/* Container no of the movement; added when add is set, else NULL when
 * the movement does not have it. */
static mv_ctr *mvg__ctr(mvact_gather *g, const char *no, int add)
{
    mv_event *d = &g->d;
    for (uint32_t i = 0; i < d->nctrs; i++)
        if (!strcmp(d->ctrs[i].no, no))
            return &d->ctrs[i];
    if (!add)
        return NULL;
    if (d->nctrs == MV_CTR_MAX) {
        g->failed = err_set(g->e, ERR_TOOBIG, "declare: more than %d "
                            "containers", MV_CTR_MAX);
        return NULL;
    }
    mv_ctr *c = &d->ctrs[d->nctrs++];
    memset(c, 0, sizeof *c);
    c->no = mvg__dup(g, no);
    return c;
}

static void mvg__seal(mvact_gather *g, mv_ctr *c, const char *seal)
{
    for (uint32_t s = 0; s < c->nseals; s++)
        if (!strcmp(c->seals[s], seal))
            return;
    if (c->nseals < MV_SEAL_MAX)
        c->seals[c->nseals++] = mvg__dup(g, seal);
}

static int mvg__unit(const model_equipment *q)
{
    return q->number && (!q->kind || !strcmp(q->kind, "container") ||
                         !strcmp(q->kind, "swap_body") ||
                         !strcmp(q->kind, "trailer"));
}

size_t mvact_units(const model_record *r, const char **out, size_t cap)
{
    size_t n = 0;
    for (uint32_t i = 0; i < r->equipment.n && n < cap; i++)
        if (mvg__unit(&r->equipment.v[i]))
            out[n++] = r->equipment.v[i].number;
    return n;
}

static void mvg__equipment(mvact_gather *g, const model_record *r, int add)
{
    for (uint32_t i = 0; i < r->equipment.n && !g->failed; i++) {
        const model_equipment *q = &r->equipment.v[i];
        mv_ctr *c = mvg__unit(q) ? mvg__ctr(g, q->number, add) : NULL;
        for (uint32_t s = 0; c && s < q->seals.n; s++)
            mvg__seal(g, c, q->seals.v[s]);
    }
}

/* ---- the declaration ---- */

static const char *mvg__declarant(const model_record *r)
{
    static const char *const roles[] = {"declarant", "declarant_agent",
                                        "exporter", "importer", "consignor",
                                        NULL};
    for (size_t k = 0; roles[k]; k++)
        for (uint32_t i = 0; i < r->parties.n; i++) {
            const model_party *p = &r->parties.v[i];
            if (p->role && !strcmp(p->role, roles[k]) && (p->id || p->name))
                return p->id ? p->id : p->name;
        }
    return NULL;
}

/* The declaration's own part: declarant, packages, the record itself. */
static void mvg__declaration(mvact_gather *g, const model_record *r)
{
    if (g->have_decl) {
        g->failed = err_set(g->e, ERR_INVALID, "declare: more than one "
                            "record of kind declaration");
        return;
    }
    g->have_decl = 1;
    g->d.declarant = mvg__dup(g, mvg__declarant(r));
    double pk = r->totals.packages.set ? r->totals.packages.v : 0;
    for (uint32_t i = 0; !r->totals.packages.set && i < r->goods.n; i++)
        pk += r->goods.v[i].packages.set ? r->goods.v[i].packages.v : 0;
    g->d.pkgs = pk > 0 && pk < 4e9 ? (uint32_t)pk : 0;
    int rc = model_pack(r, &g->rec, g->e);
    if (rc < 0)
        g->failed = rc;
}

int mvact_gather_add(mvact_gather *g, const model_record *r, int linked)
{
    int decl = r->kind && !strcmp(r->kind, "declaration");
    if (decl && !g->failed)
        mvg__declaration(g, r);
    if (!g->failed)
        mvg__doc(g, r);
    if (!g->failed)
        mvg__equipment(g, r, decl || !linked);
    return g->failed;
}

/* ---- kind and itinerary ---- */

/* The kind from the transport modes of the legs, or NULL. */
static const char *mvg__guess_kind(const model_record *r)
{
    const char *first = NULL, *last = NULL;
    for (uint32_t i = 0; i < r->legs.n; i++)
        if (r->legs.v[i].mode) {
            first = first ? first : r->legs.v[i].mode;
            last = r->legs.v[i].mode;
        }
    if (!first)
        return NULL;
    if (!strcmp(first, "rail") && !strcmp(last, "sea"))
        return "rail_sea_export";
    if (!strcmp(first, "inland_water"))
        return "water_transship";
    if (!strcmp(first, "sea") && strcmp(last, "sea"))
        return "import_transfer";
    return !strcmp(first, "rail") ? "rail_transit" : NULL;
}

/* The region of place (a UN/LOCODE) appended unless the itinerary has
 * it; a place outside the federation is left out. */
static void mvg__stop(mvact_gather *g, const mvact_regions *m,
                      const char *place)
{
    const char *region = place ? mvact_region_of(m, place) : NULL;
    mv_event *d = &g->d;
    for (uint32_t i = 0; region && i < d->nitin; i++)
        if (!strcmp(d->itin[i], region))
            return;
    if (!region || g->failed)
        return;
    if (d->nitin == MV_ITIN_MAX) {
        g->failed = err_set(g->e, ERR_INVALID, "declare: the route passes "
                            "more than %d regions", MV_ITIN_MAX);
        return;
    }
    d->itin[d->nitin++] = mvg__dup(g, region);
}

static int mvg__itin(mvact_gather *g, const mvact_regions *m,
                     const model_record *r)
{
    if (!m)
        return err_set(g->e, ERR_INVALID, "declare: no itinerary given and "
                       "no code list %s to derive it", MVACT_REGIONS_FILE);
    mvg__stop(g, m, r->route.origin);
    for (uint32_t i = 0; i < r->legs.n; i++) {
        mvg__stop(g, m, r->legs.v[i].from);
        mvg__stop(g, m, r->legs.v[i].to);
    }
    mvg__stop(g, m, r->route.destination);
    if (!g->failed && !g->d.nitin)
        g->failed = err_set(g->e, ERR_INVALID, "declare: no place of the "
                            "route or legs is in a region of the federation "
                            "(%s)", MVACT_REGIONS_FILE);
    return g->failed;
}

int mvact_gather_finish(mvact_gather *g, const mvact_regions *m)
{
    if (g->failed)
        return g->failed;
    if (!g->have_decl)
        return g->failed = err_set(g->e, ERR_INVALID, "declare: no record of "
                                   "kind declaration in the input");
    arena_t scratch;
    arena_init(&scratch, MVG_SCRATCH_MAX);
    model_record *r = NULL;
    int rc = model_unpack(g->rec.p, g->rec.len, &scratch, &r, g->e);
    if (rc == 0 && !g->d.kind)
        g->d.kind = mvg__dup(g, mvg__guess_kind(r));
    if (rc == 0 && !g->d.nitin)
        rc = mvg__itin(g, m, r);
    arena_free(&scratch);
    if (rc == 0 && !g->failed && !g->d.kind)
        rc = err_set(g->e, ERR_INVALID, "declare: the kind of movement is "
                     "needed (the legs' transport modes do not say it)");
    g->d.record = (const unsigned char *)g->rec.p;
    g->d.record_len = g->rec.len;
    return g->failed = rc < 0 ? rc : g->failed;
}

/* ---- transport documents linked by container ---- */

static int mvg__linked_one(void *ctx, const char *id, const void *rec,
                           size_t len, err_t *e)
{
    mvact_gather *g = ctx;
    model_record *r;
    err_t ue;
    (void)e;
    for (size_t i = 0; i < g->nlinked; i++)
        if (!strcmp(g->linked[i], id))
            return 0; /* found under another container already */
    if (g->nlinked == MVACT_LINKED_MAX ||
        model_unpack(rec, len, g->a, &r, &ue) < 0 || !r->kind ||
        (strcmp(r->kind, "waybill") && strcmp(r->kind, "manifest")))
        return 0;
    const char *kept = mvg__dup(g, id);
    if (kept && mvact_gather_add(g, r, 1) == 0)
        g->linked[g->nlinked++] = kept;
    return g->failed;
}

int mvact_gather_linked(mvact_gather *g, node *n)
{
    for (uint32_t i = 0; i < g->d.nctrs && !g->failed; i++) {
        int rc = store_ldoc_by_ctr(node_store(n), g->d.ctrs[i].no,
                                   mvg__linked_one, g, g->e);
        if (rc < 0 && !g->failed)
            g->failed = rc;
    }
    return g->failed;
}

/* ---- a declaration a local system sent ---- */

/* Where the declaration's route starts, when not in this node's region:
 * refused, naming the region that must declare it. */
static int mvg__departure(node *n, const mv_event *d, err_t *e)
{
    const char *mine = node_cfg(n)->node.region;
    if (!strcmp(d->itin[0], mine))
        return 0;
    return err_set(e, ERR_DENIED, "declaration: the movement starts in "
                   "region %s, not in this node's region %s: it is declared "
                   "at %s's node", d->itin[0], mine, d->itin[0]);
}

/* The reference of local declaration local_id: the one allocated before
 * (a re-dispatch), else a fresh one, kept first. */
static int mvg__ref(node *n, const char *local_id, mvact_local *out,
                    err_t *e)
{
    int rc = store_ldecl_get(node_store(n), local_id, out->ref,
                             sizeof out->ref, e);
    if (rc != ERR_NOTFOUND)
        return rc;
    rc = mvact_new_ref(n, out->ref, e);
    if (rc == 0)
        rc = store_ldecl_claim(node_store(n), local_id, out->ref,
                               sizeof out->ref, e);
    return rc < 0 ? rc : 0;
}

/* The id the declared event goes under: from the local id and the node. */
static int mvg__as_id(node *n, const char *local_id, char as_id[],
                      err_t *e)
{
    uint64_t ms;
    char k[128];
    if (msgid_parse(local_id, &ms, e) < 0)
        return err_wrap(e, "local message %s", local_id);
    int len = snprintf(k, sizeof k, "eport declare %s %s", local_id,
                       node_cfg(n)->node.id);
    return msgid_derive(ms, k, (size_t)len, as_id, e);
}

static int mvg__submit(node *n, mvact_gather *g, const char *local_id,
                       mvact_local *out, err_t *e)
{
    char as_id[MSGID_LEN + 1];
    int rc = mvg__departure(n, &g->d, e);
    if (rc == 0)
        rc = mvg__ref(n, local_id, out, e);
    if (rc == 0)
        rc = mvg__as_id(n, local_id, as_id, e);
    if (rc == 0)
        rc = mvact_declare_as(n, &g->d, out->ref, as_id, out->id,
                              out->winner, e);
    if (rc == ERR_CONFLICT && out->winner[0] && !strstr(e->msg, out->winner))
        err_wrap(e, "winner %s", out->winner);
    out->dup = rc == 1;
    return rc < 0 ? rc : 0;
}

int mvact_declare_local(node *n, const model_record *r, const char *local_id,
                        const mvact_regions *m, mvact_local *out, err_t *e)
{
    memset(out, 0, sizeof *out);
    arena_t a;
    arena_init(&a, MVG_SCRATCH_MAX);
    mvact_gather g;
    mvact_gather_init(&g, &a, e);
    int rc = mvact_gather_add(&g, r, 0);
    if (rc == 0)
        rc = mvact_gather_linked(&g, n);
    if (rc == 0)
        rc = mvact_gather_finish(&g, m);
    if (rc == 0)
        rc = mvg__submit(n, &g, local_id, out, e);
    out->ndocs = g.d.ndocs;
    out->nlinked = g.nlinked;
    err_t fe;
    if (rc == 0 && g.nlinked &&
        store_ldoc_forget(node_store(n), g.linked, g.nlinked, &fe) < 0)
        log_event(LOG_WARN, "ldoc_forget", "id=%s msg=%s", local_id,
                  log_q(fe.msg)); /* linked again only by a later trip */
    mvact_gather_free(&g);
    arena_free(&a);
    return rc;
}

/* ---- the code list UN/LOCODE -> region ---- */

struct mvact_regions {
    arena_t a;
    const char **code, **region;
    size_t n;
};

void mvact_regions_free(mvact_regions *m)
{
    if (!m)
        return;
    arena_free(&m->a);
    free(m);
}

const char *mvact_region_of(const mvact_regions *m, const char *locode)
{
    for (size_t i = 0; m && i < m->n; i++)
        if (!strcmp(m->code[i], locode))
            return m->region[i];
    return NULL;
}

/* A UN/LOCODE: country (2 letters) and place (3 of A-Z 2-9). */
static int mvg__locode_ok(const char *s)
{
    if (strlen(s) != 5)
        return 0;
    for (int i = 0; i < 5; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') ||
              (i >= 2 && s[i] >= '2' && s[i] <= '9')))
            return 0;
    return 1;
}

static int mvg__region_ok(const char *s)
{
    return s && strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' &&
           s[1] >= 'A' && s[1] <= 'Z';
}

static int mvg__entries(mvact_regions *m, const ydoc *d, err_t *e)
{
    const ynode *codes = d->root ? ydoc_get(d->root, "codes") : NULL;
    if (!codes || codes->type != YD_MAP)
        return ydoc_err(d, codes ? codes : d->root, e, ERR_CONFIG, "a code "
                        "list needs 'codes': UN/LOCODE: region");
    m->code = arena_alloc(&m->a, (codes->nkids + 1) * sizeof *m->code);
    m->region = arena_alloc(&m->a, (codes->nkids + 1) * sizeof *m->region);
    if (!m->code || !m->region)
        return err_set(e, ERR_NOMEM, "%s: out of memory", d->file);
    for (const ynode *k = codes->kids; k; k = k->next) {
        if (!mvg__locode_ok(k->key))
            return ydoc_err(d, k, e, ERR_CONFIG, "'%s' is not a UN/LOCODE",
                            k->key);
        if (k->type != YD_SCALAR || !mvg__region_ok(k->value))
            return ydoc_err(d, k, e, ERR_CONFIG, "%s: the region must be 2 "
                            "upper-case letters", k->key);
        m->code[m->n] = k->key;
        m->region[m->n++] = k->value;
    }
    return 0;
}

int mvact_regions_load(const char *mappings_dir, mvact_regions **out,
                       err_t *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", mappings_dir, MVACT_REGIONS_FILE);
    mvact_regions *m = calloc(1, sizeof *m);
    if (!m)
        return err_set(e, ERR_NOMEM, "%s: out of memory", path);
    arena_init(&m->a, MVG_REGIONS_ARENA);
    ydoc d;
    int rc = ydoc_load_file(path, &m->a, &d, e);
    if (rc == 0)
        rc = mvg__entries(m, &d, e);
    if (rc < 0) {
        mvact_regions_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
