"""Cross-border e-commerce: a parcel's four documents matched across
regions (issue #12, docs/cbec.md) on real eportd processes and Redis, the
line SC - CQ - SH (SC and SH reach each other through CQ).

Every node routes parcels cleared by the Chongqing customs district to CQ
(cbec_routes: customs 80, order numbers CQ..., the logistics company), and
every node has an HTTP connector for the parties' CEB XML. Parcel A of the
CEB samples (order CEB311, payment CEB411, waybill CEB511, inventory list
CEB621) is sent as 24 parcels, one per order of arrival of the four
documents, each document to another node than the one before (SH, SC, CQ
in turn): every set ends matched at CQ, with each document once, whatever
the order and wherever it came in. Then: a payment whose amount differs
(mismatched, the field named, the buyer's identity number never shown
whole); the same document twice and a duplicate under another id (no
change); a conflicting order refused until sent as a change; an order
alone past the time limit (expired, naming what never came) and a late
payment refused; `eportctl cbec status` and GET /v1/cbec/{orderNo} agree."""
import concurrent.futures
import itertools
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import connlib  # noqa: E402
from connlib import client, configure  # noqa: E402
from fedlib import LINE, ROOT, Fed, check, port_open, wait_for  # noqa: E402
from fedrun import Group, main  # noqa: E402

KEY = "test-key-cbec-parties-000000001"
SAMPLES = os.path.join(ROOT, "mappings", "samples")
DOCS = {  # the four documents of parcel A, as its parties send them
    "order": os.path.join(SAMPLES, "ceb311-order", "cq-jd-parcel-a.xml"),
    "payment": os.path.join(SAMPLES, "ceb411-payment", "cq-tenpay-parcel-a-signed.xml"),
    "waybill": os.path.join(SAMPLES, "ceb511-waybill", "cq-parcel-a-yto.xml"),
    "inventory": os.path.join(SAMPLES, "ceb621-inventory", "cq-jd-parcel-a.xml"),
}
ORDER_NO, WAYBILL_NO, PAY_NO = "CQJD2026112400017", "YT8800123456781", "4200002026112400017"
COP_NO = "YGT621CQ2611240017"  # the inventory list's own number
RELEASE = os.path.join(SAMPLES, "ceb622-inventory-receipt", "cq-jd-parcel-a-released.xml")
WITHDRAWAL = os.path.join(SAMPLES, "ceb623-withdrawal", "cq-tmall-parcel-b-cancelled.xml")
WITHDRAWN_ORDER = "CQTM2026112400233"  # the one that sample withdraws
RETURN = os.path.join(SAMPLES, "ceb625-return", "cq-jd-parcel-a-damaged.xml")  # 1 of 2 tins
ID_NUMBER = "500103199203154426"
BUYER2 = "500112199607083026"  # another buyer of Chongqing
BUYER3 = "500102198808081230"  # and a third
LIMIT_S = 4  # the match time limit, short for the expiry test


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# What a region's parcels are cleared by: its customs district's offices
# and logistics company (parcel A's, made that region's).
REGION = {"CQ": ("8013", "5001980022"), "SC": ("7901", "5101980022"),
          "SH": ("2249", "3101980022")}


def cop(n):
    """Parcel n's inventory list number (as long as the sample's)."""
    return f"YGT621CQ26119{n:05d}"


def parcel(n, region="CQ"):
    """Parcel A's documents as parcel n cleared in region: its own order,
    waybill and payment numbers (same length, so nothing else moves), its
    region's customs office and logistics company."""
    order = f"{region}JD2026119{n:06d}"
    wb, pay = f"YT88001{n:08d}", f"42000020261199{n:05d}"
    office, carrier = REGION[region]
    out = {}
    for doc, path in DOCS.items():
        out[doc] = (read(path).replace(ORDER_NO, order).replace(WAYBILL_NO, wb)
                    .replace(PAY_NO, pay).replace(COP_NO, cop(n))
                    .replace(">8013<", f">{office}<")
                    .replace("5001980022", carrier))
    return order, out


