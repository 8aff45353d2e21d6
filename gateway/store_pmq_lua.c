/* store_pmq_lua: the requesting side's scripts (docs/store.md,
 * "Permits"), apart from the C that builds their arguments
 * (store_pmq.c). Each is one step in Redis, so that a request is never
 * half queued and an answer is never half stored: the request's hash,
 * the wait, the waiters' list and the permit's newest answer always
 * agree, whichever instance of the node or crash comes in between. */
#include "store_int.h"

extern const st_script st_lua_pmq_add, st_lua_pmq_answer;

/* One request queued (store_pmq_add).
 * KEYS: 1 pmq:<rid>, 2 pmreq, 3 pmwait, 4 pmq:by:<permit>
 * ARGV: 1 rid, 2 op, 3 permit, 4 key ('' none), 5 for ('' none),
 *       6 payload, 7 queued ms, 8 the wake channel (store_wake.c: the
 *       daemon sends at once instead of at its next idle poll)
 * Returns 0 queued, 1 rid known (nothing written): a node deciding again
 * after a crash derives the same rid, so the request goes out once. */
const st_script st_lua_pmq_add = {ST_LUA_PMQ_ADD,
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end\n"
    "redis.call('HSET', KEYS[1], 'v', '1', 'op', ARGV[2], 'permit',"
    " ARGV[3], 'key', ARGV[4], 'for', ARGV[5], 'st', 'queued', 'q',"
    " ARGV[6], 'at', ARGV[7])\n"
    "redis.call('XADD', KEYS[2], '*', 'v', '1', 'rid', ARGV[1], 'q',"
    " ARGV[6])\n"
    "redis.call('ZADD', KEYS[3], ARGV[7], ARGV[1])\n"
    "redis.call('ZADD', KEYS[4], ARGV[7], ARGV[1])\n"
    "redis.call('PUBLISH', ARGV[8], '1')\n"
    "return 0\n"};

/* One answer stored (store_pmq_answer_many).
 * KEYS: 1 pmq:<rid>, 2 pmwait, 3 pmdone:<rid>
 * ARGV: 1 key base "<prefix>v1:", 2 rid, 3 op, 4 permit, 5 key ('' none),
 *       6 code, 7 payload, 8 frame id (v1:pmf:<id>, '' none), 9 now ms,
 *       10 answer's at,
 *       11 keep ms, 12 done ttl ms, 13 cache ('1' update pmc:<permit>)
 * Returns {0, for} stored, {1} answered before, {-1} no such request,
 * {2, field, held, got} the answer names another op, permit or key.
 * pmc:<permit> is named from the request's permit (checked equal to
 * the answer's first), so no name from the wire becomes a key. Times are
 * compared as decimal strings (length, then bytes): Lua numbers are
 * doubles. */
const st_script st_lua_pmq_answer = {ST_LUA_PMQ_ANSWER,
    "local function newer(a, b)\n"
    "  if #a ~= #b then return #a > #b end\n"
    "  return a > b\n"
    "end\n"
    "local h = redis.call('HMGET', KEYS[1], 'st', 'op', 'permit', 'key',"
    " 'for')\n"
    "if not h[1] then return {-1} end\n"
    "if h[1] == 'answered' then return {1} end\n"
    "local names = {'op', 'permit', 'key'}\n"
    "for i = 1, 3 do\n"
    "  if (h[i + 1] or '') ~= ARGV[i + 2] then\n"
    "    return {2, names[i], h[i + 1] or '', ARGV[i + 2]}\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'st', 'answered', 'code', ARGV[6], 'ans',"
    " ARGV[7], 'af', ARGV[8], 'done', ARGV[9])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[11])\n"
    "redis.call('ZREM', KEYS[2], ARGV[2])\n"
    "redis.call('LPUSH', KEYS[3], ARGV[6])\n"
    "redis.call('PEXPIRE', KEYS[3], ARGV[12])\n"
    "if ARGV[13] == '1' then\n"
    "  local c = ARGV[1] .. 'pmc:' .. h[3]\n"
    "  local held = redis.call('HGET', c, 'at')\n"
    "  if not held or newer(ARGV[10], held) then\n"
    "    redis.call('HSET', c, 'v', '1', 'ans', ARGV[7], 'af', ARGV[8],"
    " 'code', ARGV[6], 'at', ARGV[10], 'rid', ARGV[2])\n"
    "  end\n"
    "end\n"
    "return {0, h[5] or ''}\n"};
