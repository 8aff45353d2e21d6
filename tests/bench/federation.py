"""bench federation_a_to_b: two real nodes, CQ -> SH, each eportd with its
own redis-server, signed, persisted, receipted delivery of ~1 KB records.

Prints one line per signature algorithm:
  bench federation_a_to_b msgs_per_s=.. p50_ms=.. p99_ms=.. payload_bytes=1024
        n=.. alg=ed25519|ecdsa-p256

- msgs_per_s: N records are queued at CQ while no daemon runs (`eportctl
  send --repeat` works offline), then both daemons start; the time from
  their start until SH's inbox holds all N and CQ holds a receipt for
  every one (nothing awaiting) is the figure's denominator. Exactly-once
  is checked afterwards (inbox == the ids sent, no duplicates), so the
  figure cannot count a lost or doubled record.
- p50_ms, p99_ms: records sent at a paced 1,000/s for a few seconds
  (`eportctl send --repeat 20` every 20 ms, launched on a fixed schedule:
  each process costs ~9 ms of CPU, under half a core, which is cheaper to
  keep than a C tool needing its own build rule); a record's latency is
  SH's inbox stream position (ms, when SH's Redis stored it) minus the ms
  of its ULID (when CQ created it).
- Both nodes and both Redis share this machine's cores: on separate
  machines each node would have them to itself.
- With the default receipt_timeout_ms (10 s, counted from creation) a
  backlog longer than that draws end-to-end resends of records that are
  still queued; they are part of the figure (the stderr line counts them).
  BENCH_FED_RECEIPT_TIMEOUT_MS=120000 measures the pipeline without them.

Redis runs as tests/fed/fedlib.py starts it: `appendonly yes`,
`appendfsync everysec` (what docs/operations.md asks of production unless a
Redis machine crash must not lose the last second). Delivery uses the
production defaults of the configuration, not fedlib's fast test timers.

Binaries: the release build, bin/eportd and bin/eportctl (env EPORTD,
EPORTCTL override). Env: BENCH_FED_N (30000), BENCH_FED_ALGS
("ed25519,ecdsa-p256"), BENCH_FED_RATE (1000), BENCH_FED_SECONDS (5),
BENCH_FED_BATCH_MS (20), BENCH_FED_RECEIPT_TIMEOUT_MS (10000). Details
(enqueue rate, when the inbox was full, resends) go to stderr. Python
stdlib only; prints `bench federation_a_to_b skipped: why` when
redis-server or the binaries are missing. Exit 1 on a failed check.
"""
import json
import os
import re
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
import benchlib  # noqa: E402
import fedlib  # noqa: E402
from fedlib import Fed, Inbox, check, wait_for  # noqa: E402

N = int(os.environ.get("BENCH_FED_N", "30000"))
ALGS = os.environ.get("BENCH_FED_ALGS", "ed25519,ecdsa-p256").split(",")
RATE = int(os.environ.get("BENCH_FED_RATE", "1000"))
SECONDS = float(os.environ.get("BENCH_FED_SECONDS", "5"))
BATCH_S = float(os.environ.get("BENCH_FED_BATCH_MS", "20")) / 1000
PAYLOAD = 1024
A, B = "CQ", "SH"
TOPOLOGY = {A: (A, [B], {}), B: (B, [A], {})}
# the configuration's defaults (gateway/config_table.c), overriding
# fedlib's fast test timers, which would resend a deep window too early
PRODUCTION_DELIVERY = {"retry_initial_ms": 200, "retry_max_ms": 30000,
                       "heartbeat_ms": 1000, "heartbeat_timeout_ms": 5000,
                       "receipt_timeout_ms": int(os.environ.get(
                           "BENCH_FED_RECEIPT_TIMEOUT_MS", "10000"))}
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def waybill(size):
    """A canonical JSON waybill of exactly size bytes (padded description)."""
    r = {"kind": "waybill",
         "document": {"type": "waybill", "number": "CQ2024000123",
                      "function": "original", "issued": "2024-05-01T08:00:00Z",
                      "place": "CNCKG"},
         "route": {"origin": "CNCKG", "destination": "CNSHA"},
         "parties": [{"role": "shipper", "name": "Chongqing Export Co",
                      "city": "Chongqing", "country": "CN"},
                     {"role": "consignee", "name": "Shanghai Import Ltd",
                      "city": "Shanghai", "country": "CN"}],
         "legs": [{"seq": 1, "mode": "rail", "carrier": "CR", "from": "CNCKG",
                   "to": "CNSHA", "departure": "2024-05-02T10:00:00Z"}],
         "equipment": [{"number": "MSKU1234565", "size_type": "45G1",
                        "full_empty": "full", "seals": ["SL001"]}],
         "goods": [{"seq": 1, "hs_code": "847130", "description": "",
                    "packages": 120, "gross_kg": 2400.5}],
         "totals": {"packages": 120, "gross_kg": 2400.5}}
    base = len(json.dumps(r, separators=(",", ":")))
    r["goods"][0]["description"] = ("portable computers, " * 100)[:size - base]
    text = json.dumps(r, separators=(",", ":"))
    check(len(text) == size, f"waybill of {len(text)} bytes, not {size}")
    return text


def ulid_ms(msg_id):
    """The creation time of a ULID: its first 10 chars, 48 bits of ms."""
    v = 0
    for c in msg_id[:10]:
        v = v * 32 + CROCKFORD.index(c)
    return v


