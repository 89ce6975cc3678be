// A chat from the customer's first message to the agent's wrap-up over real socket.io connections,
// who may touch which chat, what bad events get back, and what survives a restart.
import { SignJWT } from 'jose';
import { TOKEN_SECRET, adminToken, api, createAgent, startTestServer, visitorToken, type TestServer } from '../support/server.js';
import { call, connect, connectError, msgId, next, request, type AgentSocket, type CustomerSocket } from '../support/sockets.js';
import type { AgentTaskView, ChatMessage, CustomerChatView, Offer } from '../../protocol/events.js';

let server: TestServer;
let admin: string;
const sockets: Array<{ close(): unknown }> = [];

async function customer(name = 'Casey'): Promise<{ socket: CustomerSocket; customerId: string; token: string }> {
  const v = await visitorToken(server.url, name);
  const socket = await connect<CustomerSocket>(server.url, '/customer', v.token);
  sockets.push(socket);
  return { socket, customerId: v.customerId, token: v.token };
}

async function readyAgent(opts: Parameters<typeof createAgent>[2] = {}): Promise<{ socket: AgentSocket; id: string; token: string }> {
  const a = await createAgent(server.url, admin, opts);
  const socket = await connect<AgentSocket>(server.url, '/agent', a.token);
  sockets.push(socket);
  await next(socket, 'hello');
  await call(socket, 'presence:set', { state: 'ready' });
  return { socket, id: a.id, token: a.token };
}

beforeEach(async () => {
  server = await startTestServer({ MCCS_OFFER_TIMEOUT: '2' });
  admin = await adminToken(server.url);
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await server.close();
});

test('a customer’s chat reaches an agent, both talk, the agent ends and wraps up', async () => {
  const agent = await readyAgent({ displayName: 'Alex' });
  const c = await customer('Casey');

  const offered = next<Offer>(agent.socket, 'offer');
  const view = await call<CustomerChatView>(c.socket, 'chat:start', { queueId: 'general', text: 'My invoice is wrong', clientMsgId: msgId() });
  expect(view.status).toBe('queued');
  expect(view.messages.map((m) => m.body)).toEqual(['My invoice is wrong']);

  const offer = await offered;
  expect(offer).toMatchObject({ taskId: view.taskId, firstMessage: 'My invoice is wrong', customerName: 'Casey', queue: { id: 'general' } });
  expect(offer.expiresAt).toBeGreaterThan(Date.now());

  const assigned = next<{ agentName: string }>(c.socket, 'chat:assigned');
  const task = await call<AgentTaskView>(agent.socket, 'offer:accept', { taskId: view.taskId });
  expect(task.messages[0]!.body).toBe('My invoice is wrong');
  expect((await assigned).agentName).toBe('Alex');

  const toAgent = next<ChatMessage>(agent.socket, 'chat:message', (m) => m.sender === 'customer');
  await call(c.socket, 'chat:send', { taskId: view.taskId, text: 'Order 1234', clientMsgId: msgId() });
  expect((await toAgent).body).toBe('Order 1234');

  const toCustomer = next<ChatMessage>(c.socket, 'chat:message', (m) => m.sender === 'agent');
  await call(agent.socket, 'chat:send', { taskId: view.taskId, text: 'Fixed it, sorry!', clientMsgId: msgId() });
  expect((await toCustomer).body).toBe('Fixed it, sorry!');

  const ended = next<{ by: string }>(c.socket, 'chat:ended');
  expect(await call(agent.socket, 'chat:end', { taskId: view.taskId })).toMatchObject({ status: 'wrapup' });
  expect((await ended).by).toBe('agent');
  // The customer can no longer write into an ended chat.
  const late = await request(c.socket, 'chat:send', { taskId: view.taskId, text: 'one more', clientMsgId: msgId() });
  expect(late).toMatchObject({ ok: false, error: { code: 'INVALID_STATE' } });

  expect(await call(agent.socket, 'wrapup:done', { taskId: view.taskId, code: 'resolved', notes: 'refund issued' })).toMatchObject({ status: 'completed' });
  const history = await call<CustomerChatView>(c.socket, 'chat:resume', { taskId: view.taskId });
  expect(history.status).toBe('completed');
  expect(history.messages.filter((m) => m.sender !== 'system').map((m) => m.body)).toEqual(['My invoice is wrong', 'Order 1234', 'Fixed it, sorry!']);
});

