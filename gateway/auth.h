/* auth: who a connector client is and what it may send
 * (docs/connectors.md, "Clients"). A client is a row of the config's
 * `clients:` list: an API key (kept as its SHA-256 only, compared in
 * constant time), the connector its submissions belong to, the record
 * kinds it may send and the parties it may send for. Refusals name the
 * client and the rule, because they go back to the sender and the log.
 * Pure: reads the config, keeps no state; safe from any thread. */
#ifndef EPORT_AUTH_H
#define EPORT_AUTH_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "model.h"

#define AUTH_KEY_MAX 256 /* longest API key read */

/* The client whose key_sha256 is SHA-256(key), NULL if none (ERR_DENIED
 * "unknown API key" in e). Every client is compared, whatever matches,
 * so the time taken does not tell which one. */
const cfg_client *auth_by_key(const cfg *c, const char *key, err_t *e);

/* Lower-case hex SHA-256 of key into hex (65 bytes): what
 * clients[].key_sha256 holds (`eportctl key` prints it). */
int auth_key_hash(const char *key, char hex[65], err_t *e);

/* Whether cl may send r through connector conn: ERR_DENIED with why,
 * e.g. "client rail-cq may not send declaration (kinds: waybill,
 * status)", "client rail-cq may not send for party CNXYZ (parties:
 * CQRAIL)", "client rail-cq belongs to connector rail, not customs".
 * A record is "for" the parties named in it (parties[].id and
 * source.sender); one of them must be in cl->parties. */
int auth_allows(const cfg_client *cl, const char *conn,
                const model_record *r, err_t *e);

#endif
