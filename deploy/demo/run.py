#!/usr/bin/env python3
"""The demo federation in one command (`make demo`): the PKI, one Redis,
four provincial nodes (CQ SC SN SH) and the national center NC on
loopback (conf/*.yaml), then the four clear-once scenarios of
docs/clearance.md fed from operator files (deploy/demo/data/) through the
nodes' real connectors: waybills and status files dropped into the
operators' inboxes, customs declarations and status events POSTed to the
HTTP API with the clients' API keys. What it prints for each scenario is
read back from the nodes (GET /v1/movements/{ref}: the steps, and the
verification of every signature and rule), never assumed:

    scenario rail-sea-export ref=26SN00000000000011 regions=SN>SH released exactly once verify=ok

Then it prints the dashboard's address and runs until Ctrl-C (or
`--stop` from another shell), stopping every process it started.

    deploy/demo/run.py [--once] [--keep-state]   start, feed, report (and stop with --once)
    deploy/demo/run.py --stop                    stop a demo started earlier
    deploy/demo/run.py --start-node ID           start one node again (after a kill)

State (Redis data, inboxes, logs, pid files) lives in var/demo/, wiped at
start unless --keep-state; the PKI in pki/ (conf/*.yaml read it there).
EPORTD names another eportd (default bin/eportd). Python 3 standard
library only."""
import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "deploy", "demo", "data")
VAR = os.path.join(ROOT, "var", "demo")
LOGS = os.path.join(VAR, "logs")
EPORTD = os.environ.get("EPORTD") or os.path.join(ROOT, "bin", "eportd")
REDIS_PORT = 6390
# id: (region, ZeroMQ port, HTTP port); NC first: it publishes the directory
NODES = {"NC": ("CN", 7105, 8105), "CQ": ("CQ", 7101, 8101), "SC": ("SC", 7102, 8102),
         "SN": ("SN", 7103, 8103), "SH": ("SH", 7104, 8104)}
DASHBOARD = "http://127.0.0.1:8105/"
START_S, LINKS_S, MOVEMENT_S, STOP_S = 30, 60, 90, 20


class DemoError(Exception):
    """Something that stops the demo; the message says what and where."""


def say(msg):
    print(msg, flush=True)


def rel(path):
    return os.path.relpath(path, ROOT)


def wait_for(fn, timeout, what, interval=0.2):
    end = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() > end:
            raise DemoError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


# ---- processes and pid files -------------------------------------------------


def pid_path(name):
    return os.path.join(VAR, name + ".pid")


def read_pid(name):
    try:
        with open(pid_path(name)) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def write_pid(name, pid):
    os.makedirs(VAR, exist_ok=True)
    with open(pid_path(name) + ".tmp", "w") as f:
        f.write(f"{pid}\n")
    os.rename(pid_path(name) + ".tmp", pid_path(name))


def alive(pid, want=None):
    """pid runs (not a zombie), and is want (its executable, or its command
    line for run.py) if given: a stale pid file must not make us signal
    somebody else's process. Not the command line alone: redis-server
    rewrites it as it starts (empty for a moment)."""
    if not pid:
        return False
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        if want is None:
            return True
        if want in os.path.basename(os.readlink(f"/proc/{pid}/exe")):
            return True
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return want in f.read().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        return False


def what_runs(name):
    return "redis-server" if name == "redis" else "run.py" if name == "run" else "eportd"


def running(name):
    pid = read_pid(name)
    return pid if alive(pid, what_runs(name)) else None


def spawn(name, argv, log):
    """A process of its own session (Ctrl-C reaches only us: we stop the
    processes in order), output appended to log, pid file written."""
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "ab") as out:
        p = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
    write_pid(name, p.pid)
    return p.pid


def tail(path, n=12):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)\n"