class Resp:
    """A minimal Redis client for polling counters cheaply (an eportctl
    process per poll would take a good part of a core from the nodes)."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def int_cmd(self, *args):
        out = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
        self.s.sendall(out.encode())
        line = self.f.readline()
        check(line[:1] == b":", f"redis {args[0]}: {line!r}")
        return int(line[1:])

    def close(self):
        self.f.close()
        self.s.close()


class AlgFed(Fed):
    """A Fed whose CA and node keys are of one signature algorithm."""

    def __init__(self, alg, **kw):
        super().__init__(**kw)
        self.alg = alg

    def pki_run(self, *args):
        if args and args[0] in ("init-ca", "issue"):
            args = (*args, "--key-type", self.alg)
        return super().pki_run(*args)


def read_inbox(node):
    ib = Inbox(node)
    while True:
        before = len(ib.entries)
        ib.poll()
        if len(ib.entries) == before:
            return ib


def quiet(fed):
    """Wait until nothing is queued on either link (receipts and any
    end-to-end resends drained), so the next phase starts from rest."""
    for nid, peer in ((A, B), (B, A)):
        r = Resp(fed[nid].redis.port)
        key = f"eport:{nid}:v1:outbox:{peer}"
        wait_for(lambda: r.int_cmd("XLEN", key) == 0, 120,
                 f"{nid}'s outbox to {peer} to drain", interval=0.05)
        r.close()


def resends(node):
    return len(re.findall(r"event=resend id=", node.log_text()))


def throughput(fed, rec):
    a, b = fed[A], fed[B]
    t = time.monotonic()
    ids = a.send([B], N, rec)
    enqueue_s = time.monotonic() - t
    inbox, await_ = Resp(b.redis.port), Resp(a.redis.port)
    in_key, await_key = f"eport:{B}:v1:in", f"eport:{A}:v1:await"
    t0 = time.monotonic()
    fed.start_all()
    wait_for(lambda: inbox.int_cmd("XLEN", in_key) >= N, 120,
             f"{N} records in {B}'s inbox", interval=0.005)
    t_in = time.monotonic()
    wait_for(lambda: await_.int_cmd("ZCARD", await_key) == 0, 120,
             f"{A} to hold every receipt", interval=0.005)
    t_done = time.monotonic()
    quiet(fed)
    inbox.close(), await_.close()
    check(a.awaiting() == 0, f"eportctl peers on {A}: awaiting is not 0")
    ib = read_inbox(b)
    got = [e[1] for e in ib.entries]
    check(len(got) == N, f"{B}'s inbox holds {len(got)} records, sent {N}")
    check(len(set(got)) == N, f"{N - len(set(got))} duplicate ids in {B}'s inbox")
    check(set(got) == set(ids), f"{B}'s inbox is not the {N} ids {A} sent")
    return {"secs": t_done - t0, "inbox_s": t_in - t0, "enqueue_s": enqueue_s,
            "last": ib.pos, "resent": resends(a)}


def paced(fed, rec_file, after):
    """RATE records/s for SECONDS, one eportctl send per BATCH_S; returns
    the latency (ms) of each."""
    a, b = fed[A], fed[B]
    per = max(1, round(RATE * BATCH_S))
    ticks = int(SECONDS / BATCH_S)
    argv = [fedlib.EPORTCTL, "send", "--config", a.conf, "--to", B,
            "--repeat", str(per), "--canonical", rec_file]
    procs, late = [], 0
    start = time.monotonic()
    for k in range(ticks):
        delay = start + k * BATCH_S - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            late += 1
        procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                      stdin=subprocess.DEVNULL))
    bad = sum(p.wait() != 0 for p in procs)
    check(bad == 0, f"{bad} eportctl send processes failed")
    total = per * ticks
    ib = Inbox(b)
    ib.pos = after
    ib.wait(total, 60)
    lat = [int(e[0].split("-")[0]) - ulid_ms(e[1]) for e in ib.entries]
    check(len(lat) == total and len({e[1] for e in ib.entries}) == total,
          f"{len(lat)} paced records delivered, sent {total}")
    return sorted(lat), late / ticks


def pct(sorted_v, q):
    return sorted_v[min(len(sorted_v) - 1, int(q * len(sorted_v)))]


def bench(alg):
    with AlgFed(alg, topology=TOPOLOGY, delivery=PRODUCTION_DELIVERY) as fed:
        rec_file = os.path.join(fed.dir, "waybill.json")
        with open(rec_file, "w") as f:
            f.write(waybill(PAYLOAD) + "\n")
        tp = throughput(fed, waybill(PAYLOAD))
        lat, late = paced(fed, rec_file, tp["last"])
        quiet(fed)
        paced_resent = resends(fed[A]) - tp["resent"]
    print(f"bench federation_a_to_b msgs_per_s={N / tp['secs']:.0f} "
          f"p50_ms={pct(lat, 0.50)} p99_ms={pct(lat, 0.99)} "
          f"payload_bytes={PAYLOAD} n={N} alg={alg}", flush=True)
    sys.stderr.write(f"federation {alg}: enqueue {tp['enqueue_s']:.2f}s "
                     f"({N / tp['enqueue_s']:.0f}/s offline), inbox full at "
                     f"{tp['inbox_s']:.2f}s, receipts at {tp['secs']:.2f}s, "
                     f"{tp['resent']} end-to-end resends; paced {len(lat)} at "
                     f"{RATE}/s: max {lat[-1]} ms, {late:.0%} of batches "
                     f"late, {paced_resent} resends\n")


def main():
    def run():
        for alg in ALGS:
            bench(alg)
    return benchlib.main("federation_a_to_b", run)


if __name__ == "__main__":
    sys.exit(main())
