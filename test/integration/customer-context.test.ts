// Customer context through the API: the offer says who the customer is to us (the previous agent as
// the queue allows); the authorisation
// matrix (customer, assigned agent, other agent, supervisor, admin) over every context route and the
// rating event and the customer's own email and history routes; masking and shared history as the queue allows; notes, tags and the flag (flagged
// customers first); ratings feed the agent's rating; export, erasure (financial records kept) and
// merge, each in the access log; transcript retention.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { adminToken, api, createAgent, startTestServer, type TestServer } from '../support/server.js';
import { call, connect, msgId, next, request, type AgentSocket } from '../support/sockets.js';
import { chatParties } from '../support/chat-parties.js';
import type { CustomerChatView, Offer } from '../../protocol/events.js';
import type { CustomerContextView } from '../../protocol/context.js';
import { openDatabase } from '../../db/data-source.js';
import { CustomerEntity, MessageEntity, TaskEntity } from '../../db/entities.js';
import { CustomerContext } from '../../context/customer-context.js';
import { CustomerDirectory } from '../../chat/customer-directory.js';
import { CustomerIdentityEntity } from '../../db/context-entities.js';
import { createLogger } from '../../lib/logger.js';
import { loadConfig } from '../../lib/config.js';

let server: TestServer;
let admin: string;
let supervisor: string;
const { sockets, readyAgent, customer, served, closeAll } = chatParties(() => ({ url: server.url, admin }));

beforeAll(async () => {
  server = await startTestServer();
  admin = await adminToken(server.url);
  const sup = await api<{ id: string }>(server.url, 'POST', '/api/admin/accounts', { email: `sup-${Date.now()}@example.test`, password: 'supervisor-pass-1', displayName: 'Sue', role: 'supervisor' }, admin);
  expect(sup.status).toBe(201);
  supervisor = (await api<{ token: string }>(server.url, 'POST', '/api/auth/login', { email: (sup.body as unknown as { email: string }).email, password: 'supervisor-pass-1' })).body.token;
});

afterEach(closeAll);
afterAll(async () => {
  await server?.close();
});

test('the offer names the previous agent to that agent, and to others only when the queue shares history', async () => {
  const ann = await readyAgent('Ann');
  const c = await customer('Quinn');
  const first = await served(c, ann);
  await call(ann.socket, 'chat:end', { taskId: first.taskId });
  await call(ann.socket, 'wrapup:done', { taskId: first.taskId });
  // Back to the same agent: she sees it was her.
  const again = await served(c, ann, 'general', 'Hello again');
  expect(again.offer.context).toMatchObject({ returning: true, previousAgentName: 'Ann' });
  await call(ann.socket, 'chat:end', { taskId: again.taskId });
  await call(ann.socket, 'wrapup:done', { taskId: again.taskId });
  await call(ann.socket, 'presence:set', { state: 'not_ready' });
  // To another agent of a queue that shares history: named too.
  expect((await api(server.url, 'PATCH', '/api/admin/queues/general', { shareHistory: true }, admin)).status).toBe(200);
  try {
    const ben = await readyAgent('Ben');
    const third = await served(c, ben, 'general', 'Third time');
    expect(third.offer.context).toMatchObject({ returning: true, sessions: 2, previousAgentName: 'Ann' });
    await call(ben.socket, 'presence:set', { state: 'not_ready' });
  } finally {
    expect((await api(server.url, 'PATCH', '/api/admin/queues/general', { shareHistory: false }, admin)).status).toBe(200);
  }
});