def stop_pids(names, sig, timeout):
    """Sends sig to each running one and waits; the names still running."""
    pids = {n: running(n) for n in names}
    for n, pid in pids.items():
        if pid:
            os.kill(pid, sig)
    end = time.monotonic() + timeout
    left = [n for n, pid in pids.items() if pid and alive(pid)]
    while left and time.monotonic() < end:
        time.sleep(0.1)
        left = [n for n in left if alive(pids[n])]
    return left


def redis_call(*args, timeout=2.0):
    """One command to the demo's Redis (RESP); the first reply line."""
    cmd = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=timeout) as s:
        s.sendall(cmd.encode())
        try:
            return s.recv(256).decode(errors="replace").split("\r\n")[0]
        except OSError:
            return ""  # SHUTDOWN closes without a reply


def stop_all():
    """Every node (SIGTERM, then the wait of a drain), then Redis; pid
    files removed. True when nothing is left running."""
    left = stop_pids(list(NODES), signal.SIGTERM, STOP_S)
    for n in left:
        say(f"demo: {n} did not stop within {STOP_S} s: killed (see {rel(node_log(n))})")
    stop_pids(left, signal.SIGKILL, 5)
    if running("redis"):
        try:
            redis_call("SHUTDOWN")
        except OSError:
            pass
        if stop_pids(["redis"], signal.SIGTERM, 10):
            stop_pids(["redis"], signal.SIGKILL, 5)
    left = [f"{n} (pid {running(n)})" for n in [*NODES, "redis"] if running(n)]
    for n in [*NODES, "redis"]:
        if not running(n) and os.path.exists(pid_path(n)):
            os.unlink(pid_path(n))
    say("demo: stopped" + (f", but still running: {', '.join(left)}" if left else ""))
    return not left


# ---- HTTP ---------------------------------------------------------------------


def http(method, port, path, body=None, headers=None, timeout=15):
    """(status, parsed JSON or text) of one request to a node's API; status
    0 when nothing answers."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                 method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    except (urllib.error.URLError, OSError):
        return 0, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def get(nid, path):
    return http("GET", NODES[nid][2], path)


# ---- start --------------------------------------------------------------------


def port_free(port):
    """Nobody listens on 127.0.0.1:port (SO_REUSEADDR: connections of a
    past run in TIME_WAIT do not count, as they do not for the daemons)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def check_free():
    pids = {n: running(n) for n in ["run", *NODES, "redis"]}
    busy = [f"{n} (pid {p})" for n, p in pids.items() if p and p != os.getpid()]
    if busy:
        raise DemoError(f"a demo is running ({', '.join(busy)}): stop it with "
                        "`make demo-stop` (deploy/demo/run.py --stop)")
    ports = [(REDIS_PORT, "the demo's Redis")]
    for nid, (_, zport, hport) in NODES.items():
        ports += [(zport, f"{nid}'s ZeroMQ link"), (hport, f"{nid}'s HTTP API")]
    for port, what in ports:
        if not port_free(port):
            raise DemoError(f"port {port} ({what}) on 127.0.0.1 is in use: another demo "
                            "running? (`make demo-stop` stops one started here)")


def run_tool(argv, what):
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise DemoError(f"{what}: exit {r.returncode}: {(r.stderr or r.stdout).strip()[-800:]}")
    return r.stdout


def make_pki():
    """The federation CA, the five nodes' certificates and the signed
    directory in pki/ (each step does nothing when already done)."""
    pki = os.path.join(ROOT, "deploy", "pki")
    run_tool([pki, "init-ca"], "deploy/pki init-ca")
    for nid, (region, _, _) in NODES.items():
        run_tool([pki, "issue", nid, "--region", region], f"deploy/pki issue {nid}")
    run_tool([pki, "directory", "--members", os.path.join(ROOT, "conf", "federation.txt")],
             "deploy/pki directory")
    # cbec.id_key (the same on every node) and each node's cbec.data_key
    for name in ["cbec-id.key"] + [f"{n}.data.key" for n in NODES if n != "NC"]:
        path = os.path.join(ROOT, "pki", name)
        if not os.path.exists(path):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
                f.write(os.urandom(32))
    say("demo: PKI in pki/ (CA, certificates of NC CQ SC SN SH, signed directory, "
        "identity and data keys)")


