/* store_pm_lua: the permit ledger's scripts (docs/store.md, "Permits"),
 * apart from the C that builds their arguments and reads their replies
 * (store_pm.c). Every check and the draw it allows are one script, so no
 * two requests, from any region or either eportd instance, can both take
 * the last of a permit.
 *
 * Every script starts with PM_LUA_FN: ARGV 1 "<prefix>v1:pm:", 2 now
 * (ms), 3 the history's cap. Amounts are integers in doubles: the C side
 * keeps them and their sums at or below 2^53, so they stay exact, and
 * fmt writes them back without an exponent. Line numbers stay strings
 * ("0": the permit as a whole). */
#include "store_pm_int.h"

/* Permits are cached per call (C): a batch of 256 reserves of one permit
 * reads it once, every op sees the balances the ops before it left, and
 * the balances changed are written once, at the end (flush). That is
 * safe because nothing can stop a script half-way once it has written:
 * Redis refuses a write for memory only before a script's first one, and
 * the checks before it cannot fail.
 * b[bucket] = {q, v totals; qu, vu used; qr, vr reserved}.
 * A reservation found past its expiry is expired there and then (rsv),
 * whichever op meets it first: it lapses at exp, not when the expiry loop
 * comes round. Each reservation's draw is derived again from its lines
 * (draws): a permit's lines and usage never change after issue. */
#define PM_LUA_FN                                                           \
    "local P, NOW, cap = ARGV[1], ARGV[2], ARGV[3]\n"                      \
    "local now = tonumber(NOW)\n"                                          \
    "local C = {}\n"                                                        \
    "local BF = {'q', 'v', 'qu', 'vu', 'qr', 'vr'}\n"                      \
    "local function n0(s) return tonumber(s) or 0 end\n"                    \
    "local function fmt(x) return string.format('%.0f', x) end\n"          \
    "local function amt(x)\n"                                               \
    "  local i = math.floor(x / 1000)\n"                                    \
    "  local f = x - i * 1000\n"                                            \
    "  if f == 0 then return fmt(i) end\n"                                  \
    "  return fmt(i) .. '.' .. (string.gsub(string.format('%03d', f),"     \
    " '0+$', ''))\n"                                                        \
    "end\n"                                                                 \
    "local function load(id)\n"                                             \
    "  local k = P .. id\n"                                                 \
    "  local h = redis.call('HMGET', k, 'kind', 'usage', 'status',"        \
    " 'holder', 'from', 'to', 'ln', 'uses', 'why')\n"                       \
    "  if not h[2] then return false end\n"                                 \
    "  local p = {k = k, id = id, kind = h[1] or '', usage = h[2],"        \
    " status = h[3] or 'valid', holder = h[4] or '', from = n0(h[5]),"      \
    " to = n0(h[6]), froms = h[5] or '0', tos = h[6] or '0',"               \
    " uses = n0(h[8]), why = h[9] or '', ln = {}, lset = {}, b = {}}\n"     \
    "  local f, per = {}, p.usage == 'per_line'\n"                          \
    "  local bs = {'0'}\n"                                                  \
    "  for l in string.gmatch(h[7] or '', '%d+') do\n"                      \
    "    p.ln[#p.ln + 1] = l\n"                                             \
    "    p.lset[l] = true\n"                                                \
    "    if per then bs[#bs + 1] = l end\n"                                 \
    "  end\n"                                                               \
    "  for _, b in ipairs(bs) do\n"                                         \
    "    for _, n in ipairs(BF) do f[#f + 1] = n .. b end\n"                \
    "  end\n"                                                               \
    "  p.bs = per and p.ln or {'0'}\n"                                     \
    "  local r, i = redis.call('HMGET', k, unpack(f)), 0\n"                 \
    "  for _, b in ipairs(bs) do\n"                                         \
    "    local t = {}\n"                                                    \
    "    for _, n in ipairs(BF) do i = i + 1; t[n] = n0(r[i]) end\n"        \
    "    p.b[b] = t\n"                                                      \
    "  end\n"                                                               \
    "  return p\n"                                                          \
    "end\n"                                                                 \
    "local function get(id)\n"                                              \
    "  if C[id] == nil then C[id] = load(id) end\n"                         \
    "  return C[id]\n"                                                      \
    "end\n"                                                                 \
    "local function lq(t) return t.q - t.qu - t.qr end\n"                   \
    "local function lv(t) return t.v - t.vu - t.vr end\n"                   \
    "local function left(p)\n"                                              \
    "  if p.left then return p.left end\n"                                  \
    "  local o = {}\n"                                                      \
    "  for _, b in ipairs(p.bs) do\n"                                       \
    "    local t = p.b[b]\n"                                                \
    "    o[#o + 1] = b .. ':' .. fmt(lq(t)) .. ':' .. fmt(lv(t))\n"         \
    "  end\n"                                                               \
    "  p.left = table.concat(o, ',')\n"                                     \
    "  return p.left\n"                                                     \
    "end\n"                                                                 \
    "local function empty(p)\n"                                             \
    "  if p.usage == 'single_use' then return p.uses >= 1 end\n"            \
    "  for _, b in ipairs(p.bs) do\n"                                       \
    "    local t = p.b[b]\n"                                                \
    "    if (t.q > 0 and lq(t) > 0) or (t.v > 0 and lv(t) > 0) then\n"      \
    "      return false\n"                                                  \
    "    end\n"                                                             \
    "  end\n"                                                               \
    "  return true\n"                                                       \
    "end\n"                                                                 \
    "local function eff(p)\n"                                               \
    "  if p.status ~= 'valid' then return p.status end\n"                   \
    "  if now > p.to then return 'expired' end\n"                           \
    "  if empty(p) then return 'exhausted' end\n"                           \
    "  return 'valid'\n"                                                    \
    "end\n"                                                                 \
    "local function hist(p, op, key, by, req, code, text)\n"                \
    "  redis.call('XADD', p.k .. ':h', 'MAXLEN', '~', cap, '*', 'v', '1',"  \
    " 'op', op, 'key', key, 'by', by, 'req', req, 'code', code, 'text',"    \
    " text, 'left', left(p), 'at', NOW)\n"                             \
    "end\n"                                                                 \
    PM_LUA_DRAW_FN PM_LUA_RSV_FN

