// RSS and Atom polling against local feed servers: conditional GET (a second poll gets 304 and
// nothing is resubmitted), submissions as the contract says, configuration refresh, outcomes.
import { afterEach, expect, test } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PostOutcome } from '../../protocol/manager.js';
import { TOKEN, policy, rss, serve, sleep, startHarness, until, type Harness, type LocalServer } from '../support/manager.js';

let harness: Harness | undefined;
const servers: LocalServer[] = [];

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const ATOM = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>Atom local</title><id>urn:atom-local</id><updated>2026-03-03T10:00:00Z</updated>
<entry><title>Swollen</title><id>urn:atom-local:1</id><link href="http://127.0.0.1/atom/1"/><published>${new Date().toISOString()}</published>
<author><name>Ana</name></author><content type="html">&lt;p&gt;The battery swelled and the case split open. Awful.&lt;/p&gt;</content></entry>
<entry><title>Unrelated</title><id>urn:atom-local:2</id><published>${new Date().toISOString()}</published><content>Nice weather today.</content></entry>
</feed>`;

interface Counts {
  full: number;
  notModified: number;
}

/** RSS by ETag, Atom by Last-Modified. */
async function feedServers(): Promise<{ rssCounts: Counts; atomCounts: Counts; rssUrl: string; atomUrl: string }> {
  const rssCounts = { full: 0, notModified: 0 };
  const atomCounts = { full: 0, notModified: 0 };
  const RSS = rss([
    { guid: 'r1', title: 'Power bank', text: 'My power bank battery caught fire on the desk, terrible.' },
    { guid: 'r2', title: 'Firmware', text: 'Firmware 2.1 improves standby time.' },
  ]);
  const LAST_MODIFIED = 'Tue, 03 Mar 2026 10:00:00 GMT';
  const server = await serve((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/rss') {
      if (req.headers['if-none-match'] === '"v1"') {
        rssCounts.notModified++;
        return res.writeHead(304).end();
      }
      rssCounts.full++;
      res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8', etag: '"v1"' }).end(RSS);
    } else {
      if (req.headers['if-modified-since'] === LAST_MODIFIED) {
        atomCounts.notModified++;
        return res.writeHead(304).end();
      }
      atomCounts.full++;
      res.writeHead(200, { 'content-type': 'application/atom+xml', 'last-modified': LAST_MODIFIED }).end(ATOM);
    }
  });
  servers.push(server);
  return { rssCounts, atomCounts, rssUrl: `${server.url}/rss`, atomUrl: `${server.url}/atom` };
}

test('RSS and Atom feeds are polled conditionally; matching posts are submitted once', async () => {
  const { rssCounts, atomCounts, rssUrl, atomUrl } = await feedServers();
  harness = await startHarness([
    { id: 'rss', kind: 'feed', name: 'RSS', url: rssUrl, intervalSeconds: 30, enabled: true },
    { id: 'atom', kind: 'feed', name: 'Atom', url: atomUrl, enabled: true },
    { id: 'off', kind: 'feed', name: 'Disabled', url: `${rssUrl}?off`, enabled: false },
  ]);
  const { stub } = harness;
  await until(() => rssCounts.notModified >= 2 && atomCounts.notModified >= 2, 'two 304s per feed');
  expect(rssCounts.full).toBe(1);
  expect(atomCounts.full).toBe(1);
  expect(stub.submissions.map((s) => s.post.externalId).sort()).toEqual(['r1', 'urn:atom-local:1']);

  const fromRss = stub.submissions.find((s) => s.post.sourceId === 'rss')!;
  expect(fromRss).toMatchObject({
    managerId: 'test-manager',
    policyId: 'battery',
    queueId: 'social',
    post: { url: 'http://127.0.0.1/p/r1', title: 'Power bank', text: 'My power bank battery caught fire on the desk, terrible.', author: { name: 'Tester' }, language: 'en', matchedTerms: ['battery', 'fire'] },
  });
  expect(fromRss.post.sentiment.score).toBeLessThan(0);
  expect(fromRss.priority).toBeGreaterThan(10);

  await until(() => stub.status('rss')?.itemsSeen === 2 && stub.status('atom'), 'status reports');
  expect(stub.status('rss')).toMatchObject({ state: 'ok', itemsSeen: 2 });
  expect(stub.status('rss')!.nextFetchAt).toBeGreaterThan(stub.status('rss')!.lastFetchAt!);
  expect(stub.statuses.has('off')).toBe(false);
  // The service token never reaches a log line.
  expect(harness.lines.join('\n')).not.toContain(TOKEN);
});

test('a refreshed configuration starts new sources, stops removed ones, and applies new policies', async () => {
  const { rssUrl, atomUrl, rssCounts } = await feedServers();
  harness = await startHarness([{ id: 'rss', kind: 'feed', name: 'RSS', url: rssUrl, enabled: true }], [policy({ query: 'nothing-matches-this' })]);
  const [manager] = harness.manager.managers;
  await until(() => rssCounts.full === 1, 'first poll');
  expect(harness.stub.submissions).toHaveLength(0);

  harness.stub.config = {
    sources: [
      { id: 'atom', kind: 'feed', name: 'Atom', url: atomUrl, enabled: true },
      { id: 'broken', kind: 'feed', name: 'Bad config', url: 'ftp://nope', enabled: true },
    ],
    policies: [policy(), { id: 'bad-query', name: 'x', sourceIds: [], queueId: 'q', query: 'battery AND', languages: [], basePriority: 0 }],
  };
  await manager!.refresh();
  expect(manager!.sourceIds).toEqual(['atom']);
  await until(() => harness!.stub.submissions.length === 1, 'the Atom post');
  expect(harness.stub.submissions[0]!.post.externalId).toBe('urn:atom-local:1');
  expect(harness.stub.status('broken')).toMatchObject({ state: 'error', reason: expect.stringMatching(/invalid configuration: \/url/) });
  const polled = rssCounts.full + rssCounts.notModified;
  await sleep(400);
  expect(rssCounts.full + rssCounts.notModified).toBe(polled);
  expect(harness.lines.some((l) => l.includes('policy left out') && l.includes('bad-query'))).toBe(true);
});

test('outcomes flow back as events, and the cursor moves on', async () => {
  harness = await startHarness([]);
  const [manager] = harness.manager.managers;
  const seen: PostOutcome[] = [];
  manager!.on('outcome', (o) => seen.push(o));
  const outcome = (n: number): PostOutcome => ({ taskId: `t${n}`, sourceId: 'rss', externalId: `r${n}`, outcome: 'replied', reply: 'Sorry to hear that', agentId: 'a1', handledAt: Date.now() });
  harness.stub.addOutcome(outcome(1));
  harness.stub.addOutcome(outcome(2));
  await until(() => seen.length === 2, 'two outcomes');
  harness.stub.addOutcome(outcome(3));
  await until(() => seen.length === 3, 'the third outcome');
  await sleep(250);
  expect(seen.map((o) => o.taskId)).toEqual(['t1', 't2', 't3']);
});

test('a server refusing submissions makes drops with the reason, and close is idempotent', async () => {
  const { rssUrl } = await feedServers();
  harness = await startHarness([{ id: 'rss', kind: 'feed', name: 'RSS', url: rssUrl, enabled: true }]);
  harness.stub.failSubmissionsWith = 503;
  // The first poll may already have gone through before the failure was set: poll a fresh source.
  const [manager] = harness.manager.managers;
  const drops: string[] = [];
  manager!.on('dropped', (d) => drops.push(d.reason));
  harness.stub.config = { sources: [{ id: 'rss2', kind: 'feed', name: 'RSS 2', url: `${rssUrl}?2`, enabled: true }], policies: [policy()] };
  await manager!.refresh();
  await until(() => drops.includes('submit_failed'), 'a failed submission');
  await Promise.all([harness.manager.close(), harness.manager.close()]);
  expect(manager!.closed).toBe(true);
});