test('the offer tells a returning customer apart, with the previous agent; only permitted staff see the context', async () => {
  const alice = await readyAgent('Alice');
  const c = await customer('Casey');
  const first = await served(c, alice);
  expect(first.offer.context).toMatchObject({ returning: false, sessions: 0, previousAgentName: null, flagged: false });
  await call(alice.socket, 'chat:send', { taskId: first.taskId, text: 'Your order ships Monday.', clientMsgId: msgId() });
  await call(alice.socket, 'chat:end', { taskId: first.taskId });
  // A note during wrap-up; once the work is done the conversation is no longer the agent's to annotate.
  expect((await api(server.url, 'POST', `/api/tasks/${first.taskId}/notes`, { body: 'Prefers email follow-ups.' }, alice.token)).status).toBe(201);
  await call(alice.socket, 'wrapup:done', { taskId: first.taskId });
  expect((await api(server.url, 'POST', `/api/tasks/${first.taskId}/notes`, { body: 'too late' }, alice.token)).status).toBe(403);
  // A rating from the customer.
  expect(await call(c.socket, 'chat:rate', { taskId: first.taskId, stars: 5, comment: 'Great help' })).toEqual({ taskId: first.taskId, stars: 5 });
  expect(await request(c.socket, 'chat:rate', { taskId: first.taskId, stars: 1 })).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });

  // The same customer again, to another agent: the offer says who they are to us — but not who
  // served them before, since this queue does not share history.
  await call(alice.socket, 'presence:set', { state: 'not_ready' });
  const bob = await readyAgent('Bob');
  const second = await served(c, bob, 'general', 'Me again');
  expect(second.offer.context).toMatchObject({ returning: true, sessions: 1, previousAgentName: null, notes: 1 });

  // Authorisation matrix over the context of the second conversation.
  const stranger = await customer('Mallory');
  const other = await createAgent(server.url, admin, { displayName: 'Olga' });
  const route = `/api/tasks/${second.taskId}/context`;
  expect((await api(server.url, 'GET', route)).status).toBe(401);
  expect((await api(server.url, 'GET', route, undefined, c.token)).status).toBe(403); // a customer's visitor token
  expect((await api(server.url, 'GET', route, undefined, other.token)).status).toBe(403); // an agent it is not assigned to
  expect((await api(server.url, 'GET', route, undefined, alice.token)).status).toBe(403); // the first conversation's agent
  expect((await api(server.url, 'POST', `/api/tasks/${second.taskId}/notes`, { body: 'x' }, other.token)).status).toBe(403);
  expect(await request(stranger.socket, 'chat:rate', { taskId: first.taskId, stars: 1 })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  // The customer's own routes act on the visitor token's profile only: staff tokens and no token are refused,
  // another visitor sees only their own conversations and cannot verify an email with a code sent to this one.
  const email = `casey.${Date.now()}@example.test`;
  expect((await api(server.url, 'POST', '/api/me/email', { email }, c.token)).status).toBe(202);
  for (const [method, route, body] of [['POST', '/api/me/email', { email }], ['POST', '/api/me/email/verify', { email, code: '123456' }], ['GET', '/api/me/conversations', undefined]] as const) {
    expect((await api(server.url, method, route, body)).status).toBe(401);
    for (const token of [bob.token, other.token, supervisor, admin]) expect((await api(server.url, method, route, body, token)).status).toBe(403);
  }
  expect((await api(server.url, 'POST', '/api/me/email/verify', { email, code: '123456' }, stranger.token)).status).toBe(409);
  expect((await api<{ conversations: unknown[] }>(server.url, 'GET', '/api/me/conversations', undefined, stranger.token)).body.conversations).toEqual([]);
  expect((await api<{ conversations: Array<{ taskId: string }> }>(server.url, 'GET', '/api/me/conversations', undefined, c.token)).body.conversations.map((x) => x.taskId)).toEqual([second.taskId, first.taskId]);

  // The assigned agent: their own conversation only (the queue does not share history), notes visible.
  const asBob = await api<CustomerContextView>(server.url, 'GET', route, undefined, bob.token);
  expect(asBob.status).toBe(200);
  expect(asBob.body.sessions.map((s) => s.taskId)).toEqual([second.taskId]);
  expect(asBob.body.hiddenSessions).toBe(1);
  expect(asBob.body.notes.map((n) => n.body)).toEqual(['Prefers email follow-ups.']);
  // Supervisors and admins see the whole history, with the first conversation's messages and rating.
  for (const token of [supervisor, admin]) {
    const full = await api<CustomerContextView>(server.url, 'GET', route, undefined, token);
    expect(full.body.sessions.map((s) => s.taskId)).toEqual([second.taskId, first.taskId]);
    const earlier = full.body.sessions[1]!;
    expect(earlier).toMatchObject({ agentName: 'Alice', rating: 5 });
    expect(earlier.messages.map((m) => m.body)).toContain('Your order ships Monday.');
  }
  // When the queue shares history, the agent sees the earlier conversation too.
  expect((await api(server.url, 'PATCH', '/api/admin/queues/general', { shareHistory: true }, admin)).status).toBe(200);
  const shared = await api<CustomerContextView>(server.url, 'GET', route, undefined, bob.token);
  expect(shared.body.sessions).toHaveLength(2);
  expect((await api(server.url, 'PATCH', '/api/admin/queues/general', { shareHistory: false }, admin)).status).toBe(200);

  // Tags and the flag: supervisors and admins only; every look and change is in the access log.
  expect((await api(server.url, 'PUT', `/api/customers/${c.id}/tags`, { tags: ['vip'] }, bob.token)).status).toBe(403);
  expect((await api(server.url, 'PUT', `/api/customers/${c.id}/tags`, { tags: ['vip'], flagged: true }, supervisor)).body).toEqual({ tags: ['vip'], flagged: true });
  const log = await api<Array<{ viewerId: string; action: string }>>(server.url, 'GET', `/api/admin/customers/${c.id}/access-log`, undefined, admin);
  expect(log.body.filter((l) => l.action === 'view').length).toBeGreaterThanOrEqual(4);
  expect(log.body.some((l) => l.action === 'tag')).toBe(true);
  expect((await api(server.url, 'GET', `/api/admin/customers/${c.id}/access-log`, undefined, supervisor)).status).toBe(403);
}, 30_000);

