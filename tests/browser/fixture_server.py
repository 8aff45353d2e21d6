#!/usr/bin/env python3
"""A stand-in for the national center's HTTP side, for developing the
dashboard and for the browser test's fast self-test: serves gateway/web/
at / and canned JSON following the national center API (the contract the
dashboard reads) at /v1/...: five nodes (CQ SC SN SH and NC), every link
up but CQ<->SC (down, with messages waiting) and SN->SH (queued), three
movements (one with a step whose signature fails, one on hold and
spelled as a node's own API does, docs/api.yaml), one active alert and
one cleared. Times move with the clock and the rates wobble, so polling
shows live changes.

    tests/browser/fixture_server.py [--port N] [--host H] [--verbose]

prints `fixture: serving http://H:N/` once it listens (port 0 or none: a
free one). POST /_fixture/down?on=1 makes every /v1 answer 503 (the
"center unreachable" case), ?on=0 brings it back. Standard library only.
"""
import argparse
import json
import math
import os
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

WEB = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "..", "gateway", "web"))
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def mvref(yy, region, seq):
    """A movement reference with its ISO/IEC 7064 MOD 37,36 check
    character (docs/clearance.md)."""
    n, digits = seq, ""
    while n:
        n, d = divmod(n, 36)
        digits = ALPHABET[d] + digits
    body = "%02d%s%s" % (yy, region, digits.rjust(13, "0"))
    p = 36
    for c in body:
        s = (p + ALPHABET.index(c)) % 36 or 36
        p = (2 * s) % 37
    return body + ALPHABET[(37 - p) % 36]


assert mvref(26, "CQ", 1) == "26CQ00000000000016"

REF_SN = mvref(26, "SN", 7)
REF_CQ = mvref(26, "CQ", 12)
REF_SC = mvref(26, "SC", 3)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


