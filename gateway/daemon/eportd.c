/* eportd: a gateway node. `eportd --config conf/NODE.yaml` runs it in the
 * foreground (systemd, the demo launcher and the tests supervise it);
 * SIGTERM or SIGINT drain and stop it, SIGHUP reloads peers, routes and
 * the CRL and reopens the log file. Exit codes follow sysexits. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "node.h"

#define EX_OK 0
#define EX_USAGE 64
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE 70
#define EX_CONFIG 78

static node *eportd_node;

static void eportd_on_signal(int sig)
{
    if (!eportd_node)
        return;
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
          "routes and the CRL. Configuration keys: docs/operations.md.\n", to);
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

static int eportd_serve(cfg *c)
{
    err_t e;
    if (log_open(c->log.file, (log_level)c->log.level, c->node.id, &e) < 0) {
        fprintf(stderr, "eportd: %s\n", e.msg);
        cfg_free(c);
        return EX_CONFIG;
    }
    node *n = NULL;
    if (node_open(c, 0, &n, &e) < 0) {
        log_event(LOG_ERROR, "start_failed", "msg=%s", log_q(e.msg));
        fprintf(stderr, "eportd: %s\n", e.msg);
        return e.code == ERR_IO ? EX_UNAVAILABLE : EX_CONFIG;
    }
    eportd_node = n;
    int rc = node_run(n, &e);
    eportd_node = NULL;
    if (rc < 0)
        log_event(LOG_ERROR, "failed", "msg=%s", log_q(e.msg));
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
