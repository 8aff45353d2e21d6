/* ingest: one local input (an HTTP body, a dropped file, a ZeroMQ
 * message) from bytes to durably stored records: translate it through
 * the mapping tables (xlate), then hand every record to the core's intake
 * in one submission. Every transport goes through this one function, so
 * a file, a POST and a ZeroMQ message are judged alike and report their
 * problems in the same words as `eportctl map`:
 *
 *   NAME:LINE:COL: error: MESSAGE
 *
 * Threads: one ingest per thread (it holds an intake and a scratch
 * arena); the map_set is shared read-only. */
#ifndef EPORT_INGEST_H
#define EPORT_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "err.h"
#include "intake.h"
#include "map.h"
#include "msgid.h"

#define INGEST_MAX_RECORDS 256 /* one submission (STORE_LOCAL_BATCH) */

typedef struct ingest ingest;

/* maps is borrowed (the runtime's, shared by every thread); c too. */
int ingest_open(const cfg *c, const map_set *maps, ingest **out, err_t *e);
void ingest_close(ingest *g);
intake *ingest_intake(ingest *g);

typedef struct ingest_req {
    const char *conn;        /* connector name */
    const cfg_client *cl;    /* who sends (authenticated by the caller) */
    const char *name;        /* input name for messages (file name,
                                "body") */
    const char *data;
    size_t len;
    const char *map;         /* mapping to force (?map=, the connector's
                                `mapping`); NULL: chosen by content */
    const char *idem;        /* idempotency key, or NULL (intake.h) */
    int64_t t0_ms;           /* arrival time (0: now) */
} ingest_req;

typedef struct ingest_res {
    size_t n;                             /* records stored */
    char ids[INGEST_MAX_RECORDS][MSGID_LEN + 1];
    int dup[INGEST_MAX_RECORDS];
    char kinds[INGEST_MAX_RECORDS][16];   /* each record's kind */
    buf_t problems;          /* the error lines, one per line (caller
                                inits with a cap and frees) */
    int64_t retry_after_s;   /* with ERR_AGAIN */
} ingest_res;

/* 0: every record stored (ids, dup, kinds). Else nothing is stored and:
 * ERR_SYNTAX nothing could be read (HTTP 400), ERR_INVALID the input was
 * read but had problems or no record (422; problems holds the lines),
 * ERR_NOMAP unknown mapping name (422), ERR_TOOBIG over
 * INGEST_MAX_RECORDS records (413), ERR_DENIED (403), ERR_AGAIN (503),
 * ERR_IO the store failed (503). e->msg is always one line saying where
 * and why. */
int ingest_run(ingest *g, const ingest_req *q, ingest_res *r, err_t *e);

/* The first half of ingest_run, for a caller that hands the records to
 * intake itself (the HTTP API commits the submissions of many requests
 * in one intake call): translate and judge q with ingest_run's refusals
 * before intake (ERR_SYNTAX, ERR_INVALID, ERR_NOMAP, ERR_TOOBIG; counted
 * and worded alike), copying the records into a, which the caller owns
 * and keeps as long as it needs them: recs[0..*n), recs holding
 * INGEST_MAX_RECORDS. */
int ingest_translate(ingest *g, const ingest_req *q, arena_t *a,
                     model_record **recs, size_t *n, ingest_res *r,
                     err_t *e);

#endif
