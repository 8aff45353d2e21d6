-- wrk script of tests/bench/http_submit.py: every request POSTs the same
-- local-format body (file $BENCH_HTTP_BODY) to /v1/messages with the API
-- key $BENCH_HTTP_KEY, over wrk's kept-alive connections. No response()
-- hook: wrk then skips parsing bodies, and counts statuses > 399 itself.
-- done() prints one line the Python driver parses.
local f = assert(io.open(os.getenv("BENCH_HTTP_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_HTTP_KEY")
wrk.headers["Content-Type"] = "application/edifact"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "wrk requests=%d bad_status=%d errors=%d duration_us=%d " ..
    "p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max))
end
