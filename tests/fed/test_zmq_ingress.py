"""ZeroMQ ingress of a real eportd (docs/connectors.md, "ZeroMQ"): 10,000
msgpack requests from one DEALER client, pipelined, each answered 202 only
once stored (the first replies are checked against Redis the moment they
arrive), every acknowledged id stored exactly once, counts matching; a REQ
client works too; an unknown key is 401, a malformed body 422 with
`body:L:C: error:` problems, garbage 400, an oversized body 413, each
refusal logged. FED_ZMQ_N changes the 10,000."""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import msgpack  # noqa: E402
import zmq  # noqa: E402
from connlib import (ONE, check_stored_once, client, configure, doc_of, messages,  # noqa: E402
                     prefix, start, waybill)
from fedlib import ROOT, Fed, check, free_port  # noqa: E402
from fedrun import Group, main  # noqa: E402

N = int(os.environ.get("FED_ZMQ_N", "10000"))
WINDOW = 256      # requests in flight
KEY = "bulk-key-1"
BAD = os.path.join(ROOT, "mappings/samples/bad/truncated.edi")


class Ctx:
    ep = None


def make():
    return Fed(ONE)


def setup(fed):
    cq = fed["CQ"]
    Ctx.ep = f"tcp://127.0.0.1:{free_port()}"
    configure(cq, [{"name": "bulk", "type": "zmq", "listen": Ctx.ep}],
              [client("bulk-sys", "bulk", key=KEY)],
              api={"rate_per_s": 0, "max_body_bytes": 65536})
    start(cq)


def socket(kind=zmq.DEALER):
    s = zmq.Context.instance().socket(kind)
    s.setsockopt(zmq.RCVTIMEO, 30000)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(Ctx.ep)
    return s


def request(cid, body, key=KEY, **more):
    return msgpack.packb(dict({"v": 1, "key": key, "cid": cid, "body": body}, **more),
                         use_bin_type=True)


def test_volume(fed):
    cq = fed["CQ"]
    s = socket()
    sent, replies, t0 = 0, {}, time.monotonic()
    while len(replies) < N:
        while sent < N and sent - len(replies) < WINDOW:
            s.send(request(sent, waybill(sent, "ZQ")))
            sent += 1
        r = msgpack.unpackb(s.recv(), raw=False)
        check(r.get("cid") not in replies, f"two replies for cid {r.get('cid')}")
        replies[r.get("cid")] = r
        if len(replies) <= 20 and r.get("status") == 202:  # stored when acked?
            key = prefix(cq) + "v1:msg:" + r["ids"][0]
            check(cq.redis.cmd("EXISTS", key) == 1, f"acked {r['ids'][0]} is not in Redis")
    dt = time.monotonic() - t0
    s.close()
    bad = [r for r in replies.values() if r.get("status") != 202]
    check(not bad, f"{len(bad)} requests not 202, e.g. {bad[:1]}")
    check(sorted(replies) == list(range(N)), "cids do not come back one each")
    ids = [i for r in replies.values() for i in r["ids"]]
    check(len(ids) == N and len(set(ids)) == N, f"{len(ids)} ids, {len(set(ids))} distinct")
    msgs = check_stored_once(cq, "bulk", [doc_of(i, "ZQ") for i in range(N)])
    check(set(ids) == set(msgs), "the acknowledged ids are not the stored ones")
    sys.stderr.write(f"zmq volume: {N} in {dt:.1f}s = {N / dt:.0f}/s (ASan build)\n")


def test_req_client(fed):
    s = socket(zmq.REQ)
    s.send(request("req-1", waybill(1, "RQ")))
    r = msgpack.unpackb(s.recv(), raw=False)
    s.close()
    check(r.get("status") == 202 and r.get("cid") == "req-1", f"REQ reply {r}")


def test_refusals(fed):
    cq = fed["CQ"]
    since, before = len(cq.log_text()), messages(cq, "bulk")
    s = socket()
    with open(BAD, "rb") as f:
        bad = f.read()
    cases = [(request(1, waybill(1, "XX"), key="no-such-key"), 401),
             (request(2, bad), 422),
             (b"\xc1 not msgpack", 400),
             (request(4, b"x" * 70000), 413),
             (request(5, waybill(5, "XX"), map="no-such-mapping"), 422)]
    for frame, want in cases:
        s.send(frame)
        r = msgpack.unpackb(s.recv(), raw=False)
        check(r.get("status") == want, f"got {r.get('status')} not {want}: {r}")
        check(r.get("error"), f"a {want} without an error message: {r}")
    s.close()
    probs = None
    s = socket()
    s.send(request(9, bad))
    probs = msgpack.unpackb(s.recv(), raw=False).get("problems") or []
    s.close()
    check(probs and all(p.startswith("body:") and ": error: " in p for p in probs),
          f"problems not body:L:C: error: ...: {probs}")
    log = cq.log_text()[since:]
    check("event=zmq_refused" in log and "status=401" in log,
          "the 401 refusal is not in the log")
    check(messages(cq, "bulk") == before, "refused requests stored something")


if __name__ == "__main__":
    sys.exit(main([Group(make, setup, [test_volume, test_req_client, test_refusals])]))
