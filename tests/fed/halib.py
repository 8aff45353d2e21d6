"""halib: high availability (issue #10) on top of fedlib, for the tests of
several eportd instances of one node, Redis replication and Sentinel.

A province here is one node id served by two eportd instances (`node.instance`
a and b, each its own listen and HTTP port) sharing one Redis through
Sentinel: a primary, one replica (`--replicaof`) and three sentinels
(quorum 2), every process on a free loopback port in the Fed's directory.
The instances take `redis.url: sentinel://...`, `redis.wait_replicas` (1)
and `ha.claim_idle_ms` (1500); every peer lists both instances'
endpoints. A province may also have a standby site: one more replica of
the primary, `replica-priority 0` so that Sentinel never promotes it, and
one more instance of the node configured on it (`redis://` to the standby)
but not started, which `eportctl site promote` and a start bring up.

    with HAFed(PAIR, ha=["CQ", "SC"]) as fed:
        fed.start_all()
        cq = fed.province("CQ")
        stream = Stream(lambda: fed["CQ.a"], ["SC"], 5000, 500)  # eportctl send, paced
        stream.start()
        owner = fed.wait_owner("CQ", "out.SC")   # the instance sending to SC
        owner.kill()                             # kill -9; owner.start() later
        old = cq.kill_primary()                  # kill -9 the primary Sentinel names
        cq.wait_primary(old)                     # Sentinel promoted the replica
        cq.restart_as_replica(old)               # back, as the new primary's replica
        stream.finish(60)
        ib = Inbox(fed["SC.a"])
        wait_acked(ib, [stream], 60)
        check_acked_once(ib, [stream], "CQ")     # every acknowledged record once

With one replica and `wait_replicas: 1`, a province whose primary died
acknowledges nothing until a replica is back: restart the old primary as
a replica (or give the province `replicas=2`). fed["CQ"] is a running
instance of CQ (for eportctl: any instance's configuration reaches the
same Redis); fed.nodes keys are "CQ.a", "CQ.b", "CQ.standby" for
instances, the node id for a plain fedlib node. On failure the logs of
every instance, sentinel and Redis are printed (fedlib's FED_KEEP=1 keeps
the directory). Python stdlib only.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import fedlib
from fedlib import (Fed, FedError, Node, Redis, _spawn, _tail, check,
                    free_port, port_open, record, wait_for)

# As the tests set Sentinel (the figures bench failover prints): a primary
# unanswered for DOWN_AFTER_MS is down; a failover not done within
# FAILOVER_TIMEOUT_MS is tried again.
DOWN_AFTER_MS = int(os.environ.get("HA_DOWN_AFTER_MS", "1000"))
FAILOVER_TIMEOUT_MS = int(os.environ.get("HA_FAILOVER_TIMEOUT_MS", "3000"))
QUORUM = 2
CLAIM_IDLE_MS = int(os.environ.get("HA_CLAIM_IDLE_MS", "1500"))
INSTANCES = ("a", "b")

# The two-province federation of the HA tests: CQ and SC, peers.
PAIR = {"CQ": ("CQ", ["SC"], {}), "SC": ("SC", ["CQ"], {})}

_given = set()


def ha_port():
    """A free loopback port below Linux's ephemeral range (32768-60999):
    these processes are killed and started again on the same port, and
    the many connections of sentinels and replicas must not take it
    meanwhile as their own local port."""
    import random
    import socket
    for _ in range(1000):
        port = random.randrange(20000, 32700)
        if port in _given:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    return free_port()


class Server(Redis):
    """A redis-server of a province: fedlib's (appendonly, everysec) with
    replication settings for quick syncs; started as a primary or as a
    replica of another Server."""

    def __init__(self, dir_, name, priority=None):
        super().__init__(dir_, name)
        self.port = ha_port()
        self.priority = priority  # replica-priority (0: never promoted)
        self.role_at_start = None

    def start(self, replicaof=None):
        self.args = ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
                     "--repl-backlog-size", "64mb"]
        if self.priority is not None:
            self.args += ["--replica-priority", str(self.priority)]
        if replicaof is not None:
            self.args += ["--replicaof", "127.0.0.1", str(replicaof.port)]
        self.role_at_start = "replica" if replicaof is not None else "primary"
        super().start()

    def kill(self):
        """kill -9."""
        self.stop(signal.SIGKILL)

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def info(self, section="replication"):
        text = self.cmd("INFO", section).decode()
        return dict(l.split(":", 1) for l in text.splitlines() if ":" in l)

    def role(self):
        return self.cmd("ROLE")[0].decode()


class Sentinel(Redis):
    """One redis-sentinel watching a province's primary."""

    def __init__(self, dir_, name):
        super().__init__(dir_, name)
        self.port = ha_port()
        self.conf = os.path.join(self.dir, "sentinel.conf")
        self.log = os.path.join(self.dir, "sentinel.log")

    def configure(self, master, primary_port, down_after_ms, failover_timeout_ms,
                  quorum=QUORUM):
        # Sentinel rewrites this file (what it learns: replicas, the other
        # sentinels, failovers), so a restarted one goes on from there
        with open(self.conf, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\ndaemonize no\n"
                    f"dir {self.dir}\nlogfile {self.log}\n"
                    f"sentinel monitor {master} 127.0.0.1 {primary_port} {quorum}\n"
                    f"sentinel down-after-milliseconds {master} {down_after_ms}\n"
                    f"sentinel failover-timeout {master} {failover_timeout_ms}\n"
                    f"sentinel parallel-syncs {master} 1\n")

    def start(self):
        self.proc = _spawn(["redis-sentinel", self.conf], os.path.join(self.dir, "stdout"))
        wait_for(self._pings, 10, f"sentinel {self.name} to answer PING")

    def kill(self):
        self.stop(signal.SIGKILL)

    def running(self):
        return self.proc is not None and self.proc.poll() is None


