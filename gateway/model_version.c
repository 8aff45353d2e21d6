#include "model_version.h"

#include <string.h>

typedef struct mv__row {
    const char *path, *value;
    unsigned version;
} mv__row;

/* Version 2: cross-border e-commerce (docs/model.md). Everything else a
 * version added is an optional field, which older readers skip. */
static const mv__row mv__introduced[] = {
    {"kind", "order", 2},
    {"kind", "payment", 2},
    {"document.type", "ecommerce_order", 2},
    {"document.type", "payment_record", 2},
    {"document.type", "parcel_waybill", 2},
    {"document.type", "inventory_list", 2},
    {"document.type", "withdrawal_request", 2},
    {"document.type", "return_request", 2},
    {"parties[].role", "buyer", 2},
    {"parties[].role", "payer", 2},
    {"parties[].role", "platform", 2},
    {"parties[].role", "seller", 2},
    {"parties[].role", "payment_provider", 2},
};

unsigned model_version_introducing(const char *path, const char *v)
{
    if (!v)
        return MODEL_VERSION_MIN;
    for (size_t i = 0; i < sizeof mv__introduced / sizeof mv__introduced[0]; i++)
        if (strcmp(mv__introduced[i].value, v) == 0 &&
            strcmp(mv__introduced[i].path, path) == 0)
            return mv__introduced[i].version;
    return MODEL_VERSION_MIN;
}

static unsigned mv__max(unsigned a, unsigned b)
{
    return a > b ? a : b;
}

unsigned model_version_of(const model_record *r)
{
    unsigned v = model_version_introducing("kind", r->kind);
    v = mv__max(v, model_version_introducing("document.type", r->document.type));
    for (uint32_t i = 0; i < r->parties.n && v < MODEL_VERSION; i++)
        v = mv__max(v, model_version_introducing("parties[].role",
                                                 r->parties.v[i].role));
    return v;
}