def configure_all(fed):
    """Every node: the parties' connector, the same routes (each region's
    customs district, order prefix and logistics company to its node) and
    the federation's identity key."""
    routes = "cbec_routes:\n" + "".join(
        f"  - {{customs: '{REGION[r][0][:2]}', node: {r}}}\n"
        f"  - {{order_prefix: {r}, node: {r}}}\n"
        f"  - {{carrier: '{REGION[r][1]}', node: {r}}}\n" for r in REGION)
    key = os.path.join(fed.dir, "cbec-id.key")
    with open(key, "wb") as f:
        f.write(os.urandom(32))
    for n in fed.nodes.values():
        configure(n, [{"name": "ceb", "type": "http"}], [client("parties", "ceb", KEY)])
        with open(n.conf, "a") as f:
            f.write(routes + f"cbec:\n  id_key: {key}\n")
            if n.id == "CQ":  # and CQ seals its sets' documents at rest
                data = os.path.join(fed.dir, "cq-data.key")
                with open(data, "wb") as k:
                    k.write(os.urandom(32))
                f.write(f"  match_timeout_s: {LIMIT_S}\n  data_key: {data}\n")


def make():
    return Fed(LINE)


def start(fed):
    configure_all(fed)
    fed.start_all()
    for n in fed.nodes.values():
        wait_for(lambda: port_open(n.http), 15, f"{n.id}'s HTTP API")


def api(node, method, path, data=None):
    return connlib.api(node, method, path, KEY, data, {"Content-Type": "application/xml"})


def send(node, xml):
    """POSTs one CEB message; its message id."""
    status, j = api(node, "POST", "/v1/messages", xml.encode())
    check(status == 202, f"POST to {node.id}: {status} {j}")
    return j["messages"][0]["id"]


def message(node, mid, want=None):
    """The message's status at node once dispatched (status in want)."""
    def done():
        status, j = api(node, "GET", f"/v1/messages/{mid}")
        ok = status == 200 and j.get("status") not in (None, "accepted")
        return j if ok and (not want or j["status"] in want) else None
    return wait_for(done, 20, f"message {mid} dispatched at {node.id}")


def cbec_set(node, order):
    status, j = api(node, "GET", f"/v1/cbec/{order}")
    return j if status == 200 else None


def state_is(node, order, want):
    def ok():
        j = cbec_set(node, order)
        return j if j and j["state"] == want else None
    return wait_for(ok, 30, f"set {order} {want} at {node.id} "
                    f"(now {cbec_set(node, order)})")


# ---- tests -------------------------------------------------------------------


def test_every_order_three_nodes(fed):
    """24 parcels, one per order of arrival of the four documents; the
    documents of one parcel come in at SH, SC and CQ in turn."""
    nodes = [fed["SH"], fed["SC"], fed["CQ"]]
    parcels = []
    for i, perm in enumerate(itertools.permutations(DOCS)):
        order, docs = parcel(i + 1)
        for k, doc in enumerate(perm):
            node = nodes[(i + k) % 3]
            mid = send(node, docs[doc])
            st = message(node, mid)
            want = "attached" if node.id == "CQ" else "forwarded"
            check(st["status"] == want, f"{doc} of {order} at {node.id}: {st}")
        parcels.append(order)
    cq = fed["CQ"]
    for order in parcels:
        j = state_is(cq, order, "matched")
        docs = j["documents"]
        check(all(docs[d] and docs[d]["id"] for d in DOCS), f"{order}: {docs}")
        check(j["why"] == "" and j["logistics_no"].startswith("YT88001"), f"{order}: {j}")
        # the order's taxTotal: 485 x 13 % VAT x 70 % (code lists cbec_tax_rates, cbec_limits)
        check(j.get("tax") == "44.14 CNY (70% of VAT and consumption tax, duty 0)",
              f"{order}: tax {j.get('tax')}")
    for node in (fed["SH"], fed["SC"]):  # nothing is matched where it came in
        check(cbec_set(node, parcels[0]) is None, f"{node.id} holds a set of {parcels[0]}")
    text = cq.ctl("cbec", "status", parcels[0], "--config", cq.conf).stdout
    check("state matched\n" in text and "inventory " in text, f"eportctl cbec status:\n{text}")
    js = json.loads(cq.ctl("cbec", "status", parcels[0], "--json", "--config", cq.conf).stdout)
    check(js == cbec_set(cq, parcels[0]), f"eportctl --json {js} vs HTTP {cbec_set(cq, parcels[0])}")


def test_mismatch_named(fed):
    """A payment for less than the order: mismatched, the field named; the
    identity number appears nowhere whole (CQ's log, the set's why)."""
    order, docs = parcel(101)
    pay = docs["payment"].replace("<ceb:amountPaid>509.14<", "<ceb:amountPaid>500.00<")
    check(pay != docs["payment"], "the sample's amountPaid is 509.14")
    payer = pay.replace(ID_NUMBER, "500103199203154434")  # another person
    send(fed["SC"], docs["order"])
    send(fed["SH"], payer)
    j = state_is(fed["CQ"], order, "mismatched")
    check("payment: cbec.paid: order says 509.14, payment says 500" in j["why"], j["why"])
    check("5001**********4434" in j["why"] and "500103199203154434" not in j["why"], j["why"])
    check(ID_NUMBER not in fed["CQ"].log_text(), "identity number in CQ's log")


