// The Redis QueueStore, shared by several nodes. Every operation that checks and then writes is one Lua
// script, which Redis runs alone, so two nodes can never take the same agent slot or task twice.
//
// Keys (P = keyPrefix; ids may contain ':' because each kind's tag before the first ':' is unique):
//   P a:{agentId}            hash   p presence, r reason (absent = null), i idleSince, q queues (JSON),
//                                   v version, c:{channel} capacity, l:{channel} load (absent = 0)
//   P av:{queueId}:{channel} zset   agents ready with a free slot there, scored by idleSince; kept exact
//                                   by every script that changes an agent (syncAvail)
//   P t:{taskId}             hash   q queueId, ch channel, p priority, e enqueuedAt, x reservation mode
//                                   ('x' exclusive / 's' shared, absent = unreserved); exists iff waiting
//   P q:{queueId}            zset   waiting tasks scored -priority * 1e13 + enqueuedAt (exact: see validate.ts)
//   P tr:{taskId}            hash   agentId → "expiresAt|channel|shared"   (reservations of a task)
//   P ar:{agentId}           hash   taskId  → "expiresAt|channel|shared"   (reservations of an agent)
//   P exp                    zset   "taskId\0agentId" scored by expiresAt
//
// Scripts derive some keys from the prefix (the other agents of a ring-all offer, for instance), so
// this store needs a standalone Redis (or Sentinel), not Redis Cluster.
import { Redis } from 'ioredis';
import {
  CHANNELS,
  type AgentAvailability,
  type Channel,
  type QueueStore,
  type QueuedTask,
  type Reservation,
  type ReserveOptions,
  type ReserveResult,
  type StoredPresence,
  type WaitingTask,
  type ConditionalRelease,
  type EnqueueAndReserveResult,
} from './queue-store.js';
import {
  checkAgent,
  checkChannel,
  checkId,
  checkLimit,
  checkPresence,
  checkPriority,
  checkReason,
  checkTask,
  checkTime,
  type AgentInput,
} from './validate.js';

export interface RedisQueueStoreOptions {
  /** Put before every key (e.g. "mccs:"); all keys of this store live under it. */
  keyPrefix: string;
  /** close() quits the client only when the store owns it (createRedisQueueStore); default false. */
  ownsClient?: boolean;
  /** How long health() waits for PING; default 1000 ms. */
  healthTimeoutMs?: number;
}

// ---- Lua ----------------------------------------------------------------------------------------
// Lua 5.1's tostring and '..' print numbers with %.14g, which would round a 15-digit score: times
// arrive as strings from JavaScript and are stored as given, and a computed score goes through num().