/* What a reservation of lines "<line>:<qty>:<value>,..." takes from each
 * bucket, {{bucket, qty, value}, ...} in order of first mention, or nil,
 * code, text. Only what the permit limits is drawn: single_use one use
 * (1000 on bucket 0), quantity / value the sum of the lines' amounts on
 * bucket 0, per_line each line's own (a line's quantity only where the
 * line has one). A request drawing nothing the permit limits is refused
 * (bad-request): it would otherwise pass without counting. */
#define PM_LUA_DRAW_FN                                                      \
    "local function draws(p, s)\n"                                          \
    "  local u, d, by = p.usage, {}, {}\n"                                  \
    "  for l, q, v in string.gmatch(s, '(%d+):(%d+):(%d+)') do\n"           \
    "    if l ~= '0' and not p.lset[l] then\n"                              \
    "      return nil, 'unknown-line', 'the permit has no line ' .. l\n"    \
    "    end\n"                                                             \
    "    if u == 'per_line' and l == '0' then\n"                            \
    "      if #p.ln ~= 1 then\n"                                            \
    "        return nil, 'unknown-line', 'line 0 (the permit as a whole):"  \
    " this per_line permit has ' .. #p.ln .. ' lines, name one'\n"          \
    "      end\n"                                                           \
    "      l = p.ln[1]\n"                                                   \
    "    end\n"                                                             \
    "    local b = u == 'per_line' and l or '0'\n"                          \
    "    local t = by[b]\n"                                                 \
    "    if not t then t = {b, 0, 0}; by[b] = t; d[#d + 1] = t end\n"       \
    "    t[2], t[3] = t[2] + tonumber(q), t[3] + tonumber(v)\n"             \
    "  end\n"                                                               \
    "  for _, t in ipairs(d) do\n"                                          \
    "    local B = p.b[t[1]]\n"                                             \
    "    if u == 'single_use' then t[2], t[3] = 1000, 0 end\n"              \
    "    if B.q == 0 then t[2] = 0 end\n"                                   \
    "    if B.v == 0 then t[3] = 0 end\n"                                   \
    "    if t[2] == 0 and t[3] == 0 then\n"                                 \
    "      local w = t[1] == '0' and 'the request' or 'line ' .. t[1]\n"    \
    "      return nil, 'bad-request', w .. ' draws no ' .. (B.q > 0 and"    \
    " 'quantity' or 'value') .. ' (usage ' .. u .. ')'\n"                   \
    "    end\n"                                                             \
    "  end\n"                                                               \
    "  return d\n"                                                          \
    "end\n"                                                                 \
    "local function short(p, d)\n"                                          \
    "  if p.usage == 'single_use' and p.uses >= 1 then\n"                   \
    "    return 'exhausted', 'a single-use permit, used already'\n"         \
    "  end\n"                                                               \
    "  local miss, any = nil, false\n"                                      \
    "  for _, t in ipairs(d) do\n"                                          \
    "    local B = p.b[t[1]]\n"                                             \
    "    local w = t[1] == '0' and 'the permit' or 'line ' .. t[1]\n"       \
    "    for _, x in ipairs({{t[2], lq(B), 'quantity'},"                    \
    " {t[3], lv(B), 'value'}}) do\n"                                        \
    "      if x[1] > 0 then\n"                                              \
    "        if x[2] > 0 then any = true end\n"                             \
    "        if x[2] < x[1] and not miss then\n"                            \
    "          miss = w .. ': ' .. x[3] .. ' ' .. amt(x[2]) .. ' left, '"   \
    " .. amt(x[1]) .. ' requested'\n"                                       \
    "        end\n"                                                         \
    "      end\n"                                                           \
    "    end\n"                                                             \
    "  end\n"                                                               \
    "  if not miss then return nil end\n"                                   \
    "  return any and 'insufficient' or 'exhausted', miss\n"                \
    "end\n"                                                                 \
    "local DIRTY = {}\n"                                                   \
    "local function move(p, d, how)\n"                                      \
    "  for _, t in ipairs(d) do\n"                                          \
    "    local bs = {t[1]}\n"                                               \
    "    if t[1] ~= '0' then bs[2] = '0' end\n"                             \
    "    for _, b in ipairs(bs) do\n"                                       \
    "      local B = p.b[b]\n"                                              \
    "      if how ~= 'unuse' then\n"                                     \
    "        local k = how == 'hold' and 1 or -1\n"                         \
    "        B.qr, B.vr = B.qr + k * t[2], B.vr + k * t[3]\n"               \
    "      end\n"                                                         \
    "      if how == 'use' then B.qu, B.vu = B.qu + t[2], B.vu + t[3] end\n"\
    "      if how == 'unuse' then B.qu, B.vu = B.qu - t[2], B.vu - t[3] end\n"\
    "    end\n"                                                             \
    "  end\n"                                                               \
    "  if how == 'hold' then p.uses = p.uses + 1\n"                         \
    "  elseif how == 'free' then p.uses = p.uses - 1 end\n"                 \
    "  p.left = nil\n"                                                     \
    "  if not p.dirty then p.dirty = true; DIRTY[#DIRTY + 1] = p end\n"     \
    "end\n"                                                                 \
    "local function flush()\n"                                              \
    "  for _, p in ipairs(DIRTY) do\n"                                      \
    "    local f = {'uses', fmt(p.uses), 'updated', NOW}\n"            \
    "    local bs = {'0'}\n"                                                \
    "    if p.usage == 'per_line' then bs = {'0', unpack(p.ln)} end\n"      \
    "    for _, b in ipairs(bs) do\n"                                       \
    "      for _, n in ipairs({'qu', 'vu', 'qr', 'vr'}) do\n"               \
    "        f[#f + 1] = n .. b; f[#f + 1] = fmt(p.b[b][n])\n"              \
    "      end\n"                                                           \
    "    end\n"                                                             \
    "    redis.call('HSET', p.k, unpack(f))\n"                              \
    "  end\n"                                                               \
    "end\n"

