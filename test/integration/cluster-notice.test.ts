// Cluster notices on a real Redis: a node hears the others' notices, not its own; a message that is
// not a well-formed notice is dropped; a node whose connection was cut hears a notice once it is
// back (it may have missed one while away). Each test uses a channel of its own.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { ClusterNotice } from '../../lib/cluster-notice.js';
import { until } from '../support/media-bed.js';

const REDIS_URL = process.env.MCCS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const open: ClusterNotice[] = [];
let redis: Redis;

async function start(channel: string): Promise<{ notice: ClusterNotice; heard: () => number }> {
  const notice = await ClusterNotice.start(REDIS_URL, channel);
  open.push(notice);
  let count = 0;
  notice.on('notice', () => count++);
  return { notice, heard: () => count };
}

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  await Promise.all(open.map((n) => n.close()));
  await redis.quit();
});

test("a node hears the other's notices, not its own, and drops malformed messages", async () => {
  const channel = `mccs-test:${randomBytes(4).toString('hex')}:notice`;
  const a = await start(channel);
  const b = await start(channel);
  // Raw messages first: none of them is a notice; the one after them is.
  await redis.publish(channel, 'not json');
  await redis.publish(channel, JSON.stringify({ n: 'abcd', trunks: [{ id: 'evil' }] }));
  await redis.publish(channel, JSON.stringify({ n: 'abcd' }));
  await until('both to hear the well-formed notice', () => a.heard() === 1 && b.heard() === 1);

  a.notice.announce();
  await until('b to hear a', () => b.heard() === 2);
  b.notice.announce();
  await until('a to hear b', () => a.heard() === 2);
  // Pub/sub keeps order per connection: a notice sent after both announcements arrives after them,
  // so once it is heard, any echo of a node's own notice would have been heard too.
  await redis.publish(channel, JSON.stringify({ n: 'ef01' }));
  await until('the last notice', () => a.heard() === 3 && b.heard() === 3);
});

test('a node whose connection was cut hears a notice when it is back', async () => {
  const channel = `mccs-test:${randomBytes(4).toString('hex')}:notice`;
  const a = await start(channel);
  const clients = String(await redis.client('LIST')).split('\n');
  const ours = clients.filter((line) => line.includes(` name=mccs-notice-${a.notice.nodeId} `)).map((line) => /\bid=(\d+)/.exec(line)![1]!);
  expect(ours).toHaveLength(2);
  for (const id of ours) await redis.client('KILL', 'ID', id);
  await until('a notice after the reconnect', () => a.heard() >= 1);
  // And it is subscribed again: another node's notice reaches it.
  const before = a.heard();
  const b = await start(channel);
  b.notice.announce();
  await until('the notice after the reconnect', () => a.heard() > before);
});
