"""Declarations that cite permits (docs/permits.md, "Declarations cite
permits"; docs/clearance.md, MV15 `permit`): three real nodes, SC (the
departure), CQ (the permits' home) and the national center NC, each with
its own Redis. Permits are issued at CQ with `eportctl permits issue
--canonical`; declarations are canonical JSON records with `permits[]`,
declared at SC with `eportctl declare`. What must hold:

- release-waits-for-reservation: a declaration is released only after
  every cited permit is reserved at its home; the release confirms (writes
  off) the reservations at CQ; the movement's history carries a `permit`
  event per answer, each with CQ's own signed `permit-res` envelope, and
  `eportctl verify` holds at SC, CQ and NC.
- refused-permits: a revoked, unknown or exhausted permit refuses the
  declaration: cancelled with the reason, alert permit-refused, and what
  another cited permit had reserved is returned.
- withdraw-returns: cancelling a declaration returns its reservation.
- home-down-waits: with CQ down the declaration waits (not released, its
  request queued); with CQ back but its answer not yet given, the release
  is refused "awaiting permit verification"; once CQ answers it is
  released and the permit drawn once.
- departure-kill9: SC killed (kill -9) while it handles the answers and
  releases of a stream of declarations (ledger.auto release): each permit
  reserved and written off once, each movement released once, a permit
  holding exactly what the stream draws never overdrawn.
- refuse-when-unreachable: with `permits.unreachable: refuse` and a short
  answer_timeout_s, CQ down refuses the declaration (home-unreachable),
  and once CQ is back nothing stays reserved there.

Python stdlib only (a small msgpack reader for the stored envelopes)."""
import datetime
import json
import os
import re
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedlib import Fed, FedError, check, wait_for  # noqa: E402
from fedrun import Group, main  # noqa: E402
import ledgerlib as L  # noqa: E402

TOPOLOGY = {nid: (("CN" if nid == "NC" else nid),
                  [p for p in ("SC", "CQ", "NC") if p != nid], {})
            for nid in ("SC", "CQ", "NC")}
LEDGER = {"national": "NC", "time_limit_h": 1}
ITIN = ["SC", "CQ"]
KILL_N = 60  # declarations of the kill -9 stream
CHUNK = 5  # declared by one eportctl

_seq = iter(range(1, 1 << 30))


# ---- a minimal msgpack reader (the envelopes as the nodes store them) ----

def _mp(b, i):
    """(value, next index) of the msgpack item at b[i]."""
    c = b[i]
    i += 1
    if c <= 0x7f:
        return c, i
    if c >= 0xe0:
        return c - 0x100, i
    if 0x80 <= c <= 0x8f:
        return _mp_map(b, i, c & 0x0f)
    if 0x90 <= c <= 0x9f:
        return _mp_arr(b, i, c & 0x0f)
    if 0xa0 <= c <= 0xbf:
        n = c & 0x1f
        return b[i:i + n].decode(), i + n
    if c == 0xc0:
        return None, i
    if c in (0xc2, 0xc3):
        return c == 0xc3, i
    sizes = {0xc4: 1, 0xc5: 2, 0xc6: 4, 0xd9: 1, 0xda: 2, 0xdb: 4,
             0xdc: 2, 0xdd: 4, 0xde: 2, 0xdf: 4}
    ints = {0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q",
            0xd0: ">b", 0xd1: ">h", 0xd2: ">i", 0xd3: ">q"}
    if c in ints:
        n = struct.calcsize(ints[c])
        return struct.unpack(ints[c], b[i:i + n])[0], i + n
    if c in sizes:
        w = sizes[c]
        n = int.from_bytes(b[i:i + w], "big")
        i += w
        if c in (0xc4, 0xc5, 0xc6):
            return bytes(b[i:i + n]), i + n
        if c in (0xd9, 0xda, 0xdb):
            return b[i:i + n].decode(), i + n
        return _mp_arr(b, i, n) if c in (0xdc, 0xdd) else _mp_map(b, i, n)
    raise FedError(f"msgpack: type byte 0x{c:02x} at {i - 1} not expected here")


