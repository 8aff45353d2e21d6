"""Automatic steps exactly once across a crash (docs/clearance.md,
"Automatic steps"): three nodes CQ SN SH with every step of ledger.auto,
movements CQ > SN > SH declared in a stream at CQ, the transit node SN
killed (kill -9) while they flow and restarted. Every movement must end
written off at every node with each event applied once (six log entries),
and no node may have refused an event (a step sent twice is refused by
the rules: exactly one passage, one release...)."""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedlib import Fed, check, wait_for  # noqa: E402
from fedrun import main  # noqa: E402
import ledgerlib as L  # noqa: E402

N = 150
THREE = {"CQ": ("CQ", ["SN", "SH"], {}), "SN": ("SN", ["CQ", "SH"], {}),
         "SH": ("SH", ["CQ", "SN"], {})}
LEDGER = {"national": '""', "time_limit_h": 72,
          "auto": ["release", "passage", "arrival", "control", "write_off"]}
EVENTS = 6  # declared released passage arrived controlled written_off


def phase_count(node, phase):
    return node.redis.cmd("SCARD", f"eport:{node.id}:v1:mv:phase:{phase}")


def test_auto_kill9_transit():
    with Fed(THREE, ledger=LEDGER) as fed:
        fed.start_all()
        path = os.path.join(fed.dir, "decl.json")
        L.declaration(path, "AUTO000000001", L.containers("AUTU", 1, "AU"), ["rail"])
        r = L.ctl(fed["CQ"], "declare", "--canonical", "--itin", "CQ,SN,SH", "--kind",
                  "rail_transit", "--repeat", str(N), "--wait", "0", path, timeout=120)
        L.must(r, "declare --repeat")
        sn = fed["SN"]
        # mid-stream: some releases at SN applied (and passed), not all
        wait_for(lambda: phase_count(sn, "released") + phase_count(sn, "arrived")
                 + phase_count(sn, "controlled") + phase_count(sn, "written_off")
                 >= N // 4, 60, "SN to hold a quarter of the releases", interval=0.01)
        sn.kill()
        time.sleep(0.3)
        sn.start()
        for n in fed.nodes.values():
            wait_for(lambda: phase_count(n, "written_off") >= N, 60,
                     f"{N} movements written off at {n.id}", interval=0.1)
        for n in fed.nodes.values():
            red, base = n.redis, f"eport:{n.id}:v1:mv:"
            refs = red.cmd("SMEMBERS", base + "phase:written_off")
            check(len(refs) == N, f"{n.id}: {len(refs)} written off, not {N}")
            for ref in refs:
                ln = red.cmd("LLEN", base + ref.decode() + ":log")
                check(ln == EVENTS, f"{n.id}: {ref.decode()} has {ln} log entries, "
                      f"not {EVENTS}")
                bad = red.cmd("HLEN", base + ref.decode() + ":refused")
                check(bad == 0, f"{n.id}: {ref.decode()}: {bad} events refused "
                      "(a step sent twice?)")
            refused = [a for a in L.alerts(n) if a[0] == "ledger-refused"]
            check(not refused, f"{n.id}: ledger refusals: {refused[:3]}")


if __name__ == "__main__":
    sys.exit(main([test_auto_kill9_transit]))
