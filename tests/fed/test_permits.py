"""Permits (docs/permits.md, issue #7) on one federation of three real
nodes, every one a peer of the others: CQ, the home of every permit here
(issued with `eportctl permits issue --canonical`), SC and SH, which ask
it. Requests go in as a local system or an operator sends them (the HTTP
API's POST /v1/permits/{id}/verify, `eportctl permits verify|confirm|
cancel`), are queued in the asking node's Redis, signed, sent to CQ,
applied in its ledger and answered with a signed envelope.

- draw-down: 1,000 one-unit reservations of a 500-unit licence at once,
  from SC, SH and CQ itself: exactly 500 ok, each leaving a different
  balance (499 down to 0), 500 refused `exhausted`; 0 left in every
  node's view.
- retry and replay: the same key again (from each region) draws once, other
  amounts under it are `key-reuse`; a captured request envelope replayed
  through the home's checks is a duplicate; handled again by the home's
  permit loop (as after a crash) it draws nothing.
- refusals: revoked, suspended, expired, not yet valid, exhausted,
  insufficient, unknown permit, unknown region, holder mismatch each with
  its own documented code.
- forged answers (tests/fed/pmforge): one signed by SH about a CQ permit
  is refused as forged, dead-lettered and alerted, and the request waits
  for CQ's genuine answer; one with a spoilt signature is dropped
  (bad-signature); all reasons distinct.
- a single-use certificate of origin reserved from SC and SH at the same
  moment: exactly one ok.
- the home killed (kill -9) in the middle of a stream of reservations and
  started again: the waiting requests are answered, none lost or doubled.
- confirm and cancel (the balance returns once), and a reservation's
  expiry (CQ restarted with permits.reserve_ttl_s 2): the balance returns
  once, a confirmed one does not expire."""
import datetime
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedlib import EPORTCTL, FEDPROBE, Fed, FedError, check, port_open, wait_for  # noqa: E402
from fedrun import Group, main  # noqa: E402
import connlib  # noqa: E402

PMFORGE = os.path.join(os.path.dirname(FEDPROBE), "pmforge")
NODES = ("CQ", "SC", "SH")
MESH = {n: (n, [p for p in NODES if p != n], {}) for n in NODES}
API_KEY = "test-permits-loader-4f1c9a27d3"
HOLDER = "91500000MA5U7QX45Q"
WAIT_MS = 30000  # permits.verify_wait_ms: a request waits out a restart


def configure(node):
    """node's configuration: the permits section, and the HTTP API with a
    client that may reserve for any party."""
    node.permits.setdefault("verify_wait_ms", WAIT_MS)
    node.write_config()
    connlib.configure(node, [{"name": "api", "type": "http"}],
                      [connlib.client("loader", "api", key=API_KEY)],
                      api={"threads": 6})


def make():
    return Fed(MESH)


def start(fed):
    for n in fed.nodes.values():
        configure(n)
    fed.start_all()
    for n in fed.nodes.values():
        wait_for(lambda: port_open(n.http), 15, f"{n.id}'s HTTP API")


# ---- permits and requests ---------------------------------------------------


def permit_file(fed, number, qty=None, usage="quantity", kind="automatic_import_licence",
                valid=(-1, 30)):
    """A canonical permit record, valid from/to today + valid days."""
    today = datetime.date.today()
    line = {"seq": 1, "hs_code": "847130", "description": "test goods",
            "unit": "PCE", "value": 1000, "currency": "USD"}
    if qty is not None:
        line["quantity"] = qty
    rec = {
        "kind": "permit",
        "document": {"type": "permit", "number": number},
        "permit": {"kind": kind, "usage": usage, "authority": "TEST-CQ",
                   "valid_from": str(today + datetime.timedelta(days=valid[0])),
                   "valid_to": str(today + datetime.timedelta(days=valid[1]))},
        "parties": [{"role": "holder", "name": "TEST IMPORT CO.", "id": HOLDER}],
        "goods": [line],
    }
    path = os.path.join(fed.dir, f"permit-{number}.json")
    with open(path, "w") as f:
        json.dump(rec, f)
    return path


def issue(fed, number, **kw):
    """Issues a permit at CQ, its home; its id."""
    out = fed["CQ"].ctl("permits", "issue", "--canonical",
                        permit_file(fed, number, **kw)).stdout
    check(out.strip() == f"permit=CQ-{number} new=yes",
          f"issue of {number} said {out.strip()!r}")
    return f"CQ-{number}"