def _mp_arr(b, i, n):
    out = []
    for _ in range(n):
        v, i = _mp(b, i)
        out.append(v)
    return out, i


def _mp_map(b, i, n):
    out = {}
    for _ in range(n):
        k, i = _mp(b, i)
        out[k], i = _mp(b, i)
    return out, i


def unpack(b):
    v, i = _mp(b, 0)
    check(i == len(b), f"msgpack: {len(b) - i} bytes after the item")
    return v


def envelope(frame):
    """An envelope frame (docs/protocol.md section 2) as a dict."""
    e = unpack(frame)
    check(isinstance(e, list) and len(e) == 12 and e[0] == 1,
          f"not a version 1 envelope of 12 elements: {str(e)[:200]}")
    names = ("v", "id", "type", "origin", "to", "route", "created", "ref",
             "payload", "alg", "signer", "sig")
    return dict(zip(names, e))


def mv_log(node, ref):
    """[(envelope, event)] of ref as node's ledger applied them, in order."""
    frames = node.redis.cmd("LRANGE", f"eport:{node.id}:v1:mv:{ref}:log", 0, -1) or []
    out = []
    for f in frames:
        env = envelope(f)
        out.append((env, unpack(env["payload"])))
    return out


def permit_events(node, ref):
    return [ev for _, ev in mv_log(node, ref) if ev.get("t") == "permit"]


def home_answer(ev, ref):
    """The home's signed answer a permit event carries: (envelope, the
    answer about the event's permit and movement)."""
    check(isinstance(ev.get("rec"), bytes) and ev["rec"],
          f"permit event {ev.get('res')} {ev.get('note')} carries no answer")
    env = envelope(ev["rec"])
    items = [unpack(x) for x in unpack(env["payload"])]
    permit = ev["note"].split(":")[0]
    mine = [a for a in items if a.get("permit") == permit and a.get("key") == ref]
    check(len(mine) == 1, f"{ref}: the answer envelope {env['id']} holds "
          f"{len(mine)} answers about {permit}: {items}")
    return env, mine[0]


# ---- permits, declarations ----------------------------------------------

def permit_file(d, number, units, usage="quantity",
                kind="automatic_import_licence"):
    """A canonical permit valid around today, one line of `units` PCE (as
    tests/bench/permits.py writes them)."""
    today = datetime.date.today()
    rec = {
        "kind": "permit",
        "document": {"type": "permit", "number": number},
        "permit": {"kind": kind, "usage": usage, "authority": "FEDTEST MOFCOM",
                   "valid_from": str(today - datetime.timedelta(days=1)),
                   "valid_to": str(today + datetime.timedelta(days=30))},
        "parties": [{"role": "holder", "name": "FED TEST DECLARANT CO., LTD.",
                     "id": "91500000MA5U7QX45Q"}],
        "goods": [{"seq": 1, "hs_code": "847130", "quantity": units, "unit": "PCE"}],
    }
    path = os.path.join(d, f"permit-{number}.json")
    with open(path, "w") as f:
        json.dump(rec, f)
    return path


def issue(fed, number, units, **kw):
    """Issue CQ-<number> at CQ; its id."""
    out = L.must(L.ctl(fed["CQ"], "permits", "issue", "--canonical",
                       permit_file(fed.dir, number, units, **kw)), f"issue {number}")
    check(f"permit=CQ-{number} new=yes" in out, f"issue {number} said {out.strip()!r}")
    return f"CQ-{number}"


