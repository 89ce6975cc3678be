// Queue settings as an admin sets them and a customer and agents feel them: overflow and limits,
// opening hours, skill levels with relaxation, the previous agent first, and ring-all.
import { adminToken, api, createAgent, startTestServer, visitorToken, type TestServer } from '../support/server.js';
import { call, connect, msgId, next, request, type AgentSocket, type CustomerSocket } from '../support/sockets.js';
import type { CustomerChatView, Offer } from '../../protocol/events.js';

let server: TestServer;
let admin: string;
const sockets: Array<{ close(): unknown }> = [];

beforeEach(async () => {
  server = await startTestServer({ MCCS_OFFER_TIMEOUT: '5' });
  admin = await adminToken(server.url);
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await server.close();
});

const patchQueue = (id: string, body: unknown) => api<{ error?: { code: string; message: string } } & Record<string, unknown>>(server.url, 'PATCH', `/api/admin/queues/${id}`, body, admin);

async function customer(name = 'Cy'): Promise<CustomerSocket> {
  const v = await visitorToken(server.url, name);
  const s = await connect<CustomerSocket>(server.url, '/customer', v.token);
  sockets.push(s);
  return s;
}

async function agent(opts: Parameters<typeof createAgent>[2] = {}, ready = true): Promise<{ socket: AgentSocket; id: string }> {
  const a = await createAgent(server.url, admin, opts);
  const socket = await connect<AgentSocket>(server.url, '/agent', a.token);
  sockets.push(socket);
  await next(socket, 'hello');
  if (ready) await call(socket, 'presence:set', { state: 'ready' });
  return { socket, id: a.id };
}

const start = (c: CustomerSocket, queueId: string, text = 'hello') =>
  request<CustomerChatView>(c, 'chat:start', { queueId, text, clientMsgId: msgId() });

test('bad settings are refused with a clear message and change nothing', async () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ strategy: 'fastest' }, /strategy/],
    [{ overflowQueueId: 'nowhere' }, /nowhere/],
    [{ overflowQueueId: 'billing' }, /itself/],
    [{ rule: { attr: 'region', between: [1, 2] } }, /rule/],
    [{ relaxation: [{ afterSeconds: -5 }] }, /relaxation/],
    [{ businessHours: { timeZone: 'Mars/Olympus', week: {} } }, /time zone/],
    [{ businessHours: { timeZone: 'UTC', week: { mon: [['17:00', '09:00']] } } }, /before it starts/],
    [{ closedAction: 'overflow' }, /overflowQueueId/],
    [{ maxWaiting: -1 }, /maxWaiting|minimum|>=/],
  ];
  for (const [body, message] of cases) {
    const res = await patchQueue('billing', body);
    expect(res.status).toBe(400);
    expect(res.body.error!.code).toBe('VALIDATION');
    expect(res.body.error!.message).toMatch(message);
  }
  const queues = (await api<Array<{ id: string; strategy: string; overflowQueueId: string | null; maxWaiting: number | null }>>(server.url, 'GET', '/api/admin/queues', undefined, admin)).body;
  expect(queues.find((q) => q.id === 'billing')).toMatchObject({ strategy: 'longest_idle', overflowQueueId: null, maxWaiting: null });
});

test('a full queue overflows to another, and without overflow says it is full', async () => {
  expect((await patchQueue('billing', { maxWaiting: 1, overflowQueueId: 'general' })).status).toBe(200);
  const first = await start(await customer(), 'billing');
  const second = await start(await customer(), 'billing');
  expect(first.ok && first.data.queueId).toBe('billing');
  expect(second.ok && second.data.queueId).toBe('general');

  expect((await patchQueue('technical', { maxWaiting: 1 })).status).toBe(200);
  expect((await start(await customer(), 'technical')).ok).toBe(true);
  const refused = await start(await customer(), 'technical');
  expect(refused).toMatchObject({ ok: false, error: { code: 'QUEUE_FULL' } });

  // Clearing the limit (null) removes it; it must not be stored as "at most 0 waiting".
  const cleared = await patchQueue('technical', { maxWaiting: null });
  expect(cleared.status).toBe(200);
  expect((cleared.body as { maxWaiting: number | null }).maxWaiting).toBeNull();
  expect((await start(await customer(), 'technical')).ok).toBe(true);
});

