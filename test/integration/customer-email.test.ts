// Email identities through the API, on SQLite and PostgreSQL: a visitor gives an email and gets a
// one-time code in the outbox; only the right code, in time, once, from the same visitor links the email
// to the profile, and if another profile has it the two are merged into the older one (the customer,
// with a token for that profile, sees the earlier conversations, and so does the agent). Wrong, expired
// and reused codes, the rate limits, validation, and that an unverified email never links; the email
// masked for agents as the queue says, in the export, gone after erasure; the browser's language.
import type { DataSource } from 'typeorm';
import { adminToken, api, createAgent, startTestServer, visitorToken, type TestServer } from '../support/server.js';
import { call, connect, msgId, next, request, type CustomerSocket } from '../support/sockets.js';
import { chatParties } from '../support/chat-parties.js';
import { mailedCode, outbox } from '../support/outbox.js';
import { DIALECTS } from '../support/agents.js';
import { openDatabase } from '../../db/data-source.js';
import { EmailVerificationEntity } from '../../db/context-entities.js';
import type { CustomerChatView } from '../../protocol/events.js';
import type { CustomerContextView, CustomerHistoryView, EmailVerifiedReply } from '../../protocol/context.js';

type ErrorBody = { error: { code: string; message: string } };

let seq = 0;
const uniqueEmail = (who: string) => `${who.toLowerCase()}.${Date.now().toString(36)}${++seq}@example.test`;