def _pairs(reply):
    """A Sentinel reply of flat [k, v, k, v...] lists, as dicts."""
    out = []
    for item in reply or []:
        it = [x.decode() if isinstance(x, bytes) else x for x in item]
        out.append(dict(zip(it[::2], it[1::2])))
    return out


class Province:
    """A node's Redis: primary, replica, three sentinels, maybe a standby.
    Shared by its instances as their `redis` (fedlib calls start and stop
    per node: start once; stop when the last instance is down)."""

    def __init__(self, fed, nid, standby=False, down_after_ms=DOWN_AFTER_MS,
                 failover_timeout_ms=FAILOVER_TIMEOUT_MS, replicas=1):
        self.fed, self.id = fed, nid
        self.master = f"eport-{nid}"
        base = os.path.join(fed.dir, f"{nid}-redis")
        self.servers = [Server(os.path.join(base, f"r{i}"), f"{nid} r{i}")
                        for i in range(1, replicas + 2)]
        self.sentinels = [Sentinel(os.path.join(base, f"s{i}"), f"{nid} s{i}")
                          for i in (1, 2, 3)]
        self.standby = (Server(os.path.join(base, "standby"), f"{nid} standby", priority=0)
                        if standby else None)
        self.down_after_ms, self.failover_timeout_ms = down_after_ms, failover_timeout_ms
        self.instances = []  # the Instances on it (not the standby's)
        self.started = False
        self.killed = []  # Servers killed by kill_primary, not yet restarted

    @property
    def url(self):
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"sentinel://{hosts}/{self.master}"

    @property
    def port(self):
        """The current primary's port (for code written for fedlib's one
        Redis per node, e.g. tests/bench/federation.py's counters)."""
        return self.primary().port

    @property
    def all_servers(self):
        return self.servers + ([self.standby] if self.standby else [])

    # ---- start and stop -----------------------------------------------------

    def start_servers(self):
        if self.started:
            return
        self.started = True
        first = self.servers[0]
        first.start()
        for s in self.servers[1:] + ([self.standby] if self.standby else []):
            s.start(replicaof=first)
        for s in self.sentinels:
            s.configure(self.master, first.port, self.down_after_ms, self.failover_timeout_ms)
            s.start()

    def start(self):
        """fedlib's Fed starts each node's redis: the whole province, once,
        and it is ready for a failover when this returns."""
        if not self.started:
            self.start_servers()
            self.wait_ready()

    def wait_ready(self, timeout=30):
        """Every replica in sync and every sentinel knowing the other two
        and the replicas, so that a failover can be voted and done."""
        nrep = len(self.all_servers) - 1
        wait_for(lambda: self._synced(nrep), timeout, f"{self.id}'s replicas to sync")
        wait_for(lambda: all(self._sentinel_ready(s, nrep) for s in self.sentinels
                             if s.running()),
                 timeout, f"{self.id}'s sentinels to know each other and the replicas",
                 interval=0.2)

    def _synced(self, nrep):
        p = self.primary_server(ask_sentinels=False)
        if p is None:
            return False
        info = p.info()
        ok = [v for k, v in info.items() if k.startswith("slave") and "state=online" in v]
        return len(ok) >= nrep

    def _sentinel_ready(self, s, nrep):
        try:
            others = _pairs(s.cmd("SENTINEL", "sentinels", self.master))
            reps = _pairs(s.cmd("SENTINEL", "replicas", self.master))
            s.cmd("SENTINEL", "ckquorum", self.master)
        except (FedError, OSError):
            return False
        up = [r for r in reps if "down" not in r.get("flags", "")
              and "disconnected" not in r.get("flags", "")]
        return len(others) >= len(self.sentinels) - 1 and len(up) >= nrep

    def stop(self, force=False):
        """Everything of this province, once no instance of it runs."""
        if not force and any(i.running() for i in self.instances):
            return
        for s in self.sentinels + self.all_servers:
            if s.proc is not None and s.proc.poll() is None:
                try:
                    os.kill(s.proc.pid, signal.SIGCONT)  # a paused one
                except OSError:
                    pass
            s.stop()

    # ---- the primary --------------------------------------------------------

    def by_port(self, port):
        return next((s for s in self.all_servers if s.port == int(port)), None)

    def sentinel_primary(self):
        """The primary a majority of the running sentinels name (Server),
        or None."""
        votes = {}
        for s in self.sentinels:
            if not s.running():
                continue
            try:
                r = s.cmd("SENTINEL", "get-master-addr-by-name", self.master)
            except (FedError, OSError):
                continue
            if r:
                votes[int(r[1])] = votes.get(int(r[1]), 0) + 1
        if not votes:
            return None
        port, n = max(votes.items(), key=lambda kv: kv[1])
        return self.by_port(port) if n >= QUORUM else None

    def primary_server(self, ask_sentinels=True):
        """The running server whose ROLE is master (the one the sentinels
        name, when they are asked and agree), or None."""
        cand = [self.sentinel_primary()] if ask_sentinels else self.all_servers
        for s in cand:
            if s is not None and s.running():
                try:
                    if s.role() == "master":
                        return s
                except (FedError, OSError):
                    pass
        return None

    def primary(self, timeout=30):
        return wait_for(self.primary_server, timeout, f"a primary of {self.id}", interval=0.05)

    def replicas(self):
        """The province's replicas that run (not the standby)."""
        p = self.primary_server()
        return [s for s in self.servers if s is not p and s.running()]

    def cmd(self, *args):
        """One command at the current primary."""
        return self.primary().cmd(*args)

    def kill_primary(self):
        """kill -9 the primary the sentinels name; returns it (a Server)."""
        p = self.primary()
        p.kill()
        self.killed.append(p)
        return p

    def wait_primary(self, old, timeout=30):
        """Until the sentinels name a running primary other than old."""
        def new():
            p = self.primary_server()
            return p if p is not None and p is not old else None
        return wait_for(new, timeout, f"Sentinel to promote a new primary of {self.id}",
                        interval=0.05)

    def restart_as_replica(self, server, timeout=60):
        """A killed server started again as a replica of the primary, and
        in sync with it."""
        p = self.primary()
        server.start(replicaof=p)
        if server in self.killed:
            self.killed.remove(server)

        def synced():
            info = server.info()
            return (info.get("role") == "slave" and info.get("master_link_status") == "up"
                    and info.get("master_port") == str(p.port))
        wait_for(synced, timeout, f"{server.name} to sync with {p.name}", interval=0.1)

    def restart_old(self, timeout=60):
        """Every server kill_primary killed, back as a replica."""
        for s in list(self.killed):
            self.restart_as_replica(s, timeout)

    def pause_replica(self):
        """SIGSTOP a replica (the primary's other server); returns it."""
        r = self.replicas()
        check(r, f"{self.id} has no running replica to pause")
        r[0].pause()
        return r[0]

    # ---- leases -------------------------------------------------------------

    def lease_owner(self, job):
        v = self.cmd("GET", f"eport:{self.id}:v1:lease:{job}")
        return v.decode() if v else None

    def leases(self):
        """{job: instance} of every lease key now."""
        out = {}
        pre = f"eport:{self.id}:v1:lease:"
        for k in self.cmd("KEYS", pre + "*") or []:
            v = self.cmd("GET", k)
            if v:
                out[k.decode()[len(pre):]] = v.decode()
        return out

    def logs(self):
        parts = []
        for s in self.sentinels:
            parts.append(f"--- {s.name} log (last lines)\n{_tail(s.log, 12)}")
        for s in self.all_servers:
            parts.append(f"--- redis {s.name} log (last lines)\n"
                         f"{_tail(os.path.join(s.dir, 'redis.log'), 8)}")
        return "".join(parts)