const PRELUDE = `
local P = ARGV[1]
local CHANNELS = {${CHANNELS.map((c) => `'${c}'`).join(', ')}}

local function num(x) return string.format('%.17g', x) end

-- An agent hash as {p, r, i, q, v, queues, cap = {channel = n}, load = {channel = n}}, or nil.
local function readAgent(key)
  local h = redis.call('HGETALL', key)
  if #h == 0 then return nil end
  local a = { cap = {}, load = {} }
  for n = 1, #h, 2 do
    local f, v = h[n], h[n + 1]
    local tag = string.sub(f, 1, 2)
    if tag == 'c:' then a.cap[string.sub(f, 3)] = tonumber(v)
    elseif tag == 'l:' then a.load[string.sub(f, 3)] = tonumber(v)
    else a[f] = v end
  end
  a.queues = cjson.decode(a.q or '[]')
  return a
end

local function freeOn(a, ch)
  return a ~= nil and a.p == 'ready' and (a.load[ch] or 0) < (a.cap[ch] or 0)
end

local function totalLoad(a)
  local t = 0
  for _, n in pairs(a.load) do t = t + n end
  return t
end

-- Keeps every av:{queue}:{channel} exact after an agent changed from old to new (either may be nil);
-- writes only where membership or the idleSince score changed.
local function syncAvail(aid, old, new)
  local queues, inOld, inNew = {}, {}, {}
  if old then for _, q in ipairs(old.queues) do inOld[q] = true; queues[#queues + 1] = q end end
  if new then for _, q in ipairs(new.queues) do
    inNew[q] = true
    if not inOld[q] then queues[#queues + 1] = q end
  end end
  local moved = old ~= nil and new ~= nil and old.i ~= new.i
  for _, ch in ipairs(CHANNELS) do
    local was, is = freeOn(old, ch), freeOn(new, ch)
    if was or is then
      for _, q in ipairs(queues) do
        local key = P .. 'av:' .. q .. ':' .. ch
        if is and inNew[q] then
          if moved or not (was and inOld[q]) then redis.call('ZADD', key, new.i, aid) end
        elseif was and inOld[q] then
          redis.call('ZREM', key, aid)
        end
      end
    end
  end
end

local function addLoad(key, ch, delta)
  -- Only non-zero loads are kept, so an idle agent's load reads as {}.
  if redis.call('HINCRBY', key, 'l:' .. ch, delta) <= 0 then redis.call('HDEL', key, 'l:' .. ch) end
end

-- Applies a change to an agent, bumps its version and keeps the availability sets exact.
local function changeAgent(key, aid, old, fn)
  fn()
  redis.call('HINCRBY', key, 'v', 1)
  syncAvail(aid, old, readAgent(key))
end

-- Frees one slot on ch; an agent left with nothing becomes idle from now. Releasing a slot that is not
-- held is a no-op: load never goes negative.
local function releaseOne(key, aid, old, ch, now)
  if (old.load[ch] or 0) > 0 then
    changeAgent(key, aid, old, function()
      addLoad(key, ch, -1)
      if totalLoad(old) == 1 then redis.call('HSET', key, 'i', now) end
    end)
  end
end

local function resChannel(val) return string.match(val, '^[^|]*|([^|]*)|') end

-- Removes one reservation from every index; freeSlot gives the agent its slot back (idleSince stays:
-- an offer that was not taken is not work).
local function dropReservation(tid, aid, ch, freeSlot)
  local trkey = P .. 'tr:' .. tid
  redis.call('HDEL', trkey, aid)
  if redis.call('HLEN', trkey) == 0 then redis.call('HDEL', P .. 't:' .. tid, 'x') end
  redis.call('HDEL', P .. 'ar:' .. aid, tid)
  redis.call('ZREM', P .. 'exp', tid .. '\\0' .. aid)
  if freeSlot then
    local akey = P .. 'a:' .. aid
    local old = readAgent(akey)
    if old and (old.load[ch] or 0) > 0 then changeAgent(akey, aid, old, function() addLoad(akey, ch, -1) end) end
  end
end

-- reserve()'s checks and writes for a waiting task of channel ch (mode: its 'x' field, or nil);
-- returns true, or false and the reason.
local function tryReserve(tid, ch, mode, aid, expiresAt, shared, chatsDuringCalls)
  local trkey, akey = P .. 'tr:' .. tid, P .. 'a:' .. aid
  if redis.call('HEXISTS', trkey, aid) == 1 then return false, 'task_reserved' end
  -- Exclusive offers exclude everyone; shared (ring-all) offers only exclude exclusive ones.
  if mode and (not shared or mode == 'x') then return false, 'task_reserved' end
  local a = readAgent(akey)
  -- Capacity 0 means "never offered this channel": unavailable, not merely full for now.
  if not a or a.p ~= 'ready' or (a.cap[ch] or 0) == 0 then return false, 'agent_unavailable' end
  if (a.load[ch] or 0) >= a.cap[ch] then return false, 'agent_full' end
  -- A call excludes chats (unless the queue allows them during calls).
  if (ch == 'chat' or ch == 'social') and not chatsDuringCalls and ((a.load['call'] or 0) + (a.load['video'] or 0) + (a.load['callback'] or 0)) > 0 then
    return false, 'agent_full'
  end
  changeAgent(akey, aid, a, function() addLoad(akey, ch, 1) end)
  local val = expiresAt .. '|' .. ch .. '|' .. (shared and '1' or '0')
  redis.call('HSET', P .. 't:' .. tid, 'x', shared and 's' or 'x')
  redis.call('HSET', trkey, aid, val)
  redis.call('HSET', P .. 'ar:' .. aid, tid, val)
  redis.call('ZADD', P .. 'exp', expiresAt, tid .. '\\0' .. aid)
  return true, a.r
end

-- Cancels every reservation of a task; returns {agentId, value, ...}.
local function dropAllReservations(tid, ch)
  local res = redis.call('HGETALL', P .. 'tr:' .. tid)
  for n = 1, #res, 2 do dropReservation(tid, res[n], ch, true) end
  return res
end
`;

interface ScriptDef {
  keys: number;
  lua: string;
}

