// After a restart, on either queue store, waiting chats are back in their queues at their places,
// messages are all there, and the queue is served in the original order.
import { Redis } from 'ioredis';
import { REDIS_URL, uniquePrefix } from '../contract/redis-support.js';
import { adminToken, createAgent, startTestServer, visitorToken, type TestServer } from '../support/server.js';
import { call, connect, msgId, next, type AgentSocket, type CustomerSocket } from '../support/sockets.js';
import type { CustomerChatView, Offer } from '../../protocol/events.js';

const stores: Array<{ name: string; env: () => Record<string, string> }> = [
  { name: 'memory', env: () => ({}) },
  { name: 'redis', env: () => ({ MCCS_REDIS_URL: REDIS_URL, MCCS_REDIS_PREFIX: uniquePrefix() }) },
];

describe.each(stores)('restart with the $name store', ({ env }) => {
  let server: TestServer;
  let prefix: string | undefined;
  const sockets: Array<{ close(): unknown }> = [];

  beforeEach(async () => {
    const e = env();
    prefix = e.MCCS_REDIS_PREFIX;
    server = await startTestServer(e);
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    await server.close();
    if (prefix) {
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  });

  test('waiting chats keep their places and their messages', async () => {
    const people = await Promise.all(['A', 'B', 'C'].map((n) => visitorToken(server.url, n)));
    const tasks: string[] = [];
    for (const [i, p] of people.entries()) {
      const s = await connect<CustomerSocket>(server.url, '/customer', p.token);
      sockets.push(s);
      const view = await call<CustomerChatView>(s, 'chat:start', { queueId: 'technical', text: `customer ${i}`, clientMsgId: msgId() });
      await call(s, 'chat:send', { taskId: view.taskId, text: `more from ${i}`, clientMsgId: msgId() });
      tasks.push(view.taskId);
    }
    for (const s of sockets.splice(0)) s.close();

    await server.restart();

    for (const [i, p] of people.entries()) {
      const s = await connect<CustomerSocket>(server.url, '/customer', p.token);
      sockets.push(s);
      const view = await call<CustomerChatView>(s, 'chat:resume', { taskId: tasks[i]! });
      expect(view.position).toBe(i + 1);
      expect(view.messages.map((m) => m.body)).toEqual([`customer ${i}`, `more from ${i}`]);
    }
    const admin = await adminToken(server.url);
    const a = await createAgent(server.url, admin, { chatCapacity: 1 });
    const agent = await connect<AgentSocket>(server.url, '/agent', a.token);
    sockets.push(agent);
    await next(agent, 'hello');
    await call(agent, 'presence:set', { state: 'ready' });
    expect((await next<Offer>(agent, 'offer')).taskId).toBe(tasks[0]);
  });
});
