"""Clear once: the four movement kinds of docs/clearance.md, each through
its whole lifecycle across the five-node federation CQ SC SN SH NC (every
node a peer of every other, NC the national center): declared at the
region of departure, released once, recorded at every region on the way,
written off at departure. Each test checks that every node of the
itinerary and NC agree on the journey (`eportctl trace`), that the
release is in every log exactly once, and that `eportctl verify` holds
the signed history at each of them. One federation serves all four."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedlib import FIVE, Fed, check  # noqa: E402
from fedrun import Group, main  # noqa: E402
import ledgerlib as L  # noqa: E402

LEDGER = {"national": "NC", "time_limit_h": 1}


def make():
    return Fed(FIVE, ledger=LEDGER)


def lifecycle(fed, ref, itin, status=None):
    """From declared to written off, each step by its owner."""
    dep, dest, transit = fed[itin[0]], fed[itin[-1]], [fed[r] for r in itin[1:-1]]
    watchers = [fed[r] for r in itin] + [fed["NC"]]
    L.mv(dep, "risk", ref, "--result", "cleared")
    L.mv_retry(dep, "release", ref, "--guarantee", "GUA-" + ref[-6:])
    for t in transit:
        L.wait_phase(t, ref, "released")
        L.mv(t, "pass", ref, "--place", "CN" + t.region + "X")
    L.wait_phase(dest, ref, "released", events=3 + len(transit))
    if status:
        L.mv(dest, "status", ref, "--result", status[0], "--place", status[1])
    L.mv(dest, "arrive", ref)
    L.mv(dest, "control", ref, "--result", "ok")
    L.wait_phase(dep, ref, "controlled")
    L.mv(dep, "writeoff", ref)
    js = L.agree(watchers, ref, "written_off")
    for nid, j in js.items():
        check(j.count("released") == 1, f"{nid}: {j.count('released')} releases of {ref}")
        check(j.count("declared") == 1, f"{nid}: {j.count('declared')} declarations of {ref}")
        for t in transit:
            check(j.stops.get(t.region) == "passed", f"{nid}: stop {t.region} is "
                  f"{j.stops.get(t.region)}, not passed")
        check(j.stops.get(dest.region) == "arrived", f"{nid}: destination stop "
              f"{j.stops.get(dest.region)}")
    for n in watchers:
        r = L.verify(n, ref)
        check(r.returncode == 0, f"verify {ref} at {n.id}: exit {r.returncode}: "
              f"{r.stdout[-400:]} {r.stderr.strip()[-300:]}")
        check(r.stdout.count(" ok") == len(js[n.id].steps) + 1,
              f"verify at {n.id} printed {r.stdout.count(' ok')} ok lines")
    return js


def fresh_decl(fed, name, owner, n, modes, prefix):
    ctrs = L.containers(owner, n, prefix)
    path = os.path.join(fed.dir, name + ".json")
    L.declaration(path, f"{prefix}{ctrs[0][0][4:10]}{len(name):02d}", ctrs, modes)
    return path, ctrs


def test_rail_sea_export(fed):
    """SN rail terminal -> SH seaport: the declaration, the rail waybill as
    the operator's EDIFACT sent it and the sea bill of lading, linked by
    their containers; SH loads on the strength of SN's release."""
    files = [os.path.join(L.DATA, "sn-rail-sea-declaration.json"),
             os.path.join(L.DATA, "sh-sea-bill-of-lading.json"),
             os.path.join(L.SAMPLES, "iftmin-rail", "xa-rail-02.edi")]
    ref, _, _ = L.declare(fed["SN"], files, ["SN", "SH"])
    check(ref[2:4] == "SN", f"reference {ref} is not of SN")
    js = lifecycle(fed, ref, ["SN", "SH"], status=("loaded", "CNSHA"))
    decl = js["SH"].steps[0]["rest"]
    for want in ("kind=rail_sea_export", "rail_waybill:61XAG2403070031",
                 "sea_bill_of_lading:HOLN24SHA0413790", "TBJU3189779[SX1187421+XA0093516]",
                 "pkgs=160"):
        check(want in decl, f"declared event at SH lacks {want}: {decl}")
    by_ctr = L.trace(fed["SH"], "TBJU3188026")
    check(by_ctr and by_ctr.ref == ref, "trace by container does not find the movement")
    by_doc = L.trace(fed["NC"], "61XAG2403070031")
    check(by_doc and by_doc.ref == ref, "trace by waybill number does not find it at NC")