describe.each(DIALECTS)('customer email identities on $name', (dialect) => {
  let server: TestServer;
  let admin: string;
  let db: DataSource;
  let cleanup: () => Promise<void>;
  const { sockets, readyAgent, customer, served, closeAll } = chatParties(() => ({ url: server.url, admin }));

  beforeAll(async () => {
    const d = await dialect.env();
    cleanup = d.cleanup;
    server = await startTestServer(d.env);
    admin = await adminToken(server.url);
    db = await openDatabase(server.config.db);
  });
  afterEach(closeAll);
  afterAll(async () => {
    await db?.destroy();
    await server?.close();
    await cleanup?.();
  });

  const codeFor = (email: string): string => mailedCode(server.dataDir, email);
  const mailsTo = (email: string): number => outbox(server.dataDir).filter((m) => m.to === email).length;

  const askCode = (token: string, email: string) => api<ErrorBody & { email: string; verified: boolean; expiresAt: number }>(server.url, 'POST', '/api/me/email', { email }, token);
  const verify = (token: string, email: string, code: string) => api<EmailVerifiedReply & ErrorBody>(server.url, 'POST', '/api/me/email/verify', { email, code }, token);
  /** A code never equal to the right one. */
  const wrong = (code: string) => (code === '000000' ? '111111' : '000000');

  const contextOf = async (taskId: string, token: string) => {
    const res = await api<CustomerContextView>(server.url, 'GET', `/api/tasks/${taskId}/context`, undefined, token);
    expect(res.status).toBe(200);
    return res.body;
  };

  test('a code from the outbox verifies the email once; wrong, reused and expired codes do not; codes are stored hashed and never logged', async () => {
    const agent = await readyAgent('Vera');
    const c = await customer('Jo');
    const email = uniqueEmail('Jo');
    const { taskId } = await served(c, agent, 'general', 'Where is my parcel?');

    const asked = await askCode(c.token, email.toUpperCase());
    expect(asked.status).toBe(202);
    expect(asked.body).toMatchObject({ email, verified: false });
    const code = codeFor(email);
    // Until verified, the agent sees it as unverified, masked (the queue does not reveal contacts).
    const masked = `j•••@${email.split('@')[1]}`;
    expect((await contextOf(taskId, agent.token)).customer.identities).toEqual([{ kind: 'email', value: masked, masked: true, verified: false }]);

    const miss = await verify(c.token, email, wrong(code));
    expect(miss.status).toBe(400);
    expect(miss.body.error.message).toMatch(/not right: 4 tries left/);
    const ok = await verify(c.token, email, code);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ email, verified: true, customerId: c.id, merged: false, visitor: null });
    expect((await contextOf(taskId, agent.token)).customer.identities).toEqual([{ kind: 'email', value: masked, masked: true, verified: true }]);
    // Single use.
    const reused = await verify(c.token, email, code);
    expect(reused.status).toBe(409);

    // Expired: a new code whose time has passed.
    const other = uniqueEmail('jo.work');
    expect((await askCode(c.token, other)).status).toBe(202);
    const late = codeFor(other);
    await db.getRepository(EmailVerificationEntity).update({ customerId: c.id, email: other }, { expiresAt: Date.now() - 1 });
    const expired = await verify(c.token, other, late);
    expect(expired.status).toBe(409);
    expect(expired.body.error.message).toMatch(/expired/);

    const rows = await db.getRepository(EmailVerificationEntity).findBy({ customerId: c.id });
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.codeHash) && r.codeHash !== code && r.codeHash !== late)).toBe(true);
    const logs = server.logs.join('\n');
    expect(logs).toContain('email verification code issued');
    for (const secret of [code, late, email, other]) expect(logs).not.toContain(secret);
    await call(agent.socket, 'chat:end', { taskId });
  });

  test('five wrong codes spend a code; another visitor cannot use a code sent for someone else', async () => {
    const c = await customer('Kim');
    const email = uniqueEmail('kim');
    expect((await askCode(c.token, email)).status).toBe(202);
    const code = codeFor(email);
    // A stranger with the right code but not the session that asked for it.
    const stranger = await customer('Mallory');
    expect((await verify(stranger.token, email, code)).status).toBe(409);
    for (let i = 4; i >= 1; i--) expect((await verify(c.token, email, wrong(code))).body.error.message).toMatch(new RegExp(`${i} tr(y|ies) left`));
    expect((await verify(c.token, email, wrong(code))).body.error.message).toMatch(/no tries are left/);
    const spent = await verify(c.token, email, code);
    expect(spent.status).toBe(409);
    // A new code works again.
    expect((await askCode(c.token, email)).status).toBe(202);
    expect((await verify(c.token, email, codeFor(email))).status).toBe(200);
  });

  test('codes are rate limited per visitor and per address', async () => {
    const c = await customer('Quinn');
    for (let i = 0; i < 3; i++) expect((await askCode(c.token, uniqueEmail('quinn'))).status).toBe(202);
    const limited = await askCode(c.token, uniqueEmail('quinn'));
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');

    // One address gets at most five codes an hour, however many visitors ask.
    const target = uniqueEmail('victim');
    for (let i = 0; i < 5; i++) expect((await askCode((await visitorToken(server.url, `V${i}`)).token, target)).status).toBe(202);
    expect((await askCode((await visitorToken(server.url, 'V6')).token, target)).status).toBe(429);
    expect(mailsTo(target)).toBe(5);

    // A burst of simultaneous requests cannot all pass the count: exactly three codes for one visitor.
    const burst = await customer('Burst');
    const burstEmails = Array.from({ length: 8 }, () => uniqueEmail('burst'));
    const statuses = (await Promise.all(burstEmails.map((e) => askCode(burst.token, e)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
  });

  test('validation and authorisation: email syntax and length, six-digit codes, visitor tokens only', async () => {
    const c = await customer('Val');
    const agent = await createAgent(server.url, admin);
    for (const email of ['not-an-email', '', `${'a'.repeat(250)}@example.test`, 'a@b@example.test']) {
      const res = await askCode(c.token, email);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION');
    }
    expect((await api(server.url, 'POST', '/api/me/email', { email: uniqueEmail('x'), extra: 1 }, c.token)).status).toBe(400);
    for (const code of ['12345', '1234567', 'abcdef']) expect((await verify(c.token, uniqueEmail('val'), code)).status).toBe(400);
    // Without a token, or with a staff token: refused.
    for (const [route, body] of [['/api/me/email', { email: uniqueEmail('x') }], ['/api/me/email/verify', { email: uniqueEmail('x'), code: '123456' }]] as const) {
      expect((await api(server.url, 'POST', route, body)).status).toBe(401);
      expect((await api(server.url, 'POST', route, body, agent.token)).status).toBe(403);
      expect((await api(server.url, 'POST', route, body, admin)).status).toBe(403);
    }
    expect((await api(server.url, 'GET', '/api/me/conversations')).status).toBe(401);
    expect((await api(server.url, 'GET', '/api/me/conversations', undefined, agent.token)).status).toBe(403);
  });

  test('an unverified email never links two profiles', async () => {
    const agent = await readyAgent('Uma');
    const owner = await customer('Olive');
    const email = uniqueEmail('olive');
    const first = await served(owner, agent, 'general', 'Olive here');
    await call(agent.socket, 'chat:end', { taskId: first.taskId });
    await call(agent.socket, 'wrapup:done', { taskId: first.taskId });
    expect((await askCode(owner.token, email)).status).toBe(202);
    expect((await verify(owner.token, email, codeFor(email))).status).toBe(200);

    // Someone else types Olive's email and never has the code.
    const claimant = await customer('Not Olive');
    expect((await askCode(claimant.token, email)).status).toBe(202);
    const { taskId } = await served(claimant, agent, 'general', 'I am Olive, honestly');
    const view = await contextOf(taskId, agent.token);
    expect(view.customer.id).toBe(claimant.id);
    expect(view.sessions.map((s) => s.taskId)).toEqual([taskId]);
    expect(view.hiddenSessions).toBe(0);
    expect(view.customer.identities).toEqual([{ kind: 'email', value: expect.stringContaining('•••@') as unknown, masked: true, verified: false }]);
    const mine = await api<CustomerHistoryView>(server.url, 'GET', '/api/me/conversations', undefined, claimant.token);
    expect(mine.body.conversations.map((x) => x.taskId)).toEqual([taskId]);
    const owners = await api<{ identities: Array<{ value: string }>; conversations: unknown[] }>(server.url, 'GET', '/api/me/export', undefined, owner.token);
    expect(owners.body.identities.map((i) => i.value)).toEqual([email]);
    expect(owners.body.conversations).toHaveLength(1);
    await call(agent.socket, 'chat:end', { taskId });
  });

  test('verifying an email another profile has merges the two into the older; the customer and the agent see the earlier history', async () => {
    const agent = await readyAgent('Max');
    const older = await customer('Robin');
    const email = uniqueEmail('robin');
    const first = await served(older, agent, 'general', 'My first question, last week');
    await call(agent.socket, 'chat:send', { taskId: first.taskId, text: 'Answered: it ships Friday.', clientMsgId: msgId() });
    await call(agent.socket, 'chat:end', { taskId: first.taskId });
    await call(agent.socket, 'wrapup:done', { taskId: first.taskId });
    expect((await api(server.url, 'POST', `/api/tasks/${first.taskId}/notes`, { body: 'Likes short answers' }, admin)).status).toBe(201);
    expect((await askCode(older.token, email)).status).toBe(202);
    expect((await verify(older.token, email, codeFor(email))).status).toBe(200);

    // Robin again, from another browser: a new, anonymous profile with a chat in progress.
    const newer = await customer('Robin (phone browser)');
    const second = await served(newer, agent, 'general', 'Me again');
    expect(second.offer.context).toMatchObject({ returning: false });
    expect((await contextOf(second.taskId, agent.token)).sessions).toHaveLength(1);
    expect((await askCode(newer.token, email)).status).toBe(202);
    const merged = await verify(newer.token, email, codeFor(email));
    expect(merged.status).toBe(200);
    expect(merged.body).toMatchObject({ verified: true, customerId: older.id, merged: true, visitor: { customerId: older.id, token: expect.any(String) as unknown } });

    // The customer, with the token for the surviving profile, sees the earlier conversation.
    const token = merged.body.visitor!.token;
    const history = await api<CustomerHistoryView>(server.url, 'GET', '/api/me/conversations', undefined, token);
    expect(history.body.conversations.map((x) => x.taskId)).toEqual([second.taskId, first.taskId]);
    expect(history.body.conversations[1]!.messages.filter((m) => m.sender !== 'system').map((m) => m.body)).toEqual(['My first question, last week', 'Answered: it ships Friday.']);
    expect(history.body.conversations[1]!.agentName).toBe('Max');
    // The chat in progress goes on under the new token; the old one holds nothing any more.
    const again = await connect<CustomerSocket>(server.url, '/customer', token);
    sockets.push(again);
    expect((await call<CustomerChatView>(again, 'chat:resume', { taskId: second.taskId })).status).toBe('assigned');
    const heard = next<{ body: string }>(agent.socket, 'chat:message', (m) => m.body === 'still there?');
    await call(again, 'chat:send', { taskId: second.taskId, text: 'still there?', clientMsgId: msgId() });
    await heard;
    expect(await request(newer.socket, 'chat:send', { taskId: second.taskId, text: 'x', clientMsgId: msgId() })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect((await api<CustomerHistoryView>(server.url, 'GET', '/api/me/conversations', undefined, newer.token)).body.conversations).toEqual([]);
    expect((await askCode(newer.token, uniqueEmail('robin2'))).status).toBe(409);

    // The agent holding the conversation now sees the customer's earlier conversation and notes.
    const view = await contextOf(second.taskId, agent.token);
    expect(view.customer.id).toBe(older.id);
    expect(view.sessions.map((s) => s.taskId)).toEqual([second.taskId, first.taskId]);
    expect(view.notes.map((n) => n.body)).toEqual(['Likes short answers']);
    // The merge is audited like an admin's, with the customer as who did it.
    const log = await api<Array<{ action: string; viewerRole: string }>>(server.url, 'GET', `/api/admin/customers/${newer.id}/access-log`, undefined, admin);
    expect(log.body).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'merge', viewerRole: 'customer' })]));
    await call(agent.socket, 'chat:end', { taskId: second.taskId });
  });

  test('when the visitor has the older profile, the newer one is merged into theirs and their token stays', async () => {
    const first = await visitorToken(server.url, 'Early Bird');
    const later = await visitorToken(server.url, 'Late Bird');
    const email = uniqueEmail('bird');
    expect((await askCode(later.token, email)).status).toBe(202);
    expect((await verify(later.token, email, codeFor(email))).status).toBe(200);
    expect((await askCode(first.token, email)).status).toBe(202);
    const merged = await verify(first.token, email, codeFor(email));
    expect(merged.body).toMatchObject({ customerId: first.customerId, merged: true, visitor: null });
    const exported = await api<{ identities: Array<{ kind: string; value: string }> }>(server.url, 'GET', '/api/me/export', undefined, first.token);
    expect(exported.body.identities).toEqual([expect.objectContaining({ kind: 'email', value: email })]);
  });

  test('masked unless the queue reveals contacts; in the export; removed by erasure; the browser language travels with the offer', async () => {
    const agent = await readyAgent('Mo');
    const res = await fetch(`${server.url}/api/visitor-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept-language': 'fi-FI,fi;q=0.9,en;q=0.8' },
      body: JSON.stringify({ displayName: 'Aino' }),
    });
    const v = (await res.json()) as { token: string; customerId: string };
    const socket = await connect<CustomerSocket>(server.url, '/customer', v.token);
    sockets.push(socket);
    const email = uniqueEmail('aino');
    expect((await askCode(v.token, email)).status).toBe(202);
    expect((await verify(v.token, email, codeFor(email))).status).toBe(200);
    const { taskId, offer } = await served({ socket }, agent, 'billing', 'Hei');
    expect(offer.context?.language).toBe('fi-FI');

    expect((await contextOf(taskId, agent.token)).customer).toMatchObject({ language: 'fi-FI', identities: [{ kind: 'email', value: `a•••@example.test`, masked: true, verified: true }] });
    expect((await api(server.url, 'PATCH', '/api/admin/queues/billing', { revealContact: true }, admin)).status).toBe(200);
    try {
      expect((await contextOf(taskId, agent.token)).customer.identities).toEqual([{ kind: 'email', value: email, masked: false, verified: true }]);
    } finally {
      expect((await api(server.url, 'PATCH', '/api/admin/queues/billing', { revealContact: false }, admin)).status).toBe(200);
    }
    await call(agent.socket, 'chat:end', { taskId });
    await call(agent.socket, 'wrapup:done', { taskId });

    const exported = await api<{ customer: { language: string }; identities: Array<{ kind: string; value: string }>; emailVerifications: Array<{ email: string; verifiedAt: number | null }> }>(
      server.url, 'GET', `/api/admin/customers/${v.customerId}/export`, undefined, admin,
    );
    expect(exported.body.customer.language).toBe('fi-FI');
    expect(exported.body.identities).toEqual([expect.objectContaining({ kind: 'email', value: email })]);
    expect(exported.body.emailVerifications).toEqual([expect.objectContaining({ email, verifiedAt: expect.any(Number) as unknown })]);

    expect((await api(server.url, 'DELETE', `/api/admin/customers/${v.customerId}`, undefined, admin)).status).toBe(200);
    const after = await api<{ identities: unknown[]; emailVerifications: unknown[] }>(server.url, 'GET', `/api/admin/customers/${v.customerId}/export`, undefined, admin);
    expect(after.body.identities).toEqual([]);
    expect(after.body.emailVerifications).toEqual([]);
    expect(JSON.stringify(after.body)).not.toContain(email);
    expect(JSON.stringify(after.body)).not.toContain('fi-FI');
    // The email is free again: someone who proves it later starts a profile of their own.
    const fresh = await visitorToken(server.url, 'New owner');
    expect((await askCode(fresh.token, email)).status).toBe(202);
    expect((await verify(fresh.token, email, codeFor(email))).body).toMatchObject({ customerId: fresh.customerId, merged: false });
  });
});
