// Web Push for offers (push/, docs/push.md) against a local push service: the server encrypts an offer
// to a subscription whose keys the test made, signs it with VAPID, and the test decrypts and checks it.
// Also: an agent with the app on screen gets no push, a 410 removes the subscription, bad bodies are
// refused, and the VAPID key pair survives a restart.
import { statSync } from 'node:fs';
import path from 'node:path';
import type { CustomerChatView, Offer } from '../../protocol/events.js';
import { checkEndpoint } from '../../push/subscription-check.js';
import { browserKeys, decryptAes128gcm, startPushEndpoint, verifyVapid, type BrowserKeys, type PushEndpoint } from '../support/push-endpoint.js';
import { adminToken, api, createAgent, startTestServer, visitorToken, type TestServer } from '../support/server.js';
import { call, connect, msgId, next, request, type AgentSocket, type CustomerSocket } from '../support/sockets.js';

const OFFER_TIMEOUT_S = 20;
const LONG_MESSAGE = `My parcel never arrived. ${'I have been waiting for weeks and nobody answers my emails. '.repeat(4)}`;

let server: TestServer;
let pushService: PushEndpoint;
let admin: string;
const sockets: Array<{ close(): unknown }> = [];

interface Agent {
  id: string;
  token: string;
  socket: AgentSocket;
  keys: BrowserKeys;
  endpoint: string;
}

/** An agent with a registered subscription at the local push service, connected, ready, app reported as `visible`. */
async function subscribedAgent(visible: boolean): Promise<Agent> {
  const a = await createAgent(server.url, admin, { displayName: 'Pat Phone' });
  const keys = browserKeys();
  const endpoint = `${pushService.origin}/push/${a.id}-secret-path`;
  const saved = await api(server.url, 'POST', '/api/agent/push-subscriptions', { endpoint, expirationTime: null, keys: { p256dh: keys.p256dh, auth: keys.auth } }, a.token);
  expect(saved.status).toBe(201);
  const socket = await connect<AgentSocket>(server.url, '/agent', a.token);
  sockets.push(socket);
  await next(socket, 'hello');
  expect(await call(socket, 'app:visibility', { visible })).toEqual({ visible });
  await call(socket, 'presence:set', { state: 'ready' });
  return { id: a.id, token: a.token, socket, keys, endpoint };
}

async function startChat(name: string, text: string): Promise<CustomerChatView> {
  const v = await visitorToken(server.url, name);
  const socket = await connect<CustomerSocket>(server.url, '/customer', v.token);
  sockets.push(socket);
  return call<CustomerChatView>(socket, 'chat:start', { queueId: 'general', text, clientMsgId: msgId() });
}

async function subscriptions(token: string): Promise<Array<Record<string, unknown>>> {
  const res = await api<{ subscriptions: Array<Record<string, unknown>> }>(server.url, 'GET', '/api/agent/push-subscriptions', undefined, token);
  expect(res.status).toBe(200);
  return res.body.subscriptions;
}

beforeEach(async () => {
  pushService = await startPushEndpoint();
  server = await startTestServer({ MCCS_OFFER_TIMEOUT: String(OFFER_TIMEOUT_S), MCCS_PUSH_ALLOW_LOOPBACK: 'yes' });
  admin = await adminToken(server.url);
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await server.close();
  await pushService.close();
});

test('an offer to an agent whose app is in the background arrives encrypted, VAPID-signed, urgent and short-lived', async () => {
  const agent = await subscribedAgent(false);
  const offered = next<Offer>(agent.socket, 'offer');
  const chat = await startChat('Casey Customer', LONG_MESSAGE);
  const offer = await offered;
  const message = await pushService.next();

  expect(message.path).toBe(`/push/${agent.id}-secret-path`);
  expect(message.headers['content-encoding']).toBe('aes128gcm');
  expect(message.headers.urgency).toBe('high');
  const ttl = Number(message.headers.ttl);
  expect(ttl).toBeGreaterThan(OFFER_TIMEOUT_S - 5);
  expect(ttl).toBeLessThanOrEqual(OFFER_TIMEOUT_S);

  const { publicKey } = (await api<{ publicKey: string }>(server.url, 'GET', '/api/push/vapid-public-key')).body;
  const claims = await verifyVapid(message.headers.authorization, publicKey, pushService.origin);
  expect(claims.sub).toBe('mailto:admin@mccs.local');
  expect(claims.exp! * 1000).toBeGreaterThan(Date.now());
  expect(claims.exp! * 1000).toBeLessThanOrEqual(Date.now() + 24 * 3600_000);

  const payload = JSON.parse(decryptAes128gcm(message.body, agent.keys)) as Record<string, unknown>;
  expect(payload).toEqual({
    type: 'offer',
    taskId: chat.taskId,
    channel: 'chat',
    queue: 'General questions',
    customerName: 'Casey Customer',
    firstMessage: `${LONG_MESSAGE.trim().slice(0, 119)}…`,
    expiresAt: offer.expiresAt,
  });

  // The success is recorded; what the owner sees names the push service, never the endpoint or keys.
  let [sub] = await subscriptions(agent.token);
  for (let i = 0; i < 20 && !sub?.lastSuccessAt; i++) {
    await new Promise((r) => setTimeout(r, 50));
    [sub] = await subscriptions(agent.token);
  }
  expect(sub).toMatchObject({ pushService: pushService.origin, failures: 0 });
  expect(sub!.lastSuccessAt).toEqual(expect.any(Number));
  expect(JSON.stringify(sub)).not.toContain('secret-path');
  // Nor do the logs.
  const logs = server.logs.join('\n');
  for (const secret of ['secret-path', agent.keys.p256dh, agent.keys.auth]) expect(logs).not.toContain(secret);
});

