// The queue store seam: callers get a QueueStore from the config and never know which one it is.
import type { Config } from '../../lib/config.js';
import { MemoryQueueStore } from './memory-store.js';
import type { QueueStore } from './queue-store.js';
import { createRedisQueueStore } from './redis-store.js';

export * from './queue-store.js';
export { MemoryQueueStore } from './memory-store.js';
export { RedisQueueStore, createRedisQueueStore, type RedisQueueStoreOptions } from './redis-store.js';
export { MAX_PRIORITY, MAX_ENQUEUED_AT } from './validate.js';

/** Builds the configured store; for Redis, resolves once connected (rejects when Redis is unreachable). */
export async function createQueueStore(config: Config['queueStore']): Promise<QueueStore> {
  switch (config.kind) {
    case 'memory':
      return new MemoryQueueStore();
    case 'redis':
      return createRedisQueueStore(config.url, config.keyPrefix);
  }
}