test('a closed queue refuses with its opening time, waits, or overflows, as set', async () => {
  // Open only on a date long past: closed now, with no opening ahead.
  const closed = { timeZone: 'Europe/Helsinki', week: {}, closedDates: [] };
  expect((await patchQueue('billing', { businessHours: closed, closedAction: 'refuse' })).status).toBe(200);
  const queues = (await api<Array<{ id: string; open: boolean }>>(server.url, 'GET', '/api/queues')).body;
  expect(queues.find((q) => q.id === 'billing')?.open).toBe(false);
  expect(queues.find((q) => q.id === 'general')?.open).toBe(true);
  const c = await customer();
  expect(await start(c, 'billing')).toMatchObject({ ok: false, error: { code: 'QUEUE_CLOSED' } });

  expect((await patchQueue('billing', { closedAction: 'overflow', overflowQueueId: 'general' })).status).toBe(200);
  const moved = await start(c, 'billing');
  expect(moved.ok && moved.data.queueId).toBe('general');

  expect((await patchQueue('technical', { businessHours: closed, closedAction: 'wait' })).status).toBe(200);
  const waits = await start(c, 'technical');
  expect(waits.ok && waits.data.queueId).toBe('technical');
});

test('a skill level too low is not offered until relaxation lowers it', async () => {
  expect(
    (await patchQueue('technical', { skills: [{ skill: 'network', minLevel: 5 }], relaxation: [{ afterSeconds: 2, lowerSkillLevelBy: 2 }] })).status,
  ).toBe(200);
  const junior = await agent({ skills: [{ skill: 'network', level: 3 }] });
  const offered = next<Offer>(junior.socket, 'offer', undefined, 15_000);
  const t0 = Date.now();
  const view = await start(await customer(), 'technical');
  expect(view.ok).toBe(true);
  const offer = await offered;
  expect(offer.taskId).toBe(view.ok && view.data.taskId);
  // Offered only once the step applied (the task's own time, not a test timing assertion on speed).
  expect(offer.expiresAt - 5_000).toBeGreaterThanOrEqual(t0 + 2_000 - 50);
});

test('a returning customer is offered to their previous agent first', async () => {
  expect((await patchQueue('general', { preferredAgentSeconds: 60 })).status).toBe(200);
  const first = await agent({ displayName: 'First' });
  const v = await visitorToken(server.url, 'Returning');
  const c = await connect<CustomerSocket>(server.url, '/customer', v.token);
  sockets.push(c);
  const o1 = next<Offer>(first.socket, 'offer');
  const chat1 = await call<CustomerChatView>(c, 'chat:start', { queueId: 'general', text: 'first visit', clientMsgId: msgId() });
  await o1;
  await call(first.socket, 'offer:accept', { taskId: chat1.taskId });
  await call(first.socket, 'chat:end', { taskId: chat1.taskId });
  await call(first.socket, 'wrapup:done', { taskId: chat1.taskId });

  // Another agent, idle longer than "First" now is, would win on longest idle.
  const other = await agent({ displayName: 'Other' });
  await call(first.socket, 'presence:set', { state: 'not_ready' });
  await call(first.socket, 'presence:set', { state: 'ready' });
  const toFirst = next<Offer>(first.socket, 'offer');
  const chat2 = await call<CustomerChatView>(c, 'chat:start', { queueId: 'general', text: 'second visit', clientMsgId: msgId() });
  expect((await toFirst).taskId).toBe(chat2.taskId);
  const stray = await request(other.socket, 'offer:accept', { taskId: chat2.taskId });
  expect(stray.ok).toBe(false);
});

test('ring-all offers to several agents; the first to accept wins and the others are withdrawn', async () => {
  expect((await patchQueue('general', { strategy: 'ring_all' })).status).toBe(200);
  const a = await agent();
  const b = await agent();
  const offers = Promise.all([next<Offer>(a.socket, 'offer'), next<Offer>(b.socket, 'offer')] as const);
  const view = await call<CustomerChatView>(await customer(), 'chat:start', { queueId: 'general', text: 'anyone', clientMsgId: msgId() });
  const [oa, ob] = await offers;
  expect(oa.taskId).toBe(view.taskId);
  expect(ob.taskId).toBe(view.taskId);
  const withdrawn = next<{ taskId: string; reason: string }>(b.socket, 'offer:revoked');
  await call(a.socket, 'offer:accept', { taskId: view.taskId });
  expect(await withdrawn).toEqual({ taskId: view.taskId, reason: 'taken' });
  expect(await request(b.socket, 'offer:accept', { taskId: view.taskId })).toMatchObject({ ok: false, error: { code: 'INVALID_STATE' } });
});

