/* fanout: see fanout.h. */
#include "fanout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpath.h"
#include "map.h"
#include "model.h"
#include "ydoc.h"

static int fo__name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 32 || s[0] < 'a' || s[0] > 'z')
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* A scalar entry key of map n, required: its text, or NULL with e. */
static const char *fo__str(const ydoc *d, const ynode *n, const char *key,
                           err_t *e)
{
    const ynode *v = ydoc_get(n, key);
    if (v && v->type == YD_SCALAR && v->value && *v->value)
        return v->value;
    ydoc_err(d, v ? v : n, e, ERR_CONFIG, "'%s' must be %s", key,
             v ? "a non-empty string" : "given");
    return NULL;
}

static int fo__require(const ydoc *d, const ynode *n, fanout_agency *ag,
                       err_t *e)
{
    if (!n)
        return 0;
    if (n->type != YD_SEQ)
        return ydoc_err(d, n, e, ERR_CONFIG, "'require' must be a list of "
                        "field paths");
    for (const ynode *p = n->kids; p; p = p->next) {
        err_t pe;
        if (p->type != YD_SCALAR || jpath_check(p->value, &pe) < 0)
            return ydoc_err(d, p, e, ERR_CONFIG, "%s", p->type == YD_SCALAR
                            ? pe.msg : "a field path expected");
        if (ag->nrequire == FANOUT_REQUIRE_MAX)
            return ydoc_err(d, p, e, ERR_CONFIG, "more than %d paths",
                            FANOUT_REQUIRE_MAX);
        ag->require[ag->nrequire++] = p->value;
    }
    return 0;
}

static int fo__agency(const ydoc *d, const ynode *n, fanout_rule *u,
                      err_t *e)
{
    if (n->type != YD_MAP)
        return ydoc_err(d, n, e, ERR_CONFIG, "an agency must be a map "
                        "(agency, mapping, require)");
    if (u->nagencies == FANOUT_AGENCY_MAX)
        return ydoc_err(d, n, e, ERR_CONFIG, "more than %d agencies",
                        FANOUT_AGENCY_MAX);
    for (const ynode *k = n->kids; k; k = k->next)
        if (strcmp(k->key, "agency") && strcmp(k->key, "mapping") &&
            strcmp(k->key, "require"))
            return ydoc_err(d, k, e, ERR_CONFIG, "unknown key '%s' (agency, "
                            "mapping, require)", k->key);
    fanout_agency *ag = &u->agencies[u->nagencies];
    memset(ag, 0, sizeof *ag);
    ag->line = n->line;
    if (!(ag->agency = fo__str(d, n, "agency", e)) ||
        !(ag->mapping = fo__str(d, n, "mapping", e)))
        return ERR_CONFIG;
    if (!fo__name_ok(ag->agency))
        return ydoc_err(d, ydoc_get(n, "agency"), e, ERR_CONFIG, "agency "
                        "'%s': 1-32 of a-z 0-9 _ -, a letter first",
                        ag->agency);
    if (fanout_agency_of(u, ag->agency))
        return ydoc_err(d, n, e, ERR_CONFIG, "agency '%s' twice in the rule "
                        "for %s", ag->agency, u->kind);
    int rc = fo__require(d, ydoc_get(n, "require"), ag, e);
    if (rc == 0)
        u->nagencies++;
    return rc;
}

static int fo__kind_ok(const char *k)
{
    for (size_t i = 0; model_kinds[i]; i++)
        if (!strcmp(model_kinds[i], k))
            return 1;
    return 0;
}

static int fo__rule(const ydoc *d, const ynode *n, fanout_rules *r, err_t *e)
{
    if (n->type != YD_MAP || r->nrules == FANOUT_RULES_MAX)
        return ydoc_err(d, n, e, ERR_CONFIG, n->type != YD_MAP
                        ? "a rule must be a map (kind, agencies)"
                        : "more than 16 rules");
    fanout_rule *u = &r->rules[r->nrules];
    memset(u, 0, sizeof *u);
    if (!(u->kind = fo__str(d, n, "kind", e)))
        return ERR_CONFIG;
    if (!fo__kind_ok(u->kind) || fanout_rule_for(r, u->kind))
        return ydoc_err(d, ydoc_get(n, "kind"), e, ERR_CONFIG, "kind '%s': "
                        "%s", u->kind, fo__kind_ok(u->kind)
                        ? "has a rule already" : "not a record kind");
    const ynode *ags = ydoc_get(n, "agencies");
    if (!ags || ags->type != YD_SEQ || !ags->nkids)
        return ydoc_err(d, ags ? ags : n, e, ERR_CONFIG, "'agencies' must "
                        "be a non-empty list");
    for (const ynode *a = ags->kids; a; a = a->next)
        if (fo__agency(d, a, u, e) < 0)
            return ERR_CONFIG;
    r->nrules++;
    return 0;
}