def start_redis():
    data = os.path.join(VAR, "redis")
    os.makedirs(data, exist_ok=True)
    exe = shutil.which("redis-server")
    if not exe:
        raise DemoError("redis-server is not installed (make deps)")
    spawn("redis", [exe, "--bind", "127.0.0.1", "--port", str(REDIS_PORT), "--dir", data,
                    "--appendonly", "yes", "--save", "", "--daemonize", "no",
                    "--logfile", os.path.join(LOGS, "redis.log")],
          os.path.join(LOGS, "redis.log"))

    def pong():
        if not running("redis"):
            raise DemoError(f"redis-server exited:\n{tail(os.path.join(LOGS, 'redis.log'))}")
        try:
            return redis_call("PING") == "+PONG"
        except OSError:
            return False
    wait_for(pong, START_S, f"Redis on 127.0.0.1:{REDIS_PORT}")
    say(f"demo: Redis on 127.0.0.1:{REDIS_PORT} (data in {rel(data)}/)")


def node_log(nid):
    return os.path.join(LOGS, nid.lower() + ".log")


def start_node(nid):
    """eportd for node nid, up to its answering /healthz."""
    if not os.access(EPORTD, os.X_OK):
        raise DemoError(f"{rel(EPORTD)} is missing: build it first (`make`, or `make demo`)")
    conf = os.path.join(ROOT, "conf", nid.lower() + ".yaml")
    spawn(nid, [EPORTD, "--config", conf], node_log(nid))

    def healthy():
        if not running(nid):
            raise DemoError(f"{nid} exited at start (conf/{nid.lower()}.yaml), "
                            f"{rel(node_log(nid))}:\n{tail(node_log(nid))}")
        return get(nid, "/healthz")[0] == 200
    wait_for(healthy, START_S, f"{nid}'s /healthz on 127.0.0.1:{NODES[nid][2]}")


def peers_up(nid):
    """The peers whose link nid reports up (eport_peer_up in /metrics)."""
    st, text = get(nid, "/metrics")
    up = set()
    for line in (text if st == 200 and isinstance(text, str) else "").splitlines():
        if line.startswith("eport_peer_up{") and line.rstrip().endswith(" 1"):
            up.add(line.split('peer="', 1)[1].split('"', 1)[0])
    return up


def wait_links():
    """Every link of conf/README.md up, as both of its ends report it."""
    want = {"CQ": {"SC", "SN", "SH", "NC"}, "SC": {"CQ", "SN", "NC"},
            "SN": {"CQ", "SH", "SC", "NC"}, "SH": {"CQ", "SN", "NC"},
            "NC": {"CQ", "SC", "SN", "SH"}}
    t0 = time.monotonic()
    missing = {}

    def all_up():
        for nid, peers in want.items():
            missing[nid] = peers - peers_up(nid)
        return not any(missing.values())
    try:
        wait_for(all_up, LINKS_S, "the links", interval=0.3)
    except DemoError:
        down = "; ".join(f"{n}: {' '.join(sorted(m))}" for n, m in missing.items() if m)
        raise DemoError(f"links still down after {LINKS_S} s ({down}); see {rel(LOGS)}/") from None
    say(f"demo: all 14 links up ({time.monotonic() - t0:.1f} s)")


def start(keep):
    check_free()
    if not keep:
        shutil.rmtree(VAR, ignore_errors=True)
    os.makedirs(LOGS, exist_ok=True)
    write_pid("run", os.getpid())
    make_pki()
    start_redis()
    for nid in NODES:
        start_node(nid)
    say(f"demo: eportd NC CQ SC SN SH running (conf/*.yaml, logs in {rel(LOGS)}/)")
    wait_links()


# ---- the scenarios ------------------------------------------------------------
# deploy/demo/data/scenarios.json says what is fed where; keys.txt the keys.

