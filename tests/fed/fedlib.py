"""fedlib: a throw-away federation of real eportd processes for tests.

A Fed is a temporary directory holding a PKI (deploy/pki), one private
redis-server per node (append-only file in the directory, so a Redis that
is stopped and started again keeps its data), one YAML configuration per
node and the nodes' logs. Nodes are started, stopped, killed, paused and
resumed as processes; the tests look at them only through `eportctl` and
the log files, as an operator would.

    with Fed(LINE) as fed:
        fed.start_all()
        ids = fed["SC"].send(["SH"], 100, record(1))
        fed.wait_inbox("SH", len(ids))

Everything started is stopped and the directory removed on leaving the
`with`, also on failure (then the last lines of every log are printed).
FED_KEEP=1 keeps the directory for a post-mortem. Python stdlib only.

Binaries come from the environment (tests/fed/run.sh sets them):
EPORTD, EPORTCTL, FEDPROBE; default: build/san/{bin,fed}/.
"""
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_B = os.environ.get("B", "build")
EPORTD = os.environ.get("EPORTD", os.path.join(ROOT, _B, "san/bin/eportd"))
EPORTCTL = os.environ.get("EPORTCTL", os.path.join(ROOT, _B, "san/bin/eportctl"))
FEDPROBE = os.environ.get("FEDPROBE", os.path.join(ROOT, _B, "san/fed/fedprobe"))

# The line SC - CQ - SH: SC and SH reach each other through CQ.
# id: (region, peers, routes)
LINE = {
    "SC": ("SC", ["CQ"], {"SH": "CQ"}),
    "CQ": ("CQ", ["SC", "SH"], {}),
    "SH": ("SH", ["CQ"], {"SC": "CQ"}),
}

# The five nodes of the demo federation (conf/*.yaml), every one a peer of
# every other: four provinces and the national center NC (region CN).
FIVE = {nid: (("CN" if nid == "NC" else nid),
              [p for p in ("CQ", "SC", "SN", "SH", "NC") if p != nid], {})
        for nid in ("CQ", "SC", "SN", "SH", "NC")}

# Fast liveness and resends, so that faults are noticed within a second.
FAST_DELIVERY = {
    "retry_initial_ms": 100,
    "retry_max_ms": 2000,
    "heartbeat_ms": 200,
    "heartbeat_timeout_ms": 1000,
}


class FedError(Exception):
    """A test expectation that did not hold (the message says which)."""


def check(cond, why):
    if not cond:
        raise FedError(why)


def wait_for(cond, timeout, what, interval=0.1):
    """cond() until it returns something true; FedError after timeout s."""
    end = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > end:
            raise FedError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def record(n):
    """A small canonical JSON record whose content (so digest) depends on n."""
    return json.dumps({"kind": "status", "status": {
        "event": "gate_in", "description": f"fed test record {n}"}},
        separators=(",", ":"))


def _die_with_parent():
    # Linux: a child gets SIGKILL when the test runner dies, even by kill -9,
    # so no eportd or redis-server outlives a run.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except OSError:
        pass


def _spawn(argv, out_path):
    out = open(out_path, "ab")
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent)
    finally:
        out.close()


def _tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(none)\n"


