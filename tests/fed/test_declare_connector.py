"""Declarations open movements through the real connectors
(docs/connectors.md, "Declarations open movements"), on the five-node
federation with every step of ledger.auto: the rail-sea scenario of
docs/clearance.md fed to SN as its operators send it — the rail waybill
(IFTMIN EDIFACT) dropped into a file drop, the sea bill of lading and the
customs declaration POSTed as JSON to the HTTP API (the declaration's
connector has `declare: true`). Nobody types an itinerary: the movement
SN > SH comes from the declaration's legs, its documents are the three
linked by container, it is released exactly once and runs by itself to
written off, seen alike at SN, SH and NC. The same declaration POSTed
again with its Idempotency-Key stores nothing new; a second one for the
same containers (in the same request) is refused, naming the winner.
`eportctl declare` without --itin derives the itinerary the same way.

The declaration and the bill of lading are JSON in the canonical record's
shape (tests/fed/data/); two test-only tables read them, added to a copy
of mappings/ for SN."""
import http.client
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connlib import client, configure, drop, files, key_hash  # noqa: E402
from fedlib import FIVE, ROOT, Fed, check, port_open, wait_for  # noqa: E402
from fedrun import main  # noqa: E402
import ledgerlib as L  # noqa: E402

LEDGER = {"national": "NC", "time_limit_h": 1,
          "auto": ["release", "passage", "arrival", "control", "write_off"]}
KEY_CUSTOMS = "test-key-sn-customs-declarations"
KEY_SHIP = "test-key-sn-shipping-line-bills"
TEST_MAPS = os.path.join(ROOT, "tests", "fed", "data", "mappings")
WAYBILL = os.path.join(L.SAMPLES, "iftmin-rail", "xa-rail-02.edi")
BILL = os.path.join(L.DATA, "sh-sea-bill-of-lading.json")
DECL = os.path.join(L.DATA, "sn-rail-sea-declaration.json")
WANT_DOCS = ("customs_declaration:900020240000318842",
             "rail_waybill:61XAG2403070031", "sea_bill_of_lading:HOLN24SHA0413790")


def mappings_copy(fed):
    """mappings/ plus the test tables, for SN."""
    d = os.path.join(fed.dir, "mappings")
    shutil.copytree(os.path.join(ROOT, "mappings"), d)
    for name in os.listdir(TEST_MAPS):
        shutil.copy(os.path.join(TEST_MAPS, name), d)
    return d


def setup_sn(fed):
    sn = fed["SN"]
    inbox = os.path.join(fed.dir, "drop", "rail")
    configure(sn, [
        {"name": "rail-drop", "type": "filedrop", "dir": inbox, "client": "xa-rail",
         "mapping": "iftmin-rail"},
        {"name": "shipping", "type": "http"},
        {"name": "customs", "type": "http", "declare": True},
    ], [client("xa-rail", "rail-drop", kinds=["waybill"]),
        client("holn", "shipping", KEY_SHIP, kinds=["manifest"]),
        client("sn-customs", "customs", KEY_CUSTOMS, kinds=["declaration"])],
        api={"rate_per_s": 0})
    with open(sn.conf) as f:
        text = f.read()
    old = f"  dir: {ROOT}/mappings\n"
    check(old in text, f"{sn.conf}: no mappings dir to replace")
    with open(sn.conf, "w") as f:
        f.write(text.replace(old, f"  dir: {mappings_copy(fed)}\n"))
    return inbox


def api(node, method, path, key, body=None, headers=None):
    """(status, parsed JSON body) of one request to node's HTTP API."""
    c = http.client.HTTPConnection("127.0.0.1", node.http, timeout=30)
    h = {"Authorization": f"Bearer {key}", **(headers or {})}
    c.request(method, path, body, h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data or b"{}")


def post(node, key, mapping, body, idem=None):
    status, j = api(node, "POST", f"/v1/messages?map={mapping}", key, body,
                     {"Idempotency-Key": idem} if idem else None)
    check(status == 202, f"POST map={mapping}: {status} {j}")
    return j["messages"]


def msg_status(node, mid, key, want):
    """The message's status once it is one of want (dispatch has run)."""
    def done():
        status, j = api(node, "GET", f"/v1/messages/{mid}", key)
        return j if status == 200 and j.get("status") in want else None
    return wait_for(done, 20, f"message {mid} at {node.id} to be {'/'.join(want)}")


