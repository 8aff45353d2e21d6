/* store_link_lua: the link script (docs/store.md, "Receiving on a link"),
 * apart from the C that builds its arguments (store_link.c). One call
 * applies a run of frames of one link in order, each with the position
 * rule of the node design, so the per-call cost of a script (finding it,
 * setting up KEYS and ARGV, MULTI/EXEC in the AOF, a reply) is paid once
 * per run rather than once per frame. */
#include "store_int.h"

/* KEYS: 1 link:<peer>, 2 in, 3 dlq, 4 await
 * ARGV: 1 key base "<prefix>v1:", 2 now_ms, 3 link peer, then per frame
 *   pos_ms pos_seq prev_ms prev_seq parts nfwd, and the parts present:
 *   parts & 1 (destination): msg_id origin digest frame receipt
 *                            receipt_peer seen_ttl        (7)
 *   nfwd > 0 (forward):      frame peer_1 .. peer_nfwd    (1 + nfwd)
 *   parts & 2 (receipt home): receipted_id from rcpt rcpt_ttl (4)
 *   parts & 4 (dead letter): reason where frame          (3)
 *   parts & 8 (claim, with parts & 1): ref score add nkeys key_1 ..
 *   parts & 16 (with parts & 1): deliver to v1:mvin, not v1:in (no args)
 *   parts & 32 (with parts & 1): deliver to v1:pmin, not v1:in (no args)
 *                            key_nkeys                   (4 + nkeys)
 * The claim part is applied only when the destination part stored the
 * message (new: not a duplicate, not an id reuse): ZADD claim:<key>
 * score ref when add is 1, ZREM otherwise (store_mv.h, claims).
 * The seen:, outbox:, sent: and rcpt: keys are built from the key base:
 * their names are only known per frame (the store is not for Redis
 * Cluster). Names were checked by the caller (1-64 of A-Z a-z 0-9 - _ .).
 * Positions are compared as decimal strings (length, then bytes), since
 * Lua numbers are doubles and cannot hold every uint64.
 * Returns {link before the call "ms-seq", {code per frame}}, code =
 * status (0 done, 1 old, 2 gap) + 4 * dup + 16 * reuse.
 * The layout is checked before the first write. A command failing
 * part-way (which the checks make a Redis fault, not a data one) stops
 * the run: link:<peer> is still set to the last frame fully applied and
 * an error names the frame, so the position and the effects agree
 * except for the one frame that failed, as with one script per frame. */