class Instance(Node):
    """One eportd instance of a province's node (fedlib's Node with
    node.instance, its own ports and directory, and the province's Redis)."""

    def __init__(self, fed, nid, region, province, inst, store=None):
        super().__init__(fed, nid, region, name=f"{nid}-{inst}")
        self.port, self.http = ha_port(), ha_port()
        self.instance, self.province = inst, province
        self.redis = store or province  # the standby's: its own Server
        self.standby = store is not None
        self.extra = {"node": {"instance": inst},
                      # a lease outlives a blocked WAIT (config check):
                      # redis.timeout_ms under claim_idle_ms / 1.5
                      "redis": {"wait_replicas": fed.replicas_for(self),
                                "timeout_ms": fed.claim_idle_ms * 2 // 5},
                      "ha": {"claim_idle_ms": fed.claim_idle_ms}}

    def start(self, wait=True):
        super().start(wait=False)
        if wait:
            self.wait_up()

    def wait_up(self, timeout=30):
        """Listening for peers and answering HTTP."""
        wait_for(self._listening, timeout, f"eportd {self.name} to listen on {self.endpoint}")
        wait_for(lambda: port_open(self.http), timeout, f"eportd {self.name}'s HTTP")

    @property
    def label(self):
        return f"{self.id}.{self.instance}"

    def http_get(self, path, timeout=5):
        """(status, body text) of GET path on node.http."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http}{path}",
                                        timeout=timeout) as r:
                return r.status, r.read().decode(errors="replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def ready(self):
        """(status, JSON of GET /readyz)."""
        st, body = self.http_get("/readyz")
        try:
            return st, json.loads(body)
        except ValueError:
            return st, {"body": body}

    def jobs_owned(self):
        """{job: 0|1} from eport_ha_jobs_owned in GET /metrics."""
        st, text = self.http_get("/metrics")
        check(st == 200, f"GET /metrics on {self.label}: {st}")
        out = {}
        for line in text.splitlines():
            if line.startswith("eport_ha_jobs_owned{"):
                lab, _, v = line.rpartition(" ")
                job = lab.split('job="', 1)[1].split('"', 1)[0]
                out[job] = int(float(v))
        return out

    def metric(self, name, label=None):
        """The sum of a metric's lines (those containing label, when
        given), or None when it has none."""
        st, text = self.http_get("/metrics")
        vals = [float(line.rpartition(" ")[2]) for line in text.splitlines()
                if (line.startswith(name + "{") or line.startswith(name + " "))
                and (label is None or label in line)]
        return sum(vals) if vals else None


class HAFed(Fed):
    """A fedlib federation in which the nodes of `ha` are provinces: two
    instances (INSTANCES) on a primary + replica + 3 sentinels; those of
    `standby` (a subset of ha) also have a standby site. Other nodes are
    fedlib's (one eportd, one redis-server)."""

    log_lines = 25  # faults take more lines to tell

    def __init__(self, topology=PAIR, ha=(), standby=(), wait_replicas=1,
                 claim_idle_ms=CLAIM_IDLE_MS, instances=INSTANCES, replicas=1, **kw):
        super().__init__(topology, **kw)
        self.replicas = replicas  # per province, besides its primary
        self.ha, self.standby_of = list(ha), list(standby)
        self.wait_replicas, self.claim_idle_ms = wait_replicas, claim_idle_ms
        self.instance_names = tuple(instances)
        self.provinces = {}

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="eport-ha-")
        try:
            self.pki = os.path.join(self.dir, "pki")
            self.pki_run("init-ca")
            for nid, (region, _, _) in self.topology.items():
                self.pki_run("issue", nid, "--region", region)
            for nid, region in self.extra:
                self.pki_run("issue", nid, "--region", region)
            for nid, (region, _, _) in self.topology.items():
                if nid not in self.ha:
                    self.nodes[nid] = Node(self, nid, region)
                    continue
                prov = Province(self, nid, standby=nid in self.standby_of,
                                replicas=self.replicas)
                self.provinces[nid] = prov
                for inst in self.instance_names:
                    node = Instance(self, nid, region, prov, inst)
                    prov.instances.append(node)
                    self.nodes[node.label] = node
                if prov.standby:
                    node = Instance(self, nid, region, prov, "standby", store=prov.standby)
                    self.nodes[node.label] = node
            for n in self.nodes.values():
                _, peers, routes = self.topology[n.id]
                n.peers, n.routes, n.delivery = list(peers), dict(routes), dict(self.delivery)
                n.ledger = dict(self.ledger)
                n.peer_endpoints = {p: self.endpoints_of(p) for p in peers}
                n.write_config()
            # both provinces' processes first, then wait: the sentinels of
            # all of them find each other at the same time
            for prov in self.provinces.values():
                prov.start_servers()
            for n in self.nodes.values():
                if n.id not in self.ha:
                    n.redis.start()
            for prov in self.provinces.values():
                prov.wait_ready()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def replicas_for(self, inst):
        """redis.wait_replicas of an Instance: wait_replicas, or from a
        dict by label ("CQ.standby") or else node id."""
        w = self.wait_replicas
        if isinstance(w, dict):
            return w.get(inst.label, w.get(inst.id, 1))
        return w

    def add_instance(self, nid, inst, store=None):
        """One more instance of nid (configured, not started), on the
        province's Redis or on store (a Server: redis:// to it)."""
        prov = self.provinces[nid]
        n = Instance(self, nid, self.region_of(nid), prov, inst, store=store)
        if store is None:
            prov.instances.append(n)
        _, peers, routes = self.topology[nid]
        n.peers, n.routes, n.delivery = list(peers), dict(routes), dict(self.delivery)
        n.ledger = dict(self.ledger)
        n.peer_endpoints = {p: self.endpoints_of(p) for p in peers}
        n.write_config()
        self.nodes[n.label] = n
        return n

    def endpoints_of(self, nid):
        """What a peer lists for nid: every instance's endpoint (the standby
        site's last)."""
        if nid not in self.ha:
            return [self.nodes[nid].endpoint]
        return [n.endpoint for n in self.nodes.values()
                if n.id == nid and getattr(n, "listed", True)]

    def __getitem__(self, key):
        if key in self.nodes:
            return self.nodes[key]
        insts = self.instances(key, standby=True)
        check(insts, f"no node {key}")
        return next((n for n in insts if n.running()), insts[0])

    def instances(self, nid, standby=False):
        return [n for n in self.nodes.values()
                if n.id == nid and isinstance(n, Instance) and (standby or not n.standby)]

    def province(self, nid):
        return self.provinces[nid]

    def start_all(self):
        """Every node and instance but the standby sites'."""
        todo = [n for n in self.nodes.values() if not getattr(n, "standby", False)]
        for n in todo:
            n.start(wait=False)
        for n in todo:
            n.wait_up()

    # ---- jobs -----------------------------------------------------------------

    def owner(self, nid, job):
        """The Instance holding job's lease, or None."""
        name = self.provinces[nid].lease_owner(job)
        return next((n for n in self.instances(nid, standby=True) if n.instance == name), None)

    def wait_owner(self, nid, job, not_=None, timeout=None):
        """Until a running instance other than not_ holds job; returns it."""
        timeout = timeout or (self.claim_idle_ms * 3 / 1000 + 10)

        def got():
            o = self.owner(nid, job)
            return o if o is not None and o is not not_ and o.running() else None
        return wait_for(got, timeout, f"an instance of {nid} other than "
                        f"{not_.label if not_ else '-'} to hold {job}", interval=0.05)

    # ---- what a failure prints -------------------------------------------------

    def logs(self):
        return super().logs() + "".join(p.logs() for p in self.provinces.values())

    def __exit__(self, et, ev, tb):
        try:
            return super().__exit__(et, ev, tb)
        finally:
            for prov in self.provinces.values():
                prov.stop(force=True)


