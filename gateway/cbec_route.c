#include "cbec_route.h"

#include <string.h>

#include "cbec_match.h"

static int cr__prefix(const char *v, const char *pre)
{
    return v && pre && strncmp(v, pre, strlen(pre)) == 0;
}

static int cr__party_is(const model_record *r, const char *role,
                        const char *id)
{
    const model_party *p = id ? cbec_party(r, role) : NULL;
    return p && p->id && strcmp(p->id, id) == 0;
}

static int cr__fits(const cfg_cbec_route *w, const model_record *r)
{
    if (w->customs)
        return cr__prefix(r->customs.office, w->customs) ||
               cr__prefix(r->cbec.port_code, w->customs);
    if (w->platform)
        return cr__party_is(r, "platform", w->platform);
    if (w->carrier)
        return cr__party_is(r, "carrier", w->carrier);
    return cr__prefix(r->cbec.order_no, w->order_prefix);
}

const char *cbec_route(const cfg *c, const model_record *r, int *row)
{
    for (size_t i = 0; i < c->ncbec_routes; i++)
        if (cr__fits(&c->cbec_routes[i], r)) {
            *row = (int)i;
            return c->cbec_routes[i].node;
        }
    *row = -1;
    return c->cbec.clearing ? c->cbec.clearing : c->node.id;
}
