/**
 * The Lua scripts behind Redis history, presence and dedup (redis-store.ts), and how they run.
 *
 * Every script touches the keys of ONE stream only (plus, for the ones that publish, that
 * stream's pub/sub channel, passed as a key too): with hash-tagged key names they run unchanged
 * on Redis Cluster. Scripts are atomic, so a message's offset and its PUBLISH, or a presence
 * change, its version and its event, can never be seen out of order.
 *
 * History keys: `meta` (hash: epoch, offset, ms) and `log` (a Redis stream whose entry ids are
 * `<ms>-<offset>`: time-ordered for MINID trimming, offset-ordered for reads).
 * Presence keys: `meta` (hash: epoch, version), `sessions` (session -> member id), `members`
 * (member id -> session count), `info` (member id -> JSON), `deadlines` (zset session -> ms).
 */

/** What redis-store.ts needs from an ioredis client (`Redis` or `Cluster`), structurally. */
export interface RedisCommander {
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
}

import { POSITION_MARK } from "./envelope.js";

/** The envelope of a message on a stream that keeps history (envelope.ts: unwrapPosition). */
const HISTORY_MARK = POSITION_MARK;

const NOW = `
local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: meta, log, channel. ARGV: payload, limit, ttl, new epoch, meta ttl, publish command.
 * Returns { epoch, offset }.
 */
const HISTORY_PUBLISH = `${NOW}
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[4]
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'offset', 0, 'ms', 0)
end
local offset = redis.call('HINCRBY', KEYS[1], 'offset', 1)
local ms = tonumber(redis.call('HGET', KEYS[1], 'ms') or '0')
if now > ms then ms = now end
redis.call('HSET', KEYS[1], 'ms', ms)
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], ms .. '-' .. offset, 'p', ARGV[1])
redis.call('XTRIM', KEYS[2], 'MINID', math.max(0, now - tonumber(ARGV[3])) .. '-0')
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call(ARGV[6], KEYS[3], '${HISTORY_MARK}' .. epoch .. '${HISTORY_MARK}' .. offset .. '${HISTORY_MARK}' .. ARGV[1])
return { epoch, offset }`;

/** The stream's epoch (created when missing) and offset. KEYS: meta. ARGV: new epoch, meta ttl. */
const META_FN = `
local function meta()
  local epoch = redis.call('HGET', KEYS[1], 'epoch')
  if not epoch then
    epoch = ARGV[1]
    redis.call('HSET', KEYS[1], 'epoch', epoch, 'offset', 0, 'ms', 0)
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return { epoch, tonumber(redis.call('HGET', KEYS[1], 'offset')) }
end`;
const HISTORY_META = `${META_FN}
return meta()`;

/**
 * The last `count` retained entries after expiring old ones; with a `since` epoch and offset,
 * only those after it (none when the epoch differs). KEYS: meta, log.
 * ARGV: new epoch, meta ttl, ttl, count, since epoch ('' for none), since offset.
 * Returns { epoch, offset, payload1, payload2, ... } newest first.
 */
const HISTORY_READ = `${NOW}${META_FN}
local m = meta()
redis.call('XTRIM', KEYS[2], 'MINID', math.max(0, now - tonumber(ARGV[3])) .. '-0')
local out = { m[1], m[2] }
local count = tonumber(ARGV[4])
if ARGV[5] ~= '' then
  local missing = m[2] - tonumber(ARGV[6])
  if ARGV[5] ~= m[1] or missing < 0 then count = 0 elseif missing < count then count = missing end
end
if count > 0 then
  local entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', count)
  for i = 1, #entries do out[#out + 1] = entries[i][2][2] end
end
return out`;

/** Leave logic shared by leave, sweep and a join that moves a session to another member. */
const PRESENCE_LEAVE_FN = `
local function leave(sid)
  local id = redis.call('HGET', KEYS[2], sid)
  if not id then return 0 end
  redis.call('HDEL', KEYS[2], sid)
  redis.call('ZREM', KEYS[5], sid)
  if redis.call('HINCRBY', KEYS[3], id, -1) <= 0 then
    redis.call('HDEL', KEYS[3], id)
    local info = redis.call('HGET', KEYS[4], id) or 'null'
    redis.call('HDEL', KEYS[4], id)
    local epoch = redis.call('HGET', KEYS[1], 'epoch') or ''
    local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
    redis.call(ARGV[1], KEYS[6], '["leave",' .. cjson.encode(epoch) .. ',' .. v .. ',' .. cjson.encode(id) .. ',' .. info .. ']')
  end
  return 1
end
local function ensure(newEpoch)
  local epoch = redis.call('HGET', KEYS[1], 'epoch')
  if not epoch then
    epoch = newEpoch
    redis.call('HSET', KEYS[1], 'epoch', epoch, 'version', 0)
  end
  return epoch
end
local function keep(ttl)
  for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ttl) end