MOVEMENT_PHASE_DONE = "written_off"


def load_keys():
    keys = {}
    with open(os.path.join(ROOT, "deploy", "demo", "keys.txt")) as f:
        for line in f:
            w = line.split()
            if len(w) == 2 and not w[0].startswith("#"):
                keys[w[0]] = w[1]
    return keys


def drop(nid, conn, path):
    """path into the inbox of filedrop conn of nid (write NAME.tmp, then
    rename), until the node has taken it; DemoError if it went to error/."""
    inbox = os.path.join(VAR, nid.lower(), conn)
    name = os.path.basename(path)
    wait_for(lambda: os.path.isdir(inbox), 10, f"{nid}'s inbox {rel(inbox)}")
    t0 = time.time()
    with open(path, "rb") as f:
        data = f.read()
    with open(os.path.join(inbox, name + ".tmp"), "wb") as f:
        f.write(data)
    os.rename(os.path.join(inbox, name + ".tmp"), os.path.join(inbox, name))
    wait_for(lambda: not os.path.exists(os.path.join(inbox, name)), 30,
             f"{nid} to take {name} from {rel(inbox)}")
    errs = os.path.join(inbox, "error")
    for e in sorted(os.listdir(errs)) if os.path.isdir(errs) else []:
        if (e == name or e.startswith(name + ".")) and not e.endswith(".err") and \
                os.path.getmtime(os.path.join(errs, e)) >= t0 - 1:
            why = tail(os.path.join(errs, e + ".err"), 3).strip()
            raise DemoError(f"{nid} refused {name} (moved to {rel(errs)}/{e}): {why}")


def post(nid, key, path):
    """POST path to nid's /v1/messages with key; the message ids."""
    with open(path, "rb") as f:
        body = f.read()
    name = os.path.basename(path)
    headers = {"Authorization": "Bearer " + key, "Content-Type": "application/octet-stream",
               "Idempotency-Key": "demo-" + hashlib.sha256(body).hexdigest()[:32]}
    end = time.monotonic() + 30
    while True:
        st, js = http("POST", NODES[nid][2], "/v1/messages", body, headers)
        if st in (429, 503) and time.monotonic() < end:
            time.sleep(1)
            continue
        if st == 202 and isinstance(js, dict):
            return [m["id"] for m in js.get("messages", [])]
        err = js.get("error", {}) if isinstance(js, dict) else {}
        why = "; ".join([err.get("message", str(js)[:200])] + err.get("problems", [])[:3])
        raise DemoError(f"POST {name} to {nid}: HTTP {st or 'no answer'}: {why}")


def declared_ref(nid, msg_id):
    """The movement the declaration msg_id opened at nid (v1:msg refs)."""
    got = {}

    def done():
        st, js = get(nid, f"/v1/messages/{msg_id}")
        got.update(js if st == 200 and isinstance(js, dict) else {})
        return got.get("status") not in (None, "", "accepted")
    wait_for(done, 30, f"{nid} to dispatch declaration {msg_id}", interval=0.005)
    refs = (got.get("refs") or "").split()
    if got.get("status") != "declared" or not refs:
        raise DemoError(f"declaration {msg_id} at {nid}: {got.get('status')}: "
                        f"{got.get('detail', 'no movement opened')}")
    return refs[0]


def feed(sc, keys):
    """Every step of scenario sc; the movement's reference."""
    nid, ref = sc["node"], None
    for st in sc["steps"]:
        path = os.path.join(DATA, st["file"])
        if "drop" in st:
            drop(nid, st["drop"], path)
        else:
            ids = post(nid, keys[st["post"]], path)
            if st.get("declaration"):
                ref = declared_ref(nid, ids[0])
    if not ref:
        raise DemoError("no step of it is the declaration (scenarios.json)")
    return ref


