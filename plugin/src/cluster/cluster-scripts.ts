import { createHash } from "node:crypto";
import { RedisReplyError, type RedisConnection } from "./redis-link.js";

/** The Redis clock in ms: edges' clocks may disagree, Redis's is one for all. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Takes a playing slot under every limit at once. KEYS: nodes, this edge's sessions, this edge's
 * counter set, then one counter per limit. ARGV: edge, session id, session JSON, then each limit's max.
 * A limit counts the fields of live edges only (a lapsed edge's field is removed on the way), so a
 * crashed edge's sessions stop counting when its lease lapses. Returns 0 (taken), i ≥ 1 (the i-th
 * limit is full, nothing written) or -1 (this edge's own lease lapsed: it must re-register first).
 */
export const TAKE = `${NOW}
local node = ARGV[1]
local mine = redis.call('ZSCORE', KEYS[1], node)
if not mine or tonumber(mine) < now then return -1 end
for i = 4, #KEYS do
  local fields = redis.call('HGETALL', KEYS[i])
  local total = 0
  for j = 1, #fields, 2 do
    local lease = redis.call('ZSCORE', KEYS[1], fields[j])
    if lease and tonumber(lease) >= now then total = total + tonumber(fields[j + 1])
    else redis.call('HDEL', KEYS[i], fields[j]) end
  end
  if total >= tonumber(ARGV[i]) then return i - 3 end
end
for i = 4, #KEYS do
  redis.call('HINCRBY', KEYS[i], node, 1)
  redis.call('SADD', KEYS[3], KEYS[i])
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 0`;

/**
 * Gives a session's slots back. KEYS: this edge's sessions, then its counters. ARGV: edge, session id.
 * Counts go down only if the session was registered (a session admitted while Redis was away was not).
 */
export const RELEASE = `
if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then return 0 end
for i = 2, #KEYS do
  if redis.call('HINCRBY', KEYS[i], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[i], ARGV[1]) end
end
return 1`;

/**
 * Renews this edge's lease. KEYS: nodes. ARGV: edge, lease ms. Returns {1 if the lease was still
 * live (else the edge must re-register its sessions), Redis now}.
 */
export const HEARTBEAT = `${NOW}
local prev = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if prev and tonumber(prev) >= now then return {1, now} end
return {0, now}`;

/**
 * Re-registers every live session of this edge, replacing whatever Redis held for it (after Redis
 * was away, or restarted empty). KEYS: nodes, this edge's sessions, its counter set, then every
 * counter key it held before and holds now. ARGV: edge, lease ms, n (counters with a count), then n
 * pairs (KEYS index, count), then pairs (session id, JSON).
 */
export const RESYNC = `${NOW}
local node = ARGV[1]
for i = 4, #KEYS do redis.call('HDEL', KEYS[i], node) end
redis.call('DEL', KEYS[2], KEYS[3])
local n = tonumber(ARGV[3])
for i = 0, n - 1 do
  local k = KEYS[tonumber(ARGV[4 + 2 * i])]
  redis.call('HSET', k, node, ARGV[5 + 2 * i])
  redis.call('SADD', KEYS[3], k)
end
for i = 4 + 2 * n, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), node)
return 1`;

/** The edges whose lease is live. KEYS: nodes. */
export const LIVE_NODES = `${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')`;

/**
 * Records an edge command for every edge: the revocations in force (a hash, for edges that start or
 * come back later) and the command stream (read by every edge from its last id). KEYS: stream,
 * revoked. ARGV: command JSON, op, revoked field, until ms, edge, stream length kept.
 */
export const PUBLISH = `
if ARGV[2] == 'revoke' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
elseif ARGV[2] == 'lift' then redis.call('HDEL', KEYS[2], ARGV[3]) end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[6], '*', 'from', ARGV[5], 'c', ARGV[1])`;

/** Puts revocations back into a Redis that lost them (restarted empty). KEYS: revoked. ARGV: field, until pairs. */
export const RESTORE_REVOKED = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1`;

/**
 * Counts one use of a link unless its uses are spent, for every edge at once. KEYS: the link's counter.
 * ARGV: max uses, the link's end (ms since the epoch; the counter expires then). Returns 1 when counted.
 */
export const TAKE_USE = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1`;

/** Gives a counted use back (its session never played). KEYS: the link's counter. */
export const GIVE_BACK_USE = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used > 0 then redis.call('DECR', KEYS[1]) end
return used`;

const shas = new Map<string, string>();

/** Runs a script by its digest, loading it on the first NOSCRIPT (a Redis that restarted forgets scripts). */
export async function runScript(conn: RedisConnection, script: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
  let sha = shas.get(script);
  if (sha === undefined) shas.set(script, (sha = createHash("sha1").update(script).digest("hex")));
  const tail = [String(keys.length), ...keys, ...args];
  try {
    return await conn.call(["EVALSHA", sha, ...tail]);
  } catch (error) {
    if (!(error instanceof RedisReplyError) || !error.message.startsWith("NOSCRIPT")) throw error;
    return conn.call(["EVAL", script, ...tail]);
  }
}