def decl_file(fed, cites, owner="PMVU"):
    """A fresh declaration (own document and container) citing `cites`.
    (`declare --repeat` numbers its copies' containers by the owner code
    alone: one owner per file declared with it.)"""
    n = next(_seq)
    path = os.path.join(fed.dir, f"decl-{n}.json")
    L.declaration(path, f"PMV{n:06d}", L.containers(owner, 1, "PV"), ["rail"])
    with open(path) as f:
        rec = json.load(f)
    rec["permits"] = cites
    with open(path, "w") as f:
        json.dump(rec, f)
    return path


def declare(fed, cites):
    ref, _, _ = L.declare(fed["SC"], [decl_file(fed, cites)], ITIN)
    check(ref and ref[2:4] == "SC", f"declare gave {ref}")
    return ref


def balance(node, pid):
    """Bucket 0 of the permit at its home: {total, used, reserved, left}
    (units) and uses."""
    doc = json.loads(L.must(L.ctl(node, "permits", "show", pid, "--json"),
                            f"permits show {pid}"))
    check(doc.get("source") == "ledger", f"{pid} at {node.id} is not its ledger: {doc}")
    b = [x for x in doc["view"]["balances"] if x["line"] == 0][0]["quantity"]
    out = {k: float(v) for k, v in b.items()}
    out["uses"] = doc["view"]["uses"]
    out["status"] = doc["view"]["status"]
    return out


def history(node, pid):
    doc = json.loads(L.must(L.ctl(node, "permits", "history", pid, "--json"),
                            f"permits history {pid} at {node.id}"))
    return doc["entries"]


def reservation(fed, pid, key):
    """The home's reservation of key ({} when none)."""
    flat = fed["CQ"].redis.cmd("HGETALL", f"eport:CQ:v1:pm:{pid}:r:{key}") or []
    return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}


def wait_permit_event(node, ref, pid, res, timeout=20):
    def got():
        return [e for e in permit_events(node, ref)
                if e.get("res") == res and e.get("note", "").split(":")[0] == pid]
    try:
        return wait_for(got, timeout, f"permit {res} of {pid} in {ref} at {node.id}",
                        interval=0.1)[0]
    except FedError as e:
        have = [(x.get("res"), x.get("note")) for x in permit_events(node, ref)]
        raise FedError(f"{e} (it has {have})") from None


def release_refusal(fed, ref):
    """`eportctl mv release` at SC, which must be refused: (exit, stderr)."""
    r = L.mv(fed["SC"], "release", ref, ok=False)
    check(r.returncode != 0, f"{ref} was released: {r.stdout.strip()}")
    check(re.search(r"released (by SC )?refused", r.stderr),
          f"release of {ref}: {r.stderr.strip()}")
    return r.returncode, r.stderr.strip()


def release_refused_cancelled(fed, ref):
    """A cancelled movement's release is refused for its phase (exit 3)."""
    rc, why = release_refusal(fed, ref)
    check(rc == 3 and "cancelled" in why and "awaiting" not in why,
          f"release of the cancelled {ref}: exit {rc}: {why}")


def release_when_allowed(fed, ref, timeout=30):
    """Release at SC, retried while refused for a reason that passes (the
    claim or the permits still pending): the refusals seen, in order."""
    seen, end = [], time.monotonic() + timeout
    while True:
        r = L.mv(fed["SC"], "release", ref, ok=False)
        if r.returncode == 0:
            return seen
        why = r.stderr.strip()
        if not re.search(r"claim not settled|awaiting permit verification", why):
            raise FedError(f"release of {ref}: exit {r.returncode}: {why}")
        if not seen or seen[-1] != why:
            seen.append(why)
        if time.monotonic() > end:
            raise FedError(f"{ref} not released at SC within {timeout}s: {seen}")
        time.sleep(0.2)


def check_verify(node, ref):
    r = L.verify(node, ref)
    lines = [x for x in r.stdout.splitlines() if x.strip()]
    check(r.returncode == 0 and lines and all(x.endswith(" ok") for x in lines),
          f"verify {ref} at {node.id}: exit {r.returncode}: {r.stdout[-600:]} "
          f"{r.stderr.strip()[-300:]}")
    n = len(mv_log(node, ref))
    check(len(lines) == n + 1, f"verify {ref} at {node.id}: {len(lines)} lines "
          f"for {n} log entries")