def ask(node, verb, pid, *args, wait=WAIT_MS):
    """eportctl permits VERB PID ARGS --json at node: (exit code, the answer
    as a dict or None, stderr)."""
    r = node.ctl("permits", verb, pid, *args, "--wait", str(wait), "--json", ok=False)
    try:
        ans = json.loads(r.stdout) if r.stdout.strip() else None
    except ValueError:
        raise FedError(f"permits {verb} {pid} at {node.id}: not JSON: {r.stdout!r}") from None
    return r.returncode, ans, r.stderr


def answered(node, verb, pid, *args, want=None):
    """ask(), which must be answered (exit 0 or 3, matching want's code)."""
    rc, ans, err = ask(node, verb, pid, *args)
    check(rc in (0, 3) and ans and "code" in ans,
          f"permits {verb} {pid} {' '.join(args)} at {node.id}: exit {rc}: {err.strip()}")
    check((rc == 0) == (ans["code"] == "ok"),
          f"permits {verb} at {node.id}: exit {rc} with code {ans['code']}")
    if want:
        check(ans["code"] == want, f"permits {verb} {pid} {' '.join(args)} at {node.id}: "
              f"code {ans['code']} ({ans.get('text')}), not {want}")
    return ans


def reserve(node, pid, key, qty, want=None):
    return answered(node, "verify", pid, "--reserve", key, "--qty", str(qty), want=want)


def left(ans):
    """The quantity left for the permit as a whole in an answer."""
    got = [l["quantity"] for l in ans.get("left") or [] if l["line"] == 0]
    check(len(got) == 1, f"answer without a line-0 balance: {ans}")
    return got[0]


def ledger(fed, pid):
    """CQ's ledger view: (quantity balance of bucket 0 as a dict of strings,
    the whole view)."""
    r = fed["CQ"].ctl("permits", "show", pid, "--json")
    doc = json.loads(r.stdout)
    check(doc.get("source") == "ledger", f"show {pid} at CQ is not its ledger: {doc}")
    v = doc["view"]
    b0 = [b for b in v["balances"] if b["line"] == 0]
    check(len(b0) == 1, f"{pid}: no balance of the permit as a whole: {v['balances']}")
    return b0[0]["quantity"], v


def history(node, pid):
    """node's `permits history PID --json` entries: at CQ the ledger's,
    elsewhere its own requests and their answers."""
    r = node.ctl("permits", "history", pid, "--count", "10000", "--json")
    return json.loads(r.stdout)["entries"]


def pm_hist_len(fed, pid):
    return fed["CQ"].redis.cmd("XLEN", f"eport:CQ:v1:pm:{pid}:h")


def http_reserve(conn, pid, key, qty="1"):
    """POST /v1/permits/PID/verify reserving qty under key: (status, doc)."""
    body = json.dumps({"reserve": {"key": key, "lines": [{"quantity": qty}]}})
    conn.request("POST", f"/v1/permits/{pid}/verify", body=body,
                 headers={"Authorization": f"Bearer {API_KEY}",
                          "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    try:
        return r.status, json.loads(data)
    except ValueError:
        raise FedError(f"POST verify {pid}: {r.status} not JSON: {data[:200]!r}") from None


class Loader:
    """Threads sending reservations of one unit each over a node's HTTP API
    (one keep-alive connection a thread) or through eportctl processes;
    results[key] = (node, status, answer document)."""

    def __init__(self):
        self.results, self.errors, self.lock, self.threads = {}, [], threading.Lock(), []

    def _run(self, fn, jobs):
        try:
            for job in jobs:
                key, res = fn(job)
                with self.lock:
                    check(key not in self.results, f"key {key} answered twice")
                    self.results[key] = res
        except Exception as e:  # reported by join()
            with self.lock:
                self.errors.append(f"{type(e).__name__}: {e}")

    def http(self, node, pid, keys, nthreads):
        def one(key, conn=None):
            return key, (node.id, *http_reserve(conn, pid, key))
        for i in range(nthreads):
            conn = http.client.HTTPConnection("127.0.0.1", node.http, timeout=WAIT_MS / 1000 + 30)
            mine = keys[i::nthreads]
            t = threading.Thread(target=self._run,
                                 args=(lambda k, c=conn: one(k, c), mine), daemon=True)
            self.threads.append(t)

    def ctl(self, node, pid, keys, nthreads):
        def one(key):
            rc, ans, err = ask(node, "verify", pid, "--reserve", key, "--qty", "1")
            check(rc in (0, 3) and ans, f"eportctl verify --reserve {key}: exit {rc}: {err}")
            return key, (node.id, 200, ans)
        for i in range(nthreads):
            self.threads.append(threading.Thread(target=self._run, args=(one, keys[i::nthreads]),
                                                 daemon=True))

    def start(self):
        for t in self.threads:
            t.start()

    def join(self, timeout=120):
        end = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, end - time.monotonic()))
        check(not any(t.is_alive() for t in self.threads),
              f"loader threads still running after {timeout}s")
        check(not self.errors, f"loader: {len(self.errors)} errors, e.g. {self.errors[:3]}")