test('a supervisor raises a waiting task’s priority: it moves ahead at once and is served first', async () => {
  const supervisorEmail = `sup-${Date.now()}@example.test`;
  await api(server.url, 'POST', '/api/admin/accounts', { email: supervisorEmail, password: 'supervisor-pass-1', displayName: 'Sue', role: 'supervisor' }, admin);
  const sup = (await api<{ token: string }>(server.url, 'POST', '/api/auth/login', { email: supervisorEmail, password: 'supervisor-pass-1' })).body.token;
  const early = await customer('Early');
  const late = await customer('Late');
  const first = await call<CustomerChatView>(early, 'chat:start', { queueId: 'billing', text: 'first', clientMsgId: msgId() });
  const second = await call<CustomerChatView>(late, 'chat:start', { queueId: 'billing', text: 'urgent', clientMsgId: msgId() });
  expect(second.position).toBe(2);

  const movedUp = next<{ taskId: string; position: number }>(late, 'chat:queued', (e) => e.taskId === second.taskId && e.position === 1);
  const movedDown = next<{ taskId: string; position: number }>(early, 'chat:queued', (e) => e.taskId === first.taskId && e.position === 2);
  const res = await api<{ position: number }>(server.url, 'PATCH', `/api/tasks/${second.taskId}/priority`, { priority: 10 }, sup);
  expect(res.status).toBe(200);
  expect(res.body.position).toBe(1);
  await Promise.all([movedUp, movedDown]);
  const waiting = (await api<Array<{ taskId: string }>>(server.url, 'GET', '/api/queues/billing/waiting', undefined, sup)).body;
  expect(waiting.map((t) => t.taskId)).toEqual([second.taskId, first.taskId]);

  const helper = await agent({ chatCapacity: 1 });
  expect((await next<Offer>(helper.socket, 'offer')).taskId).toBe(second.taskId);

  // Agents cannot reorder queues; priorities stay within bounds.
  const agentToken = (await createAgent(server.url, admin)).token;
  expect((await api(server.url, 'PATCH', `/api/tasks/${first.taskId}/priority`, { priority: 5 }, agentToken)).status).toBe(403);
  expect((await api(server.url, 'PATCH', `/api/tasks/${first.taskId}/priority`, { priority: 1000 }, sup)).status).toBe(400);
});

test('an agent whose only work is wrap-up shows as working after call, then ready', async () => {
  const a = await agent({ chatCapacity: 2 });
  const offered = next<Offer>(a.socket, 'offer');
  const view = await call<CustomerChatView>(await customer(), 'chat:start', { queueId: 'general', text: 'hi', clientMsgId: msgId() });
  await offered;
  await call(a.socket, 'offer:accept', { taskId: view.taskId });
  const wrap = next<{ state: string }>(a.socket, 'presence', (s) => s.state === 'wrapup');
  await call(a.socket, 'chat:end', { taskId: view.taskId });
  await wrap;
  const ready = next<{ state: string; activeTasks: number }>(a.socket, 'presence', (s) => s.state === 'ready' && s.activeTasks === 0);
  await call(a.socket, 'wrapup:done', { taskId: view.taskId });
  await ready;
});

test('a waiting customer asks for a callback, keeps the place, and the agent is offered the number', async () => {
  const first = await customer('Caller');
  const second = await customer('Second');
  const view = await call<CustomerChatView>(first, 'chat:start', { queueId: 'billing', text: 'call me', clientMsgId: msgId() });
  await call(second, 'chat:start', { queueId: 'billing', text: 'after', clientMsgId: msgId() });

  expect(await request(first, 'chat:callback', { taskId: view.taskId, phone: '0401234567' })).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  const asked = await call<{ position: number; callbackNumber: string }>(first, 'chat:callback', { taskId: view.taskId, phone: '+358401234567' });
  expect(asked).toMatchObject({ position: 1, callbackNumber: '+358401234567' });
  first.close();

  const a = await agent({ chatCapacity: 1 });
  const offer = await next<Offer>(a.socket, 'offer');
  expect(offer).toMatchObject({ taskId: view.taskId, callbackNumber: '+358401234567' });
  const task = await call<{ callbackNumber: string }>(a.socket, 'offer:accept', { taskId: view.taskId });
  expect(task.callbackNumber).toBe('+358401234567');
});
