// "Get offers when the app is closed" (docs/push.md) on a real server with a local push service: an
// agent with the setting whose app loses its connection stays ready; a chat is offered to it by push
// (the test decrypts it), the agent opens the app, finds the offer in `hello`, accepts, and the chat
// flows. Without the setting the agent is not ready as before; a missed push offer, or a push service
// answering 410, sets it not ready (and the chat goes on to a colleague); the maximum logs it off.
import type { AgentStatus, ChatMessage, CustomerChatView, Offer } from '../../protocol/events.js';
import { waitFor } from '../support/engine-harness.js';
import { browserKeys, decryptAes128gcm, startPushEndpoint, type BrowserKeys, type PushEndpoint } from '../support/push-endpoint.js';
import { adminToken, api, createAgent, startTestServer, visitorToken, type TestServer } from '../support/server.js';
import { call, connect, msgId, next, type AgentSocket, type CustomerSocket } from '../support/sockets.js';

const MISSED = 'missed an offer while the app was closed';
const PUSH_FAILED = 'offers could not be pushed to this device';

let server: TestServer | null = null;
let pushService: PushEndpoint;
let admin: string;
const sockets: Array<{ close(): unknown }> = [];

interface Agent {
  id: string;
  token: string;
  socket: AgentSocket;
  keys: BrowserKeys;
}

type Settings = { offersWhenClosed: boolean; devices: number };

async function start(env: Record<string, string> = {}): Promise<TestServer> {
  server = await startTestServer({ MCCS_PUSH_ALLOW_LOOPBACK: 'yes', MCCS_OFFER_TIMEOUT: '20', ...env });
  admin = await adminToken(server.url);
  return server;
}

const url = () => server!.url;

async function openApp(token: string): Promise<{ socket: AgentSocket; hello: { status: AgentStatus; offers: Offer[] } }> {
  const socket = await connect<AgentSocket>(url(), '/agent', token);
  sockets.push(socket);
  const hello = await next<{ status: AgentStatus; offers: Offer[] }>(socket, 'hello');
  return { socket, hello };
}

/** An agent with a device registered at the local push service, its app open (in the background) and ready. */
async function phoneAgent(name: string, opts: { offersWhenClosed: boolean }): Promise<Agent> {
  const a = await createAgent(url(), admin, { displayName: name });
  const keys = browserKeys();
  const endpoint = `${pushService.origin}/push/${a.id}`;
  expect((await api(url(), 'POST', '/api/agent/push-subscriptions', { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } }, a.token)).status).toBe(201);
  if (opts.offersWhenClosed) {
    const set = await api<Settings>(url(), 'PUT', '/api/agent/push-settings', { offersWhenClosed: true }, a.token);
    expect(set).toEqual({ status: 200, body: { offersWhenClosed: true, devices: 1 } });
  }
  const { socket } = await openApp(a.token);
  await call(socket, 'app:visibility', { visible: false });
  await call(socket, 'presence:set', { state: 'ready' });
  return { id: a.id, token: a.token, socket, keys };
}

/** An agent at a desk: app on screen, no push. */
async function deskAgent(name: string): Promise<{ id: string; socket: AgentSocket }> {
  const a = await createAgent(url(), admin, { displayName: name });
  const { socket } = await openApp(a.token);
  await call(socket, 'app:visibility', { visible: true });
  await call(socket, 'presence:set', { state: 'ready' });
  return { id: a.id, socket };
}

/** How supervisors and colleagues see the agent (GET /api/staff/agents). */
async function seenAs(agentId: string): Promise<{ state: string; byPush?: boolean }> {
  const res = await api<{ agents: Array<{ id: string; state: string; byPush?: boolean }> }>(url(), 'GET', '/api/staff/agents', undefined, admin);
  expect(res.status).toBe(200);
  const { state, byPush } = res.body.agents.find((a) => a.id === agentId)!;
  return byPush === undefined ? { state } : { state, byPush };
}

async function until(agentId: string, state: string, what: string): Promise<void> {
  await waitFor(async () => (await seenAs(agentId)).state === state, what, 15_000);
}

/** The phone closes the app: its connection drops. */
async function closeApp(agent: { socket: AgentSocket }): Promise<void> {
  agent.socket.close();
}

