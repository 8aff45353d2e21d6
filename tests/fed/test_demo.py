"""The demo as a newcomer runs it (`make demo`: deploy/demo/run.py), on
its fixed loopback ports, with this build's eportd (EPORTD):

    demo        it comes up and prints the four scenario lines, each
                `released exactly once verify=ok`, and the cross-border
                e-commerce parcel's line (matched, allowance drawn),
                within DEMO_S;
    demo-alert  SC killed (kill -9): the national center's GET /v1/alerts
                shows node_down for SC within the rule's time; SC started
                again (run.py --start-node SC): the alert clears;
    dashboard   tests/browser/test_dashboard.py in headless Chromium
                against the demo's national center, expecting the
                node_down alert; its screenshot is var/demo/dashboard.png
                (DEMO_SCREENSHOT=1 copies it to docs/dashboard.png)
                (SKIPPED without /usr/bin/chromium or selenium);
    demo-stop   Ctrl-C (SIGINT) stops it cleanly: exit 0, no eportd or
                redis-server of it left, its ports free, no sanitizer
                report in the nodes' logs.

The ports are the demo's (6390, 7101-7105, 8101-8105): when one is taken
(a demo running?) every test fails at once, saying which."""
import ctypes
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedlib import EPORTD, ROOT, FedError, wait_for  # noqa: E402

RUN = os.path.join(ROOT, "deploy", "demo", "run.py")
VAR = os.path.join(ROOT, "var", "demo")
NC = "http://127.0.0.1:8105"
IDS = ("CQ", "SC", "SN", "SH", "NC")  # ports 7101.. and 8101.., in this order
PORTS = {6390: "the demo's Redis", **{7101 + i: f"{n}'s ZeroMQ link" for i, n in enumerate(IDS)},
         **{8101 + i: f"{n}'s HTTP API" for i, n in enumerate(IDS)}}
SCENARIOS = ("rail-sea-export", "water-transship", "rail-transit", "import-transfer")
DEMO_S = 180          # up, fed and reported
STOP_S = 60
SHOT = os.path.join(ROOT, "docs", "dashboard.png")
LINE = re.compile(r"^scenario (\S+) ref=(\S+) regions=(\S+) released exactly once verify=ok$")
# parcel A's four documents handed in at four nodes, matched at CQ, its
# buyer's allowance drawn (¥26,000 - 485)
CBEC_LINE = ("cbec parcel CQJD2026112400017 matched at CQ (order at SH, payment at SC, "
             "waybill at CQ, inventory at SN) allowance=ok left=25515.00 CNY")


