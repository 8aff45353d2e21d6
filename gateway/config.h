/* config: a gateway node's configuration (conf/NODE.yaml, given to
 * `eportd --config`), declared as one table of option rows (after Redis's
 * static_configs[]): name, type, default, bounds, where the value is
 * stored, help text. The loader, the defaults, `cfg_dump` (the effective
 * configuration for `eportctl config show`) and the key table of
 * docs/operations.md all come from these rows, so they cannot disagree.
 *
 * Loading rejects unknown keys, wrong types, out-of-range numbers, bad
 * names and inconsistent peers/routes, and reports every problem as
 * "file:line:col: error: key: why", not only the first. */
#ifndef EPORT_CONFIG_H
#define EPORT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "ydoc.h"

#define CFG_MAX_PROBLEMS 100 /* past this one closing line says so */

typedef enum { CFG_ROLE_PROVINCIAL, CFG_ROLE_NATIONAL } cfg_role;
typedef enum { CFG_LOG_DEBUG, CFG_LOG_INFO, CFG_LOG_WARN, CFG_LOG_ERROR } cfg_log_level;
typedef enum { CFG_CONN_FILEDROP, CFG_CONN_HTTP, CFG_CONN_ZMQ } cfg_conn_type;

/* A list of strings (ZeroMQ endpoints). */
typedef struct cfg_strs {
    const char **v;
    size_t n;
} cfg_strs;

/* List items start with the YAML node they came from, so later modules
 * can report "file:line:col" about them with ydoc_err(&cfg->doc, ...). */
typedef struct cfg_peer {
    const ynode *node;
    const char *id;           /* node id of the peer, e.g. "SC" */
    const char *region;
    cfg_strs endpoints;       /* several = instances of one region */
    const char *cert;         /* absolute; default <pki.ca dir>/<id>.crt */
    const char *curve_public; /* absolute; default <pki.ca dir>/<id>.curve.pub */
} cfg_peer;

/* Static multi-hop routing: messages for dest go to peer via. */
typedef struct cfg_route {
    const ynode *node; /* the value (via) */
    const char *dest;
    const char *via;
} cfg_route;

/* A local system's connector (docs/connectors.md): an inbound transport
 * (type) and, optionally, an outbound one (out) for what the node sends
 * back to that system. Keys that do not apply to the type must be absent. */
typedef enum { CFG_OUT_NONE, CFG_OUT_DIR, CFG_OUT_WEBHOOK, CFG_OUT_ZMQ }
    cfg_out_type;
typedef struct cfg_connector {
    const ynode *node;
    const char *name;
    int type;                 /* cfg_conn_type */
    const char *mapping;      /* default mapping table; NULL: by content */
    const char *client;       /* filedrop: the client whose limits apply */
    const char *dir;          /* filedrop: the inbox (absolute) */
    const char *listen;       /* zmq: the ROUTER endpoint it binds */
    cfg_strs forward;         /* node ids every accepted record goes to */
    int declare;              /* its declarations open movements (bool) */
    int fanout;               /* its records go to every agency the
                                 fan-out rules name (bool, fanout.h) */
    const char *agency;       /* the agency this connector talks to: its
                                 out gets that agency's fan-out copies,
                                 its responses update their status */
    int out;                  /* cfg_out_type */
    const char *out_dir;      /* out: dir */
    const char *out_url;      /* out: webhook (http:// or https://) */
    const char *out_endpoint; /* out: zmq (PUSH connects to it) */
    const char *out_mapping;  /* reverse mapping of what goes out */
    cfg_strs out_events;      /* released anticipated_arrival discrepancy
                                 arrived written_off message_status */
} cfg_connector;

/* A connector client (docs/connectors.md): who may submit, through which
 * connector, what. key_sha256 is the hex SHA-256 of its API key: the key
 * itself is never stored. Empty kinds or parties: none allowed; "*": any. */