async function customer(name: string, text: string): Promise<{ socket: CustomerSocket; chat: CustomerChatView }> {
  const v = await visitorToken(url(), name);
  const socket = await connect<CustomerSocket>(url(), '/customer', v.token);
  sockets.push(socket);
  return { socket, chat: await call<CustomerChatView>(socket, 'chat:start', { queueId: 'general', text, clientMsgId: msgId() }) };
}

beforeEach(async () => {
  pushService = await startPushEndpoint();
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await server?.close();
  server = null;
  await pushService.close();
});

test('the setting needs a device, is the agent’s own, and goes off with its last device', async () => {
  await start();
  const a = await createAgent(url(), admin);
  const get = (token = a.token) => api<Settings & { error?: { code: string } }>(url(), 'GET', '/api/agent/push-settings', undefined, token);
  const put = (body: unknown, token = a.token) => api<Settings & { error: { code: string } }>(url(), 'PUT', '/api/agent/push-settings', body, token);

  expect(await get()).toEqual({ status: 200, body: { offersWhenClosed: false, devices: 0 } });
  expect((await get('')).status).toBe(401);
  expect((await put({ offersWhenClosed: true }, (await visitorToken(url())).token)).status).toBe(403);
  for (const bad of [{}, { offersWhenClosed: 'yes' }, { offersWhenClosed: true, extra: 1 }]) {
    const res = await put(bad);
    expect([res.status, res.body.error.code]).toEqual([400, 'VALIDATION']);
  }
  const early = await put({ offersWhenClosed: true });
  expect([early.status, early.body.error.code]).toEqual([409, 'INVALID_STATE']);

  const keys = browserKeys();
  const endpoint = `${pushService.origin}/push/one`;
  await api(url(), 'POST', '/api/agent/push-subscriptions', { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } }, a.token);
  expect((await put({ offersWhenClosed: true })).body).toEqual({ offersWhenClosed: true, devices: 1 });
  // Another agent's setting is untouched.
  const b = await createAgent(url(), admin);
  expect((await get(b.token)).body).toEqual({ offersWhenClosed: false, devices: 0 });

  expect((await api(url(), 'DELETE', '/api/agent/push-subscriptions', { endpoint }, a.token)).status).toBe(204);
  expect((await get()).body).toEqual({ offersWhenClosed: false, devices: 0 });
});

test('an agent whose app closed gets a chat by push, opens the app, finds the offer and takes the chat', async () => {
  await start({ MCCS_PUSH_OFFER_TIMEOUT: '40' });
  const agent = await phoneAgent('Pia Pocket', { offersWhenClosed: true });
  await closeApp(agent);
  // Not logged off, not "disconnected": ready, reachable by push.
  await waitFor(async () => (await seenAs(agent.id)).byPush === true, 'the agent reachable by push');
  expect(await seenAs(agent.id)).toEqual({ state: 'ready', byPush: true });

  const c = await customer('Carl Customer', 'Is my order on its way?');
  const message = await pushService.next();
  const payload = JSON.parse(decryptAes128gcm(message.body, agent.keys)) as { taskId: string; customerName: string; expiresAt: number };
  expect(payload).toMatchObject({ type: 'offer', taskId: c.chat.taskId, customerName: 'Carl Customer', firstMessage: 'Is my order on its way?' });
  // The longer offer timeout for a closed app (MCCS_PUSH_OFFER_TIMEOUT), not MCCS_OFFER_TIMEOUT.
  expect(Number(message.headers.ttl)).toBeGreaterThan(30);
  expect(Number(message.headers.ttl)).toBeLessThanOrEqual(40);

  // The tap opens the app: a new connection, whose hello carries the offer.
  const { socket, hello } = await openApp(agent.token);
  expect(hello.status).toMatchObject({ state: 'ready', reason: null });
  expect(hello.offers.map((o) => o.taskId)).toEqual([c.chat.taskId]);
  expect(hello.offers[0]!.expiresAt).toBe(payload.expiresAt);
  await call(socket, 'app:visibility', { visible: true });
  const assigned = next<{ taskId: string; agentName: string }>(c.socket, 'chat:assigned');
  await call(socket, 'offer:accept', { taskId: c.chat.taskId });
  expect(await assigned).toEqual({ taskId: c.chat.taskId, agentName: 'Pia Pocket' });
  expect((await seenAs(agent.id)).byPush).toBeUndefined();

  const reply = next<ChatMessage>(c.socket, 'chat:message', (m) => m.body === 'Yes, it ships today.');
  await call(socket, 'chat:send', { taskId: c.chat.taskId, text: 'Yes, it ships today.', clientMsgId: msgId() });
  await reply;
  const thanks = next<ChatMessage>(socket, 'chat:message', (m) => m.body === 'Thank you!');
  await call(c.socket, 'chat:send', { taskId: c.chat.taskId, text: 'Thank you!', clientMsgId: msgId() });
  await thanks;

  // Holding a conversation, a closed app is "disconnected" as before: the customer must not wait for a phone.
  socket.close();
  await until(agent.id, 'not_ready', 'the agent holding a chat not ready');
  expect(await seenAs(agent.id)).toEqual({ state: 'not_ready' });
});