def _resp(f):
    line = f.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise FedError(f"redis: {rest.decode(errors='replace')}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_resp(f) for _ in range(n)]
    raise FedError(f"redis: unexpected reply {line!r}")


class Redis:
    """One private redis-server with an append-only file in dir."""

    def __init__(self, dir_, name):
        self.dir, self.name, self.port, self.proc = dir_, name, free_port(), None
        self.args = []  # more redis-server options (tests/fed/halib.py)
        os.makedirs(dir_, exist_ok=True)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
                "--dir", self.dir, "--logfile", "redis.log", *self.args]
        self.proc = _spawn(argv, os.path.join(self.dir, "stdout"))
        wait_for(self._pings, 10, f"redis of {self.name} to answer PING")

    def _pings(self):
        if self.proc.poll() is not None:
            raise FedError(f"redis of {self.name} exited with {self.proc.returncode}:\n"
                           + _tail(os.path.join(self.dir, "redis.log")))
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def cmd(self, *args):
        """One command over RESP (binary-safe, for tests that tamper with
        what a node stored): the reply, bytes/int/list/None."""
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(out)
            return _resp(s.makefile("rb"))

    def stop(self, sig=signal.SIGTERM):
        """SIGTERM: Redis flushes its append-only file and exits."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Node:
    """One eportd: its Redis, configuration, log, process and eportctl."""

    def __init__(self, fed, node_id, region, name=None):
        self.fed, self.id, self.region = fed, node_id, region
        self.name = name or node_id  # its directory (instances: tests/fed/halib.py)
        self.port, self.http = free_port(), free_port()
        self.dir = os.path.join(fed.dir, self.name)
        os.makedirs(self.dir)
        self.redis = Redis(os.path.join(self.dir, "redis"), node_id)
        self.conf = os.path.join(self.dir, "node.yaml")
        self.log = os.path.join(self.dir, "eportd.log")
        self.out = os.path.join(self.dir, "eportd.out")  # stdout+stderr
        self.proc = None
        self.peers, self.routes, self.delivery, self.peer_regions = [], {}, {}, {}
        self.peer_endpoints = {}  # peer id -> [endpoint...]; default: its one
        # more configuration keys by section ({"node": {"instance": "a"},
        # "ha": {...}}): added to a section written here, or a new one
        self.extra = {}
        self.role = "national" if region == "CN" else "provincial"
        self.ledger = {}  # ledger.* keys: national, time_limit_h, auto (list)
        self.permits = {}  # permits.* keys (unreachable, answer_timeout_s...)

    @property
    def endpoint(self):
        return f"tcp://127.0.0.1:{self.port}"

    def write_config(self):
        pki = self.fed.pki
        lines = [
            f"# {self.id}: written by tests/fed/fedlib.py",
            "node:", f"  id: {self.id}", f"  region: {self.region}",
            f"  role: {self.role}", f"  listen: {self.endpoint}",
            f"  http: 127.0.0.1:{self.http}",
            *self._extra_lines("node"),
            "pki:", f"  ca: {pki}/ca.crt", f"  crl: {pki}/crl.pem",
            f"  cert: {pki}/{self.id}.crt", f"  key: {pki}/{self.id}.key",
            f"  curve_public: {pki}/{self.id}.curve.pub",
            f"  curve_secret: {pki}/{self.id}.curve.key",
            "redis:", f"  url: {self.redis.url}", f'  prefix: "eport:{self.id}:"',
            *self._extra_lines("redis"),
            "mappings:", f"  dir: {ROOT}/mappings",
            "peers:" if self.peers else "peers: []",
        ]
        for p in self.peers:
            region = self.peer_regions.get(p, self.fed.region_of(p))
            eps = self.peer_endpoints.get(p) or [self.fed.nodes[p].endpoint]
            lines += [f"  - id: {p}", f"    region: {region}",
                      f"    endpoints: [{', '.join(eps)}]"]
        lines.append("routes:" if self.routes else "routes: {}")
        lines += [f"  {d}: {via}" for d, via in self.routes.items()]
        lines.append("delivery:" if self.delivery else "delivery: {}")
        lines += [f"  {k}: {v}" for k, v in self.delivery.items()]
        if self.ledger:
            lines.append("ledger:")
            for k, v in self.ledger.items():
                v = "[" + ", ".join(v) + "]" if isinstance(v, (list, tuple)) else v
                lines.append(f"  {k}: {v}")
        if self.permits:  # written only when a test sets it
            lines.append("permits:")
            lines += [f"  {k}: {v}" for k, v in self.permits.items()]
        lines += ["connectors: []", "log:", "  level: info", f"  file: {self.log}"]
        for sec in self.extra:
            if sec not in ("node", "redis"):
                lines += [f"{sec}:", *self._extra_lines(sec)]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _extra_lines(self, section):
        return [f"  {k}: {v}" for k, v in self.extra.get(section, {}).items()]

    # ---- the process ------------------------------------------------------

    def start(self, wait=True):
        check(self.proc is None or self.proc.poll() is not None,
              f"{self.id} is already running")
        self.proc = _spawn([EPORTD, "--config", self.conf], self.out)
        if wait:
            wait_for(self._listening, 15, f"eportd {self.id} to listen on {self.endpoint}")

    def _listening(self):
        if self.proc.poll() is not None:
            raise FedError(f"eportd {self.id} exited with {self.proc.returncode}:\n"
                           + _tail(self.out))
        return port_open(self.port)

    def stop(self, timeout=15):
        """SIGTERM: the node drains and must exit 0."""
        if not self.running():
            return
        self.proc.send_signal(signal.SIGCONT)  # in case it was paused
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise FedError(f"eportd {self.id} did not exit within {timeout}s of SIGTERM")
        check(rc == 0, f"eportd {self.id} exited with {rc} on SIGTERM:\n" + _tail(self.out))

    def kill(self):
        """kill -9: no chance to drain or flush anything."""
        if self.running():
            self.proc.kill()
            self.proc.wait()

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def reload(self):
        os.kill(self.proc.pid, signal.SIGHUP)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # ---- eportctl -----------------------------------------------------------

    def ctl(self, *args, timeout=120, ok=True):
        # `eportctl dlq list --config F`: the config goes after the subcommand
        head = 2 if args[0] == "dlq" else 1
        argv = [EPORTCTL, *args[:head], "--config", self.conf, *args[head:]]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if ok and r.returncode != 0:
            raise FedError(f"{' '.join(argv[:2])} on {self.id} exited {r.returncode}: "
                           f"{r.stderr.strip()[-800:]}")
        return r

    def send(self, to, n, json_record=None, ref=None, mtype="record"):
        """Enqueue n messages; returns their ids, in creation order."""
        ids_file = os.path.join(self.dir, f"ids.{time.monotonic_ns()}")
        args = ["send", "--to", ",".join(to), "--type", mtype, "--repeat", str(n),
                "--ids", ids_file]
        if ref:
            args += ["--ref", ref]
        if json_record is not None:
            rec = ids_file + ".json"
            with open(rec, "w") as f:
                f.write(json_record + "\n")
            args += ["--canonical", rec]
        out = self.ctl(*args).stdout
        m = re.search(r"sent n=(\d+)", out)
        check(m and int(m.group(1)) == n, f"eportctl send said {out.strip()!r}, not sent n={n}")
        with open(ids_file) as f:
            ids = [line.strip() for line in f if line.strip()]
        check(len(ids) == n, f"eportctl send --ids wrote {len(ids)} ids, not {n}")
        return ids

    def peers_text(self):
        return self.ctl("peers").stdout

    def awaiting(self):
        """Messages of this origin still waiting for a receipt (`awaiting=N`
        in eportctl peers), summed; None when the output has none."""
        vals = re.findall(r"\bawaiting=(\d+)", self.peers_text())
        return sum(map(int, vals)) if vals else None

    def dlq(self):
        """Dead letters as {id: line}."""
        out = self.ctl("dlq", "list").stdout
        return {l.split()[0]: l for l in out.splitlines() if l.strip()}

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


class Inbox:
    """Records delivered to a node, read incrementally with `eportctl inbox
    --after`: entries [(pos, id, origin, digest)] in inbox order."""

    def __init__(self, node):
        self.node, self.entries, self.pos = node, [], None

    def poll(self):
        args = ["inbox", "--count", "10000"]
        if self.pos:
            args += ["--after", self.pos]
        for line in self.node.ctl(*args).stdout.splitlines():
            f = line.split()
            if len(f) != 4:
                raise FedError(f"eportctl inbox line not '<pos> <id> <origin> <digest>': {line!r}")
            if f[0] == self.pos:
                continue  # --after inclusive or not: never count one twice
            self.entries.append(tuple(f))
            self.pos = f[0]
        return len(self.entries)

    def wait(self, n, timeout):
        """Poll until n entries are here (more is an error at check time)."""
        try:
            return wait_for(lambda: self.poll() >= n, timeout,
                            f"{n} records in {self.node.id}'s inbox", interval=0.3)
        except FedError as e:
            raise FedError(f"{e} (got {len(self.entries)})") from None


class Fed:
    """A federation in a temporary directory; use as a context manager."""

    log_lines = 15  # of each node's log, shown for a failed test

    def __init__(self, topology=LINE, delivery=None, extra_certs=(), ledger=None):
        self.topology, self.extra = topology, list(extra_certs)
        self.ledger = dict(ledger or {})
        self.delivery = dict(FAST_DELIVERY, **(delivery or {}))
        self.dir, self.nodes = None, {}

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="eport-fed-")
        try:
            self.pki = os.path.join(self.dir, "pki")
            self.pki_run("init-ca")
            for nid, (region, peers, routes) in self.topology.items():
                self.pki_run("issue", nid, "--region", region)
                self.nodes[nid] = Node(self, nid, region)
            for nid, region in self.extra:
                self.pki_run("issue", nid, "--region", region)
            for nid, (region, peers, routes) in self.topology.items():
                n = self.nodes[nid]
                n.peers, n.routes, n.delivery = list(peers), dict(routes), dict(self.delivery)
                n.ledger = dict(self.ledger)
                n.write_config()
                n.redis.start()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __getitem__(self, nid):
        return self.nodes[nid]

    def region_of(self, nid):
        return self.topology[nid][0]

    def pki_run(self, *args):
        r = subprocess.run(["sh", os.path.join(ROOT, "deploy/pki"), "--dir", self.pki, *args],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise FedError(f"deploy/pki {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def start_all(self):
        for n in self.nodes.values():
            n.start(wait=False)
        for n in self.nodes.values():
            wait_for(n._listening, 15, f"eportd {n.id} to listen on {n.endpoint}")

    def wait_inbox(self, nid, n, timeout=60):
        ib = Inbox(self.nodes[nid])
        ib.wait(n, timeout)
        return ib

    def sanitizer_reports(self):
        """Lines of ASan/UBSan reports in any node's output."""
        bad = []
        for n in self.nodes.values():
            try:
                with open(n.out, errors="replace") as f:
                    bad += [f"{n.name}: {l.rstrip()}" for l in f
                            if "Sanitizer" in l or "runtime error:" in l]
            except FileNotFoundError:
                pass
        return bad

    def logs(self):
        parts = []
        for n in self.nodes.values():
            if not os.path.exists(n.out):
                continue  # never started
            parts.append(f"--- {n.name} log (last lines)\n{_tail(n.log, self.log_lines)}"
                         f"--- {n.name} stdout/stderr\n{_tail(n.out, 8)}")
        return "".join(parts)

    def __exit__(self, et, ev, tb):
        stop_errors = []
        for n in self.nodes.values():
            try:
                n.stop(timeout=10) if et is None else n.kill()
            except FedError as e:
                stop_errors.append(str(e))
            n.kill()
            n.redis.stop()
        bad = self.sanitizer_reports()
        if et is not None or stop_errors or bad:
            sys.stderr.write(self.logs())
        keep = os.environ.get("FED_KEEP")
        if keep:
            sys.stderr.write(f"fed: kept {self.dir}\n")
        elif self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        if et is None and (stop_errors or bad):
            raise FedError("; ".join(stop_errors + bad[:5]))
        return False


