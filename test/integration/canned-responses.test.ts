// Canned responses over HTTP: admins manage the shared ones (for every queue or one), each agent their
// own; an agent lists the shared ones of the conversation's queue and their own, never another
// agent's, and can change neither a shared one nor a colleague's; bad input gets a clear 4xx and
// changes nothing.
import { api, createAgent, startTestServerWithAdmin, type TestServer } from '../support/server.js';
import type { CannedResponseView } from '../../protocol/canned.js';

let server: TestServer;
let admin: string;

beforeAll(async () => ({ server, admin } = await startTestServerWithAdmin()));
afterAll(() => server.close());

const list = async (token: string, queueId?: string) =>
  (await api<CannedResponseView[]>(server.url, 'GET', `/api/agent/canned-responses${queueId ? `?queueId=${queueId}` : ''}`, undefined, token)).body;

test('shared responses (per queue) and an agent’s own: who sees and who may change what', async () => {
  const greeting = await api<CannedResponseView>(server.url, 'POST', '/api/admin/canned-responses', { title: 'Greeting', shortcut: 'hi', body: 'Hello {customer.name}, this is {agent.name}.' }, admin);
  expect(greeting.status).toBe(201);
  expect(greeting.body).toMatchObject({ scope: 'shared', queueId: null, title: 'Greeting', shortcut: 'hi' });
  const refund = await api<CannedResponseView>(server.url, 'POST', '/api/admin/canned-responses', { title: 'Refund policy', body: 'Refunds take 5 days ({queue.name}).', queueId: 'billing' }, admin);
  expect(refund.status).toBe(201);

  const ann = await createAgent(server.url, admin, { displayName: 'Ann' });
  const bob = await createAgent(server.url, admin, { displayName: 'Bob' });
  const own = await api<CannedResponseView>(server.url, 'POST', '/api/agent/canned-responses', { title: '  Sign-off ', shortcut: 'bye', body: 'Thanks for chatting, {customer.name}!' }, ann.token);
  expect(own.status).toBe(201);
  expect(own.body).toMatchObject({ scope: 'personal', title: 'Sign-off', shortcut: 'bye', queueId: null });

  // Ann: her own first, then the shared ones for the conversation's queue.
  expect((await list(ann.token, 'general')).map((r) => r.title)).toEqual(['Sign-off', 'Greeting']);
  expect((await list(ann.token, 'billing')).map((r) => r.title)).toEqual(['Sign-off', 'Greeting', 'Refund policy']);
  // Bob never sees Ann's.
  expect((await list(bob.token, 'general')).map((r) => r.title)).toEqual(['Greeting']);

  // Bob cannot change or delete Ann's (it is not there for him), nor a shared one (admins' only).
  expect((await api(server.url, 'PATCH', `/api/agent/canned-responses/${own.body.id}`, { body: 'hijacked' }, bob.token)).status).toBe(404);
  expect((await api(server.url, 'DELETE', `/api/agent/canned-responses/${own.body.id}`, undefined, bob.token)).status).toBe(404);
  const sharedEdit = await api<{ error: { code: string } }>(server.url, 'PATCH', `/api/agent/canned-responses/${greeting.body.id}`, { body: 'changed' }, ann.token);
  expect(sharedEdit.status).toBe(403);
  expect(sharedEdit.body.error.code).toBe('FORBIDDEN');
  expect((await api(server.url, 'DELETE', `/api/agent/canned-responses/${greeting.body.id}`, undefined, ann.token)).status).toBe(403);
  // The admin routes are closed to agents, and admins do not reach an agent's own through them.
  expect((await api(server.url, 'POST', '/api/admin/canned-responses', { title: 'Mine', body: 'x' }, ann.token)).status).toBe(403);
  expect((await api(server.url, 'PATCH', `/api/admin/canned-responses/${greeting.body.id}`, { body: 'x' }, ann.token)).status).toBe(403);
  expect((await api(server.url, 'PATCH', `/api/admin/canned-responses/${own.body.id}`, { body: 'x' }, admin)).status).toBe(404);
  expect((await api(server.url, 'GET', '/api/agent/canned-responses')).status).toBe(401);
  // Nothing changed.
  expect((await list(ann.token, 'general')).find((r) => r.id === own.body.id)?.body).toBe('Thanks for chatting, {customer.name}!');
  expect((await list(bob.token, 'general'))[0]?.body).toBe('Hello {customer.name}, this is {agent.name}.');

  // Ann edits and deletes her own; the admin edits and deletes a shared one.
  const edited = await api<CannedResponseView>(server.url, 'PATCH', `/api/agent/canned-responses/${own.body.id}`, { body: 'Bye {customer.name}!', shortcut: null }, ann.token);
  expect(edited.status).toBe(200);
  expect(edited.body).toMatchObject({ body: 'Bye {customer.name}!', shortcut: null, title: 'Sign-off' });
  const moved = await api<CannedResponseView>(server.url, 'PATCH', `/api/admin/canned-responses/${refund.body.id}`, { queueId: null }, admin);
  expect(moved.body.queueId).toBeNull();
  expect((await list(bob.token, 'general')).map((r) => r.title)).toEqual(['Greeting', 'Refund policy']);
  expect((await api(server.url, 'DELETE', `/api/agent/canned-responses/${own.body.id}`, undefined, ann.token)).status).toBe(204);
  expect((await api(server.url, 'DELETE', `/api/admin/canned-responses/${refund.body.id}`, undefined, admin)).status).toBe(204);
  expect((await list(ann.token)).map((r) => r.title)).toEqual(['Greeting']);
  expect((await api<CannedResponseView[]>(server.url, 'GET', '/api/admin/canned-responses', undefined, admin)).body.map((r) => r.title)).toEqual(['Greeting']);
  await api(server.url, 'DELETE', `/api/admin/canned-responses/${greeting.body.id}`, undefined, admin);
});

