"""make chaos: a seeded random schedule of faults on two HA provinces (CQ,
SC: two eportd instances each on a Redis primary + replica + three
Sentinels, tests/fed/halib.py) while records flow both ways; then every
record `eportctl send` acknowledged must be at its destination exactly
once.

Faults, one at a time, each undone before the next:
  kill9      kill -9 an eportd instance, start it again after a while
  primary    kill -9 a province's Redis primary; once Sentinel has promoted
             the replica, the old primary starts again as its replica
  replica    SIGSTOP a province's replica, SIGCONT it after a while
  freeze     SIGSTOP an eportd instance (past claim_idle_ms, sometimes), SIGCONT

The first line is the seed (`chaos: seed=N`); the same CHAOS_SEED replays
the same schedule (which faults, where, how long; the machine's timing
is its own). CHAOS_SECONDS (300): how long faults are injected.
CHAOS_RATE (records/s each way, 150). The last line:

    chaos faults=N messages=M lost=L duplicated=D

M: records acknowledged (both ways), L: of those, not delivered, D:
deliveries of an id beyond its first. Exit 0 only when L and D are 0 and
nothing else failed (a fault that could not be done or undone, an
instance that died, a sanitizer report). Logs of every process on stderr
on failure; FED_KEEP=1 keeps the directory."""
import os
import random
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedlib import FedError, Inbox  # noqa: E402
import halib as H  # noqa: E402

SEED = int(os.environ.get("CHAOS_SEED") or time.time_ns() % 1000000007)
SECONDS = float(os.environ.get("CHAOS_SECONDS", "300"))
RATE = int(os.environ.get("CHAOS_RATE", "150"))
FAULTS = ("kill9", "primary", "replica", "freeze")


def say(msg):
    print(f"chaos: {msg}", flush=True)


class Chaos:
    def __init__(self, fed, rng):
        self.fed, self.rng, self.t0 = fed, rng, time.monotonic()
        self.faults, self.problems = 0, []

    def at(self):
        return f"t={time.monotonic() - self.t0:6.1f}s"

    def hold(self, lo, hi):
        d = self.rng.uniform(lo, hi)
        time.sleep(d)
        return d

    def alive(self):
        """Every instance runs (none died by itself, a sanitizer abort)."""
        for nid in ("CQ", "SC"):
            for inst in self.fed.instances(nid):
                if not inst.running():
                    rc = inst.proc.returncode if inst.proc else None
                    raise FedError(f"{inst.label} died by itself (exit {rc}): "
                                   + H._tail(inst.out, 3).strip().replace("\n", " | "))

    def one(self):
        self.alive()
        kind = self.rng.choice(FAULTS)
        nid = self.rng.choice(["CQ", "SC"])
        prov = self.fed.province(nid)
        if kind == "kill9":
            inst = self.rng.choice(self.fed.instances(nid))
            say(f"{self.at()} kill9 {inst.label}")
            inst.kill()
            d = self.hold(0.5, 4)
            inst.start()
            say(f"{self.at()}   {inst.label} started again after {d:.1f}s")
        elif kind == "primary":
            t = time.monotonic()
            old = prov.kill_primary()
            say(f"{self.at()} primary: kill9 {old.name}")
            new = prov.wait_primary(old)
            say(f"{self.at()}   {new.name} promoted after {time.monotonic() - t:.1f}s")
            d = self.hold(0, 3)
            prov.restart_as_replica(old)
            say(f"{self.at()}   {old.name} a replica again after {d:.1f}s")
        elif kind == "replica":
            rep = prov.pause_replica()
            say(f"{self.at()} replica: SIGSTOP {rep.name}")
            d = self.hold(0.5, 5)
            rep.resume()
            say(f"{self.at()}   SIGCONT after {d:.1f}s")
        else:
            inst = self.rng.choice(self.fed.instances(nid))
            say(f"{self.at()} freeze: SIGSTOP {inst.label}")
            inst.pause()
            d = self.hold(0.5, 2 * H.CLAIM_IDLE_MS / 1000 + 1)
            inst.resume()
            say(f"{self.at()}   SIGCONT after {d:.1f}s")
        self.faults += 1
        # settle: the province whole again before the next fault
        prov.wait_ready(timeout=60)
        self.hold(0.5, 3)
        self.alive()

    def heal(self):
        """After a fault that failed half way: everything running again."""
        for nid in ("CQ", "SC"):
            prov = self.fed.province(nid)
            for s in prov.servers:
                if s.running():
                    s.resume()
            for inst in self.fed.instances(nid):
                if inst.running():
                    inst.resume()
                else:
                    inst.start()
            for s in prov.servers:
                if not s.running():
                    prov.restart_as_replica(s)


