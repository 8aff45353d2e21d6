#!/bin/sh
# make bench: the project's benchmarks, then (when the shared measuring
# tools sit beside the checkout) the machine's own limits and the peer
# parser on the same corpus, so figures can be read as ratios of one run.
# BENCH_NO_FED=1 skips the federation benchmark (two nodes, ~1 minute),
# BENCH_NO_HA=1 the highly available ones (federation_ha and failover: two
# provinces of two instances, Redis primary + replica + 3 Sentinels; ~1 minute),
# BENCH_NO_CLEARANCE=1 the movement ledger's (three nodes, ~seconds),
# BENCH_NO_HTTP=1 the HTTP API's (one node and wrk, ~15 s),
# BENCH_NO_FILEDROP=1 the file drop's (one node, ~5 s),
# BENCH_NO_PERMITS=1 the permit ledger's (two nodes, ~15 s),
# BENCH_NO_CBEC=1 cross-border e-commerce clearance's (two nodes and wrk, ~15 s).
# Every figure is one line: `bench NAME key=value ...`.
set -u
B=${B:-build}
status=0
for b in "$B"/rel/bench/*; do
  [ -x "$b" ] || continue
  "$b" -n "${BENCH_MESSAGES:-10000}" || status=1
done
# two real nodes (eportd + redis-server each) exchanging signed records
if [ -z "${BENCH_NO_FED:-}" ]; then
  python3 "$(dirname "$0")/federation.py" || status=1
fi
# the same with highly available provinces, and their failover time
if [ -z "${BENCH_NO_HA:-}" ]; then
  python3 "$(dirname "$0")/federation_ha.py" || status=1
  # with the shipped settings (deploy/redis/sentinel.conf: down-after
  # 5000 ms, failover-timeout 60000 ms; ha.claim_idle_ms' default 5000),
  # which is what the issue's 10 s goal is about
  HA_DOWN_AFTER_MS=${HA_DOWN_AFTER_MS:-5000} HA_FAILOVER_TIMEOUT_MS=${HA_FAILOVER_TIMEOUT_MS:-60000} \
  HA_CLAIM_IDLE_MS=${HA_CLAIM_IDLE_MS:-5000} \
    python3 "$(dirname "$0")/failover.py" || status=1
fi
# three nodes, the movement ledger taking every step itself (CQ>SN>SH)
if [ -z "${BENCH_NO_CLEARANCE:-}" ]; then
  python3 "$(dirname "$0")/clearance.py" || status=1
fi
# one node's HTTP API: IFTMIN bodies over kept-alive connections (wrk)
if [ -z "${BENCH_NO_HTTP:-}" ]; then
  python3 "$(dirname "$0")/http_submit.py" || status=1
fi
# one node's file drop: IFTMIN files renamed into its inbox at once
if [ -z "${BENCH_NO_FILEDROP:-}" ]; then
  python3 "$(dirname "$0")/filedrop.py" || status=1
fi
# two nodes: remote verify-and-reserve against one permit home
if [ -z "${BENCH_NO_PERMITS:-}" ]; then
  python3 "$(dirname "$0")/permits.py" || status=1
fi
# two nodes: parcels' four CEB documents cleared, allowance drawn at the home
if [ -z "${BENCH_NO_CBEC:-}" ]; then
  python3 "$(dirname "$0")/cbec.py" || status=1
fi
shared=../shared
if [ -x "$shared/limits/run" ] && [ -z "${BENCH_NO_LIMITS:-}" ]; then
  "$shared/limits/run" 2>/dev/null | grep '^limit ' || true
fi
if [ -x "$shared/peers/project-vs-peer.sh" ] && [ -z "${BENCH_NO_PEERS:-}" ]; then
  "$shared/peers/project-vs-peer.sh" 2>/dev/null | tail -1 | sed 's/^vs /bench vs_peer_/' || true
fi
exit $status
