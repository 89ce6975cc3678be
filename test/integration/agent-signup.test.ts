// Agents who sign up themselves (docs/agents.md): sign-up validation (a price held to the topics' ranges
// like the later setting), the verification gate (no Ready, no offers until approved; the agent's app told
// at once), admins' decisions and their audit trail, suspension ending live sessions,
// what agents may not change about themselves, documents, and their own policies (hours, do not
// disturb, channels) keeping them away from work. On SQLite and PostgreSQL.
import type { Repository } from 'typeorm';
import { adminToken, api, startTestServer, visitorToken, type TestServer } from '../support/server.js';
import { call, connect, connectError, drain, msgId, next, request, type AgentSocket, type CustomerSocket } from '../support/sockets.js';
import { DIALECTS, PNG_BASE64, decide, signUpAgent, signupBody } from '../support/agents.js';
import type { AgentStatus, CustomerChatView, Offer } from '../../protocol/events.js';
import type { AccountRow } from '../../db/entities.js';
import { AgentPolicySweep } from '../../accounts/agent-policy-sweep.js';
import { localWeekTime } from '../../accounts/agent-policy.js';
import { createLogger } from '../../lib/logger.js';
import { loadConfig } from '../../lib/config.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(DIALECTS)('agent sign-up on $name', (dialect) => {
  let server: TestServer;
  let admin: string;
  let cleanup: () => Promise<void>;
  const sockets: Array<{ close(): unknown }> = [];

  beforeAll(async () => {
    const d = await dialect.env();
    cleanup = d.cleanup;
    server = await startTestServer({ MCCS_OFFER_TIMEOUT: '5', ...d.env });
    admin = await adminToken(server.url);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await server.close();
    await cleanup();
  });

  async function agentSocket(token: string): Promise<{ socket: AgentSocket; hello: { status: AgentStatus } }> {
    const socket = await connect<AgentSocket>(server.url, '/agent', token);
    sockets.push(socket);
    return { socket, hello: await next<{ status: AgentStatus }>(socket, 'hello') };
  }
  async function customerChat(text: string, queueId = 'general'): Promise<{ socket: CustomerSocket; view: CustomerChatView }> {
    const v = await visitorToken(server.url, 'Casey');
    const socket = await connect<CustomerSocket>(server.url, '/customer', v.token);
    sockets.push(socket);
    const view = await call<CustomerChatView>(socket, 'chat:start', { queueId, text, clientMsgId: msgId() });
    return { socket, view };
  }
  async function approvedAgent(overrides: Record<string, unknown> = {}) {
    const a = await signUpAgent(server.url, overrides);
    await decide(server.url, admin, a.id, 'approve', 'documents checked');
    return a;
  }

  test('sign-up validates its input at the edge', async () => {
    const bad: Array<[string, Record<string, unknown>]> = [
      ['unknown time zone', signupBody({ timeZone: 'Mars/Olympus_Mons' })],
      ['bio over 1000 characters', signupBody({ bio: 'x'.repeat(1001) })],
      ['skill level over 10', signupBody({ skills: [{ skill: 'tax', level: 11 }] })],
      ['skill level under 1', signupBody({ skills: [{ skill: 'tax', level: 0 }] })],
      ['short password', signupBody({ password: 'short' })],
      ['no legal name', { ...signupBody(), legalName: undefined }],
      ['a verification of its own', signupBody({ verification: 'verified' })],
      ['a role of its own', signupBody({ role: 'admin' })],
      ['bad language code', signupBody({ languages: ['English'] })],
    ];
    for (const [why, body] of bad) {
      const res = await api<{ error: { code: string } }>(server.url, 'POST', '/api/agent-signup', JSON.parse(JSON.stringify(body)));
      expect({ why, status: res.status, code: res.body.error.code }).toEqual({ why, status: 400, code: 'VALIDATION' });
    }
    const body = signupBody();
    const created = await api<{ verification: string; displayName: string; timeZone: string }>(server.url, 'POST', '/api/agent-signup', body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ verification: 'pending', displayName: body.displayName, timeZone: 'Europe/Paris' });
    expect(created.body).not.toHaveProperty('legalName');
    const again = await api<{ error: { code: string } }>(server.url, 'POST', '/api/agent-signup', { ...body, displayName: 'Other' });
    expect(again.status).toBe(409);
  });

  test('a price per minute at sign-up is held to the topics’ agent price ranges, exactly as the later setting is', async () => {
    expect((await api(server.url, 'POST', '/api/admin/queues', { id: 'paid-advice', name: 'Paid advice' }, admin)).status).toBe(201);
    const plan = {
      queueId: 'paid-advice',
      channel: 'chat',
      currency: 'EUR',
      perMinuteMinor: 600,
      sessionFeeMinor: 0,
      freeSeconds: 0,
      firstIncrementSeconds: 1,
      nextIncrementSeconds: 1,
      agentPriceMinMinor: 100,
      agentPriceMaxMinor: 900,
      revenueShareBps: 7000,
    };
    expect((await api(server.url, 'PUT', '/api/admin/rate-plans', plan, admin)).status).toBe(200);
    const email = `priced-${Date.now()}@example.test`;
    const refused: Array<[string, unknown]> = [
      ['negative', -1],
      ['not whole cents', 1.5],
      ['not a number', 'cheap'],
      ['above every topic’s range', 901],
      ['below every topic’s range', 99],
    ];
    for (const [why, price] of refused) {
      const res = await api<{ error: { code: string } }>(server.url, 'POST', '/api/agent-signup', signupBody({ email, pricePerMinuteMinor: price }));
      expect({ why, status: res.status, code: res.body.error.code }).toEqual({ why, status: 400, code: 'VALIDATION' });
    }
    // The later setting (PUT /api/agent/price) refuses the same prices and takes the same ones.
    const later = await approvedAgent();
    for (const price of [901, 99]) expect((await api(server.url, 'PUT', '/api/agent/price', { pricePerMinuteMinor: price }, later.token)).status).toBe(400);
    expect((await api(server.url, 'PUT', '/api/agent/price', { pricePerMinuteMinor: 900 }, later.token)).status).toBe(200);

    // Nothing was stored by the refusals: the same email signs up, at the top of the range.
    const priced = await signUpAgent(server.url, { email, pricePerMinuteMinor: 900 });
    const price = async (token: string) => (await api<{ pricePerMinuteMinor: number | null }>(server.url, 'GET', '/api/agent/earnings', undefined, token)).body.pricePerMinuteMinor;
    expect(await price(priced.token)).toBe(900);
    // Null or no price: each topic's own price (not zero).
    expect(await price((await signUpAgent(server.url, { pricePerMinuteMinor: null })).token)).toBeNull();
    expect(await price((await signUpAgent(server.url)).token)).toBeNull();
  });

  test('a pending agent signs in and edits the profile, but cannot go ready nor get offers until approved', async () => {
    const a = await signUpAgent(server.url);
    const profile = await api<{ verification: string }>(server.url, 'GET', '/api/agent/profile', undefined, a.token);
    expect(profile.body.verification).toBe('pending');
    const edited = await api<{ bio: string; skills: unknown[] }>(server.url, 'PUT', '/api/agent/profile', { bio: 'Tax and VAT.', skills: [{ skill: 'vat', level: 5 }] }, a.token);
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ bio: 'Tax and VAT.', skills: [{ skill: 'vat', level: 5 }] });

    const { socket, hello } = await agentSocket(a.token);
    expect(hello.status).toMatchObject({ state: 'not_ready', reason: 'awaiting verification' });
    const refused = await request<AgentStatus>(socket, 'presence:set', { state: 'ready' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'INVALID_STATE', message: expect.stringContaining('awaiting verification'), data: { reason: 'awaiting verification' } } });

    // A customer waits; the pending agent (the only one connected) is not offered the chat.
    const offered = next<Offer>(socket, 'offer', () => true, 8000);
    const { view } = await customerChat('Can you check my tax return?');
    await sleep(800);
    const none = await Promise.race([offered.then(() => 'offer'), sleep(200).then(() => 'none')]);
    expect(none).toBe('none');

    const bystander = await agentSocket((await signUpAgent(server.url)).token);
    await decide(server.url, admin, a.id, 'approve', 'ID and diploma checked');
    // The agent's app hears it at once (no polling): the account changed, and the agent stays not
    // ready (they choose when to start) but no longer "awaiting verification".
    expect(await next(socket, 'account:updated')).toEqual({ verification: 'verified' });
    expect(await next<AgentStatus>(socket, 'presence', (s) => s.reason !== 'awaiting verification')).toMatchObject({ state: 'not_ready', reason: null });
    expect((await api<{ verification: string }>(server.url, 'GET', '/api/agent/profile', undefined, a.token)).body.verification).toBe('verified');
    // Only that agent is told; another agent, still pending, keeps its reason.
    await expect(next(bystander.socket, 'account:updated', () => true, 500)).rejects.toThrow('no "account:updated"');
    expect(await request(bystander.socket, 'presence:set', { state: 'ready' })).toMatchObject({ ok: false, error: { data: { reason: 'awaiting verification' } } });
    expect((await call<AgentStatus>(socket, 'presence:set', { state: 'ready' })).state).toBe('ready');
    const offer = await offered;
    expect(offer.taskId).toBe(view.taskId);
    await call(socket, 'offer:accept', { taskId: view.taskId });
  });

  test('the agent cannot change their own verification, rating or revenue share', async () => {
    const a = await signUpAgent(server.url);
    for (const field of [{ verification: 'verified' }, { rating: 5 }, { revenueShareBps: 9000 }, { legalName: 'x', bio: 'y' }, { role: 'admin' }]) {
      const res = await api<{ error: { code: string } }>(server.url, 'PUT', '/api/agent/profile', field, a.token);
      expect({ field, status: res.status, code: res.body.error.code }).toEqual({ field, status: 400, code: 'VALIDATION' });
    }
    const self = await api(server.url, 'POST', `/api/admin/agents/${a.id}/verification`, { action: 'approve', reason: 'me' }, a.token);
    expect(self.status).toBe(403);
    const share = await api(server.url, 'PUT', `/api/admin/agents/${a.id}/revenue-share`, { revenueShareBps: 9000 }, a.token);
    expect([403, 404]).toContain(share.status);
    expect((await api<{ verification: string }>(server.url, 'GET', '/api/agent/profile', undefined, a.token)).body.verification).toBe('pending');
  });

  test('documents: checked against their type, listed for the agent, listed and downloaded by admins', async () => {
    const a = await signUpAgent(server.url);
    const other = await signUpAgent(server.url);
    const png = await api<{ id: string; sizeBytes: number; mimeType: string }>(
      server.url, 'POST', '/api/agent/documents', { filename: '../../id card.png', mimeType: 'image/png', contentBase64: PNG_BASE64 }, a.token,
    );
    expect(png.status).toBe(201);
    expect(png.body).toMatchObject({ mimeType: 'image/png', sizeBytes: Buffer.from(PNG_BASE64, 'base64').length });
    const lying = await api<{ error: { code: string } }>(server.url, 'POST', '/api/agent/documents', { filename: 'x.pdf', mimeType: 'application/pdf', contentBase64: PNG_BASE64 }, a.token);
    expect(lying.status).toBe(415);
    const gif = await api(server.url, 'POST', '/api/agent/documents', { filename: 'x.gif', mimeType: 'image/gif', contentBase64: PNG_BASE64 }, a.token);
    expect(gif.status).toBe(400);
    const big = Buffer.alloc(5 * 1024 * 1024 + 10);
    Buffer.from('%PDF-1.7').copy(big);
    const tooBig = await api(server.url, 'POST', '/api/agent/documents', { filename: 'big.pdf', mimeType: 'application/pdf', contentBase64: big.toString('base64') }, a.token);
    expect(tooBig.status).toBe(413);

    const own = await api<Array<{ id: string; filename: string }>>(server.url, 'GET', '/api/agent/documents', undefined, a.token);
    expect(own.body).toEqual([expect.objectContaining({ id: png.body.id, filename: 'id card.png' })]);
    expect((await api<unknown[]>(server.url, 'GET', '/api/agent/documents', undefined, other.token)).body).toEqual([]);
    expect((await api(server.url, 'GET', `/api/admin/agents/${a.id}/documents`, undefined, a.token)).status).toBe(403);

    const listed = await api<Array<{ id: string }>>(server.url, 'GET', `/api/admin/agents/${a.id}/documents`, undefined, admin);
    expect(listed.body.map((d) => d.id)).toEqual([png.body.id]);
    const download = await fetch(`${server.url}/api/admin/agents/${a.id}/documents/${png.body.id}`, { headers: { authorization: `Bearer ${admin}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await download.arrayBuffer()).equals(Buffer.from(PNG_BASE64, 'base64'))).toBe(true);
    // Another agent's document is not found through this agent.
    expect((await api(server.url, 'GET', `/api/admin/agents/${other.id}/documents/${png.body.id}`, undefined, admin)).status).toBe(404);

    const pending = await api<Array<{ id: string; verification: string; legalName: string }>>(server.url, 'GET', '/api/admin/agents?verification=pending', undefined, admin);
    expect(pending.body.find((x) => x.id === a.id)).toMatchObject({ verification: 'pending', legalName: expect.stringContaining('Jane Q. Expert') });
    const trust = await api<Record<string, unknown>>(server.url, 'GET', `/api/admin/agents/${a.id}/trust`, undefined, admin);
    expect(trust.body).toMatchObject({ verification: 'pending', rating: null, ratings: 0, completedSessions: 0, disputes: 0, documents: 1, lastDecision: null });
  });

  test('suspension ends live sessions, refuses sign-in and reconnection; the audit trail keeps every decision', async () => {
    const a = await approvedAgent();
    const { socket } = await agentSocket(a.token);
    await call(socket, 'presence:set', { state: 'ready' });
    const gone = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));

    await decide(server.url, admin, a.id, 'suspend', 'customer complaints under review');
    await expect(Promise.race([gone, sleep(5000).then(() => 'still connected')])).resolves.not.toBe('still connected');
    expect((await connectError(server.url, '/agent', a.token)).message).toBe('UNAUTHENTICATED');
    expect((await api(server.url, 'GET', '/api/agent/profile', undefined, a.token)).status).toBe(401);
    const login = await api<{ error: { code: string } }>(server.url, 'POST', '/api/auth/login', { email: a.email, password: a.password });
    expect(login.status).toBe(403);
    expect(login.body.error.code).toBe('FORBIDDEN');
    // Not twice.
    expect((await api(server.url, 'POST', `/api/admin/agents/${a.id}/verification`, { action: 'suspend', reason: 'again' }, admin)).status).toBe(409);

    await decide(server.url, admin, a.id, 'reinstate', 'complaints unfounded');
    const back = await api<{ token: string }>(server.url, 'POST', '/api/auth/login', { email: a.email, password: a.password });
    expect(back.status).toBe(200);
    const again = await agentSocket(back.body.token);
    expect((await call<AgentStatus>(again.socket, 'presence:set', { state: 'ready' })).state).toBe('ready');

    const trail = await api<Array<{ action: string; reason: string; byAdmin: string; at: number }>>(server.url, 'GET', `/api/admin/agents/${a.id}/verification`, undefined, admin);
    expect(trail.body.map((e) => [e.action, e.reason])).toEqual([
      ['approve', 'documents checked'],
      ['suspend', 'customer complaints under review'],
      ['reinstate', 'complaints unfounded'],
    ]);
    const me = await api<{ id: string }>(server.url, 'GET', '/api/me', undefined, admin);
    expect(new Set(trail.body.map((e) => e.byAdmin))).toEqual(new Set([me.body.id]));
    const trust = await api<{ verification: string; lastDecision: { action: string } }>(server.url, 'GET', `/api/admin/agents/${a.id}/trust`, undefined, admin);
    expect(trust.body).toMatchObject({ verification: 'verified', lastDecision: { action: 'reinstate' } });
  });

  test('a rejected agent may sign in but not go ready', async () => {
    const a = await signUpAgent(server.url);
    await decide(server.url, admin, a.id, 'reject', 'documents unreadable');
    expect((await api(server.url, 'GET', '/api/agent/profile', undefined, a.token)).status).toBe(401);
    const login = await api<{ token: string }>(server.url, 'POST', '/api/auth/login', { email: a.email, password: a.password });
    expect(login.status).toBe(200);
    const { socket, hello } = await agentSocket(login.body.token);
    expect(hello.status.reason).toBe('verification rejected');
    expect(await request(socket, 'presence:set', { state: 'ready' })).toMatchObject({ ok: false, error: { code: 'INVALID_STATE' } });
  });

  test('outside the weekly hours or in do-not-disturb the agent is not ready', async () => {
    const a = await approvedAgent({ timeZone: 'UTC' });
    const { socket } = await agentSocket(a.token);
    const today = localWeekTime('UTC', Date.now()).day;
    const tomorrow = (today + 1) % 7;
    const hours = await api(server.url, 'PUT', '/api/agent/profile', { availability: [{ day: tomorrow, from: '00:00', to: '24:00' }] }, a.token);
    expect(hours.status).toBe(200);
    expect(await request(socket, 'presence:set', { state: 'ready' })).toMatchObject({ ok: false, error: { data: { reason: 'outside my hours' } } });

    const allWeek = [0, 1, 2, 3, 4, 5, 6].map((day) => ({ day, from: '00:00', to: '24:00' }));
    await api(server.url, 'PUT', '/api/agent/profile', { availability: allWeek }, a.token);
    expect((await call<AgentStatus>(socket, 'presence:set', { state: 'ready' })).state).toBe('ready');

    // Do not disturb takes effect at once: the ready agent becomes not ready.
    drain(socket, 'presence');
    const notReady = next<AgentStatus>(socket, 'presence', (s) => s.state === 'not_ready');
    const dnd = await api<{ dndUntil: number }>(server.url, 'PUT', '/api/agent/profile', { dndUntil: Date.now() + 3_600_000 }, a.token);
    expect(dnd.body.dndUntil).toBeGreaterThan(Date.now());
    expect((await notReady).reason).toBe('do not disturb');
    expect(await request(socket, 'presence:set', { state: 'ready' })).toMatchObject({ ok: false, error: { data: { reason: 'do not disturb' } } });
    await api(server.url, 'PUT', '/api/agent/profile', { dndUntil: null }, a.token);
    expect((await call<AgentStatus>(socket, 'presence:set', { state: 'ready' })).state).toBe('ready');
    await call(socket, 'presence:set', { state: 'not_ready' });

    const backwards = await api(server.url, 'PUT', '/api/agent/profile', { availability: [{ day: 1, from: '18:00', to: '09:00' }] }, a.token);
    expect(backwards.status).toBe(400);
    expect((await api(server.url, 'PUT', '/api/agent/profile', { timeZone: 'Nowhere/Town' }, a.token)).status).toBe(400);
    expect((await api(server.url, 'PUT', '/api/agent/profile', { concurrentChats: 11 }, a.token)).status).toBe(400);
  });

  test('a channel the agent does not take is never offered', async () => {
    const a = await approvedAgent();
    await api(server.url, 'PUT', '/api/agent/profile', { channels: ['call', 'video'] }, a.token);
    const first = await agentSocket(a.token);
    await call(first.socket, 'presence:set', { state: 'ready' });
    const offered = next<Offer>(first.socket, 'offer', () => true, 3000).then(() => 'offer', () => 'none');
    const { view } = await customerChat('chat please');
    expect(await offered).toBe('none');

    // Taking chats again applies from the next connection.
    await api(server.url, 'PUT', '/api/agent/profile', { channels: ['chat'] }, a.token);
    first.socket.close();
    const second = await agentSocket(a.token);
    await call(second.socket, 'presence:set', { state: 'ready' });
    const offer = await next<Offer>(second.socket, 'offer');
    expect(offer.taskId).toBe(view.taskId);
    await call(second.socket, 'offer:reject', { taskId: view.taskId });
  });
});

test('the minute sweep sets ready agents not ready when their hours end or do-not-disturb begins', async () => {
  const now = Date.UTC(2025, 0, 6, 18, 30); // a Monday, 18:30 UTC
  const account = (id: string, policies: AccountRow['policies'], verification: AccountRow['verification'] = 'verified') =>
    ({ id, role: 'agent', verification, timeZone: 'UTC', policies }) as AccountRow;
  const accounts = [
    account('ended', { availability: [{ day: 0, from: '09:00', to: '18:00' }], channels: ['chat'], dndUntil: null }),
    account('working', { availability: [{ day: 0, from: '09:00', to: '20:00' }], channels: ['chat'], dndUntil: null }),
    account('dnd', { availability: [], channels: ['chat'], dndUntil: now + 60_000 }),
    account('already-away', { availability: [{ day: 2, from: '09:00', to: '18:00' }], channels: ['chat'], dndUntil: null }),
    account('suspended', null, 'suspended'),
  ];
  const states: Record<string, string> = { ended: 'ready', working: 'ready', dnd: 'busy', 'already-away': 'not_ready', suspended: 'ready' };
  const set: Array<[string, string]> = [];
  const sweep = new AgentPolicySweep({
    accounts: { findBy: async () => accounts } as unknown as Repository<AccountRow>,
    status: async (id) => ({ state: states[id]! }),
    setNotReady: async (id, reason) => void set.push([id, reason]),
    logger: createLogger(loadConfig({ MCCS_LOG_LEVEL: 'error' })),
  });
  expect(await sweep.sweep(now)).toEqual(['ended', 'dnd', 'suspended']);
  expect(set).toEqual([
    ['ended', 'outside my hours'],
    ['dnd', 'do not disturb'],
    ['suspended', 'suspended'],
  ]);
});