test('without the setting a closed app means not ready, as before: no push, the chat waits', async () => {
  await start();
  const agent = await phoneAgent('Nora Nosetting', { offersWhenClosed: false });
  await closeApp(agent);
  await until(agent.id, 'not_ready', 'the agent not ready');
  expect(await seenAs(agent.id)).toEqual({ state: 'not_ready' });
  const c = await customer('Wendy Waiting', 'Hello?');
  expect(c.chat.position).toBe(1);
  await new Promise((r) => setTimeout(r, 500));
  expect(pushService.received).toHaveLength(0);
});

test('a missed push offer sets the agent not ready at once, and the app says why when opened', async () => {
  await start({ MCCS_OFFER_TIMEOUT: '1' });
  const agent = await phoneAgent('Max Missed', { offersWhenClosed: true });
  await closeApp(agent);
  await waitFor(async () => (await seenAs(agent.id)).byPush === true, 'the agent reachable by push');
  const c = await customer('Olga Offered', 'Anyone?');
  await pushService.next();
  await until(agent.id, 'not_ready', 'the agent not ready after one missed offer');
  // No second offer to the closed phone: the chat waits for someone who can answer.
  await new Promise((r) => setTimeout(r, 1_500));
  expect(pushService.received).toHaveLength(1);
  const colleague = await deskAgent('Dora Desk');
  const offer = await next<Offer>(colleague.socket, 'offer');
  expect(offer.taskId).toBe(c.chat.taskId);

  const { hello } = await openApp(agent.token);
  expect(hello.status).toMatchObject({ state: 'not_ready', reason: MISSED });
  expect(hello.offers).toEqual([]);
});

test('a push service answering 410 sets the agent not ready and the chat goes to a colleague at once', async () => {
  // Offers last long: the colleague can only get the chat this soon because the failed push passed it on.
  await start({ MCCS_OFFER_TIMEOUT: '120' });
  const agent = await phoneAgent('Gus Gone', { offersWhenClosed: true });
  await closeApp(agent);
  await waitFor(async () => (await seenAs(agent.id)).byPush === true, 'the agent reachable by push');
  const colleague = await deskAgent('Dan Desk'); // ready after the phone agent: the phone agent is longer idle
  pushService.respondWith(410);

  const c = await customer('Hana Hurry', 'Quick question');
  await pushService.next();
  const offer = await next<Offer>(colleague.socket, 'offer');
  expect(offer.taskId).toBe(c.chat.taskId);
  expect(await seenAs(agent.id)).toEqual({ state: 'not_ready' });
  const { hello } = await openApp(agent.token);
  expect(hello.status).toMatchObject({ state: 'not_ready', reason: PUSH_FAILED });
  // The subscription the push service disowned is gone; the agent's next device brings it back.
  expect((await api<Settings>(url(), 'GET', '/api/agent/push-settings', undefined, agent.token)).body).toEqual({ offersWhenClosed: true, devices: 0 });
});

test('an agent reachable by push is logged off after the maximum without any connection', async () => {
  await start({ MCCS_PUSH_REACHABLE_SECONDS: '2' });
  const agent = await phoneAgent('Lou Late', { offersWhenClosed: true });
  await closeApp(agent);
  await waitFor(async () => (await seenAs(agent.id)).byPush === true, 'the agent reachable by push');
  await until(agent.id, 'logged_off', 'the log-off at the maximum');
  const { hello } = await openApp(agent.token);
  expect(hello.status.state).toBe('not_ready');
});
