/* The declaration of every configuration key (one row each) and the
 * format checks the rows name. Adding a key is one row here and one field
 * in config.h; the loader, cfg_dump and the docs table follow. */
#include "config.h"
#include "config_int.h"
#include "model.h"
#include "store_sentinel.h"
#include "strict.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define MS_DAY 86400000LL

/* ---- format checks ---- */

int cfg_check_node_id(const char *v, char *why, size_t n)
{
    size_t len = strlen(v);
    int ok = len >= 2 && len <= 16;
    for (size_t i = 0; ok && i < len; i++)
        ok = (v[i] >= 'A' && v[i] <= 'Z') || isdigit((unsigned char)v[i]) ||
             v[i] == '-';
    if (!ok)
        snprintf(why, n, "'%s' is not a node id (2 to 16 of A-Z, 0-9, -)", v);
    return ok ? 0 : -1;
}

static int check_region(const char *v, char *why, size_t n)
{
    int ok = strlen(v) == 2 && isupper((unsigned char)v[0]) &&
             isupper((unsigned char)v[1]);
    if (!ok)
        snprintf(why, n, "'%s' is not a region (2 upper-case letters)", v);
    return ok ? 0 : -1;
}

/* Port 1..65535 written in digits only, else -1. */
static long parse_port(const char *s)
{
    long p = 0;
    if (!*s || strlen(s) > 5)
        return -1;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        p = p * 10 + (*s - '0');
    }
    return p >= 1 && p <= 65535 ? p : -1;
}

/* HOST:PORT with HOST non-empty ("[v6]" allowed); star: HOST may be "*". */
static int check_hostport(const char *v, int star, char *why, size_t n)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v || parse_port(colon + 1) < 0) {
        snprintf(why, n, "'%s' is not HOST:PORT (port 1-65535)", v);
        return -1;
    }
    if (!star && colon - v == 1 && v[0] == '*') {
        snprintf(why, n, "'%s': '*' is only for a listening endpoint", v);
        return -1;
    }
    for (const char *p = v; p < colon; p++)
        if (isspace((unsigned char)*p) || *p == '/') {
            snprintf(why, n, "'%s' has a bad host", v);
            return -1;
        }
    return 0;
}

static int check_http(const char *v, char *why, size_t n)
{
    return check_hostport(v, 0, why, n);
}

/* The transports eportd uses; "*" as host is left for node.listen to
 * bind on every interface and refused for peers in config.c. */
int cfg_check_endpoint(const char *v, char *why, size_t n)
{
    if (strncmp(v, "tcp://", 6) == 0)
        return check_hostport(v + 6, 1, why, n);
    const char *rest = strncmp(v, "ipc://", 6) == 0      ? v + 6
                       : strncmp(v, "inproc://", 9) == 0 ? v + 9
                                                          : NULL;
    if (rest && *rest)
        return 0;
    snprintf(why, n, "'%s' is not a ZeroMQ endpoint (tcp://HOST:PORT, "
             "ipc://PATH or inproc://NAME)", v);
    return -1;
}

/* Digits only, value <= max. */
static int digits_upto(const char *s, long max)
{
    long v = 0;
    if (!*s || strlen(s) > 6)
        return 0;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return 0;
        v = v * 10 + (*s - '0');
    }
    return v <= max;
}

/* redis://HOST[:PORT][/DB] (no credentials: they do not belong in a
 * reviewed file), unix:/ABSOLUTE/PATH or
 * sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB] (store_sentinel.h). */
static int check_redis_url(const char *v, char *why, size_t n)
{
    if (strncmp(v, "unix:/", 6) == 0 && v[6])
        return 0;
    if (store_sentinel_is(v))
        return store_sentinel_check(v, why, n) < 0 ? -1 : 0;
    int ok = strncmp(v, "redis://", 8) == 0;
    if (ok) {
        char host[256];
        snprintf(host, sizeof host, "%s", v + 8);
        char *db = strchr(host, '/');
        if (db)
            *db++ = '\0';
        char *colon = strrchr(host, ':');
        if (colon && !strchr(colon, ']'))
            *colon++ = '\0';
        ok = host[0] && !strchr(host, '@') && (!colon || parse_port(colon) > 0) &&
             (!db || digits_upto(db, 65535));
    }
    if (!ok)
        snprintf(why, n, "'%s' is not redis://HOST[:PORT][/DB] or "
                 "unix:/PATH or " STORE_SENTINEL_FORM, v);
    return ok ? 0 : -1;
}