def test_sealed_at_rest(fed):
    """CQ (cbec.data_key) keeps its sets' documents sealed: no value under
    its v1:cb: keys holds an identity number, a buyer's name or phone,
    while SC, which seals nothing, holds them in the clear; the sets still
    match (every-order-three-nodes) and the same document twice is still
    a duplicate (once-and-changes)."""
    def values(node):
        out = []
        for k in node.redis.cmd("KEYS", f"eport:{node.id}:v1:cb:*"):
            t = node.redis.cmd("TYPE", k)
            t = t.decode() if isinstance(t, bytes) else t
            if t == "hash":
                out += node.redis.cmd("HGETALL", k)
            elif t == "string":
                out.append(node.redis.cmd("GET", k))
        return b"\0".join(v for v in out if isinstance(v, bytes))
    cq = values(fed["CQ"])
    check(cq and b"CQJD20261190" in cq, "CQ holds sets")
    for secret in (ID_NUMBER, "李晓梅", "13983012345"):
        check(secret.encode() not in cq, f"{secret} in the clear in CQ's sets")
    order, docs = parcel(104, "SC")
    for d in DOCS:
        send(fed["SC"], docs[d])
    state_is(fed["SC"], order, "matched")
    check(ID_NUMBER.encode() in values(fed["SC"]), "SC seals nothing: the number is there")


def test_once_and_changes(fed):
    """The same message twice, the same document under another message id,
    a conflicting order, then that order as a change (appType 2)."""
    cq = fed["CQ"]
    order, docs = parcel(102)
    send(cq, docs["order"])
    state_is(cq, order, "awaiting")
    st = message(cq, send(cq, docs["order"]))  # a retry: another message id
    check(st["status"] == "attached", f"duplicate: {st}")
    j = cbec_set(cq, order)
    check(j["documents"]["order"] and j["state"] == "awaiting" and
          j["why"] == "awaiting payment, waybill, inventory", f"after the duplicate: {j}")
    other = docs["order"].replace("<ceb:freight>0.00</ceb:freight>", "<ceb:freight>5.00</ceb:freight>")
    check(other != docs["order"], "the sample's freight is 0.00")
    st = message(cq, send(cq, other))
    check(st["status"] == "refused" and "send a change" in st.get("detail", ""),
          f"conflicting order: {st}")
    change = other.replace("<ceb:appType>1</ceb:appType>", "<ceb:appType>2</ceb:appType>")
    check(change != other, "the sample's appType is 1")
    first = cbec_set(cq, order)["documents"]["order"]["id"]
    message(cq, send(cq, change))
    j = cbec_set(cq, order)
    check(j["documents"]["order"]["id"] != first, f"the change replaced the order: {j}")


def allowance(node, order):
    """The set's allowance once the home has answered."""
    def answered():
        j = cbec_set(node, order)
        a = j and j.get("allowance")
        return a if a and a.get("request") == "answered" else None
    return wait_for(answered, 60, f"the allowance answer for {order} at {node.id} "
                    f"(now {cbec_set(node, order)})")


def answers_counted(fed):
    """Allowance answers SC and SH have counted (eport_cbec_sets_total)."""
    return sum(metric_value(fed[r], "eport_cbec_sets_total", f'state="{st}"')
               for r in ("SC", "SH") for st in ("allowance_drawn", "allowance_refused"))


