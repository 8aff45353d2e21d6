"""High availability (issue #10): a province as two eportd instances on a
Redis primary + replica watched by three Sentinels (tests/fed/halib.py),
every peer listing both instances, `redis.wait_replicas: 1`.

- two-instances-exactly-once: 20,000 records CQ -> SC while the harness
  kills (-9) the CQ instance sending to SC, then CQ's Redis primary
  (Sentinel promotes the replica; the old one comes back as a replica),
  then freezes SC's replica a few seconds; every record acknowledged by
  `eportctl send` arrives at SC exactly once, no new dead letter, and the
  movements declared and released at CQ meanwhile are released once.
- standby-promotion: CQ's whole primary site (both instances, primary,
  replica, sentinels) killed mid-stream both ways; `eportctl site promote`
  on the standby replica, the standby eportd started: SC fails over to it
  by itself, nothing acknowledged is lost, new records flow both ways.
- readyz, one-owner-per-job, jobs-move-on-kill9: /readyz 200, 503 with a
  message without the replica and on an instance whose Redis is a
  replica; each job (v1:lease:*) held by exactly one instance, as its
  /metrics says, and taken over within claim_idle_ms after a kill -9.

FED_HA_N (20000) and FED_HA_RATE (records/s, 700) size the first test."""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedlib import FedError, Inbox, check, wait_for  # noqa: E402
from fedrun import Group, main  # noqa: E402
import halib as H  # noqa: E402
import ledgerlib as L  # noqa: E402

N = int(os.environ.get("FED_HA_N", "20000"))
RATE = int(os.environ.get("FED_HA_RATE", "700"))
# a lease expires claim_idle_ms after its last renewal and a survivor's
# round comes every third of it; the rest is a slow (ASan) machine's margin
TAKEOVER_S = H.CLAIM_IDLE_MS * 4 / 3 / 1000 + 2.0


def log(msg):
    sys.stderr.write(f"ha: {msg}\n")
    sys.stderr.flush()


# ---- movements declared and released while faults hit -----------------------


UNAVAILABLE = (69, 75)  # Redis or the daemon not answering; the node busy


def declare_retry(fed, dep, itin, name, timeout=60):
    """A movement declared at dep, declaring again only when the last try
    left none (a try that failed may have stored it): its ref."""
    ctrs = L.containers("HAMU", 1, "HA")
    path = os.path.join(fed.dir, f"{name}.json")
    L.declaration(path, f"HA-{name}-{ctrs[0][0]}", ctrs, ["rail", "sea"])
    end = time.monotonic() + timeout
    while True:
        ref, _, r = L.declare(fed[dep], [path], itin, kind="rail_transit", ok=False)
        if ref:
            return ref
        check(r.returncode in UNAVAILABLE and time.monotonic() < end,
              f"declare {name} at {dep}: exit {r.returncode}: {r.stderr.strip()[-300:]}")
        time.sleep(0.5)
        j = L.trace(fed[dep], ctrs[0][0])
        if j is not None:
            return j.ref


def release_retry(fed, dep, ref, timeout=90):
    """mv release until the ledger holds it released; a try that failed
    is retried only once the ledger does not show it."""
    end = time.monotonic() + timeout
    while True:
        r = L.mv(fed[dep], "release", ref, ok=False)
        if r.returncode == 0:
            return
        settling = r.returncode in (3, 65) and ("not settled" in r.stderr or "waiting" in r.stderr)
        check((r.returncode in UNAVAILABLE or settling) and time.monotonic() < end,
              f"release {ref} at {dep}: exit {r.returncode}: {r.stderr.strip()[-300:]}")
        for _ in range(10):
            j = L.trace(fed[dep], ref)
            if j is not None and "released" in j.events():
                return
            time.sleep(0.3)


class Movements(H.threading.Thread):
    """k movements CQ>SC, one every gap_s: declared then released at CQ."""

    def __init__(self, fed, k, gap_s, dep="CQ", itin=("CQ", "SC")):
        super().__init__(daemon=True)
        self.fed, self.k, self.gap_s, self.dep, self.itin = fed, k, gap_s, dep, list(itin)
        self.refs, self.errors = [], []

    def run(self):
        try:
            for i in range(self.k):
                ref = declare_retry(self.fed, self.dep, self.itin, f"mv{i}-{os.getpid()}")
                self.refs.append(ref)
                release_retry(self.fed, self.dep, ref)
                time.sleep(self.gap_s)
        except Exception as e:
            self.errors.append(e)

    def check(self, timeout=120):
        self.join(timeout)
        check(not self.is_alive(), "the movements did not finish")
        if self.errors:
            raise FedError(f"movements: {self.errors[0]}")
        for ref in self.refs:
            for nid in self.itin:
                j = L.wait_phase(self.fed[nid], ref, "released", timeout=60)
                check(j.count("released") == 1,
                      f"{nid}: {j.count('released')} releases of {ref}: {j.events()}")
                check(j.count("declared") == 1,
                      f"{nid}: {j.count('declared')} declarations of {ref}")