# ---- the tests --------------------------------------------------------------


def test_concurrent_drawdown(fed):
    """1,000 one-unit reservations, distinct keys, of a 500-unit licence from
    three regions at once: 500 ok, 500 exhausted, never overdrawn."""
    pid = issue(fed, "26AIL000500", qty=500)
    total, units = 1000, 500
    keys = {n: [f"DRAW-{n}-{i:04d}" for i in range(k)]
            for n, k in (("SC", 334), ("SH", 333), ("CQ", 333))}
    ld = Loader()
    ld.http(fed["SC"], pid, keys["SC"], 5)
    ld.http(fed["SH"], pid, keys["SH"], 5)
    ld.http(fed["CQ"], pid, keys["CQ"][60:], 3)
    ld.ctl(fed["CQ"], pid, keys["CQ"][:60], 3)  # the operator's way, at the home
    ld.start()
    ld.join()
    res = ld.results
    check(len(res) == total, f"{len(res)} answers, sent {total}")
    bad = {k: r[1] for k, r in res.items() if r[1] != 200}
    check(not bad, f"{len(bad)} requests not answered 200, e.g. {list(bad.items())[:3]}")
    rids = [r[2]["request"] for r in res.values()]
    check(len(set(rids)) == total, f"{total - len(set(rids))} request ids shared")
    check(all(r[2]["key"] == k and r[2]["permit"] == pid and r[2]["op"] == "reserve"
              for k, r in res.items()), "an answer names another key, permit or op")
    ok = {k: r for k, r in res.items() if r[2]["code"] == "ok"}
    refused = {k: r for k, r in res.items() if r[2]["code"] != "ok"}
    check(len(ok) == units and len(refused) == total - units,
          f"{len(ok)} ok and {len(refused)} refused of {total} one-unit reservations "
          f"of {units} units")
    codes = {r[2]["code"] for r in refused.values()}
    check(codes == {"exhausted"}, f"refusals with codes {sorted(codes)}, not only exhausted")
    check(all(left(r[2]) == "0" for r in refused.values()),
          "an exhausted refusal says something is left")
    # each draw saw the one before it: the balances left are 499 .. 0, once each
    lefts = sorted(int(left(r[2])) for r in ok.values())
    check(lefts == list(range(units)),
          f"ok answers leave balances {lefts[:5]}..{lefts[-5:]} "
          f"({len(set(lefts))} distinct), not 0..{units - 1} once each")
    check(all(r[2]["reservation"] == "reserved" for r in ok.values()),
          "an ok reservation is not 'reserved'")
    for k, r in res.items():  # a remote answer carries the home's signature
        check(r[2]["signed"] == (r[0] != "CQ"),
              f"{k} from {r[0]}: signed={r[2]['signed']}")
    # each request went through the node it was given to: SC and SH hold
    # their own requests and answers, CQ's ledger names who asked
    origin = {r[2]["request"]: r[0] for r in res.values()}
    for n in ("SC", "SH"):
        mine = {e["request"]: e["code"] for e in history(fed[n], pid)}
        want = {r[2]["request"]: r[2]["code"] for r in res.values() if r[0] == n}
        check(mine == want, f"{n}'s requests and answers about {pid} are not the "
              f"{len(want)} it was sent ({len(mine)} held)")
    # the home's ledger and history agree with the answers
    q, v = ledger(fed, pid)
    check(q == {"total": str(units), "used": "0", "reserved": str(units), "left": "0"},
          f"CQ's ledger of {pid}: {q}")
    check(v["uses"] == units and v["status"] == "exhausted",
          f"CQ's ledger: uses {v['uses']} status {v['status']}")
    h = [e for e in history(fed["CQ"], pid) if e["op"] == "reserve"]
    check(len(h) == total, f"CQ's history holds {len(h)} reserves, not {total}")
    check({e["key"] for e in h if e["code"] == "ok"} == set(ok),
          "the keys CQ's history reserved are not the keys answered ok")
    check(sorted(e["request"] for e in h) == sorted(rids),
          "CQ's history names other requests than those answered")
    wrong = [e for e in h if e["by"] != origin[e["request"]]]
    check(not wrong, f"{len(wrong)} reserves in CQ's history by another node than "
          f"the one asked, e.g. {wrong[:2]}")
    # every node's view: 0 left (the others ask the home afresh)
    for n in ("SC", "SH"):
        r = fed[n].ctl("permits", "show", pid, "--fresh", "--json")
        doc = json.loads(r.stdout)
        a = doc["answer"]
        check(doc["source"] == "answer" and a["code"] == "exhausted" and left(a) == "0"
              and a["status"] == "exhausted" and a["signed"],
              f"{n}'s fresh view of {pid}: {a}")
    r = fed["CQ"].ctl("permits", "show", pid, "--fresh")
    check(re.search(r"^balances line=0 quantity\.total=500 quantity\.used=0 "
                    r"quantity\.reserved=500 quantity\.left=0$", r.stdout, re.M),
          f"CQ's show --fresh: {r.stdout}")