def test_allowance_three_regions(fed):
    """One buyer (identity number 50..., home CQ) clears 1,000 parcels of
    485 CNY at once in SC, CQ and SH against the ¥26,000 year, while CQ,
    the home, is cut off (frozen, SIGSTOP) as SC and SH clear theirs: their
    draws wait for it and are answered once it is back. Exactly 53 draws
    are reserved (25,705), the others refused `insufficient`, whatever
    region asked first. The ledger at CQ is named by the keyed hash; the
    number is neither in its name nor in the home's ledger."""
    regions = ("SC", "CQ", "SH")
    jobs = {r: [] for r in regions}
    counted0 = answers_counted(fed)
    for i in range(1000):  # a buyer of her own: the others drew already
        region = regions[i % 3]
        order, docs = parcel(1000 + i, region)
        jobs[region].append((region, (order, {d: x.replace(ID_NUMBER, BUYER2)
                                              for d, x in docs.items()})))

    def clear(job):
        region, (order, docs) = job
        for doc in ("order", "payment", "waybill", "inventory"):
            send(fed[region], docs[doc])
        return region, order

    def drawn(region, order):
        return (cbec_set(fed[region], order).get("allowance") or {}).get("request")
    cq = fed["CQ"]
    cq.pause()
    try:
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            done = list(pool.map(clear, jobs["SC"] + jobs["SH"]))
        for region, order in done:
            state_is(fed[region], order, "matched")
        early = [o for r, o in done if drawn(r, o) == "answered"]
        check(not early, f"{len(early)} draws answered while the home was cut off")
    finally:
        cq.resume()
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        done += list(pool.map(clear, jobs["CQ"]))
    answers = {}
    for region, order in done:
        state_is(fed[region], order, "matched")
        answers[order] = allowance(fed[region], order)
    ok = [o for o, a in answers.items() if a["answer"] == "ok"]
    refused = {a["answer"] for a in answers.values() if a["answer"] != "ok"}
    check(len(ok) == 53 and refused == {"insufficient"},
          f"{len(ok)} draws reserved (want 53), others {refused}")
    draws = {a["draw"].split()[0] for a in answers.values()}
    check(len(draws) == 1 and draws.pop().startswith("CQ-ALW"), f"one ledger: {draws}")
    pid = answers[ok[0]]["draw"].split()[0]
    check(BUYER2 not in pid, pid)
    show = json.loads(fed["CQ"].ctl("permits", "show", pid, "--json",
                                    "--config", fed["CQ"].conf).stdout)
    text = json.dumps(show)
    check("25705" in text and BUYER2 not in text, f"the home's ledger: {text[:600]}")
    lefts = sorted(float(a["left_cny"]) for o, a in answers.items() if o in ok)
    check(lefts[0] == 295.0, f"left after the last draw: {lefts[0]} (want 295.00)")
    # each clearing node counts its home's answers
    counted = answers_counted(fed) - counted0
    check(counted == len(jobs["SC"]) + len(jobs["SH"]),
          f"allowance answers counted at SC and SH: {counted}")
    # the operator's view: by the number (hashed where it is typed) or the hash
    cq = fed["CQ"]
    by_id = cq.ctl("cbec", "allowance", "--id", BUYER2, "--json", "--config", cq.conf).stdout
    check(BUYER2 not in by_id and json.loads(by_id)["permit"] == pid, by_id[:300])
    h = pid.split("-")[-1]
    st, j = api(cq, "GET", f"/v1/cbec/allowances/{h}")
    check(st == 200 and j["source"] == "ledger" and j == json.loads(by_id), f"{st} {j}")
    st, j = api(fed["SC"], "GET", f"/v1/cbec/allowances/{h}")  # not its home
    check(st == 404, f"SC keeps no allowances of Chongqing buyers: {st} {j}")
    st, j = api(fed["SC"], "GET", f"/v1/cbec/allowances/{h}?home=CQ")
    check(st == 200 and j["source"] == "answer", f"SC's newest answer from CQ: {st} {j}")
    st, j = api(cq, "GET", "/v1/cbec/allowances/not-a-hash")
    check(st == 400 and "32 upper-case hex" in json.dumps(j), f"{st} {j}")


def draws(node, pid):
    """The value balance of allowance pid at its home, in CNY strings."""
    doc = json.loads(node.ctl("permits", "show", pid, "--json", "--config", node.conf).stdout)
    b0 = [b for b in doc["view"]["balances"] if b["line"] == 0]
    check(len(b0) == 1, f"{pid}: {doc}")
    return b0[0]["value"]


