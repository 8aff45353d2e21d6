"""Clear once under faults and misuse, on one five-node federation (CQ SC
SN SH NC): a container declared in two regions at once, a transit region
frozen while the release goes out, a broken seal at passage, a time limit
passing, events sent by regions that do not own them, a log entry
tampered with in Redis, and a node killed mid-movement. Each test uses
its own movements (fresh container numbers), so they share the
federation and leave it as they found it: every node running."""
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedlib import EPORTCTL, FEDPROBE, FIVE, Fed, FedError, check, wait_for  # noqa: E402
from fedrun import Group, main  # noqa: E402
import ledgerlib as L  # noqa: E402

LEDGER = {"national": "NC", "time_limit_h": 1}
MVFORGE = os.path.join(os.path.dirname(FEDPROBE), "mvforge")


def make():
    return Fed(FIVE, ledger=LEDGER)


def declared(fed, dep, itin, name, n=2, owner="TCLU"):
    path = os.path.join(fed.dir, f"{name}.json")
    ctrs = L.containers(owner, n, name[:2].upper())
    L.declaration(path, f"DECL-{name}-{ctrs[0][0]}", ctrs, ["rail", "sea"])
    ref, _, _ = L.declare(fed[dep], [path], itin, kind="rail_transit")
    return ref, ctrs


def released(fed, dep, itin, name, extra=()):
    ref, ctrs = declared(fed, dep, itin, name)
    L.mv_retry(fed[dep], "release", ref, *extra)
    return ref, ctrs


def dd_declare(fed, dep, dest, ctrs, tag):
    path = os.path.join(fed.dir, f"dd-{tag}-{dep}.json")
    L.declaration(path, f"DD-{tag}-{dep}-{ctrs[0][0]}", ctrs, ["rail", "sea"])
    argv = [EPORTCTL, "declare", "-c", fed[dep].conf, "--canonical", "--itin",
            f"{dep},{dest}", "--kind", "rail_sea_export", "--wait", "0", path]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_double_declaration(fed):
    """The same container declared at CQ and SC at the same moment: with
    both daemons frozen, neither node can have stored the other's claim, so
    both declarations are accepted locally; once they run again exactly
    one movement survives at every node (the earlier declared time, then
    the smaller reference), and the loser is rejected naming the winner."""
    ctrs = L.containers("OOLU", 1, "DD")
    fed["CQ"].pause()
    fed["SC"].pause()
    try:
        out = {d: dd_declare(fed, d, "SH", ctrs, "a") for d in ("CQ", "SC")}
    finally:
        fed["CQ"].resume()
        fed["SC"].resume()
    for d, r in out.items():
        check(r.returncode == 0, f"declare at {d} (frozen daemons) failed with "
              f"{r.returncode}: {r.stderr.strip()}")
    refs = {d: r.stdout.split()[0].split("=")[1] for d, r in out.items()}
    # the documented tie-break, computed from the declarations themselves
    # (declared time to the ms, ISO text sorts as time; then the reference)
    # (each daemon's ledger applies its own declaration once it runs again)
    keys = {d: (wait_for(lambda: L.trace(fed[d], ref), 30,
                         f"{ref} in {d}'s ledger").steps[0]["at"], ref)
            for d, ref in refs.items()}
    winner_dep = min(keys, key=keys.get)
    win = refs[winner_dep]
    for d, r in refs.items():
        for n in (d, "SH", "NC"):  # the nodes holding the movement
            want = "declared" if d == winner_dep else "rejected"
            j = L.wait_phase(fed[n], r, want)
            if d != winner_dep:
                check(any(win in line for line in j.lines),
                      f"{n}: rejected {r} does not name the winner {win}: {j.lines}")
    # every provincial member, on the itinerary or not, holds the same claim
    key = f"v1:claim:c:{ctrs[0][0]}"
    for n in ("CQ", "SC", "SN", "SH"):
        wait_for(lambda: fed[n].redis.cmd("ZRANGE", f"eport:{n}:{key}", 0, -1)
                 == [win.encode()], 20, f"{n}'s claims on {ctrs[0][0]} to be [{win}]")
    L.mv_retry(fed[winner_dep], "release", win)
    for n in ("SH", "NC"):
        L.wait_phase(fed[n], win, "released")
    loser = refs["SC" if winner_dep == "CQ" else "CQ"]
    r = L.mv(fed["SC" if winner_dep == "CQ" else "CQ"], "release", loser, ok=False)
    check(r.returncode != 0, f"release of the rejected {loser} was accepted")


