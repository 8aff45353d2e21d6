/* ctl: the eportctl command line: one file per command (ctl_map.c,
 * ctl_lint.c), sharing the exit codes (sysexits(3), so scripts can tell a
 * bad input from a bad setup) and helpers declared here. */
#ifndef EPORT_CTL_H
#define EPORT_CTL_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "node.h"

enum {
    CTL_OK = 0,
    CTL_USAGE = 64,    /* bad command line */
    CTL_DATAERR = 65,  /* an input had problems; the rest was processed */
    CTL_NOINPUT = 66,  /* an input file could not be opened */
    CTL_UNAVAILABLE = 69, /* Redis, eportd or its HTTP API unreachable */
    CTL_SOFTWARE = 70, /* internal error (or an HTTP 5xx but 503) */
    CTL_IOERR = 74,    /* output could not be written */
    CTL_TEMPFAIL = 75, /* the node said: later (HTTP 429, 503) */
    CTL_NOPERM = 77,   /* the node refused the key (HTTP 401, 403) */
    CTL_CONFIG = 78,   /* mapping tables or configuration are broken */
};

int ctl_map(int argc, char **argv);
int ctl_new_mapping(int argc, char **argv);
int ctl_lint(int argc, char **argv);
int ctl_send(int argc, char **argv);
int ctl_inbox(int argc, char **argv);
int ctl_peers(int argc, char **argv);
int ctl_dlq(int argc, char **argv);
int ctl_declare(int argc, char **argv);
int ctl_mv(int argc, char **argv);
int ctl_movements(int argc, char **argv);
int ctl_trace(int argc, char **argv);
int ctl_verify(int argc, char **argv);
int ctl_alerts(int argc, char **argv);
int ctl_attach(int argc, char **argv);   /* ctl_attach.c */
/* ---- over a node's HTTP API ---- */
int ctl_submit(int argc, char **argv);   /* ctl_submit.c */
int ctl_status(int argc, char **argv);   /* ctl_submit.c */
int ctl_tail(int argc, char **argv);     /* ctl_tail.c */
int ctl_key(int argc, char **argv);      /* ctl_key.c */
int ctl_site(int argc, char **argv);     /* ctl_site.c */

/* ---- the movement ledger's commands (ctl_ledger.c) ---- */

#define CTL_REFUSED 3 /* the ledger refused: ownership, phase, conflict,
                         or a discrepancy recorded instead */

/* One option of a command: "--name VALUE" into *str or *num (strtol), or
 * "--name" setting *flag; short is "-c"-style or NULL. */
typedef struct ctl_opt {
    const char *name, *short_name;
    const char **str;
    long *num;
    int *flag;
} ctl_opt;

/* argv[first..argc) against opts (ended by a zeroed entry); words that
 * are not options go to pos[0..maxpos) and *npos. "--help" returns -1;
 * anything unknown prints usage and returns CTL_USAGE. */
int ctl_opts(int argc, char **argv, int first, const ctl_opt *opts,
             const char **pos, int maxpos, int *npos, const char *usage);

/* The exit code of a ledger error, after printing it on one line:
 * "eportctl: error: <ref>: <msg>" (ref may be NULL). */
int ctl_lg_fail(const char *ref, const err_t *e);

/* Whole file into b (capped by b's max); "-" is standard input. */
int ctl_read_file(const char *path, buf_t *b, err_t *e);
/* The mapping directory: --mappings, else $EPORT_MAPPINGS, else ./mappings,
 * else ../mappings beside the executable. Returns a static string. */
const char *ctl_mappings_dir(const char *given);

/* Local input files to read as records (ctl_records.c). */
#define CTL_FILES_MAX 8
typedef struct ctl_inputs {
    const char *files[CTL_FILES_MAX];
    int nfiles;
    int canonical;        /* FILE.json is canonical JSON */
    const char *map;      /* force this mapping; NULL: the first matching */
} ctl_inputs;
struct model_record;
/* Called per record, borrowed for the call: 0 goes on, a positive value
 * stops quietly, a negative one stops and is returned (with e filled by
 * the callback). */
typedef int (*ctl_record_fn)(void *ctx, const struct model_record *r);
/* Every record of every input, in order. Problems translating a file are
 * printed as `eportctl map` prints them and fail it: ERR_INVALID naming
 * the file. */
int ctl_records(const ctl_inputs *in, const char *mappings_dir,
                ctl_record_fn fn, void *ctx, err_t *e);

/* Open the node of config offline (no sockets): *out for node_close.
 * Prints the problem and returns a CTL_* code, CTL_OK on success. */
int ctl_node_open(const char *config, node **out);

/* What a command prints: j (taken; may be NULL) as one line of JSON,
 * else the text in b (may be NULL); b is freed. CTL_OK, CTL_IOERR when
 * stdout fails, CTL_SOFTWARE out of memory. */
struct json_t;
int ctl_print(struct json_t *j, buf_t *b);

/* The configuration's Redis, and nothing else of the node (no PKI, no
 * daemon): *c for cfg_free, *st for store_close. Prints the problem and
 * returns a CTL_* code, CTL_OK on success. */
struct cfg;
struct store;
int ctl_store_open(const char *config, struct cfg **c, struct store **st);

/* ---- a node's HTTP API (ctl_http.c, libcurl) ----
 * Where: --node URL, else $EPORT_NODE, else `node:` in the user's file
 * ($XDG_CONFIG_HOME, else ~/.config, /eport/config.yaml), else
 * http://127.0.0.1:8101 ("HOST:PORT" alone means http://). As whom: --key
 * KEY, else $EPORT_KEY, else `key:` in that file; none: no credentials.
 * Each function prints its problem ("eportctl: error: ...") and returns
 * a CTL_* code. */
typedef struct ctl_http ctl_http;
int ctl_http_open(const char *where, const char *key, ctl_http **out);
void ctl_http_close(ctl_http *h);
const char *ctl_http_base(const ctl_http *h);

/* One reply: its HTTP status and body (capped at 64 MiB). */
typedef struct ctl_reply {
    long status;
    buf_t body;
} ctl_reply;
void ctl_reply_init(ctl_reply *r);
void ctl_reply_free(ctl_reply *r);

/* A request: method "GET" or "POST", path with its query ("/v1/...");
 * body (POST) of ctype; timeout_ms for the whole exchange. CTL_OK with
 * any status in r (the caller judges it), or CTL_UNAVAILABLE when no
 * answer came (refused, timed out: the message names the URL). */
int ctl_http_do(ctl_http *h, const char *method, const char *path,
                const char *ctype, const void *body, size_t len,
                long timeout_ms, ctl_reply *r);
/* One more header line ("Name: value") for the requests that follow. */
int ctl_http_header(ctl_http *h, const char *line);
/* s escaped for a URL query (malloc'd), NULL on failure. */
char *ctl_http_escape(ctl_http *h, const char *s);

/* The exit code of an HTTP status that is not a success: 400, 413, 422
 * CTL_DATAERR; 401, 403 CTL_NOPERM; 404 CTL_NOINPUT; 429, 503
 * CTL_TEMPFAIL; anything else CTL_SOFTWARE. */
int ctl_http_code(long status);
/* Print the error reply r (its message, then its problem lines, with
 * "body:" at their start replaced by name when name is not NULL) and
 * return ctl_http_code. what names the request ("submit FILE"). */
int ctl_http_fail(const ctl_reply *r, const char *what, const char *name);

#endif
