// A prepaid customer's chat on a charged topic, through the public API: the price must be agreed and
// paid for, the agent's answer opens a reservation, paid time running out warns and then cuts the chat
// off, the bridged time is rated and posted with the agent's share, and the views (wallet, agent
// earnings, revenue report, call detail records) all say the same.
import { createHmac } from 'node:crypto';
import { adminToken, api, createAgent, startTestServer, visitorToken, type TestServer } from '../support/server.js';
import { call, connect, msgId, next, request, type AgentSocket, type CustomerSocket } from '../support/sockets.js';
import type { CustomerChatView, Offer } from '../../protocol/events.js';
import type { QuoteView, WalletView } from '../../protocol/charging.js';

let server: TestServer;
let admin: string;
const sockets: Array<{ close(): unknown }> = [];

// 600 cents a minute billed by the second: one second costs exactly 10 cents.
const PLAN = {
  queueId: 'general',
  channel: 'chat',
  currency: 'EUR',
  perMinuteMinor: 600,
  sessionFeeMinor: 0,
  freeSeconds: 0,
  firstIncrementSeconds: 1,
  nextIncrementSeconds: 1,
  agentPriceMinMinor: null,
  agentPriceMaxMinor: 900,
  revenueShareBps: 7000,
};
const AGREED = { maxPerMinuteMinor: 900, currency: 'EUR' };
const WEBHOOK_SECRET = 'psp-shared-secret-for-tests-0123';

/** What the payment provider would send: the raw body and its X-Mccs-Signature. */
function signed(event: Record<string, unknown>, secret = WEBHOOK_SECRET, at = Math.floor(Date.now() / 1000)): { body: string; signature: string } {
  const body = JSON.stringify(event);
  return { body, signature: `t=${at},v1=${createHmac('sha256', secret).update(`${at}.${body}`).digest('hex')}` };
}