end`;

/**
 * KEYS: meta, sessions, members, info, deadlines, channel.
 * ARGV: publish command, session, id, info JSON, deadline, max members, new epoch, key ttl.
 */
const PRESENCE_JOIN = `${PRESENCE_LEAVE_FN}
local epoch = ensure(ARGV[7])
local prev = redis.call('HGET', KEYS[2], ARGV[2])
if prev == ARGV[3] then
  redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
  redis.call('ZADD', KEYS[5], ARGV[5], ARGV[2])
  keep(ARGV[8])
  return 'present'
end
if prev then leave(ARGV[2]) end
local count = tonumber(redis.call('HGET', KEYS[3], ARGV[3]) or '0')
if count == 0 and redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[6]) then return 'full' end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[2])
keep(ARGV[8])
if count > 0 then return 'present' end
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call(ARGV[1], KEYS[6], '["join",' .. cjson.encode(epoch) .. ',' .. v .. ',' .. cjson.encode(ARGV[3]) .. ',' .. ARGV[4] .. ']')
return 'joined'`;

/** KEYS: as join. ARGV: publish command, session. */
const PRESENCE_LEAVE = `${PRESENCE_LEAVE_FN}
return leave(ARGV[2])`;

/**
 * Refresh this process's sessions, remove expired ones (with their leave events).
 * KEYS: as join. ARGV: publish command, deadline, key ttl, max expired per call, session...
 * Returns the sessions of ours that were missing (removed meanwhile: the caller joins them again).
 */
const PRESENCE_TOUCH = `${PRESENCE_LEAVE_FN}${NOW}
local expired = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
for i = 1, #expired do leave(expired[i]) end
local missing = {}
for i = 5, #ARGV do
  if redis.call('ZSCORE', KEYS[5], ARGV[i]) then
    redis.call('ZADD', KEYS[5], ARGV[2], ARGV[i])
  else
    missing[#missing + 1] = ARGV[i]
  end
end
if #ARGV >= 5 then keep(ARGV[3]) end
return missing`;

/** KEYS: meta, sessions(unused), members, info. ARGV: new epoch, key ttl. Returns { epoch, version, id, info, ... }. */
const PRESENCE_SNAPSHOT = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'version', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local out = { epoch, tonumber(redis.call('HGET', KEYS[1], 'version') or '0') }
local infos = redis.call('HGETALL', KEYS[4])
for i = 1, #infos do out[#out + 1] = infos[i] end
return out`;

/** KEYS: key. ARGV: window ms. Returns { state[, outcome] }. */
const DEDUP_CLAIM = `
if redis.call('SET', KEYS[1], '', 'NX', 'PX', ARGV[1]) then return { 'new' } end
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], '', 'PX', ARGV[1])
  return { 'new' }
end
if v == '' then return { 'pending' } end
return { 'done', string.sub(v, 2) }`;

export const SCRIPTS = {
  wirecableHistoryPublish: { numberOfKeys: 3, lua: HISTORY_PUBLISH },
  wirecableHistoryMeta: { numberOfKeys: 1, lua: HISTORY_META },
  wirecableHistoryRead: { numberOfKeys: 2, lua: HISTORY_READ },
  wirecablePresenceJoin: { numberOfKeys: 6, lua: PRESENCE_JOIN },
  wirecablePresenceLeave: { numberOfKeys: 6, lua: PRESENCE_LEAVE },
  wirecablePresenceTouch: { numberOfKeys: 6, lua: PRESENCE_TOUCH },
  wirecablePresenceSnapshot: { numberOfKeys: 4, lua: PRESENCE_SNAPSHOT },
  wirecableDedupClaim: { numberOfKeys: 1, lua: DEDUP_CLAIM },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/**
 * Runs the scripts on one commander (defined once per commander; ioredis uses EVALSHA). The
 * commander may still be loading: `run` waits for it.
 */
export class ScriptRunner {
  readonly #commander: Promise<RedisCommander & Record<string, unknown>>;

  constructor(commander: RedisCommander | Promise<RedisCommander>) {
    this.#commander = Promise.resolve(commander).then((c) => {
      const target = c as RedisCommander & Record<string, unknown>;
      for (const [name, definition] of Object.entries(SCRIPTS)) {
        if (typeof target[name] !== "function") c.defineCommand(name, definition);
      }
      return target;
    });
    this.#commander.catch(() => {}); // a load failure reaches the callers of run
  }

  async run(name: ScriptName, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    const commander = await this.#commander;
    const command = commander[name] as (...a: Array<string | number>) => Promise<unknown>;
    return command.call(commander, ...keys, ...args);
  }

  /** Any other command (SET, DEL) on the same commander. */
  async call(command: string, ...args: Array<string | number>): Promise<unknown> {
    const commander = await this.#commander;
    return (commander[command] as (...a: Array<string | number>) => Promise<unknown>).call(commander, ...args);
  }
}