test('an agent with the app on screen is not pushed; once it goes to the background it is', async () => {
  const agent = await subscribedAgent(true);
  const offered = next<Offer>(agent.socket, 'offer');
  const first = await startChat('Vera Visible', 'Hello there');
  await offered;
  await new Promise((r) => setTimeout(r, 500));
  expect(pushService.received).toHaveLength(0);

  await call(agent.socket, 'offer:accept', { taskId: first.taskId });
  await call(agent.socket, 'app:visibility', { visible: false });
  const second = await startChat('Hugo Hidden', 'Are you there?');
  const message = await pushService.next();
  expect(JSON.parse(decryptAes128gcm(message.body, agent.keys))).toMatchObject({ taskId: second.taskId, customerName: 'Hugo Hidden' });
});

test('a subscription the push service says is gone (410) is removed', async () => {
  const agent = await subscribedAgent(false);
  expect(await subscriptions(agent.token)).toHaveLength(1);
  pushService.respondWith(410);
  await startChat('Gina Gone', 'Hi');
  await pushService.next();
  for (let i = 0; i < 40 && (await subscriptions(agent.token)).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await subscriptions(agent.token)).toEqual([]);
  expect(server.logs.join('\n')).toContain('push subscription gone');
});

test('other failures are counted, and the subscription kept', async () => {
  const agent = await subscribedAgent(false);
  pushService.respondWith(500);
  await startChat('Fay Failure', 'Hi');
  await pushService.next();
  let [sub] = await subscriptions(agent.token);
  for (let i = 0; i < 40 && sub?.failures !== 1; i++) {
    await new Promise((r) => setTimeout(r, 50));
    [sub] = await subscriptions(agent.token);
  }
  expect(sub).toMatchObject({ failures: 1, lastSuccessAt: null });
});

test('bad subscriptions and visibility reports are refused', async () => {
  const a = await createAgent(server.url, admin);
  const keys = browserKeys();
  const good = { endpoint: `${pushService.origin}/push/x`, keys: { p256dh: keys.p256dh, auth: keys.auth } };
  const post = (body: unknown, token = a.token) => api<{ error: { code: string } }>(server.url, 'POST', '/api/agent/push-subscriptions', body, token);

  expect((await post(good, '')).status).toBe(401);
  const bad: unknown[] = [
    { ...good, endpoint: 'http://push.example.com/x' }, // plain http off the loopback
    { ...good, endpoint: 'https://10.0.0.7/x' }, // an address, not a push service's name
    { ...good, endpoint: 'https://user:pw@push.example.com/x' },
    { ...good, endpoint: 'not a url' },
    { ...good, keys: { ...good.keys, p256dh: 'A'.repeat(87) } }, // not a point on P-256
    { ...good, keys: { ...good.keys, auth: 'short' } },
    { ...good, keys: { p256dh: keys.p256dh } },
    { ...good, extra: true },
    { endpoint: good.endpoint },
  ];
  for (const body of bad) {
    const res = await post(body);
    expect([res.status, res.body.error.code, body]).toEqual([400, 'VALIDATION', body]);
  }
  expect((await post(good)).status).toBe(201);
  // Registering again is idempotent; deleting by endpoint removes it.
  expect((await post(good)).status).toBe(201);
  expect(await subscriptions(a.token)).toHaveLength(1);
  expect((await api(server.url, 'DELETE', '/api/agent/push-subscriptions', { endpoint: good.endpoint }, a.token)).status).toBe(204);
  expect(await subscriptions(a.token)).toEqual([]);

  const socket = await connect<AgentSocket>(server.url, '/agent', a.token);
  sockets.push(socket);
  expect(await request(socket, 'app:visibility', { visible: 'yes' })).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });

  // Without the test switch, loopback endpoints are refused like any other address.
  expect(() => checkEndpoint(good.endpoint, false)).toThrow('https');
  expect(() => checkEndpoint('https://127.0.0.1/x', false)).toThrow('public push service');
  expect(checkEndpoint('https://fcm.googleapis.com/fcm/send/abc', false).host).toBe('fcm.googleapis.com');
});

test('the generated VAPID key pair is kept (0600) and survives a restart', async () => {
  const before = (await api<{ publicKey: string }>(server.url, 'GET', '/api/push/vapid-public-key')).body.publicKey;
  expect(before).toMatch(/^[A-Za-z0-9_-]{87}$/);
  expect(statSync(path.join(server.dataDir, 'vapid-keys.json')).mode & 0o777).toBe(0o600);
  await server.restart();
  expect((await api<{ publicKey: string }>(server.url, 'GET', '/api/push/vapid-public-key')).body.publicKey).toBe(before);
});