/* Reservations: rsv reads one (nil: none), expiring it when past exp;
 * settle moves a held one to confirmed, cancelled or expired. */
#define PM_LUA_RSV_FN                                                       \
    "local function rkey(p, key) return p.k .. ':r:' .. key end\n"          \
    "local function settle(p, key, r, st, how)\n"                           \
    "  local d = draws(p, r.lines)\n"                                       \
    "  if d then move(p, d, how) end\n"                                     \
    "  redis.call('HSET', rkey(p, key), 'st', st, 'done', NOW)\n"      \
    "  redis.call('ZREM', P .. 'exp', p.id .. ' ' .. key)\n"                \
    "  r.st = st\n"                                                         \
    "end\n"                                                                 \
    "local function rsv(p, key)\n"                                          \
    "  if key == '' then return nil end\n"                                  \
    "  local h = redis.call('HMGET', rkey(p, key), 'st', 'lines', 'exp',"   \
    " 'req')\n"                                                             \
    "  if not h[1] then return nil end\n"                                   \
    "  local r = {st = h[1], lines = h[2] or '', exp = n0(h[3]),"           \
    " req = h[4] or ''}\n"                                                  \
    "  if r.st == 'reserved' and r.exp <= now then\n"                       \
    "    settle(p, key, r, 'expired', 'free')\n"                            \
    "    hist(p, 'expire', key, '', r.req, 'ok', '')\n"                     \
    "    r.lapsed = true\n"                                                 \
    "  end\n"                                                               \
    "  return r\n"                                                          \
    "end\n"