def test_double_declaration_refused(fed):
    """A container already claimed by a movement this node has stored is
    refused at once (exit 3) with the winning reference named."""
    ctrs = L.containers("OOLU", 1, "DR")
    first = dd_declare(fed, "CQ", "SH", ctrs, "b")
    check(first.returncode == 0, f"first declare failed: {first.stderr.strip()}")
    ref = first.stdout.split()[0].split("=")[1]
    wait_for(lambda: fed["SN"].redis.cmd("ZCARD", f"eport:SN:v1:claim:c:{ctrs[0][0]}"),
             20, "SN to store CQ's claim")
    second = dd_declare(fed, "SN", "SH", ctrs, "b")
    check(second.returncode == 3, f"second declare exit {second.returncode}, not 3: "
          f"{second.stderr.strip()}")
    check(ref in second.stderr, f"refusal does not name {ref}: {second.stderr.strip()}")


def test_partition_transit(fed):
    """SN frozen (SIGSTOP) while CQ releases CQ>SN>SH: SN gets the release
    when it thaws and records passage; the movement completes."""
    ref, _ = declared(fed, "CQ", ["CQ", "SN", "SH"], "partition")
    L.wait_phase(fed["SN"], ref, "declared")
    # the claim settles only with SN's receipt for the declaration: wait
    # for the release gate before freezing SN
    wait_for(lambda: not L.mv(fed["CQ"], "risk", ref, "--result", "cleared",
                              ok=False).returncode, 20, "risk at CQ")
    time.sleep(1.0)
    fed["SN"].pause()
    try:
        L.mv_retry(fed["CQ"], "release", ref)
        L.wait_phase(fed["SH"], ref, "released")
        time.sleep(2.0)  # past the heartbeat timeout: SN is down for everyone
    finally:
        fed["SN"].resume()
    L.wait_phase(fed["SN"], ref, "released", timeout=30)
    L.mv(fed["SN"], "pass", ref)
    L.wait_event(fed["SH"], ref, "passage")
    L.mv(fed["SH"], "arrive", ref)
    L.agree([fed["CQ"], fed["SN"], fed["SH"], fed["NC"]], ref, "arrived")


def test_seal_mismatch(fed):
    """A seal found at passage is not the released one: no passage, a
    discrepancy holds the movement, alerts at departure and national."""
    ref, ctrs = released(fed, "CQ", ["CQ", "SN", "SH"], "sealbad")
    L.wait_phase(fed["SN"], ref, "released")
    r = L.mv(fed["SN"], "pass", ref, "--seal", f"{ctrs[0][0]}=SN0000001", ok=False)
    check(r.returncode == 3, f"mismatched pass exited {r.returncode}: {r.stderr.strip()}")
    check("discrepancy" in r.stderr and ref in r.stderr, f"stderr: {r.stderr.strip()}")
    for n in ("CQ", "SN", "SH", "NC"):
        wait_for(lambda: (lambda j: j and any(l.startswith("hold SN") for l in j.lines))(
            L.trace(fed[n], ref)), 20, f"{ref} held by SN at {n}")
    for n in ("CQ", "NC"):
        wait_for(lambda: any(k == "discrepancy" and rf == ref for k, rf, _, _ in L.alerts(fed[n])),
                 20, f"a discrepancy alert for {ref} at {n}")
    # held: arrival refused until the departure resolves it
    L.wait_event(fed["SH"], ref, "discrepancy")
    r = L.mv(fed["SH"], "arrive", ref, ok=False)
    check(r.returncode == 3, f"arrive on a held movement exited {r.returncode}")
    L.mv(fed["CQ"], "resolve", ref, "--note", "seal replaced by SN customs, checked")
    L.wait_event(fed["SN"], ref, "resolved")
    L.mv(fed["SN"], "pass", ref)