def count(ib, streams):
    """(acknowledged, lost, duplicated, unacknowledged delivered)."""
    ids = [e[1] for e in ib.entries]
    got = set(ids)
    acked = {i for s in streams for b in s.acked for i in b}
    return len(acked), len(acked - got), len(ids) - len(got), len(got - acked)


def run(result):
    """Fills result["line"] (the last line) and result["bad"]; the Fed's
    teardown may still raise after (a sanitizer report)."""
    rng = random.Random(SEED)
    with H.HAFed(H.PAIR, ha=["CQ", "SC"]) as fed:
        fed.start_all()
        say(f"federation up: CQ and SC, two instances each, wait_replicas=1, "
            f"claim_idle_ms={H.CLAIM_IDLE_MS}, down_after_ms={H.DOWN_AFTER_MS}")
        dlq_before = {nid: set(fed[nid].dlq()) for nid in ("CQ", "SC")}
        streams = {"SC": H.Stream(lambda: fed["CQ.a"], ["SC"], 10**9, RATE, batch=100,
                                  tag="cq-sc"),
                   "CQ": H.Stream(lambda: fed["SC.a"], ["CQ"], 10**9, RATE, batch=100,
                                  tag="sc-cq")}
        for s in streams.values():
            s.start()
        ch = Chaos(fed, rng)
        end = ch.t0 + SECONDS
        while time.monotonic() < end and not ch.problems:
            try:
                ch.one()
            except FedError as e:
                ch.problems.append(f"{ch.at()} {e}")
                say(f"{ch.at()} FAILED: {e}")
                try:
                    ch.heal()
                except FedError as e2:
                    ch.problems.append(f"heal: {e2}")
        for s in streams.values():
            s.stop()
        for s in streams.values():
            try:
                s.finish(120)
            except FedError as e:
                ch.problems.append(str(e))
        say(f"{ch.at()} faults done; draining")
        totals = [0, 0, 0, 0]
        for dest, s in streams.items():
            ib = Inbox(fed[dest + ".a"])
            try:
                H.wait_acked(ib, [s], timeout=180)
            except FedError as e:
                ch.problems.append(str(e))
            c = count(ib, [s])
            totals = [a + b for a, b in zip(totals, c)]
            say(f"to {dest}: acknowledged={c[0]} lost={c[1]} duplicated={c[2]} "
                f"unacknowledged_delivered={c[3]} failed_sends={len(s.failed)}")
        for nid in ("CQ", "SC"):
            new_dead = set(fed[nid].dlq()) - dlq_before[nid]
            if new_dead:
                ch.problems.append(f"{len(new_dead)} new dead letters at {nid}")
            for inst in fed.instances(nid):
                if not inst.running():
                    ch.problems.append(f"{inst.label} is not running")
        acked, lost, dup, _ = totals
        for p in ch.problems:
            say(f"problem: {p}")
        result["line"] = f"chaos faults={ch.faults} messages={acked} lost={lost} duplicated={dup}"
        result["bad"] = bool(lost or dup or ch.problems)
        if result["bad"]:
            sys.stderr.write(fed.logs())


def main():
    say(f"seed={SEED} seconds={SECONDS:g} (replay: CHAOS_SEED={SEED} make chaos)")
    why = H.missing()
    if why:
        say(f"cannot run: {why}")
        print("chaos faults=0 messages=0 lost=0 duplicated=0")
        return 1
    result = {"line": "chaos faults=0 messages=0 lost=0 duplicated=0", "bad": True}
    try:
        run(result)
    except Exception as e:  # setup, or teardown (a sanitizer report)
        say(f"FAILED: {type(e).__name__}: {e}")
        result["bad"] = True
    print(result["line"], flush=True)
    return 1 if result["bad"] else 0


if __name__ == "__main__":
    sys.exit(main())