test('a flagged customer is served before customers who waited longer', async () => {
  const early = await customer('Early');
  const vip = await customer('Very Important');
  expect((await api(server.url, 'PUT', `/api/customers/${vip.id}/tags`, { flagged: true }, admin)).status).toBe(200);
  const earlyView = await call<CustomerChatView>(early.socket, 'chat:start', { queueId: 'technical', text: 'first in line', clientMsgId: msgId() });
  const vipView = await call<CustomerChatView>(vip.socket, 'chat:start', { queueId: 'technical', text: 'flagged', clientMsgId: msgId() });
  const agent = await readyAgent('Tess');
  const offer = await next<Offer>(agent.socket, 'offer');
  expect(offer.taskId).toBe(vipView.taskId);
  expect(offer.context?.flagged).toBe(true);
  await call(agent.socket, 'offer:reject', { taskId: offer.taskId });
  await call(early.socket, 'chat:leave', { taskId: earlyView.taskId });
  await call(vip.socket, 'chat:leave', { taskId: vipView.taskId });
});

test('a queue that prefers nearby agents offers a customer who shared their position to the nearest agent', async () => {
  expect((await api(server.url, 'PATCH', '/api/admin/queues/billing', { preferNearby: true }, admin)).status).toBe(200);
  // Berlin is ready first (longest idle); Helsinki is near the customer.
  const located = async (name: string, location: { lat: number; lon: number }) => {
    const a = await createAgent(server.url, admin, { displayName: name, chatCapacity: 3 });
    expect((await api<{ location: unknown }>(server.url, 'PUT', '/api/agent/location', { location }, a.token)).body).toEqual({ location: { lat: Math.round(location.lat * 10) / 10, lon: Math.round(location.lon * 10) / 10 } });
    const socket = await connect<AgentSocket>(server.url, '/agent', a.token);
    sockets.push(socket);
    await next(socket, 'hello');
    await call(socket, 'presence:set', { state: 'ready' });
    return socket;
  };
  const berlin = await located('Bea in Berlin', { lat: 52.52, lon: 13.4 });
  await new Promise((r) => setTimeout(r, 20));
  const helsinki = await located('Hel in Helsinki', { lat: 60.17, lon: 24.94 });
  expect((await api(server.url, 'PUT', '/api/agent/location', { location: { lat: 91, lon: 0 } }, admin)).status).toBe(400);

  const nearby = await customer('Espoo Ella');
  const toHelsinki = next<Offer>(helsinki, 'offer');
  const v1 = await call<CustomerChatView>(nearby.socket, 'chat:start', { queueId: 'billing', text: 'Near you', clientMsgId: msgId(), location: { lat: 60.2055, lon: 24.6559 } });
  expect((await toHelsinki).taskId).toBe(v1.taskId);
  // Without a shared position the strategy decides: the longest idle agent, in Berlin.
  const anywhere = await customer('Somewhere Sam');
  const toBerlin = next<Offer>(berlin, 'offer');
  const v2 = await call<CustomerChatView>(anywhere.socket, 'chat:start', { queueId: 'billing', text: 'Anyone', clientMsgId: msgId() });
  expect((await toBerlin).taskId).toBe(v2.taskId);
  // What is kept of the position is coarse, and it is the customer's to see.
  const mine = await api<{ customer: { location: unknown } }>(server.url, 'GET', '/api/me/export', undefined, nearby.token);
  expect(mine.body.customer.location).toEqual({ lat: 60.2, lon: 24.7 });
  await call(nearby.socket, 'chat:leave', { taskId: v1.taskId });
  await call(anywhere.socket, 'chat:leave', { taskId: v2.taskId });
  expect((await api(server.url, 'PATCH', '/api/admin/queues/billing', { preferNearby: false }, admin)).status).toBe(200);
});

