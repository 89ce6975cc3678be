// The HTTP API as a client sees it: health endpoints, sign-in, admin rules, and every kind of bad
// input answered with a clear 4xx while nothing stored changes.
import { SignJWT } from 'jose';
import { ADMIN_EMAIL, ADMIN_FIRST_PASSWORD, TOKEN_SECRET, adminToken, api, startTestServer, startTestServerWithAdmin, type TestServer } from '../support/server.js';

let server: TestServer;
let admin: string;

beforeAll(async () => ({ server, admin } = await startTestServerWithAdmin()));
afterAll(() => server.close());

const accountCount = async () => (await api<unknown[]>(server.url, 'GET', '/api/admin/accounts', undefined, admin)).body.length;

describe('health and description', () => {
  test('/healthz answers and /readyz reports database, queue store and media', async () => {
    expect((await api(server.url, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await api<{ status: string; checks: Record<string, { state: string; required: boolean }> }>(server.url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.database).toMatchObject({ state: 'up', required: true });
    expect(ready.body.checks.queueStore).toMatchObject({ state: 'up', required: true });
    // Janus is off in this test: chat still works, so the server is degraded, not unready.
    expect(ready.body.checks.media).toMatchObject({ state: 'disabled', required: false });
    expect(ready.body.status).toBe('degraded');
  });

  test('/metrics is Prometheus text and counts requests', async () => {
    const res = await fetch(server.url + '/metrics');
    const text = await res.text();
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    expect(text).toMatch(/mccs_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} [1-9]/);
    expect(text).toContain('mccs_process_resident_memory_bytes');
  });

  test('/openapi.json describes the routes with their schemas', async () => {
    const doc = (await api<{ openapi: string; paths: Record<string, Record<string, { requestBody?: unknown }>> }>(server.url, 'GET', '/openapi.json')).body;
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/api/auth/login', '/api/visitor-token', '/api/admin/accounts']));
    expect(doc.paths['/api/auth/login']!.post!.requestBody).toBeDefined();
  });

  test('every response carries a request id, and a valid one given is kept', async () => {
    const res = await fetch(server.url + '/api/queues', { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
    const other = await fetch(server.url + '/healthz', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(other.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(server.logs.some((l) => l.includes('"reqId":"trace-abc.123"'))).toBe(true);
  });
});

describe('authentication', () => {
  test('the one-time admin password must be changed before anything else', async () => {
    const fresh = await startTestServer();
    try {
      const login = await api<{ token: string; account: { mustChangePassword: boolean } }>(fresh.url, 'POST', '/api/auth/login', {
        email: ADMIN_EMAIL,
        password: ADMIN_FIRST_PASSWORD,
      });
      expect(login.status).toBe(200);
      expect(login.body.account.mustChangePassword).toBe(true);
      const blocked = await api<{ error: { code: string } }>(fresh.url, 'GET', '/api/admin/accounts', undefined, login.body.token);
      expect(blocked.status).toBe(403);
      expect(blocked.body.error.code).toBe('PASSWORD_CHANGE_REQUIRED');
      const tooShort = await api(fresh.url, 'POST', '/api/auth/password', { currentPassword: ADMIN_FIRST_PASSWORD, newPassword: 'short' }, login.body.token);
      expect(tooShort.status).toBe(400);
      const token = await adminToken(fresh.url);
      expect((await api(fresh.url, 'GET', '/api/admin/accounts', undefined, token)).status).toBe(200);
      // The old password no longer works.
      expect((await api(fresh.url, 'POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_FIRST_PASSWORD })).status).toBe(401);
    } finally {
      await fresh.close();
    }
  });

  test('wrong password and unknown email get the same answer', async () => {
    const wrong = await api<{ error: { code: string; message: string } }>(server.url, 'POST', '/api/auth/login', { email: ADMIN_EMAIL, password: 'nope' });
    const unknown = await api<{ error: { code: string; message: string } }>(server.url, 'POST', '/api/auth/login', { email: 'who@example.test', password: 'nope' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.error).toEqual(unknown.body.error);
  });

  test('missing, forged and expired tokens are refused with distinct codes', async () => {
    const none = await api<{ error: { code: string } }>(server.url, 'GET', '/api/admin/accounts');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHENTICATED');

    const forged = await new SignJWT({ kind: 'staff', role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('mccs')
      .setSubject('someone')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-another-secret-another-secret'));
    const f = await api<{ error: { code: string } }>(server.url, 'GET', '/api/admin/accounts', undefined, forged);
    expect(f.status).toBe(401);
    expect(f.body.error.code).toBe('UNAUTHENTICATED');

    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ kind: 'staff', role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('mccs')
      .setSubject('someone')
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(new TextEncoder().encode(TOKEN_SECRET));
    const e = await api<{ error: { code: string } }>(server.url, 'GET', '/api/admin/accounts', undefined, expired);
    expect(e.status).toBe(401);
    expect(e.body.error.code).toBe('TOKEN_EXPIRED');
  });

  test('an agent cannot use admin routes, and a visitor token is not a staff token', async () => {
    const email = `role-${Date.now()}@example.test`;
    await api(server.url, 'POST', '/api/admin/accounts', { email, password: 'agent-password-1', displayName: 'R', role: 'agent' }, admin);
    const agent = await api<{ token: string }>(server.url, 'POST', '/api/auth/login', { email, password: 'agent-password-1' });
    const res = await api<{ error: { code: string } }>(server.url, 'GET', '/api/admin/accounts', undefined, agent.body.token);
    expect(res.status).toBe(403);
    const visitor = await api<{ token: string }>(server.url, 'POST', '/api/visitor-token', {});
    const v = await api<{ error: { code: string } }>(server.url, 'GET', '/api/me', undefined, visitor.body.token);
    expect(v.status).toBe(403);
  });

  test('secrets never reach the log', async () => {
    const secret = 'do-not-log-this-password-42';
    await api(server.url, 'POST', '/api/auth/login', { email: ADMIN_EMAIL, password: secret });
    expect(server.logs.join('\n')).not.toContain(secret);
    expect(server.logs.join('\n')).not.toContain(admin);
  });
});

describe('bad input changes nothing', () => {
  const post = (route: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(server.url + route, { method: 'POST', headers: { ...headers, authorization: `Bearer ${admin}` }, body });

  test('malformed JSON → 400 MALFORMED_JSON', async () => {
    const before = await accountCount();
    const res = await post('/api/admin/accounts', '{"email": "x@example.test", "password": ');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('MALFORMED_JSON');
    expect(await accountCount()).toBe(before);
  });

  test('a body over the limit → 413 PAYLOAD_TOO_LARGE', async () => {
    const before = await accountCount();
    const huge = JSON.stringify({ email: 'big@example.test', password: 'x'.repeat(200_000), displayName: 'Big', role: 'agent' });
    const res = await post('/api/admin/accounts', huge);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await accountCount()).toBe(before);
  });

  test('a body that is not JSON → 415', async () => {
    const res = await post('/api/admin/accounts', 'email=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  test.each([
    ['an unknown property', { email: 'a@example.test', password: 'long-enough-pw', displayName: 'A', role: 'agent', admin: true }],
    ['a bad email', { email: 'not-an-email', password: 'long-enough-pw', displayName: 'A', role: 'agent' }],
    ['a role that does not exist', { email: 'b@example.test', password: 'long-enough-pw', displayName: 'A', role: 'root' }],
    ['a capacity out of range', { email: 'c@example.test', password: 'long-enough-pw', displayName: 'A', role: 'agent', chatCapacity: 500 }],
    ['a missing field', { email: 'd@example.test', password: 'long-enough-pw', role: 'agent' }],
  ])('%s → 400 VALIDATION naming the problem', async (_what, body) => {
    const before = await accountCount();
    const res = await api<{ error: { code: string; message: string } }>(server.url, 'POST', '/api/admin/accounts', body, admin);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION');
    expect(res.body.error.message.length).toBeGreaterThan(5);
    expect(await accountCount()).toBe(before);
  });

  test('creating an account with an email in use → 409, and the first account is untouched', async () => {
    const body = { email: 'once@example.test', password: 'first-password-1', displayName: 'First', role: 'agent' };
    expect((await api(server.url, 'POST', '/api/admin/accounts', body, admin)).status).toBe(201);
    const again = await api<{ error: { code: string } }>(server.url, 'POST', '/api/admin/accounts', { ...body, password: 'second-password-2', displayName: 'Second' }, admin);
    expect(again.status).toBe(409);
    expect((await api(server.url, 'POST', '/api/auth/login', { email: 'once@example.test', password: 'first-password-1' })).status).toBe(200);
    const list = (await api<Array<{ email: string; displayName: string }>>(server.url, 'GET', '/api/admin/accounts', undefined, admin)).body;
    expect(list.find((a) => a.email === 'once@example.test')?.displayName).toBe('First');
  });

  test('an unknown route → 404 NOT_FOUND in the same shape', async () => {
    const res = await api<{ error: { code: string }; requestId: string }>(server.url, 'GET', '/api/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
    expect(res.body.requestId).toBeTruthy();
  });
});

test('public endpoints are rate limited per client', async () => {
  const limited = await startTestServer({ MCCS_PUBLIC_RATE_LIMIT: '5' });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await api(limited.url, 'GET', '/api/queues')).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses[6]).toBe(429);
    const res = await api<{ error: { code: string } }>(limited.url, 'GET', '/api/queues');
    expect(res.body.error.code).toBe('RATE_LIMITED');
  } finally {
    await limited.close();
  }
});