def test_time_limit(fed):
    """Released with a 1.5 s limit and never arrived: CQ raises an enquiry,
    NC gets a movement-overdue alert."""
    ref, _ = released(fed, "CQ", ["CQ", "SH"], "overdue", extra=("--limit-ms", "1500"))
    j = L.wait_event(fed["CQ"], ref, "enquiry", timeout=30)
    check(j.count("enquiry") == 1, f"{j.count('enquiry')} enquiries at CQ")
    L.wait_event(fed["NC"], ref, "enquiry")
    wait_for(lambda: any(k == "movement-overdue" and rf == ref
                         for k, rf, _, _ in L.alerts(fed["NC"])),
             20, f"movement-overdue alert for {ref} at NC")


def test_unauthorised(fed):
    """Each region may send only its own events; everything else is
    refused where it is tried (exit 3), and nothing reaches the others."""
    ref, _ = declared(fed, "CQ", ["CQ", "SN", "SH"], "owner")
    L.wait_phase(fed["SH"], ref, "declared")
    L.wait_phase(fed["NC"], ref, "declared")
    tries = [("SH", "release"), ("SN", "release"), ("NC", "release"), ("NC", "cancel"),
             ("SH", "cancel"), ("SN", "risk"), ("SH", "pass"), ("SN", "arrive"),
             ("SN", "writeoff"), ("SC", "release"), ("SC", "pass")]
    for nid, ev in tries:
        args = ["--result", "cleared"] if ev == "risk" else []
        r = L.mv(fed[nid], ev, ref, *args, ok=False)
        # SC is off the itinerary: it holds only the claim, not the movement
        want = (3, 65) if nid == "SC" else (3,)
        check(r.returncode in want, f"mv {ev} by {nid}: exit {r.returncode} "
              f"{r.stdout.strip()} {r.stderr.strip()}")
        check(ref in r.stderr, f"mv {ev} by {nid}: the refusal does not name {ref}")
    L.mv_retry(fed["CQ"], "release", ref)
    r = L.mv(fed["CQ"], "release", ref, ok=False)
    check(r.returncode == 3, f"a second release exited {r.returncode}")
    r = L.mv(fed["CQ"], "pass", ref, ok=False)
    check(r.returncode == 3, f"passage by the departure exited {r.returncode}")
    j = L.wait_phase(fed["NC"], ref, "released")
    check(j.events() == ["declared", "released"], f"NC applied {j.events()}")


def forge(fed, nid, to, event, ref, *args):
    """A member (nid) signs an event it may not send, skipping the check
    eportctl makes: the receivers' ledgers must refuse it."""
    r = subprocess.run([MVFORGE, "-c", fed[nid].conf, "--to", ",".join(to), "--event",
                        event, "--ref", ref, *args], capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 0, f"mvforge {event} as {nid}: {r.stderr.strip()}")
    return r.stdout.split("=", 1)[1].strip()