typedef struct cfg_client {
    const ynode *node;
    const char *id;
    const char *connector;    /* the connector its submissions belong to */
    const char *key_sha256;   /* 64 lower-case hex; NULL: no API key (a
                                 filedrop's client) */
    cfg_strs kinds;           /* record kinds it may send */
    cfg_strs parties;         /* party ids it may send for */
    cfg_strs strict, lenient; /* strictness rules (strict.h) held strict /
                                 lenient for its input, over its tables */
} cfg_client;

/* The HTTP API and the limits every connector shares. */
typedef struct cfg_api {
    int64_t max_body_bytes;   /* larger bodies: 413 */
    int64_t rate_per_s;       /* per client, token bucket; 0: no limit */
    int64_t burst;            /* bucket size */
    int64_t max_backlog;      /* queued work past which intake says 503 */
    int64_t retry_after_s;    /* Retry-After of a 503 */
    int64_t threads;          /* HTTP worker threads */
    int public_reads;         /* GETs without an API key (bool) */
    const char *web_dir;      /* the dashboard's static files (absolute),
                                 served at / (connectors/api_fed.c) */
} cfg_api;

typedef struct cfg_node {
    const char *id;     /* 2-16 of A-Z 0-9 - */
    const char *region; /* 2 upper-case letters */
    int role;           /* cfg_role */
    const char *listen; /* ZeroMQ endpoint peers connect to */
    const char *http;   /* HOST:PORT of the HTTP API and metrics */
    const char *instance; /* this process among the node's instances
                             (docs/ha.md); default <host>-<listen port> */
} cfg_node;

typedef struct cfg_pki {
    const char *ca, *crl, *cert, *key; /* crl NULL when not set */
    const char *curve_public, *curve_secret;
    const char *directory; /* default: the directory of ca */
    const char *directory_url; /* signed federation directory (fdir.h):
                                  http(s)://, file:// or an absolute
                                  path; NULL: certificate files only */
    int64_t directory_refresh_s; /* how often it is fetched again */
} cfg_pki;

typedef struct cfg_redis {
    const char *url;    /* redis://HOST[:PORT][/DB] or unix:/PATH */
    const char *prefix; /* default "eport:<node.id>:" */
    int64_t wait_replicas, timeout_ms;
} cfg_redis;

typedef struct cfg_mappings {
    const char *dir; /* absolute; default <config dir>/../mappings */
} cfg_mappings;

typedef struct cfg_delivery {
    int64_t retry_initial_ms, retry_max_ms, max_frame_bytes;
    int64_t max_clock_skew_ms, max_age_ms, heartbeat_ms, heartbeat_timeout_ms;
    int64_t window, receipt_timeout_ms;
} cfg_delivery;

/* The movement ledger (docs/clearance.md). */
typedef struct cfg_ledger {
    const char *national; /* node id of the national center; "" none;
                             default: the peer whose region is CN */
    int64_t time_limit_h; /* default time limit of a release */
    cfg_strs steps;       /* ledger.auto: steps taken without an operator
                             (release passage arrival control write_off) */
} cfg_ledger;

/* The health feed every node sends the national center, and how the
 * center judges it (docs/operations.md, "National center"). */
typedef struct cfg_health {
    int64_t interval_ms;   /* a provincial node's health message period */
    int64_t down_after_ms; /* the center: silent this long = down */
} cfg_health;

/* The national center's alert rules (gateway/fed_alert.h). */
typedef struct cfg_alerts {
    const char *rules;     /* the rule file (absolute) */
} cfg_alerts;

/* The permit ledger (docs/permits.md): this node as a permit's home,
 * and as a node whose declarations cite permits homed elsewhere. */
typedef struct cfg_permits {
    int64_t reserve_ttl_s;     /* home: an unconfirmed reservation expires */
    int unreachable;           /* cfg_pm_unreachable: a declaration whose
                                  permit's home does not answer waits, or is
                                  refused after answer_timeout_s */
    int64_t answer_timeout_s;
    int64_t verify_wait_ms;    /* HTTP and eportctl: how long a request
                                  waits for the home's answer */
} cfg_permits;
typedef enum { CFG_PM_WAIT, CFG_PM_REFUSE } cfg_pm_unreachable;

