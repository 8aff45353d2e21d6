"""The national center: three provinces CQ, SN, SH and NC (every node a
peer of every other), each province sending NC its health every 300 ms.
Through NC's HTTP API: GET /v1/federation shows every node up with its
links, GET / and the dashboard's files come with their content types and
no path leaves the web directory; SN killed -9 raises the node_down alert
within the rule's after_s (3 s here), GET /v1/federation shows SN down;
SN started again clears the alert, which GET /v1/alerts then lists as
cleared. One federation serves all of them, in this order."""
import http.client
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedlib import ROOT, Fed, check, port_open, wait_for  # noqa: E402
from fedrun import Group, main  # noqa: E402

NODES = ("CQ", "SN", "SH", "NC")
TOPO = {nid: (("CN" if nid == "NC" else nid), [p for p in NODES if p != nid], {})
        for nid in NODES}
AFTER_S = 3          # node_down's after_s in the test's rule file
SLACK_S = 3.0        # the evaluation's period (1 s), polling, a busy machine

RULES = f"""rules:
  - name: node_down
    after_s: {AFTER_S}
    severity: critical
  - name: link_stalled
    after_s: 60
  - name: signature_failures
    after_s: 60
"""


def make():
    return Fed(TOPO, ledger={"national": "NC"})


def start(fed):
    rules = os.path.join(fed.dir, "alerts.yaml")
    with open(rules, "w") as f:
        f.write(RULES)
    for nid in NODES:
        extra = ["health:", "  interval_ms: 300", "  down_after_ms: 2000"]
        if nid == "NC":
            extra += ["api:", "  public_reads: true",
                      f"  web_dir: {ROOT}/gateway/web",
                      "alerts:", f"  rules: {rules}"]
        with open(fed[nid].conf, "a") as f:
            f.write("\n".join(extra) + "\n")
    fed.start_all()
    nc = fed["NC"]
    wait_for(lambda: port_open(nc.http), 15, f"NC's HTTP API on {nc.http}")


def get(fed, path, raw=False):
    """GET path on NC: (status, content type, body: JSON unless raw)."""
    c = http.client.HTTPConnection("127.0.0.1", fed["NC"].http, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        ctype = r.getheader("Content-Type") or ""
    finally:
        c.close()
    if raw:
        return r.status, ctype, body
    check(ctype.startswith("application/json"),
          f"GET {path}: {r.status} {ctype}: {body[:200]!r}")
    return r.status, ctype, json.loads(body)


def federation(fed):
    st, _, body = get(fed, "/v1/federation")
    check(st == 200, f"GET /v1/federation: {st} {body}")
    return body


def up_nodes(fed):
    return {n["id"] for n in federation(fed)["nodes"] if n.get("up")}


def active_alerts(fed):
    st, _, body = get(fed, "/v1/alerts?active=1")
    check(st == 200, f"GET /v1/alerts?active=1: {st} {body}")
    return {a["id"]: a for a in body["alerts"]}


# ---- the tests ----------------------------------------------------------


def test_all_up(fed):
    """Every node's health reaches NC: all four up, with their links."""
    wait_for(lambda: up_nodes(fed) >= set(NODES), 20,
             "NC to see CQ, SN, SH and itself up")
    body = federation(fed)
    check(body["node"] == "NC", f"node {body['node']}")
    links = {(l["from"], l["to"]): l for l in body["links"]}
    for a in NODES:
        for b in NODES:
            if a != b:
                check((a, b) in links, f"no link {a} -> {b} in {sorted(links)}")
    wait_for(lambda: all(l["up"] for l in federation(fed)["links"]), 10,
             "every link up")
    cq = next(n for n in federation(fed)["nodes"] if n["id"] == "CQ")
    for k in ("queues", "counters", "rates", "last_seen"):
        check(k in cq, f"CQ's entry lacks {k}: {cq}")
    check(cq["counters"]["sig_failures"] == 0, f"CQ counters {cq['counters']}")
    for k in ("movements", "clearance", "counts"):
        check(k in body, f"/v1/federation lacks {k}")
    # a node slow to start may have been judged silent for a moment
    wait_for(lambda: not active_alerts(fed), 5, "no alert while all is well")
    # health ids are remembered for an hour, not a week (docs/protocol.md)
    script = ("local t = {} for _, k in ipairs(redis.call('KEYS', ARGV[1])) do"
              " t[#t + 1] = redis.call('PTTL', k) end return t")
    ttls = fed["NC"].redis.cmd("EVAL", script, 0, "eport:NC:v1:seen:*")
    check(ttls, "NC remembers no message id")
    check(max(ttls) <= 3600 * 1000, f"a seen entry at NC lives {max(ttls)} ms")


def test_dashboard_files(fed):
    """GET / is the dashboard, its files come with their types, nothing
    outside the web directory can be named."""
    for path, want in (("/", "text/html"), ("/app.js", "text/javascript"),
                       ("/style.css", "text/css")):
        st, ctype, body = get(fed, path, raw=True)
        check(st == 200 and ctype.startswith(want), f"GET {path}: {st} {ctype}")
        check(len(body) > 100, f"GET {path}: {len(body)} bytes")
    for path in ("/..%2fconf%2fnc.yaml", "/../conf/nc.yaml", "/.hidden.js",
                 "/missing.html", "/nc.yaml"):
        st, _, _ = get(fed, path, raw=True)
        check(st == 404, f"GET {path}: {st}, not 404")


def test_node_down_raised(fed):
    """SN killed -9: node_down:SN within after_s (plus the evaluation's
    period), SN shown down, the others still up."""
    fed["SN"].kill()
    t0 = time.monotonic()
    wait_for(lambda: "node_down:SN" in active_alerts(fed), AFTER_S + 10,
             "the node_down:SN alert", interval=0.2)
    took = time.monotonic() - t0
    check(took <= AFTER_S + SLACK_S, f"node_down:SN after {took:.1f}s, "
          f"the rule says {AFTER_S}s")
    a = active_alerts(fed)["node_down:SN"]
    check(a["rule"] == "node_down" and a["severity"] == "critical" and
          a["subject"] == "SN" and a["active"] is True, f"alert {a}")
    check("SN" not in up_nodes(fed), "SN still shown up")
    check(up_nodes(fed) >= {"CQ", "SH", "NC"}, f"up: {up_nodes(fed)}")
    check(set(active_alerts(fed)) == {"node_down:SN"},
          f"other alerts: {sorted(active_alerts(fed))}")


def test_node_down_cleared(fed):
    """SN started again: the alert clears and is listed as cleared."""
    fed["SN"].start()
    wait_for(lambda: "node_down:SN" not in active_alerts(fed), 20,
             "node_down:SN to clear", interval=0.2)
    check("SN" in up_nodes(fed), "SN not shown up again")
    st, _, body = get(fed, "/v1/alerts")
    cleared = [a for a in body["alerts"] if a["id"] == "node_down:SN"]
    check(cleared and cleared[0]["active"] is False and cleared[0]["cleared"],
          f"node_down:SN in GET /v1/alerts: {cleared}")


if __name__ == "__main__":
    sys.exit(main([Group(make, start, [test_all_up, test_dashboard_files,
                                       test_node_down_raised,
                                       test_node_down_cleared])]))