def iftsta(path, ctr, events):
    """An IFTSTA D:04A interchange as the barge line's system sends it: one
    message per (Rec. 24 code, UN/LOCODE, text) event of container ctr."""
    segs = ["UNA:+.? '", "UNB+UNOC:3+YSHSHIP:ZZZ+CQEPORT:ZZZ+240319:0300+YS1'"]
    for i, (code, loc, text) in enumerate(events, 1):
        body = [f"UNH+M{i}+IFTSTA:D:04A:UN'", f"BGM+44+YSST{i:08d}+9'",
                "DTM+137:202403091420:203'", "RFF+BM:YSCKGSHA2411001'",
                "CNI+1+YSCKGSHA2411001'", f"LOC+175+{loc}:139:6'",
                f"STS+1+{code}::6:{text}'", "DTM+334:202403091415:203'",
                f"EQD+CN+{ctr}+45G1:102:5+2++5'"]
        segs += body + [f"UNT+{len(body) + 1}+M{i}'"]
    segs.append(f"UNZ+{len(events)}+YS1'")
    with open(path, "w") as f:
        f.write("\n".join(segs) + "\n")


def test_water_transship(fed):
    """CQ barge on the Yangtze -> SH transshipment to a vessel; the barge
    line's IFTSTA events (gate in, loaded, departed at Chongqing; discharged
    at Shanghai) go through the mappings and join the journey everywhere."""
    path, ctrs = fresh_decl(fed, "cq-barge", "CBHU", 3, ["inland_water", "sea"], "YS")
    ref, _, _ = L.declare(fed["CQ"], [path], ["CQ", "SH"])
    cq_events = os.path.join(fed.dir, "cq-iftsta.edi")
    iftsta(cq_events, ctrs[0][0], [("74", "CNCKG", "GATE IN FULL"),
                                   ("48", "CNCKG", "LOADED ON BARGE"),
                                   ("24", "CNCKG", "BARGE DEPARTED")])
    r = L.ctl(fed["CQ"], "attach", cq_events)
    L.must(r, "attach at CQ")
    check(r.stdout.count(f"ref={ref} ") == 3, f"CQ attached {r.stdout!r}")
    stray = os.path.join(fed.dir, "stray-iftsta.edi")
    iftsta(stray, "MSKU1234565", [("74", "CNCKG", "GATE IN FULL")])
    r = L.ctl(fed["CQ"], "attach", stray)
    check(r.returncode == 0 and "no open movement" in r.stderr,
          f"a container under no movement: exit {r.returncode} {r.stderr.strip()}")
    js = lifecycle(fed, ref, ["CQ", "SH"], status=("transshipped", "CNSHA"))
    check("kind=water_transship" in js["CQ"].steps[0]["rest"], "kind not water_transship")
    for nid, j in js.items():
        got = [s["rest"] for s in j.steps if s["event"] == "status"]
        for want in ("res=gate_in", "res=loaded", "res=departed", "res=transshipped"):
            check(any(want in g for g in got), f"{nid}: no status {want} in {got}")


def test_rail_transit(fed):
    """CQ -> SC -> SN (exit), China-Europe rail: passage recorded at SC."""
    path, _ = fresh_decl(fed, "cq-rail", "TGHU", 2, ["rail"], "CR")
    ref, _, _ = L.declare(fed["CQ"], [path], ["CQ", "SC", "SN"], kind="rail_transit")
    js = lifecycle(fed, ref, ["CQ", "SC", "SN"], status=("departed", "CNCKG"))
    check(js["SC"].count("passage") == 1, "SC has no single passage")
    check(L.trace(fed["SH"], ref) is None, "SH, off the itinerary, keeps the movement")


def test_import_transfer(fed):
    """SH entry port -> rail -> CQ inland destination, declared once at SH."""
    path, _ = fresh_decl(fed, "sh-import", "MSCU", 2, ["sea", "rail"], "SH")
    ref, _, _ = L.declare(fed["SH"], [path], ["SH", "CQ"])
    js = lifecycle(fed, ref, ["SH", "CQ"])
    check("kind=import_transfer" in js["CQ"].steps[0]["rest"], "kind not import_transfer")


if __name__ == "__main__":
    sys.exit(main([Group(make, lambda f: f.start_all(),
                         [test_rail_sea_export, test_water_transship,
                          test_rail_transit, test_import_transfer])]))