class Canned:
    """The federation as the national center would report it, anchored
    at the time the fixture started."""

    def __init__(self):
        self.t0 = time.time()
        self.down = False

    def federation(self):
        now = time.time()
        w = math.sin((now - self.t0) / 5.0)

        def node(nid, role, up, age, await_, dlq, rin, rout, cin, cout, refused=0, sig=0):
            return {"id": nid, "region": "CN" if nid == "NC" else nid, "role": role,
                    "up": up, "last_seen": iso(now - age), "age_s": age,
                    "queues": {"local": 0, "await": await_, "dlq": dlq},
                    "rates": {"in_per_s": round(rin * (1 + 0.3 * w), 2),
                              "out_per_s": round(rout * (1 - 0.2 * w), 2)},
                    "counters": {"in": cin, "out": cout, "refused": refused,
                                 "sig_failures": sig}}

        nodes = [
            node("CQ", "provincial", True, 0.4, 5, 0, 12.5, 3.0, 1234, 99),
            node("SC", "provincial", True, 0.9, 0, 1, 4.2, 2.1, 310, 58, refused=1, sig=1),
            node("SN", "provincial", True, 0.3, 3, 0, 8.8, 9.6, 802, 415),
            node("SH", "provincial", True, 0.6, 0, 0, 10.1, 2.4, 990, 140),
            node("NC", "national", True, 0.0, 0, 0, 35.6, 0.0, 3336, 0),
        ]
        pairs = [("CQ", "SC"), ("CQ", "SN"), ("CQ", "SH"), ("SN", "SH"), ("SC", "SN"),
                 ("CQ", "NC"), ("SC", "NC"), ("SN", "NC"), ("SH", "NC")]
        links = []
        for a, b in pairs:
            for f, t in ((a, b), (b, a)):
                link = {"from": f, "to": t, "up": True, "outbox": 0,
                        "last_ack_age_s": 0.4}
                if {f, t} == {"CQ", "SC"}:
                    link.update(up=False, outbox=5 if f == "CQ" else 2,
                                last_ack_age_s=round(now - self.t0 + 42, 1))
                if (f, t) == ("SN", "SH"):
                    link.update(outbox=3, last_ack_age_s=2.8)
                links.append(link)
        return {
            "node": "NC", "at": iso(now), "nodes": nodes, "links": links,
            "movements": {"total": 3,
                          "by_phase": {"declared": 0, "released": 2, "arrived": 0,
                                       "controlled": 0, "written_off": 1},
                          "by_region": {"SN": {"written_off": 1},
                                        "CQ": {"released": 1},
                                        "SC": {"released": 1}}},
            "clearance": {"declared_to_released_ms": {"n": 3, "p50": 120, "p90": 310, "p99": 812},
                          "released_to_arrived_ms": {"n": 1, "p50": 5400, "p90": 5400, "p99": 5400}},
            "counts": {"discrepancies": 1, "conflicts": 1, "enquiries": 0, "dead_letters": 1},
        }

    def alerts(self, active_only=False):
        t = self.t0
        alerts = [
            {"id": "link_stalled:CQ>SC", "rule": "link_stalled", "severity": "critical",
             "subject": "CQ>SC", "message": "link CQ>SC down for 42 s, 5 messages waiting (limit 30 s)",
             "since": iso(t - 12), "active": True, "cleared": None},
            {"id": "node_down:SH", "rule": "node_down", "severity": "critical",
             "subject": "SH", "message": "node SH silent for 16 s (limit 15 s)",
             "since": iso(t - 600), "active": False, "cleared": iso(t - 560)},
        ]
        if active_only:
            alerts = [a for a in alerts if a["active"]]
        return {"alerts": alerts}

    def _movements(self):
        t = self.t0
        sn_steps = [
            ("declared", "SN", -1200.0, "itin=SN>SH docs=rail_waybill:XA24030602,bill_of_lading:COSU6231458790 ctrs=TBJU3189779[SN445566] pkgs=40"),
            ("risk", "SN", -1199.2, "res=cleared"),
            ("released", "SN", -1198.9, "itin=SN>SH ctrs=TBJU3189779[SN445566] pkgs=40 guar=GUA-1 limit=2026-11-25T10:00:00.000Z"),
            ("status", "SH", -1150.0, "res=gate_in place=CNSHA"),
            ("arrived", "SH", -1100.4, "ctrs=TBJU3189779[SN445566] pkgs=40"),
            ("controlled", "SH", -1099.8, "res=ok"),
            ("written_off", "SN", -1099.1, "itin=SN>SH ctrs=TBJU3189779[SN445566]"),
        ]
        cq_steps = [
            ("declared", "CQ", -300.0, "itin=CQ>SH docs=waterway_waybill:CQW2403110 ctrs=MSCU1234565[CQ778899] pkgs=120"),
            ("released", "CQ", -299.7, "itin=CQ>SH ctrs=MSCU1234565[CQ778899] pkgs=120 guar=GUA-77"),
            ("discrepancy", "SH", -150.3, "res=seal note=seal CQ778899 broken"),
        ]
        sc_steps = [
            ("declared", "SC", -90.0, "itin=SC>CQ>SH docs=rail_waybill:CD24031501 ctrs=TGHU6653010[SC100200]"),
            ("released", "SC", -89.6, "itin=SC>CQ>SH ctrs=TGHU6653010[SC100200] guar=GUA-9"),
            ("passage", "CQ", -40.2, "ctrs=TGHU6653010[SC100200] place=CNCKG"),
        ]

        def steps(ref, lst, bad=None):
            out = []
            for i, (typ, by, dt, details) in enumerate(lst, 1):
                ok = i != bad
                out.append({"n": i, "id": "01J%s%04d" % (ref[2:8], i), "signer": by,
                            "type": typ, "by": by, "at": iso(t + dt), "details": details,
                            "verified": ok,
                            "verify": "ok" if ok else "signature does not verify (signer %s)" % by})
            return out

        return [
            {"ref": REF_SC, "kind": "rail_transit", "phase": "released", "itin": ["SC", "CQ", "SH"],
             "declared": iso(t - 90), "updated": iso(t - 40.2), "containers": ["TGHU6653010"],
             "docs": ["rail_waybill:CD24031501"],
             "steps": steps(REF_SC, sc_steps, bad=3),
             "refusals": [{"id": "01JSC0000099", "message": "passage by SN: SN is not on the itinerary"}],
             "verify": "1 check failed: entry 3: signature does not verify"},
            # spelled as a node's own API does (docs/api.yaml): the
            # dashboard reads both
            {"ref": REF_CQ, "state": {"kind": "water_transship", "phase": "released",
                                      "itinerary": ["CQ", "SH"], "declared": iso(t - 300),
                                      "released": iso(t - 299.7), "held": "SH",
                                      "hold_why": "seal: seal CQ778899 broken",
                                      "containers": [{"number": "MSCU1234565", "seals": ["CQ778899"]}],
                                      "documents": [{"type": "waterway_waybill", "number": "CQW2403110"}]},
             "steps": steps(REF_CQ, cq_steps), "refusals": [], "verify": "ok"},
            {"ref": REF_SN, "kind": "rail_sea_export", "phase": "written_off", "itin": ["SN", "SH"],
             "declared": iso(t - 1200), "updated": iso(t - 1099.1), "containers": ["TBJU3189779"],
             "docs": ["rail_waybill:XA24030602", "bill_of_lading:COSU6231458790"],
             "steps": steps(REF_SN, sn_steps), "refusals": [], "verify": "ok"},
        ]

    def movements(self, phase=None, region=None, limit=None):
        out = []
        for m in self._movements():
            st = m.get("state", m)
            if phase and st["phase"] != phase:
                continue
            if region and region not in st.get("itin", st.get("itinerary")):
                continue
            if "state" in m:
                out.append({"ref": m["ref"], "phase": st["phase"], "kind": st["kind"],
                            "itinerary": st["itinerary"], "declared": st["declared"],
                            "events": len(m["steps"]), "held": st["held"]})
            else:
                out.append({k: m[k] for k in ("ref", "kind", "phase", "itin", "declared",
                                              "updated", "containers", "docs")})
        return {"movements": out[:limit] if limit else out}

    def movement(self, ref):
        for m in self._movements():
            if m["ref"] == ref:
                return {k: m[k] for k in ("ref", "phase", "kind", "itin", "state", "steps",
                                          "refusals", "verify") if k in m}
        return None