test('export and erasure: admins and the customer get everything; erasure removes personal data and keeps the records', async () => {
  const agent = await readyAgent('Erin');
  const c = await customer('Dana Doe');
  const { taskId } = await served(c, agent, 'general', 'My address is 1 Main St');
  await call(agent.socket, 'chat:end', { taskId });
  await call(agent.socket, 'wrapup:done', { taskId });
  await api(server.url, 'POST', `/api/tasks/${taskId}/notes`, { body: 'Lives at 1 Main St' }, admin);

  // Only an admin, or the customer themself, may export.
  expect((await api(server.url, 'GET', `/api/admin/customers/${c.id}/export`, undefined, agent.token)).status).toBe(403);
  expect((await api(server.url, 'GET', `/api/admin/customers/${c.id}/export`, undefined, supervisor)).status).toBe(403);
  const mine = await api<{ customer: { displayName: string }; conversations: Array<{ messages: Array<{ body: string }> }>; notes: unknown[] }>(server.url, 'GET', '/api/me/export', undefined, c.token);
  expect(mine.status).toBe(200);
  expect(mine.body.customer.displayName).toBe('Dana Doe');
  expect(mine.body.conversations[0]!.messages.map((m) => m.body)).toContain('My address is 1 Main St');
  expect(mine.body.notes).toHaveLength(1);
  expect((await api(server.url, 'GET', '/api/me/export', undefined, agent.token)).status).toBe(403);

  // Erasure: admins only; afterwards nothing names the person, the conversation record remains.
  expect((await api(server.url, 'DELETE', `/api/admin/customers/${c.id}`, undefined, supervisor)).status).toBe(403);
  expect((await api(server.url, 'DELETE', `/api/admin/customers/${c.id}`, undefined, admin)).body).toEqual({ erased: true, conversations: 1 });
  const after = await api<{ customer: { displayName: string | null; erasedAt: number | null }; conversations: Array<{ messages: Array<{ body: string }> }>; notes: unknown[] }>(server.url, 'GET', `/api/admin/customers/${c.id}/export`, undefined, admin);
  expect(after.body.customer.displayName).toBeNull();
  expect(after.body.customer.erasedAt).toEqual(expect.any(Number));
  expect(after.body.notes).toEqual([]);
  expect(JSON.stringify(after.body)).not.toContain('Main St');
  expect(after.body.conversations).toHaveLength(1);
  const log = await api<Array<{ action: string }>>(server.url, 'GET', `/api/admin/customers/${c.id}/access-log`, undefined, admin);
  expect(log.body.map((l) => l.action)).toEqual(expect.arrayContaining(['export', 'erase']));
});