const SCRIPTS = {
  // KEYS a:{id} | ARGV P, agentId, presence, hasReason, reason, idleSince, queuesJson, capacity × CHANNELS ('' = none)
  mccsQsPutAgent: {
    keys: 1,
    lua: `
local key, aid = KEYS[1], ARGV[2]
local old = readAgent(key)
local f = {'p', ARGV[3], 'i', ARGV[6], 'q', ARGV[7], 'v', old and old.v or '0'}
if ARGV[4] == '1' then f[#f + 1] = 'r'; f[#f + 1] = ARGV[5] end
for n, ch in ipairs(CHANNELS) do
  if ARGV[7 + n] ~= '' then f[#f + 1] = 'c:' .. ch; f[#f + 1] = ARGV[7 + n] end
end
-- Replaces everything but the load, which reflects tasks the agent really holds.
if old then for ch, n in pairs(old.load) do f[#f + 1] = 'l:' .. ch; f[#f + 1] = n end end
redis.call('DEL', key)
redis.call('HSET', key, unpack(f))
redis.call('HINCRBY', key, 'v', 1)
syncAvail(aid, old, readAgent(key))
return redis.call('HGETALL', key)`,
  },
  // KEYS a:{id} | ARGV P, agentId, presence, hasReason, reason, now
  mccsQsSetPresence: {
    keys: 1,
    lua: `
local key, aid = KEYS[1], ARGV[2]
local old = readAgent(key)
if not old then return false end
changeAgent(key, aid, old, function()
  -- Idle time counts from when an empty agent becomes ready, so a return from a break does not
  -- jump the longest-idle order.
  if ARGV[3] == 'ready' and old.p ~= 'ready' and totalLoad(old) == 0 then redis.call('HSET', key, 'i', ARGV[6]) end
  redis.call('HSET', key, 'p', ARGV[3])
  if ARGV[4] == '1' then redis.call('HSET', key, 'r', ARGV[5]) else redis.call('HDEL', key, 'r') end
end)
return redis.call('HGETALL', key)`,
  },
  // KEYS a:{id} | ARGV P, agentId, channel, now
  mccsQsReleaseSlot: {
    keys: 1,
    lua: `
local key, aid = KEYS[1], ARGV[2]
local old = readAgent(key)
if not old then return false end
releaseOne(key, aid, old, ARGV[3], ARGV[4])
return redis.call('HGETALL', key)`,
  },
  // KEYS a:{id} | ARGV P, agentId, channel, now, depth — {0} when a task waits unoffered, else {1, agent}
  mccsQsReleaseSlotIfNoneWaiting: {
    keys: 1,
    lua: `
local key, aid, depth = KEYS[1], ARGV[2], tonumber(ARGV[5])
local old = readAgent(key)
if not old then return {1, {}} end
for _, q in ipairs(old.queues) do
  local heads = depth > 0 and redis.call('ZRANGE', P .. 'q:' .. q, 0, depth - 1) or {}
  -- A full window may hide an unoffered task behind it: assume it does.
  if #heads == depth then return {0} end
  for _, tid in ipairs(heads) do
    if redis.call('HEXISTS', P .. 't:' .. tid, 'x') == 0 then return {0} end
  end
end
releaseOne(key, aid, old, ARGV[3], ARGV[4])
return {1, redis.call('HGETALL', key)}`,
  },
  // KEYS a:{id} | ARGV P, agentId, channel
  mccsQsHoldSlot: {
    keys: 1,
    lua: `
local key, aid = KEYS[1], ARGV[2]
local old = readAgent(key)
if not old then return false end
-- No capacity check: this restores a task the agent already has, it does not make an offer.
changeAgent(key, aid, old, function() addLoad(key, ARGV[3], 1) end)
return redis.call('HGETALL', key)`,
  },
  // KEYS a:{id}, ar:{id} | ARGV P, agentId
  mccsQsRemoveAgent: {
    keys: 2,
    lua: `
local aid = ARGV[2]
local old = readAgent(KEYS[1])
-- Its offers go with it: the tasks stay waiting and can be offered to someone else.
local res = redis.call('HGETALL', KEYS[2])
for n = 1, #res, 2 do dropReservation(res[n], aid, nil, false) end
if old then syncAvail(aid, old, nil) end
redis.call('DEL', KEYS[1], KEYS[2])
return 1`,
  },
  // KEYS t:{id}, q:{queue} | ARGV P, taskId, queueId, channel, priority, enqueuedAt
  mccsQsEnqueue: {
    keys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'q', ARGV[3], 'ch', ARGV[4], 'p', ARGV[5], 'e', ARGV[6])
redis.call('ZADD', KEYS[2], num(-tonumber(ARGV[5]) * 1e13 + tonumber(ARGV[6])), ARGV[2])
return 1`,
  },
  // KEYS t:{id}, tr:{id} | ARGV P, taskId
  mccsQsRemoveTask: {
    keys: 2,
    lua: `
local t = redis.call('HMGET', KEYS[1], 'q', 'ch')
if not t[1] then return {0, {}} end
redis.call('ZREM', P .. 'q:' .. t[1], ARGV[2])
local cancelled = dropAllReservations(ARGV[2], t[2])
redis.call('DEL', KEYS[1], KEYS[2])
return {1, cancelled}`,
  },
  // KEYS t:{id} | ARGV P, taskId, priority
  mccsQsSetPriority: {
    keys: 1,
    lua: `
local t = redis.call('HMGET', KEYS[1], 'q', 'e')
if not t[1] then return 0 end
redis.call('HSET', KEYS[1], 'p', ARGV[3])
redis.call('ZADD', P .. 'q:' .. t[1], 'XX', num(-tonumber(ARGV[3]) * 1e13 + tonumber(t[2])), ARGV[2])
return 1`,
  },
  // KEYS t:{id}, tr:{id}, a:{agent}, ar:{agent}, exp | ARGV P, taskId, agentId, expiresAt, shared, chatsDuringCalls
  mccsQsReserve: {
    keys: 5,
    lua: `
local t = redis.call('HMGET', KEYS[1], 'ch', 'x')
local ch, mode = t[1], t[2]
if not ch then return {0, 'task_not_waiting'} end
local ok, reason = tryReserve(ARGV[2], ch, mode, ARGV[3], ARGV[4], ARGV[5] == '1', ARGV[6] == '1')
if not ok then return {0, reason} end
return {1, ch}`,
  },
  // KEYS t:{id}, q:{queue} | ARGV P, taskId, queueId, channel, priority, enqueuedAt, expiresAt, chatsDuringCalls, limit
  // → {1, agentId, reason or ''} reserved; {0} nobody free; {2} already waiting or nobody passed the checks
  mccsQsEnqueueAndReserve: {
    keys: 2,
    lua: `
local tid, ch = ARGV[2], ARGV[4]
if redis.call('EXISTS', KEYS[1]) == 1 then return {2} end
redis.call('HSET', KEYS[1], 'q', ARGV[3], 'ch', ch, 'p', ARGV[5], 'e', ARGV[6])
redis.call('ZADD', KEYS[2], num(-tonumber(ARGV[5]) * 1e13 + tonumber(ARGV[6])), tid)
local free = redis.call('ZRANGE', P .. 'av:' .. ARGV[3] .. ':' .. ch, 0, tonumber(ARGV[9]) - 1)
for _, aid in ipairs(free) do
  local ok, reason = tryReserve(tid, ch, nil, aid, ARGV[7], false, ARGV[8] == '1')
  if ok then return {1, aid, reason or ''} end
end
if #free == 0 then return {0} end
return {2}`,
  },
  // KEYS t:{id}, tr:{id} | ARGV P, taskId, agentId, now
  mccsQsAccept: {
    keys: 2,
    lua: `
local tid, aid = ARGV[2], ARGV[3]
local val = redis.call('HGET', KEYS[2], aid)
if not val or tonumber(string.match(val, '^[^|]*')) <= tonumber(ARGV[4]) then return {0, {}} end
local t = redis.call('HMGET', KEYS[1], 'q', 'ch')
redis.call('ZREM', P .. 'q:' .. t[1], tid)
-- The accepted offer becomes held work: the agent keeps the slot, only the reservation goes.
dropReservation(tid, aid, t[2], false)
local cancelled = dropAllReservations(tid, t[2])
redis.call('DEL', KEYS[1], KEYS[2])
return {1, cancelled}`,
  },
  // KEYS tr:{id} | ARGV P, taskId, agentId
  mccsQsCancel: {
    keys: 1,
    lua: `
local val = redis.call('HGET', KEYS[1], ARGV[3])
if not val then return 0 end
dropReservation(ARGV[2], ARGV[3], resChannel(val), true)
return 1`,
  },
  // KEYS av:{queue}:{channel} | ARGV P, limit — one round trip for the ids and their records
  mccsQsAvailable: {
    keys: 1,
    lua: `
local out = {}
for _, aid in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)) do
  out[#out + 1] = aid
  out[#out + 1] = redis.call('HGETALL', P .. 'a:' .. aid)
end
return out`,
  },
  // KEYS q:{queue} | ARGV P, limit
  mccsQsWaiting: {
    keys: 1,
    lua: `
local out = {}
for _, tid in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)) do
  out[#out + 1] = tid
  out[#out + 1] = redis.call('HGETALL', P .. 't:' .. tid)
end
return out`,
  },
  // KEYS t:{id} | ARGV P, taskId
  mccsQsPosition: {
    keys: 1,
    lua: `
local q = redis.call('HGET', KEYS[1], 'q')
if not q then return false end
local rank = redis.call('ZRANK', P .. 'q:' .. q, ARGV[2])
if not rank then return false end
return rank + 1`,
  },
  // KEYS exp | ARGV P, now, limit
  mccsQsExpired: {
    keys: 1,
    lua: `
local out = {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))) do
  local sep = string.find(m, '\\0', 1, true)
  local tid, aid = string.sub(m, 1, sep - 1), string.sub(m, sep + 1)
  local val = redis.call('HGET', P .. 'tr:' .. tid, aid)
  if val then out[#out + 1] = tid; out[#out + 1] = aid; out[#out + 1] = val end
end
return out`,
  },
} satisfies Record<string, ScriptDef>;

type ScriptName = keyof typeof SCRIPTS;
type Reply = null | number | string | Reply[];
type ScriptClient = Redis & Record<ScriptName, (...args: string[]) => Promise<Reply>>;

// ---- parsing --------------------------------------------------------------------------------------

function pairs(flat: Reply): Array<[string, string]> {
  const list = (flat ?? []) as string[];
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < list.length; i += 2) out.push([list[i]!, list[i + 1]!]);
  return out;
}

function parseAgent(agentId: string, fields: Array<[string, string]>): AgentAvailability | null {
  if (fields.length === 0) return null;
  const agent: AgentAvailability = {
    agentId,
    presence: 'logged_off',
    reason: null,
    capacity: {},
    load: {},
    idleSince: 0,
    queues: [],
    version: 0,
  };
  const capacity: Partial<Record<string, number>> = {};
  const load: Partial<Record<string, number>> = {};
  for (const [f, v] of fields) {
    if (f === 'p') agent.presence = v as StoredPresence;
    else if (f === 'r') agent.reason = v;
    else if (f === 'i') agent.idleSince = Number(v);
    else if (f === 'q') agent.queues = JSON.parse(v) as string[];
    else if (f === 'v') agent.version = Number(v);
    else if (f.startsWith('c:')) capacity[f.slice(2)] = Number(v);
    else if (f.startsWith('l:')) load[f.slice(2)] = Number(v);
  }
  // Channels in one fixed order, as the memory store keeps them.
  for (const ch of CHANNELS) {
    if (capacity[ch] !== undefined) agent.capacity[ch] = capacity[ch];
    if (load[ch] !== undefined) agent.load[ch] = load[ch];
  }
  return agent;
}

function parseTask(taskId: string, fields: Array<[string, string]>): QueuedTask | null {
  if (fields.length === 0) return null;
  const h = Object.fromEntries(fields);
  return { taskId, queueId: h.q!, channel: h.ch as Channel, priority: Number(h.p), enqueuedAt: Number(h.e) };
}

function parseReservation(taskId: string, agentId: string, value: string): Reservation {
  const [expiresAt, channel] = value.split('|');
  return { taskId, agentId, channel: channel as Channel, expiresAt: Number(expiresAt) };
}

const byTaskThenAgent = (a: Reservation, b: Reservation): number =>
  a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0;

function reasonArgs(reason: string | null): [string, string] {
  return reason === null ? ['0', ''] : ['1', reason];
}

// ---- the store -------------------------------------------------------------------------------------

export class RedisQueueStore implements QueueStore {
  readonly kind = 'redis' as const;

  readonly #redis: ScriptClient;
  readonly #prefix: string;
  readonly #ownsClient: boolean;
  readonly #healthTimeoutMs: number;
  #closed = false;

  constructor(redis: Redis, opts: RedisQueueStoreOptions) {
    if (typeof opts.keyPrefix !== 'string') throw new TypeError('keyPrefix must be a string');
    if (redis.options.keyPrefix) throw new TypeError("use the store's keyPrefix, not the client's (Lua keys must be explicit)");
    this.#prefix = opts.keyPrefix;
    this.#ownsClient = opts.ownsClient ?? false;
    this.#healthTimeoutMs = opts.healthTimeoutMs ?? 1000;
    for (const [name, def] of Object.entries(SCRIPTS) as Array<[ScriptName, ScriptDef]>) {
      // Redefining on a shared client is harmless: the script text is the same.
      redis.defineCommand(name, { numberOfKeys: def.keys, lua: PRELUDE + def.lua });
    }
    this.#redis = redis as ScriptClient;
  }

  get keyPrefix(): string {
    return this.#prefix;
  }

  #key(tag: string, id: string): string {
    return `${this.#prefix}${tag}:${id}`;
  }

  // ---- agents ------------------------------------------------------------------------------

  async putAgent(input: AgentInput): Promise<AgentAvailability> {
    const a = checkAgent(input);
    const reply = await this.#redis.mccsQsPutAgent(
      this.#key('a', a.agentId),
      this.#prefix,
      a.agentId,
      a.presence,
      ...reasonArgs(a.reason),
      String(a.idleSince),
      JSON.stringify(a.queues),
      ...CHANNELS.map((ch) => (a.capacity[ch] === undefined ? '' : String(a.capacity[ch]))),
    );
    return parseAgent(a.agentId, pairs(reply))!;
  }

  async getAgent(agentId: string): Promise<AgentAvailability | null> {
    checkId('agentId', agentId);
    const h = await this.#redis.hgetall(this.#key('a', agentId));
    return parseAgent(agentId, Object.entries(h));
  }

  async setPresence(agentId: string, presence: StoredPresence, reason: string | null, now: number): Promise<AgentAvailability | null> {
    checkId('agentId', agentId);
    checkPresence(presence);
    checkReason(reason);
    checkTime('now', now);
    const reply = await this.#redis.mccsQsSetPresence(this.#key('a', agentId), this.#prefix, agentId, presence, ...reasonArgs(reason), String(now));
    return parseAgent(agentId, pairs(reply));
  }

  async availableAgents(queueId: string, channel: Channel, limit: number): Promise<AgentAvailability[]> {
    checkId('queueId', queueId);
    checkChannel(channel);
    // ZRANGE 0 -1 would mean "all", so 0 is answered here.
    if (checkLimit(limit) === 0) return [];
    const reply = (await this.#redis.mccsQsAvailable(`${this.#prefix}av:${queueId}:${channel}`, this.#prefix, String(limit))) as Reply[];
    const out: AgentAvailability[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const agent = parseAgent(reply[i] as string, pairs(reply[i + 1]!));
      if (agent) out.push(agent);
    }
    return out;
  }

  async releaseSlot(agentId: string, channel: Channel, now: number): Promise<AgentAvailability | null> {
    checkId('agentId', agentId);
    checkChannel(channel);
    checkTime('now', now);
    const reply = await this.#redis.mccsQsReleaseSlot(this.#key('a', agentId), this.#prefix, agentId, channel, String(now));
    return parseAgent(agentId, pairs(reply));
  }

  async releaseSlotIfNoneWaiting(agentId: string, channel: Channel, now: number, depth: number): Promise<ConditionalRelease> {
    checkId('agentId', agentId);
    checkChannel(channel);
    checkTime('now', now);
    checkLimit(depth);
    const [released, fields] = (await this.#redis.mccsQsReleaseSlotIfNoneWaiting(
      this.#key('a', agentId),
      this.#prefix,
      agentId,
      channel,
      String(now),
      String(depth),
    )) as [number, Reply?];
    if (released !== 1) return { released: false };
    return { released: true, agent: parseAgent(agentId, pairs(fields ?? [])) };
  }

  async holdSlot(agentId: string, channel: Channel): Promise<AgentAvailability | null> {
    checkId('agentId', agentId);
    checkChannel(channel);
    const reply = await this.#redis.mccsQsHoldSlot(this.#key('a', agentId), this.#prefix, agentId, channel);
    return parseAgent(agentId, pairs(reply));
  }

  async removeAgent(agentId: string): Promise<void> {
    checkId('agentId', agentId);
    await this.#redis.mccsQsRemoveAgent(this.#key('a', agentId), this.#key('ar', agentId), this.#prefix, agentId);
  }

  // ---- tasks -------------------------------------------------------------------------------

  /** KEYS t:{id}, q:{queue} and ARGV P, taskId, queueId, channel, priority, enqueuedAt of the enqueue scripts. */
  #enqueueArgs(t: QueuedTask): string[] {
    return [this.#key('t', t.taskId), this.#key('q', t.queueId), this.#prefix, t.taskId, t.queueId, t.channel, String(t.priority), String(t.enqueuedAt)];
  }

  async enqueue(input: QueuedTask): Promise<void> {
    await this.#redis.mccsQsEnqueue(...this.#enqueueArgs(checkTask(input)));
  }

  async enqueueAndReserve(input: QueuedTask, expiresAt: number, opts: ReserveOptions & { limit: number }): Promise<EnqueueAndReserveResult> {
    const t = checkTask(input);
    checkTime('expiresAt', expiresAt);
    if (checkLimit(opts.limit) === 0) throw new RangeError('limit must be at least 1');
    const [code, agentId, reason] = (await this.#redis.mccsQsEnqueueAndReserve(
      ...this.#enqueueArgs(t),
      String(expiresAt),
      opts.chatsDuringCalls === true ? '1' : '0',
      String(opts.limit),
    )) as [number, string?, string?];
    if (code === 0) return { outcome: 'nobody_free' };
    if (code !== 1) return { outcome: 'not_reserved' };
    return {
      outcome: 'reserved',
      reservation: { taskId: t.taskId, agentId: agentId!, channel: t.channel, expiresAt },
      agentReason: reason === '' || reason === undefined ? null : reason,
    };
  }

  async removeTask(taskId: string): Promise<{ removed: boolean; cancelled: Reservation[] }> {
    checkId('taskId', taskId);
    const [removed, cancelled] = (await this.#redis.mccsQsRemoveTask(this.#key('t', taskId), this.#key('tr', taskId), this.#prefix, taskId)) as [number, Reply];
    return { removed: removed === 1, cancelled: this.#parseCancelled(taskId, cancelled) };
  }

  async setPriority(taskId: string, priority: number): Promise<boolean> {
    checkId('taskId', taskId);
    checkPriority(priority);
    return (await this.#redis.mccsQsSetPriority(this.#key('t', taskId), this.#prefix, taskId, String(priority))) === 1;
  }

  async getTask(taskId: string): Promise<QueuedTask | null> {
    checkId('taskId', taskId);
    return parseTask(taskId, Object.entries(await this.#redis.hgetall(this.#key('t', taskId))));
  }

  async waiting(queueId: string, limit: number): Promise<WaitingTask[]> {
    checkId('queueId', queueId);
    if (checkLimit(limit) === 0) return [];
    const reply = (await this.#redis.mccsQsWaiting(this.#key('q', queueId), this.#prefix, String(limit))) as Reply[];
    const out: WaitingTask[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const fields = pairs(reply[i + 1]!);
      const task = parseTask(reply[i] as string, fields);
      // The hash's 'x' field is the reservation mode: present while an offer stands.
      if (task) out.push({ ...task, reserved: fields.some(([f]) => f === 'x') });
    }
    return out;
  }

  async position(taskId: string): Promise<number | null> {
    checkId('taskId', taskId);
    const rank = await this.#redis.mccsQsPosition(this.#key('t', taskId), this.#prefix, taskId);
    return typeof rank === 'number' ? rank : null;
  }

  async waitingCount(queueId: string): Promise<number> {
    checkId('queueId', queueId);
    return this.#redis.zcard(this.#key('q', queueId));
  }

  // ---- offers (reservations) -------------------------------------------------------------------

  async reserve(taskId: string, agentId: string, expiresAt: number, opts: ReserveOptions = {}): Promise<ReserveResult> {
    checkId('taskId', taskId);
    checkId('agentId', agentId);
    checkTime('expiresAt', expiresAt);
    const [ok, detail] = (await this.#redis.mccsQsReserve(
      this.#key('t', taskId),
      this.#key('tr', taskId),
      this.#key('a', agentId),
      this.#key('ar', agentId),
      `${this.#prefix}exp`,
      this.#prefix,
      taskId,
      agentId,
      String(expiresAt),
      opts.shared === true ? '1' : '0',
      opts.chatsDuringCalls === true ? '1' : '0',
    )) as [number, string];
    if (ok !== 1) return { ok: false, reason: detail as Extract<ReserveResult, { ok: false }>['reason'] };
    return { ok: true, reservation: { taskId, agentId, channel: detail as Channel, expiresAt } };
  }

  async accept(taskId: string, agentId: string, now: number): Promise<{ ok: boolean; cancelled: Reservation[] }> {
    checkId('taskId', taskId);
    checkId('agentId', agentId);
    checkTime('now', now);
    const [ok, cancelled] = (await this.#redis.mccsQsAccept(this.#key('t', taskId), this.#key('tr', taskId), this.#prefix, taskId, agentId, String(now))) as [
      number,
      Reply,
    ];
    return { ok: ok === 1, cancelled: this.#parseCancelled(taskId, cancelled) };
  }

  async cancel(taskId: string, agentId: string): Promise<boolean> {
    checkId('taskId', taskId);
    checkId('agentId', agentId);
    return (await this.#redis.mccsQsCancel(this.#key('tr', taskId), this.#prefix, taskId, agentId)) === 1;
  }

  async reservationsOfTask(taskId: string): Promise<Reservation[]> {
    checkId('taskId', taskId);
    const h = await this.#redis.hgetall(this.#key('tr', taskId));
    return Object.entries(h)
      .map(([agentId, v]) => parseReservation(taskId, agentId, v))
      .sort(byTaskThenAgent);
  }

  async reservationsOfAgent(agentId: string): Promise<Reservation[]> {
    checkId('agentId', agentId);
    const h = await this.#redis.hgetall(this.#key('ar', agentId));
    return Object.entries(h)
      .map(([taskId, v]) => parseReservation(taskId, agentId, v))
      .sort(byTaskThenAgent);
  }

  async expired(now: number, limit: number): Promise<Reservation[]> {
    checkTime('now', now);
    if (checkLimit(limit) === 0) return [];
    const reply = ((await this.#redis.mccsQsExpired(`${this.#prefix}exp`, this.#prefix, String(now), String(limit))) ?? []) as string[];
    const out: Reservation[] = [];
    for (let i = 0; i + 2 < reply.length; i += 3) out.push(parseReservation(reply[i]!, reply[i + 1]!, reply[i + 2]!));
    return out;
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  /** Deletes only this store's keys (SCAN + UNLINK); other prefixes on the same Redis are untouched. */
  async clear(): Promise<void> {
    // Escape glob characters so a prefix like "a*" matches only itself.
    const pattern = `${this.#prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length > 0) await this.#redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  }

  async health(): Promise<{ state: 'up' | 'down'; detail?: string }> {
    if (this.#closed) return { state: 'down', detail: 'closed' };
    let timer: NodeJS.Timeout | undefined;
    const ping = this.#redis.ping();
    // The PING may settle after the timeout (or never, if the client gave up); nobody else awaits it.
    ping.catch(() => undefined);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no reply to PING within ${this.#healthTimeoutMs} ms`)), this.#healthTimeoutMs);
    });
    try {
      await Promise.race([ping, timeout]);
      return { state: 'up' };
    } catch (err) {
      return { state: 'down', detail: `redis ${this.#redis.status}: ${(err as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Idempotent. Quits the client only when this store created it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#ownsClient) return;
    if (this.#redis.status === 'end') return;
    try {
      await this.#redis.quit();
    } catch {
      // Not connected (QUIT cannot be sent): drop the connection attempts instead.
      this.#redis.disconnect();
    }
  }

  #parseCancelled(taskId: string, flat: Reply): Reservation[] {
    return pairs(flat)
      .map(([agentId, v]) => parseReservation(taskId, agentId, v))
      .sort(byTaskThenAgent);
  }
}

/** Hides the password of a redis:// URL for messages. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://(invalid url)';
  }
}

/**
 * Connects a client of its own (quit by close()) and waits for the first connection, so a wrong URL
 * stops start-up with a clear message instead of retrying in the background. Once connected, the client
 * reconnects forever (ioredis's default backoff); `onError` hears each connection error.
 */
export async function createRedisQueueStore(
  url: string,
  keyPrefix: string,
  opts: { healthTimeoutMs?: number; onError?: (err: Error) => void } = {},
): Promise<RedisQueueStore> {
  let connected = false;
  let lastError: Error | null = null;
  const redis = new Redis(url, {
    lazyConnect: true,
    // No retry before the first success: connect() then fails once and leaves no timer behind.
    retryStrategy: (times) => (connected ? Math.min(times * 50, 2000) : null),
    // Batches commands issued in the same tick into one write: many routing calls per arrival.
    enableAutoPipelining: true,
    // A script sent just before a disconnect may have run; resending it could take a slot twice, so
    // such a command fails and the caller decides (the sweeper and restart rebuild recover the rest).
    autoResendUnfulfilledCommands: false,
  });
  // Also keeps ioredis from printing "Unhandled error event" during an outage.
  redis.on('error', (err: Error) => {
    lastError = err;
    opts.onError?.(err);
  });
  try {
    await redis.connect();
  } catch (err) {
    const cause = (lastError as Error | null)?.message ?? (err as Error).message;
    throw new Error(`queue store: cannot connect to Redis at ${safeUrl(url)}: ${cause}`);
  }
  connected = true;
  return new RedisQueueStore(redis, { keyPrefix, ownsClient: true, healthTimeoutMs: opts.healthTimeoutMs });
}