static int check_prefix(const char *v, char *why, size_t n)
{
    int ok = *v && strlen(v) <= 64;
    for (const char *p = v; ok && *p; p++)
        ok = isgraph((unsigned char)*p);
    if (!ok)
        snprintf(why, n, "'%s' is not a key prefix (1 to 64 characters, "
                 "no spaces)", v);
    return ok ? 0 : -1;
}

/* node.instance: a name usable in Redis keys (store_lease.h). */
static int check_instance(const char *v, char *why, size_t n)
{
    size_t len = strlen(v);
    int ok = len >= 1 && len <= 64 &&
             strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                       "0123456789-_.") == len;
    if (!ok)
        snprintf(why, n, "'%s' is not an instance name (1 to 64 of A-Z a-z "
                 "0-9 - _ .)", v);
    return ok ? 0 : -1;
}

/* ledger.national: a node id, or "" for no national center. */
static int check_national(const char *v, char *why, size_t n)
{
    return *v ? cfg_check_node_id(v, why, n) : 0;
}

static int check_auto_step(const char *v, char *why, size_t n)
{
    static const char *const steps[] = {"release", "passage", "arrival",
                                        "control", "write_off"};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (!strcmp(v, steps[i]))
            return 0;
    snprintf(why, n, "'%s' is not a step (release, passage, arrival, "
             "control, write_off)", v);
    return -1;
}

/* Mapping, client and party names: 1-64 of A-Z a-z 0-9 . _ - (they
 * become parts of file names and Redis keys elsewhere). */
