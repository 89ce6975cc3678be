// Redis-only behaviour: several nodes sharing one Redis, key hygiene, ownership of the client, and
// health when Redis is away.
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { CHANNELS, createQueueStore, MemoryQueueStore, RedisQueueStore, type Channel, type QueueStore } from '../../routing/store/index.js';
import { REDIS_URL, uniquePrefix } from './redis-support.js';

const T0 = 1_700_000_000_000;
const LATER = T0 + 60_000;

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A small seeded PRNG (mulberry32), so a failing sequence can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every key of the whole Redis matching a glob (SCAN, so nothing blocks). */
async function scanAll(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

describe('RedisQueueStore specifics', () => {
  const clients: Redis[] = [];
  const stores: QueueStore[] = [];

  function client(): Redis {
    const redis = new Redis(REDIS_URL);
    clients.push(redis);
    return redis;
  }

  /** A "node": its own connection, the shared prefix. */
  function node(prefix: string): RedisQueueStore {
    const store = new RedisQueueStore(client(), { keyPrefix: prefix });
    stores.push(store);
    return store;
  }

  afterEach(async () => {
    for (const store of stores.splice(0)) {
      await store.clear().catch(() => undefined);
      await store.close();
    }
    for (const redis of clients.splice(0)) {
      if (redis.status === 'end') continue;
      await redis.quit().catch(() => redis.disconnect());
    }
  });

  it('two nodes racing for one task: exactly one reservation is made', async () => {
    const prefix = uniquePrefix();
    const [a, b] = [node(prefix), node(prefix)];
    const agents = Array.from({ length: 40 }, (_, i) => `agent-${i}`);
    for (const agentId of agents) {
      await a.putAgent({ agentId, presence: 'ready', reason: null, capacity: { chat: 1 }, idleSince: T0, queues: ['q'] });
    }
    for (let round = 0; round < 5; round++) {
      const taskId = `task-${round}`;
      await b.enqueue({ taskId, queueId: 'q', channel: 'chat', priority: 0, enqueuedAt: T0 + round });
      const results = await Promise.all(agents.map((agentId, i) => (i % 2 ? a : b).reserve(taskId, agentId, LATER)));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      // Both nodes see the same single offer.
      expect(await a.reservationsOfTask(taskId)).toEqual(await b.reservationsOfTask(taskId));
      expect(await a.reservationsOfTask(taskId)).toHaveLength(1);
    }
  });

  it('two nodes filling one agent: never beyond its capacity', async () => {
    const prefix = uniquePrefix();
    const [a, b] = [node(prefix), node(prefix)];
    await a.putAgent({ agentId: 'agent', presence: 'ready', reason: null, capacity: { chat: 3 }, idleSince: T0, queues: ['q'] });
    const tasks = Array.from({ length: 30 }, (_, i) => `task-${i}`);
    for (const taskId of tasks) await a.enqueue({ taskId, queueId: 'q', channel: 'chat', priority: 0, enqueuedAt: T0 });
    const results = await Promise.all(tasks.map((taskId, i) => (i % 2 ? a : b).reserve(taskId, 'agent', LATER)));
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect((await b.getAgent('agent'))!.load).toEqual({ chat: 3 });
  });

  it('keeps every key under its prefix, and clear() removes exactly those', async () => {
    const token = randomBytes(6).toString('hex');
    const prefix = `mccs-test:${token}:`;
    const neighbour = node(`mccs-test:${token}-other:`);
    const store = node(prefix);
    // Ids carry the token too, so a key written without the prefix would still be found below.
    const id = (s: string): string => `${s}-${token}`;
    await neighbour.putAgent({ agentId: id('n'), presence: 'ready', reason: null, capacity: { chat: 1 }, idleSince: T0, queues: [id('q')] });
    for (let i = 0; i < 3; i++) {
      await store.putAgent({ agentId: id(`a${i}`), presence: 'ready', reason: null, capacity: { chat: 1, call: 1 }, idleSince: T0 + i, queues: [id('q'), id('r')] });
      await store.enqueue({ taskId: id(`t${i}`), queueId: id('q'), channel: 'chat', priority: i, enqueuedAt: T0 });
    }
    await store.reserve(id('t0'), id('a0'), LATER, { shared: true });
    await store.reserve(id('t0'), id('a1'), LATER, { shared: true });
    await store.reserve(id('t1'), id('a2'), LATER);
    await store.accept(id('t1'), id('a2'), T0);
    await store.setPriority(id('t2'), 9);

    const redis = client();
    const mine = await scanAll(redis, `*${token}*`);
    expect(mine.length).toBeGreaterThan(5);
    for (const key of mine) expect(key.startsWith(prefix) || key.startsWith(`mccs-test:${token}-other:`)).toBe(true);
    expect(await redis.exists('exp', 'a:a0', 'q:q')).toBe(0);

    await store.clear();
    expect(await scanAll(redis, `${prefix}*`)).toEqual([]);
    expect(await neighbour.getAgent(id('n'))).not.toBeNull();
  });

  it('close() leaves a client it was given open, and quits one it created', async () => {
    const given = client();
    const store = new RedisQueueStore(given, { keyPrefix: uniquePrefix() });
    await store.close();
    await store.close();
    expect(await given.ping()).toBe('PONG');
    expect(await store.health()).toEqual({ state: 'down', detail: 'closed' });

    const owned = await createQueueStore({ kind: 'redis', url: REDIS_URL, keyPrefix: uniquePrefix() });
    expect(owned.kind).toBe('redis');
    expect(await owned.health()).toEqual({ state: 'up' });
    await owned.close();
    expect(await owned.health()).toMatchObject({ state: 'down' });
  });

  it('refuses a client with its own keyPrefix, so Lua keys stay explicit', () => {
    const redis = new Redis(REDIS_URL, { keyPrefix: 'x:', lazyConnect: true });
    clients.push(redis);
    expect(() => new RedisQueueStore(redis, { keyPrefix: 'y:' })).toThrow(TypeError);
  });

  it('reports down when Redis is unreachable', async () => {
    const port = await closedPort();
    const redis = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      connectTimeout: 200,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    clients.push(redis);
    const store = new RedisQueueStore(redis, { keyPrefix: uniquePrefix(), healthTimeoutMs: 500 });
    stores.push(store);
    const health = await store.health();
    expect(health.state).toBe('down');
    expect(health.detail).toEqual(expect.any(String));
    await expect(store.getAgent('a')).rejects.toThrow();
  });

  it('createQueueStore rejects when Redis cannot be reached, without leaving a connection behind', async () => {
    const port = await closedPort();
    await expect(createQueueStore({ kind: 'redis', url: `redis://:secret@127.0.0.1:${port}`, keyPrefix: 'x:' })).rejects.toThrow(
      /cannot connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+.*ECONNREFUSED/,
    );
  });

  it('behaves exactly like the memory store over a long random sequence of operations', async () => {
    const redis = node(uniquePrefix());
    const memory = new MemoryQueueStore();
    const seed = 20240611;
    const rnd = random(seed);
    const pick = <T,>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
    const agentIds = Array.from({ length: 12 }, (_, i) => `a${i}`);
    const taskIds = Array.from({ length: 25 }, (_, i) => `t${i}`);
    const queues = ['q1', 'q2', 'q3'];
    const channels: Channel[] = ['chat', 'call', 'video'];
    let now = T0;

    const ops: Array<() => [string, (s: QueueStore) => Promise<unknown>]> = [
      () => {
        const agent = {
          agentId: pick(agentIds),
          presence: pick(['ready', 'ready', 'not_ready', 'logged_off'] as const),
          reason: rnd() < 0.5 ? null : 'r',
          capacity: { chat: Math.floor(rnd() * 3), call: Math.floor(rnd() * 2), ...(rnd() < 0.3 ? { video: 1 } : {}) },
          idleSince: T0 + Math.floor(rnd() * 20),
          queues: queues.filter(() => rnd() < 0.6),
        };
        return [`putAgent ${JSON.stringify(agent)}`, (s) => s.putAgent(agent)];
      },
      () => {
        const [id, p, t] = [pick(agentIds), pick(['ready', 'not_ready', 'logged_off'] as const), now];
        return [`setPresence ${id} ${p}`, (s) => s.setPresence(id, p, null, t)];
      },
      () => {
        const [id, ch] = [pick(agentIds), pick(channels)];
        return [`holdSlot ${id} ${ch}`, (s) => s.holdSlot(id, ch)];
      },
      () => {
        const [id, ch, t] = [pick(agentIds), pick(channels), now];
        return [`releaseSlot ${id} ${ch}`, (s) => s.releaseSlot(id, ch, t)];
      },
      () => {
        const id = pick(agentIds);
        return [`removeAgent ${id}`, (s) => s.removeAgent(id)];
      },
      () => {
        const task = { taskId: pick(taskIds), queueId: pick(queues), channel: pick(channels), priority: Math.floor(rnd() * 5) - 2, enqueuedAt: T0 + Math.floor(rnd() * 10) };
        return [`enqueue ${JSON.stringify(task)}`, (s) => s.enqueue(task)];
      },
      () => {
        const id = pick(taskIds);
        return [`removeTask ${id}`, (s) => s.removeTask(id)];
      },
      () => {
        const [id, p] = [pick(taskIds), Math.floor(rnd() * 7) - 3];
        return [`setPriority ${id} ${p}`, (s) => s.setPriority(id, p)];
      },
      () => {
        const [t, a, e, shared] = [pick(taskIds), pick(agentIds), now + Math.floor(rnd() * 50), rnd() < 0.4];
        return [`reserve ${t} ${a} ${e} ${shared}`, (s) => s.reserve(t, a, e, { shared })];
      },
      () => {
        const [t, a, n] = [pick(taskIds), pick(agentIds), now];
        return [`accept ${t} ${a}`, (s) => s.accept(t, a, n)];
      },
      () => {
        const [t, a] = [pick(taskIds), pick(agentIds)];
        return [`cancel ${t} ${a}`, (s) => s.cancel(t, a)];
      },
    ];

    async function snapshot(s: QueueStore): Promise<unknown> {
      const out: Record<string, unknown> = {};
      for (const q of queues) {
        out[`waiting ${q}`] = await s.waiting(q, 100);
        out[`count ${q}`] = await s.waitingCount(q);
        for (const ch of CHANNELS) out[`available ${q} ${ch}`] = await s.availableAgents(q, ch, 100);
      }
      for (const a of agentIds) out[`agent ${a}`] = [await s.getAgent(a), await s.reservationsOfAgent(a)];
      for (const t of taskIds) out[`task ${t}`] = [await s.getTask(t), await s.position(t), await s.reservationsOfTask(t)];
      out.expired = await s.expired(now, 1000);
      return out;
    }

    const log: string[] = [];
    for (let step = 0; step < 1500; step++) {
      now += Math.floor(rnd() * 5);
      const [label, run] = pick(ops)();
      log.push(label);
      const [m, r] = [await run(memory), await run(redis)];
      // The recent steps ride along, so a failure shows how the stores got there.
      expect({ seed, step, recent: log.slice(-8), result: r }).toEqual({ seed, step, recent: log.slice(-8), result: m });
      if (step % 100 === 99) expect(await snapshot(redis)).toEqual(await snapshot(memory));
    }
    expect(await snapshot(redis)).toEqual(await snapshot(memory));
  });
});
