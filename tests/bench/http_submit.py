"""bench http_submit: IFTMIN bodies POSTed to one real node's HTTP API
(eportd + redis-server), translated, checked and durably stored before
each 202, over kept-alive connections from wrk.

Prints:
  bench http_submit msgs_per_s=.. p50_ms=.. p99_ms=.. n=.. conns=..
        threads=.. body_bytes=..

- msgs_per_s: 202 answers per second over BENCH_HTTP_SECONDS (each body
  is one IFTMIN message, one record) from wrk with BENCH_HTTP_CONNS
  connections, after a short warm-up; p50/p99 the latency wrk measured
  (request sent to response read) at that load, so they are latencies of
  a saturated node.
- Afterwards every 202 is checked against Redis: the messages the node
  holds (v1:msg:* keys) must number the 202s of the whole run, give or
  take the requests wrk abandoned in flight when it stopped (at most one
  per connection), and no request may have failed otherwise.
- node_cpu_us, redis_cpu_us: CPU time eportd (HTTP threads, the commit
  thread, the loop dispatching v1:local) and its Redis spent per message
  during the run: the figure to read when other work shares the machine,
  as msgs_per_s then drops with it.
- The node, its Redis and wrk share this machine's cores.

Binaries: the release build (bin/eportd; env EPORTD overrides) and wrk
(env WRK). Env: BENCH_HTTP_SECONDS (10), BENCH_HTTP_CONNS (32),
BENCH_HTTP_THREADS (api.threads, 2), BENCH_HTTP_WRK_THREADS (1),
BENCH_HTTP_BODY (mappings/samples/iftmin-rail/xa-rail-02.edi). Prints
`bench http_submit skipped: why` when redis-server, wrk or eportd is
missing; exit 1 on a failed check. Python stdlib only."""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
import benchlib  # noqa: E402
from benchlib import HERE, ROOT  # noqa: E402
from fedlib import Fed, check, port_open, wait_for  # noqa: E402

SECONDS = int(os.environ.get("BENCH_HTTP_SECONDS", "10"))
CONNS = int(os.environ.get("BENCH_HTTP_CONNS", "32"))
THREADS = int(os.environ.get("BENCH_HTTP_THREADS", "2"))
WRK_THREADS = int(os.environ.get("BENCH_HTTP_WRK_THREADS", "1"))
BODY = os.environ.get("BENCH_HTTP_BODY", os.path.join(
    ROOT, "mappings", "samples", "iftmin-rail", "xa-rail-02.edi"))
WRK = os.environ.get("WRK", shutil.which("wrk") or "/usr/bin/wrk")
KEY = "bench-http-key-0123456789"
ONE = {"CQ": ("CQ", [], {})}


def connectors_yaml():
    """The bench's connector, client and limits, in place of fedlib's
    `connectors: []` (no rate limit, a backlog cap the run cannot reach)."""
    h = hashlib.sha256(KEY.encode()).hexdigest()
    return ("connectors:\n  - {name: bench, type: http, mapping: iftmin-rail}\n"
            f"clients:\n  - {{id: bench, connector: bench, key_sha256: '{h}', "
            "kinds: ['*'], parties: ['*']}\n"
            f"api: {{threads: {THREADS}, rate_per_s: 0, "
            "max_backlog: 100000000, max_body_bytes: 1048576}\n")


def configure(node):
    with open(node.conf) as f:
        text = f.read()
    check("connectors: []\n" in text, "fedlib's config has no connectors line")
    with open(node.conf, "w") as f:
        f.write(text.replace("connectors: []\n", connectors_yaml()))


def wrk(node, seconds):
    env = dict(os.environ, BENCH_HTTP_BODY=BODY, BENCH_HTTP_KEY=KEY)
    argv = [WRK, f"-t{WRK_THREADS}", f"-c{CONNS}", f"-d{seconds}s",
            "--timeout", "10s", "-s", os.path.join(HERE, "http_submit.lua"),
            f"http://127.0.0.1:{node.http}/v1/messages"]
    r = subprocess.run(argv, capture_output=True, text=True, env=env,
                       timeout=seconds + 60)
    m = re.search(r"^wrk (.*)$", r.stdout, re.M)
    check(r.returncode == 0 and m, f"wrk failed: {r.stdout}{r.stderr}")
    return {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}


def cpu_s(pid):
    """User + system CPU seconds of a process so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def stored(node):
    """Messages the node holds (v1:msg:<id>, one per 202'd record)."""
    n = node.redis.cmd("EVAL", "return #redis.call('KEYS', ARGV[1])", "0",
                       "eport:CQ:v1:msg:*")
    return int(n)


def run():
    with Fed(ONE) as fed:
        node = fed["CQ"]
        configure(node)
        node.start()
        wait_for(lambda: port_open(node.http), 15, "the HTTP API to listen")
        warm = wrk(node, 2)
        pids = (node.proc.pid, node.redis.proc.pid)
        c0 = [cpu_s(p) for p in pids]
        w = wrk(node, SECONDS)
        c1 = [cpu_s(p) for p in pids]
        ok = w["requests"] - w["bad_status"]
        check(w["bad_status"] == 0 and w["errors"] == 0,
              f"{w['bad_status']} non-2xx answers, {w['errors']} socket errors")
        time.sleep(0.5)  # answers in flight when wrk stopped
        held = stored(node)
        want = warm["requests"] + w["requests"]
        check(want <= held <= want + 2 * CONNS,
              f"node holds {held} messages, wrk saw {want} accepted")
        rate = ok / (w["duration_us"] / 1e6)
        us = [(b - a) / ok * 1e6 for a, b in zip(c0, c1)]
        print(f"bench http_submit msgs_per_s={rate:.0f} "
              f"p50_ms={w['p50_us'] / 1000:.2f} p99_ms={w['p99_us'] / 1000:.2f} "
              f"n={ok} conns={CONNS} threads={THREADS} "
              f"body_bytes={os.path.getsize(BODY)} node_cpu_us={us[0]:.0f} "
              f"redis_cpu_us={us[1]:.0f}", flush=True)


def main():
    return benchlib.main("http_submit", run, tools=(WRK,))


if __name__ == "__main__":
    sys.exit(main())