class Failed(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Failed(why)


def taken_ports():
    busy = []
    for port, what in PORTS.items():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                busy.append(f"{port} ({what})")
    return busy


def get_json(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return json.loads(r.read())
    except Exception:  # down, 404 before the center serves it...
        return None


def _term_with_parent():
    # the demo stops itself (SIGTERM is its Ctrl-C) if this test dies
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


class Demo:
    """deploy/demo/run.py running, its output lines gathered."""

    def __init__(self):
        env = dict(os.environ, EPORTD=EPORTD)
        self.p = subprocess.Popen([sys.executable, RUN], cwd=ROOT, env=env, text=True,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, preexec_fn=_term_with_parent)
        self.lines, self.q = [], queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def until(self, pred, timeout):
        """Lines until one satisfies pred (that line), or None at exit."""
        end = time.monotonic() + timeout
        while True:
            try:
                line = self.q.get(timeout=max(0.1, end - time.monotonic()))
            except queue.Empty:
                raise Failed(f"no such line within {timeout:g} s; got: "
                             + " | ".join(self.lines[-8:])) from None
            if line is None:
                return None
            self.lines.append(line)
            sys.stderr.write(f"  demo> {line}\n")
            if pred(line):
                return line

    def pids(self):
        out = {}
        for n in (*IDS, "redis"):
            try:
                with open(os.path.join(VAR, n + ".pid")) as f:
                    out[n] = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return out

    def stop(self, sig=signal.SIGINT):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            self.p.wait(STOP_S)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise Failed(f"the demo did not stop within {STOP_S} s of SIGINT") from None
        self.until(lambda line: False, 5)  # the rest of its output
        return self.p.returncode


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def demo_processes():
    """eportd of conf/*.yaml and redis-server on 6390 still running."""
    left = []
    conf = os.path.join(ROOT, "conf") + "/"
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if (("eportd" in cmd and conf in cmd) or ("redis-server" in cmd and "6390" in cmd)) \
                and alive(int(d)):
            left.append(f"{d} {cmd.strip()}")
    return left


# ---- the tests ----------------------------------------------------------------


def test_demo(d):
    t0 = time.monotonic()
    got = {}

    def seen(line):
        m = LINE.match(line)
        if m:
            got[m.group(1)] = m.groups()
        return line.startswith("dashboard: ")
    last = d.until(seen, DEMO_S)
    check(last is not None, f"the demo exited ({d.p.poll()}) before the dashboard line: "
          + " | ".join(d.lines[-6:]))
    bad = [ln for ln in d.lines if ln.startswith("scenario ") and not LINE.match(ln)]
    check(not bad, f"scenario lines not as wanted: {' | '.join(bad)}")
    check(set(got) == set(SCENARIOS), f"scenarios reported: {sorted(got)}, "
          f"wanted {list(SCENARIOS)}")
    check(last.strip() == "dashboard: http://127.0.0.1:8105/", f"dashboard line: {last}")
    cbec = [ln for ln in d.lines if ln.startswith("cbec ")]
    check(cbec == [CBEC_LINE], f"the cross-border e-commerce line: {cbec}")
    sys.stderr.write(f"demo: up and reported in {time.monotonic() - t0:.1f} s\n")
    return got


def node_down_after_s():
    """node_down's after_s in the center's rule file (15 by default)."""
    try:
        with open(os.path.join(ROOT, "conf", "alerts.yaml")) as f:
            text = f.read()
        m = re.search(r"name:\s*node_down\b(.*?)(?:\n\s*-\s|\Z)", text, re.S)
        return int(re.search(r"after_s:\s*(\d+)", m.group(1)).group(1))
    except (OSError, AttributeError):
        return 15


def sc_alert():
    js = get_json(NC + "/v1/alerts") or {}
    for a in js.get("alerts", []):
        if a.get("rule") == "node_down" and a.get("subject") == "SC":
            return a
    return None


def test_alert(d):
    pid = d.pids().get("SC")
    check(pid and alive(pid), "no running SC in var/demo/SC.pid")
    check(not (sc_alert() or {}).get("active"), "node_down for SC active before the kill")
    os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    limit = node_down_after_s() + 20  # + a health interval and the rule's tick
    a = wait_for(lambda: (lambda x: x if x and x.get("active") else None)(sc_alert()),
                 limit, "node_down for SC active at NC (GET /v1/alerts)")
    sys.stderr.write(f"demo: node_down SC after {time.monotonic() - t0:.1f} s: "
                     f"{a.get('message')}\n")
    d.until(lambda line: line.startswith("demo: SC is down"), 10)
    r = subprocess.run([sys.executable, RUN, "--start-node", "SC"], cwd=ROOT, text=True,
                       capture_output=True, timeout=60,
                       env=dict(os.environ, EPORTD=EPORTD))
    check(r.returncode == 0, f"--start-node SC: exit {r.returncode}: {r.stdout}{r.stderr}")
    t1 = time.monotonic()
    wait_for(lambda: (lambda x: x and not x.get("active"))(sc_alert()), 40,
             "node_down for SC to clear once SC is back")
    sys.stderr.write(f"demo: node_down SC cleared {time.monotonic() - t1:.1f} s after "
                     "the restart\n")
    # and SC's links up again as the center sees them (the dashboard's graph)
    wait_for(lambda: (lambda f: f and f.get("links") and all(
        ln.get("up") for ln in f["links"]))(get_json(NC + "/v1/federation")), 40,
        "every link up again at NC (GET /v1/federation)")
    sys.stderr.write(f"demo: every link up {time.monotonic() - t1:.1f} s after the restart\n")


def browser_missing():
    if not os.access("/usr/bin/chromium", os.X_OK):
        return "no chromium"
    r = subprocess.run([sys.executable, "-c", "import selenium"], capture_output=True)
    return "no selenium" if r.returncode else None


def test_dashboard(d, refs):
    shot = os.path.join(VAR, "dashboard.png")  # docs/ gets it only when good
    argv = [sys.executable, os.path.join(ROOT, "tests", "browser", "test_dashboard.py"),
            NC + "/", "--expect-alert", "node_down", "--screenshot", shot]
    if refs.get("rail-sea-export"):
        argv += ["--ref", refs["rail-sea-export"][1]]
    r = subprocess.run(argv, cwd=ROOT, text=True, capture_output=True, timeout=300)
    sys.stderr.write(r.stderr)
    mine = [ln for ln in r.stdout.splitlines() if ln.startswith("fed: dashboard")]
    check(r.returncode == 0 and mine and mine[0] == "fed: dashboard ok",
          (mine[0].split(": ", 2)[-1] if mine else f"exit {r.returncode}: {r.stdout[-300:]}"))
    # a test leaves tracked files alone: DEMO_SCREENSHOT=1 refreshes docs/
    if os.environ.get("DEMO_SCREENSHOT") == "1":
        shutil.copyfile(shot, SHOT)


def test_stop(d):
    pids = d.pids()
    check(len(pids) == 6, f"pid files of the demo: {sorted(pids)}")
    rc = d.stop()
    check(rc == 0, f"the demo exited {rc}: " + " | ".join(d.lines[-4:]))
    check(any(ln.startswith("demo: stopped") for ln in d.lines), "no 'demo: stopped' line")
    left = [f"{n} {p}" for n, p in pids.items() if alive(p)] + demo_processes()
    check(not left, f"processes left: {left}")
    busy = taken_ports()
    check(not busy, f"ports still taken: {busy}")
    reports = []
    for name in sorted(os.listdir(os.path.join(VAR, "logs"))):
        with open(os.path.join(VAR, "logs", name), errors="replace") as f:
            reports += [f"{name}: {ln.strip()}" for ln in f
                        if "Sanitizer" in ln or "runtime error:" in ln]
    check(not reports, f"sanitizer reports: {reports[:3]}")


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    names = ["demo", "demo-alert", "dashboard", "demo-stop"]
    busy = taken_ports()
    if busy:
        for n in names:
            print(f"fed: {n} FAILED: the demo's ports are taken: {', '.join(busy)} "
                  "(a demo running? make demo-stop)", flush=True)
        print(f"fed: 0 passed, {len(names)} failed", flush=True)
        return 1
    results, d, refs = [], Demo(), {}

    def run(name, fn, *args):
        t0 = time.monotonic()
        try:
            out = fn(*args)
            print(f"fed: {name} ok ({time.monotonic() - t0:.1f}s)", flush=True)
            results.append(True)
            return out
        except Exception as e:  # one line; the demo's output is on stderr
            why = str(e) if isinstance(e, (Failed, FedError)) else f"{type(e).__name__}: {e}"
            print(f"fed: {name} FAILED: {why}", flush=True)
            results.append(False)
            return None
    try:
        refs = run("demo", test_demo, d) or {}
        if refs:
            run("demo-alert", test_alert, d)
        else:
            run("demo-alert", check, False, "the demo did not come up")
        why = browser_missing()
        if why:
            print(f"fed: dashboard SKIPPED: {why}", flush=True)
        elif refs:
            run("dashboard", test_dashboard, d, refs)
        else:
            run("dashboard", check, False, "the demo did not come up")
        run("demo-stop", test_stop, d)
    finally:
        if d.p.poll() is None:
            d.p.send_signal(signal.SIGTERM)
            try:
                d.p.wait(STOP_S)
            except subprocess.TimeoutExpired:
                d.p.kill()
    passed = sum(results)
    print(f"fed: {passed} passed, {len(results) - passed} failed", flush=True)
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