test('bad input is refused with a clear error and stores nothing', async () => {
  const agent = await createAgent(server.url, admin, { displayName: 'Val' });
  const post = (body: unknown, token = agent.token) => api<{ error: { code: string; message: string } }>(server.url, 'POST', '/api/agent/canned-responses', body, token);

  const cases: Array<[unknown, RegExp]> = [
    [{ title: 'No body' }, /body/],
    [{ title: '', body: 'x' }, /title/],
    [{ title: '   ', body: 'x' }, /title/],
    [{ title: 'x'.repeat(81), body: 'x' }, /title/],
    [{ title: 'Long', body: 'x'.repeat(4001) }, /body/],
    [{ title: 'Shortcut', body: 'x', shortcut: '/Hi there' }, /shortcut/],
    [{ title: 'Queue', body: 'x', queueId: 'general' }, /queueId|additional/i],
    [{ title: 'Typo', body: 'Hello {customer.nmae}' }, /unknown placeholder \{customer\.nmae\}/],
  ];
  for (const [body, message] of cases) {
    const res = await post(body);
    expect({ body, status: res.status, code: res.body.error.code }).toEqual({ body, status: 400, code: 'VALIDATION' });
    expect(res.body.error.message).toMatch(message);
  }
  expect(await list(agent.token)).toEqual([]);

  // A shortcut is one agent's once; braces that are no placeholder are plain text.
  expect((await post({ title: 'One', body: 'Code: {1234}', shortcut: 'code' })).status).toBe(201);
  const clash = await post({ title: 'Two', body: 'x', shortcut: 'code' });
  expect(clash.status).toBe(409);
  expect(clash.body.error.message).toMatch(/\/code.*"One"/);
  // A shared response for a queue that does not exist, and an empty change.
  const noQueue = await post({ title: 'Q', body: 'x', queueId: 'nowhere' }, admin);
  expect(noQueue.status).toBe(400);
  const adminNoQueue = await api<{ error: { message: string } }>(server.url, 'POST', '/api/admin/canned-responses', { title: 'Q', body: 'x', queueId: 'nowhere' }, admin);
  expect(adminNoQueue.status).toBe(400);
  expect(adminNoQueue.body.error.message).toMatch(/no queue "nowhere"/);
  const [mine] = await list(agent.token);
  expect((await api(server.url, 'PATCH', `/api/agent/canned-responses/${mine!.id}`, {}, agent.token)).status).toBe(400);
  expect((await list(agent.token)).map((r) => r.title)).toEqual(['One']);
});
