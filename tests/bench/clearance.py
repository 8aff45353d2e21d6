"""bench clearance_movements: movements through a three-region itinerary
CQ > SN > SH on three real nodes (eportd + redis-server each), every step
taken by the ledger itself (ledger.auto = release, passage, arrival,
control, write_off): declared at CQ, released once the claim settles,
passage at SN, arrival and control at SH, write-off at CQ.

Prints:
  bench clearance_movements movements_per_s=.. p50_ms=.. p99_ms=.. n=..
  bench clearance_paced rate=.. p50_ms=.. p99_ms=.. n=..

- movements_per_s: N movements declared at CQ by one `eportctl declare
  --repeat N` (numbered copies of one declaration: distinct containers
  and documents, so no claim conflicts); from the declare's start until
  CQ holds all N written off.
- p50_ms, p99_ms: per movement, the release (its envelope's creation
  time, field 6) to the anticipated arrival record stored at SH,
  the last node of the itinerary: the stream position (ms, SH's Redis
  clock) of the released envelope in SH's v1:mvin, from which SH's ledger
  applies it. The ledger stores no applied-at time of its own; a check
  afterwards makes sure SH did apply every release.
- All three nodes and their Redis share this machine's cores.

Binaries: the release build (bin/eportd, bin/eportctl; env EPORTD,
EPORTCTL override). Env: BENCH_CLEAR_N (2000); BENCH_CLEAR_STATS=1 adds,
per node, Redis calls per movement and CPU seconds (stderr). Details go to stderr.
Prints `bench clearance_movements skipped: why` when redis-server or the
binaries are missing; exit 1 on a failed check. Python stdlib only."""
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
import benchlib  # noqa: E402
from fedlib import Fed, check, wait_for  # noqa: E402
import ledgerlib as L  # noqa: E402

N = int(os.environ.get("BENCH_CLEAR_N", "2000"))
# then a paced run: RATE movements/s for SECONDS, for the latency of a
# node that is not saturated
RATE = int(os.environ.get("BENCH_CLEAR_RATE", "200"))
SECONDS = float(os.environ.get("BENCH_CLEAR_SECONDS", "5"))
THREE = {"CQ": ("CQ", ["SN", "SH"], {}), "SN": ("SN", ["CQ", "SH"], {}),
         "SH": ("SH", ["CQ", "SN"], {})}
LEDGER = {"national": '""', "time_limit_h": 72,
          "auto": ["release", "passage", "arrival", "control", "write_off"]}


def mp_skip(b, i):
    """Index past the msgpack value at b[i] (the kinds an envelope's
    fields 0-5 use: uints, strings, arrays of strings)."""
    t = b[i]
    if t <= 0x7f:
        return i + 1
    if 0xa0 <= t <= 0xbf:
        return i + 1 + (t & 0x1f)
    if t == 0xd9:
        return i + 2 + b[i + 1]
    if 0x90 <= t <= 0x9f:
        i += 1
        for _ in range(t & 0x0f):
            i = mp_skip(b, i)
        return i
    widths = {0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8}
    if t in widths:
        return i + 1 + widths[t]
    raise ValueError(f"msgpack 0x{t:02x} not expected in an envelope head")


def created_ms(frame):
    """Envelope field 6, created (ms): an automatic step's id keeps the
    declaration's time (docs/clearance.md, "Automatic steps"), so the id
    does not say when the release was made."""
    i = 1  # past the array header
    for _ in range(6):
        i = mp_skip(frame, i)
    t = frame[i]
    if t <= 0x7f:
        return t
    w = {0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8}[t]
    return int.from_bytes(frame[i + 1:i + 1 + w], "big")


def pct(v, p):
    return v[min(len(v) - 1, int(len(v) * p / 100))]


def written_off(node):
    return node.redis.cmd("SCARD", f"eport:{node.id}:v1:mv:phase:written_off")


def release_latencies(sh):
    """ms from each release's creation to its storing in SH's v1:mvin."""
    key, start, out = f"eport:SH:v1:mvin", "-", []
    while True:
        batch = sh.redis.cmd("XRANGE", key, start, "+", "COUNT", "1000")
        if not batch:
            return out
        for sid, fields in batch:
            f = dict(zip(fields[::2], fields[1::2]))
            if b"\xa8released" in f.get(b"f", b""):
                out.append(int(sid.split(b"-")[0]) - created_ms(f[b"f"]))
        start = "(" + batch[-1][0].decode()
        if len(batch) < 1000:
            return out