static int check_word(const char *v, const char *what, char *why, size_t n)
{
    int ok = *v && strlen(v) <= 64;
    for (const char *p = v; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || strchr("._-", *p);
    if (!ok)
        snprintf(why, n, "'%s' is not a %s (1 to 64 of A-Z a-z 0-9 . _ -)",
                 v, what);
    return ok ? 0 : -1;
}

static int check_connector_name(const char *v, char *why, size_t n)
{
    return check_word(v, "connector name", why, n);
}

static int check_agency(const char *v, char *why, size_t n)
{
    return check_word(v, "agency name", why, n);
}

static int check_mapping(const char *v, char *why, size_t n)
{
    return check_word(v, "mapping name", why, n);
}

static int check_client_id(const char *v, char *why, size_t n)
{
    return check_word(v, "client id", why, n);
}

/* One of words[] (NULL-terminated), else why lists them. */
static int check_among(const char *v, const char *const *words,
                       const char *what, char *why, size_t n)
{
    char all[256];
    size_t k = 0;
    for (; words[k]; k++)
        if (!strcmp(v, words[k]))
            return 0;
    cfg__join_names(words, k, all, sizeof all);
    snprintf(why, n, "'%s' is not %s (%s)", v, what, all);
    return -1;
}

static int check_out_event(const char *v, char *why, size_t n)
{
    static const char *const evs[] = {"released", "anticipated_arrival",
                                      "discrepancy", "arrived", "written_off",
                                      "message_status", NULL};
    return check_among(v, evs, "an out event", why, n);
}

/* The model's kinds (model_kinds[], the one list) and "*" for any. */
static int check_kind(const char *v, char *why, size_t n)
{
    const char *kinds[16];
    size_t k = 0;
    for (; model_kinds[k] && k + 2 < sizeof kinds / sizeof kinds[0]; k++)
        kinds[k] = model_kinds[k];
    kinds[k++] = "*";
    kinds[k] = NULL;
    return check_among(v, kinds, "a record kind", why, n);
}

/* A strictness rule (connectors/strict.h). */
static int check_rule(const char *v, char *why, size_t n)
{
    if (strict_rule_find(v))
        return 0;
    snprintf(why, n, "'%s' is not a strictness rule (%s)", v,
             strict_rule_list());
    return -1;
}

/* Party ids as records carry them (EDIFACT, GLN, tax numbers): printable,
 * no spaces; or "*" for any. */
static int check_party(const char *v, char *why, size_t n)
{
    int ok = *v && strlen(v) <= 64;
    for (const char *p = v; ok && *p; p++)
        ok = isgraph((unsigned char)*p);
    if (!ok)
        snprintf(why, n, "'%s' is not a party id (1 to 64 printable "
                 "characters, no spaces) or *", v);
    return ok ? 0 : -1;
}

static int check_sha256_hex(const char *v, char *why, size_t n)
{
    int ok = strlen(v) == 64;
    for (const char *p = v; ok && *p; p++)
        ok = isdigit((unsigned char)*p) || (*p >= 'a' && *p <= 'f');
    if (!ok)
        snprintf(why, n, "'%.80s' is not a SHA-256 (64 lower-case hex "
                 "digits; `eportctl key hash KEY` prints it)", v);
    return ok ? 0 : -1;
}

/* http://HOST:PORT[/PATH] or https://...: where a webhook posts. */
static int check_url(const char *v, char *why, size_t n)
{
    const char *rest = !strncmp(v, "http://", 7)    ? v + 7
                       : !strncmp(v, "https://", 8) ? v + 8
                                                    : NULL;
    int ok = rest && *rest && *rest != '/' && *rest != ':';
    for (const char *p = v; ok && *p; p++)
        ok = isgraph((unsigned char)*p);
    if (!ok)
        snprintf(why, n, "'%s' is not an http:// or https:// URL", v);
    return ok ? 0 : -1;
}

/* pki.directory_url: http:// or https:// (check_url), file://PATH, or a
 * path (made absolute by cfg__derive). */
static int check_directory_url(const char *v, char *why, size_t n)
{
    if (!strncmp(v, "http://", 7) || !strncmp(v, "https://", 8))
        return check_url(v, why, n);
    const char *path = !strncmp(v, "file://", 7) ? v + 7 : v;
    int ok = *path && (path == v ? !strstr(v, "://") : *path == '/');
    for (const char *p = v; ok && *p; p++)
        ok = isgraph((unsigned char)*p);
    if (!ok)
        snprintf(why, n, "'%s' is not an http(s):// URL, file:///PATH or a "
                 "path", v);
    return ok ? 0 : -1;
}

/* ---- the rows ---- */

static const char *const roles[] = {"provincial", "national", NULL};
static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const conn_types[] = {"filedrop", "http", "zmq", NULL};
static const char *const out_types[] = {"none", "dir", "webhook", "zmq", NULL};
static const char *const bools[] = {"false", "true", NULL};

#define REQ CFG_F_REQUIRED
#define STR(st, f, fl, d, chk, shp, h) \
    {#f, CFG_T_STR, fl, d, 0, 0, NULL, chk, shp, offsetof(st, f), h}
#define PATH(st, f, fl, d, h) \
    {#f, CFG_T_PATH, fl, d, 0, 0, NULL, NULL, "absolute, or relative to the file", \
     offsetof(st, f), h}
#define INT(st, f, d, lo, hi, h) \
    {#f, CFG_T_INT, 0, d, lo, hi, NULL, NULL, NULL, offsetof(st, f), h}
#define ENUM(st, f, fl, d, nm, h) \
    {#f, CFG_T_ENUM, fl, d, 0, 0, nm, NULL, NULL, offsetof(st, f), h}
#define EP(st, f, ty, fl, h) \
    {#f, ty, fl, NULL, 0, 0, NULL, NULL, "tcp://HOST:PORT, ipc://PATH, " \
     "inproc://NAME", offsetof(st, f), h}

static const cfg_option node_rows[] = {
    STR(cfg_node, id, REQ, NULL, cfg_check_node_id, "2-16 of A-Z 0-9 -",
        "This node's id, also the peer id other nodes use for it."),
    STR(cfg_node, region, REQ, NULL, check_region, "2 upper-case letters",
        "Region (province) the node clears movements for."),
    ENUM(cfg_node, role, REQ, NULL, roles,
         "provincial: an e-port gateway; national: the national center."),
    EP(cfg_node, listen, CFG_T_ENDPOINT, REQ,
       "ZeroMQ endpoint this node binds for its peers (host `*`: all)."),
    STR(cfg_node, http, REQ, NULL, check_http, "HOST:PORT",
        "Address of the HTTP API and /metrics."),
    STR(cfg_node, instance, CFG_F_DERIVED, "<host name>-<listen port>",
        check_instance, "1-64 of A-Z a-z 0-9 - _ .",
        "This process among the node's instances sharing one Redis "
        "(docs/ha.md); must differ between instances and stay the same "
        "across restarts."),
};

static const cfg_option pki_rows[] = {
    PATH(cfg_pki, ca, REQ, NULL, "Federation CA certificate (PEM)."),
    PATH(cfg_pki, crl, 0, NULL,
         "Certificate revocation list (PEM); not set: no revocation check."),
    PATH(cfg_pki, cert, REQ, NULL, "This node's certificate (PEM)."),
    PATH(cfg_pki, key, REQ, NULL, "This node's private signing key (PEM)."),
    PATH(cfg_pki, curve_public, REQ, NULL,
         "This node's CurveZMQ public key (Z85 text)."),
    PATH(cfg_pki, curve_secret, REQ, NULL,
         "This node's CurveZMQ secret key (Z85 text)."),
    PATH(cfg_pki, directory, CFG_F_DERIVED, "<dir of pki.ca>",
         "Federation directory: every node's certificate as <id>.crt, to "
         "verify messages from origins that are not peers."),
    STR(cfg_pki, directory_url, 0, NULL, check_directory_url,
        "http(s)://..., file://PATH or a path",
        "Signed federation directory (docs/pki.md) the national center "
        "publishes: members' certificates and the CRL come from it; not "
        "set: from the files."),
    INT(cfg_pki, directory_refresh_s, "300", 1, 86400,
        "Seconds between fetches of the signed directory (SIGHUP: at once)."),
};

static const cfg_option redis_rows[] = {
    STR(cfg_redis, url, REQ, NULL, check_redis_url,
        "redis://HOST[:PORT][/DB], unix:/PATH, "
        "sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB]",
        "Redis holding this node's state; sentinel://: the primary "
        "Sentinel names for MASTER, found again after a failover."),
    STR(cfg_redis, prefix, CFG_F_DERIVED, "eport:<node.id>:", check_prefix,
        "1-64 characters, no spaces",
        "Prefix of every key, so several nodes can share one Redis."),
    INT(cfg_redis, wait_replicas, "0", 0, 16,
        "Replicas that must acknowledge a write (Redis WAIT) before a "
        "message is acknowledged; 0: do not wait."),
    INT(cfg_redis, timeout_ms, "2000", 1, 600000,
        "Timeout of one Redis command, and of WAIT."),
};

static const cfg_option mappings_rows[] = {
    PATH(cfg_mappings, dir, 0, "../mappings",
         "Directory of the YAML mapping tables and code lists."),
};

static const cfg_option peer_rows[] = {
    STR(cfg_peer, id, REQ, NULL, cfg_check_node_id, "2-16 of A-Z 0-9 -",
        "The peer's node id."),
    STR(cfg_peer, region, REQ, NULL, check_region, "2 upper-case letters",
        "The peer's region."),
    EP(cfg_peer, endpoints, CFG_T_ENDPOINTS, REQ,
       "Where the peer listens; several: instances of one region, used one at a time, the next when one is lost."),
    PATH(cfg_peer, cert, CFG_F_DERIVED, "<dir of pki.ca>/<id>.crt",
         "The peer's certificate, pinned."),
    PATH(cfg_peer, curve_public, CFG_F_DERIVED,
         "<dir of pki.ca>/<id>.curve.pub",
         "The peer's CurveZMQ public key (a CURVE client must know it)."),
};

static const cfg_option delivery_rows[] = {
    INT(cfg_delivery, retry_initial_ms, "200", 1, 600000,
        "First delay before resending an unacknowledged message."),
    INT(cfg_delivery, retry_max_ms, "30000", 1, MS_DAY,
        "Longest delay between resends (the delay doubles up to it)."),
    /* the upper bound is the envelope codec's own cap (ENV_MAX_FRAME): a
     * file may lower the limit, never promise more than the code reads */
    INT(cfg_delivery, max_frame_bytes, "16777216", 4096, 16777216,
        "Largest envelope accepted from or sent to a peer (16 MiB)."),
    INT(cfg_delivery, max_clock_skew_ms, "300000", 0, MS_DAY,
        "Envelopes stamped further in the future are refused."),
    INT(cfg_delivery, max_age_ms, "604800000", 1000, 365 * MS_DAY,
        "Envelopes older than this are refused, and stop being retried (7 days)."),
    INT(cfg_delivery, heartbeat_ms, "1000", 50, 600000,
        "Interval of heartbeats on an idle peer link."),
    INT(cfg_delivery, heartbeat_timeout_ms, "5000", 100, 3600000,
        "A peer silent this long is taken as down (> heartbeat_ms)."),
    INT(cfg_delivery, window, "1000", 1, 100000,
        "Frames sent to a peer and not yet acknowledged, at most."),
    INT(cfg_delivery, receipt_timeout_ms, "10000", 100, MS_DAY,
        "Wait for a destination's receipt before sending the message again "
        "(doubles up to retry_max_ms)."),
};

#define WORD "1-64 of A-Z a-z 0-9 . _ -"
#define STRICT_RULE_SHAPE "envelope_counts, check_digits, dates, bom, " \
    "line_ends, trailing_space"
#define LIST(st, f, chk, shp, h) \
    {#f, CFG_T_LIST, 0, "[]", 0, 0, NULL, chk, shp, offsetof(st, f), h}

static const cfg_option connector_rows[] = {
    STR(cfg_connector, name, REQ, NULL, check_connector_name, WORD,
        "Unique name of the connector."),
    ENUM(cfg_connector, type, REQ, NULL, conn_types,
         "Inbound transport: a watched inbox directory, the HTTP API "
         "(node.http), or a ZeroMQ ROUTER."),
    STR(cfg_connector, mapping, 0, NULL, check_mapping, WORD,
        "Mapping table of its input; not set: chosen by the request, "
        "else by content."),
    STR(cfg_connector, client, 0, NULL, check_client_id, "a clients[].id",
        "filedrop only, required: the client whose kinds and parties "
        "limit the files."),
    PATH(cfg_connector, dir, 0, NULL,
         "filedrop only, required: the inbox (done/ and error/ inside)."),
    EP(cfg_connector, listen, CFG_T_ENDPOINT, 0,
       "zmq only, required: the ROUTER endpoint it binds."),
    LIST(cfg_connector, forward, cfg_check_node_id,
         "node ids (peers or routed)",
         "Nodes every accepted record is sent to."),
    ENUM(cfg_connector, declare, 0, "false", bools,
         "Its records of kind declaration open movements here, linked to "
         "the waybills and manifests sent before by container."),
    ENUM(cfg_connector, fanout, 0, "false", bools,
         "Its records are sent to every agency the fan-out rules "
         "(mappings/fanout/rules.yaml) name for their kind "
         "(docs/fan-out.md)."),
    STR(cfg_connector, agency, 0, NULL, check_agency, WORD,
        "The agency it talks to: its out gets the agency's fan-out copies, "
        "its response records update their status."),
    ENUM(cfg_connector, out, 0, "none", out_types,
         "Transport of what the node sends back to the local system."),
    PATH(cfg_connector, out_dir, 0, NULL,
         "out: dir, required: the outbox directory."),
    STR(cfg_connector, out_url, 0, NULL, check_url, "http:// or https:// URL",
        "out: webhook, required: where each record is POSTed."),
    EP(cfg_connector, out_endpoint, CFG_T_ENDPOINT, 0,
       "out: zmq, required: the endpoint a PUSH socket connects to."),
    STR(cfg_connector, out_mapping, 0, NULL, check_mapping, WORD,
        "Reverse mapping of what goes out; not set: canonical JSON."),
    LIST(cfg_connector, out_events, check_out_event,
         "released, anticipated_arrival, discrepancy, arrived, "
         "written_off, message_status",
         "Events sent to the local system (only with an out)."),
};

static const cfg_option client_rows[] = {
    STR(cfg_client, id, REQ, NULL, check_client_id, WORD,
        "Unique id of the client (in logs and refusals)."),
    STR(cfg_client, connector, REQ, NULL, check_connector_name,
        "a connectors[].name", "The connector its submissions belong to."),
    STR(cfg_client, key_sha256, 0, NULL, check_sha256_hex,
        "64 lower-case hex digits",
        "SHA-256 of its API key (`eportctl key hash KEY`); not set: no "
        "key (a filedrop's client)."),
    LIST(cfg_client, kinds, check_kind,
         "waybill, manifest, declaration, response, status, permit, order, "
         "payment, *",
         "Record kinds it may send; `*`: any; empty: none."),
    LIST(cfg_client, parties, check_party, "party ids, *",
         "Parties it may send for (parties[].id or source.sender of a "
         "record); `*`: any; empty: none."),
    LIST(cfg_client, strict, check_rule, STRICT_RULE_SHAPE,
         "Strictness rules whose slips in its input are refused, whatever "
         "its mapping tables say (docs/mapping-language.md, Strict and "
         "lenient)."),
    LIST(cfg_client, lenient, check_rule, STRICT_RULE_SHAPE,
         "Strictness rules whose slips in its input are let through with "
         "a warning in the record (warnings[]), whatever its mapping "
         "tables say."),
};

static const cfg_option api_rows[] = {
    INT(cfg_api, max_body_bytes, "4194304", 1024, 1073741824,
        "Largest body accepted (HTTP 413 past it)."),
    INT(cfg_api, rate_per_s, "5000", 0, 1000000000,
        "Records per second per client (token bucket); 0: no limit."),
    INT(cfg_api, burst, "10000", 1, 1000000000,
        "Records a client may send at once above its rate (bucket size)."),
    INT(cfg_api, max_backlog, "200000", 1, 1000000000000LL,
        "Local records not dispatched + the deepest outbox past which "
        "intake refuses (HTTP 503)."),
    INT(cfg_api, retry_after_s, "1", 1, 3600,
        "Retry-After of a 429 or 503."),
    INT(cfg_api, threads, "2", 1, 64, "HTTP worker threads."),
    ENUM(cfg_api, public_reads, 0, "false", bools,
         "GET /v1/... without an API key."),
    PATH(cfg_api, web_dir, 0, "../gateway/web",
         "The dashboard's static files, served at / (national center)."),
};

static const cfg_option ledger_rows[] = {
    STR(cfg_ledger, national, CFG_F_DERIVED, "<the peer of region CN>",
        check_national, "node id; \"\": none",
        "The national center: audience of every movement event."),
    INT(cfg_ledger, time_limit_h, "72", 1, 8760,
        "Time limit of a release for arrival, when the release names none."),
    /* `auto` is a C keyword: the field is steps */
    {"auto", CFG_T_LIST, 0, "[]", 0, 0, NULL, check_auto_step,
     "release, passage, arrival, control, write_off",
     offsetof(cfg_ledger, steps),
     "Steps taken without an operator (demos and benchmarks only)."},
};

static const cfg_option log_rows[] = {
    ENUM(cfg_log, level, 0, "info", levels, "Least severe level written."),
    PATH(cfg_log, file, CFG_F_DASH, "-", "Log file, or - for stderr."),
};

static const cfg_option health_rows[] = {
    INT(cfg_health, interval_ms, "5000", 100, 3600000,
        "A provincial node sends the national center a health message "
        "this often."),
    INT(cfg_health, down_after_ms, "15000", 200, MS_DAY,
        "National center: a member silent this long is shown down "
        "(> interval_ms)."),
};

static const cfg_option alerts_rows[] = {
    PATH(cfg_alerts, rules, 0, "alerts.yaml",
         "National center: the alert rule file (missing: the built-in "
         "rules)."),
};

static const char *const pm_unreachable[] = {"wait", "refuse", NULL};

static const cfg_option permits_rows[] = {
    INT(cfg_permits, reserve_ttl_s, "86400", 1, 31536000,
        "Home: a reservation not confirmed this long expires and its "
        "balance returns."),
    ENUM(cfg_permits, unreachable, 0, "wait", pm_unreachable,
         "A declaration citing a permit whose home does not answer: waits "
         "(shown awaiting permit verification) or is refused after "
         "answer_timeout_s."),
    INT(cfg_permits, answer_timeout_s, "60", 1, 604800,
        "With unreachable: refuse, how long a reservation may wait for its "
        "answer."),
    INT(cfg_permits, verify_wait_ms, "5000", 1, 600000,
        "HTTP and eportctl: how long a request waits for the home's answer "
        "before saying it is still queued."),
};

static const cfg_option cbec_rows[] = {
    STR(cfg_cbec, clearing, 0, NULL, cfg_check_node_id, "2-16 of A-Z 0-9 -",
        "Cross-border e-commerce documents that no cbec_routes row names are "
        "matched at this node; not set: here."),
    INT(cfg_cbec, match_timeout_s, "86400", 1, 2592000,
        "A parcel's set still missing a document (or not corrected) this "
        "long after its first document expires."),
    INT(cfg_cbec, tolerance_fen, "1", 0, 100000000,
        "Amounts of a parcel's documents may differ by this many hundredths "
        "of their currency (分)."),
    PATH(cfg_cbec, id_key, 0, NULL,
         "The federation's key (32 to 256 bytes, the same on every node) for "
         "the keyed hash that names a buyer's annual allowance; not set: "
         "matched parcels draw no allowance."),
    PATH(cfg_cbec, data_key, 0, NULL,
         "This node's key (32 bytes) sealing the documents of parcels' sets "
         "at rest in Redis (AES-256-GCM); not set: they are kept plain."),
    PATH(cfg_cbec, data_key_old, 0, NULL,
         "After a rotation of data_key, the key before it: it opens what it "
         "sealed (until those sets are gone) and seals nothing."),
};

static const cfg_option cbec_route_rows[] = {
    STR(cfg_cbec_route, customs, 0, NULL, NULL, "a customs code or its prefix",
        "Inventory lists whose customs.office (or cbec.port_code) starts with "
        "this (`80`: the Chongqing customs district)."),
    STR(cfg_cbec_route, platform, 0, NULL, NULL, "a party id",
        "Documents of this e-commerce platform (parties[role=platform].id)."),
    STR(cfg_cbec_route, carrier, 0, NULL, NULL, "a party id",
        "Documents of this logistics company (parties[role=carrier].id)."),
    STR(cfg_cbec_route, order_prefix, 0, NULL, NULL, "text",
        "Documents whose order number starts with this."),
    STR(cfg_cbec_route, node, REQ, NULL, cfg_check_node_id, "2-16 of A-Z 0-9 -",
        "The node that matches them (docs/cbec.md)."),
};

static const cfg_option ha_rows[] = {
    INT(cfg_ha, claim_idle_ms, "5000", 500, 600000,
        "Instances of one node: work an instance owns (a peer's outbox, the "
        "ledger, local dispatch, permits, resends) passes to another "
        "instance when the owner has not renewed it this long."),
};

#define ROWS(r) r, sizeof r / sizeof r[0]

const cfg_section cfg_sections[] = {
    {"node", CFG_SEC_NODE, CFG_S_MAP, ROWS(node_rows), offsetof(cfg, node),
     0, 0, "Who this node is and where it listens."},
    {"pki", CFG_SEC_PKI, CFG_S_MAP, ROWS(pki_rows), offsetof(cfg, pki), 0, 0,
     "Certificates and keys (see docs/pki.md)."},
    {"redis", CFG_SEC_REDIS, CFG_S_MAP, ROWS(redis_rows), offsetof(cfg, redis),
     0, 0, "Durable state."},
    {"mappings", CFG_SEC_MAPPINGS, CFG_S_MAP, ROWS(mappings_rows),
     offsetof(cfg, mappings), 0, 0, "Translation tables."},
    {"peers", CFG_SEC_PEERS, CFG_S_LIST, ROWS(peer_rows), 0, sizeof(cfg_peer),
     0, "Neighbouring nodes this node links to directly."},
    {"routes", CFG_SEC_ROUTES, CFG_S_ROUTES, NULL, 0, 0, 0, 0,
     "Static multi-hop routing: DEST: NEXT_HOP_PEER for nodes that are not "
     "peers."},
    {"delivery", CFG_SEC_DELIVERY, CFG_S_MAP, ROWS(delivery_rows),
     offsetof(cfg, delivery), 0, 0, "Peer links: resends, limits, liveness."},
    {"connectors", CFG_SEC_CONNECTORS, CFG_S_LIST, ROWS(connector_rows), 0,
     sizeof(cfg_connector), 0,
     "Local systems' transports, in and out (docs/connectors.md)."},
    {"clients", CFG_SEC_CLIENTS, CFG_S_LIST, ROWS(client_rows), 0,
     sizeof(cfg_client), 0,
     "Who may submit through a connector, and what (docs/connectors.md)."},
    {"api", CFG_SEC_API, CFG_S_MAP, ROWS(api_rows), offsetof(cfg, api), 0, 0,
     "The HTTP API (node.http) and the limits every connector shares."},
    {"ledger", CFG_SEC_LEDGER, CFG_S_MAP, ROWS(ledger_rows),
     offsetof(cfg, ledger), 0, 0,
     "The clear-once movement ledger (docs/clearance.md)."},
    {"log", CFG_SEC_LOG, CFG_S_MAP, ROWS(log_rows), offsetof(cfg, log), 0, 0,
     "Logging."},
    {"health", CFG_SEC_HEALTH, CFG_S_MAP, ROWS(health_rows),
     offsetof(cfg, health), 0, 0,
     "The health feed to the national center (docs/operations.md)."},
    {"alerts", CFG_SEC_ALERTS, CFG_S_MAP, ROWS(alerts_rows),
     offsetof(cfg, alerts), 0, 0,
     "The national center's alert rules (docs/operations.md)."},
    {"permits", CFG_SEC_PERMITS, CFG_S_MAP, ROWS(permits_rows),
     offsetof(cfg, permits), 0, 0,
     "The permit ledger: reservations, unreachable homes (docs/permits.md)."},
    {"cbec", CFG_SEC_CBEC, CFG_S_MAP, ROWS(cbec_rows), offsetof(cfg, cbec),
     0, 0, "Cross-border e-commerce: where and how a parcel's order, payment, "
     "waybill and inventory list are matched (docs/cbec.md)."},
    {"cbec_routes", CFG_SEC_CBEC_ROUTES, CFG_S_LIST, ROWS(cbec_route_rows), 0,
     sizeof(cfg_cbec_route), 0,
     "Which node matches which cross-border e-commerce documents, first "
     "row that fits (docs/cbec.md)."},
    {"ha", CFG_SEC_HA, CFG_S_MAP, ROWS(ha_rows), offsetof(cfg, ha), 0, 0,
     "Several instances of one node on one Redis (docs/ha.md)."},
};

const size_t cfg_nsections = sizeof cfg_sections / sizeof cfg_sections[0];
