// A prepaid customer's browser call on a charged topic, against a real Janus on loopback: the billing
// clock starts only when customer and agent are both in the room, the call is cut off (media and task)
// when the paid time is used, and exactly the bridged seconds are posted with the agent's share; time
// on hold is not billed.
import { readFileSync } from 'node:fs';
import { adminToken, api, createAgent, startTestServer, visitorToken, waitForMedia, type TestServer } from '../support/server.js';
import { call, connect, msgId, next, type AgentSocket, type CustomerSocket } from '../support/sockets.js';
import { freePort } from '../support/ports.js';
import type { ChargeView, CustomerChatView, MediaView, Offer } from '../../protocol/events.js';
import type { WalletView } from '../../protocol/charging.js';

const AUDIO_OFFER = readFileSync(new URL('../fixtures/chromium-audio-offer.sdp', import.meta.url), 'utf8');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: TestServer;
let admin: string;
const sockets: Array<{ close(): unknown }> = [];

beforeAll(async () => {
  server = await startTestServer({
    MCCS_JANUS: 'auto',
    MCCS_JANUS_WS_PORT: String(await freePort()),
    MCCS_JANUS_RTP_PORTS: '23000-23999',
    MCCS_CHARGING_TICK_MS: '100',
  });
  admin = await adminToken(server.url);
  const plan = { queueId: 'general', channel: 'call', currency: 'EUR', perMinuteMinor: 600, firstIncrementSeconds: 1, nextIncrementSeconds: 1, revenueShareBps: 8000 };
  expect((await api(server.url, 'PUT', '/api/admin/rate-plans', plan, admin)).status).toBe(200);
  await waitForMedia(server.url);
}, 60_000);

afterAll(async () => {
  for (const s of sockets.splice(0)) s.close();
  await server?.close();
});

/**
 * A ready agent and a customer with 25 cents (at 10 cents a second: 2 s of talk) who starts a charged
 * browser call; the agent accepts it. Nobody has joined the media yet.
 */
async function answeredChargedCall(agentName: string, customerName: string) {
  const agentAccount = await createAgent(server.url, admin, { displayName: agentName });
  const agent = await connect<AgentSocket>(server.url, '/agent', agentAccount.token);
  sockets.push(agent);
  await next(agent, 'hello');
  await call(agent, 'presence:set', { state: 'ready' });
  const visitor = await visitorToken(server.url, customerName);
  const customer = await connect<CustomerSocket>(server.url, '/customer', visitor.token);
  sockets.push(customer);
  expect((await api(server.url, 'POST', `/api/admin/customers/${visitor.customerId}/credit`, { amountMinor: 25, currency: 'EUR', idempotencyKey: `call-${msgId()}` }, admin)).status).toBe(200);

  const offered = next<Offer>(agent, 'offer');
  const view = await call<CustomerChatView>(customer, 'call:start', { queueId: 'general', video: false, clientMsgId: msgId(), price: { maxPerMinuteMinor: 600, currency: 'EUR' } });
  const offer = await offered;
  const ready = next<MediaView>(customer, 'media:ready');
  const started = next<{ charge: ChargeView }>(customer, 'charging:started');
  await call(agent, 'offer:accept', { taskId: view.taskId });
  await ready;
  return { agentAccount, agent, visitor, customer, taskId: view.taskId, offer, charge: (await started).charge };
}

/** The customer's wallet once the session's reservation is released. */
async function settledWallet(visitorToken: string): Promise<WalletView | undefined> {
  let wallet: WalletView | undefined;
  for (let i = 0; i < 50; i++) {
    wallet = (await api<WalletView>(server.url, 'GET', '/api/wallet', undefined, visitorToken)).body;
    if (wallet.reservedMinor === 0) break;
    await sleep(100);
  }
  return wallet;
}