def journey(nid, ref):
    """GET /v1/movements/{ref} at nid: (phase, itinerary, journey) or None."""
    st, js = get(nid, f"/v1/movements/{ref}")
    if st != 200 or not isinstance(js, dict):
        return None
    state = js.get("state") or js
    return state.get("phase"), state.get("itinerary") or js.get("itin") or [], js


def wait_done(nid, ref):
    """Until ref is written off at its departure and, with the same steps,
    at every region of its itinerary and at NC: its itinerary."""
    seen = {}

    def at(n, nsteps=None):
        j = journey(n, ref)
        seen[n] = j[0] if j else "unknown"
        ok = j and j[0] == MOVEMENT_PHASE_DONE and (
            nsteps is None or len(j[2].get("steps", [])) == nsteps)
        return j if ok else None
    try:
        dep = wait_for(lambda: at(nid), MOVEMENT_S, f"{ref} to be written off at {nid}")
        n = len(dep[2].get("steps", []))
        for other in [*dep[1][1:], "NC"]:
            wait_for(lambda: at(other, n), MOVEMENT_S, f"{ref} written off at {other}")
    except DemoError as e:
        where = " ".join(f"{k}={v}" for k, v in seen.items())
        raise DemoError(f"{ref}: {e} ({where})") from None
    return dep[1]


def read_back(ref, itin):
    """Per node of the itinerary and NC: the number of released steps, and
    the verification ("ok", or what failed: the journey's, else a step's)."""
    counts, verdicts = {}, {}
    for n in [*itin, "NC"]:
        j = journey(n, ref)
        steps = j[2].get("steps", []) if j else []
        counts[n] = sum(1 for s in steps if s.get("type") == "released")
        v = j[2].get("verify", "not given") if j else "unknown here"
        bad = [f"step {s.get('n')} {s.get('type')}: {s.get('verify')}" for s in steps
               if s.get("verified") is not True]
        verdicts[n] = v if v != "ok" else (bad[0] if bad else "ok")
    return counts, verdicts


def report(name, ref, itin, counts, verdicts):
    """The scenario's line; True when it says what is wanted."""
    once = bool(counts) and all(c == 1 for c in counts.values())
    ok = bool(verdicts) and all(v == "ok" for v in verdicts.values())
    rel_txt = "released exactly once" if once else "released " + " ".join(
        f"{n}={c}" for n, c in counts.items())
    ver_txt = "ok" if ok else "; ".join(f"{n}: {v}" for n, v in verdicts.items() if v != "ok")
    say(f"scenario {name} ref={ref} regions={'>'.join(itin)} {rel_txt} verify={ver_txt}")
    return once and ok


def run_scenarios():
    with open(os.path.join(DATA, "scenarios.json")) as f:
        scenarios = json.load(f)["scenarios"]
    keys, good = load_keys(), 0
    for sc in scenarios:
        try:
            ref = feed(sc, keys)
            itin = wait_done(sc["node"], ref)
            good += report(sc["name"], ref, itin, *read_back(ref, itin))
        except (DemoError, OSError, KeyError) as e:
            say(f"scenario {sc['name']} FAILED: {e}")
    return good == len(scenarios)


# ---- cross-border e-commerce ----------------------------------------------------
# Parcel A of the CEB samples (docs/cbec.md): its four documents, each
# handed in by its party at another node, meet at CQ (customs district 80).

CBEC_ORDER = "CQJD2026112400017"
CBEC_DOCS = [("SH", "ceb311-order/cq-jd-parcel-a.xml"),
             ("SC", "ceb411-payment/cq-tenpay-parcel-a-signed.xml"),
             ("CQ", "ceb511-waybill/cq-parcel-a-yto.xml"),
             ("SN", "ceb621-inventory/cq-jd-parcel-a.xml")]


