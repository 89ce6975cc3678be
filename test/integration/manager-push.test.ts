// Pushed sources: the signed JSON webhook (401, 400, 413 for bad requests) and a Mastodon-compatible
// server-sent event stream (bearer token, update events, reconnection with Last-Event-ID).
import { afterEach, expect, test } from '@jest/globals';
import type { ServerResponse } from 'node:http';
import { sign } from '../../manager/signature.js';
import { serve, startHarness, until, type Harness, type LocalServer } from '../support/manager.js';

let harness: Harness | undefined;
const servers: LocalServer[] = [];

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const SECRET = 'webhook-secret-for-the-tests';

test('signed webhook posts are submitted; bad signature, bad JSON and too big are refused', async () => {
  harness = await startHarness([{ id: 'hook', kind: 'webhook', name: 'Hook', webhookSecret: SECRET, enabled: true }], undefined, 64 * 1024);
  const url = `${harness.manager.publicUrl}/webhook/hook`;
  const post = (body: string, signature = sign(body, SECRET)) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': signature }, body });
  const posts = JSON.stringify([
    { id: 'h1', url: 'https://shop.example/review/1', text: 'Battery swelled after a week. Not happy.', author: { handle: '@kim', reach: 120 }, publishedAt: Date.now() },
    { id: 'h2', text: 'Love the colour!', publishedAt: new Date().toISOString() },
  ]);
  const ok = await post(posts);
  expect(ok.status).toBe(202);
  expect(await ok.json()).toEqual({ accepted: 2 });
  await until(() => harness!.stub.submissions.length === 1, 'the matching post');
  expect(harness.stub.submissions[0]!.post).toMatchObject({ sourceId: 'hook', externalId: 'h1', author: { handle: '@kim', reach: 120 } });

  expect((await post(posts, sign(posts, 'wrong-secret-wrong-secret'))).status).toBe(401);
  expect((await post('{"id":', sign('{"id":', SECRET))).status).toBe(400);
  const invalid = JSON.stringify({ id: 'x' });
  expect((await post(invalid)).status).toBe(400);
  const huge = JSON.stringify({ id: 'big', text: 'x'.repeat(100 * 1024), publishedAt: Date.now() });
  expect((await post(huge)).status).toBe(413);
  expect((await fetch(`${harness.manager.publicUrl}/webhook/unknown`, { method: 'POST', body: '{}' })).status).toBe(404);
  expect(harness.lines.join('\n')).not.toContain(SECRET);
});

const status = (id: string, content: string) =>
  JSON.stringify({
    id,
    url: `https://social.example/@ana/${id}`,
    content: `<p>${content}</p>`,
    created_at: new Date().toISOString(),
    language: 'en',
    account: { acct: 'ana', display_name: 'Ana', url: 'https://social.example/@ana', followers_count: 50_000 },
  });

test('a Mastodon stream delivers updates and is reopened with Last-Event-ID after a drop', async () => {
  const connections: Array<{ auth?: string; lastEventId?: string; res: ServerResponse }> = [];
  const stream = await serve((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.write(':)\n\n');
    connections.push({ auth: req.headers.authorization, lastEventId: req.headers['last-event-id'] as string | undefined, res });
  });
  servers.push(stream);
  harness = await startHarness([{ id: 'masto', kind: 'stream', name: 'Mastodon', url: `${stream.url}/api/v1/streaming/public`, streamToken: 'stream-token-abc', enabled: true }]);
  const first = await until(() => connections[0], 'a connection');
  expect(first.auth).toBe('Bearer stream-token-abc');
  first.res.write(`event: update\nid: 100\ndata: ${status('1', 'My battery exploded in the car')}\n\n`);
  first.res.write(`event: delete\nid: 101\ndata: 1\n\n`);
  first.res.write(`event: update\nid: 102\ndata: ${status('2', 'Lovely sunset tonight')}\n\n`);
  await until(() => harness!.stub.submissions.length === 1, 'the first update');
  expect(harness.stub.submissions[0]).toMatchObject({ post: { externalId: '1', text: 'My battery exploded in the car', author: { handle: 'ana', reach: 50_000 } } });
  expect(harness.stub.submissions[0]!.priority).toBeGreaterThan(30);

  first.res.destroy();
  const second = await until(() => connections[1], 'a reconnection');
  expect(second.lastEventId).toBe('102');
  second.res.write(`event: update\nid: 103\ndata: ${status('3', 'Smoke coming out of the battery compartment!')}\n\n`);
  await until(() => harness!.stub.submissions.length === 2, 'the update after reconnecting');
  expect(harness.lines.join('\n')).not.toContain('stream-token-abc');
});