def refused_alerts(node, ref):
    return [a for a in L.alerts(node, "permit-refused") if a[1] == ref]


def sc_requests(fed, pid, ref, op=None):
    return [e for e in history(fed["SC"], pid)
            if e.get("for") == ref and (op is None or e.get("op") == op)]


# ---- the tests ------------------------------------------------------------

def test_release_waits_for_reservation(fed):
    sc, cq = fed["SC"], fed["CQ"]
    lic = issue(fed, "26AIL000101", 100)
    cert = issue(fed, "26CO000102", 1, usage="single_use", kind="certificate_of_origin")
    ref = declare(fed, [{"id": lic, "line": 1, "quantity": 10}, {"id": cert}])
    wait_permit_event(sc, ref, lic, "reserved")
    wait_permit_event(sc, ref, cert, "reserved")
    b = balance(cq, lic)
    check((b["used"], b["reserved"], b["left"]) == (0, 10, 90),
          f"{lic} at CQ before the release: {b}")
    check(L.trace(sc, ref).phase == "declared", f"{ref} moved on by itself")
    L.mv_retry(sc, "release", ref, "--guarantee", "GUA-" + ref[-6:])
    for pid in (lic, cert):
        wait_permit_event(sc, ref, pid, "written_off")
    b = balance(cq, lic)
    check((b["total"], b["used"], b["reserved"], b["left"], b["uses"]) == (100, 10, 0, 90, 1),
          f"{lic} at CQ after the release: {b}")
    c = balance(cq, cert)
    check((c["used"], c["left"], c["status"]) == (1, 0, "exhausted"),
          f"{cert} at CQ after the release: {c}")
    for pid in (lic, cert):
        ops = [(h["op"], h["code"]) for h in history(cq, pid) if h.get("key") == ref]
        check(ops == [("reserve", "ok"), ("confirm", "ok")],
              f"{pid}'s history at CQ for {ref}: {ops}")
        check(reservation(fed, pid, ref).get("st") == "confirmed",
              f"{pid}'s reservation for {ref}: {reservation(fed, pid, ref)}")
    # the history: the reservations before the release, the write-offs
    # after, each with CQ's own signed answer, the same at every node
    js = L.agree([sc, cq, fed["NC"]], ref, "released")
    asked = {(pid, op): [e["request"] for e in sc_requests(fed, pid, ref, op)]
             for pid in (lic, cert) for op in ("reserve", "confirm")}
    for n in (sc, cq, fed["NC"]):
        log = mv_log(n, ref)
        kinds = [(ev["t"], ev.get("res"), (ev.get("note") or "").split(":")[0])
                 for _, ev in log]
        rel = kinds.index(("released", None, ""))
        for pid in (lic, cert):
            res = kinds.index(("permit", "reserved", pid))
            off = kinds.index(("permit", "written_off", pid))
            check(res < rel < off, f"{n.id}: {ref}'s history out of order: {kinds}")
        check(len(kinds) == 6 and len(js[n.id].steps) == 6,
              f"{n.id}: {ref} has {kinds}, want declared, 2 reserved, released, "
              "2 written_off")
        for env, ev in log:
            if ev["t"] != "permit":
                continue
            check(env["signer"] == "SC" and ev["by"] == "SC",
                  f"{n.id}: permit event signed by {env['signer']}")
            ans_env, ans = home_answer(ev, ref)
            want = ("reserve", "reserved") if ev["res"] == "reserved" else ("confirm", "confirmed")
            check(ans_env["type"] == "permit-res" and ans_env["origin"] == "CQ"
                  and ans_env["signer"] == "CQ",
                  f"{n.id}: {ev['res']} evidence is a {ans_env['type']} of "
                  f"{ans_env['origin']} signed by {ans_env['signer']}")
            check((ans["op"], ans["rsv"], ans["code"]) == want + ("ok",),
                  f"{n.id}: {ev['res']} of {ev['note']} carries answer {ans}")
            reqs = asked[(ev["note"], want[0])]
            check(reqs == [ans["req"]], f"the answer is to {ans['req']}, SC asked {reqs}")
    for n in (sc, cq, fed["NC"]):
        check_verify(n, ref)


