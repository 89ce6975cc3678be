// Queue metrics end to end: chats answered and abandoned show up in the supervisor API, the
// /supervisor stream and /metrics; agents are kept out.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { adminToken, api, createAgent, startTestServer, visitorToken, type TestServer } from '../support/server.js';
import { call, connect, connectError, msgId, next, type AgentSocket, type CustomerSocket } from '../support/sockets.js';
import type { CustomerChatView, Offer, QueueMetricsSnapshot, QueueMetricsView } from '../../protocol/events.js';
import type { Socket } from 'socket.io-client';
import type { WaitingHistoryView } from '../../protocol/http.js';

let server: TestServer;
let admin: string;
let supervisor: string;
let agent: { id: string; token: string; socket: AgentSocket };
const sockets: Array<{ close(): unknown }> = [];

async function customer(name: string): Promise<CustomerSocket> {
  const v = await visitorToken(server.url, name);
  const socket = await connect<CustomerSocket>(server.url, '/customer', v.token);
  sockets.push(socket);
  return socket;
}

const general = (s: QueueMetricsSnapshot) => s.queues.find((q) => q.queueId === 'general');

beforeAll(async () => {
  // Figures are checked over the current 15-minute interval: do not start just before it ends.
  const toBoundary = 15 * 60_000 - (Date.now() % (15 * 60_000));
  if (toBoundary < 20_000) await new Promise((r) => setTimeout(r, toBoundary + 100));
  server = await startTestServer();
  admin = await adminToken(server.url);
  const email = `supervisor-${Date.now()}@example.test`;
  const created = await api(server.url, 'POST', '/api/admin/accounts', { email, password: 'supervisor-pass-1', displayName: 'Sam', role: 'supervisor' }, admin);
  expect(created.status).toBe(201);
  supervisor = (await api<{ token: string }>(server.url, 'POST', '/api/auth/login', { email, password: 'supervisor-pass-1' })).body.token;
  // One chat at a time, so a second customer waits.
  const a = await createAgent(server.url, admin, { chatCapacity: 1 });
  const socket = await connect<AgentSocket>(server.url, '/agent', a.token);
  sockets.push(socket);
  await next(socket, 'hello');
  await call(socket, 'presence:set', { state: 'ready' });
  agent = { ...a, socket };
}, 60_000);
afterAll(async () => {
  for (const s of sockets.splice(0)) s.close();
  await server.close();
});

test('a chat answered and one abandoned show up in the figures, live on /supervisor and in the API', async () => {
  const stream = await connect<Socket>(server.url, '/supervisor', supervisor);
  sockets.push(stream);
  const first = await next<QueueMetricsSnapshot>(stream, 'queues:metrics');
  expect(general(first)).toMatchObject({ live: { waiting: 0 }, interval: { answered: 0 } });

  // The first chat is offered to the agent and answered.
  const c1 = await customer('First');
  const offered = next<Offer>(agent.socket, 'offer');
  const chat1 = await call<CustomerChatView>(c1, 'chat:start', { queueId: 'general', text: 'hello', clientMsgId: msgId() });
  await offered;
  await new Promise((r) => setTimeout(r, 20)); // a measurable wait
  await call(agent.socket, 'offer:accept', { taskId: chat1.taskId });

  // The agent is full: the second waits, which the stream shows soon after.
  const c2 = await customer('Second');
  const chat2 = await call<CustomerChatView>(c2, 'chat:start', { queueId: 'general', text: 'anyone?', clientMsgId: msgId() });
  expect(chat2.status).toBe('queued');
  const waiting = await next<QueueMetricsSnapshot>(stream, 'queues:metrics', (s) => general(s)?.live.waiting === 1, 5_000);
  expect(general(waiting)!.live.longestWaitMs).toBeGreaterThanOrEqual(0);

  const live = await api<QueueMetricsView>(server.url, 'GET', '/api/supervisor/queues/general/metrics', undefined, supervisor);
  expect(live.status).toBe(200);
  expect(live.body.live).toMatchObject({ waiting: 1, servingAgents: 1 });

  // The second customer gives up; the first chat ends and is wrapped up.
  await call(c2, 'chat:leave', { taskId: chat2.taskId });
  await call(agent.socket, 'chat:end', { taskId: chat1.taskId });
  await call(agent.socket, 'wrapup:done', { taskId: chat1.taskId });

  // A wallboard opened now sees that one contact waited a moment ago.
  const history = await api<WaitingHistoryView>(server.url, 'GET', '/api/supervisor/queues/waiting-history', undefined, supervisor);
  expect(history.status).toBe(200);
  expect(history.body).toMatchObject({ bucketMs: 15_000, windowMs: 1_800_000 });
  const generalHistory = history.body.queues.general!;
  expect(Math.max(...generalHistory.map((s) => s.waiting))).toBe(1);
  expect(generalHistory.at(-1)!.waiting).toBeLessThanOrEqual(1);
  for (const sample of generalHistory) expect(sample.at).toBeGreaterThanOrEqual(history.body.at - history.body.windowMs);

  const all = await api<QueueMetricsSnapshot>(server.url, 'GET', '/api/supervisor/queues/metrics', undefined, admin);
  expect(all.status).toBe(200);
  expect(all.body.queues.map((q) => q.queueId)).toEqual(expect.arrayContaining(['general', 'billing', 'technical']));
  const g = general(all.body)!;
  expect(g.live).toMatchObject({ waiting: 0, longestWaitMs: 0 });
  expect(g.interval).toMatchObject({
    entered: 2,
    left: 2,
    answered: 1,
    abandoned: 1,
    abandonRate: 0.5,
    serviceLevel: 1, // both left within 20 s
    handled: 1,
    offered: 1,
    offersAnswered: 1,
    answerRate: 1,
  });
  expect(g.interval.asaMs).toBeGreaterThan(0);
  expect(g.interval.ahtMs).toBeGreaterThan(0);
  expect(g.interval.occupancy).toBeGreaterThan(0);
  expect(g.interval.agents[agent.id]).toMatchObject({ offered: 1, answered: 1, missed: 0 });

  // The stream follows only the queues asked for.
  const only = await call<QueueMetricsSnapshot>(stream, 'queues:subscribe', { queueIds: ['billing'] });
  expect(only.queues.map((q) => q.queueId)).toEqual(['billing']);
  const bad = await new Promise<{ ok: boolean; error?: { code: string } }>((resolve) => stream.emit('queues:subscribe', { queueIds: 'billing' }, resolve));
  expect(bad).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
});

