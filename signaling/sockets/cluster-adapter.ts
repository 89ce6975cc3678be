// Several signalling nodes behind one address: the socket.io Redis adapter relays room broadcasts
// (an offer for an agent connected to another node, a message for a customer over there) through
// Redis pub/sub. Used whenever the queue store is on Redis; the embedded mode needs none of it.
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';

export interface ClusterAdapter {
  adapter: ReturnType<typeof createAdapter>;
  close(): Promise<void>;
}

export async function createClusterAdapter(url: string, keyPrefix: string): Promise<ClusterAdapter> {
  const pub = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  return {
    adapter: createAdapter(pub, sub, { key: `${keyPrefix}socket.io` }),
    async close() {
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