def test_refused_permits(fed):
    sc, cq = fed["SC"], fed["CQ"]
    ok = issue(fed, "26AIL000201", 10)
    bad = issue(fed, "26AIL000202", 10)
    L.must(L.ctl(cq, "permits", "revoke", bad, "--reason", "forged invoice"), "revoke")
    single = issue(fed, "26CO000203", 1, usage="single_use", kind="certificate_of_origin")
    first = declare(fed, [{"id": single}])
    wait_permit_event(sc, first, single, "reserved")

    cases = [
        ([{"id": bad, "quantity": 1}, {"id": ok, "quantity": 2}], bad, "revoked",
         "forged invoice"),
        ([{"id": "CQ-26AIL999999"}], "CQ-26AIL999999", "unknown-permit", "no such permit"),
        ([{"id": single}], single, "exhausted", "single-use"),
    ]
    refs = []
    for cites, pid, code, text in cases:
        ref = declare(fed, cites)
        refs.append(ref)
        j = L.wait_phase(sc, ref, "cancelled", timeout=20)
        why = f"permit {pid} refused: {code}: "
        cancel = [s for s in j.steps if s["event"] == "cancelled"]
        check(len(cancel) == 1 and why in cancel[0]["rest"] and text in cancel[0]["rest"],
              f"{ref}: cancellation {cancel} does not say {why!r}...{text!r}")
        al = refused_alerts(sc, ref)
        check(len(al) == 1 and why in al[0][3], f"{ref}: permit-refused alerts {al}")
        ev = wait_permit_event(sc, ref, pid, "refused")
        check(ev["note"].startswith(f"{pid}: {code}: "), f"{ref}: refusal {ev['note']}")
        env, ans = home_answer(ev, ref)
        check(env["signer"] == "CQ" and ans["code"] == code,
              f"{ref}: refusal evidence signed by {env['signer']}: {ans}")
        release_refused_cancelled(fed, ref)
    # the revoked permit's companion: reserved, then returned at CQ
    wait_permit_event(sc, refs[0], ok, "returned")
    check(reservation(fed, ok, refs[0]).get("st") == "cancelled",
          f"{ok} reservation for {refs[0]}: {reservation(fed, ok, refs[0])}")
    b = balance(cq, ok)
    check((b["used"], b["reserved"], b["left"]) == (0, 0, 10), f"{ok} at CQ: {b}")
    check(reservation(fed, bad, refs[0]) == {}, f"{bad} (revoked) reserved something")
    # the single-use certificate is still held by the first declaration
    c = balance(cq, single)
    check((c["reserved"], c["left"], c["uses"]) == (1, 0, 1), f"{single}: {c}")
    check(L.trace(sc, first).phase == "declared", f"{first} was disturbed")
    for ref in refs:
        check_verify(sc, ref)
    # withdraw the first (leaves nothing for the automatic steps later)
    L.mv(sc, "cancel", first, "--note", "test done")
    wait_permit_event(sc, first, single, "returned")