# ---- a: two instances, every fault, exactly once --------------------------------


def test_two_instances_exactly_once():
    with H.HAFed(H.PAIR, ha=["CQ", "SC"]) as fed:
        fed.start_all()
        cq, sc = fed.province("CQ"), fed.province("SC")
        dlq_before = {nid: set(fed[nid].dlq()) for nid in ("CQ", "SC")}
        stream = H.Stream(lambda: fed["CQ.a"], ["SC"], N, RATE, tag="cq-sc")
        moves = Movements(fed, 3, 3.0)
        ib = Inbox(fed["SC.a"])
        t0 = time.monotonic()
        stream.start()
        wait_for(lambda: ib.poll() >= 1000, 60, "the first 1000 records at SC")

        owner = fed.wait_owner("CQ", "out.SC")
        moves.start()
        t = time.monotonic()
        owner.kill()
        heir = fed.wait_owner("CQ", "out.SC", not_=owner, timeout=TAKEOVER_S + 5)
        took = time.monotonic() - t
        log(f"kill -9 {owner.label} (out.SC) at {t - t0:.1f}s: {heir.label} took "
            f"it in {took:.2f}s; {ib.poll()} at SC")
        check(took <= TAKEOVER_S, f"out.SC passed to {heir.label} after {took:.1f}s, "
              f"more than claim_idle_ms {H.CLAIM_IDLE_MS} ms + margin")
        owner.start()
        time.sleep(2)

        t = time.monotonic()
        old = cq.kill_primary()
        new = cq.wait_primary(old)
        log(f"kill -9 CQ's primary {old.name} at {t - t0:.1f}s: {new.name} primary "
            f"after {time.monotonic() - t:.2f}s; {ib.poll()} at SC")
        cq.restart_as_replica(old)
        time.sleep(2)

        rep = sc.pause_replica()
        log(f"SIGSTOP SC's replica {rep.name} at {time.monotonic() - t0:.1f}s")
        time.sleep(4)
        rep.resume()

        stream.finish(timeout=max(90.0, 3.0 * N / RATE))
        log(f"{stream.n_acked} acknowledged at {time.monotonic() - t0:.1f}s, "
            f"{len(stream.failed)} eportctl send failed: {stream.failed[:3]}")
        H.wait_acked(ib, [stream], timeout=120)
        got = H.check_acked_once(ib, [stream], "CQ")
        log(f"SC holds {got} at {time.monotonic() - t0:.1f}s")
        check(got["acked"] >= N, f"only {got['acked']} acknowledged, want {N}")
        moves.check()
        for nid in ("CQ", "SC"):
            new_dead = set(fed[nid].dlq()) - dlq_before[nid]
            check(not new_dead, f"{len(new_dead)} new dead letters at {nid}: "
                  f"{sorted(new_dead)[:3]}")
        for n in fed.instances("CQ") + fed.instances("SC"):
            check(n.running(), f"{n.label} died")


# ---- b: the standby site --------------------------------------------------------


def promote(standby):
    """eportctl site promote on the standby's configuration."""
    r = standby.ctl("site", "promote", ok=False, timeout=60)
    if r.returncode == 64 and "unknown command" in r.stderr:
        raise FedError("eportctl site promote is not there (issue #10): "
                       + r.stderr.strip())
    check(r.returncode == 0, f"eportctl site promote exited {r.returncode}: "
          f"{r.stdout.strip()[-400:]} {r.stderr.strip()[-400:]}")
    return r.stdout


