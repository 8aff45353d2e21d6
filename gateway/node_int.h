/* node_int.h: the node's parts, shared by node*.c only. */
#ifndef EPORT_NODE_INT_H
#define EPORT_NODE_INT_H

#include <signal.h>
#include <stdint.h>

#include "arena.h"
#include "batchsig.h"
#include "buf.h"
#include "dir.h"
#include "envelope.h"
#include "fed.h"
#include "lframe.h"
#include "link.h"
#include "node.h"
#include "pki.h"
#include "store.h"

#define NODE_IN_BATCH 256          /* inbound frames handled per round */
#define NODE_WIN_BYTES (64u << 20) /* frames in flight to one peer, bytes */
#define NODE_AWAIT_TICK_MS 100
#define NODE_STATUS_TICK_MS 1000
#define NODE_DRAIN_MS 2000         /* SIGTERM: time left for acks */
#define NODE_STALL_MS 5000         /* frames in flight, link up, no ack:
                                      this long, and the next endpoint of
                                      the peer is tried (node_out.c) */
#define NODE_BATCH_ROOTS 4096      /* verified batch roots remembered */
#define NODE_ONCE_TTL_MS (7LL * 86400000) /* node_submit_as: an id is
                                             refused again this long */

/* One outbox entry read and (maybe) sent, kept until acknowledged. */
typedef struct node_win {
    lpos pos;
    unsigned char *frame; /* malloc'd copy, freed when acked or dropped */
    size_t n;
} node_win;

/* A configured peer: the outbound link to it and what we know of the
 * inbound link from it. */
typedef struct node_peer {
    char id[ENV_NODE_MAX + 1];
    int link;                  /* DEALER index, -1 offline */
    int up;
    /* outbound: win[0..nsent) on the wire, win[nsent..count) read only */
    node_win *win;
    size_t count, nsent, cap, bytes;
    lpos read_upto;            /* last position read from the outbox */
    lpos safe;                 /* read frames up to here are on the
                                  replicas (redis.wait_replicas) */
    lpos prev;                 /* what the next frame sent follows */
    lpos acked;                /* the receiver's last, as last acked */
    lpos gap_at;               /* rewound for a gap at this last */
    int64_t rto_ms, progress_ms, last_ack_ms, last_receipt_ms;
    int64_t stall_from;        /* the last ack, or the link coming up */
    uint64_t sent, resent, acks;
    /* inbound */
    lpos in_last;              /* last position accepted from it */
    lpos in_chain;             /* what the next frame must follow */
    int in_known;              /* in_last read from Redis */
    uint64_t in_reread;        /* node_in_drain round in_last was last
                                  read again for a frame that did not fit */
} node_peer;

struct node {
    cfg *cfg;
    unsigned flags;
    pki_store *pki;
    pki_key *key;
    dir *dir;
    struct map_set *maps; /* mapping tables (connectors); NULL offline */
    struct fanout_rules *fan; /* fan-out rules (node_fanout.h), or NULL */
    batchsig_cache *bcache; /* batch roots verified (cleared on reload) */
    store *st;
    store *st_in;   /* inbound link runs, collected a turn later (so st
                       stays free meanwhile); NULL offline */
    link_t *link;
    store_wake *wake; /* doorbell from eportctl send; NULL: poll only */
    node_peer *peers;
    size_t npeers;
    arena_t arena;  /* one inbound batch */
    arena_t in_park; /* the batch in flight, while Redis applies it */
    struct in_batch *in_flight; /* in in_park; NULL when none */
    struct node_lg *lg; /* the movement ledger (node_ledger.c); NULL
                           until eportd's loop first runs it */
    struct node_lc *lc; /* local records' dispatch (node_local.c); NULL
                           until first run */
    struct node_pm *pm; /* permits (node_permit.c); NULL until first run */
    struct node_cb *cb; /* cross-border e-commerce (node_cbec.c); NULL
                           until first run */
    int pm_wake;        /* permit envelopes were just delivered: look now */
    int pm_busy;        /* the last permit batch was full: poll, don't wait */
    struct node_ha *ha; /* jobs this instance owns (node_ha.c) */
    struct node_nf *nf; /* notifications for local systems
                           (node_notify.c); NULL until first needed */
    node_reload_fn on_reload; /* node_on_reload's hook, or NULL */
    void *on_reload_ctx;
    buf_t sbuf;     /* signed bytes */
    buf_t ebuf;     /* encoded envelopes */
    volatile sig_atomic_t stop, reload;
    uint64_t in_round; /* node_in_drain rounds */
    int busy;       /* the last inbound round was full: poll, don't wait */
    int lg_busy;    /* the last ledger batch was full: the same */
    int lc_busy;    /* the last local dispatch batch was full: the same */
    int64_t next_await_ms, next_status_ms, next_replay_ms;
    uint64_t delivered, forwarded, refused, receipts;
    uint64_t sig_failures; /* frames refused for their signature or
                              certificate (node_deliver.c) */
    /* node_health.c: the health feed to the national center */
    int64_t next_health_ms;
    char health_id[MSGID_LEN + 1]; /* the last one sent, "" none */
    int64_t health_sent_ms;
    fed_nc fed;     /* role national: the federation's view (fed.h) */
};

