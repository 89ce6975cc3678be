// WebSub: the test plays the hub. The Manager discovers the hub from the topic feed, subscribes, has
// its intent verified, takes signed content (and drops content with a bad signature), and
// unsubscribes when it stops.
import { afterEach, expect, test } from '@jest/globals';
import { sign } from '../../manager/signature.js';
import { rss, serve, sleep, startHarness, until, type Harness, type LocalServer } from '../support/manager.js';

let harness: Harness | undefined;
const servers: LocalServer[] = [];

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

test('subscribe, verify, signed delivery, bad signature dropped, unsubscribe on stop', async () => {
  const requests: URLSearchParams[] = [];
  const hub = await serve((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push(new URLSearchParams(Buffer.concat(chunks).toString()));
      res.writeHead(202).end();
    });
  });
  const topicHost = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(rss([], `<atom:link rel="hub" href="${hub.url}/"/><atom:link rel="self" href="https://topic.example/feed"/>`));
  });
  servers.push(hub, topicHost);
  harness = await startHarness([{ id: 'ws', kind: 'websub', name: 'WebSub', url: `${topicHost.url}/feed`, enabled: true }]);

  const subscribe = await until(() => requests.find((r) => r.get('hub.mode') === 'subscribe'), 'a subscription request');
  expect(subscribe.get('hub.topic')).toBe('https://topic.example/feed');
  expect(subscribe.get('hub.callback')).toBe(`${harness.manager.publicUrl}/websub/ws`);
  expect(subscribe.get('hub.lease_seconds')).toBe('86400');
  const secret = subscribe.get('hub.secret')!;
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  const callback = subscribe.get('hub.callback')!;

  // Verification of intent: the wrong topic is refused, the right one echoes the challenge.
  const wrong = await fetch(`${callback}?hub.mode=subscribe&hub.topic=${encodeURIComponent('https://other.example/')}&hub.challenge=c0&hub.lease_seconds=600`);
  expect(wrong.status).toBe(404);
  const right = await fetch(`${callback}?hub.mode=subscribe&hub.topic=${encodeURIComponent('https://topic.example/feed')}&hub.challenge=c1&hub.lease_seconds=600`);
  expect(right.status).toBe(200);
  expect(await right.text()).toBe('c1');
  // Once verified it is no longer pending: a replay is refused.
  expect((await fetch(`${callback}?hub.mode=subscribe&hub.topic=${encodeURIComponent('https://topic.example/feed')}&hub.challenge=c2`)).status).toBe(404);
  await until(() => harness!.stub.status('ws')?.state === 'ok', 'the source ok');

  const deliver = (body: string, signature: string) =>
    fetch(callback, { method: 'POST', headers: { 'content-type': 'application/rss+xml', 'x-hub-signature': signature }, body });
  const good = rss([{ guid: 'w1', title: 'Pushed', text: 'The battery started to smoke in my bag.' }]);
  const bad = rss([{ guid: 'w2', title: 'Forged', text: 'The battery caught fire, says a forger.' }]);
  expect((await deliver(bad, sign(bad, 'not-the-secret', 'sha256'))).status).toBe(202);
  expect((await deliver(bad, '')).status).toBe(202);
  expect((await deliver(good, sign(good, secret, 'sha1'))).status).toBe(202);
  await until(() => harness!.stub.submissions.length === 1, 'the signed post');
  await sleep(100);
  expect(harness.stub.submissions.map((s) => s.post.externalId)).toEqual(['w1']);
  expect(harness.lines.join('\n')).not.toContain(secret);

  await harness.close();
  harness = undefined;
  const unsubscribe = requests.find((r) => r.get('hub.mode') === 'unsubscribe');
  expect(unsubscribe?.get('hub.topic')).toBe('https://topic.example/feed');
});

test('a hub that refuses the subscription puts the source in error', async () => {
  const hub = await serve((_req, res) => res.writeHead(400).end('bad callback'));
  servers.push(hub);
  harness = await startHarness([{ id: 'ws', kind: 'websub', name: 'WebSub', url: 'http://127.0.0.1:9/feed', hubUrl: hub.url, enabled: true }]);
  const status = await until(() => harness!.stub.status('ws'), 'a status');
  expect(status).toMatchObject({ state: 'error', reason: 'the hub refused to subscribe: HTTP 400' });
});