/* store_pm_issue. ARGV 4 id, 5 status, 6 rec, then field value pairs of
 * what the permit is (never changes: compared when it exists).
 * Returns {0} created, {1} the same, {2, field} conflict, {3} revoked
 * (final), {4} status changed. */
const st_script st_lua_pm_issue = {ST_LUA_PM_ISSUE,
    PM_LUA_FN
    "local id, st = ARGV[4], ARGV[5]\n"
    "local k, f, kv = P .. id, {}, {}\n"
    "for i = 7, #ARGV, 2 do\n"
    "  f[#f + 1] = ARGV[i]\n"
    "  kv[#kv + 1] = ARGV[i]; kv[#kv + 1] = ARGV[i + 1]\n"
    "end\n"
    "local OP = {suspended = 'suspend', revoked = 'revoke',"
    " valid = 'reinstate'}\n"
    "if redis.call('EXISTS', k) == 1 then\n"
    "  local h = redis.call('HMGET', k, unpack(f))\n"
    "  for i, name in ipairs(f) do\n"
    "    if h[i] ~= ARGV[6 + 2 * i] then return {2, name} end\n"
    "  end\n"
    "  local cur = redis.call('HGET', k, 'status')\n"
    "  if cur == st then return {1} end\n"
    "  if cur == 'revoked' then return {3} end\n"
    "  local why = 'issued again as ' .. st\n"
    "  redis.call('HSET', k, 'status', st, 'why', why, 'updated', NOW)\n"
    "  hist(get(id), OP[st], '', 'issuer', '', '', why)\n"
    "  return {4}\n"
    "end\n"
    "redis.call('HSET', k, 'v', '1', 'status', st, 'why', '', 'uses', '0',"
    " 'issued', NOW, 'updated', NOW, 'rec', ARGV[6], unpack(kv))\n"
    "local p = get(id)\n"
    "local z = {}\n"
    "for _, b in ipairs(p.usage == 'per_line' and p.ln or {}) do\n"
    "  for _, n in ipairs({'qu', 'vu', 'qr', 'vr'}) do\n"
    "    z[#z + 1] = n .. b; z[#z + 1] = '0'\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', k, 'qu0', '0', 'vu0', '0', 'qr0', '0', 'vr0', '0',"
    " unpack(z))\n"
    "redis.call('ZADD', P .. 'all', NOW, id)\n"
    "hist(p, 'issue', '', 'issuer', '', '', '')\n"
    "return {0}\n"};