def missing():
    """Why these tests cannot run here (None when they can)."""
    if not shutil.which("redis-sentinel"):
        return "redis-sentinel is not installed (make deps)"
    return None


# ---- messages flowing while faults hit ------------------------------------------


class Stream(threading.Thread):
    """Sends records from a node to `to` with `eportctl send`, `batch` per
    process at `rate` records/s, until `total` have been acknowledged
    (`sent n=` printed) or stop(). Each process sends its own content
    (record("<tag> <k>")), so a record can be told to come from a call that
    failed (no `sent`: nothing of it acknowledged, but what it stored before
    failing may still be delivered). node(): whose configuration to use
    (a callable: the standby's after a promotion)."""

    def __init__(self, node, to, total, rate, batch=250, tag="ha"):
        super().__init__(daemon=True)
        self.node, self.to, self.total, self.rate = node, list(to), total, rate
        self.batch, self.tag = batch, tag
        self.acked = []   # [[id...]] per call that printed sent
        self.failed = []  # [(k, exit, why)] per call that did not
        self.errors = []  # exceptions of the thread itself
        self.halt = threading.Event()
        self.calls = 0

    @property
    def n_acked(self):
        return sum(len(b) for b in self.acked)

    def stop(self):
        self.halt.set()

    def send_once(self, n):
        node = self.node()
        k = self.calls
        self.calls += 1
        base = os.path.join(node.fed.dir, f"stream-{self.tag}-{k}")
        with open(base + ".json", "w") as f:
            f.write(record(f"{self.tag} {k}") + "\n")
        argv = [fedlib.EPORTCTL, "send", "--config", node.conf, "--to", ",".join(self.to),
                "--type", "record", "--repeat", str(n), "--ids", base + ".ids",
                "--canonical", base + ".json"]
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            rc, why = r.returncode, r.stderr.strip()[-300:]
        except subprocess.TimeoutExpired:
            rc, why = -1, "eportctl send did not return within 60 s"
        if rc == 0 and f"sent n={n}" in r.stdout:
            with open(base + ".ids") as f:
                ids = [l.strip() for l in f if l.strip()]
            if len(ids) == n:
                self.acked.append(ids)
                return True
            why = f"--ids has {len(ids)} ids, sent n={n}"
        self.failed.append((k, rc, why))
        return False

    def run(self):
        try:
            t0 = time.monotonic()
            while self.n_acked < self.total and not self.halt.is_set():
                n = min(self.batch, self.total - self.n_acked)
                if not self.send_once(n):
                    self.halt.wait(0.2)  # Redis failing over: try again soon
                    continue
                due = t0 + self.n_acked / self.rate - time.monotonic()
                if due > 0:
                    self.halt.wait(due)
        except Exception as e:  # reported by the test, not lost in a thread
            self.errors.append(e)

    def finish(self, timeout):
        self.join(timeout)
        check(not self.is_alive(), f"the {self.tag} sender did not finish within {timeout:g}s "
              f"({self.n_acked} of {self.total} acknowledged)")
        if self.errors:
            raise FedError(f"the {self.tag} sender failed: {self.errors[0]!r}")