int64_t node__now_ms(void);
node_peer *node__peer(node *n, const char *id);

/* Sign v (its signed bytes) with the node's key and encode it into
 * n->ebuf (reset first). */
int node__seal(node *n, env *v, err_t *e);

/* Seal k envelopes (one signature for all when the key signs batches)
 * and hand each encoded frame to emit in order (frame valid during the
 * call). */
typedef int (*node_emit_fn)(void *ctx, size_t i, const void *frame,
                            size_t len, err_t *e);
int node__seal_many(node *n, env **v, size_t k, node_emit_fn emit,
                    void *ctx, err_t *e);

/* A receipt envelope answering orig, encoded into n->ebuf. */
int node__receipt(node *n, const env *orig, env_status status,
                  const char *reason, err_t *e);

/* node_out.c: the outbound half of every peer link. */
void node_out_pump(node *n);
void node_out_acks(node *n);
void node_out_timers(node *n, int64_t now);
void node_out_reset(node_peer *p);
void node_out_free(node_peer *p);

/* node_in.c: inbound frames, a batch at a time; returns how many. The
 * batch stays in flight until the next drain or settle. */
int node_in_drain(node *n);
/* Collect and ack the batch in flight, if any (before a reload, a stop,
 * or reading a link position). */
void node_in_settle(node *n);

/* node_await.c: messages still waiting for receipts. */
void node_await_tick(node *n, int64_t now);

/* node_replay.c: dead letters queued again by `eportctl dlq replay`. */
void node_replay_tick(node *n, int64_t now);

/* node_ledger.c: the movement ledger in eportd's loop. drain applies
 * the next batch of v1:mvin (returns how many records it read: a full
 * batch means more are waiting); tick runs the claim gate, time limits
 * and automatic steps; close frees what drain made. */
#define NODE_LEDGER_TICK_MS 200
int node_ledger_drain(node *n, int64_t now);
void node_ledger_tick(node *n, int64_t now);
void node_ledger_close(node *n);
/* A receipt came home for message id of movement ref (from the link
 * script's round, in_after; the ledger also calls it when it applies a
 * declaration of this node, whose receipts may all be home already): the
 * gate looks at ref at its next turn instead of at its next scan. A hint
 * only: the gate reads the receipts from the store. */
void node_ledger_receipt(node *n, const char *ref, const char *id);

/* node_ha.c: the jobs of a node that one instance at a time does
 * (store_lease.h): the fixed ones, then peer i's outbox as job
 * NODE_JOB_FIXED + i. tick renews and takes leases (every third of
 * ha.claim_idle_ms) and updates the replication gauges; owns says whether
 * this instance may do job now; release gives everything back (a clean
 * stop); close frees. */
enum { NODE_JOB_LEDGER, NODE_JOB_AWAIT, NODE_JOB_REPLAY, NODE_JOB_HEALTH,
       NODE_JOB_FIXED };
void node_ha_tick(node *n, int64_t now);
int node_ha_owns(const node *n, int job);
void node_ha_release(node *n);
void node_ha_close(node *n);

/* node_status.c: the peers' status hash for `eportctl peers`, and the
 * gauges of metrics.h (queue depths, links up) and intake's backlog. */
void node_status_write(node *n);

/* node_local.c: records accepted from local systems (v1:local), a batch
 * per turn: forwarded to the connector's `forward` nodes, status records
 * attached to open movements, each exactly once across crashes; then
 * marked dispatched with their status. Returns how many it read (a full
 * batch: more are waiting). close frees what drain made. */
#define NODE_LOCAL_BATCH 256
int node_local_drain(node *n, int64_t now);
void node_local_close(node *n);

/* node_notify.c: the ledger applied (or, replaying after a crash, found
 * again) event r: records queued for each connector whose out_events
 * has its class (released, anticipated_arrival, discrepancy, arrived,
 * written_off), each once; and the event feed's `mv` line when applied.
 * Returns 0, or the store's error (logged): the ledger must not save its
 * position past r then, so that r is offered again. */
struct ledger_result;
int node_notify_event(node *n, const struct ledger_result *r);
/* A local message's status (message_status) for its connector's local
 * system, once per message. st: "dispatched", "forwarded"...; detail
 * may be NULL. Returns 0 or the store's error. */
int node_notify_status(node *n, const char *conn, const char *id,
                       const char *st, const char *detail, err_t *e);
/* Write the `mv` feed lines of the ledger batch just applied (the feed
 * tells; it is not the record: a line lost to a crash is not replayed). */
void node_notify_flush(node *n);
void node_notify_close(node *n);

/* node_health.c: every health.interval_ms, this node's health (links,
 * queues, counters) to the national center (ledger.national) as a signed
 * `health` message, one at a time (the next waits for the last one's
 * receipt, at most FED_FRESH_MS); at the national center itself, kept
 * directly, and the center's turn (fed_step). Nothing to free. */
void node_health_tick(node *n, int64_t now);

/* node_setup.c: PKI, directory, links and peers from n->cfg. */
int node_setup_pki(node *n, err_t *e);
int node_setup_maps(node *n, err_t *e);  /* keeps the old set on error */
int node_setup_peers(node *n, err_t *e); /* fresh peers, windows empty */
int node_setup_links(node *n, err_t *e);
void node_teardown_links(node *n);

#endif