def test_retry_and_replay(fed):
    """The same declaration's reserve retried (new request, same key, any
    region) or its envelope replayed draws once."""
    pid = issue(fed, "26AIL000010", qty=10)
    first = reserve(fed["SC"], pid, "DECL-RETRY-1", 2, want="ok")
    check(left(first) == "8", f"first reserve leaves {left(first)}, not 8")
    for n in ("SC", "SC", "SH", "CQ"):
        again = reserve(fed[n], pid, "DECL-RETRY-1", 2, want="ok")
        check(again["reservation"] == "reserved" and left(again) == "8",
              f"retry from {n}: reservation {again['reservation']}, left {left(again)} "
              "(a retry must answer the reservation as it stands)")
        check(again["request"] != first["request"], "a retry reused the request id")
    reserve(fed["SH"], pid, "DECL-RETRY-1", 3, want="key-reuse")
    q, v = ledger(fed, pid)
    check(q["reserved"] == "2" and q["left"] == "8" and v["uses"] == 1,
          f"after 5 reserves under one key: ledger {q}, uses {v['uses']}")

    # a captured request envelope, replayed through the home's checks
    cq, red = fed["CQ"], fed["CQ"].redis
    r2 = reserve(fed["SC"], pid, "DECL-RETRY-2", 1, want="ok")
    check(left(r2) == "7", f"second key leaves {left(r2)}, not 7")
    entries = red.cmd("XRANGE", "eport:CQ:v1:pmin", "-", "+")
    from_sc = [dict(zip(e[1][0::2], e[1][1::2])) for e in entries]
    from_sc = [f for f in from_sc if f.get(b"origin") == b"SC"]
    check(from_sc, "no permit envelope from SC in CQ's v1:pmin")
    cap = from_sc[-1]
    env_id = cap[b"id"].decode()
    n_in, n_hist = red.cmd("XLEN", "eport:CQ:v1:pmin"), pm_hist_len(fed, pid)
    since = len(cq.log_text())
    dl = red.cmd("XADD", "eport:CQ:v1:dlq", "*", "v", "1", "reason", "captured",
                 "where", "test_permits", "at", str(int(time.time() * 1000)),
                 "frame", cap[b"f"]).decode()
    cq.ctl("dlq", "replay", dl)
    wait_for(lambda: f"event=replayed id={env_id}" in cq.log_text()[since:], 15,
             f"CQ to check the replayed envelope {env_id}")
    time.sleep(0.3)  # anything it did would be done by now
    check(red.cmd("XLEN", "eport:CQ:v1:pmin") == n_in,
          "the replayed request envelope was delivered to CQ's permit queue again")
    check(pm_hist_len(fed, pid) == n_hist, "the replayed envelope was applied again")
    check(not cq.dlq(), f"the replay was refused: {cq.dlq()}")

    # the same envelope handled again by the home's permit loop, as after a
    # crash between applying a batch and saving its position
    red.cmd("XADD", "eport:CQ:v1:pmin", "*", *[x for kv in cap.items() for x in kv])
    wait_for(lambda: pm_hist_len(fed, pid) > n_hist, 15,
             "CQ to handle the re-queued envelope")
    again = [e for e in history(cq, pid) if e["request"] == r2["request"]]
    check(len(again) == 2 and all(e["code"] == "ok" and e["op"] == "reserve" for e in again),
          f"CQ's history of request {r2['request']}: {again}")
    check(again[1]["left"] == again[0]["left"] == [{"line": 0, "quantity": "7", "value": "0"}],
          f"handled again, the request changed the balance: {again}")
    q, v = ledger(fed, pid)
    check(q["reserved"] == "3" and q["left"] == "7" and v["uses"] == 2,
          f"after the replays: ledger {q}, uses {v['uses']}")
    time.sleep(0.5)  # an answer sent again would have reached SC
    mine = [e for e in history(fed["SC"], pid) if e["request"] == r2["request"]]
    check(len(mine) == 1 and mine[0]["state"] == "answered" and mine[0]["code"] == "ok",
          f"SC's record of request {r2['request']}: {mine}")
    check(not fed["SC"].dlq(), f"SC dead-lettered something: {fed['SC'].dlq()}")