def test_withdraw_returns(fed):
    sc, cq = fed["SC"], fed["CQ"]
    pid = issue(fed, "26AIL000301", 20)
    ref = declare(fed, [{"id": pid, "line": 1, "quantity": 5}])
    wait_permit_event(sc, ref, pid, "reserved")
    b = balance(cq, pid)
    check((b["reserved"], b["left"]) == (5, 15), f"{pid} reserved: {b}")
    L.mv(sc, "cancel", ref, "--note", "withdrawn by the declarant")
    ev = wait_permit_event(sc, ref, pid, "returned")
    env, ans = home_answer(ev, ref)
    check((ans["op"], ans["code"], ans["rsv"]) == ("cancel", "ok", "cancelled"),
          f"{ref}: returned with answer {ans}")
    b = balance(cq, pid)
    check((b["used"], b["reserved"], b["left"], b["uses"]) == (0, 0, 20, 0),
          f"{pid} after the withdrawal: {b}")
    ops = [(h["op"], h["code"]) for h in history(cq, pid) if h.get("key") == ref]
    check(ops == [("reserve", "ok"), ("cancel", "ok")], f"{pid}'s history for {ref}: {ops}")
    check(L.trace(sc, ref).phase == "cancelled", f"{ref} not cancelled")
    release_refused_cancelled(fed, ref)
    check_verify(sc, ref)


def _awaiting_home(fed, pid, ref):
    """CQ up and receipting, its answer not given: the release is refused
    awaiting permit verification, nothing is drawn."""
    sc, cq = fed["SC"], fed["CQ"]

    def awaiting():
        r = L.mv(sc, "release", ref, ok=False)
        check(r.returncode != 0, f"{ref} released without its permit: {r.stdout}")
        return r if "awaiting permit verification" in r.stderr else None
    r = wait_for(awaiting, 20, "the release to be refused awaiting permit verification",
                 interval=0.2)
    want = f"{ref}: released refused: awaiting permit verification: {pid} (awaiting its home's answer)"
    check(want in r.stderr, f"release awaiting the permit: exit {r.returncode}: {r.stderr.strip()}")
    req = sc_requests(fed, pid, ref, "reserve")
    check(len(req) == 1 and req[0]["state"] == "queued", f"SC's request: {req}")
    b = balance(cq, pid)
    check((b["used"], b["reserved"]) == (0, 0), f"{pid} drawn before an answer: {b}")
    check(L.trace(sc, ref).phase == "declared", f"{ref} not declared")


def test_home_down_waits(fed):
    sc, cq = fed["SC"], fed["CQ"]
    pid = issue(fed, "26AIL000401", 50)
    cq.kill()
    ref = declare(fed, [{"id": pid, "quantity": 7}])
    # CQ down: the request is queued at SC, unanswered; no release
    wait_for(lambda: sc_requests(fed, pid, ref, "reserve"), 10, "SC to queue the reserve")
    rc, why = release_refusal(fed, ref)
    check("CQ" in why, f"the refusal does not name CQ: {why}")
    time.sleep(1.5)  # long enough for any resend
    req = sc_requests(fed, pid, ref, "reserve")
    check(len(req) == 1 and req[0]["state"] == "queued",
          f"SC's request while CQ is down: {req}")
    check(not permit_events(sc, ref), f"{ref} has permit events with CQ down")
    check(L.trace(sc, ref).phase == "declared", f"{ref} is not waiting as declared")
    b = balance(cq, pid)  # CQ's Redis, read while its eportd is down
    check((b["used"], b["reserved"]) == (0, 0), f"{pid} drawn with CQ down: {b}")

    # CQ back, but its permit ledger has not answered yet (frozen: the
    # position its permit loop handled set past anything delivered, as if
    # it had crashed between receipting the request and answering it)
    pos_key = "eport:CQ:v1:pm:pos"
    saved = cq.redis.cmd("GET", pos_key)
    cq.redis.cmd("SET", pos_key, f"{int(time.time() * 1000) + 3600000}-0")
    cq.start()
    try:
        _awaiting_home(fed, pid, ref)
    finally:
        # CQ restarts after that crash: it handles the request and answers
        cq.kill()
        if saved is None:
            cq.redis.cmd("DEL", pos_key)
        else:
            cq.redis.cmd("SET", pos_key, saved)
        cq.start()
    release_when_allowed(fed, ref)

    wait_permit_event(sc, ref, pid, "written_off")
    b = balance(cq, pid)
    check((b["used"], b["reserved"], b["left"], b["uses"]) == (7, 0, 43, 1),
          f"{pid} after the release: {b}")
    check(reservation(fed, pid, ref).get("st") == "confirmed",
          f"reservation {reservation(fed, pid, ref)}")
    res = [e.get("res") for e in permit_events(sc, ref)]
    check(res == ["reserved", "written_off"], f"{ref}'s permit events: {res}")
    j = L.trace(sc, ref)
    check(j.count("released") == 1, f"{ref}: {j.count('released')} releases")
    check_verify(sc, ref)


