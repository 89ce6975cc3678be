// Account security (docs/agents.md): lock-out after repeated failed sign-ins (without telling whether an
// account exists), password reset by a one-time link from the outbox, TOTP second factor, and signing
// out everywhere. On SQLite and PostgreSQL.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { TOTP, Secret } from 'otpauth';
import type { DataSource } from 'typeorm';
import { adminToken, api, createAgent, startTestServer, type TestServer } from '../support/server.js';
import { call, connect, next, type AgentSocket } from '../support/sockets.js';
import { DIALECTS } from '../support/agents.js';
import { openDatabase } from '../../db/data-source.js';
import { PasswordResetTokenEntity } from '../../db/accounts-entities.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ErrorBody {
  error: { code: string; message: string };
}

describe.each(DIALECTS)('account security on $name', (dialect) => {
  let server: TestServer;
  let admin: string;
  let cleanup: () => Promise<void>;
  let db: DataSource;

  beforeAll(async () => {
    const d = await dialect.env();
    cleanup = d.cleanup;
    server = await startTestServer(d.env);
    admin = await adminToken(server.url);
    db = await openDatabase(server.config.db);
  });
  afterAll(async () => {
    await db.destroy();
    await server.close();
    await cleanup();
  });

  const login = (email: string, password: string, totp?: string) =>
    fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password, ...(totp ? { totp } : {}) }) });

  test('five failures lock an email for a while, known or not, with the wrong-password answer', async () => {
    const agent = await createAgent(server.url, admin);
    const unknown = `nobody-${Date.now()}@example.test`;
    const answers: Record<string, Array<{ status: number; retryAfter: string | null; body: ErrorBody }>> = {};
    for (const email of [agent.email, unknown]) {
      answers[email] = [];
      for (let i = 0; i < 5; i++) {
        const res = await login(email, 'wrong-password-123');
        answers[email]!.push({ status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as ErrorBody });
      }
      // Locked now: even the right password is refused, the same way.
      const res = await login(email, email === agent.email ? agent.password : 'whatever-password');
      answers[email]!.push({ status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as ErrorBody });
    }
    for (const email of [agent.email, unknown]) {
      const list = answers[email]!;
      expect(list.slice(0, 5).map((a) => [a.status, a.retryAfter])).toEqual(Array(5).fill([401, null]));
      expect(list[5]!.status).toBe(401);
      expect(Number(list[5]!.retryAfter)).toBeGreaterThan(14 * 60);
      expect(Number(list[5]!.retryAfter)).toBeLessThanOrEqual(15 * 60);
    }
    // Identical answers: nothing tells the existing account from the unknown email.
    const shape = (a: { body: ErrorBody }) => a.body.error;
    expect(answers[agent.email]!.map(shape)).toEqual(answers[unknown]!.map(shape));
    expect(shape(answers[agent.email]![5]!)).toEqual({ code: 'UNAUTHENTICATED', message: 'wrong email or password' });
    // Another account is not affected.
    const other = await createAgent(server.url, admin);
    expect((await login(other.email, other.password)).status).toBe(200);
  });

  test('a successful sign-in clears earlier failures', async () => {
    const agent = await createAgent(server.url, admin);
    for (let i = 0; i < 4; i++) expect((await login(agent.email, 'wrong-password-123')).status).toBe(401);
    expect((await login(agent.email, agent.password)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login(agent.email, 'wrong-password-123')).status).toBe(401);
    expect((await login(agent.email, agent.password)).status).toBe(200);
  });

  async function outboxLinks(): Promise<string[]> {
    const dir = path.join(server.dataDir, 'outbox');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { to: string; text: string; kind: string })
      .filter((m) => m.kind === 'password-reset')
      .map((m) => `${m.to} ${/#reset=([A-Za-z0-9_-]+)/.exec(m.text)?.[1] ?? ''}`);
  }
  async function resetToken(email: string, before: number): Promise<string> {
    for (let i = 0; i < 50; i++) {
      const mine = (await outboxLinks()).filter((l) => l.startsWith(email + ' '));
      if (mine.length > before) return mine.at(-1)!.split(' ')[1]!;
      await sleep(100);
    }
    throw new Error('no reset link in the outbox');
  }

  test('password reset: a one-time link from the outbox, single use, expiring; never logged', async () => {
    const agent = await createAgent(server.url, admin);
    const before = (await outboxLinks()).filter((l) => l.startsWith(agent.email + ' ')).length;
    const asked = await api(server.url, 'POST', '/api/auth/password-reset', { email: agent.email.toUpperCase() });
    expect(asked.status).toBe(202);
    const unknown = await api(server.url, 'POST', '/api/auth/password-reset', { email: `ghost-${Date.now()}@example.test` });
    expect(unknown.status).toBe(202);
    const token = await resetToken(agent.email, before);
    expect(token.length).toBeGreaterThanOrEqual(40);
    await sleep(200);
    expect((await outboxLinks()).some((l) => l.startsWith('ghost-'))).toBe(false);
    expect(server.logs.some((l) => l.includes('reset link issued'))).toBe(true);
    expect(server.logs.some((l) => l.includes(token))).toBe(false);

    const newPassword = 'brand-new-password-1';
    const confirmed = await api(server.url, 'POST', '/api/auth/password-reset/confirm', { token, newPassword });
    expect(confirmed.status).toBe(204);
    expect((await login(agent.email, agent.password)).status).toBe(401);
    expect((await login(agent.email, newPassword)).status).toBe(200);
    // Old sessions were signed out.
    expect((await api(server.url, 'GET', '/api/me', undefined, agent.token)).status).toBe(401);
    // Single use.
    const reused = await api<ErrorBody>(server.url, 'POST', '/api/auth/password-reset/confirm', { token, newPassword: 'another-password-2' });
    expect(reused.status).toBe(409);
    expect(server.logs.some((l) => l.includes(token))).toBe(false);

    // Expired.
    await api(server.url, 'POST', '/api/auth/password-reset', { email: agent.email });
    const second = await resetToken(agent.email, before + 1);
    await db.getRepository(PasswordResetTokenEntity).update({ accountId: agent.id }, { expiresAt: Date.now() - 1 });
    const late = await api<ErrorBody>(server.url, 'POST', '/api/auth/password-reset/confirm', { token: second, newPassword: 'another-password-2' });
    expect(late.status).toBe(409);
    expect(late.body.error.message).toMatch(/expired/);
    // Stored hashed only.
    const rows = await db.getRepository(PasswordResetTokenEntity).findBy({ accountId: agent.id });
    expect(rows.length).toBe(2);
    expect(rows.every((r) => r.tokenHash !== token && r.tokenHash !== second && /^[0-9a-f]{64}$/.test(r.tokenHash))).toBe(true);
  });

  test('TOTP: enrol, confirm with a code, then sign-in needs a fresh code; disable with a code', async () => {
    // Codes one step apart are generated below; keep away from a step boundary.
    const intoStep = (Date.now() / 1000) % 30;
    if (intoStep > 25) await sleep((31 - intoStep) * 1000);
    const agent = await createAgent(server.url, admin);
    const enrol = await api<{ secret: string; uri: string }>(server.url, 'POST', '/api/auth/totp/enrol', undefined, agent.token);
    expect(enrol.status).toBe(200);
    expect(enrol.body.uri).toMatch(/^otpauth:\/\/totp\/.*secret=/);
    expect(server.logs.some((l) => l.includes(enrol.body.secret))).toBe(false);
    const totp = new TOTP({ secret: Secret.fromBase32(enrol.body.secret), digits: 6, period: 30, algorithm: 'SHA1' });
    const code = (offsetSteps: number) => totp.generate({ timestamp: Date.now() + offsetSteps * 30_000 });

    expect((await api(server.url, 'POST', '/api/auth/totp/confirm', { code: code(-1) === '000000' ? '111111' : '000000' }, agent.token)).status).toBe(400);
    expect((await api(server.url, 'POST', '/api/auth/totp/confirm', { code: code(-1) }, agent.token)).status).toBe(204);
    expect((await api<{ totpEnabled: boolean }>(server.url, 'GET', '/api/me', undefined, agent.token)).status).toBe(200);

    const without = await login(agent.email, agent.password);
    expect(without.status).toBe(401);
    expect(((await without.json()) as ErrorBody).error.code).toBe('TOTP_REQUIRED');
    expect((await login(agent.email, agent.password, code(-1))).status).toBe(401); // already used
    const withCode = await login(agent.email, agent.password, code(0));
    expect(withCode.status).toBe(200);
    expect((await login(agent.email, agent.password, code(0))).status).toBe(401); // a code is good once
    // A code does not replace the password.
    expect((await login(agent.email, 'wrong-password-123', code(1))).status).toBe(401);

    expect((await api(server.url, 'POST', '/api/auth/totp/disable', { code: code(1) }, agent.token)).status).toBe(204);
    expect((await login(agent.email, agent.password)).status).toBe(200);
  });

  test('sign out everywhere: every token stops working and live connections close', async () => {
    const agent = await createAgent(server.url, admin);
    const second = (await (await login(agent.email, agent.password)).json()) as { token: string };
    const socket = await connect<AgentSocket>(server.url, '/agent', agent.token);
    await next(socket, 'hello');
    await call(socket, 'presence:set', { state: 'ready' });
    const closed = new Promise((resolve) => socket.once('disconnect', resolve));

    expect((await api(server.url, 'POST', '/api/auth/sessions/revoke', undefined, second.token)).status).toBe(204);
    await closed;
    expect((await api(server.url, 'GET', '/api/me', undefined, agent.token)).status).toBe(401);
    expect((await api(server.url, 'GET', '/api/me', undefined, second.token)).status).toBe(401);
    // Signing in again works.
    const fresh = (await (await login(agent.email, agent.password)).json()) as { token: string };
    expect((await api(server.url, 'GET', '/api/me', undefined, fresh.token)).status).toBe(200);
    socket.close();
  });
});