static int fo__doc(const ydoc *d, fanout_rules *r, err_t *e)
{
    const ynode *root = d->root;
    if (!root || root->type != YD_MAP)
        return ydoc_err(d, root, e, ERR_CONFIG, "a map with 'fanout: 1' and "
                        "'rules' expected");
    const char *v = ydoc_str(root, "fanout");
    if (!v || strcmp(v, "1"))
        return ydoc_err(d, root, e, ERR_CONFIG, "'fanout: %s': version 1 is "
                        "the one this node reads", v ? v : "(missing)");
    const ynode *rules = ydoc_get(root, "rules");
    if (!rules || rules->type != YD_SEQ)
        return ydoc_err(d, rules ? rules : root, e, ERR_CONFIG, "'rules' "
                        "must be a list");
    for (const ynode *u = rules->kids; u; u = u->next)
        if (fo__rule(d, u, r, e) < 0)
            return ERR_CONFIG;
    return 0;
}

int fanout_load(const char *path, fanout_rules **out, err_t *e)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(e, ERR_NOTFOUND, "%s: no fan-out rules", path);
    fclose(f);
    fanout_rules *r = calloc(1, sizeof *r);
    if (!r)
        return err_set(e, ERR_NOMEM, "%s: out of memory", path);
    arena_init(&r->a, 4u << 20);
    ydoc d;
    int rc = ydoc_load_file(path, &r->a, &d, e);
    r->file = arena_strdup(&r->a, path);
    if (rc == 0)
        rc = fo__doc(&d, r, e);
    if (rc < 0) {
        fanout_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void fanout_free(fanout_rules *r)
{
    if (!r)
        return;
    arena_free(&r->a);
    free(r);
}

static const cfg_connector *fo__conn(const cfg *c, const char *agency)
{
    for (size_t i = 0; i < c->nconnectors; i++)
        if (c->connectors[i].agency &&
            !strcmp(c->connectors[i].agency, agency))
            return &c->connectors[i];
    return NULL;
}

static int fo__bind1(fanout_rules *r, const fanout_rule *u, fanout_agency *ag,
                     const cfg *c, const struct map_set *maps, err_t *e)
{
    const map_def *d = maps ? map_set_find(maps, ag->mapping) : NULL;
    ag->conn = fo__conn(c, ag->agency);
    if (!ag->conn || ag->conn->out == CFG_OUT_NONE)
        return err_set(e, ERR_CONFIG, "%s:%u: error: agency %s: %s", r->file,
                       ag->line, ag->agency, ag->conn
                       ? "its connector has no out transport"
                       : "no connector of this node has agency: it");
    if (!d || strcmp(map_def_kind(d), u->kind))
        return err_set(e, ERR_CONFIG, "%s:%u: error: agency %s: mapping "
                       "'%s' %s%s", r->file, ag->line, ag->agency,
                       ag->mapping, d ? "writes records of kind " :
                       "is not in the mapping directory", d ? map_def_kind(d)
                       : "");
    return 0;
}

int fanout_bind(fanout_rules *r, const cfg *c, const struct map_set *maps,
                err_t *e)
{
    for (size_t i = 0; i < r->nrules; i++)
        for (size_t j = 0; j < r->rules[i].nagencies; j++)
            if (fo__bind1(r, &r->rules[i], &r->rules[i].agencies[j], c, maps,
                          e) < 0)
                return ERR_CONFIG;
    return 0;
}

const fanout_rule *fanout_rule_for(const fanout_rules *r, const char *kind)
{
    for (size_t i = 0; r && kind && i < r->nrules; i++)
        if (!strcmp(r->rules[i].kind, kind))
            return &r->rules[i];
    return NULL;
}

const fanout_agency *fanout_agency_of(const fanout_rule *u, const char *name)
{
    for (size_t i = 0; u && name && i < u->nagencies; i++)
        if (!strcmp(u->agencies[i].agency, name))
            return &u->agencies[i];
    return NULL;
}

int fanout_missing(const fanout_agency *ag, const json_t *rec, buf_t *out)
{
    int k = 0;
    for (size_t i = 0; i < ag->nrequire; i++) {
        int m = jpath_missing(rec, ag->require[i], out);
        k += m > 0 ? m : 0;
    }
    return k;
}