/* Cross-border e-commerce (docs/cbec.md): where a parcel's documents
 * are matched and how. */
typedef struct cfg_cbec {
    const char *clearing;     /* node matching documents no route names;
                                 NULL: this node */
    int64_t match_timeout_s;  /* an incomplete set expires after this */
    int64_t tolerance_fen;    /* amounts may differ by this many hundredths */
    const char *id_key;       /* the federation's key for identity hashes
                                 (absolute); NULL: no allowance drawn */
    const char *data_key;     /* this node's key sealing parcels'
                                 documents at rest; NULL: kept plain */
    const char *data_key_old; /* the key before a rotation: opens only */
} cfg_cbec;

/* One row of cbec_routes: documents it names are matched at node. Each
 * row sets one of customs (a prefix of the inventory list's
 * customs.office or cbec.port_code), platform, carrier (party ids) or
 * order_prefix (of cbec.order_no). */
typedef struct cfg_cbec_route {
    const ynode *node_;
    const char *customs, *platform, *carrier, *order_prefix;
    const char *node;
} cfg_cbec_route;

/* Several instances of one node (docs/ha.md). */
typedef struct cfg_ha {
    int64_t claim_idle_ms; /* a dead instance's work is taken after this */
} cfg_ha;

typedef struct cfg_log {
    int level;        /* cfg_log_level */
    const char *file; /* absolute path, or "-" for stderr */
} cfg_log;

/* The effective configuration. Every pointer inside is owned by the cfg
 * (one arena) and valid until cfg_free; callers only read. Paths are
 * absolute: relative ones in the file are resolved against the file's
 * directory, so a daemon that changes directory keeps them right. */
typedef struct cfg {
    const char *path; /* the file as given (used in messages) */
    const char *dir;  /* absolute directory of the file */
    ydoc doc;         /* the parsed file; connectors' nodes live here */
    cfg_node node;
    cfg_pki pki;
    cfg_redis redis;
    cfg_mappings mappings;
    cfg_peer *peers;
    size_t npeers;
    cfg_route *routes;
    size_t nroutes;
    cfg_delivery delivery;
    cfg_connector *connectors;
    size_t nconnectors;
    cfg_client *clients;
    size_t nclients;
    cfg_api api;
    cfg_ledger ledger;
    cfg_log log;
    cfg_health health;
    cfg_alerts alerts;
    cfg_permits permits;
    cfg_cbec cbec;
    cfg_cbec_route *cbec_routes;
    size_t ncbec_routes;
    cfg_ha ha;
    /* internal to config*.c */
    arena_t arena_;
    buf_t problems_;
    size_t nproblems_;
    int nomem_;
} cfg;

/* Load and check path. Returns 0 with *out set (free with cfg_free);
 * ERR_CONFIG when the file has problems: then *out is still set, only
 * for cfg_problems() (its values are incomplete), and e holds the first
 * problem; ERR_IO / ERR_NOMEM with *out NULL when it cannot be read. */
int cfg_load(const char *path, cfg **out, err_t *e);
void cfg_free(cfg *c);

/* Every problem, one "file:line:col: error: key: why" line each ("" when
 * none; past CFG_MAX_PROBLEMS one closing line instead); borrowed from c.
 * The count includes the problems not shown. */
const char *cfg_problems(const cfg *c);
size_t cfg_problem_count(const cfg *c);

/* The peer with this id, or NULL. */
const cfg_peer *cfg_peer_find(const cfg *c, const char *id);
/* Where a message for node dest goes next: the peer itself, or the route's
 * next hop; NULL when dest is unknown (or is this node). */
const cfg_peer *cfg_next_hop(const cfg *c, const char *dest);

/* 1 when step (release, passage, arrival, control, write_off) is in
 * ledger.auto. */
