// The queue store contract on Redis (MCCS_TEST_REDIS_URL, default 127.0.0.1:6379). Each test gets its own
// connection and key prefix, and clears its keys afterwards.
import { createRedisQueueStore, type RedisQueueStore } from '../../routing/store/index.js';
import { queueStoreContract } from './queue-store.contract.js';
import { REDIS_URL, uniquePrefix } from './redis-support.js';

queueStoreContract(
  'redis',
  () => createRedisQueueStore(REDIS_URL, uniquePrefix()),
  async (store) => {
    await (store as RedisQueueStore).clear();
    await store.close();
  },
);