const st_script st_lua_link = {ST_LUA_LINK,
    "local function cmpn(a, b)\n"
    "  if #a ~= #b then return #a < #b and -1 or 1 end\n"
    "  if a == b then return 0 end\n"
    "  return a < b and -1 or 1\n"
    "end\n"
    "local function cmpp(am, as, bm, bs)\n"
    "  local c = cmpn(am, bm)\n"
    "  if c ~= 0 then return c end\n"
    "  return cmpn(as, bs)\n"
    "end\n"
    "local function size(i, parts, nf)\n"
    "  if not parts or not nf or parts < 0 or parts > 63 or nf < 0 then\n"
    "    return nil\n"
    "  end\n"
    "  local n = 6\n"
    "  if parts % 2 == 1 then n = n + 7 end\n"
    "  if nf > 0 then n = n + 1 + nf end\n"
    "  if parts % 4 >= 2 then n = n + 4 end\n"
    "  if parts % 8 >= 4 then n = n + 3 end\n"
    "  if parts % 16 >= 8 then\n"
    "    local nk = tonumber(ARGV[i + n + 3])\n"
    "    if parts % 2 == 0 or not nk or nk < 0 then return nil end\n"
    "    n = n + 4 + nk\n"
    "  end\n"
    "  return n\n"
    "end\n"
    "local i = 4\n"
    "while i <= #ARGV do\n"
    "  local n = size(i, tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]))\n"
    "  if not n then return redis.error_reply('link ops: bad layout') end\n"
    "  i = i + n\n"
    "end\n"
    "if i ~= #ARGV + 1 then\n"
    "  return redis.error_reply('link ops: bad layout')\n"
    "end\n"
    "local first = redis.call('GET', KEYS[1]) or '0-0'\n"
    "local lm, ls = string.match(first, '^(%d+)%-(%d+)$')\n"
    "if not lm then\n"
    "  return redis.error_reply('link position unreadable: ' .. first)\n"
    "end\n"
    "local P, now, peer = ARGV[1], ARGV[2], ARGV[3]\n"
    "local function out(key, f)\n"
    "  redis.call('XADD', key, '*', 'v', '1', 'frame', f)\n"
    "end\n"
    "local function dead(reason, where, f)\n"
    "  redis.call('XADD', KEYS[3], '*', 'v', '1', 'reason', reason,"
    " 'where', where, 'at', now, 'frame', f)\n"
    "end\n"
    "local function deliver(a, stream)\n"
    "  local id, dg, f, rc = ARGV[a], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]\n"
    "  local seen = P .. 'seen:' .. id\n"
    "  local rk = ARGV[a + 5] ~= '' and (P .. 'outbox:' .. ARGV[a + 5])"
    " or nil\n"
    "  local held = redis.call('HMGET', seen, 'digest', 'receipt')\n"
    "  if not held[1] then\n"
    "    redis.call('HSET', seen, 'v', '1', 'digest', dg, 'receipt', rc)\n"
    "    redis.call('PEXPIRE', seen, ARGV[a + 6])\n"
    "    redis.call('XADD', stream, '*', 'v', '1', 'f', f, 'id', id,"
    " 'origin', ARGV[a + 1])\n"
    "    if rc ~= '' and rk then out(rk, rc) end\n"
    "    return 0, 0\n"
    "  elseif held[1] ~= dg then\n"
    "    dead('refused: id-reuse', 'link ' .. peer, f)\n"
    "    return 0, 1\n"
    "  elseif held[2] and held[2] ~= '' and rk then\n"
    "    out(rk, held[2])\n"
    "    return 1, 0\n"
    "  end\n"
    "  return 2, 0\n"
    "end\n"
    "local function home(a)\n"
    "  local rid, from = ARGV[a], ARGV[a + 1]\n"
    "  local rk, sk = P .. 'rcpt:' .. rid, P .. 'sent:' .. rid\n"
    "  redis.call('HSETNX', rk, from, ARGV[a + 2])\n"
    "  redis.call('PEXPIRE', rk, ARGV[a + 3])\n"
    "  local wait = redis.call('HGET', sk, 'wait')\n"
    "  if not wait then return end\n"
    "  local left = {}\n"
    "  for d in string.gmatch(wait, '%S+') do\n"
    "    if d ~= from then left[#left + 1] = d end\n"
    "  end\n"
    "  if #left == 0 then\n"
    "    redis.call('DEL', sk)\n"
    "    redis.call('ZREM', KEYS[4], rid)\n"
    "  else\n"
    "    redis.call('HSET', sk, 'wait', table.concat(left, ' '))\n"
    "  end\n"
    "end\n"
    "local function claim(a)\n"
    "  local ref, add = ARGV[a], ARGV[a + 2] == '1'\n"
    "  for k = a + 4, a + 3 + tonumber(ARGV[a + 3]) do\n"
    "    if add then redis.call('ZADD', P .. 'claim:' .. ARGV[k], ARGV[a + 1],"
    " ref)\n"
    "    else redis.call('ZREM', P .. 'claim:' .. ARGV[k], ref) end\n"
    "  end\n"
    "end\n"
    "local function apply(a, parts, nf)\n"
    "  local dup, reuse = 0, 0\n"
    "  if parts % 2 == 1 then\n"
    "    local to = KEYS[2]\n"
    "    if parts >= 32 then to = P .. 'pmin'\n"
    "    elseif parts >= 16 then to = P .. 'mvin' end\n"
    "    dup, reuse = deliver(a, to)\n"
    "    if reuse == 1 then return dup, reuse end\n"
    "    a = a + 7\n"
    "  end\n"
    "  if nf > 0 then\n"
    "    for k = 1, nf do out(P .. 'outbox:' .. ARGV[a + k], ARGV[a]) end\n"
    "    a = a + 1 + nf\n"
    "  end\n"
    "  if parts % 4 >= 2 then\n"
    "    home(a)\n"
    "    a = a + 4\n"
    "  end\n"
    "  if parts % 8 >= 4 then\n"
    "    dead(ARGV[a], ARGV[a + 1], ARGV[a + 2])\n"
    "    a = a + 3\n"
    "  end\n"
    "  if parts % 16 >= 8 and dup == 0 then claim(a) end\n"
    "  return dup, reuse\n"
    "end\n"
    "local res, moved = {}, false\n"
    "local ok, err = pcall(function()\n"
    "  local j = 4\n"
    "  while j <= #ARGV do\n"
    "    local pm, ps, qm, qs = ARGV[j], ARGV[j + 1], ARGV[j + 2], ARGV[j + 3]\n"
    "    local parts, nf = tonumber(ARGV[j + 4]), tonumber(ARGV[j + 5])\n"
    "    local a = j + 6\n"
    "    j = j + size(j, parts, nf)\n"
    "    if cmpp(pm, ps, lm, ls) <= 0 then\n"
    "      res[#res + 1] = 1\n"
    "    elseif cmpp(qm, qs, lm, ls) ~= 0 then\n"
    "      res[#res + 1] = 2\n"
    "    else\n"
    "      local dup, reuse = apply(a, parts, nf)\n"
    "      lm, ls, moved = pm, ps, true\n"
    "      res[#res + 1] = dup * 4 + reuse * 16\n"
    "    end\n"
    "  end\n"
    "end)\n"
    "if moved then redis.call('SET', KEYS[1], lm .. '-' .. ls) end\n"
    "if not ok then\n"
    "  if type(err) == 'table' then err = err.err end\n"
    "  return redis.error_reply('link op ' .. (#res + 1) .. ' failed: ' ..\n"
    "                           tostring(err))\n"
    "end\n"
    "return {first, res}\n"};
