// The recording policy of a queue as an admin sets it (PATCH /api/admin/queues/:id) and the widget
// sees it (GET /api/queues, to tell the customer before a call), through the whole server.
import { adminToken, api, startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let admin: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = await adminToken(server.url);
});
afterAll(async () => server?.close());

type Queue = { id: string; recordCalls: boolean; recordingRetentionDays: number | null; error?: { code: string; message: string } };
const patch = (id: string, body: unknown) => api<Queue>(server.url, 'PATCH', `/api/admin/queues/${id}`, body, admin);

test('queues do not record by default, and keep recordings for the configured default', async () => {
  const queues = (await api<Queue[]>(server.url, 'GET', '/api/admin/queues', undefined, admin)).body;
  expect(queues.length).toBeGreaterThan(0);
  for (const q of queues) expect(q).toMatchObject({ recordCalls: false, recordingRetentionDays: null });
  for (const q of (await api<Queue[]>(server.url, 'GET', '/api/queues')).body) expect(q.recordCalls).toBe(false);
});

test('an admin turns recording on with a retention; customers see that the topic records calls', async () => {
  const res = await patch('billing', { recordCalls: true, recordingRetentionDays: 30 });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ id: 'billing', recordCalls: true, recordingRetentionDays: 30 });
  const publicView = (await api<Queue[]>(server.url, 'GET', '/api/queues')).body.find((q) => q.id === 'billing');
  expect(publicView?.recordCalls).toBe(true);
  expect(publicView).not.toHaveProperty('recordingRetentionDays');
  // Back to the default retention, recording stays on; other settings are untouched.
  expect((await patch('billing', { recordingRetentionDays: null })).body).toMatchObject({ recordCalls: true, recordingRetentionDays: null });
  const created = await api<Queue>(server.url, 'POST', '/api/admin/queues', { id: 'complaints', name: 'Complaints', recordCalls: true }, admin);
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ recordCalls: true, recordingRetentionDays: null });
});

test('bad values are refused with VALIDATION', async () => {
  for (const body of [{ recordingRetentionDays: 0 }, { recordingRetentionDays: 1.5 }, { recordingRetentionDays: 40_000 }, { recordCalls: 'yes' }]) {
    const res = await patch('general', body);
    expect({ body, status: res.status }).toEqual({ body, status: 400 });
    expect(res.body.error?.code).toBe('VALIDATION');
  }
});