test('an interval can be asked for; bad ranges and unknown queues are refused', async () => {
  const now = Date.now();
  const day = await api<QueueMetricsView>(server.url, 'GET', `/api/supervisor/queues/general/metrics?from=${now - 3_600_000}&to=${now}`, undefined, supervisor);
  expect(day.status).toBe(200);
  expect(day.body.interval.from).toBeLessThanOrEqual(now - 3_600_000);
  expect(day.body.interval.to).toBeGreaterThanOrEqual(now);

  for (const query of [`from=${now}&to=${now - 1000}`, `from=${now + 3_600_000}`, `from=${now - 3 * 86_400_000}&to=${now}`, 'from=abc', 'since=1']) {
    const res = await api<{ error: { code: string } }>(server.url, 'GET', `/api/supervisor/queues/general/metrics?${query}`, undefined, supervisor);
    expect([query, res.status, res.body.error.code]).toEqual([query, 400, 'VALIDATION']);
  }
  const missing = await api<{ error: { code: string } }>(server.url, 'GET', '/api/supervisor/queues/nope/metrics', undefined, supervisor);
  expect(missing.status).toBe(404);
});

test('agents get 403 and cannot open the /supervisor stream; the routes are in the OpenAPI document', async () => {
  for (const route of ['/api/supervisor/queues/metrics', '/api/supervisor/queues/general/metrics', '/api/supervisor/queues/waiting-history']) {
    expect((await api(server.url, 'GET', route, undefined, agent.token)).status).toBe(403);
    expect((await api(server.url, 'GET', route)).status).toBe(401);
  }
  expect((await connectError(server.url, '/supervisor', agent.token)).message).toBe('FORBIDDEN');
  const visitor = await visitorToken(server.url);
  expect((await connectError(server.url, '/supervisor', visitor.token)).message).toBe('FORBIDDEN');
  expect((await connectError(server.url, '/supervisor', 'not-a-token')).message).toBe('UNAUTHENTICATED');

  const adminStream = await connect<Socket>(server.url, '/supervisor', admin);
  sockets.push(adminStream);
  expect(general(await next<QueueMetricsSnapshot>(adminStream, 'queues:metrics'))).toBeDefined();

  const doc = await api<{ paths: Record<string, unknown> }>(server.url, 'GET', '/openapi.json');
  expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/supervisor/queues/metrics', '/api/supervisor/queues/{id}/metrics']));
});

test('/metrics has the queue gauges', async () => {
  const res = await fetch(server.url + '/metrics');
  const text = await res.text();
  expect(text).toMatch(/^mccs_queue_waiting\{queue="general"\} 0$/m);
  expect(text).toMatch(/^mccs_queue_abandon_ratio\{queue="general"\} 0\.5$/m);
  expect(text).toMatch(/^mccs_queue_service_level_ratio\{queue="general"\} 1$/m);
  for (const name of ['mccs_queue_longest_wait_seconds', 'mccs_queue_asa_seconds', 'mccs_queue_aht_seconds', 'mccs_queue_occupancy_ratio']) {
    expect(text).toContain(`${name}{queue="general"}`);
  }
});