# the refusals the requester was told, by case: filled by test_refusals
REFUSALS = {}


def test_refusals(fed):
    """Each reason a permit cannot be used is its own documented code."""
    sc, sh, cq = fed["SC"], fed["SH"], fed["CQ"]
    rev = issue(fed, "26AIL000REV", qty=10)
    sus = issue(fed, "26AIL000SUS", qty=10)
    exp = issue(fed, "26AIL000EXP", qty=10, valid=(-30, -2))
    nyv = issue(fed, "26AIL000NYV", qty=10, valid=(3, 30))
    exh = issue(fed, "26AIL000EXH", qty=2)
    ins = issue(fed, "26AIL000INS", qty=5)
    reserve(sc, rev, "DECL-REV-0", 1, want="ok")  # works until revoked
    check(cq.ctl("permits", "revoke", rev, "--reason", "licence withdrawn").stdout.strip()
          == f"permit={rev} status=revoked", "revoke did not say so")
    check(cq.ctl("permits", "suspend", sus, "--reason", "under review").stdout.strip()
          == f"permit={sus} status=suspended", "suspend did not say so")
    reserve(sh, exh, "DECL-EXH-0", 2, want="ok")
    cases = {
        "revoked": (sc, rev, "DECL-REV-1"),
        "suspended": (sh, sus, "DECL-SUS-1"),
        "expired": (sc, exp, "DECL-EXP-1"),
        "not-yet-valid": (sh, nyv, "DECL-NYV-1"),
        "exhausted": (sc, exh, "DECL-EXH-1"),
        "unknown-permit": (sh, "CQ-26AIL999999", "DECL-UNK-1"),
        "unknown-region": (sc, "GD-26AIL000001", "DECL-UNK-2"),
    }
    got = {}
    for case, (node, pid, key) in cases.items():
        a = reserve(node, pid, key, 1)
        check(a["code"] != "ok", f"{case}: {pid} reserved from {node.id}")
        got[case] = a["code"]
    a = reserve(sh, ins, "DECL-INS-1", 6)
    got["insufficient"] = a["code"]
    check(left(a) == "5", f"insufficient: {left(a)} left, not 5")
    got["holder-mismatch"] = answered(sc, "verify", ins, "--reserve", "DECL-HOLD-1", "--qty",
                                      "1", "--holder", "91500000MA5U7QX99X")["code"]
    want = {"revoked": "revoked", "suspended": "suspended", "expired": "expired",
            "not-yet-valid": "not-yet-valid", "exhausted": "exhausted",
            "unknown-permit": "unknown-permit", "unknown-region": "unknown-permit",
            "insufficient": "insufficient", "holder-mismatch": "holder-mismatch"}
    check(got == want, f"refusal codes {got}, documented {want}")
    # one code per reason (the unknown region is the same reason: no such permit)
    per_reason = dict(got)
    per_reason.pop("unknown-region")
    check(len(set(per_reason.values())) == len(per_reason), f"codes not distinct: {per_reason}")
    # nothing drawn by a refusal; a verify says the same as a reserve
    for pid, want_left in ((rev, "9"), (sus, "10"), (exp, "10"), (nyv, "10"), (exh, "0"),
                           (ins, "5")):
        q, _ = ledger(fed, pid)
        check(q["left"] == want_left, f"{pid}: {q['left']} left after refusals, not {want_left}")
    for case in ("revoked", "suspended", "expired", "exhausted"):
        node, pid, _ = cases[case]
        a = answered(node, "verify", pid)
        check(a["code"] == case and a["status"] == case,
              f"verify of the {case} {pid}: code {a['code']} status {a['status']}")
    REFUSALS.update(per_reason)


