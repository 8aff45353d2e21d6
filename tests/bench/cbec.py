"""bench cbec_clear: cross-border e-commerce parcels cleared end to end on
two real nodes (each eportd with its own redis-server): CQ, where the
parcels are cleared, and SC, the home of every buyer's annual allowance
(identity numbers 51...).

Prints:
  bench cbec_clear parcels_per_s=.. p99_ms=.. n=.. docs_per_s=..
        drain_s=.. conns=.. receipts=none

- Each parcel is four CEB XML documents POSTed to CQ's HTTP API by wrk
  (tests/bench/cbec.lua): order CEB311, payment CEB411, waybill CEB511
  and inventory list CEB621 of parcel A of the samples, with the
  parcel's own order, waybill, payment and list numbers and a buyer of
  its own. For each: translated from XML, stored, its set matched at CQ,
  the buyer's allowance reserved at SC (a signed request and a signed
  answer) and the answer stored at CQ.
- parcels_per_s: parcels whose allowance answer is stored, over the time
  from wrk's start to the last answer (drain_s: after wrk stopped, the
  time until every matched parcel had its answer); docs_per_s the
  documents wrk had accepted (202) per second while it ran.
- p99_ms: wrk's request latency (a document's POST to its 202) under that
  load; a parcel's documents are four such requests.
- receipts=none: customs' receipts back to the parties are not produced
  yet (docs/cbec.md), so they are not in the figure.

Binaries: the release build (bin/, env EPORTD, EPORTCTL override) and wrk
(env WRK). Env: BENCH_CBEC_SECONDS (10), BENCH_CBEC_CONNS (32),
BENCH_CBEC_WRK_THREADS (1). Python stdlib only; `bench cbec_clear
skipped: why` when something is missing; exit 1 on a failed check."""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True
import benchlib  # noqa: E402
from benchlib import HERE, ROOT  # noqa: E402
from fedlib import Fed, check, port_open, wait_for  # noqa: E402

SECONDS = int(os.environ.get("BENCH_CBEC_SECONDS", "10"))
CONNS = int(os.environ.get("BENCH_CBEC_CONNS", "32"))
WRK_THREADS = int(os.environ.get("BENCH_CBEC_WRK_THREADS", "1"))
WRK = os.environ.get("WRK", shutil.which("wrk") or "/usr/bin/wrk")
KEY = "bench-cbec-key-0123456789"
TWO = {"CQ": ("CQ", ["SC"], {}), "SC": ("SC", ["CQ"], {})}
SAMPLES = os.path.join(ROOT, "mappings", "samples")
DOCS = {
    "order": os.path.join(SAMPLES, "ceb311-order", "cq-jd-parcel-a.xml"),
    "payment": os.path.join(SAMPLES, "ceb411-payment", "cq-tenpay-parcel-a-signed.xml"),
    "waybill": os.path.join(SAMPLES, "ceb511-waybill", "cq-parcel-a-yto.xml"),
    "inventory": os.path.join(SAMPLES, "ceb621-inventory", "cq-jd-parcel-a.xml"),
}
KEYS = {"CQJD2026112400017": "@ORDER@", "YT8800123456781": "@WB@",
        "4200002026112400017": "@PAY@", "YGT621CQ2611240017": "@COP@",
        "500103199203154426": "@ID@"}


def templates(d):
    """The four documents with their keys as wrk's placeholders."""
    for doc, path in DOCS.items():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for k, v in KEYS.items():
            text = text.replace(k, v)
        with open(os.path.join(d, f"{doc}.xml"), "w", encoding="utf-8") as f:
            f.write(text)


def configure(fed, idkey):
    h = hashlib.sha256(KEY.encode()).hexdigest()
    for node in fed.nodes.values():
        with open(node.conf) as f:
            text = f.read()
        block = ("connectors:\n  - {name: ceb, type: http}\n"
                 f"clients:\n  - {{id: bench, connector: ceb, key_sha256: '{h}', "
                 "kinds: ['*'], parties: ['*']}\n"
                 "api: {threads: 2, rate_per_s: 0, max_backlog: 100000000}\n"
                 f"cbec:\n  id_key: {idkey}\n")
        with open(node.conf, "w") as f:
            f.write(text.replace("connectors: []\n", block))


def wrk(node, d, seconds):
    env = dict(os.environ, BENCH_CBEC_DIR=d, BENCH_CBEC_KEY=KEY,
               BENCH_CBEC_THREADS=str(WRK_THREADS))
    argv = [WRK, f"-t{WRK_THREADS}", f"-c{CONNS}", f"-d{seconds}s", "--timeout", "10s",
            "-s", os.path.join(HERE, "cbec.lua"), f"http://127.0.0.1:{node.http}/"]
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=seconds + 60)
    m = re.search(r"^wrk (.*)$", r.stdout, re.M)
    check(r.returncode == 0 and m, f"wrk failed: {r.stdout}{r.stderr}")
    return {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}


def metric(node, name, label):
    with urllib.request.urlopen(f"http://127.0.0.1:{node.http}/metrics", timeout=10) as r:
        text = r.read().decode()
    m = re.search(rf'^{name}{{[^}}]*{label}[^}}]*}} (\d+)', text, re.M)
    return int(m.group(1)) if m else 0


def unanswered(node):
    return int(node.redis.cmd("ZCARD", f"eport:{node.id}:v1:pmwait"))


def run():
    with Fed(TWO) as fed:
        idkey = os.path.join(fed.dir, "cbec-id.key")
        with open(idkey, "wb") as f:
            f.write(os.urandom(32))
        tdir = os.path.join(fed.dir, "templates")
        os.makedirs(tdir)
        templates(tdir)
        configure(fed, idkey)
        fed.start_all()
        cq = fed["CQ"]
        wait_for(lambda: port_open(cq.http), 15, "CQ's HTTP API")
        t0 = time.monotonic()
        w = wrk(cq, tdir, SECONDS)
        t1 = time.monotonic()
        check(w["bad_status"] == 0 and w["errors"] == 0,
              f"{w['bad_status']} non-2xx answers, {w['errors']} socket errors")
        parcels = w["requests"] // 4  # a parcel cut short by wrk's stop does not match

        def drained():
            m = metric(cq, "eport_cbec_sets_total", 'state="matched"')
            return m if m >= parcels - 2 * CONNS and unanswered(cq) == 0 else None
        matched = wait_for(drained, 600, "every matched parcel's allowance answer",
                           interval=0.5)
        t2 = time.monotonic()
        mism = metric(cq, "eport_cbec_sets_total", 'state="mismatched"')
        check(mism == 0, f"{mism} parcels mismatched")
        print(f"bench cbec_clear parcels_per_s={matched / (t2 - t0):.0f} "
              f"p99_ms={w['p99_us'] / 1000:.1f} n={matched} "
              f"docs_per_s={w['requests'] / (w['duration_us'] / 1e6):.0f} "
              f"drain_s={t2 - t1:.1f} conns={CONNS} receipts=none",
              flush=True)


def main():
    return benchlib.main("cbec_clear", run, tools=(WRK,))


if __name__ == "__main__":
    sys.exit(main())