test('a rejected offer goes to the next agent and the task keeps its place', async () => {
  const first = await readyAgent({ displayName: 'First' });
  const second = await readyAgent({ displayName: 'Second' });
  const c = await customer();
  const offers = [next<Offer>(first.socket, 'offer'), next<Offer>(second.socket, 'offer')];
  const view = await call<CustomerChatView>(c.socket, 'chat:start', { queueId: 'general', text: 'hi', clientMsgId: msgId() });
  // Longest idle first: "First" became ready earlier.
  const offer = await offers[0]!;
  expect(offer.taskId).toBe(view.taskId);
  await call(first.socket, 'offer:reject', { taskId: view.taskId });
  expect((await offers[1]!).taskId).toBe(view.taskId);
  const again = await call<CustomerChatView>(c.socket, 'chat:resume', { taskId: view.taskId });
  expect(again.position).toBe(1);
});

test('an unanswered offer times out and is revoked from the agent', async () => {
  const agent = await readyAgent();
  const c = await customer();
  const offered = next<Offer>(agent.socket, 'offer');
  const view = await call<CustomerChatView>(c.socket, 'chat:start', { queueId: 'general', text: 'anyone?', clientMsgId: msgId() });
  await offered;
  const revoked = await next<{ taskId: string; reason: string }>(agent.socket, 'offer:revoked', undefined, 8000);
  expect(revoked).toEqual({ taskId: view.taskId, reason: 'timeout' });
  const accept = await request(agent.socket, 'offer:accept', { taskId: view.taskId });
  // It may have been re-offered to the same (only) agent; if not, accepting the old offer must fail.
  if (!accept.ok) expect(accept.error.code).toBe('INVALID_STATE');
});

test('waiting customers learn their position, and one who leaves is recorded as abandoned', async () => {
  const a = await customer('A');
  const b = await customer('B');
  const first = await call<CustomerChatView>(a.socket, 'chat:start', { queueId: 'billing', text: 'first', clientMsgId: msgId() });
  const second = await call<CustomerChatView>(b.socket, 'chat:start', { queueId: 'billing', text: 'second', clientMsgId: msgId() });
  expect(first.position).toBe(1);
  expect(second.position).toBe(2);
  const moved = next<{ taskId: string; position: number }>(b.socket, 'chat:queued', (e) => e.position === 1);
  expect(await call(a.socket, 'chat:leave', { taskId: first.taskId })).toEqual({ status: 'abandoned' });
  expect((await moved).taskId).toBe(second.taskId);
});

