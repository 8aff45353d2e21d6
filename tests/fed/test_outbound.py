"""What a real eportd sends back to local systems (docs/connectors.md,
"Outbound"): the status of each message a file drop connector submitted
(out_events: [message_status]) delivered by webhook to a target that is
down at first, up, down again and back: every record arrives, in order,
nothing lost; by the outbox directory: one file per record, names sorting
in delivery order, no temporary left; by ZeroMQ PUSH to a PULL that binds
late: everything arrives once it is there."""
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connlib import (ONE, Target, client, configure, drop, events, files,  # noqa: E402
                     messages, pos_key, start, waybill)
from fedlib import Fed, check, free_port, wait_for  # noqa: E402
from fedrun import Group, main  # noqa: E402


class Ctx:
    hook_port = push_ep = None


def inbox(fed, name):
    return os.path.join(fed.dir, "drop", name)


def outbox(fed):
    return os.path.join(fed.dir, "outbox")


def make():
    return Fed(ONE)


def setup(fed):
    cq = fed["CQ"]
    Ctx.hook_port, Ctx.push_ep = free_port(), f"tcp://127.0.0.1:{free_port()}"
    outs = {"hook": {"out": "webhook", "out_url": f"http://127.0.0.1:{Ctx.hook_port}/hook"},
            "outd": {"out": "dir", "out_dir": outbox(fed)},
            "push": {"out": "zmq", "out_endpoint": Ctx.push_ep}}
    conns = [dict({"name": n, "type": "filedrop", "dir": inbox(fed, n), "client": n,
                   "out_events": ["message_status"]}, **o) for n, o in outs.items()]
    configure(cq, conns, [client(n, n) for n in outs], api={"rate_per_s": 0})
    start(cq)


def drop_n(fed, conn, first, n):
    """n waybills into conn's inbox; waits until all are in done/."""
    d = inbox(fed, conn)
    for i in range(first, first + n):
        drop(d, f"{conn}{i:04d}.json", waybill(i, conn.upper()[:2]))
    wait_for(lambda: len(files(os.path.join(d, "done"))) >= first + n, 30,
             f"{first + n} files of {conn} in done/")


def reference(body):
    """customs.reference of a canonical JSON record."""
    return (json.loads(body).get("customs") or {}).get("reference")


def delivered(cq, conn):
    return [j for _, _, j in events(cq, "delivered") if j.get("conn") == conn]


def check_in_order(ids, what):
    keys = [pos_key(i) for i in ids]
    bad = [i for i in range(1, len(keys)) if keys[i] < keys[i - 1]]
    check(not bad, f"{what} out of order at {bad[:1]}: {ids[bad[0] - 1:bad[0] + 1] if bad else ''}")


def test_webhook_down_then_back(fed):
    cq, t = fed["CQ"], Target(Ctx.hook_port)
    drop_n(fed, "hook", 0, 30)
    time.sleep(2)  # the target is down: the worker retries, backing off
    check(not delivered(cq, "hook"), "delivered while the target was down")
    t.start()

    def covered():
        refs = {reference(b) for _, _, _, b in t.records()}
        return set(messages(cq, "hook")) <= refs

    wait_for(covered, 45, "every message's status at the webhook", interval=0.3)
    t.stop()
    drop_n(fed, "hook", 30, 30)
    time.sleep(1.5)  # down again, with 30 more waiting
    t.start()
    wait_for(covered, 45, "every message's status at the webhook, after the second outage",
             interval=0.3)
    time.sleep(0.3)
    t.stop()
    got = t.records()
    ids = [r[0] for r in got]
    check_in_order(ids, "webhook records")
    check(all(r[1] == "message_status" for r in got), "X-Eport-Event is not message_status")
    check(all(r[2] == "application/json" for r in got), "Content-Type is not application/json")
    dl = delivered(cq, "hook")
    check(len(dl) == len(set(ids)), f"{len(dl)} delivered events, {len(set(ids))} records")
    check(len(set(messages(cq, "hook"))) == 60, "not 60 messages stored")


def test_dir_in_order(fed):
    cq, out = fed["CQ"], outbox(fed)
    drop_n(fed, "outd", 0, 20)

    def covered():
        refs = set()
        for n in files(out):
            with open(os.path.join(out, n), "rb") as f:
                refs.add(reference(f.read()))
        return set(messages(cq, "outd")) <= refs

    wait_for(covered, 30, "every message's status in the outbox directory", interval=0.3)
    names = files(out)
    check(all(n.endswith("-message_status.json") for n in names), f"names {names[:2]}")
    check(not [n for n in os.listdir(out) if n.startswith(".")], "a temporary file is left")
    pos = ["-".join(n.split("-")[:2]) for n in names]
    check_in_order(pos, "outbox file names")
    order = [j["name"] for j in delivered(cq, "outd")]
    check(order == sorted(order) and sorted(order) == names,
          "the files were not delivered in the order their names sort")


def test_zmq_push_late_peer(fed):
    import msgpack  # noqa: F401  (the ZeroMQ tests' modules)
    import zmq
    cq = fed["CQ"]
    drop_n(fed, "push", 0, 10)
    time.sleep(1)  # nobody bound: nothing may count as delivered
    check(not delivered(cq, "push"), "delivered with no PULL peer")
    s = zmq.Context.instance().socket(zmq.PULL)
    s.setsockopt(zmq.RCVTIMEO, 20000)
    s.setsockopt(zmq.LINGER, 0)
    s.bind(Ctx.push_ep)
    refs, want = set(), set(messages(cq, "push"))
    while not want <= refs:
        ev, body = s.recv_multipart()
        check(ev == b"message_status", f"event frame {ev!r}")
        refs.add(reference(body))
    s.close()
    check(len(want) == 10, f"{len(want)} messages stored, not 10")


if __name__ == "__main__":
    sys.exit(main([Group(make, setup, [test_webhook_down_then_back, test_dir_in_order,
                                       test_zmq_push_late_peer])]))