def test_standby_promotion():
    # WAIT counts any replica: with the standby as a second replica, only
    # wait_replicas 2 makes the standby hold everything acknowledged when
    # the whole site goes at once; the standby, alone after promotion,
    # waits for none
    with H.HAFed(H.PAIR, ha=["CQ", "SC"], standby=["CQ"],
                 wait_replicas={"CQ": 2, "SC": 1, "CQ.standby": 0}) as fed:
        fed.start_all()
        cq = fed.province("CQ")
        standby = fed["CQ.standby"]
        to_sc = H.Stream(lambda: fed["CQ.a"], ["SC"], 10**9, 300, tag="cq-sc")
        to_cq = H.Stream(lambda: fed["SC.a"], ["CQ"], 10**9, 300, tag="sc-cq")
        at_sc = Inbox(fed["SC.a"])
        to_sc.start(), to_cq.start()
        wait_for(lambda: at_sc.poll() >= 1000, 60, "the first 1000 records at SC")
        # SC frozen a moment, so that CQ's outbox holds records it has
        # acknowledged but not delivered when its site goes
        for n in fed.instances("SC"):
            n.pause()
        time.sleep(2)
        # the whole primary site at once, mid-stream: nothing is stopped cleanly
        for s in cq.sentinels:
            s.kill()
        for n in fed.instances("CQ"):
            n.kill()
        for s in cq.servers:
            s.kill()
        for n in fed.instances("SC"):
            n.resume()
        to_sc.stop()
        to_sc.finish(30)
        backlog = to_sc.n_acked - len(at_sc.entries)
        log(f"CQ's site killed: {to_sc.n_acked} CQ->SC ({backlog} not at SC yet) and "
            f"{to_cq.n_acked} SC->CQ acknowledged so far")
        check(backlog > 0, "CQ's site went with nothing acknowledged left to deliver")
        st = standby.ctl("site", "status", ok=False)
        check(st.returncode == 0 and "role=replica" in st.stdout,
              f"eportctl site status on the standby: exit {st.returncode}: "
              f"{st.stdout.strip()[-300:]} {st.stderr.strip()[-300:]}")
        t = time.monotonic()
        out = promote(standby)
        log(f"site promote: {out.strip().splitlines()[-2:]}")
        standby.start()
        check(standby.ready()[0] == 200, f"/readyz on the promoted standby: {standby.ready()}")
        # SC's sender fails over to the standby's endpoint by itself: the
        # records SC acknowledged while CQ was gone, and new ones, arrive
        at_cq = Inbox(standby)
        had = at_cq.poll()
        wait_for(lambda: at_cq.poll() > had, 60, "records from SC at the standby")
        log(f"SC->CQ flowing again {time.monotonic() - t:.1f}s after the promotion "
            f"({had} records at CQ then)")
        to_cq.stop()
        to_cq.finish(60)
        H.wait_acked(at_cq, [to_cq], timeout=120)
        H.wait_acked(at_sc, [to_sc], timeout=120)
        got_cq = H.check_acked_once(at_cq, [to_cq], "SC")
        got_sc = H.check_acked_once(at_sc, [to_sc], "CQ")
        log(f"at CQ (standby) {got_cq}, at SC {got_sc}")
        # and the federation resumes: new records both ways
        after_sc = H.Stream(lambda: standby, ["SC"], 500, 500, tag="cq-sc-after")
        after_cq = H.Stream(lambda: fed["SC.a"], ["CQ"], 500, 500, tag="sc-cq-after")
        after_sc.start(), after_cq.start()
        after_sc.finish(60), after_cq.finish(60)
        check(not after_sc.failed and not after_cq.failed,
              f"sends after the promotion failed: {(after_sc.failed + after_cq.failed)[:2]}")
        H.wait_acked(at_sc, [to_sc, after_sc], timeout=60)
        H.wait_acked(at_cq, [to_cq, after_cq], timeout=60)
        H.check_acked_once(at_sc, [to_sc, after_sc], "CQ")
        H.check_acked_once(at_cq, [to_cq, after_cq], "SC")
        check(cq.standby.role() == "master", "the standby is not a primary")


# ---- c: readiness and job ownership ------------------------------------------------


JOBS = {"ledger", "await", "replay", "health", "out.SC"}


def make_small():
    return H.HAFed(H.PAIR, ha=["CQ", "SC"])


def ready_is(inst, code):
    st, body = inst.ready()
    return (st, body) if st == code else None