def pmforge(node, *args):
    r = subprocess.run([PMFORGE, "-c", node.conf, *args], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 0, f"pmforge {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    m = re.match(r"id=(\S+)$", r.stdout.strip())
    check(m, f"pmforge printed {r.stdout!r}")
    return m.group(1)


def test_forged_answers(fed):
    """An answer signed by a member that is not the permit's home is
    refused as forged and alerted, and the request waits for the home's;
    an answer whose signature does not verify is dropped."""
    sc, sh, cq = fed["SC"], fed["SH"], fed["CQ"]
    pid = issue(fed, "26AIL000FRG", qty=10)
    key = "DECL-FORGED-1"
    since = len(sc.log_text())
    cq.pause()  # the home cannot answer: the request stays pending
    try:
        rc, q, err = ask(sc, "verify", pid, "--reserve", key, "--qty", "1", wait=300)
        check(rc == 75 and q and q["state"] == "queued",
              f"reserve with the home frozen: exit {rc} {q} {err.strip()}")
        rid = q["request"]
        # SH answers in CQ's place: ok, with a balance it made up
        fid = pmforge(sh, "--to", "SC", "--req", rid, "--permit", pid, "--key", key,
                      "--code", "ok", "--left", "499")

        def fate():
            if any(f"id={fid}" in l for l in sc.log_text()[since:].splitlines()
                   if "event=refused" in l):
                return "refused"
            mine = [e for e in history(sc, pid) if e["request"] == rid]
            return "taken" if mine and mine[0]["state"] != "queued" else None
        got = wait_for(fate, 20, f"SC to refuse SH's forgery {fid}")
        check(got == "refused", f"SC took SH's forged answer: "
              f"{[e for e in history(sc, pid) if e['request'] == rid]}")
        log = sc.log_text()[since:]
        check(f"event=permit_forged permit={pid} signer=SH home=CQ" in log,
              "SC did not log permit_forged naming SH and CQ")
        refused = [l for l in log.splitlines() if "event=refused" in l and f"id={fid}" in l]
        m = re.search(r'reason=(\S+) .*msg="(forged): item 1: answer about permit (\S+) '
                      r'signed by (\S+), not by its home (\S+)"', refused[0] if refused else "")
        check(len(refused) == 1 and m and m.group(1) == "invalid-payload"
              and m.group(3, 4, 5) == (pid, "SH", "CQ"), f"SC's refusal of the forgery: {refused}")
        forged_why = f"{m.group(1)}: {m.group(2)}"
        dl = [l for l in sc.dlq().values() if "forged" in l]
        check(len(dl) == 1 and "reason=invalid-payload" in dl[0],
              f"SC's dead letters for the forgery: {dl}")
        alerts = sc.ctl("alerts", "--kind", "permit-forged").stdout.splitlines()
        check(len(alerts) == 1 and f"ref={pid}" in alerts[0] and "region=CQ" in alerts[0]
              and "signed by SH" in alerts[0], f"SC's permit-forged alerts: {alerts}")
        mine = [e for e in history(sc, pid) if e["request"] == rid]
        check(len(mine) == 1 and mine[0]["state"] == "queued" and mine[0]["answer"] is None,
              f"after the forgery SC's request is {mine}, not still queued")
        # in CQ's own name but with a spoilt signature: queued at CQ before
        # its genuine answer, so sent first on the link to SC
        bid = pmforge(cq, "--bad-sig", "--to", "SC", "--req", rid, "--permit", pid,
                      "--key", key, "--code", "revoked")
    finally:
        cq.resume()
    wait_for(lambda: [e for e in history(sc, pid) if e["request"] == rid
                      and e["state"] == "answered"], 30, "CQ's genuine answer at SC")
    mine = [e for e in history(sc, pid) if e["request"] == rid]
    a = mine[0]["answer"]
    check(len(mine) == 1 and a["code"] == "ok" and a["signed"] and left(a) == "9"
          and a["reservation"] == "reserved",
          f"SC's answer after the forgeries: {mine} (not the home's: ok, 9 left)")

    def bad_lines():
        return [l for l in sc.log_text()[since:].splitlines()
                if "event=refused" in l and f"id={bid}" in l]
    bad = wait_for(bad_lines, 15, f"SC to drop the frame with a spoilt signature {bid}")
    why_bad = {re.search(r"reason=(\S+)", l).group(1) for l in bad}
    check(why_bad == {"bad-signature"},
          f"SC's refusal of the frame with a spoilt signature: {bad}")
    alerts = sc.ctl("alerts", "--kind", "permit-forged").stdout.splitlines()
    check(len(alerts) == 1, f"{len(alerts)} permit-forged alerts, not 1: a bad signature "
          "must be dropped before the forgery check")
    q, v = ledger(fed, pid)
    check(q["reserved"] == "1" and q["left"] == "9", f"CQ's ledger after the forgeries: {q}")
    # every reason distinct: the home's refusal codes and these two
    reasons = dict(REFUSALS)
    check(reasons, "test_refusals did not record its codes")
    reasons["forged"] = forged_why
    reasons["bad-signature"] = why_bad.pop()
    check(len(set(reasons.values())) == len(reasons), f"reasons not distinct: {reasons}")


def test_single_use_two_regions(fed):
    """A single-use certificate of origin cited at SC and SH at the same
    moment: the home gives it to exactly one."""
    sc, sh, cq = fed["SC"], fed["SH"], fed["CQ"]
    pid = issue(fed, "C265000000901", qty=96, usage="single_use", kind="certificate_of_origin")
    procs = {}
    cq.pause()  # both requests reach the home before it decides either
    try:
        for n in (sc, sh):
            argv = [EPORTCTL, "permits", "--config", n.conf, "verify", pid, "--reserve",
                    f"DECL-COO-{n.id}", "--qty", "1", "--wait", str(WAIT_MS), "--json"]
            procs[n.id] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           text=True, stdin=subprocess.DEVNULL)
        for n in (sc, sh):
            wait_for(lambda: n.redis.cmd("ZCARD", f"eport:{n.id}:v1:pmwait") >= 1, 15,
                     f"{n.id}'s request to be queued")
        time.sleep(0.5)  # and sent: they wait in the home's socket
    finally:
        cq.resume()
    out = {}
    for nid, p in procs.items():
        so, se = p.communicate(timeout=60)
        check(p.returncode in (0, 3), f"reserve at {nid}: exit {p.returncode}: {se.strip()}")
        out[nid] = (p.returncode, json.loads(so))
    oks = [nid for nid, (rc, a) in out.items() if a["code"] == "ok"]
    check(len(oks) == 1, f"single-use certificate reserved by {oks or 'none'}: {out}")
    loser = "SH" if oks[0] == "SC" else "SC"
    rc, a = out[loser]
    check(rc == 3 and a["code"] == "exhausted" and a["reservation"] is None,
          f"the second region's answer: exit {rc} {a}")
    check(out[oks[0]][0] == 0 and out[oks[0]][1]["reservation"] == "reserved",
          f"the winner's answer: {out[oks[0]]}")
    q, v = ledger(fed, pid)
    check(v["uses"] == 1 and q["reserved"] == "1" and v["status"] == "exhausted",
          f"CQ's ledger of the certificate: {q}, uses {v['uses']}, {v['status']}")
    reserve(cq, pid, "DECL-COO-CQ", 1, want="exhausted")  # and not a third time
    winner = fed[oks[0]]
    answered(winner, "confirm", pid, "--key", f"DECL-COO-{oks[0]}", want="ok")
    reserve(fed[loser], pid, f"DECL-COO-{loser}-2", 1, want="exhausted")
    q, v = ledger(fed, pid)
    check(v["uses"] == 1 and q["used"] == "1" and q["reserved"] == "0",
          f"after the write-off: {q}, uses {v['uses']}")