/* store_pm_apply. ARGV 4 expiry of a new reservation, then per op: op,
 * id, key ('' none), lines, holder ('' none), req, by.
 * Returns per op {code, text ('' the code's default), status, kind,
 * usage, from, to, rsv, left}; every op of a known permit leaves one
 * history entry. The order of reserve's checks is the order of the
 * refusal a declarant is told (store_pm.h). */
const st_script st_lua_pm_apply = {ST_LUA_PM_APPLY,
    PM_LUA_FN
    "local EXP = ARGV[4]\n"
    "local RS = {reserved = 'ok', confirmed = 'ok', cancelled ="
    " 'reservation-cancelled', expired = 'reservation-expired'}\n"
    "local CF = {confirmed = 'ok', cancelled = 'reservation-cancelled',"
    " expired = 'reservation-expired'}\n"
    "local CN = {cancelled = 'ok', expired = 'ok', confirmed ="
    " 'already-confirmed'}\n"
    "local function gate(p)\n"
    "  if p.status == 'revoked' or p.status == 'suspended' then\n"
    "    local w = p.why ~= '' and ': ' .. p.why or ''\n"
    "    return p.status, 'the issuer ' .. (p.status == 'revoked' and"
    " 'revoked' or 'suspended') .. ' the permit' .. w\n"
    "  end\n"
    "  if now < p.from then return 'not-yet-valid', '' end\n"
    "  if now > p.to then return 'expired', '' end\n"
    "end\n"
    "local OPS = {}\n"
    "function OPS.verify(p, key)\n"
    "  local r = rsv(p, key)\n"
    "  local c, t = gate(p)\n"
    "  if not c and empty(p) then c, t = 'exhausted', '' end\n"
    "  return c or 'ok', t or '', r\n"
    "end\n"
    "function OPS.reserve(p, key, lines, holder, req, by)\n"
    "  local r = rsv(p, key)\n"
    "  local c, t = gate(p)\n"
    "  if not c and holder ~= '' and p.holder ~= '' and"
    " holder ~= p.holder then c, t = 'holder-mismatch', '' end\n"
    "  if c then return c, t, r end\n"
    "  if r and r.lines ~= lines then return 'key-reuse', '', r end\n"
    "  if r then return RS[r.st], '', r end\n"
    "  local d\n"
    "  d, c, t = draws(p, lines)\n"
    "  if d then c, t = short(p, d) end\n"
    "  if c then return c, t end\n"
    "  move(p, d, 'hold')\n"
    "  redis.call('HSET', rkey(p, key), 'v', '1', 'st', 'reserved', 'lines',"
    " lines, 'by', by, 'req', req, 'holder', holder, 'at', NOW, 'exp',"
    " EXP, 'done', '')\n"
    "  redis.call('ZADD', P .. 'exp', EXP, p.id .. ' ' .. key)\n"
    "  return 'ok', '', {st = 'reserved'}\n"
    "end\n"
    "function OPS.confirm(p, key)\n"
    "  local r = rsv(p, key)\n"
    "  if not r then return 'no-reservation', '' end\n"
    "  if r.st == 'reserved' then settle(p, key, r, 'confirmed', 'use') end\n"
    "  return CF[r.st], '', r\n"
    "end\n"
    "local function sums(d)\n"
    "  local s = {}\n"
    "  for _, t in ipairs(d or {}) do\n"
    "    local x = s[t[1]] or {0, 0}\n"
    "    s[t[1]] = {x[1] + t[2], x[2] + t[3]}\n"
    "  end\n"
    "  return s\n"
    "end\n"
    "OPS['return'] = function(p, key, lines)\n"
    "  local r = rsv(p, key)\n"
    "  if not r then return 'no-reservation', '' end\n"
    "  if r.st == 'reserved' then return 'bad-request', 'the draw is held,"
    " not written off: cancel it instead', r end\n"
    "  if r.st ~= 'confirmed' then return RS[r.st], '', r end\n"
    "  local d, c, t = draws(p, lines)\n"
    "  if not d then return c, t, r end\n"
    "  local k = rkey(p, key)\n"
    "  local prev = redis.call('HGET', k, 'ret') or ''\n"
    "  local drawn, back = sums(draws(p, r.lines)), sums(draws(p, prev))\n"
    "  for b, x in pairs(sums(d)) do\n"
    "    local w, y = drawn[b] or {0, 0}, back[b] or {0, 0}\n"
    "    if y[1] + x[1] > w[1] or y[2] + x[2] > w[2] then\n"
    "      return 'bad-request', 'returns more than was written off under '"
    " .. key, r\n"
    "    end\n"
    "  end\n"
    "  move(p, d, 'unuse')\n"
    "  redis.call('HSET', k, 'ret', prev == '' and lines or prev .. ',' .. lines)\n"
    "  return 'ok', '', r\n"
    "end\n"
    "function OPS.cancel(p, key)\n"
    "  local r = rsv(p, key)\n"
    "  if not r then return 'no-reservation', '' end\n"
    "  if r.st == 'reserved' then settle(p, key, r, 'cancelled', 'free') end\n"
    "  return CN[r.st], '', r\n"
    "end\n"
    "local out = {}\n"
    "for a = 5, #ARGV, 7 do\n"
    "  local op, id, key = ARGV[a], ARGV[a + 1], ARGV[a + 2]\n"
    "  local by, req = ARGV[a + 6], ARGV[a + 5]\n"
    "  local p = get(id)\n"
    "  if not p then\n"
    "    out[#out + 1] = {'unknown-permit', '', '', '', '', '0', '0', '',"
    " ''}\n"
    "  else\n"
    "    local c, t, r = OPS[op](p, key, ARGV[a + 3], ARGV[a + 4], req, by)\n"
    "    hist(p, op, key, by, req, c, t)\n"
    "    out[#out + 1] = {c, t, eff(p), p.kind, p.usage, p.froms, p.tos,"
    " r and r.st or '', left(p)}\n"
    "  end\n"
    "end\n"
    "flush()\n"
    "return out\n"};

