// Bad sources: malformed XML, a huge document, a wrong encoding, a server too slow, a dead server, an
// HTTP 500 and a 429 with Retry-After. Each is reported to the server with its reason; a healthy
// source beside them keeps delivering, and nothing rejects unhandled.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import net from 'node:net';
import type { SourceConfig } from '../../protocol/manager.js';
import { rss, serve, startHarness, until, type Harness, type LocalServer } from '../support/manager.js';

let harness: Harness;
let feeds: LocalServer;
let healthyItems = [{ guid: 'h1', title: 'Healthy', text: 'A battery fire at the depot, smoke everywhere.' }];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  feeds = await serve((req, res) => {
    switch (req.url) {
      case '/healthy':
        return res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(rss(healthyItems));
      case '/malformed':
        return res.writeHead(200, { 'content-type': 'application/rss+xml' }).end('<rss><channel><item><title>battery fire</title></channel></rss>');
      case '/huge': {
        // Streamed without a length, past the 1 MB cap of the test Manager.
        res.writeHead(200, { 'content-type': 'application/rss+xml' });
        const chunk = '<!-- ' + 'x'.repeat(64 * 1024) + ' -->';
        let sent = 0;
        const pump = () => {
          while (sent < 40 && !res.destroyed) {
            sent++;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        return pump();
      }
      case '/latin1-as-utf8':
        return res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8' }).end(Buffer.from(rss([{ guid: 'l1', title: 'Café', text: 'La batterie du café a brûlé' }]), 'latin1'));
      case '/slow':
        // Headers at once, then nothing: the total timeout must cut it.
        res.writeHead(200, { 'content-type': 'application/rss+xml' });
        return res.write('<rss>');
      case '/error':
        return res.writeHead(500).end('boom');
      case '/limited':
        return res.writeHead(429, { 'retry-after': '1' }).end();
      default:
        return res.writeHead(404).end();
    }
  });
  const dead = await closedPort();
  const source = (id: string, url: string): SourceConfig => ({ id, kind: 'feed', name: id, url, enabled: true });
  harness = await startHarness([
    source('healthy', `${feeds.url}/healthy`),
    source('malformed', `${feeds.url}/malformed`),
    source('huge', `${feeds.url}/huge`),
    source('encoding', `${feeds.url}/latin1-as-utf8`),
    source('slow', `${feeds.url}/slow`),
    source('dead', `http://127.0.0.1:${dead}/feed`),
    source('error', `${feeds.url}/error`),
    source('limited', `${feeds.url}/limited`),
  ]);
});

afterAll(async () => {
  await harness.close();
  await feeds.close();
  process.off('unhandledRejection', onUnhandled);
});

test.each([
  ['malformed', 'error', /malformed XML/],
  ['huge', 'error', /larger than 1048576 bytes/],
  ['encoding', 'error', /not valid UTF-8/],
  ['slow', 'error', /no complete answer within 0.8 s/],
  ['dead', 'error', /connection refused/],
  ['error', 'error', /HTTP 500/],
  ['limited', 'backoff', /HTTP 429/],
])('%s: reported as %s with its reason', async (id, state, reason) => {
  const status = await until(() => harness.stub.status(id), `a status for ${id}`);
  expect(status.state).toBe(state);
  expect(status.reason).toMatch(reason);
  expect(status.nextFetchAt).toBeGreaterThan(status.lastFetchAt!);
});

test('the server asked to wait is not asked again before Retry-After', async () => {
  const status = await until(() => harness.stub.status('limited'), 'a status');
  expect(status.nextFetchAt! - status.lastFetchAt!).toBeGreaterThanOrEqual(1000);
});

test('the healthy source keeps delivering, and nothing was left unhandled', async () => {
  await until(() => harness.stub.submissions.some((s) => s.post.externalId === 'h1'), 'the first healthy post');
  healthyItems = [...healthyItems, { guid: 'h2', title: 'Again', text: 'Another battery exploded, reported by a reader.' }];
  await until(() => harness.stub.submissions.some((s) => s.post.externalId === 'h2'), 'the second healthy post');
  expect(harness.stub.status('healthy')).toMatchObject({ state: 'ok' });
  // Failing sources retried at least once meanwhile (backoff is short in tests).
  await until(() => (harness.stub.statuses.get('dead')?.length ?? 0) >= 1 && (harness.stub.statuses.get('error')?.length ?? 0) >= 1, 'retries');
  expect(unhandled).toEqual([]);
});