def test_release_and_withdrawal(fed):
    """Two matched parcels of one buyer, both drawn on her allowance:
    customs release the first (its draw is confirmed at the home), the
    second is withdrawn (its draw returned); withdrawing the released one
    is refused; part of the released one comes back (CEB625) and what it
    was worth is given back to her allowance, once."""
    cq = fed["CQ"]
    orders, ans = [], None
    for n in (301, 302):  # handed in at SH: CQ takes them from what SH sent
        order, docs = parcel(n)
        for d in DOCS:
            send(fed["SH"], docs[d].replace(ID_NUMBER, BUYER3))
        state_is(cq, order, "matched")
        ans = allowance(cq, order)
        check(ans["answer"] == "ok", f"draw of {order}: {ans}")
        orders.append(order)
    pid = ans["draw"].split()[0]
    check(draws(cq, pid)["reserved"] == "970", f"two draws held: {draws(cq, pid)}")
    st = message(cq, send(cq, read(RELEASE).replace(COP_NO, cop(301))))
    check(st["status"] == "attached" and "released" in st.get("detail", ""), f"release: {st}")
    state_is(cq, orders[0], "released")
    # the inventory list sent again after release: refused, the set closed
    order, docs = parcel(301)
    st = message(cq, send(cq, docs["inventory"].replace(ID_NUMBER, BUYER3)))
    check(st["status"] == "refused" and "is closed: customs: released" in st.get("detail", ""),
          f"the inventory list again after release: {st}")
    st = message(cq, send(cq, read(WITHDRAWAL).replace(WITHDRAWN_ORDER, orders[1])))
    check(st["status"] == "attached", f"withdrawal: {st}")
    j = state_is(cq, orders[1], "withdrawn")
    check(j["why"] == "withdrawn: 消费者取消订单", j["why"])
    wait_for(lambda: draws(cq, pid) == {"total": "26000", "used": "485", "reserved": "0",
                                        "left": "25515"},
             20, f"one draw confirmed, one returned (now {draws(cq, pid)})")
    st = message(cq, send(cq, read(WITHDRAWAL).replace(WITHDRAWN_ORDER, orders[0])))
    check(st["status"] == "refused" and "is released" in st.get("detail", ""),
          f"withdrawal after release: {st}")
    # one of the two tins of formula (396 for 2) comes back: 198 given back,
    # once however often the same return is sent
    ret = read(RETURN).replace(ORDER_NO, orders[0])
    for _ in range(2):
        st = message(cq, send(cq, ret))
        check(st["status"] == "attached" and "worth 198.00 CNY" in st.get("detail", ""),
              f"return: {st}")
    wait_for(lambda: draws(cq, pid)["used"] == "287", 20,
             f"198 given back of the 485 written off (now {draws(cq, pid)})")
    st = message(cq, send(cq, read(RETURN).replace(ORDER_NO, orders[1])))
    check(st["status"] == "refused" and "only goods released" in st.get("detail", ""),
          f"return of a withdrawn parcel: {st}")
    check(draws(cq, pid) == {"total": "26000", "used": "287", "reserved": "0",
                             "left": "25713"}, f"at the end: {draws(cq, pid)}")


def test_expiry(fed):
    """An order alone: expired after the time limit, naming what never
    came; a payment after that is refused with the reason."""
    cq = fed["CQ"]
    order, docs = parcel(103)
    send(fed["SH"], docs["order"])
    state_is(cq, order, "awaiting")
    j = state_is(cq, order, "expired")
    check(j["why"] == "time limit passed with no payment, waybill, inventory", j["why"])
    st = message(cq, send(cq, docs["payment"]))
    check(st["status"] == "refused" and "is closed: time limit passed" in st.get("detail", ""),
          f"late payment: {st}")
    check(cbec_set(cq, order)["documents"]["payment"] is None, "the late payment was kept")


def test_reread_after_restart(fed):
    """CQ restarted with its place in what peers delivered forgotten
    (v1:cb:inpos deleted): every document they sent is taken again, each
    the same as before, sets matched, released, withdrawn or expired stay
    so (release-and-withdrawal's came through SH), and new documents still
    go through."""
    cq = fed["CQ"]
    cq.stop()
    cq.redis.cmd("DEL", "eport:CQ:v1:cb:inpos")
    cq.start()
    wait_for(lambda: port_open(cq.http), 15, "CQ's HTTP API")
    order, docs = parcel(105)
    for i, d in enumerate(DOCS):
        send((fed["SH"], fed["SC"])[i % 2], docs[d])
    state_is(cq, order, "matched")
    first, _ = parcel(1)  # of every-order-three-nodes
    check(cbec_set(cq, first)["state"] == "matched", f"{first}: {cbec_set(cq, first)}")
    released, _ = parcel(301)
    check(cbec_set(cq, released)["state"] == "released", f"{released}: {cbec_set(cq, released)}")
    same = metric_value(cq, "eport_cbec_documents_total", 'outcome="same"')
    check(same > 0, "documents taken again were not seen as the same")


def metric_value(node, name, label):
    """The sum of the /metrics series of family name with label."""
    st, j = connlib.api(node, "GET", "/metrics", KEY)
    text = j.get("raw", "") if isinstance(j, dict) else ""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") and label in line)


if __name__ == "__main__":
    sys.exit(main([Group(make, start, [
        test_every_order_three_nodes, test_mismatch_named, test_sealed_at_rest,
        test_once_and_changes,
        test_allowance_three_regions, test_release_and_withdrawal, test_expiry,
        test_reread_after_restart])]))