test('nobody touches a chat that is not theirs', async () => {
  const agent = await readyAgent();
  const other = await readyAgent();
  await call(other.socket, 'presence:set', { state: 'not_ready', reason: 'lunch' });
  const owner = await customer('Owner');
  const stranger = await customer('Stranger');
  const offered = next<Offer>(agent.socket, 'offer');
  const view = await call<CustomerChatView>(owner.socket, 'chat:start', { queueId: 'general', text: 'private', clientMsgId: msgId() });
  await offered;

  // Another agent cannot take someone else's offer, nor write into the chat.
  expect(await request(other.socket, 'offer:accept', { taskId: view.taskId })).toMatchObject({ ok: false, error: { code: 'INVALID_STATE' } });
  await call(agent.socket, 'offer:accept', { taskId: view.taskId });
  expect(await request(other.socket, 'chat:send', { taskId: view.taskId, text: 'hijack', clientMsgId: msgId() })).toMatchObject({
    ok: false,
    error: { code: 'FORBIDDEN' },
  });
  expect(await request(other.socket, 'chat:end', { taskId: view.taskId })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  // Another customer cannot read or write it, and is not told it exists.
  expect(await request(stranger.socket, 'chat:resume', { taskId: view.taskId })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  expect(await request(stranger.socket, 'chat:send', { taskId: view.taskId, text: 'hi', clientMsgId: msgId() })).toMatchObject({
    ok: false,
    error: { code: 'NOT_FOUND' },
  });
  expect(await request(stranger.socket, 'chat:leave', { taskId: view.taskId })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  const stored = await call<CustomerChatView>(owner.socket, 'chat:resume', { taskId: view.taskId });
  expect(stored.messages.map((m) => m.body)).not.toContain('hijack');
  expect(stored.status).toBe('assigned');
});

test('a retried send stores one message', async () => {
  const c = await customer();
  const view = await call<CustomerChatView>(c.socket, 'chat:start', { queueId: 'general', text: 'start', clientMsgId: msgId() });
  const id = msgId();
  const one = await call<ChatMessage>(c.socket, 'chat:send', { taskId: view.taskId, text: 'twice?', clientMsgId: id });
  const two = await call<ChatMessage>(c.socket, 'chat:send', { taskId: view.taskId, text: 'twice?', clientMsgId: id });
  expect(two.id).toBe(one.id);
  const startId = msgId();
  const s1 = await call<CustomerChatView>(c.socket, 'chat:start', { queueId: 'general', text: 'again', clientMsgId: startId });
  const s2 = await call<CustomerChatView>(c.socket, 'chat:start', { queueId: 'general', text: 'again', clientMsgId: startId });
  expect(s2.taskId).toBe(s1.taskId);
  const history = await call<CustomerChatView>(c.socket, 'chat:resume', { taskId: view.taskId });
  expect(history.messages.filter((m) => m.body === 'twice?')).toHaveLength(1);
});

describe('bad socket input gets an error acknowledgement and stores nothing', () => {
  test('unknown events, malformed payloads, missing fields', async () => {
    const c = await customer();
    const view = await call<CustomerChatView>(c.socket, 'chat:start', { queueId: 'general', text: 'base', clientMsgId: msgId() });
    expect(await request(c.socket, 'chat:delete-everything', { taskId: view.taskId })).toMatchObject({ ok: false, error: { code: 'UNKNOWN_EVENT' } });
    expect(await request(c.socket, 'chat:send', 'just a string')).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    expect(await request(c.socket, 'chat:send', { taskId: view.taskId, text: '', clientMsgId: msgId() })).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    expect(await request(c.socket, 'chat:send', { taskId: view.taskId, text: 'x'.repeat(5000), clientMsgId: msgId() })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION' },
    });
    expect(await request(c.socket, 'chat:send', { taskId: view.taskId, text: 'ok', clientMsgId: msgId(), sender: 'agent' })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION' },
    });
    expect(await request(c.socket, 'chat:start', { queueId: 'no-such-topic', text: 'x', clientMsgId: msgId() })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    // An event without an acknowledgement still gets told.
    const told = next<{ event: string; error: { code: string } }>(c.socket, 'event:error');
    (c.socket as unknown as { emit(e: string, p: unknown): void }).emit('chat:send', { nonsense: true });
    expect(await told).toMatchObject({ event: 'chat:send', error: { code: 'VALIDATION' } });
    const stored = await call<CustomerChatView>(c.socket, 'chat:resume', { taskId: view.taskId });
    expect(stored.messages.map((m) => m.body)).toEqual(['base']);
  });

  test('forged, expired and wrong-kind tokens cannot connect', async () => {
    expect((await connectError(server.url, '/customer', 'not-a-token')).message).toBe('UNAUTHENTICATED');
    expect((await connectError(server.url, '/customer', undefined)).message).toBe('UNAUTHENTICATED');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ kind: 'visitor' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('mccs')
      .setSubject('x')
      .setIssuedAt(now - 100)
      .setExpirationTime(now - 10)
      .sign(new TextEncoder().encode(TOKEN_SECRET));
    expect((await connectError(server.url, '/customer', expired)).message).toBe('TOKEN_EXPIRED');
    const visitor = await visitorToken(server.url);
    expect((await connectError(server.url, '/agent', visitor.token)).message).toBe('FORBIDDEN');
    const first = await api<{ token: string }>(server.url, 'POST', '/api/auth/login', { email: 'admin@mccs.local', password: 'changed-admin-pass-2' });
    const agentToken = (await createAgent(server.url, first.body.token)).token;
    expect((await connectError(server.url, '/customer', agentToken)).message).toBe('FORBIDDEN');
  });
});

test('messages and waiting chats survive a restart, in their places', async () => {
  const a = await customer('A');
  const b = await customer('B');
  const first = await call<CustomerChatView>(a.socket, 'chat:start', { queueId: 'technical', text: 'first in line', clientMsgId: msgId() });
  await call(a.socket, 'chat:send', { taskId: first.taskId, text: 'still here', clientMsgId: msgId() });
  const second = await call<CustomerChatView>(b.socket, 'chat:start', { queueId: 'technical', text: 'second in line', clientMsgId: msgId() });
  for (const s of sockets.splice(0)) s.close();

  await server.restart();

  const a2 = await connect<CustomerSocket>(server.url, '/customer', a.token);
  const b2 = await connect<CustomerSocket>(server.url, '/customer', b.token);
  sockets.push(a2, b2);
  const again = await call<CustomerChatView>(a2, 'chat:resume', { taskId: first.taskId });
  expect(again.messages.map((m) => m.body)).toEqual(['first in line', 'still here']);
  expect(again.position).toBe(1);
  expect((await call<CustomerChatView>(b2, 'chat:resume', { taskId: second.taskId })).position).toBe(2);

  // And the restored queue is served in that order.
  const agent = await readyAgent({ chatCapacity: 1 });
  const offer = await next<Offer>(agent.socket, 'offer');
  expect(offer.taskId).toBe(first.taskId);
});
