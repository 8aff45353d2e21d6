/* store_mv_lua: the movement ledger's scripts (docs/store.md,
 * "Movements"), apart from the C that builds their arguments
 * (store_mv.c, store_mv_query.c). Each is one step in Redis, so a check
 * and the write it allows cannot be split by another instance of the
 * node or by a crash. */
#include "store_int.h"

/* One event applied (store_mv_apply).
 * KEYS: 1 mv:<ref>, 2 mv:<ref>:log, 3 mv:<ref>:ids, 4 mv:<ref>:park,
 *       5 mv:all, 6 mv:limit, 7 mv:claimwait
 * ARGV: 1 key base "<prefix>v1:", 2 ref, 3 id, 4 frame, 5 expect_n,
 *       6 new n, 7 state, 8 phase, 9 dep ('' none), 10 declared ms,
 *       11 index keys (space separated), 12 limit op (1, -1, 0),
 *       13 limit ms, 14 claimwait op, 15 unpark (1, 0)
 * Returns 0 applied, 1 dup, 2 stale. The ids check comes first, so an
 * event applied before is a dup whatever n has become since. The phase
 * sets move from the phase stored in the hash, not the caller's idea of
 * it: the hash and the sets can then never disagree. */
const st_script st_lua_mv_apply = {ST_LUA_MV_APPLY,
    "local P, ref, id = ARGV[1], ARGV[2], ARGV[3]\n"
    "local function zop(op, key, score)\n"
    "  if op == '1' then redis.call('ZADD', key, score, ref)\n"
    "  elseif op == '-1' then redis.call('ZREM', key, ref) end\n"
    "end\n"
    "if redis.call('SISMEMBER', KEYS[3], id) == 1 then\n"
    "  if ARGV[15] == '1' then redis.call('HDEL', KEYS[4], id) end\n"
    "  return 1\n"
    "end\n"
    "local h = redis.call('HMGET', KEYS[1], 'n', 'phase')\n"
    "if (h[1] or '0') ~= ARGV[5] then return 2 end\n"
    "redis.call('SADD', KEYS[3], id)\n"
    "redis.call('RPUSH', KEYS[2], ARGV[4])\n"
    "redis.call('HSET', KEYS[1], 'v', '1', 'st', ARGV[7], 'n', ARGV[6],"
    " 'phase', ARGV[8])\n"
    "if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'dep', ARGV[9]) end\n"
    "if h[2] and h[2] ~= ARGV[8] then\n"
    "  redis.call('SREM', P .. 'mv:phase:' .. h[2], ref)\n"
    "end\n"
    "redis.call('SADD', P .. 'mv:phase:' .. ARGV[8], ref)\n"
    "if ARGV[5] == '0' then\n"
    "  redis.call('ZADD', KEYS[5], 'NX', ARGV[10], ref)\n"
    "end\n"
    "for k in string.gmatch(ARGV[11], '%S+') do\n"
    "  redis.call('SADD', P .. 'mvidx:' .. k, ref)\n"
    "end\n"
    "zop(ARGV[12], KEYS[6], ARGV[13])\n"
    "zop(ARGV[14], KEYS[7], ARGV[10])\n"
    "if ARGV[15] == '1' then redis.call('HDEL', KEYS[4], id) end\n"
    "return 0\n"};

/* An event this node authored (store_mv_submit): store_submit's part
 * (the same Lua function) when it has destinations, delivery to the node
 * itself and the claim part.
 * KEYS: as store_submit (1 sent, 2 await, 3.. outboxes)
 * ARGV: 1-6 as store_submit, 7 key base, 8 origin (this node), 9 number
 *       of destinations, 10 ref, 11 claim score, 12 claim op ('1' add,
 *       '0' remove, '' none), 13 claim keys (space separated)
 * Returns {0} done, {1} already submitted, {2, key, winner} refused: key
 * is claimed by another ref (the first in zset order that is not ours),
 * nothing written. seen:<id> marks the message as this node's own, so a
 * retry is told apart even when it had no destination (no sent:). */
const st_script st_lua_mv_submit = {ST_LUA_MV_SUBMIT,
    ST_LUA_SUBMIT_FN
    "local P, id = ARGV[7], ARGV[1]\n"
    "local seen = P .. 'seen:' .. id\n"
    "if redis.call('EXISTS', KEYS[1]) == 1 or"
    " redis.call('EXISTS', seen) == 1 then return {1} end\n"
    "local ref, op, ks = ARGV[10], ARGV[12], {}\n"
    "for k in string.gmatch(ARGV[13], '%S+') do ks[#ks + 1] = k end\n"
    "if op == '1' then\n"
    "  for _, k in ipairs(ks) do\n"
    "    local m = redis.call('ZRANGE', P .. 'claim:' .. k, 0, 1)\n"
    "    local w = m[1]\n"
    "    if w == ref then w = m[2] end\n"
    "    if w then return {2, k, w} end\n"
    "  end\n"
    "end\n"
    "for _, k in ipairs(ks) do\n"
    "  if op == '1' then\n"
    "    redis.call('ZADD', P .. 'claim:' .. k, ARGV[11], ref)\n"
    "  else\n"
    "    redis.call('ZREM', P .. 'claim:' .. k, ref)\n"
    "  end\n"
    "end\n"
    "if ARGV[9] ~= '0' then\n"
    "  submit(KEYS[1], KEYS[2], 3, #KEYS, id, ARGV[2], ARGV[3], ARGV[4],"
    " ARGV[5])\n"
    "end\n"
    "redis.call('XADD', P .. 'mvin', '*', 'v', '1', 'f', ARGV[2], 'id', id,"
    " 'origin', ARGV[8])\n"
    "redis.call('HSET', seen, 'v', '1', 'self', '1')\n"
    "redis.call('PEXPIRE', seen, 86400000)\n"
    "redis.call('PUBLISH', ARGV[6], '1')\n"
    "return {0}\n"};

/* The ledger refused an event (store_mv_refuse).
 * KEYS: 1 mv:<ref>:refused, 2 dlq, 3 mv:<ref>:park; ARGV: 1 id, 2 why,
 * 3 now, 4 frame.
 * A parked event refused once its prev came leaves the park: a refusal
 * is final, and left there it would be decided (and refused) again each
 * time its movement moves. Removed even when the refusal was recorded
 * before: a refused event still parked (stored by an older version) goes
 * the next time it is refused.
 * Once per id: the ledger may run a batch again after a crash, and the
 * dead letter must not come twice. Returns 0, or 1 when already held. */
const st_script st_lua_mv_refuse = {ST_LUA_MV_REFUSE,
    "redis.call('HDEL', KEYS[3], ARGV[1])\n"
    "if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then\n"
    "  return 1\n"
    "end\n"
    "redis.call('XADD', KEYS[2], '*', 'v', '1', 'reason', 'ledger-refused',"
    " 'where', ARGV[2], 'at', ARGV[3], 'frame', ARGV[4])\n"
    "return 0\n"};