def waybill_dispatched(sn, inbox):
    """The rail waybill taken from the drop and dispatched (remembered)."""
    drop(inbox, "xa-rail-02.edi", open(WAYBILL, "rb").read())
    wait_for(lambda: files(os.path.join(inbox, "done")) == ["xa-rail-02.edi"], 15,
             "the rail waybill in done/")

    wait_for(lambda: sn.redis.cmd("SCARD", "eport:SN:v1:ldoc:c:TBJU3188026"), 15,
             "SN to remember the rail waybill under its containers")


def test_declaration_opens_movement():
    with Fed(FIVE, ledger=LEDGER) as fed:
        inbox = setup_sn(fed)
        fed.start_all()
        sn = fed["SN"]
        wait_for(lambda: port_open(sn.http), 15, "SN's HTTP API")
        waybill_dispatched(sn, inbox)
        bill = post(sn, KEY_SHIP, "fedtest-bill", open(BILL, "rb").read())
        check(bill[0]["kind"] == "manifest", f"bill of lading stored as {bill}")
        msg_status(sn, bill[0]["id"], KEY_SHIP, ("dispatched",))
        # the declaration, and the same again in the request: the second
        # claims the same containers and must lose to the first
        one = open(DECL, "rb").read().strip()
        body = b"[" + one + b"," + one + b"]"
        decl = post(sn, KEY_CUSTOMS, "fedtest-declaration", body, idem="sn-decl-0042")
        check(len(decl) == 2, f"declarations stored: {decl}")
        first = msg_status(sn, decl[0]["id"], KEY_CUSTOMS, ("declared", "refused"))
        check(first["status"] == "declared", f"the declaration: {first}")
        ref = first["refs"]
        check(len(ref) == 18 and ref[2:4] == "SN", f"reference {ref} is not SN's")
        second = msg_status(sn, decl[1]["id"], KEY_CUSTOMS, ("declared", "refused"))
        check(second["status"] == "refused" and ref in second.get("detail", ""),
              f"the double declaration: {second}")
        again = post(sn, KEY_CUSTOMS, "fedtest-declaration", body, idem="sn-decl-0042")
        check([m["id"] for m in again] == [m["id"] for m in decl] and
              all(m["duplicate"] for m in again), f"retried POST stored {again}")
        js = L.agree([sn, fed["SH"], fed["NC"]], ref, "written_off")
        for nid, j in js.items():
            check(j.count("declared") == 1 and j.count("released") == 1,
                  f"{nid}: {j.count('declared')} declared, {j.count('released')} "
                  f"released of {ref}")
            check(j.stops.get("SH") == "arrived", f"{nid}: SH's stop is {j.stops}")
        decl_step = js["SH"].steps[0]["rest"]
        for want in ("kind=rail_sea_export", "itin=SN>SH", *WANT_DOCS):
            check(want in decl_step, f"declared event at SH lacks {want}: {decl_step}")
        by_ctr = L.trace(fed["NC"], "TBJU3188026")
        check(by_ctr and by_ctr.ref == ref, "NC does not find the movement by container")
        for n in (sn, fed["SH"]):
            r = L.verify(n, ref)
            check(r.returncode == 0, f"verify {ref} at {n.id}: {r.stdout[-300:]}")
        ctl_without_itin(fed)


def ctl_without_itin(fed):
    """eportctl declare, no --itin: SN > SH from the legs, as dispatch does."""
    ctrs = L.containers("TBJU", 1, "XI")
    path = os.path.join(fed.dir, "xi-decl.json")
    L.declaration(path, "XI" + ctrs[0][0][4:], ctrs, ["rail", "sea"])
    with open(path) as f:
        rec = json.load(f)
    rec["legs"][0].update({"from": "CNXIY", "to": "CNSHA"})
    rec["legs"][1].update({"from": "CNSHA", "to": "DEHAM"})
    with open(path, "w") as f:
        json.dump(rec, f)
    r = L.ctl(fed["SN"], "declare", "--canonical", path)
    out = L.must(r, "declare without --itin at SN")
    ref = out.split("ref=")[1].split()[0]
    j = L.wait_event(fed["SH"], ref, "declared")
    check("itin=SN>SH" in j.steps[0]["rest"], f"declared without --itin: {j.steps[0]}")


if __name__ == "__main__":
    sys.exit(main([test_declaration_opens_movement]))