async function webhook(s: { body: string; signature: string }): Promise<number> {
  const res = await fetch(`${server.url}/api/payments/psp/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-mccs-signature': s.signature }, body: s.body });
  return res.status;
}

async function customer(name = 'Pat'): Promise<{ socket: CustomerSocket; customerId: string; token: string }> {
  const v = await visitorToken(server.url, name);
  const socket = await connect<CustomerSocket>(server.url, '/customer', v.token);
  sockets.push(socket);
  return { socket, customerId: v.customerId, token: v.token };
}

async function readyAgent(name: string): Promise<{ socket: AgentSocket; id: string; token: string }> {
  const a = await createAgent(server.url, admin, { displayName: name });
  const socket = await connect<AgentSocket>(server.url, '/agent', a.token);
  sockets.push(socket);
  await next(socket, 'hello');
  await call(socket, 'presence:set', { state: 'ready' });
  return { socket, id: a.id, token: a.token };
}

async function credit(customerId: string, amountMinor: number, key = `credit-${msgId()}`): Promise<WalletView> {
  const res = await api<WalletView>(server.url, 'POST', `/api/admin/customers/${customerId}/credit`, { amountMinor, currency: 'EUR', idempotencyKey: key }, admin);
  expect(res.status).toBe(200);
  return res.body;
}

beforeAll(async () => {
  server = await startTestServer({ MCCS_CHARGING_TICK_MS: '100', MCCS_PAYMENT_WEBHOOK_SECRET: WEBHOOK_SECRET });
  admin = await adminToken(server.url);
  expect((await api(server.url, 'PUT', '/api/admin/rate-plans', PLAN, admin)).status).toBe(200);
});

afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

afterAll(async () => {
  await server.close();
});

test('the quote shows the price before connecting; a free channel says it is free', async () => {
  const chat = await api<QuoteView>(server.url, 'GET', '/api/queues/general/quote?channel=chat');
  expect(chat.status).toBe(200);
  expect(chat.body).toMatchObject({ charged: true, currency: 'EUR', perMinuteMinor: 600, maxPerMinuteMinor: 900, firstIncrementSeconds: 1 });
  const video = await api<QuoteView>(server.url, 'GET', '/api/queues/general/quote?channel=video');
  expect(video.body).toMatchObject({ charged: false });
  expect((await api(server.url, 'GET', '/api/queues/general/quote?channel=fax')).status).toBe(400);
});

test('a charged start needs the price agreed, in the plan currency, and a balance that pays for it', async () => {
  const c = await customer();
  const start = (price?: unknown) => request<CustomerChatView>(c.socket, 'chat:start', { queueId: 'general', text: 'Hi', clientMsgId: msgId(), ...(price ? { price } : {}) });

  const unagreed = await start();
  expect(unagreed.ok).toBe(false);
  if (!unagreed.ok) {
    expect(unagreed.error.code).toBe('PRICE_NOT_ACCEPTED');
    expect((unagreed.error.data as { quote: QuoteView }).quote.perMinuteMinor).toBe(600);
  }
  const otherCurrency = await start({ maxPerMinuteMinor: 900, currency: 'USD' });
  expect(!otherCurrency.ok && otherCurrency.error.code).toBe('PRICE_NOT_ACCEPTED');
  const belowPrice = await start({ maxPerMinuteMinor: 599, currency: 'EUR' });
  expect(!belowPrice.ok && belowPrice.error.code).toBe('PRICE_NOT_ACCEPTED');
  const broke = await start(AGREED);
  expect(!broke.ok && broke.error.code).toBe('INSUFFICIENT_FUNDS');

  // Nothing was queued by the refused starts.
  const wallet = await api<WalletView>(server.url, 'GET', '/api/wallet', undefined, c.token);
  expect(wallet.body).toMatchObject({ balanceMinor: 0, reservedMinor: 0, availableMinor: 0 });
});

test('an admin credit is applied once per key', async () => {
  const c = await customer();
  await credit(c.customerId, 250, 'credit-once-key-1');
  const again = await credit(c.customerId, 250, 'credit-once-key-1');
  expect(again).toMatchObject({ balanceMinor: 250, currency: 'EUR' });
  const conflicting = await api(server.url, 'POST', `/api/admin/customers/${c.customerId}/credit`, { amountMinor: 999, currency: 'EUR', idempotencyKey: 'credit-once-key-1' }, admin);
  expect(conflicting.status).toBe(409);
  const mine = await api<WalletView>(server.url, 'GET', '/api/wallet', undefined, c.token);
  expect(mine.body.availableMinor).toBe(250);
  // A visitor sees only its own wallet; staff tokens are not visitors.
  expect((await api(server.url, 'GET', '/api/wallet', undefined, admin)).status).toBe(403);
  expect((await api(server.url, 'GET', '/api/wallet')).status).toBe(401);
});

test('a prepaid chat is warned, cut off at zero, rated by the second and posted with the agent share', async () => {
  const agent = await readyAgent('Robin');
  const c = await customer();
  await credit(c.customerId, 35); // pays for 3 seconds (30 cents); 5 cents stay

  const offered = next<Offer>(agent.socket, 'offer');
  const view = await call<CustomerChatView>(c.socket, 'chat:start', { queueId: 'general', text: 'Is my battery safe?', clientMsgId: msgId(), price: AGREED });
  await offered;
  const started = next<{ taskId: string; charge: { perMinuteMinor: number; currency: string } }>(c.socket, 'charging:started');
  await call(agent.socket, 'offer:accept', { taskId: view.taskId });
  expect((await started).charge).toMatchObject({ perMinuteMinor: 600, currency: 'EUR', pausedOnHold: false }); // a chat's clock runs to the end

  // Less than a minute is paid for: the warning comes at once, the cut-off when the 3 s are used.
  const warning = await next<{ taskId: string; secondsLeft: number }>(c.socket, 'charging:warning');
  expect(warning.taskId).toBe(view.taskId);
  expect(warning.secondsLeft).toBeLessThanOrEqual(3);
  await next(agent.socket, 'charging:warning');
  const ended = await next<{ taskId: string; by: string; reason?: string }>(c.socket, 'chat:ended', (e) => e.taskId === view.taskId, 10_000);
  expect(ended).toMatchObject({ by: 'system', reason: 'balance_exhausted' });
  const agentSide = await next<{ taskId: string; reason?: string }>(agent.socket, 'task:ended', (e) => e.taskId === view.taskId);
  expect(agentSide.reason).toBe('balance_exhausted');
  // The agent's app can no longer write into it.
  expect((await request(agent.socket, 'chat:send', { taskId: view.taskId, text: 'still there?', clientMsgId: msgId() })).ok).toBe(false);

  // Settled: exactly the 3 paid seconds, nothing reserved any more.
  let wallet: WalletView | undefined;
  for (let i = 0; i < 50; i++) {
    wallet = (await api<WalletView>(server.url, 'GET', '/api/wallet', undefined, c.token)).body;
    if (wallet.reservedMinor === 0 && wallet.balanceMinor < 35) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(wallet).toMatchObject({ balanceMinor: 5, reservedMinor: 0, availableMinor: 5 });

  const earnings = await api<{ totals: Array<Record<string, number | string>> }>(server.url, 'GET', '/api/agent/earnings', undefined, agent.token);
  expect(earnings.status).toBe(200);
  expect(earnings.body.totals).toEqual([expect.objectContaining({ currency: 'EUR', sessions: 1, billedSeconds: 3, grossMinor: 30, agentShareMinor: 21 })]);

  const revenue = await api<{ totals: Array<Record<string, number | string>> }>(server.url, 'GET', '/api/admin/revenue', undefined, admin);
  const eur = revenue.body.totals.find((t) => t.currency === 'EUR')!;
  expect(Number(eur.grossMinor)).toBe(Number(eur.agentShareMinor) + Number(eur.platformMinor) + Number(eur.taxMinor));

  const cdrs = await api<{ records: Array<Record<string, unknown>> }>(server.url, 'GET', `/api/admin/cdrs?customerId=${c.customerId}`, undefined, admin);
  expect(cdrs.body.records).toEqual([
    expect.objectContaining({ taskId: view.taskId, channel: 'chat', agentId: agent.id, terminationReason: 'balance_exhausted', billedSeconds: 3, amountMinor: 30, currency: 'EUR', ratingStatus: 'rated' }),
  ]);
  const csv = await fetch(`${server.url}/api/admin/cdrs?format=csv&customerId=${c.customerId}`, { headers: { authorization: `Bearer ${admin}` } });
  expect(csv.headers.get('content-type')).toContain('text/csv');
  const lines = (await csv.text()).trim().split(/\r?\n/);
  expect(lines).toHaveLength(2);
  expect(lines[1]).toContain(view.taskId);

  // Staff other than admins cannot read the money of others.
  expect((await api(server.url, 'GET', '/api/admin/revenue', undefined, agent.token)).status).toBe(403);
});

test('an admin refunds a charged session once; the agent share is taken back with it', async () => {
  const agent = await readyAgent('Sam');
  const c = await customer();
  await credit(c.customerId, 1000);
  const offered = next<Offer>(agent.socket, 'offer');
  const view = await call<CustomerChatView>(c.socket, 'chat:start', { queueId: 'general', text: 'Quick one', clientMsgId: msgId(), price: AGREED });
  await offered;
  await call(agent.socket, 'offer:accept', { taskId: view.taskId });
  await next(c.socket, 'charging:started');
  await new Promise((r) => setTimeout(r, 1_200));
  await call(agent.socket, 'chat:end', { taskId: view.taskId });

  let record: { sessionId: string; amountMinor: number } | undefined;
  for (let i = 0; i < 50 && !record; i++) {
    const cdrs = await api<{ records: Array<{ sessionId: string; amountMinor: number; taskId: string }> }>(server.url, 'GET', `/api/admin/cdrs?customerId=${c.customerId}`, undefined, admin);
    record = cdrs.body.records.find((r) => r.taskId === view.taskId);
    if (!record) await new Promise((r) => setTimeout(r, 100));
  }
  expect(record!.amountMinor).toBeGreaterThanOrEqual(10);
  const charged = record!.amountMinor;
  const before = (await api<WalletView>(server.url, 'GET', '/api/wallet', undefined, c.token)).body;
  expect(before.balanceMinor).toBe(1000 - charged);

  const refund = { idempotencyKey: `refund-${view.taskId}` };
  expect((await api(server.url, 'POST', `/api/admin/sessions/${record!.sessionId}/refund`, refund, admin)).status).toBe(200);
  expect((await api(server.url, 'POST', `/api/admin/sessions/${record!.sessionId}/refund`, refund, admin)).status).toBe(200);
  const after = (await api<WalletView>(server.url, 'GET', '/api/wallet', undefined, c.token)).body;
  expect(after.balanceMinor).toBe(1000);
  const earnings = await api<{ totals: Array<{ agentShareMinor: number; refundsMinor: number }> }>(server.url, 'GET', '/api/agent/earnings', undefined, agent.token);
  expect(earnings.body.totals[0]!.refundsMinor).toBe(charged);
});

test('an agent sets and clears an own price; null means the topic’s price, not zero', async () => {
  const a = await createAgent(server.url, admin, { displayName: 'Pricey' });
  expect((await api(server.url, 'PUT', '/api/agent/price', { pricePerMinuteMinor: 800 }, a.token)).body).toEqual({ pricePerMinuteMinor: 800 });
  // Above every topic's agent range: refused, nothing stored.
  expect((await api(server.url, 'PUT', '/api/agent/price', { pricePerMinuteMinor: 5000 }, a.token)).status).toBe(400);
  expect((await api<{ pricePerMinuteMinor: number | null }>(server.url, 'GET', '/api/agent/earnings', undefined, a.token)).body.pricePerMinuteMinor).toBe(800);
  expect((await api(server.url, 'PUT', '/api/agent/price', { pricePerMinuteMinor: null }, a.token)).body).toEqual({ pricePerMinuteMinor: null });
  expect((await api<{ pricePerMinuteMinor: number | null }>(server.url, 'GET', '/api/agent/earnings', undefined, a.token)).body.pricePerMinuteMinor).toBeNull();
});

test('a payment provider tops up by signed webhook, once per event; bad signatures change nothing', async () => {
  const c = await customer('Paying Pat');
  const event = { id: `evt_${msgId()}`, type: 'payment.succeeded', customerId: c.customerId, amountMinor: 1500, currency: 'EUR' };
  expect(await webhook(signed(event))).toBe(200);
  expect(await webhook(signed(event))).toBe(200); // the provider retries: booked once
  expect(await webhook(signed({ ...event, id: `evt_${msgId()}` }, 'a-different-secret-of-some-length'))).toBe(401);
  expect(await webhook(signed({ ...event, id: `evt_${msgId()}` }, WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 3600))).toBe(401); // a replay an hour later
  expect(await webhook({ body: '{not json', signature: signed(event).signature })).toBe(401);
  const wallet = await api<WalletView>(server.url, 'GET', '/api/wallet', undefined, c.token);
  expect(wallet.body).toMatchObject({ balanceMinor: 1500, currency: 'EUR' });
});

test('a postpaid customer talks on credit up to the limit; an admin gives a top-up back', async () => {
  const c = await customer('Corporate Cory');
  // Prepaid and empty: refused.
  expect((await request(c.socket, 'chat:start', { queueId: 'general', text: 'Hi', clientMsgId: msgId(), price: AGREED })).ok).toBe(false);
  const terms = await api<WalletView>(server.url, 'PUT', `/api/admin/customers/${c.customerId}/credit-terms`, { kind: 'postpaid', creditLimitMinor: 500, currency: 'EUR' }, admin);
  expect(terms.body).toMatchObject({ kind: 'postpaid', balanceMinor: 0, availableMinor: 500 });
  expect((await api(server.url, 'PUT', `/api/admin/customers/${c.customerId}/credit-terms`, { kind: 'prepaid', creditLimitMinor: 100, currency: 'EUR' }, admin)).status).toBe(400);
  const started = await request<CustomerChatView>(c.socket, 'chat:start', { queueId: 'general', text: 'On account, please', clientMsgId: msgId(), price: AGREED });
  expect(started.ok).toBe(true);
  if (started.ok) await call(c.socket, 'chat:leave', { taskId: started.data.taskId });

  const topped = await api<WalletView & { transactionId: string }>(server.url, 'POST', `/api/admin/customers/${c.customerId}/credit`, { amountMinor: 300, currency: 'EUR', idempotencyKey: `credit-${msgId()}` }, admin);
  expect(topped.body.balanceMinor).toBe(300);
  const refund = { idempotencyKey: `refund-topup-${msgId()}` };
  expect((await api(server.url, 'POST', `/api/admin/topups/${topped.body.transactionId}/refund`, refund, admin)).status).toBe(200);
  expect((await api(server.url, 'POST', `/api/admin/topups/${topped.body.transactionId}/refund`, refund, admin)).status).toBe(200);
  expect((await api<WalletView>(server.url, 'GET', '/api/wallet', undefined, c.token)).body.balanceMinor).toBe(0);
});

test('a free topic needs no agreement and charges nothing', async () => {
  const created = await api(server.url, 'POST', '/api/admin/queues', { id: 'free-help', name: 'Free help' }, admin);
  expect(created.status).toBe(201);
  const agent = await readyAgent('Kim');
  const c = await customer();
  const offered = next<Offer>(agent.socket, 'offer', (o) => o.queue.id === 'free-help');
  const view = await call<CustomerChatView>(c.socket, 'chat:start', { queueId: 'free-help', text: 'Hello', clientMsgId: msgId() });
  await offered;
  await call(agent.socket, 'offer:accept', { taskId: view.taskId });
  await call(agent.socket, 'chat:end', { taskId: view.taskId });
  let records: Array<{ ratingStatus: string; amountMinor: number }> = [];
  for (let i = 0; i < 50 && records.length === 0; i++) {
    records = (await api<{ records: typeof records }>(server.url, 'GET', `/api/admin/cdrs?customerId=${c.customerId}`, undefined, admin)).body.records;
    if (records.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  expect(records).toEqual([expect.objectContaining({ ratingStatus: 'free', amountMinor: 0 })]);
});

test('money follows a profile merge: at once when nothing runs, else when the running chat ends (it keeps reserving where it started)', async () => {
  const wallet = (token: string) => api<WalletView>(server.url, 'GET', '/api/wallet', undefined, token).then((r) => r.body);
  async function walletWhen(token: string, done: (w: WalletView) => boolean): Promise<WalletView> {
    let w = await wallet(token);
    for (let i = 0; i < 50 && !done(w); i++) {
      await new Promise((r) => setTimeout(r, 100));
      w = await wallet(token);
    }
    return w;
  }
  const merge = (into: string, from: string) => api(server.url, 'POST', `/api/admin/customers/${into}/merge`, { fromCustomerId: from }, admin);

  // Nothing running: the balance moves with the merge.
  const first = await customer('First device');
  const second = await customer('Second device');
  await credit(first.customerId, 100);
  await credit(second.customerId, 250);
  expect((await merge(first.customerId, second.customerId)).status).toBe(200);
  expect(await walletWhen(first.token, (w) => w.balanceMinor !== 100)).toMatchObject({ balanceMinor: 350, reservedMinor: 0 });

  // A charged chat running on the merged profile: its money stays with it until it ends.
  const agent = await readyAgent('Mona');
  const older = await customer('Old device');
  const newer = await customer('New device');
  await credit(older.customerId, 100);
  await credit(newer.customerId, 5000);
  const offered = next<Offer>(agent.socket, 'offer');
  const view = await call<CustomerChatView>(newer.socket, 'chat:start', { queueId: 'general', text: 'Merge me', clientMsgId: msgId(), price: AGREED });
  await offered;
  await call(agent.socket, 'offer:accept', { taskId: view.taskId });
  await next(newer.socket, 'charging:started');
  expect((await wallet(newer.token)).reservedMinor).toBeGreaterThan(0);
  expect((await merge(older.customerId, newer.customerId)).status).toBe(200);
  await new Promise((r) => setTimeout(r, 1_200));
  expect(await wallet(older.token)).toMatchObject({ balanceMinor: 100, reservedMinor: 0 });

  await call(agent.socket, 'chat:end', { taskId: view.taskId });
  let record: { amountMinor: number } | undefined;
  for (let i = 0; i < 50 && !record; i++) {
    const cdrs = await api<{ records: Array<{ amountMinor: number; taskId: string }> }>(server.url, 'GET', `/api/admin/cdrs?customerId=${older.customerId}`, undefined, admin);
    record = cdrs.body.records.find((r) => r.taskId === view.taskId);
    if (!record) await new Promise((r) => setTimeout(r, 100));
  }
  expect(record!.amountMinor).toBeGreaterThanOrEqual(10);
  // Everything not spent is on the surviving profile; nothing is left behind or held.
  expect(await walletWhen(older.token, (w) => w.balanceMinor !== 100)).toMatchObject({ balanceMinor: 5100 - record!.amountMinor, reservedMinor: 0 });
});
