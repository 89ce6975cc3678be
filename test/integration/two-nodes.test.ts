// Two server processes share PostgreSQL and Redis: a customer connected to node A is served by an
// agent connected to node B, the chat flows across, and both nodes' queue metrics count it. Needs the build (`npm run build`).
import { randomBytes } from 'node:crypto';
import { startNode, stopNode, type NodeProcess } from '../support/node-process.js';
import { createTempDatabase, type TempDatabase } from '../support/postgres.js';
import { ADMIN_FIRST_PASSWORD, TOKEN_SECRET, adminToken, createAgent, visitorToken } from '../support/server.js';
import { call, connect, msgId, next, type AgentSocket, type CustomerSocket } from '../support/sockets.js';
import type { ChatMessage, CustomerChatView, Offer } from '../../protocol/events.js';
import type { QueueMetricsView } from '../../protocol/http.js';

const REDIS_URL = process.env.MCCS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let db: TempDatabase;
let a: NodeProcess;
let b: NodeProcess;
const sockets: Array<{ close(): unknown }> = [];

beforeAll(async () => {
  db = await createTempDatabase();
  const shared = {
    MCCS_DATABASE_URL: db.url,
    MCCS_REDIS_URL: REDIS_URL,
    MCCS_REDIS_PREFIX: `mccs-test:${randomBytes(4).toString('hex')}:`,
    MCCS_TOKEN_SECRET: TOKEN_SECRET,
    MCCS_ADMIN_INITIAL_PASSWORD: ADMIN_FIRST_PASSWORD,
    MCCS_JANUS: 'off',
    MCCS_WEB_ROOT: '',
    MCCS_LOG_LEVEL: 'warn',
  };
  // Started together on purpose: migrations and first-start seeding must not trip over each other.
  [a, b] = await Promise.all([startNode(shared), startNode(shared)]);
});

afterAll(async () => {
  for (const s of sockets.splice(0)) s.close();
  await Promise.all([a, b].filter(Boolean).map((n) => stopNode(n)));
  await db?.drop();
});

test('a customer on node A chats with an agent on node B', async () => {
  const admin = await adminToken(a.url);
  const agentAccount = await createAgent(a.url, admin, { displayName: 'Bea on B' });
  const agent = await connect<AgentSocket>(b.url, '/agent', agentAccount.token);
  sockets.push(agent);
  await next(agent, 'hello');
  await call(agent, 'presence:set', { state: 'ready' });

  const visitor = await visitorToken(a.url, 'Ann on A');
  const customer = await connect<CustomerSocket>(a.url, '/customer', visitor.token);
  sockets.push(customer);
  const view = await call<CustomerChatView>(customer, 'chat:start', { queueId: 'general', text: 'Hello from node A', clientMsgId: msgId() });

  const offer = await next<Offer>(agent, 'offer');
  expect(offer).toMatchObject({ taskId: view.taskId, firstMessage: 'Hello from node A', customerName: 'Ann on A' });

  const assigned = next<{ agentName: string }>(customer, 'chat:assigned');
  await call(agent, 'offer:accept', { taskId: view.taskId });
  expect((await assigned).agentName).toBe('Bea on B');

  const atAgent = next<ChatMessage>(agent, 'chat:message', (m) => m.sender === 'customer');
  await call(customer, 'chat:send', { taskId: view.taskId, text: 'crossing nodes', clientMsgId: msgId() });
  expect((await atAgent).body).toBe('crossing nodes');

  const atCustomer = next<ChatMessage>(customer, 'chat:message', (m) => m.sender === 'agent');
  await call(agent, 'chat:send', { taskId: view.taskId, text: 'received on B', clientMsgId: msgId() });
  expect((await atCustomer).body).toBe('received on B');

  const ended = next(customer, 'chat:ended');
  await call(agent, 'chat:end', { taskId: view.taskId });
  await ended;

  // Queued on A, offered by A's engine, answered on B: both nodes' supervisors see the same figures.
  for (const node of [a, b]) {
    const metrics = await waitForMetrics(node.url, admin, 'general', (m) => m.interval.answered === 1);
    expect(metrics.interval).toMatchObject({ entered: 1, answered: 1, abandoned: 0, offered: 1, offersAnswered: 1 });
    expect(metrics.live.waiting).toBe(0);
  }
});

/** The queue's metrics once `ok` holds (events from the other node arrive over Redis), or the last read. */
async function waitForMetrics(url: string, token: string, queueId: string, ok: (m: QueueMetricsView) => boolean): Promise<QueueMetricsView> {
  let last: QueueMetricsView | null = null;
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${url}/api/supervisor/queues/${queueId}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    last = (await res.json()) as QueueMetricsView;
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last!;
}

test('the two nodes never offer one task to two agents', async () => {
  const admin = await adminToken(a.url);
  const agents: AgentSocket[] = [];
  for (const node of [a, b]) {
    const acc = await createAgent(node.url, admin, { chatCapacity: 1 });
    const s = await connect<AgentSocket>(node.url, '/agent', acc.token);
    sockets.push(s);
    await next(s, 'hello');
    agents.push(s);
  }
  const offers: Offer[] = [];
  for (const s of agents) s.on('offer', (o) => offers.push(o));
  // Both become ready while tasks arrive on both nodes at once.
  const customers = await Promise.all(
    [a, b, a, b].map(async (node) => {
      const v = await visitorToken(node.url);
      const c = await connect<CustomerSocket>(node.url, '/customer', v.token);
      sockets.push(c);
      return c;
    }),
  );
  await Promise.all([
    ...agents.map((s) => call(s, 'presence:set', { state: 'ready' })),
    ...customers.map((c, i) => call(c, 'chat:start', { queueId: 'billing', text: `race ${i}`, clientMsgId: msgId() })),
  ]);
  for (let i = 0; i < 100 && offers.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  // A third offer, if the nodes could double-book, would follow within a few milliseconds.
  await new Promise((r) => setTimeout(r, 500));
  // Each agent has capacity 1: exactly two distinct tasks offered, one to each.
  expect(offers).toHaveLength(2);
  expect(new Set(offers.map((o) => o.taskId)).size).toBe(2);
});