def wait_acked(ib, streams, timeout):
    """Until ib holds every id the streams had acknowledged; then a little
    longer, so that a duplicate arriving late is seen too."""
    want = {i for s in streams for b in s.acked for i in b}

    def all_in():
        ib.poll()
        return want <= {e[1] for e in ib.entries}
    try:
        wait_for(all_in, timeout, f"{len(want)} acknowledged records in "
                 f"{ib.node.id}'s inbox", interval=0.5)
    except FedError as e:
        got = len(want & {e[1] for e in ib.entries})
        raise FedError(f"{e} (got {got})") from None
    time.sleep(2)
    ib.poll()


def check_acked_once(ib, streams, origin):
    """Every acknowledged id in ib exactly once, from origin; no id twice;
    a record nobody acknowledged only with the content of a call that
    failed, at most one batch of it per failed call. Returns the counts
    {delivered, acked, unacked_delivered}."""
    ids = [e[1] for e in ib.entries]
    dup = len(ids) - len(set(ids))
    check(dup == 0, f"{dup} ids delivered more than once")
    batches = [b for s in streams for b in s.acked]
    acked = {i for b in batches for i in b}
    check(len(acked) == sum(map(len, batches)), "eportctl send printed one id twice")
    got = set(ids)
    missing = acked - got
    check(not missing, f"{len(missing)} of {len(acked)} acknowledged messages lost, "
          f"e.g. {sorted(missing)[:3]}")
    wrong = [e for e in ib.entries if e[2] != origin]
    check(not wrong, f"{len(wrong)} records with origin not {origin}: {wrong[:2]}")
    digest = {e[1]: e[3] for e in ib.entries}
    per = [{digest[i] for i in b} for b in batches]
    check(all(len(d) == 1 for d in per), "records sent with one content arrived with "
          "different digests")
    known = [next(iter(d)) for d in per]
    check(len(set(known)) == len(known), "records of different content share a digest")
    extra = {}
    for i in got - acked:
        extra.setdefault(digest[i], []).append(i)
    nfailed = sum(len(s.failed) for s in streams)
    batch = max([s.batch for s in streams] or [0])
    check(not set(extra) & set(known), "records nobody acknowledged with the content of "
          "an acknowledged call: sent twice")
    check(len(extra) <= nfailed and all(len(v) <= batch for v in extra.values()),
          f"{sum(map(len, extra.values()))} records nobody acknowledged in {len(extra)} "
          f"contents, from {nfailed} failed calls")
    return {"delivered": len(ids), "acked": len(acked),
            "unacked_delivered": sum(map(len, extra.values()))}
