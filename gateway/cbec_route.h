/* cbec_route: which node matches a cross-border e-commerce document
 * (docs/cbec.md, "The set"): the first cbec_routes row of the node's
 * configuration that fits it, else cbec.clearing, else this node. A row
 * fits by the inventory list's customs office (a prefix of
 * customs.office or cbec.port_code), the platform's or the logistics
 * company's party id, or a prefix of the order number. */
#ifndef EPORT_CBEC_ROUTE_H
#define EPORT_CBEC_ROUTE_H

#include "config.h"
#include "model.h"

/* The node id (borrowed from c) that matches r; *row the cbec_routes row
 * that chose it, or -1 for the default. */
const char *cbec_route(const cfg *c, const model_record *r, int *row);

#endif