class Handler(SimpleHTTPRequestHandler):
    canned = None
    verbose = False

    def __init__(self, *a, **kw):
        super().__init__(*a, directory=WEB, **kw)

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("fixture: " + (fmt % args) + "\n")

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def _json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlsplit(self.path)
        if not u.path.startswith("/v1/"):
            return super().do_GET()
        c, q = self.canned, parse_qs(u.query)
        if c.down:
            return self._json(503, {"error": "fixture: center down"})
        one = lambda k: (q.get(k) or [None])[0]  # noqa: E731
        if u.path == "/v1/federation":
            return self._json(200, c.federation())
        if u.path == "/v1/alerts":
            return self._json(200, c.alerts(one("active") == "1"))
        if u.path == "/v1/movements":
            limit = one("limit")
            return self._json(200, c.movements(one("phase"), one("region"),
                                               int(limit) if limit and limit.isdigit() else None))
        if u.path.startswith("/v1/movements/"):
            ref = unquote(u.path[len("/v1/movements/"):])
            m = c.movement(ref)
            if m is None:
                return self._json(404, {"error": "movement %s: not known at this node" % ref})
            return self._json(200, m)
        return self._json(404, {"error": "no such endpoint"})

    def do_POST(self):
        u = urlsplit(self.path)
        if u.path != "/_fixture/down":
            return self._json(404, {"error": "no such endpoint"})
        on = (parse_qs(u.query).get("on") or ["1"])[0]
        self.canned.down = on not in ("0", "false", "")
        return self._json(200, {"down": self.canned.down})


def make_server(port=0, host="127.0.0.1", verbose=False):
    """A listening server (not yet serving); .canned is its state."""
    handler = type("FixtureHandler", (Handler,), {"canned": Canned(), "verbose": verbose})
    srv = ThreadingHTTPServer((host, port), handler)
    srv.daemon_threads = True
    srv.canned = handler.canned
    return srv


def start(port=0, host="127.0.0.1", verbose=False):
    """Serve in a background thread; returns (server, base URL)."""
    srv = make_server(port, host, verbose)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, "http://%s:%d/" % (host, srv.server_address[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    srv = make_server(a.port, a.host, a.verbose)
    print("fixture: serving http://%s:%d/" % (a.host, srv.server_address[1]), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    srv.server_close()


if __name__ == "__main__":
    main()