/* store_pm_expire. ARGV 4 how many at most. Members "<id> <key>" whose
 * reservation is no longer held (confirmed or cancelled meanwhile, or
 * its permit gone) just leave the set; one still held but not due by its
 * hash (never written so) goes back to its due time rather than block
 * the head of the set. Returns how many expired. */
const st_script st_lua_pm_expire = {ST_LUA_PM_EXPIRE,
    PM_LUA_FN
    "local m = redis.call('ZRANGEBYSCORE', P .. 'exp', '-inf', ARGV[2],"
    " 'LIMIT', 0, ARGV[4])\n"
    "local n = 0\n"
    "for _, x in ipairs(m) do\n"
    "  local id, key = string.match(x, '^(%S+) (%S+)$')\n"
    "  local p = id and get(id)\n"
    "  local r = p and rsv(p, key)\n"
    "  if r and r.lapsed then n = n + 1 end\n"
    "  if r and r.st == 'reserved' then\n"
    "    redis.call('ZADD', P .. 'exp', fmt(r.exp), x)\n"
    "  else\n"
    "    redis.call('ZREM', P .. 'exp', x)\n"
    "  end\n"
    "end\n"
    "flush()\n"
    "return n\n"};

/* store_pm_set_status. ARGV 4 id, 5 status, 6 why, 7 by. Returns 0 done,
 * 1 no such permit, 2 revoked (final), 3 already in that status. */
const st_script st_lua_pm_status = {ST_LUA_PM_STATUS,
    PM_LUA_FN
    "local id, st, why, by = ARGV[4], ARGV[5], ARGV[6], ARGV[7]\n"
    "local p = get(id)\n"
    "if not p then return 1 end\n"
    "if p.status == 'revoked' then return 2 end\n"
    "if p.status == st then return 3 end\n"
    "redis.call('HSET', p.k, 'status', st, 'why', why, 'updated', NOW)\n"
    "p.status = st\n"
    "local OP = {suspended = 'suspend', revoked = 'revoke',"
    " valid = 'reinstate'}\n"
    "hist(p, OP[st], '', by, '', '', why)\n"
    "return 0\n"};
