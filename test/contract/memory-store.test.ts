// The queue store contract on the in-process store.
import { MemoryQueueStore } from '../../routing/store/index.js';
import { queueStoreContract } from './queue-store.contract.js';

queueStoreContract(
  'memory',
  async () => new MemoryQueueStore(),
  (store) => store.close(),
);
