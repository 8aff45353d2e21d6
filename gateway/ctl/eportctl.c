/* eportctl: the operator's command line. Each command lives in its own
 * ctl_*.c; this file only dispatches and prints help. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

int ctl_permits(int argc, char **argv); /* ctl_permits.c */
int ctl_cbec(int argc, char **argv);    /* ctl_cbec.c */

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} ctl__cmds[] = {
    {"map", ctl_map, "translate local-format files to canonical JSON "
                     "(or back with --reverse)"},
    {"new-mapping", ctl_new_mapping, "write a starting mapping table "
     "from a sample message (--from SAMPLE)"},
    {"lint", ctl_lint, "check mapping tables and code lists"},
    {"send", ctl_send, "sign and queue messages from a node (--config)"},
    {"inbox", ctl_inbox, "records delivered to a node"},
    {"peers", ctl_peers, "a node's peer links: state, queues, lag"},
    {"dlq", ctl_dlq, "dead letters: list, show, replay, drop"},
    {"declare", ctl_declare, "open a movement at this (departure) node"},
    {"mv", ctl_mv, "record a movement event (release, pass, arrive...)"},
    {"attach", ctl_attach, "attach operators' status events (IFTSTA...) "
                           "to movements"},
    {"movements", ctl_movements, "movements known here, by phase/region"},
    {"trace", ctl_trace, "a movement's journey by reference, container "
                         "or document"},
    {"verify", ctl_verify, "re-check a movement's signed history"},
    {"alerts", ctl_alerts, "alerts (discrepancy, overdue, ...), newest "
                           "first"},
    {"permits", ctl_permits, "the permit ledger: list, show, verify, "
                             "reserve, history, issue, suspend..."},
    {"cbec", ctl_cbec, "a cross-border e-commerce parcel's order, payment, "
                       "waybill and inventory list: matched? (docs/cbec.md)"},
    {"submit", ctl_submit, "send a local-format file through a node's HTTP "
                           "API (prints the message ids)"},
    {"status", ctl_status, "what became of a submitted message, and its "
                           "receipts (HTTP)"},
    {"tail", ctl_tail, "follow a node's event stream (HTTP)"},
    {"key", ctl_key, "make an API key for a client, or hash one for the "
                     "config"},
    {"site", ctl_site, "a standby site's Redis: status, promote "
                       "(docs/ha.md)"},
};

#define CTL__N (sizeof ctl__cmds / sizeof ctl__cmds[0])

static void ctl__usage(FILE *f)
{
    fprintf(f, "usage: eportctl COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < CTL__N; i++)
        fprintf(f, "  %-9s %s\n", ctl__cmds[i].name, ctl__cmds[i].help);
    fputs("\nsubmit, status and tail talk to a node's HTTP API: --node URL, "
          "else $EPORT_NODE,\nelse node: in ~/.config/eport/config.yaml, "
          "else http://127.0.0.1:8101; API key\n--key KEY, else $EPORT_KEY, "
          "else key: in that file. --json prints JSON.\n"
          "\nexit status:\n"
          "  0  ok               1  verify found a bad history\n"
          "  3  the ledger refused (ownership, phase, conflict), a "
          "permit's home\n     refused the request, or site promote "
          "refused (not a replica, the\n     primary may be live)\n"
          " 64  usage           65  input had problems (HTTP 400, 413, 422)\n"
          " 66  input or message not found (HTTP 404)\n"
          " 69  Redis, eportd or its HTTP API not answering\n"
          " 70  internal error (HTTP 500)  74  output error\n"
          " 75  the node is busy: try later (HTTP 429, 503); a permit's "
          "home has not\n     answered yet (the request stays queued)\n"
          " 77  API key missing, unknown or not allowed (HTTP 401, 403)\n"
          " 78  mapping tables or configuration broken\n"
          "\n'eportctl COMMAND --help' for a command's options; "
          "man eportctl (docs/eportctl.1).\n", f);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        ctl__usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CTL_USAGE : CTL_OK;
    }
    for (size_t i = 0; i < CTL__N; i++)
        if (strcmp(argv[1], ctl__cmds[i].name) == 0)
            return ctl__cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "eportctl: error: unknown command '%s'\n", argv[1]);
    ctl__usage(stderr);
    return CTL_USAGE;
}
