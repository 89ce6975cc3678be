// A queue's maximum wait: a customer waiting past it is escalated (served before everyone else) or
// moved to the overflow queue keeping their place, and supervisors following the queue are alerted.
import { adminToken, api, createAgent, startTestServer, visitorToken, type TestServer } from '../support/server.js';
import { call, connect, msgId, next, type AgentSocket, type CustomerSocket } from '../support/sockets.js';
import type { ChatMessage, CustomerChatView, Offer } from '../../protocol/events.js';
import type { Socket } from 'socket.io-client';

let server: TestServer;
let admin: string;
const sockets: Array<{ close(): unknown }> = [];
type Alert = { taskId: string; queueId: string; waitedMs: number; action: string; toQueueId: string | null };

async function waitingCustomer(queueId: string, text: string): Promise<{ socket: CustomerSocket; taskId: string }> {
  const v = await visitorToken(server.url, text);
  const socket = await connect<CustomerSocket>(server.url, '/customer', v.token);
  sockets.push(socket);
  const view = await call<CustomerChatView>(socket, 'chat:start', { queueId, text, clientMsgId: msgId() });
  return { socket, taskId: view.taskId };
}

beforeAll(async () => {
  server = await startTestServer();
  admin = await adminToken(server.url);
});
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});
afterAll(async () => {
  await server?.close();
});

test('a maximum wait is validated', async () => {
  expect((await api(server.url, 'PATCH', '/api/admin/queues/technical', { maxWaitSeconds: 2 }, admin)).status).toBe(400);
  expect((await api(server.url, 'PATCH', '/api/admin/queues/technical', { maxWaitSeconds: 30, maxWaitAction: 'overflow' }, admin)).status).toBe(400);
});

test('past the maximum wait a customer is served first, and supervisors are alerted', async () => {
  expect((await api(server.url, 'PATCH', '/api/admin/queues/technical', { maxWaitSeconds: 5, maxWaitAction: 'escalate' }, admin)).status).toBe(200);
  const sup = await connect<Socket>(server.url, '/supervisor', admin);
  sockets.push(sup);
  await call(sup, 'queues:subscribe', { queueIds: ['technical'] });
  const first = await waitingCustomer('technical', 'I have waited long');
  const alert = await next<Alert>(sup, 'queue:alert', (a) => a.taskId === first.taskId, 10_000);
  expect(alert).toMatchObject({ queueId: 'technical', action: 'escalate', toQueueId: null });
  expect(alert.waitedMs).toBeGreaterThanOrEqual(5_000);
  // A flagged newcomer would get priority 10; the escalated customer (50) stays first in line.
  const second = await waitingCustomer('technical', 'Just arrived');
  const waiting = await api<Array<{ taskId: string; priority: number }>>(server.url, 'GET', '/api/queues/technical/waiting', undefined, admin);
  expect(waiting.body.map((w) => [w.taskId, w.priority])).toEqual([
    [first.taskId, 50],
    [second.taskId, 0],
  ]);
  const a = await createAgent(server.url, admin, { displayName: 'Ed' });
  const agent = await connect<AgentSocket>(server.url, '/agent', a.token);
  sockets.push(agent);
  await next(agent, 'hello');
  const offered = next<Offer>(agent, 'offer');
  await call(agent, 'presence:set', { state: 'ready' });
  expect((await offered).taskId).toBe(first.taskId);
  await call(agent, 'offer:reject', { taskId: first.taskId });
  await call(agent, 'presence:set', { state: 'not_ready' });
  await call(first.socket, 'chat:leave', { taskId: first.taskId });
  await call(second.socket, 'chat:leave', { taskId: second.taskId });
  expect((await api(server.url, 'PATCH', '/api/admin/queues/technical', { maxWaitSeconds: null }, admin)).status).toBe(200);
}, 30_000);

test('with "overflow" the customer moves to the overflow queue, keeps their place, and is told', async () => {
  expect((await api(server.url, 'PATCH', '/api/admin/queues/billing', { maxWaitSeconds: 5, maxWaitAction: 'overflow', overflowQueueId: 'general' }, admin)).status).toBe(200);
  const sup = await connect<Socket>(server.url, '/supervisor', admin);
  sockets.push(sup);
  await call(sup, 'queues:subscribe', {});
  const c = await waitingCustomer('billing', 'About my invoice');
  const alert = await next<Alert>(sup, 'queue:alert', (x) => x.taskId === c.taskId, 10_000);
  expect(alert).toMatchObject({ queueId: 'billing', action: 'overflow', toQueueId: 'general' });
  const moved = await next<ChatMessage>(c.socket, 'chat:message', (m) => m.sender === 'system' && m.body.startsWith('Moved to'));
  expect(moved.body).toContain('General questions');
  const view = await call<CustomerChatView>(c.socket, 'chat:resume', { taskId: c.taskId });
  expect(view).toMatchObject({ queueId: 'general', status: 'queued', position: 1 });
  await call(c.socket, 'chat:leave', { taskId: c.taskId });
}, 30_000);