def test_home_killed_mid_stream(fed):
    """CQ killed -9 while reservations stream in from SC and SH, started
    again: the waiting requests are answered; as many ok as the home
    reserved, each key once, never past the balance."""
    units, per = 300, 200
    pid = issue(fed, "26AIL000KIL", qty=units)
    keys = {n: [f"KILL-{n}-{i:04d}" for i in range(per)] for n in ("SC", "SH")}
    ld = Loader()
    for n in ("SC", "SH"):
        ld.http(fed[n], pid, keys[n], 4)
    red = fed["CQ"].redis

    def reserved():
        return int(red.cmd("HGET", f"eport:CQ:v1:pm:{pid}", "qr0") or b"0") // 1000

    ld.start()
    wait_for(lambda: reserved() >= 20, 30, "the first reservations at CQ")
    fed["CQ"].kill()
    at_kill = reserved()
    check(at_kill < units - 50, f"the stream was nearly over ({at_kill} reserved) before "
          "the kill: it proves nothing")
    waiting = wait_for(lambda: sum(fed[n].redis.cmd("ZCARD", f"eport:{n}:v1:pmwait")
                                   for n in ("SC", "SH")), 10,
                       "requests waiting for the dead home")
    time.sleep(1.0)
    check(reserved() == at_kill, "the ledger moved while its node was dead")
    fed["CQ"].start()
    ld.join(timeout=90)
    res = ld.results
    check(len(res) == 2 * per, f"{len(res)} answers of {2 * per}")
    bad = {k: r[1] for k, r in res.items() if r[1] != 200}
    check(not bad, f"{len(bad)} not answered 200 after the restart, e.g. {list(bad.items())[:3]}")
    ok = {k for k, r in res.items() if r[2]["code"] == "ok"}
    codes = {r[2]["code"] for k, r in res.items() if k not in ok}
    check(codes <= {"exhausted"}, f"refusals with codes {sorted(codes)}")
    q, v = ledger(fed, pid)
    check(len(ok) == units and q["reserved"] == str(units) and q["left"] == "0"
          and v["uses"] == units,
          f"{len(ok)} ok answers; CQ reserved {q['reserved']} in {v['uses']} uses of {units} "
          f"(killed at {at_kill}, {waiting} requests waiting)")
    h = [e for e in history(fed["CQ"], pid) if e["op"] == "reserve" and e["code"] == "ok"]
    check({e["key"] for e in h} == ok,
          "the keys CQ reserved are not the keys answered ok "
          f"({len({e['key'] for e in h} - ok)} reserved unanswered, "
          f"{len(ok - {e['key'] for e in h})} answered unreserved)")
    for n in ("SC", "SH"):  # every request answered, once
        mine = history(fed[n], pid)
        check(len(mine) == per and all(e["state"] == "answered" for e in mine),
              f"{n}: {sum(e['state'] != 'answered' for e in mine)} of {len(mine)} "
              "requests not answered")


