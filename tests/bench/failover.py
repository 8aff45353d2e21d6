"""bench failover: how long a highly available province (issue #10,
tests/fed/halib.py: two eportd instances on a Redis primary + replica
watched by three Sentinels, redis.wait_replicas 1) stops delivering when
it loses its Redis primary or the eportd instance that sends to a peer.

  bench failover seconds=.. worst=primary|instance primary_s=.. instance_s=..
        runs=6 replicas=1 down_after_ms=1000 failover_timeout_ms=3000
        claim_idle_ms=1500

Records flow CQ -> SC at a steady BENCH_FAILOVER_RATE (200/s, `eportctl
send` of 10 every 50 ms). A run kills (-9) either CQ's Redis primary (the
one Sentinel names) or the CQ instance holding the lease of CQ's outbox to
SC (v1:lease:out.SC), at time T; its figure is the time from T until SC's
Redis stores the first record created at CQ after T (the ULID's ms; the
inbox stream position's ms): from the fault until a new record goes the
whole way again, the time `eportctl send` fails during a failover
included. After each run the killed process comes back (the old primary as
a replica of the new one) and the stream settles before the next.
`seconds` is the worst run, `worst` its fault, primary_s and instance_s
the worst of each; per-run figures go to stderr. At the end every record
acknowledged must be at SC exactly once (exit 1 otherwise).

With one replica (BENCH_FAILOVER_REPLICAS=1, as the tests run a
province) the new primary has no replica, and `wait_replicas: 1`
acknowledges and sends nothing until the old primary is back as its
replica: it is started again as soon as Sentinel names the new primary
(as a supervisor would), and the figure includes that restart and its
sync. With 2 replicas the old one comes back only after the figure.

Sentinel and the instances are set as the tests set them (halib:
down-after-milliseconds, failover-timeout, claim_idle_ms, and fedlib's
fast delivery timers): the line says which. Binaries: bin/eportd,
bin/eportctl (env EPORTD, EPORTCTL override). Env: BENCH_FAILOVER_RUNS
(3 of each fault), BENCH_FAILOVER_RATE (200), BENCH_FAILOVER_REPLICAS (1)."""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import federation as F  # noqa: E402
import halib as H  # noqa: E402
from fedlib import Inbox, check, wait_for  # noqa: E402

RUNS = int(os.environ.get("BENCH_FAILOVER_RUNS", "3"))
RATE = int(os.environ.get("BENCH_FAILOVER_RATE", "200"))
REPLICAS = int(os.environ.get("BENCH_FAILOVER_REPLICAS", "1"))


def first_after(ib, t_ms, timeout=60):
    """ms from t_ms until SC stored the first record created at or after
    t_ms (ib read on from where it was)."""
    def found():
        ib.poll()
        stored = [int(e[0].split("-")[0]) for e in ib.entries if F.ulid_ms(e[1]) >= t_ms]
        return min(stored) if stored else None
    return wait_for(found, timeout, "a record created after the fault at SC", interval=0.1) - t_ms


def one(fed, ib, fault):
    """One run: the fault, the figure (s), the recovery."""
    cq = fed.province("CQ")
    wait_for(lambda: cq.sentinel_primary() is not None, 30, "CQ's primary")
    owner = fed.wait_owner("CQ", "out.SC")
    t_ms = int(time.time() * 1000)
    if fault == "primary":
        old = cq.kill_primary()
        what = old.name
        new = cq.wait_primary(old)
        named = time.time() - t_ms / 1000
        # with one replica, the new primary has none and wait_replicas 1
        # acknowledges nothing until the old one is back as its replica:
        # started again at once, as a supervisor would
        if REPLICAS == 1:
            cq.restart_as_replica(old)
        what += f" ({new.name} named after {named:.2f}s)"
    else:
        owner.kill()
        what = owner.label
    secs = first_after(ib, t_ms) / 1000
    sys.stderr.write(f"failover: kill -9 {fault} {what}: first new record at SC "
                     f"after {secs:.2f}s\n")
    if fault == "primary":
        if REPLICAS > 1:
            cq.restart_as_replica(old)
    else:
        owner.start()
    cq.wait_ready(60)
    time.sleep(2)
    return secs


def run():
    with H.HAFed(H.PAIR, ha=["CQ", "SC"], replicas=REPLICAS) as fed:
        fed.start_all()
        stream = H.Stream(lambda: fed["CQ.a"], ["SC"], 10**9, RATE, batch=10, tag="fo")
        ib = Inbox(fed["SC.a"])
        stream.start()
        wait_for(lambda: ib.poll() >= RATE, 60, "the stream at SC")
        figures = []
        for _ in range(RUNS):
            for fault in ("primary", "instance"):
                figures.append((one(fed, ib, fault), fault))
        stream.stop()
        stream.finish(60)
        H.wait_acked(ib, [stream], timeout=120)
        H.check_acked_once(ib, [stream], "CQ")
        check(all(n.running() for n in fed.instances("CQ") + fed.instances("SC")),
              "an instance died")
    worst = max(figures)
    by = {k: max(s for s, f in figures if f == k) for k in ("primary", "instance")}
    print(f"bench failover seconds={worst[0]:.2f} worst={worst[1]} "
          f"primary_s={by['primary']:.2f} instance_s={by['instance']:.2f} "
          f"runs={len(figures)} replicas={REPLICAS} down_after_ms={H.DOWN_AFTER_MS} "
          f"failover_timeout_ms={H.FAILOVER_TIMEOUT_MS} claim_idle_ms={H.CLAIM_IDLE_MS}",
          flush=True)


def main():
    why = H.missing()
    if why:
        print(f"bench failover skipped: {why}")
        return 0
    return benchlib.main("failover", run)


if __name__ == "__main__":
    sys.exit(main())
