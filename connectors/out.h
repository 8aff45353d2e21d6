/* out: the outbound worker of one connector (docs/connectors.md,
 * "Outbound"). What the node has for a local system waits in Redis
 * (v1:lout:<conn>, store_local.h); the worker takes it in order, turns
 * each canonical record into the system's own format (the reverse
 * mapping `out_mapping` and the codec writer of its format, or canonical
 * JSON when the connector names none) and hands it to the transport
 * (conn_out_ops: out_dir.c, out_webhook.c, out_zmq.c).
 *
 * Delivery is in order and at least once: an entry is marked delivered
 * (store_lout_done) only after the transport took it, and a failure
 * retries the SAME entry after a backoff (200 ms doubling to 30 s), so a
 * system that is down for hours gets everything, in order, when it comes
 * back. The one exception: a record the reverse mapping cannot write goes
 * to the dead letters (reason `unmappable`) and is passed, so one bad
 * record cannot block the queue forever.
 *
 * Threads: a worker belongs to one thread (its own Redis connection,
 * opened lazily so a Redis that is down at start is retried, not fatal).
 * Ownership: cfg, connector, map_set and ops are borrowed and must outlive
 * the worker. */
#ifndef EPORT_OUT_H
#define EPORT_OUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "store.h"

#define OUT_BATCH 64               /* entries read per round */
#define OUT_BACKOFF_MIN_MS 200     /* first delay after a failure */
#define OUT_BACKOFF_MAX_MS 30000   /* the delay doubles up to this */
#define OUT_IDLE_MS 50             /* poll interval when nothing waits */
#define OUT_MAX_BYTES (64u << 20)  /* one translated entry */
#define OUT_NAME_MAX 128

typedef struct out_worker out_worker;

/* Opens the transport (ops->open) and resolves cc->out_mapping in maps.
 * stop is the runtime's flag, read by out_run. */
int out_open(const cfg *c, const cfg_connector *cc, const map_set *maps,
             const conn_out_ops *ops, atomic_int *stop, out_worker **out,
             err_t *e);
void out_close(out_worker *w);

/* One round: what waits (up to OUT_BATCH entries) translated and sent in
 * order. Returns how many entries passed (delivered or dead-lettered), 0
 * when none waits, or a negative ERR_* when one failed (the entries
 * before it are marked delivered; it is retried next round). */
int out_step(out_worker *w, err_t *e);
/* The thread body: out_step until *stop, idling and backing off. */
void out_run(out_worker *w);

/* An entry's name, "<ms>-<seq>-<event>.<ext>" with ms 13 and seq 6
 * digits wide, so names sort in delivery order. */
void out_name(store_pos pos, const char *ev, const char *ext, char *buf,
              size_t n);
/* The parts of such a name; 0, or ERR_SYNTAX. ev gets the event, ext
 * points into name. */
int out_name_parse(const char *name, store_pos *pos, char *ev, size_t evn,
                   const char **ext);
/* The MIME type of an extension (edi, xml, json, csv, txt). */
const char *out_content_type(const char *ext);

#endif
