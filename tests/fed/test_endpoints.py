"""A peer's several endpoints (instances of one node, docs/ha.md): CQ lists
two for SC, and the first is alive but useless, as an instance cut off from
its Redis is: it completes the CURVE handshake with SC's keys, takes every
frame and acknowledges none. ZeroMQ heartbeats keep the connection up, so
only the sender can tell: after NODE_STALL_MS (5 s) without an ack CQ moves
to SC's next endpoint (log `endpoint_switch ... why="no acks"`), and every
record arrives there exactly once."""
import os
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zmq  # noqa: E402

from fedlib import Fed, check, check_exactly_once, record, wait_for  # noqa: E402
from fedrun import main  # noqa: E402

PAIR = {"CQ": ("CQ", ["SC"], {}), "SC": ("SC", ["CQ"], {})}


class Sink:
    """A ROUTER with SC's CURVE keys that swallows frames and answers
    nothing: an instance that cannot reach its Redis."""

    def __init__(self, pki):
        self.ctx = zmq.Context()
        self.s = self.ctx.socket(zmq.ROUTER)
        self.s.linger = 0
        self.s.curve_server = True
        with open(os.path.join(pki, "SC.curve.key")) as f:
            self.s.curve_secretkey = f.read().strip().encode()
        with open(os.path.join(pki, "SC.curve.pub")) as f:
            self.s.curve_publickey = f.read().strip().encode()
        self.port = self.s.bind_to_random_port("tcp://127.0.0.1")
        self.frames, self.stop = 0, threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    @property
    def endpoint(self):
        return f"tcp://127.0.0.1:{self.port}"

    def _run(self):
        while not self.stop.is_set():
            if self.s.poll(100):
                self.s.recv_multipart()
                self.frames += 1

    def close(self):
        self.stop.set()
        self.t.join()
        self.s.close()
        self.ctx.term()


def test_useless_instance_left():
    with Fed(topology=PAIR) as fed:
        sink = Sink(fed.pki)
        try:
            cq, sc = fed["CQ"], fed["SC"]
            cq.peer_endpoints = {"SC": [sink.endpoint, sc.endpoint]}
            cq.write_config()
            fed.start_all()
            batch = cq.send(["SC"], 200, record(0), ref="stall")
            ib = fed.wait_inbox("SC", 200, timeout=45)
            check_exactly_once(ib, [batch], "CQ")
            check(sink.frames > 0, "CQ never sent to the first endpoint: the test "
                  "did not test the stall")
            log = wait_for(lambda: "no acks" in cq.log_text() and cq.log_text(), 5,
                           "CQ to log why it left the first endpoint")
            line = next(x for x in log.splitlines() if "endpoint_switch" in x and
                        "no acks" in x)
            check(sink.endpoint in line and sc.endpoint in line,
                  f"the switch does not name both endpoints: {line}")
        finally:
            sink.close()


if __name__ == "__main__":
    sys.exit(main([test_useless_instance_left]))