# ---- checks shared by the tests ---------------------------------------------


def check_exactly_once(ib, sent_batches, origin):
    """ib holds each sent id exactly once, from origin, and every record of a
    batch (same content) has one digest, different from other batches'."""
    ids = [e[1] for e in ib.entries]
    sent = [i for b in sent_batches for i in b]
    dup = len(ids) - len(set(ids))
    check(dup == 0, f"{dup} ids delivered more than once")
    missing, extra = set(sent) - set(ids), set(ids) - set(sent)
    check(not missing, f"{len(missing)} of {len(sent)} messages lost, e.g. {sorted(missing)[:3]}")
    check(not extra, f"{len(extra)} records nobody sent, e.g. {sorted(extra)[:3]}")
    wrong = [e for e in ib.entries if e[2] != origin]
    check(not wrong, f"{len(wrong)} records with origin not {origin}: {wrong[:2]}")
    digest = {e[1]: e[3] for e in ib.entries}
    per_batch = [{digest[i] for i in b} for b in sent_batches]
    check(all(len(d) == 1 for d in per_batch),
          "records sent with one content arrived with different digests")
    flat = [next(iter(d)) for d in per_batch]
    check(len(set(flat)) == len(flat), "records of different content share a digest")


def refusals(node, since=0):
    """Lines of node's log from byte `since` on with event=refused."""
    return [l for l in node.log_text()[since:].splitlines() if "event=refused" in l]
