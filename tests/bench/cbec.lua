-- wrk script of tests/bench/cbec.py: each parcel is four POSTs to
-- /v1/messages (order CEB311, payment CEB411, waybill CEB511, inventory
-- list CEB621), its keys and buyer made its own from templates the driver
-- wrote ($BENCH_CBEC_DIR/order.xml ... with @ORDER@ @WB@ @PAY@ @COP@ @ID@
-- in them). Threads number their parcels apart (thread k: k, k + T, ...).
-- done() prints one line the Python driver parses.
local docs = {"order", "payment", "waybill", "inventory"}
local dir, key = os.getenv("BENCH_CBEC_DIR"), os.getenv("BENCH_CBEC_KEY")
local tmpl, threads, nthreads = {}, {}, 0

-- Each template cut at its placeholders once, so that a request is a
-- table.concat of the pieces and the parcel's values: five gsubs over
-- every body cost the load generator a fifth of the machine.
local function cut(text)
  local parts, at = {}, 1
  while true do
    local i, j, name = text:find("@(%u+)@", at)
    if not i then break end
    parts[#parts + 1] = text:sub(at, i - 1)
    parts[#parts + 1] = name
    at = j + 1
  end
  parts[#parts + 1] = text:sub(at)
  return parts
end

for i, d in ipairs(docs) do
  local f = assert(io.open(dir .. "/" .. d .. ".xml", "rb"))
  tmpl[i] = cut(f:read("*a"))
  f:close()
end

function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

local n, tid, step = 0, 0, 1

function init(args)
  tid = tonumber(wrk.thread:get("tid"))
  step = tonumber(os.getenv("BENCH_CBEC_THREADS"))
end

-- An identity number of Sichuan (51...) with its ISO 7064 MOD 11-2 check.
local w = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
local function idnum(p)
  local s = string.format("5101071985%07d", p % 10000000)
  local t = 0
  for i = 1, 17 do t = t + tonumber(s:sub(i, i)) * w[i] end
  return s .. ("10X98765432"):sub(t % 11 + 1, t % 11 + 1)
end

function request()
  local p = math.floor(n / 4) * step + tid + 1
  local d = n % 4 + 1
  n = n + 1
  local v = {ORDER = string.format("CQJD2026%09d", p),
             WB = string.format("YT88%011d", p),
             PAY = string.format("42000020%011d", p),
             COP = string.format("YGT621CQ%010d", p), ID = idnum(p)}
  local parts, out = tmpl[d], {}
  for i = 1, #parts do
    out[i] = i % 2 == 0 and v[parts[i]] or parts[i]
  end
  return wrk.format("POST", "/v1/messages", {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/xml"}, table.concat(out))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "wrk requests=%d bad_status=%d errors=%d duration_us=%d " ..
    "p50_us=%d p99_us=%d\n", summary.requests, e.status,
    e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
