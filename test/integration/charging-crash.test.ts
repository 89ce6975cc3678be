// kill -9 during a charged chat: after the restart the open reservation is settled from the last
// recorded bridged time, nothing stays reserved, a second restart charges nothing more, and the chat
// that goes on is billed again from the restart. Needs the build (`npm run build`).
import { killNode, startNode, stopNode, type NodeProcess } from '../support/node-process.js';
import { ADMIN_FIRST_PASSWORD, TOKEN_SECRET, adminToken, api, createAgent, visitorToken } from '../support/server.js';
import { call, connect, msgId, next, type AgentSocket, type CustomerSocket } from '../support/sockets.js';
import type { CustomerChatView, Offer } from '../../protocol/events.js';
import type { WalletView } from '../../protocol/charging.js';

const ENV = {
  MCCS_TOKEN_SECRET: TOKEN_SECRET,
  MCCS_ADMIN_INITIAL_PASSWORD: ADMIN_FIRST_PASSWORD,
  MCCS_JANUS: 'off',
  MCCS_WEB_ROOT: '',
  MCCS_LOG_LEVEL: 'warn',
  MCCS_CHARGING_TICK_MS: '200',
};
const PLAN = { queueId: 'general', channel: 'chat', currency: 'EUR', perMinuteMinor: 600, firstIncrementSeconds: 1, nextIncrementSeconds: 1, revenueShareBps: 7000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let node: NodeProcess | undefined;
const sockets: Array<{ close(): unknown }> = [];

afterAll(async () => {
  for (const s of sockets.splice(0)) s.close();
  if (node) await stopNode(node);
});

async function wallet(url: string, token: string): Promise<WalletView> {
  return (await api<WalletView>(url, 'GET', '/api/wallet', undefined, token)).body;
}

async function records(url: string, admin: string, customerId: string): Promise<Array<{ sessionId: string; amountMinor: number; billedSeconds: number; terminationReason: string }>> {
  return (await api<{ records: Array<{ sessionId: string; amountMinor: number; billedSeconds: number; terminationReason: string }> }>(url, 'GET', `/api/admin/cdrs?customerId=${customerId}`, undefined, admin)).body.records;
}

test('a crash in a charged session settles it from the last checkpoint, once', async () => {
  node = await startNode(ENV);
  let admin = await adminToken(node.url);
  expect((await api(node.url, 'PUT', '/api/admin/rate-plans', PLAN, admin)).status).toBe(200);
  const agentAccount = await createAgent(node.url, admin, { displayName: 'Dana' });
  const visitor = await visitorToken(node.url, 'Lee');
  expect((await api(node.url, 'POST', `/api/admin/customers/${visitor.customerId}/credit`, { amountMinor: 10_000, currency: 'EUR', idempotencyKey: 'crash-credit-1' }, admin)).status).toBe(200);

  const agent = await connect<AgentSocket>(node.url, '/agent', agentAccount.token);
  sockets.push(agent);
  await next(agent, 'hello');
  await call(agent, 'presence:set', { state: 'ready' });
  const customer = await connect<CustomerSocket>(node.url, '/customer', visitor.token);
  sockets.push(customer);
  const offered = next<Offer>(agent, 'offer');
  const view = await call<CustomerChatView>(customer, 'chat:start', {
    queueId: 'general',
    text: 'Charged until the crash',
    clientMsgId: msgId(),
    price: { maxPerMinuteMinor: 600, currency: 'EUR' },
  });
  await offered;
  await call(agent, 'offer:accept', { taskId: view.taskId });
  await next(customer, 'charging:started');
  const during = await wallet(node.url, visitor.token);
  expect(during.reservedMinor).toBeGreaterThan(0); // a slice is held while the chat runs
  await sleep(2_500);

  // The power goes out: no shutdown code runs, the reservation is left open in the database.
  for (const s of sockets.splice(0)) s.close();
  await killNode(node);
  node = await startNode(ENV, { dataDir: node.dataDir, port: node.port });
  admin = await adminToken(node.url);

  const afterCrash = await wallet(node.url, visitor.token);
  const [crashed] = await records(node.url, admin, visitor.customerId);
  // Settled from the last checkpoint (every 200 ms): at least 2 s, at most the 2.5 s + a tick that passed.
  expect(crashed).toMatchObject({ terminationReason: 'recovered' });
  expect(crashed!.billedSeconds).toBeGreaterThanOrEqual(2);
  expect(crashed!.billedSeconds).toBeLessThanOrEqual(3);
  expect(crashed!.amountMinor).toBe(crashed!.billedSeconds * 10);
  // The chat is still in progress, so a new session bills it from the restart: only its slice is held.
  expect(afterCrash.balanceMinor).toBe(10_000 - crashed!.amountMinor);

  // A second crash right away: the first session is not charged again.
  await killNode(node);
  node = await startNode(ENV, { dataDir: node.dataDir, port: node.port });
  admin = await adminToken(node.url);
  const again = await records(node.url, admin, visitor.customerId);
  expect(again.filter((r) => r.sessionId === crashed!.sessionId)).toHaveLength(1);

  // The agent ends the chat; all sessions are settled and nothing stays reserved.
  const agent2 = await connect<AgentSocket>(node.url, '/agent', agentAccount.token);
  sockets.push(agent2);
  await next(agent2, 'hello');
  await call(agent2, 'chat:end', { taskId: view.taskId });
  let final: WalletView | undefined;
  for (let i = 0; i < 50; i++) {
    final = await wallet(node.url, visitor.token);
    if (final.reservedMinor === 0) break;
    await sleep(100);
  }
  const all = await records(node.url, admin, visitor.customerId);
  const charged = all.reduce((n, r) => n + r.amountMinor, 0);
  expect(final).toMatchObject({ reservedMinor: 0, balanceMinor: 10_000 - charged });
  expect(all.every((r) => r.amountMinor === r.billedSeconds * 10)).toBe(true);
}, 60_000);
