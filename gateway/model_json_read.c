/* Reading the JSON form of a record (through jansson): every key checked
 * against model_fields[], a wrong type or unknown key named by its path.
 * Writing is model_json.c. */
#include "model_json.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int mj__read_obj(json_t *o, void *base, model_obj obj,
                        const char *at, const char *group, arena_t *a,
                        err_t *e);

static const model_field *mj__lookup(model_obj obj, const char *group,
                                     const char *key)
{
    for (size_t i = 0; i < model_nfields; i++) {
        const model_field *f = &model_fields[i];
        if (f->obj != obj || strcmp(f->key, key) != 0)
            continue;
        if ((!group && !f->group) ||
            (group && f->group && strcmp(group, f->group) == 0))
            return f;
    }
    return NULL;
}

static int mj__is_group(model_obj obj, const char *key)
{
    for (size_t i = 0; i < model_nfields; i++)
        if (model_fields[i].obj == obj && model_fields[i].group &&
            strcmp(model_fields[i].group, key) == 0)
            return 1;
    return 0;
}

static int mj__read_list(json_t *v, model_strlist *l, const model_field *f,
                         arena_t *a, err_t *e)
{
    size_t i;
    json_t *x;
    if (!json_is_array(v))
        return err_set(e, ERR_INVALID, "%s: expected an array", f->path);
    json_array_foreach(v, i, x) {
        if (!json_is_string(x))
            return err_set(e, ERR_INVALID, "%s[%zu]: expected a string",
                           f->path, i);
        int rc = model_strlist_add(a, l, json_string_value(x),
                                   json_string_length(x), e);
        if (rc)
            return rc;
    }
    return 0;
}

static int mj__read_array(json_t *v, void *base, const model_field *f,
                          arena_t *a, err_t *e)
{
    size_t i;
    json_t *x;
    if (!json_is_array(v))
        return err_set(e, ERR_INVALID, "%s: expected an array", f->path);
    json_array_foreach(v, i, x) {
        if (!json_is_object(x))
            return err_set(e, ERR_INVALID, "%s[%zu]: expected an object",
                           f->path, i);
        void *el = model_array_append(a, base, f, e);
        if (!el)
            return e ? e->code : ERR_NOMEM;
        char at[64]; /* "parties[3]." names the element in messages */
        snprintf(at, sizeof at, "%s[%zu].", f->key, i);
        int rc = mj__read_obj(x, el, f->elem, at, NULL, a, e);
        if (rc)
            return rc;
    }
    return 0;
}

static int mj__read_value(json_t *v, void *base, const model_field *f,
                          arena_t *a, err_t *e)
{
    switch (f->type) {
    case MF_STR:
        if (!json_is_string(v))
            return err_set(e, ERR_INVALID, "%s: expected a string", f->path);
        *model_str_at(base, f) = arena_strndup(a, json_string_value(v),
                                               json_string_length(v));
        return *model_str_at(base, f) ? 0 : ERR_NOMEM;
    case MF_NUM:
        if (!json_is_number(v))
            return err_set(e, ERR_INVALID, "%s: expected a number", f->path);
        model_num_at(base, f)->v = json_number_value(v);
        model_num_at(base, f)->set = 1;
        return 0;
    case MF_STRLIST:
        return mj__read_list(v, model_strlist_at(base, f), f, a, e);
    case MF_ARRAY:
        return mj__read_array(v, base, f, a, e);
    }
    return ERR_INVALID;
}

static int mj__read_obj(json_t *o, void *base, model_obj obj,
                        const char *at, const char *group, arena_t *a,
                        err_t *e)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        int rc;
        if (!group && mj__is_group(obj, k)) {
            if (!json_is_object(v))
                return err_set(e, ERR_INVALID, "%s%s: expected an object",
                               at, k);
            rc = mj__read_obj(v, base, obj, at, k, a, e);
        } else {
            const model_field *f = mj__lookup(obj, group, k);
            if (!f)
                return err_set(e, ERR_INVALID, "%s%s%s%s: unknown key", at,
                               group ? group : "", group ? "." : "", k);
            rc = mj__read_value(v, base, f, a, e);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int model_json_read(const char *text, size_t len, arena_t *a,
                    model_record **out, err_t *e)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (!root)
        return err_set(e, ERR_SYNTAX, "json:%d:%d: error: %s", je.line,
                       je.column, je.text);
    int rc = ERR_INVALID;
    model_record *r = model_record_new(a);
    if (!r)
        rc = err_set(e, ERR_NOMEM, "json: out of memory");
    else if (!json_is_object(root))
        rc = err_set(e, ERR_INVALID, "json: record must be an object");
    else
        rc = mj__read_obj(root, r, MO_RECORD, "", NULL, a, e);
    json_decref(root);
    if (rc == 0)
        *out = r;
    return rc;
}
