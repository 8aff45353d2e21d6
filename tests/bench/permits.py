"""bench permit_verify: remote verify-and-reserve between two real nodes,
SC (requesting) and CQ (the permit's home), each eportd with its own
redis-server.

Prints:
  bench permit_verify ops_per_s=.. p50_ms=.. p99_ms=.. overdraws=0 n=..
        paced_rate=.. burst_p99_ms=..

- ops_per_s: N reserve requests (1 unit each, distinct keys) are queued
  at SC as its HTTP API and eportctl queue them (tests/bench/tool_pmload,
  store_pmq_add, four concurrent clients); SC's eportd signs and sends
  them in batch envelopes, CQ's applies each in
  its ledger script and sends back a signed answer, SC stores it. The
  figure is N over the time from the first request queued to the last
  answer stored; every answer must be ok (the permit holds far more).
- p50_ms, p99_ms: requests queued at a paced BENCH_PM_RATE per second for
  a few seconds; a request's latency is its answer stored at SC minus its
  queueing at SC (both Redis-side ms stamps from the node's clock).
- overdraws: a second permit holding BENCH_PM_SMALL units gets 3x as many
  requests at once; more ok answers than units would be an overdraw
  (and the check fails the bench).

Binaries: the release build (bin/, env EPORTD, EPORTCTL override) and the
load tool $B/rel/benchtool/tool_pmload. Env: BENCH_PM_N (20000),
BENCH_PM_RATE (2000), BENCH_PM_SECONDS (4), BENCH_PM_SMALL (1000).
Python stdlib only; `bench permit_verify skipped: why` when something is
missing; exit 1 on a failed check.
"""
import datetime
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
import benchlib  # noqa: E402
from fedlib import Fed, FedError, check  # noqa: E402

N = int(os.environ.get("BENCH_PM_N", "20000"))
RATE = int(os.environ.get("BENCH_PM_RATE", "2000"))
SECONDS = float(os.environ.get("BENCH_PM_SECONDS", "4"))
SMALL = int(os.environ.get("BENCH_PM_SMALL", "1000"))
B = os.environ.get("B", "build")
TOOL = os.path.join(benchlib.ROOT, B, "rel", "benchtool", "tool_pmload")
HOME, REQ = "CQ", "SC"
TOPOLOGY = {HOME: (HOME, [REQ], {}), REQ: (REQ, [HOME], {})}


def permit_file(d, number, units):
    """A canonical quantity-limited import licence valid around today."""
    today = datetime.date.today()
    rec = {
        "kind": "permit",
        "document": {"type": "permit", "number": number},
        "permit": {"kind": "automatic_import_licence", "usage": "quantity",
                   "authority": "BENCH",
                   "valid_from": str(today - datetime.timedelta(days=1)),
                   "valid_to": str(today + datetime.timedelta(days=30))},
        "parties": [{"role": "holder", "name": "BENCH IMPORT CO.",
                     "id": "91500000MA5U7QX45Q"}],
        "goods": [{"seq": 1, "hs_code": "847130", "quantity": units,
                   "unit": "PCE"}],
    }
    path = os.path.join(d, f"{number}.json")
    with open(path, "w") as f:
        json.dump(rec, f)
    return path


def load(node, permit, count, rate, keys):
    """tool_pmload's figures as a dict."""
    r = subprocess.run([TOOL, node.redis.url, f"eport:{node.id}:", permit,
                        str(count), str(rate), keys], capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        raise FedError(f"tool_pmload: {r.stderr.strip()}")
    return dict(kv.split("=", 1) for kv in r.stdout.split())


def run():
    with Fed(TOPOLOGY) as fed:
        fed.start_all()
        home, req = fed[HOME], fed[REQ]
        home.ctl("permits", "issue", "--canonical",
                 permit_file(fed.dir, "BENCH1", 10 * (N + RATE * SECONDS)))
        home.ctl("permits", "issue", "--canonical",
                 permit_file(fed.dir, "BENCH2", SMALL))
        burst = load(req, "CQ-BENCH1", N, 0, "burst")
        check(int(burst["ok"]) == N, f"burst: {burst}")
        paced = load(req, "CQ-BENCH1", int(RATE * SECONDS), RATE, "paced")
        check(int(paced["ok"]) == int(RATE * SECONDS), f"paced: {paced}")
        small = load(req, "CQ-BENCH2", 3 * SMALL, 0, "small")
        over = max(0, int(small["ok"]) - SMALL)
        check(int(small["ok"]) == SMALL, f"small permit: {small}")
        print(f"bench permit_verify ops_per_s={burst['ops_per_s']} "
              f"p50_ms={paced['p50_ms']} p99_ms={paced['p99_ms']} "
              f"overdraws={over} n={N} paced_rate={RATE} "
              f"burst_p99_ms={burst['p99_ms']}", flush=True)


if __name__ == "__main__":
    sys.exit(benchlib.main("permit_verify", run, tools=(TOOL,)))