def test_confirm_cancel(fed):
    """Confirm writes off, cancel returns the balance (once); settling a
    reservation that is not held is refused with its own code."""
    sc, sh = fed["SC"], fed["SH"]
    pid = issue(fed, "26AIL000SET", qty=10)
    check(left(reserve(sc, pid, "DECL-SET-A", 3, want="ok")) == "7", "reserve A")
    check(left(reserve(sh, pid, "DECL-SET-B", 2, want="ok")) == "5", "reserve B")
    a = answered(sc, "confirm", pid, "--key", "DECL-SET-A", want="ok")
    check(a["reservation"] == "confirmed" and left(a) == "5", f"confirm A: {a}")
    b = answered(sh, "cancel", pid, "--key", "DECL-SET-B", want="ok")
    check(b["reservation"] == "cancelled" and left(b) == "7", f"cancel B: {b}")
    q, v = ledger(fed, pid)
    check(q == {"total": "10", "used": "3", "reserved": "0", "left": "7"} and v["uses"] == 1,
          f"ledger after confirm A, cancel B: {q}, uses {v['uses']}")
    # settled twice, or the wrong way round: refused, nothing moves
    b2 = answered(sh, "cancel", pid, "--key", "DECL-SET-B", want="ok")
    check(left(b2) == "7", f"a second cancel returned the balance again: {b2}")
    answered(sc, "confirm", pid, "--key", "DECL-SET-A", want="ok")
    answered(sc, "cancel", pid, "--key", "DECL-SET-A", want="already-confirmed")
    answered(sh, "confirm", pid, "--key", "DECL-SET-B", want="reservation-cancelled")
    answered(sc, "confirm", pid, "--key", "DECL-SET-NONE", want="no-reservation")
    reserve(sh, pid, "DECL-SET-B", 2, want="reservation-cancelled")
    q, v = ledger(fed, pid)
    check(q == {"total": "10", "used": "3", "reserved": "0", "left": "7"} and v["uses"] == 1,
          f"ledger after the refused settlements: {q}, uses {v['uses']}")


def test_reservation_expiry(fed):
    """With permits.reserve_ttl_s 2 at the home, a reservation not
    confirmed expires and its balance returns once; a confirmed one stays
    written off."""
    cq, sc, sh = fed["CQ"], fed["SC"], fed["SH"]
    cq.permits["reserve_ttl_s"] = 2
    cq.stop()
    configure(cq)
    cq.start()
    pid = issue(fed, "26AIL000TTL", qty=10)
    reserve(sc, pid, "DECL-TTL-E", 4, want="ok")
    check(left(reserve(sh, pid, "DECL-TTL-C", 1, want="ok")) == "5", "two reserves")
    answered(sh, "confirm", pid, "--key", "DECL-TTL-C", want="ok")
    t0 = time.monotonic()

    def expired():
        return [e for e in history(cq, pid) if e["op"] == "expire"]
    wait_for(expired, 15, "the reservation to expire at CQ")
    took = time.monotonic() - t0
    q, v = ledger(fed, pid)
    check(q == {"total": "10", "used": "1", "reserved": "0", "left": "9"} and v["uses"] == 1,
          f"after the expiry ({took:.1f}s): {q}, uses {v['uses']}")
    time.sleep(2.5)  # past another expiry round and another ttl
    e = expired()
    check(len(e) == 1 and e[0]["key"] == "DECL-TTL-E",
          f"expiries in CQ's history: {e} (one, of DECL-TTL-E)")
    answered(sc, "confirm", pid, "--key", "DECL-TTL-E", want="reservation-expired")
    c = answered(sc, "cancel", pid, "--key", "DECL-TTL-E", want="ok")
    check(c["reservation"] == "expired" and left(c) == "9",
          f"cancel of the expired reservation: {c} (must not return it again)")
    reserve(sc, pid, "DECL-TTL-E", 4, want="reservation-expired")
    q, v = ledger(fed, pid)
    check(q == {"total": "10", "used": "1", "reserved": "0", "left": "9"} and v["uses"] == 1,
          f"ledger at the end: {q}, uses {v['uses']}")


if __name__ == "__main__":
    sys.exit(main([Group(make, start, [
        test_concurrent_drawdown, test_retry_and_replay, test_refusals,
        test_forged_answers, test_single_use_two_regions, test_home_killed_mid_stream,
        test_confirm_cancel, test_reservation_expiry])]))