def test_forged_by_members(fed):
    """Events signed by real members that the rules do not allow them, sent
    past eportctl's own check: every receiving ledger refuses them, records
    why beside the movement and raises a ledger-refused alert; the
    movement does not change."""
    ref, ctrs = released(fed, "CQ", ["CQ", "SN", "SH"], "forged")
    j = L.wait_phase(fed["SH"], ref, "released")
    rel = [s["id"] for s in j.steps if s["event"] == "released"][0]
    itin = ["--itin", "CQ,SN,SH", "--ctr", ctrs[0][0]]
    forged = {
        # SC is no region of this itinerary
        forge(fed, "SC", ["SH", "NC"], "passage", ref, "--prev", rel): "SC",
        # SH, the destination, writes off (departure only)
        forge(fed, "SH", ["CQ", "SN", "NC"], "written_off", ref, "--prev", rel,
              *itin): "SH",
        # SN signs a second release and says it is CQ's
        forge(fed, "SN", ["SH", "NC"], "released", ref, "--prev", rel, "--by", "CQ",
              *itin): "SN",
        # the national center monitors; it may not cancel
        forge(fed, "NC", ["CQ", "SN", "SH"], "cancelled", ref, "--prev", rel,
              *itin): "NC",
    }
    receivers = {"SH": ["SC", "SN", "NC"], "NC": ["SC", "SH", "SN"],
                 "CQ": ["SH", "NC"], "SN": ["SH", "NC"]}
    for n, signers in receivers.items():
        ids = [i for i, who in forged.items() if who in signers]
        def refused():
            jn = L.trace(fed[n], ref)
            text = jn.text if jn else ""
            return jn if all(i in text for i in ids) else None
        jn = wait_for(refused, 20, f"{n} to record the refusal of {ids}")
        check(jn.phase == "released", f"{n}: {ref} is {jn.phase} after forgeries")
        for i in ids:
            check(not any(s["id"] == i for s in jn.steps),
                  f"{n} applied the forged event {i}: {jn.events()}")
        kinds = [a[0] for a in L.alerts(fed[n]) if a[1] == ref]
        check("ledger-refused" in kinds, f"{n}: no ledger-refused alert for {ref}: {kinds}")
    L.mv(fed["SN"], "pass", ref)  # the movement goes on untouched
    L.wait_event(fed["SH"], ref, "passage")


def test_tampered_log(fed):
    """verify holds a movement's history at SH, then reports the entry
    whose bytes were changed in Redis."""
    ref, _ = released(fed, "CQ", ["CQ", "SH"], "tamper")
    L.wait_phase(fed["SH"], ref, "released")
    r = L.verify(fed["SH"], ref)
    check(r.returncode == 0, f"verify before tampering: exit {r.returncode}: {r.stdout}{r.stderr}")
    key = f"eport:SH:v1:mv:{ref}:log"
    red = fed["SH"].redis
    frame = red.cmd("LINDEX", key, 1)
    check(frame, f"no second entry in {key}")
    i = frame.find(b"released")
    check(i > 0, "the released event's type is not in its frame")
    bad = frame[:i] + b"R" + frame[i + 1:]
    red.cmd("LSET", key, 1, bad)
    r = L.verify(fed["SH"], ref)
    check(r.returncode == 1, f"verify after tampering: exit {r.returncode}: {r.stdout}")
    bad_lines = [l for l in r.stdout.splitlines() if "FAILED" in l]
    check(bad_lines and bad_lines[0].startswith("2 "),
          f"verify does not name entry 2: {r.stdout}")
    red.cmd("LSET", key, 1, frame)
    check(L.verify(fed["SH"], ref).returncode == 0, "verify after restoring the entry")


def test_kill9_restart(fed):
    """SN killed (kill -9) after the release of CQ>SN>SH, restarted: it
    catches up, records passage, and the lifecycle completes."""
    ref, _ = released(fed, "CQ", ["CQ", "SN", "SH"], "kill9")
    fed["SN"].kill()
    L.wait_phase(fed["SH"], ref, "released")
    fed["SN"].start()
    L.wait_phase(fed["SN"], ref, "released", timeout=30)
    L.mv(fed["SN"], "pass", ref)
    L.wait_event(fed["SH"], ref, "passage")
    L.mv(fed["SH"], "arrive", ref)
    fed["CQ"].kill()
    L.mv(fed["SH"], "control", ref)
    fed["CQ"].start()
    L.wait_phase(fed["CQ"], ref, "controlled", timeout=30)
    L.mv(fed["CQ"], "writeoff", ref)
    js = L.agree([fed["CQ"], fed["SN"], fed["SH"], fed["NC"]], ref, "written_off")
    check(all(j.count("released") == 1 for j in js.values()), "a release twice after restart")


if __name__ == "__main__":
    sys.exit(main([Group(make, lambda f: f.start_all(),
                         [test_double_declaration, test_double_declaration_refused,
                          test_partition_transit,
                          test_seal_mismatch, test_time_limit, test_unauthorised,
                          test_forged_by_members, test_tampered_log,
                          test_kill9_restart])]))