def cpu_s(pid):
    """User+system CPU seconds of a live process (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return -1.0


def stats(fed, n):
    """BENCH_CLEAR_STATS=k: per node, Redis calls per movement (the k most
    called commands) and CPU; then the CPU of all per movement."""
    total = 0.0
    for node in fed.nodes.values():
        total += cpu_s(node.proc.pid) + cpu_s(node.redis.proc.pid)
        info = node.redis.cmd("INFO", "commandstats").decode()
        calls = {}
        for line in info.splitlines():
            if line.startswith("cmdstat_"):
                name, rest = line[8:].split(":", 1)
                calls[name] = int(rest.split(",")[0].split("=")[1])
        top = sorted(calls.items(), key=lambda kv: -kv[1])[:int(os.environ.get("BENCH_CLEAR_STATS"))]
        sys.stderr.write(f"clearance: {node.id} redis calls/movement "
                         f"{sum(calls.values()) / n:.1f} ("
                         + " ".join(f"{k}={v / n:.1f}" for k, v in top)
                         + f") eportd cpu={cpu_s(node.proc.pid):.2f}s redis cpu="
                         f"{cpu_s(node.redis.proc.pid):.2f}s\n")
    sys.stderr.write(f"clearance: cpu of all daemons and redis {total:.2f}s, "
                     f"{total * 1000 / n:.2f} ms per movement\n")


def paced(fed, before):
    """RATE movements/s for SECONDS (a declare of RATE/10 every 100 ms, each
    from its own owner code so no claims meet); latencies of their releases
    to SH as release_latencies measures them."""
    per, calls = max(1, RATE // 10), max(1, int(SECONDS * 10))
    t0 = time.monotonic()
    for i in range(calls):
        owner = "P" + chr(65 + i // 26 % 26) + chr(65 + i % 26) + "U"
        path = os.path.join(fed.dir, f"paced{i}.json")
        L.declaration(path, f"PACED{i:010d}", L.containers(owner, 2, "PC"), ["rail"])
        L.must(L.ctl(fed["CQ"], "declare", "--canonical", "--itin", "CQ,SN,SH", "--kind",
                     "rail_transit", "--repeat", str(per), "--wait", "0", path,
                     timeout=60), "paced declare")
        time.sleep(max(0.0, t0 + (i + 1) * 0.1 - time.monotonic()))
    total = per * calls
    wait_for(lambda: written_off(fed["CQ"]) >= before + total, 300,
             f"{total} paced movements written off at CQ", interval=0.05)
    lat = release_latencies(fed["SH"])[before:]
    check(len(lat) == total, f"SH stored {len(lat)} paced releases, not {total}")
    lat.sort()
    print(f"bench clearance_paced rate={total / SECONDS:.0f} p50_ms={pct(lat, 50)} "
          f"p99_ms={pct(lat, 99)} n={total}", flush=True)


def run():
    with Fed(THREE, ledger=LEDGER) as fed:
        fed.start_all()
        path = os.path.join(fed.dir, "decl.json")
        L.declaration(path, "BENCH0000000001", L.containers("BNCU", 2, "BN"), ["rail"])
        t0 = time.monotonic()
        r = L.ctl(fed["CQ"], "declare", "--canonical", "--itin", "CQ,SN,SH", "--kind",
                  "rail_transit", "--repeat", str(N), "--wait", "0", path, timeout=600)
        L.must(r, "declare --repeat")
        t_decl = time.monotonic() - t0
        wait_for(lambda: written_off(fed["CQ"]) >= N, 600,
                 f"{N} movements written off at CQ", interval=0.05)
        elapsed = time.monotonic() - t0
        lat = sorted(release_latencies(fed["SH"]))
        check(len(lat) == N, f"SH stored {len(lat)} releases, not {N}")
        # the write-offs are still on their way to SH when CQ holds them all
        sh_done = lambda: fed["SH"].redis.cmd(
            "SCARD", "eport:SH:v1:mv:phase:written_off")
        wait_for(lambda: sh_done() >= N, 120, f"{N} movements written off at SH",
                 interval=0.05)
        if os.environ.get("BENCH_CLEAR_STATS"):
            stats(fed, N)
        sys.stderr.write(f"clearance: declared {N} in {t_decl:.2f}s, all written off "
                         f"after {elapsed:.2f}s\n")
        print(f"bench clearance_movements movements_per_s={N / elapsed:.0f} "
              f"p50_ms={pct(lat, 50)} p99_ms={pct(lat, 99)} n={N}", flush=True)
        if RATE > 0 and SECONDS > 0:
            paced(fed, N)


def main():
    return benchlib.main("clearance_movements", run,
                         errors=(subprocess.TimeoutExpired,))


if __name__ == "__main__":
    sys.exit(main())
