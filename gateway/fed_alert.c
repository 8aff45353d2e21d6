/* fed_alert: the rule file (fed_alert.h). YAML through ydoc, so every
 * refusal names its line and column:
 *
 *   rules:
 *     - name: node_down      # one of the six rules, each at most once
 *       after_s: 15          # 0 to 31536000; default: the built-in's
 *       severity: critical   # info, warning, critical
 *       depth: 1000          # queue_growing only
 *       enabled: true        # false: listed but off
 *
 * A rule not listed is off; a key left out takes the built-in value. */
#include "fed_alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ydoc.h"

static const char *const fa__names[FED_R_N] = {
    "node_down", "link_stalled", "queue_growing", "movement_overdue",
    "discrepancy", "signature_failures",
};

const char *fed_rule_name(int id)
{
    return id >= 0 && id < FED_R_N ? fa__names[id] : "?";
}

void fed_rules_builtin(fed_rules *out)
{
    static const fed_rule def[FED_R_N] = {
        [FED_R_NODE_DOWN] = {1, 15000, 0, "critical"},
        [FED_R_LINK_STALLED] = {1, 60000, 0, "warning"},
        [FED_R_QUEUE_GROWING] = {1, 120000, 1000, "warning"},
        [FED_R_MOVEMENT_OVERDUE] = {1, 0, 0, "warning"},
        [FED_R_DISCREPANCY] = {1, 0, 0, "warning"},
        [FED_R_SIG_FAILURES] = {1, 300000, 0, "critical"},
    };
    memcpy(out->r, def, sizeof def);
}

/* ---- one rule ---- */

static int fa__rule_id(const char *name)
{
    for (int i = 0; i < FED_R_N; i++)
        if (!strcmp(name, fa__names[i]))
            return i;
    return -1;
}

/* A whole number in [lo, hi] at n. */
static int fa__int(const ydoc *d, const ynode *n, int64_t lo, int64_t hi,
                   int64_t *out, err_t *e)
{
    char *end;
    long long v = n->type == YD_SCALAR && !n->quoted
                      ? strtoll(n->value, &end, 10) : 0;
    if (n->type != YD_SCALAR || n->quoted || !*n->value || *end || v < lo ||
        v > hi)
        return ydoc_err(d, n, e, ERR_CONFIG, "%s: a whole number from %lld "
                        "to %lld", n->key, (long long)lo, (long long)hi);
    *out = v;
    return 0;
}

static int fa__word(const ydoc *d, const ynode *n, const char *const *words,
                    const char *what, err_t *e)
{
    for (int i = 0; n->type == YD_SCALAR && words[i]; i++)
        if (!strcmp(n->value, words[i]))
            return i;
    return ydoc_err(d, n, e, ERR_CONFIG, "%s: not %s", n->key, what);
}

/* Key k of the rule of id into r. */
static int fa__key(const ydoc *d, const ynode *k, int id, fed_rule *r,
                   err_t *e)
{
    static const char *const sev[] = {"info", "warning", "critical", NULL};
    static const char *const bools[] = {"false", "true", NULL};
    int64_t v = 0;
    int rc = 0;
    if (!strcmp(k->key, "name")) {
        return 0;
    } else if (!strcmp(k->key, "after_s")) {
        rc = fa__int(d, k, 0, 31536000, &v, e);
        r->after_ms = v * 1000;
    } else if (!strcmp(k->key, "depth") && id == FED_R_QUEUE_GROWING) {
        rc = fa__int(d, k, 1, 1000000000000LL, &r->depth, e);
    } else if (!strcmp(k->key, "severity")) {
        if ((rc = fa__word(d, k, sev, "info, warning or critical", e)) >= 0)
            snprintf(r->severity, sizeof r->severity, "%s", sev[rc]);
    } else if (!strcmp(k->key, "enabled")) {
        if ((rc = fa__word(d, k, bools, "true or false", e)) >= 0)
            r->on = rc;
    } else {
        return ydoc_err(d, k, e, ERR_CONFIG, "unknown key '%s' (allowed: "
                        "name, after_s, severity, enabled%s)", k->key,
                        id == FED_R_QUEUE_GROWING ? ", depth" : "");
    }
    return rc < 0 ? rc : 0;
}

static int fa__rule(const ydoc *d, const ynode *item, fed_rules *out,
                    const fed_rules *def, unsigned *seen, err_t *e)
{
    if (item->type != YD_MAP)
        return ydoc_err(d, item, e, ERR_CONFIG, "a rule is a map with a "
                        "name");
    const ynode *nm = ydoc_get(item, "name");
    if (!nm || nm->type != YD_SCALAR)
        return ydoc_err(d, item, e, ERR_CONFIG, "rule without a name");
    int id = fa__rule_id(nm->value);
    if (id < 0)
        return ydoc_err(d, nm, e, ERR_CONFIG, "name: unknown rule '%s' "
                        "(node_down, link_stalled, queue_growing, "
                        "movement_overdue, discrepancy, signature_failures)",
                        nm->value);
    if (*seen & (1u << id))
        return ydoc_err(d, nm, e, ERR_CONFIG, "name: rule '%s' listed twice",
                        nm->value);
    *seen |= 1u << id;
    out->r[id] = def->r[id];
    for (const ynode *k = item->kids; k; k = k->next) {
        int rc = fa__key(d, k, id, &out->r[id], e);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- the file ---- */

static int fa__doc(const ydoc *d, fed_rules *out, err_t *e)
{
    fed_rules def;
    fed_rules_builtin(&def);
    memset(out, 0, sizeof *out); /* not listed: off */
    const ynode *root = d->root;
    if (!root || root->type != YD_MAP)
        return ydoc_err(d, root, e, ERR_CONFIG, "expected a map with "
                        "'rules:'");
    for (const ynode *k = root->kids; k; k = k->next)
        if (strcmp(k->key, "rules"))
            return ydoc_err(d, k, e, ERR_CONFIG, "unknown key '%s' (allowed: "
                            "rules)", k->key);
    const ynode *rules = ydoc_get(root, "rules");
    if (!rules || rules->type != YD_SEQ)
        return ydoc_err(d, rules ? rules : root, e, ERR_CONFIG, "rules: a "
                        "list of rules");
    unsigned seen = 0;
    for (const ynode *it = rules->kids; it; it = it->next) {
        int rc = fa__rule(d, it, out, &def, &seen, e);
        if (rc)
            return rc;
    }
    return 0;
}

int fed_rules_parse(const char *name, const char *text, size_t len,
                    fed_rules *out, err_t *e)
{
    arena_t a;
    arena_init(&a, 4 * FED_RULES_FILE_MAX);
    ydoc d;
    int rc = ydoc_load(name, text, len, &a, &d, e);
    rc = rc ? rc : fa__doc(&d, out, e);
    arena_free(&a);
    return rc;
}

int fed_rules_load(const char *path, fed_rules *out, err_t *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, ERR_IO, "%s: error: cannot open: %m", path);
    char *text = malloc(FED_RULES_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, FED_RULES_FILE_MAX + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    int rc = !text ? err_set(e, ERR_NOMEM, "%s: error: out of memory", path)
             : bad ? err_set(e, ERR_IO, "%s: error: cannot read", path)
             : n > FED_RULES_FILE_MAX
                 ? err_set(e, ERR_TOOBIG, "%s: error: over %u bytes", path,
                           FED_RULES_FILE_MAX)
                 : fed_rules_parse(path, text, n, out, e);
    free(text);
    return rc;
}