def run_cbec():
    """Posts parcel A's documents and reads the set back from CQ: one line
    `cbec parcel ORDER matched at CQ (order at SH, ...) allowance=ok left=N`."""
    keys = load_keys()
    samples = os.path.join(ROOT, "mappings", "samples")
    for nid, doc in CBEC_DOCS:
        post(nid, keys[f"{nid.lower()}-cbec"], os.path.join(samples, doc))

    def answered():
        st, js = get("CQ", f"/v1/cbec/{CBEC_ORDER}")
        a = js.get("allowance", {}) if st == 200 and isinstance(js, dict) else {}
        return js if a.get("request") == "answered" else None
    try:
        js = wait_for(answered, MOVEMENT_S, f"parcel {CBEC_ORDER} matched at CQ")
    except DemoError as e:
        say(f"cbec parcel {CBEC_ORDER} FAILED: {e}")
        return False
    a = js["allowance"]
    where = ", ".join(f"{d.split('/')[0].split('-')[1]} at {n}" for n, d in CBEC_DOCS)
    say(f"cbec parcel {CBEC_ORDER} {js['state']} at CQ ({where}) "
        f"allowance={a.get('answer')} left={a.get('left_cny')} CNY")
    return js["state"] == "matched" and a.get("answer") == "ok"


# ---- main ---------------------------------------------------------------------


def watch():
    """Until SIGINT/SIGTERM (Ctrl-C, --stop): says when a node goes away
    or comes back (`--start-node ID`)."""
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, f: stop.append(s))
    state = {n: True for n in NODES}
    while not stop:
        time.sleep(0.5)
        for n in NODES:
            up = running(n) is not None
            if up != state[n]:
                say(f"demo: {n} is {'back' if up else 'down'}" + (
                    "" if up else f" (start it again: deploy/demo/run.py --start-node {n})"))
                state[n] = up
        if not running("redis") and not any(running(n) for n in NODES):
            break  # stopped under us (--stop)


def cmd_stop():
    pid = running("run")
    if pid:
        os.kill(pid, signal.SIGTERM)  # it stops its processes in order
        try:
            wait_for(lambda: not alive(pid), STOP_S + 20, "the demo to stop")
        except DemoError as e:
            say(f"demo: {e}; stopping its processes")
    if not any(running(n) for n in [*NODES, "redis"]):
        say("demo: stopped" if pid else "demo: not running")
        return 0
    return 0 if stop_all() else 1


def cmd_start_node(nid):
    if nid not in NODES:
        raise DemoError(f"no node {nid} (one of {' '.join(NODES)})")
    if running(nid):
        raise DemoError(f"{nid} is running (pid {running(nid)})")
    if not running("redis"):
        raise DemoError("the demo is not running (make demo)")
    start_node(nid)
    say(f"demo: {nid} started (pid {running(nid)}, log {rel(node_log(nid))})")
    return 0


def interrupted(sig, frame):
    raise KeyboardInterrupt  # SIGTERM (--stop) stops it as Ctrl-C does


def main():
    ap = argparse.ArgumentParser(description="the demo federation (see deploy/demo/README.md)")
    ap.add_argument("--once", action="store_true", help="run the scenarios, report, stop")
    ap.add_argument("--keep-state", action="store_true", help="keep var/demo/ (Redis data...)")
    ap.add_argument("--stop", action="store_true", help="stop a demo started earlier")
    ap.add_argument("--start-node", metavar="ID", help="start one node of a running demo")
    a = ap.parse_args()
    try:
        if a.stop:
            return cmd_stop()
        if a.start_node:
            return cmd_start_node(a.start_node.upper())
    except DemoError as e:
        say(f"demo: error: {e}")
        return 1
    signal.signal(signal.SIGTERM, interrupted)
    ok = False
    try:
        start(a.keep_state)
        ok = run_scenarios()
        ok = run_cbec() and ok
        if not a.once:
            say(f"dashboard: {DASHBOARD}")
            say("demo: running; Ctrl-C (or `make demo-stop`) stops it")
            watch()
    except DemoError as e:
        say(f"demo: error: {e}")
    except KeyboardInterrupt:
        say("")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if read_pid("run") == os.getpid():
            stop_all()
            os.unlink(pid_path("run"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