def _in_phase(node, refs, phase):
    members = node.redis.cmd("SMEMBERS", f"eport:{node.id}:v1:mv:phase:{phase}") or []
    return len(refs & {m.decode() for m in members})


def _released(node):
    return node.redis.cmd("SCARD", f"eport:{node.id}:v1:mv:phase:released")


def test_departure_kill9(fed):
    sc, cq = fed["SC"], fed["CQ"]
    pid = issue(fed, "26AIL000501", KILL_N)  # exactly what the stream draws
    sc.stop()
    sc.ledger = dict(LEDGER, auto=["release"])
    sc.write_config()
    sc.start()
    before = _released(sc)
    # the stream: chunks of declarations, each its own documents and
    # containers, declared by eportctl (straight into SC's Redis) one
    # after the other while SC's eportd handles them; SC is killed once a
    # fifth is released, and the chunks go on while it is down
    files = [decl_file(fed, [{"id": pid, "quantity": 1}], owner=f"KS{chr(65 + i)}U")
             for i in range(KILL_N // CHUNK)]
    outs = []

    def stream():
        for f in files:
            outs.append(L.ctl(sc, "declare", "--canonical", "--itin", ",".join(ITIN),
                              "--repeat", str(CHUNK), "--wait", "0", f))
    th = threading.Thread(target=stream)
    th.start()
    try:
        wait_for(lambda: _released(sc) - before >= KILL_N // 5, 60,
                 "SC to release a fifth of the stream", interval=0.002)
        sc.kill()
        at_kill = _released(sc) - before
    finally:
        th.join(120)
    for r in outs:
        L.must(r, "declare --repeat")
    check(len(outs) == len(files), f"{len(outs)} of {len(files)} chunks declared")
    refs = {ref for r in outs for ref in re.findall(r"ref=(\S+)", r.stdout)}
    check(len(refs) == KILL_N, f"declare --repeat gave {len(refs)} references")
    check(at_kill < KILL_N, f"all {KILL_N} were released before the kill: "
          "not a crash mid-stream")
    time.sleep(0.3)
    sc.start()
    wait_for(lambda: _in_phase(sc, refs, "released") == KILL_N, 60,
             f"{KILL_N} releases at SC")

    def written_off():
        return all(("permit", "written_off") in [(ev["t"], ev.get("res"))
                                                 for _, ev in mv_log(sc, ref)]
                   for ref in refs)
    wait_for(written_off, 30, "every write-off recorded at SC", interval=0.3)
    b = balance(cq, pid)
    check((b["total"], b["used"], b["reserved"], b["left"], b["uses"])
          == (KILL_N, KILL_N, 0, 0, KILL_N), f"{pid} after the stream: {b}")
    codes = [(h["op"], h["code"]) for h in history(cq, pid) if h["op"] != "issue"]
    bad = [c for c in codes if c[1] not in ("ok", "already-confirmed")]
    check(not bad, f"{pid}: refused requests at CQ: {bad[:5]}")
    for ref in sorted(refs):
        st = reservation(fed, pid, ref)
        check(st.get("st") == "confirmed" and st.get("lines") == "0:1000:0",
              f"{ref}: reservation at CQ {st}")
        log = [(ev["t"], ev.get("res")) for _, ev in mv_log(sc, ref)]
        check(sorted(log) == sorted([("declared", None), ("permit", "reserved"),
                                     ("released", None), ("permit", "written_off")]),
              f"{ref} at SC: {log}")
        check(log.index(("permit", "reserved")) < log.index(("released", None)),
              f"{ref} released before its reservation: {log}")
        refused = sc.redis.cmd("HLEN", f"eport:SC:v1:mv:{ref}:refused")
        check(refused == 0, f"{ref}: {refused} events refused at SC (a step taken twice?)")
    check(not L.alerts(sc, "ledger-refused"), "SC: ledger refusals")
    refused = [a for a in L.alerts(sc, "permit-refused") if a[1] in refs]
    check(not refused, f"declarations of the stream refused: {refused[:3]}")
    for ref in sorted(refs)[:: KILL_N // 4]:
        check_verify(sc, ref)
        j = L.wait_phase(fed["NC"], ref, "released", events=4)
        check(j.count("released") == 1 and len(j.steps) == 4,
              f"{ref} at NC: {j.events()}")


def test_refuse_when_unreachable(fed):
    sc, cq = fed["SC"], fed["CQ"]
    pid = issue(fed, "26AIL000601", 30)
    sc.stop()
    sc.permits = {"unreachable": "refuse", "answer_timeout_s": 2}
    sc.write_config()
    sc.start()
    cq.kill()
    t0 = time.monotonic()
    ref = declare(fed, [{"id": pid, "quantity": 3}])
    j = L.wait_phase(sc, ref, "cancelled", timeout=20)
    took = time.monotonic() - t0
    check(took >= 1.5, f"{ref} refused after {took:.1f}s, before answer_timeout_s")
    why = f"permit {pid} refused: home-unreachable: home CQ did not answer within 2 s"
    cancel = [s for s in j.steps if s["event"] == "cancelled"]
    check(len(cancel) == 1 and why in cancel[0]["rest"], f"{ref}: cancellation {cancel}")
    al = refused_alerts(sc, ref)
    check(len(al) == 1 and "home-unreachable" in al[0][3], f"{ref}: alerts {al}")
    ev = [e for e in permit_events(sc, ref) if e.get("res") == "refused"]
    check(len(ev) == 1 and ev[0]["note"].startswith(f"{pid}: home-unreachable: ")
          and "rec" not in ev[0], f"{ref}: refusal events {ev}")
    release_refused_cancelled(fed, ref)
    check_verify(sc, ref)
    b = balance(cq, pid)
    check((b["used"], b["reserved"]) == (0, 0), f"{pid} with CQ down: {b}")
    # CQ back: the reserve still reaches it, the cancel sent after it
    # returns it; nothing stays reserved
    cq.start()
    wait_permit_event(sc, ref, pid, "returned", timeout=30)
    wait_for(lambda: sc.awaiting() == 0, 20, "SC's messages all receipted")
    st = reservation(fed, pid, ref)
    check(st.get("st") in (None, "cancelled"), f"{ref}: reservation left at CQ: {st}")
    b = balance(cq, pid)
    check((b["used"], b["reserved"], b["left"], b["uses"]) == (0, 0, 30, 0),
          f"{pid} once CQ is back: {b}")
    res = [e.get("res") for e in permit_events(sc, ref)]
    check("reserved" not in res, f"{ref}: a late reservation recorded: {res}")
    check(L.trace(sc, ref).phase == "cancelled", f"{ref} left cancelled")
    for n in (sc, cq, fed["NC"]):
        L.wait_phase(n, ref, "cancelled", events=len(mv_log(sc, ref)))
        check_verify(n, ref)


def make():
    return Fed(TOPOLOGY, ledger=LEDGER)


if __name__ == "__main__":
    sys.exit(main([Group(make, lambda f: f.start_all(),
                         [test_release_waits_for_reservation, test_refused_permits,
                          test_withdraw_returns, test_home_down_waits,
                          test_departure_kill9, test_refuse_when_unreachable])]))
