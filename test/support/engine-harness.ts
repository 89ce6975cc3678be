// Shared by the routing engine tests: waiting without timing assertions, a seeded sequence, and a
// store wrapper that tells when the engine is idle and can hold a chosen call back.
import { MemoryQueueStore, createRedisQueueStore, type QueueStore } from '../../routing/store/index.js';
import { REDIS_URL, uniquePrefix } from '../contract/redis-support.js';

/** Both queue stores, for describe.each: in-process, and Redis under a fresh key prefix per call. */
export const STORES: Array<[string, () => Promise<QueueStore>]> = [
  ['memory', async () => new MemoryQueueStore()],
  ['redis', () => createRedisQueueStore(REDIS_URL, uniquePrefix())],
];

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `condition` holds; fails with `what` after `timeoutMs` (a bound, not an expectation). */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(5);
  }
}

/** Waits until no engine store call is in flight and none starts within a macrotask turn. */
export async function settled(inflight: () => number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (inflight() === 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (inflight() === 0) return;
    }
    if (Date.now() > deadline) throw new Error('the engine did not settle');
    await sleep(1);
  }
}

/** Numerical Recipes LCG: deterministic, so a failure names a reproducible seed and step. */
export function lcg(seed: number) {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T | undefined => (xs.length ? xs[Math.floor(next() * xs.length)] : undefined),
  };
}

/** Before a store call: a promise to wait for first, or null to go straight on. */
export type DelayRule = (method: string, args: unknown[]) => Promise<void> | null;

/**
 * A store that counts the calls in flight, so a test can wait until the engine has nothing left to do
 * (every engine step awaits the store; between two store calls it only runs microtasks), and that can
 * hold a chosen call back (store latency, to make a race happen on demand).
 */
export function tracked(inner: QueueStore): {
  store: QueueStore;
  inflight: () => number;
  started: () => number;
  delayCalls: (rule: DelayRule | null) => void;
} {
  let inflight = 0;
  let started = 0;
  let delay: DelayRule | null = null;
  const store = new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        inflight++;
        started++;
        const call = () => (value as (...a: unknown[]) => unknown).apply(target, args);
        const held = delay?.(String(prop), args) ?? null;
        let result: unknown;
        try {
          result = held ? held.then(call) : call();
        } catch (err) {
          inflight--;
          throw err;
        }
        return Promise.resolve(result).finally(() => inflight--);
      };
    },
  });
  return { store, inflight: () => inflight, started: () => started, delayCalls: (rule) => void (delay = rule) };
}