def test_readyz(fed):
    for n in fed.instances("CQ") + fed.instances("SC"):
        st, body = wait_for(lambda: ready_is(n, 200), 10, f"{n.label} /readyz 200")
        check(body.get("status") == "ready" and body.get("instance") == n.instance,
              f"/readyz of {n.label}: {body}")
    cq = fed.province("CQ")
    rep = cq.replicas()[0]
    rep.stop()  # no replica: wait_replicas 1 cannot be met
    try:
        for n in fed.instances("CQ"):
            st, body = wait_for(lambda: ready_is(n, 503), 15,
                                f"{n.label} /readyz 503 without a replica")
            check(body.get("message"), f"/readyz 503 of {n.label} says no why: {body}")
            log(f"/readyz of {n.label} without a replica: 503 {body.get('message')}")
        check(ready_is(fed["SC.a"], 200), "SC.a not ready when CQ's replica stops")
    finally:
        cq.restart_as_replica(rep)
    for n in fed.instances("CQ"):
        wait_for(lambda: ready_is(n, 200), 15, f"{n.label} /readyz 200 again")
    # an instance whose Redis is a replica (redis:// to it)
    odd = fed.add_instance("CQ", "onreplica", store=rep)
    odd.start(wait=False)
    try:
        wait_for(lambda: H.port_open(odd.http) or not odd.running(), 30,
                 "the instance on the replica to answer HTTP")
        check(odd.running(), f"eportd on a replica exited: {H._tail(odd.out)}")
        st, body = wait_for(lambda: ready_is(odd, 503), 15,
                            "/readyz 503 on an instance whose Redis is a replica")
        check("replica" in body.get("message", "") or "primary" in body.get("message", ""),
              f"/readyz on a replica: {body}")
        log(f"/readyz of an instance on the replica: 503 {body.get('message')}")
    finally:
        odd.kill()


def owners_agree(fed, nid):
    """{job: instance} when Redis's leases and the instances' metrics say
    the same single owner of every job, else None."""
    leases = fed.province(nid).leases()
    if set(leases) != JOBS:
        return None
    insts = [n for n in fed.instances(nid) if n.running()]
    owned = {n.instance: n.jobs_owned() for n in insts}
    for job, who in leases.items():
        says = [i for i, jobs in owned.items() if jobs.get(job) == 1]
        if says != [who]:
            return None
    return leases


def shared(fed, nid):
    """owners_agree, once each live instance holds its share: after a
    fault one may hold every job for a round or two before giving the
    others back (their share counts only instances that renewed)."""
    leases = owners_agree(fed, nid)
    if not leases:
        return None
    per = {i: sum(1 for v in leases.values() if v == i) for i in ("a", "b")}
    return leases if max(per.values()) <= 3 and min(per.values()) >= 2 else None


def test_one_owner_per_job(fed):
    wait_for(lambda: owners_agree(fed, "CQ"), 15,
             "CQ's leases and metrics to agree on one owner per job")
    t = time.monotonic()
    leases = wait_for(lambda: shared(fed, "CQ"), 10,
                      "the jobs shared 3/2 between CQ.a and CQ.b")
    log(f"shared after {time.monotonic() - t:.2f}s: {leases}")
    # and it stays so: sampled for a few seconds, never two owners
    end = time.monotonic() + 3
    while time.monotonic() < end:
        owned = [n.jobs_owned() for n in fed.instances("CQ")]
        for job in JOBS:
            check(sum(o.get(job, 0) for o in owned) <= 1, f"{job} owned twice: {owned}")
        time.sleep(0.2)


def test_jobs_move_on_kill9(fed):
    before = wait_for(lambda: shared(fed, "CQ"), 15, "one owner per job, shared")
    victim = fed["CQ.a"]
    mine = {j for j, i in before.items() if i == victim.instance}
    check(mine, f"{victim.label} holds no job: {before}")
    t = time.monotonic()
    victim.kill()

    def moved():
        leases = fed.province("CQ").leases()
        return leases if all(leases.get(j) == "b" for j in JOBS) else None
    after = wait_for(moved, TAKEOVER_S + 5, "every job at CQ.b", interval=0.05)
    took = time.monotonic() - t
    log(f"kill -9 {victim.label} holding {sorted(mine)}: all jobs at CQ.b after {took:.2f}s")
    check(took <= TAKEOVER_S, f"the jobs of {victim.label} moved after {took:.1f}s "
          f"(claim_idle_ms {H.CLAIM_IDLE_MS})")
    check((fed["CQ.b"].metric("eport_ha_claims_total") or 0) >= 1,
          f"eport_ha_claims_total not counted: {after}")
    victim.start()
    leases = wait_for(lambda: (lambda l: l if l and "a" in l.values() else None)(
        owners_agree(fed, "CQ")), TAKEOVER_S + 10, "the jobs shared again after the restart")
    log(f"after the restart: {leases}")


if __name__ == "__main__":
    why = H.missing()
    if why:
        print(f"fed: ha skipped: {why}")
        print("fed: 0 passed, 0 failed")
        sys.exit(0)
    sys.exit(main([Group(make_small, lambda f: f.start_all(),
                         [test_readyz, test_one_owner_per_job, test_jobs_move_on_kill9]),
                   test_two_instances_exactly_once, test_standby_promotion]))
