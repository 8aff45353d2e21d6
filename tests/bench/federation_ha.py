"""bench federation_ha: bench federation_a_to_b (tests/bench/federation.py,
whose code this runs) with each of the two provinces highly available
(issue #10, tests/fed/halib.py): two eportd instances on a Redis primary
+ replica watched by three Sentinels, `redis.wait_replicas: 1` (nothing
acknowledged, and no frame sent, before the replica holds it), every
peer listing both instances. Then the plain federation_a_to_b of the same
run, on the same machine, for the ratio:

  bench federation_ha msgs_per_s=.. p50_ms=.. p99_ms=.. wait_replicas=1
        instances=2 n=.. alg=ed25519 a_to_b_msgs_per_s=.. ratio=..

msgs_per_s, p50_ms and p99_ms are measured exactly as federation.py's
(its docstring): N records queued offline, then every process started
and timed until the destination holds all N and the origin every
receipt; then a paced 1,000/s for a few seconds. ratio is
msgs_per_s / a_to_b_msgs_per_s. Every process shares this machine's
cores: 4 eportd, 4 redis-server and 6 sentinels against 2 + 2.

Env: as federation.py (BENCH_FED_N, BENCH_FED_RATE, BENCH_FED_SECONDS...);
the first of BENCH_FED_ALGS only. Details on stderr."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import federation as F  # noqa: E402
import halib as H  # noqa: E402

ALG = F.ALGS[0]


class HAAlgFed(F.AlgFed, H.HAFed):
    """federation.py's AlgFed (keys of one algorithm) made of HA provinces."""


def measure(fed):
    """federation.py's two phases on fed: (throughput dict, sorted latencies)."""
    with fed:
        rec_file = os.path.join(fed.dir, "waybill.json")
        with open(rec_file, "w") as f:
            f.write(F.waybill(F.PAYLOAD) + "\n")
        tp = F.throughput(fed, F.waybill(F.PAYLOAD))
        lat, _ = F.paced(fed, rec_file, tp["last"])
        F.quiet(fed)
    return tp, lat


def run():
    ha_tp, ha_lat = measure(HAAlgFed(ALG, topology=F.TOPOLOGY, delivery=F.PRODUCTION_DELIVERY,
                                     ha=[F.A, F.B], wait_replicas=1))
    tp, _ = measure(F.AlgFed(ALG, topology=F.TOPOLOGY, delivery=F.PRODUCTION_DELIVERY))
    ha_rate, rate = F.N / ha_tp["secs"], F.N / tp["secs"]
    print(f"bench federation_ha msgs_per_s={ha_rate:.0f} p50_ms={F.pct(ha_lat, 0.50)} "
          f"p99_ms={F.pct(ha_lat, 0.99)} wait_replicas=1 instances=2 n={F.N} alg={ALG} "
          f"a_to_b_msgs_per_s={rate:.0f} ratio={ha_rate / rate:.2f}", flush=True)
    sys.stderr.write(f"federation_ha {ALG}: inbox full at {ha_tp['inbox_s']:.2f}s, receipts "
                     f"at {ha_tp['secs']:.2f}s, {ha_tp['resent']} end-to-end resends "
                     f"(one instance's log); plain: receipts at {tp['secs']:.2f}s\n")


def main():
    why = H.missing()
    if why:
        print(f"bench federation_ha skipped: {why}")
        return 0
    return benchlib.main("federation_ha", run)


if __name__ == "__main__":
    sys.exit(main())
