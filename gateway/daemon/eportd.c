/* eportd: a gateway node. `eportd --config conf/NODE.yaml` runs it in the
 * foreground (systemd, the demo launcher and the tests supervise it):
 * the node's loop in the main thread, its connectors (the HTTP API, file
 * drops, ZeroMQ ingress, outbound deliveries: connectors/conn.h) in
 * threads beside it. SIGTERM or SIGINT drain and stop it; SIGHUP reloads
 * peers, routes and the CRL, reopens the log file and restarts the
 * connectors with the new configuration. Exit codes follow sysexits. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "log.h"
#include "metrics.h"
#include "node.h"

#define EX_OK 0
#define EX_USAGE 64
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE 70
#define EX_CONFIG 78

static node *eportd_node;
/* SIGTERM or SIGINT before the loop runs (the node's port is open while
 * the connectors still start): kept, so the node stops as soon as it
 * runs instead of never. Connector threads block every signal, so this
 * runs on the main thread. */
static volatile sig_atomic_t eportd_stop_early;

static void eportd_on_signal(int sig)
{
    if (!eportd_node) {
        if (sig != SIGHUP)
            eportd_stop_early = 1;
        return;
    }
    if (sig == SIGHUP)
        node_reload(eportd_node);
    else
        node_stop(eportd_node);
}

static void eportd_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = eportd_on_signal; /* no SA_RESTART: wake zmq_poll */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int eportd_usage(FILE *to, int code)
{
    fputs("usage: eportd --config FILE\n"
          "Runs one gateway node of the e-port federation in the foreground.\n"
          "Signals: TERM/INT stop after a short drain, HUP reloads peers,\n"
          "routes, the CRL and the connectors. Configuration keys:\n"
          "docs/operations.md; connectors: docs/connectors.md.\n", to);
    return code;
}

static int eportd_load(const char *path, cfg **out)
{
    err_t e;
    if (cfg_load(path, out, &e) == 0)
        return EX_OK;
    if (*out)
        fputs(cfg_problems(*out), stderr);
    else
        fprintf(stderr, "eportd: %s\n", e.msg);
    cfg_free(*out);
    return EX_CONFIG;
}

static int eportd_failed(const err_t *e)
{
    log_event(LOG_ERROR, "start_failed", "msg=%s", log_q(e->msg));
    fprintf(stderr, "eportd: %s\n", e->msg);
    log_close();
    return e->code == ERR_IO ? EX_UNAVAILABLE : EX_CONFIG;
}

/* SIGHUP, from the node's loop once the new cfg is in place: the
 * connectors borrow the cfg, so the old runtime stops before the old cfg
 * goes, and a new one starts on the new cfg. A new one that cannot start
 * leaves the node without connectors until the next reload (logged). */
static void eportd_reload(void *ctx, const cfg *old, const cfg *nw)
{
    conn_rt **rt = ctx;
    err_t e;
    (void)old;
    if (*rt)
        conn_stop(*rt);
    *rt = NULL;
    if (conn_start(nw, rt, &e) < 0) {
        *rt = NULL;
        log_event(LOG_ERROR, "connectors_failed", "msg=%s", log_q(e.msg));
    } else {
        log_event(LOG_INFO, "connectors_restarted", "connectors=%zu",
                  nw->nconnectors);
    }
}

static int eportd_serve(cfg *c)
{
    err_t e;
    if (log_open(c->log.file, (log_level)c->log.level, c->node.id, &e) < 0) {
        fprintf(stderr, "eportd: %s\n", e.msg);
        cfg_free(c);
        return EX_CONFIG;
    }
    node *n = NULL;
    conn_rt *rt = NULL;
    if (met_init(c->node.id, &e) < 0) {
        cfg_free(c);
        return eportd_failed(&e);
    }
    if (node_open(c, 0, &n, &e) < 0)
        return eportd_failed(&e);
    if (conn_start(node_cfg(n), &rt, &e) < 0) {
        node_close(n);
        return eportd_failed(&e);
    }
    node_on_reload(n, eportd_reload, &rt);
    eportd_node = n;
    if (eportd_stop_early)
        node_stop(n);
    int rc = node_run(n, &e);
    eportd_node = NULL;
    if (rc < 0)
        log_event(LOG_ERROR, "failed", "msg=%s", log_q(e.msg));
    if (rt)
        conn_stop(rt);
    node_close(n);
    log_close();
    return rc < 0 ? EX_SOFTWARE : EX_OK;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            path = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return eportd_usage(stdout, EX_OK);
        else
            return eportd_usage(stderr, EX_USAGE);
    }
    if (!path)
        return eportd_usage(stderr, EX_USAGE);
    cfg *c = NULL;
    int rc = eportd_load(path, &c);
    if (rc != EX_OK)
        return rc;
    eportd_signals();
    return eportd_serve(c);
}