test('a charged call is billed from the moment both are connected and cut off when the paid time is used', async () => {
  const { agentAccount, agent, visitor, customer, taskId, offer } = await answeredChargedCall('Ari', 'Noor');
  expect(offer.channel).toBe('call');
  // A browser call's offer carries the customer's context too (a first contact here).
  expect(offer.context).toMatchObject({ returning: false, sessions: 0 });

  // Answered, but nobody is connected yet: these seconds are not billed.
  await sleep(1_500);
  expect((await api<WalletView>(server.url, 'GET', '/api/wallet', undefined, visitor.token)).body.balanceMinor).toBe(25);

  const mediaEnded = next<{ reason: string }>(customer, 'media:ended', () => true, 10_000);
  const chatEnded = next<{ reason?: string }>(customer, 'chat:ended', () => true, 10_000);
  await call(customer, 'media:join', { taskId: taskId, sdp: AUDIO_OFFER });
  await call(agent, 'media:join', { taskId: taskId, sdp: AUDIO_OFFER });
  const bridgedAt = Date.now();
  await next(customer, 'charging:warning');
  expect((await mediaEnded).reason).toBe('balance_exhausted');
  expect((await chatEnded).reason).toBe('balance_exhausted');
  // Cut off after the 2 paid seconds (plus at most a tick and the teardown), not before.
  expect(Date.now() - bridgedAt).toBeGreaterThanOrEqual(1_800);

  expect(await settledWallet(visitor.token)).toMatchObject({ balanceMinor: 5, reservedMinor: 0 });
  const cdrs = await api<{ records: Array<Record<string, unknown>> }>(server.url, 'GET', `/api/admin/cdrs?customerId=${visitor.customerId}`, undefined, admin);
  expect(cdrs.body.records).toEqual([
    expect.objectContaining({ taskId: taskId, channel: 'call', billedSeconds: 2, amountMinor: 20, ratingStatus: 'rated', terminationReason: 'balance_exhausted' }),
  ]);
  const earnings = await api<{ totals: Array<{ agentShareMinor: number; grossMinor: number }> }>(server.url, 'GET', '/api/agent/earnings', undefined, agentAccount.token);
  expect(earnings.body.totals).toEqual([expect.objectContaining({ grossMinor: 20, agentShareMinor: 16 })]);
}, 40_000);

test('time on hold is not billed: the paid seconds last through a hold and run out after the resume', async () => {
  const { agent, visitor, customer, taskId, charge } = await answeredChargedCall('Holly', 'Hana');
  expect(charge.pausedOnHold).toBe(true); // the widget says so while the customer is on hold

  let endedAt = 0;
  const mediaEnded = next<{ reason: string }>(customer, 'media:ended', () => true, 15_000).then((e) => ((endedAt = Date.now()), e));
  await call(customer, 'media:join', { taskId: taskId, sdp: AUDIO_OFFER });
  await call(agent, 'media:join', { taskId: taskId, sdp: AUDIO_OFFER });
  await call(agent, 'media:hold', { taskId: taskId, held: true });
  await sleep(3_000); // longer than the paid time: billed, the call would end during the hold
  expect(endedAt).toBe(0);
  await call(agent, 'media:hold', { taskId: taskId, held: false });
  const resumedAt = Date.now();
  expect((await mediaEnded).reason).toBe('balance_exhausted');
  // The unused paid time (2 s less the moment before the hold) runs out after the resume.
  expect(endedAt - resumedAt).toBeGreaterThanOrEqual(1_000);

  expect(await settledWallet(visitor.token)).toMatchObject({ balanceMinor: 5, reservedMinor: 0 });
  const cdrs = await api<{ records: Array<Record<string, unknown>> }>(server.url, 'GET', `/api/admin/cdrs?customerId=${visitor.customerId}`, undefined, admin);
  expect(cdrs.body.records).toEqual([expect.objectContaining({ taskId: taskId, billedSeconds: 2, amountMinor: 20, terminationReason: 'balance_exhausted' })]);
}, 40_000);