test('merging two profiles moves the conversations and leaves an audit trail', async () => {
  const agent = await readyAgent('Mia');
  const a = await customer('Pat (web)');
  const b = await customer('Pat (phone)');
  const t1 = await served(a, agent, 'general', 'from the web');
  await call(agent.socket, 'chat:end', { taskId: t1.taskId });
  const t2 = await served(b, agent, 'general', 'from the phone');
  await call(agent.socket, 'chat:end', { taskId: t2.taskId });
  expect((await api(server.url, 'POST', `/api/admin/customers/${a.id}/merge`, { fromCustomerId: a.id }, admin)).status).toBe(400);
  const merged = await api<{ moved: Record<string, number> }>(server.url, 'POST', `/api/admin/customers/${a.id}/merge`, { fromCustomerId: b.id }, admin);
  expect(merged.body.moved.conversations).toBe(1);
  const exported = await api<{ conversations: Array<{ taskId: string }> }>(server.url, 'GET', `/api/admin/customers/${a.id}/export`, undefined, admin);
  expect(exported.body.conversations.map((x) => x.taskId).sort()).toEqual([t1.taskId, t2.taskId].sort());
  expect((await api<Array<{ action: string }>>(server.url, 'GET', `/api/admin/customers/${b.id}/access-log`, undefined, admin)).body.some((l) => l.action === 'merge')).toBe(true);
});

test('transcripts past their retention lose their text; one identity is one customer', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mccs-retention-'));
  const config = loadConfig({ MCCS_DATA_DIR: dir, MCCS_LOG_LEVEL: 'error' });
  const db = await openDatabase({ kind: 'sqlite', file: path.join(dir, 'mccs.sqlite') });
  try {
    const context = new CustomerContext(db, { transcriptRetentionDays: 30, logger: createLogger(config) });
    const customers = new CustomerDirectory(db.getRepository(CustomerEntity), db.getRepository(CustomerIdentityEntity));
    // Two first contacts from one number at once: one customer.
    const [x, y] = await Promise.all([customers.findOrCreateByIdentity('phone', '+358401112222', 'A'), customers.findOrCreateByIdentity('phone', '+358401112222', 'B')]);
    expect(x.id).toBe(y.id);
    const now = Date.now();
    const day = 86_400_000;
    const task = (id: string, endedAt: number) => ({
      id, channel: 'chat' as const, queueId: 'general', customerId: x.id, status: 'completed' as const, priority: 0, firstMessage: `text of ${id}`, agentId: null,
      enqueuedAt: endedAt - 1000, offeredAt: null, acceptedAt: null, endedAt, endReason: null, wrapUpCode: null, wrapUpNotes: null, completedAt: endedAt,
      requirements: null, callbackNumber: null, callbackRequestedAt: null,
    });
    await db.getRepository(TaskEntity).insert([task('old-task', now - 40 * day), task('new-task', now - 5 * day)]);
    await db.getRepository(MessageEntity).insert([
      { id: 'm-old', taskId: 'old-task', sender: 'customer', senderId: x.id, senderName: 'A', body: 'old secret', clientMsgId: null, createdAt: now - 40 * day },
      { id: 'm-new', taskId: 'new-task', sender: 'customer', senderId: x.id, senderName: 'A', body: 'recent', clientMsgId: null, createdAt: now - 5 * day },
    ]);
    expect(await context.sweepTranscripts(now)).toBe(1);
    expect(await context.sweepTranscripts(now)).toBe(0);
    const bodies = Object.fromEntries((await db.getRepository(MessageEntity).find()).map((m) => [m.id, m.body]));
    expect(bodies).toEqual({ 'm-old': '[expired]', 'm-new': 'recent' });
    expect((await db.getRepository(TaskEntity).findOneByOrFail({ id: 'old-task' })).firstMessage).toBe('[expired]');

    // The caller's number: masked for the agent holding their conversation, plain for an admin.
    await db.getRepository(TaskEntity).insert({ ...task('live-task', now), status: 'assigned', agentId: 'agent-1', endedAt: null, completedAt: null });
    const asAgent = await context.view({ id: 'agent-1', role: 'agent' }, 'live-task');
    expect(asAgent.customer.identities).toEqual([{ kind: 'phone', value: '+3584•••••222', masked: true, verified: true }]);
    const asAdmin = await context.view({ id: 'admin-1', role: 'admin' }, 'live-task');
    expect(asAdmin.customer.identities).toEqual([{ kind: 'phone', value: '+358401112222', masked: false, verified: true }]);
    await expect(context.view({ id: 'agent-2', role: 'agent' }, 'live-task')).rejects.toThrow(/not assigned to you/);
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