int cfg_ledger_auto(const cfg *c, const char *step);

/* The connector or client named name, NULL if none. */
const cfg_connector *cfg_connector_find(const cfg *c, const char *name);
const cfg_client *cfg_client_find(const cfg *c, const char *id);
/* 1 when word is in l, or l holds "*". */
int cfg_strs_has(const cfg_strs *l, const char *word);

/* Append the effective configuration (defaults filled in, paths
 * absolute) as YAML that cfg_load reads back to the same values. */
int cfg_dump(const cfg *c, buf_t *out);
/* Append the Markdown table of every key (docs/operations.md). */
int cfg_doc_markdown(buf_t *out);

/* ---- the declaration table (read-only; for docs and tools) ---- */

typedef enum {
    CFG_T_STR,       /* text, checked by the row's check function */
    CFG_T_INT,       /* whole number within [min, max] */
    CFG_T_ENUM,      /* one of names[]; stored as its index (int) */
    CFG_T_PATH,      /* file path, resolved against the file's directory */
    CFG_T_ENDPOINT,  /* ZeroMQ endpoint */
    CFG_T_ENDPOINTS, /* non-empty list of ZeroMQ endpoints (cfg_strs) */
    CFG_T_LIST,      /* list (maybe empty) of distinct words, each checked
                        by the row's check (cfg_strs); no default */
} cfg_type;

#define CFG_F_REQUIRED 1u /* no default: the file must give it */
#define CFG_F_DERIVED 2u  /* default computed from other keys (def: doc) */
#define CFG_F_DASH 4u     /* path that may be "-" (stderr) */

/* A check returns 0, or -1 with why filled ("'x' is not ..."). */
typedef int (*cfg_check_fn)(const char *v, char *why, size_t n);

typedef struct cfg_option {
    const char *name;
    cfg_type type;
    unsigned flags;
    const char *def;   /* default as YAML text, read like the file's */
    int64_t min, max;  /* CFG_T_INT bounds */
    const char *const *names; /* CFG_T_ENUM values, NULL-terminated */
    cfg_check_fn check;       /* CFG_T_STR format, or NULL */
    const char *shape;        /* allowed values, for docs */
    size_t off;               /* offset of the value in its struct */
    const char *help;
} cfg_option;

typedef enum {
    CFG_S_MAP,    /* a map of option rows, stored in cfg at off */
    CFG_S_LIST,   /* a list of maps of rows (peers, connectors) */
    CFG_S_ROUTES, /* a map of node id -> peer id */
} cfg_section_kind;

typedef enum { CFG_SEC_NODE, CFG_SEC_PKI, CFG_SEC_REDIS, CFG_SEC_MAPPINGS,
               CFG_SEC_PEERS, CFG_SEC_ROUTES, CFG_SEC_DELIVERY,
               CFG_SEC_CONNECTORS, CFG_SEC_CLIENTS, CFG_SEC_API,
               CFG_SEC_LEDGER, CFG_SEC_LOG, CFG_SEC_HEALTH,
               CFG_SEC_ALERTS, CFG_SEC_PERMITS, CFG_SEC_CBEC,
               CFG_SEC_CBEC_ROUTES, CFG_SEC_HA } cfg_section_id;

#define CFG_SECTIONS_MAX 32

typedef struct cfg_section {
    const char *name;
    cfg_section_id id;
    cfg_section_kind kind;
    const cfg_option *rows; /* MAP: its keys; LIST: each item's keys */
    size_t nrows;
    size_t off;       /* MAP: the section struct's offset in cfg */
    size_t item_size; /* LIST: bytes per item */
    int open;         /* LIST: items may hold other keys (kept opaque) */
    const char *help;
} cfg_section;

extern const cfg_section cfg_sections[];
extern const size_t cfg_nsections;

/* Format checks, also used for peer ids and route keys. */
int cfg_check_node_id(const char *v, char *why, size_t n);
int cfg_check_endpoint(const char *v, char *why, size_t n);

#endif
